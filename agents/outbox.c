/* outbox.c: the agent's durable queue (see outbox.h for the databases).
 *
 * The design decision: one write transaction per import and per ack. An
 * import is all or nothing because store_write commits its whole body or
 * nothing; an ack moves events out of "queue" only inside the transaction
 * that records why, so a crash between "ack received" and "deleted" just
 * means the events are sent again and the collector acks them again as
 * duplicates.
 *
 * Sequence numbers start at 1 and only grow, so "queue" is appended with
 * MDB_APPEND and read in order with one cursor. This file does not decide
 * what an event contains; it only asks "seen this id / this natural key?". */
#include "outbox.h"

#include "codec.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { DB_QUEUE, DB_IDS, DB_NATURAL, DB_REJECTED, DB_META, DB_COUNT };

static const store_db_t s_dbs[DB_COUNT] = {
    {"queue", 0}, {"ids", 0}, {"natural", 0}, {"rejected", 0}, {"meta", 0},
};

/* Returned by the put body to abort a dry run; outside errno and MDB ranges. */
#define S_DRY_RUN 0x0D0D0D
/* Returned when an item cannot be re-encoded with supersedes. */
#define S_ENCODE_FAILED 0x0E0E0E

struct outbox_t {
    store_t *store;
};

int outbox_open(outbox_t **out, const char *dir)
{
    *out = NULL;
    outbox_t *self = calloc(1, sizeof *self);
    if (!self)
        return ENOMEM;
    int rc = store_open(&self->store, dir, s_dbs, DB_COUNT, 0);
    if (rc) {
        free(self);
        return rc;
    }
    *out = self;
    return 0;
}

void outbox_close(outbox_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_close(&(*self_p)->store);
    free(*self_p);
    *self_p = NULL;
}

const char *outbox_strerror(int rc)
{
    if (rc == S_ENCODE_FAILED)
        return "cannot re-encode an event as a correction";
    return store_strerror(rc);
}

static int s_meta_get(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t dflt, uint64_t *value)
{
    MDB_val k = {strlen(name), (void *) name}, v;
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND) {
        *value = dflt;
        return 0;
    }
    if (rc)
        return rc;
    if (v.mv_size != 8)
        return MDB_CORRUPTED;
    *value = be64_get(v.mv_data);
    return 0;
}

static int s_meta_put(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t value)
{
    uint8_t buf[8];
    be64_put(buf, value);
    MDB_val k = {strlen(name), (void *) name}, v = {8, buf};
    return mdb_put(txn, dbi, &k, &v, 0);
}

/* ---- put --------------------------------------------------------------- */

typedef struct {
    outbox_t *self;
    outbox_item_t *items;
    size_t n;
    bool dry_run;
    outbox_put_stats_t stats;
} s_put_ctx_t;

/* Encodes item bytes with supersedes set; caller frees *out. */
static int s_with_supersedes(const outbox_item_t *it, const uint8_t *old_id, uint8_t **out, size_t *len)
{
    event_msg_t *ev = NULL;
    char why[128];
    if (codec_decode_event(it->bytes, it->len, &ev, why, sizeof why) != FINSAM__V1__REJECT_CODE__REJECT_NONE)
        return S_ENCODE_FAILED;
    uint8_t id_copy[OUTBOX_ID_LEN];
    memcpy(id_copy, old_id, OUTBOX_ID_LEN);
    ev->has_supersedes = 1;
    ev->supersedes.len = OUTBOX_ID_LEN;
    ev->supersedes.data = id_copy;
    *out = codec_pack(&ev->base, len);
    /* The decoded message must not free our stack copy. */
    ev->has_supersedes = 0;
    ev->supersedes.data = NULL;
    ev->supersedes.len = 0;
    codec_free_event(&ev);
    return *out ? 0 : ENOMEM;
}

