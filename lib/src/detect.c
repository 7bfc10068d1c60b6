/* Keyword detection in a stream (see cortex/detect.h): configuration,
 * the live detector, scoring against ground truth, and tuning.
 *
 * The decision logic is two pure functions over explicit state:
 * average_push (the window of recent probability vectors -> the top
 * non-background class, its average, the count averaged) and decide
 * (threshold, minimum count, suppression). The live detector calls both after
 * every model evaluation; tuning records the probabilities of one pass over
 * the validation stream and replays the same two functions per grid point,
 * so a tuned score is exactly the score of a live run. Times inside are
 * frame indices (integers), so replay and live agree bit for bit. */
#include "cortex/detect.h"

#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cortex/loss.h"
#include "kv.h"

/* Most evaluations one averaging window may hold. */
#define MAX_WINDOW_EVALS (1 << 20)
/* Most values per list of a tuning grid. */
#define MAX_GRID_VALUES 256

/* ---- the decision logic (pure) --------------------------------------------- */

/* The evaluations inside the averaging window, oldest first in a ring. */
typedef struct {
    int nclass, cap;
    int64_t span; /* an evaluation at frame e' is averaged at e if e - e' <= span */
    int head, count;
    int64_t *frame; /* [cap] */
    float *probs;   /* [cap x nclass] */
} avg_state;

typedef struct {
    int label;  /* the top non-background class, -1 if every class is background */
    float prob; /* its average */
    int count;  /* evaluations averaged */
} avg_out;

typedef struct {
    float threshold;
    int min_count;
    int64_t quiet; /* no detection at e if the last one was at e' with e - e' <= quiet */
} decide_params;

typedef struct {
    int fired;
    int64_t last; /* frame of the last detection */
} decide_state;

/* Frames in ms milliseconds, rounded down: e - e' <= ms_frames(ms) exactly
 * when (e - e') hop <= ms rate / 1000. */
static int64_t ms_frames(int ms, int rate, int hop)
{
    return (int64_t)ms * rate / ((int64_t)1000 * hop);
}

static int avg_alloc(avg_state *a, int nclass, int cap)
{
    memset(a, 0, sizeof *a);
    a->nclass = nclass;
    a->cap = cap;
    a->frame = malloc((size_t)cap * sizeof *a->frame);
    a->probs = malloc((size_t)cap * nclass * sizeof *a->probs);
    return a->frame && a->probs ? 0 : -1;
}

static void avg_release(avg_state *a)
{
    free(a->frame);
    free(a->probs);
    memset(a, 0, sizeof *a);
}

static void avg_clear(avg_state *a, int64_t span)
{
    a->span = span;
    a->head = a->count = 0;
}

/* Adds the evaluation (frame, probs[nclass]), drops those older than span
 * frames, and writes avg[c] = mean of probs[c] over the window (summed
 * oldest first, in double) and the top non-background class. */
static void average_push(avg_state *a, const unsigned char *background, int64_t frame,
                         const float *probs, float *avg, avg_out *o)
{
    const int K = a->nclass;
    while (a->count > 0 && (frame - a->frame[a->head] > a->span || a->count == a->cap)) {
        a->head = a->head + 1 == a->cap ? 0 : a->head + 1;
        a->count--;
    }
    int slot = (a->head + a->count) % a->cap;
    a->frame[slot] = frame;
    memcpy(a->probs + (size_t)slot * K, probs, (size_t)K * sizeof *probs);
    a->count++;
    o->label = -1;
    o->prob = 0.0f;
    o->count = a->count;
    for (int c = 0; c < K; c++) {
        double s = 0.0;
        for (int i = 0, j = a->head; i < a->count; i++, j = j + 1 == a->cap ? 0 : j + 1)
            s += a->probs[(size_t)j * K + c];
        avg[c] = (float)(s / a->count);
        if (!background[c] && (o->label < 0 || avg[c] > o->prob)) {
            o->label = c;
            o->prob = avg[c];
        }
    }
}

/* 1 if the averaged evaluation o at frame fires; records it in s. */
static int decide(const decide_params *p, decide_state *s, int64_t frame, const avg_out *o)
{
    if (o->label < 0 || o->count < p->min_count || !(o->prob >= p->threshold)) return 0;
    if (s->fired && frame - s->last <= p->quiet) return 0;
    s->fired = 1;
    s->last = frame;
    return 1;
}

/* ---- configuration ------------------------------------------------------------ */

void cx_detect_config_default(cx_detect_config *c)
{
    c->window_frames = 0;
    c->every_frames = 5;
    c->average_ms = 500;
    c->threshold = 0.7f;
    c->min_count = 3;
    c->suppress_ms = 750;
}

