/* The communicator's dispatch, the single process, and the choice of the
 * world (comm.h). The MPI implementation is comm_mpi.c (CORTEX_MPI). */
#define _POSIX_C_SOURCE 200809L
#include "cortex/comm.h"

#include <stdlib.h>

#include "comm_internal.h"

static cx_status single_sum(cx_comm *c, void *v, size_t n, cx_comm_type type, cx_error *err)
{
    (void)c, (void)v, (void)n, (void)type, (void)err;
    return CX_OK;
}

static cx_status single_bcast(cx_comm *c, void *bytes, size_t n, int root, cx_error *err)
{
    (void)c, (void)bytes, (void)n, (void)err;
    return root == 0 ? CX_OK : cx_fail(err, CX_ERR_ARG, "broadcast from rank %d of 1", root);
}

static cx_comm g_single = {0, 1, "single process", single_sum, single_bcast, NULL, NULL, NULL, 0};

cx_comm *cx_comm_single(void)
{
    return &g_single;
}

/* The first of vars set to a count, 0 when none is. */
static int env_count(const char *const *vars, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *s = getenv(vars[i]);
        if (s && *s) {
            long v = strtol(s, NULL, 10);
            if (v > 0 && v < 1 << 24) return (int)v;
        }
    }
    return 0;
}

/* The size an MPI launcher announced, 0 when none did. */
static int launched_size(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_SIZE",
                                       "MPI_LOCALNRANKS"};
    int n = env_count(vars, sizeof vars / sizeof vars[0]);
    return n ? n : getenv("PMIX_RANK") ? 1 : 0;
}

int cx_comm_local_size(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS",
                                       "SLURM_NTASKS_PER_NODE"};
    int n = env_count(vars, sizeof vars / sizeof vars[0]);
    return n ? n : 1;
}

int cx_comm_have_mpi(void)
{
#ifdef CORTEX_MPI
    return 1;
#else
    return 0;
#endif
}

cx_status cx_comm_world(cx_comm **out, int *argc, char ***argv, cx_error *err)
{
    *out = &g_single;
    int size = launched_size();
    if (size == 0) return CX_OK;
#ifdef CORTEX_MPI
    return cx_comm_mpi_create(out, argc, argv, err);
#else
    (void)argc, (void)argv;
    if (size == 1) return CX_OK;
    return cx_fail(err, CX_ERR_STATE,
                   "started by an MPI launcher with %d processes, but this build of Cortex has no "
                   "MPI: install libopenmpi-dev (scripts/setup.sh does) and build again",
                   size);
#endif
}

void cx_comm_free(cx_comm *c)
{
    if (c && c->free) c->free(c);
}

int cx_comm_rank(const cx_comm *c)
{
    return c ? c->rank : 0;
}

int cx_comm_size(const cx_comm *c)
{
    return c ? c->size : 1;
}

cx_status cx_comm_sum(cx_comm *c, void *v, size_t n, cx_comm_type type, cx_error *err)
{
    if (!c || c->size <= 1 || n == 0) return CX_OK;
    double t = cx_now();
    cx_status st = c->sum(c, v, n, type, err);
    c->seconds += cx_now() - t;
    return st;
}

cx_status cx_comm_bcast(cx_comm *c, void *bytes, size_t n, int root, cx_error *err)
{
    if (!c || c->size <= 1 || n == 0) return CX_OK;
    if (root < 0 || root >= c->size)
        return cx_fail(err, CX_ERR_ARG, "broadcast from rank %d of %d", root, c->size);
    double t = cx_now();
    cx_status st = c->bcast(c, bytes, n, root, err);
    c->seconds += cx_now() - t;
    return st;
}

void cx_comm_abort(cx_comm *c, int code)
{
    if (c && c->size > 1 && c->abort) c->abort(c, code);
}

double cx_comm_seconds(const cx_comm *c)
{
    return c ? c->seconds : 0.0;
}

static cx_comm *g_comm;

void cx_set_comm(cx_comm *c)
{
    g_comm = c;
}

cx_comm *cx_get_comm(void)
{
    return g_comm;
}
