/* Image decoding: every writable format and channel count, the channel
 * rules, resizing, and hostile files (truncated, random, empty, huge declared
 * size, directories), which must be rejected with a message naming the file.
 * Every image is generated here in a temporary folder. */
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <jpeglib.h>
#include <stb/stb_image_write.h>

#include "image_util.h"
#include "testutil.h"

static char tmpdir[256];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void tmp_setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cx_test_image_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        exit(1);
    }
}

static void tmp_cleanup(void)
{
    nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *tpath(char *buf, const char *name)
{
    snprintf(buf, 512, "%s/%s", tmpdir, name);
    return buf;
}

static void write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    if (len) CU_ASSERT_EQUAL(fwrite(data, 1, len, f), len);
    fclose(f);
}

static uint8_t *read_bytes(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)n + 1);
    *len = fread(b, 1, (size_t)n, f);
    fclose(f);
    return b;
}

/* A binary PGM (P5) or PPM (P6) written by hand. */
static void write_pnm(const char *path, int w, int h, int comp, const uint8_t *px)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fprintf(f, "P%d\n# cortex test\n%d %d\n255\n", comp == 1 ? 5 : 6, w, h);
    fwrite(px, 1, (size_t)w * h * comp, f);
    fclose(f);
}

static void expect_reject(const char *path, const char *reason);

enum { FMT_PNG, FMT_BMP, FMT_TGA, FMT_JPG, FMT_PNM, NFMT };
static const char *const fmt_ext[NFMT] = {"png", "bmp", "tga", "jpg", "pnm"};

/* Writes px (w x h, comp interleaved) in a format; returns 0 if the format
 * cannot store this channel count. *keeps_alpha tells whether alpha
 * survives in the file. */
static int write_image(int fmt, const char *path, int w, int h, int comp, const uint8_t *px,
                       int *keeps_alpha)
{
    *keeps_alpha = fmt == FMT_PNG || fmt == FMT_TGA || (fmt == FMT_BMP && comp == 4);
    switch (fmt) {
    case FMT_PNG:
        return stbi_write_png(path, w, h, comp, px, w * comp);
    case FMT_BMP:
        return stbi_write_bmp(path, w, h, comp, px);
    case FMT_TGA:
        return stbi_write_tga(path, w, h, comp, px);
    case FMT_JPG:
        return stbi_write_jpg(path, w, h, comp, px, 95);
    case FMT_PNM:
        if (comp != 1 && comp != 3) return 0;
        write_pnm(path, w, h, comp, px);
        return 1;
    }
    return 0;
}

static int lum(int r, int g, int b)
{
    return (int)floor(0.299 * r + 0.587 * g + 0.114 * b + 0.5);
}
static int over_black(int v, int a)
{
    return (int)floor(v * a / 255.0 + 0.5);
}

/* Solid colours in every format, channel count and several sizes, loaded as
 * 1 and 3 channels at sizes up and down: every output pixel is the
 * documented conversion of the colour. */
static void test_solid_colours(void)
{
    static const int sizes[][2] = {{1, 1}, {7, 5}, {64, 48}, {33, 200}};
    static const uint8_t rgba[4] = {200, 100, 30, 160};
    char path[512];
    uint8_t *px = malloc(200 * 64 * 4), out[3 * 16 * 12];
    for (int fmt = 0; fmt < NFMT; fmt++)
        for (int comp = 1; comp <= 4; comp++)
            for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
                int w = sizes[s][0], h = sizes[s][1];
                for (int i = 0; i < w * h; i++)
                    for (int k = 0; k < comp; k++)
                        px[i * comp + k] = comp <= 2 ? (k == 0 ? rgba[0] : rgba[3]) : rgba[k];
                snprintf(path, sizeof path, "%s/solid_%d_%zu.%s", tmpdir, comp, s, fmt_ext[fmt]);
                int keeps_alpha;
                if (!write_image(fmt, path, w, h, comp, px, &keeps_alpha)) continue;
                int a = (comp == 2 || comp == 4) && keeps_alpha ? rgba[3] : 255;
                int r, g, b;
                if (comp <= 2) {
                    r = g = b = over_black(rgba[0], a);
                } else {
                    r = over_black(rgba[0], a);
                    g = over_black(rgba[1], a);
                    b = over_black(rgba[2], a);
                }
                int tol = fmt == FMT_JPG ? 4 : 1;
                cx_error err;
                CU_ASSERT_EQUAL_FATAL(cx_image_load(path, 3, 16, 12, out, &err), CX_OK);
                int bad = 0;
                for (int i = 0; i < 16 * 12; i++) {
                    bad += abs(out[i] - r) > tol;
                    bad += abs(out[192 + i] - g) > tol;
                    bad += abs(out[384 + i] - b) > tol;
                }
                CU_ASSERT_EQUAL(bad, 0);
                if (bad)
                    fprintf(stderr, "  %s: got %d %d %d, want %d %d %d\n", path, out[0], out[192],
                            out[384], r, g, b);
                CU_ASSERT_EQUAL_FATAL(cx_image_load(path, 1, 9, 10, out, &err), CX_OK);
                int want = comp <= 2 ? r : lum(r, g, b);
                bad = 0;
                for (int i = 0; i < 90; i++)
                    bad += abs(out[i] - want) > tol;
                CU_ASSERT_EQUAL(bad, 0);
            }
    free(px);
}

/* Without resizing, the output is the exact CHW transpose of the pixels
 * with the documented conversions. */
