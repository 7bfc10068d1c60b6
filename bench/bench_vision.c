/* The Cortex side of bench/vision.sh: the reference CNN on Fashion-MNIST.
 *   bench_vision THREADS [LIMIT] [LATENCY_RUNS]
 * Prints one JSON line: training images/s over an epoch (LIMIT images,
 * batch 64, Adam), batch-1 latency (median) with the model loaded, peak
 * resident memory of the process. Same work as bench/vision_torch.py. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

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
    cx_optim_config oc = cx_optim_defaults(CX_OPT_ADAM);
    cx_optim *o;
    cx_optim_create(&o, m, &oc, &err);
    int *order = malloc(sizeof(int) * (size_t)n), y[B];
    float *x = malloc(sizeof(float) * B * 784), dz[B * 10];
    cx_rng rng;
    cx_rng_seed(&rng, 1);
    for (int i = 0; i < n; i++)
        order[i] = i;
    cx_rng_shuffle(&rng, order, n);
    cx_model_set_training(m, 1);
    float loss = 0;
    double t0 = cx_now();
    for (int s = 0; s < n; s += B) {
        int nb = n - s < B ? n - s : B;
        cx_dataset_get_batch(ds, order + s, nb, &mean, &sd, x, y, &err);
        cx_model_zero_grad(m);
        const float *z = cx_model_forward(m, nb, x);
        loss = cx_softmax_xent(z, y, nb, 10, 0.0f, dz, NULL);
        cx_model_backward(m, nb, dz);
        cx_optim_step(o, 1e-3f);
    }
    double train_s = cx_now() - t0;
    cx_model_set_training(m, 0);
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
           "\"peak_rss_mb\": %.1f}\n",
           CX_VERSION_STRING, cx_get_threads(), n, n / train_s, (double)loss, 1000 * t[runs / 2],
           ru.ru_maxrss / 1024.0);
    free(t), free(order), free(x);
    cx_optim_free(o);
    cx_model_free(m);
    cx_dataset_free(ds);
    return 0;
}
