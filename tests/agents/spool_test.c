/* spool_test.c: `finsam-agent run --spool DIR` with a real agent process.
 * A file waiting before start, a good file renamed in and a bad file
 * written in place are each imported and get a numbered report in
 * reports/, while the sender runs (towards a collector that is not there:
 * sending must not be needed for importing). Retention: imported files are
 * deleted at once by default or kept in done/ for spool-retention-days;
 * refused files are kept in rejected/ for spool-rejected-retention-days;
 * kept files whose time is up are purged at start and after each import,
 * files left by older versions too. Reports and log lines never carry a
 * file's name. Waits on files appearing and vanishing, never on time. */
#include "testutil.h"

#include "keys.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *s_dir;
static char s_data[256], s_spool[256], s_log[256], s_cfg[256], s_endpoint[64];

static bool s_exists(void *path)
{
    return access(path, F_OK) == 0;
}

static bool s_gone(void *path)
{
    return access(path, F_OK) < 0;
}

static void s_wait(bool (*pred)(void *), const char *path, const char *what)
{
    if (!tu_wait_for(pred, (void *) path, 20000)) {
        char *log = tu_read_file(s_log);
        fprintf(stderr, "timed out waiting for %s to %s\n--- agent ---\n%s\n", path, what, log ? log : "");
        free(log);
        CHECK(!"timed out");
    }
}

static const char *s_in(const char *sub, const char *name)
{
    static char bufs[8][512];
    static int next;
    char *b = bufs[next++ % 8];
    snprintf(b, sizeof bufs[0], "%s%s%s/%s", s_spool, *sub ? "/" : "", sub, name);
    return b;
}

/* Sets a file's modification time `days` days back. */
static void s_age(const char *path, int days)
{
    struct timespec t[2];
    clock_gettime(CLOCK_REALTIME, &t[0]);
    t[0].tv_sec -= (time_t) days * 86400;
    t[1] = t[0];
    CHECK_EQ(utimensat(AT_FDCWD, path, t, 0), 0);
}

static pid_t s_start_with(const char *mapping, const char *extra)
{
    char *run[] = {(char *) tu_bin("finsam-agent"),
                   "-c",
                   s_cfg,
                   "-d",
                   s_data,
                   "--collector",
                   s_endpoint,
                   "--spool",
                   s_spool,
                   "--mapping",
                   (char *) mapping,
                   "run",
                   (char *) extra,
                   NULL};
    return tu_spawn(run, s_log);
}

static pid_t s_start(const char *extra)
{
    return s_start_with(tu_src("tests/agents/fixtures/survey.ini"), extra);
}

static const char *s_good_csv = "Personnummer;Datum;Arbetsform;Kön;Födelseår;Behov;Planering\n"
                                "8811305674;2026-03-01;Projekt;Kvinna;;5;3\n"
                                "9202296787;2026-03-02;Integrerad;Man;;4;2\n";

static const char *s_bad_csv = "Personnummer;Datum;Arbetsform;Kön;Födelseår;Behov;Planering\n"
                               "6505057890;2026-03-01;Projekt;Kvinna;;5;3\n"
                               "6505057891;2026-03-01;Projekt;Kvinna;;5;3\n";

static void s_setup(void);

