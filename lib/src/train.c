#define _POSIX_C_SOURCE 200809L
#include "cortex/train.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cortex/comm.h"
#include "cortex/io.h"
#include "cortex/loss.h"
#include "model_util.h"
#include "team.h"

cx_train_config cx_train_defaults(void)
{
    cx_train_config c = {0};
    c.epochs = 10;
    c.batch = 64;
    c.lr = 1e-3f;
    c.schedule = CX_SCHED_ONECYCLE;
    c.optim = cx_optim_defaults(CX_OPT_ADAMW);
    c.seed = 1;
    return c;
}

/* A generator for the randomness at one position of the run (what: 1 shuffle,
 * 2 augmentation, 3 dropout), independent of everything before it. */
static void derive(cx_rng *rng, uint64_t seed, uint64_t what, uint64_t a, uint64_t b)
{
    uint64_t h = seed * 0x9e3779b97f4a7c15ULL;
    h ^= what + 0x632be59bd9b4e019ULL + (h << 6) + (h >> 2);
    h ^= a * 0xbf58476d1ce4e5b9ULL + (h << 6) + (h >> 2);
    h ^= b * 0x94d049bb133111ebULL + (h << 6) + (h >> 2);
    cx_rng_seed(rng, h);
}

/* The same for shard g of a batch (shard 0: derive's own generator). */
static void derive_shard(cx_rng *rng, uint64_t seed, uint64_t what, uint64_t a, uint64_t b,
                         uint64_t g)
{
    derive(rng, g ? seed ^ (g * 0xd6e8feb86659fd93ULL) : seed, what, a, b);
}

/* Everything the loop carries between batches; what a checkpoint holds. */
typedef struct {
    int epoch;  /* 0-based epoch in progress */
    long batch; /* next batch within it */
    long step;  /* optimizer steps so far */
    double loss_sum;
    long correct, seen;
    double epoch_seconds;      /* time spent in this epoch before a resume */
    float best_acc, best_loss; /* ties in accuracy go to the lower loss */
    int best_epoch;
} loop_state;

static int argmax(const float *z, int k)
{
    int best = 0;
    for (int j = 1; j < k; j++)
        if (z[j] > z[best]) best = j;
    return best;
}

/* The communicator of a run: NULL for a single process. */
static cx_comm *run_comm(void)
{
    cx_comm *c = cx_get_comm();
    return cx_comm_size(c) > 1 ? c : NULL;
}

/* Forward only, over the team if there is one (its shards each a batch's
 * part; batch normalization uses its running statistics, no exchange), and
 * over the processes of cm: each batch's shard cm's rank, the per-batch
 * loss sums, the right answers and the predictions summed at the end. */
