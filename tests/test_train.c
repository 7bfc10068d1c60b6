/* Training end to end on generated problems: an MLP learns XOR-like points;
 * training is bit-for-bit reproducible; schedules and clipping behave. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

/* Points in [-1,1]^2 labelled by the quadrant parity (XOR of the signs),
 * kept away from the axes by a margin. */
static void make_xor(int n, float *x, int *y, cx_rng *rng)
{
    for (int i = 0; i < n; i++) {
        float a, b;
        do {
            a = 2 * cx_rng_uniform(rng) - 1;
            b = 2 * cx_rng_uniform(rng) - 1;
        } while (fabsf(a) < 0.1f || fabsf(b) < 0.1f);
        x[2 * i] = a;
        x[2 * i + 1] = b;
        y[i] = (a > 0) != (b > 0);
    }
}

/* Trains spec on (x, y) for epochs with batch size 32 and Adam; returns the
 * model. */
static cx_model *train(const char *spec, const float *x, const int *y, int n, int epochs,
                       uint64_t seed)
{
    enum { B = 32 };
    cx_error err;
    cx_model *m;
    if (cx_model_create(&m, spec, NULL, &err)) return NULL;
    cx_model_init(m, seed);
    cx_model_reserve(m, B, &err);
    cx_model_set_training(m, 1);
    cx_optim_config cfg = cx_optim_defaults(CX_OPT_ADAM);
    cx_optim *o;
    cx_optim_create(&o, m, &cfg, &err);
    int in = (int)cx_shape_size(cx_model_input_shape(m));
    int k = (int)cx_shape_size(cx_model_output_shape(m));
    int *order = malloc(n * sizeof *order);
    float *bx = malloc((size_t)B * in * sizeof *bx), *dz = malloc((size_t)B * k * sizeof *dz);
    int by[B];
    cx_rng rng;
    cx_rng_seed(&rng, seed);
    for (int i = 0; i < n; i++)
        order[i] = i;
    long steps = (long)epochs * ((n + B - 1) / B), t = 0;
    cx_schedule sched = cx_schedule_make(CX_SCHED_ONECYCLE, 0.02f, steps);
    for (int e = 0; e < epochs; e++) {
        cx_rng_shuffle(&rng, order, n);
        for (int s = 0; s < n; s += B) {
            int nb = n - s < B ? n - s : B;
            for (int i = 0; i < nb; i++) {
                memcpy(bx + (size_t)i * in, x + (size_t)order[s + i] * in, in * sizeof *bx);
                by[i] = y[order[s + i]];
            }
            cx_model_zero_grad(m);
            const float *z = cx_model_forward(m, nb, bx);
            cx_softmax_xent(z, by, nb, k, 0.0f, dz, NULL);
            cx_model_backward(m, nb, dz);
            cx_optim_step(o, cx_schedule_lr(&sched, t++));
        }
    }
    cx_model_set_training(m, 0);
    cx_optim_free(o);
    free(order), free(bx), free(dz);
    return m;
}

static double accuracy(cx_model *m, const float *x, const int *y, int n)
{
    int in = (int)cx_shape_size(cx_model_input_shape(m));
    int k = (int)cx_shape_size(cx_model_output_shape(m)), right = 0;
    for (int i = 0; i < n; i++) {
        const float *z = cx_model_forward(m, 1, x + (size_t)i * in);
        int best = 0;
        for (int j = 1; j < k; j++)
            if (z[j] > z[best]) best = j;
        right += best == y[i];
    }
    return (double)right / n;
}

