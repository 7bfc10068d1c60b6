/* Image decoding: Cortex's decoders (libpng and libjpeg-turbo on the
 * decode's memory budget, lib/src/png_decode.c and jpeg_decode.c) against
 * Debian's libstb.so (what the library used before) and libpng 1.6's
 * simplified API, on photo-like PNG and JPEG files made here, and on a zlib
 * bomb (a 32x32 PNG whose data inflates to 256 MB):
 * decode time (median of several runs, one thread) and, for the bomb, the
 * memory each decoder takes (each in a child process of its own). The machine's limit printed first
 * is its memcpy bandwidth, the bound of a decoder that only moves bytes. Usage: bench_decode
 * [REPEATS]   (default 15) */
#include <png.h>
#include <stdio.h>
#include <jpeglib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>
#include <zlib.h>

#include <stb/stb_image.h>
#include <stb/stb_image_write.h>

#include "cortex/image.h"
#include "image_util.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static long maxrss_kb(void)
{
    struct rusage r;
    getrusage(RUSAGE_SELF, &r);
    return r.ru_maxrss;
}

typedef struct membuf {
    unsigned char *d;
    size_t n, cap;
} membuf;

static void put(void *ctx, void *data, int size)
{
    membuf *m = ctx;
    if (m->n + (size_t)size > m->cap) {
        m->cap = (m->n + (size_t)size) * 2;
        m->d = realloc(m->d, m->cap);
    }
    memcpy(m->d + m->n, data, (size_t)size);
    m->n += (size_t)size;
}

typedef struct rd {
    const unsigned char *d;
    size_t n, pos;
} rd;

static int rd_read(void *u, char *out, int size)
{
    rd *r = u;
    size_t k = r->n - r->pos < (size_t)size ? r->n - r->pos : (size_t)size;
    memcpy(out, r->d + r->pos, k);
    r->pos += k;
    return (int)k;
}
static void rd_skip(void *u, int n)
{
    rd *r = u;
    if (n < 0 && (size_t)-n > r->pos)
        r->pos = 0;
    else if (n > 0 && (size_t)n > r->n - r->pos)
        r->pos = r->n;
    else
        r->pos += n;
}
static int rd_eof(void *u)
{
    rd *r = u;
    return r->pos >= r->n;
}

/* 0: Cortex (libpng or libjpeg-turbo on a budget), 1: libstb.so, 2: libpng */
static int decode(int which, const unsigned char *d, size_t n, int w, int h)
{
    int x = 0, y = 0, c = 0, ok = 0;
    if (which == 0) {
        cx_decode_budget b = {cx_decode_budget_for(n, w, h), 0, 0, 0};
        uint8_t *px = NULL;
        cx_error err;
        ok = (cx_png_detect(d, n) ? cx_png_decode_rgba : cx_jpeg_decode_rgba)(
                 d, n, "bench", &b, &px, &x, &y, &err) == CX_OK;
        free(px);
    } else if (which == 1) {
        stbi_io_callbacks cb = {rd_read, rd_skip, rd_eof};
        rd r = {d, n, 0};
        unsigned char *px = stbi_load_from_callbacks(&cb, &r, &x, &y, &c, 4);
        ok = px != NULL;
        stbi_image_free(px);
    } else {
        png_image im;
        memset(&im, 0, sizeof im);
        im.version = PNG_IMAGE_VERSION;
        if (png_image_begin_read_from_memory(&im, d, n)) {
            im.format = PNG_FORMAT_RGBA;
            unsigned char *px = malloc(PNG_IMAGE_SIZE(im));
            ok = px && png_image_finish_read(&im, NULL, px, 0, NULL);
            free(px);
        }
        png_image_free(&im);
    }
    return ok;
}

static double median_ms(int which, const unsigned char *d, size_t n, int w, int h, int reps,
                        int *ok)
{
    double t[64];
    if (reps > 64) reps = 64;
    for (int i = 0; i < reps; i++) {
        double t0 = now();
        *ok = decode(which, d, n, w, h);
        t[i] = (now() - t0) * 1e3;
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_d);
    return t[reps / 2];
}

static void photo(unsigned char *px, int w, int h)
{
    unsigned s = 12345;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            s = s * 1103515245u + 12345u;
            unsigned noise = (s >> 16) & 15;
            unsigned char *p = px + ((size_t)y * w + x) * 3;
            p[0] = (unsigned char)((x * 255 / w + noise) & 255);
            p[1] = (unsigned char)((y * 255 / h + noise) & 255);
            p[2] = (unsigned char)(((x ^ y) & 64) + 60 + noise);
        }
}

