/* Antialiased bilinear resizing of uint8 HWC images, the algorithm of PIL's
 * Image.resize(BILINEAR) and PyTorch's F.interpolate(mode="bilinear",
 * antialias=True, align_corners=False).
 *
 * (stb_image_resize 0.97, which Debian builds with assertions enabled,
 * aborts the process on some size ratios with its triangle filter, e.g.
 * 37 -> 16 pixels: nothings/stb issue #1449. A library must not abort.)
 *
 * Per axis, output pixel o (of n_out) covers input centre
 *   c = (o + 0.5) * s,  s = n_in / n_out,
 * with a triangle filter widened to the scale when shrinking:
 *   f = max(s, 1),  w(x) = max(0, 1 - |x + 0.5 - c| / f)
 * for input pixels x in [c - f, c + f) clipped to the image, normalized to
 * sum 1 (so the edges are renormalized, not padded). The image is filtered
 * along one axis into floats, then along the other, and rounded once. */
#include <math.h>
#include <stdlib.h>

#include "image_util.h"

typedef struct axis {
    int *first; /* first input index of each output */
    int *count; /* number of input taps of each output */
    float *w;   /* n_out * taps weights */
    int taps;   /* stride of w */
} axis;

/* Fills a (whose arrays hold n_out entries and n_out * taps weights). */
static void axis_weights(int n_in, int n_out, axis *a)
{
    double scale = (double)n_in / n_out, fscale = scale > 1.0 ? scale : 1.0;
    for (int o = 0; o < n_out; o++) {
        double center = (o + 0.5) * scale;
        int lo = (int)floor(center - fscale + 0.5), hi = (int)floor(center + fscale + 0.5);
        if (lo < 0) lo = 0;
        if (hi > n_in) hi = n_in;
        if (hi - lo > a->taps) hi = lo + a->taps;
        float *w = a->w + (size_t)o * a->taps;
        double total = 0.0;
        for (int x = lo; x < hi; x++) {
            double t = 1.0 - fabs((x + 0.5 - center) / fscale);
            w[x - lo] = t > 0.0 ? (float)t : 0.0f;
            total += w[x - lo];
        }
        /* total > 0: the nearest input pixel is within 0.5 of the centre */
        for (int k = 0; k < hi - lo; k++)
            w[k] = (float)(w[k] / total);
        a->first[o] = lo;
        a->count[o] = hi - lo;
    }
}

static int axis_taps(int n_in, int n_out)
{
    double scale = (double)n_in / n_out, fscale = scale > 1.0 ? scale : 1.0;
    return (int)ceil(2.0 * fscale) + 2;
}

static void *alloc_axis(axis *a, int n_in, int n_out, void *mem)
{
    a->taps = axis_taps(n_in, n_out);
    char *p = mem;
    a->first = (int *)p;
    p += sizeof(int) * (size_t)n_out;
    a->count = (int *)p;
    p += sizeof(int) * (size_t)n_out;
    a->w = (float *)p;
    p += sizeof(float) * (size_t)n_out * a->taps;
    return p;
}

static size_t axis_bytes(int n_in, int n_out)
{
    return (2 * sizeof(int) + sizeof(float) * (size_t)axis_taps(n_in, n_out)) * (size_t)n_out;
}

/* Along rows: dst[y][o][ch] = sum_k w[o][k] * src[y][first[o] + k][ch]
 * (src h x iw x c bytes, dst h x ow x c floats). */
static void rows_u8(const uint8_t *src, int h, int iw, int c, const axis *a, int ow, float *dst)
{
    for (int y = 0; y < h; y++)
        for (int o = 0; o < ow; o++) {
            const float *w = a->w + (size_t)o * a->taps;
            const uint8_t *s = src + ((size_t)y * iw + a->first[o]) * c;
            float *d = dst + ((size_t)y * ow + o) * c;
            for (int ch = 0; ch < c; ch++) {
                float acc = 0.0f;
                for (int k = 0; k < a->count[o]; k++)
                    acc += w[k] * s[k * c + ch];
                d[ch] = acc;
            }
        }
}

/* Along columns: dst[o][i] = sum_k w[o][k] * src[first[o] + k][i] for the
 * row length n = width * c (src rows of bytes, dst rows of floats). */
static void cols_u8(const uint8_t *src, size_t n, const axis *a, int oh, float *dst)
{
    for (int o = 0; o < oh; o++) {
        const float *w = a->w + (size_t)o * a->taps;
        const uint8_t *s = src + (size_t)a->first[o] * n;
        for (size_t i = 0; i < n; i++) {
            float acc = 0.0f;
            for (int k = 0; k < a->count[o]; k++)
                acc += w[k] * s[k * n + i];
            dst[(size_t)o * n + i] = acc;
        }
    }
}

static uint8_t to_u8(float v)
{
    v += 0.5f;
    return (uint8_t)(v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v);
}

/* The same from floats to rounded bytes. */
static void rows_f(const float *src, int h, int iw, int c, const axis *a, int ow, uint8_t *dst)
{
    for (int y = 0; y < h; y++)
        for (int o = 0; o < ow; o++) {
            const float *w = a->w + (size_t)o * a->taps;
            const float *s = src + ((size_t)y * iw + a->first[o]) * c;
            uint8_t *d = dst + ((size_t)y * ow + o) * c;
            for (int ch = 0; ch < c; ch++) {
                float acc = 0.0f;
                for (int k = 0; k < a->count[o]; k++)
                    acc += w[k] * s[k * c + ch];
                d[ch] = to_u8(acc);
            }
        }
}

static void cols_f(const float *src, size_t n, const axis *a, int oh, uint8_t *dst)
{
    for (int o = 0; o < oh; o++) {
        const float *w = a->w + (size_t)o * a->taps;
        const float *s = src + (size_t)a->first[o] * n;
        for (size_t i = 0; i < n; i++) {
            float acc = 0.0f;
            for (int k = 0; k < a->count[o]; k++)
                acc += w[k] * s[k * n + i];
            dst[(size_t)o * n + i] = to_u8(acc);
        }
    }
}

cx_status cx_resize_u8(const uint8_t *in, int iw, int ih, int c, uint8_t *out, int ow, int oh,
                       const char *name, cx_error *err)
{
    /* The intermediate image is ih x ow (rows first) or oh x iw (columns
     * first): take the smaller. */
    int rows_first = (size_t)ih * ow <= (size_t)oh * iw;
    size_t tmp_n = (rows_first ? (size_t)ih * ow : (size_t)oh * iw) * c;
    size_t bytes = axis_bytes(iw, ow) + axis_bytes(ih, oh) + sizeof(float) * tmp_n;
    void *mem = malloc(bytes);
    if (!mem)
        return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory resizing %dx%d to %dx%d", name, iw, ih,
                       ow, oh);
    axis ax, ay;
    void *p = alloc_axis(&ax, iw, ow, mem);
    float *tmp = alloc_axis(&ay, ih, oh, p);
    axis_weights(iw, ow, &ax);
    axis_weights(ih, oh, &ay);
    if (rows_first) {
        rows_u8(in, ih, iw, c, &ax, ow, tmp);
        cols_f(tmp, (size_t)ow * c, &ay, oh, out);
    } else {
        cols_u8(in, (size_t)iw * c, &ay, oh, tmp);
        rows_f(tmp, oh, iw, c, &ax, ow, out);
    }
    free(mem);
    return CX_OK;
}
