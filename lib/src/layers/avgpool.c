/* avgpool: mean over SIZE x SIZE windows of each channel, as PyTorch's
 * AvgPool2d without padding (floor mode): stride defaults to SIZE. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../layer_util.h"

typedef struct {
    cx_layer base;
    int c, h, w, k, stride, ho, wo;
} avgpool_layer;

#define AVGPOOL_USAGE "avgpool SIZE [stride=S]"

static cx_status avgpool_create(cx_layer **out, int argc, char **argv, const cx_shape *in,
                                cx_error *err)
{
    int k, stride = 0;
    if (argc < 1 || argc > 2)
        return cx_fail(err, CX_ERR_ARG, "layer 'avgpool': usage: %s", AVGPOOL_USAGE);
    if (cx_parse_int(argv[0], 1, 64, &k))
        return cx_bad_token(err, "avgpool", argv[0], "a window size from 1 to 64");
    if (argc == 2) {
        const char *v;
        if (!cx_parse_kv(argv[1], "stride", &v) || cx_parse_int(v, 1, 64, &stride))
            return cx_bad_token(err, "avgpool", argv[1], "stride=S with S from 1 to 64");
    }
    if (!stride) stride = k;
    if (in->ndim != 3) return cx_bad_input(err, "avgpool", in, "an image (C,H,W)");
    if (in->d[1] < k || in->d[2] < k)
        return cx_bad_input(err, "avgpool", in, "an image at least as large as the window");
    avgpool_layer *p = cx_layer_new(sizeof *p, &cx_kind_avgpool, in);
    if (!p) return cx_fail(err, CX_ERR_NOMEM, "layer 'avgpool': out of memory");
    p->c = in->d[0], p->h = in->d[1], p->w = in->d[2], p->k = k, p->stride = stride;
    p->ho = (p->h - k) / stride + 1;
    p->wo = (p->w - k) / stride + 1;
    p->base.out = cx_shape3(p->c, p->ho, p->wo);
    snprintf(p->base.spec, sizeof p->base.spec, "avgpool %d stride=%d", k, stride);
    *out = &p->base;
    return CX_OK;
}

/* x: (n,C,H,W)  y: (n,C,Ho,Wo)
 * y[c][oh][ow] = 1/K^2 sum_{i,j < K} x[c][oh S + i][ow S + j] */
static void avgpool_forward(cx_layer *l, const cx_run *r, int n, const float *x, float *y)
{
    (void)r;
    avgpool_layer *p = (avgpool_layer *)l;
    const int K = p->k, S = p->stride, W = p->w;
    const float scale = 1.0f / (float)(K * K);
    for (int i = 0; i < n * p->c; i++) {
        const float *xc = x + (size_t)i * p->h * W;
        float *yc = y + (size_t)i * p->ho * p->wo;
        for (int oh = 0; oh < p->ho; oh++)
            for (int ow = 0; ow < p->wo; ow++) {
                float s = 0.0f;
                for (int a = 0; a < K; a++) {
                    const float *row = xc + (size_t)(oh * S + a) * W + ow * S;
                    for (int b = 0; b < K; b++)
                        s += row[b];
                }
                yc[oh * p->wo + ow] = s * scale;
            }
    }
}

/* dx[c][oh S + i][ow S + j] += dy[c][oh][ow] / K^2 for i, j < K */
static void avgpool_backward(cx_layer *l, const cx_run *r, int n, const float *x, const float *y,
                             const float *dy, float *dx)
{
    (void)r;
    (void)x;
    (void)y;
    avgpool_layer *p = (avgpool_layer *)l;
    if (!dx) return;
    const int K = p->k, S = p->stride, W = p->w;
    const float scale = 1.0f / (float)(K * K);
    memset(dx, 0, (size_t)n * p->c * p->h * W * sizeof(float));
    for (int i = 0; i < n * p->c; i++) {
        float *dxc = dx + (size_t)i * p->h * W;
        const float *g = dy + (size_t)i * p->ho * p->wo;
        for (int oh = 0; oh < p->ho; oh++)
            for (int ow = 0; ow < p->wo; ow++) {
                float v = g[oh * p->wo + ow] * scale;
                for (int a = 0; a < K; a++) {
                    float *row = dxc + (size_t)(oh * S + a) * W + ow * S;
                    for (int b = 0; b < K; b++)
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
