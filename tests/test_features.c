/* Feature configuration (defaults, string form, validation) and the
 * streaming extractor: PyTorch reference values, streaming == whole-clip
 * bit for bit, frame counts, normalization, threads. */
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feat_internal.h"
#include "testutil.h"

#define SIGNAL_N 8000

static void test_defaults(void)
{
    cx_feat_config c;
    cx_feat_config_default(&c, 16000);
    CU_ASSERT_EQUAL(c.win_length, 400);
    CU_ASSERT_EQUAL(c.hop_length, 160);
    CU_ASSERT_EQUAL(c.n_fft, 512);
    CU_ASSERT_EQUAL(c.n_mels, 40);
    CU_ASSERT_EQUAL(c.fmin, 20.0f);
    CU_ASSERT_EQUAL(c.fmax, 8000.0f);
    CU_ASSERT_EQUAL(c.kind, CX_FEAT_LOGMEL);
    CU_ASSERT_EQUAL(c.n_mfcc, 13);
    CU_ASSERT_EQUAL(c.norm, CX_NORM_NONE);
    CU_ASSERT_EQUAL(cx_feat_num_features(&c), 40);
    c.kind = CX_FEAT_MFCC;
    CU_ASSERT_EQUAL(cx_feat_num_features(&c), 13);
    cx_feat_config_default(&c, 8000);
    CU_ASSERT(c.win_length == 200 && c.hop_length == 80 && c.n_fft == 256 && c.fmax == 4000.0f);
    cx_feat_config_default(&c, 44100);
    CU_ASSERT(c.win_length == 1103 && c.hop_length == 441 && c.n_fft == 2048);
    /* Defaults are valid at every rate, shrinking n_mels where needed. */
    int rates[] = {1000, 4000, 8000, 11025, 16000, 22050, 44100, 48000, 96000, 768000};
    for (size_t i = 0; i < sizeof rates / sizeof *rates; i++) {
        cx_error err;
        cx_feat_config_default(&c, rates[i]);
        CU_ASSERT_EQUAL(cx_feat_config_validate(&c, &err), CX_OK);
        if (rates[i] >= 8000) CU_ASSERT_EQUAL(c.n_mels, 40);
    }
}

static void test_num_frames(void)
{
    cx_feat_config c;
    cx_feat_config_default(&c, 16000);
    CU_ASSERT_EQUAL(cx_feat_num_frames(&c, 0), 0);
    CU_ASSERT_EQUAL(cx_feat_num_frames(&c, 399), 0);
    CU_ASSERT_EQUAL(cx_feat_num_frames(&c, 400), 1);
    CU_ASSERT_EQUAL(cx_feat_num_frames(&c, 559), 1);
    CU_ASSERT_EQUAL(cx_feat_num_frames(&c, 560), 2);
    CU_ASSERT_EQUAL(cx_feat_num_frames(&c, 16000), 98);
}

static int configs_equal(const cx_feat_config *a, const cx_feat_config *b)
{
    int same = a->sample_rate == b->sample_rate && a->win_length == b->win_length &&
               a->hop_length == b->hop_length && a->n_fft == b->n_fft && a->n_mels == b->n_mels &&
               a->fmin == b->fmin && a->fmax == b->fmax && a->kind == b->kind &&
               a->n_mfcc == b->n_mfcc && a->log_floor == b->log_floor && a->norm == b->norm;
    if (same && a->norm == CX_NORM_GLOBAL)
        for (int i = 0; i < cx_feat_num_features(a); i++)
            same &= a->mean[i] == b->mean[i] && a->std[i] == b->std[i];
    return same;
}

