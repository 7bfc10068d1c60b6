/* Private helpers shared by the recurrent layers (layers/gru.c, lstm.c).
 * Not part of the public API. */
#ifndef CORTEX_RNN_UTIL_H
#define CORTEX_RNN_UTIL_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "cortex/layers.h"

#define CX_RNN_MAX_UNITS 16384

/* ---- short float vectors for the gate arithmetic ---------------------------
 * The elementwise part of a recurrent step (gates, sigmoid, tanh) costs as
 * much as its matrix products when done with libm one float at a time, so
 * it runs on float vectors (GCC/Clang vector extensions): 8 floats in an AVX
 * register when built with AVX, else 4 (SSE, NEON). A loop over n floats
 * calls an always-inline kernel with the full width and once more for the
 * short rest; loads of the rest are zero-padded, stores write only w. */
#ifdef __AVX__
#define CX_VLEN 8
#else
#define CX_VLEN 4
#endif
typedef float cx_vf __attribute__((vector_size(CX_VLEN * 4)));
typedef int32_t cx_vi __attribute__((vector_size(CX_VLEN * 4)));
typedef uint32_t cx_vu __attribute__((vector_size(CX_VLEN * 4)));

#define CX_VINLINE static inline __attribute__((always_inline))

/* Calls kernel(j, w, ...) for j = 0, L, 2L, ... < n with w = min(L, n - j),
 * L = CX_VLEN. */
#define CX_VLOOP(n, kernel, ...)                                                                   \
    do {                                                                                           \
        int cx_j_ = 0, cx_n_ = (n);                                                                \
        for (; cx_j_ + CX_VLEN <= cx_n_; cx_j_ += CX_VLEN)                                         \
            kernel(cx_j_, CX_VLEN, __VA_ARGS__);                                                   \
        if (cx_j_ < cx_n_) kernel(cx_j_, cx_n_ - cx_j_, __VA_ARGS__);                              \
    } while (0)

CX_VINLINE cx_vf cx_vld(const float *p, int w)
{
    cx_vf v = {0};
    memcpy(&v, p, (size_t)w * sizeof(float));
    return v;
}

CX_VINLINE void cx_vst(float *p, cx_vf v, int w)
{
    memcpy(p, &v, (size_t)w * sizeof(float));
}

CX_VINLINE cx_vf cx_vsplat(float a)
{
    return (cx_vf){0} + a;
}

/* m ? a : b for a comparison mask m */
CX_VINLINE cx_vf cx_vselect(cx_vi m, cx_vf a, cx_vf b)
{
    return (cx_vf)(((cx_vi)a & m) | ((cx_vi)b & ~m));
}

/* e^x, x clamped to [-87, 88] so 2^n stays a normal float. Range reduction
 * x = n ln2 + r, |r| <= ln2/2, with ln2 split in two for exactness; e^r from
 * its degree-7 Taylor polynomial (truncation < 1e-8 relative). */
CX_VINLINE cx_vf cx_vexp(cx_vf x)
{
    const float shift = 12582912.0f; /* 1.5 * 2^23: adding it rounds to an integer */
    x = cx_vselect(x > 88.0f, cx_vsplat(88.0f), x);
    x = cx_vselect(x < -87.0f, cx_vsplat(-87.0f), x);
    cx_vf t = x * 1.44269504088896341f + shift;
    cx_vf n = t - shift;
    cx_vf r = x - n * 0.693359375f;       /* ln2, high bits (exact product) */
    r = r - n * -2.12194440054690583e-4f; /* ln2 - 0.693359375 */
    cx_vf p = cx_vsplat(1.0f / 5040.0f);
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    /* 2^n: n sits in t's low mantissa bits (unsigned: no overflow on NaN) */
    cx_vu e = ((cx_vu)t - 0x4B400000u + 127u) << 23;
    return p * (cx_vf)e;
}

/* 1 / (1 + e^-x) */
CX_VINLINE cx_vf cx_vsigmoid(cx_vf x)
{
    return 1.0f / (1.0f + cx_vexp(-x));
}

/* tanh x: below |x| = 0.4 its Taylor series to x^13 (truncation < 1e-8
 * relative, no cancellation near 0); above, (1 - e) / (1 + e) with
 * e = e^-2|x|, signed like x. */
