/* query_test.c: disclosure control and roll-ups through query_run
 * (report/query.c, with table.c, suppress.c, interval.c and dists.c), on a
 * real ledger filled through ingest: primary suppression below the minimum
 * (counts shown only as a range), complementary suppression across förbund
 * in a län and across the mode slice, organisation reports exempt, län and
 * national rows merged exactly, and change against the previous period. */
#include "events.h"
#include "testutil.h"

#include "aggregate.h"
#include "allowlist.h"
#include "cell.h"
#include "export.h"
#include "feed.h"
#include "ingest.h"
#include "replay.h"
#include "keys.h"
#include "log.h"
#include "publish.h"
#include "query.h"

#include <czmq.h>
#include <math.h>

static ledger_t *s_ledger;
static catalogue_t *s_cat;
static aggregate_t *s_agg;
static protect_t *s_protect;
static ingest_t *s_ingest;
static allowlist_t *s_allow;
static char s_keys[4][41];
static const char *const s_forbund[4] = {"NV", "VAS", "HBS", "OO"};
static uint32_t s_next = 1;

static void s_setup(void)
{
    char err[256], path[512];
    const char *dir = tu_tempdir();
    snprintf(path, sizeof path, "%s/agents", dir);
    CHECK(mkdir_p(path, 0700) == 0);
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/agents/%s.key", dir, s_forbund[i]);
        CHECK(keys_generate(path, s_forbund[i], s_forbund[i], err, sizeof err) == 0);
        zcert_t *cert = zcert_load(path);
        snprintf(s_keys[i], sizeof s_keys[i], "%s", zcert_public_txt(cert));
        zcert_destroy(&cert);
    }
    snprintf(path, sizeof path, "%s/agents", dir);
    s_allow = allowlist_new(path, "forbund", allowlist_valid_forbund);
    snprintf(path, sizeof path, "%s/ledger", dir);
    CHECK(ledger_open(&s_ledger, path, false, err, sizeof err) == 0);
    CHECK(catalogue_load(&s_cat, NULL, err, sizeof err) == 0);
    protect_params_t pp = PROTECT_DEFAULTS;
    s_protect = protect_open(s_ledger, &pp, err, sizeof err);
    CHECK(s_protect);
    s_agg = aggregate_new(s_cat, protect_secret(s_protect));
    s_ingest = ingest_new(s_ledger, s_cat);
}

static void s_teardown(void)
{
    ingest_destroy(&s_ingest);
    aggregate_destroy(&s_agg);
    protect_destroy(&s_protect);
    allowlist_destroy(&s_allow);
    catalogue_destroy(&s_cat);
    ledger_close(&s_ledger);
}

/* Ingests events ev[0..count) (freed here) as one batch of förbund f's
 * agent and brings the cells up to it. */
static void s_ingest_events(int f, uint8_t **ev, size_t *lens, int count)
{
    size_t len;
    uint8_t *b = ev_batch(s_next, ev, lens, (size_t) count, &len);
    ingest_item_t item = {0};
    snprintf(item.agent_key, sizeof item.agent_key, "%s", s_keys[f]);
    item.data = b;
    item.len = len;
    CHECK(ingest_prepare(s_ingest, &item, s_allow));
    CHECK(ingest_commit(s_ingest, &item, 1) == 0);
    CHECK(replay_follow(s_ledger, s_agg, 0, NULL, NULL, &(uint64_t){0}) == 0);
    CHECK_EQ(item.stored, count);
    ingest_item_clear(&item);
    free(b);
    for (int i = 0; i < count; i++)
        free(ev[i]);
}

/* `people` participants of förbund f answer item `code` = value in mode. */
static void s_answers_to(int f, int people, const char *code, int value, int mode, int64_t when)
{
    uint8_t *ev[500];
    size_t lens[500];
    for (int i = 0; i < people; i++, s_next++)
        ev[i] =
            ev_survey(s_next, s_forbund[f], s_next, "deltagare_avslut", code, value, mode, when, &lens[i]);
    s_ingest_events(f, ev, lens, people);
}

/* `people` participants of förbund f answer d_behov = value in mode. */
static void s_answers(int f, int people, int value, int mode, int64_t when)
{
    s_answers_to(f, people, "d_behov", value, mode, when);
}

/* One batch of survey answers to item in förbund f: person[i] answers
 * value[i] with gender[i] (0 = not given). */
static void s_answers_of(int f, const char *item_code, const uint32_t *person, const int *value,
                         const int *gender, int count, int64_t when)
{
    uint8_t *ev[500];
    size_t lens[500];
    CHECK(count <= 500);
    for (int i = 0; i < count; i++, s_next++) {
        ev_gender = gender[i];
        ev[i] = ev_survey(s_next, s_forbund[f], person[i], "deltagare_avslut", item_code, value[i], 1, when,
                          &lens[i]);
    }
    ev_gender = 0;
    s_ingest_events(f, ev, lens, count);
}

static json_t *s_query_view(const char *measure, const char *period, const char *slice, bool exact)
{
    query_t q = {.measure = measure, .period = period, .slice = slice, .protect = s_protect, .exact = exact};
    json_t *out = NULL;
    char err[256];
    /* Readers see the publication: publish everything now (max age 0). */
    publish_report_t pr;
    CHECK(publish_run(s_ledger, s_cat, s_protect, 1, 0, &pr) == 0);
    CHECK(query_run(s_ledger, s_cat, &q, &out, err, sizeof err) == 0);
    return out;
}

/* What every reader sees: protected. */
static json_t *s_query(const char *measure, const char *period, const char *slice)
{
    return s_query_view(measure, period, slice, false);
}

static json_t *s_row(json_t *result, const char *level, const char *name)
{
    json_t *rows = json_object_get(json_array_get(json_object_get(result, "measures"), 0), "rows");
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        if (!strcmp(json_string_value(json_object_get(r, "level")), level) &&
            !strcmp(json_string_value(json_object_get(r, "name")), name))
            return r;
    }
    return NULL;
}

static bool s_suppressed(json_t *row)
{
    return row && json_is_true(json_object_get(row, "suppressed"));
}

/* The disclosure invariant on one table: in each total-and-parts group
 * (a län and its förbund, the nation and its län) the hidden members are
 * none or at least two, so no hidden cell is a difference of shown ones. */
static void s_check_no_single_hidden(json_t *result)
{
    json_t *rows = json_object_get(json_array_get(json_object_get(result, "measures"), 0), "rows");
    size_t i, j;
    json_t *r, *c;
    json_array_foreach(rows, i, r) {
        const char *level = json_string_value(json_object_get(r, "level"));
        if (!strcmp(level, "forbund"))
            continue;
        const char *period = json_string_value(json_object_get(r, "period"));
        int hidden = s_suppressed(r);
        json_array_foreach(rows, j, c) {
            const char *cl = json_string_value(json_object_get(c, "level"));
            if (strcmp(json_string_value(json_object_get(c, "period")), period))
                continue;
            bool part = !strcmp(level, "nation") ? !strcmp(cl, "lan")
                                                 : !strcmp(cl, "forbund") &&
                                                       !strcmp(json_string_value(json_object_get(c, "lan")),
                                                               json_string_value(json_object_get(r, "name")));
            if (part)
                hidden += s_suppressed(c);
        }
        CHECK(hidden != 1);
    }
}

