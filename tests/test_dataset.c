/* Datasets: folder layouts (flat, split, nested, hostile contents), the
 * hashed held-out split, IDX files (round trip, corrupt, gzip), the real
 * Fashion-MNIST test set when installed, normalization, batches and
 * augmentation. Every file is generated here in a temporary folder. */
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <stb/stb_image_write.h>

#include "testutil.h"

static char tmpdir[256];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static void tmp_setup(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cx_test_dataset_XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        exit(1);
    }
}

static void tmp_cleanup(void)
{
    nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Creates TMP/rel (and its parent folders); returns the full path in buf. */
static const char *mkpath(char *buf, const char *rel)
{
    snprintf(buf, 512, "%s/%s", tmpdir, rel);
    for (char *p = buf + strlen(tmpdir) + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(buf, 0700);
            *p = '/';
        }
    return buf;
}

static void mkdir_rel(const char *rel)
{
    char buf[512];
    mkpath(buf, rel);
    mkdir(buf, 0700);
}

static void write_bytes(const char *rel, const void *data, size_t len)
{
    char path[512];
    FILE *f = fopen(mkpath(path, rel), "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    if (len) fwrite(data, 1, len, f);
    fclose(f);
}

/* A solid image of gray value v, written in the format of rel's extension
 * with comp channels (gray values replicated into colour channels, alpha
 * opaque). */
static void write_solid(const char *rel, int w, int h, int comp, uint8_t v)
{
    char path[512];
    mkpath(path, rel);
    uint8_t *px = malloc((size_t)w * h * comp);
    for (int i = 0; i < w * h * comp; i++)
        px[i] = (comp == 2 || comp == 4) && i % comp == comp - 1 ? 255 : v;
    const char *ext = strrchr(rel, '.') + 1;
    int ok = 0;
    if (!strcmp(ext, "png") || !strcmp(ext, "PNG"))
        ok = stbi_write_png(path, w, h, comp, px, w * comp);
    else if (!strcmp(ext, "bmp"))
        ok = stbi_write_bmp(path, w, h, comp, px);
    else if (!strcmp(ext, "tga"))
        ok = stbi_write_tga(path, w, h, comp, px);
    else if (!strcmp(ext, "jpg"))
        ok = stbi_write_jpg(path, w, h, comp, px, 100);
    else if (!strcmp(ext, "pgm") || !strcmp(ext, "ppm")) {
        FILE *f = fopen(path, "wb");
        int c = ext[1] == 'g' ? 1 : 3;
        fprintf(f, "P%d\n%d %d\n255\n", c == 1 ? 5 : 6, w, h);
        for (int i = 0; i < w * h * c; i++)
            fputc(v, f);
        fclose(f);
        ok = 1;
    }
    free(px);
    CU_ASSERT_FATAL(ok);
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8),
    p[3] = (uint8_t)v;
}

/* A PNG signature and IHDR declaring 100000 x 100000. */
static void write_bomb(const char *rel)
{
    uint8_t f[33] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    put_be32(f + 8, 13);
    memcpy(f + 12, "IHDR", 4);
    put_be32(f + 16, 100000);
    put_be32(f + 20, 100000);
    f[24] = 8, f[25] = 2;
    put_be32(f + 29, (uint32_t)crc32(0, f + 12, 17));
    write_bytes(rel, f, sizeof f);
}

static int has_warning(const cx_dataset *ds, const char *a, const char *b)
{
    for (int i = 0; i < ds->nwarnings; i++)
        if (strstr(ds->warnings[i], a) && (!b || strstr(ds->warnings[i], b))) return 1;
    return 0;
}

static void print_warnings(const cx_dataset *ds)
{
    for (int i = 0; i < ds->nwarnings; i++)
        fprintf(stderr, "    warning: %s\n", ds->warnings[i]);
}

static cx_status load(cx_dataset **ds, const char *rel, cx_split split, float frac, int c, int hw,
                      cx_error *err)
{
    char root[512];
    snprintf(root, sizeof root, "%s/%s", tmpdir, rel);
    cx_folder_opts o;
    cx_folder_opts_init(&o, c, hw, hw);
    o.split = split;
    o.val_fraction = frac;
    return cx_dataset_load_folder(ds, root, &o, err);
}

/* Gray value of every item of the "mixed" tree: images encode their
 * identity so we can check that pixels, labels and paths agree. */
static const struct {
    const char *rel;
    int w, h, comp;
    uint8_t v;
} mixed[] = {
    {"mixed/apple/1.png", 10, 8, 3, 10},
    {"mixed/apple/2.jpg", 20, 20, 1, 40},
    {"mixed/apple/3.bmp", 5, 9, 3, 70},
    {"mixed/apple/4.tga", 16, 16, 4, 100},
    {"mixed/apple/deep/er/5.pgm", 3, 3, 1, 130},
    {"mixed/apple/pear_like.png", 4, 4, 2, 160}, /* a path mentioning another class */
    {"mixed/pear/a.PNG", 30, 2, 1, 190},
    {"mixed/pear/b.ppm", 7, 7, 3, 220},
    {"mixed/pear/c.png", 64, 64, 4, 250},
};

static void build_mixed(void)
{
    for (size_t i = 0; i < sizeof mixed / sizeof mixed[0]; i++)
        write_solid(mixed[i].rel, mixed[i].w, mixed[i].h, mixed[i].comp, mixed[i].v);
    mkdir_rel("mixed/empty_class");
    write_solid("mixed/.hidden_class/x.png", 4, 4, 1, 1);
    write_solid("mixed/apple/.hidden.png", 4, 4, 1, 1);
    write_bytes("mixed/apple/notes.txt", "not an image", 12);
    write_bytes("mixed/pear/broken.png", "\x89PNG\r\n\x1a\n garbage", 17);
    write_bytes("mixed/pear/zero.jpg", "", 0);
    write_bomb("mixed/pear/bomb.png");
    write_solid("mixed/stray.png", 4, 4, 1, 1);
    mkdir_rel("mixed/pear/folder.png"); /* a folder named like an image: just a folder */
    char fifo[512];
    CU_ASSERT_EQUAL(mkfifo(mkpath(fifo, "mixed/pear/pipe.png"), 0600), 0);
    char link[512];
    CU_ASSERT_EQUAL(symlink("../..", mkpath(link, "mixed/apple/deep/loop")), 0); /* the root */
    CU_ASSERT_EQUAL(symlink("..", mkpath(link, "mixed/pear/loop")), 0);          /* the class */
}

static void test_folder_mixed(void)
{
    build_mixed();
    cx_dataset *ds;
    cx_error err;
    CU_ASSERT_EQUAL_FATAL(load(&ds, "mixed", CX_SPLIT_ALL, 0.1f, 3, 6, &err), CX_OK);
    if (ds->n != 9 || ds->total_warnings != 9) print_warnings(ds);
    CU_ASSERT_EQUAL(ds->n, 9);
    CU_ASSERT_EQUAL(ds->nclasses, 2);
    CU_ASSERT_STRING_EQUAL(ds->class_names[0], "apple");
    CU_ASSERT_STRING_EQUAL(ds->class_names[1], "pear");
    CU_ASSERT(ds->c == 3 && ds->h == 6 && ds->w == 6);
    CU_ASSERT_EQUAL(ds->skipped_unknown, 2);
    CU_ASSERT(has_warning(ds, "pipe.png", "not a regular file"));
    CU_ASSERT_EQUAL(ds->skipped_corrupt, 2);
    CU_ASSERT_EQUAL(ds->skipped_too_large, 1);
    CU_ASSERT(has_warning(ds, "notes.txt", "not an image"));
    CU_ASSERT(has_warning(ds, "broken.png", NULL));
    CU_ASSERT(has_warning(ds, "zero.jpg", "empty"));
    CU_ASSERT(has_warning(ds, "bomb.png", "100000x100000 is too large (decompression bomb?)"));
    CU_ASSERT(has_warning(ds, "empty_class", "no image files"));
    CU_ASSERT(has_warning(ds, "stray.png", "not inside a class folder"));
    CU_ASSERT(has_warning(ds, "apple/deep/loop:", "folder loop"));
    CU_ASSERT(has_warning(ds, "pear/loop:", "folder loop"));
    CU_ASSERT(!has_warning(ds, "hidden", NULL));
    CU_ASSERT_EQUAL(ds->total_warnings, ds->nwarnings);
    /* Items in path order; pixels, labels and paths agree. */
    for (int i = 0; i < ds->n; i++) {
        if (i) CU_ASSERT(strcmp(ds->paths[i - 1], ds->paths[i]) < 0);
        size_t k = 0;
        while (k < sizeof mixed / sizeof mixed[0] && !strstr(ds->paths[i], mixed[k].rel))
            k++;
        CU_ASSERT_FATAL(k < sizeof mixed / sizeof mixed[0]);
        CU_ASSERT_EQUAL(ds->labels[i], strstr(mixed[k].rel, "/apple/") ? 0 : 1);
        int bad = 0;
        for (int p = 0; p < 3 * 36; p++)
            bad += abs(ds->pixels[(size_t)i * 108 + p] - mixed[k].v) > 2;
        CU_ASSERT_EQUAL(bad, 0);
        char name[512];
        CU_ASSERT_STRING_EQUAL(cx_dataset_item_name(ds, i, name, sizeof name), ds->paths[i]);
    }
    int counts[2];
    cx_dataset_class_counts(ds, counts);
    CU_ASSERT(counts[0] == 6 && counts[1] == 3);
    cx_dataset_free(ds);

    /* One channel works the same way. */
    CU_ASSERT_EQUAL_FATAL(load(&ds, "mixed", CX_SPLIT_ALL, 0.1f, 1, 4, &err), CX_OK);
    CU_ASSERT_EQUAL(ds->n, 9);
    CU_ASSERT_EQUAL(ds->c, 1);
    cx_dataset_free(ds);
}

static void test_folder_presplit(void)
{
    write_solid("split/train/cat/1.png", 4, 4, 3, 10);
    write_solid("split/train/cat/2.png", 4, 4, 3, 11);
    write_solid("split/train/dog/1.png", 4, 4, 3, 20);
    write_solid("split/test/cat/9.png", 4, 4, 3, 12);
    write_solid("split/test/eel/9.png", 4, 4, 3, 30); /* a class only in test */
    write_solid("split/test/dog/x/9.png", 4, 4, 3, 21);
    write_bytes("split/README.md", "hello", 5);
    cx_dataset *tr, *te, *va, *all;
    cx_error err;
    CU_ASSERT_EQUAL_FATAL(load(&tr, "split", CX_SPLIT_TRAIN, 0.5f, 3, 4, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(load(&te, "split", CX_SPLIT_TEST, 0.5f, 3, 4, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(load(&va, "split", CX_SPLIT_VAL, 0.5f, 3, 4, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(load(&all, "split", CX_SPLIT_ALL, 0.5f, 3, 4, &err), CX_OK);
    CU_ASSERT(tr->presplit && te->presplit);
    CU_ASSERT_EQUAL(tr->n, 3);
    CU_ASSERT_EQUAL(te->n, 3);
    CU_ASSERT_EQUAL(va->n, 3); /* no val/: falls back to test/ */
    CU_ASSERT_EQUAL(all->n, 6);
    const char *want[3] = {"cat", "dog", "eel"};
    for (int k = 0; k < 3; k++) {
        CU_ASSERT_EQUAL_FATAL(tr->nclasses, 3);
        CU_ASSERT_EQUAL_FATAL(te->nclasses, 3);
        CU_ASSERT_STRING_EQUAL(tr->class_names[k], want[k]);
        CU_ASSERT_STRING_EQUAL(te->class_names[k], want[k]);
    }
    /* test/ sorted: cat/9, dog/x/9, eel/9 */
    CU_ASSERT(te->labels[0] == 0 && te->labels[1] == 1 && te->labels[2] == 2);
    CU_ASSERT(te->pixels[0] == 12 && te->pixels[48] == 21 && te->pixels[96] == 30);
    CU_ASSERT(tr->labels[0] == 0 && tr->labels[1] == 0 && tr->labels[2] == 1);
    CU_ASSERT(has_warning(tr, "README.md", "ignored"));
    cx_dataset_free(tr);
    cx_dataset_free(te);
    cx_dataset_free(va);
    cx_dataset_free(all);
}

/* The held-out split: deterministic, disjoint, complementary, about the
 * requested fraction, and dependent on the seed. */
static void test_hash_split(void)
{
    enum { N = 400 };
    uint8_t px[4] = {1, 2, 3, 4};
    for (int i = 0; i < N; i++) {
        char rel[128], path[512];
        snprintf(rel, sizeof rel, "hashed/%s/img%03d.png", i % 2 ? "odd" : "even", i);
        CU_ASSERT_FATAL(stbi_write_png(mkpath(path, rel), 2, 2, 1, px, 2));
    }
    cx_dataset *tr, *va, *tr2, *va2, *all;
    cx_error err;
    CU_ASSERT_EQUAL_FATAL(load(&tr, "hashed", CX_SPLIT_TRAIN, 0.2f, 1, 2, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(load(&va, "hashed", CX_SPLIT_VAL, 0.2f, 1, 2, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(load(&tr2, "hashed", CX_SPLIT_TRAIN, 0.2f, 1, 2, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(load(&va2, "hashed", CX_SPLIT_TEST, 0.2f, 1, 2, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(load(&all, "hashed", CX_SPLIT_ALL, 0.2f, 1, 2, &err), CX_OK);
    CU_ASSERT(!tr->presplit);
    CU_ASSERT_EQUAL(all->n, N);
    CU_ASSERT_EQUAL(tr->n + va->n, N);
    CU_ASSERT(va->n > N * 0.2 - 30 && va->n < N * 0.2 + 30);
    CU_ASSERT_EQUAL_FATAL(tr->n, tr2->n);
    CU_ASSERT_EQUAL_FATAL(va->n, va2->n);
    for (int i = 0; i < tr->n; i++)
        CU_ASSERT_STRING_EQUAL(tr->paths[i], tr2->paths[i]);
    for (int i = 0; i < va->n; i++) {
        CU_ASSERT_STRING_EQUAL(va->paths[i], va2->paths[i]);
        for (int j = 0; j < tr->n; j++)
            CU_ASSERT(strcmp(va->paths[i], tr->paths[j]) != 0);
    }
    /* A different seed gives a different split. */
    char root[512];
    snprintf(root, sizeof root, "%s/hashed", tmpdir);
    cx_folder_opts o;
    cx_folder_opts_init(&o, 1, 2, 2);
    o.split = CX_SPLIT_VAL;
    o.val_fraction = 0.2f;
    o.split_seed = 12345;
    cx_dataset *vs;
    CU_ASSERT_EQUAL_FATAL(cx_dataset_load_folder(&vs, root, &o, &err), CX_OK);
    int same = vs->n == va->n;
    for (int i = 0; same && i < vs->n; i++)
        same = !strcmp(vs->paths[i], va->paths[i]);
    CU_ASSERT(!same);
    /* Fraction 0 holds nothing out; fraction 1 keeps nothing for training. */
    cx_dataset *none;
    CU_ASSERT_EQUAL(load(&none, "hashed", CX_SPLIT_VAL, 0.0f, 1, 2, &err), CX_ERR_FORMAT);
    CU_ASSERT_PTR_NULL(none);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "no readable images"));
    CU_ASSERT_EQUAL(load(&none, "hashed", CX_SPLIT_TRAIN, 1.0f, 1, 2, &err), CX_ERR_FORMAT);
    CU_ASSERT_EQUAL(load(&none, "hashed", CX_SPLIT_TRAIN, 1.5f, 1, 2, &err), CX_ERR_ARG);
    cx_dataset_free(tr);
    cx_dataset_free(va);
    cx_dataset_free(tr2);
    cx_dataset_free(va2);
    cx_dataset_free(all);
    cx_dataset_free(vs);
}

static void expect_folder_error(const char *rel, cx_status want, const char *text)
{
    cx_dataset *ds = (cx_dataset *)1;
    cx_error err = {{0}};
    cx_status st = load(&ds, rel, CX_SPLIT_ALL, 0.1f, 3, 8, &err);
    CU_ASSERT_EQUAL(st, want);
    CU_ASSERT_PTR_NULL(ds);
    if (!strstr(err.msg, text)) fprintf(stderr, "  expected '%s' in: %s\n", text, err.msg);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, text));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, rel));
}

static void test_folder_errors(void)
{
    expect_folder_error("does_not_exist", CX_ERR_IO, "cannot open");
    write_bytes("plainfile", "x", 1);
    expect_folder_error("plainfile", CX_ERR_IO, "not a folder");
    mkdir_rel("emptyroot");
    expect_folder_error("emptyroot", CX_ERR_FORMAT, "no class folders");
    write_solid("onlyfiles/a.png", 4, 4, 1, 1);
    expect_folder_error("onlyfiles", CX_ERR_FORMAT, "no class folders");
    write_solid("oneclass/cats/a.png", 4, 4, 1, 1);
    write_solid("oneclass/cats/b.png", 4, 4, 1, 1);
    mkdir_rel("oneclass/dogs");
    expect_folder_error("oneclass", CX_ERR_FORMAT, "needs at least 2 classes");
    mkdir_rel("emptyclasses/a");
    mkdir_rel("emptyclasses/b");
    write_bytes("emptyclasses/b/readme.txt", "x", 1);
    expect_folder_error("emptyclasses", CX_ERR_FORMAT, "no image files");
    write_bytes("allbad/a/1.png", "junk", 4);
    write_bytes("allbad/b/1.jpg", "junk", 4);
    expect_folder_error("allbad", CX_ERR_FORMAT, "no readable images");

    cx_folder_opts o;
    cx_folder_opts_init(&o, 2, 8, 8);
    cx_dataset *ds;
    cx_error err;
    char root[512];
    snprintf(root, sizeof root, "%s/split", tmpdir);
    CU_ASSERT_EQUAL(cx_dataset_load_folder(&ds, root, &o, &err), CX_ERR_ARG);
    cx_folder_opts_init(&o, 3, 0, 8);
    CU_ASSERT_EQUAL(cx_dataset_load_folder(&ds, root, &o, &err), CX_ERR_ARG);
}

static int stop_after_two(void *user, int done, int total)
{
    (void)total;
    *(int *)user = done;
    return done >= 2;
}

/* Many bad files: warnings are capped, every one is counted; a progress
 * callback can stop the load. */
static void test_warning_cap_and_progress(void)
{
    write_solid("many/a/ok.png", 4, 4, 1, 1);
    write_solid("many/b/ok.png", 4, 4, 1, 1);
    for (int i = 0; i < CX_DATASET_MAX_WARNINGS + 20; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "many/a/bad%03d.png", i);
        write_bytes(rel, "", 0);
    }
    cx_dataset *ds;
    cx_error err;
    CU_ASSERT_EQUAL_FATAL(load(&ds, "many", CX_SPLIT_ALL, 0.1f, 1, 4, &err), CX_OK);
    CU_ASSERT_EQUAL(ds->n, 2);
    CU_ASSERT_EQUAL(ds->nwarnings, CX_DATASET_MAX_WARNINGS);
    CU_ASSERT_EQUAL(ds->total_warnings, CX_DATASET_MAX_WARNINGS + 20);
    CU_ASSERT_EQUAL(ds->skipped_corrupt, CX_DATASET_MAX_WARNINGS + 20);
    cx_dataset_free(ds);

    char root[512];
    snprintf(root, sizeof root, "%s/mixed", tmpdir);
    cx_folder_opts o;
    cx_folder_opts_init(&o, 3, 4, 4);
    int seen = 0;
    o.progress = stop_after_two;
    o.user = &seen;
    CU_ASSERT_EQUAL(cx_dataset_load_folder(&ds, root, &o, &err), CX_ERR_INTERRUPTED);
    CU_ASSERT_EQUAL(seen, 2);
}

/* ---- IDX -------------------------------------------------------------------- */

static size_t make_idx(uint8_t *buf, int images, int n, int rows, int cols, const uint8_t *data)
{
    size_t k = 0;
    put_be32(buf, images ? 0x803 : 0x801);
    put_be32(buf + 4, (uint32_t)n);
    k = 8;
    if (images) {
        put_be32(buf + 8, (uint32_t)rows);
        put_be32(buf + 12, (uint32_t)cols);
        k = 16;
    }
    size_t len = (size_t)n * (images ? rows * cols : 1);
    memcpy(buf + k, data, len);
    return k + len;
}

static void write_gz(const char *rel, const void *data, size_t len)
{
    char path[512];
    gzFile f = gzopen(mkpath(path, rel), "wb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_EQUAL(gzwrite(f, data, (unsigned)len), (int)len);
    gzclose(f);
}

static void expect_idx_error(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, rel);
    uint8_t *px = (uint8_t *)1;
    int n, r, c;
    cx_error err = {{0}};
    cx_status st = cx_idx_load_images(path, &px, &n, &r, &c, &err);
    CU_ASSERT_NOT_EQUAL(st, CX_OK);
    if (!st) fprintf(stderr, "  %s: loaded, expected an error\n", rel);
    CU_ASSERT_PTR_NULL(px);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
    if (text && !strstr(err.msg, text)) fprintf(stderr, "  expected '%s' in: %s\n", text, err.msg);
    if (text) CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, text));
}

static void test_idx_round_trip(void)
{
    enum { N = 5, R = 4, C = 3 };
    uint8_t px[N * R * C], lab[N] = {3, 0, 9, 1, 3}, buf[256], lbuf[64];
    for (int i = 0; i < N * R * C; i++)
        px[i] = (uint8_t)(i * 3);
    size_t ilen = make_idx(buf, 1, N, R, C, px), llen = make_idx(lbuf, 0, N, 0, 0, lab);
    write_bytes("idx/plain-images", buf, ilen);
    write_bytes("idx/plain-labels", lbuf, llen);
    write_gz("idx/gz-images.gz", buf, ilen);
    write_gz("idx/gz-labels.gz", lbuf, llen);
    const char *kinds[2] = {"plain", "gz"}, *sfx[2] = {"", ".gz"};
    for (int k = 0; k < 2; k++) {
        char ip[512], lp[512];
        snprintf(ip, sizeof ip, "%s/idx/%s-images%s", tmpdir, kinds[k], sfx[k]);
        snprintf(lp, sizeof lp, "%s/idx/%s-labels%s", tmpdir, kinds[k], sfx[k]);
        cx_dataset *ds;
        cx_error err;
        CU_ASSERT_EQUAL_FATAL(cx_dataset_load_idx(&ds, ip, lp, 0, NULL, &err), CX_OK);
        CU_ASSERT(ds->n == N && ds->c == 1 && ds->h == R && ds->w == C);
        CU_ASSERT_EQUAL(memcmp(ds->pixels, px, sizeof px), 0);
        for (int i = 0; i < N; i++)
            CU_ASSERT_EQUAL(ds->labels[i], lab[i]);
        CU_ASSERT_EQUAL(ds->nclasses, 10);
        CU_ASSERT_STRING_EQUAL(ds->class_names[9], "9");
        char name[600];
        cx_dataset_item_name(ds, 2, name, sizeof name);
        CU_ASSERT_PTR_NOT_NULL(strstr(name, "item 2"));
        cx_dataset_free(ds);
        /* Too few class names for the labels. */
        static const char *const names[4] = {"a", "b", "c", "d"};
        CU_ASSERT_EQUAL(cx_dataset_load_idx(&ds, ip, lp, 4, names, &err), CX_ERR_FORMAT);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "item 2 has label 9"));
        /* Images and labels swapped. */
        CU_ASSERT_EQUAL(cx_dataset_load_idx(&ds, lp, ip, 0, NULL, &err), CX_ERR_FORMAT);
        CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "dimensions"));
    }
    /* Count mismatch between the two files. */
    llen = make_idx(lbuf, 0, N - 1, 0, 0, lab);
    write_bytes("idx/short-labels", lbuf, llen);
    char ip[512], lp[512];
    snprintf(ip, sizeof ip, "%s/idx/plain-images", tmpdir);
    snprintf(lp, sizeof lp, "%s/idx/short-labels", tmpdir);
    cx_dataset *ds;
    cx_error err;
    CU_ASSERT_EQUAL(cx_dataset_load_idx(&ds, ip, lp, 0, NULL, &err), CX_ERR_FORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "4 labels"));
}

static void test_idx_corrupt(void)
{
    enum { N = 6, R = 5, C = 4 };
    uint8_t px[N * R * C], buf[256];
    for (int i = 0; i < N * R * C; i++)
        px[i] = (uint8_t)i;
    size_t len = make_idx(buf, 1, N, R, C, px);
    /* Every truncation, plain and gzip. */
    for (size_t n = 0; n < len; n++) {
        write_bytes("bad/cut", buf, n);
        expect_idx_error("bad/cut", n == 0   ? "empty"
                                    : n < 16 ? "truncated IDX header"
                                             : "truncated");
        write_gz("bad/cut.gz", buf, n);
        expect_idx_error("bad/cut.gz", NULL);
    }
    /* A gzip stream cut short, and one with corrupted bytes. */
    write_gz("bad/full.gz", buf, len);
    char path[512];
    snprintf(path, sizeof path, "%s/bad/full.gz", tmpdir);
    FILE *f = fopen(path, "rb");
    uint8_t gz[512];
    size_t glen = fread(gz, 1, sizeof gz, f);
    fclose(f);
    for (size_t n = 1; n < glen; n++) {
        write_bytes("bad/gzcut.gz", gz, n);
        expect_idx_error("bad/gzcut.gz", NULL);
    }
    for (size_t k = 10; k < glen; k++) {
        uint8_t keep = gz[k];
        gz[k] ^= 0x20;
        write_bytes("bad/gzflip.gz", gz, glen);
        /* A flipped padding bit after the last deflate block changes
         * nothing; anything else must be caught (CRC, length, syntax). */
        uint8_t *got = NULL;
        int n, r, c;
        cx_error err;
        snprintf(path, sizeof path, "%s/bad/gzflip.gz", tmpdir);
        if (cx_idx_load_images(path, &got, &n, &r, &c, &err) == CX_OK) {
            CU_ASSERT(n == N && r == R && c == C && !memcmp(got, px, sizeof px));
            free(got);
        } else {
            CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, path));
        }
        gz[k] = keep;
    }
    /* Trailing data, bad magic, zero and absurd dimensions. */
    buf[len] = 7;
    write_bytes("bad/trailing", buf, len + 1);
    expect_idx_error("bad/trailing", "trailing data");
    uint8_t hdr[16];
    memcpy(hdr, buf, 16);
    hdr[2] = 0x0d; /* float data */
    write_bytes("bad/magic", hdr, 16);
    expect_idx_error("bad/magic", "bad magic");
    memcpy(hdr, buf, 16);
    put_be32(hdr + 8, 0);
    write_bytes("bad/zero", hdr, 16);
    expect_idx_error("bad/zero", "rows 0 out of range");
    put_be32(hdr + 8, 100000);
    write_bytes("bad/wide", hdr, 16);
    expect_idx_error("bad/wide", "rows 100000 out of range");
    put_be32(hdr + 4, 0x7fffffff);
    put_be32(hdr + 8, 28);
    write_bytes("bad/count", hdr, 16);
    expect_idx_error("bad/count", "item count");
    put_be32(hdr + 4, 10000000); /* plausible count, no data: no huge allocation */
    write_bytes("bad/lying", hdr, 16);
    expect_idx_error("bad/lying", "truncated");
    mkdir_rel("bad/dir");
    expect_idx_error("bad/dir", "not a regular file");
    expect_idx_error("bad/missing", "cannot open");
    /* Random bytes. */
    cx_rng rng;
    cx_rng_seed(&rng, 4);
    for (int t = 0; t < 50; t++) {
        uint8_t r[300];
        size_t n = 1 + cx_rng_below(&rng, sizeof r);
        for (size_t i = 0; i < n; i++)
            r[i] = (uint8_t)cx_rng_u32(&rng);
        write_bytes("bad/random", r, n);
        expect_idx_error("bad/random", NULL);
    }
}

