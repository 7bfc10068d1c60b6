/* Cortex audio: sound files, resampling and speech features.
 *
 * Files. cx_audio_load reads anything libsndfile reads (WAV, FLAC, OGG
 * Vorbis/Opus, AIFF, MP3 where libsndfile was built with it, ...), at any
 * sample rate and channel count, mixes the channels to mono (their mean),
 * resamples with libsamplerate to the rate the model wants and returns floats
 * clamped to [-1, 1]. Hostile files are rejected with a message naming the
 * file: unreadable, corrupt or unsupported data, no frames, more than
 * CX_AUDIO_MAX_SECONDS of audio, rates outside [CX_AUDIO_MIN_RATE,
 * CX_AUDIO_MAX_RATE], more than CX_AUDIO_MAX_CHANNELS channels, NaN or
 * infinite samples, fewer frames than the header announced (a FLAC or OGG
 * stream that ends early), or a WAV data chunk longer than the file (a WAV
 * whose length field is 0xFFFFFFFF, "unknown", is read to the end).
 *
 * Resampling. Files and live input go through the same streaming resampler
 * (libsamplerate, CX_RESAMPLE_QUALITY), so a model trained on resampled files
 * hears the same filter live.
 *
 * Features. One streaming extractor (cx_melspec) turns samples into frames of
 * log-mel energies or MFCCs. Training clips, file detection and live listening
 * all use it, so their features agree bit for bit (on one machine, whatever
 * the chunking of the input and the BLAS thread setting):
 *   - frames are not centred or padded: frame t covers samples
 *     [t*hop, t*hop + win), so n samples give 1 + (n - win) / hop frames
 *     (none when n < win) and the first frame needs win samples;
 *   - each frame is multiplied by a periodic Hann window of win samples
 *     (w[i] = 0.5 - 0.5 cos(2 pi i / win), torch.hann_window's default),
 *     zero-padded at the end to n_fft, and transformed with a real FFT
 *     (FFTW, single precision); the power |X[k]|^2 of bins k = 0..n_fft/2
 *     (power, not magnitude) feeds the filterbank. Zero padding at the end
 *     rather than around the centre (as torch.stft does when win < n_fft)
 *     only shifts the phase, not |X|^2;
 *   - mel filterbank: HTK mel scale, mel(f) = 2595 log10(1 + f / 700);
 *     n_mels triangles with corners at n_mels + 2 points equally spaced in
 *     mel from fmin to fmax, evaluated at the FFT bin frequencies
 *     k * sample_rate / n_fft, peak 1, no area normalization (for even
 *     n_fft and sample_rate the same as torchaudio.functional.melscale_fbanks
 *     with norm=None, mel_scale="htk");
 *   - log-mel: log(mel + log_floor), natural logarithm;
 *   - MFCC: the first n_mfcc coefficients of the orthonormal DCT-II of the
 *     log-mel vector, c[k] = s_k sum_m log_mel[m] cos(pi k (m + 1/2) / n_mels)
 *     with s_0 = sqrt(1/n_mels), s_k = sqrt(2/n_mels). Natural log, not dB:
 *     torchaudio and librosa MFCCs use 10 log10 (a factor 4.34) and clip to a
 *     top_db range, so their values differ;
 *   - normalization: CX_NORM_NONE, or CX_NORM_GLOBAL, which subtracts a fixed
 *     per-feature mean and divides by a fixed per-feature standard deviation
 *     stored in the configuration (and so in the model file). The statistics
 *     are computed once from training features (cx_feat_stats) and never
 *     change afterwards, so streaming applies exactly what training applied.
 *     Per-utterance normalization is deliberately not offered: it needs the
 *     whole utterance, which a live stream never has, and a running estimate
 *     would make live features depend on what was heard before the word.
 */
#ifndef CORTEX_AUDIO_H
#define CORTEX_AUDIO_H

#include <stddef.h>
#include <stdint.h>

#include "cortex/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- limits ---------------------------------------------------------------- */

#define CX_AUDIO_MIN_RATE 1000
#define CX_AUDIO_MAX_RATE 768000
#define CX_AUDIO_MAX_CHANNELS 64
/* Longest file accepted: one hour at its own rate... */
#define CX_AUDIO_MAX_SECONDS 3600
/* ...and at most this many samples after resampling (one hour at 48 kHz). */
#define CX_AUDIO_MAX_SAMPLES ((size_t)3600 * 48000)

/* ---- files ----------------------------------------------------------------- */

/* Loads an audio file as mono floats in [-1, 1] at target_rate (or at the
 * file's own rate when target_rate is 0). On success *samples is a malloc'ed
 * array of *n > 0 samples that the caller frees with free(); *orig_rate
 * (if orig_rate is non-NULL) receives the file's sample rate. On failure
 * *samples is NULL, *n is 0 and err names the file and the problem. */
