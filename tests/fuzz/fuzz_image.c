/* Fuzz target: an image file as cortex-vision reads it (any format
 * stb_image decodes), converted to 28x28 gray and to 32x32 RGB. */
#include <stdint.h>

#include "cortex/cortex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cx_error err;
    static uint8_t gray[28 * 28], rgb[3 * 32 * 32];
    (void)cx_image_decode(data, size, "fuzz.img", 1, 28, 28, gray, &err);
    (void)cx_image_decode(data, size, "fuzz.img", 3, 32, 32, rgb, &err);
    return 0;
}
