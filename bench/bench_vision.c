/* The Cortex side of bench/vision.sh: the reference CNN on Fashion-MNIST.
 *   bench_vision THREADS [LIMIT] [LATENCY_RUNS]
 * Prints one JSON line: training images/s over an epoch (LIMIT images,
 * batch 64, Adam, constant learning rate 1e-3, through cx_train as
 * `cortex-vision train` runs it: at THREADS > 1 each batch is split between
 * the library's threads), batch-1 latency (median) with the model loaded,
 * peak resident memory of the process, and the process's CPU time in
 * training (user and system). Same work as bench/vision_torch.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cortex/cortex.h"

#define SPEC                                                                                       \
    "input 1 28 28; conv 32 3 pad=1 relu; maxpool 2; conv 64 3 pad=1 relu; maxpool 2; "            \
    "dense 128 relu; dense 10"

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 0;
    int limit = argc > 2 ? atoi(argv[2]) : 60000, runs = argc > 3 ? atoi(argv[3]) : 2000;
    enum { B = 64 };
    cx_error err;
    cx_set_threads(threads);
    cx_dataset *ds;
    if (cx_dataset_load_mnist_dir(&ds, "/usr/share/datasets/fashion-mnist", CX_SPLIT_TRAIN,
                                  CX_MNIST_FASHION, &err)) {
        fprintf(stderr, "bench_vision: %s\n", err.msg);
        return 1;
    }
    int n = limit < ds->n ? limit : ds->n;
    float mean, sd;
    cx_dataset_mean_std(ds, &mean, &sd, &err);
    cx_model *m;
    if (cx_model_create(&m, SPEC, NULL, &err) || cx_model_reserve(m, B, &err)) {
        fprintf(stderr, "bench_vision: %s\n", err.msg);
        return 1;
    }
    cx_model_init(m, 1);
    cx_dataset_source src = {ds, &mean, &sd, {0}};
    cx_augment_init(&src.aug);
    cx_train_source ts = cx_dataset_train_source(&src);
    ts.count = n;
    cx_train_config cfg = cx_train_defaults();
    cfg.epochs = 1;
    cfg.batch = B;
    cfg.lr = 1e-3f;
    cfg.schedule = CX_SCHED_CONSTANT;
    cfg.optim = cx_optim_defaults(CX_OPT_ADAM);
    char out[64];
    snprintf(out, sizeof out, "/tmp/bench_vision_%d.safetensors", (int)getpid());
    cfg.out_path = out;
    cx_train_result res;
    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    double t0 = cx_now();
    if (cx_train(m, &ts, NULL, &cfg, &res, &err)) {
        fprintf(stderr, "bench_vision: %s\n", err.msg);
        return 1;
    }
    double train_s = cx_now() - t0;
    getrusage(RUSAGE_SELF, &r1);
    remove(out);
    float loss = res.nhistory ? res.history[0].train_loss : 0.0f;
    cx_train_result_free(&res);
#define SECS(a, b) ((b).tv_sec - (a).tv_sec + 1e-6 * ((b).tv_usec - (a).tv_usec))
    double user_s = SECS(r0.ru_utime, r1.ru_utime), sys_s = SECS(r0.ru_stime, r1.ru_stime);
    float x[784];
    int y[1];
    double *t = malloc(sizeof(double) * (size_t)runs);
    for (int i = 0; i < 50; i++)
        cx_model_forward(m, 1, x);
    for (int i = 0; i < runs; i++) {
        int idx = i % n;
        cx_dataset_get_batch(ds, &idx, 1, &mean, &sd, x, y, &err);
        double a = cx_now();
        cx_model_forward(m, 1, x);
        t[i] = cx_now() - a;
    }
    qsort(t, (size_t)runs, sizeof *t, cmp_double);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"framework\": \"cortex %s\", \"threads\": %d, \"images\": %d, "
           "\"train_images_per_sec\": %.1f, \"final_loss\": %.4f, \"latency_ms_median\": %.4f, "
           "\"peak_rss_mb\": %.1f, \"train_seconds\": %.2f, \"train_user_seconds\": %.2f, "
           "\"train_system_seconds\": %.2f}\n",
           CX_VERSION_STRING, cx_get_threads(), n, n / train_s, (double)loss, 1000 * t[runs / 2],
           ru.ru_maxrss / 1024.0, train_s, user_s, sys_s);
    free(t);
    cx_model_free(m);
    cx_dataset_free(ds);
    return 0;
}
