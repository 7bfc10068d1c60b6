/* conv: 2-D convolution over (C,H,W) images, as PyTorch's Conv2d (groups 1,
 * dilation 1, zero padding). Weight (F,C,K,K), bias (F).
 *
 * Four ways to run the products through sgemm, picked by shape (see
 * conv_choose): Winograd F(2x2,3x3) for 3x3 stride 1, products over shifted
 * views of the padded input for other stride-1 kernels, the input itself
 * for 1x1, and im2col for the rest. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../layer_util.h"
#include "../vec.h"

enum { CONV_IM2COL, CONV_SHIFT, CONV_WINOGRAD, CONV_POINTWISE };

typedef struct {
    cx_layer base;
    int c, h, w; /* input */
    int f, k;    /* filters, kernel size */
    int stride, pad;
    int ho, wo;   /* output */
    int ckk, hwo; /* C*K*K (GEMM depth), Ho*Wo */
    int path;     /* CONV_IM2COL, CONV_SHIFT, CONV_WINOGRAD or CONV_POINTWISE */
    int hp, wp;   /* padded input size (shift path) */
    int chunk;    /* samples per block of GEMMs (Winograd, shifted views) */
    float *ones;  /* hwo ones, for bias gradients through sgemv */
} conv_layer;

#define CONV_USAGE "conv FILTERS SIZE [stride=S] [pad=P|same|valid] [ACT]"

static int clampi(long v, int lo, int hi)
{
    return v < lo ? lo : v > hi ? hi : (int)v;
}

/* Picks the algorithm and how many samples go into one block of GEMMs.
 * Measured with bench/bench_conv.c (batch 64, forward + backward) on a
 * 2-core Zen 4 with OpenBLAS 0.3.21:
 * - 3x3 stride 1, 4 or more input channels: Winograd beats the shifted
 *   views by 1.4x (32->32 on 28x28) to 2x (128->128 on 8x8) and im2col by
 *   up to 2.2x. With 1 to 3 channels im2col wins: its GEMM depth is 9 C,
 *   Winograd's only C.
 * - other stride-1 kernels from 4 channels on: the shifted views beat
 *   im2col (1.8x for 5x5 16->16 on 28x28): no K*K copy of the input.
 * - 1x1 stride 1 without padding: the input is its own im2col.
 * - im2col one sample at a time: one GEMM over 4, 16 or 64 samples was
 *   1.0x, 1.35x and 1.7x slower (its column buffer leaves the cache).
 * Blocks are sized for OpenBLAS's unpacked small-matrix kernels (used up to
 * M N K = 1e6), which run these shapes near the core's peak; Winograd
 * blocks of ~100 tiles keep its transformed input and output in the L2
 * cache (4% faster than ~250 for 32->64 on 14x14). Larger blocks, which
 * OpenBLAS splits between threads, were not faster with 2 threads: within
 * +-10%, depending on the layer. */
static void conv_choose(conv_layer *cv)
{
    cv->path = CONV_IM2COL;
    cv->chunk = 1;
    if (cv->k == 1 && cv->stride == 1 && cv->pad == 0) {
        cv->path = CONV_POINTWISE;
    } else if (cv->stride == 1 && cv->k == 3 && cv->c >= 4) {
        long tiles = (long)((cv->ho + 1) / 2) * ((cv->wo + 1) / 2);
        cv->path = CONV_WINOGRAD;
        cv->chunk = clampi(128 / tiles, 1, 16); /* ~100 tiles or more per GEMM */
    } else if (cv->stride == 1 && cv->k > 1 && cv->c >= 4) {
        cv->path = CONV_SHIFT;
    }
}

static cx_status conv_create(cx_layer **out, int argc, char **argv, const cx_shape *in,
                             cx_error *err)
{
    int f, k, stride, pad;
    if (argc < 2) return cx_fail(err, CX_ERR_ARG, "layer 'conv': usage: %s", CONV_USAGE);
    if (cx_parse_int(argv[0], 1, 65536, &f))
        return cx_bad_token(err, "conv", argv[0], "a number of filters from 1 to 65536");
    cx_status st = cx_parse_conv_args(&cx_kind_conv2d, argc - 1, argv + 1, &k, &stride, &pad, err);
    if (st) return st;
    if (in->ndim != 3) return cx_bad_input(err, "conv", in, "an image (C,H,W)");
    int c = in->d[0], h = in->d[1], w = in->d[2];
    if (h + 2 * pad < k || w + 2 * pad < k)
        return cx_bad_input(err, "conv", in, "an image at least as large as the kernel");
    int ho = (h + 2 * pad - k) / stride + 1, wo = (w + 2 * pad - k) / stride + 1;
    size_t ckk = (size_t)c * k * k, hwo = (size_t)ho * wo;
    if (ckk > (1u << 24) || (size_t)f * ckk > (1u << 28) || (size_t)f * hwo > (1u << 28) ||
        ckk * hwo > (1u << 30))
        return cx_fail(err, CX_ERR_ARG, "layer 'conv %d %d': too large for a %dx%dx%d input", f, k,
                       c, h, w);
    conv_layer *cv = cx_layer_new(sizeof *cv, &cx_kind_conv2d, in);
    if (!cv) return cx_fail(err, CX_ERR_NOMEM, "layer 'conv': out of memory");
    cv->c = c, cv->h = h, cv->w = w, cv->f = f, cv->k = k;
    cv->stride = stride, cv->pad = pad, cv->ho = ho, cv->wo = wo;
    cv->ckk = (int)ckk, cv->hwo = (int)hwo;
    cv->hp = h + 2 * pad, cv->wp = w + 2 * pad;
    conv_choose(cv);
    cv->ones = cx_alloc_floats(hwo);
    if (!cv->ones) {
        free(cv);
        return cx_fail(err, CX_ERR_NOMEM, "layer 'conv': out of memory");
    }
    for (size_t i = 0; i < hwo; i++)
        cv->ones[i] = 1.0f;
    cv->base.out = cx_shape3(f, ho, wo);
    int ws[4] = {f, c, k, k}, bs[1] = {f};
    cx_declare_param(&cv->base, "weight", 4, ws, 1, 1, CX_INIT_HE, 0, (int)ckk, f * k * k);
    cx_declare_param(&cv->base, "bias", 1, bs, 1, 0, CX_INIT_ZERO, 0, 0, 0);
    snprintf(cv->base.spec, sizeof cv->base.spec, "conv %d %d stride=%d pad=%d", f, k, stride, pad);
    *out = &cv->base;
    return CX_OK;
}

