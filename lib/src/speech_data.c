/* Speech datasets: decoding one split (keywords, the capped unknown words,
 * noise), the voiced part of each clip, the silence items and the speakers.
 * The rules are documented in speech.h; the listing is in speech_list.c. */
#include "cortex/speech.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_util.h"
#include "speech_internal.h"

static cx_status nomem(cx_error *err)
{
    return cx_fail(err, CX_ERR_NOMEM, "speech dataset: out of memory");
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
            for (int i = s0; i < s1; i++)
                e += (double)it->samples[i] * it->samples[i];
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
static cx_status decode_clip(cx_speech_dataset *ds, const cx_speech_file *f, int fidx, int label,
                             int max_len, int *ok, cx_error *err)
{
    *ok = 0;
    float *s = NULL;
    size_t n = 0;
    cx_error ferr;
    cx_status fs = cx_audio_load(f->path, ds->sample_rate, &s, &n, NULL, &ferr);
    if (fs == CX_ERR_NOMEM) return cx_fail(err, CX_ERR_NOMEM, "%s", ferr.msg);
    if (fs) {
        cx_speech_warn(ds, "skipped: %s", ferr.msg);
        ds->skipped_corrupt++;
        return CX_OK;
    }
    if (n > (size_t)max_len) {
        cx_speech_warn(ds, "%s: %.2f s long: cut to its first %.2f s", f->path,
                       (double)n / ds->sample_rate, (double)max_len / ds->sample_rate);
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

static cx_status load_noise(cx_speech_dataset *ds, const cx_speech_listing *l, cx_error *err)
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
            cx_speech_warn(ds, "skipped: %s", ferr.msg);
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
    const cx_speech_file *x = *(const cx_speech_file *const *)a,
                         *y = *(const cx_speech_file *const *)b;
    if (x->rank != y->rank) return x->rank < y->rank ? -1 : 1;
    return strcmp(x->path, y->path);
}

static int cmp_item_path(const void *a, const void *b)
{
    return strcmp(((const cx_speech_item *)a)->path, ((const cx_speech_item *)b)->path);
}

/* Moves each item's path out of the cx_speech_listing and resolves its speaker. */
static cx_status finish_items(cx_speech_dataset *ds, cx_speech_listing *l, cx_error *err)
{
    char **names = malloc(sizeof(char *) * (size_t)(ds->n + 1));
    if (!names) return nomem(err);
    for (int i = 0; i < ds->n; i++) {
        cx_speech_file *f = &l->files[ds->items[i].speaker];
        ds->items[i].path = f->path;
        f->path = NULL;
        names[i] = f->speaker;
    }
    qsort(ds->items, (size_t)ds->n, sizeof(cx_speech_item), cmp_item_path);
    qsort(names, (size_t)ds->n, sizeof(char *), cx_cmp_str);
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
        char **hit = bsearch(&key, ds->speakers, (size_t)ds->nspeakers, sizeof(char *), cx_cmp_str);
        ds->items[i].speaker = hit ? (int)(hit - ds->speakers) : -1;
    }
    return st;
}

static cx_status make_classes(cx_speech_dataset *ds, const cx_speech_listing *l, cx_error *err)
{
    ds->nwords = l->nwords;
    ds->silence_label = l->nwords;
    ds->unknown_label = l->has_unknown ? l->nwords + 1 : -1;
    int nc = l->nwords + 1 + (l->has_unknown ? 1 : 0);
    const char **names = malloc(sizeof(char *) * (size_t)nc);
    if (!names) return nomem(err);
    for (int i = 0; i < l->nwords; i++)
        names[i] = l->words[i];
    names[l->nwords] = CX_SPEECH_SILENCE;
    if (l->has_unknown) names[l->nwords + 1] = CX_SPEECH_UNKNOWN;
    ds->class_names = calloc((size_t)nc, sizeof(char *));
    cx_status st = ds->class_names ? CX_OK : nomem(err);
    for (int i = 0; !st && i < nc; i++, ds->nclasses++)
        if (!(ds->class_names[i] = cx_strdup(names[i]))) st = nomem(err);
    free(names);
    return st;
}

/* The split's running-speech recordings (ds->running_paths) and, with an
 * _unknown_ class, the segments cut from them (speech.h). Each recording is
 * decoded once here and dropped again: hours of speech do not stay in
 * memory. */
static cx_status cut_running(cx_speech_dataset *ds, const cx_speech_listing *l,
                             const cx_speech_opts *o, double mean, cx_error *err)
{
    if (l->nrunning == 0) return CX_OK;
    if (!(ds->running_paths = calloc((size_t)l->nrunning + 1, sizeof(char *)))) return nomem(err);
    int inside = 0;
    for (int i = 0; i < l->nrunning; i++) {
        char spk[128];
        cx_speech_speaker_of(l->running[i], spk, sizeof spk);
        if (cx_speech_excluded(spk, o)) continue;
        if (o->split != CX_SPLIT_ALL && cx_speech_speaker_split(spk, o) != o->split) continue;
        inside++;
    }
    int want = ds->unknown_label >= 0 ? (int)floor((double)o->running_ratio * mean + 0.5) : 0;
    int per = inside ? (want + inside - 1) / inside : 0;
    int seg = (int)floor((double)o->running_seconds * ds->sample_rate + 0.5);
    if (seg < 1) seg = 1;
    if (per > 0) {
        cx_speech_item *v = realloc(ds->items, sizeof(cx_speech_item) * ((size_t)ds->n + want + 1));
        if (!v) return nomem(err);
        ds->items = v;
    }
    for (int i = 0; i < l->nrunning; i++) {
        char spk[128];
        cx_speech_speaker_of(l->running[i], spk, sizeof spk);
        if (cx_speech_excluded(spk, o)) continue;
        if (o->split != CX_SPLIT_ALL && cx_speech_speaker_split(spk, o) != o->split) continue;
        float *x = NULL;
        size_t n = 0;
        cx_error ferr;
        cx_status fs = cx_audio_load(l->running[i], ds->sample_rate, &x, &n, NULL, &ferr);
        if (fs == CX_ERR_NOMEM) return cx_fail(err, CX_ERR_NOMEM, "%s", ferr.msg);
        if (fs) {
            cx_speech_warn(ds, "skipped: %s", ferr.msg);
            ds->skipped_corrupt++;
            continue;
        }
        if (!(ds->running_paths[ds->nrunning] = cx_strdup(l->running[i]))) {
            free(x);
            return nomem(err);
        }
        ds->nrunning++;
        ds->running_seconds_total += (double)n / ds->sample_rate;
        cx_rng rng;
        cx_rng_seed(&rng, cx_fmix64(cx_hash_string(l->running[i])));
        for (int k = 0; k < per && ds->running_segments < want && n >= (size_t)seg; k++) {
            size_t at = (size_t)(cx_rng_uniform(&rng) * (double)(n - (size_t)seg + 1));
            if (at > n - (size_t)seg) at = n - (size_t)seg;
            char path[4200];
            snprintf(path, sizeof path, "%s@%.3f", l->running[i], (double)at / ds->sample_rate);
            cx_speech_item *it = &ds->items[ds->n];
            memset(it, 0, sizeof *it);
            if (!(it->samples = malloc(sizeof(float) * (size_t)seg)) ||
                !(it->path = cx_strdup(path))) {
                free(it->samples);
                free(x);
                return nomem(err);
            }
            memcpy(it->samples, x + at, sizeof(float) * (size_t)seg);
            it->length = seg;
            it->label = ds->unknown_label;
            it->speaker = -1;
            find_active(it, ds->sample_rate);
            if (it->length > ds->max_length) ds->max_length = it->length;
            ds->n++;
            ds->running_segments++;
        }
        free(x);
    }
    return CX_OK;
}

static cx_status decode_split(cx_speech_dataset *ds, cx_speech_listing *l, const cx_speech_opts *o,
                              const char *root, cx_error *err)
{
    int max_len = (int)floor((double)o->max_seconds * o->sample_rate);
    if (max_len < 1) max_len = 1;
    const cx_speech_file **kw = malloc(sizeof(cx_speech_file *) * (size_t)(l->nfiles + 1));
    const cx_speech_file **unk = malloc(sizeof(cx_speech_file *) * (size_t)(l->nfiles + 1));
    cx_status st = kw && unk ? CX_OK : nomem(err);
    int nkw = 0, nunk = 0;
    for (int i = 0; !st && i < l->nfiles; i++) {
        const cx_speech_file *f = &l->files[i];
        int kind = l->folders[f->folder].kind;
        if (kind == CX_SPEECH_FOLDER_NONE || cx_speech_excluded(f->speaker, o)) continue;
        if (o->split != CX_SPLIT_ALL && cx_speech_speaker_split(f->speaker, o) != o->split)
            continue;
        if (kind == CX_SPEECH_FOLDER_KEYWORD)
            kw[nkw++] = f;
        else
            unk[nunk++] = f;
    }
    ds->unknown_available = nunk;
    if (!st) qsort(unk, (size_t)nunk, sizeof(cx_speech_file *), cmp_rank);
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
        st =
            decode_clip(ds, unk[i], (int)(unk[i] - l->files), ds->unknown_label, max_len, &ok, err);
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
    if (!st) st = cut_running(ds, l, o, mean, err);
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
            it->seed = cx_fmix64(cx_hash_string(key));
        }
    }
    if (!st && o->progress) o->progress(o->user, total, total);
    return st;
}

