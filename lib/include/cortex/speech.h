/* Cortex speech data: keyword datasets, training batches with augmentation,
 * and long test streams for detection benchmarks.
 *
 * ---- Dataset layout (Google Speech Commands) ---------------------------------
 *   ROOT/<word>/<speaker>_<anything>.<ext>   clips, any format libsndfile reads
 *   ROOT/_background_noise_/<file>           long noise recordings (optional)
 *   ROOT/_running_speech_/<speaker>_<n>.<ext> long recordings of continuous speech
 *                                            without any keyword (optional;
 *                                            datasets/make_running_speech.sh)
 * - Clips are loaded with cx_audio_load at the dataset's sample rate (mono,
 *   resampled). Clips longer than max_seconds keep their first max_seconds
 *   (a warning names the file; counted in `clipped`).
 * - Only folders directly in ROOT count; files directly in ROOT (LICENSE,
 *   README.md, testing_list.txt, ...) are ignored silently, and so is every
 *   entry whose name starts with '.'. Folders inside a word folder are ignored
 *   with a warning.
 * - Every other file in a word or noise folder is tried as audio: one that
 *   cx_audio_load rejects (corrupt, empty, truncated, not audio at all, such
 *   as Speech Commands' _background_noise_/README.md) is skipped with a
 *   warning naming it and counted in skipped_corrupt.
 * - Keywords: opts.words in the order given, or, when words is NULL or
 *   nwords is 0, every folder whose name does not start with '_' or '.' and
 *   that holds at least one file, sorted (strcmp). Class order: the keywords
 *   (labels 0 .. nwords-1), then "_silence_" (always present), then
 *   "_unknown_" (only when opts.words is given and some other word folder
 *   holds files with unknown_ratio > 0, or _running_speech_ does with
 *   running_ratio > 0). The class list depends only on the folder listing
 *   and those options, never on the split or on which files decode, so every
 *   split of one ROOT gets the same labels.
 * - Speaker: the part of the file name before its first '_' (the whole name
 *   without its extension if it has no '_'): "george_12.wav" -> "george",
 *   "0a7c2a8d_nohash_0.wav" -> "0a7c2a8d". Names are cut to 127 bytes.
 * - Split by speaker, so no speaker is in two splits (cx_speech_speaker_split):
 *   by the one held-out rule of data.h, bucket = cx_split_bucket(speaker, 0):
 *   test if bucket < cx_split_buckets_of(test_percent / 100), val if below
 *   that plus cx_split_buckets_of(val_percent / 100), else train. With an
 *   explicit list of test speakers, exactly those speakers are test and the
 *   others are val if bucket < cx_split_buckets_of(val_percent / 100), else
 *   train; with test_percent_too as well, the listed speakers are test and
 *   the others are split by the rule above (test_percent of them are test
 *   too: "hold out george and a tenth of the rest").
 * - Unknown words: the clips of the non-keyword folders that fall in the split
 *   are ranked by fmix64(cx_hash_string("<folder>/<file>")) (MurmurHash3's
 *   finalizer; ties by path) and decoded in that order until
 *   round(unknown_ratio * mean keyword class count) of them loaded, where the
 *   mean is over the keyword clips loaded in this split. So the choice is
 *   stable across runs and machines, and unreadable files are replaced by the
 *   next ones in rank.
 * - Running speech: the recordings of _running_speech_ whose speaker falls in
 *   the split are the split's running speech (running_paths; speakers are
 *   split like everyone else, so a voice is never in two splits). With an
 *   _unknown_ class, round(running_ratio * mean keyword class count) segments
 *   of running_seconds are cut from them as _unknown_ clips: the same number
 *   from each recording (rounded up, the last ones dropped at the count),
 *   at positions drawn from a generator seeded by the recording's path. They
 *   are the examples of what "not a keyword" sounds like when people talk;
 *   the keyword stream (below) also uses the recordings whole. Their path is
 *   "<recording>@<start seconds>" and their speaker -1.
 * - Excluded speakers (exclude_speakers): their files are left out of every
 *   split, as if they were not there (evaluation leaves out the speakers a
 *   model was trained on).
 * - Silence: round(silence_ratio * mean keyword class count) "_silence_"
 *   items, stored without audio (samples NULL, length 0, speaker -1, path
 *   NULL). The batch builder synthesizes each one from a noise segment at a
 *   random level (zeros when there is no noise folder). Without augmentation
 *   item k's segment and level come from its own seed, so validation and test
 *   batches are the same every time; with augmentation they are drawn anew.
 * - Items: the clips ordered by path (strcmp), then the running-speech
 *   segments, then the silence items.
 * - Errors (the message names the word or ROOT): ROOT missing or not a
 *   folder; a requested word without a folder, a reserved name (starting with
 *   '_') or a duplicate; no keyword folder with files; no clip loaded in the
 *   requested split. A keyword with no clip in the split is only a warning.
 * Memory: 4 bytes per sample, e.g. 64 KB per second-long clip at 16 kHz.
 *
 * The library never prints: warnings are collected in the dataset (the first
 * CX_DATASET_MAX_WARNINGS kept, total_warnings counts all).
 */
