#include "cortex/metrics.h"

#include <stdlib.h>

cx_status cx_confusion_init(cx_confusion *c, int k, cx_error *err)
{
    c->k = k;
    c->n = 0;
    c->m = k > 0 && k <= 65536 ? calloc((size_t)k * (size_t)k, sizeof *c->m) : NULL;
    if (!c->m) return cx_fail(err, CX_ERR_NOMEM, "confusion matrix: cannot hold %d classes", k);
    return CX_OK;
}

void cx_confusion_free(cx_confusion *c)
{
    free(c->m);
    c->m = NULL;
}

void cx_confusion_add(cx_confusion *c, const int *truth, const int *pred, int n)
{
    for (int i = 0; i < n; i++) {
        if (truth[i] < 0 || truth[i] >= c->k || pred[i] < 0 || pred[i] >= c->k) continue;
        c->m[(size_t)truth[i] * c->k + pred[i]]++;
        c->n++;
    }
}

long cx_confusion_at(const cx_confusion *c, int t, int p)
{
    return c->m[(size_t)t * c->k + p];
}

double cx_confusion_accuracy(const cx_confusion *c)
{
    long right = 0;
    for (int i = 0; i < c->k; i++)
        right += cx_confusion_at(c, i, i);
    return c->n ? (double)right / (double)c->n : 0.0;
}

double cx_confusion_precision(const cx_confusion *c, int cls)
{
    long col = 0;
    for (int t = 0; t < c->k; t++)
        col += cx_confusion_at(c, t, cls);
    return col ? (double)cx_confusion_at(c, cls, cls) / (double)col : 0.0;
}

long cx_confusion_support(const cx_confusion *c, int cls)
{
    long row = 0;
    for (int p = 0; p < c->k; p++)
        row += cx_confusion_at(c, cls, p);
    return row;
}

double cx_confusion_recall(const cx_confusion *c, int cls)
{
    long row = cx_confusion_support(c, cls);
    return row ? (double)cx_confusion_at(c, cls, cls) / (double)row : 0.0;
}

double cx_confusion_f1(const cx_confusion *c, int cls)
{
    double p = cx_confusion_precision(c, cls), r = cx_confusion_recall(c, cls);
    return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}