static cx_status evaluate(cx_model *m, cx_team *tm, cx_comm *cm, const cx_train_source *src,
                          int batch, int *pred, int *truth, float *loss, float *acc, cx_error *err)
{
    int in = (int)cx_shape_size(cx_model_input_shape(m));
    int k = (int)cx_shape_size(cx_model_output_shape(m));
    int R = cx_comm_rank(cm), N = cx_comm_size(cm);
    if (batch <= 0) batch = 64;
    cx_status st = cx_model_reserve(m, batch, err);
    if (st) return st;
    long nbatches = (src->count + batch - 1) / batch;
    float *x = cx_alloc_floats((size_t)batch * in);
    int *idx = malloc((size_t)batch * sizeof *idx), *y = malloc((size_t)batch * sizeof *y);
    double *sums = calloc((size_t)nbatches + 1, sizeof *sums); /* [batch losses, right] */
    if (!x || !idx || !y || !sums) {
        st = cx_fail(err, CX_ERR_NOMEM, "evaluate: out of memory");
        goto done;
    }
    if (N > 1) {
        if (pred) memset(pred, 0, (size_t)src->count * sizeof *pred);
        if (truth) memset(truth, 0, (size_t)src->count * sizeof *truth);
    }
    int was_training = cx_model_training(m);
    cx_model_set_training(m, 0);
    cx_rng rng;
    cx_rng_seed(&rng, 0);
    for (long bi = 0; bi < nbatches && !st; bi++) {
        int s = (int)(bi * batch), nb = src->count - s < batch ? src->count - s : batch;
        int lo, hi;
        cx_team_shard(nb, R, N, &lo, &hi);
        nb = hi - lo;
        if (nb == 0) continue;
        for (int i = 0; i < nb; i++)
            idx[i] = s + lo + i;
        if ((st = src->get(src->ctx, idx, nb, 0, &rng, x, y, err))) break;
        const float *z = NULL;
        double total = 0.0;
        if (tm) {
            cx_team_step(tm, 0, nb, x, y, NULL, 0.0f, NULL);
            for (int r = 0; r < tm->size; r++) {
                int rlo, rhi;
                const float *zr = cx_team_scores(tm, r, &rlo, &rhi);
                if (zr)
                    total += (double)cx_softmax_xent(zr, y + rlo, rhi - rlo, k, 0.0f, NULL, NULL) *
                             (rhi - rlo);
            }
        } else {
            z = cx_model_forward(m, nb, x);
            total += (double)cx_softmax_xent(z, y, nb, k, 0.0f, NULL, NULL) * nb;
        }
        sums[bi] = total;
        for (int i = 0; i < nb; i++) {
            const float *zi = tm ? cx_team_row(tm, i) : z + (size_t)i * k;
            int p = argmax(zi, k);
            sums[nbatches] += p == y[i];
            if (pred) pred[s + lo + i] = p;
            if (truth) truth[s + lo + i] = y[i];
        }
    }
    cx_model_set_training(m, was_training);
    if (!st && N > 1) {
        /* (a process whose data failed returns without them: its program
         * ends the job, cx_comm_abort, rather than leave the others waiting) */
        st = cx_comm_sum(cm, sums, (size_t)nbatches + 1, CX_COMM_DOUBLE, err);
        if (!st && pred) st = cx_comm_sum(cm, pred, (size_t)src->count, CX_COMM_INT, err);
        if (!st && truth) st = cx_comm_sum(cm, truth, (size_t)src->count, CX_COMM_INT, err);
    }
    if (!st) {
        double total = 0.0;
        for (long bi = 0; bi < nbatches; bi++)
            total += sums[bi];
        if (loss) *loss = src->count ? (float)(total / src->count) : 0.0f;
        if (acc) *acc = src->count ? (float)(sums[nbatches] / (double)src->count) : 0.0f;
    }
done:
    cx_free_floats(x);
    free(idx);
    free(y);
    free(sums);
    return st;
}

cx_status cx_evaluate(cx_model *m, const cx_train_source *src, int batch, int *pred, int *truth,
                      float *loss, float *acc, cx_error *err)
{
    if (batch <= 0) batch = 64;
    cx_team *tm = NULL;
    cx_status st = cx_model_reserve(m, batch, err);
    if (!st) st = cx_team_create(&tm, m, batch, err);
    if (!st) st = evaluate(m, tm, run_comm(), src, batch, pred, truth, loss, acc, err);
    cx_team_free(tm);
    return st;
}

static char *history_json(const cx_train_result *res)
{
    cJSON *arr = cJSON_CreateArray();
    if (!arr) return NULL;
    for (int i = 0; i < res->nhistory; i++) {
        const cx_epoch_report *r = &res->history[i];
        cJSON *o = cJSON_CreateObject();
        if (!o) break;
        cJSON_AddNumberToObject(o, "epoch", r->epoch);
        cJSON_AddNumberToObject(o, "train_loss", r->train_loss);
        cJSON_AddNumberToObject(o, "train_acc", r->train_acc);
        cJSON_AddNumberToObject(o, "val_loss", r->val_loss);
        cJSON_AddNumberToObject(o, "val_acc", r->val_acc);
        cJSON_AddNumberToObject(o, "lr", r->lr);
        cJSON_AddNumberToObject(o, "seconds", r->seconds);
        cJSON_AddNumberToObject(o, "samples_per_sec", r->samples_per_sec);
        cJSON_AddItemToArray(arr, o);
    }
    char *s = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return s;
}

