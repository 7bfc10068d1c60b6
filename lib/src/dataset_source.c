/* Training batches over an in-memory image dataset, and its held-out split
 * (see cortex/data.h). */
#include <stdlib.h>

#include "cortex/data.h"

cx_status cx_dataset_batch(void *ctx, const int *idx, int n, int augment, cx_rng *rng, float *x,
                           int *labels, cx_error *err)
{
    cx_dataset_source *s = ctx;
    cx_status st = cx_dataset_get_batch(s->ds, idx, n, s->mean, s->std, x, labels, err);
    if (!st && augment) cx_augment_batch(&s->aug, x, n, s->ds->c, s->ds->h, s->ds->w, rng);
    return st;
}

cx_train_source cx_dataset_train_source(cx_dataset_source *s)
{
    return (cx_train_source){s, s->ds ? s->ds->n : 0, cx_dataset_batch};
}

cx_status cx_dataset_holdout(const cx_dataset *ds, float fraction, cx_dataset **train,
                             cx_dataset **held, cx_error *err)
{
    *train = *held = NULL;
    int *tr = malloc(sizeof(int) * (size_t)(ds->n ? ds->n : 1));
    int *va = malloc(sizeof(int) * (size_t)(ds->n ? ds->n : 1));
    int ntr = 0, nva = 0;
    uint32_t cut = cx_split_buckets_of(fraction);
    if (!tr || !va) {
        free(tr);
        free(va);
        return cx_fail(err, CX_ERR_NOMEM, "out of memory");
    }
    for (int i = 0; i < ds->n; i++) {
        char name[4096];
        cx_dataset_item_name(ds, i, name, sizeof name);
        if (cx_split_bucket(name, 0) < cut)
            va[nva++] = i;
        else
            tr[ntr++] = i;
    }
    cx_status st = cx_dataset_subset(train, ds, tr, ntr, err);
    if (!st) st = cx_dataset_subset(held, ds, va, nva, err);
    if (st) {
        cx_dataset_free(*train);
        *train = NULL;
    }
    free(tr);
    free(va);
    return st;
}
