/* gap: global average pooling, (C,H,W) -> (C), the mean of each channel
 * (PyTorch's AdaptiveAvgPool2d(1) followed by flatten). */
#include <stdio.h>
#include <stdlib.h>

#include "../layer_util.h"
#include "../vec.h"

typedef struct {
    cx_layer base;
    int c, hw;
} gap_layer;

static cx_status gap_create(cx_layer **out, int argc, char **argv, const cx_shape *in,
                            cx_error *err)
{
    if (argc > 0) return cx_bad_token(err, "gap", argv[0], "no arguments");
    if (in->ndim != 3) return cx_bad_input(err, "gap", in, "an image (C,H,W)");
    gap_layer *g = cx_layer_new(sizeof *g, &cx_kind_gap, in);
    if (!g) return cx_fail(err, CX_ERR_NOMEM, "layer 'gap': out of memory");
    g->c = in->d[0];
    g->hw = in->d[1] * in->d[2];
    g->base.out = cx_shape1(g->c);
    snprintf(g->base.spec, sizeof g->base.spec, "gap");
    *out = &g->base;
    return CX_OK;
}

/* x: (n,C,H,W)  y: (n,C)    y[c] = 1/(H W) sum_{h,w} x[c][h][w] */
static void gap_forward(cx_layer *l, const cx_run *r, int n, const float *x, float *y)
{
    (void)r;
    gap_layer *g = (gap_layer *)l;
    float scale = 1.0f / (float)g->hw;
    for (int i = 0; i < n * g->c; i++)
        y[i] = cx_vec_sum(x + (size_t)i * g->hw, g->hw) * scale;
}

/* dx[c][h][w] = dy[c] / (H W) */
static void gap_backward(cx_layer *l, const cx_run *r, int n, const float *x, const float *y,
                         const float *dy, float *dx)
{
    (void)r;
    (void)x;
    (void)y;
    gap_layer *g = (gap_layer *)l;
    if (!dx) return;
    float scale = 1.0f / (float)g->hw;
    for (int i = 0; i < n * g->c; i++)
        cx_vec_fill(dx + (size_t)i * g->hw, dy[i] * scale, g->hw);
}

const cx_layer_kind cx_kind_gap = {
    .name = "gap",
    .usage = "gap",
    .create = gap_create,
    .forward = gap_forward,
    .backward = gap_backward,
};
