/* Private helpers shared by the recurrent layers (layers/gru.c, lstm.c).
 * Not part of the public API. */
#ifndef CORTEX_RNN_UTIL_H
#define CORTEX_RNN_UTIL_H

#include <math.h>

#include "cortex/layers.h"

#define CX_RNN_MAX_UNITS 16384

static inline float cx_sigmoidf(float x)
{
    return 1.0f / (1.0f + expf(-x));
}
static inline float cx_tanhf(float x)
{
    return tanhf(x);
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

/* out (n, N) = x (n, K) W^T + beta out, W: (N, K). A matrix-vector product
 * when n = 1 (the streaming case). */
void cx_rnn_project(int n, int N, int K, const float *x, const float *w, float beta, float *out);

/* sum (N) += column sums of a (rows, N). */
void cx_rnn_sum_rows(const float *a, size_t rows, int N, float *sum);

/* Recurrent weight gradient over a whole batch in one product:
 *   gw (G, H) += sum over b, t >= 1 of d[b, t]^T y[b, t-1]
 * d: (n, T, G), y: (n, T, H). Pairing row k of d with row k-1 of y is right
 * for t >= 1; the rows at t = 0 of d are zeroed first so the pairs that
 * cross from one sequence to the next add nothing. d is clobbered. */
void cx_rnn_shifted_outer(float *d, const float *y, int n, int T, int G, int H, float *gw);

#endif
