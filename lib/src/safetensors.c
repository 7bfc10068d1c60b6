/* safetensors reading and writing (see cortex/io.h for the format and the
 * checks). The JSON header is parsed and built with cJSON; a short lexical
 * pass over the raw header checks what cJSON cannot report: UTF-8, control
 * characters, NUL escapes, and that every number is a plain non-negative
 * integer (cJSON keeps only a double, so "2.0", "-0" or a 20-digit offset
 * would otherwise slip through rounded). */
#define _POSIX_C_SOURCE 200809L
#include "cortex/io.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_LITTLE_ENDIAN 1
#else
#define HOST_LITTLE_ENDIAN 0
#endif

_Static_assert(sizeof(float) == 4, "float must be IEEE-754 binary32");

#define MAX_DIMS 8
/* Longest integer literal accepted in a header: 15 digits stay exact in the
 * double cJSON stores them in. */
#define MAX_DIGITS 15

/* ---- byte order ------------------------------------------------------- */

static void put_u64_le(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64_le(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* n floats to little-endian bytes */
static void floats_to_le(const float *src, unsigned char *dst, size_t n)
{
    if (HOST_LITTLE_ENDIAN) {
        memcpy(dst, src, n * 4);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t u;
        memcpy(&u, &src[i], 4);
        for (int b = 0; b < 4; b++)
            dst[4 * i + b] = (unsigned char)(u >> (8 * b));
    }
}

/* n little-endian floats to host floats */
static void floats_from_le(const unsigned char *src, float *dst, size_t n)
{
    if (HOST_LITTLE_ENDIAN) {
        memcpy(dst, src, n * 4);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        uint32_t u = 0;
        for (int b = 0; b < 4; b++)
            u |= (uint32_t)src[4 * i + b] << (8 * b);
        memcpy(&dst[i], &u, 4);
    }
}

/* ---- dtypes ----------------------------------------------------------- */

typedef struct {
    const char *name;
    size_t size;
} dtype_info;

/* The standard safetensors dtypes with a whole number of bytes per element
 * (the sub-byte F4/F6 formats are not supported). */
static const dtype_info dtypes[] = {
    {"BOOL", 1}, {"U8", 1},  {"I8", 1},  {"F8_E5M2", 1}, {"F8_E4M3", 1}, {"F8_E8M0", 1},
    {"I16", 2},  {"U16", 2}, {"F16", 2}, {"BF16", 2},    {"I32", 4},     {"U32", 4},
    {"F32", 4},  {"F64", 8}, {"I64", 8}, {"U64", 8},     {"C64", 8},
};

static const dtype_info *find_dtype(const char *name)
{
    for (size_t i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (!strcmp(dtypes[i].name, name)) return &dtypes[i];
    return NULL;
}

/* ---- text checks -------------------------------------------------------- */

/* Length of the valid UTF-8 sequence starting at s (at most n bytes), or 0
 * if it is not one (overlong forms, surrogates and code points past
 * U+10FFFF are invalid). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80) return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else
        return 0;
    if (n < len || s[1] < lo || s[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF) return 0;
    return len;
}

static int utf8_valid(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t n = strlen(str);
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(s + i, n - i);
        if (!k) return 0;
        i += k;
    }
    return 1;
}

/* The lexical pass over the raw header described at the top of the file.
 * Structure is left to cJSON. */
static cx_status scan_header(const unsigned char *h, size_t n, const char *name, cx_error *err)
{
    int in_string = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned c = h[i];
        if (in_string) {
            if (c == '"') {
                in_string = 0;
            } else if (c == '\\') {
                if (i + 5 < n && h[i + 1] == 'u' && !memcmp(h + i + 2, "0000", 4))
                    return cx_fail(err, CX_ERR_FORMAT,
                                   "%s: header byte %zu: a string contains \\u0000", name, i);
                i++; /* the escaped character; cJSON checks the escape itself */
            } else if (c < 0x20) {
                return cx_fail(err, CX_ERR_FORMAT,
                               "%s: header byte %zu: control character 0x%02x in a string", name, i,
                               c);
            } else if (c >= 0x80) {
                size_t k = utf8_seq(h + i, n - i);
                if (!k)
                    return cx_fail(err, CX_ERR_FORMAT, "%s: header byte %zu: invalid UTF-8", name,
                                   i);
                i += k - 1;
            }
            continue;
        }
        if (c == '"') {
            in_string = 1;
        } else if (c >= '0' && c <= '9') {
            size_t j = i;
            while (j < n && h[j] >= '0' && h[j] <= '9')
                j++;
            if (j < n && (h[j] == '.' || h[j] == 'e' || h[j] == 'E'))
                return cx_fail(err, CX_ERR_FORMAT,
                               "%s: header byte %zu: number with a fraction or exponent "
                               "(shapes and offsets are integers)",
                               name, i);
            if (j - i > MAX_DIGITS || (c == '0' && j - i > 1))
                return cx_fail(err, CX_ERR_FORMAT,
                               "%s: header byte %zu: integer '%.*s' is too long or has a "
                               "leading zero",
                               name, i, (int)(j - i < 24 ? j - i : 24), (const char *)h + i);
            i = j - 1;
        } else if (c == '-') {
            return cx_fail(err, CX_ERR_FORMAT,
                           "%s: header byte %zu: negative number (shapes and offsets are "
                           "non-negative)",
                           name, i);
        } else if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c >= 0x7F) {
            return cx_fail(err, CX_ERR_FORMAT,
                           "%s: header byte %zu: unexpected byte 0x%02x outside a string", name, i,
                           c);
        }
    }
    return CX_OK;
}

/* ---- the in-memory file ------------------------------------------------- */

typedef struct {
    cx_st_tensor t;
    size_t begin; /* offset in the data section */
} st_entry;

typedef struct {
    const char *key, *value;
} st_meta;

struct cx_st {
    unsigned char *file; /* the whole file */
    const unsigned char *data;
    size_t data_len;
    int ntensors;
    st_entry *tensors;        /* in data order */
    const st_entry **by_name; /* sorted by name */
    int nmeta;
    st_meta *meta; /* sorted by key */
    char *strings; /* every name, key and value */
};

void cx_st_free(cx_st *st)
{
    if (!st) return;
    free(st->file);
    free(st->tensors);
    free(st->by_name);
    free(st->meta);
    free(st->strings);
    free(st);
}

static int cmp_data_order(const void *a, const void *b)
{
    const st_entry *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->t.nbytes != y->t.nbytes) return x->t.nbytes < y->t.nbytes ? -1 : 1;
    return strcmp(x->t.name, y->t.name);
}

