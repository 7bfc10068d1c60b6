/* Model files and the safetensors reader/writer: round trips, atomic saves,
 * interoperability with Python, and a fuzz test of the loader on corrupted,
 * truncated, edited and random files. */
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

static char tmpdir[64];

static void tmp_path(char *buf, size_t len, const char *name)
{
    snprintf(buf, len, "%s/%s", tmpdir, name);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int count_temp_files(void)
{
    DIR *d = opendir(tmpdir);
    if (!d) return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strstr(e->d_name, ".tmp.") != NULL;
    closedir(d);
    return n;
}

static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *p = malloc(n > 0 ? (size_t)n : 1);
    *len = fread(p, 1, (size_t)n, f);
    fclose(f);
    return p;
}

static int write_all(const char *path, const void *p, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = len ? fwrite(p, 1, len, f) : 0;
    return fclose(f) == 0 && w == len ? 0 : -1;
}

#define SPEC "input 4; dense 6 relu; batchnorm; dense 3"

/* A small model with trained-looking weights and batchnorm running
 * statistics moved away from their initial values. */
static cx_model *make_model(const char *spec, uint64_t seed)
{
    cx_error err;
    cx_model *m = NULL;
    if (cx_model_create(&m, spec, NULL, &err)) {
        fprintf(stderr, "make_model: %s\n", err.msg);
        return NULL;
    }
    cx_model_init(m, seed);
    cx_model_reserve(m, 8, &err);
    size_t in = cx_shape_size(cx_model_input_shape(m));
    float *x = malloc(8 * in * sizeof *x);
    cx_rng rng;
    cx_rng_seed(&rng, seed + 1);
    cx_model_set_training(m, 1);
    for (int it = 0; it < 3; it++) {
        cx_fill_uniform(x, 8 * in, -2.0f, 3.0f, &rng);
        cx_model_forward(m, 8, x);
    }
    cx_model_set_training(m, 0);
    free(x);
    return m;
}

static void label_and_tag(cx_model *m)
{
    cx_error err;
    const char *labels[] = {"cat", "dög", "bird \"quoted\""};
    CU_ASSERT_EQUAL(cx_model_set_labels(m, 3, labels, &err), CX_OK);
    CU_ASSERT_EQUAL(cx_model_set_meta(m, "audio.rate", "16000", &err), CX_OK);
    CU_ASSERT_EQUAL(cx_model_set_meta(m, "train.record", "{\"epochs\": 3}", &err), CX_OK);
}

static int same_weights(cx_model *a, cx_model *b)
{
    if (cx_model_num_tensors(a) != cx_model_num_tensors(b)) return 0;
    for (int k = 0; k < cx_model_num_tensors(a); k++) {
        cx_param *p = cx_model_tensor(a, k), *q = cx_model_tensor(b, k);
        if (p->size != q->size || memcmp(p->w, q->w, p->size * sizeof(float)) != 0) return 0;
    }
    return 1;
}

static void test_roundtrip(void)
{
    cx_error err;
    char path[128];
    tmp_path(path, sizeof path, "round.cxm");
    cx_model *a = make_model(SPEC, 11);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    label_and_tag(a);
    /* The running statistics must have moved, or the test proves nothing. */
    cx_param *rm = cx_model_tensor(a, 4), *rv = cx_model_tensor(a, 5);
    CU_ASSERT_STRING_EQUAL(cx_model_tensor_name(a, 4, (char[32]){0}, 32), "2.running_mean");
    CU_ASSERT(rm->w[0] != 0.0f && rv->w[0] != 1.0f);

    CU_ASSERT_EQUAL_FATAL(cx_model_save(a, path, &err), CX_OK);
    cx_model *b = NULL;
    CU_ASSERT_EQUAL_FATAL(cx_model_load(&b, path, &err), CX_OK);
    CU_ASSERT_STRING_EQUAL(cx_model_spec(a), cx_model_spec(b));
    CU_ASSERT(same_weights(a, b));
    CU_ASSERT_EQUAL(cx_model_num_labels(b), 3);
    CU_ASSERT_STRING_EQUAL(cx_model_label(b, 1), "dög");
    CU_ASSERT_STRING_EQUAL(cx_model_label(b, 2), "bird \"quoted\"");
    CU_ASSERT_EQUAL(cx_model_num_meta(b), 2);
    CU_ASSERT_STRING_EQUAL(cx_model_get_meta(b, "audio.rate"), "16000");
    CU_ASSERT_STRING_EQUAL(cx_model_get_meta(b, "train.record"), "{\"epochs\": 3}");

    float x[2 * 4] = {0.5f, -1.0f, 2.0f, 0.25f, -0.75f, 1.5f, 0.0f, 3.0f};
    cx_model_reserve(b, 2, &err);
    float ya[6];
    memcpy(ya, cx_model_forward(a, 2, x), sizeof ya);
    CU_ASSERT_EQUAL(memcmp(ya, cx_model_forward(b, 2, x), sizeof ya), 0);

    /* The file itself: 8-byte aligned data, cortex metadata, F32 tensors. */
    size_t len = 0;
    unsigned char *raw = read_all(path, &len);
    uint64_t n = 0;
    for (int i = 0; i < 8; i++)
        n |= (uint64_t)raw[i] << (8 * i);
    CU_ASSERT_EQUAL((8 + n) % 8, 0);
    CU_ASSERT_EQUAL(raw[8], '{');
    free(raw);
    cx_st *st = NULL;
    CU_ASSERT_EQUAL_FATAL(cx_st_read(&st, path, &err), CX_OK);
    CU_ASSERT_STRING_EQUAL(cx_st_meta(st, "cortex.format"), "1");
    CU_ASSERT_STRING_EQUAL(cx_st_meta(st, "cortex.spec"), cx_model_spec(a));
    CU_ASSERT_STRING_EQUAL(cx_st_meta(st, "cortex.version"), CX_VERSION_STRING);
    CU_ASSERT_STRING_EQUAL(cx_st_meta(st, "cortex.labels"),
                           "[\"cat\",\"dög\",\"bird \\\"quoted\\\"\"]");
    CU_ASSERT_EQUAL(cx_st_num_meta(st), 6);
    CU_ASSERT_EQUAL(cx_st_num_tensors(st), cx_model_num_tensors(a));
    const cx_st_tensor *t = cx_st_find(st, "0.weight");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_STRING_EQUAL(t->dtype, "F32");
    CU_ASSERT(t->ndim == 2 && t->shape[0] == 6 && t->shape[1] == 4 && t->nbytes == 96);
    float w[24];
    CU_ASSERT_EQUAL(cx_st_get_f32(st, "0.weight", w, 24, &err), CX_OK);
    CU_ASSERT_EQUAL(memcmp(w, cx_model_tensor(a, 0)->w, sizeof w), 0);
    CU_ASSERT_NOT_EQUAL(cx_st_get_f32(st, "0.weight", w, 23, &err), CX_OK);
    CU_ASSERT_NOT_EQUAL(cx_st_get_f32(st, "nope", w, 24, &err), CX_OK);
    cx_st_free(st);
    cx_model_free(a);
    cx_model_free(b);
    CU_ASSERT_EQUAL(count_temp_files(), 0);
}

