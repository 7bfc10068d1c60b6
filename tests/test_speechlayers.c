/* Speech layers over (T,F) sequences (tnorm, conv1d) and the reshapes of a
 * CRNN front end (image, seq): gradient checks, PyTorch references
 * (tests/ref/make_ref_speechlayers.py), spec parsing and batch independence. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define CHECK(spec, n) CU_ASSERT_EQUAL(cx_gradcheck(spec, n, 0, 7, 1e-3f, 60), 0)

/* ---- finite-difference gradient checks ------------------------------------ */

static void test_grad_conv1d_k3(void)
{
    CHECK("input 7 3; conv1d 4 3", 3);
}
static void test_grad_conv1d_k5_dilated(void)
{
    CHECK("input 9 3; conv1d 2 5 dilation=2", 2);
}
/* padding (K-1)/2 D = 6 is longer than the sequence */
static void test_grad_conv1d_wide(void)
{
    CHECK("input 4 2; conv1d 3 5 dilation=3", 2);
}
static void test_grad_conv1d_k1(void)
{
    CHECK("input 5 4; conv1d 3 1", 3);
}
static void test_grad_conv1d_stack(void)
{
    CHECK("input 8 3; conv1d 5 3 tanh; conv1d 4 3 dilation=2; mean; dense 3", 2);
}
static void test_grad_tnorm(void)
{
    CHECK("input 6 4; tnorm", 3);
}
static void test_grad_tnorm_mean(void)
{
    CHECK("input 6 4; tnorm mean", 3);
}
static void test_grad_tnorm_one_step(void)
{
    CHECK("input 1 3; tnorm; dense 2", 2);
    CHECK("input 1 3; tnorm mean; dense 2", 2);
}
static void test_grad_speech_model(void)
{
    CHECK("input 10 4; tnorm; conv1d 6 3 tanh; conv1d 5 3 dilation=2 tanh; mean; dense 3", 2);
}
static void test_grad_image(void)
{
    CHECK("input 5 4; image", 3);
    CHECK("input 5 4; image; conv 2 3; dense 3", 2);
}
static void test_grad_seq(void)
{
    CHECK("input 3 4 5; seq", 2);
    CHECK("input 2 5 3; conv 3 3 tanh; seq; gru 4; mean", 2);
}
/* A whole CRNN: time x frequency convolutions, frequency pooling, a GRU. */
static void test_grad_crnn(void)
{
    CHECK("input 6 8; tnorm; image; conv 2 3 tanh; maxpool 1x2; seq; gru 3; mean; dense 2", 2);
}

/* ---- PyTorch references ---------------------------------------------------- */

typedef struct {
    const char *file;
    const char *spec;
    int n;
} ref_case;

/* Loads x (and weight, bias) from the fixture, runs forward and backward
 * with the fixture's dy and compares y, dx (and dweight, dbias). */
