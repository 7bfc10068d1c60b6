/* Microphone capture on PortAudio (see mic.h). */
#include "mic.h"

#include <ctype.h>
#include <math.h>
#include <portaudio.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#include <unistd.h>

#ifdef CORTEX_HAVE_ALSA
#include <alsa/asoundlib.h>
#endif

#include "cortex/audio.h"
#include "ring.h"

/* A stream that delivers nothing for this long has failed. */
#define MIC_STALL_SECONDS 1.0
/* The ring between the capture thread (or callback) and mic_read. */
#define MIC_RING_SECONDS 2.0
/* Opening a device that takes longer than this has failed. */
#define MIC_OPEN_SECONDS 5.0
/* Stopping a healthy stream that takes longer than this is left behind;
 * twice this (the capture thread, then the close) is the most a Ctrl-C
 * waits at the end. */
#define MIC_CLOSE_SECONDS 0.2
/* Time between two attempts to reopen a lost device. */
#define MIC_RETRY_SECONDS 0.5

/* One opened stream and what feeds the ring from it. Every PortAudio call
 * that can block runs on a thread of its own: with PulseAudio gone, ALSA's
 * pulse plugin can block in any call on the stream for ever (seen here:
 * snd_pcm_avail_update waiting on a mutex held by libpulse's thread,
 * itself stuck in pa_memimport_free). A capture whose thread or server is
 * stuck is left as it is (never freed, never closed). */
typedef struct capture {
    PaStream *stream;
    int channels, device_rate, callback;
    size_t block; /* frames per device read */
    float *inbuf; /* block * channels, interleaved (Pa_ReadStream) */
    mic_ring ring;
    pthread_t thread;
    int has_thread;
    atomic_int quit, exited;
    atomic_int error;      /* the PaError that ended the capture thread, 0 while fine */
    atomic_long overflows; /* reported by Pa_ReadStream */
} capture;

