/* rebuild.c: `finsamctl rebuild --verify` (see rebuild.h).
 *
 * The replay (replay.h) uses the very code ingest uses, aggregate_event,
 * with the ingest-time meaning of each logged event, into a scratch store;
 * then each derived database — cells, participant records, distributions —
 * is merge-compared with the collector's. */
#include "rebuild.h"

#include "secret.h"

#include "aggregate.h"
#include "cell.h"
#include "diststore.h"
#include "persons.h"
#include "replay.h"
#include "util.h"

#include <errno.h>
#include <ftw.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

static void s_describe(char *out, size_t len, ledger_db_t db, const MDB_val *k)
{
    cell_key_t ck;
    bool dist = db == LEDGER_DB_DISTS && k->mv_size == DISTSTORE_KEY_LEN;
    if ((db == LEDGER_DB_CELLS || dist) && cell_key_decode(&ck, k->mv_data, CELL_KEY_LEN) == 0 &&
        (dist || k->mv_size == CELL_KEY_LEN)) {
        char period[16], slice[32];
        cell_period_format(period, sizeof period, ck.period);
        cell_slice_format(slice, sizeof slice, ck.slice);
        if (dist)
            snprintf(out, len, "distribution %s %s %s %s value %u", ck.measure, ck.forbund, period, slice,
                     be32_get((const uint8_t *) k->mv_data + CELL_KEY_LEN));
        else
            snprintf(out, len, "cell %s %s %s %s", ck.measure, ck.forbund, period, slice);
    } else if (db == LEDGER_DB_APPROVALS) {
        snprintf(out, len, "approval record %.8s (%zu-byte key)", (const char *) k->mv_data, k->mv_size);
    } else {
        snprintf(out, len, "participant record (%zu-byte key)", k->mv_size);
    }
}

/* Participant records (persons.h: a header, then fixed-width member and
 * observation entries) list their entries in the order the history left
 * them: an entry is removed by moving the last one into its place. An
 * erased event was added and later removed at ingest but is never added in
 * a rebuild, so the same set of entries can come out in another order.
 * Records are compared as sets: entries sorted. Anything else compares
 * byte for byte. */
#define PREC_HEADER PERSON_RECORD_HEADER
#define PREC_MEMBER PERSON_MEMBER_BYTES
#define PREC_OBS PERSON_OBS_BYTES
#define PREC_VERSION PERSON_RECORD_VERSION

static size_t s_entry_size;

static int s_entry_cmp(const void *a, const void *b)
{
    return memcmp(a, b, s_entry_size);
}

static bool s_same_record(ledger_db_t db, const MDB_val *a, const MDB_val *b)
{
    if (a->mv_size != b->mv_size)
        return false;
    if (!memcmp(a->mv_data, b->mv_data, a->mv_size))
        return true;
    const uint8_t *p = a->mv_data, *q = b->mv_data;
    size_t len = a->mv_size;
    if (db != LEDGER_DB_PARTICIPANTS || len < PREC_HEADER || p[0] != PREC_VERSION ||
        memcmp(p, q, PREC_HEADER))
        return false;
    uint64_t nm = be32_get(p + 1), no = be32_get(p + 5);
    if (len != PREC_HEADER + nm * PREC_MEMBER + no * PREC_OBS)
        return false;
    uint8_t *x = malloc(len), *y = malloc(len);
    bool same = false;
    if (x && y) {
        memcpy(x, p, len);
        memcpy(y, q, len);
        s_entry_size = PREC_MEMBER;
        qsort(x + PREC_HEADER, nm, PREC_MEMBER, s_entry_cmp);
        qsort(y + PREC_HEADER, nm, PREC_MEMBER, s_entry_cmp);
        s_entry_size = PREC_OBS;
        qsort(x + PREC_HEADER + nm * PREC_MEMBER, no, PREC_OBS, s_entry_cmp);
        qsort(y + PREC_HEADER + nm * PREC_MEMBER, no, PREC_OBS, s_entry_cmp);
        same = !memcmp(x, y, len);
    }
    free(x);
    free(y);
    return same;
}

