/* leaky: y = x if x > 0 else alpha x (default alpha 0.01, as PyTorch) */
#include "../layer_util.h"

static void map(float a, const float *x, float *y, size_t n)
{
    for (size_t i = 0; i < n; i++)
        y[i] = x[i] > 0.0f ? x[i] : a * x[i];
}

/* dx = dy * (x > 0 ? 1 : alpha) */
static void grad(float a, const float *x, const float *y, const float *dy, float *dx, size_t n)
{
    (void)y;
    for (size_t i = 0; i < n; i++)
        dx[i] = x[i] > 0.0f ? dy[i] : a * dy[i];
}

static cx_status create(cx_layer **out, int argc, char **argv, const cx_shape *in, cx_error *err)
{
    return cx_eltwise_create(out, &cx_kind_leaky, argc, argv, in, 1, 0.01f, map, grad, err);
}

CX_ELTWISE_KIND(cx_kind_leaky, "leaky");
