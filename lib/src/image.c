/* Image files to fixed-size CHW uint8 arrays: reading with a size cap,
 * header check against decompression bombs, decoding on a memory budget
 * (libpng, libjpeg-turbo, stb_image for the rest, Cortex's own PNM and HDR
 * readers), channel conversion and resampling (resize.c). The rules are in image.h. */
#include "cortex/image.h"

#include <errno.h>
#include <inttypes.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image_util.h"

cx_status cx_read_file_buf(const char *path, long long max, uint8_t **buf, size_t *cap, size_t *len,
                           cx_error *err)
{
    *len = 0;
    /* O_NONBLOCK: opening a FIFO named like an image must not hang. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return cx_fail(err, CX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return cx_fail(err, CX_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return cx_fail(err, CX_ERR_IO, "%s: is a directory, not an image file", path);
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return cx_fail(err, CX_ERR_IO, "%s: not a regular file", path);
    }
    if (st.st_size == 0) {
        close(fd);
        return cx_fail(err, CX_ERR_FORMAT, "%s: empty file", path);
    }
    if ((long long)st.st_size > max) {
        close(fd);
        return cx_fail(err, CX_ERR_FORMAT, "%s: file is %lld bytes, more than the limit of %lld",
                       path, (long long)st.st_size, max);
    }
    size_t want = (size_t)st.st_size;
    if (*cap < want) {
        uint8_t *nb = realloc(*buf, want);
        if (!nb) {
            close(fd);
            return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, want);
        }
        *buf = nb;
        *cap = want;
    }
    size_t got = 0;
    while (got < want) {
        ssize_t r = read(fd, *buf + got, want - got);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            close(fd);
            return cx_fail(err, CX_ERR_IO, "%s: read error: %s", path, strerror(e));
        }
        if (r == 0) break; /* the file shrank while reading: decode what is there */
        got += (size_t)r;
    }
    close(fd);
    if (got == 0) return cx_fail(err, CX_ERR_FORMAT, "%s: empty file", path);
    *len = got;
    return CX_OK;
}

int cx_image_known_extension(const char *path)
{
    static const char *const exts[] = {"png", "jpg", "jpeg", "jpe", "bmp", "gif", "tga",
                                       "pnm", "pgm", "ppm",  "psd", "pic", "hdr"};
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base) return 0;
    for (size_t i = 0; i < sizeof exts / sizeof exts[0]; i++)
        if (strcasecmp(dot + 1, exts[i]) == 0) return 1;
    return 0;
}

static cx_status check_args(const char *name, int channels, int height, int width, cx_error *err)
{
    if (channels != 1 && channels != 3)
        return cx_fail(err, CX_ERR_ARG, "%s: channels must be 1 or 3, not %d", name, channels);
    if (height < 1 || height > CX_IMAGE_MAX_OUT_SIDE || width < 1 || width > CX_IMAGE_MAX_OUT_SIDE)
        return cx_fail(err, CX_ERR_ARG, "%s: output size %dx%d must be within 1..%d", name, width,
                       height, CX_IMAGE_MAX_OUT_SIDE);
    return CX_OK;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int too_big(uint32_t w, uint32_t h)
{
    return w > CX_IMAGE_MAX_SIDE || h > CX_IMAGE_MAX_SIDE || (long long)w * h > CX_IMAGE_MAX_PIXELS;
}

static cx_status large_error(const char *name, long long w, long long h, int *too_large,
                             cx_error *err)
{
    if (too_large) *too_large = 1;
    return cx_fail(err, CX_ERR_FORMAT,
                   "%s: declared size %lldx%lld is too large (decompression bomb?); limits are "
                   "%d on a side and %lld pixels",
                   name, w, h, CX_IMAGE_MAX_SIDE, (long long)CX_IMAGE_MAX_PIXELS);
}

/* The size declared by a PNG IHDR or a JPEG SOFn header; 0 if data is
 * neither or the header is not found. */
static int png_jpeg_size(const uint8_t *d, size_t len, uint32_t *w, uint32_t *h)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (len >= 24 && memcmp(d, png_sig, 8) == 0 && memcmp(d + 12, "IHDR", 4) == 0) {
        *w = be32(d + 16);
        *h = be32(d + 20);
        return 1;
    }
    if (len < 4 || d[0] != 0xff || d[1] != 0xd8) return 0;
    size_t p = 2;
    while (p + 4 <= len) {
        if (d[p] != 0xff) return 0;
        uint8_t m = d[p + 1];
        if (m == 0xff) { /* fill byte */
            p++;
            continue;
        }
        if (m == 0xd8 || (m >= 0xd0 && m <= 0xd7) || m == 0x01) { /* no length */
            p += 2;
            continue;
        }
        size_t seg = (size_t)d[p + 2] << 8 | d[p + 3];
        int sof = m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc;
        if (sof) {
            if (p + 9 > len) return 0;
            *h = (uint32_t)d[p + 5] << 8 | d[p + 6];
            *w = (uint32_t)d[p + 7] << 8 | d[p + 8];
            return 1;
        }
        if (m == 0xda || m == 0xd9 || seg < 2) return 0; /* scan or end before a frame */
        p += 2 + seg;
    }
    return 0;
}

