/* aggregate_test.c: count/aggregate.c through aggregate.h only, on real
 * ledgers: an event counted and then retracted leaves no cells, no
 * distributions and no participant records; retracting one event is the
 * same as never having counted it; the same events give the same cells
 * however they are grouped into transactions, replayed, or retried after
 * map growth; another secret gives other record keys and the same counts.
 * Events are built with tests/collector/events.h; each test ingests them
 * as collector/ingest.c does (append to the log, place by origin, add),
 * using only ledger.h and aggregate.h. */
#include "events.h"
#include "testutil.h"

#include "aggregate.h"
#include "cell.h"
#include "replay.h"
#include "secret.h"

#include <errno.h>
#include <string.h>

#define MAX_EVENTS 6000

static catalogue_t *s_cat;

typedef struct {
    uint8_t *bytes[MAX_EVENTS];
    size_t lens[MAX_EVENTS];
    int n;
} s_events_t;

static s_events_t *s_events_new(void)
{
    s_events_t *e = calloc(1, sizeof *e);
    CHECK(e);
    return e;
}

/* Frees the events and the set. */
static void s_events_destroy(s_events_t **e_p)
{
    for (int i = 0; i < (*e_p)->n; i++)
        free((*e_p)->bytes[i]);
    free(*e_p);
    *e_p = NULL;
}

/* Re-encodes an exit status with its day counts (a distribution each,
 * diststore.h); frees the input. */
static uint8_t *s_with_days(uint8_t *bytes, size_t *len, uint32_t in_insats, uint32_t to_next)
{
    Finsam__V1__Event *ev = finsam__v1__event__unpack(NULL, *len, bytes);
    free(bytes);
    CHECK(ev && ev->status);
    ev->status->has_days_in_insats = 1;
    ev->status->days_in_insats = in_insats;
    ev->status->has_days_to_next_service = to_next > 0;
    ev->status->days_to_next_service = to_next;
    uint8_t *out = codec_pack(&ev->base, len);
    finsam__v1__event__free_unpacked(ev, NULL);
    return out;
}

/* A mixed, deterministic set: survey answers of three instruments' d_behov
 * (ordinal scale), status observations forming entry -> exit -> follow-up
 * pairs with day counts, over five months, in both modes, with gender and age bands, in
 * two förbund. */
static void s_make_events(s_events_t *e, int people)
{
    uint32_t n = 1;
    uint64_t seed = 7;
    static const int occupations[] = {FINSAM__V1__OCCUPATION__OCC_JOB_SEEKING,
                                      FINSAM__V1__OCCUPATION__OCC_WORK, FINSAM__V1__OCCUPATION__OCC_STUDIES,
                                      FINSAM__V1__OCCUPATION__OCC_WORK_TRAINING};
    static const int incomes[] = {FINSAM__V1__INCOME__INC_SOCIAL_ASSISTANCE, FINSAM__V1__INCOME__INC_WAGE,
                                  FINSAM__V1__INCOME__INC_UNEMPLOYMENT,
                                  FINSAM__V1__INCOME__INC_NO_PUBLIC_SUPPORT};
    for (int p = 1; p <= people; p++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        int r = (int) (seed >> 33);
        const char *forbund = p % 3 ? "NV" : "HBS";
        int mode = 1 + p % 2;
        ev_gender = p % 4;    /* 0: not given */
        ev_age = (p / 4) % 5; /* 0: not given */
        int64_t base = T_2026_03 - 86400 * 30 * (r % 3);
        e->bytes[e->n] =
            ev_status(n++, forbund, (uint32_t) p, FINSAM__V1__PHASE__PHASE_ENTRY, occupations[r % 4],
                      incomes[(r >> 2) % 4], mode, base - 86400 * 40, &e->lens[e->n]);
        e->n++;
        e->bytes[e->n] = ev_survey(n++, forbund, (uint32_t) p, "deltagare_pagaende", "d_behov", 1 + r % 5,
                                   mode, base - 86400 * 20, &e->lens[e->n]);
        e->n++;
        if (p % 5 != 0) { /* most finish */
            e->bytes[e->n] =
                ev_status(n++, forbund, (uint32_t) p, FINSAM__V1__PHASE__PHASE_EXIT,
                          occupations[(r >> 4) % 4], incomes[(r >> 6) % 4], mode, base, &e->lens[e->n]);
            e->bytes[e->n] = s_with_days(e->bytes[e->n], &e->lens[e->n], 20 + (uint32_t) r % 300,
                                         (uint32_t) (r >> 3) % 40);
            e->n++;
            e->bytes[e->n] = ev_survey(n++, forbund, (uint32_t) p, "deltagare_avslut", "d_behov",
                                       1 + (r >> 8) % 5, mode, base + 86400, &e->lens[e->n]);
            e->n++;
        }
        if (p % 7 == 0) {
            e->bytes[e->n] = ev_status(n++, forbund, (uint32_t) p, FINSAM__V1__PHASE__PHASE_FOLLOWUP_6,
                                       occupations[(r >> 10) % 4], incomes[(r >> 12) % 4], mode,
                                       base + 86400 * 45, &e->lens[e->n]);
            e->n++;
        }
        CHECK(e->n < MAX_EVENTS - 8);
    }
    ev_gender = ev_age = 0;
    for (int i = 0; i < e->n; i++)
        CHECK(e->bytes[i]);
}

