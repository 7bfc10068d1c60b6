/* conv: 2-D convolution over (C,H,W) images, as PyTorch's Conv2d (groups 1,
 * dilation 1, zero padding). Weight (F,C,K,K), bias (F).
 *
 * The product runs through im2col and sgemm. Strategy knobs (chunk of
 * samples per GEMM) are chosen from measurements, see bench/conv.sh. */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../layer_util.h"
#include "../vec.h"

typedef struct {
    cx_layer base;
    int c, h, w;    /* input */
    int f, k;       /* filters, kernel size */
    int stride, pad;
    int ho, wo;     /* output */
    int ckk, hwo;   /* C*K*K (GEMM depth), Ho*Wo */
    int shift;      /* stride-1 path over shifted views of the padded input */
    int hp, wp;     /* padded input size (shift path) */
    int chunk_mt;   /* samples per block when OpenBLAS has more than one thread */
    float *ones;    /* hwo ones, for bias gradients through sgemv */
} conv_layer;

#define CONV_USAGE "conv FILTERS SIZE [stride=S] [pad=P|same|valid] [ACT]"

static int env_int(const char *name, int dflt)
{
    const char *s = getenv(name);
    return s && *s ? atoi(s) : dflt;
}

static cx_status conv_create(cx_layer **out, int argc, char **argv, const cx_shape *in,
                             cx_error *err)
{
    int f, k, stride = 1, pad = -1, have_stride = 0;
    if (argc < 2) return cx_fail(err, CX_ERR_ARG, "layer 'conv': usage: %s", CONV_USAGE);
    if (cx_parse_int(argv[0], 1, 65536, &f))
        return cx_bad_token(err, "conv", argv[0], "a number of filters from 1 to 65536");
    if (cx_parse_int(argv[1], 1, 64, &k))
        return cx_bad_token(err, "conv", argv[1], "a kernel size from 1 to 64");
    for (int i = 2; i < argc; i++) {
        const char *v;
        if (cx_parse_kv(argv[i], "stride", &v) && !have_stride) {
            if (cx_parse_int(v, 1, 64, &stride))
                return cx_bad_token(err, "conv", argv[i], "stride=S with S from 1 to 64");
            have_stride = 1;
        } else if (cx_parse_kv(argv[i], "pad", &v) && pad < 0) {
            if (!strcmp(v, "same"))
                pad = k / 2;
            else if (!strcmp(v, "valid"))
                pad = 0;
            else if (cx_parse_int(v, 0, k - 1, &pad))
                return cx_bad_token(err, "conv", argv[i],
                                    "pad=same, pad=valid or pad=P with P from 0 to SIZE-1");
        } else {
            return cx_bad_token(err, "conv", argv[i],
                                "stride=S, pad=P|same|valid or an activation, each at most once");
        }
    }
    if (pad < 0) pad = k / 2;
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
    cv->shift = stride == 1 && k > 1 && c >= env_int("CX_CONV_SHIFT_MIN_C", 4);
    cv->chunk_mt = env_int(cv->shift ? "CX_CONV_SHIFT_CHUNK" : "CX_CONV_CHUNK", 8);
    cv->ones = cx_alloc_floats(hwo);
    if (!cv->ones) {
        free(cv);
        return cx_fail(err, CX_ERR_NOMEM, "layer 'conv': out of memory");
    }
    for (size_t i = 0; i < hwo; i++) cv->ones[i] = 1.0f;
    cv->base.out = cx_shape3(f, ho, wo);
    int ws[4] = {f, c, k, k}, bs[1] = {f};
    cx_declare_param(&cv->base, "weight", 4, ws, 1, 1, CX_INIT_HE, 0, (int)ckk, f * k * k);
    cx_declare_param(&cv->base, "bias", 1, bs, 1, 0, CX_INIT_ZERO, 0, 0, 0);
    snprintf(cv->base.spec, sizeof cv->base.spec, "conv %d %d stride=%d pad=%d", f, k, stride,
             pad);
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
                    for (int ow = 0; ow < lo; ow++) dst[ow] = 0.0f;
                    if (S == 1 && hi > lo)
                        memcpy(dst + lo, src + (lo + kw - P), (size_t)(hi - lo) * sizeof(float));
                    else
                        for (int ow = lo; ow < hi; ow++) dst[ow] = src[ow * S + kw - P];
                    for (int ow = hi; ow < Wo; ow++) dst[ow] = 0.0f;
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
                        for (int ow = lo; ow < hi; ow++) dst[ow * S + kw - P] += src[ow];
                }
            }
}

