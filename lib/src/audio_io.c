/* Audio files (libsndfile) and the streaming resampler (libsamplerate). */
#include "cortex/audio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <samplerate.h>
#include <sndfile.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

_Static_assert(CX_RESAMPLE_QUALITY == SRC_SINC_MEDIUM_QUALITY,
               "audio.h documents the libsamplerate converter");

/* Frames read from a file per libsndfile call. */
#define READ_CHUNK 4096

static int rate_ok(long rate)
{
    return rate >= CX_AUDIO_MIN_RATE && rate <= CX_AUDIO_MAX_RATE;
}

/* ---- streaming resampler ------------------------------------------------- */

struct cx_resampler {
    SRC_STATE *src; /* NULL when in_rate == out_rate (plain copy) */
    double ratio;   /* out_rate / in_rate */
    int64_t in_total, out_total;
    int flushed;
};

cx_status cx_resampler_create(cx_resampler **out, int in_rate, int out_rate, cx_error *err)
{
    *out = NULL;
    if (!rate_ok(in_rate) || !rate_ok(out_rate))
        return cx_fail(err, CX_ERR_ARG, "resampler: rates %d -> %d Hz: each must be in [%d, %d] Hz",
                       in_rate, out_rate, CX_AUDIO_MIN_RATE, CX_AUDIO_MAX_RATE);
    double ratio = (double)out_rate / in_rate;
    if (!src_is_valid_ratio(ratio))
        return cx_fail(err, CX_ERR_ARG,
                       "resampler: rates %d -> %d Hz: the ratio must be within 1/256 to 256",
                       in_rate, out_rate);
    cx_resampler *r = calloc(1, sizeof *r);
    if (!r) return cx_fail(err, CX_ERR_NOMEM, "resampler: out of memory");
    r->ratio = ratio;
    if (in_rate != out_rate) {
        int e = 0;
        r->src = src_new(CX_RESAMPLE_QUALITY, 1, &e);
        if (!r->src) {
            free(r);
            return cx_fail(err, CX_ERR_NOMEM, "resampler: libsamplerate: %s", src_strerror(e));
        }
    }
    *out = r;
    return CX_OK;
}

size_t cx_resampler_max_output(const cx_resampler *r, size_t n_in)
{
    if (!r->src) return r->flushed ? 0 : n_in;
    /* Output sample k sits at input time k / ratio and needs input beyond it
     * (the filter's look-ahead), so the output never runs ahead of
     * in_total * ratio; 2 covers rounding of the position. */
    double bound = floor((double)(r->in_total + (int64_t)n_in) * r->ratio) + 2.0;
    double left = bound - (double)r->out_total;
    return left > 0.0 ? (size_t)left : 0;
}

/* Runs libsamplerate until all input is used (or, at the end of input,
 * until it produces nothing more). */
static cx_status run_src(cx_resampler *r, const float *in, size_t n_in, float *out, size_t max_out,
                         size_t *n_out, int end, cx_error *err)
{
    size_t used = 0, made = 0;
    for (;;) {
        size_t room = max_out - made;
        SRC_DATA d = {.data_in = in + used,
                      .data_out = out + made,
                      .input_frames = (long)(n_in - used),
                      .output_frames = room > (size_t)LONG_MAX / 2 ? LONG_MAX / 2 : (long)room,
                      .end_of_input = end,
                      .src_ratio = r->ratio};
        int e = src_process(r->src, &d);
        if (e) return cx_fail(err, CX_ERR_STATE, "resampler: libsamplerate: %s", src_strerror(e));
        used += (size_t)d.input_frames_used;
        made += (size_t)d.output_frames_gen;
        if (used == n_in && (!end || d.output_frames_gen == 0)) break;
        if (made == max_out || (d.input_frames_used == 0 && d.output_frames_gen == 0)) {
            if (used < n_in)
                return cx_fail(err, CX_ERR_STATE,
                               "resampler: libsamplerate stalled after %zu of %zu samples", used,
                               n_in);
            break;
        }
    }
    r->in_total += (int64_t)n_in;
    r->out_total += (int64_t)made;
    *n_out = made;
    return CX_OK;
}

