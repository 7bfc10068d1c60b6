/* GRU benchmark, the Cortex side (bench/gru.sh runs it next to
 * bench/bench_gru.py and prints the ratios).
 *
 *   bench_gru stream            streaming step time, 1 stream, F=40, H=128:
 *                               one GRU layer, and a stack of two
 *   bench_gru frame H           live cost of one 10 ms frame, 1 stream, 1 thread:
 *                               push one hop (80 samples at 8 kHz, tone plus
 *                               noise) into a cx_melspec with the shipped
 *                               models' settings (cx_feat_config_default at
 *                               8 kHz: 25 ms window, 40 log-mel bands), pop
 *                               its frame and feed it to one streaming step
 *                               of "input 1 40; gru H"
 *   bench_gru train THREADS     training throughput of
 *                               "input 100 40; gru 128; gru 128; last; dense 12",
 *                               batch 64: forward, loss, backward, Adam step
 *
 * Prints "key value" lines: stream1_us, stream2_us (microseconds per step);
 * frame_us (push + pop + step, timed as one loop), features_us (push + pop
 * alone) and step_us (the step alone, on frames the extractor made), each
 * in microseconds per frame; train_seq_per_s. Every time is the best of a
 * few rounds (the machine is shared).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cortex/cortex.h"
#include "team.h"

enum { F = 40, H = 128, T = 100, K = 12, BATCH = 64 };

static cx_model *make(const char *spec, int batch)
{
    cx_error err;
    cx_model *m = NULL;
    if (cx_model_create(&m, spec, NULL, &err) || cx_model_reserve(m, batch, &err)) {
        fprintf(stderr, "bench_gru: %s: %s\n", spec, err.msg);
        cx_model_free(m);
        exit(1);
    }
    cx_model_init(m, 1);
    return m;
}

/* Microseconds per streaming step, the best of a few rounds. */
static double stream_us(const char *spec)
{
    enum { ROUNDS = 5, STEPS = 4000 };
    cx_model *m = make(spec, 1);
    cx_rng rng;
    cx_rng_seed(&rng, 2);
    float *frames = malloc((size_t)T * F * sizeof *frames);
    for (int i = 0; i < T * F; i++)
        frames[i] = 2.0f * cx_rng_uniform(&rng) - 1.0f;
    cx_error err;
    if (cx_model_stream_reset(m, &err)) {
        fprintf(stderr, "bench_gru: %s\n", err.msg);
        exit(1);
    }
    double best = 1e30, sink = 0.0;
    for (int r = 0; r < ROUNDS; r++) {
        double t0 = cx_now();
        for (int s = 0; s < STEPS; s++)
            sink += cx_model_stream_step(m, frames + (s % T) * F)[0];
        double us = (cx_now() - t0) * 1e6 / STEPS;
        if (us < best) best = us;
    }
    if (sink == 12345.678) printf("#\n"); /* keep the loop */
    free(frames);
    cx_model_free(m);
    return best;
}

/* n samples of a 440 Hz tone plus noise at rate, as in bench_features.c. */
static float *make_signal(size_t n, int rate)
{
    float *x = malloc(n * sizeof *x);
    cx_rng rng;
    cx_rng_seed(&rng, 4);
    for (size_t i = 0; i < n; i++)
        x[i] = 0.3f * sinf(2.0f * 3.14159265f * 440.0f * (float)i / (float)rate) +
               0.05f * cx_rng_normal(&rng);
    return x;
}

/* What one round of frame_costs times. */
enum frame_work { FRAME_FEATURES = 1, FRAME_STEP = 2, FRAME_BOTH = 3 };

/* Microseconds per frame of `work`, the best of a few rounds. The
 * extractor is primed with the first win - hop samples of x, so every push
 * of one hop completes exactly one frame; the hops cycle through the
 * HOPS that follow. FRAME_STEP alone steps on the frames the extractor made
 * of them (frames: HOPS x F). */
static double frame_round_us(enum frame_work work, cx_melspec *fx, cx_model *m, const float *x,
                             int hop, int win, float *frames, int F)
{
    enum { ROUNDS = 5, STEPS = 4000, HOPS = 100 };
    double best = 1e30, sink = 0.0;
    float frame[CX_FEAT_MAX_MELS];
    for (int r = 0; r < ROUNDS; r++) {
        cx_melspec_reset(fx);
        cx_melspec_push(fx, x, (size_t)(win - hop));
        double t0 = cx_now();
        for (int s = 0; s < STEPS; s++) {
            const float *in = frames + (size_t)(s % HOPS) * F;
            if (work & FRAME_FEATURES) {
                cx_melspec_push(fx, x + (win - hop) + (size_t)(s % HOPS) * hop, (size_t)hop);
                if (!cx_melspec_pop(fx, frame)) {
                    fprintf(stderr, "bench_gru: a hop did not complete a frame\n");
                    exit(1);
                }
                in = frame;
            }
            if (work & FRAME_STEP)
                sink += cx_model_stream_step(m, in)[0];
            else
                sink += in[0];
        }
        double us = (cx_now() - t0) * 1e6 / STEPS;
        if (us < best) best = us;
    }
    if (sink == 12345.678) printf("#\n"); /* keep the loop */
    return best;
}

