/* seq: feature maps (C,H,W) read as a sequence of H steps, (C,H,W) ->
 * (H, C*W): step h holds row h of every channel, channel after channel.
 * After `image` and 2-D convolutions over (time, frequency), H is time and
 * each step carries all channels at all frequencies, ready for a recurrent
 * layer. Unlike flatten the data moves: a transpose of C and H.
 *
 * Like image, no streaming step: the convolutions before it need whole
 * windows. */
#include <stdio.h>
#include <string.h>

#include "../layer_util.h"

static cx_status seq_create(cx_layer **out, int argc, char **argv, const cx_shape *in,
                            cx_error *err)
{
    if (argc > 0) return cx_bad_token(err, "seq", argv[0], "no arguments");
    if (in->ndim != 3) return cx_bad_input(err, "seq", in, "feature maps (C,H,W)");
    cx_layer *l = cx_layer_new(sizeof *l, &cx_kind_seq, in);
    if (!l) return cx_fail(err, CX_ERR_NOMEM, "layer 'seq': out of memory");
    l->out = cx_shape2(in->d[1], in->d[0] * in->d[2]);
    snprintf(l->spec, sizeof l->spec, "seq");
    *out = l;
    return CX_OK;
}

/* x: (n, C, H, W)  y: (n, H, C*W)
 * y[b, h, c W + w] = x[b, c, h, w] */
static void seq_forward(cx_layer *l, const cx_run *r, int n, const float *x, float *y)
{
    (void)r;
    const int C = l->in.d[0], H = l->in.d[1], W = l->in.d[2];
    const size_t row = (size_t)W * sizeof(float), sample = (size_t)C * H * W;
    for (int b = 0; b < n; b++) {
        const float *xb = x + b * sample;
        float *yb = y + b * sample;
        for (int c = 0; c < C; c++)
            for (int h = 0; h < H; h++)
                memcpy(yb + ((size_t)h * C + c) * W, xb + ((size_t)c * H + h) * W, row);
    }
}

/* dy: (n, H, C*W)  dx: (n, C, H, W)
 * dx[b, c, h, w] = dy[b, h, c W + w] */
static void seq_backward(cx_layer *l, const cx_run *r, int n, const float *x, const float *y,
                         const float *dy, float *dx)
{
    (void)r;
    (void)x;
    (void)y;
    if (!dx) return;
    const int C = l->in.d[0], H = l->in.d[1], W = l->in.d[2];
    const size_t row = (size_t)W * sizeof(float), sample = (size_t)C * H * W;
    for (int b = 0; b < n; b++) {
        const float *gb = dy + b * sample;
        float *db = dx + b * sample;
        for (int c = 0; c < C; c++)
            for (int h = 0; h < H; h++)
                memcpy(db + ((size_t)c * H + h) * W, gb + ((size_t)h * C + c) * W, row);
    }
}

const cx_layer_kind cx_kind_seq = {
    .name = "seq",
    .usage = "seq",
    .create = seq_create,
    .forward = seq_forward,
    .backward = seq_backward,
};
