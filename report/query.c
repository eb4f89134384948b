/* query.c: cells to visible numbers (see query.h for the disclosure rules).
 *
 * For one measure all cells of the requested period kind are loaded (every
 * slice, every förbund), län and national rows are merged from them, and
 * suppression is decided over that whole table before the requested slice
 * is printed: complementary suppression needs the siblings a reader could
 * subtract, not just the rows shown. */
#include "query.h"

#include "cell.h"
#include "compare.h"
#include "diststore.h"
#include "protect.h"
#include "publish.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

enum { LEVEL_FORBUND, LEVEL_LAN, LEVEL_NATION };

typedef struct {
    int level;
    char name[48]; /* förbund code, län name or "Riket" */
    char lan[48];
    uint32_t period;
    uint16_t slice;
    cell_t cell;
    bool suppressed;
    /* A cell that exists but has no published state yet (publish.h): not
     * shown, not in any published number, and an unknown to a reader — a
     * hidden member of every constraint it is part of. */
    bool absent;
} s_row_t;

typedef struct {
    s_row_t *rows;
    size_t n, cap;
} s_table_t;

static int s_row_cmp(const void *a, const void *b)
{
    const s_row_t *x = a, *y = b;
    if (x->level != y->level)
        return x->level - y->level;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    if (x->period != y->period)
        return x->period < y->period ? -1 : 1;
    return (int) x->slice - (int) y->slice;
}

static s_row_t *s_find(s_table_t *t, int level, const char *name, uint32_t period, uint16_t slice)
{
    if (t->n == 0)
        return NULL; /* rows is NULL then, and bsearch's pointer must be valid even for 0 */
    s_row_t key = {.level = level, .period = period, .slice = slice};
    snprintf(key.name, sizeof key.name, "%s", name);
    return bsearch(&key, t->rows, t->n, sizeof key, s_row_cmp);
}

static s_row_t *s_push(s_table_t *t)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        s_row_t *r = realloc(t->rows, cap * sizeof *r);
        if (!r)
            return NULL;
        t->rows = r;
        t->cap = cap;
    }
    s_row_t *r = &t->rows[t->n++];
    memset(r, 0, sizeof *r);
    return r;
}

/* Adds c into the row (level, name, period, slice), creating it; the table
 * must be re-sorted before lookups. Rows are merged after loading. */
/* A förbund row for a cell key (zero state); NULL when out of memory. */
static s_row_t *s_push_forbund(s_table_t *t, const catalogue_t *cat, const cell_key_t *ck)
{
    s_row_t *r = s_push(t);
    if (r) {
        r->level = LEVEL_FORBUND;
        snprintf(r->name, sizeof r->name, "%s", ck->forbund);
        snprintf(r->lan, sizeof r->lan, "%s", catalogue_lan(cat, ck->forbund));
        r->period = ck->period;
        r->slice = ck->slice;
    }
    return r;
}

/* The measure's cells that exist but are not published yet, as absent
 * rows (see s_row_t); MDB_NOTFOUND at the end, as the cursor walks. */
static int s_load_absent(MDB_txn *txn, ledger_t *ledger, const catalogue_t *cat, const uint8_t *prefix,
                         int only_year, s_table_t *t)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, ledger_dbi(ledger, LEDGER_DB_CELLS), &cur);
    if (rc)
        return rc;
    MDB_dbi published = ledger_dbi(ledger, LEDGER_DB_PUBLISHED);
    MDB_val k = {CELL_MEASURE_LEN, (void *) prefix}, v, pv;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        cell_key_t ck;
        if (k.mv_size < CELL_MEASURE_LEN || memcmp(k.mv_data, prefix, CELL_MEASURE_LEN)) {
            rc = MDB_NOTFOUND;
            break;
        }
        if (cell_key_decode(&ck, k.mv_data, k.mv_size) ||
            (only_year && cell_period_year(ck.period) != only_year))
            continue;
        MDB_val pk = k;
        int got = mdb_get(txn, published, &pk, &pv);
        if (got == 0)
            continue;
        if (got != MDB_NOTFOUND) {
            rc = got;
            break;
        }
        s_row_t *r = s_push_forbund(t, cat, &ck);
        if (!r) {
            rc = ENOMEM;
            break;
        }
        r->absent = true;
    }
    mdb_cursor_close(cur);
    return rc;
}

/* Loads the measure's table in txn (the caller's read snapshot: the
 * states and, later, the distributions behind their quantiles must come
 * from the same one). */
