/* protect_test.c: the cell-key method (report/protect.c) and the
 * publication cadence (report/publish.c).
 *
 * The table has the documented shape; draws follow it; the same
 * contributors always publish the same value and one more gives a fresh,
 * independent draw, so an attacker who differences two outputs guesses a
 * yes/no answer no better than the Bayes bound computed from the table;
 * a published state moves only after min_count contributions changed;
 * quantiles are read at ranks moved by a draw from the same table. */
#include "testutil.h"

#include "ledger.h"
#include "protect.h"
#include "publish.h"

#include <math.h>
#include <sodium.h>
#include <string.h>

static const uint8_t s_secret[SECRET_LEN] = {42, 1, 2, 3};

static protect_t *s_new(void)
{
    protect_params_t pp = PROTECT_DEFAULTS;
    char err[128];
    protect_t *p = protect_new(&pp, s_secret, err, sizeof err);
    CHECK(p);
    return p;
}

/* p(j) of row `row` from the public description. */
static double s_p(json_t *d, int row, int j)
{
    json_t *r = json_array_get(json_object_get(d, "table"), (size_t) row);
    int dmax = (int) json_integer_value(json_object_get(d, "max_deviation"));
    return json_real_value(json_array_get(json_object_get(r, "p"), (size_t) (j + dmax)));
}

static void test_table_shape(void)
{
    protect_t *p = s_new();
    json_t *d = protect_describe(p);
    CHECK_EQ(json_array_size(json_object_get(d, "table")), 3); /* counts 5, 6, 7+ */
    for (int row = 0; row < 3; row++) {
        double sum = 0, mean = 0, var = 0;
        for (int j = -2; j <= 2; j++) {
            double q = s_p(d, row, j);
            CHECK(q >= 0);
            sum += q;
            mean += j * q;
            var += j * j * q;
        }
        CHECK(fabs(sum - 1) < 1e-9);
        /* Never below the minimum count: row i may go down by at most i. */
        for (int j = -2; j < -row; j++)
            CHECK(s_p(d, row, j) == 0);
        if (row >= 1) { /* zero mean and variance V where the room exists */
            CHECK(fabs(mean) < 1e-9);
            CHECK(fabs(var - mean * mean - 1.05) < 1e-9);
        }
    }
    json_decref(d);
    char err[128];
    protect_params_t bad = {5, 2, 3.0}; /* V > D*D/2 */
    CHECK(!protect_new(&bad, s_secret, err, sizeof err) && strstr(err, "variance"));
    protect_params_t bad_d = {5, 0, 1.0};
    CHECK(!protect_new(&bad_d, s_secret, err, sizeof err) && strstr(err, "D ="));
    protect_destroy(&p);
}

/* Draws over many cell keys follow the table; no count is published below
 * the minimum or off by more than D. */
static void test_draws_follow_table(void)
{
    protect_t *p = s_new();
    json_t *d = protect_describe(p);
    for (int count = 5; count <= 50; count += 45) {
        int hist[5] = {0}, trials = 200000;
        for (int i = 0; i < trials; i++) {
            uint32_t key = randombytes_random();
            int j = protect_noise(p, count, key);
            CHECK(j >= -2 && j <= 2);
            CHECK(count + j >= 5);
            hist[j + 2]++;
        }
        int row = count == 5 ? 0 : 2;
        for (int j = -2; j <= 2; j++)
            CHECK(fabs((double) hist[j + 2] / trials - s_p(d, row, j)) < 0.005);
    }
    CHECK_EQ(protect_noise(p, 4, 12345), 0); /* hidden: never drawn */
    json_decref(d);
    protect_destroy(&p);
}

static const cat_measure_t s_yes = {.id = "t_share_yes", .aggregate = AGG_SHARE_YES};

/* A yes/no cell of `people` record keys with `yes` answering yes. */
static cell_t s_cell(const uint32_t *keys, int people, int yes)
{
    cell_t c = {0};
    for (int i = 0; i < people; i++) {
        c.n++;
        c.units++;
        c.hits += i < yes;
        c.sum += i < yes ? 1 : 2;
        c.sumsq += i < yes ? 1 : 4;
        c.ckey = (uint32_t) (c.ckey + keys[i]);
    }
    return c;
}

