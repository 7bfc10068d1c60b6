/* Cost of live feature extraction: push one 10 ms hop, pop its frame.
 *
 * Reference: the real-time budget of 10 ms per hop; the ratio says how many
 * times faster than real time the extractor runs on one core. Also measured
 * in the same run: MFCC, the whole-clip path (cx_melspec_compute) and the
 * 44.1 kHz -> 16 kHz resampler per 10 ms of input.
 *
 * Usage: bench_features [seconds of audio per measurement, default 20]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cortex/cortex.h"

#define REPEATS 5

static float *make_signal(size_t n, int rate)
{
    float *x = malloc(n * sizeof *x);
    cx_rng rng;
    cx_rng_seed(&rng, 1);
    for (size_t i = 0; i < n; i++)
        x[i] = 0.3f * sinf(2.0f * 3.14159265f * 440.0f * (float)i / (float)rate) +
               0.05f * cx_rng_normal(&rng);
    return x;
}

/* Best of REPEATS: seconds per hop of push + pop. */
static double time_stream(cx_melspec *fx, const float *x, size_t n, int hop, float *frame,
                          double *sink)
{
    double best = 1e30;
    for (int r = 0; r < REPEATS; r++) {
        cx_melspec_reset(fx);
        size_t hops = 0;
        double t0 = cx_now();
        for (size_t pos = 0; pos + (size_t)hop <= n; pos += (size_t)hop, hops++) {
            cx_melspec_push(fx, x + pos, (size_t)hop);
            while (cx_melspec_pop(fx, frame))
                *sink += frame[0];
        }
        double dt = (cx_now() - t0) / (double)hops;
        if (dt < best) best = dt;
    }
    return best;
}

static double time_compute(cx_melspec *fx, const float *x, size_t n, float *out, int frames,
                           double *sink)
{
    double best = 1e30;
    for (int r = 0; r < REPEATS; r++) {
        double t0 = cx_now();
        int got = cx_melspec_compute(fx, x, n, out, frames);
        double dt = (cx_now() - t0) / (double)got;
        *sink += out[0];
        if (dt < best) best = dt;
    }
    return best;
}

static double time_resample(const float *x, size_t n, int in_rate, double *sink)
{
    cx_error err;
    cx_resampler *r;
    if (cx_resampler_create(&r, in_rate, 16000, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return -1.0;
    }
    size_t chunk = (size_t)in_rate / 100;
    float out[4096];
    double best = 1e30;
    for (int rep = 0; rep < REPEATS; rep++) {
        cx_resampler_reset(r);
        size_t chunks = 0, got;
        double t0 = cx_now();
        for (size_t pos = 0; pos + chunk <= n; pos += chunk, chunks++) {
            if (cx_resampler_process(r, x + pos, chunk, out, 4096, &got, &err)) {
                fprintf(stderr, "%s\n", err.msg);
                break;
            }
            if (got) *sink += out[0];
        }
        double dt = (cx_now() - t0) / (double)chunks;
        if (dt < best) best = dt;
    }
    cx_resampler_free(r);
    return best;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 20.0;
    if (!(seconds >= 1.0 && seconds <= 3600.0)) {
        fprintf(stderr, "usage: bench_features [seconds of audio, 1-3600]\n");
        return 2;
    }
    cx_error err;
    cx_feat_config cfg;
    cx_feat_config_default(&cfg, 16000);
    size_t n = (size_t)(seconds * 16000);
    float *x = make_signal(n, 16000);
    int frames = (int)cx_feat_num_frames(&cfg, n);
    float *out = malloc((size_t)frames * CX_FEAT_MAX_MELS * sizeof *out), frame[CX_FEAT_MAX_MELS];
    double sink = 0.0, budget = 0.010;
    char desc[CX_FEAT_CONFIG_STRLEN];
    cx_feat_config_to_string(&cfg, desc, sizeof desc, &err);
    printf("features: %s\n", desc);
    printf("%.0f s of audio per measurement, best of %d\n", seconds, REPEATS);

    for (int kind = 0; kind < 2; kind++) {
        cfg.kind = kind ? CX_FEAT_MFCC : CX_FEAT_LOGMEL;
        cx_melspec *fx;
        if (cx_melspec_create(&fx, &cfg, &err)) {
            fprintf(stderr, "%s\n", err.msg);
            return 1;
        }
        time_stream(fx, x, n / 4, cfg.hop_length, frame, &sink); /* warm up */
        double t = time_stream(fx, x, n, cfg.hop_length, frame, &sink);
        double c = time_compute(fx, x, n, out, frames, &sink);
        printf("%-6s push+pop %.2f us per 10 ms hop (%.0fx faster than real time); "
               "compute() %.2f us per frame (ratio stream/compute %.2f)\n",
               kind ? "mfcc" : "logmel", t * 1e6, budget / t, c * 1e6, t / c);
        cx_melspec_free(fx);
    }
    size_t n44 = (size_t)(seconds * 44100);
    float *x44 = make_signal(n44, 44100);
    double rs = time_resample(x44, n44, 44100, &sink);
    printf("resampler 44.1 kHz -> 16 kHz: %.2f us per 10 ms of input (%.0fx faster than real "
           "time)\n",
           rs * 1e6, budget / rs);
    printf("(checksum %.3f)\n", sink);
    free(x44);
    free(x);
    free(out);
    return 0;
}