/* Samples per block. One thread: one sample, whose GEMMs are small enough
 * for OpenBLAS's unpacked small-matrix kernels. More threads: blocks large
 * enough for OpenBLAS to split each GEMM between them. */
static int chunk_of(const conv_layer *cv, int n)
{
    int b = cx_get_threads() > 1 ? cv->chunk_mt : 1;
    return b < n ? b : n;
}

/* The largest block any thread count uses, for the workspace size. */
static int max_chunk(const conv_layer *cv, int n) { return cv->chunk_mt < n ? cv->chunk_mt : n; }

/* Rounds a float count up to a 64-byte multiple, so workspace pieces stay aligned. */
static size_t align16(size_t n) { return (n + 15) & ~(size_t)15; }

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

static size_t shift_row(const conv_layer *cv, int nb) { return (size_t)nb * cv->hp * cv->wp; }

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
                cx_vec_add_scalar(dst + (size_t)i * cv->wo, src + (size_t)i * cv->wp, bias[f], cv->wo);
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
            const float *src = dxp + (size_t)c * row + b * plane + (size_t)cv->pad * cv->wp + cv->pad;
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
static void shift_backward(conv_layer *cv, const cx_run *r, int n, const float *x,
                           const float *dy, float *dx)
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
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cv->f, cv->c, (int)q, 1.0f,
                        ws.yw, (int)q, ws.xp + s, (int)row, 1.0f,
                        ws.gk + (size_t)t * cv->f * cv->c, cv->c);
        }
        if (!dx) continue;
        memset(ws.dxp, 0, ((size_t)cv->c * row + cv->k) * sizeof(float));
        for (int t = 0; t < kk; t++) {
            size_t s = (size_t)(t / cv->k) * cv->wp + t % cv->k;
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cv->c, (int)q, cv->f, 1.0f,
                        ws.wk + (size_t)t * cv->f * cv->c, cv->c, ws.yw, (int)q, 1.0f,
                        ws.dxp + s, (int)row);
        }
        shift_unpack_input_grad(cv, ws.dxp, nb, dx + i0 * in_sz);
    }
    float *g = l->params[0].g;
    for (int f = 0; f < cv->f; f++)
        for (int c = 0; c < cv->c; c++)
            for (int t = 0; t < kk; t++)
                g[((size_t)f * cv->c + c) * kk + t] += ws.gk[((size_t)t * cv->f + f) * cv->c + c];
}

/* ---- general path: im2col + GEMM ------------------------------------------ */

static size_t im2col_workspace(const conv_layer *cv, int n)
{
    size_t cols = (size_t)max_chunk(cv, n) * cv->hwo;
    return cols * (2 * (size_t)cv->ckk + cv->f);
}

/* x: (n,C,H,W)  W: (F, C K K)  b: (F)  y: (n,F,Ho,Wo)
 * y_i = W im2col(x_i) + b */
