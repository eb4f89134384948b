/* diststore.c: per-cell distributions in LMDB (see diststore.h for the
 * layout). The transaction's changes are a cellmap (cellmap.h) keyed by
 * the 50-byte entry key; the stored counts are read-modify-written once
 * each at flush. */
#include "diststore.h"

#include "cellmap.h"
#include "util.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct diststore_t {
    cellmap_t *changes; /* entry key -> int64_t delta */
};

diststore_t *diststore_new(void)
{
    diststore_t *self = calloc(1, sizeof *self);
    if (self && !(self->changes = cellmap_new(DISTSTORE_KEY_LEN, sizeof(int64_t))))
        diststore_destroy(&self);
    return self;
}

void diststore_destroy(diststore_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    cellmap_destroy(&(*self_p)->changes);
    free(*self_p);
    *self_p = NULL;
}

void diststore_begin(diststore_t *self)
{
    cellmap_clear(self->changes);
}

int diststore_add(diststore_t *self, const uint8_t key[CELL_KEY_LEN], uint32_t value, int sign)
{
    uint8_t k[DISTSTORE_KEY_LEN];
    memcpy(k, key, CELL_KEY_LEN);
    be32_put(k + CELL_KEY_LEN, value);
    int64_t *delta = cellmap_get(self->changes, k);
    if (!delta)
        return ENOMEM;
    *delta += sign;
    return 0;
}

int diststore_flush(diststore_t *self, MDB_txn *txn, MDB_dbi dbi)
{
    for (size_t i = 0; i < cellmap_size(self->changes); i++) {
        int64_t delta = *(const int64_t *) cellmap_value(self->changes, i);
        if (delta == 0)
            continue;
        MDB_val k = {DISTSTORE_KEY_LEN, (void *) cellmap_key(self->changes, i)}, v;
        int64_t count = 0;
        int rc = mdb_get(txn, dbi, &k, &v);
        if (rc == 0 && v.mv_size == 8)
            count = (int64_t) be64_get(v.mv_data);
        else if (rc == 0)
            return MDB_CORRUPTED;
        else if (rc != MDB_NOTFOUND)
            return rc;
        count += delta;
        if (count < 0)
            return MDB_CORRUPTED;
        if (count == 0) {
            rc = mdb_del(txn, dbi, &k, NULL);
        } else {
            uint8_t b[8];
            be64_put(b, (uint64_t) count);
            v = (MDB_val){sizeof b, b};
            rc = mdb_put(txn, dbi, &k, &v, 0);
        }
        if (rc)
            return rc;
    }
    diststore_begin(self);
    return 0;
}

/* Positions cur on the first entry of cell `key`; MDB_NOTFOUND if none. */
static int s_first(MDB_cursor *cur, const uint8_t key[CELL_KEY_LEN], MDB_val *k, MDB_val *v)
{
    uint8_t start[DISTSTORE_KEY_LEN] = {0};
    memcpy(start, key, CELL_KEY_LEN);
    *k = (MDB_val){sizeof start, start};
    int rc = mdb_cursor_get(cur, k, v, MDB_SET_RANGE);
    if (rc == 0 && (k->mv_size != DISTSTORE_KEY_LEN || memcmp(k->mv_data, key, CELL_KEY_LEN)))
        rc = MDB_NOTFOUND;
    return rc;
}

static bool s_same_cell(const MDB_val *k, const uint8_t key[CELL_KEY_LEN])
{
    return k->mv_size == DISTSTORE_KEY_LEN && !memcmp(k->mv_data, key, CELL_KEY_LEN);
}

int diststore_load(MDB_txn *txn, MDB_dbi dbi, const uint8_t key[CELL_KEY_LEN], dist_t *into)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc)
        return rc;
    MDB_val k, v;
    for (rc = s_first(cur, key, &k, &v); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (!s_same_cell(&k, key))
            break;
        if (v.mv_size != 8) {
            rc = MDB_CORRUPTED;
            break;
        }
        uint32_t value = be32_get((const uint8_t *) k.mv_data + CELL_KEY_LEN);
        if (dist_add(into, value, (int64_t) be64_get(v.mv_data)) < 0) {
            rc = ENOMEM;
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int diststore_drop(MDB_txn *txn, MDB_dbi dbi, const uint8_t key[CELL_KEY_LEN])
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc)
        return rc;
    MDB_val k, v;
    /* Sought again after each delete: where a deleting cursor stands
     * differs between LMDB versions at the end of a database. */
    while ((rc = s_first(cur, key, &k, &v)) == 0)
        if ((rc = mdb_cursor_del(cur, 0)))
            break;
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int diststore_load_live(MDB_txn *txn, MDB_dbi dists, const uint8_t key[CELL_KEY_LEN], dist_t *into)
{
    cell_key_t ck;
    if (cell_key_decode(&ck, key, CELL_KEY_LEN))
        return MDB_CORRUPTED;
    int year = cell_period_year(ck.period), first = 1, last = 12;
    switch (cell_period_kind(ck.period)) {
    case PERIOD_MONTH: return diststore_load(txn, dists, key, into);
    case PERIOD_QUARTER: /* value year * 10 + quarter */
        last = 3 * (int) ((ck.period & 0x0fffffff) % 10);
        first = last - 2;
        break;
    case PERIOD_YEAR: break;
    default: return MDB_CORRUPTED;
    }
    uint8_t month[CELL_KEY_LEN];
    memcpy(month, key, CELL_KEY_LEN);
    for (int m = first; m <= last; m++) {
        be32_put(month + CELL_MEASURE_LEN + CELL_FORBUND_LEN, cell_period(PERIOD_MONTH, year, m));
        int rc = diststore_load(txn, dists, month, into);
        if (rc)
            return rc;
    }
    return 0;
}

int diststore_publish(MDB_txn *cells, MDB_dbi dists, MDB_txn *txn, MDB_dbi pub,
                      const uint8_t key[CELL_KEY_LEN])
{
    dist_t d = DIST_INIT;
    int rc = diststore_drop(txn, pub, key);
    if (rc == 0)
        rc = diststore_load_live(cells, dists, key, &d);
    uint8_t k[DISTSTORE_KEY_LEN], b[8];
    memcpy(k, key, CELL_KEY_LEN);
    for (size_t i = 0; rc == 0 && i < d.n; i++) {
        be32_put(k + CELL_KEY_LEN, (uint32_t) d.bins[i].value);
        be64_put(b, (uint64_t) d.bins[i].count);
        MDB_val kv = {sizeof k, k}, vv = {sizeof b, b};
        rc = mdb_put(txn, pub, &kv, &vv, 0);
    }
    dist_free(&d);
    return rc;
}
