/* Private model entry points used by the model file loader. Not part of the
 * public API.
 *
 * cx_model_create is cx_model_create_layout followed by
 * cx_model_alloc_params. The loader calls them separately so that it can
 * compare the parameter shapes a spec declares with the tensors a file holds
 * before allocating anything: a hostile spec cannot make it allocate more
 * than the file itself carries. */
#ifndef CORTEX_MODEL_INTERNAL_H
#define CORTEX_MODEL_INTERNAL_H

#include "cortex/model.h"

/* Builds the layers from spec: shapes and declared parameters (names,
 * shapes, sizes) are set, but every cx_param's w and g are NULL until
 * cx_model_alloc_params. Only cx_model_free, the tensor listing and the
 * shape queries may be used before then. */
cx_status cx_model_create_layout(cx_model **out, const char *spec, const cx_shape *input,
                                 cx_error *err);
/* Allocates the zeroed parameter and gradient blocks (a no-op once done). */
cx_status cx_model_alloc_params(cx_model *m, cx_error *err);

#endif
