/* dists.c: a row's distribution and its quantiles (see dists.h).
 *
 * A län's or the nation's day counts are merged from its förbund cells'
 * distributions, found by binary search in an index of the förbund rows
 * sorted by (period, slice, län, name). */
#include "dists.h"

#include "diststore.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Orders row x against (period, slice, lan); lan NULL matches any län. */
static int s_part_vs(const table_row_t *x, uint32_t period, uint16_t slice, const char *lan)
{
    if (x->period != period)
        return x->period < period ? -1 : 1;
    if (x->slice != slice)
        return (int) x->slice - (int) slice;
    return lan ? strcmp(x->lan, lan) : 0;
}

static int s_part_cmp(const void *a, const void *b, void *arg)
{
    const table_t *t = arg;
    const table_row_t *x = &t->rows[*(const size_t *) a], *y = &t->rows[*(const size_t *) b];
    int c = s_part_vs(x, y->period, y->slice, y->lan);
    return c ? c : strcmp(x->name, y->name);
}

/* The index is built for a day count only. */
int dists_init(dists_t *p, MDB_txn *txn, ledger_t *ledger, bool exact, const cat_measure_t *m,
               const table_t *t)
{
    *p = (dists_t){.txn = txn,
                   .dbi = ledger_dbi(ledger, exact ? LEDGER_DB_DISTS : LEDGER_DB_PUBLISHED_DISTS),
                   .live = exact,
                   .t = t,
                   .dist = DIST_INIT};
    if (m->aggregate != AGG_MEDIAN_DAYS)
        return 0;
    p->parts = malloc((t->n + 1) * sizeof *p->parts);
    if (!p->parts)
        return ENOMEM;
    for (size_t i = 0; i < t->n; i++)
        if (t->rows[i].level == TABLE_FORBUND)
            p->parts[p->nparts++] = i;
    qsort_r(p->parts, p->nparts, sizeof *p->parts, s_part_cmp, (void *) t);
    return 0;
}

void dists_free(dists_t *p)
{
    free(p->parts);
    dist_free(&p->dist);
}

/* The first part with s_part_vs(...) >= 0 (strict: > 0). */
static size_t s_parts_bound(const dists_t *p, uint32_t period, uint16_t slice, const char *lan, bool strict)
{
    size_t lo = 0, hi = p->nparts;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = s_part_vs(&p->t->rows[p->parts[mid]], period, slice, lan);
        if (strict ? c <= 0 : c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static int s_load_dist(dists_t *p, const cat_measure_t *m, const table_row_t *part)
{
    cell_key_t ck = {.period = part->period, .slice = part->slice};
    snprintf(ck.measure, sizeof ck.measure, "%s", m->id);
    snprintf(ck.forbund, sizeof ck.forbund, "%.*s", CELL_FORBUND_LEN, part->name);
    uint8_t key[CELL_KEY_LEN];
    cell_key_encode(key, &ck);
    /* Live distributions are kept per month (diststore.h), published ones
     * per cell. */
    return p->live ? diststore_load_live(p->txn, p->dbi, key, &p->dist)
                   : diststore_load(p->txn, p->dbi, key, &p->dist);
}

void dists_quantiles(dists_t *p, const cat_measure_t *m, bool exact, const protect_t *protect, bool personal,
                     const table_row_t *r, int64_t pub_n, cell_quantiles_t *out)
{
    memset(out, 0, sizeof *out);
    dist_clear(&p->dist);
    int rc = 0;
    if (m->aggregate == AGG_ORDINAL) {
        rc = dist_add_hist(&p->dist, r->cell.hist, CELL_HIST, 0) < 0 ? ENOMEM : 0;
    } else if (m->aggregate == AGG_MEDIAN_DAYS && p->parts) {
        if (r->level == TABLE_FORBUND) {
            rc = s_load_dist(p, m, r);
        } else {
            const char *lan = r->level == TABLE_LAN ? r->name : NULL;
            size_t end = s_parts_bound(p, r->period, r->slice, lan, true);
            for (size_t i = s_parts_bound(p, r->period, r->slice, lan, false); i < end && rc == 0; i++)
                rc = s_load_dist(p, m, &p->t->rows[p->parts[i]]);
        }
    } else {
        return;
    }
    if (rc || p->dist.total != r->cell.n)
        return;
    if (exact)
        cell_quantiles(m, &p->dist, out);
    else
        protect_quantiles(protect, m, personal, &r->cell, &p->dist, pub_n, out);
}
