/* cortex-speech: what a speech model file carries besides its weights, and
 * the pieces every command shares. */
#ifndef CORTEX_SPEECH_MODEL_H
#define CORTEX_SPEECH_MODEL_H

#include "cortex/detect.h"
#include "cortex/speech.h"
#include "speech.h"

/* Metadata keys (besides CX_DETECT_META_KEY). */
#define SPEECH_META_FEATURES "speech.features" /* cx_feat_config string */
#define SPEECH_META_WINDOW "speech.window"     /* window length in samples */

/* A detection counts for a spoken word from its start until this long after
 * its end (seconds). */
#define SPEECH_DETECT_TOLERANCE 1.0

/* The detector tuning's limits, as train and combine take them: false
 * detections per hour of audio without keywords (--max-false-per-hour) and
 * the median delay from the end of a word to its detection (--max-delay-ms;
 * 0: no limit). The defaults are the targets a live detector is held to. */
typedef struct {
    float fa_per_hour;
    int max_delay_ms;
} speech_tune_limits;

#define SPEECH_TUNE_LIMITS_DEFAULT {1.0f, 300}

/* The two options' lines for --help. */
#define SPEECH_TUNE_LIMITS_HELP                                                                    \
    "  --max-false-per-hour X the detector tuning's limit on false detections per\n"               \
    "                         hour of audio without keywords (default 1)\n"                        \
    "  --max-delay-ms N       and on the median delay from a word's end to its\n"                  \
    "                         detection (default 300; 0 = no limit)\n"

/* A loaded speech model with its feature settings and extractor. */
typedef struct {
    cx_model *m;
    cx_feat_config feat;
    cx_detect_config detect;
    int window;       /* samples per classification window */
    int frames, bins; /* model input (T, F) */
    cx_melspec *fx;
    int nwords;       /* labels that are keywords (not _silence_/_unknown_) */
} speech_model;

/* Loads MODEL and checks its speech metadata; prints the error and returns
 * -1 on failure. */
int speech_model_open(speech_model *s, const char *path);
void speech_model_close(speech_model *s);

/* The model's keywords (labels that are not background), for dataset
 * loading: *words is malloc'ed (pointers into the model's labels). */
int speech_model_words(const speech_model *s, const char ***words);

/* Dataset options that split DATA as the model's training did: its rate and
 * words (no _unknown_ class if it has no such label), the test speakers
 * (test_speakers if non-NULL, else train.test_speakers, else
 * train.test_percent) and train.val_percent. *words and *test are
 * malloc'ed lists to free (free, speech_free_list) once the data is loaded.
 * Returns -1 when out of memory. */
int speech_data_opts(const speech_model *s, const char *test_speakers, cx_speech_opts *so,
                     const char ***words, char ***test);

/* Renders one clip centred in a window (zero padded or centre cropped, as
 * training does without augmentation) and classifies it; probs gets K. */
cx_status speech_classify_clip(speech_model *s, const float *clip, size_t n, float *window,
                               float *feat, float *probs, cx_error *err);

/* Chooses the detector's settings on a stream built from ds (validation
 * speakers when there are any), stores them in m, saves it to out and
 * prints the result. */
cx_status speech_tune_detector(cx_model *m, const cx_feat_config *fc, const cx_speech_dataset *ds,
                               const char *out, uint64_t seed, const speech_tune_limits *lim,
                               cx_error *err);

/* Splits "a,b,c" into a NULL-terminated malloc'ed array of malloc'ed
 * strings; *n gets the count. */
char **speech_split_list(const char *s, int *n);
void speech_free_list(char **v);

/* Prints one detection (plain or JSON); stamp, if non-NULL, is a wall-clock
 * time for live output. */
void speech_print_detection(const cx_detection *e, int json, const char *stamp);

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_detect(int argc, char **argv);
int cmd_listen(int argc, char **argv);
int cmd_spectrogram(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_combine(int argc, char **argv);

#endif
