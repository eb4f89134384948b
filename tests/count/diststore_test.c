/* diststore_test.c: count/diststore.c on a real LMDB store: the entry
 * layout (cell key + be32 day -> be64 count), changes gathered and written
 * once, a count that reaches zero leaves no entry, one below zero is
 * refused, quarters and years summed from their months, publication
 * copying exactly the live distribution, and drop. */
#include "testutil.h"

#include "diststore.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <string.h>

static const store_db_t s_dbs[] = {{"dists", 0}, {"pub", 0}};
enum { DISTS, PUB };

static store_t *s_store;

static void s_key(uint8_t out[CELL_KEY_LEN], const char *forbund, uint32_t period, uint16_t slice)
{
    cell_key_t k = {0};
    snprintf(k.measure, sizeof k.measure, "i3_dagar_i_insats");
    snprintf(k.forbund, sizeof k.forbund, "%s", forbund);
    k.period = period;
    k.slice = slice;
    cell_key_encode(out, &k);
}

static uint32_t s_month(int m)
{
    return cell_period(PERIOD_MONTH, 2026, m);
}

/* Adds values with signs to key and flushes into dists, in one write
 * transaction. */
typedef struct {
    diststore_t *ds;
    const uint8_t *key;
    const uint32_t *values;
    const int *signs;
    int n;
    int flush_rc;
} s_adds_t;

static int s_adds(MDB_txn *txn, void *arg)
{
    s_adds_t *a = arg;
    diststore_begin(a->ds);
    for (int i = 0; i < a->n; i++)
        if (diststore_add(a->ds, a->key, a->values[i], a->signs[i]))
            return ENOMEM;
    a->flush_rc = diststore_flush(a->ds, txn, store_dbi(s_store, DISTS));
    return a->flush_rc;
}

static int s_apply(diststore_t *ds, const uint8_t *key, const uint32_t *values, const int *signs, int n)
{
    s_adds_t a = {ds, key, values, signs, n, 0};
    return store_write(s_store, s_adds, &a);
}

/* The distribution of key in db (live: summed from months). */
static void s_load(int db, const uint8_t *key, bool live, dist_t *d)
{
    MDB_txn *txn;
    CHECK_EQ(store_read(s_store, &txn), 0);
    dist_clear(d);
    int rc = live ? diststore_load_live(txn, store_dbi(s_store, db), key, d)
                  : diststore_load(txn, store_dbi(s_store, db), key, d);
    CHECK_EQ(rc, 0);
    store_read_end(s_store, txn);
}

static int64_t s_count_of(const dist_t *d, int64_t value)
{
    for (size_t i = 0; i < d->n; i++)
        if (d->bins[i].value == value)
            return d->bins[i].count;
    return 0;
}

static size_t s_entries(int db)
{
    MDB_txn *txn;
    CHECK_EQ(store_read(s_store, &txn), 0);
    MDB_stat st;
    CHECK_EQ(mdb_stat(txn, store_dbi(s_store, db), &st), 0);
    store_read_end(s_store, txn);
    return st.ms_entries;
}

static diststore_t *s_setup(void)
{
    CHECK_EQ(store_open(&s_store, tu_tempdir(), s_dbs, 2, 0), 0);
    diststore_t *ds = diststore_new();
    CHECK(ds);
    return ds;
}

static void s_teardown(diststore_t **ds)
{
    diststore_destroy(ds);
    CHECK(*ds == NULL);
    diststore_destroy(ds);
    store_close(&s_store);
}

static void test_layout_and_counts(void)
{
    diststore_t *ds = s_setup();
    uint8_t key[CELL_KEY_LEN];
    s_key(key, "NV", s_month(3), 0);
    /* 10 twice, 30 once, 7 added and taken back: one write per entry */
    const uint32_t v[] = {10, 30, 10, 7, 7};
    const int sign[] = {+1, +1, +1, +1, -1};
    CHECK_EQ(s_apply(ds, key, v, sign, 5), 0);
    CHECK_EQ(s_entries(DISTS), 2);

    MDB_txn *txn;
    CHECK_EQ(store_read(s_store, &txn), 0);
    MDB_cursor *cur;
    CHECK_EQ(mdb_cursor_open(txn, store_dbi(s_store, DISTS), &cur), 0);
    MDB_val k, val;
    CHECK_EQ(mdb_cursor_get(cur, &k, &val, MDB_FIRST), 0);
    CHECK_EQ(k.mv_size, DISTSTORE_KEY_LEN);
    CHECK(!memcmp(k.mv_data, key, CELL_KEY_LEN));
    CHECK_EQ(be32_get((const uint8_t *) k.mv_data + CELL_KEY_LEN), 10); /* value order */
    CHECK_EQ(val.mv_size, 8);
    CHECK_EQ(be64_get(val.mv_data), 2);
    CHECK_EQ(mdb_cursor_get(cur, &k, &val, MDB_NEXT), 0);
    CHECK_EQ(be32_get((const uint8_t *) k.mv_data + CELL_KEY_LEN), 30);
    CHECK_EQ(be64_get(val.mv_data), 1);
    mdb_cursor_close(cur);
    store_read_end(s_store, txn);

    dist_t d = DIST_INIT;
    s_load(DISTS, key, false, &d);
    CHECK_EQ(d.total, 3);
    CHECK_EQ(s_count_of(&d, 10), 2);
    CHECK_EQ(s_count_of(&d, 30), 1);
    CHECK_EQ(s_count_of(&d, 7), 0);

    /* Subtracting to zero removes the entry. */
    const uint32_t v2[] = {30};
    const int minus[] = {-1};
    CHECK_EQ(s_apply(ds, key, v2, minus, 1), 0);
    CHECK_EQ(s_entries(DISTS), 1);
    s_load(DISTS, key, false, &d);
    CHECK_EQ(d.total, 2);
    /* Below zero: the store disagrees with the log; nothing written. */
    CHECK_EQ(s_apply(ds, key, v2, minus, 1), MDB_CORRUPTED);
    s_load(DISTS, key, false, &d);
    CHECK_EQ(d.total, 2);
    dist_free(&d);
    s_teardown(&ds);
}

