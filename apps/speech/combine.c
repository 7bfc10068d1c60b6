/* cortex-speech combine: several speech models trained for the same words
 * and features become one ensemble model (the mean of their probabilities). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "speech.h"

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: cortex-speech combine --out MODEL [--data DATA] MEMBER MEMBER...\n"
        "       cortex-speech combine --out MODEL --data DATA MODEL\n"
        "\n"
        "Combines speech models trained for the same words with the same features\n"
        "(e.g. one recipe run with different --seed) into one ensemble model that\n"
        "classifies with the mean of their probabilities. An ensemble is usually\n"
        "more accurate on voices none of them heard than its members are; it costs\n"
        "the members' CPU time added up. Every command takes the combined MODEL\n"
        "like any other model.\n"
        "\n"
        "With --data the detector's settings are tuned for the ensemble, on a stream\n"
        "built from DATA the way the first member's training built its own (its\n"
        "validation speakers, else its training speakers); without it the first\n"
        "member's settings are kept.\n"
        "\n"
        "With one model and --data, that model's detector is tuned again, the same\n"
        "way (with other limits, say) and the model written to --out unchanged\n"
        "otherwise.\n"
        "\n"
        "  --out MODEL            model file to write (required)\n"
        "  --data DATA            the word folders to tune the detector on\n"
        "  --unknown-ratio X      _unknown_ examples per keyword class size in the\n"
        "                         stream (default: as the first member was trained)\n"
        "  --silence-ratio X      the same for _silence_\n"
        "  --seed N               the stream's random seed (default 1)\n" SPEECH_TUNE_LIMITS_HELP
        "  --threads N            CPU threads (default: all cores)\n"
        "  -h, --help             this help\n"
        "\n"
        "example:\n"
        "  cortex-speech train --data DATA --out a.safetensors --seed 1 ...\n"
        "  cortex-speech train --data DATA --out b.safetensors --seed 2 ...\n"
        "  cortex-speech combine --data DATA --out ab.safetensors a.safetensors b.safetensors\n");
}

/* The stream the detector is tuned on: DATA split as the first member's
 * training split it (the same words, test and validation speakers). */
static cx_status tuning_data(cx_speech_dataset **out, const char *data, const cx_speech_model *s,
                             float unknown_ratio, float silence_ratio, cx_error *err)
{
    cx_speech_opts so;
    cx_speech_model_data_opts(s, &so);
    so.unknown_ratio = unknown_ratio >= 0
                           ? unknown_ratio
                           : cx_speech_model_ratio(s, CX_SPEECH_META_UNKNOWN_RATIO, 1.0f);
    so.silence_ratio = silence_ratio >= 0
                           ? silence_ratio
                           : cx_speech_model_ratio(s, CX_SPEECH_META_SILENCE_RATIO, 1.0f);
    cx_status st = CX_ERR_ARG;
    if (so.val_percent > 0) {
        so.split = CX_SPLIT_VAL;
        st = cx_speech_load(out, data, &so, err);
    }
    if (st) {
        so.split = CX_SPLIT_TRAIN;
        st = cx_speech_load(out, data, &so, err);
    }
    if (!st && (*out)->nclasses != cx_speech_model_num_classes(s)) {
        st = cx_fail(err, CX_ERR_ARG, "%s: %d classes, the models have %d labels", data,
                     (*out)->nclasses, cx_speech_model_num_classes(s));
        cx_speech_free(*out);
        *out = NULL;
    }
    return st;
}

