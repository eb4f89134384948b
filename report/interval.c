/* interval.c: the interval audit — no hidden count known within ±1.
 *
 * The noise makes every published count an interval to a reader (a count
 * c' stands for [max(k, c' - D), c' + D], protect.h), and a total's upper
 * end minus its visible parts' lower ends bounds the hidden parts; carried
 * through hidden totals from constraint to constraint, as an attacker's
 * propagation does, that can leave a hidden cell's n or units with at most
 * three possible values, or the number of its answers that count in
 * the share (or do not) at least 1 and within ±1 (someone in the group is
 * shown to have answered yes). This audit propagates the same intervals to a
 * fixpoint and, for each such cell, hides the smallest visible member of
 * a constraint it belongs to; then the fixpoint and both audits run again.
 * It reads only what a reader sees (published values, which rows are
 * hidden), and which constraints the exact cells satisfy: units add up
 * over geography, gender and age band where the parts' units do sum to
 * the total (a person recorded with two genders is in both); a person can
 * be in both modes and in several months, so there, and where they do not
 * sum, a total only lies between its largest part and the sum. n adds up
 * everywhere but over agencies. A model a reader could hold but the data
 * breaks would narrow intervals past the truth and hide on that. */
#include "interval.h"

#include "table.h"

#include <stdlib.h>

#define S_INF (INT64_MAX / 4)
#define S_STATS 4 /* units, n, hits (the share's numerator), misses (n - hits) */
enum { S_UNITS, S_N, S_HITS, S_MISSES };

static bool s_adds(int stat, const suppress_constraint_t *c)
{
    if (c->kind == SLICE_AGENCY)
        return false;
    if (stat != S_UNITS)
        return true;
    return c->units_add && (c->kind == 0 || c->kind == SLICE_GENDER || c->kind == SLICE_AGE);
}

static int64_t s_sat(int64_t a, int64_t b)
{
    return a >= S_INF || b >= S_INF ? S_INF : a + b;
}

/* Narrows iv to [lo, hi]. An empty result means the published values
 * contradict the model (the truth lies in every interval of a sound one):
 * *contradicted is set and iv stays. */
static bool s_tighten(interval_t *iv, int64_t lo, int64_t hi, bool *contradicted)
{
    if (lo > iv->hi || hi < iv->lo || lo > hi) {
        *contradicted = true;
        return false;
    }
    bool changed = false;
    if (lo > iv->lo)
        iv->lo = lo, changed = true;
    if (hi < iv->hi)
        iv->hi = hi, changed = true;
    return changed;
}

/* The reader's intervals of each visible row, from its published state. */
interval_t *interval_bounds(const table_t *t, const protect_t *protect, const cat_measure_t *m)
{
    interval_t *pb = malloc(t->n * S_STATS * sizeof *pb);
    if (!pb)
        return NULL;
    const protect_params_t *pp = protect_params(protect);
    int64_t D = pp->max_dev, k = pp->min_count;
    for (size_t i = 0; i < t->n; i++) {
        cell_t pub;
        protect_cell(protect, m, true, &t->rows[i].cell, &pub);
        interval_t *b = &pb[i * S_STATS];
        interval_t u = {pub.units - D > k ? pub.units - D : k, pub.units + D};
        int64_t e = pub.n - pub.units;
        b[S_UNITS] = u;
        b[S_N] = e == 0 ? (interval_t){u.lo, u.hi + D}
                        : (interval_t){u.lo + (e - D > 1 ? e - D : 1), u.hi + e + D};
        /* hits' = clamp(hits + j, 0, n'); a withheld share publishes none.
         * Nothing publishes the misses: a reader has them only as n minus
         * hits, whose noises add up (n' - hits' is off by up to 3D), so
         * they start unknown and the row's relations narrow them. */
        b[S_HITS] = b[S_MISSES] = (interval_t){0, S_INF};
        if (cat_measure_has_share(m) && pub.n > 0 && !table_withholds(m, &pub)) {
            b[S_HITS] =
                (interval_t){pub.hits > D ? pub.hits - D : 0, pub.hits < pub.n ? pub.hits + D : S_INF};
        }
    }
    return pb;
}

/* Within one row: units <= n = hits + misses. Returns a bit per stat
 * that moved. */
