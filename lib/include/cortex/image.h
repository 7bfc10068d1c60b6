/* Cortex images: any common image file to a fixed-size CHW uint8 array.
 *
 * Formats: PNG (8 and 16 bit), JPEG (baseline and progressive), BMP, GIF
 * (first frame only), TGA, PSD (composited image) and PIC through
 * stb_image; binary PNM (P5 gray, P6 RGB, any maxval up to 65535, scaled
 * to 0..255) and Radiance HDR (tone-mapped the stb_image way: gamma 2.2,
 * scale 1, clamped) through Cortex's own decoders, because stb_image 2.27
 * misreads 16-bit PNM and can loop forever on a corrupt HDR file. 16-bit
 * images are reduced to 8 bits. A file whose data ends before the image does
 * is rejected as truncated (stb_image alone would make up the missing pixels
 * of a JPEG or a TGA).
 *
 * Channel rule (the same for training and inference, so nothing drifts):
 *   - alpha is composited over BLACK: v' = round(v * a / 255), then dropped;
 *   - gray -> 3 channels: the gray value is replicated into R, G and B;
 *   - RGB -> 1 channel: luminance round(0.299 R + 0.587 G + 0.114 B)
 *     (ITU-R BT.601), computed after the alpha composite.
 *
 * Resizing: the image is stretched to exactly height x width (the aspect
 * ratio is not kept) with antialiased bilinear filtering on the stored
 * values (no gamma conversion): the algorithm of PIL's resize(BILINEAR) and
 * PyTorch's F.interpolate(mode="bilinear", antialias=True,
 * align_corners=False), which it matches to rounding. Upsampling is plain
 * bilinear interpolation; downsampling widens the triangle filter to the
 * scale ratio, so every source pixel contributes. No resampling happens
 * when the sizes already match.
 *
 * Output layout: CHW, channel-major, out[(ch * height + y) * width + x].
 *
 * Hostile files: a file is read whole into memory with a size cap
 * (CX_IMAGE_MAX_FILE_BYTES), the header is parsed first and a declared size
 * beyond CX_IMAGE_MAX_SIDE on a side or CX_IMAGE_MAX_PIXELS in total is
 * rejected before any pixel memory is allocated (decompression bombs). Every
 * error message names the file and the reason (stb_image's reason for
 * undecodable data).
 */
#ifndef CORTEX_IMAGE_H
#define CORTEX_IMAGE_H

#include "cortex/core.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CX_IMAGE_MAX_SIDE 16384               /* pixels, declared width or height */
#define CX_IMAGE_MAX_PIXELS (64LL << 20)      /* declared width * height */
#define CX_IMAGE_MAX_FILE_BYTES (256LL << 20) /* bytes read from one file */
#define CX_IMAGE_MAX_OUT_SIDE 4096            /* requested height / width */

/* Decodes the image file at path into out_chw (channels * height * width
 * bytes), converted to `channels` (1 or 3) and resized to height x width
 * (1 .. CX_IMAGE_MAX_OUT_SIDE) by the rules above. out_chw is untouched on
 * failure. Errors: CX_ERR_ARG (bad arguments), CX_ERR_IO (missing, a
 * directory, unreadable), CX_ERR_FORMAT (empty, too large, not an image,
 * corrupt or truncated, declared size too large), CX_ERR_NOMEM. */
CX_API cx_status cx_image_load(const char *path, int channels, int height, int width,
                               uint8_t *out_chw, cx_error *err);

/* The same from an encoded image in memory; name is used in messages. */
CX_API cx_status cx_image_decode(const void *data, size_t len, const char *name, int channels,
                                 int height, int width, uint8_t *out_chw, cx_error *err);

/* The same from raw pixels: in_channels (1 gray, 2 gray+alpha, 3 RGB, 4
 * RGBA) interleaved bytes per pixel, row by row (HWC), width x height
 * within the declared-size limits above, converted and resized by the rules
 * above into out_chw. */
CX_API cx_status cx_image_convert(const uint8_t *hwc, int in_width, int in_height, int in_channels,
                                  int channels, int height, int width, uint8_t *out_chw,
                                  cx_error *err);

/* Reads only the header: the declared width, height and channel count
 * (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) of an image file, without decoding
 * pixels. Fails as cx_image_load does, including on a declared size beyond the
 * limits. Any output pointer may be NULL. */
CX_API cx_status cx_image_info(const char *path, int *width, int *height, int *channels,
                               cx_error *err);
/* The same for an image in memory; name is used in messages. */
CX_API cx_status cx_image_info_mem(const void *data, size_t len, const char *name, int *width,
                                   int *height, int *channels, cx_error *err);

/* 1 if the file name ends in an extension of a format listed above
 * (case-insensitive: .png .jpg .jpeg .jpe .bmp .gif .tga .pnm .pgm .ppm .psd
 * .pic .hdr), else 0. The folder dataset loader decodes only such files. */
CX_API int cx_image_known_extension(const char *path);

#ifdef __cplusplus
}
#endif
#endif
