/* Cortex side of bench/conv.sh: conv2d forward + backward time for the
 * layers of the reference CNN, calling the layer's kernels directly with a
 * workspace of the size the layer asks for (as a model would). At more
 * than one thread the batch is split as training splits it (team.h): each
 * thread runs its shard through its replica's layer with single-threaded
 * OpenBLAS calls, then the weight gradients are summed in rank order.
 *
 *   bench_conv [THREADS[,THREADS...]] [MIN_SECONDS] [CASE_PREFIX]
 *
 * Prints one line per case: "cortex THREADS NAME MS_PER_ITER". Cases whose
 * name starts with x are extra shapes, run only when CASE_SUBSTRING selects
 * them (CASE_PREFIX "x"). The first
 * layer (1 input channel) does not compute the input gradient (dx NULL);
 * the others do, as in a network. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cortex/cortex.h"
#include "team.h"

typedef struct {
    const char *name;
    int n, c, h, w, f, k, stride, pad, need_dx;
    int extra; /* run only when named (used to tune the layer's choices) */
} bench_case;

static const bench_case cases[] = {
    {"64x32x28x28_32f3", 64, 32, 28, 28, 32, 3, 1, 1, 1, 0},
    {"64x1x28x28_32f3", 64, 1, 28, 28, 32, 3, 1, 1, 0, 0},
    {"64x32x14x14_64f3", 64, 32, 14, 14, 64, 3, 1, 1, 1, 0},
    {"x64x3x32x32_32f3", 64, 3, 32, 32, 32, 3, 1, 1, 0, 1},
    {"x64x4x28x28_16f3", 64, 4, 28, 28, 16, 3, 1, 1, 1, 1},
    {"x64x8x28x28_16f3", 64, 8, 28, 28, 16, 3, 1, 1, 1, 1},
    {"x64x16x28x28_16f3", 64, 16, 28, 28, 16, 3, 1, 1, 1, 1},
    {"x64x64x7x7_64f3", 64, 64, 7, 7, 64, 3, 1, 1, 1, 1},
    {"x64x128x8x8_128f3", 64, 128, 8, 8, 128, 3, 1, 1, 1, 1},
    {"x64x64x14x14_128f1", 64, 64, 14, 14, 128, 1, 1, 0, 1, 1},
    {"x64x32x28x28_64f3s2", 64, 32, 28, 28, 64, 3, 2, 1, 1, 1},
    {"x64x16x28x28_16f5", 64, 16, 28, 28, 16, 5, 1, 2, 1, 1},
};

/* One rank's share: its samples through its replica's layer. */
typedef struct {
    const bench_case *bc;
    float *x, *y, *dy, *dx;
    float *work[CX_TEAM_MAX];
    cx_rng rng[CX_TEAM_MAX];
} shard_ctx;

static void shard(void *ctx, cx_model *m, int rank, int lo, int hi)
{
    shard_ctx *sc = ctx;
    cx_layer *l = cx_model_layer(m, 0);
    size_t in = cx_shape_size(&l->in), out = cx_shape_size(&l->out);
    cx_run r = {1, &sc->rng[rank], sc->work[rank], NULL};
    cx_model_zero_grad(m);
    l->kind->forward(l, &r, hi - lo, sc->x + lo * in, sc->y + lo * out);
    l->kind->backward(l, &r, hi - lo, sc->x + lo * in, sc->y + lo * out, sc->dy + lo * out,
                      sc->dx ? sc->dx + lo * in : NULL);
}

