/* options_test.c: common/options.c, the one table behind the command line,
 * the INI file and --help: default < config file < command line; one file
 * for several programs (the common part and the program's own section
 * read, other finsam programs' sections skipped, other sections read as
 * before); unknown keys and bad values refused with the sysexits code and
 * one line naming the file, line and key (and a close option); choices;
 * bounds inclusive, --help and --version, positional arguments anywhere. */
#include "testutil.h"

#include "options.h"

#include <string.h>
#include <sysexits.h>
#include <unistd.h>

/* options.c keeps a string from the config file until exit, by design;
 * one overridden by the command line is unreachable. LeakSanitizer (in
 * an ASan build) would call that a leak: parses run with it paused. */
extern void __lsan_disable(void) __attribute__((weak));
extern void __lsan_enable(void) __attribute__((weak));

static char *s_endpoint, *s_name, *s_format;
static long s_workers, s_port;
static bool s_verbose, s_dry;

static const opt_t s_opts[] = {
    {"endpoint", 'e', OPT_STR, "tcp://127.0.0.1:5555", 0, 0, "where to listen", &s_endpoint},
    {"name", 0, OPT_STR, NULL, 0, 0, "a name without default", &s_name},
    {"workers", 'w', OPT_INT, "4", 1, 64, "worker threads", &s_workers},
    {"port", 0, OPT_INT, "0", -1, 65535, "a port, -1 for none", &s_port},
    {"verbose", 'v', OPT_FLAG, NULL, 0, 0, "say more", &s_verbose},
    {"dry-run", 0, OPT_FLAG, NULL, 0, 0, "change nothing", &s_dry},
    {"format", 'f', OPT_STR, "table", 0, 0, "output format", &s_format},
};

static const opt_choice_t s_choices[] = {{"format", "table|json|csv"}, {NULL, NULL}};

/* "demo" reads [collector] (its section) and [demo] (its name). */
static const opt_spec_t s_spec = {
    .prog = "demo",
    .usage = "demo [OPTIONS] COMMAND [ARGS]",
    .summary = "A demo of the option table.",
    .epilog = "Exit codes: 0 ok, 64 usage.\n",
    .opts = s_opts,
    .nopts = TU_NELEMS(s_opts),
    .section = "collector",
    .choices = s_choices,
};

/* The case's one directory (tu_tempdir makes at most 16 per process). */
static const char *s_dir(void)
{
    static const char *dir;
    if (!dir)
        dir = tu_tempdir();
    return dir;
}

/* Output of fd 1 or 2 during a parse, into a file of the case's own. */
typedef struct {
    int fd, saved;
    char path[256];
} s_capture_t;

static void s_capture_begin(s_capture_t *c, int fd)
{
    fflush(NULL);
    c->fd = fd;
    snprintf(c->path, sizeof c->path, "%s/fd%d.out", s_dir(), fd);
    c->saved = dup(fd);
    FILE *f = fopen(c->path, "w");
    CHECK(f && c->saved >= 0);
    dup2(fileno(f), fd);
    fclose(f);
}

/* Restores the descriptor; returns what was written (free it). */
static char *s_capture_end(s_capture_t *c)
{
    fflush(NULL);
    dup2(c->saved, c->fd);
    close(c->saved);
    char *text = tu_read_file(c->path);
    CHECK(text);
    fprintf(stderr, "captured fd %d: %s", c->fd, text);
    return text;
}

/* Parses argv (NULL-terminated, without the program name); returns the
 * result, *first the first positional index, *err what went to stderr
 * (free it). */
static int s_parse_own(const opt_own_t *own, const char **args, int *first, char **err)
{
    char *argv[32] = {"demo"};
    int argc = 1;
    for (; args && *args; args++)
        argv[argc++] = (char *) *args;
    argv[argc] = NULL;
    s_capture_t c;
    s_capture_begin(&c, 2);
    if (__lsan_disable)
        __lsan_disable();
    *first = -1;
    int rc =
        own ? options_parse_own(&s_spec, own, argc, argv, first) : options_parse(&s_spec, argc, argv, first);
    if (__lsan_enable)
        __lsan_enable();
    char *text = s_capture_end(&c);
    if (err)
        *err = text;
    else
        free(text);
    return rc;
}

static int s_parse(const char **args, int *first, char **err)
{
    return s_parse_own(NULL, args, first, err);
}

static const char *s_config(const char *text)
{
    return tu_file_in(s_dir(), "demo.conf", text);
}

static void test_defaults(void)
{
    int first;
    const char *args[] = {"run", NULL};
    CHECK_EQ(s_parse(args, &first, NULL), 0);
    CHECK_EQ(first, 1);
    CHECK(!strcmp(s_endpoint, "tcp://127.0.0.1:5555"));
    CHECK(s_name == NULL);
    CHECK_EQ(s_workers, 4);
    CHECK_EQ(s_port, 0);
    CHECK(!s_verbose && !s_dry);
}

