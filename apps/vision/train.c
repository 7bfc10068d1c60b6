/* cortex-vision train: a CNN from a folder of labelled images or IDX files. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "train_run.h"
#include "vision.h"

/* Named architectures; the final "dense CLASSES" is appended. */
static const struct {
    const char *name;
    int channels, size;
    const char *spec;
    const char *about;
} presets[] = {
    {"small28", 1, 28,
     "conv 32 3; bn; relu; maxpool 2; conv 64 3; bn; relu; maxpool 2; dense 128 relu; dropout 0.3",
     "28x28 grayscale (digits, clothes); fast"},
    {"fmnist", 1, 28,
     "conv 32 3; bn; relu; conv 32 3; bn; relu; maxpool 2; dropout 0.1; conv 64 3; bn; relu; "
     "conv 64 3; bn; relu; maxpool 2; dropout 0.2; dense 256; bn; relu; dropout 0.4",
     "28x28 grayscale, the recipe of the shipped Fashion-MNIST model"},
    {"ref", 1, 28, "conv 32 3 relu; maxpool 2; conv 64 3 relu; maxpool 2; dense 128 relu",
     "the benchmark's reference CNN"},
    {"rgb32", 3, 32,
     "conv 32 3; bn; relu; conv 32 3; bn; relu; maxpool 2; conv 64 3; bn; relu; conv 64 3; bn; "
     "relu; maxpool 2; conv 128 3; bn; relu; gap; dropout 0.2",
     "32x32 colour photos"},
    {"resnet32", 3, 32,
     "conv 32 3; bn; relu; res { conv 32 3; bn; relu; conv 32 3; bn }; relu; "
     "res { conv 64 3 stride=2; bn; relu; conv 64 3; bn }; relu; "
     "res { conv 64 3; bn; relu; conv 64 3; bn }; relu; "
     "res { conv 128 3 stride=2; bn; relu; conv 128 3; bn }; relu; "
     "res { conv 128 3; bn; relu; conv 128 3; bn }; relu; gap",
     "32x32 colour photos, a small ResNet (five residual blocks)"},
    {"resnet64", 3, 64,
     "conv 32 3 stride=2; bn; relu; res { conv 32 3; bn; relu; conv 32 3; bn }; relu; "
     "res { conv 64 3 stride=2; bn; relu; conv 64 3; bn }; relu; "
     "res { conv 64 3; bn; relu; conv 64 3; bn }; relu; "
     "res { conv 128 3 stride=2; bn; relu; conv 128 3; bn }; relu; "
     "res { conv 128 3; bn; relu; conv 128 3; bn }; relu; "
     "res { conv 256 3 stride=2; bn; relu; conv 256 3; bn }; relu; gap; dropout 0.2",
     "64x64 to 128x128 colour photos, a ResNet (a strided stem, six residual blocks)"},
};
#define NPRESETS (int)(sizeof presets / sizeof presets[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: cortex-vision train --data DATA --out MODEL [OPTIONS]\n"
               "\n"
               "Trains an image classifier. DATA is a folder of class folders\n"
               "(DATA/<label>/<image>; labels come from the folder names), optionally split\n"
               "into DATA/train, DATA/val and DATA/test, or a folder of MNIST-style IDX\n"
               "files such as /usr/share/datasets/fashion-mnist. Images of any size and\n"
               "format are converted to the model's input. The best model (by validation\n"
               "accuracy) is saved to MODEL, a checkpoint to MODEL.ckpt after every epoch\n"
               "and on Ctrl-C, and the learning curve to MODEL.curve.png.\n"
               "\n"
               "data:\n"
               "  --data DATA            training data (required)\n"
               "  --out MODEL            model file to write (required)\n"
               "  --val-split F          held-out validation fraction when DATA has no val/\n"
               "                         folder (by a hash of the file name; default 0.1;\n"
               "                         0 = no validation, the last epoch is kept)\n"
               "  --channels 1|3         input channels (default: 3 if the images have colour)\n"
               "  --size HxW             input size (default: the architecture's, 28x28 gray or\n"
               "                         32x32 colour)\n"
               "model:\n"
               "  --arch ARCH            a preset or a layer spec (default small28 for gray,\n"
               "                         rgb32 for colour); the last 'dense CLASSES' is added\n"
               "training:\n"
               "  --epochs N             passes over the data (default 10)\n"
               "  --batch N              batch size (default 64)\n"
               "  --optimizer NAME       adamw, adam, sgd or nesterov (default adamw)\n"
               "  --lr X                 peak learning rate (default 0.002; sgd 0.05)\n"
               "  --schedule NAME        onecycle, cosine, step or constant (default onecycle)\n"
               "  --weight-decay X       (default 0.0005; adamw 0.05)\n"
               "  --label-smoothing X    (default 0)\n"
               "  --seed N               random seed; same seed, data and threads give the\n"
               "                         same model bit for bit (default 1)\n"
               "  --threads N            CPU threads (default: all cores)\n"
               "  --resume               continue from MODEL.ckpt (same data and options)\n"
               "  --stop-after N         stop after N batches as Ctrl-C would, checkpoint\n"
               "                         included (time-boxed runs, tests)\n"
               "augmentation (training images only):\n"
               "  --crop PAD             random crop with PAD pixels of zero padding\n"
               "                         (default 2; 0 = off)\n"
               "  --flip                 random horizontal flips (off by default: they hurt\n"
               "                         digits and text)\n"
               "  --erase P              random erasing with probability P (default 0)\n"
               "  --init MODEL           fine-tune: start from MODEL's layers (its architecture,\n"
               "                         input and normalization); its last dense layer is\n"
               "                         made anew for DATA's labels\n"
               "  --freeze N             with --init: keep the first N layers as trained\n"
               "  -h, --help             this help\n"
               "\n"
               "presets:\n");
    for (int i = 0; i < NPRESETS; i++)
        fprintf(f, "  %-8s %s\n", presets[i].name, presets[i].about);
}

