/* Speech model files: loading with their feature settings; info. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "speech_model.h"

static int is_background(const char *label)
{
    return !strcmp(label, CX_SPEECH_SILENCE) || !strcmp(label, CX_SPEECH_UNKNOWN);
}

int speech_model_open(speech_model *s, const char *path)
{
    cx_error err;
    memset(s, 0, sizeof *s);
    if (cx_model_load(&s->m, path, &err)) goto fail;
    const char *fs = cx_model_get_meta(s->m, SPEECH_META_FEATURES);
    const char *ws = cx_model_get_meta(s->m, SPEECH_META_WINDOW);
    if (!fs || !ws) {
        cx_fail(&err, CX_ERR_FORMAT, "%s: not a speech model (no %s / %s metadata)", path,
                SPEECH_META_FEATURES, SPEECH_META_WINDOW);
        goto fail;
    }
    if (cx_feat_config_parse(&s->feat, fs, &err)) {
        char msg[sizeof err.msg];
        snprintf(msg, sizeof msg, "%s", err.msg);
        cx_fail(&err, CX_ERR_FORMAT, "%s: %s: %s", path, SPEECH_META_FEATURES, msg);
        goto fail;
    }
    char *end;
    long w = strtol(ws, &end, 10);
    if (*end || w < 1 || w > (long)CX_SPEECH_MAX_SECONDS * s->feat.sample_rate) {
        cx_fail(&err, CX_ERR_FORMAT, "%s: bad %s '%s'", path, SPEECH_META_WINDOW, ws);
        goto fail;
    }
    s->window = (int)w;
    const cx_shape *in = cx_model_input_shape(s->m), *out = cx_model_output_shape(s->m);
    s->frames = (int)cx_feat_num_frames(&s->feat, (size_t)w);
    s->bins = cx_feat_num_features(&s->feat);
    if (in->ndim != 2 || in->d[0] != s->frames || in->d[1] != s->bins) {
        cx_fail(&err, CX_ERR_FORMAT,
                "%s: the model's input does not match its feature settings (%d frames of %d)",
                path, s->frames, s->bins);
        goto fail;
    }
    if (out->ndim != 1 || out->d[0] != cx_model_num_labels(s->m)) {
        cx_fail(&err, CX_ERR_FORMAT, "%s: %d labels for %d outputs", path,
                cx_model_num_labels(s->m), out->ndim == 1 ? out->d[0] : -1);
        goto fail;
    }
    for (int i = 0; i < cx_model_num_labels(s->m); i++)
        s->nwords += !is_background(cx_model_label(s->m, i));
    if (cx_detect_config_from_model(s->m, &s->detect, &err)) {
        char msg[sizeof err.msg];
        snprintf(msg, sizeof msg, "%s", err.msg);
        cx_fail(&err, CX_ERR_FORMAT, "%s: %s", path, msg);
        goto fail;
    }
    if (cx_melspec_create(&s->fx, &s->feat, &err) || cx_model_reserve(s->m, 1, &err)) goto fail;
    return 0;
fail:
    cli_error(PROG, "%s", err.msg);
    speech_model_close(s);
    return -1;
}

void speech_model_close(speech_model *s)
{
    cx_melspec_free(s->fx);
    cx_model_free(s->m);
    memset(s, 0, sizeof *s);
}

int speech_model_words(const speech_model *s, const char ***words)
{
    int n = 0, k = cx_model_num_labels(s->m);
    *words = malloc(sizeof(char *) * (size_t)(k > 0 ? k : 1));
    if (!*words) return -1;
    for (int i = 0; i < k; i++)
        if (!is_background(cx_model_label(s->m, i))) (*words)[n++] = cx_model_label(s->m, i);
    return n;
}

int speech_data_opts(const speech_model *s, const char *test_speakers, cx_speech_opts *so,
                     const char ***words, char ***test)
{
    *test = NULL;
    int nwords = speech_model_words(s, words);
    if (nwords < 0) return -1;
    cx_speech_opts_init(so);
    so->sample_rate = s->feat.sample_rate;
    so->words = *words;
    so->nwords = nwords;
    int has_unknown = 0;
    for (int i = 0; i < cx_model_num_labels(s->m); i++)
        has_unknown |= !strcmp(cx_model_label(s->m, i), CX_SPEECH_UNKNOWN);
    if (!has_unknown) so->unknown_ratio = 0;
    const char *ts = test_speakers ? test_speakers : cx_model_get_meta(s->m, "train.test_speakers");
    if (ts) {
        int nts = 0;
        if (!(*test = speech_split_list(ts, &nts))) return -1;
        so->test_speakers = (const char *const *)*test;
        so->ntest_speakers = nts;
    } else {
        const char *tp = cx_model_get_meta(s->m, "train.test_percent");
        if (tp) so->test_percent = atoi(tp);
    }
    const char *vp = cx_model_get_meta(s->m, "train.val_percent");
    if (vp) so->val_percent = atoi(vp);
    return 0;
}

cx_status speech_classify_clip(speech_model *s, const float *clip, size_t n, float *window,
                               float *feat, float *probs, cx_error *err)
{
    size_t W = (size_t)s->window;
    memset(window, 0, W * sizeof *window);
    /* Centred as the training windows are: offset (W - L) / 2 in C rounding. */
    long off = ((long)W - (long)n) / 2;
    for (size_t i = 0; i < n; i++) {
        long j = (long)i + off;
        if (j >= 0 && j < (long)W) window[j] = clip[i];
    }
    int got = cx_melspec_compute(s->fx, window, W, feat, s->frames);
    if (got != s->frames)
        return cx_fail(err, CX_ERR_STATE, "feature extraction gave %d of %d frames", got,
                       s->frames);
    const float *z = cx_model_forward(s->m, 1, feat);
    cx_softmax(z, 1, cx_model_num_labels(s->m), probs);
    return CX_OK;
}