static void test_same_contributors_same_value(void)
{
    protect_t *p = s_new();
    uint32_t keys[40];
    for (int i = 0; i < 40; i++)
        keys[i] = secret_record_key(s_secret, &i, sizeof i);
    cell_t c = s_cell(keys, 30, 12), a, b;
    protect_cell(p, &s_yes, true, &c, &a);
    protect_cell(p, &s_yes, true, &c, &b);
    CHECK(!memcmp(&a, &b, sizeof a));
    CHECK_EQ(a.ckey, 0); /* the key itself is never published */
    /* Organisation reports are not perturbed. */
    protect_cell(p, &s_yes, false, &c, &a);
    CHECK_EQ(a.hits, 12);
    CHECK_EQ(a.n, 30);
    protect_destroy(&p);
}

/* Differencing: a reader sees a yes/no cell's published hits before and
 * after one more person answers. The best guess of that answer from the
 * table (both draws independent, from the full row) is right with
 * probability bound = 1/2 + 1/2 TV(P(d), P(1 + d)) where d = j2 - j1; an
 * attacker using that rule on real draws must not do better. */
static void test_differencing_bound(void)
{
    protect_t *p = s_new();
    json_t *d = protect_describe(p);
    double pd[9] = {0}; /* P(j2 - j1 = x), x in -4..4 */
    for (int a = -2; a <= 2; a++)
        for (int b = -2; b <= 2; b++)
            pd[b - a + 4] += s_p(d, 2, a) * s_p(d, 2, b);
    double bound = 0; /* sum over observed deltas of max(P(delta|0), P(delta|1)) / 2 */
    for (int delta = -4; delta <= 5; delta++) {
        double p0 = delta >= -4 && delta <= 4 ? pd[delta + 4] : 0;
        double p1 = delta - 1 >= -4 && delta - 1 <= 4 ? pd[delta - 1 + 4] : 0;
        bound += fmax(p0, p1) / 2;
    }
    CHECK(bound < 0.75); /* the table hides most of a single answer */
    int right = 0, trials = 20000;
    uint32_t keys[41];
    for (int t = 0; t < trials; t++) {
        for (int i = 0; i < 41; i++)
            keys[i] = randombytes_random();
        int people = 20 + t % 20, yes = people / 3, answer = (int) (randombytes_random() & 1);
        cell_t before = s_cell(keys, people, yes), after = before, pb, pa;
        /* The newcomer (keys[people]) answers `answer`. */
        after.n++;
        after.units++;
        after.hits += answer;
        after.sum += answer ? 1 : 2;
        after.sumsq += answer ? 1 : 4;
        after.ckey = (uint32_t) (after.ckey + keys[people]);
        protect_cell(p, &s_yes, true, &before, &pb);
        protect_cell(p, &s_yes, true, &after, &pa);
        int64_t delta = pa.hits - pb.hits;
        double p0 = delta >= -4 && delta <= 4 ? pd[delta + 4] : 0;
        double p1 = delta - 1 >= -4 && delta - 1 <= 4 ? pd[delta - 1 + 4] : 0;
        int guess = p1 > p0 || (p1 == p0 && (t & 1));
        right += guess == answer;
    }
    double rate = (double) right / trials;
    fprintf(stderr, "differencing: bound %.3f, attacker %.3f over %d trials\n", bound, rate, trials);
    CHECK(rate <= bound + 0.015);
    json_decref(d);
    protect_destroy(&p);
}

/* A second answer of someone already counted moves no contributor key;
 * the answer key (okey) must still give a fresh draw, and sums must not
 * move in whole answer widths (found in review: both gave the new answer
 * back from two consecutive outputs). */
