/* dense: fully connected layer, y = x W^T + b. Flattens its input. */
#include <cblas.h>
#include <stdio.h>
#include <string.h>

#include "../layer_util.h"

typedef struct {
    cx_layer base;
    int in, out;
} dense_layer;

static cx_status dense_create(cx_layer **out, int argc, char **argv, const cx_shape *in,
                              cx_error *err)
{
    int units;
    if (argc != 1) return cx_fail(err, CX_ERR_ARG, "layer 'dense': usage: %s", "dense UNITS [ACT]");
    if (cx_parse_int(argv[0], 1, 1 << 20, &units))
        return cx_bad_token(err, "dense", argv[0], "a number of units from 1 to 1048576");
    size_t fan_in = cx_shape_size(in);
    if (fan_in > (1u << 26) || fan_in * (size_t)units > ((size_t)1 << 30))
        return cx_fail(err, CX_ERR_ARG, "layer 'dense %d': %zu inputs make too many weights", units,
                       fan_in);
    dense_layer *d = cx_layer_new(sizeof *d, &cx_kind_dense, in);
    if (!d) return cx_fail(err, CX_ERR_NOMEM, "layer 'dense': out of memory");
    d->in = (int)fan_in;
    d->out = units;
    d->base.out = cx_shape1(units);
    int ws[2] = {units, d->in}, bs[1] = {units};
    cx_declare_param(&d->base, "weight", 2, ws, 1, 1, CX_INIT_HE, 0, d->in, units);
    cx_declare_param(&d->base, "bias", 1, bs, 1, 0, CX_INIT_ZERO, 0, 0, 0);
    snprintf(d->base.spec, sizeof d->base.spec, "dense %d", units);
    *out = &d->base;
    return CX_OK;
}

/* x: (n, in)  W: (out, in)  b: (out)  y: (n, out)
 * y = x W^T + b */
static void dense_forward(cx_layer *l, const cx_run *r, int n, const float *x, float *y)
{
    (void)r;
    dense_layer *d = (dense_layer *)l;
    const float *w = l->params[0].w, *b = l->params[1].w;
    for (int i = 0; i < n; i++)
        memcpy(y + (size_t)i * d->out, b, (size_t)d->out * sizeof(float));
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, d->out, d->in, 1.0f, x, d->in, w, d->in,
                1.0f, y, d->out);
}

/* dy: (n, out)
 * dW += dy^T x   (out, in)
 * db += sum_n dy (out)
 * dx  = dy W     (n, in) */
static void dense_backward(cx_layer *l, const cx_run *r, int n, const float *x, const float *y,
                           const float *dy, float *dx)
{
    (void)r;
    (void)y;
    dense_layer *d = (dense_layer *)l;
    cx_param *w = &l->params[0], *b = &l->params[1];
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d->out, d->in, n, 1.0f, dy, d->out, x,
                d->in, 1.0f, w->g, d->in);
    for (int i = 0; i < n; i++) {
        const float *row = dy + (size_t)i * d->out;
        for (int j = 0; j < d->out; j++)
            b->g[j] += row[j];
    }
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d->in, d->out, 1.0f, dy, d->out,
                    w->w, d->in, 0.0f, dx, d->in);
}

/* Streaming: after sequence pooling a dense layer sees one vector per step. */
const cx_layer_kind cx_kind_dense = {
    .name = "dense",
    .usage = "dense UNITS [ACT]",
    .takes_activation = 1,
    .create = dense_create,
    .forward = dense_forward,
    .backward = dense_backward,
};
