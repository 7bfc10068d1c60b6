/* flatten: (C,H,W) or (T,F) -> (C*H*W); the data does not move. */
#include <stdio.h>
#include <string.h>

#include "../layer_util.h"

static cx_status flatten_create(cx_layer **out, int argc, char **argv, const cx_shape *in,
                                cx_error *err)
{
    if (argc > 0) return cx_bad_token(err, "flatten", argv[0], "no arguments");
    cx_layer *l = cx_layer_new(sizeof *l, &cx_kind_flatten, in);
    if (!l) return cx_fail(err, CX_ERR_NOMEM, "layer 'flatten': out of memory");
    l->out = cx_shape1((int)cx_shape_size(in));
    snprintf(l->spec, sizeof l->spec, "flatten");
    *out = l;
    return CX_OK;
}

/* x: (n, *)  y: (n, prod(*)) */
static void flatten_forward(cx_layer *l, const cx_run *r, int n, const float *x, float *y)
{
    (void)r;
    memcpy(y, x, (size_t)n * cx_shape_size(&l->in) * sizeof(float));
}

static void flatten_backward(cx_layer *l, const cx_run *r, int n, const float *x, const float *y,
                             const float *dy, float *dx)
{
    (void)r;
    (void)x;
    (void)y;
    if (dx) memcpy(dx, dy, (size_t)n * cx_shape_size(&l->in) * sizeof(float));
}

const cx_layer_kind cx_kind_flatten = {
    .name = "flatten",
    .usage = "flatten",
    .create = flatten_create,
    .forward = flatten_forward,
    .backward = flatten_backward,
};
