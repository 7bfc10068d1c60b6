/* Model files: a model's tensors, spec, labels and metadata in a safetensors
 * file (see cortex/io.h). Loading rebuilds the layer stack from the stored
 * spec without allocating parameters, checks the file's tensors against the
 * declared ones, and only then allocates, so the allocation is bounded by
 * what the file actually holds. */
#define _POSIX_C_SOURCE 200809L
#include "cortex/io.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_LEN 64
/* Longest spec accepted from a file (a 256-layer spec is ~25 KB). */
#define MAX_SPEC_LEN (1u << 20)

static const char *const reserved_keys[] = {"cortex.format", "cortex.spec", "cortex.labels",
                                            "cortex.version"};
#define NRESERVED 4

static int is_reserved(const char *key)
{
    for (int i = 0; i < NRESERVED; i++)
        if (!strcmp(key, reserved_keys[i])) return 1;
    return 0;
}

/* Checkpoint extras live under these prefixes, apart from model tensors
 * ("<layer>.<param>", which always start with a digit). */
static int is_extra_name(const char *name)
{
    return !strncmp(name, "optim.", 6) || !strncmp(name, "train.", 6);
}

/* cortex.labels: a JSON array of strings. NULL when out of memory. */
static char *labels_json(const cx_model *m)
{
    cJSON *a = cJSON_CreateArray();
    int ok = a != NULL;
    for (int i = 0; ok && i < cx_model_num_labels(m); i++) {
        cJSON *s = cJSON_CreateString(cx_model_label(m, i));
        ok = s && cJSON_AddItemToArray(a, s);
        if (!ok) cJSON_Delete(s);
    }
    char *text = ok ? cJSON_PrintUnformatted(a) : NULL;
    cJSON_Delete(a);
    return text;
}

