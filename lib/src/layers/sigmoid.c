/* sigmoid: y = 1 / (1 + exp(-x)), computed without overflow for large |x| */
#include <math.h>

#include "../layer_util.h"

static void map(float a, const float *x, float *y, size_t n)
{
    (void)a;
    for (size_t i = 0; i < n; i++) {
        if (x[i] >= 0.0f) {
            y[i] = 1.0f / (1.0f + expf(-x[i]));
        } else {
            float e = expf(x[i]);
            y[i] = e / (1.0f + e);
        }
    }
}

/* dx = dy * y (1 - y) */
static void grad(float a, const float *x, const float *y, const float *dy, float *dx, size_t n)
{
    (void)a;
    (void)x;
    for (size_t i = 0; i < n; i++)
        dx[i] = dy[i] * y[i] * (1.0f - y[i]);
}

static cx_status create(cx_layer **out, int argc, char **argv, const cx_shape *in, cx_error *err)
{
    return cx_eltwise_create(out, &cx_kind_sigmoid, argc, argv, in, 0, 0, map, grad, err);
}

CX_ELTWISE_KIND(cx_kind_sigmoid, "sigmoid");
