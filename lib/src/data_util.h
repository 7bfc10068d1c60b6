/* Private helpers shared by the dataset loaders (folder.c, idx.c,
 * speech_list.c, speech_data.c): warnings, path joins, name lists, the
 * split hash. Not part of the public API. */
#ifndef CORTEX_DATA_UTIL_H
#define CORTEX_DATA_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "cortex/data.h"

/* ---- warnings ------------------------------------------------------------- */

/* Adds a warning (formatted like printf, cut to len - 1 bytes) to the list
 * msgs of *n messages: kept while fewer than CX_DATASET_MAX_WARNINGS are
 * stored (the list is allocated on the first warning), always counted in
 * *total. Returns 0, or -1 when out of memory (the warning is then only
 * counted). */
int cx_warn(int *n, char ***msgs, long long *total, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* How long a warning each kind of dataset has always kept. They differ only
 * for messages of 512 bytes or more (long paths); one value for both would
 * change those texts. */
#define CX_DATASET_WARNING_LEN 512
#define CX_SPEECH_WARNING_LEN 600

/* cx_warn into the warnings of a cx_dataset (image folders, IDX) or of a
 * cx_speech_dataset. ds is evaluated more than once. */
#define cx_dataset_warn(ds, ...)                                                                   \
    cx_warn(&(ds)->nwarnings, &(ds)->warnings, &(ds)->total_warnings, CX_DATASET_WARNING_LEN,      \
            __VA_ARGS__)
#define cx_speech_warn(ds, ...)                                                                    \
    cx_warn(&(ds)->nwarnings, &(ds)->warnings, &(ds)->total_warnings, CX_SPEECH_WARNING_LEN,       \
            __VA_ARGS__)

/* ---- strings and paths ---------------------------------------------------- */

/* strdup that reports failure with NULL (strdup is not C11). */
char *cx_strdup(const char *s);

/* "dir/name" in a new string; NULL when out of memory. */
char *cx_path_join(const char *dir, const char *name);
/* "dir/name" into out[size]; -1 (out left unchanged) if it does not fit. */
int cx_path_join_buf(char *out, size_t size, const char *dir, const char *name);

/* qsort / bsearch comparison of two char * elements (strcmp order). */
int cx_cmp_str(const void *a, const void *b);

/* Frees the n strings of v and v itself; v may be NULL. */
void cx_free_names(char **v, int n);

/* MurmurHash3's 64-bit finalizer: spreads FNV-1a's bits (cx_hash_string) so
 * that the low digits used for splits and orders are uniform. */
uint64_t cx_fmix64(uint64_t k);

/* ---- cx_dataset construction (dataset.c) ----------------------------------- */

/* A zeroed dataset, or NULL when out of memory. */
cx_dataset *cx_dataset_new(void);

/* Sets ds->class_names to copies of names[0..n) (or "0".."n-1" if names is
 * NULL) and ds->nclasses to n. */
cx_status cx_dataset_set_classes(cx_dataset *ds, int n, const char *const *names, cx_error *err);

#endif
