/* Microphone capture on PortAudio (see mic.h). */
#include "mic.h"

#include <ctype.h>
#include <math.h>
#include <portaudio.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifdef CORTEX_HAVE_ALSA
#include <alsa/asoundlib.h>
#endif

#include "cortex/audio.h"
#include "ring.h"

/* A stream that delivers nothing for this long has failed. */
#define MIC_STALL_SECONDS 3.0
/* Callback streams buffer this much audio between the callback and mic_read. */
#define MIC_RING_SECONDS 2.0

struct mic {
    PaStream *stream;
    mic_device dev;
    int channels, device_rate, rate, callback;
    size_t block; /* frames per device read */
    float *inbuf; /* block * channels, interleaved (Pa_ReadStream) */
    float *mono;  /* block frames at the device rate */
    float *pend;  /* resampled samples not yet returned */
    size_t pend_cap, pend_len, pend_pos;
    cx_resampler *rs;
    const volatile int *stop;
    long overflows; /* reported by Pa_ReadStream (callback streams: ring.overflows) */
    mic_ring ring;  /* callback streams: from the audio thread to mic_read */
    int failed;     /* the device failed: closing it could hang, leave it */
};

static int pa_up, pa_broken;

/* ---- keeping PortAudio's probing noise off the terminal -------------------- */

#ifdef CORTEX_HAVE_ALSA
static char alsa_last[160];

/* ALSA prints every failed probe ("Unknown PCM cards.pcm.rear", ...); keep
 * only the last message, which open errors quote. */
static void alsa_quiet(const char *file, int line, const char *function, int e, const char *fmt,
                       ...)
{
    (void)file, (void)line, (void)function, (void)e;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(alsa_last, sizeof alsa_last, fmt, ap);
    va_end(ap);
}
#endif

/* JACK (and anything else) writes straight to stderr: send fd 2 to a
 * temporary file for the duration of a call, show what it caught only if
 * the call failed. CORTEX_MIC_VERBOSE=1 shows everything. */
typedef struct {
    int saved;
    FILE *cap;
} quiet;

static void quiet_begin(quiet *q)
{
    q->saved = -1;
    q->cap = NULL;
    const char *v = getenv("CORTEX_MIC_VERBOSE");
    if (v && *v && strcmp(v, "0") != 0) return;
    fflush(stderr);
    q->cap = tmpfile();
    if (!q->cap) return;
    q->saved = dup(STDERR_FILENO);
    if (q->saved < 0 || dup2(fileno(q->cap), STDERR_FILENO) < 0) {
        if (q->saved >= 0) close(q->saved);
        q->saved = -1;
        fclose(q->cap);
        q->cap = NULL;
    }
}

static void quiet_end(quiet *q, int show)
{
    if (q->saved < 0) return;
    fflush(stderr);
    dup2(q->saved, STDERR_FILENO);
    close(q->saved);
    if (show) {
        /* The last few KB: the real error comes after the probing noise. */
        long size = ftell(q->cap);
        if (size > 4096)
            fseek(q->cap, size - 4096, SEEK_SET);
        else
            rewind(q->cap);
        char buf[512];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, q->cap)) > 0)
            fwrite(buf, 1, n, stderr);
    }
    fclose(q->cap);
}

static const char *pa_text(PaError e)
{
    if (e == paUnanticipatedHostError) {
        const PaHostErrorInfo *h = Pa_GetLastHostErrorInfo();
        if (h && h->errorText && h->errorText[0]) return h->errorText;
    }
    return Pa_GetErrorText(e);
}

cx_status mic_init(cx_error *err)
{
    if (pa_up) return CX_OK;
#ifdef CORTEX_HAVE_ALSA
    snd_lib_error_set_handler(alsa_quiet);
#endif
    quiet q;
    quiet_begin(&q);
    PaError e = Pa_Initialize();
    quiet_end(&q, e != paNoError);
    if (e != paNoError) {
#ifdef CORTEX_HAVE_ALSA
        snd_lib_error_set_handler(NULL);
#endif
        return cx_fail(err, CX_ERR_IO, "PortAudio could not start: %s", pa_text(e));
    }
    pa_up = 1;
    return CX_OK;
}

