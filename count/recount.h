/* recount.h: cells computed under another catalogue are recomputed.
 *
 * A cell holds what the catalogue of its day made of the events: a measure
 * added over items already stored (catalogue version 2 added the sum of
 * o_insatser_totalt, the denominator of the shares of insatser) has no
 * cells for the events before it, and a measure whose source changed has
 * cells of the old meaning. So the ledger remembers the fingerprint of
 * the catalogue its cells were computed with (meta "catalogue", 16 bytes,
 * catalogue.h), and the collector recomputes cells and participant
 * records from the log at start when the fingerprint differs — the same
 * replay as the migration of an older schema (replay.h). Labels, definitions and the
 * version number are not in the fingerprint: changing them costs nothing.
 * A store written before the fingerprint existed is recounted once; a new
 * (empty) store is only stamped. The published copy is kept: readers see
 * the recounted cells at the next publication, under the usual cadence. */
#ifndef FINSAM_RECOUNT_H
#define FINSAM_RECOUNT_H

#include "catalogue.h"
#include "ledger.h"
#include "secret.h"

#include <stdbool.h>

typedef struct {
    bool recounted;  /* the cells were recomputed */
    uint64_t events; /* events replayed */
    double seconds;
} recount_report_t;

/* Recomputes the ledger's cells, participant records and day-count
 * distributions from its log if
 * they were computed under another catalogue than this one (or an
 * unknown one), then records this catalogue's fingerprint. With
 * `just_rebuilt` (the cells were recomputed with this catalogue a moment
 * ago) it only records the fingerprint. secret: the ledger's protection
 * secret (secret.h). Call before anything else writes the ledger.
 * Returns 0, or -1 with err. */
int recount_run(ledger_t *ledger, const catalogue_t *catalogue, const uint8_t secret[SECRET_LEN],
                bool just_rebuilt, recount_report_t *report, char *err, size_t errlen);

/* Empties the derived state a replay writes — cells, participant records,
 * the day-count distributions and the position they reflect — inside
 * lt->cells (ledger_cells_write); the publication stays. 0 or an LMDB
 * error. */
int recount_drop(ledger_txn_t *lt);

/* Records this catalogue as the one the cells were computed with, inside
 * lt (the migration's last transaction, migrate.h). 0 or an LMDB error. */
int recount_stamp(ledger_txn_t *lt, const catalogue_t *catalogue);

#endif
