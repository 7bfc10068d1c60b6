/* cortex-speech train: a keyword recognizer from folders of recorded words. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "speech.h"
#include "train_run.h"

/* Named architectures: the input line and the final "dense CLASSES" are
 * added. */
static const struct {
    const char *name, *spec, *about;
} presets[] = {
    /* No per-utterance normalization (tnorm) by default: on FSDD's five
     * speaker rotations it cost 10 points of held-out-speaker accuracy
     * (64.1% with it, 74.2% without, the same recipe otherwise). */
    {"gru", "conv1d 64 5 relu; gru 64; gru 64; mean",
     "a temporal convolution, two GRU layers (default)"},
    {"lstm", "conv1d 64 5 relu; lstm 64; lstm 64; mean", "the same with LSTM layers"},
    {"crnn", "image; conv 16 3 relu; maxpool 1x2; conv 32 3 relu; maxpool 1x2; seq; gru 64; mean",
     "2-D convolutions over time x frequency, then a GRU: best on unseen speakers"},
    /* On speech-commands' validation speakers (one run each, 40-50 epochs):
     * crnn 77.9% at epoch 24 of 40, crnn with batch normalization 86.6%,
     * this 90.8%. */
    {"crnn2",
     "image; conv 16 3; batchnorm; relu; maxpool 1x2; conv 32 3; batchnorm; relu; maxpool 2x2; "
     "conv 32 3; batchnorm; relu; maxpool 1x2; seq; gru 96; mean",
     "three 2-D convolutions with batch normalization, then a GRU at half the frame rate\n"
     "         (the commands model's)"},
    {"small", "gru 48; mean", "one small GRU layer: the cheapest to run"},
};
#define NPRESETS (int)(sizeof presets / sizeof presets[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: cortex-speech train --data DATA --out MODEL [OPTIONS]\n"
               "\n"
               "Trains a keyword recognizer. DATA holds one folder per word with its\n"
               "recordings (DATA/<word>/<speaker>_<n>.wav, any format libsndfile reads, any\n"
               "rate), as in Google's Speech Commands; DATA/_background_noise_/ may hold long\n"
               "noise recordings, mixed into training clips and cut into _silence_ examples.\n"
               "Folders not chosen with --words become the _unknown_ class, and so do\n"
               "segments of DATA/_running_speech_/ (long recordings of people talking\n"
               "without saying a keyword: datasets/make_running_speech.sh). Speakers are\n"
               "split into train/validation/test by a hash of the speaker name (the part of\n"
               "the file name before the first '_'), so no speaker is in two splits.\n"
               "The best model (by validation accuracy) goes to MODEL, a checkpoint to\n"
               "MODEL.ckpt, the learning curve to MODEL.curve.png; the detector's settings\n"
               "are then tuned on a validation stream and stored in MODEL: the setting that\n"
               "finds the most words with at most 1 false detection per hour of audio\n"
               "without keywords and a median delay under 300 ms.\n"
               "\n"
               "data:\n"
               "  --data DATA            the word folders (required)\n"
               "  --out MODEL            model file to write (required)\n"
               "  --words a,b,c          the keywords (default: every word folder)\n"
               "  --test-speakers a,b    hold out exactly these speakers for testing\n"
               "  --test-percent N       else hold out speakers by hash (default 10); with\n"
               "                         --test-speakers too, both are held out\n"
               "  --val-percent N        validation speakers by hash (default 10; 0 = none)\n"
               "  --unknown-ratio X      _unknown_ examples per keyword class size (default 1)\n"
               "  --silence-ratio X      _silence_ examples per keyword class size (default 1)\n"
               "  --running-ratio X      _unknown_ segments cut from DATA/_running_speech_ per\n"
               "                         keyword class size (default 1)\n"
               "features:\n"
               "  --rate HZ              sample rate of the model (default 16000)\n"
               "  --window SECONDS       length of the window the model classifies (default 1)\n"
               "  --mels N               mel bands (default 40)\n"
               "  --mfcc N               use N MFCCs instead of log-mel energies\n"
               "  --log-floor X          added to mel energies before the log (default 1e-6)\n"
               "model and training:\n"
               "  --arch ARCH            a preset or a layer spec (default gru)\n"
               "  --epochs N             (default 30)\n"
               "  --batch N              (default 64)\n"
               "  --optimizer NAME       adamw, adam, sgd or nesterov (default adamw)\n"
               "  --lr X                 peak learning rate (default 0.003)\n"
               "  --schedule NAME        onecycle, cosine, step or constant (default onecycle)\n"
               "  --weight-decay X       (default 0.01)\n"
               "  --label-smoothing X    (default 0.1)\n"
               "  --seed N               same seed, data and threads give the same model\n"
               "  --threads N            CPU threads (default: all cores)\n"
               "  --resume               continue from MODEL.ckpt\n"
               "  --stop-after N         stop after N batches as Ctrl-C would (tests)\n"
               "  --teacher MODEL        learn from a trained model of the same words and\n"
               "                         features as well (knowledge distillation): each\n"
               "                         example's target is partly its label, partly the\n"
               "                         teacher's probabilities for it. A `combine` ensemble\n"
               "                         as the teacher gives one network much of the\n"
               "                         ensemble's accuracy at one network's cost to run.\n"
               "                         Mining rounds learn from the labels alone.\n"
               "  --teacher-weight X     the teacher's part of each target (default 0.5)\n"
               "augmentation (training clips only):\n"
               "  --no-augment           none of the below\n"
               "  --shift-ms X           random time shift (default: half the window, so a\n"
               "                         word is seen anywhere in it, as the detector sees it)\n"
               "  --speed A:B            speed/pitch perturbation range (default 0.9:1.1)\n"
               "  --gain-db X            random gain of up to +-X dB (default 20:\n"
               "                         microphones and speakers differ that much)\n"
               "  --noise-prob P         add background noise with probability P (default 0.8)\n"
               "  --snr A:B              noise SNR range in dB (default 0:20)\n"
               "  --masks T:F            SpecAugment time and frequency masks (default 2:2)\n"
               "  --warp X               random stretch of the mel axis by up to X (0.1 = 10%%,\n"
               "                         vocal tracts of other lengths; default 0 = off)\n"
               "  --eq-db X              random microphone colouring of up to X dB across the\n"
               "                         mel bands (log-mel features; default 0 = off)\n"
               "  --partial P            with probability P a keyword example shows only the\n"
               "                         start or the end of its word and is labelled _unknown_,\n"
               "                         as a live detector sees words enter and leave its\n"
               "                         window (needs other words in DATA; default 0 = off)\n"
               "hard-negative mining (needs DATA/_running_speech_ and an _unknown_ class):\n"
               "  --mine-rounds N        after training, N times: run the detector over the\n"
               "                         training speakers' running speech, add every window\n"
               "                         that fires as an _unknown_ example, train on\n"
               "                         (default 0); false detections per hour on the\n"
               "                         validation speakers' running speech are reported\n"
               "                         before and after each round\n"
               "  --mine-epochs N        epochs of each round (default: a fifth of --epochs,\n"
               "                         at least 2), at 0.3 times --lr\n"
               "  --mine-threshold X     detection threshold while mining, below the tuned\n"
               "                         one to catch near misses too (default 0.5)\n"
               "  --mine-max N           windows added per round at most (default: the mean\n"
               "                         keyword class size)\n"
               "live detection:\n" SPEECH_TUNE_LIMITS_HELP "  -h, --help             this help\n"
               "\n"
               "presets:\n");
    for (int i = 0; i < NPRESETS; i++)
        fprintf(f, "  %-6s %s\n", presets[i].name, presets[i].about);
}

