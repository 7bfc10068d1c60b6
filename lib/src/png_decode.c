/* PNG through Debian's libpng 1.6, every allocation on the decode's budget.
 *
 * libpng inflates the image data row by row as it is needed, so a zlib
 * stream that would inflate to far more than the declared rows is never
 * expanded (a 261 KB PNG declaring 32x32 pixels whose data inflates to
 * 256 MB: bench_decode). Its allocations (the png and info structs, row
 * buffers, zlib's state) come through png_create_read_struct_2's allocator
 * hooks from the same per-decode budget as stb_image's (decode_budget.c),
 * and the RGBA output is counted there too. Ancillary chunks are discarded
 * unread (only IHDR, PLTE, tRNS, IDAT and IEND are processed: nothing
 * compressed but the image), CRCs are checked, and reading past the end of
 * the data is an error: a truncated file is rejected, never padded. */
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cortex/image.h"
#include "image_util.h"

int cx_png_detect(const uint8_t *d, size_t len)
{
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    return len >= 8 && memcmp(d, sig, 8) == 0;
}

/* Bytes libpng may read once every row is decoded (the rest of the image
 * data, its CRC, the chunks up to IEND). libpng 1.6 inflates all of the
 * image data left after the last row to see where the stream ends, and
 * compressed data inflates up to 1,032 times: unchecked, a 256 MB file of
 * extra data would keep it busy for minutes (libpng's simplified API takes
 * 0.67 s on 256 MB of zeros behind a 32x32 image: bench_decode). Past this
 * much (16 KB inflate to at most 17 MB, about 50 ms) the decode stops; the
 * pixels are all there, and the rest of the file is only checked to be
 * whole (chunks_complete). A valid file needs a few bytes here. */
#define AFTER_IMAGE_BYTES ((size_t)16 << 10)

typedef struct pctx {
    const uint8_t *data;
    size_t len, pos;
    int overrun;
    int decoding, interlaced; /* set once the rows are being read */
    size_t after;             /* bytes read after the last row */
    int stopped;              /* the decode stopped AFTER_IMAGE_BYTES after the last row */
    char msg[160];            /* libpng's error message */
    cx_decode_budget *budget;
    png_structp png;
    png_infop info;
    /* results */
    png_uint_32 w, h;
    int comp;
    uint8_t *px;     /* RGBA output, malloc'd, counted in the budget */
    png_bytep *rows; /* row pointers into px */
    size_t px_bytes;
} pctx;

/* Every row of every pass decoded: libpng is past its last row once the
 * row number reaches the height (or, interlaced, the pass number 7). */
static int rows_done(png_structp png, const pctx *c)
{
    if (!c->decoding) return 0;
    return c->interlaced ? png_get_current_pass_number(png) >= 7
                         : png_get_current_row_number(png) >= c->h;
}

static void read_fn(png_structp png, png_bytep out, size_t n)
{
    pctx *c = png_get_io_ptr(png);
    if (rows_done(png, c)) {
        c->after += n;
        if (c->after > AFTER_IMAGE_BYTES) {
            c->stopped = 1;
            png_error(png, "stopped after the image");
        }
    }
    if (n > c->len - c->pos) {
        c->overrun = 1;
        png_error(png, "the data ends early");
    }
    memcpy(out, c->data + c->pos, n);
    c->pos += n;
}

static void error_fn(png_structp png, png_const_charp msg)
{
    pctx *c = png_get_error_ptr(png);
    snprintf(c->msg, sizeof c->msg, "%s", msg ? msg : "unknown error");
    png_longjmp(png, 1);
}

/* Warnings (an ancillary chunk's bad CRC, extra compressed data after the
 * image) are the decoder recovering: the pixels are sound. */
static void warn_fn(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

static png_voidp malloc_fn(png_structp png, png_alloc_size_t n)
{
    return cx_budget_malloc(png_get_mem_ptr(png), n);
}

static void free_fn(png_structp png, png_voidp p)
{
    cx_budget_free(png_get_mem_ptr(png), p);
}

static int ctx_open(pctx *c)
{
    c->png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, c, error_fn, warn_fn, c->budget,
                                      malloc_fn, free_fn);
    if (!c->png) return 0;
    c->info = png_create_info_struct(c->png);
    if (!c->info) return 0;
    png_set_read_fn(c->png, c, read_fn);
    png_set_user_limits(c->png, CX_IMAGE_MAX_SIDE, CX_IMAGE_MAX_SIDE);
    png_set_chunk_malloc_max(c->png, (png_alloc_size_t)1 << 20);
    /* Every chunk but IHDR, PLTE, tRNS, IDAT and IEND is skipped unread. */
    png_set_keep_unknown_chunks(c->png, PNG_HANDLE_CHUNK_NEVER, NULL, -1);
    return 1;
}

static void ctx_close(pctx *c)
{
    if (c->png) png_destroy_read_struct(&c->png, c->info ? &c->info : NULL, NULL);
    if (c->rows) cx_budget_free(c->budget, c->rows);
    c->rows = NULL;
}