CX_VINLINE cx_vf cx_vtanh(cx_vf x)
{
    const cx_vu sign = (cx_vu){0} + 0x80000000u;
    cx_vf a = (cx_vf)((cx_vu)x & ~sign);
    cx_vf e = cx_vexp(-2.0f * a);
    cx_vf big = (cx_vf)((cx_vu)((1.0f - e) / (1.0f + e)) | ((cx_vu)x & sign));
    cx_vf x2 = x * x;
    cx_vf p = cx_vsplat(21844.0f / 6081075.0f);
    p = p * x2 - 1382.0f / 155925.0f;
    p = p * x2 + 62.0f / 2835.0f;
    p = p * x2 - 17.0f / 315.0f;
    p = p * x2 + 2.0f / 15.0f;
    p = p * x2 - 1.0f / 3.0f;
    cx_vf small = x + x * x2 * p;
    return cx_vselect(a < 0.4f, small, big);
}

/* Checks that a (T,F) input and `gates` x units fit the int sizes given to
 * the matrix products; the error names the layer keyword. */
cx_status cx_rnn_check_size(const char *name, const cx_shape *in, int gates, int units,
                            cx_error *err);

/* Declares weight_ih (G*H, F), weight_hh (G*H, H), bias_ih (G*H) and
 * bias_hh (G*H) in PyTorch's layout. weight_ih: Glorot per gate block;
 * weight_hh: uniform 1/sqrt(H) as PyTorch; bias_hh: zero; bias_ih:
 * bias_ih_init with init value 1 (CX_INIT_LSTM_BIAS puts it on the forget
 * gate). Weight decay applies to the two weights only. */
void cx_rnn_declare_params(cx_layer *l, int gates, int f, int h, cx_init bias_ih_init);

/* out (n, N) = x (n, K) W^T + beta out, W: (N, K); row b of x starts at
 * x + b ldx and row b of out at out + b ldo. For a few rows (the recurrent
 * product of a batch of one: detect, listen, streaming) this is a loop of
 * its own, four outputs at a time, each a dot product in eight partial
 * sums: OpenBLAS's sgemm repacks W on every call and took 9.3 us for one
 * row of a GRU 64 step (N=192, K=64) against 1.7 us here, and its sgemv
 * 3.0 us (2026-12-03, AMD EPYC, one thread). Larger n: sgemm. beta is 0
 * (out is not read) or 1. */
void cx_rnn_matmul(int n, int N, int K, const float *x, int ldx, const float *w, float beta,
                   float *out, int ldo);
/* cx_rnn_matmul on packed rows (ldx = K, ldo = N). */
void cx_rnn_project(int n, int N, int K, const float *x, const float *w, float beta, float *out);

/* The input projection of a whole forward: out (rows, N) = x (rows, K) W^T,
 * W: (N, K). Up to CX_RNN_PROJECT_ROWS rows (a window of a batch of one, as
 * detect and listen run) W is first transposed into wt (K N floats of
 * scratch) and two rows at a time accumulate x[k] times row k of W^T, 32
 * outputs at a time: OpenBLAS's sgemm reached 8-9 GFLOP/s on these shapes
 * (98 x 192 x 160, 2026-12-03, AMD EPYC, one thread) and this loop 15-22
 * with the transpose. More rows (training batches): sgemm. */
#define CX_RNN_PROJECT_ROWS 1024
void cx_rnn_project_rows(size_t rows, int N, int K, const float *x, const float *w, float *wt,
                         float *out);
/* Its two halves: wt (K, N) = W^T, and out = x wt for rows already
 * transposed weights serve (any number of rows). */
void cx_rnn_transpose(int N, int K, const float *w, float *wt);
void cx_rnn_project_transposed(size_t rows, int N, int K, const float *x, const float *wt,
                               float *out);

/* A recurrent layer's forward for one sequence whose input projection
 * xw = x W_ih^T, (T, G H) without biases, the caller computed (cx_slide
 * keeps it for the rows two windows share): xw is copied into the layer's
 * gate buffer and the steps run as in the layer's forward; y: (T, H). work:
 * kind->workspace(l, 1) floats. The layer must be reserved for a batch of
 * at least one. */
void cx_gru_forward_projected(cx_layer *l, float *work, const float *xw, float *y);
void cx_lstm_forward_projected(cx_layer *l, float *work, const float *xw, float *y);

/* sum (N) += column sums of a (rows, N). */
void cx_rnn_sum_rows(const float *a, size_t rows, int N, float *sum);

/* Recurrent weight gradient over a whole batch in one product:
 *   gw (G, H) += sum over b, t >= 1 of d[b, t]^T y[b, t-1]
 * d: (n, T, G), y: (n, T, H). Pairing row k of d with row k-1 of y is right
 * for t >= 1; the rows at t = 0 of d are zeroed first so the pairs that
 * cross from one sequence to the next add nothing. d is clobbered. */
void cx_rnn_shifted_outer(float *d, const float *y, int n, int T, int G, int H, float *gw);

#endif
