/* Speech keyword datasets in the Speech Commands layout: folder listing,
 * keyword and unknown classes, speaker splits, decoding and the silence
 * items. The rules are documented in speech.h. */
#include "cortex/speech.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dataset_util.h"

enum { F_NONE = 0, F_KEYWORD, F_UNKNOWN };

typedef struct sfile {
    char *path;
    const char *rel; /* "<folder>/<file>", inside path */
    int folder;
    char speaker[128];
    uint64_t rank; /* unknown-word order */
} sfile;

typedef struct sfolder {
    char *name;
    int nfiles;
    int kind;  /* F_* */
    int label; /* keyword label */
} sfolder;

typedef struct listing {
    sfolder *folders;
    int nfolders;
    sfile *files;
    int nfiles, capfiles;
    char **noise; /* noise file paths, sorted */
    int nnoise, capnoise;
    int nwords, has_unknown;
    const char **words; /* nwords keyword names (into folders or opts) */
} listing;

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
}

static void warn(cx_speech_dataset *ds, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(cx_speech_dataset *ds, const char *fmt, ...)
{
    ds->total_warnings++;
    if (ds->nwarnings >= CX_DATASET_MAX_WARNINGS) return;
    if (!ds->warnings && !(ds->warnings = calloc(CX_DATASET_MAX_WARNINGS, sizeof(char *)))) return;
    char buf[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *s = cx_strdup(buf);
    if (s) ds->warnings[ds->nwarnings++] = s;
}

static cx_status nomem(cx_error *err) { return cx_fail(err, CX_ERR_NOMEM, "speech dataset: out of memory"); }

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *s = malloc(la + lb + 2);
    if (!s) return NULL;
    memcpy(s, a, la);
    s[la] = '/';
    memcpy(s + la + 1, b, lb + 1);
    return s;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* MurmurHash3's 64-bit finalizer: spreads FNV-1a's bits. */
static uint64_t fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
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
    int bucket = (int)(cx_hash_string(speaker) % 100u);
    if (o->test_speakers && o->ntest_speakers > 0) {
        for (int i = 0; i < o->ntest_speakers; i++)
            if (o->test_speakers[i] && strcmp(o->test_speakers[i], speaker) == 0)
                return CX_SPLIT_TEST;
        return bucket < o->val_percent ? CX_SPLIT_VAL : CX_SPLIT_TRAIN;
    }
    if (bucket < o->test_percent) return CX_SPLIT_TEST;
    if (bucket < o->test_percent + o->val_percent) return CX_SPLIT_VAL;
    return CX_SPLIT_TRAIN;
}

static cx_status check_opts(const char *root, const cx_speech_opts *o, cx_error *err)
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
    struct stat st;
    if (stat(root, &st) != 0)
        return cx_fail(err, CX_ERR_IO, "%s: cannot open dataset folder: %s", root, strerror(errno));
    if (!S_ISDIR(st.st_mode)) return cx_fail(err, CX_ERR_IO, "%s: not a folder", root);
    return CX_OK;
}

static void listing_free(listing *l)
{
    for (int i = 0; i < l->nfolders; i++) free(l->folders[i].name);
    free(l->folders);
    for (int i = 0; i < l->nfiles; i++) free(l->files[i].path);
    free(l->files);
    for (int i = 0; i < l->nnoise; i++) free(l->noise[i]);
    free(l->noise);
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
            if (!nv) st = nomem(err);
            else v = nv;
        }
        if (!st && !(v[*n] = cx_strdup(de->d_name))) st = nomem(err);
        if (!st) (*n)++;
    }
    closedir(d);
    if (!st) qsort(v, (size_t)*n, sizeof(char *), cmp_str);
    if (st) {
        for (int i = 0; i < *n; i++) free(v[i]);
        free(v);
        *n = 0;
        return st;
    }
    *out = v;
    return CX_OK;
}

static void free_names(char **v, int n)
{
    for (int i = 0; i < n; i++) free(v[i]);
    free(v);
}

/* Adds the regular files of folder fi (skipping subfolders with a warning);
 * noise files go to l->noise. */
