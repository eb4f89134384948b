/* dists.h: the medians and quartiles of a table's rows (internal to
 * report/; query.c uses it).
 *
 * An ordinal scale's distribution is the row's histogram (summed into
 * roll-ups like the rest of the state); a day count's is in the
 * distributions database, one per förbund cell, merged here for a län or
 * the nation. Read in the snapshot the states came from, so state and
 * distribution are of the same moment. */
#ifndef FINSAM_DISTS_H
#define FINSAM_DISTS_H

#include "catalogue.h"
#include "cell.h"
#include "dist.h"
#include "ledger.h"
#include "protect.h"
#include "table.h"

#include <stdbool.h>
#include <stdint.h>

/* The förbund rows are indexed by (period, slice, län, name), so that the
 * parts of a län and of the nation are each one run. */
typedef struct {
    MDB_txn *txn;
    MDB_dbi dbi; /* dists (exact view) or published-dists */
    bool live;   /* dbi is dists */
    const table_t *t;
    size_t *parts; /* indexes of the förbund rows, ordered as above */
    size_t nparts;
    dist_t dist; /* the row at hand */
} dists_t;

/* Prepares p for the rows of measure m in table t, read in txn (the live
 * distributions when exact, else the published ones); t and txn are
 * borrowed and must outlive p. Returns 0 or ENOMEM; dists_free releases p
 * either way. */
int dists_init(dists_t *p, MDB_txn *txn, ledger_t *ledger, bool exact, const cat_measure_t *m,
               const table_t *t);

void dists_free(dists_t *p);

/* The quantiles row r shows (pub_n: its published n): exact in the exact
 * view, else protected (protect_quantiles). A row whose distribution
 * cannot be read shows none. */
void dists_quantiles(dists_t *p, const cat_measure_t *m, bool exact, const protect_t *protect, bool personal,
                     const table_row_t *r, int64_t pub_n, cell_quantiles_t *out);

#endif
