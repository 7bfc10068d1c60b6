/* Data-parallel training over processes, for tests/e2e_mpi.sh: trains a
 * small CNN (convolution, batch normalization, dropout) on generated data
 * with noise augmentation, on however many processes mpirun started.
 *
 *   mpi_train train OUT THREADS [STOP_AFTER]   full run to OUT.safetensors;
 *                                             with STOP_AFTER, interrupted
 *                                             after that many steps
 *                                             (checkpoint OUT.ckpt)
 *   mpi_train resume OUT CKPT THREADS [EPOCHS] continues CKPT to OUT (of 3
 *                                             epochs, or EPOCHS)
 *   mpi_train eval MODEL THREADS              prints the loss and accuracy
 *   mpi_train die OUT THREADS STEP            process 1 kills itself at STEP
 *   mpi_train compare A B TOL                 the largest relative difference
 *                                             of A's and B's parameters;
 *                                             exit 1 above TOL
 *
 * Prints "ranks N threads T" and the figures on process 0. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cortex/cortex.h"

enum { N_TRAIN = 193, N_VAL = 61, IN = 64 }; /* 193 = 6 x 32 + 1: a last batch of one */

static float xs[(N_TRAIN + N_VAL) * IN];
static int ys[N_TRAIN + N_VAL];
static volatile int stop;
static int stop_after, die_at, progress_calls, gets;

static void make_data(void)
{
    cx_rng rng;
    cx_rng_seed(&rng, 11);
    for (int i = 0; i < N_TRAIN + N_VAL; i++) {
        double s = 0;
        for (int j = 0; j < IN; j++) {
            xs[i * IN + j] = 2 * cx_rng_uniform(&rng) - 1;
            s += xs[i * IN + j] * (j < 32 ? 1 : -1);
        }
        ys[i] = s > 1 ? 2 : s < -1 ? 0 : 1;
    }
}

typedef struct {
    int first;
} src_ctx;

static cx_status get(void *ctx, const int *idx, int n, int augment, cx_rng *rng, float *x,
                     int *labels, cx_error *err)
{
    (void)err;
    const src_ctx *c = ctx;
    if (die_at && augment && ++gets == die_at) raise(SIGKILL);
    for (int i = 0; i < n; i++) {
        const float *p = xs + (size_t)(c->first + idx[i]) * IN;
        for (int j = 0; j < IN; j++)
            x[(size_t)i * IN + j] = p[j] + (augment ? 0.2f * (cx_rng_uniform(rng) - 0.5f) : 0.0f);
        labels[i] = ys[c->first + idx[i]];
    }
    return CX_OK;
}

static void on_progress(void *user, const cx_train_progress *p)
{
    (void)user, (void)p;
    progress_calls++;
    if (stop_after > 0 && progress_calls == stop_after) stop = 1;
}

static const char *SPEC = "conv 4 3 pad=1; batchnorm; relu; maxpool 2; flatten; dropout 0.2; "
                          "dense 16; batchnorm; tanh; dense 3";