static void test_file_over_defaults(void)
{
    const char *conf = s_config("; a comment\n[collector]\nendpoint = tcp://*:6000\nworkers = 8\n"
                                "[other]\nverbose = yes\nname = site\n");
    int first;
    const char *args[] = {"--config", conf, NULL};
    CHECK_EQ(s_parse(args, &first, NULL), 0);
    CHECK_EQ(first, 3);
    CHECK(!strcmp(s_endpoint, "tcp://*:6000"));
    CHECK(!strcmp(s_name, "site"));
    CHECK_EQ(s_workers, 8);
    CHECK_EQ(s_port, 0); /* not in the file: the default */
    CHECK(s_verbose);
}

static void test_command_line_over_file(void)
{
    const char *conf = s_config("endpoint = tcp://*:6000\nworkers = 8\nverbose = yes\ndry-run = on\n");
    int first;
    /* The file applies first wherever -c stands. */
    const char *args[] = {"-w", "16", "--endpoint=ipc:///tmp/x", "-c", conf, "cmd", NULL};
    CHECK_EQ(s_parse(args, &first, NULL), 0);
    CHECK(!strcmp(s_endpoint, "ipc:///tmp/x"));
    CHECK_EQ(s_workers, 16);
    CHECK(s_verbose && s_dry); /* from the file, not overridden */
    CHECK_EQ(first, 6);
}

/* A flag can be switched off in the file; the command line turns it on. */
static void test_flags(void)
{
    const char *conf = s_config("verbose = no\ndry-run = true\n");
    int first;
    const char *args[] = {"-c", conf, NULL};
    CHECK_EQ(s_parse(args, &first, NULL), 0);
    CHECK(!s_verbose && s_dry);
    const char *args2[] = {"-c", conf, "-v", NULL};
    CHECK_EQ(s_parse(args2, &first, NULL), 0);
    CHECK(s_verbose);
    char *err;
    const char *bad = s_config("verbose = maybe\n");
    const char *args3[] = {"-c", bad, NULL};
    CHECK_EQ(s_parse(args3, &first, &err), FIN_ECONFIG);
    CHECK(strstr(err, "verbose: not a boolean"));
    free(err);
}

static void test_positional_anywhere(void)
{
    int first;
    const char *args[] = {"import", "file.csv", "--dry-run", "-w", "2", NULL};
    CHECK_EQ(s_parse(args, &first, NULL), 0);
    CHECK(s_dry);
    CHECK_EQ(s_workers, 2);
    CHECK_EQ(first, 4); /* getopt moved the positionals to the end */
}

static void test_unknown_key(void)
{
    const char *conf = s_config("[collector]\nworkers = 2\nbogus = 1\n");
    int first;
    char *err;
    const char *args[] = {"-c", conf, NULL};
    CHECK_EQ(s_parse(args, &first, &err), FIN_ECONFIG);
    CHECK(strstr(err, "demo: "));
    CHECK(strstr(err, "demo.conf:3: unknown key 'bogus' in [collector]"));
    CHECK_EQ(tu_count_in_file(tu_file_in(s_dir(), "err", err), "\n"), 1); /* one line */
    free(err);
}

static void test_unknown_option(void)
{
    int first;
    char *err;
    const char *args[] = {"--bogus", NULL};
    CHECK_EQ(s_parse(args, &first, &err), FIN_EUSAGE);
    CHECK(strstr(err, "Usage: demo [OPTIONS] COMMAND [ARGS] (try --help)"));
    free(err);
    const char *args2[] = {"-w", NULL}; /* missing argument */
    CHECK_EQ(s_parse(args2, &first, &err), FIN_EUSAGE);
    free(err);
}

static void test_int_bounds(void)
{
    int first;
    char *err;
    const char *lo[] = {"-w", "1", "--port", "-1", NULL};
    CHECK_EQ(s_parse(lo, &first, NULL), 0);
    CHECK_EQ(s_workers, 1);
    CHECK_EQ(s_port, -1);
    const char *hi[] = {"-w", "64", "--port", "65535", NULL};
    CHECK_EQ(s_parse(hi, &first, NULL), 0);
    CHECK_EQ(s_workers, 64);
    CHECK_EQ(s_port, 65535);

    const char *over[] = {"-w", "65", NULL};
    CHECK_EQ(s_parse(over, &first, &err), FIN_EUSAGE);
    CHECK(strstr(err, "demo: --workers: 65: out of range"));
    free(err);
    const char *under[] = {"--workers=0", NULL};
    CHECK_EQ(s_parse(under, &first, &err), FIN_EUSAGE);
    CHECK(strstr(err, "out of range"));
    free(err);
    const char *text[] = {"-w", "4x", NULL};
    CHECK_EQ(s_parse(text, &first, &err), FIN_EUSAGE);
    CHECK(strstr(err, "--workers: 4x: not an integer"));
    free(err);
    const char *huge[] = {"--port", "99999999999999999999", NULL};
    CHECK_EQ(s_parse(huge, &first, &err), FIN_EUSAGE);
    CHECK(strstr(err, "not an integer"));
    free(err);
    const char *empty[] = {"--port=", NULL};
    CHECK_EQ(s_parse(empty, &first, &err), FIN_EUSAGE);
    free(err);

    /* The same checks for the file, with the file's exit code. */
    const char *conf = s_config("workers = 100\n");
    const char *file[] = {"-c", conf, NULL};
    CHECK_EQ(s_parse(file, &first, &err), FIN_ECONFIG);
    CHECK(strstr(err, "demo.conf:1: workers: out of range"));
    free(err);
}