cx_status cx_speech_load(cx_speech_dataset **out, const char *root, const cx_speech_opts *o,
                         cx_error *err)
{
    *out = NULL;
    cx_status st = cx_speech_check_opts(root, o, err);
    if (st) return st;
    cx_speech_dataset *ds = calloc(1, sizeof *ds);
    if (!ds || !(ds->root = cx_strdup(root))) {
        free(ds);
        return nomem(err);
    }
    ds->sample_rate = o->sample_rate;
    ds->split = o->split;
    cx_speech_listing l = {0};
    st = cx_speech_list(&l, root, o, ds, err);
    if (!st) st = make_classes(ds, &l, err);
    if (!st) st = load_noise(ds, &l, err);
    if (!st) st = decode_split(ds, &l, o, root, err);
    for (int c = 0; !st && c < ds->nwords; c++) {
        int k = 0;
        for (int i = 0; i < ds->n; i++)
            k += ds->items[i].label == c;
        if (!k)
            cx_speech_warn(ds, "%s: no clips of the word '%s' in the %s split", root,
                           ds->class_names[c], cx_split_name(o->split));
    }
    cx_speech_listing_free(&l);
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
    cx_free_names(ds->class_names, ds->nclasses);
    cx_free_names(ds->speakers, ds->nspeakers);
    for (int i = 0; i < ds->nnoise; i++)
        free(ds->noise[i]);
    free(ds->noise);
    free(ds->noise_length);
    cx_free_names(ds->noise_paths, ds->nnoise);
    cx_free_names(ds->running_paths, ds->nrunning);
    cx_free_names(ds->warnings, ds->nwarnings);
    free(ds->root);
    free(ds);
}

void cx_speech_class_counts(const cx_speech_dataset *ds, int *counts)
{
    for (int c = 0; c < ds->nclasses; c++)
        counts[c] = 0;
    for (int i = 0; i < ds->n; i++)
        if (ds->items[i].label >= 0 && ds->items[i].label < ds->nclasses)
            counts[ds->items[i].label]++;
}

void cx_speech_speaker_counts(const cx_speech_dataset *ds, int *counts)
{
    for (int s = 0; s < ds->nspeakers; s++)
        counts[s] = 0;
    for (int i = 0; i < ds->n; i++)
        if (ds->items[i].speaker >= 0 && ds->items[i].speaker < ds->nspeakers)
            counts[ds->items[i].speaker]++;
}