static int cmp_entry_name(const void *a, const void *b)
{
    const st_entry *x = *(const st_entry *const *)a, *y = *(const st_entry *const *)b;
    return strcmp(x->t.name, y->t.name);
}

static int cmp_meta_key(const void *a, const void *b)
{
    return strcmp(((const st_meta *)a)->key, ((const st_meta *)b)->key);
}

/* A JSON number that is an exact non-negative integer. */
static int json_uint(const cJSON *v, uint64_t *out)
{
    if (!cJSON_IsNumber(v)) return -1;
    double d = v->valuedouble;
    if (!(d >= 0.0 && d <= 9007199254740992.0) || (double)(uint64_t)d != d) return -1;
    *out = (uint64_t)d;
    return 0;
}

static char *arena_copy(char **cursor, const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = *cursor;
    memcpy(d, s, n);
    *cursor += n;
    return d;
}

/* Validates one tensor entry and fills e (name already set). */
static cx_status parse_tensor(st_entry *e, const cJSON *obj, size_t data_len, const char *name,
                              cx_error *err)
{
    const char *tn = e->t.name;
    if (!cJSON_IsObject(obj))
        return cx_fail(err, CX_ERR_FORMAT, "%s: tensor '%s': expected an object", name, tn);
    const cJSON *dtype = NULL, *shape = NULL, *offsets = NULL;
    for (const cJSON *f = obj->child; f; f = f->next) {
        const cJSON **slot = !strcmp(f->string, "dtype")          ? &dtype
                             : !strcmp(f->string, "shape")        ? &shape
                             : !strcmp(f->string, "data_offsets") ? &offsets
                                                                  : NULL;
        if (!slot)
            return cx_fail(err, CX_ERR_FORMAT, "%s: tensor '%s': unknown field '%s'", name, tn,
                           f->string);
        if (*slot)
            return cx_fail(err, CX_ERR_FORMAT, "%s: tensor '%s': duplicate field '%s'", name, tn,
                           f->string);
        *slot = f;
    }
    if (!dtype || !shape || !offsets)
        return cx_fail(err, CX_ERR_FORMAT, "%s: tensor '%s': missing field '%s'", name, tn,
                       !dtype   ? "dtype"
                       : !shape ? "shape"
                                : "data_offsets");

    const dtype_info *dt = cJSON_IsString(dtype) ? find_dtype(dtype->valuestring) : NULL;
    if (!dt)
        return cx_fail(err, CX_ERR_FORMAT, "%s: tensor '%s': dtype %s%.24s%s is not a known type",
                       name, tn, cJSON_IsString(dtype) ? "'" : "",
                       cJSON_IsString(dtype) ? dtype->valuestring : "(not a string)",
                       cJSON_IsString(dtype) ? "'" : "");
    e->t.dtype = dt->name;

    if (!cJSON_IsArray(shape))
        return cx_fail(err, CX_ERR_FORMAT, "%s: tensor '%s': shape is not an array", name, tn);
    /* Elements are bounded by the data section; a zero dimension makes the
     * product 0 whatever the others are, and each is bounded by the lexer. */
    uint64_t elems = 1, limit = data_len / dt->size;
    int zero = 0, ndim = 0;
    for (const cJSON *d = shape->child; d; d = d->next) {
        uint64_t v;
        if (ndim == MAX_DIMS)
            return cx_fail(err, CX_ERR_FORMAT, "%s: tensor '%s': more than %d dimensions", name, tn,
                           MAX_DIMS);
        if (json_uint(d, &v))
            return cx_fail(err, CX_ERR_FORMAT,
                           "%s: tensor '%s': shape[%d] is not a non-negative integer", name, tn,
                           ndim);
        e->t.shape[ndim++] = (int64_t)v;
        if (v == 0)
            zero = 1;
        else if (v > limit || elems > limit / v)
            elems = limit + 1;
        else
            elems *= v;
    }
    e->t.ndim = ndim;
    if (zero) elems = 0;
    if (elems > limit)
        return cx_fail(err, CX_ERR_FORMAT,
                       "%s: tensor '%s': shape needs more bytes than the %zu-byte data section",
                       name, tn, data_len);

    uint64_t off[2];
    if (!cJSON_IsArray(offsets) || cJSON_GetArraySize(offsets) != 2 ||
        json_uint(offsets->child, &off[0]) || json_uint(offsets->child->next, &off[1]))
        return cx_fail(err, CX_ERR_FORMAT,
                       "%s: tensor '%s': data_offsets must be two non-negative integers", name, tn);
    if (off[0] > off[1] || off[1] > data_len)
        return cx_fail(err, CX_ERR_FORMAT,
                       "%s: tensor '%s': data_offsets [%llu, %llu] are reversed or outside the "
                       "%zu-byte data section",
                       name, tn, (unsigned long long)off[0], (unsigned long long)off[1], data_len);
    e->t.nbytes = (size_t)(elems * dt->size);
    if (off[1] - off[0] != e->t.nbytes)
        return cx_fail(err, CX_ERR_FORMAT,
                       "%s: tensor '%s': data_offsets span %llu bytes, its shape and dtype need "
                       "%zu",
                       name, tn, (unsigned long long)(off[1] - off[0]), e->t.nbytes);
    e->begin = (size_t)off[0];
    return CX_OK;
}

