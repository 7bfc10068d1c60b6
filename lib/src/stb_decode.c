/* stb_image (Debian's libstb-dev header, compiled here) with its allocations
 * routed through a per-decode memory budget.
 *
 * Why compiled here rather than linked from libstb.so: the shared library's
 * decoders allocate with plain malloc/realloc, and a small file can make
 * them allocate far more than its declared size needs. A 138-byte PNG
 * declaring 32x32 pixels (found by fuzz_image) made the zlib inflate double
 * its output buffer up to 2,046,824,570 bytes before the stream ended.
 * STBI_MALLOC/STBI_REALLOC/STBI_FREE are stb_image's documented hooks; with
 * them every decoder (PNG, JPEG, GIF, BMP, TGA, PSD, PIC) draws on one budget
 * set from the declared size, and a decode that would pass it fails as
 * "outofmem" in bounded memory. The rest of stb (stb_image_write, used by
 * the apps and tests) still comes from libstb. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image_util.h"

/* The budget of the decode running on this thread (NULL: none, unlimited). */
static _Thread_local cx_stb_budget *tl_budget;

/* Each block carries its size in a header, so free and realloc can return
 * it to the budget (stb_image does not pass sizes to free). */
#define HDR 16

static void *b_malloc(size_t n)
{
    cx_stb_budget *b = tl_budget;
    if (n > SIZE_MAX - HDR) return NULL;
    if (b && (b->used > b->limit || n > b->limit - b->used)) {
        b->refused = 1;
        return NULL;
    }
    /* Zeroed: stb_image 2.27 reads some blocks before it writes them (a
     * scan that names a Huffman table no DHT segment defined decodes
     * through the table's uninitialized entries: an index of 1,118,308,290
     * into a 256-entry array, found by fuzz_image). With zeros an undefined
     * table decodes every code as end-of-block: defined output, no read out
     * of bounds. Large blocks come as fresh zero pages anyway. */
    unsigned char *p = calloc(1, n + HDR);
    if (!p) return NULL;
    memcpy(p, &n, sizeof n);
    if (b) {
        b->used += n;
        if (b->used > b->peak) b->peak = b->used;
    }
    return p + HDR;
}

static void b_free(void *q)
{
    if (!q) return;
    unsigned char *p = (unsigned char *)q - HDR;
    size_t n;
    memcpy(&n, p, sizeof n);
    cx_stb_budget *b = tl_budget;
    if (b) b->used = n > b->used ? 0 : b->used - n;
    free(p);
}

static void *b_realloc(void *q, size_t n)
{
    if (!q) return b_malloc(n);
    unsigned char *p = (unsigned char *)q - HDR;
    size_t old;
    memcpy(&old, p, sizeof old);
    cx_stb_budget *b = tl_budget;
    if (n > SIZE_MAX - HDR) return NULL;
    if (b && n > old && (b->used > b->limit || n - old > b->limit - b->used)) {
        b->refused = 1;
        return NULL;
    }
    unsigned char *np = realloc(p, n + HDR);
    if (!np) return NULL;
    memcpy(np, &n, sizeof n);
    if (b) {
        b->used = b->used - (old > b->used ? b->used : old) + n;
        if (b->used > b->peak) b->peak = b->used;
    }
    return np + HDR;
}

#define STBI_MALLOC(sz) b_malloc(sz)
#define STBI_REALLOC(p, newsz) b_realloc(p, newsz)
#define STBI_FREE(p) b_free(p)
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_NO_STDIO  /* files are read by cx_read_file_buf, with its limits */
#define STBI_NO_LINEAR /* no float API; HDR is decoded by hdr.c */
#define STBI_NO_HDR    /* hdr.c: stb_image 2.27's HDR reader can loop forever */

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

size_t cx_stb_budget_for(size_t file_len, long long width, long long height)
{
    long long px = width > 0 && height > 0 ? width * height : 0;
    return file_len + (size_t)px * CX_STB_BYTES_PER_PIXEL + CX_STB_BUDGET_SLACK;
}

int cx_stb_info(const uint8_t *data, size_t len, cx_stb_budget *b, int *x, int *y, int *comp)
{
    cx_stb_budget *saved = tl_budget;
    tl_budget = b;
    int ok = stbi_info_from_memory(data, (int)len, x, y, comp);
    tl_budget = saved;
    return ok;
}

uint8_t *cx_stb_load(const cx_stb_io *io, void *user, cx_stb_budget *b, int *x, int *y)
{
    stbi_io_callbacks cb = {io->read, io->skip, io->eof};
    int comp = 0;
    cx_stb_budget *saved = tl_budget;
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
    cx_stb_budget *saved = tl_budget;
    tl_budget = NULL;
    stbi_image_free(px);
    tl_budget = saved;
}
