/* image: a (T,F) sequence seen as a one-channel image (1,T,F), so that 2-D
 * convolutions and pooling run over time x frequency (a CRNN front end);
 * the data does not move. `seq` turns the feature maps back into a
 * sequence.
 *
 * A 2-D convolution sees frames on both sides of each output, so a model
 * using this layer has no streaming step: it runs on whole windows, as
 * tnorm does. */
#include <stdio.h>
#include <string.h>

#include "../layer_util.h"

static cx_status image_create(cx_layer **out, int argc, char **argv, const cx_shape *in,
                              cx_error *err)
{
    if (argc > 0) return cx_bad_token(err, "image", argv[0], "no arguments");
    if (in->ndim != 2) return cx_bad_input(err, "image", in, "a (time, features) sequence");
    cx_layer *l = cx_layer_new(sizeof *l, &cx_kind_image, in);
    if (!l) return cx_fail(err, CX_ERR_NOMEM, "layer 'image': out of memory");
    l->out = cx_shape3(1, in->d[0], in->d[1]);
    snprintf(l->spec, sizeof l->spec, "image");
    *out = l;
    return CX_OK;
}

/* x: (n, T, F)  y: (n, 1, T, F), the same floats */
static void image_forward(cx_layer *l, const cx_run *r, int n, const float *x, float *y)
{
    (void)r;
    memcpy(y, x, (size_t)n * cx_shape_size(&l->in) * sizeof(float));
}

/* dy: (n, 1, T, F)  dx: (n, T, F), the same floats */
static void image_backward(cx_layer *l, const cx_run *r, int n, const float *x, const float *y,
                           const float *dy, float *dx)
{
    (void)r;
    (void)x;
    (void)y;
    if (dx) memcpy(dx, dy, (size_t)n * cx_shape_size(&l->in) * sizeof(float));
}

const cx_layer_kind cx_kind_image = {
    .name = "image",
    .usage = "image",
    .create = image_create,
    .forward = image_forward,
    .backward = image_backward,
};
