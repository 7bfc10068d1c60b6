#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cx_test_main(const char *suite_name, const cx_test *tests)
{
    if (CU_initialize_registry() != CUE_SUCCESS) return 1;
    CU_pSuite suite = CU_add_suite(suite_name, NULL, NULL);
    if (!suite) return 1;
    for (const cx_test *t = tests; t->name; t++)
        if (!CU_add_test(suite, t->name, t->fn)) return 1;
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}

void cx_fill_uniform(float *v, size_t n, float lo, float hi, cx_rng *rng)
{
    for (size_t i = 0; i < n; i++)
        v[i] = lo + (hi - lo) * cx_rng_uniform(rng);
}

double cx_max_rel_err(const float *a, const float *b, size_t n, double floor)
{
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        double s = fabs((double)b[i]);
        double e = d / (s > floor ? s : floor);
        if (!(e <= worst)) worst = e; /* NaN propagates as a failure */
    }
    return worst;
}

int cx_read_fixture(const char *name, float *out, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", CX_TEST_DATA, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fixture %s: cannot open\n", path);
        return -1;
    }
    size_t got = fread(out, sizeof(float), n, f);
    int extra = fgetc(f);
    fclose(f);
    if (got != n || extra != EOF) {
        fprintf(stderr, "fixture %s: expected %zu floats\n", path, n);
        return -1;
    }
    return 0;
}

static double loss_of(cx_model *m, int n, const float *x, const float *r, size_t out_n)
{
    cx_rng_seed(cx_model_rng(m), 1234);
    const float *y = cx_model_forward(m, n, x);
    double s = 0.0;
    for (size_t i = 0; i < out_n; i++)
        s += (double)y[i] * r[i];
    return s;
}

static int compare(const char *what, int idx, double analytic, double numeric, int *reported)
{
    double diff = fabs(analytic - numeric);
    double scale = fmax(fabs(analytic), fabs(numeric));
    if (diff <= 2e-3 + 2e-2 * scale) return 0;
    if ((*reported)++ < 5)
        fprintf(stderr, "  gradcheck %s[%d]: analytic %.6f numeric %.6f\n", what, idx, analytic,
                numeric);
    return 1;
}

int cx_gradcheck(const char *spec, int n, int training, uint64_t seed, float eps, int samples)
{
    cx_error err;
    cx_model *m = NULL;
    if (cx_model_create(&m, spec, NULL, &err)) {
        fprintf(stderr, "gradcheck: %s\n", err.msg);
        return 1000000;
    }
    cx_model_init(m, seed);
    cx_model_set_training(m, training);
    cx_model_want_input_grad(m, 1);
    if (cx_model_reserve(m, n, &err)) {
        fprintf(stderr, "gradcheck: %s\n", err.msg);
        cx_model_free(m);
        return 1000000;
    }
    cx_rng rng;
    cx_rng_seed(&rng, seed + 1);
    size_t in_n = (size_t)n * cx_shape_size(cx_model_input_shape(m));
    size_t out_n = (size_t)n * cx_shape_size(cx_model_output_shape(m));
    float *x = malloc(in_n * sizeof *x), *r = malloc(out_n * sizeof *r);
    float *dx = malloc(in_n * sizeof *dx);
    cx_fill_uniform(x, in_n, -1.0f, 1.0f, &rng);
    cx_fill_uniform(r, out_n, -1.0f, 1.0f, &rng);
    /* Biases start at zero; make them nonzero so their effect is tested. */
    for (int k = 0; k < cx_model_num_tensors(m); k++) {
        cx_param *p = cx_model_tensor(m, k);
        if (p->trainable && p->init == CX_INIT_ZERO)
            cx_fill_uniform(p->w, p->size, -0.5f, 0.5f, &rng);
    }

    cx_model_zero_grad(m);
    loss_of(m, n, x, r, out_n);
    cx_model_backward(m, n, r);
    memcpy(dx, cx_model_input_grad(m), in_n * sizeof *dx);

    int bad = 0, reported = 0;
    size_t step = in_n / (size_t)samples + 1;
    for (size_t i = 0; i < in_n; i += step) {
        float keep = x[i];
        x[i] = keep + eps;
        double lp = loss_of(m, n, x, r, out_n);
        x[i] = keep - eps;
        double lm = loss_of(m, n, x, r, out_n);
        x[i] = keep;
        bad += compare("input", (int)i, dx[i], (lp - lm) / (2.0 * eps), &reported);
    }
    for (int k = 0; k < cx_model_num_tensors(m); k++) {
        cx_param *p = cx_model_tensor(m, k);
        if (!p->trainable) continue;
        char name[64];
        cx_model_tensor_name(m, k, name, sizeof name);
        size_t pstep = p->size / (size_t)samples + 1;
        for (size_t i = 0; i < p->size; i += pstep) {
            float keep = p->w[i];
            p->w[i] = keep + eps;
            double lp = loss_of(m, n, x, r, out_n);
            p->w[i] = keep - eps;
            double lm = loss_of(m, n, x, r, out_n);
            p->w[i] = keep;
            bad += compare(name, (int)i, p->g[i], (lp - lm) / (2.0 * eps), &reported);
        }
    }
    free(x);
    free(r);
    free(dx);
    cx_model_free(m);
    return bad;
}
