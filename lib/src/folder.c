/* Folder datasets: ROOT/<class>/<image> or ROOT/{train,val,test}/<class>/<image>.
 * The rules (labels from class folder names only, sorted order, skipping
 * and warnings, the hashed held-out split) are documented in data.h. */
#include "cortex/data.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cortex/image.h"
#include "data_util.h"
#include "image_util.h"

#define MAX_DEPTH 16
#define MAX_FILES 100000000

enum { PART_FLAT = 0, PART_TRAIN = 1, PART_VAL = 2, PART_TEST = 3 };
static const char *const part_dirs[4] = {"", "train", "val", "test"};

typedef struct entry {
    char *path;
    const char *rel; /* inside path: the part below the class folder */
    int cls;         /* index into walk.names (unsorted) */
    int part;
    int image; /* known image extension */
} entry;

typedef struct walk {
    entry *v;
    int n, cap;
    char **names; /* class folder names in discovery order */
    int *has_image;
    int nnames, namecap;
    cx_dataset *ds; /* receives warnings */
    cx_error *err;
    /* Device and inode of the folders from the root down to the one being
     * listed (root, split folder, class folder, nested folders): a folder
     * that is its own ancestor (a symbolic link loop) is not entered again. */
    dev_t dev[MAX_DEPTH + 2];
    ino_t ino[MAX_DEPTH + 2];
    int nbase; /* entries above the class folder: root and split folder */
} walk;

void cx_folder_opts_init(cx_folder_opts *o, int channels, int height, int width)
{
    memset(o, 0, sizeof *o);
    o->channels = channels;
    o->height = height;
    o->width = width;
    o->split = CX_SPLIT_ALL;
    o->val_fraction = 0.1f;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static cx_status nomem(walk *w)
{
    return cx_fail(w->err, CX_ERR_NOMEM, "dataset: out of memory");
}

static cx_status class_index(walk *w, const char *name, int *out)
{
    for (int i = 0; i < w->nnames; i++)
        if (strcmp(w->names[i], name) == 0) return *out = i, CX_OK;
    if (w->nnames == w->namecap) {
        int ncap = w->namecap ? 2 * w->namecap : 16;
        char **nn = realloc(w->names, sizeof(char *) * (size_t)ncap);
        if (!nn) return nomem(w);
        w->names = nn;
        int *nh = realloc(w->has_image, sizeof(int) * (size_t)ncap);
        if (!nh) return nomem(w);
        w->has_image = nh;
        w->namecap = ncap;
    }
    if (!(w->names[w->nnames] = cx_strdup(name))) return nomem(w);
    w->has_image[w->nnames] = 0;
    *out = w->nnames++;
    return CX_OK;
}

static cx_status add_file(walk *w, char *path, size_t rel_off, int cls, int part)
{
    if (w->n >= MAX_FILES) {
        free(path);
        return cx_fail(w->err, CX_ERR_ARG, "dataset: more than %d files", MAX_FILES);
    }
    if (w->n == w->cap) {
        int ncap = w->cap ? 2 * w->cap : 256;
        entry *nv = realloc(w->v, sizeof(entry) * (size_t)ncap);
        if (!nv) {
            free(path);
            return nomem(w);
        }
        w->v = nv;
        w->cap = ncap;
    }
    entry *e = &w->v[w->n++];
    e->path = path;
    e->rel = path + rel_off;
    e->cls = cls;
    e->part = part;
    e->image = cx_image_known_extension(path);
    if (e->image) w->has_image[cls] = 1;
    return CX_OK;
}

/* Collects every file below dir (a class folder at depth 0). rel_off is
 * where the class-relative part of paths starts. */
static cx_status walk_class(walk *w, const char *dir, size_t rel_off, int cls, int part, int depth)
{
    DIR *d = opendir(dir);
    if (!d) {
        cx_dataset_warn(w->ds, "%s: cannot open folder (%s): skipped", dir, strerror(errno));
        w->ds->skipped_corrupt++;
        return CX_OK;
    }
    int level = w->nbase + depth;
    struct stat self;
    if (fstat(dirfd(d), &self) == 0) {
        for (int k = 0; k < level; k++)
            if (w->dev[k] == self.st_dev && w->ino[k] == self.st_ino) {
                cx_dataset_warn(w->ds, "%s: folder loop (symbolic link?): ignored", dir);
                closedir(d);
                return CX_OK;
            }
        w->dev[level] = self.st_dev;
        w->ino[level] = self.st_ino;
    } else {
        w->dev[level] = 0;
        w->ino[level] = 0;
    }
    cx_status st = CX_OK;
    struct dirent *de;
    while (!st && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue; /* hidden, "." and ".." */
        char *path = cx_path_join(dir, de->d_name);
        if (!path) {
            st = nomem(w);
            break;
        }
        struct stat sb;
        if (stat(path, &sb) != 0) {
            cx_dataset_warn(w->ds, "%s: cannot stat (%s): skipped", path, strerror(errno));
            w->ds->skipped_corrupt++;
            free(path);
        } else if (S_ISDIR(sb.st_mode)) {
            if (depth + 1 >= MAX_DEPTH)
                cx_dataset_warn(w->ds, "%s: nested deeper than %d folders: ignored", path,
                                MAX_DEPTH);
            else
                st = walk_class(w, path, rel_off, cls, part, depth + 1);
            free(path);
        } else if (S_ISREG(sb.st_mode)) {
            st = add_file(w, path, rel_off, cls, part);
        } else { /* FIFO, socket, device */
            cx_dataset_warn(w->ds, "skipped: %s: not a regular file", path);
            w->ds->skipped_unknown++;
            free(path);
        }
    }
    closedir(d);
    return st;
}

/* Lists the class folders of one split folder (or of the root). Files
 * directly inside it belong to no class and are reported. */
/* Records dir as the next base ancestor (root, then split folder). */
static void push_base(walk *w, DIR *d)
{
    struct stat sb;
    int ok = fstat(dirfd(d), &sb) == 0;
    w->dev[w->nbase] = ok ? sb.st_dev : 0;
    w->ino[w->nbase] = ok ? sb.st_ino : 0;
    w->nbase++;
}

static cx_status walk_part(walk *w, const char *dir, int part, int warn_files)
{
    DIR *d = opendir(dir);
    if (!d) return cx_fail(w->err, CX_ERR_IO, "%s: cannot open folder: %s", dir, strerror(errno));
    int nbase = w->nbase;
    push_base(w, d);
    cx_status st = CX_OK;
    struct dirent *de;
    while (!st && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        char *path = cx_path_join(dir, de->d_name);
        if (!path) {
            st = nomem(w);
            break;
        }
        if (is_dir(path)) {
            int cls = -1;
            st = class_index(w, de->d_name, &cls);
            if (!st) st = walk_class(w, path, strlen(path) + 1, cls, part, 0);
        } else if (warn_files) {
            cx_dataset_warn(w->ds, "%s: not inside a class folder: ignored", path);
        }
        free(path);
    }
    closedir(d);
    w->nbase = nbase;
    return st;
}

static int cmp_entry_path(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->path, ((const entry *)b)->path);
}

