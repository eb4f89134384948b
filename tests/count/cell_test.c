/* cell_test.c: count/cell.c: cell keys encoded and decoded in memcmp
 * order, period arithmetic over months, quarters and years, the list of
 * slices, the exact inverse of cell_add (with the 32-bit keys wrapping)
 * and the values derived from a state. */
#include "testutil.h"

#include "cell.h"
#include "tdist.h"

#include <math.h>
#include <string.h>

static cell_key_t s_key(const char *measure, const char *forbund, uint32_t period, uint16_t slice)
{
    cell_key_t k = {0};
    snprintf(k.measure, sizeof k.measure, "%s", measure);
    snprintf(k.forbund, sizeof k.forbund, "%s", forbund);
    k.period = period;
    k.slice = slice;
    return k;
}

static void s_check_round_trip(const cell_key_t *k)
{
    uint8_t buf[CELL_KEY_LEN];
    cell_key_encode(buf, k);
    cell_key_t back;
    memset(&back, 0x55, sizeof back);
    CHECK_EQ(cell_key_decode(&back, buf, CELL_KEY_LEN), 0);
    CHECK(!strcmp(back.measure, k->measure));
    CHECK(!strcmp(back.forbund, k->forbund));
    CHECK_EQ(back.period, k->period);
    CHECK_EQ(back.slice, k->slice);
}

static void test_key_round_trip(void)
{
    cell_key_t k = s_key("d_behov", "NV", cell_period(PERIOD_MONTH, 2026, 3), cell_slice(SLICE_GENDER, 1));
    s_check_round_trip(&k);
    /* Full-width fields: a 32-byte measure and an 8-byte förbund have no NUL
     * in the key, and come back terminated. */
    k = s_key("abcdefghijklmnopqrstuvwxyz012345", "ABCDEFGH", cell_period(PERIOD_YEAR, 2100, 0), 0xffff);
    CHECK_EQ(strlen(k.measure), CELL_MEASURE_LEN);
    s_check_round_trip(&k);
    k = s_key("", "", 0, 0);
    s_check_round_trip(&k);

    uint8_t buf[CELL_KEY_LEN];
    cell_key_encode(buf, &k);
    cell_key_t back;
    CHECK_EQ(cell_key_decode(&back, buf, CELL_KEY_LEN - 1), -1);
    CHECK_EQ(cell_key_decode(&back, buf, CELL_KEY_LEN + 1), -1);
}

/* The layout cell.h promises: NUL-padded names, big-endian period and
 * slice, so memcmp orders by measure, förbund, period, slice. */
static void test_key_layout_and_order(void)
{
    uint8_t buf[CELL_KEY_LEN];
    cell_key_t k = s_key("m", "NV", cell_period(PERIOD_MONTH, 2026, 3), cell_slice(SLICE_AGE, 2));
    cell_key_encode(buf, &k);
    CHECK_EQ(buf[0], 'm');
    for (int i = 1; i < CELL_MEASURE_LEN; i++)
        CHECK_EQ(buf[i], 0);
    CHECK(!memcmp(buf + 32, "NV\0\0\0\0\0\0", 8));
    uint32_t p = cell_period(PERIOD_MONTH, 2026, 3);
    CHECK_EQ(buf[40], p >> 24);
    CHECK_EQ(buf[43], p & 0xff);
    CHECK_EQ(buf[44], SLICE_AGE);
    CHECK_EQ(buf[45], 2);

    /* Each list is in ascending order by the key's fields. */
    const cell_key_t sorted[] = {
        s_key("a", "ZZ", cell_period(PERIOD_YEAR, 2030, 0), 9),
        s_key("b", "AA", cell_period(PERIOD_YEAR, 2020, 0), 0),
        s_key("b", "AB", cell_period(PERIOD_YEAR, 2020, 0), 0),
        s_key("b", "AB", cell_period(PERIOD_YEAR, 2021, 0), 0),
        s_key("b", "AB", cell_period(PERIOD_QUARTER, 2020, 1), 0),
        s_key("b", "AB", cell_period(PERIOD_MONTH, 2019, 12), 0),
        s_key("b", "AB", cell_period(PERIOD_MONTH, 2020, 1), 0),
        s_key("b", "AB", cell_period(PERIOD_MONTH, 2020, 1), cell_slice(SLICE_MODE, 1)),
        s_key("b", "AB", cell_period(PERIOD_MONTH, 2020, 1), cell_slice(SLICE_MODE, 2)),
        s_key("b", "AB", cell_period(PERIOD_MONTH, 2020, 1), cell_slice(SLICE_AGENCY, 1)),
        s_key("bb", "", 0, 0),
    };
    for (size_t i = 1; i < TU_NELEMS(sorted); i++) {
        uint8_t a[CELL_KEY_LEN], b[CELL_KEY_LEN];
        cell_key_encode(a, &sorted[i - 1]);
        cell_key_encode(b, &sorted[i]);
        if (memcmp(a, b, CELL_KEY_LEN) >= 0)
            fprintf(stderr, "keys %zu and %zu out of order\n", i - 1, i);
        CHECK(memcmp(a, b, CELL_KEY_LEN) < 0);
    }
}

