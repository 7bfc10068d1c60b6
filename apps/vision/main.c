/* cortex-vision: train, evaluate and classify images with a CNN. */
#include <stdio.h>
#include <string.h>

#include "vision.h"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: cortex-vision COMMAND [OPTIONS]\n"
            "\n"
            "Image classification with a convolutional network (Cortex %s).\n"
            "\n"
            "commands:\n"
            "  train     train a model on a folder of labelled images or IDX files\n"
            "  eval      accuracy, per-class precision/recall/F1 and confusion matrix\n"
            "  classify  top labels for image files\n"
            "  watch     classify every image that appears in a folder (live mode)\n"
            "  info      a model's architecture, labels, input format and training record\n"
            "\n"
            "'cortex-vision COMMAND --help' documents each command.\n"
            "Exit codes: 0 ok, 1 error, 2 usage error.\n",
            CX_VERSION_STRING);
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
        printf("cortex-vision %s\n", CX_VERSION_STRING);
        return EXIT_OK;
    }
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {{"train", cmd_train}, {"eval", cmd_eval},   {"classify", cmd_classify},
                {"watch", cmd_watch}, {"info", cmd_info}};
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(cmd, cmds[i].name)) return cmds[i].fn(argc - 1, argv + 1);
    cli_error(PROG, "unknown command '%s' (see cortex-vision --help)", cmd);
    return EXIT_USAGE;
}