static float json_num(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? (float)v->valuedouble : 0.0f;
}

static int parse_history(const char *text, cx_train_result *res, int cap)
{
    cJSON *arr = cJSON_Parse(text);
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(arr);
        return -1;
    }
    res->nhistory = 0;
    const cJSON *o;
    cJSON_ArrayForEach(o, arr)
    {
        if (res->nhistory >= cap) break;
        cx_epoch_report *r = &res->history[res->nhistory++];
        memset(r, 0, sizeof *r);
        r->epoch = (int)json_num(o, "epoch");
        r->train_loss = json_num(o, "train_loss");
        r->train_acc = json_num(o, "train_acc");
        r->val_loss = json_num(o, "val_loss");
        r->val_acc = json_num(o, "val_acc");
        r->lr = json_num(o, "lr");
        r->seconds = json_num(o, "seconds");
        r->samples_per_sec = json_num(o, "samples_per_sec");
    }
    cJSON_Delete(arr);
    return 0;
}

/* Stamps the training record into the model's metadata before a save. */
static cx_status stamp_model(cx_model *m, const cx_train_config *cfg, const loop_state *ls,
                             int epochs_done, float val_acc, cx_error *err)
{
    char buf[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    cx_status st = cx_model_set_meta(m, "train.date", buf, err);
    snprintf(buf, sizeof buf, "%d", epochs_done);
    if (!st) st = cx_model_set_meta(m, "train.epochs", buf, err);
    snprintf(buf, sizeof buf, "%d", cfg->epochs);
    if (!st) st = cx_model_set_meta(m, "train.epochs_planned", buf, err);
    snprintf(buf, sizeof buf, "%.6f", (double)val_acc);
    if (!st && val_acc >= 0) st = cx_model_set_meta(m, "train.val_accuracy", buf, err);
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)cfg->seed);
    if (!st) st = cx_model_set_meta(m, "train.seed", buf, err);
    snprintf(buf, sizeof buf, "%ld", ls->step);
    if (!st) st = cx_model_set_meta(m, "train.steps", buf, err);
    return st;
}

static cx_status save_checkpoint(cx_model *m, cx_optim *o, const float *best,
                                 const cx_train_config *cfg, const loop_state *ls,
                                 const cx_train_result *res, int count, cx_error *err)
{
    size_t nw;
    cx_model_param_block(m, &nw);
    cx_st_entry extra[3];
    int ne = 0;
    for (int k = 0; k < cx_optim_num_state(o); k++) {
        static const char *names[2] = {"optim.state0", "optim.state1"};
        extra[ne] = (cx_st_entry){names[k], 1, {(int64_t)nw}, cx_optim_state(o, k, NULL)};
        ne++;
    }
    extra[ne++] = (cx_st_entry){"train.best", 1, {(int64_t)nw}, best};
    char v[13][64];
    snprintf(v[0], 64, "%d", ls->epoch);
    snprintf(v[1], 64, "%ld", ls->batch);
    snprintf(v[2], 64, "%ld", ls->step);
    snprintf(v[3], 64, "%.17g", ls->loss_sum);
    snprintf(v[4], 64, "%ld", ls->correct);
    snprintf(v[5], 64, "%ld", ls->seen);
    snprintf(v[6], 64, "%.9g", (double)ls->best_acc);
    snprintf(v[7], 64, "%d", ls->best_epoch);
    snprintf(v[8], 64, "%llu", (unsigned long long)cfg->seed);
    snprintf(v[9], 64, "%d", cfg->batch);
    snprintf(v[10], 64, "%d", count);
    snprintf(v[11], 64, "%.6f", ls->epoch_seconds);
    snprintf(v[12], 64, "%.9g", (double)ls->best_loss);
    char *hist = history_json(res);
    if (!hist) return cx_fail(err, CX_ERR_NOMEM, "checkpoint: out of memory");
    const char *keys[] = {"train.ckpt.epoch",      "train.ckpt.batch",      "train.ckpt.step",
                          "train.ckpt.loss_sum",   "train.ckpt.correct",    "train.ckpt.seen",
                          "train.ckpt.best_acc",   "train.ckpt.best_epoch", "train.ckpt.seed",
                          "train.ckpt.batch_size", "train.ckpt.count",      "train.ckpt.seconds",
                          "train.ckpt.best_loss",  "train.ckpt.history"};
    const char *vals[] = {v[0], v[1], v[2], v[3],  v[4],  v[5],  v[6],
                          v[7], v[8], v[9], v[10], v[11], v[12], hist};
    cx_status st = cx_model_save_ex(m, cfg->checkpoint_path, ne, extra, 14, keys, vals, err);
    free(hist);
    return st;
}