/* Reads the declared size from the header and applies the limits; nothing
 * is decoded. */
static cx_status header_info(const uint8_t *data, size_t len, const char *name, int *x, int *y,
                             int *comp, int *too_large, cx_error *err)
{
    if (too_large) *too_large = 0;
    if (len == 0) return cx_fail(err, CX_ERR_FORMAT, "%s: empty file", name);
    if ((long long)len > CX_IMAGE_MAX_FILE_BYTES)
        return cx_fail(err, CX_ERR_FORMAT, "%s: %zu bytes is more than the limit of %lld", name,
                       len, (long long)CX_IMAGE_MAX_FILE_BYTES);
    /* stb_image's own header check refuses some huge PNG and JPEG sizes
     * with a reason that is then lost behind "unknown image type", so those
     * two headers are read here first. */
    uint32_t hw, hh;
    if (png_jpeg_size(data, len, &hw, &hh) && too_big(hw, hh))
        return large_error(name, hw, hh, too_large, err);
    /* PNG and JPEG go to libpng and libjpeg-turbo (png_decode.c,
     * jpeg_decode.c), PNM and HDR to Cortex's own readers (pnm.c, hdr.c). */
    long ow = 0, oh = 0;
    cx_status st = CX_OK;
    if (cx_png_detect(data, len)) {
        int c = 0;
        cx_decode_budget b = {cx_decode_budget_for(len, 0, 0), 0, 0, 0};
        st = cx_png_info(data, len, name, &b, x, y, &c, err);
        ow = *x, oh = *y, *comp = c;
    } else if (cx_jpeg_detect(data, len)) {
        int c = 0;
        st = cx_jpeg_info(data, len, name, x, y, &c, err);
        ow = *x, oh = *y, *comp = c;
    } else if (cx_pnm_detect(data, len)) {
        cx_pnm h;
        st = cx_pnm_header(data, len, name, &h, err);
        ow = h.width, oh = h.height, *comp = h.channels;
    } else if (cx_hdr_detect(data, len)) {
        cx_hdr h;
        st = cx_hdr_header(data, len, name, &h, err);
        ow = h.width, oh = h.height, *comp = 3;
    }
    if (st) return st;
    if (ow > 0 || oh > 0) {
        if (ow < 1 || oh < 1)
            return cx_fail(err, CX_ERR_FORMAT, "%s: declared size %ldx%ld is empty", name, ow, oh);
        if (ow > CX_IMAGE_MAX_SIDE || oh > CX_IMAGE_MAX_SIDE || too_big((uint32_t)ow, (uint32_t)oh))
            return large_error(name, ow, oh, too_large, err);
        *x = (int)ow;
        *y = (int)oh;
        return CX_OK;
    }
    /* The header is read under the slack alone: no pixel is decoded. */
    cx_decode_budget b = {cx_decode_budget_for(len, 0, 0), 0, 0, 0};
    if (!cx_stb_info(data, len, &b, x, y, comp))
        return cx_fail(err, CX_ERR_FORMAT, "%s: not a readable image (%s)", name,
                       cx_stb_failure_reason() ? cx_stb_failure_reason() : "unknown format");
    if (*x <= 0 || *y <= 0)
        return cx_fail(err, CX_ERR_FORMAT, "%s: declared size %dx%d is empty", name, *x, *y);
    if (too_big((uint32_t)*x, (uint32_t)*y))
        return large_error(name, (uint32_t)*x, (uint32_t)*y, too_large, err);
    if (*comp < 1 || *comp > 4)
        return cx_fail(err, CX_ERR_FORMAT, "%s: %d channels, expected 1 to 4", name, *comp);
    return CX_OK;
}

