/* dwconv: depthwise 2-D convolution, as PyTorch's Conv2d with groups = C and
 * one filter per channel: weight (C,1,K,K), bias (C). Each channel is
 * convolved with its own kernel, so there is no matrix product: the loops
 * run over kernel taps and rows, vectorized along the row. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../layer_util.h"
#include "../vec.h"

typedef struct {
    cx_layer base;
    int c, h, w, k, stride, pad, ho, wo;
} dw_layer;

#define DW_USAGE "dwconv SIZE [stride=S] [pad=P|same|valid] [ACT]"

static cx_status dw_create(cx_layer **out, int argc, char **argv, const cx_shape *in, cx_error *err)
{
    int k, stride, pad;
    if (argc < 1) return cx_fail(err, CX_ERR_ARG, "layer 'dwconv': usage: %s", DW_USAGE);
    cx_status st = cx_parse_conv_args(&cx_kind_dwconv2d, argc, argv, &k, &stride, &pad, err);
    if (st) return st;
    if (in->ndim != 3) return cx_bad_input(err, "dwconv", in, "an image (C,H,W)");
    int c = in->d[0], h = in->d[1], w = in->d[2];
    if (h + 2 * pad < k || w + 2 * pad < k)
        return cx_bad_input(err, "dwconv", in, "an image at least as large as the kernel");
    dw_layer *d = cx_layer_new(sizeof *d, &cx_kind_dwconv2d, in);
    if (!d) return cx_fail(err, CX_ERR_NOMEM, "layer 'dwconv': out of memory");
    d->c = c, d->h = h, d->w = w, d->k = k, d->stride = stride, d->pad = pad;
    d->ho = (h + 2 * pad - k) / stride + 1;
    d->wo = (w + 2 * pad - k) / stride + 1;
    d->base.out = cx_shape3(c, d->ho, d->wo);
    int ws[4] = {c, 1, k, k}, bs[1] = {c};
    cx_declare_param(&d->base, "weight", 4, ws, 1, 1, CX_INIT_HE, 0, k * k, k * k);
    cx_declare_param(&d->base, "bias", 1, bs, 1, 0, CX_INIT_ZERO, 0, 0, 0);
    snprintf(d->base.spec, sizeof d->base.spec, "dwconv %d stride=%d pad=%d", k, stride, pad);
    *out = &d->base;
    return CX_OK;
}

/* Output columns ow whose input column ow*S - P + kw lies in [0, W): [lo, hi). */
static void valid_cols(const dw_layer *d, int kw, int *lo, int *hi)
{
    int a = d->pad - kw > 0 ? (d->pad - kw + d->stride - 1) / d->stride : 0;
    int b = (d->w + d->pad - kw + d->stride - 1) / d->stride;
    if (b > d->wo) b = d->wo;
    if (a > b) a = b;
    *lo = a;
    *hi = b;
}

/* x: (n,C,H,W)  w: (C,1,K,K)  b: (C)  y: (n,C,Ho,Wo)
 * y[c][oh][ow] = b[c] + sum_{kh,kw} w[c][kh][kw] x[c][oh S - P + kh][ow S - P + kw] */
static void dw_forward(cx_layer *l, const cx_run *r, int n, const float *x, float *y)
{
    (void)r;
    dw_layer *d = (dw_layer *)l;
    const float *wt = l->params[0].w, *bias = l->params[1].w;
    const int K = d->k, S = d->stride, P = d->pad;
    for (int i = 0; i < n * d->c; i++) {
        int c = i % d->c;
        const float *xc = x + (size_t)i * d->h * d->w;
        float *yc = y + (size_t)i * d->ho * d->wo;
        cx_vec_fill(yc, bias[c], d->ho * d->wo);
        for (int kh = 0; kh < K; kh++)
            for (int kw = 0; kw < K; kw++) {
                float wv = wt[((size_t)c * K + kh) * K + kw];
                int lo, hi;
                valid_cols(d, kw, &lo, &hi);
                for (int oh = 0; oh < d->ho; oh++) {
                    int ih = oh * S - P + kh;
                    if (ih < 0 || ih >= d->h) continue;
                    const float *src = xc + (size_t)ih * d->w; /* column ow S + kw - P */
                    float *dst = yc + (size_t)oh * d->wo;
                    if (S == 1 && hi > lo)
                        cx_vec_axpy(dst + lo, wv, src + (lo + kw - P), hi - lo);
                    else
                        for (int ow = lo; ow < hi; ow++)
                            dst[ow] += wv * src[ow * S + kw - P];
                }
            }
    }
}

/* dy: (n,C,Ho,Wo)
 * db[c] += sum dy[c]
 * dw[c][kh][kw] += sum_{oh,ow} dy[c][oh][ow] x[c][oh S - P + kh][ow S - P + kw]
 * dx[c][oh S - P + kh][ow S - P + kw] += w[c][kh][kw] dy[c][oh][ow] */
static void dw_backward(cx_layer *l, const cx_run *r, int n, const float *x, const float *y,
                        const float *dy, float *dx)
{
    (void)r;
    (void)y;
    dw_layer *d = (dw_layer *)l;
    const float *wt = l->params[0].w;
    float *dwt = l->params[0].g, *db = l->params[1].g;
    const int K = d->k, S = d->stride, P = d->pad;
    if (dx) memset(dx, 0, (size_t)n * d->c * d->h * d->w * sizeof(float));
    for (int i = 0; i < n * d->c; i++) {
        int c = i % d->c;
        const float *xc = x + (size_t)i * d->h * d->w;
        const float *gc = dy + (size_t)i * d->ho * d->wo;
        float *dxc = dx ? dx + (size_t)i * d->h * d->w : NULL;
        db[c] += cx_vec_sum(gc, d->ho * d->wo);
        for (int kh = 0; kh < K; kh++)
            for (int kw = 0; kw < K; kw++) {
                size_t t = ((size_t)c * K + kh) * K + kw;
                float wv = wt[t], acc = 0.0f;
                int lo, hi;
                valid_cols(d, kw, &lo, &hi);
                for (int oh = 0; oh < d->ho; oh++) {
                    int ih = oh * S - P + kh;
                    if (ih < 0 || ih >= d->h) continue;
                    /* input column ow S + kw - P of row ih */
                    size_t row = (size_t)ih * d->w;
                    const float *g = gc + (size_t)oh * d->wo;
                    if (S == 1 && hi > lo) {
                        size_t at = row + (size_t)(lo + kw - P);
                        acc += cx_vec_dot(g + lo, xc + at, hi - lo);
                        if (dxc) cx_vec_axpy(dxc + at, wv, g + lo, hi - lo);
                        continue;
                    }
                    for (int ow = lo; ow < hi; ow++)
                        acc += g[ow] * xc[row + (size_t)(ow * S + kw - P)];
                    if (dxc)
                        for (int ow = lo; ow < hi; ow++)
                            dxc[row + (size_t)(ow * S + kw - P)] += wv * g[ow];
                }
                dwt[t] += acc;
            }
    }
}

const cx_layer_kind cx_kind_dwconv2d = {
    .name = "dwconv",
    .usage = DW_USAGE,
    .takes_activation = 1,
    .create = dw_create,
    .forward = dw_forward,
    .backward = dw_backward,
};
