#include "plot.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stb/stb_easy_font.h>
#include <stb/stb_image_write.h>

#define WHITE 0xffffffu
#define BLACK 0x000000u
#define GRID 0xe0e0e0u
#define BLUE 0x1f77b4u
#define ORANGE 0xff7f0eu

int canvas_init(canvas *c, int w, int h)
{
    c->w = w;
    c->h = h;
    c->rgb = malloc((size_t)w * h * 3);
    if (!c->rgb) return -1;
    memset(c->rgb, 255, (size_t)w * h * 3);
    return 0;
}

void canvas_free(canvas *c)
{
    free(c->rgb);
    c->rgb = NULL;
}

static void put(canvas *c, int x, int y, uint32_t color)
{
    if (x < 0 || y < 0 || x >= c->w || y >= c->h) return;
    uint8_t *p = c->rgb + ((size_t)y * c->w + x) * 3;
    p[0] = (uint8_t)(color >> 16);
    p[1] = (uint8_t)(color >> 8);
    p[2] = (uint8_t)color;
}

void canvas_rect(canvas *c, int x0, int y0, int x1, int y1, uint32_t color)
{
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++)
            put(c, x, y, color);
}

void canvas_line(canvas *c, double x0, double y0, double x1, double y1, uint32_t color, int width)
{
    double dx = x1 - x0, dy = y1 - y0;
    int steps = (int)ceil(fmax(fabs(dx), fabs(dy))) + 1;
    for (int i = 0; i <= steps; i++) {
        double t = (double)i / steps;
        int x = (int)lround(x0 + t * dx), y = (int)lround(y0 + t * dy);
        for (int a = -(width / 2); a <= (width - 1) / 2; a++)
            for (int b = -(width / 2); b <= (width - 1) / 2; b++)
                put(c, x + a, y + b, color);
    }
}

int canvas_text_width(const char *s, int scale)
{
    return stb_easy_font_width((char *)s) * scale;
}

int canvas_text(canvas *c, int x, int y, const char *s, uint32_t color, int scale)
{
    static char buf[64 * 1024];
    int quads = stb_easy_font_print(0, 0, (char *)s, NULL, buf, sizeof buf);
    for (int q = 0; q < quads; q++) {
        /* Each quad is 4 vertices of (x, y, z, rgba) = 16 bytes; an axis-aligned box. */
        float *v = (float *)(buf + q * 64);
        float qx0 = v[0], qy0 = v[1], qx1 = v[8], qy1 = v[9];
        canvas_rect(c, x + (int)(qx0 * scale), y + (int)(qy0 * scale), x + (int)(qx1 * scale),
                    y + (int)(qy1 * scale), color);
    }
    return canvas_text_width(s, scale);
}

cx_status canvas_save_png(const canvas *c, const char *path, cx_error *err)
{
    if (!stbi_write_png(path, c->w, c->h, 3, c->rgb, c->w * 3))
        return cx_fail(err, CX_ERR_IO, "%s: cannot write PNG", path);
    return CX_OK;
}

/* One panel: series of y values over epochs 1..n, in the box [x0,x1]x[y0,y1]. */
typedef struct {
    const float *v;
    int stride; /* in floats between consecutive epochs */
    uint32_t color;
    const char *name;
} series;

static void nice_range(double *lo, double *hi)
{
    if (!(*hi > *lo)) {
        *hi = *lo + 1.0;
        *lo -= 1.0;
    }
    double pad = 0.05 * (*hi - *lo);
    *lo -= pad;
    *hi += pad;
}

