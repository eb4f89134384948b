/* spool_test.c: `finsam-agent run --spool DIR` with a real agent process.
 * A file waiting before start, a good file renamed in and a bad file
 * written in place are each imported and moved to done/ or rejected/ with
 * a report beside them, while the sender runs (towards a collector that is
 * not there: sending must not be needed for importing). Waits on the
 * reports appearing, never on time. */
#include "testutil.h"

#include "keys.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static const char *s_dir;
static char s_data[256], s_spool[256], s_log[256];

static bool s_exists(void *path)
{
    return access(path, F_OK) == 0;
}

static void s_wait_file(const char *path)
{
    if (!tu_wait_for(s_exists, (void *) path, 20000)) {
        char *log = tu_read_file(s_log);
        fprintf(stderr, "timed out waiting for %s\n--- agent ---\n%s\n", path, log ? log : "");
        free(log);
        CHECK(!"file did not appear");
    }
}

static const char *s_good_csv = "Personnummer;Datum;Arbetsform;Kön;Födelseår;Behov;Planering\n"
                                "8811305674;2026-03-01;Projekt;Kvinna;;5;3\n"
                                "9202296787;2026-03-02;Integrerad;Man;;4;2\n";

static const char *s_bad_csv = "Personnummer;Datum;Arbetsform;Kön;Födelseår;Behov;Planering\n"
                               "6505057890;2026-03-01;Projekt;Kvinna;;5;3\n"
                               "6505057891;2026-03-01;Projekt;Kvinna;;5;3\n";

static void test_spool(void)
{
    char err[256], path[512], tmp[512];
    char *keygen[] = {(char *) tu_bin("finsam-agent"), "-d", s_data, "keygen", "--forbund", "NV", NULL};
    CHECK_EQ(tu_run(keygen, NULL, 30000), 0);
    /* The sender needs a collector certificate; nothing listens there. */
    snprintf(path, sizeof path, "%s/keys/collector.key", s_data);
    CHECK_EQ(keys_generate(path, "collector", NULL, err, sizeof err), 0);

    /* Waiting before the agent starts. */
    snprintf(path, sizeof path, "%s/early.jsonl", s_spool);
    CHECK_EQ(
        tu_write_file(
            path, "{\"kind\":\"organisation\",\"date\":\"2025-12-31\",\"answers\":{\"o_forum_moten\":12}}\n"),
        0);
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", tu_free_port());
    char *run[] = {(char *) tu_bin("finsam-agent"),
                   "-d",
                   s_data,
                   "--collector",
                   endpoint,
                   "--spool",
                   s_spool,
                   "--mapping",
                   (char *) tu_src("tests/agents/fixtures/survey.ini"),
                   "run",
                   NULL};
    pid_t pid = tu_spawn(run, s_log);
    snprintf(path, sizeof path, "%s/done/early.jsonl.report.txt", s_spool);
    s_wait_file(path);

    /* Good: written under a dot name, then renamed in (IN_MOVED_TO). */
    snprintf(tmp, sizeof tmp, "%s/.good.csv", s_spool);
    snprintf(path, sizeof path, "%s/good.csv", s_spool);
    CHECK_EQ(tu_write_file(tmp, s_good_csv), 0);
    CHECK_EQ(rename(tmp, path), 0);
    /* Bad: written in place (IN_CLOSE_WRITE). */
    snprintf(path, sizeof path, "%s/bad.csv", s_spool);
    CHECK_EQ(tu_write_file(path, s_bad_csv), 0);

    snprintf(path, sizeof path, "%s/done/good.csv.report.txt", s_spool);
    s_wait_file(path);
    char *report = tu_read_file(path);
    CHECK(report && strstr(report, "rows=2 accepted=2 already_imported=0"));
    free(report);
    snprintf(path, sizeof path, "%s/rejected/bad.csv.report.txt", s_spool);
    s_wait_file(path);
    report = tu_read_file(path);
    CHECK(report &&
          strstr(report, "bad.csv:3: column 1 \"Personnummer\": personnummer check digit is wrong"));
    CHECK(report && strstr(report, "nothing stored"));
    CHECK(report && !strstr(report, "6505057891"));
    free(report);
    snprintf(path, sizeof path, "%s/done/good.csv", s_spool);
    CHECK(access(path, F_OK) == 0);
    snprintf(path, sizeof path, "%s/rejected/bad.csv", s_spool);
    CHECK(access(path, F_OK) == 0);
    snprintf(path, sizeof path, "%s/good.csv", s_spool);
    CHECK(access(path, F_OK) < 0);

    /* The same file dropped again: imported as nothing new, kept beside. */
    snprintf(path, sizeof path, "%s/good.csv", s_spool);
    CHECK_EQ(tu_write_file(path, s_good_csv), 0);
    snprintf(path, sizeof path, "%s/done/good.csv.1.report.txt", s_spool);
    s_wait_file(path);
    report = tu_read_file(path);
    CHECK(report && strstr(report, "rows=2 accepted=0 already_imported=2"));
    free(report);

    tu_kill(pid, SIGTERM);
    char *log = tu_read_file(s_log);
    CHECK(log && strstr(log, "SPOOL-DONE file=good.csv") && strstr(log, "SPOOL-REJECTED file=bad.csv"));
    CHECK(log && !strstr(log, "6505057891"));
    free(log);

    char *status[] = {(char *) tu_bin("finsam-agent"),
                      "-d",
                      s_data,
                      "--spool",
                      s_spool,
                      "--format",
                      "json",
                      "status",
                      NULL};
    char *out = NULL;
    CHECK_EQ(tu_capture(status, &out, 30000), 0);
    CHECK(out && strstr(out, "\"queued\": 3") && strstr(out, "\"rejected_files\": 1") &&
          strstr(out, "\"waiting\": 0"));
    free(out);
}

static void test_check_config(void)
{
    char *argv[] = {(char *) tu_bin("finsam-agent"),
                    "-d",
                    s_data,
                    "--spool",
                    s_spool,
                    "--mapping",
                    (char *) tu_src("tests/agents/fixtures/survey.ini"),
                    "--check-config",
                    NULL};
    char *out = NULL;
    CHECK_EQ(tu_capture(argv, &out, 30000), 0);
    CHECK(out && strstr(out, "configuration ok"));
    free(out);
    char *bad[] = {(char *) tu_bin("finsam-agent"),
                   "-d",
                   s_data,
                   "--mapping",
                   "/nonexistent.ini",
                   "--check-config",
                   NULL};
    CHECK_EQ(tu_run(bad, s_log, 30000), 78);
}

int main(void)
{
    s_dir = tu_tempdir();
    snprintf(s_data, sizeof s_data, "%s/data", s_dir);
    snprintf(s_spool, sizeof s_spool, "%s/spool", s_dir);
    snprintf(s_log, sizeof s_log, "%s/agent.log", s_dir);
    char *mk[] = {"/bin/mkdir", "-p", s_spool, NULL};
    CHECK_EQ(tu_run(mk, NULL, 10000), 0);
    RUN(test_spool);
    RUN(test_check_config);
    return tu_result();
}
