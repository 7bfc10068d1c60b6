/* batchnorm: batch normalization over the channel axis, as PyTorch's
 * BatchNorm1d/2d (momentum 0.1, eps 1e-5, running variance unbiased).
 * The channel axis is C for (C,H,W) input and the last axis F for (F) and
 * (T,F) input; statistics are taken over every other axis and the batch. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../layer_util.h"
#include "../par.h"

#define BN_EPS 1e-5f
#define BN_MOMENTUM 0.1f

typedef struct {
    cx_layer base;
    int c;           /* channels */
    int inner;       /* elements per channel per row: H*W for images, 1 otherwise */
    int rows;        /* rows per sample: 1 for images and vectors, T for sequences */
    float *mean;     /* (c) statistics used by the last forward */
    float *invstd;   /* (c) */
    int batch_stats; /* the last forward used batch statistics */
    double count;    /* elements per channel in the whole batch (all shards) */
    double *acc;     /* (2c) sums exchanged with the other shards of a batch */
} bn_layer;

static cx_status bn_create(cx_layer **out, int argc, char **argv, const cx_shape *in, cx_error *err)
{
    if (argc > 0) return cx_bad_token(err, "batchnorm", argv[0], "no arguments");
    bn_layer *b = cx_layer_new(sizeof *b, &cx_kind_batchnorm, in);
    if (!b) return cx_fail(err, CX_ERR_NOMEM, "layer 'batchnorm': out of memory");
    if (in->ndim == 3) {
        b->c = in->d[0];
        b->inner = in->d[1] * in->d[2];
        b->rows = 1;
    } else {
        b->c = cx_last_dim(in);
        b->inner = 1;
        b->rows = in->ndim == 2 ? in->d[0] : 1;
    }
    int cs[1] = {b->c};
    cx_declare_param(&b->base, "weight", 1, cs, 1, 0, CX_INIT_CONST, 1.0f, 0, 0);
    cx_declare_param(&b->base, "bias", 1, cs, 1, 0, CX_INIT_ZERO, 0, 0, 0);
    cx_declare_param(&b->base, "running_mean", 1, cs, 0, 0, CX_INIT_ZERO, 0, 0, 0);
    cx_declare_param(&b->base, "running_var", 1, cs, 0, 0, CX_INIT_CONST, 1.0f, 0, 0);
    snprintf(b->base.spec, sizeof b->base.spec, "batchnorm");
    *out = &b->base;
    return CX_OK;
}

/* The statistics buffers are allocated here rather than in create, so that
 * parsing a spec (e.g. one read from an untrusted model file) allocates
 * nothing proportional to the layer sizes. */
static cx_status bn_reserve(cx_layer *l, int max_batch, cx_error *err)
{
    (void)max_batch;
    bn_layer *b = (bn_layer *)l;
    if (b->mean) return CX_OK;
    b->mean = cx_alloc_floats((size_t)b->c);
    b->invstd = cx_alloc_floats((size_t)b->c);
    b->acc = malloc(((size_t)2 * b->c + 1) * sizeof *b->acc);
    if (!b->mean || !b->invstd || !b->acc) {
        cx_free_floats(b->mean);
        cx_free_floats(b->invstd);
        free(b->acc);
        b->mean = b->invstd = NULL;
        b->acc = NULL;
        return cx_fail(err, CX_ERR_NOMEM, "layer 'batchnorm': out of memory");
    }
    return CX_OK;
}

/* Element (o, c, i) of a batch lives at (o * C + c) * inner + i, with
 * o < n * rows. */
static void bn_apply(const bn_layer *b, int outer, const float *x, float *y)
{
    const float *gamma = b->base.params[0].w, *beta = b->base.params[1].w;
    for (int o = 0; o < outer; o++)
        for (int c = 0; c < b->c; c++) {
            size_t base = ((size_t)o * b->c + c) * b->inner;
            float s = gamma[c] * b->invstd[c], t = beta[c] - b->mean[c] * s;
            for (int i = 0; i < b->inner; i++)
                y[base + i] = x[base + i] * s + t;
        }
}

static void use_running(bn_layer *b)
{
    const float *rm = b->base.params[2].w, *rv = b->base.params[3].w;
    for (int c = 0; c < b->c; c++) {
        b->mean[c] = rm[c];
        b->invstd[c] = 1.0f / sqrtf(rv[c] + BN_EPS);
    }
}

/* x, y: (n, C, H, W) or (n, [T,] F)
 * training: y = gamma (x - mean_B) / sqrt(var_B + eps) + beta, and
 *           running = (1 - m) running + m stat (variance unbiased)
 * eval:     the same with the running statistics */