/* Opens --teacher's model and checks that it hears what m will: the same
 * labels in the same order, the same features and window. */
static cx_status load_teacher(const char *path, cx_model *m, const char *features, int window,
                              cx_speech_model **out, cx_error *err)
{
    cx_status st = cx_speech_model_load(out, path, err);
    if (st) return st;
    cx_model *t = cx_speech_model_net(*out);
    char fs[CX_FEAT_CONFIG_STRLEN];
    const char *why = NULL;
    if (cx_model_num_labels(t) != cx_model_num_labels(m)) why = "a different number of classes";
    for (int i = 0; !why && i < cx_model_num_labels(m); i++)
        if (strcmp(cx_model_label(t, i), cx_model_label(m, i)) != 0) why = "other classes";
    if (!why && (cx_feat_config_to_string(cx_speech_model_features(*out), fs, sizeof fs, err) ||
                 strcmp(fs, features) != 0))
        why = "other features (--rate, --mels, --mfcc, --log-floor)";
    if (!why && cx_speech_model_window(*out) != window) why = "another --window";
    if (!why) return CX_OK;
    cx_speech_model_free(*out);
    *out = NULL;
    return cx_fail(err, CX_ERR_ARG,
                   "--teacher %s: it has %s than this training run; train the teacher on the "
                   "same words and features",
                   path, why);
}