#ifndef CORTEX_SPEECH_H
#define CORTEX_SPEECH_H

#include <stddef.h>
#include <stdint.h>

#include "cortex/audio.h"
#include "cortex/core.h"
#include "cortex/data.h"
#include "cortex/detect.h"
#include "cortex/train.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CX_SPEECH_SILENCE "_silence_"
#define CX_SPEECH_UNKNOWN "_unknown_"
#define CX_SPEECH_NOISE_DIR "_background_noise_"
#define CX_SPEECH_RUNNING_DIR "_running_speech_"
#define CX_SPEECH_MAX_WORDS 4096    /* keywords per dataset */
#define CX_SPEECH_MAX_SECONDS 60.0f /* largest accepted max_seconds */
#define CX_SPEECH_MAX_FILES 10000000

typedef struct cx_speech_opts {
    int sample_rate;          /* Hz, [CX_AUDIO_MIN_RATE, CX_AUDIO_MAX_RATE]; default 16000 */
    const char *const *words; /* nwords keywords in class order; NULL or nwords 0: every folder */
    int nwords;
    float unknown_ratio;              /* >= 0; 0 = no _unknown_ class; default 1 */
    float silence_ratio;              /* >= 0; default 1 */
    cx_split split;                   /* default CX_SPLIT_ALL */
    int test_percent;                 /* 0..100, default 10 */
    int val_percent;                  /* 0..100 - test_percent, default 10 */
    const char *const *test_speakers; /* ntest_speakers names; overrides test_percent */
    int ntest_speakers;
    int test_percent_too;  /* with test_speakers: the others are split by test_percent too */
    float max_seconds;     /* (0, CX_SPEECH_MAX_SECONDS]; default 2 */
    float running_ratio;   /* running-speech _unknown_ segments, >= 0; default 1 */
    float running_seconds; /* their length, (0, max_seconds]; default 1 */
    const char *const *exclude_speakers; /* nexclude_speakers names left out of every split */
    int nexclude_speakers;
    /* Called after each file decoded (done of about total) if non-NULL; a
     * nonzero return stops loading with CX_ERR_INTERRUPTED. */
    int (*progress)(void *user, int done, int total);
    void *user;
} cx_speech_opts;

CX_API void cx_speech_opts_init(cx_speech_opts *o);

typedef struct cx_speech_item {
    float *samples; /* length samples at the dataset rate; NULL for _silence_ */
    int length;
    int label;   /* index into class_names */
    int speaker; /* index into speakers; -1 for _silence_ */
    char *path;  /* the source file; NULL for _silence_ */
    /* The voiced part [active_start, active_end): from the first to the last
     * 10 ms block whose energy is within 40 dB of the loudest block (the
     * whole clip if it is silent). Time shifts keep it inside the window. */
    int active_start, active_end;
    uint64_t seed; /* _silence_: its noise segment and level without augmentation */
} cx_speech_item;

