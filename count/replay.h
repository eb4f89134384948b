/* replay.h: the event log replayed through aggregate_event, each logged
 * event with the meaning it had at ingest — the one way derived state
 * (cells, participant records, distributions) is recomputed from the log:
 * into a scratch ledger by `finsamctl rebuild --verify` (rebuild.h), and
 * in place by the migration of an older store (migrate.h) and the
 * recount of cells of another catalogue (recount.h).
 *
 * An event adds itself; a retraction subtracts its target; a correction
 * subtracts the event it supersedes and adds itself. Erased events
 * (tombstones, erase.h) add nothing and are never subtracted: whatever
 * they had added was subtracted when they were erased. A tombstone keeps
 * `supersedes`, so an erased correction still subtracts what it replaced,
 * at its own position, as it did at ingest; an erasure event itself
 * changes nothing here. Only accepted events are in the log, so no
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
} replay_t;

/* Replays [from_seq, end_seq) into target, in write transactions of at
 * most 20,000 events each; from_seq advances as they commit. Returns 0 or
 * an LMDB error (MDB_CORRUPTED for an undecodable logged event). *events
 * counts the events replayed. */
int replay_run(replay_t *self, ledger_t *target, uint64_t *events);

#endif
