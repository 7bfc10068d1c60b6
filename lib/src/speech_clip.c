/* Finding the spoken word in a recorded clip (see cortex/speech.h). */
#include "cortex/speech.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define CLIP_FRAME_MS 10
#define CLIP_MIN_RUN 3           /* frames: 30 ms of speech, not a click */
#define CLIP_ABS_FLOOR_DB -50.0f /* quieter than this is never speech */
#define CLIP_ABOVE_BG_DB 10.0f   /* a speech frame is this far above the background */
#define CLIP_MIN_PEAK_DB -40.0f  /* a word reaches at least this level... */
#define CLIP_MIN_SNR_DB 15.0f    /* ...and stands this far above the background */

static size_t frame_len(int rate)
{
    size_t len = (size_t)rate * CLIP_FRAME_MS / 1000;
    return len ? len : 1;
}

size_t cx_speech_word_scratch(size_t n, int rate)
{
    size_t len = frame_len(rate);
    return 2 * ((n + len - 1) / len) + 1;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

void cx_speech_find_word(const float *x, size_t n, int rate, float margin_s, float *scratch,
                         cx_speech_span *out)
{
    memset(out, 0, sizeof *out);
    out->peak_db = out->floor_db = -100.0f;
    size_t len = frame_len(rate), nf = (n + len - 1) / len;
    if (nf == 0) return;
    float *db = scratch, *sorted = scratch + nf;
    for (size_t f = 0; f < nf; f++) {
        size_t a = f * len, b = a + len < n ? a + len : n;
        double e = 0.0;
        for (size_t i = a; i < b; i++)
            e += (double)x[i] * x[i];
        db[f] = (float)(10.0 * log10(e / (double)(b - a) + 1e-10));
        if (db[f] > out->peak_db) out->peak_db = db[f];
    }
    memcpy(sorted, db, sizeof(float) * nf);
    qsort(sorted, nf, sizeof(float), cmp_float);
    out->floor_db = sorted[nf / 10];
    float thr = out->floor_db + CLIP_ABOVE_BG_DB;
    if (thr < CLIP_ABS_FLOOR_DB) thr = CLIP_ABS_FLOOR_DB;
    if (out->peak_db < CLIP_MIN_PEAK_DB || out->peak_db < out->floor_db + CLIP_MIN_SNR_DB) return;
    /* From the start of the first run of CLIP_MIN_RUN speech frames to the
     * end of the last one. */
    size_t first = nf, last = 0, run = 0;
    for (size_t f = 0; f < nf; f++) {
        run = db[f] > thr ? run + 1 : 0;
        if (run < CLIP_MIN_RUN) continue;
        if (first == nf) first = f + 1 - run;
        last = f;
    }
    if (first == nf) return;
    size_t margin = (size_t)(margin_s * (float)rate);
    size_t a = first * len, b = (last + 1) * len;
    out->start = a > margin ? a - margin : 0;
    out->end = b + margin < n ? b + margin : n;
    out->found = 1;
    out->at_start = first == 0;
    out->at_end = last == nf - 1;
}
