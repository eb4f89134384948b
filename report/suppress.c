/* suppress.c: primary and complementary suppression, and the exact audit
 * (see suppress.h for the rules).
 *
 * Complementary suppression as linear constraints: a total equals the sum
 * of its parts (a län of its förbund, the nation of its län, an "all" cell
 * of the values of one slice dimension, a quarter of its months and a year
 * of its quarters — counts, sums and histograms add up over time, so a
 * hidden month could otherwise be read off its quarter). A reader who sees all but one
 * member of a constraint can compute the missing one, so in every
 * constraint the hidden members must be none or at least two. When exactly
 * one is hidden, the smallest visible part is hidden too (the total only
 * when no part is left); repeated until nothing changes, which terminates
 * because cells are only ever hidden, never shown again. The audits below
 * and in interval.c then look at all constraints together.
 *
 * Every decision reads the cells' units and which rows are hidden, the
 * same way for every query, so every table of a publication agrees. */
#include "suppress.h"

#include "interval.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static bool s_enforce(table_t *t, const suppress_constraint_t *c)
{
    int hidden = t->rows[c->total].suppressed;
    table_row_t *smallest = NULL;
    for (size_t i = 0; i < c->nparts; i++) {
        table_row_t *r = &t->rows[c->parts[i]];
        if (r->suppressed)
            hidden++;
        else if (!smallest || r->cell.units < smallest->cell.units)
            smallest = r;
    }
    if (hidden != 1)
        return false;
    if (smallest)
        smallest->suppressed = true;
    else
        t->rows[c->total].suppressed = true;
    return true;
}

/* Appends row index `part` to the constraint keyed `key` (index of its
 * total row, plus n times the slice dimension); by_key maps keys to
 * constraints. */
static int s_link(suppress_constraint_t *cons, size_t *ncons, size_t *by_key, size_t key, size_t part)
{
    size_t i = by_key[key];
    if (i == SIZE_MAX) {
        i = by_key[key] = (*ncons)++;
        cons[i] = (suppress_constraint_t){.total = key};
    }
    size_t *p = realloc(cons[i].parts, (cons[i].nparts + 1) * sizeof *p);
    if (!p)
        return -1;
    cons[i].parts = p;
    p[cons[i].nparts++] = part;
    return 0;
}

/* ---- the audit: no hidden cell determined by all constraints together --
 *
 * "0 or >= 2 hidden members in every constraint" is not enough: a chain
 * of constraints can still pin a hidden cell (a month from its quarter
 * and its slices and its län together). The audit writes every
 * constraint as an equation over the hidden cells (visible cells are
 * known numbers to a reader) and finds, by exact elimination, the hidden
 * cells the system determines: those whose unit vector lies in the row
 * space. Arithmetic is modulo the prime 2^31 - 1, exact for the ±1
 * coefficients here except with negligible probability. Each determined
 * cell makes the smallest visible member of one of its constraints hidden
 * too, and the fixpoint and the audit run again until nothing is
 * determined. Components (hidden cells linked by shared constraints) are
 * solved one at a time. */
#define S_PRIME 2147483647u

static uint32_t s_mulmod(uint32_t a, uint32_t b)
{
    return (uint32_t) ((uint64_t) a * b % S_PRIME);
}

static uint32_t s_invmod(uint32_t a)
{
    uint32_t r = 1, e = S_PRIME - 2;
    for (; e; e >>= 1, a = s_mulmod(a, a))
        if (e & 1)
            r = s_mulmod(r, a);
    return r;
}

static size_t s_uf_find(size_t *up, size_t i)
{
    while (up[i] != i)
        i = up[i] = up[up[i]];
    return i;
}

/* A sparse row of the constraint matrix, or a list of row numbers (val
 * unused): entries in no order, grown on demand. */
typedef struct {
    size_t *col;
    uint32_t *val;
    size_t n, cap;
} s_sparse_t;

static bool s_append(s_sparse_t *l, size_t col, uint32_t val, bool with_val)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 4;
        size_t *c = realloc(l->col, cap * sizeof *c);
        if (!c)
            return false;
        l->col = c;
        if (with_val) {
            uint32_t *v = realloc(l->val, cap * sizeof *v);
            if (!v)
                return false;
            l->val = v;
        }
        l->cap = cap;
    }
    l->col[l->n] = col;
    if (with_val)
        l->val[l->n] = val;
    l->n++;
    return true;
}

