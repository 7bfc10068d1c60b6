/* conv1d: temporal convolution over a (T,F) sequence, as PyTorch's Conv1d
 * on the (N, F, T) transpose with "same" zero padding:
 *   y[t,o] = b[o] + sum_{c<F, k<K} W[o,c,k] x[t + k D - P, c],  P = (K-1)/2 D
 * (x = 0 outside [0, T)), output (T, FILTERS). K is odd so the output keeps
 * the input length. Weight (FILTERS, F, K) in PyTorch's layout, bias
 * (FILTERS).
 *
 * The product is one im2col over time and one sgemm for the whole batch:
 * (n T, F K) x (F K, FILTERS). The columns live in the model's workspace;
 * create allocates nothing beyond the layer struct, so a hostile spec costs
 * nothing until reserve. The window is not causal (it looks (K-1)/2 D frames
 * ahead), so there is no streaming step. */
#include <cblas.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "../layer_util.h"
#include "../vec.h"

typedef struct {
    cx_layer base;
    int t, c;    /* input length and features */
    int f, k, d; /* filters, kernel size, dilation */
    int pad;     /* (K-1)/2 D */
    int ck;      /* C K: GEMM depth */
} conv1d_layer;

#define CONV1D_USAGE "conv1d FILTERS K [dilation=D] [ACT]  (K odd)"

static cx_status conv1d_create(cx_layer **out, int argc, char **argv, const cx_shape *in,
                               cx_error *err)
{
    int f, k, d = 1, have_d = 0;
    if (argc < 2) return cx_fail(err, CX_ERR_ARG, "layer 'conv1d': usage: %s", CONV1D_USAGE);
    if (cx_parse_int(argv[0], 1, 65536, &f))
        return cx_bad_token(err, "conv1d", argv[0], "a number of filters from 1 to 65536");
    if (cx_parse_int(argv[1], 1, 63, &k) || k % 2 == 0)
        return cx_bad_token(err, "conv1d", argv[1], "an odd kernel size from 1 to 63");
    for (int i = 2; i < argc; i++) {
        const char *v;
        if (cx_parse_kv(argv[i], "dilation", &v) && !have_d) {
            if (cx_parse_int(v, 1, 1024, &d))
                return cx_bad_token(err, "conv1d", argv[i], "dilation=D with D from 1 to 1024");
            have_d = 1;
        } else {
            return cx_bad_token(err, "conv1d", argv[i],
                                "dilation=D (at most once) or an activation");
        }
    }
    if (in->ndim != 2) return cx_bad_input(err, "conv1d", in, "a (time, features) sequence");
    int t = in->d[0], c = in->d[1];
    size_t ck = (size_t)c * k;
    if (ck > (1u << 24) || (size_t)f * ck > (1u << 28) || (size_t)t * f > (1u << 28) ||
        (size_t)t * ck > (1u << 28))
        return cx_fail(err, CX_ERR_ARG, "layer 'conv1d %d %d': too large for a %dx%d input", f, k,
                       t, c);
    conv1d_layer *cv = cx_layer_new(sizeof *cv, &cx_kind_conv1d, in);
    if (!cv) return cx_fail(err, CX_ERR_NOMEM, "layer 'conv1d': out of memory");
    cv->t = t, cv->c = c, cv->f = f, cv->k = k, cv->d = d;
    cv->pad = (k - 1) / 2 * d;
    cv->ck = (int)ck;
    cv->base.out = cx_shape2(t, f);
    int ws[3] = {f, c, k}, bs[1] = {f};
    cx_declare_param(&cv->base, "weight", 3, ws, 1, 1, CX_INIT_HE, 0, (int)ck, f * k);
    cx_declare_param(&cv->base, "bias", 1, bs, 1, 0, CX_INIT_ZERO, 0, 0, 0);
    snprintf(cv->base.spec, sizeof cv->base.spec, "conv1d %d %d dilation=%d", f, k, d);
    *out = &cv->base;
    return CX_OK;
}

/* The products take n T as an int row count. */
static cx_status conv1d_reserve(cx_layer *l, int max_batch, cx_error *err)
{
    const conv1d_layer *cv = (const conv1d_layer *)l;
    if ((size_t)max_batch * cv->t > INT_MAX)
        return cx_fail(err, CX_ERR_ARG, "layer '%s': batch of %d is too large", l->spec, max_batch);
    return CX_OK;
}

