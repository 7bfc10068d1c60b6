/* cortex-vision: train, evaluate and classify images with a CNN. */
#include <stdio.h>
#include <string.h>

#include "cortex/cortex.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: cortex-vision COMMAND [OPTIONS]\n"
               "\n"
               "Image classification with Cortex %s.\n"
               "\n"
               "commands: (being built; see the project's issues)\n"
               "  --help     show this help\n"
               "  --version  show the version\n",
            CX_VERSION_STRING);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("cortex-vision %s\n", CX_VERSION_STRING);
        return 0;
    }
    fprintf(stderr, "cortex-vision: unknown command '%s' (see cortex-vision --help)\n", argv[1]);
    return 2;
}