typedef struct {
    train_args t; /* the options every train command takes */
    const char *words, *test_speakers;
    int rate, mels, mfcc, test_pct, test_pct_set, val_pct;
    float log_floor;
    float window, unknown_ratio, silence_ratio, running_ratio;
    int mine_rounds, mine_epochs, mine_max;
    float mine_threshold;
    const char *teacher;
    float teacher_weight;
    cx_speech_augment aug;
    speech_tune_limits limits;
} train_opts;

static int parse_range(const char *opt, const char *v, float lo, float hi, float *a, float *b)
{
    char extra;
    if (sscanf(v, "%f:%f%c", a, b, &extra) == 2 && *a >= lo && *b <= hi && *a <= *b) return 0;
    cli_error(PROG, "%s: '%s' is not A:B with %g <= A <= B <= %g", opt, v, (double)lo, (double)hi);
    return -1;
}

/* 0: go on; 1: --help was shown; -1: a usage error was reported. */
static int parse_args(int argc, char **argv, train_opts *o)
{
    enum {
        O_WORDS = 256,
        O_TS,
        O_TP,
        O_VP,
        O_UR,
        O_SR,
        O_RATE,
        O_WIN,
        O_MELS,
        O_MFCC,
        O_NOAUG,
        O_SHIFT,
        O_SPEED,
        O_GAIN,
        O_NP,
        O_SNR,
        O_MASKS,
        O_EQ,
        O_FLOOR,
        O_WARP,
        O_PARTIAL,
        O_MAXFA,
        O_MAXDELAY,
        O_RR,
        O_MROUNDS,
        O_MEPOCHS,
        O_MTHR,
        O_MMAX,
        O_TEACHER,
        O_TWEIGHT
    };
    static const struct option opts[] = {TRAIN_ARGS_OPTIONS,

                                         {"words", required_argument, 0, O_WORDS},
                                         {"test-speakers", required_argument, 0, O_TS},
                                         {"test-percent", required_argument, 0, O_TP},
                                         {"val-percent", required_argument, 0, O_VP},
                                         {"unknown-ratio", required_argument, 0, O_UR},
                                         {"silence-ratio", required_argument, 0, O_SR},
                                         {"running-ratio", required_argument, 0, O_RR},
                                         {"mine-rounds", required_argument, 0, O_MROUNDS},
                                         {"mine-epochs", required_argument, 0, O_MEPOCHS},
                                         {"mine-threshold", required_argument, 0, O_MTHR},
                                         {"mine-max", required_argument, 0, O_MMAX},
                                         {"teacher", required_argument, 0, O_TEACHER},
                                         {"teacher-weight", required_argument, 0, O_TWEIGHT},
                                         {"rate", required_argument, 0, O_RATE},
                                         {"window", required_argument, 0, O_WIN},
                                         {"mels", required_argument, 0, O_MELS},
                                         {"mfcc", required_argument, 0, O_MFCC},

                                         {"no-augment", no_argument, 0, O_NOAUG},
                                         {"shift-ms", required_argument, 0, O_SHIFT},
                                         {"speed", required_argument, 0, O_SPEED},
                                         {"gain-db", required_argument, 0, O_GAIN},
                                         {"noise-prob", required_argument, 0, O_NP},
                                         {"snr", required_argument, 0, O_SNR},
                                         {"masks", required_argument, 0, O_MASKS},
                                         {"eq-db", required_argument, 0, O_EQ},
                                         {"partial", required_argument, 0, O_PARTIAL},
                                         {"warp", required_argument, 0, O_WARP},
                                         {"log-floor", required_argument, 0, O_FLOOR},
                                         {"max-false-per-hour", required_argument, 0, O_MAXFA},
                                         {"max-delay-ms", required_argument, 0, O_MAXDELAY},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->limits = (speech_tune_limits)SPEECH_TUNE_LIMITS_DEFAULT;
    o->t.arch = "gru";
    o->t.optimizer = "adamw";
    o->t.schedule = "onecycle";
    o->rate = 16000;
    o->mels = 40;
    o->t.epochs = 30;
    o->t.batch = 64;
    o->t.lr = 0.003f;
    o->t.weight_decay = 0.01f;
    o->t.smoothing = 0.1f;
    o->window = 1.0f;
    o->t.seed = 1;
    o->test_pct = 10;
    o->val_pct = 10;
    o->unknown_ratio = 1.0f;
    o->silence_ratio = 1.0f;
    o->running_ratio = 1.0f;
    o->mine_epochs = -1;
    o->mine_threshold = 0.5f;
    o->teacher_weight = 0.5f;
    cx_speech_augment_default(&o->aug);
    o->aug.shift_ms = -1; /* half the window, once it is known */
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, TRAIN_ARGS_SHORT "h", opts, NULL)) != -1) {
        int bad = 0, r = train_args_option(&o->t, PROG, c, optarg);
        if (r < 0) return -1;
        if (r) continue;
        int t, f;
        switch (c) {
        case O_WORDS:
            o->words = optarg;
            break;
        case O_TS:
            o->test_speakers = optarg;
            break;
        case O_TP:
            bad = cli_int(PROG, "--test-percent", optarg, 0, 100, &o->test_pct);
            o->test_pct_set = 1;
            break;
        case O_VP:
            bad = cli_int(PROG, "--val-percent", optarg, 0, 100, &o->val_pct);
            break;
        case O_UR:
            bad = cli_float(PROG, "--unknown-ratio", optarg, 0, 100, &o->unknown_ratio);
            break;
        case O_SR:
            bad = cli_float(PROG, "--silence-ratio", optarg, 0, 100, &o->silence_ratio);
            break;
        case O_RR:
            bad = cli_float(PROG, "--running-ratio", optarg, 0, 100, &o->running_ratio);
            break;
        case O_MROUNDS:
            bad = cli_int(PROG, "--mine-rounds", optarg, 0, 100, &o->mine_rounds);
            break;
        case O_MEPOCHS:
            bad = cli_int(PROG, "--mine-epochs", optarg, 1, 100000, &o->mine_epochs);
            break;
        case O_MTHR:
            bad = cli_float(PROG, "--mine-threshold", optarg, 0.01f, 1, &o->mine_threshold);
            break;
        case O_MMAX:
            bad = cli_int(PROG, "--mine-max", optarg, 1, 10000000, &o->mine_max);
            break;
        case O_TEACHER:
            o->teacher = optarg;
            break;
        case O_TWEIGHT:
            bad = cli_float(PROG, "--teacher-weight", optarg, 0.01f, 1, &o->teacher_weight);
            break;
        case O_RATE:
            bad = cli_int(PROG, "--rate", optarg, 4000, 96000, &o->rate);
            break;
        case O_WIN:
            bad = cli_float(PROG, "--window", optarg, 0.1, 10, &o->window);
            break;
        case O_MELS:
            bad = cli_int(PROG, "--mels", optarg, 4, 128, &o->mels);
            break;
        case O_MFCC:
            bad = cli_int(PROG, "--mfcc", optarg, 2, 128, &o->mfcc);
            break;
        case O_NOAUG:
            cx_speech_augment_off(&o->aug);
            o->aug.shift_ms = 0;
            break;
        case O_SHIFT:
            bad = cli_float(PROG, "--shift-ms", optarg, 0, 5000, &o->aug.shift_ms);
            break;
        case O_SPEED:
            bad = parse_range("--speed", optarg, 0.5f, 2.0f, &o->aug.speed_min, &o->aug.speed_max);
            break;
        case O_GAIN:
            bad = cli_float(PROG, "--gain-db", optarg, 0, 40, &o->aug.gain_db);
            break;
        case O_FLOOR:
            bad = cli_float(PROG, "--log-floor", optarg, 1e-12f, 1.0f, &o->log_floor);
            break;
        case O_WARP:
            bad = cli_float(PROG, "--warp", optarg, 0, 0.5f, &o->aug.warp);
            break;
        case O_EQ:
            bad = cli_float(PROG, "--eq-db", optarg, 0, 40, &o->aug.eq_db);
            break;
        case O_MAXFA:
            bad = cli_float(PROG, "--max-false-per-hour", optarg, 0, 3600, &o->limits.fa_per_hour);
            break;
        case O_MAXDELAY:
            bad = cli_int(PROG, "--max-delay-ms", optarg, 0, 10000, &o->limits.max_delay_ms);
            break;
        case O_PARTIAL:
            bad = cli_float(PROG, "--partial", optarg, 0, 1, &o->aug.partial_prob);
            break;
        case O_NP:
            bad = cli_float(PROG, "--noise-prob", optarg, 0, 1, &o->aug.noise_prob);
            break;
        case O_SNR:
            bad = parse_range("--snr", optarg, -30.0f, 60.0f, &o->aug.snr_min, &o->aug.snr_max);
            break;
        case O_MASKS: {
            char extra;
            if (sscanf(optarg, "%d:%d%c", &t, &f, &extra) != 2 || t < 0 || f < 0 || t > 20 ||
                f > 20) {
                cli_error(PROG, "--masks: '%s' is not T:F with counts from 0 to 20", optarg);
                bad = 1;
            } else {
                o->aug.time_masks = t;
                o->aug.freq_masks = f;
            }
            break;
        }
        case 'h':
            usage(stdout);
            return 1;
        default:
            bad = 1;
        }
        if (bad) return -1;
    }
    if (train_args_check(&o->t, PROG, argc, argv)) return -1;
    if (o->aug.shift_ms < 0) o->aug.shift_ms = 500.0f * o->window;
    if (o->mine_epochs < 0) o->mine_epochs = o->t.epochs / 5 > 2 ? o->t.epochs / 5 : 2;
    if (o->test_pct + o->val_pct > 100) {
        cli_error(PROG, "train: --test-percent plus --val-percent is more than 100");
        return -1;
    }
    return 0;
}

