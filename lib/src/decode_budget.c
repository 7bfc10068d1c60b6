/* The memory budget of one image decode (image_util.h): every block a
 * decoder allocates is counted against a limit set from the image's declared
 * size, so a small hostile file cannot make a decoder allocate gigabytes.
 * stb_image (stb_decode.c) and libpng (png_decode.c) allocate through these;
 * libjpeg-turbo is held to the same limit by its own max_memory_to_use. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image_util.h"

/* Each block carries its size in a header, so free and realloc can return
 * it to the budget (the decoders do not pass sizes to free). */
#define HDR 16

size_t cx_decode_budget_for(size_t file_len, long long width, long long height)
{
    long long px = width > 0 && height > 0 ? width * height : 0;
    return file_len + (size_t)px * CX_DECODE_BYTES_PER_PIXEL + CX_DECODE_BUDGET_SLACK;
}

void *cx_budget_malloc(cx_decode_budget *b, size_t n)
{
    if (n > SIZE_MAX - HDR) return NULL;
    if (b && (b->used > b->limit || n > b->limit - b->used)) {
        b->refused = 1;
        return NULL;
    }
    /* Zeroed: stb_image 2.27 was found reading blocks before writing them
     * (a JPEG scan naming an undefined Huffman table, fuzz_image); its
     * remaining decoders get defined bytes too. Large blocks come as fresh
     * zero pages anyway. */
    unsigned char *p = calloc(1, n + HDR);
    if (!p) return NULL;
    memcpy(p, &n, sizeof n);
    if (b) {
        b->used += n;
        if (b->used > b->peak) b->peak = b->used;
    }
    return p + HDR;
}

void cx_budget_free(cx_decode_budget *b, void *q)
{
    if (!q) return;
    unsigned char *p = (unsigned char *)q - HDR;
    size_t n;
    memcpy(&n, p, sizeof n);
    if (b) b->used = n > b->used ? 0 : b->used - n;
    free(p);
}

void *cx_budget_realloc(cx_decode_budget *b, void *q, size_t n)
{
    if (!q) return cx_budget_malloc(b, n);
    unsigned char *p = (unsigned char *)q - HDR;
    size_t old;
    memcpy(&old, p, sizeof old);
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

int cx_budget_take(cx_decode_budget *b, size_t n)
{
    if (!b) return 1;
    if (b->used > b->limit || n > b->limit - b->used) {
        b->refused = 1;
        return 0;
    }
    b->used += n;
    if (b->used > b->peak) b->peak = b->used;
    return 1;
}

void cx_budget_give(cx_decode_budget *b, size_t n)
{
    if (b) b->used = n > b->used ? 0 : b->used - n;
}
