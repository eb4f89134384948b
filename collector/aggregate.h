/* aggregate.h: incremental indicator aggregation inside the ingest
 * transaction.
 *
 * Each accepted event adds to (sign +1) or, when retracted or superseded,
 * subtracts from (sign -1) the cells of every catalogue measure it feeds.
 * A cell is keyed by (measure, förbund, period, slice) and holds an exactly
 * invertible state: counts, integer sums and a histogram (cell.h), and
 * for day counts a distribution beside it (diststore.h). Deltas
 * are gathered in memory during the transaction and each touched cell is
 * read-modify-written once at flush, so a group commit of many events
 * touching the same cells costs one write per cell. Paired measures (entry
 * vs exit, exit vs follow-up) keep per-pseudonym state in LMDB. */
#ifndef FINSAM_AGGREGATE_H
#define FINSAM_AGGREGATE_H

#include "catalogue.h"
#include "codec.h"
#include "ledger.h"

typedef struct aggregate_t aggregate_t;

/* secret: the ledger's disclosure-protection secret (protect.h), copied;
 * record keys of contributors are derived from it. */
aggregate_t *aggregate_new(const catalogue_t *catalogue, const uint8_t secret[32]);
void aggregate_destroy(aggregate_t **self_p);

/* Starts a transaction's work (drops any deltas of an aborted attempt). */
void aggregate_begin(aggregate_t *self);

/* Applies an event with sign +1 or -1. Returns 0 or an LMDB error. */
int aggregate_event(aggregate_t *self, ledger_txn_t *lt, const event_msg_t *ev, int sign);

/* Writes all touched cells; calls changed(cell key, state) for each cell
 * whose state changed (for the aggregate stream) if changed is not NULL. */
typedef void (*aggregate_changed_fn)(const uint8_t *key, size_t keylen, const void *state, size_t statelen,
                                     void *arg);
int aggregate_flush(aggregate_t *self, ledger_txn_t *lt, aggregate_changed_fn changed, void *arg);

#endif
