/* maxpool: max over KH x KW windows of each channel, as PyTorch's
 * MaxPool2d without padding (floor mode): the window is SIZE (square) or
 * KHxKW, and the stride defaults to the window. A window of 1x2 halves the
 * frequency axis of a (C, time, frequency) map and keeps every frame. The
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
    int c, h, w, kh, kw, sh, sw, ho, wo;
    int32_t *arg; /* (max_batch, C, Ho, Wo) offset of the maximum within its input plane */
    int cap;      /* samples arg has room for */
} maxpool_layer;

#define MAXPOOL_USAGE "maxpool SIZE|KHxKW [stride=S|SHxSW]"

static cx_status maxpool_create(cx_layer **out, int argc, char **argv, const cx_shape *in,
                                cx_error *err)
{
    int kh, kw, sh, sw;
    cx_status s = cx_parse_pool_args(&cx_kind_maxpool, argc, argv, &kh, &kw, &sh, &sw, err);
    if (s) return s;
    if (in->ndim != 3) return cx_bad_input(err, "maxpool", in, "an image (C,H,W)");
    if (in->d[1] < kh || in->d[2] < kw)
        return cx_bad_input(err, "maxpool", in, "an image at least as large as the window");
    maxpool_layer *p = cx_layer_new(sizeof *p, &cx_kind_maxpool, in);
    if (!p) return cx_fail(err, CX_ERR_NOMEM, "layer 'maxpool': out of memory");
    p->c = in->d[0], p->h = in->d[1], p->w = in->d[2];
    p->kh = kh, p->kw = kw, p->sh = sh, p->sw = sw;
    p->ho = (p->h - kh) / sh + 1;
    p->wo = (p->w - kw) / sw + 1;
    p->base.out = cx_shape3(p->c, p->ho, p->wo);
    char k[24], st[24];
    snprintf(p->base.spec, sizeof p->base.spec, "maxpool %s stride=%s",
             cx_size2_str(kh, kw, k, sizeof k), cx_size2_str(sh, sw, st, sizeof st));
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
    int at = oh * p->sh * W + ow * p->sw;
    float best = xc[at];
    for (int a = 0; a < p->kh; a++)
        for (int b = 0; b < p->kw; b++) {
            int o = (oh * p->sh + a) * W + ow * p->sw + b;
            float v = xc[o];
            if (v > best || (v != v && best == best)) { /* the first NaN wins */
                best = v;
                at = o;
            }
        }
    return at;
}

typedef float mp_vf4 __attribute__((vector_size(16), aligned(4), may_alias));
typedef int32_t mp_vi4 __attribute__((vector_size(16), aligned(4), may_alias));

/* The pair maxima of 4 outputs of the 2x2 window: which of two values wins
 * as window_argmax decides it (the later one only if greater, or if it is
 * the first NaN); a lane of g is -1 where b wins. */
static inline mp_vf4 mp_pick(mp_vf4 a, mp_vf4 b, mp_vi4 *g)
{
    *g = (b > a) | ((b != b) & (a == a));
    return (mp_vf4)((*g & (mp_vi4)b) | (~*g & (mp_vi4)a));
}

/* The common 2x2 window with stride 2, one input plane: the same result as
 * window_argmax, without branches. Four outputs at a time (each row's pairs
 * split into even and odd columns, then the two rows' pair maxima compared,
 * row 0's kept on a tie, so the scan order's first maximum and first NaN
 * win); the last four of a row overlap the ones before when the width is
 * not a multiple of four, which rewrites the same values. Rows of 7 or 14
 * outputs made a scalar loop over the window take 15% of a batch-1 forward
 * of the reference CNN. */
static void pool2x2_plane(const maxpool_layer *p, const float *restrict xc, float *restrict yc,
                          int32_t *restrict ac)
{
    const int W = p->w, Wo = p->wo;
    for (int oh = 0; oh < p->ho; oh++) {
        const float *r0 = xc + (size_t)2 * oh * W, *r1 = r0 + W;
        float *yr = yc + (size_t)oh * Wo;
        int32_t *ar = ac ? ac + (size_t)oh * Wo : NULL;
        int32_t base = 2 * oh * W;
        int ow = 0;
        if (Wo >= 4)
            for (;; ow += 4) {
                if (ow > Wo - 4) ow = Wo - 4;
                mp_vf4 a = *(const mp_vf4 *)(r0 + 2 * ow), b = *(const mp_vf4 *)(r0 + 2 * ow + 4);
                mp_vf4 c = *(const mp_vf4 *)(r1 + 2 * ow), d = *(const mp_vf4 *)(r1 + 2 * ow + 4);
                mp_vi4 g0, g1, g;
                mp_vf4 h0 = mp_pick(__builtin_shufflevector(a, b, 0, 2, 4, 6),
                                    __builtin_shufflevector(a, b, 1, 3, 5, 7), &g0);
                mp_vf4 h1 = mp_pick(__builtin_shufflevector(c, d, 0, 2, 4, 6),
                                    __builtin_shufflevector(c, d, 1, 3, 5, 7), &g1);
                *(mp_vf4 *)(yr + ow) = mp_pick(h0, h1, &g);
                if (ar) {
                    mp_vi4 col = {base + 2 * ow, base + 2 * ow + 2, base + 2 * ow + 4,
                                  base + 2 * ow + 6};
                    mp_vi4 a0 = g0 & 1, a1 = (g1 & 1) + W;
                    *(mp_vi4 *)(ar + ow) = col + ((g & a1) | (~g & a0));
                }
                if (ow == Wo - 4) break;
            }
        else
            for (; ow < Wo; ow++) {
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
                yr[ow] = best;
                if (ar) ar[ow] = base + 2 * ow + at;
            }
    }
}

