/* cortex-speech eval and classify: accuracy on a labelled split; one label
 * per clip. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "report.h"
#include "speech.h"

static void eval_usage(FILE *f)
{
    fprintf(f, "usage: cortex-speech eval --model MODEL --data DATA [OPTIONS]\n"
               "\n"
               "Accuracy, per-word precision and recall, and the confusion matrix of a\n"
               "model on a data set laid out as for training (DATA/<word>/<speaker>_*.wav).\n"
               "DATA may hold some of the model's words only: the others are absent from\n"
               "the figures. By default every clip of a speaker the model was neither\n"
               "trained nor validated on is scored (train.seen_speakers in the model file;\n"
               "a model without that record: its test split, train.test_speakers or\n"
               "train.test_percent, or every clip when DATA has none of those speakers),\n"
               "so a folder of new speakers is all test data.\n"
               "\n"
               "  --model MODEL          the model file\n"
               "  --data DATA            the word folders\n"
               "  --split NAME           test, val, train or all: that split of DATA by the\n"
               "                         model's record, seen speakers included\n"
               "  --test-speakers a,b    the test speakers (implies --split test)\n"
               "  --json                 one JSON object: accuracy, n, labels, confusion,\n"
               "                         per_class, keyword_accuracy\n"
               "  --confusion-png FILE   draw the confusion matrix\n"
               "  --threads N            CPU threads (default: all cores)\n"
               "  -h, --help             this help\n");
}

static const report_style style = {"word", 14, 0, "clips", "rows: spoken word, columns: recognized",
                                   9,      5};

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
    int json = 0, threads = 0, c, split_set = 0;
    cx_split split = CX_SPLIT_TEST;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:d:h", opts, NULL)) != -1) {
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
        case O_TS:
            ts = optarg;
            break;
        case O_JSON:
            json = 1;
            break;
        case O_PNG:
            png = optarg;
            break;
        case O_THREADS:
            bad = cli_int(PROG, "--threads", optarg, 1, 256, &threads);
            break;
        case 'h':
            eval_usage(stdout);
            return EXIT_OK;
        default:
            bad = 1;
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
    cx_set_threads(cli_threads(threads));
    cx_speech_model *s = speech_open_model(model);
    if (!s) return EXIT_ERROR;
    cx_model *m = cx_speech_model_net(s);
    int rc = EXIT_ERROR, *pred = NULL, *truth = NULL, *map = NULL;
    char **test_speakers = NULL;
    cx_speech_dataset *ds = NULL;
    cx_speech_source *src = NULL;
    cx_confusion cm = {0};
    cx_error err;
    cx_status st;
    cx_speech_opts so;
    cx_speech_model_data_opts(s, &so);
    if (ts) {
        int nts = 0;
        if (!(test_speakers = cx_strlist_split(ts, &nts))) {
            st = cx_fail(&err, CX_ERR_NOMEM, "out of memory");
            goto fail;
        }
        so.test_speakers = (const char *const *)test_speakers;
        so.ntest_speakers = nts;
        so.test_percent_too = 0; /* exactly these */
    }
    int nseen = 0;
    const char *const *seen = cx_speech_model_seen_speakers(s, &nseen);
    const char *which = cx_split_name(split);
    if (!ts && !split_set && seen) {
        /* everyone the model never heard */
        so.split = CX_SPLIT_ALL;
        so.exclude_speakers = seen;
        so.nexclude_speakers = nseen;
        which = "unseen";
    } else {
        if (!ts) ts = cx_speech_model_test_speakers(s);
        so.split = split;
    }
    st = cx_speech_model_load_data(s, data, &so, &ds, &map, &err);
    if (st == CX_ERR_FORMAT && !seen && !split_set && !test_speakers && so.split != CX_SPLIT_ALL) {
        /* A model from before train.seen_speakers was recorded, and none of
         * its test speakers is here: DATA is someone else's recordings. */
        cli_error(PROG,
                  "note: DATA holds no clip of the model's %s speakers and the model "
                  "does not record whom it was trained on: every clip is scored",
                  which);
        so.split = CX_SPLIT_ALL;
        which = "all";
        ts = NULL;
        st = cx_speech_model_load_data(s, data, &so, &ds, &map, &err);
    }
    if (st) goto fail;
    if (!json) {
        for (int i = 0; i < ds->nwarnings && i < 20; i++)
            fprintf(stderr, "%s: warning: %s\n", PROG, ds->warnings[i]);
    }
    if (ds->n == 0) {
        st = cx_fail(&err, CX_ERR_ARG, "%s: no clips of %s speakers to score", data, which);
        goto fail;
    }
    pred = malloc(sizeof(int) * (size_t)ds->n);
    truth = malloc(sizeof(int) * (size_t)ds->n);
    if (!pred || !truth) {
        st = cx_fail(&err, CX_ERR_NOMEM, "out of memory");
        goto fail;
    }
    if ((st = cx_speech_source_create(&src, ds, cx_speech_model_extractor(s),
                                      cx_speech_model_window(s), NULL, &err)))
        goto fail;
    cx_train_source tsrc = cx_speech_train_source(src);
    float loss, acc;
    if ((st = cx_evaluate(m, &tsrc, 64, pred, truth, &loss, &acc, &err))) goto fail;
    for (int i = 0; i < ds->n; i++)
        truth[i] = map[truth[i]]; /* the data's classes as the model's labels */
    if ((st = cx_confusion_init(&cm, cx_model_num_labels(m), &err))) goto fail;
    cx_confusion_add(&cm, truth, pred, ds->n);
    long kw = 0, kw_right = 0;
    for (int i = 0; i < ds->n; i++)
        if (!cx_speech_is_background(cx_model_label(m, truth[i]))) {
            kw++;
            kw_right += pred[i] == truth[i];
        }
    double keyword_acc = kw ? (double)kw_right / kw : 0.0;
    if (json) {
        cJSON *o = report_confusion_json(m, &cm);
        if (o) cJSON_AddNumberToObject(o, "keyword_accuracy", keyword_acc);
        report_print_json(o);
    } else {
        printf("%s (%s speakers%s%s, %d of them): accuracy %.2f%% (%ld clips); keywords alone "
               "%.2f%%\n\n",
               data, which, ts ? ": " : "", ts ? ts : "", ds->nspeakers,
               100 * cx_confusion_accuracy(&cm), cm.n, 100 * keyword_acc);
        report_print_text(m, &cm, &style);
    }
    if (png && (st = report_confusion_png(m, &cm, png, &err))) goto fail;
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
    free(map);
    cx_strlist_free(test_speakers);
    cx_speech_model_free(s);
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
        case 'm':
            model = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            classify_usage(stdout);
            return EXIT_OK;
        default:
            classify_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!model || optind >= argc) {
        cli_error(PROG, "classify: --model and at least one audio file are required");
        classify_usage(stderr);
        return EXIT_USAGE;
    }
    cx_speech_model *s = speech_open_model(model);
    if (!s) return EXIT_ERROR;
    int k = cx_speech_model_num_classes(s), failed = 0, broken = 0;
    float *probs = malloc(sizeof(float) * (size_t)k);
    if (!probs) {
        cli_error(PROG, "out of memory");
        failed = broken = 1;
    }
    for (int i = optind; i < argc && !broken; i++) {
        cx_error err;
        int best = 0;
        if (cx_speech_model_classify_file(s, argv[i], probs, &best, &err)) {
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
            failed = 1;
            continue;
        }
        if (json) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "file", argv[i]);
            cJSON_AddStringToObject(o, "label", cx_speech_model_label(s, best));
            cJSON_AddNumberToObject(o, "probability", probs[best]);
            char *t = cJSON_PrintUnformatted(o);
            if (t) printf("%s\n", t);
            free(t);
            cJSON_Delete(o);
        } else {
            printf("%s: %s %.3f\n", argv[i], cx_speech_model_label(s, best), (double)probs[best]);
        }
        fflush(stdout);
    }
    free(probs);
    cx_speech_model_free(s);
    return failed ? EXIT_ERROR : EXIT_OK;
}