static int load_progress(void *user, int done, int total)
{
    (void)user;
    if (isatty(STDERR_FILENO) && (done % 200 == 0 || done == total))
        fprintf(stderr, "\r\033[Kloading clips %d/%d", done, total);
    return cli_stop ? 1 : 0;
}

static void report_dataset(const char *what, const cx_speech_dataset *ds)
{
    if (isatty(STDERR_FILENO)) fprintf(stderr, "\r\033[K");
    for (int i = 0; i < ds->nwarnings && i < 20; i++)
        fprintf(stderr, "%s: warning: %s\n", PROG, ds->warnings[i]);
    if (ds->total_warnings > 20)
        fprintf(stderr, "%s: ... %lld more warnings\n", PROG, ds->total_warnings - 20);
    int *counts = calloc((size_t)ds->nclasses, sizeof *counts);
    if (!counts) return;
    cx_speech_class_counts(ds, counts);
    printf("%s: %d examples from %d speakers:", what, ds->n, ds->nspeakers);
    for (int i = 0; i < ds->nclasses; i++)
        printf(" %s %d", ds->class_names[i], counts[i]);
    printf("\n");
    if (ds->nrunning)
        printf("%s: running speech: %d recordings, %.1f min (%d _unknown_ segments)\n", what,
               ds->nrunning, ds->running_seconds_total / 60, ds->running_segments);
    free(counts);
}

