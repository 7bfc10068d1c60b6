/* The MPI communicator (comm.h): MPI_COMM_WORLD with MPI_ERRORS_RETURN, so
 * a failed call becomes a status and a message instead of an exit. Only
 * the thread that created it calls MPI (MPI_THREAD_FUNNELED). Messages
 * larger than an int's count go in pieces. After a failure every call
 * fails at once with the first message: the job is broken. */
#define _POSIX_C_SOURCE 200809L
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "comm_internal.h"

typedef struct {
    cx_comm c;
    int failed;
    char msg[512];
} mpi_comm;

static cx_status mpi_fail(mpi_comm *m, int code, const char *what, cx_error *err)
{
    if (!m->failed) {
        char s[MPI_MAX_ERROR_STRING + 1];
        int len = 0;
        if (MPI_Error_string(code, s, &len) != MPI_SUCCESS) snprintf(s, sizeof s, "error %d", code);
        snprintf(m->msg, sizeof m->msg, "MPI: %s failed on rank %d of %d: %s", what, m->c.rank,
                 m->c.size, s);
        m->failed = 1;
    }
    return cx_fail(err, CX_ERR_IO, "%s", m->msg);
}

static cx_status mpi_sum(cx_comm *c, void *v, size_t n, cx_comm_type type, cx_error *err)
{
    mpi_comm *m = (mpi_comm *)c;
    if (m->failed) return cx_fail(err, CX_ERR_IO, "%s", m->msg);
    MPI_Datatype t = type == CX_COMM_FLOAT    ? MPI_FLOAT
                     : type == CX_COMM_DOUBLE ? MPI_DOUBLE
                                              : MPI_INT;
    size_t el = type == CX_COMM_DOUBLE  ? sizeof(double)
                : type == CX_COMM_FLOAT ? sizeof(float)
                                        : sizeof(int);
    const size_t piece = (size_t)1 << 28;
    for (size_t a = 0; a < n; a += piece) {
        int count = (int)(n - a < piece ? n - a : piece);
        int rc = MPI_Allreduce(MPI_IN_PLACE, (char *)v + a * el, count, t, MPI_SUM, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail(m, rc, "MPI_Allreduce", err);
    }
    return CX_OK;
}

static cx_status mpi_bcast(cx_comm *c, void *bytes, size_t n, int root, cx_error *err)
{
    mpi_comm *m = (mpi_comm *)c;
    if (m->failed) return cx_fail(err, CX_ERR_IO, "%s", m->msg);
    const size_t piece = (size_t)1 << 30;
    for (size_t a = 0; a < n; a += piece) {
        int count = (int)(n - a < piece ? n - a : piece);
        int rc = MPI_Bcast((char *)bytes + a, count, MPI_BYTE, root, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return mpi_fail(m, rc, "MPI_Bcast", err);
    }
    return CX_OK;
}

static void mpi_abort(cx_comm *c, int code)
{
    (void)c;
    MPI_Abort(MPI_COMM_WORLD, code ? code : 1);
}

static void mpi_free(cx_comm *c)
{
    mpi_comm *m = (mpi_comm *)c;
    int fin = 0;
    MPI_Finalized(&fin);
    if (!fin) MPI_Finalize();
    free(m);
}

cx_status cx_comm_mpi_create(cx_comm **out, int *argc, char ***argv, cx_error *err)
{
    mpi_comm *m = calloc(1, sizeof *m);
    if (!m) return cx_fail(err, CX_ERR_NOMEM, "MPI: out of memory");
    int inited = 0, provided = 0;
    MPI_Initialized(&inited);
    if (!inited && MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        free(m);
        return cx_fail(err, CX_ERR_IO, "MPI: MPI_Init_thread failed");
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &m->c.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &m->c.size);
    m->c.name = "MPI";
    m->c.sum = mpi_sum;
    m->c.bcast = mpi_bcast;
    m->c.abort = mpi_abort;
    m->c.free = mpi_free;
    m->c.impl = m;
    *out = &m->c;
    return CX_OK;
}
