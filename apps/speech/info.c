/* cortex-speech info, and the pieces the other commands share: opening a
 * model, tuning and saving its detector. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "speech.h"

cx_speech_model *speech_open_model(const char *path)
{
    cx_error err;
    cx_speech_model *s = NULL;
    if (cx_speech_model_load(&s, path, &err)) cli_error(PROG, "%s", err.msg);
    return s;
}

cx_status speech_tune_and_save(cx_model *m, const cx_feat_config *fc, const cx_speech_dataset *ds,
                               const char *out, uint64_t seed, const speech_tune_limits *lim,
                               cx_error *err)
{
    cx_speech_tune_report rep;
    double max_delay_s = lim->max_delay_ms ? lim->max_delay_ms / 1000.0 : INFINITY;
    cx_status st =
        cx_speech_tune_detector(m, fc, ds, seed, lim->fa_per_hour, max_delay_s, &rep, err);
    if (!st && cli_rank() == 0) st = cx_model_save(m, out, err);
    if (st) return st;
    const cx_detect_tune_result *tr = &rep.result;
    printf("detector: %s\n", cx_model_get_meta(m, CX_DETECT_META_KEY));
    char delay[48] = "none found";
    if (tr->stats.hits > 0) snprintf(delay, sizeof delay, "%.0f ms", 1000 * tr->stats.median_delay);
    printf("detector on a %.0f s %s stream: %d of %d words found, %d false alarms "
           "(%d in the %.0f s without keywords), median delay %s\n",
           rep.stream_seconds, ds->split == CX_SPLIT_VAL ? "validation" : "training",
           tr->stats.hits, rep.words, tr->stats.false_alarms, tr->stats.outside,
           rep.background_seconds, delay);
    if (!tr->feasible)
        printf("note: no setting kept to %g false alarms per hour of audio without "
               "keywords (--max-false-per-hour); this one makes the fewest\n",
               (double)lim->fa_per_hour);
    else if (!tr->fast)
        printf("note: no setting within %g false alarms per hour has a median delay "
               "of at most %d ms (--max-delay-ms); this one finds the most\n",
               (double)lim->fa_per_hour, lim->max_delay_ms);
    return CX_OK;
}

static void info_usage(FILE *f)
{
    fprintf(f, "usage: cortex-speech info --model MODEL\n"
               "\n"
               "Shows a speech model's words, architecture, parameter count, feature\n"
               "settings, detector settings and training record.\n"
               "\n"
               "  --model MODEL  the model file\n"
               "  -h, --help     this help\n");
}

int cmd_info(int argc, char **argv)
{
    const char *path;
    int rc = cli_model_only(argc, argv, info_usage, &path);
    if (rc >= 0) return rc;
    cx_speech_model *s = speech_open_model(path);
    if (!s) return EXIT_ERROR;
    cx_model *m = cx_speech_model_net(s);
    const cx_feat_config *fc = cx_speech_model_features(s);
    printf("model:        %s\n", path);
    printf("words (%d):   ", cx_speech_model_num_words(s));
    for (int i = 0; i < cx_speech_model_num_words(s); i++)
        printf("%s%s", i ? ", " : "", cx_speech_model_word(s, i));
    printf("\nclasses:      %d (keywords, then", cx_model_num_labels(m));
    for (int i = 0; i < cx_model_num_labels(m); i++)
        if (cx_speech_is_background(cx_model_label(m, i))) printf(" %s", cx_model_label(m, i));
    printf(")\narchitecture: %s\n", cx_model_spec(m));
    printf("parameters:   %zu\n", cx_model_num_params(m));
    if (cx_model_num_members(m))
        printf("ensemble:     %d members, the mean of their probabilities\n",
               cx_model_num_members(m));
    int window = cx_speech_model_window(s);
    printf("window:       %.3f s (%d samples at %d Hz, %d frames of %d features)\n",
           (double)window / fc->sample_rate, window, fc->sample_rate, cx_speech_model_frames(s),
           cx_speech_model_features_per_frame(s));
    printf("features:     %s\n", cx_model_get_meta(m, CX_SPEECH_META_FEATURES));
    char buf[CX_DETECT_CONFIG_STRLEN];
    cx_error err;
    if (!cx_detect_config_to_string(cx_speech_model_detect_config(s), buf, sizeof buf, &err))
        printf("detector:     %s%s\n", buf,
               cx_speech_model_has_detect_config(s) ? "" : " (defaults)");
    report_print_record(m, 24, NULL);
    cx_speech_model_free(s);
    return EXIT_OK;
}