/* Ensembles: the output is the log of the members' mean probability; the
 * file round trip keeps every member; bad ensemble specs and files are
 * refused with the reason; an ensemble cannot be trained or streamed. */
static void test_ensemble(void)
{
    cx_error err;
    char path[128];
    tmp_path(path, sizeof path, "ens.cxm");
    cx_model *a = make_model(SPEC, 21), *b = make_model("input 4; dense 5 tanh; dense 3", 22);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    cx_model *mem[2] = {a, b}, *e = NULL;
    CU_ASSERT_EQUAL_FATAL(cx_model_ensemble(&e, mem, 2, &err), CX_OK);
    CU_ASSERT_EQUAL(cx_model_num_members(e), 2);
    CU_ASSERT_EQUAL(cx_model_num_members(a), 0);
    CU_ASSERT_EQUAL(cx_model_num_layers(e), 0);
    CU_ASSERT_EQUAL(cx_model_num_params(e), cx_model_num_params(a) + cx_model_num_params(b));
    CU_ASSERT_EQUAL(cx_model_num_tensors(e), cx_model_num_tensors(a) + cx_model_num_tensors(b));
    char name[64];
    CU_ASSERT_STRING_EQUAL(cx_model_tensor_name(e, 0, name, sizeof name), "m0.0.weight");
    CU_ASSERT_STRING_EQUAL(cx_model_tensor_name(e, cx_model_num_tensors(a), name, sizeof name),
                           "m1.0.weight");
    CU_ASSERT_PTR_NULL(cx_model_tensor(e, cx_model_num_tensors(e)));
    CU_ASSERT_EQUAL(cx_model_output_shape(e)->d[0], 3);
    CU_ASSERT_EQUAL_FATAL(cx_model_reserve(e, 2, &err), CX_OK);
    cx_model_reserve(b, 2, &err);
    float x[8] = {0.5f, -1.0f, 2.0f, 0.25f, -0.75f, 1.5f, 0.0f, 3.0f}, pa[6], pb[6], pe[6];
    cx_softmax(cx_model_forward(a, 2, x), 2, 3, pa);
    cx_softmax(cx_model_forward(b, 2, x), 2, 3, pb);
    CU_ASSERT(pa[0] != pb[0]);
    cx_softmax(cx_model_forward(e, 2, x), 2, 3, pe);
    for (int i = 0; i < 6; i++)
        CU_ASSERT(fabsf(pe[i] - 0.5f * (pa[i] + pb[i])) < 1e-6f);

    /* Round trip: same spec, weights and outputs. */
    label_and_tag(e);
    CU_ASSERT_EQUAL_FATAL(cx_model_save(e, path, &err), CX_OK);
    cx_model *f = NULL;
    CU_ASSERT_EQUAL_FATAL(cx_model_load(&f, path, &err), CX_OK);
    CU_ASSERT_STRING_EQUAL(cx_model_spec(f), cx_model_spec(e));
    CU_ASSERT(!strncmp(cx_model_spec(f), "ensemble | input 4; dense 6", 27));
    CU_ASSERT(same_weights(e, f));
    CU_ASSERT_STRING_EQUAL(cx_model_label(f, 2), "bird \"quoted\"");
    CU_ASSERT_EQUAL_FATAL(cx_model_reserve(f, 2, &err), CX_OK);
    float yf[6];
    memcpy(yf, cx_model_forward(e, 2, x), sizeof yf);
    CU_ASSERT_EQUAL(memcmp(yf, cx_model_forward(f, 2, x), sizeof yf), 0);
    /* The spec alone builds it too, and copying weights goes member by member. */
    cx_model *g = NULL;
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&g, cx_model_spec(e), NULL, &err), CX_OK);
    CU_ASSERT_EQUAL(cx_model_copy_weights(g, f, &err), CX_OK);
    CU_ASSERT(same_weights(g, e));
    CU_ASSERT_NOT_EQUAL(cx_model_copy_weights(g, a, &err), CX_OK);

    /* Not trainable as a whole, not streamable. */
    cx_optim *o = NULL;
    cx_optim_config oc = cx_optim_defaults(CX_OPT_ADAMW);
    CU_ASSERT_EQUAL(cx_optim_create(&o, e, &oc, &err), CX_ERR_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "ensemble"));
    CU_ASSERT_PTR_NULL(o);
    CU_ASSERT_NOT_EQUAL(cx_model_stream_reset(e, &err), CX_OK);

    /* Bad ensembles. */
    static const struct {
        const char *spec, *why;
    } bad[] = {
        {"ensemble", "at least 2"},
        {"ensemble | input 4; dense 3", "at least 2"},
        {"ensemble input 4 | input 4; dense 3 | input 4; dense 3", "must be followed"},
        {"ensemble | input 4; dense 3 | input 4; dense 2", "other input or output"},
        {"ensemble | input 4; dense 3 | input 5; dense 3", "other input or output"},
        {"ensemble | input 4; dense 3 | ensemble | input 4; dense 3", "cannot be an ensemble"},
        {"ensemble | input 2 4; gru 3 | input 2 4; gru 3", "class scores"},
        {"ensemble | input 4; dense 3 | input 4; dense x", "member 2"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cx_model *h = NULL;
        CU_ASSERT_NOT_EQUAL(cx_model_create(&h, bad[i].spec, NULL, &err), CX_OK);
        CU_ASSERT_PTR_NULL(h);
        if (!strstr(err.msg, bad[i].why)) fprintf(stderr, "%s -> %s\n", bad[i].spec, err.msg);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, bad[i].why));
    }
    char many[4096];
    size_t used = (size_t)snprintf(many, sizeof many, "ensemble");
    for (int i = 0; i <= CX_MODEL_MAX_MEMBERS; i++)
        used += (size_t)snprintf(many + used, sizeof many - used, " | input 4; dense 3");
    cx_model *h = NULL;
    CU_ASSERT_NOT_EQUAL(cx_model_create(&h, many, NULL, &err), CX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "at most"));
    CU_ASSERT_NOT_EQUAL(cx_model_ensemble(&h, mem, 1, &err), CX_OK);
    cx_model *nested[2] = {a, e};
    CU_ASSERT_NOT_EQUAL(cx_model_ensemble(&h, nested, 2, &err), CX_OK);

    /* A file whose second member lost a tensor is refused, naming it. */
    cx_st *st = NULL;
    CU_ASSERT_EQUAL_FATAL(cx_st_read(&st, path, &err), CX_OK);
    int nt = cx_st_num_tensors(st), ne = 0;
    cx_st_entry *ent = calloc((size_t)nt, sizeof *ent);
    float *data = malloc(4096 * sizeof *data);
    size_t off = 0;
    for (int i = 0; i < nt; i++) {
        const cx_st_tensor *t = cx_st_tensor_at(st, i);
        if (!strcmp(t->name, "m1.2.bias")) continue;
        ent[ne].name = t->name;
        ent[ne].ndim = t->ndim;
        size_t sz = 1;
        for (int d = 0; d < t->ndim; d++)
            sz *= (size_t)(ent[ne].shape[d] = t->shape[d]);
        cx_st_get_f32(st, t->name, data + off, sz, &err);
        ent[ne++].data = data + off;
        off += sz;
    }
    const char *k[] = {"cortex.format", "cortex.spec", "cortex.labels"};
    const char *v[] = {"1", cx_st_meta(st, "cortex.spec"), "[]"};
    char cut[128];
    tmp_path(cut, sizeof cut, "ens_cut.cxm");
    CU_ASSERT_EQUAL_FATAL(cx_st_write(cut, ne, ent, 3, k, v, &err), CX_OK);
    CU_ASSERT_NOT_EQUAL(cx_model_load(&h, cut, &err), CX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "m1.2.bias"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, cut));
    remove(cut);
    free(ent);
    free(data);
    cx_st_free(st);
    remove(path);
    cx_model_free(g);
    cx_model_free(f);
    cx_model_free(e);
    cx_model_free(a);
    cx_model_free(b);
}