cx_status cx_resampler_process(cx_resampler *r, const float *in, size_t n_in, float *out,
                               size_t max_out, size_t *n_out, cx_error *err)
{
    *n_out = 0;
    if (r->flushed)
        return cx_fail(err, CX_ERR_STATE, "resampler: process after flush (reset it first)");
    size_t need = cx_resampler_max_output(r, n_in);
    if (max_out < need)
        return cx_fail(err, CX_ERR_ARG,
                       "resampler: output room %zu is below the %zu samples %zu inputs can "
                       "produce",
                       max_out, need, n_in);
    if (n_in == 0) return CX_OK;
    if (n_in > (size_t)LONG_MAX / 2)
        return cx_fail(err, CX_ERR_ARG, "resampler: %zu input samples is too many", n_in);
    if (!r->src) {
        memcpy(out, in, n_in * sizeof *in);
        r->in_total += (int64_t)n_in;
        r->out_total += (int64_t)n_in;
        *n_out = n_in;
        return CX_OK;
    }
    return run_src(r, in, n_in, out, max_out, n_out, 0, err);
}

cx_status cx_resampler_flush(cx_resampler *r, float *out, size_t max_out, size_t *n_out,
                             cx_error *err)
{
    *n_out = 0;
    if (r->flushed) return cx_fail(err, CX_ERR_STATE, "resampler: flushed twice");
    size_t need = cx_resampler_max_output(r, 0);
    if (max_out < need)
        return cx_fail(err, CX_ERR_ARG, "resampler: flush needs room for %zu samples, got %zu",
                       need, max_out);
    r->flushed = 1;
    if (!r->src) return CX_OK;
    static const float none[1] = {0.0f};
    return run_src(r, none, 0, out, max_out, n_out, 1, err);
}

void cx_resampler_reset(cx_resampler *r)
{
    if (r->src) src_reset(r->src);
    r->in_total = r->out_total = 0;
    r->flushed = 0;
}

void cx_resampler_free(cx_resampler *r)
{
    if (!r) return;
    if (r->src) src_delete(r->src);
    free(r);
}

/* ---- loading --------------------------------------------------------------- */

/* libsndfile reports open failures through a process-wide error slot
 * (sf_error(NULL)); opening under a lock keeps concurrent loaders from
 * reading each other's messages. */
static pthread_mutex_t g_sf_open_lock = PTHREAD_MUTEX_INITIALIZER;

/* Opens path with our own descriptor (closed by the caller after sf_close,
 * and by us on failure): libsndfile versions differ on whether a failed
 * sf_open_fd closes it. */
static cx_status open_for_read(SNDFILE **out, int *fd_out, SF_INFO *info, const char *path,
                               cx_error *err)
{
    *out = NULL;
    *fd_out = -1;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer. */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) return cx_fail(err, CX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return cx_fail(err, CX_ERR_IO, "%s: not a regular file", path);
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    if (st.st_size == 0) {
        close(fd);
        return cx_fail(err, CX_ERR_FORMAT, "%s: empty file (0 bytes), not audio", path);
    }
    memset(info, 0, sizeof *info);
    char why[128];
    pthread_mutex_lock(&g_sf_open_lock);
    SNDFILE *sf = sf_open_fd(fd, SFM_READ, info, SF_FALSE);
    if (!sf) snprintf(why, sizeof why, "%s", sf_strerror(NULL));
    pthread_mutex_unlock(&g_sf_open_lock);
    if (!sf) {
        close(fd);
        return cx_fail(err, CX_ERR_FORMAT, "%s: not a readable audio file (libsndfile: %s)", path,
                       why);
    }
    *out = sf;
    *fd_out = fd;
    return CX_OK;
}