/* The spec for the arch option: a preset or the user's layers, with the
 * input line and the classifier added. */
static int build_spec(const char *arch, int frames, int bins, int classes, char *spec, size_t len)
{
    const char *body = arch;
    for (int i = 0; i < NPRESETS; i++)
        if (!strcmp(arch, presets[i].name)) body = presets[i].spec;
    if (strstr(body, "input ")) {
        cli_error(PROG, "--arch: leave out the input line (it follows from --rate, --window "
                        "and the feature options)");
        return -1;
    }
    snprintf(spec, len, "input %d %d; %s; dense %d", frames, bins, body, classes);
    return 0;
}

/* False detections per hour of ds's running speech with the mining
 * detector, or -1 without any. */
static double false_per_hour(const cx_speech_dataset *ds, cx_model *m, const cx_feat_config *fc,
                             const cx_detect_config *dc, cx_error *err, cx_status *st)
{
    if (!ds || ds->nrunning == 0) return -1;
    cx_speech_mine_report r;
    *st = cx_speech_count_false((const char *const *)ds->running_paths, ds->nrunning, m, fc, dc, &r,
                                err);
    return *st || r.hours <= 0 ? -1 : r.detections / r.hours;
}

static void print_rate(const char *what, double per_hour)
{
    if (per_hour >= 0) printf("%s %.1f per hour", what, per_hour);
}

/* --mine-rounds: the detector runs over the training speakers' running
 * speech, every window that fires becomes an _unknown_ example and training
 * goes on from the current weights (at 0.3 times the learning rate, without
 * a checkpoint: the model file keeps each round's best). */