static void test_st_generic(void)
{
    cx_error err;
    char path[128];
    tmp_path(path, sizeof path, "generic.st");
    float a[6] = {1, 2, 3, 4, 5, 6}, s = 7.5f;
    cx_st_entry e[3] = {
        {.name = "a", .ndim = 2, .shape = {2, 3}, .data = a},
        {.name = "scalar", .ndim = 0, .data = &s},
        {.name = "empty", .ndim = 2, .shape = {0, 5}, .data = NULL},
    };
    const char *k[] = {"note"}, *v[] = {"hello"};
    CU_ASSERT_EQUAL_FATAL(cx_st_write(path, 3, e, 1, k, v, &err), CX_OK);
    cx_st *st = NULL;
    CU_ASSERT_EQUAL_FATAL(cx_st_read(&st, path, &err), CX_OK);
    CU_ASSERT_EQUAL(cx_st_num_tensors(st), 3);
    CU_ASSERT_STRING_EQUAL(cx_st_tensor_at(st, 0)->name, "a"); /* data order */
    const cx_st_tensor *t = cx_st_find(st, "scalar");
    CU_ASSERT(t && t->ndim == 0 && t->nbytes == 4);
    float got = 0;
    CU_ASSERT_EQUAL(cx_st_get_f32(st, "scalar", &got, 1, &err), CX_OK);
    CU_ASSERT_EQUAL(got, 7.5f);
    t = cx_st_find(st, "empty");
    CU_ASSERT(t && t->nbytes == 0 && t->shape[1] == 5);
    CU_ASSERT_STRING_EQUAL(cx_st_meta(st, "note"), "hello");
    CU_ASSERT_PTR_NULL(cx_st_meta(st, "other"));
    cx_st_free(st);

    /* No tensors, no metadata: "{}" padded. */
    CU_ASSERT_EQUAL(cx_st_write(path, 0, NULL, 0, NULL, NULL, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(cx_st_read(&st, path, &err), CX_OK);
    CU_ASSERT_EQUAL(cx_st_num_tensors(st), 0);
    cx_st_free(st);

    /* Bad arguments. */
    cx_st_entry dup[2] = {e[0], e[0]};
    CU_ASSERT_EQUAL(cx_st_write(path, 2, dup, 0, NULL, NULL, &err), CX_ERR_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "duplicate"));
    cx_st_entry bad = e[0];
    bad.name = "\xff\xfe";
    CU_ASSERT_EQUAL(cx_st_write(path, 1, &bad, 0, NULL, NULL, &err), CX_ERR_ARG);
    bad.name = "__metadata__";
    CU_ASSERT_EQUAL(cx_st_write(path, 1, &bad, 0, NULL, NULL, &err), CX_ERR_ARG);
    bad = e[0];
    bad.ndim = 9;
    CU_ASSERT_EQUAL(cx_st_write(path, 1, &bad, 0, NULL, NULL, &err), CX_ERR_ARG);
    bad.ndim = 1;
    bad.shape[0] = -1;
    CU_ASSERT_EQUAL(cx_st_write(path, 1, &bad, 0, NULL, NULL, &err), CX_ERR_ARG);
    const char *k2[] = {"x", "x"}, *v2[] = {"1", "2"};
    CU_ASSERT_EQUAL(cx_st_write(path, 0, NULL, 2, k2, v2, &err), CX_ERR_ARG);
    CU_ASSERT_EQUAL(count_temp_files(), 0);

    /* A reference-style file: compact header without padding. */
    const char hdr[] = "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}";
    unsigned char buf[128] = {(unsigned char)(sizeof hdr - 1)};
    memcpy(buf + 8, hdr, sizeof hdr - 1);
    memcpy(buf + 8 + sizeof hdr - 1, &s, 4);
    CU_ASSERT_EQUAL(cx_st_read_mem(&st, buf, 8 + sizeof hdr - 1 + 4, "mem", &err), CX_OK);
    cx_st_free(st);
    /* Other dtypes are listed but not served as floats. */
    const char h16[] = "{\"x\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}";
    memcpy(buf + 8, h16, sizeof h16 - 1);
    memset(buf + 8 + sizeof h16 - 1, 0, 4);
    buf[0] = (unsigned char)(sizeof h16 - 1);
    CU_ASSERT_EQUAL_FATAL(cx_st_read_mem(&st, buf, 8 + sizeof h16 - 1 + 4, "mem", &err), CX_OK);
    CU_ASSERT_STRING_EQUAL(cx_st_tensor_at(st, 0)->dtype, "BF16");
    CU_ASSERT_EQUAL(cx_st_get_f32(st, "x", &got, 1, &err), CX_ERR_FORMAT);
    cx_st_free(st);
}

/* A model file of a few hundred bytes whose spec declares huge activations
 * (no weights at all) is refused before anything is allocated for them:
 * 16384 x 16384 floats per layer would take 1 GB each. The shipped models'
 * figure is far below the limit. */
static void test_activation_budget(void)
{
    cx_error err;
    const char *k[] = {"cortex.format", "cortex.spec", "cortex.labels"};
    const char *v[] = {"1", "input 16384 16384; relu; relu; relu; relu; relu; relu; relu; relu",
                       "[]"};
    char path[128];
    tmp_path(path, sizeof path, "huge_acts.cxm");
    CU_ASSERT_EQUAL_FATAL(cx_st_write(path, 0, NULL, 3, k, v, &err), CX_OK);
    cx_model *m = NULL;
    CU_ASSERT_EQUAL(cx_model_load(&m, path, &err), CX_ERR_FORMAT);
    CU_ASSERT_PTR_NULL(m);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "MB of activations for one example"));
    remove(path);
    /* The count is what reserve allocates, and a small model is far inside. */
    cx_model *a = make_model("input 4; dense 6 relu; batchnorm; dense 3", 1);
    size_t one = cx_model_reserve_bytes(a, 1), many = cx_model_reserve_bytes(a, 64);
    CU_ASSERT(one > 0 && one < CX_MODEL_MAX_EXAMPLE_BYTES);
    CU_ASSERT(many > one);
    CU_ASSERT_EQUAL(cx_model_reserve(a, 64, &err), CX_OK);
    cx_model_free(a);
}

