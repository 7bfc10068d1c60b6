/* Batch normalization, the loss and the optimizers against PyTorch
 * (fixtures from tests/ref/make_ref_basic.py). */
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define TOL 1e-4

static float *fixture(const char *name, size_t n)
{
    char full[128];
    snprintf(full, sizeof full, "basic_%s.f32", name);
    float *v = malloc(n * sizeof *v);
    CU_ASSERT_FATAL(v != NULL);
    CU_ASSERT_EQUAL_FATAL(cx_read_fixture(full, v, n), 0);
    return v;
}

static void expect_close(const char *what, const float *got, const char *ref, size_t n)
{
    float *want = fixture(ref, n);
    double e = cx_max_rel_err(got, want, n, 1e-3);
    if (e > TOL) fprintf(stderr, "  %s: max relative error %.3g\n", what, e);
    CU_ASSERT(e <= TOL);
    free(want);
}

static void test_batchnorm(void)
{
    enum { N = 4, C = 3, HW = 25, SZ = N * C * HW };
    cx_error err;
    cx_model *m;
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&m, "input 3 5 5; batchnorm", NULL, &err), CX_OK);
    cx_model_init(m, 1);
    CU_ASSERT_EQUAL_FATAL(cx_model_reserve(m, N, &err), CX_OK);
    float *x = fixture("bn_x", SZ), *dy = fixture("bn_dy", SZ);
    float *w = fixture("bn_weight", C), *b = fixture("bn_bias", C);
    memcpy(cx_model_tensor(m, 0)->w, w, C * sizeof(float));
    memcpy(cx_model_tensor(m, 1)->w, b, C * sizeof(float));
    cx_model_set_training(m, 1);
    cx_model_want_input_grad(m, 1);
    cx_model_zero_grad(m);
    expect_close("bn y", cx_model_forward(m, N, x), "bn_y", SZ);
    cx_model_backward(m, N, dy);
    expect_close("bn dx", cx_model_input_grad(m), "bn_dx", SZ);
    expect_close("bn dweight", cx_model_tensor(m, 0)->g, "bn_dweight", C);
    expect_close("bn dbias", cx_model_tensor(m, 1)->g, "bn_dbias", C);
    expect_close("bn running mean", cx_model_tensor(m, 2)->w, "bn_running_mean", C);
    expect_close("bn running var", cx_model_tensor(m, 3)->w, "bn_running_var", C);
    cx_model_set_training(m, 0);
    expect_close("bn eval y", cx_model_forward(m, N, x), "bn_y_eval", SZ);
    free(x), free(dy), free(w), free(b);
    cx_model_free(m);
}

static void test_xent(void)
{
    enum { N = 6, K = 5 };
    int labels[N] = {0, 4, 2, 2, 1, 3};
    float *z = fixture("xent_logits", N * K);
    float grad[N * K];
    float loss = cx_softmax_xent(z, labels, N, K, 0.0f, grad, NULL);
    expect_close("loss", &loss, "xent_loss_plain", 1);
    expect_close("loss grad", grad, "xent_grad_plain", N * K);
    loss = cx_softmax_xent(z, labels, N, K, 0.1f, grad, NULL);
    expect_close("smoothed loss", &loss, "xent_loss_smooth", 1);
    expect_close("smoothed loss grad", grad, "xent_grad_smooth", N * K);
    free(z);
}

static void run_optimizer(const char *name, float wd)
{
    cx_error err;
    cx_model *m;
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&m, "input 10; dense 1", NULL, &err), CX_OK);
    float *w0 = fixture("opt_w0", 10), *b0 = fixture("opt_b0", 1);
    float *gw = fixture("opt_gw", 30), *gb = fixture("opt_gb", 3);
    cx_param *w = cx_model_tensor(m, 0), *b = cx_model_tensor(m, 1);
    memcpy(w->w, w0, sizeof(float) * 10);
    b->w[0] = b0[0];
    cx_optim_config cfg;
    CU_ASSERT_EQUAL_FATAL(cx_optim_parse(name, &cfg, &err), CX_OK);
    cfg.weight_decay = wd;
    float lr = cfg.kind == CX_OPT_SGD ? 0.1f : 0.01f;
    cx_optim *o;
    CU_ASSERT_EQUAL_FATAL(cx_optim_create(&o, m, &cfg, &err), CX_OK);
    for (int s = 0; s < 3; s++) {
        memcpy(w->g, gw + 10 * s, sizeof(float) * 10);
        b->g[0] = gb[s];
        cx_optim_step(o, lr);
    }
    char ref[64];
    snprintf(ref, sizeof ref, "opt_%s_w", name);
    expect_close(ref, w->w, ref, 10);
    snprintf(ref, sizeof ref, "opt_%s_b", name);
    expect_close(ref, b->w, ref, 1);
    cx_optim_free(o);
    cx_model_free(m);
    free(w0), free(b0), free(gw), free(gb);
}

static void test_sgd(void)
{
    run_optimizer("sgd", 0.05f);
}
static void test_nesterov(void)
{
    run_optimizer("nesterov", 0.05f);
}
static void test_adam(void)
{
    run_optimizer("adam", 0.05f);
}
static void test_adamw(void)
{
    run_optimizer("adamw", 0.1f);
}

int main(void)
{
    cx_set_threads(1);
    static const cx_test tests[] = {
        {"batchnorm matches PyTorch (train, eval, running stats)", test_batchnorm},
        {"softmax cross-entropy matches PyTorch", test_xent},
        {"SGD with momentum matches PyTorch", test_sgd},
        {"SGD with Nesterov momentum matches PyTorch", test_nesterov},
        {"Adam matches PyTorch", test_adam},
        {"AdamW matches PyTorch", test_adamw},
        {NULL, NULL},
    };
    return cx_test_main("torch_basic", tests);
}
