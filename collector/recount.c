/* recount.c: the catalogue fingerprint of a ledger's cells (see recount.h).
 * This file decides when a recount is due and records what the cells were
 * computed with; the recomputation itself is the rebuild's
 * (rebuild_derived), so a recount gives exactly the cells `rebuild
 * --verify` expects. */
#include "recount.h"

#include "rebuild.h"

#include <string.h>

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

static int s_stamp(ledger_txn_t *lt, void *arg)
{
    const catalogue_t *catalogue = arg;
    MDB_val k = s_key, v = {sizeof catalogue->fingerprint, (void *) catalogue->fingerprint};
    return mdb_put(lt->txn, ledger_dbi(lt->ledger, LEDGER_DB_META), &k, &v, 0);
}

int recount_run(ledger_t *ledger, const catalogue_t *catalogue, const uint8_t secret[PROTECT_SECRET_LEN],
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
        rebuild_report_t r;
        if (rebuild_derived(ledger, catalogue, secret, &r, err, errlen) < 0)
            return -1;
        report->recounted = true;
        report->events = r.events;
        report->seconds = r.seconds;
    }
    if ((rc = ledger_write(ledger, s_stamp, (void *) catalogue))) {
        snprintf(err, errlen, "recount: %s", store_strerror(rc));
        return -1;
    }
    return 0;
}
