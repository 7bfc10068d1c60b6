/* Cortex core: status codes, error messages, random numbers, threads.
 *
 * Every fallible library function returns a cx_status (CX_OK == 0) and, on
 * failure, writes a human-readable message into a caller-supplied cx_error.
 * The library never prints, never exits and never aborts on bad input.
 */
#ifndef CORTEX_CORE_H
#define CORTEX_CORE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CX_VERSION_STRING "0.1.0"

/* Marks the library's public functions and data: libcortex.so is built with
 * hidden visibility and exports exactly what the headers declare with it
 * (tests/e2e_exports.sh checks), so private helpers never become ABI. */
#if defined(__GNUC__) || defined(__clang__)
#define CX_API __attribute__((visibility("default")))
#else
#define CX_API
#endif

typedef enum cx_status {
    CX_OK = 0,
    CX_ERR_ARG = 1,    /* bad argument or specification */
    CX_ERR_NOMEM = 2,  /* allocation failed */
    CX_ERR_IO = 3,     /* file could not be opened, read or written */
    CX_ERR_FORMAT = 4, /* file contents are corrupt, truncated or unsupported */
    CX_ERR_SHAPE = 5,  /* tensor shapes do not agree */
    CX_ERR_STATE = 6,  /* call made in the wrong state */
    CX_ERR_INTERRUPTED = 7,
} cx_status;

typedef struct cx_error {
    char msg[256];
} cx_error;

/* Formats a message into err (if err is non-NULL) and returns status. */
CX_API cx_status cx_fail(cx_error *err, cx_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A short name for a status code ("format error", ...). */
CX_API const char *cx_status_name(cx_status status);

/* Deterministic random numbers (xoshiro128**, seeded by splitmix64). One
 * generator per training run makes runs reproducible from the seed. */
typedef struct cx_rng {
    uint32_t s[4];
} cx_rng;

CX_API void cx_rng_seed(cx_rng *rng, uint64_t seed);
CX_API uint32_t cx_rng_u32(cx_rng *rng);
CX_API float cx_rng_uniform(cx_rng *rng);               /* [0, 1) */
CX_API float cx_rng_normal(cx_rng *rng);                /* mean 0, sd 1 */
CX_API uint32_t cx_rng_below(cx_rng *rng, uint32_t n);  /* [0, n), n > 0 */
CX_API void cx_rng_shuffle(cx_rng *rng, int *v, int n); /* Fisher-Yates */

/* 64-bit FNV-1a hash of a string: stable across runs and machines, used for
 * deterministic dataset splits. */
CX_API uint64_t cx_hash_string(const char *s);

/* Splits a comma-separated list ("george,espeak-en-us") into a
 * NULL-terminated array of copies of its items, empty items dropped; *n (if
 * n is non-NULL) gets the count. NULL when out of memory. Freed with
 * cx_strlist_free (which takes NULL). */
CX_API char **cx_strlist_split(const char *s, int *n);
CX_API void cx_strlist_free(char **v);

/* The library's thread budget. n <= 0 means all cores (in an MPI job with
 * several processes on one machine, give each its share: the cores over
 * cx_comm_local_size(), as the programs do). Training and
 * evaluation (cx_train, cx_evaluate) split each batch between n threads of
 * the library's own, each running single-threaded OpenBLAS calls on its
 * share (idle threads sleep); everything else, such as batch-1
 * classification and streaming, is one sample at a time and gives OpenBLAS
 * the n threads. */
CX_API void cx_set_threads(int n);
CX_API int cx_get_threads(void);

/* Wall-clock seconds from a monotonic clock. */
CX_API double cx_now(void);

#ifdef __cplusplus
}
#endif
#endif
