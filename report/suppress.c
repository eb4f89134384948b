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
        cons[i] = (suppress_constraint_t){key, NULL, 0, 0, false};
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

/* Marks determined[v] for the variables of one component: m is rows x
 * cols, row-major, reduced in place. */
static void s_determined(uint32_t *m, size_t rows, size_t cols, bool *determined)
{
    size_t *pivot_row = malloc((cols + 1) * sizeof *pivot_row);
    if (!pivot_row)
        return;
    for (size_t c = 0; c < cols; c++)
        pivot_row[c] = SIZE_MAX;
    size_t r = 0;
    for (size_t c = 0; c < cols && r < rows; c++) {
        size_t k = r;
        while (k < rows && m[k * cols + c] == 0)
            k++;
        if (k == rows)
            continue;
        if (k != r)
            for (size_t j = 0; j < cols; j++) {
                uint32_t x = m[k * cols + j];
                m[k * cols + j] = m[r * cols + j];
                m[r * cols + j] = x;
            }
        uint32_t inv = s_invmod(m[r * cols + c]);
        for (size_t j = c; j < cols; j++)
            m[r * cols + j] = s_mulmod(m[r * cols + j], inv);
        for (size_t i = 0; i < rows; i++) {
            uint32_t f = m[i * cols + c];
            if (i == r || f == 0)
                continue;
            for (size_t j = c; j < cols; j++)
                m[i * cols + j] =
                    (uint32_t) ((m[i * cols + j] + (uint64_t) (S_PRIME - f) * m[r * cols + j]) % S_PRIME);
        }
        pivot_row[c] = r++;
    }
    for (size_t c = 0; c < cols; c++) {
        determined[c] = false;
        if (pivot_row[c] == SIZE_MAX)
            continue;
        /* Reduced: the pivot's row names no other pivot column; if it names
         * no free column either, the variable is a known number. */
        size_t pr = pivot_row[c];
        bool alone = true;
        for (size_t j = 0; j < cols && alone; j++)
            alone = j == c || m[pr * cols + j] == 0;
        determined[c] = alone;
    }
    free(pivot_row);
}

/* Runs the audit once; returns true if it hid another cell (then the
 * caller runs the fixpoint and the audit again), false if no hidden cell
 * is determined. Out of memory hides everything. */
static bool s_audit(table_t *t, const suppress_constraint_t *cons, size_t ncons)
{
    size_t n = t->n, nh = 0;
    size_t *up = malloc(n * sizeof *up);
    bool changed = false;
    if (!up)
        goto oom;
    for (size_t i = 0; i < n; i++) {
        nh += t->rows[i].suppressed;
        up[i] = i;
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
    /* One component at a time, by its root row. */
    for (size_t root = 0; root < n; root++) {
        if (!t->rows[root].suppressed || s_uf_find(up, root) != root)
            continue;
        size_t cols = 0, rows = 0;
        size_t *local = malloc(n * sizeof *local);
        if (!local)
            goto oom;
        for (size_t i = 0; i < n; i++)
            local[i] = t->rows[i].suppressed && s_uf_find(up, i) == root ? cols++ : SIZE_MAX;
        size_t *crow = malloc((ncons + 1) * sizeof *crow);
        if (!crow) {
            free(local);
            goto oom;
        }
        for (size_t c = 0; c < ncons; c++) {
            bool in = local[cons[c].total] != SIZE_MAX;
            for (size_t k = 0; k < cons[c].nparts && !in; k++)
                in = local[cons[c].parts[k]] != SIZE_MAX;
            if (in)
                crow[rows++] = c;
        }
        uint32_t *m = calloc(rows * cols + 1, sizeof *m);
        bool *determined = calloc(cols + 1, sizeof *determined);
        if (!m || !determined) {
            free(m);
            free(determined);
            free(crow);
            free(local);
            goto oom;
        }
        for (size_t r = 0; r < rows; r++) {
            const suppress_constraint_t *c = &cons[crow[r]];
            if (local[c->total] != SIZE_MAX)
                m[r * cols + local[c->total]] = 1;
            for (size_t k = 0; k < c->nparts; k++)
                if (local[c->parts[k]] != SIZE_MAX)
                    m[r * cols + local[c->parts[k]]] = S_PRIME - 1;
        }
        s_determined(m, rows, cols, determined);
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
        free(m);
        free(determined);
        free(crow);
        free(local);
    }
done:
    free(up);
    return changed;
oom:
    free(up);
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
        int64_t n = 0;
        for (size_t k = 0; k < cons[i].nparts; k++)
            n += t->rows[cons[i].parts[k]].cell.n;
        cons[i].complete = n == t->rows[cons[i].total].cell.n;
    }
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
    } while (s_audit(t, cons, ncons) || interval_audit(t, cons, ncons, pb));
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