static void s_sparse_free(s_sparse_t *l, size_t n)
{
    for (size_t i = 0; l && i < n; i++) {
        free(l[i].col);
        free(l[i].val);
    }
    free(l);
}

static uint32_t s_entry(const s_sparse_t *row, size_t col)
{
    for (size_t e = 0; e < row->n; e++)
        if (row->col[e] == col)
            return row->val[e];
    return 0;
}

static int s_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return (x > y) - (x < y);
}

/* Marks determined[v] for the variables of one component: `m` holds its
 * rows x cols matrix as sparse rows, reduced by Gauss-Jordan until each
 * pivot column is zero outside its pivot row (whether a unit vector lies in
 * the row space does not depend on the column order or the pivot rows). A variable is
 * determined when its pivot row names no other column. A constraint names
 * a total and its parts, so the rows are short: each column keeps the rows
 * that have an entry in it, and an elimination scatters one row into a
 * dense scratch row, updates the pivot row's columns and gathers it back;
 * the work follows the fill-in. Out of memory returns false. */
static bool s_determined(s_sparse_t *m, size_t rows, size_t cols, bool *determined)
{
    size_t *pivot_row = malloc((cols + 1) * sizeof *pivot_row);
    bool *is_pivot = calloc(rows + 1, sizeof *is_pivot);
    s_sparse_t *colrows = calloc(cols + 1, sizeof *colrows);
    uint32_t *scratch = calloc(cols + 1, sizeof *scratch);
    bool ok = pivot_row && is_pivot && colrows && scratch;
    for (size_t i = 0; ok && i < rows; i++)
        for (size_t e = 0; ok && e < m[i].n; e++)
            ok = s_append(&colrows[m[i].col[e]], i, 0, false);
    /* Whether e_x lies in the row space does not depend on the order the
     * columns are reduced in, so the columns with the fewest entries go
     * first and the shortest row of a column is its pivot: far less
     * fill-in where a national total links every förbund. */
    uint64_t *order = malloc((cols + 1) * sizeof *order); /* entries << 32 | column */
    ok = ok && order && cols < UINT32_MAX;
    for (size_t c = 0; ok && c < cols; c++) {
        order[c] = (uint64_t) (colrows[c].n < UINT32_MAX ? colrows[c].n : UINT32_MAX) << 32 | c;
        pivot_row[c] = SIZE_MAX;
    }
    if (ok)
        qsort(order, cols, sizeof *order, s_cmp_u64);
    for (size_t oc = 0; ok && oc < cols; oc++) {
        size_t c = (size_t) (order[oc] & UINT32_MAX);
        size_t k = SIZE_MAX;
        for (size_t e = 0; e < colrows[c].n; e++) {
            size_t i = colrows[c].col[e];
            if (!is_pivot[i] && (k == SIZE_MAX || m[i].n < m[k].n) && s_entry(&m[i], c))
                k = i;
        }
        if (k == SIZE_MAX)
            continue;
        /* The pivot row is zero in every column reduced before: a pivot
         * column was eliminated from it, and a free one never gains an
         * entry in a row that was not yet a pivot. */
        uint32_t inv = s_invmod(s_entry(&m[k], c));
        for (size_t e = 0; e < m[k].n; e++)
            m[k].val[e] = s_mulmod(m[k].val[e], inv);
        for (size_t e = 0; ok && e < colrows[c].n; e++) {
            size_t i = colrows[c].col[e];
            uint32_t f = i == k ? 0 : s_entry(&m[i], c);
            if (f == 0)
                continue;
            /* row i -= f * row k, through the scratch row */
            for (size_t q = 0; q < m[i].n; q++)
                scratch[m[i].col[q]] = m[i].val[q];
            for (size_t q = 0; ok && q < m[k].n; q++) {
                size_t j = m[k].col[q];
                uint32_t old = scratch[j];
                scratch[j] = (uint32_t) ((old + (uint64_t) (S_PRIME - f) * m[k].val[q]) % S_PRIME);
                if (!old && scratch[j]) /* a new entry of row i */
                    ok = s_append(&m[i], j, 0, true) && s_append(&colrows[j], i, 0, false);
            }
            size_t w = 0;
            for (size_t q = 0; q < m[i].n; q++) {
                size_t j = m[i].col[q];
                if (scratch[j]) {
                    m[i].col[w] = j;
                    m[i].val[w++] = scratch[j];
                }
                scratch[j] = 0;
            }
            m[i].n = w;
        }
        is_pivot[k] = true;
        pivot_row[c] = k;
    }
    for (size_t c = 0; ok && c < cols; c++) {
        /* Reduced: the pivot's row names no other pivot column; if it names
         * no free column either, the variable is a known number. */
        determined[c] = pivot_row[c] != SIZE_MAX && m[pivot_row[c]].n == 1;
    }
    s_sparse_free(colrows, cols);
    free(order);
    free(scratch);
    free(is_pivot);
    free(pivot_row);
    return ok;
}

