/* Private: the ensemble's mixing of its members' scores, shared by the
 * ensemble forward (model.c) and sliding windows (slide.c). */
#ifndef CORTEX_MODEL_UTIL_H
#define CORTEX_MODEL_UTIL_H

/* acc (n, K) += softmax(z), z: one member's scores (n, K); prob: n K floats
 * of scratch. */
void cx_ensemble_add(const float *z, int n, int k, float *prob, float *acc);
/* acc = log(acc / members), floored at 1e-30, so that a softmax of acc is
 * the members' mean probability. */
void cx_ensemble_finish(float *acc, int n, int k, int members);

#endif
