/* The part of a training command both applications share: checkpoint and
 * learning-curve paths, progress and per-epoch lines, --stop-after, the run
 * itself, the curve and what an interruption says. */
#ifndef CORTEX_APP_TRAIN_RUN_H
#define CORTEX_APP_TRAIN_RUN_H

#include "cortex/cortex.h"

typedef struct train_run {
    const char *prog;      /* for messages */
    const char *out;       /* the model path; MODEL.ckpt and MODEL.curve.png beside it */
    const char *rate_unit; /* per-epoch lines: "img/s", "clips/s" */
    long stop_after;       /* --stop-after: stop as Ctrl-C would after this many batches (0 = off) */
    char ckpt[4096], curve[4096];
    int epochs;
    cx_train_result res; /* after train_run_go; freed by train_run_done */
} train_run;

/* Sets cfg's output, checkpoint, stop flag and callbacks (cfg's epochs,
 * batch, rates, seed and resume are the caller's); fails when --resume has
 * no checkpoint to continue from. */
cx_status train_run_prepare(train_run *t, cx_train_config *cfg, cx_error *err);

/* Trains, draws the learning curve and, when interrupted, says where the
 * checkpoint is. Returns cx_train's status (CX_ERR_INTERRUPTED already
 * reported). */
cx_status train_run_go(train_run *t, cx_model *m, const cx_train_source *train,
                       const cx_train_source *val, const cx_train_config *cfg, cx_error *err);

void train_run_done(train_run *t);

#endif
