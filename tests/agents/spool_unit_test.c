/* spool_unit_test.c: agents/import/spool.c through spool.h, on real
 * directories and a real outbox: a file dropped in is imported under the
 * next number with a report that never names it, then deleted or kept for
 * its retention; a refused file is kept in rejected/; names being written
 * are ignored; inotify hands over a file renamed in; numbering goes on
 * after a restart. `finsam-agent run --spool` as a process is
 * tests/agents/spool_test.c. */
#include "testutil.h"

#include "anonymize.h"
#include "catalogue.h"
#include "outbox.h"
#include "spool.h"

#include <poll.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

/* A name that could be a person's, to prove reports never repeat it. */
#define S_NAME "anna-andersson.jsonl"

static const char s_good[] =
    "{\"kind\":\"participant_survey\",\"instrument\":\"deltagare_avslut\",\"personnummer\":\"19850312-1231\","
    "\"date\":\"2026-03-14\",\"mode\":\"project\",\"answers\":{\"d_behov\":5}}\n";
static const char s_bad[] = "{\"kind\":\"participant_survey\",\"instrument\":\"deltagare_avslut\","
                            "\"personnummer\":\"19850312-1231\",\"date\":\"2026-03-14\",\"mode\":\"project\","
                            "\"answers\":{\"d_behov\":9}}\n";

typedef struct {
    char dir[300], spool[320];
    catalogue_t *cat;
    anon_t *anon;
    outbox_t *ob;
    import_opts_t base;
    spool_t *sp;
} s_site_t;

static void s_start(s_site_t *s, long done_days)
{
    char err[512];
    spool_retention_t keep = {done_days, 7};
    CHECK(spool_new(&s->sp, s->spool, NULL, &s->base, &keep, err, sizeof err) == FIN_OK);
}

static void s_open(s_site_t *s, long done_days)
{
    char err[512], path[400];
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s", tu_tempdir());
    snprintf(s->spool, sizeof s->spool, "%s/spool", s->dir);
    CHECK(mkdir(s->spool, 0700) == 0);
    snprintf(path, sizeof path, "%s/outbox", s->dir);
    CHECK(mkdir(path, 0700) == 0);
    CHECK(outbox_open(&s->ob, path, err, sizeof err) == FIN_OK);
    CHECK(catalogue_load(&s->cat, NULL, err, sizeof err) == 0);
    uint8_t key[ANON_KEY_LEN];
    memset(key, 0x42, sizeof key);
    s->anon = anon_new(key);
    s->base = (import_opts_t){.cat = s->cat, .anon = s->anon, .forbund = "NV", .outbox = s->ob};
    s_start(s, done_days);
}

static void s_close(s_site_t *s)
{
    spool_destroy(&s->sp);
    CHECK(s->sp == NULL);
    outbox_close(&s->ob);
    anon_destroy(&s->anon);
    catalogue_destroy(&s->cat);
}

static const char *s_path(const s_site_t *s, const char *sub, const char *name)
{
    static char path[4][600];
    static int i;
    i = (i + 1) % 4;
    snprintf(path[i], sizeof path[i], "%s%s%s/%s", s->spool, sub[0] ? "/" : "", sub, name);
    return path[i];
}

static bool s_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static size_t s_queued(s_site_t *s)
{
    size_t q = 0;
    CHECK(outbox_count(s->ob, &q, NULL, NULL, NULL, 0) == FIN_OK);
    return q;
}

static void test_imported_numbered_and_deleted(void)
{
    s_site_t s;
    s_open(&s, 0);
    CHECK(tu_write_file(s_path(&s, "", S_NAME), s_good) == 0);
    CHECK_EQ(spool_process(s.sp, S_NAME), FIN_OK);
    CHECK_EQ(s_queued(&s), 1);
    CHECK(!s_exists(s_path(&s, "", S_NAME))); /* retention 0: gone at once */
    const char *report = s_path(&s, "reports", "000001-done.txt");
    CHECK(s_exists(report));
    CHECK(tu_file_lacks(report, "anna"));
    CHECK(!s_exists(s_path(&s, "done", "000001-" S_NAME)));
    s_close(&s);
}

static void test_refused_kept_in_rejected(void)
{
    s_site_t s;
    s_open(&s, 0);
    CHECK(tu_write_file(s_path(&s, "", S_NAME), s_bad) == 0);
    CHECK_EQ(spool_process(s.sp, S_NAME), FIN_EINPUT);
    CHECK_EQ(s_queued(&s), 0);
    CHECK(!s_exists(s_path(&s, "", S_NAME)));
    CHECK(s_exists(s_path(&s, "rejected", "000001-" S_NAME)));
    const char *report = s_path(&s, "reports", "000001-rejected.txt");
    CHECK(s_exists(report));
    CHECK(tu_file_has(report, "d_behov"));
    CHECK(tu_file_lacks(report, "anna"));
    size_t waiting = 9, rejected = 9;
    CHECK(spool_count(s.spool, &waiting, &rejected) == 0);
    CHECK_EQ(waiting, 0);
    CHECK_EQ(rejected, 1);
    s_close(&s);
}