static void test_primary_and_complementary(void)
{
    s_setup();
    /* Västmanland: NV 3 people (below 5), VAS 20. Stockholm: HBS 40.
     * Östergötland: OO 12. */
    s_answers(0, 3, 5, 1, T_2026_03);
    s_answers(1, 20, 4, 1, T_2026_03);
    s_answers(2, 40, 3, 1, T_2026_03);
    s_answers(3, 12, 2, 2, T_2026_03);
    json_t *r = s_query("i1_behov", "2026", "all");
    json_t *nv = s_row(r, "forbund", "NV"), *vas = s_row(r, "forbund", "VAS");
    CHECK(s_suppressed(nv));
    /* A hidden row says nothing about its size: no n, no units, no "<5". */
    CHECK(!json_object_get(nv, "mean") && !json_object_get(nv, "n") && !json_object_get(nv, "units"));
    /* NV = Västmanland − VAS: VAS is hidden too (complementary). */
    CHECK(s_suppressed(vas));
    /* Published counts carry the cell-key noise: within D = 2. The län is
     * usually shown; the interval audit may hide it too, depending on the
     * draws (1 run in about 100), so its count is checked where shown. */
    json_t *lan = s_row(r, "lan", "Västmanland");
    CHECK(lan);
    json_int_t lan_n = json_integer_value(json_object_get(lan, "n"));
    CHECK(s_suppressed(lan) || (lan_n >= 21 && lan_n <= 25));
    json_t *nation = s_row(r, "nation", "Riket");
    json_int_t nation_n = json_integer_value(json_object_get(nation, "n"));
    CHECK(s_suppressed(nation) || (nation_n >= 73 && nation_n <= 77));
    s_check_no_single_hidden(r);
    CHECK(!s_suppressed(s_row(r, "forbund", "HBS")));
    json_decref(r);
    /* The operator's exact view has the true values. */
    r = s_query_view("i1_behov", "2026", "all", true);
    CHECK_EQ(json_integer_value(json_object_get(s_row(r, "lan", "Västmanland"), "n")), 23);
    nation = s_row(r, "nation", "Riket");
    CHECK_EQ(json_integer_value(json_object_get(nation, "n")), 75);
    double mean = json_real_value(json_object_get(nation, "mean"));
    CHECK(mean > (3 * 5 + 20 * 4 + 40 * 3 + 12 * 2) / 75.0 - 1e-9 &&
          mean < (3 * 5 + 20 * 4 + 40 * 3 + 12 * 2) / 75.0 + 1e-9);
    CHECK(!s_suppressed(s_row(r, "forbund", "NV")));
    json_decref(r);

    /* Mode slice: OO has 12 integrated and 0 project; HBS 40 project. In
     * Stockholm add 2 integrated answers to HBS: its integrated cell (2) is
     * hidden, so its project cell (= all − integrated) is hidden too. */
    s_answers(2, 2, 1, 2, T_2026_03);
    r = s_query("i1_behov", "2026", "mode=project");
    CHECK(s_suppressed(s_row(r, "forbund", "HBS")));
    json_decref(r);
    r = s_query("i1_behov", "2026", "mode=integrated");
    CHECK(s_suppressed(s_row(r, "forbund", "HBS")));
    /* Riket (14) − Östergötland (12) would give Stockholm (2): so
     * Östergötland, and with it its only förbund OO, is hidden too. */
    CHECK(s_suppressed(s_row(r, "lan", "Stockholm")));
    CHECK(s_suppressed(s_row(r, "lan", "Östergötland")));
    CHECK(s_suppressed(s_row(r, "forbund", "OO")));
    /* Riket itself is usually shown, but not always: the interval audit
     * hides a visible cell where the published noise would narrow a hidden
     * neighbour to three values, and that depends on the draws (1 run in
     * about 300). What must hold is the invariant. */
    s_check_no_single_hidden(r);
    json_decref(r);
    r = s_query("i1_behov", "2026", "all");
    CHECK(s_row(r, "forbund", "HBS")); /* shown in almost every run (the audit may hide it) */
    s_check_no_single_hidden(r);
    json_decref(r);
    r = s_query("i1_behov", "2026", "mode=project");
    s_check_no_single_hidden(r);
    json_decref(r);
    s_teardown();
}

/* A quarter is the sum of its months (counts, sums, histograms): with
 * the quarter and two months shown, a hidden third month would be their
 * difference. So a second month is hidden with it, in the month table and
 * in every other query (the decision is taken over all period kinds). */
static void test_complementary_over_time(void)
{
    s_setup();
    const int64_t day = 86400;
    s_answers(2, 10, 4, 1, T_2026_03 - 59 * day); /* 2026-01: 10 people */
    s_answers(2, 12, 2, 1, T_2026_03 - 30 * day); /* 2026-02: 12 people */
    s_answers(2, 3, 5, 1, T_2026_03);             /* 2026-03: 3 people */
    s_answers(2, 20, 3, 1, T_2026_03 + 92 * day); /* 2026-06: 20 people */
    json_t *r = s_query("i1_behov", "month", "all");
    json_t *rows = json_object_get(json_array_get(json_object_get(r, "measures"), 0), "rows");
    int hidden_q1 = 0;
    bool march_hidden = false, june_shown = false;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        if (strcmp(json_string_value(json_object_get(row, "level")), "forbund"))
            continue;
        const char *period = json_string_value(json_object_get(row, "period"));
        if (!strcmp(period, "2026-03"))
            march_hidden = s_suppressed(row);
        if (!strcmp(period, "2026-06"))
            june_shown = !s_suppressed(row);
        if (!strncmp(period, "2026-0", 6) && period[6] >= '1' && period[6] <= '3')
            hidden_q1 += s_suppressed(row);
    }
    CHECK(march_hidden);
    CHECK(june_shown);
    CHECK_EQ(hidden_q1, 2); /* March and the smaller of January, February */
    json_decref(r);
    /* The quarter itself stays visible, and one month asked for alone gets
     * the same answer as in the whole table. */
    r = s_query("i1_behov", "quarter", "all");
    CHECK(!s_suppressed(s_row(r, "forbund", "HBS")));
    json_decref(r);
    r = s_query("i1_behov", "2026-01", "all");
    CHECK(s_suppressed(s_row(r, "forbund", "HBS")));
    json_decref(r);
    r = s_query("i1_behov", "2026-02", "all");
    CHECK(!s_suppressed(s_row(r, "forbund", "HBS")));
    json_decref(r);
    s_teardown();
}

