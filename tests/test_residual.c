/* Residual blocks (res { LAYERS }): gradient checks, PyTorch references,
 * the spec's braces and its errors, a replica's training on two threads. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

#define CHECK(spec, n, training) CU_ASSERT_EQUAL(cx_gradcheck(spec, n, training, 7, 1e-3f, 60), 0)

/* clang-format off */
static void test_identity(void) { CHECK("input 3 5 5; res { conv 3 3 relu; conv 3 3 }; relu", 2, 0); }
static void test_projection_stride(void) { CHECK("input 3 8 8; res { conv 5 3 stride=2 relu; conv 5 3 }", 2, 0); }
static void test_projection_channels(void) { CHECK("input 2 5 6; res { conv 4 3 }", 2, 0); }
static void test_projection_odd(void) { CHECK("input 2 7 7; res { conv 3 3 stride=2 }; relu", 2, 0); }
/* (a dense head: batch statistics into a final relu defeat finite differences, block or not) */
static void test_batchnorm(void) { CHECK("input 3 6 6; res { conv 3 3; batchnorm; relu; conv 3 3; batchnorm }; dense 2", 3, 1); }
static void test_nested(void) { CHECK("input 2 6 6; res { res { conv 2 3 }; relu; conv 3 3 }; gap; dense 2", 2, 0); }
static void test_vector(void) { CHECK("input 6; res { dense 6 tanh; dense 6 }; dense 3", 3, 0); }
static void test_sequence(void) { CHECK("input 5 4; res { conv1d 4 3 relu }; gru 3; mean", 2, 0); }
/* clang-format on */

/* A case written by tests/ref/make_ref_residual.py: x, the parameters in
 * tensor order, dy, y, dx, the parameters' gradients. */
static void check_ref(const char *spec, int n, const char *file)
{
    cx_model *m;
    cx_error err;
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&m, spec, NULL, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(cx_model_reserve(m, n, &err), CX_OK);
    cx_model_want_input_grad(m, 1);
    size_t nx = cx_shape_size(cx_model_input_shape(m)) * n;
    size_t ny = cx_shape_size(cx_model_output_shape(m)) * n;
    int nt = cx_model_num_tensors(m);
    size_t np = 0;
    for (int k = 0; k < nt; k++)
        np += cx_model_tensor(m, k)->size;
    size_t total = 2 * nx + 2 * ny + 2 * np;
    float *buf = malloc(total * sizeof *buf);
    CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
    if (cx_read_fixture(file, buf, total)) {
        CU_FAIL("fixture missing or of the wrong size");
        free(buf);
        cx_model_free(m);
        return;
    }
    const float *x = buf, *p = x + nx;
    for (int k = 0; k < nt; k++) {
        cx_param *t = cx_model_tensor(m, k);
        memcpy(t->w, p, t->size * sizeof *p);
        p += t->size;
    }
    const float *dy = p, *y = dy + ny, *dx = y + ny, *dp = dx + nx;
    /* (parameter gradients to 3e-4: Winograd's 3x3 convolution sums in another order) */
    const float *out = cx_model_forward(m, n, x);
    double e = cx_max_rel_err(out, y, ny, 1e-3);
    if (e > 1e-4) fprintf(stderr, "  %s: output rel err %g\n", spec, e);
    CU_ASSERT(e <= 1e-4);
    cx_model_zero_grad(m);
    cx_model_backward(m, n, dy);
    e = cx_max_rel_err(cx_model_input_grad(m), dx, nx, 1e-3);
    if (e > 1e-4) fprintf(stderr, "  %s: input gradient rel err %g\n", spec, e);
    CU_ASSERT(e <= 1e-4);
    for (int k = 0; k < nt; k++) {
        cx_param *t = cx_model_tensor(m, k);
        e = cx_max_rel_err(t->g, dp, t->size, 1e-3);
        if (e > 3e-4) fprintf(stderr, "  %s: tensor %d gradient rel err %g\n", spec, k, e);
        CU_ASSERT(e <= 3e-4);
        dp += t->size;
    }
    free(buf);
    cx_model_free(m);
}

static void test_ref_projection(void)
{
    check_ref("input 3 8 8; res { conv 6 3 stride=2 pad=1 relu; conv 6 3 pad=1 }; relu", 2,
              "res_proj.f32");
}

static void test_ref_nested(void)
{
    check_ref("input 4 5 5; res { conv 4 3 pad=1 relu; res { conv 4 3 pad=1 } }; relu", 3,
              "res_nested.f32");
}

/* The canonical spec keeps the braces and reads back to itself; braces
 * need no spaces; the projection's tensors have names. */
