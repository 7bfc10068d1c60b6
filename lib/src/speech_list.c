/* Speech datasets: the folder listing (keyword, unknown and noise folders),
 * speaker names and splits, and the speaker scan. The rules are documented
 * in speech.h; decoding is in speech_data.c. */
#include "cortex/speech.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data_util.h"
#include "speech_internal.h"

void cx_speech_opts_init(cx_speech_opts *o)
{
    memset(o, 0, sizeof *o);
    o->sample_rate = 16000;
    o->unknown_ratio = 1.0f;
    o->silence_ratio = 1.0f;
    o->split = CX_SPLIT_ALL;
    o->test_percent = 10;
    o->val_percent = 10;
    o->max_seconds = 2.0f;
    o->running_ratio = 1.0f;
    o->running_seconds = 1.0f;
}

int cx_speech_excluded(const char *speaker, const cx_speech_opts *o)
{
    for (int i = 0; o->exclude_speakers && i < o->nexclude_speakers; i++)
        if (o->exclude_speakers[i] && strcmp(o->exclude_speakers[i], speaker) == 0) return 1;
    return 0;
}

static cx_status nomem(cx_error *err)
{
    return cx_fail(err, CX_ERR_NOMEM, "speech dataset: out of memory");
}

const char *cx_speech_speaker_of(const char *filename, char *buf, size_t len)
{
    if (!len) return buf;
    const char *base = strrchr(filename, '/');
    base = base ? base + 1 : filename;
    const char *end = strchr(base, '_');
    if (!end) {
        end = strrchr(base, '.');
        if (!end || end == base) end = base + strlen(base);
    }
    size_t n = (size_t)(end - base);
    if (n >= len) n = len - 1;
    memcpy(buf, base, n);
    buf[n] = 0;
    return buf;
}

cx_split cx_speech_speaker_split(const char *speaker, const cx_speech_opts *o)
{
    uint32_t bucket = cx_split_bucket(speaker, 0);
    uint32_t test = cx_split_buckets_of(o->test_percent / 100.0);
    uint32_t val = cx_split_buckets_of(o->val_percent / 100.0);
    if (o->test_speakers && o->ntest_speakers > 0) {
        for (int i = 0; i < o->ntest_speakers; i++)
            if (o->test_speakers[i] && strcmp(o->test_speakers[i], speaker) == 0)
                return CX_SPLIT_TEST;
        if (!o->test_percent_too) return bucket < val ? CX_SPLIT_VAL : CX_SPLIT_TRAIN;
    }
    if (bucket < test) return CX_SPLIT_TEST;
    if (bucket < test + val) return CX_SPLIT_VAL;
    return CX_SPLIT_TRAIN;
}

