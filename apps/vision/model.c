/* The vision preprocessing record in model files, and the info command. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vision.h"

cx_status vision_prep_store(cx_model *m, const vision_prep *p, cx_error *err)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%d %d %d", p->channels, p->height, p->width);
    cx_status st = cx_model_set_meta(m, "vision.input", buf, err);
    int used = 0;
    for (int c = 0; c < p->channels; c++)
        used += snprintf(buf + used, sizeof buf - used, "%s%.9g", c ? " " : "", (double)p->mean[c]);
    if (!st) st = cx_model_set_meta(m, "vision.mean", buf, err);
    used = 0;
    for (int c = 0; c < p->channels; c++)
        used += snprintf(buf + used, sizeof buf - used, "%s%.9g", c ? " " : "", (double)p->std[c]);
    if (!st) st = cx_model_set_meta(m, "vision.std", buf, err);
    return st;
}

static int parse_floats(const char *s, float *out, int n)
{
    char *end;
    for (int i = 0; i < n; i++) {
        out[i] = strtof(s, &end);
        if (end == s) return -1;
        s = end;
    }
    while (*s == ' ') s++;
    return *s ? -1 : 0;
}

cx_status vision_prep_load(const cx_model *m, const char *path, vision_prep *p, cx_error *err)
{
    const char *in = cx_model_get_meta(m, "vision.input");
    const char *mean = cx_model_get_meta(m, "vision.mean"), *sd = cx_model_get_meta(m, "vision.std");
    if (!in || !mean || !sd)
        return cx_fail(err, CX_ERR_FORMAT,
                       "%s: not an image model (no vision.input/mean/std metadata)", path);
    memset(p, 0, sizeof *p);
    char extra;
    if (sscanf(in, "%d %d %d %c", &p->channels, &p->height, &p->width, &extra) != 3 ||
        (p->channels != 1 && p->channels != 3) || p->height < 1 || p->height > 4096 ||
        p->width < 1 || p->width > 4096)
        return cx_fail(err, CX_ERR_FORMAT, "%s: bad vision.input '%s'", path, in);
    if (parse_floats(mean, p->mean, p->channels) || parse_floats(sd, p->std, p->channels))
        return cx_fail(err, CX_ERR_FORMAT, "%s: bad vision.mean or vision.std", path);
    for (int c = 0; c < p->channels; c++)
        if (!(p->std[c] > 0) || !(p->mean[c] >= -10 && p->mean[c] <= 10))
            return cx_fail(err, CX_ERR_FORMAT, "%s: bad normalization statistics", path);
    cx_shape want = cx_shape3(p->channels, p->height, p->width);
    if (!cx_shape_equal(&want, cx_model_input_shape(m)))
        return cx_fail(err, CX_ERR_FORMAT, "%s: vision.input does not match the model's input",
                       path);
    const cx_shape *out = cx_model_output_shape(m);
    if (out->ndim != 1 || cx_model_num_labels(m) != out->d[0])
        return cx_fail(err, CX_ERR_FORMAT, "%s: the model has %d labels for %d outputs", path,
                       cx_model_num_labels(m), out->ndim == 1 ? out->d[0] : -1);
    return CX_OK;
}

cx_model *vision_open_model(const char *path, vision_prep *prep)
{
    cx_error err;
    cx_model *m = NULL;
    if (cx_model_load(&m, path, &err)) {
        cli_error(PROG, "%s", err.msg);
        return NULL;
    }
    if (vision_prep_load(m, path, prep, &err)) {
        cli_error(PROG, "%s", err.msg);
        cx_model_free(m);
        return NULL;
    }
    return m;
}

static void info_usage(FILE *f)
{
    fprintf(f, "usage: cortex-vision info --model MODEL\n"
               "\n"
               "Shows a model's architecture, parameter count, labels, input format and\n"
               "training record.\n"
               "\n"
               "  --model MODEL  the model file\n"
               "  -h, --help     this help\n");
}

int cmd_info(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *path = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
        if (c == 'm')
            path = optarg;
        else if (c == 'h') {
            info_usage(stdout);
            return EXIT_OK;
        } else {
            info_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!path && optind < argc) path = argv[optind++];
    if (!path || optind < argc) {
        info_usage(stderr);
        return EXIT_USAGE;
    }
    vision_prep prep;
    cx_model *m = vision_open_model(path, &prep);
    if (!m) return EXIT_ERROR;
    printf("model:        %s\n", path);
    printf("architecture: %s\n", cx_model_spec(m));
    printf("parameters:   %zu\n", cx_model_num_params(m));
    printf("input:        %d x %d, %s\n", prep.width, prep.height,
           prep.channels == 1 ? "grayscale" : "RGB");
    printf("normalize:   ");
    for (int i = 0; i < prep.channels; i++)
        printf(" (x - %.4f) / %.4f", (double)prep.mean[i], (double)prep.std[i]);
    printf("\nlabels (%d):  ", cx_model_num_labels(m));
    for (int i = 0; i < cx_model_num_labels(m); i++)
        printf("%s%s", i ? ", " : "", cx_model_label(m, i));
    printf("\nlayers:\n");
    for (int i = 0; i < cx_model_num_layers(m); i++) {
        cx_layer *l = cx_model_layer(m, i);
        char a[48], b[48];
        size_t np = 0;
        for (int k = 0; k < l->nparams; k++)
            if (l->params[k].trainable) np += l->params[k].size;
        printf("  %2d  %-28s %12s -> %-12s %9zu params\n", i, l->spec,
               cx_shape_str(&l->in, a, sizeof a), cx_shape_str(&l->out, b, sizeof b), np);
    }
    printf("training:\n");
    for (int i = 0; i < cx_model_num_meta(m); i++) {
        const char *k = cx_model_meta_key(m, i);
        if (!strncmp(k, "train.", 6) || !strcmp(k, "cortex.version"))
            printf("  %-22s %s\n", k, cx_model_get_meta(m, k));
    }
    cx_model_free(m);
    return EXIT_OK;
}
