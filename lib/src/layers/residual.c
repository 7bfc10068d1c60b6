/* res { LAYERS }: a residual block, y = LAYERS(x) + x, as ResNet's basic
 * block before its last activation. Two kinds mark the block in the model's
 * list of layers (model.c parses the braces):
 *   "res"  opens it: the identity, whose output the end adds back (the
 *          model adds the gradient of that addition into this layer's dy);
 *   "}"    closes it: y = x + P(s), s the output of the matching "res".
 * P is the identity when the block keeps the shape; when it changes a
 * (C,H,W) image's channels or its size by an integer stride, P is a 1x1
 * convolution with that stride and a bias (ResNet's projection shortcut,
 * as torch.nn.Conv2d(C1, C2, 1, stride=S)). */
#include <cblas.h>
#include <stdio.h>
#include <string.h>

#include "../layer_util.h"

/* ---- res: the block's opening ----------------------------------------- */

static cx_status res_create(cx_layer **out, int argc, char **argv, const cx_shape *in,
                            cx_error *err)
{
    if (argc != 1 || strcmp(argv[0], "{"))
        return cx_bad_token(err, "res", argc ? argv[0] : "(nothing)", "'{' (res { LAYERS })");
    cx_layer *l = cx_layer_new(sizeof *l, &cx_kind_res, in);
    if (!l) return cx_fail(err, CX_ERR_NOMEM, "layer 'res': out of memory");
    l->out = *in;
    snprintf(l->spec, sizeof l->spec, "res {");
    *out = l;
    return CX_OK;
}

/* x: (n, *)  y: (n, *) = x */
static void res_forward(cx_layer *l, const cx_run *r, int n, const float *x, float *y)
{
    (void)r;
    memcpy(y, x, (size_t)n * cx_shape_size(&l->in) * sizeof(float));
}

/* dy already holds the block's gradient plus the shortcut's (model.c) */
static void res_backward(cx_layer *l, const cx_run *r, int n, const float *x, const float *y,
                         const float *dy, float *dx)
{
    (void)r, (void)x, (void)y;
    if (dx) memcpy(dx, dy, (size_t)n * cx_shape_size(&l->in) * sizeof(float));
}

const cx_layer_kind cx_kind_res = {
    .name = "res",
    .usage = "res { LAYERS }  (LAYERS' output plus the block's input; a 1x1 convolution "
             "projects the input when the shape changes)",
    .create = res_create,
    .forward = res_forward,
    .backward = res_backward,
};

/* ---- }: the block's end ------------------------------------------------ */

typedef struct {
    cx_layer base;
    cx_shape skip; /* the shape of the block's input */
    int proj, stride;
    int c1, h1, w1, c2, h2, w2;
} resadd_layer;

/* argv: the block input's dimensions (model.c passes them). */
static cx_status resadd_create(cx_layer **out, int argc, char **argv, const cx_shape *in,
                               cx_error *err)
{
    cx_shape s = {0};
    if (argc < 1 || argc > CX_MAX_DIMS)
        return cx_fail(err, CX_ERR_ARG, "spec: '}' without a 'res {' before it");
    s.ndim = argc;
    for (int i = 0; i < argc; i++)
        if (cx_parse_int(argv[i], 1, 1 << 24, &s.d[i]))
            return cx_fail(err, CX_ERR_ARG, "spec: '}' without a 'res {' before it");
    resadd_layer *a = cx_layer_new(sizeof *a, &cx_kind_resadd, in);
    if (!a) return cx_fail(err, CX_ERR_NOMEM, "layer '}': out of memory");
    cx_layer *l = &a->base;
    a->skip = s;
    l->out = *in;
    snprintf(l->spec, sizeof l->spec, "}");
    if (!cx_shape_equal(&s, in)) {
        char b1[48], b2[48];
        int st = 0;
        for (int k = 1; s.ndim == 3 && in->ndim == 3 && k <= 8 && !st; k++)
            if ((s.d[1] - 1) / k + 1 == in->d[1] && (s.d[2] - 1) / k + 1 == in->d[2]) st = k;
        if (!st) {
            cx_layer_destroy(l);
            return cx_fail(err, CX_ERR_SHAPE,
                           "res: the block turns %s into %s; a shortcut can project only a "
                           "(C,H,W) image to other channels and a size smaller by a stride of "
                           "1 to 8",
                           cx_shape_str(&s, b1, sizeof b1), cx_shape_str(in, b2, sizeof b2));
        }
        a->proj = 1;
        a->stride = st;
        a->c1 = s.d[0], a->h1 = s.d[1], a->w1 = s.d[2];
        a->c2 = in->d[0], a->h2 = in->d[1], a->w2 = in->d[2];
        int ws[2] = {a->c2, a->c1}, bs[1] = {a->c2};
        cx_declare_param(l, "weight", 2, ws, 1, 1, CX_INIT_HE, 0, a->c1, a->c2);
        cx_declare_param(l, "bias", 1, bs, 1, 0, CX_INIT_ZERO, 0, 0, 0);
    }
    *out = &a->base;
    return CX_OK;
}

