/* feed_test.c: report/feed.c through feed.h — the protected aggregate
 * feed: its rows are query's published rows (hidden ones carry no
 * numbers), a row whose protected content did not change is not sent
 * again, a row that disappears is sent once as removed, and the snapshot
 * resumes after a row key without touching what updates remember. A real
 * ledger filled through ingest (fixture.h). tests/report/query_test.c
 * compares one measure's rows with the API as well. */
#include "fixture.h"

#include "feed.h"

#include <string.h>

/* What a send callback received: row key -> the decoded row. */
typedef struct {
    int n;
    json_t *rows;
    json_t *order;  /* row keys in the order sent */
    uint64_t seq;   /* every message's seq must be this */
    int stop_after; /* >0: return 7 on that message */
} s_got_t;

static void s_got(s_got_t *g, uint64_t seq)
{
    memset(g, 0, sizeof *g);
    g->rows = json_object();
    g->order = json_array();
    g->seq = seq;
}

static void s_drop(s_got_t *g)
{
    json_decref(g->rows);
    json_decref(g->order);
}

static int s_send(const char *topic, const uint8_t *payload, size_t len, const char *key, void *arg)
{
    s_got_t *g = arg;
    Finsam__V1__CellUpdate *u = finsam__v1__cell_update__unpack(NULL, len, payload);
    CHECK(u && u->has_protected_ && u->protected_);
    CHECK_EQ(u->seq, g->seq);
    char want[256];
    snprintf(want, sizeof want, "agg.%s.%s.%s", u->measure, u->forbund, u->period);
    CHECK(!strcmp(topic, want));
    CHECK(strlen(key) < FEED_ROW_KEY_MAX);
    json_object_set_new(g->rows, key,
                        json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:I,s:b,s:I,s:b,s:b,s:i}", "measure", u->measure,
                                  "level", u->level, "name", u->forbund, "period", u->period, "slice",
                                  u->slice, "has_n", u->has_n, "n", (json_int_t) u->n, "has_units",
                                  u->has_units, "units", (json_int_t) u->units, "suppressed", u->suppressed,
                                  "removed", u->removed, "min_units", (int) u->min_units));
    json_array_append_new(g->order, json_string(key));
    finsam__v1__cell_update__free_unpacked(u, NULL);
    g->n++;
    return g->stop_after && g->n == g->stop_after ? 7 : 0;
}

/* NV 3 people (hidden), VAS 20, HBS 40, OO 12, all on d_behov; returns
 * VAS's first event number. */
static uint32_t s_fill(fx_t *fx)
{
    fx_answers(fx, 0, 3, "d_behov", 5, 1, T_2026_03);
    uint32_t vas = fx_answers(fx, 1, 20, "d_behov", 4, 1, T_2026_03);
    fx_answers(fx, 2, 40, "d_behov", 3, 2, T_2026_03);
    fx_answers(fx, 3, 12, "d_behov", 2, 2, T_2026_03);
    return vas;
}

typedef struct {
    json_t *rows; /* "measure|level|name|period|slice" -> query_cell */
} s_walk_t;

static int s_walk(const query_cell_t *c, void *arg)
{
    s_walk_t *w = arg;
    char key[256], period[16], slice[32];
    cell_period_format(period, sizeof period, c->period);
    cell_slice_format(slice, sizeof slice, c->slice);
    snprintf(key, sizeof key, "%s|%s|%s|%s|%s", c->measure->id, c->level, c->name, period, slice);
    json_object_set_new(w->rows, key,
                        json_pack("{s:b,s:I,s:I}", "suppressed", c->suppressed, "n",
                                  (json_int_t) c->published.n, "units", (json_int_t) c->published.units));
    return 0;
}