char **speech_split_list(const char *s, int *n)
{
    *n = 0;
    size_t cap = 1;
    for (const char *p = s; *p; p++) cap += *p == ',';
    char **v = calloc(cap + 1, sizeof *v);
    if (!v) return NULL;
    const char *start = s;
    for (const char *p = s;; p++) {
        if (*p == ',' || !*p) {
            size_t len = (size_t)(p - start);
            if (len) {
                v[*n] = strndup(start, len);
                if (!v[*n]) {
                    speech_free_list(v);
                    return NULL;
                }
                (*n)++;
            }
            if (!*p) break;
            start = p + 1;
        }
    }
    return v;
}

void speech_free_list(char **v)
{
    if (!v) return;
    for (char **p = v; *p; p++) free(*p);
    free(v);
}

/* Chooses the detector's settings on a stream built from ds (validation
 * speakers when there are any), stores them in the model and saves it. */
cx_status speech_tune_detector(cx_model *m, const cx_feat_config *fc, const cx_speech_dataset *ds,
                               const char *out, uint64_t seed, const speech_tune_limits *lim,
                               cx_error *err)
{
    int *keys = malloc(sizeof(int) * (size_t)ds->n), *dis = malloc(sizeof(int) * (size_t)ds->n);
    int nk = 0, nd = 0;
    if (!keys || !dis) {
        free(keys);
        free(dis);
        return cx_fail(err, CX_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < ds->n; i++) {
        if (!ds->items[i].samples) continue;
        if (ds->items[i].label < ds->nwords)
            keys[nk++] = i;
        else
            dis[nd++] = i;
    }
    cx_speech_stream_opts so;
    cx_speech_stream_opts_init(&so);
    so.seed = seed;
    so.distractors = dis;
    so.ndistractors = nd;
    so.distractor_prob = nd ? 0.5f : 0.0f;
    float *samples = NULL;
    size_t length = 0;
    cx_speech_event *ev = NULL;
    int nev = 0;
    cx_status st = cx_speech_stream_build(ds, keys, nk, &so, &samples, &length, &ev, &nev, err);
    cx_detect_truth *truth = st ? NULL : malloc(sizeof *truth * (size_t)(nev ? nev : 1));
    if (!st && !truth) st = cx_fail(err, CX_ERR_NOMEM, "out of memory");
    int nt = 0;
    double keyword_s = 0;
    for (int i = 0; !st && i < nev; i++) {
        if (!ev[i].keyword) continue;
        truth[nt].word = ds->class_names[ev[i].label];
        truth[nt].start = (double)ev[i].start / ds->sample_rate;
        truth[nt].end = (double)ev[i].end / ds->sample_rate;
        keyword_s += truth[nt].end - truth[nt].start;
        nt++;
    }
    cx_detect_tune_result tr;
    if (!st) {
        double other_hours = ((double)length / ds->sample_rate - keyword_s) / 3600.0;
        double max_delay_s = lim->max_delay_ms ? lim->max_delay_ms / 1000.0 : INFINITY;
        st = cx_detect_tune(m, fc, NULL, NULL, samples, length, truth, nt, other_hours,
                            lim->fa_per_hour, max_delay_s, SPEECH_DETECT_TOLERANCE, &tr, err);
        if (!st) {
            char buf[CX_DETECT_CONFIG_STRLEN];
            st = cx_detect_config_to_string(&tr.config, buf, sizeof buf, err);
            if (!st) st = cx_model_set_meta(m, CX_DETECT_META_KEY, buf, err);
            if (!st) st = cx_model_save(m, out, err);
            if (!st) {
                printf("detector: %s\n", buf);
                char delay[48] = "none found";
                if (tr.stats.hits > 0)
                    snprintf(delay, sizeof delay, "%.0f ms", 1000 * tr.stats.median_delay);
                printf("detector on a %.0f s %s stream: %d of %d words found, %d false alarms "
                       "(%d in the %.0f s without keywords), median delay %s\n",
                       (double)length / ds->sample_rate,
                       ds->split == CX_SPLIT_VAL ? "validation" : "training", tr.stats.hits, nt,
                       tr.stats.false_alarms, tr.stats.outside, other_hours * 3600.0, delay);
                if (!tr.feasible)
                    printf("note: no setting kept to %g false alarms per hour of audio without "
                           "keywords (--max-false-per-hour); this one makes the fewest\n",
                           (double)lim->fa_per_hour);
                else if (!tr.fast)
                    printf("note: no setting within %g false alarms per hour has a median delay "
                           "of at most %d ms (--max-delay-ms); this one finds the most\n",
                           (double)lim->fa_per_hour, lim->max_delay_ms);
            }
        }
    }
    free(samples);
    free(ev);
    free(truth);
    free(keys);
    free(dis);
    return st;
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
    speech_model s;
    if (speech_model_open(&s, path)) return EXIT_ERROR;
    printf("model:        %s\n", path);
    printf("words (%d):   ", s.nwords);
    for (int i = 0, k = 0; i < cx_model_num_labels(s.m); i++)
        if (!is_background(cx_model_label(s.m, i)))
            printf("%s%s", k++ ? ", " : "", cx_model_label(s.m, i));
    printf("\nclasses:      %d (keywords, then", cx_model_num_labels(s.m));
    for (int i = 0; i < cx_model_num_labels(s.m); i++)
        if (is_background(cx_model_label(s.m, i))) printf(" %s", cx_model_label(s.m, i));
    printf(")\narchitecture: %s\n", cx_model_spec(s.m));
    printf("parameters:   %zu\n", cx_model_num_params(s.m));
    if (cx_model_num_members(s.m))
        printf("ensemble:     %d members, the mean of their probabilities\n",
               cx_model_num_members(s.m));
    printf("window:       %.3f s (%d samples at %d Hz, %d frames of %d features)\n",
           (double)s.window / s.feat.sample_rate, s.window, s.feat.sample_rate, s.frames, s.bins);
    printf("features:     %s\n", cx_model_get_meta(s.m, SPEECH_META_FEATURES));
    char buf[CX_DETECT_CONFIG_STRLEN];
    cx_error err;
    if (!cx_detect_config_to_string(&s.detect, buf, sizeof buf, &err))
        printf("detector:     %s%s\n", buf,
               cx_model_get_meta(s.m, CX_DETECT_META_KEY) ? "" : " (defaults)");
    printf("training:\n");
    for (int i = 0; i < cx_model_num_meta(s.m); i++) {
        const char *k = cx_model_meta_key(s.m, i);
        if (!strncmp(k, "train.", 6)) printf("  %-24s %s\n", k, cx_model_get_meta(s.m, k));
    }
    speech_model_close(&s);
    return EXIT_OK;
}