static void test_string_round_trip(void)
{
    cx_error err;
    cx_feat_config c, d;
    char buf[CX_FEAT_CONFIG_STRLEN], buf2[CX_FEAT_CONFIG_STRLEN];
    cx_feat_config_default(&c, 16000);
    CU_ASSERT_EQUAL_FATAL(cx_feat_config_to_string(&c, buf, sizeof buf, &err), CX_OK);
    CU_ASSERT_STRING_EQUAL(buf, "sample_rate=16000 win=400 hop=160 n_fft=512 n_mels=40 fmin=20 "
                                "fmax=8000 mel=htk kind=logmel n_mfcc=13 log_floor=1e-06 "
                                "norm=none");
    CU_ASSERT_EQUAL(cx_feat_config_parse(&d, buf, &err), CX_OK);
    CU_ASSERT(configs_equal(&c, &d));

    /* Awkward values, MFCC and global statistics survive bit for bit. */
    cx_rng rng;
    cx_rng_seed(&rng, 5);
    cx_feat_config_default(&c, 22050);
    c.kind = CX_FEAT_MFCC;
    c.n_mfcc = 20;
    c.n_mels = 64;
    c.fmin = 31.4159265f;
    c.fmax = 10000.1f;
    c.log_floor = 1.234567e-7f;
    c.norm = CX_NORM_GLOBAL;
    for (int i = 0; i < 20; i++) {
        c.mean[i] = 10.0f * (cx_rng_uniform(&rng) - 0.5f);
        c.std[i] = 0.01f + 5.0f * cx_rng_uniform(&rng);
    }
    CU_ASSERT_EQUAL_FATAL(cx_feat_config_to_string(&c, buf, sizeof buf, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(cx_feat_config_parse(&d, buf, &err), CX_OK);
    CU_ASSERT(configs_equal(&c, &d));
    CU_ASSERT_EQUAL(cx_feat_config_to_string(&d, buf2, sizeof buf2, &err), CX_OK);
    CU_ASSERT_STRING_EQUAL(buf, buf2);

    /* The longest string fits CX_FEAT_CONFIG_STRLEN; a short buffer fails. */
    c.n_mels = c.n_mfcc = CX_FEAT_MAX_MELS;
    c.n_fft = 8192;
    c.win_length = 8192;
    for (int i = 0; i < CX_FEAT_MAX_MELS; i++) {
        c.mean[i] = -1.23456789e-30f;
        c.std[i] = 1.23456789e-6f;
    }
    CU_ASSERT_EQUAL(cx_feat_config_to_string(&c, buf, sizeof buf, &err), CX_OK);
    CU_ASSERT_EQUAL(cx_feat_config_parse(&d, buf, &err), CX_OK);
    CU_ASSERT(configs_equal(&c, &d));
    CU_ASSERT_EQUAL(cx_feat_config_to_string(&c, buf, 100, &err), CX_ERR_ARG);
    CU_ASSERT_STRING_EQUAL(buf, "");
}

static void test_parse_partial(void)
{
    cx_error err;
    cx_feat_config c, d;
    CU_ASSERT_EQUAL(cx_feat_config_parse(&c, "  kind=mfcc\tn_mels=30 sample_rate=8000\n", &err),
                    CX_OK);
    cx_feat_config_default(&d, 8000);
    d.kind = CX_FEAT_MFCC;
    d.n_mels = 30;
    CU_ASSERT(configs_equal(&c, &d));
    CU_ASSERT_EQUAL(cx_feat_config_parse(&c, "", &err), CX_OK);
    cx_feat_config_default(&d, 16000);
    CU_ASSERT(configs_equal(&c, &d));
}

/* Each bad string must fail, name `field` in the message and leave the
 * configuration alone. */
static void expect_bad(const char *str, const char *field)
{
    cx_error err = {{0}};
    cx_feat_config c, keep;
    cx_feat_config_default(&c, 12345);
    keep = c;
    cx_status s = cx_feat_config_parse(&c, str, &err);
    CU_ASSERT_NOT_EQUAL(s, CX_OK);
    int named = strstr(err.msg, field) != NULL;
    CU_ASSERT(named);
    CU_ASSERT_EQUAL(memcmp(&c, &keep, sizeof c), 0);
    if (s == CX_OK || !named) fprintf(stderr, "\n  '%s' -> '%s'\n", str, err.msg);
}

static void test_parse_errors(void)
{
    expect_bad("sample_rate=50", "sample_rate");
    expect_bad("sample_rate=16k", "sample_rate");
    expect_bad("sample_rate=16000 sample_rate=16000", "sample_rate");
    expect_bad("win=-5", "win");
    expect_bad("win=4000000", "win");
    expect_bad("win=400.5", "win");
    expect_bad("hop=0", "hop");
    expect_bad("hop=500", "hop");
    expect_bad("n_fft=256", "n_fft");
    expect_bad("n_fft=1000000", "n_fft");
    expect_bad("n_mels=0", "n_mels");
    expect_bad("n_mels=1000", "n_mels");
    expect_bad("n_mels=200 win=64 hop=32 n_fft=64", "n_mels"); /* filters narrower than a bin */
    expect_bad("fmin=-1", "fmin");
    expect_bad("fmin=8000", "fmin");
    expect_bad("fmax=9000", "fmax");
    expect_bad("fmax=nan", "fmax");
    expect_bad("fmax=1e999", "fmax");
    expect_bad("fmin=20Hz", "fmin");
    expect_bad("mel=slaney", "mel");
    expect_bad("kind=spectrogram", "kind");
    expect_bad("kind=mfcc n_mfcc=41", "n_mfcc");
    expect_bad("n_mfcc=0", "n_mfcc");
    expect_bad("log_floor=0", "log_floor");
    expect_bad("log_floor=-1e-6", "log_floor");
    expect_bad("log_floor=2", "log_floor");
    expect_bad("norm=utterance", "norm");
    expect_bad("norm=global", "mean");
    expect_bad("n_mels=3 norm=global mean=1,2,3", "std");
    expect_bad("n_mels=3 norm=global mean=1,2 std=1,1,1", "mean");
    expect_bad("n_mels=3 norm=global mean=1,2,3 std=1,0,1", "std");
    expect_bad("n_mels=3 norm=global mean=1,nan,3 std=1,1,1", "mean");
    expect_bad("n_mels=3 norm=global mean=1,,3 std=1,1,1", "mean");
    expect_bad("n_mels=3 norm=global mean=1,2,3, std=1,1,1", "mean");
    expect_bad("n_mels=3 mean=1,2,3", "mean");
    expect_bad("frobnicate=1", "frobnicate");
    expect_bad("win", "win");
    expect_bad("=400", "''");
    cx_error err;
    cx_feat_config c;
    CU_ASSERT_EQUAL(cx_feat_config_parse(&c, NULL, &err), CX_ERR_ARG);
    /* An absurdly long field is rejected, not overrun. */
    size_t big = 3 * CX_FEAT_CONFIG_STRLEN;
    char *s = malloc(big + 1);
    memcpy(s, "mean=", 5);
    for (size_t i = 5; i < big; i++)
        s[i] = (i % 2) ? ',' : '1';
    s[big] = '\0';
    expect_bad(s, "longer");
    free(s);
}

/* The string uses '.' and ',' whatever locale the application chose. */
static void test_locale_independent(void)
{
    const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "de_DE"};
    const char *set = NULL;
    for (size_t i = 0; i < sizeof names / sizeof *names && !set; i++)
        set = setlocale(LC_NUMERIC, names[i]);
    if (!set) {
        printf("(no comma-decimal locale installed, skipped) ");
        return;
    }
    cx_error err;
    cx_feat_config c, d;
    char buf[CX_FEAT_CONFIG_STRLEN];
    cx_feat_config_default(&c, 16000);
    c.fmin = 12.5f;
    c.n_mels = 2;
    c.norm = CX_NORM_GLOBAL;
    c.mean[0] = 0.5f, c.mean[1] = -1.25f;
    c.std[0] = 2.5f, c.std[1] = 0.75f;
    CU_ASSERT_EQUAL(cx_feat_config_to_string(&c, buf, sizeof buf, &err), CX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "fmin=12.5 "));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "mean=0.5,-1.25 std=2.5,0.75"));
    CU_ASSERT_EQUAL(cx_feat_config_parse(&d, buf, &err), CX_OK);
    CU_ASSERT(configs_equal(&c, &d));
    setlocale(LC_NUMERIC, "C");
}

