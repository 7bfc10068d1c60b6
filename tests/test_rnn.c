/* Recurrent layers (gru, lstm) and sequence pooling (last, mean): gradient
 * checks, PyTorch references, streaming equals the whole-sequence forward,
 * and small sequence tasks learned with Adam. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rnn_util.h"
#include "testutil.h"

#define CHECK(spec, n) CU_ASSERT_EQUAL(cx_gradcheck(spec, n, 0, 7, 1e-3f, 60), 0)

static void test_grad_gru(void)
{
    CHECK("input 5 3; gru 4", 2);
}
static void test_grad_lstm(void)
{
    CHECK("input 5 3; lstm 4", 2);
}
static void test_grad_gru_stacked(void)
{
    CHECK("input 5 3; gru 4; gru 3", 2);
}
static void test_grad_gru_last(void)
{
    CHECK("input 5 3; gru 4; last; dense 3", 2);
}
static void test_grad_gru_mean(void)
{
    CHECK("input 5 3; gru 4; mean; dense 3", 2);
}
static void test_grad_lstm_last(void)
{
    CHECK("input 6 2; lstm 3; lstm 4; last; dense 2", 3);
}
static void test_grad_lstm_mean(void)
{
    CHECK("input 5 3; lstm 4; mean; dense 3", 2);
}
static void test_grad_single_step(void)
{
    CHECK("input 1 3; gru 4; lstm 2; last", 1);
}

/* ---- vector math (rnn_util.h) --------------------------------------------- */

static void test_vector_math(void)
{
    double worst_e = 0.0, worst_s = 0.0, worst_t = 0.0;
    float in[CX_VLEN], e[CX_VLEN], s[CX_VLEN], t[CX_VLEN];
    for (double x0 = -100.0; x0 < 100.0; x0 += 0.0007 * CX_VLEN) {
        for (int k = 0; k < CX_VLEN; k++)
            in[k] = (float)(x0 + 0.0007 * k);
        cx_vf v = cx_vld(in, CX_VLEN);
        cx_vst(e, cx_vexp(v), CX_VLEN);
        cx_vst(s, cx_vsigmoid(v), CX_VLEN);
        cx_vst(t, cx_vtanh(v), CX_VLEN);
        for (int k = 0; k < CX_VLEN; k++) {
            double x = in[k], re = exp(x), rs = 1.0 / (1.0 + exp(-x)), rt = tanh(x);
            if (x > -87.0 && x < 88.0) worst_e = fmax(worst_e, fabs(e[k] - re) / re);
            if (x > -87.0) worst_s = fmax(worst_s, fabs(s[k] - rs) / rs);
            worst_t = fmax(worst_t, rt == 0.0 ? fabs(t[k]) : fabs(t[k] - rt) / fabs(rt));
        }
    }
    for (double x = -1e-3; x < 1e-3; x += 1.7e-7) { /* tanh near 0: no cancellation */
        float one = (float)x, out;
        cx_vst(&out, cx_vtanh(cx_vld(&one, 1)), 1);
        if (one != 0.0f) worst_t = fmax(worst_t, fabs(out - tanh((double)one)) / fabs(tanh(one)));
    }
    printf("\n  worst relative error: exp %.1e, sigmoid %.1e, tanh %.1e", worst_e, worst_s,
           worst_t);
    CU_ASSERT(worst_e < 5e-7);
    CU_ASSERT(worst_s < 5e-7);
    CU_ASSERT(worst_t < 5e-7);
    float sp[3] = {INFINITY, -INFINITY, 1e30f}, o[3];
    cx_vst(o, cx_vtanh(cx_vld(sp, 3)), 3);
    CU_ASSERT(o[0] == 1.0f && o[1] == -1.0f && o[2] == 1.0f);
    cx_vst(o, cx_vsigmoid(cx_vld(sp, 3)), 3);
    CU_ASSERT(o[0] == 1.0f && o[1] >= 0.0f && o[1] < 1e-37f && o[2] == 1.0f);
}

/* ---- PyTorch references (tests/ref/make_ref_rnn.py) ---------------------- */

