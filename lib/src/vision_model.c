/* Image model files: the preprocessing record, images to inputs, top-k
 * classification (see cortex/vision.h). */
#include "cortex/vision.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cortex/image.h"
#include "cortex/io.h"
#include "cortex/loss.h"

cx_status cx_vision_prep_store(cx_model *m, const cx_vision_prep *p, cx_error *err)
{
    if (p->channels != 1 && p->channels != 3)
        return cx_fail(err, CX_ERR_ARG, "vision preprocessing: %d channels (1 or 3)", p->channels);
    char buf[256];
    snprintf(buf, sizeof buf, "%d %d %d", p->channels, p->height, p->width);
    cx_status st = cx_model_set_meta(m, CX_VISION_META_INPUT, buf, err);
    int used = 0;
    for (int c = 0; c < p->channels; c++)
        used += snprintf(buf + used, sizeof buf - used, "%s%.9g", c ? " " : "", (double)p->mean[c]);
    if (!st) st = cx_model_set_meta(m, CX_VISION_META_MEAN, buf, err);
    used = 0;
    for (int c = 0; c < p->channels; c++)
        used += snprintf(buf + used, sizeof buf - used, "%s%.9g", c ? " " : "", (double)p->std[c]);
    if (!st) st = cx_model_set_meta(m, CX_VISION_META_STD, buf, err);
    return st;
}

/* Exactly n floats separated by spaces, nothing else. */
static int parse_floats(const char *s, float *out, int n)
{
    char *end;
    for (int i = 0; i < n; i++) {
        out[i] = strtof(s, &end);
        if (end == s) return -1;
        s = end;
    }
    while (*s == ' ')
        s++;
    return *s ? -1 : 0;
}

cx_status cx_vision_prep_load(const cx_model *m, const char *name, cx_vision_prep *p, cx_error *err)
{
    if (!name) name = "model";
    const char *in = cx_model_get_meta(m, CX_VISION_META_INPUT);
    const char *mean = cx_model_get_meta(m, CX_VISION_META_MEAN);
    const char *sd = cx_model_get_meta(m, CX_VISION_META_STD);
    if (!in || !mean || !sd)
        return cx_fail(err, CX_ERR_FORMAT,
                       "%s: not an image model (no vision.input/mean/std metadata)", name);
    memset(p, 0, sizeof *p);
    char extra;
    if (sscanf(in, "%d %d %d %c", &p->channels, &p->height, &p->width, &extra) != 3 ||
        (p->channels != 1 && p->channels != 3) || p->height < 1 || p->height > 4096 ||
        p->width < 1 || p->width > 4096)
        return cx_fail(err, CX_ERR_FORMAT, "%s: bad vision.input '%s'", name, in);
    if (parse_floats(mean, p->mean, p->channels) || parse_floats(sd, p->std, p->channels))
        return cx_fail(err, CX_ERR_FORMAT, "%s: bad vision.mean or vision.std", name);
    for (int c = 0; c < p->channels; c++)
        if (!(p->std[c] > 0) || !(p->mean[c] >= -10 && p->mean[c] <= 10))
            return cx_fail(err, CX_ERR_FORMAT, "%s: bad normalization statistics", name);
    cx_shape want = cx_shape3(p->channels, p->height, p->width);
    if (!cx_shape_equal(&want, cx_model_input_shape(m)))
        return cx_fail(err, CX_ERR_FORMAT, "%s: vision.input does not match the model's input",
                       name);
    const cx_shape *out = cx_model_output_shape(m);
    if (out->ndim != 1 || cx_model_num_labels(m) != out->d[0])
        return cx_fail(err, CX_ERR_FORMAT, "%s: the model has %d labels for %d outputs", name,
                       cx_model_num_labels(m), out->ndim == 1 ? out->d[0] : -1);
    return CX_OK;
}

void cx_vision_normalize(const cx_vision_prep *p, const uint8_t *chw, float *out)
{
    size_t plane = (size_t)p->height * p->width;
    for (int c = 0; c < p->channels; c++)
        for (size_t i = 0; i < plane; i++) {
            size_t k = (size_t)c * plane + i;
            out[k] = ((float)chw[k] / 255.0f - p->mean[c]) / p->std[c];
        }
}

/* The float buffer is big enough to hold the bytes first: decode into its
 * tail, then convert forward (element i is read before it is overwritten:
 * byte i sits at float offset >= i). */
static uint8_t *byte_tail(const cx_vision_prep *p, float *out)
{
    size_t total = (size_t)p->channels * p->height * p->width;
    return (uint8_t *)(out + total) - total;
}

cx_status cx_vision_input_file(const cx_vision_prep *p, const char *path, float *out, cx_error *err)
{
    uint8_t *bytes = byte_tail(p, out);
    cx_status st = cx_image_load(path, p->channels, p->height, p->width, bytes, err);
    if (!st) cx_vision_normalize(p, bytes, out);
    return st;
}

cx_status cx_vision_input_encoded(const cx_vision_prep *p, const void *data, size_t len,
                                  const char *name, float *out, cx_error *err)
{
    uint8_t *bytes = byte_tail(p, out);
    cx_status st = cx_image_decode(data, len, name, p->channels, p->height, p->width, bytes, err);
    if (!st) cx_vision_normalize(p, bytes, out);
    return st;
}

