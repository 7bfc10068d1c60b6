#define _POSIX_C_SOURCE 200809L
#include "cortex/model.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cortex/loss.h"
#include "kv.h"
#include "layer_util.h"
#include "model_util.h"

#define MAX_TOKENS 16
#define MAX_LAYERS 256

struct cx_model {
    char *spec;
    cx_shape input;
    int nlayers;
    cx_layer **layers;

    float *w, *g; /* one block for every parameter and its gradient */
    size_t nw;
    int shares_w;    /* a replica: w is another model's (cx_model_replica) */
    cx_group *group; /* the shards of one batch this model runs with, or NULL */

    int training;
    cx_rng rng;

    int max_batch;
    float **act;       /* act[i]: output of layer i, max_batch x out size */
    float *grad[2];    /* ping-pong buffers for output gradients */
    float *grad_input; /* gradient wrt the model input */
    float **skipgrad;  /* [i]: for the end of a residual block, its shortcut's gradient */
    int *skip_to;      /* [i]: 1 + the block end that adds layer i's output, or 0 */
    size_t grad_size;  /* floats in each grad buffer */
    float *work;
    size_t work_size;
    const float *last_x;
    int want_input_grad;

    int stream_ready;
    int pool_at; /* index of the sequence pooling layer, or nlayers */

    int nlabels;
    char **labels;
    int nmeta;
    char **meta_key, **meta_val;

    /* An ensemble has no layers of its own: nmembers models of one input
     * and one 1-D output shape, and buffers for their mean probability. */
    int nmembers;
    cx_model **members;
    float *ens_out, *ens_prob; /* max_batch x K each */
};

/* A trailing activation: a registered one, or "linear" (none: no layer). */
static int is_activation(const char *tok)
{
    return !strcmp(tok, "linear") || cx_layer_find_activation(tok) != NULL;
}

static cx_status add_layer(cx_model *m, cx_layer *l, cx_error *err)
{
    if (m->nlayers >= MAX_LAYERS) {
        cx_layer_destroy(l);
        return cx_fail(err, CX_ERR_ARG, "spec: more than %d layers", MAX_LAYERS);
    }
    m->layers[m->nlayers++] = l;
    return CX_OK;
}

static cx_status make_layer(cx_model *m, const char *name, int argc, char **argv, cx_shape *cur,
                            cx_error *err)
{
    const cx_layer_kind *kind = cx_layer_find(name);
    if (!kind) return cx_fail(err, CX_ERR_ARG, "spec: unknown layer '%s'", name);
    cx_layer *l = NULL;
    cx_status st = kind->create(&l, argc, argv, cur, err);
    if (st) return st;
    *cur = l->out;
    return add_layer(m, l, err);
}

/* Parses "input C H W" style tokens into a shape. */
static cx_status parse_input(int argc, char **argv, cx_shape *s, cx_error *err)
{
    if (argc < 1 || argc > 3)
        return cx_fail(err, CX_ERR_ARG, "spec: 'input' takes 1 to 3 sizes (C H W, T F or F)");
    s->ndim = argc;
    for (int i = 0; i < argc; i++)
        if (cx_parse_int(argv[i], 1, 1 << 20, &s->d[i]))
            return cx_bad_token(err, "input", argv[i], "a size from 1 to 1048576");
    if (cx_shape_size(s) > (size_t)1 << 28)
        return cx_fail(err, CX_ERR_ARG, "spec: input is too large");
    return CX_OK;
}

/* A copy of spec with spaces around each brace: "res{conv 8 3}" reads as
 * "res { conv 8 3 }". NULL when out of memory. */
static char *spaced_braces(const char *spec)
{
    size_t n = strlen(spec), extra = 0;
    for (size_t i = 0; i < n; i++)
        extra += spec[i] == '{' || spec[i] == '}';
    char *t = malloc(n + 2 * extra + 1), *o = t;
    if (!t) return NULL;
    for (size_t i = 0; i < n; i++) {
        if (spec[i] == '{' || spec[i] == '}') {
            *o++ = ' ';
            *o++ = spec[i];
            *o++ = ' ';
        } else {
            *o++ = spec[i];
        }
    }
    *o = '\0';
    return t;
}

static cx_status build_canonical_spec(cx_model *m, cx_error *err)
{
    size_t cap = 64 + (size_t)m->nlayers * (CX_LAYER_SPEC + 2);
    char *s = malloc(cap);
    if (!s) return cx_fail(err, CX_ERR_NOMEM, "spec: out of memory");
    size_t used = (size_t)snprintf(s, cap, "input");
    for (int i = 0; i < m->input.ndim; i++)
        used += (size_t)snprintf(s + used, cap - used, " %d", m->input.d[i]);
    /* "res { conv ...; batchnorm }": no semicolon after a "{" or before a "}" */
    for (int i = 0; i < m->nlayers; i++) {
        int tight =
            !strcmp(m->layers[i]->spec, "}") || (i > 0 && !strcmp(m->layers[i - 1]->spec, "res {"));
        used +=
            (size_t)snprintf(s + used, cap - used, "%s%s", tight ? " " : "; ", m->layers[i]->spec);
    }
    m->spec = s;
    return CX_OK;
}

