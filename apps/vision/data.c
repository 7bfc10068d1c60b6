/* Opening datasets and single images for the vision commands. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vision_data.h"

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int vision_list_dir(const char *dir, char ***names)
{
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0, cap = 0;
    char **v = NULL;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **nv = realloc(v, (size_t)cap * sizeof *v);
            if (!nv) break;
            v = nv;
        }
        if (!(v[n] = strdup(e->d_name))) break;
        n++;
    }
    closedir(d);
    if (n) qsort(v, (size_t)n, sizeof *v, by_name);
    *names = v;
    return n;
}

cx_status vision_load_image(const char *path, const vision_prep *p, float *out, cx_error *err)
{
    size_t plane = (size_t)p->height * p->width, total = plane * (size_t)p->channels;
    /* The float buffer is big enough to hold the bytes first: decode into
     * its tail, then convert forward without overlap problems. */
    uint8_t *bytes = (uint8_t *)(out + total) - total;
    cx_status st = cx_image_load(path, p->channels, p->height, p->width, bytes, err);
    if (st) return st;
    for (size_t i = 0; i < total; i++) {
        int c = (int)(i / plane);
        out[i] = ((float)bytes[i] / 255.0f - p->mean[c]) / p->std[c];
    }
    return CX_OK;
}

static int load_progress(void *user, int done, int total)
{
    (void)user;
    if (isatty(STDERR_FILENO) && (done % 500 == 0 || done == total))
        fprintf(stderr, "\r\033[Kloading images %d/%d", done, total);
    return cli_stop ? 1 : 0;
}

void vision_report_warnings(const cx_dataset *ds, int max_lines)
{
    if (isatty(STDERR_FILENO)) fprintf(stderr, "\r\033[K");
    for (int i = 0; i < ds->nwarnings && i < max_lines; i++)
        fprintf(stderr, "%s: warning: %s\n", PROG, ds->warnings[i]);
    if (ds->total_warnings > max_lines)
        fprintf(stderr, "%s: ... %lld more warnings\n", PROG, ds->total_warnings - max_lines);
    int skipped = ds->skipped_corrupt + ds->skipped_too_large + ds->skipped_unknown;
    if (skipped)
        fprintf(stderr,
                "%s: %s: skipped %d files (%d unreadable or corrupt, %d too large, %d not "
                "images)\n",
                PROG, ds->source, skipped, ds->skipped_corrupt, ds->skipped_too_large,
                ds->skipped_unknown);
}

int vision_is_mnist(const char *path) { return cx_mnist_dir_detect(path); }

cx_status vision_open_data(cx_dataset **out, const char *path, cx_split split, int channels,
                           int height, int width, float val_fraction, cx_error *err)
{
    struct stat sb;
    *out = NULL;
    if (stat(path, &sb) != 0)
        return cx_fail(err, CX_ERR_IO, "%s: no such folder", path);
    if (!S_ISDIR(sb.st_mode))
        return cx_fail(err, CX_ERR_ARG,
                       "%s: not a folder (give a folder of class folders, DATA/<label>/<image>, "
                       "or a folder of MNIST-style IDX files)",
                       path);
    if (cx_mnist_dir_detect(path)) {
        if (channels != 1 || height != 28 || width != 28)
            return cx_fail(err, CX_ERR_ARG,
                           "%s: IDX images are 1x28x28; this needs %dx%dx%d (use a 28x28 "
                           "grayscale architecture)",
                           path, channels, height, width);
        return cx_dataset_load_mnist_dir(out, path, split, CX_MNIST_AUTO, err);
    }
    cx_folder_opts o;
    cx_folder_opts_init(&o, channels, height, width);
    o.split = split;
    o.val_fraction = val_fraction;
    o.progress = load_progress;
    cx_status st = cx_dataset_load_folder(out, path, &o, err);
    if (isatty(STDERR_FILENO)) fprintf(stderr, "\r\033[K");
    return st;
}

/* Looks at up to 5 images per folder, two folder levels deep (class
 * folders, or split folders holding class folders). */
static void scan_colour(const char *dir, int depth, int *looked, int *colour)
{
    char **names = NULL;
    int n = vision_list_dir(dir, &names), images = 0;
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
        free(names[i]);
    }
    free(names);
}

/* The channel count a dataset needs: 3 if any image looked at has colour. */
int vision_guess_channels(const char *path)
{
    if (cx_mnist_dir_detect(path)) return 1;
    int looked = 0, colour = 0;
    scan_colour(path, 0, &looked, &colour);
    return colour ? 3 : 1;
}
