/* leak_test.c: anonymization we can prove, at the site. Real imports, as
 * staff run them, of exports full of personnummer (10 and 12 digits, with
 * '-', '+', a space or nothing; a samordningsnummer; a centenarian's '+'),
 * names, e-mail addresses and phone numbers (070-123 45 67, 0701234567,
 * +46 70 123 45 67, ...): in unmapped columns and fields, in free text, in
 * a mapped answer column and in the insats column (which must refuse
 * anything but the declared codes), in CSV with a mapping and in JSONL,
 * typed on the command line and dropped into the spool, under file names
 * that hold a personnummer and a name.
 *
 * Then every byte the agent keeps or prints is read: every file under the
 * data directory (the outbox's LMDB file, keys), the spool after retention
 * (reports, done/, rejected/, and every file name there), the agent's logs
 * and everything the commands printed. Not one spelling of any identifier
 * may be there. The one exception is documented behaviour: `import FILE`
 * repeats the path the user typed, on the user's terminal; the scan removes
 * exactly that path from those commands' output and then finds nothing
 * either (a base name or a log line with the name would still be found).
 * The outbox holds exactly the bytes the sender sends, so this also covers
 * what reaches the collector. A control checks that every needle does occur
 * in the source files, so the scan looks for what was really written. The
 * people, the exports and the scan are tests/leakscan.h's, shared with the
 * centre's scan (tests/e2e/leak_centre_test.c). */
#include "leakscan.h"
#include "testutil.h"

#include "keys.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *s_root;
static char s_data[256], s_spool[256], s_src[256], s_logs[256], s_cfg[256], s_map[256], s_endpoint[64];

/* Everything the agent printed, after the typed path was removed. */
static char *s_out;
static size_t s_outlen, s_outcap;

/* ---- running the agent ------------------------------------------------- */

static void s_out_add(const char *text, size_t len)
{
    if (s_outlen + len + 1 > s_outcap) {
        s_outcap = 2 * (s_outlen + len + 1);
        CHECK((s_out = realloc(s_out, s_outcap)) != NULL);
    }
    memcpy(s_out + s_outlen, text, len);
    s_outlen += len;
    s_out[s_outlen] = '\0';
}

/* Runs the agent; its output is kept for the scan, with every occurrence
 * of `typed` (a path given on the command line) cut out. */
static int s_agent_typed(const char *typed, const char *const *args, char **out)
{
    char *argv[24] = {
        (char *) tu_bin("finsam-agent"), "--lang", "en", "-c", s_cfg, "-d", s_data, "--log-level", "debug"};
    int n = 9;
    for (; *args && n < 22; args++)
        argv[n++] = (char *) *args;
    argv[n] = NULL;
    char log[300];
    snprintf(log, sizeof log, "%s/cli.log", s_root); /* not scanned raw: s_out is */
    unlink(log);
    int rc = tu_run(argv, log, 60000);
    char *text = tu_read_file(log);
    CHECK(text);
    unlink(log);
    char *p = text;
    for (char *hit; typed && (hit = strstr(p, typed)); p = hit + strlen(typed))
        s_out_add(p, (size_t) (hit - p));
    s_out_add(p, strlen(p));
    if (out)
        *out = text;
    else
        free(text);
    return rc;
}

static int s_agent(const char *const *args)
{
    return s_agent_typed(NULL, args, NULL);
}

static bool s_exists(void *path)
{
    return access(path, F_OK) == 0;
}

static bool s_dir_empty(void *path)
{
    DIR *d = opendir(path);
    if (!d)
        return false;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n == 0;
}

static void s_wait(bool (*pred)(void *), const char *path, const char *log)
{
    if (!tu_wait_for(pred, (void *) path, 30000)) {
        char *text = tu_read_file(log);
        fprintf(stderr, "timed out waiting for %s\n--- agent ---\n%s\n", path, text ? text : "");
        free(text);
        CHECK(!"timed out");
    }
}

