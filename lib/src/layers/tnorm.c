/* tnorm: per-utterance normalization over time, (T,F) -> (T,F), no
 * parameters:
 *   tnorm        y[t,f] = (x[t,f] - mean_t x[.,f]) / sqrt(var_t x[.,f] + eps)
 *   tnorm mean   y[t,f] =  x[t,f] - mean_t x[.,f]
 * with the biased variance and eps = 1e-5: torch.nn.InstanceNorm1d (no
 * affine) on the (N, F, T) transpose.
 *
 * Each sample is normalized by statistics of its own T frames, so the layer
 * has no streaming step: a model using it runs on whole windows (as the
 * keyword detector does), never frame by frame. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "../layer_util.h"
#include "../vec.h"

#define TNORM_EPS 1e-5f

typedef struct {
    cx_layer base;
    int t, f;
    int scale; /* 1: divide by the standard deviation; 0: subtract the mean only */
} tnorm_layer;

static cx_status tnorm_create(cx_layer **out, int argc, char **argv, const cx_shape *in,
                              cx_error *err)
{
    int scale = 1;
    if (argc > 1) return cx_bad_token(err, "tnorm", argv[1], "at most one option ('mean')");
    if (argc == 1) {
        if (strcmp(argv[0], "mean") != 0)
            return cx_bad_token(err, "tnorm", argv[0], "'mean' or nothing");
        scale = 0;
    }
    if (in->ndim != 2) return cx_bad_input(err, "tnorm", in, "a (time, features) sequence");
    tnorm_layer *tn = cx_layer_new(sizeof *tn, &cx_kind_tnorm, in);
    if (!tn) return cx_fail(err, CX_ERR_NOMEM, "layer 'tnorm': out of memory");
    tn->t = in->d[0];
    tn->f = in->d[1];
    tn->scale = scale;
    snprintf(tn->base.spec, sizeof tn->base.spec, scale ? "tnorm" : "tnorm mean");
    *out = &tn->base;
    return CX_OK;
}

/* mean, invstd, and two sums for the backward: 4 F floats, reused per sample. */
static size_t tnorm_workspace(const cx_layer *l, int n)
{
    (void)n;
    return 4 * (size_t)((const tnorm_layer *)l)->f;
}

/* x: (T, F) one sample -> mean (F), and invstd (F) when scaling:
 * mean[f] = sum_t x[t,f] / T,  invstd[f] = 1 / sqrt(sum_t (x[t,f] - mean[f])^2 / T + eps)
 * Two passes (centred squares) so a large mean does not cancel the variance. */
static void tnorm_stats(const tnorm_layer *tn, const float *x, float *mean, float *invstd)
{
    const int T = tn->t, F = tn->f;
    const float inv_t = 1.0f / (float)T;
    memset(mean, 0, (size_t)F * sizeof(float));
    for (int t = 0; t < T; t++)
        cx_vec_add(mean, x + (size_t)t * F, F);
    for (int j = 0; j < F; j++)
        mean[j] *= inv_t;
    if (!tn->scale) return;
    memset(invstd, 0, (size_t)F * sizeof(float));
    for (int t = 0; t < T; t++) {
        const float *xt = x + (size_t)t * F;
        for (int j = 0; j < F; j++) {
            float d = xt[j] - mean[j];
            invstd[j] += d * d;
        }
    }
    for (int j = 0; j < F; j++)
        invstd[j] = 1.0f / sqrtf(invstd[j] * inv_t + TNORM_EPS);
}

/* x, y: (n, T, F)
 * y[b,t,f] = (x[b,t,f] - mean[b,f]) * invstd[b,f]   (invstd = 1 with 'mean') */
static void tnorm_forward(cx_layer *l, const cx_run *r, int n, const float *x, float *y)
{
    tnorm_layer *tn = (tnorm_layer *)l;
    const int T = tn->t, F = tn->f;
    float *mean = r->work, *invstd = mean + F;
    for (int b = 0; b < n; b++) {
        const float *xb = x + (size_t)b * T * F;
        float *yb = y + (size_t)b * T * F;
        tnorm_stats(tn, xb, mean, invstd);
        for (int t = 0; t < T; t++) {
            const float *xt = xb + (size_t)t * F;
            float *yt = yb + (size_t)t * F;
            if (tn->scale)
                for (int j = 0; j < F; j++)
                    yt[j] = (xt[j] - mean[j]) * invstd[j];
            else
                for (int j = 0; j < F; j++)
                    yt[j] = xt[j] - mean[j];
        }
    }
}

/* dy: (n, T, F); per sample and feature, with xhat = y and means over t:
 *   tnorm        dx = invstd (dy - mean(dy) - xhat mean(dy xhat))
 *   tnorm mean   dx = dy - mean(dy) */
static void tnorm_backward(cx_layer *l, const cx_run *r, int n, const float *x, const float *y,
                           const float *dy, float *dx)
{
    tnorm_layer *tn = (tnorm_layer *)l;
    if (!dx) return;
    const int T = tn->t, F = tn->f;
    const float inv_t = 1.0f / (float)T;
    float *mean = r->work, *invstd = mean + F, *mdy = invstd + F, *mdyx = mdy + F;
    for (int b = 0; b < n; b++) {
        size_t off = (size_t)b * T * F;
        const float *yb = y + off, *gb = dy + off;
        float *db = dx + off;
        memset(mdy, 0, (size_t)F * sizeof(float));
        memset(mdyx, 0, (size_t)F * sizeof(float));
        for (int t = 0; t < T; t++) {
            const float *gt = gb + (size_t)t * F, *yt = yb + (size_t)t * F;
            cx_vec_add(mdy, gt, F);
            if (tn->scale)
                for (int j = 0; j < F; j++)
                    mdyx[j] += gt[j] * yt[j];
        }
        for (int j = 0; j < F; j++) {
            mdy[j] *= inv_t;
            mdyx[j] *= inv_t;
        }
        if (tn->scale) tnorm_stats(tn, x + off, mean, invstd);
        for (int t = 0; t < T; t++) {
            const float *gt = gb + (size_t)t * F, *yt = yb + (size_t)t * F;
            float *dt = db + (size_t)t * F;
            if (tn->scale)
                for (int j = 0; j < F; j++)
                    dt[j] = invstd[j] * (gt[j] - mdy[j] - yt[j] * mdyx[j]);
            else
                for (int j = 0; j < F; j++)
                    dt[j] = gt[j] - mdy[j];
        }
    }
}

const cx_layer_kind cx_kind_tnorm = {
    .name = "tnorm",
    .usage = "tnorm [mean]",
    .create = tnorm_create,
    .workspace = tnorm_workspace,
    .forward = tnorm_forward,
    .backward = tnorm_backward,
};