static int s_begin_drops(MDB_txn *txn, void *arg)
{
    diststore_t *ds = arg;
    uint8_t key[CELL_KEY_LEN];
    s_key(key, "NV", s_month(1), 0);
    diststore_begin(ds);
    CHECK_EQ(diststore_add(ds, key, 99, +1), 0); /* an attempt that is retried */
    diststore_begin(ds);
    CHECK_EQ(diststore_add(ds, key, 5, +1), 0);
    return diststore_flush(ds, txn, store_dbi(s_store, DISTS));
}

static void test_begin_drops_changes(void)
{
    diststore_t *ds = s_setup();
    CHECK_EQ(store_write(s_store, s_begin_drops, ds), 0);
    uint8_t key[CELL_KEY_LEN];
    s_key(key, "NV", s_month(1), 0);
    dist_t d = DIST_INIT;
    s_load(DISTS, key, false, &d);
    CHECK_EQ(d.total, 1);
    CHECK_EQ(s_count_of(&d, 5), 1);
    dist_free(&d);
    s_teardown(&ds);
}

/* Months 1..6 of NV (and noise beside them): Q1 is months 1-3, the year
 * all six; another förbund, slice or year is not summed in. */
static void test_live_rollups(void)
{
    diststore_t *ds = s_setup();
    for (int m = 1; m <= 6; m++) {
        uint8_t key[CELL_KEY_LEN];
        s_key(key, "NV", s_month(m), 0);
        const uint32_t v[] = {(uint32_t) m, 100};
        const int sign[] = {+1, +1};
        CHECK_EQ(s_apply(ds, key, v, sign, 2), 0);
        s_key(key, "HBS", s_month(m), 0);
        CHECK_EQ(s_apply(ds, key, v, sign, 2), 0);
        s_key(key, "NV", s_month(m), cell_slice(SLICE_MODE, 1));
        CHECK_EQ(s_apply(ds, key, v, sign, 1), 0);
        s_key(key, "NV", cell_period(PERIOD_MONTH, 2025, m), 0);
        CHECK_EQ(s_apply(ds, key, v, sign, 1), 0);
    }
    uint8_t key[CELL_KEY_LEN];
    dist_t d = DIST_INIT;
    s_key(key, "NV", s_month(2), 0);
    s_load(DISTS, key, true, &d);
    CHECK_EQ(d.total, 2);
    s_key(key, "NV", cell_period(PERIOD_QUARTER, 2026, 1), 0);
    s_load(DISTS, key, true, &d);
    CHECK_EQ(d.total, 6);
    CHECK_EQ(s_count_of(&d, 100), 3);
    CHECK_EQ(s_count_of(&d, 3), 1);
    CHECK_EQ(s_count_of(&d, 4), 0);
    s_key(key, "NV", cell_period(PERIOD_QUARTER, 2026, 2), 0);
    s_load(DISTS, key, true, &d);
    CHECK_EQ(d.total, 6);
    CHECK_EQ(s_count_of(&d, 4), 1);
    s_key(key, "NV", cell_period(PERIOD_YEAR, 2026, 0), 0);
    s_load(DISTS, key, true, &d);
    CHECK_EQ(d.total, 12);
    CHECK_EQ(s_count_of(&d, 100), 6);
    s_key(key, "NV", cell_period(PERIOD_YEAR, 2026, 0), cell_slice(SLICE_MODE, 1));
    s_load(DISTS, key, true, &d);
    CHECK_EQ(d.total, 6);
    /* A quarter cell itself has no entries: diststore_load finds none. */
    s_key(key, "NV", cell_period(PERIOD_QUARTER, 2026, 1), 0);
    s_load(DISTS, key, false, &d);
    CHECK_EQ(d.total, 0);

    /* diststore_load merges: two förbund into one distribution. */
    MDB_txn *txn;
    CHECK_EQ(store_read(s_store, &txn), 0);
    dist_clear(&d);
    s_key(key, "NV", s_month(1), 0);
    CHECK_EQ(diststore_load(txn, store_dbi(s_store, DISTS), key, &d), 0);
    s_key(key, "HBS", s_month(1), 0);
    CHECK_EQ(diststore_load(txn, store_dbi(s_store, DISTS), key, &d), 0);
    store_read_end(s_store, txn);
    CHECK_EQ(d.total, 4);
    CHECK_EQ(s_count_of(&d, 100), 2);
    dist_free(&d);
    s_teardown(&ds);
}