static cx_status list_folder(listing *l, const char *root, int fi, int noise,
                             cx_speech_dataset *ds, cx_error *err)
{
    char *dir = join(root, l->folders[fi].name), **names = NULL;
    if (!dir) return nomem(err);
    int n = 0;
    cx_status st = list_dir(dir, &names, &n, err);
    for (int i = 0; !st && i < n; i++) {
        char *path = join(dir, names[i]);
        struct stat sb;
        if (!path) {
            st = nomem(err);
        } else if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            if (ds) warn(ds, "%s: not a regular file: ignored", path);
            free(path);
        } else if (noise) {
            if (l->nnoise == l->capnoise) {
                l->capnoise = l->capnoise ? 2 * l->capnoise : 16;
                char **nv = realloc(l->noise, sizeof(char *) * (size_t)l->capnoise);
                if (!nv) st = nomem(err);
                else l->noise = nv;
            }
            if (st) free(path);
            else l->noise[l->nnoise++] = path;
        } else {
            if (l->nfiles == l->capfiles) {
                l->capfiles = l->capfiles ? 2 * l->capfiles : 256;
                sfile *nv = realloc(l->files, sizeof(sfile) * (size_t)l->capfiles);
                if (!nv) st = nomem(err);
                else l->files = nv;
            }
            if (st) {
                free(path);
                break;
            }
            sfile *f = &l->files[l->nfiles++];
            f->path = path;
            f->rel = path + strlen(root) + 1;
            f->folder = fi;
            cx_speech_speaker_of(names[i], f->speaker, sizeof f->speaker);
            f->rank = fmix64(cx_hash_string(f->rel));
            l->folders[fi].nfiles++;
        }
    }
    free_names(names, n);
    free(dir);
    return st;
}

/* Lists ROOT's folders and files and decides keywords and unknowns. */
static cx_status list_root(listing *l, const char *root, cx_speech_dataset *ds, cx_error *err)
{
    char **names = NULL;
    int n = 0;
    cx_status st = list_dir(root, &names, &n, err);
    if (st) return st;
    if (!(l->folders = calloc((size_t)n + 1, sizeof(sfolder)))) st = nomem(err);
    for (int i = 0; !st && i < n; i++) {
        char *path = join(root, names[i]);
        if (!path) {
            st = nomem(err);
            break;
        }
        struct stat sb;
        int dir = stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
        free(path);
        int is_noise = strcmp(names[i], CX_SPEECH_NOISE_DIR) == 0;
        if (!dir || (names[i][0] == '_' && !is_noise)) continue;
        int fi = l->nfolders++;
        l->folders[fi].name = names[i];
        names[i] = NULL;
        l->folders[fi].kind = F_NONE;
        st = list_folder(l, root, fi, is_noise, ds, err);
    }
    free_names(names, n);
    return st;
}

static int find_folder(const listing *l, const char *name)
{
    for (int i = 0; i < l->nfolders; i++)
        if (strcmp(l->folders[i].name, name) == 0) return i;
    return -1;
}

static cx_status choose_words(listing *l, const char *root, const cx_speech_opts *o,
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
        if (l->folders[fi].nfiles == 0 && ds) warn(ds, "%s/%s: the word's folder is empty", root, w);
        l->folders[fi].kind = F_KEYWORD;
        l->folders[fi].label = l->nwords;
        l->words[l->nwords++] = l->folders[fi].name;
    }
    for (int i = 0; i < l->nfolders; i++) {
        sfolder *f = &l->folders[i];
        if (f->kind == F_KEYWORD || strcmp(f->name, CX_SPEECH_NOISE_DIR) == 0) continue;
        if (f->nfiles == 0) {
            if (ds) warn(ds, "%s/%s: folder holds no files: ignored", root, f->name);
        } else if (!given) {
            f->kind = F_KEYWORD;
            f->label = l->nwords;
            l->words[l->nwords++] = f->name;
        } else if (o->unknown_ratio > 0.0f) {
            f->kind = F_UNKNOWN;
            l->has_unknown = 1;
        }
    }
    if (l->nwords == 0)
        return cx_fail(err, CX_ERR_FORMAT,
                       "%s: no keyword folders (expected %s/<word>/<speaker>_<n>.wav)", root, root);
    return CX_OK;
}

cx_status cx_speech_scan_speakers(const char *root, const cx_speech_opts *o,
                                  cx_speech_speaker_info **out, int *n, cx_error *err)
{
    *out = NULL;
    *n = 0;
    cx_status st = check_opts(root, o, err);
    if (st) return st;
    listing l = {0};
    st = list_root(&l, root, NULL, err);
    if (!st) st = choose_words(&l, root, o, NULL, err);
    char **names = NULL;
    int k = 0;
    if (!st && !(names = malloc(sizeof(char *) * (size_t)(l.nfiles + 1)))) st = nomem(err);
    for (int i = 0; !st && i < l.nfiles; i++)
        if (l.folders[l.files[i].folder].kind != F_NONE) names[k++] = l.files[i].speaker;
    cx_speech_speaker_info *v = NULL;
    if (!st && !(v = calloc((size_t)k + 1, sizeof *v))) st = nomem(err);
    if (!st) qsort(names, (size_t)k, sizeof(char *), cmp_str);
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
    listing_free(&l);
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
    for (int i = 0; i < n; i++) free(v[i].name);
    free(v);
}

