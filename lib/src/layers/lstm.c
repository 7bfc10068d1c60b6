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
    s->gates = s->c = s->tc = s->sh = s->sc = s->sa = NULL;
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
    if (!s->gates || !s->c || !s->tc || !s->sh || !s->sc || !s->sa) {
        lstm_free_buffers(s);
        return cx_fail(err, CX_ERR_NOMEM, "layer 'lstm %d': out of memory for %d sequences", s->h,
                       max_batch);
    }
    return CX_OK;
}

/* Backward: gate gradients (n, T, 4H), dh and dc (n, H). */
static size_t lstm_workspace(const cx_layer *l, int n)
{
    const lstm_layer *s = (const lstm_layer *)l;
    size_t rows = (size_t)n * (size_t)s->t, h = (size_t)s->h;
    return rows * 4 * h + 2 * (size_t)n * h;
}

/* One step of one sequence.
 * a: (4H) in: W_ih x + W_hh h (no biases);  out: i, f, g, o
 * cprev: (H), NULL when 0;  c, tc: (H) out: c' and tanh(c') (c may alias
 * cprev; tc may be NULL);  hout: (H) out: h' */
static void lstm_cell(int H, float *a, const float *bih, const float *bhh, const float *cprev,
                      float *c, float *tc, float *hout)
{
    for (int j = 0; j < H; j++) {
        float i = cx_sigmoidf(a[j] + bih[j] + bhh[j]);
        float f = cx_sigmoidf(a[H + j] + bih[H + j] + bhh[H + j]);
        float g = cx_tanhf(a[2 * H + j] + bih[2 * H + j] + bhh[2 * H + j]);
        float o = cx_sigmoidf(a[3 * H + j] + bih[3 * H + j] + bhh[3 * H + j]);
        float cn = i * g + (cprev ? f * cprev[j] : 0.0f);
        float t = cx_tanhf(cn);
        a[j] = i;
        a[H + j] = f;
        a[2 * H + j] = g;
        a[3 * H + j] = o;
        c[j] = cn;
        if (tc) tc[j] = t;
        hout[j] = o * t;
    }
}

/* x: (n, T, F)  y: (n, T, H)
 * A = x W_ih^T                        (n*T, 4H), one product for every step
 * per step t: A[:, t] += h_{t-1} W_hh^T (n, 4H), h_{t-1} = y[:, t-1], none at t = 0
 *             gates, c_t, h_t from A[:, t] as in the header */
static void lstm_forward(cx_layer *l, const cx_run *r, int n, const float *x, float *y)
{
    (void)r;
    lstm_layer *s = (lstm_layer *)l;
    const int T = s->t, F = s->f, H = s->h, G = 4 * H;
    const float *wih = l->params[0].w, *whh = l->params[1].w;
    const float *bih = l->params[2].w, *bhh = l->params[3].w;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n * T, G, F, 1.0f, x, F, wih, F, 0.0f,
                s->gates, G);
    for (int t = 0; t < T; t++) {
        if (t > 0)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, G, H, 1.0f,
                        y + (size_t)(t - 1) * H, T * H, whh, H, 1.0f, s->gates + (size_t)t * G,
                        T * G);
        for (int b = 0; b < n; b++) {
            size_t row = (size_t)b * T + t;
            lstm_cell(H, s->gates + row * G, bih, bhh, t > 0 ? s->c + (row - 1) * H : NULL,
                      s->c + row * H, s->tc + row * H, y + row * H);
        }
    }
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
    float *D = r->work, *dh = D + rows * G, *dc = dh + (size_t)n * H;
    memset(dh, 0, 2 * (size_t)n * H * sizeof(float));
    for (int t = T - 1; t >= 0; t--) {
        for (int b = 0; b < n; b++) {
            size_t row = (size_t)b * T + t;
            const float *gt = s->gates + row * G, *tc = s->tc + row * H, *dyt = dy + row * H;
            const float *cp = t > 0 ? s->c + (row - 1) * H : NULL;
            float *dt = D + row * G, *dhb = dh + (size_t)b * H, *dcb = dc + (size_t)b * H;
            for (int j = 0; j < H; j++) {
                float i = gt[j], f = gt[H + j], g = gt[2 * H + j], o = gt[3 * H + j];
                float d = dhb[j] + dyt[j], tcj = tc[j];
                float dcj = dcb[j] + d * o * (1.0f - tcj * tcj);
                dt[j] = dcj * g * i * (1.0f - i);
                dt[H + j] = cp ? dcj * cp[j] * f * (1.0f - f) : 0.0f;
                dt[2 * H + j] = dcj * i * (1.0f - g * g);
                dt[3 * H + j] = d * tcj * o * (1.0f - o);
                dcb[j] = dcj * f;
            }
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
        lstm_cell(H, s->sa + (size_t)b * G, l->params[2].w, l->params[3].w, c, c, NULL,
                  s->sh + (size_t)b * H);
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
    .usage = "lstm UNITS               (over a (T,F) sequence, output (T,UNITS))",
    .create = lstm_create,
    .reserve = lstm_reserve,
    .workspace = lstm_workspace,
    .forward = lstm_forward,
    .backward = lstm_backward,
    .destroy = lstm_destroy,
    .step = lstm_step,
    .reset = lstm_reset,
};
