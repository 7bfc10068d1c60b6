/* Private: short vector loops for the image layers, written with GCC/Clang
 * vector extensions because -O2 does not vectorize loops of unknown length.
 * The vector type is unaligned and may alias float, so any float pointer
 * can be used. */
#ifndef CORTEX_VEC_H
#define CORTEX_VEC_H

typedef float cx_vf8 __attribute__((vector_size(32), aligned(4), may_alias));

static inline cx_vf8 cx_vf8_set1(float v)
{
    return (cx_vf8){v, v, v, v, v, v, v, v};
}

/* dst[i] += src[i] */
static inline void cx_vec_add(float *restrict dst, const float *restrict src, int n)
{
    int i = 0;
    for (; i + 8 <= n; i += 8)
        *(cx_vf8 *)(dst + i) += *(const cx_vf8 *)(src + i);
    for (; i < n; i++)
        dst[i] += src[i];
}

/* dst[i] = v */
static inline void cx_vec_fill(float *restrict dst, float v, int n)
{
    cx_vf8 vv = cx_vf8_set1(v);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        *(cx_vf8 *)(dst + i) = vv;
    for (; i < n; i++)
        dst[i] = v;
}

/* dst[i] = src[i] + v */
static inline void cx_vec_add_scalar(float *restrict dst, const float *restrict src, float v, int n)
{
    cx_vf8 vv = cx_vf8_set1(v);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        *(cx_vf8 *)(dst + i) = *(const cx_vf8 *)(src + i) + vv;
    for (; i < n; i++)
        dst[i] = src[i] + v;
}

/* dst[i] += a * src[i] */
static inline void cx_vec_axpy(float *restrict dst, float a, const float *restrict src, int n)
{
    cx_vf8 va = cx_vf8_set1(a);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        *(cx_vf8 *)(dst + i) += va * *(const cx_vf8 *)(src + i);
    for (; i < n; i++)
        dst[i] += a * src[i];
}

/* sum_i a[i] b[i], in eight partial sums */
static inline float cx_vec_dot(const float *a, const float *b, int n)
{
    cx_vf8 acc = cx_vf8_set1(0.0f);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        acc += *(const cx_vf8 *)(a + i) * *(const cx_vf8 *)(b + i);
    float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; i < n; i++)
        s += a[i] * b[i];
    return s;
}

/* sum_i a[i], in eight partial sums */
static inline float cx_vec_sum(const float *a, int n)
{
    cx_vf8 acc = cx_vf8_set1(0.0f);
    int i = 0;
    for (; i + 8 <= n; i += 8)
        acc += *(const cx_vf8 *)(a + i);
    float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; i < n; i++)
        s += a[i];
    return s;
}

#endif
