/* The team: one batch split between the library's threads (team.h). */
#define _POSIX_C_SOURCE 200809L
#include "team.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "cortex/loss.h"
#include "model_util.h"
#include "par.h"

void cx_team_free(cx_team *t)
{
    if (!t) return;
    for (int r = 1; r < t->size; r++)
        cx_model_free(t->m[r]);
    if (t->m) cx_model_set_group(t->m[0], NULL);
    cx_par_free(t->par);
    free(t->m);
    free(t->g);
    free(t->slots);
    if (t->blas_threads > 0) openblas_set_num_threads(t->blas_threads);
    free(t);
}

/* NULL (and CX_OK) when one thread is asked for. */
cx_status cx_team_create(cx_team **out, cx_model *m, int batch, cx_error *err)
{
    *out = NULL;
    int size = cx_get_threads();
    if (size > CX_TEAM_MAX) size = CX_TEAM_MAX;
    if (size > batch) size = batch;
    if (size <= 1 || cx_model_num_members(m) > 0) return CX_OK;
    cx_team *t = calloc(1, sizeof *t);
    if (!t) return cx_fail(err, CX_ERR_NOMEM, "train: out of memory");
    t->size = size;
    cx_status st = CX_OK;
    size_t cap = cx_model_group_doubles(m);
    t->m = calloc((size_t)size, sizeof *t->m);
    t->g = calloc((size_t)size, sizeof *t->g);
    t->slots = calloc((size_t)2 * (size + 1) * cap, sizeof *t->slots);
    if (!t->m || !t->g || !t->slots) {
        st = cx_fail(err, CX_ERR_NOMEM, "train: out of memory");
        goto fail;
    }
    if ((st = cx_par_create(&t->par, size, err))) goto fail;
    t->m[0] = m;
    int shard = (batch + size - 1) / size;
    if ((st = cx_model_reserve(m, batch, err))) goto fail;
    for (int r = 0; r < size; r++) {
        if (r > 0 && ((st = cx_model_replica(&t->m[r], m, err)) ||
                      (st = cx_model_reserve(t->m[r], shard, err))))
            goto fail;
        t->g[r] = (cx_group){t->par, r, size, 0, t->slots, cap, NULL};
        cx_model_set_group(t->m[r], &t->g[r]);
    }
    t->solo = (cx_group){NULL, 0, 1, 0, NULL, 0, NULL};
    cx_model_param_block(m, &t->nw);
    t->blas_threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    *out = t;
    return CX_OK;
fail:
    cx_team_free(t);
    return st;
}

void cx_team_shard(int nb, int rank, int size, int *lo, int *hi)
{
    *lo = (int)((long)nb * rank / size);
    *hi = (int)((long)nb * (rank + 1) / size);
}

/* Rank r sums slice r of the gradient block over the replicas, in rank
 * order, into the model's own gradients (slices of 16 floats). */
static void reduce_grads(cx_team *t, int rank, int size)
{
    size_t blocks = (t->nw + 15) / 16, a = blocks * rank / size * 16,
           b = blocks * (rank + 1) / size * 16;
    if (b > t->nw) b = t->nw;
    size_t nw;
    float *sum = cx_model_grad_block(t->m[0], &nw);
    for (int r = 1; r < size; r++) {
        const float *gr = cx_model_grad_block(t->m[r], &nw);
        for (size_t i = a; i < b; i++)
            sum[i] += gr[i];
    }
}

static void run_job(void *ctx, int rank, int size)
{
    cx_team *t = ctx;
    int lo, hi;
    cx_team_shard(t->nb, rank, size, &lo, &hi);
    t->fn(t->fn_ctx, t->m[rank], rank, lo, hi);
    if (!t->reduce) return;
    cx_par_barrier(t->par);
    reduce_grads(t, rank, size);
}

void cx_team_run(cx_team *t, int nb, cx_team_fn fn, void *ctx, int reduce)
{
    t->nb = nb;
    t->fn = fn, t->fn_ctx = ctx, t->reduce = reduce;
    cx_par_run(t->par, run_job, t);
}

