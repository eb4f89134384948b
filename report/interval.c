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
 * hidden), so its decision tells nothing the table does not. Units add up
 * over geography, gender and age band; a person can be in both modes and
 * in several months, so there a total only lies between its largest part
 * and the sum. n adds up everywhere but over agencies. */
#include "interval.h"

#include "table.h"

#include <stdlib.h>

#define S_INF (INT64_MAX / 4)
#define S_STATS 4 /* units, n, hits (the share's numerator), misses (n - hits) */
enum { S_UNITS, S_N, S_HITS, S_MISSES };

static bool s_adds(int stat, int kind)
{
    if (kind == SLICE_AGENCY)
        return false;
    return stat != S_UNITS || kind == 0 || kind == SLICE_GENDER || kind == SLICE_AGE;
}

static int64_t s_sat(int64_t a, int64_t b)
{
    return a >= S_INF || b >= S_INF ? S_INF : a + b;
}

/* Narrows iv to [lo, hi]; never to an empty interval (published values
 * that contradict the model would otherwise run the bounds away). */
static bool s_tighten(interval_t *iv, int64_t lo, int64_t hi)
{
    if (lo > iv->hi || hi < iv->lo || lo > hi)
        return false;
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
        /* hits' = clamp(hits + j, 0, n'); a withheld share publishes none */
        b[S_HITS] = b[S_MISSES] = (interval_t){0, S_INF};
        if (cat_measure_has_share(m) && pub.n > 0 && !table_withholds(m, &pub)) {
            int64_t misses = pub.n - pub.hits;
            b[S_HITS] =
                (interval_t){pub.hits > 0 ? pub.hits - D : 0, pub.hits < pub.n ? pub.hits + D : S_INF};
            b[S_MISSES] = (interval_t){misses > 0 ? misses - D : 0, misses < pub.n ? misses + D : S_INF};
            if (b[S_HITS].lo < 0)
                b[S_HITS].lo = 0;
            if (b[S_MISSES].lo < 0)
                b[S_MISSES].lo = 0;
        }
    }
    return pb;
}

/* Within one row: units <= n = hits + misses. */
static bool s_row_relations(interval_t *b)
{
    bool moved = false;
    moved |= s_tighten(&b[S_UNITS], b[S_UNITS].lo, b[S_N].hi);
    moved |= s_tighten(&b[S_N], b[S_UNITS].lo, b[S_N].hi);
    moved |= s_tighten(&b[S_N], s_sat(b[S_HITS].lo, b[S_MISSES].lo), s_sat(b[S_HITS].hi, b[S_MISSES].hi));
    if (b[S_N].hi < S_INF) {
        moved |= s_tighten(&b[S_HITS], b[S_HITS].lo, b[S_N].hi - b[S_MISSES].lo);
        moved |= s_tighten(&b[S_MISSES], b[S_MISSES].lo, b[S_N].hi - b[S_HITS].lo);
    }
    if (b[S_MISSES].hi < S_INF)
        moved |= s_tighten(&b[S_HITS], b[S_N].lo - b[S_MISSES].hi, b[S_HITS].hi);
    if (b[S_HITS].hi < S_INF)
        moved |= s_tighten(&b[S_MISSES], b[S_N].lo - b[S_HITS].hi, b[S_MISSES].hi);
    return moved;
}

/* The fixpoint runs as a work list: a row whose interval moved queues its
 * own relations and the constraints it belongs to, so only what a change
 * can reach is looked at again (full passes over tables of thousands of
 * rows, tens of times per table, were most of a one-shot query's time).
 * Each step only narrows integer intervals, so it ends; the budget is a
 * guard. */
typedef struct {
    const suppress_constraint_t *cons;
    const size_t *adj_start, *adj;
    size_t *cq, *rq;       /* rings of constraint and row indices */
    size_t nc, nr;         /* their capacities: ncons and rows */
    size_t ch, ct, rh, rt; /* heads and lengths */
    bool *c_in, *r_in;     /* queued now? */
} s_work_t;

static void s_push_cons(s_work_t *w, size_t c)
{
    if (w->c_in[c] || w->cons[c].kind == SLICE_AGENCY)
        return;
    w->c_in[c] = true;
    w->cq[(w->ch + w->ct++) % w->nc] = c;
}

