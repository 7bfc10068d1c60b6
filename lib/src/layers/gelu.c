/* gelu: y = x * Phi(x) = 0.5 x (1 + erf(x / sqrt 2)), the exact form PyTorch
 * uses by default. */
#include <math.h>

#include "../layer_util.h"

static void map(float a, const float *x, float *y, size_t n)
{
    (void)a;
    for (size_t i = 0; i < n; i++)
        y[i] = 0.5f * x[i] * (1.0f + erff(x[i] * 0.70710678f));
}

/* dx = dy * (Phi(x) + x phi(x)), phi the standard normal density */
static void grad(float a, const float *x, const float *y, const float *dy, float *dx, size_t n)
{
    (void)a;
    (void)y;
    for (size_t i = 0; i < n; i++) {
        float cdf = 0.5f * (1.0f + erff(x[i] * 0.70710678f));
        float pdf = 0.39894228f * expf(-0.5f * x[i] * x[i]);
        dx[i] = dy[i] * (cdf + x[i] * pdf);
    }
}

static cx_status create(cx_layer **out, int argc, char **argv, const cx_shape *in, cx_error *err)
{
    return cx_eltwise_create(out, &cx_kind_gelu, argc, argv, in, 0, 0, map, grad, err);
}

CX_ELTWISE_KIND(cx_kind_gelu, "gelu");