static void test_exact_conversions(void)
{
    enum { W = 13, H = 9 };
    cx_rng rng;
    cx_rng_seed(&rng, 5);
    uint8_t px[W * H * 4], out[3 * W * H];
    for (int i = 0; i < W * H * 4; i++)
        px[i] = (uint8_t)cx_rng_below(&rng, 256);
    char path[512];
    cx_error err;
    for (int comp = 1; comp <= 4; comp++) {
        snprintf(path, sizeof path, "%s/exact_%d.png", tmpdir, comp);
        CU_ASSERT_FATAL(stbi_write_png(path, W, H, comp, px, W * comp));
        for (int c = 1; c <= 3; c += 2) {
            CU_ASSERT_EQUAL_FATAL(cx_image_load(path, c, H, W, out, &err), CX_OK);
            int bad = 0;
            for (int i = 0; i < W * H; i++) {
                const uint8_t *p = px + i * comp;
                int a = comp == 2 ? p[1] : comp == 4 ? p[3] : 255;
                int r = over_black(p[0], a), g = r, b = r;
                if (comp >= 3) {
                    g = over_black(p[1], a);
                    b = over_black(p[2], a);
                }
                if (c == 1) {
                    bad += out[i] != (comp >= 3 ? lum(r, g, b) : r);
                } else {
                    bad += out[i] != r || out[W * H + i] != g || out[2 * W * H + i] != b;
                }
            }
            CU_ASSERT_EQUAL(bad, 0);
        }
    }
}

/* GIF (first frame; hand-written 1x1 white, opaque) and Radiance HDR
 * (tone-mapped with gamma 2.2, clamped). */
static void test_gif_and_hdr(void)
{
    static const uint8_t gif[] = {'G',  'I', 'F',  '8',  '9',  'a',  1,    0,    1,    0,    0x80,
                                  0,    0,   0xff, 0xff, 0xff, 0,    0,    0,    0x21, 0xf9, 0x04,
                                  0x00, 0,   0,    0,    0,    0x2c, 0,    0,    0,    0,    1,
                                  0,    1,   0,    0,    0x02, 0x02, 0x44, 0x01, 0x00, 0x3b};
    char path[512];
    cx_error err;
    uint8_t out[3 * 4 * 4];
    write_bytes(tpath(path, "white.gif"), gif, sizeof gif);
    CU_ASSERT_EQUAL_FATAL(cx_image_load(path, 3, 4, 4, out, &err), CX_OK);
    for (int i = 0; i < 48; i++)
        CU_ASSERT_EQUAL(out[i], 255);

    float hdr[3 * 2 * 2] = {0.25f, 0.25f, 0.25f, 1.0f, 1.0f, 1.0f, 4.0f, 4.0f, 4.0f, 0, 0, 0};
    CU_ASSERT_FATAL(stbi_write_hdr(tpath(path, "tone.hdr"), 2, 2, 3, hdr));
    CU_ASSERT_EQUAL_FATAL(cx_image_load(path, 1, 2, 2, out, &err), CX_OK);
    CU_ASSERT(abs(out[0] - (int)(pow(0.25, 1 / 2.2) * 255 + 0.5)) <= 1);
    CU_ASSERT_EQUAL(out[1], 255);
    CU_ASSERT_EQUAL(out[2], 255); /* 4.0 is clamped */
    CU_ASSERT_EQUAL(out[3], 0);
}

/* Downsampling averages (a fine checkerboard becomes mid-gray instead of
 * aliasing to black or white); upsampling interpolates within the range;
 * a horizontal ramp stays monotonic. */
static void test_resampling(void)
{
    enum { S = 64 };
    uint8_t px[S * S], out[32 * 32];
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            px[y * S + x] = ((x / 2 + y / 2) & 1) ? 255 : 0;
    char path[512];
    cx_error err;
    CU_ASSERT_FATAL(stbi_write_png(tpath(path, "checker.png"), S, S, 1, px, S));
    CU_ASSERT_EQUAL_FATAL(cx_image_load(path, 1, 8, 8, out, &err), CX_OK);
    for (int i = 0; i < 64; i++)
        CU_ASSERT(abs(out[i] - 128) <= 12);

    uint8_t two[2] = {0, 200};
    CU_ASSERT_FATAL(stbi_write_png(tpath(path, "two.png"), 2, 1, 1, two, 2));
    CU_ASSERT_EQUAL_FATAL(cx_image_load(path, 1, 1, 8, out, &err), CX_OK);
    for (int i = 0; i < 8; i++) {
        CU_ASSERT(out[i] <= 200);
        if (i) CU_ASSERT(out[i] >= out[i - 1]);
    }
    CU_ASSERT(out[0] <= 10 && out[7] >= 190);

    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++)
            px[y * S + x] = (uint8_t)(x * 4);
    CU_ASSERT_FATAL(stbi_write_png(tpath(path, "ramp.png"), S, S, 1, px, S));
    CU_ASSERT_EQUAL_FATAL(cx_image_load(path, 1, 32, 32, out, &err), CX_OK);
    for (int y = 0; y < 32; y++)
        for (int x = 1; x < 32; x++)
            CU_ASSERT(out[y * 32 + x] > out[y * 32 + x - 1]);
}

/* Against PyTorch's antialiased bilinear resize (tests/ref/image_resize.py),
 * up and down, both axes: every pixel is the reference rounded (0.5, plus
 * float summation order). */