void mic_terminate(void)
{
    if (!pa_up || pa_broken) return;
    quiet q;
    quiet_begin(&q);
    Pa_Terminate();
    quiet_end(&q, 0);
#ifdef CORTEX_HAVE_ALSA
    snd_lib_error_set_handler(NULL);
#endif
    pa_up = 0;
}

/* ---- devices ------------------------------------------------------------- */

static int describe(PaDeviceIndex i, mic_device *d)
{
    const PaDeviceInfo *info = Pa_GetDeviceInfo(i);
    if (!info || info->maxInputChannels <= 0) return 0;
    const PaHostApiInfo *api = Pa_GetHostApiInfo(info->hostApi);
    d->index = i;
    d->name = info->name ? info->name : "?";
    d->host_api = api && api->name ? api->name : "?";
    d->max_channels = info->maxInputChannels;
    d->default_rate = info->defaultSampleRate;
    d->is_default = i == Pa_GetDefaultInputDevice();
    return 1;
}

int mic_list(mic_device *out, int max)
{
    if (!pa_up) return 0;
    int count = Pa_GetDeviceCount(), n = 0;
    for (int i = 0; i < count; i++) {
        mic_device d;
        if (!describe(i, &d)) continue;
        if (n < max) out[n] = d;
        n++;
    }
    return n;
}

static int contains_ci(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++)
        if (!strncasecmp(hay, needle, n)) return 1;
    return n == 0;
}

static int all_digits(const char *s)
{
    if (!*s) return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s)) return 0;
    return 1;
}

/* The device cfg->device names, or a message saying why there is none. */
static cx_status pick_device(const char *want, mic_device *out, cx_error *err)
{
    int count = Pa_GetDeviceCount(), inputs = 0;
    for (int i = 0; i < count; i++)
        inputs += describe(i, out);
    if (inputs == 0) return cx_fail(err, CX_ERR_IO, MIC_NO_DEVICE_MSG);
    if (!want || !*want) {
        PaDeviceIndex def = Pa_GetDefaultInputDevice();
        if (def != paNoDevice && describe(def, out)) return CX_OK;
        for (int i = 0; i < count; i++) /* no default: the first input */
            if (describe(i, out)) return CX_OK;
    }
    if (all_digits(want)) {
        long i = strtol(want, NULL, 10);
        if (i < count && describe((PaDeviceIndex)i, out)) return CX_OK;
        return cx_fail(err, CX_ERR_ARG,
                       "--device %s: there is no input device with that index (cortex-speech "
                       "devices lists them)",
                       want);
    }
    for (int i = 0; i < count; i++) /* an exact name wins over parts of names */
        if (describe(i, out) && !strcasecmp(out->name, want)) return CX_OK;
    int found = -1, matches = 0;
    char names[160] = "";
    for (int i = 0; i < count; i++) {
        mic_device d;
        if (!describe(i, &d) || !contains_ci(d.name, want)) continue;
        if (matches++ == 0) found = i;
        size_t len = strlen(names);
        snprintf(names + len, sizeof names - len, "%s%d '%s'", len ? ", " : "", i, d.name);
    }
    if (matches == 1) return describe(found, out) ? CX_OK : CX_ERR_IO;
    if (matches == 0)
        return cx_fail(err, CX_ERR_ARG,
                       "--device '%s': no input device has that in its name (cortex-speech "
                       "devices lists them)",
                       want);
    return cx_fail(err, CX_ERR_ARG, "--device '%s' matches %d input devices (%s): give its index",
                   want, matches, names);
}

/* ---- opening --------------------------------------------------------------- */

/* Runs on PortAudio's audio thread: no locks, no allocation, no printing. */
static int on_audio(const void *input, void *output, unsigned long frames,
                    const PaStreamCallbackTimeInfo *time, PaStreamCallbackFlags flags, void *user)
{
    (void)output, (void)time;
    mic *m = user;
    int over = (flags & paInputOverflow) != 0;
    if (input)
        mic_ring_push(&m->ring, input, frames, m->channels, over);
    else if (over)
        mic_ring_push(&m->ring, NULL, 0, m->channels, over);
    return paContinue;
}