/* Checks that the tensors (sorted in data order) tile the data section. */
static cx_status check_layout(const cx_st *st, const char *name, cx_error *err)
{
    size_t at = 0;
    for (int i = 0; i < st->ntensors; i++) {
        const st_entry *e = &st->tensors[i];
        if (e->begin < at)
            return cx_fail(err, CX_ERR_FORMAT, "%s: tensor '%s' overlaps tensor '%s'", name,
                           e->t.name, st->tensors[i - 1].t.name);
        if (e->begin > at)
            return cx_fail(err, CX_ERR_FORMAT,
                           "%s: %zu unused bytes before tensor '%s' in the data section", name,
                           e->begin - at, e->t.name);
        at = e->begin + e->t.nbytes;
    }
    if (at != st->data_len)
        return cx_fail(err, CX_ERR_FORMAT,
                       "%s: %zu bytes after the last tensor (the file size must be exactly "
                       "8 + header + tensor data)",
                       name, st->data_len - at);
    return CX_OK;
}

/* Builds st's tables from a parsed header object. */
static cx_status parse_root(cx_st *st, const cJSON *root, const char *name, cx_error *err)
{
    const cJSON *md = NULL;
    size_t strings = 0;
    int nt = 0, nm = 0;
    for (const cJSON *c = root->child; c; c = c->next) {
        if (strcmp(c->string, "__metadata__") != 0) {
            if (nt == INT32_MAX) return cx_fail(err, CX_ERR_FORMAT, "%s: too many tensors", name);
            nt++;
            strings += strlen(c->string) + 1;
            continue;
        }
        if (md) return cx_fail(err, CX_ERR_FORMAT, "%s: duplicate key '__metadata__'", name);
        md = c;
        if (!cJSON_IsObject(md))
            return cx_fail(err, CX_ERR_FORMAT, "%s: __metadata__ is not an object", name);
        for (const cJSON *kv = md->child; kv; kv = kv->next) {
            if (!cJSON_IsString(kv))
                return cx_fail(err, CX_ERR_FORMAT, "%s: metadata '%s' is not a string", name,
                               kv->string);
            if (nm == INT32_MAX) return cx_fail(err, CX_ERR_FORMAT, "%s: too much metadata", name);
            nm++;
            strings += strlen(kv->string) + strlen(kv->valuestring) + 2;
        }
    }
    st->tensors = calloc(nt ? (size_t)nt : 1, sizeof *st->tensors);
    st->by_name = calloc(nt ? (size_t)nt : 1, sizeof *st->by_name);
    st->meta = calloc(nm ? (size_t)nm : 1, sizeof *st->meta);
    st->strings = malloc(strings ? strings : 1);
    if (!st->tensors || !st->by_name || !st->meta || !st->strings)
        return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory for the header", name);
    char *cursor = st->strings;
    for (const cJSON *c = root->child; c; c = c->next) {
        if (c == md) continue;
        st_entry *e = &st->tensors[st->ntensors++];
        e->t.name = arena_copy(&cursor, c->string);
        if (!e->t.name[0])
            return cx_fail(err, CX_ERR_FORMAT, "%s: a tensor has an empty name", name);
        cx_status s = parse_tensor(e, c, st->data_len, name, err);
        if (s) return s;
    }
    if (md)
        for (const cJSON *kv = md->child; kv; kv = kv->next) {
            st_meta *m = &st->meta[st->nmeta++];
            m->key = arena_copy(&cursor, kv->string);
            m->value = arena_copy(&cursor, kv->valuestring);
        }

    qsort(st->meta, (size_t)st->nmeta, sizeof *st->meta, cmp_meta_key);
    for (int i = 1; i < st->nmeta; i++)
        if (!strcmp(st->meta[i - 1].key, st->meta[i].key))
            return cx_fail(err, CX_ERR_FORMAT, "%s: duplicate metadata key '%s'", name,
                           st->meta[i].key);
    qsort(st->tensors, (size_t)st->ntensors, sizeof *st->tensors, cmp_data_order);
    for (int i = 0; i < st->ntensors; i++)
        st->by_name[i] = &st->tensors[i];
    qsort(st->by_name, (size_t)st->ntensors, sizeof *st->by_name, cmp_entry_name);
    for (int i = 1; i < st->ntensors; i++)
        if (!strcmp(st->by_name[i - 1]->t.name, st->by_name[i]->t.name))
            return cx_fail(err, CX_ERR_FORMAT, "%s: duplicate tensor '%s'", name,
                           st->by_name[i]->t.name);
    return check_layout(st, name, err);
}

