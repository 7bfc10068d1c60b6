/* record: numbered clips of one spoken word from the microphone, for a data
 * set laid out as DATA/WORD/SPEAKER_N.wav. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mic.h"
#include "speech.h"

#define PRE_ROLL_S 0.25f /* kept from before "now", for early starters */
#define MARGIN_S 0.10f   /* silence kept around the word */
#define COUNTDOWN_STEP_S 0.35f
#define MAX_TRIES 3 /* failed attempts in a row before giving up */

static void record_usage(FILE *f)
{
    fprintf(f,
            "usage: cortex-speech record --data DATA --word WORD --count N [--device D]\n"
            "                            [--rate R] [--seconds S] [--speaker NAME] [--pause]\n"
            "                            [--reconnect SECONDS]\n"
            "\n"
            "Records N clips of WORD from the microphone for a training set: prompts on\n"
            "stderr (\"say 'WORD' (3/10) in 3.. 2.. 1.. now\"), records up to S seconds,\n"
            "cuts the silence before and after the word (keeping %.0f ms on each side)\n"
            "and saves DATA/WORD/SPEAKER_N.wav (16-bit mono WAV). Numbering continues\n"
            "after the files already there; nothing is overwritten. A clip in which no\n"
            "word stands out of the background, or whose word runs past the end, is\n"
            "recorded again (%d failures in a row stop the command).\n"
            "\n"
            "  --data DATA      the data set's folder (created if needed)\n"
            "  --word WORD      the word to say; also its folder's name\n"
            "  --count N        how many clips to record\n"
            "  --device D       input device: index or part of its name, as listed by\n"
            "                   'cortex-speech devices' (default: the default input)\n"
            "  --rate R         sample rate of the saved clips, Hz (default 16000)\n"
            "  --seconds S      longest clip, seconds (default 2)\n"
            "  --speaker NAME   the speaker, first part of the file names (default: $USER)\n"
            "  --pause          wait for Enter before each clip (when standard input is a\n"
            "                   terminal; otherwise clips follow each other after a countdown)\n"
            "  --reconnect SECONDS\n"
            "                   when the microphone stops delivering audio, reopen it for up\n"
            "                   to this long (default 10; 0: give up at once); the clip it\n"
            "                   was lost in is recorded again\n"
            "  -h, --help       this help\n"
            "\n"
            "Each saved clip is printed on stdout as 'saved PATH (DURATION s)'.\n"
            "Ctrl-C stops at once, keeping the clips saved so far (exit code 0).\n"
            "Exit code 1 when no microphone can be opened or nothing is heard.\n",
            (double)MARGIN_S * 1000, MAX_TRIES);
}

/* A folder or file name part: no separators, not hidden, printable. */
static int safe_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64 || s[0] == '.' || s[0] == '-') return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\') return 0;
    return 1;
}

static int mkdirs(const char *path)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0777) && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0777) && errno != EEXIST) return -1;
    struct stat st;
    return stat(buf, &st) == 0 && S_ISDIR(st.st_mode) ? 0 : -1;
}

/* 1 + the largest N of the files SPEAKER_N.wav in dir (1 if none). */
static long next_number(const char *dir, const char *speaker)
{
    DIR *d = opendir(dir);
    if (!d) return 1;
    size_t sl = strlen(speaker);
    long best = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *s = e->d_name;
        if (strncmp(s, speaker, sl) || s[sl] != '_') continue;
        s += sl + 1;
        char *end;
        if (*s < '0' || *s > '9') continue;
        long v = strtol(s, &end, 10);
        if (strcmp(end, ".wav") == 0 && v > best && v < LONG_MAX) best = v;
    }
    closedir(d);
    return best + 1;
}

/* Writes the clip under the first free SPEAKER_N.wav, N >= *number, and
 * never over an existing file: the WAV is written to a hidden temporary
 * file, then hard-linked to its name (which fails if the name is taken). */
