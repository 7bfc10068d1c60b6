/* Cortex models: an ordered stack of layers built from a short text spec.
 *
 * Spec grammar: layers separated by ';' (or newlines), tokens by spaces.
 *   input C H W | input T F | input F      the per-sample input shape
 *   conv FILTERS SIZE [stride=S] [pad=P|same|valid] [ACT]
 *   dwconv SIZE [stride=S] [pad=P|same|valid] [ACT]
 *   maxpool SIZE|KHxKW [stride=S|SHxSW]   avgpool SIZE|KHxKW [stride=S|SHxSW]   gap
 *                               (window square or KH x KW, stride defaults to the window)
 *   batchnorm (bn)              dropout P                   flatten
 *   dense UNITS [ACT]
 *   relu | leaky [SLOPE] | gelu | sigmoid | tanh
 *   gru UNITS  | lstm UNITS     (over a (T,F) sequence, output (T,UNITS))
 *   last | mean                 (sequence pooling: (T,F) -> (F))
 *   tnorm [mean]                (per-sequence normalization over time, (T,F) -> (T,F))
 *   conv1d FILTERS K [dilation=D] [ACT]   (temporal conv, K odd, same length: (T,F) -> (T,FILTERS))
 *   image                       (a sequence as a one-channel image: (T,F) -> (1,T,F))
 *   seq                         (feature maps as a sequence: (C,H,W) -> (H,C*W))
 * e.g. "input 1 28 28; conv 32 3 relu; maxpool 2; conv 64 3 relu; maxpool 2;
 *       dense 128 relu; dropout 0.3; dense 10"
 * or, for speech, 2-D convolutions over time x frequency, then a GRU (CRNN):
 *      "input 98 40; tnorm; image; conv 16 3 relu; maxpool 1x2; conv 32 3 relu;
 *       maxpool 1x2; seq; gru 64; mean; dense 11"
 * image and seq, like tnorm and conv1d, need whole windows: a model using
 * them runs on windows and cx_model_stream_reset refuses it.
 * dense flattens whatever it is given. A bad spec gives an error naming the
 * offending token.
 *
 * Ensembles: "ensemble | SPEC | SPEC ..." is 2 to CX_MODEL_MAX_MEMBERS
 * member models with the same input and the same 1-D output (class scores).
 * Its forward is the log of the mean of the members' softmax
 * probabilities, so a softmax of its output is their mean probability; it
 * has no backward, cannot be trained as a whole (train the members, then
 * cx_model_ensemble) and does not stream. Its tensors are named
 * "m<member>.<layer>.<param>".
 *
 * Lifecycle: cx_model_create -> cx_model_init (weights from a seed) ->
 * cx_model_reserve (activations for a batch size) -> forward / backward.
 * All parameters live in one allocation; cx_model_free releases everything.
 */
#ifndef CORTEX_MODEL_H
#define CORTEX_MODEL_H

#include "cortex/core.h"
#include "cortex/layers.h"
#include "cortex/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cx_model cx_model;

/* Builds a model from spec. If input is NULL the spec must begin with an
 * "input" layer; if both are given they must agree. Parameters are zero
 * until cx_model_init or a load. */
CX_API cx_status cx_model_create(cx_model **out, const char *spec, const cx_shape *input,
                                 cx_error *err);
CX_API void cx_model_free(cx_model *m);

/* cx_model_create in two steps, for tools that look at a spec before paying
 * for it (the model file loader compares the shapes a spec declares with
 * the tensors a file holds before allocating anything, so a hostile spec
 * cannot make it allocate more than the file carries). create_layout builds
 * the layers, shapes and declared parameters (names, shapes, sizes) with
 * every cx_param's w and g NULL: only cx_model_free, the tensor listing,
 * cx_model_num_params and the shape queries may be used until
 * cx_model_alloc_params allocates the zeroed parameter and gradient blocks
 * (a no-op once done). */
CX_API cx_status cx_model_create_layout(cx_model **out, const char *spec, const cx_shape *input,
                                        cx_error *err);
CX_API cx_status cx_model_alloc_params(cx_model *m, cx_error *err);

/* Initializes every parameter (He/Glorot/constant as each layer declares)
 * from seed, and seeds the model's generator used by dropout. */
CX_API void cx_model_init(cx_model *m, uint64_t seed);

/* The canonical spec, including the input line; parsing it again gives the
 * same model. */
CX_API const char *cx_model_spec(const cx_model *m);
CX_API const cx_shape *cx_model_input_shape(const cx_model *m);
CX_API const cx_shape *cx_model_output_shape(const cx_model *m);
CX_API int cx_model_num_layers(const cx_model *m);
CX_API cx_layer *cx_model_layer(cx_model *m, int i);
/* Number of trainable scalars. */
CX_API size_t cx_model_num_params(const cx_model *m);

/* All parameter tensors (trainable and buffers), in layer order. Names are
 * "<layer index>.<param name>", e.g. "0.weight". */
CX_API int cx_model_num_tensors(const cx_model *m);
CX_API cx_param *cx_model_tensor(cx_model *m, int i);
CX_API const char *cx_model_tensor_name(const cx_model *m, int i, char *buf, size_t len);

/* The single block holding every parameter tensor, and its gradient block
 * (same layout; tensor k starts at cx_model_tensor(m, k)->w - block). */
CX_API float *cx_model_param_block(cx_model *m, size_t *n);
CX_API float *cx_model_grad_block(cx_model *m, size_t *n);

/* Training mode: dropout active, batch normalization uses batch statistics
 * and updates its running statistics. Default: evaluation mode. */
