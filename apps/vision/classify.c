/* classify and watch: top-k labels for image files, once or as they arrive. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vision.h"

typedef struct {
    cx_vision_model *v;
    cx_prediction *top;
    int ntop;
    int json;
} classifier;

static int classifier_open(classifier *c, const char *path, int top, int json)
{
    memset(c, 0, sizeof *c);
    if (!(c->v = vision_open_model(path))) return -1;
    int k = cx_vision_model_num_labels(c->v);
    c->ntop = top < k ? top : k;
    c->json = json;
    c->top = malloc(sizeof *c->top * (size_t)(c->ntop ? c->ntop : 1));
    return c->top ? 0 : -1;
}

static void classifier_close(classifier *c)
{
    cx_vision_model_free(c->v);
    free(c->top);
}

static void print_error_line(const classifier *c, const char *file, const char *msg)
{
    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "file", file);
        cJSON_AddStringToObject(o, "error", msg);
        char *s = cJSON_PrintUnformatted(o);
        if (s) printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    }
    cli_error(PROG, "%s", msg);
}

/* Classifies one file and prints its line; returns 0 or -1. */
static int classify_one(classifier *c, const char *file)
{
    cx_error err;
    double t0 = cx_now();
    int n = cx_vision_model_classify_file(c->v, file, c->top, c->ntop, &err);
    if (n < 0) {
        print_error_line(c, file, err.msg);
        return -1;
    }
    double el = (cx_now() - t0) * 1000.0;
    if (c->json) {
        cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "top");
        cJSON_AddStringToObject(o, "file", file);
        cJSON_AddStringToObject(o, "label", c->top[0].name);
        cJSON_AddNumberToObject(o, "probability", c->top[0].probability);
        for (int i = 0; i < n; i++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "label", c->top[i].name);
            cJSON_AddNumberToObject(e, "probability", c->top[i].probability);
            cJSON_AddItemToArray(arr, e);
        }
        cJSON_AddNumberToObject(o, "ms", el);
        char *s = cJSON_PrintUnformatted(o);
        if (s) printf("%s\n", s);
        free(s);
        cJSON_Delete(o);
    } else {
        printf("%s:", file);
        for (int i = 0; i < n; i++)
            printf("%s %s %.3f", i ? "," : "", c->top[i].name, (double)c->top[i].probability);
        printf("\n");
    }
    fflush(stdout);
    return 0;
}

static void classify_usage(FILE *f)
{
    fprintf(f, "usage: cortex-vision classify --model MODEL [--top K] [--json] FILE... | -\n"
               "\n"
               "Prints the top K labels with their probabilities for each image file.\n"
               "With '-' the file paths are read from standard input, one per line.\n"
               "The model is loaded once.\n"
               "\n"
               "  --model MODEL  the model file (see models/)\n"
               "  --top K        how many labels to show per file (default 3)\n"
               "  --json         one JSON object per line: file, label, probability, top\n"
               "  -h, --help     this help\n"
               "\n"
               "Exit code 1 if any file could not be classified (the others still are).\n");
}