cx_status cx_model_alloc_params(cx_model *m, cx_error *err)
{
    for (int i = 0; i < m->nmembers; i++) {
        cx_status st = cx_model_alloc_params(m->members[i], err);
        if (st) return st;
    }
    if (m->nmembers) return CX_OK;
    if (m->w) return CX_OK;
    size_t total = 0;
    for (int i = 0; i < m->nlayers; i++)
        for (int j = 0; j < m->layers[i]->nparams; j++) {
            size_t sz = m->layers[i]->params[j].size;
            /* Clamped so that the sum cannot wrap whatever a layer declares;
             * every tensor is kept 64-byte aligned. */
            total += sz > ((size_t)1 << 31) ? ((size_t)1 << 31) + 1 : (sz + 15) & ~(size_t)15;
        }
    if (total > ((size_t)1 << 31))
        return cx_fail(err, CX_ERR_ARG, "spec: %zu parameters is more than Cortex supports", total);
    m->nw = total;
    m->w = cx_alloc_floats(total);
    m->g = cx_alloc_floats(total);
    if (!m->w || !m->g) return cx_fail(err, CX_ERR_NOMEM, "model: out of memory for parameters");
    size_t off = 0;
    for (int i = 0; i < m->nlayers; i++)
        for (int j = 0; j < m->layers[i]->nparams; j++) {
            cx_param *p = &m->layers[i]->params[j];
            p->w = m->w + off;
            p->g = m->g + off;
            off += (p->size + 15) & ~(size_t)15;
        }
    return CX_OK;
}

static int find_pool(const cx_model *m)
{
    for (int i = 0; i < m->nlayers; i++)
        if (m->layers[i]->kind->pools_time) return i;
    return m->nlayers;
}

static int is_ensemble_spec(const char *spec)
{
    while (isspace((unsigned char)*spec))
        spec++;
    return !strncmp(spec, "ensemble", 8) &&
           (spec[8] == '|' || isspace((unsigned char)spec[8]) || !spec[8]);
}

/* "ensemble | SPEC | SPEC ..." of the members' canonical specs (malloc'ed;
 * NULL when out of memory). */
static char *ensemble_spec(cx_model *const *members, int n)
{
    size_t cap = 16;
    for (int i = 0; i < n; i++)
        cap += strlen(members[i]->spec) + 3;
    char *spec = malloc(cap);
    if (!spec) return NULL;
    size_t used = (size_t)snprintf(spec, cap, "ensemble");
    for (int i = 0; i < n; i++)
        used += (size_t)snprintf(spec + used, cap - used, " | %s", members[i]->spec);
    return spec;
}

/* "ensemble | SPEC | SPEC ...": the members' layouts, which must agree on
 * the input shape and on one 1-D output shape. */
static cx_status create_ensemble_layout(cx_model **out, const char *spec, const cx_shape *input,
                                        cx_error *err)
{
    cx_model *m = calloc(1, sizeof *m);
    char *text = strdup(spec);
    if (!m || !text || !(m->members = calloc(CX_MODEL_MAX_MEMBERS, sizeof *m->members))) {
        free(m ? m->members : NULL);
        free(m);
        free(text);
        return cx_fail(err, CX_ERR_NOMEM, "spec: out of memory");
    }
    cx_rng_seed(&m->rng, 0);
    cx_status st = CX_OK;
    char *save = NULL;
    char *head = strtok_r(text, "|", &save);
    char *rest = head ? head + strspn(head, " \t\r\n") + 8 : NULL;
    if (!rest || rest[strspn(rest, " \t\r\n")])
        st = cx_fail(err, CX_ERR_ARG, "spec: 'ensemble' must be followed by '| SPEC | SPEC ...'");
    for (char *seg = strtok_r(NULL, "|", &save); seg && !st; seg = strtok_r(NULL, "|", &save)) {
        if (m->nmembers == CX_MODEL_MAX_MEMBERS) {
            st = cx_fail(err, CX_ERR_ARG, "spec: an ensemble has at most %d members",
                         CX_MODEL_MAX_MEMBERS);
            break;
        }
        if (is_ensemble_spec(seg)) {
            st = cx_fail(err, CX_ERR_ARG, "spec: an ensemble member cannot be an ensemble");
            break;
        }
        cx_error e2;
        cx_model *mem = NULL;
        if ((st = cx_model_create_layout(&mem, seg, input, &e2))) {
            const char *why = strncmp(e2.msg, "spec: ", 6) ? e2.msg : e2.msg + 6;
            cx_fail(err, st, "spec: ensemble member %d: %s", m->nmembers + 1, why);
            break;
        }
        m->members[m->nmembers++] = mem;
        const cx_shape *o = cx_model_output_shape(mem), *o0 = cx_model_output_shape(m->members[0]);
        if (o->ndim != 1)
            st = cx_fail(err, CX_ERR_SHAPE,
                         "spec: ensemble member %d does not end in class scores "
                         "(a 1-D output)",
                         m->nmembers);
        else if (!cx_shape_equal(&mem->input, &m->members[0]->input) || !cx_shape_equal(o, o0))
            st = cx_fail(err, CX_ERR_SHAPE,
                         "spec: ensemble member %d has other input or output "
                         "shapes than member 1",
                         m->nmembers);
    }
    free(text);
    if (!st && m->nmembers < 2)
        st = cx_fail(err, CX_ERR_ARG, "spec: an ensemble needs at least 2 members");
    if (!st && !(m->spec = ensemble_spec(m->members, m->nmembers)))
        st = cx_fail(err, CX_ERR_NOMEM, "spec: out of memory");
    if (st) {
        cx_model_free(m);
        return st;
    }
    m->input = m->members[0]->input;
    *out = m;
    return CX_OK;
}

