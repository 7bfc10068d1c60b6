/* Processes training one model together: a communicator (cx_comm) with a
 * rank and a size, sums over every process and a broadcast. Data-parallel
 * training (cx_train) and evaluation (cx_evaluate) use the process's
 * communicator (cx_set_comm); without one they run in this process alone.
 *
 * Two implementations: MPI (when the library is built with CORTEX_MPI and
 * the program was started by mpirun) and a single process. A C program may
 * also bring its own: fill a cx_comm's functions.
 *
 * Every process of a communicator must make the same calls, with the same
 * sizes, in the same order. */
#ifndef CORTEX_COMM_H
#define CORTEX_COMM_H

#include <stddef.h>

#include "cortex/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { CX_COMM_FLOAT, CX_COMM_DOUBLE, CX_COMM_INT } cx_comm_type;

typedef struct cx_comm cx_comm;
struct cx_comm {
    int rank, size;
    const char *name; /* "MPI", "single process" */
    /* v[0..n) = the sum over the processes of each one's v[0..n), the same
     * on every process. */
    cx_status (*sum)(cx_comm *c, void *v, size_t n, cx_comm_type type, cx_error *err);
    /* bytes[0..n) of process root, on every process. */
    cx_status (*bcast)(cx_comm *c, void *bytes, size_t n, int root, cx_error *err);
    /* Ends every process of the job at once (MPI_Abort); NULL: nothing to do. */
    void (*abort)(cx_comm *c, int code);
    /* Frees c (MPI_Finalize). */
    void (*free)(cx_comm *c);
    void *impl;
    double seconds; /* spent in sum and bcast so far */
};

/* The communicator of the processes this program was started with: MPI's
 * world when the environment shows an MPI launcher (mpirun, srun: OpenMPI's
 * OMPI_COMM_WORLD_SIZE, PMI_SIZE, PMIX_RANK), else a single process. argc
 * and argv may be NULL. Fails when mpirun started several processes and the
 * library was built without MPI. Free with cx_comm_free. */
CX_API cx_status cx_comm_world(cx_comm **out, int *argc, char ***argv, cx_error *err);
/* A communicator of one process (static; cx_comm_free does nothing). */
CX_API cx_comm *cx_comm_single(void);
/* Whether this library was built with MPI. */
CX_API int cx_comm_have_mpi(void);
CX_API void cx_comm_free(cx_comm *c);

/* NULL is a single process: rank 0, size 1; the sums and broadcasts then
 * change nothing. */
CX_API int cx_comm_rank(const cx_comm *c);
CX_API int cx_comm_size(const cx_comm *c);
CX_API cx_status cx_comm_sum(cx_comm *c, void *v, size_t n, cx_comm_type type, cx_error *err);
CX_API cx_status cx_comm_bcast(cx_comm *c, void *bytes, size_t n, int root, cx_error *err);
/* Ends the whole job when c has more than one process (an error on one
 * process must not leave the others waiting); else returns. */
CX_API void cx_comm_abort(cx_comm *c, int code);
/* Seconds spent communicating so far. */
CX_API double cx_comm_seconds(const cx_comm *c);

/* The process's communicator, used by cx_train and cx_evaluate (NULL, the
 * default: this process alone). Not owned: the caller frees it after use. */
CX_API void cx_set_comm(cx_comm *c);
CX_API cx_comm *cx_get_comm(void);

/* Processes of the job on this machine (OMPI_COMM_WORLD_LOCAL_SIZE and the
 * like), 1 when unknown: a program divides the cores between them
 * (cx_set_threads). */
CX_API int cx_comm_local_size(void);

#ifdef __cplusplus
}
#endif
#endif