cx_status cx_speech_check_opts(const char *root, const cx_speech_opts *o, cx_error *err)
{
    if (!root || !o) return cx_fail(err, CX_ERR_ARG, "speech dataset: NULL root or options");
    if (o->sample_rate < CX_AUDIO_MIN_RATE || o->sample_rate > CX_AUDIO_MAX_RATE)
        return cx_fail(err, CX_ERR_ARG, "%s: sample_rate %d must be within [%d, %d] Hz", root,
                       o->sample_rate, CX_AUDIO_MIN_RATE, CX_AUDIO_MAX_RATE);
    if (o->nwords < 0 || o->nwords > CX_SPEECH_MAX_WORDS || (o->nwords > 0 && !o->words))
        return cx_fail(err, CX_ERR_ARG, "%s: nwords %d must be within 0..%d (with words non-NULL)",
                       root, o->nwords, CX_SPEECH_MAX_WORDS);
    if (!(o->unknown_ratio >= 0.0f && o->unknown_ratio <= 1000.0f))
        return cx_fail(err, CX_ERR_ARG, "%s: unknown_ratio %g must be within [0, 1000]", root,
                       (double)o->unknown_ratio);
    if (!(o->silence_ratio >= 0.0f && o->silence_ratio <= 1000.0f))
        return cx_fail(err, CX_ERR_ARG, "%s: silence_ratio %g must be within [0, 1000]", root,
                       (double)o->silence_ratio);
    if (o->split < CX_SPLIT_ALL || o->split > CX_SPLIT_TEST)
        return cx_fail(err, CX_ERR_ARG, "%s: unknown split %d", root, (int)o->split);
    if (o->test_percent < 0 || o->val_percent < 0 || o->test_percent + o->val_percent > 100)
        return cx_fail(err, CX_ERR_ARG,
                       "%s: test_percent %d and val_percent %d must be >= 0 with a sum <= 100",
                       root, o->test_percent, o->val_percent);
    if (o->ntest_speakers < 0 || (o->ntest_speakers > 0 && !o->test_speakers))
        return cx_fail(err, CX_ERR_ARG, "%s: ntest_speakers %d without test_speakers", root,
                       o->ntest_speakers);
    if (!(o->max_seconds > 0.0f && o->max_seconds <= CX_SPEECH_MAX_SECONDS))
        return cx_fail(err, CX_ERR_ARG, "%s: max_seconds %g must be within (0, %g]", root,
                       (double)o->max_seconds, (double)CX_SPEECH_MAX_SECONDS);
    if (!(o->running_ratio >= 0.0f && o->running_ratio <= 1000.0f))
        return cx_fail(err, CX_ERR_ARG, "%s: running_ratio %g must be within [0, 1000]", root,
                       (double)o->running_ratio);
    if (!(o->running_seconds > 0.0f && o->running_seconds <= o->max_seconds))
        return cx_fail(err, CX_ERR_ARG, "%s: running_seconds %g must be within (0, max_seconds %g]",
                       root, (double)o->running_seconds, (double)o->max_seconds);
    if (o->nexclude_speakers < 0 || (o->nexclude_speakers > 0 && !o->exclude_speakers))
        return cx_fail(err, CX_ERR_ARG, "%s: nexclude_speakers %d without exclude_speakers", root,
                       o->nexclude_speakers);
    struct stat st;
    if (stat(root, &st) != 0)
        return cx_fail(err, CX_ERR_IO, "%s: cannot open dataset folder: %s", root, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return cx_fail(err, CX_ERR_IO, "%s: not a folder", root);
    return CX_OK;
}

void cx_speech_listing_free(cx_speech_listing *l)
{
    for (int i = 0; i < l->nfolders; i++)
        free(l->folders[i].name);
    free(l->folders);
    for (int i = 0; i < l->nfiles; i++)
        free(l->files[i].path);
    free(l->files);
    cx_free_names(l->noise, l->nnoise);
    cx_free_names(l->running, l->nrunning);
    free(l->words);
}

/* Sorted names of the entries of dir not starting with '.'; *n of them. */
static cx_status list_dir(const char *dir, char ***out, int *n, cx_error *err)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return cx_fail(err, CX_ERR_IO, "%s: cannot open folder: %s", dir, strerror(errno));
    char **v = NULL;
    int cap = 0;
    cx_status st = CX_OK;
    struct dirent *de;
    while (!st && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        if (*n >= CX_SPEECH_MAX_FILES) {
            st = cx_fail(err, CX_ERR_ARG, "%s: more than %d entries", dir, CX_SPEECH_MAX_FILES);
            break;
        }
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nv = realloc(v, sizeof(char *) * (size_t)cap);
            if (!nv)
                st = nomem(err);
            else
                v = nv;
        }
        if (!st && !(v[*n] = cx_strdup(de->d_name))) st = nomem(err);
        if (!st) (*n)++;
    }
    closedir(d);
    if (!st && *n > 1) qsort(v, (size_t)*n, sizeof(char *), cx_cmp_str);
    if (st) {
        cx_free_names(v, *n);
        *n = 0;
        return st;
    }
    *out = v;
    return CX_OK;
}

/* Appends path to a grown list of paths. */
static cx_status push_path(char ***v, int *n, int *cap, char *path, cx_error *err)
{
    if (*n == *cap) {
        int nc = *cap ? 2 * *cap : 16;
        char **nv = realloc(*v, sizeof(char *) * (size_t)nc);
        if (!nv) {
            free(path);
            return nomem(err);
        }
        *v = nv;
        *cap = nc;
    }
    (*v)[(*n)++] = path;
    return CX_OK;
}

