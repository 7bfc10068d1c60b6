/* Shared plumbing for elementwise layers (the activations in layers/). */
#include <stdio.h>

#include "layer_util.h"

cx_status cx_eltwise_create(cx_layer **out, const cx_layer_kind *kind, int argc, char **argv,
                            const cx_shape *in, int takes_alpha, float alpha,
                            void (*map)(float, const float *, float *, size_t),
                            void (*grad)(float, const float *, const float *, const float *,
                                         float *, size_t),
                            cx_error *err)
{
    if (argc > (takes_alpha ? 1 : 0))
        return cx_bad_token(err, kind->name, argv[takes_alpha ? 1 : 0], "no further arguments");
    if (argc == 1 && cx_parse_float(argv[0], 0.0, 1.0, &alpha))
        return cx_bad_token(err, kind->name, argv[0], "a slope from 0 to 1");
    cx_eltwise *e = cx_layer_new(sizeof *e, kind, in);
    if (!e) return cx_fail(err, CX_ERR_NOMEM, "layer '%s': out of memory", kind->name);
    e->alpha = alpha;
    e->map = map;
    e->grad = grad;
    if (takes_alpha)
        snprintf(e->base.spec, sizeof e->base.spec, "%s %g", kind->name, (double)alpha);
    else
        snprintf(e->base.spec, sizeof e->base.spec, "%s", kind->name);
    *out = &e->base;
    return CX_OK;
}

/* x, y: (n, *) any shape, elementwise */
void cx_eltwise_forward(cx_layer *l, const cx_run *r, int n, const float *x, float *y)
{
    (void)r;
    cx_eltwise *e = (cx_eltwise *)l;
    e->map(e->alpha, x, y, (size_t)n * cx_shape_size(&l->in));
}

void cx_eltwise_backward(cx_layer *l, const cx_run *r, int n, const float *x, const float *y,
                         const float *dy, float *dx)
{
    (void)r;
    cx_eltwise *e = (cx_eltwise *)l;
    if (dx) e->grad(e->alpha, x, y, dy, dx, (size_t)n * cx_shape_size(&l->in));
}

/* x, y: (n, F) one frame of each of n streams */
void cx_eltwise_step(cx_layer *l, int n, const float *x, float *y)
{
    cx_eltwise *e = (cx_eltwise *)l;
    e->map(e->alpha, x, y, (size_t)n * (size_t)cx_last_dim(&l->in));
}