static int meta_long(const cx_st *st, const char *key, long *out)
{
    const char *s = cx_st_meta(st, key);
    if (!s) return -1;
    char *end;
    *out = strtol(s, &end, 10);
    return *end ? -1 : 0;
}

static int meta_double(const cx_st *st, const char *key, double *out)
{
    const char *s = cx_st_meta(st, key);
    if (!s) return -1;
    char *end;
    *out = strtod(s, &end);
    return *end || !isfinite(*out) ? -1 : 0;
}

static cx_status load_checkpoint(cx_model *m, cx_optim *o, float *best, const cx_train_config *cfg,
                                 loop_state *ls, cx_train_result *res, int count, cx_error *err)
{
    const char *path = cfg->checkpoint_path;
    cx_st *st = NULL;
    cx_model *saved = NULL;
    cx_status rc = cx_st_read(&st, path, err);
    if (rc) return rc;
    if ((rc = cx_model_from_st(&saved, st, path, err))) goto done;
    if (strcmp(cx_model_spec(saved), cx_model_spec(m)) != 0) {
        rc = cx_fail(err, CX_ERR_FORMAT, "%s: the checkpoint is of a different architecture (%s)",
                     path, cx_model_spec(saved));
        goto done;
    }
    long epoch, batch, step, correct, seen, best_epoch, seed, bs, n;
    double loss_sum, best_acc, secs, best_loss = INFINITY;
    if (meta_long(st, "train.ckpt.epoch", &epoch) || meta_long(st, "train.ckpt.batch", &batch) ||
        meta_long(st, "train.ckpt.step", &step) || meta_long(st, "train.ckpt.correct", &correct) ||
        meta_long(st, "train.ckpt.seen", &seen) ||
        meta_long(st, "train.ckpt.best_epoch", &best_epoch) ||
        meta_long(st, "train.ckpt.seed", &seed) || meta_long(st, "train.ckpt.batch_size", &bs) ||
        meta_long(st, "train.ckpt.count", &n) ||
        meta_double(st, "train.ckpt.loss_sum", &loss_sum) ||
        meta_double(st, "train.ckpt.best_acc", &best_acc) ||
        meta_double(st, "train.ckpt.seconds", &secs) || !cx_st_meta(st, "train.ckpt.history") ||
        epoch < 0 || batch < 0 || step < 0 || seen < 0 || correct < 0) {
        rc = cx_fail(err, CX_ERR_FORMAT,
                     "%s: not a Cortex training checkpoint (training state missing or bad)", path);
        goto done;
    }
    const char *bl = cx_st_meta(st, "train.ckpt.best_loss");
    if (bl && strcmp(bl, "inf") != 0 && meta_double(st, "train.ckpt.best_loss", &best_loss)) {
        rc = cx_fail(err, CX_ERR_FORMAT, "%s: bad training state (best_loss)", path);
        goto done;
    }
    if ((uint64_t)seed != cfg->seed || bs != cfg->batch || n != count) {
        rc = cx_fail(err, CX_ERR_ARG,
                     "%s: cannot resume with different settings (checkpoint: seed %ld, batch %ld, "
                     "%ld training examples; now: seed %llu, batch %d, %d examples)",
                     path, seed, bs, n, (unsigned long long)cfg->seed, cfg->batch, count);
        goto done;
    }
    size_t nw;
    cx_model_param_block(m, &nw);
    for (int k = 0; k < cx_optim_num_state(o) && !rc; k++) {
        char name[32];
        snprintf(name, sizeof name, "optim.state%d", k);
        rc = cx_st_get_f32(st, name, cx_optim_state(o, k, NULL), nw, err);
    }
    if (!rc) rc = cx_st_get_f32(st, "train.best", best, nw, err);
    if (!rc) rc = cx_model_copy_weights(m, saved, err);
    if (rc) goto done;
    if (parse_history(cx_st_meta(st, "train.ckpt.history"), res, cfg->epochs)) {
        rc = cx_fail(err, CX_ERR_FORMAT, "%s: bad training history", path);
        goto done;
    }
    cx_optim_set_steps(o, step);
    ls->epoch = (int)epoch;
    ls->batch = batch;
    ls->step = step;
    ls->loss_sum = loss_sum;
    ls->correct = correct;
    ls->seen = seen;
    ls->best_acc = (float)best_acc;
    ls->best_loss = (float)best_loss;
    ls->best_epoch = (int)best_epoch;
    ls->epoch_seconds = secs;
done:
    cx_model_free(saved);
    cx_st_free(st);
    return rc;
}

