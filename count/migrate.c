/* migrate.c: the migration of a previous-schema ledger (see migrate.h):
 * drop the derived state and mark the store as migrating, replay the log
 * in place, record the catalogue and stamp the version. */
#include "migrate.h"

#include "aggregate.h"
#include "ledger.h"
#include "recount.h"
#include "replay.h"
#include "secret.h"

#include <sodium.h>
#include <string.h>
#include <time.h>

/* The first transaction: nothing derived survives, and no release opens
 * the store until the last one. */
static int s_begin(ledger_txn_t *lt, void *ctx)
{
    (void) ctx;
    return ledger_stamp_schema(lt, LEDGER_SCHEMA_MIGRATING);
}

/* The derived state recomputed from nothing. */
static int s_drop(ledger_txn_t *lt, void *ctx)
{
    (void) ctx;
    return recount_drop(lt);
}

/* The last transaction: the cells are this catalogue's and this schema's. */
static int s_finish(ledger_txn_t *lt, void *ctx)
{
    int rc = recount_stamp(lt, ctx);
    return rc ? rc : ledger_stamp_schema(lt, LEDGER_SCHEMA_VERSION);
}

static double s_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double) (t1.tv_sec - t0->tv_sec) + (double) (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

fin_err_t migrate_run(const char *dir, const catalogue_t *catalogue, migrate_report_t *report, char *err,
                      size_t errlen)
{
    memset(report, 0, sizeof *report);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    ledger_t *ledger;
    fin_err_t result = ledger_open_previous(&ledger, dir, &report->from, err, errlen);
    if (result || !ledger)
        return result;
    uint8_t secret[SECRET_LEN];
    char why[256];
    bool keyed = secret_load(ledger, secret, why, sizeof why) == 0;
    replay_t r = {.source = ledger, .from_seq = 1, .end_seq = ledger_next_seq(ledger)};
    if (!keyed && r.end_seq > 1) {
        /* Events but no secret: no collector of ours wrote this store. */
        result = fin_fail(err, errlen, FIN_ECORRUPT, "%s: events but no secret: %s", dir, why);
        goto done;
    }
    /* An empty store has nothing to replay; it only changes its stamp. */
    if (keyed && !(r.aggregate = aggregate_new(catalogue, secret))) {
        result = fin_fail(err, errlen, FIN_ENOMEM, "%s: out of memory", dir);
        goto done;
    }
    int rc = ledger_write(ledger, s_begin, NULL);
    if (rc == 0)
        rc = ledger_cells_write(ledger, s_drop, NULL);
    if (rc == 0 && r.aggregate) {
        store_prefetch(ledger_store(ledger)); /* the whole log is read, in order */
        rc = replay_run(&r, ledger, &report->events);
    }
    if (rc == 0)
        rc = ledger_write(ledger, s_finish, (void *) catalogue);
    if (rc) {
        result = fin_fail(err, errlen, fin_from_mdb(rc),
                          "%s: migration from schema version %d at seq %llu: %s; run it again to finish it",
                          dir, LEDGER_SCHEMA_PREVIOUS, (unsigned long long) r.from_seq, store_strerror(rc));
        goto done;
    }
    report->migrated = true;
done:
    sodium_memzero(secret, sizeof secret);
    aggregate_destroy(&r.aggregate);
    ledger_close(&ledger);
    report->seconds = s_since(&t0);
    return result;
}