static void check_reference(const ref_case *rc)
{
    cx_error err;
    cx_model *m;
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&m, rc->spec, NULL, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(cx_model_reserve(m, rc->n, &err), CX_OK);
    cx_model_want_input_grad(m, 1);
    size_t nx = (size_t)rc->n * cx_shape_size(cx_model_input_shape(m));
    size_t ny = (size_t)rc->n * cx_shape_size(cx_model_output_shape(m));
    int nt = cx_model_num_tensors(m);
    size_t nw = nt > 0 ? cx_model_tensor(m, 0)->size : 0;
    size_t nb = nt > 1 ? cx_model_tensor(m, 1)->size : 0;
    size_t total = 2 * nx + 2 * ny + 2 * (nw + nb);
    float *buf = malloc(total * sizeof *buf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    if (cx_read_fixture(rc->file, buf, total)) {
        CU_FAIL("fixture missing or of the wrong size");
        free(buf);
        cx_model_free(m);
        return;
    }
    const float *x = buf, *w = x + nx, *b = w + nw, *dy = b + nb, *y = dy + ny, *dx = y + ny;
    const float *dw = dx + nx, *db = dw + nw;
    if (nt > 0) memcpy(cx_model_tensor(m, 0)->w, w, nw * sizeof(float));
    if (nt > 1) memcpy(cx_model_tensor(m, 1)->w, b, nb * sizeof(float));
    const float *out = cx_model_forward(m, rc->n, x);
    double e = cx_max_rel_err(out, y, ny, 1e-3);
    printf("\n  %s: y %.2e", rc->spec, e);
    CU_ASSERT(e < 1e-4);
    cx_model_zero_grad(m);
    cx_model_backward(m, rc->n, dy);
    e = cx_max_rel_err(cx_model_input_grad(m), dx, nx, 1e-3);
    printf(", dx %.2e", e);
    CU_ASSERT(e < 1e-4);
    if (nt > 1) {
        e = cx_max_rel_err(cx_model_tensor(m, 0)->g, dw, nw, 1e-3);
        double eb = cx_max_rel_err(cx_model_tensor(m, 1)->g, db, nb, 1e-3);
        printf(", dw %.2e, db %.2e", e, eb);
        CU_ASSERT(e < 1e-4);
        CU_ASSERT(eb < 1e-4);
    }
    free(buf);
    cx_model_free(m);
}

static void test_ref_conv1d_k3(void)
{
    check_reference(&(ref_case){"speech_conv1d_k3.f32", "input 7 3; conv1d 4 3", 2});
}
static void test_ref_conv1d_k5d2(void)
{
    check_reference(&(ref_case){"speech_conv1d_k5d2.f32", "input 6 3; conv1d 2 5 dilation=2", 2});
}
static void test_ref_conv1d_k1(void)
{
    check_reference(&(ref_case){"speech_conv1d_k1.f32", "input 5 4; conv1d 3 1", 3});
}
static void test_ref_tnorm(void)
{
    check_reference(&(ref_case){"speech_tnorm.f32", "input 6 4; tnorm", 2});
}
static void test_ref_tnorm_mean(void)
{
    check_reference(&(ref_case){"speech_tnorm_mean.f32", "input 6 4; tnorm mean", 2});
}

/* ---- behaviour --------------------------------------------------------------- */

/* Each output row has zero mean and unit variance over time. */
static void test_tnorm_statistics(void)
{
    enum { T = 50, F = 3 };
    cx_error err;
    cx_model *m;
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&m, "input 50 3; tnorm", NULL, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(cx_model_reserve(m, 1, &err), CX_OK);
    cx_rng rng;
    cx_rng_seed(&rng, 5);
    float x[T * F];
    for (int t = 0; t < T; t++)
        for (int f = 0; f < F; f++)
            x[t * F + f] = 100.0f * f + (f + 1) * cx_rng_normal(&rng);
    const float *y = cx_model_forward(m, 1, x);
    for (int f = 0; f < F; f++) {
        double s = 0, s2 = 0;
        for (int t = 0; t < T; t++)
            s += y[t * F + f], s2 += (double)y[t * F + f] * y[t * F + f];
        CU_ASSERT_DOUBLE_EQUAL(s / T, 0.0, 1e-5);
        CU_ASSERT_DOUBLE_EQUAL(s2 / T, 1.0, 1e-3);
    }
    /* a constant feature becomes 0, not NaN */
    for (int i = 0; i < T * F; i++)
        x[i] = 7.0f;
    y = cx_model_forward(m, 1, x);
    for (int i = 0; i < T * F; i++)
        CU_ASSERT_EQUAL(y[i], 0.0f);
    cx_model_free(m);
}

/* The whole batch goes through one product: each sample's output must not
 * depend on its neighbours (padding stops at sample boundaries). */
static void test_conv1d_batch_independent(void)
{
    enum { N = 4, T = 6, C = 3, FO = 5 };
    cx_error err;
    cx_model *m;
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&m, "input 6 3; conv1d 5 5 dilation=2", NULL, &err),
                          CX_OK);
    cx_model_init(m, 3);
    CU_ASSERT_EQUAL_FATAL(cx_model_reserve(m, N, &err), CX_OK);
    cx_rng rng;
    cx_rng_seed(&rng, 9);
    float x[N * T * C], all[N * T * FO];
    cx_fill_uniform(x, N * T * C, -1, 1, &rng);
    memcpy(all, cx_model_forward(m, N, x), sizeof all);
    for (int b = 0; b < N; b++) {
        const float *one = cx_model_forward(m, 1, x + b * T * C);
        CU_ASSERT(cx_max_rel_err(one, all + b * T * FO, T * FO, 1e-3) < 1e-5);
    }
    cx_model_free(m);
}

