/* Lock-free ring between the audio callback and the reader (see ring.h). */
#include "ring.h"

#include <stdlib.h>

int mic_ring_init(mic_ring *r, size_t min_samples)
{
    size_t cap = 1024;
    while (cap < min_samples)
        cap *= 2;
    r->buf = malloc(sizeof(float) * cap);
    r->mask = cap - 1;
    atomic_init(&r->wr, 0);
    atomic_init(&r->rd, 0);
    atomic_init(&r->overflows, 0);
    r->overflowing = 0;
    return r->buf ? 0 : -1;
}

void mic_ring_free(mic_ring *r)
{
    free(r->buf);
    r->buf = NULL;
}

void mic_ring_push(mic_ring *r, const float *in, size_t frames, int channels, int host_overflow)
{
    size_t wr = atomic_load_explicit(&r->wr, memory_order_relaxed);
    size_t rd = atomic_load_explicit(&r->rd, memory_order_acquire);
    size_t room = r->mask + 1 - (wr - rd);
    int lost = host_overflow || frames > room;
    if (frames > room) frames = room;
    for (size_t i = 0; i < frames; i++) {
        float s = 0.0f;
        for (int c = 0; c < channels; c++)
            s += in[i * (size_t)channels + (size_t)c];
        r->buf[(wr + i) & r->mask] = s / (float)channels;
    }
    atomic_store_explicit(&r->wr, wr + frames, memory_order_release);
    if (lost && !r->overflowing) atomic_fetch_add(&r->overflows, 1);
    r->overflowing = lost;
}

size_t mic_ring_available(mic_ring *r)
{
    return atomic_load_explicit(&r->wr, memory_order_acquire) -
           atomic_load_explicit(&r->rd, memory_order_relaxed);
}

void mic_ring_pop(mic_ring *r, float *out, size_t n)
{
    size_t rd = atomic_load_explicit(&r->rd, memory_order_relaxed);
    for (size_t i = 0; i < n; i++)
        out[i] = r->buf[(rd + i) & r->mask];
    atomic_store_explicit(&r->rd, rd + n, memory_order_release);
}

long mic_ring_overflows(mic_ring *r)
{
    return atomic_load(&r->overflows);
}
