/* Cortex keyword detection in a live stream, after TensorFlow micro_speech's
 * RecognizeCommands: a classifier looks at a sliding window of feature
 * frames, its class probabilities are averaged over the last few
 * evaluations, and a word fires when its average is high enough, often
 * enough, and not too soon after the previous detection.
 *
 * The model. Input (T,F): a window of T feature frames of F features (F =
 * cx_feat_num_features of the feature configuration); output K class scores
 * (logits: the detector applies a softmax), with K labels
 * (cx_model_set_labels). The labels "_silence_" and "_unknown_" are the
 * background classes: they are averaged like the others but never fire.
 *
 * Timing. Audio becomes frames through a cx_melspec (frame t covers samples
 * [t hop, t hop + win)). The first evaluation happens when T frames exist
 * (frame T-1; nothing is evaluated earlier, so the first T hops of a stream
 * are never a detection), then after every every_frames new frames: at frames
 * e = T-1 + j every_frames. An evaluation at frame e is stamped with the time
 * its newest sample arrived, (e hop + win) / sample_rate seconds from the
 * stream start, and that is the time of a detection it makes.
 *
 * The decision, at each evaluation e (the same pure functions run live and
 * in cx_detect_tune):
 *   1. the evaluations e' with (e - e') hop <= average_ms sample_rate / 1000
 *      (this one included) are averaged class by class;
 *   2. the top class is the non-background class with the highest average
 *      (the lowest index on a tie);
 *   3. it fires if at least min_count evaluations were averaged, its average
 *      is >= threshold, and no detection was made at an evaluation e' with
 *      (e - e') hop <= suppress_ms sample_rate / 1000.
 * Unlike RecognizeCommands, suppression holds for every word, not only the
 * one that fired.
 */
#ifndef CORTEX_DETECT_H
#define CORTEX_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "cortex/audio.h"
#include "cortex/core.h"
#include "cortex/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- configuration ---------------------------------------------------------- */

/* Metadata key under which applications store the configuration string in a
 * model file. */
#define CX_DETECT_META_KEY "speech.detect"

typedef struct cx_detect_config {
    int window_frames; /* T of the model input; 0 = take it from the model */
    int every_frames;  /* evaluate every N new frames, 1..1000; default 5 */
    int average_ms;    /* averaging window, 0..60000 ms; default 500 */
    float threshold;   /* on the averaged probability, [0, 1]; default 0.7 */
    int min_count;     /* evaluations needed in the window, 1..10000; default 3 */
    int suppress_ms;   /* quiet time after a detection, 0..600000 ms; default 750 */
} cx_detect_config;

CX_API void cx_detect_config_default(cx_detect_config *c);

/* Checks each field's range; the message names the field. */
CX_API cx_status cx_detect_config_validate(const cx_detect_config *c, cx_error *err);

#define CX_DETECT_CONFIG_STRLEN 256

/* One line of space-separated key=value fields, keys as the struct fields:
 *   window_frames=98 every_frames=5 average_ms=500 threshold=0.7 min_count=3
 *   suppress_ms=750
 * The threshold is written in the shortest form that reads back to the same
 * float, in the C locale whatever the application's locale. Fails if c is
 * invalid or buf too small. */
CX_API cx_status cx_detect_config_to_string(const cx_detect_config *c, char *buf, size_t size,
                                            cx_error *err);

/* Parses such a line: fields in any order, missing ones take their
 * defaults; unknown, repeated, malformed or out-of-range fields are rejected
 * with a message naming the field. On failure *c is unchanged. */
CX_API cx_status cx_detect_config_parse(cx_detect_config *c, const char *str, cx_error *err);

/* The configuration stored in m's metadata under CX_DETECT_META_KEY, or the
 * defaults when there is none (a malformed one is an error). */
CX_API cx_status cx_detect_config_from_model(const cx_model *m, cx_detect_config *c, cx_error *err);

/* ---- the live detector ------------------------------------------------------- */

typedef struct cx_detection {
    int label;        /* class index in the model's output */
    const char *word; /* cx_model_label(model, label): valid while the model lives */
    double time;      /* seconds from the stream start (see Timing above) */
    float confidence; /* the averaged probability that fired */
} cx_detection;

typedef struct cx_detector cx_detector;

/* Builds a detector for model m (which must outlive it, and which it puts
 * in evaluation mode and reserves for batch 1), feature configuration fc
 * (its feature count must be the model's F) and detection configuration dc
 * (NULL: defaults; window_frames 0 or the model's T). Everything the
 * detector needs is allocated here: pushing never allocates. The model's
 * convolutional front end runs through a cx_slide (model.h), which copies
 * its weights here: a model changed afterwards needs a new detector. Fails, naming
 * the problem, when the model is not a (T,F) -> (K) classifier with K
 * labels of which at least one is not background, or when min_count could
 * never be reached (more than the evaluations average_ms holds). */
CX_API cx_status cx_detector_create(cx_detector **out, cx_model *m, const cx_feat_config *fc,
                                    const cx_detect_config *dc, cx_error *err);
CX_API void cx_detector_free(cx_detector *d);

/* Feeds n samples (at the feature configuration's sample rate) and returns
 * how many detections they produced; the first max_events of them are
 * written to events (so a return value above max_events means some were not
 * stored: push in smaller pieces, e.g. a second at a time, to keep them
 * all). Results do not depend on how the stream is cut into pushes. Returns
 * -1 on a NULL detector, NULL samples with n > 0, or NULL events with
 * max_events > 0. */
CX_API int cx_detector_push(cx_detector *d, const float *samples, size_t n, cx_detection *events,
                            int max_events);

