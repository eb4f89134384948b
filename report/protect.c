/* protect.c: the cell-key method (see protect.h for the design).
 *
 * Three pieces: the perturbation table (built once from D, V and the
 * minimum count), the draws (a 32-bit uniform from SipHash of the cell key
 * and what is being perturbed, looked up in the table's cumulative
 * distribution) and protect_cell, which applies them to a state. The
 * table is quantized to 32-bit thresholds so that a draw is an integer
 * comparison and every binary on every machine publishes the same value. */
#include "protect.h"

#include "secret.h"

#include "util.h"

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_WIDTH (2 * PROTECT_MAX_D + 1)

/* One row: P(j) for j = -D..D, and the cumulative thresholds out of 2^32. */
typedef struct {
    double p[S_WIDTH];
    uint64_t cdf[S_WIDTH];
} s_row_t;

struct protect_t {
    protect_params_t params;
    uint8_t secret[PROTECT_SECRET_LEN];
    /* rows[i] is for a count of min_count + i; the last row (i = D, no
     * truncation) serves every larger count and the unbounded draws. */
    s_row_t rows[PROTECT_MAX_D + 1];
};

/* What a draw perturbs; part of the hashed input so draws are independent.
 * The numbers are part of every published value: never renumber (TAG_BIN
 * perturbed histogram bins, no longer published). */
enum { TAG_COUNT = 1, TAG_DONT_KNOW, TAG_HITS, TAG_SUM, TAG_SUMSQ, TAG_BIN, TAG_QUANTILE };

/* ---- the table ------------------------------------------------------ */

/* Moments of p(j) ∝ exp(a j + b j^2) over allowed j in [lo, D]. */
static void s_moments(int lo, int d, double a, double b, double p[S_WIDTH], double m[5])
{
    double w[S_WIDTH], z = 0, top = -INFINITY;
    for (int j = lo; j <= d; j++)
        top = fmax(top, a * j + b * j * j);
    for (int j = lo; j <= d; j++)
        z += w[j + d] = exp(a * j + b * j * j - top);
    for (int k = 0; k < 5; k++)
        m[k] = 0;
    for (int j = -d; j <= d; j++) {
        p[j + d] = j >= lo ? w[j + d] / z : 0;
        for (int k = 0, pw = 1; k < 5; k++, pw *= j)
            m[k] += p[j + d] * pw;
    }
}

/* Maximum entropy with mean 0 and variance v on [lo, D]: Newton on the
 * two multipliers. Returns false when that distribution does not exist
 * (lo >= 0 leaves no room below) or Newton does not settle. */
static bool s_solve_row(int lo, int d, double v, double p[S_WIDTH])
{
    double m[5], a = 0, b = -0.5 / v;
    if (lo >= 0)
        return false;
    for (int it = 0; it < 200; it++) {
        s_moments(lo, d, a, b, p, m);
        double f1 = m[1], f2 = m[2] - v;
        if (fabs(f1) < 1e-13 && fabs(f2) < 1e-13)
            return true;
        /* Jacobian: covariances of (j, j^2). */
        double j11 = m[2] - m[1] * m[1], j12 = m[3] - m[1] * m[2], j22 = m[4] - m[2] * m[2];
        double det = j11 * j22 - j12 * j12;
        if (!(fabs(det) > 1e-300))
            return false;
        a -= (j22 * f1 - j12 * f2) / det;
        b -= (-j12 * f1 + j11 * f2) / det;
        if (!isfinite(a) || !isfinite(b))
            return false;
    }
    return false;
}

/* Where mean 0 is impossible: the full row's shape, cut below lo and
 * renormalized (an upward bias at the smallest published counts,
 * documented in docs/security.md). */
static void s_truncate_row(const double full[S_WIDTH], int lo, int d, double p[S_WIDTH])
{
    double z = 0;
    for (int j = -d; j <= d; j++)
        z += j >= lo ? full[j + d] : 0;
    for (int j = -d; j <= d; j++)
        p[j + d] = j >= lo ? full[j + d] / z : 0;
}

