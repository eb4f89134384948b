/* harness_test.c: test_run (testutil.h) seen from outside. Runs
 * harness_demo, whose cases fail on purpose one way each, as a subprocess
 * and reads its output and exit status: a failing case does not hide the
 * later ones, a crash, an abort, an exit and a sanitizer report are each
 * reported under the case's name, a case's leftover processes are killed,
 * a hanging case times out, selection by name and -k works, and the
 * status says whether anything failed. */
#include "testutil.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#ifndef HARNESS_DEMO_PATH
#error "HARNESS_DEMO_PATH: the CMakeLists.txt passes the demo's path"
#endif

/* Runs the demo with args (NULL-terminated); returns its exit status and
 * the path of a log holding its stdout and stderr. */
static int s_demo(const char **args, const char **log)
{
    static char path[256];
    static int n;
    static const char *dir;
    if (!dir)
        dir = tu_tempdir();
    snprintf(path, sizeof path, "%s/demo-%d.log", dir, n++);
    char *argv[16] = {HARNESS_DEMO_PATH};
    int argc = 1;
    for (; args && *args && argc < 15; args++)
        argv[argc++] = (char *) *args;
    argv[argc] = NULL;
    setenv("FINSAM_CASE_TIMEOUT", "1", 1);
    int rc = tu_run(argv, path, 60000);
    *log = path;
    char *text = tu_read_file(path);
    fprintf(stderr, "--- harness_demo exited %d; its output:\n%s---\n", rc, text ? text : "");
    free(text);
    return rc;
}

/* True if a line of the log starts with `start` and contains `text`. */
static bool s_line_has(const char *log, const char *start, const char *text)
{
    char *all = tu_read_file(log);
    bool found = false;
    for (char *line = all; line && *line && !found;) {
        char *end = strchr(line, '\n');
        if (end)
            *end = '\0';
        found = !strncmp(line, start, strlen(start)) && strstr(line, text);
        line = end ? end + 1 : line + strlen(line);
    }
    free(all);
    if (!found)
        fprintf(stderr, "no line of %s starts with '%s' and holds '%s'\n", log, start, text);
    return found;
}

static void test_failure_does_not_hide_later_cases(void)
{
    const char *log;
    const char *args[] = {"passes first", "check fails", "check_eq fails", "passes last", NULL};
    CHECK_EQ(s_demo(args, &log), 1);
    CHECK(tu_file_has(log, "ok   passes first"));
    CHECK(s_line_has(log, "FAIL check fails: ", "harness_demo.c:"));
    CHECK(s_line_has(log, "FAIL check fails: ", ": CHECK failed: answer == 42"));
    CHECK_EQ(tu_count_in_file(log, "not reached"), 0);
    CHECK(s_line_has(log, "FAIL check_eq fails: ", "CHECK_EQ failed: 6 * 7 = 42, 43 = 43"));
    CHECK(tu_file_has(log, "ok   passes last"));
    CHECK(tu_file_has(log, "4 cases: 2 ok, 2 failed: 'check fails', 'check_eq fails'\n"));
}

static void test_crash_abort_exit_are_reported(void)
{
    const char *log;
    const char *args[] = {"segfault", "aborts", "exits 3", "passes last", NULL};
    CHECK_EQ(s_demo(args, &log), 1);
    /* Under ASan a SEGV is its report (with abort_on_error=1, as
     * ./finsam-test sets, after "killed by signal 6"); otherwise the signal. */
    CHECK(tu_file_has(log, "FAIL segfault: "));
#if defined(__SANITIZE_ADDRESS__)
    CHECK(s_line_has(log, "FAIL segfault: ", "AddressSanitizer: SEGV"));
#else
    CHECK(tu_file_has(log, "FAIL segfault: killed by signal 11"));
#endif
    CHECK(tu_file_has(log, "FAIL aborts: killed by signal 6"));
    CHECK(tu_file_has(log, "FAIL exits 3: exit status 3\n"));
    CHECK(tu_file_has(log, "ok   passes last"));
    CHECK(tu_file_has(log, "4 cases: 1 ok, 3 failed"));
}

static void test_sanitizer_report_fails_the_case(void)
{
    const char *log;
    const char *args[] = {"heap overflow", "signed overflow", "passes last", NULL};
    int expect_failed = 0;
#if defined(__SANITIZE_ADDRESS__)
    expect_failed++;
#endif
#if defined(HARNESS_UBSAN)
    expect_failed++;
#endif
    CHECK_EQ(s_demo(args, &log), expect_failed ? 1 : 0);
#if defined(__SANITIZE_ADDRESS__)
    CHECK(s_line_has(log, "FAIL heap overflow: ", "AddressSanitizer: heap-buffer-overflow"));
#else
    CHECK(tu_file_has(log, "ok   heap overflow"));
#endif
#if defined(HARNESS_UBSAN)
    CHECK(tu_file_has(log, "runtime error: signed integer overflow"));
    CHECK(s_line_has(log, "FAIL signed overflow: ", "harness_demo.c:"));
    CHECK(s_line_has(log, "FAIL signed overflow: ", ": runtime error: "));
#else
    CHECK(tu_file_has(log, "ok   signed overflow"));
#endif
    CHECK(tu_file_has(log, "ok   passes last"));
    char summary[64];
    snprintf(summary, sizeof summary, "3 cases: %d ok, %d failed", 3 - expect_failed, expect_failed);
    CHECK(tu_file_has(log, summary));
}