static void test_validate_and_create_reject(void)
{
    cx_error err;
    cx_feat_config c;
    cx_melspec *fx = (cx_melspec *)&c; /* must be reset to NULL on failure */
    cx_feat_config_default(&c, 16000);
    c.hop_length = 0;
    CU_ASSERT_EQUAL(cx_melspec_create(&fx, &c, &err), CX_ERR_ARG);
    CU_ASSERT_PTR_NULL(fx);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'hop'"));
    cx_feat_config_default(&c, 16000);
    c.kind = (cx_feat_kind)7;
    CU_ASSERT_EQUAL(cx_feat_config_validate(&c, &err), CX_ERR_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'kind'"));
    char buf[64];
    CU_ASSERT_EQUAL(cx_feat_config_to_string(&c, buf, sizeof buf, &err), CX_ERR_ARG);
}

/* ---- against the PyTorch reference ---------------------------------------- */

static void set_case(cx_feat_config *c, char which, cx_feat_kind kind)
{
    if (which == 'a') {
        cx_feat_config_default(c, 16000);
    } else {
        cx_feat_config_default(c, 8000);
        c->win_length = 300;
        c->hop_length = 128;
        c->n_fft = 512;
        c->n_mels = 26;
        c->fmin = 50.0f;
        c->fmax = 3800.0f;
        c->log_floor = 1e-5f;
        c->n_mfcc = 20;
    }
    c->kind = kind;
}

static void check_reference(char which, cx_feat_kind kind, const char *fixture, double floor)
{
    static float x[SIGNAL_N];
    CU_ASSERT_EQUAL_FATAL(cx_read_fixture("feat_signal.f32", x, SIGNAL_N), 0);
    cx_feat_config c;
    set_case(&c, which, kind);
    cx_error err;
    cx_melspec *fx;
    CU_ASSERT_EQUAL_FATAL(cx_melspec_create(&fx, &c, &err), CX_OK);
    int nf = cx_feat_num_features(&c);
    int frames = (int)cx_feat_num_frames(&c, SIGNAL_N);
    float *got = malloc((size_t)frames * nf * sizeof *got);
    float *want = malloc((size_t)frames * nf * sizeof *want);
    CU_ASSERT_EQUAL(cx_read_fixture(fixture, want, (size_t)frames * nf), 0);
    CU_ASSERT_EQUAL(cx_melspec_compute(fx, x, SIGNAL_N, got, frames + 5), frames);
    double e = cx_max_rel_err(got, want, (size_t)frames * nf, floor);
    printf("(%s: %d x %d, max rel err %.2e) ", fixture, frames, nf, e);
    CU_ASSERT(e < 1e-4);
    free(got);
    free(want);
    cx_melspec_free(fx);
}

/* Log-mel values are compared relative to max(|v|, 1e-3). An MFCC is a sum of
 * n_mels terms of size up to ~8, so float32 rounding alone leaves ~1e-6
 * absolute error on coefficients near zero: floor 0.1 (1e-5 absolute). */
static void test_ref_logmel_a(void)
{
    check_reference('a', CX_FEAT_LOGMEL, "feat_logmel_a.f32", 1e-3);
}
static void test_ref_mfcc_a(void)
{
    check_reference('a', CX_FEAT_MFCC, "feat_mfcc_a.f32", 1e-1);
}
static void test_ref_logmel_b(void)
{
    check_reference('b', CX_FEAT_LOGMEL, "feat_logmel_b.f32", 1e-3);
}
static void test_ref_mfcc_b(void)
{
    check_reference('b', CX_FEAT_MFCC, "feat_mfcc_b.f32", 1e-1);
}

/* ---- streaming ------------------------------------------------------------- */

/* A few seconds of a sweep plus noise: long enough to wrap the ring buffer
 * (win + 1 s) several times. */
static float *long_signal(size_t n, int rate, uint64_t seed)
{
    float *x = malloc(n * sizeof *x);
    cx_rng rng;
    cx_rng_seed(&rng, seed);
    double phase = 0.0;
    for (size_t i = 0; i < n; i++) {
        double f = 100.0 + (rate * 0.45 - 100.0) * (double)i / (double)n;
        phase += 2.0 * M_PI * f / rate;
        x[i] = (float)(0.5 * sin(phase)) + 0.05f * (cx_rng_uniform(&rng) - 0.5f);
        if (i > n / 3 && i < n / 2) x[i] = 0.0f; /* silence hits the log floor */
    }
    return x;
}

/* Pushes x in random chunks (some empty, some larger than the free space),
 * popping after each, and compares with compute() bit for bit. */
static void check_streaming(const cx_feat_config *c, uint64_t seed)
{
    cx_error err;
    cx_melspec *fx;
    CU_ASSERT_EQUAL_FATAL(cx_melspec_create(&fx, c, &err), CX_OK);
    size_t n = (size_t)c->sample_rate * 3 + 777;
    float *x = long_signal(n, c->sample_rate, seed);
    int nf = cx_feat_num_features(c);
    int frames = (int)cx_feat_num_frames(c, n);
    float *whole = malloc((size_t)frames * nf * sizeof *whole);
    float *live = malloc((size_t)(frames + 1) * nf * sizeof *live);
    CU_ASSERT_EQUAL_FATAL(cx_melspec_compute(fx, x, n, whole, frames), frames);

    cx_rng rng;
    cx_rng_seed(&rng, seed);
    /* Junk from an earlier stream must not leak through a reset. */
    cx_melspec_push(fx, x + 1000, 5000);
    cx_melspec_reset(fx);
    int got = 0;
    size_t pos = 0;
    while (pos < n) {
        size_t chunk =
            cx_rng_below(&rng, 5) == 0 ? 0 : cx_rng_below(&rng, (uint32_t)c->sample_rate * 2);
        if (chunk > n - pos) chunk = n - pos;
        size_t took = cx_melspec_push(fx, x + pos, chunk);
        CU_ASSERT(took <= chunk);
        pos += took;
        while (got <= frames && cx_melspec_pop(fx, live + (size_t)got * nf))
            got++;
        CU_ASSERT(cx_melspec_space(fx) >= (size_t)c->sample_rate);
    }
    CU_ASSERT_EQUAL(got, frames);
    CU_ASSERT_EQUAL(cx_melspec_frames_done(fx), frames);
    CU_ASSERT_EQUAL(memcmp(whole, live, (size_t)frames * nf * sizeof *whole), 0);
    for (size_t i = 0; i < (size_t)frames * nf; i++)
        if (!isfinite(whole[i])) {
            CU_FAIL("non-finite feature");
            break;
        }
    /* A frame limit stops early. */
    CU_ASSERT_EQUAL(cx_melspec_compute(fx, x, n, live, 3), 3);
    CU_ASSERT_EQUAL(memcmp(whole, live, 3 * nf * sizeof *whole), 0);
    CU_ASSERT_EQUAL(cx_melspec_compute(fx, x, (size_t)c->win_length - 1, live, frames), 0);
    free(x);
    free(whole);
    free(live);
    cx_melspec_free(fx);
}

static void test_streaming_logmel(void)
{
    cx_feat_config c;
    cx_feat_config_default(&c, 16000);
    check_streaming(&c, 1);
}

static void test_streaming_mfcc_odd(void)
{
    cx_feat_config c;
    cx_feat_config_default(&c, 8000);
    c.kind = CX_FEAT_MFCC;
    c.win_length = 301;
    c.hop_length = 97;
    c.n_fft = 400; /* not a power of two */
    check_streaming(&c, 2);
    c.hop_length = c.win_length; /* no overlap */
    check_streaming(&c, 3);
}

static void test_global_norm(void)
{
    cx_error err;
    cx_feat_config c;
    cx_feat_config_default(&c, 16000);
    c.kind = CX_FEAT_MFCC;
    size_t n = 32000;
    float *x = long_signal(n, 16000, 9);
    int nf = cx_feat_num_features(&c), frames = (int)cx_feat_num_frames(&c, n);
    float *raw = malloc((size_t)frames * nf * sizeof *raw);
    float *norm = malloc((size_t)frames * nf * sizeof *norm);
    cx_melspec *fx;
    CU_ASSERT_EQUAL_FATAL(cx_melspec_create(&fx, &c, &err), CX_OK);
    CU_ASSERT_EQUAL(cx_melspec_compute(fx, x, n, raw, frames), frames);
    cx_melspec_free(fx);

    cx_feat_stats st;
    cx_feat_stats_init(&st, nf);
    CU_ASSERT_EQUAL(cx_feat_stats_apply(&st, &c, &err), CX_ERR_STATE);
    cx_feat_stats_add(&st, raw, (size_t)frames / 2);
    cx_feat_stats_add(&st, raw + (size_t)(frames / 2) * nf, (size_t)(frames - frames / 2));
    cx_feat_stats bad;
    cx_feat_stats_init(&bad, nf + 1);
    cx_feat_stats_add(&bad, raw, 1);
    CU_ASSERT_EQUAL(cx_feat_stats_apply(&bad, &c, &err), CX_ERR_ARG);
    CU_ASSERT_EQUAL_FATAL(cx_feat_stats_apply(&st, &c, &err), CX_OK);
    CU_ASSERT_EQUAL(c.norm, CX_NORM_GLOBAL);

    /* The statistics travel in the string and the extractor applies them. */
    char buf[CX_FEAT_CONFIG_STRLEN];
    cx_feat_config d;
    CU_ASSERT_EQUAL(cx_feat_config_to_string(&c, buf, sizeof buf, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(cx_feat_config_parse(&d, buf, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(cx_melspec_create(&fx, &d, &err), CX_OK);
    CU_ASSERT_EQUAL(cx_melspec_compute(fx, x, n, norm, frames), frames);
    double worst = 0.0;
    for (int i = 0; i < nf; i++) {
        double s = 0.0, ss = 0.0;
        for (int t = 0; t < frames; t++) {
            float v = norm[(size_t)t * nf + i];
            float expect = (raw[(size_t)t * nf + i] - d.mean[i]) / d.std[i];
            worst = fmax(worst, fabs(v - expect) / fmax(1.0, fabs(expect)));
            s += v;
            ss += (double)v * v;
        }
        CU_ASSERT_DOUBLE_EQUAL(s / frames, 0.0, 1e-3);
        CU_ASSERT_DOUBLE_EQUAL(ss / frames, 1.0, 1e-2);
    }
    CU_ASSERT(worst < 1e-5);
    cx_melspec_free(fx);
    free(x);
    free(raw);
    free(norm);
}

/* A pure tone peaks in the mel filter that weighs its FFT bin most. */
static void test_tone_peak(void)
{
    cx_error err;
    cx_feat_config c;
    cx_feat_config_default(&c, 16000);
    float *fb = malloc((size_t)c.n_mels * (c.n_fft / 2 + 1) * sizeof *fb);
    CU_ASSERT_EQUAL(cx_mel_filterbank(&c, fb), -1);
    float tones[] = {300.0f, 1000.0f, 3000.0f, 6000.0f};
    cx_melspec *fx;
    CU_ASSERT_EQUAL_FATAL(cx_melspec_create(&fx, &c, &err), CX_OK);
    float x[1600], frames[6 * 40];
    for (size_t t = 0; t < sizeof tones / sizeof *tones; t++) {
        for (int i = 0; i < 1600; i++)
            x[i] = 0.5f * sinf(2.0f * (float)M_PI * tones[t] * i / 16000.0f);
        int nfr = cx_melspec_compute(fx, x, 1600, frames, 6);
        CU_ASSERT_EQUAL(nfr, 6);
        int best = 0, want = 0;
        int bin = (int)lroundf(tones[t] * c.n_fft / 16000.0f);
        for (int m = 1; m < c.n_mels; m++) {
            if (frames[3 * 40 + m] > frames[3 * 40 + best]) best = m;
            if (fb[m * (c.n_fft / 2 + 1) + bin] > fb[want * (c.n_fft / 2 + 1) + bin]) want = m;
        }
        CU_ASSERT(abs(best - want) <= 1);
    }
    /* Silence gives log(log_floor) exactly. */
    memset(x, 0, sizeof x);
    cx_melspec_compute(fx, x, 400, frames, 1);
    CU_ASSERT_DOUBLE_EQUAL(frames[0], logf(1e-6f), 1e-5);
    free(fb);
    cx_melspec_free(fx);
}

/* Extractors created and used in several threads at once (FFTW's planner
 * is guarded) match one made alone. */
typedef struct {
    const float *x;
    float *out;
    int frames;
} job;

static void *worker(void *arg)
{
    job *j = arg;
    cx_feat_config c;
    cx_feat_config_default(&c, 16000);
    c.kind = CX_FEAT_MFCC;
    for (int rep = 0; rep < 5; rep++) {
        cx_melspec *fx;
        cx_error err;
        if (cx_melspec_create(&fx, &c, &err)) return NULL;
        j->frames = cx_melspec_compute(fx, j->x, SIGNAL_N, j->out, 48);
        cx_melspec_free(fx);
    }
    return NULL;
}

static void test_threads(void)
{
    enum { T = 4 };
    static float x[SIGNAL_N], out[T][48 * 13];
    CU_ASSERT_EQUAL_FATAL(cx_read_fixture("feat_signal.f32", x, SIGNAL_N), 0);
    pthread_t th[T];
    job jobs[T];
    for (int t = 0; t < T; t++) {
        jobs[t] = (job){x, out[t], -1};
        CU_ASSERT_EQUAL_FATAL(pthread_create(&th[t], NULL, worker, &jobs[t]), 0);
    }
    for (int t = 0; t < T; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < T; t++) {
        CU_ASSERT_EQUAL(jobs[t].frames, 48);
        CU_ASSERT_EQUAL(memcmp(out[0], out[t], sizeof out[0]), 0);
    }
}

/* Features do not depend on the BLAS thread setting (the extractor's small
 * products are fixed-order loops; OpenBLAS's sgemv split changes rounding). */
static void test_thread_setting_independent(void)
{
    static float x[SIGNAL_N], a[48 * 40], b[48 * 40];
    CU_ASSERT_EQUAL_FATAL(cx_read_fixture("feat_signal.f32", x, SIGNAL_N), 0);
    cx_error err;
    cx_feat_config c;
    cx_feat_config_default(&c, 16000);
    for (int kind = 0; kind < 2; kind++) {
        c.kind = kind ? CX_FEAT_MFCC : CX_FEAT_LOGMEL;
        cx_melspec *fx;
        CU_ASSERT_EQUAL_FATAL(cx_melspec_create(&fx, &c, &err), CX_OK);
        int before = cx_get_threads();
        cx_set_threads(1);
        CU_ASSERT_EQUAL(cx_melspec_compute(fx, x, SIGNAL_N, a, 48), 48);
        cx_set_threads(8);
        CU_ASSERT_EQUAL(cx_melspec_compute(fx, x, SIGNAL_N, b, 48), 48);
        cx_set_threads(before);
        CU_ASSERT_EQUAL(memcmp(a, b, sizeof a), 0);
        cx_melspec_free(fx);
    }
}

int main(void)
{
    static const cx_test tests[] = {
        {"defaults for a sample rate", test_defaults},
        {"frame count", test_num_frames},
        {"config string round trip", test_string_round_trip},
        {"config string with missing fields", test_parse_partial},
        {"config string errors name the field", test_parse_errors},
        {"config string ignores the locale", test_locale_independent},
        {"invalid configs rejected", test_validate_and_create_reject},
        {"log-mel matches PyTorch (16 kHz defaults)", test_ref_logmel_a},
        {"MFCC matches PyTorch (16 kHz defaults)", test_ref_mfcc_a},
        {"log-mel matches PyTorch (8 kHz, odd sizes)", test_ref_logmel_b},
        {"MFCC matches PyTorch (8 kHz, odd sizes)", test_ref_mfcc_b},
        {"streaming == compute, log-mel", test_streaming_logmel},
        {"streaming == compute, MFCC, odd sizes", test_streaming_mfcc_odd},
        {"global normalization", test_global_norm},
        {"tone peaks in its mel filter", test_tone_peak},
        {"extractors in parallel threads", test_threads},
        {"independent of the BLAS thread count", test_thread_setting_independent},
        {NULL, NULL},
    };
    return cx_test_main("features", tests);
}
