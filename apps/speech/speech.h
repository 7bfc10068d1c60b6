/* cortex-speech internals shared by its commands. */
#ifndef CORTEX_SPEECH_APP_H
#define CORTEX_SPEECH_APP_H

#include "cli.h"
#include "cortex/cortex.h"

#define PROG "cortex-speech"

#endif