static void test_change_against_previous_period(void)
{
    s_setup();
    s_answers(2, 10, 2, 1, T_2026_03 - 86400 * 365); /* 2025: mean 2 */
    s_answers(2, 10, 4, 1, T_2026_03);               /* 2026: mean 4 */
    json_t *r = s_query_view("i1_behov", "year", "all", true);
    json_t *rows = json_object_get(json_array_get(json_object_get(r, "measures"), 0), "rows");
    bool found = false;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        if (!strcmp(json_string_value(json_object_get(row, "period")), "2026") &&
            !strcmp(json_string_value(json_object_get(row, "level")), "forbund")) {
            double change = json_real_value(json_object_get(row, "change_mean"));
            CHECK(change > 1.999 && change < 2.001);
            /* 100 % agree would be shown only from n >= 10: 10 here. */
            found = true;
        }
    }
    CHECK(found);
    json_decref(r);
    s_teardown();
}

/* A share of 100 % on fewer than 10 answers: readers get n and units and
 * the reason, nothing that gives the share back; the operator's exact view
 * withholds nothing. Whether a row withholds is decided on its published
 * (perturbed) values, so six people at the top of the scale in each of
 * eight months give rows of which some withhold (all but certainly: each
 * does with probability about 2/3) and all are 100 % exactly. */
static void test_withheld_share_and_exact_view(void)
{
    s_setup();
    for (int month = 0; month < 8; month++)
        s_answers(2, 6, 5, 1, T_2026_03 - (int64_t) month * 31 * 86400);
    json_t *r = s_query("i1_behov", "month", "all");
    json_t *rows = json_object_get(json_array_get(json_object_get(r, "measures"), 0), "rows");
    const char *derived[] = {"mean", "sd", "ci95", "median", "share_top", "change_mean", "change_share"};
    int withheld = 0;
    size_t i;
    json_t *row;
    json_array_foreach(rows, i, row) {
        if (s_suppressed(row) || !json_object_get(row, "withheld"))
            continue;
        withheld++;
        CHECK(json_object_get(row, "n") && json_object_get(row, "units"));
        for (size_t d = 0; d < sizeof derived / sizeof *derived; d++)
            CHECK(json_object_get(row, derived[d]) == NULL);
    }
    CHECK(withheld > 0);
    json_decref(r);
    r = s_query_view("i1_behov", "month", "all", true);
    rows = json_object_get(json_array_get(json_object_get(r, "measures"), 0), "rows");
    int shown = 0;
    json_array_foreach(rows, i, row) {
        CHECK(json_object_get(row, "withheld") == NULL);
        CHECK_EQ(json_integer_value(json_object_get(row, "n")), 6);
        CHECK(json_real_value(json_object_get(row, "share_top")) > 0.999);
        CHECK(json_real_value(json_object_get(row, "mean")) > 4.999);
        shown++;
    }
    CHECK(shown >= 8);
    json_decref(r);
    s_teardown();
}

/* ---- comparisons (report/compare.c) -------------------------------- */

static json_t *s_row_at(json_t *result, const char *level, const char *name, const char *period,
                        const char *slice)
{
    json_t *rows = json_object_get(json_array_get(json_object_get(result, "measures"), 0), "rows");
    size_t i;
    json_t *r;
    json_array_foreach(rows, i, r) {
        if (!strcmp(json_string_value(json_object_get(r, "level")), level) &&
            !strcmp(json_string_value(json_object_get(r, "name")), name) &&
            !strcmp(json_string_value(json_object_get(r, "period")), period) &&
            !strcmp(json_string_value(json_object_get(r, "slice")), slice))
            return r;
    }
    return NULL;
}

/* A real field of a row, CHECKed present; NAN when not. */
static double s_real(const json_t *row, const char *key)
{
    const json_t *v = json_object_get(row, key);
    CHECK(json_is_real(v));
    return json_is_real(v) ? json_real_value(v) : NAN;
}

static bool s_near(double a, double b, double tol)
{
    return fabs(a - b) <= tol;
}

/* The bound i of an interval field [lo, hi]. */
static double s_bound(const json_t *row, const char *key, size_t i)
{
    const json_t *v = json_array_get(json_object_get(row, key), i);
    CHECK(json_is_real(v));
    return json_is_real(v) ? json_real_value(v) : NAN;
}

/* Splits one CSV line (';', fields without ';' inside) into at most max
 * unquoted fields, in place; returns the count. */
static int s_csv_split(char *line, char **fields, int max)
{
    int n = 0;
    for (char *p = line; n < max;) {
        char *end = strchr(p, ';');
        if (end)
            *end = '\0';
        size_t len = strlen(p);
        if (len >= 2 && p[0] == '"' && p[len - 1] == '"') {
            p[len - 1] = '\0';
            p++;
        }
        fields[n++] = p;
        if (!end)
            break;
        p = end + 1;
    }
    return n;
}

/* The CSV cell (export_print_csv, the one Swedish-Excel writer) in
 * `column` of the row (level, name, period, slice); NULL when there is no
 * such row or column. The caller frees. */
static char *s_csv_cell(const json_t *result, const char *level, const char *name, const char *period,
                        const char *slice, const char *column)
{
    char *text = NULL, *found = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    CHECK(f && export_print_csv(result, f) == 0);
    fclose(f);
    char *save = NULL, *line = strtok_r(text + 3, "\r\n", &save); /* after the BOM */
    char *head[64], *cell[64];
    int nhead = s_csv_split(line, head, 64), col = -1, lv = -1, nm = -1, pe = -1, sl = -1;
    for (int i = 0; i < nhead; i++) {
        if (!strcmp(head[i], column))
            col = i;
        lv = strcmp(head[i], "nivå") ? lv : i;
        nm = strcmp(head[i], "namn") ? nm : i;
        pe = strcmp(head[i], "period") ? pe : i;
        sl = strcmp(head[i], "urval") ? sl : i;
    }
    CHECK(lv >= 0 && nm >= 0 && pe >= 0 && sl >= 0);
    while (col >= 0 && !found && (line = strtok_r(NULL, "\r\n", &save))) {
        int n = s_csv_split(line, cell, 64);
        CHECK_EQ(n, nhead);
        if (n == nhead && !strcmp(cell[lv], level) && !strcmp(cell[nm], name) && !strcmp(cell[pe], period) &&
            !strcmp(cell[sl], slice))
            found = strdup(cell[col]);
    }
    free(text);
    return found;
}

static double s_csv_number(const char *text)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", text ? text : "");
    for (char *p = buf; *p; p++)
        if (*p == ',')
            *p = '.';
    return buf[0] ? strtod(buf, NULL) : NAN;
}

#define T_YEAR (365 * 86400)
#define T_DAY 86400
#define CSV_YEAR_SHARE "förändring andel mot året före (procentenheter)"

/* A rising yes share gives a positive year-on-year change in JSON and CSV,
 * in both views and whichever way the period is asked for. HBS's share of
 * yes (i4, share_yes): 2025-03 6 of 20 (30 %), 2025-11 9 of 10 (90 %),
 * 2026-03 17 of 20 (85 %). So 2026-Q1 against 2025-Q1 is +55 points, while
 * against the previous quarter (2025-Q4) it is −5; 2026 against 2025
 * (15 of 30) +35. A share measure changes in its share only. */