cx_status cx_model_save_ex(const cx_model *cm, const char *path, int nextra,
                           const cx_st_entry *extra, int nmeta, const char *const *keys,
                           const char *const *values, cx_error *err)
{
    if (!path || !*path) return cx_fail(err, CX_ERR_ARG, "model: no path given");
    if (!cm) return cx_fail(err, CX_ERR_ARG, "%s: no model given", path);
    if (nextra < 0 || nmeta < 0 || (nextra && !extra) || (nmeta && (!keys || !values)))
        return cx_fail(err, CX_ERR_ARG, "%s: bad extra tensor or metadata list", path);
    /* The tensor listing takes a non-const model; nothing is modified. */
    cx_model *m = (cx_model *)cm;
    for (int i = 0; i < nextra; i++)
        if (!extra[i].name || !is_extra_name(extra[i].name))
            return cx_fail(err, CX_ERR_ARG,
                           "%s: extra tensor '%s' must be named optim.* or train.*", path,
                           extra[i].name ? extra[i].name : "(null)");
    for (int i = 0; i < nmeta; i++)
        if (!keys[i] || is_reserved(keys[i]))
            return cx_fail(err, CX_ERR_ARG, "%s: metadata key '%s' is reserved", path,
                           keys[i] ? keys[i] : "(null)");
    int nmodel = cx_model_num_meta(m);
    for (int i = 0; i < nmodel; i++)
        if (is_reserved(cx_model_meta_key(m, i)))
            return cx_fail(err, CX_ERR_ARG, "%s: model metadata key '%s' is reserved", path,
                           cx_model_meta_key(m, i));

    int nt = cx_model_num_tensors(m), total_meta = NRESERVED + nmodel + nmeta;
    cx_st_entry *entries = calloc((size_t)(nt + nextra) + 1, sizeof *entries);
    char *names = malloc((size_t)nt * NAME_LEN + 1);
    const char **k = malloc((size_t)total_meta * sizeof *k);
    const char **v = malloc((size_t)total_meta * sizeof *v);
    char *labels = labels_json(m);
    cx_status s = CX_OK;
    if (!entries || !names || !k || !v || !labels) {
        s = cx_fail(err, CX_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    for (int i = 0; i < nt; i++) {
        const cx_param *p = cx_model_tensor(m, i);
        cx_st_entry *e = &entries[i];
        e->name = cx_model_tensor_name(m, i, names + (size_t)i * NAME_LEN, NAME_LEN);
        e->ndim = p->ndim;
        for (int d = 0; d < p->ndim; d++)
            e->shape[d] = p->shape[d];
        e->data = p->w;
    }
    for (int i = 0; i < nextra; i++)
        entries[nt + i] = extra[i];

    int nm = 0;
    const char *fixed[NRESERVED] = {"1", cx_model_spec(m), labels, CX_VERSION_STRING};
    for (int i = 0; i < NRESERVED; i++, nm++) {
        k[nm] = reserved_keys[i];
        v[nm] = fixed[i];
    }
    for (int i = 0; i < nmodel; i++) {
        const char *key = cx_model_meta_key(m, i);
        int overridden = 0;
        for (int j = 0; j < nmeta && !overridden; j++)
            overridden = !strcmp(keys[j], key);
        if (overridden) continue;
        k[nm] = key;
        v[nm++] = cx_model_get_meta(m, key);
    }
    for (int i = 0; i < nmeta; i++, nm++) {
        k[nm] = keys[i];
        v[nm] = values[i];
    }
    s = cx_st_write(path, nt + nextra, entries, nm, k, v, err);
done:
    free(entries);
    free(names);
    free(k);
    free(v);
    free(labels);
    return s;
}

cx_status cx_model_save(const cx_model *m, const char *path, cx_error *err)
{
    return cx_model_save_ex(m, path, 0, NULL, 0, NULL, NULL, err);
}

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "[3, 4]" */
static const char *shape_text(int ndim, const int64_t *d, char *buf, size_t len)
{
    size_t used = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && used < len; i++)
        used += (size_t)snprintf(buf + used, len - used, i ? ", %lld" : "%lld", (long long)d[i]);
    if (used < len) snprintf(buf + used, len - used, "]");
    return buf;
}

/* Checks that the file holds every declared tensor as F32 with the declared
 * shape, and nothing else but (if allowed) checkpoint extras. */
static cx_status check_tensors(cx_model *m, const cx_st *st, const char *path, int allow_extra,
                               char *names, cx_error *err)
{
    int nt = cx_model_num_tensors(m);
    for (int i = 0; i < nt; i++) {
        const cx_param *p = cx_model_tensor(m, i);
        const char *name = cx_model_tensor_name(m, i, names + (size_t)i * NAME_LEN, NAME_LEN);
        const cx_st_tensor *t = cx_st_find(st, name);
        if (!t)
            return cx_fail(err, CX_ERR_FORMAT, "%s: tensor '%s' is missing (the spec declares it)",
                           path, name);
        if (strcmp(t->dtype, "F32") != 0)
            return cx_fail(err, CX_ERR_FORMAT, "%s: tensor '%s' is %s, expected F32", path, name,
                           t->dtype);
        int64_t want[CX_MAX_DIMS];
        int same = t->ndim == p->ndim;
        for (int d = 0; d < p->ndim; d++) {
            want[d] = p->shape[d];
            same = same && t->shape[d] == want[d];
        }
        if (!same) {
            char a[96], b[96];
            return cx_fail(err, CX_ERR_FORMAT, "%s: tensor '%s' has shape %s, the spec declares %s",
                           path, name, shape_text(t->ndim, t->shape, a, sizeof a),
                           shape_text(p->ndim, want, b, sizeof b));
        }
    }
    if (cx_st_num_tensors(st) == nt) return CX_OK; /* names are unique on both sides */
    const char **sorted = malloc(((size_t)nt + 1) * sizeof *sorted);
    if (!sorted) return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory", path);
    for (int i = 0; i < nt; i++)
        sorted[i] = names + (size_t)i * NAME_LEN;
    qsort(sorted, (size_t)nt, sizeof *sorted, cmp_str_ptr);
    cx_status s = CX_OK;
    for (int i = 0; i < cx_st_num_tensors(st) && !s; i++) {
        const char *name = cx_st_tensor_at(st, i)->name;
        if (bsearch(&name, sorted, (size_t)nt, sizeof *sorted, cmp_str_ptr)) continue;
        if (!allow_extra)
            s = cx_fail(err, CX_ERR_FORMAT,
                        "%s: unexpected tensor '%s' (not declared by the spec; checkpoints load "
                        "with cx_model_from_st)",
                        path, name);
        else if (!is_extra_name(name))
            s = cx_fail(err, CX_ERR_FORMAT,
                        "%s: unexpected tensor '%s' (neither declared by the spec nor an optim.* "
                        "or train.* extra)",
                        path, name);
    }
    free(sorted);
    return s;
}

/* Copies every tensor into the (allocated) model and rejects non-finite
 * values. */
static cx_status copy_tensors(cx_model *m, const cx_st *st, const char *path, const char *names,
                              cx_error *err)
{
    for (int i = 0; i < cx_model_num_tensors(m); i++) {
        cx_param *p = cx_model_tensor(m, i);
        const char *name = names + (size_t)i * NAME_LEN;
        cx_error e2;
        if (cx_st_get_f32(st, name, p->w, p->size, &e2))
            return cx_fail(err, CX_ERR_FORMAT, "%s: %s", path, e2.msg);
        for (size_t j = 0; j < p->size; j++)
            if (!isfinite(p->w[j]))
                return cx_fail(err, CX_ERR_FORMAT, "%s: tensor '%s' element %zu is %s", path, name,
                               j, isnan(p->w[j]) ? "NaN" : "infinite");
    }
    return CX_OK;
}

static cx_status restore_labels(cx_model *m, const char *text, const char *path, cx_error *err)
{
    cJSON *a = cJSON_ParseWithOpts(text, NULL, 1);
    if (!cJSON_IsArray(a)) {
        cJSON_Delete(a);
        return cx_fail(err, CX_ERR_FORMAT, "%s: cortex.labels is not a JSON array", path);
    }
    int n = 0;
    for (const cJSON *c = a->child; c; c = c->next, n++)
        if (!cJSON_IsString(c) || n == INT32_MAX) {
            cJSON_Delete(a);
            return cx_fail(err, CX_ERR_FORMAT, "%s: cortex.labels[%d] is not a string", path, n);
        }
    const cx_shape *out = cx_model_output_shape(m);
    if (n > 0 && out->ndim == 1 && n != out->d[0]) {
        cJSON_Delete(a);
        return cx_fail(err, CX_ERR_FORMAT, "%s: %d labels for %d outputs", path, n, out->d[0]);
    }
    const char **v = malloc(((size_t)n + 1) * sizeof *v);
    if (!v) {
        cJSON_Delete(a);
        return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory for labels", path);
    }
    int i = 0;
    for (const cJSON *c = a->child; c; c = c->next)
        v[i++] = c->valuestring;
    cx_error e2;
    cx_status s = cx_model_set_labels(m, n, v, &e2);
    if (s) cx_fail(err, s, "%s: %s", path, e2.msg);
    free(v);
    cJSON_Delete(a);
    return s;
}

static cx_status restore_meta(cx_model *m, const cx_st *st, const char *path, cx_error *err)
{
    for (int i = 0; i < cx_st_num_meta(st); i++) {
        const char *key = cx_st_meta_key(st, i);
        if (is_reserved(key)) continue;
        cx_error e2;
        if (cx_model_set_meta(m, key, cx_st_meta(st, key), &e2))
            return cx_fail(err, CX_ERR_NOMEM, "%s: %s", path, e2.msg);
    }
    return CX_OK;
}

static cx_status model_from_st(cx_model **out, const cx_st *st, const char *path, int allow_extra,
                               cx_error *err)
{
    const char *format = cx_st_meta(st, "cortex.format");
    if (!format)
        return cx_fail(err, CX_ERR_FORMAT, "%s: not a Cortex model (no cortex.format metadata)",
                       path);
    if (strcmp(format, "1") != 0)
        return cx_fail(err, CX_ERR_FORMAT,
                       "%s: cortex.format '%.16s' is not supported (expected 1)", path, format);
    const char *spec = cx_st_meta(st, "cortex.spec");
    const char *labels = cx_st_meta(st, "cortex.labels");
    if (!spec || !labels)
        return cx_fail(err, CX_ERR_FORMAT, "%s: no %s metadata", path,
                       !spec ? "cortex.spec" : "cortex.labels");
    if (strlen(spec) > MAX_SPEC_LEN)
        return cx_fail(err, CX_ERR_FORMAT, "%s: cortex.spec is longer than %u bytes", path,
                       MAX_SPEC_LEN);
    if (cx_st_num_meta(st) > CX_MODEL_MAX_META + NRESERVED)
        return cx_fail(err, CX_ERR_FORMAT, "%s: %d metadata entries, at most %d accepted", path,
                       cx_st_num_meta(st), CX_MODEL_MAX_META);

    cx_model *m = NULL;
    cx_error e2;
    cx_status s = cx_model_create_layout(&m, spec, NULL, &e2);
    if (s) {
        const char *why = strncmp(e2.msg, "spec: ", 6) ? e2.msg : e2.msg + 6;
        return cx_fail(err, s == CX_ERR_NOMEM ? s : CX_ERR_FORMAT, "%s: cortex.spec: %s", path,
                       why);
    }
    /* The memory the network will ask for, before any of it is allocated. */
    size_t need = cx_model_reserve_bytes(m, 1);
    if (need > CX_MODEL_MAX_EXAMPLE_BYTES) {
        cx_model_free(m);
        return cx_fail(err, CX_ERR_FORMAT,
                       "%s: cortex.spec: the network needs %.0f MB of activations for one "
                       "example, more than the %zu MB a model file may ask for",
                       path, (double)need / 1048576.0, CX_MODEL_MAX_EXAMPLE_BYTES >> 20);
    }
    int nt = cx_model_num_tensors(m);
    char *names = malloc((size_t)nt * NAME_LEN + 1);
    if (!names) s = cx_fail(err, CX_ERR_NOMEM, "%s: out of memory", path);
    if (!s) s = check_tensors(m, st, path, allow_extra, names, err);
    /* Every declared tensor is in the file with its exact shape, so this
     * allocation is bounded by the file's size. */
    if (!s && cx_model_alloc_params(m, &e2)) s = cx_fail(err, CX_ERR_NOMEM, "%s: %s", path, e2.msg);
    if (!s) s = copy_tensors(m, st, path, names, err);
    if (!s) s = restore_labels(m, labels, path, err);
    if (!s) s = restore_meta(m, st, path, err);
    free(names);
    if (s) {
        cx_model_free(m);
        return s;
    }
    *out = m;
    return CX_OK;
}

cx_status cx_model_from_st(cx_model **out, const cx_st *st, const char *path, cx_error *err)
{
    if (!out) return cx_fail(err, CX_ERR_ARG, "model: no output given");
    *out = NULL;
    if (!path) path = "(memory)";
    if (!st) return cx_fail(err, CX_ERR_ARG, "%s: no file given", path);
    return model_from_st(out, st, path, 1, err);
}

cx_status cx_model_load(cx_model **out, const char *path, cx_error *err)
{
    if (!out) return cx_fail(err, CX_ERR_ARG, "model: no output given");
    *out = NULL;
    cx_st *st = NULL;
    cx_status s = cx_st_read(&st, path, err);
    if (s) return s;
    s = model_from_st(out, st, path, 0, err);
    cx_st_free(st);
    return s;
}
