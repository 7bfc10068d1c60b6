/* Helpers shared by the dataset loaders: see data_util.h. */
#include "data_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cx_warn(int *n, char ***msgs, long long *total, size_t len, const char *fmt, ...)
{
    (*total)++;
    if (*n >= CX_DATASET_MAX_WARNINGS) return 0;
    if (!*msgs) {
        *msgs = calloc(CX_DATASET_MAX_WARNINGS, sizeof(char *));
        if (!*msgs) return -1;
    }
    char buf[CX_SPEECH_WARNING_LEN]; /* the longer of the two */
    if (len > sizeof buf) len = sizeof buf;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
    char *s = cx_strdup(buf);
    if (!s) return -1;
    (*msgs)[(*n)++] = s;
    return 0;
}

char *cx_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

int cx_path_join_buf(char *out, size_t size, const char *dir, const char *name)
{
    size_t ld = strlen(dir), ln = strlen(name);
    if (ld + ln + 2 > size) return -1;
    memcpy(out, dir, ld);
    out[ld] = '/';
    memcpy(out + ld + 1, name, ln + 1);
    return 0;
}

char *cx_path_join(const char *dir, const char *name)
{
    size_t size = strlen(dir) + strlen(name) + 2;
    char *s = malloc(size);
    if (s) cx_path_join_buf(s, size, dir, name);
    return s;
}

int cx_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void cx_free_names(char **v, int n)
{
    if (!v) return;
    for (int i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

uint64_t cx_fmix64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

uint32_t cx_split_bucket(const char *name, uint64_t seed)
{
    return (uint32_t)(cx_fmix64(cx_hash_string(name) ^ seed) % CX_SPLIT_BUCKETS);
}

uint32_t cx_split_buckets_of(double fraction)
{
    /* Rounded so that 0.1f means exactly buckets 0..999. */
    return fraction <= 0   ? 0
           : fraction >= 1 ? CX_SPLIT_BUCKETS
                           : (uint32_t)(fraction * CX_SPLIT_BUCKETS + 0.5);
}
