/* Cortex loss: softmax cross-entropy for training, and the softmax that
 * turns a model's logits into class probabilities. */
#ifndef CORTEX_LOSS_H
#define CORTEX_LOSS_H

#include "cortex/core.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Softmax cross-entropy over k classes, numerically stable (max-shifted
 * log-sum-exp). logits: (n, k); labels: n class indices in [0, k).
 * smoothing in [0, 1): target = (1 - s) * onehot + s / k.
 * Returns the mean loss over the batch. If dlogits is non-NULL it receives
 * d(mean loss)/d logits = (softmax - target) / n. If probs is non-NULL it
 * receives the softmax. */
CX_API float cx_softmax_xent(const float *logits, const int *labels, int n, int k, float smoothing,
                             float *dlogits, float *probs);

/* The same with part of each target from a teacher (knowledge
 * distillation): target = (1 - a) * ((1 - s) * onehot + s / k) + a * soft,
 * soft (n, k) rows of probabilities (a teacher model's softmax), a in
 * [0, 1]. With soft NULL or a 0 it is cx_softmax_xent, bit for bit. */
CX_API float cx_softmax_xent_soft(const float *logits, const int *labels, const float *soft,
                                  float a, int n, int k, float smoothing, float *dlogits,
                                  float *probs);

/* Row-wise softmax of (n, k) logits into probs (may alias logits). */
CX_API void cx_softmax(const float *logits, int n, int k, float *probs);

#ifdef __cplusplus
}
#endif
#endif