CX_API cx_status cx_audio_load(const char *path, int target_rate, float **samples, size_t *n,
                               int *orig_rate, cx_error *err);

/* Writes mono samples as a 16-bit PCM WAV file (values outside [-1, 1] are
 * clipped; NaN or infinite values are rejected). n may be 0. Not atomic. */
CX_API cx_status cx_audio_save_wav(const char *path, const float *samples, size_t n, int rate,
                                   cx_error *err);

/* ---- streaming resampler ------------------------------------------------- */

/* libsamplerate converter used for files and live input alike. */
#define CX_RESAMPLE_QUALITY 1 /* SRC_SINC_MEDIUM_QUALITY */

typedef struct cx_resampler cx_resampler;

/* A mono converter from in_rate to out_rate (both in [CX_AUDIO_MIN_RATE,
 * CX_AUDIO_MAX_RATE], ratio out/in within [1/256, 256]). Equal rates give a
 * plain copy. */
CX_API cx_status cx_resampler_create(cx_resampler **out, int in_rate, int out_rate, cx_error *err);

/* Largest number of output samples the next cx_resampler_process call with
 * n_in input samples can produce (depends on what came before). */
CX_API size_t cx_resampler_max_output(const cx_resampler *r, size_t n_in);

/* Consumes all n_in samples and writes the output they complete to out;
 * *n_out receives how many. max_out must be at least
 * cx_resampler_max_output(r, n_in), otherwise nothing is consumed and
 * CX_ERR_ARG is returned. The output lags the input by the filter's
 * look-ahead (a few dozen input samples); cx_resampler_flush releases it at
 * the end of a stream. Live input simply keeps calling process. */
CX_API cx_status cx_resampler_process(cx_resampler *r, const float *in, size_t n_in, float *out,
                                      size_t max_out, size_t *n_out, cx_error *err);

/* Ends the stream: writes the remaining output (as if the input continued
 * with silence, trimmed so the total output is about n_in_total * ratio).
 * *n_out receives how many samples; max_out must be at least
 * cx_resampler_max_output(r, 0). After a flush only reset is allowed. */
CX_API cx_status cx_resampler_flush(cx_resampler *r, float *out, size_t max_out, size_t *n_out,
                                    cx_error *err);

/* Forgets all input: the next sample starts a new stream. */
CX_API void cx_resampler_reset(cx_resampler *r);
CX_API void cx_resampler_free(cx_resampler *r);

/* ---- feature configuration ----------------------------------------------- */

typedef enum cx_feat_kind {
    CX_FEAT_LOGMEL = 0, /* n_mels log-mel energies per frame */
    CX_FEAT_MFCC = 1,   /* n_mfcc cepstral coefficients per frame */
} cx_feat_kind;

typedef enum cx_feat_norm {
    CX_NORM_NONE = 0,   /* raw features */
    CX_NORM_GLOBAL = 1, /* (x - mean[i]) / std[i], fixed statistics */
} cx_feat_norm;

#define CX_FEAT_MAX_MELS 256
#define CX_FEAT_MAX_FFT 32768

/* Every feature setting, saved with a model as one string
 * (cx_feat_config_to_string) so training and live features cannot drift
 * apart. Lengths are in samples. */
typedef struct cx_feat_config {
    int sample_rate;   /* Hz, [CX_AUDIO_MIN_RATE, CX_AUDIO_MAX_RATE]; default 16000 */
    int win_length;    /* samples per frame; default 25 ms */
    int hop_length;    /* samples between frame starts, 1..win_length; default 10 ms */
    int n_fft;         /* FFT size >= win_length; default next power of two */
    int n_mels;        /* mel filters, 1..CX_FEAT_MAX_MELS; default 40 */
    float fmin;        /* lowest filter corner, Hz; default 20 */
    float fmax;        /* highest filter corner, Hz, <= sample_rate / 2; default sample_rate / 2 */
    cx_feat_kind kind; /* default CX_FEAT_LOGMEL */
    int n_mfcc;        /* 1..n_mels, used when kind is MFCC; default 13 */
    float log_floor;   /* log(mel + log_floor); (0, 1]; default 1e-6 */
    cx_feat_norm norm; /* default CX_NORM_NONE */
    float mean[CX_FEAT_MAX_MELS]; /* per output feature, used with CX_NORM_GLOBAL */
    float std[CX_FEAT_MAX_MELS];  /* > 0, used with CX_NORM_GLOBAL */
} cx_feat_config;

/* Fills cfg with the defaults for sample_rate (see the fields above). */
CX_API void cx_feat_config_default(cx_feat_config *cfg, int sample_rate);

/* Checks every field and the fields against each other (n_fft >= win,
 * every mel filter covers at least one FFT bin, ...); the message names the
 * field and the accepted range. */
