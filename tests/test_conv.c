/* Image layers (conv, dwconv, maxpool, avgpool, gap): gradient checks,
 * PyTorch references, spec parsing, and a small CNN that has to learn. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define CHECK(spec, n) CU_ASSERT_EQUAL(cx_gradcheck(spec, n, 0, 7, 1e-3f, 60), 0)

/* ---- finite-difference gradient checks ------------------------------------ */

/* clang-format off */
/* stride 1 (Winograd for 3x3, shifted views for 5x5), non-square, several channels */
static void test_conv_s1_pad1(void) { CHECK("input 5 6 7; conv 4 3 stride=1 pad=1", 3); }
static void test_conv_s1_valid(void) { CHECK("input 6 7 5; conv 3 3 pad=valid", 2); }
static void test_conv_s1_same5(void) { CHECK("input 4 6 9; conv 3 5 pad=same", 2); }
static void test_conv_s1_pad1_k5(void) { CHECK("input 4 5 8; conv 2 5 pad=1", 2); }
static void test_conv_s1_pad2(void) { CHECK("input 4 5 6; conv 3 3 pad=2", 2); }
/* wide rows: several vectors of tiles per row, and a whole number of them */
static void test_conv_s1_wide(void) { CHECK("input 4 5 32; conv 3 3", 2); }
static void test_conv_s1_wide_odd(void) { CHECK("input 4 3 19; conv 2 3", 2); }
/* many tiles per sample: the batch is split into several blocks */
static void test_conv_s1_blocks(void) { CHECK("input 4 20 20; conv 3 3", 5); }
/* few input channels and strides > 1 go through im2col */
static void test_conv_few_channels(void) { CHECK("input 2 6 7; conv 4 3", 3); }
static void test_conv_s2_pad1(void) { CHECK("input 3 7 6; conv 4 3 stride=2 pad=1", 3); }
static void test_conv_s2_pad0(void) { CHECK("input 5 8 7; conv 3 3 stride=2 pad=0", 2); }
static void test_conv_s2_k2(void) { CHECK("input 3 6 8; conv 4 2 stride=2", 2); }
static void test_conv_s3_k4(void) { CHECK("input 2 11 9; conv 3 4 stride=3 pad=2", 2); }
static void test_conv_1x1(void) { CHECK("input 6 4 5; conv 3 1", 3); }
static void test_conv_1x1_s2(void) { CHECK("input 6 5 5; conv 3 1 stride=2", 2); }
static void test_conv_stack(void) { CHECK("input 2 7 6; conv 5 3 relu; conv 4 3 stride=2; conv 3 3", 2); }

/* The results must not depend on OpenBLAS's thread count. */
static void test_conv_two_threads(void)
{
    cx_set_threads(2);
    CHECK("input 5 6 7; conv 4 3 pad=1", 11);
    CHECK("input 2 6 7; conv 4 3 stride=2 pad=1", 11);
    CHECK("input 4 5 5; conv 3 1", 11);
    cx_set_threads(1);
}

static void test_dwconv_s1(void) { CHECK("input 3 6 7; dwconv 3", 3); }
static void test_dwconv_s2(void) { CHECK("input 4 7 6; dwconv 3 stride=2 pad=1", 2); }
static void test_dwconv_k5_valid(void) { CHECK("input 2 7 8; dwconv 5 pad=valid", 2); }

static void test_maxpool(void) { CHECK("input 3 6 8; maxpool 2", 3); }
static void test_maxpool_overlap(void) { CHECK("input 2 7 9; maxpool 3 stride=2", 3); }
static void test_avgpool(void) { CHECK("input 3 6 8; avgpool 2", 3); }
static void test_avgpool_overlap(void) { CHECK("input 2 7 9; avgpool 3 stride=2", 3); }
/* non-square windows: 1x2 pools frequency and keeps time (CRNN); W odd drops a column */
static void test_maxpool_1x2(void)
{
    CHECK("input 3 5 9; maxpool 1x2", 3);
    CHECK("input 3 5 8; maxpool 1x2", 3);
}
static void test_maxpool_2x3_s1x2(void) { CHECK("input 2 7 9; maxpool 2x3 stride=1x2", 3); }
static void test_avgpool_1x2(void) { CHECK("input 3 5 9; avgpool 1x2", 3); }
static void test_gap(void) { CHECK("input 4 5 3; gap", 3); }
static void test_cnn_stack(void) { CHECK("input 1 8 8; conv 4 3 relu; maxpool 2; conv 6 3 relu; gap; dense 2", 2); }
/* clang-format on */