/* The first channel count (1, 2, then the device's maximum) the device takes
 * at rate, or 0. */
static int supported_channels(const mic_device *d, double rate, PaStreamParameters *p)
{
    const int tries[3] = {1, 2, d->max_channels};
    for (int t = 0; t < 3; t++) {
        if (tries[t] > d->max_channels || (t && tries[t] == tries[t - 1])) continue;
        p->channelCount = tries[t];
        if (Pa_IsFormatSupported(p, NULL, rate) == paFormatIsSupported) return tries[t];
    }
    return 0;
}

static int want_callback(const mic_device *d)
{
    const char *v = getenv("CORTEX_MIC_CALLBACK");
    if (v && *v && strcmp(v, "0") != 0) return 1;
    const PaDeviceInfo *info = Pa_GetDeviceInfo(d->index);
    const PaHostApiInfo *api = info ? Pa_GetHostApiInfo(info->hostApi) : NULL;
    return api && api->type == paJACK;
}

static cx_status open_failed(const mic *m, PaError e, cx_error *err)
{
    return cx_fail(err, CX_ERR_IO, "could not open the input device '%s' at %d Hz: %s%s%s",
                   m->dev.name, m->device_rate, pa_text(e),
#ifdef CORTEX_HAVE_ALSA
                   alsa_last[0] ? "; ALSA: " : "", alsa_last
#else
                   "", ""
#endif
    );
}

/* Settles rate and channels and opens (does not start) the stream. */
static cx_status open_stream(mic *m, int block_ms, cx_error *err)
{
    const PaDeviceInfo *info = Pa_GetDeviceInfo(m->dev.index);
    PaStreamParameters p = {.device = m->dev.index,
                            .sampleFormat = paFloat32,
                            .suggestedLatency = info->defaultHighInputLatency,
                            .hostApiSpecificStreamInfo = NULL};
    if (p.suggestedLatency < 0.1) p.suggestedLatency = 0.1;
    /* The requested rate if the device has it, else its own. */
    double rate = m->rate;
    const char *force = getenv("CORTEX_MIC_DEVICE_RATE");
    if (force && atoi(force) > 0) rate = atoi(force);
    int ch = supported_channels(&m->dev, rate, &p);
    if (!ch) {
        rate = floor(info->defaultSampleRate + 0.5);
        ch = supported_channels(&m->dev, rate, &p);
    }
    if (!ch)
        return cx_fail(err, CX_ERR_IO,
                       "the input device '%s' takes neither %d Hz nor its default %.0f Hz "
                       "with 1 or 2 channels (try another --device)",
                       m->dev.name, m->rate, info->defaultSampleRate);
    if (rate < CX_AUDIO_MIN_RATE || rate > CX_AUDIO_MAX_RATE)
        return cx_fail(err, CX_ERR_IO, "the input device '%s' runs at %.0f Hz, outside %d..%d Hz",
                       m->dev.name, rate, CX_AUDIO_MIN_RATE, CX_AUDIO_MAX_RATE);
    p.channelCount = ch;
    m->channels = ch;
    m->device_rate = (int)rate;
    m->callback = want_callback(&m->dev);
    m->block = (size_t)m->device_rate * (size_t)block_ms / 1000;
    if (m->block < 16) m->block = 16;
    PaError e = Pa_OpenStream(&m->stream, &p, NULL, rate, (unsigned long)m->block, paClipOff,
                              m->callback ? on_audio : NULL, m);
    if (e != paNoError) {
        m->stream = NULL;
        return open_failed(m, e, err);
    }
    return CX_OK;
}

