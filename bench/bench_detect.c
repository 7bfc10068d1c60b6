/* Keyword detection on long streams, for bench/speech.sh and the model card.
 *
 *   bench_detect MODEL DATA SPEAKERS [SEED] [BACKGROUND_MINUTES] [WAV_OUT] [RUNNING_DIR]
 * [THRESHOLD]
 *
 * SPEAKERS: the test speakers, comma-separated, or "-" for the model's own
 * test split (the speakers its training held out by hash). WAV_OUT "-": none.
 * Builds a stream of every clip of the test speakers of
 * the model's keywords, separated by 0.5-2 s gaps of silence or background
 * noise and, in half of them, a clip of another word (DATA's non-keyword
 * folders, if any); runs the model's live detector over it and scores it:
 * keywords found, false detections, median delay from the end of a word to
 * its detection. Then runs the detector over BACKGROUND_MINUTES (default
 * 60) of audio without any keyword (noise, silence and the other words) and
 * counts false detections per hour, and which word fired on which other
 * word (a detection within a second of the end of another word's clip is
 * put down to that word). WAV_OUT, if given, receives the first stream (the
 * demo's bundled recording is made this way). Then false detections per hour
 * on running speech (people talking, no keyword): the test speakers'
 * recordings in DATA/_running_speech_, synthetic voices and real ones
 * (arabic-*) apart, and every recording of RUNNING_DIR/_running_speech_ if
 * given (voices in none of the training data). THRESHOLD replaces the stored
 * detector's threshold (what 'detect --threshold' does), to measure the
 * trade a user makes with it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cortex/cortex.h"

static int run(cx_detector *d, const float *x, size_t n, int rate, cx_detection **out)
{
    int cap = 1024, count = 0;
    *out = malloc(sizeof **out * (size_t)cap);
    cx_detection ev[64];
    size_t chunk = (size_t)rate / 10;
    for (size_t at = 0; at < n; at += chunk) {
        size_t len = n - at < chunk ? n - at : chunk;
        int k = cx_detector_push(d, x + at, len, ev, 64);
        for (int i = 0; i < k && i < 64; i++) {
            if (count == cap) *out = realloc(*out, sizeof **out * (size_t)(cap *= 2));
            (*out)[count++] = ev[i];
        }
    }
    return count;
}

/* Background false detections, counted by "fired word <- other word". */
typedef struct {
    char what[160];
    int n;
} tally;

static void count_false(tally *t, int *nt, int cap, const cx_detection *det, int ndet,
                        const cx_speech_dataset *ds, const cx_speech_event *ev, int nev, int rate)
{
    for (int i = 0; i < ndet; i++) {
        double s = det[i].time * rate;
        /* The other word is its clip's folder: DATA/<word>/<file>. */
        const char *word = "noise or silence";
        int len = (int)strlen(word);
        for (int j = 0; j < nev; j++) {
            const char *path = ds->items[ev[j].item].path, *file = strrchr(path, '/');
            if ((double)ev[j].start > s || s >= (double)ev[j].end + rate || !file || file == path)
                continue;
            word = file - 1;
            while (word > path && word[-1] != '/')
                word--;
            len = (int)(file - word);
        }
        char what[160];
        snprintf(what, sizeof what, "%s <- %.*s", det[i].word, len, word);
        int k = 0;
        while (k < *nt && strcmp(t[k].what, what))
            k++;
        if (k == *nt) {
            if (*nt == cap) continue;
            snprintf(t[k].what, sizeof t[k].what, "%s", what);
            t[k].n = 0;
            (*nt)++;
        }
        t[k].n++;
    }
}

/* False detections per hour on the running-speech recordings of paths
 * (n of them) whose voice starts with "arabic-" (real = 1) or not (0), or
 * all of them (real = -1). */
static double g_threshold = -1; /* THRESHOLD, or < 0: the stored one */

/* The model's stored detector settings, with THRESHOLD if given. */
static cx_status detect_config(cx_speech_model *sm, cx_detect_config *dc, cx_error *err)
{
    cx_status st = cx_detect_config_from_model(cx_speech_model_net(sm), dc, err);
    if (!st && g_threshold >= 0) dc->threshold = (float)g_threshold;
    return st;
}

