/* cortex-speech record's word finder (cx_speech_find_word, lib/src/speech_clip.c):
 * where the word is in a clip, with margins, and which clips count as
 * silent. */
#include <math.h>
#include <stdlib.h>

#include "testutil.h"

enum { RATE = 16000, N = 2 * RATE };
static float x[N], scratch[2 * (N / 160) + 8];

/* Background noise at level (RMS), plus a 300 Hz tone of amplitude amp from
 * a to b seconds. */
static void make(float level, float amp, double a, double b)
{
    cx_rng rng;
    cx_rng_seed(&rng, 5);
    cx_fill_uniform(x, N, -1.0f, 1.0f, &rng);
    for (int i = 0; i < N; i++) {
        x[i] *= level * 1.7320508f; /* uniform [-1, 1] has RMS 1/sqrt(3) */
        double t = (double)i / RATE;
        if (t >= a && t < b) x[i] += amp * (float)sin(2 * M_PI * 300 * t);
    }
}

static void test_scratch_size(void)
{
    CU_ASSERT(cx_speech_word_scratch(N, RATE) <= sizeof scratch / sizeof scratch[0]);
}

static void test_word_in_the_middle(void)
{
    make(0.001f, 0.3f, 0.80, 1.30);
    cx_speech_span s;
    cx_speech_find_word(x, N, RATE, 0.1f, scratch, &s);
    CU_ASSERT_EQUAL(s.found, 1);
    CU_ASSERT_EQUAL(s.at_start, 0);
    CU_ASSERT_EQUAL(s.at_end, 0);
    /* The word's frames plus 100 ms on each side, to the 10 ms frame. */
    CU_ASSERT(labs((long)s.start - (long)(0.70 * RATE)) <= 160);
    CU_ASSERT(labs((long)s.end - (long)(1.40 * RATE)) <= 160);
    CU_ASSERT(s.peak_db > -20.0f && s.floor_db < -55.0f);
}

static void test_margin_is_clamped(void)
{
    make(0.0f, 0.3f, 0.02, 0.5);
    cx_speech_span s;
    cx_speech_find_word(x, N, RATE, 0.1f, scratch, &s);
    CU_ASSERT_EQUAL(s.found, 1);
    CU_ASSERT_EQUAL(s.start, 0);
    CU_ASSERT_EQUAL(s.at_start, 0);
}

static void test_cut_off_at_the_end(void)
{
    make(0.001f, 0.3f, 1.5, 3.0);
    cx_speech_span s;
    cx_speech_find_word(x, N, RATE, 0.1f, scratch, &s);
    CU_ASSERT_EQUAL(s.found, 1);
    CU_ASSERT_EQUAL(s.at_end, 1);
    CU_ASSERT_EQUAL(s.end, N);
}

static void test_started_before(void)
{
    make(0.001f, 0.3f, 0.0, 0.4);
    cx_speech_span s;
    cx_speech_find_word(x, N, RATE, 0.1f, scratch, &s);
    CU_ASSERT_EQUAL(s.found, 1);
    CU_ASSERT_EQUAL(s.at_start, 1);
}

static void test_silence_and_noise_are_not_words(void)
{
    cx_speech_span s;
    make(0.0f, 0.0f, 0, 0); /* digital silence */
    cx_speech_find_word(x, N, RATE, 0.1f, scratch, &s);
    CU_ASSERT_EQUAL(s.found, 0);
    make(0.05f, 0.0f, 0, 0); /* steady loud noise: nothing stands out */
    cx_speech_find_word(x, N, RATE, 0.1f, scratch, &s);
    CU_ASSERT_EQUAL(s.found, 0);
    make(0.001f, 0.005f, 0.5, 1.0); /* a tone below -40 dBFS */
    cx_speech_find_word(x, N, RATE, 0.1f, scratch, &s);
    CU_ASSERT_EQUAL(s.found, 0);
    make(0.001f, 0.5f, 1.0, 1.02); /* a 20 ms click */
    cx_speech_find_word(x, N, RATE, 0.1f, scratch, &s);
    CU_ASSERT_EQUAL(s.found, 0);
}

static void test_word_over_noise(void)
{
    make(0.01f, 0.3f, 0.6, 1.1); /* -40 dBFS background, word 27 dB above */
    cx_speech_span s;
    cx_speech_find_word(x, N, RATE, 0.1f, scratch, &s);
    CU_ASSERT_EQUAL(s.found, 1);
    CU_ASSERT(labs((long)s.start - (long)(0.50 * RATE)) <= 160);
    CU_ASSERT(labs((long)s.end - (long)(1.20 * RATE)) <= 160);
}

static void test_tiny_inputs(void)
{
    cx_speech_span s;
    cx_speech_find_word(x, 0, RATE, 0.1f, scratch, &s);
    CU_ASSERT_EQUAL(s.found, 0);
    make(0.0f, 0.5f, 0, 1);
    cx_speech_find_word(x, 100, RATE, 0.1f, scratch, &s); /* less than a frame */
    CU_ASSERT_EQUAL(s.found, 0);
}

int main(void)
{
    static const cx_test tests[] = {
        {"scratch size", test_scratch_size},
        {"a word in the middle, with margins", test_word_in_the_middle},
        {"the margin stops at the clip's start", test_margin_is_clamped},
        {"a word cut off at the end", test_cut_off_at_the_end},
        {"a word that started before the clip", test_started_before},
        {"silence, noise, quiet tones and clicks are not words",
         test_silence_and_noise_are_not_words},
        {"a word over background noise", test_word_over_noise},
        {"empty and tiny clips", test_tiny_inputs},
        {NULL, NULL}};
    return cx_test_main("speech_clip", tests);
}