static cx_status mine_rounds(const train_opts *o, cx_model *m, const cx_feat_config *fc, int window,
                             cx_melspec *fx, cx_speech_dataset *train, const cx_speech_dataset *val,
                             cx_speech_source **tsrc, const cx_train_source *vs,
                             const cx_train_config *base, train_run *run, cx_error *err)
{
    if (train->unknown_label < 0)
        return cx_fail(err, CX_ERR_ARG,
                       "--mine-rounds: the model has no _unknown_ class to add "
                       "false detections to (give --words, with other word "
                       "folders or DATA/%s)",
                       CX_SPEECH_RUNNING_DIR);
    if (train->nrunning == 0)
        return cx_fail(err, CX_ERR_ARG,
                       "--mine-rounds: %s/%s holds no recording of a training speaker to mine "
                       "(datasets/make_running_speech.sh makes such recordings)",
                       o->t.data, CX_SPEECH_RUNNING_DIR);
    cx_detect_config dc;
    cx_speech_mine_config(&dc, o->mine_threshold);
    int max_add = o->mine_max;
    if (max_add == 0) {
        int *counts = calloc((size_t)train->nclasses, sizeof *counts);
        if (!counts) return cx_fail(err, CX_ERR_NOMEM, "out of memory");
        cx_speech_class_counts(train, counts);
        long sum = 0;
        for (int i = 0; i < train->nwords; i++)
            sum += counts[i];
        free(counts);
        max_add = train->nwords ? (int)(sum / train->nwords) : 100;
        if (max_add < 1) max_add = 1;
    }
    /* cx_train records its run in the model (train.epochs, seed, ...): keep
     * the main run's record, the rounds go to train.mine. */
    static const char *const keys[] = {"train.date",         "train.epochs", "train.epochs_planned",
                                       "train.val_accuracy", "train.seed",   "train.steps"};
    enum { NKEYS = sizeof keys / sizeof keys[0] };
    char saved[NKEYS][64];
    for (int i = 0; i < NKEYS; i++) {
        const char *v = cx_model_get_meta(m, keys[i]);
        snprintf(saved[i], sizeof saved[i], "%s", v ? v : "");
    }
    int mined = 0, mined_epochs = 0;
    cx_status st = CX_OK;
    double before = false_per_hour(val, m, fc, &dc, err, &st);
    if (st) return st;
    for (int r = 1; r <= o->mine_rounds && !cli_stop; r++) {
        cx_speech_mine_report rep;
        if ((st = cx_speech_mine(train, m, fc, window, &dc, 1, max_add, &rep, err))) return st;
        printf("mining round %d/%d: %d false detections in %.2f h of the training speakers' "
               "running speech (%.1f per hour, threshold %g); %d windows added as %s",
               r, o->mine_rounds, rep.detections, rep.hours,
               rep.hours > 0 ? rep.detections / rep.hours : 0.0, (double)dc.threshold, rep.added,
               CX_SPEECH_UNKNOWN);
        print_rate("; validation speakers' running speech:", before);
        printf("\n");
        fflush(stdout);
        if (rep.added == 0) {
            printf("mining: nothing fired, nothing to learn from: the rounds stop\n");
            break;
        }
        cx_speech_source_free(*tsrc);
        *tsrc = NULL;
        if ((st = cx_speech_source_create(tsrc, train, fx, window, &o->aug, err))) return st;
        cx_train_source ts = cx_speech_train_source(*tsrc);
        cx_train_config cfg = *base;
        cfg.teacher = NULL; /* the teacher never heard these windows as _unknown_ */
        cfg.epochs = o->mine_epochs;
        cfg.lr = base->lr * 0.3f;
        cfg.resume = 0;
        cfg.checkpoint_path = NULL;
        cfg.seed = base->seed + (uint64_t)r;
        run->epochs = o->mine_epochs;
        cx_train_result res = {0};
        st = cx_train(m, &ts, vs && vs->count ? vs : NULL, &cfg, &res, err);
        cli_progress_done();
        mined += rep.added;
        mined_epochs += res.epochs_done;
        if (!st && vs && vs->count)
            printf("mining round %d: best validation accuracy %.2f%% at epoch %d\n", r,
                   100.0 * res.best_val_acc, res.best_epoch);
        cx_train_result_free(&res);
        if (st == CX_ERR_INTERRUPTED) cli_interrupted = 1;
        if (st == CX_ERR_INTERRUPTED)
            return cx_fail(err, CX_ERR_INTERRUPTED,
                           "interrupted in mining round %d; %s holds the best model so far", r,
                           o->t.out);
        if (st) return st;
        double after = false_per_hour(val, m, fc, &dc, err, &st);
        if (st) return st;
        if (after >= 0)
            printf("mining round %d: validation speakers' running speech %.1f -> %.1f false "
                   "detections per hour (threshold %g)\n",
                   r, before, after, (double)dc.threshold);
        before = after;
    }
    for (int i = 0; !st && i < NKEYS; i++)
        if (saved[i][0]) st = cx_model_set_meta(m, keys[i], saved[i], err);
    if (st) return st;
    char buf[200];
    snprintf(buf, sizeof buf,
             "rounds=%d epochs=%d threshold=%g max=%d lr=%g added=%d epochs_done=%d "
             "val_false_per_hour=%.1f",
             o->mine_rounds, o->mine_epochs, (double)o->mine_threshold, max_add,
             (double)base->lr * 0.3, mined, mined_epochs, before);
    return cx_model_set_meta(m, "train.mine", buf, err);
}

