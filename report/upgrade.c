/* upgrade.c: the upgrade of a previous-schema ledger (see upgrade.h):
 * drop the derived databases, replay the log in place, carry the
 * publication over, stamp the version. */
#include "upgrade.h"

#include "aggregate.h"
#include "cell.h"
#include "diststore.h"
#include "ledger.h"
#include "publish.h"
#include "replay.h"

#include <string.h>
#include <time.h>

static int s_drop(ledger_txn_t *lt, void *ctx)
{
    (void) ctx;
    static const ledger_db_t derived[] = {LEDGER_DB_CELLS, LEDGER_DB_PARTICIPANTS, LEDGER_DB_DISTS,
                                          LEDGER_DB_PUBLISHED_DISTS};
    for (size_t i = 0; i < sizeof derived / sizeof *derived; i++) {
        int rc = mdb_drop(lt->txn, ledger_dbi(lt->ledger, derived[i]), 0);
        if (rc)
            return rc;
    }
    return 0;
}

/* Published day-count cells: no day buckets any more; their distribution
 * is published with them where they still equal their cell. */
static int s_carry_over(ledger_txn_t *lt, void *ctx)
{
    const catalogue_t *cat = ctx;
    MDB_dbi cells = ledger_dbi(lt->ledger, LEDGER_DB_CELLS),
            pub = ledger_dbi(lt->ledger, LEDGER_DB_PUBLISHED);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(lt->txn, pub, &cur);
    if (rc)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        cell_key_t ck;
        publish_entry_t e;
        if (cell_key_decode(&ck, k.mv_data, k.mv_size) || publish_entry_decode(v.mv_data, v.mv_size, &e))
            continue;
        const cat_measure_t *m = catalogue_measure(cat, ck.measure);
        if (!m || m->aggregate != AGG_MEDIAN_DAYS)
            continue;
        uint8_t key[CELL_KEY_LEN], value[PUBLISH_VALUE_LEN];
        memcpy(key, k.mv_data, CELL_KEY_LEN);
        memcpy(value, v.mv_data, PUBLISH_VALUE_LEN);
        memset(e.cell.hist, 0, sizeof e.cell.hist);
        memcpy(value, &e.cell, sizeof e.cell);
        MDB_val nv = {sizeof value, value};
        if ((rc = mdb_cursor_put(cur, &k, &nv, MDB_CURRENT)))
            break;
        MDB_val ckv = {CELL_KEY_LEN, key}, cv;
        int got = mdb_get(lt->txn, cells, &ckv, &cv);
        if (got == 0 && cv.mv_size == sizeof e.cell && !memcmp(cv.mv_data, &e.cell, sizeof e.cell))
            rc = diststore_publish(lt->txn, ledger_dbi(lt->ledger, LEDGER_DB_DISTS),
                                   ledger_dbi(lt->ledger, LEDGER_DB_PUBLISHED_DISTS), key);
        else if (got != 0 && got != MDB_NOTFOUND)
            rc = got;
        if (rc)
            break;
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    return ledger_stamp_schema(lt);
}

int upgrade_run(const char *dir, const catalogue_t *catalogue, const protect_params_t *params,
                upgrade_report_t *report, char *err, size_t errlen)
{
    memset(report, 0, sizeof *report);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ledger_t *ledger;
    if (ledger_open_previous(&ledger, dir, err, errlen) < 0)
        return -1;
    if (!ledger)
        return 0;
    int result = -1, rc;
    protect_t *protect = protect_open(ledger, params, err, errlen);
    replay_t r = {ledger, NULL, protect ? aggregate_new(catalogue, protect_secret(protect)) : NULL, 1,
                  ledger_next_seq(ledger)};
    if (!r.aggregate) {
        if (protect)
            snprintf(err, errlen, "upgrade: out of memory");
        goto done;
    }
    if ((rc = ledger_write(ledger, s_drop, NULL)) || (rc = replay_run(&r, ledger, &report->events)) ||
        (rc = ledger_write(ledger, s_carry_over, (void *) catalogue))) {
        snprintf(err, errlen, "upgrade from schema version %d at seq %llu: %s", LEDGER_SCHEMA_PREVIOUS,
                 (unsigned long long) r.from_seq, store_strerror(rc));
        goto done;
    }
    report->upgraded = true;
    result = 0;
done:
    aggregate_destroy(&r.aggregate);
    protect_destroy(&protect);
    ledger_close(&ledger);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    report->seconds = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
    return result;
}