static void test_change_year_share(void)
{
    s_setup();
    s_answers_to(2, 6, "d_samordnare", 1, 1, T_2026_03 - T_YEAR); /* 2025-03 */
    s_answers_to(2, 14, "d_samordnare", 2, 1, T_2026_03 - T_YEAR);
    s_answers_to(2, 9, "d_samordnare", 1, 1, T_2026_03 - 120 * T_DAY); /* 2025-11 */
    s_answers_to(2, 1, "d_samordnare", 2, 1, T_2026_03 - 120 * T_DAY);
    s_answers_to(2, 17, "d_samordnare", 1, 1, T_2026_03); /* 2026-03 */
    s_answers_to(2, 3, "d_samordnare", 2, 1, T_2026_03);
    static const struct {
        const char *ask, *period;
        double year, prev; /* NAN: none */
    } cases[] = {{"2026-Q1", "2026-Q1", 0.55, -0.05}, {"quarter", "2026-Q1", 0.55, -0.05},
                 {"2026-03", "2026-03", 0.55, NAN},   {"month", "2026-03", 0.55, NAN},
                 {"2026", "2026", 0.35, 0.35},        {"year", "2026", 0.35, 0.35}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *r = s_query_view("i4_samordnare", cases[i].ask, "all", true);
        for (int level = 0; level < 3; level++) {
            const char *lv[] = {"forbund", "lan", "nation"}, *nm[] = {"HBS", "Stockholm", "Riket"};
            json_t *row = s_row_at(r, lv[level], nm[level], cases[i].period, "all");
            CHECK(row);
            CHECK(s_near(s_real(row, "change_year_share"), cases[i].year, 1e-12));
            if (isnan(cases[i].prev))
                CHECK(!json_object_get(row, "change_share"));
            else
                CHECK(s_near(s_real(row, "change_share"), cases[i].prev, 1e-12));
            CHECK(!json_object_get(row, "change_year_mean") && !json_object_get(row, "change_mean"));
        }
        /* The CSV in percentage points with a decimal comma. */
        char *year = s_csv_cell(r, "forbund", "HBS", cases[i].period, "all", CSV_YEAR_SHARE);
        char *prev =
            s_csv_cell(r, "forbund", "HBS", cases[i].period, "all", "förändring andel (procentenheter)");
        char *mean =
            s_csv_cell(r, "forbund", "HBS", cases[i].period, "all", "förändring medelvärde mot året före");
        CHECK(year && !strcmp(year, cases[i].year > 0.5 ? "55,0" : "35,0"));
        CHECK(prev && !strcmp(prev, isnan(cases[i].prev) ? "" : cases[i].prev < 0 ? "-5,0" : "35,0"));
        CHECK(mean && !strcmp(mean, ""));
        free(year);
        free(prev);
        free(mean);
        json_decref(r);
    }
    /* Readers: the published states differ from the exact ones by the
     * noise (hits and n within ±2), which cannot turn these changes
     * around; one period asked alone answers as the whole table does. */
    json_t *whole = s_query("i4_samordnare", "quarter", "all");
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        json_t *r = s_query("i4_samordnare", cases[i].ask, "all");
        json_t *row = s_row_at(r, "forbund", "HBS", cases[i].period, "all");
        CHECK(row && !s_suppressed(row) && !json_object_get(row, "withheld"));
        CHECK(s_real(row, "change_year_share") > 0.05);
        char *year = s_csv_cell(r, "forbund", "HBS", cases[i].period, "all", CSV_YEAR_SHARE);
        CHECK(s_csv_number(year) > 5);
        free(year);
        if (!strcmp(cases[i].ask, "2026-Q1"))
            CHECK(json_equal(row, s_row_at(whole, "forbund", "HBS", "2026-Q1", "all")));
        json_decref(r);
    }
    /* Answers for 2025 after the publication: readers keep seeing the
     * published year before, asked alone or with the whole table. */
    s_answers_to(2, 10, "d_samordnare", 2, 1, T_2026_03 - T_YEAR);
    json_t *alone = NULL, *again = NULL;
    char err[256];
    query_t q = {.measure = "i4_samordnare", .period = "2026-Q1", .slice = "all", .protect = s_protect};
    CHECK(query_run(s_ledger, s_cat, &q, &alone, err, sizeof err) == 0);
    q.period = "quarter";
    CHECK(query_run(s_ledger, s_cat, &q, &again, err, sizeof err) == 0);
    json_t *before = s_row_at(whole, "forbund", "HBS", "2026-Q1", "all");
    CHECK(json_equal(s_row_at(alone, "forbund", "HBS", "2026-Q1", "all"), before));
    CHECK(json_equal(s_row_at(again, "forbund", "HBS", "2026-Q1", "all"), before));
    json_decref(alone);
    json_decref(again);
    json_decref(whole);
    s_teardown();
}

/* integrated − project on the "all" row, exact view, against values
 * computed by hand. HBS 2026-03, i1 (ordinal, agree5, top = 4..5):
 * integrated 5 5 5 3 3 (mean 4.2, s² 1.2), project 2 2 2 2 4 4 (mean 8/3,
 * s² 16/15): d = 23/15; Welch se² = 1.2/5 + (16/15)/6 = 0.4177778, df =
 * se⁴ / ((0.24)²/4 + (0.1777778)²/5) = 8.42326, t(0.975, 8.42326) =
 * 2.28599, interval [0.0557673, 3.0108994]. Top shares 3/5 and 2/6: d =
 * 4/15, Wald ± 1.959964·sqrt(0.6·0.4/5 + (1/3)(2/3)/6) = [-0.3048806,
 * 0.8382139]. i4 (share_yes): 7 of 10 against 4 of 10: d = 0.3 ±
 * 1.959964·sqrt(0.045) = [-0.1157711, 0.7157711], and no mean. VAS: i1
 * 4 4 4 against 2 2: both variances 0, [2, 2]. OO: i1 one integrated
 * answer: a difference, but no interval (Welch needs n >= 2). */