/* The header (IHDR and the chunks before the first IDAT), and with decode
 * the image, to 8-bit RGBA: palettes and low bit depths expanded, tRNS to
 * alpha, 16 bits to their high byte (as stb_image did), gray replicated,
 * opaque alpha added; no gamma correction (the samples as stored). Called
 * with the png struct open; returns 0 on a libpng error (c->msg). The
 * caller's locals are untouched by the longjmp: everything lives in *c. */
static int run(pctx *c, int decode)
{
    if (setjmp(png_jmpbuf(c->png))) return 0;
    png_read_info(c->png, c->info);
    int depth, ct, il;
    png_get_IHDR(c->png, c->info, &c->w, &c->h, &depth, &ct, &il, NULL, NULL);
    int trns = png_get_valid(c->png, c->info, PNG_INFO_tRNS) != 0;
    switch (ct) {
    case PNG_COLOR_TYPE_GRAY:
        c->comp = trns ? 2 : 1;
        break;
    case PNG_COLOR_TYPE_GRAY_ALPHA:
        c->comp = 2;
        break;
    case PNG_COLOR_TYPE_RGB_ALPHA:
        c->comp = 4;
        break;
    default:
        c->comp = trns ? 4 : 3;
        break; /* RGB, palette */
    }
    if (!decode) return 1;
    if (ct == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(c->png);
    if (ct == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(c->png);
    if (trns) png_set_tRNS_to_alpha(c->png);
    if (depth == 16) png_set_strip_16(c->png);
    if (!(ct & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(c->png);
    if (!(ct & PNG_COLOR_MASK_ALPHA) && !trns) png_set_filler(c->png, 0xff, PNG_FILLER_AFTER);
    png_set_interlace_handling(c->png);
    png_read_update_info(c->png, c->info);
    if (png_get_rowbytes(c->png, c->info) != (size_t)c->w * 4)
        png_error(c->png, "unexpected row size after conversion to RGBA");
    /* The output and the row pointers are both counted in the budget. */
    c->px_bytes = (size_t)c->w * c->h * 4;
    if (!cx_budget_take(c->budget, c->px_bytes)) {
        c->px_bytes = 0;
        png_error(c->png, "outofmem");
    }
    c->px = malloc(c->px_bytes);
    c->rows = cx_budget_malloc(c->budget, (size_t)c->h * sizeof *c->rows);
    if (!c->px || !c->rows) png_error(c->png, "outofmem");
    for (png_uint_32 y = 0; y < c->h; y++)
        c->rows[y] = c->px + (size_t)y * c->w * 4;
    c->interlaced = il != PNG_INTERLACE_NONE;
    c->decoding = 1;
    png_read_image(c->png, c->rows);
    /* To IEND, so that a file cut after its image data is seen as cut. */
    png_read_end(c->png, NULL);
    return 1;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* The file's chunks, walked by their lengths, end in a whole IEND chunk. */
static int chunks_complete(const uint8_t *d, size_t len)
{
    size_t p = 8;
    while (len - p >= 12) {
        uint32_t n = be32(d + p);
        if (n > len - p - 12) return 0;
        if (memcmp(d + p + 4, "IEND", 4) == 0) return 1;
        p += 12 + (size_t)n;
    }
    return 0;
}

static cx_status fail(pctx *c, const char *name, cx_error *err)
{
    if (c->budget && c->budget->refused)
        return cx_fail(err, CX_ERR_FORMAT,
                       "%s: corrupt image: decoding it would take more than %zu MB for its "
                       "declared %ux%u pixels (the limit for that size)",
                       name, c->budget->limit >> 20, (unsigned)c->w, (unsigned)c->h);
    if (c->overrun)
        return cx_fail(err, CX_ERR_FORMAT, "%s: truncated image (data ends early)", name);
    if (!c->png || !c->info || strcmp(c->msg, "outofmem") == 0 ||
        strcasecmp(c->msg, "out of memory") == 0)
        return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory decoding a PNG", name);
    return cx_fail(err, CX_ERR_FORMAT, "%s: corrupt PNG (%s)", name, c->msg);
}

cx_status cx_png_info(const uint8_t *data, size_t len, const char *name, cx_decode_budget *b,
                      int *x, int *y, int *comp, cx_error *err)
{
    pctx c = {.data = data, .len = len, .budget = b};
    cx_status st = CX_OK;
    if (!ctx_open(&c) || !run(&c, 0)) {
        st = fail(&c, name, err);
    } else {
        *x = (int)c.w;
        *y = (int)c.h;
        *comp = c.comp;
    }
    ctx_close(&c);
    return st;
}

cx_status cx_png_decode_rgba(const uint8_t *data, size_t len, const char *name, cx_decode_budget *b,
                             uint8_t **out, int *x, int *y, cx_error *err)
{
    *out = NULL;
    pctx c = {.data = data, .len = len, .budget = b};
    cx_status st = CX_OK;
    int ok = ctx_open(&c) && run(&c, 1);
    if (c.stopped) { /* every row decoded; the rest only needs to be there */
        ok = chunks_complete(data, len);
        c.overrun = !ok;
    }
    if (!ok) {
        st = fail(&c, name, err);
        free(c.px);
        c.px = NULL;
    } else {
        *out = c.px;
        *x = (int)c.w;
        *y = (int)c.h;
    }
    ctx_close(&c);
    cx_budget_give(b, c.px_bytes); /* the caller frees the pixels */
    return st;
}
