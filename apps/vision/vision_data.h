/* Dataset plumbing of cortex-vision. */
#ifndef CORTEX_VISION_DATA_H
#define CORTEX_VISION_DATA_H

#include "cortex/data.h"
#include "cortex/image.h"
#include "vision.h"

/* Opens DATA: an MNIST-style IDX folder, or a folder dataset with the given
 * split, channel count and size. Prints nothing. */
cx_status vision_open_data(cx_dataset **out, const char *path, cx_split split, int channels,
                           int height, int width, float val_fraction, cx_error *err);
int vision_is_mnist(const char *path);
int vision_guess_channels(const char *path);
/* Prints the dataset's warnings (at most max_lines) and its skip summary. */
void vision_report_warnings(const cx_dataset *ds, int max_lines);

/* A cx_train_source over a dataset: normalization and optional augmentation. */
typedef struct {
    const cx_dataset *ds;
    const float *mean, *std;
    cx_augment aug;
    const int *index; /* optional: items of ds used, count entries */
} vision_source;

cx_status vision_source_get(void *ctx, const int *idx, int n, int augment, cx_rng *rng, float *x,
                            int *labels, cx_error *err);

#endif
