/* Training-time augmentation of normalized float CHW images, in place:
 * random crop with zero padding (a shift), horizontal flip, random erasing.
 * The exact rules are in data.h. */
#include "cortex/data.h"

#include <math.h>
#include <string.h>

void cx_augment_init(cx_augment *a)
{
    memset(a, 0, sizeof *a);
    a->erase_area_min = 0.02f;
    a->erase_area_max = 0.25f;
    a->erase_aspect_min = 0.3f;
    a->erase_aspect_max = 3.3f;
    a->erase_fill = CX_ERASE_ZERO;
}

cx_status cx_augment_check(const cx_augment *a, int h, int w, cx_error *err)
{
    int side = h < w ? h : w;
    if (h < 1 || w < 1) return cx_fail(err, CX_ERR_ARG, "augment: image size %dx%d", w, h);
    if (a->crop_pad < 0 || a->crop_pad >= side)
        return cx_fail(err, CX_ERR_ARG, "augment: crop_pad %d must be within 0..%d", a->crop_pad,
                       side - 1);
    if (!(a->erase_prob >= 0.0f && a->erase_prob <= 1.0f))
        return cx_fail(err, CX_ERR_ARG, "augment: erase_prob %g must be within [0, 1]",
                       (double)a->erase_prob);
    if (!(a->erase_area_min > 0.0f && a->erase_area_min <= a->erase_area_max &&
          a->erase_area_max <= 1.0f))
        return cx_fail(err, CX_ERR_ARG,
                       "augment: erase area fractions [%g, %g] must satisfy 0 < min <= max <= 1",
                       (double)a->erase_area_min, (double)a->erase_area_max);
    if (!(a->erase_aspect_min > 0.0f && a->erase_aspect_min <= a->erase_aspect_max &&
          isfinite(a->erase_aspect_max)))
        return cx_fail(err, CX_ERR_ARG,
                       "augment: erase aspect ratios [%g, %g] must satisfy 0 < min <= max",
                       (double)a->erase_aspect_min, (double)a->erase_aspect_max);
    if (a->erase_fill != CX_ERASE_ZERO && a->erase_fill != CX_ERASE_RANDOM)
        return cx_fail(err, CX_ERR_ARG, "augment: unknown erase_fill %d", (int)a->erase_fill);
    return CX_OK;
}

/* dst[x] = src[x + dx] where 0 <= x + dx < w, else 0. dst and src are rows
 * of w floats, possibly the same row. */
static void shift_row(float *dst, const float *src, int w, int dx)
{
    if (dx >= 0) {
        memmove(dst, src + dx, sizeof(float) * (size_t)(w - dx));
        memset(dst + w - dx, 0, sizeof(float) * (size_t)dx);
    } else {
        memmove(dst - dx, src, sizeof(float) * (size_t)(w + dx));
        memset(dst, 0, sizeof(float) * (size_t)(-dx));
    }
}

/* img (C,H,W): out(y, x) = in(y + dy, x + dx), zero outside. In place: rows
 * are visited in the order that reads each source row before it is
 * overwritten. */
void cx_image_shift(float *img, int c, int h, int w, int dy, int dx)
{
    size_t plane = (size_t)h * w;
    if (dy >= h || dy <= -h || dx >= w || dx <= -w) {
        memset(img, 0, sizeof(float) * plane * (size_t)c);
        return;
    }
    if (dy == 0 && dx == 0) return;
    for (int ch = 0; ch < c; ch++) {
        float *p = img + plane * ch;
        for (int k = 0; k < h; k++) {
            int y = dy >= 0 ? k : h - 1 - k, sy = y + dy;
            float *row = p + (size_t)y * w;
            if (sy < 0 || sy >= h)
                memset(row, 0, sizeof(float) * (size_t)w);
            else
                shift_row(row, p + (size_t)sy * w, w, dx);
        }
    }
}

/* img (C,H,W): out(y, x) = in(y, w - 1 - x). */
void cx_image_flip_h(float *img, int c, int h, int w)
{
    for (size_t r = 0; r < (size_t)c * h; r++) {
        float *row = img + r * w;
        for (int i = 0, j = w - 1; i < j; i++, j--) {
            float t = row[i];
            row[i] = row[j];
            row[j] = t;
        }
    }
}

void cx_image_erase(float *img, int c, int h, int w, int y0, int x0, int eh, int ew, float value,
                    cx_rng *rng)
{
    int y1 = y0 + eh, x1 = x0 + ew;
    if (y0 < 0) y0 = 0;
    if (x0 < 0) x0 = 0;
    if (y1 > h) y1 = h;
    if (x1 > w) x1 = w;
    for (int ch = 0; ch < c; ch++)
        for (int y = y0; y < y1; y++) {
            float *row = img + ((size_t)ch * h + y) * w;
            for (int x = x0; x < x1; x++)
                row[x] = rng ? cx_rng_normal(rng) : value;
        }
}

static float clampf(float v, float lo, float hi)
{
    if (!(v >= lo)) return lo; /* NaN goes low */
    return v > hi ? hi : v;
}

/* Random erasing: up to 10 tries for a rectangle that fits (see data.h). */
static void random_erase(const cx_augment *a, float *img, int c, int h, int w, cx_rng *rng)
{
    float amin = clampf(a->erase_area_min, 1e-6f, 1.0f),
          amax = clampf(a->erase_area_max, amin, 1.0f);
    float rmin = clampf(a->erase_aspect_min, 1e-3f, 1e3f);
    float rmax = clampf(a->erase_aspect_max, rmin, 1e3f);
    double lmin = log(rmin), lmax = log(rmax), area = (double)h * w;
    for (int t = 0; t < 10; t++) {
        double target = area * (amin + (amax - amin) * cx_rng_uniform(rng));
        double aspect = exp(lmin + (lmax - lmin) * cx_rng_uniform(rng));
        int eh = (int)floor(sqrt(target * aspect)), ew = (int)floor(sqrt(target / aspect));
        if (eh < 1 || ew < 1 || eh >= h || ew >= w) continue;
        int y0 = (int)cx_rng_below(rng, (uint32_t)(h - eh + 1));
        int x0 = (int)cx_rng_below(rng, (uint32_t)(w - ew + 1));
        cx_image_erase(img, c, h, w, y0, x0, eh, ew, 0.0f,
                       a->erase_fill == CX_ERASE_RANDOM ? rng : NULL);
        return;
    }
}

void cx_augment_image(const cx_augment *a, float *img, int c, int h, int w, cx_rng *rng)
{
    if (!a || !img || c < 1 || h < 1 || w < 1) return;
    int pad = a->crop_pad < 0 ? 0 : a->crop_pad;
    if (pad > h && pad > w) pad = h > w ? h : w; /* larger pads only give empty images */
    if (pad > 0) {
        int dy = (int)cx_rng_below(rng, (uint32_t)(2 * pad + 1)) - pad;
        int dx = (int)cx_rng_below(rng, (uint32_t)(2 * pad + 1)) - pad;
        cx_image_shift(img, c, h, w, dy, dx);
    }
    if (a->flip && cx_rng_uniform(rng) < 0.5f) cx_image_flip_h(img, c, h, w);
    float p = clampf(a->erase_prob, 0.0f, 1.0f);
    if (p > 0.0f && cx_rng_uniform(rng) < p) random_erase(a, img, c, h, w, rng);
}

void cx_augment_batch(const cx_augment *a, float *x, int n, int c, int h, int w, cx_rng *rng)
{
    size_t item = (size_t)c * h * w;
    for (int i = 0; i < n; i++)
        cx_augment_image(a, x + item * i, c, h, w, rng);
}
