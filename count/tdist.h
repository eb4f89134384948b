/* tdist.h: Student's t distribution — its distribution function and its
 * quantiles at any number of degrees of freedom, for the 95 % confidence
 * intervals of means (cell.c).
 *
 * Computed, not tabulated: the distribution function is the regularized
 * incomplete beta function, P(T > t) = I_x(df/2, 1/2) / 2 with
 * x = df / (df + t^2), evaluated by its continued fraction; a quantile is
 * found by Newton's method on it from the Cornish-Fisher expansion around
 * the normal quantile, kept inside a bracket so it cannot diverge; from
 * 1000 degrees of freedom on, the expansion itself. Relative error below
 * 1e-10 at every df (tests/collector/tdist_test.c). No
 * library: the only Debian candidate with a t quantile in C, GSL, is
 * GPL; Rmath (libRmath) is GPL too. Pure functions, thread-safe. */
#ifndef FINSAM_TDIST_H
#define FINSAM_TDIST_H

/* P(T <= t) for Student's t with df > 0 degrees of freedom. */
double tdist_cdf(double t, double df);

/* The t with P(T <= t) = p, for 0 < p < 1 and df > 0; NAN outside. The
 * two-sided 95 % quantile is tdist_quantile(0.975, df). */
double tdist_quantile(double p, double df);

/* tdist_quantile(0.975, df) for a whole df >= 1: every row's 95 % interval
 * asks for it, so df below 1000 are computed once (on first use, by any
 * thread) and read from a table after. */
double tdist_t975(long df);

/* The standard normal quantile (the limit df -> infinity), for 0 < p < 1. */
double tdist_normal_quantile(double p);

#endif
