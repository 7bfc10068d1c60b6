/* Small PNG charts for the applications: learning curves, confusion
 * matrices, spectrograms. Drawn on an RGB canvas, text with stb_easy_font,
 * written with stb_image_write. */
#ifndef CORTEX_APP_PLOT_H
#define CORTEX_APP_PLOT_H

#include <stdint.h>

#include "cortex/cortex.h"
#include "cortex/metrics.h"
#include "cortex/train.h"

typedef struct {
    int w, h;
    uint8_t *rgb;
} canvas;

int canvas_init(canvas *c, int w, int h);
void canvas_free(canvas *c);
void canvas_rect(canvas *c, int x0, int y0, int x1, int y1, uint32_t color);
void canvas_line(canvas *c, double x0, double y0, double x1, double y1, uint32_t color, int width);
/* Text at (x, y) top-left, scale 1 = 7 px glyphs. Returns the width drawn. */
int canvas_text(canvas *c, int x, int y, const char *s, uint32_t color, int scale);
int canvas_text_width(const char *s, int scale);
cx_status canvas_save_png(const canvas *c, const char *path, cx_error *err);

/* Loss and accuracy per epoch (train and validation) in two panels. */
cx_status plot_learning_curve(const char *path, const char *title, const cx_epoch_report *hist,
                              int n, cx_error *err);
/* A k x k confusion matrix as a heat map with counts and labels. */
cx_status plot_confusion(const char *path, const cx_confusion *c, const char *const *labels,
                         cx_error *err);
/* A (frames x bins) feature matrix as an image, time left to right, low
 * bins at the bottom. */
cx_status plot_features(const char *path, const char *title, const float *feat, int frames,
                        int bins, double seconds_per_frame, cx_error *err);

#endif