static void s_quantize(s_row_t *r, int d)
{
    double acc = 0;
    for (int k = 0; k < 2 * d + 1; k++) {
        acc += r->p[k];
        r->cdf[k] = (uint64_t) llround(fmin(acc, 1.0) * 4294967296.0);
    }
    r->cdf[2 * d] = 4294967296ULL; /* every draw lands somewhere */
}

protect_t *protect_new(const protect_params_t *params, const uint8_t secret[PROTECT_SECRET_LEN], char *err,
                       size_t errlen)
{
    const protect_params_t *pp = params;
    if (pp->max_dev < 1 || pp->max_dev > PROTECT_MAX_D) {
        snprintf(err, errlen, "max deviation D = %d: use 1 to %d", pp->max_dev, PROTECT_MAX_D);
        return NULL;
    }
    if (!(pp->variance > 0) || pp->variance > (double) pp->max_dev * pp->max_dev / 2) {
        snprintf(err, errlen, "variance V = %g: use more than 0 and at most D*D/2 = %g", pp->variance,
                 (double) pp->max_dev * pp->max_dev / 2);
        return NULL;
    }
    if (pp->min_count < 1 || pp->min_count > 1000) {
        snprintf(err, errlen, "minimum count %d: use 1 to 1000", pp->min_count);
        return NULL;
    }
    protect_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    self->params = *pp;
    memcpy(self->secret, secret, PROTECT_SECRET_LEN);
    int d = pp->max_dev;
    if (!s_solve_row(-d, d, pp->variance, self->rows[d].p)) {
        snprintf(err, errlen, "no perturbation table with D = %d and V = %g", d, pp->variance);
        free(self);
        return NULL;
    }
    for (int i = 0; i <= d; i++) {
        /* A count of min_count + i may go down by at most i. */
        if (i < d && !s_solve_row(-i, d, pp->variance, self->rows[i].p))
            s_truncate_row(self->rows[d].p, -i, d, self->rows[i].p);
        s_quantize(&self->rows[i], d);
    }
    return self;
}

void protect_destroy(protect_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sodium_memzero((*self_p)->secret, PROTECT_SECRET_LEN);
    free(*self_p);
    *self_p = NULL;
}

const protect_params_t *protect_params(const protect_t *self)
{
    return &self->params;
}

/* ---- the parameters in the ledger (the secret: count/secret.h) ----- */

#define S_PARAMS_NAME "protect-params"
#define S_PARAMS_LEN 16 /* be32 min_count, be32 D, be64 V in millionths */

typedef struct {
    const protect_params_t *set;
    uint8_t secret[PROTECT_SECRET_LEN];
    bool have_secret;
    protect_params_t params;
    bool have_params;
} s_meta_t;

static int s_meta_read(MDB_txn *txn, ledger_t *ledger, s_meta_t *m)
{
    int rc = secret_read(txn, ledger, m->secret);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    m->have_secret = rc == 0;
    MDB_val k = {strlen(S_PARAMS_NAME), S_PARAMS_NAME}, v;
    rc = mdb_get(txn, ledger_dbi(ledger, LEDGER_DB_META), &k, &v);
    if (rc == 0 && v.mv_size != S_PARAMS_LEN)
        return MDB_CORRUPTED;
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    m->have_params = rc == 0;
    if (m->have_params) {
        const uint8_t *p = v.mv_data;
        m->params =
            (protect_params_t){(int) be32_get(p), (int) be32_get(p + 4), (double) be64_get(p + 8) / 1e6};
    }
    return 0;
}