/* ---- decoding ------------------------------------------------------------- */

/* The voiced part of a clip: see cx_speech_item. */
static void find_active(cx_speech_item *it, int rate)
{
    int block = rate / 100 > 0 ? rate / 100 : 1;
    int nb = (it->length + block - 1) / block;
    double peak = 0.0;
    for (int pass = 0; pass < 2; pass++) {
        int first = -1, last = -1;
        for (int b = 0; b < nb; b++) {
            int s0 = b * block, s1 = s0 + block < it->length ? s0 + block : it->length;
            double e = 0.0;
            for (int i = s0; i < s1; i++) e += (double)it->samples[i] * it->samples[i];
            e /= (double)(s1 - s0);
            if (pass == 0 && e > peak) peak = e;
            if (pass == 1 && e >= peak * 1e-4) {
                if (first < 0) first = b;
                last = b;
            }
        }
        if (pass == 0 && peak <= 0.0) break;
        if (pass == 1 && first >= 0) {
            it->active_start = first * block;
            it->active_end = (last + 1) * block < it->length ? (last + 1) * block : it->length;
            return;
        }
    }
    it->active_start = 0;
    it->active_end = it->length;
}

/* Decodes f into ds->items[ds->n] (label). Returns CX_OK when the file was
 * loaded or skipped; *ok tells which. Only running out of memory fails. */
static cx_status decode_clip(cx_speech_dataset *ds, const sfile *f, int fidx, int label,
                             int max_len, int *ok, cx_error *err)
{
    *ok = 0;
    float *s = NULL;
    size_t n = 0;
    cx_error ferr;
    cx_status fs = cx_audio_load(f->path, ds->sample_rate, &s, &n, NULL, &ferr);
    if (fs == CX_ERR_NOMEM) return cx_fail(err, CX_ERR_NOMEM, "%s", ferr.msg);
    if (fs) {
        warn(ds, "skipped: %s", ferr.msg);
        ds->skipped_corrupt++;
        return CX_OK;
    }
    if (n > (size_t)max_len) {
        warn(ds, "%s: %.2f s long: cut to its first %.2f s", f->path, (double)n / ds->sample_rate,
             (double)max_len / ds->sample_rate);
        ds->clipped++;
        float *t = realloc(s, sizeof(float) * (size_t)max_len);
        if (t) s = t;
        n = (size_t)max_len;
    }
    cx_speech_item *it = &ds->items[ds->n++];
    memset(it, 0, sizeof *it);
    it->samples = s;
    it->length = (int)n;
    it->label = label;
    it->speaker = fidx; /* file index until speakers are resolved */
    find_active(it, ds->sample_rate);
    if (it->length > ds->max_length) ds->max_length = it->length;
    *ok = 1;
    return CX_OK;
}

static cx_status load_noise(cx_speech_dataset *ds, const listing *l, cx_error *err)
{
    if (l->nnoise == 0) return CX_OK;
    ds->noise = calloc((size_t)l->nnoise, sizeof(float *));
    ds->noise_length = calloc((size_t)l->nnoise, sizeof(size_t));
    ds->noise_paths = calloc((size_t)l->nnoise, sizeof(char *));
    if (!ds->noise || !ds->noise_length || !ds->noise_paths) return nomem(err);
    for (int i = 0; i < l->nnoise; i++) {
        cx_error ferr;
        float *s = NULL;
        size_t n = 0;
        cx_status fs = cx_audio_load(l->noise[i], ds->sample_rate, &s, &n, NULL, &ferr);
        if (fs == CX_ERR_NOMEM) return cx_fail(err, CX_ERR_NOMEM, "%s", ferr.msg);
        if (fs) {
            warn(ds, "skipped: %s", ferr.msg);
            ds->skipped_corrupt++;
            continue;
        }
        ds->noise[ds->nnoise] = s;
        ds->noise_length[ds->nnoise] = n;
        if (!(ds->noise_paths[ds->nnoise++] = cx_strdup(l->noise[i]))) return nomem(err);
    }
    return CX_OK;
}

static int cmp_rank(const void *a, const void *b)
{
    const sfile *x = *(const sfile *const *)a, *y = *(const sfile *const *)b;
    if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
    return strcmp(x->path, y->path);
}

