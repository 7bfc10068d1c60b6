/* gru: a gated recurrent unit run over a (T,F) sequence, output (T,H), as
 * PyTorch's nn.GRU (batch_first, one layer, h_0 = 0). Parameters keep
 * PyTorch's layouts and gate order (r, z, n) so weights can be exchanged:
 *   weight_ih (3H,F)  weight_hh (3H,H)  bias_ih (3H)  bias_hh (3H)
 *   r  = sigmoid(W_ir x + b_ir + W_hr h + b_hr)
 *   z  = sigmoid(W_iz x + b_iz + W_hz h + b_hz)
 *   n  = tanh(W_in x + b_in + r (W_hn h + b_hn))
 *   h' = (1 - z) n + z h
 *
 * Every buffer is batch-major like the activations, (n, T, ...), so the
 * input projection and the input-side gradients are single matrix products
 * over all n*T rows, and one time step is a strided view (row stride T*...).
 */
#include <cblas.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../layer_util.h"
#include "../rnn_util.h"

typedef struct {
    cx_layer base;
    int t, f, h;
    /* Kept from the forward for backpropagation through time, (max_batch, T, .): */
    float *gates; /* 3H: x W_ih^T during the forward, then r, z, n */
    float *hn;    /* H:  W_hn h_{t-1} + b_hn, the term r multiplies */
    /* Streaming, (max_batch, .): */
    float *state;   /* H:  hidden state of each stream */
    float *sx, *sh; /* 3H: x W_ih^T and h W_hh^T of the current step */
    float *shn;     /* H:  W_hn h + b_hn of the current step */
} gru_layer;

static cx_status gru_create(cx_layer **out, int argc, char **argv, const cx_shape *in,
                            cx_error *err)
{
    int units;
    if (argc != 1) return cx_fail(err, CX_ERR_ARG, "layer 'gru': usage: gru UNITS");
    if (cx_parse_int(argv[0], 1, CX_RNN_MAX_UNITS, &units))
        return cx_bad_token(err, "gru", argv[0], "a number of units from 1 to 16384");
    if (in->ndim != 2) return cx_bad_input(err, "gru", in, "a (time, features) sequence");
    cx_status st = cx_rnn_check_size("gru", in, 3, units, err);
    if (st) return st;
    gru_layer *g = cx_layer_new(sizeof *g, &cx_kind_gru, in);
    if (!g) return cx_fail(err, CX_ERR_NOMEM, "layer 'gru': out of memory");
    g->t = in->d[0];
    g->f = in->d[1];
    g->h = units;
    g->base.out = cx_shape2(g->t, units);
    cx_rnn_declare_params(&g->base, 3, g->f, units, CX_INIT_ZERO);
    snprintf(g->base.spec, sizeof g->base.spec, "gru %d", units);
    *out = &g->base;
    return CX_OK;
}

static void gru_free_buffers(gru_layer *g)
{
    cx_free_floats(g->gates);
    cx_free_floats(g->hn);
    cx_free_floats(g->state);
    cx_free_floats(g->sx);
    cx_free_floats(g->sh);
    cx_free_floats(g->shn);
    g->gates = g->hn = g->state = g->sx = g->sh = g->shn = NULL;
}

static cx_status gru_reserve(cx_layer *l, int max_batch, cx_error *err)
{
    gru_layer *g = (gru_layer *)l;
    size_t rows = (size_t)max_batch * (size_t)g->t, h = (size_t)g->h;
    if (rows > INT_MAX)
        return cx_fail(err, CX_ERR_ARG, "layer 'gru %d': batch of %d sequences is too large", g->h,
                       max_batch);
    gru_free_buffers(g);
    g->gates = cx_alloc_floats(rows * 3 * h);
    g->hn = cx_alloc_floats(rows * h);
    g->state = cx_alloc_floats((size_t)max_batch * h);
    g->sx = cx_alloc_floats((size_t)max_batch * 3 * h);
    g->sh = cx_alloc_floats((size_t)max_batch * 3 * h);
    g->shn = cx_alloc_floats((size_t)max_batch * h);
    if (!g->gates || !g->hn || !g->state || !g->sx || !g->sh || !g->shn) {
        gru_free_buffers(g);
        return cx_fail(err, CX_ERR_NOMEM, "layer 'gru %d': out of memory for %d sequences", g->h,
                       max_batch);
    }
    return CX_OK;
}

/* Forward: (n, 3H) recurrent products of one step, H zeros standing for
 * h_0, (F, 3H) for W_ih transposed (cx_rnn_project_rows). Backward: gate
 * gradients of the input side and of the recurrent side, (n, T, 3H) each,
 * dh (n, H) and the H zeros. */
static size_t gru_workspace(const cx_layer *l, int n)
{
    const gru_layer *g = (const gru_layer *)l;
    size_t rows = (size_t)n * (size_t)g->t, h = (size_t)g->h;
    size_t fwd = (size_t)n * 3 * h + h + 3 * h * (size_t)g->f;
    size_t bwd = 2 * rows * 3 * h + (size_t)n * h + h;
    return fwd > bwd ? fwd : bwd;
}