typedef struct {
    ledger_t *ledger;
    aggregate_t *agg;
    char dir[512];
} s_store_t;

static void s_open(s_store_t *s, const uint8_t secret[SECRET_LEN])
{
    char err[256];
    snprintf(s->dir, sizeof s->dir, "%s", tu_tempdir());
    int rc = ledger_open(&s->ledger, s->dir, false, err, sizeof err);
    if (rc)
        fprintf(stderr, "ledger_open: %s\n", err);
    CHECK_EQ(rc, 0);
    s->agg = aggregate_new(s_cat, secret);
    CHECK(s->agg);
}

static void s_close(s_store_t *s)
{
    aggregate_destroy(&s->agg);
    CHECK(s->agg == NULL);
    ledger_close(&s->ledger);
}

/* Events [from, to) of e, counted (+1) in one transaction as ingest does,
 * or subtracted (-1: each found in the log by id, retracted). */
typedef struct {
    s_store_t *s;
    const s_events_t *e;
    int from, to, sign;
    int fail_with; /* nonzero: abort after the work */
    int runs;
    int changed;
} s_apply_t;

static void s_on_changed(const uint8_t *key, size_t keylen, const void *state, size_t statelen, void *arg)
{
    (void) key;
    (void) state;
    CHECK_EQ(keylen, CELL_KEY_LEN);
    CHECK_EQ(statelen, sizeof(cell_t));
    ((s_apply_t *) arg)->changed++;
}

/* The ledger's part, as ingest does it: the event logged, or its
 * retraction marked. */
static int s_log_one(s_apply_t *a, ledger_txn_t *lt, int i)
{
    event_msg_t *ev = NULL;
    char why[128];
    CHECK_EQ(codec_decode_event(a->e->bytes[i], a->e->lens[i], &ev, why, sizeof why), 0);
    uint64_t seq;
    int rc;
    if (a->sign > 0) {
        rc = ledger_append(lt, ev->forbund, ev->id.data, a->e->bytes[i], a->e->lens[i], 1, &seq);
    } else {
        rc = ledger_find(lt->txn, lt->ledger, ev->forbund, ev->id.data, &seq);
        CHECK_EQ(rc, 0);
        CHECK(!ledger_is_retracted(lt->txn, lt->ledger, seq));
        rc = ledger_mark_retracted(lt->txn, lt->ledger, seq, seq);
    }
    codec_free_event(&ev);
    return rc;
}

