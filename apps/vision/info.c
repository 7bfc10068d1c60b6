/* cortex-vision info: a model's architecture, labels, input and record. */
#include <stdio.h>

#include "report.h"
#include "vision.h"

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
    const char *path;
    int rc = cli_model_only(argc, argv, info_usage, &path);
    if (rc >= 0) return rc;
    cx_vision_model *v = vision_open_model(path);
    if (!v) return EXIT_ERROR;
    cx_model *m = cx_vision_model_net(v);
    const cx_vision_prep *prep = cx_vision_model_prep(v);
    printf("model:        %s\n", path);
    printf("architecture: %s\n", cx_model_spec(m));
    printf("parameters:   %zu\n", cx_model_num_params(m));
    printf("input:        %d x %d, %s\n", prep->width, prep->height,
           prep->channels == 1 ? "grayscale" : "RGB");
    printf("normalize:   ");
    for (int i = 0; i < prep->channels; i++)
        printf(" (x - %.4f) / %.4f", (double)prep->mean[i], (double)prep->std[i]);
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
    report_print_record(m, 22, "cortex.version");
    cx_vision_model_free(v);
    return EXIT_OK;
}