double cx_shard_loss(const float *z, const int *y, const float *soft, float a, int n, int total,
                     int k, float smoothing, float *dz)
{
    /* The loss is the mean over the whole batch: this shard's part of it. */
    float scale = (float)n / (float)total;
    double loss = (double)cx_softmax_xent_soft(z, y, soft, a, n, k, smoothing, dz, NULL) * scale;
    for (size_t i = 0; i < (size_t)n * k; i++)
        dz[i] *= scale;
    return loss;
}

static void step_fn(void *ctx, cx_model *m, int rank, int lo, int hi)
{
    cx_team *t = ctx;
    int n = hi - lo;
    if (t->backward) cx_model_zero_grad(m);
    const float *z = cx_model_forward(m, n, t->x + (size_t)lo * t->in);
    t->z[rank] = z;
    if (!t->backward) return;
    float *dz = t->dz + (size_t)lo * t->k;
    const float *soft = t->soft ? t->soft + (size_t)lo * t->k : NULL;
    t->loss[rank] =
        cx_shard_loss(z, t->y + lo, soft, t->soft_weight, n, t->total, t->k, t->smoothing, dz);
    cx_model_backward(m, n, dz);
}

void cx_team_set_comm(cx_team *t, cx_comm *c)
{
    for (int r = 0; r < t->size; r++)
        t->g[r].comm = c;
    t->solo.comm = c;
}

void cx_team_set_soft(cx_team *t, const float *soft, float a)
{
    t->soft = soft;
    t->soft_weight = a;
}

void cx_team_step(cx_team *t, int backward, int nb, const float *x, const int *y, float *dz,
                  float smoothing, float *loss)
{
    double l;
    cx_team_step_part(t, backward, nb, nb, x, y, dz, smoothing, &l);
    if (loss) *loss = (float)l;
}

void cx_team_step_part(cx_team *t, int backward, int nb, int total, const float *x, const int *y,
                       float *dz, float smoothing, double *loss)
{
    t->backward = backward;
    t->total = total;
    t->x = x, t->y = y, t->dz = dz, t->smoothing = smoothing;
    t->in = (int)cx_shape_size(cx_model_input_shape(t->m[0]));
    t->k = (int)cx_shape_size(cx_model_output_shape(t->m[0]));
    /* A batch too small to give every rank a sample (or too large for the
     * replicas) runs on the model alone, outside the group. */
    int shard = (nb + t->size - 1) / t->size;
    t->alone = nb < t->size || shard > cx_model_max_batch(t->m[1]);
    if (t->alone) {
        t->nb = nb;
        cx_model_set_group(t->m[0], t->solo.comm ? &t->solo : NULL);
        step_fn(t, t->m[0], 0, 0, nb);
        cx_model_set_group(t->m[0], &t->g[0]);
    } else {
        for (int r = 0; r < t->size; r++)
            cx_model_set_training(t->m[r], cx_model_training(t->m[0]));
        cx_team_run(t, nb, step_fn, t, backward);
    }
    if (loss) {
        double l = 0.0;
        for (int r = 0; r < (t->alone ? 1 : t->size); r++)
            l += t->loss[r];
        *loss = l;
    }
}

const float *cx_team_scores(const cx_team *t, int rank, int *lo, int *hi)
{
    if (t->alone) {
        *lo = 0, *hi = rank == 0 ? t->nb : 0;
    } else {
        cx_team_shard(t->nb, rank, t->size, lo, hi);
    }
    return *hi > *lo ? t->z[rank] : NULL;
}

/* Row i of the batch's scores. */
const float *cx_team_row(const cx_team *t, int i)
{
    for (int r = 0; r < t->size; r++) {
        int lo, hi;
        const float *z = cx_team_scores(t, r, &lo, &hi);
        if (z && i < hi) return z + (size_t)(i - lo) * t->k;
    }
    return NULL;
}

static void optim_job(void *ctx, int rank, int size)
{
    cx_team *t = ctx;
    size_t blocks = (t->nw + 15) / 16, a = blocks * rank / size * 16,
           b = blocks * (rank + 1) / size * 16;
    if (b > t->nw) b = t->nw;
    cx_optim_update_range(t->opt, t->lr, a, b);
}

float cx_team_optim_step(cx_team *t, cx_optim *o, float lr)
{
    float norm = cx_optim_begin_step(o);
    t->opt = o, t->lr = lr;
    cx_par_run(t->par, optim_job, t);
    return norm;
}