static void test_spool(void)
{
    /* Waiting before the agent starts, and what an older version and
     * earlier runs left: a file and its named report in done/, an expired
     * and a fresh refused file. */
    CHECK_EQ(tu_write_file(
                 s_in("", "early.jsonl"),
                 "{\"kind\":\"organisation\",\"date\":\"2025-12-31\",\"answers\":{\"o_forum_moten\":12}}\n"),
             0);
    CHECK_EQ(tu_write_file(s_in("done", "old.csv"), s_good_csv), 0);
    CHECK_EQ(tu_write_file(s_in("done", "old.csv.report.txt"), "file: old.csv\n"), 0);
    CHECK_EQ(tu_write_file(s_in("rejected", "000007-expired.csv"), s_bad_csv), 0);
    s_age(s_in("rejected", "000007-expired.csv"), 3);
    CHECK_EQ(tu_write_file(s_in("rejected", "000005-fresh.csv"), s_bad_csv), 0);
    s_age(s_in("rejected", "000005-fresh.csv"), 1);

    pid_t pid = s_start(NULL);
    /* Numbers go on after the highest seen, even if that file is purged. */
    s_wait(s_exists, s_in("reports", "000008-done.txt"), "appear");
    /* The report is written first, then the file is deleted or moved. */
    s_wait(s_gone, s_in("", "early.jsonl"), "be deleted");
    CHECK(s_gone((void *) s_in("done", "old.csv")) && s_gone((void *) s_in("done", "old.csv.report.txt")));
    CHECK(s_gone((void *) s_in("rejected", "000007-expired.csv")));
    CHECK(s_exists((void *) s_in("rejected", "000005-fresh.csv")));

    /* Good: written under a dot name, then renamed in (IN_MOVED_TO). */
    CHECK_EQ(tu_write_file(s_in("", ".good.csv"), s_good_csv), 0);
    CHECK_EQ(rename(s_in("", ".good.csv"), s_in("", "good.csv")), 0);
    s_wait(s_exists, s_in("reports", "000009-done.txt"), "appear");
    /* Bad: written in place (IN_CLOSE_WRITE). */
    CHECK_EQ(tu_write_file(s_in("", "bad.csv"), s_bad_csv), 0);
    s_wait(s_exists, s_in("reports", "000010-rejected.txt"), "appear");

    char *report = tu_read_file(s_in("reports", "000009-done.txt"));
    CHECK(report && strstr(report, "000009: rows=2 accepted=2 already_imported=0"));
    CHECK(report && strstr(report, "finsam-agent inläsningsrapport\nfilnummer: 000009 (raderna nedan"));
    CHECK(report && strstr(report, "resultat: inläst\n"));
    CHECK(report && strstr(report, "källfilen: raderad efter den här rapporten (spool-retention-days = 0)"));
    CHECK(report && !strstr(report, "import report") && !strstr(report, "result:"));
    CHECK(report && !strstr(report, "good"));
    free(report);
    s_wait(s_gone, s_in("", "good.csv"), "be deleted");
    CHECK(s_gone((void *) s_in("done", "000009-good.csv")));
    report = tu_read_file(s_in("reports", "000010-rejected.txt"));
    CHECK(report &&
          strstr(report, "000010:3: kolumn 1 \"Personnummer\": personnumrets kontrollsiffra stämmer inte"));
    CHECK(report &&
          strstr(report, "resultat: inte inläst, inget sparades: rätta exporten och lägg in den igen\n"));
    CHECK(report && strstr(report, "källfilen: rejected/000010-* till och med "));
    CHECK(report && !strstr(report, "6505057891") && !strstr(report, "bad"));
    free(report);
    s_wait(s_exists, s_in("rejected", "000010-bad.csv"), "appear");

    /* Its time runs out while the agent runs: the purge after the next
     * import deletes it (the hourly one does the same without imports).
     * The same export dropped again adds nothing. */
    s_age(s_in("rejected", "000010-bad.csv"), 3);
    CHECK_EQ(tu_write_file(s_in("", "good.csv"), s_good_csv), 0);
    s_wait(s_exists, s_in("reports", "000011-done.txt"), "appear");
    report = tu_read_file(s_in("reports", "000011-done.txt"));
    CHECK(report && strstr(report, "rows=2 accepted=0 already_imported=2"));
    free(report);
    s_wait(s_gone, s_in("rejected", "000010-bad.csv"), "be purged");

    tu_kill(pid, SIGTERM);
    char *log = tu_read_file(s_log);
    CHECK(log && strstr(log, "SPOOL-DONE spool_no=9 name_hash=") &&
          strstr(log, "SPOOL-REJECTED spool_no=10 name_hash="));
    CHECK(log && strstr(log, "SPOOL-PURGED dir=rejected files=1"));
    /* The same name gives the same hash: staff can follow one file. */
    const char *h9 = strstr(strstr(log, "SPOOL-DONE spool_no=9 "), "name_hash="),
               *h11 = strstr(strstr(log, "SPOOL-DONE spool_no=11 "), "name_hash=");
    CHECK(h9 && h11 && strncmp(h9, h11, 18) == 0);
    CHECK(log && !strstr(log, "6505057891") && !strstr(log, "good") && !strstr(log, "bad.csv") &&
          !strstr(log, "early") && !strstr(log, "fresh"));
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

    /* In words for staff, the newest report of a file not imported named;
     * without --spool too: the agent that ran said which spool it watched
     * (the unit gives --spool on its command line, not in agent.ini). */
    char rejected_line[800];
    snprintf(rejected_line, sizeof rejected_line, "Filer som inte lästes in: 1 (se %s)\n",
             s_in("reports", "000010-rejected.txt"));
    for (int with_spool = 1; with_spool >= 0; with_spool--) {
        char *text[] = {(char *) tu_bin("finsam-agent"), "-d", s_data, "status", "--spool", s_spool, NULL};
        if (!with_spool)
            text[4] = NULL;
        CHECK_EQ(tu_capture(text, &out, 30000), 0);
        CHECK(out && strstr(out, "Filer som väntar på att läsas in: 0\n"));
        CHECK(out && strstr(out, rejected_line));
        CHECK(out && strstr(out, "waiting=0 rejected_files=1\n")); /* the machine line stays */
        free(out);
    }
    char *en[] = {(char *) tu_bin("finsam-agent"), "-d", s_data, "status", "--lang", "en", NULL};
    CHECK_EQ(tu_capture(en, &out, 30000), 0);
    CHECK(out && strstr(out, "Files waiting to be imported: 0\n"));
    CHECK(out && strstr(out, "Files that were not imported: 1 (see ") &&
          strstr(out, "000010-rejected.txt)\n"));
    free(out);
}

