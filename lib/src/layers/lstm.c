/* lstm: long short-term memory run over a (T,F) sequence, output (T,H), as
 * PyTorch's nn.LSTM (batch_first, one layer, h_0 = c_0 = 0). Parameters keep
 * PyTorch's layouts and gate order (i, f, g, o):
 *   weight_ih (4H,F)  weight_hh (4H,H)  bias_ih (4H)  bias_hh (4H)
 *   a  = W_ih x + b_ih + W_hh h + b_hh             (4H) = [a_i, a_f, a_g, a_o]
 *   i, f, o = sigmoid(a_i, a_f, a_o)    g = tanh(a_g)
 *   c' = f c + i g      h' = o tanh(c')
 * bias_ih starts at 1 on the forget gate (bias_hh at 0), the rest at 0.
 *
 * Buffers are batch-major, (n, T, ...), as in gru.c: the input projection
 * and the input-side gradients are one matrix product over all n*T rows.
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
    float *gates; /* 4H: pre-activations during the forward, then i, f, g, o */
    float *c;     /* H:  cell state */
    float *tc;    /* H:  tanh of the cell state */
    /* Streaming, (max_batch, .): */
    float *sh, *sc; /* H:  hidden and cell state of each stream */
    float *sa;      /* 4H: pre-activations of the current step */
    float *stc;     /* H:  tanh of the cell state of the current step */
} lstm_layer;

static cx_status lstm_create(cx_layer **out, int argc, char **argv, const cx_shape *in,
                             cx_error *err)
{
    int units;
    if (argc != 1) return cx_fail(err, CX_ERR_ARG, "layer 'lstm': usage: lstm UNITS");
    if (cx_parse_int(argv[0], 1, CX_RNN_MAX_UNITS, &units))
        return cx_bad_token(err, "lstm", argv[0], "a number of units from 1 to 16384");
    if (in->ndim != 2) return cx_bad_input(err, "lstm", in, "a (time, features) sequence");
    cx_status st = cx_rnn_check_size("lstm", in, 4, units, err);
    if (st) return st;
    lstm_layer *s = cx_layer_new(sizeof *s, &cx_kind_lstm, in);
    if (!s) return cx_fail(err, CX_ERR_NOMEM, "layer 'lstm': out of memory");
    s->t = in->d[0];
    s->f = in->d[1];
    s->h = units;
    s->base.out = cx_shape2(s->t, units);
    cx_rnn_declare_params(&s->base, 4, s->f, units, CX_INIT_LSTM_BIAS);
    snprintf(s->base.spec, sizeof s->base.spec, "lstm %d", units);
    *out = &s->base;
    return CX_OK;
}

static void lstm_free_buffers(lstm_layer *s)
{
    cx_free_floats(s->gates);
    cx_free_floats(s->c);
    cx_free_floats(s->tc);
    cx_free_floats(s->sh);
    cx_free_floats(s->sc);
    cx_free_floats(s->sa);
    cx_free_floats(s->stc);
    s->gates = s->c = s->tc = s->sh = s->sc = s->sa = s->stc = NULL;
}

static cx_status lstm_reserve(cx_layer *l, int max_batch, cx_error *err)
{
    lstm_layer *s = (lstm_layer *)l;
    size_t rows = (size_t)max_batch * (size_t)s->t, h = (size_t)s->h;
    if (rows > INT_MAX)
        return cx_fail(err, CX_ERR_ARG, "layer 'lstm %d': batch of %d sequences is too large", s->h,
                       max_batch);
    lstm_free_buffers(s);
    s->gates = cx_alloc_floats(rows * 4 * h);
    s->c = cx_alloc_floats(rows * h);
    s->tc = cx_alloc_floats(rows * h);
    s->sh = cx_alloc_floats((size_t)max_batch * h);
    s->sc = cx_alloc_floats((size_t)max_batch * h);
    s->sa = cx_alloc_floats((size_t)max_batch * 4 * h);
    s->stc = cx_alloc_floats((size_t)max_batch * h);
    if (!s->gates || !s->c || !s->tc || !s->sh || !s->sc || !s->sa || !s->stc) {
        lstm_free_buffers(s);
        return cx_fail(err, CX_ERR_NOMEM, "layer 'lstm %d': out of memory for %d sequences", s->h,
                       max_batch);
    }
    return CX_OK;
}

/* Forward: H zeros standing for c_0, (F, 4H) for W_ih transposed
 * (cx_rnn_project_rows). Backward: gate gradients (n, T, 4H), dh and dc
 * (n, H), H zeros standing for c_0 and h_0. */