/* Parses st->file (len bytes, owned by st). */
static cx_status parse_file(cx_st *st, size_t len, const char *name, cx_error *err)
{
    if (len < 8)
        return cx_fail(err, CX_ERR_FORMAT,
                       "%s: %zu bytes is too short for a safetensors file (8-byte header length "
                       "first)",
                       name, len);
    uint64_t n = get_u64_le(st->file);
    if (n > CX_ST_MAX_HEADER)
        return cx_fail(err, CX_ERR_FORMAT,
                       "%s: header length %llu is more than the %u bytes accepted", name,
                       (unsigned long long)n, CX_ST_MAX_HEADER);
    if (n > len - 8)
        return cx_fail(err, CX_ERR_FORMAT,
                       "%s: header length %llu runs past the end of the file (%zu bytes): "
                       "truncated?",
                       name, (unsigned long long)n, len);
    const unsigned char *h = st->file + 8;
    if (n < 2)
        return cx_fail(err, CX_ERR_FORMAT, "%s: header length %llu is too short for a JSON object",
                       name, (unsigned long long)n);
    if (h[0] != '{')
        return cx_fail(err, CX_ERR_FORMAT, "%s: the header does not begin with '{'", name);
    cx_status s = scan_header(h, (size_t)n, name, err);
    if (s) return s;
    st->data = h + n;
    st->data_len = len - 8 - (size_t)n;

    char *text = malloc((size_t)n + 1);
    if (!text) return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory for the header", name);
    memcpy(text, h, (size_t)n);
    text[n] = 0;
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 1);
    if (!root) {
        size_t at = end && end >= text && end <= text + n ? (size_t)(end - text) : 0;
        free(text);
        return cx_fail(err, CX_ERR_FORMAT,
                       "%s: the header is not valid JSON (error near byte %zu; nesting deeper "
                       "than %d is refused)",
                       name, at, CJSON_NESTING_LIMIT);
    }
    free(text);
    if (!cJSON_IsObject(root))
        s = cx_fail(err, CX_ERR_FORMAT, "%s: the header is not a JSON object", name);
    else
        s = parse_root(st, root, name, err);
    cJSON_Delete(root);
    return s;
}