static void check_reference(const char *kind, int gates)
{
    enum { N = 2, T = 4, F = 3, H = 5 };
    const size_t nx = N * T * F, ny = N * T * H;
    const size_t sizes[4] = {(size_t)gates * H * F, (size_t)gates * H * H, (size_t)gates * H,
                             (size_t)gates * H};
    size_t total = nx + sizes[0] + sizes[1] + sizes[2] + sizes[3];
    total = 2 * total + 2 * ny; /* inputs and weights, dy, y, then their gradients */
    float *ref = malloc(total * sizeof *ref);
    char file[32], spec[64];
    snprintf(file, sizeof file, "rnn_%s.f32", kind);
    CU_ASSERT_EQUAL_FATAL(cx_read_fixture(file, ref, total), 0);
    const float *x = ref, *w[4], *dy, *y, *dx, *dw[4];
    const float *p = x + nx;
    for (int k = 0; k < 4; k++)
        w[k] = p, p += sizes[k];
    dy = p, p += ny;
    y = p, p += ny;
    dx = p, p += nx;
    for (int k = 0; k < 4; k++)
        dw[k] = p, p += sizes[k];

    snprintf(spec, sizeof spec, "input %d %d; %s %d", T, F, kind, H);
    cx_error err;
    cx_model *m;
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&m, spec, NULL, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(cx_model_reserve(m, N, &err), CX_OK);
    cx_model_want_input_grad(m, 1);
    CU_ASSERT_EQUAL_FATAL(cx_model_num_tensors(m), 4);
    static const char *names[4] = {"weight_ih", "weight_hh", "bias_ih", "bias_hh"};
    for (int k = 0; k < 4; k++) {
        cx_param *t = cx_model_tensor(m, k);
        CU_ASSERT_STRING_EQUAL(t->name, names[k]);
        CU_ASSERT_EQUAL_FATAL(t->size, sizes[k]);
        memcpy(t->w, w[k], sizes[k] * sizeof(float));
    }
    const float *out = cx_model_forward(m, N, x);
    double e = cx_max_rel_err(out, y, ny, 1e-3);
    printf("\n  %s output rel err %.2e", kind, e);
    CU_ASSERT(e < 1e-4);
    cx_model_zero_grad(m);
    cx_model_backward(m, N, dy);
    e = cx_max_rel_err(cx_model_input_grad(m), dx, nx, 1e-3);
    printf(", dx %.2e", e);
    CU_ASSERT(e < 1e-4);
    for (int k = 0; k < 4; k++) {
        e = cx_max_rel_err(cx_model_tensor(m, k)->g, dw[k], sizes[k], 1e-3);
        printf(", d%s %.2e", names[k], e);
        CU_ASSERT(e < 1e-4);
    }
    cx_model_free(m);
    free(ref);
}

static void test_ref_gru(void)
{
    check_reference("gru", 3);
}
static void test_ref_lstm(void)
{
    check_reference("lstm", 4);
}

/* ---- streaming ------------------------------------------------------------ */

/* Streaming and the whole-sequence forward run the same arithmetic, but the
 * matrix library may sum in another order for one row than for many, so
 * they are compared to 1e-5: relative above 1, absolute below. */
#define STREAM_TOL 1e-5
#define STREAM_FLOOR 1.0

/* Copies the first k tensors of src into dst (same sizes). */
static void copy_tensors(cx_model *dst, cx_model *src, int k)
{
    for (int i = 0; i < k; i++) {
        cx_param *a = cx_model_tensor(dst, i), *b = cx_model_tensor(src, i);
        CU_ASSERT_EQUAL_FATAL(a->size, b->size);
        memcpy(a->w, b->w, a->size * sizeof(float));
    }
}

static cx_model *make(const char *spec, int batch)
{
    cx_error err;
    cx_model *m = NULL;
    if (cx_model_create(&m, spec, NULL, &err) || cx_model_reserve(m, batch, &err)) {
        fprintf(stderr, "%s: %s\n", spec, err.msg);
        cx_model_free(m);
        return NULL;
    }
    return m;
}

/* Model "input T F; <recurrent>; <head>", head starting with the pooling
 * layer. Streams a T-frame sequence frame by frame and checks (a) the
 * output of the recurrent layers at every step against their whole-sequence
 * forward (a model of the recurrent layers alone, same weights), and (b) the
 * model output after t frames against the forward of the same model built
 * for t-frame input, for every t from 1 to T. */
