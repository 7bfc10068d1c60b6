/* cortex-vision eval: accuracy, per-class precision/recall/F1, confusion. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "vision.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: cortex-vision eval --model MODEL --data DATA [OPTIONS]\n"
               "\n"
               "Evaluates a model on labelled images: accuracy, per-class precision,\n"
               "recall and F1, and the confusion matrix.\n"
               "\n"
               "  --model MODEL        the model file\n"
               "  --data DATA          a folder of class folders or of MNIST-style IDX files\n"
               "  --split NAME         test, val, train or all. Default: the test set of\n"
               "                       IDX data or of DATA/test (else DATA/val); for a flat\n"
               "                       folder, its held-out part if the model was trained on\n"
               "                       that folder, else every image\n"
               "  --json               print one JSON object (accuracy, n, labels,\n"
               "                       confusion, per_class)\n"
               "  --confusion-png FILE draw the confusion matrix\n"
               "  --batch N            batch size (default 256)\n"
               "  --threads N          CPU threads (default: all cores)\n"
               "  -h, --help           this help\n");
}

/* Maps each dataset class to the model's label index; -1 if the model has
 * no such label. Returns the number of unknown classes. */
static int map_classes(const cx_model *m, const cx_dataset *ds, int *map)
{
    int unknown = 0;
    for (int c = 0; c < ds->nclasses; c++) {
        map[c] = -1;
        for (int k = 0; k < cx_model_num_labels(m); k++)
            if (!strcmp(cx_model_label(m, k), ds->class_names[c])) map[c] = k;
        unknown += map[c] < 0;
    }
    return unknown;
}

static const report_style style = {
    "class", 20, 1, "support", "rows: true class, columns: predicted", 8, 6};

int cmd_eval(int argc, char **argv)
{
    enum { O_SPLIT = 256, O_JSON, O_PNG, O_THREADS };
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"data", required_argument, 0, 'd'},
                                         {"split", required_argument, 0, O_SPLIT},
                                         {"json", no_argument, 0, O_JSON},
                                         {"confusion-png", required_argument, 0, O_PNG},
                                         {"batch", required_argument, 0, 'b'},
                                         {"threads", required_argument, 0, O_THREADS},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *model = NULL, *data = NULL, *png = NULL;
    int json = 0, batch = 256, threads = 0, split_set = 0, c;
    cx_split split = CX_SPLIT_ALL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:d:b:h", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'm':
            model = optarg;
            break;
        case 'd':
            data = optarg;
            break;
        case O_SPLIT:
            bad = cli_split(PROG, optarg, &split);
            split_set = 1;
            break;
        case O_JSON:
            json = 1;
            break;
        case O_PNG:
            png = optarg;
            break;
        case 'b':
            bad = cli_int(PROG, "--batch", optarg, 1, 65536, &batch);
            break;
        case O_THREADS:
            bad = cli_int(PROG, "--threads", optarg, 1, 256, &threads);
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            bad = 1;
        }
        if (bad) {
            fprintf(stderr, "Try 'cortex-vision eval --help'.\n");
            return EXIT_USAGE;
        }
    }
    if (!model || !data || optind < argc) {
        cli_error(PROG, "eval: --model and --data are required");
        usage(stderr);
        return EXIT_USAGE;
    }
    cx_set_threads(cli_threads(threads));
    cx_vision_model *v = vision_open_model(model);
    if (!v) return EXIT_ERROR;
    cx_model *m = cx_vision_model_net(v);
    cx_vision_prep prep = *cx_vision_model_prep(v);

    /* The default split: the test set where there is one; the held-out part
     * of a flat folder the model was trained on; else everything. */
    float val_fraction = 0.1f;
    const char *trained_on = cx_model_get_meta(m, "train.data");
    const char *vs = cx_model_get_meta(m, "train.val_split");
    if (vs) val_fraction = strtof(vs, NULL);
    int mnist = cx_mnist_dir_detect(data);
    if (!split_set) split = mnist ? CX_SPLIT_TEST : CX_SPLIT_ALL;
    cx_error err;
    cx_dataset *ds = NULL;
    int rc = EXIT_ERROR;
    int *map = NULL, *pred = NULL, *truth = NULL;
    cx_confusion cm = {0};
    cx_status st = vision_open_data(&ds, data, split, prep.channels, prep.height, prep.width,
                                    val_fraction, &err);
    if (!st && !split_set && !mnist) {
        if (ds->presplit) {
            cx_dataset_free(ds);
            split = CX_SPLIT_TEST;
            st = vision_open_data(&ds, data, split, prep.channels, prep.height, prep.width,
                                  val_fraction, &err);
        } else if (trained_on && !strcmp(trained_on, data) && val_fraction > 0) {
            cx_dataset_free(ds);
            split = CX_SPLIT_VAL;
            st = vision_open_data(&ds, data, split, prep.channels, prep.height, prep.width,
                                  val_fraction, &err);
            if (!st && !json)
                fprintf(stderr,
                        "%s: evaluating the held-out %.0f%% of %s the model was trained "
                        "on (--split all for every image)\n",
                        PROG, 100 * val_fraction, data);
        }
    }
    if (st) goto fail;
    if (!json) vision_report_warnings(ds, 20);
    map = malloc(sizeof(int) * (size_t)ds->nclasses);
    pred = malloc(sizeof(int) * (size_t)ds->n);
    truth = malloc(sizeof(int) * (size_t)ds->n);
    if (!map || !pred || !truth) {
        st = cx_fail(&err, CX_ERR_NOMEM, "out of memory");
        goto fail;
    }
    int unknown = map_classes(m, ds, map);
    if (unknown) {
        for (int i = 0; i < ds->nclasses; i++)
            if (map[i] < 0) {
                st = cx_fail(&err, CX_ERR_ARG,
                             "%s: class '%s' is not one of the model's %d labels (see "
                             "cortex-vision info --model %s)",
                             data, ds->class_names[i], cx_model_num_labels(m), model);
                break;
            }
        goto fail;
    }
    cx_dataset_source src = {ds, prep.mean, prep.std, {0}};
    cx_train_source ts = cx_dataset_train_source(&src);
    float loss, acc;
    if ((st = cx_evaluate(m, &ts, batch, pred, truth, &loss, &acc, &err))) goto fail;
    if ((st = cx_confusion_init(&cm, cx_model_num_labels(m), &err))) goto fail;
    for (int i = 0; i < ds->n; i++)
        truth[i] = map[truth[i]];
    cx_confusion_add(&cm, truth, pred, ds->n);
    if (json) {
        report_print_json(report_confusion_json(m, &cm));
    } else {
        printf("%s (%s): accuracy %.2f%% (%ld images)\n\n", data, cx_split_name(split),
               100 * cx_confusion_accuracy(&cm), cm.n);
        report_print_text(m, &cm, &style);
    }
    if (png && cli_rank() == 0) {
        if ((st = report_confusion_png(m, &cm, png, &err))) goto fail;
        if (!json) printf("\nconfusion matrix drawn to %s\n", png);
    }
    rc = EXIT_OK;
    goto done;
fail:
    cli_error(PROG, "%s", err.msg);
done:
    cx_confusion_free(&cm);
    free(map);
    free(pred);
    free(truth);
    cx_dataset_free(ds);
    cx_vision_model_free(v);
    return rc;
}
