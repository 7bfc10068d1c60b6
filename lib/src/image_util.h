/* Private helpers of the image and dataset loaders. Not part of the public API. */
#ifndef CORTEX_IMAGE_UTIL_H
#define CORTEX_IMAGE_UTIL_H

#include "cortex/core.h"
#include "cortex/io.h"

/* cx_image_decode with caller-owned scratch of channels*height*width bytes,
 * so a loop over files allocates nothing of its own but the decoded bitmap.
 * *too_large (if non-NULL) is set to 1 when the failure is a declared size
 * beyond the limits, else 0. */
cx_status cx_image_decode_scratch(const void *data, size_t len, const char *name, int channels,
                                  int height, int width, uint8_t *out_chw, uint8_t *scratch,
                                  int *too_large, cx_error *err);

/* Resizes an HWC image of c channels from iw x ih to ow x oh (resize.c). */
cx_status cx_resize_u8(const uint8_t *in, int iw, int ih, int c, uint8_t *out, int ow, int oh,
                       const char *name, cx_error *err);

/* Binary PNM (P5, P6), decoded here rather than by stb_image (see pnm.c). */
typedef struct cx_pnm {
    long width, height;
    int channels;  /* 1 or 3 */
    int maxval;    /* 1 .. 65535; above 255 samples are 16-bit big-endian */
    size_t offset; /* first byte of pixel data */
} cx_pnm;

int cx_pnm_detect(const uint8_t *data, size_t len);
cx_status cx_pnm_header(const uint8_t *data, size_t len, const char *name, cx_pnm *h,
                        cx_error *err);
/* *out (malloc'd) gets width*height RGBA pixels scaled to 0..255. */
cx_status cx_pnm_decode_rgba(const uint8_t *data, size_t len, const char *name, const cx_pnm *h,
                             uint8_t **out, cx_error *err);

/* Radiance HDR, decoded here rather than by stb_image (see hdr.c). */
typedef struct cx_hdr {
    long width, height;
    size_t offset; /* first byte of pixel data */
} cx_hdr;

int cx_hdr_detect(const uint8_t *data, size_t len);
cx_status cx_hdr_header(const uint8_t *data, size_t len, const char *name, cx_hdr *h,
                        cx_error *err);
/* *out (malloc'd) gets width*height RGBA pixels, tone-mapped to 8 bits. */
cx_status cx_hdr_decode_rgba(const uint8_t *data, size_t len, const char *name, const cx_hdr *h,
                             uint8_t **out, cx_error *err);

/* The memory budget of one image decode (decode_budget.c). stb_image's
 * and libpng's allocations are counted against it, and so is every
 * decoder's RGBA output; a request that would pass `limit` fails and sets
 * `refused`. `peak` is the most held at once (for JPEG only the output:
 * libjpeg-turbo's own buffers are held to the rest of the limit by its
 * max_memory_to_use, jpeg_decode.c). */
typedef struct cx_decode_budget {
    size_t limit, used, peak;
    int refused;
} cx_decode_budget;

/* What a decode may hold: the file's bytes, CX_DECODE_BYTES_PER_PIXEL per
 * declared pixel and a fixed slack for the decoders' tables. The largest
 * peak over the test suite's valid images (8- and 16-bit PNG, plain and
 * interlaced, JPEG, BMP, TGA) is checked in test_image.c against this:
 * 7 bytes per pixel at most. stb_image's GIF reader, by its code, holds 9
 * (two RGBA frames and a history byte). */
#define CX_DECODE_BYTES_PER_PIXEL 24
#define CX_DECODE_BUDGET_SLACK ((size_t)4 << 20)
size_t cx_decode_budget_for(size_t file_len, long long width, long long height);

/* malloc/realloc/free counted against b (NULL: uncounted). Blocks carry a
 * header: free them only with cx_budget_free. */
void *cx_budget_malloc(cx_decode_budget *b, size_t n);
void *cx_budget_realloc(cx_decode_budget *b, void *p, size_t n);
void cx_budget_free(cx_decode_budget *b, void *p);
/* Counts n bytes allocated elsewhere (0: it would pass the limit); give
 * returns them. */
int cx_budget_take(cx_decode_budget *b, size_t n);
void cx_budget_give(cx_decode_budget *b, size_t n);

/* PNG through libpng (png_decode.c). The info reads IHDR and the chunks
 * before the image data; the decode gives width*height RGBA pixels
 * (malloc'd) under budget b. */
int cx_png_detect(const uint8_t *d, size_t len);
cx_status cx_png_info(const uint8_t *data, size_t len, const char *name, cx_decode_budget *b,
                      int *x, int *y, int *comp, cx_error *err);
cx_status cx_png_decode_rgba(const uint8_t *data, size_t len, const char *name, cx_decode_budget *b,
                             uint8_t **out, int *x, int *y, cx_error *err);

/* JPEG through libjpeg-turbo (jpeg_decode.c), likewise. */
#define CX_JPEG_MAX_SCANS 500
int cx_jpeg_detect(const uint8_t *d, size_t len);
cx_status cx_jpeg_info(const uint8_t *data, size_t len, const char *name, int *x, int *y, int *comp,
                       cx_error *err);
cx_status cx_jpeg_decode_rgba(const uint8_t *data, size_t len, const char *name,
                              cx_decode_budget *b, uint8_t **out, int *x, int *y, cx_error *err);

/* stb_image for BMP, GIF, TGA, PSD and PIC, compiled into the library with
 * its allocations on a budget (stb_decode.c). */
typedef struct cx_stb_io {
    int (*read)(void *user, char *data, int size);
    void (*skip)(void *user, int n);
    int (*eof)(void *user);
} cx_stb_io;

/* stbi_info_from_memory and stbi_load_from_callbacks (to RGBA) under budget
 * b (NULL: unlimited); the pixels are freed with cx_stb_free. */
int cx_stb_info(const uint8_t *data, size_t len, cx_decode_budget *b, int *x, int *y, int *comp);
uint8_t *cx_stb_load(const cx_stb_io *io, void *user, cx_decode_budget *b, int *x, int *y);
const char *cx_stb_failure_reason(void);
void cx_stb_free(void *px);

/* The budget figures of the last image decode on this thread (image.c):
 * for tests and benchmarks that check the bound by the allocator's count. */
cx_decode_budget cx_image_last_budget(void);

#endif
