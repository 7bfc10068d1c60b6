/* maxpool: max over SIZE x SIZE windows of each channel, as PyTorch's
 * MaxPool2d without padding (floor mode): stride defaults to SIZE. The
 * forward records which input each output came from; the backward routes
 * the gradient there (the first maximum in scan order wins a tie). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../layer_util.h"

typedef struct {
    cx_layer base;
    int c, h, w, k, stride, ho, wo;
    int32_t *arg; /* (max_batch, C, Ho, Wo) offset of the maximum within its input plane */
    int cap;      /* samples arg has room for */
} maxpool_layer;

#define MAXPOOL_USAGE "maxpool SIZE [stride=S]"

static cx_status maxpool_create(cx_layer **out, int argc, char **argv, const cx_shape *in,
                                cx_error *err)
{
    int k, stride = 0;
    if (argc < 1 || argc > 2)
        return cx_fail(err, CX_ERR_ARG, "layer 'maxpool': usage: %s", MAXPOOL_USAGE);
    if (cx_parse_int(argv[0], 1, 64, &k))
        return cx_bad_token(err, "maxpool", argv[0], "a window size from 1 to 64");
    if (argc == 2) {
        const char *v;
        if (!cx_parse_kv(argv[1], "stride", &v) || cx_parse_int(v, 1, 64, &stride))
            return cx_bad_token(err, "maxpool", argv[1], "stride=S with S from 1 to 64");
    }
    if (!stride) stride = k;
    if (in->ndim != 3) return cx_bad_input(err, "maxpool", in, "an image (C,H,W)");
    if (in->d[1] < k || in->d[2] < k)
        return cx_bad_input(err, "maxpool", in, "an image at least as large as the window");
    maxpool_layer *p = cx_layer_new(sizeof *p, &cx_kind_maxpool, in);
    if (!p) return cx_fail(err, CX_ERR_NOMEM, "layer 'maxpool': out of memory");
    p->c = in->d[0], p->h = in->d[1], p->w = in->d[2], p->k = k, p->stride = stride;
    p->ho = (p->h - k) / stride + 1;
    p->wo = (p->w - k) / stride + 1;
    p->base.out = cx_shape3(p->c, p->ho, p->wo);
    snprintf(p->base.spec, sizeof p->base.spec, "maxpool %d stride=%d", k, stride);
    *out = &p->base;
    return CX_OK;
}

static cx_status maxpool_reserve(cx_layer *l, int max_batch, cx_error *err)
{
    maxpool_layer *p = (maxpool_layer *)l;
    if (max_batch <= p->cap) return CX_OK;
    size_t count = (size_t)max_batch * p->c * p->ho * p->wo;
    int32_t *arg = malloc(count * sizeof *arg);
    if (!arg) return cx_fail(err, CX_ERR_NOMEM, "layer '%s': out of memory", l->spec);
    free(p->arg);
    p->arg = arg;
    p->cap = max_batch;
    return CX_OK;
}

/* The offset within its input plane of the maximum of window (oh, ow);
 * the first in scan order on a tie, a NaN if there is one. */
static int window_argmax(const maxpool_layer *p, const float *xc, int oh, int ow)
{
    const int W = p->w;
    int at = oh * p->stride * W + ow * p->stride;
    float best = xc[at];
    for (int a = 0; a < p->k; a++)
        for (int b = 0; b < p->k; b++) {
            int o = (oh * p->stride + a) * W + ow * p->stride + b;
            float v = xc[o];
            if (v > best || (v != v && best == best)) { /* the first NaN wins */
                best = v;
                at = o;
            }
        }
    return at;
}

/* The common 2x2 window with stride 2, one input plane: the same result as
 * window_argmax, without branches (the comparisons of random data would
 * mispredict half the time), so the compiler can vectorize it. */