static void s_check_format(uint32_t p, const char *text)
{
    char out[32];
    cell_period_format(out, sizeof out, p);
    if (strcmp(out, text))
        fprintf(stderr, "format %#x: '%s', want '%s'\n", p, out, text);
    CHECK(!strcmp(out, text));
    uint32_t back = 0;
    CHECK_EQ(cell_period_parse(text, &back), 0);
    CHECK_EQ(back, p);
}

static void test_period_format_parse(void)
{
    s_check_format(cell_period(PERIOD_YEAR, 2026, 0), "2026");
    s_check_format(cell_period(PERIOD_QUARTER, 2026, 1), "2026-Q1");
    s_check_format(cell_period(PERIOD_QUARTER, 2026, 4), "2026-Q4");
    s_check_format(cell_period(PERIOD_MONTH, 2026, 3), "2026-03");
    s_check_format(cell_period(PERIOD_MONTH, 2026, 12), "2026-12");
    s_check_format(cell_period(PERIOD_YEAR, 2000, 0), "2000");
    s_check_format(cell_period(PERIOD_YEAR, 2100, 0), "2100");
    CHECK_EQ(cell_period_kind(cell_period(PERIOD_YEAR, 2026, 0)), PERIOD_YEAR);
    CHECK_EQ(cell_period_kind(cell_period(PERIOD_QUARTER, 2026, 2)), PERIOD_QUARTER);
    CHECK_EQ(cell_period_kind(cell_period(PERIOD_MONTH, 2026, 7)), PERIOD_MONTH);

    static const char *const bad[] = {"",        "abc",     "1999",    "2101",     "2026-Q0",
                                      "2026-Q5", "2026-00", "2026-13", "2026-Q1x", "2026-03x",
                                      "20261",   "2026-",   "Q1-2026", "2026/03"};
    for (size_t i = 0; i < TU_NELEMS(bad); i++) {
        uint32_t p = 0;
        if (cell_period_parse(bad[i], &p) == 0)
            fprintf(stderr, "'%s' parsed as %#x\n", bad[i], p);
        CHECK_EQ(cell_period_parse(bad[i], &p), -1);
    }
}

static void test_period_arithmetic(void)
{
    uint32_t jan = cell_period(PERIOD_MONTH, 2026, 1);
    CHECK_EQ(cell_period_prev(jan), cell_period(PERIOD_MONTH, 2025, 12));
    CHECK_EQ(cell_period_prev(cell_period(PERIOD_MONTH, 2026, 7)), cell_period(PERIOD_MONTH, 2026, 6));
    CHECK_EQ(cell_period_prev(cell_period(PERIOD_QUARTER, 2026, 1)), cell_period(PERIOD_QUARTER, 2025, 4));
    CHECK_EQ(cell_period_prev(cell_period(PERIOD_QUARTER, 2026, 3)), cell_period(PERIOD_QUARTER, 2026, 2));
    CHECK_EQ(cell_period_prev(cell_period(PERIOD_YEAR, 2026, 0)), cell_period(PERIOD_YEAR, 2025, 0));

    CHECK_EQ(cell_period_year_before(cell_period(PERIOD_MONTH, 2026, 3)), cell_period(PERIOD_MONTH, 2025, 3));
    CHECK_EQ(cell_period_year_before(cell_period(PERIOD_QUARTER, 2026, 2)),
             cell_period(PERIOD_QUARTER, 2025, 2));
    CHECK_EQ(cell_period_year_before(cell_period(PERIOD_YEAR, 2026, 0)), cell_period(PERIOD_YEAR, 2025, 0));

    /* Every month: its quarter, that quarter's year, its calendar year;
     * twelve prevs are a year before; prev is strictly decreasing. */
    for (int y = 2000; y <= 2030; y++)
        for (int m = 1; m <= 12; m++) {
            uint32_t p = cell_period(PERIOD_MONTH, y, m);
            uint32_t q = cell_period_parent(p);
            CHECK_EQ(q, cell_period(PERIOD_QUARTER, y, (m - 1) / 3 + 1));
            CHECK_EQ(cell_period_parent(q), cell_period(PERIOD_YEAR, y, 0));
            CHECK_EQ(cell_period_parent(cell_period(PERIOD_YEAR, y, 0)), 0);
            CHECK_EQ(cell_period_year(p), y);
            CHECK_EQ(cell_period_year(q), y);
            CHECK_EQ(cell_period_year(cell_period(PERIOD_YEAR, y, 0)), y);
            uint32_t back = p;
            for (int i = 0; i < 12; i++) {
                uint32_t prev = cell_period_prev(back);
                CHECK(prev < back);
                CHECK_EQ(cell_period_kind(prev), PERIOD_MONTH);
                back = prev;
            }
            CHECK_EQ(back, cell_period_year_before(p));
            /* Four quarters back is a year before. */
            uint32_t qb = q;
            for (int i = 0; i < 4; i++)
                qb = cell_period_prev(qb);
            CHECK_EQ(qb, cell_period_year_before(q));
        }
}