typedef struct {
    const uint8_t *key;
    bool drop;
} s_pub_t;

static int s_publish(MDB_txn *txn, void *arg)
{
    s_pub_t *p = arg;
    if (p->drop)
        return diststore_drop(txn, store_dbi(s_store, PUB), p->key);
    return diststore_publish(txn, store_dbi(s_store, DISTS), txn, store_dbi(s_store, PUB), p->key);
}

static void test_publish_and_drop(void)
{
    diststore_t *ds = s_setup();
    uint8_t m1[CELL_KEY_LEN], m2[CELL_KEY_LEN], q1[CELL_KEY_LEN];
    s_key(m1, "NV", s_month(1), 0);
    s_key(m2, "NV", s_month(2), 0);
    s_key(q1, "NV", cell_period(PERIOD_QUARTER, 2026, 1), 0);
    const uint32_t v[] = {10, 20, 30};
    const int plus[] = {+1, +1, +1};
    CHECK_EQ(s_apply(ds, m1, v, plus, 3), 0);
    CHECK_EQ(s_apply(ds, m2, v, plus, 1), 0);
    s_pub_t p = {q1, false};
    CHECK_EQ(store_write(s_store, s_publish, &p), 0);
    dist_t live = DIST_INIT, pub = DIST_INIT;
    s_load(DISTS, q1, true, &live);
    s_load(PUB, q1, false, &pub);
    CHECK_EQ(pub.total, 4);
    CHECK_EQ(pub.n, live.n);
    for (size_t i = 0; i < pub.n; i++) {
        CHECK_EQ(pub.bins[i].value, live.bins[i].value);
        CHECK_EQ(pub.bins[i].count, live.bins[i].count);
    }
    /* The live side moves on; the published one waits for the next
     * publication, which then holds exactly the new live one (30 is gone). */
    const uint32_t gone[] = {30, 20};
    const int minus[] = {-1, -1};
    CHECK_EQ(s_apply(ds, m1, gone, minus, 2), 0);
    s_load(PUB, q1, false, &pub);
    CHECK_EQ(pub.total, 4);
    CHECK_EQ(store_write(s_store, s_publish, &p), 0);
    s_load(PUB, q1, false, &pub);
    CHECK_EQ(pub.total, 2);
    CHECK_EQ(s_count_of(&pub, 30), 0);
    CHECK_EQ(s_count_of(&pub, 10), 2);
    /* Nothing live: nothing published. */
    const uint32_t ten[] = {10, 10};
    CHECK_EQ(s_apply(ds, m1, ten, minus, 1), 0);
    CHECK_EQ(s_apply(ds, m2, ten, minus, 1), 0);
    CHECK_EQ(s_entries(DISTS), 0);
    CHECK_EQ(store_write(s_store, s_publish, &p), 0);
    CHECK_EQ(s_entries(PUB), 0);
    /* Drop removes one cell's entries only. */
    CHECK_EQ(s_apply(ds, m1, v, plus, 3), 0);
    s_pub_t pm1 = {m1, false}, pm2 = {m2, false};
    CHECK_EQ(s_apply(ds, m2, v, plus, 2), 0);
    CHECK_EQ(store_write(s_store, s_publish, &pm1), 0);
    CHECK_EQ(store_write(s_store, s_publish, &pm2), 0);
    CHECK_EQ(s_entries(PUB), 5);
    s_pub_t drop = {m1, true};
    CHECK_EQ(store_write(s_store, s_publish, &drop), 0);
    CHECK_EQ(s_entries(PUB), 2);
    s_load(PUB, m2, false, &pub);
    CHECK_EQ(pub.total, 2);
    dist_free(&live);
    dist_free(&pub);
    s_teardown(&ds);
}

static const test_case_t s_cases[] = {
    {"layout and counts", test_layout_and_counts},
    {"begin drops gathered changes", test_begin_drops_changes},
    {"quarters and years from months", test_live_rollups},
    {"publish and drop", test_publish_and_drop},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