static int save_clip(const char *dir, const char *speaker, long *number, const float *x, size_t n,
                     int rate, char *path, size_t path_len)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s/.%s.recording.%ld.tmp", dir, speaker, (long)getpid()) >=
        (int)sizeof tmp) {
        cli_error(PROG, "record: the path '%s' is too long", dir);
        return -1;
    }
    cx_error err;
    if (cx_audio_save_wav(tmp, x, n, rate, &err)) {
        cli_error(PROG, "record: %s", err.msg);
        unlink(tmp);
        return -1;
    }
    for (;; (*number)++) {
        if (snprintf(path, path_len, "%s/%s_%ld.wav", dir, speaker, *number) >= (int)path_len) {
            cli_error(PROG, "record: the path '%s' is too long", dir);
            break;
        }
        if (link(tmp, path) == 0) {
            unlink(tmp);
            (*number)++;
            return 0;
        }
        if (errno == EEXIST) continue;
        if (errno == EPERM || errno == EOPNOTSUPP || errno == ENOSYS || errno == EMLINK) {
            /* No hard links here (FAT, some network file systems). */
            if (access(path, F_OK) == 0) continue;
            if (rename(tmp, path) == 0) {
                (*number)++;
                return 0;
            }
        }
        cli_error(PROG, "record: could not save '%s': %s", path, strerror(errno));
        break;
    }
    unlink(tmp);
    return -1;
}

typedef struct {
    mic *m;
    int rate;
    float *buf; /* PRE_ROLL_S + seconds of samples */
    size_t pre, cap;
    float *scratch; /* for cx_speech_find_word */
    int pause;      /* wait for Enter */
    int line_open;  /* a prompt is on stderr without its newline */
} recorder;

/* Reads and drops n samples (keeping the stream drained). */
static cx_status skip(recorder *r, size_t n, cx_error *err)
{
    while (n > 0) {
        size_t k = n < r->cap ? n : r->cap;
        cx_status st = mic_read(r->m, r->buf, k, err);
        if (st) return st;
        n -= k;
    }
    return CX_OK;
}

/* With --pause: waits for a line on stdin while draining the microphone.
 * Returns 1 to go on, 0 when the speaker asked to stop (q or end of input),
 * or -1 with err set. */
static int wait_enter(recorder *r, cx_error *err)
{
    size_t chunk = (size_t)r->rate / 20;
    for (;;) {
        struct pollfd p = {.fd = STDIN_FILENO, .events = POLLIN};
        if (poll(&p, 1, 0) > 0) {
            char line[256];
            if (!fgets(line, sizeof line, stdin)) return 0;
            return line[0] == 'q' || line[0] == 'Q' ? 0 : 1;
        }
        if (mic_read(r->m, r->buf, chunk, err)) return -1;
    }
}

/* Prompts and records one attempt into r->buf; *n receives its length.
 * Returns 1 recorded, 0 the speaker asked to stop, -1 error/interrupted. */
static int take(recorder *r, const char *word, int k, int count, size_t *n, cx_error *err)
{
    size_t step = (size_t)(COUNTDOWN_STEP_S * (float)r->rate);
    if (r->pause) {
        fprintf(stderr, "press Enter, then say '%s' (%d/%d); q and Enter stops: ", word, k, count);
        int go = wait_enter(r, err);
        if (go <= 0) return go;
        fprintf(stderr, "say '%s'", word);
        r->line_open = 1;
    } else {
        fprintf(stderr, "say '%s' (%d/%d) in", word, k, count);
        r->line_open = 1;
        for (int i = 3; i > 1; i--) {
            fprintf(stderr, " %d..", i);
            if (skip(r, step, err)) return -1;
        }
        fprintf(stderr, " 1..");
        if (skip(r, step > r->pre ? step - r->pre : 0, err)) return -1;
    }
    if (mic_read(r->m, r->buf, r->pre, err)) return -1;
    fprintf(stderr, " now\n");
    r->line_open = 0;
    if (mic_read(r->m, r->buf + r->pre, r->cap - r->pre, err)) return -1;
    *n = r->cap;
    return 1;
}

/* The recorder whose prompt line a microphone notice must not run into. */
static recorder *g_rec;

static void record_notice(const char *msg)
{
    if (g_rec && g_rec->line_open) {
        fputc('\n', stderr);
        g_rec->line_open = 0;
    }
    speech_notice(msg);
}

typedef struct {
    const char *data, *word, *device, *speaker;
    int count, rate, pause;
    float seconds, reconnect;
} record_opts;

