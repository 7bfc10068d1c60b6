/* dropout: in training, zero each element with probability p and scale the
 * rest by 1/(1-p) (inverted dropout), so evaluation is the identity. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../layer_util.h"

typedef struct {
    cx_layer base;
    float p;
    float *mask; /* (max_batch, size): 0 or 1/(1-p) from the last training forward */
    int masked;  /* the last forward was in training mode */
} dropout_layer;

static cx_status dropout_create(cx_layer **out, int argc, char **argv, const cx_shape *in,
                                cx_error *err)
{
    float p;
    if (argc != 1) return cx_fail(err, CX_ERR_ARG, "layer 'dropout': usage: dropout P");
    if (cx_parse_float(argv[0], 0.0, 0.99, &p))
        return cx_bad_token(err, "dropout", argv[0], "a probability from 0 to 0.99");
    dropout_layer *d = cx_layer_new(sizeof *d, &cx_kind_dropout, in);
    if (!d) return cx_fail(err, CX_ERR_NOMEM, "layer 'dropout': out of memory");
    d->p = p;
    snprintf(d->base.spec, sizeof d->base.spec, "dropout %g", (double)p);
    *out = &d->base;
    return CX_OK;
}

static cx_status dropout_reserve(cx_layer *l, int max_batch, cx_error *err)
{
    dropout_layer *d = (dropout_layer *)l;
    cx_free_floats(d->mask);
    d->mask = cx_alloc_floats((size_t)max_batch * cx_shape_size(&l->in));
    if (!d->mask) return cx_fail(err, CX_ERR_NOMEM, "layer 'dropout': out of memory");
    return CX_OK;
}

/* x, y: (n, *) */
static void dropout_forward(cx_layer *l, const cx_run *r, int n, const float *x, float *y)
{
    dropout_layer *d = (dropout_layer *)l;
    size_t total = (size_t)n * cx_shape_size(&l->in);
    d->masked = r->training && d->p > 0.0f;
    if (!d->masked) {
        memcpy(y, x, total * sizeof(float));
        return;
    }
    float keep = 1.0f / (1.0f - d->p);
    for (size_t i = 0; i < total; i++) {
        d->mask[i] = cx_rng_uniform(r->rng) >= d->p ? keep : 0.0f;
        y[i] = x[i] * d->mask[i];
    }
}

/* dx = dy * mask */
static void dropout_backward(cx_layer *l, const cx_run *r, int n, const float *x, const float *y,
                             const float *dy, float *dx)
{
    (void)r;
    (void)x;
    (void)y;
    dropout_layer *d = (dropout_layer *)l;
    if (!dx) return;
    size_t total = (size_t)n * cx_shape_size(&l->in);
    if (!d->masked) {
        memcpy(dx, dy, total * sizeof(float));
        return;
    }
    for (size_t i = 0; i < total; i++)
        dx[i] = dy[i] * d->mask[i];
}

/* Streaming is evaluation: the identity on each frame. */
static void dropout_step(cx_layer *l, int n, const float *x, float *y)
{
    memcpy(y, x, (size_t)n * (size_t)cx_last_dim(&l->in) * sizeof(float));
}

static void dropout_destroy(cx_layer *l)
{
    cx_free_floats(((dropout_layer *)l)->mask);
    free(l);
}

const cx_layer_kind cx_kind_dropout = {
    .name = "dropout",
    .usage = "dropout P",
    .create = dropout_create,
    .reserve = dropout_reserve,
    .forward = dropout_forward,
    .backward = dropout_backward,
    .destroy = dropout_destroy,
    .step = dropout_step,
};
