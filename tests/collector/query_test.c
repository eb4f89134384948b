/* query_test.c: disclosure control and roll-ups in collector/query.c, on a
 * real ledger filled through ingest: primary suppression below the minimum
 * (counts shown only as a range), complementary suppression across förbund
 * in a län and across the mode slice, organisation reports exempt, län and
 * national rows merged exactly, and change against the previous period. */
#include "events.h"
#include "testutil.h"

#include "aggregate.h"
#include "allowlist.h"
#include "cell.h"
#include "feed.h"
#include "ingest.h"
#include "keys.h"
#include "log.h"
#include "publish.h"
#include "query.h"

#include <czmq.h>
#include <sysexits.h>

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
    s_ingest = ingest_new(s_ledger, s_cat, s_agg);
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

/* `people` participants of förbund f answer d_behov = value in mode. */
static void s_answers(int f, int people, int value, int mode, int64_t when)
{
    uint8_t *ev[500];
    size_t lens[500], len;
    for (int i = 0; i < people; i++, s_next++)
        ev[i] = ev_survey(s_next, s_forbund[f], s_next, "deltagare_avslut", "d_behov", value, mode, when,
                          &lens[i]);
    uint8_t *b = ev_batch(s_next, ev, lens, (size_t) people, &len);
    ingest_item_t item = {0};
    snprintf(item.agent_key, sizeof item.agent_key, "%s", s_keys[f]);
    item.data = b;
    item.len = len;
    CHECK(ingest_prepare(s_ingest, &item, s_allow));
    CHECK(ingest_commit(s_ingest, &item, 1, NULL, NULL) == 0);
    CHECK_EQ(item.stored, people);
    ingest_item_clear(&item);
    free(b);
    for (int i = 0; i < people; i++)
        free(ev[i]);
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
    json_t *lan = s_row(r, "lan", "Västmanland");
    CHECK(lan && !s_suppressed(lan));
    /* Published counts carry the cell-key noise: within D = 2. */
    json_int_t lan_n = json_integer_value(json_object_get(lan, "n"));
    CHECK(lan_n >= 21 && lan_n <= 25);
    json_t *nation = s_row(r, "nation", "Riket");
    json_int_t nation_n = json_integer_value(json_object_get(nation, "n"));
    CHECK(nation_n >= 73 && nation_n <= 77);
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
    CHECK(!s_suppressed(s_row(r, "nation", "Riket")));
    s_check_no_single_hidden(r);
    json_decref(r);
    r = s_query("i1_behov", "2026", "all");
    CHECK(!s_suppressed(s_row(r, "forbund", "HBS")));
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
    CHECK(ingest_commit(s_ingest, &item, 1, NULL, NULL) == 0);
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
    CHECK(query_run(s_ledger, s_cat, &q, &out, err, sizeof err) == EX_USAGE &&
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
/* ---- the protected aggregate feed (collector/feed.c) ------------------ */

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

int main(void)
{
    CHECK(tz_stockholm_init() == 0);
    log_set_level("error");
    RUN(test_catalogue_is_data);
    RUN(test_primary_and_complementary);
    RUN(test_complementary_over_time);
    RUN(test_change_against_previous_period);
    RUN(test_withheld_share_and_exact_view);
    RUN(test_organisation_not_suppressed_and_bad_args);
    RUN(test_measures_without_cells);
    RUN(test_feed_matches_api);
    return tu_result();
}
