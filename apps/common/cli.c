#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

volatile int cli_stop;
int cli_interrupted;

static void on_signal(int sig)
{
    if (cli_stop) {
        signal(sig, SIG_DFL);
        raise(sig);
    }
    cli_stop = 1;
}

void cli_install_stop_handler(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

void cli_error(const char *prog, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cli_int(const char *prog, const char *opt, const char *val, long lo, long hi, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(val, &end, 10);
    if (errno || end == val || *end || v < lo || v > hi) {
        cli_error(prog, "%s: '%s' is not a whole number from %ld to %ld", opt, val, lo, hi);
        return -1;
    }
    *out = (int)v;
    return 0;
}

int cli_float(const char *prog, const char *opt, const char *val, double lo, double hi, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(val, &end);
    if (errno || end == val || *end || !isfinite(v) || v < lo || v > hi) {
        cli_error(prog, "%s: '%s' is not a number from %g to %g", opt, val, lo, hi);
        return -1;
    }
    *out = (float)v;
    return 0;
}

int cli_u64(const char *prog, const char *opt, const char *val, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (*val == '-' || !*val) goto bad;
    *out = strtoull(val, &end, 10);
    if (errno || *end) goto bad;
    return 0;
bad:
    cli_error(prog, "%s: '%s' is not a non-negative whole number", opt, val);
    return -1;
}

const char *cli_duration(double s, char *buf, size_t len)
{
    if (!isfinite(s) || s < 0) s = 0;
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, len, "%ldh%02ldm", t / 3600, t / 60 % 60);
    else if (t >= 60)
        snprintf(buf, len, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, len, "%lds", t);
    return buf;
}

static int progress_shown;

void cli_progress(void *user, const cx_train_progress *p)
{
    (void)user;
    static double last;
    if (!isatty(STDERR_FILENO)) return;
    double now = cx_now();
    if (p->batch != p->batches && now - last < 0.1) return;
    last = now;
    int width = 28, fill = (int)(width * p->batch / (p->batches ? p->batches : 1));
    char bar[64], eta[32];
    for (int i = 0; i < width; i++)
        bar[i] = i < fill ? '#' : '.';
    bar[width] = 0;
    fprintf(stderr, "\r\033[Kepoch %d/%d [%s] %ld/%ld  %.0f/s  loss %.4f  ETA %s", p->epoch,
            p->epochs, bar, p->batch, p->batches, p->samples_per_sec, (double)p->loss,
            cli_duration(p->eta_sec, eta, sizeof eta));
    progress_shown = 1;
}

void cli_progress_done(void)
{
    if (progress_shown && isatty(STDERR_FILENO)) fprintf(stderr, "\r\033[K");
    progress_shown = 0;
}

int cli_split(const char *prog, const char *val, cx_split *out)
{
    static const cx_split all[] = {CX_SPLIT_ALL, CX_SPLIT_TRAIN, CX_SPLIT_VAL, CX_SPLIT_TEST};
    for (int i = 0; i < 4; i++)
        if (!strcmp(val, cx_split_name(all[i]))) {
            *out = all[i];
            return 0;
        }
    cli_error(prog, "--split: '%s' is not test, val, train or all", val);
    return -1;
}

static void main_usage(FILE *f, const char *prog, const char *about, const cli_command *cmds,
                       int ncmds, int name_width)
{
    fprintf(f, "usage: %s COMMAND [OPTIONS]\n\n", prog);
    fprintf(f, about, CX_VERSION_STRING);
    fprintf(f, "\n\ncommands:\n");
    for (int i = 0; i < ncmds; i++)
        fprintf(f, "  %-*s %s\n", name_width, cmds[i].name, cmds[i].summary);
    fprintf(f,
            "\n'%s COMMAND --help' documents each command.\n"
            "Exit codes: 0 ok, 1 error, 2 usage error.\n",
            prog);
}

int cli_rank(void)
{
    return cx_comm_rank(cx_get_comm());
}

int cli_threads(int requested)
{
    if (requested > 0) return requested;
    long c = sysconf(_SC_NPROCESSORS_ONLN);
    int n = c > 0 ? (int)(c / cx_comm_local_size()) : 1;
    return n < 1 ? 1 : n;
}

const char *cli_workers(char *buf, size_t len)
{
    int n = cx_comm_size(cx_get_comm()), t = cx_get_threads();
    if (n > 1)
        snprintf(buf, len, "%d processes x %d thread%s (%s)", n, t, t == 1 ? "" : "s",
                 cx_get_comm()->name);
    else
        snprintf(buf, len, "%d thread%s", t, t == 1 ? "" : "s");
    return buf;
}

/* A command, in each process of an MPI job if mpirun started several (train
 * and eval split their work between them): the others' stdout goes to
 * /dev/null, and a failure in any process ends the whole job rather than
 * leave the others waiting for it. */
static int run_command(const char *prog, const cli_command *c, int argc, char **argv)
{
    cx_comm *comm;
    cx_error err;
    if (cx_comm_world(&comm, &argc, &argv, &err)) {
        cli_error(prog, "%s", err.msg);
        return EXIT_ERROR;
    }
    cx_set_comm(comm);
    if (cx_comm_rank(comm) > 0 && !freopen("/dev/null", "w", stdout)) {
        cli_error(prog, "process %d: cannot silence stdout", cx_comm_rank(comm));
        cx_comm_abort(comm, EXIT_ERROR);
    }
    int rc = c->fn(argc - 1, argv + 1);
    fflush(stdout);
    if (rc != EXIT_OK && cx_comm_size(comm) > 1 && !cli_interrupted) {
        fprintf(stderr, "%s: process %d of %d failed (exit %d): ending the whole job\n", prog,
                cx_comm_rank(comm), cx_comm_size(comm), rc);
        cx_comm_abort(comm, rc);
    }
    cx_set_comm(NULL);
    cx_comm_free(comm);
    return rc;
}

int cli_main(const char *prog, const char *about, const cli_command *cmds, int ncmds,
             int name_width, int argc, char **argv)
{
    if (argc < 2) {
        main_usage(stderr, prog, about, cmds, ncmds, name_width);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        main_usage(stdout, prog, about, cmds, ncmds, name_width);
        return EXIT_OK;
    }
    if (!strcmp(cmd, "--version")) {
        printf("%s %s\n", prog, CX_VERSION_STRING);
        return EXIT_OK;
    }
    for (int i = 0; i < ncmds; i++)
        if (!strcmp(cmd, cmds[i].name)) return run_command(prog, &cmds[i], argc, argv);
    cli_error(prog, "unknown command '%s' (see %s --help)", cmd, prog);
    return EXIT_USAGE;
}

int cli_model_only(int argc, char **argv, void (*usage)(FILE *), const char **path)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int c;
    *path = NULL;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:h", opts, NULL)) != -1) {
        if (c == 'm') {
            *path = optarg;
        } else if (c == 'h') {
            usage(stdout);
            return EXIT_OK;
        } else {
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!*path && optind < argc) *path = argv[optind++];
    if (!*path || optind < argc) {
        usage(stderr);
        return EXIT_USAGE;
    }
    return -1;
}