static void test_mlp_learns_xor(void)
{
    enum { N = 1000, NT = 500 };
    float *x = malloc(sizeof(float) * 2 * (N + NT));
    int *y = malloc(sizeof(int) * (N + NT));
    cx_rng rng;
    cx_rng_seed(&rng, 42);
    make_xor(N + NT, x, y, &rng);
    cx_model *m = train("input 2; dense 32 relu; dense 32 relu; dense 2", x, y, N, 30, 1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    double acc = accuracy(m, x + 2 * N, y + N, NT);
    fprintf(stderr, "  XOR held-out accuracy %.1f%%\n", 100 * acc);
    CU_ASSERT(acc >= 0.97);
    cx_model_free(m);
    free(x), free(y);
}

static void test_reproducible(void)
{
    enum { N = 400 };
    float x[2 * N];
    int y[N];
    cx_rng rng;
    cx_rng_seed(&rng, 5);
    make_xor(N, x, y, &rng);
    const char *spec = "input 2; dense 64 relu; dropout 0.2; dense 64; batchnorm; tanh; dense 2";
    cx_set_threads(2);
    cx_model *a = train(spec, x, y, N, 3, 9), *b = train(spec, x, y, N, 3, 9);
    cx_model *c = train(spec, x, y, N, 3, 10);
    size_t na, nb;
    float *wa = cx_model_param_block(a, &na), *wb = cx_model_param_block(b, &nb);
    float *wc = cx_model_param_block(c, NULL);
    CU_ASSERT_EQUAL(na, nb);
    CU_ASSERT_EQUAL(memcmp(wa, wb, na * sizeof(float)), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(wa, wc, na * sizeof(float)), 0);
    cx_set_threads(1);
    cx_model_free(a), cx_model_free(b), cx_model_free(c);
}

static void test_schedules(void)
{
    cx_schedule s = cx_schedule_make(CX_SCHED_STEP, 1.0f, 300);
    CU_ASSERT_DOUBLE_EQUAL(cx_schedule_lr(&s, 0), 1.0, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(cx_schedule_lr(&s, 100), 0.1, 1e-6);
    CU_ASSERT_DOUBLE_EQUAL(cx_schedule_lr(&s, 250), 0.01, 1e-6);
    s = cx_schedule_make(CX_SCHED_COSINE, 1.0f, 1000);
    CU_ASSERT(cx_schedule_lr(&s, 0) < 0.1);                     /* warm-up */
    CU_ASSERT_DOUBLE_EQUAL(cx_schedule_lr(&s, 50), 1.0, 1e-3);  /* peak */
    CU_ASSERT_DOUBLE_EQUAL(cx_schedule_lr(&s, 525), 0.5, 1e-2); /* halfway */
    CU_ASSERT(cx_schedule_lr(&s, 999) < 1e-4);                  /* end */
    s = cx_schedule_make(CX_SCHED_ONECYCLE, 1.0f, 1000);
    CU_ASSERT_DOUBLE_EQUAL(cx_schedule_lr(&s, 0), 0.04, 1e-6);  /* lr / 25 */
    CU_ASSERT_DOUBLE_EQUAL(cx_schedule_lr(&s, 300), 1.0, 1e-6); /* peak after 30% */
    CU_ASSERT(cx_schedule_lr(&s, 999) < 1e-4);
    float prev = 2;
    for (long t = 300; t < 1000; t += 50) {
        CU_ASSERT(cx_schedule_lr(&s, t) <= prev);
        prev = cx_schedule_lr(&s, t);
    }
    cx_error err;
    cx_schedule_kind k;
    CU_ASSERT_NOT_EQUAL(cx_schedule_parse("linear-ish", &k, &err), CX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "linear-ish"));
}

static void test_clip(void)
{
    cx_error err;
    cx_model *m;
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&m, "input 3; dense 2", NULL, &err), CX_OK);
    cx_param *w = cx_model_tensor(m, 0), *b = cx_model_tensor(m, 1);
    for (int i = 0; i < 6; i++)
        w->g[i] = 2.0f;
    b->g[0] = b->g[1] = 2.0f; /* norm sqrt(8 * 4) = sqrt(32) */
    float norm = cx_grad_clip(m, 1.0f);
    CU_ASSERT_DOUBLE_EQUAL(norm, sqrt(32.0), 1e-4);
    double sq = 0;
    for (int i = 0; i < 6; i++)
        sq += w->g[i] * w->g[i];
    sq += b->g[0] * b->g[0] + b->g[1] * b->g[1];
    CU_ASSERT_DOUBLE_EQUAL(sqrt(sq), 1.0, 1e-4);
    cx_model_free(m);
}

