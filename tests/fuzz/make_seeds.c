/* Writes small valid model files, one per family of layers, as seeds for
 * fuzz_model (tests/fuzz/corpus/fuzz_model): the fuzzer starts from files
 * that load and mutates them. Usage: make_seeds DIR */
#include <stdio.h>

#include "cortex/cortex.h"

static const char *const specs[] = {
    ("input 1 8 8; conv 2 3 relu; batchnorm; maxpool 2; conv 2 3 stride=2 pad=same; gelu; "
     "dropout 0.1; flatten; dense 4 leaky; dense 3"),
    "input 1 8 8; dwconv 3 relu; avgpool 2x2; gap; dense 3 sigmoid",
    "input 12 6; tnorm; image; conv 2 3 relu; maxpool 1x2; seq; gru 3; mean; dense 4",
    "input 12 6; conv1d 3 3 dilation=2 tanh; lstm 3; last; dense 4",
    "ensemble | input 10 4; gru 2; mean; dense 3 | input 10 4; lstm 2; last; dense 3",
};

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_seeds DIR\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        cx_error err;
        cx_model *m = NULL;
        char path[4096];
        snprintf(path, sizeof path, "%s/seed%zu.safetensors", argv[1], i);
        if (cx_model_create(&m, specs[i], NULL, &err)) {
            fprintf(stderr, "make_seeds: %s\n", err.msg);
            return 1;
        }
        cx_model_init(m, 1);
        if (i == 2 &&
            (cx_model_set_meta(m, "speech.features",
                               "sample_rate=8000 win=200 hop=80 n_fft=256 n_mels=6 fmin=20 "
                               "fmax=4000 mel=htk kind=logmel n_mfcc=13 log_floor=1e-06 "
                               "norm=none",
                               &err) ||
             cx_model_set_meta(m, "speech.detect",
                               "window_frames=12 every_frames=5 average_ms=250 threshold=0.5 "
                               "min_count=1 suppress_ms=500",
                               &err))) {
            fprintf(stderr, "make_seeds: %s\n", err.msg);
            return 1;
        }
        if (cx_model_save(m, path, &err)) {
            fprintf(stderr, "make_seeds: %s\n", err.msg);
            return 1;
        }
        cx_model_free(m);
        printf("%s\n", path);
    }
    return 0;
}
