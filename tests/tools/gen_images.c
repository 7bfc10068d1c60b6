/* Writes a small synthetic image-classification folder for the end-to-end
 * tests: three classes of 8x8-ish patterns drawn at several sizes, in every
 * format stb_image_write and a hand-written PGM/PPM give, in gray, gray +
 * alpha, RGB and RGBA, plus the awkward files a real folder has.
 *
 *   gen_images OUT PER_CLASS SEED [--split]
 *
 * Classes: "hbars" (horizontal bars), "vbars" (vertical bars), "dots". With
 * --split the images go to OUT/train/<class> and OUT/test/<class>. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <stb/stb_image_write.h>

static uint32_t state;
static uint32_t rnd(void)
{
    state ^= state << 13;
    state ^= state >> 17;
    state ^= state << 5;
    return state;
}

static void draw(int cls, int size, int ch, uint8_t *px)
{
    int period = 4 + (int)(rnd() % 3), phase = (int)(rnd() % period);
    uint8_t fg[4] = {(uint8_t)(180 + rnd() % 70), (uint8_t)(150 + rnd() % 100),
                     (uint8_t)(120 + rnd() % 130), 255};
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            int on;
            int yy = y * 16 / size, xx = x * 16 / size;
            if (cls == 0)
                on = (yy + phase) % period < period / 2;
            else if (cls == 1)
                on = (xx + phase) % period < period / 2;
            else
                on = (yy + phase) % period < 2 && (xx + phase) % period < 2;
            for (int c = 0; c < ch; c++) {
                int noise = (int)(rnd() % 30);
                int v = on ? fg[c] - noise : 20 + noise;
                if ((ch == 2 && c == 1) || (ch == 4 && c == 3)) v = 255 - (int)(rnd() % 40);
                px[(y * size + x) * ch + c] = (uint8_t)v;
            }
        }
}

static void write_pnm(const char *path, int size, int ch, const uint8_t *px)
{
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fprintf(f, "P%d\n%d %d\n255\n", ch == 1 ? 5 : 6, size, size);
    fwrite(px, 1, (size_t)size * size * ch, f);
    fclose(f);
}

static void mkdirs(const char *p)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", p);
    for (char *s = buf + 1; *s; s++)
        if (*s == '/') {
            *s = 0;
            mkdir(buf, 0755);
            *s = '/';
        }
    mkdir(buf, 0755);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: gen_images OUT PER_CLASS SEED [--split]\n");
        return 2;
    }
    const char *out = argv[1];
    int per = atoi(argv[2]), split = argc > 4 && !strcmp(argv[4], "--split");
    state = (uint32_t)atoi(argv[3]) * 2654435761u + 1;
    static const char *classes[3] = {"hbars", "vbars", "dots"};
    static const char *exts[] = {"png", "jpg", "bmp", "tga", "pgm"};
    static uint8_t px[96 * 96 * 4];
    char dir[4096], path[4200];
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < per; i++) {
            const char *part = split ? (i % 4 == 3 ? "test/" : "train/") : "";
            snprintf(dir, sizeof dir, "%s/%s%s", out, part, classes[k]);
            mkdirs(dir);
            int size = 16 + (int)(rnd() % 5) * 8; /* 16 .. 48 */
            int ch = 1 + (int)(rnd() % 4);        /* gray, gray+alpha, RGB, RGBA */
            const char *ext = exts[i % 5];
            if (!strcmp(ext, "pgm")) ch = ch >= 3 ? 3 : 1;
            if (!strcmp(ext, "jpg") && (ch == 2 || ch == 4)) ch--;
            draw(k, size, ch, px);
            snprintf(path, sizeof path, "%s/img%03d.%s", dir, i,
                     !strcmp(ext, "pgm") && ch == 3 ? "ppm" : ext);
            if (!strcmp(ext, "png")) stbi_write_png(path, size, size, ch, px, size * ch);
            if (!strcmp(ext, "jpg")) stbi_write_jpg(path, size, size, ch, px, 90);
            if (!strcmp(ext, "bmp")) stbi_write_bmp(path, size, size, ch, px);
            if (!strcmp(ext, "tga")) stbi_write_tga(path, size, size, ch, px);
            if (!strcmp(ext, "pgm")) write_pnm(path, size, ch, px);
        }
    }
    return 0;
}