static size_t lstm_workspace(const cx_layer *l, int n)
{
    const lstm_layer *s = (const lstm_layer *)l;
    size_t rows = (size_t)n * (size_t)s->t, h = (size_t)s->h;
    size_t fwd = h + 4 * h * (size_t)s->f, bwd = rows * 4 * h + 2 * (size_t)n * h + h;
    return fwd > bwd ? fwd : bwd;
}

/* One step of one sequence, j < H.
 * a: (4H) in: W_ih x + W_hh h (no biases);  out: i, f, g, o
 * cp: (H) c (zeros at the first step);  c, tc, h: (H) out: c', tanh(c'),
 * h' (c may alias cp) */
CX_VINLINE void lstm_cell(int j, int w, int H, float *a, const float *bih, const float *bhh,
                          const float *cp, float *c, float *tc, float *h)
{
    float *ai = a + j, *af = a + H + j, *ag = a + 2 * H + j, *ao = a + 3 * H + j;
    cx_vf i = cx_vsigmoid(cx_vld(ai, w) + cx_vld(bih + j, w) + cx_vld(bhh + j, w));
    cx_vf f = cx_vsigmoid(cx_vld(af, w) + cx_vld(bih + H + j, w) + cx_vld(bhh + H + j, w));
    cx_vf g = cx_vtanh(cx_vld(ag, w) + cx_vld(bih + 2 * H + j, w) + cx_vld(bhh + 2 * H + j, w));
    cx_vf o = cx_vsigmoid(cx_vld(ao, w) + cx_vld(bih + 3 * H + j, w) + cx_vld(bhh + 3 * H + j, w));
    cx_vf cn = f * cx_vld(cp + j, w) + i * g;
    cx_vf t = cx_vtanh(cn);
    cx_vst(ai, i, w);
    cx_vst(af, f, w);
    cx_vst(ag, g, w);
    cx_vst(ao, o, w);
    cx_vst(c + j, cn, w);
    cx_vst(tc + j, t, w);
    cx_vst(h + j, o * t, w);
}

/* The steps of the forward once s->gates holds A = x W_ih^T, (n, T, 4H):
 * per step t: A[:, t] += h_{t-1} W_hh^T (n, 4H), h_{t-1} = y[:, t-1], none at t = 0
 *             gates, c_t, h_t from A[:, t] as in the header;  y: (n, T, H)
 * work: H zeros standing for c_0. */
static void lstm_steps(cx_layer *l, float *work, int n, float *y)
{
    lstm_layer *s = (lstm_layer *)l;
    const int T = s->t, H = s->h, G = 4 * H;
    const float *whh = l->params[1].w, *bih = l->params[2].w, *bhh = l->params[3].w;
    float *zeros = work;
    memset(zeros, 0, (size_t)H * sizeof(float)); /* c_0 = 0 */
    for (int t = 0; t < T; t++) {
        if (t > 0)
            cx_rnn_matmul(n, G, H, y + (size_t)(t - 1) * H, T * H, whh, 1.0f,
                          s->gates + (size_t)t * G, T * G);
        for (int b = 0; b < n; b++) {
            size_t row = (size_t)b * T + t;
            CX_VLOOP(H, lstm_cell, H, s->gates + row * G, bih, bhh,
                     t > 0 ? s->c + (row - 1) * H : zeros, s->c + row * H, s->tc + row * H,
                     y + row * H);
        }
    }
}

/* x: (n, T, F)  y: (n, T, H)
 * A = x W_ih^T                        (n*T, 4H), one product for every step
 *                                     (cx_rnn_project_rows, W_ih^T in the
 *                                     workspace after the H zeros)
 * then lstm_steps. */
static void lstm_forward(cx_layer *l, const cx_run *r, int n, const float *x, float *y)
{
    lstm_layer *s = (lstm_layer *)l;
    const int T = s->t, F = s->f, G = 4 * s->h;
    cx_rnn_project_rows((size_t)n * T, G, F, x, l->params[0].w, r->work + s->h, s->gates);
    lstm_steps(l, r->work, n, y);
}

void cx_lstm_forward_projected(cx_layer *l, float *work, const float *xw, float *y)
{
    lstm_layer *s = (lstm_layer *)l;
    memcpy(s->gates, xw, (size_t)s->t * 4 * s->h * sizeof(float));
    lstm_steps(l, work, 1, y);
}

/* Gradients of one step of one sequence, j < H (formulas at lstm_backward).
 * dh: in: from step t+1;  dc: in: from step t+1, out: to step t-1 */
