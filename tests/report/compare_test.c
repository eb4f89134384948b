/* compare_test.c: the formulas of report/compare.c against values
 * computed by hand — which aggregates compare in their mean and which in
 * their share, the change, Welch's interval for a difference of means
 * (exact t quantile at a fractional df, none below n = 2, [d, d] without
 * variance) and the Wald interval for a difference of shares — and the
 * JSON field names. query_test checks the same on a real ledger. */
#include "testutil.h"

#include "catalogue.h"
#include "cell.h"
#include "compare.h"

#include <math.h>
#include <string.h>

static bool s_near(double a, double b, double tol)
{
    return fabs(a - b) <= tol;
}

/* The values of a cell holding exactly these answers. */
static cell_values_t s_values(cat_aggregate_t agg, const int *v, int n, int hits)
{
    cat_measure_t m = {.aggregate = agg};
    cell_t c = {.n = n, .units = n, .hits = hits};
    for (int i = 0; i < n; i++) {
        c.sum += v[i];
        c.sumsq += (int64_t) v[i] * v[i];
    }
    cell_values_t out;
    cell_values(&m, &c, 0, &out);
    return out;
}

/* An agree scale declares a top range ("share agreeing"); a maturity
 * scale does not, and its measures have no share to compare. */
static const cat_scale_t s_agree5 = {.min = 1, .max = 5, .top_lo = 4, .top_hi = 5};
static const cat_scale_t s_maturity4 = {.min = 1, .max = 4};

static void test_what_compares(void)
{
    static const struct {
        cat_aggregate_t agg;
        bool mean, share;
    } cases[] = {{AGG_ORDINAL, true, true},       {AGG_SHARE_YES, false, true},
                 {AGG_SUM, true, false},          {AGG_MEDIAN_DAYS, true, true},
                 {AGG_PAIRED_CHANGE, true, true}, {AGG_SHARE_SUSTAINED, false, true}};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        cat_measure_t m = {.aggregate = cases[i].agg, .scale = &s_agree5};
        CHECK(compare_has_mean(&m) == cases[i].mean);
        CHECK(compare_has_share(&m) == cases[i].share);
    }
    cat_measure_t maturity = {.aggregate = AGG_ORDINAL, .scale = &s_maturity4};
    CHECK(compare_has_mean(&maturity) && !compare_has_share(&maturity));
}

/* A share measure changes in its share only, in share units. */
static void test_change(void)
{
    cat_measure_t share = {.aggregate = AGG_SHARE_YES},
                  ordinal = {.aggregate = AGG_ORDINAL, .scale = &s_agree5};
    int yes[20] = {0};
    cell_values_t before = s_values(AGG_SHARE_YES, yes, 20, 6), now = s_values(AGG_SHARE_YES, yes, 20, 17);
    compare_change_t c;
    compare_change(&share, &now, &before, &c);
    CHECK(!c.has_mean && c.has_share && s_near(c.share, 0.55, 1e-15));
    json_t *row = json_object();
    compare_change_json(row, "change_year_", &c);
    CHECK(json_object_size(row) == 1 &&
          s_near(json_real_value(json_object_get(row, "change_year_share")), 0.55, 1e-15));
    json_decref(row);
    int a[] = {1, 2, 3}, b[] = {4, 5, 5, 4};
    before = s_values(AGG_ORDINAL, a, 3, 0);
    now = s_values(AGG_ORDINAL, b, 4, 4);
    compare_change(&ordinal, &now, &before, &c);
    CHECK(c.has_mean && c.has_share && s_near(c.mean, 2.5, 1e-15) && s_near(c.share, 1, 1e-15));
}

/* integrated 5 5 5 3 3 against project 2 2 2 2 4 4 (see query_test):
 * d = 23/15, df = 8.4232602, t = 2.2859895 (scipy 2.28598949), interval
 * [0.0557673, 3.0108994]; top shares 3/5 and 2/6: [-0.3048806, 0.8382139]. */
