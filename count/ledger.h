/* ledger.h: the collector's LMDB schema — what is stored, under which key.
 *
 *   log        be64 seq -> [u8 ver=1][be64 received_ms][encoded Event]
 *              append-only positions; seq is the event-log position
 *              (1, 2, ...) and the sequence number of the event and
 *              aggregate streams. An erased event's bytes are replaced in
 *              place by a tombstone Event (body `erased`, erase.h): the
 *              position stays, so sequences stay contiguous.
 *   dedupe     förbund (8 bytes, NUL-padded) + 16-byte event id -> be64 seq
 *              scoped per förbund: one förbund's ids never answer for
 *              another's. Agents make ids month-prefixed, so inserts land
 *              near the right edge of each förbund's part of the B-tree
 *   retracted  be64 seq -> be64 seq of the retraction or correction
 *   agents     Z85 public key -> ledger_agent_t (cursor and counters)
 *   meta       "schema" -> be32 schema version
 *              "erasures" -> be64 events erased so far (erase.c)
 *   erasing    be64 seq of an erased event -> be64 seq of its Erasure, while
 *              its bytes wait for the aggregator to pass the erasure
 *              (erase.h); then the tombstone replaces them and the entry goes
 *
 * The derived state, in its own environment DIR/cells (the aggregator's,
 * follow.h; recomputable from the log at any time):
 *   cells-meta "applied" -> be64: the last log position the cells reflect
 *   cells      cell key -> state (cell.h), kept by aggregate.c
 *   participants  förbund + pseudonym -> participant record (persons.h)
 *   dists      cell key + be32 day value -> be64 count: the distribution
 *              behind a median_days month cell (diststore.h), kept by
 *              aggregate.c; quarters and years sum their months
 *   published  cell key -> the cell's state as last published (publish.h)
 *   published-dists  the same layout as dists: each cell's distribution
 *              as last published
 *   approvals  förbund + period -> the period's approval state, and
 *              förbund + period + be64 seq -> one step of its history
 *              (approval.h); derived from the approval events of the log
 *
 * Everything for one group commit happens in one write transaction started
 * by ledger_write(), which reads the next log position from the log itself
 * inside the transaction, so a transaction retried after map growth reuses
 * the same positions and an event appended by another process (`finsamctl
 * erase` while the collector runs) is never overwritten. */
#ifndef FINSAM_LEDGER_H
#define FINSAM_LEDGER_H

#include "codec.h"
#include "err.h"
#include "store.h"

#include <stdbool.h>
#include <stdint.h>

/* 2: participant records hold per-(measure, month, mode) reference counts.
 * 3: ... and gender and age band, for those slices (aggregate.c record
 *    version 3).
 * 4: dedupe keyed by (förbund, id); erased events as tombstones; and the
 *    cell state's new field (cell.h).
 * 5: participant records of version 4 (aggregate.c): paired observations
 *    carry their month, log order, gender and age band, for episodes and
 *    the slices of paired measures; cells of paired measures per episode;
 *    exact distributions of day counts (dists, published-dists), whose
 *    cells no longer keep day buckets in hist. Only derived state and the
 *    published day-count cells differ from 4, so a store of 4 was
 *    upgraded by the collector of 0.1 (report/upgrade.c then): the
 *    derived state was recomputed from the log.
 * 6: everything stored is a specified format: participant records of
 *    version 5 (persons.h) name measures by a keyed SipHash-2-4
 *    (secret_name_hash) instead of FNV-1a; cell states are 24
 *    little-endian int64 (cell.h, the same bytes as 5 on x86_64); agent
 *    records are encoded field by field (the same bytes). A store of 5 is
 *    migrated by the operator, `finsamctl migrate` (migrate.h): the
 *    derived state is recomputed from the log, the publication kept as it
 *    is. Neither the collector nor finsamctl's other commands open it.
 *    Older stores are refused.
 *    Issue 18 added the `approvals` database to schema 6 without a new
 *    number: nothing stored before changes meaning, the database is
 *    derived from approval events (which no earlier store holds) and is
 *    created, empty, the first time this release opens a store for
 *    writing (the collector does at start).
 *    Issue 17 added the `erasing` database the same way, and moved the
 *    derived state (cells, participants, dists) into the cells
 *    environment DIR/cells: the first open for writing drops those three
 *    from DIR (they are derived from the log) and the collector's
 *    aggregator recomputes them there. Their formats are unchanged. */
#define LEDGER_SCHEMA_VERSION 6
/* The one schema a migration starts from (migrate.h). */
#define LEDGER_SCHEMA_PREVIOUS 5
/* Stamped by the migration's first transaction and replaced by
 * LEDGER_SCHEMA_VERSION in its last: a migration cut short. Every release
 * refuses it (an older one as an unknown version), only `finsamctl
 * migrate` finishes it. */
#define LEDGER_SCHEMA_MIGRATING (LEDGER_SCHEMA_VERSION + 1000)
#define LEDGER_REJECT_SLOTS 16
#define LEDGER_FORBUND_LEN 8

