/* The fuzz targets whose library entry point takes a path: the input is
 * written to one temporary file per process, reused for every run. */
#ifndef CORTEX_FUZZ_FILE_H
#define CORTEX_FUZZ_FILE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Writes data to the process's temporary file and returns its path (with
 * the given suffix, which libsndfile and the IDX loader ignore), or NULL. */
static const char *fuzz_write_file(const uint8_t *data, size_t size, const char *suffix)
{
    static char path[256];
    if (!path[0]) {
        const char *dir = getenv("TMPDIR");
        snprintf(path, sizeof path, "%s/cortex-fuzz-%ld%s", dir && *dir ? dir : "/tmp",
                 (long)getpid(), suffix);
    }
    FILE *f = fopen(path, "wb");
    if (!f) return NULL;
    size_t w = size ? fwrite(data, 1, size, f) : 0;
    if (fclose(f) != 0 || w != size) return NULL;
    return path;
}

#endif
