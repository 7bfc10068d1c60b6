/* Speech training batches: clip placement in a fixed window, augmentation
 * (speed, shift, gain, background noise, SpecAugment masks), synthesized
 * _silence_ examples and the features. The rules are documented in
 * speech.h. Everything a batch needs is allocated at creation. */
#include "cortex/speech.h"

#include <math.h>
#include <samplerate.h>
#include <stdlib.h>
#include <string.h>

/* libsamplerate converter of the speed perturbation: augmentation does not
 * need the file loader's quality, and this one is about 3x faster. */
#define SPEED_CONVERTER SRC_SINC_FASTEST

struct cx_speech_source {
    const cx_speech_dataset *ds;
    cx_melspec *fx;
    cx_speech_augment aug;
    int window, frames, feats;
    int speed_on;
    SRC_STATE *src; /* speed perturbation, NULL when off */
    float *clip;    /* speed-perturbed clip */
    size_t clip_cap;
    float *win;     /* the rendered window */
    float *scratch; /* one frame of features */
};

void cx_speech_augment_off(cx_speech_augment *a)
{
    memset(a, 0, sizeof *a);
    a->speed_min = a->speed_max = 1.0f;
    a->snr_min = 0.0f;
    a->snr_max = 20.0f;
    a->silence_db_min = -30.0f;
    a->silence_db_max = 0.0f;
}

void cx_speech_augment_default(cx_speech_augment *a)
{
    cx_speech_augment_off(a);
    a->shift_ms = 100.0f;
    a->speed_min = 0.9f;
    a->speed_max = 1.1f;
    /* FSDD's speakers differ by 17 dB in level: +-6 dB left the quietest one,
     * held out, at 69% keyword accuracy; +-20 dB gave 88%. */
    a->gain_db = 20.0f;
    a->noise_prob = 0.8f;
    a->time_masks = 2;
    a->time_mask_max = 10;
    a->freq_masks = 2;
    a->freq_mask_max = 5;
}

static int in_range(float v, float lo, float hi)
{
    return v >= lo && v <= hi;
}

cx_status cx_speech_augment_check(const cx_speech_augment *a, cx_error *err)
{
    const char *bad = NULL;
    if (!in_range(a->shift_ms, 0.0f, CX_SPEECH_MAX_SECONDS * 1000.0f))
        bad = "shift_ms must be within [0, 60000]";
    else if (!in_range(a->speed_min, 0.5f, 2.0f) || !in_range(a->speed_max, a->speed_min, 2.0f))
        bad = "speed_min, speed_max must satisfy 0.5 <= speed_min <= speed_max <= 2";
    else if (!in_range(a->gain_db, 0.0f, 40.0f))
        bad = "gain_db must be within [0, 40]";
    else if (!in_range(a->noise_prob, 0.0f, 1.0f))
        bad = "noise_prob must be within [0, 1]";
    else if (!in_range(a->snr_min, -30.0f, 60.0f) || !in_range(a->snr_max, a->snr_min, 60.0f))
        bad = "snr_min, snr_max must satisfy -30 <= snr_min <= snr_max <= 60 (dB)";
    else if (a->time_masks < 0 || a->time_mask_max < 0 || a->time_masks > 1000)
        bad = "time_masks must be within 0..1000 and time_mask_max >= 0";
    else if (a->freq_masks < 0 || a->freq_mask_max < 0 || a->freq_masks > 1000)
        bad = "freq_masks must be within 0..1000 and freq_mask_max >= 0";
    else if (!in_range(a->warp, 0.0f, 0.5f))
        bad = "warp must be within [0, 0.5]";
    else if (!in_range(a->eq_db, 0.0f, 40.0f))
        bad = "eq_db must be within [0, 40]";
    else if (!in_range(a->partial_prob, 0.0f, 1.0f))
        bad = "partial_prob must be within [0, 1]";
    else if (!in_range(a->silence_db_min, -100.0f, 20.0f) ||
             !in_range(a->silence_db_max, a->silence_db_min, 20.0f))
        bad = "silence_db_min, silence_db_max must satisfy -100 <= min <= max <= 20 (dB)";
    return bad ? cx_fail(err, CX_ERR_ARG, "speech augmentation: %s", bad) : CX_OK;
}

