/* Speech model files: their metadata, classification of clips, the live
 * detector and its tuning (see cortex/speech_model.h). */
#include "cortex/speech_model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cortex/io.h"
#include "cortex/loss.h"
#include "data_util.h"

#define META_TEST_SPEAKERS "train.test_speakers"
#define META_TEST_PERCENT "train.test_percent"
#define META_VAL_PERCENT "train.val_percent"

struct cx_speech_model {
    cx_model *m;
    cx_feat_config feat;
    cx_detect_config detect;
    int has_detect;
    int window, frames, bins;
    cx_melspec *fx;
    const char **words; /* nwords keyword labels (into m's labels) */
    int nwords;
    char **test_speakers; /* the recorded train.test_speakers, split (cx_strlist) */
    int ntest_speakers;
    char **seen; /* the recorded train.seen_speakers, split (cx_strlist) */
    int nseen;
    float *win, *feats; /* classification buffers: window, frames x bins */
};

int cx_speech_is_background(const char *label)
{
    return label && (!strcmp(label, CX_SPEECH_SILENCE) || !strcmp(label, CX_SPEECH_UNKNOWN));
}

void cx_speech_model_free(cx_speech_model *s)
{
    if (!s) return;
    cx_melspec_free(s->fx);
    cx_model_free(s->m);
    free(s->words);
    cx_strlist_free(s->test_speakers);
    cx_strlist_free(s->seen);
    free(s->win);
    free(s->feats);
    free(s);
}

/* Everything that can be wrong with a speech model, in the order a reader
 * meets it; the message names the file. */
static cx_status check_model(cx_speech_model *s, const char *name, cx_error *err)
{
    const char *fs = cx_model_get_meta(s->m, CX_SPEECH_META_FEATURES);
    const char *ws = cx_model_get_meta(s->m, CX_SPEECH_META_WINDOW);
    if (!fs || !ws)
        return cx_fail(err, CX_ERR_FORMAT, "%s: not a speech model (no %s / %s metadata)", name,
                       CX_SPEECH_META_FEATURES, CX_SPEECH_META_WINDOW);
    if (cx_feat_config_parse(&s->feat, fs, err)) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return cx_fail(err, CX_ERR_FORMAT, "%s: %s: %s", name, CX_SPEECH_META_FEATURES, msg);
    }
    char *end;
    long w = strtol(ws, &end, 10);
    if (*end || w < 1 || w > (long)CX_SPEECH_MAX_SECONDS * s->feat.sample_rate)
        return cx_fail(err, CX_ERR_FORMAT, "%s: bad %s '%s'", name, CX_SPEECH_META_WINDOW, ws);
    s->window = (int)w;
    const cx_shape *in = cx_model_input_shape(s->m), *out = cx_model_output_shape(s->m);
    s->frames = (int)cx_feat_num_frames(&s->feat, (size_t)w);
    s->bins = cx_feat_num_features(&s->feat);
    if (in->ndim != 2 || in->d[0] != s->frames || in->d[1] != s->bins)
        return cx_fail(err, CX_ERR_FORMAT,
                       "%s: the model's input does not match its feature settings (%d frames of "
                       "%d)",
                       name, s->frames, s->bins);
    int k = cx_model_num_labels(s->m);
    if (out->ndim != 1 || out->d[0] != k)
        return cx_fail(err, CX_ERR_FORMAT, "%s: %d labels for %d outputs", name, k,
                       out->ndim == 1 ? out->d[0] : -1);
    if (cx_detect_config_from_model(s->m, &s->detect, err)) {
        char msg[sizeof err->msg];
        snprintf(msg, sizeof msg, "%s", err->msg);
        return cx_fail(err, CX_ERR_FORMAT, "%s: %s", name, msg);
    }
    s->has_detect = cx_model_get_meta(s->m, CX_DETECT_META_KEY) != NULL;
    return CX_OK;
}

