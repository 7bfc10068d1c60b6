/* The modality model APIs (cortex/speech_model.h, cortex/vision.h) on the
 * shipped models and bundled samples: what the applications print is what
 * these calls give; bad files and non-models are refused with the name;
 * the held-out rule and the dataset batch source. */
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

#define MODELS CX_SOURCE_DIR "/models"

/* Field by field: the struct's padding is not part of the result. */
static int same_top(const cx_prediction *a, const cx_prediction *b)
{
    for (int i = 0; i < 3; i++)
        if (a[i].label != b[i].label || a[i].name != b[i].name ||
            a[i].probability != b[i].probability)
            return 0;
    return 1;
}

static void test_vision_classify(void)
{
    cx_error err;
    cx_vision_model *v = NULL;
    CU_ASSERT_EQUAL_FATAL(cx_vision_model_load(&v, MODELS "/fashion-mnist.safetensors", &err),
                          CX_OK);
    CU_ASSERT_EQUAL(cx_vision_model_num_labels(v), 10);
    const cx_vision_prep *p = cx_vision_model_prep(v);
    CU_ASSERT(p->channels == 1 && p->height == 28 && p->width == 28);
    const char *file = MODELS "/samples/fashion/ankle-boot-1.png";
    cx_prediction top[3], again[3];
    CU_ASSERT_EQUAL_FATAL(cx_vision_model_classify_file(v, file, top, 3, &err), 3);
    /* As cortex-vision classify prints it: Ankle boot 0.952, Coat 0.008, ... */
    CU_ASSERT_STRING_EQUAL(top[0].name, "Ankle boot");
    CU_ASSERT(fabsf(top[0].probability - 0.952f) < 0.0005f);
    CU_ASSERT(top[0].probability >= top[1].probability && top[1].probability >= top[2].probability);
    CU_ASSERT_STRING_EQUAL(top[0].name, cx_vision_model_label(v, top[0].label));
    /* The same bytes from memory, and the decoded pixels, give the same. */
    FILE *f = fopen(file, "rb");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    static uint8_t bytes[1 << 16];
    size_t len = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    CU_ASSERT_EQUAL(cx_vision_model_classify_encoded(v, bytes, len, "mem.png", again, 3, &err), 3);
    CU_ASSERT(same_top(top, again));
    uint8_t px[28 * 28];
    CU_ASSERT_EQUAL_FATAL(cx_image_load(file, 1, 28, 28, px, &err), CX_OK);
    CU_ASSERT_EQUAL(cx_vision_model_classify_pixels(v, px, 28, 28, 1, again, 3, &err), 3);
    CU_ASSERT(same_top(top, again));
    /* Raw RGBA pixels, gray replicated, opaque: the same input. */
    uint8_t rgba[28 * 28 * 4];
    for (int i = 0; i < 28 * 28; i++) {
        rgba[4 * i] = rgba[4 * i + 1] = rgba[4 * i + 2] = px[i];
        rgba[4 * i + 3] = 255;
    }
    CU_ASSERT_EQUAL(cx_vision_model_classify_pixels(v, rgba, 28, 28, 4, again, 3, &err), 3);
    CU_ASSERT(same_top(top, again));
    /* k beyond the labels is cut to them; bad input names the file. */
    cx_prediction all[20];
    CU_ASSERT_EQUAL(cx_vision_model_classify_file(v, file, all, 20, &err), 10);
    CU_ASSERT_EQUAL(cx_vision_model_classify_file(v, "/nonexistent/x.png", top, 3, &err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/nonexistent/x.png"));
    CU_ASSERT_EQUAL(cx_vision_model_classify_pixels(v, px, 28, 28, 5, top, 3, &err), -1);
    cx_vision_model_free(v);
}

static void test_wrong_kind(void)
{
    cx_error err;
    cx_vision_model *v = (cx_vision_model *)1;
    CU_ASSERT_NOT_EQUAL(cx_vision_model_load(&v, MODELS "/digits.safetensors", &err), CX_OK);
    CU_ASSERT_PTR_NULL(v);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not an image model"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "digits.safetensors"));
    cx_speech_model *s = (cx_speech_model *)1;
    CU_ASSERT_NOT_EQUAL(cx_speech_model_load(&s, MODELS "/fashion-mnist.safetensors", &err), CX_OK);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "not a speech model"));
    CU_ASSERT_NOT_EQUAL(cx_speech_model_load(&s, "/nonexistent.safetensors", &err), CX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/nonexistent.safetensors"));
    /* wrap takes the model over even when it refuses it (no leak). */
    cx_model *m = NULL;
    CU_ASSERT_EQUAL_FATAL(cx_model_create(&m, "input 4; dense 2", NULL, &err), CX_OK);
    CU_ASSERT_NOT_EQUAL(cx_speech_model_wrap(&s, m, "tiny", &err), CX_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "tiny: not a speech model"));
}