/* Takes ownership of file (malloc'd, len bytes). */
static cx_status st_from_buffer(cx_st **out, unsigned char *file, size_t len, const char *name,
                                cx_error *err)
{
    cx_st *st = calloc(1, sizeof *st);
    if (!st) {
        free(file);
        return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory", name);
    }
    st->file = file;
    cx_status s = parse_file(st, len, name, err);
    if (s) {
        cx_st_free(st);
        return s;
    }
    *out = st;
    return CX_OK;
}

cx_status cx_st_read_mem(cx_st **out, const void *buf, size_t len, const char *name, cx_error *err)
{
    if (!out) return cx_fail(err, CX_ERR_ARG, "safetensors: no output given");
    *out = NULL;
    if (!name) name = "(memory)";
    if (!buf && len) return cx_fail(err, CX_ERR_ARG, "%s: no buffer", name);
    if ((uint64_t)len > CX_ST_MAX_FILE)
        return cx_fail(err, CX_ERR_FORMAT, "%s: %zu bytes is more than the %llu accepted", name,
                       len, (unsigned long long)CX_ST_MAX_FILE);
    unsigned char *copy = malloc(len ? len : 1);
    if (!copy) return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory for %zu bytes", name, len);
    if (len) memcpy(copy, buf, len);
    return st_from_buffer(out, copy, len, name, err);
}

cx_status cx_st_read(cx_st **out, const char *path, cx_error *err)
{
    if (!out) return cx_fail(err, CX_ERR_ARG, "safetensors: no output given");
    *out = NULL;
    if (!path || !*path) return cx_fail(err, CX_ERR_ARG, "safetensors: no path given");
    /* O_NONBLOCK: opening a FIFO must not wait for a writer. It has no
     * effect on the regular file we then insist on. */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return cx_fail(err, CX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return cx_fail(err, CX_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return cx_fail(err, CX_ERR_IO, "%s: not a regular file", path);
    }
    if (sb.st_size < 0 || (uint64_t)sb.st_size > CX_ST_MAX_FILE) {
        close(fd);
        return cx_fail(err, CX_ERR_FORMAT, "%s: %lld bytes is more than the %llu Cortex reads",
                       path, (long long)sb.st_size, (unsigned long long)CX_ST_MAX_FILE);
    }
    size_t len = (size_t)sb.st_size;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        int e = errno;
        close(fd);
        return cx_fail(err, CX_ERR_IO, "%s: cannot open: %s", path, strerror(e));
    }
    unsigned char *buf = malloc(len ? len : 1);
    if (!buf) {
        fclose(f);
        return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory for %zu bytes", path, len);
    }
    size_t got = fread(buf, 1, len, f);
    int failed = ferror(f), grew = got == len && fgetc(f) != EOF;
    fclose(f);
    if (failed || got != len || grew) {
        free(buf);
        return cx_fail(err, CX_ERR_IO, "%s: %s", path,
                       failed ? "read error" : "the file changed size while being read");
    }
    return st_from_buffer(out, buf, len, path, err);
}