cx_status cx_speech_model_wrap(cx_speech_model **out, cx_model *m, const char *name, cx_error *err)
{
    *out = NULL;
    if (!name) name = "model";
    if (!m) return cx_fail(err, CX_ERR_ARG, "%s: NULL model", name);
    cx_speech_model *s = calloc(1, sizeof *s);
    if (!s) {
        cx_model_free(m);
        return cx_fail(err, CX_ERR_NOMEM, "%s: out of memory", name);
    }
    s->m = m;
    cx_status st = check_model(s, name, err);
    if (st) goto fail;
    int k = cx_model_num_labels(m);
    s->words = malloc(sizeof *s->words * (size_t)(k > 0 ? k : 1));
    s->win = malloc(sizeof *s->win * (size_t)s->window);
    s->feats = malloc(sizeof *s->feats * (size_t)s->frames * (size_t)s->bins);
    const char *ts = cx_model_get_meta(m, META_TEST_SPEAKERS);
    const char *seen = cx_model_get_meta(m, CX_SPEECH_META_SEEN);
    if (!s->words || !s->win || !s->feats ||
        (ts && !(s->test_speakers = cx_strlist_split(ts, &s->ntest_speakers))) ||
        (seen && *seen && !(s->seen = cx_strlist_split(seen, &s->nseen)))) {
        st = cx_fail(err, CX_ERR_NOMEM, "%s: out of memory", name);
        goto fail;
    }
    for (int i = 0; i < k; i++)
        if (!cx_speech_is_background(cx_model_label(m, i)))
            s->words[s->nwords++] = cx_model_label(m, i);
    if ((st = cx_melspec_create(&s->fx, &s->feat, err)) || (st = cx_model_reserve(m, 1, err)))
        goto fail;
    *out = s;
    return CX_OK;
fail:
    cx_speech_model_free(s);
    return st;
}

cx_status cx_speech_model_load(cx_speech_model **out, const char *path, cx_error *err)
{
    *out = NULL;
    cx_model *m = NULL;
    cx_status st = cx_model_load(&m, path, err);
    return st ? st : cx_speech_model_wrap(out, m, path, err);
}

cx_model *cx_speech_model_net(const cx_speech_model *s)
{
    return s->m;
}
const cx_feat_config *cx_speech_model_features(const cx_speech_model *s)
{
    return &s->feat;
}
cx_melspec *cx_speech_model_extractor(const cx_speech_model *s)
{
    return s->fx;
}
const cx_detect_config *cx_speech_model_detect_config(const cx_speech_model *s)
{
    return &s->detect;
}
int cx_speech_model_has_detect_config(const cx_speech_model *s)
{
    return s->has_detect;
}
int cx_speech_model_window(const cx_speech_model *s)
{
    return s->window;
}
int cx_speech_model_frames(const cx_speech_model *s)
{
    return s->frames;
}
int cx_speech_model_features_per_frame(const cx_speech_model *s)
{
    return s->bins;
}
int cx_speech_model_num_classes(const cx_speech_model *s)
{
    return cx_model_num_labels(s->m);
}
const char *cx_speech_model_label(const cx_speech_model *s, int i)
{
    return cx_model_label(s->m, i);
}
int cx_speech_model_num_words(const cx_speech_model *s)
{
    return s->nwords;
}
const char *cx_speech_model_word(const cx_speech_model *s, int i)
{
    return i >= 0 && i < s->nwords ? s->words[i] : NULL;
}
const char *const *cx_speech_model_words(const cx_speech_model *s)
{
    return s->words;
}

cx_status cx_speech_model_classify(cx_speech_model *s, const float *clip, size_t n, float *probs,
                                   int *best, cx_error *err)
{
    if (!s || (!clip && n) || !probs)
        return cx_fail(err, CX_ERR_ARG, "speech classify: NULL model, clip or probabilities");
    size_t W = (size_t)s->window;
    cx_speech_place(clip, n, cx_speech_center_offset(W, n), s->win, W, NULL, NULL);
    int got = cx_melspec_compute(s->fx, s->win, W, s->feats, s->frames);
    if (got != s->frames)
        return cx_fail(err, CX_ERR_STATE, "feature extraction gave %d of %d frames", got,
                       s->frames);
    int k = cx_model_num_labels(s->m);
    cx_softmax(cx_model_forward(s->m, 1, s->feats), 1, k, probs);
    if (best) {
        *best = 0;
        for (int j = 1; j < k; j++)
            if (probs[j] > probs[*best]) *best = j;
    }
    return CX_OK;
}