static int compare(const char *a, const char *b, double tol)
{
    cx_model *ma, *mb;
    cx_error err;
    if (cx_model_load(&ma, a, &err) || cx_model_load(&mb, b, &err)) {
        fprintf(stderr, "compare: %s\n", err.msg);
        return 2;
    }
    size_t na, nb;
    const float *wa = cx_model_param_block(ma, &na), *wb = cx_model_param_block(mb, &nb);
    if (na != nb) {
        fprintf(stderr, "compare: %zu against %zu parameters\n", na, nb);
        return 1;
    }
    double worst = 0, d2 = 0, a2 = 0;
    size_t same = 0;
    for (size_t i = 0; i < na; i++) {
        double d = fabs((double)wa[i] - wb[i]) / (1e-3 + fabs((double)wa[i]));
        if (d > worst) worst = d;
        d2 += ((double)wa[i] - wb[i]) * ((double)wa[i] - wb[i]);
        a2 += (double)wa[i] * wa[i];
        same += memcmp(&wa[i], &wb[i], sizeof *wa) == 0;
    }
    double rel = sqrt(d2 / (a2 > 0 ? a2 : 1));
    printf("compare: %zu parameters, %zu bit-identical; |a - b| / |a| = %.3g, largest "
           "elementwise |a - b| / (1e-3 + |a|) = %.3g\n",
           na, same, rel, worst);
    cx_model_free(ma);
    cx_model_free(mb);
    return rel <= tol ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 5 && !strcmp(argv[1], "compare")) return compare(argv[2], argv[3], atof(argv[4]));
    if (argc < 4) {
        fprintf(stderr, "usage: see tests/tools/mpi_train.c\n");
        return 2;
    }
    cx_error err;
    cx_comm *comm;
    if (cx_comm_world(&comm, &argc, &argv, &err)) {
        fprintf(stderr, "mpi_train: %s\n", err.msg);
        return 1;
    }
    cx_set_comm(comm);
    int R = cx_comm_rank(comm), N = cx_comm_size(comm);
    const char *mode = argv[1], *out = argv[2];
    int threads = atoi(argv[!strcmp(mode, "resume") ? 4 : 3]);
    cx_set_threads(threads);
    make_data();
    if (R == 0) printf("ranks %d threads %d (%s)\n", N, threads, comm->name);
    int rc = 0;
    cx_model *m = NULL;
    src_ctx tc = {0}, vc = {N_TRAIN};
    cx_train_source ts = {&tc, N_TRAIN, get}, vs = {&vc, N_VAL, get};
    if (!strcmp(mode, "eval")) {
        if (cx_model_load(&m, out, &err)) goto fail;
        float loss, acc;
        int *pred = malloc(N_VAL * sizeof *pred);
        if (cx_evaluate(m, &vs, 16, pred, NULL, &loss, &acc, &err)) goto fail;
        unsigned long h = 0;
        for (int i = 0; i < N_VAL; i++)
            h = h * 31 + pred[i];
        free(pred);
        if (R == 0) printf("eval: loss %.9g accuracy %.9g predictions %lu\n", loss, acc, h);
        goto end;
    }
    cx_shape in = cx_shape3(1, 8, 8);
    if (cx_model_create(&m, SPEC, &in, &err)) goto fail;
    cx_model_init(m, 4);
    char path[512], ckpt[512];
    snprintf(path, sizeof path, "%s.safetensors", out);
    snprintf(ckpt, sizeof ckpt, "%s.ckpt", out);
    cx_train_config cfg = cx_train_defaults();
    cfg.epochs = 3;
    cfg.batch = 32;
    cfg.lr = 0.05f;
    /* (SGD: Adam turns the rounding-level gradient of a bias before batch
     * normalization into full steps, whatever the order of the sums) */
    cfg.optim = cx_optim_defaults(CX_OPT_SGD);
    cfg.schedule = CX_SCHED_CONSTANT;
    cfg.out_path = path;
    cfg.checkpoint_path = ckpt;
    cfg.stop = &stop;
    cfg.on_progress = on_progress;
    if (!strcmp(mode, "train") && argc > 4) stop_after = atoi(argv[4]);
    if (!strcmp(mode, "resume")) {
        cfg.resume = 1;
        cfg.checkpoint_path = argv[3];
        if (argc > 5) cfg.epochs = atoi(argv[5]);
    }
    if (!strcmp(mode, "die")) { /* process 1 dies in the middle, as a node might */
        die_at = R == 1 ? atoi(argv[4]) : 0;
        cfg.epochs = 1000;
    }
    cx_train_result res;
    cx_status st;
    st = cx_train(m, &ts, &vs, &cfg, &res, &err);
    if (st == CX_ERR_INTERRUPTED) {
        if (R == 0)
            printf("interrupted after %d steps; checkpoint %s\n", progress_calls,
                   cfg.checkpoint_path);
    } else if (st) {
        cx_train_result_free(&res);
        goto fail;
    } else if (R == 0) {
        printf("trained: %d epochs, best validation accuracy %.4f at epoch %d; %ld steps, "
               "gradient sums %.3f ms per step, all communication %.3f ms per step\n",
               res.epochs_done, res.best_val_acc, res.best_epoch, res.steps_run,
               1e3 * res.grad_seconds / (res.steps_run ? res.steps_run : 1),
               1e3 * res.comm_seconds / (res.steps_run ? res.steps_run : 1));
    }
    cx_train_result_free(&res);
end:
    cx_model_free(m);
    cx_comm_free(comm);
    return rc;
fail:
    fprintf(stderr, "mpi_train (rank %d of %d): %s\n", R, N, err.msg);
    cx_model_free(m);
    cx_comm_abort(comm, 1);
    cx_comm_free(comm);
    return 1;
}