/* A single tap (K = 1, any dilation) is a dense layer applied to every frame. */
static void test_conv1d_k1_is_framewise_dense(void)
{
    cx_error err;
    cx_model *a, *b;
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&a, "input 4 3; conv1d 2 1 dilation=5", NULL, &err),
                          CX_OK);
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&b, "input 3; dense 2", NULL, &err), CX_OK);
    cx_model_init(a, 1);
    memcpy(cx_model_tensor(b, 0)->w, cx_model_tensor(a, 0)->w, 6 * sizeof(float));
    cx_model_tensor(a, 1)->w[0] = 0.25f, cx_model_tensor(a, 1)->w[1] = -0.5f;
    memcpy(cx_model_tensor(b, 1)->w, cx_model_tensor(a, 1)->w, 2 * sizeof(float));
    CU_ASSERT_EQUAL_FATAL(cx_model_reserve(a, 1, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(cx_model_reserve(b, 4, &err), CX_OK);
    float x[12];
    for (int i = 0; i < 12; i++)
        x[i] = (float)i - 5.0f;
    float ya[8];
    memcpy(ya, cx_model_forward(a, 1, x), sizeof ya);
    CU_ASSERT(cx_max_rel_err(ya, cx_model_forward(b, 4, x), 8, 1e-3) < 1e-6);
    cx_model_free(a);
    cx_model_free(b);
}

/* seq is the transpose PyTorch code writes as
 * x.permute(0, 2, 1, 3).reshape(N, H, C * W); its backward is the inverse. */
static void test_seq_layout(void)
{
    enum { N = 2, C = 3, H = 4, W = 5, SIZE = C * H * W };
    cx_error err;
    cx_model *m;
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&m, "input 3 4 5; seq", NULL, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(cx_model_reserve(m, N, &err), CX_OK);
    cx_model_want_input_grad(m, 1);
    const cx_shape *o = cx_model_output_shape(m);
    CU_ASSERT(o->ndim == 2 && o->d[0] == H && o->d[1] == C * W);
    float x[N * SIZE];
    for (int i = 0; i < N * SIZE; i++)
        x[i] = (float)i;
    const float *y = cx_model_forward(m, N, x);
    int wrong = 0;
    for (int b = 0; b < N; b++)
        for (int c = 0; c < C; c++)
            for (int h = 0; h < H; h++)
                for (int w = 0; w < W; w++)
                    wrong += y[b * SIZE + (h * C + c) * W + w] != x[b * SIZE + (c * H + h) * W + w];
    CU_ASSERT_EQUAL(wrong, 0);
    float dy[N * SIZE];
    memcpy(dy, y, sizeof dy);
    cx_model_backward(m, N, dy);
    CU_ASSERT_EQUAL(memcmp(cx_model_input_grad(m), x, sizeof x), 0);
    cx_model_free(m);
}

/* The CRNN of the documentation: every shape follows from the spec, and a
 * batch runs forward and backward to finite values. */
static void test_crnn_shapes(void)
{
    enum { N = 4, T = 98, F = 40, K = 11 };
    cx_error err;
    cx_model *m;
    CU_ASSERT_EQUAL_FATAL(
        cx_model_create(&m,
                        "input 98 40; tnorm; image; conv 16 3 relu; maxpool 1x2; "
                        "conv 32 3 relu; maxpool 1x2; seq; gru 64; mean; dense 11",
                        NULL, &err),
        CX_OK);
    static const struct {
        const char *spec;
        int ndim, d[3];
    } want[] = {
        {"tnorm", 2, {98, 40}},
        {"image", 3, {1, 98, 40}},
        {"conv 16 3 stride=1 pad=1", 3, {16, 98, 40}},
        {"relu", 3, {16, 98, 40}},
        {"maxpool 1x2 stride=1x2", 3, {16, 98, 20}},
        {"conv 32 3 stride=1 pad=1", 3, {32, 98, 20}},
        {"relu", 3, {32, 98, 20}},
        {"maxpool 1x2 stride=1x2", 3, {32, 98, 10}},
        {"seq", 2, {98, 320}},
        {"gru 64", 2, {98, 64}},
        {"mean", 1, {64}},
        {"dense 11", 1, {11}},
    };
    enum { NL = sizeof want / sizeof want[0] };
    CU_ASSERT_EQUAL_FATAL(cx_model_num_layers(m), NL);
    for (int i = 0; i < NL; i++) {
        const cx_layer *l = cx_model_layer(m, i);
        CU_ASSERT_STRING_EQUAL(l->spec, want[i].spec);
        CU_ASSERT_EQUAL(l->out.ndim, want[i].ndim);
        for (int k = 0; k < want[i].ndim; k++)
            CU_ASSERT_EQUAL(l->out.d[k], want[i].d[k]);
    }
    /* conv 1->16, conv 16->32, GRU 320->64 (three gates), dense 64->11 */
    CU_ASSERT_EQUAL(cx_model_num_params(m), (16 * 9 + 16) + (32 * 16 * 9 + 32) +
                                                (3 * 64 * 320 + 3 * 64 * 64 + 2 * 3 * 64) +
                                                (64 * 11 + 11));
    cx_model *again;
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&again, cx_model_spec(m), NULL, &err), CX_OK);
    CU_ASSERT_STRING_EQUAL(cx_model_spec(again), cx_model_spec(m));
    cx_model_free(again);

    cx_model_init(m, 5);
    cx_model_set_training(m, 1);
    cx_model_want_input_grad(m, 1);
    CU_ASSERT_EQUAL_FATAL(cx_model_reserve(m, N, &err), CX_OK);
    cx_rng rng;
    cx_rng_seed(&rng, 6);
    float *x = malloc((size_t)N * T * F * sizeof *x);
    CU_ASSERT_PTR_NOT_NULL_FATAL(x);
    cx_fill_uniform(x, (size_t)N * T * F, -1, 1, &rng);
    int labels[N] = {0, 3, 7, 10};
    float dz[N * K];
    const float *z = cx_model_forward(m, N, x);
    float loss = cx_softmax_xent(z, labels, N, K, 0.0f, dz, NULL);
    CU_ASSERT(isfinite(loss) && loss > 0.0f);
    cx_model_zero_grad(m);
    cx_model_backward(m, N, dz);
    const float *dx = cx_model_input_grad(m);
    int finite = 1, nonzero = 0;
    for (size_t i = 0; i < (size_t)N * T * F; i++) {
        finite &= isfinite(dx[i]) != 0;
        nonzero += dx[i] != 0.0f;
    }
    CU_ASSERT(finite);
    CU_ASSERT(nonzero > N * T * F / 2);
    for (int k = 0; k < cx_model_num_tensors(m); k++) {
        const cx_param *p = cx_model_tensor(m, k);
        double s2 = 0;
        for (size_t i = 0; i < p->size; i++)
            s2 += (double)p->g[i] * p->g[i];
        CU_ASSERT(isfinite(s2) && s2 > 0.0);
    }
    free(x);
    cx_model_free(m);
}