static void test_second_answer_is_a_fresh_draw(void)
{
    static const cat_scale_t agree5 = {.code = "agree5", .min = 1, .max = 5, .dont_know = 0};
    const cat_measure_t ordinal = {.id = "t_ordinal", .aggregate = AGG_ORDINAL, .scale = &agree5};
    protect_t *p = s_new();
    int right = 0, residue[4] = {0}, trials = 20000;
    for (int t = 0; t < trials; t++) {
        cell_t before = {0}, after, pb, pa;
        for (int i = 0; i < 30; i++) {
            int v = 1 + (int) (randombytes_random() % 5);
            before.n++;
            before.units++;
            before.sum += v;
            before.sumsq += v * v;
            before.ckey = (uint32_t) (before.ckey + randombytes_random());
            before.okey = (uint32_t) (before.okey + randombytes_random());
        }
        int v = 2 + (int) (randombytes_random() % 3); /* 2, 3 or 4 */
        after = before;
        after.n++;
        after.sum += v;
        after.sumsq += v * v;
        after.okey = (uint32_t) (after.okey + randombytes_random());
        protect_cell(p, &ordinal, true, &before, &pb);
        protect_cell(p, &ordinal, true, &after, &pa);
        /* The attacker's best single read: the sums' difference rescaled. */
        double d = (double) pa.sum * after.n / (double) pa.n - (double) pb.sum * before.n / (double) pb.n;
        long guess = lround(d);
        guess = guess < 2 ? 2 : guess > 4 ? 4 : guess;
        right += guess == v;
        residue[((pa.sum - pb.sum) % 4 + 4) % 4]++;
    }
    double rate = (double) right / trials;
    fprintf(stderr, "second answer: read right %.3f (guessing 0.333)\n", rate);
    CHECK(rate < 0.5); /* without the answer key: 1.0 */
    for (int r = 0; r < 4; r++)
        CHECK(residue[r] > trials / 8);
    protect_destroy(&p);
}

/* ---- publication ------------------------------------------------------ */

static ledger_t *s_ledger;
static cell_t s_state;
static uint8_t s_key[CELL_KEY_LEN];

/* Writes the cell as an event's transaction would, log entry included
 * (a publication skips a log that has not moved). */
static int s_put_cell(ledger_txn_t *lt, void *ctx)
{
    (void) ctx;
    static uint8_t id[16];
    id[15]++;
    uint64_t seq;
    return ledger_append(lt, "NV", id, (const uint8_t *) "x", 1, 0, &seq);
}

/* ...and the cells as the aggregator would write them after it. */
static int s_put_state(ledger_txn_t *lt, void *ctx)
{
    (void) ctx;
    MDB_val k = {CELL_KEY_LEN, s_key}, v = {sizeof s_state, &s_state};
    int rc = mdb_put(lt->cells, ledger_dbi(lt->ledger, LEDGER_DB_CELLS), &k, &v, 0);
    return rc ? rc : ledger_set_applied(lt, lt->next_seq - 1);
}

static bool s_published(cell_t *out)
{
    MDB_txn *txn;
    CHECK(store_read(ledger_store(s_ledger), &txn) == 0);
    MDB_val k = {CELL_KEY_LEN, s_key}, v;
    int rc = mdb_get(txn, ledger_dbi(s_ledger, LEDGER_DB_PUBLISHED), &k, &v);
    publish_entry_t e;
    if (rc == 0)
        CHECK(publish_entry_decode(v.mv_data, v.mv_size, &e) == 0);
    store_read_end(ledger_store(s_ledger), txn);
    if (rc == 0)
        *out = e.cell;
    return rc == 0;
}

static void s_set_units(int units)
{
    s_state.n = s_state.units = units;
    s_state.sum = 3 * units;
    s_state.ckey = (uint32_t) (units * 2654435761u);
    CHECK(ledger_write(s_ledger, s_put_cell, NULL) == 0);
    CHECK(ledger_cells_write(s_ledger, s_put_state, NULL) == 0);
}