static void conv_destroy(cx_layer *l)
{
    conv_layer *cv = (conv_layer *)l;
    cx_free_floats(cv->ones);
    free(cv);
}

/* Output columns ow whose input column ow*S - P + kw lies in [0, W): [lo, hi). */
static void valid_range(int size, int out, int stride, int pad, int kk, int *lo, int *hi)
{
    int a = pad - kk > 0 ? (pad - kk + stride - 1) / stride : 0;
    int b = (size + pad - kk + stride - 1) / stride;
    if (b > out) b = out;
    if (a > b) a = b;
    *lo = a;
    *hi = b;
}

/* x: (C,H,W) one sample -> col rows (C*K*K) of hwo columns, row stride ld
 * col[(c K + kh) K + kw][oh Wo + ow] = x[c][oh S - P + kh][ow S - P + kw] (0 outside) */
static void im2col(const conv_layer *cv, const float *x, float *col, size_t ld)
{
    const int K = cv->k, S = cv->stride, P = cv->pad, H = cv->h, W = cv->w, Wo = cv->wo;
    for (int kw = 0; kw < K; kw++) {
        int lo, hi;
        valid_range(W, Wo, S, P, kw, &lo, &hi);
        for (int c = 0; c < cv->c; c++)
            for (int kh = 0; kh < K; kh++) {
                float *row = col + (size_t)((c * K + kh) * K + kw) * ld;
                const float *xc = x + (size_t)c * H * W;
                for (int oh = 0; oh < cv->ho; oh++) {
                    float *dst = row + (size_t)oh * Wo;
                    int ih = oh * S - P + kh;
                    if (ih < 0 || ih >= H) {
                        memset(dst, 0, (size_t)Wo * sizeof(float));
                        continue;
                    }
                    const float *src = xc + (size_t)ih * W; /* column ow S + kw - P */
                    for (int ow = 0; ow < lo; ow++)
                        dst[ow] = 0.0f;
                    if (S == 1 && hi > lo)
                        memcpy(dst + lo, src + (lo + kw - P), (size_t)(hi - lo) * sizeof(float));
                    else
                        for (int ow = lo; ow < hi; ow++)
                            dst[ow] = src[ow * S + kw - P];
                    for (int ow = hi; ow < Wo; ow++)
                        dst[ow] = 0.0f;
                }
            }
    }
}

/* The adjoint of im2col: dx[c][ih][iw] += every col entry that copied it.
 * dx must be initialized (zeroed) by the caller. */
static void col2im(const conv_layer *cv, const float *col, size_t ld, float *dx)
{
    const int K = cv->k, S = cv->stride, P = cv->pad, H = cv->h, W = cv->w, Wo = cv->wo;
    for (int c = 0; c < cv->c; c++)
        for (int kh = 0; kh < K; kh++)
            for (int kw = 0; kw < K; kw++) {
                int lo, hi;
                valid_range(W, Wo, S, P, kw, &lo, &hi);
                const float *row = col + (size_t)((c * K + kh) * K + kw) * ld;
                float *xc = dx + (size_t)c * H * W;
                for (int oh = 0; oh < cv->ho; oh++) {
                    int ih = oh * S - P + kh;
                    if (ih < 0 || ih >= H) continue;
                    const float *src = row + (size_t)oh * Wo;
                    float *dst = xc + (size_t)ih * W; /* column ow S + kw - P */
                    if (S == 1 && hi > lo)
                        cx_vec_add(dst + (lo + kw - P), src + lo, hi - lo);
                    else
                        for (int ow = lo; ow < hi; ow++)
                            dst[ow * S + kw - P] += src[ow];
                }
            }
}

/* Samples in the blocks of a batch of n. */
static int chunk_of(const conv_layer *cv, int n)
{
    return cv->chunk < n ? cv->chunk : n;
}

/* Rounds a float count up to a 64-byte multiple, so workspace pieces stay aligned. */
static size_t align16(size_t n)
{
    return (n + 15) & ~(size_t)15;
}

/* ---- stride 1: K*K products over shifted views of the padded input --------
 *
 * A block of nb samples is packed channel-major and zero-padded:
 * xp[c][b Hp Wp + i Wp + j] (row length L = nb Hp Wp, plus K floats of
 * slack). With q = b Hp Wp + oh Wp + ow and s = kh Wp + kw,
 *   yw[f][q] = sum_{kh,kw} sum_c W[f][c][kh][kw] xp[c][q + s]
 * is the output at every q with oh < Ho, ow < Wo; the other columns of the
 * "wide" output are garbage and are dropped when it is unpacked. So the
 * convolution is K*K GEMMs (F x C) (C x Q), Q = L - (K-1) Wp, on strided
 * views of xp: no im2col copy, and the same for both gradients. */

typedef struct {
    float *wk;  /* (K*K, F, C) weights regrouped by kernel tap */
    float *gk;  /* (K*K, F, C) weight gradient, same layout */
    float *xp;  /* (C, L + K) packed padded input */
    float *yw;  /* (F, Q) wide output or output gradient */
    float *dxp; /* (C, L + K) padded input gradient */
} shift_ws;

static size_t shift_row(const conv_layer *cv, int nb)
{
    return (size_t)nb * cv->hp * cv->wp;
}

static size_t shift_q(const conv_layer *cv, int nb)
{
    return shift_row(cv, nb) - (size_t)(cv->k - 1) * cv->wp;
}

static size_t shift_carve(const conv_layer *cv, int nb, float *base, shift_ws *ws)
{
    size_t taps = (size_t)cv->k * cv->k * cv->f * cv->c;
    size_t xp = align16((size_t)cv->c * shift_row(cv, nb) + cv->k);
    size_t yw = align16((size_t)cv->f * shift_q(cv, nb));
    if (ws) {
        ws->wk = base;
        ws->gk = ws->wk + align16(taps);
        ws->xp = ws->gk + align16(taps);
        ws->yw = ws->xp + xp;
        ws->dxp = ws->yw + yw;
    }
    return 2 * align16(taps) + 2 * xp + yw;
}