cx_status cx_speech_model_classify_file(cx_speech_model *s, const char *path, float *probs,
                                        int *best, cx_error *err)
{
    if (!s) return cx_fail(err, CX_ERR_ARG, "speech classify: NULL model");
    float *clip = NULL;
    size_t n = 0;
    cx_status st = cx_audio_load(path, s->feat.sample_rate, &clip, &n, NULL, err);
    if (!st) st = cx_speech_model_classify(s, clip, n, probs, best, err);
    free(clip);
    return st;
}

cx_status cx_speech_model_detector(cx_speech_model *s, const cx_detect_config *dc,
                                   cx_detector **out, cx_error *err)
{
    if (!s) return cx_fail(err, CX_ERR_ARG, "speech detector: NULL model");
    return cx_detector_create(out, s->m, &s->feat, dc ? dc : &s->detect, err);
}

cx_status cx_speech_model_set_features(cx_model *m, const cx_feat_config *fc, int window,
                                       cx_error *err)
{
    char fs[CX_FEAT_CONFIG_STRLEN], ws[32];
    cx_status st = cx_feat_config_to_string(fc, fs, sizeof fs, err);
    snprintf(ws, sizeof ws, "%d", window);
    if (!st) st = cx_model_set_meta(m, CX_SPEECH_META_FEATURES, fs, err);
    if (!st) st = cx_model_set_meta(m, CX_SPEECH_META_WINDOW, ws, err);
    return st;
}

cx_status cx_speech_model_set_split(cx_model *m, const cx_speech_opts *o, const char *test_speakers,
                                    cx_error *err)
{
    char buf[32];
    cx_status st = CX_OK;
    if (test_speakers) st = cx_model_set_meta(m, META_TEST_SPEAKERS, test_speakers, err);
    if (!st && (!test_speakers || o->test_percent_too)) {
        snprintf(buf, sizeof buf, "%d", o->test_percent);
        st = cx_model_set_meta(m, META_TEST_PERCENT, buf, err);
    }
    snprintf(buf, sizeof buf, "%d", o->val_percent);
    if (!st) st = cx_model_set_meta(m, META_VAL_PERCENT, buf, err);
    snprintf(buf, sizeof buf, "%g", (double)o->unknown_ratio);
    if (!st) st = cx_model_set_meta(m, CX_SPEECH_META_UNKNOWN_RATIO, buf, err);
    snprintf(buf, sizeof buf, "%g", (double)o->silence_ratio);
    if (!st) st = cx_model_set_meta(m, CX_SPEECH_META_SILENCE_RATIO, buf, err);
    snprintf(buf, sizeof buf, "%g", (double)o->running_ratio);
    if (!st) st = cx_model_set_meta(m, CX_SPEECH_META_RUNNING_RATIO, buf, err);
    return st;
}

static int has_name(char *const *v, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(v[i], name)) return 1;
    return 0;
}