static cx_status create_layout(cx_model **out, const char *spec, const cx_shape *input,
                               cx_error *err)
{
    *out = NULL;
    if (!spec) return cx_fail(err, CX_ERR_ARG, "spec: empty");
    if (is_ensemble_spec(spec)) return create_ensemble_layout(out, spec, input, err);
    cx_model *m = calloc(1, sizeof *m);
    char *text = strdup(spec);
    if (!m || !text || !(m->layers = calloc(MAX_LAYERS, sizeof *m->layers))) {
        free(m ? m->layers : NULL);
        free(m);
        free(text);
        return cx_fail(err, CX_ERR_NOMEM, "spec: out of memory");
    }
    free(text);
    if (!(text = spaced_braces(spec))) {
        free(m->layers);
        free(m);
        return cx_fail(err, CX_ERR_NOMEM, "spec: out of memory");
    }
    cx_rng_seed(&m->rng, 0);
    cx_status st = CX_OK;
    cx_shape cur = {0};
    int have_input = 0;
    if (input) {
        cur = *input;
        have_input = 1;
    }
    /* the residual blocks open at this point: their "res" layers and input shapes */
    int open[MAX_LAYERS], nopen = 0;
    cx_shape open_in[MAX_LAYERS];
    char *save = NULL;
    for (char *seg = strtok_r(text, ";\n", &save); seg && !st; seg = strtok_r(NULL, ";\n", &save)) {
        char *argv[MAX_TOKENS];
        int argc = 0;
        char *tsave = NULL;
        for (char *t = strtok_r(seg, " \t\r", &tsave); t; t = strtok_r(NULL, " \t\r", &tsave)) {
            if (argc == MAX_TOKENS) {
                st = cx_bad_token(err, argv[0], t, "fewer arguments");
                break;
            }
            argv[argc++] = t;
        }
        if (st || argc == 0) continue;
        if (!strcmp(argv[0], "input")) {
            cx_shape s = {0};
            if ((st = parse_input(argc - 1, argv + 1, &s, err))) break;
            if (m->nlayers > 0) {
                st = cx_fail(err, CX_ERR_ARG, "spec: 'input' must come first");
                break;
            }
            if (have_input && !cx_shape_equal(&s, &cur)) {
                char a[48], b[48];
                st = cx_fail(err, CX_ERR_SHAPE, "spec: input %s does not match the data's %s",
                             cx_shape_str(&s, a, sizeof a), cx_shape_str(&cur, b, sizeof b));
                break;
            }
            cur = s;
            have_input = 1;
            continue;
        }
        if (!have_input) {
            st = cx_fail(err, CX_ERR_ARG, "spec: no input shape (begin with e.g. 'input 1 28 28')");
            break;
        }
        if (m->nlayers == 0) m->input = cur;
        /* res { ... }: openings at the start of the segment, ends at its end */
        char **av = argv;
        while (argc > 0 && !strcmp(av[0], "res") && !st) {
            if (argc < 2 || strcmp(av[1], "{")) {
                st = cx_bad_token(err, "res", argc > 1 ? av[1] : "(nothing)",
                                  "'{' (res { LAYERS })");
                break;
            }
            cx_shape before = cur;
            if ((st = make_layer(m, "res", 1, av + 1, &cur, err))) break;
            open_in[nopen] = before;
            open[nopen++] = m->nlayers - 1;
            av += 2, argc -= 2;
        }
        if (st) break;
        int closes = 0;
        while (argc > 0 && !strcmp(av[argc - 1], "}"))
            argc--, closes++;
        for (int i = 0; i < argc && !st; i++)
            if (!strcmp(av[i], "{") || !strcmp(av[i], "}") || !strcmp(av[i], "res"))
                st = cx_fail(err, CX_ERR_ARG,
                             "spec: '%s' in the middle of a layer (a block is 'res { LAYER; "
                             "LAYER }', its layers between semicolons)",
                             av[i]);
        if (st) break;
        if (argc > 0) {
            const cx_layer_kind *kind = cx_layer_find(av[0]);
            const char *act = NULL;
            if (kind && kind->takes_activation && argc > 1 && is_activation(av[argc - 1])) {
                act = av[argc - 1];
                argc--;
            }
            if ((st = make_layer(m, av[0], argc - 1, av + 1, &cur, err))) break;
            if (act && strcmp(act, "linear") != 0 && (st = make_layer(m, act, 0, NULL, &cur, err)))
                break;
        }
        for (; closes > 0 && !st; closes--) {
            if (nopen == 0) {
                st = cx_fail(err, CX_ERR_ARG, "spec: '}' without a 'res {' before it");
                break;
            }
            nopen--;
            char dims[CX_MAX_DIMS][16], *dv[CX_MAX_DIMS];
            for (int i = 0; i < open_in[nopen].ndim; i++) {
                snprintf(dims[i], sizeof dims[i], "%d", open_in[nopen].d[i]);
                dv[i] = dims[i];
            }
            if ((st = make_layer(m, "}", open_in[nopen].ndim, dv, &cur, err))) break;
            m->layers[m->nlayers - 1]->skip = open[nopen] + 1;
        }
    }
    free(text);
    if (!st && nopen > 0) st = cx_fail(err, CX_ERR_ARG, "spec: 'res {' without its '}'");
    if (!st && !have_input)
        st = cx_fail(err, CX_ERR_ARG, "spec: no input shape (begin with e.g. 'input 1 28 28')");
    if (!st && m->nlayers == 0) {
        m->input = cur;
        st = cx_fail(err, CX_ERR_ARG, "spec: no layers");
    }
    if (!st) st = build_canonical_spec(m, err);
    if (st) {
        cx_model_free(m);
        return st;
    }
    m->pool_at = find_pool(m);
    *out = m;
    return CX_OK;
}