/* One item inside the put transaction. */
static int s_put_one(MDB_txn *txn, const store_t *st, outbox_item_t *it, uint64_t *next_seq)
{
    MDB_val k = {OUTBOX_ID_LEN, it->id}, v;
    int rc = mdb_get(txn, store_dbi(st, DB_IDS), &k, &v);
    if (rc == 0) {
        it->result = OUTBOX_ALREADY;
        return 0;
    }
    if (rc != MDB_NOTFOUND)
        return rc;

    uint8_t old_id[OUTBOX_ID_LEN];
    bool correction = false;
    MDB_val nk = {OUTBOX_HASH_LEN, it->natural};
    if (it->has_natural) {
        rc = mdb_get(txn, store_dbi(st, DB_NATURAL), &nk, &v);
        if (rc == 0) {
            if (v.mv_size != OUTBOX_ID_LEN + OUTBOX_HASH_LEN)
                return MDB_CORRUPTED;
            if (memcmp((uint8_t *) v.mv_data + OUTBOX_ID_LEN, it->content, OUTBOX_HASH_LEN) == 0) {
                it->result = OUTBOX_ALREADY;
                return 0;
            }
            memcpy(old_id, v.mv_data, OUTBOX_ID_LEN);
            correction = true;
        } else if (rc != MDB_NOTFOUND) {
            return rc;
        }
    }

    uint8_t *bytes = (uint8_t *) it->bytes, *owned = NULL;
    size_t len = it->len;
    if (correction) {
        if ((rc = s_with_supersedes(it, old_id, &owned, &len)))
            return rc;
        bytes = owned;
    }
    uint8_t seqkey[8];
    be64_put(seqkey, *next_seq);
    MDB_val sk = {8, seqkey}, ev = {len, bytes};
    rc = mdb_put(txn, store_dbi(st, DB_QUEUE), &sk, &ev, MDB_APPEND);
    free(owned);
    if (rc)
        return rc;
    MDB_val seqval = {8, seqkey};
    if ((rc = mdb_put(txn, store_dbi(st, DB_IDS), &k, &seqval, 0)))
        return rc;
    if (it->has_natural) {
        uint8_t nv[OUTBOX_ID_LEN + OUTBOX_HASH_LEN];
        memcpy(nv, it->id, OUTBOX_ID_LEN);
        memcpy(nv + OUTBOX_ID_LEN, it->content, OUTBOX_HASH_LEN);
        MDB_val nval = {sizeof nv, nv};
        if ((rc = mdb_put(txn, store_dbi(st, DB_NATURAL), &nk, &nval, 0)))
            return rc;
    }
    (*next_seq)++;
    it->result = correction ? OUTBOX_CORRECTION : OUTBOX_NEW;
    return 0;
}

static int s_put_body(MDB_txn *txn, void *arg)
{
    s_put_ctx_t *ctx = arg;
    const store_t *st = ctx->self->store;
    MDB_dbi meta = store_dbi(st, DB_META);
    memset(&ctx->stats, 0, sizeof ctx->stats); /* the body may run again after a map resize */
    uint64_t next_seq;
    int rc = s_meta_get(txn, meta, "next_seq", 1, &next_seq);
    if (rc)
        return rc;
    for (size_t i = 0; i < ctx->n; i++) {
        if ((rc = s_put_one(txn, st, &ctx->items[i], &next_seq)))
            return rc;
        switch (ctx->items[i].result) {
        case OUTBOX_NEW: ctx->stats.added++; break;
        case OUTBOX_CORRECTION:
            ctx->stats.added++;
            ctx->stats.corrected++;
            break;
        case OUTBOX_ALREADY: ctx->stats.already++; break;
        }
    }
    if ((rc = s_meta_put(txn, meta, "next_seq", next_seq)))
        return rc;
    return ctx->dry_run ? S_DRY_RUN : 0;
}

int outbox_put(outbox_t *self, outbox_item_t *items, size_t n, bool dry_run, outbox_put_stats_t *stats)
{
    s_put_ctx_t ctx = {self, items, n, dry_run, {0, 0, 0}};
    int rc = store_write(self->store, s_put_body, &ctx);
    if (rc == S_DRY_RUN)
        rc = 0;
    if (stats)
        *stats = rc == 0 ? ctx.stats : (outbox_put_stats_t){0, 0, 0};
    return rc;
}

/* ---- peek -------------------------------------------------------------- */

int outbox_peek(outbox_t *self, uint64_t from_seq, size_t max, outbox_peek_fn fn, void *arg)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    if (store_read(self->store, &txn))
        return -1;
    int count = -1;
    if (mdb_cursor_open(txn, store_dbi(self->store, DB_QUEUE), &cur))
        goto abort_txn;
    uint8_t seqkey[8];
    be64_put(seqkey, from_seq);
    MDB_val k = {8, seqkey}, v;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    count = 0;
    while (rc == 0 && (size_t) count < max) {
        if (k.mv_size != 8) {
            count = -1;
            break;
        }
        count++;
        if (fn(be64_get(k.mv_data), v.mv_data, v.mv_size, arg))
            break;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc && rc != MDB_NOTFOUND)
        count = -1;
    mdb_cursor_close(cur);
abort_txn:
    store_read_end(self->store, txn);
    return count;
}

/* ---- ack --------------------------------------------------------------- */

typedef struct {
    outbox_t *self;
    const uint8_t *const *accepted;
    size_t naccepted;
    const outbox_rejection_t *rejected;
    size_t nrejected;
    size_t removed;
} s_ack_ctx_t;

/* Finds the queued event with this id; 0 with *seqval set, MDB_NOTFOUND if
 * it is not (or no longer) queued. */
static int s_find_queued(MDB_txn *txn, const store_t *st, const uint8_t *id, MDB_val *seqkey, MDB_val *ev)
{
    MDB_val k = {OUTBOX_ID_LEN, (void *) id};
    int rc = mdb_get(txn, store_dbi(st, DB_IDS), &k, seqkey);
    if (rc)
        return rc;
    return mdb_get(txn, store_dbi(st, DB_QUEUE), seqkey, ev);
}

