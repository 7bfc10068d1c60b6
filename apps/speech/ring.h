/* A lock-free single-producer single-consumer ring of mono samples, between
 * an audio callback (the producer, which must never block or allocate) and
 * the thread that reads the microphone. */
#ifndef CORTEX_SPEECH_RING_H
#define CORTEX_SPEECH_RING_H

#include <stdatomic.h>
#include <stddef.h>

typedef struct mic_ring {
    float *buf;
    size_t mask;          /* capacity - 1; the capacity is a power of two */
    atomic_size_t wr, rd; /* only grow; wr - rd samples are buffered */
    atomic_long overflows;
    int overflowing; /* the producer's own: its last push lost samples */
} mic_ring;

/* Allocates room for at least min_samples. Returns 0, or -1 out of memory. */
int mic_ring_init(mic_ring *r, size_t min_samples);
void mic_ring_free(mic_ring *r);

/* Producer: mixes frames of channels interleaved samples to mono (their
 * mean) and appends them; what does not fit is dropped. host_overflow is
 * the host's own "input overflowed" flag for these frames. One overflow is
 * counted per run of consecutive pushes that lost samples. */
void mic_ring_push(mic_ring *r, const float *in, size_t frames, int channels, int host_overflow);

/* Consumer: samples buffered now. */
size_t mic_ring_available(mic_ring *r);

/* Consumer: takes n <= mic_ring_available samples. */
void mic_ring_pop(mic_ring *r, float *out, size_t n);

long mic_ring_overflows(mic_ring *r);

#endif