/* The cells' part, as the aggregator does it (lt->txn: the log's snapshot). */
static int s_apply_one(s_apply_t *a, ledger_txn_t *lt, int i)
{
    event_msg_t *ev = NULL;
    char why[128];
    CHECK_EQ(codec_decode_event(a->e->bytes[i], a->e->lens[i], &ev, why, sizeof why), 0);
    int rc;
    if (a->sign > 0) {
        uint64_t seq, order;
        rc = ledger_find(lt->txn, lt->ledger, ev->forbund, ev->id.data, &seq);
        if (rc == 0)
            rc = aggregate_origin(lt->txn, lt->ledger, ev, seq, &order);
        if (rc == 0)
            rc = aggregate_event(a->s->agg, lt, ev, order, +1);
    } else {
        rc = aggregate_event(a->s->agg, lt, ev, 0, -1);
    }
    codec_free_event(&ev);
    return rc;
}

static int s_log_body(ledger_txn_t *lt, void *arg)
{
    s_apply_t *a = arg;
    int rc = 0;
    int step = a->from <= a->to ? 1 : -1; /* backwards: from > to */
    for (int i = a->from; i != a->to && rc == 0; i += step)
        rc = s_log_one(a, lt, i);
    return rc;
}

static int s_apply_body(ledger_txn_t *lt, void *arg)
{
    s_apply_t *a = arg;
    a->runs++;
    a->changed = 0;
    aggregate_begin(a->s->agg);
    int rc = 0;
    int step = a->from <= a->to ? 1 : -1; /* backwards: from > to */
    for (int i = a->from; i != a->to && rc == 0; i += step)
        rc = s_apply_one(a, lt, i);
    if (rc == 0)
        rc = aggregate_flush(a->s->agg, lt, s_on_changed, a);
    return rc ? rc : a->fail_with;
}

static int s_apply(s_store_t *s, const s_events_t *e, int from, int to, int sign, int *changed)
{
    s_apply_t a = {s, e, from, to, sign, 0, 0, 0};
    int rc = ledger_write(s->ledger, s_log_body, &a);
    if (rc == 0)
        rc = ledger_cells_write(s->ledger, s_apply_body, &a);
    if (changed)
        *changed = a.changed;
    return rc;
}

static store_t *s_env_of(s_store_t *s, ledger_db_t db)
{
    return db >= LEDGER_DB_MAIN_COUNT ? ledger_cells_store(s->ledger) : ledger_store(s->ledger);
}

/* Entries of a database of the ledger, as "key=value" byte strings in key
 * order, in one malloc'd buffer; *count entries. */
typedef struct {
    size_t count, bytes;
    uint8_t *data;
} s_dump_t;

static s_dump_t s_dump(s_store_t *s, ledger_db_t db, bool without_keys)
{
    s_dump_t d = {0, 0, NULL};
    MDB_txn *txn;
    CHECK_EQ(store_read(s_env_of(s, db), &txn), 0);
    MDB_cursor *cur;
    CHECK_EQ(mdb_cursor_open(txn, ledger_dbi(s->ledger, db), &cur), 0);
    MDB_val k, v;
    size_t cap = 0;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        size_t need = d.bytes + 16 + k.mv_size + v.mv_size;
        if (need > cap) {
            cap = need * 2;
            d.data = realloc(d.data, cap);
            CHECK(d.data);
        }
        uint8_t *p = d.data + d.bytes;
        memcpy(p, &k.mv_size, 8);
        memcpy(p + 8, &v.mv_size, 8);
        memcpy(p + 16, k.mv_data, k.mv_size);
        uint8_t *val = p + 16 + k.mv_size;
        memcpy(val, v.mv_data, v.mv_size);
        if (without_keys && db == LEDGER_DB_CELLS) {
            CHECK_EQ(v.mv_size, sizeof(cell_t));
            cell_t c;
            memcpy(&c, val, sizeof c);
            c.ckey = c.okey = 0;
            memcpy(val, &c, sizeof c);
        }
        d.bytes = need;
        d.count++;
    }
    mdb_cursor_close(cur);
    store_read_end(s_env_of(s, db), txn);
    return d;
}

