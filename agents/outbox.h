/* outbox.h: the agent's durable queue of encoded events (LMDB, store.h).
 *
 * Imports put events in; the sender peeks at them in order and removes them
 * only when the collector's ack names them: an event leaves the queue only
 * after an ack, never on send. Everything survives kill -9 (LMDB commits
 * are synchronous).
 *
 * Databases in DATA/outbox:
 *   queue    be64 seq -> encoded Event (exactly the bytes that are sent)
 *   ids      16-byte event id -> be64 seq; kept after the ack, so a
 *            re-import of the same row is recognised and adds nothing
 *   natural  32-byte natural-key hash -> 16-byte id + 32-byte content hash;
 *            a later row with the same natural key and other content
 *            becomes a correction (Event.supersedes = the earlier id)
 *   window   32-byte day-free key hash -> be32 day + 16-byte id + 32-byte
 *            content hash: a person's row without a response id whose
 *            day moved by at most the item's window is a correction too
 *   imports  be64 import number -> the 16-byte ids that import queued
 *            (ids only: `withdraw` retracts them)
 *   rejected 16-byte id -> be32 reject code, be16 text length, text,
 *            encoded Event (kept for the operator; never resent)
 *   withdrawn 16-byte id -> nothing (empty value): the events
 *            outbox_withdraw took back; a row imported again under one of
 *            them is OUTBOX_WITHDRAWN, not OUTBOX_ALREADY
 *   unkeyed  32-byte natural-key hash -> 16-byte id: the natural keys a
 *            withdrawal forgot, each with the id it named then, so a
 *            withdrawal repeated by response id is known as done
 *            (outbox_withdrawn_id). Keyed hashes only, as in "natural".
 *   meta     "next_seq", "next_batch", "next_import" -> be64
 *            "scrubs" -> be64, scrubs so far (see below)
 *
 * "window" and "imports" came later, and "withdrawn" and "unkeyed" later
 * still; opening an older outbox creates them empty: rows imported before
 * have no day-free key (a changed date then corrects only on the same
 * day), their imports no number, and rows withdrawn before count as
 * OUTBOX_ALREADY when imported again (and a repeated withdrawal by
 * response id as unknown) as they did then.
 *
 * Events that leave the queue (acknowledged, or removed by outbox_erase)
 * do not stay readable in data.mdb: LMDB keeps old bytes in the pages it
 * frees and in the unused middle of pages (store/scrub.h). A scrub wipes
 * all that free space with zeros (store_scrub_wipe): at once for an
 * erasure (outbox_scrub), and for acks when an ack empties the queue,
 * at the first ack OUTBOX_SCRUB_INTERVAL_S seconds after the last scrub
 * while a backlog drains, and at outbox_close. A scrub first reopens this
 * process's environment (its page buffers may hold old bytes) and counts
 * itself in meta "scrubs"; every other process that has the outbox open
 * reopens before its next write when it sees the count change. What a
 * kill -9 or power loss leaves unscrubbed goes at the next scrub.
 *
 * Errors: a function that can fail returns a fin_err_t (err.h) and writes
 * the reason (LMDB's or the system's text) into (err, errlen): FIN_EFULL
 * when the disk or the map is full, FIN_ECORRUPT, FIN_EVERSION, FIN_EIO,
 * FIN_ENOMEM, FIN_EINTERNAL. What a caller branches on besides failure
 * comes back in out-parameters, never as an error: whether an item was new,
 * a correction or a duplicate (outbox_item_t.result, outbox_put_stats_t)
 * and where an erased target was (outbox_target_t).
 *
 * Not here: building events (import.c, erasure.c), the network (sender.c). */
#ifndef FINSAM_OUTBOX_H
#define FINSAM_OUTBOX_H

#include "err.h"
#include "scrub.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OUTBOX_ID_LEN 16
#define OUTBOX_HASH_LEN 32
/* While a backlog drains, acknowledged events are scrubbed this often. */
#define OUTBOX_SCRUB_INTERVAL_S 60

typedef struct outbox_t outbox_t;

/* What outbox_put decided for one item (an out-parameter, not an error:
 * a duplicate is a normal outcome). */
typedef enum {
    OUTBOX_NEW,        /* queued */
    OUTBOX_CORRECTION, /* queued with supersedes = an earlier event's id */
    OUTBOX_ALREADY,    /* id seen before (earlier import or earlier in this batch): nothing added */
    OUTBOX_WITHDRAWN,  /* id seen before and withdrawn since (outbox_withdraw): nothing added, so a
                          withdrawn row imported again is not sent again */
} outbox_result_t;