static int in_split(const entry *e, const cx_folder_opts *o, int val_part, int test_part)
{
    if (e->part == PART_FLAT) {
        if (o->split == CX_SPLIT_ALL) return 1;
        int held_out =
            cx_split_bucket(e->rel, o->split_seed) < cx_split_buckets_of(o->val_fraction);
        return o->split == CX_SPLIT_TRAIN ? !held_out : held_out;
    }
    switch (o->split) {
    case CX_SPLIT_ALL:
        return 1;
    case CX_SPLIT_TRAIN:
        return e->part == PART_TRAIN;
    case CX_SPLIT_VAL:
        return e->part == val_part;
    case CX_SPLIT_TEST:
        return e->part == test_part;
    }
    return 0;
}

/* Sorted class list of the classes with images; map[old] = new index or -1. */
static cx_status make_classes(walk *w, const char *root, int *map)
{
    cx_dataset *ds = w->ds;
    if (w->nnames == 0)
        return cx_fail(w->err, CX_ERR_FORMAT,
                       "%s: no class folders (expected %s/<class>/<image>, or train/ and test/ "
                       "folders holding class folders)",
                       root, root);
    char **sorted = malloc(sizeof(char *) * (size_t)w->nnames);
    if (!sorted) return nomem(w);
    int k = 0;
    for (int i = 0; i < w->nnames; i++) {
        if (w->has_image[i])
            sorted[k++] = w->names[i];
        else
            cx_dataset_warn(ds, "%s: class folder '%s' holds no image files: ignored", root,
                            w->names[i]);
    }
    qsort(sorted, (size_t)k, sizeof(char *), cx_cmp_str);
    cx_status st = CX_OK;
    if (k == 0)
        st = cx_fail(w->err, CX_ERR_FORMAT, "%s: no image files in any class folder", root);
    else if (k == 1)
        st = cx_fail(w->err, CX_ERR_FORMAT,
                     "%s: needs at least 2 classes, found only one class folder with images ('%s')",
                     root, sorted[0]);
    if (!st) st = cx_dataset_set_classes(ds, k, (const char *const *)sorted, w->err);
    for (int i = 0; !st && i < w->nnames; i++) {
        map[i] = -1;
        for (int j = 0; j < k; j++)
            if (strcmp(w->names[i], ds->class_names[j]) == 0) map[i] = j;
    }
    free(sorted);
    return st;
}