static void test_save_errors(void)
{
    cx_error err;
    char path[128], missing[160], old[128];
    cx_model *a = make_model(SPEC, 1), *b = make_model("input 4; dense 5; dense 2", 2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);

    /* A folder that does not exist: an error naming the path. */
    snprintf(missing, sizeof missing, "%s/no/such/dir/m.cxm", tmpdir);
    CU_ASSERT_EQUAL(cx_model_save(a, missing, &err), CX_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, missing));

    /* Saving over an existing file replaces it. */
    tmp_path(path, sizeof path, "replace.cxm");
    CU_ASSERT_EQUAL_FATAL(cx_model_save(a, path, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(cx_model_save(b, path, &err), CX_OK);
    cx_model *c = NULL;
    CU_ASSERT_EQUAL_FATAL(cx_model_load(&c, path, &err), CX_OK);
    CU_ASSERT_STRING_EQUAL(cx_model_spec(c), cx_model_spec(b));
    CU_ASSERT(same_weights(b, c));
    cx_model_free(c);

    /* The target is a folder: the rename fails, nothing is left behind. */
    tmp_path(old, sizeof old, "adir");
    mkdir(old, 0755);
    CU_ASSERT_EQUAL(cx_model_save(a, old, &err), CX_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, old));
    rmdir(old);

    /* A full disk, simulated with a file size limit: the save fails
     * cleanly, the temporary file is removed and the old file is intact. */
    cx_model *big = make_model("input 64; dense 256; dense 10", 3);
    size_t before_len = 0, after_len = 0;
    unsigned char *before = read_all(path, &before_len);
    struct rlimit keep, lim;
    getrlimit(RLIMIT_FSIZE, &keep);
    lim = keep;
    lim.rlim_cur = keep.rlim_max != RLIM_INFINITY && keep.rlim_max < 16384 ? keep.rlim_max : 16384;
    void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
    CU_ASSERT_EQUAL_FATAL(setrlimit(RLIMIT_FSIZE, &lim), 0);
    cx_status s = cx_model_save(big, path, &err);
    setrlimit(RLIMIT_FSIZE, &keep);
    signal(SIGXFSZ, prev);
    CU_ASSERT_EQUAL(s, CX_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
    unsigned char *after = read_all(path, &after_len);
    CU_ASSERT(before_len == after_len && !memcmp(before, after, before_len));
    CU_ASSERT_EQUAL(count_temp_files(), 0);
    free(before);
    free(after);

    /* Reserved and conflicting metadata, bad extra names. */
    CU_ASSERT_EQUAL(cx_model_set_meta(a, "cortex.spec", "input 1; dense 1", &err), CX_OK);
    CU_ASSERT_EQUAL(cx_model_save(a, path, &err), CX_ERR_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "reserved"));
    cx_model_set_meta(a, "cortex.spec", NULL, &err);
    float one = 1.0f;
    cx_st_entry ex = {.name = "0.weight", .ndim = 1, .shape = {1}, .data = &one};
    CU_ASSERT_EQUAL(cx_model_save_ex(a, path, 1, &ex, 0, NULL, NULL, &err), CX_ERR_ARG);
    ex.name = "optim.0.weight";
    const char *k[] = {"cortex.labels"}, *v[] = {"[]"};
    CU_ASSERT_EQUAL(cx_model_save_ex(a, path, 1, &ex, 1, k, v, &err), CX_ERR_ARG);
    CU_ASSERT_EQUAL(count_temp_files(), 0);

    /* Loading something that is not a regular file must not hang. */
    char fifo[128];
    tmp_path(fifo, sizeof fifo, "fifo");
    CU_ASSERT_EQUAL(mkfifo(fifo, 0600), 0);
    CU_ASSERT_EQUAL(cx_model_load(&c, fifo, &err), CX_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, fifo));
    unlink(fifo);
    CU_ASSERT_EQUAL(cx_model_load(&c, tmpdir, &err), CX_ERR_IO);
    CU_ASSERT_EQUAL(cx_model_load(&c, missing, &err), CX_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, missing));
    CU_ASSERT_PTR_NULL(c);

    cx_model_free(a);
    cx_model_free(b);
    cx_model_free(big);
}