int cmd_train(int argc, char **argv)
{
    train_opts o;
    int parsed = parse_args(argc, argv, &o);
    if (parsed > 0) return EXIT_OK;
    if (parsed < 0) {
        fprintf(stderr, "Try 'cortex-speech train --help'.\n");
        return EXIT_USAGE;
    }
    cx_error err;
    cx_train_config cfg;
    if (train_args_config(&o.t, &cfg, &err) || cx_speech_augment_check(&o.aug, &err)) {
        cli_error(PROG, "%s", err.msg);
        return EXIT_USAGE;
    }
    cx_set_threads(cli_threads(o.t.threads));
    cli_install_stop_handler();

    int rc = EXIT_ERROR, nwords = 0, nts = 0;
    char **words = o.words ? cx_strlist_split(o.words, &nwords) : NULL;
    char **test_speakers = o.test_speakers ? cx_strlist_split(o.test_speakers, &nts) : NULL;
    train_run run = {
        .prog = PROG, .out = o.t.out, .rate_unit = "clips/s", .stop_after = o.t.stop_after};
    cx_speech_dataset *train = NULL, *val = NULL;
    cx_speech_source *tsrc = NULL, *vsrc = NULL;
    cx_melspec *fx = NULL;
    cx_model *m = NULL;
    cx_speech_model *teacher = NULL;
    cx_status st;
    cx_speech_opts so;
    cx_speech_opts_init(&so);
    so.sample_rate = o.rate;
    so.words = (const char *const *)words;
    so.nwords = nwords;
    so.unknown_ratio = o.unknown_ratio;
    so.silence_ratio = o.silence_ratio;
    so.running_ratio = o.running_ratio;
    so.running_seconds = o.window < so.max_seconds ? o.window : so.max_seconds;
    so.test_percent = o.test_pct;
    so.val_percent = o.val_pct;
    so.test_speakers = (const char *const *)test_speakers;
    so.ntest_speakers = nts;
    so.test_percent_too = test_speakers && o.test_pct_set;
    so.progress = load_progress;
    so.split = CX_SPLIT_TRAIN;
    if ((st = cx_speech_load(&train, o.t.data, &so, &err))) goto fail;
    report_dataset("training", train);
    so.split = CX_SPLIT_VAL;
    if (o.val_pct > 0) {
        if (cx_speech_load(&val, o.t.data, &so, &err)) {
            if (isatty(STDERR_FILENO)) fprintf(stderr, "\r\033[K");
            cli_error(PROG, "warning: no validation speakers (%s): the last epoch is kept",
                      err.msg);
            val = NULL;
        } else {
            report_dataset("validation", val);
        }
    }

    cx_feat_config fc;
    cx_feat_config_default(&fc, o.rate);
    fc.n_mels = o.mels;
    if (o.log_floor > 0.0f) fc.log_floor = o.log_floor;
    if (o.mfcc) {
        fc.kind = CX_FEAT_MFCC;
        fc.n_mfcc = o.mfcc;
    }
    if ((st = cx_feat_config_validate(&fc, &err)) || (st = cx_melspec_create(&fx, &fc, &err)))
        goto fail;
    int window = (int)lroundf(o.window * (float)o.rate);
    int frames = (int)cx_feat_num_frames(&fc, (size_t)window), bins = cx_feat_num_features(&fc);
    if (frames < 1) {
        st = cx_fail(&err, CX_ERR_ARG, "--window %g s gives no feature frame", (double)o.window);
        goto fail;
    }
    char spec[4096];
    if (build_spec(o.t.arch, frames, bins, train->nclasses, spec, sizeof spec)) goto done;
    if ((st = cx_model_create(&m, spec, NULL, &err))) {
        char msg[sizeof err.msg];
        snprintf(msg, sizeof msg, "%s", err.msg);
        st = cx_fail(&err, CX_ERR_ARG, "--arch: %s", msg);
        goto fail;
    }
    cx_model_init(m, o.t.seed);
    char fs[CX_FEAT_CONFIG_STRLEN], buf[512];
    if ((st = cx_feat_config_to_string(&fc, fs, sizeof fs, &err))) goto fail;
    if ((st = cx_model_set_labels(m, train->nclasses, (const char *const *)train->class_names,
                                  &err)) ||
        (st = cx_speech_model_set_features(m, &fc, window, &err)) ||
        (st = cx_model_set_meta(m, "train.data", o.t.data, &err)))
        goto fail;
    snprintf(buf, sizeof buf, "%s lr=%g wd=%g schedule=%s batch=%d smoothing=%g", o.t.optimizer,
             (double)o.t.lr, (double)o.t.weight_decay, o.t.schedule, o.t.batch,
             (double)o.t.smoothing);
    if ((st = cx_model_set_meta(m, "train.recipe", buf, &err))) goto fail;
    snprintf(buf, sizeof buf,
             "shift=%gms speed=%g:%g gain=%gdB noise=%g snr=%g:%g masks=%d:%d eq=%gdB warp=%g "
             "partial=%g",
             (double)o.aug.shift_ms, (double)o.aug.speed_min, (double)o.aug.speed_max,
             (double)o.aug.gain_db, (double)o.aug.noise_prob, (double)o.aug.snr_min,
             (double)o.aug.snr_max, o.aug.time_masks, o.aug.freq_masks, (double)o.aug.eq_db,
             (double)o.aug.warp, (double)o.aug.partial_prob);
    if ((st = cx_model_set_meta(m, "train.augment", buf, &err))) goto fail;
    if ((st = cx_speech_model_set_split(m, &so, o.test_speakers, &err))) goto fail;
    snprintf(buf, sizeof buf, "%d", train->nspeakers);
    if ((st = cx_model_set_meta(m, "train.speakers", buf, &err)) ||
        (st = cx_speech_model_set_seen(m, train, val, &err)))
        goto fail;

    if (o.teacher) {
        if ((st = load_teacher(o.teacher, m, fs, window, &teacher, &err))) goto fail;
        cfg.teacher = cx_speech_model_net(teacher);
        cfg.teacher_weight = o.teacher_weight;
        snprintf(buf, sizeof buf, "%s weight=%g", o.teacher, (double)o.teacher_weight);
        if ((st = cx_model_set_meta(m, "train.teacher", buf, &err))) goto fail;
    }

    char workers[64];
    printf("model: %s\n       %zu parameters; features %s; %s\n", cx_model_spec(m),
           cx_model_num_params(m), fs, cli_workers(workers, sizeof workers));
    if (teacher)
        printf("teacher: %s (%zu parameters), weight %g\n", o.teacher,
               cx_model_num_params(cx_speech_model_net(teacher)), (double)o.teacher_weight);
    fflush(stdout);

    if ((st = cx_speech_source_create(&tsrc, train, fx, window, &o.aug, &err))) goto fail;
    if (val && (st = cx_speech_source_create(&vsrc, val, fx, window, NULL, &err))) goto fail;
    cx_train_source ts = cx_speech_train_source(tsrc);
    cx_train_source vs = vsrc ? cx_speech_train_source(vsrc) : (cx_train_source){0};
    if ((st = train_run_prepare(&run, &cfg, &err))) goto fail;
    st = train_run_go(&run, m, &ts, vsrc ? &vs : NULL, &cfg, &err);
    if (st == CX_ERR_INTERRUPTED) goto done;
    if (st) goto fail;
    cx_train_result res = run.res;
    if (vsrc)
        printf("best validation accuracy %.2f%% at epoch %d\n", 100.0 * res.best_val_acc,
               res.best_epoch);
    if (o.mine_rounds > 0) {
        st = mine_rounds(&o, m, &fc, window, fx, train, val, &tsrc, vsrc ? &vs : NULL, &cfg, &run,
                         &err);
        if (st == CX_ERR_INTERRUPTED) {
            cli_error(PROG, "%s", err.msg);
            goto done;
        }
        if (st) goto fail;
    }
    /* m now holds the best weights: tune the detector on speakers it did not
     * train on where there are any. */
    if ((st = speech_tune_and_save(m, &fc, val ? val : train, o.t.out, o.t.seed, &o.limits, &err)))
        goto fail;
    printf("model saved to %s\nlearning curve: %s\n", o.t.out, run.curve);
    rc = EXIT_OK;
    goto done;
fail:
    cli_error(PROG, "%s", err.msg);
done:
    train_run_done(&run);
    cx_speech_source_free(tsrc);
    cx_speech_source_free(vsrc);
    cx_melspec_free(fx);
    cx_model_free(m);
    cx_speech_model_free(teacher);
    cx_speech_free(train);
    cx_speech_free(val);
    cx_strlist_free(words);
    cx_strlist_free(test_speakers);
    return rc;
}