/* ---- against a direct loop ------------------------------------------------- */

/* Every algorithm the layer may pick (im2col, shifted views, Winograd,
 * pointwise) against the definition, on shapes large enough to use several
 * blocks of samples and several vectors per row, with one and two threads.
 * The reference sums in double, the comparison is relative to the largest
 * value. The definition:
 * y[i][f][oh][ow] = b[f] + sum_{c,kh,kw} w[f][c][kh][kw] x[i][c][oh S - P + kh][ow S - P + kw] */
static void direct_conv(int n, int c, int h, int w, int f, int k, int s, int p, const float *x,
                        const float *wt, const float *b, const float *dy, float *y, float *dx,
                        float *dw, float *db)
{
    int ho = (h + 2 * p - k) / s + 1, wo = (w + 2 * p - k) / s + 1;
    size_t nx = (size_t)n * c * h * w, nw = (size_t)f * c * k * k;
    double *gx = calloc(nx, sizeof *gx), *gw = calloc(nw, sizeof *gw), *gb = calloc(f, sizeof *gb);
    for (int i = 0; i < n; i++)
        for (int o = 0; o < f; o++)
            for (int oh = 0; oh < ho; oh++)
                for (int ow = 0; ow < wo; ow++) {
                    size_t yi = (((size_t)i * f + o) * ho + oh) * wo + ow;
                    double acc = b[o];
                    for (int ci = 0; ci < c; ci++)
                        for (int kh = 0; kh < k; kh++)
                            for (int kw = 0; kw < k; kw++) {
                                int ih = oh * s - p + kh, iw = ow * s - p + kw;
                                if (ih < 0 || ih >= h || iw < 0 || iw >= w) continue;
                                size_t xi = (((size_t)i * c + ci) * h + ih) * w + iw;
                                size_t wi = (((size_t)o * c + ci) * k + kh) * k + kw;
                                acc += (double)wt[wi] * x[xi];
                                gx[xi] += (double)wt[wi] * dy[yi];
                                gw[wi] += (double)x[xi] * dy[yi];
                            }
                    y[yi] = (float)acc;
                    gb[o] += dy[yi];
                }
    for (size_t i = 0; i < nx; i++)
        dx[i] = (float)gx[i];
    for (size_t i = 0; i < nw; i++)
        dw[i] = (float)gw[i];
    for (int o = 0; o < f; o++)
        db[o] = (float)gb[o];
    free(gx), free(gw), free(gb);
}

/* max |a - b| / max |b|: the error relative to the scale of the result
 * (sums of thousands of terms lose digits where they cancel). */
static double normwise_err(const float *a, const float *b, size_t n)
{
    double d = 0.0, s = 1e-30;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - b[i]);
        if (!(e <= d)) d = e;
        if (fabs((double)b[i]) > s) s = fabs((double)b[i]);
    }
    return d / s;
}