cx_status cx_vision_input_pixels(const cx_vision_prep *p, const uint8_t *hwc, int width, int height,
                                 int channels, float *out, cx_error *err)
{
    uint8_t *bytes = byte_tail(p, out);
    cx_status st = cx_image_convert(hwc, width, height, channels, p->channels, p->height, p->width,
                                    bytes, err);
    if (!st) cx_vision_normalize(p, bytes, out);
    return st;
}

struct cx_vision_model {
    cx_model *m;
    cx_vision_prep prep;
    float *x;     /* one input */
    float *probs; /* one row of probabilities */
    int *order;
};

void cx_vision_model_free(cx_vision_model *v)
{
    if (!v) return;
    cx_model_free(v->m);
    free(v->x);
    free(v->probs);
    free(v->order);
    free(v);
}

cx_status cx_vision_model_wrap(cx_vision_model **out, cx_model *m, const char *name, cx_error *err)
{
    *out = NULL;
    if (!name) name = "model";
    if (!m) return cx_fail(err, CX_ERR_ARG, "%s: NULL model", name);
    cx_vision_model *v = calloc(1, sizeof *v);
    if (!v) {
        cx_model_free(m);
        return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory", name);
    }
    v->m = m;
    cx_status st = cx_vision_prep_load(m, name, &v->prep, err);
    if (!st) st = cx_model_reserve(m, 1, err);
    if (!st) {
        int k = cx_model_num_labels(m);
        v->x = malloc(sizeof(float) * (size_t)v->prep.channels * v->prep.height * v->prep.width);
        v->probs = malloc(sizeof(float) * (size_t)k);
        v->order = malloc(sizeof(int) * (size_t)k);
        if (!v->x || !v->probs || !v->order)
            st = cx_fail(err, CX_ERR_NOMEM, "%s: out of memory", name);
    }
    if (st) {
        cx_vision_model_free(v);
        return st;
    }
    *out = v;
    return CX_OK;
}

cx_status cx_vision_model_load(cx_vision_model **out, const char *path, cx_error *err)
{
    *out = NULL;
    cx_model *m = NULL;
    cx_status st = cx_model_load(&m, path, err);
    return st ? st : cx_vision_model_wrap(out, m, path, err);
}

cx_model *cx_vision_model_net(const cx_vision_model *v)
{
    return v->m;
}
const cx_vision_prep *cx_vision_model_prep(const cx_vision_model *v)
{
    return &v->prep;
}
int cx_vision_model_num_labels(const cx_vision_model *v)
{
    return cx_model_num_labels(v->m);
}
const char *cx_vision_model_label(const cx_vision_model *v, int i)
{
    return cx_model_label(v->m, i);
}

int cx_vision_model_classify_input(cx_vision_model *v, const float *x, cx_prediction *top, int k,
                                   cx_error *err)
{
    if (!v || !x || (!top && k > 0)) {
        cx_fail(err, CX_ERR_ARG, "vision classify: NULL model, input or result");
        return -1;
    }
    int n = cx_model_num_labels(v->m);
    if (k > n) k = n;
    if (k < 0) k = 0;
    cx_softmax(cx_model_forward(v->m, 1, x), 1, n, v->probs);
    for (int i = 0; i < n; i++)
        v->order[i] = i;
    for (int i = 0; i < k; i++) /* partial selection sort: k and n are small */
        for (int j = i + 1; j < n; j++)
            if (v->probs[v->order[j]] > v->probs[v->order[i]]) {
                int t = v->order[i];
                v->order[i] = v->order[j];
                v->order[j] = t;
            }
    for (int i = 0; i < k; i++) {
        top[i].label = v->order[i];
        top[i].name = cx_model_label(v->m, v->order[i]);
        top[i].probability = v->probs[v->order[i]];
    }
    return k;
}

int cx_vision_model_classify_file(cx_vision_model *v, const char *path, cx_prediction *top, int k,
                                  cx_error *err)
{
    if (!v) {
        cx_fail(err, CX_ERR_ARG, "vision classify: NULL model");
        return -1;
    }
    if (cx_vision_input_file(&v->prep, path, v->x, err)) return -1;
    return cx_vision_model_classify_input(v, v->x, top, k, err);
}

int cx_vision_model_classify_encoded(cx_vision_model *v, const void *data, size_t len,
                                     const char *name, cx_prediction *top, int k, cx_error *err)
{
    if (!v) {
        cx_fail(err, CX_ERR_ARG, "vision classify: NULL model");
        return -1;
    }
    if (cx_vision_input_encoded(&v->prep, data, len, name, v->x, err)) return -1;
    return cx_vision_model_classify_input(v, v->x, top, k, err);
}

int cx_vision_model_classify_pixels(cx_vision_model *v, const uint8_t *hwc, int width, int height,
                                    int channels, cx_prediction *top, int k, cx_error *err)
{
    if (!v) {
        cx_fail(err, CX_ERR_ARG, "vision classify: NULL model");
        return -1;
    }
    if (cx_vision_input_pixels(&v->prep, hwc, width, height, channels, v->x, err)) return -1;
    return cx_vision_model_classify_input(v, v->x, top, k, err);
}