static int s_load(ledger_t *ledger, MDB_txn *txn, const catalogue_t *cat, const cat_measure_t *m,
                  int only_year, bool exact, s_table_t *t)
{
    /* Readers see the publication (publish.h); the exact view the cells. */
    MDB_dbi dbi = ledger_dbi(ledger, exact ? LEDGER_DB_CELLS : LEDGER_DB_PUBLISHED);
    size_t vlen = exact ? sizeof(cell_t) : PUBLISH_VALUE_LEN;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc)
        return rc;
    uint8_t prefix[CELL_MEASURE_LEN] = {0};
    memcpy(prefix, m->id, strlen(m->id));
    MDB_val k = {CELL_MEASURE_LEN, prefix}, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        cell_key_t ck;
        if (k.mv_size < CELL_MEASURE_LEN || memcmp(k.mv_data, prefix, CELL_MEASURE_LEN))
            break;
        if (cell_key_decode(&ck, k.mv_data, k.mv_size) || v.mv_size != vlen)
            continue;
        if (only_year && cell_period_year(ck.period) != only_year)
            continue;
        s_row_t *r = s_push_forbund(t, cat, &ck);
        if (!r) {
            rc = ENOMEM;
            break;
        }
        memcpy(&r->cell, v.mv_data, sizeof r->cell);
        /* An empty published state is a cell waiting for its first
         * publication (publish.c): not shown, an unknown to readers. */
        r->absent = !exact && cell_is_zero(&r->cell);
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND && !exact)
        rc = s_load_absent(txn, ledger, cat, prefix, only_year, t);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    /* Roll-ups: cells merge by addition (cell.h). `units` adds up because
     * a participant belongs to one förbund's pseudonym space. Each förbund
     * row is copied as its län and its nation row; sorting the copies puts
     * equal keys side by side, and they are summed in one pass. */
    size_t nf = t->n;
    s_row_t *up = nf ? malloc(2 * nf * sizeof *up) : NULL;
    if (nf && !up)
        return ENOMEM;
    for (size_t i = 0; i < nf; i++) {
        const s_row_t *src = &t->rows[i];
        s_row_t *lan = &up[2 * i], *nation = &up[2 * i + 1];
        *lan = *src;
        lan->level = LEVEL_LAN;
        snprintf(lan->name, sizeof lan->name, "%s", src->lan);
        *nation = *src;
        nation->level = LEVEL_NATION;
        snprintf(nation->name, sizeof nation->name, "Riket");
        nation->lan[0] = '\0';
    }
    if (nf > 1)
        qsort(up, 2 * nf, sizeof *up, s_row_cmp);
    for (size_t i = 0; i < 2 * nf; i++) {
        s_row_t *dst = s_push(t);
        if (!dst) {
            free(up);
            return ENOMEM;
        }
        *dst = up[i];
        /* A roll-up is absent only if all its parts are. */
        while (i + 1 < 2 * nf && s_row_cmp(&up[i + 1], dst) == 0) {
            cell_add(&dst->cell, &up[++i].cell, +1);
            dst->absent = dst->absent && up[i].absent;
        }
    }
    free(up);
    if (t->n > 1) /* rows is NULL while empty, and qsort's pointer must be valid even for 0 */
        qsort(t->rows, t->n, sizeof *t->rows, s_row_cmp);
    return 0;
}

/* Complementary suppression as linear constraints: a total equals the sum
 * of its parts (a län of its förbund, the nation of its län, an "all" cell
 * of the values of one slice dimension, a quarter of its months and a year
 * of its quarters — counts, sums and histograms add up over time, so a
 * hidden month could otherwise be read off its quarter). A reader who sees all but one
 * member of a constraint can compute the missing one, so in every
 * constraint the hidden members must be none or at least two. When exactly
 * one is hidden, the smallest visible part is hidden too (the total only
 * when no part is left); repeated until nothing changes, which terminates
 * because cells are only ever hidden, never shown again. */
typedef struct {
    size_t total;
    size_t *parts;
    size_t nparts;
    int kind;      /* 0 geography, a slice dimension (slice_dim_t), or S_KIND_PERIOD */
    bool complete; /* the parts hold every answer of the total (no unknown gender, ...) */
} s_constraint_t;

#define S_KIND_PERIOD SLICE_DIMS

