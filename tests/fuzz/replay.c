/* Runs a fuzz target over files, without libFuzzer: how the test suite
 * (gcc, with or without the sanitizers) replays the seed and regression
 * inputs in tests/fuzz/corpus. Usage: NAME_replay FILE|DIR... */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cortex/cortex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One buffer for every file, grown as needed (the library's own reader). */
static uint8_t *buf;
static size_t cap;

static int run_file(const char *path)
{
    cx_error err;
    size_t len;
    struct stat sb;
    if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size == 0) {
        static const uint8_t none[1];
        LLVMFuzzerTestOneInput(none, 0); /* an empty file is an input too */
        return 0;
    }
    if (cx_read_file_buf(path, 1LL << 30, &buf, &cap, &len, &err)) {
        fprintf(stderr, "replay: %s\n", err.msg);
        return -1;
    }
    LLVMFuzzerTestOneInput(buf, len);
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    int files = 0;
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0) {
            fprintf(stderr, "replay: no such file or folder: %s\n", argv[i]);
            return 1;
        }
        if (!S_ISDIR(sb.st_mode)) {
            if (run_file(argv[i])) return 1;
            files++;
            continue;
        }
        struct dirent **list;
        int n = scandir(argv[i], &list, NULL, NULL);
        if (n < 0) {
            fprintf(stderr, "replay: cannot read folder %s\n", argv[i]);
            return 1;
        }
        char **names = malloc((size_t)n * sizeof *names);
        int k = 0;
        for (int j = 0; j < n; j++) {
            if (names && list[j]->d_name[0] != '.') names[k++] = strdup(list[j]->d_name);
            free(list[j]);
        }
        free(list);
        if (!names) return 1;
        qsort(names, (size_t)k, sizeof *names, cmp_names);
        for (int j = 0; j < k; j++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", argv[i], names[j]);
            if (names[j] && run_file(path)) return 1;
            files++;
            free(names[j]);
        }
        free(names);
    }
    free(buf);
    printf("replayed %d inputs\n", files);
    return files ? 0 : 1;
}