/* The installed Debian Fashion-MNIST, if present. */
static void test_fashion_mnist(void)
{
    const char *dir = "/usr/share/datasets/fashion-mnist";
    if (!cx_mnist_dir_detect(dir)) {
        fprintf(stderr, "  (skipped: %s not installed)\n", dir);
        return;
    }
    cx_dataset *ds;
    cx_error err;
    CU_ASSERT_EQUAL_FATAL(cx_dataset_load_mnist_dir(&ds, dir, CX_SPLIT_TEST, CX_MNIST_AUTO, &err),
                          CX_OK);
    CU_ASSERT(ds->n == 10000 && ds->c == 1 && ds->h == 28 && ds->w == 28);
    CU_ASSERT_EQUAL_FATAL(ds->nclasses, 10);
    CU_ASSERT_STRING_EQUAL(ds->class_names[0], "T-shirt/top");
    CU_ASSERT_STRING_EQUAL(ds->class_names[9], "Ankle boot");
    int counts[10];
    cx_dataset_class_counts(ds, counts);
    for (int k = 0; k < 10; k++)
        CU_ASSERT_EQUAL(counts[k], 1000);
    float mean, std;
    CU_ASSERT_EQUAL(cx_dataset_mean_std(ds, &mean, &std, &err), CX_OK);
    fprintf(stderr, "  fashion-mnist test: mean %.4f std %.4f\n", mean, std);
    CU_ASSERT(mean > 0.27f && mean < 0.30f && std > 0.34f && std < 0.37f);
    cx_dataset_free(ds);
    CU_ASSERT_EQUAL(cx_dataset_load_mnist_dir(&ds, dir, CX_SPLIT_TEST, CX_MNIST_DIGITS, &err),
                    CX_OK);
    CU_ASSERT_STRING_EQUAL(ds->class_names[3], "3");
    cx_dataset_free(ds);
    if (getenv("CX_SANITIZED")) return;
    CU_ASSERT_EQUAL_FATAL(cx_dataset_load_mnist_dir(&ds, dir, CX_SPLIT_ALL, CX_MNIST_AUTO, &err),
                          CX_OK);
    CU_ASSERT_EQUAL(ds->n, 70000);
    cx_dataset_free(ds);
}

