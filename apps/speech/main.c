/* cortex-speech: keyword recognition from the microphone. */
#include <stdio.h>
#include <string.h>

#include "cortex/cortex.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: cortex-speech COMMAND [OPTIONS]\n"
               "\n"
               "Spoken keyword recognition with Cortex %s.\n"
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
        printf("cortex-speech %s\n", CX_VERSION_STRING);
        return 0;
    }
    fprintf(stderr, "cortex-speech: unknown command '%s' (see cortex-speech --help)\n", argv[1]);
    return 2;
}
