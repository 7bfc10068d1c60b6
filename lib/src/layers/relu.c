/* relu: y = max(x, 0) */
#include "../layer_util.h"

static void map(float a, const float *x, float *y, size_t n)
{
    (void)a;
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

/* dx = dy * [x > 0] */
static void grad(float a, const float *x, const float *y, const float *dy, float *dx, size_t n)
{
    (void)a;
    (void)y;
    for (size_t i = 0; i < n; i++)
        dx[i] = x[i] > 0.0f ? dy[i] : 0.0f;
}

static cx_status create(cx_layer **out, int argc, char **argv, const cx_shape *in, cx_error *err)
{
    return cx_eltwise_create(out, &cx_kind_relu, argc, argv, in, 0, 0, map, grad, err);
}

CX_ELTWISE_KIND(cx_kind_relu, "relu");