cx_status cx_image_info_mem(const void *data, size_t len, const char *name, int *width, int *height,
                            int *channels, cx_error *err)
{
    if (!name) name = "image";
    if (!data) return cx_fail(err, CX_ERR_ARG, "%s: NULL buffer", name);
    int x = 0, y = 0, comp = 0;
    cx_status st = header_info(data, len, name, &x, &y, &comp, NULL, err);
    if (st) return st;
    if (width) *width = x;
    if (height) *height = y;
    if (channels) *channels = comp;
    return CX_OK;
}

cx_status cx_image_info(const char *path, int *width, int *height, int *channels, cx_error *err)
{
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    cx_status st = cx_read_file_buf(path, CX_IMAGE_MAX_FILE_BYTES, &buf, &cap, &len, err);
    int x = 0, y = 0, comp = 0;
    if (!st) st = header_info(buf, len, path, &x, &y, &comp, NULL, err);
    free(buf);
    if (st) return st;
    if (width) *width = x;
    if (height) *height = y;
    if (channels) *channels = comp;
    return CX_OK;
}

/* RGBA (4 bytes per pixel) to `channels` bytes per pixel, in place (the
 * output never overtakes the input). Alpha is composited over black:
 * v' = round(v * a / 255); gray = round(0.299 R + 0.587 G + 0.114 B). */
static void rgba_convert(uint8_t *px, size_t npix, int channels)
{
    for (size_t i = 0; i < npix; i++) {
        const uint8_t *s = px + 4 * i;
        unsigned a = s[3];
        unsigned r = (s[0] * a + 127) / 255, g = (s[1] * a + 127) / 255, b = (s[2] * a + 127) / 255;
        uint8_t *d = px + (size_t)channels * i;
        if (channels == 1) {
            d[0] = (uint8_t)((299 * r + 587 * g + 114 * b + 500) / 1000);
        } else {
            d[0] = (uint8_t)r;
            d[1] = (uint8_t)g;
            d[2] = (uint8_t)b;
        }
    }
}

/* HWC (c interleaved) to CHW. */
static void hwc_to_chw(const uint8_t *in, int c, int h, int w, uint8_t *out)
{
    size_t plane = (size_t)h * w;
    for (size_t p = 0; p < plane; p++)
        for (int ch = 0; ch < c; ch++)
            out[(size_t)ch * plane + p] = in[p * c + ch];
}

/* stb_image reads through these callbacks rather than from memory so that
 * reading past the end is seen: stb_image ignores short reads in some
 * decoders (raw TGA rows, for one). Bytes past the end read as zeros, so the output is
 * always defined, and the image is rejected as truncated. */
typedef struct mem_reader {
    const uint8_t *data;
    size_t len, pos;
    int overrun;
} mem_reader;

static int mr_read(void *user, char *out, int size)
{
    mem_reader *m = user;
    size_t want = size > 0 ? (size_t)size : 0, n = m->len - m->pos;
    if (n > want) n = want;
    memcpy(out, m->data + m->pos, n);
    memset(out + n, 0, want - n);
    m->pos += n;
    /* stb_image refills its 128-byte buffer with short reads near the end;
     * any other short read, or a read at the end, wants missing data. */
    if (n < want && (n == 0 || want != 128)) m->overrun = 1;
    return (int)n;
}

static void mr_skip(void *user, int n)
{
    mem_reader *m = user;
    if (n < 0) {
        size_t back = (size_t) - (long long)n;
        m->pos = back > m->pos ? 0 : m->pos - back;
    } else if ((size_t)n > m->len - m->pos) {
        m->pos = m->len;
        m->overrun = 1;
    } else {
        m->pos += (size_t)n;
    }
}

