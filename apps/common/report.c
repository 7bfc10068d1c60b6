#include "report.h"

#include <stdio.h>
#include <stdlib.h>

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
