/* Cortex vision models: what an image model file means, and predictions
 * from one.
 *
 * An image model is a model file (io.h) whose network takes (C, H, W)
 * images and gives one score (logit) per label, with the preprocessing in
 * its metadata:
 *   vision.input  "C H W": channels (1 gray, 3 RGB), height, width
 *   vision.mean   C floats: per-channel mean of pixel / 255 over the training images
 *   vision.std    C floats: their standard deviation
 * An image becomes the input exactly as in training: decoded and converted
 * by the rules of image.h (alpha over black, gray <-> RGB, antialiased
 * resize to H x W), then x = (pixel / 255 - mean[c]) / std[c], CHW.
 *
 * Predicting:
 *   cx_vision_model *v;
 *   cx_vision_model_load(&v, "models/fashion-mnist.safetensors", &err);
 *   cx_prediction top[3];
 *   int n = cx_vision_model_classify_file(v, "photo.png", top, 3, &err);
 */
#ifndef CORTEX_VISION_H
#define CORTEX_VISION_H

#include <stddef.h>
#include <stdint.h>

#include "cortex/core.h"
#include "cortex/model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CX_VISION_META_INPUT "vision.input"
#define CX_VISION_META_MEAN "vision.mean"
#define CX_VISION_META_STD "vision.std"

/* How an image becomes the network's input. */
typedef struct cx_vision_prep {
    int channels, height, width;
    float mean[3], std[3]; /* per channel, on pixel values scaled to [0, 1] */
} cx_vision_prep;

/* Writes prep into m's metadata. */
CX_API cx_status cx_vision_prep_store(cx_model *m, const cx_vision_prep *p, cx_error *err);
/* Reads it back and checks it against the network (input shape, one output
 * per label); name is used in messages. */
CX_API cx_status cx_vision_prep_load(const cx_model *m, const char *name, cx_vision_prep *p,
                                     cx_error *err);

/* Normalizes channels x height x width CHW bytes into floats (see above). */
CX_API void cx_vision_normalize(const cx_vision_prep *p, const uint8_t *chw, float *out);
/* The input for an image file, an encoded image in memory (name for
 * messages) or raw pixels (HWC bytes, any width x height, 1 gray, 2
 * gray+alpha, 3 RGB or 4 RGBA channels): out gets channels x height x width
 * floats. */
CX_API cx_status cx_vision_input_file(const cx_vision_prep *p, const char *path, float *out,
                                      cx_error *err);
CX_API cx_status cx_vision_input_encoded(const cx_vision_prep *p, const void *data, size_t len,
                                         const char *name, float *out, cx_error *err);
CX_API cx_status cx_vision_input_pixels(const cx_vision_prep *p, const uint8_t *hwc, int width,
                                        int height, int channels, float *out, cx_error *err);

/* ---- a model for predictions ---------------------------------------------- */

typedef struct cx_vision_model cx_vision_model;

/* Opens an image model file and checks its preprocessing record. */
CX_API cx_status cx_vision_model_load(cx_vision_model **out, const char *path, cx_error *err);
/* The same for a model in memory, which it takes over (freed with it, or at
 * once on failure). */
CX_API cx_status cx_vision_model_wrap(cx_vision_model **out, cx_model *m, const char *name,
                                      cx_error *err);
CX_API void cx_vision_model_free(cx_vision_model *v);

CX_API cx_model *cx_vision_model_net(const cx_vision_model *v);
CX_API const cx_vision_prep *cx_vision_model_prep(const cx_vision_model *v);
CX_API int cx_vision_model_num_labels(const cx_vision_model *v);
CX_API const char *cx_vision_model_label(const cx_vision_model *v, int i);

/* One class of a prediction. */
typedef struct cx_prediction {
    int label;         /* class index */
    const char *name;  /* its label, valid while the model lives */
    float probability; /* softmax of the network's scores */
} cx_prediction;

/* The k most probable classes, most probable first (ties: lower index
 * first), into top[0..k); returns how many were written (min(k, labels)),
 * or -1 on failure with err set. Buffers are made at load: nothing is
 * allocated but the decoding of the image. */
CX_API int cx_vision_model_classify_file(cx_vision_model *v, const char *path, cx_prediction *top,
                                         int k, cx_error *err);
CX_API int cx_vision_model_classify_encoded(cx_vision_model *v, const void *data, size_t len,
                                            const char *name, cx_prediction *top, int k,
                                            cx_error *err);
CX_API int cx_vision_model_classify_pixels(cx_vision_model *v, const uint8_t *hwc, int width,
                                           int height, int channels, cx_prediction *top, int k,
                                           cx_error *err);
/* The same for an input already made (channels x height x width floats). */
CX_API int cx_vision_model_classify_input(cx_vision_model *v, const float *x, cx_prediction *top,
                                          int k, cx_error *err);

#ifdef __cplusplus
}
#endif
#endif