cx_status cx_model_create_layout(cx_model **out, const char *spec, const cx_shape *input,
                                 cx_error *err)
{
    /* A spec is read and written in the C locale whatever the application
     * set: "dropout 0.5" must not need to be "dropout 0,5" under de_DE, nor
     * the canonical spec saved in a model file say "leaky 0,01". */
    locale_t old = cx_c_locale_enter();
    cx_status st = create_layout(out, spec, input, err);
    cx_c_locale_leave(old);
    return st;
}

cx_status cx_model_create(cx_model **out, const char *spec, const cx_shape *input, cx_error *err)
{
    cx_status st = cx_model_create_layout(out, spec, input, err);
    if (!st && (st = cx_model_alloc_params(*out, err))) {
        cx_model_free(*out);
        *out = NULL;
    }
    return st;
}

void cx_model_free(cx_model *m)
{
    if (!m) return;
    for (int i = 0; i < m->nmembers; i++)
        cx_model_free(m->members[i]);
    free(m->members);
    cx_free_floats(m->ens_out);
    cx_free_floats(m->ens_prob);
    for (int i = 0; i < m->nlayers; i++)
        cx_layer_destroy(m->layers[i]);
    if (m->act)
        for (int i = 0; i < m->nlayers; i++)
            cx_free_floats(m->act[i]);
    free(m->act);
    if (m->skipgrad)
        for (int i = 0; i < m->nlayers; i++)
            cx_free_floats(m->skipgrad[i]);
    free(m->skipgrad);
    free(m->skip_to);
    free(m->layers);
    cx_free_floats(m->grad[0]);
    cx_free_floats(m->grad[1]);
    cx_free_floats(m->grad_input);
    cx_free_floats(m->work);
    if (!m->shares_w) cx_free_floats(m->w);
    cx_free_floats(m->g);
    for (int i = 0; i < m->nlabels; i++)
        free(m->labels[i]);
    free(m->labels);
    for (int i = 0; i < m->nmeta; i++) {
        free(m->meta_key[i]);
        free(m->meta_val[i]);
    }
    free(m->meta_key);
    free(m->meta_val);
    free(m->spec);
    free(m);
}

static void init_param(cx_param *p, cx_rng *rng)
{
    size_t n = p->size;
    switch (p->init) {
    case CX_INIT_ZERO:
        memset(p->w, 0, n * sizeof(float));
        break;
    case CX_INIT_CONST:
        for (size_t i = 0; i < n; i++)
            p->w[i] = p->init_value;
        break;
    case CX_INIT_HE: {
        float sd = sqrtf(2.0f / (float)(p->fan_in > 0 ? p->fan_in : 1));
        for (size_t i = 0; i < n; i++)
            p->w[i] = sd * cx_rng_normal(rng);
        break;
    }
    case CX_INIT_GLOROT: {
        float lim = sqrtf(6.0f / (float)(p->fan_in + p->fan_out > 0 ? p->fan_in + p->fan_out : 1));
        for (size_t i = 0; i < n; i++)
            p->w[i] = lim * (2.0f * cx_rng_uniform(rng) - 1.0f);
        break;
    }
    case CX_INIT_UNIFORM:
        for (size_t i = 0; i < n; i++)
            p->w[i] = p->init_value * (2.0f * cx_rng_uniform(rng) - 1.0f);
        break;
    case CX_INIT_LSTM_BIAS: /* a forget gate open at the start keeps gradients flowing */
        memset(p->w, 0, n * sizeof(float));
        for (size_t i = n / 4; i < n / 2; i++)
            p->w[i] = p->init_value;
        break;
    }
}

void cx_model_init(cx_model *m, uint64_t seed)
{
    for (int i = 0; i < m->nmembers; i++)
        cx_model_init(m->members[i], seed + (uint64_t)i);
    cx_rng rng;
    cx_rng_seed(&rng, seed);
    for (int i = 0; i < m->nlayers; i++)
        for (int j = 0; j < m->layers[i]->nparams; j++)
            init_param(&m->layers[i]->params[j], &rng);
    cx_rng_seed(&m->rng, seed ^ 0x5eed5eedULL);
}

const char *cx_model_spec(const cx_model *m)
{
    return m->spec;
}
const cx_shape *cx_model_input_shape(const cx_model *m)
{
    return &m->input;
}
const cx_shape *cx_model_output_shape(const cx_model *m)
{
    return m->nmembers ? cx_model_output_shape(m->members[0]) : &m->layers[m->nlayers - 1]->out;
}
int cx_model_num_layers(const cx_model *m)
{
    return m->nlayers;
}
cx_layer *cx_model_layer(cx_model *m, int i)
{
    return i >= 0 && i < m->nlayers ? m->layers[i] : NULL;
}

size_t cx_model_num_params(const cx_model *m)
{
    size_t n = 0;
    for (int i = 0; i < m->nmembers; i++)
        n += cx_model_num_params(m->members[i]);
    for (int i = 0; i < m->nlayers; i++)
        for (int j = 0; j < m->layers[i]->nparams; j++)
            if (m->layers[i]->params[j].trainable) n += m->layers[i]->params[j].size;
    return n;
}

int cx_model_num_tensors(const cx_model *m)
{
    int n = 0;
    for (int i = 0; i < m->nmembers; i++)
        n += cx_model_num_tensors(m->members[i]);
    for (int i = 0; i < m->nlayers; i++)
        n += m->layers[i]->nparams;
    return n;
}

static int tensor_index(const cx_model *m, int k, int *layer)
{
    for (int i = 0; i < m->nlayers; i++) {
        if (k < m->layers[i]->nparams) {
            *layer = i;
            return k;
        }
        k -= m->layers[i]->nparams;
    }
    return -1;
}