/* A bundled recording through the model's stored detector, in 0.1 s chunks
 * as 'cortex-speech detect' feeds it: exactly the words of want, in order.
 * Returns the samples (the caller frees them; *n their count). */
static float *expect_detections(cx_speech_model *s, const char *path, int rate,
                                const char *const *want, int nwant, size_t *n)
{
    cx_error err;
    float *x = NULL;
    *n = 0;
    CU_ASSERT_EQUAL_FATAL(cx_audio_load(path, rate, &x, n, NULL, &err), CX_OK);
    cx_detector *d = NULL;
    CU_ASSERT_EQUAL_FATAL(cx_speech_model_detector(s, NULL, &d, &err), CX_OK);
    size_t chunk = (size_t)rate / 10;
    int found = 0;
    cx_detection ev[16];
    for (size_t at = 0; at < *n; at += chunk) {
        int k = cx_detector_push(d, x + at, *n - at < chunk ? *n - at : chunk, ev, 16);
        for (int i = 0; i < k && i < 16; i++, found++)
            if (found < nwant) CU_ASSERT_STRING_EQUAL(ev[i].word, want[found]);
    }
    CU_ASSERT_EQUAL(found, nwant);
    cx_detector_free(d);
    return x;
}

static void test_speech_model(void)
{
    cx_error err;
    cx_speech_model *s = NULL;
    CU_ASSERT_EQUAL_FATAL(cx_speech_model_load(&s, MODELS "/digits.safetensors", &err), CX_OK);
    CU_ASSERT_EQUAL(cx_speech_model_num_words(s), 10);
    CU_ASSERT_EQUAL(cx_speech_model_num_classes(s), 12);
    CU_ASSERT_STRING_EQUAL(cx_speech_model_word(s, 0), "zero");
    CU_ASSERT_STRING_EQUAL(cx_speech_model_words(s)[9], "nine");
    CU_ASSERT_PTR_NULL(cx_speech_model_word(s, 10));
    CU_ASSERT(cx_speech_is_background(cx_speech_model_label(s, 10)));
    CU_ASSERT(!cx_speech_is_background("zero"));
    const cx_feat_config *fc = cx_speech_model_features(s);
    CU_ASSERT_EQUAL(fc->sample_rate, 8000);
    CU_ASSERT_EQUAL(cx_speech_model_window(s), 8000);
    CU_ASSERT_EQUAL(cx_speech_model_frames(s), (int)cx_feat_num_frames(fc, 8000));
    CU_ASSERT(cx_speech_model_has_detect_config(s));
    CU_ASSERT_STRING_EQUAL(cx_speech_model_test_speakers(s), "george,espeak-en-us");
    cx_speech_opts o;
    cx_speech_model_data_opts(s, &o);
    CU_ASSERT_EQUAL(o.sample_rate, 8000);
    CU_ASSERT_EQUAL(o.nwords, 10);
    CU_ASSERT_EQUAL(o.ntest_speakers, 2);
    CU_ASSERT_STRING_EQUAL(o.test_speakers[1], "espeak-en-us");
    CU_ASSERT_EQUAL(o.val_percent, 0);
    CU_ASSERT(cx_speech_model_ratio(s, CX_SPEECH_META_UNKNOWN_RATIO, -1) == 3.0f);
    CU_ASSERT(cx_speech_model_ratio(s, "train.nothing", -1) == -1.0f);

    /* The bundled recording through the stored detector: what
     * 'cortex-speech detect' prints (models/README.md: 7 of the 10). */
    const char *want[] = {"one", "seven", "two", "nine", "five", "eight", "six"};
    size_t n;
    float *x = expect_detections(s, MODELS "/samples/speech/digits.wav", 8000, want, 7, &n);

    /* One clip: the 0.8 s around the first detection (3.50 s, "one"). */
    float probs[12];
    int best = -1;
    CU_ASSERT_EQUAL(cx_speech_model_classify(s, x + 2 * 8000 + 4000, 8000, probs, &best, &err),
                    CX_OK);
    double sum = 0;
    for (int i = 0; i < 12; i++)
        sum += probs[i];
    CU_ASSERT(fabs(sum - 1) < 1e-4);
    CU_ASSERT(best >= 0 && best < 12);
    CU_ASSERT_EQUAL(cx_speech_model_classify_file(s, "/nonexistent.wav", probs, &best, &err),
                    CX_ERR_IO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err.msg, "/nonexistent.wav"));
    free(x);
    cx_speech_model_free(s);
}

