/* table.c: a measure's cells into rows, and the län and national
 * roll-ups merged from them (see table.h).
 *
 * Cells merge by addition (cell.h), so a roll-up is the sum of its
 * förbund rows; a roll-up is absent (unpublished) only when all its parts
 * are. Cells that exist but have no published state yet are loaded as
 * absent rows, so suppression counts them as unknowns. */
#include "table.h"

#include "util.h"

#include "publish.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int s_row_cmp(const void *a, const void *b)
{
    const table_row_t *x = a, *y = b;
    if (x->level != y->level)
        return x->level - y->level;
    int c = strcmp(x->name, y->name);
    if (c)
        return c;
    if (x->period != y->period)
        return x->period < y->period ? -1 : 1;
    return (int) x->slice - (int) y->slice;
}

table_row_t *table_find(table_t *t, int level, const char *name, uint32_t period, uint16_t slice)
{
    if (t->n == 0)
        return NULL; /* rows is NULL then, and bsearch's pointer must be valid even for 0 */
    table_row_t key = {.level = level, .period = period, .slice = slice};
    snprintf(key.name, sizeof key.name, "%s", name);
    return bsearch(&key, t->rows, t->n, sizeof key, s_row_cmp);
}

static table_row_t *s_push(table_t *t)
{
    if (t->n == t->cap) {
        table_row_t *grown = array_grow(t->rows, &t->cap, sizeof *grown, 256);
        if (!grown)
            return NULL;
        t->rows = grown;
    }
    table_row_t *r = &t->rows[t->n++];
    memset(r, 0, sizeof *r);
    return r;
}

/* A förbund row for a cell key (zero state); NULL when out of memory. */
static table_row_t *s_push_forbund(table_t *t, const catalogue_t *cat, const cell_key_t *ck)
{
    table_row_t *r = s_push(t);
    if (r) {
        r->level = TABLE_FORBUND;
        snprintf(r->name, sizeof r->name, "%s", ck->forbund);
        snprintf(r->lan, sizeof r->lan, "%s", catalogue_lan(cat, ck->forbund));
        r->period = ck->period;
        r->slice = ck->slice;
    }
    return r;
}

/* The measure's cells that exist but are not published yet, as absent
 * rows (see table_row_t); MDB_NOTFOUND at the end, as the cursor walks. */
static int s_load_absent(MDB_txn *txn, MDB_txn *cells, ledger_t *ledger, const catalogue_t *cat,
                         const uint8_t *prefix, int only_year, table_t *t)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(cells, ledger_dbi(ledger, LEDGER_DB_CELLS), &cur);
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
        table_row_t *r = s_push_forbund(t, cat, &ck);
        if (!r) {
            rc = ENOMEM;
            break;
        }
        r->absent = true;
    }
    mdb_cursor_close(cur);
    return rc;
}