static size_t resadd_workspace(const cx_layer *l, int n)
{
    (void)n;
    const resadd_layer *a = (const resadd_layer *)l;
    return a->proj ? (size_t)a->c1 * a->h2 * a->w2 : 0;
}

/* One sample's input at the projection's stride: s (C1,H1,W1) -> g (C1, H2*W2) */
static void gather(const resadd_layer *a, const float *s, float *g)
{
    for (int c = 0; c < a->c1; c++)
        for (int i = 0; i < a->h2; i++)
            for (int j = 0; j < a->w2; j++)
                g[((size_t)c * a->h2 + i) * a->w2 + j] =
                    s[((size_t)c * a->h1 + i * a->stride) * a->w1 + j * a->stride];
}

/* x: (n, C2,H2,W2) the block's output, s: (n, C1,H1,W1) its input,
 * y: (n, C2,H2,W2) = x + W g(s) + b, W (C2, C1), g(s) (C1, H2*W2) */
static void resadd_forward_skip(cx_layer *l, const cx_run *r, int n, const float *x, const float *s,
                                float *y)
{
    resadd_layer *a = (resadd_layer *)l;
    size_t out = cx_shape_size(&l->out);
    if (!a->proj) {
        for (size_t i = 0; i < (size_t)n * out; i++)
            y[i] = x[i] + s[i];
        return;
    }
    const float *w = l->params[0].w, *b = l->params[1].w;
    int hw = a->h2 * a->w2;
    size_t in = cx_shape_size(&a->skip);
    for (int k = 0; k < n; k++) {
        float *yk = y + (size_t)k * out;
        const float *xk = x + (size_t)k * out;
        for (int c = 0; c < a->c2; c++)
            for (int p = 0; p < hw; p++)
                yk[(size_t)c * hw + p] = xk[(size_t)c * hw + p] + b[c];
        gather(a, s + (size_t)k * in, r->work);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, a->c2, hw, a->c1, 1.0f, w, a->c1,
                    r->work, hw, 1.0f, yk, hw);
    }
}

/* dx = dy; ds += P^T dy: dW += dy g(s)^T, db += sum dy, ds at the strided
 * positions += W^T dy */
static void resadd_backward_skip(cx_layer *l, const cx_run *r, int n, const float *x,
                                 const float *s, const float *y, const float *dy, float *dx,
                                 float *ds)
{
    (void)x, (void)y;
    resadd_layer *a = (resadd_layer *)l;
    size_t out = cx_shape_size(&l->out);
    if (dx) memcpy(dx, dy, (size_t)n * out * sizeof(float));
    if (!a->proj) {
        if (ds)
            for (size_t i = 0; i < (size_t)n * out; i++)
                ds[i] += dy[i];
        return;
    }
    const float *w = l->params[0].w;
    float *dw = l->params[0].g, *db = l->params[1].g;
    int hw = a->h2 * a->w2;
    size_t in = cx_shape_size(&a->skip);
    for (int k = 0; k < n; k++) {
        const float *dyk = dy + (size_t)k * out;
        for (int c = 0; c < a->c2; c++) {
            float sum = 0.0f;
            for (int p = 0; p < hw; p++)
                sum += dyk[(size_t)c * hw + p];
            db[c] += sum;
        }
        gather(a, s + (size_t)k * in, r->work);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, a->c2, a->c1, hw, 1.0f, dyk, hw,
                    r->work, hw, 1.0f, dw, a->c1);
        if (!ds) continue;
        /* g(ds) = W^T dy (C1, H2*W2), scattered back to the strided positions */
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, a->c1, hw, a->c2, 1.0f, w, a->c1, dyk,
                    hw, 0.0f, r->work, hw);
        float *dsk = ds + (size_t)k * in;
        for (int c = 0; c < a->c1; c++)
            for (int i = 0; i < a->h2; i++)
                for (int j = 0; j < a->w2; j++)
                    dsk[((size_t)c * a->h1 + i * a->stride) * a->w1 + j * a->stride] +=
                        r->work[((size_t)c * a->h2 + i) * a->w2 + j];
    }
}

/* Reached only through forward_skip / backward_skip (model.c). */
static void resadd_forward(cx_layer *l, const cx_run *r, int n, const float *x, float *y)
{
    (void)l, (void)r, (void)n, (void)x, (void)y;
}

static void resadd_backward(cx_layer *l, const cx_run *r, int n, const float *x, const float *y,
                            const float *dy, float *dx)
{
    (void)l, (void)r, (void)n, (void)x, (void)y, (void)dy, (void)dx;
}

const cx_layer_kind cx_kind_resadd = {
    .name = "}",
    .usage = "}  (ends a res { LAYERS } block)",
    .create = resadd_create,
    .workspace = resadd_workspace,
    .forward = resadd_forward,
    .backward = resadd_backward,
    .forward_skip = resadd_forward_skip,
    .backward_skip = resadd_backward_skip,
};