int cx_st_num_tensors(const cx_st *st)
{
    return st ? st->ntensors : 0;
}

const cx_st_tensor *cx_st_tensor_at(const cx_st *st, int i)
{
    return st && i >= 0 && i < st->ntensors ? &st->tensors[i].t : NULL;
}

static const st_entry *find_entry(const cx_st *st, const char *name)
{
    if (!st || !name) return NULL;
    st_entry key = {.t = {.name = name}};
    const st_entry *kp = &key;
    const st_entry *const *hit =
        bsearch(&kp, st->by_name, (size_t)st->ntensors, sizeof *st->by_name, cmp_entry_name);
    return hit ? *hit : NULL;
}

const cx_st_tensor *cx_st_find(const cx_st *st, const char *name)
{
    const st_entry *e = find_entry(st, name);
    return e ? &e->t : NULL;
}

cx_status cx_st_get_f32(const cx_st *st, const char *name, float *out, size_t count, cx_error *err)
{
    const st_entry *e = find_entry(st, name);
    if (!e) return cx_fail(err, CX_ERR_ARG, "safetensors: no tensor '%s'", name ? name : "");
    if (strcmp(e->t.dtype, "F32") != 0)
        return cx_fail(err, CX_ERR_FORMAT, "safetensors: tensor '%s' is %s, not F32", name,
                       e->t.dtype);
    if (e->t.nbytes != count * 4 || count > SIZE_MAX / 4)
        return cx_fail(err, CX_ERR_SHAPE, "safetensors: tensor '%s' has %zu floats, not %zu", name,
                       e->t.nbytes / 4, count);
    if (count) floats_from_le(st->data + e->begin, out, count);
    return CX_OK;
}

const char *cx_st_meta(const cx_st *st, const char *key)
{
    if (!st || !key) return NULL;
    st_meta k = {key, NULL};
    const st_meta *m = bsearch(&k, st->meta, (size_t)st->nmeta, sizeof *st->meta, cmp_meta_key);
    return m ? m->value : NULL;
}

int cx_st_num_meta(const cx_st *st)
{
    return st ? st->nmeta : 0;
}

const char *cx_st_meta_key(const cx_st *st, int i)
{
    return st && i >= 0 && i < st->nmeta ? st->meta[i].key : NULL;
}

/* ---- writing ------------------------------------------------------------ */