int table_load(ledger_t *ledger, MDB_txn *txn, MDB_txn *cells, const catalogue_t *cat, const cat_measure_t *m,
               int only_year, bool exact, table_t *t)
{
    /* Readers see the publication (publish.h); the exact view the cells. */
    MDB_dbi dbi = ledger_dbi(ledger, exact ? LEDGER_DB_CELLS : LEDGER_DB_PUBLISHED);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(exact ? cells : txn, dbi, &cur);
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
        publish_entry_t e;
        if (cell_key_decode(&ck, k.mv_data, k.mv_size) ||
            (exact ? cell_state_decode(&e.cell, v.mv_data, v.mv_size)
                   : publish_entry_decode(v.mv_data, v.mv_size, &e)))
            continue;
        if (only_year && cell_period_year(ck.period) != only_year)
            continue;
        table_row_t *r = s_push_forbund(t, cat, &ck);
        if (!r) {
            rc = ENOMEM;
            break;
        }
        r->cell = e.cell;
        /* An empty published state is a cell waiting for its first
         * publication (publish.c): not shown, an unknown to readers. */
        r->absent = !exact && cell_is_zero(&r->cell);
    }
    mdb_cursor_close(cur);
    if (rc == MDB_NOTFOUND && !exact)
        rc = s_load_absent(txn, cells, ledger, cat, prefix, only_year, t);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    /* Roll-ups: cells merge by addition (cell.h). `units` adds up because
     * a participant belongs to one förbund's pseudonym space. Each förbund
     * row is copied as its län and its nation row; sorting the copies puts
     * equal keys side by side, and they are summed in one pass. */
    size_t nf = t->n;
    table_row_t *up = nf ? malloc(2 * nf * sizeof *up) : NULL;
    if (nf && !up)
        return ENOMEM;
    for (size_t i = 0; i < nf; i++) {
        const table_row_t *src = &t->rows[i];
        table_row_t *lan = &up[2 * i], *nation = &up[2 * i + 1];
        *lan = *src;
        lan->level = TABLE_LAN;
        snprintf(lan->name, sizeof lan->name, "%s", src->lan);
        *nation = *src;
        nation->level = TABLE_NATION;
        snprintf(nation->name, sizeof nation->name, "Riket");
        nation->lan[0] = '\0';
    }
    if (nf > 1)
        qsort(up, 2 * nf, sizeof *up, s_row_cmp);
    for (size_t i = 0; i < 2 * nf; i++) {
        table_row_t *dst = s_push(t);
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

/* Positions cur at the first key with prefix (MDB_SET_RANGE); MDB_NOTFOUND
 * once past the prefix, as at the end. */
static int s_prefix_get(MDB_cursor *cur, const uint8_t *prefix, MDB_val *k, MDB_cursor_op op)
{
    MDB_val v;
    if (op == MDB_SET_RANGE)
        *k = (MDB_val){CELL_MEASURE_LEN, (void *) prefix};
    int rc = mdb_cursor_get(cur, k, &v, op);
    if (rc == 0 && (k->mv_size < CELL_MEASURE_LEN || memcmp(k->mv_data, prefix, CELL_MEASURE_LEN)))
        rc = MDB_NOTFOUND;
    return rc;
}

static int s_key_cmp(const MDB_val *a, const MDB_val *b)
{
    size_t len = a->mv_size < b->mv_size ? a->mv_size : b->mv_size;
    int c = memcmp(a->mv_data, b->mv_data, len);
    return c ? c : (a->mv_size > b->mv_size) - (a->mv_size < b->mv_size);
}

int table_unpublished(ledger_t *ledger, MDB_txn *txn, MDB_txn *cells, uint64_t published_seq,
                      const cat_measure_t *m, uint8_t id[TABLE_UNPUBLISHED_LEN])
{
    memset(id, 0, TABLE_UNPUBLISHED_LEN);
    /* The cells where the publication read them: every cell has its entry. */
    if (ledger_applied(cells, ledger) == published_seq)
        return 0;
    int rc;
    /* Both databases are in cell-key order: one pass over m's part of
     * each, the keys missing from the publication hashed as
     * s_load_absent finds them. */
    uint8_t prefix[CELL_MEASURE_LEN] = {0};
    memcpy(prefix, m->id, strlen(m->id));
    MDB_cursor *cc = NULL, *pc = NULL;
    if ((rc = mdb_cursor_open(cells, ledger_dbi(ledger, LEDGER_DB_CELLS), &cc)) ||
        (rc = mdb_cursor_open(txn, ledger_dbi(ledger, LEDGER_DB_PUBLISHED), &pc))) {
        if (cc)
            mdb_cursor_close(cc);
        return rc;
    }
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, TABLE_UNPUBLISHED_LEN);
    uint64_t n = 0;
    MDB_val ck, pk;
    int crc = s_prefix_get(cc, prefix, &ck, MDB_SET_RANGE),
        prc = s_prefix_get(pc, prefix, &pk, MDB_SET_RANGE);
    for (; crc == 0; crc = s_prefix_get(cc, prefix, &ck, MDB_NEXT)) {
        int cmp = 1;
        while (prc == 0 && (cmp = s_key_cmp(&pk, &ck)) < 0)
            prc = s_prefix_get(pc, prefix, &pk, MDB_NEXT);
        if (prc == 0 && cmp == 0)
            continue; /* published, or waiting with its placeholder */
        crypto_generichash_update(&st, ck.mv_data, ck.mv_size);
        n++;
    }
    mdb_cursor_close(pc);
    mdb_cursor_close(cc);
    if (crc != MDB_NOTFOUND)
        return crc;
    if (prc != 0 && prc != MDB_NOTFOUND)
        return prc;
    if (n == 0)
        return 0;
    uint8_t count[8];
    be64_put(count, n);
    crypto_generichash_update(&st, count, sizeof count);
    return crypto_generichash_final(&st, id, TABLE_UNPUBLISHED_LEN) == 0 ? 0 : EIO;
}

void table_free(table_t *t)
{
    free(t->rows);
    *t = (table_t){0};
}

bool table_share_ok(const cell_values_t *cv)
{
    return cv->n >= 10 || (cv->share > 0 && cv->share < 1);
}

bool table_withholds(const cat_measure_t *m, const cell_t *published)
{
    cell_values_t cv;
    cell_values(m, published, 0, &cv);
    return cv.n > 0 && !m->organisation && cat_measure_has_share(m) && !table_share_ok(&cv);
}
