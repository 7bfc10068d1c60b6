/* Private: the ensemble's mixing of its members' scores, shared by the
 * ensemble forward (model.c) and sliding windows (slide.c). */
#ifndef CORTEX_MODEL_UTIL_H
#define CORTEX_MODEL_UTIL_H

#include <stddef.h>

#include "cortex/core.h"
#include "cortex/layers.h"
#include "cortex/model.h"

/* acc (n, K) += softmax(z), z: one member's scores (n, K); prob: n K floats
 * of scratch. */
void cx_ensemble_add(const float *z, int n, int k, float *prob, float *acc);
/* acc = log(acc / members), floored at 1e-30, so that a softmax of acc is
 * the members' mean probability. */
void cx_ensemble_finish(float *acc, int n, int k, int members);

/* A model of the same layers whose parameters are `master`'s own (shared,
 * never freed by it) and whose gradients, activations and workspace are its
 * own: one shard of a batch runs through each replica (train.c). */
cx_status cx_model_replica(cx_model **out, cx_model *master, cx_error *err);
/* The group the model's forward and backward pass to their layers. */
void cx_model_set_group(cx_model *m, cx_group *g);
/* The doubles per rank that the model's layers exchange at most in one
 * cx_group_sum (batch normalization: two per channel). */
size_t cx_model_group_doubles(const cx_model *m);

#endif
