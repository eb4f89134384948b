/* publish.c: one publication = one write transaction that walks the
 * `cells` and `published` databases side by side (both in cell-key order)
 * and refreshes the published states that qualify (publish.h). The walk
 * touches every cell once; at the default cadence of minutes that is a
 * small cost beside ingest, and it needs no state outside the ledger, so
 * a collector killed at any moment publishes correctly when it restarts.
 * A refreshed day-count cell takes its distribution along
 * (published-dists), so its quantiles are as of the same refresh. */
#include "publish.h"

#include "diststore.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define S_META_NAME "published"
/* meta "published": be64 seq, be64 at_ms, be64 cells waiting then */
#define S_META_LEN 24
/* The body's answer for "nothing to publish": abort, write nothing. */
#define S_NOTHING (-30000)

/* The last publication's meta record (zeros when there is none yet). */
static int s_meta_read(MDB_txn *txn, ledger_t *ledger, uint64_t *seq, int64_t *at_ms, uint64_t *waiting)
{
    *seq = *waiting = 0;
    *at_ms = 0;
    MDB_val k = {sizeof S_META_NAME - 1, S_META_NAME}, v;
    int rc = mdb_get(txn, ledger_dbi(ledger, LEDGER_DB_META), &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.mv_size != S_META_LEN)
        return MDB_CORRUPTED;
    *seq = be64_get(v.mv_data);
    *at_ms = (int64_t) be64_get((const uint8_t *) v.mv_data + 8);
    *waiting = be64_get((const uint8_t *) v.mv_data + 16);
    return 0;
}

int publish_entry_decode(const void *data, size_t len, publish_entry_t *out)
{
    if (len != PUBLISH_VALUE_LEN)
        return -1;
    if (cell_state_decode(&out->cell, data, CELL_STATE_LEN) < 0)
        return -1;
    out->refreshed_ms = (int64_t) be64_get((const uint8_t *) data + CELL_STATE_LEN);
    return 0;
}

/* How many contributions separate two states of a cell: the larger change
 * of n and units, and at least 1 if anything differs (one contributor
 * swapped for another keeps both counts but moves the cell key). */
static int64_t s_changes(const cell_t *now, const cell_t *then)
{
    int64_t dn = llabs(now->n - then->n), du = llabs(now->units - then->units);
    int64_t c = dn > du ? dn : du;
    return c == 0 && memcmp(now, then, sizeof *now) ? 1 : c;
}

typedef struct {
    const catalogue_t *catalogue;
    const protect_t *protect;
    ledger_t *ledger;
    int64_t now_ms, max_age_ms;
    publish_report_t *report;
    MDB_txn *cells; /* a read snapshot of the cells, inside s_publish */
} s_ctx_t;

static const cat_measure_t *s_measure(const catalogue_t *cat, const uint8_t *key)
{
    char id[CELL_MEASURE_LEN + 1] = {0};
    memcpy(id, key, CELL_MEASURE_LEN);
    return catalogue_measure(cat, id);
}

static bool s_personal(const catalogue_t *cat, const uint8_t *key)
{
    const cat_measure_t *m = s_measure(cat, key);
    const cat_instrument_t *in = m && m->instrument[0] ? catalogue_instrument(cat, m->instrument) : NULL;
    return !in || in->kind != INSTR_ORGANISATION;
}

/* A day-count cell publishes its distribution with its state (the
 * quantiles every output shows come from it; a quarter or year sums its
 * months'), or drops it with the cell. */
static int s_publish_dist(s_ctx_t *c, MDB_txn *txn, const uint8_t *key, bool gone)
{
    const cat_measure_t *m = s_measure(c->catalogue, key);
    if (!m || m->aggregate != AGG_MEDIAN_DAYS)
        return 0;
    MDB_dbi pub = ledger_dbi(c->ledger, LEDGER_DB_PUBLISHED_DISTS);
    return gone ? diststore_drop(txn, pub, key)
                : diststore_publish(c->cells, ledger_dbi(c->ledger, LEDGER_DB_DISTS), txn, pub, key);
}

