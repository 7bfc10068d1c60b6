/* Long test streams for keyword detection benchmarks: dataset clips
 * separated by random gaps of silence, noise and distractor clips, with the
 * ground-truth events. The layout is documented in speech.h. */
#include "cortex/speech.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void cx_speech_stream_opts_init(cx_speech_stream_opts *o)
{
    memset(o, 0, sizeof *o);
    o->gap_min = 0.5f;
    o->gap_max = 2.0f;
    o->noise_prob = 0.5f;
    o->noise_db_min = -40.0f;
    o->noise_db_max = -20.0f;
}

/* One gap and the clip after it (item -1 after the last gap). */
typedef struct slot {
    size_t gap;     /* samples, distractor excluded */
    int distractor; /* item, or -1 */
    int noise_file; /* -1: silent gap */
    size_t noise_start;
    float noise_gain; /* RMS level in linear units */
    int item;
} slot;

static int in_range(float v, float lo, float hi)
{
    return v >= lo && v <= hi;
}

static cx_status check(const cx_speech_dataset *ds, const int *items, int n,
                       const cx_speech_stream_opts *o, cx_error *err)
{
    if (!ds || !o || n < 0 || (n > 0 && !items))
        return cx_fail(err, CX_ERR_ARG, "speech stream: NULL dataset, items or options");
    if (!in_range(o->gap_min, 0.0f, 60.0f) || !in_range(o->gap_max, o->gap_min, 60.0f))
        return cx_fail(err, CX_ERR_ARG,
                       "speech stream: gap_min %g, gap_max %g must satisfy 0 <= min <= max <= 60 s",
                       (double)o->gap_min, (double)o->gap_max);
    if (!in_range(o->noise_prob, 0.0f, 1.0f) || !in_range(o->distractor_prob, 0.0f, 1.0f))
        return cx_fail(err, CX_ERR_ARG,
                       "speech stream: noise_prob and distractor_prob must be within [0, 1]");
    if (!in_range(o->noise_db_min, -100.0f, 0.0f) ||
        !in_range(o->noise_db_max, o->noise_db_min, 0.0f))
        return cx_fail(err, CX_ERR_ARG,
                       "speech stream: noise_db_min, noise_db_max must satisfy -100 <= min <= "
                       "max <= 0 dBFS");
    if (o->ndistractors < 0 || (o->ndistractors > 0 && !o->distractors))
        return cx_fail(err, CX_ERR_ARG, "speech stream: ndistractors %d without distractors",
                       o->ndistractors);
    for (int k = 0; k < n + o->ndistractors; k++) {
        int i = k < n ? items[k] : o->distractors[k - n];
        const char *what = k < n ? "item" : "distractor";
        if (i < 0 || i >= ds->n)
            return cx_fail(err, CX_ERR_ARG, "speech stream: %s %d is outside 0..%d", what, i,
                           ds->n - 1);
        if (!ds->items[i].samples)
            return cx_fail(err, CX_ERR_ARG, "speech stream: %s %d is a %s example (no audio)", what,
                           i, CX_SPEECH_SILENCE);
    }
    return CX_OK;
}

static float uniform(cx_rng *rng, float lo, float hi)
{
    return hi > lo ? lo + (hi - lo) * cx_rng_uniform(rng) : lo;
}