/* "detect config: field 'FIELD': ..." */
#define bad_field(err, field, ...) cx_kv_bad_field(err, "detect config", field, __VA_ARGS__)

cx_status cx_detect_config_validate(const cx_detect_config *c, cx_error *err)
{
    if (c->window_frames < 0 || c->window_frames > (1 << 20))
        return bad_field(err, "window_frames", "%d, expected 0 (from the model) to %d",
                         c->window_frames, 1 << 20);
    if (c->every_frames < 1 || c->every_frames > 1000)
        return bad_field(err, "every_frames", "%d, expected 1 to 1000", c->every_frames);
    if (c->average_ms < 0 || c->average_ms > 60000)
        return bad_field(err, "average_ms", "%d, expected 0 to 60000", c->average_ms);
    if (!(c->threshold >= 0.0f && c->threshold <= 1.0f))
        return bad_field(err, "threshold", "%g, expected 0 to 1", (double)c->threshold);
    if (c->min_count < 1 || c->min_count > 10000)
        return bad_field(err, "min_count", "%d, expected 1 to 10000", c->min_count);
    if (c->suppress_ms < 0 || c->suppress_ms > 600000)
        return bad_field(err, "suppress_ms", "%d, expected 0 to 600000", c->suppress_ms);
    return CX_OK;
}

cx_status cx_detect_config_to_string(const cx_detect_config *c, char *buf, size_t size,
                                     cx_error *err)
{
    cx_status s = cx_detect_config_validate(c, err);
    if (s) return s;
    /* In the C locale: "0.7" must not become "0,7". */
    locale_t old = cx_c_locale_enter();
    char th[32];
    cx_short_float(th, sizeof th, c->threshold);
    int k = snprintf(buf, size,
                     "window_frames=%d every_frames=%d average_ms=%d threshold=%s min_count=%d "
                     "suppress_ms=%d",
                     c->window_frames, c->every_frames, c->average_ms, th, c->min_count,
                     c->suppress_ms);
    cx_c_locale_leave(old);
    if (k < 0 || (size_t)k >= size) {
        if (size) buf[0] = '\0';
        return cx_fail(err, CX_ERR_ARG, "detect config: buffer of %zu bytes is too small", size);
    }
    return CX_OK;
}

enum { F_WINDOW, F_EVERY, F_AVERAGE, F_THRESHOLD, F_MIN_COUNT, F_SUPPRESS, F_COUNT };
static const char *const g_keys[F_COUNT] = {"window_frames", "every_frames", "average_ms",
                                            "threshold",     "min_count",    "suppress_ms"};
_Static_assert(F_COUNT <= CX_KV_MAX_KEYS, "too many detect config fields for cx_kv");

/* Any int but INT_MIN: cx_detect_config_validate checks the ranges. */
static int parse_int(const char *v, int *out)
{
    return cx_parse_int(v, -INT_MAX, INT_MAX, out);
}

static int parse_float(const char *v, float *out)
{
    return cx_parse_float(v, -CX_PARSE_FLOAT_MAX, CX_PARSE_FLOAT_MAX, out);
}

static cx_status parse(cx_detect_config *out, const char *str, cx_error *err)
{
    cx_detect_config c;
    cx_detect_config_default(&c);
    char tok[64];
    cx_kv kv;
    cx_kv_init(&kv, str, g_keys, F_COUNT, tok, sizeof tok);
    for (cx_kv_result r; (r = cx_kv_next(&kv)) != CX_KV_END;) {
        if (r == CX_KV_TOO_LONG)
            return cx_fail(err, CX_ERR_ARG, "detect config: '%.40s...' is too long for a field",
                           kv.start);
        if (r != CX_KV_FIELD) return cx_kv_fail(&kv, r, "detect config", (int)sizeof tok, err);
        const char *v = kv.value;
        int f = kv.key, bad;
        switch (f) {
        case F_WINDOW:
            bad = parse_int(v, &c.window_frames);
            break;
        case F_EVERY:
            bad = parse_int(v, &c.every_frames);
            break;
        case F_AVERAGE:
            bad = parse_int(v, &c.average_ms);
            break;
        case F_THRESHOLD:
            bad = parse_float(v, &c.threshold);
            break;
        case F_MIN_COUNT:
            bad = parse_int(v, &c.min_count);
            break;
        default:
            bad = parse_int(v, &c.suppress_ms);
            break;
        }
        if (bad)
            return cx_fail(err, CX_ERR_ARG, "detect config: field '%s': '%s' is not %s", g_keys[f],
                           v, f == F_THRESHOLD ? "a number" : "an integer");
    }
    cx_status s = cx_detect_config_validate(&c, err);
    if (s) return s;
    *out = c;
    return CX_OK;
}