static int cmp_item_path(const void *a, const void *b)
{
    return strcmp(((const cx_speech_item *)a)->path, ((const cx_speech_item *)b)->path);
}

/* Moves each item's path out of the listing and resolves its speaker. */
static cx_status finish_items(cx_speech_dataset *ds, listing *l, cx_error *err)
{
    char **names = malloc(sizeof(char *) * (size_t)(ds->n + 1));
    if (!names) return nomem(err);
    for (int i = 0; i < ds->n; i++) {
        sfile *f = &l->files[ds->items[i].speaker];
        ds->items[i].path = f->path;
        f->path = NULL;
        names[i] = f->speaker;
    }
    qsort(ds->items, (size_t)ds->n, sizeof(cx_speech_item), cmp_item_path);
    qsort(names, (size_t)ds->n, sizeof(char *), cmp_str);
    int m = 0;
    for (int i = 0; i < ds->n; i++)
        if (m == 0 || strcmp(names[m - 1], names[i]) != 0) names[m++] = names[i];
    cx_status st = CX_OK;
    if (!(ds->speakers = calloc((size_t)m + 1, sizeof(char *)))) st = nomem(err);
    for (int i = 0; !st && i < m; i++, ds->nspeakers++)
        if (!(ds->speakers[i] = cx_strdup(names[i]))) st = nomem(err);
    free(names);
    char buf[128];
    for (int i = 0; !st && i < ds->n; i++) {
        cx_speech_speaker_of(ds->items[i].path, buf, sizeof buf);
        char *key = buf;
        char **hit = bsearch(&key, ds->speakers, (size_t)ds->nspeakers, sizeof(char *), cmp_str);
        ds->items[i].speaker = hit ? (int)(hit - ds->speakers) : -1;
    }
    return st;
}

static cx_status make_classes(cx_speech_dataset *ds, const listing *l, cx_error *err)
{
    ds->nwords = l->nwords;
    ds->silence_label = l->nwords;
    ds->unknown_label = l->has_unknown ? l->nwords + 1 : -1;
    int nc = l->nwords + 1 + (l->has_unknown ? 1 : 0);
    const char **names = malloc(sizeof(char *) * (size_t)nc);
    if (!names) return nomem(err);
    for (int i = 0; i < l->nwords; i++) names[i] = l->words[i];
    names[l->nwords] = CX_SPEECH_SILENCE;
    if (l->has_unknown) names[l->nwords + 1] = CX_SPEECH_UNKNOWN;
    ds->class_names = calloc((size_t)nc, sizeof(char *));
    cx_status st = ds->class_names ? CX_OK : nomem(err);
    for (int i = 0; !st && i < nc; i++, ds->nclasses++)
        if (!(ds->class_names[i] = cx_strdup(names[i]))) st = nomem(err);
    free(names);
    return st;
}