static bool s_same_db(s_store_t *a, s_store_t *b, ledger_db_t db, bool without_keys)
{
    s_dump_t x = s_dump(a, db, without_keys), y = s_dump(b, db, without_keys);
    bool same =
        x.count == y.count && x.bytes == y.bytes && (x.bytes == 0 || !memcmp(x.data, y.data, x.bytes));
    if (!same)
        fprintf(stderr, "database %d differs: %zu entries (%zu bytes) vs %zu (%zu)\n", (int) db, x.count,
                x.bytes, y.count, y.bytes);
    free(x.data);
    free(y.data);
    return same;
}

static size_t s_entries(s_store_t *s, ledger_db_t db)
{
    MDB_txn *txn;
    CHECK_EQ(store_read(s_env_of(s, db), &txn), 0);
    MDB_stat st;
    CHECK_EQ(mdb_stat(txn, ledger_dbi(s->ledger, db), &st), 0);
    store_read_end(s_env_of(s, db), txn);
    return st.ms_entries;
}

static bool s_cell(s_store_t *s, const char *measure, const char *forbund, uint32_t period, uint16_t slice,
                   cell_t *out)
{
    cell_key_t ck = {0};
    snprintf(ck.measure, sizeof ck.measure, "%s", measure);
    snprintf(ck.forbund, sizeof ck.forbund, "%s", forbund);
    ck.period = period;
    ck.slice = slice;
    uint8_t key[CELL_KEY_LEN];
    cell_key_encode(key, &ck);
    MDB_txn *txn;
    CHECK_EQ(store_read(ledger_cells_store(s->ledger), &txn), 0);
    MDB_val k = {CELL_KEY_LEN, key}, v;
    bool found = mdb_get(txn, ledger_dbi(s->ledger, LEDGER_DB_CELLS), &k, &v) == 0;
    memset(out, 0, sizeof *out);
    if (found)
        memcpy(out, v.mv_data, sizeof *out);
    store_read_end(ledger_cells_store(s->ledger), txn);
    return found;
}

static const uint8_t s_secret1[SECRET_LEN] = "first secret, thirty-two bytes!";
static const uint8_t s_secret2[SECRET_LEN] = "other secret, thirty-two bytes!";

/* Three answers 5, 4, 3 in March: the month, its quarter and its year,
 * all and per mode. */
static void test_counts(void)
{
    const cat_measure_t *m = catalogue_measure(s_cat, "i1_behov"); /* d_behov, both instruments */
    CHECK(m);
    CHECK(m->aggregate == AGG_ORDINAL && !strcmp(m->item, "d_behov"));
    s_events_t *e = s_events_new();
    e->bytes[0] = ev_survey(1, "NV", 1, "deltagare_avslut", "d_behov", 5, 1, T_2026_03, &e->lens[0]);
    e->bytes[1] = ev_survey(2, "NV", 2, "deltagare_avslut", "d_behov", 4, 1, T_2026_03, &e->lens[1]);
    e->bytes[2] = ev_survey(3, "NV", 3, "deltagare_avslut", "d_behov", 3, 2, T_2026_03, &e->lens[2]);
    e->n = 3;
    s_store_t s;
    s_open(&s, s_secret1);
    int changed = 0;
    CHECK_EQ(s_apply(&s, e, 0, 3, +1, &changed), 0);
    CHECK_EQ(changed, (int) s_entries(&s, LEDGER_DB_CELLS)); /* all new */
    const uint32_t periods[] = {cell_period(PERIOD_MONTH, 2026, 3), cell_period(PERIOD_QUARTER, 2026, 1),
                                cell_period(PERIOD_YEAR, 2026, 0)};
    for (size_t i = 0; i < TU_NELEMS(periods); i++) {
        cell_t c;
        CHECK(s_cell(&s, m->id, "NV", periods[i], 0, &c));
        CHECK_EQ(c.n, 3);
        CHECK_EQ(c.sum, 12);
        CHECK_EQ(c.sumsq, 50);
        CHECK_EQ(c.units, 3);
        CHECK_EQ(c.hist[5], 1);
        CHECK_EQ(c.hist[4], 1);
        CHECK_EQ(c.hist[3], 1);
        CHECK(s_cell(&s, m->id, "NV", periods[i], cell_slice(SLICE_MODE, 1), &c));
        CHECK_EQ(c.n, 2);
        CHECK_EQ(c.sum, 9);
        CHECK(s_cell(&s, m->id, "NV", periods[i], cell_slice(SLICE_MODE, 2), &c));
        CHECK_EQ(c.n, 1);
        CHECK_EQ(c.sum, 3);
    }
    cell_t c;
    CHECK(!s_cell(&s, m->id, "HBS", periods[0], 0, &c));
    CHECK(!s_cell(&s, m->id, "NV", cell_period(PERIOD_MONTH, 2026, 4), 0, &c));
    s_close(&s);
    s_events_destroy(&e);
}