/* Rejects headers no real recording has. */
static cx_status check_info(const SF_INFO *info, const char *path, cx_error *err)
{
    if (!rate_ok(info->samplerate))
        return cx_fail(err, CX_ERR_FORMAT, "%s: sample rate %d Hz, expected %d to %d Hz", path,
                       info->samplerate, CX_AUDIO_MIN_RATE, CX_AUDIO_MAX_RATE);
    if (info->channels < 1 || info->channels > CX_AUDIO_MAX_CHANNELS)
        return cx_fail(err, CX_ERR_FORMAT, "%s: %d channels, expected 1 to %d", path,
                       info->channels, CX_AUDIO_MAX_CHANNELS);
    if (info->frames <= 0) return cx_fail(err, CX_ERR_FORMAT, "%s: no audio frames", path);
    if (info->frames > (sf_count_t)CX_AUDIO_MAX_SECONDS * info->samplerate)
        return cx_fail(err, CX_ERR_FORMAT, "%s: %lld frames at %d Hz is longer than the %d s limit",
                       path, (long long)info->frames, info->samplerate, CX_AUDIO_MAX_SECONDS);
    return CX_OK;
}

/* Reads every frame, mixing to mono and resampling as it goes. out has room
 * for cap samples, which covers the resampler's whole output. */
/* Makes room for `need` more samples after `made` in *out (of *alloc),
 * growing geometrically but not past cap, unless one call's need (at most
 * the resampler's output for one chunk) takes it there. */
static int grow(float **out, size_t *alloc, size_t made, size_t need, size_t cap)
{
    if (made + need <= *alloc) return 1;
    size_t want = *alloc * 2 > made + need ? *alloc * 2 : made + need;
    if (want > cap) want = cap > made + need ? cap : made + need;
    float *nb = realloc(*out, want * sizeof *nb);
    if (!nb) return 0;
    *out = nb;
    *alloc = want;
    return 1;
}

/* Reads every frame, mixing to mono and resampling as it goes, into *out,
 * which grows with the samples actually decoded (up to cap, the resampler's
 * whole output for the declared frame count): a small file whose header
 * declares an hour of audio costs memory only for what it holds. */
static cx_status read_all(SNDFILE *sf, const SF_INFO *info, cx_resampler *rs, float **outp,
                          size_t *alloc, size_t cap, size_t *n, const char *path, cx_error *err)
{
    int ch = info->channels;
    float *buf = malloc((size_t)READ_CHUNK * (size_t)ch * sizeof *buf);
    float *mono = malloc(READ_CHUNK * sizeof *mono);
    cx_status s = CX_OK;
    cx_error rerr;
    size_t made = 0, got;
    sf_count_t done = 0;
    if (!buf || !mono) {
        s = cx_fail(err, CX_ERR_NOMEM, "%s: out of memory", path);
        goto out;
    }
    while (done < info->frames) {
        sf_count_t want = info->frames - done < READ_CHUNK ? info->frames - done : READ_CHUNK;
        sf_count_t k = sf_readf_float(sf, buf, want);
        if (k <= 0) break;
        float inv = 1.0f / (float)ch;
        for (sf_count_t i = 0; i < k; i++) {
            float acc = 0.0f;
            for (int c = 0; c < ch; c++)
                acc += buf[(size_t)i * (size_t)ch + (size_t)c];
            if (!isfinite(acc)) {
                s = cx_fail(err, CX_ERR_FORMAT, "%s: sample at frame %lld is not finite", path,
                            (long long)(done + i));
                goto out;
            }
            mono[i] = acc * inv;
        }
        if (!grow(outp, alloc, made, cx_resampler_max_output(rs, (size_t)k), cap)) {
            s = cx_fail(err, CX_ERR_NOMEM, "%s: out of memory for %zu samples", path, made);
            goto out;
        }
        float *out = *outp;
        s = cx_resampler_process(rs, mono, (size_t)k, out + made, *alloc - made, &got, &rerr);
        if (s) {
            cx_fail(err, s, "%s: %s", path, rerr.msg);
            goto out;
        }
        made += got;
        done += k;
    }
    if (done < info->frames) {
        const char *why = sf_error(sf) ? sf_strerror(sf) : "file ends early";
        s = cx_fail(err, CX_ERR_FORMAT,
                    "%s: truncated or corrupt: read %lld of %lld frames (libsndfile: %s)", path,
                    (long long)done, (long long)info->frames, why);
        goto out;
    }
    if (!grow(outp, alloc, made, cx_resampler_max_output(rs, 0), cap)) {
        s = cx_fail(err, CX_ERR_NOMEM, "%s: out of memory for %zu samples", path, made);
        goto out;
    }
    s = cx_resampler_flush(rs, *outp + made, *alloc - made, &got, &rerr);
    if (s) {
        cx_fail(err, s, "%s: %s", path, rerr.msg);
        goto out;
    }
    made += got;
    if (made == 0) s = cx_fail(err, CX_ERR_FORMAT, "%s: too short to resample", path);
    *n = made;
out:
    free(buf);
    free(mono);
    return s;
}