static void test_integrated_minus_project_exact(void)
{
    s_setup();
    s_answers_to(2, 3, "d_behov", 5, 2, T_2026_03);
    s_answers_to(2, 2, "d_behov", 3, 2, T_2026_03);
    s_answers_to(2, 4, "d_behov", 2, 1, T_2026_03);
    s_answers_to(2, 2, "d_behov", 4, 1, T_2026_03);
    s_answers_to(2, 7, "d_samordnare", 1, 2, T_2026_03);
    s_answers_to(2, 3, "d_samordnare", 2, 2, T_2026_03);
    s_answers_to(2, 4, "d_samordnare", 1, 1, T_2026_03);
    s_answers_to(2, 6, "d_samordnare", 2, 1, T_2026_03);
    s_answers_to(1, 3, "d_behov", 4, 2, T_2026_03);
    s_answers_to(1, 2, "d_behov", 2, 1, T_2026_03);
    s_answers_to(3, 1, "d_behov", 4, 2, T_2026_03);
    s_answers_to(3, 3, "d_behov", 2, 1, T_2026_03);
    s_answers_to(0, 5, "d_behov", 3, 1, T_2026_03); /* NV: project only */

    json_t *r = s_query_view("i1_behov", "2026", "all", true);
    json_t *hbs = s_row_at(r, "forbund", "HBS", "2026", "all");
    CHECK(s_near(s_real(hbs, "integrated_minus_project_mean"), 23.0 / 15, 1e-12));
    CHECK(s_near(s_bound(hbs, "integrated_minus_project_mean_ci95", 0), 0.0557673078, 1e-6));
    CHECK(s_near(s_bound(hbs, "integrated_minus_project_mean_ci95", 1), 3.0108993589, 1e-6));
    CHECK(s_near(s_real(hbs, "integrated_minus_project_share"), 4.0 / 15, 1e-12));
    CHECK(s_near(s_bound(hbs, "integrated_minus_project_share_ci95", 0), -0.3048805982, 1e-9));
    CHECK(s_near(s_bound(hbs, "integrated_minus_project_share_ci95", 1), 0.8382139316, 1e-9));
    json_t *vas = s_row_at(r, "forbund", "VAS", "2026", "all");
    CHECK(s_near(s_real(vas, "integrated_minus_project_mean"), 2, 1e-12));
    CHECK(s_bound(vas, "integrated_minus_project_mean_ci95", 0) == 2.0);
    CHECK(s_bound(vas, "integrated_minus_project_mean_ci95", 1) == 2.0);
    json_t *oo = s_row_at(r, "forbund", "OO", "2026", "all");
    CHECK(s_near(s_real(oo, "integrated_minus_project_mean"), 2, 1e-12));
    CHECK(!json_object_get(oo, "integrated_minus_project_mean_ci95"));
    CHECK(json_object_get(oo, "integrated_minus_project_share_ci95")); /* Wald: 1 − 0, width 0 */
    json_t *nv = s_row_at(r, "forbund", "NV", "2026", "all");
    CHECK(nv && !json_object_get(nv, "integrated_minus_project_mean"));
    CHECK(
        json_object_get(s_row_at(r, "nation", "Riket", "2026", "all"), "integrated_minus_project_mean_ci95"));
    /* CSV: decimal comma, shares in percentage points. */
    static const struct {
        const char *column, *want;
    } i1_csv[] = {{"skillnad medelvärde integrerad − projekt", "1,53"},
                  {"skillnad medelvärde integrerad − projekt 95 % KI nedre", "0,06"},
                  {"skillnad medelvärde integrerad − projekt 95 % KI övre", "3,01"},
                  {"skillnad andel integrerad − projekt (procentenheter)", "26,7"},
                  {"skillnad andel integrerad − projekt 95 % KI nedre (procentenheter)", "-30,5"},
                  {"skillnad andel integrerad − projekt 95 % KI övre (procentenheter)", "83,8"}};
    for (size_t i = 0; i < sizeof i1_csv / sizeof *i1_csv; i++) {
        char *got = s_csv_cell(r, "forbund", "HBS", "2026", "all", i1_csv[i].column);
        CHECK(got && !strcmp(got, i1_csv[i].want));
        free(got);
    }
    json_decref(r);
    /* The mode rows themselves compare with nothing across modes. */
    r = s_query_view("i1_behov", "2026", "mode=integrated", true);
    CHECK(!json_object_get(s_row_at(r, "forbund", "HBS", "2026", "mode=integrated"),
                           "integrated_minus_project_mean"));
    json_decref(r);

    r = s_query_view("i4_samordnare", "2026", "all", true);
    hbs = s_row_at(r, "forbund", "HBS", "2026", "all");
    CHECK(!json_object_get(hbs, "integrated_minus_project_mean"));
    CHECK(s_near(s_real(hbs, "integrated_minus_project_share"), 0.3, 1e-12));
    CHECK(s_near(s_bound(hbs, "integrated_minus_project_share_ci95", 0), -0.1157711473, 1e-9));
    CHECK(s_near(s_bound(hbs, "integrated_minus_project_share_ci95", 1), 0.7157711473, 1e-9));
    char *got = s_csv_cell(r, "forbund", "HBS", "2026", "all",
                           "skillnad andel integrerad − projekt (procentenheter)");
    CHECK(got && !strcmp(got, "30,0"));
    free(got);
    got = s_csv_cell(r, "forbund", "HBS", "2026", "all", "skillnad medelvärde integrerad − projekt");
    CHECK(got && !strcmp(got, ""));
    free(got);
    json_decref(r);
    s_teardown();
}

/* Rows of every period kind and slice asked for, keyed
 * "level|name|period|slice" (protected view). */
static json_t *s_all_rows(const char *measure, const char *const *slices, int nslices)
{
    static const char *const kinds[] = {"year", "quarter", "month"};
    json_t *map = json_object();
    for (int k = 0; k < 3; k++)
        for (int s = 0; s < nslices; s++) {
            json_t *r = s_query(measure, kinds[k], slices[s]);
            json_t *rows = json_object_get(json_array_get(json_object_get(r, "measures"), 0), "rows");
            size_t i;
            json_t *row;
            json_array_foreach(rows, i, row) {
                char key[160];
                snprintf(key, sizeof key, "%s|%s|%s|%s", json_string_value(json_object_get(row, "level")),
                         json_string_value(json_object_get(row, "name")),
                         json_string_value(json_object_get(row, "period")), slices[s]);
                json_object_set(map, key, row);
            }
            json_decref(r);
        }
    return map;
}

/* The row of map at the same place as `row` in `period` and `slice`. */
static json_t *s_peer(json_t *map, const json_t *row, const char *period, const char *slice)
{
    char key[160];
    snprintf(key, sizeof key, "%s|%s|%s|%s", json_string_value(json_object_get(row, "level")),
             json_string_value(json_object_get(row, "name")), period, slice);
    return json_object_get(map, key);
}

static bool s_comparable(const json_t *row)
{
    return row && !json_is_true(json_object_get(row, "suppressed")) && !json_object_get(row, "withheld") &&
           json_integer_value(json_object_get(row, "n")) > 0;
}

static bool s_has_comparison(const json_t *row)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *) row, key, v) {
        if (!strncmp(key, "change", 6) || !strncmp(key, "integrated_minus_project", 24))
            return true;
    }
    return false;
}

/* A hidden row, or a 0 %/100 % share withheld (n < 10), cannot be derived
 * from any comparison field of any row: the row itself carries none, and
 * a row compared with it (the next period, the same period a year later,
 * its "all" row across modes) carries none either. Every comparison shown
 * is the difference of two published values a reader sees anyway, and one
 * period asked alone gives the same rows as the whole table. Data: i4 in
 * 2025-03/06 and 2026-03/06 at four förbund, in each month an integrated
 * group that all say yes (6..9 people, so often withheld), a project group
 * of 12 half yes, one group of 8 all no, and at OO an integrated group of
 * 3 (hidden) in 2025-06 and one of 12 half yes in 2026-06. Which rows
 * are withheld depends on the noise (a random secret per ledger); the
 * test only counts that some are. */
