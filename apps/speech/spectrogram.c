/* cortex-speech spectrogram: draws the features a model sees. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "plot.h"
#include "speech.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: cortex-speech spectrogram FILE --png OUT [--model MODEL] [--rate HZ]\n"
               "\n"
               "Draws the features of an audio file as an image (time left to right, low\n"
               "bands at the bottom): with --model exactly the features that model sees\n"
               "(its rate, window, mel bands or MFCCs), otherwise 40 log-mel bands at\n"
               "--rate (default 16000).\n"
               "\n"
               "  --png OUT      the PNG file to write\n"
               "  --model MODEL  use this model's feature settings\n"
               "  --rate HZ      sample rate without a model (default 16000)\n"
               "  -h, --help     this help\n");
}

int cmd_spectrogram(int argc, char **argv)
{
    static const struct option opts[] = {{"png", required_argument, 0, 'p'},
                                         {"model", required_argument, 0, 'm'},
                                         {"rate", required_argument, 0, 'r'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *png = NULL, *model = NULL;
    int rate = 16000, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "p:m:r:h", opts, NULL)) != -1) {
        switch (c) {
        case 'p':
            png = optarg;
            break;
        case 'm':
            model = optarg;
            break;
        case 'r':
            if (cli_int(PROG, "--rate", optarg, 4000, 96000, &rate)) return EXIT_USAGE;
            break;
        case 'h':
            usage(stdout);
            return EXIT_OK;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!png || optind != argc - 1) {
        cli_error(PROG, "spectrogram: one audio file and --png OUT are required");
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *file = argv[optind];
    cx_speech_model *s = NULL;
    cx_feat_config fc;
    if (model) {
        if (!(s = speech_open_model(model))) return EXIT_ERROR;
        fc = *cx_speech_model_features(s);
    } else {
        cx_feat_config_default(&fc, rate);
    }
    cx_error err;
    cx_melspec *fx = NULL;
    float *x = NULL, *feat = NULL;
    size_t n = 0;
    int rc = EXIT_ERROR;
    if (cx_melspec_create(&fx, &fc, &err) ||
        cx_audio_load(file, fc.sample_rate, &x, &n, NULL, &err))
        goto fail;
    size_t frames = cx_feat_num_frames(&fc, n);
    int bins = cx_feat_num_features(&fc);
    if (frames == 0) {
        cx_fail(&err, CX_ERR_ARG, "%s: shorter than one feature frame", file);
        goto fail;
    }
    if (!(feat = malloc(sizeof(float) * frames * (size_t)bins))) {
        cx_fail(&err, CX_ERR_NOMEM, "out of memory");
        goto fail;
    }
    int got = cx_melspec_compute(fx, x, n, feat, (int)frames);
    char title[512];
    snprintf(title, sizeof title, "%.200s: %d frames x %d %s", file, got, bins,
             fc.kind == CX_FEAT_MFCC ? "MFCCs" : "log-mel bands");
    if (plot_features(png, title, feat, got, bins, (double)fc.hop_length / fc.sample_rate, &err))
        goto fail;
    printf("%s: %d frames of %d features drawn to %s\n", file, got, bins, png);
    rc = EXIT_OK;
    goto done;
fail:
    cli_error(PROG, "%s", err.msg);
done:
    free(x);
    free(feat);
    cx_melspec_free(fx);
    cx_speech_model_free(s);
    return rc;
}
