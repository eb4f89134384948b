/* scrub.h: overwriting the old bytes of deleted values in an LMDB file.
 *
 * LMDB copies a page on write and never clears what it frees: a deleted
 * value stays readable in data.mdb, in freed pages and in the unused middle
 * of pages written from recycled page buffers, until LMDB happens to reuse
 * that space. Two ways to overwrite it, both holding LMDB's writer lock so
 * that no writer reuses a page meanwhile:
 *
 *  - store_scrub_run overwrites exact copies of values the caller deleted
 *    (it keeps their hashes), without knowing LMDB's page layout. The
 *    collector erases this way (count/erase.c).
 *  - store_scrub_wipe overwrites all free space, whatever it holds, and
 *    knows LMDB 0.9's page layout. The agent's outbox wipes this way
 *    (agents/outbox.c): it deletes at the front of its queue all the time,
 *    which leaves cut-off copies that no search for exact copies finds.
 *
 * What the caller must do first (neither function checks it):
 *  - after the deleting transaction, at least one more transaction has
 *    committed, so the meta page a reader could fall back to no longer
 *    points at a tree with the old values either;
 *  - a process whose LMDB page buffers once held the old bytes reopens its
 *    environment (store_reopen) before it writes again, or LMDB may write
 *    them into the unused middle of a new page (store.h).
 *
 * Not here: which values were deleted (the caller knows), coordinating
 * the reopen of other processes (ledger.c, outbox.c do it through a
 * counter in their meta database). */
#ifndef FINSAM_SCRUB_H
#define FINSAM_SCRUB_H

#include "store.h"

#include <stddef.h>
#include <stdint.h>

#define STORE_SCRUB_ID_LEN 16

/* ---- exact copies ------------------------------------------------------
 *
 * The one design decision: only exact copies of whole values are
 * overwritten. A value that is no longer in any tree reachable from either
 * meta page can only lie in free space, never in live data nor in LMDB's
 * own structure (page and node headers, pointers), so overwriting it keeps
 * the file a valid LMDB file without knowing LMDB's page layout. A looser
 * pattern could match live data and corrupt it. The caller must make sure
 * that no live value holds a kept byte sequence (a scrub of a value that
 * is still stored corrupts it).
 *
 * Finding candidates is cheap because every value is an encoded finsam
 * Event, which holds its 16-byte id as protobuf field 1: the bytes
 * `0a 10 <id>`. The scan stops only where those 18 bytes name a kept id and
 * compares the hash of the whole value there with the kept one. */

typedef struct store_scrub_t store_scrub_t;

/* An empty set of byte sequences to scrub; NULL if out of memory. */
store_scrub_t *store_scrub_new(void);
/* Frees; NULL-safe, sets *self_p to NULL. */
void store_scrub_destroy(store_scrub_t **self_p);
/* Forgets everything kept: a retried transaction starts over. */
void store_scrub_clear(store_scrub_t *self);
/* Forgets the sequences added after the first n: a write transaction that
 * adds to a longer-lived set and is retried or aborted takes back what it
 * added. */
void store_scrub_truncate(store_scrub_t *self, size_t n);
/* Number of byte sequences kept, and their total size. */
size_t store_scrub_size(const store_scrub_t *self);
size_t store_scrub_bytes(const store_scrub_t *self);

/* Keeps what the next scrub needs to find copies of a deleted value (len
 * bytes): its id, length, the offset of `0a 10 <id>` in it and its
 * BLAKE2b-256 hash, 56 bytes in all; never the bytes themselves. The value
 * must hold `0a 10 <id>` (an encoded Event with that id). Returns 0,
 * ENOMEM, or EINVAL if the value does not hold the id (nothing kept). */
int store_scrub_add(store_scrub_t *self, const uint8_t id[STORE_SCRUB_ID_LEN], const uint8_t *bytes,
                    size_t len);

typedef struct {
    uint64_t values;     /* byte sequences the scrub looked for */
    uint64_t copies;     /* copies found and overwritten */
    uint64_t scanned;    /* bytes of data.mdb read */
    int old_readers;     /* readers from before the deletion still open at the scan */
    double seconds;      /* waiting for readers included */
    uint64_t zeroed;     /* wipe: bytes overwritten */
    uint64_t free_pages; /* wipe: free pages that held something, now zeros */
    uint64_t gaps;       /* wipe: live pages whose unused middle held something */
    uint64_t held_pages; /* wipe: free pages a reader may still read: only their unused middle wiped */
    uint64_t odd_pages;  /* wipe: pages not understood, left as they were */
} store_scrub_report_t;

/* Readers of the environment (any process) whose snapshot is older than
 * LMDB transaction `txnid`, i.e. that may still see the deleted values,
 * after clearing the slots of dead processes. */
int store_scrub_old_readers(store_t *store, uint64_t txnid);

/* Waits up to wait_ms for readers older than `txnid` (the last deleting
 * transaction, mdb_txn_id) to finish, then, holding the writer lock, reads
 * data.mdb of `store` and overwrites every exact copy of the kept byte
 * sequences with zeros, and syncs the file. A reader still open then reads
 * zeros where a deleted value was (reported in old_readers). Clears self
 * on success. Returns 0, or -1 with err (copies may remain; self keeps
 * them for another try). The preconditions above are the caller's. */
int store_scrub_run(store_scrub_t *self, store_t *store, uint64_t txnid, int wait_ms,
                    store_scrub_report_t *report, char *err, size_t errlen);

/* ---- wiping all free space ---------------------------------------------
 *
 * The exact-copy scrub above cannot find a partial copy, and LMDB makes
 * them where values are deleted often: deleting a node moves the nodes
 * below it up the page and leaves a stale, cut-off duplicate of the moved
 * bytes in the page's unused middle, and a recycled page buffer writes
 * pieces of older pages there. The agent's outbox deletes acknowledged
 * events all the time (measured: 59 fragments holding an insats code after
 * 20,000 events were acknowledged and exactly scrubbed; in the collector's
 * ledger, 24 after `finsamctl erase --before` erased 10,000 of 20,000). A wipe therefore
 * overwrites all free space instead, whatever it holds: every free page
 * that LMDB itself could reuse now (freed by a transaction older than
 * every reader and than the last commit), every page past the last used
 * one, and the unused middle [lower, upper) of every live branch and leaf
 * page, which no reader ever reads. It needs no copy of what was deleted.
 *
 * It knows LMDB 0.9's on-disk format (page header, free-page database;
 * scrub.c says what exactly, from lmdb 0.9.24's mdb.c): it refuses a file
 * whose meta page has another magic or data version, and leaves alone any
 * page whose header does not name its own page number. Not reached: the
 * used part of free pages an old reader (or the previous meta page) may
 * still read (held_pages; their unused middle is wiped, the rest goes at a
 * later wipe), the unused end of an overflow value's last page. */

/* Waits up to wait_ms for readers older than txnid (the last deleting
 * transaction), then, holding the writer lock, wipes data.mdb of store as
 * described, and syncs the file. Returns 0, or -1 with err. */
int store_scrub_wipe(store_t *store, uint64_t txnid, int wait_ms, store_scrub_report_t *report, char *err,
                     size_t errlen);

#endif