static bool s_enforce(s_table_t *t, const s_constraint_t *c)
{
    int hidden = t->rows[c->total].suppressed;
    s_row_t *smallest = NULL;
    for (size_t i = 0; i < c->nparts; i++) {
        s_row_t *r = &t->rows[c->parts[i]];
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
static int s_link(s_constraint_t *cons, size_t *ncons, size_t *by_key, size_t key, size_t part)
{
    size_t i = by_key[key];
    if (i == SIZE_MAX) {
        i = by_key[key] = (*ncons)++;
        cons[i] = (s_constraint_t){key, NULL, 0, 0, false};
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
static bool s_audit(s_table_t *t, const s_constraint_t *cons, size_t ncons)
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
            const s_constraint_t *c = &cons[crow[r]];
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
            const s_constraint_t *c = &cons[crow[r]];
            bool pins = false;
            for (size_t k = 0; k <= c->nparts && !pins; k++) {
                size_t v = local[k < c->nparts ? c->parts[k] : c->total];
                pins = v != SIZE_MAX && determined[v];
            }
            if (!pins)
                continue;
            s_row_t *smallest = NULL;
            for (size_t k = 0; k <= c->nparts; k++) {
                s_row_t *x = &t->rows[k < c->nparts ? c->parts[k] : c->total];
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

/* ---- the interval audit: no hidden count known within ±1 ---------------
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
#define S_INF (INT64_MAX / 4)
#define S_STATS 4 /* units, n, hits (the share's numerator), misses (n - hits) */
enum { S_UNITS, S_N, S_HITS, S_MISSES };

typedef struct {
    int64_t lo, hi;
} s_iv_t;

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
static bool s_tighten(s_iv_t *iv, int64_t lo, int64_t hi)
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
static s_iv_t *s_published_bounds(const s_table_t *t, const protect_t *protect, const cat_measure_t *m)
{
    s_iv_t *pb = malloc(t->n * S_STATS * sizeof *pb);
    if (!pb)
        return NULL;
    const protect_params_t *pp = protect_params(protect);
    int64_t D = pp->max_dev, k = pp->min_count;
    for (size_t i = 0; i < t->n; i++) {
        cell_t pub;
        protect_cell(protect, m, true, &t->rows[i].cell, &pub);
        s_iv_t *b = &pb[i * S_STATS];
        s_iv_t u = {pub.units - D > k ? pub.units - D : k, pub.units + D};
        int64_t e = pub.n - pub.units;
        b[S_UNITS] = u;
        b[S_N] = e == 0 ? (s_iv_t){u.lo, u.hi + D} : (s_iv_t){u.lo + (e - D > 1 ? e - D : 1), u.hi + e + D};
        /* hits' = clamp(hits + j, 0, n'); a withheld share publishes none */
        b[S_HITS] = b[S_MISSES] = (s_iv_t){0, S_INF};
        if (cat_measure_has_share(m) && pub.n > 0 && !query_withholds(m, &pub)) {
            int64_t misses = pub.n - pub.hits;
            b[S_HITS] = (s_iv_t){pub.hits > 0 ? pub.hits - D : 0, pub.hits < pub.n ? pub.hits + D : S_INF};
            b[S_MISSES] = (s_iv_t){misses > 0 ? misses - D : 0, misses < pub.n ? misses + D : S_INF};
            if (b[S_HITS].lo < 0)
                b[S_HITS].lo = 0;
            if (b[S_MISSES].lo < 0)
                b[S_MISSES].lo = 0;
        }
    }
    return pb;
}

/* Within one row: units <= n = hits + misses. */
static bool s_row_relations(s_iv_t *b)
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

/* One pass of every constraint over the intervals; true if one moved.
 * What always holds: a part is at most its total, and where the stat adds
 * up the parts together are at most the total. Where the parts hold every
 * answer (checked on the exact cells), a reader may know the total equals
 * the sum, or lies between the largest part and the sum. */
static bool s_propagate(s_iv_t *iv, const s_constraint_t *cons, size_t ncons)
{
    bool changed = false;
    for (size_t ci = 0; ci < ncons; ci++) {
        const s_constraint_t *c = &cons[ci];
        if (c->kind == SLICE_AGENCY)
            continue;
        for (int s = 0; s < S_STATS; s++) {
            s_iv_t *tot = &iv[c->total * S_STATS + s];
            bool adds = s_adds(s, c->kind);
            int64_t sumlo = 0, sumhi = 0, maxlo = 0;
            for (size_t k = 0; k < c->nparts; k++) {
                const s_iv_t *p = &iv[c->parts[k] * S_STATS + s];
                sumlo = s_sat(sumlo, p->lo);
                sumhi = s_sat(sumhi, p->hi);
                maxlo = p->lo > maxlo ? p->lo : maxlo;
            }
            changed |= s_tighten(tot, adds ? sumlo : maxlo, c->complete ? sumhi : S_INF);
            for (size_t k = 0; k < c->nparts; k++) {
                s_iv_t *p = &iv[c->parts[k] * S_STATS + s];
                int64_t hi = tot->hi;
                if (adds && hi < S_INF)
                    hi -= sumlo - p->lo;
                int64_t lo = p->lo;
                if (adds && c->complete && sumhi < S_INF)
                    lo = tot->lo - (sumhi - p->hi);
                changed |= s_tighten(p, lo, hi);
            }
        }
    }
    return changed;
}

/* Runs the interval audit once; returns true if it hid another cell. */
static bool s_interval_audit(s_table_t *t, const s_constraint_t *cons, size_t ncons, const s_iv_t *pb)
{
    /* Nothing hidden, nothing to narrow (most tables of large förbund). */
    bool any = false;
    for (size_t i = 0; i < t->n && !any; i++)
        any = t->rows[i].suppressed && !t->rows[i].absent;
    if (!any)
        return false;
    s_iv_t *iv = malloc(t->n * S_STATS * sizeof *iv);
    if (!iv)
        goto oom;
    for (size_t i = 0; i < t->n; i++)
        for (int s = 0; s < S_STATS; s++)
            iv[i * S_STATS + s] = t->rows[i].absent       ? (s_iv_t){0, S_INF}
                                  : t->rows[i].suppressed ? (s_iv_t){s == S_UNITS || s == S_N ? 1 : 0, S_INF}
                                                          : pb[i * S_STATS + s];
    /* Units never exceed n; then the constraints, to a fixpoint (each
     * pass only narrows integer intervals, so it ends; the cap is a
     * guard). */
    for (int round = 0; round < 64; round++) {
        bool moved = s_propagate(iv, cons, ncons);
        for (size_t i = 0; i < t->n; i++)
            moved |= s_row_relations(&iv[i * S_STATS]);
        if (!moved)
            break;
    }
    bool changed = false;
    for (size_t i = 0; i < t->n; i++) {
        const s_row_t *r = &t->rows[i];
        if (!r->suppressed || r->absent)
            continue;
        /* A count within ±1; or someone in the group shown to have given
         * (or not given) the share's answer, with their number within ±1. */
        const s_iv_t *b = &iv[i * S_STATS];
        bool narrow = false;
        for (int s = 0; s < S_STATS && !narrow; s++)
            narrow = b[s].hi - b[s].lo <= 2 && (s == S_UNITS || s == S_N || b[s].lo >= 1);
        if (!narrow)
            continue;
        /* Hide the smallest visible member of its constraints: one
         * unknown more where the bound came from. */
        s_row_t *smallest = NULL;
        for (size_t ci = 0; ci < ncons; ci++) {
            const s_constraint_t *c = &cons[ci];
            bool member = c->total == i;
            for (size_t k = 0; k < c->nparts && !member; k++)
                member = c->parts[k] == i;
            if (!member)
                continue;
            for (size_t k = 0; k <= c->nparts; k++) {
                s_row_t *x = &t->rows[k < c->nparts ? c->parts[k] : c->total];
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

static void s_suppress(s_table_t *t, const protect_t *protect, const cat_measure_t *m)
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
    s_iv_t *pb = s_published_bounds(t, protect, m);
    s_constraint_t *cons = calloc(t->n * 3 + 1, sizeof *cons);
    size_t nkeys = t->n * (SLICE_DIMS + 1) + 1;
    size_t *by_key = malloc(nkeys * sizeof *by_key);
    size_t ncons = 0;
    if (!cons || !by_key || !pb)
        goto fail;
    for (size_t i = 0; i < nkeys; i++)
        by_key[i] = SIZE_MAX;
    for (size_t i = 0; i < t->n; i++) {
        const s_row_t *r = &t->rows[i];
        const s_row_t *parent = NULL;
        if (r->level == LEVEL_FORBUND)
            parent = s_find(t, LEVEL_LAN, r->lan, r->period, r->slice);
        else if (r->level == LEVEL_LAN)
            parent = s_find(t, LEVEL_NATION, "Riket", r->period, r->slice);
        if (parent && s_link(cons, &ncons, by_key, (size_t) (parent - t->rows), i) < 0)
            goto fail;
        if (r->slice != 0) {
            const s_row_t *all = s_find(t, r->level, r->name, r->period, 0);
            /* One constraint per (all cell, dimension): encode the dimension
             * in the total's index space by offsetting. */
            if (all) {
                size_t key = (size_t) (all - t->rows) + t->n * (size_t) (r->slice >> 8);
                if (s_link(cons, &ncons, by_key, key, i) < 0)
                    goto fail;
            }
        }
        uint32_t up = cell_period_parent(r->period);
        const s_row_t *whole = up ? s_find(t, r->level, r->name, up, r->slice) : NULL;
        if (whole && s_link(cons, &ncons, by_key, (size_t) (whole - t->rows) + t->n * SLICE_DIMS, i) < 0)
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
    } while (s_audit(t, cons, ncons) || s_interval_audit(t, cons, ncons, pb));
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

/* The state a row publishes: exact for the operator's exact view and for
 * organisation reports (not personal data), perturbed otherwise. */
static void s_published(const query_t *q, const cat_measure_t *m, bool personal, const s_row_t *r,
                        cell_t *out)
{
    if (q->exact)
        *out = r->cell;
    else
        protect_cell(q->protect, m, personal, &r->cell, out);
}

/* ---- quantiles of a row ------------------------------------------------
 *
 * A row's medians and quartiles come from its distribution: an ordinal
 * scale's is the state's histogram (summed into roll-ups like the rest of
 * the state); a day count's is in the distributions database, one per
 * förbund cell, merged here for a län or the nation. The förbund rows are
 * indexed by (period, slice, län, name), so that the parts of a län and
 * of the nation are each one run. Read in the snapshot the states came
 * from, so state and distribution are of the same moment. */
typedef struct {
    MDB_txn *txn;
    MDB_dbi dbi; /* dists (exact view) or published-dists */
    bool live;   /* dbi is dists */
    const s_table_t *t;
    size_t *parts; /* indexes of the förbund rows, ordered as above */
    size_t nparts;
    dist_t dist; /* the row at hand */
} s_parts_t;

/* Orders row x against (period, slice, lan); lan NULL matches any län. */
static int s_part_vs(const s_row_t *x, uint32_t period, uint16_t slice, const char *lan)
{
    if (x->period != period)
        return x->period < period ? -1 : 1;
    if (x->slice != slice)
        return (int) x->slice - (int) slice;
    return lan ? strcmp(x->lan, lan) : 0;
}

static int s_part_cmp(const void *a, const void *b, void *arg)
{
    const s_table_t *t = arg;
    const s_row_t *x = &t->rows[*(const size_t *) a], *y = &t->rows[*(const size_t *) b];
    int c = s_part_vs(x, y->period, y->slice, y->lan);
    return c ? c : strcmp(x->name, y->name);
}

/* Prepares p for the rows of measure m in table t (the index only for a
 * day count); 0 or ENOMEM. */
static int s_parts_init(s_parts_t *p, MDB_txn *txn, ledger_t *ledger, bool exact, const cat_measure_t *m,
                        const s_table_t *t)
{
    *p = (s_parts_t){.txn = txn,
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
        if (t->rows[i].level == LEVEL_FORBUND)
            p->parts[p->nparts++] = i;
    qsort_r(p->parts, p->nparts, sizeof *p->parts, s_part_cmp, (void *) t);
    return 0;
}

static void s_parts_free(s_parts_t *p)
{
    free(p->parts);
    dist_free(&p->dist);
}

/* The first part with s_part_vs(...) >= 0 (strict: > 0). */
static size_t s_parts_bound(const s_parts_t *p, uint32_t period, uint16_t slice, const char *lan, bool strict)
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

static int s_load_dist(s_parts_t *p, const cat_measure_t *m, const s_row_t *part)
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

/* The quantiles row r shows (pub_n: its published n). A row whose
 * distribution cannot be read shows none. */
static void s_row_quantiles(const query_t *q, const cat_measure_t *m, bool personal, s_parts_t *p,
                            const s_row_t *r, int64_t pub_n, cell_quantiles_t *out)
{
    memset(out, 0, sizeof *out);
    dist_clear(&p->dist);
    int rc = 0;
    if (m->aggregate == AGG_ORDINAL) {
        rc = dist_add_hist(&p->dist, r->cell.hist, CELL_HIST, 0) < 0 ? ENOMEM : 0;
    } else if (m->aggregate == AGG_MEDIAN_DAYS && p->parts) {
        if (r->level == LEVEL_FORBUND) {
            rc = s_load_dist(p, m, r);
        } else {
            const char *lan = r->level == LEVEL_LAN ? r->name : NULL;
            size_t end = s_parts_bound(p, r->period, r->slice, lan, true);
            for (size_t i = s_parts_bound(p, r->period, r->slice, lan, false); i < end && rc == 0; i++)
                rc = s_load_dist(p, m, &p->t->rows[p->parts[i]]);
        }
    } else {
        return;
    }
    if (rc || p->dist.total != r->cell.n)
        return;
    if (q->exact)
        cell_quantiles(m, &p->dist, out);
    else
        protect_quantiles(q->protect, m, personal, &r->cell, &p->dist, pub_n, out);
}

/* A share of 0 % or 100 % is shown only from n >= 10 (all answering the
 * same is itself a disclosure); decided on the published values, so the
 * decision reveals nothing the numbers do not. */
static bool s_share_ok(const cell_values_t *cv)
{
    return cv->n >= 10 || (cv->share > 0 && cv->share < 1);
}

/* The row's values into o. Returns false (and adds nothing but n and
 * units) when a share is withheld: every other value of the row — mean,
 * sd, median, interval, change — could give it back. The operator's exact
 * view withholds nothing. */
static bool s_values_json(json_t *o, const cat_measure_t *m, const cell_values_t *cv,
                          const cell_quantiles_t *cq, bool exact)
{
    json_object_set_new(o, "n", json_integer(cv->n));
    json_object_set_new(o, "units", json_integer(cv->units));
    if (cv->n == 0)
        return false;
    if (!exact && !m->organisation && cat_measure_has_share(m) && !s_share_ok(cv)) {
        json_object_set_new(o, "withheld", json_string("share of 0 % or 100 % on fewer than 10"));
        return false;
    }
    switch (m->aggregate) {
    case AGG_ORDINAL:
        json_object_set_new(o, "mean", json_real(cv->mean));
        json_object_set_new(o, "sd", json_real(cv->sd));
        json_object_set_new(o, "ci95", json_pack("[f,f]", cv->ci_low, cv->ci_high));
        if (cq->has_median)
            json_object_set_new(o, "median", json_real(cq->median));
        if (cat_measure_has_share(m))
            json_object_set_new(o, "share_top", json_real(cv->share));
        break;
    case AGG_SHARE_YES:
    case AGG_SHARE_SUSTAINED: json_object_set_new(o, "share", json_real(cv->share)); break;
    case AGG_SUM:
        json_object_set_new(o, "sum", json_integer(cv->sum));
        json_object_set_new(o, "mean", json_real(cv->mean));
        break;
    case AGG_MEDIAN_DAYS:
        /* Whole days (whole weeks when protected): integers. */
        if (cq->has_median)
            json_object_set_new(o, "median_days", json_integer((json_int_t) cq->median));
        if (cq->has_quartiles) {
            json_object_set_new(o, "q1_days", json_integer((json_int_t) cq->q1));
            json_object_set_new(o, "q3_days", json_integer((json_int_t) cq->q3));
        }
        json_object_set_new(o, "mean_days", json_real(cv->mean));
        json_object_set_new(o, "share_within_30_days", json_real(cv->share));
        break;
    case AGG_PAIRED_CHANGE:
        json_object_set_new(o, "mean_change", json_real(cv->mean));
        json_object_set_new(o, "ci95", json_pack("[f,f]", cv->ci_low, cv->ci_high));
        json_object_set_new(o, "share_improved", json_real(cv->share));
        break;
    case AGG_RATIO:
        /* A share of insatser: reports giving both numbers (n), the
         * parts over the totals (cell.h: hits and sum). */
        json_object_set_new(o, "numerator", json_integer(cv->hits));
        json_object_set_new(o, "denominator", json_integer(cv->sum));
        if (cv->sum <= 0)
            return false; /* no insatser: no share, nothing to compare */
        json_object_set_new(o, "share", json_real(cv->share));
        break;
    }
    return true;
}

bool query_withholds(const cat_measure_t *m, const cell_t *published)
{
    cell_values_t cv;
    cell_values(m, published, 0, &cv);
    return cv.n > 0 && !m->organisation && cat_measure_has_share(m) && !s_share_ok(&cv);
}

/* The rows a row is compared with (compare.h), NULL where there is none:
 * the previous period, the same period a year earlier, and for an "all"
 * row its two mode rows. */
typedef struct {
    const s_row_t *prev, *year_before, *integrated, *project;
} s_peers_t;

/* The values row r publishes if a comparison may use them: r is shown,
 * has n > 0 and does not withhold its share (what could a withheld share
 * be but previous value + change?). */
static bool s_peer_values(const query_t *q, const cat_measure_t *m, bool personal, const s_row_t *r,
                          cell_values_t *out)
{
    if (!r || r->suppressed || r->absent)
        return false;
    cell_t pub;
    s_published(q, m, personal, r, &pub);
    cell_values(m, &pub, 0, out);
    return out->n > 0 && !(!q->exact && !m->organisation && cat_measure_has_share(m) && !s_share_ok(out)) &&
           !(m->aggregate == AGG_RATIO && out->sum <= 0); /* no insatser: no share to compare */
}

static json_t *s_row_json(const query_t *q, const cat_measure_t *m, bool personal, s_parts_t *parts,
                          const s_row_t *r, const s_peers_t *peers)
{
    static const char *const levels[] = {"forbund", "lan", "nation"};
    char period[16], slice[32];
    cell_period_format(period, sizeof period, r->period);
    cell_slice_format(slice, sizeof slice, r->slice);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:b}", "level", levels[r->level], "name", r->name, "period",
                          period, "slice", slice, "suppressed", r->suppressed);
    if (r->level == LEVEL_FORBUND)
        json_object_set_new(o, "lan", json_string(r->lan));
    /* A hidden row looks the same whatever hid it: no count, no bound. */
    if (r->suppressed)
        return o;
    cell_t pub;
    cell_values_t cv;
    cell_quantiles_t cq;
    s_published(q, m, personal, r, &pub);
    cell_values(m, &pub, 0, &cv);
    s_row_quantiles(q, m, personal, parts, r, pub.n, &cq);
    if (!s_values_json(o, m, &cv, &cq, q->exact))
        return o;
    /* The comparisons, each from two published states (exact ones in the
     * exact view) of rows a reader sees (compare.h). */
    cell_values_t a, b;
    compare_change_t change;
    compare_diff_t diff;
    if (s_peer_values(q, m, personal, peers->prev, &a)) {
        compare_change(m, &cv, &a, &change);
        compare_change_json(o, "change_", &change);
    }
    if (s_peer_values(q, m, personal, peers->year_before, &a)) {
        compare_change(m, &cv, &a, &change);
        compare_change_json(o, "change_year_", &change);
    }
    if (s_peer_values(q, m, personal, peers->integrated, &a) &&
        s_peer_values(q, m, personal, peers->project, &b)) {
        compare_diff(m, &a, &b, &diff);
        compare_diff_json(o, "integrated_minus_project_", &diff);
    }
    return o;
}

/* Row r's peers (s_peers_t). `before` is the table of the year before
 * when one period is asked for (t then holds one year only), else NULL. */
static s_peers_t s_peers(s_table_t *t, s_table_t *before, const s_row_t *r)
{
    s_peers_t p = {0};
    uint32_t prev = cell_period_prev(r->period);
    p.prev = s_find(t, r->level, r->name, prev, r->slice);
    if (!p.prev && before)
        p.prev = s_find(before, r->level, r->name, prev, r->slice);
    p.year_before =
        s_find(before ? before : t, r->level, r->name, cell_period_year_before(r->period), r->slice);
    if (r->slice == 0) {
        p.integrated = s_find(t, r->level, r->name, r->period, cell_slice(SLICE_MODE, 2));
        p.project = s_find(t, r->level, r->name, r->period, cell_slice(SLICE_MODE, 1));
    }
    return p;
}

void query_measure_list(const catalogue_t *cat, char *out, size_t outlen)
{
    size_t used = (size_t) snprintf(out, outlen, "an indicator number (");
    for (int i = 0, n = 0; i < cat->nindicators && used < outlen; i++)
        if (cat->indicators[i].nmeasures > 0)
            used +=
                (size_t) snprintf(out + used, outlen - used, "%s%d", n++ ? ", " : "", cat->indicators[i].id);
    if (used < outlen)
        used += (size_t) snprintf(out + used, outlen - used, ") or a measure id (");
    for (int i = 0; i < cat->nmeasures && used < outlen; i++)
        used += (size_t) snprintf(out + used, outlen - used, "%s%s", i ? ", " : "", cat->measures[i].id);
    if (used < outlen)
        snprintf(out + used, outlen - used, ")");
}

/* ---- measure metadata ------------------------------------------------------ */

/* A measure's entry of the answer: its own label and definition, its
 * indicator's, and (ratio) the items it divides. */
static json_t *s_measure_json(const catalogue_t *cat, const query_t *q, const cat_measure_t *m, bool personal,
                              json_t *rows)
{
    const cat_indicator_t *ind = catalogue_indicator_of(cat, m);
    json_t *o =
        json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:i}", "id", m->id, "indicator", m->indicator,
                  "aggregate", catalogue_aggregate_name(m->aggregate), "perspective",
                  ind ? ind->perspective : "", "sv", m->sv, "en", m->en, "definition_sv", m->definition_sv,
                  "definition_en", m->definition_en, "indicator_sv", ind ? ind->sv : "", "indicator_en",
                  ind ? ind->en : "", "protected", personal && !q->exact, "min_units",
                  personal && !q->exact ? protect_params(q->protect)->min_count : 0);
    if (m->aggregate == AGG_RATIO) {
        json_object_set_new(o, "numerator", json_string(m->numerator_item));
        json_object_set_new(o, "denominator", json_string(m->denominator_item));
    }
    json_object_set_new(o, "rows", rows);
    return o;
}

int query_run(ledger_t *ledger, const catalogue_t *cat, const query_t *q, json_t **out, char *err,
              size_t errlen)
{
    *out = NULL;
    period_kind_t kind;
    uint32_t only = 0;
    uint16_t slice;
    if (!strcmp(q->period, "year"))
        kind = PERIOD_YEAR;
    else if (!strcmp(q->period, "quarter"))
        kind = PERIOD_QUARTER;
    else if (!strcmp(q->period, "month"))
        kind = PERIOD_MONTH;
    else if (cell_period_parse(q->period, &only) == 0)
        kind = cell_period_kind(only);
    else {
        snprintf(err, errlen, "period '%s': use year, quarter, month, 2026, 2026-Q1 or 2026-03", q->period);
        return EX_USAGE;
    }
    if (cell_slice_parse(q->slice, &slice) < 0) {
        char list[CELL_SLICE_LIST_LEN];
        cell_slice_list(list, sizeof list);
        snprintf(err, errlen, "slice '%.40s' is unknown: use one of %s", q->slice, list);
        return EX_USAGE;
    }
    char *end;
    long indicator = q->measure ? strtol(q->measure, &end, 10) : 0;
    bool by_indicator = q->measure && *end == '\0';
    bool known = !q->measure || (!by_indicator && catalogue_measure(cat, q->measure));
    for (int i = 0; by_indicator && !known && i < cat->nindicators; i++)
        known = cat->indicators[i].id == indicator && cat->indicators[i].nmeasures > 0;
    if (!known) {
        char list[QUERY_ERR_LEN - 100];
        query_measure_list(cat, list, sizeof list);
        snprintf(err, errlen, "measure '%.40s' is not in the catalogue: use %s", q->measure, list);
        return EX_USAGE;
    }
    /* One snapshot for every table and distribution of the answer. */
    MDB_txn *txn;
    int trc = store_read(ledger_store(ledger), &txn);
    if (trc) {
        snprintf(err, errlen, "store: %s", store_strerror(trc));
        return EX_IOERR;
    }
    json_t *measures = json_array();
    for (int mi = 0; mi < cat->nmeasures; mi++) {
        const cat_measure_t *m = &cat->measures[mi];
        if (q->measure && (by_indicator ? m->indicator != indicator : strcmp(m->id, q->measure)))
            continue;
        bool organisation = m->instrument[0] && catalogue_instrument(cat, m->instrument) &&
                            catalogue_instrument(cat, m->instrument)->kind == INSTR_ORGANISATION;
        bool personal = !organisation;
        s_table_t t = {0};
        s_parts_t parts;
        /* The whole table, every period kind (of the one year asked for,
         * if one period is): suppression is decided over all of it, the
         * same way for every query, before the asked rows are printed. */
        int rc = s_load(ledger, txn, cat, m, only ? cell_period_year(only) : 0, q->exact, &t);
        /* One period: its year-earlier row (and the previous period of a
         * first quarter or month) is in the year before, loaded and
         * suppressed as a query of that year would (no constraint crosses
         * a year, so a table of one year decides as the whole one). */
        s_table_t before = {0};
        if (rc == 0 && only)
            rc = s_load(ledger, txn, cat, m, cell_period_year(only) - 1, q->exact, &before);
        if (rc == 0)
            rc = s_parts_init(&parts, txn, ledger, q->exact, m, &t);
        if (rc) {
            free(t.rows);
            free(before.rows);
            json_decref(measures);
            store_read_end(ledger_store(ledger), txn);
            snprintf(err, errlen, "store: %s", store_strerror(rc));
            return EX_IOERR;
        }
        s_suppress(&t, personal && !q->exact ? q->protect : NULL, m);
        if (only)
            s_suppress(&before, personal && !q->exact ? q->protect : NULL, m);
        json_t *rows = json_array();
        for (size_t i = 0; i < t.n; i++) {
            const s_row_t *r = &t.rows[i];
            if (r->absent || r->slice != slice || cell_period_kind(r->period) != kind ||
                (only && r->period != only))
                continue;
            if (q->forbund && r->level == LEVEL_FORBUND && strcmp(r->name, q->forbund))
                continue;
            if (q->forbund && r->level == LEVEL_LAN && strcmp(r->name, catalogue_lan(cat, q->forbund)))
                continue;
            s_peers_t peers = s_peers(&t, only ? &before : NULL, r);
            json_array_append_new(rows, s_row_json(q, m, personal, &parts, r, &peers));
        }
        s_parts_free(&parts);
        free(t.rows);
        free(before.rows);
        json_array_append_new(measures, s_measure_json(cat, q, m, personal, rows));
    }
    store_read_end(ledger_store(ledger), txn);
    const protect_params_t *pp = protect_params(q->protect);
    *out = json_pack("{s:s,s:i,s:s,s:s,s:i,s:o}", "view", q->exact ? "exact" : "protected", "min_units",
                     pp->min_count, "period", q->period, "slice", q->slice, "catalogue_version",
                     (int) cat->version, "measures", measures);
    uint64_t pub_seq = 0;
    int64_t pub_ms = 0;
    if (!q->exact && publish_last(ledger, &pub_seq, &pub_ms, NULL) == 0)
        json_object_set_new(
            *out, "published",
            json_pack("{s:I,s:I}", "seq", (json_int_t) pub_seq, "at_ms", (json_int_t) pub_ms));
    if (!q->exact)
        json_object_set_new(*out, "protection",
                            json_pack("{s:s,s:i,s:f}", "method", "cell-key", "max_deviation", pp->max_dev,
                                      "variance", pp->variance));
    return 0;
}

int query_each_published(ledger_t *ledger, const catalogue_t *cat, const protect_t *protect, query_cell_fn fn,
                         void *arg)
{
    static const char *const levels[] = {"forbund", "lan", "nation"};
    query_t q = {.protect = protect};
    MDB_txn *txn;
    int rc = store_read(ledger_store(ledger), &txn);
    if (rc)
        return rc;
    for (int mi = 0; mi < cat->nmeasures && rc == 0; mi++) {
        const cat_measure_t *m = &cat->measures[mi];
        bool organisation = m->instrument[0] && catalogue_instrument(cat, m->instrument) &&
                            catalogue_instrument(cat, m->instrument)->kind == INSTR_ORGANISATION;
        s_table_t t = {0};
        s_parts_t parts;
        rc = s_load(ledger, txn, cat, m, 0, false, &t);
        if (rc == 0)
            rc = s_parts_init(&parts, txn, ledger, false, m, &t);
        if (rc) {
            free(t.rows);
            break;
        }
        s_suppress(&t, organisation ? NULL : protect, m);
        for (size_t i = 0; i < t.n && rc == 0; i++) {
            const s_row_t *r = &t.rows[i];
            if (r->absent)
                continue; /* not published: not a row of the feed either */
            query_cell_t c = {m, levels[r->level], r->name, r->period, r->slice, r->suppressed, {0}, {0}};
            if (!r->suppressed) {
                s_published(&q, m, !organisation, r, &c.published);
                s_row_quantiles(&q, m, !organisation, &parts, r, c.published.n, &c.quantiles);
            }
            rc = fn(&c, arg);
        }
        s_parts_free(&parts);
        free(t.rows);
    }
    store_read_end(ledger_store(ledger), txn);
    return rc;
}

/* The headline value of a row for tables: mean, share or sum. */
static void s_headline(const json_t *row, const char *agg, char *out, size_t len)
{
    static const char *const keys[][2] = {
        {"ordinal", "mean"}, {"share_yes", "share"},         {"share_sustained", "share"},
        {"sum", "sum"},      {"median_days", "median_days"}, {"paired_change", "mean_change"},
        {"ratio", "share"}};
    if (json_is_true(json_object_get(row, "suppressed"))) {
        snprintf(out, len, "suppressed");
        return;
    }
    const json_t *v = NULL;
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (!strcmp(agg, keys[i][0]))
            v = json_object_get(row, keys[i][1]);
    if (!v || json_is_null(v)) {
        snprintf(out, len, "-");
        return;
    }
    bool share = strstr(agg, "share") != NULL || !strcmp(agg, "ratio");
    if (json_is_integer(v))
        snprintf(out, len, "%lld", (long long) json_integer_value(v));
    else
        snprintf(out, len, share ? "%.1f%%" : "%.2f", share ? 100 * json_real_value(v) : json_real_value(v));
}

void query_print_table(const json_t *result, FILE *out)
{
    size_t i, j;
    json_t *m, *row;
    json_array_foreach(json_object_get(result, "measures"), i, m) {
        const char *agg = json_string_value(json_object_get(m, "aggregate"));
        fprintf(out, "\n%s (indicator %lld, %s) — %s\n", json_string_value(json_object_get(m, "id")),
                (long long) json_integer_value(json_object_get(m, "indicator")), agg,
                json_string_value(json_object_get(m, "sv")));
        fprintf(out, "  %-8s %-24s %-8s %12s %8s\n", "LEVEL", "NAME", "PERIOD", "VALUE", "N");
        json_array_foreach(json_object_get(m, "rows"), j, row) {
            char value[32], n[16];
            s_headline(row, agg, value, sizeof value);
            const json_t *rn = json_object_get(row, "n");
            if (rn)
                snprintf(n, sizeof n, "%lld", (long long) json_integer_value(rn));
            else
                snprintf(n, sizeof n, "-");
            /* printf pads bytes; pad names by characters (å, ä, ö are two bytes). */
            const char *name = json_string_value(json_object_get(row, "name"));
            int pad = 24;
            for (const unsigned char *c = (const unsigned char *) name; *c; c++)
                pad -= (*c & 0xc0) != 0x80;
            fprintf(out, "  %-8s %s%*s %-8s %12s %8s\n", json_string_value(json_object_get(row, "level")),
                    name, pad > 0 ? pad : 0, "", json_string_value(json_object_get(row, "period")), value, n);
        }
    }
}
