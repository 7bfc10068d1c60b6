/* Fuzz target: an audio file as cortex-speech reads it (anything
 * libsndfile reads), mixed to mono and resampled to 8 and 16 kHz. */
#include <stdlib.h>
#include <unistd.h>

#include "cortex/cortex.h"
#include "fuzz_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_write_file(data, size, ".wav");
    if (!path) return 0;
    static const int rates[] = {8000, 16000};
    for (int i = 0; i < 2; i++) {
        cx_error err;
        float *x = NULL;
        size_t n = 0;
        int rate = 0;
        if (!cx_audio_load(path, rates[i], &x, &n, &rate, &err)) free(x);
    }
    unlink(path);
    return 0;
}