/* One event to queue. The caller fills everything above `result`. */
typedef struct {
    uint8_t id[OUTBOX_ID_LEN];
    uint8_t content[OUTBOX_HASH_LEN]; /* content hash (anon_hash) */
    bool has_natural;
    uint8_t natural[OUTBOX_HASH_LEN]; /* natural-key hash, if has_natural */
    /* A second, day-free key (has_window): an earlier event under it whose
     * day is at most window_days from `day` is corrected too. */
    bool has_window;
    uint8_t window[OUTBOX_HASH_LEN];
    int32_t day, window_days;
    const uint8_t *bytes; /* encoded Event without supersedes; borrowed */
    size_t len;
    outbox_result_t result; /* out */
    int32_t prior_day;      /* out: a correction's earlier day when known, else -1 */
} outbox_item_t;

typedef struct {
    size_t added, corrected, already;
    uint64_t import_no; /* > 0: the number under which the added ids are kept */
    size_t withdrawn;   /* OUTBOX_WITHDRAWN items (not in `already`) */
} outbox_put_stats_t;

/* One rejection from an Ack. */
typedef struct {
    const uint8_t *id; /* OUTBOX_ID_LEN bytes */
    int code;          /* RejectCode */
    const char *text;
} outbox_rejection_t;

/* Opens (creating) the outbox in directory `dir`. Returns FIN_OK, or a
 * code with "DIR: reason" in err and *out NULL. */
fin_err_t outbox_open(outbox_t **out, const char *dir, char *err, size_t errlen);

/* Scrubs what acks left unscrubbed (waiting up to 2 s for readers), then
 * closes; NULL-safe, sets *self_p to NULL. */
void outbox_close(outbox_t **self_p);

/* Queues all n items in ONE write transaction: either every new item is
 * stored or none is. Each item's result is set (also in a dry run). When
 * dry_run is true the transaction is aborted after deciding, so nothing is
 * stored but the results and stats are exactly what a real put would do.
 * Returns FIN_OK (committed or dry run) or a code with the reason in err
 * (nothing stored; FIN_EFULL: the disk or the map is full). The items'
 * bytes stay the caller's. */
fin_err_t outbox_put(outbox_t *self, outbox_item_t *items, size_t n, bool dry_run, outbox_put_stats_t *stats,
                     char *err, size_t errlen);

/* Calls fn with each event id import number import_no queued (ids only,
 * inside one read transaction). Returns FIN_OK, FIN_ENOTFOUND (no such
 * import) or a code (err). */
typedef int (*outbox_id_fn)(const uint8_t id[OUTBOX_ID_LEN], void *arg);
fin_err_t outbox_import_ids(outbox_t *self, uint64_t import_no, outbox_id_fn fn, void *arg, char *err,
                            size_t errlen);

/* A withdrawal, in ONE write transaction: queues the n retraction items
 * (each item's result: OUTBOX_NEW, or OUTBOX_ALREADY when queued before;
 * no natural keys) and forgets the natural and day-free keys that name
 * any of their n targets, so a row imported again later with other
 * content is a new event, never a correction of one the collector has
 * withdrawn. It remembers the targets ("withdrawn": the same row imported
 * again is OUTBOX_WITHDRAWN) and the natural keys it forgot ("unkeyed",
 * outbox_withdrawn_id). Every target must be an id this outbox queued
 * (outbox_is_known). Returns FIN_OK or a code with the reason in err
 * (nothing stored). */
fin_err_t outbox_withdraw(outbox_t *self, const uint8_t (*targets)[OUTBOX_ID_LEN], outbox_item_t *items,
                          size_t n, outbox_put_stats_t *stats, char *err, size_t errlen);

/* Sets *known: this outbox queued id once. Returns FIN_OK or a code (err). */
fin_err_t outbox_is_known(outbox_t *self, const uint8_t id[OUTBOX_ID_LEN], bool *known, char *err,
                          size_t errlen);

/* The latest id queued under natural key `natural`. Returns FIN_OK,
 * FIN_ENOTFOUND or a code (err). */
fin_err_t outbox_natural_id(outbox_t *self, const uint8_t natural[OUTBOX_HASH_LEN], uint8_t id[OUTBOX_ID_LEN],
                            char *err, size_t errlen);

/* The id a withdrawal took back under natural key `natural` (whose entry
 * it forgot; see outbox_withdraw), for a withdrawal repeated by response
 * id. Asked after outbox_natural_id: a later row under the same key is
 * found there. Returns FIN_OK, FIN_ENOTFOUND or a code (err). */
fin_err_t outbox_withdrawn_id(outbox_t *self, const uint8_t natural[OUTBOX_HASH_LEN],
                              uint8_t id[OUTBOX_ID_LEN], char *err, size_t errlen);

