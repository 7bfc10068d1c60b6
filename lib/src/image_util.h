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

/* stb_image, compiled into the library with its allocations counted
 * against a budget (stb_decode.c). One decode draws on one budget; a
 * request that would pass `limit` fails (stb_image then reports
 * "outofmem") and sets `refused`. `peak` is the most held at once. */
typedef struct cx_stb_budget {
    size_t limit, used, peak;
    int refused;
} cx_stb_budget;

/* What a decode may hold: the file's bytes (PNG keeps its compressed data),
 * CX_STB_BYTES_PER_PIXEL per declared pixel and a fixed slack for the
 * decoders' tables. The largest peak over the test suite's valid images
 * (8- and 16-bit PNG, plain and interlaced, JPEG, BMP, TGA) is checked in
 * test_image.c against this: 28 bytes per pixel at most (a 16-bit RGBA
 * interlaced PNG), 4-7 for the others. */
#define CX_STB_BYTES_PER_PIXEL 48
#define CX_STB_BUDGET_SLACK ((size_t)4 << 20)
size_t cx_stb_budget_for(size_t file_len, long long width, long long height);

typedef struct cx_stb_io {
    int (*read)(void *user, char *data, int size);
    void (*skip)(void *user, int n);
    int (*eof)(void *user);
} cx_stb_io;

/* stbi_info_from_memory and stbi_load_from_callbacks (to RGBA) under budget
 * b (NULL: unlimited); the pixels are freed with cx_stb_free. */
int cx_stb_info(const uint8_t *data, size_t len, cx_stb_budget *b, int *x, int *y, int *comp);
uint8_t *cx_stb_load(const cx_stb_io *io, void *user, cx_stb_budget *b, int *x, int *y);
const char *cx_stb_failure_reason(void);
void cx_stb_free(void *px);

/* The budget figures of the last image decode on this thread (image.c):
 * for tests and benchmarks that check the bound by the allocator's count. */
cx_stb_budget cx_image_last_budget(void);

#endif
