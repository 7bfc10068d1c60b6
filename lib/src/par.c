/* The library's thread pool: size - 1 pthreads that sleep on a condition
 * variable between jobs, and a sleeping barrier. One job at a time: rank 0
 * (the caller) runs its share too and then waits for the others. */
#define _POSIX_C_SOURCE 200809L
#include "par.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct cx_par {
    int size;
    pthread_t *threads;
    int nthreads; /* started */
    pthread_mutex_t mu;
    pthread_cond_t wake, done, bar;
    unsigned long generation; /* incremented for each job */
    int running;              /* workers still in the current job */
    int quit;
    void (*fn)(void *ctx, int rank, int size);
    void *ctx;
    /* barrier */
    int arrived;
    unsigned long bar_gen;
};

typedef struct {
    cx_par *p;
    int rank;
} worker_arg;

static void *worker(void *arg)
{
    worker_arg *a = arg;
    cx_par *p = a->p;
    int rank = a->rank;
    free(a);
    unsigned long seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->quit && p->generation == seen)
            pthread_cond_wait(&p->wake, &p->mu);
        if (p->quit) break;
        seen = p->generation;
        void (*fn)(void *, int, int) = p->fn;
        void *ctx = p->ctx;
        pthread_mutex_unlock(&p->mu);
        fn(ctx, rank, p->size);
        pthread_mutex_lock(&p->mu);
        if (--p->running == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

cx_status cx_par_create(cx_par **out, int size, cx_error *err)
{
    *out = NULL;
    if (size < 1 || size > 1024)
        return cx_fail(err, CX_ERR_ARG, "threads: %d is outside 1..1024", size);
    cx_par *p = calloc(1, sizeof *p);
    if (!p) return cx_fail(err, CX_ERR_NOMEM, "threads: out of memory");
    p->size = size;
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->done, NULL);
    pthread_cond_init(&p->bar, NULL);
    if (size > 1 && !(p->threads = calloc((size_t)size - 1, sizeof *p->threads))) {
        cx_par_free(p);
        return cx_fail(err, CX_ERR_NOMEM, "threads: out of memory");
    }
    for (int r = 1; r < size; r++) {
        worker_arg *a = malloc(sizeof *a);
        if (!a || (a->p = p, a->rank = r, pthread_create(&p->threads[r - 1], NULL, worker, a))) {
            free(a);
            cx_par_free(p);
            return cx_fail(err, CX_ERR_NOMEM, "threads: cannot start thread %d of %d", r + 1, size);
        }
        p->nthreads++;
    }
    *out = p;
    return CX_OK;
}

void cx_par_free(cx_par *p)
{
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->quit = 1;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    free(p->threads);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->done);
    pthread_cond_destroy(&p->bar);
    free(p);
}

int cx_par_size(const cx_par *p)
{
    return p ? p->size : 1;
}

void cx_par_run(cx_par *p, void (*fn)(void *ctx, int rank, int size), void *ctx)
{
    if (!p || p->size == 1) {
        fn(ctx, 0, 1);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->running = p->size - 1;
    p->generation++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    fn(ctx, 0, p->size);
    pthread_mutex_lock(&p->mu);
    while (p->running > 0)
        pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

void cx_par_barrier(cx_par *p)
{
    if (!p || p->size == 1) return;
    pthread_mutex_lock(&p->mu);
    unsigned long gen = p->bar_gen;
    if (++p->arrived == p->size) {
        p->arrived = 0;
        p->bar_gen++;
        pthread_cond_broadcast(&p->bar);
    } else {
        while (p->bar_gen == gen)
            pthread_cond_wait(&p->bar, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
}

/* Two regions used in turn: a rank writes call k's values only after the
 * barrier of call k - 1, which every rank passes only once it has read
 * call k - 2's sums, the last use of the same region. With a communicator,
 * rank 0 writes the processes' sum into the region's last slot and a
 * second barrier lets the others read it. */
void cx_group_sum(cx_group *g, double *v, size_t n)
{
    if (!g || n == 0) return;
    int world = g->comm && cx_comm_size(g->comm) > 1;
    if (g->size <= 1) {
        if (world) cx_comm_sum(g->comm, v, n, CX_COMM_DOUBLE, NULL);
        return;
    }
    double *region = g->slots + (size_t)(g->calls & 1) * (g->size + 1) * g->cap;
    g->calls++;
    memcpy(region + (size_t)g->rank * g->cap, v, n * sizeof *v);
    cx_par_barrier(g->par);
    if (world && g->rank != 0) {
        cx_par_barrier(g->par);
        memcpy(v, region + (size_t)g->size * g->cap, n * sizeof *v);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        double s = 0.0;
        for (int r = 0; r < g->size; r++)
            s += region[(size_t)r * g->cap + i];
        v[i] = s;
    }
    if (world) {
        cx_comm_sum(g->comm, v, n, CX_COMM_DOUBLE, NULL);
        memcpy(region + (size_t)g->size * g->cap, v, n * sizeof *v);
        cx_par_barrier(g->par);
    }
}