static void check_direct(const char *spec, int n)
{
    cx_error err;
    cx_model *m;
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&m, spec, NULL, &err), CX_OK);
    cx_model_init(m, 5);
    CU_ASSERT_EQUAL_FATAL(cx_model_reserve(m, n, &err), CX_OK);
    cx_model_want_input_grad(m, 1);
    cx_layer *l = cx_model_layer(m, 0);
    int c = l->in.d[0], h = l->in.d[1], w = l->in.d[2], f = l->out.d[0];
    int k = l->params[0].shape[2], s = 1, p = 0;
    const char *at = strstr(l->spec, "stride=");
    CU_ASSERT_FATAL(at && sscanf(at, "stride=%d pad=%d", &s, &p) == 2);
    size_t nx = (size_t)n * cx_shape_size(&l->in), ny = (size_t)n * cx_shape_size(&l->out);
    size_t nw = l->params[0].size;
    float *x = malloc(nx * sizeof *x), *dy = malloc(ny * sizeof *dy), *y = malloc(ny * sizeof *y);
    float *dx = malloc(nx * sizeof *dx), *dw = malloc(nw * sizeof *dw),
          *db = malloc(f * sizeof *db);
    cx_rng rng;
    cx_rng_seed(&rng, 11);
    cx_fill_uniform(x, nx, -1, 1, &rng);
    cx_fill_uniform(dy, ny, -1, 1, &rng);
    cx_fill_uniform(l->params[1].w, (size_t)f, -1, 1, &rng);
    direct_conv(n, c, h, w, f, k, s, p, x, l->params[0].w, l->params[1].w, dy, y, dx, dw, db);
    for (int threads = 1; threads <= 2; threads++) {
        cx_set_threads(threads);
        const float *out = cx_model_forward(m, n, x);
        cx_model_zero_grad(m);
        cx_model_backward(m, n, dy);
        double ey = normwise_err(out, y, ny);
        double ex = normwise_err(cx_model_input_grad(m), dx, nx);
        double ew = normwise_err(l->params[0].g, dw, nw);
        double eb = normwise_err(l->params[1].g, db, (size_t)f);
        if (getenv("CX_VERBOSE") || ey > 1e-5 || ex > 1e-5 || ew > 1e-5 || eb > 1e-5)
            fprintf(stderr, "  %s, %d threads: err y %.2g dx %.2g dw %.2g db %.2g\n", spec, threads,
                    ey, ex, ew, eb);
        CU_ASSERT(ey <= 1e-5 && ex <= 1e-5 && ew <= 1e-5 && eb <= 1e-5);
    }
    cx_set_threads(1);
    free(x), free(dy), free(y), free(dx), free(dw), free(db);
    cx_model_free(m);
}

static void test_conv_direct(void)
{
    check_direct("input 6 30 34; conv 5 3", 5);               /* Winograd, several blocks */
    check_direct("input 4 17 9; conv 3 3 pad=0", 3);          /* Winograd, odd sizes */
    check_direct("input 5 8 10; conv 3 3", 15);               /* Winograd, 12 + 3 samples */
    check_direct("input 5 19 21; conv 4 5 pad=2", 3);         /* shifted views */
    check_direct("input 5 12 40; conv 3 3 pad=2", 3);         /* Winograd, pad 2 */
    check_direct("input 2 23 25; conv 4 3", 4);               /* im2col, few channels */
    check_direct("input 3 25 22; conv 6 3 stride=2", 4);      /* im2col, stride 2 */
    check_direct("input 7 11 13; conv 5 1", 6);               /* pointwise */
    check_direct("input 4 9 10; conv 3 1 stride=2 pad=0", 3); /* 1x1 through im2col */
}

/* maxpool against its definition, on data full of ties and with NaNs: the
 * first maximum in scan order wins, a NaN wins over any number, the gradient
 * goes to the winner. Covers the 2x2 path and the general one. */
typedef struct {
    const char *spec;
    int kh, kw, sh, sw;
} pool_case;