cx_status cx_speech_model_set_seen(cx_model *m, const cx_speech_dataset *train,
                                   const cx_speech_dataset *val, cx_error *err)
{
    /* the speakers of the clips and the voices of the running speech */
    const cx_speech_dataset *d[2] = {train, val};
    int cap = 1;
    for (int k = 0; k < 2; k++)
        if (d[k]) cap += d[k]->nspeakers + d[k]->nrunning;
    char **names = calloc((size_t)cap, sizeof *names);
    if (!names) return cx_fail(err, CX_ERR_NOMEM, "out of memory");
    int n = 0;
    size_t len = 1;
    cx_status st = CX_OK;
    for (int k = 0; k < 2 && !st; k++)
        for (int i = 0; d[k] && i < d[k]->nspeakers + d[k]->nrunning && !st; i++) {
            char spk[128];
            if (i < d[k]->nspeakers)
                snprintf(spk, sizeof spk, "%s", d[k]->speakers[i]);
            else
                cx_speech_speaker_of(d[k]->running_paths[i - d[k]->nspeakers], spk, sizeof spk);
            if (has_name(names, n, spk)) continue;
            if (!(names[n] = strdup(spk))) st = cx_fail(err, CX_ERR_NOMEM, "out of memory");
            len += strlen(spk) + 1;
            n++;
        }
    char *buf = st ? NULL : malloc(len);
    if (!st && !buf) st = cx_fail(err, CX_ERR_NOMEM, "out of memory");
    if (!st) {
        size_t at = 0;
        buf[0] = 0;
        for (int i = 0; i < n; i++)
            at += (size_t)sprintf(buf + at, "%s%s", at ? "," : "", names[i]);
        st = cx_model_set_meta(m, CX_SPEECH_META_SEEN, buf, err);
    }
    free(buf);
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return st;
}

const char *const *cx_speech_model_seen_speakers(const cx_speech_model *s, int *nseen)
{
    *nseen = s->nseen;
    return (const char *const *)s->seen;
}

static int is_dir(const char *root, const char *name)
{
    char *p = cx_path_join(root, name);
    struct stat sb;
    int d = p && stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
    free(p);
    return d;
}

cx_status cx_speech_model_load_data(const cx_speech_model *s, const char *root,
                                    const cx_speech_opts *o, cx_speech_dataset **out, int **map,
                                    cx_error *err)
{
    *out = NULL;
    *map = NULL;
    cx_speech_opts so = *o;
    const char **words = malloc(sizeof *words * (size_t)(s->nwords ? s->nwords : 1));
    if (!words) return cx_fail(err, CX_ERR_NOMEM, "out of memory");
    int n = 0;
    for (int i = 0; i < s->nwords; i++)
        if (is_dir(root, s->words[i])) words[n++] = s->words[i];
    if (n == 0) {
        free(words);
        if (!is_dir(root, "."))
            return cx_fail(err, CX_ERR_IO, "%s: cannot open dataset folder", root);
        return cx_fail(err, CX_ERR_ARG,
                       "%s holds a folder for none of the model's words (%s%s ...): "
                       "give a folder of them (DATA/<word>/<speaker>_<n>.wav)",
                       root, s->nwords ? s->words[0] : "", s->nwords > 1 ? "," : "");
    }
    so.words = words;
    so.nwords = n;
    if (!is_dir(root, CX_SPEECH_NOISE_DIR)) so.silence_ratio = 0;
    cx_status st = cx_speech_load(out, root, &so, err);
    free(words);
    if (st) return st;
    cx_speech_dataset *ds = *out;
    if (!(*map = malloc(sizeof(int) * (size_t)ds->nclasses))) {
        cx_speech_free(ds);
        *out = NULL;
        return cx_fail(err, CX_ERR_NOMEM, "out of memory");
    }
    for (int c = 0; c < ds->nclasses; c++) {
        (*map)[c] = -1;
        for (int j = 0; j < cx_model_num_labels(s->m); j++)
            if (!strcmp(ds->class_names[c], cx_model_label(s->m, j))) (*map)[c] = j;
        if ((*map)[c] < 0) {
            /* only _unknown_ can be missing: the model has no such class */
            st = cx_fail(err, CX_ERR_ARG, "%s: class '%s' is not one of the model's labels", root,
                         ds->class_names[c]);
            free(*map);
            *map = NULL;
            cx_speech_free(ds);
            *out = NULL;
            return st;
        }
    }
    return CX_OK;
}