/* Convolutions over time need frames on both sides: no one-frame streaming. */
static void test_crnn_does_not_stream(void)
{
    cx_error err = {{0}};
    cx_model *m;
    CU_ASSERT_EQUAL_FATAL(
        cx_model_create(&m, "input 10 8; image; conv 2 3; seq; gru 4; mean", NULL, &err), CX_OK);
    CU_ASSERT_NOT_EQUAL(cx_model_stream_reset(m, &err), CX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'image'"));
    cx_model_free(m);
}

static void expect_error(const char *spec, const char *needle)
{
    cx_error err = {{0}};
    cx_model *m = NULL;
    CU_ASSERT_NOT_EQUAL(cx_model_create(&m, spec, NULL, &err), CX_OK);
    CU_ASSERT_PTR_NULL(m);
    if (!strstr(err.msg, needle)) {
        printf("\n  spec '%s': message '%s' lacks '%s'", spec, err.msg, needle);
        CU_FAIL("error message does not name the token");
    }
}

static void test_spec_errors(void)
{
    expect_error("input 8 3; conv1d 4 4", "'4'"); /* even kernel */
    expect_error("input 8 3; conv1d 4 0", "'0'");
    expect_error("input 8 3; conv1d 0 3", "'0'");
    expect_error("input 8 3; conv1d 4", "usage");
    expect_error("input 8 3; conv1d 4 3 dilation=0", "'dilation=0'");
    expect_error("input 8 3; conv1d 4 3 dilation=2 dilation=2", "'dilation=2'");
    expect_error("input 8 3; conv1d 4 3 stride=2", "'stride=2'");
    expect_error("input 8; conv1d 4 3", "conv1d"); /* not a sequence */
    expect_error("input 1 8 8; conv1d 4 3", "conv1d");
    expect_error("input 100000 256; conv1d 64 63", "conv1d 64 63': too large");
    expect_error("input 8 3; tnorm std", "'std'");
    expect_error("input 8 3; tnorm mean mean", "'mean'");
    expect_error("input 8; tnorm", "tnorm");
    expect_error("input 3 8 8; tnorm", "tnorm");
    expect_error("input 8 3; image 1", "'1'");
    expect_error("input 8; image", "layer 'image'");
    expect_error("input 1 8 3; image", "layer 'image'");
    expect_error("input 1 8 3; seq 2", "'2'");
    expect_error("input 8 3; seq", "layer 'seq'");
    expect_error("input 8 3; seq", "(C,H,W)");
    expect_error("input 8 3; image; maxpool 0x2", "'0x2'");
}

static void test_spec_canonical(void)
{
    cx_error err;
    cx_model *a, *b;
    CU_ASSERT_EQUAL_FATAL(
        cx_model_create(&a,
                        "input 20 8; tnorm mean; conv1d 16 3 relu; conv1d 8 5 dilation=2; "
                        "tnorm; mean; dense 3",
                        NULL, &err),
        CX_OK);
    CU_ASSERT_STRING_EQUAL(cx_model_spec(a), "input 20 8; tnorm mean; conv1d 16 3 dilation=1; "
                                             "relu; conv1d 8 5 dilation=2; tnorm; mean; dense 3");
    CU_ASSERT_EQUAL(cx_model_num_params(a), 16 * 8 * 3 + 16 + 8 * 16 * 5 + 8 + 8 * 3 + 3);
    const cx_shape *o = &cx_model_layer(a, 3)->out;
    CU_ASSERT(o->ndim == 2 && o->d[0] == 20 && o->d[1] == 8);
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&b, cx_model_spec(a), NULL, &err), CX_OK);
    CU_ASSERT_STRING_EQUAL(cx_model_spec(a), cx_model_spec(b));
    cx_model_free(a);
    cx_model_free(b);
}