static void test_spec(void)
{
    cx_model *m, *m2;
    cx_error err;
    CU_ASSERT_EQUAL_FATAL(
        cx_model_create(&m, "input 3 8 8;res{conv 4 3 stride=2 relu;conv 4 3}; relu", NULL, &err),
        CX_OK);
    const char *want = "input 3 8 8; res { conv 4 3 stride=2 pad=1; relu; conv 4 3 stride=1 pad=1 "
                       "}; relu";
    if (strcmp(cx_model_spec(m), want)) fprintf(stderr, "  spec: %s\n", cx_model_spec(m));
    CU_ASSERT_STRING_EQUAL(cx_model_spec(m), want);
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&m2, cx_model_spec(m), NULL, &err), CX_OK);
    CU_ASSERT_STRING_EQUAL(cx_model_spec(m2), want);
    CU_ASSERT_EQUAL(cx_model_num_params(m), cx_model_num_params(m2));
    /* conv 4x3x3x3 + 4, conv 4x4x3x3 + 4, projection 4x3 + 4 */
    CU_ASSERT_EQUAL(cx_model_num_params(m), (size_t)(108 + 4 + 144 + 4 + 12 + 4));
    CU_ASSERT_EQUAL(cx_model_num_tensors(m), 6);
    cx_model_free(m);
    cx_model_free(m2);
}

static void expect_error(const char *spec, const char *words)
{
    cx_model *m = NULL;
    cx_error err;
    cx_status st = cx_model_create(&m, spec, NULL, &err);
    CU_ASSERT_NOT_EQUAL(st, CX_OK);
    if (st == CX_OK) {
        fprintf(stderr, "  accepted: %s\n", spec);
        cx_model_free(m);
        return;
    }
    if (!strstr(err.msg, words)) fprintf(stderr, "  %s -> %s\n", spec, err.msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, words));
}

static void test_errors(void)
{
    expect_error("input 3 8 8; res conv 4 3 }", "'{'");
    expect_error("input 3 8 8; conv 4 3 }", "without a 'res {'");
    expect_error("input 3 8 8; }", "without a 'res {'");
    expect_error("input 3 8 8; res { conv 4 3", "without its '}'");
    expect_error("input 3 8 8; res { conv 4 { 3 }", "in the middle");
    expect_error("input 6; res { dense 4 }", "a shortcut can project only");
    expect_error("input 3 8 8; res { conv 4 3; flatten }", "a shortcut can project only");
    expect_error("input 3 8 8; res { conv 4 3 pad=valid }", "a shortcut can project only");
    expect_error("input 3 8 8; } 3 8 8", "in the middle");
}

/* cx_train on two threads (the batch split between replicas, each with its
 * own shortcut gradients) trains the model one thread trains, to rounding. */
enum { TN = 64, TIN = 72 };
static float tx[TN * TIN];
static int ty[TN];

static cx_status tget(void *ctx, const int *idx, int n, int augment, cx_rng *rng, float *x,
                      int *labels, cx_error *err)
{
    (void)ctx, (void)augment, (void)rng, (void)err;
    for (int i = 0; i < n; i++) {
        memcpy(x + (size_t)i * TIN, tx + (size_t)idx[i] * TIN, TIN * sizeof *x);
        labels[i] = ty[idx[i]];
    }
    return CX_OK;
}

static void test_threads(void)
{
    const char *spec = "input 2 6 6; res { conv 3 3; batchnorm; relu; conv 4 3 stride=2 }; gap; "
                       "dense 2";
    cx_rng rng;
    cx_rng_seed(&rng, 5);
    cx_fill_uniform(tx, TN * TIN, -1, 1, &rng);
    for (int i = 0; i < TN; i++)
        ty[i] = tx[i * TIN] + tx[i * TIN + 40] > 0;
    float *w[2] = {NULL, NULL};
    size_t nw = 0;
    char path[64];
    snprintf(path, sizeof path, "/tmp/cx_test_residual_%d.safetensors", (int)getpid());
    for (int t = 1; t <= 2; t++) {
        cx_model *m;
        cx_error err;
        CU_ASSERT_EQUAL_FATAL(cx_model_create(&m, spec, NULL, &err), CX_OK);
        cx_model_init(m, 3);
        cx_set_threads(t);
        cx_train_config cfg = cx_train_defaults();
        cfg.epochs = 2;
        cfg.batch = 16;
        cfg.lr = 0.05f;
        cfg.schedule = CX_SCHED_CONSTANT;
        cfg.optim = cx_optim_defaults(CX_OPT_SGD);
        cfg.out_path = path;
        cx_train_source ts = {NULL, TN, tget};
        cx_train_result res;
        CU_ASSERT_EQUAL(cx_train(m, &ts, NULL, &cfg, &res, &err), CX_OK);
        cx_train_result_free(&res);
        float *p = cx_model_param_block(m, &nw);
        w[t - 1] = malloc(nw * sizeof *p);
        memcpy(w[t - 1], p, nw * sizeof *p);
        cx_model_free(m);
    }
    remove(path);
    cx_set_threads(1);
    double d = cx_max_rel_err(w[0], w[1], nw, 1e-3);
    fprintf(stderr, "  8 SGD steps: 2 threads within %.2g of 1 thread\n", d);
    CU_ASSERT(d < 1e-4);
    free(w[0]);
    free(w[1]);
}

