/* Speech datasets: folder listing, classes, unknown cap, silence, speaker
 * splits, warnings and errors; the batch builder (shapes, determinism, exact
 * features without augmentation, speed, noise SNR, masks, part words); the test stream
 * builder; running speech and hard-negative mining; FSDD when it is installed. The small dataset is
 * generated here: each "word" is a tone of its own frequency. */
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "testutil.h"

#define RATE 8000
#define NSPK 10
#define TAKES 2

static char root[256];
static const char *const words[] = {"alpha", "bravo", "charlie", "delta"};
static const float freqs[] = {400.0f, 700.0f, 1000.0f, 1300.0f};

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static const char *path_of(char *buf, const char *rel)
{
    snprintf(buf, 512, "%s/%s", root, rel);
    return buf;
}

static void make_dir(const char *rel)
{
    char p[512];
    mkdir(path_of(p, rel), 0700);
}

static void write_text(const char *rel, const char *text)
{
    char p[512];
    FILE *f = fopen(path_of(p, rel), "wb");
    if (!f) {
        perror(p);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

/* A tone of n samples with 10 ms fades, amplitude 0.5. */
static void tone(float *v, int n, float freq)
{
    int fade = RATE / 100;
    for (int i = 0; i < n; i++) {
        float env = 1.0f;
        if (i < fade) env = (float)i / fade;
        if (n - 1 - i < fade) env = (float)(n - 1 - i) / fade;
        v[i] = 0.5f * env * sinf(2.0f * (float)M_PI * freq * (float)i / RATE);
    }
}

static int clip_length(int spk, int take)
{
    return RATE * (30 + 5 * spk + 10 * take) / 100;
}

static void make_dataset(void)
{
    snprintf(root, sizeof root, "/tmp/cx_test_speech_XXXXXX");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        exit(1);
    }
    float *buf = malloc(sizeof(float) * RATE * 3);
    cx_error err;
    char rel[256], p[512];
    for (int w = 0; w < 4; w++) {
        make_dir(words[w]);
        int takes = w == 3 ? 3 : TAKES; /* delta: the extra (unknown) word */
        for (int s = 0; s < NSPK; s++)
            for (int t = 0; t < takes; t++) {
                int n = clip_length(s, t);
                tone(buf, n, freqs[w]);
                snprintf(rel, sizeof rel, "%s/spk%c_%d.wav", words[w], 'A' + s, t);
                if (cx_audio_save_wav(path_of(p, rel), buf, (size_t)n, RATE, &err))
                    fprintf(stderr, "%s\n", err.msg), exit(1);
            }
    }
    write_text("alpha/spkB_7.wav", "RIFF\x24\x00\x00\x00WAVEfmt garbage that is not audio");
    write_text("bravo/spkC_7.wav", "");
    make_dir("foxtrot"); /* empty: not a word */
    make_dir("_ignored");
    make_dir(".hidden");
    write_text("LICENSE", "not a folder");
    make_dir(CX_SPEECH_NOISE_DIR);
    cx_rng rng;
    cx_rng_seed(&rng, 5);
    for (int i = 0; i < 3 * RATE; i++)
        buf[i] = cx_rng_uniform(&rng) - 0.5f;
    if (cx_audio_save_wav(path_of(p, CX_SPEECH_NOISE_DIR "/white.wav"), buf, 3 * RATE, RATE, &err))
        fprintf(stderr, "%s\n", err.msg), exit(1);
    write_text(CX_SPEECH_NOISE_DIR "/README.md", "noise files");
    free(buf);
}

static cx_speech_dataset *load(cx_split split, const char *const *w, int nw, cx_error *err)
{
    cx_speech_opts o;
    cx_speech_opts_init(&o);
    o.sample_rate = RATE;
    o.words = w;
    o.nwords = nw;
    o.split = split;
    o.test_percent = 30;
    o.val_percent = 40;
    cx_speech_dataset *ds = NULL;
    cx_status st = cx_speech_load(&ds, root, &o, err);
    if (st) CU_ASSERT_PTR_NULL(ds);
    return ds;
}

static int has_warning(const cx_speech_dataset *ds, const char *a, const char *b)
{
    for (int i = 0; i < ds->nwarnings; i++)
        if (strstr(ds->warnings[i], a) && (!b || strstr(ds->warnings[i], b))) return 1;
    return 0;
}

static int folder_is(const char *path, const char *word)
{
    char want[64];
    snprintf(want, sizeof want, "/%s/", word);
    return strstr(path, want) != NULL;
}

static void test_speaker_of(void)
{
    char b[64];
    CU_ASSERT_STRING_EQUAL(cx_speech_speaker_of("george_12.wav", b, sizeof b), "george");
    CU_ASSERT_STRING_EQUAL(cx_speech_speaker_of("0a7c2a8d_nohash_0.wav", b, sizeof b), "0a7c2a8d");
    CU_ASSERT_STRING_EQUAL(cx_speech_speaker_of("/x/y_z/noname.wav", b, sizeof b), "noname");
    CU_ASSERT_STRING_EQUAL(cx_speech_speaker_of("dir/ab_c.flac", b, sizeof b), "ab");
    CU_ASSERT_STRING_EQUAL(cx_speech_speaker_of("longname_1", b, 5), "long");
    cx_speech_opts o;
    cx_speech_opts_init(&o);
    /* cx_split_bucket(name, 0): spkJ 665, spkH 1265, spkB 2034, spkD 5072,
     * spkA 9953; 10% test = buckets below 1000, 10% val below 2000. */
    CU_ASSERT_EQUAL(cx_split_bucket("spkJ", 0), 665);
    CU_ASSERT_EQUAL(cx_split_bucket("spkA", 0), 9953);
    CU_ASSERT_EQUAL(cx_speech_speaker_split("spkJ", &o), CX_SPLIT_TEST);
    CU_ASSERT_EQUAL(cx_speech_speaker_split("spkH", &o), CX_SPLIT_VAL);
    CU_ASSERT_EQUAL(cx_speech_speaker_split("spkB", &o), CX_SPLIT_TRAIN);
    CU_ASSERT_EQUAL(cx_speech_speaker_split("spkA", &o), CX_SPLIT_TRAIN);
    const char *const ts[] = {"spkD"};
    o.test_speakers = ts;
    o.ntest_speakers = 1;
    CU_ASSERT_EQUAL(cx_speech_speaker_split("spkD", &o), CX_SPLIT_TEST);
    CU_ASSERT_EQUAL(cx_speech_speaker_split("spkJ", &o), CX_SPLIT_VAL);
    CU_ASSERT_EQUAL(cx_speech_speaker_split("spkH", &o), CX_SPLIT_TRAIN);
    /* The list and the hash rule together: spkD by name, spkJ by hash. */
    o.test_percent_too = 1;
    CU_ASSERT_EQUAL(cx_speech_speaker_split("spkD", &o), CX_SPLIT_TEST);
    CU_ASSERT_EQUAL(cx_speech_speaker_split("spkJ", &o), CX_SPLIT_TEST);
    CU_ASSERT_EQUAL(cx_speech_speaker_split("spkH", &o), CX_SPLIT_VAL);
    CU_ASSERT_EQUAL(cx_speech_speaker_split("spkB", &o), CX_SPLIT_TRAIN);
}

static void test_load_all_folders(void)
{
    cx_error err;
    cx_speech_dataset *ds = load(CX_SPLIT_ALL, NULL, 0, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ds);
    /* Every word folder with files, sorted, then _silence_; no _unknown_. */
    CU_ASSERT_EQUAL(ds->nwords, 4);
    CU_ASSERT_EQUAL_FATAL(ds->nclasses, 5);
    for (int w = 0; w < 4; w++)
        CU_ASSERT_STRING_EQUAL(ds->class_names[w], words[w]);
    CU_ASSERT_STRING_EQUAL(ds->class_names[4], CX_SPEECH_SILENCE);
    CU_ASSERT_EQUAL(ds->silence_label, 4);
    CU_ASSERT_EQUAL(ds->unknown_label, -1);
    int counts[5];
    cx_speech_class_counts(ds, counts);
    CU_ASSERT(counts[0] == 20 && counts[1] == 20 && counts[2] == 20 && counts[3] == 30);
    CU_ASSERT_EQUAL(counts[4], 23); /* round(1.0 * 90 / 4) */
    CU_ASSERT_EQUAL(ds->n, 113);
    /* Warnings: the corrupt file, the empty one, the noise README, the empty
     * folder; nothing about hidden or '_' folders or root files. */
    CU_ASSERT_EQUAL(ds->skipped_corrupt, 3);
    CU_ASSERT(has_warning(ds, "alpha/spkB_7.wav", "skipped"));
    CU_ASSERT(has_warning(ds, "bravo/spkC_7.wav", "skipped"));
    CU_ASSERT(has_warning(ds, "README.md", NULL));
    CU_ASSERT(has_warning(ds, "foxtrot", "no files"));
    CU_ASSERT(!has_warning(ds, "_ignored", NULL) && !has_warning(ds, "LICENSE", NULL));
    CU_ASSERT(!has_warning(ds, ".hidden", NULL));
    CU_ASSERT_EQUAL(ds->nnoise, 1);
    CU_ASSERT_EQUAL(ds->noise_length[0], 3 * RATE);
    /* Items by path, silence last; each clip's label, speaker, length. */
    CU_ASSERT_EQUAL_FATAL(ds->nspeakers, NSPK);
    for (int s = 0; s < NSPK; s++)
        CU_ASSERT(ds->speakers[s][3] == 'A' + s);
    int spk[NSPK];
    cx_speech_speaker_counts(ds, spk);
    CU_ASSERT(spk[0] == 9 && spk[NSPK - 1] == 9);
    for (int i = 0; i < ds->n; i++) {
        const cx_speech_item *it = &ds->items[i];
        if (i < 90) {
            CU_ASSERT_PTR_NOT_NULL_FATAL(it->path);
            if (i > 0) CU_ASSERT(strcmp(ds->items[i - 1].path, it->path) < 0);
            CU_ASSERT(folder_is(it->path, ds->class_names[it->label]));
            const char *base = strrchr(it->path, '/') + 1;
            int s = base[3] - 'A', t = base[5] - '0';
            CU_ASSERT_EQUAL(it->speaker, s);
            CU_ASSERT_EQUAL(it->length, clip_length(s, t));
            CU_ASSERT(it->active_start >= 0 && it->active_start < RATE / 50);
            CU_ASSERT(it->active_end > it->length - RATE / 50 && it->active_end <= it->length);
            CU_ASSERT(it->length <= ds->max_length);
        } else {
            CU_ASSERT(it->samples == NULL && it->path == NULL && it->length == 0);
            CU_ASSERT(it->label == 4 && it->speaker == -1);
        }
    }
    cx_speech_free(ds);
}

static void test_words_unknown_silence(void)
{
    const char *const w[] = {"charlie", "alpha"};
    cx_speech_opts o;
    cx_speech_opts_init(&o);
    o.sample_rate = RATE;
    o.words = w;
    o.nwords = 2;
    o.unknown_ratio = 0.5f;
    o.silence_ratio = 0.25f;
    cx_error err;
    cx_speech_dataset *ds = NULL, *again = NULL;
    CU_ASSERT_EQUAL_FATAL(cx_speech_load(&ds, root, &o, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(cx_speech_load(&again, root, &o, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(ds->nclasses, 4);
    CU_ASSERT_STRING_EQUAL(ds->class_names[0], "charlie");
    CU_ASSERT_STRING_EQUAL(ds->class_names[1], "alpha");
    CU_ASSERT_STRING_EQUAL(ds->class_names[2], CX_SPEECH_SILENCE);
    CU_ASSERT_STRING_EQUAL(ds->class_names[3], CX_SPEECH_UNKNOWN);
    CU_ASSERT(ds->silence_label == 2 && ds->unknown_label == 3);
    int c[4];
    cx_speech_class_counts(ds, c);
    /* mean keyword count 20: 10 unknowns of 51 candidates (bravo 21, delta
     * 30), 5 silences. */
    CU_ASSERT(c[0] == 20 && c[1] == 20 && c[2] == 5 && c[3] == 10);
    CU_ASSERT_EQUAL(ds->unknown_available, 51);
    CU_ASSERT_EQUAL_FATAL(again->n, ds->n);
    int from_both = 0;
    for (int i = 0; i < ds->n; i++) {
        const cx_speech_item *it = &ds->items[i];
        if (it->label == 0) CU_ASSERT(folder_is(it->path, "charlie"));
        if (it->label == 1) CU_ASSERT(folder_is(it->path, "alpha"));
        if (it->label == 3) {
            CU_ASSERT(folder_is(it->path, "bravo") || folder_is(it->path, "delta"));
            CU_ASSERT_STRING_EQUAL(it->path, again->items[i].path); /* stable choice */
            from_both |= folder_is(it->path, "bravo") ? 1 : 2;
        }
        if (it->label == 2) CU_ASSERT_EQUAL(it->seed, again->items[i].seed);
    }
    CU_ASSERT_EQUAL(from_both, 3);
    cx_speech_free(again);
    /* unknown_ratio 0: no _unknown_ class. */
    o.unknown_ratio = 0.0f;
    CU_ASSERT_EQUAL_FATAL(cx_speech_load(&again, root, &o, &err), CX_OK);
    CU_ASSERT(again->nclasses == 3 && again->unknown_label == -1);
    cx_speech_free(again);
    cx_speech_free(ds);
}

static int item_split(const cx_speech_item *it, const cx_speech_opts *o)
{
    char b[64];
    return (int)cx_speech_speaker_split(cx_speech_speaker_of(it->path, b, sizeof b), o);
}

static void test_splits(void)
{
    const char *const w[] = {"alpha", "bravo"};
    cx_speech_opts o;
    cx_speech_opts_init(&o);
    o.test_percent = 30; /* as load(): spkB, G, H, J test; D, E, F val; A, C, I train */
    o.val_percent = 40;
    cx_error err;
    cx_speech_dataset *all = load(CX_SPLIT_ALL, w, 2, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(all);
    int seen = 0, owner[NSPK];
    for (int s = 0; s < NSPK; s++)
        owner[s] = -1;
    for (cx_split sp = CX_SPLIT_TRAIN; sp <= CX_SPLIT_TEST; sp++) {
        cx_speech_dataset *ds = load(sp, w, 2, &err);
        CU_ASSERT_PTR_NOT_NULL_FATAL(ds);
        CU_ASSERT_EQUAL(ds->nclasses, 4); /* same classes in every split */
        CU_ASSERT(ds->nspeakers >= 3);
        int kw = 0;
        for (int i = 0; i < ds->n; i++) {
            const cx_speech_item *it = &ds->items[i];
            if (!it->path) continue;
            CU_ASSERT_EQUAL(item_split(it, &o), (int)sp);
            int s = strrchr(it->path, '/')[4] - 'A';
            CU_ASSERT(owner[s] == -1 || owner[s] == (int)sp); /* one split per speaker */
            owner[s] = (int)sp;
            kw += it->label < 2;
        }
        seen += kw;
        cx_speech_free(ds);
    }
    int all_kw = 0;
    for (int i = 0; i < all->n; i++)
        all_kw += all->items[i].label < 2;
    CU_ASSERT_EQUAL(seen, all_kw);
    CU_ASSERT_EQUAL(all_kw, 40);
    cx_speech_free(all);
    /* Explicit test speakers; the rest is train/val by val_percent. */
    const char *const ts[] = {"spkD", "spkE"};
    cx_speech_opts_init(&o);
    o.sample_rate = RATE;
    o.test_speakers = ts;
    o.ntest_speakers = 2;
    o.val_percent = 45;
    for (cx_split sp = CX_SPLIT_TRAIN; sp <= CX_SPLIT_TEST; sp++) {
        o.split = sp;
        cx_speech_dataset *ds = NULL;
        CU_ASSERT_EQUAL_FATAL(cx_speech_load(&ds, root, &o, &err), CX_OK);
        for (int i = 0; i < ds->n; i++) {
            if (!ds->items[i].path) continue;
            const char *spk = ds->speakers[ds->items[i].speaker];
            int is_test = !strcmp(spk, "spkD") || !strcmp(spk, "spkE");
            CU_ASSERT_EQUAL(is_test, sp == CX_SPLIT_TEST);
            CU_ASSERT_EQUAL(item_split(&ds->items[i], &o), (int)sp);
        }
        if (sp == CX_SPLIT_TEST) CU_ASSERT_EQUAL(ds->nspeakers, 2);
        if (sp == CX_SPLIT_VAL) CU_ASSERT(ds->nspeakers >= 3); /* spkB, G, H, J below 4500 */
        cx_speech_free(ds);
    }
}

static void test_scan_speakers(void)
{
    cx_speech_opts o;
    cx_speech_opts_init(&o);
    cx_speech_speaker_info *v = NULL;
    int n = 0;
    cx_error err;
    CU_ASSERT_EQUAL_FATAL(cx_speech_scan_speakers(root, &o, &v, &n, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(n, NSPK);
    CU_ASSERT_STRING_EQUAL(v[0].name, "spkA");
    CU_ASSERT_EQUAL(v[0].files, 9);
    CU_ASSERT_EQUAL(v[1].files, 10);             /* spkB_7.wav counted: not decoded */
    CU_ASSERT_EQUAL(v[9].split, CX_SPLIT_TEST);  /* spkJ, bucket 665 */
    CU_ASSERT_EQUAL(v[8].split, CX_SPLIT_TRAIN); /* spkI, bucket 8033 */
    cx_speech_speakers_free(v, n);
}

static void expect_error(const cx_speech_opts *o, const char *dir, const char *needle)
{
    cx_speech_dataset *ds = (cx_speech_dataset *)1;
    cx_error err = {{0}};
    CU_ASSERT_NOT_EQUAL(cx_speech_load(&ds, dir, o, &err), CX_OK);
    CU_ASSERT_PTR_NULL(ds);
    if (!strstr(err.msg, needle)) {
        fprintf(stderr, "expected '%s' in: %s\n", needle, err.msg);
        CU_FAIL("error message");
    }
}

static void test_errors(void)
{
    cx_speech_opts o;
    cx_speech_opts_init(&o);
    const char *const missing[] = {"alpha", "zulu"};
    o.words = missing;
    o.nwords = 2;
    expect_error(&o, root, "zulu");
    const char *const reserved[] = {"_silence_"};
    o.words = reserved;
    o.nwords = 1;
    expect_error(&o, root, "_silence_");
    const char *const twice[] = {"alpha", "alpha"};
    o.words = twice;
    o.nwords = 2;
    expect_error(&o, root, "twice");
    o.words = NULL;
    o.nwords = 0;
    char p[512];
    expect_error(&o, path_of(p, "no_such_root"), "no_such_root");
    make_dir("_err"); /* '_': ignored by the other tests */
    make_dir("_err/empty_root");
    expect_error(&o, path_of(p, "_err/empty_root"), "empty_root");
    make_dir("_err/noise_only");
    make_dir("_err/noise_only/" CX_SPEECH_NOISE_DIR);
    expect_error(&o, path_of(p, "_err/noise_only"), "no keyword folders");
    const char *const nobody[] = {"nobody"};
    o.test_speakers = nobody;
    o.ntest_speakers = 1;
    o.split = CX_SPLIT_TEST;
    expect_error(&o, root, "no readable clips in the test split");
    cx_speech_opts_init(&o);
    o.sample_rate = 10;
    expect_error(&o, root, "sample_rate");
    cx_speech_opts_init(&o);
    o.test_percent = 80;
    o.val_percent = 30;
    expect_error(&o, root, "val_percent");
}

/* ---- batches ------------------------------------------------------------------- */

typedef struct fixture {
    cx_speech_dataset *ds;
    cx_melspec *fx;
    cx_speech_source *src;
} fixture;

static void fixture_make(fixture *f, cx_split split, const cx_speech_augment *aug, int window,
                         int norm)
{
    cx_error err;
    const char *const w[] = {"alpha", "bravo", "charlie"};
    f->ds = load(split, w, 3, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f->ds);
    cx_feat_config cfg;
    cx_feat_config_default(&cfg, RATE);
    if (norm) {
        cfg.norm = CX_NORM_GLOBAL;
        for (int i = 0; i < cfg.n_mels; i++)
            cfg.mean[i] = -5.0f, cfg.std[i] = 3.0f;
    }
    CU_ASSERT_EQUAL_FATAL(cx_melspec_create(&f->fx, &cfg, &err), CX_OK);
    cx_status st = cx_speech_source_create(&f->src, f->ds, f->fx, window, aug, &err);
    if (st) fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(st, CX_OK);
}

static void fixture_free(fixture *f)
{
    cx_speech_source_free(f->src);
    cx_melspec_free(f->fx);
    cx_speech_free(f->ds);
}

static void test_batch_shapes_determinism(void)
{
    cx_speech_augment aug;
    cx_speech_augment_default(&aug);
    fixture f;
    fixture_make(&f, CX_SPLIT_TRAIN, &aug, RATE, 0);
    int T = cx_speech_source_frames(f.src), F = cx_speech_source_features(f.src);
    CU_ASSERT_EQUAL(T, 98);
    CU_ASSERT_EQUAL(F, 40);
    cx_train_source ts = cx_speech_train_source(f.src);
    CU_ASSERT_EQUAL(ts.count, f.ds->n);
    enum { N = 6 };
    int idx[N] = {0, 3, 7, f.ds->n - 1, 11, 2}; /* n - 1: a silence item */
    size_t per = (size_t)T * F;
    float *x[3];
    int y[3][N];
    for (int r = 0; r < 3; r++) {
        x[r] = malloc(sizeof(float) * per * N);
        cx_rng rng;
        cx_rng_seed(&rng, r < 2 ? 42 : 43);
        cx_error err;
        CU_ASSERT_EQUAL(ts.get(ts.ctx, idx, N, 1, &rng, x[r], y[r], &err), CX_OK);
    }
    CU_ASSERT_EQUAL(memcmp(x[0], x[1], sizeof(float) * per * N), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(x[0], x[2], sizeof(float) * per * N), 0);
    for (int i = 0; i < N; i++)
        CU_ASSERT_EQUAL(y[0][i], f.ds->items[idx[i]].label);
    CU_ASSERT_EQUAL(y[0][3], f.ds->silence_label);
    for (size_t j = 0; j < per * N; j++)
        CU_ASSERT_FATAL(isfinite(x[0][j]));
    /* Errors: index out of range, augmentation without rng. */
    cx_error err;
    int bad = f.ds->n;
    CU_ASSERT_EQUAL(cx_speech_batch(f.src, &bad, 1, 0, NULL, x[0], NULL, &err), CX_ERR_ARG);
    CU_ASSERT_EQUAL(cx_speech_batch(f.src, idx, 1, 1, NULL, x[0], NULL, &err), CX_ERR_ARG);
    for (int r = 0; r < 3; r++)
        free(x[r]);
    fixture_free(&f);
}

/* Features of the clip placed by hand at (W - L) / 2. */
static void check_centred(fixture *f, int item, int W)
{
    const cx_speech_item *it = &f->ds->items[item];
    float *win = calloc((size_t)W, sizeof(float));
    int off = (W - it->length) / 2;
    for (int i = 0; i < it->length; i++)
        if (i + off >= 0 && i + off < W) win[i + off] = it->samples[i];
    int T = cx_speech_source_frames(f->src), F = cx_speech_source_features(f->src);
    float *want = malloc(sizeof(float) * (size_t)T * F),
          *got = malloc(sizeof(float) * (size_t)T * F);
    CU_ASSERT_EQUAL(cx_melspec_compute(f->fx, win, (size_t)W, want, T), T);
    cx_error err;
    cx_rng rng;
    cx_rng_seed(&rng, 1);
    CU_ASSERT_EQUAL(cx_speech_batch(f->src, &item, 1, 0, &rng, got, NULL, &err), CX_OK);
    CU_ASSERT_EQUAL(memcmp(want, got, sizeof(float) * (size_t)T * F), 0);
    free(win);
    free(want);
    free(got);
}

static void test_augment_off_exact(void)
{
    cx_speech_augment aug;
    cx_speech_augment_default(&aug); /* configured, but the batch asks for none */
    fixture f;
    fixture_make(&f, CX_SPLIT_ALL, &aug, RATE, 0);
    check_centred(&f, 0, RATE);
    check_centred(&f, 5, RATE);
    fixture_free(&f);
    /* A window shorter than the clips: centre crop (odd difference too). */
    fixture_make(&f, CX_SPLIT_ALL, &aug, RATE * 3 / 10 + 1, 0);
    for (int i = 0; i < 6; i++) {
        CU_ASSERT(f.ds->items[i].length > RATE * 3 / 10 + 1 || i == 0);
        check_centred(&f, i, RATE * 3 / 10 + 1);
    }
    /* Silence without augmentation: the same every time, whatever the batch. */
    int sil = f.ds->n - 2, pair[2] = {0, f.ds->n - 2};
    size_t per = (size_t)cx_speech_source_frames(f.src) * cx_speech_source_features(f.src);
    float *a = malloc(sizeof(float) * per), *b = malloc(sizeof(float) * per * 2);
    cx_rng r1, r2;
    cx_rng_seed(&r1, 1);
    cx_rng_seed(&r2, 2);
    cx_error err;
    CU_ASSERT_EQUAL(cx_speech_batch(f.src, &sil, 1, 0, &r1, a, NULL, &err), CX_OK);
    CU_ASSERT_EQUAL(cx_speech_batch(f.src, pair, 2, 0, &r2, b, NULL, &err), CX_OK);
    CU_ASSERT_EQUAL(memcmp(a, b + per, sizeof(float) * per), 0);
    free(a);
    free(b);
    fixture_free(&f);
}

/* Rendered window: the first and last nonzero sample and the tone's
 * frequency from zero crossings between them (fades excluded). */
static double tone_freq(const float *w, int W, int *first, int *last)
{
    *first = -1;
    for (int i = 0; i < W; i++)
        if (w[i] != 0.0f) {
            if (*first < 0) *first = i;
            *last = i;
        }
    int a = *first + RATE / 50, b = *last - RATE / 50, cross = 0, c0 = -1, c1 = -1;
    for (int i = a; i < b; i++)
        if ((w[i] < 0.0f) != (w[i + 1] < 0.0f)) {
            if (c0 < 0) c0 = i;
            c1 = i;
            cross++;
        }
    return (cross - 1) / 2.0 / ((double)(c1 - c0) / RATE);
}

static void test_speed(void)
{
    float factors[] = {1.1f, 0.9f};
    for (int k = 0; k < 2; k++) {
        cx_speech_augment aug;
        cx_speech_augment_off(&aug);
        aug.speed_min = aug.speed_max = factors[k];
        fixture f;
        fixture_make(&f, CX_SPLIT_ALL, &aug, 2 * RATE, 0);
        float *w = malloc(sizeof(float) * 2 * RATE);
        cx_rng rng;
        cx_rng_seed(&rng, 3);
        cx_error err;
        int item = 19; /* alpha/spkJ_1.wav: 400 Hz, 0.85 s */
        const cx_speech_item *it = &f.ds->items[item];
        CU_ASSERT_EQUAL(it->length, clip_length(9, 1));
        int first, last;
        CU_ASSERT_EQUAL(cx_speech_render(f.src, item, 0, &rng, w, &err), CX_OK);
        double f0 = tone_freq(w, 2 * RATE, &first, &last);
        CU_ASSERT(fabs(f0 - 400.0) < 2.0);
        CU_ASSERT_EQUAL(cx_speech_render(f.src, item, 1, &rng, w, &err), CX_OK);
        double f1 = tone_freq(w, 2 * RATE, &first, &last);
        int len = last - first + 1;
        printf("\n    speed %.1f: %.1f Hz -> %.1f Hz, %d -> %d samples ", factors[k], f0, f1,
               it->length, len);
        CU_ASSERT(fabs(f1 - 400.0 * factors[k]) < 3.0);
        CU_ASSERT(abs(len - (int)lround(it->length / factors[k])) < 4);
        free(w);
        fixture_free(&f);
    }
}

static void test_noise_snr(void)
{
    cx_speech_augment aug;
    cx_speech_augment_off(&aug);
    aug.noise_prob = 1.0f;
    aug.snr_min = aug.snr_max = 10.0f;
    aug.silence_db_min = aug.silence_db_max = -6.0f;
    fixture f;
    fixture_make(&f, CX_SPLIT_ALL, &aug, RATE, 0);
    int W = RATE;
    float *clean = malloc(sizeof(float) * W), *noisy = malloc(sizeof(float) * W);
    cx_rng rng;
    cx_rng_seed(&rng, 9);
    cx_error err;
    for (int item = 0; item < 40; item += 13) {
        CU_ASSERT_EQUAL(cx_speech_render(f.src, item, 0, &rng, clean, &err), CX_OK);
        CU_ASSERT_EQUAL(cx_speech_render(f.src, item, 1, &rng, noisy, &err), CX_OK);
        int L = f.ds->items[item].length, off = (W - L) / 2;
        double pc = 0.0, pn = 0.0;
        for (int i = 0; i < W; i++) {
            double d = (double)noisy[i] - clean[i];
            pn += d * d;
            if (i >= off && i < off + L) pc += (double)clean[i] * clean[i];
        }
        double snr = 10.0 * log10((pc / L) / (pn / W));
        CU_ASSERT(fabs(snr - 10.0) < 0.05);
        if (item == 0) printf("\n    SNR asked 10 dB, measured %.3f dB ", snr);
    }
    /* Silence: the noise at -6 dB (white noise in [-0.5, 0.5): RMS 0.289). */
    int sil = f.ds->n - 1;
    CU_ASSERT_EQUAL(cx_speech_render(f.src, sil, 0, &rng, noisy, &err), CX_OK);
    double e = 0.0;
    for (int i = 0; i < W; i++)
        e += (double)noisy[i] * noisy[i];
    double rms = sqrt(e / W), want = 0.5 / sqrt(3.0) * pow(10.0, -6.0 / 20.0);
    CU_ASSERT(fabs(rms - want) < 0.05 * want);
    free(clean);
    free(noisy);
    fixture_free(&f);
}

static void test_spec_mask(void)
{
    enum { T = 50, F = 20 };
    float x[T * F];
    cx_speech_augment a;
    cx_speech_augment_off(&a);
    a.time_masks = 2;
    a.time_mask_max = 6;
    a.freq_masks = 1;
    a.freq_mask_max = 4;
    cx_rng rng;
    cx_rng_seed(&rng, 11);
    int any_t = 0, any_f = 0;
    for (int rep = 0; rep < 50; rep++) {
        for (int i = 0; i < T * F; i++)
            x[i] = (float)i;
        cx_speech_spec_mask(x, T, F, &a, -1.0f, &rng);
        int rows = 0, cols = 0;
        for (int t = 0; t < T; t++) {
            int k = 0;
            for (int f = 0; f < F; f++)
                k += x[t * F + f] == -1.0f;
            rows += k == F;
        }
        for (int f = 0; f < F; f++) {
            int k = 0;
            for (int t = 0; t < T; t++)
                k += x[t * F + f] == -1.0f;
            cols += k == T;
        }
        int masked = 0;
        for (int i = 0; i < T * F; i++)
            masked += x[i] == -1.0f;
        CU_ASSERT(rows <= 12 && cols <= 4);
        CU_ASSERT_EQUAL(masked, rows * F + cols * T - rows * cols); /* whole rows and columns */
        any_t |= rows > 0;
        any_f |= cols > 0;
    }
    CU_ASSERT(any_t && any_f);
}

/* Masks through the batch: fill = window mean (no normalization) or 0. */
static void test_batch_masks(void)
{
    for (int norm = 0; norm < 2; norm++) {
        cx_speech_augment aug;
        cx_speech_augment_off(&aug);
        aug.time_masks = 1;
        aug.time_mask_max = 8;
        aug.freq_masks = 1;
        aug.freq_mask_max = 5;
        fixture f;
        fixture_make(&f, CX_SPLIT_ALL, &aug, RATE, norm);
        int T = cx_speech_source_frames(f.src), F = cx_speech_source_features(f.src);
        size_t per = (size_t)T * F;
        float *plain = malloc(sizeof(float) * per), *masked = malloc(sizeof(float) * per);
        cx_rng rng;
        cx_rng_seed(&rng, 4);
        cx_error err;
        int item = 3, total = 0;
        for (int rep = 0; rep < 10; rep++) {
            CU_ASSERT_EQUAL(cx_speech_batch(f.src, &item, 1, 0, &rng, plain, NULL, &err), CX_OK);
            CU_ASSERT_EQUAL(cx_speech_batch(f.src, &item, 1, 1, &rng, masked, NULL, &err), CX_OK);
            double mean = 0.0;
            for (size_t j = 0; j < per; j++)
                mean += plain[j];
            float fill = norm ? 0.0f : (float)(mean / (double)per);
            int diff = 0, rows = 0, cols = 0;
            for (size_t j = 0; j < per; j++)
                if (masked[j] != plain[j]) {
                    diff++;
                    CU_ASSERT(masked[j] == fill);
                }
            for (int t = 0; t < T; t++) {
                int k = 0;
                for (int c = 0; c < F; c++)
                    k += masked[t * F + c] == fill;
                rows += k == F;
            }
            for (int c = 0; c < F; c++) {
                int k = 0;
                for (int t = 0; t < T; t++)
                    k += masked[t * F + c] == fill;
                cols += k == T;
            }
            CU_ASSERT(rows <= 8 && cols <= 5);
            CU_ASSERT(diff <= rows * F + cols * T);
            total += diff;
        }
        CU_ASSERT(total > 0);
        free(plain);
        free(masked);
        fixture_free(&f);
    }
}

/* Loud frames of (T x F) log-mel features of a tone in silence: the first
 * and last, and how many. */
static int loud_frames(const float *x, int T, int F, int *first, int *last)
{
    int n = 0;
    *first = *last = -1;
    for (int t = 0; t < T; t++) {
        float top = x[(size_t)t * F];
        for (int c = 1; c < F; c++)
            top = x[(size_t)t * F + c] > top ? x[(size_t)t * F + c] : top;
        if (top > 0.0f) { /* silence is log(1e-6) = -13.8; the tones reach 5 */
            if (*first < 0) *first = t;
            *last = t;
            n++;
        }
    }
    return n;
}

/* Part words: a keyword example shows 20-60% of its voiced part at the
 * start or the end of the window and is labelled _unknown_, both sides
 * about equally often; _unknown_ and _silence_ examples are untouched;
 * without an _unknown_ class nothing changes. */
static void test_partial_words(void)
{
    cx_speech_augment aug;
    cx_speech_augment_off(&aug);
    aug.partial_prob = 1.0f;
    fixture f;
    fixture_make(&f, CX_SPLIT_ALL, &aug, 2 * RATE, 0);
    CU_ASSERT_FATAL(f.ds->unknown_label >= 0);
    int T = cx_speech_source_frames(f.src), F = cx_speech_source_features(f.src);
    float *x = malloc(sizeof(float) * (size_t)T * F);
    cx_rng rng;
    cx_rng_seed(&rng, 9);
    cx_error err;
    int starts = 0, ends = 0, unknown = 0;
    for (int i = 0; i < f.ds->n; i++) {
        const cx_speech_item *it = &f.ds->items[i];
        int y = -1, first, last;
        CU_ASSERT_EQUAL_FATAL(cx_speech_batch(f.src, &i, 1, 1, &rng, x, &y, &err), CX_OK);
        int n = loud_frames(x, T, F, &first, &last);
        if (it->label >= f.ds->nwords) { /* whole, centred in the 2 s window */
            CU_ASSERT_EQUAL(y, it->label);
            if (it->samples) CU_ASSERT(first > 10 && last < T - 10);
            unknown += it->samples != NULL;
            continue;
        }
        CU_ASSERT_EQUAL(y, f.ds->unknown_label);
        double voiced = (double)(it->active_end - it->active_start) / (RATE / 100); /* frames */
        CU_ASSERT(n >= 0.2 * voiced - 3 && n <= 0.6 * voiced + 3);
        CU_ASSERT(first == 0 || last == T - 1);
        starts += last == T - 1;
        ends += first == 0;
    }
    CU_ASSERT(unknown > 0);
    CU_ASSERT(starts > 10 && ends > 10);
    fixture_free(&f);

    /* Every word a keyword: no _unknown_ class, labels unchanged. */
    const char *const all[] = {"alpha", "bravo", "charlie", "delta"};
    cx_speech_dataset *ds = load(CX_SPLIT_ALL, all, 4, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ds);
    CU_ASSERT_EQUAL(ds->unknown_label, -1);
    cx_feat_config cfg;
    cx_feat_config_default(&cfg, RATE);
    cx_melspec *fx;
    cx_speech_source *src;
    CU_ASSERT_EQUAL_FATAL(cx_melspec_create(&fx, &cfg, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(cx_speech_source_create(&src, ds, fx, 2 * RATE, &aug, &err), CX_OK);
    for (int i = 0; i < ds->n; i++) {
        int y = -1;
        CU_ASSERT_EQUAL(cx_speech_batch(src, &i, 1, 1, &rng, x, &y, &err), CX_OK);
        CU_ASSERT_EQUAL(y, ds->items[i].label);
    }
    cx_speech_source_free(src);
    cx_melspec_free(fx);
    cx_speech_free(ds);
    free(x);

    /* Out of range. */
    cx_speech_augment_off(&aug);
    aug.partial_prob = 1.5f;
    CU_ASSERT_EQUAL(cx_speech_augment_check(&aug, &err), CX_ERR_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "partial_prob"));
}

static void test_stream(void)
{
    const char *const w[] = {"alpha", "bravo"};
    cx_error err;
    cx_speech_dataset *ds = load(CX_SPLIT_ALL, w, 2, &err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ds);
    int items[12], n = 0, dist[8], nd = 0;
    for (int i = 0; i < ds->n; i++) {
        if (ds->items[i].label < 2 && n < 12 && i % 3 == 0) items[n++] = i;
        if (ds->items[i].label == ds->unknown_label && nd < 8) dist[nd++] = i;
    }
    CU_ASSERT_FATAL(n == 12 && nd == 8);
    cx_speech_stream_opts o;
    cx_speech_stream_opts_init(&o);
    o.noise_prob = 1.0f;
    o.distractors = dist;
    o.ndistractors = nd;
    o.distractor_prob = 0.5f;
    o.seed = 77;
    float *s = NULL, *s2 = NULL, *s3 = NULL;
    size_t len = 0, len2 = 0, len3 = 0;
    cx_speech_event *ev = NULL, *ev2 = NULL, *ev3 = NULL;
    int ne = 0, ne2 = 0, ne3 = 0;
    CU_ASSERT_EQUAL_FATAL(cx_speech_stream_build(ds, items, n, &o, &s, &len, &ev, &ne, &err),
                          CX_OK);
    CU_ASSERT_EQUAL_FATAL(cx_speech_stream_build(ds, items, n, &o, &s2, &len2, &ev2, &ne2, &err),
                          CX_OK);
    o.seed = 78;
    CU_ASSERT_EQUAL_FATAL(cx_speech_stream_build(ds, items, n, &o, &s3, &len3, &ev3, &ne3, &err),
                          CX_OK);
    CU_ASSERT(len == len2 && ne == ne2 && memcmp(s, s2, sizeof(float) * len) == 0);
    CU_ASSERT(len != len3 || memcmp(s, s3, sizeof(float) * len) != 0);
    int k = 0, nkw = 0;
    size_t prev_end = 0, clips = 0;
    for (int e = 0; e < ne; e++) {
        const cx_speech_event *v = &ev[e];
        const cx_speech_item *it = &ds->items[v->item];
        CU_ASSERT(v->start >= prev_end && v->end == v->start + (size_t)it->length);
        CU_ASSERT(v->end <= len && v->label == it->label);
        clips += (size_t)it->length;
        if (v->keyword) {
            CU_ASSERT_EQUAL(v->item, items[k]);
            k++;
            nkw++;
            /* no noise under keywords: the clip exactly */
            CU_ASSERT_EQUAL(memcmp(s + v->start, it->samples, sizeof(float) * it->length), 0);
            size_t gap = v->start - prev_end; /* >= gap_min unless a distractor sits in it */
            if (e == 0 || ev[e - 1].keyword)
                CU_ASSERT(gap >= (size_t)(0.5 * RATE) && gap <= 2 * RATE);
        } else {
            CU_ASSERT(v->label == ds->unknown_label);
            double d = 0.0, c = 0.0;
            for (int i = 0; i < it->length; i++) {
                double x = s[v->start + i] - it->samples[i];
                d += x * x;
                c += (double)it->samples[i] * it->samples[i];
            }
            CU_ASSERT(d > 0.0 && d < 0.1 * c); /* noise at -20 dBFS at most below the clip */
        }
        prev_end = v->end;
    }
    CU_ASSERT_EQUAL(nkw, n);
    CU_ASSERT(ne > n); /* some distractors */
    CU_ASSERT(len >= clips + (size_t)(n + 1) * RATE / 2 &&
              len <= clips + (size_t)(n + 1) * 2 * RATE);
    /* the gaps hold noise */
    double gap_e = 0.0;
    for (size_t i = 0; i < ev[0].start; i++)
        gap_e += (double)s[i] * s[i];
    CU_ASSERT(gap_e > 0.0);
    printf("\n    stream: %zu samples, %d events (%d keywords) ", len, ne, nkw);
    free(s);
    free(s2);
    free(s3);
    free(ev);
    free(ev2);
    free(ev3);
    /* A silence item has no audio. */
    int bad = ds->n - 1;
    CU_ASSERT_EQUAL(ds->items[bad].label, ds->silence_label);
    CU_ASSERT_EQUAL(cx_speech_stream_build(ds, &bad, 1, &o, &s, &len, &ev, &ne, &err), CX_ERR_ARG);
    CU_ASSERT(s == NULL && ev == NULL);
    cx_speech_free(ds);
}

static const char *fsdd_dir(void)
{
    static const char *const dirs[] = {"/work/shared/datasets/fsdd",
                                       CX_SOURCE_DIR "/../shared/datasets/fsdd",
                                       CX_SOURCE_DIR "/../../shared/datasets/fsdd"};
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        struct stat st;
        char p[512];
        snprintf(p, sizeof p, "%s/zero", dirs[i]);
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) return dirs[i];
    }
    return NULL;
}

static void test_fsdd(void)
{
    const char *dir = fsdd_dir();
    if (!dir) {
        printf("\n    FSDD not installed: skipped ");
        return;
    }
    cx_speech_opts o;
    cx_speech_opts_init(&o);
    o.sample_rate = 8000;
    const char *const ts[] = {"george"};
    o.test_speakers = ts;
    o.ntest_speakers = 1;
    cx_error err;
    cx_speech_dataset *all = NULL, *test = NULL;
    cx_status st = cx_speech_load(&all, dir, &o, &err);
    if (st) fprintf(stderr, "%s\n", err.msg);
    CU_ASSERT_EQUAL_FATAL(st, CX_OK);
    o.split = CX_SPLIT_TEST;
    CU_ASSERT_EQUAL_FATAL(cx_speech_load(&test, dir, &o, &err), CX_OK);
    CU_ASSERT_EQUAL(all->nwords, 10);
    CU_ASSERT_EQUAL(all->nclasses, 11);
    CU_ASSERT_STRING_EQUAL(all->class_names[0], "eight");
    int clips = 0, test_clips = 0;
    for (int i = 0; i < all->n; i++)
        clips += all->items[i].samples != NULL;
    for (int i = 0; i < test->n; i++) {
        test_clips += test->items[i].samples != NULL;
        if (test->items[i].samples)
            CU_ASSERT_STRING_EQUAL(test->speakers[test->items[i].speaker], "george");
    }
    CU_ASSERT_EQUAL(clips, 2500);
    CU_ASSERT_EQUAL(test_clips, 500);
    CU_ASSERT_EQUAL(all->nspeakers, 5);
    CU_ASSERT_EQUAL(test->n, 550); /* 50 silence items */
    printf("\n    FSDD: %d clips, %d test, %d speakers, longest %.2f s, %lld warnings ", clips,
           test_clips, all->nspeakers, (double)all->max_length / 8000, all->total_warnings);
    cx_speech_free(all);
    cx_speech_free(test);
}

/* Running speech (ROOT/_running_speech_): split by speaker, cut into
 * _unknown_ segments, excluded speakers, the keyword stream; then
 * hard-negative mining with a network that always says "alpha" (every
 * window fires and becomes an _unknown_ clip) and one that always says
 * _unknown_ (nothing fires). The folder is removed afterwards, so it
 * changes no other test. */
static void test_running_speech_mining(void)
{
    make_dir(CX_SPEECH_RUNNING_DIR);
    cx_error err;
    char p[512];
    int n = 10 * RATE;
    float *buf = malloc(sizeof(float) * (size_t)n);
    cx_rng rng;
    cx_rng_seed(&rng, 9);
    for (int i = 0; i < n; i++)
        buf[i] = 0.2f * (cx_rng_uniform(&rng) - 0.5f) + 0.3f * sinf(0.3f * (float)i);
    /* spkA is a training speaker, spkJ a test speaker (test_speaker_of) */
    CU_ASSERT_EQUAL(cx_audio_save_wav(path_of(p, CX_SPEECH_RUNNING_DIR "/spkA_0.wav"), buf,
                                      (size_t)n, RATE, &err),
                    CX_OK);
    CU_ASSERT_EQUAL(cx_audio_save_wav(path_of(p, CX_SPEECH_RUNNING_DIR "/spkJ_0.wav"), buf,
                                      (size_t)n / 2, RATE, &err),
                    CX_OK);
    free(buf);
    const char *const w2[] = {"alpha", "bravo"};
    cx_speech_opts o;
    cx_speech_opts_init(&o);
    o.sample_rate = RATE;
    o.words = w2;
    o.nwords = 2;
    o.split = CX_SPLIT_TRAIN;
    cx_speech_dataset *ds = NULL;
    CU_ASSERT_EQUAL_FATAL(cx_speech_load(&ds, root, &o, &err), CX_OK);
    CU_ASSERT_EQUAL(ds->nrunning, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(ds->running_paths[0], "spkA_0.wav"));
    CU_ASSERT_DOUBLE_EQUAL(ds->running_seconds_total, 10.0, 1e-6);
    int counts[4] = {0}, segs = 0, before = ds->n;
    cx_speech_class_counts(ds, counts);
    for (int i = 0; i < ds->n; i++) {
        const cx_speech_item *it = &ds->items[i];
        if (it->path && strstr(it->path, CX_SPEECH_RUNNING_DIR)) {
            segs++;
            CU_ASSERT_EQUAL(it->label, ds->unknown_label);
            CU_ASSERT_EQUAL(it->speaker, -1);
            CU_ASSERT_EQUAL(it->length, RATE);
            CU_ASSERT_PTR_NOT_NULL(strchr(it->path, '@'));
        }
    }
    /* running_ratio 1: the mean keyword class size */
    CU_ASSERT_EQUAL(segs, (counts[0] + counts[1] + 1) / 2);
    CU_ASSERT_EQUAL(ds->running_segments, segs);
    cx_speech_keyword_stream ks;
    CU_ASSERT_EQUAL_FATAL(cx_speech_keyword_stream_build(&ks, ds, 1, &err), CX_OK);
    CU_ASSERT_DOUBLE_EQUAL(ks.running_seconds, 10.0, 1e-6);
    cx_speech_keyword_stream_free(&ks);

    /* mining: a network that is sure of "alpha" whatever it hears */
    cx_feat_config fc;
    cx_feat_config_default(&fc, RATE);
    int window = RATE, frames = (int)cx_feat_num_frames(&fc, (size_t)window);
    char spec[128];
    snprintf(spec, sizeof spec, "input %d %d; mean; dense %d", frames, cx_feat_num_features(&fc),
             ds->nclasses);
    cx_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&m, spec, NULL, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(
        cx_model_set_labels(m, ds->nclasses, (const char *const *)ds->class_names, &err), CX_OK);
    size_t np = 0;
    float *pb = cx_model_param_block(m, &np);
    memset(pb, 0, sizeof(float) * np);
    float *bias = cx_model_tensor(m, cx_model_num_tensors(m) - 1)->w; /* the dense bias */
    bias[0] = 20.0f;                                                  /* class 0: alpha */
    cx_detect_config dc;
    cx_detect_config_default(&dc);
    dc.threshold = 0.5f;
    dc.average_ms = 0;
    dc.min_count = 1;
    dc.suppress_ms = 1000;
    cx_speech_mine_report rep;
    CU_ASSERT_EQUAL(cx_speech_mine(ds, m, &fc, window, &dc, 0, 0, &rep, &err), CX_OK);
    CU_ASSERT_DOUBLE_EQUAL(rep.hours, 10.0 / 3600, 1e-9);
    CU_ASSERT(rep.detections >= 5 && rep.detections <= 10);
    CU_ASSERT_EQUAL(rep.added, 0);
    CU_ASSERT_EQUAL(ds->n, before);
    int fired = rep.detections;
    CU_ASSERT_EQUAL(cx_speech_mine(ds, m, &fc, window, &dc, 1, 3, &rep, &err), CX_OK);
    CU_ASSERT_EQUAL(rep.detections, fired);
    CU_ASSERT_EQUAL(rep.added, 3);
    CU_ASSERT_EQUAL(ds->n, before + 3);
    CU_ASSERT_EQUAL(cx_speech_mine(ds, m, &fc, window, &dc, 1, 0, &rep, &err), CX_OK);
    CU_ASSERT_EQUAL(rep.added, fired);
    CU_ASSERT_EQUAL(ds->n, before + 3 + fired);
    for (int i = before; i < ds->n; i++) {
        const cx_speech_item *it = &ds->items[i];
        CU_ASSERT_EQUAL(it->label, ds->unknown_label);
        CU_ASSERT_EQUAL(it->length, window);
        CU_ASSERT_PTR_NOT_NULL(strstr(it->path, "spkA_0.wav@"));
    }
    /* the grown dataset makes batches like any other */
    cx_melspec *fx = NULL;
    cx_speech_source *src = NULL;
    CU_ASSERT_EQUAL_FATAL(cx_melspec_create(&fx, &fc, &err), CX_OK);
    CU_ASSERT_EQUAL_FATAL(cx_speech_source_create(&src, ds, fx, window, NULL, &err), CX_OK);
    cx_train_source ts = cx_speech_train_source(src);
    CU_ASSERT_EQUAL(ts.count, ds->n);
    float *x = malloc(sizeof(float) * (size_t)frames * (size_t)cx_feat_num_features(&fc) * 2);
    int idx[2] = {ds->n - 1, ds->n - 2}, labels[2];
    cx_rng r2;
    cx_rng_seed(&r2, 1);
    CU_ASSERT_EQUAL(ts.get(ts.ctx, idx, 2, 0, &r2, x, labels, &err), CX_OK);
    CU_ASSERT_EQUAL(labels[0], ds->unknown_label);
    free(x);
    cx_speech_source_free(src);
    cx_melspec_free(fx);
    /* a network sure of _unknown_: nothing fires */
    memset(pb, 0, sizeof(float) * np);
    bias[ds->unknown_label] = 20.0f;
    CU_ASSERT_EQUAL(cx_speech_mine(ds, m, &fc, window, &dc, 1, 0, &rep, &err), CX_OK);
    CU_ASSERT_EQUAL(rep.detections, 0);
    CU_ASSERT_EQUAL(rep.added, 0);
    cx_speech_free(ds);

    /* no _unknown_ class: nothing to add to */
    o.words = NULL;
    o.nwords = 0;
    CU_ASSERT_EQUAL_FATAL(cx_speech_load(&ds, root, &o, &err), CX_OK);
    CU_ASSERT_EQUAL(ds->unknown_label, -1);
    CU_ASSERT_EQUAL(ds->running_segments, 0);
    CU_ASSERT_EQUAL(cx_speech_mine(ds, m, &fc, window, &dc, 1, 0, &rep, &err), CX_ERR_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "_unknown_"));
    cx_speech_free(ds);
    cx_model_free(m);

    /* running_ratio 0: recordings kept for the stream, no segments */
    o.words = w2;
    o.nwords = 2;
    o.running_ratio = 0;
    CU_ASSERT_EQUAL_FATAL(cx_speech_load(&ds, root, &o, &err), CX_OK);
    CU_ASSERT_EQUAL(ds->nrunning, 1);
    CU_ASSERT_EQUAL(ds->running_segments, 0);
    cx_speech_free(ds);
    /* excluded speakers: neither their clips nor their speech */
    const char *const ex[] = {"spkA"};
    o.exclude_speakers = ex;
    o.nexclude_speakers = 1;
    o.split = CX_SPLIT_ALL;
    CU_ASSERT_EQUAL_FATAL(cx_speech_load(&ds, root, &o, &err), CX_OK);
    CU_ASSERT_EQUAL(ds->nrunning, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(ds->running_paths[0], "spkJ_0.wav"));
    for (int i = 0; i < ds->nspeakers; i++)
        CU_ASSERT_STRING_NOT_EQUAL(ds->speakers[i], "spkA");
    cx_speech_free(ds);
    o.running_seconds = 5; /* more than max_seconds (2) */
    CU_ASSERT_EQUAL(cx_speech_load(&ds, root, &o, &err), CX_ERR_ARG);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "running_seconds"));

    remove(path_of(p, CX_SPEECH_RUNNING_DIR "/spkA_0.wav"));
    remove(path_of(p, CX_SPEECH_RUNNING_DIR "/spkJ_0.wav"));
    rmdir(path_of(p, CX_SPEECH_RUNNING_DIR));
}

int main(void)
{
    make_dataset();
    static const cx_test tests[] = {
        {"speaker_of_and_split", test_speaker_of},
        {"load_all_folders", test_load_all_folders},
        {"words_unknown_silence", test_words_unknown_silence},
        {"splits", test_splits},
        {"scan_speakers", test_scan_speakers},
        {"errors", test_errors},
        {"batch_shapes_determinism", test_batch_shapes_determinism},
        {"augment_off_exact", test_augment_off_exact},
        {"speed", test_speed},
        {"noise_snr", test_noise_snr},
        {"spec_mask", test_spec_mask},
        {"batch_masks", test_batch_masks},
        {"partial_words", test_partial_words},
        {"stream", test_stream},
        {"running_speech_mining", test_running_speech_mining},
        {"fsdd", test_fsdd},
        {NULL, NULL},
    };
    int rc = cx_test_main("speech_data", tests);
    nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return rc;
}