static void test_checkpoint(void)
{
    cx_error err;
    char path[128];
    tmp_path(path, sizeof path, "ckpt.cxm");
    cx_model *a = make_model(SPEC, 5);
    label_and_tag(a);
    float mom[24];
    for (int i = 0; i < 24; i++)
        mom[i] = (float)i * 0.5f;
    cx_st_entry ex = {.name = "optim.0.weight.m", .ndim = 2, .shape = {6, 4}, .data = mom};
    const char *k[] = {"train.epoch", "audio.rate"}, *v[] = {"7", "8000"};
    CU_ASSERT_EQUAL_FATAL(cx_model_save_ex(a, path, 1, &ex, 2, k, v, &err), CX_OK);

    /* A plain load refuses the extras; cx_model_from_st takes them. */
    cx_model *b = NULL;
    CU_ASSERT_EQUAL(cx_model_load(&b, path, &err), CX_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "optim.0.weight.m"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
    cx_st *st = NULL;
    CU_ASSERT_EQUAL_FATAL(cx_st_read(&st, path, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(cx_model_from_st(&b, st, path, &err), CX_OK);
    CU_ASSERT(same_weights(a, b));
    CU_ASSERT_STRING_EQUAL(cx_model_get_meta(b, "train.epoch"), "7");
    CU_ASSERT_STRING_EQUAL(cx_model_get_meta(b, "audio.rate"), "8000"); /* overridden */
    float got[24];
    CU_ASSERT_EQUAL(cx_st_get_f32(st, "optim.0.weight.m", got, 24, &err), CX_OK);
    CU_ASSERT_EQUAL(memcmp(got, mom, sizeof got), 0);
    cx_st_free(st);
    cx_model_free(b);
    cx_model_free(a);
}

/* Standard tools read our files, and we read theirs (skipped without
 * Python's torch). */
static void test_python_interop(void)
{
    if (system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0) {
        fprintf(stderr, "  (skipped: /usr/bin/python3 with torch is not available)\n");
        return;
    }
    cx_error err;
    char path[128], copy[128], cmd[512];
    tmp_path(path, sizeof path, "py_in.cxm");
    tmp_path(copy, sizeof copy, "py_out.cxm");
    cx_model *a = make_model(SPEC, 9);
    label_and_tag(a);
    CU_ASSERT_EQUAL_FATAL(cx_model_save(a, path, &err), CX_OK);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s/st_check.py %s %s", CX_TEST_DATA, path, copy);
    int rc = system(cmd);
    CU_ASSERT_EQUAL_FATAL(rc, 0);
    cx_model *b = NULL;
    CU_ASSERT_EQUAL_FATAL(cx_model_load(&b, copy, &err), CX_OK);
    CU_ASSERT_STRING_EQUAL(cx_model_spec(a), cx_model_spec(b));
    CU_ASSERT(same_weights(a, b));
    CU_ASSERT_STRING_EQUAL(cx_model_label(b, 2), "bird \"quoted\"");
    CU_ASSERT_STRING_EQUAL(cx_model_get_meta(b, "train.record"), "{\"epochs\": 3}");
    cx_model_free(a);
    cx_model_free(b);
}

/* ---- fuzz --------------------------------------------------------------- */

enum { ANY, MODEL_FAILS, BOTH_FAIL };

static struct {
    char path[128];
    int tried, st_ok, model_ok, bad;
    int verbose; /* CX_FUZZ_VERBOSE=1 prints every variant's messages */
} fz;

/* Loads one variant through cx_st_read_mem and cx_model_load (via a file):
 * every failure must carry a message (naming the file for the model), and
 * variants known to be invalid must fail. */
static void try_variant(const void *p, size_t len, int expect, const char *what)
{
    cx_error err;
    cx_st *st = NULL;
    err.msg[0] = 0;
    cx_status s1 = cx_st_read_mem(&st, p, len, "variant", &err);
    if (s1) CU_ASSERT(err.msg[0] != 0 && st == NULL);
    if (fz.verbose) fprintf(stderr, "%s\n  st: %s\n", what, s1 ? err.msg : "ok");
    cx_st_free(st);
    if (write_all(fz.path, p, len)) {
        CU_FAIL("cannot write the variant");
        return;
    }
    cx_model *m = NULL;
    err.msg[0] = 0;
    cx_status s2 = cx_model_load(&m, fz.path, &err);
    fz.tried++;
    fz.st_ok += s1 == CX_OK;
    fz.model_ok += s2 == CX_OK;
    if (fz.verbose) fprintf(stderr, "  model: %s\n", s2 ? err.msg : "ok");
    if (s2) {
        CU_ASSERT(m == NULL && strstr(err.msg, fz.path) != NULL);
    } else {
        CU_ASSERT(s1 == CX_OK); /* a loadable model is a valid safetensors file */
        float x[4] = {1, 2, 3, 4};
        if (cx_model_reserve(m, 1, &err) == CX_OK)
            CU_ASSERT_PTR_NOT_NULL(cx_model_forward(m, 1, x));
    }
    cx_model_free(m);
    int wrong = (expect == MODEL_FAILS && !s2) || (expect == BOTH_FAIL && (!s1 || !s2));
    if (wrong) {
        CU_FAIL("an invalid variant was accepted");
        if (fz.bad++ < 10) fprintf(stderr, "  accepted invalid variant: %s\n", what);
    }
}

typedef struct {
    unsigned char *p;
    size_t n;
} blob;

/* A file from header text (no padding) and data. */
static blob compose(const char *header, const unsigned char *data, size_t dlen)
{
    size_t h = strlen(header);
    blob b = {malloc(8 + h + dlen + 1), 8 + h + dlen};
    for (int i = 0; i < 8; i++)
        b.p[i] = (unsigned char)((uint64_t)h >> (8 * i));
    memcpy(b.p + 8, header, h);
    if (dlen) memcpy(b.p + 8 + h, data, dlen);
    return b;
}

/* s with the first occurrence of find replaced, or NULL if absent. */
static char *replace(const char *s, const char *find, const char *repl)
{
    const char *at = strstr(s, find);
    if (!at) return NULL;
    size_t a = (size_t)(at - s), f = strlen(find), r = strlen(repl), n = strlen(s);
    char *out = malloc(n - f + r + 1);
    memcpy(out, s, a);
    memcpy(out + a, repl, r);
    memcpy(out + a + r, at + f, n - a - f + 1);
    return out;
}

typedef struct {
    const char *find, *repl;
    int expect;
} edit;

/* Header edits of the base file's JSON (cJSON's compact output). */
static const edit edits[] = {
    /* dtypes */
    {"\"dtype\":\"F32\"", "\"dtype\":\"F16\"", BOTH_FAIL},
    {"\"dtype\":\"F32\"", "\"dtype\":\"f32\"", BOTH_FAIL},
    {"\"dtype\":\"F32\"", "\"dtype\":\"\"", BOTH_FAIL},
    {"\"dtype\":\"F32\"", "\"dtype\":\"F4\"", BOTH_FAIL},
    {"\"dtype\":\"F32\"", "\"dtype\":32", BOTH_FAIL},
    {"\"dtype\":\"F32\"", "\"dtype\":null", BOTH_FAIL},
    {"\"dtype\":\"F32\"", "\"dtype\":[\"F32\"]", BOTH_FAIL},
    {"\"dtype\":\"F32\",", "", BOTH_FAIL},
    {"\"dtype\":\"F32\"", "\"dtype\":\"F32\",\"dtype\":\"F32\"", BOTH_FAIL},
    {"\"dtype\":\"F32\"", "\"dtype\":\"F32\",\"extra\":1", BOTH_FAIL},
    {"\"shape\":[6],\"data_offsets\":[96,120]", "\"shape\":[3],\"data_offsets\":[96,120]",
     BOTH_FAIL},
    /* I32 is a valid dtype of the same size: the reader accepts, the model does not. */
    {"\"dtype\":\"F32\"", "\"dtype\":\"I32\"", MODEL_FAILS},
    {"\"dtype\":\"F32\",\"shape\":[6,4]", "\"dtype\":\"F16\",\"shape\":[12,4]", MODEL_FAILS},
    /* shapes */
    {"\"shape\":[6,4]", "\"shape\":[-6,4]", BOTH_FAIL},
    {"\"shape\":[6,4]", "\"shape\":[-0,4]", BOTH_FAIL},
    {"\"shape\":[6,4]", "\"shape\":[6.5,4]", BOTH_FAIL},
    {"\"shape\":[6,4]", "\"shape\":[6.0,4]", BOTH_FAIL},
    {"\"shape\":[6,4]", "\"shape\":[6e0,4]", BOTH_FAIL},
    {"\"shape\":[6,4]", "\"shape\":[06,4]", BOTH_FAIL},
    {"\"shape\":[6,4]", "\"shape\":[24]", MODEL_FAILS},
    {"\"shape\":[6,4]", "\"shape\":[4,6]", MODEL_FAILS},
    {"\"shape\":[6,4]", "\"shape\":[6,4,1]", MODEL_FAILS},
    {"\"shape\":[6,4]", "\"shape\":[1,1,1,1,1,1,1,6,4]", BOTH_FAIL},
    {"\"shape\":[6,4]", "\"shape\":[1,1,1,1,1,1,6,4]", MODEL_FAILS},
    {"\"shape\":[6,4]", "\"shape\":[6,4,0]", BOTH_FAIL},
    {"\"shape\":[6,4]", "\"shape\":[]", BOTH_FAIL},
    {"\"shape\":[6,4]", "\"shape\":[600000000000000,4]", BOTH_FAIL},
    {"\"shape\":[6,4]", "\"shape\":[99999999999999999999,4]", BOTH_FAIL},
    {"\"shape\":[6,4]", "\"shape\":[4294967296,4294967296,4294967296]", BOTH_FAIL},
    {"\"shape\":[6,4]", "\"shape\":[0,999999999999999,999999999999999]", BOTH_FAIL},
    {"\"shape\":[6,4]", "\"shape\":\"6,4\"", BOTH_FAIL},
    {"\"shape\":[6,4]", "\"shape\":[6,\"4\"]", BOTH_FAIL},
    {"\"shape\":[6,4]", "\"shape\":[6,[4]]", BOTH_FAIL},
    {"\"shape\":[6,4]", "\"shape\":{}", BOTH_FAIL},
    {"\"shape\":[6,4]", "\"shape\":null", BOTH_FAIL},
    {"\"shape\":[6,4]", "\"shape\":[6,true]", BOTH_FAIL},
    /* offsets */
    {"\"data_offsets\":[0,96]", "\"data_offsets\":[96,0]", BOTH_FAIL},
    {"\"data_offsets\":[0,96]", "\"data_offsets\":[0,97]", BOTH_FAIL},
    {"\"data_offsets\":[0,96]", "\"data_offsets\":[4,100]", BOTH_FAIL},
    {"\"data_offsets\":[0,96]", "\"data_offsets\":[96,192]", BOTH_FAIL},
    {"\"data_offsets\":[0,96]", "\"data_offsets\":[204,300]", BOTH_FAIL},
    {"\"data_offsets\":[0,96]", "\"data_offsets\":[1000,1096]", BOTH_FAIL},
    {"\"data_offsets\":[0,96]", "\"data_offsets\":[0,999999999999999]", BOTH_FAIL},
    {"\"data_offsets\":[0,96]", "\"data_offsets\":[0,18446744073709551712]", BOTH_FAIL},
    {"\"data_offsets\":[0,96]", "\"data_offsets\":[-1,95]", BOTH_FAIL},
    {"\"data_offsets\":[0,96]", "\"data_offsets\":[0]", BOTH_FAIL},
    {"\"data_offsets\":[0,96]", "\"data_offsets\":[0,96,96]", BOTH_FAIL},
    {"\"data_offsets\":[0,96]", "\"data_offsets\":[0.0,96]", BOTH_FAIL},
    {"\"data_offsets\":[0,96]", "\"data_offsets\":[\"0\",96]", BOTH_FAIL},
    {"\"data_offsets\":[0,96]", "\"data_offsets\":{\"0\":96}", BOTH_FAIL},
    {"\"data_offsets\":[96,120]", "\"data_offsets\":[90,114]", BOTH_FAIL},
    /* entries */
    {"\"0.bias\":{\"dtype\":\"F32\",\"shape\":[6],\"data_offsets\":[96,120]},", "", BOTH_FAIL},
    {"\"0.bias\":{", "\"0.weight\":{", BOTH_FAIL},
    {"\"0.bias\":{", "\"\":{", BOTH_FAIL},
    {"\"0.bias\":{", "\"0.bi\\u0000as\":{", BOTH_FAIL},
    {"\"0.bias\":{", "\"0.bi\xc3\x28s\":{", BOTH_FAIL},
    {"\"0.bias\":{", "\"0.bi\xed\xa0\x80s\":{", BOTH_FAIL},
    {"\"0.bias\":{", "\"0.bi\x01s\":{", BOTH_FAIL},
    {"\"0.bias\":{", "\"0.bias\":[{", BOTH_FAIL},
    {"\"0.bias\":{", "\"0.bias\":\"", BOTH_FAIL},
    {"\"0.bias\":{", "\"renamed\":{", MODEL_FAILS},
    {"\"0.bias\":{", "\"optim.bias\":{", MODEL_FAILS},
    {"\"0.bias\":{", "\"0.bias\" : \t{", ANY},
    /* metadata */
    {"\"cortex.format\":\"1\"", "\"cortex.format\":\"2\"", MODEL_FAILS},
    {"\"cortex.format\":\"1\"", "\"cortex.fmt\":\"1\"", MODEL_FAILS},
    {"\"cortex.format\":\"1\"", "\"cortex.format\":1", BOTH_FAIL},
    {"\"cortex.format\":\"1\"", "\"cortex.format\":null", BOTH_FAIL},
    {"\"cortex.format\":\"1\"", "\"cortex.format\":{\"v\":\"1\"}", BOTH_FAIL},
    {"\"cortex.format\":\"1\"", "\"cortex.format\":\"1\",\"cortex.format\":\"1\"", BOTH_FAIL},
    {"\"cortex.format\":\"1\"", "\"cortex.format\":\"1\",\"x\":\"1\",\"x\":\"2\"", BOTH_FAIL},
    {"\"__metadata__\":{", "\"__metadata__\":{},\"__metadata__\":{", BOTH_FAIL},
    {"\"__metadata__\":{", "\"__metadata__\":[],\"m\":{", BOTH_FAIL},
    {"\"__metadata__\":{", "\"__metadata__\":\"x\",\"m\":{", BOTH_FAIL},
    {"\"cortex.labels\":\"[", "\"cortex.labels\":\"x[", MODEL_FAILS},
    {"\"cortex.labels\":\"[", "\"cortex.labels\":\"[1,", MODEL_FAILS},
    {"\"cortex.labels\":\"[", "\"cortex.labels\":\"[\\\"extra\\\",", MODEL_FAILS},
    {"\"cortex.labels\":\"[", "\"cortex.labels\":\"{}[", MODEL_FAILS},
    {"\"cortex.labels\":\"[", "\"cortex.lbls\":\"[", MODEL_FAILS},
    {"\"cortex.spec\":\"", "\"cortex.spec\":\"input 1 1; dense 1000000000;", MODEL_FAILS},
    {"\"cortex.spec\":\"", "\"cortex.sp\":\"", MODEL_FAILS},
    {"\"cortex.spec\":\"", "\"cortex.spec\":\"frobnicate 3;", MODEL_FAILS},
    {"\"cortex.spec\":\"", "\"cortex.spec\":\"\\n\\n;;;", ANY},
    {"\"cortex.spec\":\"", "\"cortex.spec\":\"\\u0000", BOTH_FAIL},
    {"\"cortex.spec\":\"", "\"cortex.spec\":\"\\ud800", BOTH_FAIL},
    {"\"cortex.spec\":\"", "\"cortex.spec\":\"\\x", BOTH_FAIL},
    {"\"cortex.spec\":\"", "\"cortex.spec\":", BOTH_FAIL},
    /* structure */
    {"{", "[{", BOTH_FAIL},
    {"{", " {", BOTH_FAIL},
    {"{", "{\"a\":1,", BOTH_FAIL},
    {"{", "{{", BOTH_FAIL},
    {"]},", "]}", BOTH_FAIL},
    {"]}}", "]}", BOTH_FAIL},
    {"}", "", ANY}, /* the first '}' is inside a metadata string */
    {"\"", "'", BOTH_FAIL},
    {":", "=", BOTH_FAIL},
    {",", ",,", BOTH_FAIL},
    {"{", "{\x7f", BOTH_FAIL},
    {"{", "{\x0c", BOTH_FAIL},
    {"{", "{/*c*/", BOTH_FAIL},
};

typedef struct {
    const char *header; /* base header text, unpadded */
    const unsigned char *data;
    size_t dlen;
    const char *spec;
} base_file;

static void try_header(const base_file *b, const char *header, int expect, const char *what)
{
    blob v = compose(header, b->data, b->dlen);
    try_variant(v.p, v.n, expect, what);
    free(v.p);
}

/* Replaces the spec value with text (JSON-safe characters only). */
static void try_spec(const base_file *b, const char *spec, int expect, const char *what)
{
    char find[256];
    snprintf(find, sizeof find, "\"cortex.spec\":\"%s\"", b->spec);
    size_t n = strlen(spec);
    char *repl = malloc(n + 32);
    snprintf(repl, n + 32, "\"cortex.spec\":\"%s\"", spec);
    char *h = replace(b->header, find, repl);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    try_header(b, h, expect, what);
    free(h);
    free(repl);
}

/* A string of count copies of unit. */
static char *repeat(const char *prefix, const char *unit, int count, const char *suffix)
{
    size_t p = strlen(prefix), u = strlen(unit), s = strlen(suffix);
    char *out = malloc(p + u * (size_t)count + s + 1), *at = out;
    memcpy(at, prefix, p);
    at += p;
    for (int i = 0; i < count; i++, at += u)
        memcpy(at, unit, u);
    memcpy(at, suffix, s + 1);
    return out;
}

static void fuzz_json_edits(const base_file *b)
{
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        char *h = replace(b->header, edits[i].find, edits[i].repl);
        CU_ASSERT_PTR_NOT_NULL(h);
        if (!h) {
            fprintf(stderr, "  edit %zu: '%s' not found\n", i, edits[i].find);
            continue;
        }
        char what[160];
        snprintf(what, sizeof what, "edit %zu: '%.60s' -> '%.60s'", i, edits[i].find,
                 edits[i].repl);
        try_header(b, h, edits[i].expect, what);
        free(h);
    }
    /* An extra tensor appended to the data: a valid safetensors file, but
     * not the model's tensors. */
    {
        char *h = replace(b->header, "\"0.weight\":{",
                          "\"zz\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[300,304]},"
                          "\"0.weight\":{");
        unsigned char *d = malloc(b->dlen + 4);
        memcpy(d, b->data, b->dlen);
        memset(d + b->dlen, 0, 4);
        blob v = compose(h, d, b->dlen + 4);
        try_variant(v.p, v.n, MODEL_FAILS, "extra tensor");
        cx_st *st = NULL;
        cx_error err;
        CU_ASSERT_EQUAL(cx_st_read_mem(&st, v.p, v.n, "extra", &err), CX_OK);
        cx_model *m = NULL;
        CU_ASSERT_EQUAL(cx_model_from_st(&m, st, "extra", &err), CX_ERR_FORMAT);
        cx_st_free(st);
        free(v.p);
        free(h);
        /* ...and named as a checkpoint extra, cx_model_from_st accepts it. */
        h = replace(b->header, "\"0.weight\":{",
                    "\"optim.zz\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[300,304]},"
                    "\"0.weight\":{");
        v = compose(h, d, b->dlen + 4);
        try_variant(v.p, v.n, MODEL_FAILS, "optim extra via cx_model_load");
        CU_ASSERT_EQUAL(cx_st_read_mem(&st, v.p, v.n, "extra", &err), CX_OK);
        CU_ASSERT_EQUAL(cx_model_from_st(&m, st, "extra", &err), CX_OK);
        cx_model_free(m);
        cx_st_free(st);
        free(v.p);
        free(h);
        free(d);
    }
    /* Hostile specs: nothing may be allocated for layers the file does not
     * hold. */
    try_spec(b, "input 1 1; dense 1048576; dense 1024", MODEL_FAILS, "spec: 2^30 weights");
    try_spec(b, "input 1048576; dense 1024", MODEL_FAILS, "spec: 2^30 weights (2)");
    try_spec(b, "input 1000000000", MODEL_FAILS, "spec: huge input");
    try_spec(b, "input 4; conv 3 3", MODEL_FAILS, "spec: conv on a vector");
    try_spec(b, "input 4; dense 6; relu; batchnorm; dense 4", MODEL_FAILS, "spec: 4 outputs");
    try_spec(b, "input 4; dense 6; relu; batchnorm; dense 3; dense 3", MODEL_FAILS,
             "spec: extra layer");
    try_spec(b, "", MODEL_FAILS, "spec: empty");
    try_spec(b, "input 4", MODEL_FAILS, "spec: no layers");
    try_spec(b, "input 4; dense 6 relu; bn; dense 3", ANY, "spec: alias");
    char *s = repeat("input 1048576", "; bn", 255, "");
    try_spec(b, s, MODEL_FAILS, "spec: 255 huge batchnorms");
    free(s);
    s = repeat("input 4", "; dense 3", 300, "");
    try_spec(b, s, MODEL_FAILS, "spec: 300 layers");
    free(s);
    s = repeat("input 4; dense 6 relu; batchnorm; dense 3", " ", 100000, "");
    try_spec(b, s, ANY, "spec: long trailing blanks");
    free(s);
    s = repeat("input 4; dense 6 relu; batchnorm; dense 3", ";", 2000000, "");
    try_spec(b, s, MODEL_FAILS, "spec: over 1 MiB");
    free(s);
    s = repeat("input 4; dense ", "9", 5000, "");
    try_spec(b, s, MODEL_FAILS, "spec: long number");
    free(s);
    s = repeat("input 4; dense 6 relu ", "x ", 5000, "");
    try_spec(b, s, MODEL_FAILS, "spec: many tokens");
    free(s);
    /* Deep nesting, inside and outside the metadata. */
    int depths[] = {10, 999, 1001, 5000, 200000};
    for (int i = 0; i < 5; i++) {
        char *open = repeat("", "[", depths[i], ""), *close = repeat("", "]", depths[i], "");
        size_t n = strlen(open) * 2 + 64;
        char *repl = malloc(n);
        snprintf(repl, n, "\"deep\":%s%s,\"cortex.format\":\"1\"", open, close);
        char *h = replace(b->header, "\"cortex.format\":\"1\"", repl);
        try_header(b, h, BOTH_FAIL, "deeply nested metadata");
        free(h);
        char *whole = malloc(n);
        snprintf(whole, n, "{\"a\":%s%s}", open, close);
        try_header(b, whole, BOTH_FAIL, "deeply nested header");
        snprintf(whole, n, "{\"a\":%s", open);
        try_header(b, whole, BOTH_FAIL, "deeply nested unclosed header");
        free(whole);
        free(repl);
        free(open);
        free(close);
    }
    /* Many small tensors and keys (bounded work, no quadratic blowup). */
    {
        int n = 20000;
        size_t cap = (size_t)n * 80 + 64, used = 0;
        char *h = malloc(cap);
        used += (size_t)snprintf(h, cap, "{");
        for (int i = 0; i < n; i++)
            used += (size_t)snprintf(
                h + used, cap - used,
                "%s\"t%d\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[0,0]}", i ? "," : "",
                i);
        snprintf(h + used, cap - used, "}");
        try_header(b, h, BOTH_FAIL, "20000 empty tensors");
        free(h);
        s = repeat("{\"__metadata__\":{\"k\":\"v\"", ",\"k\":\"v\"", n, "}}");
        try_header(b, s, BOTH_FAIL, "20000 duplicate metadata keys");
        free(s);
    }
}

static void fuzz_raw(const unsigned char *file, size_t len, size_t hlen, cx_rng *rng)
{
    char what[96];
    unsigned char *v = malloc(len + 64);
    /* Every prefix of the header region, and random cuts in the data. */
    for (size_t cut = 0; cut < 8 + hlen; cut++) {
        snprintf(what, sizeof what, "truncated at %zu", cut);
        try_variant(file, cut, BOTH_FAIL, what);
    }
    for (int i = 0; i < 60; i++) {
        size_t cut = 8 + hlen + cx_rng_below(rng, (uint32_t)(len - 8 - hlen));
        snprintf(what, sizeof what, "truncated at %zu", cut);
        try_variant(file, cut, BOTH_FAIL, what);
    }
    /* Trailing bytes. */
    for (int extra = 1; extra <= 8; extra++) {
        memcpy(v, file, len);
        memset(v + len, 0, (size_t)extra);
        try_variant(v, len + (size_t)extra, BOTH_FAIL, "trailing bytes");
    }
    /* Bit flips and byte changes in the header and in the data. */
    for (int i = 0; i < 700; i++) {
        memcpy(v, file, len);
        int in_header = i < 400;
        int flips = 1 + (int)cx_rng_below(rng, 3);
        for (int f = 0; f < flips; f++) {
            size_t at = in_header ? cx_rng_below(rng, (uint32_t)(8 + hlen))
                                  : 8 + hlen + cx_rng_below(rng, (uint32_t)(len - 8 - hlen));
            if (i % 2)
                v[at] ^= (unsigned char)(1u << cx_rng_below(rng, 8));
            else
                v[at] = (unsigned char)cx_rng_u32(rng);
        }
        snprintf(what, sizeof what, "flip %d", i);
        try_variant(v, len, ANY, what);
    }
    /* NaN and infinity in the weights. */
    float bad[2] = {NAN, INFINITY};
    for (int i = 0; i < 2; i++) {
        memcpy(v, file, len);
        memcpy(v + len - 4, &bad[i], 4);
        try_variant(v, len, MODEL_FAILS, "non-finite weight");
    }
    /* Absurd header lengths. */
    uint64_t lens[] = {0,
                       1,
                       2,
                       7,
                       8,
                       hlen - 1,
                       hlen + 1,
                       len - 8,
                       len - 7,
                       len,
                       len + 1,
                       (uint64_t)1 << 63,
                       UINT64_MAX,
                       CX_ST_MAX_HEADER + 1ull,
                       (uint64_t)1 << 32,
                       ((uint64_t)1 << 32) + hlen};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        memcpy(v, file, len);
        for (int b = 0; b < 8; b++)
            v[b] = (unsigned char)(lens[i] >> (8 * b));
        snprintf(what, sizeof what, "header length %llu", (unsigned long long)lens[i]);
        try_variant(v, len, BOTH_FAIL, what);
    }
    free(v);
    /* Random garbage, with and without a plausible header length. */
    unsigned char *g = malloc(4096);
    for (int i = 0; i < 150; i++) {
        size_t n = cx_rng_below(rng, 4096);
        for (size_t k = 0; k < n; k++)
            g[k] = (unsigned char)cx_rng_u32(rng);
        if (i % 3 == 1 && n >= 8) {
            uint64_t h = cx_rng_below(rng, (uint32_t)(n - 7));
            for (int b = 0; b < 8; b++)
                g[b] = (unsigned char)(h >> (8 * b));
            if (n > 8) g[8] = '{';
        } else if (i % 3 == 2 && n >= 8) {
            /* JSON-ish characters */
            static const char alphabet[] = "{}[]\":,0123456789 -.eEtruefalsn\\uF32shapedtype";
            uint64_t h = n - 8;
            for (int b = 0; b < 8; b++)
                g[b] = (unsigned char)(h >> (8 * b));
            for (size_t k = 8; k < n; k++)
                g[k] = (unsigned char)alphabet[cx_rng_below(rng, sizeof alphabet - 1)];
            g[8] = '{';
        }
        snprintf(what, sizeof what, "garbage %d (%zu bytes)", i, n);
        try_variant(g, n, BOTH_FAIL, what);
    }
    free(g);
}

static void test_fuzz(void)
{
    cx_error err;
    char path[128];
    tmp_path(path, sizeof path, "base.cxm");
    tmp_path(fz.path, sizeof fz.path, "variant.cxm");
    fz.verbose = getenv("CX_FUZZ_VERBOSE") != NULL;
    cx_model *m = make_model(SPEC, 21);
    label_and_tag(m);
    CU_ASSERT_EQUAL_FATAL(cx_model_save(m, path, &err), CX_OK);
    size_t len = 0;
    unsigned char *file = read_all(path, &len);
    CU_ASSERT_FATAL(file != NULL && len > 8);
    size_t hlen = 0;
    for (int i = 0; i < 8; i++)
        hlen |= (size_t)file[i] << (8 * i);
    CU_ASSERT_FATAL(hlen + 8 < len);

    /* The unmodified file loads. */
    try_variant(file, len, ANY, "original");
    CU_ASSERT_EQUAL(fz.model_ok, 1);

    cx_rng rng;
    cx_rng_seed(&rng, 20240611);
    fuzz_raw(file, len, hlen, &rng);

    char *header = malloc(hlen + 1);
    memcpy(header, file + 8, hlen);
    header[hlen] = 0;
    for (size_t i = hlen; i > 0 && header[i - 1] == ' '; i--)
        header[i - 1] = 0;
    base_file b = {header, file + 8 + hlen, len - 8 - hlen, cx_model_spec(m)};
    /* Unpadded, re-composed: still valid. */
    try_header(&b, header, ANY, "recomposed");
    CU_ASSERT_EQUAL(fz.model_ok >= 2, 1);
    fuzz_json_edits(&b);

    fprintf(stderr, "  fuzz: %d variants, %d valid safetensors, %d loaded as models\n", fz.tried,
            fz.st_ok, fz.model_ok);
    CU_ASSERT(fz.tried >= 1000);
    free(header);
    free(file);
    cx_model_free(m);
}

int main(void)
{
    cx_set_threads(1);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cx_test_io_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    static const cx_test tests[] = {
        {"model round trip (dense + batchnorm, labels, metadata)", test_roundtrip},
        {"ensembles: mean probability, round trip, bad specs and files", test_ensemble},
        {"safetensors writer and reader", test_st_generic},
        {"saves are atomic and errors name the file", test_save_errors},
        {"a model file's activations are budgeted before allocation", test_activation_budget},
        {"checkpoints with extra tensors", test_checkpoint},
        {"Python reads our files and we read its", test_python_interop},
        {"fuzz: corrupted, truncated, edited and random files", test_fuzz},
        {NULL, NULL},
    };
    int rc = cx_test_main("io", tests);
    nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