/* Fine-tuning: cx_model_transfer copies the leading layers that agree (a
 * new last layer for other labels stays as initialized), cx_model_freeze
 * keeps the first layers out of the optimizer's steps. */
static void test_transfer_freeze(void)
{
    cx_model *a, *b, *c;
    cx_error err;
    const char *body = "input 2 6 6; conv 3 3; bn; relu; res { conv 3 3 }; gap; dense ";
    char sa[128], sb[128];
    snprintf(sa, sizeof sa, "%s4", body);
    snprintf(sb, sizeof sb, "%s2", body);
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&a, sa, NULL, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&b, sb, NULL, &err), CX_OK);
    cx_model_init(a, 1);
    cx_model_init(b, 2);
    float last[8];
    memcpy(last, cx_model_tensor(b, cx_model_num_tensors(b) - 2)->w, sizeof last);
    int n = -1;
    CU_ASSERT_EQUAL_FATAL(cx_model_transfer(b, a, &n, &err), CX_OK);
    CU_ASSERT_EQUAL(n, cx_model_num_layers(b) - 1);
    for (int k = 0; k < cx_model_num_tensors(b) - 2; k++)
        CU_ASSERT_EQUAL(memcmp(cx_model_tensor(b, k)->w, cx_model_tensor(a, k)->w,
                               cx_model_tensor(b, k)->size * sizeof(float)),
                        0);
    CU_ASSERT_EQUAL(memcmp(cx_model_tensor(b, cx_model_num_tensors(b) - 2)->w, last, sizeof last),
                    0);
    /* an architecture that differs from the first layer on is refused */
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&c, "input 2 6 6; conv 4 3; gap; dense 2", NULL, &err),
                          CX_OK);
    CU_ASSERT_NOT_EQUAL(cx_model_transfer(c, a, &n, &err), CX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "first layers differ"));
    cx_model_free(c);
    /* frozen: conv and bn (the first 2 layers) do not move in a step */
    cx_model_freeze(b, 2);
    size_t nw;
    float *w = cx_model_param_block(b, &nw);
    float *before = malloc(nw * sizeof *before);
    memcpy(before, w, nw * sizeof *w);
    cx_optim_config oc = cx_optim_defaults(CX_OPT_SGD);
    cx_optim *o;
    CU_ASSERT_EQUAL_FATAL(cx_optim_create(&o, b, &oc, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(cx_model_reserve(b, 4, &err), CX_OK);
    float x[4 * 72], dz[8];
    int y[4] = {0, 1, 0, 1};
    cx_rng rng;
    cx_rng_seed(&rng, 9);
    cx_fill_uniform(x, 4 * 72, -1, 1, &rng);
    cx_model_set_training(b, 1);
    cx_model_zero_grad(b);
    cx_softmax_xent(cx_model_forward(b, 4, x), y, 4, 2, 0.0f, dz, NULL);
    cx_model_backward(b, 4, dz);
    cx_optim_step(o, 0.1f);
    cx_param *conv_w = cx_model_tensor(b, 0), *bn_w = cx_model_tensor(b, 2);
    cx_param *res_w = cx_model_tensor(b, 6);
    CU_ASSERT_EQUAL(memcmp(conv_w->w, before + (conv_w->w - w), conv_w->size * sizeof(float)), 0);
    CU_ASSERT_EQUAL(memcmp(bn_w->w, before + (bn_w->w - w), bn_w->size * sizeof(float)), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(res_w->w, before + (res_w->w - w), res_w->size * sizeof(float)), 0);
    free(before);
    cx_optim_free(o);
    cx_model_free(a);
    cx_model_free(b);
}

int main(void)
{
    cx_set_threads(1);
    static const cx_test tests[] = {
        {"res gradient, identity shortcut", test_identity},
        {"res gradient, 1x1 projection with stride 2", test_projection_stride},
        {"res gradient, projection of channels", test_projection_channels},
        {"res gradient, odd size strided", test_projection_odd},
        {"res gradient, batch norm in training mode", test_batchnorm},
        {"res gradient, nested blocks", test_nested},
        {"res gradient, vectors", test_vector},
        {"res gradient, sequences", test_sequence},
        {"res matches PyTorch, projection", test_ref_projection},
        {"res matches PyTorch, nested", test_ref_nested},
        {"res spec: canonical text, round trip, no spaces needed", test_spec},
        {"res spec errors", test_errors},
        {"res on one and two threads", test_threads},
        {"fine-tuning: transfer and freeze", test_transfer_freeze},
        {NULL, NULL},
    };
    return cx_test_main("residual", tests);
}
