/* prologue_test.c: common/prologue.c through prologue.h, the first steps
 * every binary's main() shares: prologue_run's contract (true: main goes
 * on; false: main returns *exit_status: 0 after --help, 64 for a bad log
 * level, 66 for a missing config file), no core dumps, and
 * prologue_signals' flag. Each run is a forked child with its output in
 * files, as a real main's would be. */
#include "prologue.h"
#include "testutil.h"

#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static char *s_level;
static char *s_name;

static const opt_t s_opts[] = {
    {"log-level", 'l', OPT_STR, "info", 0, 0, "debug, info, warn or error", &s_level},
    {"name", 0, OPT_STR, "x", 0, 0, "a name", &s_name},
};

static const opt_spec_t s_spec = {
    "demo",
    "demo [OPTIONS] COMMAND",
    "A demo of the prologue.",
    "Exit codes: 0, 64, 78.\n",
    s_opts,
    TU_NELEMS(s_opts),
    NULL,
    NULL,
};

/* What a child's prologue_run did. */
typedef struct {
    int status; /* 100 + first_arg if it returned true, else *exit_status */
    char *out, *err;
} s_run_t;

#define S_WENT_ON 100

/* Runs prologue_run on argv in a forked child, as main() would. */
static s_run_t s_run(char **argv)
{
    const char *dir = tu_tempdir();
    char out[512], err[512];
    snprintf(out, sizeof out, "%s/out", dir);
    snprintf(err, sizeof err, "%s/err", dir);
    int argc = 0;
    while (argv[argc])
        argc++;
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        if (!freopen(out, "w", stdout) || !freopen(err, "w", stderr))
            _exit(99);
        prologue_t p = {.spec = &s_spec, .log_level = (const char *const *) &s_level};
        int first = -2, status = -2;
        bool go_on = prologue_run(&p, argc, argv, &first, &status);
        fflush(NULL);
        _exit(go_on ? S_WENT_ON + first : status);
    }
    int ws;
    CHECK(waitpid(pid, &ws, 0) == pid && WIFEXITED(ws));
    s_run_t r = {WEXITSTATUS(ws), tu_read_file(out), tu_read_file(err)};
    CHECK(r.out && r.err);
    fprintf(stderr, "status %d\nstdout: %s\nstderr: %s\n", r.status, r.out, r.err);
    return r;
}

static void s_free(s_run_t *r)
{
    free(r->out);
    free(r->err);
}

static void test_goes_on_at_first_positional(void)
{
    char *argv[] = {"demo", "--log-level", "warn", "run", "more", NULL};
    s_run_t r = s_run(argv);
    CHECK_EQ(r.status, S_WENT_ON + 3);
    CHECK_EQ(strlen(r.err), 0);
    s_free(&r);
}

static void test_help_exits_zero(void)
{
    char *argv[] = {"demo", "--help", "run", NULL};
    s_run_t r = s_run(argv);
    CHECK_EQ(r.status, 0); /* false, and main returns 0 */
    CHECK(strstr(r.out, "demo [OPTIONS] COMMAND"));
    CHECK(strstr(r.out, "log-level"));
    s_free(&r);
}

static void test_bad_log_level_is_usage(void)
{
    char *argv[] = {"demo", "--log-level", "loud", "run", NULL};
    s_run_t r = s_run(argv);
    CHECK_EQ(r.status, 64);
    CHECK(strstr(r.err, "demo: --log-level: loud"));
    CHECK(strstr(r.err, "debug, info, warn or error"));
    s_free(&r);
}

static void test_unknown_option_is_usage(void)
{
    char *argv[] = {"demo", "--no-such-option", "run", NULL};
    s_run_t r = s_run(argv);
    CHECK_EQ(r.status, 64);
    CHECK(strstr(r.err, "no-such-option"));
    s_free(&r);
}

/* A --config FILE that does not exist is a missing input file (66). */
static void test_missing_config_is_missing_input(void)
{
    char path[512];
    snprintf(path, sizeof path, "%s/absent.conf", tu_tempdir());
    char *argv[] = {"demo", "--config", path, "run", NULL};
    s_run_t r = s_run(argv);
    CHECK_EQ(r.status, 66);
    CHECK(strstr(r.err, path));
    s_free(&r);
}

static void test_bad_level_in_config_file(void)
{
    const char *conf = tu_file_in(tu_tempdir(), "demo.conf", "[demo]\nlog-level = chatty\n");
    char *argv[] = {"demo", "-c", (char *) conf, "run", NULL};
    s_run_t r = s_run(argv);
    /* The value is checked wherever it came from. */
    CHECK_EQ(r.status, 64);
    CHECK(strstr(r.err, "chatty"));
    s_free(&r);
}

static void test_not_dumpable_after(void)
{
    CHECK_EQ(prctl(PR_GET_DUMPABLE), 1);
    prologue_t p = {.spec = &s_spec, .log_level = (const char *const *) &s_level};
    char *argv[] = {"demo", "run", NULL};
    int first = -2, status = -2;
    CHECK(prologue_run(&p, 2, argv, &first, &status));
    CHECK_EQ(first, 1);
    CHECK_EQ(status, 0);
    CHECK_EQ(prctl(PR_GET_DUMPABLE), 0);
}

static volatile sig_atomic_t s_stop;

static void test_signals_set_flag(void)
{
    prologue_signals(&s_stop);
    CHECK_EQ(s_stop, 0);
    CHECK(raise(SIGTERM) == 0);
    CHECK_EQ(s_stop, 1);
    s_stop = 0;
    CHECK(raise(SIGINT) == 0);
    CHECK_EQ(s_stop, 1);
    /* Still alive after SIGPIPE (a peer gone mid-write must not kill us). */
    CHECK(raise(SIGPIPE) == 0);
    /* No SA_RESTART: a blocking poll returns EINTR and the loop sees the flag. */
    struct sigaction sa;
    CHECK(sigaction(SIGTERM, NULL, &sa) == 0);
    CHECK((sa.sa_flags & SA_RESTART) == 0);
    CHECK(sigaction(SIGPIPE, NULL, &sa) == 0);
    CHECK(sa.sa_handler == SIG_IGN);
}

static const test_case_t s_cases[] = {
    {"goes on at first positional", test_goes_on_at_first_positional},
    {"help exits zero", test_help_exits_zero},
    {"bad log level is usage", test_bad_log_level_is_usage},
    {"unknown option is usage", test_unknown_option_is_usage},
    {"missing config file is 66", test_missing_config_is_missing_input},
    {"bad level in config file", test_bad_level_in_config_file},
    {"not dumpable after", test_not_dumpable_after},
    {"signals set the flag", test_signals_set_flag},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