static int s_ack_body(MDB_txn *txn, void *arg)
{
    s_ack_ctx_t *ctx = arg;
    const store_t *st = ctx->self->store;
    MDB_dbi queue = store_dbi(st, DB_QUEUE);
    MDB_val sk, ev;
    int rc;
    ctx->removed = 0;
    for (size_t i = 0; i < ctx->naccepted; i++) {
        rc = s_find_queued(txn, st, ctx->accepted[i], &sk, &ev);
        if (rc == MDB_NOTFOUND)
            continue;
        if (rc || (rc = mdb_del(txn, queue, &sk, NULL)))
            return rc;
        ctx->removed++;
    }
    for (size_t i = 0; i < ctx->nrejected; i++) {
        const outbox_rejection_t *r = &ctx->rejected[i];
        rc = s_find_queued(txn, st, r->id, &sk, &ev);
        if (rc == MDB_NOTFOUND)
            continue;
        if (rc)
            return rc;
        size_t tlen = r->text ? strlen(r->text) : 0;
        if (tlen > 1024)
            tlen = 1024;
        MDB_val rk = {OUTBOX_ID_LEN, (void *) r->id};
        MDB_val rv = {4 + 2 + tlen + ev.mv_size, NULL};
        /* MDB_RESERVE: write the value in place, no temporary buffer. */
        if ((rc = mdb_put(txn, store_dbi(st, DB_REJECTED), &rk, &rv, MDB_RESERVE)))
            return rc;
        uint8_t *p = rv.mv_data;
        be32_put(p, (uint32_t) r->code);
        p[4] = (uint8_t) (tlen >> 8);
        p[5] = (uint8_t) tlen;
        if (tlen)
            memcpy(p + 6, r->text, tlen);
        memcpy(p + 6 + tlen, ev.mv_data, ev.mv_size);
        if ((rc = mdb_del(txn, queue, &sk, NULL)))
            return rc;
        ctx->removed++;
    }
    return 0;
}

int outbox_ack(outbox_t *self, const uint8_t *const *accepted, size_t naccepted,
               const outbox_rejection_t *rejected, size_t nrejected, size_t *removed)
{
    s_ack_ctx_t ctx = {self, accepted, naccepted, rejected, nrejected, 0};
    int rc = store_write(self->store, s_ack_body, &ctx);
    if (removed)
        *removed = rc == 0 ? ctx.removed : 0;
    return rc;
}

/* ---- meta and counts --------------------------------------------------- */

typedef struct {
    outbox_t *self;
    uint64_t n, first;
} s_reserve_ctx_t;

static int s_reserve_body(MDB_txn *txn, void *arg)
{
    s_reserve_ctx_t *ctx = arg;
    MDB_dbi meta = store_dbi(ctx->self->store, DB_META);
    int rc = s_meta_get(txn, meta, "next_batch", 1, &ctx->first);
    if (rc)
        return rc;
    return s_meta_put(txn, meta, "next_batch", ctx->first + ctx->n);
}

int outbox_reserve_batches(outbox_t *self, uint64_t n, uint64_t *first)
{
    s_reserve_ctx_t ctx = {self, n, 0};
    int rc = store_write(self->store, s_reserve_body, &ctx);
    *first = ctx.first;
    return rc;
}

int outbox_count(outbox_t *self, size_t *queued, size_t *rejected, size_t *known)
{
    MDB_txn *txn;
    MDB_stat st;
    int rc = store_read(self->store, &txn);
    if (rc)
        return rc;
    size_t *out[3] = {queued, rejected, known};
    int db[3] = {DB_QUEUE, DB_REJECTED, DB_IDS};
    for (int i = 0; i < 3 && rc == 0; i++) {
        if (!out[i])
            continue;
        rc = mdb_stat(txn, store_dbi(self->store, db[i]), &st);
        *out[i] = rc ? 0 : st.ms_entries;
    }
    store_read_end(self->store, txn);
    return rc;
}

int outbox_each_rejected(outbox_t *self, outbox_rejected_fn fn, void *arg)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = store_read(self->store, &txn);
    if (rc)
        return rc;
    if ((rc = mdb_cursor_open(txn, store_dbi(self->store, DB_REJECTED), &cur)))
        goto abort_txn;
    MDB_val k, v;
    while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
        const uint8_t *p = v.mv_data;
        if (k.mv_size != OUTBOX_ID_LEN || v.mv_size < 6)
            continue;
        size_t tlen = (size_t) p[4] << 8 | p[5];
        if (6 + tlen > v.mv_size)
            continue;
        char text[1025];
        memcpy(text, p + 6, tlen);
        text[tlen] = '\0';
        fn(k.mv_data, (int) be32_get(p), text, arg);
    }
    if (rc == MDB_NOTFOUND)
        rc = 0;
    mdb_cursor_close(cur);
abort_txn:
    store_read_end(self->store, txn);
    return rc;
}
