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

#endif