struct mic {
    mic_device dev;
    char device[256]; /* as asked for (cfg->device) */
    int rate, block_ms;
    double reconnect_s;
    void (*notice)(const char *msg);
    capture *cap;
    float *mono; /* block frames at the device rate */
    size_t mono_cap;
    float *pend; /* resampled samples not yet returned */
    size_t pend_cap, pend_len, pend_pos;
    cx_resampler *rs;
    int rs_rate; /* the input rate of rs */
    const volatile int *stop;
    long old_overflows; /* of captures given up */
    long gaps;
    double gap_seconds, last_audio;
    int failed; /* the device failed and did not come back */
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

/* ---- running PortAudio calls that may never return -------------------------- */

static void nap(double seconds)
{
    struct timespec ts = {.tv_sec = (time_t)seconds,
                          .tv_nsec = (long)((seconds - floor(seconds)) * 1e9)};
    nanosleep(&ts, NULL);
}

typedef struct bounded {
    pthread_mutex_t lock;
    int done, abandoned;
    void (*fn)(void *);
    void (*drop)(void *); /* frees arg when nobody waits for fn any more */
    void *arg;
} bounded;

static void *bounded_main(void *p)
{
    bounded *b = p;
    b->fn(b->arg);
    pthread_mutex_lock(&b->lock);
    b->done = 1;
    int abandoned = b->abandoned;
    pthread_mutex_unlock(&b->lock);
    if (abandoned) {
        if (b->drop) b->drop(b->arg);
        pthread_mutex_destroy(&b->lock);
        free(b);
    }
    return NULL;
}

/* Runs fn(arg) on a thread of its own and waits until it returns, at most
 * `seconds` and only while *stop (if given) stays 0. Returns 1 when fn
 * returned; 0 when it was left running (then drop(arg) runs if it ever
 * returns, and PortAudio is never terminated: a call is still inside it). */
static int run_bounded(void (*fn)(void *), void (*drop)(void *), void *arg, double seconds,
                       const volatile int *stop)
{
    bounded *b = calloc(1, sizeof *b);
    pthread_t t;
    if (!b) {
        fn(arg);
        return 1;
    }
    pthread_mutex_init(&b->lock, NULL);
    b->fn = fn, b->drop = drop, b->arg = arg;
    if (pthread_create(&t, NULL, bounded_main, b) != 0) {
        pthread_mutex_destroy(&b->lock);
        free(b);
        fn(arg);
        return 1;
    }
    pthread_detach(t);
    double until = cx_now() + seconds;
    for (;;) {
        pthread_mutex_lock(&b->lock);
        if (b->done) {
            pthread_mutex_unlock(&b->lock);
            pthread_mutex_destroy(&b->lock);
            free(b);
            return 1;
        }
        if ((stop && *stop) || cx_now() > until) {
            b->abandoned = 1;
            pthread_mutex_unlock(&b->lock);
            pa_broken = 1;
            return 0;
        }
        pthread_mutex_unlock(&b->lock);
        nap(0.005);
    }
}

/* ---- opening --------------------------------------------------------------- */

/* Runs on PortAudio's audio thread: no locks, no allocation, no printing. */
static int on_audio(const void *input, void *output, unsigned long frames,
                    const PaStreamCallbackTimeInfo *time, PaStreamCallbackFlags flags, void *user)
{
    (void)output, (void)time;
    capture *c = user;
    int over = (flags & paInputOverflow) != 0;
    if (input)
        mic_ring_push(&c->ring, input, frames, c->channels, over);
    else if (over)
        mic_ring_push(&c->ring, NULL, 0, c->channels, over);
    return paContinue;
}

/* The capture thread of a blocking stream: device reads into the ring. */
static void *capture_main(void *p)
{
    capture *c = p;
    while (!atomic_load(&c->quit)) {
        PaError e = Pa_ReadStream(c->stream, c->inbuf, (unsigned long)c->block);
        if (e == paInputOverflowed) { /* the block is still filled, after a gap */
            atomic_fetch_add(&c->overflows, 1);
        } else if (e != paNoError) {
            atomic_store(&c->error, (int)e);
            break;
        }
        mic_ring_push(&c->ring, c->inbuf, c->block, c->channels, 0);
    }
    atomic_store(&c->exited, 1);
    return NULL;
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

static cx_status open_failed(const mic_device *d, int rate, PaError e, cx_error *err)
{
    return cx_fail(err, CX_ERR_IO, "could not open the input device '%s' at %d Hz: %s%s%s", d->name,
                   rate, pa_text(e),
#ifdef CORTEX_HAVE_ALSA
                   alsa_last[0] ? "; ALSA: " : "", alsa_last
#else
                   "", ""
#endif
    );
}

/* A capture that was never started, or whose stream is closed. */
static void capture_free(capture *c)
{
    if (!c) return;
    free(c->inbuf);
    mic_ring_free(&c->ring);
    free(c);
}

/* Settles rate and channels, opens and starts the stream and its capture
 * thread. */
static cx_status capture_open(const mic_device *d, int want_rate, int block_ms, capture **out,
                              cx_error *err)
{
    *out = NULL;
    const PaDeviceInfo *info = Pa_GetDeviceInfo(d->index);
    if (!info) return cx_fail(err, CX_ERR_IO, "the input device '%s' is gone", d->name);
    PaStreamParameters p = {.device = d->index,
                            .sampleFormat = paFloat32,
                            .suggestedLatency = info->defaultHighInputLatency,
                            .hostApiSpecificStreamInfo = NULL};
    if (p.suggestedLatency < 0.1) p.suggestedLatency = 0.1;
    /* The requested rate if the device has it, else its own. */
    double rate = want_rate;
    const char *force = getenv("CORTEX_MIC_DEVICE_RATE");
    if (force && atoi(force) > 0) rate = atoi(force);
    int ch = supported_channels(d, rate, &p);
    if (!ch) {
        rate = floor(info->defaultSampleRate + 0.5);
        ch = supported_channels(d, rate, &p);
    }
    if (!ch)
        return cx_fail(err, CX_ERR_IO,
                       "the input device '%s' takes neither %d Hz nor its default %.0f Hz "
                       "with 1 or 2 channels (try another --device)",
                       d->name, want_rate, info->defaultSampleRate);
    if (rate < CX_AUDIO_MIN_RATE || rate > CX_AUDIO_MAX_RATE)
        return cx_fail(err, CX_ERR_IO, "the input device '%s' runs at %.0f Hz, outside %d..%d Hz",
                       d->name, rate, CX_AUDIO_MIN_RATE, CX_AUDIO_MAX_RATE);
    capture *c = calloc(1, sizeof *c);
    if (!c) return cx_fail(err, CX_ERR_NOMEM, "out of memory");
    p.channelCount = ch;
    c->channels = ch;
    c->device_rate = (int)rate;
    c->callback = want_callback(d);
    c->block = (size_t)c->device_rate * (size_t)block_ms / 1000;
    if (c->block < 16) c->block = 16;
    c->inbuf = malloc(sizeof(float) * c->block * (size_t)ch);
    size_t ring = (size_t)(MIC_RING_SECONDS * c->device_rate) + 2 * c->block;
    if (!c->inbuf || mic_ring_init(&c->ring, ring)) {
        capture_free(c);
        return cx_fail(err, CX_ERR_NOMEM, "out of memory for the audio buffers");
    }
    PaError e = Pa_OpenStream(&c->stream, &p, NULL, rate, (unsigned long)c->block, paClipOff,
                              c->callback ? on_audio : NULL, c);
    if (e != paNoError) {
        capture_free(c);
        return open_failed(d, (int)rate, e, err);
    }
    e = Pa_StartStream(c->stream);
    if (e != paNoError) {
        Pa_CloseStream(c->stream);
        capture_free(c);
        return open_failed(d, (int)rate, e, err);
    }
    if (!c->callback) {
        if (pthread_create(&c->thread, NULL, capture_main, c) != 0) {
            Pa_AbortStream(c->stream);
            Pa_CloseStream(c->stream);
            capture_free(c);
            return cx_fail(err, CX_ERR_NOMEM, "could not start the capture thread");
        }
        c->has_thread = 1;
    }
    *out = c;
    return CX_OK;
}

typedef struct open_job {
    char device[256];
    int rate, block_ms;
    cx_status st;
    cx_error err;
    mic_device dev;
    capture *cap;
} open_job;

static void open_run(void *p)
{
    open_job *j = p;
#ifdef CORTEX_HAVE_ALSA
    alsa_last[0] = 0; /* quote only what this open says */
#endif
    j->st = pick_device(j->device, &j->dev, &j->err);
    if (!j->st) j->st = capture_open(&j->dev, j->rate, j->block_ms, &j->cap, &j->err);
}

/* An open nobody waits for any more: what it opened stays open (PortAudio
 * is not to be called again once a call was abandoned). */
static void open_drop(void *p)
{
    free(p);
}

/* Opens m's device on a thread of its own, so that a stuck audio server
 * costs at most MIC_OPEN_SECONDS (or less, when *m->stop is set). */
static cx_status open_bounded(mic *m, int show_noise, double seconds, capture **cap, cx_error *err)
{
    *cap = NULL;
    open_job *j = calloc(1, sizeof *j);
    if (!j) return cx_fail(err, CX_ERR_NOMEM, "out of memory");
    snprintf(j->device, sizeof j->device, "%s", m->device);
    j->rate = m->rate, j->block_ms = m->block_ms;
    /* stderr is captured here, on the thread that waits: an open left
     * behind must not keep the process's stderr. */
    quiet q;
    quiet_begin(&q);
    int finished = run_bounded(open_run, open_drop, j, seconds, m->stop);
    quiet_end(&q, show_noise && (!finished || j->st != CX_OK));
    if (!finished) {
        if (m->stop && *m->stop) return cx_fail(err, CX_ERR_INTERRUPTED, "interrupted");
        return cx_fail(err, CX_ERR_IO, "opening the input device '%s' did not finish within %.0f s",
                       m->dev.name    ? m->dev.name
                       : m->device[0] ? m->device
                                      : "(default)",
                       seconds);
    }
    cx_status st = j->st;
    if (st)
        cx_fail(err, st, "%s", j->err.msg);
    else {
        m->dev = j->dev;
        *cap = j->cap;
    }
    free(j);
    return st;
}

static void close_run(void *p)
{
    capture *c = p;
    Pa_AbortStream(c->stream);
    Pa_CloseStream(c->stream);
    capture_free(c);
}

/* Captures given up on stay reachable from here: their threads may still
 * use them, and a leak checker is not to report them. */
static capture *left_behind[64];
static int n_left_behind;

static void leave_behind(capture *c)
{
    pa_broken = 1;
    if (n_left_behind < (int)(sizeof left_behind / sizeof left_behind[0]))
        left_behind[n_left_behind++] = c;
}

/* Stops a capture. A healthy one is stopped and freed within
 * MIC_CLOSE_SECONDS; one whose device failed, or that does not stop in
 * time, is left running where it hangs (never freed: its thread may still
 * use it), and PortAudio is not terminated at exit. */
static void capture_close(capture *c, int healthy)
{
    if (!c) return;
    atomic_store(&c->quit, 1);
    if (!healthy) {
        leave_behind(c);
        return;
    }
    if (c->has_thread) {
        double until = cx_now() + MIC_CLOSE_SECONDS;
        while (!atomic_load(&c->exited) && cx_now() < until)
            nap(0.002);
        if (!atomic_load(&c->exited)) {
            pthread_detach(c->thread);
            leave_behind(c);
            return;
        }
        pthread_join(c->thread, NULL);
    }
    /* After a close that did not return, PortAudio is left alone. */
    static int close_left_behind;
    if (close_left_behind) {
        leave_behind(c);
        return;
    }
    quiet q; /* on this thread: a close left behind must not keep stderr */
    quiet_begin(&q);
    if (!run_bounded(close_run, NULL, c, MIC_CLOSE_SECONDS, NULL)) close_left_behind = 1;
    quiet_end(&q, 0);
}

/* Buffers for the capture's block and rate; the resampler restarts (there
 * is a gap in the audio anyway when this is a reconnection). */
static cx_status fit_buffers(mic *m, cx_error *err)
{
    capture *c = m->cap;
    double ratio = (double)m->rate / c->device_rate;
    /* cx_resampler_max_output is at most block * ratio plus the filter's
     * look-ahead and rounding; twice that is ample, and checked per block. */
    size_t pend = 2 * (size_t)ceil((double)c->block * ratio) + 256;
    if (c->block > m->mono_cap) {
        float *nb = realloc(m->mono, sizeof(float) * c->block);
        if (!nb) return cx_fail(err, CX_ERR_NOMEM, "out of memory for the audio buffers");
        m->mono = nb, m->mono_cap = c->block;
    }
    if (pend > m->pend_cap) {
        float *nb = realloc(m->pend, sizeof(float) * pend);
        if (!nb) return cx_fail(err, CX_ERR_NOMEM, "out of memory for the audio buffers");
        m->pend = nb, m->pend_cap = pend;
    }
    m->pend_len = m->pend_pos = 0;
    cx_resampler_free(m->rs);
    m->rs = NULL;
    m->rs_rate = c->device_rate;
    return cx_resampler_create(&m->rs, c->device_rate, m->rate, err);
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
    snprintf(m->device, sizeof m->device, "%s", cfg->device ? cfg->device : "");
    m->rate = cfg->rate;
    m->stop = cfg->stop;
    m->block_ms = cfg->block_ms > 0 ? cfg->block_ms : 20;
    m->reconnect_s = cfg->reconnect_s > 0 ? cfg->reconnect_s : 0;
    m->notice = cfg->notice;
    cx_status st = open_bounded(m, 1, MIC_OPEN_SECONDS, &m->cap, err);
    if (!st) st = fit_buffers(m, err);
    if (st) {
        mic_close(m);
        return NULL;
    }
    m->last_audio = cx_now();
    return m;
}

/* ---- reading --------------------------------------------------------------- */

static int stopped(const mic *m)
{
    return m->stop && *m->stop;
}

/* Waits until a block is in the ring. The capture thread (or callback) is
 * the only one that talks to the device, so this never blocks for long: a
 * stuck device or audio server gives an error after MIC_STALL_SECONDS
 * without new samples, and a stop request is seen within 20 ms. */
static cx_status wait_block(mic *m, const char **why)
{
    capture *c = m->cap;
    double since = cx_now(), last = since;
    size_t seen = (size_t)-1;
    for (;;) {
        int e = atomic_load(&c->error);
        if (e) {
            *why = pa_text((PaError)e);
            return CX_ERR_IO;
        }
        size_t avail = mic_ring_available(&c->ring);
        if (avail >= c->block) return CX_OK;
        if (stopped(m)) return CX_ERR_INTERRUPTED;
        /* A stall is time without new samples while this thread was
         * running: after a long gap between two looks (the process was
         * stopped or not scheduled) the clock starts again. */
        double now = cx_now();
        if (avail != seen || now - last > 0.5) since = now;
        seen = avail;
        last = now;
        if (now - since > MIC_STALL_SECONDS) {
            *why = NULL;
            return CX_ERR_IO;
        }
        /* Sleep about as long as the missing samples take to arrive. */
        double wait = (double)(c->block - avail) / c->device_rate;
        nap(wait < 0.001 ? 0.001 : wait > 0.02 ? 0.02 : wait);
    }
}

static void say(const mic *m, const char *fmt, ...)
{
    if (!m->notice) return;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    m->notice(msg);
}

static const char *dev_name(const mic *m)
{
    return m->dev.name ? m->dev.name : "(default)";
}

/* The device failed (why: PortAudio's reason, or NULL for no samples):
 * reopens the same device until it works, for up to m->reconnect_s. */
static cx_status reconnect(mic *m, const char *why, cx_error *err)
{
    char what[256];
    if (why)
        snprintf(what, sizeof what, "reading the input device '%s' failed (%s)", dev_name(m), why);
    else
        snprintf(what, sizeof what, "the input device '%s' delivered no audio for %.0f s",
                 dev_name(m), MIC_STALL_SECONDS);
    m->old_overflows += mic_overflows(m);
    capture_close(m->cap, 0);
    m->cap = NULL;
    if (m->reconnect_s <= 0) {
        m->failed = 1;
        return cx_fail(err, CX_ERR_IO, "%s", what);
    }
    say(m, "%s; reopening it (for up to %.0f s)", what, m->reconnect_s);
    double t0 = cx_now(), until = t0 + m->reconnect_s;
    char last[sizeof(cx_error){0}.msg] = "";
    int attempts = 0;
    while (cx_now() < until) {
        if (stopped(m)) return cx_fail(err, CX_ERR_INTERRUPTED, "interrupted");
        cx_error e2;
        double left = until - cx_now();
        capture *c = NULL;
        attempts++;
        cx_status st =
            open_bounded(m, 0, left < MIC_OPEN_SECONDS ? left : MIC_OPEN_SECONDS, &c, &e2);
        if (st == CX_ERR_INTERRUPTED) return cx_fail(err, st, "interrupted");
        if (!st) {
            m->cap = c;
            if ((st = fit_buffers(m, err))) return st;
            double gap = cx_now() - m->last_audio;
            m->gaps++;
            m->gap_seconds += gap;
            m->last_audio = cx_now();
            say(m, "the input device '%s' is back (reopened after %.1f s; %.1f s of audio missed)",
                dev_name(m), cx_now() - t0, gap);
            return CX_OK;
        }
        snprintf(last, sizeof last, "%s", e2.msg);
        for (double w = 0; w < MIC_RETRY_SECONDS && cx_now() < until; w += 0.02) {
            if (stopped(m)) return cx_fail(err, CX_ERR_INTERRUPTED, "interrupted");
            nap(0.02);
        }
    }
    m->failed = 1;
    return cx_fail(err, CX_ERR_IO, "%s, and it did not come back within %.0f s (%d attempts%s%s)",
                   what, m->reconnect_s, attempts, last[0] ? "; the last: " : "", last);
}

cx_status mic_read(mic *m, float *out, size_t n, cx_error *err)
{
    size_t done = 0;
    if (!m->cap) return cx_fail(err, CX_ERR_IO, "the input device '%s' is lost", dev_name(m));
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
        const char *why = NULL;
        cx_status st = wait_block(m, &why);
        if (st == CX_ERR_INTERRUPTED) return cx_fail(err, st, "interrupted");
        if (st) {
            if ((st = reconnect(m, why, err))) return st;
            continue;
        }
        capture *c = m->cap;
        mic_ring_pop(&c->ring, m->mono, c->block);
        m->last_audio = cx_now();
        if (cx_resampler_max_output(m->rs, c->block) > m->pend_cap)
            return cx_fail(err, CX_ERR_STATE, "resampler output exceeds its buffer (%zu > %zu)",
                           cx_resampler_max_output(m->rs, c->block), m->pend_cap);
        m->pend_pos = 0;
        st =
            cx_resampler_process(m->rs, m->mono, c->block, m->pend, m->pend_cap, &m->pend_len, err);
        if (st) return st;
    }
    return CX_OK;
}

long mic_overflows(const mic *m)
{
    long n = m->old_overflows;
    if (m->cap) n += atomic_load(&m->cap->overflows) + mic_ring_overflows(&m->cap->ring);
    return n;
}
long mic_gaps(const mic *m)
{
    return m->gaps;
}
double mic_gap_seconds(const mic *m)
{
    return m->gap_seconds;
}
const mic_device *mic_device_info(const mic *m)
{
    return &m->dev;
}
int mic_device_rate(const mic *m)
{
    return m->cap ? m->cap->device_rate : m->rs_rate;
}
int mic_channels(const mic *m)
{
    return m->cap ? m->cap->channels : 0;
}
int mic_rate(const mic *m)
{
    return m->rate;
}
int mic_uses_callback(const mic *m)
{
    return m->cap ? m->cap->callback : 0;
}

void mic_close(mic *m)
{
    if (!m) return;
    capture_close(m->cap, !m->failed);
    cx_resampler_free(m->rs);
    free(m->mono);
    free(m->pend);
    free(m);
}
