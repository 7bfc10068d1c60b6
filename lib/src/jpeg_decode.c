/* JPEG through Debian's libjpeg-turbo (the libjpeg 6.2 API), with limits.
 *
 * - Memory: the decoder's memory manager is held to what is left of the
 *   decode's budget (decode_budget.c) once the RGBA output is counted, via
 *   max_memory_to_use, which libjpeg-turbo honours for its large buffers
 *   (the whole-image coefficient arrays of progressive and multi-scan
 *   files); past it the decode fails, as it has no backing store. Its other
 *   buffers are a few rows wide.
 * - Time: a progressive file may hold any number of scans, each a pass over
 *   the whole image (the exploit of "Two Issues with the JPEG Standard",
 *   LJT-01-004). More than CX_JPEG_MAX_SCANS scans is refused, the limit
 *   TurboJPEG's own TJFLAG_LIMITSCANS applies.
 * - Truncation: libjpeg pads a file that ends early with an end-of-image
 *   marker and warns (JWRN_JPEG_EOF); that warning is an error here, so a
 *   cut file is rejected, never padded. Other warnings ("corrupt JPEG data:
 *   extraneous bytes") are the decoder resynchronizing on a damaged but
 *   complete file, as other tools accept them.
 * - Nothing is printed: messages are formatted into the error. */
#include <limits.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <jerror.h>

#include "cortex/image.h"
#include "image_util.h"

int cx_jpeg_detect(const uint8_t *d, size_t len)
{
    return len >= 3 && d[0] == 0xff && d[1] == 0xd8 && d[2] == 0xff;
}

typedef struct jerr {
    struct jpeg_error_mgr pub; /* first: libjpeg's err pointer is cast to jerr */
    jmp_buf jb;
    int truncated, too_many_scans;
    char msg[JMSG_LENGTH_MAX];
} jerr;

typedef struct jctx {
    struct jpeg_decompress_struct d;
    jerr e;
    struct jpeg_progress_mgr prog;
    int created;
    const uint8_t *data;
    size_t len;
    cx_decode_budget *budget;
    /* results */
    int w, h, comp;
    uint8_t *px; /* RGBA output, malloc'd, counted in the budget */
    size_t px_bytes;
} jctx;

static void error_exit(j_common_ptr c)
{
    jerr *e = (jerr *)c->err;
    (*c->err->format_message)(c, e->msg);
    longjmp(e->jb, 1);
}

static void emit_message(j_common_ptr c, int level)
{
    if (level >= 0) return; /* trace messages */
    if (c->err->msg_code == JWRN_JPEG_EOF) ((jerr *)c->err)->truncated = 1;
    c->err->num_warnings++;
}

static void output_message(j_common_ptr c)
{
    (void)c; /* the library never prints */
}

static void progress(j_common_ptr c)
{
    j_decompress_ptr d = (j_decompress_ptr)c;
    jerr *e = (jerr *)c->err;
    if (d->input_scan_number > CX_JPEG_MAX_SCANS) {
        e->too_many_scans = 1;
        snprintf(e->msg, sizeof e->msg, "more than %d scans", CX_JPEG_MAX_SCANS);
        longjmp(e->jb, 1);
    }
}

/* Adobe's CMYK (as Photoshop writes it, inverted) or plain CMYK, in place,
 * to RGBA: r = c k / 255 on the stored (inverted) values. */
static void cmyk_to_rgba(uint8_t *px, size_t npix, int inverted)
{
    for (size_t i = 0; i < npix; i++) {
        uint8_t *p = px + 4 * i;
        unsigned c = p[0], m = p[1], y = p[2], k = p[3];
        if (!inverted) c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
        p[0] = (uint8_t)((c * k + 127) / 255);
        p[1] = (uint8_t)((m * k + 127) / 255);
        p[2] = (uint8_t)((y * k + 127) / 255);
        p[3] = 255;
    }
}

/* Header only (decode = 0) or the whole image to RGBA. Everything the
 * longjmp must leave intact lives in *c. Returns 0 on a libjpeg error. */
