/* Shared plumbing of the recurrent layers; see rnn_util.h. */
#include "rnn_util.h"

#include <cblas.h>
#include <limits.h>
#include <string.h>

#include "layer_util.h"
#include "vec.h"

cx_status cx_rnn_check_size(const char *name, const cx_shape *in, int gates, int units,
                            cx_error *err)
{
    size_t gh = (size_t)gates * (size_t)units, t = (size_t)in->d[0], f = (size_t)in->d[1];
    if (gh * f > ((size_t)1 << 30) || gh * (size_t)units > ((size_t)1 << 30) || t * gh > INT_MAX)
        return cx_fail(err, CX_ERR_ARG, "layer '%s %d': input %dx%d makes the layer too large",
                       name, units, in->d[0], in->d[1]);
    return CX_OK;
}

void cx_rnn_declare_params(cx_layer *l, int gates, int f, int h, cx_init bias_ih_init)
{
    int wi[2] = {gates * h, f}, wh[2] = {gates * h, h}, bs[1] = {gates * h};
    cx_declare_param(l, "weight_ih", 2, wi, 1, 1, CX_INIT_GLOROT, 0.0f, f, h);
    cx_declare_param(l, "weight_hh", 2, wh, 1, 1, CX_INIT_UNIFORM, 1.0f / sqrtf((float)h), h, h);
    cx_declare_param(l, "bias_ih", 1, bs, 1, 0, bias_ih_init, 1.0f, 0, 0);
    cx_declare_param(l, "bias_hh", 1, bs, 1, 0, CX_INIT_ZERO, 0.0f, 0, 0);
}

/* Rows up to this many go through small_rows (measured faster than sgemm
 * up to 16 rows for N=192, K=64; kept low so larger layers, where sgemm's
 * blocking pays, stay with OpenBLAS). */
#define SMALL_ROWS 4

static inline float hsum8(cx_vf8 a)
{
    return ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]));
}

/* x: (K) one row;  w: (N, K);  out: (N) = w x + beta out */
static void small_row(int N, int K, const float *x, const float *w, float beta, float *out)
{
    int j = 0;
    for (; j + 4 <= N; j += 4) {
        const float *w0 = w + (size_t)j * K, *w1 = w0 + K, *w2 = w1 + K, *w3 = w2 + K;
        cx_vf8 a0 = cx_vf8_set1(0.0f), a1 = a0, a2 = a0, a3 = a0;
        int k = 0;
        for (; k + 8 <= K; k += 8) {
            cx_vf8 v = *(const cx_vf8 *)(x + k);
            a0 += v * *(const cx_vf8 *)(w0 + k);
            a1 += v * *(const cx_vf8 *)(w1 + k);
            a2 += v * *(const cx_vf8 *)(w2 + k);
            a3 += v * *(const cx_vf8 *)(w3 + k);
        }
        float s0 = hsum8(a0), s1 = hsum8(a1), s2 = hsum8(a2), s3 = hsum8(a3);
        for (; k < K; k++) {
            s0 += x[k] * w0[k];
            s1 += x[k] * w1[k];
            s2 += x[k] * w2[k];
            s3 += x[k] * w3[k];
        }
        if (beta != 0.0f) {
            s0 += out[j];
            s1 += out[j + 1];
            s2 += out[j + 2];
            s3 += out[j + 3];
        }
        out[j] = s0;
        out[j + 1] = s1;
        out[j + 2] = s2;
        out[j + 3] = s3;
    }
    for (; j < N; j++) {
        float s = cx_vec_dot(x, w + (size_t)j * K, K);
        out[j] = beta != 0.0f ? s + out[j] : s;
    }
}

void cx_rnn_matmul(int n, int N, int K, const float *x, int ldx, const float *w, float beta,
                   float *out, int ldo)
{
    if (n > SMALL_ROWS) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, N, K, 1.0f, x, ldx, w, K, beta, out,
                    ldo);
        return;
    }
    for (int b = 0; b < n; b++)
        small_row(N, K, x + (size_t)b * ldx, w, beta, out + (size_t)b * ldo);
}