/* The columns of the whole batch; none for K = 1, where x is its own im2col. */
static size_t conv1d_workspace(const cx_layer *l, int n)
{
    const conv1d_layer *cv = (const conv1d_layer *)l;
    return cv->k == 1 ? 0 : (size_t)n * cv->t * cv->ck;
}

/* x: (n, T, C) -> col (n T, C K):
 * col[b T + t][c K + k] = x[b, t + k D - P, c], 0 outside [0, T) */
static void im2col(const conv1d_layer *cv, int n, const float *x, float *col)
{
    const int T = cv->t, C = cv->c, K = cv->k;
    for (int b = 0; b < n; b++)
        for (int t = 0; t < T; t++) {
            float *row = col + ((size_t)b * T + t) * cv->ck;
            for (int k = 0; k < K; k++) {
                int ti = t + k * cv->d - cv->pad;
                if (ti < 0 || ti >= T) {
                    for (int c = 0; c < C; c++)
                        row[c * K + k] = 0.0f;
                    continue;
                }
                const float *src = x + ((size_t)b * T + ti) * C;
                for (int c = 0; c < C; c++)
                    row[c * K + k] = src[c];
            }
        }
}

/* The adjoint of im2col: dx[b, t + k D - P, c] += col[b T + t][c K + k]. */
static void col2im(const conv1d_layer *cv, int n, const float *col, float *dx)
{
    const int T = cv->t, C = cv->c, K = cv->k;
    memset(dx, 0, (size_t)n * T * C * sizeof(float));
    for (int b = 0; b < n; b++)
        for (int t = 0; t < T; t++) {
            const float *row = col + ((size_t)b * T + t) * cv->ck;
            for (int k = 0; k < K; k++) {
                int ti = t + k * cv->d - cv->pad;
                if (ti < 0 || ti >= T) continue;
                float *dst = dx + ((size_t)b * T + ti) * C;
                for (int c = 0; c < C; c++)
                    dst[c] += row[c * K + k];
            }
        }
}

/* x: (n, T, C)  W: (F, C K)  b: (F)  y: (n T, F)
 * y = im2col(x) W^T + b */
static void conv1d_forward(cx_layer *l, const cx_run *r, int n, const float *x, float *y)
{
    conv1d_layer *cv = (conv1d_layer *)l;
    const float *w = l->params[0].w, *bias = l->params[1].w;
    int rows = n * cv->t;
    const float *col = x;
    if (cv->k > 1) {
        im2col(cv, n, x, r->work);
        col = r->work;
    }
    for (int i = 0; i < rows; i++)
        memcpy(y + (size_t)i * cv->f, bias, (size_t)cv->f * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, cv->f, cv->ck, 1.0f, col, cv->ck, w,
                cv->ck, 1.0f, y, cv->f);
}

/* dy: (n T, F)
 * db += sum over rows of dy           (F)
 * dW += dy^T im2col(x)                (F, C K)
 * dx  = col2im(dy W)                  (n, T, C), skipped when dx is NULL
 * The columns of x are overwritten by dy W once dW has used them. */
static void conv1d_backward(cx_layer *l, const cx_run *r, int n, const float *x, const float *y,
                            const float *dy, float *dx)
{
    (void)y;
    conv1d_layer *cv = (conv1d_layer *)l;
    cx_param *pw = &l->params[0], *pb = &l->params[1];
    int rows = n * cv->t;
    for (int i = 0; i < rows; i++)
        cx_vec_add(pb->g, dy + (size_t)i * cv->f, cv->f);
    const float *col = x;
    if (cv->k > 1) {
        im2col(cv, n, x, r->work);
        col = r->work;
    }
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cv->f, cv->ck, rows, 1.0f, dy, cv->f, col,
                cv->ck, 1.0f, pw->g, cv->ck);
    if (!dx) return;
    float *dcol = cv->k > 1 ? r->work : dx;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, cv->ck, cv->f, 1.0f, dy, cv->f,
                pw->w, cv->ck, 0.0f, dcol, cv->ck);
    if (cv->k > 1) col2im(cv, n, dcol, dx);
}

const cx_layer_kind cx_kind_conv1d = {
    .name = "conv1d",
    .usage = CONV1D_USAGE,
    .takes_activation = 1,
    .create = conv1d_create,
    .reserve = conv1d_reserve,
    .workspace = conv1d_workspace,
    .forward = conv1d_forward,
    .backward = conv1d_backward,
};
