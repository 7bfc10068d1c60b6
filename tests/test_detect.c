/* Keyword detection (cortex/detect.h): configuration strings, the live
 * detector on synthetic tones with a hand-made classifier, chunking, resets,
 * scoring against ground truth, and tuning.
 *
 * The classifier is "input 30 40; mean; dense 4" with labels _silence_,
 * _unknown_, yes, no. Its weights make the logit of yes, no and _unknown_
 * follow the window mean of the log-mel band where a 1000, 2500 and 5000 Hz
 * tone lands, and leave _silence_ at 0: silence gives _silence_ a
 * probability near 1 (which must never fire), a steady loud tone gives its
 * class a probability near 1, and a quiet 1000 Hz tone gives yes about 0.6. */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cortex/detect.h"
#include "testutil.h"

#define RATE 16000
#define T_WIN 30
#define NMELS 40
#define LOUD 0.5f
#define QUIET 0.05f

enum { SIL, UNK, YES, NO, K };
static const char *const g_labels[K] = {"_silence_", "_unknown_", "yes", "no"};
static const double g_freq[K] = {0, 5000, 1000, 2500};

static cx_feat_config g_fc;

/* ---- signals and the hand-made model -------------------------------------- */

/* x[i] += amp sin(2 pi freq i / RATE) for i in [t0, t1) seconds. */
static void add_tone(float *x, size_t n, double t0, double t1, double freq, float amp)
{
    size_t a = (size_t)(t0 * RATE), b = (size_t)(t1 * RATE);
    if (b > n) b = n;
    for (size_t i = a; i < b; i++)
        x[i] += amp * (float)sin(2.0 * M_PI * freq * (double)i / RATE);
}

/* The band where a steady tone peaks and its log-mel level there. */
static void tone_level(double freq, float amp, int *band, float *level)
{
    cx_error err;
    cx_melspec *fx;
    size_t n = RATE / 2;
    float *x = calloc(n, sizeof *x), *fr = malloc(100 * NMELS * sizeof *fr);
    CU_ASSERT_EQUAL_FATAL(cx_melspec_create(&fx, &g_fc, &err), CX_OK);
    add_tone(x, n, 0, 1, freq, amp);
    int nf = cx_melspec_compute(fx, x, n, fr, 100);
    double mean[NMELS] = {0};
    for (int t = 0; t < nf; t++)
        for (int j = 0; j < NMELS; j++)
            mean[j] += fr[t * NMELS + j] / nf;
    int best = 0;
    for (int j = 1; j < NMELS; j++)
        if (mean[j] > mean[best]) best = j;
    *band = best;
    *level = (float)mean[best];
    cx_melspec_free(fx);
    free(x);
    free(fr);
}

/* Logit of class c = s (m[band_c] - c0) where m is the window mean; loud
 * tones give +8, the quiet yes tone ln 1.5 (p(yes) about 0.6). */
static cx_model *make_model(void)
{
    cx_error err;
    cx_model *m;
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&m, "input 30 40; mean; dense 4", NULL, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(cx_model_set_labels(m, K, g_labels, &err), CX_OK);
    float *w = cx_model_tensor(m, 0)->w, *b = cx_model_tensor(m, 1)->w;
    memset(w, 0, K * NMELS * sizeof *w);
    memset(b, 0, K * sizeof *b);
    int band;
    float loud, quiet;
    tone_level(g_freq[YES], LOUD, &band, &loud);
    tone_level(g_freq[YES], QUIET, &band, &quiet);
    const float zl = 8.0f, zq = logf(1.5f);
    float s = (zl - zq) / (loud - quiet), c0 = quiet - zq / s;
    for (int c = UNK; c < K; c++) {
        float lc;
        tone_level(g_freq[c], LOUD, &band, &lc);
        w[c * NMELS + band] = s;
        b[c] = -s * (c0 + (lc - loud)); /* the same +8 at full level for every tone */
    }
    return m;
}

typedef struct {
    double t0, t1;
    int cls;
    float amp;
} burst;

static float *make_signal(const burst *bs, int nb, double seconds, size_t *n)
{
    *n = (size_t)(seconds * RATE);
    float *x = calloc(*n, sizeof *x);
    for (int i = 0; i < nb; i++)
        add_tone(x, *n, bs[i].t0, bs[i].t1, g_freq[bs[i].cls], bs[i].amp);
    return x;
}

static cx_detect_config test_config(void)
{
    cx_detect_config c;
    cx_detect_config_default(&c);
    c.every_frames = 5;
    c.average_ms = 200;
    c.min_count = 3;
    c.threshold = 0.7f;
    c.suppress_ms = 750;
    return c;
}

/* ---- an independent reading of the specification -------------------------- */

/* Computes every frame of the whole signal, evaluates the model on windows
 * ending at T-1 + j every, and applies the rules of detect.h directly,
 * with the conditions in samples rather than frames. */