static int parse(int argc, char **argv, record_opts *o)
{
    static const struct option opts[] = {{"data", required_argument, 0, 'd'},
                                         {"word", required_argument, 0, 'w'},
                                         {"count", required_argument, 0, 'n'},
                                         {"device", required_argument, 0, 'D'},
                                         {"rate", required_argument, 0, 'r'},
                                         {"seconds", required_argument, 0, 's'},
                                         {"speaker", required_argument, 0, 'S'},
                                         {"pause", no_argument, 0, 'p'},
                                         {"reconnect", required_argument, 0, 'R'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    memset(o, 0, sizeof *o);
    o->rate = 16000;
    o->seconds = 2.0f;
    o->reconnect = 10.0f;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->data = optarg;
            break;
        case 'w':
            o->word = optarg;
            break;
        case 'D':
            o->device = optarg;
            break;
        case 'S':
            o->speaker = optarg;
            break;
        case 'p':
            o->pause = 1;
            break;
        case 'n':
            if (cli_int(PROG, "--count", optarg, 1, 100000, &o->count)) return EXIT_USAGE;
            break;
        case 'r':
            if (cli_int(PROG, "--rate", optarg, 4000, 192000, &o->rate)) return EXIT_USAGE;
            break;
        case 's':
            if (cli_float(PROG, "--seconds", optarg, 0.5, 30, &o->seconds)) return EXIT_USAGE;
            break;
        case 'R':
            if (cli_float(PROG, "--reconnect", optarg, 0, 86400, &o->reconnect)) return EXIT_USAGE;
            break;
        case 'h':
            record_usage(stdout);
            return EXIT_OK;
        default:
            record_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_error(PROG, "record: unexpected argument '%s'", argv[optind]);
        return EXIT_USAGE;
    }
    if (!o->data || !o->word || !o->count) {
        cli_error(PROG, "record: --data, --word and --count are required");
        return EXIT_USAGE;
    }
    if (!safe_name(o->word)) {
        cli_error(PROG,
                  "record: --word '%s' must be usable as a folder name (1-64 characters, "
                  "no '/', not starting with '.' or '-')",
                  o->word);
        return EXIT_USAGE;
    }
    if (!o->speaker) {
        const char *u = getenv("USER");
        const struct passwd *pw = getpwuid(getuid());
        o->speaker = u && *u ? u : pw ? pw->pw_name : NULL;
    }
    if (!o->speaker || !safe_name(o->speaker)) {
        cli_error(PROG, "record: give a speaker name with --speaker NAME (1-64 characters, no "
                        "'/', not starting with '.' or '-')");
        return EXIT_USAGE;
    }
    return -1;
}

/* What went wrong with an attempt, or NULL when the clip is good. */
static const char *judge(const cx_speech_span *s, long lost, float seconds, char *why, size_t len)
{
    if (lost) {
        snprintf(why, len, "audio was lost while recording (input overflow)");
    } else if (!s->found) {
        snprintf(why, len,
                 "heard no word (loudest %.0f dBFS, background %.0f dBFS): speak louder or "
                 "closer to the microphone",
                 (double)s->peak_db, (double)s->floor_db);
    } else if (s->at_end) {
        snprintf(why, len, "the word ran past the end of the %.1f s window (--seconds)",
                 (double)seconds);
    } else if (s->at_start) {
        snprintf(why, len, "the word had started before 'now'");
    } else {
        return NULL;
    }
    return why;
}

int cmd_record(int argc, char **argv)
{
    record_opts o;
    int code = parse(argc, argv, &o);
    if (code >= 0) {
        if (code == EXIT_USAGE) record_usage(stderr);
        return code;
    }
    char dir[PATH_MAX];
    if (snprintf(dir, sizeof dir, "%s/%s", o.data, o.word) >= (int)sizeof dir) {
        cli_error(PROG, "record: the path '%s/%s' is too long", o.data, o.word);
        return EXIT_USAGE;
    }
    if (o.pause && !isatty(STDIN_FILENO)) {
        fprintf(stderr,
                "%s: record: standard input is not a terminal, so --pause is ignored: "
                "clips follow each other after a countdown\n",
                PROG);
        o.pause = 0;
    }

    cx_error err;
    if (mic_init(&err)) {
        cli_error(PROG, "%s", err.msg);
        return EXIT_ERROR;
    }
    cli_install_stop_handler();
    mic_config mc = {.device = o.device,
                     .rate = o.rate,
                     .stop = &cli_stop,
                     .reconnect_s = o.reconnect,
                     .notice = record_notice};
    recorder r = {.rate = o.rate, .pause = o.pause};
    g_rec = &r;
    r.m = mic_open(&mc, &err);
    if (!r.m) {
        g_rec = NULL;
        cli_error(PROG, "%s", err.msg);
        mic_terminate();
        return EXIT_ERROR;
    }
    if (mkdirs(dir)) { /* after the microphone: no empty folder when there is none */
        cli_error(PROG, "record: could not create the folder '%s': %s", dir, strerror(errno));
        code = EXIT_ERROR;
        goto done;
    }
    r.pre = (size_t)(PRE_ROLL_S * (float)o.rate);
    r.cap = r.pre + (size_t)(o.seconds * (float)o.rate);
    r.buf = malloc(sizeof(float) * r.cap);
    r.scratch = malloc(sizeof(float) * cx_speech_word_scratch(r.cap, o.rate));
    if (!r.buf || !r.scratch) {
        cli_error(PROG, "record: out of memory");
        code = EXIT_ERROR;
        goto done;
    }
    const mic_device *dev = mic_device_info(r.m);
    fprintf(stderr, "%s: recording '%s' by '%s' into %s from '%s' (%s, %d Hz%s%s)\n", PROG, o.word,
            o.speaker, dir, dev->name, dev->host_api, mic_device_rate(r.m),
            mic_device_rate(r.m) != o.rate ? ", resampled" : "",
            mic_channels(r.m) > 1 ? ", channels mixed" : "");

    long number = next_number(dir, o.speaker), first_saved = 0, last_saved = 0;
    int saved = 0, tries = 0;
    code = EXIT_OK;
    while (saved < o.count) {
        size_t n = 0;
        long over = mic_overflows(r.m), gaps = mic_gaps(r.m);
        int got = take(&r, o.word, saved + 1, o.count, &n, &err);
        if (got == 0) break;
        if (got > 0 && mic_gaps(r.m) != gaps) {
            if (r.line_open) fputc('\n', stderr);
            r.line_open = 0;
            fprintf(stderr, "  the microphone was lost during this clip; once more\n");
            continue;
        }
        if (got < 0) {
            if (r.line_open) fputc('\n', stderr);
            if (cli_stop) {
                fprintf(stderr, "%s: record: stopped; the clip being recorded was not saved\n",
                        PROG);
            } else {
                cli_error(PROG, "record: %s", err.msg);
                code = EXIT_ERROR;
            }
            break;
        }
        cx_speech_span s;
        cx_speech_find_word(r.buf, n, o.rate, MARGIN_S, r.scratch, &s);
        char why[200];
        if (judge(&s, mic_overflows(r.m) - over, o.seconds, why, sizeof why)) {
            if (++tries >= MAX_TRIES) {
                cli_error(PROG,
                          "record: %s, %d times in a row; check the microphone "
                          "('cortex-speech devices', --device)",
                          why, tries);
                code = EXIT_ERROR;
                break;
            }
            fprintf(stderr, "  %s; once more\n", why);
            continue;
        }
        tries = 0;
        char path[PATH_MAX];
        if (save_clip(dir, o.speaker, &number, r.buf + s.start, s.end - s.start, o.rate, path,
                      sizeof path)) {
            code = EXIT_ERROR;
            break;
        }
        if (!saved) first_saved = number - 1;
        last_saved = number - 1;
        saved++;
        printf("saved %s (%.2f s)\n", path, (double)(s.end - s.start) / o.rate);
        fflush(stdout);
    }
    if (saved)
        fprintf(stderr, "%s: saved %d clip%s of '%s' in %s (%s_%ld.wav to %s_%ld.wav)\n", PROG,
                saved, saved == 1 ? "" : "s", o.word, dir, o.speaker, first_saved, o.speaker,
                last_saved);
    else
        fprintf(stderr, "%s: no clip saved\n", PROG);
    long lost = mic_overflows(r.m);
    if (lost)
        fprintf(stderr, "%s: %ld input overflow%s (audio lost because it was not read in time)\n",
                PROG, lost, lost == 1 ? "" : "s");
done:
    mic_close(r.m);
    mic_terminate();
    g_rec = NULL;
    free(r.buf);
    free(r.scratch);
    return code;
}
