/* The part of a training command both applications share: checkpoint and
 * learning-curve paths, progress and per-epoch lines, --stop-after, the run
 * itself, the curve and what an interruption says. */
#ifndef CORTEX_APP_TRAIN_RUN_H
#define CORTEX_APP_TRAIN_RUN_H

#include "cortex/cortex.h"

#include <getopt.h>

/* The options every train command takes. The caller sets the defaults
 * (they differ between the applications), then passes each getopt result
 * to train_args_option. */
typedef struct train_args {
    const char *data, *out, *arch, *optimizer, *schedule;
    int epochs, batch, threads, resume, stop_after;
    float lr, weight_decay, smoothing;
    int lr_set, wd_set; /* given on the command line */
    unsigned long long seed;
} train_args;

enum {
    TRAIN_O_OPT = 400,
    TRAIN_O_SCHED,
    TRAIN_O_WD,
    TRAIN_O_LS,
    TRAIN_O_THREADS,
    TRAIN_O_RESUME,
    TRAIN_O_STOP
};
#define TRAIN_ARGS_SHORT "d:o:a:e:b:l:s:"
#define TRAIN_ARGS_OPTIONS                                                                         \
    {"data", required_argument, 0, 'd'}, {"out", required_argument, 0, 'o'},                       \
        {"arch", required_argument, 0, 'a'}, {"epochs", required_argument, 0, 'e'},                \
        {"batch", required_argument, 0, 'b'}, {"lr", required_argument, 0, 'l'},                   \
        {"seed", required_argument, 0, 's'}, {"optimizer", required_argument, 0, TRAIN_O_OPT},     \
        {"schedule", required_argument, 0, TRAIN_O_SCHED},                                         \
        {"weight-decay", required_argument, 0, TRAIN_O_WD},                                        \
        {"label-smoothing", required_argument, 0, TRAIN_O_LS},                                     \
        {"threads", required_argument, 0, TRAIN_O_THREADS},                                        \
        {"resume", no_argument, 0, TRAIN_O_RESUME},                                                \
    {                                                                                              \
        "stop-after", required_argument, 0, TRAIN_O_STOP                                           \
    }

/* Handles getopt's c if it is one of TRAIN_ARGS_OPTIONS: 1 if it was, -1 if
 * its value is bad (reported), 0 if it is not one of them. */
int train_args_option(train_args *a, const char *prog, int c, const char *val);
/* After the options: no other argument, --data and --out given (reported). */
int train_args_check(const train_args *a, const char *prog, int argc, char **argv);
/* The run's settings from the arguments: optimizer (with weight_decay) and
 * schedule parsed, epochs, batch, lr, smoothing, seed and resume. */
cx_status train_args_config(const train_args *a, cx_train_config *cfg, cx_error *err);

typedef struct train_run {
    const char *prog;      /* for messages */
    const char *out;       /* the model path; MODEL.ckpt and MODEL.curve.png beside it */
    const char *rate_unit; /* per-epoch lines: "img/s", "clips/s" */
    long stop_after; /* --stop-after: stop as Ctrl-C would after this many batches (0 = off) */
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
