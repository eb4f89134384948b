/* recount.h: cells derived under another catalogue are recomputed.
 *
 * A cell holds what the catalogue of its day made of the events: a measure
 * added over items already stored (catalogue version 2 added the sum of
 * o_insatser_totalt, the denominator of the shares of insatser) has no
 * cells for the events before it, and a measure whose source changed has
 * cells of the old meaning. So the ledger remembers the fingerprint of
 * the catalogue its cells were derived with (meta "catalogue", 16 bytes,
 * catalogue.h), and the collector recomputes cells and participant
 * records from the log at start when the fingerprint differs — the same
 * replay as an older schema's (rebuild_derived). Labels, definitions and
 * the version number are not in the fingerprint: changing them costs
 * nothing. A store written before the fingerprint existed is recounted
 * once; a new (empty) store is only stamped. */
#ifndef FINSAM_RECOUNT_H
#define FINSAM_RECOUNT_H

#include "catalogue.h"
#include "ledger.h"

#include <stdbool.h>

/* *needed = true when the ledger has events and its cells were derived
 * under another catalogue than this one (or under an unknown one).
 * Returns 0, or an LMDB error. */
int recount_needed(ledger_t *ledger, const catalogue_t *catalogue, bool *needed);

/* Records that the cells are now this catalogue's. Call after the cells
 * were recomputed with it (or when recount_needed said no). Returns 0, or
 * an LMDB error. */
int recount_stamp(ledger_t *ledger, const catalogue_t *catalogue);

#endif