/* libsndfile quietly shortens a WAV whose data chunk announces more bytes
 * than the file holds; its header log says "data : 2000 (should be 1000)".
 * 0xFFFFFFFF is the streaming writers' "length unknown" and is accepted. */
static cx_status check_wav_truncation(SNDFILE *sf, const SF_INFO *info, const char *path,
                                      cx_error *err)
{
    int container = info->format & SF_FORMAT_TYPEMASK;
    if (container != SF_FORMAT_WAV && container != SF_FORMAT_WAVEX) return CX_OK;
    char log[8192];
    log[0] = '\0';
    sf_command(sf, SFC_GET_LOG_INFO, log, sizeof log);
    log[sizeof log - 1] = '\0';
    const char *line = strstr(log, "\ndata : ");
    unsigned long long said, real;
    if (line && sscanf(line, "\ndata : %llu (should be %llu)", &said, &real) == 2 && said > real &&
        said != 0xFFFFFFFFull)
        return cx_fail(err, CX_ERR_FORMAT,
                       "%s: truncated: the header announces %llu bytes of audio, the file holds "
                       "%llu",
                       path, said, real);
    return CX_OK;
}

/* Decodes an opened, checked file into mono samples at target_rate (0: the
 * file's rate). */
static cx_status decode(SNDFILE *sf, const SF_INFO *info, const char *path, int target_rate,
                        float **samples, size_t *n, cx_error *err)
{
    int rate = target_rate ? target_rate : info->samplerate;
    double expect = (double)info->frames * rate / info->samplerate;
    if (expect > (double)CX_AUDIO_MAX_SAMPLES)
        return cx_fail(err, CX_ERR_FORMAT, "%s: %.0f samples at %d Hz exceeds the limit of %zu",
                       path, expect, rate, (size_t)CX_AUDIO_MAX_SAMPLES);
    cx_resampler *rs;
    cx_error rerr;
    cx_status s = cx_resampler_create(&rs, info->samplerate, rate, &rerr);
    if (s) return cx_fail(err, s, "%s: %s", path, rerr.msg);
    /* The resampler never produces more than floor(frames * ratio) + 2. */
    size_t cap = (size_t)floor(expect) + 2;
    /* Start at what a second of audio or the declared length needs, the
     * smaller; read_all grows the buffer with the data. */
    size_t alloc = cap < (size_t)rate + 4096 ? cap : (size_t)rate + 4096;
    float *out = malloc(alloc * sizeof *out);
    if (!out) s = cx_fail(err, CX_ERR_NOMEM, "%s: out of memory for %zu samples", path, alloc);
    size_t made = 0;
    if (!s) s = read_all(sf, info, rs, &out, &alloc, cap, &made, path, err);
    cx_resampler_free(rs);
    if (s) {
        free(out);
        return s;
    }
    /* Resampling rings slightly past full scale; float files may hold any
     * value. */
    for (size_t i = 0; i < made; i++)
        out[i] = fminf(1.0f, fmaxf(-1.0f, out[i]));
    float *shrunk = realloc(out, made * sizeof *out);
    *samples = shrunk ? shrunk : out;
    *n = made;
    return CX_OK;
}