/* Which constraints each row is a member of (as total or part), in
 * ascending order: rows x -> adj[start[x] .. start[x+1]). Built once per
 * table, so an audit looks at a component's own constraints instead of
 * scanning all of them for each component. */
static bool s_adjacency(const table_t *t, const suppress_constraint_t *cons, size_t ncons, size_t **start_p,
                        size_t **adj_p)
{
    size_t n = t->n, total = 0;
    size_t *start = calloc(n + 1, sizeof *start);
    if (!start)
        return false;
    for (size_t c = 0; c < ncons; c++) {
        start[cons[c].total + 1]++;
        for (size_t k = 0; k < cons[c].nparts; k++)
            start[cons[c].parts[k] + 1]++;
        total += cons[c].nparts + 1;
    }
    for (size_t i = 0; i < n; i++)
        start[i + 1] += start[i];
    size_t *adj = malloc((total + 1) * sizeof *adj), *fill = malloc((n + 1) * sizeof *fill);
    if (!adj || !fill) {
        free(adj);
        free(fill);
        free(start);
        return false;
    }
    memcpy(fill, start, n * sizeof *fill);
    for (size_t c = 0; c < ncons; c++) { /* c ascending: each list is sorted */
        adj[fill[cons[c].total]++] = c;
        for (size_t k = 0; k < cons[c].nparts; k++)
            adj[fill[cons[c].parts[k]]++] = c;
    }
    free(fill);
    *start_p = start;
    *adj_p = adj;
    return true;
}

static int s_cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *) a, y = *(const size_t *) b;
    return (x > y) - (x < y);
}

/* Runs the audit once; returns true if it hid another cell (then the
 * caller runs the fixpoint and the audit again), false if no hidden cell
 * is determined. Out of memory hides everything.
 *
 * A component is the hidden rows linked by the constraints they share
 * (as they were when the audit began); a row hidden during this audit is
 * a component of its own when the loop reaches it, as it always was. Its
 * rows and constraints are found through the buckets and the adjacency,
 * so one audit costs the size of the table plus the eliminations. */