static void test_mnist_dir_layout(void)
{
    uint8_t px[2 * 2 * 2] = {0, 1, 2, 3, 4, 5, 6, 7}, lab[2] = {1, 2}, buf[64], lbuf[16];
    size_t ilen = make_idx(buf, 1, 2, 2, 2, px), llen = make_idx(lbuf, 0, 2, 0, 0, lab);
    write_gz("My-Fashion/train-images-idx3-ubyte.gz", buf, ilen);
    write_bytes("My-Fashion/train-labels.idx1-ubyte", lbuf, llen);
    write_bytes("My-Fashion/t10k-images-idx3-ubyte", buf, ilen);
    write_gz("My-Fashion/t10k-labels-idx1-ubyte.gz", lbuf, llen);
    char dir[512];
    snprintf(dir, sizeof dir, "%s/My-Fashion/", tmpdir);
    CU_ASSERT(cx_mnist_dir_detect(dir));
    cx_dataset *ds;
    cx_error err;
    CU_ASSERT_EQUAL_FATAL(cx_dataset_load_mnist_dir(&ds, dir, CX_SPLIT_ALL, CX_MNIST_AUTO, &err),
                          CX_OK);
    CU_ASSERT_EQUAL(ds->n, 4);
    CU_ASSERT_STRING_EQUAL(ds->class_names[1], "Trouser");
    CU_ASSERT(ds->labels[2] == 1 && ds->labels[3] == 2 && ds->pixels[15] == 7);
    cx_dataset_free(ds);
    snprintf(dir, sizeof dir, "%s/mixed", tmpdir);
    CU_ASSERT(!cx_mnist_dir_detect(dir));
    CU_ASSERT_EQUAL(cx_dataset_load_mnist_dir(&ds, dir, CX_SPLIT_TRAIN, CX_MNIST_AUTO, &err),
                    CX_ERR_IO);
}

