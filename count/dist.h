/* dist.h: a distribution of integer values in memory — how many
 * observations had each value — and the quantiles finsam publishes from
 * it (medians and quartiles of day counts and answer scales).
 *
 * Quantile definition (one for every output and the reference): the
 * sample quantile of Hyndman & Fan's type 2, "inverse of the empirical
 * distribution function with averaging at discontinuities". For n values
 * sorted x(1) <= ... <= x(n) and p in (0, 1), with h = n p:
 *   h a whole number:  Q(p) = (x(h) + x(h+1)) / 2
 *   otherwise:         Q(p) = x(ceil(h))
 * So the median of an even count is the mean of the two middle values, and
 * the quartiles are Q(1/4) and Q(3/4). Computed on ranks in integers: a
 * quantile is returned as twice its value, exact; how to print a half
 * (whole days round half up) is the caller's (cell.h, protect.h).
 *
 * A dist_t is a value the caller owns (zero-initialise it, DIST_INIT);
 * its bins are kept sorted by value, with counts > 0. */
#ifndef FINSAM_DIST_H
#define FINSAM_DIST_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    int64_t value;
    int64_t count;
} dist_bin_t;

typedef struct dist_t {
    dist_bin_t *bins; /* sorted by value, every count > 0 */
    size_t n, cap;
    int64_t total; /* sum of the counts */
} dist_t;

#define DIST_INIT                                                                                            \
    {                                                                                                        \
        NULL, 0, 0, 0                                                                                        \
    }

/* Empties d, keeping its memory for reuse. */
void dist_clear(dist_t *d);
/* Frees d's memory; d is empty afterwards. */
void dist_free(dist_t *d);

/* Adds count (> 0) observations of value. Returns 0, or -1 when out of
 * memory (d unchanged). */
int dist_add(dist_t *d, int64_t value, int64_t count);

/* Adds a histogram whose bin i counts the value first + i (a cell's
 * per-answer counts, cell.h). Returns 0 or -1 (out of memory). */
int dist_add_hist(dist_t *d, const int64_t *hist, int nbins, int64_t first);

/* The value at rank r (1-based, clamped to 1..total); 0 when empty. */
int64_t dist_at(const dist_t *d, int64_t rank);

/* The ranks behind Q(num/den) for n values (0 < num < den, n >= 1):
 * *lo == *hi when one value is the quantile, *hi == *lo + 1 when it is the
 * mean of two. */
void dist_ranks(int64_t n, int num, int den, int64_t *lo, int64_t *hi);

/* Twice Q(num/den) of d (0 when d is empty). */
int64_t dist_quantile2(const dist_t *d, int num, int den);

#endif