static bool s_audit(table_t *t, const suppress_constraint_t *cons, size_t ncons, const size_t *adj_start,
                    const size_t *adj)
{
    size_t n = t->n, nh = 0;
    size_t *up = malloc(n * sizeof *up), *bstart = calloc(n + 1, sizeof *bstart);
    size_t *bucket = malloc((n + 1) * sizeof *bucket), *local = malloc(n * sizeof *local);
    size_t *stamp = calloc(ncons + 1, sizeof *stamp), *crow = malloc((ncons + 1) * sizeof *crow);
    bool *was_hidden = malloc((n + 1) * sizeof *was_hidden);
    bool changed = false;
    if (!up || !bstart || !bucket || !local || !stamp || !crow || !was_hidden)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        nh += was_hidden[i] = t->rows[i].suppressed;
        up[i] = i;
        local[i] = SIZE_MAX;
    }
    if (nh == 0)
        goto done;
    /* Components: hidden rows linked by a constraint they share. */
    for (size_t c = 0; c < ncons; c++) {
        size_t first = t->rows[cons[c].total].suppressed ? cons[c].total : SIZE_MAX;
        for (size_t k = 0; k < cons[c].nparts; k++) {
            size_t p = cons[c].parts[k];
            if (!t->rows[p].suppressed)
                continue;
            if (first == SIZE_MAX)
                first = p;
            else
                up[s_uf_find(up, p)] = s_uf_find(up, first);
        }
    }
    /* The hidden rows of each root, in row order. */
    for (size_t i = 0; i < n; i++)
        if (was_hidden[i])
            bstart[s_uf_find(up, i) + 1]++;
    for (size_t i = 0; i < n; i++)
        bstart[i + 1] += bstart[i];
    {
        size_t *fill = malloc((n + 1) * sizeof *fill);
        if (!fill)
            goto oom;
        memcpy(fill, bstart, n * sizeof *fill);
        for (size_t i = 0; i < n; i++)
            if (was_hidden[i])
                bucket[fill[s_uf_find(up, i)]++] = i;
        free(fill);
    }
    /* One component at a time, by its root row. */
    for (size_t root = 0; root < n; root++) {
        if (!t->rows[root].suppressed || s_uf_find(up, root) != root)
            continue;
        const size_t *members = was_hidden[root] ? &bucket[bstart[root]] : &root;
        size_t cols = was_hidden[root] ? bstart[root + 1] - bstart[root] : 1, rows = 0;
        for (size_t v = 0; v < cols; v++) {
            local[members[v]] = v;
            for (size_t a = adj_start[members[v]]; a < adj_start[members[v] + 1]; a++)
                if (stamp[adj[a]] != root + 1) {
                    stamp[adj[a]] = root + 1;
                    crow[rows++] = adj[a];
                }
        }
        qsort(crow, rows, sizeof *crow, s_cmp_size);
        s_sparse_t *m = calloc(rows + 1, sizeof *m);
        bool *determined = calloc(cols + 1, sizeof *determined);
        bool built = m && determined;
        for (size_t r = 0; built && r < rows; r++) {
            /* total - parts = 0, over the hidden members (a member named
             * twice in one constraint is one entry, as it was one cell). */
            const suppress_constraint_t *c = &cons[crow[r]];
            if (local[c->total] != SIZE_MAX)
                built = s_append(&m[r], local[c->total], 1, true);
            for (size_t k = 0; built && k < c->nparts; k++)
                if (local[c->parts[k]] != SIZE_MAX && !s_entry(&m[r], local[c->parts[k]]))
                    built = s_append(&m[r], local[c->parts[k]], S_PRIME - 1, true);
        }
        if (!built || !s_determined(m, rows, cols, determined)) {
            s_sparse_free(m, rows);
            free(determined);
            goto oom;
        }
        s_sparse_free(m, rows);
        /* For each determined cell not yet dealt with this round, hide the
         * smallest visible member of one of its constraints (an unknown
         * more in that equation); every determined cell of that
         * constraint counts as dealt with. One round handles all of them,
         * so the rounds stay few on large tables; the next audit checks
         * whether that was enough. */
        for (size_t r = 0; r < rows; r++) {
            const suppress_constraint_t *c = &cons[crow[r]];
            bool pins = false;
            for (size_t k = 0; k <= c->nparts && !pins; k++) {
                size_t v = local[k < c->nparts ? c->parts[k] : c->total];
                pins = v != SIZE_MAX && determined[v];
            }
            if (!pins)
                continue;
            table_row_t *smallest = NULL;
            for (size_t k = 0; k <= c->nparts; k++) {
                table_row_t *x = &t->rows[k < c->nparts ? c->parts[k] : c->total];
                if (!x->suppressed && (!smallest || x->cell.units < smallest->cell.units))
                    smallest = x;
            }
            if (!smallest)
                continue;
            smallest->suppressed = true;
            changed = true;
            for (size_t k = 0; k <= c->nparts; k++) {
                size_t v = local[k < c->nparts ? c->parts[k] : c->total];
                if (v != SIZE_MAX)
                    determined[v] = false;
            }
        }
        for (size_t v = 0; v < cols; v++)
            local[members[v]] = SIZE_MAX;
        free(determined);
    }
done:
    free(up);
    free(bstart);
    free(bucket);
    free(local);
    free(stamp);
    free(crow);
    free(was_hidden);
    return changed;
oom:
    free(up);
    free(bstart);
    free(bucket);
    free(local);
    free(stamp);
    free(crow);
    free(was_hidden);
    for (size_t i = 0; i < n; i++)
        t->rows[i].suppressed = true;
    return false;
}