/* He initialization: weights spread as sqrt(2 / (C K)). */
static void test_conv1d_init(void)
{
    cx_error err;
    cx_model *m;
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&m, "input 10 40; conv1d 64 5", NULL, &err), CX_OK);
    cx_model_init(m, 11);
    cx_param *w = cx_model_tensor(m, 0), *b = cx_model_tensor(m, 1);
    CU_ASSERT(w->ndim == 3 && w->shape[0] == 64 && w->shape[1] == 40 && w->shape[2] == 5);
    double s2 = 0;
    for (size_t i = 0; i < w->size; i++)
        s2 += (double)w->w[i] * w->w[i];
    CU_ASSERT_DOUBLE_EQUAL(sqrt(s2 / w->size), sqrt(2.0 / 200.0), 0.005);
    for (size_t i = 0; i < b->size; i++)
        CU_ASSERT_EQUAL(b->w[i], 0.0f);
    cx_model_free(m);
}

int main(void)
{
    cx_set_threads(1);
    static const cx_test tests[] = {
        {"conv1d gradient, K 3", test_grad_conv1d_k3},
        {"conv1d gradient, K 5 dilation 2", test_grad_conv1d_k5_dilated},
        {"conv1d gradient, padding longer than T", test_grad_conv1d_wide},
        {"conv1d gradient, K 1", test_grad_conv1d_k1},
        {"conv1d gradient, stacked with activation and pooling", test_grad_conv1d_stack},
        {"tnorm gradient", test_grad_tnorm},
        {"tnorm mean gradient", test_grad_tnorm_mean},
        {"tnorm gradient, one time step", test_grad_tnorm_one_step},
        {"gradient of a small speech model", test_grad_speech_model},
        {"image gradient", test_grad_image},
        {"seq gradient", test_grad_seq},
        {"gradient of a small CRNN", test_grad_crnn},
        {"conv1d K 3 matches PyTorch", test_ref_conv1d_k3},
        {"conv1d K 5 dilation 2 matches PyTorch", test_ref_conv1d_k5d2},
        {"conv1d K 1 matches PyTorch", test_ref_conv1d_k1},
        {"tnorm matches InstanceNorm1d", test_ref_tnorm},
        {"tnorm mean matches PyTorch", test_ref_tnorm_mean},
        {"tnorm output statistics", test_tnorm_statistics},
        {"conv1d samples of a batch are independent", test_conv1d_batch_independent},
        {"conv1d K 1 is a framewise dense layer", test_conv1d_k1_is_framewise_dense},
        {"seq is PyTorch's permute(0, 2, 1, 3) and reshape", test_seq_layout},
        {"CRNN spec: shapes, forward and backward of a batch", test_crnn_shapes},
        {"a CRNN does not stream", test_crnn_does_not_stream},
        {"bad specs name the bad token", test_spec_errors},
        {"canonical spec parses to the same model", test_spec_canonical},
        {"conv1d He initialization", test_conv1d_init},
        {NULL, NULL},
    };
    return cx_test_main("speechlayers", tests);
}
