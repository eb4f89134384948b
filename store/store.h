/* store.h: the LMDB layer shared by the collector and the agent outbox.
 *
 * A store is one LMDB environment (one directory) with a fixed list of named
 * databases, opened once per process. Writes go through store_write(), which
 * runs a caller's function inside one write transaction and, if the map is
 * full, aborts, grows the map and runs the function again: a write never
 * fails for lack of map space, so the function must derive everything it
 * writes from its context and reset any outputs it fills.
 *
 * Caveats (as lmdb.h lists its own):
 *  - Commits are synchronous (no MDB_NOSYNC): when store_write returns 0 the
 *    data is on disk. This is what lets callers acknowledge after commit.
 *    Not so for STORE_SCRATCH and STORE_DERIVED (below).
 *  - Values read in a transaction point into the map and die with it.
 *  - One write transaction at a time per environment; keep readers short,
 *    a long reader pins pages, grows the file, and delays map growth.
 *  - The file never shrinks; store_backup() writes a compacted copy. With
 *    STORE_WRITEMAP it is as large as the map (allocated, not sparse).
 *  - Never open the same directory twice in one process, nor across fork().
 */
#ifndef FINSAM_STORE_H
#define FINSAM_STORE_H

#include <lmdb.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct store_t store_t;

typedef struct {
    const char *name; /* named database */
    unsigned flags;   /* extra mdb_dbi_open flags, e.g. MDB_DUPSORT; MDB_CREATE is implied */
} store_db_t;

/* STORE_SCRATCH: no fsync at commit (MDB_NOSYNC), for throw-away
 * environments such as `rebuild --verify`'s recomputation. Never for data
 * that is acknowledged. */
/* STORE_DERIVED: no fsync at commit (MDB_NOSYNC), for state that the
 * log can recompute and that records its own position in each commit (the
 * cells, ledger.h); never for data that is acknowledged. A process that
 * dies leaves it intact (its commits are in the page cache). A system that
 * stops without writing it back may leave it torn, so a writer records
 * durably that this boot writes it unsynced, and whoever opens it in a
 * later boot with that record still there removes its files (unsynced.h):
 * it is then missing, and a missing derived store is made, empty, even by a
 * STORE_READONLY opener. The last writer to close syncs it and drops the
 * record. Where the kernel names no boot, every commit is synced instead. */
/* STORE_WRITEMAP: a write transaction changes its pages in place in the
 * mapped file (MDB_WRITEMAP) instead of in malloc'd copies. Without it LMDB
 * keeps every page a transaction dirtied in process memory and, after the
 * commit, caches those buffers for reuse until the environment closes, so
 * the largest transaction ever written stays resident (the collector:
 * 40-90 MiB of anonymous memory, growing with the database). With it that
 * memory is the file's page cache, which the kernel writes back and
 * reclaims. The file is then as large as the map, and its blocks are
 * allocated when the map is opened or grown (posix_fallocate), so a full
 * disk fails the growth with ENOSPC (EFBIG over RLIMIT_FSIZE), which
 * store_write returns, instead of a SIGBUS when a page without a block is
 * written. Growth doubles the map by at most 1 GiB at a time, so less than
 * 1 GiB of the allocated file is unused once the map is past 1 GiB. Every
 * process that writes an environment must open it with the same choice
 * (lmdb.h: do not mix MDB_WRITEMAP and not on one environment). Changes
 * nothing with STORE_READONLY, nor with STORE_SCRATCH (which maps writably
 * anyway, and is neither synced nor preallocated). */
enum { STORE_READONLY = 1, STORE_SCRATCH = 2, STORE_DERIVED = 4, STORE_WRITEMAP = 8 };

/* Opens (creating if needed, unless STORE_READONLY) the environment in
 * directory `path` with the given databases, indexed as in `dbs` (the
 * names must outlive the store: store_reopen opens them again). Clears
 * reader slots left by killed processes. Returns 0 or an errno/MDB error
 * code; on error *out is NULL. */
int store_open(store_t **out, const char *path, const store_db_t *dbs, int ndbs, unsigned flags);

/* Closes the environment; NULL-safe, sets *self_p to NULL. No transaction
 * may be open. */
void store_close(store_t **self_p);

/* Closes and opens the environment again, keeping its map size: drops
 * LMDB's cache of page buffers. LMDB reuses the buffer of a page it wrote
 * without clearing it, and writes a page's unused middle from whatever the
 * buffer held before, so bytes that were once in this process's pages can
 * reach the file again in a later transaction. Whoever must make sure old
 * bytes never come back (erasure) reopens before writing again. Waits for
 * this process's readers, as map growth does; call it from the thread that
 * writes, between write transactions. Returns 0, or an LMDB/errno code:
 * then the store is closed and every later call fails with EBADF. */
int store_reopen(store_t *self);

/* The handle of database number `index` (its position in `dbs`). */
MDB_dbi store_dbi(const store_t *self, int index);

/* Runs fn(txn, ctx) in a write transaction and commits it. fn returns 0 to
 * commit, or a nonzero code to abort; MDB_MAP_FULL from fn or the commit
 * grows the map and runs fn again (fn must be re-runnable). Returns 0 once
 * committed (durably), fn's code, or an LMDB/errno code (e.g. ENOSPC when
 * the disk is full: nothing was written). */
typedef int (*store_write_fn)(MDB_txn *txn, void *ctx);
int store_write(store_t *self, store_write_fn fn, void *ctx);

/* Begins a read-only transaction; end it with store_read_end (never
 * mdb_txn_abort directly). Between the two, the map cannot be resized under
 * the reader: growth waits for every reader of this process (a resize with
 * a transaction open in the process is undefined behaviour in LMDB). */
int store_read(store_t *self, MDB_txn **txn);
void store_read_end(store_t *self, MDB_txn *txn);

/* Writes a compacted consistent copy into directory `dir` (created if
 * missing, must not hold a data.mdb) while the store stays in use. */
int store_backup(store_t *self, const char *dir);

/* Writes the commits of a store committed without sync (STORE_DERIVED)
 * to the disk now; 0 at once for a store whose commits are synced. 0 or
 * an errno/MDB error code. */
int store_flush(store_t *self);

/* Asks the kernel to read the whole file into the page cache in the
 * background (POSIX_FADV_WILLNEED, 8 MiB per call), for a reader about to
 * go through all of it: the map itself reads one page per fault
 * (MDB_NORDAHEAD, see store.c), slow on a cold cache. The pages come in
 * as small folios, which writes through a map dirty one by one. */
void store_prefetch(store_t *self);

/* Map size and bytes in use (last committed transaction). */
void store_usage(store_t *self, size_t *map_size, size_t *used);

/* How many times the map was grown since open (for metrics and tests). */
unsigned store_grow_count(const store_t *self);

/* Text for a code returned by the functions above. */
const char *store_strerror(int rc);

#endif