static void check_maxpool_direct(const pool_case *pc)
{
    enum { N = 3 };
    cx_error err;
    cx_model *m;
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&m, pc->spec, NULL, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(cx_model_reserve(m, N, &err), CX_OK);
    cx_model_want_input_grad(m, 1);
    const cx_layer *l = cx_model_layer(m, 0);
    const int C = l->in.d[0], H = l->in.d[1], W = l->in.d[2], Ho = l->out.d[1], Wo = l->out.d[2];
    size_t nx = (size_t)N * C * H * W, ny = (size_t)N * C * Ho * Wo;
    float *x = malloc(nx * sizeof *x), *dy = malloc(ny * sizeof *dy);
    float *y = malloc(ny * sizeof *y), *dx = calloc(nx, sizeof *dx);
    cx_rng rng;
    cx_rng_seed(&rng, 13);
    for (size_t i = 0; i < nx; i++) /* four values: most windows tie */
        x[i] = cx_rng_uniform(&rng) < 0.02f ? NAN : floorf(4.0f * cx_rng_uniform(&rng));
    cx_fill_uniform(dy, ny, -1, 1, &rng);
    for (int i = 0; i < N * C; i++)
        for (int oh = 0; oh < Ho; oh++)
            for (int ow = 0; ow < Wo; ow++) {
                size_t at = ((size_t)i * H + oh * pc->sh) * W + ow * pc->sw, o;
                for (int a = 0; a < pc->kh; a++)
                    for (int b = 0; b < pc->kw; b++) {
                        o = ((size_t)i * H + oh * pc->sh + a) * W + ow * pc->sw + b;
                        if (x[o] > x[at] || (isnan(x[o]) && !isnan(x[at]))) at = o;
                    }
                size_t yi = ((size_t)i * Ho + oh) * Wo + ow;
                y[yi] = x[at];
                dx[at] += dy[yi];
            }
    const float *out = cx_model_forward(m, N, x);
    int wrong = 0;
    for (size_t i = 0; i < ny; i++)
        wrong += !(out[i] == y[i] || (isnan(out[i]) && isnan(y[i])));
    cx_model_backward(m, N, dy);
    const float *g = cx_model_input_grad(m);
    for (size_t i = 0; i < nx; i++)
        wrong += g[i] != dx[i];
    if (wrong) fprintf(stderr, "  %s: %d values differ from the definition\n", pc->spec, wrong);
    CU_ASSERT_EQUAL(wrong, 0);
    free(x), free(dy), free(y), free(dx);
    cx_model_free(m);
}

