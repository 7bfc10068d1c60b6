/* Sliding windows (cx_slide, see cortex/model.h).
 *
 * A detector runs its model on the last T frames every few frames, so two
 * consecutive windows share all but a few rows. The layers from `image` up
 * to the first one that is not local in time (seq, gap, dense, ...) map each
 * row (time step) of their output to a short run of input rows; call them
 * the prefix. A row of the prefix's output whose inputs are real frames in
 * both windows (no padding at any layer) is the same in the next window,
 * moved up by shift / S rows (S: the product of the prefix's time strides),
 * so it is kept. The other rows (the new ones at the bottom, and those near
 * either edge whose inputs include padding) come from running the prefix's
 * layers, as models of their own with the same weights, on two strips of
 * the window: one that starts at its top and one that ends at its bottom,
 * whose padding there is the window's own. Every strip row whose inputs all
 * lie inside the strip (or are the window's padding too) is exact; the
 * strips are sized so that those cover every row that is not kept. The
 * layers after the prefix then run on the whole map, as in the window's
 * forward. An ensemble slides each member and mixes their probabilities as
 * its forward does.
 *
 * The figures agree with cx_model_forward to rounding: a strip is a
 * smaller product than the window's, summed in other blocks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cortex/model.h"
#include "layer_util.h"
#include "model_util.h"
#include "rnn_util.h"

#define MAX_PREFIX 64

/* The time axis of one prefix layer: output row o reads input rows
 * o s - p ... o s - p + k - 1 (outside 0 .. rows - 1: padding). */
typedef struct {
    int k, s, p;
} tmap;

typedef struct {
    cx_model *m;               /* the network (not owned) */
    int T, F;                  /* the window, (T, F) */
    int E;                     /* prefix layers [0, E); 0: no cache */
    tmap t[MAX_PREFIX];        /* their time maps */
    int C, To, W;              /* the prefix output, (C, To, W) */
    int S;                     /* the prefix's time stride */
    int complete;              /* it reaches the first layer not local in time */
    cx_model *whole, *rest;    /* the prefix on a window; the layers after it */
    cx_model *top, *bot;       /* the prefix on the strips */
    int top_len, bot_start;    /* rows [0, top_len) and [bot_start, T) */
    unsigned char *interior;   /* To: the row reads no padding */
    unsigned char *valid;      /* To: map holds the row of this window */
    unsigned char *clean_top;  /* To: the top strip gives the row exactly */
    unsigned char *clean_bot;  /* To: so does the bottom strip */
    unsigned char *scratch[2]; /* rows of one layer, rows_cap each */
    int rows_cap;              /* the most rows any prefix layer has */
    float *map;                /* (C, To, W) */
    unsigned char *fresh;      /* To: the row was computed by this call */
    /* seq and a recurrent layer right after the front end: its input
     * projection is kept per row too (cx_gru/lstm_forward_projected) */
    cx_layer *rnn;   /* that layer of m, NULL if not */
    int G;           /* its gates x units */
    float *wt;       /* (C W, G) its W_ih^T */
    float *xw;       /* (To, G) the kept projections */
    float *gather;   /* (To, C W) seq rows to project */
    float *proj;     /* (To, G) their projections */
    float *rnn_y;    /* (To, units) */
    float *rnn_work; /* the layer's workspace for one sequence */
} slide1;

/* A shift that is not a multiple of a time stride of the front end (5
 * frames before a pooling of 2) keeps nothing after that layer; but every
 * P-th window lines up again (10 frames apart). So a network may take its
 * windows in turn through P caches, each of them built for shift P. */
#define MAX_PHASES 4

typedef struct {
    int P, turn;
    slide1 ph[MAX_PHASES];
    int pending[MAX_PHASES]; /* frames each cache's window moved since its last call, -1: unrelated
                              */
} phased;

struct cx_slide {
    int ensemble;
    int n; /* networks: 1, or an ensemble's members */
    phased *net;
    int K;
    float *prob, *out; /* K each */
    int strip_rows;
    int64_t whole; /* calls that ran some network's front end on the whole window */
};

/* The time map of a layer that may belong to the prefix, from its
 * canonical spec; 0 if it does not. */