/* The shipped commands model on its bundled recording: what
 * 'cortex-speech detect' prints (models/README.md: 8 of the 10). */
static void test_commands_model(void)
{
    cx_error err;
    cx_speech_model *s = NULL;
    CU_ASSERT_EQUAL_FATAL(cx_speech_model_load(&s, MODELS "/commands.safetensors", &err), CX_OK);
    CU_ASSERT_EQUAL(cx_speech_model_num_words(s), 10);
    CU_ASSERT_EQUAL(cx_speech_model_num_classes(s), 12);
    CU_ASSERT_STRING_EQUAL(cx_speech_model_word(s, 0), "yes");
    CU_ASSERT_STRING_EQUAL(cx_speech_model_word(s, 9), "go");
    CU_ASSERT_EQUAL(cx_speech_model_features(s)->sample_rate, 16000);
    CU_ASSERT_PTR_NULL(cx_speech_model_test_speakers(s)); /* split by hash */
    int nseen = 0;
    const char *const *seen = cx_speech_model_seen_speakers(s, &nseen);
    /* its 168 training and 31 validation speakers (trained before the record
     * also held the voices of the running speech) */
    CU_ASSERT_EQUAL(nseen, 168 + 31);
    CU_ASSERT_PTR_NOT_NULL(seen);
    cx_speech_opts o;
    cx_speech_model_data_opts(s, &o);
    CU_ASSERT_EQUAL(o.test_percent, 10);
    CU_ASSERT_EQUAL(o.val_percent, 10);
    CU_ASSERT(o.running_ratio == 1.0f);
    const char *want[] = {"go", "yes", "right", "down", "up", "no", "on", "off"};
    size_t n;
    free(expect_detections(s, MODELS "/samples/speech/commands.wav", 16000, want, 8, &n));
    cx_speech_model_free(s);
}

static void test_placement(void)
{
    float clip[5] = {1, 2, 3, 4, 5}, w[8];
    size_t a, b;
    CU_ASSERT_EQUAL(cx_speech_center_offset(8, 5), 1);
    CU_ASSERT_EQUAL(cx_speech_center_offset(3, 6), -1); /* C rounding: -3 / 2 */
    cx_speech_place(clip, 5, 1, w, 8, &a, &b);
    CU_ASSERT(a == 1 && b == 6 && w[0] == 0 && w[1] == 1 && w[5] == 5 && w[6] == 0);
    cx_speech_place(clip, 5, -2, w, 2, &a, &b);
    CU_ASSERT(a == 0 && b == 2 && w[0] == 3 && w[1] == 4);
    cx_speech_place(clip, 5, 9, w, 8, &a, &b);
    CU_ASSERT(a == b && w[7] == 0);
}