static void test_config_file_errors(void)
{
    int first;
    char *err;
    const char *missing[] = {"-c", "/nonexistent/demo.conf", NULL};
    CHECK_EQ(s_parse(missing, &first, &err), FIN_ENOTFOUND); /* missing input: 66 */
    CHECK(strstr(err, "/nonexistent/demo.conf: no such file"));
    free(err);
    const char *conf = s_config("workers = 2\n[broken\n");
    const char *syntax[] = {"-c", conf, NULL};
    CHECK_EQ(s_parse(syntax, &first, &err), FIN_ECONFIG);
    CHECK(strstr(err, "demo.conf:2: syntax error"));
    free(err);
}

static void test_help(void)
{
    int first;
    s_capture_t c;
    s_capture_begin(&c, 1);
    const char *args[] = {"run", "--help", NULL};
    int rc = s_parse(args, &first, NULL);
    char *out = s_capture_end(&c);
    CHECK_EQ(rc, FIN_OK);
    CHECK_EQ(first, OPTIONS_FINISHED);
    CHECK(strstr(out, "Usage: demo [OPTIONS] COMMAND [ARGS]\n"));
    CHECK(strstr(out, "A demo of the option table."));
    CHECK(strstr(out, "-h, --help"));
    CHECK(strstr(out, "-c, --config FILE"));
    CHECK(strstr(out, "-w, --workers N"));
    CHECK(strstr(out, "worker threads (default: 4)"));
    CHECK(strstr(out, "--endpoint TEXT"));
    CHECK(strstr(out, "-v, --verbose"));
    CHECK(strstr(out, "--dry-run"));
    CHECK(strstr(out, "Exit codes: 0 ok, 64 usage.\n"));
    free(out);

    s_capture_begin(&c, 1);
    const char *v[] = {"-V", NULL};
    rc = s_parse(v, &first, NULL);
    out = s_capture_end(&c);
    CHECK_EQ(rc, FIN_OK);
    CHECK_EQ(first, OPTIONS_FINISHED);
    CHECK(!strcmp(out, "demo " FINSAM_VERSION "\n"));
    free(out);
}

/* The agent's [insatser]: keys of the program's own sections are neither
 * options nor unknown; the program learns the config path. */
static void test_own_sections(void)
{
    const char *conf = s_config("workers = 3\n[insatser]\nAF-123 = steg 1\nbogus = kept\n[x]\nverbose = 1\n");
    static const char *const sections[] = {"insatser", NULL};
    const char *path = "unset";
    opt_own_t own = {sections, &path, NULL};
    int first;
    const char *args[] = {"--config", conf, "go", NULL};
    CHECK_EQ(s_parse_own(&own, args, &first, NULL), 0);
    CHECK_EQ(s_workers, 3);
    CHECK(s_verbose);
    CHECK(path && !strcmp(path, conf));
    CHECK_EQ(first, 3);

    /* Without --config the path is NULL. */
    const char *none[] = {"go", NULL};
    CHECK_EQ(s_parse_own(&own, none, &first, NULL), 0);
    CHECK(path == NULL);

    /* options_parse (no own sections) refuses the same file. */
    char *err;
    CHECK_EQ(s_parse(args, &first, &err), FIN_ECONFIG);
    CHECK(strstr(err, "unknown key 'AF-123'"));
    free(err);
}

/* One file, several programs: which sections "demo" (section
 * [collector]) reads, which it skips, and what it refuses. */
typedef struct {
    const char *name;
    const char *file;
    int rc;          /* options_parse's result */
    const char *err; /* in stderr when rc != 0 */
    const char *endpoint, *format;
    long workers;
} s_section_case_t;

