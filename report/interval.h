/* interval.h: the interval audit of complementary suppression (internal
 * to report/; suppress.c runs it). See interval.c for the reasoning. */
#ifndef FINSAM_INTERVAL_H
#define FINSAM_INTERVAL_H

#include "catalogue.h"
#include "protect.h"
#include "suppress.h"
#include "table.h"

#include <stdbool.h>
#include <stdint.h>

/* A range of values a reader cannot tell apart. */
typedef struct {
    int64_t lo, hi;
} interval_t;

/* The reader's intervals of every row of t from its published state
 * (four per row: units, n, and the share's hits and misses).
 * They depend on the cells only, not on what is hidden, so they are
 * computed once per table. Returns a malloc'd array the caller frees, or
 * NULL when out of memory. */
interval_t *interval_bounds(const table_t *t, const protect_t *protect, const cat_measure_t *m);

/* Runs the audit once over the constraints; returns true if it hid
 * another cell (then the caller runs its fixpoint and the audits again).
 * adj_start/adj list the constraints each row is a member of, in
 * ascending order (row x: adj[adj_start[x] .. adj_start[x + 1])). Out of
 * memory, or published values that contradict the audit's model of what
 * a reader knows (a bug in that model), hide every row and return false. */
bool interval_audit(table_t *t, const suppress_constraint_t *cons, size_t ncons, const interval_t *pb,
                    const size_t *adj_start, const size_t *adj);

#endif
