/* cortex-speech eval and classify: accuracy on a labelled split; one label
 * per clip. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "plot.h"
#include "report.h"
#include "speech_model.h"

static void eval_usage(FILE *f)
{
    fprintf(f, "usage: cortex-speech eval --model MODEL --data DATA [OPTIONS]\n"
               "\n"
               "Accuracy, per-word precision and recall, and the confusion matrix of a\n"
               "model on a data set laid out as for training (DATA/<word>/<speaker>_*.wav).\n"
               "By default the test speakers the model was trained without are used\n"
               "(train.test_speakers or train.test_percent in the model file).\n"
               "\n"
               "  --model MODEL          the model file\n"
               "  --data DATA            the word folders\n"
               "  --split NAME           test (default), val, train or all\n"
               "  --test-speakers a,b    the test speakers (default: the model's)\n"
               "  --json                 one JSON object: accuracy, n, labels, confusion,\n"
               "                         per_class, keyword_accuracy\n"
               "  --confusion-png FILE   draw the confusion matrix\n"
               "  --threads N            CPU threads (default: all cores)\n"
               "  -h, --help             this help\n");
}

static int parse_split(const char *s, cx_split *out)
{
    static const char *names[] = {"all", "train", "val", "test"};
    for (int i = 0; i < 4; i++)
        if (!strcmp(s, names[i])) {
            *out = (cx_split)i;
            return 0;
        }
    cli_error(PROG, "--split: '%s' is not test, val, train or all", s);
    return -1;
}

static void print_json(const cx_model *m, const cx_confusion *cm, double keyword_acc)
{
    cJSON *o = report_confusion_json(m, cm);
    if (o) cJSON_AddNumberToObject(o, "keyword_accuracy", keyword_acc);
    report_print_json(o);
}

static void print_report(const cx_model *m, const cx_confusion *cm, double keyword_acc,
                         const char *what)
{
    printf("%s: accuracy %.2f%% (%ld clips); keywords alone %.2f%%\n\n", what,
           100 * cx_confusion_accuracy(cm), cm->n, 100 * keyword_acc);
    printf("%-14s %9s %9s %8s\n", "word", "precision", "recall", "clips");
    for (int t = 0; t < cm->k; t++)
        printf("%-14.14s %9.4f %9.4f %8ld\n", cx_model_label(m, t), cx_confusion_precision(cm, t),
               cx_confusion_recall(cm, t), cx_confusion_support(cm, t));
    printf("\nconfusion matrix (rows: spoken word, columns: recognized)\n%9s", "");
    for (int p = 0; p < cm->k; p++) printf(" %5.5s", cx_model_label(m, p));
    printf("\n");
    for (int t = 0; t < cm->k; t++) {
        printf("%-9.9s", cx_model_label(m, t));
        for (int p = 0; p < cm->k; p++) printf(" %5ld", cx_confusion_at(cm, t, p));
        printf("\n");
    }
}

int cmd_eval(int argc, char **argv)
{
    enum { O_SPLIT = 256, O_TS, O_JSON, O_PNG, O_THREADS };
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"data", required_argument, 0, 'd'},
                                         {"split", required_argument, 0, O_SPLIT},
                                         {"test-speakers", required_argument, 0, O_TS},
                                         {"json", no_argument, 0, O_JSON},
                                         {"confusion-png", required_argument, 0, O_PNG},
                                         {"threads", required_argument, 0, O_THREADS},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *model = NULL, *data = NULL, *png = NULL, *ts = NULL;
    int json = 0, threads = 0, c;
    cx_split split = CX_SPLIT_TEST;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:d:h", opts, NULL)) != -1) {
        int bad = 0;
        switch (c) {
        case 'm': model = optarg; break;
        case 'd': data = optarg; break;
        case O_SPLIT: bad = parse_split(optarg, &split); break;
        case O_TS: ts = optarg; break;
        case O_JSON: json = 1; break;
        case O_PNG: png = optarg; break;
        case O_THREADS: bad = cli_int(PROG, "--threads", optarg, 1, 256, &threads); break;
        case 'h': eval_usage(stdout); return EXIT_OK;
        default: bad = 1;
        }
        if (bad) {
            fprintf(stderr, "Try 'cortex-speech eval --help'.\n");
            return EXIT_USAGE;
        }
    }
    if (!model || !data || optind < argc) {
        cli_error(PROG, "eval: --model and --data are required");
        eval_usage(stderr);
        return EXIT_USAGE;
    }
    cx_set_threads(threads);
    speech_model s;
    if (speech_model_open(&s, model)) return EXIT_ERROR;
    int rc = EXIT_ERROR, *pred = NULL, *truth = NULL;
    const char **words = NULL;
    char **test_speakers = NULL;
    cx_speech_dataset *ds = NULL;
    cx_speech_source *src = NULL;
    cx_confusion cm = {0};
    cx_error err;
    cx_status st;
    cx_speech_opts so;
    if (speech_data_opts(&s, ts, &so, &words, &test_speakers)) {
        st = cx_fail(&err, CX_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if (!ts) ts = cx_model_get_meta(s.m, "train.test_speakers");
    so.split = split;
    if ((st = cx_speech_load(&ds, data, &so, &err))) goto fail;
    if (!json) {
        for (int i = 0; i < ds->nwarnings && i < 20; i++)
            fprintf(stderr, "%s: warning: %s\n", PROG, ds->warnings[i]);
    }
    if (ds->nclasses != cx_model_num_labels(s.m)) {
        st = cx_fail(&err, CX_ERR_ARG, "%s: %d classes, the model has %d labels", data,
                     ds->nclasses, cx_model_num_labels(s.m));
        goto fail;
    }
    for (int i = 0; i < ds->nclasses; i++)
        if (strcmp(ds->class_names[i], cx_model_label(s.m, i))) {
            st = cx_fail(&err, CX_ERR_ARG, "%s: class '%s' is not the model's label '%s'", data,
                         ds->class_names[i], cx_model_label(s.m, i));
            goto fail;
        }
    pred = malloc(sizeof(int) * (size_t)ds->n);
    truth = malloc(sizeof(int) * (size_t)ds->n);
    if (!pred || !truth) {
        st = cx_fail(&err, CX_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((st = cx_speech_source_create(&src, ds, s.fx, s.window, NULL, &err))) goto fail;
    cx_train_source tsrc = cx_speech_train_source(src);
    float loss, acc;
    if ((st = cx_evaluate(s.m, &tsrc, 64, pred, truth, &loss, &acc, &err))) goto fail;
    if ((st = cx_confusion_init(&cm, ds->nclasses, &err))) goto fail;
    cx_confusion_add(&cm, truth, pred, ds->n);
    long kw = 0, kw_right = 0;
    for (int i = 0; i < ds->n; i++)
        if (truth[i] < ds->nwords) {
            kw++;
            kw_right += pred[i] == truth[i];
        }
    double keyword_acc = kw ? (double)kw_right / kw : 0.0;
    if (json) {
        print_json(s.m, &cm, keyword_acc);
    } else {
        char what[4200];
        snprintf(what, sizeof what, "%s (%s speakers%s%s)", data, cx_split_name(split),
                 ts ? ": " : "", ts ? ts : "");
        print_report(s.m, &cm, keyword_acc, what);
    }
    if (png) {
        const char **labels = malloc(sizeof(char *) * (size_t)cm.k);
        if (!labels) goto fail;
        for (int i = 0; i < cm.k; i++) labels[i] = cx_model_label(s.m, i);
        st = plot_confusion(png, &cm, labels, &err);
        free(labels);
        if (st) goto fail;
    }
    rc = EXIT_OK;
    goto done;
fail:
    cli_error(PROG, "%s", err.msg);
done:
    cx_confusion_free(&cm);
    cx_speech_source_free(src);
    cx_speech_free(ds);
    free(pred);
    free(truth);
    free(words);
    speech_free_list(test_speakers);
    speech_model_close(&s);
    return rc;
}

static void classify_usage(FILE *f)
{
    fprintf(f, "usage: cortex-speech classify --model MODEL [--json] FILE...\n"
               "\n"
               "The word heard in each clip, with its probability. A clip is centred in\n"
               "the model's window (as in training); a clip longer than the window is\n"
               "centre-cropped (use detect for long recordings).\n"
               "\n"
               "  --model MODEL  the model file\n"
               "  --json         one JSON object per line: file, label, probability\n"
               "  -h, --help     this help\n");
}

int cmd_classify(int argc, char **argv)
{
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *model = NULL;
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model = optarg; break;
        case 'j': json = 1; break;
        case 'h': classify_usage(stdout); return EXIT_OK;
        default: classify_usage(stderr); return EXIT_USAGE;
        }
    }
    if (!model || optind >= argc) {
        cli_error(PROG, "classify: --model and at least one audio file are required");
        classify_usage(stderr);
        return EXIT_USAGE;
    }
    speech_model s;
    if (speech_model_open(&s, model)) return EXIT_ERROR;
    int k = cx_model_num_labels(s.m), failed = 0, broken = 0;
    float *window = malloc(sizeof(float) * (size_t)s.window);
    float *feat = malloc(sizeof(float) * (size_t)s.frames * s.bins);
    float *probs = malloc(sizeof(float) * (size_t)k);
    if (!window || !feat || !probs) {
        cli_error(PROG, "out of memory");
        failed = broken = 1;
    }
    for (int i = optind; i < argc && !broken; i++) {
        cx_error err;
        float *clip = NULL;
        size_t n = 0;
        if (cx_audio_load(argv[i], s.feat.sample_rate, &clip, &n, NULL, &err) ||
            speech_classify_clip(&s, clip, n, window, feat, probs, &err)) {
            cli_error(PROG, "%s", err.msg);
            if (json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddStringToObject(o, "file", argv[i]);
                cJSON_AddStringToObject(o, "error", err.msg);
                char *t = cJSON_PrintUnformatted(o);
                if (t) printf("%s\n", t);
                free(t);
                cJSON_Delete(o);
            }
            free(clip);
            failed = 1;
            continue;
        }
        int best = 0;
        for (int j = 1; j < k; j++)
            if (probs[j] > probs[best]) best = j;
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "file", argv[i]);
            cJSON_AddStringToObject(o, "label", cx_model_label(s.m, best));
            cJSON_AddNumberToObject(o, "probability", probs[best]);
            char *t = cJSON_PrintUnformatted(o);
            if (t) printf("%s\n", t);
            free(t);
            cJSON_Delete(o);
        } else {
            printf("%s: %s %.3f\n", argv[i], cx_model_label(s.m, best), (double)probs[best]);
        }
        fflush(stdout);
        free(clip);
    }
    free(window);
    free(feat);
    free(probs);
    speech_model_close(&s);
    return failed ? EXIT_ERROR : EXIT_OK;
}