static pid_t s_start_spool(const char *log)
{
    char *argv[] = {(char *) tu_bin("finsam-agent"),
                    "--lang",
                    "en",
                    "-c",
                    s_cfg,
                    "-d",
                    s_data,
                    "--log-level",
                    "debug",
                    "--collector",
                    s_endpoint,
                    "--mapping",
                    s_map,
                    "--spool",
                    s_spool,
                    "run",
                    NULL};
    return tu_spawn(argv, log);
}

/* Drops text into the spool as a staff member should: under a dot name,
 * then renamed, then waits for its report. */
static void s_drop(const char *name, const char *text, long no, const char *outcome, const char *log)
{
    char tmp[512], final[512], report[512];
    snprintf(tmp, sizeof tmp, "%s/.incoming", s_spool);
    snprintf(final, sizeof final, "%s/%s", s_spool, name);
    CHECK_EQ(tu_write_file(tmp, text), 0);
    CHECK_EQ(rename(tmp, final), 0);
    snprintf(report, sizeof report, "%s/reports/%06ld-%s.txt", s_spool, no, outcome);
    s_wait(s_exists, report, log);
}

/* ---- the test ------------------------------------------------------------ */

static void test_nothing_identifying_leaves_the_importer(void)
{
    static char text[1 << 16];
    char path[512], typed[512], log[300], err[256];

    CHECK_EQ(s_agent((const char *[]){"keygen", "--forbund", "NV", NULL}), 0);
    snprintf(path, sizeof path, "%s/keys/collector.key", s_data);
    CHECK_EQ(keys_generate(path, "collector", NULL, err, sizeof err), 0);
    /* Its secret half never leaves the collector (the agent refuses it). */
    snprintf(path, sizeof path, "%s/keys/collector.key_secret", s_data);
    CHECK(unlink(path) == 0);

    /* 1. Typed imports, from files named after a person. */
    size_t rows = leakscan_export(LEAKSCAN_GOOD_CSV, 1, text, sizeof text);
    snprintf(typed, sizeof typed, "%s/%s", s_src, leakscan_export_name(LEAKSCAN_GOOD_CSV, false));
    CHECK_EQ(tu_write_file(typed, text), 0);
    char *out;
    CHECK_EQ(s_agent_typed(typed, (const char *[]){"import", typed, "--mapping", s_map, NULL}, &out), 0);
    char want[256];
    snprintf(want, sizeof want, "rows=%zu accepted=%zu already_imported=0", rows, rows);
    CHECK(strstr(out, want) && strstr(out, "rejected=0"));
    free(out);

    rows = leakscan_export(LEAKSCAN_BAD_CSV, 0, text, sizeof text);
    snprintf(typed, sizeof typed, "%s/%s", s_src, leakscan_export_name(LEAKSCAN_BAD_CSV, false));
    CHECK_EQ(tu_write_file(typed, text), 0);
    CHECK_EQ(s_agent_typed(typed, (const char *[]){"import", typed, "--mapping", s_map, NULL}, &out), 65);
    snprintf(want, sizeof want, "rows=%zu accepted=0 already_imported=0 corrected=0 rejected=%zu", rows,
             rows);
    CHECK(strstr(out, want));
    CHECK(strstr(out, ":2: column 8 \"Insats\": value not shown (it may be personal data): not in the "
                      "declared list [insatser] of agent.ini"));
    CHECK(strstr(out, ":6: column 8 \"Insats\": looks like a personnummer, phone number or e-mail"));
    free(out);

    rows = leakscan_export(LEAKSCAN_GOOD_JSONL, 2, text, sizeof text);
    snprintf(typed, sizeof typed, "%s/%s", s_src, leakscan_export_name(LEAKSCAN_GOOD_JSONL, false));
    CHECK_EQ(tu_write_file(typed, text), 0);
    CHECK_EQ(s_agent_typed(typed, (const char *[]){"import", typed, NULL}, &out), 0);
    snprintf(want, sizeof want, "rows=%zu accepted=%zu", rows, rows);
    CHECK(strstr(out, want) && strstr(out, "rejected=0"));
    free(out);

    rows = leakscan_export(LEAKSCAN_BAD_JSONL, 0, text, sizeof text);
    snprintf(typed, sizeof typed, "%s/%s", s_src, leakscan_export_name(LEAKSCAN_BAD_JSONL, false));
    CHECK_EQ(tu_write_file(typed, text), 0);
    CHECK_EQ(s_agent_typed(typed, (const char *[]){"import", typed, NULL}, &out), 65);
    snprintf(want, sizeof want, "rows=%zu accepted=0 already_imported=0 corrected=0 rejected=%zu", rows,
             rows);
    CHECK(strstr(out, want));
    CHECK(strstr(out, ":1: insats: value not shown (it may be personal data)"));
    free(out);
    CHECK_EQ(s_agent((const char *[]){"status", NULL}), 0);

    /* 2. The same kinds of export dropped into the spool, named after people. */
    snprintf(log, sizeof log, "%s/run.log", s_logs);
    pid_t pid = s_start_spool(log);
    size_t good_csv = leakscan_export(LEAKSCAN_GOOD_CSV, 3, text, sizeof text);
    s_drop(leakscan_export_name(LEAKSCAN_GOOD_CSV, true), text, 1, "done", log);
    size_t bad_csv = leakscan_export(LEAKSCAN_BAD_CSV, 0, text, sizeof text);
    s_drop(leakscan_export_name(LEAKSCAN_BAD_CSV, true), text, 2, "rejected", log);
    size_t good_jsonl = leakscan_export(LEAKSCAN_GOOD_JSONL, 4, text, sizeof text);
    s_drop(leakscan_export_name(LEAKSCAN_GOOD_JSONL, true), text, 3, "done", log);
    size_t bad_jsonl = leakscan_export(LEAKSCAN_BAD_JSONL, 0, text, sizeof text);
    s_drop(leakscan_export_name(LEAKSCAN_BAD_JSONL, true), text, 4, "rejected", log);
    tu_kill(pid, SIGTERM);
    snprintf(path, sizeof path, "%s/reports/000001-done.txt", s_spool);
    snprintf(want, sizeof want, "000001: rows=%zu accepted=%zu", good_csv, good_csv);
    CHECK(tu_file_has(path, want));
    snprintf(path, sizeof path, "%s/reports/000002-rejected.txt", s_spool);
    snprintf(want, sizeof want, "000002: rows=%zu accepted=0 already_imported=0 corrected=0 rejected=%zu",
             bad_csv, bad_csv);
    CHECK(tu_file_has(path, want));
    CHECK(tu_file_has(path, "000002:2: column 8 \"Insats\": value not shown"));
    snprintf(path, sizeof path, "%s/reports/000003-done.txt", s_spool);
    snprintf(want, sizeof want, "000003: rows=%zu accepted=%zu", good_jsonl, good_jsonl);
    CHECK(tu_file_has(path, want));
    snprintf(path, sizeof path, "%s/reports/000004-rejected.txt", s_spool);
    snprintf(want, sizeof want, "000004: rows=%zu accepted=0 already_imported=0 corrected=0 rejected=%zu",
             bad_jsonl, bad_jsonl);
    CHECK(tu_file_has(path, want));
    /* Imported files are gone at once; refused ones wait for staff. */
    snprintf(path, sizeof path, "%s/done", s_spool);
    CHECK(s_dir_empty(path));
    snprintf(path, sizeof path, "%s/rejected", s_spool);
    CHECK(!s_dir_empty(path));

    /* 3. Two days later (rejected retention: 1 day) the agent starts and
     * purges them. */
    DIR *d = opendir(path);
    CHECK(d);
    struct dirent *e;
    int aged = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char f[1024];
        snprintf(f, sizeof f, "%s/%s", path, e->d_name);
        struct timespec t[2];
        clock_gettime(CLOCK_REALTIME, &t[0]);
        t[0].tv_sec -= 2 * 86400;
        t[1] = t[0];
        CHECK_EQ(utimensat(AT_FDCWD, f, t, 0), 0);
        aged++;
    }
    closedir(d);
    CHECK_EQ(aged, 2);
    pid = s_start_spool(log);
    s_wait(s_dir_empty, path, log);
    tu_kill(pid, SIGTERM);

    /* Every event of the four good exports is queued, nothing else. */
    CHECK_EQ(
        s_agent_typed(NULL, (const char *[]){"--spool", s_spool, "--format", "json", "status", NULL}, &out),
        0);
    snprintf(want, sizeof want, "\"queued\": %zu", 2 * (good_csv + good_jsonl));
    CHECK(strstr(out, want));
    CHECK(strstr(out, "\"rejected_files\": 0"));
    free(out);
    CHECK_EQ(s_agent((const char *[]){"--mapping", s_map, "--spool", s_spool, "--check-config", NULL}), 0);

    /* 4. The scan. The control first: every needle was written into the
     * exports (contents or names), so the scan looks for real spellings. */
    static leakscan_t control, sc, codes;
    leakscan_init(&control, true);
    leakscan_tree(&control, s_src);
    for (int k = 0; k < control.n; k++)
        if (!control.found[k])
            fprintf(stderr, "control: \"%s\" was never written\n", control.needles[k]);
    for (int k = 0; k < control.n; k++)
        CHECK(control.found[k] > 0);

    leakscan_init(&sc, false);
    leakscan_tree(&sc, s_data);
    leakscan_tree(&sc, s_spool);
    leakscan_tree(&sc, s_logs);
    leakscan_buffer(&sc, "the commands' output", s_out, s_outlen);
    fprintf(stderr, "scanned %zu files (%zu bytes) and %zu bytes of output for %d needles: %d hits\n",
            sc.files, sc.file_bytes, sc.buffer_bytes, sc.n, sc.hits);
    CHECK_EQ(sc.hits, 0);
    CHECK(sc.files >= 8); /* data.mdb, lock.mdb, keys, 4 reports, the log */
    /* The scan would see text: the outbox holds the codes that travel. */
    leakscan_init_with(&codes, true, (const char *const[]){"deltagare_avslut", "steg1", NULL});
    leakscan_tree(&codes, s_data);
    CHECK(codes.found[0] > 0 && codes.found[1] > 0);
}

