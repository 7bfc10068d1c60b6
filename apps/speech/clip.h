/* Finding the spoken word in a recorded clip (energy-based). */
#ifndef CORTEX_SPEECH_CLIP_H
#define CORTEX_SPEECH_CLIP_H

#include <stddef.h>

typedef struct clip_span {
    size_t start, end;    /* the samples to keep, [start, end), margins included */
    float peak_db;        /* loudest 10 ms frame, dB relative to full scale (RMS) */
    float floor_db;       /* background level: the 10th percentile of the frames */
    int found;            /* 1 when a word stands out of the background */
    int at_start, at_end; /* the word touches the first / last frame (cut off?) */
} clip_span;

/* Floats of scratch space clip_find_word needs for n samples at rate. */
size_t clip_scratch_size(size_t n, int rate);

/* Splits x into 10 ms frames and measures each one's energy. The
 * background is the 10th percentile; a frame is speech when it is 10 dB
 * above the background and above -50 dBFS; the word runs from the first to
 * the last stretch of at least 30 ms of speech, plus margin_s seconds on
 * each side. A clip counts as silent (found = 0) when its loudest frame is
 * below -40 dBFS or less than 15 dB above the background. Never allocates. */
void clip_find_word(const float *x, size_t n, int rate, float margin_s, float *scratch,
                    clip_span *out);

#endif