cx_status cx_detect_config_parse(cx_detect_config *c, const char *str, cx_error *err)
{
    if (!str) return cx_fail(err, CX_ERR_ARG, "detect config: no string given");
    locale_t old = cx_c_locale_enter();
    cx_status s = parse(c, str, err);
    cx_c_locale_leave(old);
    return s;
}

cx_status cx_detect_config_from_model(const cx_model *m, cx_detect_config *c, cx_error *err)
{
    const char *s = cx_model_get_meta(m, CX_DETECT_META_KEY);
    if (!s) {
        cx_detect_config_default(c);
        return CX_OK;
    }
    return cx_detect_config_parse(c, s, err);
}

/* ---- the detector ------------------------------------------------------------- */

struct cx_detector {
    cx_model *model;
    cx_melspec *fx;
    cx_detect_config cfg;
    int T, F, K;
    int rate, hop, win;
    float *frame;              /* [F] the frame just popped */
    float *ring;               /* [T x F] frame t in slot t % T */
    float *window;             /* [T x F] the last T frames in time order */
    float *probs;              /* [K] softmax of the last evaluation */
    float *avg;                /* [K] averaged probabilities */
    unsigned char *background; /* [K] */
    avg_state avg_st;
    decide_params dp;
    decide_state ds;
    int64_t frames; /* popped since the last reset */
    int64_t evaluations;
    cx_slide *slide;   /* the model on windows every_frames apart */
    int64_t last_eval; /* frame of the last slide forward, -1: none */
    /* Tuning: probabilities are recorded here instead of being decided on. */
    float *rec;
    int64_t *rec_frame;
    size_t rec_cap, rec_n;
};

static int is_background(const char *label)
{
    return !strcmp(label, "_silence_") || !strcmp(label, "_unknown_");
}

/* Checks that m is a (T,F) -> (K) classifier for fc with K labels. */
static cx_status check_model(cx_model *m, const cx_feat_config *fc, const cx_detect_config *dc,
                             cx_error *err)
{
    cx_status s = cx_feat_config_validate(fc, err);
    if (s) return s;
    const cx_shape *in = cx_model_input_shape(m), *out = cx_model_output_shape(m);
    char a[48];
    int F = cx_feat_num_features(fc);
    if (in->ndim != 2 || in->d[1] != F)
        return cx_fail(err, CX_ERR_SHAPE,
                       "detector: model input %s, expected (frames, %d features) for the "
                       "feature configuration",
                       cx_shape_str(in, a, sizeof a), F);
    if (dc->window_frames != 0 && dc->window_frames != in->d[0])
        return cx_fail(err, CX_ERR_SHAPE,
                       "detector: field 'window_frames' is %d but the model takes %d frames",
                       dc->window_frames, in->d[0]);
    if (out->ndim != 1)
        return cx_fail(err, CX_ERR_SHAPE, "detector: model output %s, expected class scores",
                       cx_shape_str(out, a, sizeof a));
    int K = out->d[0];
    if (cx_model_num_labels(m) != K)
        return cx_fail(err, CX_ERR_ARG, "detector: model has %d labels for %d outputs",
                       cx_model_num_labels(m), K);
    int words = 0;
    for (int c = 0; c < K; c++)
        words += !is_background(cx_model_label(m, c));
    if (!words)
        return cx_fail(err, CX_ERR_ARG,
                       "detector: every label is _silence_ or _unknown_: nothing can fire");
    return CX_OK;
}

/* Evaluations an averaging window of span frames can hold. */
static int64_t window_evals(int64_t span, int every)
{
    return span / every + 1;
}

void cx_detector_free(cx_detector *d)
{
    if (!d) return;
    cx_melspec_free(d->fx);
    cx_slide_free(d->slide);
    cx_free_floats(d->frame);
    cx_free_floats(d->ring);
    cx_free_floats(d->window);
    cx_free_floats(d->probs);
    cx_free_floats(d->avg);
    free(d->background);
    avg_release(&d->avg_st);
    free(d->rec);
    free(d->rec_frame);
    free(d);
}

