/* cortex-speech: spoken keyword recognition, from files or the microphone. */
#include "speech.h"

/* The commands: a new one is a cmd_NAME function in its own file, declared
 * in speech.h, plus one row here. */
static const cli_command commands[] = {
    {"train", cmd_train, "train a keyword recognizer on folders of recorded words"},
    {"combine", cmd_combine, "several trained models of the same words become one ensemble"},
    {"eval", cmd_eval, "accuracy, per-word precision and recall, confusion matrix"},
    {"classify", cmd_classify, "the word heard in each audio clip"},
    {"detect", cmd_detect, "find the keywords in a recording, as the live detector would"},
    {"spectrogram", cmd_spectrogram, "draw the features a model sees, as a PNG"},
    {"listen", cmd_listen, "live mode: keywords from the microphone as they are spoken"},
    {"devices", cmd_devices, "list the microphones (audio input devices) PortAudio sees"},
    {"record", cmd_record, "record numbered clips of a spoken word for a data set"},
    {"info", cmd_info, "a model's words, architecture, features and training record"},
};

int main(int argc, char **argv)
{
    return cli_main(PROG, "Spoken keyword recognition with Cortex %s.", commands,
                    (int)(sizeof commands / sizeof commands[0]), 12, argc, argv);
}