static void running_fa(cx_speech_model *sm, char **paths, int n, int real, const char *what)
{
    char **sel = malloc(sizeof(char *) * (size_t)(n ? n : 1));
    int k = 0;
    for (int i = 0; i < n; i++) {
        const char *base = strrchr(paths[i], '/');
        base = base ? base + 1 : paths[i];
        int is_real = !strncmp(base, "arabic-", 7);
        if (real < 0 || is_real == real) sel[k++] = paths[i];
    }
    if (k == 0) {
        free(sel);
        return;
    }
    cx_detect_config dc;
    cx_error err;
    cx_speech_mine_report r;
    if (detect_config(sm, &dc, &err) ||
        cx_speech_count_false((const char *const *)sel, k, cx_speech_model_net(sm),
                              cx_speech_model_features(sm), &dc, &r, &err)) {
        printf("running speech (%s): %s\n", what, err.msg);
    } else {
        printf("running speech, %s: %d recordings, %.1f min: %d false detections = %.2f per hour\n",
               what, k, r.hours * 60, r.detections, r.hours > 0 ? r.detections / r.hours : 0.0);
    }
    free(sel);
}

static int by_count(const void *a, const void *b)
{
    return ((const tally *)b)->n - ((const tally *)a)->n;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr,
                "usage: bench_detect MODEL DATA SPEAKERS|- [SEED] [BACKGROUND_MINUTES] [WAV_OUT|-] "
                "[RUNNING_DIR] [THRESHOLD]\n");
        return 2;
    }
    uint64_t seed = argc > 4 ? strtoull(argv[4], NULL, 10) : 1;
    double bg_minutes = argc > 5 ? atof(argv[5]) : 60.0;
    const char *wav = argc > 6 && strcmp(argv[6], "-") ? argv[6] : NULL;
    const char *running_dir = argc > 7 && strcmp(argv[7], "-") ? argv[7] : NULL;
    if (argc > 8) g_threshold = atof(argv[8]);
    cx_error err;
    cx_speech_model *sm;
    if (cx_speech_model_load(&sm, argv[1], &err)) {
        fprintf(stderr, "bench_detect: %s\n", err.msg);
        return 1;
    }
    const cx_feat_config fc = *cx_speech_model_features(sm);
    int nsp = 0;
    char **speakers = strcmp(argv[3], "-") ? cx_strlist_split(argv[3], &nsp) : NULL;
    cx_speech_opts so;
    cx_speech_model_data_opts(sm, &so);
    if (so.unknown_ratio > 0)
        so.unknown_ratio = 1000.0f; /* every other word (the most allowed): distractors */
    if (speakers) {
        so.test_speakers = (const char *const *)speakers;
        so.ntest_speakers = nsp;
        so.test_percent_too = 0; /* exactly these */
    }
    so.split = CX_SPLIT_TEST;
    cx_speech_dataset *ds;
    if (cx_speech_load(&ds, argv[2], &so, &err)) {
        fprintf(stderr, "bench_detect: %s\n", err.msg);
        return 1;
    }
    /* The keyword stream without the running speech, which is scored on its
     * own below. */
    int nrunning = ds->nrunning;
    ds->nrunning = 0;
    cx_speech_keyword_stream ks;
    cx_status kst = cx_speech_keyword_stream_build(&ks, ds, seed, &err);
    ds->nrunning = nrunning;
    if (kst) {
        fprintf(stderr, "bench_detect: %s\n", err.msg);
        return 1;
    }
    const float *x = ks.samples;
    size_t n = ks.length;
    int nt = ks.ntruth, nev = ks.nevents, nd = ks.nothers;
    if (wav && cx_audio_save_wav(wav, x, n, fc.sample_rate, &err)) {
        fprintf(stderr, "bench_detect: %s\n", err.msg);
        return 1;
    }
    cx_detector *d;
    cx_detect_config dc;
    if (detect_config(sm, &dc, &err) || cx_speech_model_detector(sm, &dc, &d, &err)) {
        fprintf(stderr, "bench_detect: %s\n", err.msg);
        return 1;
    }
    cx_detection *det;
    clock_t c0 = clock();
    int ndet = run(d, x, n, fc.sample_rate, &det);
    double cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    cx_detect_stats st;
    cx_detect_score(det, ndet, ks.truth, nt, CX_DETECT_TOLERANCE_S, &st, NULL, &err);
    double secs = (double)n / fc.sample_rate;
    printf("stream: %.0f s, %d keywords of %d speakers (%s), %d other words\n", secs, nt,
           ds->nspeakers, speakers ? argv[3] : "the model's test split", nev - nt);
    printf("found %d of %d (%.1f%%), %d false detections, median delay %.0f ms, mean %.0f ms\n",
           st.hits, nt, 100.0 * st.hits / (nt ? nt : 1), st.false_alarms, 1000 * st.median_delay,
           1000 * st.mean_delay);
    printf("detector CPU: %.3f s for %.0f s of audio (%.2f%% of one core)\n", cpu, secs,
           100 * cpu / secs);
    free(det);

    /* Background only: noise, silence and other words, no keyword. */
    if (bg_minutes > 0) {
        double total = 0;
        int fas = 0, round = 0, ntally = 0;
        tally tl[32];
        while (total < bg_minutes * 60) {
            cx_speech_stream_opts b = ks.opts;
            b.seed = seed * 1000 + (uint64_t)round++;
            b.distractor_prob = nd ? 1.0f : 0.0f;
            b.gap_min = 1.0f;
            b.gap_max = 4.0f;
            float *y;
            size_t ny;
            cx_speech_event *bev;
            int nb;
            /* One "keyword" is needed by the builder: use a distractor item
             * list instead and count every detection as false. */
            const int *items = nd ? ks.others : ks.keywords;
            int ni = nd ? nd : 0;
            if (!ni) break;
            if (cx_speech_stream_build(ds, items, ni, &b, &y, &ny, &bev, &nb, &err)) break;
            cx_detector_reset(d);
            cx_detection *bd;
            int nbd = run(d, y, ny, fc.sample_rate, &bd);
            fas += nbd;
            count_false(tl, &ntally, 32, bd, nbd, ds, bev, nb, fc.sample_rate);
            total += (double)ny / fc.sample_rate;
            free(bd);
            free(y);
            free(bev);
        }
        if (total <= 0) {
            printf("background: no other words in DATA to build a keyword-free stream\n");
        } else {
            printf("background: %.1f min without keywords (other words, noise, silence): %d false "
                   "detections = %.2f per hour\n",
                   total / 60, fas, fas / (total / 3600));
            if (ntally) {
                qsort(tl, (size_t)ntally, sizeof *tl, by_count);
                printf("  fired on (word <- what was said):");
                for (int i = 0; i < ntally && i < 8; i++)
                    printf("%s %s %d", i ? "," : "", tl[i].what, tl[i].n);
                printf("\n");
            }
        }
    }
    running_fa(sm, ds->running_paths, ds->nrunning, 0, "synthetic voices of the test split");
    running_fa(sm, ds->running_paths, ds->nrunning, 1, "real voices of the test split");
    if (running_dir) {
        char dir[4096], **names = NULL;
        snprintf(dir, sizeof dir, "%s/%s", running_dir, CX_SPEECH_RUNNING_DIR);
        int nn = cx_list_folder(dir, &names);
        if (nn <= 0) {
            printf("running speech: %s holds no recordings\n", dir);
        } else {
            for (int i = 0; i < nn; i++) {
                char *full = malloc(strlen(dir) + strlen(names[i]) + 2);
                sprintf(full, "%s/%s", dir, names[i]);
                free(names[i]);
                names[i] = full;
            }
            running_fa(sm, names, nn, 0, "synthetic voices in no training data");
            running_fa(sm, names, nn, 1, "real voices in no training data");
        }
        cx_strlist_free(names);
    }
    cx_detector_free(d);
    cx_speech_keyword_stream_free(&ks);
    cx_strlist_free(speakers);
    cx_speech_free(ds);
    cx_speech_model_free(sm);
    return 0;
}
