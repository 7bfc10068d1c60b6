/* Shared command-line plumbing for the applications. */
#ifndef CORTEX_APP_CLI_H
#define CORTEX_APP_CLI_H

#include <stdio.h>

#include "cortex/cortex.h"
#include "cortex/train.h"

#define EXIT_OK 0
#define EXIT_ERROR 1
#define EXIT_USAGE 2

/* Set by SIGINT/SIGTERM once handlers are installed; a second Ctrl-C kills. */
extern volatile int cli_stop;
void cli_install_stop_handler(void);
/* Set when training stopped at cli_stop with a checkpoint: in an MPI job
 * every process stopped at the same step, nothing to abort. */
extern int cli_interrupted;

/* Whole-token number parsing for option values; print a usage error naming
 * the option and return -1 on failure. */
int cli_int(const char *prog, const char *opt, const char *val, long lo, long hi, int *out);
int cli_float(const char *prog, const char *opt, const char *val, double lo, double hi, float *out);
int cli_u64(const char *prog, const char *opt, const char *val, unsigned long long *out);

/* Training progress on a terminal (a bar redrawn in place) or as nothing at
 * all when stderr is not a terminal (per-epoch lines are printed instead). */
void cli_progress(void *user, const cx_train_progress *p);
void cli_progress_done(void);
/* "1h02m", "3m05s", "12s" */
const char *cli_duration(double seconds, char *buf, size_t len);

/* A split name, "all", "train", "val" or "test"; prints a usage error naming
 * the option and returns -1 on anything else. */
int cli_split(const char *prog, const char *val, cx_split *out);

/* A command of an application: its name, its function (called with argv[0]
 * the command's name) and a line for the application's --help. */
typedef struct cli_command {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} cli_command;

/* The whole main() of an application: usage (about is a printf format taking
 * the version; names padded to name_width), --help, --version, dispatch. */
int cli_main(const char *prog, const char *about, const cli_command *cmds, int ncmds,
             int name_width, int argc, char **argv);

/* Parses the arguments of a command that takes just a model:
 * "--model MODEL" or "MODEL", and -h / --help. Returns -1 with *path set to
 * go on, else the exit code (help shown, or a usage error). */
int cli_model_only(int argc, char **argv, void (*usage)(FILE *), const char **path);

/* This process's rank in an MPI job (0 without one): only rank 0 writes
 * files and prints. */
int cli_rank(void);
/* --threads N as given, or for 0 (the default) this process's share of the
 * cores: all of them, divided between an MPI job's processes on this
 * machine. */
int cli_threads(int requested);
/* "2 threads", or in an MPI job "4 processes x 2 threads (MPI)". */
const char *cli_workers(char *buf, size_t len);

/* Prints "PROG: message" to stderr. */
void cli_error(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