/* Decodes the selected entries (sel[0..n)) into ds. */
static cx_status decode_all(walk *w, entry **sel, int n, const int *map, const cx_folder_opts *o,
                            const char *root)
{
    cx_dataset *ds = w->ds;
    size_t item = (size_t)o->channels * o->height * o->width;
    if ((double)item * n > (double)SIZE_MAX / 2)
        return cx_fail(w->err, CX_ERR_NOMEM, "%s: %d images of %zu bytes do not fit in memory",
                       root, n, item);
    size_t nalloc = n > 0 ? (size_t)n : 1; /* malloc(0) may return NULL */
    ds->pixels = malloc(item * nalloc);
    ds->labels = malloc(sizeof(int) * nalloc);
    ds->paths = calloc(nalloc, sizeof(char *));
    uint8_t *scratch = malloc(item), *buf = NULL;
    size_t cap = 0;
    cx_status st = CX_OK;
    if (!ds->pixels || !ds->labels || !ds->paths || !scratch)
        st =
            cx_fail(w->err, CX_ERR_NOMEM, "%s: out of memory for %d images of %zu bytes (%.1f MiB)",
                    root, n, item, (double)item * n / 1048576.0);
    for (int i = 0; !st && i < n; i++) {
        entry *e = sel[i];
        cx_error ferr;
        size_t len = 0;
        int too_large = 0;
        cx_status fs = cx_read_file_buf(e->path, CX_IMAGE_MAX_FILE_BYTES, &buf, &cap, &len, &ferr);
        if (!fs)
            fs = cx_image_decode_scratch(buf, len, e->path, o->channels, o->height, o->width,
                                         ds->pixels + item * ds->n, scratch, &too_large, &ferr);
        if (fs == CX_ERR_NOMEM) {
            st = cx_fail(w->err, CX_ERR_NOMEM, "%s", ferr.msg);
        } else if (fs) {
            cx_dataset_warn(ds, "skipped: %s", ferr.msg);
            if (too_large)
                ds->skipped_too_large++;
            else
                ds->skipped_corrupt++;
        } else {
            ds->labels[ds->n] = map[e->cls];
            ds->paths[ds->n] = e->path; /* ownership moves to the dataset */
            e->path = NULL;
            ds->n++;
        }
        if (!st && o->progress && o->progress(o->user, i + 1, n))
            st = cx_fail(w->err, CX_ERR_INTERRUPTED, "%s: loading interrupted", root);
    }
    free(scratch);
    free(buf);
    return st;
}

