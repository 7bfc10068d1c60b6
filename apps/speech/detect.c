/* cortex-speech detect: the live detector run over a recording. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "speech.h"

#define DETECT_OPTION_HELP                                                                         \
    "  --threshold X          fire when a word's averaged probability reaches X\n"                 \
    "  --average-ms N         average the scores over the last N ms\n"                             \
    "  --min-count N          evaluations needed in that span\n"                                   \
    "  --suppress-ms N        quiet time after a detection\n"                                      \
    "  --every N              run the model every N feature frames (10 ms each)\n"                 \
    "                         (defaults: the settings tuned at training, stored in MODEL)\n"

void speech_notice(const char *msg)
{
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
    fprintf(stderr, "%s: %s %s\n", PROG, stamp, msg);
    fflush(stderr);
}

void speech_print_detection(const cx_detection *e, int json, const char *stamp)
{
    if (json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "word", e->word);
        cJSON_AddNumberToObject(o, "time", e->time);
        cJSON_AddNumberToObject(o, "confidence", e->confidence);
        if (stamp) cJSON_AddStringToObject(o, "at", stamp);
        char *s = cJSON_PrintUnformatted(o);
        if (s) printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else if (stamp) {
        printf("%s  %8.2fs  %-12s %.3f\n", stamp, e->time, e->word, (double)e->confidence);
    } else {
        printf("%8.2fs  %-12s %.3f\n", e->time, e->word, (double)e->confidence);
    }
    fflush(stdout);
}

static void detect_usage(FILE *f)
{
    fprintf(f, "usage: cortex-speech detect --model MODEL [OPTIONS] FILE\n"
               "\n"
               "Streams a recording through the live detector and prints each keyword it\n"
               "hears with its time (seconds from the start) and confidence, exactly as\n"
               "'listen' would have reported it from a microphone.\n"
               "\n"
               "  --model MODEL          the model file\n"
               "  --json                 one JSON object per line: word, time, "
               "confidence\n" DETECT_OPTION_HELP
               "  --threads N            CPU threads for the model (default 1, as 'listen')\n"
               "  -h, --help             this help\n");
}

int cmd_detect(int argc, char **argv)
{
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"json", no_argument, 0, 'j'},
                                         {"threads", required_argument, 0, 'T'},
                                         {"help", no_argument, 0, 'h'},
                                         SPEECH_OVERRIDE_OPTIONS,
                                         {0, 0, 0, 0}};
    const char *model = NULL;
    int json = 0, c, threads = 1;
    speech_overrides ov;
    speech_overrides_init(&ov);
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:jh", opts, NULL)) != -1) {
        int r = speech_overrides_option(&ov, c, optarg);
        if (r < 0) return EXIT_USAGE;
        if (r) continue;
        switch (c) {
        case 'm':
            model = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'T':
            if (cli_int(PROG, "--threads", optarg, 1, 256, &threads)) return EXIT_USAGE;
            break;
        case 'h':
            detect_usage(stdout);
            return EXIT_OK;
        default:
            detect_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!model || optind != argc - 1) {
        cli_error(PROG, "detect: --model and one audio file are required");
        detect_usage(stderr);
        return EXIT_USAGE;
    }
    const char *file = argv[optind];
    cx_set_threads(cli_threads(threads));
    cx_speech_model *s = speech_open_model(model);
    if (!s) return EXIT_ERROR;
    int rate = cx_speech_model_features(s)->sample_rate;
    cx_error err;
    float *samples = NULL;
    size_t n = 0;
    cx_detector *d = NULL;
    int rc = EXIT_ERROR;
    cx_detect_config dc = *cx_speech_model_detect_config(s);
    speech_overrides_apply(&ov, &dc);
    if (cx_audio_load(file, rate, &samples, &n, NULL, &err) ||
        cx_speech_model_detector(s, &dc, &d, &err)) {
        cli_error(PROG, "%s", err.msg);
        goto done;
    }
    double t0 = (double)clock() / CLOCKS_PER_SEC;
    cx_detection ev[64];
    long found = 0;
    size_t chunk = (size_t)rate / 10;
    for (size_t at = 0; at < n; at += chunk) {
        size_t len = n - at < chunk ? n - at : chunk;
        int k = cx_detector_push(d, samples + at, len, ev, 64);
        for (int i = 0; i < k && i < 64; i++)
            speech_print_detection(&ev[i], json, NULL);
        found += k;
    }
    double cpu = (double)clock() / CLOCKS_PER_SEC - t0, secs = (double)n / rate;
    if (!json)
        fprintf(stderr,
                "%s: %ld detections in %.1f s of audio; %lld model evaluations; %.3f s of CPU "
                "(%.2f%% of real time)\n",
                PROG, found, secs, (long long)cx_detector_evaluations(d), cpu,
                100.0 * cpu / (secs > 0 ? secs : 1));
    rc = EXIT_OK;
done:
    cx_detector_free(d);
    free(samples);
    cx_speech_model_free(s);
    return rc;
}

void speech_overrides_init(speech_overrides *o)
{
    o->threshold = -1;
    o->average_ms = o->min_count = o->suppress_ms = o->every = -1;
}

void speech_overrides_apply(const speech_overrides *o, cx_detect_config *c)
{
    if (o->threshold >= 0) c->threshold = o->threshold;
    if (o->average_ms >= 0) c->average_ms = o->average_ms;
    if (o->min_count >= 0) c->min_count = o->min_count;
    if (o->suppress_ms >= 0) c->suppress_ms = o->suppress_ms;
    if (o->every >= 0) c->every_frames = o->every;
}

int speech_overrides_option(speech_overrides *o, int c, const char *v)
{
    switch (c) {
    case SPEECH_O_THRESHOLD:
        return cli_float(PROG, "--threshold", v, 0, 1, &o->threshold) ? -1 : 1;
    case SPEECH_O_AVERAGE:
        return cli_int(PROG, "--average-ms", v, 0, 60000, &o->average_ms) ? -1 : 1;
    case SPEECH_O_MINCOUNT:
        return cli_int(PROG, "--min-count", v, 1, 10000, &o->min_count) ? -1 : 1;
    case SPEECH_O_SUPPRESS:
        return cli_int(PROG, "--suppress-ms", v, 0, 600000, &o->suppress_ms) ? -1 : 1;
    case SPEECH_O_EVERY:
        return cli_int(PROG, "--every", v, 1, 1000, &o->every) ? -1 : 1;
    }
    return 0;
}