static void test_comparisons_never_from_hidden_or_withheld(void)
{
    s_setup();
    static const int64_t months[] = {T_2026_03 - T_YEAR, T_2026_03 - T_YEAR + 92 * T_DAY, T_2026_03,
                                     T_2026_03 + 92 * T_DAY};
    for (int f = 0; f < 4; f++)
        for (int mo = 0; mo < 4; mo++) {
            s_answers_to(f, f == 3 && mo == 1 ? 3 : 6 + (f + mo) % 4, "d_samordnare", 1, 2, months[mo]);
            if (f == 3 && mo == 3) /* a visible row whose year before is hidden */
                s_answers_to(f, 6, "d_samordnare", 2, 2, months[mo]);
            if (f == 1 && mo == 1) {
                s_answers_to(f, 8, "d_samordnare", 2, 1, months[mo]);
                continue;
            }
            s_answers_to(f, 6, "d_samordnare", 1, 1, months[mo]);
            s_answers_to(f, 6, "d_samordnare", 2, 1, months[mo]);
        }
    static const char *const slices[] = {"all", "mode=integrated", "mode=project"};
    json_t *map = s_all_rows("i4_samordnare", slices, 3);
    int withheld = 0, hidden = 0, held_back = 0, shown_year = 0, shown_diff = 0, share_ci = 0;
    const char *key;
    json_t *row;
    json_object_foreach(map, key, row) {
        const char *period = json_string_value(json_object_get(row, "period"));
        const char *slice = json_string_value(json_object_get(row, "slice"));
        uint32_t p;
        CHECK(cell_period_parse(period, &p) == 0);
        char prev[16], year[16];
        cell_period_format(prev, sizeof prev, cell_period_prev(p));
        cell_period_format(year, sizeof year, cell_period_year_before(p));
        bool hid = json_is_true(json_object_get(row, "suppressed"));
        withheld += json_object_get(row, "withheld") != NULL;
        hidden += hid;
        if (!s_comparable(row)) {
            CHECK(!s_has_comparison(row));
            if (hid)
                CHECK(json_object_size(row) == 5 + (json_object_get(row, "lan") != NULL));
        }
        /* A shown share has Wilson's 95 % interval from its published
         * share and n (nothing a reader could not compute), around it. */
        if (json_is_real(json_object_get(row, "share"))) {
            double p = s_real(row, "share"), n = (double) json_integer_value(json_object_get(row, "n"));
            double z = 1.959963984540054, z2n = z * z / n, c = (p + z2n / 2) / (1 + z2n);
            double h = z / (1 + z2n) * sqrt(p * (1 - p) / n + z2n / (4 * n));
            CHECK(s_near(s_bound(row, "ci95", 0), fmax(c - h, 0), 1e-12));
            CHECK(s_near(s_bound(row, "ci95", 1), fmin(c + h, 1), 1e-12));
            CHECK(s_bound(row, "ci95", 0) <= p + 1e-12 && p <= s_bound(row, "ci95", 1) + 1e-12);
            share_ci++;
        }
        /* Each comparison: both rows comparable, and the value is the
         * difference of their published shares. */
        json_t *yb = s_peer(map, row, year, slice), *pv = s_peer(map, row, prev, slice);
        if (json_object_get(row, "change_year_share")) {
            shown_year++;
            CHECK(s_comparable(yb));
            if (s_comparable(yb))
                CHECK(s_near(s_real(row, "change_year_share"), s_real(row, "share") - s_real(yb, "share"),
                             1e-12));
        } else if (s_comparable(row) && yb && !s_comparable(yb)) {
            held_back++;
        }
        if (json_object_get(row, "change_share"))
            CHECK(s_comparable(pv));
        if (strcmp(slice, "all"))
            continue;
        json_t *gi = s_peer(map, row, period, "mode=integrated"),
               *gp = s_peer(map, row, period, "mode=project");
        if (json_object_get(row, "integrated_minus_project_share")) {
            shown_diff++;
            CHECK(s_comparable(gi) && s_comparable(gp));
            if (s_comparable(gi) && s_comparable(gp))
                CHECK(s_near(s_real(row, "integrated_minus_project_share"),
                             s_real(gi, "share") - s_real(gp, "share"), 1e-12));
            CHECK(json_object_get(row, "integrated_minus_project_share_ci95"));
        } else if (s_comparable(row) && gi && gp) {
            CHECK(!s_comparable(gi) || !s_comparable(gp));
            held_back++;
        }
    }
    /* Whether a row withholds is decided on perturbed values: the data
     * give withheld rows in all but about 1 run in 60, and the property
     * above is checked on every row there is. */
    CHECK(hidden > 0);
    if (withheld == 0 || held_back == 0)
        fprintf(stderr, "note: this run's draws withheld %d rows, held back %d comparisons\n", withheld,
                held_back);
    CHECK(shown_year > 0 && shown_diff > 0 && share_ci > 0);
    /* One period asked alone: the same rows (the year before loaded and
     * suppressed as its own query would). */
    static const char *const periods[] = {"2026", "2026-Q1", "2026-Q2", "2026-03", "2026-06", "2025-Q2"};
    for (size_t i = 0; i < sizeof periods / sizeof *periods; i++)
        for (int s = 0; s < 3; s++) {
            json_t *r = s_query("i4_samordnare", periods[i], slices[s]);
            json_t *rows = json_object_get(json_array_get(json_object_get(r, "measures"), 0), "rows");
            size_t j;
            json_t *one;
            CHECK(json_array_size(rows) > 0);
            json_array_foreach(rows, j, one) {
                json_t *same = s_peer(map, one, periods[i], slices[s]);
                CHECK(same && json_equal(one, same));
                /* The CSV of a row that may not be compared has empty
                 * comparison columns. */
                if (s_comparable(one) || s > 0)
                    continue;
                static const char *const columns[] = {
                    "förändring andel (procentenheter)", CSV_YEAR_SHARE,
                    "skillnad andel integrerad − projekt (procentenheter)",
                    "skillnad andel integrerad − projekt 95 % KI nedre (procentenheter)",
                    "skillnad andel integrerad − projekt 95 % KI övre (procentenheter)"};
                for (size_t c = 0; c < sizeof columns / sizeof *columns; c++) {
                    char *got = s_csv_cell(r, json_string_value(json_object_get(one, "level")),
                                           json_string_value(json_object_get(one, "name")), periods[i], "all",
                                           columns[c]);
                    CHECK(got && !strcmp(got, ""));
                    free(got);
                }
            }
            json_decref(r);
        }
    json_decref(map);
    s_teardown();
}

