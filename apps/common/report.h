/* Evaluation reports shared by the applications. */
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

#endif
