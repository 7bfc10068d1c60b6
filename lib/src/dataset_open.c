/* Opening an image dataset folder of either kind, and guessing the channels
 * it needs (see cortex/data.h). */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cortex/data.h"
#include "cortex/image.h"
#include "cortex/io.h"

cx_status cx_dataset_open(cx_dataset **out, const char *path, const cx_folder_opts *opts,
                          cx_error *err)
{
    struct stat sb;
    *out = NULL;
    if (stat(path, &sb) != 0) return cx_fail(err, CX_ERR_IO, "%s: no such folder", path);
    if (!S_ISDIR(sb.st_mode))
        return cx_fail(err, CX_ERR_ARG,
                       "%s: not a folder (give a folder of class folders, DATA/<label>/<image>, "
                       "or a folder of MNIST-style IDX files)",
                       path);
    if (cx_mnist_dir_detect(path)) {
        if (opts->channels != 1 || opts->height != 28 || opts->width != 28)
            return cx_fail(err, CX_ERR_ARG,
                           "%s: IDX images are 1x28x28; this needs %dx%dx%d (use a 28x28 "
                           "grayscale architecture)",
                           path, opts->channels, opts->height, opts->width);
        return cx_dataset_load_mnist_dir(out, path, opts->split, CX_MNIST_AUTO, err);
    }
    return cx_dataset_load_folder(out, path, opts, err);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int cx_list_folder(const char *dir, char ***names)
{
    *names = NULL;
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0, cap = 0;
    char **v = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (n + 1 >= cap) {
            cap = cap ? 2 * cap : 64;
            char **nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv) break;
            v = nv;
        }
        if (!(v[n] = strdup(e->d_name))) break;
        v[++n] = NULL;
    }
    closedir(d);
    if (n) qsort(v, (size_t)n, sizeof *v, by_name);
    if (!v) v = calloc(1, sizeof *v);
    *names = v;
    return v ? n : -1;
}

/* Looks at up to 5 images per folder, two folder levels deep. */
static void scan_colour(const char *dir, int depth, int *looked, int *colour)
{
    char **names = NULL;
    int n = cx_list_folder(dir, &names), images = 0;
    for (int i = 0; i < n; i++) {
        char path[8192];
        struct stat sb;
        int w, h, c;
        if (!*colour && *looked < 200 &&
            snprintf(path, sizeof path, "%s/%s", dir, names[i]) < (int)sizeof path &&
            stat(path, &sb) == 0) {
            if (S_ISDIR(sb.st_mode) && depth < 2)
                scan_colour(path, depth + 1, looked, colour);
            else if (images < 5 && cx_image_known_extension(path) &&
                     !cx_image_info(path, &w, &h, &c, NULL)) {
                images++;
                (*looked)++;
                *colour |= c >= 3;
            }
        }
    }
    cx_strlist_free(names);
}

int cx_dataset_guess_channels(const char *path)
{
    if (cx_mnist_dir_detect(path)) return 1;
    int looked = 0, colour = 0;
    scan_colour(path, 0, &looked, &colour);
    return colour ? 3 : 1;
}