static cx_status alloc_buffers(mic *m, cx_error *err)
{
    size_t ch = (size_t)m->channels;
    double ratio = (double)m->rate / m->device_rate;
    /* cx_resampler_max_output is at most block * ratio plus the filter's
     * look-ahead and rounding; twice that is ample, and checked per block. */
    m->pend_cap = 2 * (size_t)ceil((double)m->block * ratio) + 256;
    m->inbuf = malloc(sizeof(float) * m->block * ch);
    m->mono = malloc(sizeof(float) * m->block);
    m->pend = malloc(sizeof(float) * m->pend_cap);
    if (m->callback) {
        size_t want = (size_t)(MIC_RING_SECONDS * m->device_rate) + 2 * m->block;
        if (mic_ring_init(&m->ring, want))
            return cx_fail(err, CX_ERR_NOMEM, "out of memory for the audio buffers");
    }
    if (!m->inbuf || !m->mono || !m->pend)
        return cx_fail(err, CX_ERR_NOMEM, "out of memory for the audio buffers");
    return cx_resampler_create(&m->rs, m->device_rate, m->rate, err);
}

mic *mic_open(const mic_config *cfg, cx_error *err)
{
    if (!pa_up) {
        cx_fail(err, CX_ERR_STATE, "mic_open before mic_init");
        return NULL;
    }
    if (cfg->rate < CX_AUDIO_MIN_RATE || cfg->rate > CX_AUDIO_MAX_RATE) {
        cx_fail(err, CX_ERR_ARG, "sample rate %d Hz is outside %d..%d Hz", cfg->rate,
                CX_AUDIO_MIN_RATE, CX_AUDIO_MAX_RATE);
        return NULL;
    }
    mic *m = calloc(1, sizeof *m);
    if (!m) {
        cx_fail(err, CX_ERR_NOMEM, "out of memory");
        return NULL;
    }
    m->rate = cfg->rate;
    m->stop = cfg->stop;
    int block_ms = cfg->block_ms > 0 ? cfg->block_ms : 20;
    cx_status st = pick_device(cfg->device, &m->dev, err);
    if (st) {
        free(m);
        return NULL;
    }
#ifdef CORTEX_HAVE_ALSA
    alsa_last[0] = 0; /* quote only what this open says */
#endif
    quiet q;
    quiet_begin(&q);
    st = open_stream(m, block_ms, err);
    if (!st) st = alloc_buffers(m, err); /* before the callback can run */
    if (!st) {
        PaError e = Pa_StartStream(m->stream);
        if (e != paNoError) st = open_failed(m, e, err);
    }
    quiet_end(&q, st != CX_OK);
    if (st) {
        mic_close(m);
        return NULL;
    }
    return m;
}

/* ---- reading --------------------------------------------------------------- */

static void nap(double seconds)
{
    struct timespec ts = {.tv_sec = (time_t)seconds,
                          .tv_nsec = (long)((seconds - floor(seconds)) * 1e9)};
    nanosleep(&ts, NULL);
}

static int stopped(const mic *m)
{
    return m->stop && *m->stop;
}

/* Frames ready to be read without blocking, or a negative PaError. */
static long ready(mic *m)
{
    if (m->callback) return (long)mic_ring_available(&m->ring);
    return Pa_GetStreamReadAvailable(m->stream);
}

/* Waits until a block is ready, so that no read blocks for long: a stuck
 * device (or audio server) then gives an error instead of a hang, and a
 * stop request is seen within a few milliseconds. */
static cx_status wait_block(mic *m, cx_error *err)
{
    double since = cx_now(), last = since;
    long seen = -1;
    for (;;) {
        long avail = ready(m);
        if (avail == paInputOverflowed) { /* the host restarted capture after a gap */
            m->overflows++;
            avail = 0;
        } else if (avail < 0) {
            m->failed = 1;
            return cx_fail(err, CX_ERR_IO, "reading the input device '%s' failed: %s", m->dev.name,
                           pa_text((PaError)avail));
        }
        if ((size_t)avail >= m->block) return CX_OK;
        if (stopped(m)) return cx_fail(err, CX_ERR_INTERRUPTED, "interrupted");
        /* A stall is time without new samples while this thread was
         * running: after a long gap between two looks (the process was
         * stopped or not scheduled) the clock starts again. */
        double now = cx_now();
        if (avail != seen || now - last > 0.5) since = now;
        seen = avail;
        last = now;
        if (Pa_IsStreamActive(m->stream) != 1 || now - since > MIC_STALL_SECONDS) {
            m->failed = 1;
            return cx_fail(err, CX_ERR_IO, "the input device '%s' stopped delivering audio",
                           m->dev.name);
        }
        /* Sleep about as long as the missing samples take to arrive. */
        double wait = (double)(m->block - (size_t)avail) / m->device_rate;
        nap(wait < 0.001 ? 0.001 : wait > 0.02 ? 0.02 : wait);
    }
}

