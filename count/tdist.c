/* tdist.c: Student's t distribution function and quantiles (see tdist.h).
 *
 * The incomplete beta function by its continued fraction (modified Lentz),
 * which converges fast for x < (a+1)/(a+b+2) and is used through the
 * symmetry I_x(a,b) = 1 - I_{1-x}(b,a) elsewhere; both x and 1-x are
 * passed in so that neither is formed by cancellation. Quantiles of the
 * upper half are computed on the upper tail q = 1 - p, again to avoid
 * cancellation, and the lower half by symmetry. From 1000 degrees of
 * freedom on, the four-term Cornish-Fisher expansion is closer than 1e-13
 * and the continued fraction would lose digits in its front factor (the
 * log-gamma terms grow like df log df), so the expansion is used there. */
#include "tdist.h"

#include <math.h>
#include <pthread.h>

#define S_CF_MAX 20000
#define S_TINY 1e-300

static double s_lgamma(double x)
{
    int sign;
    return lgamma_r(x, &sign); /* lgamma would write the global signgam */
}

/* The continued fraction of I_x(a, b) (without its front factor). */
static double s_beta_cf(double a, double b, double x)
{
    double c = 1, d = 1 - (a + b) * x / (a + 1);
    d = 1 / (fabs(d) < S_TINY ? S_TINY : d);
    double h = d;
    for (int m = 1; m <= S_CF_MAX; m++) {
        double m2 = 2.0 * m;
        /* even step */
        double aa = m * (b - m) * x / ((a - 1 + m2) * (a + m2));
        d = 1 + aa * d;
        c = 1 + aa / c;
        d = 1 / (fabs(d) < S_TINY ? S_TINY : d);
        c = fabs(c) < S_TINY ? S_TINY : c;
        h *= d * c;
        /* odd step */
        aa = -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1 + m2));
        d = 1 + aa * d;
        c = 1 + aa / c;
        d = 1 / (fabs(d) < S_TINY ? S_TINY : d);
        c = fabs(c) < S_TINY ? S_TINY : c;
        double del = d * c;
        h *= del;
        if (fabs(del - 1) < 1e-16)
            break;
    }
    return h;
}

/* The regularized incomplete beta I_x(a, b), with y = 1 - x. */
static double s_ibeta(double a, double b, double x, double y)
{
    if (x <= 0)
        return 0;
    if (y <= 0)
        return 1;
    double front = exp(s_lgamma(a + b) - s_lgamma(a) - s_lgamma(b) + a * log(x) + b * log(y));
    if (x < (a + 1) / (a + b + 2))
        return front * s_beta_cf(a, b, x) / a;
    return 1 - front * s_beta_cf(b, a, y) / b;
}

/* P(T > t) for t >= 0. */
static double s_upper_tail(double t, double df)
{
    double t2 = t * t;
    return 0.5 * s_ibeta(df / 2, 0.5, df / (df + t2), t2 / (df + t2));
}

static double s_pdf(double t, double df)
{
    return exp(s_lgamma((df + 1) / 2) - s_lgamma(df / 2) - 0.5 * log(df * M_PI) -
               (df + 1) / 2 * log1p(t * t / df));
}

double tdist_cdf(double t, double df)
{
    if (!(df > 0) || isnan(t))
        return NAN;
    if (isinf(t))
        return t > 0 ? 1 : 0;
    double tail = s_upper_tail(fabs(t), df);
    return t >= 0 ? 1 - tail : tail;
}

/* z with P(Z > z) = q, for 0 < q <= 1/2: Shore's approximation, then
 * Newton on the upper tail written with erfc. */
static double s_normal_upper(double q)
{
    double z = 5.5556 * (1 - pow(q / (1 - q), 0.1186));
    for (int i = 0; i < 50; i++) {
        double f = 0.5 * erfc(z / M_SQRT2) - q;
        double step = f / (exp(-0.5 * z * z) / sqrt(2 * M_PI));
        z += step;
        if (fabs(step) <= 1e-15 * (fabs(z) + 1e-300))
            break;
    }
    return z;
}

double tdist_normal_quantile(double p)
{
    if (!(p > 0 && p < 1))
        return NAN;
    if (p == 0.5)
        return 0;
    return p > 0.5 ? s_normal_upper(1 - p) : -s_normal_upper(p);
}

/* The Cornish-Fisher expansion of the t quantile around z
 * (Abramowitz & Stegun 26.7.5). */
static double s_cornish_fisher(double z, double df)
{
    double z2 = z * z, z3 = z2 * z, z5 = z3 * z2, z7 = z5 * z2, z9 = z7 * z2;
    double g1 = (z3 + z) / 4;
    double g2 = (5 * z5 + 16 * z3 + 3 * z) / 96;
    double g3 = (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / 384;
    double g4 = (79 * z9 + 776 * z7 + 1482 * z5 - 1920 * z3 - 945 * z) / 92160;
    return z + g1 / df + g2 / (df * df) + g3 / (df * df * df) + g4 / (df * df * df * df);
}

/* t >= 0 with P(T > t) = q, for 0 < q < 1/2. */
static double s_upper_quantile(double q, double df)
{
    if (df == 1)
        return tan(M_PI * (0.5 - q));
    if (df == 2)
        return (1 - 2 * q) / sqrt(2 * q * (1 - q));
    double t = s_cornish_fisher(s_normal_upper(q), df);
    if (df >= 1000)
        return t;
    /* Newton on the tail, kept in a bracket [lo, hi] around the root:
     * tail(lo) > q > tail(hi). The tail falls as t grows. */
    double lo = 0, hi = INFINITY;
    for (int i = 0; i < 200; i++) {
        double f = s_upper_tail(t, df) - q;
        if (f > 0)
            lo = t;
        else
            hi = t;
        if (f == 0)
            return t;
        double next = t + f / s_pdf(t, df);
        if (!(next > lo && next < hi))
            next = isinf(hi) ? 2 * (t > 1 ? t : 1) : (lo + hi) / 2;
        if (fabs(next - t) <= 1e-15 * next)
            return next;
        t = next;
    }
    return t;
}

double tdist_quantile(double p, double df)
{
    if (!(p > 0 && p < 1) || !(df > 0))
        return NAN;
    if (p == 0.5)
        return 0;
    return p > 0.5 ? s_upper_quantile(1 - p, df) : -s_upper_quantile(p, df);
}

#define S_T975_TABLE 1000
static double s_t975[S_T975_TABLE];
static pthread_once_t s_t975_once = PTHREAD_ONCE_INIT;

static void s_t975_fill(void)
{
    for (long df = 1; df < S_T975_TABLE; df++)
        s_t975[df] = tdist_quantile(0.975, (double) df);
}

double tdist_t975(long df)
{
    if (df < 1)
        return NAN;
    if (df >= S_T975_TABLE)
        return tdist_quantile(0.975, (double) df);
    pthread_once(&s_t975_once, s_t975_fill);
    return s_t975[df];
}