/* Creates the secret if missing and stores the collector's parameters. */
static int s_meta_write(ledger_txn_t *lt, void *ctx)
{
    s_meta_t *m = ctx;
    int rc = secret_ensure(lt, m->secret);
    if (rc)
        return rc;
    m->have_secret = true;
    uint8_t p[S_PARAMS_LEN];
    be32_put(p, (uint32_t) m->set->min_count);
    be32_put(p + 4, (uint32_t) m->set->max_dev);
    be64_put(p + 8, (uint64_t) llround(m->set->variance * 1e6));
    MDB_val k = {strlen(S_PARAMS_NAME), S_PARAMS_NAME}, v = {sizeof p, p};
    m->params = *m->set;
    m->have_params = true;
    return mdb_put(lt->txn, ledger_dbi(lt->ledger, LEDGER_DB_META), &k, &v, 0);
}

protect_t *protect_open(ledger_t *ledger, const protect_params_t *set, char *err, size_t errlen)
{
    s_meta_t m = {.set = set};
    int rc;
    if (set) {
        /* Check before storing: a bad configuration must not reach the ledger. */
        protect_t *probe = protect_new(set, m.secret, err, errlen);
        if (!probe)
            return NULL;
        protect_destroy(&probe);
        rc = ledger_write(ledger, s_meta_write, &m);
    } else {
        MDB_txn *txn;
        if ((rc = store_read(ledger_store(ledger), &txn)) == 0) {
            rc = s_meta_read(txn, ledger, &m);
            store_read_end(ledger_store(ledger), txn);
        }
    }
    if (rc) {
        snprintf(err, errlen, "disclosure protection: %s", store_strerror(rc));
        sodium_memzero(&m, sizeof m);
        return NULL;
    }
    if (!m.have_secret || !m.have_params) {
        snprintf(err, errlen,
                 "the ledger has no disclosure-protection settings yet; start finsam-collector on it once");
        return NULL;
    }
    protect_t *self = protect_new(&m.params, m.secret, err, errlen);
    sodium_memzero(&m, sizeof m);
    return self;
}

const uint8_t *protect_secret(const protect_t *self)
{
    return self->secret;
}

/* ---- draws ----------------------------------------------------------- */

/* A uniform 32-bit draw for (tag, measure, cell key, index), keyed by the
 * second half of the secret. */
static uint32_t s_uniform(const protect_t *self, int tag, const char *measure, uint32_t key, int index)
{
    uint8_t in[1 + CELL_MEASURE_LEN + 4 + 2] = {(uint8_t) tag};
    if (measure)
        memcpy(in + 1, measure, strnlen(measure, CELL_MEASURE_LEN));
    be32_put(in + 1 + CELL_MEASURE_LEN, key);
    in[1 + CELL_MEASURE_LEN + 4] = (uint8_t) (index >> 8);
    in[1 + CELL_MEASURE_LEN + 5] = (uint8_t) index;
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, in, sizeof in, self->secret + crypto_shorthash_KEYBYTES);
    return be32_get(h);
}

static int s_lookup(const s_row_t *row, int d, uint32_t u)
{
    int k = 0;
    while (k < 2 * d && (uint64_t) u >= row->cdf[k])
        k++;
    return k - d;
}

int protect_noise(const protect_t *self, int64_t count, uint32_t key)
{
    int64_t i = count - self->params.min_count;
    if (i < 0)
        return 0; /* hidden, never published */
    int d = self->params.max_dev;
    return s_lookup(&self->rows[i > d ? d : i], d, s_uniform(self, TAG_COUNT, NULL, key, 0));
}

/* Noise for a magnitude or a secondary count: the untruncated row. */
static int s_free_noise(const protect_t *self, int tag, const char *measure, uint32_t key, int index)
{
    int d = self->params.max_dev;
    return s_lookup(&self->rows[d], d, s_uniform(self, tag, measure, key, index));
}

bool protect_is_hidden(const protect_t *self, const cell_t *exact)
{
    return exact->units < self->params.min_count;
}

/* The size of one contributor's answer on the measure's scale: the unit
 * of the noise added to its sums (one answer's worth, so that a sum over
 * one person more or less is hidden in noise of the same size). */