static void test_resize_matches_pytorch(void)
{
    enum { W = 37, H = 23 };
    static const int sizes[4][2] = {{8, 11}, {5, 37}, {64, 50}, {23, 80}};
    float in[W * H], ref[64 * 80];
    CU_ASSERT_EQUAL_FATAL(cx_read_fixture("image_resize_in.f32", in, W * H), 0);
    uint8_t px[W * H], out[64 * 80];
    for (int i = 0; i < W * H; i++)
        px[i] = (uint8_t)in[i];
    char path[512];
    CU_ASSERT_FATAL(stbi_write_png(tpath(path, "torch.png"), W, H, 1, px, W));
    for (int k = 0; k < 4; k++) {
        int h = sizes[k][0], w = sizes[k][1];
        char name[64];
        snprintf(name, sizeof name, "image_resize_%dx%d.f32", h, w);
        CU_ASSERT_EQUAL_FATAL(cx_read_fixture(name, ref, (size_t)h * w), 0);
        cx_error err;
        CU_ASSERT_EQUAL_FATAL(cx_image_load(path, 1, h, w, out, &err), CX_OK);
        double worst = 0;
        for (int i = 0; i < h * w; i++)
            worst = fmax(worst, fabs(out[i] - ref[i]));
        CU_ASSERT(worst <= 0.501);
        if (worst > 0.501) fprintf(stderr, "  %dx%d: differs by %.3f\n", h, w, worst);
    }
}

/* Size ratios on which stb_image_resize 0.97 aborts (assertion in its
 * triangle filter, nothings/stb#1449) resize normally here. */
static void test_resize_ratios(void)
{
    enum { W = 37, H = 21 };
    uint8_t px[W * H * 3], out[3 * 64 * 64];
    for (int i = 0; i < W * H * 3; i++)
        px[i] = (uint8_t)(i * 7);
    char path[512];
    CU_ASSERT_FATAL(stbi_write_png(tpath(path, "ratios.png"), W, H, 3, px, W * 3));
    cx_error err;
    int failed = 0;
    for (int oh = 1; oh <= 64; oh += 3)
        for (int ow = 1; ow <= 64; ow += 5)
            failed += cx_image_load(path, 3, oh, ow, out, &err) != CX_OK;
    CU_ASSERT_EQUAL(failed, 0);
    CU_ASSERT_EQUAL(cx_image_load(path, 3, 16, 16, out, &err), CX_OK);
}

/* PSD (hand-written: 8-bit RGB, raw planar data) and 16-bit PGM. */
static void test_psd_and_pgm16(void)
{
    enum { W = 3, H = 2 };
    uint8_t psd[26 + 12 + 2 + 3 * W * H] = {'8', 'B', 'P', 'S', 0, 1};
    psd[13] = 3;              /* channels */
    psd[17] = H, psd[21] = W; /* big-endian 32-bit height, width */
    psd[23] = 8;              /* depth */
    psd[25] = 3;              /* RGB mode; then three empty sections and raw compression */
    uint8_t *planes = psd + 26 + 12 + 2;
    for (int i = 0; i < 3 * W * H; i++)
        planes[i] = (uint8_t)(10 + 13 * i);
    char path[512];
    write_bytes(tpath(path, "planar.psd"), psd, sizeof psd);
    uint8_t out[3 * W * H];
    cx_error err;
    CU_ASSERT_EQUAL_FATAL(cx_image_load(path, 3, H, W, out, &err), CX_OK);
    CU_ASSERT_EQUAL(memcmp(out, planes, sizeof out), 0); /* PSD data is already CHW */

    const char hdr[] = "P5\n2 1\n65535\n";
    uint8_t pgm[sizeof hdr - 1 + 4];
    memcpy(pgm, hdr, sizeof hdr - 1);
    memcpy(pgm + sizeof hdr - 1, "\x00\x00\xff\xff", 4);
    write_bytes(tpath(path, "deep.pgm"), pgm, sizeof pgm);
    CU_ASSERT_EQUAL_FATAL(cx_image_load(path, 1, 1, 2, out, &err), CX_OK);
    CU_ASSERT(out[0] == 0 && out[1] == 255);
    /* A small maxval is scaled to the full range. */
    write_bytes(tpath(path, "dim.pgm"), "P5 3 1 15\n\x0f\x00\x07", 13);
    CU_ASSERT_EQUAL_FATAL(cx_image_load(path, 1, 1, 3, out, &err), CX_OK);
    CU_ASSERT(out[0] == 255 && out[1] == 0 && out[2] == 119);
    write_bytes(tpath(path, "bad.pgm"), "P5 3 1 0\n\x0f\x00\x07", 12);
    expect_reject(path, "maxval");
}

static int names_file(const cx_error *err, const char *path)
{
    int ok = strstr(err->msg, path) != NULL;
    if (!ok) fprintf(stderr, "  message does not name %s: %s\n", path, err->msg);
    return ok;
}

/* Loads path expecting a failure whose message names the file and, if
 * reason is non-NULL, contains it. The output must be left untouched. */
static void expect_reject(const char *path, const char *reason)
{
    uint8_t out[3 * 8 * 8];
    memset(out, 0x5a, sizeof out);
    cx_error err = {{0}};
    cx_status st = cx_image_load(path, 3, 8, 8, out, &err);
    CU_ASSERT_NOT_EQUAL(st, CX_OK);
    CU_ASSERT(names_file(&err, path));
    if (reason) CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, reason));
    int touched = 0;
    for (size_t i = 0; i < sizeof out; i++)
        touched += out[i] != 0x5a;
    CU_ASSERT_EQUAL(touched, 0);
}

/* Every prefix of a PNG is rejected, except those that only lose the
 * final chunk's CRC (stb_image stops at the IEND type), which decode to the
 * same pixels. */