int cmd_classify(int argc, char **argv)
{
    static const struct option opts[] = {{"model", required_argument, 0, 'm'},
                                         {"top", required_argument, 0, 'k'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *model = NULL;
    int top = 3, json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:k:jh", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            model = optarg;
            break;
        case 'k':
            if (cli_int(PROG, "--top", optarg, 1, 1000, &top)) return EXIT_USAGE;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            classify_usage(stdout);
            return EXIT_OK;
        default:
            classify_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!model || optind >= argc) {
        if (!model) cli_error(PROG, "classify: --model is required");
        if (optind >= argc) cli_error(PROG, "classify: no image files given");
        classify_usage(stderr);
        return EXIT_USAGE;
    }
    classifier cl;
    if (classifier_open(&cl, model, top, json)) {
        classifier_close(&cl);
        return EXIT_ERROR;
    }
    int failed = 0;
    for (int i = optind; i < argc; i++) {
        if (strcmp(argv[i], "-") != 0) {
            failed |= classify_one(&cl, argv[i]) != 0;
            continue;
        }
        char line[PATH_MAX + 2];
        while (fgets(line, sizeof line, stdin)) {
            line[strcspn(line, "\r\n")] = 0;
            if (line[0]) failed |= classify_one(&cl, line) != 0;
        }
    }
    classifier_close(&cl);
    return failed ? EXIT_ERROR : EXIT_OK;
}

static void watch_usage(FILE *f)
{
    fprintf(f, "usage: cortex-vision watch --model MODEL [--top K] [--json] [--existing] DIR\n"
               "\n"
               "Live mode: classifies every image that appears in DIR (written and closed,\n"
               "or moved in), one line per image as soon as it is complete, until\n"
               "interrupted with Ctrl-C.\n"
               "\n"
               "  --model MODEL  the model file\n"
               "  --top K        labels per image (default 1)\n"
               "  --json         one JSON object per line\n"
               "  --existing     first classify the images already in DIR\n"
               "  -h, --help     this help\n");
}

static int wanted(const char *name)
{
    /* Hidden and temporary files are the usual way writers stage a file. */
    size_t n = strlen(name);
    if (!n || name[0] == '.') return 0;
    if (n > 4 && (!strcmp(name + n - 4, ".tmp") || !strcmp(name + n - 5, ".part"))) return 0;
    if (name[n - 1] == '~') return 0;
    return 1;
}

int cmd_watch(int argc, char **argv)
{
    static const struct option opts[] = {
        {"model", required_argument, 0, 'm'}, {"top", required_argument, 0, 'k'},
        {"json", no_argument, 0, 'j'},        {"existing", no_argument, 0, 'e'},
        {"help", no_argument, 0, 'h'},        {0, 0, 0, 0}};
    const char *model = NULL;
    int top = 1, json = 0, existing = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:k:jeh", opts, NULL)) != -1) {
        switch (c) {
        case 'm':
            model = optarg;
            break;
        case 'k':
            if (cli_int(PROG, "--top", optarg, 1, 1000, &top)) return EXIT_USAGE;
            break;
        case 'j':
            json = 1;
            break;
        case 'e':
            existing = 1;
            break;
        case 'h':
            watch_usage(stdout);
            return EXIT_OK;
        default:
            watch_usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (!model || optind != argc - 1) {
        if (!model) cli_error(PROG, "watch: --model is required");
        if (optind != argc - 1) cli_error(PROG, "watch: give exactly one folder to watch");
        watch_usage(stderr);
        return EXIT_USAGE;
    }
    const char *dir = argv[optind];
    struct stat sb;
    if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        cli_error(PROG, "watch: %s is not a folder", dir);
        return EXIT_ERROR;
    }
    classifier cl;
    if (classifier_open(&cl, model, top, json)) {
        classifier_close(&cl);
        return EXIT_ERROR;
    }
    int fd = inotify_init1(IN_CLOEXEC);
    if (fd < 0 || inotify_add_watch(fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
        cli_error(PROG, "watch: cannot watch %s: %s", dir, strerror(errno));
        classifier_close(&cl);
        if (fd >= 0) close(fd);
        return EXIT_ERROR;
    }
    cli_install_stop_handler();
    char path[PATH_MAX];
    if (existing) {
        char **names = NULL;
        int n = cx_list_folder(dir, &names);
        for (int i = 0; i < n; i++) {
            if (wanted(names[i])) {
                snprintf(path, sizeof path, "%s/%s", dir, names[i]);
                classify_one(&cl, path);
            }
        }
        cx_strlist_free(names);
    }
    fprintf(stderr, "%s: watching %s (Ctrl-C to stop)\n", PROG, dir);
    char buf[64 * 1024] __attribute__((aligned(__alignof__(struct inotify_event))));
    long seen = 0;
    while (!cli_stop) {
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, 200);
        if (r <= 0) continue;
        ssize_t len = read(fd, buf, sizeof buf);
        if (len <= 0) continue;
        for (char *q = buf; q < buf + len;) {
            struct inotify_event *ev = (struct inotify_event *)q;
            q += sizeof *ev + ev->len;
            if (!ev->len || (ev->mask & IN_ISDIR) || !wanted(ev->name)) continue;
            snprintf(path, sizeof path, "%s/%s", dir, ev->name);
            classify_one(&cl, path);
            seen++;
        }
    }
    fprintf(stderr, "%s: stopped after %ld images\n", PROG, seen);
    close(fd);
    classifier_close(&cl);
    return EXIT_OK;
}