static double s_answer_width(const cat_measure_t *m)
{
    switch (m->aggregate) {
    case AGG_ORDINAL: return m->scale && m->scale->max > m->scale->min ? m->scale->max - m->scale->min : 1;
    case AGG_MEDIAN_DAYS: return 30;
    case AGG_PAIRED_CHANGE: return 2;
    default: return 1;
    }
}

static int64_t s_nonneg(int64_t v)
{
    return v < 0 ? 0 : v;
}

/* Magnitude noise: D·w-bounded like the counts, but continuous within a
 * step, so that sums do not move in whole answer widths (a difference of
 * two published sums would otherwise give the new answer modulo w). */
static int64_t s_magnitude_noise(const protect_t *self, int tag, const char *measure, uint32_t key, double w)
{
    int j = s_free_noise(self, tag, measure, key, 0);
    double u = (double) s_uniform(self, tag, measure, key, 1) / 4294967296.0 - 0.5;
    return llround(w * (j + u));
}

/* The key of everything but the units: the contributors and their
 * answers, so any change of content is a fresh draw. */
static uint32_t s_answers_key(const cell_t *exact)
{
    return (uint32_t) exact->ckey ^ ((uint32_t) exact->okey * 2654435761u) ^ 0x5bd1e995u;
}

void protect_cell(const protect_t *self, const cat_measure_t *m, bool personal, const cell_t *exact,
                  cell_t *out)
{
    *out = *exact;
    if (!personal)
        return;
    /* Units draw from the contributors' key, so the same people publish
     * the same count everywhere; everything else from a key of the
     * contributors and their answers. */
    uint32_t key = (uint32_t) exact->ckey;
    uint32_t akey = s_answers_key(exact);
    out->units = exact->units + protect_noise(self, exact->units, key);
    /* n = units + the extra answers of people who answered more than once:
     * published as units' plus a perturbed extra (0 stays 0), so n and
     * units are one number when every contributor gave one answer. */
    int64_t extra = exact->n - exact->units;
    if (extra > 0)
        extra = s_nonneg(extra + s_free_noise(self, TAG_COUNT, m->id, akey, 0));
    out->n = exact->n > 0 ? out->units + (extra > 0 ? extra : 0) : 0;
    if (exact->dont_know > 0)
        out->dont_know = s_nonneg(exact->dont_know + s_free_noise(self, TAG_DONT_KNOW, NULL, akey, 0));
    if (exact->n > 0) {
        out->hits = exact->hits + s_free_noise(self, TAG_HITS, m->id, akey, 0);
        out->hits = out->hits < 0 ? 0 : out->hits > out->n ? out->n : out->hits;
        double w = s_answer_width(m);
        double mean = (double) exact->sum / (double) exact->n;
        out->sum = exact->sum + s_magnitude_noise(self, TAG_SUM, m->id, akey, w);
        out->sumsq = exact->sumsq + s_magnitude_noise(self, TAG_SUMSQ, m->id, akey, w * (2 * fabs(mean) + w));
        /* Scale the perturbed sums to the published n, so a mean stays a
         * mean of the perturbed sum over the perturbed count. */
        if (out->n != exact->n) {
            out->sum = llround((double) out->sum * (double) out->n / (double) exact->n);
            out->sumsq = llround((double) out->sumsq * (double) out->n / (double) exact->n);
        }
    }
    /* No bins: medians are published by protect_quantiles, and bins are
     * small counts that bound hidden cells by subtraction. */
    memset(out->hist, 0, sizeof out->hist);
    /* A share measure publishes its share: hits over n. Its sum and sums
     * of squares are the same counts again (yes = hits, no = n - hits);
     * perturbed independently they would be second copies of one number,
     * and intersecting the copies narrows it. */
    if (m->aggregate == AGG_SHARE_YES || m->aggregate == AGG_SHARE_SUSTAINED)
        out->sum = out->sumsq = 0;
    out->ckey = out->okey = 0; /* the keys themselves are never published */
}

/* ---- quantiles ------------------------------------------------------- */

/* Whether Q(num/den) of n values can be published with ranks moved by up
 * to D: the window must stay off the smallest and the largest value. */
