/* Cortex metrics: confusion matrix, accuracy, per-class precision, recall
 * and F1. */
#ifndef CORTEX_METRICS_H
#define CORTEX_METRICS_H

#include "cortex/core.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cx_confusion {
    int k;
    long *m; /* k x k counts, row = true class, column = predicted */
    long n;
} cx_confusion;

CX_API cx_status cx_confusion_init(cx_confusion *c, int k, cx_error *err);
CX_API void cx_confusion_free(cx_confusion *c);
/* Adds n (truth, prediction) pairs; out-of-range classes are ignored. */
CX_API void cx_confusion_add(cx_confusion *c, const int *truth, const int *pred, int n);
CX_API long cx_confusion_at(const cx_confusion *c, int truth, int pred);
CX_API double cx_confusion_accuracy(const cx_confusion *c);
/* Per class; a class never predicted (or never present) gets 0. */
CX_API double cx_confusion_precision(const cx_confusion *c, int cls);
CX_API double cx_confusion_recall(const cx_confusion *c, int cls);
CX_API double cx_confusion_f1(const cx_confusion *c, int cls);
CX_API long cx_confusion_support(const cx_confusion *c, int cls); /* true examples of cls */

#ifdef __cplusplus
}
#endif
#endif
