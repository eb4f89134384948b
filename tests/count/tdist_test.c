/* tdist_test.c: Student's t quantiles (count/tdist.c) against the
 * three-decimal table every statistics book prints, at the degrees of
 * freedom where the old table ended (30, 31) and far beyond; the distribution
 * function inverts the quantile at every df; closed forms (df 1, 2, 4)
 * and Simpson's rule over the density check it independently; and the
 * 95 % interval of a cell uses it (cell.c). */
#include "testutil.h"

#include "cell.h"
#include "tdist.h"

#include <math.h>

static bool s_near(double a, double b, double tol)
{
    if (fabs(a - b) <= tol)
        return true;
    fprintf(stderr, "  %.15g vs %.15g (tolerance %g)\n", a, b, tol);
    return false;
}

static void test_table_values(void)
{
    /* Two-sided 95 %: t(0.975, df), to three decimals. */
    static const struct {
        double df, t;
    } table[] = {{1, 12.706}, {2, 4.303},  {3, 3.182},  {10, 2.228},  {29, 2.045},  {30, 2.042},
                 {31, 2.040}, {40, 2.021}, {60, 2.000}, {100, 1.984}, {120, 1.980}, {1000, 1.962}};
    for (size_t i = 0; i < sizeof table / sizeof *table; i++)
        CHECK(s_near(tdist_quantile(0.975, table[i].df), table[i].t, 0.0005));
}

/* Where the quantile has a closed form (df 1, 2 and 4), to 1e-12. */
static double s_closed(double p, int df)
{
    if (df == 1)
        return tan(M_PI * (p - 0.5));
    if (df == 2)
        return (2 * p - 1) / sqrt(2 * p * (1 - p));
    double a = 4 * p * (1 - p), q = cos(acos(sqrt(a)) / 3) / sqrt(a);
    return copysign(2 * sqrt(q - 1), p - 0.5);
}

/* P(0 < T <= t) by Simpson's rule over the density: an independent
 * check of the incomplete-beta route at any df. */
static double s_integral(double t, double df)
{
    int n = 20000;
    double h = t / n, c = lgamma((df + 1) / 2) - lgamma(df / 2) - 0.5 * log(df * M_PI), sum = 0;
    for (int i = 0; i <= n; i++) {
        double x = i * h, f = exp(c - (df + 1) / 2 * log1p(x * x / df));
        sum += (i == 0 || i == n ? 1 : i % 2 ? 4 : 2) * f;
    }
    return sum * h / 3;
}

static void test_precise_values(void)
{
    const double ps[] = {0.025, 0.4, 0.6, 0.9, 0.975, 0.995, 0.9995};
    const int closed[] = {1, 2, 4};
    for (size_t k = 0; k < sizeof ps / sizeof *ps; k++)
        for (size_t i = 0; i < 3; i++) {
            double want = s_closed(ps[k], closed[i]);
            CHECK(s_near(tdist_quantile(ps[k], closed[i]), want, 1e-12 * fabs(want)));
        }
    const double dfs[] = {3, 5, 7, 30, 31, 100, 999, 1000, 5000};
    for (size_t i = 0; i < sizeof dfs / sizeof *dfs; i++) {
        CHECK(s_near(s_integral(tdist_quantile(0.975, dfs[i]), dfs[i]), 0.475, 1e-11));
        CHECK(s_near(s_integral(tdist_quantile(0.6, dfs[i]), dfs[i]), 0.1, 1e-11));
    }
    CHECK(s_near(tdist_normal_quantile(0.975), 1.959963984540054, 1e-12));
    /* Symmetry, the centre, and what is not a probability. */
    CHECK(s_near(tdist_quantile(0.025, 7), -tdist_quantile(0.975, 7), 1e-12));
    CHECK(tdist_quantile(0.5, 3) == 0);
    CHECK(isnan(tdist_quantile(0, 3)) && isnan(tdist_quantile(1, 3)) && isnan(tdist_quantile(0.9, 0)));
}

/* F(Q(p)) = p at every df from 1 to 100,000, and the quantiles fall
 * towards the normal one as df grows, with no jump anywhere. */
static void test_inverse_and_monotone(void)
{
    const double ps[] = {0.6, 0.9, 0.975, 0.995, 0.9995};
    for (size_t k = 0; k < sizeof ps / sizeof *ps; k++) {
        double prev = INFINITY, prev_df = 0, z = tdist_normal_quantile(ps[k]);
        for (double df = 1; df <= 100000; df = df < 50 ? df + 1 : floor(df * 1.1)) {
            double t = tdist_quantile(ps[k], df);
            CHECK(s_near(tdist_cdf(t, df), ps[k], 1e-10));
            CHECK(t < prev && t > z);
            /* t - z falls like 1/df: a step of df falls by at most twice
             * that share (no jump where the method changes, at 1000). */
            CHECK(prev == INFINITY || prev - t <= 2 * (prev - z) * (df - prev_df) / prev_df + 1e-13);
            prev = t;
            prev_df = df;
        }
    }
}

/* A cell's interval is mean +- t(0.975, n - 1) sd / sqrt(n) at every n:
 * at n = 32 (df 31, where the old table had ended and used 1.96). */
static void test_cell_interval(void)
{
    char err[256];
    catalogue_t *cat;
    CHECK(catalogue_load(&cat, NULL, err, sizeof err) == 0);
    const cat_measure_t *m = catalogue_measure(cat, "i1_behov");
    cell_t c = {0};
    for (int i = 0; i < 32; i++) { /* 16 answers 2, 16 answers 4: mean 3 */
        int v = i % 2 ? 4 : 2;
        c.n++;
        c.units++;
        c.sum += v;
        c.sumsq += v * v;
    }
    cell_values_t cv;
    cell_values(m, &c, 0, &cv);
    double sd = sqrt(32.0 / 31.0); /* variance 32 / 31 */
    CHECK(s_near(cv.sd, sd, 1e-12));
    double t31 = tdist_quantile(0.975, 31);
    CHECK(s_near(t31, 2.040, 0.0005));
    CHECK(s_near(cv.ci_high - cv.mean, t31 * sd / sqrt(32), 1e-12));
    CHECK(s_near(cv.mean - cv.ci_low, t31 * sd / sqrt(32), 1e-12));
    catalogue_destroy(&cat);
}

static const test_case_t s_cases[] = {
    {"table values", test_table_values},
    {"precise values", test_precise_values},
    {"inverse and monotone", test_inverse_and_monotone},
    {"cell interval", test_cell_interval},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
