/* Cortex training loop shared by the applications: mini-batch training with
 * a schedule, validation after every epoch, the best model kept, a
 * checkpoint after every epoch and on interruption, and exact resumption.
 *
 * Determinism: the shuffle of epoch e, the augmentation randomness of batch
 * b and the dropout randomness of step t are each derived from the seed and
 * their position alone, so a run resumed from a checkpoint (even one written
 * in the middle of an epoch by an interruption) ends bit-identical to an
 * uninterrupted run with the same seed, data and thread count.
 *
 * The library never prints: progress and per-epoch results go to callbacks.
 *
 * Over several processes (cx_set_comm, e.g. mpirun -np N): every process
 * holds the same model and data list; each batch of cfg->batch examples is
 * cut into N contiguous shards, process P loads and runs shard P (split
 * again between its threads), the gradients are summed over the processes
 * (one sum of the model's gradient block per step) and every process takes
 * the same optimizer step. Batch normalization's statistics, the loss and
 * the accuracy are summed too; validation is split between the processes.
 * The augmentation and dropout randomness of each shard follow from its
 * place among all N x T shards (T threads per process), so N processes of T
 * threads train what one process of N x T threads trains, up to the order
 * of the sums (the gradients' and batch normalization's): bit for bit for
 * 2 processes of 1 thread against 1 of 2 threads.
 * Process 0 alone saves the model and the checkpoint and calls on_progress
 * and on_epoch; the checkpoint is the whole run's, so a run resumes with
 * any number of processes (all of them read it: the output folder must be
 * visible to every process). A batch of fewer examples than processes runs
 * whole on every process.
 */
#ifndef CORTEX_TRAIN_H
#define CORTEX_TRAIN_H

#include "cortex/core.h"
#include "cortex/model.h"
#include "cortex/optim.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Fills x (n x input size) and labels (n) with examples idx[0..n). With
 * augment set the source may apply random augmentation drawn from rng. */
typedef cx_status (*cx_batch_fn)(void *ctx, const int *idx, int n, int augment, cx_rng *rng,
                                 float *x, int *labels, cx_error *err);

typedef struct cx_train_source {
    void *ctx;
    int count; /* number of examples */
    cx_batch_fn get;
} cx_train_source;

typedef struct cx_train_progress {
    int epoch, epochs;      /* 1-based current epoch */
    long batch, batches;    /* 1-based batch within the epoch */
    float loss;             /* running mean over the epoch so far */
    double samples_per_sec; /* this epoch so far */
    double eta_sec;         /* remaining time of the whole run */
} cx_train_progress;

typedef struct cx_epoch_report {
    int epoch;
    float train_loss, train_acc;
    float val_loss, val_acc; /* -1 without validation data */
    float lr;                /* at the end of the epoch */
    double seconds, samples_per_sec;
    int improved; /* this epoch's model became the best one and was saved */
} cx_epoch_report;

typedef struct cx_train_config {
    int epochs;
    int batch;
    float lr;
    cx_schedule_kind schedule;
    cx_optim_config optim;
    float label_smoothing;
    uint64_t seed;
    const char *out_path;        /* the best model is saved here (required) */
    const char *checkpoint_path; /* NULL: no checkpoints */
    int resume;                  /* continue from checkpoint_path */
    volatile const int *stop;    /* when it becomes nonzero: checkpoint, then stop */
    void (*on_progress)(void *user, const cx_train_progress *p);
    void (*on_epoch)(void *user, const cx_epoch_report *r);
    void *user;
    /* Knowledge distillation (NULL: off): a trained model or ensemble with
     * m's input and output shapes. Each training example's target becomes
     * (1 - teacher_weight) times its (smoothed) label plus teacher_weight
     * times the teacher's probabilities for the same augmented input
     * (cx_softmax_xent_soft); validation still scores the labels. The
     * teacher runs in inference mode, on one thread, before each step. */
    cx_model *teacher;
    float teacher_weight;
} cx_train_config;

CX_API cx_train_config cx_train_defaults(void);

typedef struct cx_train_result {
    int epochs_done;
    int best_epoch;
    float best_val_acc;
    int interrupted;
    int nhistory;
    cx_epoch_report *history; /* nhistory epochs (a resumed run's earlier ones too) */
    /* This run (not a resumed run's earlier part): optimizer steps, the
     * seconds they took (data, forward, backward, sums, update; validation
     * excluded), and of those the seconds spent summing the gradients over
     * the processes and in all communication (cx_comm: gradients, batch
     * normalization, figures); 0 in a single process. */
    long steps_run;
    double step_seconds, grad_seconds, comm_seconds;
    int processes; /* cx_comm_size of the run */
} cx_train_result;

/* Trains m (already initialized, or loaded) on train, validating on val
 * (val may be NULL: then the last epoch's model is kept). Returns
 * CX_ERR_INTERRUPTED after writing a checkpoint when *cfg->stop was set.
 * res is overwritten (pass a fresh one or one given to cx_train_result_free);
 * its history is allocated, even on failure: free it with
 * cx_train_result_free. */
CX_API cx_status cx_train(cx_model *m, const cx_train_source *train, const cx_train_source *val,
                          const cx_train_config *cfg, cx_train_result *res, cx_error *err);

CX_API void cx_train_result_free(cx_train_result *res);

/* Evaluates m on src in batches: writes predicted classes (if pred is
 * non-NULL, count entries) and returns mean loss / accuracy. Over several
 * processes (cx_set_comm) each batch is split between them and the results
 * are gathered: every process gets all of them. */
CX_API cx_status cx_evaluate(cx_model *m, const cx_train_source *src, int batch, int *pred,
                             int *truth, float *loss, float *acc, cx_error *err);

#ifdef __cplusplus
}
#endif
#endif
