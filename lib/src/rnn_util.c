/* Shared plumbing of the recurrent layers; see rnn_util.h. */
#include "rnn_util.h"

#include <cblas.h>
#include <limits.h>
#include <string.h>

#include "layer_util.h"

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

void cx_rnn_project(int n, int N, int K, const float *x, const float *w, float beta, float *out)
{
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, N, K, 1.0f, x, K, w, K, beta, out, N);
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
