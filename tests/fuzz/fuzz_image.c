/* Fuzz target: an image file as cortex-vision reads it (any format
 * the library decodes: libpng, libjpeg-turbo, stb_image for BMP, GIF, TGA,
 * PSD and PIC, its own PNM and HDR readers), converted to 28x28 gray and
 * to 32x32 RGB. Files that
 * declare more than 4 megapixels are only checked to the header: the
 * readers accept up to 64, whose legitimate decode takes more than the
 * fuzzer's memory limit (scripts/fuzz.sh --rss-limit-mb, 512 by default),
 * and what this target looks for is memory a file takes beyond what its
 * declared size needs (the decode budget, test_image.c). */
#include <stdint.h>

#include "cortex/cortex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cx_error err;
    static uint8_t gray[28 * 28], rgb[3 * 32 * 32];
    int w = 0, h = 0;
    if (cx_image_info_mem(data, size, "fuzz.img", &w, &h, NULL, &err)) return 0;
    if ((long long)w * h > (4LL << 20)) return 0;
    (void)cx_image_decode(data, size, "fuzz.img", 1, 28, 28, gray, &err);
    (void)cx_image_decode(data, size, "fuzz.img", 3, 32, 32, rgb, &err);
    return 0;
}
