/* Private helpers shared by the dataset loaders. Not part of the public API. */
#ifndef CORTEX_DATASET_UTIL_H
#define CORTEX_DATASET_UTIL_H

#include "cortex/data.h"

/* A zeroed dataset, or NULL when out of memory. */
cx_dataset *cx_dataset_new(void);

/* Adds a warning (formatted like printf) to ds: kept if fewer than
 * CX_DATASET_MAX_WARNINGS are stored, always counted. Returns 0, or -1 when
 * out of memory (the warning is then only counted). */
int cx_dataset_warn(cx_dataset *ds, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Sets ds->class_names to copies of names[0..n) (or "0".."n-1" if names is
 * NULL) and ds->nclasses to n. */
cx_status cx_dataset_set_classes(cx_dataset *ds, int n, const char *const *names, cx_error *err);

/* strdup that reports failure with NULL (strdup is not C11). */
char *cx_strdup(const char *s);

#endif
