/* cortex-vision internals shared by its commands. */
#ifndef CORTEX_VISION_H
#define CORTEX_VISION_H

#include "cli.h"
#include "cortex/cortex.h"

#define PROG "cortex-vision"

/* How an image becomes the model's input; stored in the model file. */
typedef struct {
    int channels, height, width;
    float mean[3], std[3]; /* per channel, on pixel values scaled to [0, 1] */
} vision_prep;

/* Writes prep into / reads it from the model's metadata ("vision.*"). */
cx_status vision_prep_store(cx_model *m, const vision_prep *p, cx_error *err);
cx_status vision_prep_load(const cx_model *m, const char *path, vision_prep *p, cx_error *err);

/* Loads a model file and its preprocessing; prints the error and returns
 * NULL on failure. */
cx_model *vision_open_model(const char *path, vision_prep *prep);

/* Decodes an image file into the model's input: resized, channel-converted
 * and normalized, CHW floats (channels * height * width). */
cx_status vision_load_image(const char *path, const vision_prep *p, float *out, cx_error *err);

/* The entries of a folder, sorted by name (names are malloc'ed); -1 on error. */
int vision_list_dir(const char *dir, char ***names);

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_info(int argc, char **argv);

#endif
