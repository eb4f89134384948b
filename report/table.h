/* table.h: one measure's rows as suppression sees them — every förbund
 * cell of the periods asked for, with the län and national roll-ups merged
 * from them (internal to report/: query.c, suppress.c, interval.c and
 * dists.c share it; nothing outside report/ includes it).
 *
 * Suppression needs the whole table, not just the rows a query prints:
 * complementary suppression must see the siblings a reader could subtract.
 * The table reads from the caller's transaction and decides nothing; the
 * `suppressed` flags are suppress.c's to set. */
#ifndef FINSAM_TABLE_H
#define FINSAM_TABLE_H

#include "catalogue.h"
#include "cell.h"
#include "ledger.h"

#include <stdbool.h>
#include <stdint.h>

enum { TABLE_FORBUND, TABLE_LAN, TABLE_NATION };

typedef struct {
    int level;     /* TABLE_FORBUND, TABLE_LAN or TABLE_NATION */
    char name[48]; /* förbund code, län name or "Riket" */
    char lan[48];
    uint32_t period;
    uint16_t slice;
    cell_t cell;
    bool suppressed;
    /* A cell that exists but has no published state yet (publish.h): not
     * shown, not in any published number, and an unknown to a reader — a
     * hidden member of every constraint it is part of. */
    bool absent;
} table_row_t;

/* Rows sorted by (level, name, period, slice); rows is NULL while n is 0.
 * Zero-initialise before table_load; table_free releases the rows. */
typedef struct {
    table_row_t *rows;
    size_t n, cap;
} table_t;

/* Loads measure m's table in txn (the caller's read snapshot: the states
 * and, later, the distributions behind their quantiles must come from the
 * same one): the published states, or the live cells when exact; only the
 * periods of year only_year unless it is 0. Returns 0, an LMDB error or
 * ENOMEM; on failure t may hold rows, which table_free releases. */
int table_load(ledger_t *ledger, MDB_txn *txn, MDB_txn *cells, const catalogue_t *cat, const cat_measure_t *m,
               int only_year, bool exact, table_t *t);

/* What measure m's protected table read in txn depends on besides the
 * publication (published states and distributions, which change only
 * with it): the cells of m that exist but have no published entry yet
 * (absent rows, an unknown in every constraint they are part of). Fills
 * id with a fingerprint of that set of keys (BLAKE2b-128 of the keys in
 * order and their number; all zeros for the empty set), the same in
 * every snapshot with the same set. When the cells (read in `cells`, a
 * transaction of the cells environment) reflect the log position
 * published_seq, the set is empty without a look (a publication leaves
 * every cell with a published entry, and the cells change only as the
 * aggregator applies the log); otherwise m's cells and m's published
 * entries (read in txn) are walked side by side, keys only. Returns 0 or
 * an LMDB error. */
#define TABLE_UNPUBLISHED_LEN 16
int table_unpublished(ledger_t *ledger, MDB_txn *txn, MDB_txn *cells, uint64_t published_seq,
                      const cat_measure_t *m, uint8_t id[TABLE_UNPUBLISHED_LEN]);

/* The row (level, name, period, slice), or NULL; valid until t changes. */
table_row_t *table_find(table_t *t, int level, const char *name, uint32_t period, uint16_t slice);

void table_free(table_t *t);

/* A share of 0 % or 100 % is shown only from n >= 10 (all answering the
 * same is itself a disclosure); decided on the published values, so the
 * decision reveals nothing the numbers do not. */
bool table_share_ok(const cell_values_t *cv);

/* True if a row with this published state shows no values but n and
 * units: its share withheld by table_share_ok (every other value could
 * give the share back). The query, the interval audit and the feed apply
 * it alike. */
bool table_withholds(const cat_measure_t *m, const cell_t *published);

#endif