static int mr_eof(void *user)
{
    mem_reader *m = user;
    return m->pos >= m->len;
}

static _Thread_local cx_decode_budget last_budget;

cx_decode_budget cx_image_last_budget(void)
{
    return last_budget;
}

/* Decodes with stb_image to RGBA (stb_image replicates gray and supplies
 * opaque alpha, so one conversion routine applies the documented rules),
 * holding at most cx_decode_budget_for(len, x, y) bytes at once whatever the
 * compressed data claims. *px is freed with cx_stb_free. */
static cx_status stb_decode_rgba(const uint8_t *data, size_t len, const char *name, int x, int y,
                                 uint8_t **px, int *dx, int *dy, cx_error *err)
{
    static const cx_stb_io io = {mr_read, mr_skip, mr_eof};
    mem_reader m = {data, len, 0, 0};
    cx_decode_budget b = {cx_decode_budget_for(len, x, y), 0, 0, 0};
    *px = cx_stb_load(&io, &m, &b, dx, dy);
    last_budget = b;
    if (!*px) {
        const char *why = cx_stb_failure_reason();
        if (b.refused)
            return cx_fail(err, CX_ERR_FORMAT,
                           "%s: corrupt image: decoding it would take more than %zu MB for its "
                           "declared %dx%d pixels (the limit for that size)",
                           name, b.limit >> 20, x, y);
        if (why && strcmp(why, "outofmem") == 0)
            return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory decoding %dx%d pixels", name, x,
                           y);
        return cx_fail(err, CX_ERR_FORMAT, "%s: corrupt or truncated image (%s)", name,
                       why ? why : "unknown reason");
    }
    if (m.overrun) {
        cx_stb_free(*px);
        *px = NULL;
        return cx_fail(err, CX_ERR_FORMAT, "%s: truncated image (data ends early)", name);
    }
    return CX_OK;
}

static void free_pixels(uint8_t *px, int from_stb)
{
    if (from_stb)
        cx_stb_free(px);
    else
        free(px);
}

cx_status cx_image_decode_scratch(const void *data, size_t len, const char *name, int channels,
                                  int height, int width, uint8_t *out_chw, uint8_t *scratch,
                                  int *too_large, cx_error *err)
{
    if (too_large) *too_large = 0;
    if (!name) name = "image";
    cx_status st = check_args(name, channels, height, width, err);
    if (st) return st;
    if (!data || !out_chw || !scratch) return cx_fail(err, CX_ERR_ARG, "%s: NULL buffer", name);
    int x, y, comp;
    st = header_info(data, len, name, &x, &y, &comp, too_large, err);
    if (st) return st;

    int dx = 0, dy = 0;
    uint8_t *px = NULL;
    int from_stb = 0;
    if (cx_png_detect(data, len) || cx_jpeg_detect(data, len)) {
        cx_decode_budget b = {cx_decode_budget_for(len, x, y), 0, 0, 0};
        st = (cx_png_detect(data, len) ? cx_png_decode_rgba : cx_jpeg_decode_rgba)(
            data, len, name, &b, &px, &dx, &dy, err);
        last_budget = b;
    } else if (cx_pnm_detect(data, len)) {
        cx_pnm h;
        st = cx_pnm_header(data, len, name, &h, err);
        if (!st) st = cx_pnm_decode_rgba(data, len, name, &h, &px, err);
        dx = (int)h.width, dy = (int)h.height;
    } else if (cx_hdr_detect(data, len)) {
        cx_hdr h;
        st = cx_hdr_header(data, len, name, &h, err);
        if (!st) st = cx_hdr_decode_rgba(data, len, name, &h, &px, err);
        dx = (int)h.width, dy = (int)h.height;
    } else {
        from_stb = 1;
        st = stb_decode_rgba(data, len, name, x, y, &px, &dx, &dy, err);
    }
    if (st) return st;
    if (dx != x || dy != y) {
        free_pixels(px, from_stb);
        return cx_fail(err, CX_ERR_FORMAT, "%s: header declares %dx%d but decodes to %dx%d", name,
                       x, y, dx, dy);
    }
    rgba_convert(px, (size_t)x * y, channels);

    const uint8_t *hwc = px;
    if (x != width || y != height) {
        st = cx_resize_u8(px, x, y, channels, scratch, width, height, name, err);
        if (st) {
            free_pixels(px, from_stb);
            return st;
        }
        hwc = scratch;
    }
    hwc_to_chw(hwc, channels, height, width, out_chw);
    free_pixels(px, from_stb);
    return CX_OK;
}

