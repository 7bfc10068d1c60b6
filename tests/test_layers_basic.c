/* Gradient checks and behaviour of the simple layers: dense, activations,
 * flatten, dropout, batch normalization, and the softmax cross-entropy. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define CHECK(spec, n, training) CU_ASSERT_EQUAL(cx_gradcheck(spec, n, training, 7, 1e-3f, 60), 0)

static void test_dense(void)
{
    CHECK("input 7; dense 5", 3, 0);
}
static void test_dense_flattens(void)
{
    CHECK("input 2 3 3; dense 4", 2, 0);
}
/* Activations sit behind a dense layer so their inputs are spread out; kinks
 * (relu at 0) are measure-zero for random inputs. */
static void test_relu(void)
{
    CHECK("input 6; dense 8 relu; dense 3", 4, 0);
}
static void test_leaky(void)
{
    CHECK("input 6; dense 8; leaky 0.1; dense 3", 4, 0);
}
static void test_gelu(void)
{
    CHECK("input 6; dense 8 gelu", 4, 0);
}
static void test_sigmoid(void)
{
    CHECK("input 6; dense 8 sigmoid", 4, 0);
}
static void test_tanh(void)
{
    CHECK("input 6; dense 8 tanh", 4, 0);
}
static void test_flatten(void)
{
    CHECK("input 2 2 3; flatten; dense 3", 2, 0);
}
static void test_dropout_train(void)
{
    CHECK("input 10; dropout 0.4; dense 3", 5, 1);
}
static void test_bn_vector_train(void)
{
    CHECK("input 5; batchnorm; dense 3", 6, 1);
}
static void test_bn_image_train(void)
{
    CHECK("input 3 4 4; batchnorm; dense 2", 4, 1);
}
static void test_bn_sequence_train(void)
{
    CHECK("input 4 3; batchnorm; dense 2", 3, 1);
}
static void test_bn_eval(void)
{
    CHECK("input 3 4 4; batchnorm; dense 2", 4, 0);
}

static void test_dropout_eval_identity(void)
{
    cx_error err;
    cx_model *m;
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&m, "input 100; dropout 0.5", NULL, &err), CX_OK);
    cx_model_reserve(m, 2, &err);
    float x[200];
    for (int i = 0; i < 200; i++)
        x[i] = (float)i;
    const float *y = cx_model_forward(m, 2, x);
    CU_ASSERT_EQUAL(memcmp(x, y, sizeof x), 0);
    cx_model_set_training(m, 1);
    y = cx_model_forward(m, 2, x);
    int zeros = 0;
    for (int i = 1; i < 200; i++)
        zeros += y[i] == 0.0f;
    CU_ASSERT(zeros > 60 && zeros < 140);
    cx_model_free(m);
}

static void test_xent_gradient(void)
{
    enum { N = 3, K = 5 };
    cx_rng rng;
    cx_rng_seed(&rng, 3);
    float z[N * K], dz[N * K];
    int y[N] = {0, 4, 2};
    cx_fill_uniform(z, N * K, -3, 3, &rng);
    for (int s = 0; s < 2; s++) {
        float smooth = s ? 0.1f : 0.0f;
        cx_softmax_xent(z, y, N, K, smooth, dz, NULL);
        for (int i = 0; i < N * K; i++) {
            float keep = z[i];
            z[i] = keep + 1e-3f;
            double lp = cx_softmax_xent(z, y, N, K, smooth, NULL, NULL);
            z[i] = keep - 1e-3f;
            double lm = cx_softmax_xent(z, y, N, K, smooth, NULL, NULL);
            z[i] = keep;
            CU_ASSERT_DOUBLE_EQUAL(dz[i], (lp - lm) / 2e-3, 1e-3);
        }
    }
}

/* With a teacher's soft targets: the gradient is the loss's; weight 0 (or
 * no soft rows) is the plain loss bit for bit; weight 1 ignores the labels. */
static void test_xent_soft(void)
{
    enum { N = 3, K = 5 };
    cx_rng rng;
    cx_rng_seed(&rng, 5);
    float z[N * K], dz[N * K], soft[N * K], d0[N * K];
    int y[N] = {1, 0, 3}, other[N] = {4, 2, 0};
    cx_fill_uniform(z, N * K, -3, 3, &rng);
    cx_softmax(z, N, K, soft);
    for (int i = 0; i < N * K; i++)
        soft[i] = 0.5f * soft[i] + 0.5f / K;
    cx_softmax_xent_soft(z, y, soft, 0.7f, N, K, 0.1f, dz, NULL);
    for (int i = 0; i < N * K; i++) {
        float keep = z[i];
        z[i] = keep + 1e-3f;
        double lp = cx_softmax_xent_soft(z, y, soft, 0.7f, N, K, 0.1f, NULL, NULL);
        z[i] = keep - 1e-3f;
        double lm = cx_softmax_xent_soft(z, y, soft, 0.7f, N, K, 0.1f, NULL, NULL);
        z[i] = keep;
        CU_ASSERT_DOUBLE_EQUAL(dz[i], (lp - lm) / 2e-3, 1e-3);
    }
    float l0 = cx_softmax_xent(z, y, N, K, 0.1f, d0, NULL);
    CU_ASSERT_EQUAL(cx_softmax_xent_soft(z, y, soft, 0.0f, N, K, 0.1f, dz, NULL), l0);
    CU_ASSERT_EQUAL(memcmp(dz, d0, sizeof dz), 0);
    CU_ASSERT_EQUAL(cx_softmax_xent_soft(z, y, NULL, 0.5f, N, K, 0.1f, dz, NULL), l0);
    CU_ASSERT_EQUAL(cx_softmax_xent_soft(z, y, soft, 1.0f, N, K, 0.1f, NULL, NULL),
                    cx_softmax_xent_soft(z, other, soft, 1.0f, N, K, 0.1f, NULL, NULL));
}