/* Merge-compares one database of both stores (both sorted by key). */
static int s_compare(ledger_t *a, MDB_txn *ta, ledger_t *b, MDB_txn *tb, ledger_db_t db, uint64_t *count,
                     uint64_t *diffs, FILE *out)
{
    MDB_cursor *ca, *cb;
    int rc = mdb_cursor_open(ta, ledger_dbi(a, db), &ca);
    if (rc)
        return rc;
    if ((rc = mdb_cursor_open(tb, ledger_dbi(b, db), &cb))) {
        mdb_cursor_close(ca);
        return rc;
    }
    MDB_val ka, va, kb, vb;
    int ra = mdb_cursor_get(ca, &ka, &va, MDB_FIRST), rb = mdb_cursor_get(cb, &kb, &vb, MDB_FIRST);
    while (ra == 0 || rb == 0) {
        int cmp = ra ? 1 : rb ? -1 : 0;
        if (ra == 0 && rb == 0) {
            size_t n = ka.mv_size < kb.mv_size ? ka.mv_size : kb.mv_size;
            cmp = memcmp(ka.mv_data, kb.mv_data, n);
            if (cmp == 0)
                cmp = (ka.mv_size > kb.mv_size) - (ka.mv_size < kb.mv_size);
        }
        char what[160];
        if (cmp == 0) {
            (*count)++;
            if (!s_same_record(db, &va, &vb)) {
                if ((*diffs)++ < 20) {
                    s_describe(what, sizeof what, db, &ka);
                    fprintf(out, "DIFFERENT %s\n", what);
                }
            }
            ra = mdb_cursor_get(ca, &ka, &va, MDB_NEXT);
            rb = mdb_cursor_get(cb, &kb, &vb, MDB_NEXT);
        } else if (cmp < 0) {
            if ((*diffs)++ < 20) {
                s_describe(what, sizeof what, db, &ka);
                fprintf(out, "ONLY-STORED %s\n", what);
            }
            ra = mdb_cursor_get(ca, &ka, &va, MDB_NEXT);
        } else {
            if ((*diffs)++ < 20) {
                s_describe(what, sizeof what, db, &kb);
                fprintf(out, "ONLY-REBUILT %s\n", what);
            }
            rb = mdb_cursor_get(cb, &kb, &vb, MDB_NEXT);
        }
    }
    mdb_cursor_close(ca);
    mdb_cursor_close(cb);
    return 0;
}

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove(path);
}

/* The snapshot's end: one past the last key in its log. */
static uint64_t s_log_end(ledger_t *ledger, MDB_txn *snap)
{
    MDB_cursor *cur;
    MDB_val k, v;
    uint64_t end = 1;
    if (mdb_cursor_open(snap, ledger_dbi(ledger, LEDGER_DB_LOG), &cur) == 0) {
        if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0)
            end = be64_get(k.mv_data) + 1;
        mdb_cursor_close(cur);
    }
    return end;
}

/* Snapshots of the log and then of the cells, such that the cells'
 * position is within the log's: the log first, so every tombstone it
 * holds was put there after the cells passed its erasure (erase.h), and
 * the cells' snapshot, taken later, passed it too. A cells snapshot ahead
 * of the log's (the aggregator applied what was appended in between) is
 * taken again. */
static int s_snapshots(ledger_t *ledger, MDB_txn **log, MDB_txn **cells, uint64_t *log_end, uint64_t *applied)
{
    for (int attempt = 0;; attempt++) {
        int rc = store_read(ledger_store(ledger), log);
        if (rc)
            return rc;
        if ((rc = ledger_cells_read(ledger, cells))) {
            store_read_end(ledger_store(ledger), *log);
            return rc;
        }
        *log_end = s_log_end(ledger, *log);
        *applied = ledger_applied(*cells, ledger);
        if (*applied < *log_end || attempt == 1000)
            return *applied < *log_end ? 0 : EAGAIN;
        ledger_cells_read_end(ledger, *cells);
        store_read_end(ledger_store(ledger), *log);
    }
}