static bool s_quantile_fits(int64_t n, int num, int den, int d)
{
    int64_t lo, hi;
    dist_ranks(n, num, den, &lo, &hi);
    return lo - d >= 2 && hi + d <= n - 1;
}

/* Twice Q(num/den) of d with both ranks moved by j, kept within 2..n-1. */
static int64_t s_shifted2(const dist_t *d, int num, int den, int j)
{
    int64_t lo, hi, n = d->total;
    dist_ranks(n, num, den, &lo, &hi);
    lo += j;
    hi += j;
    int64_t min = n >= 3 ? 2 : 1, max = n >= 3 ? n - 1 : n;
    lo = lo < min ? min : lo > max ? max : lo;
    hi = hi < min ? min : hi > max ? max : hi;
    return dist_at(d, lo) + dist_at(d, hi);
}

/* A published day-count quantile from twice its value: the nearest whole
 * week, a half week up. */
static double s_weeks(int64_t twice)
{
    return (double) ((twice + 7) / 14 * 7);
}

void protect_quantiles(const protect_t *self, const cat_measure_t *m, bool personal, const cell_t *exact,
                       const dist_t *d, int64_t published_n, cell_quantiles_t *out)
{
    memset(out, 0, sizeof *out);
    /* The distribution must be the one of this state (a roll-up sums its
     * parts, as its state does); anything else publishes no quantile. */
    if (d->total <= 0 || d->total != exact->n)
        return;
    if (!personal) {
        cell_quantiles(m, d, out);
        return;
    }
    bool days = m->aggregate == AGG_MEDIAN_DAYS;
    if (!days && m->aggregate != AGG_ORDINAL)
        return;
    /* One rank shift for all quantiles of the cell, from the answers' key:
     * the same published state gives the same quantiles everywhere, they
     * stay ordered (q1 <= median <= q3), and a change of content is a
     * fresh draw. Decided on the published count: whether a quantile is
     * shown reveals nothing the count does not. */
    int dev = self->params.max_dev;
    int j = s_free_noise(self, TAG_QUANTILE, m->id, s_answers_key(exact), 0);
    if (s_quantile_fits(published_n, 1, 2, dev)) {
        int64_t twice = s_shifted2(d, 1, 2, j);
        out->median = days ? s_weeks(twice) : (double) twice / 2;
        out->has_median = true;
    }
    if (days && s_quantile_fits(published_n, 1, 4, dev) && s_quantile_fits(published_n, 3, 4, dev)) {
        out->q1 = s_weeks(s_shifted2(d, 1, 4, j));
        out->q3 = s_weeks(s_shifted2(d, 3, 4, j));
        out->has_quartiles = true;
    }
}

int protect_quantile_min_n(const protect_t *self, int num, int den)
{
    int64_t n = 1;
    while (!s_quantile_fits(n, num, den, self->params.max_dev) && n < 100000)
        n++;
    return (int) n;
}

json_t *protect_describe(const protect_t *self)
{
    int d = self->params.max_dev;
    json_t *rows = json_array();
    for (int i = 0; i <= d; i++) {
        json_t *p = json_array();
        for (int k = 0; k < 2 * d + 1; k++)
            json_array_append_new(p, json_real(self->rows[i].p[k]));
        json_array_append_new(rows, json_pack("{s:i,s:b,s:o}", "count", self->params.min_count + i,
                                              "and_above", i == d, "p", p));
    }
    json_t *quantiles = json_pack("{s:s,s:i,s:i,s:i}", "method", "rank-perturbation", "median_min_n",
                                  protect_quantile_min_n(self, 1, 2), "quartiles_min_n",
                                  protect_quantile_min_n(self, 1, 4), "days_rounded_to", 7);
    return json_pack("{s:s,s:i,s:i,s:f,s:o,s:o}", "method", "cell-key", "min_count", self->params.min_count,
                     "max_deviation", d, "variance", self->params.variance, "table", rows, "quantiles",
                     quantiles);
}
