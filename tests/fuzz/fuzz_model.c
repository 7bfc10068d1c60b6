/* Fuzz target: a model file as cortex-speech and cortex-vision open it.
 * Parses the safetensors container, builds the model from its spec, reads the
 * speech metadata (feature and detector settings), makes the feature
 * extractor and runs one forward pass on zeros. Any input must end in a
 * clean error or a usable model, never a crash, a leak or undefined
 * behaviour. */
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
    for (int i = 0; i < in->ndim; i++) n_in *= (size_t)in->d[i];
    if (n_in <= (1u << 16) && !cx_model_reserve(m, 1, &err)) {
        float *x = calloc(n_in, sizeof *x);
        if (x) (void)cx_model_forward(m, 1, x);
        free(x);
    }

    const char *fs = cx_model_get_meta(m, "speech.features");
    cx_feat_config fc;
    if (fs && !cx_feat_config_parse(&fc, fs, &err)) {
        cx_melspec *fx = NULL;
        if (!cx_melspec_create(&fx, &fc, &err)) {
            float buf[512] = {0};
            float *frame = malloc((size_t)cx_feat_num_features(&fc) * sizeof *frame);
            if (frame) {
                for (int i = 0; i < 4; i++) {
                    cx_melspec_push(fx, buf, sizeof buf / sizeof buf[0]);
                    while (cx_melspec_pop(fx, frame)) {}
                }
            }
            free(frame);
            cx_melspec_free(fx);
        }
    }
    cx_detect_config dc;
    (void)cx_detect_config_from_model(m, &dc, &err);
done:
    cx_model_free(m);
    cx_st_free(st);
    return 0;
}
