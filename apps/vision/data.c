/* Opening datasets and models for the vision commands. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vision.h"

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

cx_vision_model *vision_open_model(const char *path)
{
    cx_error err;
    cx_vision_model *v = NULL;
    if (cx_vision_model_load(&v, path, &err)) cli_error(PROG, "%s", err.msg);
    return v;
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

cx_status vision_open_data(cx_dataset **out, const char *path, cx_split split, int channels,
                           int height, int width, float val_fraction, cx_error *err)
{
    cx_folder_opts o;
    cx_folder_opts_init(&o, channels, height, width);
    o.split = split;
    o.val_fraction = val_fraction;
    o.progress = load_progress;
    cx_status st = cx_dataset_open(out, path, &o, err);
    if (isatty(STDERR_FILENO)) fprintf(stderr, "\r\033[K");
    return st;
}