static void test_xent_stable(void)
{
    float z[3] = {1000.0f, -1000.0f, 0.0f}, dz[3], p[3];
    int y = 0;
    float loss = cx_softmax_xent(z, &y, 1, 3, 0.0f, dz, p);
    CU_ASSERT(isfinite(loss));
    CU_ASSERT_DOUBLE_EQUAL(loss, 0.0, 1e-6);
    y = 1;
    loss = cx_softmax_xent(z, &y, 1, 3, 0.0f, dz, p);
    CU_ASSERT_DOUBLE_EQUAL(loss, 2000.0, 1e-2);
    CU_ASSERT(isfinite(dz[0]) && isfinite(dz[1]));
}

static void test_spec_errors(void)
{
    cx_error err;
    cx_model *m = NULL;
    CU_ASSERT_NOT_EQUAL(cx_model_create(&m, "input 1 28 28; conv 32 x3 relu", NULL, &err), CX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'x3'"));
    CU_ASSERT_NOT_EQUAL(cx_model_create(&m, "input 10; dense 5; frobnicate 3", NULL, &err), CX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "frobnicate"));
    CU_ASSERT_NOT_EQUAL(cx_model_create(&m, "dense 5", NULL, &err), CX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "input"));
    CU_ASSERT_NOT_EQUAL(cx_model_create(&m, "input 10; dropout 1.5", NULL, &err), CX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'1.5'"));
    CU_ASSERT_NOT_EQUAL(cx_model_create(&m, "input 10; dense -4", NULL, &err), CX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "'-4'"));
    CU_ASSERT_NOT_EQUAL(cx_model_create(&m, "input 0 3", NULL, &err), CX_OK);
    CU_ASSERT_NOT_EQUAL(cx_model_create(&m, "", NULL, &err), CX_OK);
    CU_ASSERT_PTR_NULL(m);
}

static void test_spec_roundtrip(void)
{
    cx_error err;
    cx_model *a, *b;
    CU_ASSERT_EQUAL_FATAL(
        cx_model_create(&a, "input 20; dense 16 relu; dropout 0.25; dense 8 tanh; dense 3", NULL,
                        &err),
        CX_OK);
    CU_ASSERT_EQUAL(cx_model_num_layers(a), 6);
    CU_ASSERT_EQUAL(cx_model_num_params(a), 20 * 16 + 16 + 16 * 8 + 8 + 8 * 3 + 3);
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&b, cx_model_spec(a), NULL, &err), CX_OK);
    CU_ASSERT_STRING_EQUAL(cx_model_spec(a), cx_model_spec(b));
    cx_model_free(a);
    cx_model_free(b);
}

int main(void)
{
    cx_set_threads(1);
    static const cx_test tests[] = {
        {"dense gradient", test_dense},
        {"dense flattens its input", test_dense_flattens},
        {"relu gradient", test_relu},
        {"leaky relu gradient", test_leaky},
        {"gelu gradient", test_gelu},
        {"sigmoid gradient", test_sigmoid},
        {"tanh gradient", test_tanh},
        {"flatten gradient", test_flatten},
        {"dropout gradient (training)", test_dropout_train},
        {"dropout is the identity in evaluation", test_dropout_eval_identity},
        {"batchnorm gradient, vectors, training", test_bn_vector_train},
        {"batchnorm gradient, images, training", test_bn_image_train},
        {"batchnorm gradient, sequences, training", test_bn_sequence_train},
        {"batchnorm gradient, evaluation", test_bn_eval},
        {"softmax cross-entropy gradient", test_xent_gradient},
        {"softmax cross-entropy is stable", test_xent_stable},
        {"softmax cross-entropy with a teacher's soft targets", test_xent_soft},
        {"bad specs name the bad token", test_spec_errors},
        {"canonical spec parses to the same model", test_spec_roundtrip},
        {NULL, NULL},
    };
    return cx_test_main("layers_basic", tests);
}