static int oracle(cx_model *m, const cx_detect_config *dc, const float *x, size_t n,
                  cx_detection *out, int max)
{
    cx_error err;
    cx_melspec *fx;
    CU_ASSERT_EQUAL_FATAL(cx_melspec_create(&fx, &g_fc, &err), CX_OK);
    int nf = (int)cx_feat_num_frames(&g_fc, n);
    float *fr = malloc(((size_t)nf + 1) * NMELS * sizeof *fr);
    CU_ASSERT_EQUAL_FATAL(cx_melspec_compute(fx, x, n, fr, nf), nf);
    int ne = nf >= T_WIN ? (nf - T_WIN) / dc->every_frames + 1 : 0;
    float *probs = malloc(((size_t)ne + 1) * K * sizeof *probs);
    int *at = malloc(((size_t)ne + 1) * sizeof *at);
    int found = 0, fired = 0, last = 0;
    const long hop = g_fc.hop_length;
    for (int i = 0; i < ne; i++) {
        int e = T_WIN - 1 + i * dc->every_frames;
        at[i] = e;
        cx_softmax(cx_model_forward(m, 1, fr + (size_t)(e - T_WIN + 1) * NMELS), 1, K,
                   probs + i * K);
        int count = 0, top = -1;
        float topp = 0;
        double sum[K] = {0};
        for (int j = 0; j <= i; j++) {
            if ((long)(e - at[j]) * hop * 1000 > (long)dc->average_ms * RATE) continue;
            count++;
            for (int c = 0; c < K; c++)
                sum[c] += probs[j * K + c];
        }
        for (int c = 0; c < K; c++) {
            float a = (float)(sum[c] / count);
            if (c != SIL && c != UNK && (top < 0 || a > topp)) top = c, topp = a;
        }
        if (count < dc->min_count || topp < dc->threshold) continue;
        if (fired && (long)(e - last) * hop * 1000 <= (long)dc->suppress_ms * RATE) continue;
        fired = 1;
        last = e;
        if (found < max) {
            out[found].label = top;
            out[found].word = g_labels[top];
            out[found].time = ((double)e * hop + g_fc.win_length) / RATE;
            out[found].confidence = topp;
        }
        found++;
    }
    free(fr);
    free(probs);
    free(at);
    cx_melspec_free(fx);
    return found;
}

static int same_events(const cx_detection *a, int na, const cx_detection *b, int nb)
{
    if (na != nb) return 0;
    for (int i = 0; i < na; i++)
        if (a[i].label != b[i].label || strcmp(a[i].word, b[i].word) || a[i].time != b[i].time ||
            a[i].confidence != b[i].confidence)
            return 0;
    return 1;
}

static void print_events(const char *what, const cx_detection *e, int n)
{
    printf("\n  %s:", what);
    for (int i = 0; i < n; i++)
        printf(" %s@%.2f(%.3f)", e[i].word, e[i].time, e[i].confidence);
}

/* yes, no, _unknown_ and yes again, loud, in silence. */
static const burst g_bursts[] = {
    {1.0, 1.6, YES, LOUD}, {2.5, 3.1, NO, LOUD}, {4.0, 4.6, UNK, LOUD}, {5.5, 6.1, YES, LOUD}};
#define NBURSTS 4
#define SECONDS 7.0

/* ---- configuration strings -------------------------------------------------- */

static void test_config_roundtrip(void)
{
    cx_error err;
    cx_detect_config c, d;
    char buf[CX_DETECT_CONFIG_STRLEN];
    cx_detect_config_default(&c);
    CU_ASSERT_EQUAL(cx_detect_config_to_string(&c, buf, sizeof buf, &err), CX_OK);
    CU_ASSERT_STRING_EQUAL(buf, "window_frames=0 every_frames=5 average_ms=500 threshold=0.7 "
                                "min_count=3 suppress_ms=750");
    c = (cx_detect_config){98, 3, 1234, 0.123456789f, 7, 0};
    CU_ASSERT_EQUAL(cx_detect_config_to_string(&c, buf, sizeof buf, &err), CX_OK);
    memset(&d, 0, sizeof d);
    CU_ASSERT_EQUAL(cx_detect_config_parse(&d, buf, &err), CX_OK);
    CU_ASSERT_EQUAL(memcmp(&c, &d, sizeof c), 0);
    /* missing fields take defaults, order and spacing are free */
    CU_ASSERT_EQUAL(cx_detect_config_parse(&d, "  suppress_ms=100\tthreshold=0.5 ", &err), CX_OK);
    cx_detect_config_default(&c);
    c.suppress_ms = 100;
    c.threshold = 0.5f;
    CU_ASSERT_EQUAL(memcmp(&c, &d, sizeof c), 0);
    CU_ASSERT_EQUAL(cx_detect_config_parse(&d, "", &err), CX_OK);
    cx_detect_config_default(&c);
    CU_ASSERT_EQUAL(memcmp(&c, &d, sizeof c), 0);
    /* too small a buffer */
    CU_ASSERT_NOT_EQUAL(cx_detect_config_to_string(&c, buf, 20, &err), CX_OK);
    CU_ASSERT_STRING_EQUAL(buf, "");
}

static void expect_reject(const char *str, const char *needle)
{
    cx_error err = {{0}};
    cx_detect_config c, keep;
    cx_detect_config_default(&c);
    c.threshold = 0.25f;
    keep = c;
    CU_ASSERT_NOT_EQUAL(cx_detect_config_parse(&c, str, &err), CX_OK);
    CU_ASSERT_EQUAL(memcmp(&c, &keep, sizeof c), 0);
    if (!strstr(err.msg, needle)) {
        printf("\n  '%s': message '%s' lacks '%s'", str, err.msg, needle);
        CU_FAIL("error message does not name the field");
    }
}