/* Prints frame_us, features_us and step_us for a one-layer GRU of h units
 * behind the 8 kHz log-mel extractor. */
static void frame_costs(int h)
{
    enum { RATE = 8000, HOPS = 100 };
    cx_error err;
    cx_feat_config cfg;
    cx_feat_config_default(&cfg, RATE);
    cx_melspec *fx;
    if (cx_melspec_create(&fx, &cfg, &err)) {
        fprintf(stderr, "bench_gru: %s\n", err.msg);
        exit(1);
    }
    const int F = cx_feat_num_features(&cfg), hop = cfg.hop_length, win = cfg.win_length;
    char spec[64];
    snprintf(spec, sizeof spec, "input 1 %d; gru %d", F, h);
    cx_model *m = make(spec, 1);
    if (cx_model_stream_reset(m, &err)) {
        fprintf(stderr, "bench_gru: %s\n", err.msg);
        exit(1);
    }
    size_t n = (size_t)(win - hop) + (size_t)HOPS * hop;
    float *x = make_signal(n, RATE), *frames = malloc((size_t)HOPS * F * sizeof *frames);
    if (cx_melspec_compute(fx, x, n, frames, HOPS) != HOPS) {
        fprintf(stderr, "bench_gru: expected %d frames\n", HOPS);
        exit(1);
    }
    printf("frame_us %.3f\n", frame_round_us(FRAME_BOTH, fx, m, x, hop, win, frames, F));
    printf("features_us %.3f\n", frame_round_us(FRAME_FEATURES, fx, m, x, hop, win, frames, F));
    printf("step_us %.3f\n", frame_round_us(FRAME_STEP, fx, m, x, hop, win, frames, F));
    free(x);
    free(frames);
    cx_model_free(m);
    cx_melspec_free(fx);
}

/* Sequences per second, the best of a few rounds (the machine is shared). */
static double train_seq_per_s(void)
{
    enum { ROUNDS = 3, ITERS = 5 };
    cx_model *m = make("input 100 40; gru 128; gru 128; last; dense 12", BATCH);
    cx_model_set_training(m, 1);
    cx_error err;
    cx_optim *opt;
    cx_optim_config cfg = cx_optim_defaults(CX_OPT_ADAM);
    if (cx_optim_create(&opt, m, &cfg, &err)) {
        fprintf(stderr, "bench_gru: %s\n", err.msg);
        exit(1);
    }
    cx_rng rng;
    cx_rng_seed(&rng, 3);
    size_t nx = (size_t)BATCH * T * F;
    float *x = malloc(nx * sizeof *x), dy[BATCH * K];
    int labels[BATCH];
    for (size_t i = 0; i < nx; i++)
        x[i] = 2.0f * cx_rng_uniform(&rng) - 1.0f;
    for (int b = 0; b < BATCH; b++)
        labels[b] = (int)cx_rng_below(&rng, K);
    /* At more than one thread the batch is split as training splits it. */
    cx_team *team = NULL;
    if (cx_team_create(&team, m, BATCH, &err)) {
        fprintf(stderr, "bench_gru: %s\n", err.msg);
        exit(1);
    }
    double best = 0.0;
    for (int r = -1; r < ROUNDS; r++) { /* round -1 warms up */
        double t0 = cx_now();
        for (int it = 0; it < ITERS; it++) {
            if (team) {
                cx_team_step(team, 1, BATCH, x, labels, dy, 0.0f, NULL);
            } else {
                const float *logits = cx_model_forward(m, BATCH, x);
                cx_softmax_xent(logits, labels, BATCH, K, 0.0f, dy, NULL);
                cx_model_zero_grad(m);
                cx_model_backward(m, BATCH, dy);
            }
            cx_optim_step(opt, 1e-3f);
        }
        double rate = (double)ITERS * BATCH / (cx_now() - t0);
        if (r >= 0 && rate > best) best = rate;
    }
    free(x);
    cx_team_free(team);
    cx_optim_free(opt);
    cx_model_free(m);
    return best;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "stream")) {
        cx_set_threads(1);
        printf("stream1_us %.3f\n", stream_us("input 100 40; gru 128"));
        printf("stream2_us %.3f\n", stream_us("input 100 40; gru 128; gru 128"));
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "frame")) {
        int h = atoi(argv[2]);
        if (h < 1 || h > 16384) {
            fprintf(stderr, "bench_gru: bad number of units '%s'\n", argv[2]);
            return 2;
        }
        cx_set_threads(1);
        frame_costs(h);
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "train")) {
        int threads = atoi(argv[2]);
        if (threads < 1) {
            fprintf(stderr, "bench_gru: bad thread count '%s'\n", argv[2]);
            return 2;
        }
        cx_set_threads(threads);
        printf("train_seq_per_s %.1f\n", train_seq_per_s());
        return 0;
    }
    fprintf(stderr, "usage: bench_gru stream | bench_gru frame H | bench_gru train THREADS\n");
    return 2;
}
