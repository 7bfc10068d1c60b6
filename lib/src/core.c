#define _POSIX_C_SOURCE 200809L
#include "cortex/core.h"

#include <cblas.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

cx_status cx_fail(cx_error *err, cx_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}

const char *cx_status_name(cx_status status)
{
    switch (status) {
    case CX_OK:
        return "ok";
    case CX_ERR_ARG:
        return "invalid argument";
    case CX_ERR_NOMEM:
        return "out of memory";
    case CX_ERR_IO:
        return "I/O error";
    case CX_ERR_FORMAT:
        return "format error";
    case CX_ERR_SHAPE:
        return "shape mismatch";
    case CX_ERR_STATE:
        return "invalid state";
    case CX_ERR_INTERRUPTED:
        return "interrupted";
    }
    return "unknown error";
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void cx_rng_seed(cx_rng *rng, uint64_t seed)
{
    uint64_t a = splitmix64(&seed), b = splitmix64(&seed);
    rng->s[0] = (uint32_t)a;
    rng->s[1] = (uint32_t)(a >> 32);
    rng->s[2] = (uint32_t)b;
    rng->s[3] = (uint32_t)(b >> 32);
    if (!(rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3])) rng->s[0] = 1;
}

static inline uint32_t rotl(uint32_t x, int k)
{
    return (x << k) | (x >> (32 - k));
}

uint32_t cx_rng_u32(cx_rng *rng)
{
    uint32_t *s = rng->s;
    uint32_t result = rotl(s[1] * 5, 7) * 9;
    uint32_t t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
}

float cx_rng_uniform(cx_rng *rng)
{
    return (float)(cx_rng_u32(rng) >> 8) * (1.0f / 16777216.0f);
}

float cx_rng_normal(cx_rng *rng)
{
    /* Box-Muller; u1 in (0, 1] so the log is finite. */
    float u1 = 1.0f - cx_rng_uniform(rng);
    float u2 = cx_rng_uniform(rng);
    return sqrtf(-2.0f * logf(u1)) * cosf(6.28318530718f * u2);
}

uint32_t cx_rng_below(cx_rng *rng, uint32_t n)
{
    /* Lemire's multiply-shift; the tiny bias is irrelevant for shuffling. */
    return (uint32_t)(((uint64_t)cx_rng_u32(rng) * n) >> 32);
}

void cx_rng_shuffle(cx_rng *rng, int *v, int n)
{
    for (int i = n - 1; i > 0; i--) {
        int j = (int)cx_rng_below(rng, (uint32_t)(i + 1));
        int t = v[i];
        v[i] = v[j];
        v[j] = t;
    }
}

uint64_t cx_hash_string(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

char **cx_strlist_split(const char *s, int *n)
{
    int count = 0;
    if (n) *n = 0;
    if (!s) s = "";
    size_t cap = 1;
    for (const char *p = s; *p; p++)
        cap += *p == ',';
    char **v = calloc(cap + 1, sizeof *v);
    if (!v) return NULL;
    for (const char *p = s;;) {
        size_t len = strcspn(p, ",");
        if (len) {
            if (!(v[count] = malloc(len + 1))) {
                cx_strlist_free(v);
                return NULL;
            }
            memcpy(v[count], p, len);
            v[count++][len] = '\0';
        }
        if (!p[len]) break;
        p += len + 1;
    }
    if (n) *n = count;
    return v;
}

void cx_strlist_free(char **v)
{
    if (!v) return;
    for (char **p = v; *p; p++)
        free(*p);
    free(v);
}

static int g_threads;

void cx_set_threads(int n)
{
    if (n <= 0) {
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)c : 1;
    }
    g_threads = n;
    openblas_set_num_threads(n);
}

int cx_get_threads(void)
{
    if (g_threads <= 0) return openblas_get_num_threads();
    return g_threads;
}

double cx_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