static void test_config_rejects(void)
{
    expect_reject("threshold=1.5", "'threshold'");
    expect_reject("threshold=-0.1", "'threshold'");
    expect_reject("threshold=nan", "'threshold'");
    expect_reject("threshold=0.5x", "'threshold'");
    expect_reject("every_frames=0", "'every_frames'");
    expect_reject("every_frames=5.5", "'every_frames'");
    expect_reject("average_ms=1e3", "'average_ms'");
    expect_reject("average_ms=60001", "'average_ms'");
    expect_reject("min_count=abc", "'min_count'");
    expect_reject("min_count=0", "'min_count'");
    expect_reject("suppress_ms=-1", "'suppress_ms'");
    expect_reject("window_frames=-1", "'window_frames'");
    expect_reject("window_frames=99999999999", "'window_frames'");
    expect_reject("threshold=0.5 threshold=0.6", "twice");
    expect_reject("frobnicate=1", "'frobnicate'");
    expect_reject("threshold", "key=value");
    expect_reject("threshold=", "'threshold'");
    expect_reject("threshold=0.500000000000000000000000000000000000000000000000000000000000000001",
                  "too long");
    cx_error err;
    cx_detect_config c;
    CU_ASSERT_NOT_EQUAL(cx_detect_config_parse(&c, NULL, &err), CX_OK);
    cx_detect_config_default(&c);
    c.min_count = 0;
    CU_ASSERT_NOT_EQUAL(cx_detect_config_to_string(&c, (char[256]){0}, 256, &err), CX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'min_count'"));
}

/* The string must not follow a locale whose decimal separator is a comma. */
static void test_config_locale(void)
{
    if (!setlocale(LC_NUMERIC, "de_DE.UTF-8") && !setlocale(LC_NUMERIC, "fr_FR.UTF-8")) {
        printf("\n  (no comma locale installed: only the C locale checked)");
        return;
    }
    cx_error err;
    cx_detect_config c, d;
    cx_detect_config_default(&c);
    c.threshold = 0.35f;
    char buf[CX_DETECT_CONFIG_STRLEN];
    CU_ASSERT_EQUAL(cx_detect_config_to_string(&c, buf, sizeof buf, &err), CX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "threshold=0.35 "));
    CU_ASSERT_EQUAL(cx_detect_config_parse(&d, buf, &err), CX_OK);
    CU_ASSERT_EQUAL(d.threshold, 0.35f);
    setlocale(LC_NUMERIC, "C");
}

static void test_config_from_model(void)
{
    cx_error err;
    cx_model *m = make_model();
    cx_detect_config c, d;
    CU_ASSERT_EQUAL(cx_detect_config_from_model(m, &c, &err), CX_OK);
    cx_detect_config_default(&d);
    CU_ASSERT_EQUAL(memcmp(&c, &d, sizeof c), 0);
    CU_ASSERT_EQUAL(cx_model_set_meta(m, CX_DETECT_META_KEY, "threshold=0.9 min_count=2", &err),
                    CX_OK);
    CU_ASSERT_EQUAL(cx_detect_config_from_model(m, &c, &err), CX_OK);
    CU_ASSERT(c.threshold == 0.9f && c.min_count == 2 && c.average_ms == 500);
    CU_ASSERT_EQUAL(cx_model_set_meta(m, CX_DETECT_META_KEY, "threshold=2", &err), CX_OK);
    CU_ASSERT_NOT_EQUAL(cx_detect_config_from_model(m, &c, &err), CX_OK);
    cx_model_free(m);
}

/* ---- the live detector -------------------------------------------------------- */

static void test_detects_words(void)
{
    cx_error err;
    cx_model *m = make_model();
    cx_detect_config dc = test_config();
    size_t n;
    float *x = make_signal(g_bursts, NBURSTS, SECONDS, &n);
    cx_detector *d;
    CU_ASSERT_EQUAL_FATAL(cx_detector_create(&d, m, &g_fc, &dc, &err), CX_OK);
    CU_ASSERT_EQUAL(cx_detector_config(d)->window_frames, T_WIN);
    cx_detection ev[16], ref[16];
    int ne = cx_detector_push(d, x, n, ev, 16);
    int nr = oracle(m, &dc, x, n, ref, 16);
    print_events("detector", ev, ne);
    CU_ASSERT(same_events(ev, ne, ref, nr));
    /* yes, no, yes: _unknown_ and _silence_ never fire */
    CU_ASSERT_EQUAL_FATAL(ne, 3);
    const int want[3] = {YES, NO, YES};
    const double start[3] = {1.0, 2.5, 5.5};
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL(ev[i].label, want[i]);
        CU_ASSERT_STRING_EQUAL(ev[i].word, g_labels[want[i]]);
        CU_ASSERT(ev[i].time > start[i] && ev[i].time < start[i] + 0.6);
        CU_ASSERT(ev[i].confidence >= 0.7f && ev[i].confidence <= 1.0f);
    }
    /* one evaluation per 5 frames once 30 exist */
    int64_t frames = (int64_t)cx_feat_num_frames(&g_fc, n);
    CU_ASSERT_EQUAL(cx_detector_evaluations(d), (frames - T_WIN) / 5 + 1);
    const float *sc = cx_detector_scores(d);
    double sum = 0;
    for (int c = 0; c < K; c++)
        sum += sc[c];
    CU_ASSERT_DOUBLE_EQUAL(sum, 1.0, 1e-5);
    CU_ASSERT(sc[SIL] > 0.99f); /* the stream ends in silence */
    cx_detector_free(d);
    cx_model_free(m);
    free(x);
}