static unsigned s_row_relations(interval_t *b, bool *bad)
{
    unsigned moved = 0;
    if (s_tighten(&b[S_UNITS], b[S_UNITS].lo, b[S_N].hi, bad))
        moved |= 1u << S_UNITS;
    if (s_tighten(&b[S_N], b[S_UNITS].lo, b[S_N].hi, bad))
        moved |= 1u << S_N;
    if (s_tighten(&b[S_N], s_sat(b[S_HITS].lo, b[S_MISSES].lo), s_sat(b[S_HITS].hi, b[S_MISSES].hi), bad))
        moved |= 1u << S_N;
    if (b[S_N].hi < S_INF) {
        if (s_tighten(&b[S_HITS], b[S_HITS].lo, b[S_N].hi - b[S_MISSES].lo, bad))
            moved |= 1u << S_HITS;
        if (s_tighten(&b[S_MISSES], b[S_MISSES].lo, b[S_N].hi - b[S_HITS].lo, bad))
            moved |= 1u << S_MISSES;
    }
    if (b[S_MISSES].hi < S_INF && s_tighten(&b[S_HITS], b[S_N].lo - b[S_MISSES].hi, b[S_HITS].hi, bad))
        moved |= 1u << S_HITS;
    if (b[S_HITS].hi < S_INF && s_tighten(&b[S_MISSES], b[S_N].lo - b[S_HITS].hi, b[S_MISSES].hi, bad))
        moved |= 1u << S_MISSES;
    return moved;
}

/* The fixpoint runs as a work list of (constraint, stat) pairs and rows:
 * a stat of a row that moved queues that stat of the constraints the row
 * belongs to, and the row's own relations, so only what a change can
 * reach is looked at again. */
typedef struct {
    const suppress_constraint_t *cons;
    const size_t *adj_start, *adj;
    size_t *cq, *rq;       /* rings: constraint * S_STATS + stat, and rows */
    size_t nc, nr;         /* their capacities */
    size_t ch, ct, rh, rt; /* heads and lengths */
    bool *c_in, *r_in;     /* queued now? */
    bool contradicted;     /* the published values contradict the model */
} s_work_t;

static void s_push_cons(s_work_t *w, size_t c, int stat)
{
    size_t item = c * S_STATS + (size_t) stat;
    if (w->c_in[item] || w->cons[c].kind == SLICE_AGENCY)
        return;
    w->c_in[item] = true;
    w->cq[(w->ch + w->ct++) % w->nc] = item;
}

/* A stat of `row` moved: that stat of its constraints again. */
static void s_moved_stat(s_work_t *w, size_t row, int stat)
{
    for (size_t a = w->adj_start[row]; a < w->adj_start[row + 1]; a++)
        s_push_cons(w, w->adj[a], stat);
}

/* A stat of `row` moved in a constraint: also the row's own relations. */
static void s_moved(s_work_t *w, size_t row, int stat)
{
    if (!w->r_in[row]) {
        w->r_in[row] = true;
        w->rq[(w->rh + w->rt++) % w->nr] = row;
    }
    s_moved_stat(w, row, stat);
}

/* One stat of one constraint over the intervals; every row that moved
 * goes back to the work list. What always holds: a part is at most its
 * total, and where the stat adds up the parts together are at most the
 * total. Where the parts hold every answer (checked on the exact cells), a
 * reader may know the total equals the sum, or lies between the largest
 * part and the sum. */
static void s_propagate(s_work_t *w, interval_t *iv, const suppress_constraint_t *c, int s)
{
    interval_t *tot = &iv[c->total * S_STATS + s];
    bool adds = s_adds(s, c);
    int64_t sumlo = 0, sumhi = 0, maxlo = 0;
    for (size_t k = 0; k < c->nparts; k++) {
        const interval_t *p = &iv[c->parts[k] * S_STATS + s];
        sumlo = s_sat(sumlo, p->lo);
        sumhi = s_sat(sumhi, p->hi);
        maxlo = p->lo > maxlo ? p->lo : maxlo;
    }
    if (s_tighten(tot, adds ? sumlo : maxlo, c->complete ? sumhi : S_INF, &w->contradicted))
        s_moved(w, c->total, s);
    for (size_t k = 0; k < c->nparts; k++) {
        interval_t *p = &iv[c->parts[k] * S_STATS + s];
        int64_t hi = tot->hi;
        if (adds && hi < S_INF)
            hi -= sumlo - p->lo;
        int64_t lo = p->lo;
        if (adds && c->complete && sumhi < S_INF)
            lo = tot->lo - (sumhi - p->hi);
        if (s_tighten(p, lo, hi, &w->contradicted))
            s_moved(w, c->parts[k], s);
    }
}

/* Narrows iv to the fixpoint: 0, or -1 when out of memory or when the
 * published values contradict the model. It ends without a budget: every
 * step narrows an integer interval, an infinite end turns finite at most
 * once, and a finite end stays within the published values' range. A
 * budget would stop it early where hidden cells form cycles of
 * constraints (bounds there creep by a unit or two per step over widths
 * of thousands), and a reader who goes on would then know more than this
 * audit checked. */
