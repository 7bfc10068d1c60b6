/* Shared test helpers: CUnit registration and numerical checks. */
#ifndef CX_TESTUTIL_H
#define CX_TESTUTIL_H

#include <CUnit/Basic.h>

#include "cortex/cortex.h"

/* Registers tests (NULL-terminated {name, fn} pairs) in one suite and runs
 * them with the basic interface; returns the process exit code. */
typedef struct {
    const char *name;
    void (*fn)(void);
} cx_test;
int cx_test_main(const char *suite, const cx_test *tests);

/* Finite-difference gradient check of a model built from spec:
 * loss = sum(y * r) for fixed random r; compares the analytic input and
 * parameter gradients with central differences (eps) on up to `samples`
 * entries per tensor. Dropout masks are held fixed by reseeding. Returns the
 * number of mismatches and prints the first few. */
int cx_gradcheck(const char *spec, int n, int training, uint64_t seed, float eps, int samples);

/* Fills v with uniform values in [lo, hi). */
void cx_fill_uniform(float *v, size_t n, float lo, float hi, cx_rng *rng);

/* max |a - b| / (atol + |b|) style comparison: returns the worst relative
 * error max |a-b| / max(|b|, floor). */
double cx_max_rel_err(const float *a, const float *b, size_t n, double floor);

/* Reads a little-endian float32 fixture file of exactly n floats. */
int cx_read_fixture(const char *name, float *out, size_t n);

#endif
