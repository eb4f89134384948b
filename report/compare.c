/* compare.c: changes and group differences of indicator values (see
 * compare.h).
 *
 * Why a file of its own: the comparisons are the numbers people read
 * ("jämfört med tidigare", integrated against project), and keeping them
 * pure — two sets of cell values in, numbers out — lets query.c alone
 * decide which rows may be compared, and lets a test check every formula
 * against hand-computed values without a ledger. It does not decide
 * visibility, read cells or perturb anything.
 *
 * The mean difference uses each side's sample variance (sd² from
 * cell_values) and the exact Student t quantile at the fractional Welch–
 * Satterthwaite degrees of freedom (tdist.h); there is no table. */
#include "compare.h"

#include "tdist.h"

#include <math.h>
#include <stdio.h>

bool compare_has_mean(const cat_measure_t *m)
{
    /* A ratio's mean would be the mean total per report: not its value. */
    return m->aggregate != AGG_SHARE_YES && m->aggregate != AGG_SHARE_SUSTAINED && m->aggregate != AGG_RATIO;
}

bool compare_has_share(const cat_measure_t *m)
{
    return cat_measure_has_share(m);
}

void compare_change(const cat_measure_t *m, const cell_values_t *now, const cell_values_t *before,
                    compare_change_t *out)
{
    *out = (compare_change_t){.has_mean = compare_has_mean(m), .has_share = compare_has_share(m)};
    out->mean = now->mean - before->mean;
    out->share = now->share - before->share;
}

void compare_diff(const cat_measure_t *m, const cell_values_t *a, const cell_values_t *b, compare_diff_t *out)
{
    *out = (compare_diff_t){.has_mean = compare_has_mean(m), .has_share = compare_has_share(m)};
    double na = (double) a->n, nb = (double) b->n;
    out->mean = a->mean - b->mean;
    out->mean_ci[0] = out->mean_ci[1] = out->mean;
    /* Welch: each side's variance of its mean; with one observation a side
     * has no variance estimate, so no interval. */
    if (out->has_mean && a->n >= 2 && b->n >= 2) {
        double va = a->sd * a->sd / na, vb = b->sd * b->sd / nb, se2 = va + vb;
        out->has_mean_ci = true;
        if (se2 > 0) {
            double df = se2 * se2 / (va * va / (na - 1) + vb * vb / (nb - 1));
            double half = tdist_quantile(0.975, df) * sqrt(se2);
            out->mean_ci[0] = out->mean - half;
            out->mean_ci[1] = out->mean + half;
        }
    }
    out->share = a->share - b->share;
    double half = COMPARE_Z975 * sqrt(a->share * (1 - a->share) / na + b->share * (1 - b->share) / nb);
    out->share_ci[0] = out->share - half;
    out->share_ci[1] = out->share + half;
}

static void s_set(json_t *row, const char *prefix, const char *name, json_t *value)
{
    char key[64];
    snprintf(key, sizeof key, "%s%s", prefix, name);
    json_object_set_new(row, key, value);
}

void compare_change_json(json_t *row, const char *prefix, const compare_change_t *c)
{
    if (c->has_mean)
        s_set(row, prefix, "mean", json_real(c->mean));
    if (c->has_share)
        s_set(row, prefix, "share", json_real(c->share));
}

void compare_diff_json(json_t *row, const char *prefix, const compare_diff_t *d)
{
    if (d->has_mean)
        s_set(row, prefix, "mean", json_real(d->mean));
    if (d->has_mean_ci)
        s_set(row, prefix, "mean_ci95", json_pack("[f,f]", d->mean_ci[0], d->mean_ci[1]));
    if (d->has_share) {
        s_set(row, prefix, "share", json_real(d->share));
        s_set(row, prefix, "share_ci95", json_pack("[f,f]", d->share_ci[0], d->share_ci[1]));
    }
}
