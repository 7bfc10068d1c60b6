#define _POSIX_C_SOURCE 200809L
#include "cortex/tensor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

cx_shape cx_shape1(int f)
{
    return (cx_shape){1, {f, 0, 0, 0}};
}
cx_shape cx_shape2(int t, int f)
{
    return (cx_shape){2, {t, f, 0, 0}};
}
cx_shape cx_shape3(int c, int h, int w)
{
    return (cx_shape){3, {c, h, w, 0}};
}

size_t cx_shape_size(const cx_shape *s)
{
    size_t n = 1;
    for (int i = 0; i < s->ndim; i++)
        n *= (size_t)(s->d[i] > 0 ? s->d[i] : 0);
    return n;
}

int cx_shape_equal(const cx_shape *a, const cx_shape *b)
{
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->d[i] != b->d[i]) return 0;
    return 1;
}

const char *cx_shape_str(const cx_shape *s, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < s->ndim && used < len; i++) {
        int w = snprintf(buf + used, len - used, i ? "x%d" : "%d", s->d[i]);
        if (w < 0) break;
        used += (size_t)w;
    }
    return buf;
}

float *cx_alloc_floats(size_t n)
{
    if (n == 0) n = 1;
    if (n > SIZE_MAX / sizeof(float) - 64) return NULL;
    size_t bytes = (n * sizeof(float) + 63) & ~(size_t)63;
    void *p = NULL;
    if (posix_memalign(&p, 64, bytes) != 0) return NULL;
    memset(p, 0, bytes);
    return p;
}

void cx_free_floats(float *p)
{
    free(p);
}

cx_status cx_tensor_alloc(cx_tensor *t, int n, const cx_shape *s, cx_error *err)
{
    size_t per = cx_shape_size(s);
    if (n <= 0 || per == 0) return cx_fail(err, CX_ERR_ARG, "tensor: empty shape");
    if (per > SIZE_MAX / 4 / (size_t)n) return cx_fail(err, CX_ERR_NOMEM, "tensor: size overflows");
    t->data = cx_alloc_floats(per * (size_t)n);
    if (!t->data) return cx_fail(err, CX_ERR_NOMEM, "tensor: out of memory (%zu floats)", per * n);
    t->n = n;
    t->s = *s;
    t->capacity = per * (size_t)n;
    return CX_OK;
}

void cx_tensor_free(cx_tensor *t)
{
    if (!t) return;
    cx_free_floats(t->data);
    t->data = NULL;
    t->capacity = 0;
}

size_t cx_tensor_size(const cx_tensor *t)
{
    return (size_t)t->n * cx_shape_size(&t->s);
}