/* ---- normalization and batches ------------------------------------------------ */

static void test_mean_std_batch_subset(void)
{
    write_solid("stats/a/1.png", 2, 2, 3, 0);
    write_solid("stats/b/2.png", 2, 2, 3, 255);
    cx_dataset *ds, *sub;
    cx_error err;
    CU_ASSERT_EQUAL_FATAL(load(&ds, "stats", CX_SPLIT_ALL, 0.1f, 3, 2, &err), CX_OK);
    float mean[3], std[3];
    CU_ASSERT_EQUAL(cx_dataset_mean_std(ds, mean, std, &err), CX_OK);
    for (int c = 0; c < 3; c++) {
        CU_ASSERT_DOUBLE_EQUAL(mean[c], 0.5, 1e-6);
        CU_ASSERT_DOUBLE_EQUAL(std[c], 0.5, 1e-6);
    }
    float x[2 * 12];
    int y[2], idx[2] = {1, 0};
    CU_ASSERT_EQUAL(cx_dataset_get_batch(ds, idx, 2, mean, std, x, y, &err), CX_OK);
    CU_ASSERT(y[0] == 1 && y[1] == 0);
    for (int i = 0; i < 12; i++) {
        CU_ASSERT_DOUBLE_EQUAL(x[i], 1.0, 1e-5);
        CU_ASSERT_DOUBLE_EQUAL(x[12 + i], -1.0, 1e-5);
    }
    CU_ASSERT_EQUAL(cx_dataset_get_batch(ds, idx, 2, NULL, NULL, x, NULL, &err), CX_OK);
    CU_ASSERT_DOUBLE_EQUAL(x[0], 1.0, 1e-6);
    idx[1] = 2;
    CU_ASSERT_EQUAL(cx_dataset_get_batch(ds, idx, 2, mean, std, x, y, &err), CX_ERR_ARG);
    float zero[3] = {0, 0, 0};
    idx[1] = 0;
    CU_ASSERT_EQUAL(cx_dataset_get_batch(ds, idx, 2, mean, zero, x, y, &err), CX_ERR_ARG);

    int pick[3] = {1, 1, 0};
    CU_ASSERT_EQUAL_FATAL(cx_dataset_subset(&sub, ds, pick, 3, &err), CX_OK);
    CU_ASSERT(sub->n == 3 && sub->labels[0] == 1 && sub->labels[2] == 0);
    CU_ASSERT(sub->pixels[0] == 255 && sub->pixels[24] == 0);
    CU_ASSERT_STRING_EQUAL(sub->paths[1], ds->paths[1]);
    CU_ASSERT_STRING_EQUAL(sub->class_names[1], "b");
    cx_dataset_free(sub);
    pick[0] = -1;
    CU_ASSERT_EQUAL(cx_dataset_subset(&sub, ds, pick, 3, &err), CX_ERR_ARG);
    CU_ASSERT_PTR_NULL(sub);
    /* A constant channel gets std 1. */
    memset(ds->pixels, 7, 24);
    CU_ASSERT_EQUAL(cx_dataset_mean_std(ds, mean, std, &err), CX_OK);
    CU_ASSERT_DOUBLE_EQUAL(std[0], 1.0, 0);
    cx_dataset_free(ds);
}

