/* Classifies image files with a Cortex image model, as
 * `cortex-vision classify --model MODEL FILE...` does (the top 3 labels).
 *
 *   cc classify_image.c $(pkg-config --cflags --libs cortex) -o classify_image
 *   ./classify_image models/fashion-mnist.safetensors models/samples/fashion/ankle-boot-1.png
 */
#include <cortex/cortex.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s MODEL IMAGE...\n", argv[0]);
        return 2;
    }
    cx_error err;
    cx_vision_model *model;
    if (cx_vision_model_load(&model, argv[1], &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    int failed = 0;
    for (int i = 2; i < argc; i++) {
        cx_prediction top[3];
        int n = cx_vision_model_classify_file(model, argv[i], top, 3, &err);
        if (n < 0) {
            fprintf(stderr, "%s\n", err.msg);
            failed = 1;
            continue;
        }
        printf("%s:", argv[i]);
        for (int k = 0; k < n; k++)
            printf("%s %s %.3f", k ? "," : "", top[k].name, (double)top[k].probability);
        printf("\n");
    }
    cx_vision_model_free(model);
    return failed;
}
