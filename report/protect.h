/* protect.h: disclosure protection by the cell-key method — the one
 * function that turns a cell's exact state into the state every output
 * publishes (CLI, HTTP API, dashboard, exports, aggregate stream,
 * snapshot).
 *
 * Each contributor (a participant: förbund + pseudonym; an anonymous
 * respondent: the event id) has a 32-bit record key, a keyed SipHash
 * under a secret that lives only in the collector's ledger. A cell keeps
 * the sum of its contributors' record keys modulo 2^32 (cell_t.ckey),
 * which adds and subtracts exactly like its counts. The published value of
 * a count c is c + j, where j is drawn from row c of a perturbation table
 * by the cell key; magnitudes (sums behind means, sums of squares, the
 * hits behind shares) get their own draws from keys derived from the cell
 * key and the measure, and quantiles (medians, quartiles) are read at
 * ranks moved by a draw of their own (protect_quantiles). So:
 *  - the same contributors give the same published value on every channel
 *    and every time (no averaging of repeated queries);
 *  - one contributor more or less gives a fresh draw, so the difference
 *    of two outputs is the change plus noise of variance 2V, never the
 *    change alone;
 *  - published tables do not add up exactly, so subtraction across
 *    geography, slices and periods yields estimates with noise, not
 *    values; cells resting on fewer than min_count contributors are not
 *    published at all (query.c adds complementary suppression).
 *
 * The perturbation table is the maximum-entropy distribution on
 * j in [-D, D] with mean 0 and variance V (as the R package ptable builds
 * it), restricted to targets c + j >= min_count; a row near min_count
 * that cannot have mean 0 (the count min_count itself) is the full row cut
 * below min_count and renormalized: an upward bias and a smaller variance
 * there (documented in docs/security.md).
 *
 * Two keys per cell: the contributors' (ckey: units draw from it, so the
 * same people publish the same count) and the answers' (okey: every
 * other draw mixes it in, so a second answer, a correction or a "don't
 * know" is a fresh draw too). Magnitude noise is continuous within a step
 * so sums never move in whole answer widths. Parameters are configuration; the table is
 * public (only the secret behind the record keys is not). */
#ifndef FINSAM_PROTECT_H
#define FINSAM_PROTECT_H

#include "catalogue.h"
#include "cell.h"
#include "ledger.h"
#include "secret.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define PROTECT_SECRET_LEN SECRET_LEN
#define PROTECT_MAX_D 8

typedef struct {
    int min_count;   /* cells resting on fewer contributors are hidden (default 5) */
    int max_dev;     /* D: largest perturbation of a count (default 2) */
    double variance; /* V: variance of the perturbation (default 1.05) */
} protect_params_t;

#define PROTECT_DEFAULTS                                                                                     \
    {                                                                                                        \
        5, 2, 1.05                                                                                           \
    }

typedef struct protect_t protect_t;

/* Checks the parameters and builds the table; NULL with err filled when
 * they are out of range (1 <= D <= PROTECT_MAX_D, 0 < V <= D*D,
 * min_count >= 1). */
protect_t *protect_new(const protect_params_t *params, const uint8_t secret[PROTECT_SECRET_LEN], char *err,
                       size_t errlen);
void protect_destroy(protect_t **self_p);

/* The protection of a ledger: its secret (meta "protect-secret", created
 * on first use) and its parameters (meta "protect-params"). The collector
 * passes the parameters of its configuration, which are stored so that
 * finsamctl, run on the same data directory with set == NULL, publishes
 * exactly what the collector publishes; a reader never chooses them.
 * Returns the protection, or NULL with err filled (parameters out of
 * range; a ledger never opened by a collector). */
protect_t *protect_open(ledger_t *ledger, const protect_params_t *set, char *err, size_t errlen);

/* The secret, for aggregate_new (valid while self lives). */
const uint8_t *protect_secret(const protect_t *self);

const protect_params_t *protect_params(const protect_t *self);

/* True if a cell with this exact state is withheld from publication:
 * fewer than min_count contributors. */
bool protect_is_hidden(const protect_t *self, const cell_t *exact);

/* The state published for a cell of measure m: counts and magnitudes
 * perturbed as above; organisation reports (not personal data) are
 * copied unchanged. `out` is only meaningful for cells that are not
 * hidden; derive every published number from it with cell_values. */
void protect_cell(const protect_t *self, const cat_measure_t *m, bool personal, const cell_t *exact,
                  cell_t *out);

/* The quantiles published for a row of measure m (rank perturbation, the
 * quantile counterpart of the cell-key method):
 *  - exact, d: the row's state and distribution as published (for a
 *    roll-up the sums of its parts'; for an ordinal scale d is the state's
 *    histogram); published_n: the row's published n;
 *  - one draw j from the untruncated row of the perturbation table, keyed
 *    like every magnitude by the contributors and their answers, moves the
 *    ranks of every quantile of the row (type 2, dist.h) by j, kept off
 *    the smallest and the largest value; the same published state gives
 *    the same quantiles on every channel, q1 <= median <= q3;
 *  - a quantile is shown only when its ranks moved by up to D stay off
 *    the smallest and largest value of published_n values (with D = 2:
 *    the median from n = 7, quartiles from n = 13), so an extreme value
 *    is never published as a quantile;
 *  - day counts are published to the nearest whole week (half a week up),
 *    ordinal medians as they are (halves stay).
 * Day counts get median and quartiles, ordinal scales the median, other
 * measures none. Organisation reports (personal false): exact
 * (cell_quantiles). Nothing when d does not hold exact->n values. */
void protect_quantiles(const protect_t *self, const cat_measure_t *m, bool personal, const cell_t *exact,
                       const dist_t *d, int64_t published_n, cell_quantiles_t *out);

/* The smallest published n from which Q(num/den) is shown. */
int protect_quantile_min_n(const protect_t *self, int num, int den);

/* The perturbation applied to count c under cell key (for tests and the
 * differencing bound). */
int protect_noise(const protect_t *self, int64_t count, uint32_t key);

/* {"method":"cell-key","min_count":..,"max_deviation":..,"variance":..,
 *  "table":[{"count":c,"p":[p(-D)..p(D)]},...],
 *  "quantiles":{"method":"rank-perturbation","median_min_n":..,
 *  "quartiles_min_n":..,"days_rounded_to":7}} — the public table. */
json_t *protect_describe(const protect_t *self);

#endif