static void test_truncated_png(void)
{
    enum { W = 20, H = 15 };
    uint8_t px[W * H * 3];
    cx_rng rng;
    cx_rng_seed(&rng, 9);
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)cx_rng_below(&rng, 256);
    char path[512], cut[512];
    CU_ASSERT_FATAL(stbi_write_png(tpath(path, "full.png"), W, H, 3, px, W * 3));
    size_t len = 0;
    uint8_t *full = read_bytes(path, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(full);
    uint8_t want[3 * H * W], got[3 * H * W];
    cx_error err;
    CU_ASSERT_EQUAL_FATAL(cx_image_load(path, 3, H, W, want, &err), CX_OK);
    tpath(cut, "cut.png");
    int rejected = 0;
    for (size_t n = 0; n < len; n++) {
        write_bytes(cut, full, n);
        if (n + 4 < len) {
            expect_reject(cut, NULL);
            rejected++;
        } else if (cx_image_load(cut, 3, H, W, got, &err) == CX_OK) {
            CU_ASSERT_EQUAL(memcmp(got, want, sizeof got), 0);
        }
    }
    CU_ASSERT(rejected > 100);
    /* Corrupt bytes inside the compressed data: rejected or decoded, never
     * a crash (checked by the sanitizers). */
    for (size_t k = 40; k < len - 12; k += 7) {
        uint8_t keep = full[k];
        full[k] ^= 0x5a;
        write_bytes(cut, full, len);
        if (cx_image_load(cut, 3, H, W, got, &err) != CX_OK) CU_ASSERT(names_file(&err, cut));
        full[k] = keep;
    }
    free(full);
}

/* Every truncation of BMP, TGA, JPEG and PNM files is rejected: stb_image
 * alone would fill the missing data of a JPEG (as libjpeg does) or leave
 * raw TGA rows and PNM pixels uninitialized. */
static void test_truncated_other_formats(void)
{
    enum { W = 24, H = 16 };
    uint8_t px[W * H * 3], got[3 * H * W];
    for (size_t i = 0; i < sizeof px; i++)
        px[i] = (uint8_t)(i * 7);
    char path[512], cut[512];
    cx_error err;
    for (int fmt = FMT_BMP; fmt < NFMT; fmt++) {
        int keeps_alpha;
        snprintf(path, sizeof path, "%s/full.%s", tmpdir, fmt_ext[fmt]);
        CU_ASSERT_FATAL(write_image(fmt, path, W, H, 3, px, &keeps_alpha));
        size_t len = 0;
        uint8_t *full = read_bytes(path, &len);
        snprintf(cut, sizeof cut, "%s/cut.%s", tmpdir, fmt_ext[fmt]);
        for (size_t n = 0; n < len; n++) {
            write_bytes(cut, full, n);
            expect_reject(cut, n == 0 ? "empty" : NULL);
        }
        free(full);
    }
    /* Radiance HDR, flat (width < 8) and run-length encoded. */
    for (int wide = 0; wide < 2; wide++) {
        int w = wide ? 16 : 4;
        float hdr[16 * 4 * 3];
        for (int i = 0; i < w * 4 * 3; i++)
            hdr[i] = 0.01f * (float)(i % 97);
        CU_ASSERT_FATAL(stbi_write_hdr(tpath(path, "full.hdr"), w, 4, 3, hdr));
        size_t len = 0;
        uint8_t *full = read_bytes(path, &len);
        CU_ASSERT_EQUAL(cx_image_load(path, 3, H, W, got, &err), CX_OK);
        tpath(cut, "cut.hdr");
        for (size_t n = 0; n < len; n++) {
            write_bytes(cut, full, n);
            expect_reject(cut, NULL);
        }
        free(full);
    }
}

static void test_random_and_empty(void)
{
    char path[512];
    cx_rng rng;
    cx_rng_seed(&rng, 77);
    uint8_t buf[4096];
    tpath(path, "random.png");
    for (int t = 0; t < 200; t++) {
        size_t n = 1 + cx_rng_below(&rng, sizeof buf);
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)cx_rng_u32(&rng);
        write_bytes(path, buf, n);
        expect_reject(path, "not a readable image");
    }
    /* Random bytes behind a valid PNG signature. */
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    for (int t = 0; t < 100; t++) {
        size_t n = 8 + cx_rng_below(&rng, 512);
        memcpy(buf, sig, 8);
        for (size_t i = 8; i < n; i++)
            buf[i] = (uint8_t)cx_rng_u32(&rng);
        write_bytes(path, buf, n);
        expect_reject(path, NULL);
    }
    write_bytes(tpath(path, "empty.png"), "", 0);
    expect_reject(path, "empty");
    expect_reject(tpath(path, "missing.png"), "cannot open");
    CU_ASSERT_EQUAL(mkdir(tpath(path, "folder.png"), 0700), 0);
    expect_reject(path, "directory");
    CU_ASSERT_EQUAL(mkfifo(tpath(path, "pipe.png"), 0600), 0); /* must not block */
    expect_reject(path, "not a regular file");
}

/* Mutated files of every format (bytes flipped, then possibly cut):
 * each decodes or is rejected naming its source; never a crash, a hang or
 * a sanitizer report. */