/* Draws every gap; returns the total length (0 if it exceeds the limit). */
static size_t plan(const cx_speech_dataset *ds, const int *items, int n,
                   const cx_speech_stream_opts *o, slot *v, int *ndist)
{
    cx_rng rng;
    cx_rng_seed(&rng, o->seed);
    size_t total = 0;
    *ndist = 0;
    for (int k = 0; k <= n; k++) {
        slot *s = &v[k];
        s->item = k < n ? items[k] : -1;
        s->gap = (size_t)floor((double)uniform(&rng, o->gap_min, o->gap_max) * ds->sample_rate);
        s->distractor = -1;
        if (o->ndistractors > 0 && cx_rng_uniform(&rng) < o->distractor_prob) {
            s->distractor = o->distractors[cx_rng_below(&rng, (uint32_t)o->ndistractors)];
            (*ndist)++;
        }
        size_t span = s->gap + (s->distractor >= 0 ? (size_t)ds->items[s->distractor].length : 0);
        s->noise_file = -1;
        if (ds->nnoise > 0 && span > 0 && cx_rng_uniform(&rng) < o->noise_prob) {
            s->noise_file = (int)cx_rng_below(&rng, (uint32_t)ds->nnoise);
            size_t len = ds->noise_length[s->noise_file];
            size_t room = len > span ? len - span + 1 : len;
            s->noise_start = cx_rng_below(&rng, (uint32_t)(room > UINT32_MAX ? UINT32_MAX : room));
            s->noise_gain = powf(10.0f, uniform(&rng, o->noise_db_min, o->noise_db_max) / 20.0f);
        }
        total += span + (s->item >= 0 ? (size_t)ds->items[s->item].length : 0);
        if (total > CX_AUDIO_MAX_SAMPLES) return 0;
    }
    return total;
}

/* Noise of the slot over out[0..span) at its RMS level. */
static void add_noise(const cx_speech_dataset *ds, const slot *s, float *out, size_t span)
{
    const float *v = ds->noise[s->noise_file];
    size_t len = ds->noise_length[s->noise_file], j = s->noise_start;
    double e = 0.0;
    for (size_t i = 0; i < span; i++) {
        e += (double)v[j] * v[j];
        if (++j == len) j = 0;
    }
    if (e <= 0.0) return;
    float scale = (float)(s->noise_gain / sqrt(e / (double)span));
    j = s->noise_start;
    for (size_t i = 0; i < span; i++) {
        out[i] += scale * v[j];
        if (++j == len) j = 0;
    }
}

/* Adds the item's clip at pos (a distractor lies over its gap's noise). */
static void place(const cx_speech_dataset *ds, int item, int keyword, float *out, size_t pos,
                  cx_speech_event *ev)
{
    const cx_speech_item *it = &ds->items[item];
    for (int i = 0; i < it->length; i++)
        out[pos + (size_t)i] += it->samples[i]; /* over noise */
    ev->item = item;
    ev->label = it->label;
    ev->keyword = keyword;
    ev->start = pos;
    ev->end = pos + (size_t)it->length;
}

cx_status cx_speech_stream_build(const cx_speech_dataset *ds, const int *items, int n,
                                 const cx_speech_stream_opts *o, float **samples, size_t *length,
                                 cx_speech_event **events, int *nevents, cx_error *err)
{
    *samples = NULL;
    *events = NULL;
    *length = 0;
    *nevents = 0;
    cx_status st = check(ds, items, n, o, err);
    if (st) return st;
    slot *v = malloc(sizeof(slot) * ((size_t)n + 1));
    if (!v) return cx_fail(err, CX_ERR_NOMEM, "speech stream: out of memory");
    int ndist = 0;
    size_t total = plan(ds, items, n, o, v, &ndist);
    if (total == 0 && n > 0) {
        free(v);
        return cx_fail(err, CX_ERR_ARG, "speech stream: longer than %zu samples",
                       (size_t)CX_AUDIO_MAX_SAMPLES);
    }
    float *out = calloc(total + 1, sizeof(float));
    cx_speech_event *ev = malloc(sizeof(cx_speech_event) * ((size_t)n + ndist + 1));
    if (!out || !ev) {
        free(v);
        free(out);
        free(ev);
        return cx_fail(err, CX_ERR_NOMEM, "speech stream: out of memory for %zu samples", total);
    }
    size_t pos = 0;
    int ne = 0;
    for (int k = 0; k <= n; k++) {
        const slot *s = &v[k];
        size_t dlen = s->distractor >= 0 ? (size_t)ds->items[s->distractor].length : 0;
        if (s->noise_file >= 0) add_noise(ds, s, out + pos, s->gap + dlen);
        if (s->distractor >= 0) {
            place(ds, s->distractor, 0, out, pos + s->gap / 2, &ev[ne++]);
        }
        pos += s->gap + dlen;
        if (s->item >= 0) {
            place(ds, s->item, 1, out, pos, &ev[ne++]);
            pos += (size_t)ds->items[s->item].length;
        }
    }
    free(v);
    *samples = out;
    *length = total;
    *events = ev;
    *nevents = ne;
    return CX_OK;
}

