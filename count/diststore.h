/* diststore.h: the per-cell distributions of day counts in LMDB — what
 * makes medians and quartiles exact (dist.h), also under retraction.
 *
 * A cell of a median_days measure has, beside its state (cell.h), the
 * number of its observations with each day value:
 *
 *   key    cell key (46 bytes, cell.h) + be32 day value     (50 bytes)
 *   value  be64 count, > 0 (a value no observation has is no entry)
 *
 * so one cell's distribution is one key range in value order. Two
 * databases have this layout (ledger.h):
 *  - `dists`, maintained by aggregate.c in the same write transaction as
 *    the cells (derived state: equal to a rebuild from the log, compared
 *    by `finsamctl rebuild --verify`), for **month** cells only: a
 *    quarter's or a year's distribution is the sum of its months'
 *    (diststore_load_live), so an observation writes 4 entries at most
 *    (one per slice) instead of 12;
 *  - `published-dists`, each cell's distribution (any period) as of its
 *    last publication (publish.c), from which every protected output
 *    reads its quantiles.
 *
 * A diststore_t gathers one transaction's changes in memory (one entry
 * per cell and day value, however many events touch it) and writes each
 * once at flush, as aggregate.c does for cells. Not thread-safe: one per
 * writer. */
#ifndef FINSAM_DISTSTORE_H
#define FINSAM_DISTSTORE_H

#include "cell.h"
#include "dist.h"

#include <lmdb.h>
#include <stdint.h>

#define DISTSTORE_KEY_LEN (CELL_KEY_LEN + 4)

typedef struct diststore_t diststore_t;

diststore_t *diststore_new(void);
void diststore_destroy(diststore_t **self_p);

/* Drops the changes gathered so far (a new or retried transaction). */
void diststore_begin(diststore_t *self);

/* Adds sign (+1 or -1) observations of value to the month cell `key`.
 * Returns 0 or ENOMEM. */
int diststore_add(diststore_t *self, const uint8_t key[CELL_KEY_LEN], uint32_t value, int sign);

/* Writes the gathered changes into dbi and forgets them. Returns 0, an
 * LMDB error, or MDB_CORRUPTED when a count would fall below zero (the
 * store disagrees with the log). */
int diststore_flush(diststore_t *self, MDB_txn *txn, MDB_dbi dbi);

/* Adds the entries of cell `key` in dbi to *into (merging with what it
 * holds: a roll-up loads each of its förbund cells). Returns 0, an LMDB
 * error, MDB_CORRUPTED for a malformed entry, or ENOMEM. */
int diststore_load(MDB_txn *txn, MDB_dbi dbi, const uint8_t key[CELL_KEY_LEN], dist_t *into);

/* The same for the live distribution of a cell of any period kind: its
 * own entries in `dists` for a month, the sum of its months' for a
 * quarter or a year. */
int diststore_load_live(MDB_txn *txn, MDB_dbi dists, const uint8_t key[CELL_KEY_LEN], dist_t *into);

/* Makes cell `key` in `pub` (written in txn) hold exactly its live
 * distribution from `dists` (read in cells, a transaction of the cells
 * environment; nothing if it has none): a publication. Returns 0, an
 * LMDB error or ENOMEM. */
int diststore_publish(MDB_txn *cells, MDB_dbi dists, MDB_txn *txn, MDB_dbi pub,
                      const uint8_t key[CELL_KEY_LEN]);

/* Removes cell `key` from dbi. Returns 0 or an LMDB error. */
int diststore_drop(MDB_txn *txn, MDB_dbi dbi, const uint8_t key[CELL_KEY_LEN]);

#endif