typedef struct cx_speech_dataset {
    char *root;
    int sample_rate;
    cx_split split;
    int n; /* items */
    cx_speech_item *items;
    int max_length; /* longest clip, samples */
    int nclasses;
    char **class_names; /* keywords, "_silence_", ["_unknown_"] */
    int nwords;         /* keywords: labels 0 .. nwords-1 */
    int silence_label;  /* = nwords */
    int unknown_label;  /* nwords + 1, or -1 without an _unknown_ class */
    int nspeakers;
    char **speakers; /* speakers of the loaded clips, sorted (strcmp) */
    int nnoise;      /* background noise recordings loaded */
    float **noise;
    size_t *noise_length;
    char **noise_paths;
    int nrunning;                 /* running-speech recordings of the split that decode */
    char **running_paths;         /* their files (loaded again when needed: hours do not fit) */
    double running_seconds_total; /* their length */
    int running_segments;         /* _unknown_ segments cut from them */

    /* Loading report. */
    int nwarnings;
    char **warnings;
    long long total_warnings;
    int skipped_corrupt;   /* files cx_audio_load rejected */
    int clipped;           /* clips cut to max_seconds */
    int unknown_available; /* unknown-word clips in the split before the cap */
} cx_speech_dataset;

/* Loads one split of ROOT (see above). *out is NULL on failure. */
CX_API cx_status cx_speech_load(cx_speech_dataset **out, const char *root,
                                const cx_speech_opts *opts, cx_error *err);
CX_API void cx_speech_free(cx_speech_dataset *ds);

/* Items per class: counts[nclasses]. */
CX_API void cx_speech_class_counts(const cx_speech_dataset *ds, int *counts);
/* Clips per speaker: counts[nspeakers]. */
CX_API void cx_speech_speaker_counts(const cx_speech_dataset *ds, int *counts);

/* The speaker part of a file name (a path's last component), see above, in
 * buf (truncated to len - 1 bytes). Returns buf. */
CX_API const char *cx_speech_speaker_of(const char *filename, char *buf, size_t len);

/* The split (CX_SPLIT_TRAIN, _VAL or _TEST) a speaker belongs to under o. */
CX_API cx_split cx_speech_speaker_split(const char *speaker, const cx_speech_opts *o);

/* Every speaker with files in the folders the options load (the keyword
 * folders and those of the _unknown_ class), without decoding any audio:
 * for reports and for choosing test speakers. opts.split is not used. */
typedef struct cx_speech_speaker_info {
    char *name;
    int files;      /* files in word folders (not checked to be audio) */
    cx_split split; /* under the options */
} cx_speech_speaker_info;

/* *out (sorted by name, *n entries) is freed with cx_speech_speakers_free. */
CX_API cx_status cx_speech_scan_speakers(const char *root, const cx_speech_opts *opts,
                                         cx_speech_speaker_info **out, int *n, cx_error *err);
CX_API void cx_speech_speakers_free(cx_speech_speaker_info *v, int n);