typedef struct {
    float *x, *dz, *best, *soft;
    int *order, *y;
} buffers;

static void free_buffers(buffers *b)
{
    cx_free_floats(b->x);
    cx_free_floats(b->dz);
    cx_free_floats(b->best);
    cx_free_floats(b->soft);
    free(b->order);
    free(b->y);
}

void cx_train_result_free(cx_train_result *res)
{
    if (!res) return;
    free(res->history);
    res->history = NULL;
    res->nhistory = 0;
}

/* Loads the rows of processes [p0, p1) of a batch of nb examples
 * order[0..nb) (N processes of T threads each) into x and y from row lo
 * of the batch on: each thread's shard g = P * T + t with the augmentation
 * randomness of its place alone, so the rows a shard gets do not depend on
 * which process or thread loads the others. */
static cx_status load_rows(const cx_train_source *src, const int *order, int nb, int p0, int p1,
                           int N, int T, uint64_t seed, int epoch, long batch, int lo, float *x,
                           int *y, int in, cx_error *err)
{
    for (int P = p0; P < p1; P++) {
        int plo, phi;
        cx_team_shard(nb, P, N, &plo, &phi);
        for (int t = 0; t < T; t++) {
            int tlo, thi;
            cx_team_shard(phi - plo, t, T, &tlo, &thi);
            int a = plo + tlo, cnt = thi - tlo;
            if (cnt == 0) continue;
            cx_rng rng;
            derive_shard(&rng, seed, 2, (uint64_t)epoch, (uint64_t)batch, (uint64_t)P * T + t);
            cx_status st = src->get(src->ctx, order + a, cnt, 1, &rng, x + (size_t)(a - lo) * in,
                                    y + (a - lo), err);
            if (st) return st;
        }
    }
    return CX_OK;
}

