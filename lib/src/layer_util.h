/* Private helpers shared by layer implementations: argument parsing and
 * parameter declaration. Not part of the public API. */
#ifndef CORTEX_LAYER_UTIL_H
#define CORTEX_LAYER_UTIL_H

#include "cortex/layers.h"
#include "kv.h" /* cx_parse_int, cx_parse_float, cx_parse_kv */

/* Every layer kind, defined one per file in layers/. */
extern const cx_layer_kind cx_kind_dense, cx_kind_conv2d, cx_kind_dwconv2d, cx_kind_maxpool,
    cx_kind_avgpool, cx_kind_gap, cx_kind_batchnorm, cx_kind_dropout, cx_kind_relu,
    cx_kind_leaky, cx_kind_gelu, cx_kind_sigmoid, cx_kind_tanh, cx_kind_flatten, cx_kind_gru,
    cx_kind_lstm, cx_kind_seq_last, cx_kind_seq_mean;

/* Speech layers over (T,F) sequences, and the reshapes between a sequence
 * and an image for 2-D convolutions over time and frequency. */
extern const cx_layer_kind cx_kind_tnorm, cx_kind_conv1d, cx_kind_image, cx_kind_seq;

/* Parses a 2-D size: "K" (h = w = K) or "HxW", each in [lo, hi]. Returns 0
 * on success. */
int cx_parse_size2(const char *tok, long lo, long hi, int *h, int *w);
/* Writes a 2-D size as cx_parse_size2 reads it: "K" if square, else "HxW". */
const char *cx_size2_str(int h, int w, char *buf, size_t len);

/* Declares parameter i of l. Dims beyond ndim are ignored. */
cx_param *cx_declare_param(cx_layer *l, const char *name, int ndim, const int *shape,
                           int trainable, int decay, cx_init init, float init_value, int fan_in,
                           int fan_out);

/* Allocates a zeroed layer struct of `size` bytes whose first member is a
 * cx_layer, and fills in kind and in. */
void *cx_layer_new(size_t size, const cx_layer_kind *kind, const cx_shape *in);

/* Error helpers naming the layer keyword and the offending token. */
cx_status cx_bad_token(cx_error *err, const char *layer, const char *tok, const char *expected);
cx_status cx_bad_input(cx_error *err, const char *layer, const cx_shape *in, const char *expected);

/* The size of the last dimension (features of a vector or a time step). */
static inline int cx_last_dim(const cx_shape *s) { return s->d[s->ndim - 1]; }

/* Elementwise layers (activations): y = f(x) with an optional scalar
 * argument alpha (leaky slope). They step frame by frame when streaming. */
typedef struct cx_eltwise {
    cx_layer base;
    float alpha;
    void (*map)(float alpha, const float *x, float *y, size_t n);
    /* dx = f'(x) * dy, computed from x and/or y */
    void (*grad)(float alpha, const float *x, const float *y, const float *dy, float *dx, size_t n);
} cx_eltwise;

cx_status cx_eltwise_create(cx_layer **out, const cx_layer_kind *kind, int argc, char **argv,
                            const cx_shape *in, int takes_alpha, float alpha,
                            void (*map)(float, const float *, float *, size_t),
                            void (*grad)(float, const float *, const float *, const float *,
                                         float *, size_t),
                            cx_error *err);
void cx_eltwise_forward(cx_layer *l, const cx_run *r, int n, const float *x, float *y);
void cx_eltwise_backward(cx_layer *l, const cx_run *r, int n, const float *x, const float *y,
                         const float *dy, float *dx);
void cx_eltwise_step(cx_layer *l, int n, const float *x, float *y);

#define CX_ELTWISE_KIND(var, keyword)                                                             \
    const cx_layer_kind var = {.name = keyword,                                                   \
                               .usage = keyword,                                                  \
                               .create = create,                                                  \
                               .forward = cx_eltwise_forward,                                     \
                               .backward = cx_eltwise_backward,                                   \
                               .step = cx_eltwise_step}

#endif