static void test_slices(void)
{
    int n = cell_slice_count();
    CHECK_EQ(n, 1 + 2 + 6 + 3 + 4);
    CHECK_EQ(cell_slice_at(0), 0);
    char list[CELL_SLICE_LIST_LEN];
    cell_slice_list(list, sizeof list);
    CHECK(!strncmp(list, "all, mode=project, mode=integrated, agency=af", 45));
    for (int i = 0; i < n; i++) {
        uint16_t s = cell_slice_at(i);
        for (int j = 0; j < i; j++)
            CHECK(cell_slice_at(j) != s);
        char name[32];
        cell_slice_format(name, sizeof name, s);
        CHECK(strstr(list, name));
        uint16_t back = 0xffff;
        CHECK_EQ(cell_slice_parse(name, &back), 0);
        CHECK_EQ(back, s);
    }
    uint16_t s;
    CHECK_EQ(cell_slice_parse("gender=woman", &s), 0);
    CHECK_EQ(s, cell_slice(SLICE_GENDER, 1));
    CHECK_EQ(cell_slice_parse("age=65+", &s), 0);
    CHECK_EQ(s, cell_slice(SLICE_AGE, 4));
    CHECK_EQ(cell_slice(SLICE_ALL, 7), 0);
    static const char *const bad[] = {"", "All", "mode", "mode=", "mode=x", "gender=woman2", "x=1", "age=16"};
    for (size_t i = 0; i < TU_NELEMS(bad); i++)
        CHECK_EQ(cell_slice_parse(bad[i], &s), -1);
    char name[32];
    cell_slice_format(name, sizeof name, cell_slice(SLICE_MODE, 9)); /* no such value */
    CHECK(!strcmp(name, "slice=265"));
}

static cell_t s_random_cell(uint64_t *seed)
{
    cell_t c;
    int64_t *f = (int64_t *) &c;
    for (size_t i = 0; i < sizeof c / sizeof(int64_t); i++) {
        *seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
        f[i] = (int64_t) (*seed >> 40);
    }
    /* the keys live in 0..2^32-1 and wrap */
    c.ckey = (int64_t) (uint32_t) (*seed >> 8);
    c.okey = 0xffffffffll - (c.ckey & 0xff);
    return c;
}

static void test_add_is_invertible(void)
{
    uint64_t seed = 42;
    for (int round = 0; round < 1000; round++) {
        cell_t a = s_random_cell(&seed), b = s_random_cell(&seed), orig = a;
        cell_add(&a, &b, +1);
        CHECK(a.ckey >= 0 && a.ckey <= 0xffffffffll);
        CHECK(a.okey >= 0 && a.okey <= 0xffffffffll);
        CHECK_EQ(a.n, orig.n + b.n);
        cell_add(&a, &b, -1);
        CHECK(!memcmp(&a, &orig, sizeof a));
        /* subtract first, then add */
        cell_add(&a, &b, -1);
        CHECK(a.ckey >= 0 && a.ckey <= 0xffffffffll);
        cell_add(&a, &b, +1);
        CHECK(!memcmp(&a, &orig, sizeof a));
        /* a cell minus itself is zero */
        cell_t z = orig;
        CHECK(!cell_is_zero(&z));
        cell_add(&z, &orig, -1);
        CHECK(cell_is_zero(&z));
    }
    /* Many events added, then subtracted in another order: zero. */
    cell_t sum = {0}, ev[50];
    for (int i = 0; i < 50; i++) {
        ev[i] = s_random_cell(&seed);
        cell_add(&sum, &ev[i], +1);
    }
    for (int i = 49; i >= 0; i -= 2)
        cell_add(&sum, &ev[i], -1);
    for (int i = 0; i < 50; i += 2)
        cell_add(&sum, &ev[i], -1);
    CHECK(cell_is_zero(&sum));
}

static bool s_near(double a, double b)
{
    if (fabs(a - b) > 1e-9 * (fabs(b) + 1))
        fprintf(stderr, "%.12g != %.12g\n", a, b);
    return fabs(a - b) <= 1e-9 * (fabs(b) + 1);
}