enum { LIST_WORDS, LIST_NOISE, LIST_RUNNING };

/* Adds the regular files of folder fi (skipping subfolders with a warning);
 * noise and running-speech files go to their own lists. */
static cx_status list_folder(cx_speech_listing *l, const char *root, int fi, int what,
                             cx_speech_dataset *ds, cx_error *err)
{
    char *dir = cx_path_join(root, l->folders[fi].name), **names = NULL;
    if (!dir) return nomem(err);
    int n = 0;
    cx_status st = list_dir(dir, &names, &n, err);
    for (int i = 0; !st && i < n; i++) {
        char *path = cx_path_join(dir, names[i]);
        struct stat sb;
        if (!path) {
            st = nomem(err);
        } else if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            if (ds) cx_speech_warn(ds, "%s: not a regular file: ignored", path);
            free(path);
        } else if (what == LIST_NOISE) {
            st = push_path(&l->noise, &l->nnoise, &l->capnoise, path, err);
        } else if (what == LIST_RUNNING) {
            st = push_path(&l->running, &l->nrunning, &l->caprunning, path, err);
        } else {
            if (l->nfiles == l->capfiles) {
                l->capfiles = l->capfiles ? 2 * l->capfiles : 256;
                cx_speech_file *nv =
                    realloc(l->files, sizeof(cx_speech_file) * (size_t)l->capfiles);
                if (!nv)
                    st = nomem(err);
                else
                    l->files = nv;
            }
            if (st) {
                free(path);
                break;
            }
            cx_speech_file *f = &l->files[l->nfiles++];
            f->path = path;
            f->rel = path + strlen(root) + 1;
            f->folder = fi;
            cx_speech_speaker_of(names[i], f->speaker, sizeof f->speaker);
            f->rank = cx_fmix64(cx_hash_string(f->rel));
            l->folders[fi].nfiles++;
        }
    }
    cx_free_names(names, n);
    free(dir);
    return st;
}

/* Lists ROOT's folders and files and decides keywords and unknowns. */
static cx_status list_root(cx_speech_listing *l, const char *root, cx_speech_dataset *ds,
                           cx_error *err)
{
    char **names = NULL;
    int n = 0;
    cx_status st = list_dir(root, &names, &n, err);
    if (st) return st;
    if (!(l->folders = calloc((size_t)n + 1, sizeof(cx_speech_folder)))) st = nomem(err);
    for (int i = 0; !st && i < n; i++) {
        char *path = cx_path_join(root, names[i]);
        if (!path) {
            st = nomem(err);
            break;
        }
        struct stat sb;
        int dir = stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
        free(path);
        int what = !strcmp(names[i], CX_SPEECH_NOISE_DIR)     ? LIST_NOISE
                   : !strcmp(names[i], CX_SPEECH_RUNNING_DIR) ? LIST_RUNNING
                                                              : LIST_WORDS;
        if (!dir || (names[i][0] == '_' && what == LIST_WORDS)) continue;
        int fi = l->nfolders++;
        l->folders[fi].name = names[i];
        names[i] = NULL;
        l->folders[fi].kind = CX_SPEECH_FOLDER_NONE;
        st = list_folder(l, root, fi, what, ds, err);
    }
    cx_free_names(names, n);
    return st;
}

static int find_folder(const cx_speech_listing *l, const char *name)
{
    for (int i = 0; i < l->nfolders; i++)
        if (strcmp(l->folders[i].name, name) == 0) return i;
    return -1;
}