static void test_mutations(void)
{
    enum { W = 19, H = 12 };
    uint8_t px[W * H * 4], out[3 * 8 * 8];
    for (int i = 0; i < W * H * 4; i++)
        px[i] = (uint8_t)((i * 37) ^ (i >> 3));
    float hdr[W * H * 3];
    for (int i = 0; i < W * H * 3; i++)
        hdr[i] = 0.02f * (float)(i % 71);
    char path[512];
    const char *files[] = {"m.png", "m.bmp", "m.tga",  "m.jpg",
                           "m.pnm", "m.hdr", "m4.hdr", "m4.tga"};
    int keeps;
    CU_ASSERT_FATAL(write_image(FMT_PNG, tpath(path, files[0]), W, H, 4, px, &keeps));
    CU_ASSERT_FATAL(write_image(FMT_BMP, tpath(path, files[1]), W, H, 3, px, &keeps));
    CU_ASSERT_FATAL(write_image(FMT_TGA, tpath(path, files[2]), W, H, 4, px, &keeps));
    CU_ASSERT_FATAL(write_image(FMT_JPG, tpath(path, files[3]), W, H, 3, px, &keeps));
    CU_ASSERT_FATAL(write_image(FMT_PNM, tpath(path, files[4]), W, H, 3, px, &keeps));
    CU_ASSERT_FATAL(stbi_write_hdr(tpath(path, files[5]), W, H, 3, hdr));
    CU_ASSERT_FATAL(stbi_write_hdr(tpath(path, files[6]), 4, H, 3, hdr));
    stbi_write_tga_with_rle = 0;
    CU_ASSERT_FATAL(write_image(FMT_TGA, tpath(path, files[7]), W, H, 4, px, &keeps));
    stbi_write_tga_with_rle = 1;
    int rounds = getenv("CX_SANITIZED") ? 150 : 400;
    cx_rng rng;
    cx_rng_seed(&rng, 2024);
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        size_t len = 0;
        uint8_t *orig = read_bytes(tpath(path, files[f]), &len), *buf = malloc(len);
        CU_ASSERT_PTR_NOT_NULL_FATAL(orig);
        for (int t = 0; t < rounds; t++) {
            memcpy(buf, orig, len);
            int flips = 1 + (int)cx_rng_below(&rng, 4);
            for (int k = 0; k < flips; k++)
                buf[cx_rng_below(&rng, (uint32_t)len)] ^= (uint8_t)(1 + cx_rng_below(&rng, 255));
            size_t n = cx_rng_below(&rng, 4) == 0 ? cx_rng_below(&rng, (uint32_t)len) : len;
            cx_error err = {{0}};
            if (cx_image_decode(buf, n, files[f], 3, 8, 8, out, &err) != CX_OK)
                CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, files[f]));
        }
        free(orig);
        free(buf);
    }
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

/* A PNG whose header declares w x h (valid CRCs) followed by a tiny IDAT.
 * Decoding it would need w*h*4 bytes; the sanitizer build aborts on such an
 * allocation, so passing there shows the rejection comes first. */
static void write_bomb_png(const char *path, uint32_t w, uint32_t h)
{
    uint8_t f[8 + 25 + 12 + 20 + 12];
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(f, sig, 8);
    uint8_t *c = f + 8;
    put_be32(c, 13);
    memcpy(c + 4, "IHDR", 4);
    put_be32(c + 8, w);
    put_be32(c + 12, h);
    c[16] = 8, c[17] = 2, c[18] = 0, c[19] = 0, c[20] = 0; /* 8-bit RGB */
    put_be32(c + 21, (uint32_t)crc32(0, c + 4, 17));
    c += 25;
    uint8_t z[8];
    uLongf zl = sizeof z + 12;
    uint8_t zbuf[32];
    memset(z, 0, sizeof z);
    compress(zbuf, &zl, z, sizeof z);
    put_be32(c, (uint32_t)zl);
    memcpy(c + 4, "IDAT", 4);
    memcpy(c + 8, zbuf, zl);
    put_be32(c + 8 + zl, (uint32_t)crc32(0, c + 4, (uInt)(4 + zl)));
    c += 12 + zl;
    put_be32(c, 0);
    memcpy(c + 4, "IEND", 4);
    put_be32(c + 8, (uint32_t)crc32(0, c + 4, 4));
    c += 12;
    write_bytes(path, f, (size_t)(c - f));
}

static void test_decompression_bomb(void)
{
    static const uint32_t dims[][2] = {{100000, 100000}, {20000, 10}, {10, 20000}, {9000, 9000}};
    char path[512];
    for (size_t i = 0; i < sizeof dims / sizeof dims[0]; i++) {
        snprintf(path, sizeof path, "%s/bomb%zu.png", tmpdir, i);
        write_bomb_png(path, dims[i][0], dims[i][1]);
        expect_reject(path, "decompression bomb");
        char want[64];
        snprintf(want, sizeof want, "%ux%u", dims[i][0], dims[i][1]);
        cx_error err;
        uint8_t out[3];
        cx_image_load(path, 3, 1, 1, out, &err);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, want));
        int w, h, c;
        CU_ASSERT_NOT_EQUAL(cx_image_info(path, &w, &h, &c, &err), CX_OK);
    }
    /* A JPEG frame header declaring 60000 x 50000. */
    static const uint8_t jpg[] = {0xff, 0xd8, 0xff, 0xe0, 0x00, 0x04, 0x00, 0x00, 0xff, 0xc0,
                                  0x00, 0x11, 0x08, 0xc3, 0x50, 0xea, 0x60, 0x03, 0x01, 0x22,
                                  0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01, 0xff, 0xd9};
    write_bytes(tpath(path, "bomb.jpg"), jpg, sizeof jpg);
    expect_reject(path, "declared size 60000x50000 is too large");
    /* Within the limits the same construction is only a corrupt image. */
    write_bomb_png(tpath(path, "small_bomb.png"), 300, 200);
    int w = 0, h = 0, c = 0;
    cx_error err;
    CU_ASSERT_EQUAL(cx_image_info(path, &w, &h, &c, &err), CX_OK);
    CU_ASSERT(w == 300 && h == 200 && c == 3);
    expect_reject(path, "corrupt");
}

/* A PNG of the given header whose IDAT holds `raw` followed by `zeros`
 * zero bytes, deflated (raw: the filtered scanlines; zeros: a zlib bomb). */