static void test_organisation_not_suppressed_and_bad_args(void)
{
    s_setup();
    /* One organisation report: not personal data, shown. */
    Finsam__V1__Answer a = FINSAM__V1__ANSWER__INIT, *ap = &a;
    a.item = "o_forum_moten";
    a.value = 11;
    Finsam__V1__OrganisationReport org = FINSAM__V1__ORGANISATION_REPORT__INIT;
    org.n_answers = 1;
    org.answers = &ap;
    uint8_t id[16];
    ev_id(id, 999);
    Finsam__V1__Event ev = FINSAM__V1__EVENT__INIT;
    ev.id = (ProtobufCBinaryData){16, id};
    ev.forbund = "NV";
    ev.occurred_at = T_2026_03;
    ev.catalogue_version = 1;
    ev.body_case = FINSAM__V1__EVENT__BODY_ORGANISATION;
    ev.organisation = &org;
    size_t elen, blen;
    uint8_t *e = codec_pack(&ev.base, &elen);
    uint8_t *b = ev_batch(1, &e, &elen, 1, &blen);
    ingest_item_t item = {0};
    snprintf(item.agent_key, sizeof item.agent_key, "%s", s_keys[0]);
    item.data = b;
    item.len = blen;
    CHECK(ingest_prepare(s_ingest, &item, s_allow));
    CHECK(ingest_commit(s_ingest, &item, 1) == 0);
    CHECK(replay_follow(s_ledger, s_agg, 0, NULL, NULL, &(uint64_t){0}) == 0);
    ingest_item_clear(&item);
    free(b);
    free(e);
    json_t *r = s_query("i12_forum_moten", "2026", "all");
    json_t *nv = s_row(r, "forbund", "NV");
    CHECK(nv && !s_suppressed(nv));
    CHECK_EQ(json_integer_value(json_object_get(nv, "sum")), 11);
    json_decref(r);

    query_t q = {.measure = "nope", .period = "year", .slice = "all", .protect = s_protect};
    json_t *out = NULL;
    char err[256];
    CHECK(query_run(s_ledger, s_cat, &q, &out, err, sizeof err) != 0 && strstr(err, "nope"));
    q.measure = NULL;
    q.period = "2026-Q9";
    CHECK(query_run(s_ledger, s_cat, &q, &out, err, sizeof err) != 0);
    q.period = "year";
    q.slice = "mode=weird";
    CHECK(query_run(s_ledger, s_cat, &q, &out, err, sizeof err) != 0);
    CHECK(strstr(err, "age=65+") && strstr(err, "gender=woman")); /* every valid slice is named */
    q.slice = "all";
    q.measure = "99"; /* no such indicator: refused, not an empty answer */
    CHECK(query_run(s_ledger, s_cat, &q, &out, err, sizeof err) == FIN_EINPUT &&
          strstr(err, "indicator number"));
    s_teardown();
}

/* Regression (fuzz_http_query: GET /api/indicators without parameters):
 * a measure with no cells left its table empty, and query.c sorted it with
 * qsort(NULL, 0, ...), undefined behaviour that UBSan stops on. An empty
 * store answers every measure with no rows. */
static void test_measures_without_cells(void)
{
    s_setup();
    query_t q = {.measure = NULL, .period = "year", .slice = "all", .protect = s_protect};
    json_t *out = NULL;
    char err[256];
    CHECK(query_run(s_ledger, s_cat, &q, &out, err, sizeof err) == 0);
    json_t *measures = json_object_get(out, "measures");
    CHECK(json_array_size(measures) > 0);
    CHECK_EQ(json_array_size(json_object_get(json_array_get(measures, 0), "rows")), 0);
    json_decref(out);
    s_teardown();
}

/* Adding a measure is a change to the catalogue file only. */
/* ---- the protected aggregate feed (report/feed.c) ------------------ */

typedef struct {
    int n;
    json_t *rows; /* row key -> {"n":..,"units":..,"suppressed":..,"removed":..} */
} s_feed_t;

static int s_collect(const char *topic, const uint8_t *payload, size_t len, const char *key, void *arg)
{
    s_feed_t *f = arg;
    Finsam__V1__CellUpdate *u = finsam__v1__cell_update__unpack(NULL, len, payload);
    CHECK(u && u->has_protected_ && u->protected_ && u->level);
    CHECK(!strncmp(topic, "agg.", 4));
    json_object_set_new(f->rows, key,
                        json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:b,s:b}", "level", u->level, "name", u->forbund,
                                  "period", u->period, "slice", u->slice, "n", (json_int_t) u->n, "units",
                                  (json_int_t) u->units, "suppressed", u->suppressed, "removed", u->removed));
    finsam__v1__cell_update__free_unpacked(u, NULL);
    f->n++;
    return 0;
}

static void test_feed_matches_api(void)
{
    s_setup();
    s_answers(0, 3, 5, 1, T_2026_03);
    s_answers(1, 20, 4, 1, T_2026_03);
    s_answers(2, 40, 3, 2, T_2026_03);
    s_answers(3, 12, 2, 2, T_2026_03);
    json_t *api = s_query("i1_behov", "2026", "all"); /* publishes */
    feed_t *feed = feed_new(s_ledger, s_cat, s_protect);
    s_feed_t f = {0, json_object()};
    CHECK(feed_update(feed, 1, s_collect, &f) == 0);
    CHECK(f.n > 0);
    /* Every row of the API equals the feed's row: same hidden rows, same
     * published n and units. */
    json_t *rows = json_object_get(json_array_get(json_object_get(api, "measures"), 0), "rows");
    size_t i, matched = 0;
    json_t *r;
    int mi = (int) (catalogue_measure(s_cat, "i1_behov") - s_cat->measures);
    uint32_t year;
    CHECK(cell_period_parse("2026", &year) == 0);
    json_array_foreach(rows, i, r) {
        const char *level = json_string_value(json_object_get(r, "level"));
        char key[FEED_ROW_KEY_MAX];
        snprintf(key, sizeof key, "%03d%d%s\x1f%08x%04x", mi,
                 !strcmp(level, "forbund") ? 0
                 : !strcmp(level, "lan")   ? 1
                                           : 2,
                 json_string_value(json_object_get(r, "name")), year, 0);
        json_t *fr = json_object_get(f.rows, key);
        CHECK(fr);
        if (!fr)
            continue;
        CHECK(json_is_true(json_object_get(fr, "suppressed")) ==
              json_is_true(json_object_get(r, "suppressed")));
        if (!json_is_true(json_object_get(r, "suppressed"))) {
            CHECK_EQ(json_integer_value(json_object_get(fr, "n")),
                     json_integer_value(json_object_get(r, "n")));
            CHECK_EQ(json_integer_value(json_object_get(fr, "units")),
                     json_integer_value(json_object_get(r, "units")));
        }
        matched++;
    }
    CHECK(matched >= 4);
    /* Nothing changed: nothing sent. */
    int before = f.n;
    CHECK(feed_update(feed, 2, s_collect, &f) == 0);
    CHECK_EQ(f.n, before);
    /* The snapshot in chunks of 7 holds every row once. */
    s_feed_t snap = {0, json_object()};
    char after[FEED_ROW_KEY_MAX] = "";
    bool done = false;
    int chunks = 0;
    while (!done) {
        int n0 = snap.n;
        CHECK(feed_snapshot(feed, 2, after, 7, s_collect, &snap, &done) == 0);
        CHECK(snap.n - n0 <= 7);
        const char *k;
        json_t *v;
        json_object_foreach(snap.rows, k, v)
            if (strcmp(k, after) > 0)
                snprintf(after, sizeof after, "%s", k);
        (void) v;
        chunks++;
    }
    CHECK_EQ(json_object_size(snap.rows), json_object_size(f.rows));
    CHECK_EQ(snap.n, (int) json_object_size(f.rows));
    CHECK(chunks > 1);
    /* Ten more people at HBS: only the rows they move are sent again. */
    s_answers(2, 10, 5, 2, T_2026_03);
    json_decref(s_query("i1_behov", "2026", "all")); /* publishes */
    before = f.n;
    CHECK(feed_update(feed, 3, s_collect, &f) == 0);
    CHECK(f.n > before && f.n - before < (int) json_object_size(f.rows) / 2);
    json_decref(snap.rows);
    json_decref(f.rows);
    json_decref(api);
    feed_destroy(&feed);
    s_teardown();
}

