/* cortex-vision: train, evaluate and classify images with a CNN. */
#include "vision.h"

/* A new command is a cmd_NAME function in its own file, declared in
 * vision.h, plus one row here. */
static const cli_command commands[] = {
    {"train", cmd_train, "train a model on a folder of labelled images or IDX files"},
    {"eval", cmd_eval, "accuracy, per-class precision/recall/F1 and confusion matrix"},
    {"classify", cmd_classify, "top labels for image files"},
    {"watch", cmd_watch, "classify every image that appears in a folder (live mode)"},
    {"info", cmd_info, "a model's architecture, labels, input format and training record"},
};

int main(int argc, char **argv)
{
    return cli_main(PROG, "Image classification with a convolutional network (Cortex %s).",
                    commands, (int)(sizeof commands / sizeof commands[0]), 9, argc, argv);
}