/* For an ensemble: the member holding tensor k, and k within it. */
static int member_index(const cx_model *m, int *k)
{
    for (int i = 0; i < m->nmembers; i++) {
        int n = cx_model_num_tensors(m->members[i]);
        if (*k >= 0 && *k < n) return i;
        *k -= n;
    }
    return -1;
}

cx_param *cx_model_tensor(cx_model *m, int k)
{
    if (m->nmembers) {
        int i = member_index(m, &k);
        return i < 0 ? NULL : cx_model_tensor(m->members[i], k);
    }
    int layer, j = tensor_index(m, k, &layer);
    return j < 0 ? NULL : &m->layers[layer]->params[j];
}

const char *cx_model_tensor_name(const cx_model *m, int k, char *buf, size_t len)
{
    if (m->nmembers) {
        int i = member_index(m, &k);
        if (i < 0) {
            snprintf(buf, len, "?");
            return buf;
        }
        int used = snprintf(buf, len, "m%d.", i);
        if (used > 0 && (size_t)used < len)
            cx_model_tensor_name(m->members[i], k, buf + used, len - (size_t)used);
        return buf;
    }
    int layer, j = tensor_index(m, k, &layer);
    if (j < 0)
        snprintf(buf, len, "?");
    else
        snprintf(buf, len, "%d.%s", layer, m->layers[layer]->params[j].name);
    return buf;
}

float *cx_model_param_block(cx_model *m, size_t *n)
{
    if (n) *n = m->nw;
    return m->w;
}

float *cx_model_grad_block(cx_model *m, size_t *n)
{
    if (n) *n = m->nw;
    return m->g;
}

void cx_model_set_training(cx_model *m, int training)
{
    m->training = training != 0;
    for (int i = 0; i < m->nmembers; i++)
        cx_model_set_training(m->members[i], training);
}
int cx_model_training(const cx_model *m)
{
    return m->training;
}
cx_rng *cx_model_rng(cx_model *m)
{
    return &m->rng;
}
int cx_model_max_batch(const cx_model *m)
{
    return m->max_batch;
}