static int time_map(const cx_layer *l, tmap *t)
{
    int a, b, c, d, e;
    t->k = 1;
    t->s = 1;
    t->p = 0;
    if (l->kind->activation || !strcmp(l->kind->name, "batchnorm") ||
        !strcmp(l->kind->name, "dropout"))
        return 1;
    if (sscanf(l->spec, "conv %d %d stride=%d pad=%d", &a, &b, &c, &d) == 4) {
        t->k = b;
        t->s = c;
        t->p = d;
        return 1;
    }
    if (sscanf(l->spec, "dwconv %d stride=%d pad=%d", &a, &b, &c) == 3) {
        t->k = a;
        t->s = b;
        t->p = c;
        return 1;
    }
    if (!strncmp(l->spec, "maxpool ", 8) || !strncmp(l->spec, "avgpool ", 8)) {
        const char *q = l->spec + 8;
        if (sscanf(q, "%dx%d stride=%dx%d", &a, &b, &c, &d) == 4 ||
            (sscanf(q, "%d stride=%d%n", &a, &c, &e) == 2 && q[e] == '\0')) {
            t->k = a;
            t->s = c;
            return 1;
        }
    }
    return 0;
}

/* Rows out of a layer of n rows in, 0 if none. */
static int rows_out(const tmap *t, int n)
{
    int r = n + 2 * t->p - t->k;
    return r < 0 ? 0 : r / t->s + 1;
}

/* Which prefix output rows (window coordinates, To of them) a run of the
 * prefix on window rows [start, start + len) gives exactly: clean[o]. With
 * start = 0 and len = T, and pad_ok = 0, it marks the rows that read no
 * padding at all (interior). Returns -1 if the strip does not line up with
 * the window (a start that is not a multiple of a stride on the way, or no
 * rows left). */
static int strip_clean(slide1 *s, int start, int len, int pad_ok, unsigned char *clean)
{
    unsigned char *in = s->scratch[0], *out = s->scratch[1];
    int n_win = s->T, n_strip = len, off = start;
    memset(in, 1, (size_t)len);
    for (int i = 0; i < s->E; i++) {
        const tmap *t = &s->t[i];
        if (off % t->s) return -1;
        int w_out = rows_out(t, n_win), s_out = rows_out(t, n_strip);
        if (s_out == 0) return -1;
        for (int o = 0; o < s_out; o++) {
            int ok = 1;
            for (int dd = 0; dd < t->k && ok; dd++) {
                int j = o * t->s - t->p + dd;
                if (j >= 0 && j < n_strip)
                    ok = in[j];
                else {
                    int jw = j + off; /* the row in the window: padding there too? */
                    ok = pad_ok && (jw < 0 || jw >= n_win);
                }
            }
            out[o] = (unsigned char)ok;
        }
        off /= t->s;
        n_win = w_out;
        n_strip = s_out;
        unsigned char *tmp = in;
        in = out;
        out = tmp;
    }
    memset(clean, 0, (size_t)s->To);
    for (int o = 0; o < n_strip; o++)
        if (o + off < s->To) clean[o + off] = in[o];
    return 0;
}

/* A model of the layers [a, b) of s->m on the given input shape, with the
 * same weights, ready for batches of one. */
static cx_status sub_model(cx_model **out, cx_model *m, int a, int b, const cx_shape *in,
                           cx_error *err)
{
    size_t cap = 64;
    for (int i = a; i < b; i++)
        cap += strlen(cx_model_layer(m, i)->spec) + 2;
    char *spec = malloc(cap);
    if (!spec) return cx_fail(err, CX_ERR_NOMEM, "slide: out of memory");
    spec[0] = '\0';
    size_t at = 0;
    for (int i = a; i < b; i++)
        at += (size_t)snprintf(spec + at, cap - at, "%s%s", i > a ? "; " : "",
                               cx_model_layer(m, i)->spec);
    cx_status st = cx_model_create(out, spec, in, err);
    free(spec);
    if (st) return st;
    for (int i = a; i < b; i++) {
        cx_layer *src = cx_model_layer(m, i), *dst = cx_model_layer(*out, i - a);
        for (int j = 0; j < src->nparams; j++)
            memcpy(dst->params[j].w, src->params[j].w, src->params[j].size * sizeof(float));
    }
    cx_model_set_training(*out, 0);
    st = cx_model_reserve(*out, 1, err);
    if (st) {
        cx_model_free(*out);
        *out = NULL;
    }
    return st;
}

