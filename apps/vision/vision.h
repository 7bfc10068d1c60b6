/* cortex-vision internals shared by its commands. What a model file means
 * (preprocessing, classification) is the library's (cortex/vision.h). */
#ifndef CORTEX_VISION_APP_H
#define CORTEX_VISION_APP_H

#include "cli.h"
#include "cortex/cortex.h"

#define PROG "cortex-vision"

/* Opens DATA (cx_dataset_open) with a progress line on a terminal. */
cx_status vision_open_data(cx_dataset **out, const char *path, cx_split split, int channels,
                           int height, int width, float val_fraction, cx_error *err);
/* Prints the dataset's warnings (at most max_lines) and its skip summary. */
void vision_report_warnings(const cx_dataset *ds, int max_lines);
/* Opens a model file; prints the error and returns NULL on failure. */
cx_vision_model *vision_open_model(const char *path);

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_watch(int argc, char **argv);
int cmd_info(int argc, char **argv);

#endif
