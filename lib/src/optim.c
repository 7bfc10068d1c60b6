#define _POSIX_C_SOURCE 200809L
#include "cortex/optim.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "team.h"

struct cx_optim {
    cx_model *m;
    cx_optim_config cfg;
    long t;
    int nstate;
    float *state[2];
    size_t n;
};

cx_optim_config cx_optim_defaults(cx_optim_kind kind)
{
    cx_optim_config c = {0};
    c.kind = kind;
    c.momentum = 0.9f;
    c.beta1 = 0.9f;
    c.beta2 = 0.999f;
    c.eps = 1e-8f;
    c.weight_decay = kind == CX_OPT_ADAMW ? 0.01f : 0.0f;
    return c;
}

cx_status cx_optim_parse(const char *name, cx_optim_config *cfg, cx_error *err)
{
    if (!strcmp(name, "sgd"))
        *cfg = cx_optim_defaults(CX_OPT_SGD);
    else if (!strcmp(name, "nesterov")) {
        *cfg = cx_optim_defaults(CX_OPT_SGD);
        cfg->nesterov = 1;
    } else if (!strcmp(name, "adam"))
        *cfg = cx_optim_defaults(CX_OPT_ADAM);
    else if (!strcmp(name, "adamw"))
        *cfg = cx_optim_defaults(CX_OPT_ADAMW);
    else
        return cx_fail(err, CX_ERR_ARG, "unknown optimizer '%s' (sgd, nesterov, adam, adamw)",
                       name);
    return CX_OK;
}

cx_status cx_optim_create(cx_optim **out, cx_model *m, const cx_optim_config *cfg, cx_error *err)
{
    if (cx_model_num_members(m))
        return cx_fail(err, CX_ERR_ARG,
                       "optimizer: an ensemble is not trained as a whole; train its members "
                       "one by one and combine them");
    cx_optim *o = calloc(1, sizeof *o);
    if (!o) return cx_fail(err, CX_ERR_NOMEM, "optimizer: out of memory");
    o->m = m;
    o->cfg = *cfg;
    cx_model_param_block(m, &o->n);
    o->nstate = cfg->kind == CX_OPT_SGD ? (cfg->momentum > 0.0f ? 1 : 0) : 2;
    for (int k = 0; k < o->nstate; k++)
        if (!(o->state[k] = cx_alloc_floats(o->n))) {
            cx_optim_free(o);
            return cx_fail(err, CX_ERR_NOMEM, "optimizer: out of memory");
        }
    *out = o;
    return CX_OK;
}

void cx_optim_free(cx_optim *o)
{
    if (!o) return;
    cx_free_floats(o->state[0]);
    cx_free_floats(o->state[1]);
    free(o);
}

float cx_grad_clip(cx_model *m, float max_norm)
{
    double sq = 0.0;
    int nt = cx_model_num_tensors(m);
    for (int k = 0; k < nt; k++) {
        cx_param *p = cx_model_tensor(m, k);
        if (!p->trainable) continue;
        for (size_t i = 0; i < p->size; i++)
            sq += (double)p->g[i] * p->g[i];
    }
    float norm = (float)sqrt(sq);
    if (max_norm > 0.0f && norm > max_norm) {
        float s = max_norm / (norm + 1e-6f);
        for (int k = 0; k < nt; k++) {
            cx_param *p = cx_model_tensor(m, k);
            if (!p->trainable) continue;
            for (size_t i = 0; i < p->size; i++)
                p->g[i] *= s;
        }
    }
    return norm;
}

/* w, g, b: (size)   b = mu b + (g + wd w);  w -= lr (nesterov ? g' + mu b : b) */
static void sgd_update(const cx_optim_config *c, float lr, float wd, float *w, const float *g,
                       float *b, size_t size)
{
    for (size_t i = 0; i < size; i++) {
        float gi = g[i] + wd * w[i];
        if (b) {
            b[i] = c->momentum * b[i] + gi;
            gi = c->nesterov ? gi + c->momentum * b[i] : b[i];
        }
        w[i] -= lr * gi;
    }
}

/* Adam with bias correction: m = b1 m + (1-b1) g, v = b2 v + (1-b2) g^2,
 * w -= lr (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps) */
static void adam_update(const cx_optim_config *c, float lr, float wd, long t, float *w,
                        const float *g, float *mo, float *ve, size_t size)
{
    float bc1 = 1.0f - powf(c->beta1, (float)t), bc2 = 1.0f - powf(c->beta2, (float)t);
    float step = lr / bc1, isq = 1.0f / sqrtf(bc2);
    int decoupled = c->kind == CX_OPT_ADAMW;
    for (size_t i = 0; i < size; i++) {
        float gi = g[i];
        if (decoupled)
            w[i] -= lr * wd * w[i];
        else
            gi += wd * w[i];
        mo[i] = c->beta1 * mo[i] + (1.0f - c->beta1) * gi;
        ve[i] = c->beta2 * ve[i] + (1.0f - c->beta2) * gi * gi;
        w[i] -= step * mo[i] / (sqrtf(ve[i]) * isq + c->eps);
    }
}