static void test_keep_imported(void)
{
    /* Kept for a day: the file waits in done/ under its number. */
    CHECK_EQ(tu_write_file(s_in("", "kept.csv"), s_good_csv), 0);
    pid_t pid = s_start("--spool-retention-days=1");
    s_wait(s_exists, s_in("reports", "000012-done.txt"), "appear");
    s_wait(s_exists, s_in("done", "000012-kept.csv"), "appear");
    char *report = tu_read_file(s_in("reports", "000012-done.txt"));
    CHECK(report && strstr(report, "källfilen: done/000012-* till och med "));
    CHECK(report && strstr(report, "(spool-retention-days = 1), sedan raderad"));
    free(report);
    tu_kill(pid, SIGTERM);
    /* Two days later the agent starts again and purges it at once. */
    s_age(s_in("done", "000012-kept.csv"), 2);
    pid = s_start("--spool-retention-days=1");
    s_wait(s_gone, s_in("done", "000012-kept.csv"), "be purged");
    CHECK(s_exists((void *) s_in("reports", "000012-done.txt"))); /* reports stay */
    tu_kill(pid, SIGTERM);
}

static void test_check_config(void)
{
    s_setup();
    char *argv[] = {(char *) tu_bin("finsam-agent"),
                    "-c",
                    s_cfg,
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
    CHECK(out && strstr(out, "insatskoder: 2 angivna i [insatser] i agent.ini"));
    CHECK(out && strstr(out, "finsam-agent: inställningarna är ok"));
    free(out);
    char *bad[] = {(char *) tu_bin("finsam-agent"),
                   "-d",
                   s_data,
                   "--mapping",
                   "/nonexistent.ini",
                   "--check-config",
                   NULL};
    CHECK_EQ(tu_run(bad, s_log, 30000), 78);
    const char *cfg = tu_file_in(s_dir, "bad.ini", "spool-retention-days = -1\n");
    char *neg[] = {(char *) tu_bin("finsam-agent"), "-c", (char *) cfg, "-d", s_data, "--check-config", NULL};
    CHECK_EQ(tu_run(neg, s_log, 30000), 78);
    CHECK(tu_file_has(s_log, "spool-retention-days: out of range"));
}

/* Every case has a directory of its own: data, spool, configuration. */
static void s_setup(void)
{
    s_dir = tu_tempdir();
    snprintf(s_data, sizeof s_data, "%s/data", s_dir);
    snprintf(s_spool, sizeof s_spool, "%s/spool", s_dir);
    snprintf(s_log, sizeof s_log, "%s/agent.log", s_dir);
    snprintf(s_cfg, sizeof s_cfg, "%s/agent.ini", s_dir);
    snprintf(s_endpoint, sizeof s_endpoint, "tcp://127.0.0.1:%d", tu_free_port());
    CHECK_EQ(tu_write_file(s_cfg, "[spool]\nspool-rejected-retention-days = 2\n\n"
                                  "[insatser]\nsteg1 = project\nips = integrated\n"),
             0);
    char done[300], rejected[300];
    snprintf(done, sizeof done, "%s/done", s_spool);
    snprintf(rejected, sizeof rejected, "%s/rejected", s_spool);
    char *mk[] = {"/bin/mkdir", "-p", done, rejected, NULL};
    CHECK_EQ(tu_run(mk, NULL, 10000), 0);
    char err[256], path[512];
    char *keygen[] = {(char *) tu_bin("finsam-agent"), "-d", s_data, "keygen", "--forbund", "NV", NULL};
    CHECK_EQ(tu_run(keygen, NULL, 30000), 0);
    /* The sender needs a collector certificate; nothing listens there. */
    snprintf(path, sizeof path, "%s/keys/collector.key", s_data);
    CHECK_EQ(keys_generate(path, "collector", NULL, err, sizeof err), 0);
    /* Its secret half never leaves the collector (the agent refuses it). */
    snprintf(path, sizeof path, "%s/keys/collector.key_secret", s_data);
    CHECK(unlink(path) == 0);
}

/* A scenario: the file kept for a day is numbered after the files
 * test_spool left in the same spool. */
static void test_spool_then_kept(void)
{
    s_setup();
    test_spool();
    test_keep_imported();
}

/* Staff edit the mapping while the agent runs: the next file is read
 * with what they saved, without a restart; a mapping saved broken refuses
 * the file with the mapping's own reason. */
static void test_edited_mapping(void)
{
    s_setup();
    char *base = tu_read_file(tu_src("tests/agents/fixtures/survey.ini"));
    CHECK(base);
    char map[300];
    snprintf(map, sizeof map, "%s/edited.ini", s_dir);
    CHECK_EQ(tu_write_file(map, base), 0);
    pid_t pid = s_start_with(map, NULL);
    const char *nearly = "Personnummer;Datum;Arbetsform;Kön;Födelseår;Behov;Planering\n"
                         "8811305674;2026-03-01;Projekt;Kvinna;;Instämmer nästan;3\n";
    CHECK_EQ(tu_write_file(s_in("", "a.csv"), nearly), 0);
    s_wait(s_exists, s_in("reports", "000001-rejected.txt"), "appear");
    char *report = tu_read_file(s_in("reports", "000001-rejected.txt"));
    CHECK(report && strstr(report, "okänd svarsetikett \"Instämmer nästan\""));
    free(report);
    /* The label added, as staff do: the same file goes in. */
    char edited[4096];
    const char *labels = strstr(base, "[labels]\n");
    CHECK(labels);
    snprintf(edited, sizeof edited, "%.*s[labels]\nInstämmer nästan = 4\n%s", (int) (labels - base), base,
             labels + strlen("[labels]\n"));
    CHECK(strstr(edited, "[labels]\nInstämmer nästan = 4\nInstämmer helt = 5\n"));
    CHECK_EQ(tu_write_file(map, edited), 0);
    CHECK_EQ(tu_write_file(s_in("", "b.csv"), nearly), 0);
    s_wait(s_exists, s_in("reports", "000002-done.txt"), "appear");
    CHECK(tu_file_has(s_log, "MAPPING-RELOADED"));
    /* Saved broken: refused with the reason, and nothing else changes. */
    CHECK_EQ(tu_write_file(map, "[values]\nkind = participant_survey\n[answers]\nd_behv = Behov\n"), 0);
    CHECK_EQ(tu_write_file(s_in("", "c.csv"), nearly), 0);
    s_wait(s_exists, s_in("reports", "000003-rejected.txt"), "appear");
    report = tu_read_file(s_in("reports", "000003-rejected.txt"));
    CHECK(report && strstr(report, "inte inläst, inget sparades: rätta mappningen (se nedan)"));
    CHECK(report && strstr(report, "mappningen har ändrats och går inte att läsa: ") &&
          strstr(report, "menade du d_behov?"));
    free(report);
    kill(pid, SIGTERM);
    CHECK_EQ(tu_wait(pid, 20000), 0);
    free(base);
}

static const test_case_t s_cases[] = {
    {"spool imports, refuses and reports; a kept file is purged when due", test_spool_then_kept},
    {"check config", test_check_config},
    {"an edited mapping is read for the next file", test_edited_mapping},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