/* Frees what net_init made; leaves s a plain forward of s->m. */
static void net_free(slide1 *s)
{
    cx_model_free(s->whole);
    cx_model_free(s->rest);
    cx_model_free(s->top);
    cx_model_free(s->bot);
    free(s->interior);
    free(s->valid);
    free(s->clean_top);
    free(s->clean_bot);
    free(s->scratch[0]);
    free(s->scratch[1]);
    cx_free_floats(s->map);
    free(s->fresh);
    cx_free_floats(s->wt);
    cx_free_floats(s->xw);
    cx_free_floats(s->gather);
    cx_free_floats(s->proj);
    cx_free_floats(s->rnn_y);
    cx_free_floats(s->rnn_work);
    cx_model *m = s->m;
    memset(s, 0, sizeof *s);
    s->m = m;
}

/* The rows not kept after a shift of d map rows from a window of valid
 * rows: need[o]. */
static void rows_needed(const slide1 *s, int d, const unsigned char *valid, unsigned char *need)
{
    for (int o = 0; o < s->To; o++)
        need[o] = !(o + d < s->To && valid[o + d] && s->interior[o + d] && s->interior[o]);
}

/* Gates of a recurrent layer (3 gru, 4 lstm), 0 for any other. */
static int rnn_gates(const cx_layer *l)
{
    return l->kind == &cx_kind_gru ? 3 : l->kind == &cx_kind_lstm ? 4 : 0;
}

static void rnn_steps(cx_layer *l, float *work, const float *xw, float *y)
{
    if (l->kind == &cx_kind_gru)
        cx_gru_forward_projected(l, work, xw, y);
    else
        cx_lstm_forward_projected(l, work, xw, y);
}

/* When the front end is followed by seq and a recurrent layer, keeps that
 * layer's input projection per row: s->rnn and its buffers, and s->rest
 * the layers after it (NULL if there are none). */
static cx_status rnn_init(slide1 *s, cx_model *m, int E, int L, cx_error *err)
{
    if (!s->complete || E + 1 >= L || strcmp(cx_model_layer(m, E)->kind->name, "seq")) return CX_OK;
    cx_layer *l = cx_model_layer(m, E + 1);
    int gates = rnn_gates(l);
    if (!gates || l->max_batch < 1) return CX_OK;
    int F = s->C * s->W, H = l->out.d[1];
    if (l->in.d[0] != s->To || l->in.d[1] != F) return CX_OK;
    size_t G = (size_t)gates * H, To = (size_t)s->To;
    s->G = (int)G;
    s->wt = cx_alloc_floats((size_t)F * G);
    s->xw = cx_alloc_floats(To * G);
    s->gather = cx_alloc_floats(To * (size_t)F);
    s->proj = cx_alloc_floats(To * G);
    s->rnn_y = cx_alloc_floats(To * (size_t)H);
    size_t ws = l->kind->workspace ? l->kind->workspace(l, 1) : 0;
    s->rnn_work = cx_alloc_floats(ws ? ws : 1);
    if (!s->wt || !s->xw || !s->gather || !s->proj || !s->rnn_y || !s->rnn_work)
        return cx_fail(err, CX_ERR_NOMEM, "slide: out of memory");
    cx_rnn_transpose((int)G, F, l->params[0].w, s->wt);
    s->rnn = l;
    if (E + 2 < L) {
        cx_shape in = cx_shape2(s->To, H);
        return sub_model(&s->rest, m, E + 2, L, &in, err);
    }
    return CX_OK;
}

/* The kept projections follow the map: rows computed by this call (fresh)
 * are projected again (seq's row o is row o of every channel, channel after
 * channel), then the recurrent layer runs its steps and the layers after
 * it their forward. */
static const float *rnn_forward(slide1 *s)
{
    const int F = s->C * s->W, G = s->G;
    size_t W = (size_t)s->W, To = (size_t)s->To;
    int k = 0;
    for (int o = 0; o < s->To; o++) {
        if (!s->fresh[o]) continue;
        for (int c = 0; c < s->C; c++)
            memcpy(s->gather + (size_t)k * F + (size_t)c * W, s->map + ((size_t)c * To + o) * W,
                   W * sizeof(float));
        k++;
    }
    cx_rnn_project_transposed((size_t)k, G, F, s->gather, s->wt, s->proj);
    k = 0;
    for (int o = 0; o < s->To; o++)
        if (s->fresh[o])
            memcpy(s->xw + (size_t)o * G, s->proj + (size_t)k++ * G, (size_t)G * sizeof(float));
    rnn_steps(s->rnn, s->rnn_work, s->xw, s->rnn_y);
    return s->rest ? cx_model_forward(s->rest, 1, s->rnn_y) : s->rnn_y;
}

