/* The machine's own limit: OpenBLAS's sgemm rate, so that other figures
 * read as a fraction of what the hardware gives. Square products of size
 * N (default 1024) at each thread count given (default 1 and every core),
 * best of five runs each, in GFLOP/s.
 *
 * Usage: bench_sgemm [N [THREADS...]]
 */
#include <stdio.h>
#include <stdlib.h>

#include "cortex/cortex.h"

#include <cblas.h>

static double rate(int n, int threads, const float *a, const float *b, float *c)
{
    cx_set_threads(threads);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c, n);
    double best = 0.0;
    for (int r = 0; r < 5; r++) {
        int reps = 0;
        double t0 = cx_now(), t = t0;
        while (t - t0 < 0.2) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f,
                        c, n);
            reps++;
            t = cx_now();
        }
        double g = 2.0 * n * n * (double)n * reps / (t - t0) / 1e9;
        best = g > best ? g : best;
    }
    return best;
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 1024;
    if (n < 16 || n > 8192) {
        fprintf(stderr, "usage: bench_sgemm [N (16..8192) [THREADS...]]\n");
        return 2;
    }
    size_t nn = (size_t)n * n;
    float *a = cx_alloc_floats(nn), *b = cx_alloc_floats(nn), *c = cx_alloc_floats(nn);
    if (!a || !b || !c) {
        fprintf(stderr, "bench_sgemm: out of memory\n");
        return 1;
    }
    for (size_t i = 0; i < nn; i++) {
        a[i] = (float)(i % 7) * 0.1f;
        b[i] = (float)(i % 5) * 0.1f;
    }
    int counts[16], k = 0;
    for (int i = 2; i < argc && k < 16; i++)
        if (atoi(argv[i]) > 0) counts[k++] = atoi(argv[i]);
    if (k == 0) {
        counts[k++] = 1;
        cx_set_threads(0);
        if (cx_get_threads() > 1) counts[k++] = cx_get_threads();
    }
    for (int i = 0; i < k; i++)
        printf("sgemm %dx%dx%d, %d thread%s: %.1f GFLOP/s\n", n, n, n, counts[i],
               counts[i] == 1 ? "" : "s", rate(n, counts[i], a, b, c));
    cx_free_floats(a);
    cx_free_floats(b);
    cx_free_floats(c);
    return 0;
}