static int run(jctx *c, int decode)
{
    c->d.err = jpeg_std_error(&c->e.pub);
    c->e.pub.error_exit = error_exit;
    c->e.pub.emit_message = emit_message;
    c->e.pub.output_message = output_message;
    if (setjmp(c->e.jb)) return 0;
    jpeg_create_decompress(&c->d);
    c->created = 1;
    c->prog.progress_monitor = progress;
    c->d.progress = &c->prog;
    jpeg_mem_src(&c->d, c->data, (unsigned long)c->len);
    jpeg_read_header(&c->d, TRUE);
    c->w = (int)c->d.image_width;
    c->h = (int)c->d.image_height;
    c->comp = c->d.num_components == 1 ? 1 : 3;
    if (c->d.num_components != 1 && c->d.num_components != 3 && c->d.num_components != 4) {
        snprintf(c->e.msg, sizeof c->e.msg, "%d colour components (1, 3 or 4 are supported)",
                 c->d.num_components);
        return 0;
    }
    if (!decode) return 1;

    int cmyk = c->d.jpeg_color_space == JCS_CMYK || c->d.jpeg_color_space == JCS_YCCK;
    c->d.out_color_space = cmyk ? JCS_CMYK : JCS_EXT_RGBA;
    c->px_bytes = (size_t)c->w * c->h * 4;
    if (!cx_budget_take(c->budget, c->px_bytes)) {
        c->px_bytes = 0;
        snprintf(c->e.msg, sizeof c->e.msg, "outofmem");
        return 0;
    }
    if (c->budget) {
        size_t left = c->budget->limit - c->budget->used;
        c->d.mem->max_memory_to_use = left > (size_t)LONG_MAX ? LONG_MAX : (long)left;
    }
    jpeg_start_decompress(&c->d);
    if ((int)c->d.output_width != c->w || (int)c->d.output_height != c->h ||
        c->d.output_components != 4) {
        snprintf(c->e.msg, sizeof c->e.msg, "unexpected output shape");
        return 0;
    }
    c->px = malloc(c->px_bytes);
    if (!c->px) {
        snprintf(c->e.msg, sizeof c->e.msg, "outofmem");
        return 0;
    }
    while (c->d.output_scanline < c->d.output_height) {
        JSAMPROW row = c->px + (size_t)c->d.output_scanline * c->w * 4;
        jpeg_read_scanlines(&c->d, &row, 1);
    }
    if (cmyk) cmyk_to_rgba(c->px, (size_t)c->w * c->h, c->d.saw_Adobe_marker);
    /* To the end-of-image marker, so that a file cut after its last scan
     * is seen as cut. */
    jpeg_finish_decompress(&c->d);
    return 1;
}

static cx_status fail(jctx *c, const char *name, cx_error *err)
{
    if (c->e.truncated)
        return cx_fail(err, CX_ERR_FORMAT, "%s: truncated image (data ends early)", name);
    /* Past the budget: our own count, or libjpeg's (which, held by
     * max_memory_to_use and without a backing store, fails this way). */
    if ((c->budget && c->budget->refused) || c->e.pub.msg_code == JERR_NO_BACKING_STORE)
        return cx_fail(err, CX_ERR_FORMAT,
                       "%s: corrupt image: decoding it would take more than %zu MB for its "
                       "declared %dx%d pixels (the limit for that size)",
                       name, c->budget ? c->budget->limit >> 20 : 0, c->w, c->h);
    if (strcmp(c->e.msg, "outofmem") == 0)
        return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory decoding a %dx%d JPEG", name, c->w,
                       c->h);
    if (c->e.too_many_scans)
        return cx_fail(err, CX_ERR_FORMAT,
                       "%s: corrupt JPEG: %s (a progressive file needs a few dozen)", name,
                       c->e.msg);
    return cx_fail(err, CX_ERR_FORMAT, "%s: corrupt JPEG (%s)", name,
                   c->e.msg[0] ? c->e.msg : "unknown error");
}

static void ctx_close(jctx *c)
{
    if (c->created) jpeg_destroy_decompress(&c->d);
    c->created = 0;
}

cx_status cx_jpeg_info(const uint8_t *data, size_t len, const char *name, int *x, int *y, int *comp,
                       cx_error *err)
{
    jctx *c = calloc(1, sizeof *c);
    if (!c) return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory", name);
    c->data = data, c->len = len;
    cx_status st = CX_OK;
    if (!run(c, 0)) {
        st = fail(c, name, err);
    } else {
        *x = c->w, *y = c->h, *comp = c->comp;
    }
    ctx_close(c);
    free(c);
    return st;
}

cx_status cx_jpeg_decode_rgba(const uint8_t *data, size_t len, const char *name,
                              cx_decode_budget *b, uint8_t **out, int *x, int *y, cx_error *err)
{
    *out = NULL;
    jctx *c = calloc(1, sizeof *c);
    if (!c) return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory", name);
    c->data = data, c->len = len, c->budget = b;
    cx_status st = CX_OK;
    /* A truncated file that still decodes (padded by libjpeg) is refused. */
    if (!run(c, 1) || c->e.truncated) {
        st = fail(c, name, err);
        free(c->px);
    } else {
        *out = c->px, *x = c->w, *y = c->h;
    }
    ctx_close(c);
    cx_budget_give(b, c->px_bytes); /* the caller frees the pixels */
    free(c);
    return st;
}
