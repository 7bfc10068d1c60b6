/* Private: one batch split between the library's threads (team.c), for
 * cx_train, cx_evaluate and the benchmarks. */
#ifndef CORTEX_TEAM_H
#define CORTEX_TEAM_H

#include "cortex/model.h"
#include "cortex/optim.h"
#include "par.h"

#define CX_TEAM_MAX 64

/* With T threads (cx_set_threads), each batch is cut into T contiguous
 * shards; rank 0 runs its shard through the caller's model, rank t through
 * a replica (cx_model_replica: the same parameters, its own gradients,
 * activations and workspace), each with single-threaded OpenBLAS calls.
 * Batch normalization sums its statistics over all shards (cx_group_sum).
 * Then every rank sums a slice of the gradient block over the replicas in
 * rank order into the model's own gradients, and the optimizer steps once.
 * Every sum has a fixed order, so the same seed, data and thread count give
 * the same bits on every run. Idle workers sleep (par.c). */
typedef struct cx_team {
    int size;
    cx_par *par;
    cx_model **m;  /* [size]; m[0] is the caller's model */
    cx_group *g;   /* [size] */
    cx_group solo; /* m[0] alone, with the other processes (comm) */
    double *slots;
    size_t nw;
    int blas_threads; /* OpenBLAS's setting before, restored by team_free */
    /* the job */
    int backward, nb, total, in, k;
    const float *x;
    const int *y;
    float *dz, smoothing;
    const float *soft; /* a teacher's probabilities, (nb, k), or NULL */
    float soft_weight;
    const float *z[CX_TEAM_MAX]; /* each rank's scores */
    double loss[CX_TEAM_MAX];
    void (*fn)(void *ctx, cx_model *m, int rank, int lo, int hi);
    void *fn_ctx;
    int reduce;
    cx_optim *opt;
    float lr;
    int alone; /* the last step ran on m[0] alone (cx_team_step) */
} cx_team;

/* What each rank runs in cx_team_run: samples [lo, hi) of the batch through
 * m, its model (rank 0: the caller's, the others replicas). */
typedef void (*cx_team_fn)(void *ctx, cx_model *m, int rank, int lo, int hi);

/* A team of cx_get_threads() ranks (at most CX_TEAM_MAX and batch) for
 * batches of up to `batch` samples through m; *out is NULL (and CX_OK) when
 * that is one thread or m is an ensemble. OpenBLAS runs one thread per call
 * until cx_team_free restores its setting. */
cx_status cx_team_create(cx_team **out, cx_model *m, int batch, cx_error *err);
void cx_team_free(cx_team *t);
/* Samples [lo, hi) of a batch of nb are rank's shard. */
void cx_team_shard(int nb, int rank, int size, int *lo, int *hi);
/* Forward (backward = 0) or forward, loss and backward with the gradients
 * summed into m's (backward = 1) of nb samples x with labels y; dz holds nb
 * rows of scores' gradients; *loss (if non-NULL) gets the batch's mean
 * loss. A batch of fewer samples than ranks runs on m alone, exactly as
 * without a team. */
void cx_team_step(cx_team *t, int backward, int nb, const float *x, const int *y, float *dz,
                  float smoothing, float *loss);
/* The same for nb samples that are this process's part of a batch of
 * `total` spread over processes: the loss is the mean over total samples
 * (the processes' *loss add up to the batch's mean). */
void cx_team_step_part(cx_team *t, int backward, int nb, int total, const float *x, const int *y,
                       float *dz, float smoothing, double *loss);
/* The other processes whose shards batch normalization's statistics sum
 * over (NULL: this process alone). */
void cx_team_set_comm(cx_team *t, cx_comm *c);
/* The loss of n rows z (labels y, soft targets soft of weight a, or NULL)
 * that are part of a batch of total rows: their mean loss times n / total,
 * and dz (n rows) its gradient. What each shard of a batch computes. */
double cx_shard_loss(const float *z, const int *y, const float *soft, float a, int n, int total,
                     int k, float smoothing, float *dz);
/* The soft targets of the following steps (cx_softmax_xent_soft): rows of
 * soft (the batch's), weight a; NULL for none. */
void cx_team_set_soft(cx_team *t, const float *soft, float a);
/* fn on every rank's shard of a batch of nb >= t->size samples; with
 * reduce, then the replicas' gradients summed into the model's in rank
 * order (each rank a slice of them). */
void cx_team_run(cx_team *t, int nb, cx_team_fn fn, void *ctx, int reduce);
/* The optimizer's step in two parts (optim.c): clipping and the step count,
 * then the elementwise update of the parameter block's floats [a, b). */
float cx_optim_begin_step(cx_optim *o);
void cx_optim_update_range(cx_optim *o, float lr, size_t a, size_t b);
/* cx_optim_step with the update split between the ranks (the same bits as
 * one thread: each float's update is its own). */
float cx_team_optim_step(cx_team *t, cx_optim *o, float lr);
/* The last step's scores of rank's shard, rows [*lo, *hi) of the batch
 * (NULL for a rank that had none). */
const float *cx_team_scores(const cx_team *t, int rank, int *lo, int *hi);
/* Row i of the last step's scores. */
const float *cx_team_row(const cx_team *t, int i);

#endif
