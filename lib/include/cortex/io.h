/* Cortex files: safetensors reading and writing, and model files.
 *
 * A model file is a safetensors file: 8-byte little-endian header length N,
 * N bytes of JSON ({"name": {"dtype", "shape", "data_offsets"}, ...,
 * "__metadata__": {string: string}}), then raw little-endian tensor data.
 * Standard tools (Python's safetensors, for one) open it. Cortex keeps in
 * __metadata__:
 *   cortex.format   "1"
 *   cortex.spec     the canonical architecture spec (input line included)
 *   cortex.labels   a JSON array of class labels
 *   cortex.version  the library version that wrote the file
 * plus every key set with cx_model_set_meta (preprocessing, training record).
 * Tensors are named "<layer>.<param>" as cx_model_tensor_name gives.
 *
 * Writing pads the header with spaces so the data starts at a multiple of 8
 * bytes, and lays tensors out in the order given. Saving is atomic: a
 * temporary file "<path>.tmp.XXXXXX" in the same folder, fsync, rename, then
 * fsync of the folder, so a crash or a full disk never destroys the previous
 * file. A new file gets mode 0644; a replaced file keeps its mode.
 *
 * Reading validates everything and rejects a corrupt, truncated or hostile
 * file with an error naming the file and what is wrong: the header must be a
 * UTF-8 JSON object; every tensor an object with exactly "dtype" (a standard
 * safetensors name: BOOL, U8, I8, F8_E5M2, F8_E4M3, F8_E8M0, I16, U16, F16,
 * BF16, I32, U32, F32, F64, I64, U64, C64), "shape" (at most 8 non-negative
 * integers) and "data_offsets" ([begin, end], end - begin == elements x
 * dtype size); the tensors must tile the data section exactly (no overlap,
 * no gap, nothing after the last); metadata values must be strings;
 * duplicate keys are rejected.
 *
 * Checkpoints: cx_model_save_ex stores extra tensors whose names begin with
 * "optim." or "train." (anything else is refused). cx_model_load accepts
 * only the model's own tensors; cx_model_from_st also accepts (and ignores)
 * such extras, so a checkpoint restores with cx_st_read + cx_model_from_st
 * and the caller reads the extras from the cx_st.
 */
#ifndef CORTEX_IO_H
#define CORTEX_IO_H

#include "cortex/core.h"
#include "cortex/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Reads the whole regular file at path into *buf, which is grown with
 * realloc when it is smaller than the file (*cap is its size; *buf may
 * start NULL with *cap 0, and be reused across calls); *len gets the file's
 * size. The image readers read through it. Refused, naming the file: a
 * file larger than max bytes or empty (CX_ERR_FORMAT), a folder, a FIFO or
 * device (never opened blocking) or an unreadable file (CX_ERR_IO). The
 * caller frees *buf. */
CX_API cx_status cx_read_file_buf(const char *path, long long max, uint8_t **buf, size_t *cap,
                                  size_t *len, cx_error *err);

/* The entries of folder dir except hidden ones (names starting with '.'),
 * sorted by strcmp, as a NULL-terminated array freed with cx_strlist_free.
 * Returns how many, or -1 (with *names NULL) if dir cannot be read. */
CX_API int cx_list_folder(const char *dir, char ***names);

/* Largest JSON header accepted when reading (bytes). */
#define CX_ST_MAX_HEADER (64u << 20)
/* Largest file accepted (read whole into memory) and written (bytes). */
#define CX_ST_MAX_FILE ((uint64_t)4 << 30)
/* Most metadata entries a model file may carry. */
#define CX_MODEL_MAX_META 4096
/* Most a model file's network may need for one example
 * (cx_model_reserve_bytes(m, 1)), checked before anything is allocated: a
 * few bytes of spec can declare huge activations ("input 16384 16384;
 * relu; relu; ...")). The shipped models need 2.0-5.2 MB. */
#define CX_MODEL_MAX_EXAMPLE_BYTES ((size_t)1 << 30)

/* One tensor to write: float32 data of the given shape. */
typedef struct cx_st_entry {
    const char *name;
    int ndim; /* 0 to 8 */
    int64_t shape[8];
    const float *data;
} cx_st_entry;

/* Writes a safetensors file atomically with float32 tensors and string
 * metadata (keys[i] -> values[i]). Names, keys and values must be valid
 * UTF-8; tensor names must be unique, non-empty and not "__metadata__". */
CX_API cx_status cx_st_write(const char *path, int ntensors, const cx_st_entry *tensors, int nmeta,
                             const char *const *keys, const char *const *values, cx_error *err);

/* A safetensors file read and validated in memory. */
typedef struct cx_st cx_st;

typedef struct cx_st_tensor {
    const char *name;
    const char *dtype; /* only "F32" tensors can be read as floats */
    int ndim;
    int64_t shape[8];
    size_t nbytes;
} cx_st_tensor;

/* Reads and validates a whole file (a regular file of at most
 * CX_ST_MAX_FILE bytes). Tensors are listed in data order. */
CX_API cx_status cx_st_read(cx_st **out, const char *path, cx_error *err);
/* The same from a memory buffer (copied); name is used in messages. */
CX_API cx_status cx_st_read_mem(cx_st **out, const void *buf, size_t len, const char *name,
                                cx_error *err);
CX_API void cx_st_free(cx_st *st);
CX_API int cx_st_num_tensors(const cx_st *st);
CX_API const cx_st_tensor *cx_st_tensor_at(const cx_st *st, int i);
CX_API const cx_st_tensor *cx_st_find(const cx_st *st, const char *name);
/* Copies an F32 tensor's data into out (count floats); fails on a dtype or
 * size mismatch. */
CX_API cx_status cx_st_get_f32(const cx_st *st, const char *name, float *out, size_t count,
                               cx_error *err);
/* Metadata value for key, or NULL. Keys are listed in sorted order. */
CX_API const char *cx_st_meta(const cx_st *st, const char *key);
CX_API int cx_st_num_meta(const cx_st *st);
CX_API const char *cx_st_meta_key(const cx_st *st, int i);

/* Model files (see above). The model's metadata keys must not be one of
 * the four cortex.* keys the file format itself uses. */
CX_API cx_status cx_model_save(const cx_model *m, const char *path, cx_error *err);
/* Loads a model: the file must hold exactly the tensors its spec declares
 * (F32, matching shapes, finite values). Labels and metadata (except the
 * cortex.format/spec/labels/version keys) are restored. */
CX_API cx_status cx_model_load(cx_model **out, const char *path, cx_error *err);
/* Loads a model from an already-read file (e.g. a checkpoint that carries
 * extra "optim." / "train." tensors, which are ignored here). path (may be
 * NULL) is used in messages. */
CX_API cx_status cx_model_from_st(cx_model **out, const cx_st *st, const char *path, cx_error *err);
/* Saves the model plus extra tensors (names beginning with "optim." or
 * "train.") and metadata (checkpoints: optimizer state, epoch, random
 * state). A key given here overrides a model metadata key of the same name. */
CX_API cx_status cx_model_save_ex(const cx_model *m, const char *path, int nextra,
                                  const cx_st_entry *extra, int nmeta, const char *const *keys,
                                  const char *const *values, cx_error *err);

#ifdef __cplusplus
}
#endif
#endif