static void pool2x2_plane(const maxpool_layer *p, const float *restrict xc, float *restrict yc,
                          int32_t *restrict ac)
{
    const int W = p->w, Wo = p->wo;
    for (int oh = 0; oh < p->ho; oh++) {
        const float *r0 = xc + (size_t)2 * oh * W, *r1 = r0 + W;
        int32_t base = 2 * oh * W;
        for (int ow = 0; ow < Wo; ow++) {
            float best = r0[2 * ow], v;
            int32_t at = 0, g;
            v = r0[2 * ow + 1];
            g = v > best || (v != v && best == best);
            best = g ? v : best;
            at = g ? 1 : at;
            v = r1[2 * ow];
            g = v > best || (v != v && best == best);
            best = g ? v : best;
            at = g ? W : at;
            v = r1[2 * ow + 1];
            g = v > best || (v != v && best == best);
            best = g ? v : best;
            at = g ? W + 1 : at;
            yc[oh * Wo + ow] = best;
            if (ac) ac[oh * Wo + ow] = base + 2 * ow + at;
        }
    }
}

/* x: (n,C,H,W)  y: (n,C,Ho,Wo)
 * y[c][oh][ow] = max_{i,j < K} x[c][oh S + i][ow S + j]   (NaN propagates) */
static void maxpool_forward(cx_layer *l, const cx_run *r, int n, const float *x, float *y)
{
    (void)r;
    maxpool_layer *p = (maxpool_layer *)l;
    size_t in_plane = (size_t)p->h * p->w, out_plane = (size_t)p->ho * p->wo;
    int32_t *arg = n <= p->cap ? p->arg : NULL;
    if (p->k == 2 && p->stride == 2) {
        for (int i = 0; i < n * p->c; i++)
            pool2x2_plane(p, x + (size_t)i * in_plane, y + (size_t)i * out_plane,
                          arg ? arg + (size_t)i * out_plane : NULL);
        return;
    }
    for (int i = 0; i < n * p->c; i++) {
        const float *xc = x + (size_t)i * in_plane;
        float *yc = y + (size_t)i * out_plane;
        int32_t *ac = arg ? arg + (size_t)i * out_plane : NULL;
        for (int oh = 0; oh < p->ho; oh++)
            for (int ow = 0; ow < p->wo; ow++) {
                int at = window_argmax(p, xc, oh, ow);
                yc[oh * p->wo + ow] = xc[at];
                if (ac) ac[oh * p->wo + ow] = at;
            }
    }
}

/* dx[c][argmax of window (oh,ow)] += dy[c][oh][ow], zero elsewhere. The
 * maxima recorded by the forward are used when reserve made room for them,
 * otherwise they are found again from x. */
static void maxpool_backward(cx_layer *l, const cx_run *r, int n, const float *x, const float *y,
                             const float *dy, float *dx)
{
    (void)r;
    (void)y;
    maxpool_layer *p = (maxpool_layer *)l;
    if (!dx) return;
    size_t in_plane = (size_t)p->h * p->w, out_plane = (size_t)p->ho * p->wo;
    memset(dx, 0, (size_t)n * p->c * in_plane * sizeof(float));
    for (int i = 0; i < n * p->c; i++) {
        float *dxc = dx + (size_t)i * in_plane;
        const float *g = dy + (size_t)i * out_plane;
        if (n <= p->cap) {
            const int32_t *ac = p->arg + (size_t)i * out_plane;
            for (size_t o = 0; o < out_plane; o++)
                dxc[ac[o]] += g[o];
            continue;
        }
        const float *xc = x + (size_t)i * in_plane;
        for (int oh = 0; oh < p->ho; oh++)
            for (int ow = 0; ow < p->wo; ow++)
                dxc[window_argmax(p, xc, oh, ow)] += g[oh * p->wo + ow];
    }
}

static void maxpool_destroy(cx_layer *l)
{
    free(((maxpool_layer *)l)->arg);
    free(l);
}

const cx_layer_kind cx_kind_maxpool = {
    .name = "maxpool",
    .usage = MAXPOOL_USAGE,
    .create = maxpool_create,
    .reserve = maxpool_reserve,
    .forward = maxpool_forward,
    .backward = maxpool_backward,
    .destroy = maxpool_destroy,
};
