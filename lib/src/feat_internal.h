/* Private helpers shared by the feature configuration and the extractor.
 * The filterbank is defined in feat_config.c, beside the settings it is
 * derived from (validation rejects a filter that covers no bin); features.c
 * only calls it, so the extractor depends on the configuration and not the
 * other way round. */
#ifndef CORTEX_FEAT_INTERNAL_H
#define CORTEX_FEAT_INTERNAL_H

#include "cortex/audio.h"

/* HTK mel filterbank for cfg (sample_rate, n_fft, n_mels, fmin, fmax, which
 * must already be in range): fb is n_mels x (n_fft / 2 + 1), row-major, or
 * NULL to only check. Returns the index of the first filter that covers no
 * FFT bin (all weights zero), or -1 if every filter covers at least one. */
int cx_mel_filterbank(const cx_feat_config *cfg, float *fb);

#endif