static int cmp_str_ptr(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Returns the first duplicate among n strings, or NULL. */
static const char *find_duplicate(const char *const *v, int n, int *nomem)
{
    *nomem = 0;
    if (n < 2) return NULL;
    const char **s = malloc((size_t)n * sizeof *s);
    if (!s) {
        *nomem = 1;
        return NULL;
    }
    memcpy(s, v, (size_t)n * sizeof *s);
    qsort(s, (size_t)n, sizeof *s, cmp_str_ptr);
    const char *dup = NULL;
    for (int i = 1; i < n && !dup; i++)
        if (!strcmp(s[i - 1], s[i])) dup = s[i];
    free(s);
    return dup;
}

/* Checks the arguments of cx_st_write and returns each tensor's size in
 * bytes in sizes and the total in *total. */
static cx_status check_write_args(const char *path, int nt, const cx_st_entry *t, int nmeta,
                                  const char *const *keys, const char *const *values, size_t *sizes,
                                  uint64_t *total, cx_error *err)
{
    *total = 0;
    for (int i = 0; i < nt; i++) {
        const char *n = t[i].name;
        if (!n || !*n || !strcmp(n, "__metadata__") || !utf8_valid(n))
            return cx_fail(err, CX_ERR_ARG,
                           "%s: tensor %d: name must be non-empty UTF-8 other than "
                           "__metadata__",
                           path, i);
        if (t[i].ndim < 0 || t[i].ndim > MAX_DIMS)
            return cx_fail(err, CX_ERR_ARG, "%s: tensor '%s': %d dimensions (0 to %d allowed)",
                           path, n, t[i].ndim, MAX_DIMS);
        uint64_t elems = 1;
        int zero = 0;
        for (int d = 0; d < t[i].ndim; d++) {
            int64_t v = t[i].shape[d];
            if (v < 0 || (uint64_t)v > CX_ST_MAX_FILE)
                return cx_fail(err, CX_ERR_ARG, "%s: tensor '%s': bad size %lld in dimension %d",
                               path, n, (long long)v, d);
            if (v == 0)
                zero = 1;
            else if (elems > CX_ST_MAX_FILE / (uint64_t)v)
                elems = CX_ST_MAX_FILE + 1;
            else
                elems *= (uint64_t)v;
        }
        if (zero) elems = 0;
        if (elems > CX_ST_MAX_FILE / 4 || *total + elems * 4 > CX_ST_MAX_FILE)
            return cx_fail(err, CX_ERR_ARG,
                           "%s: tensor data is larger than the %llu bytes "
                           "a file may hold",
                           path, (unsigned long long)CX_ST_MAX_FILE);
        if (elems && !t[i].data)
            return cx_fail(err, CX_ERR_ARG, "%s: tensor '%s' has no data", path, n);
        sizes[i] = (size_t)elems * 4;
        *total += elems * 4;
    }
    for (int i = 0; i < nmeta; i++)
        if (!keys[i] || !values[i] || !utf8_valid(keys[i]) || !utf8_valid(values[i]))
            return cx_fail(err, CX_ERR_ARG, "%s: metadata %d: key and value must be UTF-8 strings",
                           path, i);
    int nomem;
    const char *dup = find_duplicate(keys, nmeta, &nomem);
    if (dup) return cx_fail(err, CX_ERR_ARG, "%s: duplicate metadata key '%s'", path, dup);
    if (nomem) return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory", path);
    const char **names = malloc((nt ? (size_t)nt : 1) * sizeof *names);
    if (!names) return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory", path);
    for (int i = 0; i < nt; i++)
        names[i] = t[i].name;
    dup = find_duplicate(names, nt, &nomem);
    cx_status s = CX_OK;
    if (dup)
        s = cx_fail(err, CX_ERR_ARG, "%s: duplicate tensor name '%s'", path, dup);
    else if (nomem)
        s = cx_fail(err, CX_ERR_NOMEM, "%s: out of memory", path);
    free(names);
    return s;
}

static cJSON *add_uint_array(cJSON *obj, const char *key, const uint64_t *v, int n)
{
    cJSON *a = cJSON_AddArrayToObject(obj, key);
    for (int i = 0; a && i < n; i++) {
        cJSON *num = cJSON_CreateNumber((double)v[i]);
        if (!num || !cJSON_AddItemToArray(a, num)) {
            cJSON_Delete(num);
            return NULL;
        }
    }
    return a;
}

/* The JSON header text (unpadded), or NULL when out of memory. */
static char *build_header(int nt, const cx_st_entry *t, const size_t *sizes, int nmeta,
                          const char *const *keys, const char *const *values)
{
    cJSON *root = cJSON_CreateObject();
    int ok = root != NULL;
    if (ok && nmeta > 0) {
        cJSON *md = cJSON_AddObjectToObject(root, "__metadata__");
        ok = md != NULL;
        for (int i = 0; ok && i < nmeta; i++)
            ok = cJSON_AddStringToObject(md, keys[i], values[i]) != NULL;
    }
    uint64_t at = 0;
    for (int i = 0; ok && i < nt; i++) {
        cJSON *o = cJSON_AddObjectToObject(root, t[i].name);
        uint64_t shape[MAX_DIMS], off[2] = {at, at + sizes[i]};
        for (int d = 0; d < t[i].ndim; d++)
            shape[d] = (uint64_t)t[i].shape[d];
        ok = o && cJSON_AddStringToObject(o, "dtype", "F32") &&
             add_uint_array(o, "shape", shape, t[i].ndim) &&
             add_uint_array(o, "data_offsets", off, 2);
        at += sizes[i];
    }
    char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
    cJSON_Delete(root);
    return text;
}

static int write_floats(FILE *f, const float *v, size_t n)
{
    if (HOST_LITTLE_ENDIAN) return n == 0 || fwrite(v, 4, n, f) == n;
    unsigned char buf[4096];
    for (size_t i = 0; i < n; i += sizeof buf / 4) {
        size_t k = n - i < sizeof buf / 4 ? n - i : sizeof buf / 4;
        floats_to_le(v + i, buf, k);
        if (fwrite(buf, 4, k, f) != k) return 0;
    }
    return 1;
}

/* fsync of the folder holding path, so the rename itself is durable. */
static int sync_parent(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash ? strndup(path, slash == path ? 1 : (size_t)(slash - path)) : strdup(".");
    if (!dir) return ENOMEM;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    free(dir);
    if (fd < 0) return errno;
    int e = fsync(fd) != 0 ? errno : 0;
    close(fd);
    return e == EINVAL ? 0 : e; /* some file systems cannot sync a folder */
}

/* Writes head then the tensors to a temporary file next to path and renames
 * it over path. */
static cx_status write_atomic(const char *path, const unsigned char *head, size_t head_len, int nt,
                              const cx_st_entry *t, cx_error *err)
{
    size_t plen = strlen(path);
    char *tmp = malloc(plen + sizeof ".tmp.XXXXXX");
    if (!tmp) return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory", path);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return cx_fail(err, CX_ERR_IO, "%s: cannot create a temporary file next to it: %s", path,
                       strerror(e));
    }
    struct stat sb;
    mode_t mode = stat(path, &sb) == 0 && S_ISREG(sb.st_mode) ? sb.st_mode & 07777 : 0644;
    const char *what = "cannot write";
    int e = 0;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        e = errno;
        close(fd);
        goto fail;
    }
    if (fchmod(fd, mode) != 0) {
        e = errno;
        what = "cannot set the mode of the temporary file";
        fclose(f);
        goto fail;
    }
    int ok = fwrite(head, 1, head_len, f) == head_len;
    for (int i = 0; ok && i < nt; i++) {
        size_t n = 1;
        for (int d = 0; d < t[i].ndim; d++)
            n *= (size_t)t[i].shape[d];
        ok = write_floats(f, t[i].data, n);
    }
    if (ok && fflush(f) != 0) ok = 0;
    if (!ok) e = errno;
    if (ok && fsync(fileno(f)) != 0) {
        e = errno;
        what = "cannot sync";
        ok = 0;
    }
    if (fclose(f) != 0 && ok) {
        e = errno;
        ok = 0;
    }
    if (!ok) goto fail;
    if (rename(tmp, path) != 0) {
        e = errno;
        what = "cannot replace";
        goto fail;
    }
    free(tmp);
    if ((e = sync_parent(path)) != 0)
        return cx_fail(err, CX_ERR_IO, "%s: written, but syncing its folder failed: %s", path,
                       strerror(e));
    return CX_OK;