/* A w x h gray PNG whose IDAT inflates to `zeros` bytes. */
static void bomb_png(membuf *m, size_t zeros)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    put(m, (void *)sig, 8);
    unsigned char ihdr[25] = {0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 32, 0, 0, 0, 32, 8, 0};
    uLong crc = crc32(0, ihdr + 4, 17);
    for (int i = 0; i < 4; i++)
        ihdr[21 + i] = (unsigned char)(crc >> (24 - 8 * i));
    put(m, ihdr, 25);
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    deflateInit(&zs, 9);
    static unsigned char zero[1 << 16];
    size_t cap = zeros / 500 + 4096, len = 0;
    unsigned char *z = malloc(cap);
    size_t left = zeros;
    for (;;) {
        if (zs.avail_in == 0 && left) {
            size_t k = left < sizeof zero ? left : sizeof zero;
            zs.next_in = zero, zs.avail_in = (uInt)k, left -= k;
        }
        if (cap - len < 1 << 14) z = realloc(z, cap *= 2);
        zs.next_out = z + len, zs.avail_out = (uInt)(cap - len);
        int r = deflate(&zs, left || zs.avail_in ? Z_NO_FLUSH : Z_FINISH);
        len = cap - zs.avail_out;
        if (r == Z_STREAM_END) break;
    }
    deflateEnd(&zs);
    unsigned char b[8] = {(unsigned char)(len >> 24),
                          (unsigned char)(len >> 16),
                          (unsigned char)(len >> 8),
                          (unsigned char)len,
                          'I',
                          'D',
                          'A',
                          'T'};
    put(m, b, 8);
    put(m, z, (int)len);
    crc = crc32(crc32(0, b + 4, 4), z, (uInt)len);
    for (int i = 0; i < 4; i++)
        b[i] = (unsigned char)(crc >> (24 - 8 * i));
    put(m, b, 4);
    static const unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
    put(m, (void *)iend, 12);
    free(z);
}

/* The zlib bomb, each decoder in a child process of its own, so that its
 * peak resident size is its own. */
static void bomb_run(void)
{
    membuf m = {0};
    bomb_png(&m, 256u << 20);
    printf("zlib bomb: a 32x32 gray PNG of %zu bytes whose data inflates to 256 MB\n", m.n);
    fflush(stdout);
    static const char *names[3] = {"cortex (libpng/libjpeg-turbo, budget)",
                                   "libstb.so (stb_image 2.27)", "libpng 1.6 (simplified API)"};
    for (int which = 0; which < 3; which++) {
        pid_t pid = fork();
        if (pid == 0) {
            long before = maxrss_kb();
            double t0 = now();
            int ok;
            cx_decode_budget peak = {0};
            if (which == 0) {
                uint8_t out[32 * 32];
                cx_error err;
                ok = cx_image_decode(m.d, m.n, "bomb.png", 1, 32, 32, out, &err) == CX_OK;
                peak = cx_image_last_budget();
            } else {
                ok = decode(which, m.d, m.n, 32, 32);
            }
            double ms = (now() - t0) * 1e3;
            long grew = maxrss_kb() - before;
            printf("  %-38s %s in %.1f ms; peak resident size grew %.1f MB", names[which],
                   ok ? "decoded" : "refused", ms, grew / 1024.0);
            if (which == 0)
                printf(" (allocator's peak %.1f MB, budget %.1f MB)", peak.peak / 1048576.0,
                       peak.limit / 1048576.0);
            printf("\n");
            fflush(stdout);
            _exit(0);
        }
        int status;
        waitpid(pid, &status, 0);
    }
    free(m.d);
}

int main(int argc, char **argv)
{
    int reps = argc > 1 ? atoi(argv[1]) : 15;
    if (reps < 1) reps = 1;
    char cpu[256] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f))
            if (!strncmp(line, "model name", 10)) {
                char *c = strchr(line, ':');
                if (c) snprintf(cpu, sizeof cpu, "%s", c + 2);
                cpu[strcspn(cpu, "\n")] = 0;
                break;
            }
        fclose(f);
    }
    size_t mb = 256u << 20;
    char *a = malloc(mb), *b2 = malloc(mb);
    memset(a, 1, mb), memset(b2, 2, mb);
    double best = 1e9;
    for (int i = 0; i < 5; i++) {
        double t0 = now();
        memcpy(b2, a, mb);
        double t = now() - t0;
        if (t < best) best = t;
    }
#define STR2(x) #x
#define STR(x) STR2(x)
    printf("machine: %s; memcpy %.1f GB/s (one thread); libpng %s, libjpeg-turbo %s\n", cpu,
           mb / best / 1e9, png_libpng_ver, STR(LIBJPEG_TURBO_VERSION));
    free(a), free(b2);
    fflush(stdout);
    bomb_run();

    static const int sizes[][2] = {{640, 480}, {1920, 1080}};
    static const char *names[3] = {"cortex (libpng/libjpeg-turbo, budget)",
                                   "libstb.so (stb_image 2.27)", "libpng 1.6 (simplified API)"};
    printf("%-12s %-11s %-38s %10s\n", "file", "size", "decoder", "ms median");
    for (int s = 0; s < 2; s++) {
        int w = sizes[s][0], h = sizes[s][1];
        unsigned char *px = malloc((size_t)w * h * 3);
        photo(px, w, h);
        for (int k = 0; k < 2; k++) {
            membuf m = {0};
            if (k == 0)
                stbi_write_png_to_func(put, &m, w, h, 3, px, w * 3);
            else
                stbi_write_jpg_to_func(put, &m, w, h, 3, px, 90);
            for (int which = 0; which < (k == 0 ? 3 : 2); which++) {
                int ok = 0;
                double ms = median_ms(which, m.d, m.n, w, h, reps, &ok);
                printf("%-12s %4dx%-6d %-38s %10.2f%s\n", k == 0 ? "png" : "jpeg q90", w, h,
                       names[which], ms, ok ? "" : "  (failed)");
            }
            free(m.d);
        }
        free(px);
    }

    return 0;
}