/* Chunks of 1 sample, of random sizes, and the whole stream give the same
 * events; a reset starts the same stream over. */
static void test_chunking_and_reset(void)
{
    cx_error err;
    cx_model *m = make_model();
    cx_detect_config dc = test_config();
    size_t n;
    float *x = make_signal(g_bursts, NBURSTS, SECONDS, &n);
    cx_detector *d;
    CU_ASSERT_EQUAL_FATAL(cx_detector_create(&d, m, &g_fc, &dc, &err), CX_OK);
    cx_detection all[16], one[16], rnd[16], again[16];
    int n_all = cx_detector_push(d, x, n, all, 16);
    int64_t evals = cx_detector_evaluations(d);
    cx_detector_reset(d);
    int n_one = 0;
    for (size_t i = 0; i < n; i++) {
        int k = cx_detector_push(d, x + i, 1, one + n_one, 16 - n_one);
        CU_ASSERT(k >= 0 && k <= 1);
        n_one += k;
    }
    cx_detector_reset(d);
    cx_rng rng;
    cx_rng_seed(&rng, 42);
    int n_rnd = 0;
    for (size_t i = 0; i < n;) {
        size_t k = 1 + cx_rng_below(&rng, 40000);
        if (k > n - i) k = n - i;
        n_rnd += cx_detector_push(d, x + i, k, rnd + n_rnd, 16 - n_rnd);
        i += k;
    }
    cx_detector_reset(d);
    int n_again = cx_detector_push(d, x, n, again, 16);
    CU_ASSERT_EQUAL(n_all, 3);
    CU_ASSERT(same_events(all, n_all, one, n_one));
    CU_ASSERT(same_events(all, n_all, rnd, n_rnd));
    CU_ASSERT(same_events(all, n_all, again, n_again));
    CU_ASSERT_EQUAL(cx_detector_evaluations(d), 4 * evals);
    /* more detections than room: counted, only max_events stored */
    cx_detector_reset(d);
    cx_detection few[2];
    few[1].label = -7;
    CU_ASSERT_EQUAL(cx_detector_push(d, x, n, few, 1), 3);
    CU_ASSERT_EQUAL(few[0].label, all[0].label);
    CU_ASSERT_EQUAL(few[1].label, -7);
    CU_ASSERT_EQUAL(cx_detector_push(d, NULL, 0, NULL, 0), 0);
    CU_ASSERT_EQUAL(cx_detector_push(d, NULL, 5, NULL, 0), -1);
    CU_ASSERT_EQUAL(cx_detector_push(d, x, 5, NULL, 3), -1);
    CU_ASSERT_EQUAL(cx_detector_push(NULL, x, 5, NULL, 0), -1);
    cx_detector_free(d);
    cx_model_free(m);
    free(x);
}

/* A word held for 3 s fires again after each suppression period, exactly
 * every 0.8 s (the first evaluation more than 750 ms later); a long
 * suppression lets it fire once. */
static void test_suppression(void)
{
    cx_error err;
    cx_model *m = make_model();
    const burst held[1] = {{1.0, 4.0, YES, LOUD}};
    size_t n;
    float *x = make_signal(held, 1, 5.0, &n);
    cx_detect_config dc = test_config();
    cx_detector *d;
    CU_ASSERT_EQUAL_FATAL(cx_detector_create(&d, m, &g_fc, &dc, &err), CX_OK);
    cx_detection ev[16], ref[16];
    int ne = cx_detector_push(d, x, n, ev, 16);
    print_events("held yes, 750 ms", ev, ne);
    CU_ASSERT(same_events(ev, ne, ref, oracle(m, &dc, x, n, ref, 16)));
    CU_ASSERT(ne >= 3);
    for (int i = 1; i < ne; i++)
        CU_ASSERT_DOUBLE_EQUAL(ev[i].time - ev[i - 1].time, 0.8, 1e-9);
    cx_detector_free(d);
    dc.suppress_ms = 5000;
    CU_ASSERT_EQUAL_FATAL(cx_detector_create(&d, m, &g_fc, &dc, &err), CX_OK);
    CU_ASSERT_EQUAL(cx_detector_push(d, x, n, ev, 16), 1);
    cx_detector_free(d);
    /* suppression holds across words: no right after yes is not reported */
    const burst pair[2] = {{1.0, 1.6, YES, LOUD}, {1.6, 2.2, NO, LOUD}};
    free(x);
    x = make_signal(pair, 2, 3.0, &n);
    dc.suppress_ms = 2000;
    CU_ASSERT_EQUAL_FATAL(cx_detector_create(&d, m, &g_fc, &dc, &err), CX_OK);
    ne = cx_detector_push(d, x, n, ev, 16);
    CU_ASSERT_EQUAL(ne, 1);
    CU_ASSERT_EQUAL(ev[0].label, YES);
    cx_detector_free(d);
    dc.suppress_ms = 0; /* every evaluation above the threshold fires */
    CU_ASSERT_EQUAL_FATAL(cx_detector_create(&d, m, &g_fc, &dc, &err), CX_OK);
    cx_detection many[64], many_ref[64];
    ne = cx_detector_push(d, x, n, many, 64);
    CU_ASSERT_FATAL(ne >= 2 && ne <= 64);
    CU_ASSERT(many[0].label == YES && many[ne - 1].label == NO);
    CU_ASSERT(same_events(many, ne, many_ref, oracle(m, &dc, x, n, many_ref, 64)));
    cx_detector_free(d);
    cx_model_free(m);
    free(x);
}

