/* cell.h: an aggregate cell — its key, its invertible state and the values
 * derived from it.
 *
 * Key (46 bytes, memcmp order = measure, förbund, period, slice):
 *   measure id  32 bytes, NUL-padded
 *   förbund      8 bytes, NUL-padded
 *   period       be32: kind << 28 | value (year 2026, quarter 20261, month 202603)
 *   slice        be16: dimension << 8 | value (0 = all)
 *
 * State: integer counts and sums only, so adding and subtracting an event
 * are exact inverses and cells merge into län and national roll-ups by
 * plain addition (cell_merge). `units` is the number of distinct
 * participants or respondents the cell rests on, the basis of disclosure
 * control, and `ckey` the cell key that disclosure protection draws its
 * noise with (protect.h). The state is stored as its 24 fields in
 * declaration order, each a little-endian int64 (CELL_STATE_LEN bytes,
 * cell_state_encode), whatever the host's byte order; every reader of a
 * stored state decodes it (cell_state_decode). A day count's distribution does not
 * fit in a fixed state: its cells keep it beside them (diststore.h). */
#ifndef FINSAM_CELL_H
#define FINSAM_CELL_H

#include "catalogue.h"
#include "dist.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CELL_KEY_LEN 46
#define CELL_MEASURE_LEN 32
#define CELL_FORBUND_LEN 8
#define CELL_HIST 16

typedef enum { PERIOD_YEAR = 1, PERIOD_QUARTER = 2, PERIOD_MONTH = 3 } period_kind_t;
typedef enum { SLICE_ALL = 0, SLICE_MODE = 1, SLICE_AGENCY = 2, SLICE_GENDER = 3, SLICE_AGE = 4 } slice_dim_t;
#define SLICE_DIMS 5

typedef struct {
    int64_t n;   /* observations with a value (pairs for paired measures) */
    int64_t sum; /* sum of values (of changes for paired measures) */
    int64_t sumsq;
    int64_t hits; /* numerator of the measure's share */
    int64_t dont_know;
    int64_t units; /* distinct participants / respondents */
    /* Answers per value: of an ordinal scale in bin = value, of a paired
     * change in bin = change + 8 (clamped to 0..15). Exact: the medians
     * of these measures come from it (dist.h). Unused (zero) for day
     * counts, whose distribution is in the dists database. */
    int64_t hist[CELL_HIST];
    /* Cell key: the sum of the contributors' record keys modulo 2^32
     * (protect.h), kept in 0..2^32-1; adds and subtracts with `units`. */
    int64_t ckey;
    /* Observation key: the sum of the record keys of the answers (events)
     * behind n, dont_know and the sums, modulo 2^32. Any change of what
     * the cell holds — a second answer of the same person, a correction,
     * a "don't know" — moves it, so every published magnitude gets a
     * fresh draw (protect.h). */
    int64_t okey;
} cell_t;

typedef struct {
    char measure[CELL_MEASURE_LEN + 1];
    char forbund[CELL_FORBUND_LEN + 1];
    uint32_t period;
    uint16_t slice;
} cell_key_t;

void cell_key_encode(uint8_t out[CELL_KEY_LEN], const cell_key_t *key);
int cell_key_decode(cell_key_t *key, const uint8_t *in, size_t len);

uint32_t cell_period(period_kind_t kind, int year, int sub);
period_kind_t cell_period_kind(uint32_t period);
/* "2026", "2026-Q1", "2026-03"; parse returns -1 if malformed. */
void cell_period_format(char *out, size_t outlen, uint32_t period);
int cell_period_parse(const char *text, uint32_t *period);
/* The period before (same kind). */
uint32_t cell_period_prev(uint32_t period);
/* The same period one year earlier (2026-Q2 -> 2025-Q2, 2026-03 ->
 * 2025-03, 2026 -> 2025). */
uint32_t cell_period_year_before(uint32_t period);
/* The period that contains this one (month -> quarter -> year; 0 for a
 * year), and the calendar year of any period. */
uint32_t cell_period_parent(uint32_t period);
int cell_period_year(uint32_t period);

uint16_t cell_slice(slice_dim_t dim, int value);
/* "all", "mode=project", "agency=af", "gender=woman", "age=16-29"; parse
 * returns -1 if malformed. */
void cell_slice_format(char *out, size_t outlen, uint16_t slice);
int cell_slice_parse(const char *text, uint16_t *slice);
/* The one list of slices (cell.c's table): cell_slice_count() of them,
 * "all" first, the i-th by cell_slice_at(i). What parse accepts, what an
 * export walks and what every error about a slice names. */
int cell_slice_count(void);
uint16_t cell_slice_at(int i);
/* Every valid slice, comma-separated, for error messages; CELL_SLICE_LIST_LEN
 * holds it. */
#define CELL_SLICE_LIST_LEN 512
void cell_slice_list(char *out, size_t outlen);

/* The stored state (see the head): encode writes CELL_STATE_LEN bytes;
 * decode returns -1 unless len is CELL_STATE_LEN. */
#define CELL_STATE_LEN 192
void cell_state_encode(uint8_t out[CELL_STATE_LEN], const cell_t *c);
int cell_state_decode(cell_t *c, const void *in, size_t len);

/* a += sign * b */
void cell_add(cell_t *a, const cell_t *b, int sign);
bool cell_is_zero(const cell_t *c);

/* Values derived from a state for a measure's aggregate. Medians and
 * quartiles are not among them: they need the cell's distribution
 * (cell_quantiles, and protect_quantiles for what is published). */
typedef struct {
    bool suppressed;
    int64_t n, units;
    /* ci: mean +- t(0.975, n - 1) sd / sqrt(n), the exact Student t
     * quantile at every n (tdist.h); none (= mean) for n < 2 */
    double mean, sd, ci_low, ci_high; /* ordinal, sum, paired */
    double share;                     /* top two / yes / moved / sustained / <= 30 days */
    int64_t sum;
    int64_t hits; /* the share's numerator (a ratio's parts) */
} cell_values_t;

/* min_units: cells resting on fewer units are suppressed (0 disables, as
 * for organisation reports). */
void cell_values(const cat_measure_t *m, const cell_t *c, int min_units, cell_values_t *out);

/* Medians and quartiles of a cell, as the outputs print them. */
typedef struct {
    bool has_median, has_quartiles;
    double q1, median, q3;
} cell_quantiles_t;

/* The exact quantiles of distribution d (dist.h, type 2) for measure m:
 * day counts in whole days, a half rounded up (109.5 -> 110); ordinal
 * scales as they are (3.5 stays 3.5), median only. The operator's exact
 * view. */
void cell_quantiles(const cat_measure_t *m, const dist_t *d, cell_quantiles_t *out);

#endif
