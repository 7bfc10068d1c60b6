/* Cortex layers: the interface every layer kind implements.
 *
 * A layer transforms a batch x of n samples of shape `in` into y of n samples
 * of shape `out` (see tensor.h for layouts). Each kind lives in one source
 * file under lib/src/layers/ with its forward and backward, and is described
 * by a cx_layer_kind table of function pointers. A layer's private state is
 * its own struct whose first member is the cx_layer base.
 *
 * Parameters are declared by the layer (cx_param: name, shape, init) and
 * allocated by the model in one block, so optimizers and model files see a
 * flat list of named tensors.
 */
#ifndef CORTEX_LAYERS_H
#define CORTEX_LAYERS_H

#include "cortex/core.h"
#include "cortex/tensor.h"
/* The loss was declared here before it had its own header: included so that
 * code using cx_softmax_xent or cx_softmax through layers.h still compiles. */
#include "cortex/loss.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cx_init {
    CX_INIT_ZERO,
    CX_INIT_CONST,     /* every element = init_value */
    CX_INIT_HE,        /* normal, sd sqrt(2 / fan_in): ReLU nets */
    CX_INIT_GLOROT,    /* uniform, limit sqrt(6 / (fan_in + fan_out)) */
    CX_INIT_UNIFORM,   /* uniform in [-init_value, init_value] */
    CX_INIT_LSTM_BIAS, /* LSTM bias, gates i,f,g,o: zero, forget-gate quarter = init_value */
} cx_init;

#define CX_PARAM_NAME 24

typedef struct cx_param {
    char name[CX_PARAM_NAME]; /* "weight", "bias", "running_mean", ... */
    int ndim;
    int shape[CX_MAX_DIMS];
    size_t size;
    float *w;      /* values (set by the model) */
    float *g;      /* gradient, same size (set by the model) */
    int trainable; /* 0: a buffer such as running statistics, saved but not optimized */
    int decay;     /* weight decay applies (weights yes, biases and norms no) */
    cx_init init;
    float init_value;
    int fan_in, fan_out;
} cx_param;

/* The threads that share one batch, each running its own shard of it
 * through a replica of the model (train.c); opaque to layers but batch
 * normalization, which sums its statistics over the whole batch. */
typedef struct cx_group cx_group;

/* What a forward or backward call may use besides its inputs. */
typedef struct cx_run {
    int training;    /* training mode: dropout active, batch statistics */
    cx_rng *rng;     /* for dropout and other randomness */
    float *work;     /* scratch of at least kind->workspace(l, n) floats */
    cx_group *group; /* NULL: the n samples are the whole batch */
} cx_run;

#define CX_LAYER_MAX_PARAMS 6
#define CX_LAYER_SPEC 96

typedef struct cx_layer_kind cx_layer_kind;

typedef struct cx_layer {
    const cx_layer_kind *kind;
    cx_shape in, out;
    int nparams;
    cx_param params[CX_LAYER_MAX_PARAMS];
    char spec[CX_LAYER_SPEC]; /* canonical text, e.g. "conv 32 3 stride=1 pad=1" */
    int max_batch;            /* set by reserve */
    /* The end of a residual block: 1 + the index of the layer whose output
     * it adds (the block's "res"), set by the model; 0 for other layers. */
    int skip;
} cx_layer;

struct cx_layer_kind {
    const char *name;  /* spec keyword */
    const char *usage; /* one line, e.g. "conv FILTERS SIZE [stride=S] [pad=P|same|valid] [ACT]" */
    int takes_activation; /* a trailing activation name is accepted */
    /* An elementwise activation: its name may trail a layer that
     * takes_activation ("dense 128 relu" is "dense 128; relu"). */
    int activation;

    /* Parses argv (the tokens after the keyword), checks the input shape,
     * sets out, declares parameters and writes spec. Errors name the token. */
    cx_status (*create)(cx_layer **out, int argc, char **argv, const cx_shape *in, cx_error *err);
    /* Allocates what forward/backward keep between calls for up to max_batch
     * samples (masks, argmax indices, gate values). May be NULL. */
    cx_status (*reserve)(cx_layer *l, int max_batch, cx_error *err);
    /* Scratch floats a forward or backward of n samples needs. May be NULL. */
    size_t (*workspace)(const cx_layer *l, int n);
    void (*forward)(cx_layer *l, const cx_run *r, int n, const float *x, float *y);
    /* Adds parameter gradients into params[i].g; writes dx unless dx is NULL.
     * x and y are the forward's input and output for the same batch. */
    void (*backward)(cx_layer *l, const cx_run *r, int n, const float *x, const float *y,
                     const float *dy, float *dx);
    void (*destroy)(cx_layer *l);
    /* The end of a residual block (l->skip > 0) runs these instead of
     * forward and backward: s is the output of the block's opening layer,
     * and backward adds the gradient with respect to s into ds (if not
     * NULL). */
    void (*forward_skip)(cx_layer *l, const cx_run *r, int n, const float *x, const float *s,
                         float *y);
    void (*backward_skip)(cx_layer *l, const cx_run *r, int n, const float *x, const float *s,
                          const float *y, const float *dy, float *dx, float *ds);

    /* Streaming (optional): one time step of a sequence layer, carrying state
     * between calls. x is n frames of in.d[ndim-1] features, y is n frames of
     * out.d[ndim-1] features. reset zeroes the state of all n streams. Layers
     * after a sequence pooling layer are run with forward on 1-step input. */
    void (*step)(cx_layer *l, int n, const float *x, float *y);
    void (*reset)(cx_layer *l);
    int pools_time; /* 1 for sequence pooling: streaming output is the pooled state */
};

/* Looks up a layer kind by keyword; NULL if none. */
CX_API const cx_layer_kind *cx_layer_find(const char *name);
/* All kinds, NULL-terminated (for --help listings). */
CX_API const cx_layer_kind *const *cx_layer_kinds(void);

/* Frees a layer made by a kind's create. */
CX_API void cx_layer_destroy(cx_layer *l);

#ifdef __cplusplus
}
#endif
#endif