static void test_maxpool_direct(void)
{
    static const pool_case cases[] = {
        {"input 2 8 10; maxpool 2", 2, 2, 2, 2},
        {"input 2 9 11; maxpool 2", 2, 2, 2, 2},
        /* the 2x2 path four outputs at a time: rows of 2 (no vector), 4,
         * 7 (the last four overlap) and 8 outputs, widths even and odd */
        {"input 2 5 5; maxpool 2", 2, 2, 2, 2},
        {"input 2 6 8; maxpool 2", 2, 2, 2, 2},
        {"input 3 14 14; maxpool 2", 2, 2, 2, 2},
        {"input 2 4 17; maxpool 2", 2, 2, 2, 2},
        {"input 2 9 11; maxpool 3 stride=2", 3, 3, 2, 2},
        {"input 2 9 11; maxpool 2 stride=1", 2, 2, 1, 1},
        {"input 2 9 11; maxpool 1x2", 1, 2, 1, 2},
        {"input 2 9 10; maxpool 1x2", 1, 2, 1, 2}, /* even width: the pairwise path */
        {"input 2 9 11; maxpool 2x3 stride=1x2", 2, 3, 1, 2},
        {"input 2 9 11; maxpool 3x1 stride=2x1", 3, 1, 2, 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_maxpool_direct(&cases[i]);
}

/* ---- PyTorch references ---------------------------------------------------- */

typedef struct {
    const char *file; /* written by tests/ref/make_ref_conv.py */
    const char *spec;
    int n;
} ref_case;

/* Builds the model, loads x (and w, b) from the fixture, runs forward and
 * backward with the fixture's dy, and compares y, dx (and dw, db). */
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
    size_t nw = nt > 0 ? cx_model_tensor(m, 0)->size : 0,
           nb = nt > 1 ? cx_model_tensor(m, 1)->size : 0;
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
    if (nt > 0) memcpy(cx_model_tensor(m, 0)->w, w, nw * sizeof *w);
    if (nt > 1) memcpy(cx_model_tensor(m, 1)->w, b, nb * sizeof *b);

    const float *out = cx_model_forward(m, rc->n, x);
    double e = cx_max_rel_err(out, y, ny, 1e-3);
    if (e > 1e-4) fprintf(stderr, "  %s: output rel err %g\n", rc->spec, e);
    CU_ASSERT(e <= 1e-4);
    cx_model_zero_grad(m);
    cx_model_backward(m, rc->n, dy);
    e = cx_max_rel_err(cx_model_input_grad(m), dx, nx, 1e-3);
    if (e > 1e-4) fprintf(stderr, "  %s: input gradient rel err %g\n", rc->spec, e);
    CU_ASSERT(e <= 1e-4);
    if (nt > 0) {
        e = cx_max_rel_err(cx_model_tensor(m, 0)->g, dw, nw, 1e-3);
        if (e > 1e-4) fprintf(stderr, "  %s: weight gradient rel err %g\n", rc->spec, e);
        CU_ASSERT(e <= 1e-4);
        e = cx_max_rel_err(cx_model_tensor(m, 1)->g, db, nb, 1e-3);
        if (e > 1e-4) fprintf(stderr, "  %s: bias gradient rel err %g\n", rc->spec, e);
        CU_ASSERT(e <= 1e-4);
    }
    free(buf);
    cx_model_free(m);
}

static void test_ref_conv_s2(void)
{
    ref_case rc = {"conv_s2.f32", "input 3 7 6; conv 4 3 stride=2 pad=1", 2};
    check_reference(&rc);
}

static void test_ref_conv_s1(void)
{
    ref_case rc = {"conv_s1.f32", "input 5 6 5; conv 4 3 stride=1 pad=1", 2};
    check_reference(&rc);
    cx_set_threads(2);
    check_reference(&rc);
    cx_set_threads(1);
}

static void test_ref_dwconv(void)
{
    ref_case rc = {"dwconv.f32", "input 3 7 6; dwconv 3 stride=2 pad=1", 2};
    check_reference(&rc);
}

static void test_ref_maxpool(void)
{
    ref_case rc = {"maxpool.f32", "input 3 7 6; maxpool 3 stride=2", 2};
    check_reference(&rc);
}

static void test_ref_avgpool(void)
{
    ref_case rc = {"avgpool.f32", "input 3 7 6; avgpool 2", 2};
    check_reference(&rc);
}

static void test_ref_pool_nonsquare(void)
{
    ref_case rc[] = {
        {"maxpool_1x2.f32", "input 3 6 9; maxpool 1x2", 2},
        {"maxpool_2x3_s1x2.f32", "input 2 7 8; maxpool 2x3 stride=1x2", 2},
        {"avgpool_1x2.f32", "input 3 6 9; avgpool 1x2", 2},
    };
    for (size_t i = 0; i < sizeof rc / sizeof rc[0]; i++)
        check_reference(&rc[i]);
}

/* ---- specs ----------------------------------------------------------------- */

static void test_spec_roundtrip(void)
{
    cx_error err;
    cx_model *a, *b;
    const char *spec = "input 3 9 8; conv2d 6 3 stride=2 pad=1 relu; dwconv 3 stride=1 pad=same; "
                       "maxpool 2 stride=1; avgpool 2; conv 4 1 pad=valid; conv 5 3; gap; dense 3";
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&a, spec, NULL, &err), CX_OK);
    const char *canon = cx_model_spec(a);
    CU_ASSERT_PTR_NOT_NULL(strstr(canon, "conv 6 3 stride=2 pad=1; relu"));
    CU_ASSERT_PTR_NOT_NULL(strstr(canon, "dwconv 3 stride=1 pad=1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(canon, "maxpool 2 stride=1"));
    CU_ASSERT_PTR_NOT_NULL(strstr(canon, "avgpool 2 stride=2"));
    CU_ASSERT_PTR_NOT_NULL(strstr(canon, "conv 4 1 stride=1 pad=0"));
    CU_ASSERT_PTR_NOT_NULL(strstr(canon, "conv 5 3 stride=1 pad=1; gap"));
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&b, canon, NULL, &err), CX_OK);
    CU_ASSERT_STRING_EQUAL(cx_model_spec(b), canon);
    CU_ASSERT_EQUAL(cx_model_num_layers(a), cx_model_num_layers(b));
    CU_ASSERT_EQUAL(cx_model_num_params(a), cx_model_num_params(b));
    /* 9x8 -> conv s2 -> 5x4 -> dwconv -> 5x4 -> maxpool 2/1 -> 4x3 -> avgpool 2 -> 2x1 */
    cx_layer *pool = cx_model_layer(a, 4);
    CU_ASSERT_EQUAL(pool->out.d[1], 2);
    CU_ASSERT_EQUAL(pool->out.d[2], 1);
    for (int i = 0; i < cx_model_num_layers(a); i++) {
        cx_layer *la = cx_model_layer(a, i), *lb = cx_model_layer(b, i);
        CU_ASSERT(cx_shape_equal(&la->out, &lb->out));
        CU_ASSERT_PTR_EQUAL(la->kind, lb->kind);
    }
    /* conv weights are laid out as PyTorch's (F,C,K,K) */
    cx_param *w = cx_model_tensor(a, 0);
    CU_ASSERT_STRING_EQUAL(w->name, "weight");
    CU_ASSERT_EQUAL(w->ndim, 4);
    CU_ASSERT(w->shape[0] == 6 && w->shape[1] == 3 && w->shape[2] == 3 && w->shape[3] == 3);
    CU_ASSERT_EQUAL(w->fan_in, 27);
    CU_ASSERT(w->decay && !cx_model_tensor(a, 1)->decay);
    cx_model_free(a);
    cx_model_free(b);
}

