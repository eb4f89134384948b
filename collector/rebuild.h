/* rebuild.h: recompute every aggregate cell from the event log and compare
 * with the cells the collector maintained incrementally, or replace them
 * (an older schema's store, rebuild_derived). The invariant
 * (DESIGN.md, Aggregation): after any sequence of events, duplicates and
 * retractions, the stored cells equal the cells rebuilt from the log.
 * Runs on one read snapshot, so it is exact also while ingest goes on. */
#ifndef FINSAM_REBUILD_H
#define FINSAM_REBUILD_H

#include "catalogue.h"
#include "ledger.h"
#include "protect.h"

#include <stdio.h>

typedef struct {
    uint64_t events, cells, people, differences;
    double seconds;
} rebuild_report_t;

/* Recomputes into a scratch store in a temporary directory, compares, and
 * prints each difference (up to 20) to out. Returns 0, or -1 with err. */
int rebuild_verify(ledger_t *ledger, const catalogue_t *catalogue, rebuild_report_t *report, FILE *out,
                   char *err, size_t errlen);

/* Recomputes the cells and participant records of a writable ledger in
 * place from its event log, with the replay rebuild_verify uses, then
 * stamps the current schema: how a store that ledger_open_rebuildable
 * found stale is upgraded (the collector does it at start). The old
 * derived state is dropped first; the schema number is written in the
 * last transaction, so an interrupted rebuild starts over at the next
 * open. secret: the ledger's protection secret (protect_secret), for the
 * same record keys as ingest. report->events and seconds are filled.
 * Returns 0, or -1 with err. */
int rebuild_derived(ledger_t *ledger, const catalogue_t *catalogue, const uint8_t secret[PROTECT_SECRET_LEN],
                    rebuild_report_t *report, char *err, size_t errlen);

#endif
