/* The streaming log-mel / MFCC extractor (formulas in cortex/audio.h).
 *
 * Samples wait in a ring buffer sized at creation; every frame is computed by
 * the same code from the same buffers, whether the samples came in one call
 * (cx_melspec_compute, training) or in many (live), so both give the same
 * bits.
 *
 * The two small products per frame (filterbank, DCT) are fixed-order loops,
 * not OpenBLAS, on purpose: OpenBLAS splits sgemv across threads above ~9k
 * elements and the split changes the rounding (40 x 257 with 8 threads
 * differs from 1 thread in the last bits), which would make features depend
 * on cx_set_threads. The filterbank is also ~95% zeros: only the bins under
 * each triangle are stored and visited (about 2 per bin instead of n_mels). */
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
    int *fb_lo, *fb_len;    /* [n_mels] first bin and bin count under each triangle */
    float *fb_w;            /* the nonzero weights, filter after filter */
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
    free(fx->fb_lo);
    free(fx->fb_len);
    free(fx->fb_w);
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

/* Keeps only the nonzero run of each filter (triangles are contiguous). */
static int sparse_filterbank(cx_melspec *fx)
{
    size_t nb = (size_t)fx->n_bins;
    float *dense = malloc((size_t)fx->n_mels * nb * sizeof *dense);
    if (!dense) return -1;
    cx_mel_filterbank(&fx->cfg, dense);
    size_t total = 0;
    for (int m = 0; m < fx->n_mels; m++) {
        const float *row = dense + (size_t)m * nb;
        int lo = 0, hi = fx->n_bins;
        while (lo < hi && row[lo] == 0.0f)
            lo++;
        while (hi > lo && row[hi - 1] == 0.0f)
            hi--;
        fx->fb_lo[m] = lo;
        fx->fb_len[m] = hi - lo;
        total += (size_t)(hi - lo);
    }
    fx->fb_w = malloc((total ? total : 1) * sizeof *fx->fb_w);
    if (fx->fb_w) {
        float *w = fx->fb_w;
        for (int m = 0; m < fx->n_mels; m++) {
            memcpy(w, dense + (size_t)m * nb + fx->fb_lo[m], (size_t)fx->fb_len[m] * sizeof *w);
            w += fx->fb_len[m];
        }
    }
    free(dense);
    return fx->fb_w ? 0 : -1;
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
    fx->fb_lo = malloc((size_t)fx->n_mels * sizeof *fx->fb_lo);
    fx->fb_len = malloc((size_t)fx->n_mels * sizeof *fx->fb_len);
    fx->logmel = malloc((size_t)fx->n_mels * sizeof *fx->logmel);
    int ok = fx->ring && fx->window && fx->fft_in && fx->fft_out && fx->power && fx->fb_lo &&
             fx->fb_len && fx->logmel;
    if (ok) ok = sparse_filterbank(fx) == 0;
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

/* fft_in[n_fft] = x[win] * window[win], then zeros; x = the win samples at
 * head, which may wrap around the end of the ring. */
static void window_frame(cx_melspec *fx)
{
    size_t win = (size_t)fx->win;
    size_t first = fx->cap - fx->head < win ? fx->cap - fx->head : win;
    const float *a = fx->ring + fx->head, *w = fx->window;
    for (size_t i = 0; i < first; i++)
        fx->fft_in[i] = a[i] * w[i];
    for (size_t i = first; i < win; i++)
        fx->fft_in[i] = fx->ring[i - first] * w[i];
    memset(fx->fft_in + win, 0, (size_t)(fx->n_fft - fx->win) * sizeof *fx->fft_in);
}

/* power[k] = |rfft(fft_in)[k]|^2, k < n_bins = n_fft/2 + 1 */
static void power_spectrum(cx_melspec *fx)
{
    fftwf_execute(fx->plan);
    /* Read as float pairs: fftwf_complex is float[2] or, after <complex.h>,
     * float _Complex; both are laid out so. */
    const float *spec = (const float *)fx->fft_out;
    for (int k = 0; k < fx->n_bins; k++) {
        float re = spec[2 * k], im = spec[2 * k + 1];
        fx->power[k] = re * re + im * im;
    }
}

/* logmel[m] = log(sum_k fb[m][k] power[k] + log_floor), m < n_mels; the sum
 * runs over the bins under triangle m only. */
static void log_mel(cx_melspec *fx)
{
    const float *w = fx->fb_w;
    for (int m = 0; m < fx->n_mels; m++) {
        const float *p = fx->power + fx->fb_lo[m];
        float acc = 0.0f;
        for (int j = 0; j < fx->fb_len[m]; j++)
            acc += w[j] * p[j];
        w += fx->fb_len[m];
        fx->logmel[m] = logf(acc + fx->cfg.log_floor);
    }
}

/* frame[n_out] = logmel (log-mel) or dct[n_mfcc x n_mels] . logmel (MFCC),
 * then (frame[i] - mean[i]) / std[i] with CX_NORM_GLOBAL. */
static void output_frame(const cx_melspec *fx, float *frame)
{
    if (fx->dct) {
        for (int k = 0; k < fx->n_out; k++) {
            const float *d = fx->dct + (size_t)k * fx->n_mels;
            float acc = 0.0f;
            for (int m = 0; m < fx->n_mels; m++)
                acc += d[m] * fx->logmel[m];
            frame[k] = acc;
        }
    } else {
        memcpy(frame, fx->logmel, (size_t)fx->n_mels * sizeof *frame);
    }
    if (fx->inv_std)
        for (int i = 0; i < fx->n_out; i++)
            frame[i] = (frame[i] - fx->cfg.mean[i]) * fx->inv_std[i];
}

int cx_melspec_pop(cx_melspec *fx, float *frame)
{
    if (fx->count < (size_t)fx->win) return 0;
    window_frame(fx);
    power_spectrum(fx);
    log_mel(fx);
    output_frame(fx, frame);
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