static const s_section_case_t s_section_cases[] = {
    {"common part only", "endpoint = tcp://a:1\nworkers = 2\n", 0, NULL, "tcp://a:1", "table", 2},
    {"own section over the common part", "workers = 2\n[collector]\nworkers = 3\n", 0, NULL,
     "tcp://127.0.0.1:5555", "table", 3},
    {"program name as section", "[demo]\nworkers = 5\n", 0, NULL, "tcp://127.0.0.1:5555", "table", 5},
    {"other programs' sections skipped, their keys unknown to us",
     "workers = 2\n[finsamctl]\nperiod = year\nworkers = 9\n[agent]\nforbund = NV\n[finsam-agent]\nspool = "
     "/x\n"
     "[collector]\nformat = json\n",
     0, NULL, "tcp://127.0.0.1:5555", "json", 2},
    {"a section of no program is read as the common part", "[spool]\nworkers = 7\n", 0, NULL,
     "tcp://127.0.0.1:5555", "table", 7},
    {"unknown key in the common part", "workers = 2\nendpont = tcp://a:1\n", FIN_ECONFIG,
     "demo.conf:2: unknown key 'endpont' (did you mean 'endpoint'?)", NULL, NULL, 0},
    {"unknown key in the own section", "[finsamctl]\nx = 1\n[collector]\n\nworker = 3\n", FIN_ECONFIG,
     "demo.conf:5: unknown key 'worker' in [collector] (did you mean 'workers'?)", NULL, NULL, 0},
    {"unknown key, nothing close", "[collector]\nzzzzzz = 3\n", FIN_ECONFIG,
     "demo.conf:2: unknown key 'zzzzzz' in [collector]\n", NULL, NULL, 0},
    {"bad value in another program's section is not ours", "[agent]\nworkers = many\n", 0, NULL,
     "tcp://127.0.0.1:5555", "table", 4},
    {"bad value in the own section", "[collector]\n; comment\nworkers = many\n", FIN_ECONFIG,
     "demo.conf:3: workers: not an integer", NULL, NULL, 0},
    {"choice refused in the file", "format = xml\n", FIN_ECONFIG,
     "demo.conf:1: format: not one of table|json|csv", NULL, NULL, 0},
};

static void test_sections(void)
{
    for (size_t i = 0; i < TU_NELEMS(s_section_cases); i++) {
        const s_section_case_t *k = &s_section_cases[i];
        fprintf(stderr, "-- %s\n", k->name);
        const char *conf = s_config(k->file);
        const char *args[] = {"-c", conf, NULL};
        int first;
        char *err;
        CHECK_EQ(s_parse(args, &first, &err), k->rc);
        if (k->rc) {
            CHECK(strstr(err, k->err));
            CHECK_EQ(tu_count_in_file(tu_file_in(s_dir(), "err", err), "\n"), 1);
        } else {
            CHECK(!strcmp(s_endpoint, k->endpoint));
            CHECK(!strcmp(s_format, k->format));
            CHECK_EQ(s_workers, k->workers);
        }
        free(err);
    }
}

/* A value not in an option's choices: refused from the command line with
 * FIN_EUSAGE (64), listed in --help. */
static void test_choices(void)
{
    int first;
    char *err;
    const char *good[] = {"-f", "csv", NULL};
    CHECK_EQ(s_parse(good, &first, NULL), 0);
    CHECK(!strcmp(s_format, "csv"));
    const char *bad[] = {"--format", "xml", NULL};
    CHECK_EQ(s_parse(bad, &first, &err), FIN_EUSAGE);
    CHECK(strstr(err, "demo: --format: xml: not one of table|json|csv"));
    free(err);
    s_capture_t c;
    s_capture_begin(&c, 1);
    const char *help[] = {"--help", NULL};
    s_parse(help, &first, NULL);
    char *out = s_capture_end(&c);
    CHECK(strstr(out, "output format (one of table|json|csv) (default: table)"));
    free(out);
}

static void test_suggest(void)
{
    CHECK(options_suggest(&s_spec, "endpoitn") == &s_opts[0]);
    CHECK(options_suggest(&s_spec, "dryrun") == &s_opts[5]);
    CHECK(options_suggest(&s_spec, "port") == &s_opts[3]);
    CHECK(options_suggest(&s_spec, "xyz") == NULL);
    CHECK(options_suggest(&s_spec, "completely-different") == NULL);
}

static const test_case_t s_cases[] = {
    {"sections of several programs", test_sections},
    {"choices", test_choices},
    {"did you mean", test_suggest},
    {"defaults", test_defaults},
    {"config file over defaults", test_file_over_defaults},
    {"command line over config file", test_command_line_over_file},
    {"flags", test_flags},
    {"positional arguments anywhere", test_positional_anywhere},
    {"unknown key", test_unknown_key},
    {"unknown option", test_unknown_option},
    {"int bounds", test_int_bounds},
    {"config file errors", test_config_file_errors},
    {"--help and --version", test_help},
    {"own sections", test_own_sections},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
