/* official.h: the official figures of a year — the counts its approvals
 * locked (count/lockview.h), published through the same disclosure path
 * as every other output: the cell-key method and the ledger's
 * parameters (protect.h), a publication (publish.h), and query_run's
 * suppression and audits (query.h). A reader asks query_run on
 * official_ledger() with official_protect(), exactly as on the live
 * ledger; no official number leaves any other way.
 *
 * The design decision: the official publication is made fresh from the
 * locked counts each time (every cell is published at once: there is no
 * earlier publication of these counts to difference against), so the
 * same locks always give the same numbers — the cell-key noise depends
 * only on the contributors — and the official figures of an approved
 * year never change silently. The cost is one replay of the log up to
 * the last lock per request (`finsamctl report`, `query --official`, the
 * report route of the HTTP API). */
#ifndef FINSAM_OFFICIAL_H
#define FINSAM_OFFICIAL_H

#include "catalogue.h"
#include "err.h"
#include "ledger.h"
#include "lockview.h"
#include "protect.h"

typedef struct official_t official_t;

/* Builds and publishes the official figures of `year` from source (which
 * must have been opened by a collector once: its protection settings).
 * FIN_OK with *out (official_destroy), or a code with the reason in err. */
fin_err_t official_open(official_t **out, ledger_t *source, const catalogue_t *catalogue, int year, char *err,
                        size_t errlen);

/* The ledger holding the published official figures, its protection, and
 * which förbund are in them (locks, late data); valid until
 * official_destroy. */
ledger_t *official_ledger(official_t *self);
const protect_t *official_protect(const official_t *self);
const lockview_info_t *official_info(const official_t *self);

void official_destroy(official_t **self_p);

#endif