/* One event in, the same event out: nothing is left. (An entry status
 * alone makes no cell: its pair is not complete.) */
static void test_retracted_event_leaves_no_cells(void)
{
    s_events_t *e = s_events_new();
    s_make_events(e, 60);
    int made = 0;
    for (int i = 0; i < 12; i++) {
        s_store_t s;
        s_open(&s, s_secret1);
        CHECK_EQ(s_apply(&s, e, i, i + 1, +1, NULL), 0);
        made += s_entries(&s, LEDGER_DB_CELLS) > 0;
        CHECK_EQ(s_apply(&s, e, i, i + 1, -1, NULL), 0);
        CHECK_EQ(s_entries(&s, LEDGER_DB_CELLS), 0);
        CHECK_EQ(s_entries(&s, LEDGER_DB_DISTS), 0);
        CHECK_EQ(s_entries(&s, LEDGER_DB_PARTICIPANTS), 0);
        s_close(&s);
    }
    CHECK(made >= 6);
    s_events_destroy(&e);
}

/* Everything in, everything out in reverse order and in another
 * transaction grouping: no cells, distributions or participant records. */
static void test_all_retracted_leaves_nothing(void)
{
    s_events_t *e = s_events_new();
    s_make_events(e, 200);
    s_store_t s;
    s_open(&s, s_secret1);
    CHECK_EQ(s_apply(&s, e, 0, e->n, +1, NULL), 0);
    fprintf(stderr, "%d events: %zu cells, %zu distributions, %zu participant records\n", e->n,
            s_entries(&s, LEDGER_DB_CELLS), s_entries(&s, LEDGER_DB_DISTS),
            s_entries(&s, LEDGER_DB_PARTICIPANTS));
    CHECK(s_entries(&s, LEDGER_DB_CELLS) > 100);
    CHECK(s_entries(&s, LEDGER_DB_PARTICIPANTS) > 0);
    for (int i = e->n; i > 0; i -= 37) {
        int from = i - 1, to = i - 38 < -1 ? -1 : i - 38; /* backwards, 37 at a time */
        CHECK_EQ(s_apply(&s, e, from, to, -1, NULL), 0);
    }
    CHECK_EQ(s_entries(&s, LEDGER_DB_CELLS), 0);
    CHECK_EQ(s_entries(&s, LEDGER_DB_DISTS), 0);
    CHECK_EQ(s_entries(&s, LEDGER_DB_PARTICIPANTS), 0);
    s_close(&s);
    s_events_destroy(&e);
}