static void check_stream(int T, int F, const char *recurrent, const char *head, uint64_t seed)
{
    char spec[160];
    snprintf(spec, sizeof spec, "input %d %d; %s; %s", T, F, recurrent, head);
    cx_model *full = make(spec, 1);
    snprintf(spec, sizeof spec, "input %d %d; %s", T, F, recurrent);
    cx_model *seq = make(spec, 1);
    CU_ASSERT_FATAL(full && seq);
    cx_model_init(full, seed);
    int nrec = cx_model_num_tensors(seq);
    copy_tensors(seq, full, nrec);
    int H = cx_model_output_shape(seq)->d[1];
    int K = (int)cx_shape_size(cx_model_output_shape(full));

    cx_rng rng;
    cx_rng_seed(&rng, seed + 1);
    float *x = malloc((size_t)T * F * sizeof *x), *hseq = malloc((size_t)T * H * sizeof *hseq);
    float *out = malloc((size_t)K * sizeof *out);
    cx_fill_uniform(x, (size_t)T * F, -1.5f, 1.5f, &rng);
    memcpy(hseq, cx_model_forward(seq, 1, x), (size_t)T * H * sizeof *hseq);

    cx_error err;
    CU_ASSERT_EQUAL_FATAL(cx_model_stream_reset(full, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(cx_model_stream_reset(seq, &err), CX_OK);
    double worst_h = 0.0, worst_y = 0.0;
    for (int t = 0; t < T; t++) {
        const float *h = cx_model_stream_step(seq, x + (size_t)t * F);
        CU_ASSERT_PTR_NOT_NULL_FATAL(h);
        double e = cx_max_rel_err(h, hseq + (size_t)t * H, (size_t)H, STREAM_FLOOR);
        if (e > worst_h) worst_h = e;

        memcpy(out, cx_model_stream_step(full, x + (size_t)t * F), (size_t)K * sizeof *out);
        snprintf(spec, sizeof spec, "input %d %d; %s; %s", t + 1, F, recurrent, head);
        cx_model *prefix = make(spec, 1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(prefix);
        copy_tensors(prefix, full, cx_model_num_tensors(full));
        e = cx_max_rel_err(out, cx_model_forward(prefix, 1, x), (size_t)K, STREAM_FLOOR);
        if (e > worst_y) worst_y = e;
        cx_model_free(prefix);
    }
    printf("\n  stream vs forward, %s; %s: steps %.1e, pooled output %.1e", recurrent, head,
           worst_h, worst_y);
    CU_ASSERT(worst_h < STREAM_TOL);
    CU_ASSERT(worst_y < STREAM_TOL);

    /* After a reset the stream starts over. */
    CU_ASSERT_EQUAL(cx_model_stream_reset(seq, &err), CX_OK);
    const float *h = cx_model_stream_step(seq, x);
    CU_ASSERT(cx_max_rel_err(h, hseq, (size_t)H, STREAM_FLOOR) < STREAM_TOL);
    free(x);
    free(hseq);
    free(out);
    cx_model_free(full);
    cx_model_free(seq);
}

static void test_stream_gru_last(void)
{
    check_stream(20, 6, "gru 8; gru 8", "last; dense 3", 5);
}
static void test_stream_gru_mean(void)
{
    check_stream(13, 4, "gru 6", "mean; dense 3", 6);
}
static void test_stream_lstm(void)
{
    check_stream(17, 5, "lstm 7; gru 5", "mean; dense 4", 8);
}
static void test_stream_lstm_last(void)
{
    check_stream(9, 3, "lstm 6; lstm 4", "last; dense 2", 9);
}

/* The layer's step with several streams at once, each its own sequence. */
static void check_multi_stream(const char *spec)
{
    enum { N = 3 };
    cx_model *m = make(spec, N);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    cx_model_init(m, 21);
    cx_layer *l = cx_model_layer(m, 0);
    const int T = l->in.d[0], F = l->in.d[1], H = l->out.d[1];
    cx_rng rng;
    cx_rng_seed(&rng, 22);
    float *x = malloc((size_t)N * T * F * sizeof *x), *frame = malloc((size_t)N * F * sizeof *x);
    float *h = malloc((size_t)N * H * sizeof *h);
    cx_fill_uniform(x, (size_t)N * T * F, -1, 1, &rng);
    const float *y = cx_model_forward(m, N, x);
    l->kind->reset(l);
    double worst = 0.0;
    for (int t = 0; t < T; t++) {
        for (int b = 0; b < N; b++)
            memcpy(frame + (size_t)b * F, x + ((size_t)b * T + t) * F, (size_t)F * sizeof *x);
        l->kind->step(l, N, frame, h);
        for (int b = 0; b < N; b++) {
            double e = cx_max_rel_err(h + (size_t)b * H, y + ((size_t)b * T + t) * H, (size_t)H,
                                      STREAM_FLOOR);
            if (e > worst) worst = e;
        }
    }
    CU_ASSERT(worst < STREAM_TOL);
    free(x);
    free(frame);
    free(h);
    cx_model_free(m);
}

static void test_multi_stream(void)
{
    check_multi_stream("input 7 4; gru 9");
    check_multi_stream("input 7 4; lstm 9");
}

/* ---- learning ------------------------------------------------------------- */

/* Parity of the +1s in a T-bit sequence of +-1, a task that needs memory of
 * the whole sequence. Sequences are hashed into train and held-out sets.
 * Returns held-out accuracy. */
static double learn_parity(const char *rnn, int T, int steps, uint64_t seed)
{
    enum { BATCH = 32 };
    char spec[96];
    snprintf(spec, sizeof spec, "input %d 1; %s 32; last; dense 2", T, rnn);
    cx_model *m = make(spec, 256);
    if (!m) return 0.0;
    cx_model_init(m, seed);
    cx_error err;
    cx_optim *opt;
    cx_optim_config cfg = cx_optim_defaults(CX_OPT_ADAM);
    if (cx_optim_create(&opt, m, &cfg, &err)) {
        cx_model_free(m);
        return 0.0;
    }
    const int all = 1 << T;
    int *train = malloc((size_t)all * sizeof *train), *test = malloc((size_t)all * sizeof *test);
    int ntrain = 0, ntest = 0;
    for (int s = 0; s < all; s++) {
        /* every fourth pattern (by a fixed mixing of its bits) is held out */
        uint32_t hsh = (uint32_t)s * 2654435761u;
        if ((hsh >> 29) % 4 == 0)
            test[ntest++] = s;
        else
            train[ntrain++] = s;
    }
    float *x = malloc((size_t)256 * T * sizeof *x), *dy = malloc((size_t)256 * 2 * sizeof *dy);
    int labels[256];
    cx_rng rng;
    cx_rng_seed(&rng, seed + 3);
    cx_model_set_training(m, 1);
    for (int it = 0; it < steps; it++) {
        for (int b = 0; b < BATCH; b++) {
            int s = train[cx_rng_below(&rng, (uint32_t)ntrain)];
            labels[b] = __builtin_popcount((unsigned)s) & 1;
            for (int t = 0; t < T; t++)
                x[b * T + t] = (s >> t) & 1 ? 1.0f : -1.0f;
        }
        const float *logits = cx_model_forward(m, BATCH, x);
        cx_softmax_xent(logits, labels, BATCH, 2, 0.0f, dy, NULL);
        cx_model_zero_grad(m);
        cx_model_backward(m, BATCH, dy);
        cx_optim_step(opt, 0.01f);
    }
    cx_model_set_training(m, 0);
    int correct = 0;
    for (int i = 0; i < ntest; i += 256) {
        int nb = ntest - i < 256 ? ntest - i : 256;
        for (int b = 0; b < nb; b++) {
            int s = test[i + b];
            labels[b] = __builtin_popcount((unsigned)s) & 1;
            for (int t = 0; t < T; t++)
                x[b * T + t] = (s >> t) & 1 ? 1.0f : -1.0f;
        }
        const float *logits = cx_model_forward(m, nb, x);
        for (int b = 0; b < nb; b++)
            correct += (logits[2 * b + 1] > logits[2 * b]) == labels[b];
    }
    double acc = (double)correct / ntest;
    printf("\n  %s parity T=%d, %d steps: held-out accuracy %.3f (%d sequences)", rnn, T, steps,
           acc, ntest);
    free(train);
    free(test);
    free(x);
    free(dy);
    cx_optim_free(opt);
    cx_model_free(m);
    return acc;
}

/* Parity is all-or-nothing: a net either finds the flip-flop or stays at
 * chance. With T=10, 32 units, Adam at 0.01 and 6000 batches of 32, eight
 * seeds out of eight reached >= 99.6% held-out for both kinds (~2 s GRU,
 * ~4 s LSTM in release, ~11 s together under the sanitizers, where the
 * matrix products are not instrumented). */
static void test_gru_learns_parity(void)
{
    CU_ASSERT(learn_parity("gru", 10, 6000, 1) >= 0.95);
}
static void test_lstm_learns_parity(void)
{
    CU_ASSERT(learn_parity("lstm", 10, 6000, 1) >= 0.95);
}

/* ---- specs ---------------------------------------------------------------- */

static void test_specs(void)
{
    cx_error err;
    cx_model *m = NULL;
    CU_ASSERT_NOT_EQUAL(cx_model_create(&m, "input 10; gru 4", NULL, &err), CX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "gru"));
    CU_ASSERT_NOT_EQUAL(cx_model_create(&m, "input 5 3; lstm 0", NULL, &err), CX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'0'"));
    CU_ASSERT_NOT_EQUAL(cx_model_create(&m, "input 5 3; gru", NULL, &err), CX_OK);
    CU_ASSERT_NOT_EQUAL(cx_model_create(&m, "input 5 3; gru 4 4", NULL, &err), CX_OK);
    CU_ASSERT_NOT_EQUAL(cx_model_create(&m, "input 5 3; last 2", NULL, &err), CX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'2'"));
    CU_ASSERT_NOT_EQUAL(cx_model_create(&m, "input 5 3; gru 4; mean; mean", NULL, &err), CX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "mean"));
    CU_ASSERT_NOT_EQUAL(cx_model_create(&m, "input 1000000 1000; gru 16000", NULL, &err), CX_OK);
    CU_ASSERT_PTR_NULL(m);

    CU_ASSERT_EQUAL_FATAL(
        cx_model_create(&m, "input 20 6; gru 8; lstm 5; last; dense 3", NULL, &err), CX_OK);
    CU_ASSERT_STRING_EQUAL(cx_model_spec(m), "input 20 6; gru 8; lstm 5; last; dense 3");
    CU_ASSERT_EQUAL(cx_model_num_params(m), 3 * 8 * (6 + 8 + 2) + 4 * 5 * (8 + 5 + 2) + 5 * 3 + 3);
    const cx_shape *o = cx_model_output_shape(m);
    CU_ASSERT(o->ndim == 1 && o->d[0] == 3);
    /* Decay on weights only; the forget gate of the LSTM starts open. */
    cx_model_init(m, 3);
    for (int k = 0; k < 8; k++) {
        cx_param *p = cx_model_tensor(m, k);
        CU_ASSERT_EQUAL(p->decay, strncmp(p->name, "weight", 6) == 0);
    }
    cx_param *b = cx_model_tensor(m, 6);
    CU_ASSERT_STRING_EQUAL(b->name, "bias_ih");
    for (int j = 0; j < 20; j++)
        CU_ASSERT_EQUAL(b->w[j], j >= 5 && j < 10 ? 1.0f : 0.0f);
    cx_model_free(m);

    /* Streaming needs a pooling layer that steps, and refuses non-sequences. */
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&m, "input 12; dense 3", NULL, &err), CX_OK);
    CU_ASSERT_NOT_EQUAL(cx_model_stream_reset(m, &err), CX_OK);
    cx_model_free(m);
}

/* Growing the batch reallocates the gate caches; results do not change. */
static void test_regrow(void)
{
    cx_model *m = make("input 6 3; lstm 5; gru 4; mean", 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    cx_model_init(m, 4);
    float x[5 * 18], y1[4], dy[5 * 4] = {0};
    cx_rng rng;
    cx_rng_seed(&rng, 9);
    cx_fill_uniform(x, 5 * 18, -1, 1, &rng);
    memcpy(y1, cx_model_forward(m, 1, x), sizeof y1);
    cx_error err;
    CU_ASSERT_EQUAL_FATAL(cx_model_reserve(m, 5, &err), CX_OK);
    const float *y = cx_model_forward(m, 5, x);
    CU_ASSERT(cx_max_rel_err(y, y1, 4, STREAM_FLOOR) < STREAM_TOL);
    cx_model_backward(m, 5, dy);
    cx_model_free(m);
}

/* ---- the small products (rnn_util.h) against a plain loop ------------------ */

static void test_small_products(void)
{
    cx_rng rng;
    cx_rng_seed(&rng, 5);
    const int shapes[][3] = {{1, 192, 64}, {3, 37, 13}, {4, 5, 9},   {5, 40, 24},
                             {1, 3, 1},    {7, 33, 41}, {98, 70, 17}};
    double worst = 0.0;
    for (size_t q = 0; q < sizeof shapes / sizeof shapes[0]; q++) {
        int n = shapes[q][0], N = shapes[q][1], K = shapes[q][2];
        float *x = malloc((size_t)n * (K + 3) * sizeof *x), *w = malloc((size_t)N * K * sizeof *w);
        float *wt = malloc((size_t)N * K * sizeof *wt), *out = malloc((size_t)n * (N + 2) * 4);
        float *ref = malloc((size_t)n * N * sizeof *ref), *got = malloc((size_t)n * N * 4);
        CU_ASSERT_FATAL(x && w && wt && out && ref && got);
        cx_fill_uniform(x, (size_t)n * (K + 3), -1.0f, 1.0f, &rng);
        cx_fill_uniform(w, (size_t)N * K, -1.0f, 1.0f, &rng);
        cx_fill_uniform(out, (size_t)n * (N + 2), -1.0f, 1.0f, &rng);
        for (int beta = 0; beta <= 1; beta++) {
            /* strided rows: x rows K + 3 apart, out rows N + 2 apart */
            for (int b = 0; b < n; b++)
                for (int j = 0; j < N; j++) {
                    double s = beta ? out[(size_t)b * (N + 2) + j] : 0.0;
                    for (int k = 0; k < K; k++)
                        s += (double)x[(size_t)b * (K + 3) + k] * w[(size_t)j * K + k];
                    ref[(size_t)b * N + j] = (float)s;
                }
            cx_rnn_matmul(n, N, K, x, K + 3, w, (float)beta, out, N + 2);
            for (int b = 0; b < n; b++)
                memcpy(got + (size_t)b * N, out + (size_t)b * (N + 2), (size_t)N * sizeof *got);
            double e = cx_max_rel_err(got, ref, (size_t)n * N, 1.0);
            worst = e > worst ? e : worst;
        }
        /* packed rows through the transposed-weight loop */
        for (int b = 0; b < n; b++)
            for (int j = 0; j < N; j++) {
                double s = 0.0;
                for (int k = 0; k < K; k++)
                    s += (double)x[(size_t)b * K + k] * w[(size_t)j * K + k];
                ref[(size_t)b * N + j] = (float)s;
            }
        cx_rnn_project_rows((size_t)n, N, K, x, w, wt, got);
        double e = cx_max_rel_err(got, ref, (size_t)n * N, 1.0);
        worst = e > worst ? e : worst;
        free(x);
        free(w);
        free(wt);
        free(out);
        free(ref);
        free(got);
    }
    printf("\n  small products against a plain loop: %.1e", worst);
    CU_ASSERT(worst < 1e-5);
}

int main(void)
{
    cx_set_threads(1);
    static const cx_test tests[] = {
        {"vector exp, sigmoid, tanh match libm", test_vector_math},
        {"small products match a plain loop", test_small_products},
        {"gru gradient", test_grad_gru},
        {"lstm gradient", test_grad_lstm},
        {"stacked gru gradient", test_grad_gru_stacked},
        {"gru + last + dense gradient", test_grad_gru_last},
        {"gru + mean + dense gradient", test_grad_gru_mean},
        {"stacked lstm + last + dense gradient", test_grad_lstm_last},
        {"lstm + mean + dense gradient", test_grad_lstm_mean},
        {"one-step sequence gradient", test_grad_single_step},
        {"gru matches PyTorch nn.GRU", test_ref_gru},
        {"lstm matches PyTorch nn.LSTM", test_ref_lstm},
        {"streaming gru, gru, last equals forward", test_stream_gru_last},
        {"streaming gru, mean equals forward", test_stream_gru_mean},
        {"streaming lstm, gru, mean equals forward", test_stream_lstm},
        {"streaming lstm, lstm, last equals forward", test_stream_lstm_last},
        {"several streams at once", test_multi_stream},
        {"gru learns sequence parity", test_gru_learns_parity},
        {"lstm learns sequence parity", test_lstm_learns_parity},
        {"recurrent specs, parameters and init", test_specs},
        {"growing the batch", test_regrow},
        {NULL, NULL},
    };
    return cx_test_main("rnn", tests);
}
