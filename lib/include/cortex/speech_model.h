/* Cortex speech models: what a keyword model file means, and predictions
 * from one.
 *
 * A speech model is a model file (io.h) whose labels are its keywords
 * followed by the background classes "_silence_" and "_unknown_" (either
 * may be absent), and whose metadata holds:
 *   speech.features   the feature settings (cx_feat_config_to_string)
 *   speech.window     samples per classified window, a decimal integer
 *   speech.detect     the live detector's settings (cx_detect_config_to_string;
 *                     optional: without it the detector takes its defaults)
 *   train.*           the training record; the dataset split is
 *                     train.test_speakers (comma-separated) or
 *                     train.test_percent or both (test_percent_too),
 *                     with train.val_percent,
 *                     train.unknown_ratio and train.silence_ratio
 * The network's input is (T, F): T = cx_feat_num_frames(features, window)
 * frames of F = cx_feat_num_features(features) features; its output is one
 * score (logit) per label.
 *
 * Predicting, from a file:
 *   cx_speech_model *s;
 *   cx_speech_model_load(&s, "models/digits.safetensors", &err);
 *   cx_speech_model_classify_file(s, "clip.wav", probs, &best, &err);   one word per clip
 *   cx_speech_model_detector(s, NULL, &d, &err);                        a live detector:
 *   cx_detector_push(d, samples, n, events, max);                       (detect.h)
 * Samples are mono floats in [-1, 1] at cx_speech_model_features(s)->sample_rate
 * (cx_audio_load resamples files; cx_resampler live input).
 */
#ifndef CORTEX_SPEECH_MODEL_H
#define CORTEX_SPEECH_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "cortex/audio.h"
#include "cortex/core.h"
#include "cortex/detect.h"
#include "cortex/model.h"
#include "cortex/speech.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CX_SPEECH_META_FEATURES "speech.features"
#define CX_SPEECH_META_WINDOW "speech.window"

typedef struct cx_speech_model cx_speech_model;

/* Opens a speech model file and checks what it means: the feature settings
 * parse, the window gives the network's input, there is one output per
 * label, the detector settings (if any) parse. Errors name the file. */
CX_API cx_status cx_speech_model_load(cx_speech_model **out, const char *path, cx_error *err);

/* The same for a model already in memory, which the speech model takes over
 * (it is freed with it, or at once on failure). name is used in messages. */
CX_API cx_status cx_speech_model_wrap(cx_speech_model **out, cx_model *m, const char *name,
                                      cx_error *err);
CX_API void cx_speech_model_free(cx_speech_model *s);

/* The network (for cx_model_* queries; labels, metadata, forward). */
CX_API cx_model *cx_speech_model_net(const cx_speech_model *s);
/* Feature settings; the extractor made from them (for cx_speech_source). */
CX_API const cx_feat_config *cx_speech_model_features(const cx_speech_model *s);
CX_API cx_melspec *cx_speech_model_extractor(const cx_speech_model *s);
/* The detector settings stored in the file, or the defaults. */
CX_API const cx_detect_config *cx_speech_model_detect_config(const cx_speech_model *s);
/* 1 if the file stores detector settings. */
CX_API int cx_speech_model_has_detect_config(const cx_speech_model *s);
/* Samples per classified window; its frames (T) and features (F). */
CX_API int cx_speech_model_window(const cx_speech_model *s);
CX_API int cx_speech_model_frames(const cx_speech_model *s);
CX_API int cx_speech_model_features_per_frame(const cx_speech_model *s);

/* Classes (= labels = outputs) and keywords (the labels that are not
 * background), in label order. */
CX_API int cx_speech_model_num_classes(const cx_speech_model *s);
CX_API const char *cx_speech_model_label(const cx_speech_model *s, int i);
CX_API int cx_speech_model_num_words(const cx_speech_model *s);
CX_API const char *cx_speech_model_word(const cx_speech_model *s, int i);
/* The keywords as an array (num_words entries, valid while s lives). */
CX_API const char *const *cx_speech_model_words(const cx_speech_model *s);
/* 1 for "_silence_" and "_unknown_". */
CX_API int cx_speech_is_background(const char *label);

/* Classifies one clip (n samples at the model's rate): centred in the
 * window (cx_speech_center_offset: zero-padded or centre-cropped, as
 * training evaluates its clips), features, network, softmax. probs receives
 * one probability per class; *best (may be NULL) the most probable class.
 * Uses buffers made at load: nothing is allocated. */
CX_API cx_status cx_speech_model_classify(cx_speech_model *s, const float *clip, size_t n,
                                          float *probs, int *best, cx_error *err);
/* The same for an audio file (any format and rate cx_audio_load reads). */
CX_API cx_status cx_speech_model_classify_file(cx_speech_model *s, const char *path, float *probs,
                                               int *best, cx_error *err);

/* A live detector for the model (detect.h), with the stored settings, or dc
 * (window_frames 0 or the model's) when dc is non-NULL. The detector uses
 * the network, so it must be freed before the model. */
CX_API cx_status cx_speech_model_detector(cx_speech_model *s, const cx_detect_config *dc,
                                          cx_detector **out, cx_error *err);

/* ---- what training records --------------------------------------------------- */

/* Stores the feature settings and the window (samples) in m's metadata. */
CX_API cx_status cx_speech_model_set_features(cx_model *m, const cx_feat_config *fc, int window,
                                              cx_error *err);

/* Stores how the data was split and sampled: the test speakers
 * (comma-separated, or NULL for o->test_percent), o->val_percent,
 * o->unknown_ratio, o->silence_ratio and o->running_ratio. */
