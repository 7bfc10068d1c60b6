/* devices: the audio input devices PortAudio sees. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "mic.h"
#include "speech.h"

static void devices_usage(FILE *f)
{
    fprintf(f, "usage: cortex-speech devices\n"
               "\n"
               "Lists the audio input devices (microphones) PortAudio sees: the index and\n"
               "name to give to --device, the host API, the most input channels and the\n"
               "default sample rate. '*' marks the default input, used without --device.\n"
               "\n"
               "  -h, --help  this help\n"
               "\n"
               "Exit code 1 when there is no input device at all.\n"
               "Set CORTEX_MIC_VERBOSE=1 to see PortAudio's own (ALSA, JACK) messages.\n");
}

int cmd_devices(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            devices_usage(stdout);
            return EXIT_OK;
        default:
            devices_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error(PROG, "devices: unexpected argument '%s'", argv[optind]);
        devices_usage(stderr);
        return EXIT_USAGE;
    }
    cx_error err;
    if (mic_init(&err)) {
        cli_error(PROG, "%s", err.msg);
        return EXIT_ERROR;
    }
    mic_device devs[256];
    int n = mic_list(devs, 256);
    if (n > 256) n = 256;
    if (n == 0) {
        cli_error(PROG, MIC_NO_DEVICE_MSG);
        mic_terminate();
        return EXIT_ERROR;
    }
    printf("  %5s  %-32s %-10s %8s %8s\n", "index", "name", "host API", "channels", "rate");
    for (int i = 0; i < n; i++)
        printf("%c %5d  %-32s %-10s %8d %8.0f\n", devs[i].is_default ? '*' : ' ', devs[i].index,
               devs[i].name, devs[i].host_api, devs[i].max_channels, devs[i].default_rate);
    printf("(* the default input; choose another with --device INDEX or a part of its name)\n");
    mic_terminate();
    return EXIT_OK;
}