static void test_holdout_and_source(void)
{
    cx_error err;
    cx_dataset *ds = NULL, *tr = NULL, *va = NULL;
    const char *dir = "/usr/share/datasets/fashion-mnist";
    CU_ASSERT_EQUAL_FATAL(cx_dataset_load_mnist_dir(&ds, dir, CX_SPLIT_TEST, CX_MNIST_AUTO, &err),
                          CX_OK);
    CU_ASSERT_EQUAL_FATAL(cx_dataset_holdout(ds, 0.1f, &tr, &va, &err), CX_OK);
    CU_ASSERT_EQUAL(tr->n + va->n, ds->n);
    CU_ASSERT(va->n > 900 && va->n < 1100);
    /* The rule: an item is held out when its name's bucket is below 1000. */
    int bad = 0, j = 0;
    for (int i = 0; i < ds->n; i++) {
        char name[256];
        cx_dataset_item_name(ds, i, name, sizeof name);
        int held = cx_split_bucket(name, 0) < cx_split_buckets_of(0.1);
        if (held)
            bad += j >= va->n ||
                   memcmp(va->pixels + (size_t)j++ * 784, ds->pixels + (size_t)i * 784, 784) != 0;
    }
    CU_ASSERT_EQUAL(bad, 0);
    CU_ASSERT_EQUAL(j, va->n);
    CU_ASSERT_EQUAL(cx_split_buckets_of(0.1f), 1000);
    CU_ASSERT_EQUAL(cx_split_buckets_of(0), 0);
    CU_ASSERT_EQUAL(cx_split_buckets_of(1), CX_SPLIT_BUCKETS);
    /* The batch source normalizes exactly as cx_dataset_get_batch does. */
    float mean = 0.25f, sd = 0.5f;
    cx_dataset_source src = {va, &mean, &sd, {0}};
    cx_train_source ts = cx_dataset_train_source(&src);
    CU_ASSERT_EQUAL(ts.count, va->n);
    int idx[2] = {0, 5}, y[2];
    float x[2 * 784], ref[2 * 784];
    CU_ASSERT_EQUAL(ts.get(ts.ctx, idx, 2, 0, NULL, x, y, &err), CX_OK);
    CU_ASSERT_EQUAL(cx_dataset_get_batch(va, idx, 2, &mean, &sd, ref, NULL, &err), CX_OK);
    CU_ASSERT_EQUAL(memcmp(x, ref, sizeof x), 0);
    CU_ASSERT_EQUAL(y[1], va->labels[5]);
    cx_dataset_free(ds);
    cx_dataset_free(tr);
    cx_dataset_free(va);
}

static void test_strlist(void)
{
    int n = -1;
    char **v = cx_strlist_split("a,,bc,", &n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(v);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_STRING_EQUAL(v[0], "a");
    CU_ASSERT_STRING_EQUAL(v[1], "bc");
    CU_ASSERT_PTR_NULL(v[2]);
    cx_strlist_free(v);
    v = cx_strlist_split("", &n);
    CU_ASSERT(v && n == 0 && !v[0]);
    cx_strlist_free(v);
    cx_strlist_free(NULL);
}

/* A spec reads and writes '.' whatever locale the application chose (under
 * de_DE "dropout 0.5" was refused and "leaky" came out as "leaky 0,01"). */
static void test_spec_locale(void)
{
    const char *names[] = {"de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "de_DE"};
    const char *set = NULL;
    for (size_t i = 0; i < sizeof names / sizeof *names && !set; i++)
        set = setlocale(LC_NUMERIC, names[i]);
    if (!set) {
        printf("(no comma-decimal locale installed, skipped) ");
        return;
    }
    cx_error err;
    cx_model *m = NULL;
    CU_ASSERT_EQUAL(cx_model_create(&m, "input 4; dense 8 leaky; dropout 0.5; dense 2", NULL, &err),
                    CX_OK);
    if (m) {
        CU_ASSERT_PTR_NOT_NULL(strstr(cx_model_spec(m), "leaky 0.01"));
        CU_ASSERT_PTR_NOT_NULL(strstr(cx_model_spec(m), "dropout 0.5"));
    }
    cx_model_free(m);
    setlocale(LC_NUMERIC, "C");
}

int main(void)
{
    static const cx_test tests[] = {{"vision_classify", test_vision_classify},
                                    {"wrong_kind", test_wrong_kind},
                                    {"speech_model", test_speech_model},
                                    {"commands_model", test_commands_model},
                                    {"placement", test_placement},
                                    {"holdout_and_source", test_holdout_and_source},
                                    {"strlist", test_strlist},
                                    {"spec_locale", test_spec_locale},
                                    {NULL, NULL}};
    return cx_test_main("models", tests);
}