cx_status cx_train(cx_model *m, const cx_train_source *train, const cx_train_source *val,
                   const cx_train_config *cfg, cx_train_result *res, cx_error *err)
{
    memset(res, 0, sizeof *res);
    if (!train || train->count <= 0) return cx_fail(err, CX_ERR_ARG, "train: no training examples");
    if (cfg->epochs <= 0 || cfg->batch <= 0 || !(cfg->lr > 0) || !cfg->out_path)
        return cx_fail(err, CX_ERR_ARG, "train: epochs, batch, lr and an output path are required");
    if (!(res->history = calloc((size_t)cfg->epochs, sizeof *res->history)))
        return cx_fail(err, CX_ERR_NOMEM, "train: out of memory");
    if (cfg->resume && !cfg->checkpoint_path)
        return cx_fail(err, CX_ERR_ARG, "train: resume needs a checkpoint path");
    const int in = (int)cx_shape_size(cx_model_input_shape(m));
    const int k = (int)cx_shape_size(cx_model_output_shape(m));
    const int n = train->count, B = cfg->batch;
    cx_model *teacher = cfg->teacher && cfg->teacher_weight > 0.0f ? cfg->teacher : NULL;
    if (teacher) {
        if (cx_shape_size(cx_model_input_shape(teacher)) != (size_t)in ||
            cx_shape_size(cx_model_output_shape(teacher)) != (size_t)k)
            return cx_fail(err, CX_ERR_ARG,
                           "train: the teacher takes %zu inputs and gives %zu scores; the model "
                           "%d and %d",
                           cx_shape_size(cx_model_input_shape(teacher)),
                           cx_shape_size(cx_model_output_shape(teacher)), in, k);
        if (!(cfg->teacher_weight <= 1.0f))
            return cx_fail(err, CX_ERR_ARG, "train: the teacher's weight must be in (0, 1]");
        cx_status ts = cx_model_reserve(teacher, B, err);
        if (ts) return ts;
    }
    const long batches = (n + B - 1) / B;
    loop_state ls = {0};
    ls.best_acc = -1.0f;
    ls.best_loss = INFINITY;
    cx_status st = cx_model_reserve(m, B, err);
    if (st) return st;
    cx_optim *o = NULL;
    cx_team *tm = NULL;
    if ((st = cx_optim_create(&o, m, &cfg->optim, err))) return st;
    if ((st = cx_team_create(&tm, m, B, err))) {
        cx_optim_free(o);
        return st;
    }
    /* The processes (cm NULL: this one alone), this one's rank R of N, and
     * its T threads; without a team, solo is its batch normalization's
     * link to the other processes. */
    cx_comm *cm = run_comm();
    const int R = cx_comm_rank(cm), N = cx_comm_size(cm), T = tm ? tm->size : 1;
    cx_group solo = {NULL, 0, 1, 0, NULL, 0, NULL};
    if (cm && !tm) cx_model_set_group(m, &solo);
    double comm_at_start = cx_comm_seconds(cm);
    int stop_all = 0;
    res->processes = N;
    size_t nw;
    float *w = cx_model_param_block(m, &nw);
    float *g = cx_model_grad_block(m, &nw);
    buffers b = {0};
    b.x = cx_alloc_floats((size_t)B * in);
    b.dz = cx_alloc_floats((size_t)B * k);
    b.best = cx_alloc_floats(nw);
    b.y = malloc((size_t)B * sizeof(int));
    b.order = malloc((size_t)n * sizeof(int));
    if (teacher) b.soft = cx_alloc_floats((size_t)B * k);
    if (!b.x || !b.dz || !b.best || !b.y || !b.order || (teacher && !b.soft)) {
        st = cx_fail(err, CX_ERR_NOMEM, "train: out of memory");
        goto done;
    }
    if (cfg->resume && (st = load_checkpoint(m, o, b.best, cfg, &ls, res, n, err))) goto done;
    /* every process starts from process 0's weights */
    if (cm && (st = cx_comm_bcast(cm, w, nw * sizeof *w, 0, err))) goto done;
    if (!cfg->resume) memcpy(b.best, w, nw * sizeof(float));

    cx_schedule sched = cx_schedule_make(cfg->schedule, cfg->lr, (long)cfg->epochs * batches);
    double run_start = cx_now();
    long steps_at_start = ls.step;
    for (; ls.epoch < cfg->epochs; ls.epoch++) {
        cx_rng rng;
        derive(&rng, cfg->seed, 1, (uint64_t)ls.epoch, 0);
        for (int i = 0; i < n; i++)
            b.order[i] = i;
        cx_rng_shuffle(&rng, b.order, n);
        double epoch_start = cx_now() - ls.epoch_seconds;
        long seen_at_start = ls.seen;
        cx_model_set_training(m, 1);
        for (; ls.batch < batches; ls.batch++) {
            /* (over processes, the stop every one agreed on in the last step) */
            if (cm ? stop_all : cfg->stop && *cfg->stop) {
                ls.epoch_seconds = cx_now() - epoch_start;
                res->interrupted = 1;
                if (R == 0 && cfg->checkpoint_path &&
                    (st = save_checkpoint(m, o, b.best, cfg, &ls, res, n, err)))
                    goto done;
                st = cx_fail(err, CX_ERR_INTERRUPTED, "training interrupted at epoch %d, batch %ld",
                             ls.epoch + 1, ls.batch + 1);
                goto done;
            }
            double step_start = cx_now();
            int s = (int)(ls.batch * B), nb = n - s < B ? n - s : B;
            /* This process's rows [lo, hi) of the batch: its shard, or all of
             * a batch too small to give every process one. */
            int whole = nb < N, lo = 0, hi = nb;
            if (!whole) cx_team_shard(nb, R, N, &lo, &hi);
            int nl = hi - lo;
            if ((st = load_rows(train, b.order + s, nb, whole ? 0 : R, whole ? N : R + 1, N, T,
                                cfg->seed, ls.epoch, ls.batch, lo, b.x, b.y, in, err)))
                goto done;
            if (teacher) { /* its probabilities for these rows, as it would run alone */
                cx_model_set_training(teacher, 0);
                cx_softmax(cx_model_forward(teacher, nl, b.x), nl, k, b.soft);
            }
            cx_comm *step_comm = whole ? NULL : cm;
            uint64_t g0 = whole ? 0 : (uint64_t)R * T; /* this process's first shard */
            derive_shard(cx_model_rng(m), cfg->seed, 3, (uint64_t)ls.step, 0, g0);
            double loss;
            long right = 0;
            if (tm) {
                cx_team_set_comm(tm, step_comm);
                cx_team_set_soft(tm, b.soft, teacher ? cfg->teacher_weight : 0.0f);
                for (int r = 1; r < tm->size; r++)
                    derive_shard(cx_model_rng(tm->m[r]), cfg->seed, 3, (uint64_t)ls.step, 0,
                                 g0 + (uint64_t)r);
                cx_team_step_part(tm, 1, nl, nb, b.x, b.y, b.dz, cfg->label_smoothing, &loss);
                for (int i = 0; i < nl; i++)
                    right += argmax(cx_team_row(tm, i), k) == b.y[i];
            } else {
                solo.comm = step_comm;
                cx_model_zero_grad(m);
                const float *z = cx_model_forward(m, nl, b.x);
                if (step_comm)
                    loss = cx_shard_loss(z, b.y, b.soft, teacher ? cfg->teacher_weight : 0.0f, nl,
                                         nb, k, cfg->label_smoothing, b.dz);
                else
                    loss =
                        cx_softmax_xent_soft(z, b.y, b.soft, teacher ? cfg->teacher_weight : 0.0f,
                                             nb, k, cfg->label_smoothing, b.dz, NULL);
                for (int i = 0; i < nl; i++)
                    right += argmax(z + (size_t)i * k, k) == b.y[i];
                cx_model_backward(m, nl, b.dz);
            }
            if (cm) {
                /* The gradients of the whole batch on every process, and the
                 * step's figures with the processes' wish to stop. */
                double t0 = cx_now();
                if (step_comm && (st = cx_comm_sum(cm, g, nw, CX_COMM_FLOAT, err))) goto done;
                res->grad_seconds += cx_now() - t0;
                int mine = !whole || R == 0;
                double fig[3] = {mine ? loss : 0.0, mine ? (double)right : 0.0,
                                 cfg->stop && *cfg->stop ? 1.0 : 0.0};
                if ((st = cx_comm_sum(cm, fig, 3, CX_COMM_DOUBLE, err))) goto done;
                loss = fig[0], right = (long)fig[1], stop_all = fig[2] > 0;
            }
            loss = (float)loss; /* the step's loss as one process reports it */
            ls.correct += right;
            if (tm)
                cx_team_optim_step(tm, o, cx_schedule_lr(&sched, ls.step));
            else
                cx_optim_step(o, cx_schedule_lr(&sched, ls.step));
            ls.step++;
            ls.loss_sum += loss * nb;
            ls.seen += nb;
            res->steps_run++;
            res->step_seconds += cx_now() - step_start;
            if (R == 0 && cfg->on_progress) {
                double now = cx_now(), el = now - epoch_start;
                double run_rate = (double)(ls.step - steps_at_start) / (now - run_start + 1e-9);
                cx_train_progress p = {ls.epoch + 1,
                                       cfg->epochs,
                                       ls.batch + 1,
                                       batches,
                                       (float)(ls.loss_sum / (double)ls.seen),
                                       (double)(ls.seen - seen_at_start) / (el + 1e-9),
                                       (double)((long)cfg->epochs * batches - ls.step) /
                                           (run_rate + 1e-9)};
                cfg->on_progress(cfg->user, &p);
            }
        }
        cx_epoch_report r = {0};
        r.epoch = ls.epoch + 1;
        r.seconds = cx_now() - epoch_start;
        r.samples_per_sec = (double)ls.seen / (r.seconds + 1e-9);
        r.train_loss = (float)(ls.loss_sum / (double)(ls.seen ? ls.seen : 1));
        r.train_acc = (float)ls.correct / (float)(ls.seen ? ls.seen : 1);
        r.lr = cx_schedule_lr(&sched, ls.step > 0 ? ls.step - 1 : 0);
        r.val_loss = r.val_acc = -1.0f;
        if (val && val->count > 0 &&
            (st = evaluate(m, tm, cm, val, B, NULL, NULL, &r.val_loss, &r.val_acc, err)))
            goto done;
        int have_val = val && val->count > 0;
        float score = have_val ? r.val_acc : r.train_acc;
        float score_loss = have_val ? r.val_loss : r.train_loss;
        /* Without validation data the newest model is the one kept. */
        r.improved =
            !have_val || score > ls.best_acc || (score == ls.best_acc && score_loss < ls.best_loss);
        if (r.improved) {
            ls.best_acc = score;
            ls.best_loss = score_loss;
            ls.best_epoch = r.epoch;
            memcpy(b.best, w, nw * sizeof(float));
            if ((st = stamp_model(m, cfg, &ls, r.epoch, r.val_acc, err)) ||
                (R == 0 && (st = cx_model_save(m, cfg->out_path, err))))
                goto done;
        }
        if (res->nhistory < cfg->epochs) res->history[res->nhistory++] = r;
        ls.batch = 0;
        ls.loss_sum = 0;
        ls.correct = ls.seen = 0;
        ls.epoch_seconds = 0;
        if (R == 0 && cfg->checkpoint_path) {
            loop_state next = ls;
            next.epoch++;
            if ((st = save_checkpoint(m, o, b.best, cfg, &next, res, n, err))) goto done;
        }
        if (R == 0 && cfg->on_epoch) cfg->on_epoch(cfg->user, &r);
    }
    /* Leave the caller holding the best model. */
    memcpy(w, b.best, nw * sizeof(float));
done:
    res->epochs_done = res->nhistory ? res->history[res->nhistory - 1].epoch : 0;
    res->best_epoch = ls.best_epoch;
    res->best_val_acc = ls.best_acc;
    res->comm_seconds = cx_comm_seconds(cm) - comm_at_start;
    cx_model_set_training(m, 0);
    if (cm && !tm) cx_model_set_group(m, NULL);
    cx_optim_free(o);
    cx_team_free(tm);
    free_buffers(&b);
    return st;
}