/* W (F,C,K,K) -> wk (K*K,F,C) */
static void shift_pack_weights(const conv_layer *cv, const float *w, float *wk)
{
    int kk = cv->k * cv->k;
    for (int f = 0; f < cv->f; f++)
        for (int c = 0; c < cv->c; c++)
            for (int t = 0; t < kk; t++)
                wk[((size_t)t * cv->f + f) * cv->c + c] = w[((size_t)f * cv->c + c) * kk + t];
}

/* x: (nb,C,H,W) -> xp (C, L + K), zero borders and slack */
static void shift_pack_input(const conv_layer *cv, const float *x, int nb, float *xp)
{
    const int P = cv->pad, W = cv->w, Wp = cv->wp;
    size_t row = shift_row(cv, nb), plane = (size_t)cv->hp * Wp;
    for (int c = 0; c < cv->c; c++) {
        float *xc = xp + (size_t)c * row;
        for (int b = 0; b < nb; b++) {
            float *dst = xc + (size_t)b * plane;
            const float *src = x + ((size_t)b * cv->c + c) * cv->h * W;
            memset(dst, 0, ((size_t)P * Wp + P) * sizeof(float));
            dst += (size_t)P * Wp + P;
            for (int i = 0; i < cv->h; i++, dst += Wp, src += W) {
                memcpy(dst, src, (size_t)W * sizeof(float));
                memset(dst + W, 0, (size_t)(2 * P) * sizeof(float));
            }
            memset(dst - P, 0, ((size_t)P * Wp) * sizeof(float));
        }
    }
    memset(xp + (size_t)cv->c * row, 0, (size_t)cv->k * sizeof(float));
}

/* yw (F, Q) -> y (nb,F,Ho,Wo) + b */
static void shift_unpack_output(const conv_layer *cv, const float *yw, size_t q, int nb,
                                const float *bias, float *y)
{
    size_t plane = (size_t)cv->hp * cv->wp;
    for (int b = 0; b < nb; b++)
        for (int f = 0; f < cv->f; f++) {
            const float *src = yw + (size_t)f * q + b * plane;
            float *dst = y + ((size_t)b * cv->f + f) * cv->hwo;
            for (int i = 0; i < cv->ho; i++)
                cx_vec_add_scalar(dst + (size_t)i * cv->wo, src + (size_t)i * cv->wp, bias[f],
                                  cv->wo);
        }
}

/* dy (nb,F,Ho,Wo) -> dyw (F, Q), zero in the garbage columns */
static void shift_pack_grad(const conv_layer *cv, const float *dy, int nb, size_t q, float *dyw)
{
    size_t plane = (size_t)cv->hp * cv->wp;
    int gap = cv->wp - cv->wo;
    for (int f = 0; f < cv->f; f++) {
        float *row = dyw + (size_t)f * q;
        for (int b = 0; b < nb; b++) {
            const float *src = dy + ((size_t)b * cv->f + f) * cv->hwo;
            float *dst = row + b * plane;
            size_t end = b + 1 < nb ? plane : q - b * plane; /* the last block is shorter */
            for (int i = 0; i < cv->ho; i++) {
                memcpy(dst + (size_t)i * cv->wp, src + (size_t)i * cv->wo,
                       (size_t)cv->wo * sizeof(float));
                size_t at = (size_t)i * cv->wp + cv->wo;
                size_t len = at + gap <= end ? (size_t)gap : end - at;
                memset(dst + at, 0, len * sizeof(float));
            }
            if (end > (size_t)cv->ho * cv->wp)
                memset(dst + (size_t)cv->ho * cv->wp, 0,
                       (end - (size_t)cv->ho * cv->wp) * sizeof(float));
        }
    }
}

/* dxp (C, L + K) -> dx (nb,C,H,W): the interior of each padded plane */
static void shift_unpack_input_grad(const conv_layer *cv, const float *dxp, int nb, float *dx)
{
    size_t row = shift_row(cv, nb), plane = (size_t)cv->hp * cv->wp;
    for (int c = 0; c < cv->c; c++)
        for (int b = 0; b < nb; b++) {
            const float *src =
                dxp + (size_t)c * row + b * plane + (size_t)cv->pad * cv->wp + cv->pad;
            float *dst = dx + ((size_t)b * cv->c + c) * cv->h * cv->w;
            for (int i = 0; i < cv->h; i++)
                memcpy(dst + (size_t)i * cv->w, src + (size_t)i * cv->wp,
                       (size_t)cv->w * sizeof(float));
        }
}

/* x: (n,C,H,W) -> y: (n,F,Ho,Wo), y = sum_taps W_t xp_shifted + b */
static void shift_forward(conv_layer *cv, const cx_run *r, int n, const float *x, float *y)
{
    const cx_layer *l = &cv->base;
    int B = chunk_of(cv, n), kk = cv->k * cv->k;
    size_t in_sz = (size_t)cv->c * cv->h * cv->w, out_sz = (size_t)cv->f * cv->hwo;
    shift_ws ws;
    shift_carve(cv, B, r->work, &ws);
    shift_pack_weights(cv, l->params[0].w, ws.wk);
    for (int i0 = 0; i0 < n; i0 += B) {
        int nb = n - i0 < B ? n - i0 : B;
        size_t row = shift_row(cv, nb), q = shift_q(cv, nb);
        shift_pack_input(cv, x + i0 * in_sz, nb, ws.xp);
        for (int t = 0; t < kk; t++) {
            size_t s = (size_t)(t / cv->k) * cv->wp + t % cv->k;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cv->f, (int)q, cv->c, 1.0f,
                        ws.wk + (size_t)t * cv->f * cv->c, cv->c, ws.xp + s, (int)row,
                        t ? 1.0f : 0.0f, ws.yw, (int)q);
        }
        shift_unpack_output(cv, ws.yw, q, nb, l->params[1].w, y + i0 * out_sz);
    }
}