/* A window or stride is written "K" when square and "KHxKW" otherwise, so
 * specs of square pools read as before. */
static void test_spec_pool_nonsquare(void)
{
    static const struct {
        const char *spec, *canon;
        int ho, wo;
    } cases[] = {
        {"input 2 6 9; maxpool 1x2", "maxpool 1x2 stride=1x2", 6, 4},
        {"input 2 6 9; maxpool 2x2", "maxpool 2 stride=2", 3, 4},
        {"input 2 6 9; maxpool 2 stride=1x2", "maxpool 2 stride=1x2", 5, 4},
        {"input 2 6 9; maxpool 2x3 stride=1x2", "maxpool 2x3 stride=1x2", 5, 4},
        {"input 2 6 9; avgpool 3x1 stride=2", "avgpool 3x1 stride=2", 2, 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cx_error err;
        cx_model *a, *b;
        CU_ASSERT_EQUAL_FATAL(cx_model_create(&a, cases[i].spec, NULL, &err), CX_OK);
        const cx_layer *l = cx_model_layer(a, 0);
        CU_ASSERT_STRING_EQUAL(l->spec, cases[i].canon);
        CU_ASSERT(l->out.d[0] == 2 && l->out.d[1] == cases[i].ho && l->out.d[2] == cases[i].wo);
        CU_ASSERT_EQUAL_FATAL(cx_model_create(&b, cx_model_spec(a), NULL, &err), CX_OK);
        CU_ASSERT_STRING_EQUAL(cx_model_spec(a), cx_model_spec(b));
        cx_model_free(a);
        cx_model_free(b);
    }
}

/* The message of a rejected spec must contain `want`. */
static void expect_error(const char *spec, const char *want)
{
    cx_error err = {{0}};
    cx_model *m = (cx_model *)&err; /* must be reset to NULL */
    CU_ASSERT_NOT_EQUAL(cx_model_create(&m, spec, NULL, &err), CX_OK);
    CU_ASSERT_PTR_NULL(m);
    if (!strstr(err.msg, want)) {
        fprintf(stderr, "  spec '%s': message '%s' lacks '%s'\n", spec, err.msg, want);
        CU_FAIL("error message does not name the problem");
    }
}

static void test_spec_errors(void)
{
    expect_error("input 1 28 28; conv 32 x3 relu", "'x3'");
    expect_error("input 1 28 28; conv 0 3", "'0'");
    expect_error("input 1 28 28; conv 8 3 stride=0", "'stride=0'");
    expect_error("input 1 28 28; conv 8 3 stride=2 stride=2", "'stride=2'");
    expect_error("input 1 28 28; conv 8 3 pad=3", "'pad=3'");
    expect_error("input 1 28 28; conv 8 3 pad=full", "'pad=full'");
    expect_error("input 1 28 28; conv 8 3 wobble", "'wobble'");
    expect_error("input 1 28 28; conv 8", "usage");
    expect_error("input 20; conv 8 3", "20");
    expect_error("input 5 20; conv 8 3", "image");
    expect_error("input 1 4 4; conv 8 7 pad=1", "kernel");
    expect_error("input 1 28 28; dwconv", "usage");
    expect_error("input 1 28 28; dwconv 3 pad=-1", "'pad=-1'");
    expect_error("input 16; dwconv 3", "image");
    expect_error("input 1 28 28; maxpool 2 2", "'2'");
    expect_error("input 1 28 28; maxpool two", "'two'");
    expect_error("input 1 3 3; maxpool 4", "window");
    expect_error("input 1 28 28; avgpool 2 stride=99", "'stride=99'");
    expect_error("input 12; avgpool 2", "image");
    expect_error("input 1 28 28; gap 3", "'3'");
    expect_error("input 3 12; gap", "image");
    expect_error("input 1 28 28; maxpool 2 relu", "'relu'");
    expect_error("input 1 28 28; maxpool 0x2", "'0x2'");
    expect_error("input 1 28 28; maxpool 1x", "'1x'");
    expect_error("input 1 28 28; maxpool x2", "'x2'");
    expect_error("input 1 28 28; maxpool 1x2x2", "'1x2x2'");
    expect_error("input 1 28 28; maxpool 1x65", "'1x65'");
    expect_error("input 1 28 28; maxpool 1x2 stride=1x0", "'stride=1x0'");
    expect_error("input 1 28 28; avgpool 2x-1", "'2x-1'");
    expect_error("input 1 4 4; maxpool 1x5", "window");
    expect_error("input 1 4 4; avgpool 5x1", "window");
    expect_error("input 1 28 28; maxpool", "KHxKW"); /* the usage names the new form */
}

/* ---- a CNN learns bars and stripes ------------------------------------------ */

/* 8x8 image: label 0 lights a random subset of rows (horizontal bars),
 * label 1 a random subset of columns (vertical stripes), never none or all,
 * plus uniform noise. */
static int make_bars(cx_rng *rng, float *img)
{
    int label = (int)cx_rng_below(rng, 2), mask;
    do
        mask = (int)cx_rng_below(rng, 256);
    while (mask == 0 || mask == 255);
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 8; j++) {
            int on = (mask >> (label ? j : i)) & 1;
            img[i * 8 + j] = (on ? 1.0f : 0.0f) + 0.4f * (cx_rng_uniform(rng) - 0.5f);
        }
    return label;
}