static void test_rows_are_the_published_rows(void)
{
    fx_t fx;
    fx_open(&fx);
    s_fill(&fx);
    uint64_t seq = fx_publish(&fx);
    feed_t *feed = feed_new(fx.ledger, fx.cat, fx.protect);
    CHECK(feed);
    s_got_t g;
    s_got(&g, seq);
    CHECK(feed_update(feed, seq, s_send, &g) == 0);
    /* One message per row the first time, never a row twice. */
    CHECK(g.n > 0);
    CHECK_EQ(g.n, json_object_size(g.rows));

    /* Every row of the publication, as query.c protects it. */
    s_walk_t w = {json_object()};
    CHECK(query_each_published(fx.ledger, fx.cat, fx.protect, s_walk, &w) == 0);
    CHECK_EQ(json_object_size(w.rows), g.n);
    const char *key;
    json_t *row;
    int hidden = 0;
    json_object_foreach(g.rows, key, row) {
        char k[256];
        snprintf(k, sizeof k, "%s|%s|%s|%s|%s", json_string_value(json_object_get(row, "measure")),
                 json_string_value(json_object_get(row, "level")),
                 json_string_value(json_object_get(row, "name")),
                 json_string_value(json_object_get(row, "period")),
                 json_string_value(json_object_get(row, "slice")));
        json_t *q = json_object_get(w.rows, k);
        CHECK(q);
        CHECK(json_is_false(json_object_get(row, "removed")));
        CHECK_EQ(json_integer_value(json_object_get(row, "min_units")), 5);
        CHECK(json_is_true(json_object_get(row, "suppressed")) ==
              json_is_true(json_object_get(q, "suppressed")));
        if (json_is_true(json_object_get(q, "suppressed"))) {
            /* A hidden row says nothing of its size. */
            CHECK(json_is_false(json_object_get(row, "has_n")) &&
                  json_is_false(json_object_get(row, "has_units")));
            hidden++;
        } else {
            CHECK(json_equal(json_object_get(row, "n"), json_object_get(q, "n")));
            CHECK(json_equal(json_object_get(row, "units"), json_object_get(q, "units")));
        }
    }
    CHECK(hidden >= 1); /* NV's three */
    json_decref(w.rows);
    s_drop(&g);
    feed_destroy(&feed);
    fx_close(&fx);
}

static void test_unchanged_rows_not_sent_again(void)
{
    fx_t fx;
    fx_open(&fx);
    s_fill(&fx);
    uint64_t seq = fx_publish(&fx);
    feed_t *feed = feed_new(fx.ledger, fx.cat, fx.protect);
    s_got_t first, again;
    s_got(&first, seq);
    CHECK(feed_update(feed, seq, s_send, &first) == 0);
    /* A new publication position with nothing new: nothing to send. */
    s_got(&again, seq + 1);
    CHECK(feed_update(feed, seq + 1, s_send, &again) == 0);
    CHECK_EQ(again.n, 0);
    s_drop(&again);

    /* Other people at OO (Östergötland): OO's rows are sent again; NV's
     * (hidden by its own count, in another län) are not. Rows of other
     * län may move too when the audit redraws the nation's pattern, so
     * only these are pinned down. */
    fx_answers(&fx, 3, 10, "d_behov", 4, 2, T_2026_03);
    seq = fx_publish(&fx);
    s_got(&again, seq);
    CHECK(feed_update(feed, seq, s_send, &again) == 0);
    CHECK(again.n > 0 && again.n < first.n);
    const char *key;
    json_t *row;
    int oo = 0;
    json_object_foreach(again.rows, key, row) {
        const char *name = json_string_value(json_object_get(row, "name"));
        CHECK(strcmp(name, "NV"));
        oo += !strcmp(name, "OO");
    }
    CHECK(oo > 0);
    s_drop(&again);
    s_drop(&first);
    feed_destroy(&feed);
    fx_close(&fx);
}