/* dW_t += dyw xp_shifted^T, dxp_shifted += W_t^T dyw, per tap t */
static void shift_backward(conv_layer *cv, const cx_run *r, int n, const float *x, const float *dy,
                           float *dx)
{
    cx_layer *l = &cv->base;
    int B = chunk_of(cv, n), kk = cv->k * cv->k;
    size_t in_sz = (size_t)cv->c * cv->h * cv->w, out_sz = (size_t)cv->f * cv->hwo;
    size_t taps = (size_t)kk * cv->f * cv->c;
    shift_ws ws;
    shift_carve(cv, B, r->work, &ws);
    shift_pack_weights(cv, l->params[0].w, ws.wk);
    memset(ws.gk, 0, taps * sizeof(float));
    for (int i0 = 0; i0 < n; i0 += B) {
        int nb = n - i0 < B ? n - i0 : B;
        size_t row = shift_row(cv, nb), q = shift_q(cv, nb);
        shift_pack_input(cv, x + i0 * in_sz, nb, ws.xp);
        shift_pack_grad(cv, dy + i0 * out_sz, nb, q, ws.yw);
        for (int t = 0; t < kk; t++) {
            size_t s = (size_t)(t / cv->k) * cv->wp + t % cv->k;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cv->f, cv->c, (int)q, 1.0f, ws.yw,
                        (int)q, ws.xp + s, (int)row, 1.0f, ws.gk + (size_t)t * cv->f * cv->c,
                        cv->c);
        }
        if (!dx) continue;
        memset(ws.dxp, 0, ((size_t)cv->c * row + cv->k) * sizeof(float));
        for (int t = 0; t < kk; t++) {
            size_t s = (size_t)(t / cv->k) * cv->wp + t % cv->k;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cv->c, (int)q, cv->f, 1.0f,
                        ws.wk + (size_t)t * cv->f * cv->c, cv->c, ws.yw, (int)q, 1.0f, ws.dxp + s,
                        (int)row);
        }
        shift_unpack_input_grad(cv, ws.dxp, nb, dx + i0 * in_sz);
    }
    float *g = l->params[0].g;
    for (int f = 0; f < cv->f; f++)
        for (int c = 0; c < cv->c; c++)
            for (int t = 0; t < kk; t++)
                g[((size_t)f * cv->c + c) * kk + t] += ws.gk[((size_t)t * cv->f + f) * cv->c + c];
}

/* ---- 3x3, stride 1: Winograd F(2x2, 3x3) ----------------------------------
 *
 * Each 2x2 output tile comes from a 4x4 input tile d (tiles overlap by 2):
 *   Y = A^T [ sum_c U[f,c] .* V[c] ] A,   U = G g G^T,   V = B^T d B
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1]
 * so the channel sum is 16 GEMMs (F x C)(C x tiles), one per entry xi of the
 * 4x4 transforms: 16 multiplies per 4 outputs instead of 36. Backward:
 *   dM = A dY A^T,  dU_xi += dM_xi V_xi^T,  dV_xi = U_xi^T dM_xi,
 *   dx += B dV B^T (scattered over the overlapping tiles),  dW = G^T dU G.
 * The coefficients are 0, +-1/2, +-1, so the transforms add little rounding.
 *
 * The padded input is kept "split": each row as its even columns then its
 * odd columns, so the transforms are whole-vector operations across the
 * tiles of a tile row. Tiles are stored in the order they are computed and
 * each of the 16 matrices is followed by 8 spare floats, so a vector that
 * runs past the end of a tile row may store garbage there: the next row
 * overwrites it. */

typedef struct {
    float *u, *du; /* (16, F, C) transformed weights and their gradient */
    float *xs;     /* (rows, 2 half) one split padded input plane */
    float *v;      /* 16 x (C, tiles) transformed input, then its gradient; vstride apart */
    float *m;      /* 16 x (F, tiles) transformed output or output gradient; mstride apart */
    float *dxs;    /* like xs: one split padded input gradient plane */
    float *tmp;    /* scratch for one tile row */
    size_t vstride, mstride;
} wino_ws;

typedef int cx_vi8 __attribute__((vector_size(32)));

/* Geometry: th x tw tiles per sample; split rows of 2 * half floats, half =
 * tw + 1 columns of one parity plus slack for whole-vector loads. */
static int wino_th(const conv_layer *cv)
{
    return (cv->ho + 1) / 2;
}
static int wino_tw(const conv_layer *cv)
{
    return (cv->wo + 1) / 2;
}
static int wino_half(const conv_layer *cv)
{
    return wino_tw(cv) + 1 + 8;
}
static size_t wino_tiles(const conv_layer *cv)
{
    return (size_t)wino_th(cv) * wino_tw(cv);
}
static size_t wino_plane(const conv_layer *cv)
{
    return (size_t)(2 * wino_th(cv) + 2) * 2 * wino_half(cv);
}

static size_t wino_carve(const conv_layer *cv, int nb, float *base, wino_ws *ws)
{
    size_t w16 = align16((size_t)16 * cv->f * cv->c), nt = (size_t)nb * wino_tiles(cv);
    size_t xs = align16(wino_plane(cv));
    size_t vs = align16((size_t)cv->c * nt + 8), ms = align16((size_t)cv->f * nt + 8);
    size_t tmp = align16((size_t)8 * wino_half(cv) + 32);
    if (ws) {
        ws->u = base;
        ws->du = ws->u + w16;
        ws->xs = ws->du + w16;
        ws->v = ws->xs + xs;
        ws->m = ws->v + 16 * vs;
        ws->dxs = ws->m + 16 * ms;
        ws->tmp = ws->dxs + xs;
        ws->vstride = vs;
        ws->mstride = ms;
    }
    return 2 * w16 + 2 * xs + 16 * vs + 16 * ms + tmp;
}

/* U[xi][f][c] = (G g[f][c] G^T)[xi], eight kernels at a time: their nine
 * taps transposed into vectors, so the 16 outputs are whole-vector stores
 * (a scalar loop of scattered stores took 39% of a batch-1 forward of the
 * reference CNN). */
static void wino_weights_one(const float *g, float (*t)[3])
{
    for (int j = 0; j < 3; j++) {
        t[0][j] = g[j];
        t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
        t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
        t[3][j] = g[6 + j];
    }
}

