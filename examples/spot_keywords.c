/* Finds the keywords in a recording with a Cortex speech model and the
 * detector settings stored in it, as `cortex-speech detect --model MODEL
 * FILE` does: the audio is pushed a tenth of a second at a time, exactly as
 * a live microphone would deliver it.
 *
 *   cc spot_keywords.c $(pkg-config --cflags --libs cortex) -o spot_keywords
 *   ./spot_keywords models/digits.safetensors models/samples/speech/digits.wav
 */
#include <cortex/cortex.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL AUDIO\n", argv[0]);
        return 2;
    }
    cx_error err;
    cx_speech_model *model = NULL;
    cx_detector *detector = NULL;
    float *samples = NULL;
    size_t n = 0;
    int rc = 1;
    if (cx_speech_model_load(&model, argv[1], &err)) goto fail;
    int rate = cx_speech_model_features(model)->sample_rate;
    /* Any format and rate libsndfile reads, mixed to mono at the model's rate. */
    if (cx_audio_load(argv[2], rate, &samples, &n, NULL, &err) ||
        cx_speech_model_detector(model, NULL, &detector, &err))
        goto fail;
    size_t chunk = (size_t)rate / 10;
    for (size_t at = 0; at < n; at += chunk) {
        cx_detection events[16];
        int k =
            cx_detector_push(detector, samples + at, n - at < chunk ? n - at : chunk, events, 16);
        for (int i = 0; i < k && i < 16; i++)
            printf("%8.2fs  %-12s %.3f\n", events[i].time, events[i].word,
                   (double)events[i].confidence);
    }
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "%s\n", err.msg);
done:
    cx_detector_free(detector); /* before the model it uses */
    cx_speech_model_free(model);
    free(samples);
    return rc;
}