/* ---- Augmentation -------------------------------------------------------------
 * Applied to a training example, in this order (every range is drawn
 * uniformly from the rng passed in):
 * 1. speed: the clip is resampled (libsamplerate, SRC_SINC_FASTEST) by
 *    1 / f, f in [speed_min, speed_max], so it plays f times faster and
 *    higher (a 400 Hz tone becomes 440 Hz at f = 1.1, and 1.1 times shorter);
 * 2. placement: the clip is centred in the window (see cx_speech_render),
 *    then shifted by s in [-shift_ms, shift_ms], the shifted offset clamped
 *    so the clip's voiced part stays inside the window (or, if it is longer
 *    than the window, so the window stays inside the voiced part);
 * 3. gain: the clip is scaled by 10^(g/20), g in [-gain_db, gain_db];
 * 4. noise, with probability noise_prob (if noise was loaded): a segment of
 *    a random noise recording at a random position (wrapping around a
 *    recording shorter than the window) is scaled to an SNR in [snr_min,
 *    snr_max] dB, where SNR = 10 log10(mean clip power over the clip's
 *    samples in the window / mean noise power over the window), and added;
 * 5. SpecAugment masking of the features: time_masks times, a band of w in
 *    [0, time_mask_max] frames at a random start is set to the fill value,
 *    then freq_masks bands of up to freq_mask_max features. The fill value is
 *    the mean of the window's features when the extractor does not normalize
 *    (CX_NORM_NONE), and 0 (the training mean) with CX_NORM_GLOBAL.
 * Part words (cx_speech_batch, with probability partial_prob, for keyword
 * examples when the dataset has an _unknown_ class): step 2 instead places
 * the clip so that only its first (or, as often, its last) r of the voiced
 * part is inside the window, r in [0.2, 0.6], at the window's end (or
 * start), and the example is labelled _unknown_. A live detector sees every
 * word enter and leave its window, while whole-word training never shows
 * it a part of one.
 * _silence_ examples skip steps 1-4: their window is a noise segment scaled
 * by 10^(l/20), l in [silence_db_min, silence_db_max] (zeros without noise);
 * these two fields apply with augmentation off as well (drawn from the
 * item's seed). */
typedef struct cx_speech_augment {
    float shift_ms;                       /* >= 0; 0 = off */
    float speed_min, speed_max;           /* [0.5, 2], min <= max; 1, 1 = off */
    float gain_db;                        /* [0, 40]; 0 = off */
    float noise_prob;                     /* [0, 1]; 0 = off */
    float snr_min, snr_max;               /* dB, [-30, 60], min <= max */
    int time_masks, time_mask_max;        /* >= 0 */
    int freq_masks, freq_mask_max;        /* >= 0 */
    float silence_db_min, silence_db_max; /* level of _silence_, dB, [-100, 20] */
    float eq_db;                          /* random channel colouring, dB, [0, 40]; 0 = off */
    float warp;                           /* random frequency-axis warp, [0, 0.5]; 0 = off */
    float partial_prob;                   /* part-word _unknown_ examples, [0, 1]; 0 = off */
} cx_speech_augment;

/* Everything off (silence level -30 .. 0 dB, SNR range 0 .. 20 dB kept). */
CX_API void cx_speech_augment_off(cx_speech_augment *a);
/* Settings that suit keyword spotting: shift 100 ms, speed 0.9-1.1, gain
 * 6 dB, noise with probability 0.8 at 0-20 dB SNR, 2 time masks of up to 10
 * frames, 2 frequency masks of up to 5 features. */
CX_API void cx_speech_augment_default(cx_speech_augment *a);
/* Validates every range; the message names the field. */
CX_API cx_status cx_speech_augment_check(const cx_speech_augment *a, cx_error *err);

/* Adds a smooth random gain curve of up to about eq_db dB across the bands
 * of (frames x features) log-mel features, the same in every frame: the
 * colouring of a different microphone or room (a random tilt plus two
 * cosine bumps). Training applies it to log-mel features only. */
CX_API void cx_speech_spec_eq(float *x, int frames, int features, float eq_db, cx_rng *rng);

/* Stretches the band axis of (frames x features) log-mel features by a
 * random factor a in [1 - warp, 1 + warp] (y[t,f] = x[t, f / a], linear
 * interpolation, the edge band repeated): vocal tracts of other lengths
 * move the formants along the mel axis. scratch holds features floats. */
CX_API void cx_speech_spec_warp(float *x, int frames, int features, float warp, cx_rng *rng,
                                float *scratch);

/* Masks (frames x features) features in place: step 5 above. */
CX_API void cx_speech_spec_mask(float *x, int frames, int features, const cx_speech_augment *a,
                                float fill, cx_rng *rng);

