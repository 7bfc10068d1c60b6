/* Cortex tensors: float32, row-major, batch first.
 *
 * Layouts:
 *   images     NCHW  (batch, channels, height, width)
 *   sequences  NTF   (batch, time, features)
 *   vectors    NF    (batch, features)
 *
 * A cx_shape describes ONE sample (the batch dimension is implicit and is
 * passed separately as n), so a layer's shapes do not change with the batch
 * size: (C,H,W) for images, (T,F) for sequences, (F) for vectors.
 */
#ifndef CORTEX_TENSOR_H
#define CORTEX_TENSOR_H

#include "cortex/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CX_MAX_DIMS 4

typedef struct cx_shape {
    int ndim;           /* 1 (F), 2 (T,F) or 3 (C,H,W) */
    int d[CX_MAX_DIMS]; /* sizes, d[0] outermost */
} cx_shape;

CX_API cx_shape cx_shape1(int f);
CX_API cx_shape cx_shape2(int t, int f);
CX_API cx_shape cx_shape3(int c, int h, int w);
CX_API size_t cx_shape_size(const cx_shape *s); /* product of dims */
CX_API int cx_shape_equal(const cx_shape *a, const cx_shape *b);
/* "3x28x28"; buf must hold at least 48 bytes. */
CX_API const char *cx_shape_str(const cx_shape *s, char *buf, size_t len);

/* A batch of samples: n samples of shape s, contiguous. */
typedef struct cx_tensor {
    int n;
    cx_shape s;
    float *data;
    size_t capacity; /* floats allocated */
} cx_tensor;

CX_API cx_status cx_tensor_alloc(cx_tensor *t, int n, const cx_shape *s, cx_error *err);
CX_API void cx_tensor_free(cx_tensor *t);
CX_API size_t cx_tensor_size(const cx_tensor *t);

/* Aligned allocation (64 bytes) for float buffers; zeroed. NULL on failure
 * or on a size that overflows. */
CX_API float *cx_alloc_floats(size_t n);
CX_API void cx_free_floats(float *p);

#ifdef __cplusplus
}
#endif
#endif