static const test_case_t s_cases[] = {
    {"nothing identifying leaves the importer", test_nothing_identifying_leaves_the_importer},
};

int main(int argc, char **argv)
{
    s_root = tu_tempdir();
    snprintf(s_data, sizeof s_data, "%s/data", s_root);
    snprintf(s_spool, sizeof s_spool, "%s/spool", s_root);
    snprintf(s_src, sizeof s_src, "%s/exports", s_root);
    snprintf(s_logs, sizeof s_logs, "%s/logs", s_root);
    snprintf(s_cfg, sizeof s_cfg, "%s/agent.ini", s_root);
    snprintf(s_map, sizeof s_map, "%s/enkat.ini", s_root);
    snprintf(s_endpoint, sizeof s_endpoint, "tcp://127.0.0.1:%d", tu_free_port());
    char *mk[] = {"/bin/mkdir", "-p", s_spool, s_src, s_logs, NULL};
    CHECK_EQ(tu_run(mk, NULL, 10000), 0);
    CHECK_EQ(
        tu_write_file(
            s_cfg,
            "[spool]\nspool-retention-days = 0\nspool-rejected-retention-days = 1\n\n" LEAKSCAN_INSATSER_INI),
        0);
    CHECK_EQ(tu_write_file(s_map, LEAKSCAN_MAPPING_INI), 0);
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