static float uniform(cx_rng *rng, float lo, float hi)
{
    return hi > lo ? lo + (hi - lo) * cx_rng_uniform(rng) : lo;
}

static float db_to_gain(float db)
{
    return powf(10.0f, db / 20.0f);
}

cx_status cx_speech_source_create(cx_speech_source **out, const cx_speech_dataset *ds,
                                  cx_melspec *fx, int window_samples, const cx_speech_augment *aug,
                                  cx_error *err)
{
    *out = NULL;
    if (!ds || !fx) return cx_fail(err, CX_ERR_ARG, "speech source: NULL dataset or extractor");
    const cx_feat_config *cfg = cx_melspec_config(fx);
    if (cfg->sample_rate != ds->sample_rate)
        return cx_fail(err, CX_ERR_ARG,
                       "speech source: the extractor's sample rate %d Hz differs from the "
                       "dataset's %d Hz",
                       cfg->sample_rate, ds->sample_rate);
    if (window_samples < 1 || window_samples > CX_SPEECH_MAX_SECONDS * ds->sample_rate ||
        cx_feat_num_frames(cfg, (size_t)window_samples) < 1)
        return cx_fail(err, CX_ERR_ARG,
                       "speech source: window_samples %d must be within %d..%d (one feature "
                       "frame to %g s)",
                       window_samples, cfg->win_length,
                       (int)(CX_SPEECH_MAX_SECONDS * ds->sample_rate),
                       (double)CX_SPEECH_MAX_SECONDS);
    cx_speech_augment a;
    if (aug)
        a = *aug;
    else
        cx_speech_augment_off(&a);
    cx_status st = cx_speech_augment_check(&a, err);
    if (st) return st;
    cx_speech_source *s = calloc(1, sizeof *s);
    if (!s) return cx_fail(err, CX_ERR_NOMEM, "speech source: out of memory");
    s->ds = ds;
    s->fx = fx;
    s->aug = a;
    s->window = window_samples;
    s->frames = (int)cx_feat_num_frames(cfg, (size_t)window_samples);
    s->feats = cx_feat_num_features(cfg);
    s->speed_on = a.speed_min != 1.0f || a.speed_max != 1.0f;
    s->win = malloc(sizeof(float) * (size_t)window_samples);
    s->scratch = malloc(sizeof(float) * (size_t)s->feats);
    if (s->win && s->speed_on) {
        int e = 0;
        s->clip_cap = (size_t)ceil((double)ds->max_length / a.speed_min) + 64;
        s->clip = malloc(sizeof(float) * s->clip_cap);
        s->src = src_new(SPEED_CONVERTER, 1, &e);
    }
    if (!s->win || !s->scratch || (s->speed_on && (!s->clip || !s->src))) {
        cx_speech_source_free(s);
        return cx_fail(err, CX_ERR_NOMEM, "speech source: out of memory");
    }
    *out = s;
    return CX_OK;
}

void cx_speech_source_free(cx_speech_source *s)
{
    if (!s) return;
    if (s->src) src_delete(s->src);
    free(s->clip);
    free(s->win);
    free(s->scratch);
    free(s);
}

int cx_speech_source_frames(const cx_speech_source *s)
{
    return s->frames;
}
int cx_speech_source_features(const cx_speech_source *s)
{
    return s->feats;
}

cx_train_source cx_speech_train_source(cx_speech_source *s)
{
    cx_train_source t = {s, s->ds->n, cx_speech_batch};
    return t;
}

/* A noise segment: W samples of recording `file` from `start`, wrapping
 * around a recording shorter than that. Drawn once, then measured and added. */
typedef struct noise_pick {
    int file;
    size_t start;
} noise_pick;