/* Decides one key; now/then NULL when the cell or its published state is
 * absent. */
static int s_one(s_ctx_t *c, MDB_txn *txn, MDB_dbi pub, const uint8_t *key, const cell_t *now,
                 const publish_entry_t *then)
{
    static const cell_t zero;
    const cell_t *a = now ? now : &zero, *b = then ? &then->cell : &zero;
    if (!memcmp(a, b, sizeof *a)) {
        /* Gone before it was ever shown: drop its waiting note. */
        if (then && !now) {
            MDB_val kv = {CELL_KEY_LEN, (void *) key};
            int rc = mdb_del(txn, pub, &kv, NULL);
            return rc == MDB_NOTFOUND ? 0 : rc;
        }
        return 0;
    }
    int64_t k = protect_params(c->protect)->min_count;
    bool due = s_changes(a, b) >= k || !s_personal(c->catalogue, key) ||
               (then && c->now_ms - then->refreshed_ms >= c->max_age_ms) || (!then && c->max_age_ms <= 0);
    if (!due) {
        c->report->waiting++;
        if (then)
            return 0;
        /* A new cell with fewer than min_count contributions: note from
         * when it waits (an empty published state, read as "not published
         * yet" by query.c), so that its max age starts now. */
        uint8_t placeholder[PUBLISH_VALUE_LEN] = {0};
        be64_put(placeholder + CELL_STATE_LEN, (uint64_t) c->now_ms);
        MDB_val kv = {CELL_KEY_LEN, (void *) key}, vv = {sizeof placeholder, placeholder};
        return mdb_put(txn, pub, &kv, &vv, 0);
    }
    MDB_val kv = {CELL_KEY_LEN, (void *) key};
    int rc;
    if (!now) {
        rc = mdb_del(txn, pub, &kv, NULL);
    } else {
        uint8_t value[PUBLISH_VALUE_LEN];
        cell_state_encode(value, now);
        be64_put(value + CELL_STATE_LEN, (uint64_t) c->now_ms);
        MDB_val vv = {sizeof value, value};
        rc = mdb_put(txn, pub, &kv, &vv, 0);
    }
    if (rc == 0)
        rc = s_publish_dist(c, txn, key, !now);
    if (rc)
        return rc;
    c->report->refreshed++;
    return 0;
}

