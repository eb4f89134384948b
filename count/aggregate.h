/* aggregate.h: incremental indicator aggregation, in the aggregator's
 * transactions of the cells environment (follow.h, replay.h).
 *
 * Each accepted event adds to (sign +1) or, when retracted or superseded,
 * subtracts from (sign -1) the cells of every catalogue measure it feeds.
 * A cell is keyed by (measure, förbund, period, slice) and holds an exactly
 * invertible state: counts, integer sums and a histogram (cell.h), and
 * for day counts a distribution beside it (diststore.h). Deltas
 * are gathered in memory during the transaction and each touched cell is
 * read-modify-written once at flush, so a group commit of many events
 * touching the same cells costs one write per cell. Paired measures (entry
 * vs exit, exit vs follow-up) keep per-pseudonym state in LMDB and form one
 * pair per episode: an observation on the "from" side starts an episode,
 * the latest "to" observation before the next "from" ends it (ordered by
 * occurred month, then by log position; see pairs.h). The per-person state
 * is a participant record (persons.h). */
#ifndef FINSAM_AGGREGATE_H
#define FINSAM_AGGREGATE_H

#include "catalogue.h"
#include "codec.h"
#include "ledger.h"
#include "secret.h"

typedef struct aggregate_t aggregate_t;

/* secret: the ledger's secret (secret.h), copied;
 * record keys of contributors are derived from it. */
aggregate_t *aggregate_new(const catalogue_t *catalogue, const uint8_t secret[SECRET_LEN]);
void aggregate_destroy(aggregate_t **self_p);

/* Starts a transaction's work (drops any deltas of an aborted attempt). */
void aggregate_begin(aggregate_t *self);

/* Everything here writes the cells environment: lt->cells, a transaction
 * of ledger_cells_write (lt->txn, its snapshot of the log, is not used).
 *
 * Applies an event with sign +1 or -1. `order` places the event's paired
 * observations among others of the same month: the log position of the
 * observation's first report (aggregate_origin); only read when sign is +1
 * (a subtraction finds the stored observation by event id). Returns 0 or
 * an LMDB error. */
int aggregate_event(aggregate_t *self, ledger_txn_t *lt, const event_msg_t *ev, uint64_t order, int sign);

/* The log position of the report an event restates: seq itself, or for a
 * correction (supersedes) the origin of the event it corrects, followed
 * through tombstones (which keep `supersedes`). A correction thus keeps
 * its original's place in a person's episodes, at ingest and in a rebuild
 * alike. ev is the event stored at seq in txn's log. Returns 0 or an LMDB
 * error (a broken chain stops at the last event found). */
int aggregate_origin(MDB_txn *txn, const ledger_t *ledger, const event_msg_t *ev, uint64_t seq,
                     uint64_t *origin);

/* Participant records the transaction has read so far: each becomes at
 * least one dirty page at flush, which LMDB holds in memory until commit
 * (and keeps for reuse after), so callers bound a transaction by it. */
size_t aggregate_people(const aggregate_t *self);
/* Cells the transaction has changed so far (their deltas are held in
 * memory until the flush, in a table that keeps its largest size). */
size_t aggregate_cells(const aggregate_t *self);

/* Writes all touched cells; calls changed(cell key, state) for each cell
 * whose state changed (for the aggregate stream) if changed is not NULL. */
typedef void (*aggregate_changed_fn)(const uint8_t *key, size_t keylen, const void *state, size_t statelen,
                                     void *arg);
int aggregate_flush(aggregate_t *self, ledger_txn_t *lt, aggregate_changed_fn changed, void *arg);

#endif
