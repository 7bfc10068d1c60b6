/* cortex-speech internals shared by its commands. What a model file means
 * (features, window, classification, the detector and its tuning) is the
 * library's (cortex/speech_model.h). */
#ifndef CORTEX_SPEECH_APP_H
#define CORTEX_SPEECH_APP_H

#include "cli.h"
#include "cortex/cortex.h"

#define PROG "cortex-speech"

/* The detector tuning's limits, as train and combine take them: false
 * detections per hour of audio without keywords (--max-false-per-hour) and
 * the median delay from the end of a word to its detection (--max-delay-ms;
 * 0: no limit). The defaults are the targets a live detector is held to. */
typedef struct {
    float fa_per_hour;
    int max_delay_ms;
} speech_tune_limits;

#define SPEECH_TUNE_LIMITS_DEFAULT                                                                 \
    {                                                                                              \
        1.0f, 300                                                                                  \
    }

/* The two options' lines for --help. */
#define SPEECH_TUNE_LIMITS_HELP                                                                    \
    "  --max-false-per-hour X the detector tuning's limit on false detections per\n"               \
    "                         hour of audio without keywords (default 1)\n"                        \
    "  --max-delay-ms N       and on the median delay from a word's end to its\n"                  \
    "                         detection (default 300; 0 = no limit)\n"

/* Opens a speech model; prints the error and returns NULL on failure. */
cx_speech_model *speech_open_model(const char *path);

/* Tunes the detector of m on ds (cx_speech_tune_detector), saves m to out
 * and prints the chosen setting and its score. */
cx_status speech_tune_and_save(cx_model *m, const cx_feat_config *fc, const cx_speech_dataset *ds,
                               const char *out, uint64_t seed, const speech_tune_limits *lim,
                               cx_error *err);

/* The options of detect and listen that override the detector settings
 * stored in a model; a negative value leaves the setting alone. */
typedef struct {
    float threshold;
    int average_ms, min_count, suppress_ms, every;
} speech_overrides;

enum {
    SPEECH_O_THRESHOLD = 300,
    SPEECH_O_AVERAGE,
    SPEECH_O_MINCOUNT,
    SPEECH_O_SUPPRESS,
    SPEECH_O_EVERY
};
// clang-format off
#define SPEECH_OVERRIDE_OPTIONS                               \
    {"threshold", required_argument, 0, SPEECH_O_THRESHOLD},  \
    {"average-ms", required_argument, 0, SPEECH_O_AVERAGE},   \
    {"min-count", required_argument, 0, SPEECH_O_MINCOUNT},   \
    {"suppress-ms", required_argument, 0, SPEECH_O_SUPPRESS}, \
    {"every", required_argument, 0, SPEECH_O_EVERY}
// clang-format on

void speech_overrides_init(speech_overrides *o);
void speech_overrides_apply(const speech_overrides *o, cx_detect_config *c);
/* Handles getopt's c if it is one of SPEECH_OVERRIDE_OPTIONS: 1 if it was,
 * -1 on a bad value (reported), 0 if it is not one of them. */
int speech_overrides_option(speech_overrides *o, int c, const char *v);

/* Prints one detection (plain or JSON); stamp, if non-NULL, is a wall-clock
 * time for live output. */
void speech_print_detection(const cx_detection *e, int json, const char *stamp);

/* A line on stderr about the microphone ("cortex-speech: MSG"), stamped
 * with the wall-clock time: lost, reopening, back. */
void speech_notice(const char *msg);

/* One function per command, called with argv[0] == the command's name. */
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_classify(int argc, char **argv);
int cmd_detect(int argc, char **argv);
int cmd_listen(int argc, char **argv);
int cmd_spectrogram(int argc, char **argv);
int cmd_info(int argc, char **argv);
int cmd_combine(int argc, char **argv);
int cmd_devices(int argc, char **argv);
int cmd_record(int argc, char **argv);

#endif