static void test_removed_row_sent_once(void)
{
    fx_t fx;
    fx_open(&fx);
    uint32_t vas = s_fill(&fx);
    uint64_t seq = fx_publish(&fx);
    feed_t *feed = feed_new(fx.ledger, fx.cat, fx.protect);
    s_got_t g;
    s_got(&g, seq);
    CHECK(feed_update(feed, seq, s_send, &g) == 0);
    int vas_rows = 0;
    const char *key;
    json_t *row;
    json_object_foreach(g.rows, key, row)
        vas_rows += !strcmp(json_string_value(json_object_get(row, "name")), "VAS");
    CHECK(vas_rows > 0);
    s_drop(&g);

    /* VAS retracts every event: its rows are gone from the publication. */
    fx_retract(&fx, 1, vas, 20);
    seq = fx_publish(&fx);
    s_got(&g, seq);
    CHECK(feed_update(feed, seq, s_send, &g) == 0);
    int removed = 0;
    json_object_foreach(g.rows, key, row) {
        if (strcmp(json_string_value(json_object_get(row, "name")), "VAS"))
            continue;
        CHECK(json_is_true(json_object_get(row, "removed")));
        CHECK(json_is_false(json_object_get(row, "has_n")));
        removed++;
    }
    CHECK_EQ(removed, vas_rows);
    s_drop(&g);
    /* Said once: the next update is silent about them. */
    s_got(&g, seq + 1);
    CHECK(feed_update(feed, seq + 1, s_send, &g) == 0);
    CHECK_EQ(g.n, 0);
    s_drop(&g);
    feed_destroy(&feed);
    fx_close(&fx);
}

static void test_snapshot_resumes_after_key(void)
{
    fx_t fx;
    fx_open(&fx);
    s_fill(&fx);
    uint64_t seq = fx_publish(&fx);
    feed_t *feed = feed_new(fx.ledger, fx.cat, fx.protect);
    s_got_t all;
    s_got(&all, seq);
    bool done = false;
    CHECK(feed_snapshot(feed, seq, "", 100000, s_send, &all, &done) == 0);
    CHECK(done);
    CHECK(all.n > 10);
    /* Keys come in increasing order: a chunk can resume after the last. */
    for (size_t i = 1; i < json_array_size(all.order); i++)
        CHECK(strcmp(json_string_value(json_array_get(all.order, i - 1)),
                     json_string_value(json_array_get(all.order, i))) < 0);
    /* Resume after the 5th row: exactly the rest, limit 3 at a time. */
    char after[FEED_ROW_KEY_MAX];
    snprintf(after, sizeof after, "%s", json_string_value(json_array_get(all.order, 4)));
    s_got_t part;
    s_got(&part, seq);
    done = false;
    int chunks = 0;
    while (!done) {
        int before = part.n;
        CHECK(feed_snapshot(feed, seq, after, 3, s_send, &part, &done) == 0);
        CHECK(part.n - before <= 3);
        CHECK(done || part.n - before == 3);
        if (part.n > before)
            snprintf(after, sizeof after, "%s", json_string_value(json_array_get(part.order, part.n - 1)));
        chunks++;
    }
    CHECK_EQ(part.n, all.n - 5);
    for (int i = 0; i < part.n; i++)
        CHECK(json_equal(json_array_get(part.order, i), json_array_get(all.order, i + 5)));
    CHECK(chunks >= (all.n - 5) / 3);
    /* A snapshot is not an update: the first update still sends every row. */
    s_got_t g;
    s_got(&g, seq);
    CHECK(feed_update(feed, seq, s_send, &g) == 0);
    CHECK_EQ(g.n, all.n);
    s_drop(&g);
    s_drop(&part);
    s_drop(&all);
    feed_destroy(&feed);
    fx_close(&fx);
}

static void test_send_stop_returned(void)
{
    fx_t fx;
    fx_open(&fx);
    s_fill(&fx);
    uint64_t seq = fx_publish(&fx);
    feed_t *feed = feed_new(fx.ledger, fx.cat, fx.protect);
    s_got_t g;
    s_got(&g, seq);
    g.stop_after = 2;
    CHECK_EQ(feed_update(feed, seq, s_send, &g), 7);
    CHECK_EQ(g.n, 2); /* the walk stopped there */
    s_drop(&g);
    feed_destroy(&feed);
    fx_close(&fx);
}

static const test_case_t s_cases[] = {
    {"rows are the published rows", test_rows_are_the_published_rows},
    {"unchanged rows not sent again", test_unchanged_rows_not_sent_again},
    {"removed row sent once", test_removed_row_sent_once},
    {"snapshot resumes after key", test_snapshot_resumes_after_key},
    {"send stop returned", test_send_stop_returned},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
