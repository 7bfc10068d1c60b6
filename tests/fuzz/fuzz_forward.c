/* Fuzz target: a model spec that loads (every tensor it declares present),
 * run forward and backward, then streamed frame by frame where it can be.
 * A model file passes its checks with any spec the parser accepts, and
 * cortex-speech / cortex-vision then run it: odd shapes (windows larger
 * than their input, strides past the edge, one-frame sequences, ensembles)
 * must compute or be refused, never read or write out of bounds. The input
 * is the spec; specs whose parameters or activations are large are skipped
 * (size is not what this target looks for). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cortex/cortex.h"

#define MAX_FLOATS ((size_t)1 << 18) /* per parameter block, activation, input */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t shape_size(const cx_shape *s)
{
    size_t n = 1;
    for (int i = 0; i < s->ndim; i++)
        n *= (size_t)s->d[i];
    return n;
}

/* 1 if every layer's output (and members', for an ensemble) is small. */
static int small(cx_model *m)
{
    size_t params = 0;
    for (int i = 0; i < cx_model_num_tensors(m); i++)
        params += cx_model_tensor(m, i)->size;
    if (params > MAX_FLOATS || shape_size(cx_model_input_shape(m)) > MAX_FLOATS / 4) return 0;
    for (int i = 0; i < cx_model_num_layers(m); i++)
        if (shape_size(&cx_model_layer(m, i)->out) > MAX_FLOATS / 4) return 0;
    for (int k = 0; cx_model_member(m, k); k++)
        if (!small(cx_model_member(m, k))) return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096) return 0;
    char *spec = malloc(size + 1);
    if (!spec) return 0;
    memcpy(spec, data, size);
    spec[size] = '\0';
    cx_error err;
    cx_model *m = NULL;
    if (cx_model_create_layout(&m, spec, NULL, &err) || !small(m) ||
        cx_model_alloc_params(m, &err) || cx_model_reserve(m, 2, &err))
        goto done;
    cx_model_init(m, 1);
    size_t nin = shape_size(cx_model_input_shape(m));
    size_t nout = shape_size(cx_model_output_shape(m));
    float *x = malloc(2 * nin * sizeof *x), *dy = malloc(2 * nout * sizeof *dy);
    if (x && dy) {
        for (size_t i = 0; i < 2 * nin; i++)
            x[i] = sinf(0.37f * (float)i);
        for (size_t i = 0; i < 2 * nout; i++)
            dy[i] = 0.01f * (float)(i % 7) - 0.03f;
        (void)cx_model_forward(m, 1, x);
        if (cx_model_num_members(m) == 0) { /* an ensemble has no backward */
            cx_model_set_training(m, 1);
            cx_model_want_input_grad(m, 1);
            cx_model_zero_grad(m);
            if (cx_model_forward(m, 2, x)) cx_model_backward(m, 2, dy);
            cx_model_set_training(m, 0);
        }
        const cx_shape *in = cx_model_input_shape(m);
        if (in->ndim == 2 && !cx_model_stream_reset(m, &err))
            for (int t = 0; t < in->d[0]; t++)
                (void)cx_model_stream_step(m, x + (size_t)t * in->d[1]);
    }
    free(x);
    free(dy);
done:
    cx_model_free(m);
    free(spec);
    return 0;
}