int rebuild_verify(ledger_t *ledger, const catalogue_t *catalogue, rebuild_report_t *report, FILE *out,
                   char *err, size_t errlen)
{
    memset(report, 0, sizeof *report);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char dir[] = "/tmp/finsam-rebuild-XXXXXX";
    if (!mkdtemp(dir)) {
        snprintf(err, errlen, "cannot create a temporary directory");
        return -1;
    }
    int result = -1;
    ledger_t *scratch = NULL;
    MDB_txn *cells = NULL;
    /* The same record keys as the collector's: the cell keys are compared too. */
    uint8_t secret[SECRET_LEN];
    bool keyed = secret_load(ledger, secret, err, errlen) == 0;
    replay_t c = {.source = ledger,
                  .aggregate = keyed ? aggregate_new(catalogue, secret) : NULL,
                  .from_seq = 1,
                  .approvals = true};
    sodium_memzero(secret, sizeof secret);
    if (!c.aggregate || ledger_open_scratch(&scratch, dir, err, errlen) != FIN_OK)
        goto cleanup;
    uint64_t log_end, applied;
    int rc = s_snapshots(ledger, &c.snap, &cells, &log_end, &applied);
    if (rc) {
        snprintf(err, errlen, "%s", store_strerror(rc));
        goto cleanup;
    }
    report->position = applied;
    report->log_end = log_end - 1;
    /* The approvals, kept with the log, to the log's end; the cells to
     * the position the collector's cells reflect. */
    c.end_seq = log_end;
    c.approvals_only = true;
    if ((rc = replay_run(&c, scratch, &report->events))) {
        snprintf(err, errlen, "replay at seq %llu: %s", (unsigned long long) c.from_seq, store_strerror(rc));
        goto abort_snap;
    }
    c.approvals = c.approvals_only = false;
    c.from_seq = 1;
    c.end_seq = applied + 1;
    if ((rc = replay_run(&c, scratch, &report->events))) {
        snprintf(err, errlen, "replay at seq %llu: %s", (unsigned long long) c.from_seq, store_strerror(rc));
        goto abort_snap;
    }
    MDB_txn *ts, *tsc;
    if ((rc = store_read(ledger_store(scratch), &ts))) {
        snprintf(err, errlen, "%s", store_strerror(rc));
        goto abort_snap;
    }
    if ((rc = ledger_cells_read(scratch, &tsc))) {
        store_read_end(ledger_store(scratch), ts);
        snprintf(err, errlen, "%s", store_strerror(rc));
        goto abort_snap;
    }
    rc = s_compare(ledger, cells, scratch, tsc, LEDGER_DB_CELLS, &report->cells, &report->differences, out);
    if (rc == 0)
        rc = s_compare(ledger, cells, scratch, tsc, LEDGER_DB_PARTICIPANTS, &report->people,
                       &report->differences, out);
    if (rc == 0)
        rc = s_compare(ledger, cells, scratch, tsc, LEDGER_DB_DISTS, &report->dist_entries,
                       &report->differences, out);
    if (rc == 0)
        rc = s_compare(ledger, c.snap, scratch, ts, LEDGER_DB_APPROVALS, &report->approvals,
                       &report->differences, out);
    ledger_cells_read_end(scratch, tsc);
    store_read_end(ledger_store(scratch), ts);
    if (rc)
        snprintf(err, errlen, "compare: %s", store_strerror(rc));
    else
        result = 0;
abort_snap:
    ledger_cells_read_end(ledger, cells);
    store_read_end(ledger_store(ledger), c.snap);
cleanup:
    ledger_close(&scratch);
    aggregate_destroy(&c.aggregate);
    nftw(dir, s_rm, 8, FTW_DEPTH | FTW_PHYS);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    report->seconds = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
    return result;
}