static pid_t s_orphan;

/* The orphan is gone, or a zombie waiting for init to reap it. */
static bool s_orphan_dead(void *arg)
{
    (void) arg;
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int) s_orphan);
    char *stat = tu_read_file(path);
    bool dead = !stat || (strrchr(stat, ')') && strrchr(stat, ')')[2] == 'Z');
    free(stat);
    return dead;
}

static void test_leftover_processes_are_killed(void)
{
    const char *dir = tu_tempdir();
    char pidfile[256];
    snprintf(pidfile, sizeof pidfile, "%s/pid", dir);
    setenv("HARNESS_DEMO_PIDFILE", pidfile, 1);
    const char *log;
    const char *args[] = {"leaves a child", "passes last", NULL};
    CHECK_EQ(s_demo(args, &log), 1);
    CHECK(tu_file_has(log, "FAIL leaves a child: killed by signal 9"));
    CHECK(tu_file_has(log, "ok   passes last"));
    char *text = tu_read_file(pidfile);
    CHECK(text);
    s_orphan = (pid_t) atoi(text);
    free(text);
    CHECK(s_orphan > 0);
    CHECK(tu_wait_for(s_orphan_dead, NULL, 5000));
}

static void test_hanging_case_times_out(void)
{
    const char *log;
    const char *args[] = {"hangs", "passes last", NULL};
    CHECK_EQ(s_demo(args, &log), 1);
    CHECK(tu_file_has(log, "FAIL hangs: timed out after 1 s"));
    CHECK(tu_file_has(log, "ok   passes last"));
}

static void test_status_zero_iff_all_pass(void)
{
    const char *log;
    const char *pass[] = {"-k", "passes", NULL};
    CHECK_EQ(s_demo(pass, &log), 0);
    CHECK(tu_file_has(log, "ok   passes first"));
    CHECK(tu_file_has(log, "ok   passes last"));
    CHECK(tu_file_has(log, "2 cases: 2 ok, 0 failed\n"));
    CHECK(tu_file_lacks(log, "== check fails"));

    const char *one_fails[] = {"-k", "passes", "-k", "exits", NULL};
    CHECK_EQ(s_demo(one_fails, &log), 1);
    CHECK(tu_file_has(log, "3 cases: 2 ok, 1 failed: 'exits 3'\n"));
}

static void test_selection(void)
{
    const char *log;
    const char *list[] = {"-l", NULL};
    CHECK_EQ(s_demo(list, &log), 0);
    CHECK(tu_file_has(log, "passes first\ncheck fails\n"));
    CHECK(tu_file_has(log, "hangs\npasses last\n"));

    const char *unknown[] = {"no such case", NULL};
    CHECK_EQ(s_demo(unknown, &log), 2);
    CHECK(tu_file_has(log, "no case named 'no such case'"));

    const char *nothing[] = {"-k", "zzz", NULL};
    CHECK_EQ(s_demo(nothing, &log), 2);

    const char *bad[] = {"--frobnicate", NULL};
    CHECK_EQ(s_demo(bad, &log), 2);
    CHECK(tu_file_has(log, "usage: "));
}

/* The whole table at once: every failure is counted, in table order. */
static void test_full_run(void)
{
    const char *log;
    CHECK_EQ(s_demo(NULL, &log), 1);
    int failed = 7;
#if defined(__SANITIZE_ADDRESS__)
    failed++;
#endif
#if defined(HARNESS_UBSAN)
    failed++;
#endif
    char summary[64];
    snprintf(summary, sizeof summary, "11 cases: %d ok, %d failed", 11 - failed, failed);
    CHECK(tu_file_has(log, summary));
    CHECK(tu_file_has(log, "ok   passes first"));
    CHECK(tu_file_has(log, "ok   passes last"));
}

static const test_case_t s_cases[] = {
    {"a failing case does not hide later ones", test_failure_does_not_hide_later_cases},
    {"a crash, an abort and an exit are reported", test_crash_abort_exit_are_reported},
    {"a sanitizer report fails the case", test_sanitizer_report_fails_the_case},
    {"a case's leftover processes are killed", test_leftover_processes_are_killed},
    {"a hanging case times out", test_hanging_case_times_out},
    {"the status is zero iff all pass", test_status_zero_iff_all_pass},
    {"selection by name and -k", test_selection},
    {"the full table", test_full_run},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