/* The 1x2 window with stride 1x2 over an even width (pooling frequency
 * only, as speech front ends do): the output pairs up consecutive inputs of
 * the whole plane, one branch-free loop the compiler vectorizes; the same
 * result as window_argmax. */
static void pool1x2_plane(const maxpool_layer *p, const float *restrict xc, float *restrict yc,
                          int32_t *restrict ac)
{
    const int n = p->ho * p->wo;
    for (int i = 0; i < n; i++) {
        float a = xc[2 * i], b = xc[2 * i + 1];
        int g = b > a || (b != b && a == a);
        yc[i] = g ? b : a;
        if (ac) ac[i] = 2 * i + g;
    }
}

/* Any window and stride, one input plane: the same result as
 * window_argmax, without branches. Each position (a, b) of the window, in
 * the same scan order, is compared across a whole row of outputs at once,
 * keeping the running maxima in y and their offsets in the arg row. */
static void pool_plane(const maxpool_layer *p, const float *restrict xc, float *restrict yc,
                       int32_t *restrict ac)
{
    const int W = p->w, Wo = p->wo, SW = p->sw;
    for (int oh = 0; oh < p->ho; oh++) {
        float *restrict best = yc + (size_t)oh * Wo;
        int32_t *restrict at = ac ? ac + (size_t)oh * Wo : NULL;
        const int32_t top = oh * p->sh * W;
        for (int ow = 0; ow < Wo; ow++)
            best[ow] = xc[top + ow * SW];
        if (at)
            for (int ow = 0; ow < Wo; ow++)
                at[ow] = top + ow * SW;
        for (int a = 0; a < p->kh; a++)
            for (int b = a == 0; b < p->kw; b++) {
                const int32_t off = top + a * W + b;
                const float *restrict row = xc + off;
                if (at)
                    for (int ow = 0; ow < Wo; ow++) {
                        float v = row[ow * SW], m = best[ow];
                        int g = v > m || (v != v && m == m);
                        best[ow] = g ? v : m;
                        at[ow] = g ? off + ow * SW : at[ow];
                    }
                else
                    for (int ow = 0; ow < Wo; ow++) {
                        float v = row[ow * SW], m = best[ow];
                        int g = v > m || (v != v && m == m);
                        best[ow] = g ? v : m;
                    }
            }
    }
}

/* x: (n,C,H,W)  y: (n,C,Ho,Wo)
 * y[c][oh][ow] = max_{i < KH, j < KW} x[c][oh SH + i][ow SW + j]   (NaN propagates) */
static void maxpool_forward(cx_layer *l, const cx_run *r, int n, const float *x, float *y)
{
    (void)r;
    maxpool_layer *p = (maxpool_layer *)l;
    size_t in_plane = (size_t)p->h * p->w, out_plane = (size_t)p->ho * p->wo;
    int32_t *arg = n <= p->cap ? p->arg : NULL;
    if (p->kh == 2 && p->kw == 2 && p->sh == 2 && p->sw == 2) {
        for (int i = 0; i < n * p->c; i++)
            pool2x2_plane(p, x + (size_t)i * in_plane, y + (size_t)i * out_plane,
                          arg ? arg + (size_t)i * out_plane : NULL);
        return;
    }
    if (p->kh == 1 && p->kw == 2 && p->sh == 1 && p->sw == 2 && p->w % 2 == 0) {
        for (int i = 0; i < n * p->c; i++)
            pool1x2_plane(p, x + (size_t)i * in_plane, y + (size_t)i * out_plane,
                          arg ? arg + (size_t)i * out_plane : NULL);
        return;
    }
    for (int i = 0; i < n * p->c; i++)
        pool_plane(p, x + (size_t)i * in_plane, y + (size_t)i * out_plane,
                   arg ? arg + (size_t)i * out_plane : NULL);
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