cx_status cx_detector_create(cx_detector **out, cx_model *m, const cx_feat_config *fc,
                             const cx_detect_config *dc, cx_error *err)
{
    if (out) *out = NULL;
    if (!out || !m || !fc) return cx_fail(err, CX_ERR_ARG, "detector: NULL argument");
    cx_detect_config cfg;
    if (dc)
        cfg = *dc;
    else
        cx_detect_config_default(&cfg);
    cx_status s = cx_detect_config_validate(&cfg, err);
    if (s || (s = check_model(m, fc, &cfg, err))) return s;
    const cx_shape *in = cx_model_input_shape(m);
    cfg.window_frames = in->d[0];
    int rate = fc->sample_rate, hop = fc->hop_length;
    int64_t span = ms_frames(cfg.average_ms, rate, hop);
    int64_t cap = window_evals(span, cfg.every_frames);
    if (cap > MAX_WINDOW_EVALS)
        return cx_fail(err, CX_ERR_ARG,
                       "detector: field 'average_ms': %d ms holds %lld evaluations, more than %d",
                       cfg.average_ms, (long long)cap, MAX_WINDOW_EVALS);
    if (cfg.min_count > cap)
        return cx_fail(err, CX_ERR_ARG,
                       "detector: field 'min_count': %d, but average_ms=%d holds at most %lld "
                       "evaluations (one every %d frames of %d samples)",
                       cfg.min_count, cfg.average_ms, (long long)cap, cfg.every_frames, hop);
    cx_model_set_training(m, 0);
    if ((s = cx_model_reserve(m, 1, err))) return s;

    cx_detector *d = calloc(1, sizeof *d);
    if (!d) return cx_fail(err, CX_ERR_NOMEM, "detector: out of memory");
    if ((s = cx_melspec_create(&d->fx, fc, err))) {
        free(d);
        return s;
    }
    d->model = m;
    d->cfg = cfg;
    d->T = in->d[0];
    d->F = in->d[1];
    d->K = cx_model_output_shape(m)->d[0];
    d->rate = rate;
    d->hop = hop;
    d->win = fc->win_length;
    size_t tf = (size_t)d->T * d->F;
    d->frame = cx_alloc_floats((size_t)d->F);
    d->ring = cx_alloc_floats(tf);
    d->window = cx_alloc_floats(tf);
    d->probs = cx_alloc_floats((size_t)d->K);
    d->avg = cx_alloc_floats((size_t)d->K);
    d->background = calloc((size_t)d->K, 1);
    int ok = d->frame && d->ring && d->window && d->probs && d->avg && d->background &&
             avg_alloc(&d->avg_st, d->K, (int)cap) == 0;
    if (!ok) {
        cx_detector_free(d);
        return cx_fail(err, CX_ERR_NOMEM, "detector: out of memory");
    }
    if ((s = cx_slide_create(&d->slide, m, cfg.every_frames, err))) {
        cx_detector_free(d);
        return s;
    }
    d->last_eval = -1;
    for (int c = 0; c < d->K; c++)
        d->background[c] = (unsigned char)is_background(cx_model_label(m, c));
    d->dp.threshold = cfg.threshold;
    d->dp.min_count = cfg.min_count;
    d->dp.quiet = ms_frames(cfg.suppress_ms, rate, hop);
    avg_clear(&d->avg_st, span);
    *out = d;
    return CX_OK;
}

void cx_detector_reset(cx_detector *d)
{
    if (!d) return;
    cx_melspec_reset(d->fx);
    cx_slide_reset(d->slide);
    d->last_eval = -1;
    d->frames = 0;
    avg_clear(&d->avg_st, d->avg_st.span);
    d->ds.fired = 0;
    d->ds.last = 0;
    memset(d->avg, 0, (size_t)d->K * sizeof *d->avg);
}

const cx_detect_config *cx_detector_config(const cx_detector *d)
{
    return &d->cfg;
}
int64_t cx_detector_evaluations(const cx_detector *d)
{
    return d->evaluations;
}
const float *cx_detector_scores(const cx_detector *d)
{
    return d->avg;
}

/* Seconds from the stream start at which frame e is complete. */
static double frame_time(const cx_detector *d, int64_t e)
{
    return ((double)e * d->hop + d->win) / d->rate;
}

static void make_event(const cx_detector *d, int64_t e, const avg_out *o, cx_detection *ev)
{
    ev->label = o->label;
    ev->word = cx_model_label(d->model, o->label);
    ev->time = frame_time(d, e);
    ev->confidence = o->prob;
}

/* Stores the frame in d->frame as frame number d->frames; when an
 * evaluation is due, runs the model on the last T frames and decides.
 * Returns 1 and fills ev on a detection. */
