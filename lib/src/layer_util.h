/* Private helpers shared by layer implementations: argument parsing and
 * parameter declaration. Not part of the public API. */
#ifndef CORTEX_LAYER_UTIL_H
#define CORTEX_LAYER_UTIL_H

#include "cortex/layers.h"
#include "kv.h" /* cx_parse_int, cx_parse_float, cx_parse_kv */

/* Every layer kind, defined one per file in layers/ and listed in
 * layer_kinds.def. */
#define X(var) extern const cx_layer_kind cx_kind_##var;
#include "layer_kinds.def"
#undef X

/* The kind of an elementwise activation by its own name (not an alias):
 * what may follow a layer that takes one ("dense 128 relu"). NULL if none. */
const cx_layer_kind *cx_layer_find_activation(const char *name);

/* Parses a 2-D size: "K" (h = w = K) or "HxW", each in [lo, hi]. Returns 0
 * on success. */
int cx_parse_size2(const char *tok, long lo, long hi, int *h, int *w);
/* Writes a 2-D size as cx_parse_size2 reads it: "K" if square, else "HxW". */
const char *cx_size2_str(int h, int w, char *buf, size_t len);

/* The arguments of a 2-D convolution (conv, dwconv) from its kernel size on:
 * "SIZE [stride=S] [pad=P|same|valid]", the options in any order and each
 * at most once (the model has taken a trailing activation off). SIZE and S
 * are 1 to 64, P 0 to SIZE-1; stride defaults to 1, pad to same (SIZE/2).
 * argc >= 1. Errors name kind->name and the token. */
cx_status cx_parse_conv_args(const cx_layer_kind *kind, int argc, char **argv, int *k, int *stride,
                             int *pad, cx_error *err);

/* The arguments of a 2-D pooling (maxpool, avgpool): "SIZE|KHxKW
 * [stride=S|SHxSW]", each size 1 to 64; the stride defaults to the window.
 * Errors name kind->name and the token, or give kind->usage. */
cx_status cx_parse_pool_args(const cx_layer_kind *kind, int argc, char **argv, int *kh, int *kw,
                             int *sh, int *sw, cx_error *err);

/* Declares parameter i of l. Dims beyond ndim are ignored. */
cx_param *cx_declare_param(cx_layer *l, const char *name, int ndim, const int *shape, int trainable,
                           int decay, cx_init init, float init_value, int fan_in, int fan_out);

/* Allocates a zeroed layer struct of `size` bytes whose first member is a
 * cx_layer, and fills in kind and in. */
void *cx_layer_new(size_t size, const cx_layer_kind *kind, const cx_shape *in);

/* Error helpers naming the layer keyword and the offending token. */
cx_status cx_bad_token(cx_error *err, const char *layer, const char *tok, const char *expected);
cx_status cx_bad_input(cx_error *err, const char *layer, const cx_shape *in, const char *expected);

/* The size of the last dimension (features of a vector or a time step). */
static inline int cx_last_dim(const cx_shape *s)
{
    return s->d[s->ndim - 1];
}

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

#define CX_ELTWISE_KIND(var, keyword)                                                              \
    const cx_layer_kind var = {.name = keyword,                                                    \
                               .usage = keyword,                                                   \
                               .activation = 1,                                                    \
                               .create = create,                                                   \
                               .forward = cx_eltwise_forward,                                      \
                               .backward = cx_eltwise_backward,                                    \
                               .step = cx_eltwise_step}

#endif