static noise_pick pick_noise(const cx_speech_dataset *ds, int W, cx_rng *rng)
{
    noise_pick p;
    p.file = (int)cx_rng_below(rng, (uint32_t)ds->nnoise);
    size_t len = ds->noise_length[p.file];
    size_t span = len > (size_t)W ? len - (size_t)W + 1 : len;
    p.start = (size_t)cx_rng_below(rng, (uint32_t)(span > UINT32_MAX ? UINT32_MAX : span));
    return p;
}

static double noise_power(const cx_speech_dataset *ds, noise_pick p, int W)
{
    const float *v = ds->noise[p.file];
    size_t len = ds->noise_length[p.file], j = p.start;
    double e = 0.0;
    for (int i = 0; i < W; i++) {
        e += (double)v[j] * v[j];
        if (++j == len) j = 0;
    }
    return e / W;
}

static void noise_add(const cx_speech_dataset *ds, noise_pick p, float *out, int W, float scale)
{
    const float *v = ds->noise[p.file];
    size_t len = ds->noise_length[p.file], j = p.start;
    for (int i = 0; i < W; i++) {
        out[i] += scale * v[j];
        if (++j == len) j = 0;
    }
}

static void render_silence(cx_speech_source *s, const cx_speech_item *it, int augment, cx_rng *rng,
                           float *win)
{
    cx_rng own;
    if (!augment) {
        cx_rng_seed(&own, it->seed);
        rng = &own;
    }
    memset(win, 0, sizeof(float) * (size_t)s->window);
    float level = db_to_gain(uniform(rng, s->aug.silence_db_min, s->aug.silence_db_max));
    if (s->ds->nnoise > 0)
        noise_add(s->ds, pick_noise(s->ds, s->window, rng), win, s->window, level);
}

/* Speed perturbation: resamples the clip by 1 / f into s->clip. */
static cx_status speed_clip(cx_speech_source *s, const cx_speech_item *it, double f, int *len,
                            cx_error *err)
{
    src_reset(s->src);
    long used = 0, made = 0;
    for (;;) {
        SRC_DATA d = {.data_in = it->samples + used,
                      .data_out = s->clip + made,
                      .input_frames = it->length - used,
                      .output_frames = (long)s->clip_cap - made,
                      .end_of_input = 1,
                      .src_ratio = 1.0 / f};
        int e = src_process(s->src, &d);
        if (e)
            return cx_fail(err, CX_ERR_STATE, "speech source: %s: libsamplerate: %s", it->path,
                           src_strerror(e));
        used += d.input_frames_used;
        made += d.output_frames_gen;
        if (d.output_frames_gen == 0 || made >= (long)s->clip_cap) break;
    }
    *len = (int)made;
    return CX_OK;
}

/* Which part of a word a part-word example shows (speech.h). */
enum { WHOLE, PART_START, PART_END };

/* Renders item's window; with label non-NULL (batches) it may make a
 * part-word example and writes the example's label. */
