/* Cortex datasets: labelled images in memory, IDX files, normalization and
 * augmentation.
 *
 * A cx_dataset holds n images of one shape (c, h, w) as uint8 CHW pixels
 * (one allocation, n*c*h*w bytes), an integer label per image and the class
 * names. Images are converted to floats batch by batch with
 * cx_dataset_get_batch, so a dataset costs one byte per pixel.
 *
 * The library never prints: files skipped while loading are reported in the
 * dataset's warnings (the first CX_DATASET_MAX_WARNINGS messages are kept,
 * total_warnings counts all), for the application to print.
 *
 * ---- Folder datasets (cx_dataset_load_folder) ------------------------------
 * Flat layout:    ROOT/<class>/<image>
 * Split layout:   ROOT/train/<class>/<image> plus ROOT/test/... and/or
 *                 ROOT/val/... (chosen when ROOT has a "train" folder and a
 *                 "test" or "val" folder; other entries of ROOT are then
 *                 ignored with a warning).
 * - Labels come only from class folder names: the class list is the sorted
 *   (strcmp, byte order) union of the class folder names of every split
 *   folder, so the same name has the same index in every split. A class
 *   folder that holds no image file in any split is left out of the list
 *   (with a warning). At least 2 classes are needed.
 * - Folders nested inside a class folder are searched recursively (up to 16
 *   levels); their images belong to the top class folder. Symbolic links
 *   are followed, except to a folder that is already being searched (the
 *   root, the split or class folder, or a parent: a loop), which is
 *   skipped with a warning. A folder named like an image is just a folder.
 * - Hidden entries (name starting with '.') are skipped silently.
 * - Files without a known image extension (cx_image_known_extension) are
 *   skipped with a warning. Undecodable, corrupt or truncated images are
 *   skipped with a warning naming the file and counted in skipped_corrupt.
 *   An image whose declared size is beyond the limits of image.h is skipped
 *   with a warning "declared size WxH is too large (decompression bomb?)"
 *   and counted in skipped_too_large.
 * - Items are ordered by path (strcmp), never by directory listing order.
 * - Flat layout held-out split: a file belongs to the validation part when
 *   cx_split_bucket(name, split_seed) < cx_split_buckets_of(val_fraction),
 *   where name is the file's path relative to its class folder (so
 *   relabelling a file never moves it between parts).
 * - Errors: ROOT missing or not a folder, no class folders, fewer than 2
 *   classes with images, no readable image in the requested split.
 */
#ifndef CORTEX_DATA_H
#define CORTEX_DATA_H

#include "cortex/core.h"
#include "cortex/train.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CX_DATASET_MAX_WARNINGS 100 /* warning messages kept per dataset */
#define CX_IDX_MAX_ITEMS 100000000  /* largest item count accepted in an IDX file */
#define CX_IDX_MAX_SIDE 4096        /* largest rows / cols accepted in an IDX file */

typedef enum cx_split {
    CX_SPLIT_ALL = 0, /* every image (split layout: every split folder) */
    CX_SPLIT_TRAIN,   /* train/ folder, or the flat layout's training part */
    CX_SPLIT_VAL,     /* val/ (else test/), or the flat layout's held-out part */
    CX_SPLIT_TEST,    /* test/ (else val/), or the flat layout's held-out part */
} cx_split;

/* "all", "train", "val", "test". */
CX_API const char *cx_split_name(cx_split split);

/* The one rule by which Cortex holds data out, for image files (folder
 * datasets, cx_dataset_holdout) and for speakers (speech.h) alike: a name's
 * bucket is fmix64(cx_hash_string(name) ^ seed) % CX_SPLIT_BUCKETS
 * (fmix64: MurmurHash3's 64-bit finalizer, which spreads FNV-1a's bits),
 * and a fraction f of the names is the buckets below round(f *
 * CX_SPLIT_BUCKETS). Stable across runs, machines and additions of other
 * names. */
#define CX_SPLIT_BUCKETS 10000
CX_API uint32_t cx_split_bucket(const char *name, uint64_t seed);
/* The first bucket past a fraction f in [0, 1]: round(f * CX_SPLIT_BUCKETS). */
CX_API uint32_t cx_split_buckets_of(double fraction);

typedef struct cx_dataset {
    int n;           /* images */
    int c, h, w;     /* shape of every image */
    uint8_t *pixels; /* n*c*h*w bytes; image i at pixels + i*c*h*w, CHW */
    int *labels;     /* n labels in [0, nclasses) */
    int nclasses;
    char **class_names; /* nclasses names */
    char **paths;       /* n source files (folder datasets), NULL for IDX */
    char *source;       /* the root folder or the IDX images file */
    int presplit;       /* 1: loaded from ROOT/train|val|test folders */

    /* Loading report. */
    int nwarnings;   /* kept messages, <= CX_DATASET_MAX_WARNINGS */
    char **warnings; /* nwarnings messages */
    long long total_warnings;
    int skipped_unknown;   /* files without an image extension */
    int skipped_corrupt;   /* unreadable, undecodable or truncated images */
    int skipped_too_large; /* declared size beyond the limits */
} cx_dataset;