static void wino_weights(const conv_layer *cv, const float *w, float *u)
{
    size_t fc = (size_t)cv->f * cv->c, k = 0;
    for (; k + 8 <= fc; k += 8) {
        cx_vf8 g[9], t[4][3];
        for (int j = 0; j < 9; j++)
            for (int l = 0; l < 8; l++)
                g[j][l] = w[9 * (k + l) + j];
        for (int j = 0; j < 3; j++) {
            t[0][j] = g[j];
            t[1][j] = 0.5f * (g[j] + g[3 + j] + g[6 + j]);
            t[2][j] = 0.5f * (g[j] - g[3 + j] + g[6 + j]);
            t[3][j] = g[6 + j];
        }
        for (int i = 0; i < 4; i++) {
            *(cx_vf8 *)(u + (4 * i + 0) * fc + k) = t[i][0];
            *(cx_vf8 *)(u + (4 * i + 1) * fc + k) = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
            *(cx_vf8 *)(u + (4 * i + 2) * fc + k) = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
            *(cx_vf8 *)(u + (4 * i + 3) * fc + k) = t[i][2];
        }
    }
    for (; k < fc; k++) {
        float t[4][3];
        wino_weights_one(w + 9 * k, t);
        for (int i = 0; i < 4; i++) {
            u[(4 * i + 0) * fc + k] = t[i][0];
            u[(4 * i + 1) * fc + k] = 0.5f * (t[i][0] + t[i][1] + t[i][2]);
            u[(4 * i + 2) * fc + k] = 0.5f * (t[i][0] - t[i][1] + t[i][2]);
            u[(4 * i + 3) * fc + k] = t[i][2];
        }
    }
}

/* dW[f][c] += G^T dU[f][c] G */
static void wino_weight_grad(const conv_layer *cv, const float *du, float *dw)
{
    size_t fc = (size_t)cv->f * cv->c;
    for (size_t k = 0; k < fc; k++) {
        float t[3][4];
        for (int j = 0; j < 4; j++) {
            float a0 = du[(0 + j) * fc + k], a1 = du[(4 + j) * fc + k];
            float a2 = du[(8 + j) * fc + k], a3 = du[(12 + j) * fc + k];
            t[0][j] = a0 + 0.5f * (a1 + a2);
            t[1][j] = 0.5f * (a1 - a2);
            t[2][j] = 0.5f * (a1 + a2) + a3;
        }
        float *g = dw + 9 * k;
        for (int i = 0; i < 3; i++) {
            g[3 * i + 0] += t[i][0] + 0.5f * (t[i][1] + t[i][2]);
            g[3 * i + 1] += 0.5f * (t[i][1] - t[i][2]);
            g[3 * i + 2] += 0.5f * (t[i][1] + t[i][2]) + t[i][3];
        }
    }
}

/* even[k] = src[2k], odd[k] = src[2k+1] for 2k, 2k+1 < n */
static void deinterleave(const float *src, int n, float *even, float *odd)
{
    int k = 0;
    for (; 2 * k + 16 <= n; k += 8) {
        cx_vf8 a = *(const cx_vf8 *)(src + 2 * k), b = *(const cx_vf8 *)(src + 2 * k + 8);
        *(cx_vf8 *)(even + k) = __builtin_shufflevector(a, b, 0, 2, 4, 6, 8, 10, 12, 14);
        *(cx_vf8 *)(odd + k) = __builtin_shufflevector(a, b, 1, 3, 5, 7, 9, 11, 13, 15);
    }
    for (int i = 2 * k; i + 1 < n; i += 2) {
        even[i >> 1] = src[i];
        odd[i >> 1] = src[i + 1];
    }
    if (n & 1) even[n >> 1] = src[n - 1];
}

/* dst[2k] = even[k], dst[2k+1] = odd[k] for indices < n */
static void interleave(const float *even, const float *odd, int n, float *dst)
{
    int k = 0;
    for (; 2 * k + 16 <= n; k += 8) {
        cx_vf8 a = *(const cx_vf8 *)(even + k), b = *(const cx_vf8 *)(odd + k);
        *(cx_vf8 *)(dst + 2 * k) = __builtin_shufflevector(a, b, 0, 8, 1, 9, 2, 10, 3, 11);
        *(cx_vf8 *)(dst + 2 * k + 8) = __builtin_shufflevector(a, b, 4, 12, 5, 13, 6, 14, 7, 15);
    }
    for (int i = 2 * k; i + 1 < n; i += 2) {
        dst[i] = even[i >> 1];
        dst[i + 1] = odd[i >> 1];
    }
    if (n & 1) dst[n - 1] = even[n >> 1];
}

/* One input plane x (H,W) -> xs: padded row r = input row r - P, padded
 * column j = iw + P at (j even ? even part : odd part)[j / 2]; zeros
 * elsewhere. A plane at a time, so xs stays in the L1 cache. */
static void wino_split_plane(const conv_layer *cv, const float *x, float *xs)
{
    int half = wino_half(cv), P = cv->pad;
    memset(xs, 0, wino_plane(cv) * sizeof(float));
    for (int ih = 0; ih < cv->h; ih++) {
        const float *src = x + (size_t)ih * cv->w;
        float *even = xs + (size_t)(ih + P) * 2 * half, *odd = even + half;
        if (P % 2 == 0)
            deinterleave(src, cv->w, even + P / 2, odd + P / 2);
        else
            deinterleave(src, cv->w, odd + (P - 1) / 2, even + (P + 1) / 2);
    }
}

/* dx (H,W) = the interior of the split plane dxs */
static void wino_merge_plane(const conv_layer *cv, const float *dxs, float *dx)
{
    int half = wino_half(cv), P = cv->pad;
    for (int ih = 0; ih < cv->h; ih++) {
        const float *even = dxs + (size_t)(ih + P) * 2 * half, *odd = even + half;
        float *dst = dx + (size_t)ih * cv->w;
        if (P % 2 == 0)
            interleave(even + P / 2, odd + P / 2, cv->w, dst);
        else
            interleave(odd + (P - 1) / 2, even + (P + 1) / 2, cv->w, dst);
    }
}

#define VLOAD(p) (*(const cx_vf8 *)(p))
#define VSTORE(p, v) (*(cx_vf8 *)(p) = (v))

/* V[xi][u] = (B^T d B)[xi] for the tiles u < tw of one tile row whose four
 * input rows start at split row `row`; the 16 outputs are vs apart. */
