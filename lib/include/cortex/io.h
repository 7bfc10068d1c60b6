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
 * Saving is atomic: a temporary file in the same folder, fsync, rename, then
 * fsync of the folder, so a crash or a full disk never destroys the previous
 * file. Loading validates everything and rejects a corrupt, truncated or
 * hostile file with an error naming the file and what is wrong.
 */
#ifndef CORTEX_IO_H
#define CORTEX_IO_H

#include "cortex/core.h"
#include "cortex/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest JSON header accepted when reading (bytes). */
#define CX_ST_MAX_HEADER (64u << 20)

/* One tensor to write: float32 data of the given shape. */
typedef struct cx_st_entry {
    const char *name;
    int ndim; /* 0 to 8 */
    int64_t shape[8];
    const float *data;
} cx_st_entry;

/* Writes a safetensors file atomically with float32 tensors and string
 * metadata (keys[i] -> values[i]). */
cx_status cx_st_write(const char *path, int ntensors, const cx_st_entry *tensors, int nmeta,
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

cx_status cx_st_read(cx_st **out, const char *path, cx_error *err);
/* The same from a memory buffer (copied); name is used in messages. */
cx_status cx_st_read_mem(cx_st **out, const void *buf, size_t len, const char *name,
                         cx_error *err);
void cx_st_free(cx_st *st);
int cx_st_num_tensors(const cx_st *st);
const cx_st_tensor *cx_st_tensor_at(const cx_st *st, int i);
const cx_st_tensor *cx_st_find(const cx_st *st, const char *name);
/* Copies an F32 tensor's data into out (count floats); fails on a dtype or
 * size mismatch. */
cx_status cx_st_get_f32(const cx_st *st, const char *name, float *out, size_t count,
                        cx_error *err);
const char *cx_st_meta(const cx_st *st, const char *key);
int cx_st_num_meta(const cx_st *st);
const char *cx_st_meta_key(const cx_st *st, int i);

/* Model files (see above). */
cx_status cx_model_save(const cx_model *m, const char *path, cx_error *err);
cx_status cx_model_load(cx_model **out, const char *path, cx_error *err);
/* Loads a model from an already-read file (e.g. a checkpoint that carries
 * extra tensors, which are ignored). */
cx_status cx_model_from_st(cx_model **out, const cx_st *st, const char *path, cx_error *err);
/* Saves the model plus extra tensors and metadata (checkpoints: optimizer
 * state, epoch, random state). */
cx_status cx_model_save_ex(const cx_model *m, const char *path, int nextra,
                           const cx_st_entry *extra, int nmeta, const char *const *keys,
                           const char *const *values, cx_error *err);

#ifdef __cplusplus
}
#endif
#endif