fail:
    unlink(tmp);
    free(tmp);
    return cx_fail(err, CX_ERR_IO, "%s: %s: %s (the previous file, if any, is unchanged)", path,
                   what, e ? strerror(e) : "unknown error");
}

cx_status cx_st_write(const char *path, int ntensors, const cx_st_entry *tensors, int nmeta,
                      const char *const *keys, const char *const *values, cx_error *err)
{
    if (!path || !*path) return cx_fail(err, CX_ERR_ARG, "safetensors: no path given");
    if (ntensors < 0 || nmeta < 0 || (ntensors && !tensors) || (nmeta && (!keys || !values)))
        return cx_fail(err, CX_ERR_ARG, "%s: bad tensor or metadata list", path);
    size_t *sizes = malloc((ntensors ? (size_t)ntensors : 1) * sizeof *sizes);
    if (!sizes) return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory", path);
    uint64_t total;
    cx_status s =
        check_write_args(path, ntensors, tensors, nmeta, keys, values, sizes, &total, err);
    char *json = s ? NULL : build_header(ntensors, tensors, sizes, nmeta, keys, values);
    free(sizes);
    if (s) return s;
    if (!json) return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory for the header", path);
    /* Spaces after the JSON put the data at a multiple of 8 bytes. */
    size_t len = strlen(json), n = len + (8 - (8 + len) % 8) % 8;
    if (n > CX_ST_MAX_HEADER || 8 + n + total > CX_ST_MAX_FILE) {
        free(json);
        return cx_fail(err, CX_ERR_ARG, "%s: header of %zu bytes is too large", path, n);
    }
    unsigned char *head = malloc(8 + n);
    if (!head) {
        free(json);
        return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory for the header", path);
    }
    put_u64_le(head, n);
    memcpy(head + 8, json, len);
    memset(head + 8 + len, ' ', n - len);
    free(json);
    s = write_atomic(path, head, 8 + n, ntensors, tensors, err);
    free(head);
    return s;
}