static void test_publication_threshold(void)
{
    char err[256], path[512];
    snprintf(path, sizeof path, "%s/ledger", tu_tempdir());
    CHECK(ledger_open(&s_ledger, path, false, err, sizeof err) == 0);
    protect_params_t pp = PROTECT_DEFAULTS;
    protect_t *p = protect_open(s_ledger, &pp, err, sizeof err);
    catalogue_t *cat = NULL;
    CHECK(p && catalogue_load(&cat, NULL, err, sizeof err) == 0);
    cell_key_t ck = {.measure = "i1_behov", .forbund = "NV", .period = cell_period(PERIOD_YEAR, 2026, 0)};
    cell_key_encode(s_key, &ck);
    publish_report_t r;
    cell_t got;
    const int64_t day = 86400000;

    s_set_units(3); /* too few changed to publish a new cell */
    CHECK(publish_run(s_ledger, cat, p, 1 * day, 7 * day, &r) == 0);
    /* ... only noted as waiting (an empty state: not shown). */
    CHECK(s_published(&got) && cell_is_zero(&got) && r.waiting == 1 && r.refreshed == 0);
    s_set_units(10);
    CHECK(publish_run(s_ledger, cat, p, 1 * day, 7 * day, &r) == 0);
    CHECK(s_published(&got) && got.units == 10 && r.refreshed == 1);
    CHECK(r.seq == ledger_next_seq(s_ledger) - 1);
    /* One person more: the published state waits ... */
    s_set_units(11);
    CHECK(publish_run(s_ledger, cat, p, 2 * day, 7 * day, &r) == 0);
    CHECK(s_published(&got) && got.units == 10 && r.waiting == 1);
    /* ... until min_count have changed since it moved ... */
    s_set_units(15);
    CHECK(publish_run(s_ledger, cat, p, 3 * day, 7 * day, &r) == 0);
    CHECK(s_published(&got) && got.units == 15);
    /* ... or it is older than max age. */
    s_set_units(16);
    CHECK(publish_run(s_ledger, cat, p, 4 * day, 7 * day, &r) == 0);
    CHECK(s_published(&got) && got.units == 15);
    CHECK(publish_run(s_ledger, cat, p, 10 * day + 1, 7 * day, &r) == 0);
    CHECK(s_published(&got) && got.units == 16);
    uint64_t seq;
    int64_t at;
    CHECK(publish_last(s_ledger, &seq, &at, NULL) == 0 && at == 10 * day + 1);
    /* Nothing new: the publication stands as it was (no write). */
    CHECK(publish_run(s_ledger, cat, p, 11 * day, 7 * day, &r) == 0);
    CHECK(r.seq == seq && r.at_ms == 10 * day + 1 && r.refreshed == 0);
    catalogue_destroy(&cat);
    protect_destroy(&p);
    ledger_close(&s_ledger);
}

/* ---- quantiles ----------------------------------------------------------- */

static const cat_measure_t s_days = {.id = "t_days", .aggregate = AGG_MEDIAN_DAYS};
static const cat_measure_t s_scale = {.id = "t_scale", .aggregate = AGG_ORDINAL};

/* n day counts 28, 56, ..., 28 n: ranks two weeks apart, so the published
 * value names the rank it was read at. */
static void s_days_cell(int n, uint32_t ckey, uint32_t okey, cell_t *c, dist_t *d)
{
    memset(c, 0, sizeof *c);
    dist_clear(d);
    for (int i = 1; i <= n; i++) {
        CHECK(dist_add(d, 28 * i, 1) == 0);
        c->n++;
        c->units++;
        c->sum += 28 * i;
    }
    c->ckey = ckey;
    c->okey = okey;
}

/* Rank perturbation: the published median is the value at the true rank
 * moved by j, with j distributed as the untruncated row; the same state
 * always publishes the same quantiles, a change of one answer draws
 * again; never the smallest or largest value; shown from n = 7 (median)
 * and 13 (quartiles), counted on the published n; days in whole weeks. */
