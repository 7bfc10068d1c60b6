/* The in-memory dataset: construction helpers, subsets, normalization
 * statistics and float batches. The loaders are in folder.c (image folders)
 * and idx.c (IDX files); their shared helpers in data_util.c. */
#include "cortex/data.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "data_util.h"

const char *cx_split_name(cx_split split)
{
    switch (split) {
    case CX_SPLIT_ALL:
        return "all";
    case CX_SPLIT_TRAIN:
        return "train";
    case CX_SPLIT_VAL:
        return "val";
    case CX_SPLIT_TEST:
        return "test";
    }
    return "unknown";
}

cx_dataset *cx_dataset_new(void)
{
    return calloc(1, sizeof(cx_dataset));
}

cx_status cx_dataset_set_classes(cx_dataset *ds, int n, const char *const *names, cx_error *err)
{
    ds->class_names = calloc((size_t)n, sizeof(char *));
    if (!ds->class_names) return cx_fail(err, CX_ERR_NOMEM, "dataset: out of memory");
    ds->nclasses = n;
    for (int i = 0; i < n; i++) {
        char num[16];
        snprintf(num, sizeof num, "%d", i);
        ds->class_names[i] = cx_strdup(names ? names[i] : num);
        if (!ds->class_names[i]) return cx_fail(err, CX_ERR_NOMEM, "dataset: out of memory");
    }
    return CX_OK;
}

void cx_dataset_free(cx_dataset *ds)
{
    if (!ds) return;
    free(ds->pixels);
    free(ds->labels);
    cx_free_names(ds->class_names, ds->nclasses);
    cx_free_names(ds->paths, ds->n);
    cx_free_names(ds->warnings, ds->nwarnings);
    free(ds->source);
    free(ds);
}

void cx_dataset_class_counts(const cx_dataset *ds, int *counts)
{
    memset(counts, 0, (size_t)ds->nclasses * sizeof *counts);
    for (int i = 0; i < ds->n; i++)
        if (ds->labels[i] >= 0 && ds->labels[i] < ds->nclasses) counts[ds->labels[i]]++;
}

const char *cx_dataset_item_name(const cx_dataset *ds, int i, char *buf, size_t len)
{
    if (i < 0 || i >= ds->n)
        snprintf(buf, len, "%s item %d (out of range)", ds->source ? ds->source : "dataset", i);
    else if (ds->paths && ds->paths[i])
        snprintf(buf, len, "%s", ds->paths[i]);
    else
        snprintf(buf, len, "%s item %d", ds->source ? ds->source : "dataset", i);
    return buf;
}

cx_status cx_dataset_subset(cx_dataset **out, const cx_dataset *ds, const int *idx, int n,
                            cx_error *err)
{
    *out = NULL;
    if (n < 0 || (n > 0 && !idx))
        return cx_fail(err, CX_ERR_ARG, "dataset subset: bad count %d", n);
    for (int k = 0; k < n; k++)
        if (idx[k] < 0 || idx[k] >= ds->n)
            return cx_fail(err, CX_ERR_ARG, "dataset subset: index %d out of range 0..%d", idx[k],
                           ds->n - 1);
    cx_dataset *s = cx_dataset_new();
    if (!s) return cx_fail(err, CX_ERR_NOMEM, "dataset subset: out of memory");
    size_t item = (size_t)ds->c * ds->h * ds->w;
    s->c = ds->c;
    s->h = ds->h;
    s->w = ds->w;
    s->presplit = ds->presplit;
    s->pixels = malloc(item * (size_t)(n > 0 ? n : 1));
    s->labels = malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    s->source = ds->source ? cx_strdup(ds->source) : NULL;
    if (ds->paths) s->paths = calloc((size_t)(n > 0 ? n : 1), sizeof(char *));
    cx_status st = CX_OK;
    if (!s->pixels || !s->labels || (ds->source && !s->source) || (ds->paths && !s->paths))
        st = cx_fail(err, CX_ERR_NOMEM, "dataset subset: out of memory");
    if (!st)
        st = cx_dataset_set_classes(s, ds->nclasses, (const char *const *)ds->class_names, err);
    for (int k = 0; !st && k < n; k++) {
        memcpy(s->pixels + item * k, ds->pixels + item * idx[k], item);
        s->labels[k] = ds->labels[idx[k]];
        if (s->paths && ds->paths[idx[k]]) {
            s->paths[k] = cx_strdup(ds->paths[idx[k]]);
            if (!s->paths[k]) st = cx_fail(err, CX_ERR_NOMEM, "dataset subset: out of memory");
        }
        s->n = k + 1; /* so that free releases the paths copied so far */
    }
    if (st) {
        cx_dataset_free(s);
        return st;
    }
    s->n = n;
    *out = s;
    return CX_OK;
}