static int on_frame(cx_detector *d, cx_detection *ev)
{
    const int T = d->T, F = d->F;
    int64_t e = d->frames++;
    memcpy(d->ring + (size_t)(e % T) * F, d->frame, (size_t)F * sizeof(float));
    if (e < T - 1 || (e - (T - 1)) % d->cfg.every_frames) return 0;
    size_t oldest = (size_t)((e + 1) % T);
    memcpy(d->window, d->ring + oldest * F, (T - oldest) * F * sizeof(float));
    memcpy(d->window + (T - oldest) * F, d->ring, oldest * F * sizeof(float));
    /* A window without any variation (digital silence: a muted or dead input)
     * holds no word, and a model that never saw one could say anything: it
     * counts as silence without running the model. */
    float lo = d->window[0], hi = lo;
    for (size_t i = 1; i < (size_t)T * F; i++) {
        lo = d->window[i] < lo ? d->window[i] : lo;
        hi = d->window[i] > hi ? d->window[i] : hi;
    }
    if (hi - lo < 1e-3f) {
        int quiet = -1;
        for (int k = 0; k < d->K && quiet < 0; k++)
            if (!strcmp(cx_model_label(d->model, k), "_silence_")) quiet = k;
        for (int k = 0; k < d->K; k++)
            d->probs[k] = quiet < 0 ? 1.0f / (float)d->K : (float)(k == quiet);
    } else {
        int64_t gap = e - d->last_eval; /* frames the window moved since the last run */
        int shift = d->last_eval < 0 || gap > T ? -1 : (int)gap;
        const float *z = cx_slide_forward(d->slide, d->window, shift);
        if (!z) return 0; /* the model was freed of its activations: cannot happen after reserve */
        d->last_eval = e;
        cx_softmax(z, 1, d->K, d->probs);
    }
    d->evaluations++;
    if (d->rec) {
        if (d->rec_n < d->rec_cap) {
            memcpy(d->rec + d->rec_n * d->K, d->probs, (size_t)d->K * sizeof(float));
            d->rec_frame[d->rec_n++] = e;
        }
        return 0;
    }
    avg_out o;
    average_push(&d->avg_st, d->background, e, d->probs, d->avg, &o);
    if (!decide(&d->dp, &d->ds, e, &o)) return 0;
    make_event(d, e, &o, ev);
    return 1;
}

int cx_detector_push(cx_detector *d, const float *samples, size_t n, cx_detection *events,
                     int max_events)
{
    if (!d || (!samples && n > 0) || (!events && max_events > 0)) return -1;
    int produced = 0;
    size_t pos = 0;
    while (pos < n) {
        size_t k = cx_melspec_push(d->fx, samples + pos, n - pos);
        if (k == 0) break; /* cannot happen: popping every frame frees the buffer */
        pos += k;
        while (cx_melspec_pop(d->fx, d->frame)) {
            cx_detection ev;
            if (!on_frame(d, &ev)) continue;
            if (produced < max_events) events[produced] = ev;
            produced++;
        }
    }
    return produced;
}

/* ---- scoring ------------------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static cx_status check_truth(const cx_detect_truth *truth, int n_truth, cx_error *err)
{
    if (n_truth < 0 || (n_truth > 0 && !truth))
        return cx_fail(err, CX_ERR_ARG, "detect score: no ground truth array");
    for (int j = 0; j < n_truth; j++) {
        const cx_detect_truth *t = &truth[j];
        if (!t->word || !isfinite(t->start) || !isfinite(t->end) || t->start > t->end)
            return cx_fail(err, CX_ERR_ARG,
                           "detect score: truth %d needs a word and finite start <= end", j);
        if (j > 0 && t->start < truth[j - 1].start)
            return cx_fail(err, CX_ERR_ARG, "detect score: truth %d starts before truth %d", j,
                           j - 1);
    }
    return CX_OK;
}

static cx_status check_events(const cx_detection *ev, int n_events, cx_error *err)
{
    if (n_events < 0 || (n_events > 0 && !ev))
        return cx_fail(err, CX_ERR_ARG, "detect score: no detection array");
    for (int i = 0; i < n_events; i++) {
        if (!ev[i].word || !isfinite(ev[i].time))
            return cx_fail(err, CX_ERR_ARG, "detect score: detection %d needs a word and a time",
                           i);
        if (i > 0 && ev[i].time < ev[i - 1].time)
            return cx_fail(err, CX_ERR_ARG, "detect score: detection %d comes before detection %d",
                           i, i - 1);
    }
    return CX_OK;
}

/* The matching of cx_detect_score on checked input. used: n_truth bytes,
 * delays and sorted: n_truth doubles of scratch. */
