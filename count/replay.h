/* replay.h: the event log replayed through aggregate_event, each logged
 * event with the meaning it had at ingest — the one way derived state
 * (cells, participant records, distributions) is recomputed from the log:
 * into a scratch ledger by `finsamctl rebuild --verify` (rebuild.h), and
 * in place by the migration of an older store (migrate.h) and the
 * recount of cells of another catalogue (recount.h).
 *
 * An event adds itself; a retraction subtracts its target; a correction
 * subtracts the event it supersedes and adds itself; an erasure subtracts
 * its target while the target's bytes are still there (erase.h: the
 * tombstone waits for the aggregator to pass the erasure). Erased events
 * (tombstones) add nothing and are never subtracted: whatever they had
 * added was subtracted at their erasure's position. A tombstone keeps
 * `supersedes`, so an erased correction still subtracts what it
 * replaced, at its own position. The live aggregator and a rebuild run
 * this same code, so both reach the same cells whether or not a
 * tombstone is in place yet. Only accepted events are in the log, so no
 * validation is repeated. Each added event is placed among a person's
 * paired observations by the log position of its first report
 * (aggregate_origin), as ingest places it. */
#ifndef FINSAM_REPLAY_H
#define FINSAM_REPLAY_H

#include "aggregate.h"
#include "ledger.h"

#include <stdint.h>

typedef struct {
    ledger_t *source; /* whose log is replayed */
    /* A read snapshot of source, or NULL to read the log inside the
     * writing transaction (an in-place replay: target == source). */
    MDB_txn *snap;
    aggregate_t *aggregate; /* made with the source's protection secret */
    uint64_t from_seq;      /* next position to replay */
    uint64_t end_seq;       /* one past the last position */
    /* Derive the approval state too (approval.h): approval events and
     * late data, as ingest did. Only into an empty target (a rebuild);
     * the in-place replays leave the approvals as they are. */
    bool approvals;
    /* NULL, or which events to replay: an event for which keep returns
     * false is skipped as if it were not in the log (lockview.h replays
     * each förbund's log up to its lock). The caller makes sure what it
     * keeps is a consistent history, e.g. a prefix of each förbund's log. */
    bool (*keep)(const event_msg_t *ev, uint64_t seq, void *arg);
    void *keep_arg;
    /* Follow the log (the aggregator, follow.h): each chunk starts after
     * the position the target's cells say they reflect (read inside its
     * transaction) and ends at the log's end; from_seq and end_seq are
     * ignored. With once, one chunk only. */
    bool follow, once;
    uint32_t chunk; /* events per transaction; 0: 20,000 */
    /* 0, or a chunk also ends once it has read this many participant
     * records (aggregate_people): bounds the transaction's dirty pages,
     * which set the process's resident memory. */
    uint32_t max_people;
    uint32_t max_cells; /* 0, or a chunk also ends at this many changed cells */
    /* Called at each chunk's flush for every cell that changed (the cell
     * stream), or NULL. */
    aggregate_changed_fn changed;
    void *changed_arg;
    bool approvals_only; /* only the approvals' pass (with approvals) */
    /* NULL, or a look at an event's bytes before they are decoded: false
     * skips the event as keep would (a partition of a rebuild skips
     * other förbund's events without decoding them); true decodes it and
     * leaves the decision to keep. */
    bool (*keep_bytes)(const uint8_t *event, size_t len, void *arg);
} replay_t;

/* Replays [from_seq, end_seq) into target's cells, in write transactions
 * of its cells environment of at most `chunk` events each, each recording
 * the last position it applied (ledger_applied); from_seq advances as
 * they commit. Returns 0 or an LMDB error (MDB_CORRUPTED for an
 * undecodable logged event). *events counts the positions replayed. */
int replay_run(replay_t *self, ledger_t *target, uint64_t *events);

/* The aggregator's step: brings the ledger's own cells up to its log's
 * end (as a snapshot taken in each transaction sees it), in transactions
 * of at most `chunk` events (0: 20,000); `changed` as in aggregate_flush.
 * *events counts the positions applied. Returns 0 or an LMDB error. */
int replay_follow(ledger_t *ledger, aggregate_t *aggregate, uint32_t chunk, aggregate_changed_fn changed,
                  void *arg, uint64_t *events);

#endif
