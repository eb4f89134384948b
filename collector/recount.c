/* recount.c: the catalogue fingerprint of a ledger's cells (see recount.h).
 * The recomputation itself is rebuild_derived's; this file only decides
 * when it is due and records what the cells were derived with. */
#include "recount.h"

#include <string.h>

static const MDB_val s_key = {9, "catalogue"};

int recount_needed(ledger_t *ledger, const catalogue_t *catalogue, bool *needed)
{
    *needed = false;
    MDB_txn *txn;
    int rc = store_read(ledger_store(ledger), &txn);
    if (rc)
        return rc;
    MDB_val k = s_key, v;
    rc = mdb_get(txn, ledger_dbi(ledger, LEDGER_DB_META), &k, &v);
    bool same = rc == 0 && v.mv_size == sizeof catalogue->fingerprint &&
                !memcmp(v.mv_data, catalogue->fingerprint, sizeof catalogue->fingerprint);
    store_read_end(ledger_store(ledger), txn);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    /* An empty log has no cells to be wrong. */
    *needed = !same && ledger_next_seq(ledger) > 1;
    return 0;
}

static int s_put(ledger_txn_t *lt, void *arg)
{
    const catalogue_t *catalogue = arg;
    MDB_val k = s_key, v = {sizeof catalogue->fingerprint, (void *) catalogue->fingerprint};
    return mdb_put(lt->txn, ledger_dbi(lt->ledger, LEDGER_DB_META), &k, &v, 0);
}

int recount_stamp(ledger_t *ledger, const catalogue_t *catalogue)
{
    return ledger_write(ledger, s_put, (void *) catalogue);
}