cx_status cx_dataset_mean_std(const cx_dataset *ds, float *mean, float *std, cx_error *err)
{
    if (!ds || ds->n <= 0 || ds->c <= 0)
        return cx_fail(err, CX_ERR_ARG, "dataset statistics: empty dataset");
    if (!mean || !std) return cx_fail(err, CX_ERR_ARG, "dataset statistics: NULL output");
    /* A histogram per channel gives exact sums whatever the dataset size. */
    size_t plane = (size_t)ds->h * ds->w;
    for (int ch = 0; ch < ds->c; ch++) {
        uint64_t hist[256] = {0};
        for (int i = 0; i < ds->n; i++) {
            const uint8_t *p = ds->pixels + ((size_t)i * ds->c + ch) * plane;
            for (size_t k = 0; k < plane; k++)
                hist[p[k]]++;
        }
        double count = (double)ds->n * (double)plane, s = 0.0;
        for (int v = 0; v < 256; v++)
            s += (double)hist[v] * v;
        double m = s / count, var = 0.0;
        for (int v = 0; v < 256; v++)
            var += (double)hist[v] * (v - m) * (v - m);
        double sd = sqrt(var / count) / 255.0;
        mean[ch] = (float)(m / 255.0);
        std[ch] = sd < 1e-6 ? 1.0f : (float)sd;
    }
    return CX_OK;
}

/* x[i][ch][p] = (pixel / 255 - mean[ch]) / std[ch], computed as
 * pixel * scale[ch] + shift[ch]. */
cx_status cx_dataset_get_batch(const cx_dataset *ds, const int *idx, int n, const float *mean,
                               const float *std, float *x, int *y, cx_error *err)
{
    if (n < 0 || (n > 0 && (!idx || !x)))
        return cx_fail(err, CX_ERR_ARG, "dataset batch: bad arguments (n = %d)", n);
    for (int k = 0; k < n; k++)
        if (idx[k] < 0 || idx[k] >= ds->n)
            return cx_fail(err, CX_ERR_ARG, "dataset batch: index %d out of range 0..%d", idx[k],
                           ds->n - 1);
    for (int ch = 0; ch < ds->c; ch++)
        if (std && !(std[ch] > 0.0f && isfinite(std[ch])))
            return cx_fail(err, CX_ERR_ARG, "dataset batch: std[%d] = %g must be positive", ch,
                           (double)std[ch]);
    size_t plane = (size_t)ds->h * ds->w, item = plane * ds->c;
    for (int k = 0; k < n; k++) {
        const uint8_t *p = ds->pixels + item * idx[k];
        float *o = x + item * k;
        for (int ch = 0; ch < ds->c; ch++) {
            float sd = std ? std[ch] : 1.0f, m = mean ? mean[ch] : 0.0f;
            float scale = 1.0f / (255.0f * sd), shift = -m / sd;
            for (size_t q = 0; q < plane; q++)
                o[ch * plane + q] = (float)p[ch * plane + q] * scale + shift;
        }
        if (y) y[k] = ds->labels[idx[k]];
    }
    return CX_OK;
}
