/* Cortex: the whole public API. */
#ifndef CORTEX_CORTEX_H
#define CORTEX_CORTEX_H

#include "cortex/core.h"
#include "cortex/comm.h"
#include "cortex/tensor.h"
#include "cortex/layers.h"
#include "cortex/loss.h"
#include "cortex/model.h"
#include "cortex/optim.h"
#include "cortex/train.h"
#include "cortex/io.h"
#include "cortex/metrics.h"
#include "cortex/image.h"
#include "cortex/data.h"
#include "cortex/audio.h"
#include "cortex/speech.h"
#include "cortex/speech_model.h"
#include "cortex/vision.h"
#include "cortex/detect.h"

#endif