int cmd_combine(int argc, char **argv)
{
    enum { O_UR = 256, O_SR, O_SEED, O_THREADS, O_MAXFA, O_MAXDELAY };
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},
                                         {"data", required_argument, 0, 'd'},
                                         {"unknown-ratio", required_argument, 0, O_UR},
                                         {"silence-ratio", required_argument, 0, O_SR},
                                         {"seed", required_argument, 0, O_SEED},
                                         {"threads", required_argument, 0, O_THREADS},
                                         {"max-false-per-hour", required_argument, 0, O_MAXFA},
                                         {"max-delay-ms", required_argument, 0, O_MAXDELAY},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *out = NULL, *data = NULL;
    float ur = -1.0f, sr = -1.0f;
    unsigned long long seed = 1;
    int threads = 0, c, bad = 0;
    speech_tune_limits limits = SPEECH_TUNE_LIMITS_DEFAULT;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:d:h", opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            out = optarg;
            break;
        case 'd':
            data = optarg;
            break;
        case O_UR:
            bad = cli_float(PROG, "--unknown-ratio", optarg, 0, 100, &ur);
            break;
        case O_SR:
            bad = cli_float(PROG, "--silence-ratio", optarg, 0, 100, &sr);
            break;
        case O_SEED:
            bad = cli_u64(PROG, "--seed", optarg, &seed);
            break;
        case O_THREADS:
            bad = cli_int(PROG, "--threads", optarg, 0, 256, &threads);
            break;
        case O_MAXFA:
            bad = cli_float(PROG, "--max-false-per-hour", optarg, 0, 3600, &limits.fa_per_hour);
            break;
        case O_MAXDELAY:
            bad = cli_int(PROG, "--max-delay-ms", optarg, 0, 10000, &limits.max_delay_ms);
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            bad = 1;
        }
        if (bad) {
            fprintf(stderr, "Try 'cortex-speech combine --help'.\n");
            return EXIT_USAGE;
        }
    }
    int n = argc - optind;
    if (!out || n < 1 || n > CX_MODEL_MAX_MEMBERS || (n == 1 && !data)) {
        cli_error(PROG,
                  "combine: --out and 2 to %d member models are required (or one model with "
                  "--data, to tune its detector again)",
                  CX_MODEL_MAX_MEMBERS);
        usage(stderr);
        return EXIT_USAGE;
    }
    cx_set_threads(cli_threads(threads));
    int rc = EXIT_ERROR, opened = 0;
    cx_speech_model **s = calloc((size_t)n, sizeof *s);
    cx_model **members = calloc((size_t)n, sizeof *members), *e = NULL;
    cx_speech_dataset *ds = NULL;
    cx_error err;
    cx_status st = CX_OK;
    if (!s || !members) {
        st = cx_fail(&err, CX_ERR_NOMEM, "out of memory");
        goto fail;
    }
    for (; opened < n; opened++) {
        const char *path = argv[optind + opened];
        if (!(s[opened] = speech_open_model(path))) goto done;
        members[opened] = cx_speech_model_net(s[opened]);
        if (cx_model_num_members(members[opened])) {
            st = cx_fail(&err, CX_ERR_ARG, "%s is already an ensemble: combine its members instead",
                         path);
            goto fail;
        }
        const cx_model *a = members[0], *b = members[opened];
        const char *fa = cx_model_get_meta(a, CX_SPEECH_META_FEATURES);
        const char *fb = cx_model_get_meta(b, CX_SPEECH_META_FEATURES);
        int wa = cx_speech_model_window(s[0]), wb = cx_speech_model_window(s[opened]);
        if (strcmp(fa, fb) || wa != wb) {
            st = cx_fail(&err, CX_ERR_ARG,
                         "%s: its features or window differ from %s's (%s, %d "
                         "samples vs %s, %d samples)",
                         path, argv[optind], fb, wb, fa, wa);
            goto fail;
        }
        int same = cx_model_num_labels(a) == cx_model_num_labels(b);
        for (int i = 0; same && i < cx_model_num_labels(a); i++)
            same = !strcmp(cx_model_label(a, i), cx_model_label(b, i));
        if (!same) {
            st = cx_fail(&err, CX_ERR_ARG, "%s: its words differ from %s's", path, argv[optind]);
            goto fail;
        }
    }
    if (n == 1) {
        /* one model: its detector tuned again (other limits, other data) */
        printf("tuning the detector of %s on a stream from %s\n", argv[optind], data);
        fflush(stdout);
        if ((st = tuning_data(&ds, data, s[0], ur, sr, &err))) goto fail;
        if ((st = speech_tune_and_save(members[0], cx_speech_model_features(s[0]), ds, out, seed,
                                       &limits, &err)))
            goto fail;
        printf("model saved to %s\n", out);
        rc = EXIT_OK;
        goto done;
    }
    if ((st = cx_model_ensemble(&e, members, n, &err))) goto fail;
    const cx_model *first = members[0];
    const char *labels[256];
    int k = cx_model_num_labels(first);
    if (k > 256) {
        st = cx_fail(&err, CX_ERR_ARG, "%s: more than 256 words", argv[optind]);
        goto fail;
    }
    for (int i = 0; i < k; i++)
        labels[i] = cx_model_label(first, i);
    if ((st = cx_model_set_labels(e, k, labels, &err))) goto fail;
    for (int i = 0; i < cx_model_num_meta(first); i++) {
        const char *key = cx_model_meta_key(first, i);
        if ((st = cx_model_set_meta(e, key, cx_model_get_meta(first, key), &err))) goto fail;
    }
    char list[4096];
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        const char *sd = cx_model_get_meta(members[i], "train.seed");
        const char *base = strrchr(argv[optind + i], '/');
        used += (size_t)snprintf(list + used, sizeof list - used, "%s%s (seed %s)", i ? ", " : "",
                                 base ? base + 1 : argv[optind + i], sd ? sd : "?");
        if (used >= sizeof list) break;
    }
    if ((st = cx_model_set_meta(e, "train.members", list, &err))) goto fail;
    printf("ensemble of %d: %zu parameters\n", n, cx_model_num_params(e));
    fflush(stdout);
    if (data) {
        printf("tuning the detector on a stream from %s\n", data);
        fflush(stdout);
        if ((st = tuning_data(&ds, data, s[0], ur, sr, &err))) goto fail;
        if ((st = speech_tune_and_save(e, cx_speech_model_features(s[0]), ds, out, seed, &limits,
                                       &err)))
            goto fail;
    } else {
        printf("detector: kept from %s (give --data to tune it for the ensemble)\n", argv[optind]);
        if ((st = cx_model_save(e, out, &err))) goto fail;
    }
    printf("model saved to %s\n", out);
    rc = EXIT_OK;
    goto done;
fail:
    cli_error(PROG, "%s", err.msg);
done:
    for (int i = 0; s && i < n; i++)
        cx_speech_model_free(s[i]);
    cx_model_free(e);
    cx_speech_free(ds);
    free(s);
    free(members);
    return rc;
}