/* Counting all and retracting a few is counting only the others. */
static void test_retraction_is_never_counted(void)
{
    s_events_t *e = s_events_new();
    s_make_events(e, 80);
    /* Every ninth event, of every kind: answers, and entries and exits
     * that dissolve a pair or shift a person's episodes. */
    s_events_t *keep = s_events_new(), *gone = s_events_new(); /* borrowing e's events */
    for (int i = 0; i < e->n; i++) {
        bool drop = i % 9 == 4;
        s_events_t *to = drop ? gone : keep;
        to->bytes[to->n] = e->bytes[i];
        to->lens[to->n++] = e->lens[i];
    }
    CHECK(gone->n > 3);
    s_store_t all, only;
    s_open(&all, s_secret1);
    s_open(&only, s_secret1);
    CHECK_EQ(s_apply(&all, e, 0, e->n, +1, NULL), 0);
    CHECK_EQ(s_apply(&all, gone, 0, gone->n, -1, NULL), 0);
    CHECK_EQ(s_apply(&only, keep, 0, keep->n, +1, NULL), 0);
    CHECK(s_same_db(&all, &only, LEDGER_DB_CELLS, false));
    CHECK(s_same_db(&all, &only, LEDGER_DB_DISTS, false));
    s_close(&all);
    s_close(&only);
    free(keep);
    free(gone);
    s_events_destroy(&e);
}

/* The same events, one transaction each or all in one, and replayed from
 * the log into a scratch ledger: the same cells and distributions. */
static void test_same_events_same_cells(void)
{
    s_events_t *e = s_events_new();
    s_make_events(e, 100);
    s_store_t one, each;
    s_open(&one, s_secret1);
    s_open(&each, s_secret1);
    CHECK_EQ(s_apply(&one, e, 0, e->n, +1, NULL), 0);
    for (int i = 0; i < e->n; i++)
        CHECK_EQ(s_apply(&each, e, i, i + 1, +1, NULL), 0);
    CHECK(s_same_db(&one, &each, LEDGER_DB_CELLS, false));
    CHECK(s_same_db(&one, &each, LEDGER_DB_DISTS, false));
    CHECK(s_same_db(&one, &each, LEDGER_DB_PARTICIPANTS, false));

    /* Replayed (replay.h: the log through aggregate_event). */
    s_store_t re;
    char err[256];
    snprintf(re.dir, sizeof re.dir, "%s", tu_tempdir());
    CHECK_EQ(ledger_open_scratch(&re.ledger, re.dir, err, sizeof err), 0);
    re.agg = aggregate_new(s_cat, s_secret1);
    MDB_txn *snap;
    CHECK_EQ(store_read(ledger_store(one.ledger), &snap), 0);
    replay_t r = {.source = one.ledger,
                  .snap = snap,
                  .aggregate = re.agg,
                  .from_seq = 1,
                  .end_seq = ledger_next_seq(one.ledger),
                  .approvals = true};
    uint64_t events = 0;
    CHECK_EQ(replay_run(&r, re.ledger, &events), 0);
    store_read_end(ledger_store(one.ledger), snap);
    CHECK_EQ(events, (uint64_t) e->n);
    CHECK(s_same_db(&one, &re, LEDGER_DB_CELLS, false));
    CHECK(s_same_db(&one, &re, LEDGER_DB_DISTS, false));
    s_close(&re);
    s_close(&one);
    s_close(&each);
    s_events_destroy(&e);
}

/* A body run again after map growth (and one aborted before) counts once:
 * aggregate_begin drops the deltas of the attempt before. */
static void test_retry_counts_once(void)
{
    s_events_t *e = s_events_new();
    s_make_events(e, 1000);
    s_store_t plain;
    s_open(&plain, s_secret1);
    CHECK_EQ(s_apply(&plain, e, 0, e->n, +1, NULL), 0);

    setenv("FINSAM_STORE_INITIAL_MAP_MB", "1", 1);
    s_store_t small;
    s_open(&small, s_secret1);
    s_apply_t a = {&small, e, 0, e->n, +1, 0, 0, 0};
    CHECK_EQ(ledger_write(small.ledger, s_log_body, &a), 0);
    s_apply_t aborted = {&small, e, 0, 10, +1, EPROTO, 0, 0};
    CHECK_EQ(ledger_cells_write(small.ledger, s_apply_body, &aborted), EPROTO);
    CHECK_EQ(s_entries(&small, LEDGER_DB_CELLS), 0);
    /* Many small cells per event: the first transaction outgrows 1 MiB. */
    CHECK_EQ(ledger_cells_write(small.ledger, s_apply_body, &a), 0);
    fprintf(stderr, "body ran %d times, map grown %u times\n", a.runs,
            store_grow_count(ledger_cells_store(small.ledger)));
    CHECK_EQ(a.runs, (int) store_grow_count(ledger_cells_store(small.ledger)) + 1);
    CHECK(s_same_db(&plain, &small, LEDGER_DB_CELLS, false));
    CHECK(s_same_db(&plain, &small, LEDGER_DB_DISTS, false));
    s_close(&plain);
    s_close(&small);
    unsetenv("FINSAM_STORE_INITIAL_MAP_MB");
    s_events_destroy(&e);
}