static void test_init(void)
{
    cx_error err;
    cx_model *m;
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&m, "input 400; dense 300; batchnorm", NULL, &err),
                          CX_OK);
    cx_model_init(m, 3);
    cx_param *w = cx_model_tensor(m, 0);
    double sq = 0;
    for (size_t i = 0; i < w->size; i++)
        sq += (double)w->w[i] * w->w[i];
    /* He: variance 2 / fan_in */
    CU_ASSERT_DOUBLE_EQUAL(sq / w->size, 2.0 / 400, 0.1 * 2.0 / 400);
    CU_ASSERT_EQUAL(cx_model_tensor(m, 1)->w[0], 0.0f); /* bias */
    CU_ASSERT_EQUAL(cx_model_tensor(m, 2)->w[5], 1.0f); /* gamma */
    CU_ASSERT_EQUAL(cx_model_tensor(m, 5)->w[7], 1.0f); /* running var */
    cx_model_free(m);
}

/* ---- cx_train split between threads ------------------------------------- */

typedef struct {
    const float *x;
    const int *y;
    int in;
} mem_src;

static cx_status mem_get(void *ctx, const int *idx, int n, int augment, cx_rng *rng, float *x,
                         int *labels, cx_error *err)
{
    (void)augment, (void)rng, (void)err;
    const mem_src *m = ctx;
    for (int i = 0; i < n; i++) {
        memcpy(x + (size_t)i * m->in, m->x + (size_t)idx[i] * m->in, m->in * sizeof *x);
        labels[i] = m->y[idx[i]];
    }
    return CX_OK;
}

static int argmax3(const float *z)
{
    return z[1] > z[0] ? (z[2] > z[1] ? 2 : 1) : (z[2] > z[0] ? 2 : 0);
}

/* Trains spec with cx_train on `threads` threads; returns its parameters
 * (weights and batch-norm running statistics), malloc'd. */
/* Creates spec (input 1x8x8, weights from seed 4) and trains it with
 * cx_train and cfg (out_path set here) on `threads` threads; *st is
 * cx_train's status. NULL if the spec does not build. */
static cx_model *train_mem(const char *spec, const mem_src *src, int n, int threads,
                           cx_train_config *cfg, cx_status *st)
{
    cx_error err;
    cx_model *m;
    cx_shape in = cx_shape3(1, 8, 8);
    if (cx_model_create(&m, spec, &in, &err)) return NULL;
    cx_model_init(m, 4);
    cx_set_threads(threads);
    cx_train_source ts = {(void *)src, n, mem_get};
    char path[64];
    snprintf(path, sizeof path, "/tmp/cx_test_train_%d.safetensors", (int)getpid());
    cfg->out_path = path;
    cx_train_result res;
    *st = cx_train(m, &ts, NULL, cfg, &res, &err);
    if (*st) fprintf(stderr, "  cx_train: %s\n", err.msg);
    cx_train_result_free(&res);
    remove(path);
    cfg->out_path = NULL;
    cx_set_threads(1);
    return m;
}

/* Trains spec with cx_train on `threads` threads; returns its parameters
 * (weights and batch-norm running statistics), malloc'd. */
static float *train_threads(const char *spec, const mem_src *src, int n, int threads, int epochs,
                            int batch, cx_optim_kind opt, size_t *nw)
{
    cx_train_config cfg = cx_train_defaults();
    cfg.epochs = epochs;
    cfg.batch = batch;
    cfg.lr = 0.05f;
    cfg.schedule = CX_SCHED_CONSTANT;
    cfg.optim = cx_optim_defaults(opt);
    cx_status st;
    cx_model *m = train_mem(spec, src, n, threads, &cfg, &st);
    if (!m) return NULL;
    CU_ASSERT_EQUAL(st, CX_OK);
    float *w = cx_model_param_block(m, nw);
    float *copy = malloc(*nw * sizeof *copy);
    memcpy(copy, w, *nw * sizeof *copy);
    cx_model_free(m);
    return copy;
}