/* One block of mono samples at the device rate from Pa_ReadStream. */
static cx_status pa_pop(mic *m, cx_error *err)
{
    PaError e = Pa_ReadStream(m->stream, m->inbuf, (unsigned long)m->block);
    if (e == paInputOverflowed) /* the block is still filled, after a gap */
        m->overflows++;
    else if (e != paNoError) {
        m->failed = 1;
        return cx_fail(err, CX_ERR_IO, "reading the input device '%s' failed: %s", m->dev.name,
                       pa_text(e));
    }
    int ch = m->channels;
    if (ch == 1) {
        memcpy(m->mono, m->inbuf, sizeof(float) * m->block);
        return CX_OK;
    }
    for (size_t i = 0; i < m->block; i++) {
        float s = 0.0f;
        for (int c = 0; c < ch; c++)
            s += m->inbuf[i * ch + c];
        m->mono[i] = s / (float)ch;
    }
    return CX_OK;
}

cx_status mic_read(mic *m, float *out, size_t n, cx_error *err)
{
    size_t done = 0;
    while (done < n) {
        if (m->pend_pos < m->pend_len) {
            size_t k = m->pend_len - m->pend_pos;
            if (k > n - done) k = n - done;
            memcpy(out + done, m->pend + m->pend_pos, sizeof(float) * k);
            m->pend_pos += k;
            done += k;
            continue;
        }
        if (stopped(m)) return cx_fail(err, CX_ERR_INTERRUPTED, "interrupted");
        cx_status st = wait_block(m, err);
        if (st) return st;
        if (m->callback)
            mic_ring_pop(&m->ring, m->mono, m->block);
        else if ((st = pa_pop(m, err)))
            return st;
        if (cx_resampler_max_output(m->rs, m->block) > m->pend_cap)
            return cx_fail(err, CX_ERR_STATE, "resampler output exceeds its buffer (%zu > %zu)",
                           cx_resampler_max_output(m->rs, m->block), m->pend_cap);
        m->pend_pos = 0;
        st =
            cx_resampler_process(m->rs, m->mono, m->block, m->pend, m->pend_cap, &m->pend_len, err);
        if (st) return st;
    }
    return CX_OK;
}

long mic_overflows(const mic *m)
{
    return m->overflows + (m->callback ? mic_ring_overflows((mic_ring *)&m->ring) : 0);
}
const mic_device *mic_device_info(const mic *m)
{
    return &m->dev;
}
int mic_device_rate(const mic *m)
{
    return m->device_rate;
}
int mic_channels(const mic *m)
{
    return m->channels;
}
int mic_rate(const mic *m)
{
    return m->rate;
}
int mic_uses_callback(const mic *m)
{
    return m->callback;
}

void mic_close(mic *m)
{
    if (!m) return;
    if (m->failed) {
        /* A stuck audio server makes Pa_AbortStream wait forever; the
         * stream stays open (and Pa_Terminate is skipped) until exit. */
        pa_broken = 1;
    } else if (m->stream) {
        quiet q;
        quiet_begin(&q);
        Pa_AbortStream(m->stream);
        Pa_CloseStream(m->stream);
        quiet_end(&q, 0);
    }
    cx_resampler_free(m->rs);
    free(m->inbuf);
    free(m->mono);
    free(m->pend);
    mic_ring_free(&m->ring);
    free(m);
}
