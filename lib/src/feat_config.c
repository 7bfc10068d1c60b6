/* Feature configuration: defaults, validation, the one-line string saved with
 * a model, normalization statistics, and the mel filterbank. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feat_internal.h"
#include "kv.h"

#define MIN_WIN 8

static const char *kind_name(cx_feat_kind k)
{
    return k == CX_FEAT_MFCC ? "mfcc" : "logmel";
}
static const char *norm_name(cx_feat_norm n)
{
    return n == CX_NORM_GLOBAL ? "global" : "none";
}

void cx_feat_config_default(cx_feat_config *cfg, int sample_rate)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->sample_rate = sample_rate;
    cfg->win_length = (int)lround(0.025 * sample_rate);
    cfg->hop_length = (int)lround(0.010 * sample_rate);
    if (cfg->win_length < 1) cfg->win_length = 1;
    if (cfg->hop_length < 1) cfg->hop_length = 1;
    int n = 1;
    while (n < cfg->win_length && n < (1 << 30))
        n <<= 1;
    cfg->n_fft = n;
    cfg->n_mels = 40;
    cfg->fmin = 20.0f;
    cfg->fmax = (float)(sample_rate / 2.0);
    cfg->kind = CX_FEAT_LOGMEL;
    cfg->n_mfcc = 13;
    cfg->log_floor = 1e-6f;
    cfg->norm = CX_NORM_NONE;
    for (int i = 0; i < CX_FEAT_MAX_MELS; i++)
        cfg->std[i] = 1.0f;
    /* At very low rates 40 triangles would not each cover an FFT bin. */
    if (sample_rate >= CX_AUDIO_MIN_RATE && sample_rate <= CX_AUDIO_MAX_RATE)
        while (cfg->n_mels > 1 && cx_mel_filterbank(cfg, NULL) >= 0)
            cfg->n_mels--;
    if (cfg->n_mfcc > cfg->n_mels) cfg->n_mfcc = cfg->n_mels;
}

int cx_feat_num_features(const cx_feat_config *cfg)
{
    return cfg->kind == CX_FEAT_MFCC ? cfg->n_mfcc : cfg->n_mels;
}

size_t cx_feat_num_frames(const cx_feat_config *cfg, size_t n)
{
    size_t win = (size_t)cfg->win_length, hop = (size_t)cfg->hop_length;
    if (cfg->win_length <= 0 || cfg->hop_length <= 0 || n < win) return 0;
    return 1 + (n - win) / hop;
}

/* "feature config: field 'FIELD': ..." */
#define bad_field(err, field, ...) cx_kv_bad_field(err, "feature config", field, __VA_ARGS__)

