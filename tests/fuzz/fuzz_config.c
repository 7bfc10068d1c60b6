/* Fuzz target: the settings strings a model file carries (feature
 * settings, detector settings) and its layer spec. The first byte chooses the
 * parser; the rest, cut at the first NUL, is the string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cortex/cortex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    char *s = malloc(size);
    if (!s) return 0;
    memcpy(s, data + 1, size - 1);
    s[size - 1] = '\0';
    cx_error err;
    switch (data[0] % 3) {
    case 0: {
        cx_feat_config fc;
        char buf[1024];
        if (!cx_feat_config_parse(&fc, s, &err)) {
            (void)cx_feat_config_to_string(&fc, buf, sizeof buf, &err);
            cx_melspec *fx = NULL;
            if (!cx_melspec_create(&fx, &fc, &err)) cx_melspec_free(fx);
        }
        break;
    }
    case 1: {
        cx_detect_config dc;
        char buf[1024];
        if (!cx_detect_config_parse(&dc, s, &err))
            (void)cx_detect_config_to_string(&dc, buf, sizeof buf, &err);
        break;
    }
    default: {
        cx_model *m = NULL;
        /* The layout only: a model file's spec is parsed so, and its
         * parameters allocated once the file is known to hold them all
         * (a spec alone may rightly ask for gigabytes). */
        if (!cx_model_create_layout(&m, s, NULL, &err)) cx_model_free(m);
        break;
    }
    }
    free(s);
    return 0;
}