static cx_status render(cx_speech_source *s, int item, int augment, cx_rng *rng, float *window,
                        int *label, cx_error *err)
{
    const cx_speech_dataset *ds = s->ds;
    if (item < 0 || item >= ds->n)
        return cx_fail(err, CX_ERR_ARG, "speech source: item %d is outside 0..%d", item, ds->n - 1);
    if (augment && !rng)
        return cx_fail(err, CX_ERR_ARG, "speech source: augmentation needs a random generator");
    const cx_speech_item *it = &ds->items[item];
    const cx_speech_augment *a = &s->aug;
    int W = s->window, part = WHOLE;
    if (label) {
        *label = it->label;
        if (augment && a->partial_prob > 0.0f && ds->unknown_label >= 0 && it->label < ds->nwords &&
            it->samples && cx_rng_uniform(rng) < a->partial_prob) {
            part = cx_rng_below(rng, 2) ? PART_END : PART_START;
            *label = ds->unknown_label;
        }
    }
    if (!it->samples) {
        render_silence(s, it, augment, rng, window);
        return CX_OK;
    }
    const float *clip = it->samples;
    int L = it->length;
    double act0 = it->active_start, act1 = it->active_end;
    if (augment && s->speed_on) {
        double f = uniform(rng, a->speed_min, a->speed_max);
        cx_status st = speed_clip(s, it, f, &L, err);
        if (st) return st;
        clip = s->clip;
        act0 /= f;
        act1 /= f;
        if (act1 > L) act1 = L;
    }
    int off = (int)cx_speech_center_offset((size_t)W, (size_t)L);
    int shift = (int)((double)a->shift_ms * ds->sample_rate / 1000.0);
    if (part != WHOLE) {
        /* r of the voiced part [act0, act1) inside: the window ends at
         * act0 + r V (its start shows) or begins at act1 - r V. */
        double r = uniform(rng, 0.2f, 0.6f), v = act1 - act0;
        off = part == PART_START ? (int)lround(W - (act0 + r * v)) : (int)lround(r * v - act1);
    } else if (augment && shift > 0) {
        off += (int)cx_rng_below(rng, (uint32_t)(2 * shift + 1)) - shift;
        int a0 = (int)floor(act0), a1 = (int)ceil(act1);
        int lo = -a0, hi = W - a1; /* the voiced part inside the window */
        if (a1 - a0 > W) lo = W - a1, hi = -a0;
        off = off < lo ? lo : off > hi ? hi : off;
    }
    size_t first, end;
    cx_speech_place(clip, (size_t)L, off, window, (size_t)W, &first, &end);
    int i0 = (int)first, i1 = (int)end;
    if (augment && a->gain_db > 0.0f) {
        float g = db_to_gain(uniform(rng, -a->gain_db, a->gain_db));
        for (int i = i0; i < i1; i++)
            window[i] *= g;
    }
    if (augment && a->noise_prob > 0.0f && ds->nnoise > 0 && cx_rng_uniform(rng) < a->noise_prob) {
        float snr = uniform(rng, a->snr_min, a->snr_max);
        noise_pick p = pick_noise(ds, W, rng);
        double pc = 0.0, pn = noise_power(ds, p, W);
        for (int i = i0; i < i1; i++)
            pc += (double)window[i] * window[i];
        pc = i1 > i0 ? pc / (i1 - i0) : 0.0;
        if (pc > 0.0 && pn > 0.0)
            noise_add(ds, p, window, W, (float)sqrt(pc / pn * pow(10.0, -snr / 10.0)));
    }
    return CX_OK;
}

long cx_speech_center_offset(size_t window, size_t n)
{
    return ((long)window - (long)n) / 2;
}

void cx_speech_place(const float *clip, size_t n, long off, float *window, size_t W, size_t *first,
                     size_t *end)
{
    /* The clip covers window samples [off, off + n), clipped to [0, W). */
    long i0 = off > 0 ? off : 0, i1 = off + (long)n < (long)W ? off + (long)n : (long)W;
    memset(window, 0, sizeof(float) * W);
    if (i1 > i0)
        memcpy(window + i0, clip + (i0 - off), sizeof(float) * (size_t)(i1 - i0));
    else
        i1 = i0 = 0;
    if (first) *first = (size_t)i0;
    if (end) *end = (size_t)i1;
}

cx_status cx_speech_render(cx_speech_source *s, int item, int augment, cx_rng *rng, float *window,
                           cx_error *err)
{
    return render(s, item, augment, rng, window, NULL, err);
}

void cx_speech_spec_mask(float *x, int frames, int features, const cx_speech_augment *a, float fill,
                         cx_rng *rng)
{
    if (frames < 1 || features < 1) return;
    for (int k = 0; a->time_mask_max > 0 && k < a->time_masks; k++) {
        int w = (int)cx_rng_below(rng, (uint32_t)a->time_mask_max + 1);
        if (w > frames) w = frames;
        int t0 = (int)cx_rng_below(rng, (uint32_t)(frames - w + 1));
        for (int t = t0; t < t0 + w; t++)
            for (int f = 0; f < features; f++)
                x[(size_t)t * features + f] = fill;
    }
    for (int k = 0; a->freq_mask_max > 0 && k < a->freq_masks; k++) {
        int w = (int)cx_rng_below(rng, (uint32_t)a->freq_mask_max + 1);
        if (w > features) w = features;
        int f0 = (int)cx_rng_below(rng, (uint32_t)(features - w + 1));
        for (int t = 0; t < frames; t++)
            for (int f = f0; f < f0 + w; f++)
                x[(size_t)t * features + f] = fill;
    }
}

