/* Private: the MPI communicator (comm_mpi.c, built with CORTEX_MPI). */
#ifndef CORTEX_COMM_INTERNAL_H
#define CORTEX_COMM_INTERNAL_H

#include "cortex/comm.h"

/* MPI_Init (or the thread level MPI_THREAD_FUNNELED) and MPI_COMM_WORLD,
 * with errors returned rather than fatal. */
cx_status cx_comm_mpi_create(cx_comm **out, int *argc, char ***argv, cx_error *err);

#endif