static void bn_forward(cx_layer *l, const cx_run *r, int n, const float *x, float *y)
{
    bn_layer *b = (bn_layer *)l;
    int outer = n * b->rows;
    b->batch_stats = r->training;
    if (!r->training) {
        use_running(b);
        bn_apply(b, outer, x, y);
        return;
    }
    /* Shards of one batch (r->group) sum their statistics together, in
     * rank order: the statistics of the whole batch on every shard. */
    float *rm = l->params[2].w, *rv = l->params[3].w;
    double *sum = b->acc, *sq = b->acc + b->c;
    for (int c = 0; c < b->c; c++) {
        double s = 0.0;
        for (int o = 0; o < outer; o++) {
            const float *p = x + ((size_t)o * b->c + c) * b->inner;
            for (int i = 0; i < b->inner; i++)
                s += p[i];
        }
        sum[c] = s;
    }
    sum[b->c] = (double)outer * b->inner; /* the count rides along */
    cx_group_sum(r->group, sum, (size_t)b->c + 1);
    double count = sum[b->c];
    b->count = count;
    for (int c = 0; c < b->c; c++) {
        double mean = sum[c] / count, q = 0.0;
        for (int o = 0; o < outer; o++) {
            const float *p = x + ((size_t)o * b->c + c) * b->inner;
            for (int i = 0; i < b->inner; i++)
                q += (p[i] - mean) * (p[i] - mean);
        }
        sq[c] = q;
    }
    cx_group_sum(r->group, sq, (size_t)b->c);
    /* The running statistics are shared by the replicas: rank 0 updates them. */
    int update = !r->group || r->group->rank == 0;
    for (int c = 0; c < b->c; c++) {
        double mean = sum[c] / count, var = sq[c] / count;
        b->mean[c] = (float)mean;
        b->invstd[c] = (float)(1.0 / sqrt(var + BN_EPS));
        double unbiased = count > 1 ? sq[c] / (count - 1) : var;
        if (update) {
            rm[c] = (1.0f - BN_MOMENTUM) * rm[c] + BN_MOMENTUM * (float)mean;
            rv[c] = (1.0f - BN_MOMENTUM) * rv[c] + BN_MOMENTUM * (float)unbiased;
        }
    }
    bn_apply(b, outer, x, y);
}

/* With xhat = (x - mean) invstd and M elements per channel:
 * dgamma = sum dy xhat, dbeta = sum dy
 * batch statistics: dx = gamma invstd / M (M dy - sum dy - xhat sum dy xhat)
 * fixed statistics: dx = gamma invstd dy */
static void bn_backward(cx_layer *l, const cx_run *r, int n, const float *x, const float *y,
                        const float *dy, float *dx)
{
    (void)y;
    bn_layer *b = (bn_layer *)l;
    int outer = n * b->rows;
    const float *gamma = l->params[0].w;
    float *dgamma = l->params[0].g, *dbeta = l->params[1].g;
    /* Each shard adds its own part to the parameter gradients (the shards'
     * gradients are summed afterwards); dx needs the whole batch's sums. */
    double *sdy = b->acc, *sdyx = b->acc + b->c;
    for (int c = 0; c < b->c; c++) {
        double a = 0.0, bx = 0.0;
        float mean = b->mean[c], inv = b->invstd[c];
        for (int o = 0; o < outer; o++) {
            size_t base = ((size_t)o * b->c + c) * b->inner;
            for (int i = 0; i < b->inner; i++) {
                a += dy[base + i];
                bx += dy[base + i] * (x[base + i] - mean) * inv;
            }
        }
        dgamma[c] += (float)bx;
        dbeta[c] += (float)a;
        sdy[c] = a;
        sdyx[c] = bx;
    }
    if (!dx) return;
    if (b->batch_stats) cx_group_sum(r->group, b->acc, (size_t)2 * b->c);
    double count = b->batch_stats ? b->count : 0.0;
    for (int c = 0; c < b->c; c++) {
        float mean = b->mean[c], inv = b->invstd[c];
        float k = gamma[c] * inv;
        float a = b->batch_stats ? (float)(sdy[c] / count) : 0.0f;
        float bb = b->batch_stats ? (float)(sdyx[c] / count) : 0.0f;
        for (int o = 0; o < outer; o++) {
            size_t base = ((size_t)o * b->c + c) * b->inner;
            for (int i = 0; i < b->inner; i++) {
                float xhat = (x[base + i] - mean) * inv;
                dx[base + i] = k * (dy[base + i] - a - xhat * bb);
            }
        }
    }
}

/* Streaming (evaluation): one (n, F) frame with running statistics. */
static void bn_step(cx_layer *l, int n, const float *x, float *y)
{
    bn_layer *b = (bn_layer *)l;
    use_running(b);
    bn_apply(b, n, x, y);
}

static void bn_destroy(cx_layer *l)
{
    bn_layer *b = (bn_layer *)l;
    cx_free_floats(b->mean);
    cx_free_floats(b->invstd);
    free(b->acc);
    free(b);
}

const cx_layer_kind cx_kind_batchnorm = {
    .name = "batchnorm",
    .usage = "batchnorm (or bn)",
    .create = bn_create,
    .reserve = bn_reserve,
    .forward = bn_forward,
    .backward = bn_backward,
    .destroy = bn_destroy,
    .step = bn_step,
};