/* ---- Batches ------------------------------------------------------------------
 * A cx_speech_source turns dataset items into fixed-size windows of
 * window_samples samples and those into features with a caller's extractor:
 * x gets n x T x F floats (T = cx_feat_num_frames(window_samples), F =
 * cx_feat_num_features), row-major, item after item. Training and evaluation
 * both use it (evaluation with augmentation off). All buffers (and the speed
 * resampler) are made at creation, sized for the dataset's longest clip, so
 * batches allocate nothing. The source keeps pointers to ds and fx, which
 * must outlive it; fx may be shared by sources used one at a time. */
typedef struct cx_speech_source cx_speech_source;

/* fx's sample rate must equal the dataset's; window_samples must give at
 * least one frame and be at most CX_SPEECH_MAX_SECONDS long. aug NULL means
 * cx_speech_augment_off. */
CX_API cx_status cx_speech_source_create(cx_speech_source **out, const cx_speech_dataset *ds,
                                         cx_melspec *fx, int window_samples,
                                         const cx_speech_augment *aug, cx_error *err);
CX_API void cx_speech_source_free(cx_speech_source *s);

CX_API int cx_speech_source_frames(const cx_speech_source *s);   /* T */
CX_API int cx_speech_source_features(const cx_speech_source *s); /* F */

/* Renders item's window (window_samples floats). Without augmentation a clip
 * of L samples is placed at offset (W - L) / 2 (integer division, C
 * rounding): zero-padded around when L < W, and losing (L - W) / 2 samples
 * at its start and the rest at its end when L > W. With augmentation (rng
 * required) steps 1-4 are applied. */
CX_API cx_status cx_speech_render(cx_speech_source *s, int item, int augment, cx_rng *rng,
                                  float *window, cx_error *err);

/* A cx_batch_fn (ctx is the cx_speech_source): renders items idx[0..n),
 * computes their features into x (n x T x F), masks them when augmenting and
 * writes the labels (labels may be NULL). Fails on an index out of range. */
CX_API cx_status cx_speech_batch(void *ctx, const int *idx, int n, int augment, cx_rng *rng,
                                 float *x, int *labels, cx_error *err);

/* {s, ds->n, cx_speech_batch}. */
CX_API cx_train_source cx_speech_train_source(cx_speech_source *s);

/* ---- Finding the word in a recording ----------------------------------------------
 * For recording a dataset (cortex-speech record): where the spoken word is
 * in a clip, by energy alone. The clip is cut into 10 ms frames; the
 * background is the 10th percentile of their energies (dB); a frame is
 * speech when it is 10 dB above the background and above -50 dBFS; the word
 * runs from the first to the last stretch of at least 30 ms of speech, plus
 * margin_s seconds on each side. A clip is silent (found = 0) when its
 * loudest frame is below -40 dBFS or less than 15 dB above the background. */
typedef struct cx_speech_span {
    size_t start, end;    /* the samples to keep, [start, end), margins included */
    float peak_db;        /* loudest 10 ms frame, dB relative to full scale (RMS) */
    float floor_db;       /* background level: the 10th percentile of the frames */
    int found;            /* 1 when a word stands out of the background */
    int at_start, at_end; /* the word touches the first / last frame (cut off?) */
} cx_speech_span;

/* Floats of scratch space cx_speech_find_word needs for n samples at rate. */
CX_API size_t cx_speech_word_scratch(size_t n, int rate);
/* Finds the word in x (n samples at rate); never allocates. */
CX_API void cx_speech_find_word(const float *x, size_t n, int rate, float margin_s, float *scratch,
                                cx_speech_span *out);

/* ---- Placement ------------------------------------------------------------------
 * Where a clip sits in a window: its sample i goes to window[i + off]. A clip
 * is centred (its un-augmented place, the one evaluation and classification
 * use) at off = (W - n) / 2, integer division with C rounding: zero-padded
 * around when n < W, losing (n - W) / 2 samples at its start and the rest at
 * its end when n > W. */
CX_API long cx_speech_center_offset(size_t window, size_t n);

/* Writes the window (W samples): the clip (n samples) at offset off, zeros
 * elsewhere. *first and *end (either may be NULL) receive the window samples
 * [first, end) that hold the clip (first == end when none does). */
