/* compare.h: the comparisons the indicators are about — the change
 * against the previous period, the change against the same period a year
 * earlier, and the difference integrated − project with its 95 %
 * confidence interval (docs/indicators.md, "Jämförelser").
 *
 * Pure functions over the values of two cells (cell_values of their
 * states). Which two states, and whether a comparison may be shown at
 * all, is query.c's decision: both rows visible, n > 0 on both and
 * neither withholding its share; the published (perturbed) states for
 * readers, the exact ones in the operator's exact view. A comparison is
 * then a function of two rows a reader already sees, so it reveals
 * nothing they do not (docs/security.md §4).
 *
 * What compares: a share measure (share_yes, share_sustained) in
 * percentage points of its share, kept in share units (0.028 = +2.8
 * points); a sum in its mean; the others (ordinal, median_days,
 * paired_change) in both their mean and their share. */
#ifndef FINSAM_COMPARE_H
#define FINSAM_COMPARE_H

#include "catalogue.h"
#include "cell.h"

#include <jansson.h>
#include <stdbool.h>

/* The standard normal's 0.975 quantile (1.959964), for the Wald interval
 * of shares. */
#define COMPARE_Z975 1.959963984540054

/* Whether a measure compares in its mean, in its share. */
bool compare_has_mean(const cat_measure_t *m);
bool compare_has_share(const cat_measure_t *m);

typedef struct {
    bool has_mean, has_share;
    double mean, share; /* now − before */
} compare_change_t;

/* The change from `before` to `now` (both with n > 0). */
void compare_change(const cat_measure_t *m, const cell_values_t *now, const cell_values_t *before,
                    compare_change_t *out);

typedef struct {
    bool has_mean, has_mean_ci, has_share;
    double mean, mean_ci[2];   /* a − b; Welch's interval */
    double share, share_ci[2]; /* a − b in share units; Wald interval */
} compare_diff_t;

/* The difference a − b of two groups (integrated − project, both with
 * n > 0). Means: Welch's interval, the Student t quantile at the
 * Welch–Satterthwaite degrees of freedom; it needs n >= 2 on both sides
 * (no interval otherwise) and is [d, d] when both variances are 0.
 * Shares: the Wald interval, d ± z·sqrt(pa(1 − pa)/na + pb(1 − pb)/nb). */
void compare_diff(const cat_measure_t *m, const cell_values_t *a, const cell_values_t *b,
                  compare_diff_t *out);

/* Sets "<prefix>mean" and "<prefix>share" in row, those it has
 * ("change_" gives change_mean and change_share). */
void compare_change_json(json_t *row, const char *prefix, const compare_change_t *c);

/* Sets "<prefix>mean", "<prefix>mean_ci95" [lo, hi], "<prefix>share" and
 * "<prefix>share_ci95", those it has. */
void compare_diff_json(json_t *row, const char *prefix, const compare_diff_t *d);

#endif