/* Options of cx_dataset_load_folder; cx_folder_opts_init sets defaults. */
typedef struct cx_folder_opts {
    int channels;        /* 1 or 3 */
    int height, width;   /* every image is resized to this */
    cx_split split;      /* default CX_SPLIT_ALL */
    float val_fraction;  /* flat layout held-out fraction in [0, 1], default 0.1 */
    uint64_t split_seed; /* default 0 */
    /* Called after each decoded file (done of total) if non-NULL; a nonzero
     * return stops loading with CX_ERR_INTERRUPTED. */
    int (*progress)(void *user, int done, int total);
    void *user;
} cx_folder_opts;

CX_API void cx_folder_opts_init(cx_folder_opts *o, int channels, int height, int width);

/* Loads a folder dataset (see above). *out is NULL on failure. */
CX_API cx_status cx_dataset_load_folder(cx_dataset **out, const char *root,
                                        const cx_folder_opts *opts, cx_error *err);

/* ---- IDX files (MNIST, Fashion-MNIST) ----------------------------------------
 * Big-endian header: magic 0x00000803 (uint8, 3 dims: n, rows, cols) for
 * images or 0x00000801 (uint8, 1 dim: n) for labels, then the bytes. Plain
 * or gzip-compressed (read through zlib, which reads both). The data must be
 * exactly as long as the header says. Item count is limited to
 * CX_IDX_MAX_ITEMS, rows and cols to CX_IDX_MAX_SIDE. */

/* *pixels (malloc'd, caller frees) gets n*rows*cols bytes. */
CX_API cx_status cx_idx_load_images(const char *path, uint8_t **pixels, int *n, int *rows,
                                    int *cols, cx_error *err);
/* *labels (malloc'd, caller frees) gets n bytes. */
CX_API cx_status cx_idx_load_labels(const char *path, uint8_t **labels, int *n, cx_error *err);

/* A dataset from an IDX image file and an IDX label file with the same
 * count (shape 1 x rows x cols). names: nclasses class names; NULL names
 * the classes "0", "1", ...; nclasses 0 with names NULL means max label + 1.
 * A label >= nclasses is an error naming the file and the item. */
CX_API cx_status cx_dataset_load_idx(cx_dataset **out, const char *images_path,
                                     const char *labels_path, int nclasses,
                                     const char *const *names, cx_error *err);

/* Opens DATA for training or evaluation: an MNIST-style IDX folder (which
 * must be asked for as 1 x 28 x 28; TRAIN, VAL and TEST as
 * cx_dataset_load_mnist_dir gives them) or a folder dataset loaded with
 * opts (its channels, size, split, val_fraction and progress callback).
 * The message says what DATA should be when it is neither. */
CX_API cx_status cx_dataset_open(cx_dataset **out, const char *path, const cx_folder_opts *opts,
                                 cx_error *err);

/* The channel count a folder's images need: 3 if any of the first images
 * looked at (up to 5 per folder, two folder levels deep: class folders, or
 * split folders holding class folders; 200 in all) has colour, else 1 (also
 * for IDX folders). */
CX_API int cx_dataset_guess_channels(const char *path);

/* Fashion-MNIST class names, label order. */
CX_API extern const char *const cx_fashion_mnist_classes[10];

typedef enum cx_mnist_kind {
    CX_MNIST_AUTO = 0, /* Fashion if the folder's own name contains "fashion"
                          (case-insensitive), else digits */
    CX_MNIST_DIGITS,   /* classes "0" .. "9" */
    CX_MNIST_FASHION,  /* cx_fashion_mnist_classes */
} cx_mnist_kind;

/* 1 if dir holds the four MNIST-style files: {train,t10k}-{images-idx3,
 * labels-idx1}-ubyte, each plain or .gz, "-" or "." before "idx". */
CX_API int cx_mnist_dir_detect(const char *dir);

/* Loads an MNIST-style folder: TRAIN = train-*, TEST and VAL = t10k-*,
 * ALL = both (train first). Always 10 classes. */
CX_API cx_status cx_dataset_load_mnist_dir(cx_dataset **out, const char *dir, cx_split split,
                                           cx_mnist_kind kind, cx_error *err);

/* A new dataset holding copies of items idx[0..n) of ds (same classes, no
 * warnings). Fails on an index out of range. */
CX_API cx_status cx_dataset_subset(cx_dataset **out, const cx_dataset *ds, const int *idx, int n,
                                   cx_error *err);

CX_API void cx_dataset_free(cx_dataset *ds);

/* Number of images of each class: counts[nclasses]. */
CX_API void cx_dataset_class_counts(const cx_dataset *ds, int *counts);

/* A description of item i for messages: its file, or "FILE item I" for IDX
 * datasets. Returns buf. */
CX_API const char *cx_dataset_item_name(const cx_dataset *ds, int i, char *buf, size_t len);

/* ---- Normalization ------------------------------------------------------------
 * Per-channel mean and standard deviation (population) over every pixel of
 * the dataset, in [0, 1] units (pixel / 255). A channel with standard
 * deviation below 1e-6 (constant) gets std 1 so normalizing never divides by
 * zero. mean and std hold ds->c floats. */