CX_API cx_status cx_feat_config_validate(const cx_feat_config *cfg, cx_error *err);

/* Features per frame: n_mels for log-mel, n_mfcc for MFCC. */
CX_API int cx_feat_num_features(const cx_feat_config *cfg);

/* Frames in n samples: 1 + (n - win) / hop, or 0 when n < win. */
CX_API size_t cx_feat_num_frames(const cx_feat_config *cfg, size_t n);

/* Length of the longest string cx_feat_config_to_string writes, NUL
 * included. */
#define CX_FEAT_CONFIG_STRLEN (512 + 2 * 18 * CX_FEAT_MAX_MELS)

/* Writes cfg as one line of space-separated key=value fields, e.g.
 *   sample_rate=16000 win=400 hop=160 n_fft=512 n_mels=40 fmin=20 fmax=8000
 *   mel=htk kind=logmel n_mfcc=13 log_floor=1e-06 norm=none
 * plus "mean=a,b,... std=a,b,..." (one value per feature) with norm=global.
 * Floats are written in the shortest form (up to 9 significant digits)
 * that parses back to the same bits. Fails (CX_ERR_ARG) if cfg is invalid or buf too small. */
CX_API cx_status cx_feat_config_to_string(const cx_feat_config *cfg, char *buf, size_t size,
                                          cx_error *err);

/* Parses such a string. Fields may come in any order; a missing field takes
 * its default for the string's sample_rate. Unknown, repeated or malformed
 * fields and out-of-range values are rejected with a message naming the
 * field. On failure *cfg is unchanged. */
CX_API cx_status cx_feat_config_parse(cx_feat_config *cfg, const char *str, cx_error *err);

/* Per-feature statistics accumulated over raw (norm=none) training features,
 * then stored in a configuration for CX_NORM_GLOBAL. Sums are in double. */
typedef struct cx_feat_stats {
    int dim;
    int64_t count;
    double sum[CX_FEAT_MAX_MELS];
    double sumsq[CX_FEAT_MAX_MELS];
} cx_feat_stats;

CX_API void cx_feat_stats_init(cx_feat_stats *s, int dim);
/* Adds n_frames frames of s->dim features each. */
CX_API void cx_feat_stats_add(cx_feat_stats *s, const float *frames, size_t n_frames);
/* Sets cfg->norm = CX_NORM_GLOBAL with the mean and standard deviation
 * (floored at 1e-3) seen so far. Fails if no frame was added or dim differs
 * from cx_feat_num_features(cfg). */
CX_API cx_status cx_feat_stats_apply(const cx_feat_stats *s, cx_feat_config *cfg, cx_error *err);

/* ---- streaming feature extractor ----------------------------------------- */

typedef struct cx_melspec cx_melspec;

/* Builds an extractor (FFT plan, window, filterbank, DCT) for a validated
 * copy of cfg. Thread-safe; one extractor must not be used by two threads
 * at once. */
CX_API cx_status cx_melspec_create(cx_melspec **out, const cx_feat_config *cfg, cx_error *err);
CX_API void cx_melspec_free(cx_melspec *fx);

/* The extractor's own copy of its configuration. */
CX_API const cx_feat_config *cx_melspec_config(const cx_melspec *fx);

/* Appends up to n samples to the internal buffer and returns how many it
 * took: all n whenever n <= cx_melspec_space(fx). The buffer holds win_length
 * plus one second of samples, so a caller that pops every available frame
 * after each push can always push up to one second at a time. Never
 * allocates. */
CX_API size_t cx_melspec_push(cx_melspec *fx, const float *samples, size_t n);

/* Samples that push can take now. */
CX_API size_t cx_melspec_space(const cx_melspec *fx);

/* If a full frame is buffered, writes its cx_feat_num_features values to
 * frame, drops hop_length samples and returns 1; otherwise returns 0. Never
 * allocates. */
CX_API int cx_melspec_pop(cx_melspec *fx, float *frame);

/* Frames popped since creation or the last reset (frame t starts at sample
 * t * hop_length of the stream). */
CX_API int64_t cx_melspec_frames_done(const cx_melspec *fx);

/* Drops buffered samples: the next sample pushed is sample 0 of a new
 * stream. */
CX_API void cx_melspec_reset(cx_melspec *fx);

/* Features of a whole clip: resets, pushes the n samples and pops every
 * frame into out (row-major, frames x features), at most max_frames of them.
 * Returns the number of frames written, min(max_frames,
 * cx_feat_num_frames(cfg, n)). Leaves the extractor reset. */
CX_API int cx_melspec_compute(cx_melspec *fx, const float *samples, size_t n, float *out,
                              int max_frames);

#ifdef __cplusplus
}
#endif
#endif