/* Sets up one network; s->E stays 0 (plain forward) when nothing can be
 * kept at this shift. */
static cx_status net_init(slide1 *s, cx_model *m, int shift, cx_error *err)
{
    memset(s, 0, sizeof *s);
    s->m = m;
    const cx_shape *in = cx_model_input_shape(m);
    int L = cx_model_num_layers(m);
    if (in->ndim != 2 || L < 2 || strcmp(cx_model_layer(m, 0)->kind->name, "image")) return CX_OK;
    s->T = in->d[0];
    s->F = in->d[1];
    /* The prefix: image, then time-local layers while shift stays a
     * multiple of the stride so far. */
    int E = 1, S = 1;
    s->t[0] = (tmap){1, 1, 0};
    int rows = s->T, cap = s->T;
    while (E < L && E < MAX_PREFIX) {
        tmap t;
        if (!time_map(cx_model_layer(m, E), &t) || shift % (S * t.s)) break;
        s->t[E++] = t;
        S *= t.s;
        rows = rows_out(&t, rows);
        cap = rows > cap ? rows : cap;
    }
    tmap next;
    int complete = E >= L || !time_map(cx_model_layer(m, E), &next);
    if (E < 2 || E >= L) return CX_OK;
    const cx_shape *po = &cx_model_layer(m, E - 1)->out;
    if (po->ndim != 3) return CX_OK;
    s->C = po->d[0];
    s->To = po->d[1];
    s->W = po->d[2];
    s->S = S;
    s->E = E;
    s->complete = complete;
    s->rows_cap = cap;
    size_t T1 = (size_t)cap + 1, To = (size_t)s->To;
    s->interior = calloc(To, 1);
    s->valid = calloc(To, 1);
    s->clean_top = calloc(To, 1);
    s->clean_bot = calloc(To, 1);
    s->scratch[0] = malloc(T1);
    s->scratch[1] = malloc(T1);
    s->map = cx_alloc_floats((size_t)s->C * To * (size_t)s->W);
    s->fresh = calloc(To, 1);
    if (!s->interior || !s->valid || !s->clean_top || !s->clean_bot || !s->scratch[0] ||
        !s->scratch[1] || !s->map || !s->fresh) {
        net_free(s);
        return cx_fail(err, CX_ERR_NOMEM, "slide: out of memory");
    }
    strip_clean(s, 0, s->T, 0, s->interior);
    /* The strips for the steady shift: rows needed in the top half from
     * the top strip, the others from the bottom one, each as short as
     * covers them. */
    unsigned char *need = s->valid; /* scratch for now */
    memset(s->clean_top, 1, To);    /* every row valid before the shift */
    rows_needed(s, shift / S, s->clean_top, need);
    int top_len = 0, bot_start = -1;
    for (int len = 1; len <= s->T && !top_len; len++) {
        if (strip_clean(s, 0, len, 1, s->clean_top)) continue;
        int ok = 1;
        for (int o = 0; o < s->To / 2 && ok; o++)
            ok = !need[o] || s->clean_top[o];
        if (ok) top_len = len;
    }
    for (int st = (s->T - 1) / S * S; st >= 0 && bot_start < 0; st -= S) {
        if (strip_clean(s, st, s->T - st, 1, s->clean_bot)) continue;
        int ok = 1;
        for (int o = s->To / 2; o < s->To && ok; o++)
            ok = !need[o] || s->clean_bot[o];
        if (ok) bot_start = st;
    }
    memset(s->valid, 0, To);
    if (!top_len || bot_start < 0 || top_len + (s->T - bot_start) >= s->T) {
        net_free(s);
        return CX_OK; /* nothing to gain */
    }
    strip_clean(s, 0, top_len, 1, s->clean_top);
    strip_clean(s, bot_start, s->T - bot_start, 1, s->clean_bot);
    s->top_len = top_len;
    s->bot_start = bot_start;
    cx_shape sw = cx_shape2(s->T, s->F), st = cx_shape2(top_len, s->F);
    cx_shape sb = cx_shape2(s->T - bot_start, s->F), sm = cx_shape3(s->C, s->To, s->W);
    cx_status r = sub_model(&s->whole, m, 0, E, &sw, err);
    if (!r) r = sub_model(&s->top, m, 0, E, &st, err);
    if (!r) r = sub_model(&s->bot, m, 0, E, &sb, err);
    if (!r) r = rnn_init(s, m, E, L, err);
    if (!r && !s->rnn) r = sub_model(&s->rest, m, E, L, &sm, err);
    if (r) net_free(s);
    /* Layers that refuse the strips' shapes leave the plain forward, which
     * works as before; only a lack of memory is the caller's to hear. */
    return r == CX_ERR_NOMEM ? r : CX_OK;
}