CX_VINLINE void lstm_dstep(int j, int w, int H, const float *a, const float *tc, const float *cp,
                           const float *dy, const float *dh, float *dc, float *da)
{
    cx_vf i = cx_vld(a + j, w), f = cx_vld(a + H + j, w);
    cx_vf g = cx_vld(a + 2 * H + j, w), o = cx_vld(a + 3 * H + j, w);
    cx_vf d = cx_vld(dh + j, w) + cx_vld(dy + j, w), t = cx_vld(tc + j, w);
    cx_vf dcj = cx_vld(dc + j, w) + d * o * (1.0f - t * t);
    cx_vst(da + j, dcj * g * i * (1.0f - i), w);
    cx_vst(da + H + j, dcj * cx_vld(cp + j, w) * f * (1.0f - f), w);
    cx_vst(da + 2 * H + j, dcj * i * (1.0f - g * g), w);
    cx_vst(da + 3 * H + j, d * t * o * (1.0f - o), w);
    cx_vst(dc + j, dcj * f, w);
}

/* dy: (n, T, H); backpropagation through time from the cached gates, c and
 * tanh(c). Per step, with dh = dy_t + (from step t+1), dc from step t+1:
 *   dc  += dh o (1 - tanh(c)^2)
 *   D_t  = [dc g i(1-i), dc c_{t-1} f(1-f), dc i (1-g^2), dh tanh(c) o(1-o)]  (n, 4H)
 *   dc_{t-1} = dc f      dh_{t-1} = D_t W_hh   (n, H)
 * After the loop, over all n*T rows at once:
 *   dW_ih += D^T x   dx = D W_ih   db_ih += sum D   db_hh += sum D
 *   dW_hh += D^T h_prev with h_prev = y shifted one step (see rnn_util.h) */
static void lstm_backward(cx_layer *l, const cx_run *r, int n, const float *x, const float *y,
                          const float *dy, float *dx)
{
    lstm_layer *s = (lstm_layer *)l;
    const int T = s->t, F = s->f, H = s->h, G = 4 * H;
    const size_t rows = (size_t)n * T;
    cx_param *wih = &l->params[0], *whh = &l->params[1];
    float *D = r->work, *dh = D + rows * G, *dc = dh + (size_t)n * H, *zeros = dc + (size_t)n * H;
    memset(dh, 0, (2 * (size_t)n * H + H) * sizeof(float));
    for (int t = T - 1; t >= 0; t--) {
        for (int b = 0; b < n; b++) {
            size_t row = (size_t)b * T + t;
            CX_VLOOP(H, lstm_dstep, H, s->gates + row * G, s->tc + row * H,
                     t > 0 ? s->c + (row - 1) * H : zeros, dy + row * H, dh + (size_t)b * H,
                     dc + (size_t)b * H, D + row * G);
        }
        if (t > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, H, G, 1.0f, D + (size_t)t * G,
                        T * G, whh->w, H, 0.0f, dh, H);
    }
    cx_rnn_sum_rows(D, rows, G, l->params[2].g);
    cx_rnn_sum_rows(D, rows, G, l->params[3].g);
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, G, F, (int)rows, 1.0f, D, G, x, F, 1.0f,
                wih->g, F);
    if (dx)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, F, G, 1.0f, D, G, wih->w,
                    F, 0.0f, dx, F);
    cx_rnn_shifted_outer(D, y, n, T, G, H, whh->g);
}

/* Streaming: x (n, F) one frame of each of n streams, y (n, H); h and c
 * carry over between calls. */
static void lstm_step(cx_layer *l, int n, const float *x, float *y)
{
    lstm_layer *s = (lstm_layer *)l;
    const int F = s->f, H = s->h, G = 4 * H;
    cx_rnn_project(n, G, F, x, l->params[0].w, 0.0f, s->sa);
    cx_rnn_project(n, G, H, s->sh, l->params[1].w, 1.0f, s->sa);
    for (int b = 0; b < n; b++) {
        float *c = s->sc + (size_t)b * H;
        CX_VLOOP(H, lstm_cell, H, s->sa + (size_t)b * G, l->params[2].w, l->params[3].w, c, c,
                 s->stc + (size_t)b * H, s->sh + (size_t)b * H);
    }
    memcpy(y, s->sh, (size_t)n * H * sizeof(float));
}

static void lstm_reset(cx_layer *l)
{
    lstm_layer *s = (lstm_layer *)l;
    size_t bytes = (size_t)l->max_batch * s->h * sizeof(float);
    if (s->sh) memset(s->sh, 0, bytes);
    if (s->sc) memset(s->sc, 0, bytes);
}

static void lstm_destroy(cx_layer *l)
{
    lstm_free_buffers((lstm_layer *)l);
    free(l);
}

const cx_layer_kind cx_kind_lstm = {
    .name = "lstm",
    .usage = "lstm UNITS",
    .create = lstm_create,
    .reserve = lstm_reserve,
    .workspace = lstm_workspace,
    .forward = lstm_forward,
    .backward = lstm_backward,
    .destroy = lstm_destroy,
    .step = lstm_step,
    .reset = lstm_reset,
};