CX_API cx_status cx_dataset_mean_std(const cx_dataset *ds, float *mean, float *std, cx_error *err);

/* Converts images idx[0..n) to floats, NCHW into x (n*c*h*w floats):
 * x = (pixel / 255 - mean[ch]) / std[ch]; mean or std NULL means 0 or 1.
 * y (n ints, may be NULL) gets the labels. Does not allocate. */
CX_API cx_status cx_dataset_get_batch(const cx_dataset *ds, const int *idx, int n,
                                      const float *mean, const float *std, float *x, int *y,
                                      cx_error *err);

/* ---- Augmentation (training only) -----------------------------------------------
 * Operates in place on normalized float CHW images, in this order:
 * 1. random crop with zero padding: pad each side by crop_pad pixels with
 *    zeros, then crop h x w back at a uniformly random offset; the same as
 *    shifting the image by (dy, dx) in [-pad, pad]^2 with zero fill (zero
 *    in normalized space is the dataset mean colour);
 * 2. horizontal flip with probability 0.5;
 * 3. random erasing (Zhong et al. 2017) with probability erase_prob: up to
 *    10 tries to draw a rectangle of area fraction in [erase_area_min,
 *    erase_area_max] of the image and aspect ratio (height / width)
 *    log-uniform in [erase_aspect_min, erase_aspect_max]; sides are floored,
 *    so the area never exceeds erase_area_max; the first rectangle that fits
 *    is placed uniformly and filled in every channel with 0 (CX_ERASE_ZERO,
 *    the mean colour) or standard normal values (CX_ERASE_RANDOM). If no
 *    try fits, nothing is erased.
 * Randomness comes only from the cx_rng passed in, so a seed reproduces a
 * run. Nothing is allocated. */
typedef enum cx_erase_fill { CX_ERASE_ZERO = 0, CX_ERASE_RANDOM = 1 } cx_erase_fill;

typedef struct cx_augment {
    int crop_pad;                             /* 0 = no crop */
    int flip;                                 /* nonzero = random horizontal flip */
    float erase_prob;                         /* 0 = no erasing */
    float erase_area_min, erase_area_max;     /* default 0.02, 0.25 */
    float erase_aspect_min, erase_aspect_max; /* default 0.3, 3.3 */
    cx_erase_fill erase_fill;                 /* default CX_ERASE_ZERO */
} cx_augment;

/* Everything off, erasing ranges at their defaults. */
CX_API void cx_augment_init(cx_augment *a);
/* Validates a configuration (ranges, pad < image side); names the field. */
CX_API cx_status cx_augment_check(const cx_augment *a, int h, int w, cx_error *err);
/* Augments one image; a configuration that fails cx_augment_check is
 * clamped into range, never trusted. */
CX_API void cx_augment_image(const cx_augment *a, float *img, int c, int h, int w, cx_rng *rng);
/* Augments n images of x in order. */
CX_API void cx_augment_batch(const cx_augment *a, float *x, int n, int c, int h, int w,
                             cx_rng *rng);

/* ---- Training batches ------------------------------------------------------------
 * A cx_train_source over a dataset: images normalized by mean and std (per
 * channel, either NULL for 0 / 1) and, when the trainer asks for
 * augmentation, augmented by aug. The source keeps the pointers. */
typedef struct cx_dataset_source {
    const cx_dataset *ds;
    const float *mean, *std;
    cx_augment aug;
} cx_dataset_source;

/* A cx_batch_fn over a cx_dataset_source. */
CX_API cx_status cx_dataset_batch(void *ctx, const int *idx, int n, int augment, cx_rng *rng,
                                  float *x, int *labels, cx_error *err);
/* {s, s->ds->n, cx_dataset_batch} (count 0 without a dataset). */
CX_API cx_train_source cx_dataset_train_source(cx_dataset_source *s);

/* Splits ds into a training part and a held-out part (copies): an item is
 * held out when cx_split_bucket(its cx_dataset_item_name, 0) is below
 * cx_split_buckets_of(fraction). For datasets that have no split of their
 * own (IDX training files, a train/ folder without val/). */
CX_API cx_status cx_dataset_holdout(const cx_dataset *ds, float fraction, cx_dataset **train,
                                    cx_dataset **held, cx_error *err);

/* The individual operations. Shift: out(y, x) = in(y + dy, x + dx), zero
 * outside (crop offset (pad + dy, pad + dx) of the padded image). */
CX_API void cx_image_shift(float *img, int c, int h, int w, int dy, int dx);
CX_API void cx_image_flip_h(float *img, int c, int h, int w);
/* Fills rows [y0, y0+eh) x columns [x0, x0+ew) of every channel with value,
 * or with normal values from rng if rng is non-NULL. Clipped to the image. */
CX_API void cx_image_erase(float *img, int c, int h, int w, int y0, int x0, int eh, int ew,
                           float value, cx_rng *rng);

#ifdef __cplusplus
}
#endif
#endif
