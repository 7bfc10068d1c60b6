/* The streaming log-mel / MFCC extractor (formulas in cortex/audio.h).
 *
 * Samples wait in a ring buffer sized at creation; every frame is computed by
 * the same code from the same buffers, whether the samples came in one call
 * (cx_melspec_compute, training) or in many (live), so both give the same
 * bits. */
#include <cblas.h>
#include <fftw3.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "feat_internal.h"

struct cx_melspec {
    cx_feat_config cfg;
    int win, hop, n_fft, n_bins, n_mels, n_out;
    float *ring; /* cap samples; the next frame starts at head */
    size_t cap, head, count;
    int64_t frames_done;
    float *window;          /* [win] periodic Hann */
    float *fft_in;          /* [n_fft] windowed frame, zero-padded */
    fftwf_complex *fft_out; /* [n_bins] */
    float *power;           /* [n_bins] */
    float *fb;              /* [n_mels x n_bins] mel filterbank */
    float *logmel;          /* [n_mels] */
    float *dct;             /* [n_mfcc x n_mels] orthonormal DCT-II rows, MFCC only */
    float *inv_std;         /* [n_out] 1 / std, CX_NORM_GLOBAL only */
    fftwf_plan plan;
};

/* FFTW's planner is not thread-safe; fftwf_execute on separate plans is. */
static pthread_mutex_t g_fftw_lock = PTHREAD_MUTEX_INITIALIZER;

void cx_melspec_free(cx_melspec *fx)
{
    if (!fx) return;
    if (fx->plan) {
        pthread_mutex_lock(&g_fftw_lock);
        fftwf_destroy_plan(fx->plan);
        pthread_mutex_unlock(&g_fftw_lock);
    }
    fftwf_free(fx->fft_in);
    fftwf_free(fx->fft_out);
    free(fx->ring);
    free(fx->window);
    free(fx->power);
    free(fx->fb);
    free(fx->logmel);
    free(fx->dct);
    free(fx->inv_std);
    free(fx);
}

/* w[i] = 0.5 - 0.5 cos(2 pi i / win), i < win: periodic, so hops of win/2
 * (or win/4) sum to a constant. */
static void hann_periodic(float *w, int win)
{
    for (int i = 0; i < win; i++)
        w[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * i / win));
}

/* d[k][m] = s_k cos(pi k (m + 1/2) / M), s_0 = sqrt(1/M), s_k = sqrt(2/M):
 * the first n_mfcc rows of the orthonormal DCT-II of size M = n_mels. */
static void dct2_ortho(float *d, int n_mfcc, int n_mels)
{
    for (int k = 0; k < n_mfcc; k++) {
        double s = sqrt((k ? 2.0 : 1.0) / n_mels);
        for (int m = 0; m < n_mels; m++)
            d[(size_t)k * n_mels + m] = (float)(s * cos(M_PI * k * (m + 0.5) / n_mels));
    }
}

cx_status cx_melspec_create(cx_melspec **out, const cx_feat_config *cfg, cx_error *err)
{
    *out = NULL;
    cx_status s = cx_feat_config_validate(cfg, err);
    if (s) return s;
    cx_melspec *fx = calloc(1, sizeof *fx);
    if (!fx) return cx_fail(err, CX_ERR_NOMEM, "feature extractor: out of memory");
    fx->cfg = *cfg;
    fx->win = cfg->win_length;
    fx->hop = cfg->hop_length;
    fx->n_fft = cfg->n_fft;
    fx->n_bins = cfg->n_fft / 2 + 1;
    fx->n_mels = cfg->n_mels;
    fx->n_out = cx_feat_num_features(cfg);
    /* win samples for the frame being assembled plus a second of input. */
    fx->cap = (size_t)fx->win + (size_t)cfg->sample_rate;
    fx->ring = malloc(fx->cap * sizeof *fx->ring);
    fx->window = malloc((size_t)fx->win * sizeof *fx->window);
    fx->fft_in = fftwf_malloc((size_t)fx->n_fft * sizeof *fx->fft_in);
    fx->fft_out = fftwf_malloc((size_t)fx->n_bins * sizeof *fx->fft_out);
    fx->power = malloc((size_t)fx->n_bins * sizeof *fx->power);
    fx->fb = malloc((size_t)fx->n_mels * fx->n_bins * sizeof *fx->fb);
    fx->logmel = malloc((size_t)fx->n_mels * sizeof *fx->logmel);
    int ok =
        fx->ring && fx->window && fx->fft_in && fx->fft_out && fx->power && fx->fb && fx->logmel;
    if (ok && cfg->kind == CX_FEAT_MFCC) {
        fx->dct = malloc((size_t)cfg->n_mfcc * fx->n_mels * sizeof *fx->dct);
        ok = fx->dct != NULL;
    }
    if (ok && cfg->norm == CX_NORM_GLOBAL) {
        fx->inv_std = malloc((size_t)fx->n_out * sizeof *fx->inv_std);
        ok = fx->inv_std != NULL;
    }
    if (ok) {
        /* FFTW_ESTIMATE: the same plan every run (no timing), and planning
         * leaves the arrays alone. */
        pthread_mutex_lock(&g_fftw_lock);
        fx->plan = fftwf_plan_dft_r2c_1d(fx->n_fft, fx->fft_in, fx->fft_out, FFTW_ESTIMATE);
        pthread_mutex_unlock(&g_fftw_lock);
        ok = fx->plan != NULL;
    }
    if (!ok) {
        cx_melspec_free(fx);
        return cx_fail(err, CX_ERR_NOMEM, "feature extractor: out of memory (n_fft %d)",
                       cfg->n_fft);
    }
    hann_periodic(fx->window, fx->win);
    cx_mel_filterbank(cfg, fx->fb);
    if (fx->dct) dct2_ortho(fx->dct, cfg->n_mfcc, fx->n_mels);
    if (fx->inv_std)
        for (int i = 0; i < fx->n_out; i++)
            fx->inv_std[i] = 1.0f / cfg->std[i];
    memset(fx->fft_in, 0, (size_t)fx->n_fft * sizeof *fx->fft_in);
    *out = fx;
    return CX_OK;
}