static void wino_input_row(const float *row, int half, int tw, float *v, size_t vs)
{
    for (int u = 0; u < tw; u += 8) {
        cx_vf8 t[4][4];
        for (int j = 0; j < 4; j++) { /* column 2u + j: even u, odd u, even u+1, odd u+1 */
            const float *c = row + (j & 1 ? half : 0) + u + (j >> 1);
            cx_vf8 d0 = VLOAD(c), d1 = VLOAD(c + 2 * half), d2 = VLOAD(c + 4 * half);
            cx_vf8 d3 = VLOAD(c + 6 * half);
            t[0][j] = d0 - d2;
            t[1][j] = d1 + d2;
            t[2][j] = d2 - d1;
            t[3][j] = d1 - d3;
        }
        for (int i = 0; i < 4; i++) {
            float *vi = v + (size_t)(4 * i) * vs + u;
            VSTORE(vi, t[i][0] - t[i][2]);
            VSTORE(vi + vs, t[i][1] + t[i][2]);
            VSTORE(vi + 2 * vs, t[i][2] - t[i][1]);
            VSTORE(vi + 3 * vs, t[i][1] - t[i][3]);
        }
    }
}

/* Output rows 2t and 2t+1 (y1 NULL past the last row) of one tile row:
 * A^T M A + bias, with the 16 M matrices ms apart; tmp holds 32 floats. */
static void wino_output_row(const float *m, size_t ms, int tw, float bias, float *y0, float *y1,
                            int wo, float *tmp)
{
    cx_vf8 bv = cx_vf8_set1(bias);
    for (int u = 0; u < tw; u += 8) {
        cx_vf8 s[4][2];
        for (int i = 0; i < 4; i++) {
            const float *mi = m + (size_t)(4 * i) * ms + u;
            cx_vf8 a = VLOAD(mi), b = VLOAD(mi + ms), c = VLOAD(mi + 2 * ms);
            cx_vf8 d = VLOAD(mi + 3 * ms);
            s[i][0] = a + b + c;
            s[i][1] = b - c - d;
        }
        VSTORE(tmp, s[0][0] + s[1][0] + s[2][0] + bv);
        VSTORE(tmp + 8, s[0][1] + s[1][1] + s[2][1] + bv);
        VSTORE(tmp + 16, s[1][0] - s[2][0] - s[3][0] + bv);
        VSTORE(tmp + 24, s[1][1] - s[2][1] - s[3][1] + bv);
        int n = wo - 2 * u < 16 ? wo - 2 * u : 16;
        interleave(tmp, tmp + 8, n, y0 + 2 * u);
        if (y1) interleave(tmp + 16, tmp + 24, n, y1 + 2 * u);
    }
}

/* dM = A dY A^T for one tile row; dY rows split into even/odd columns
 * (ge0, go0, ge1, go1), zero past the last row and column. */
static void wino_grad_row(const float *ge0, const float *go0, const float *ge1, const float *go1,
                          int tw, float *m, size_t ms)
{
    for (int u = 0; u < tw; u += 8) {
        cx_vf8 g[2][2] = {{VLOAD(ge0 + u), VLOAD(go0 + u)}, {VLOAD(ge1 + u), VLOAD(go1 + u)}};
        cx_vf8 r[4][2];
        for (int j = 0; j < 2; j++) {
            r[0][j] = g[0][j];
            r[1][j] = g[0][j] + g[1][j];
            r[2][j] = g[0][j] - g[1][j];
            r[3][j] = -g[1][j];
        }
        for (int i = 0; i < 4; i++) {
            float *mi = m + (size_t)(4 * i) * ms + u;
            VSTORE(mi, r[i][0]);
            VSTORE(mi + ms, r[i][0] + r[i][1]);
            VSTORE(mi + 2 * ms, r[i][0] - r[i][1]);
            VSTORE(mi + 3 * ms, -r[i][1]);
        }
    }
}

/* Adds B dV B^T of one tile row into the split input gradient rows. Tile
 * u covers columns 2u..2u+3, i.e. even and odd entries u and u+1: the u+1
 * halves are shifted by one lane and carried into the next vector, so each
 * entry is read and written once (overlapping vector stores and loads would
 * stall). Lanes past the last tile are masked off: they hold other tiles. */
static void wino_input_grad_row(const float *v, size_t vs, int tw, float *row, int half)
{
    static const cx_vi8 lane = {0, 1, 2, 3, 4, 5, 6, 7};
    cx_vf8 carry_e[4], carry_o[4], zero = cx_vf8_set1(0.0f);
    for (int i = 0; i < 4; i++)
        carry_e[i] = carry_o[i] = zero;
    int u = 0;
    for (; u < tw; u += 8) {
        cx_vf8 a[4][4];
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++)
                a[i][j] = VLOAD(v + (size_t)(4 * i + j) * vs + u);
        if (tw - u < 8) {
            cx_vi8 keep = lane < (tw - u);
            for (int i = 0; i < 4; i++)
                for (int j = 0; j < 4; j++)
                    a[i][j] = (cx_vf8)((cx_vi8)a[i][j] & keep);
        }
        for (int j = 0; j < 4; j++) { /* rows of B dV */
            cx_vf8 w0 = a[0][j], w1 = a[1][j] - a[2][j] + a[3][j];
            cx_vf8 w2 = a[1][j] + a[2][j] - a[0][j], w3 = -a[3][j];
            a[0][j] = w0, a[1][j] = w1, a[2][j] = w2, a[3][j] = w3;
        }
        for (int i = 0; i < 4; i++) {
            float *e = row + (size_t)i * 2 * half + u, *o = e + half;
            /* columns 2u + j: j = 0, 2 even (u, u+1), j = 1, 3 odd (u, u+1) */
            cx_vf8 e1 = a[i][1] + a[i][2] - a[i][0], o1 = -a[i][3];
            *(cx_vf8 *)e +=
                a[i][0] + __builtin_shufflevector(carry_e[i], e1, 7, 8, 9, 10, 11, 12, 13, 14);
            *(cx_vf8 *)o += a[i][1] - a[i][2] + a[i][3] +
                            __builtin_shufflevector(carry_o[i], o1, 7, 8, 9, 10, 11, 12, 13, 14);
            carry_e[i] = e1;
            carry_o[i] = o1;
        }
    }
    for (int i = 0; i < 4; i++) { /* the last lane's u+1 half */
        row[(size_t)i * 2 * half + u] += carry_e[i][7];
        row[(size_t)i * 2 * half + half + u] += carry_o[i][7];
    }
}

