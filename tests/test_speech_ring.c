/* The ring between cortex-speech's audio callback and its reader
 * (apps/speech/ring.c, compiled into the test directly): mixing to mono,
 * order across the wrap-around, overflow counting, and a real producer
 * thread against a consumer. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "../apps/speech/ring.c"
#include "testutil.h"

static void test_capacity(void)
{
    mic_ring r;
    CU_ASSERT_EQUAL_FATAL(mic_ring_init(&r, 5000), 0);
    CU_ASSERT_EQUAL(r.mask + 1, 8192);
    CU_ASSERT_EQUAL(mic_ring_available(&r), 0);
    mic_ring_free(&r);
    CU_ASSERT_EQUAL_FATAL(mic_ring_init(&r, 10), 0);
    CU_ASSERT_EQUAL(r.mask + 1, 1024);
    mic_ring_free(&r);
}

static void test_mix_and_wrap(void)
{
    mic_ring r;
    CU_ASSERT_EQUAL_FATAL(mic_ring_init(&r, 1024), 0);
    float st[2 * 300], out[300];
    int next = 0, want = 0;
    for (int round = 0; round < 20; round++) { /* 20 x 300 frames through 1024 slots */
        for (int i = 0; i < 300; i++) {
            st[2 * i] = (float)next - 0.5f; /* the mean of the two channels is next */
            st[2 * i + 1] = (float)next + 0.5f;
            next++;
        }
        mic_ring_push(&r, st, 300, 2, 0);
        CU_ASSERT_EQUAL(mic_ring_available(&r), 300);
        mic_ring_pop(&r, out, 300);
        for (int i = 0; i < 300; i++)
            CU_ASSERT_EQUAL(out[i], (float)want++);
    }
    CU_ASSERT_EQUAL(mic_ring_overflows(&r), 0);
    mic_ring_free(&r);
}

static void test_overflow_counting(void)
{
    mic_ring r;
    CU_ASSERT_EQUAL_FATAL(mic_ring_init(&r, 1024), 0);
    float in[2048], out[1024];
    for (int i = 0; i < 2048; i++)
        in[i] = (float)i;
    mic_ring_push(&r, in, 700, 1, 0);
    CU_ASSERT_EQUAL(mic_ring_overflows(&r), 0);
    mic_ring_push(&r, in, 700, 1, 0); /* 324 fit, 376 are dropped */
    CU_ASSERT_EQUAL(mic_ring_available(&r), 1024);
    CU_ASSERT_EQUAL(mic_ring_overflows(&r), 1);
    mic_ring_push(&r, in, 700, 1, 0); /* the same overflow goes on */
    CU_ASSERT_EQUAL(mic_ring_overflows(&r), 1);
    mic_ring_pop(&r, out, 1024);
    CU_ASSERT_EQUAL(out[699], 699.0f);
    CU_ASSERT_EQUAL(out[700], 0.0f); /* the second push's first samples */
    CU_ASSERT_EQUAL(out[1023], 323.0f);
    mic_ring_push(&r, in, 10, 1, 0); /* fits: the overflow has ended */
    mic_ring_push(&r, in, 2000, 1, 0);
    CU_ASSERT_EQUAL(mic_ring_overflows(&r), 2);
    mic_ring_pop(&r, out, 1024);
    mic_ring_push(&r, in, 10, 1, 1);            /* the host's own overflow flag */
    CU_ASSERT_EQUAL(mic_ring_overflows(&r), 2); /* still the same stretch */
    mic_ring_push(&r, in, 10, 1, 0);
    mic_ring_push(&r, NULL, 0, 1, 1);
    CU_ASSERT_EQUAL(mic_ring_overflows(&r), 3);
    mic_ring_free(&r);
}

enum { TOTAL = 400000, CHUNK = 160 };
static atomic_int produced;

static void *produce(void *arg)
{
    mic_ring *r = arg;
    float buf[CHUNK];
    for (int sent = 0; sent < TOTAL; sent += CHUNK) {
        for (int i = 0; i < CHUNK; i++)
            buf[i] = (float)(sent + i);
        mic_ring_push(r, buf, CHUNK, 1, 0);
        if (sent % (CHUNK * 50) == 0) {
            struct timespec ts = {0, 100000};
            nanosleep(&ts, NULL);
        }
    }
    atomic_store(&produced, 1);
    return NULL;
}

static void test_two_threads(void)
{
    mic_ring r;
    CU_ASSERT_EQUAL_FATAL(mic_ring_init(&r, 1 << 16), 0);
    pthread_t t;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&t, NULL, produce, &r), 0);
    float out[256], last = -1.0f;
    int got = 0, order_ok = 1, gaps = 0;
    /* Values only grow; without an overflow none is missing. */
    atomic_store(&produced, 0);
    for (;;) {
        int done = atomic_load(&produced); /* read before looking at the ring */
        size_t n = mic_ring_available(&r);
        if (n == 0) {
            if (done) break;
            continue;
        }
        if (n > 256) n = 256;
        mic_ring_pop(&r, out, n);
        for (size_t i = 0; i < n; i++) {
            if (out[i] <= last) order_ok = 0;
            if (out[i] != last + 1.0f) gaps++;
            last = out[i];
        }
        got += (int)n;
    }
    pthread_join(t, NULL);
    CU_ASSERT(order_ok);
    CU_ASSERT(gaps == 0 || mic_ring_overflows(&r) > 0);
    if (mic_ring_overflows(&r) == 0) CU_ASSERT_EQUAL(got, TOTAL);
    mic_ring_free(&r);
}

int main(void)
{
    static const cx_test tests[] = {
        {"capacity is a power of two", test_capacity},
        {"stereo is mixed, order survives wrap-around", test_mix_and_wrap},
        {"overflows are counted once per stretch", test_overflow_counting},
        {"a producer thread against a consumer", test_two_threads},
        {NULL, NULL}};
    return cx_test_main("speech_ring", tests);
}