/* ---- augmentation ------------------------------------------------------------- */

enum { AC = 3, AH = 11, AW = 14, AN = AC * AH * AW };

static void fill_image(float *x, uint64_t seed)
{
    cx_rng rng;
    cx_rng_seed(&rng, seed);
    for (int i = 0; i < AN; i++)
        x[i] = 0.5f + cx_rng_uniform(&rng); /* never 0 */
}

static void test_flip_and_shift(void)
{
    float a[AN], b[AN], ref[AN];
    fill_image(a, 1);
    memcpy(b, a, sizeof a);
    cx_image_flip_h(b, AC, AH, AW);
    CU_ASSERT_EQUAL(b[AW - 1], a[0]);
    CU_ASSERT(memcmp(a, b, sizeof a) != 0);
    cx_image_flip_h(b, AC, AH, AW);
    CU_ASSERT_EQUAL(memcmp(a, b, sizeof a), 0);
    /* Shift matches an out-of-place reference for every offset. */
    for (int dy = -AH; dy <= AH; dy++)
        for (int dx = -AW; dx <= AW; dx++) {
            memcpy(b, a, sizeof a);
            cx_image_shift(b, AC, AH, AW, dy, dx);
            for (int c = 0; c < AC; c++)
                for (int y = 0; y < AH; y++)
                    for (int x = 0; x < AW; x++) {
                        int sy = y + dy, sx = x + dx;
                        ref[(c * AH + y) * AW + x] = sy >= 0 && sy < AH && sx >= 0 && sx < AW
                                                         ? a[(c * AH + sy) * AW + sx]
                                                         : 0.0f;
                    }
            CU_ASSERT_EQUAL(memcmp(b, ref, sizeof b), 0);
        }
}