/* x (nb,C,H,W) -> V, in memory order (channel, sample, tile row) */
static void wino_transform_input(const conv_layer *cv, const float *x, int nb, float *xs, float *v,
                                 size_t vs, size_t nt)
{
    int half = wino_half(cv), th = wino_th(cv), tw = wino_tw(cv);
    size_t T = wino_tiles(cv), in_plane = (size_t)cv->h * cv->w;
    for (int c = 0; c < cv->c; c++)
        for (int b = 0; b < nb; b++) {
            wino_split_plane(cv, x + ((size_t)b * cv->c + c) * in_plane, xs);
            float *vc = v + (size_t)c * nt + b * T;
            for (int t = 0; t < th; t++)
                wino_input_row(xs + (size_t)4 * t * half, half, tw, vc + (size_t)t * tw, vs);
        }
}

/* dy (nb,F,Ho,Wo) -> dM, in memory order (filter, sample, tile row) */
static void wino_transform_grad(const conv_layer *cv, const float *dy, int nb, float *m, size_t ms,
                                size_t nt, float *tmp)
{
    int half = wino_half(cv), th = wino_th(cv), tw = wino_tw(cv);
    size_t T = wino_tiles(cv);
    for (int f = 0; f < cv->f; f++)
        for (int b = 0; b < nb; b++) {
            const float *g = dy + ((size_t)b * cv->f + f) * cv->hwo;
            for (int t = 0; t < th; t++) {
                memset(tmp, 0, (size_t)4 * half * sizeof(float));
                for (int i = 0; i < 2 && 2 * t + i < cv->ho; i++)
                    deinterleave(g + (size_t)(2 * t + i) * cv->wo, cv->wo, tmp + 2 * i * half,
                                 tmp + (2 * i + 1) * half);
                wino_grad_row(tmp, tmp + half, tmp + 2 * half, tmp + 3 * half, tw,
                              m + (size_t)f * nt + b * T + (size_t)t * tw, ms);
            }
        }
}

static void wino_forward(conv_layer *cv, const cx_run *r, int n, const float *x, float *y)
{
    int B = chunk_of(cv, n), th = wino_th(cv), tw = wino_tw(cv);
    size_t in_sz = (size_t)cv->c * cv->h * cv->w, out_sz = (size_t)cv->f * cv->hwo;
    size_t T = wino_tiles(cv), fc = (size_t)cv->f * cv->c;
    const float *bias = cv->base.params[1].w;
    wino_ws ws;
    wino_carve(cv, B, r->work, &ws);
    wino_weights(cv, cv->base.params[0].w, ws.u);
    for (int i0 = 0; i0 < n; i0 += B) {
        int nb = n - i0 < B ? n - i0 : B;
        size_t nt = (size_t)nb * T;
        wino_transform_input(cv, x + i0 * in_sz, nb, ws.xs, ws.v, ws.vstride, nt);
        for (int xi = 0; xi < 16; xi++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cv->f, (int)nt, cv->c, 1.0f,
                        ws.u + xi * fc, cv->c, ws.v + xi * ws.vstride, (int)nt, 0.0f,
                        ws.m + xi * ws.mstride, (int)nt);
        for (int b = 0; b < nb; b++)
            for (int f = 0; f < cv->f; f++) {
                float *yf = y + (i0 + b) * out_sz + (size_t)f * cv->hwo;
                const float *mf = ws.m + (size_t)f * nt + b * T;
                for (int t = 0; t < th; t++) {
                    float *y0 = yf + (size_t)2 * t * cv->wo;
                    float *y1 = 2 * t + 1 < cv->ho ? y0 + cv->wo : NULL;
                    wino_output_row(mf + (size_t)t * tw, ws.mstride, tw, bias[f], y0, y1, cv->wo,
                                    ws.tmp);
                }
            }
    }
}

static void wino_backward(conv_layer *cv, const cx_run *r, int n, const float *x, const float *dy,
                          float *dx)
{
    int B = chunk_of(cv, n), half = wino_half(cv), th = wino_th(cv), tw = wino_tw(cv);
    size_t in_sz = (size_t)cv->c * cv->h * cv->w, out_sz = (size_t)cv->f * cv->hwo;
    size_t T = wino_tiles(cv), fc = (size_t)cv->f * cv->c;
    wino_ws ws;
    wino_carve(cv, B, r->work, &ws);
    wino_weights(cv, cv->base.params[0].w, ws.u);
    memset(ws.du, 0, 16 * fc * sizeof(float));
    for (int i0 = 0; i0 < n; i0 += B) {
        int nb = n - i0 < B ? n - i0 : B;
        size_t nt = (size_t)nb * T;
        wino_transform_input(cv, x + i0 * in_sz, nb, ws.xs, ws.v, ws.vstride, nt);
        wino_transform_grad(cv, dy + i0 * out_sz, nb, ws.m, ws.mstride, nt, ws.tmp);
        for (int xi = 0; xi < 16; xi++) {
            float *v = ws.v + xi * ws.vstride, *m = ws.m + xi * ws.mstride;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cv->f, cv->c, (int)nt, 1.0f, m,
                        (int)nt, v, (int)nt, 1.0f, ws.du + xi * fc, cv->c);
            if (dx) /* V_xi is no longer needed: it receives dV_xi */
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cv->c, (int)nt, cv->f, 1.0f,
                            ws.u + xi * fc, cv->c, m, (int)nt, 0.0f, v, (int)nt);
        }
        if (!dx) continue;
        for (int b = 0; b < nb; b++)
            for (int c = 0; c < cv->c; c++) {
                const float *vc = ws.v + (size_t)c * nt + b * T;
                memset(ws.dxs, 0, wino_plane(cv) * sizeof(float));
                for (int t = 0; t < th; t++)
                    wino_input_grad_row(vc + (size_t)t * tw, ws.vstride, tw,
                                        ws.dxs + (size_t)4 * t * half, half);
                wino_merge_plane(cv, ws.dxs, dx + (i0 + b) * in_sz + (size_t)c * cv->h * cv->w);
            }
    }
    wino_weight_grad(cv, ws.du, cv->base.params[0].g);
}

/* ---- general path: im2col + GEMM ------------------------------------------ */

/* col and dcol, (C K K, Ho Wo) each */
static size_t im2col_workspace(const conv_layer *cv)
{
    return 2 * (size_t)cv->ckk * cv->hwo;
}

