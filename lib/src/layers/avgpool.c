/* avgpool: mean over KH x KW windows of each channel, as PyTorch's
 * AvgPool2d without padding (floor mode): the window is SIZE (square) or
 * KHxKW, and the stride defaults to the window. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../layer_util.h"

typedef struct {
    cx_layer base;
    int c, h, w, kh, kw, sh, sw, ho, wo;
} avgpool_layer;

#define AVGPOOL_USAGE "avgpool SIZE|KHxKW [stride=S|SHxSW]"

static cx_status avgpool_create(cx_layer **out, int argc, char **argv, const cx_shape *in,
                                cx_error *err)
{
    int kh, kw, sh, sw;
    cx_status s = cx_parse_pool_args(&cx_kind_avgpool, argc, argv, &kh, &kw, &sh, &sw, err);
    if (s) return s;
    if (in->ndim != 3) return cx_bad_input(err, "avgpool", in, "an image (C,H,W)");
    if (in->d[1] < kh || in->d[2] < kw)
        return cx_bad_input(err, "avgpool", in, "an image at least as large as the window");
    avgpool_layer *p = cx_layer_new(sizeof *p, &cx_kind_avgpool, in);
    if (!p) return cx_fail(err, CX_ERR_NOMEM, "layer 'avgpool': out of memory");
    p->c = in->d[0], p->h = in->d[1], p->w = in->d[2];
    p->kh = kh, p->kw = kw, p->sh = sh, p->sw = sw;
    p->ho = (p->h - kh) / sh + 1;
    p->wo = (p->w - kw) / sw + 1;
    p->base.out = cx_shape3(p->c, p->ho, p->wo);
    char k[24], st[24];
    snprintf(p->base.spec, sizeof p->base.spec, "avgpool %s stride=%s",
             cx_size2_str(kh, kw, k, sizeof k), cx_size2_str(sh, sw, st, sizeof st));
    *out = &p->base;
    return CX_OK;
}

/* x: (n,C,H,W)  y: (n,C,Ho,Wo)
 * y[c][oh][ow] = 1/(KH KW) sum_{i < KH, j < KW} x[c][oh SH + i][ow SW + j] */
static void avgpool_forward(cx_layer *l, const cx_run *r, int n, const float *x, float *y)
{
    (void)r;
    avgpool_layer *p = (avgpool_layer *)l;
    const int KH = p->kh, KW = p->kw, SH = p->sh, SW = p->sw, W = p->w;
    const float scale = 1.0f / (float)(KH * KW);
    for (int i = 0; i < n * p->c; i++) {
        const float *xc = x + (size_t)i * p->h * W;
        float *yc = y + (size_t)i * p->ho * p->wo;
        for (int oh = 0; oh < p->ho; oh++)
            for (int ow = 0; ow < p->wo; ow++) {
                float s = 0.0f;
                for (int a = 0; a < KH; a++) {
                    const float *row = xc + (size_t)(oh * SH + a) * W + ow * SW;
                    for (int b = 0; b < KW; b++)
                        s += row[b];
                }
                yc[oh * p->wo + ow] = s * scale;
            }
    }
}

/* dx[c][oh SH + i][ow SW + j] += dy[c][oh][ow] / (KH KW) for i < KH, j < KW */
static void avgpool_backward(cx_layer *l, const cx_run *r, int n, const float *x, const float *y,
                             const float *dy, float *dx)
{
    (void)r;
    (void)x;
    (void)y;
    avgpool_layer *p = (avgpool_layer *)l;
    if (!dx) return;
    const int KH = p->kh, KW = p->kw, SH = p->sh, SW = p->sw, W = p->w;
    const float scale = 1.0f / (float)(KH * KW);
    memset(dx, 0, (size_t)n * p->c * p->h * W * sizeof(float));
    for (int i = 0; i < n * p->c; i++) {
        float *dxc = dx + (size_t)i * p->h * W;
        const float *g = dy + (size_t)i * p->ho * p->wo;
        for (int oh = 0; oh < p->ho; oh++)
            for (int ow = 0; ow < p->wo; ow++) {
                float v = g[oh * p->wo + ow] * scale;
                for (int a = 0; a < KH; a++) {
                    float *row = dxc + (size_t)(oh * SH + a) * W + ow * SW;
                    for (int b = 0; b < KW; b++)
                        row[b] += v;
                }
            }
    }
}

const cx_layer_kind cx_kind_avgpool = {
    .name = "avgpool",
    .usage = AVGPOOL_USAGE,
    .create = avgpool_create,
    .forward = avgpool_forward,
    .backward = avgpool_backward,
};