cx_status cx_audio_load(const char *path, int target_rate, float **samples, size_t *n,
                        int *orig_rate, cx_error *err)
{
    *samples = NULL;
    *n = 0;
    if (!path) return cx_fail(err, CX_ERR_ARG, "audio load: no path given");
    if (target_rate != 0 && !rate_ok(target_rate))
        return cx_fail(err, CX_ERR_ARG, "%s: target rate %d Hz, expected 0 or %d to %d Hz", path,
                       target_rate, CX_AUDIO_MIN_RATE, CX_AUDIO_MAX_RATE);
    SF_INFO info;
    SNDFILE *sf;
    int fd;
    cx_status s = open_for_read(&sf, &fd, &info, path, err);
    if (s) return s;
    s = check_info(&info, path, err);
    if (!s) s = check_wav_truncation(sf, &info, path, err);
    if (!s) s = decode(sf, &info, path, target_rate, samples, n, err);
    sf_close(sf);
    close(fd);
    if (!s && orig_rate) *orig_rate = info.samplerate;
    return s;
}

/* ---- saving ---------------------------------------------------------------- */

cx_status cx_audio_save_wav(const char *path, const float *samples, size_t n, int rate,
                            cx_error *err)
{
    if (!path) return cx_fail(err, CX_ERR_ARG, "audio save: no path given");
    if (!rate_ok(rate))
        return cx_fail(err, CX_ERR_ARG, "%s: sample rate %d Hz, expected %d to %d Hz", path, rate,
                       CX_AUDIO_MIN_RATE, CX_AUDIO_MAX_RATE);
    if (n > 0 && !samples) return cx_fail(err, CX_ERR_ARG, "%s: no samples given", path);
    if (n > (size_t)INT32_MAX / 2)
        return cx_fail(err, CX_ERR_ARG, "%s: %zu samples do not fit a WAV file", path, n);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(samples[i]))
            return cx_fail(err, CX_ERR_ARG, "%s: sample %zu is not finite", path, i);
    SF_INFO info = {.samplerate = rate, .channels = 1, .format = SF_FORMAT_WAV | SF_FORMAT_PCM_16};
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return cx_fail(err, CX_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    char why[128];
    pthread_mutex_lock(&g_sf_open_lock);
    SNDFILE *sf = sf_open_fd(fd, SFM_WRITE, &info, SF_FALSE);
    if (!sf) snprintf(why, sizeof why, "%s", sf_strerror(NULL));
    pthread_mutex_unlock(&g_sf_open_lock);
    if (!sf) {
        close(fd);
        return cx_fail(err, CX_ERR_IO, "%s: cannot write WAV (libsndfile: %s)", path, why);
    }
    /* Clip instead of wrapping around when a value is outside [-1, 1]. */
    sf_command(sf, SFC_SET_CLIPPING, NULL, SF_TRUE);
    sf_count_t wrote = n ? sf_writef_float(sf, samples, (sf_count_t)n) : 0;
    cx_status s = CX_OK;
    if (wrote != (sf_count_t)n)
        s = cx_fail(err, CX_ERR_IO, "%s: wrote %lld of %zu samples (libsndfile: %s)", path,
                    (long long)wrote, n, sf_strerror(sf));
    int ce = sf_close(sf);
    if (!s && ce) s = cx_fail(err, CX_ERR_IO, "%s: closing failed (libsndfile error %d)", path, ce);
    if (close(fd) != 0 && !s)
        s = cx_fail(err, CX_ERR_IO, "%s: closing failed: %s", path, strerror(errno));
    return s;
}