static void test_welch_and_wald(void)
{
    cat_measure_t m = {.aggregate = AGG_ORDINAL, .scale = &s_agree5};
    int gi[] = {5, 5, 5, 3, 3}, gp[] = {2, 2, 2, 2, 4, 4};
    cell_values_t a = s_values(AGG_ORDINAL, gi, 5, 3), b = s_values(AGG_ORDINAL, gp, 6, 2);
    compare_diff_t d;
    compare_diff(&m, &a, &b, &d);
    CHECK(d.has_mean && d.has_mean_ci && d.has_share);
    CHECK(s_near(d.mean, 23.0 / 15, 1e-12));
    CHECK(s_near(d.mean_ci[0], 0.0557673078, 1e-6) && s_near(d.mean_ci[1], 3.0108993589, 1e-6));
    CHECK(s_near(d.share, 4.0 / 15, 1e-12));
    CHECK(s_near(d.share_ci[0], -0.3048805982, 1e-9) && s_near(d.share_ci[1], 0.8382139316, 1e-9));
    /* Equal sizes and variances: df = 2(n − 1) = 8 exactly, and the half
     * width is t(0.975, 8) = 2.306004135 times sqrt(2 s²/n). 1 2 3 4 5
     * against 2 3 4 5 6: s² = 2.5, half = 2.306004135 · 1. */
    int x[] = {1, 2, 3, 4, 5}, y[] = {2, 3, 4, 5, 6};
    a = s_values(AGG_ORDINAL, x, 5, 2);
    b = s_values(AGG_ORDINAL, y, 5, 3);
    compare_diff(&m, &a, &b, &d);
    CHECK(s_near(d.mean, -1, 1e-15));
    CHECK(s_near(d.mean_ci[0], -1 - 2.306004135033371, 1e-9) &&
          s_near(d.mean_ci[1], -1 + 2.306004135033371, 1e-9));
    /* No variance on either side: [d, d]. One answer on a side: a
     * difference but no interval. */
    int four[] = {4, 4, 4}, two[] = {2, 2};
    a = s_values(AGG_ORDINAL, four, 3, 3);
    b = s_values(AGG_ORDINAL, two, 2, 0);
    compare_diff(&m, &a, &b, &d);
    CHECK(d.has_mean_ci && d.mean_ci[0] == 2 && d.mean_ci[1] == 2);
    a = s_values(AGG_ORDINAL, four, 1, 1);
    compare_diff(&m, &a, &b, &d);
    CHECK(d.has_mean && !d.has_mean_ci && s_near(d.mean, 2, 1e-15));
    json_t *row = json_object();
    compare_diff_json(row, "integrated_minus_project_", &d);
    CHECK(json_object_get(row, "integrated_minus_project_mean") &&
          !json_object_get(row, "integrated_minus_project_mean_ci95") &&
          json_object_get(row, "integrated_minus_project_share") &&
          json_object_get(row, "integrated_minus_project_share_ci95"));
    json_decref(row);
    /* A share measure: 7 of 10 against 4 of 10, no mean. */
    cat_measure_t s = {.aggregate = AGG_SHARE_YES};
    int none[10] = {0};
    a = s_values(AGG_SHARE_YES, none, 10, 7);
    b = s_values(AGG_SHARE_YES, none, 10, 4);
    compare_diff(&s, &a, &b, &d);
    CHECK(!d.has_mean && !d.has_mean_ci && d.has_share);
    CHECK(s_near(d.share_ci[0], -0.1157711473, 1e-9) && s_near(d.share_ci[1], 0.7157711473, 1e-9));
    row = json_object();
    compare_diff_json(row, "integrated_minus_project_", &d);
    CHECK(json_object_size(row) == 2);
    json_decref(row);
}

static const test_case_t s_cases[] = {
    {"what compares", test_what_compares},
    {"change", test_change},
    {"Welch and Wald", test_welch_and_wald},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