static void score(const cx_detection *ev, int n_events, const cx_detect_truth *truth, int n_truth,
                  double tol, unsigned char *used, double *delays, double *sorted,
                  cx_detect_stats *st)
{
    memset(used, 0, (size_t)n_truth);
    /* Truth j cannot contain a time t > start_j + reach (with a margin for
     * rounding), so a pointer skips the occurrences already behind. */
    double reach = 0.0;
    for (int j = 0; j < n_truth; j++)
        reach = fmax(reach, truth[j].end + tol - truth[j].start);
    reach += 1e-6;
    int lo = 0, hits = 0, fa = 0, out = 0;
    for (int i = 0; i < n_events; i++) {
        double t = ev[i].time;
        while (lo < n_truth && truth[lo].start + reach < t)
            lo++;
        int found = -1, inside = 0; /* inside: t is within some occurrence's span */
        for (int j = lo; j < n_truth && truth[j].start <= t; j++) {
            if (t > truth[j].end + tol) continue;
            inside = 1;
            if (!used[j] && !strcmp(truth[j].word, ev[i].word)) {
                found = j;
                break;
            }
        }
        if (found < 0) {
            fa++;
            out += !inside;
            continue;
        }
        used[found] = 1;
        delays[hits++] = t - truth[found].end;
    }
    st->hits = hits;
    st->misses = n_truth - hits;
    st->false_alarms = fa;
    st->outside = out;
    st->median_delay = st->mean_delay = NAN;
    if (!hits) return;
    double sum = 0.0;
    for (int h = 0; h < hits; h++)
        sum += delays[h];
    memcpy(sorted, delays, (size_t)hits * sizeof *sorted);
    qsort(sorted, (size_t)hits, sizeof *sorted, cmp_double);
    st->mean_delay = sum / hits;
    st->median_delay =
        hits % 2 ? sorted[hits / 2] : 0.5 * (sorted[hits / 2 - 1] + sorted[hits / 2]);
}

cx_status cx_detect_score(const cx_detection *events, int n_events, const cx_detect_truth *truth,
                          int n_truth, double tolerance_s, cx_detect_stats *stats, double *delays,
                          cx_error *err)
{
    if (!stats) return cx_fail(err, CX_ERR_ARG, "detect score: no result given");
    if (!isfinite(tolerance_s) || tolerance_s < 0)
        return cx_fail(err, CX_ERR_ARG, "detect score: tolerance %g s, expected >= 0", tolerance_s);
    cx_status s = check_truth(truth, n_truth, err);
    if (s || (s = check_events(events, n_events, err))) return s;
    size_t nt = (size_t)n_truth + 1;
    unsigned char *used = malloc(nt);
    double *scratch = malloc(2 * nt * sizeof *scratch);
    if (!used || !scratch) {
        free(used);
        free(scratch);
        return cx_fail(err, CX_ERR_NOMEM, "detect score: out of memory");
    }
    score(events, n_events, truth, n_truth, tolerance_s, used, scratch, scratch + nt, stats);
    if (delays) memcpy(delays, scratch, (size_t)stats->hits * sizeof *delays);
    free(used);
    free(scratch);
    return CX_OK;
}

/* ---- tuning -------------------------------------------------------------------- */

static const float g_thresholds[] = {0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f, 0.95f};
static const int g_averages[] = {0, 250, 500, 750, 1000};
static const int g_min_counts[] = {1, 2, 3, 5};
static const int g_suppress[] = {500, 750, 1000, 1500};

