/* mean: sequence pooling by the mean over time, (T,F) -> (F). Streaming
 * gives the running mean of the frames fed since the last reset. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../layer_util.h"

typedef struct {
    cx_layer base;
    float *sum; /* (max_batch, F) streaming: sum of the frames since reset */
    long count; /* frames since reset */
} mean_layer;

static cx_status mean_create(cx_layer **out, int argc, char **argv, const cx_shape *in,
                             cx_error *err)
{
    if (argc > 0) return cx_bad_token(err, "mean", argv[0], "no arguments");
    if (in->ndim != 2) return cx_bad_input(err, "mean", in, "a (time, features) sequence");
    mean_layer *m = cx_layer_new(sizeof *m, &cx_kind_seq_mean, in);
    if (!m) return cx_fail(err, CX_ERR_NOMEM, "layer 'mean': out of memory");
    m->base.out = cx_shape1(in->d[1]);
    snprintf(m->base.spec, sizeof m->base.spec, "mean");
    *out = &m->base;
    return CX_OK;
}

static cx_status mean_reserve(cx_layer *l, int max_batch, cx_error *err)
{
    mean_layer *m = (mean_layer *)l;
    cx_free_floats(m->sum);
    m->sum = cx_alloc_floats((size_t)max_batch * l->in.d[1]);
    m->count = 0;
    if (!m->sum) return cx_fail(err, CX_ERR_NOMEM, "layer 'mean': out of memory");
    return CX_OK;
}

/* x: (n, T, F)  y: (n, F)
 * y[b] = (sum_t x[b, t]) / T, summed in time order as the streaming step does */
static void mean_forward(cx_layer *l, const cx_run *r, int n, const float *x, float *y)
{
    (void)r;
    const int T = l->in.d[0], F = l->in.d[1];
    const float inv_t = 1.0f / (float)T;
    for (int b = 0; b < n; b++) {
        float *yb = y + (size_t)b * F;
        memset(yb, 0, (size_t)F * sizeof(float));
        for (int t = 0; t < T; t++) {
            const float *xt = x + ((size_t)b * T + t) * F;
            for (int j = 0; j < F; j++)
                yb[j] += xt[j];
        }
        for (int j = 0; j < F; j++)
            yb[j] *= inv_t;
    }
}

/* dx[b, t] = dy[b] / T */
static void mean_backward(cx_layer *l, const cx_run *r, int n, const float *x, const float *y,
                          const float *dy, float *dx)
{
    (void)r;
    (void)x;
    (void)y;
    if (!dx) return;
    const int T = l->in.d[0], F = l->in.d[1];
    const float inv_t = 1.0f / (float)T;
    for (int b = 0; b < n; b++)
        for (int t = 0; t < T; t++) {
            float *dxt = dx + ((size_t)b * T + t) * F;
            for (int j = 0; j < F; j++)
                dxt[j] = dy[(size_t)b * F + j] * inv_t;
        }
}

/* Streaming: x (n, F), y (n, F) = running mean of each stream's frames. */
static void mean_step(cx_layer *l, int n, const float *x, float *y)
{
    mean_layer *m = (mean_layer *)l;
    const size_t total = (size_t)n * l->in.d[1];
    m->count++;
    const float inv = 1.0f / (float)m->count;
    for (size_t i = 0; i < total; i++) {
        m->sum[i] += x[i];
        y[i] = m->sum[i] * inv;
    }
}

static void mean_reset(cx_layer *l)
{
    mean_layer *m = (mean_layer *)l;
    if (m->sum) memset(m->sum, 0, (size_t)l->max_batch * l->in.d[1] * sizeof(float));
    m->count = 0;
}

static void mean_destroy(cx_layer *l)
{
    cx_free_floats(((mean_layer *)l)->sum);
    free(l);
}

const cx_layer_kind cx_kind_seq_mean = {
    .name = "mean",
    .usage = "mean",
    .create = mean_create,
    .reserve = mean_reserve,
    .forward = mean_forward,
    .backward = mean_backward,
    .destroy = mean_destroy,
    .step = mean_step,
    .reset = mean_reset,
    .pools_time = 1,
};