/* Another secret: the same cells with the same counts, other keys. */
static void test_secret_changes_keys_not_counts(void)
{
    CHECK(secret_record_key(s_secret1, "person", 6) != secret_record_key(s_secret2, "person", 6));
    CHECK_EQ(secret_record_key(s_secret1, "person", 6), secret_record_key(s_secret1, "person", 6));
    s_events_t *e = s_events_new();
    s_make_events(e, 60);
    s_store_t a, b;
    s_open(&a, s_secret1);
    s_open(&b, s_secret2);
    CHECK_EQ(s_apply(&a, e, 0, e->n, +1, NULL), 0);
    CHECK_EQ(s_apply(&b, e, 0, e->n, +1, NULL), 0);
    CHECK(s_same_db(&a, &b, LEDGER_DB_CELLS, true)); /* counts equal */
    CHECK(s_same_db(&a, &b, LEDGER_DB_DISTS, false));
    CHECK(!s_same_db(&a, &b, LEDGER_DB_CELLS, false)); /* keys differ */
    /* Cell by cell: most keys differ (equal only by chance, 1 in 2^32). */
    s_dump_t x = s_dump(&a, LEDGER_DB_CELLS, false), y = s_dump(&b, LEDGER_DB_CELLS, false);
    CHECK_EQ(x.count, y.count);
    size_t differ = 0, cells = 0;
    for (size_t off = 0; off < x.bytes; cells++) {
        size_t klen, vlen;
        memcpy(&klen, x.data + off, 8);
        memcpy(&vlen, x.data + off + 8, 8);
        cell_t cx, cy;
        memcpy(&cx, x.data + off + 16 + klen, sizeof cx);
        memcpy(&cy, y.data + off + 16 + klen, sizeof cy);
        CHECK(!memcmp(x.data + off + 16, y.data + off + 16, klen)); /* same cell */
        CHECK_EQ(cx.n, cy.n);
        CHECK_EQ(cx.units, cy.units);
        if (cx.units > 0 && cx.ckey != cy.ckey)
            differ++;
        off += 16 + klen + vlen;
    }
    fprintf(stderr, "%zu of %zu cells have other cell keys\n", differ, cells);
    CHECK(differ > cells / 2);
    free(x.data);
    free(y.data);
    s_close(&a);
    s_close(&b);
    s_events_destroy(&e);
}

static const test_case_t s_cases[] = {
    {"counts of three answers", test_counts},
    {"a counted then retracted event leaves no cells", test_retracted_event_leaves_no_cells},
    {"all retracted leaves nothing", test_all_retracted_leaves_nothing},
    {"retracting is never having counted", test_retraction_is_never_counted},
    {"the same events give the same cells", test_same_events_same_cells},
    {"a retried body counts once", test_retry_counts_once},
    {"another secret: other keys, same counts", test_secret_changes_keys_not_counts},
};

int main(int argc, char **argv)
{
    CHECK(tz_stockholm_init() == 0);
    char err[256];
    CHECK(catalogue_load(&s_cat, NULL, err, sizeof err) == 0); /* plain data: shared by the forks */
    int rc = test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
    catalogue_destroy(&s_cat);
    return rc;
}