float cx_optim_begin_step(cx_optim *o)
{
    /* The norm costs a pass over every gradient: only when clipping. */
    float norm = o->cfg.clip_norm > 0.0f ? cx_grad_clip(o->m, o->cfg.clip_norm) : 0.0f;
    o->t++;
    return norm;
}

void cx_optim_update_range(cx_optim *o, float lr, size_t a, size_t b)
{
    float *base = cx_model_param_block(o->m, NULL);
    int nt = cx_model_num_tensors(o->m);
    for (int k = 0; k < nt; k++) {
        cx_param *p = cx_model_tensor(o->m, k);
        if (!p->trainable) continue;
        size_t off = (size_t)(p->w - base), lo = off > a ? off : a,
               hi = off + p->size < b ? off + p->size : b;
        if (lo >= hi) continue;
        size_t i = lo - off, n = hi - lo;
        float wd = p->decay ? o->cfg.weight_decay : 0.0f;
        if (o->cfg.kind == CX_OPT_SGD)
            sgd_update(&o->cfg, lr, wd, p->w + i, p->g + i,
                       o->nstate ? o->state[0] + off + i : NULL, n);
        else
            adam_update(&o->cfg, lr, wd, o->t, p->w + i, p->g + i, o->state[0] + off + i,
                        o->state[1] + off + i, n);
    }
}

float cx_optim_step(cx_optim *o, float lr)
{
    float norm = cx_optim_begin_step(o);
    cx_optim_update_range(o, lr, 0, o->n);
    return norm;
}

long cx_optim_steps(const cx_optim *o)
{
    return o->t;
}
int cx_optim_num_state(const cx_optim *o)
{
    return o->nstate;
}
void cx_optim_set_steps(cx_optim *o, long steps)
{
    o->t = steps;
}

float *cx_optim_state(cx_optim *o, int k, size_t *n)
{
    if (k < 0 || k >= o->nstate) return NULL;
    if (n) *n = o->n;
    return o->state[k];
}

cx_status cx_schedule_parse(const char *name, cx_schedule_kind *kind, cx_error *err)
{
    if (!strcmp(name, "constant"))
        *kind = CX_SCHED_CONSTANT;
    else if (!strcmp(name, "step"))
        *kind = CX_SCHED_STEP;
    else if (!strcmp(name, "cosine"))
        *kind = CX_SCHED_COSINE;
    else if (!strcmp(name, "onecycle") || !strcmp(name, "one-cycle"))
        *kind = CX_SCHED_ONECYCLE;
    else
        return cx_fail(err, CX_ERR_ARG, "unknown schedule '%s' (constant, step, cosine, onecycle)",
                       name);
    return CX_OK;
}

cx_schedule cx_schedule_make(cx_schedule_kind kind, float lr, long total_steps)
{
    cx_schedule s = {0};
    s.kind = kind;
    s.lr = lr;
    s.total_steps = total_steps > 0 ? total_steps : 1;
    s.gamma = 0.1f;
    s.step_size = s.total_steps / 3 > 0 ? s.total_steps / 3 : 1;
    if (kind == CX_SCHED_ONECYCLE) s.warmup_steps = (long)(0.3 * (double)s.total_steps);
    if (kind == CX_SCHED_COSINE) s.warmup_steps = s.total_steps / 20;
    return s;
}

static float cosine(float hi, float lo, double frac)
{
    if (frac < 0.0) frac = 0.0;
    if (frac > 1.0) frac = 1.0;
    return lo + 0.5f * (hi - lo) * (1.0f + (float)cos(3.14159265358979 * frac));
}

float cx_schedule_lr(const cx_schedule *s, long step)
{
    switch (s->kind) {
    case CX_SCHED_CONSTANT:
        return s->lr;
    case CX_SCHED_STEP:
        return s->lr * powf(s->gamma, (float)(step / (s->step_size > 0 ? s->step_size : 1)));
    case CX_SCHED_COSINE:
        if (step < s->warmup_steps) return s->lr * (float)(step + 1) / (float)s->warmup_steps;
        return cosine(s->lr, s->min_lr,
                      (double)(step - s->warmup_steps) /
                          (double)(s->total_steps - s->warmup_steps > 0
                                       ? s->total_steps - s->warmup_steps
                                       : 1));
    case CX_SCHED_ONECYCLE: {
        float start = s->lr / 25.0f, end = start / 1e4f;
        if (step < s->warmup_steps)
            return cosine(start, s->lr, (double)step / (double)s->warmup_steps);
        long rest = s->total_steps - s->warmup_steps;
        return cosine(s->lr, end, (double)(step - s->warmup_steps) / (double)(rest > 0 ? rest : 1));
    }
    }
    return s->lr;
}