static int s_publish(ledger_txn_t *lt, void *ctx)
{
    s_ctx_t *c = ctx;
    /* Nothing new in the log and no cell waiting for its max age: nothing
     * to do, not even the meta, so an idle collector writes nothing and
     * every reader keeps seeing the same publication. */
    uint64_t last_seq, last_waiting;
    int64_t last_at;
    int mrc = s_meta_read(lt->txn, lt->ledger, &last_seq, &last_at, &last_waiting);
    if (mrc)
        return mrc;
    /* The cells as the aggregator last committed them, and the log
     * position they reflect: that is what this publication reflects. A
     * position behind the last publication's (cells being recomputed from
     * the log) never publishes: the figures would go back in time. */
    if ((mrc = ledger_cells_read(lt->ledger, &c->cells)))
        return mrc;
    uint64_t at_seq = ledger_applied(c->cells, lt->ledger);
    if ((last_at && last_seq == at_seq && last_waiting == 0) || at_seq < last_seq) {
        ledger_cells_read_end(lt->ledger, c->cells);
        return S_NOTHING;
    }
    MDB_dbi cells = ledger_dbi(lt->ledger, LEDGER_DB_CELLS),
            pub = ledger_dbi(lt->ledger, LEDGER_DB_PUBLISHED);
    /* A retried transaction (map growth) starts the counts again. */
    c->report->refreshed = c->report->waiting = 0;
    MDB_cursor *cc = NULL, *pc = NULL;
    int rc = mdb_cursor_open(c->cells, cells, &cc);
    if (rc == 0)
        rc = mdb_cursor_open(lt->txn, pub, &pc);
    if (rc)
        goto done;
    MDB_val ck, cv, pk, pv;
    int crc = mdb_cursor_get(cc, &ck, &cv, MDB_FIRST), prc = mdb_cursor_get(pc, &pk, &pv, MDB_FIRST);
    /* Keys are copied before the write: mdb_put may move the pages the
     * cursors point into. The published cursor is re-positioned after
     * each write to its database. */
    while ((crc == 0 || prc == 0) && rc == 0) {
        uint8_t key[CELL_KEY_LEN];
        cell_t now;
        publish_entry_t then;
        int cmp = crc ? 1 : prc ? -1 : memcmp(ck.mv_data, pk.mv_data, CELL_KEY_LEN);
        bool has_now = cmp <= 0, has_then = cmp >= 0;
        if ((has_now && (ck.mv_size != CELL_KEY_LEN || cell_state_decode(&now, cv.mv_data, cv.mv_size))) ||
            (has_then &&
             (pk.mv_size != CELL_KEY_LEN || publish_entry_decode(pv.mv_data, pv.mv_size, &then)))) {
            rc = MDB_CORRUPTED;
            break;
        }
        memcpy(key, has_now ? ck.mv_data : pk.mv_data, CELL_KEY_LEN);
        if ((rc = s_one(c, lt->txn, pub, key, has_now ? &now : NULL, has_then ? &then : NULL)))
            break;
        if (has_now)
            crc = mdb_cursor_get(cc, &ck, &cv, MDB_NEXT);
        /* Past `key` in the published database, whatever was written. */
        pk = (MDB_val){CELL_KEY_LEN, key};
        prc = mdb_cursor_get(pc, &pk, &pv, MDB_SET_RANGE);
        if (prc == 0 && !memcmp(pk.mv_data, key, CELL_KEY_LEN))
            prc = mdb_cursor_get(pc, &pk, &pv, MDB_NEXT);
    }
    if (rc == 0 && ((crc && crc != MDB_NOTFOUND) || (prc && prc != MDB_NOTFOUND)))
        rc = crc && crc != MDB_NOTFOUND ? crc : prc;
    /* Cells waited, none moved, the log is where it was: as above. */
    if (rc == 0 && c->report->refreshed == 0 && last_seq == at_seq && c->report->waiting == last_waiting)
        rc = S_NOTHING;
    if (rc == 0) {
        uint8_t meta[S_META_LEN];
        c->report->seq = at_seq;
        c->report->at_ms = c->now_ms;
        be64_put(meta, c->report->seq);
        be64_put(meta + 8, (uint64_t) c->now_ms);
        be64_put(meta + 16, c->report->waiting);
        MDB_val k = {sizeof S_META_NAME - 1, S_META_NAME}, v = {sizeof meta, meta};
        rc = mdb_put(lt->txn, ledger_dbi(lt->ledger, LEDGER_DB_META), &k, &v, 0);
    }
done:
    if (pc)
        mdb_cursor_close(pc);
    if (cc)
        mdb_cursor_close(cc);
    ledger_cells_read_end(lt->ledger, c->cells);
    return rc;
}

int publish_run(ledger_t *ledger, const catalogue_t *catalogue, const protect_t *protect, int64_t now_ms,
                int64_t max_age_ms, publish_report_t *report)
{
    memset(report, 0, sizeof *report);
    s_ctx_t c = {catalogue, protect, ledger, now_ms, max_age_ms, report, NULL};
    int rc = ledger_write(ledger, s_publish, &c);
    if (rc == S_NOTHING) {
        /* The publication stands: report it as it is. */
        memset(report, 0, sizeof *report);
        return publish_last(ledger, &report->seq, &report->at_ms, &report->waiting);
    }
    return rc;
}

int publish_last(ledger_t *ledger, uint64_t *seq, int64_t *at_ms, uint64_t *waiting)
{
    *seq = 0;
    *at_ms = 0;
    if (waiting)
        *waiting = 0;
    MDB_txn *txn;
    int rc = store_read(ledger_store(ledger), &txn);
    if (rc)
        return rc;
    uint64_t w;
    rc = s_meta_read(txn, ledger, seq, at_ms, &w);
    if (waiting)
        *waiting = w;
    store_read_end(ledger_store(ledger), txn);
    return rc;
}
