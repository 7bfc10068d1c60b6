/* stb_image (Debian's libstb-dev header, compiled here) for BMP, GIF, TGA,
 * PSD and PIC, with its allocations routed through a per-decode memory
 * budget (decode_budget.c). PNG goes to libpng (png_decode.c), JPEG to
 * libjpeg-turbo (jpeg_decode.c); PNM and HDR are Cortex's own (pnm.c, hdr.c).
 *
 * Why compiled here rather than linked from libstb.so: the shared library's
 * decoders allocate with plain malloc/realloc, and a small file can make
 * them allocate far more than its declared size needs (a 138-byte PNG
 * declaring 32x32 pixels made its zlib inflate grow a buffer to
 * 2,046,824,570 bytes; found by fuzz_image). STBI_MALLOC/STBI_REALLOC/
 * STBI_FREE are stb_image's documented hooks; with them every decoder left
 * to stb draws on one budget set from the declared size, and a decode that
 * would pass it fails as "outofmem" in bounded memory. Why PNG and JPEG left
 * stb: once compiled with the sanitizers, stb_image 2.27's PNG and JPEG code
 * kept showing undefined behaviour under fuzz_image (Huffman tables written
 * past their end, a memcpy to NULL, a bit reader shifting by 34 bits); the
 * maintained decoders Debian ships do those formats, and faster (README,
 * "Hostile files"). The rest of stb (stb_image_write, used by the apps and
 * tests) still comes from libstb. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image_util.h"

/* The budget of the decode running on this thread (NULL: none, unlimited). */
static _Thread_local cx_decode_budget *tl_budget;

static void *b_malloc(size_t n)
{
    return cx_budget_malloc(tl_budget, n);
}

static void *b_realloc(void *q, size_t n)
{
    return cx_budget_realloc(tl_budget, q, n);
}

static void b_free(void *q)
{
    cx_budget_free(tl_budget, q);
}

#define STBI_MALLOC(sz) b_malloc(sz)
#define STBI_REALLOC(p, newsz) b_realloc(p, newsz)
#define STBI_FREE(p) b_free(p)
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO  /* files are read by cx_read_file_buf, with its limits */
#define STBI_NO_LINEAR /* no float API; HDR is decoded by hdr.c */
#define STBI_NO_HDR    /* hdr.c: stb_image 2.27's HDR reader can loop forever */
#define STBI_NO_PNG    /* png_decode.c (libpng) */
#define STBI_NO_JPEG   /* jpeg_decode.c (libjpeg-turbo) */

#if defined(__GNUC__)
/* For the whole file: the compiler reports unused static functions at its
 * end, after a pop (stb_image declares some it never defines here). */
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#pragma GCC diagnostic ignored "-Wtype-limits"
#pragma GCC diagnostic ignored "-Wunused-but-set-variable"
#endif
#include <stb/stb_image.h>
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif

int cx_stb_info(const uint8_t *data, size_t len, cx_decode_budget *b, int *x, int *y, int *comp)
{
    cx_decode_budget *saved = tl_budget;
    tl_budget = b;
    int ok = stbi_info_from_memory(data, (int)len, x, y, comp);
    tl_budget = saved;
    return ok;
}

uint8_t *cx_stb_load(const cx_stb_io *io, void *user, cx_decode_budget *b, int *x, int *y)
{
    stbi_io_callbacks cb = {io->read, io->skip, io->eof};
    int comp = 0;
    cx_decode_budget *saved = tl_budget;
    tl_budget = b;
    uint8_t *px = stbi_load_from_callbacks(&cb, user, x, y, &comp, 4);
    tl_budget = saved;
    return px;
}

const char *cx_stb_failure_reason(void)
{
    return stbi_failure_reason();
}

void cx_stb_free(void *px)
{
    /* Outside a decode: the block leaves no budget. */
    cx_decode_budget *saved = tl_budget;
    tl_budget = NULL;
    stbi_image_free(px);
    tl_budget = saved;
}
