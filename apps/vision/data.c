/* Opening datasets and models for the vision commands. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "vision.h"

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