static void test_names_being_written_ignored(void)
{
    s_site_t s;
    s_open(&s, 0);
    static const char *const names[] = {".hidden.jsonl", "rows.jsonl.tmp", "rows.jsonl.part", "rows.jsonl~"};
    for (size_t i = 0; i < TU_NELEMS(names); i++) {
        CHECK(tu_write_file(s_path(&s, "", names[i]), s_good) == 0);
        CHECK_EQ(spool_process(s.sp, names[i]), FIN_ENOTFOUND);
        CHECK(s_exists(s_path(&s, "", names[i])));
    }
    spool_scan(s.sp);
    CHECK_EQ(s_queued(&s), 0);
    CHECK(!s_exists(s_path(&s, "reports", "000001-done.txt")));
    s_close(&s);
}

static void test_csv_without_mapping_refused(void)
{
    s_site_t s;
    s_open(&s, 0);
    CHECK(tu_write_file(s_path(&s, "", "export.csv"), "Personnummer;Datum\n19850312-1231;2026-03-14\n") == 0);
    fin_err_t rc = spool_process(s.sp, "export.csv");
    CHECK(rc == FIN_ECONFIG || rc == FIN_EINPUT);
    CHECK(s_exists(s_path(&s, "reports", "000001-rejected.txt")));
    CHECK(tu_file_has(s_path(&s, "reports", "000001-rejected.txt"), "mapping"));
    CHECK_EQ(s_queued(&s), 0);
    s_close(&s);
}

static void test_inotify_sees_a_rename(void)
{
    s_site_t s;
    s_open(&s, 0);
    /* Written under an ignored name, then renamed in: one import. */
    CHECK(tu_write_file(s_path(&s, "", "rows.part"), s_good) == 0);
    CHECK(rename(s_path(&s, "", "rows.part"), s_path(&s, "", "rows.jsonl")) == 0);
    struct pollfd p = {spool_fd(s.sp), POLLIN, 0};
    CHECK(p.fd >= 0);
    CHECK(poll(&p, 1, 5000) == 1);
    spool_on_readable(s.sp);
    CHECK_EQ(s_queued(&s), 1);
    CHECK(!s_exists(s_path(&s, "", "rows.jsonl")));
    CHECK(s_exists(s_path(&s, "reports", "000001-done.txt")));
    s_close(&s);
}

static void test_retention_and_purge(void)
{
    s_site_t s;
    s_open(&s, 2); /* imported files kept two days */
    CHECK(tu_write_file(s_path(&s, "", "old.jsonl"), s_good) == 0);
    CHECK_EQ(spool_process(s.sp, "old.jsonl"), FIN_OK);
    const char *kept = s_path(&s, "done", "000001-old.jsonl");
    CHECK(s_exists(kept));
    spool_purge(s.sp);
    CHECK(s_exists(kept)); /* not yet */
    /* Three days later (as its time says): purged; the report stays. */
    struct timeval tv[2];
    gettimeofday(&tv[0], NULL);
    tv[0].tv_sec -= 3 * 86400;
    tv[1] = tv[0];
    CHECK(utimes(kept, tv) == 0);
    spool_purge(s.sp);
    CHECK(!s_exists(kept));
    CHECK(s_exists(s_path(&s, "reports", "000001-done.txt")));
    s_close(&s);
}

static void test_numbers_go_on_after_restart(void)
{
    s_site_t s;
    s_open(&s, 0);
    CHECK(tu_write_file(s_path(&s, "", "a.jsonl"), s_good) == 0);
    CHECK_EQ(spool_process(s.sp, "a.jsonl"), FIN_OK);
    CHECK(tu_write_file(s_path(&s, "", "b.jsonl"), s_bad) == 0);
    CHECK_EQ(spool_process(s.sp, "b.jsonl"), FIN_EINPUT);
    spool_destroy(&s.sp);
    s_start(&s, 0);
    CHECK(tu_write_file(s_path(&s, "", "c.jsonl"), s_bad) == 0);
    CHECK_EQ(spool_process(s.sp, "c.jsonl"), FIN_EINPUT);
    CHECK(s_exists(s_path(&s, "reports", "000003-rejected.txt")));
    CHECK(s_exists(s_path(&s, "rejected", "000003-c.jsonl")));
    s_close(&s);
}

static const test_case_t s_cases[] = {
    {"imported numbered and deleted", test_imported_numbered_and_deleted},
    {"refused kept in rejected", test_refused_kept_in_rejected},
    {"names being written ignored", test_names_being_written_ignored},
    {"csv without mapping refused", test_csv_without_mapping_refused},
    {"inotify sees a rename", test_inotify_sees_a_rename},
    {"retention and purge", test_retention_and_purge},
    {"numbers go on after restart", test_numbers_go_on_after_restart},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