static double max_rel_diff(const float *a, const float *b, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]) / (1e-3 + fabs((double)a[i]));
        if (d > worst) worst = d;
    }
    return worst;
}

/* The batch split between 2 and 3 threads (replicas, batch-norm statistics
 * summed over the shards, gradients summed in rank order) trains the model
 * one thread trains, up to float rounding: one SGD step on the whole set,
 * then 3 epochs of SGD in batches of 32 (the last one short); the same
 * thread count gives the same bits every time, with Adam too. (Adam is not
 * compared across thread counts: a bias before batch normalization has a
 * zero gradient up to rounding, which Adam's normalization turns into
 * steps of the full learning rate either way.) */
static void test_threads(void)
{
    enum { N = 200 };
    static float x[N * 64];
    static int y[N];
    cx_rng rng;
    cx_rng_seed(&rng, 11);
    for (int i = 0; i < N; i++) {
        double s = 0;
        for (int j = 0; j < 64; j++) {
            x[i * 64 + j] = 2 * cx_rng_uniform(&rng) - 1;
            s += x[i * 64 + j] * (j < 32 ? 1 : -1);
        }
        y[i] = s > 1 ? 2 : s < -1 ? 0 : 1;
    }
    mem_src src = {x, y, 64};
    const char *spec = "conv 4 3 pad=1; batchnorm; relu; maxpool 2; flatten; dense 16; batchnorm; "
                       "tanh; dense 3";
    size_t n1, n2, n3, n2b;
    float *w1 = train_threads(spec, &src, N, 1, 1, N, CX_OPT_SGD, &n1);
    float *w2 = train_threads(spec, &src, N, 2, 1, N, CX_OPT_SGD, &n2);
    float *w3 = train_threads(spec, &src, N, 3, 1, N, CX_OPT_SGD, &n3);
    CU_ASSERT_FATAL(w1 && w2 && w3 && n1 == n2 && n1 == n3);
    double d2 = max_rel_diff(w1, w2, n1), d3 = max_rel_diff(w1, w3, n1);
    fprintf(stderr, "  one SGD step: 2 threads within %.2g, 3 threads within %.2g of 1 thread\n",
            d2, d3);
    CU_ASSERT(d2 < 1e-5);
    CU_ASSERT(d3 < 1e-5);
    free(w1), free(w2), free(w3);

    w1 = train_threads(spec, &src, N, 1, 3, 32, CX_OPT_SGD, &n1);
    w2 = train_threads(spec, &src, N, 2, 3, 32, CX_OPT_SGD, &n2);
    CU_ASSERT_FATAL(w1 && w2);
    d2 = max_rel_diff(w1, w2, n1);
    fprintf(stderr, "  21 SGD steps: 2 threads within %.2g of 1 thread\n", d2);
    CU_ASSERT(d2 < 5e-4);
    free(w1), free(w2);
    w2 = train_threads(spec, &src, N, 2, 3, 32, CX_OPT_ADAM, &n2);
    float *w2b = train_threads(spec, &src, N, 2, 3, 32, CX_OPT_ADAM, &n2b);
    CU_ASSERT_FATAL(w2 && w2b && n2 == n2b);
    CU_ASSERT_EQUAL(memcmp(w2, w2b, n2 * sizeof *w2), 0);
    free(w2), free(w2b);
}

/* Knowledge distillation: a student whose labels are all class 0 learns
 * the teacher's decisions instead when the teacher's weight is 1 (on 1 and
 * on 2 threads), and its labels with the teacher switched off (weight 0);
 * a teacher of another output size is refused. */