static void test_catalogue_is_data(void)
{
    size_t len;
    const char *text = catalogue_default_json(&len);
    char *copy = malloc(len + 512);
    memcpy(copy, text, len);
    copy[len] = '\0';
    /* A measure added in front of indicator 4's first. */
    char *at = strstr(copy, "{\"id\": \"i4_samordnare\"");
    CHECK(at);
    const char *extra = "{\"id\": \"i4_extra_behov\", \"aggregate\": \"ordinal\", \"source\": "
                        "{\"item\": \"d_behov\"}},\n       ";
    size_t off = (size_t) (at - copy);
    memmove(copy + off + strlen(extra), copy + off, len - off + 1);
    memcpy(copy + off, extra, strlen(extra));
    catalogue_t *cat;
    char err[256];
    CHECK(catalogue_parse(&cat, copy, strlen(copy), err, sizeof err) == 0);
    const cat_measure_t *m = catalogue_measure(cat, "i4_extra_behov");
    CHECK(m && m->indicator == 4 && m->aggregate == AGG_ORDINAL && m->scale);
    catalogue_destroy(&cat);
    /* A typo is an error naming the place, never a silently lost measure. */
    char *typo = strstr(copy, "\"aggregate\": \"ordinal\"");
    memcpy(typo + 14, "ordinax", 7);
    CHECK(catalogue_parse(&cat, copy, strlen(copy), err, sizeof err) < 0);
    CHECK(strstr(err, "unknown aggregate"));
    free(copy);
    /* The shipped catalogue covers all 15 core indicators. */
    CHECK(catalogue_load(&cat, NULL, err, sizeof err) == 0);
    for (int ind = 1; ind <= 15; ind++) {
        bool has = false;
        for (int i = 0; i < cat->nmeasures; i++)
            has |= cat->measures[i].indicator == ind;
        CHECK(has);
    }
    catalogue_destroy(&cat);
}

/* The interval audit models what a reader can derive; where the data
 * breaks a rule the model assumes, the published intervals contradict it
 * and the audit hides the whole table (interval.c). Two things real data
 * does that the model once got wrong: a person answering twice (n > units,
 * so a share's "no" answers are known only as n minus hits, off by up to
 * 3D) and a person recorded with two genders (then the gender cells' units
 * add up to more than the total's). With both, in three measures over
 * five months, and a small gender cell hidden so that the audit runs, the
 * large cells stay shown. */
static void test_audit_model_holds_for_repeats_and_two_genders(void)
{
    static const char *const items[][2] = {
        {"d_behov", "i1_behov"}, {"d_planering", "i1_planering"}, {"d_inflytande", "i2_inflytande"}};
    s_setup();
    uint32_t person[120];
    int value[120], gender[120];
    for (int it = 0; it < 3; it++)
        for (int month = 0; month < 5; month++)
            for (int f = 0; f < 3; f++) {
                int64_t when = T_2026_03 + (month - 2) * 31 * 86400;
                uint32_t base =
                    100000u * (uint32_t) (it + 1) + 10000u * (uint32_t) month + 1000u * (uint32_t) f;
                /* 80 women, 40 of them answering again (recorded as men
                 * then), and 3 of gender "other": hidden (below 5). */
                for (int i = 0; i < 83; i++) {
                    person[i] = base + (uint32_t) i;
                    value[i] = (i + month) % 3 ? 4 : 2;
                    gender[i] = i < 80 ? 1 : 3;
                }
                s_answers_of(f, items[it][0], person, value, gender, 83, when);
                for (int i = 0; i < 40; i++) {
                    person[i] = base + (uint32_t) i;
                    value[i] = (i + f) % 2 ? 5 : 1;
                    gender[i] = 2;
                }
                s_answers_of(f, items[it][0], person, value, gender, 40, when + 86400);
            }
    for (int it = 0; it < 3; it++) {
        json_t *r = s_query(items[it][1], "month", "gender=other");
        CHECK(s_suppressed(s_row(r, "forbund", "NV")));
        json_decref(r);
        r = s_query(items[it][1], "2026", "all");
        for (int f = 0; f < 3; f++)
            CHECK(!s_suppressed(s_row(r, "forbund", s_forbund[f])));
        CHECK(!s_suppressed(s_row(r, "lan", "Västmanland")));
        json_t *nation = s_row(r, "nation", "Riket");
        CHECK(!s_suppressed(nation));
        json_int_t n = json_integer_value(json_object_get(nation, "n"));
        CHECK(n >= 5 * 369 - 9 && n <= 5 * 369 + 9);
        s_check_no_single_hidden(r);
        json_decref(r);
    }
    s_teardown();
}

static const test_case_t s_cases[] = {
    {"catalogue is data", test_catalogue_is_data},
    {"primary and complementary", test_primary_and_complementary},
    {"complementary over time", test_complementary_over_time},
    {"change against previous period", test_change_against_previous_period},
    {"withheld share and exact view", test_withheld_share_and_exact_view},
    {"change year share", test_change_year_share},
    {"integrated minus project exact", test_integrated_minus_project_exact},
    {"comparisons never from hidden or withheld", test_comparisons_never_from_hidden_or_withheld},
    {"organisation not suppressed and bad args", test_organisation_not_suppressed_and_bad_args},
    {"measures without cells", test_measures_without_cells},
    {"feed matches api", test_feed_matches_api},
    {"audit model holds for repeats and two genders", test_audit_model_holds_for_repeats_and_two_genders},
};

int main(int argc, char **argv)
{
    CHECK(tz_stockholm_init() == 0);
    log_set_level("error");
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