static void test_cnn_learns_bars_and_stripes(void)
{
    enum { NTRAIN = 1024, NTEST = 500, BATCH = 32, EPOCHS = 8 };
    cx_error err;
    cx_model *m;
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&m,
                                          "input 1 8 8; conv 8 3 relu; maxpool 2; "
                                          "conv 16 3 relu; gap; dense 2",
                                          NULL, &err),
                          CX_OK);
    cx_model_init(m, 42);
    CU_ASSERT_EQUAL_FATAL(cx_model_reserve(m, BATCH, &err), CX_OK);
    cx_optim_config cfg = cx_optim_defaults(CX_OPT_ADAM);
    cx_optim *opt;
    CU_ASSERT_EQUAL_FATAL(cx_optim_create(&opt, m, &cfg, &err), CX_OK);

    static float xtrain[NTRAIN * 64], xtest[NTEST * 64];
    static int ytrain[NTRAIN], ytest[NTEST], order[NTRAIN];
    cx_rng rng;
    cx_rng_seed(&rng, 2024);
    for (int i = 0; i < NTRAIN; i++)
        ytrain[i] = make_bars(&rng, xtrain + i * 64);
    for (int i = 0; i < NTEST; i++)
        ytest[i] = make_bars(&rng, xtest + i * 64);
    for (int i = 0; i < NTRAIN; i++)
        order[i] = i;

    float xb[BATCH * 64], dlogits[BATCH * 2];
    int yb[BATCH];
    cx_model_set_training(m, 1);
    for (int epoch = 0; epoch < EPOCHS; epoch++) {
        cx_rng_shuffle(&rng, order, NTRAIN);
        for (int s = 0; s + BATCH <= NTRAIN; s += BATCH) {
            for (int j = 0; j < BATCH; j++) {
                memcpy(xb + j * 64, xtrain + order[s + j] * 64, 64 * sizeof(float));
                yb[j] = ytrain[order[s + j]];
            }
            const float *logits = cx_model_forward(m, BATCH, xb);
            cx_softmax_xent(logits, yb, BATCH, 2, 0.0f, dlogits, NULL);
            cx_model_zero_grad(m);
            cx_model_backward(m, BATCH, dlogits);
            cx_optim_step(opt, 0.01f);
        }
    }
    cx_model_set_training(m, 0);
    int correct = 0;
    for (int s = 0; s < NTEST; s += BATCH) {
        int nb = NTEST - s < BATCH ? NTEST - s : BATCH;
        const float *logits = cx_model_forward(m, nb, xtest + s * 64);
        for (int j = 0; j < nb; j++)
            correct += (logits[2 * j + 1] > logits[2 * j]) == ytest[s + j];
    }
    double acc = (double)correct / NTEST;
    printf("\n    held-out accuracy %.1f%% ", 100.0 * acc);
    CU_ASSERT(acc >= 0.95);
    cx_optim_free(opt);
    cx_model_free(m);
}

