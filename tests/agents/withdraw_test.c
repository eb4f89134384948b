/* withdraw_test.c: `finsam-agent withdraw` end to end: a real collector on
 * 127.0.0.1 (tests/e2e/cluster.c) and the real agent binary. Rows sent by
 * mistake are withdrawn by import number or by response id; after delivery
 * the collector's exact cells equal those of a collector that never had
 * those rows, and `finsamctl rebuild --verify` finds no difference.
 *
 * The cases "... (no collector)" run the agent binary alone, as staff do
 * at the site: what withdraw says (Swedish, or English with --lang en),
 * its exit codes, spool file numbers and their reports, a repeated
 * withdraw, and a withdrawn row imported again. */
#include "cluster.h"
#include "testutil.h"

#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A valid personnummer for person i (Luhn check digit). */
static void s_pnr(char out[16], int i)
{
    char d[16];
    unsigned u = (unsigned) i;
    snprintf(d, sizeof d, "%02u%02u%02u%03u", 70 + u % 25, 1 + u % 12, 1 + u % 28, (100 + u) % 1000);
    int sum = 0;
    for (int k = 0; k < 9; k++) {
        int v = (d[k] - '0') * (k % 2 == 0 ? 2 : 1);
        sum += v / 10 + v % 10;
    }
    snprintf(out, 16, "19%.9s%d", d, (10 - sum % 10) % 10);
}

/* Participant surveys for persons first..first+n-1, response ids "R-i". */
static const char *s_rows(const cluster_t *c, const char *name, int first, int n)
{
    static char path[4][400];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, 400, "%s/%s", c->dir, name);
    FILE *f = fopen(p, "w");
    CHECK(f);
    for (int i = first; i < first + n; i++) {
        char pnr[16];
        s_pnr(pnr, i);
        fprintf(f,
                "{\"kind\":\"participant_survey\",\"personnummer\":\"%s\",\"date\":\"2026-03-%02d\","
                "\"instrument\":\"deltagare_avslut\",\"mode\":\"project\",\"answers\":{\"d_behov\":%d,"
                "\"d_tid\":%d},\"response_id\":\"R-%d\"}\n",
                pnr, 1 + i % 27, 1 + i % 5, 1 + (i * 7) % 5, i);
    }
    fclose(f);
    return p;
}

static void s_import(cluster_t *c, const char *agent, const char *path)
{
    const char *args[] = {"import", path, NULL};
    CHECK_EQ(cluster_agent(c, agent, 60000, args), 0);
}

static void s_deliver(cluster_t *c, const char *agent)
{
    const char *run[] = {"run", "--exit-when-empty", NULL};
    CHECK_EQ(cluster_agent(c, agent, 120000, run), 0);
    CHECK_EQ(cluster_agent_queue(c, agent), 0);
}