void cx_speech_spec_warp(float *x, int frames, int features, float warp, cx_rng *rng,
                         float *scratch)
{
    if (frames < 1 || features < 2 || warp <= 0.0f) return;
    float a = uniform(rng, 1.0f - warp, 1.0f + warp);
    for (int t = 0; t < frames; t++) {
        float *row = x + (size_t)t * features;
        for (int f = 0; f < features; f++) {
            float src = (float)f / a;
            if (src >= (float)(features - 1)) {
                scratch[f] = row[features - 1];
                continue;
            }
            int i = (int)src;
            float w = src - (float)i;
            scratch[f] = (1.0f - w) * row[i] + w * row[i + 1];
        }
        memcpy(row, scratch, sizeof(float) * (size_t)features);
    }
}

void cx_speech_spec_eq(float *x, int frames, int features, float eq_db, cx_rng *rng)
{
    if (frames < 1 || features < 1 || eq_db <= 0.0f) return;
    /* A smooth random gain curve over the bands: a tilt plus two cosine
     * bumps, each up to eq_db / 2 in size, in natural-log power units. */
    const float unit = 0.5f * eq_db * logf(10.0f) / 10.0f;
    float tilt = uniform(rng, -unit, unit), b1 = uniform(rng, -unit, unit) * 0.5f;
    float b2 = uniform(rng, -unit, unit) * 0.5f, ph = uniform(rng, 0.0f, 6.2831853f);
    for (int f = 0; f < features; f++) {
        float u = features > 1 ? (float)f / (float)(features - 1) : 0.0f;
        float g = tilt * (2.0f * u - 1.0f) + b1 * cosf(3.14159265f * u + ph) +
                  b2 * cosf(6.2831853f * u + ph);
        for (int t = 0; t < frames; t++)
            x[(size_t)t * features + f] += g;
    }
}

cx_status cx_speech_batch(void *ctx, const int *idx, int n, int augment, cx_rng *rng, float *x,
                          int *labels, cx_error *err)
{
    cx_speech_source *s = ctx;
    if (!s || n < 0 || (n > 0 && (!idx || !x)))
        return cx_fail(err, CX_ERR_ARG, "speech batch: NULL source, indices or output");
    size_t per = (size_t)s->frames * s->feats;
    int mask = augment && ((s->aug.time_masks > 0 && s->aug.time_mask_max > 0) ||
                           (s->aug.freq_masks > 0 && s->aug.freq_mask_max > 0));
    int normalized = cx_melspec_config(s->fx)->norm != CX_NORM_NONE;
    for (int i = 0; i < n; i++) {
        int label;
        cx_status st = render(s, idx[i], augment, rng, s->win, &label, err);
        if (st) return st;
        float *xi = x + per * (size_t)i;
        int got = cx_melspec_compute(s->fx, s->win, (size_t)s->window, xi, s->frames);
        if (got != s->frames)
            return cx_fail(err, CX_ERR_STATE, "speech batch: %d frames instead of %d", got,
                           s->frames);
        if (augment && s->aug.warp > 0.0f && cx_melspec_config(s->fx)->kind == CX_FEAT_LOGMEL)
            cx_speech_spec_warp(xi, s->frames, s->feats, s->aug.warp, rng, s->scratch);
        if (augment && s->aug.eq_db > 0.0f && cx_melspec_config(s->fx)->kind == CX_FEAT_LOGMEL)
            cx_speech_spec_eq(xi, s->frames, s->feats, s->aug.eq_db, rng);
        if (mask) {
            double sum = 0.0;
            for (size_t j = 0; !normalized && j < per; j++)
                sum += xi[j];
            cx_speech_spec_mask(xi, s->frames, s->feats, &s->aug,
                                normalized ? 0.0f : (float)(sum / (double)per), rng);
        }
        if (labels) labels[i] = label;
    }
    return CX_OK;
}
