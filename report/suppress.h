/* suppress.h: which rows of a measure's table are hidden (internal to
 * report/; query.c calls it, interval.c shares the constraints).
 *
 * Primary suppression hides a cell resting on fewer than min_units
 * contributors (protect.h). Complementary suppression then treats every
 * total as the sum of its parts — a län of its förbund, the nation of its
 * län, an "all" cell of the values of one slice dimension, a quarter of
 * its months, a year of its quarters — and hides more until no hidden
 * cell can be computed back: no constraint with exactly one hidden member,
 * no hidden cell determined by all constraints together (an exact audit
 * modulo a prime, here), and no hidden count known within ±1 from the
 * published intervals (interval.c). */
#ifndef FINSAM_SUPPRESS_H
#define FINSAM_SUPPRESS_H

#include "catalogue.h"
#include "protect.h"
#include "table.h"

#include <stdbool.h>
#include <stddef.h>

/* A total equals the sum of its parts: row indexes into the table. */
typedef struct {
    size_t total;
    size_t *parts;
    size_t nparts;
    int kind;       /* 0 geography, a slice dimension (slice_dim_t), or SUPPRESS_KIND_PERIOD */
    bool complete;  /* the parts hold every answer of the total (no unknown gender, ...) */
    bool units_add; /* and every contributor once: the parts' units sum to the total's */
} suppress_constraint_t;

#define SUPPRESS_KIND_PERIOD SLICE_DIMS

/* Sets every row's `suppressed`: absent rows always; with protect (NULL
 * for the exact view and for organisation reports, which hide nothing
 * else) the primary and complementary rules above, decided over the whole
 * table. Out of memory hides every row rather than risk a disclosure. */
void suppress_table(table_t *t, const protect_t *protect, const cat_measure_t *m);

#endif