CX_API void cx_model_set_training(cx_model *m, int training);
CX_API int cx_model_training(const cx_model *m);
CX_API cx_rng *cx_model_rng(cx_model *m);

/* Allocates activations and scratch for batches of up to max_batch samples.
 * Nothing is allocated during forward or backward. Call again to grow. */
CX_API cx_status cx_model_reserve(cx_model *m, int max_batch, cx_error *err);
CX_API int cx_model_max_batch(const cx_model *m);
/* Bytes cx_model_reserve(m, max_batch) allocates for the model's
 * activations, gradients and workspace (from the layout alone; a layer's own
 * small buffers aside); SIZE_MAX if that does not fit a size_t. */
CX_API size_t cx_model_reserve_bytes(const cx_model *m, int max_batch);

/* Runs n samples (n <= max_batch) of the input shape through the model and
 * returns the output, n x output size, valid until the next forward. x must
 * stay unchanged until the matching backward. Returns NULL if n is out of
 * range. */
CX_API const float *cx_model_forward(cx_model *m, int n, const float *x);

/* Sets every parameter gradient to zero. */
CX_API void cx_model_zero_grad(cx_model *m);
/* Back-propagates dy (n x output size) through the last forward, adding
 * into the parameter gradients. The gradient with respect to the input is
 * computed only when asked for with cx_model_want_input_grad (training does
 * not need it, and skipping it saves the first layer's largest product). */
CX_API void cx_model_backward(cx_model *m, int n, const float *dy);
CX_API void cx_model_want_input_grad(cx_model *m, int want);
/* The input gradient of the last backward, or NULL if it was not wanted. */
CX_API const float *cx_model_input_grad(const cx_model *m);

/* Streaming, for models whose input is a (T,F) sequence: feeds one frame of
 * F features and returns the output after it, as the whole-sequence forward
 * would give for the frames fed since the last reset. Works when every layer
 * before the sequence pooling layer can step (recurrent, elementwise). */
CX_API cx_status cx_model_stream_reset(cx_model *m, cx_error *err);
CX_API const float *cx_model_stream_step(cx_model *m, const float *frame);

/* Class labels, one per output. */
CX_API cx_status cx_model_set_labels(cx_model *m, int n, const char *const *labels, cx_error *err);
CX_API int cx_model_num_labels(const cx_model *m);
CX_API const char *cx_model_label(const cx_model *m, int i);

/* Free-form string metadata saved with the model (preprocessing, training
 * record). Keys and values are copied. Setting NULL removes a key. */
CX_API cx_status cx_model_set_meta(cx_model *m, const char *key, const char *value, cx_error *err);
CX_API const char *cx_model_get_meta(const cx_model *m, const char *key);
CX_API int cx_model_num_meta(const cx_model *m);
CX_API const char *cx_model_meta_key(const cx_model *m, int i);

/* Copies all parameter values (not metadata) from src; shapes must match. */
CX_API cx_status cx_model_copy_weights(cx_model *dst, const cx_model *src, cx_error *err);
/* Fine-tuning: copies the parameters of dst's leading layers from src's, as
 * far as the two agree (the same canonical layer spec and tensor shapes,
 * layer by layer); *layers (if non-NULL) gets how many layers were copied.
 * Fails when not even the first layer agrees. */
CX_API cx_status cx_model_transfer(cx_model *dst, const cx_model *src, int *layers, cx_error *err);
/* Freezes the first n layers: the optimizer leaves their parameters as they
 * are (batch normalization still updates its running statistics). */
CX_API void cx_model_freeze(cx_model *m, int n);

#define CX_MODEL_MAX_MEMBERS 16

/* A new ensemble of copies of members[0..n) (their weights; labels and
 * metadata are the caller's to set). The members stay the caller's. */
CX_API cx_status cx_model_ensemble(cx_model **out, cx_model *const *members, int n, cx_error *err);
/* 0 for a plain model; member i (NULL if out of range). */
CX_API int cx_model_num_members(const cx_model *m);
CX_API cx_model *cx_model_member(cx_model *m, int i);

/* Sliding windows, for a detector that runs a model on the last T frames
 * of a stream every few frames. cx_slide_forward(s, x, shift) gives what
 * cx_model_forward(m, 1, x) gives (to rounding), for a window x that is the
 * previous call's window moved shift frames (rows) later: the layers from
 * `image` up to the first one that is not local in time (seq, ...) keep
 * the rows of their output that both windows share and compute only the
 * rest, on two short strips of the window. Built for one steady shift (the
 * detector's evaluation interval); any other shift, or shift < 0 (an
 * unrelated window), computes what it must, at worst the whole window.
 * Models without such layers (and ensembles of them) run their plain
 * forward. The weights are copied at create: create it once the model is
 * final; m must outlive it. m needs room for a batch of one. */
typedef struct cx_slide cx_slide;
CX_API cx_status cx_slide_create(cx_slide **out, cx_model *m, int shift, cx_error *err);
CX_API const float *cx_slide_forward(cx_slide *s, const float *x, int shift);
/* Forgets the kept rows (the next window is unrelated to the last). */
CX_API void cx_slide_reset(cx_slide *s);
/* Window rows the cached layers run on per call at the steady shift,
 * summed over an ensemble's members (T per member that runs whole). */
CX_API int cx_slide_rows(const cx_slide *s);
/* Calls so far that ran a cached front end on the whole window (the first,
 * and those after a reset or a shift the strips do not cover). */
CX_API int64_t cx_slide_whole_runs(const cx_slide *s);
CX_API void cx_slide_free(cx_slide *s);

#ifdef __cplusplus
}
#endif
#endif