cx_status cx_feat_config_validate(const cx_feat_config *c, cx_error *err)
{
    if (c->sample_rate < CX_AUDIO_MIN_RATE || c->sample_rate > CX_AUDIO_MAX_RATE)
        return bad_field(err, "sample_rate", "%d Hz, expected %d to %d", c->sample_rate,
                         CX_AUDIO_MIN_RATE, CX_AUDIO_MAX_RATE);
    if (c->win_length < MIN_WIN || c->win_length > CX_FEAT_MAX_FFT)
        return bad_field(err, "win", "%d samples, expected %d to %d", c->win_length, MIN_WIN,
                         CX_FEAT_MAX_FFT);
    if (c->hop_length < 1 || c->hop_length > c->win_length)
        return bad_field(err, "hop", "%d samples, expected 1 to win (%d)", c->hop_length,
                         c->win_length);
    if (c->n_fft < c->win_length || c->n_fft > CX_FEAT_MAX_FFT)
        return bad_field(err, "n_fft", "%d, expected win (%d) to %d", c->n_fft, c->win_length,
                         CX_FEAT_MAX_FFT);
    if (c->n_mels < 1 || c->n_mels > CX_FEAT_MAX_MELS)
        return bad_field(err, "n_mels", "%d, expected 1 to %d", c->n_mels, CX_FEAT_MAX_MELS);
    double nyquist = c->sample_rate / 2.0;
    if (!isfinite(c->fmax) || c->fmax <= 0.0f || c->fmax > nyquist)
        return bad_field(err, "fmax", "%g Hz, expected above 0 and at most sample_rate/2 (%g)",
                         c->fmax, nyquist);
    if (!isfinite(c->fmin) || c->fmin < 0.0f || c->fmin >= c->fmax)
        return bad_field(err, "fmin", "%g Hz, expected 0 <= fmin < fmax (%g)", c->fmin, c->fmax);
    if (c->kind != CX_FEAT_LOGMEL && c->kind != CX_FEAT_MFCC)
        return bad_field(err, "kind", "unknown kind %d", (int)c->kind);
    if (c->n_mfcc < 1 || c->n_mfcc > CX_FEAT_MAX_MELS ||
        (c->kind == CX_FEAT_MFCC && c->n_mfcc > c->n_mels))
        return bad_field(err, "n_mfcc", "%d, expected 1 to n_mels (%d)", c->n_mfcc, c->n_mels);
    if (!isfinite(c->log_floor) || c->log_floor < 1e-12f || c->log_floor > 1.0f)
        return bad_field(err, "log_floor", "%g, expected 1e-12 to 1", c->log_floor);
    if (c->norm != CX_NORM_NONE && c->norm != CX_NORM_GLOBAL)
        return bad_field(err, "norm", "unknown normalization %d", (int)c->norm);
    if (c->norm == CX_NORM_GLOBAL) {
        for (int i = 0; i < cx_feat_num_features(c); i++) {
            if (!isfinite(c->mean[i])) return bad_field(err, "mean", "value %d is not finite", i);
            if (!isfinite(c->std[i]) || c->std[i] < 1e-6f || c->std[i] > 1e6f)
                return bad_field(err, "std", "value %d is %g, expected 1e-6 to 1e6", i, c->std[i]);
        }
    }
    int empty = cx_mel_filterbank(c, NULL);
    if (empty >= 0)
        return bad_field(err, "n_mels",
                         "mel filter %d covers no FFT bin (%d mels between %g and %g Hz with "
                         "n_fft %d): use fewer mels or a larger n_fft",
                         empty, c->n_mels, c->fmin, c->fmax, c->n_fft);
    return CX_OK;
}

/* ---- the mel filterbank ---------------------------------------------------- */

static double hz_to_mel(double f)
{
    return 2595.0 * log10(1.0 + f / 700.0);
}
static double mel_to_hz(double m)
{
    return 700.0 * (pow(10.0, m / 2595.0) - 1.0);
}

/* fb[m][k] = max(0, min(rising, falling)) where the triangle of filter m has
 * corners f[m], f[m+1], f[m+2] (Hz) and bin k sits at k * rate / n_fft. */
int cx_mel_filterbank(const cx_feat_config *cfg, float *fb)
{
    int n_mels = cfg->n_mels, n_bins = cfg->n_fft / 2 + 1;
    double f[CX_FEAT_MAX_MELS + 2];
    double m_lo = hz_to_mel(cfg->fmin), m_hi = hz_to_mel(cfg->fmax);
    for (int i = 0; i < n_mels + 2; i++)
        f[i] = mel_to_hz(m_lo + (m_hi - m_lo) * i / (n_mels + 1));
    int empty = -1;
    for (int m = 0; m < n_mels; m++) {
        int covered = 0;
        for (int k = 0; k < n_bins; k++) {
            double hz = (double)k * cfg->sample_rate / cfg->n_fft;
            double up = (hz - f[m]) / (f[m + 1] - f[m]);
            double down = (f[m + 2] - hz) / (f[m + 2] - f[m + 1]);
            double w = fmax(0.0, fmin(up, down));
            if (fb) fb[(size_t)m * n_bins + k] = (float)w;
            covered |= (float)w > 0.0f;
        }
        if (!covered && empty < 0) empty = m;
    }
    return empty;
}