/* The ledger's databases. Those before LEDGER_DB_MAIN_COUNT live in the
 * ledger's own environment (DIR/data.mdb), the record of what was
 * received and published; the rest, the derived state, in the cells
 * environment (DIR/cells/data.mdb), which the aggregator writes beside
 * ingest (follow.h) and `rebuild` can always recompute. A transaction
 * reads only the databases of its own environment: ledger_dbi of a cells
 * database is for a transaction of ledger_cells_write / ledger_cells_read. */
typedef enum {
    LEDGER_DB_LOG,
    LEDGER_DB_DEDUPE,
    LEDGER_DB_RETRACTED,
    LEDGER_DB_AGENTS,
    LEDGER_DB_META,
    LEDGER_DB_PUBLISHED,
    LEDGER_DB_PUBLISHED_DISTS,
    LEDGER_DB_APPROVALS,
    LEDGER_DB_ERASING,
    LEDGER_DB_MAIN_COUNT,
    LEDGER_DB_CELLS = LEDGER_DB_MAIN_COUNT,
    LEDGER_DB_PARTICIPANTS,
    LEDGER_DB_DISTS,
    LEDGER_DB_CELLS_META,
    LEDGER_DB_COUNT
} ledger_db_t;

/* Per-agent record, stored field by field in declaration order, integers
 * little-endian (200 bytes: le32 version, the 12 förbund bytes, then 23
 * le64; the bytes of this struct on x86_64, as before schema 6);
 * `version` guards the layout. */
typedef struct {
    uint32_t version;
    char forbund[12];
    uint64_t last_batch_seq;
    uint64_t batches;
    uint64_t events_stored;
    uint64_t duplicates;
    int64_t first_seen_ms;
    int64_t last_seen_ms;
    uint64_t rejects[LEDGER_REJECT_SLOTS]; /* indexed by RejectCode */
    uint64_t queued_at_agent;              /* the agent's outbox at its last batch */
} ledger_agent_t;

typedef struct ledger_t ledger_t;

/* A write transaction in progress: of the ledger's environment
 * (ledger_write: txn writes, cells is NULL), or of the cells environment
 * (ledger_cells_write: cells writes, txn is a read snapshot of the log). */
typedef struct {
    MDB_txn *txn;
    ledger_t *ledger;
    uint64_t next_seq; /* next log position inside this transaction (or snapshot) */
    MDB_txn *cells;    /* the cells environment's write transaction, or NULL */
} ledger_txn_t;

/* Opens the ledger in directory `dir` (created unless readonly). FIN_OK,
 * or a code with the reason in err: FIN_EVERSION for a store of another
 * schema version (the message names `finsamctl migrate` where it helps),
 * else the store's failure (fin_from_mdb). */
fin_err_t ledger_open(ledger_t **out, const char *dir, bool readonly, char *err, size_t errlen);
/* Opens the ledger in `dir` for its migration (migrate.h) when it holds
 * the previous schema, LEDGER_SCHEMA_PREVIOUS, or a migration cut short,
 * LEDGER_SCHEMA_MIGRATING: *out is then open for writing and *version
 * says which. *out is NULL (and *version LEDGER_SCHEMA_VERSION) when the
 * store is current. Never creates a store: FIN_ENOTFOUND when `dir` holds
 * none. Returns FIN_OK, or a code with the reason in err (FIN_EVERSION for
 * another version). */
fin_err_t ledger_open_previous(ledger_t **out, const char *dir, uint32_t *version, char *err, size_t errlen);
/* meta "erasures" as txn sees it: events erased (tombstoned) so far. */
uint64_t ledger_erasures(MDB_txn *txn, const ledger_t *self);
/* Writes `version` into meta "schema" inside lt. 0 or an LMDB error. */
int ledger_stamp_schema(ledger_txn_t *lt, uint32_t version);
/* Opens a scratch ledger (no fsync) for recomputation. */
fin_err_t ledger_open_scratch(ledger_t **out, const char *dir, char *err, size_t errlen);
void ledger_close(ledger_t **self_p);

store_t *ledger_store(ledger_t *self);
MDB_dbi ledger_dbi(const ledger_t *self, ledger_db_t db);

/* The next log position after the last committed event. */
uint64_t ledger_next_seq(const ledger_t *self);

/* Runs fn in one write transaction (grow-and-retry, see store_write) and
 * commits durably. Returns 0 when committed. */
typedef int (*ledger_write_fn)(ledger_txn_t *lt, void *ctx);
int ledger_write(ledger_t *self, ledger_write_fn fn, void *ctx);

/* Runs fn in one write transaction of the cells environment
 * (grow-and-retry, see store_write) and commits it without sync (the
 * cells are derived: store.h STORE_DERIVED, made again after a system
 * restart that left them unsynced); lt->cells is
 * that transaction and lt->txn a read snapshot of the log taken inside
 * it, so LMDB's writer lock of the log is never held: ingest goes on.
 * Returns 0 when committed. */
int ledger_cells_write(ledger_t *self, ledger_write_fn fn, void *ctx);

