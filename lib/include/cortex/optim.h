/* Cortex optimizers and learning-rate schedules.
 *
 * Update rules follow PyTorch's torch.optim so results can be compared:
 *   SGD:   g += wd w; b = mu b + g; w -= lr (nesterov ? g + mu b : b)
 *   Adam:  g += wd w; m, v moments with bias correction
 *   AdamW: w -= lr wd w (decoupled), then Adam without the L2 term
 * Weight decay applies only to tensors declared with decay (weights, not
 * biases or normalization parameters).
 */
#ifndef CORTEX_OPTIM_H
#define CORTEX_OPTIM_H

#include "cortex/core.h"
#include "cortex/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cx_optim_kind { CX_OPT_SGD, CX_OPT_ADAM, CX_OPT_ADAMW } cx_optim_kind;

typedef struct cx_optim_config {
    cx_optim_kind kind;
    float momentum;     /* SGD; default 0.9 */
    int nesterov;       /* SGD */
    float beta1, beta2; /* Adam(W); defaults 0.9, 0.999 */
    float eps;          /* Adam(W); default 1e-8 */
    float weight_decay; /* default 0 (AdamW: 0.01) */
    float clip_norm;    /* clip gradients to this global L2 norm; 0 = off */
} cx_optim_config;

typedef struct cx_optim cx_optim;

CX_API cx_optim_config cx_optim_defaults(cx_optim_kind kind);
/* Parses "sgd", "nesterov", "adam", "adamw". */
CX_API cx_status cx_optim_parse(const char *name, cx_optim_config *cfg, cx_error *err);

CX_API cx_status cx_optim_create(cx_optim **out, cx_model *m, const cx_optim_config *cfg,
                                 cx_error *err);
CX_API void cx_optim_free(cx_optim *o);

/* One update of every trainable tensor from its gradient with learning rate
 * lr. Clips first if clip_norm is set, and then returns the gradient's
 * global L2 norm before clipping (0 when clipping is off). */
CX_API float cx_optim_step(cx_optim *o, float lr);
CX_API long cx_optim_steps(const cx_optim *o);

/* Optimizer state for checkpoints: nstate buffers (0 for plain SGD without
 * momentum, 1 for SGD, 2 for Adam), each laid out like the model's parameter
 * block, plus the step count. */
CX_API int cx_optim_num_state(const cx_optim *o);
CX_API float *cx_optim_state(cx_optim *o, int k, size_t *n);
CX_API void cx_optim_set_steps(cx_optim *o, long steps);

/* Global L2 norm of all trainable gradients; scales them to max_norm if
 * larger. Returns the norm before scaling. */
CX_API float cx_grad_clip(cx_model *m, float max_norm);

typedef enum cx_schedule_kind {
    CX_SCHED_CONSTANT,
    CX_SCHED_STEP,    /* lr * gamma^(floor(step / step_size)) */
    CX_SCHED_COSINE,  /* linear warm-up, then cosine from lr to min_lr */
    CX_SCHED_ONECYCLE /* warm-up from lr/25 to lr over warmup, then cosine to lr/1e4 */
} cx_schedule_kind;

typedef struct cx_schedule {
    cx_schedule_kind kind;
    float lr;          /* base (peak) learning rate */
    long total_steps;  /* length of the run */
    long warmup_steps; /* cosine, one-cycle; one-cycle default 30% of total */
    long step_size;    /* step */
    float gamma;       /* step; default 0.1 */
    float min_lr;      /* cosine; default 0 */
} cx_schedule;

/* Parses "constant", "step", "cosine", "onecycle". */
CX_API cx_status cx_schedule_parse(const char *name, cx_schedule_kind *kind, cx_error *err);
/* Fills sensible defaults for the kind over total_steps. */
CX_API cx_schedule cx_schedule_make(cx_schedule_kind kind, float lr, long total_steps);
CX_API float cx_schedule_lr(const cx_schedule *s, long step);

#ifdef __cplusplus
}
#endif
#endif