int main(void)
{
    cx_set_threads(1);
    static const cx_test tests[] = {
        {"conv gradient, stride 1 pad 1", test_conv_s1_pad1},
        {"conv gradient, stride 1 valid", test_conv_s1_valid},
        {"conv gradient, 5x5 same", test_conv_s1_same5},
        {"conv gradient, 5x5 pad 1", test_conv_s1_pad1_k5},
        {"conv gradient, 3x3 pad 2", test_conv_s1_pad2},
        {"conv gradient, wide rows", test_conv_s1_wide},
        {"conv gradient, wide odd rows", test_conv_s1_wide_odd},
        {"conv gradient, several blocks", test_conv_s1_blocks},
        {"conv gradient, two input channels", test_conv_few_channels},
        {"conv gradient, stride 2 pad 1", test_conv_s2_pad1},
        {"conv gradient, stride 2 pad 0", test_conv_s2_pad0},
        {"conv gradient, 2x2 stride 2", test_conv_s2_k2},
        {"conv gradient, 4x4 stride 3 pad 2", test_conv_s3_k4},
        {"conv gradient, 1x1", test_conv_1x1},
        {"conv gradient, 1x1 stride 2", test_conv_1x1_s2},
        {"conv gradient, stacked", test_conv_stack},
        {"conv gradient, two threads", test_conv_two_threads},
        {"conv matches a direct loop, every algorithm", test_conv_direct},
        {"dwconv gradient, stride 1", test_dwconv_s1},
        {"dwconv gradient, stride 2", test_dwconv_s2},
        {"dwconv gradient, 5x5 valid", test_dwconv_k5_valid},
        {"maxpool gradient", test_maxpool},
        {"maxpool gradient, overlapping", test_maxpool_overlap},
        {"avgpool gradient", test_avgpool},
        {"avgpool gradient, overlapping", test_avgpool_overlap},
        {"maxpool gradient, 1x2", test_maxpool_1x2},
        {"maxpool gradient, 2x3 stride 1x2", test_maxpool_2x3_s1x2},
        {"avgpool gradient, 1x2", test_avgpool_1x2},
        {"maxpool matches its definition, ties and NaN", test_maxpool_direct},
        {"gap gradient", test_gap},
        {"small CNN gradient", test_cnn_stack},
        {"conv stride 2 matches PyTorch", test_ref_conv_s2},
        {"conv stride 1 matches PyTorch", test_ref_conv_s1},
        {"dwconv matches PyTorch", test_ref_dwconv},
        {"maxpool matches PyTorch", test_ref_maxpool},
        {"avgpool matches PyTorch", test_ref_avgpool},
        {"non-square maxpool and avgpool match PyTorch", test_ref_pool_nonsquare},
        {"canonical spec parses to the same model", test_spec_roundtrip},
        {"non-square pools: shapes and canonical spec", test_spec_pool_nonsquare},
        {"bad specs name the bad token", test_spec_errors},
        {"a CNN learns bars and stripes", test_cnn_learns_bars_and_stripes},
        {NULL, NULL},
    };
    return cx_test_main("conv", tests);
}
