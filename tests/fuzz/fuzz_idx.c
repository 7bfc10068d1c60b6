/* Fuzz target: an IDX file (plain or gzip) as the Fashion-MNIST loader
 * reads it, both as images and as labels. */
#include <stdlib.h>
#include <unistd.h>

#include "cortex/cortex.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_file(data, size, ".idx");
    if (!path) return 0;
    cx_error err;
    uint8_t *p = NULL;
    int n, rows, cols;
    if (!cx_idx_load_images(path, &p, &n, &rows, &cols, &err)) free(p);
    p = NULL;
    if (!cx_idx_load_labels(path, &p, &n, &err)) free(p);
    unlink(path);
    return 0;
}
