/* recount.c: the catalogue fingerprint of a ledger's cells (see recount.h).
 * This file decides when a recount is due and records what the cells were
 * computed with; the recomputation is the log replayed in place
 * (replay.h), the same replay `rebuild --verify` and the migration of an
 * older store run, so a recount gives exactly the cells a verify expects.
 * The publication (published, published-dists) is kept as it is. */
#include "recount.h"

#include "aggregate.h"
#include "replay.h"

#include <stdio.h>

#include <errno.h>
#include <string.h>
#include <time.h>

static const MDB_val s_key = {9, "catalogue"};

/* *same = the meta fingerprint is this catalogue's. */
static int s_same(ledger_t *ledger, const catalogue_t *catalogue, bool *same)
{
    MDB_txn *txn;
    int rc = store_read(ledger_store(ledger), &txn);
    if (rc)
        return rc;
    MDB_val k = s_key, v;
    rc = mdb_get(txn, ledger_dbi(ledger, LEDGER_DB_META), &k, &v);
    *same = rc == 0 && v.mv_size == sizeof catalogue->fingerprint &&
            !memcmp(v.mv_data, catalogue->fingerprint, sizeof catalogue->fingerprint);
    store_read_end(ledger_store(ledger), txn);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int recount_drop(ledger_txn_t *lt)
{
    static const ledger_db_t derived[] = {LEDGER_DB_CELLS, LEDGER_DB_PARTICIPANTS, LEDGER_DB_DISTS,
                                          LEDGER_DB_CELLS_META};
    for (size_t i = 0; i < sizeof derived / sizeof *derived; i++) {
        int rc = mdb_drop(lt->cells, ledger_dbi(lt->ledger, derived[i]), 0);
        if (rc)
            return rc;
    }
    return 0;
}

static int s_drop(ledger_txn_t *lt, void *arg)
{
    (void) arg;
    return recount_drop(lt);
}

int recount_stamp(ledger_txn_t *lt, const catalogue_t *catalogue)
{
    MDB_val k = s_key, v = {sizeof catalogue->fingerprint, (void *) catalogue->fingerprint};
    return mdb_put(lt->txn, ledger_dbi(lt->ledger, LEDGER_DB_META), &k, &v, 0);
}

static int s_stamp(ledger_txn_t *lt, void *arg)
{
    return recount_stamp(lt, arg);
}

int recount_run(ledger_t *ledger, const catalogue_t *catalogue, const uint8_t secret[SECRET_LEN],
                bool just_rebuilt, recount_report_t *report, char *err, size_t errlen)
{
    memset(report, 0, sizeof *report);
    bool same = false;
    int rc = s_same(ledger, catalogue, &same);
    if (rc) {
        snprintf(err, errlen, "recount: %s", store_strerror(rc));
        return -1;
    }
    if (same)
        return 0;
    /* An empty log has no cells to be wrong. The stamp comes after the
     * recount, so one cut short starts over at the next start. */
    if (!just_rebuilt && ledger_next_seq(ledger) > 1) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        replay_t r = {.source = ledger,
                      .aggregate = aggregate_new(catalogue, secret),
                      .from_seq = 1,
                      .end_seq = ledger_next_seq(ledger)};
        rc = r.aggregate ? ledger_cells_write(ledger, s_drop, NULL) : ENOMEM;
        if (rc == 0)
            rc = replay_run(&r, ledger, &report->events);
        aggregate_destroy(&r.aggregate);
        if (rc) {
            snprintf(err, errlen, "recount at seq %llu: %s", (unsigned long long) r.from_seq,
                     store_strerror(rc));
            return -1;
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
        report->recounted = true;
        report->seconds = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
    }
    if ((rc = ledger_write(ledger, s_stamp, (void *) catalogue))) {
        snprintf(err, errlen, "recount: %s", store_strerror(rc));
        return -1;
    }
    return 0;
}
