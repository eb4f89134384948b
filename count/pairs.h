/* pairs.h: paired measures (entry vs exit, ongoing vs exit survey, exit
 * vs follow-up), formed per episode from a person's observations.
 *
 * A person's observations of a measure are ordered by occurred month,
 * then by the log position of their first report (a correction keeps its
 * original's, aggregate_origin): each "from" observation starts an
 * episode, and the episode's pair is that "from" and the latest "to"
 * before the next "from". So a to-observation pairs with the latest
 * from-observation at or before it, a re-entry starts a new episode and
 * leaves the finished one alone, and the result does not depend on
 * arrival order. Any change to a person's observations of a measure takes
 * all their pairs of it out and forms them again; unchanged pairs cancel
 * in the transaction's deltas.
 *
 * This file forms the pairs and says what a pair adds to a cell; where it
 * is counted (the cells of the "to" observation's period and slices) is
 * the caller's (aggregate.c), through a callback. */
#ifndef FINSAM_PAIRS_H
#define FINSAM_PAIRS_H

#include "catalogue.h"
#include "cell.h"
#include "persons.h"

#include <stdbool.h>

/* Scratch space for ordering one person's observations. */
typedef struct pairs_t pairs_t;

pairs_t *pairs_new(void);
void pairs_destroy(pairs_t **self_p);

/* Called with sign for each pair (from, to); a nonzero return stops the
 * walk and is returned. */
typedef int (*pairs_fn)(const person_obs_t *from, const person_obs_t *to, int sign, void *arg);

/* One observation of p added (sign +1) or removed (sign -1: the one of
 * obs->measure and obs->side that event obs->id8 made): fn takes every
 * pair of obs->measure out (-1), the observation changes, and fn adds the
 * pairs formed now (+1). Returns 0, ENOMEM or fn's error. */
int pairs_observe(pairs_t *self, person_t *p, const person_obs_t *obs, int sign, pairs_fn fn, void *arg);

/* What a pair of measure m adds to a cell (okey left 0 for the caller):
 * for a paired change, the change to->value - from->value; for a share
 * sustained, whether "to" is still 1. False when the pair counts nothing
 * (sustained: "from" was not in work or studies). */
bool pairs_cell(const cat_measure_t *m, const person_obs_t *from, const person_obs_t *to, cell_t *out);

#endif
