/* withdraw_test.c: `finsam-agent withdraw` end to end: a real collector on
 * 127.0.0.1 (tests/e2e/cluster.c) and the real agent binary. Rows sent by
 * mistake are withdrawn by import number or by response id; after delivery
 * the collector's exact cells equal those of a collector that never had
 * those rows, and `finsamctl rebuild --verify` finds no difference. */
#include "cluster.h"
#include "testutil.h"

#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

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

/* A collector that only ever had rows 1..200: the reference. */
static char *s_reference(void)
{
    cluster_t c;
    cluster_init(&c);
    char nv[320];
    cluster_add_agent(&c, "nv", "NV", true, nv, sizeof nv);
    cluster_start_collector(&c);
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
    cluster_init(&c);
    char nv[320];
    cluster_add_agent(&c, "nv", "NV", true, nv, sizeof nv);
    cluster_start_collector(&c);
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
    cluster_init(&c);
    char nv[320];
    cluster_add_agent(&c, "nv", "NV", true, nv, sizeof nv);
    cluster_start_collector(&c);
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
    cluster_init(&c);
    char nv[320];
    cluster_add_agent(&c, "nv", "NV", true, nv, sizeof nv);
    cluster_start_collector(&c);
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
    cluster_init(&c);
    char nv[320];
    cluster_add_agent(&c, "nv", "NV", true, nv, sizeof nv);
    cluster_start_collector(&c);
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
    cluster_init(&c);
    char nv[320];
    cluster_add_agent(&c, "nv", "NV", true, nv, sizeof nv);
    cluster_start_collector(&c);
    s_one(&c, nv, "2026-03-01", 1);
    CHECK_EQ(s_n(&c, "2026"), 1);
    s_one(&c, nv, "2026-03-20", 5); /* 19 days later: a correction */
    CHECK_EQ(s_n(&c, "2026"), 1);
    s_one(&c, nv, "2026-06-01", 4); /* 73 days later: another survey */
    CHECK_EQ(s_n(&c, "2026"), 2);
    CHECK_EQ(cluster_rebuild_verify(&c), 0);
    cluster_stop_collector(&c, SIGTERM);
}

static const test_case_t s_cases[] = {
    {"withdraw import", test_withdraw_import},
    {"withdraw response ids", test_withdraw_response_ids},
    {"correction counts once", test_correction_counts_once},
    {"a change back delivered", test_change_back_delivered},
    {"date window delivered", test_date_window_delivered},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
