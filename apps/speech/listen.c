/* cortex-speech listen: the live mode, keywords from the microphone. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mic.h"
#include "speech.h"

static void listen_usage(FILE *f)
{
    fprintf(f,
            "usage: cortex-speech listen --model MODEL [OPTIONS]\n"
            "\n"
            "Listens to the microphone and prints each keyword as it is heard, with the\n"
            "wall-clock time, the seconds since listening began and the confidence,\n"
            "until Ctrl-C. Without a microphone, 'cortex-speech detect --model MODEL FILE'\n"
            "runs the same detector over a recording.\n"
            "\n"
            "  --model MODEL          the model file\n"
            "  --device D             input device: index or part of its name, as listed by\n"
            "                         'cortex-speech devices' (default: the default input)\n"
            "  --json                 one JSON object per line: word, time, confidence, at\n"
            "  --exec CMD             run CMD (with /bin/sh) for each detection; it gets\n"
            "                         CORTEX_WORD, CORTEX_CONFIDENCE and CORTEX_TIME\n"
            "  --seconds N            stop after N seconds (default: until Ctrl-C)\n"
            "  --reconnect SECONDS    when the microphone stops delivering audio (unplugged,\n"
            "                         the audio server restarted), reopen it for up to this\n"
            "                         long before giving up with exit code 1 (default 10;\n"
            "                         0: give up at once)\n"
            "  --threads N            CPU threads for the model (default 1: one window at a\n"
            "                         time is too small a job to share, and idle helper\n"
            "                         threads spin: with 2 the shipped model took a whole core)\n"
            "  --threshold X, --average-ms N, --min-count N, --suppress-ms N, --every N\n"
            "                         override the detector settings stored in MODEL\n"
            "  -h, --help             this help\n"
            "\n"
            "On exit a summary goes to stderr: time listened, model evaluations, CPU used\n"
            "input overflows (audio lost because the machine was too busy) and the gaps\n"
            "where the microphone was lost and reopened.\n");
}

/* Runs cmd in the background with the detection in its environment. */
static void run_exec(const char *cmd, const cx_detection *e)
{
    pid_t pid = fork();
    if (pid != 0) return; /* parent (or fork failure: nothing to run) */
    char conf[32], t[32];
    snprintf(conf, sizeof conf, "%.4f", (double)e->confidence);
    snprintf(t, sizeof t, "%.3f", e->time);
    setenv("CORTEX_WORD", e->word, 1);
    setenv("CORTEX_CONFIDENCE", conf, 1);
    setenv("CORTEX_TIME", t, 1);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
}

static double cpu_seconds(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * ru.ru_stime.tv_usec;
}

