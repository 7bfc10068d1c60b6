#define _POSIX_C_SOURCE 200809L
#include "layer_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The registry: every kind of layer_kinds.def, in its order. */
static const cx_layer_kind *const kinds[] = {
#define X(var) &cx_kind_##var,
#include "layer_kinds.def"
#undef X
    NULL,
};

/* Other keywords accepted in specs for a kind. */
static const struct {
    const char *name;
    const cx_layer_kind *kind;
} aliases[] = {
    {"bn", &cx_kind_batchnorm},
    {"conv2d", &cx_kind_conv2d},
    {"leakyrelu", &cx_kind_leaky},
};

const cx_layer_kind *const *cx_layer_kinds(void)
{
    return kinds;
}

const cx_layer_kind *cx_layer_find(const char *name)
{
    for (int i = 0; kinds[i]; i++)
        if (strcmp(kinds[i]->name, name) == 0) return kinds[i];
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(aliases[i].name, name) == 0) return aliases[i].kind;
    return NULL;
}

/* Aliases are not looked at: "dense 128 leakyrelu" has never been a spec. */
const cx_layer_kind *cx_layer_find_activation(const char *name)
{
    for (int i = 0; kinds[i]; i++)
        if (kinds[i]->activation && strcmp(kinds[i]->name, name) == 0) return kinds[i];
    return NULL;
}

void cx_layer_destroy(cx_layer *l)
{
    if (!l) return;
    if (l->kind && l->kind->destroy)
        l->kind->destroy(l);
    else
        free(l);
}

int cx_parse_size2(const char *tok, long lo, long hi, int *h, int *w)
{
    const char *x = strchr(tok, 'x');
    if (!x) {
        if (cx_parse_int(tok, lo, hi, h)) return -1;
        *w = *h;
        return 0;
    }
    char first[24];
    size_t len = (size_t)(x - tok);
    if (len == 0 || len >= sizeof first) return -1;
    memcpy(first, tok, len);
    first[len] = '\0';
    return cx_parse_int(first, lo, hi, h) || cx_parse_int(x + 1, lo, hi, w) ? -1 : 0;
}

const char *cx_size2_str(int h, int w, char *buf, size_t len)
{
    if (h == w)
        snprintf(buf, len, "%d", h);
    else
        snprintf(buf, len, "%dx%d", h, w);
    return buf;
}

cx_status cx_parse_conv_args(const cx_layer_kind *kind, int argc, char **argv, int *k, int *stride,
                             int *pad, cx_error *err)
{
    const char *name = kind->name;
    int have_stride = 0;
    *stride = 1;
    *pad = -1;
    if (cx_parse_int(argv[0], 1, 64, k))
        return cx_bad_token(err, name, argv[0], "a kernel size from 1 to 64");
    for (int i = 1; i < argc; i++) {
        const char *v;
        if (cx_parse_kv(argv[i], "stride", &v) && !have_stride) {
            if (cx_parse_int(v, 1, 64, stride))
                return cx_bad_token(err, name, argv[i], "stride=S with S from 1 to 64");
            have_stride = 1;
        } else if (cx_parse_kv(argv[i], "pad", &v) && *pad < 0) {
            if (!strcmp(v, "same"))
                *pad = *k / 2;
            else if (!strcmp(v, "valid"))
                *pad = 0;
            else if (cx_parse_int(v, 0, *k - 1, pad))
                return cx_bad_token(err, name, argv[i],
                                    "pad=same, pad=valid or pad=P with P from 0 to SIZE-1");
        } else {
            return cx_bad_token(err, name, argv[i],
                                "stride=S, pad=P|same|valid or an activation, each at most once");
        }
    }
    if (*pad < 0) *pad = *k / 2;
    return CX_OK;
}

cx_status cx_parse_pool_args(const cx_layer_kind *kind, int argc, char **argv, int *kh, int *kw,
                             int *sh, int *sw, cx_error *err)
{
    const char *name = kind->name;
    if (argc < 1 || argc > 2)
        return cx_fail(err, CX_ERR_ARG, "layer '%s': usage: %s", name, kind->usage);
    if (cx_parse_size2(argv[0], 1, 64, kh, kw))
        return cx_bad_token(err, name, argv[0], "a window SIZE or KHxKW, each from 1 to 64");
    *sh = *kh;
    *sw = *kw;
    if (argc == 2) {
        const char *v;
        if (!cx_parse_kv(argv[1], "stride", &v) || cx_parse_size2(v, 1, 64, sh, sw))
            return cx_bad_token(err, name, argv[1], "stride=S or stride=SHxSW, each from 1 to 64");
    }
    return CX_OK;
}

cx_param *cx_declare_param(cx_layer *l, const char *name, int ndim, const int *shape, int trainable,
                           int decay, cx_init init, float init_value, int fan_in, int fan_out)
{
    if (l->nparams >= CX_LAYER_MAX_PARAMS) return NULL;
    cx_param *p = &l->params[l->nparams++];
    memset(p, 0, sizeof *p);
    strncpy(p->name, name, CX_PARAM_NAME - 1);
    p->ndim = ndim;
    p->size = 1;
    for (int i = 0; i < ndim; i++) {
        p->shape[i] = shape[i];
        p->size *= (size_t)shape[i];
    }
    p->trainable = trainable;
    p->decay = decay;
    p->init = init;
    p->init_value = init_value;
    p->fan_in = fan_in;
    p->fan_out = fan_out;
    return p;
}

void *cx_layer_new(size_t size, const cx_layer_kind *kind, const cx_shape *in)
{
    cx_layer *l = calloc(1, size);
    if (!l) return NULL;
    l->kind = kind;
    l->in = *in;
    l->out = *in;
    return l;
}

cx_status cx_bad_token(cx_error *err, const char *layer, const char *tok, const char *expected)
{
    return cx_fail(err, CX_ERR_ARG, "layer '%s': bad token '%s': expected %s", layer, tok,
                   expected);
}

cx_status cx_bad_input(cx_error *err, const char *layer, const cx_shape *in, const char *expected)
{
    char buf[48];
    return cx_fail(err, CX_ERR_SHAPE, "layer '%s': input shape %s, expected %s", layer,
                   cx_shape_str(in, buf, sizeof buf), expected);
}