void cx_speech_model_data_opts(const cx_speech_model *s, cx_speech_opts *o)
{
    cx_speech_opts_init(o);
    o->sample_rate = s->feat.sample_rate;
    o->words = s->words;
    o->nwords = s->nwords;
    int has_unknown = 0;
    for (int i = 0; i < cx_model_num_labels(s->m); i++)
        has_unknown |= !strcmp(cx_model_label(s->m, i), CX_SPEECH_UNKNOWN);
    if (!has_unknown) o->unknown_ratio = o->running_ratio = 0;
    const char *tp = cx_model_get_meta(s->m, META_TEST_PERCENT);
    if (tp) o->test_percent = atoi(tp);
    if (s->test_speakers) {
        o->test_speakers = (const char *const *)s->test_speakers;
        o->ntest_speakers = s->ntest_speakers;
        o->test_percent_too = tp != NULL;
    }
    const char *vp = cx_model_get_meta(s->m, META_VAL_PERCENT);
    if (vp) o->val_percent = atoi(vp);
    if (has_unknown)
        o->running_ratio = cx_speech_model_ratio(s, CX_SPEECH_META_RUNNING_RATIO, o->running_ratio);
}

const char *cx_speech_model_test_speakers(const cx_speech_model *s)
{
    return cx_model_get_meta(s->m, META_TEST_SPEAKERS);
}

float cx_speech_model_ratio(const cx_speech_model *s, const char *key, float fallback)
{
    const char *v = cx_model_get_meta(s->m, key);
    if (!v) return fallback;
    char *end = NULL;
    double d = strtod(v, &end);
    return *end || !(d >= 0 && d <= 100) ? fallback : (float)d;
}

cx_status cx_speech_tune_detector(cx_model *m, const cx_feat_config *fc,
                                  const cx_speech_dataset *ds, uint64_t seed,
                                  double max_fa_per_hour, double max_median_delay_s,
                                  cx_speech_tune_report *rep, cx_error *err)
{
    if (!m || !fc || !ds || !rep)
        return cx_fail(err, CX_ERR_ARG, "detector tuning: NULL model, features, data or report");
    memset(rep, 0, sizeof *rep);
    cx_speech_keyword_stream ks;
    cx_status st = cx_speech_keyword_stream_build(&ks, ds, seed, err);
    if (st) return st;
    st = cx_detect_tune(m, fc, NULL, NULL, ks.samples, ks.length, ks.truth, ks.ntruth,
                        ks.background_hours, max_fa_per_hour, max_median_delay_s,
                        CX_DETECT_TOLERANCE_S, &rep->result, err);
    if (!st) {
        char buf[CX_DETECT_CONFIG_STRLEN];
        st = cx_detect_config_to_string(&rep->result.config, buf, sizeof buf, err);
        if (!st) st = cx_model_set_meta(m, CX_DETECT_META_KEY, buf, err);
    }
    rep->stream_seconds = (double)ks.length / ds->sample_rate;
    rep->background_seconds = ks.background_hours * 3600.0;
    rep->words = ks.ntruth;
    cx_speech_keyword_stream_free(&ks);
    return st;
}

/* Adds window samples of x ending at sample end (zero-padded before the
 * recording's start) as an _unknown_ clip. */
static cx_status add_window(cx_speech_dataset *ds, const char *path, const float *x, size_t end,
                            int window, cx_error *err)
{
    cx_speech_item *v = realloc(ds->items, sizeof *v * ((size_t)ds->n + 1));
    if (!v) return cx_fail(err, CX_ERR_NOMEM, "mining: out of memory");
    ds->items = v;
    cx_speech_item *it = &ds->items[ds->n];
    memset(it, 0, sizeof *it);
    size_t start = end > (size_t)window ? end - (size_t)window : 0;
    char name[4200];
    snprintf(name, sizeof name, "%s@%.3f", path, (double)start / ds->sample_rate);
    if (!(it->samples = calloc((size_t)window, sizeof(float))) || !(it->path = strdup(name))) {
        free(it->samples);
        return cx_fail(err, CX_ERR_NOMEM, "mining: out of memory");
    }
    size_t pad = (size_t)window - (end - start);
    memcpy(it->samples + pad, x + start, sizeof(float) * (end - start));
    it->length = window;
    it->label = ds->unknown_label;
    it->speaker = -1;
    it->active_start = 0;
    it->active_end = window;
    if (window > ds->max_length) ds->max_length = window;
    ds->n++;
    return CX_OK;
}