/* r and z, j < 2H:  g = sigmoid(g + b_ih + b_hh + p) */
CX_VINLINE void gru_rz(int j, int w, float *g, const float *p, const float *bih, const float *bhh)
{
    cx_vf a = cx_vld(g + j, w) + cx_vld(bih + j, w) + cx_vld(bhh + j, w) + cx_vld(p + j, w);
    cx_vst(g + j, cx_vsigmoid(a), w);
}

/* n and h', j < H:  hn = p_n + b_hn,  n = tanh(g_n + b_in + r hn),
 * h' = n + z (h - n) */
CX_VINLINE void gru_nh(int j, int w, int H, float *g, const float *p, const float *bih,
                       const float *bhh, const float *hp, float *hn, float *h)
{
    cx_vf hh = cx_vld(p + 2 * H + j, w) + cx_vld(bhh + 2 * H + j, w);
    cx_vf r = cx_vld(g + j, w), z = cx_vld(g + H + j, w), prev = cx_vld(hp + j, w);
    cx_vf nn = cx_vtanh(cx_vld(g + 2 * H + j, w) + cx_vld(bih + 2 * H + j, w) + r * hh);
    cx_vst(g + 2 * H + j, nn, w);
    cx_vst(hn + j, hh, w);
    cx_vst(h + j, nn + z * (prev - nn), w);
}

/* One step of one sequence.
 * g:  (3H) in: x W_ih^T;  out: r, z, n
 * p:  (3H) h W_hh^T;  hp: (H) h (zeros at the first step)
 * hn: (H) out: W_hn h + b_hn;  h: (H) out: h', may alias hp */
static void gru_cell(int H, float *g, const float *p, const float *bih, const float *bhh,
                     const float *hp, float *hn, float *h)
{
    CX_VLOOP(2 * H, gru_rz, g, p, bih, bhh);
    CX_VLOOP(H, gru_nh, H, g, p, bih, bhh, hp, hn, h);
}

/* The steps of the forward once g->gates holds X = x W_ih^T, (n, T, 3H):
 * per step t: P = h_{t-1} W_hh^T      (n, 3H), h_{t-1} = y[:, t-1] (0 at t = 0)
 *             gates and h_t from X[:, t], P as in the header;  y: (n, T, H)
 * work: (n, 3H) for P and H zeros standing for h_0. */
static void gru_steps(cx_layer *l, float *work, int n, float *y)
{
    gru_layer *g = (gru_layer *)l;
    const int T = g->t, H = g->h, G = 3 * H;
    const float *whh = l->params[1].w, *bih = l->params[2].w, *bhh = l->params[3].w;
    float *p = work, *zeros = p + (size_t)n * G;
    memset(p, 0, ((size_t)n * G + H) * sizeof(float)); /* h_0 = 0, so P = 0 at t = 0 */
    for (int t = 0; t < T; t++) {
        if (t > 0) cx_rnn_matmul(n, G, H, y + (size_t)(t - 1) * H, T * H, whh, 0.0f, p, G);
        for (int b = 0; b < n; b++) {
            size_t row = (size_t)b * T + t;
            gru_cell(H, g->gates + row * G, p + (size_t)b * G, bih, bhh,
                     t > 0 ? y + (row - 1) * H : zeros, g->hn + row * H, y + row * H);
        }
    }
}

/* x: (n, T, F)  y: (n, T, H)
 * X = x W_ih^T                        (n*T, 3H), one product for every step
 *                                     (cx_rnn_project_rows, W_ih^T in the
 *                                     workspace after what gru_steps uses)
 * then gru_steps. */
static void gru_forward(cx_layer *l, const cx_run *r, int n, const float *x, float *y)
{
    gru_layer *g = (gru_layer *)l;
    const int T = g->t, F = g->f, G = 3 * g->h;
    float *wt = r->work + (size_t)n * G + g->h;
    cx_rnn_project_rows((size_t)n * T, G, F, x, l->params[0].w, wt, g->gates);
    gru_steps(l, r->work, n, y);
}

void cx_gru_forward_projected(cx_layer *l, float *work, const float *xw, float *y)
{
    gru_layer *g = (gru_layer *)l;
    memcpy(g->gates, xw, (size_t)g->t * 3 * g->h * sizeof(float));
    gru_steps(l, work, 1, y);
}

/* Gradients of one step of one sequence, j < H (formulas at gru_backward).
 * dh: in: dL/dh_t from step t+1;  out: the direct part d z of dL/dh_{t-1} */