/* ---- the string form ------------------------------------------------------- */

/* Appends to buf at *len; returns -1 once it does not fit. */
static int append(char *buf, size_t size, size_t *len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int append(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
    if (*len >= size) return -1;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(buf + *len, size - *len, fmt, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= size - *len) return -1;
    *len += (size_t)k;
    return 0;
}

static int append_list(char *buf, size_t size, size_t *len, const char *key, const float *v, int n)
{
    char num[32];
    if (append(buf, size, len, " %s=", key)) return -1;
    for (int i = 0; i < n; i++)
        if (append(buf, size, len, i ? ",%s" : "%s", cx_short_float(num, sizeof num, v[i])))
            return -1;
    return 0;
}

static cx_status to_string(const cx_feat_config *c, char *buf, size_t size, cx_error *err)
{
    cx_status s = cx_feat_config_validate(c, err);
    if (s) return s;
    size_t len = 0;
    char lo[32], hi[32], fl[32];
    int bad = append(buf, size, &len,
                     "sample_rate=%d win=%d hop=%d n_fft=%d n_mels=%d fmin=%s fmax=%s "
                     "mel=htk kind=%s n_mfcc=%d log_floor=%s norm=%s",
                     c->sample_rate, c->win_length, c->hop_length, c->n_fft, c->n_mels,
                     cx_short_float(lo, sizeof lo, c->fmin), cx_short_float(hi, sizeof hi, c->fmax),
                     kind_name(c->kind), c->n_mfcc, cx_short_float(fl, sizeof fl, c->log_floor),
                     norm_name(c->norm));
    if (!bad && c->norm == CX_NORM_GLOBAL) {
        int nf = cx_feat_num_features(c);
        bad = append_list(buf, size, &len, "mean", c->mean, nf) ||
              append_list(buf, size, &len, "std", c->std, nf);
    }
    if (bad) {
        if (size) buf[0] = '\0';
        return cx_fail(err, CX_ERR_ARG, "feature config: buffer of %zu bytes is too small", size);
    }
    return CX_OK;
}

enum {
    F_RATE,
    F_WIN,
    F_HOP,
    F_NFFT,
    F_MELS,
    F_FMIN,
    F_FMAX,
    F_MEL,
    F_KIND,
    F_MFCC,
    F_FLOOR,
    F_NORM,
    F_MEAN,
    F_STD,
    F_COUNT
};
static const char *const g_keys[F_COUNT] = {"sample_rate", "win",  "hop",  "n_fft", "n_mels",
                                            "fmin",        "fmax", "mel",  "kind",  "n_mfcc",
                                            "log_floor",   "norm", "mean", "std"};
_Static_assert(F_COUNT <= CX_KV_MAX_KEYS, "too many feature config fields for cx_kv");

static int parse_real(const char *v, float *out)
{
    return cx_parse_float(v, -CX_PARSE_FLOAT_MAX, CX_PARSE_FLOAT_MAX, out);
}

/* A comma-separated list of up to CX_FEAT_MAX_MELS finite numbers. */
static int parse_list(const char *v, float *out, int *count)
{
    int n = 0;
    for (;;) {
        if (n == CX_FEAT_MAX_MELS) return -1;
        const char *end;
        if (cx_parse_float_at(v, -CX_PARSE_FLOAT_MAX, CX_PARSE_FLOAT_MAX, &end, &out[n])) return -1;
        n++;
        if (*end == '\0') break;
        if (*end != ',') return -1;
        v = end + 1;
    }
    *count = n;
    return 0;
}

/* Applies one key=value field (key index f) to c. */
static cx_status apply_field(cx_feat_config *c, int f, const char *v, int *n_mean, int *n_std,
                             cx_error *err)
{
    int bad = 0;
    switch (f) {
    case F_RATE:
        bad = cx_parse_int(v, CX_AUDIO_MIN_RATE, CX_AUDIO_MAX_RATE, &c->sample_rate);
        break;
    case F_WIN:
        bad = cx_parse_int(v, MIN_WIN, CX_FEAT_MAX_FFT, &c->win_length);
        break;
    case F_HOP:
        bad = cx_parse_int(v, 1, CX_FEAT_MAX_FFT, &c->hop_length);
        break;
    case F_NFFT:
        bad = cx_parse_int(v, MIN_WIN, CX_FEAT_MAX_FFT, &c->n_fft);
        break;
    case F_MELS:
        bad = cx_parse_int(v, 1, CX_FEAT_MAX_MELS, &c->n_mels);
        break;
    case F_FMIN:
        bad = parse_real(v, &c->fmin);
        break;
    case F_FMAX:
        bad = parse_real(v, &c->fmax);
        break;
    case F_MEL:
        bad = strcmp(v, "htk") != 0;
        break;
    case F_KIND:
        if (!strcmp(v, "logmel"))
            c->kind = CX_FEAT_LOGMEL;
        else if (!strcmp(v, "mfcc"))
            c->kind = CX_FEAT_MFCC;
        else
            bad = 1;
        break;
    case F_MFCC:
        bad = cx_parse_int(v, 1, CX_FEAT_MAX_MELS, &c->n_mfcc);
        break;
    case F_FLOOR:
        bad = parse_real(v, &c->log_floor);
        break;
    case F_NORM:
        if (!strcmp(v, "none"))
            c->norm = CX_NORM_NONE;
        else if (!strcmp(v, "global"))
            c->norm = CX_NORM_GLOBAL;
        else
            bad = 1;
        break;
    case F_MEAN:
        bad = parse_list(v, c->mean, n_mean);
        break;
    case F_STD:
        bad = parse_list(v, c->std, n_std);
        break;
    }
    if (!bad) return CX_OK;
    static const char *const expected[F_COUNT] = {"an integer sample rate in Hz",
                                                  "an integer number of samples",
                                                  "an integer number of samples",
                                                  "an integer FFT size",
                                                  "an integer count of mel filters",
                                                  "a frequency in Hz",
                                                  "a frequency in Hz",
                                                  "'htk' (the only mel scale)",
                                                  "'logmel' or 'mfcc'",
                                                  "an integer count of coefficients",
                                                  "a small positive number",
                                                  "'none' or 'global'",
                                                  "comma-separated numbers, one per feature",
                                                  "comma-separated numbers, one per feature"};
    return cx_fail(err, CX_ERR_ARG, "feature config: field '%s': '%.60s%s' is not %s", g_keys[f], v,
                   strlen(v) > 60 ? "..." : "", expected[f]);
}

static cx_status parse(cx_feat_config *cfg, const char *str, cx_error *err)
{
    char tok[CX_FEAT_CONFIG_STRLEN];
    cx_feat_config c;
    cx_feat_config_default(&c, 16000);
    int rate = 16000, n_mean = 0, n_std = 0;
    cx_kv kv;
    cx_kv_result r;
    /* First pass: the sample rate, which the other defaults derive from;
     * every other problem is reported by the second pass, in order. */
    cx_kv_init(&kv, str, g_keys, F_COUNT, tok, sizeof tok);
    while ((r = cx_kv_next(&kv)) != CX_KV_END) {
        if ((r == CX_KV_FIELD || r == CX_KV_REPEATED) && kv.key == F_RATE &&
            cx_parse_int(kv.value, CX_AUDIO_MIN_RATE, CX_AUDIO_MAX_RATE, &rate))
            return apply_field(&c, F_RATE, kv.value, &n_mean, &n_std, err);
    }
    cx_feat_config_default(&c, rate);
    cx_kv_init(&kv, str, g_keys, F_COUNT, tok, sizeof tok);
    while ((r = cx_kv_next(&kv)) != CX_KV_END) {
        if (r == CX_KV_TOO_LONG)
            return cx_fail(err, CX_ERR_ARG, "feature config: a field longer than %zu bytes",
                           sizeof tok - 1);
        if (r != CX_KV_FIELD) return cx_kv_fail(&kv, r, "feature config", 60, err);
        cx_status s = apply_field(&c, kv.key, kv.value, &n_mean, &n_std, err);
        if (s) return s;
    }
    const int *seen = kv.seen;
    int nf = cx_feat_num_features(&c);
    if (c.norm == CX_NORM_GLOBAL) {
        if (!seen[F_MEAN] || !seen[F_STD])
            return cx_fail(err, CX_ERR_ARG,
                           "feature config: norm=global needs fields 'mean' "
                           "and 'std'");
        if (n_mean != nf || n_std != nf)
            return cx_fail(err, CX_ERR_ARG,
                           "feature config: field '%s': %d values, expected one per feature (%d)",
                           n_mean != nf ? "mean" : "std", n_mean != nf ? n_mean : n_std, nf);
    } else if (seen[F_MEAN] || seen[F_STD]) {
        return cx_fail(err, CX_ERR_ARG, "feature config: field '%s' given with norm=none",
                       seen[F_MEAN] ? "mean" : "std");
    }
    cx_status s = cx_feat_config_validate(&c, err);
    if (s) return s;
    *cfg = c;
    return CX_OK;
}

cx_status cx_feat_config_to_string(const cx_feat_config *c, char *buf, size_t size, cx_error *err)
{
    locale_t old = cx_c_locale_enter();
    cx_status s = to_string(c, buf, size, err);
    cx_c_locale_leave(old);
    return s;
}

cx_status cx_feat_config_parse(cx_feat_config *cfg, const char *str, cx_error *err)
{
    if (!str) return cx_fail(err, CX_ERR_ARG, "feature config: no string given");
    locale_t old = cx_c_locale_enter();
    cx_status s = parse(cfg, str, err);
    cx_c_locale_leave(old);
    return s;
}

/* ---- normalization statistics ---------------------------------------------- */

void cx_feat_stats_init(cx_feat_stats *s, int dim)
{
    memset(s, 0, sizeof *s);
    s->dim = dim < 0 ? 0 : dim > CX_FEAT_MAX_MELS ? CX_FEAT_MAX_MELS : dim;
}

void cx_feat_stats_add(cx_feat_stats *s, const float *frames, size_t n_frames)
{
    for (size_t t = 0; t < n_frames; t++) {
        const float *x = frames + t * (size_t)s->dim;
        for (int i = 0; i < s->dim; i++) {
            s->sum[i] += x[i];
            s->sumsq[i] += (double)x[i] * x[i];
        }
    }
    s->count += (int64_t)n_frames;
}

cx_status cx_feat_stats_apply(const cx_feat_stats *s, cx_feat_config *cfg, cx_error *err)
{
    int nf = cx_feat_num_features(cfg);
    if (s->count <= 0)
        return cx_fail(err, CX_ERR_STATE, "feature statistics: no frames were added");
    if (s->dim != nf)
        return cx_fail(err, CX_ERR_ARG,
                       "feature statistics: %d features per frame, the configuration has %d",
                       s->dim, nf);
    cx_feat_config c = *cfg;
    for (int i = 0; i < nf; i++) {
        double mean = s->sum[i] / (double)s->count;
        double var = s->sumsq[i] / (double)s->count - mean * mean;
        double sd = sqrt(var > 0.0 ? var : 0.0);
        if (!isfinite(mean) || !isfinite(sd))
            return cx_fail(err, CX_ERR_ARG, "feature statistics: feature %d is not finite", i);
        c.mean[i] = (float)mean;
        c.std[i] = (float)(sd > 1e-3 ? sd : 1e-3);
    }
    c.norm = CX_NORM_GLOBAL;
    cx_status st = cx_feat_config_validate(&c, err);
    if (st) return st;
    *cfg = c;
    return CX_OK;
}