/* x: (n,C,H,W)  W: (F, C K K)  b: (F)  y: (n,F,Ho,Wo)
 * y_i = W im2col(x_i) + b */
static void im2col_forward(conv_layer *cv, const cx_run *r, int n, const float *x, float *y)
{
    const float *wt = cv->base.params[0].w, *b = cv->base.params[1].w;
    size_t in_sz = (size_t)cv->c * cv->h * cv->w, out_sz = (size_t)cv->f * cv->hwo;
    float *col = r->work;
    for (int i = 0; i < n; i++) {
        float *yi = y + i * out_sz;
        im2col(cv, x + i * in_sz, col, (size_t)cv->hwo);
        for (int f = 0; f < cv->f; f++)
            cx_vec_fill(yi + (size_t)f * cv->hwo, b[f], cv->hwo);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cv->f, cv->hwo, cv->ckk, 1.0f, wt,
                    cv->ckk, col, cv->hwo, 1.0f, yi, cv->hwo);
    }
}

/* dy: (n,F,Ho,Wo)
 * dW += dy_i im2col(x_i)^T      (F, C K K)
 * dx_i = col2im(W^T dy_i)        (C,H,W), skipped when dx is NULL */
static void im2col_backward(conv_layer *cv, const cx_run *r, int n, const float *x, const float *dy,
                            float *dx)
{
    cx_param *pw = &cv->base.params[0];
    size_t in_sz = (size_t)cv->c * cv->h * cv->w, out_sz = (size_t)cv->f * cv->hwo;
    float *col = r->work, *dcol = col + (size_t)cv->ckk * cv->hwo;
    for (int i = 0; i < n; i++) {
        const float *g = dy + i * out_sz;
        im2col(cv, x + i * in_sz, col, (size_t)cv->hwo);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cv->f, cv->ckk, cv->hwo, 1.0f, g,
                    cv->hwo, col, cv->hwo, 1.0f, pw->g, cv->ckk);
        if (!dx) continue;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cv->ckk, cv->hwo, cv->f, 1.0f, pw->w,
                    cv->ckk, g, cv->hwo, 0.0f, dcol, cv->hwo);
        memset(dx + i * in_sz, 0, in_sz * sizeof(float));
        col2im(cv, dcol, (size_t)cv->hwo, dx + i * in_sz);
    }
}

/* ---- 1x1, stride 1, no padding: the input is its own im2col -------------- */

/* y_i = W x_i + b with W (F, C), x_i (C, H W) */
static void pointwise_forward(conv_layer *cv, int n, const float *x, float *y)
{
    const float *wt = cv->base.params[0].w, *b = cv->base.params[1].w;
    size_t in_sz = (size_t)cv->c * cv->hwo, out_sz = (size_t)cv->f * cv->hwo;
    for (int i = 0; i < n; i++) {
        float *yi = y + i * out_sz;
        for (int f = 0; f < cv->f; f++)
            cx_vec_fill(yi + (size_t)f * cv->hwo, b[f], cv->hwo);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cv->f, cv->hwo, cv->c, 1.0f, wt,
                    cv->c, x + i * in_sz, cv->hwo, 1.0f, yi, cv->hwo);
    }
}

/* dW += dy_i x_i^T, dx_i = W^T dy_i */
static void pointwise_backward(conv_layer *cv, int n, const float *x, const float *dy, float *dx)
{
    cx_param *pw = &cv->base.params[0];
    size_t in_sz = (size_t)cv->c * cv->hwo, out_sz = (size_t)cv->f * cv->hwo;
    for (int i = 0; i < n; i++) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cv->f, cv->c, cv->hwo, 1.0f,
                    dy + i * out_sz, cv->hwo, x + i * in_sz, cv->hwo, 1.0f, pw->g, cv->c);
        if (dx)
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cv->c, cv->hwo, cv->f, 1.0f, pw->w,
                        cv->c, dy + i * out_sz, cv->hwo, 0.0f, dx + i * in_sz, cv->hwo);
    }
}

/* ---- the layer ------------------------------------------------------------- */

static size_t conv_workspace(const cx_layer *l, int n)
{
    const conv_layer *cv = (const conv_layer *)l;
    if (cv->path == CONV_WINOGRAD) return wino_carve(cv, chunk_of(cv, n), NULL, NULL);
    if (cv->path == CONV_SHIFT) return shift_carve(cv, chunk_of(cv, n), NULL, NULL);
    if (cv->path == CONV_POINTWISE) return 0;
    return im2col_workspace(cv);
}

static void conv_forward(cx_layer *l, const cx_run *r, int n, const float *x, float *y)
{
    conv_layer *cv = (conv_layer *)l;
    if (cv->path == CONV_WINOGRAD)
        wino_forward(cv, r, n, x, y);
    else if (cv->path == CONV_SHIFT)
        shift_forward(cv, r, n, x, y);
    else if (cv->path == CONV_POINTWISE)
        pointwise_forward(cv, n, x, y);
    else
        im2col_forward(cv, r, n, x, y);
}

/* db += sum over samples and positions of dy, then the weight and input
 * gradients of the chosen path. */
static void conv_backward(cx_layer *l, const cx_run *r, int n, const float *x, const float *y,
                          const float *dy, float *dx)
{
    (void)y;
    conv_layer *cv = (conv_layer *)l;
    size_t out_sz = (size_t)cv->f * cv->hwo;
    for (int i = 0; i < n; i++)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, cv->f, cv->hwo, 1.0f, dy + i * out_sz, cv->hwo,
                    cv->ones, 1, 1.0f, l->params[1].g, 1);
    if (cv->path == CONV_WINOGRAD)
        wino_backward(cv, r, n, x, dy, dx);
    else if (cv->path == CONV_SHIFT)
        shift_backward(cv, r, n, x, dy, dx);
    else if (cv->path == CONV_POINTWISE)
        pointwise_backward(cv, n, x, dy, dx);
    else
        im2col_backward(cv, r, n, x, dy, dx);
}

const cx_layer_kind cx_kind_conv2d = {
    .name = "conv",
    .usage = CONV_USAGE,
    .takes_activation = 1,
    .create = conv_create,
    .workspace = conv_workspace,
    .forward = conv_forward,
    .backward = conv_backward,
    .destroy = conv_destroy,
};