static int s_fixpoint(interval_t *iv, size_t n, const suppress_constraint_t *cons, size_t ncons,
                      const size_t *adj_start, const size_t *adj)
{
    s_work_t w = {
        .cons = cons, .adj_start = adj_start, .adj = adj, .nc = ncons ? ncons * S_STATS : 1, .nr = n};
    w.cq = malloc(w.nc * sizeof *w.cq);
    w.rq = malloc(w.nr * sizeof *w.rq);
    w.c_in = calloc(w.nc, sizeof *w.c_in);
    w.r_in = calloc(w.nr, sizeof *w.r_in);
    bool ok = w.cq && w.rq && w.c_in && w.r_in;
    if (ok) {
        for (size_t c = 0; c < ncons; c++)
            for (int s = 0; s < S_STATS; s++)
                s_push_cons(&w, c, s);
        for (size_t i = 0; i < n; i++)
            w.r_in[i] = true, w.rq[w.rt++] = i;
        /* rows first: units never exceed n */
        while ((w.ct || w.rt) && !w.contradicted) {
            if (w.rt) {
                size_t i = w.rq[w.rh];
                w.rh = (w.rh + 1) % w.nr, w.rt--, w.r_in[i] = false;
                unsigned moved = s_row_relations(&iv[i * S_STATS], &w.contradicted);
                for (int s = 0; s < S_STATS; s++)
                    if (moved & (1u << s))
                        s_moved_stat(&w, i, s);
            } else {
                size_t item = w.cq[w.ch];
                w.ch = (w.ch + 1) % w.nc, w.ct--, w.c_in[item] = false;
                s_propagate(&w, iv, &cons[item / S_STATS], (int) (item % S_STATS));
            }
        }
    }
    free(w.cq);
    free(w.rq);
    free(w.c_in);
    free(w.r_in);
    return ok && !w.contradicted ? 0 : -1;
}

/* Runs the interval audit once; returns true if it hid another cell. */
bool interval_audit(table_t *t, const suppress_constraint_t *cons, size_t ncons, const interval_t *pb,
                    const size_t *adj_start, const size_t *adj)
{
    /* Nothing hidden, nothing to narrow (most tables of large förbund). */
    bool any = false;
    for (size_t i = 0; i < t->n && !any; i++)
        any = t->rows[i].suppressed && !t->rows[i].absent;
    if (!any)
        return false;
    interval_t *iv = malloc(t->n * S_STATS * sizeof *iv);
    if (!iv)
        goto fail;
    for (size_t i = 0; i < t->n; i++)
        for (int s = 0; s < S_STATS; s++)
            iv[i * S_STATS + s] = t->rows[i].absent ? (interval_t){0, S_INF}
                                  : t->rows[i].suppressed
                                      ? (interval_t){s == S_UNITS || s == S_N ? 1 : 0, S_INF}
                                      : pb[i * S_STATS + s];
    /* Units never exceed n; then the constraints, to a fixpoint. A model
     * the published values contradict is wrong somewhere, and so would be
     * what the audit concludes from it: the table is hidden instead. */
    if (s_fixpoint(iv, t->n, cons, ncons, adj_start, adj) != 0) {
        free(iv);
        goto fail;
    }
    bool changed = false;
    for (size_t i = 0; i < t->n; i++) {
        const table_row_t *r = &t->rows[i];
        if (!r->suppressed || r->absent)
            continue;
        /* A count within ±1; or someone in the group shown to have given
         * (or not given) the share's answer, with their number within ±1. */
        const interval_t *b = &iv[i * S_STATS];
        bool narrow = false;
        for (int s = 0; s < S_STATS && !narrow; s++)
            narrow = b[s].hi - b[s].lo <= 2 && (s == S_UNITS || s == S_N || b[s].lo >= 1);
        if (!narrow)
            continue;
        /* Hide the smallest visible member of its constraints: one
         * unknown more where the bound came from. */
        table_row_t *smallest = NULL;
        for (size_t a = adj_start[i]; a < adj_start[i + 1]; a++) {
            if (a > adj_start[i] && adj[a] == adj[a - 1])
                continue; /* a row twice in one constraint: that constraint once */
            const suppress_constraint_t *c = &cons[adj[a]];
            for (size_t k = 0; k <= c->nparts; k++) {
                table_row_t *x = &t->rows[k < c->nparts ? c->parts[k] : c->total];
                if (!x->suppressed && (!smallest || x->cell.units < smallest->cell.units))
                    smallest = x;
            }
        }
        if (smallest) {
            smallest->suppressed = true;
            changed = true;
        }
    }
    free(iv);
    return changed;
fail:
    for (size_t i = 0; i < t->n; i++)
        t->rows[i].suppressed = true;
    return false;
}
