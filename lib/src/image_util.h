/* Private helpers of the image and dataset loaders. Not part of the public API. */
#ifndef CORTEX_IMAGE_UTIL_H
#define CORTEX_IMAGE_UTIL_H

#include "cortex/core.h"

/* Reads the whole regular file at path (at most max bytes) into *buf, which
 * is grown with realloc when it is smaller than the file (*cap is its size;
 * *buf may start NULL with *cap 0). The caller frees *buf. */
cx_status cx_read_file_buf(const char *path, long long max, uint8_t **buf, size_t *cap,
                           size_t *len, cx_error *err);

/* cx_image_decode with caller-owned scratch of channels*height*width bytes,
 * so a loop over files allocates nothing of its own but the decoded bitmap.
 * *too_large (if non-NULL) is set to 1 when the failure is a declared size
 * beyond the limits, else 0. */
cx_status cx_image_decode_scratch(const void *data, size_t len, const char *name, int channels,
                                  int height, int width, uint8_t *out_chw, uint8_t *scratch,
                                  int *too_large, cx_error *err);

#endif