const cx_feat_config *cx_melspec_config(const cx_melspec *fx)
{
    return &fx->cfg;
}

void cx_melspec_reset(cx_melspec *fx)
{
    fx->head = fx->count = 0;
    fx->frames_done = 0;
}

int64_t cx_melspec_frames_done(const cx_melspec *fx)
{
    return fx->frames_done;
}

size_t cx_melspec_space(const cx_melspec *fx)
{
    return fx->cap - fx->count;
}

size_t cx_melspec_push(cx_melspec *fx, const float *samples, size_t n)
{
    size_t k = cx_melspec_space(fx);
    if (n < k) k = n;
    if (k == 0) return 0;
    size_t tail = fx->head + fx->count;
    if (tail >= fx->cap) tail -= fx->cap;
    size_t first = fx->cap - tail < k ? fx->cap - tail : k;
    memcpy(fx->ring + tail, samples, first * sizeof *samples);
    memcpy(fx->ring, samples + first, (k - first) * sizeof *samples);
    fx->count += k;
    return k;
}

/* One frame, x = the win samples at head (shapes in brackets):
 *   fft_in[n_fft] = x[win] * window[win], then zeros
 *   power[k]      = |rfft(fft_in)[k]|^2,            k < n_bins = n_fft/2 + 1
 *   logmel[m]     = log(sum_k fb[m][k] power[k] + log_floor),  m < n_mels
 *   frame[i]      = logmel[i] (log-mel) or sum_m dct[i][m] logmel[m] (MFCC)
 *   frame[i]      = (frame[i] - mean[i]) / std[i]     with CX_NORM_GLOBAL */
int cx_melspec_pop(cx_melspec *fx, float *frame)
{
    if (fx->count < (size_t)fx->win) return 0;
    size_t win = (size_t)fx->win;
    size_t first = fx->cap - fx->head < win ? fx->cap - fx->head : win;
    const float *a = fx->ring + fx->head, *w = fx->window;
    for (size_t i = 0; i < first; i++)
        fx->fft_in[i] = a[i] * w[i];
    for (size_t i = first; i < win; i++)
        fx->fft_in[i] = fx->ring[i - first] * w[i];
    memset(fx->fft_in + win, 0, (size_t)(fx->n_fft - fx->win) * sizeof *fx->fft_in);
    fftwf_execute(fx->plan);
    /* Read as float pairs: fftwf_complex is float[2] or, after <complex.h>
     * (which cblas.h may include), float _Complex; both are laid out so. */
    const float *spec = (const float *)fx->fft_out;
    for (int k = 0; k < fx->n_bins; k++) {
        float re = spec[2 * k], im = spec[2 * k + 1];
        fx->power[k] = re * re + im * im;
    }
    cblas_sgemv(CblasRowMajor, CblasNoTrans, fx->n_mels, fx->n_bins, 1.0f, fx->fb, fx->n_bins,
                fx->power, 1, 0.0f, fx->logmel, 1);
    float floor_ = fx->cfg.log_floor;
    for (int m = 0; m < fx->n_mels; m++)
        fx->logmel[m] = logf(fx->logmel[m] + floor_);
    if (fx->dct)
        cblas_sgemv(CblasRowMajor, CblasNoTrans, fx->n_out, fx->n_mels, 1.0f, fx->dct, fx->n_mels,
                    fx->logmel, 1, 0.0f, frame, 1);
    else
        memcpy(frame, fx->logmel, (size_t)fx->n_mels * sizeof *frame);
    if (fx->inv_std)
        for (int i = 0; i < fx->n_out; i++)
            frame[i] = (frame[i] - fx->cfg.mean[i]) * fx->inv_std[i];
    fx->head += (size_t)fx->hop;
    if (fx->head >= fx->cap) fx->head -= fx->cap;
    fx->count -= (size_t)fx->hop;
    fx->frames_done++;
    return 1;
}

int cx_melspec_compute(cx_melspec *fx, const float *samples, size_t n, float *out, int max_frames)
{
    cx_melspec_reset(fx);
    int done = 0;
    size_t pos = 0;
    while (done < max_frames && pos < n) {
        pos += cx_melspec_push(fx, samples + pos, n - pos);
        while (done < max_frames && cx_melspec_pop(fx, out + (size_t)done * fx->n_out))
            done++;
    }
    cx_melspec_reset(fx);
    return done;
}
