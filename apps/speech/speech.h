/* cortex-speech internals shared by its commands. */
#ifndef CORTEX_SPEECH_APP_H
#define CORTEX_SPEECH_APP_H

#include "cli.h"
#include "cortex/cortex.h"

#define PROG "cortex-speech"

/* One function per command, called with argv[0] == the command's name. */
int cmd_devices(int argc, char **argv);
int cmd_record(int argc, char **argv);

#endif
