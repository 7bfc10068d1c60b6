/* Sliding windows (cx_slide, model.h): on a stream of windows a few frames
 * apart it gives what the whole-window forward gives, for convolutional
 * front ends with and without padding, time strides and pooling, shifts
 * that do and do not line up with them, ensembles, irregular shifts and
 * resets; models it cannot help run their plain forward. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define TOL 1e-4

static cx_model *make(const char *spec, uint64_t seed)
{
    cx_model *m = NULL;
    cx_error err;
    if (cx_model_create(&m, spec, NULL, &err)) {
        printf("\n  %s: %s", spec, err.msg);
        return NULL;
    }
    cx_model_init(m, seed);
    /* batch-norm statistics that are not the identity */
    cx_rng rng;
    cx_rng_seed(&rng, seed + 7);
    for (int i = 0; i < cx_model_num_layers(m); i++) {
        cx_layer *l = cx_model_layer(m, i);
        if (strcmp(l->kind->name, "batchnorm")) continue;
        for (int j = 0; j < l->nparams; j++)
            cx_fill_uniform(l->params[j].w, l->params[j].size, 0.5f, 1.5f, &rng);
    }
    if (cx_model_reserve(m, 1, &err)) {
        cx_model_free(m);
        return NULL;
    }
    return m;
}

/* Runs windows of m over a random stream at the given shifts (cycled),
 * shift -1 meaning "reset first", and returns the largest relative error
 * of the slide against the forward; *rows gets cx_slide_rows, *whole
 * the whole-window runs after the first four windows (a network may take
 * windows in turn through up to four caches, each starting whole). */
static double run(cx_model *m, int steady, const int *shifts, int nshift, int evals, int *rows,
                  int64_t *whole)
{
    const cx_shape *in = cx_model_input_shape(m);
    int T = in->d[0], F = in->d[1], K = (int)cx_shape_size(cx_model_output_shape(m));
    cx_slide *s = NULL;
    cx_error err;
    CU_ASSERT_EQUAL_FATAL(cx_slide_create(&s, m, steady, &err), CX_OK);
    *rows = cx_slide_rows(s);
    size_t frames = (size_t)T + (size_t)evals * (size_t)(T + 1);
    float *x = malloc(frames * (size_t)F * sizeof *x), *ref = malloc((size_t)K * sizeof *ref);
    CU_ASSERT_FATAL(x && ref);
    cx_rng rng;
    cx_rng_seed(&rng, 11);
    cx_fill_uniform(x, frames * (size_t)F, -2.0f, 2.0f, &rng);
    double worst = 0.0;
    int64_t warm = 0;
    size_t at = 0;
    for (int e = 0; e < evals; e++) {
        int sh = e == 0 ? -1 : shifts[e % nshift];
        if (sh > 0) at += (size_t)sh;
        if (sh == -1 && e > 0) cx_slide_reset(s);
        if (at + (size_t)T > frames) break;
        const float *w = x + at * (size_t)F;
        memcpy(ref, cx_model_forward(m, 1, w), (size_t)K * sizeof *ref);
        const float *y = cx_slide_forward(s, w, sh);
        CU_ASSERT_PTR_NOT_NULL_FATAL(y);
        double r = cx_max_rel_err(y, ref, (size_t)K, 1e-2);
        if (r > worst) worst = r;
        if (e == 3) warm = cx_slide_whole_runs(s);
    }
    *whole = cx_slide_whole_runs(s) - warm;
    cx_slide_free(s);
    free(x);
    free(ref);
    return worst;
}