/* Forgets the stream (samples, frames, averages, the last detection): the
 * next sample pushed is at time 0. The evaluation counter is kept. */
CX_API void cx_detector_reset(cx_detector *d);

/* The configuration in use (window_frames filled in from the model). */
CX_API const cx_detect_config *cx_detector_config(const cx_detector *d);

/* Model evaluations since creation (for cost reporting). */
CX_API int64_t cx_detector_evaluations(const cx_detector *d);

/* The averaged class probabilities (K values) after the last evaluation,
 * for display; all zero before the first. */
CX_API const float *cx_detector_scores(const cx_detector *d);

/* ---- scoring against ground truth ------------------------------------------- */

/* How long after a spoken word ends a detection of it still counts (the
 * tolerance the detector tuning and the benchmarks score with). */
#define CX_DETECT_TOLERANCE_S 1.0

/* A keyword occurrence in a test stream: the word and where it is spoken,
 * in seconds from the stream start. */
typedef struct cx_detect_truth {
    const char *word;
    double start, end;
} cx_detect_truth;

typedef struct cx_detect_stats {
    int hits;            /* occurrences detected (each counts once) */
    int misses;          /* occurrences not detected */
    int false_alarms;    /* detections that are not a hit */
    int outside;         /* of those, the ones outside every occurrence (start .. end +
                          * tolerance): detections in the non-keyword audio, as opposed
                          * to a wrong word or a repeat while a keyword is spoken */
    double median_delay; /* seconds, detection time - occurrence end, over hits; NAN without hits */
    double mean_delay;   /* likewise */
} cx_detect_stats;

/* Matches detections to occurrences: in time order, a detection of word w at
 * time t is a hit on the earliest occurrence of w not yet hit with
 * start <= t <= end + tolerance_s; any other detection (wrong word, outside
 * every occurrence, or a second detection of one occurrence) is a false
 * alarm. events must be in time order and truth in order of start (both as
 * a detector and a dataset produce them); tolerance_s >= 0. If delays is
 * non-NULL it receives the delay of each hit, in detection order (room for
 * n_truth values). */
CX_API cx_status cx_detect_score(const cx_detection *events, int n_events,
                                 const cx_detect_truth *truth, int n_truth, double tolerance_s,
                                 cx_detect_stats *stats, double *delays, cx_error *err);

/* ---- tuning ------------------------------------------------------------------ */

/* Values to try; a NULL list (or a count of 0) takes the default list:
 *   threshold    0.3 0.4 0.5 0.6 0.7 0.8 0.9 0.95
 *   average_ms   0 250 500 750 1000
 *   min_count    1 2 3 5
 *   suppress_ms  500 750 1000 1500 */
typedef struct cx_detect_grid {
    const float *threshold;
    int n_threshold;
    const int *average_ms;
    int n_average_ms;
    const int *min_count;
    int n_min_count;
    const int *suppress_ms;
    int n_suppress_ms;
} cx_detect_grid;

typedef struct cx_detect_tune_result {
    cx_detect_config config; /* the chosen setting */
    cx_detect_stats stats;   /* its score on the validation stream */
    double fa_per_hour;      /* stats.outside / background_hours */
    int feasible;            /* 1 if it meets max_fa_per_hour */
    int fast;                /* 1 if it also meets max_median_delay_s */
    int candidates;          /* settings tried */
    int64_t evaluations;     /* model evaluations run (once over the stream) */
} cx_detect_tune_result;

/* Chooses the detection setting for model m on a validation stream
 * (samples, n) whose keyword occurrences are truth (in order of start) and
 * which holds background_hours (> 0) of non-keyword audio: among the grid
 * points (base supplies every_frames and window_frames; NULL base: defaults)
 * with false alarms in the background audio (stats.outside) per hour <=
 * max_fa_per_hour, the one with the most hits less false alarms while a
 * keyword is spoken (a wrong word or a repeat: false_alarms - outside), then
 * the most hits, the lowest median delay, the fewest false alarms, then the
 * first in grid order (threshold outermost, then average_ms, min_count,
 * suppress_ms). Misrecognitions count in that ordering, not against the
 * limit: on a long stream of thousands of words, counting each one against
 * a limit of one per hour of background forced settings that found almost
 * nothing; ignoring them chose settings that fired a wrong word on half the
 * words. If no point meets the limit, the one with the fewest
 * background false alarms (then the most hits) is returned with
 * feasible = 0.
 * max_median_delay_s also limits the median delay of the hits: among
 * the points within the false alarm limit, only those that find a word with
 * a median delay of at most max_median_delay_s are taken (fast = 1); if
 * none does, the best point within the false alarm limit is returned with
 * fast = 0. INFINITY sets no delay limit (fast = feasible). A
 * delay can be negative: a word can fire before it ends. Without the limit the
 * ordering above prefers a few more words found to a quicker answer, and
 * averaging over 500 ms instead of 250 ms can find a few more words on the
 * validation stream at the cost of about 150 ms.
 *
 * The model runs over the stream once, exactly as a detector would run it
 * live; each grid point then only replays the averaging and the decisions
 * on the recorded probabilities, so its score is the score a live detector
 * with that setting gets on the same stream. */
CX_API cx_status cx_detect_tune(cx_model *m, const cx_feat_config *fc, const cx_detect_config *base,
                                const cx_detect_grid *grid, const float *samples, size_t n,
                                const cx_detect_truth *truth, int n_truth, double background_hours,
                                double max_fa_per_hour, double max_median_delay_s,
                                double tolerance_s, cx_detect_tune_result *res, cx_error *err);

#ifdef __cplusplus
}
#endif
#endif