static cx_status check_opts(const char *root, const cx_folder_opts *o, cx_error *err)
{
    if (!root || !o) return cx_fail(err, CX_ERR_ARG, "dataset: NULL root or options");
    if (o->channels != 1 && o->channels != 3)
        return cx_fail(err, CX_ERR_ARG, "%s: channels must be 1 or 3, not %d", root, o->channels);
    if (o->height < 1 || o->height > CX_IMAGE_MAX_OUT_SIDE || o->width < 1 ||
        o->width > CX_IMAGE_MAX_OUT_SIDE)
        return cx_fail(err, CX_ERR_ARG, "%s: image size %dx%d must be within 1..%d", root, o->width,
                       o->height, CX_IMAGE_MAX_OUT_SIDE);
    if (!(o->val_fraction >= 0.0f && o->val_fraction <= 1.0f))
        return cx_fail(err, CX_ERR_ARG, "%s: val_fraction %g must be within [0, 1]", root,
                       (double)o->val_fraction);
    if (o->split < CX_SPLIT_ALL || o->split > CX_SPLIT_TEST)
        return cx_fail(err, CX_ERR_ARG, "%s: unknown split %d", root, (int)o->split);
    struct stat st;
    if (stat(root, &st) != 0)
        return cx_fail(err, CX_ERR_IO, "%s: cannot open dataset folder: %s", root, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return cx_fail(err, CX_ERR_IO, "%s: not a folder", root);
    return CX_OK;
}

/* Walks the root in the flat or split layout; *present gets which split
 * folders exist. */
static cx_status walk_root(walk *w, const char *root, int *present)
{
    present[PART_FLAT] = 0;
    for (int p = PART_TRAIN; p <= PART_TEST; p++) {
        char *dir = cx_path_join(root, part_dirs[p]);
        if (!dir) return nomem(w);
        present[p] = is_dir(dir);
        free(dir);
    }
    w->ds->presplit = present[PART_TRAIN] && (present[PART_VAL] || present[PART_TEST]);
    if (!w->ds->presplit) return walk_part(w, root, PART_FLAT, 1);

    DIR *d = opendir(root);
    if (!d) return cx_fail(w->err, CX_ERR_IO, "%s: cannot open folder: %s", root, strerror(errno));
    push_base(w, d);
    struct dirent *de;
    while ((de = readdir(d)) != NULL)
        if (de->d_name[0] != '.' && strcmp(de->d_name, "train") && strcmp(de->d_name, "val") &&
            strcmp(de->d_name, "test"))
            cx_dataset_warn(w->ds, "%s/%s: not a train/val/test folder: ignored", root, de->d_name);
    closedir(d);
    cx_status st = CX_OK;
    for (int p = PART_TRAIN; !st && p <= PART_TEST; p++) {
        if (!present[p]) continue;
        char *dir = cx_path_join(root, part_dirs[p]);
        if (!dir) return nomem(w);
        st = walk_part(w, dir, p, 1);
        free(dir);
    }
    return st;
}

static void walk_free(walk *w)
{
    for (int i = 0; i < w->n; i++)
        free(w->v[i].path);
    free(w->v);
    cx_free_names(w->names, w->nnames);
    free(w->has_image);
}

cx_status cx_dataset_load_folder(cx_dataset **out, const char *root, const cx_folder_opts *o,
                                 cx_error *err)
{
    *out = NULL;
    cx_status st = check_opts(root, o, err);
    if (st) return st;
    walk w = {0};
    w.err = err;
    w.ds = cx_dataset_new();
    if (!w.ds || !(w.ds->source = cx_strdup(root))) {
        cx_dataset_free(w.ds);
        return cx_fail(err, CX_ERR_NOMEM, "dataset: out of memory");
    }
    cx_dataset *ds = w.ds;
    ds->c = o->channels;
    ds->h = o->height;
    ds->w = o->width;
    int present[4], *map = NULL;
    entry **sel = NULL;
    st = walk_root(&w, root, present);
    if (!st && !(map = malloc(sizeof(int) * (size_t)(w.nnames + 1)))) st = nomem(&w);
    if (!st) st = make_classes(&w, root, map);
    int val_part = present[PART_VAL] ? PART_VAL : PART_TEST;
    int test_part = present[PART_TEST] ? PART_TEST : PART_VAL;
    int nsel = 0;
    if (!st) {
        qsort(w.v, (size_t)w.n, sizeof(entry), cmp_entry_path);
        if (!(sel = malloc(sizeof(entry *) * (size_t)(w.n + 1)))) st = nomem(&w);
    }
    for (int i = 0; !st && i < w.n; i++) {
        entry *e = &w.v[i];
        if (!in_split(e, o, val_part, test_part) || map[e->cls] < 0) continue;
        if (e->image) {
            sel[nsel++] = e;
        } else {
            cx_dataset_warn(ds, "skipped: %s: not an image file (unknown extension)", e->path);
            ds->skipped_unknown++;
        }
    }
    if (!st) st = decode_all(&w, sel, nsel, map, o, root);
    if (!st && ds->n == 0)
        st = cx_fail(err, CX_ERR_FORMAT, "%s: no readable images in the %s split (%d skipped%s%s)",
                     root, cx_split_name(o->split), ds->skipped_corrupt + ds->skipped_too_large,
                     ds->nwarnings ? "; first: " : "", ds->nwarnings ? ds->warnings[0] : "");
    if (!st && ds->n < nsel) { /* give back the room of skipped files */
        uint8_t *px = realloc(ds->pixels, (size_t)ds->n * o->channels * o->height * o->width);
        if (px) ds->pixels = px;
    }
    free(sel);
    free(map);
    walk_free(&w);
    if (st) {
        cx_dataset_free(ds);
        return st;
    }
    *out = ds;
    return CX_OK;
}