static void check(const char *spec, int steady, int expect_cached)
{
    cx_model *m = make(spec, 3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    int T = cx_model_input_shape(m)->d[0];
    int regular[] = {steady};
    int rows = 0;
    int64_t whole = 0, whole2 = 0;
    double e1 = run(m, steady, regular, 1, 40, &rows, &whole);
    /* irregular: twice the shift, one more, a reset, the shift again */
    int odd[] = {steady, 2 * steady, steady + 1, -1, steady, steady};
    int rows2 = 0;
    double e2 = run(m, steady, odd, 6, 40, &rows2, &whole2);
    printf("\n  %s, shift %d: %d of %d rows per window, error %.1e steady, %.1e irregular", spec,
           steady, rows, T, e1, e2);
    CU_ASSERT(e1 < TOL);
    CU_ASSERT(e2 < TOL);
    if (expect_cached) {
        CU_ASSERT(rows < T);
        CU_ASSERT_EQUAL(whole, 0); /* none in the steady state */
        CU_ASSERT(whole2 > 0);     /* after the resets */
    } else {
        CU_ASSERT_EQUAL(rows, T);
    }
    cx_model_free(m);
}

static void test_crnn(void)
{
    const char *spec = "input 40 12; image; conv 4 3; batchnorm; relu; maxpool 1x2; conv 6 3 relu; "
                       "maxpool 1x2; seq; gru 8; mean; dense 5";
    check(spec, 1, 1);
    check(spec, 3, 1);
    check(spec, 5, 1);
}

static void test_time_pooling(void)
{
    const char *spec = "input 40 8; image; conv 4 3; bn; relu; maxpool 2; conv 4 3 relu; maxpool "
                       "1x2; seq; gru 6; last; dense 3";
    check(spec, 4, 1); /* lines up with the pooling: all of the front end is kept */
    check(spec, 2, 1);
    check(spec, 3, 1); /* does not: only the layers before the pooling are */
}

static void test_valid_padding_and_stride(void)
{
    check("input 41 8; image; conv 4 3 pad=valid; relu; conv 4 5 pad=valid; seq; gru 5; mean; "
          "dense 3",
          3, 1);
    check("input 40 8; image; conv 4 3 stride=2; relu; conv 4 3; seq; gru 5; mean; dense 3", 4, 1);
    check("input 40 8; image; dwconv 3; conv 4 1; avgpool 2; seq; dense 3", 2, 1);
}

static void test_recurrent_after(void)
{
    /* the recurrent layer's input projection is kept per row too: lstm,
     * a gru that ends the model, a gru not right after seq */
    check("input 30 8; image; conv 4 3; relu; maxpool 1x2; seq; lstm 5; last; dense 3", 2, 1);
    check("input 24 6; image; conv 3 3; relu; seq; gru 4", 3, 1);
    check("input 24 6; image; conv 3 3; relu; seq; tnorm; gru 4; mean; dense 2", 3, 1);
}

static void test_ensemble(void)
{
    const char *spec = "input 30 8; image; conv 4 3; relu; maxpool 1x2; seq; gru 5; mean; dense 4";
    cx_model *a = make(spec, 1), *b = make(spec, 2), *e = NULL;
    cx_error err;
    CU_ASSERT_FATAL(a && b);
    cx_model *mem[2] = {a, b};
    CU_ASSERT_EQUAL_FATAL(cx_model_ensemble(&e, mem, 2, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(cx_model_reserve(e, 1, &err), CX_OK);
    int shifts[] = {5}, rows = 0;
    int64_t whole = 0;
    double worst = run(e, 5, shifts, 1, 30, &rows, &whole);
    printf("\n  ensemble of 2, shift 5: %d of 2 x 30 rows per window, error %.1e", rows, worst);
    CU_ASSERT(worst < TOL);
    CU_ASSERT(rows < 60);
    CU_ASSERT_EQUAL(whole, 0);
    cx_model_free(e);
    cx_model_free(a);
    cx_model_free(b);
}

static void test_plain_forward(void)
{
    /* no image front end, a front end that is not local in time, a shift
     * too large to keep anything */
    check("input 20 6; gru 5; mean; dense 3", 2, 0);
    check("input 20 6; tnorm; image; conv 3 3; seq; gru 4; last; dense 2", 2, 0);
    check("input 12 6; image; conv 3 3; seq; gru 4; last; dense 2", 12, 0);
}

static void test_bad_arguments(void)
{
    cx_model *m = make("input 20 6; image; conv 3 3; seq; gru 4; last; dense 2", 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    cx_slide *s = (cx_slide *)1;
    cx_error err;
    CU_ASSERT_NOT_EQUAL(cx_slide_create(&s, m, 0, &err), CX_OK);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_NOT_EQUAL(cx_slide_create(&s, NULL, 2, &err), CX_OK);
    CU_ASSERT_PTR_NULL(cx_slide_forward(NULL, NULL, 1));
    cx_slide_reset(NULL);
    cx_slide_free(NULL);
    CU_ASSERT_EQUAL(cx_slide_rows(NULL), 0);
    cx_model_free(m);
}

int main(void)
{
    cx_set_threads(1);
    static const cx_test tests[] = {
        {"crnn front end at shifts 1, 3, 5", test_crnn},
        {"time pooling, shifts that line up and one that does not", test_time_pooling},
        {"valid padding, time stride, dwconv and avgpool", test_valid_padding_and_stride},
        {"recurrent layers after the front end", test_recurrent_after},
        {"ensemble", test_ensemble},
        {"models it cannot help run their forward", test_plain_forward},
        {"bad arguments", test_bad_arguments},
        {NULL, NULL},
    };
    return cx_test_main("slide", tests);
}