void cx_speech_keyword_stream_free(cx_speech_keyword_stream *ks)
{
    if (!ks) return;
    free(ks->samples);
    free(ks->events);
    free(ks->truth);
    free(ks->keywords);
    free(ks->others);
    memset(ks, 0, sizeof *ks);
}

cx_status cx_speech_keyword_stream_build(cx_speech_keyword_stream *ks, const cx_speech_dataset *ds,
                                         uint64_t seed, cx_error *err)
{
    if (!ks) return cx_fail(err, CX_ERR_ARG, "keyword stream: NULL stream");
    memset(ks, 0, sizeof *ks);
    if (!ds) return cx_fail(err, CX_ERR_ARG, "keyword stream: NULL dataset");
    size_t n = ds->n > 0 ? (size_t)ds->n : 1;
    ks->keywords = malloc(sizeof(int) * n);
    ks->others = malloc(sizeof(int) * n);
    if (!ks->keywords || !ks->others) {
        cx_speech_keyword_stream_free(ks);
        return cx_fail(err, CX_ERR_NOMEM, "keyword stream: out of memory");
    }
    for (int i = 0; i < ds->n; i++) {
        if (!ds->items[i].samples) continue;
        if (ds->items[i].label < ds->nwords)
            ks->keywords[ks->nkeywords++] = i;
        else
            ks->others[ks->nothers++] = i;
    }
    cx_speech_stream_opts_init(&ks->opts);
    ks->opts.seed = seed;
    ks->opts.distractors = ks->others;
    ks->opts.ndistractors = ks->nothers;
    ks->opts.distractor_prob = ks->nothers ? 0.5f : 0.0f;
    ks->sample_rate = ds->sample_rate;
    cx_status st = cx_speech_stream_build(ds, ks->keywords, ks->nkeywords, &ks->opts, &ks->samples,
                                          &ks->length, &ks->events, &ks->nevents, err);
    if (!st && !(ks->truth = malloc(sizeof *ks->truth * (size_t)(ks->nevents ? ks->nevents : 1))))
        st = cx_fail(err, CX_ERR_NOMEM, "keyword stream: out of memory");
    if (st) {
        cx_speech_keyword_stream_free(ks);
        return st;
    }
    /* The split's running speech, whole, after the keywords: the audio
     * without keywords the detector meets when people talk. */
    size_t gap = (size_t)ds->sample_rate / 2;
    for (int r = 0; !st && r < ds->nrunning; r++) {
        float *x = NULL;
        size_t n = 0;
        if (cx_audio_load(ds->running_paths[r], ds->sample_rate, &x, &n, NULL, err)) {
            st = CX_OK; /* it decoded when the dataset was loaded; skip it now */
            continue;
        }
        float *v = realloc(ks->samples, sizeof(float) * (ks->length + gap + n));
        if (!v) {
            free(x);
            st = cx_fail(err, CX_ERR_NOMEM, "keyword stream: out of memory");
            break;
        }
        ks->samples = v;
        memset(v + ks->length, 0, sizeof(float) * gap);
        memcpy(v + ks->length + gap, x, sizeof(float) * n);
        ks->length += gap + n;
        ks->running_seconds += (double)n / ds->sample_rate;
        free(x);
    }
    if (st) {
        cx_speech_keyword_stream_free(ks);
        return st;
    }
    for (int i = 0; i < ks->nevents; i++) {
        const cx_speech_event *e = &ks->events[i];
        if (!e->keyword) continue;
        cx_detect_truth *t = &ks->truth[ks->ntruth++];
        t->word = ds->class_names[e->label];
        t->start = (double)e->start / ds->sample_rate;
        t->end = (double)e->end / ds->sample_rate;
        ks->keyword_seconds += t->end - t->start;
    }
    ks->background_hours = ((double)ks->length / ds->sample_rate - ks->keyword_seconds) / 3600.0;
    return CX_OK;
}