void cx_speech_mine_config(cx_detect_config *dc, float threshold)
{
    cx_detect_config_default(dc);
    dc->threshold = threshold;
    dc->average_ms = 0;
    dc->min_count = 1;
    dc->suppress_ms = 1000;
}

/* Runs d over the recordings paths[0..n) (audio without keywords, loaded at
 * rate; those that do not decode are skipped) and counts its detections;
 * with ds set, adds the window before each one to ds (at most max_add, 0:
 * no limit). */
static cx_status scan(cx_detector *d, const char *const *paths, int n, int rate,
                      cx_speech_dataset *ds, int window, int max_add, cx_speech_mine_report *rep,
                      cx_error *err)
{
    cx_status st = CX_OK;
    size_t chunk = (size_t)rate / 10;
    double samples = 0;
    for (int r = 0; !st && r < n; r++) {
        float *x = NULL;
        size_t len = 0;
        cx_error ferr;
        if (cx_audio_load(paths[r], rate, &x, &len, NULL, &ferr)) continue;
        cx_detector_reset(d);
        samples += (double)len;
        for (size_t at = 0; !st && at < len; at += chunk) {
            cx_detection ev[32];
            int k = cx_detector_push(d, x + at, len - at < chunk ? len - at : chunk, ev, 32);
            rep->detections += k;
            for (int i = 0; !st && ds && i < k && i < 32; i++) {
                if (max_add > 0 && rep->added >= max_add) break;
                size_t end = (size_t)llround(ev[i].time * rate);
                if (end > len) end = len;
                st = add_window(ds, paths[r], x, end, window, err);
                rep->added += !st;
            }
        }
        free(x);
    }
    rep->hours = samples / rate / 3600.0;
    return st;
}

cx_status cx_speech_count_false(const char *const *paths, int n, cx_model *m,
                                const cx_feat_config *fc, const cx_detect_config *dc,
                                cx_speech_mine_report *rep, cx_error *err)
{
    if ((n > 0 && !paths) || !m || !fc || !rep)
        return cx_fail(err, CX_ERR_ARG, "false detections: NULL argument");
    memset(rep, 0, sizeof *rep);
    cx_detector *d = NULL;
    cx_status st = cx_detector_create(&d, m, fc, dc, err);
    if (!st) st = scan(d, paths, n, fc->sample_rate, NULL, 0, 0, rep, err);
    cx_detector_free(d);
    return st;
}

cx_status cx_speech_mine(cx_speech_dataset *ds, cx_model *m, const cx_feat_config *fc, int window,
                         const cx_detect_config *dc, int add, int max_add,
                         cx_speech_mine_report *rep, cx_error *err)
{
    if (!ds || !m || !fc || !rep) return cx_fail(err, CX_ERR_ARG, "mining: NULL argument");
    memset(rep, 0, sizeof *rep);
    if (add && ds->unknown_label < 0)
        return cx_fail(err, CX_ERR_ARG, "mining: %s has no _unknown_ class to add windows to",
                       ds->root);
    if (window < 1 || fc->sample_rate != ds->sample_rate)
        return cx_fail(err, CX_ERR_ARG,
                       "mining: window %d or rate %d Hz does not fit the data "
                       "(%d Hz)",
                       window, fc->sample_rate, ds->sample_rate);
    cx_detector *d = NULL;
    cx_status st = cx_detector_create(&d, m, fc, dc, err);
    if (!st)
        st = scan(d, (const char *const *)ds->running_paths, ds->nrunning, ds->sample_rate,
                  add ? ds : NULL, window, max_add, rep, err);
    cx_detector_free(d);
    return st;
}