static void panel(canvas *c, int x0, int y0, int x1, int y1, const char *title, series *s, int ns,
                  int n, int clamp01)
{
    double lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < n; i++) {
            float v = s[k].v[(size_t)i * s[k].stride];
            if (v < 0 || !isfinite(v)) continue; /* -1 marks "no value" */
            lo = fmin(lo, v);
            hi = fmax(hi, v);
        }
    if (!isfinite(lo)) lo = 0, hi = 1;
    nice_range(&lo, &hi);
    if (clamp01) {
        lo = fmax(lo, 0.0);
        hi = fmin(hi, 1.0);
    }
    canvas_text(c, x0, y0 - 22, title, BLACK, 2);
    for (int g = 0; g <= 4; g++) {
        double v = lo + (hi - lo) * g / 4.0;
        int y = y1 - (int)((y1 - y0) * g / 4.0);
        canvas_line(c, x0, y, x1, y, GRID, 1);
        char lab[32];
        snprintf(lab, sizeof lab, clamp01 ? "%.3f" : "%.3g", v);
        canvas_text(c, x0 - canvas_text_width(lab, 1) - 6, y - 4, lab, BLACK, 1);
    }
    canvas_line(c, x0, y0, x0, y1, BLACK, 1);
    canvas_line(c, x0, y1, x1, y1, BLACK, 1);
    for (int i = 0; i < n; i++) {
        if (n > 12 && i % ((n + 11) / 12) != 0 && i != n - 1) continue;
        double x = n > 1 ? x0 + (double)(x1 - x0) * i / (n - 1) : (x0 + x1) / 2.0;
        char lab[16];
        snprintf(lab, sizeof lab, "%d", i + 1);
        canvas_text(c, (int)x - canvas_text_width(lab, 1) / 2, y1 + 6, lab, BLACK, 1);
    }
    canvas_text(c, (x0 + x1) / 2 - 15, y1 + 18, "epoch", BLACK, 1);
    int ly = y0 + 4;
    for (int k = 0; k < ns; k++) {
        double px = -1, py = -1;
        for (int i = 0; i < n; i++) {
            float v = s[k].v[(size_t)i * s[k].stride];
            if (v < 0 || !isfinite(v)) continue;
            double x = n > 1 ? x0 + (double)(x1 - x0) * i / (n - 1) : (x0 + x1) / 2.0;
            double y = y1 - (y1 - y0) * (v - lo) / (hi - lo);
            if (y < y0) y = y0;
            if (y > y1) y = y1;
            if (px >= 0) canvas_line(c, px, py, x, y, s[k].color, 2);
            canvas_rect(c, (int)x - 2, (int)y - 2, (int)x + 3, (int)y + 3, s[k].color);
            px = x;
            py = y;
        }
        if (px >= 0) {
            canvas_rect(c, x1 - 110, ly, x1 - 96, ly + 10, s[k].color);
            canvas_text(c, x1 - 90, ly + 1, s[k].name, BLACK, 1);
            ly += 16;
        }
    }
}

cx_status plot_learning_curve(const char *path, const char *title, const cx_epoch_report *hist,
                              int n, cx_error *err)
{
    canvas c;
    if (canvas_init(&c, 1000, 420)) return cx_fail(err, CX_ERR_NOMEM, "plot: out of memory");
    canvas_text(&c, 20, 10, title, BLACK, 2);
    int stride = (int)(sizeof *hist / sizeof(float));
    series loss[2] = {{&hist[0].train_loss, stride, BLUE, "train"},
                      {&hist[0].val_loss, stride, ORANGE, "validation"}};
    series acc[2] = {{&hist[0].train_acc, stride, BLUE, "train"},
                     {&hist[0].val_acc, stride, ORANGE, "validation"}};
    if (n > 0) {
        panel(&c, 80, 70, 470, 370, "loss", loss, 2, n, 0);
        panel(&c, 580, 70, 970, 370, "accuracy", acc, 2, n, 1);
    }
    cx_status st = canvas_save_png(&c, path, err);
    canvas_free(&c);
    return st;
}