/* Nothing is evaluated before T frames; min_count delays the first decision. */
static void test_stream_start(void)
{
    cx_error err;
    cx_model *m = make_model();
    const burst early[1] = {{0.0, 1.0, YES, LOUD}};
    size_t n;
    float *x = make_signal(early, 1, 1.5, &n);
    cx_detect_config dc = test_config();
    dc.average_ms = 500;
    dc.min_count = 4;
    cx_detector *d;
    CU_ASSERT_EQUAL_FATAL(cx_detector_create(&d, m, &g_fc, &dc, &err), CX_OK);
    size_t before = (size_t)(T_WIN - 1) * g_fc.hop_length + g_fc.win_length - 1;
    CU_ASSERT_EQUAL(cx_detector_push(d, x, before, NULL, 0), 0);
    CU_ASSERT_EQUAL(cx_detector_evaluations(d), 0);
    cx_detection ev[4];
    CU_ASSERT_EQUAL(cx_detector_push(d, x + before, n - before, ev, 4), 1);
    /* evaluations at frames 29, 34, 39, 44: the fourth decides */
    double t4 = (44.0 * g_fc.hop_length + g_fc.win_length) / RATE;
    CU_ASSERT_DOUBLE_EQUAL(ev[0].time, t4, 1e-12);
    cx_detector_free(d);
    cx_model_free(m);
    free(x);
}

static void expect_create_error(cx_model *m, const cx_feat_config *fc, const cx_detect_config *dc,
                                const char *needle)
{
    cx_error err = {{0}};
    cx_detector *d = (cx_detector *)&err; /* must be reset to NULL */
    CU_ASSERT_NOT_EQUAL(cx_detector_create(&d, m, fc, dc, &err), CX_OK);
    CU_ASSERT_PTR_NULL(d);
    if (!strstr(err.msg, needle)) {
        printf("\n  message '%s' lacks '%s'", err.msg, needle);
        CU_FAIL("error message does not name the problem");
    }
}

static void test_create_errors(void)
{
    cx_error err;
    cx_model *m = make_model(), *other;
    cx_detect_config dc = test_config();
    dc.window_frames = 20;
    expect_create_error(m, &g_fc, &dc, "'window_frames'");
    dc = test_config();
    dc.min_count = 6; /* 200 ms hold evaluations at 0, 5, 10, 15, 20 frames */
    expect_create_error(m, &g_fc, &dc, "'min_count'");
    dc.min_count = 5;
    cx_detector *d;
    CU_ASSERT_EQUAL(cx_detector_create(&d, m, &g_fc, &dc, &err), CX_OK);
    cx_detector_free(d);
    dc = test_config();
    dc.threshold = 2.0f;
    expect_create_error(m, &g_fc, &dc, "'threshold'");
    cx_feat_config fc = g_fc;
    fc.n_mels = 0;
    expect_create_error(m, &fc, NULL, "'n_mels'");
    fc = g_fc;
    fc.kind = CX_FEAT_MFCC;
    expect_create_error(m, &fc, NULL, "13 features");
    expect_create_error(NULL, &g_fc, NULL, "NULL");

    CU_ASSERT_EQUAL_FATAL(cx_model_create(&other, "input 30 40; conv1d 4 1", NULL, &err), CX_OK);
    CU_ASSERT_EQUAL(cx_model_set_labels(other, K, g_labels, &err), CX_OK);
    expect_create_error(other, &g_fc, NULL, "class scores");
    cx_model_free(other);
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&other, "input 30 40; mean; dense 4", NULL, &err), CX_OK);
    expect_create_error(other, &g_fc, NULL, "labels");
    CU_ASSERT_EQUAL(cx_model_set_labels(other, 3, g_labels, &err), CX_OK);
    expect_create_error(other, &g_fc, NULL, "3 labels for 4 outputs");
    const char *bg[4] = {"_silence_", "_unknown_", "_unknown_", "_silence_"};
    CU_ASSERT_EQUAL(cx_model_set_labels(other, 4, bg, &err), CX_OK);
    expect_create_error(other, &g_fc, NULL, "nothing can fire");
    cx_model_free(other);
    cx_model_free(m);
}

/* ---- scoring ----------------------------------------------------------------------- */

static cx_detection ev_at(const char *word, double t)
{
    return (cx_detection){0, word, t, 1.0f};
}