static void test_augment_properties(void)
{
    float a[AN], b[AN], c[AN];
    fill_image(a, 2);
    cx_augment aug;
    cx_augment_init(&aug);
    cx_rng rng;
    cx_error err;
    cx_rng_seed(&rng, 1);
    /* Everything off (crop pad 0): identity. */
    memcpy(b, a, sizeof a);
    cx_augment_image(&aug, b, AC, AH, AW, &rng);
    CU_ASSERT_EQUAL(memcmp(a, b, sizeof a), 0);
    CU_ASSERT_EQUAL(cx_augment_check(&aug, AH, AW, &err), CX_OK);

    /* Crop with pad P equals a shift within [-P, P]^2. */
    aug.crop_pad = 3;
    int shifted = 0;
    for (int t = 0; t < 40; t++) {
        memcpy(b, a, sizeof a);
        cx_augment_image(&aug, b, AC, AH, AW, &rng);
        int found = 0;
        for (int dy = -3; dy <= 3 && !found; dy++)
            for (int dx = -3; dx <= 3 && !found; dx++) {
                memcpy(c, a, sizeof a);
                cx_image_shift(c, AC, AH, AW, dy, dx);
                found = !memcmp(b, c, sizeof b);
                if (found && (dy || dx)) shifted++;
            }
        CU_ASSERT(found);
    }
    CU_ASSERT(shifted > 20);

    /* Flip: about half the time, always one of the two images. */
    cx_augment_init(&aug);
    aug.flip = 1;
    int flips = 0;
    for (int t = 0; t < 200; t++) {
        memcpy(b, a, sizeof a);
        cx_augment_image(&aug, b, AC, AH, AW, &rng);
        if (memcmp(a, b, sizeof a)) {
            cx_image_flip_h(b, AC, AH, AW);
            CU_ASSERT_EQUAL(memcmp(a, b, sizeof a), 0);
            flips++;
        }
    }
    CU_ASSERT(flips > 70 && flips < 130);

    /* Erasing: a rectangle, the same in every channel, within the area
     * bounds; zero fill and random fill. */
    for (int fill = 0; fill < 2; fill++) {
        cx_augment_init(&aug);
        aug.erase_prob = 1.0f;
        aug.erase_fill = fill ? CX_ERASE_RANDOM : CX_ERASE_ZERO;
        int erased_images = 0;
        for (int t = 0; t < 200; t++) {
            memcpy(b, a, sizeof a);
            cx_augment_image(&aug, b, AC, AH, AW, &rng);
            int y0 = AH, y1 = -1, x0 = AW, x1 = -1, changed = 0;
            for (int y = 0; y < AH; y++)
                for (int x = 0; x < AW; x++) {
                    int diff = b[y * AW + x] != a[y * AW + x];
                    for (int ch = 1; ch < AC; ch++) {
                        int i = (ch * AH + y) * AW + x;
                        CU_ASSERT_EQUAL(b[i] != a[i], diff);
                        if (!fill && diff) CU_ASSERT_EQUAL(b[i], 0.0f);
                    }
                    if (!diff) continue;
                    changed++;
                    if (y < y0) y0 = y;
                    if (y > y1) y1 = y;
                    if (x < x0) x0 = x;
                    if (x > x1) x1 = x;
                }
            if (!changed) continue;
            erased_images++;
            CU_ASSERT_EQUAL(changed, (y1 - y0 + 1) * (x1 - x0 + 1)); /* a full rectangle */
            CU_ASSERT(changed <= 0.25 * AH * AW);
        }
        CU_ASSERT(erased_images > 150);
    }

    /* Same seed, same result; another seed, another result. */
    aug.crop_pad = 2;
    aug.flip = 1;
    aug.erase_prob = 0.5f;
    float x1[4 * AN], x2[4 * AN], x3[4 * AN];
    for (int i = 0; i < 4; i++)
        fill_image(x1 + i * AN, 10 + i);
    memcpy(x2, x1, sizeof x1);
    memcpy(x3, x1, sizeof x1);
    cx_rng r1, r2, r3;
    cx_rng_seed(&r1, 99);
    cx_rng_seed(&r2, 99);
    cx_rng_seed(&r3, 100);
    cx_augment_batch(&aug, x1, 4, AC, AH, AW, &r1);
    cx_augment_batch(&aug, x2, 4, AC, AH, AW, &r2);
    cx_augment_batch(&aug, x3, 4, AC, AH, AW, &r3);
    CU_ASSERT_EQUAL(memcmp(x1, x2, sizeof x1), 0);
    CU_ASSERT(memcmp(x1, x3, sizeof x1) != 0);

    /* Bad configurations are reported by check and survived by apply. */
    aug.crop_pad = AH;
    CU_ASSERT_EQUAL(cx_augment_check(&aug, AH, AW, &err), CX_ERR_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "crop_pad"));
    aug.crop_pad = 1000000;
    aug.erase_prob = NAN;
    aug.erase_area_min = 5.0f;
    aug.erase_area_max = -1.0f;
    aug.erase_aspect_min = 0.0f;
    aug.erase_aspect_max = INFINITY;
    CU_ASSERT_EQUAL(cx_augment_check(&aug, AH, AW, &err), CX_ERR_ARG);
    for (int t = 0; t < 20; t++)
        cx_augment_image(&aug, b, AC, AH, AW, &rng);
    aug.crop_pad = 0;
    aug.erase_prob = 1.0f;
    for (int t = 0; t < 20; t++)
        cx_augment_image(&aug, b, AC, AH, AW, &rng);
}

int main(void)
{
    tmp_setup();
    static const cx_test tests[] = {
        {"folder: mixed formats, skips and warnings", test_folder_mixed},
        {"folder: train/test split folders", test_folder_presplit},
        {"folder: hashed held-out split", test_hash_split},
        {"folder: errors", test_folder_errors},
        {"folder: warning cap and progress", test_warning_cap_and_progress},
        {"idx: round trip plain and gzip", test_idx_round_trip},
        {"idx: corrupt and truncated files", test_idx_corrupt},
        {"idx: mnist folder layout", test_mnist_dir_layout},
        {"idx: installed fashion-mnist", test_fashion_mnist},
        {"mean/std, batches, subsets", test_mean_std_batch_subset},
        {"augment: flip and shift", test_flip_and_shift},
        {"augment: properties", test_augment_properties},
        {NULL, NULL},
    };
    int rc = cx_test_main("dataset", tests);
    if (!getenv("CX_KEEP")) tmp_cleanup();
    return rc;
}