cx_status plot_confusion(const char *path, const cx_confusion *cm, const char *const *labels,
                         cx_error *err)
{
    int k = cm->k, cell = k <= 12 ? 48 : (k <= 40 ? 20 : 8), left = 140, top = 60;
    canvas c;
    if (canvas_init(&c, left + k * cell + 40, top + k * cell + 120))
        return cx_fail(err, CX_ERR_NOMEM, "plot: out of memory");
    canvas_text(&c, 10, 10, "confusion matrix (rows: true, columns: predicted)", BLACK, 2);
    for (int t = 0; t < k; t++) {
        long row = cx_confusion_support(cm, t);
        for (int p = 0; p < k; p++) {
            double f = row ? (double)cx_confusion_at(cm, t, p) / row : 0.0;
            uint8_t shade = (uint8_t)(255 - 200 * f);
            uint32_t col = t == p ? ((uint32_t)shade << 16 | 0xff00u | shade)
                                  : (0xff0000u | (uint32_t)shade << 8 | shade);
            if (cx_confusion_at(cm, t, p) == 0) col = WHITE;
            canvas_rect(&c, left + p * cell, top + t * cell, left + (p + 1) * cell - 1,
                        top + (t + 1) * cell - 1, col);
            if (cell >= 20) {
                char num[24];
                snprintf(num, sizeof num, "%ld", cx_confusion_at(cm, t, p));
                canvas_text(&c, left + p * cell + (cell - canvas_text_width(num, 1)) / 2,
                            top + t * cell + cell / 2 - 4, num, BLACK, 1);
            }
        }
        char lab[40];
        snprintf(lab, sizeof lab, "%.20s", labels ? labels[t] : "");
        canvas_text(&c, left - canvas_text_width(lab, 1) - 6, top + t * cell + cell / 2 - 4, lab,
                    BLACK, 1);
    }
    for (int p = 0; p < k && cell >= 20; p++) {
        char lab[8];
        snprintf(lab, sizeof lab, "%.5s", labels ? labels[p] : "");
        canvas_text(&c, left + p * cell + 2, top + k * cell + 6, lab, BLACK, 1);
    }
    char acc[64];
    snprintf(acc, sizeof acc, "accuracy %.2f%% of %ld", 100 * cx_confusion_accuracy(cm), cm->n);
    canvas_text(&c, left, top + k * cell + 30, acc, BLACK, 2);
    cx_status st = canvas_save_png(&c, path, err);
    canvas_free(&c);
    return st;
}

/* A perceptual-ish colour map from dark blue through green to yellow. */
static uint32_t colormap(double t)
{
    t = t < 0 ? 0 : (t > 1 ? 1 : t);
    double r = fmin(1.0, fmax(0.0, 1.5 * t - 0.4)), g = fmin(1.0, fmax(0.0, 1.2 * t)),
           b = fmin(1.0, fmax(0.0, 0.6 - 0.8 * (t - 0.3) * (t - 0.3) * 4 + 0.2 * (1 - t)));
    return (uint32_t)(r * 255) << 16 | (uint32_t)(g * 255) << 8 | (uint32_t)(b * 255);
}

cx_status plot_features(const char *path, const char *title, const float *feat, int frames,
                        int bins, double spf, cx_error *err)
{
    int px = frames <= 400 ? 3 : 1, py = bins <= 64 ? 6 : 2;
    int step = frames > 1200 ? (frames + 1199) / 1200 : 1;
    int cols = (frames + step - 1) / step, left = 60, top = 50;
    /* The title is the whole of the file's name: the image widens to fit
     * it, in small letters if it would be more than twice the plot. */
    int width = left + cols * px + 30, tscale = 2;
    int tw = canvas_text_width(title, 2) + 20;
    if (tw > 2 * width) {
        tscale = 1;
        tw = canvas_text_width(title, 1) + 20;
    }
    if (tw > width) width = tw;
    canvas c;
    if (canvas_init(&c, width, top + bins * py + 60))
        return cx_fail(err, CX_ERR_NOMEM, "plot: out of memory");
    canvas_text(&c, 10, 10, title, BLACK, tscale);
    float lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < (size_t)frames * bins; i++)
        if (isfinite(feat[i])) {
            lo = fminf(lo, feat[i]);
            hi = fmaxf(hi, feat[i]);
        }
    if (!(hi > lo)) hi = lo + 1;
    for (int t = 0; t < cols; t++)
        for (int b = 0; b < bins; b++) {
            float v = feat[(size_t)t * step * bins + b];
            uint32_t col = colormap((v - lo) / (hi - lo));
            int y = top + (bins - 1 - b) * py;
            canvas_rect(&c, left + t * px, y, left + (t + 1) * px, y + py, col);
        }
    double secs = frames * spf;
    for (int s = 0; s <= 4; s++) {
        char lab[16];
        snprintf(lab, sizeof lab, "%.2fs", secs * s / 4);
        canvas_text(&c, left + cols * px * s / 4 - 10, top + bins * py + 8, lab, BLACK, 1);
    }
    canvas_text(&c, 4, top, "high", BLACK, 1);
    canvas_text(&c, 4, top + bins * py - 8, "low", BLACK, 1);
    cx_status st = canvas_save_png(&c, path, err);
    canvas_free(&c);
    return st;
}