/* The grid with defaults filled in and every value checked. */
static cx_status resolve_grid(const cx_detect_grid *in, cx_detect_grid *g, cx_error *err)
{
    cx_detect_grid z = {0};
    if (!in) in = &z;
#define PICK(field, count, dflt)                                                                   \
    do {                                                                                           \
        int use = in->field && in->count > 0;                                                      \
        g->field = use ? in->field : dflt;                                                         \
        g->count = use ? in->count : (int)(sizeof dflt / sizeof dflt[0]);                          \
        if (g->count > MAX_GRID_VALUES)                                                            \
            return cx_fail(err, CX_ERR_ARG, "detect tune: more than %d values of '%s'",            \
                           MAX_GRID_VALUES, #field);                                               \
    } while (0)
    PICK(threshold, n_threshold, g_thresholds);
    PICK(average_ms, n_average_ms, g_averages);
    PICK(min_count, n_min_count, g_min_counts);
    PICK(suppress_ms, n_suppress_ms, g_suppress);
#undef PICK
    cx_detect_config c;
    cx_detect_config_default(&c);
    cx_status s = CX_OK;
    for (int i = 0; i < g->n_threshold && !s; i++)
        c.threshold = g->threshold[i], s = cx_detect_config_validate(&c, err);
    cx_detect_config_default(&c);
    for (int i = 0; i < g->n_average_ms && !s; i++)
        c.average_ms = g->average_ms[i], s = cx_detect_config_validate(&c, err);
    cx_detect_config_default(&c);
    for (int i = 0; i < g->n_min_count && !s; i++)
        c.min_count = g->min_count[i], s = cx_detect_config_validate(&c, err);
    cx_detect_config_default(&c);
    for (int i = 0; i < g->n_suppress_ms && !s; i++)
        c.suppress_ms = g->suppress_ms[i], s = cx_detect_config_validate(&c, err);
    return s;
}

typedef struct {
    int valid;
    long index; /* position in grid order */
    cx_detect_stats st;
} candidate;

/* Ordering among settings that meet the false alarm limit. */
static int better_feasible(const candidate *a, const candidate *b)
{
    if (!b->valid) return 1;
    /* Words heard right minus wrong or repeated words while a keyword is spoken. */
    int net_a = a->st.hits - (a->st.false_alarms - a->st.outside);
    int net_b = b->st.hits - (b->st.false_alarms - b->st.outside);
    if (net_a != net_b) return net_a > net_b;
    if (a->st.hits != b->st.hits) return a->st.hits > b->st.hits;
    if (a->st.hits > 0 && a->st.median_delay != b->st.median_delay)
        return a->st.median_delay < b->st.median_delay;
    if (a->st.false_alarms != b->st.false_alarms) return a->st.false_alarms < b->st.false_alarms;
    return a->index < b->index;
}

/* Ordering among settings that do not. */
static int better_infeasible(const candidate *a, const candidate *b)
{
    if (!b->valid) return 1;
    if (a->st.outside != b->st.outside) return a->st.outside < b->st.outside;
    if (a->st.hits != b->st.hits) return a->st.hits > b->st.hits;
    if (a->st.hits > 0 && a->st.median_delay != b->st.median_delay)
        return a->st.median_delay < b->st.median_delay;
    return a->index < b->index;
}

/* Scratch of one tuning run. */
typedef struct {
    avg_out *outs;     /* [n_evals] averaged evaluations for one average_ms */
    cx_detection *evs; /* [n_evals] */
    unsigned char *used;
    double *delays, *sorted;
    avg_state avg;
} tune_ws;

static void tune_ws_free(tune_ws *w)
{
    free(w->outs);
    free(w->evs);
    free(w->used);
    free(w->delays);
    free(w->sorted);
    avg_release(&w->avg);
}

/* Replays the decisions of one (threshold, min_count, suppress) setting over
 * the averaged evaluations; returns the number of detections in w->evs. */
static int replay(const cx_detector *d, const tune_ws *w, size_t n_evals, float threshold,
                  int min_count, int suppress_ms, cx_detection *evs)
{
    decide_params p = {threshold, min_count, ms_frames(suppress_ms, d->rate, d->hop)};
    decide_state s = {0, 0};
    int n = 0;
    for (size_t i = 0; i < n_evals; i++)
        if (decide(&p, &s, d->rec_frame[i], &w->outs[i]))
            make_event(d, d->rec_frame[i], &w->outs[i], &evs[n++]);
    return n;
}

static cx_status check_tune_args(const cx_detect_truth *truth, int n_truth, const float *samples,
                                 double hours, double max_fa, double max_delay, double tol,
                                 cx_error *err)
{
    if (!samples) return cx_fail(err, CX_ERR_ARG, "detect tune: no samples");
    if (!isfinite(hours) || hours <= 0)
        return cx_fail(err, CX_ERR_ARG, "detect tune: background hours %g, expected > 0", hours);
    if (!isfinite(max_fa) || max_fa < 0)
        return cx_fail(err, CX_ERR_ARG, "detect tune: false alarms per hour %g, expected >= 0",
                       max_fa);
    if (isnan(max_delay))
        return cx_fail(err, CX_ERR_ARG, "detect tune: median delay limit is not a number");
    if (!isfinite(tol) || tol < 0)
        return cx_fail(err, CX_ERR_ARG, "detect tune: tolerance %g s, expected >= 0", tol);
    return check_truth(truth, n_truth, err);
}

cx_status cx_detect_tune(cx_model *m, const cx_feat_config *fc, const cx_detect_config *base,
                         const cx_detect_grid *grid, const float *samples, size_t n,
                         const cx_detect_truth *truth, int n_truth, double background_hours,
                         double max_fa_per_hour, double max_median_delay_s, double tolerance_s,
                         cx_detect_tune_result *res, cx_error *err)
{
    if (!m || !fc || !res) return cx_fail(err, CX_ERR_ARG, "detect tune: NULL argument");
    cx_status s = check_tune_args(truth, n_truth, samples, background_hours, max_fa_per_hour,
                                  max_median_delay_s, tolerance_s, err);
    cx_detect_grid g = {0};
    if (s || (s = resolve_grid(grid, &g, err))) return s;
    cx_detect_config cfg;
    if (base)
        cfg = *base;
    else
        cx_detect_config_default(&cfg);
    /* The detector only records: its own averaging settings do not matter. */
    cx_detect_config rec_cfg = cfg;
    rec_cfg.average_ms = 0;
    rec_cfg.min_count = 1;
    cx_detector *d;
    if ((s = cx_detector_create(&d, m, fc, &rec_cfg, err))) return s;
    cfg.window_frames = d->T;

    size_t frames = cx_feat_num_frames(fc, n);
    size_t n_evals = frames >= (size_t)d->T ? (frames - d->T) / cfg.every_frames + 1 : 0;
    size_t nt = (size_t)n_truth + 1, ne = n_evals + 1;
    int64_t max_cap = 1;
    for (int i = 0; i < g.n_average_ms; i++) {
        int64_t c = window_evals(ms_frames(g.average_ms[i], d->rate, d->hop), cfg.every_frames);
        if (c > max_cap) max_cap = c;
    }
    if (max_cap > (int64_t)ne) max_cap = (int64_t)ne;
    tune_ws w = {0};
    d->rec_cap = n_evals;
    d->rec = malloc(ne * d->K * sizeof *d->rec);
    d->rec_frame = malloc(ne * sizeof *d->rec_frame);
    w.outs = malloc(ne * sizeof *w.outs);
    w.evs = malloc(ne * sizeof *w.evs);
    w.used = malloc(nt);
    w.delays = malloc(nt * sizeof *w.delays);
    w.sorted = malloc(nt * sizeof *w.sorted);
    if (!d->rec || !d->rec_frame || !w.outs || !w.evs || !w.used || !w.delays || !w.sorted ||
        avg_alloc(&w.avg, d->K, (int)max_cap)) {
        tune_ws_free(&w);
        cx_detector_free(d);
        return cx_fail(err, CX_ERR_NOMEM, "detect tune: out of memory for %zu evaluations",
                       n_evals);
    }
    cx_detector_push(d, samples, n, NULL, 0);

    /* best_fast meets both limits, best_ok the false alarm limit only. */
    candidate best_fast = {0}, best_ok = {0}, best_no = {0};
    cx_detect_config cfg_fast = cfg, cfg_ok = cfg, cfg_no = cfg;
    float *avg = d->avg; /* scratch for the class averages */
    int tried = 0;
    for (int ai = 0; ai < g.n_average_ms; ai++) {
        int64_t span = ms_frames(g.average_ms[ai], d->rate, d->hop);
        avg_clear(&w.avg, span);
        for (size_t i = 0; i < d->rec_n; i++)
            average_push(&w.avg, d->background, d->rec_frame[i], d->rec + i * d->K, avg,
                         &w.outs[i]);
        for (int ti = 0; ti < g.n_threshold; ti++)
            for (int mi = 0; mi < g.n_min_count; mi++) {
                /* A count the window cannot hold never fires (and a detector refuses it). */
                if (g.min_count[mi] > window_evals(span, cfg.every_frames)) continue;
                for (int si = 0; si < g.n_suppress_ms; si++) {
                    tried++;
                    int ne_found = replay(d, &w, d->rec_n, g.threshold[ti], g.min_count[mi],
                                          g.suppress_ms[si], w.evs);
                    candidate c = {1, 0, {0}};
                    c.index =
                        (((long)ti * g.n_average_ms + ai) * g.n_min_count + mi) * g.n_suppress_ms +
                        si;
                    score(w.evs, ne_found, truth, n_truth, tolerance_s, w.used, w.delays, w.sorted,
                          &c.st);
                    cx_detect_config here = cfg;
                    here.threshold = g.threshold[ti];
                    here.average_ms = g.average_ms[ai];
                    here.min_count = g.min_count[mi];
                    here.suppress_ms = g.suppress_ms[si];
                    /* The limit is on detections in the background audio; a wrong
                     * word while a keyword is spoken counts in the ordering. */
                    if (c.st.outside / background_hours <= max_fa_per_hour) {
                        if (better_feasible(&c, &best_ok)) best_ok = c, cfg_ok = here;
                        int fast = max_median_delay_s == INFINITY ||
                                   (c.st.hits > 0 && c.st.median_delay <= max_median_delay_s);
                        if (fast && better_feasible(&c, &best_fast)) best_fast = c, cfg_fast = here;
                    } else if (better_infeasible(&c, &best_no)) {
                        best_no = c, cfg_no = here;
                    }
                }
            }
    }
    if (!tried) {
        tune_ws_free(&w);
        cx_detector_free(d);
        return cx_fail(err, CX_ERR_ARG,
                       "detect tune: every 'min_count' value is more than the evaluations any "
                       "'average_ms' value holds");
    }
    memset(res, 0, sizeof *res);
    res->feasible = best_ok.valid;
    res->fast = best_fast.valid;
    if (best_fast.valid) best_ok = best_fast, cfg_ok = cfg_fast;
    res->config = best_ok.valid ? cfg_ok : cfg_no;
    res->stats = best_ok.valid ? best_ok.st : best_no.st;
    res->fa_per_hour = res->stats.outside / background_hours;
    res->candidates = tried;
    res->evaluations = d->evaluations;
    tune_ws_free(&w);
    cx_detector_free(d);
    return CX_OK;
}
