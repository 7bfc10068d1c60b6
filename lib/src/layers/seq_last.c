/* last: sequence pooling that keeps the last time step, (T,F) -> (F). */
#include <stdio.h>
#include <string.h>

#include "../layer_util.h"

static cx_status last_create(cx_layer **out, int argc, char **argv, const cx_shape *in,
                             cx_error *err)
{
    if (argc > 0) return cx_bad_token(err, "last", argv[0], "no arguments");
    if (in->ndim != 2) return cx_bad_input(err, "last", in, "a (time, features) sequence");
    cx_layer *l = cx_layer_new(sizeof *l, &cx_kind_seq_last, in);
    if (!l) return cx_fail(err, CX_ERR_NOMEM, "layer 'last': out of memory");
    l->out = cx_shape1(in->d[1]);
    snprintf(l->spec, sizeof l->spec, "last");
    *out = l;
    return CX_OK;
}

/* x: (n, T, F)  y: (n, F)
 * y[b] = x[b, T-1] */
static void last_forward(cx_layer *l, const cx_run *r, int n, const float *x, float *y)
{
    (void)r;
    const int T = l->in.d[0], F = l->in.d[1];
    for (int b = 0; b < n; b++)
        memcpy(y + (size_t)b * F, x + ((size_t)b * T + T - 1) * F, (size_t)F * sizeof(float));
}

/* dx[b, T-1] = dy[b], every other step 0 */
static void last_backward(cx_layer *l, const cx_run *r, int n, const float *x, const float *y,
                          const float *dy, float *dx)
{
    (void)r;
    (void)x;
    (void)y;
    if (!dx) return;
    const int T = l->in.d[0], F = l->in.d[1];
    memset(dx, 0, (size_t)n * T * F * sizeof(float));
    for (int b = 0; b < n; b++)
        memcpy(dx + ((size_t)b * T + T - 1) * F, dy + (size_t)b * F, (size_t)F * sizeof(float));
}

/* Streaming: the frame fed last is the last time step so far. */
static void last_step(cx_layer *l, int n, const float *x, float *y)
{
    memcpy(y, x, (size_t)n * l->in.d[1] * sizeof(float));
}

const cx_layer_kind cx_kind_seq_last = {
    .name = "last",
    .usage = "last",
    .create = last_create,
    .forward = last_forward,
    .backward = last_backward,
    .step = last_step,
    .pools_time = 1,
};
