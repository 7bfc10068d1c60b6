/* Binary PNM (P5 gray, P6 RGB) decoding. stb_image 2.27 mishandles these
 * files: 16-bit samples are read in the wrong byte order and converted with
 * the 8-bit routine, a maxval below 255 is not rescaled, and missing pixel
 * data leaves the output uninitialized. This decoder checks the length and
 * scales every maxval (1..65535) to 0..255. */
#include <stdlib.h>
#include <string.h>

#include "image_util.h"

int cx_pnm_detect(const uint8_t *d, size_t len)
{
    return len >= 2 && d[0] == 'P' && (d[1] == '5' || d[1] == '6');
}

static int is_space(uint8_t c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Skips whitespace and '#' comments, then reads a decimal number. */
static int read_number(const uint8_t *d, size_t len, size_t *p, long *out)
{
    for (;;) {
        while (*p < len && is_space(d[*p]))
            (*p)++;
        if (*p < len && d[*p] == '#') {
            while (*p < len && d[*p] != '\n' && d[*p] != '\r')
                (*p)++;
            continue;
        }
        break;
    }
    if (*p >= len || d[*p] < '0' || d[*p] > '9') return 0;
    long v = 0;
    while (*p < len && d[*p] >= '0' && d[*p] <= '9') {
        v = v * 10 + (d[*p] - '0');
        if (v > 1000000000L) return 0;
        (*p)++;
    }
    *out = v;
    return 1;
}

cx_status cx_pnm_header(const uint8_t *d, size_t len, const char *name, cx_pnm *h, cx_error *err)
{
    if (!cx_pnm_detect(d, len)) return cx_fail(err, CX_ERR_FORMAT, "%s: not a binary PNM", name);
    size_t p = 2;
    long w, hh, maxval;
    if (!read_number(d, len, &p, &w) || !read_number(d, len, &p, &hh) ||
        !read_number(d, len, &p, &maxval))
        return cx_fail(err, CX_ERR_FORMAT, "%s: corrupt PNM header (width, height, maxval)", name);
    if (p >= len || !is_space(d[p]))
        return cx_fail(err, CX_ERR_FORMAT, "%s: corrupt PNM header (no whitespace after maxval)",
                       name);
    if (w < 1 || hh < 1)
        return cx_fail(err, CX_ERR_FORMAT, "%s: declared size %ldx%ld is empty", name, w, hh);
    if (maxval < 1 || maxval > 65535)
        return cx_fail(err, CX_ERR_FORMAT, "%s: PNM maxval %ld, expected 1..65535", name, maxval);
    h->width = w;
    h->height = hh;
    h->channels = d[1] == '5' ? 1 : 3;
    h->maxval = (int)maxval;
    h->offset = p + 1;
    return CX_OK;
}

cx_status cx_pnm_decode_rgba(const uint8_t *d, size_t len, const char *name, const cx_pnm *h,
                             uint8_t **out, cx_error *err)
{
    *out = NULL;
    size_t npix = (size_t)h->width * (size_t)h->height;
    size_t bps = h->maxval > 255 ? 2 : 1, need = npix * (size_t)h->channels * bps;
    if (len - h->offset < need)
        return cx_fail(err, CX_ERR_FORMAT,
                       "%s: truncated PNM: %zu bytes of pixel data, expected %zu", name,
                       len - h->offset, need);
    uint8_t *px = malloc(npix * 4);
    if (!px) return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory decoding %zu pixels", name, npix);
    const uint8_t *s = d + h->offset;
    unsigned maxval = (unsigned)h->maxval;
    for (size_t i = 0; i < npix; i++) {
        uint8_t v[3] = {0, 0, 0};
        for (int c = 0; c < h->channels; c++) {
            unsigned x = bps == 2 ? (unsigned)s[0] << 8 | s[1] : s[0];
            s += bps;
            if (x > maxval) x = maxval; /* out-of-range samples are clamped */
            v[c] = (uint8_t)((x * 255u + maxval / 2) / maxval);
        }
        if (h->channels == 1) v[1] = v[2] = v[0];
        px[4 * i] = v[0];
        px[4 * i + 1] = v[1];
        px[4 * i + 2] = v[2];
        px[4 * i + 3] = 255;
    }
    *out = px;
    return CX_OK;
}