void suppress_table(table_t *t, const protect_t *protect, const cat_measure_t *m)
{
    for (size_t i = 0; i < t->n; i++)
        t->rows[i].suppressed =
            t->rows[i].absent || (protect && protect_is_hidden(protect, &t->rows[i].cell));
    if (!protect || t->n == 0)
        return;
    /* Each row is a part of at most three constraints: its geographic
     * parent, for slice values the "all" cell of the same place, and the
     * period that contains its own. Constraint keys are the total's index
     * plus n times a kind: 0 geography, 1..4 slice dimension, 5 period. */
    interval_t *pb = interval_bounds(t, protect, m);
    suppress_constraint_t *cons = calloc(t->n * 3 + 1, sizeof *cons);
    size_t nkeys = t->n * (SLICE_DIMS + 1) + 1;
    size_t *by_key = malloc(nkeys * sizeof *by_key);
    size_t ncons = 0;
    if (!cons || !by_key || !pb)
        goto fail;
    for (size_t i = 0; i < nkeys; i++)
        by_key[i] = SIZE_MAX;
    for (size_t i = 0; i < t->n; i++) {
        const table_row_t *r = &t->rows[i];
        const table_row_t *parent = NULL;
        if (r->level == TABLE_FORBUND)
            parent = table_find(t, TABLE_LAN, r->lan, r->period, r->slice);
        else if (r->level == TABLE_LAN)
            parent = table_find(t, TABLE_NATION, "Riket", r->period, r->slice);
        if (parent && s_link(cons, &ncons, by_key, (size_t) (parent - t->rows), i) < 0)
            goto fail;
        if (r->slice != 0) {
            const table_row_t *all = table_find(t, r->level, r->name, r->period, 0);
            /* One constraint per (all cell, dimension): encode the dimension
             * in the total's index space by offsetting. */
            if (all) {
                size_t key = (size_t) (all - t->rows) + t->n * (size_t) (r->slice >> 8);
                if (s_link(cons, &ncons, by_key, key, i) < 0)
                    goto fail;
            }
        }
        uint32_t up = cell_period_parent(r->period);
        const table_row_t *whole = up ? table_find(t, r->level, r->name, up, r->slice) : NULL;
        if (whole &&
            s_link(cons, &ncons, by_key, (size_t) (whole - t->rows) + t->n * SUPPRESS_KIND_PERIOD, i) < 0)
            goto fail;
    }
    for (size_t i = 0; i < ncons; i++) {
        cons[i].kind = (int) (cons[i].total / t->n);
        cons[i].total %= t->n;
        int64_t n = 0, units = 0;
        for (size_t k = 0; k < cons[i].nparts; k++) {
            n += t->rows[cons[i].parts[k]].cell.n;
            units += t->rows[cons[i].parts[k]].cell.units;
        }
        cons[i].complete = n == t->rows[cons[i].total].cell.n;
        /* A person is in one förbund, but may be recorded with two genders
         * (or in two modes, or months): only where the exact units add up
         * may the audit assume a reader knows they do. */
        cons[i].units_add = cons[i].complete && units == t->rows[cons[i].total].cell.units;
    }
    size_t *adj_start = NULL, *adj = NULL;
    if (!s_adjacency(t, cons, ncons, &adj_start, &adj))
        goto fail;
    /* Each pass that changes something hides at least one more cell, so
     * this ends after at most n passes of each loop. */
    do {
        for (;;) {
            bool changed = false;
            for (size_t i = 0; i < ncons; i++)
                changed |= s_enforce(t, &cons[i]);
            if (!changed)
                break;
        }
    } while (s_audit(t, cons, ncons, adj_start, adj) || interval_audit(t, cons, ncons, pb, adj_start, adj));
    free(adj_start);
    free(adj);
    for (size_t i = 0; i < ncons; i++)
        free(cons[i].parts);
    free(cons);
    free(by_key);
    free(pb);
    return;
fail:
    for (size_t i = 0; cons && i < ncons; i++)
        free(cons[i].parts);
    free(cons);
    free(by_key);
    free(pb);
    /* Out of memory: hide everything rather than risk a disclosure. */
    for (size_t i = 0; i < t->n; i++)
        t->rows[i].suppressed = true;
}