/* A read transaction of the cells environment (end it with
 * ledger_cells_read_end). 0 or an LMDB error. */
int ledger_cells_read(ledger_t *self, MDB_txn **txn);
void ledger_cells_read_end(ledger_t *self, MDB_txn *txn);
store_t *ledger_cells_store(ledger_t *self);

/* The last log position the cells of `cells` (a transaction of the cells
 * environment) reflect: 0 before any. */
uint64_t ledger_applied(MDB_txn *cells, const ledger_t *self);
/* Records it inside lt->cells. 0 or an LMDB error. */
int ledger_set_applied(ledger_txn_t *lt, uint64_t seq);
/* ledger_applied as of the last commit of the cells (any process):
 * opens a short read transaction. */
uint64_t ledger_applied_now(ledger_t *self);

/* The directory the ledger was opened from (valid until ledger_close). */
const char *ledger_dir(const ledger_t *self);

/* Runs fn inside a write transaction that is always aborted: fn holds
 * LMDB's writer lock (no other thread or process writes meanwhile, so no
 * freed page is reused) and must change nothing in the store. Returns fn's
 * result, or an LMDB error from beginning the transaction. */
int ledger_locked(ledger_t *self, ledger_write_fn fn, void *ctx);

/* Looks up an event id of förbund `forbund`. 0 with *seq set,
 * MDB_NOTFOUND, or an LMDB error. */
int ledger_find(MDB_txn *txn, const ledger_t *self, const char *forbund, const uint8_t id[16], uint64_t *seq);

/* Looks up an event id in every förbund: *count is how many förbund hold
 * it; when it is at least 1, forbund and *seq name the first of them (in
 * key order). Scans the whole dedupe index (an operator's lookup, not for
 * the ingest path). Returns 0 or an LMDB error. */
int ledger_find_any(MDB_txn *txn, const ledger_t *self, const uint8_t id[16],
                    char forbund[LEDGER_FORBUND_LEN + 1], uint64_t *seq, int *count);

/* The event bytes of a record of the `log` database (the value a cursor
 * over LEDGER_DB_LOG returns): 0 with *bytes and *len pointing into it, or
 * MDB_CORRUPTED for a record too short to hold its header. */
int ledger_log_bytes(const MDB_val *record, const uint8_t **bytes, size_t *len);

/* The event of such a record, decoded: 0 with *ev the caller's (free with
 * codec_free_event), or MDB_CORRUPTED with the reason in why. */
int ledger_log_event(const MDB_val *record, event_msg_t **ev, char *why, size_t whylen);

/* Appends an event of förbund `forbund` (with its dedupe entry) at the
 * next position. MDB_KEYEXIST if that förbund already stored the id: then
 * nothing is written and the transaction stays good for the next append. */
int ledger_append(ledger_txn_t *lt, const char *forbund, const uint8_t id[16], const uint8_t *bytes,
                  size_t len, int64_t received_ms, uint64_t *seq);

/* Replaces the bytes of the event at seq (keeping its position, record
 * version and received time): how erase.c puts a tombstone in place of an
 * erased event. 0, MDB_NOTFOUND or an LMDB error. */
int ledger_replace(MDB_txn *txn, const ledger_t *self, uint64_t seq, const uint8_t *bytes, size_t len);

/* Reads the event at seq. *bytes points into the map (valid until the
 * transaction ends). 0, MDB_NOTFOUND or an LMDB error. */
int ledger_get(MDB_txn *txn, const ledger_t *self, uint64_t seq, const uint8_t **bytes, size_t *len,
               int64_t *received_ms);

/* Marks target_seq as retracted by by_seq: MDB_KEYEXIST if it already was. */
int ledger_mark_retracted(MDB_txn *txn, const ledger_t *self, uint64_t target_seq, uint64_t by_seq);
bool ledger_is_retracted(MDB_txn *txn, const ledger_t *self, uint64_t seq);
/* The position of the retraction or correction of seq: 0 with *by_seq,
 * MDB_NOTFOUND, or an LMDB error. */
int ledger_retracted_by(MDB_txn *txn, const ledger_t *self, uint64_t seq, uint64_t *by_seq);

/* Erasures waiting for their tombstone (erase.h): seq was erased by the
 * Erasure at by_seq, whose subtraction the aggregator has not passed yet.
 * mark: MDB_KEYEXIST if seq already waits. get: 0 with *by_seq,
 * MDB_NOTFOUND, or an LMDB error. */
int ledger_mark_erasing(MDB_txn *txn, const ledger_t *self, uint64_t seq, uint64_t by_seq);
int ledger_erasing(MDB_txn *txn, const ledger_t *self, uint64_t seq, uint64_t *by_seq);

/* Agent records: get fills a zeroed record when the key is unknown. */
int ledger_agent_get(MDB_txn *txn, const ledger_t *self, const char *key_z85, ledger_agent_t *out);
int ledger_agent_put(MDB_txn *txn, const ledger_t *self, const char *key_z85, const ledger_agent_t *rec);

#endif