CX_API cx_status cx_speech_model_set_split(cx_model *m, const cx_speech_opts *o,
                                           const char *test_speakers, cx_error *err);

/* Stores the speakers the model was trained and validated on (the union of
 * the datasets' speakers and of the voices of their running speech, either
 * may be NULL), comma-separated under
 * CX_SPEECH_META_SEEN: evaluation leaves them out, so any folder of the
 * model's words is scored on speakers the model never heard. */
CX_API cx_status cx_speech_model_set_seen(cx_model *m, const cx_speech_dataset *train,
                                          const cx_speech_dataset *val, cx_error *err);
#define CX_SPEECH_META_SEEN "train.seen_speakers"

/* The recorded seen speakers (nseen of them; NULL and 0 for a model trained
 * before they were recorded). They point into s. */
CX_API const char *const *cx_speech_model_seen_speakers(const cx_speech_model *s, int *nseen);

/* Dataset options that split a dataset as the model's training did: its
 * rate and keywords, no _unknown_ class (and no running-speech segments)
 * unless it has one, the recorded test speakers (or test percent),
 * validation percent and ratios; the other fields keep cx_speech_opts_init's
 * values. Pointers in *o point into s. */
CX_API void cx_speech_model_data_opts(const cx_speech_model *s, cx_speech_opts *o);

/* Loads a folder to score s on (o: from cx_speech_model_data_opts, with the
 * caller's split and speakers): only the model's words that root has a
 * folder for become keywords (a folder of some of the model's words is
 * fine: the others are absent from the figures), the other word folders
 * _unknown_ if the model has that class, and _silence_ examples only when
 * root has a _background_noise_ folder to make them from. map (nclasses of
 * the dataset) gives each dataset class's label in the model. Fails, naming
 * root, when it holds none of the model's words. Free *map with free(). */
CX_API cx_status cx_speech_model_load_data(const cx_speech_model *s, const char *root,
                                           const cx_speech_opts *o, cx_speech_dataset **ds,
                                           int **map, cx_error *err);

/* The recorded test speakers as stored (comma-separated), or NULL when the
 * split was by percent. */
CX_API const char *cx_speech_model_test_speakers(const cx_speech_model *s);

/* The recorded train.unknown_ratio / train.silence_ratio, or fallback when
 * the record has none (or a bad one). */
CX_API float cx_speech_model_ratio(const cx_speech_model *s, const char *key, float fallback);
#define CX_SPEECH_META_UNKNOWN_RATIO "train.unknown_ratio"
#define CX_SPEECH_META_SILENCE_RATIO "train.silence_ratio"
#define CX_SPEECH_META_RUNNING_RATIO "train.running_ratio"

/* ---- detector tuning -------------------------------------------------------- */

typedef struct cx_speech_tune_report {
    cx_detect_tune_result result; /* the chosen setting and its score */
    double stream_seconds;        /* length of the tuning stream */
    double background_seconds;    /* of which without a keyword */
    int words;                    /* keyword occurrences in it */
} cx_speech_tune_report;

/* Chooses the detector settings for network m with features fc on the
 * keyword stream of ds (cx_speech_keyword_stream_build with seed): the
 * setting cx_detect_tune picks with at most max_fa_per_hour false detections
 * per hour of the stream's audio without keywords and a median delay of at
 * most max_median_delay_s (INFINITY: no limit), scored with
 * CX_DETECT_TOLERANCE_S. Stores it in m's metadata (CX_DETECT_META_KEY);
 * saving m is the caller's. */
CX_API cx_status cx_speech_tune_detector(cx_model *m, const cx_feat_config *fc,
                                         const cx_speech_dataset *ds, uint64_t seed,
                                         double max_fa_per_hour, double max_median_delay_s,
                                         cx_speech_tune_report *rep, cx_error *err);

/* ---- hard-negative mining ---------------------------------------------------- */

typedef struct cx_speech_mine_report {
    int detections; /* detections in the audio scanned: all false, it holds no keyword */
    int added;      /* windows added to the dataset as _unknown_ clips */
    double hours;   /* audio scanned */
} cx_speech_mine_report;

/* Runs a live detector for network m (features fc, dc's settings, dc's
 * window_frames 0 for the network's) over every running-speech recording of
 * ds (ds->running_paths, audio without any keyword, so every detection is
 * a false one) and, when add is set, adds the window of window samples that
 * ended at each detection to ds as an _unknown_ clip (path
 * "<recording>@<start seconds>", speaker -1), at most max_add of them (0:
 * no limit). This is how a detector's false activations become training
 * examples (openWakeWord, mycroft-precise). ds needs an _unknown_ class to
 * add to. A cx_speech_source made from ds before must be made again: the
 * dataset grew. */
CX_API cx_status cx_speech_mine(cx_speech_dataset *ds, cx_model *m, const cx_feat_config *fc,
                                int window, const cx_detect_config *dc, int add, int max_add,
                                cx_speech_mine_report *rep, cx_error *err);

/* The detector settings mining uses: every single evaluation at or above
 * threshold fires (no averaging, min_count 1), one second of quiet after
 * each, so near misses are caught too. */
CX_API void cx_speech_mine_config(cx_detect_config *dc, float threshold);

/* Counts the detections of network m (features fc, settings dc) over the
 * recordings paths[0..n), audio without keywords, so every one is false
 * (rep->added stays 0); recordings that do not decode are skipped. */
CX_API cx_status cx_speech_count_false(const char *const *paths, int n, cx_model *m,
                                       const cx_feat_config *fc, const cx_detect_config *dc,
                                       cx_speech_mine_report *rep, cx_error *err);

#ifdef __cplusplus
}
#endif
#endif
