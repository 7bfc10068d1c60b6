/* cortex-speech: spoken keyword recognition, from files or the microphone. */
#include <stdio.h>
#include <string.h>

#include "speech_model.h"

/* The commands: a new one is a cmd_NAME function in its own file, declared
 * in speech_model.h, plus one row here. */
static const struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} commands[] = {
    {"train", cmd_train, "train a keyword recognizer on folders of recorded words"},
    {"combine", cmd_combine, "several trained models of the same words become one ensemble"},
    {"eval", cmd_eval, "accuracy, per-word precision and recall, confusion matrix"},
    {"classify", cmd_classify, "the word heard in each audio clip"},
    {"detect", cmd_detect, "find the keywords in a recording, as the live detector would"},
    {"spectrogram", cmd_spectrogram, "draw the features a model sees, as a PNG"},
    {"listen", cmd_listen, "live mode: keywords from the microphone as they are spoken"},
    {"devices", cmd_devices, "list the microphones (audio input devices) PortAudio sees"},
    {"record", cmd_record, "record numbered clips of a spoken word for a data set"},
    {"info", cmd_info, "a model's words, architecture, features and training record"},
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: cortex-speech COMMAND [OPTIONS]\n"
            "\n"
            "Spoken keyword recognition with Cortex %s.\n"
            "\n"
            "commands:\n",
            CX_VERSION_STRING);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n"
               "'cortex-speech COMMAND --help' documents each command.\n"
               "Exit codes: 0 ok, 1 error, 2 usage error.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "--version")) {
        printf("cortex-speech %s\n", CX_VERSION_STRING);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(cmd, commands[i].name)) return commands[i].fn(argc - 1, argv + 1);
    cli_error(PROG, "unknown command '%s' (see cortex-speech --help)", cmd);
    return EXIT_USAGE;
}