typedef struct {
    train_args t; /* the options every train command takes */
    float val_split;
    int channels, height, width;
    cx_augment aug;
    const char *init; /* --init MODEL */
    int freeze;       /* --freeze N */
} train_opts;

static int parse_size(const char *s, int *h, int *w)
{
    char extra;
    if (sscanf(s, "%dx%d%c", h, w, &extra) == 2 && *h >= 4 && *w >= 4 && *h <= 1024 && *w <= 1024)
        return 0;
    if (sscanf(s, "%d%c", h, &extra) == 1 && *h >= 4 && *h <= 1024) {
        *w = *h;
        return 0;
    }
    cli_error(PROG, "--size: '%s' is not HxW with sides from 4 to 1024", s);
    return -1;
}

/* 0: go on; 1: --help was shown; -1: a usage error was reported. */
static int parse_args(int argc, char **argv, train_opts *o)
{
    enum { O_VAL = 256, O_CH, O_SIZE, O_CROP, O_FLIP, O_ERASE, O_INIT, O_FREEZE };
    static const struct option opts[] = {TRAIN_ARGS_OPTIONS,
                                         {"val-split", required_argument, 0, O_VAL},
                                         {"channels", required_argument, 0, O_CH},
                                         {"size", required_argument, 0, O_SIZE},
                                         {"crop", required_argument, 0, O_CROP},
                                         {"flip", no_argument, 0, O_FLIP},
                                         {"erase", required_argument, 0, O_ERASE},
                                         {"init", required_argument, 0, O_INIT},
                                         {"freeze", required_argument, 0, O_FREEZE},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->val_split = 0.1f;
    o->t.epochs = 10;
    o->t.batch = 64;
    o->t.seed = 1;
    o->t.optimizer = "adamw";
    o->t.schedule = "onecycle";
    cx_augment_init(&o->aug);
    o->aug.crop_pad = 2;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, TRAIN_ARGS_SHORT "h", opts, NULL)) != -1) {
        int bad = 0, r = train_args_option(&o->t, PROG, c, optarg);
        if (r < 0) return -1;
        if (r) continue;
        switch (c) {
        case O_VAL:
            bad = cli_float(PROG, "--val-split", optarg, 0, 0.9, &o->val_split);
            break;
        case O_CH:
            bad = cli_int(PROG, "--channels", optarg, 1, 3, &o->channels) || o->channels == 2;
            if (o->channels == 2) cli_error(PROG, "--channels: 1 (gray) or 3 (colour)");
            break;
        case O_SIZE:
            bad = parse_size(optarg, &o->height, &o->width);
            break;
        case O_CROP:
            bad = cli_int(PROG, "--crop", optarg, 0, 64, &o->aug.crop_pad);
            break;
        case O_FLIP:
            o->aug.flip = 1;
            break;
        case O_ERASE:
            bad = cli_float(PROG, "--erase", optarg, 0, 1, &o->aug.erase_prob);
            break;
        case O_INIT:
            o->init = optarg;
            break;
        case O_FREEZE:
            bad = cli_int(PROG, "--freeze", optarg, 0, 10000, &o->freeze);
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            bad = 1;
        }
        if (bad) return -1;
    }
    if (o->freeze && !o->init) {
        cli_error(PROG, "train: --freeze needs --init (layers of a trained model to keep)");
        return -1;
    }
    if (o->init && (o->t.arch || o->channels || o->height)) {
        cli_error(PROG, "train: --init takes the architecture, channels and size of its model "
                        "(drop --arch, --channels and --size)");
        return -1;
    }
    return train_args_check(&o->t, PROG, argc, argv);
}

