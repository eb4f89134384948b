/* migrate.h: `finsamctl migrate` — brings a ledger of the previous schema
 * (LEDGER_SCHEMA_PREVIOUS, ledger.h) to this release's. Run by the
 * operator with the collector stopped; the collector and finsamctl's
 * other commands refuse the old store and name this command.
 *
 * The event log is the source of truth and is not touched. Everything
 * derived from it — cells, participant records, distributions — is
 * dropped and recomputed by replaying the log in place (replay.h), the
 * very replay `finsamctl rebuild --verify` runs, so the migrated store
 * verifies. From 5 to 6 that gives participant records whose measure
 * hashes are keyed SipHash (persons.h) and cell states in their specified
 * byte order (cell.h). The publication (published, published-dists) is
 * carried over as it is: it holds no hash, and its bytes are the
 * specified ones, so readers see exactly the numbers they saw before, and
 * the cells, recomputed from the same log, equal it where they did.
 *
 * Crash-safe without a copy: the first transaction drops the derived state
 * and stamps LEDGER_SCHEMA_MIGRATING, which every release refuses; the
 * replay commits in chunks; the last transaction records the catalogue
 * the cells were computed with (recount.h) and stamps the new version. A
 * migration cut short (kill -9, disk full) leaves either the old store,
 * untouched, or a store the next `migrate` finishes by starting the replay
 * again. */
#ifndef FINSAM_MIGRATE_H
#define FINSAM_MIGRATE_H

#include "catalogue.h"
#include "err.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    /* What the store held: LEDGER_SCHEMA_PREVIOUS, LEDGER_SCHEMA_MIGRATING
     * (a migration cut short) or LEDGER_SCHEMA_VERSION (nothing to do). */
    uint32_t from;
    bool migrated;   /* the store now holds LEDGER_SCHEMA_VERSION, by this call */
    uint64_t events; /* events replayed */
    double seconds;
} migrate_report_t;

/* Migrates the ledger in directory dir (DATA/ledger) if it holds the
 * previous schema or a migration cut short; does nothing when it is
 * current. catalogue: the one the collector will run with (the cells are
 * computed with it). Returns FIN_OK, or FIN_ENOTFOUND (no store),
 * FIN_EVERSION (another schema), FIN_ECORRUPT, FIN_EFULL, FIN_EIO, ...
 * with the reason in err. */
fin_err_t migrate_run(const char *dir, const catalogue_t *catalogue, migrate_report_t *report, char *err,
                      size_t errlen);

#endif