/* Limits what outbox_put may add: a put that adds events and would leave
 * the queue's pages over `bytes` is refused whole with FIN_EFULL and a
 * reason naming the quota; nothing queued is ever dropped for it.
 * 0 (the default): no limit but the disk's. */
void outbox_set_quota(outbox_t *self, uint64_t bytes);

/* Calls fn for up to `max` queued events with seq >= from_seq, in seq
 * order, inside one short read transaction. `bytes` is valid only during
 * the call. fn returns 0 to go on, nonzero to stop early. Returns the
 * number of events passed to fn, or -1 (LMDB error). */
typedef int (*outbox_peek_fn)(uint64_t seq, const uint8_t *bytes, size_t len, void *arg);
int outbox_peek(outbox_t *self, uint64_t from_seq, size_t max, outbox_peek_fn fn, void *arg);

/* Applies an ack in one write transaction: accepted ids leave the queue;
 * rejected ones leave it and are kept in "rejected" with their reason.
 * Ids no longer queued (an earlier ack of a resend) are ignored. Sets
 * *removed (if not NULL) to the number of events that left the queue.
 * Then scrubs the accepted events' old bytes if one is due (see above; a
 * failed scrub is logged and tried again later). Returns FIN_OK or a code
 * with the reason in err (then nothing changed). */
fin_err_t outbox_ack(outbox_t *self, const uint8_t *const *accepted, size_t naccepted,
                     const outbox_rejection_t *rejected, size_t nrejected, size_t *removed, char *err,
                     size_t errlen);

/* Reserves `n` batch sequence numbers durably (so they never repeat across
 * restarts) and sets *first to the first. Returns FIN_OK or a code (err). */
fin_err_t outbox_reserve_batches(outbox_t *self, uint64_t n, uint64_t *first, char *err, size_t errlen);

/* Events waiting in the queue, rejected events kept, and ids ever queued
 * (each may be NULL). Returns FIN_OK or a code (err). */
fin_err_t outbox_count(outbox_t *self, size_t *queued, size_t *rejected, size_t *known, char *err,
                       size_t errlen);

/* Calls fn for each kept rejection (id, code, text) for `status`; text is
 * valid only during the call. Returns FIN_OK or a code (err). */
typedef void (*outbox_rejected_fn)(const uint8_t *id, int code, const char *text, void *arg);
fin_err_t outbox_each_rejected(outbox_t *self, outbox_rejected_fn fn, void *arg, char *err, size_t errlen);

/* ---- erasure ------------------------------------------------------------ */

/* Where outbox_erase found the event to erase. */
typedef enum {
    OUTBOX_TARGET_UNKNOWN,  /* never queued here: nothing was done */
    OUTBOX_TARGET_GONE,     /* queued once, no longer: acknowledged, or removed by an earlier erase */
    OUTBOX_TARGET_QUEUED,   /* still queued (maybe in flight): removed */
    OUTBOX_TARGET_REJECTED, /* kept as rejected by the collector: removed */
} outbox_target_t;

/* Asked about the target's bytes when they are still here (queued or
 * rejected): FIN_OK to go on, or a code with its reason in err to refuse;
 * outbox_erase then returns that code, err as the check wrote it. */
typedef fin_err_t (*outbox_check_fn)(const uint8_t *bytes, size_t len, void *arg, char *err, size_t errlen);

/* An erasure of event `target`, in ONE write transaction. A target this
 * outbox never queued: nothing is stored, *where = OUTBOX_TARGET_UNKNOWN,
 * returns FIN_OK. Otherwise queues `erasure` (its result: OUTBOX_NEW, or
 * OUTBOX_ALREADY when its id was queued before, which adds nothing; no
 * natural key), and when the target is still queued or kept as rejected,
 * removes it there, removes its natural-key entry (a corrected row
 * imported later is then a new event, not a correction of one the
 * collector may never have had); outbox_scrub then wipes its bytes. The
 * target's id stays known: importing the same row again adds nothing.
 * check (may be NULL) can refuse the target. Returns FIN_OK, check's
 * code, or a code of the outbox (nothing stored); the reason is in err. */
fin_err_t outbox_erase(outbox_t *self, const uint8_t target[OUTBOX_ID_LEN], outbox_item_t *erasure,
                       outbox_check_fn check, void *arg, outbox_target_t *where, char *err, size_t errlen);

/* Wipes the free space of DATA/outbox/data.mdb (see above), where the
 * events removed so far (acknowledged, or by outbox_erase) and anything
 * older left bytes, waiting up to wait_ms for readers that began before
 * the last removal. Fills report. Returns FIN_OK, or a code with the
 * reason in err. */
fin_err_t outbox_scrub(outbox_t *self, int wait_ms, store_scrub_report_t *report, char *err, size_t errlen);

#endif