static float *distil(const char *spec, const mem_src *src, int n, cx_model *teacher, float weight,
                     int threads, cx_status *st)
{
    cx_train_config cfg = cx_train_defaults();
    cfg.epochs = 40;
    cfg.batch = 32;
    cfg.lr = 0.01f;
    cfg.optim = cx_optim_defaults(CX_OPT_ADAM);
    cfg.teacher = teacher;
    cfg.teacher_weight = weight;
    cx_model *m = train_mem(spec, src, n, threads, &cfg, st);
    if (!m) return NULL;
    cx_error err;
    float *z = NULL;
    if (!*st && !cx_model_reserve(m, n, &err)) {
        cx_model_set_training(m, 0);
        const float *out = cx_model_forward(m, n, src->x);
        z = malloc((size_t)n * 3 * sizeof *z);
        memcpy(z, out, (size_t)n * 3 * sizeof *z);
    }
    cx_model_free(m);
    return z;
}

static void test_teacher(void)
{
    enum { N = 256 };
    static float x[N * 64];
    static int y[N];
    cx_rng rng;
    cx_rng_seed(&rng, 21);
    for (int i = 0; i < N * 64; i++)
        x[i] = 2 * cx_rng_uniform(&rng) - 1;
    mem_src src = {x, y, 64}; /* every label 0 */
    cx_error err;
    cx_model *t, *bad;
    cx_shape in = cx_shape3(1, 8, 8);
    CU_ASSERT_FATAL(cx_model_create(&t, "flatten; dense 3", &in, &err) == CX_OK);
    cx_model_init(t, 9);
    CU_ASSERT_FATAL(cx_model_reserve(t, N, &err) == CX_OK);
    int pred[N], counts[3] = {0};
    const float *tz = cx_model_forward(t, N, x);
    for (int i = 0; i < N; i++)
        counts[pred[i] = argmax3(tz + 3 * i)]++;
    CU_ASSERT(counts[0] < N / 2 && counts[1] > N / 8 && counts[2] > N / 8);
    const char *spec = "flatten; dense 16; tanh; dense 3";
    for (int threads = 1; threads <= 2; threads++) {
        cx_status st;
        float *z = distil(spec, &src, N, t, 1.0f, threads, &st);
        CU_ASSERT_EQUAL(st, CX_OK);
        CU_ASSERT_FATAL(z != NULL);
        int agree = 0;
        for (int i = 0; i < N; i++)
            agree += argmax3(z + 3 * i) == pred[i];
        fprintf(stderr, "  %d thread(s): the student agrees with the teacher on %d of %d\n",
                threads, agree, N);
        CU_ASSERT(agree >= N * 9 / 10);
        free(z);
    }
    cx_status st;
    float *z = distil(spec, &src, N, t, 0.0f, 1, &st);
    CU_ASSERT_FATAL(z != NULL);
    int zeros = 0;
    for (int i = 0; i < N; i++)
        zeros += argmax3(z + 3 * i) == 0;
    CU_ASSERT_EQUAL(zeros, N);
    free(z);
    CU_ASSERT_FATAL(cx_model_create(&bad, "flatten; dense 4", &in, &err) == CX_OK);
    cx_model_init(bad, 9);
    z = distil(spec, &src, N, bad, 0.5f, 1, &st);
    CU_ASSERT_EQUAL(st, CX_ERR_ARG);
    CU_ASSERT_PTR_NULL(z);
    cx_model_free(bad);
    cx_model_free(t);
}

int main(void)
{
    cx_set_threads(1);
    static const cx_test tests[] = {
        {"an MLP learns XOR-like points (>= 97% held out)", test_mlp_learns_xor},
        {"same seed, data and threads give bit-identical training", test_reproducible},
        {"learning-rate schedules", test_schedules},
        {"gradient clipping by global norm", test_clip},
        {"He initialization and constant inits", test_init},
        {"training split between 2 and 3 threads", test_threads},
        {"a student learns its teacher's decisions (distillation)", test_teacher},
        {NULL, NULL},
    };
    return cx_test_main("train", tests);
}