/* Row `row` moved: its relations and its constraints again. */
static void s_moved(s_work_t *w, size_t row)
{
    if (!w->r_in[row]) {
        w->r_in[row] = true;
        w->rq[(w->rh + w->rt++) % w->nr] = row;
    }
    for (size_t a = w->adj_start[row]; a < w->adj_start[row + 1]; a++)
        s_push_cons(w, w->adj[a]);
}

/* One constraint over the intervals; every row that moved goes back to
 * the work list. What always holds: a part is at most its total, and
 * where the stat adds up the parts together are at most the total. Where
 * the parts hold every answer (checked on the exact cells), a reader may
 * know the total equals the sum, or lies between the largest part and the
 * sum. */
static void s_propagate(s_work_t *w, interval_t *iv, const suppress_constraint_t *c)
{
    for (int s = 0; s < S_STATS; s++) {
        interval_t *tot = &iv[c->total * S_STATS + s];
        bool adds = s_adds(s, c->kind);
        int64_t sumlo = 0, sumhi = 0, maxlo = 0;
        for (size_t k = 0; k < c->nparts; k++) {
            const interval_t *p = &iv[c->parts[k] * S_STATS + s];
            sumlo = s_sat(sumlo, p->lo);
            sumhi = s_sat(sumhi, p->hi);
            maxlo = p->lo > maxlo ? p->lo : maxlo;
        }
        if (s_tighten(tot, adds ? sumlo : maxlo, c->complete ? sumhi : S_INF))
            s_moved(w, c->total);
        for (size_t k = 0; k < c->nparts; k++) {
            interval_t *p = &iv[c->parts[k] * S_STATS + s];
            int64_t hi = tot->hi;
            if (adds && hi < S_INF)
                hi -= sumlo - p->lo;
            int64_t lo = p->lo;
            if (adds && c->complete && sumhi < S_INF)
                lo = tot->lo - (sumhi - p->hi);
            if (s_tighten(p, lo, hi))
                s_moved(w, c->parts[k]);
        }
    }
}

/* Narrows iv to the fixpoint; false when out of memory. */
static bool s_fixpoint(interval_t *iv, size_t n, const suppress_constraint_t *cons, size_t ncons,
                       const size_t *adj_start, const size_t *adj)
{
    s_work_t w = {.cons = cons, .adj_start = adj_start, .adj = adj, .nc = ncons ? ncons : 1, .nr = n};
    w.cq = malloc(w.nc * sizeof *w.cq);
    w.rq = malloc(w.nr * sizeof *w.rq);
    w.c_in = calloc(w.nc, sizeof *w.c_in);
    w.r_in = calloc(w.nr, sizeof *w.r_in);
    bool ok = w.cq && w.rq && w.c_in && w.r_in;
    if (ok) {
        for (size_t c = 0; c < ncons; c++)
            s_push_cons(&w, c);
        for (size_t i = 0; i < n; i++)
            w.r_in[i] = true, w.rq[w.rt++] = i;
        /* rows first: units never exceed n */
        for (size_t budget = 64 * (ncons + n); (w.ct || w.rt) && budget; budget--) {
            if (w.rt) {
                size_t i = w.rq[w.rh];
                w.rh = (w.rh + 1) % w.nr, w.rt--, w.r_in[i] = false;
                if (s_row_relations(&iv[i * S_STATS]))
                    for (size_t a = adj_start[i]; a < adj_start[i + 1]; a++)
                        s_push_cons(&w, adj[a]);
            } else {
                size_t c = w.cq[w.ch];
                w.ch = (w.ch + 1) % w.nc, w.ct--, w.c_in[c] = false;
                s_propagate(&w, iv, &cons[c]);
            }
        }
    }
    free(w.cq);
    free(w.rq);
    free(w.c_in);
    free(w.r_in);
    return ok;
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
        goto oom;
    for (size_t i = 0; i < t->n; i++)
        for (int s = 0; s < S_STATS; s++)
            iv[i * S_STATS + s] = t->rows[i].absent ? (interval_t){0, S_INF}
                                  : t->rows[i].suppressed
                                      ? (interval_t){s == S_UNITS || s == S_N ? 1 : 0, S_INF}
                                      : pb[i * S_STATS + s];
    /* Units never exceed n; then the constraints, to a fixpoint. */
    if (!s_fixpoint(iv, t->n, cons, ncons, adj_start, adj)) {
        free(iv);
        goto oom;
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
oom:
    for (size_t i = 0; i < t->n; i++)
        t->rows[i].suppressed = true;
    return false;
}