/* Copies the rows of a strip's output (C, rows, W) that it gives exactly
 * (clean, window coordinates from off) and the map lacks into the map. */
static void take_rows(slide1 *s, const float *y, int rows, int off, const unsigned char *clean)
{
    size_t W = (size_t)s->W;
    for (int o = 0; o < rows; o++) {
        int wo = o + off;
        if (wo >= s->To || !clean[wo] || s->valid[wo]) continue;
        for (int c = 0; c < s->C; c++)
            memcpy(s->map + ((size_t)c * s->To + wo) * W, y + ((size_t)c * rows + o) * W,
                   W * sizeof(float));
        s->valid[wo] = 1;
        s->fresh[wo] = 1;
    }
}

static const float *net_forward(slide1 *s, const float *x, int shift, int *whole)
{
    if (!s->E) return cx_model_forward(s->m, 1, x);
    size_t W = (size_t)s->W, To = (size_t)s->To;
    int d = shift >= 0 && shift % s->S == 0 ? shift / s->S : (int)To;
    memset(s->fresh, 0, To);
    if (d > 0) {
        if (d >= s->To) {
            memset(s->valid, 0, To);
        } else {
            unsigned char *need = s->scratch[0];
            rows_needed(s, d, s->valid, need);
            for (int c = 0; c < s->C; c++) {
                float *p = s->map + (size_t)c * To * W;
                memmove(p, p + (size_t)d * W, (To - (size_t)d) * W * sizeof(float));
            }
            if (s->rnn)
                memmove(s->xw, s->xw + (size_t)d * s->G,
                        (To - (size_t)d) * (size_t)s->G * sizeof(float));
            for (size_t o = 0; o < To; o++)
                s->valid[o] = (unsigned char)!need[o];
        }
    }
    int top = 0, bot = 0;
    for (int o = 0; o < s->To; o++) {
        if (s->valid[o]) continue;
        if (s->clean_top[o])
            top = 1;
        else if (s->clean_bot[o])
            bot = 1;
        else {
            top = -1; /* neither strip gives it: the whole window */
            break;
        }
    }
    if (top < 0) {
        *whole = 1;
        const float *y = cx_model_forward(s->whole, 1, x);
        if (!y) return NULL;
        memcpy(s->map, y, (size_t)s->C * To * W * sizeof(float));
        memset(s->valid, 1, To);
        memset(s->fresh, 1, To);
    } else {
        if (top) {
            const float *y = cx_model_forward(s->top, 1, x);
            if (!y) return NULL;
            take_rows(s, y, cx_model_layer(s->top, s->E - 1)->out.d[1], 0, s->clean_top);
        }
        if (bot) {
            const float *y = cx_model_forward(s->bot, 1, x + (size_t)s->bot_start * s->F);
            if (!y) return NULL;
            take_rows(s, y, cx_model_layer(s->bot, s->E - 1)->out.d[1], s->bot_start / s->S,
                      s->clean_bot);
        }
    }
    if (s->rnn) return rnn_forward(s);
    return cx_model_forward(s->rest, 1, s->map);
}

static void phased_free(phased *p)
{
    for (int j = 0; j < p->P; j++)
        net_free(&p->ph[j]);
    p->P = 0;
}

/* One cache at this shift if that keeps the whole front end (or nothing
 * can be kept at any); else the fewest caches in turn that do. */