static cx_status choose_words(cx_speech_listing *l, const char *root, const cx_speech_opts *o,
                              cx_speech_dataset *ds, cx_error *err)
{
    int given = o->words && o->nwords > 0;
    if (!(l->words = malloc(sizeof(char *) * (size_t)(l->nfolders + o->nwords + 1))))
        return nomem(err);
    for (int i = 0; given && i < o->nwords; i++) {
        const char *w = o->words[i];
        if (!w || !w[0] || w[0] == '_' || w[0] == '.' || strchr(w, '/'))
            return cx_fail(err, CX_ERR_ARG,
                           "%s: word '%s' is not a word folder name (names starting with '_' "
                           "or '.' are reserved)",
                           root, w ? w : "(null)");
        for (int j = 0; j < i; j++)
            if (strcmp(o->words[j], w) == 0)
                return cx_fail(err, CX_ERR_ARG, "%s: word '%s' is given twice", root, w);
        int fi = find_folder(l, w);
        if (fi < 0)
            return cx_fail(err, CX_ERR_ARG, "%s: no folder for the word '%s' (expected %s/%s/)",
                           root, w, root, w);
        if (l->folders[fi].nfiles == 0 && ds)
            cx_speech_warn(ds, "%s/%s: the word's folder is empty", root, w);
        l->folders[fi].kind = CX_SPEECH_FOLDER_KEYWORD;
        l->folders[fi].label = l->nwords;
        l->words[l->nwords++] = l->folders[fi].name;
    }
    for (int i = 0; i < l->nfolders; i++) {
        cx_speech_folder *f = &l->folders[i];
        if (f->kind == CX_SPEECH_FOLDER_KEYWORD || strcmp(f->name, CX_SPEECH_NOISE_DIR) == 0)
            continue;
        if (strcmp(f->name, CX_SPEECH_RUNNING_DIR) == 0) {
            if (given && o->running_ratio > 0.0f && l->nrunning > 0) l->has_unknown = 1;
            continue;
        }
        if (f->nfiles == 0) {
            if (ds) cx_speech_warn(ds, "%s/%s: folder holds no files: ignored", root, f->name);
        } else if (!given) {
            f->kind = CX_SPEECH_FOLDER_KEYWORD;
            f->label = l->nwords;
            l->words[l->nwords++] = f->name;
        } else if (o->unknown_ratio > 0.0f) {
            f->kind = CX_SPEECH_FOLDER_UNKNOWN;
            l->has_unknown = 1;
        }
    }
    if (l->nwords == 0)
        return cx_fail(err, CX_ERR_FORMAT,
                       "%s: no keyword folders (expected %s/<word>/<speaker>_<n>.wav)", root, root);
    return CX_OK;
}

cx_status cx_speech_list(cx_speech_listing *l, const char *root, const cx_speech_opts *o,
                         cx_speech_dataset *ds, cx_error *err)
{
    cx_status st = list_root(l, root, ds, err);
    return st ? st : choose_words(l, root, o, ds, err);
}

cx_status cx_speech_scan_speakers(const char *root, const cx_speech_opts *o,
                                  cx_speech_speaker_info **out, int *n, cx_error *err)
{
    *out = NULL;
    *n = 0;
    cx_status st = cx_speech_check_opts(root, o, err);
    if (st) return st;
    cx_speech_listing l = {0};
    st = cx_speech_list(&l, root, o, NULL, err);
    char **names = NULL;
    int k = 0;
    if (!st && !(names = malloc(sizeof(char *) * (size_t)(l.nfiles + 1)))) st = nomem(err);
    for (int i = 0; !st && i < l.nfiles; i++)
        if (l.folders[l.files[i].folder].kind != CX_SPEECH_FOLDER_NONE)
            names[k++] = l.files[i].speaker;
    cx_speech_speaker_info *v = NULL;
    if (!st && !(v = calloc((size_t)k + 1, sizeof *v))) st = nomem(err);
    if (!st) qsort(names, (size_t)k, sizeof(char *), cx_cmp_str);
    int m = 0;
    for (int i = 0; !st && i < k; i++) {
        if (m > 0 && strcmp(v[m - 1].name, names[i]) == 0) {
            v[m - 1].files++;
            continue;
        }
        if (!(v[m].name = cx_strdup(names[i]))) {
            st = nomem(err);
            break;
        }
        v[m].files = 1;
        v[m].split = cx_speech_speaker_split(names[i], o);
        m++;
    }
    free(names);
    cx_speech_listing_free(&l);
    if (st) {
        cx_speech_speakers_free(v, m);
        return st;
    }
    *out = v;
    *n = m;
    return CX_OK;
}

void cx_speech_speakers_free(cx_speech_speaker_info *v, int n)
{
    if (!v) return;
    for (int i = 0; i < n; i++)
        free(v[i].name);
    free(v);
}
