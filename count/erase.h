/* erase.h: taking an event's content out of the collector for good.
 *
 * A retraction subtracts an event from the cells but keeps its bytes in the
 * log, and replay serves them forever. An erasure also removes the bytes:
 *
 *  1. The Erasure event naming it is logged at a new position (sent by
 *     the site, or written by erase_run for `finsamctl erase`), and the
 *     target marked as waiting (erase_mark), in the transaction that
 *     acknowledges it. The aggregator, which keeps the cells beside the
 *     log (replay.h), subtracts the target at the Erasure's position
 *     exactly as a retraction does (nothing if it was already retracted
 *     or superseded), so the cells change at a log position of their own
 *     and a rebuild sees the same thing. Once the cells have passed that
 *     position, erase_finish replaces the target's log entry by a
 *     tombstone at the same position (an Event with the same id, förbund
 *     and catalogue version, occurred_at coarsened to the month,
 *     supersedes kept, body `erased`). Meanwhile the target counts as
 *     erased: no retraction, no second erasure. The dedupe entry stays: a
 *     resend of the erased id is acknowledged as a duplicate and nothing is
 *     stored again. Its content cannot be compared (nothing of it is kept,
 *     not even a hash: a hash of a low-entropy event such as an anonymous
 *     staff answer would let anyone holding the tombstone confirm a guess).
 *  2. erase_scrub_run: LMDB copies pages on write, so the old bytes still
 *     lie in pages the erasing transaction (and earlier ones) freed, and in
 *     unused space of pages written from LMDB's recycled page buffers.
 *     One more small commit makes both meta pages point at trees without
 *     them; then, holding LMDB's writer lock, data.mdb is scanned for the
 *     exact old byte sequences and every copy is overwritten with zeros.
 *
 * Why overwriting is safe: once the erasing transaction committed, no tree
 * reachable from either meta page holds the old bytes (the log entry holds
 * the tombstone; ids occur elsewhere only as dedupe keys, without the event
 * bytes around them). So a complete copy lies only in a freed page or in
 * the unused middle of a page, never in live data or in LMDB's own
 * structure (page headers, node headers, pointers), and the file stays a
 * valid LMDB file. The writer lock keeps any other process from reusing a
 * freed page while it is overwritten. Readers that began before the erase
 * still see the old tree: the scrub waits for them (up to wait_ms); one
 * still open after that reads zeros in place of the erased event, which is
 * reported.
 *
 * Out of reach: copies already delivered to stream subscribers with
 * access = "all" or replayed, and backups taken before the erase. */
#ifndef FINSAM_ERASE_H
#define FINSAM_ERASE_H

#include "aggregate.h"
#include "catalogue.h"
#include "ledger.h"

#include <stdbool.h>
#include <stdint.h>

/* ---- what the scrub needs, kept until it ran (store/scrub.h) ----------- */

typedef struct erase_scrub_t erase_scrub_t;

erase_scrub_t *erase_scrub_new(void);
/* Frees; NULL-safe, sets *self_p to NULL. */
void erase_scrub_destroy(erase_scrub_t **self_p);
/* Forgets everything added: a retried transaction starts over. */
void erase_scrub_clear(erase_scrub_t *self);
/* Number of byte sequences waiting to be scrubbed. */
size_t erase_scrub_size(const erase_scrub_t *self);

typedef struct {
    uint64_t copies;  /* copies of old bytes found and overwritten in data.mdb */
    uint64_t scanned; /* bytes of data.mdb read */
    int old_readers;  /* readers from before the erase still open at the scan */
    double seconds;
} erase_scrub_report_t;

/* Step 2 above, after the erasing transaction (LMDB transaction id
 * erase_txnid, see erase_txnid()) committed: one small commit, then waits
 * up to wait_ms for readers older than erase_txnid, scans and overwrites.
 * Clears self on success. Returns 0, or -1 with err (the erasure itself
 * stays committed; only copies in free space may remain). */
int erase_scrub_run(erase_scrub_t *self, ledger_t *ledger, uint64_t erase_txnid, int wait_ms,
                    erase_scrub_report_t *report, char *err, size_t errlen);

/* ---- inside a write transaction ---------------------------------------- */

/* Whether `target` can be erased: REJECT_NONE, or REJECT_UNKNOWN_TARGET
 * with a reason in why (a retraction or an erasure holds no content; an
 * erased event is gone already). */
reject_code_t erase_check_target(const event_msg_t *target, char *why, size_t whylen);

/* Marks the stored event at target_seq as erased by the Erasure at by_seq
 * (in lt, beside that Erasure's append): its bytes stay until the
 * aggregator has subtracted it at by_seq, then erase_finish replaces them
 * with the tombstone. The caller has checked erase_check_target and
 * erase_waiting. Returns 0 or an LMDB error. */
int erase_mark(ledger_txn_t *lt, uint64_t target_seq, uint64_t by_seq);
/* Whether the event at seq waits for its tombstone: erased already. */
bool erase_waiting(MDB_txn *txn, const ledger_t *ledger, uint64_t seq);

/* Step 1's second half and step 2, for every erasure the cells have
 * passed (ledger_applied): tombstones in place of the bytes, the count in
 * meta "erasures", in one write transaction; then the scrub. Call it from
 * the thread that writes the ledger. *finished: how many. Returns 0, or
 * -1 with err. */
int erase_finish(ledger_t *ledger, int wait_ms, uint64_t *finished, erase_scrub_report_t *report, char *err,
                 size_t errlen);

/* The LMDB id of the transaction lt will commit as: what erase_scrub_run
 * waits for. */
uint64_t erase_txnid(const ledger_txn_t *lt);

/* True if the decoded event is a tombstone. */
bool erase_is_tombstone(const event_msg_t *ev);

/* ---- `finsamctl erase` ------------------------------------------------- */

typedef struct {
    const char *forbund; /* NULL with an id: looked up in every förbund */
    bool has_id;
    uint8_t id[16];
    bool has_before;
    int64_t before; /* erase every content event of forbund with occurred_at < before */
    int wait_ms;    /* how long the scrub waits for readers from before the erase */
} erase_request_t;

typedef struct {
    uint64_t erased;    /* events erased now */
    uint64_t already;   /* targets found erased already */
    uint64_t first_seq; /* positions of the Erasure events written (0 if none) */
    uint64_t last_seq;
    erase_scrub_report_t scrub;
} erase_report_t;

typedef enum {
    ERASE_OK = 0,
    ERASE_NOT_FOUND,   /* no such id (in that förbund) */
    ERASE_AMBIGUOUS,   /* the id is stored by several förbund: name one */
    ERASE_NOT_CONTENT, /* a retraction or an erasure: nothing to erase */
    ERASE_STORE,       /* LMDB or I/O failure; err says more */
} erase_result_t;

/* Parses "YYYY-MM" into the unix time the month starts in Europe/Stockholm
 * (the process TZ); -1 if malformed. */
int erase_parse_month(const char *text, int64_t *start);

/* Erases what req names, as the operator: one write transaction that
 * writes an Erasure event (by_operator) for each target and applies it,
 * then the scrub. Works while the collector runs (LMDB serialises the
 * writers of both processes). Fills report; err holds a reason for any
 * result but ERASE_OK. */
erase_result_t erase_run(ledger_t *ledger, const catalogue_t *catalogue, const erase_request_t *req,
                         erase_report_t *report, char *err, size_t errlen);

#endif