static int run_case(const bench_case *bc, int threads, double min_time)
{
    char spec[160];
    snprintf(spec, sizeof spec, "input %d %d %d; conv %d %d stride=%d pad=%d", bc->c, bc->h, bc->w,
             bc->f, bc->k, bc->stride, bc->pad);
    cx_error err;
    cx_model *m;
    if (cx_model_create(&m, spec, NULL, &err)) {
        fprintf(stderr, "bench_conv: %s\n", err.msg);
        return 1;
    }
    cx_model_init(m, 1);
    cx_layer *l = cx_model_layer(m, 0);
    size_t in_n = (size_t)bc->n * cx_shape_size(&l->in);
    size_t out_n = (size_t)bc->n * cx_shape_size(&l->out);
    size_t work_n = l->kind->workspace ? l->kind->workspace(l, bc->n) : 0;
    float *x = cx_alloc_floats(in_n), *dx = cx_alloc_floats(in_n);
    float *y = cx_alloc_floats(out_n), *dy = cx_alloc_floats(out_n);
    float *work = cx_alloc_floats(work_n ? work_n : 1);
    if (!x || !dx || !y || !dy || !work) {
        fprintf(stderr, "bench_conv: out of memory\n");
        return 1;
    }
    cx_rng rng;
    cx_rng_seed(&rng, 2);
    for (size_t i = 0; i < in_n; i++)
        x[i] = cx_rng_normal(&rng);
    for (size_t i = 0; i < out_n; i++)
        dy[i] = cx_rng_normal(&rng);
    cx_run r = {1, &rng, work, NULL};
    float *dxp = bc->need_dx ? dx : NULL;
    cx_team *team = NULL;
    if (cx_team_create(&team, m, bc->n, &err)) {
        fprintf(stderr, "bench_conv: %s\n", err.msg);
        return 1;
    }
    static shard_ctx sc;
    memset(&sc, 0, sizeof sc);
    sc.bc = bc, sc.x = x, sc.y = y, sc.dy = dy, sc.dx = dxp;
    if (team)
        for (int i = 0; i < team->size; i++) {
            cx_layer *li = cx_model_layer(team->m[i], 0);
            size_t wn = li->kind->workspace ? li->kind->workspace(li, bc->n) : 0;
            sc.work[i] = cx_alloc_floats(wn ? wn : 1);
            cx_rng_seed(&sc.rng[i], 3 + (uint64_t)i);
        }

    for (int i = 0; i < 3; i++) {
        if (team) {
            cx_team_run(team, bc->n, shard, &sc, 1);
        } else {
            l->kind->forward(l, &r, bc->n, x, y);
            l->kind->backward(l, &r, bc->n, x, y, dy, dxp);
        }
    }
    double best = 1e30, spent = 0.0;
    while (spent < min_time) {
        enum { REPS = 5 };
        double t0 = cx_now();
        for (int i = 0; i < REPS; i++) {
            if (team) {
                cx_team_run(team, bc->n, shard, &sc, 1);
            } else {
                cx_model_zero_grad(m);
                l->kind->forward(l, &r, bc->n, x, y);
                l->kind->backward(l, &r, bc->n, x, y, dy, dxp);
            }
        }
        double dt = (cx_now() - t0) / REPS;
        if (dt < best) best = dt;
        spent += dt * REPS;
    }
    if (team)
        for (int i = 0; i < team->size; i++)
            cx_free_floats(sc.work[i]);
    cx_team_free(team);
    printf("cortex %d %s %.3f\n", threads, bc->name, best * 1e3);
    fflush(stdout);
    cx_free_floats(x);
    cx_free_floats(dx);
    cx_free_floats(y);
    cx_free_floats(dy);
    cx_free_floats(work);
    cx_model_free(m);
    return 0;
}

int main(int argc, char **argv)
{
    const char *threads = argc > 1 ? argv[1] : "1,2";
    double min_time = argc > 2 ? atof(argv[2]) : 1.0;
    const char *only = argc > 3 ? argv[3] : NULL; /* run only cases whose name has this */
    char list[64];
    snprintf(list, sizeof list, "%s", threads);
    for (char *t = strtok(list, ","); t; t = strtok(NULL, ",")) {
        int nt = atoi(t);
        if (nt < 1) {
            fprintf(stderr, "bench_conv: bad thread count '%s'\n", t);
            return 2;
        }
        cx_set_threads(nt);
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            if ((only ? !strncmp(cases[i].name, only, strlen(only)) : !cases[i].extra) &&
                run_case(&cases[i], nt, min_time))
                return 1;
    }
    return 0;
}