CX_API void cx_speech_place(const float *clip, size_t n, long off, float *window, size_t W,
                            size_t *first, size_t *end);

/* ---- Test streams ---------------------------------------------------------------
 * A long recording for detection benchmarks: the given items (clips, in the
 * given order) separated by random gaps. Layout: gap, item, gap, item, ...,
 * gap. Each gap lasts a uniform [gap_min, gap_max] seconds and holds, with
 * probability noise_prob (if the dataset has noise), a noise segment whose
 * RMS level is uniform in [noise_db_min, noise_db_max] dBFS, else zeros.
 * With probability distractor_prob a random clip from distractors (e.g.
 * unknown words) is also placed in the gap: the gap becomes half the drawn
 * gap, the distractor, and the other half. Everything is drawn from seed.
 * Every placed clip gives an event (keyword 0 for distractors). */
typedef struct cx_speech_stream_opts {
    float gap_min, gap_max;           /* seconds, 0 <= min <= max <= 60; default 0.5, 2 */
    float noise_prob;                 /* [0, 1], default 0.5 */
    float noise_db_min, noise_db_max; /* dBFS, [-100, 0]; default -40, -20 */
    const int *distractors;           /* ndistractors item indices, may be NULL */
    int ndistractors;
    float distractor_prob; /* [0, 1], default 0 */
    uint64_t seed;
} cx_speech_stream_opts;

typedef struct cx_speech_event {
    int item;     /* dataset item */
    int label;    /* its label */
    int keyword;  /* 1 for the items given, 0 for distractors */
    size_t start; /* first sample of the clip in the stream */
    size_t end;   /* one past its last sample */
} cx_speech_event;

CX_API void cx_speech_stream_opts_init(cx_speech_stream_opts *o);

/* Builds the stream: *samples (*length floats) and *events (*nevents, in
 * stream order) are malloc'ed, the caller frees both with free(). Fails on an
 * item out of range or a _silence_ item (no audio). */
CX_API cx_status cx_speech_stream_build(const cx_speech_dataset *ds, const int *items, int n,
                                        const cx_speech_stream_opts *o, float **samples,
                                        size_t *length, cx_speech_event **events, int *nevents,
                                        cx_error *err);

/* The keyword stream that the detector tuning and the benchmarks score a
 * model on: every keyword clip of ds (items with a keyword label and audio,
 * in item order), each after its own gap, with one of the other clips (the
 * _unknown_ words) in half of the gaps when ds has any; the other settings
 * are cx_speech_stream_opts_init's, with the given seed. The split's running
 * speech (running_paths) follows, each recording whole after half a second
 * of silence, as audio without keywords. truth lists the
 * keyword occurrences in seconds (words point into ds->class_names, so ds
 * must outlive it); a detection counts for one from its start until
 * CX_DETECT_TOLERANCE_S after its end. */
typedef struct cx_speech_keyword_stream {
    float *samples; /* length samples at sample_rate */
    size_t length;
    int sample_rate;
    cx_speech_event *events; /* nevents, in stream order (keywords and others) */
    int nevents;
    cx_detect_truth *truth; /* ntruth keyword occurrences, in order of start */
    int ntruth;
    double keyword_seconds;  /* the keyword clips' total length */
    double background_hours; /* the rest of the stream: audio without a keyword */
    double running_seconds;  /* of which running speech */
    int *keywords;           /* nkeywords item indices placed as keywords */
    int nkeywords;
    int *others; /* nothers item indices of the other words (distractors) */
    int nothers;
    cx_speech_stream_opts opts; /* the options the stream was built with */
} cx_speech_keyword_stream;

/* Builds it into *ks (zeroed on failure); free with cx_speech_keyword_stream_free. */
CX_API cx_status cx_speech_keyword_stream_build(cx_speech_keyword_stream *ks,
                                                const cx_speech_dataset *ds, uint64_t seed,
                                                cx_error *err);
CX_API void cx_speech_keyword_stream_free(cx_speech_keyword_stream *ks);

#ifdef __cplusplus
}
#endif
#endif