CX_VINLINE void gru_dstep(int j, int w, int H, const float *g, const float *hn, const float *dy,
                          const float *hp, float *dh, float *dx, float *dp)
{
    cx_vf r = cx_vld(g + j, w), z = cx_vld(g + H + j, w), nn = cx_vld(g + 2 * H + j, w);
    cx_vf d = cx_vld(dh + j, w) + cx_vld(dy + j, w), h = cx_vld(hp + j, w);
    cx_vf dn = d * (1.0f - z) * (1.0f - nn * nn);
    cx_vf dz = d * (h - nn) * z * (1.0f - z);
    cx_vf dr = dn * cx_vld(hn + j, w) * r * (1.0f - r);
    cx_vst(dx + j, dr, w);
    cx_vst(dx + H + j, dz, w);
    cx_vst(dx + 2 * H + j, dn, w);
    cx_vst(dp + j, dr, w);
    cx_vst(dp + H + j, dz, w);
    cx_vst(dp + 2 * H + j, dn * r, w);
    cx_vst(dh + j, d * z, w);
}

/* dy: (n, T, H); backpropagation through time from the cached r, z, n, hn.
 * Per step, with d = dy_t + (gradient from step t+1) and h = h_{t-1}:
 *   dn_pre = d (1 - z) (1 - n^2)      dz_pre = d (h - n) z (1 - z)
 *   dr_pre = dn_pre hn r (1 - r)
 *   DX_t = [dr_pre, dz_pre, dn_pre]   DP_t = [dr_pre, dz_pre, dn_pre r]   (n, 3H)
 *   dh_{t-1} = d z + DP_t W_hh        (n, H)
 * After the loop, over all n*T rows at once:
 *   dW_ih += DX^T x   dx = DX W_ih   db_ih += sum DX   db_hh += sum DP
 *   dW_hh += DP^T h_prev, with h_prev = y shifted one step (rnn_util.h) */
static void gru_backward(cx_layer *l, const cx_run *r, int n, const float *x, const float *y,
                         const float *dy, float *dx)
{
    gru_layer *g = (gru_layer *)l;
    const int T = g->t, F = g->f, H = g->h, G = 3 * H;
    const size_t rows = (size_t)n * T;
    cx_param *wih = &l->params[0], *whh = &l->params[1];
    float *dX = r->work, *dP = dX + rows * G, *dh = dP + rows * G, *zeros = dh + (size_t)n * H;
    memset(dh, 0, ((size_t)n * H + H) * sizeof(float));
    for (int t = T - 1; t >= 0; t--) {
        for (int b = 0; b < n; b++) {
            size_t row = (size_t)b * T + t;
            CX_VLOOP(H, gru_dstep, H, g->gates + row * G, g->hn + row * H, dy + row * H,
                     t > 0 ? y + (row - 1) * H : zeros, dh + (size_t)b * H, dX + row * G,
                     dP + row * G);
        }
        if (t > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, H, G, 1.0f,
                        dP + (size_t)t * G, T * G, whh->w, H, 1.0f, dh, H);
    }
    cx_rnn_sum_rows(dX, rows, G, l->params[2].g);
    cx_rnn_sum_rows(dP, rows, G, l->params[3].g);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, F, (int)rows, 1.0f, dX, G, x, F, 1.0f,
                wih->g, F);
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, F, G, 1.0f, dX, G, wih->w,
                    F, 0.0f, dx, F);
    cx_rnn_shifted_outer(dP, y, n, T, G, H, whh->g);
}

/* Streaming: x (n, F) one frame of each of n streams, y (n, H); the state
 * carries h between calls, so a sequence fed frame by frame gives the rows
 * of the whole-sequence forward (the same cell; the input projection is
 * one product over all steps there and one row here, so the two agree to
 * rounding). */
static void gru_step(cx_layer *l, int n, const float *x, float *y)
{
    gru_layer *g = (gru_layer *)l;
    const int F = g->f, H = g->h, G = 3 * H;
    cx_rnn_project(n, G, F, x, l->params[0].w, 0.0f, g->sx);
    cx_rnn_project(n, G, H, g->state, l->params[1].w, 0.0f, g->sh);
    for (int b = 0; b < n; b++) {
        float *h = g->state + (size_t)b * H;
        gru_cell(H, g->sx + (size_t)b * G, g->sh + (size_t)b * G, l->params[2].w, l->params[3].w, h,
                 g->shn + (size_t)b * H, h);
    }
    memcpy(y, g->state, (size_t)n * H * sizeof(float));
}

static void gru_reset(cx_layer *l)
{
    gru_layer *g = (gru_layer *)l;
    if (g->state) memset(g->state, 0, (size_t)l->max_batch * g->h * sizeof(float));
}

static void gru_destroy(cx_layer *l)
{
    gru_free_buffers((gru_layer *)l);
    free(l);
}

const cx_layer_kind cx_kind_gru = {
    .name = "gru",
    .usage = "gru UNITS",
    .create = gru_create,
    .reserve = gru_reserve,
    .workspace = gru_workspace,
    .forward = gru_forward,
    .backward = gru_backward,
    .destroy = gru_destroy,
    .step = gru_step,
    .reset = gru_reset,
};
