/* Private: the library's own thread pool (par.c) and the groups of model
 * replicas that share one batch (train.c, batchnorm). */
#ifndef CORTEX_PAR_H
#define CORTEX_PAR_H

#include "cortex/comm.h"
#include "cortex/core.h"
#include "cortex/layers.h"

/* A pool of `size` ranks: the calling thread is rank 0, size - 1 worker
 * threads the others. Idle workers sleep on a condition variable; nothing
 * spins. */
typedef struct cx_par cx_par;

cx_status cx_par_create(cx_par **out, int size, cx_error *err);
void cx_par_free(cx_par *p);
int cx_par_size(const cx_par *p);
/* Runs fn(ctx, rank, size) on every rank at once and returns when all have
 * returned. Not reentrant: fn must not call cx_par_run. */
void cx_par_run(cx_par *p, void (*fn)(void *ctx, int rank, int size), void *ctx);
/* Inside fn: waits until every rank has arrived (sleeping). */
void cx_par_barrier(cx_par *p);

/* The ranks of one cx_par_run working on shards of one batch, as a layer
 * sees them through cx_run.group: batch normalization sums its statistics
 * over the whole batch with cx_group_sum. With a communicator of several
 * processes, each holding shards of the batch, the sums run over all of
 * them. A group of size 1 with a communicator is a process alone with its
 * shard (par and slots NULL). */
struct cx_group {
    cx_par *par;
    int rank, size;
    int calls;     /* cx_group_sum calls so far by this rank */
    double *slots; /* shared: 2 regions x (size + 1) x cap doubles */
    size_t cap;    /* doubles per rank per call */
    cx_comm *comm; /* the other processes' shards, or NULL */
};

/* v[0..n) = the sum over ranks, in rank order, of each rank's v: the same
 * bits on every rank, and for the same shards the same bits on every run.
 * With a communicator, rank 0 then sums those over the processes (a
 * failure there is kept by the communicator: its next call fails too).
 * Every rank of the group must make the same calls in the same order;
 * n <= group cap. */
void cx_group_sum(cx_group *g, double *v, size_t n);

#endif