/* The operator's exact cells, every measure, by month (caller frees). */
static char *s_cells(const cluster_t *c)
{
    const char *args[] = {"query", "--format", "json", "--exact", "--period", "month", NULL};
    char *out = NULL;
    CHECK_EQ(cluster_ctl(c, &out, args), 0);
    CHECK(out && strstr(out, "measures"));
    /* The answer may carry the time it was made: compare the measures. */
    json_t *j = json_loads(out, 0, NULL);
    CHECK(j);
    char *m = json_dumps(json_object_get(j, "measures"), JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(j);
    free(out);
    return m;
}

/* A collector with one agent of förbund NV (its directory in nv). */
static void s_start(cluster_t *c, char nv[320])
{
    cluster_init(c);
    cluster_add_agent(c, "nv", "NV", true, nv, 320);
    cluster_start_collector(c);
}

/* A collector that only ever had rows 1..200: the reference. */
static char *s_reference(void)
{
    cluster_t c;
    char nv[320];
    s_start(&c, nv);
    s_import(&c, nv, s_rows(&c, "good.jsonl", 1, 200));
    s_deliver(&c, nv);
    char *cells = s_cells(&c);
    cluster_stop_collector(&c, SIGTERM);
    return cells;
}

static void test_withdraw_import(void)
{
    char *want = s_reference();
    cluster_t c;
    char nv[320];
    s_start(&c, nv);
    s_import(&c, nv, s_rows(&c, "good.jsonl", 1, 200));
    s_import(&c, nv, s_rows(&c, "mistake.jsonl", 201, 60)); /* import 2 */
    s_deliver(&c, nv);
    CHECK_EQ(cluster_events_in_log(&c), 260);
    char *before = s_cells(&c);
    CHECK(strcmp(before, want) != 0);
    free(before);

    const char *wd[] = {"withdraw", "import", "2", NULL};
    CHECK_EQ(cluster_agent(&c, nv, 60000, wd), 0);
    CHECK_EQ(cluster_agent_queue(&c, nv), 60);
    s_deliver(&c, nv);
    CHECK_EQ(cluster_events_in_log(&c), 320);
    char *after = s_cells(&c);
    CHECK_EQ(strcmp(after, want), 0);
    CHECK_EQ(cluster_rebuild_verify(&c), 0);

    /* Again: nothing new is queued. */
    CHECK_EQ(cluster_agent(&c, nv, 60000, wd), 0);
    CHECK_EQ(cluster_agent_queue(&c, nv), 0);
    /* An unknown import is refused as bad input. */
    const char *bad[] = {"withdraw", "import", "99", NULL};
    CHECK_EQ(cluster_agent(&c, nv, 60000, bad), 65);
    cluster_stop_collector(&c, SIGTERM);
    free(after);
    free(want);
}

static void test_withdraw_response_ids(void)
{
    char *want = s_reference();
    cluster_t c;
    char nv[320];
    s_start(&c, nv);
    /* Rows 1..203 in one file; 201..203 were sent by mistake. */
    s_import(&c, nv, s_rows(&c, "all.jsonl", 1, 203));
    s_deliver(&c, nv);
    const char *wd[] = {"withdraw", "response-id", "R-201", "R-202", "R-203", NULL};
    CHECK_EQ(cluster_agent(&c, nv, 60000, wd), 0);
    CHECK_EQ(cluster_agent_queue(&c, nv), 3);
    s_deliver(&c, nv);
    char *after = s_cells(&c);
    CHECK_EQ(strcmp(after, want), 0);
    CHECK_EQ(cluster_rebuild_verify(&c), 0);
    const char *bad[] = {"withdraw", "response-id", "R-999", NULL};
    CHECK_EQ(cluster_agent(&c, nv, 60000, bad), 65);
    cluster_stop_collector(&c, SIGTERM);
    free(after);
    free(want);
}

/* A correction by response id (another date, another answer) counts once,
 * with the new values: the cells equal a run that only had the new row. */
static void test_correction_counts_once(void)
{
    char *want = s_reference();
    cluster_t c;
    char nv[320];
    s_start(&c, nv);
    /* Row 200 first with other answers and another date, then the file. */
    char pnr[16], path[400];
    s_pnr(pnr, 200);
    snprintf(path, sizeof path, "%s/early.jsonl", c.dir);
    char row[512];
    snprintf(row, sizeof row,
             "{\"kind\":\"participant_survey\",\"personnummer\":\"%s\",\"date\":\"2026-02-02\","
             "\"instrument\":\"deltagare_avslut\",\"mode\":\"project\",\"answers\":{\"d_behov\":1,"
             "\"d_tid\":1},\"response_id\":\"R-200\"}\n",
             pnr);
    CHECK_EQ(tu_write_file(path, row), 0);
    s_import(&c, nv, path);
    s_deliver(&c, nv);
    s_import(&c, nv, s_rows(&c, "good.jsonl", 1, 200));
    s_deliver(&c, nv);
    char *after = s_cells(&c);
    CHECK_EQ(strcmp(after, want), 0);
    CHECK_EQ(cluster_rebuild_verify(&c), 0);
    cluster_stop_collector(&c, SIGTERM);
    free(after);
    free(want);
}

/* A row changed and changed back (A, B, A), each delivered: the cells
 * equal a run that only had A, and a rebuild agrees. */
static void test_change_back_delivered(void)
{
    char *want = s_reference();
    cluster_t c;
    char nv[320];
    s_start(&c, nv);
    s_import(&c, nv, s_rows(&c, "good.jsonl", 1, 200));
    s_deliver(&c, nv);
    /* Row 200 with other answers (the same response id): B. */
    char pnr[16], path[400], row[512];
    s_pnr(pnr, 200);
    snprintf(path, sizeof path, "%s/changed.jsonl", c.dir);
    snprintf(row, sizeof row,
             "{\"kind\":\"participant_survey\",\"personnummer\":\"%s\",\"date\":\"2026-03-11\","
             "\"instrument\":\"deltagare_avslut\",\"mode\":\"project\",\"answers\":{\"d_behov\":5,"
             "\"d_tid\":5},\"response_id\":\"R-200\"}\n",
             pnr);
    CHECK_EQ(tu_write_file(path, row), 0);
    s_import(&c, nv, path);
    s_deliver(&c, nv);
    char *changed = s_cells(&c);
    CHECK(strcmp(changed, want) != 0);
    /* ... and back: the first file again. */
    s_import(&c, nv, s_rows(&c, "good-again.jsonl", 1, 200));
    s_deliver(&c, nv);
    char *after = s_cells(&c);
    CHECK_EQ(strcmp(after, want), 0);
    CHECK_EQ(cluster_rebuild_verify(&c), 0);
    cluster_stop_collector(&c, SIGTERM);
    free(changed);
    free(after);
    free(want);
}

/* n of measure i1_behov for förbund NV in `period` ("2026"), by year. */
static long long s_n(const cluster_t *c, const char *period)
{
    const char *args[] = {"query", "--format",  "json",     "--exact", "--period",
                          "year",  "--measure", "i1_behov", NULL};
    char *out = NULL;
    CHECK_EQ(cluster_ctl(c, &out, args), 0);
    json_t *j = json_loads(out ? out : "", 0, NULL);
    free(out);
    CHECK(j);
    long long n = 0;
    size_t i, k;
    json_t *m, *r;
    json_array_foreach(json_object_get(j, "measures"), i, m)
        json_array_foreach(json_object_get(m, "rows"), k, r) {
            if (!strcmp(json_string_value(json_object_get(r, "level")), "forbund") &&
                !strcmp(json_string_value(json_object_get(r, "period")), period))
                n = json_integer_value(json_object_get(r, "n"));
        }
    json_decref(j);
    return n;
}

/* One participant survey row as a staff export (CSV through a mapping,
 * which carries the correction window: 31 days by default). */
static void s_one(cluster_t *c, const char *agent, const char *date, int answer)
{
    char pnr[16], path[400], map[400], row[512];
    static int k;
    s_pnr(pnr, 7);
    snprintf(map, sizeof map, "%s/one.ini", c->dir);
    CHECK_EQ(tu_write_file(map, "[values]\nkind = participant_survey\ninstrument = deltagare_avslut\n"
                                "mode = project\n[columns]\npersonnummer = Personnummer\ndate = Datum\n"
                                "[answers]\nd_behov = Behov\n[labels.d_behov]\n"
                                "1 = 1\n2 = 2\n3 = 3\n4 = 4\n5 = 5\n"),
             0);
    snprintf(path, sizeof path, "%s/one-%d.csv", c->dir, k++);
    snprintf(row, sizeof row, "Personnummer;Datum;Behov\n%s;%s;%d\n", pnr, date, answer);
    CHECK_EQ(tu_write_file(path, row), 0);
    const char *args[] = {"import", path, "--mapping", map, NULL};
    CHECK_EQ(cluster_agent(c, agent, 60000, args), 0);
    s_deliver(c, agent);
}

/* Without a response id: a changed date within 31 days is a correction
 * (one survey counted), beyond it a second survey. */
static void test_date_window_delivered(void)
{
    cluster_t c;
    char nv[320];
    s_start(&c, nv);
    s_one(&c, nv, "2026-03-01", 1);
    CHECK_EQ(s_n(&c, "2026"), 1);
    s_one(&c, nv, "2026-03-20", 5); /* 19 days later: a correction */
    CHECK_EQ(s_n(&c, "2026"), 1);
    s_one(&c, nv, "2026-06-01", 4); /* 73 days later: another survey */
    CHECK_EQ(s_n(&c, "2026"), 2);
    CHECK_EQ(cluster_rebuild_verify(&c), 0);
    cluster_stop_collector(&c, SIGTERM);
}

/* ---- the agent alone (no collector) ------------------------------------ */

typedef struct {
    const char *dir;
    char data[256], spool[256], log[256];
} s_site_t;

static void s_site(s_site_t *st)
{
    st->dir = tu_tempdir();
    snprintf(st->data, sizeof st->data, "%s/data", st->dir);
    snprintf(st->spool, sizeof st->spool, "%s/spool", st->dir);
    snprintf(st->log, sizeof st->log, "%s/out.log", st->dir);
    char *keygen[] = {(char *) tu_bin("finsam-agent"), "-d", st->data, "keygen", "--forbund", "NV", NULL};
    CHECK_EQ(tu_run(keygen, st->log, 30000), 0);
}

/* Runs finsam-agent -d DATA with the arguments (at most 8); what it wrote
 * (stdout and stderr) is in st->log, fresh. */
static int s_agentv(s_site_t *st, const char *const *args)
{
    char *argv[12] = {(char *) tu_bin("finsam-agent"), "-d", st->data};
    int n = 3;
    while (*args && n < 11)
        argv[n++] = (char *) *args++;
    argv[n] = NULL;
    unlink(st->log);
    return tu_run(argv, st->log, 60000);
}
#define s_agent(st, ...) s_agentv((st), (const char *const[]){__VA_ARGS__, NULL})

/* Participant surveys with response ids R-first..R-(first+n-1), as JSON
 * lines in DIR/name. */
static const char *s_file(s_site_t *st, const char *name, int first, int n)
{
    char text[4096] = "";
    size_t len = 0;
    for (int i = first; i < first + n; i++) {
        char pnr[16];
        s_pnr(pnr, i);
        len += (size_t) snprintf(text + len, sizeof text - len,
                                 "{\"kind\":\"participant_survey\",\"personnummer\":\"%s\",\"date\":"
                                 "\"2026-03-%02d\",\"instrument\":\"deltagare_avslut\",\"mode\":\"project\","
                                 "\"answers\":{\"d_behov\":%d},\"response_id\":\"R-%d\"}\n",
                                 pnr, 1 + i % 27, 1 + i % 5, i);
    }
    return tu_file_in(st->dir, name, text);
}

/* A spool report for file number no, as spool.c writes it: its head, then
 * the import's own lines (here those of `import` on the command line). */
static void s_report(s_site_t *st, int no, const char *import_output)
{
    char dir[300], path[400], *text = tu_read_file(import_output);
    CHECK(text);
    snprintf(dir, sizeof dir, "%s/reports", st->spool);
    mkdir(st->spool, 0700);
    mkdir(dir, 0700);
    snprintf(path, sizeof path, "%s/%06d-done.txt", dir, no);
    FILE *f = fopen(path, "w");
    CHECK(f);
    fprintf(f,
            "finsam-agent import report\nfile number: %06d (lines below start with it; ...)\n"
            "result: imported\n\n%s",
            no, text);
    fclose(f);
    free(text);
}

/* Item: a repeated withdraw by response id said "no row of this agent has
 * it" (exit 65) though the docs promise 0, "queued before". */
static void test_again_exits_0(void)
{
    s_site_t st;
    s_site(&st);
    CHECK_EQ(s_agent(&st, "import", s_file(&st, "rows.jsonl", 5008, 3)), 0);
    CHECK_EQ(s_agent(&st, "withdraw", "response-id", "R-5010"), 0);
    CHECK(
        tu_file_has(st.log, "withdraw: response ids=1: events=1 retractions_queued=1 already_withdrawn=0\n"));
    CHECK_EQ(s_agent(&st, "withdraw", "response-id", "R-5010"), 0);
    CHECK(
        tu_file_has(st.log, "withdraw: response ids=1: events=1 retractions_queued=0 already_withdrawn=1\n"));
    /* With another id not withdrawn yet: that one is, the first again not. */
    CHECK_EQ(s_agent(&st, "withdraw", "response-id", "R-5010", "R-5009"), 0);
    CHECK(
        tu_file_has(st.log, "withdraw: response ids=2: events=2 retractions_queued=1 already_withdrawn=1\n"));
    /* An id no row had is still refused. */
    CHECK_EQ(s_agent(&st, "withdraw", "response-id", "R-999"), 65);
    /* By import: again is 0 and "already" as well. */
    CHECK_EQ(s_agent(&st, "withdraw", "import", "1"), 0);
    CHECK(tu_file_has(st.log, "withdraw: import 1: events=3 retractions_queued=1 already_withdrawn=2\n"));
    CHECK_EQ(s_agent(&st, "withdraw", "import", "1"), 0);
    CHECK(tu_file_has(st.log, "retractions_queued=0 already_withdrawn=3\n"));
}

/* Item: withdraw said only key=value in English; staff read a line in
 * Swedish (English with --lang en) first, "already withdrawn" included. */
static void test_withdraw_says_it_in_words(void)
{
    s_site_t st;
    s_site(&st);
    CHECK_EQ(s_agent(&st, "import", s_file(&st, "rows.jsonl", 5008, 3)), 0);
    CHECK_EQ(s_agent(&st, "withdraw", "response-id", "R-5010"), 0);
    CHECK(tu_file_has(st.log,
                      "svars-id R-5010: 1 rad(er) tas tillbaka nu (skickas till insamlingsservern), 0 "
                      "var redan tillbakatagna\nwithdraw: response ids=1: "));
    CHECK_EQ(s_agent(&st, "withdraw", "response-id", "R-5010"), 0);
    CHECK(tu_file_has(st.log, "svars-id R-5010: redan tillbakatagen (1 rad(er)); inget nytt skickas\n"));
    CHECK_EQ(s_agent(&st, "--lang", "en", "withdraw", "response-id", "R-5010", "R-5009"), 0);
    CHECK(tu_file_has(st.log, "response id R-5010: already withdrawn\n"));
    CHECK(tu_file_has(st.log,
                      "2 response ids: 1 row(s) taken back now (sent to the collector as withdrawals), "
                      "1 already withdrawn before\n"));
    CHECK_EQ(s_agent(&st, "withdraw", "response-id", "R-999"), 65);
    CHECK(tu_file_has(st.log, "svars-id R-999: ingen rad hos den här agenten har det\n"));
    CHECK_EQ(s_agent(&st, "withdraw", "import", "1"), 0);
    CHECK(tu_file_has(st.log, "import 1: 1 rad(er) tas tillbaka nu (skickas till insamlingsservern), 2 var "
                              "redan tillbakatagna\n"));
    CHECK_EQ(s_agent(&st, "--lang", "en", "withdraw", "import", "1"), 0);
    CHECK(tu_file_has(st.log, "import 1: already withdrawn (3 row(s)); nothing new is sent\n"));
}

/* Item: a withdrawn row dropped again was counted as "already there
 * (sent before)"; it is not sent again, and the report says so apart. */
static void test_withdrawn_row_dropped_again(void)
{
    s_site_t st;
    s_site(&st);
    const char *f = s_file(&st, "rows.jsonl", 5008, 3);
    CHECK_EQ(s_agent(&st, "import", f), 0);
    CHECK_EQ(s_agent(&st, "withdraw", "response-id", "R-5010"), 0);
    CHECK_EQ(s_agent(&st, "import", f), 0);
    CHECK(tu_file_has(st.log, "  fanns redan (skickade tidigare): 2\n"));
    CHECK(tu_file_has(st.log, "  tidigare tillbakatagna (skickas inte igen): 1\n"));
    CHECK(tu_file_has(st.log, "rows=3 accepted=0 already_imported=2 corrected=0 rejected=0 dropped_fields=0 "
                              "withdrawn_before=1\n"));
    CHECK_EQ(s_agent(&st, "--lang", "en", "import", f), 0);
    CHECK(tu_file_has(st.log, "  already there (sent before): 2\n"));
    CHECK(tu_file_has(st.log, "  withdrawn before (not sent again): 1\n"));
}

/* Item: staff give the spool's file number (000003), which is not the
 * import number; and a report of a file that stored nothing new was "not
 * an import number, nor a report that names one". */
static void test_file_numbers(void)
{
    s_site_t st;
    s_site(&st);
    char out[300];
    snprintf(out, sizeof out, "%s/import.out", st.dir);
    const char *a = s_file(&st, "a.jsonl", 1, 3), *b = s_file(&st, "b.jsonl", 4, 2);
    /* File 000001 is import 1; 000002 the same rows again (nothing new);
     * 000003 is import 2. */
    CHECK_EQ(s_agent(&st, "import", a), 0);
    CHECK(tu_file_has(st.log, ": import 1 (finsam-agent withdraw import 1 tar tillbaka den)\n"));
    CHECK_EQ(rename(st.log, out), 0);
    s_report(&st, 1, out);
    CHECK_EQ(s_agent(&st, "import", a), 0);
    CHECK_EQ(rename(st.log, out), 0);
    s_report(&st, 2, out);
    CHECK_EQ(s_agent(&st, "import", b), 0);
    CHECK(tu_file_has(st.log, ": import 2 "));
    CHECK_EQ(rename(st.log, out), 0);
    s_report(&st, 3, out);

    /* A file number without the spool: say how to name it. */
    CHECK_EQ(s_agent(&st, "withdraw", "import", "000003"), 64);
    CHECK(tu_file_has(st.log, "000003 är ett filnummer i inkorgen: ange inkorgen (--spool KATALOG"));
    /* The import number 3 is no import, but file 000003 is import 2. */
    CHECK_EQ(s_agent(&st, "--spool", st.spool, "withdraw", "import", "3"), 65);
    CHECK(tu_file_has(st.log, "import 3 finns inte hos den här agenten; fil 000003 i inkorgen är import 2: "
                              "finsam-agent withdraw import 2\n"));
    CHECK_EQ(s_agent(&st, "--lang", "en", "withdraw", "import", "3"), 65);
    CHECK(tu_file_has(st.log, "import 3 is not known to this agent (a file number of the spool is written "
                              "with its zeros: withdraw import 000003)\n"));
    /* With the spool: the file number is read in its report. */
    CHECK_EQ(s_agent(&st, "--spool", st.spool, "withdraw", "import", "000003"), 0);
    CHECK(tu_file_has(st.log, "fil 000003 är import 2\n"));
    CHECK(tu_file_has(st.log, "withdraw: import 2: events=2 retractions_queued=2 already_withdrawn=0\n"));
    CHECK_EQ(s_agent(&st, "--spool", st.spool, "withdraw", "import", "000009"), 65);
    CHECK(tu_file_has(st.log, "fil 000009: ingen rapport i "));
    /* The report of a file that stored nothing new: nothing to take back. */
    char rep[400];
    snprintf(rep, sizeof rep, "%s/reports/000002-done.txt", st.spool);
    CHECK_EQ(s_agent(&st, "withdraw", "import", rep), 0);
    CHECK(tu_file_has(st.log, "alla rader fanns redan (skickade av en tidigare import, eller tillbakatagna), "
                              "så filen sparade inget nytt: det finns inget av den att ta tillbaka"));
    CHECK(tu_file_has(st.log, "nothing_stored=1 events=0 retractions_queued=0 already_withdrawn=0\n"));
    CHECK_EQ(s_agent(&st, "--spool", st.spool, "--lang", "en", "withdraw", "import", "000002"), 0);
    CHECK(tu_file_has(st.log, "file 000002: every row was there before"));
    /* A trial run's output: nothing was stored. */
    CHECK_EQ(s_agent(&st, "import", b, "--dry-run"), 0);
    CHECK_EQ(rename(st.log, out), 0);
    CHECK_EQ(s_agent(&st, "withdraw", "import", out), 0);
    CHECK(tu_file_has(st.log, "filen importerades inte (avvisad, eller en provkörning)"));
    /* A summary without an import number (an agent before them). */
    const char *old = tu_file_in(st.dir, "old.txt",
                                 "x.jsonl: rows=3 accepted=3 already_imported=0 corrected=0 rejected=0 "
                                 "dropped_fields=0\n");
    CHECK_EQ(s_agent(&st, "withdraw", "import", old), 65);
    CHECK(tu_file_has(st.log, "rapporten anger inget importnummer"));
    /* Neither a number nor a report. */
    CHECK_EQ(s_agent(&st, "withdraw", "import", a), 65);
    CHECK(tu_file_has(st.log, "inte ett importnummer, ett filnummer (000003) eller en importrapport\n"));
}

/* Item: the staff guide had no word on withdraw. */
static void test_guide_tells_withdraw(void)
{
    static const char *const sv[] = {"## 8. Ta tillbaka rader",
                                     "withdraw import 7\n",
                                     "withdraw import 000012\n",
                                     "withdraw response-id 5010 5011\n",
                                     "tas bort helt",
                                     "tidigare tillbakatagna (skickas inte igen)",
                                     "redan tillbakatagen"};
    static const char *const en[] = {"## 8. Taking rows back",   "withdraw import 7\n",
                                     "withdraw import 000012\n", "withdraw response-id 5010 5011\n",
                                     "removed entirely",         "withdrawn before (not sent again)",
                                     "already\nwithdrawn"};
    for (size_t i = 0; i < TU_NELEMS(sv); i++)
        CHECK(tu_file_has(tu_src("docs/agent.md"), sv[i]));
    for (size_t i = 0; i < TU_NELEMS(en); i++)
        CHECK(tu_file_has(tu_src("docs/agent.en.md"), en[i]));
}

static const test_case_t s_cases[] = {
    {"withdraw import", test_withdraw_import},
    {"withdraw response ids", test_withdraw_response_ids},
    {"correction counts once", test_correction_counts_once},
    {"a change back delivered", test_change_back_delivered},
    {"date window delivered", test_date_window_delivered},
    {"again exits 0 (no collector)", test_again_exits_0},
    {"withdraw says it in words (no collector)", test_withdraw_says_it_in_words},
    {"a withdrawn row dropped again (no collector)", test_withdrawn_row_dropped_again},
    {"file numbers (no collector)", test_file_numbers},
    {"the staff guide tells withdraw", test_guide_tells_withdraw},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