/* a + b, or SIZE_MAX when it overflows */
static size_t add_sat(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

static size_t mul_sat(size_t a, size_t b)
{
    return b && a > SIZE_MAX / b ? SIZE_MAX : a * b;
}

/* What cx_model_reserve allocates, counted the same way. */
size_t cx_model_reserve_bytes(const cx_model *m, int max_batch)
{
    if (!m || max_batch <= 0) return 0;
    size_t b = (size_t)max_batch, total = 0;
    if (m->nmembers) {
        for (int i = 0; i < m->nmembers; i++)
            total = add_sat(total, cx_model_reserve_bytes(m->members[i], max_batch));
        size_t k = cx_shape_size(cx_model_output_shape(m));
        return add_sat(total, mul_sat(mul_sat(2 * k, b), sizeof(float)));
    }
    size_t in_size = cx_shape_size(&m->input), biggest = in_size, work = 0, floats = 0;
    for (int i = 0; i < m->nlayers; i++) {
        const cx_layer *l = m->layers[i];
        size_t o = cx_shape_size(&l->out);
        if (o > biggest) biggest = o;
        floats = add_sat(floats, mul_sat(o, b));
        if (l->skip) /* the shortcut's gradient */
            floats = add_sat(floats, mul_sat(cx_shape_size(&m->layers[l->skip - 1]->out), b));
        if (l->kind->workspace) {
            size_t w = l->kind->workspace(l, max_batch);
            if (w > work) work = w;
        }
    }
    floats = add_sat(floats, mul_sat(2 * biggest, b)); /* the two gradient buffers */
    floats = add_sat(floats, mul_sat(in_size, b));     /* the input gradient */
    floats = add_sat(floats, work);
    return mul_sat(floats, sizeof(float));
}

cx_status cx_model_reserve(cx_model *m, int max_batch, cx_error *err)
{
    if (max_batch <= 0) return cx_fail(err, CX_ERR_ARG, "model: batch size must be positive");
    if (max_batch <= m->max_batch) return CX_OK;
    if (m->nmembers) {
        for (int i = 0; i < m->nmembers; i++) {
            cx_status st = cx_model_reserve(m->members[i], max_batch, err);
            if (st) return st;
        }
        size_t k = cx_shape_size(cx_model_output_shape(m));
        cx_free_floats(m->ens_out);
        cx_free_floats(m->ens_prob);
        m->ens_out = cx_alloc_floats(k * (size_t)max_batch);
        m->ens_prob = cx_alloc_floats(k * (size_t)max_batch);
        if (!m->ens_out || !m->ens_prob)
            return cx_fail(err, CX_ERR_NOMEM, "model: out of memory for activations");
        m->max_batch = max_batch;
        return CX_OK;
    }
    size_t in_size = cx_shape_size(&m->input);
    size_t biggest = in_size, work = 0;
    for (int i = 0; i < m->nlayers; i++) {
        cx_layer *l = m->layers[i];
        size_t o = cx_shape_size(&l->out);
        if (o > biggest) biggest = o;
        if (l->kind->workspace) {
            size_t w = l->kind->workspace(l, max_batch);
            if (w > work) work = w;
        }
    }
    if (biggest > SIZE_MAX / 8 / (size_t)max_batch)
        return cx_fail(err, CX_ERR_NOMEM, "model: batch of %d is too large", max_batch);
    if (!m->act && !(m->act = calloc((size_t)m->nlayers, sizeof *m->act)))
        return cx_fail(err, CX_ERR_NOMEM, "model: out of memory");
    for (int i = 0; i < m->nlayers; i++) {
        cx_free_floats(m->act[i]);
        m->act[i] = cx_alloc_floats(cx_shape_size(&m->layers[i]->out) * (size_t)max_batch);
        if (!m->act[i]) return cx_fail(err, CX_ERR_NOMEM, "model: out of memory for activations");
    }
    if (!m->skipgrad && !(m->skipgrad = calloc((size_t)m->nlayers, sizeof *m->skipgrad)))
        return cx_fail(err, CX_ERR_NOMEM, "model: out of memory");
    if (!m->skip_to && !(m->skip_to = calloc((size_t)m->nlayers, sizeof *m->skip_to)))
        return cx_fail(err, CX_ERR_NOMEM, "model: out of memory");
    for (int i = 0; i < m->nlayers; i++) {
        int from = m->layers[i]->skip - 1;
        if (from < 0) continue;
        m->skip_to[from] = i + 1;
        cx_free_floats(m->skipgrad[i]);
        m->skipgrad[i] = cx_alloc_floats(cx_shape_size(&m->layers[from]->out) * (size_t)max_batch);
        if (!m->skipgrad[i])
            return cx_fail(err, CX_ERR_NOMEM, "model: out of memory for gradients");
    }
    m->grad_size = biggest * (size_t)max_batch;
    for (int k = 0; k < 2; k++) {
        cx_free_floats(m->grad[k]);
        if (!(m->grad[k] = cx_alloc_floats(m->grad_size)))
            return cx_fail(err, CX_ERR_NOMEM, "model: out of memory for gradients");
    }
    cx_free_floats(m->grad_input);
    if (!(m->grad_input = cx_alloc_floats(in_size * (size_t)max_batch)))
        return cx_fail(err, CX_ERR_NOMEM, "model: out of memory for gradients");
    cx_free_floats(m->work);
    m->work_size = work;
    if (!(m->work = cx_alloc_floats(work)))
        return cx_fail(err, CX_ERR_NOMEM, "model: out of memory for workspace");
    for (int i = 0; i < m->nlayers; i++) {
        cx_layer *l = m->layers[i];
        if (l->kind->reserve) {
            cx_status st = l->kind->reserve(l, max_batch, err);
            if (st) return st;
        }
        l->max_batch = max_batch;
    }
    m->max_batch = max_batch;
    return CX_OK;
}

void cx_ensemble_add(const float *z, int n, int k, float *prob, float *acc)
{
    size_t nk = (size_t)n * (size_t)k;
    cx_softmax(z, n, k, prob);
    for (size_t j = 0; j < nk; j++)
        acc[j] += prob[j];
}

void cx_ensemble_finish(float *acc, int n, int k, int members)
{
    size_t nk = (size_t)n * (size_t)k;
    const float scale = 1.0f / (float)members;
    for (size_t j = 0; j < nk; j++) {
        float p = acc[j] * scale;
        acc[j] = logf(p > 1e-30f ? p : 1e-30f);
    }
}

/* Ensemble forward. x: (n, input), each member's scores z: (n, K);
 * out = log(mean over members of softmax(z)), (n, K), so that a softmax of
 * out is the members' mean probability. */
static const float *ensemble_forward(cx_model *m, int n, const float *x)
{
    int k = (int)cx_shape_size(cx_model_output_shape(m));
    memset(m->ens_out, 0, (size_t)n * (size_t)k * sizeof(float));
    for (int i = 0; i < m->nmembers; i++) {
        const float *z = cx_model_forward(m->members[i], n, x);
        if (!z) return NULL;
        cx_ensemble_add(z, n, k, m->ens_prob, m->ens_out);
    }
    cx_ensemble_finish(m->ens_out, n, k, m->nmembers);
    return m->ens_out;
}

const float *cx_model_forward(cx_model *m, int n, const float *x)
{
    if (n <= 0 || n > m->max_batch) return NULL;
    if (m->nmembers) return ensemble_forward(m, n, x);
    cx_run r = {m->training, &m->rng, m->work, m->group};
    const float *cur = x;
    for (int i = 0; i < m->nlayers; i++) {
        cx_layer *l = m->layers[i];
        if (l->skip)
            l->kind->forward_skip(l, &r, n, cur, m->act[l->skip - 1], m->act[i]);
        else
            l->kind->forward(l, &r, n, cur, m->act[i]);
        cur = m->act[i];
    }
    m->last_x = x;
    m->stream_ready = 0;
    return cur;
}

void cx_model_zero_grad(cx_model *m)
{
    if (m->nw) memset(m->g, 0, m->nw * sizeof(float));
}

void cx_model_backward(cx_model *m, int n, const float *dy)
{
    if (n <= 0 || n > m->max_batch || !m->last_x) return;
    cx_run r = {m->training, &m->rng, m->work, m->group};
    const float *cur = dy;
    for (int i = m->nlayers - 1; i >= 0; i--) {
        cx_layer *l = m->layers[i];
        const float *x = i > 0 ? m->act[i - 1] : m->last_x;
        float *dx = i > 0 ? m->grad[i & 1] : (m->want_input_grad ? m->grad_input : NULL);
        if (m->skip_to[i]) { /* this output also went round a residual block */
            const float *ds = m->skipgrad[m->skip_to[i] - 1];
            float *d = (float *)cur; /* a gradient buffer: layer i + 1's dx */
            size_t len = (size_t)n * cx_shape_size(&l->out);
            for (size_t k = 0; k < len; k++)
                d[k] += ds[k];
        }
        if (l->skip) {
            float *ds = m->skipgrad[i];
            memset(ds, 0, (size_t)n * cx_shape_size(&m->layers[l->skip - 1]->out) * sizeof *ds);
            l->kind->backward_skip(l, &r, n, x, m->act[l->skip - 1], m->act[i], cur, dx, ds);
        } else {
            l->kind->backward(l, &r, n, x, m->act[i], cur, dx);
        }
        cur = dx;
    }
}

void cx_model_want_input_grad(cx_model *m, int want)
{
    m->want_input_grad = want != 0;
}

const float *cx_model_input_grad(const cx_model *m)
{
    return m->want_input_grad ? m->grad_input : NULL;
}

cx_status cx_model_stream_reset(cx_model *m, cx_error *err)
{
    if (m->nmembers)
        return cx_fail(err, CX_ERR_STATE,
                       "model: an ensemble runs on whole windows, not one "
                       "frame at a time");
    if (m->input.ndim != 2)
        return cx_fail(err, CX_ERR_STATE, "model: streaming needs a (time, features) input");
    for (int i = 0; i < m->pool_at; i++)
        if (!m->layers[i]->kind->step)
            return cx_fail(err, CX_ERR_STATE, "model: layer '%s' cannot run one frame at a time",
                           m->layers[i]->spec);
    if (m->pool_at < m->nlayers && !m->layers[m->pool_at]->kind->step)
        return cx_fail(err, CX_ERR_STATE, "model: layer '%s' cannot run one frame at a time",
                       m->layers[m->pool_at]->spec);
    if (m->max_batch < 1) {
        cx_status st = cx_model_reserve(m, 1, err);
        if (st) return st;
    }
    for (int i = 0; i < m->nlayers; i++)
        if (m->layers[i]->kind->reset) m->layers[i]->kind->reset(m->layers[i]);
    m->stream_ready = 1;
    return CX_OK;
}

const float *cx_model_stream_step(cx_model *m, const float *frame)
{
    if (!m->stream_ready) return NULL;
    cx_run r = {0, &m->rng, m->work, NULL};
    const float *cur = frame;
    for (int i = 0; i < m->nlayers; i++) {
        cx_layer *l = m->layers[i];
        if (i <= m->pool_at && i < m->nlayers)
            l->kind->step(l, 1, cur, m->act[i]);
        else
            l->kind->forward(l, &r, 1, cur, m->act[i]);
        cur = m->act[i];
    }
    return cur;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

cx_status cx_model_set_labels(cx_model *m, int n, const char *const *labels, cx_error *err)
{
    char **copy = n > 0 ? calloc((size_t)n, sizeof *copy) : NULL;
    if (n > 0 && !copy) return cx_fail(err, CX_ERR_NOMEM, "model: out of memory for labels");
    for (int i = 0; i < n; i++)
        if (!(copy[i] = dup_str(labels[i]))) {
            for (int j = 0; j < i; j++)
                free(copy[j]);
            free(copy);
            return cx_fail(err, CX_ERR_NOMEM, "model: out of memory for labels");
        }
    for (int i = 0; i < m->nlabels; i++)
        free(m->labels[i]);
    free(m->labels);
    m->labels = copy;
    m->nlabels = n;
    return CX_OK;
}

int cx_model_num_labels(const cx_model *m)
{
    return m->nlabels;
}
const char *cx_model_label(const cx_model *m, int i)
{
    return i >= 0 && i < m->nlabels ? m->labels[i] : NULL;
}

cx_status cx_model_set_meta(cx_model *m, const char *key, const char *value, cx_error *err)
{
    for (int i = 0; i < m->nmeta; i++) {
        if (strcmp(m->meta_key[i], key) != 0) continue;
        if (!value) {
            free(m->meta_key[i]);
            free(m->meta_val[i]);
            m->nmeta--;
            m->meta_key[i] = m->meta_key[m->nmeta];
            m->meta_val[i] = m->meta_val[m->nmeta];
            return CX_OK;
        }
        char *v = dup_str(value);
        if (!v) return cx_fail(err, CX_ERR_NOMEM, "model: out of memory for metadata");
        free(m->meta_val[i]);
        m->meta_val[i] = v;
        return CX_OK;
    }
    if (!value) return CX_OK;
    char **k = realloc(m->meta_key, (size_t)(m->nmeta + 1) * sizeof *k);
    if (!k) return cx_fail(err, CX_ERR_NOMEM, "model: out of memory for metadata");
    m->meta_key = k;
    char **v = realloc(m->meta_val, (size_t)(m->nmeta + 1) * sizeof *v);
    if (!v) return cx_fail(err, CX_ERR_NOMEM, "model: out of memory for metadata");
    m->meta_val = v;
    char *kk = dup_str(key), *vv = dup_str(value);
    if (!kk || !vv) {
        free(kk);
        free(vv);
        return cx_fail(err, CX_ERR_NOMEM, "model: out of memory for metadata");
    }
    m->meta_key[m->nmeta] = kk;
    m->meta_val[m->nmeta] = vv;
    m->nmeta++;
    return CX_OK;
}

const char *cx_model_get_meta(const cx_model *m, const char *key)
{
    for (int i = 0; i < m->nmeta; i++)
        if (!strcmp(m->meta_key[i], key)) return m->meta_val[i];
    return NULL;
}

int cx_model_num_meta(const cx_model *m)
{
    return m->nmeta;
}
const char *cx_model_meta_key(const cx_model *m, int i)
{
    return i >= 0 && i < m->nmeta ? m->meta_key[i] : NULL;
}

cx_status cx_model_transfer(cx_model *dst, const cx_model *src, int *layers, cx_error *err)
{
    if (layers) *layers = 0;
    if (dst->nmembers || src->nmembers)
        return cx_fail(err, CX_ERR_ARG, "model: an ensemble cannot pass on its layers");
    if (!cx_shape_equal(&dst->input, &src->input)) {
        char a[48], b[48];
        return cx_fail(err, CX_ERR_SHAPE, "model: the trained model takes %s, this one %s",
                       cx_shape_str(&src->input, a, sizeof a),
                       cx_shape_str(&dst->input, b, sizeof b));
    }
    cx_status st = cx_model_alloc_params(dst, err);
    if (st) return st;
    int n = 0;
    for (; n < dst->nlayers && n < src->nlayers; n++) {
        const cx_layer *a = dst->layers[n], *b = src->layers[n];
        int same = !strcmp(a->spec, b->spec) && a->nparams == b->nparams && a->skip == b->skip &&
                   cx_shape_equal(&a->out, &b->out);
        for (int j = 0; same && j < a->nparams; j++)
            same = a->params[j].size == b->params[j].size;
        if (!same) break;
    }
    if (n == 0)
        return cx_fail(err, CX_ERR_SHAPE, "model: the first layers differ ('%s' against '%s')",
                       dst->nlayers ? dst->layers[0]->spec : "", src->layers[0]->spec);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < dst->layers[i]->nparams; j++)
            memcpy(dst->layers[i]->params[j].w, src->layers[i]->params[j].w,
                   dst->layers[i]->params[j].size * sizeof(float));
    if (layers) *layers = n;
    return CX_OK;
}

void cx_model_freeze(cx_model *m, int n)
{
    for (int i = 0; i < n && i < m->nlayers; i++)
        for (int j = 0; j < m->layers[i]->nparams; j++)
            m->layers[i]->params[j].trainable = 0;
}

cx_status cx_model_copy_weights(cx_model *dst, const cx_model *src, cx_error *err)
{
    if (dst->nw != src->nw || strcmp(dst->spec, src->spec) != 0)
        return cx_fail(err, CX_ERR_SHAPE,
                       "model: cannot copy weights between different architectures");
    for (int i = 0; i < src->nmembers; i++) {
        cx_status st = cx_model_copy_weights(dst->members[i], src->members[i], err);
        if (st) return st;
    }
    if (src->nw) memcpy(dst->w, src->w, src->nw * sizeof(float));
    return CX_OK;
}

int cx_model_num_members(const cx_model *m)
{
    return m->nmembers;
}

cx_model *cx_model_member(cx_model *m, int i)
{
    return i >= 0 && i < m->nmembers ? m->members[i] : NULL;
}

cx_status cx_model_ensemble(cx_model **out, cx_model *const *members, int n, cx_error *err)
{
    *out = NULL;
    if (n < 2 || n > CX_MODEL_MAX_MEMBERS || !members)
        return cx_fail(err, CX_ERR_ARG, "model: an ensemble has 2 to %d members",
                       CX_MODEL_MAX_MEMBERS);
    for (int i = 0; i < n; i++) {
        if (!members[i])
            return cx_fail(err, CX_ERR_ARG, "model: ensemble member %d is missing", i + 1);
        if (members[i]->nmembers)
            return cx_fail(err, CX_ERR_ARG, "model: ensemble member %d is itself an ensemble",
                           i + 1);
    }
    char *spec = ensemble_spec(members, n);
    if (!spec) return cx_fail(err, CX_ERR_NOMEM, "model: out of memory");
    cx_model *m = NULL;
    cx_status st = cx_model_create(&m, spec, NULL, err);
    free(spec);
    for (int i = 0; !st && i < n; i++)
        st = cx_model_copy_weights(m->members[i], members[i], err);
    if (st) {
        cx_model_free(m);
        return st;
    }
    *out = m;
    return CX_OK;
}

cx_status cx_model_replica(cx_model **out, cx_model *master, cx_error *err)
{
    *out = NULL;
    if (master->nmembers)
        return cx_fail(err, CX_ERR_ARG, "model: an ensemble has no replicas (it is not trained)");
    cx_status st = cx_model_alloc_params(master, err);
    if (st) return st;
    cx_model *r = NULL;
    if ((st = cx_model_create_layout(&r, master->spec, &master->input, err))) return st;
    r->nw = master->nw;
    r->shares_w = 1;
    r->w = master->w;
    if (!(r->g = cx_alloc_floats(r->nw ? r->nw : 1))) {
        cx_model_free(r);
        return cx_fail(err, CX_ERR_NOMEM, "model: out of memory for a replica's gradients");
    }
    /* The same offsets as cx_model_alloc_params gave the master. */
    for (int i = 0; i < r->nlayers; i++)
        for (int j = 0; j < r->layers[i]->nparams; j++) {
            cx_param *p = &r->layers[i]->params[j];
            size_t off = (size_t)(master->layers[i]->params[j].w - master->w);
            p->w = r->w + off;
            p->g = r->g + off;
        }
    r->training = master->training;
    *out = r;
    return CX_OK;
}

void cx_model_set_group(cx_model *m, cx_group *g)
{
    m->group = g;
}

size_t cx_model_group_doubles(const cx_model *m)
{
    size_t most = 1;
    for (int i = 0; i < m->nlayers; i++) {
        const cx_shape *in = &m->layers[i]->in;
        size_t a = in->ndim > 0 ? (size_t)in->d[0] : 1, b = (size_t)cx_last_dim(in);
        if (a > most) most = a;
        if (b > most) most = b;
    }
    return 2 * most + 1;
}
