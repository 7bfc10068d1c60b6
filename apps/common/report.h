/* Evaluation reports and model records shared by the applications. */
#ifndef CORTEX_APP_REPORT_H
#define CORTEX_APP_REPORT_H

#include <cjson/cJSON.h>

#include "cortex/cortex.h"

/* A JSON object with accuracy, n, labels (the model's), confusion (rows:
 * true class) and per_class (label, precision, recall, f1, support). The
 * caller may add fields, then prints and deletes it. NULL on no memory. */
cJSON *report_confusion_json(const cx_model *m, const cx_confusion *cm);

/* Prints o on one line and deletes it. */
void report_print_json(cJSON *o);

/* How each application lays out its text report. */
typedef struct report_style {
    const char *class_head;    /* first column's heading: "class", "word" */
    int class_width;           /* its width */
    int f1;                    /* show an f1 column */
    const char *support_head;  /* last column's heading: "support", "clips" */
    const char *axes;          /* "rows: true class, columns: predicted" */
    int row_width, cell_width; /* the confusion matrix's label column and cells */
} report_style;

/* The per-class table and the confusion matrix, after the caller's
 * headline. */
void report_print_text(const cx_model *m, const cx_confusion *cm, const report_style *style);

/* Draws the confusion matrix with the model's labels to a PNG. */
cx_status report_confusion_png(const cx_model *m, const cx_confusion *cm, const char *path,
                               cx_error *err);

/* Prints "training:" and the model's training record (metadata keys
 * starting with "train.", and also key also if non-NULL), keys padded to
 * key_width. */
void report_print_record(const cx_model *m, int key_width, const char *also);

#endif
