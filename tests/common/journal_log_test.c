/* journal_log_test.c: common/log.c under systemd's journal. When
 * JOURNAL_STREAM names the stream stderr is (st_dev:st_ino), every line
 * starts with its sd-daemon(3) priority (<3> error, <4> warning, <6> info,
 * <7> debug) and carries no time of its own; in every other case (unset,
 * another file's DEV:INO, a malformed value) lines are exactly as before.
 *
 * log.c decides once per process, so each case writes from a fresh child
 * whose stderr is a pipe the case reads. */
#include "testutil.h"

#include "log.h"

#include <regex.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef enum { ENV_MATCHING, ENV_UNSET, ENV_OTHER_FILE, ENV_MALFORMED } env_t;

static void s_write_lines(void)
{
    log_debug("test", "DEBUG-LINE n=%d", 1);
    log_info("ingest", "BATCH-STORED agent=%s events=%d", "nv", 100);
    log_warn("auth", "AUTH-REFUSED address=%s", "127.0.0.1");
    log_error("collector", "STOPPED reason=%s", "test\nforged");
}

/* Runs s_write_lines (or write) in a child whose stderr is a pipe, with
 * JOURNAL_STREAM set as `env` says; returns what it wrote (free it). */
static char *s_child_output(env_t env, const char *malformed, void (*write)(void))
{
    int p[2];
    CHECK(pipe(p) == 0);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(p[1], STDERR_FILENO);
        close(p[0]);
        close(p[1]);
        struct stat st;
        char v[64];
        switch (env) {
        case ENV_MATCHING:
            fstat(STDERR_FILENO, &st);
            snprintf(v, sizeof v, "%llu:%llu", (unsigned long long) st.st_dev,
                     (unsigned long long) st.st_ino);
            setenv("JOURNAL_STREAM", v, 1);
            break;
        case ENV_UNSET: unsetenv("JOURNAL_STREAM"); break;
        case ENV_OTHER_FILE: /* inherited from a parent whose stderr was the journal */
            stat("/dev/null", &st);
            snprintf(v, sizeof v, "%llu:%llu", (unsigned long long) st.st_dev,
                     (unsigned long long) st.st_ino);
            setenv("JOURNAL_STREAM", v, 1);
            break;
        case ENV_MALFORMED: setenv("JOURNAL_STREAM", malformed, 1); break;
        }
        log_set_level("debug");
        write();
        _exit(0);
    }
    close(p[1]);
    size_t cap = 8192, len = 0;
    char *out = malloc(cap);
    CHECK(out);
    ssize_t n;
    while ((n = read(p[0], out + len, cap - len - 1)) > 0)
        if ((len += (size_t) n) == cap - 1)
            CHECK((out = realloc(out, cap *= 2)) != NULL);
    close(p[0]);
    out[len] = '\0';
    int status;
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return out;
}

static void s_check_matches(const char *out, const char *pattern)
{
    regex_t re;
    CHECK_EQ(regcomp(&re, pattern, REG_EXTENDED), 0);
    bool ok = regexec(&re, out, 0, NULL, 0) == 0;
    if (!ok)
        fprintf(stderr, "log lines:\n%s\nexpected:\n%s\n", out, pattern);
    regfree(&re);
    CHECK(ok);
}

#define TIME "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
/* The lines of s_write_lines with a time, as log_test.c knows them. */
static const char s_timed[] =
    "^" TIME "DEBUG test DEBUG-LINE n=1\n" TIME "INFO  ingest BATCH-STORED agent=nv "
    "events=100\n" TIME "WARN  auth AUTH-REFUSED address=127\\.0\\.0\\.1\n" TIME
    "ERROR collector STOPPED reason=test forged\n$";

static void test_journal_priorities(void)
{
    char *out = s_child_output(ENV_MATCHING, NULL, s_write_lines);
    s_check_matches(out, "^<7>DEBUG test DEBUG-LINE n=1\n"
                         "<6>INFO  ingest BATCH-STORED agent=nv events=100\n"
                         "<4>WARN  auth AUTH-REFUSED address=127\\.0\\.0\\.1\n"
                         "<3>ERROR collector STOPPED reason=test forged\n$");
    free(out);
}

static void s_write_big(void)
{
    static char big[5000];
    memset(big, 'z', sizeof big - 1);
    log_info("web", "BIG %s", big);
}

static void test_journal_one_line(void)
{
    /* The prefix takes the time's place inside the same 1 KiB line. */
    char *out = s_child_output(ENV_MATCHING, NULL, s_write_big);
    CHECK(!strncmp(out, "<6>INFO  web BIG zzz", 20));
    CHECK_EQ(strlen(out), 1023);
    CHECK(strchr(out, '\n') == out + 1022);
    free(out);
}

static void test_unset(void)
{
    char *out = s_child_output(ENV_UNSET, NULL, s_write_lines);
    s_check_matches(out, s_timed);
    free(out);
}

static void test_other_file(void)
{
    char *out = s_child_output(ENV_OTHER_FILE, NULL, s_write_lines);
    s_check_matches(out, s_timed);
    free(out);
}

static void test_malformed(void)
{
    const char *values[] = {"", "garbage", "12", "12:", ":34", "1:2:3", "1:2x"};
    for (size_t i = 0; i < TU_NELEMS(values); i++) {
        char *out = s_child_output(ENV_MALFORMED, values[i], s_write_lines);
        s_check_matches(out, s_timed);
        free(out);
    }
}

static const test_case_t s_cases[] = {
    {"JOURNAL_STREAM is stderr: priorities, no time", test_journal_priorities},
    {"JOURNAL_STREAM is stderr: one line, 1 KiB", test_journal_one_line},
    {"JOURNAL_STREAM unset: time as before", test_unset},
    {"JOURNAL_STREAM of another file: time as before", test_other_file},
    {"JOURNAL_STREAM malformed: time as before", test_malformed},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