/* Builds the model spec: a preset or the user's spec, with the input line
 * and the final classifier added. */
static int build_spec(train_opts *o, int nclasses, char *spec, size_t len)
{
    const char *body = NULL;
    for (int i = 0; i < NPRESETS; i++)
        if (!strcmp(o->t.arch, presets[i].name)) {
            body = presets[i].spec;
            if (!o->height) o->height = o->width = presets[i].size;
        }
    if (!o->height) o->height = o->width = o->channels == 3 ? 32 : 28;
    if (!body) {
        if (strstr(o->t.arch, "input ")) {
            cx_model *probe;
            cx_error err;
            if (cx_model_create(&probe, o->t.arch, NULL, &err)) {
                cli_error(PROG, "--arch: %s", err.msg);
                return -1;
            }
            const cx_shape *in = cx_model_input_shape(probe);
            if (in->ndim != 3 || (in->d[0] != 1 && in->d[0] != 3)) {
                cli_error(PROG,
                          "--arch: the input must be CHANNELS HEIGHT WIDTH with 1 or 3 channels");
                cx_model_free(probe);
                return -1;
            }
            o->channels = in->d[0];
            o->height = in->d[1];
            o->width = in->d[2];
            const cx_shape *out = cx_model_output_shape(probe);
            int ends = out->ndim == 1 && out->d[0] == nclasses;
            cx_model_free(probe);
            snprintf(spec, len, ends ? "%s" : "%s; dense %d", o->t.arch, nclasses);
            return 0;
        }
        body = o->t.arch;
    }
    snprintf(spec, len, "input %d %d %d; %s; dense %d", o->channels, o->height, o->width, body,
             nclasses);
    return 0;
}

static void describe_data(const char *what, const cx_dataset *ds)
{
    int *counts = calloc((size_t)ds->nclasses, sizeof *counts);
    if (!counts) return;
    cx_dataset_class_counts(ds, counts);
    int lo = ds->n, hi = 0;
    for (int i = 0; i < ds->nclasses; i++) {
        lo = counts[i] < lo ? counts[i] : lo;
        hi = counts[i] > hi ? counts[i] : hi;
    }
    printf("%s: %d images, %d classes (%d to %d per class)\n", what, ds->n, ds->nclasses, lo, hi);
    free(counts);
}