static cx_status phased_init(phased *p, cx_model *m, int shift, cx_error *err)
{
    memset(p, 0, sizeof *p);
    p->P = 1;
    cx_status st = net_init(&p->ph[0], m, shift, err);
    if (st) return st;
    for (int P = 2; P <= MAX_PHASES && !(p->ph[0].E && p->ph[0].complete); P++) {
        slide1 t;
        if ((st = net_init(&t, m, shift * P, err))) {
            phased_free(p);
            return st;
        }
        if (!t.E || !t.complete) {
            net_free(&t);
            continue;
        }
        net_free(&p->ph[0]);
        p->ph[0] = t;
        p->P = P;
        for (int j = 1; j < P; j++) {
            if ((st = net_init(&p->ph[j], m, shift * P, err))) {
                p->P = j;
                phased_free(p);
                return st;
            }
        }
        break;
    }
    for (int j = 0; j < MAX_PHASES; j++)
        p->pending[j] = -1;
    return CX_OK;
}

static const float *phased_forward(phased *p, const float *x, int shift, int *whole)
{
    for (int j = 0; j < p->P; j++)
        p->pending[j] = shift < 0 || p->pending[j] < 0 || p->pending[j] > (1 << 20)
                            ? -1
                            : p->pending[j] + shift;
    int k = p->turn;
    p->turn = (p->turn + 1) % p->P;
    int sh = p->pending[k];
    p->pending[k] = 0;
    return net_forward(&p->ph[k], x, sh, whole);
}

cx_status cx_slide_create(cx_slide **out, cx_model *m, int shift, cx_error *err)
{
    *out = NULL;
    if (!m || shift < 1) return cx_fail(err, CX_ERR_ARG, "slide: needs a model and a shift >= 1");
    if (cx_model_max_batch(m) < 1)
        return cx_fail(err, CX_ERR_ARG, "slide: the model has no room for a batch of one");
    cx_slide *s = calloc(1, sizeof *s);
    if (!s) return cx_fail(err, CX_ERR_NOMEM, "slide: out of memory");
    int members = cx_model_num_members(m);
    s->ensemble = members > 0;
    s->n = members ? members : 1;
    s->K = (int)cx_shape_size(cx_model_output_shape(m));
    s->net = calloc((size_t)s->n, sizeof *s->net);
    s->prob = cx_alloc_floats((size_t)s->K);
    s->out = cx_alloc_floats((size_t)s->K);
    if (!s->net || !s->prob || !s->out) {
        cx_slide_free(s);
        return cx_fail(err, CX_ERR_NOMEM, "slide: out of memory");
    }
    for (int i = 0; i < s->n; i++) {
        cx_model *net = members ? cx_model_member(m, i) : m;
        if (cx_model_max_batch(net) < 1) {
            cx_status st = cx_model_reserve(net, 1, err);
            if (st) {
                cx_slide_free(s);
                return st;
            }
        }
        cx_status st = phased_init(&s->net[i], net, shift, err);
        if (st) {
            s->n = i;
            cx_slide_free(s);
            return st;
        }
        slide1 *p = &s->net[i].ph[0];
        s->strip_rows +=
            p->E ? p->top_len + (p->T - p->bot_start) : cx_model_input_shape(net)->d[0];
    }
    *out = s;
    return CX_OK;
}

void cx_slide_reset(cx_slide *s)
{
    if (!s) return;
    for (int i = 0; i < s->n; i++)
        for (int j = 0; j < MAX_PHASES; j++)
            s->net[i].pending[j] = -1;
}

const float *cx_slide_forward(cx_slide *s, const float *x, int shift)
{
    if (!s || !x) return NULL;
    int whole = 0;
    const float *z = NULL;
    if (!s->ensemble) {
        z = phased_forward(&s->net[0], x, shift, &whole);
    } else {
        memset(s->out, 0, (size_t)s->K * sizeof(float));
        for (int i = 0; i < s->n; i++) {
            const float *zi = phased_forward(&s->net[i], x, shift, &whole);
            if (!zi) return NULL;
            cx_ensemble_add(zi, 1, s->K, s->prob, s->out);
        }
        cx_ensemble_finish(s->out, 1, s->K, s->n);
        z = s->out;
    }
    s->whole += whole;
    return z;
}

int cx_slide_rows(const cx_slide *s)
{
    return s ? s->strip_rows : 0;
}

int64_t cx_slide_whole_runs(const cx_slide *s)
{
    return s ? s->whole : 0;
}

void cx_slide_free(cx_slide *s)
{
    if (!s) return;
    for (int i = 0; i < s->n && s->net; i++)
        phased_free(&s->net[i]);
    free(s->net);
    cx_free_floats(s->prob);
    cx_free_floats(s->out);
    free(s);
}
