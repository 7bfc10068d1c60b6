/* Microphone capture on PortAudio: mono float samples at a chosen rate.
 *
 *   mic_init(&err);                          // PortAudio, without its noise
 *   mic_config cfg = {.device = "pulse", .rate = 16000};
 *   mic *m = mic_open(&cfg, &err);           // the stream is running
 *   while (...) mic_read(m, buf, 1600, &err); // 100 ms at a time, blocking
 *   mic_close(m);
 *   mic_terminate();
 *
 * The device is opened at the requested rate when it supports it, otherwise
 * at its default rate, and the samples go through cx_resampler (the same
 * filter that resamples training files). Channels are mixed to mono (their
 * mean). Input overflows (audio the program was too slow to take) are
 * counted, never fatal: the samples keep coming.
 *
 * Only threads of this file's own call PortAudio on a stream (a capture
 * thread per stream, or PortAudio's callback; opening and closing on
 * helper threads with time limits): with the audio server gone, ALSA's
 * pulse plugin can block in any call for ever, and the caller of mic_read
 * must still see the failure within a second and a Ctrl-C within 20 ms.
 *
 * PortAudio 19.6 quirks handled here:
 *  - Pa_Initialize prints dozens of lines of ALSA and JACK probing noise on
 *    stderr. ALSA's messages go to a silent handler, and stderr is captured
 *    around Pa_Initialize and Pa_OpenStream; what was captured is shown only
 *    when the call fails.
 *  - With no audio server at all Pa_Initialize succeeds with zero devices
 *    (and Pa_OpenDefaultStream fails with "Device unavailable"): mic_open
 *    says that no microphone was found and how to run on a recording.
 *  - Blocking Pa_ReadStream crashes on JACK: JACK devices are read through a
 *    callback stream that fills a ring buffer (set CORTEX_MIC_CALLBACK=1 to
 *    use that path on any device, which is how it is tested).
 *
 * CORTEX_MIC_DEVICE_RATE=HZ opens the device at HZ instead of the requested
 * rate (for devices that claim rates they do not really have, and to test
 * the resampling path on devices that take any rate).
 */
#ifndef CORTEX_SPEECH_MIC_H
#define CORTEX_SPEECH_MIC_H

#include <stddef.h>

#include "cortex/core.h"

#define MIC_NO_DEVICE_MSG                                                                          \
    "no microphone found (PortAudio sees no input device); to run on a recording use: "            \
    "cortex-speech detect --model MODEL FILE"

typedef struct mic_config {
    const char *device;       /* NULL or "": the default input; digits: a PortAudio device index;
                                 otherwise a case-insensitive part of the device's name */
    int rate;                 /* samples per second that mic_read delivers */
    int block_ms;             /* how much the device is read at a time (0: 20 ms) */
    const volatile int *stop; /* if non-NULL and set, mic_read returns CX_ERR_INTERRUPTED */
    double reconnect_s;       /* a device that fails is reopened for up to this long (0: no) */
    void (*notice)(const char *msg); /* told when the device is lost and when it is back */
} mic_config;

typedef struct mic_device {
    int index;
    const char *name;     /* owned by PortAudio: valid until mic_terminate */
    const char *host_api; /* "ALSA", "JACK Audio Connection Kit", ... */
    int max_channels;
    double default_rate;
    int is_default;
} mic_device;

typedef struct mic mic;

/* Initializes PortAudio quietly. Call once before anything else here. */
cx_status mic_init(cx_error *err);
void mic_terminate(void);

/* Writes up to max input devices (inputs only, in PortAudio's order) to
 * out; returns how many input devices there are (may exceed max). */
int mic_list(mic_device *out, int max);

/* Opens and starts the input stream. On failure returns NULL with the
 * reason in err (MIC_NO_DEVICE_MSG when there is no input device). */
mic *mic_open(const mic_config *cfg, cx_error *err);

/* Blocks until n samples (at cfg->rate) are read into out. Returns
 * CX_ERR_INTERRUPTED when *cfg->stop became non-zero (out is then partly
 * filled; seen within 20 ms), CX_ERR_IO when the device failed (a PortAudio
 * error, or no samples for a second) and could not be reopened within
 * cfg->reconnect_s. A reopened device goes on where it left off: the
 * samples after the gap follow the ones before it (mic_gaps counts gaps). */
cx_status mic_read(mic *m, float *out, size_t n, cx_error *err);

/* How many times the device was lost and reopened, and the audio missed. */
long mic_gaps(const mic *m);
double mic_gap_seconds(const mic *m);

/* How many input overflows the device reported since mic_open (each one a
 * gap in the audio). */
long mic_overflows(const mic *m);

/* The opened device, its host API, the rate it runs at, its channel count
 * and the delivered rate. */
const mic_device *mic_device_info(const mic *m);
int mic_device_rate(const mic *m);
int mic_channels(const mic *m);
int mic_rate(const mic *m);
/* 1 when the device is read through a callback (JACK), 0 for Pa_ReadStream. */
int mic_uses_callback(const mic *m);

/* Stops and closes the stream; NULL is allowed. */
void mic_close(mic *m);

#endif
