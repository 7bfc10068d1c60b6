#define _POSIX_C_SOURCE 200809L
#include "layer_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const cx_layer_kind *const kinds[] = {
    &cx_kind_dense,
    &cx_kind_conv2d,
    &cx_kind_dwconv2d,
    &cx_kind_maxpool,
    &cx_kind_avgpool,
    &cx_kind_gap,
    &cx_kind_batchnorm,
    &cx_kind_dropout,
    &cx_kind_relu,
    &cx_kind_leaky,
    &cx_kind_gelu,
    &cx_kind_sigmoid,
    &cx_kind_tanh,
    &cx_kind_flatten,
    &cx_kind_gru,
    &cx_kind_lstm,
    &cx_kind_seq_last,
    &cx_kind_seq_mean,
    &cx_kind_tnorm,
    &cx_kind_conv1d,
    &cx_kind_image,
    &cx_kind_seq,
    NULL,
};

const cx_layer_kind *const *cx_layer_kinds(void) { return kinds; }

const cx_layer_kind *cx_layer_find(const char *name)
{
    for (int i = 0; kinds[i]; i++)
        if (strcmp(kinds[i]->name, name) == 0) return kinds[i];
    /* Aliases accepted in specs. */
    if (strcmp(name, "bn") == 0) return &cx_kind_batchnorm;
    if (strcmp(name, "conv2d") == 0) return &cx_kind_conv2d;
    if (strcmp(name, "leakyrelu") == 0) return &cx_kind_leaky;
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

cx_param *cx_declare_param(cx_layer *l, const char *name, int ndim, const int *shape,
                           int trainable, int decay, cx_init init, float init_value, int fan_in,
                           int fan_out)
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
    return cx_fail(err, CX_ERR_ARG, "layer '%s': bad token '%s': expected %s", layer, tok, expected);
}

cx_status cx_bad_input(cx_error *err, const char *layer, const cx_shape *in, const char *expected)
{
    char buf[48];
    return cx_fail(err, CX_ERR_SHAPE, "layer '%s': input shape %s, expected %s", layer,
                   cx_shape_str(in, buf, sizeof buf), expected);
}