static void write_png_stream(const char *path, uint32_t w, uint32_t h, int depth, int colour,
                             int interlace, const uint8_t *raw, size_t rawlen, size_t zeros)
{
    FILE *f = fopen(path, "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    fwrite(sig, 1, 8, f);
    uint8_t ihdr[25];
    put_be32(ihdr, 13);
    memcpy(ihdr + 4, "IHDR", 4);
    put_be32(ihdr + 8, w);
    put_be32(ihdr + 12, h);
    ihdr[16] = (uint8_t)depth, ihdr[17] = (uint8_t)colour, ihdr[18] = 0, ihdr[19] = 0;
    ihdr[20] = (uint8_t)interlace;
    put_be32(ihdr + 21, (uint32_t)crc32(0, ihdr + 4, 17));
    fwrite(ihdr, 1, 25, f);
    /* deflate the whole stream into memory, then one IDAT chunk */
    z_stream zs = {0};
    CU_ASSERT_EQUAL_FATAL(deflateInit(&zs, 9), Z_OK);
    size_t cap = 1 << 16, len = 0;
    uint8_t *out = malloc(cap);
    static uint8_t zero[1 << 16];
    size_t left = zeros;
    int flush = Z_NO_FLUSH, done = 0;
    zs.next_in = (Bytef *)raw;
    zs.avail_in = (uInt)rawlen;
    while (!done) {
        if (zs.avail_in == 0) {
            if (left > 0) {
                size_t n = left < sizeof zero ? left : sizeof zero;
                zs.next_in = zero;
                zs.avail_in = (uInt)n;
                left -= n;
            }
            if (left == 0) flush = Z_FINISH;
        }
        if (cap - len < 1 << 15) out = realloc(out, cap *= 2);
        zs.next_out = out + len;
        zs.avail_out = (uInt)(cap - len);
        int r = deflate(&zs, flush);
        len = cap - zs.avail_out;
        done = r == Z_STREAM_END;
    }
    deflateEnd(&zs);
    uint8_t b[8];
    put_be32(b, (uint32_t)len);
    memcpy(b + 4, "IDAT", 4);
    fwrite(b, 1, 8, f);
    fwrite(out, 1, len, f);
    uLong crc = crc32(crc32(0, b + 4, 4), out, (uInt)len);
    put_be32(b, (uint32_t)crc);
    fwrite(b, 1, 4, f);
    static const uint8_t iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    fwrite(iend, 1, 12, f);
    fclose(f);
    free(out);
}

/* Filtered scanlines (filter byte 0) of a w x h image of `bpp` bytes per
 * pixel, with the Adam7 passes if interlaced; *len gets their size. */
static uint8_t *png_scanlines(uint32_t w, uint32_t h, int bpp, int interlace, size_t *len)
{
    static const int x0[7] = {0, 4, 0, 2, 0, 1, 0}, y0[7] = {0, 0, 4, 0, 2, 0, 1};
    static const int dx[7] = {8, 8, 4, 4, 2, 2, 1}, dy[7] = {8, 8, 8, 4, 4, 2, 2};
    size_t n = 0;
    for (int p = 0; p < (interlace ? 7 : 1); p++) {
        size_t pw = interlace ? (w - x0[p] + dx[p] - 1) / dx[p] : w;
        size_t ph = interlace ? (h - y0[p] + dy[p] - 1) / dy[p] : h;
        if (pw && ph) n += ph * (1 + pw * bpp);
    }
    uint8_t *raw = malloc(n);
    for (size_t i = 0; i < n; i++)
        raw[i] = (uint8_t)(i * 7);
    /* filter bytes: 0 at each row start */
    size_t o = 0;
    for (int p = 0; p < (interlace ? 7 : 1); p++) {
        size_t pw = interlace ? (w - x0[p] + dx[p] - 1) / dx[p] : w;
        size_t ph = interlace ? (h - y0[p] + dy[p] - 1) / dy[p] : h;
        if (!pw || !ph) continue;
        for (size_t r = 0; r < ph; r++, o += 1 + pw * bpp)
            raw[o] = 0;
    }
    *len = n;
    return raw;
}

/* A decode's memory is bounded by the declared size, whatever the
 * compressed data claims: a zlib stream that inflates to 256 MB inside a
 * 32x32 PNG takes well under 64 MB by the allocator's count (libpng inflates
 * only the declared rows and decodes them; stb_image 2.27 had to be refused
 * at its budget), and valid images of every kind stay well within theirs. */
static void test_decode_budget(void)
{
    char path[512];
    uint8_t out[3 * 32 * 32];
    cx_error err = {{0}};
    size_t raw_len;
    uint8_t *raw = png_scanlines(32, 32, 1, 0, &raw_len);
    size_t bomb_zeros = getenv("CX_SANITIZED") ? (64u << 20) : (256u << 20);
    write_png_stream(tpath(path, "zlib_bomb.png"), 32, 32, 8, 0, 0, raw, raw_len, bomb_zeros);
    free(raw);
    cx_status st = cx_image_load(path, 1, 32, 32, out, &err);
    if (st) CU_ASSERT(names_file(&err, path));
    cx_decode_budget b = cx_image_last_budget();
    CU_ASSERT(b.peak > 0);
    CU_ASSERT(b.peak <= b.limit);
    CU_ASSERT(b.peak < (64u << 20));
    fprintf(stderr, "  zlib bomb (%zu MB of zeros in a 32x32 PNG): %s, peak %zu bytes of %zu\n",
            bomb_zeros >> 20, st ? "refused" : "decoded", b.peak, b.limit);

    /* The fuzz finding of issue 15: a 32x32 PNG whose first IDAT chunk
     * declares 2,046,824,570 bytes; stb_image reserved that much for it (and
     * the reader filled it: 2.0 GB resident, 1.4 s). */
    uint8_t idat[8 + 25 + 8 + 16];
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    memcpy(idat, sig, 8);
    uint8_t *c = idat + 8;
    put_be32(c, 13);
    memcpy(c + 4, "IHDR", 4);
    put_be32(c + 8, 32);
    put_be32(c + 12, 32);
    c[16] = 8, c[17] = 0, c[18] = 0, c[19] = 0, c[20] = 0;
    put_be32(c + 21, (uint32_t)crc32(0, c + 4, 17));
    c += 25;
    put_be32(c, 2046824570u);
    memcpy(c + 4, "IDAT", 4);
    memset(c + 8, 0x78, 16);
    write_bytes(tpath(path, "idat_length.png"), idat, sizeof idat);
    st = cx_image_load(path, 1, 32, 32, out, &err);
    CU_ASSERT_EQUAL(st, CX_ERR_FORMAT);
    CU_ASSERT(names_file(&err, path));
    b = cx_image_last_budget();
    CU_ASSERT(b.peak < (64u << 20));

    /* Valid images: 8- and 16-bit PNG, gray to RGBA, plain and interlaced,
     * and the formats stb_image_write makes; the peak per pixel is printed
     * with CX_VERBOSE=1 (CX_DECODE_BYTES_PER_PIXEL must stay well above it). */
    static const struct {
        int depth, colour, bpp, interlace;
    } pngs[] = {{8, 0, 1, 0},  {8, 2, 3, 0},  {8, 6, 4, 1},
                {16, 6, 8, 0}, {16, 6, 8, 1}, {16, 0, 2, 1}};
    enum { W = 640, H = 480 };
    double worst = 0;
    for (size_t i = 0; i < sizeof pngs / sizeof pngs[0]; i++) {
        raw = png_scanlines(W, H, pngs[i].bpp, pngs[i].interlace, &raw_len);
        snprintf(path, sizeof path, "%s/valid%zu.png", tmpdir, i);
        write_png_stream(path, W, H, pngs[i].depth, pngs[i].colour, pngs[i].interlace, raw, raw_len,
                         0);
        free(raw);
        CU_ASSERT_EQUAL(cx_image_load(path, 3, 32, 32, out, &err), CX_OK);
        b = cx_image_last_budget();
        CU_ASSERT(!b.refused);
        double per = (double)b.peak / (W * H);
        if (getenv("CX_VERBOSE")) fprintf(stderr, "  png %zu: %.2f B/px\n", i, per);
        if (per > worst) worst = per;
    }
    uint8_t *px = malloc((size_t)W * H * 4);
    for (size_t i = 0; i < (size_t)W * H * 4; i++)
        px[i] = (uint8_t)(i * 13 + i / 977);
    const char *kinds[] = {"jpg", "bmp", "tga"};
    for (int comp = 1; comp <= 4; comp++)
        for (int k = 0; k < 3; k++) {
            snprintf(path, sizeof path, "%s/valid_%d.%s", tmpdir, comp, kinds[k]);
            int ok = k == 0   ? stbi_write_jpg(path, W, H, comp, px, 90)
                     : k == 1 ? stbi_write_bmp(path, W, H, comp, px)
                              : stbi_write_tga(path, W, H, comp, px);
            CU_ASSERT_FATAL(ok);
            CU_ASSERT_EQUAL(cx_image_load(path, 3, 32, 32, out, &err), CX_OK);
            b = cx_image_last_budget();
            double per = (double)b.peak / (W * H);
            if (getenv("CX_VERBOSE")) fprintf(stderr, "  %s %d: %.2f B/px\n", kinds[k], comp, per);
            if (per > worst) worst = per;
        }
    free(px);
    fprintf(stderr, "  valid images: peak %.1f bytes per pixel at most (budget %d + slack)\n",
            worst, CX_DECODE_BYTES_PER_PIXEL);
    /* The most measured: 7 bytes per pixel (libpng: the RGBA result and its
     * row buffers; stb_image 2.27 needed 28 for a 16-bit interlaced PNG). */
    CU_ASSERT(worst * 1.5 < CX_DECODE_BYTES_PER_PIXEL);
}

/* Writes w x h pixels of `comp` (3: RGB, 4: CMYK) as a JPEG with libjpeg,
 * progressive if asked; *len gets its size. */
static uint8_t *libjpeg_encode(int w, int h, int comp, const uint8_t *px, int progressive,
                               size_t *len)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    unsigned char *out = NULL;
    unsigned long n = 0;
    jpeg_mem_dest(&c, &out, &n);
    c.image_width = (JDIMENSION)w, c.image_height = (JDIMENSION)h;
    c.input_components = comp;
    c.in_color_space = comp == 4 ? JCS_CMYK : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    if (progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(px + (size_t)c.next_scanline * w * comp);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    uint8_t *copy = malloc(n);
    memcpy(copy, out, n);
    free(out);
    *len = n;
    return copy;
}

/* JPEG through libjpeg-turbo: progressive files decode; a file repeating
 * its last scan past CX_JPEG_MAX_SCANS (each scan a pass over the whole
 * image: the progressive-JPEG exploit LJT-01-004) is refused; Adobe CMYK
 * comes out as RGB. */
static void test_jpeg_limits(void)
{
    enum { W = 64, H = 48 };
    uint8_t px[W * H * 4], out[3 * H * W];
    for (int i = 0; i < W * H * 3; i++)
        px[i] = (uint8_t)(i % 3 == 0 ? 200 : i % 3 == 1 ? 90 : 30);
    char path[512];
    cx_error err = {{0}};
    size_t n = 0;
    uint8_t *prog = libjpeg_encode(W, H, 3, px, 1, &n);
    write_bytes(tpath(path, "progressive.jpg"), prog, n);
    CU_ASSERT_EQUAL_FATAL(cx_image_load(path, 3, H, W, out, &err), CX_OK);
    CU_ASSERT(abs(out[0] - 200) <= 3 && abs(out[H * W] - 90) <= 3 && abs(out[2 * H * W] - 30) <= 3);

    /* The last scan (its SOS to the EOI marker), repeated. */
    size_t last = 0;
    for (size_t i = 2; i + 1 < n; i++)
        if (prog[i] == 0xff && prog[i + 1] == 0xda) last = i;
    CU_ASSERT_FATAL(last > 0 && prog[n - 2] == 0xff && prog[n - 1] == 0xd9);
    size_t scan = n - 2 - last, copies = CX_JPEG_MAX_SCANS + 100;
    size_t big_n = last + copies * scan + 2;
    uint8_t *big = malloc(big_n);
    memcpy(big, prog, last);
    for (size_t k = 0; k < copies; k++)
        memcpy(big + last + k * scan, prog + last, scan);
    big[big_n - 2] = 0xff, big[big_n - 1] = 0xd9;
    write_bytes(tpath(path, "many_scans.jpg"), big, big_n);
    expect_reject(path, "scans");
    free(big);
    free(prog);

    /* CMYK as Adobe's inverted convention stores it: (c m y k) stored as
     * (200 90 30 255) is RGB (200 90 30). */
    for (int i = 0; i < W * H; i++)
        px[4 * i] = 200, px[4 * i + 1] = 90, px[4 * i + 2] = 30, px[4 * i + 3] = 255;
    uint8_t *cmyk = libjpeg_encode(W, H, 4, px, 0, &n);
    write_bytes(tpath(path, "cmyk.jpg"), cmyk, n);
    free(cmyk);
    int iw, ih, ic;
    CU_ASSERT_EQUAL(cx_image_info(path, &iw, &ih, &ic, &err), CX_OK);
    CU_ASSERT(iw == W && ih == H && ic == 3);
    CU_ASSERT_EQUAL_FATAL(cx_image_load(path, 3, H, W, out, &err), CX_OK);
    CU_ASSERT(abs(out[0] - 200) <= 3 && abs(out[H * W] - 90) <= 3 && abs(out[2 * H * W] - 30) <= 3);
}

static void test_arguments_and_info(void)
{
    uint8_t px[6 * 4 * 4] = {0}, out[3 * 4 * 4];
    char path[512];
    CU_ASSERT_FATAL(stbi_write_png(tpath(path, "args.png"), 6, 4, 4, px, 24));
    cx_error err;
    CU_ASSERT_EQUAL(cx_image_load(path, 2, 4, 4, out, &err), CX_ERR_ARG);
    CU_ASSERT_EQUAL(cx_image_load(path, 3, 0, 4, out, &err), CX_ERR_ARG);
    CU_ASSERT_EQUAL(cx_image_load(path, 3, 4, 100000, out, &err), CX_ERR_ARG);
    CU_ASSERT_EQUAL(cx_image_load(NULL, 3, 4, 4, out, &err), CX_ERR_ARG);
    CU_ASSERT_EQUAL(cx_image_decode(NULL, 0, "x", 3, 4, 4, out, &err), CX_ERR_ARG);
    int w, h, c;
    CU_ASSERT_EQUAL(cx_image_info(path, &w, &h, &c, &err), CX_OK);
    CU_ASSERT(w == 6 && h == 4 && c == 4);

    CU_ASSERT(cx_image_known_extension("a/b/c.PNG"));
    CU_ASSERT(cx_image_known_extension("x.jpeg"));
    CU_ASSERT(cx_image_known_extension("x.Jpg"));
    CU_ASSERT(cx_image_known_extension("x.pgm"));
    CU_ASSERT(!cx_image_known_extension("x.txt"));
    CU_ASSERT(!cx_image_known_extension("png"));
    CU_ASSERT(!cx_image_known_extension(".png"));
    CU_ASSERT(!cx_image_known_extension("dir.png/file"));
}

/* A large photo-sized image is reduced in one call. */
static void test_large_downscale(void)
{
    int W = getenv("CX_SANITIZED") ? 800 : 2000, H = W * 3 / 4;
    uint8_t *px = malloc((size_t)W * H * 3);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            uint8_t *p = px + ((size_t)y * W + x) * 3;
            p[0] = (uint8_t)(255 * x / W), p[1] = (uint8_t)(255 * y / H), p[2] = 90;
        }
    char path[512];
    CU_ASSERT_FATAL(stbi_write_bmp(tpath(path, "large.bmp"), W, H, 3, px));
    free(px);
    uint8_t out[3 * 24 * 32];
    cx_error err;
    CU_ASSERT_EQUAL_FATAL(cx_image_load(path, 3, 24, 32, out, &err), CX_OK);
    for (int x = 1; x < 32; x++)
        CU_ASSERT(out[5 * 32 + x] >= out[5 * 32 + x - 1]);
    for (int y = 1; y < 24; y++)
        CU_ASSERT(out[768 + y * 32] >= out[768 + (y - 1) * 32]);
    for (int i = 0; i < 768; i++)
        CU_ASSERT(abs(out[1536 + i] - 90) <= 1);
}

int main(void)
{
    tmp_setup();
    static const cx_test tests[] = {
        {"solid colours: formats x channels x sizes", test_solid_colours},
        {"exact channel conversions", test_exact_conversions},
        {"gif and hdr", test_gif_and_hdr},
        {"resampling", test_resampling},
        {"resize matches pytorch", test_resize_matches_pytorch},
        {"resize at many ratios", test_resize_ratios},
        {"psd and 16-bit pgm", test_psd_and_pgm16},
        {"truncated png rejected", test_truncated_png},
        {"truncated jpg/bmp/tga/pnm rejected", test_truncated_other_formats},
        {"random bytes, empty, missing, directory", test_random_and_empty},
        {"decompression bomb rejected", test_decompression_bomb},
        {"decoding within a budget from the declared size", test_decode_budget},
        {"jpeg: progressive, too many scans, cmyk", test_jpeg_limits},
        {"mutated files", test_mutations},
        {"arguments and info", test_arguments_and_info},
        {"large downscale", test_large_downscale},
        {NULL, NULL},
    };
    int rc = cx_test_main("image", tests);
    if (!getenv("CX_KEEP")) tmp_cleanup();
    return rc;
}
