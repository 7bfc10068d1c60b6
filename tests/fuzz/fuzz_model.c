/* Fuzz target: a model file as cortex-speech and cortex-vision open it.
 * Parses the safetensors container, builds the model from its spec, runs one
 * forward pass on zeros, then opens it as a speech model (feature, window
 * and detector settings, the extractor; one clip classified) and as an image
 * model (preprocessing record). Any input must end in a clean error or a
 * usable model, never a crash, a leak or undefined behaviour. Networks that
 * need more than 64 MB for one example (cx_model_reserve_bytes; a model
 * file may ask for up to CX_MODEL_MAX_EXAMPLE_BYTES) are not run: size is
 * not what this target looks for, and their legitimate buffers would pass
 * the fuzzer's memory limit. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cortex/cortex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cx_error err;
    cx_st *st = NULL;
    cx_model *m = NULL;
    if (cx_st_read_mem(&st, data, size, "fuzz.safetensors", &err)) return 0;
    if (cx_model_from_st(&m, st, "fuzz.safetensors", &err)) goto done;

    const cx_shape *in = cx_model_input_shape(m);
    size_t n_in = 1;
    for (int i = 0; i < in->ndim; i++)
        n_in *= (size_t)in->d[i];
    int runs = n_in <= (1u << 16) && cx_model_reserve_bytes(m, 1) <= ((size_t)64 << 20);
    if (runs && !cx_model_reserve(m, 1, &err)) {
        float *x = calloc(n_in, sizeof *x);
        if (x) (void)cx_model_forward(m, 1, x);
        free(x);
    }
    cx_vision_prep prep;
    (void)cx_vision_prep_load(m, "fuzz.safetensors", &prep, &err);

    /* The speech model takes the network over. */
    if (runs) {
        cx_speech_model *s = NULL;
        if (!cx_speech_model_wrap(&s, m, "fuzz.safetensors", &err)) {
            float clip[512] = {0}, probs[64];
            if (cx_speech_model_num_classes(s) <= 64)
                (void)cx_speech_model_classify(s, clip, sizeof clip / sizeof clip[0], probs, NULL,
                                               &err);
        }
        m = NULL;
        cx_speech_model_free(s);
    }
done:
    cx_model_free(m);
    cx_st_free(st);
    return 0;
}