static void test_quantiles_rank_perturbation(void)
{
    protect_t *p = s_new();
    json_t *desc = protect_describe(p);
    json_t *q = json_object_get(desc, "quantiles");
    CHECK_EQ(json_integer_value(json_object_get(q, "median_min_n")), 7);
    CHECK_EQ(json_integer_value(json_object_get(q, "quartiles_min_n")), 13);
    dist_t d = DIST_INIT;
    cell_t c;
    cell_quantiles_t a, b;
    int shifts[5] = {0}, trials = 100000, redrawn = 0;
    for (int i = 0; i < trials; i++) {
        uint32_t ck = randombytes_random(), ok = randombytes_random();
        s_days_cell(41, ck, ok, &c, &d);
        protect_quantiles(p, &s_days, true, &c, &d, 41, &a);
        CHECK(a.has_median && a.has_quartiles);
        CHECK((int64_t) a.median % 28 == 0 && (int64_t) a.q1 % 28 == 0 && (int64_t) a.q3 % 28 == 0);
        int j = (int) a.median / 28 - 21; /* median rank of 41: 21 */
        CHECK(j >= -2 && j <= 2);
        shifts[j + 2]++;
        /* One shift for the whole cell: q1 (rank 11) and q3 (rank 31) move with it. */
        CHECK((int) a.q1 / 28 - 11 == j && (int) a.q3 / 28 - 31 == j);
        protect_quantiles(p, &s_days, true, &c, &d, 41, &b);
        CHECK(!memcmp(&a, &b, sizeof a));
        c.okey = (uint32_t) (c.okey + 0x9e3779b9u); /* one answer more or other */
        protect_quantiles(p, &s_days, true, &c, &d, 41, &b);
        redrawn += b.median != a.median;
    }
    for (int j = -2; j <= 2; j++)
        CHECK(fabs((double) shifts[j + 2] / trials - s_p(desc, 2, j)) < 0.005);
    double same = 0;
    for (int j = -2; j <= 2; j++)
        same += s_p(desc, 2, j) * s_p(desc, 2, j);
    CHECK(fabs((double) redrawn / trials - (1 - same)) < 0.01);
    /* A small cell: the extremes (28 and 196) are never published. */
    for (int i = 0; i < 20000; i++) {
        s_days_cell(7, randombytes_random(), randombytes_random(), &c, &d);
        protect_quantiles(p, &s_days, true, &c, &d, 7, &a);
        CHECK(a.has_median && !a.has_quartiles);
        CHECK(a.median >= 56 && a.median <= 168);
    }
    /* Shown by the published n: 6 -> nothing, 12 -> no quartiles. */
    s_days_cell(9, 1, 2, &c, &d);
    protect_quantiles(p, &s_days, true, &c, &d, 6, &a);
    CHECK(!a.has_median && !a.has_quartiles);
    s_days_cell(14, 1, 2, &c, &d);
    protect_quantiles(p, &s_days, true, &c, &d, 12, &a);
    CHECK(a.has_median && !a.has_quartiles);
    /* A distribution that is not the state's publishes nothing. */
    s_days_cell(20, 1, 2, &c, &d);
    c.n = 21;
    protect_quantiles(p, &s_days, true, &c, &d, 21, &a);
    CHECK(!a.has_median);
    /* Whole weeks: 29 days x 20 -> 28. */
    memset(&c, 0, sizeof c);
    dist_clear(&d);
    CHECK(dist_add(&d, 29, 20) == 0);
    c.n = c.units = 20;
    protect_quantiles(p, &s_days, true, &c, &d, 20, &a);
    CHECK(a.median == 28 && a.q1 == 28 && a.q3 == 28);
    /* An answer scale: the median only, halves kept; organisation
     * reports exact. */
    dist_clear(&d);
    CHECK(dist_add(&d, 3, 10) == 0 && dist_add(&d, 4, 10) == 0);
    c.n = c.units = 20;
    c.ckey = c.okey = 0;
    protect_quantiles(p, &s_scale, false, &c, &d, 20, &a);
    CHECK(a.has_median && !a.has_quartiles && a.median == 3.5);
    for (uint32_t k = 0; k < 1000; k++) {
        c.okey = k;
        protect_quantiles(p, &s_scale, true, &c, &d, 20, &a);
        CHECK(a.has_median && !a.has_quartiles && (a.median == 3 || a.median == 3.5 || a.median == 4));
    }
    dist_free(&d);
    json_decref(desc);
    protect_destroy(&p);
}

static const test_case_t s_cases[] = {
    {"table shape", test_table_shape},
    {"draws follow table", test_draws_follow_table},
    {"same contributors same value", test_same_contributors_same_value},
    {"differencing bound", test_differencing_bound},
    {"second answer is a fresh draw", test_second_answer_is_a_fresh_draw},
    {"publication threshold", test_publication_threshold},
    {"quantiles rank perturbation", test_quantiles_rank_perturbation},
};

int main(int argc, char **argv)
{
    CHECK(sodium_init() >= 0);
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
