/* Private helpers of the speech dataset (speech_list.c, speech_data.c): the
 * folder listing. The helpers all dataset loaders share (warnings, paths,
 * name lists, fmix64) are in data_util.h. Not part of the public API. */
#ifndef CORTEX_SPEECH_INTERNAL_H
#define CORTEX_SPEECH_INTERNAL_H

#include "cortex/speech.h"

enum { CX_SPEECH_FOLDER_NONE = 0, CX_SPEECH_FOLDER_KEYWORD, CX_SPEECH_FOLDER_UNKNOWN };

/* A file of a word folder. */
typedef struct cx_speech_file {
    char *path;
    const char *rel; /* "<folder>/<file>", inside path */
    int folder;
    char speaker[128];
    uint64_t rank; /* unknown-word order: cx_fmix64(cx_hash_string(rel)) */
} cx_speech_file;

typedef struct cx_speech_folder {
    char *name;
    int nfiles;
    int kind;  /* CX_SPEECH_FOLDER_* */
    int label; /* keyword label */
} cx_speech_folder;

/* ROOT's word folders and files (sorted by path) and noise files. */
typedef struct cx_speech_listing {
    cx_speech_folder *folders;
    int nfolders;
    cx_speech_file *files;
    int nfiles, capfiles;
    char **noise; /* noise file paths, sorted */
    int nnoise, capnoise;
    char **running; /* running-speech file paths, sorted */
    int nrunning, caprunning;
    int nwords, has_unknown;
    const char **words; /* nwords keyword names, class order (into folders) */
} cx_speech_listing;

/* 1 if the speaker is one of o->exclude_speakers. */
int cx_speech_excluded(const char *speaker, const cx_speech_opts *o);

/* Validates the options and that root is a folder. */
cx_status cx_speech_check_opts(const char *root, const cx_speech_opts *o, cx_error *err);

/* Lists root and decides the keywords and unknown folders. Warnings go to
 * ds when it is non-NULL. l must be zeroed; free it with
 * cx_speech_listing_free even on failure. */
cx_status cx_speech_list(cx_speech_listing *l, const char *root, const cx_speech_opts *o,
                         cx_speech_dataset *ds, cx_error *err);
void cx_speech_listing_free(cx_speech_listing *l);

#endif