static void test_score(void)
{
    cx_error err;
    const cx_detect_truth truth[3] = {{"yes", 1.0, 1.5}, {"no", 2.0, 2.5}, {"yes", 3.0, 3.5}};
    const cx_detection ev[6] = {
        ev_at("yes", 1.25), /* hit, delay -0.25 */
        ev_at("yes", 1.5),  /* the same occurrence again: false alarm */
        ev_at("no", 1.625), /* wrong word, outside every occurrence: false alarm */
        ev_at("yes", 2.25), /* wrong word inside "no": false alarm */
        ev_at("no", 2.75),  /* hit at exactly end + tolerance, delay 0.25 */
        ev_at("yes", 4.0),  /* too late: false alarm */
    };
    cx_detect_stats st;
    double delays[3];
    CU_ASSERT_EQUAL_FATAL(cx_detect_score(ev, 6, truth, 3, 0.25, &st, delays, &err), CX_OK);
    CU_ASSERT_EQUAL(st.hits, 2);
    CU_ASSERT_EQUAL(st.misses, 1);
    CU_ASSERT_EQUAL(st.false_alarms, 4);
    CU_ASSERT_EQUAL(st.outside, 1); /* only the late "yes" is in no occurrence's span */
    CU_ASSERT_DOUBLE_EQUAL(delays[0], -0.25, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(delays[1], 0.25, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(st.median_delay, 0.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(st.mean_delay, 0.0, 1e-12);
    /* tolerance 0: the late "no" is a false alarm */
    CU_ASSERT_EQUAL(cx_detect_score(ev, 6, truth, 3, 0.0, &st, NULL, &err), CX_OK);
    CU_ASSERT(st.hits == 1 && st.misses == 2 && st.false_alarms == 5 && st.outside == 3);
    CU_ASSERT_DOUBLE_EQUAL(st.median_delay, -0.25, 1e-12);
    /* nothing detected */
    CU_ASSERT_EQUAL(cx_detect_score(NULL, 0, truth, 3, 0.5, &st, NULL, &err), CX_OK);
    CU_ASSERT(st.hits == 0 && st.misses == 3 && st.false_alarms == 0 && isnan(st.median_delay));
    /* nothing to detect */
    CU_ASSERT_EQUAL(cx_detect_score(ev, 6, NULL, 0, 0.5, &st, NULL, &err), CX_OK);
    CU_ASSERT(st.hits == 0 && st.misses == 0 && st.false_alarms == 6 && st.outside == 6);
    /* overlapping occurrences of one word: each detection takes the earliest free one;
     * an odd number of hits gives the middle delay */
    const cx_detect_truth over[3] = {{"yes", 0.0, 2.0}, {"yes", 0.5, 1.0}, {"yes", 0.75, 3.0}};
    const cx_detection two[3] = {ev_at("yes", 0.8), ev_at("yes", 0.9), ev_at("yes", 2.5)};
    CU_ASSERT_EQUAL(cx_detect_score(two, 3, over, 3, 0.0, &st, delays, &err), CX_OK);
    CU_ASSERT(st.hits == 3 && st.false_alarms == 0);
    CU_ASSERT_DOUBLE_EQUAL(delays[0], 0.8 - 2.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(delays[1], 0.9 - 1.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(delays[2], 2.5 - 3.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(st.median_delay, -0.5, 1e-12);
}

static void test_score_rejects(void)
{
    cx_error err;
    cx_detect_stats st;
    const cx_detect_truth unsorted[2] = {{"yes", 2.0, 2.5}, {"no", 1.0, 1.5}};
    const cx_detect_truth reversed[1] = {{"yes", 2.0, 1.5}};
    const cx_detect_truth noword[1] = {{NULL, 1.0, 1.5}};
    const cx_detect_truth ok[1] = {{"yes", 1.0, 1.5}};
    const cx_detection late_first[2] = {ev_at("yes", 2.0), ev_at("yes", 1.0)};
    const cx_detection nan_time[1] = {ev_at("yes", NAN)};
    CU_ASSERT_NOT_EQUAL(cx_detect_score(NULL, 0, unsorted, 2, 0.1, &st, NULL, &err), CX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "truth 1"));
    CU_ASSERT_NOT_EQUAL(cx_detect_score(NULL, 0, reversed, 1, 0.1, &st, NULL, &err), CX_OK);
    CU_ASSERT_NOT_EQUAL(cx_detect_score(NULL, 0, noword, 1, 0.1, &st, NULL, &err), CX_OK);
    CU_ASSERT_NOT_EQUAL(cx_detect_score(late_first, 2, ok, 1, 0.1, &st, NULL, &err), CX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "detection 1"));
    CU_ASSERT_NOT_EQUAL(cx_detect_score(nan_time, 1, ok, 1, 0.1, &st, NULL, &err), CX_OK);
    CU_ASSERT_NOT_EQUAL(cx_detect_score(NULL, 0, ok, 1, -1.0, &st, NULL, &err), CX_OK);
    CU_ASSERT_NOT_EQUAL(cx_detect_score(NULL, 0, ok, 1, NAN, &st, NULL, &err), CX_OK);
    CU_ASSERT_NOT_EQUAL(cx_detect_score(NULL, 1, ok, 1, 0.1, &st, NULL, &err), CX_OK);
    CU_ASSERT_NOT_EQUAL(cx_detect_score(NULL, 0, ok, 1, 0.1, NULL, NULL, &err), CX_OK);
}

/* ---- tuning ------------------------------------------------------------------------ */

/* Three loud yes (the truth) and two quiet 1000 Hz tones that are not words
 * but reach p(yes) of about 0.6: at a threshold of 0.5 or 0.6 they are false
 * alarms, so with no false alarm allowed the tuner must go above them
 * without losing a real word. */
static void test_tune(void)
{
    cx_error err;
    cx_model *m = make_model();
    const burst bs[5] = {{1.0, 1.6, YES, LOUD},
                         {2.5, 3.5, YES, QUIET},
                         {4.5, 5.1, YES, LOUD},
                         {6.0, 7.0, YES, QUIET},
                         {8.0, 8.6, YES, LOUD}};
    const cx_detect_truth truth[3] = {{"yes", 1.0, 1.6}, {"yes", 4.5, 5.1}, {"yes", 8.0, 8.6}};
    size_t n;
    float *x = make_signal(bs, 5, 9.5, &n);
    const float th[4] = {0.5f, 0.6f, 0.7f, 0.8f};
    const int avg[2] = {100, 300}, mc[2] = {1, 3}, sup[2] = {500, 1000};
    cx_detect_grid grid = {th, 4, avg, 2, mc, 2, sup, 2};
    cx_detect_config base = test_config();
    double hours = (9.5 - 1.8) / 3600.0;
    cx_detect_tune_result res;
    CU_ASSERT_EQUAL_FATAL(cx_detect_tune(m, &g_fc, &base, &grid, x, n, truth, 3, hours, 0.0,
                                         INFINITY, 0.5, &res, &err),
                          CX_OK);
    char buf[CX_DETECT_CONFIG_STRLEN];
    cx_detect_config_to_string(&res.config, buf, sizeof buf, &err);
    printf("\n  tuned: %s: %d hits, %d false alarms, median delay %.3f s, %d settings, %lld "
           "evaluations",
           buf, res.stats.hits, res.stats.false_alarms, res.stats.median_delay, res.candidates,
           (long long)res.evaluations);
    CU_ASSERT_EQUAL(res.feasible, 1);
    CU_ASSERT_EQUAL(res.stats.hits, 3);
    CU_ASSERT_EQUAL(res.stats.false_alarms, 0);
    CU_ASSERT(res.config.threshold >= 0.7f);
    CU_ASSERT_EQUAL(res.config.window_frames, T_WIN);
    CU_ASSERT_EQUAL(res.config.every_frames, base.every_frames);
    CU_ASSERT_EQUAL(res.candidates, 32);
    int64_t frames = (int64_t)cx_feat_num_frames(&g_fc, n);
    CU_ASSERT_EQUAL(res.evaluations, (frames - T_WIN) / base.every_frames + 1);
    CU_ASSERT_EQUAL(res.fast, 1);

    /* a median delay limit: one every setting meets changes nothing; one no
     * setting meets falls back to the same choice, with fast = 0; one just
     * under the choice's delay gives a setting within it or that fallback */
    cx_detect_tune_result lim;
    CU_ASSERT_EQUAL(
        cx_detect_tune(m, &g_fc, &base, &grid, x, n, truth, 3, hours, 0.0, 10.0, 0.5, &lim, &err),
        CX_OK);
    CU_ASSERT(lim.fast == 1 && !memcmp(&lim.config, &res.config, sizeof lim.config));
    CU_ASSERT_EQUAL(
        cx_detect_tune(m, &g_fc, &base, &grid, x, n, truth, 3, hours, 0.0, -10.0, 0.5, &lim, &err),
        CX_OK);
    CU_ASSERT(lim.fast == 0 && lim.feasible == 1);
    CU_ASSERT(!memcmp(&lim.config, &res.config, sizeof lim.config));
    double under = res.stats.median_delay - 0.001;
    CU_ASSERT_EQUAL(
        cx_detect_tune(m, &g_fc, &base, &grid, x, n, truth, 3, hours, 0.0, under, 0.5, &lim, &err),
        CX_OK);
    printf("; with a median delay limit of %.3f s: %s, %d hits, median delay %.3f s", under,
           lim.fast ? "met" : "not met", lim.stats.hits, lim.stats.median_delay);
    CU_ASSERT(lim.fast ? lim.stats.hits > 0 && lim.stats.median_delay <= under
                       : !memcmp(&lim.config, &res.config, sizeof lim.config));
    CU_ASSERT_NOT_EQUAL(
        cx_detect_tune(m, &g_fc, &base, &grid, x, n, truth, 3, hours, 0.0, NAN, 0.5, &lim, &err),
        CX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "median delay"));

    /* a live detector with the chosen setting scores exactly the same */
    cx_detector *d;
    CU_ASSERT_EQUAL_FATAL(cx_detector_create(&d, m, &g_fc, &res.config, &err), CX_OK);
    cx_detection ev[32];
    int ne = cx_detector_push(d, x, n, ev, 32);
    cx_detect_stats st;
    CU_ASSERT_EQUAL(cx_detect_score(ev, ne, truth, 3, 0.5, &st, NULL, &err), CX_OK);
    CU_ASSERT(st.hits == res.stats.hits && st.false_alarms == res.stats.false_alarms &&
              st.median_delay == res.stats.median_delay);
    cx_detector_free(d);

    /* the quiet tones do fire at 0.5: the case really has a false alarm to remove */
    base.threshold = 0.5f;
    base.average_ms = 100;
    base.min_count = 1;
    CU_ASSERT_EQUAL_FATAL(cx_detector_create(&d, m, &g_fc, &base, &err), CX_OK);
    ne = cx_detector_push(d, x, n, ev, 32);
    CU_ASSERT_EQUAL(cx_detect_score(ev, ne, truth, 3, 0.5, &st, NULL, &err), CX_OK);
    printf("; at threshold 0.5: %d hits, %d false alarms", st.hits, st.false_alarms);
    CU_ASSERT(st.false_alarms >= 2);
    cx_detector_free(d);

    /* only low thresholds: nothing meets the limit, the fewest false alarms wins */
    const float low[1] = {0.5f};
    grid.threshold = low;
    grid.n_threshold = 1;
    CU_ASSERT_EQUAL(cx_detect_tune(m, &g_fc, &base, &grid, x, n, truth, 3, hours, 0.0, INFINITY,
                                   0.5, &res, &err),
                    CX_OK);
    CU_ASSERT_EQUAL(res.feasible, 0);
    CU_ASSERT(res.stats.false_alarms > 0);
    CU_ASSERT(res.fa_per_hour > 0.0);

    /* one quiet tone is a real (soft) "yes", two are said while "no" is
     * spoken: 0.5 finds one more word but fires two wrong ones, so the tuner
     * must still go above the tones */
    const burst bs2[5] = {{1.0, 1.6, YES, LOUD},
                          {2.5, 3.5, YES, QUIET},
                          {4.5, 5.1, YES, LOUD},
                          {6.0, 7.0, YES, QUIET},
                          {8.0, 9.0, YES, QUIET}};
    const cx_detect_truth with_no[5] = {{"yes", 1.0, 1.6},
                                        {"yes", 2.5, 3.5},
                                        {"yes", 4.5, 5.1},
                                        {"no", 6.0, 7.0},
                                        {"no", 8.0, 9.0}};
    size_t n2;
    float *x2 = make_signal(bs2, 5, 9.5, &n2);
    grid.threshold = th;
    grid.n_threshold = 4;
    CU_ASSERT_EQUAL(cx_detect_tune(m, &g_fc, &base, &grid, x2, n2, with_no, 5, 1.7 / 3600, 0.0,
                                   INFINITY, 0.5, &res, &err),
                    CX_OK);
    printf("; with wrong words inside \"no\": threshold %.1f, %d hits, %d false alarms",
           res.config.threshold, res.stats.hits, res.stats.false_alarms);
    CU_ASSERT_EQUAL(res.feasible, 1);
    CU_ASSERT_EQUAL(res.stats.hits, 2);
    CU_ASSERT_EQUAL(res.stats.false_alarms, 0);
    CU_ASSERT(res.config.threshold >= 0.7f);
    free(x2);

    /* bad arguments */
    grid.threshold = low;
    grid.n_threshold = 1;
    CU_ASSERT_NOT_EQUAL(
        cx_detect_tune(m, &g_fc, &base, &grid, x, n, truth, 3, 0.0, 0.0, INFINITY, 0.5, &res, &err),
        CX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "hours"));
    const float bad[1] = {1.5f};
    grid.threshold = bad;
    CU_ASSERT_NOT_EQUAL(cx_detect_tune(m, &g_fc, &base, &grid, x, n, truth, 3, hours, 0.0, INFINITY,
                                       0.5, &res, &err),
                        CX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'threshold'"));
    const int never[1] = {50};
    cx_detect_grid g2 = {NULL, 0, avg, 2, never, 1, NULL, 0};
    CU_ASSERT_NOT_EQUAL(
        cx_detect_tune(m, &g_fc, &base, &g2, x, n, truth, 3, hours, 0.0, INFINITY, 0.5, &res, &err),
        CX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "min_count"));
    cx_model_free(m);
    free(x);
}

/* The default grid on a short stream (640 settings), and a stream shorter
 * than one window. */
static void test_tune_defaults(void)
{
    cx_error err;
    cx_model *m = make_model();
    size_t n;
    float *x = make_signal(g_bursts, NBURSTS, SECONDS, &n);
    const cx_detect_truth truth[3] = {{"yes", 1.0, 1.6}, {"no", 2.5, 3.1}, {"yes", 5.5, 6.1}};
    cx_detect_tune_result res;
    CU_ASSERT_EQUAL_FATAL(cx_detect_tune(m, &g_fc, NULL, NULL, x, n, truth, 3, 5.2 / 3600, 0.0,
                                         INFINITY, 0.5, &res, &err),
                          CX_OK);
    CU_ASSERT(res.candidates > 0 && res.candidates <= 640);
    CU_ASSERT_EQUAL(res.feasible, 1);
    CU_ASSERT_EQUAL(res.stats.hits, 3);
    CU_ASSERT_EQUAL(res.stats.false_alarms, 0);
    CU_ASSERT_EQUAL(cx_detect_tune(m, &g_fc, NULL, NULL, x, 1000, truth, 3, 1.0, 0.0, INFINITY, 0.5,
                                   &res, &err),
                    CX_OK);
    CU_ASSERT(res.evaluations == 0 && res.stats.hits == 0 && res.stats.misses == 3);
    cx_model_free(m);
    free(x);
}

int main(void)
{
    cx_set_threads(1);
    cx_feat_config_default(&g_fc, RATE);
    static const cx_test tests[] = {
        {"config string round trip", test_config_roundtrip},
        {"config strings rejected with the field named", test_config_rejects},
        {"config strings ignore the locale", test_config_locale},
        {"config from model metadata", test_config_from_model},
        {"detector finds the words at the right times", test_detects_words},
        {"chunking and reset do not change the events", test_chunking_and_reset},
        {"suppression", test_suppression},
        {"stream start: full window and minimum count", test_stream_start},
        {"detector creation errors", test_create_errors},
        {"scoring against ground truth", test_score},
        {"scoring rejects bad input", test_score_rejects},
        {"tuning removes a false alarm", test_tune},
        {"tuning with the default grid", test_tune_defaults},
        {NULL, NULL},
    };
    return cx_test_main("detect", tests);
}