static void im2col_forward(conv_layer *cv, const cx_run *r, int n, const float *x, float *y)
{
    const cx_layer *l = &cv->base;
    const float *wt = l->params[0].w, *b = l->params[1].w;
    size_t in_sz = (size_t)cv->c * cv->h * cv->w, out_sz = (size_t)cv->f * cv->hwo;
    int B = chunk_of(cv, n);
    float *col = r->work, *tmp = col + (size_t)B * cv->hwo * cv->ckk;
    for (int i0 = 0; i0 < n; i0 += B) {
        int nb = n - i0 < B ? n - i0 : B;
        size_t ld = (size_t)nb * cv->hwo;
        for (int j = 0; j < nb; j++)
            im2col(cv, x + (i0 + j) * in_sz, col + (size_t)j * cv->hwo, ld);
        if (nb == 1) {
            float *yi = y + i0 * out_sz;
            for (int f = 0; f < cv->f; f++) cx_vec_fill(yi + (size_t)f * cv->hwo, b[f], cv->hwo);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cv->f, cv->hwo, cv->ckk, 1.0f,
                        wt, cv->ckk, col, cv->hwo, 1.0f, yi, cv->hwo);
            continue;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, cv->f, (int)ld, cv->ckk, 1.0f, wt,
                    cv->ckk, col, (int)ld, 0.0f, tmp, (int)ld);
        for (int j = 0; j < nb; j++)
            for (int f = 0; f < cv->f; f++) {
                float *dst = y + (i0 + j) * out_sz + (size_t)f * cv->hwo;
                const float *src = tmp + (size_t)f * ld + (size_t)j * cv->hwo;
                cx_vec_add_scalar(dst, src, b[f], cv->hwo);
            }
    }
}

/* dy: (n,F,Ho,Wo)
 * dW += dy_i im2col(x_i)^T      (F, C K K)
 * dx_i = col2im(W^T dy_i)        (C,H,W), skipped when dx is NULL */
static void im2col_backward(conv_layer *cv, const cx_run *r, int n, const float *x,
                            const float *dy, float *dx)
{
    cx_param *pw = &cv->base.params[0];
    size_t in_sz = (size_t)cv->c * cv->h * cv->w, out_sz = (size_t)cv->f * cv->hwo;
    int B = chunk_of(cv, n);
    float *col = r->work, *dcol = col + (size_t)B * cv->hwo * cv->ckk;
    float *dyt = dcol + (size_t)B * cv->hwo * cv->ckk;
    for (int i0 = 0; i0 < n; i0 += B) {
        int nb = n - i0 < B ? n - i0 : B;
        size_t ld = (size_t)nb * cv->hwo;
        const float *g = dy + i0 * out_sz;
        for (int j = 0; j < nb; j++)
            im2col(cv, x + (i0 + j) * in_sz, col + (size_t)j * cv->hwo, ld);
        if (nb > 1) {
            for (int j = 0; j < nb; j++)
                for (int f = 0; f < cv->f; f++)
                    memcpy(dyt + (size_t)f * ld + (size_t)j * cv->hwo,
                           g + j * out_sz + (size_t)f * cv->hwo, (size_t)cv->hwo * sizeof(float));
            g = dyt;
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, cv->f, cv->ckk, (int)ld, 1.0f, g,
                    (int)ld, col, (int)ld, 1.0f, pw->g, cv->ckk);
        if (!dx) continue;
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, cv->ckk, (int)ld, cv->f, 1.0f, pw->w,
                    cv->ckk, g, (int)ld, 0.0f, dcol, (int)ld);
        memset(dx + i0 * in_sz, 0, (size_t)nb * in_sz * sizeof(float));
        for (int j = 0; j < nb; j++)
            col2im(cv, dcol + (size_t)j * cv->hwo, ld, dx + (i0 + j) * in_sz);
    }
}

/* ---- the layer ------------------------------------------------------------- */

static size_t conv_workspace(const cx_layer *l, int n)
{
    const conv_layer *cv = (const conv_layer *)l;
    return cv->shift ? shift_carve(cv, max_chunk(cv, n), NULL, NULL) : im2col_workspace(cv, n);
}

static void conv_forward(cx_layer *l, const cx_run *r, int n, const float *x, float *y)
{
    conv_layer *cv = (conv_layer *)l;
    if (cv->shift)
        shift_forward(cv, r, n, x, y);
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
    if (cv->shift)
        shift_backward(cv, r, n, x, dy, dx);
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