void cx_rnn_project(int n, int N, int K, const float *x, const float *w, float beta, float *out)
{
    cx_rnn_matmul(n, N, K, x, K, w, beta, out, N);
}

/* o0, o1: (N) = x0 wt, x1 wt for the columns j .. j + 8 B - 1; wt: (K, N) */
#define PROJ_BLOCK(B)                                                                              \
    do {                                                                                           \
        cx_vf8 a[B], b[B];                                                                         \
        for (int q = 0; q < B; q++)                                                                \
            a[q] = b[q] = cx_vf8_set1(0.0f);                                                       \
        for (int k = 0; k < K; k++) {                                                              \
            const float *r = wt + (size_t)k * N + j;                                               \
            float s = x0[k], t = x1[k];                                                            \
            for (int q = 0; q < B; q++) {                                                          \
                cx_vf8 v = *(const cx_vf8 *)(r + 8 * q);                                           \
                a[q] += s * v;                                                                     \
                b[q] += t * v;                                                                     \
            }                                                                                      \
        }                                                                                          \
        for (int q = 0; q < B; q++) {                                                              \
            *(cx_vf8 *)(o0 + j + 8 * q) = a[q];                                                    \
            *(cx_vf8 *)(o1 + j + 8 * q) = b[q];                                                    \
        }                                                                                          \
    } while (0)

/* x0, x1: (K) two rows (the same row twice for an odd last one); wt: (K, N);
 * o0, o1: (N) their products (o1 may be scratch) */
static void proj_pair(int N, int K, const float *x0, const float *x1, const float *wt, float *o0,
                      float *o1)
{
    int j = 0;
    for (; j + 32 <= N; j += 32)
        PROJ_BLOCK(4);
    for (; j + 8 <= N; j += 8)
        PROJ_BLOCK(1);
    for (; j < N; j++) {
        float s = 0.0f, t = 0.0f;
        for (int k = 0; k < K; k++) {
            s += x0[k] * wt[(size_t)k * N + j];
            t += x1[k] * wt[(size_t)k * N + j];
        }
        o0[j] = s;
        o1[j] = t;
    }
}

void cx_rnn_project_rows(size_t rows, int N, int K, const float *x, const float *w, float *wt,
                         float *out)
{
    if (rows > CX_RNN_PROJECT_ROWS) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, N, K, 1.0f, x, K, w, K,
                    0.0f, out, N);
        return;
    }
    cx_rnn_transpose(N, K, w, wt);
    cx_rnn_project_transposed(rows, N, K, x, wt, out);
}

void cx_rnn_transpose(int N, int K, const float *w, float *wt)
{
    for (int n = 0; n < N; n++)
        for (int k = 0; k < K; k++)
            wt[(size_t)k * N + n] = w[(size_t)n * K + k];
}

void cx_rnn_project_transposed(size_t rows, int N, int K, const float *x, const float *wt,
                               float *out)
{
    size_t i = 0;
    for (; i + 2 <= rows; i += 2)
        proj_pair(N, K, x + i * K, x + (i + 1) * K, wt, out + i * N, out + (i + 1) * N);
    if (i < rows) {
        /* the odd last row as both of a pair, into the same place: the two
         * copies are computed alike */
        proj_pair(N, K, x + i * K, x + i * K, wt, out + i * N, out + i * N);
    }
}

CX_VINLINE void add_row(int j, int w, const float *row, float *sum)
{
    cx_vst(sum + j, cx_vld(sum + j, w) + cx_vld(row + j, w), w);
}

void cx_rnn_sum_rows(const float *a, size_t rows, int N, float *sum)
{
    for (size_t i = 0; i < rows; i++)
        CX_VLOOP(N, add_row, a + i * (size_t)N, sum);
}

void cx_rnn_shifted_outer(float *d, const float *y, int n, int T, int G, int H, float *gw)
{
    for (int b = 0; b < n; b++)
        memset(d + (size_t)b * T * G, 0, (size_t)G * sizeof(float));
    int rows = n * T;
    if (rows > 1)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, H, rows - 1, 1.0f, d + G, G, y, H,
                    1.0f, gw, H);
}
