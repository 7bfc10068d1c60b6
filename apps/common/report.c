#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plot.h"

cJSON *report_confusion_json(const cx_model *m, const cx_confusion *cm)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddNumberToObject(o, "accuracy", cx_confusion_accuracy(cm));
    cJSON_AddNumberToObject(o, "n", (double)cm->n);
    cJSON *labels = cJSON_AddArrayToObject(o, "labels");
    cJSON *conf = cJSON_AddArrayToObject(o, "confusion");
    cJSON *per = cJSON_AddArrayToObject(o, "per_class");
    for (int t = 0; t < cm->k; t++) {
        cJSON_AddItemToArray(labels, cJSON_CreateString(cx_model_label(m, t)));
        cJSON *row = cJSON_CreateArray();
        for (int p = 0; p < cm->k; p++)
            cJSON_AddItemToArray(row, cJSON_CreateNumber((double)cx_confusion_at(cm, t, p)));
        cJSON_AddItemToArray(conf, row);
        if (cx_confusion_support(cm, t) == 0) continue; /* absent from the data */
        cJSON *c = cJSON_CreateObject();
        cJSON_AddStringToObject(c, "label", cx_model_label(m, t));
        cJSON_AddNumberToObject(c, "precision", cx_confusion_precision(cm, t));
        cJSON_AddNumberToObject(c, "recall", cx_confusion_recall(cm, t));
        cJSON_AddNumberToObject(c, "f1", cx_confusion_f1(cm, t));
        cJSON_AddNumberToObject(c, "support", (double)cx_confusion_support(cm, t));
        cJSON_AddItemToArray(per, c);
    }
    return o;
}

void report_print_json(cJSON *o)
{
    if (!o) return;
    char *s = cJSON_PrintUnformatted(o);
    if (s) printf("%s\n", s);
    free(s);
    cJSON_Delete(o);
}

void report_print_text(const cx_model *m, const cx_confusion *cm, const report_style *st)
{
    int w = st->class_width;
    printf("%-*s %9s %9s", w, st->class_head, "precision", "recall");
    if (st->f1) printf(" %9s", "f1");
    printf(" %8s\n", st->support_head);
    for (int t = 0; t < cm->k; t++) {
        if (cx_confusion_support(cm, t) == 0) continue; /* absent from the data */
        printf("%-*.*s %9.4f %9.4f", w, w, cx_model_label(m, t), cx_confusion_precision(cm, t),
               cx_confusion_recall(cm, t));
        if (st->f1) printf(" %9.4f", cx_confusion_f1(cm, t));
        printf(" %8ld\n", cx_confusion_support(cm, t));
    }
    int rw = st->row_width, cw = st->cell_width;
    printf("\nconfusion matrix (%s)\n%*s", st->axes, rw, "");
    for (int p = 0; p < cm->k; p++)
        printf(" %*.*s", cw, cw, cx_model_label(m, p));
    printf("\n");
    for (int t = 0; t < cm->k; t++) {
        if (cx_confusion_support(cm, t) == 0) continue;
        printf("%-*.*s", rw, rw, cx_model_label(m, t));
        for (int p = 0; p < cm->k; p++)
            printf(" %*ld", cw, cx_confusion_at(cm, t, p));
        printf("\n");
    }
}

cx_status report_confusion_png(const cx_model *m, const cx_confusion *cm, const char *path,
                               cx_error *err)
{
    const char **labels = malloc(sizeof(char *) * (size_t)(cm->k ? cm->k : 1));
    if (!labels) return cx_fail(err, CX_ERR_NOMEM, "out of memory");
    for (int i = 0; i < cm->k; i++)
        labels[i] = cx_model_label(m, i);
    cx_status st = plot_confusion(path, cm, labels, err);
    free(labels);
    return st;
}

void report_print_record(const cx_model *m, int key_width, const char *also)
{
    printf("training:\n");
    for (int i = 0; i < cx_model_num_meta(m); i++) {
        const char *k = cx_model_meta_key(m, i);
        if (!strncmp(k, "train.", 6) || (also && !strcmp(k, also)))
            printf("  %-*s %s\n", key_width, k, cx_model_get_meta(m, k));
    }
}