int cmd_listen(int argc, char **argv)
{
    enum { O_DEVICE = 256, O_JSON, O_EXEC, O_SECONDS, O_THREADS, O_RECONNECT };
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"device", required_argument, 0, O_DEVICE},
                                         {"json", no_argument, 0, O_JSON},
                                         {"exec", required_argument, 0, O_EXEC},
                                         {"seconds", required_argument, 0, O_SECONDS},
                                         {"threads", required_argument, 0, O_THREADS},
                                         {"reconnect", required_argument, 0, O_RECONNECT},
                                         SPEECH_OVERRIDE_OPTIONS,
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *model = NULL, *device = NULL, *exec_cmd = NULL;
    int json = 0, c, threads = 1;
    float seconds = 0, reconnect = 10;
    speech_overrides over;
    speech_overrides_init(&over);
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
        int bad = 0, r = speech_overrides_option(&over, c, optarg);
        if (r > 0) continue;
        switch (r < 0 ? -1 : c) {
        case 'm':
            model = optarg;
            break;
        case O_DEVICE:
            device = optarg;
            break;
        case O_JSON:
            json = 1;
            break;
        case O_EXEC:
            exec_cmd = optarg;
            break;
        case O_SECONDS:
            bad = cli_float(PROG, "--seconds", optarg, 0.1, 1e7, &seconds);
            break;
        case O_THREADS:
            bad = cli_int(PROG, "--threads", optarg, 1, 256, &threads);
            break;
        case O_RECONNECT:
            bad = cli_float(PROG, "--reconnect", optarg, 0, 86400, &reconnect);
            break;
        case 'h':
            listen_usage(stdout);
            return EXIT_OK;
        default:
            bad = 1;
        }
        if (bad) {
            fprintf(stderr, "Try 'cortex-speech listen --help'.\n");
            return EXIT_USAGE;
        }
    }
    if (!model || optind < argc) {
        cli_error(PROG, "listen: --model is required");
        listen_usage(stderr);
        return EXIT_USAGE;
    }
    cx_set_threads(cli_threads(threads));
    cx_speech_model *s = speech_open_model(model);
    if (!s) return EXIT_ERROR;
    int rate = cx_speech_model_features(s)->sample_rate;
    cx_detect_config dc = *cx_speech_model_detect_config(s);
    speech_overrides_apply(&over, &dc);
    cx_error err;
    cx_detector *d = NULL;
    mic *in = NULL;
    float *buf = NULL;
    int rc = EXIT_ERROR, inited = 0;
    if (cx_speech_model_detector(s, &dc, &d, &err) || mic_init(&err)) goto fail;
    inited = 1;
    cli_install_stop_handler();
    if (exec_cmd) signal(SIGCHLD, SIG_IGN); /* no zombies from --exec */
    /* The device is read 50 ms at a time, as the loop below takes it: with
     * 20 ms blocks listen took 5.35-6.33% of a core against 4.56-5.13% on
     * the virtual microphone (commands model, alternating, 2026-12-03). */
    mic_config mc = {device, rate, 50, &cli_stop, reconnect, speech_notice};
    if (!(in = mic_open(&mc, &err))) goto fail;
    size_t block = (size_t)rate / 20; /* 50 ms */
    if (!(buf = malloc(sizeof(float) * block))) {
        cx_fail(&err, CX_ERR_NOMEM, "out of memory");
        goto fail;
    }
    const mic_device *dev = mic_device_info(in);
    double started = cx_now(), cpu0 = cpu_seconds();
    long blocks = 0, found = 0, gaps = 0;
    cx_detection ev[16];
    while (!cli_stop) {
        cx_status st = mic_read(in, buf, block, &err);
        if (st == CX_ERR_INTERRUPTED) break;
        if (st) goto fail;
        if (mic_gaps(in) != gaps) { /* a word is not heard across the gap */
            gaps = mic_gaps(in);
            cx_detector_reset(d);
        }
        if (blocks++ == 0)
            fprintf(stderr, "%s: listening on %s at %d Hz for: %d words (Ctrl-C to stop)\n", PROG,
                    dev && dev->name ? dev->name : "the default input", rate,
                    cx_speech_model_num_words(s));
        int k = cx_detector_push(d, buf, block, ev, 16);
        for (int i = 0; i < k && i < 16; i++) {
            char stamp[32];
            time_t now = time(NULL);
            struct tm tm;
            localtime_r(&now, &tm);
            strftime(stamp, sizeof stamp, "%H:%M:%S", &tm);
            speech_print_detection(&ev[i], json, stamp);
            if (exec_cmd) run_exec(exec_cmd, &ev[i]);
        }
        found += k;
        if (seconds > 0 && (double)blocks * block >= (double)seconds * rate) break;
    }
    double wall = cx_now() - started, cpu = cpu_seconds() - cpu0;
    fprintf(stderr,
            "%s: listened %.1f s: %ld detections, %lld model evaluations, CPU %.2f%% of one "
            "core, %ld input overflows, %ld gaps (%.1f s of audio missed)\n",
            PROG, wall, found, (long long)cx_detector_evaluations(d),
            100.0 * cpu / (wall > 0 ? wall : 1), mic_overflows(in), mic_gaps(in),
            mic_gap_seconds(in));
    rc = EXIT_OK;
    goto done;
fail:
    cli_error(PROG, "%s", err.msg);
done:
    free(buf);
    mic_close(in);
    if (inited) mic_terminate();
    cx_detector_free(d);
    cx_speech_model_free(s);
    return rc;
}
