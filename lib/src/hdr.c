/* Radiance HDR (RGBE) decoding, tone-mapped to 8 bits the way stb_image
 * does it (v' = clamp(255 * v^(1/2.2) + 0.5)). stb_image 2.27 loops forever
 * on a run-length count of zero, which a hostile or truncated file can
 * hold, so HDR files are decoded here with every count and length checked. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image_util.h"

static int starts_with(const uint8_t *d, size_t len, const char *s)
{
    size_t n = strlen(s);
    return len >= n && memcmp(d, s, n) == 0;
}

int cx_hdr_detect(const uint8_t *d, size_t len)
{
    return starts_with(d, len, "#?RADIANCE\n") || starts_with(d, len, "#?RGBE\n");
}

/* The line starting at *p (without its '\n'); 0 at the end of data. */
static int next_line(const uint8_t *d, size_t len, size_t *p, const uint8_t **line, size_t *n)
{
    if (*p >= len) return 0;
    const uint8_t *nl = memchr(d + *p, '\n', len - *p);
    if (!nl) return 0;
    *line = d + *p;
    *n = (size_t)(nl - (d + *p));
    *p += *n + 1;
    return 1;
}

static int parse_dim(const uint8_t **s, const uint8_t *end, const char *tag, long *out)
{
    size_t n = strlen(tag);
    if ((size_t)(end - *s) < n || memcmp(*s, tag, n) != 0) return 0;
    *s += n;
    long v = 0;
    if (*s >= end || **s < '0' || **s > '9') return 0;
    while (*s < end && **s >= '0' && **s <= '9') {
        v = v * 10 + (**s - '0');
        if (v > 1000000000L) return 0;
        (*s)++;
    }
    *out = v;
    return 1;
}

cx_status cx_hdr_header(const uint8_t *d, size_t len, const char *name, cx_hdr *h, cx_error *err)
{
    size_t p = 0, n;
    const uint8_t *line;
    int format_ok = 0;
    if (!cx_hdr_detect(d, len) || !next_line(d, len, &p, &line, &n))
        return cx_fail(err, CX_ERR_FORMAT, "%s: not a Radiance HDR file", name);
    for (;;) {
        if (!next_line(d, len, &p, &line, &n))
            return cx_fail(err, CX_ERR_FORMAT, "%s: truncated HDR header", name);
        if (n == 0) break;
        static const char fmt[] = "FORMAT=32-bit_rle_rgbe";
        if (n == sizeof fmt - 1 && memcmp(line, fmt, n) == 0) format_ok = 1;
    }
    if (!format_ok)
        return cx_fail(err, CX_ERR_FORMAT, "%s: HDR format is not 32-bit_rle_rgbe", name);
    if (!next_line(d, len, &p, &line, &n))
        return cx_fail(err, CX_ERR_FORMAT, "%s: truncated HDR header (no resolution line)", name);
    const uint8_t *s = line, *end = line + n;
    long hh, w;
    if (!parse_dim(&s, end, "-Y ", &hh) || !parse_dim(&s, end, " +X ", &w) || s != end)
        return cx_fail(err, CX_ERR_FORMAT, "%s: HDR resolution line is not \"-Y <h> +X <w>\"",
                       name);
    if (w < 1 || hh < 1)
        return cx_fail(err, CX_ERR_FORMAT, "%s: declared size %ldx%ld is empty", name, w, hh);
    h->width = w;
    h->height = hh;
    h->offset = p;
    return CX_OK;
}

/* RGBE to 8-bit RGBA: v = m * 2^(e - 136), then gamma 1/2.2 and clamp. */
static void rgbe_to_rgba(const uint8_t *rgbe, uint8_t *out)
{
    for (int k = 0; k < 3; k++) {
        float v = rgbe[3] ? (float)ldexp(rgbe[k], rgbe[3] - 136) : 0.0f;
        float z = powf(v, 1.0f / 2.2f) * 255.0f + 0.5f;
        out[k] = (uint8_t)(z < 0.0f ? 0.0f : z > 255.0f ? 255.0f : z);
    }
    out[3] = 255;
}

/* One run-length encoded scanline (after its 4-byte marker) into line
 * (w RGBE pixels). Returns 0 on corrupt or missing data. */
static int rle_scanline(const uint8_t *d, size_t len, size_t *p, long w, uint8_t *line)
{
    for (int k = 0; k < 4; k++) {
        long i = 0;
        while (i < w) {
            if (*p >= len) return 0;
            unsigned count = d[(*p)++];
            if (count > 128) {
                count -= 128;
                if ((long)count > w - i || *p >= len) return 0;
                uint8_t v = d[(*p)++];
                for (unsigned z = 0; z < count; z++)
                    line[4 * i++ + k] = v;
            } else {
                if (count == 0 || (long)count > w - i || len - *p < count) return 0;
                for (unsigned z = 0; z < count; z++)
                    line[4 * i++ + k] = d[(*p)++];
            }
        }
    }
    return 1;
}

cx_status cx_hdr_decode_rgba(const uint8_t *d, size_t len, const char *name, const cx_hdr *h,
                             uint8_t **out, cx_error *err)
{
    *out = NULL;
    long w = h->width;
    size_t npix = (size_t)w * (size_t)h->height, p = h->offset;
    uint8_t *px = malloc(npix * 4), *line = malloc((size_t)w * 4);
    if (!px || !line) {
        free(px);
        free(line);
        return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory decoding %zu pixels", name, npix);
    }
    /* As in the format's reference reader: scanlines are run-length
     * encoded when the width allows it and the first one starts with the
     * marker 2, 2, w >> 8, w & 255; otherwise all pixels are flat RGBE. */
    int rle =
        w >= 8 && w < 32768 && len - p >= 4 && d[p] == 2 && d[p + 1] == 2 && !(d[p + 2] & 0x80);
    cx_status st = CX_OK;
    if (!rle) {
        if ((len - p) / 4 < npix)
            st = cx_fail(err, CX_ERR_FORMAT,
                         "%s: truncated HDR: %zu bytes of pixel data, expected %zu", name, len - p,
                         4 * npix);
        for (size_t i = 0; !st && i < npix; i++)
            rgbe_to_rgba(d + p + 4 * i, px + 4 * i);
    }
    for (long y = 0; rle && !st && y < h->height; y++) {
        if (len - p < 4 || d[p] != 2 || d[p + 1] != 2 || ((long)d[p + 2] << 8 | d[p + 3]) != w) {
            st = cx_fail(err, CX_ERR_FORMAT, "%s: corrupt or truncated HDR scanline %ld", name, y);
            break;
        }
        p += 4;
        if (!rle_scanline(d, len, &p, w, line)) {
            st = cx_fail(err, CX_ERR_FORMAT,
                         "%s: corrupt or truncated HDR run data in scanline %ld", name, y);
            break;
        }
        for (long x = 0; x < w; x++)
            rgbe_to_rgba(line + 4 * x, px + 4 * ((size_t)y * w + x));
    }
    free(line);
    if (st) {
        free(px);
        return st;
    }
    *out = px;
    return CX_OK;
}