/* Answers 1..5 on an ordinal scale, two in the top two. */
static void test_derived_values(void)
{
    cat_measure_t m = {.aggregate = AGG_ORDINAL};
    cell_t c = {0};
    for (int v = 1; v <= 5; v++) {
        cell_t one = {.n = 1, .sum = v, .sumsq = v * v, .hits = v >= 4, .units = 1};
        one.hist[v] = 1;
        cell_add(&c, &one, +1);
    }
    cell_values_t out;
    cell_values(&m, &c, 0, &out);
    CHECK(!out.suppressed);
    CHECK_EQ(out.n, 5);
    CHECK_EQ(out.units, 5);
    CHECK_EQ(out.sum, 15);
    CHECK_EQ(out.hits, 2);
    CHECK(s_near(out.mean, 3.0));
    CHECK(s_near(out.sd, sqrt(2.5)));
    double half = tdist_t975(4) * sqrt(2.5) / sqrt(5.0);
    CHECK(fabs(tdist_t975(4) - 2.776445) < 1e-5);
    CHECK(s_near(out.ci_low, 3.0 - half));
    CHECK(s_near(out.ci_high, 3.0 + half));
    CHECK(s_near(out.share, 0.4));

    /* Suppressed below min_units: nothing but n and units shown. */
    cell_values(&m, &c, 6, &out);
    CHECK(out.suppressed);
    CHECK_EQ(out.units, 5);
    CHECK(out.mean == 0 && out.share == 0 && out.sum == 0);
    cell_values(&m, &c, 5, &out);
    CHECK(!out.suppressed);

    /* One observation: no spread, the interval is the mean. */
    cell_t one = {.n = 1, .sum = 4, .sumsq = 16, .hits = 1, .units = 1};
    cell_values(&m, &one, 0, &out);
    CHECK(s_near(out.mean, 4) && out.sd == 0 && out.ci_low == 4 && out.ci_high == 4);
    /* Nothing observed: all zero, not NaN. */
    cell_t none = {.units = 3, .dont_know = 3};
    cell_values(&m, &none, 0, &out);
    CHECK(out.mean == 0 && out.sd == 0 && out.share == 0);
    CHECK_EQ(out.units, 3);

    /* A ratio: hits over sum, whatever n. */
    cat_measure_t r = {.aggregate = AGG_RATIO};
    cell_t ratio = {.n = 3, .sum = 40, .hits = 10, .units = 3};
    cell_values(&r, &ratio, 0, &out);
    CHECK(s_near(out.share, 0.25));
    ratio.sum = 0;
    cell_values(&r, &ratio, 0, &out);
    CHECK(out.share == 0);
}

static void test_quantiles(void)
{
    dist_t d = DIST_INIT;
    cat_measure_t days = {.aggregate = AGG_MEDIAN_DAYS};
    cell_quantiles_t q;
    cell_quantiles(&days, &d, &q);
    CHECK(!q.has_median && !q.has_quartiles);
    /* 10, 20, 30, 40: the median 25, quartiles between neighbours. */
    for (int v = 10; v <= 40; v += 10)
        CHECK_EQ(dist_add(&d, v, 1), 0);
    cell_quantiles(&days, &d, &q);
    CHECK(q.has_median && q.has_quartiles);
    CHECK(q.median == 25);
    CHECK(q.q1 <= q.median && q.median <= q.q3);
    CHECK(q.q1 >= 10 && q.q3 <= 40);
    /* 109 and 110: the median 109.5 is printed as 110. */
    dist_clear(&d);
    CHECK_EQ(dist_add(&d, 109, 1), 0);
    CHECK_EQ(dist_add(&d, 110, 1), 0);
    cell_quantiles(&days, &d, &q);
    CHECK(q.median == 110);
    /* An ordinal scale keeps its half, and has no quartiles. */
    cat_measure_t ord = {.aggregate = AGG_ORDINAL};
    dist_clear(&d);
    CHECK_EQ(dist_add(&d, 3, 1), 0);
    CHECK_EQ(dist_add(&d, 4, 1), 0);
    cell_quantiles(&ord, &d, &q);
    CHECK(q.has_median && !q.has_quartiles);
    CHECK(q.median == 3.5);
    /* Other aggregates have none. */
    cat_measure_t sum = {.aggregate = AGG_SUM};
    cell_quantiles(&sum, &d, &q);
    CHECK(!q.has_median);
    dist_free(&d);
}

static const test_case_t s_cases[] = {
    {"key round trip", test_key_round_trip},
    {"key layout and order", test_key_layout_and_order},
    {"period format and parse", test_period_format_parse},
    {"period arithmetic", test_period_arithmetic},
    {"slices", test_slices},
    {"add then subtract is zero", test_add_is_invertible},
    {"derived values", test_derived_values},
    {"quantiles", test_quantiles},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
