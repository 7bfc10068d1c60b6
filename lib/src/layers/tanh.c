/* tanh: y = tanh(x) */
#include <math.h>

#include "../layer_util.h"

static void map(float a, const float *x, float *y, size_t n)
{
    (void)a;
    for (size_t i = 0; i < n; i++)
        y[i] = tanhf(x[i]);
}

/* dx = dy * (1 - y^2) */
static void grad(float a, const float *x, const float *y, const float *dy, float *dx, size_t n)
{
    (void)a;
    (void)x;
    for (size_t i = 0; i < n; i++)
        dx[i] = dy[i] * (1.0f - y[i] * y[i]);
}

static cx_status create(cx_layer **out, int argc, char **argv, const cx_shape *in, cx_error *err)
{
    return cx_eltwise_create(out, &cx_kind_tanh, argc, argv, in, 0, 0, map, grad, err);
}

CX_ELTWISE_KIND(cx_kind_tanh, "tanh");
