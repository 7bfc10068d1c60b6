/* IDX files (MNIST, Fashion-MNIST), plain or gzip, and datasets built from
 * them. Every header field is checked and the data must be exactly as long
 * as the header says; a lying header never makes us allocate more than the
 * data actually present (the buffer grows as bytes arrive). */
#include "cortex/data.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "data_util.h"

#define IDX_MAX_BYTES (4LL << 30) /* largest data section accepted */
#define IDX_CHUNK (1u << 20)

const char *const cx_fashion_mnist_classes[10] = {"T-shirt/top", "Trouser",   "Pullover", "Dress",
                                                  "Coat",        "Sandal",    "Shirt",    "Sneaker",
                                                  "Bag",         "Ankle boot"};

static const char *gz_reason(gzFile f)
{
    int errnum = Z_OK;
    const char *msg = gzerror(f, &errnum);
    if (errnum == Z_ERRNO) return strerror(errno);
    return errnum == Z_OK ? NULL : msg;
}

/* Reads exactly len bytes; returns the count read (short on end of file or
 * error: gz_reason tells which). */
static size_t gz_read_all(gzFile f, uint8_t *dst, size_t len)
{
    size_t got = 0;
    while (got < len) {
        size_t want = len - got < IDX_CHUNK ? len - got : IDX_CHUNK;
        int r = gzread(f, dst + got, (unsigned)want);
        if (r <= 0) break;
        got += (size_t)r;
    }
    return got;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads an IDX file of unsigned bytes with ndims dimensions; dims[i] are
 * checked against lim[i]. *out gets the data (malloc'd). */
static cx_status idx_read(const char *path, int ndims, const char *what, const uint32_t *lim,
                          uint32_t *dims, uint8_t **out, cx_error *err)
{
    *out = NULL;
    if (!path) return cx_fail(err, CX_ERR_ARG, "IDX: NULL path");
    struct stat st;
    if (stat(path, &st) != 0)
        return cx_fail(err, CX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return cx_fail(err, CX_ERR_IO, "%s: not a regular file", path);
    gzFile f = gzopen(path, "rb");
    if (!f) return cx_fail(err, CX_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    gzbuffer(f, 1u << 17);

    uint8_t head[4 + 4 * 3];
    size_t hlen = 4 + 4 * (size_t)ndims, got = gz_read_all(f, head, hlen);
    cx_status status = CX_OK;
    const char *why = gz_reason(f);
    uint32_t magic = got >= 4 ? be32(head) : 0, want = 0x0800u | (uint32_t)ndims;
    if (why) {
        status = cx_fail(err, CX_ERR_FORMAT, "%s: corrupt gzip data (%s)", path, why);
    } else if (got == 0) {
        status = cx_fail(err, CX_ERR_FORMAT, "%s: empty file", path);
    } else if (got < 4) {
        status = cx_fail(err, CX_ERR_FORMAT, "%s: truncated IDX header", path);
    } else if (magic >> 8 != 0x08u) {
        status = cx_fail(err, CX_ERR_FORMAT,
                         "%s: bad magic 0x%08x, expected 0x%08x (IDX %s of unsigned bytes)", path,
                         magic, want, what);
    } else if (magic != want) {
        status = cx_fail(err, CX_ERR_FORMAT,
                         "%s: IDX data has %u dimensions (magic 0x%08x), expected %d (%s, magic "
                         "0x%08x)",
                         path, magic & 0xffu, magic, ndims, what, want);
    } else if (got < hlen) {
        status = cx_fail(err, CX_ERR_FORMAT, "%s: truncated IDX header", path);
    }
    static const char *const dim_names[3] = {"item count", "rows", "columns"};
    long long total = 1;
    for (int i = 0; !status && i < ndims; i++) {
        dims[i] = be32(head + 4 + 4 * i);
        if (dims[i] < 1 || dims[i] > lim[i])
            status = cx_fail(err, CX_ERR_FORMAT, "%s: %s %u out of range 1..%u", path, dim_names[i],
                             dims[i], lim[i]);
        else
            total *= dims[i]; /* at most CX_IDX_MAX_ITEMS * CX_IDX_MAX_SIDE^2: no overflow */
    }
    if (!status && total > IDX_MAX_BYTES)
        status = cx_fail(err, CX_ERR_FORMAT, "%s: declared data of %lld bytes is too large", path,
                         total);
    uint8_t *data = NULL;
    size_t have = 0, cap = 0;
    while (!status && have < (size_t)total) {
        if (have == cap) {
            size_t ncap = cap ? 2 * cap : IDX_CHUNK;
            if (ncap > (size_t)total) ncap = (size_t)total;
            uint8_t *nd = realloc(data, ncap);
            if (!nd) {
                status = cx_fail(err, CX_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
            data = nd;
            cap = ncap;
        }
        size_t r = gz_read_all(f, data + have, cap - have);
        have += r;
        if (have < cap) break; /* end of data or error */
    }
    if (!status && (why = gz_reason(f)) != NULL)
        status = cx_fail(err, CX_ERR_FORMAT, "%s: corrupt gzip data (%s) after %zu of %lld bytes",
                         path, why, have, total);
    if (!status && have < (size_t)total)
        status = cx_fail(err, CX_ERR_FORMAT,
                         "%s: truncated: header declares %lld bytes of data, file has %zu", path,
                         total, have);
    if (!status) {
        uint8_t extra;
        int r = gzread(f, &extra, 1);
        if ((why = gz_reason(f)) != NULL)
            status =
                cx_fail(err, CX_ERR_FORMAT, "%s: corrupt gzip data at the end (%s)", path, why);
        else if (r > 0)
            status =
                cx_fail(err, CX_ERR_FORMAT,
                        "%s: trailing data after the %lld bytes the header declares", path, total);
    }
    gzclose(f);
    if (status) {
        free(data);
        return status;
    }
    *out = data;
    return CX_OK;
}

cx_status cx_idx_load_images(const char *path, uint8_t **pixels, int *n, int *rows, int *cols,
                             cx_error *err)
{
    static const uint32_t lim[3] = {CX_IDX_MAX_ITEMS, CX_IDX_MAX_SIDE, CX_IDX_MAX_SIDE};
    uint32_t dims[3];
    cx_status st = idx_read(path, 3, "image file", lim, dims, pixels, err);
    if (st) return st;
    *n = (int)dims[0];
    *rows = (int)dims[1];
    *cols = (int)dims[2];
    return CX_OK;
}

cx_status cx_idx_load_labels(const char *path, uint8_t **labels, int *n, cx_error *err)
{
    static const uint32_t lim[1] = {CX_IDX_MAX_ITEMS};
    uint32_t dims[1];
    cx_status st = idx_read(path, 1, "label file", lim, dims, labels, err);
    if (st) return st;
    *n = (int)dims[0];
    return CX_OK;
}

cx_status cx_dataset_load_idx(cx_dataset **out, const char *images_path, const char *labels_path,
                              int nclasses, const char *const *names, cx_error *err)
{
    *out = NULL;
    if (nclasses < 0 || nclasses > 256 || (names && nclasses == 0))
        return cx_fail(err, CX_ERR_ARG, "IDX dataset: %d classes, expected 1..256", nclasses);
    uint8_t *px = NULL, *lab = NULL;
    int n = 0, rows = 0, cols = 0, nl = 0;
    cx_status st = cx_idx_load_images(images_path, &px, &n, &rows, &cols, err);
    if (!st) st = cx_idx_load_labels(labels_path, &lab, &nl, err);
    if (!st && nl != n)
        st = cx_fail(err, CX_ERR_FORMAT, "%s: %d labels, but %s has %d images", labels_path, nl,
                     images_path, n);
    int maxl = 0;
    for (int i = 0; !st && i < n; i++) {
        if (nclasses && lab[i] >= nclasses)
            st = cx_fail(err, CX_ERR_FORMAT, "%s: item %d has label %d, expected 0..%d",
                         labels_path, i, lab[i], nclasses - 1);
        if (lab[i] > maxl) maxl = lab[i];
    }
    cx_dataset *ds = NULL;
    if (!st && !(ds = cx_dataset_new())) st = cx_fail(err, CX_ERR_NOMEM, "IDX: out of memory");
    if (!st) {
        ds->n = n;
        ds->c = 1;
        ds->h = rows;
        ds->w = cols;
        ds->pixels = px;
        px = NULL;
        ds->labels = malloc(sizeof(int) * (size_t)n);
        ds->source = cx_strdup(images_path);
        if (!ds->labels || !ds->source) st = cx_fail(err, CX_ERR_NOMEM, "IDX: out of memory");
    }
    if (!st) {
        for (int i = 0; i < n; i++)
            ds->labels[i] = lab[i];
        st = cx_dataset_set_classes(ds, nclasses ? nclasses : maxl + 1, names, err);
    }
    free(px);
    free(lab);
    if (st) {
        cx_dataset_free(ds);
        return st;
    }
    *out = ds;
    return CX_OK;
}

/* Finds DIR/<prefix>-<kind>-<idx>-ubyte[.gz] (also "." before idx). */
static int find_idx_file(const char *dir, const char *prefix, const char *kind, const char *idx,
                         char *path, size_t len)
{
    static const char *const seps[2] = {"-", "."};
    static const char *const exts[2] = {"", ".gz"};
    for (int s = 0; s < 2; s++)
        for (int e = 0; e < 2; e++) {
            char name[64];
            int k = snprintf(name, sizeof name, "%s-%s%s%s-ubyte%s", prefix, kind, seps[s], idx,
                             exts[e]);
            struct stat st;
            if (k > 0 && (size_t)k < sizeof name && !cx_path_join_buf(path, len, dir, name) &&
                stat(path, &st) == 0 && S_ISREG(st.st_mode))
                return 1;
        }
    return 0;
}

static int find_pair(const char *dir, const char *prefix, char *images, char *labels, size_t len)
{
    return find_idx_file(dir, prefix, "images", "idx3", images, len) &&
           find_idx_file(dir, prefix, "labels", "idx1", labels, len);
}

int cx_mnist_dir_detect(const char *dir)
{
    char a[4096], b[4096];
    return dir && find_pair(dir, "train", a, b, sizeof a) && find_pair(dir, "t10k", a, b, sizeof a);
}

/* Whether the folder's own name (last path component) contains "fashion". */
static int named_fashion(const char *dir)
{
    size_t end = strlen(dir);
    while (end > 1 && dir[end - 1] == '/')
        end--;
    size_t start = end;
    while (start > 0 && dir[start - 1] != '/')
        start--;
    static const char key[] = "fashion";
    for (size_t i = start; i + sizeof key - 1 <= end; i++) {
        size_t k = 0;
        while (k < sizeof key - 1 && tolower((unsigned char)dir[i + k]) == key[k])
            k++;
        if (k == sizeof key - 1) return 1;
    }
    return 0;
}

static cx_status load_part(cx_dataset **out, const char *dir, const char *prefix,
                           const char *const *names, cx_error *err)
{
    char images[4096], labels[4096];
    if (!find_pair(dir, prefix, images, labels, sizeof images))
        return cx_fail(err, CX_ERR_IO,
                       "%s: no %s-images-idx3-ubyte[.gz] and %s-labels-idx1-ubyte[.gz]", dir,
                       prefix, prefix);
    return cx_dataset_load_idx(out, images, labels, 10, names, err);
}

/* Appends b's items to a (same shape and classes). */
static cx_status append(cx_dataset *a, const cx_dataset *b, cx_error *err)
{
    if (a->h != b->h || a->w != b->w)
        return cx_fail(err, CX_ERR_FORMAT, "%s: images are %dx%d, but %s has %dx%d", b->source,
                       b->h, b->w, a->source, a->h, a->w);
    size_t item = (size_t)a->c * a->h * a->w, n = (size_t)a->n + b->n;
    if (n > CX_IDX_MAX_ITEMS) return cx_fail(err, CX_ERR_FORMAT, "%s: too many items", b->source);
    uint8_t *px = realloc(a->pixels, item * n);
    if (!px) return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory", b->source);
    a->pixels = px;
    int *lab = realloc(a->labels, sizeof(int) * n);
    if (!lab) return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory", b->source);
    a->labels = lab;
    memcpy(a->pixels + item * a->n, b->pixels, item * b->n);
    memcpy(a->labels + a->n, b->labels, sizeof(int) * b->n);
    a->n = (int)n;
    return CX_OK;
}

cx_status cx_dataset_load_mnist_dir(cx_dataset **out, const char *dir, cx_split split,
                                    cx_mnist_kind kind, cx_error *err)
{
    *out = NULL;
    if (!dir) return cx_fail(err, CX_ERR_ARG, "MNIST: NULL folder");
    int fashion = kind == CX_MNIST_FASHION || (kind == CX_MNIST_AUTO && named_fashion(dir));
    const char *const *names = fashion ? cx_fashion_mnist_classes : NULL;
    cx_dataset *ds = NULL, *test = NULL;
    cx_status st;
    if (split == CX_SPLIT_TRAIN) return load_part(out, dir, "train", names, err);
    if (split == CX_SPLIT_VAL || split == CX_SPLIT_TEST)
        return load_part(out, dir, "t10k", names, err);
    st = load_part(&ds, dir, "train", names, err);
    if (!st) st = load_part(&test, dir, "t10k", names, err);
    if (!st) st = append(ds, test, err);
    if (!st) {
        free(ds->source);
        ds->source = cx_strdup(dir);
        if (!ds->source) st = cx_fail(err, CX_ERR_NOMEM, "%s: out of memory", dir);
    }
    cx_dataset_free(test);
    if (st) {
        cx_dataset_free(ds);
        return st;
    }
    *out = ds;
    return CX_OK;
}