static cx_status decode_split(cx_speech_dataset *ds, listing *l, const cx_speech_opts *o,
                              const char *root, cx_error *err)
{
    int max_len = (int)floor((double)o->max_seconds * o->sample_rate);
    if (max_len < 1) max_len = 1;
    const sfile **kw = malloc(sizeof(sfile *) * (size_t)(l->nfiles + 1));
    const sfile **unk = malloc(sizeof(sfile *) * (size_t)(l->nfiles + 1));
    cx_status st = kw && unk ? CX_OK : nomem(err);
    int nkw = 0, nunk = 0;
    for (int i = 0; !st && i < l->nfiles; i++) {
        const sfile *f = &l->files[i];
        int kind = l->folders[f->folder].kind;
        if (kind == F_NONE) continue;
        if (o->split != CX_SPLIT_ALL && cx_speech_speaker_split(f->speaker, o) != o->split)
            continue;
        if (kind == F_KEYWORD) kw[nkw++] = f;
        else unk[nunk++] = f;
    }
    ds->unknown_available = nunk;
    if (!st) qsort(unk, (size_t)nunk, sizeof(sfile *), cmp_rank);
    /* Room for every candidate; silence items are added at the end. */
    if (!st && !(ds->items = calloc((size_t)(nkw + nunk) + 1, sizeof(cx_speech_item))))
        st = nomem(err);
    int total = l->nnoise + nkw + nunk, done = l->nnoise, ok = 0;
    for (int i = 0; !st && i < nkw; i++) {
        st = decode_clip(ds, kw[i], (int)(kw[i] - l->files), l->folders[kw[i]->folder].label,
                         max_len, &ok, err);
        if (!st && o->progress && o->progress(o->user, ++done, total))
            st = cx_fail(err, CX_ERR_INTERRUPTED, "%s: loading interrupted", root);
    }
    double mean = (double)ds->n / l->nwords;
    int cap = (int)floor((double)o->unknown_ratio * mean + 0.5);
    int nsil = (int)floor((double)o->silence_ratio * mean + 0.5);
    for (int i = 0, got = 0; !st && i < nunk && got < cap; i++) {
        st = decode_clip(ds, unk[i], (int)(unk[i] - l->files), ds->unknown_label, max_len, &ok,
                         err);
        got += ok;
        if (!st && o->progress && o->progress(o->user, ++done, total))
            st = cx_fail(err, CX_ERR_INTERRUPTED, "%s: loading interrupted", root);
    }
    free(kw);
    free(unk);
    if (!st && ds->n == 0)
        return cx_fail(err, CX_ERR_FORMAT, "%s: no readable clips in the %s split (%d skipped%s%s)",
                       root, cx_split_name(o->split), ds->skipped_corrupt,
                       ds->nwarnings ? "; first: " : "", ds->nwarnings ? ds->warnings[0] : "");
    if (!st) st = finish_items(ds, l, err);
    if (!st) {
        cx_speech_item *v = realloc(ds->items, sizeof(cx_speech_item) * ((size_t)ds->n + nsil + 1));
        if (!v) return nomem(err);
        ds->items = v;
        for (int k = 0; k < nsil; k++) {
            char key[64];
            snprintf(key, sizeof key, "silence:%s:%d", cx_split_name(o->split), k);
            cx_speech_item *it = &ds->items[ds->n++];
            memset(it, 0, sizeof *it);
            it->label = ds->silence_label;
            it->speaker = -1;
            it->seed = fmix64(cx_hash_string(key));
        }
    }
    if (!st && o->progress) o->progress(o->user, total, total);
    return st;
}

cx_status cx_speech_load(cx_speech_dataset **out, const char *root, const cx_speech_opts *o,
                         cx_error *err)
{
    *out = NULL;
    cx_status st = check_opts(root, o, err);
    if (st) return st;
    cx_speech_dataset *ds = calloc(1, sizeof *ds);
    if (!ds || !(ds->root = cx_strdup(root))) {
        free(ds);
        return nomem(err);
    }
    ds->sample_rate = o->sample_rate;
    ds->split = o->split;
    listing l = {0};
    st = list_root(&l, root, ds, err);
    if (!st) st = choose_words(&l, root, o, ds, err);
    if (!st) st = make_classes(ds, &l, err);
    if (!st) st = load_noise(ds, &l, err);
    if (!st) st = decode_split(ds, &l, o, root, err);
    for (int c = 0; !st && c < ds->nwords; c++) {
        int k = 0;
        for (int i = 0; i < ds->n; i++) k += ds->items[i].label == c;
        if (!k) warn(ds, "%s: no clips of the word '%s' in the %s split", root, ds->class_names[c],
                     cx_split_name(o->split));
    }
    listing_free(&l);
    if (st) {
        cx_speech_free(ds);
        return st;
    }
    *out = ds;
    return CX_OK;
}

void cx_speech_free(cx_speech_dataset *ds)
{
    if (!ds) return;
    for (int i = 0; i < ds->n; i++) {
        free(ds->items[i].samples);
        free(ds->items[i].path);
    }
    free(ds->items);
    free_names(ds->class_names, ds->nclasses);
    free_names(ds->speakers, ds->nspeakers);
    for (int i = 0; i < ds->nnoise; i++) free(ds->noise[i]);
    free(ds->noise);
    free(ds->noise_length);
    free_names(ds->noise_paths, ds->nnoise);
    free_names(ds->warnings, ds->nwarnings);
    free(ds->root);
    free(ds);
}

void cx_speech_class_counts(const cx_speech_dataset *ds, int *counts)
{
    for (int c = 0; c < ds->nclasses; c++) counts[c] = 0;
    for (int i = 0; i < ds->n; i++)
        if (ds->items[i].label >= 0 && ds->items[i].label < ds->nclasses)
            counts[ds->items[i].label]++;
}

void cx_speech_speaker_counts(const cx_speech_dataset *ds, int *counts)
{
    for (int s = 0; s < ds->nspeakers; s++) counts[s] = 0;
    for (int i = 0; i < ds->n; i++)
        if (ds->items[i].speaker >= 0 && ds->items[i].speaker < ds->nspeakers)
            counts[ds->items[i].speaker]++;
}