cx_status cx_image_decode(const void *data, size_t len, const char *name, int channels, int height,
                          int width, uint8_t *out_chw, cx_error *err)
{
    if (!name) name = "image";
    cx_status st = check_args(name, channels, height, width, err);
    if (st) return st;
    if (!data || !out_chw) return cx_fail(err, CX_ERR_ARG, "%s: NULL buffer", name);
    /* Decode into a private buffer first so out_chw is untouched on failure. */
    size_t n = (size_t)channels * height * width;
    uint8_t *tmp = malloc(2 * n);
    if (!tmp) return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory", name);
    st = cx_image_decode_scratch(data, len, name, channels, height, width, tmp, tmp + n, NULL, err);
    if (!st) memcpy(out_chw, tmp, n);
    free(tmp);
    return st;
}

cx_status cx_image_load(const char *path, int channels, int height, int width, uint8_t *out_chw,
                        cx_error *err)
{
    if (!path) return cx_fail(err, CX_ERR_ARG, "image: NULL path");
    cx_status st = check_args(path, channels, height, width, err);
    if (st) return st;
    uint8_t *buf = NULL;
    size_t cap = 0, len = 0;
    st = cx_read_file_buf(path, CX_IMAGE_MAX_FILE_BYTES, &buf, &cap, &len, err);
    if (!st) st = cx_image_decode(buf, len, path, channels, height, width, out_chw, err);
    free(buf);
    return st;
}

cx_status cx_image_convert(const uint8_t *hwc, int in_width, int in_height, int in_channels,
                           int channels, int height, int width, uint8_t *out_chw, cx_error *err)
{
    const char *name = "pixels";
    cx_status st = check_args(name, channels, height, width, err);
    if (st) return st;
    if (!hwc || !out_chw) return cx_fail(err, CX_ERR_ARG, "%s: NULL buffer", name);
    if (in_channels < 1 || in_channels > 4)
        return cx_fail(err, CX_ERR_ARG, "%s: %d channels (1 to 4: gray, gray+alpha, RGB, RGBA)",
                       name, in_channels);
    if (in_width < 1 || in_height < 1 || too_big((uint32_t)in_width, (uint32_t)in_height))
        return cx_fail(err, CX_ERR_ARG,
                       "%s: size %dx%d is outside 1x1 .. the limits (%d a side, "
                       "%lld pixels)",
                       name, in_width, in_height, CX_IMAGE_MAX_SIDE,
                       (long long)CX_IMAGE_MAX_PIXELS);
    size_t npix = (size_t)in_width * in_height, n = (size_t)channels * height * width;
    /* RGBA first, as the decoders give it, so one routine applies the channel rules. */
    uint8_t *px = malloc(4 * npix), *scratch = malloc(n);
    if (!px || !scratch) {
        free(px);
        free(scratch);
        return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory for %dx%d pixels", name, in_width,
                       in_height);
    }
    for (size_t i = 0; i < npix; i++) {
        const uint8_t *s = hwc + i * (size_t)in_channels;
        uint8_t *d = px + 4 * i;
        if (in_channels <= 2) {
            d[0] = d[1] = d[2] = s[0];
            d[3] = in_channels == 2 ? s[1] : 255;
        } else {
            d[0] = s[0], d[1] = s[1], d[2] = s[2];
            d[3] = in_channels == 4 ? s[3] : 255;
        }
    }
    rgba_convert(px, npix, channels);
    const uint8_t *src = px;
    if (in_width != width || in_height != height) {
        st = cx_resize_u8(px, in_width, in_height, channels, scratch, width, height, name, err);
        src = scratch;
    }
    if (!st) hwc_to_chw(src, channels, height, width, out_chw);
    free(px);
    free(scratch);
    return st;
}