int cmd_train(int argc, char **argv)
{
    train_opts o;
    int parsed = parse_args(argc, argv, &o);
    if (parsed > 0) return EXIT_OK;
    if (parsed < 0) {
        fprintf(stderr, "Try 'cortex-vision train --help'.\n");
        return EXIT_USAGE;
    }
    cx_error err;
    cx_train_config cfg;
    if (train_args_config(&o.t, &cfg, &err)) {
        cli_error(PROG, "%s", err.msg);
        return EXIT_USAGE;
    }
    /* The defaults that suit the optimizer. */
    if (!o.t.lr_set) cfg.lr = o.t.lr = cfg.optim.kind == CX_OPT_SGD ? 0.05f : 0.002f;
    if (!o.t.wd_set) cfg.optim.weight_decay = cfg.optim.kind == CX_OPT_ADAMW ? 0.05f : 5e-4f;
    cx_optim_config ocfg = cfg.optim;
    cx_set_threads(cli_threads(o.t.threads));

    /* --init: the trained model's layers but its last (dense) one, its input
     * and its normalization; the last layer is made anew for these labels. */
    cx_model *init = NULL;
    cx_vision_prep init_prep;
    char init_arch[4096];
    if (o.init) {
        const char *last;
        if (cx_model_load(&init, o.init, &err) ||
            cx_vision_prep_load(init, o.init, &init_prep, &err)) {
            cli_error(PROG, "--init: %s", err.msg);
            cx_model_free(init);
            return EXIT_ERROR;
        }
        const char *sp = cx_model_spec(init);
        last = strrchr(sp, ';');
        if (!last || strncmp(last, "; dense ", 8) || (size_t)(last - sp) >= sizeof init_arch) {
            cli_error(PROG, "--init: %s does not end with a dense layer to replace", o.init);
            cx_model_free(init);
            return EXIT_ERROR;
        }
        snprintf(init_arch, sizeof init_arch, "%.*s", (int)(last - sp), sp);
        o.t.arch = init_arch;
        o.channels = init_prep.channels;
    }

    /* Channels and size: from the options, the preset, or the data. */
    if (!o.t.arch || strstr(o.t.arch, "input ") == NULL) {
        const char *arch = o.t.arch;
        if (!o.channels) {
            int preset_ch = 0;
            for (int i = 0; arch && i < NPRESETS; i++)
                if (!strcmp(arch, presets[i].name)) preset_ch = presets[i].channels;
            o.channels = preset_ch ? preset_ch : cx_dataset_guess_channels(o.t.data);
        }
        if (!o.t.arch) o.t.arch = o.channels == 3 ? "rgb32" : "small28";
    }
    char spec[4096];
    /* The class count is not known yet; build with a placeholder to learn the
     * input size, then again once the data is loaded. */
    if (build_spec(&o, 2, spec, sizeof spec)) return EXIT_USAGE;
    if (cx_augment_check(&o.aug, o.height, o.width, &err)) {
        cli_error(PROG, "%s", err.msg);
        return EXIT_USAGE;
    }

    cx_dataset *train = NULL, *val = NULL;
    int rc = EXIT_ERROR;
    cx_model *m = NULL;
    float mean[3], sd[3];
    int mnist = cx_mnist_dir_detect(o.t.data);
    train_run run = {
        .prog = PROG, .out = o.t.out, .rate_unit = "img/s", .stop_after = o.t.stop_after};
    cli_install_stop_handler();
    cx_status st = vision_open_data(&train, o.t.data, CX_SPLIT_TRAIN, o.channels, o.height, o.width,
                                    o.val_split, &err);
    if (st) goto fail;
    vision_report_warnings(train, 20);
    /* Validation: DATA/val/, else a held-out part of the training data (the
     * test set is never used to choose the model). */
    int own_val = 0;
    if (!mnist && train->presplit) {
        char vdir[4096];
        struct stat sb;
        snprintf(vdir, sizeof vdir, "%s/val", o.t.data);
        own_val = stat(vdir, &sb) == 0 && S_ISDIR(sb.st_mode);
    }
    if (own_val) {
        if ((st = vision_open_data(&val, o.t.data, CX_SPLIT_VAL, o.channels, o.height, o.width,
                                   o.val_split, &err)))
            goto fail;
    } else if ((mnist || train->presplit) && o.val_split > 0) {
        cx_dataset *a = NULL;
        if ((st = cx_dataset_holdout(train, o.val_split, &a, &val, &err))) goto fail;
        cx_dataset_free(train);
        train = a;
    } else if (!train->presplit && o.val_split > 0) {
        if ((st = vision_open_data(&val, o.t.data, CX_SPLIT_VAL, o.channels, o.height, o.width,
                                   o.val_split, &err))) {
            /* A tiny dataset may leave the held-out part empty: train without. */
            cli_error(PROG, "warning: no validation images (%s); the last epoch is kept", err.msg);
            val = NULL;
        }
    }
    describe_data("training", train);
    if (val) describe_data("validation", val);

    if (build_spec(&o, train->nclasses, spec, sizeof spec)) goto fail_quiet;
    if ((st = cx_model_create(&m, spec, NULL, &err))) goto fail;
    cx_model_init(m, o.t.seed);
    if (init) {
        int copied = 0;
        if ((st = cx_model_transfer(m, init, &copied, &err))) goto fail;
        if (o.freeze > copied) {
            cli_error(PROG, "--freeze: %d layers, but %d came from %s", o.freeze, copied, o.init);
            goto fail_quiet;
        }
        cx_model_freeze(m, o.freeze);
        printf("init: %d of %d layers from %s (the last one made anew for %d labels)%s", copied,
               cx_model_num_layers(m), o.init, train->nclasses, o.freeze ? "; " : "\n");
        if (o.freeze) printf("the first %d frozen\n", o.freeze);
        memcpy(mean, init_prep.mean, sizeof mean);
        memcpy(sd, init_prep.std, sizeof sd);
        cx_model_set_meta(m, "train.init", o.init, &err);
    } else if ((st = cx_dataset_mean_std(train, mean, sd, &err))) {
        goto fail;
    }
    cx_vision_prep prep = {o.channels, o.height, o.width, {0}, {0}};
    memcpy(prep.mean, mean, sizeof(float) * (size_t)o.channels);
    memcpy(prep.std, sd, sizeof(float) * (size_t)o.channels);
    if ((st = cx_vision_prep_store(m, &prep, &err)) ||
        (st = cx_model_set_labels(m, train->nclasses, (const char *const *)train->class_names,
                                  &err)) ||
        (st = cx_model_set_meta(m, "train.data", o.t.data, &err)))
        goto fail;
    char buf[256];
    snprintf(buf, sizeof buf, "crop=%d flip=%d erase=%g", o.aug.crop_pad, o.aug.flip,
             (double)o.aug.erase_prob);
    if ((st = cx_model_set_meta(m, "train.augment", buf, &err))) goto fail;
    snprintf(buf, sizeof buf, "%s lr=%g wd=%g schedule=%s batch=%d smoothing=%g", o.t.optimizer,
             (double)o.t.lr, (double)ocfg.weight_decay, o.t.schedule, o.t.batch,
             (double)o.t.smoothing);
    if ((st = cx_model_set_meta(m, "train.recipe", buf, &err))) goto fail;
    snprintf(buf, sizeof buf, "%g", (double)o.val_split);
    if ((st = cx_model_set_meta(m, "train.val_split", buf, &err))) goto fail;
    snprintf(buf, sizeof buf, "%d", train->n);
    if ((st = cx_model_set_meta(m, "train.images", buf, &err))) goto fail;

    char workers[64];
    printf("model: %s\n       %zu parameters; %s\n", cx_model_spec(m), cx_model_num_params(m),
           cli_workers(workers, sizeof workers));
    fflush(stdout);

    cx_dataset_source tsrc = {train, mean, sd, o.aug}, vsrc = {val, mean, sd, o.aug};
    cx_train_source ts = cx_dataset_train_source(&tsrc), vs = cx_dataset_train_source(&vsrc);
    if ((st = train_run_prepare(&run, &cfg, &err))) goto fail;
    st = train_run_go(&run, m, &ts, val ? &vs : NULL, &cfg, &err);
    if (st == CX_ERR_INTERRUPTED) goto done;
    if (st) goto fail;
    cx_train_result res = run.res;
    if (res.best_val_acc >= 0 && val)
        printf("best validation accuracy %.2f%% at epoch %d; model saved to %s\n",
               100.0 * res.best_val_acc, res.best_epoch, o.t.out);
    else
        printf("model saved to %s\n", o.t.out);
    printf("learning curve: %s\n", run.curve);
    rc = EXIT_OK;
    goto done;
fail:
    cli_error(PROG, "%s", err.msg);
fail_quiet:
done:
    train_run_done(&run);
    cx_model_free(init);
    cx_model_free(m);
    cx_dataset_free(train);
    cx_dataset_free(val);
    return rc;
}
