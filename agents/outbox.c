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
 * what an event contains; it only asks "seen this id / this natural key?".
 *
 * Scrubbing (outbox.h): every write goes through s_write, which first
 * compares meta "scrubs" with the count this process last wrote with and,
 * when another process scrubbed meanwhile, reopens the environment before
 * writing: LMDB would otherwise write old bytes from its page buffers into
 * the unused middle of new pages (store.h, store_reopen). A scrub is
 * store_scrub_wipe (store/scrub.h): it zeroes all free space of data.mdb,
 * so it needs no copy of what left, and it also reaches the cut-off
 * fragments LMDB leaves when it moves nodes within a page, which a search
 * for exact copies cannot find (the queue deletes at its front all the
 * time, so it makes many).
 *
 * Why one file of ~1000 lines: put, ack, erase, withdraw and the scrub share one
 * private protocol (s_write's reopen check, meta "scrubs", the counters of
 * what is unscrubbed since which transaction). Split, that protocol would
 * have to be exported to a second file that could then write around it;
 * whole, every write path visibly goes through s_write. */
#include "outbox.h"

#include "codec.h"
#include "log.h"
#include "store.h"
#include "util.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    DB_QUEUE,
    DB_IDS,
    DB_NATURAL,
    DB_REJECTED,
    DB_META,
    DB_WINDOW,
    DB_IMPORTS,
    DB_WITHDRAWN,
    DB_UNKEYED,
    DB_COUNT
};

static const store_db_t s_dbs[DB_COUNT] = {
    {"queue", 0},  {"ids", 0},     {"natural", 0},   {"rejected", 0}, {"meta", 0},
    {"window", 0}, {"imports", 0}, {"withdrawn", 0}, {"unkeyed", 0},
};
#define S_WINDOW_VAL (4 + OUTBOX_ID_LEN + OUTBOX_HASH_LEN)

/* Returned by the put body to abort a dry run; outside errno and MDB ranges. */
#define S_DRY_RUN 0x0D0D0D
/* Returned when an item cannot be re-encoded with supersedes. */
#define S_ENCODE_FAILED 0x0E0E0E
/* Another process scrubbed since this one last wrote: reopen first. */
#define S_REOPEN 0x0F0F0F
/* outbox_erase: nothing to store (unknown target, or done before). */
#define S_NOTHING 0x0F0F10
/* outbox_erase: the caller's check refused the target (its code and
 * reason are in the erase context). */
#define S_REFUSED 0x0F0F11
/* outbox_put: the queue would grow beyond the quota (outbox_set_quota). */
#define S_QUOTA 0x0F0F12

/* How long outbox_close's scrub waits for readers. */
#define S_SCRUB_CLOSE_WAIT_MS 2000

struct outbox_t {
    store_t *store;
    /* Events that left the queue since the last scrub, and the last
     * transaction that removed one. */
    uint64_t unscrubbed;
    uint64_t scrub_txnid;
    int64_t scrubbed_ms;  /* last scrub (or open), monotonic */
    uint64_t scrubs_seen; /* meta "scrubs" as this process last wrote with */
    uint64_t quota;       /* bytes the queue may take; 0: no limit */
};

static int s_meta_get(MDB_txn *txn, MDB_dbi dbi, const char *name, uint64_t dflt, uint64_t *value);

/* The public face of an internal code (an LMDB or errno code, or one of
 * the S_ codes above): its fin_err_t, with the reason in err. */
static fin_err_t s_fin(int rc, char *err, size_t errlen)
{
    if (rc == 0)
        return FIN_OK;
    if (rc == S_ENCODE_FAILED)
        return fin_fail(err, errlen, FIN_EINTERNAL, "cannot re-encode an event as a correction");
    if (rc == S_QUOTA)
        return fin_fail(err, errlen, FIN_EFULL, "quota");
    return fin_fail(err, errlen, fin_from_mdb(rc), "%s", store_strerror(rc));
}

fin_err_t outbox_open(outbox_t **out, const char *dir, char *err, size_t errlen)
{
    *out = NULL;
    outbox_t *self = calloc(1, sizeof *self);
    if (!self)
        return fin_fail(err, errlen, FIN_ENOMEM, "%s: %s", dir, strerror(ENOMEM));
    int rc = store_open(&self->store, dir, s_dbs, DB_COUNT, 0);
    if (rc)
        goto free_self;
    /* A fresh environment holds no old page buffers: start from the
     * current count. */
    MDB_txn *txn;
    if ((rc = store_read(self->store, &txn)))
        goto close_store;
    rc = s_meta_get(txn, store_dbi(self->store, DB_META), "scrubs", 0, &self->scrubs_seen);
    store_read_end(self->store, txn);
    if (rc)
        goto close_store;
    self->scrubbed_ms = clock_mono_ms();
    *out = self;
    return FIN_OK;
close_store:
    store_close(&self->store);
free_self:
    free(self);
    return fin_fail(err, errlen, fin_from_mdb(rc), "%s: %s", dir, store_strerror(rc));
}

static void s_scrub_logged(outbox_t *self, int wait_ms, const char *reason);

void outbox_close(outbox_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    outbox_t *self = *self_p;
    if (self->unscrubbed)
        s_scrub_logged(self, S_SCRUB_CLOSE_WAIT_MS, "close");
    store_close(&self->store);
    free(self);
    *self_p = NULL;
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

/* ---- every write ------------------------------------------------------- */

typedef struct {
    outbox_t *self;
    store_write_fn fn;
    void *ctx;
    uint64_t scrubs; /* meta "scrubs" as this transaction found it */
} s_write_ctx_t;

static int s_write_body(MDB_txn *txn, void *arg)
{
    s_write_ctx_t *w = arg;
    int rc = s_meta_get(txn, store_dbi(w->self->store, DB_META), "scrubs", 0, &w->scrubs);
    if (rc)
        return rc;
    /* Nothing is dirty yet, so aborting to reopen loses nothing. */
    if (w->scrubs != w->self->scrubs_seen)
        return S_REOPEN;
    return w->fn(txn, w->ctx);
}

/* store_write, after reopening when another process scrubbed since this
 * one last wrote. */
static int s_write(outbox_t *self, store_write_fn fn, void *ctx)
{
    s_write_ctx_t w = {self, fn, ctx, 0};
    int rc;
    while ((rc = store_write(self->store, s_write_body, &w)) == S_REOPEN) {
        if ((rc = store_reopen(self->store)))
            return rc;
        log_info("outbox", "OUTBOX-REOPENED reason=scrub scrubs=%llu", (unsigned long long) w.scrubs);
        self->scrubs_seen = w.scrubs;
    }
    return rc;
}

/* ---- put --------------------------------------------------------------- */

typedef struct {
    outbox_t *self;
    outbox_item_t *items;
    size_t n;
    bool dry_run;
    outbox_put_stats_t stats;
    uint64_t queue_bytes; /* the queue's pages after the put */
} s_put_ctx_t;

/* Encodes item bytes with supersedes set and the item's id (which a
 * change back may have given it, s_rechain); caller frees *out. */
static int s_with_supersedes(const outbox_item_t *it, const uint8_t *old_id, uint8_t **out, size_t *len)
{
    event_msg_t *ev = NULL;
    char why[128];
    if (codec_decode_event(it->bytes, it->len, &ev, why, sizeof why) != FINSAM__V1__REJECT_CODE__REJECT_NONE)
        return S_ENCODE_FAILED;
    uint8_t id_copy[OUTBOX_ID_LEN], own_id[OUTBOX_ID_LEN];
    memcpy(id_copy, old_id, OUTBOX_ID_LEN);
    memcpy(own_id, it->id, OUTBOX_ID_LEN);
    ProtobufCBinaryData decoded_id = ev->id;
    ev->id = (ProtobufCBinaryData){OUTBOX_ID_LEN, own_id};
    ev->has_supersedes = 1;
    ev->supersedes.len = OUTBOX_ID_LEN;
    ev->supersedes.data = id_copy;
    *out = codec_pack(&ev->base, len);
    /* The decoded message must not free our stack copies. */
    ev->id = decoded_id;
    ev->has_supersedes = 0;
    ev->supersedes.data = NULL;
    ev->supersedes.len = 0;
    codec_free_event(&ev);
    return *out ? 0 : ENOMEM;
}

/* A row changed back to content it had before (A, then B, then A again):
 * its id is A's, which the collector already holds and has seen
 * superseded, so the correction needs an id of its own. The month prefix
 * stays; the rest is a BLAKE2b of the content's id and the id it
 * supersedes, so the same change back always gets the same id. */
static void s_rechain(uint8_t id[OUTBOX_ID_LEN], const uint8_t current[OUTBOX_ID_LEN])
{
    uint8_t in[9 + 2 * OUTBOX_ID_LEN], out[32];
    memcpy(in, "rechain", 8);
    in[8] = 0;
    memcpy(in + 9, id, OUTBOX_ID_LEN);
    memcpy(in + 9 + OUTBOX_ID_LEN, current, OUTBOX_ID_LEN);
    crypto_generichash(out, sizeof out, in, sizeof in, NULL, 0);
    memcpy(id + 4, out, OUTBOX_ID_LEN - 4);
}

/* ---- one transaction's writes to the key databases ------------------------
 *
 * An item's entries in "ids", "natural" and "window" are not put when the
 * item is queued but gathered here and written at the end of the
 * transaction (s_batch_flush): the keys that sort after every key already
 * in a database go in ascending order with MDB_APPEND, which leaves full
 * pages behind (random-order puts leave B-tree pages about 70 % full, and
 * sorted puts without MDB_APPEND half full); the others in the items' own
 * order, as before. What a later item of the same transaction asks about
 * an earlier one is answered by the tables below first, then by the
 * databases, so the outcome of each item is what it was with a put per
 * item. */

/* An open-addressing table of item indices (+ 1; 0: empty) keyed by an
 * item's id, natural key or day-free key (keyed hashes: their bytes are
 * uniform, so 8 of them are the hash). */
typedef struct {
    uint32_t *slot;
    size_t mask;
} s_table_t;

typedef struct {
    outbox_item_t *items;
    size_t n;
    uint64_t *seq; /* each queued item's seq */
    s_table_t ids, natural, window;
} s_batch_t;

enum { S_KEY_ID, S_KEY_NATURAL, S_KEY_WINDOW };

static const uint8_t *s_key_of(const outbox_item_t *it, int which)
{
    return which == S_KEY_ID ? it->id : which == S_KEY_NATURAL ? it->natural : it->window;
}

static size_t s_key_len(int which)
{
    return which == S_KEY_ID ? OUTBOX_ID_LEN : OUTBOX_HASH_LEN;
}

static int s_batch_init(s_batch_t *b, outbox_item_t *items, size_t n)
{
    memset(b, 0, sizeof *b);
    b->items = items;
    b->n = n;
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    b->seq = malloc((n ? n : 1) * sizeof *b->seq);
    b->ids.slot = calloc(cap, sizeof *b->ids.slot);
    b->natural.slot = calloc(cap, sizeof *b->natural.slot);
    b->window.slot = calloc(cap, sizeof *b->window.slot);
    b->ids.mask = b->natural.mask = b->window.mask = cap - 1;
    return b->seq && b->ids.slot && b->natural.slot && b->window.slot ? 0 : ENOMEM;
}

static void s_batch_free(s_batch_t *b)
{
    free(b->seq);
    free(b->ids.slot);
    free(b->natural.slot);
    free(b->window.slot);
}

/* The slot of key in t: the one holding it, or the empty one where it goes. */
static uint32_t *s_table_slot(const s_batch_t *b, const s_table_t *t, int which, const uint8_t *key)
{
    uint64_t h;
    memcpy(&h, key + (which == S_KEY_ID ? 4 : 0), sizeof h); /* an id's hash part follows its month */
    size_t len = s_key_len(which);
    for (size_t i = (size_t) h & t->mask;; i = (i + 1) & t->mask) {
        uint32_t v = t->slot[i];
        if (v == 0 || !memcmp(s_key_of(&b->items[v - 1], which), key, len))
            return &t->slot[i];
    }
}

/* The item of this transaction that last wrote key, or NULL. */
static const outbox_item_t *s_batch_find(const s_batch_t *b, const s_table_t *t, int which,
                                         const uint8_t *key)
{
    uint32_t v = *s_table_slot(b, t, which, key);
    return v ? &b->items[v - 1] : NULL;
}

static void s_batch_set(s_batch_t *b, s_table_t *t, int which, size_t i)
{
    *s_table_slot(b, t, which, s_key_of(&b->items[i], which)) = (uint32_t) i + 1;
}

/* One item inside the put transaction (its entries in the key databases
 * are gathered in b, see above). */
static int s_put_one(MDB_txn *txn, const store_t *st, s_batch_t *b, size_t i, uint64_t *next_seq)
{
    outbox_item_t *it = &b->items[i];
    MDB_val k = {OUTBOX_ID_LEN, it->id}, v;
    it->prior_day = -1;
    /* What the row's identity (natural key, or day window) holds now is
     * asked first: the same content is already there; other content is
     * a correction of it, even back to content an earlier event had. */
    int rc;
    uint8_t old_id[OUTBOX_ID_LEN] = {0};
    bool correction = false;
    MDB_val nk = {OUTBOX_HASH_LEN, it->natural}, wk = {OUTBOX_HASH_LEN, it->window};
    if (it->has_window) {
        /* Checked first: it also knows the earlier day, for the report. */
        uint8_t wbuf[S_WINDOW_VAL];
        const outbox_item_t *e = s_batch_find(b, &b->window, S_KEY_WINDOW, it->window);
        if (e) {
            be32_put(wbuf, (uint32_t) e->day);
            memcpy(wbuf + 4, e->id, OUTBOX_ID_LEN);
            memcpy(wbuf + 4 + OUTBOX_ID_LEN, e->content, OUTBOX_HASH_LEN);
            v = (MDB_val){sizeof wbuf, wbuf};
            rc = 0;
        } else {
            rc = mdb_get(txn, store_dbi(st, DB_WINDOW), &wk, &v);
        }
        if (rc == 0) {
            if (v.mv_size != S_WINDOW_VAL)
                return MDB_CORRUPTED;
            const uint8_t *w = v.mv_data;
            int32_t prior = (int32_t) be32_get(w);
            int32_t gap = prior > it->day ? prior - it->day : it->day - prior;
            if (gap <= it->window_days) {
                if (memcmp(w + 4 + OUTBOX_ID_LEN, it->content, OUTBOX_HASH_LEN) == 0) {
                    it->result = OUTBOX_ALREADY;
                    return 0;
                }
                memcpy(old_id, w + 4, OUTBOX_ID_LEN);
                it->prior_day = prior;
                correction = true;
            }
        } else if (rc != MDB_NOTFOUND) {
            return rc;
        }
    }
    if (it->has_natural && !correction) {
        uint8_t nbuf[OUTBOX_ID_LEN + OUTBOX_HASH_LEN];
        const outbox_item_t *e = s_batch_find(b, &b->natural, S_KEY_NATURAL, it->natural);
        if (e) {
            memcpy(nbuf, e->id, OUTBOX_ID_LEN);
            memcpy(nbuf + OUTBOX_ID_LEN, e->content, OUTBOX_HASH_LEN);
            v = (MDB_val){sizeof nbuf, nbuf};
            rc = 0;
        } else {
            rc = mdb_get(txn, store_dbi(st, DB_NATURAL), &nk, &v);
        }
        if (rc == 0) {
            if (v.mv_size != OUTBOX_ID_LEN + OUTBOX_HASH_LEN)
                return MDB_CORRUPTED;
            if (memcmp((uint8_t *) v.mv_data + OUTBOX_ID_LEN, it->content, OUTBOX_HASH_LEN) == 0) {
                it->result = OUTBOX_ALREADY;
                return 0;
            }
            memcpy(old_id, v.mv_data, OUTBOX_ID_LEN);
            correction = true;
            if (it->has_window)
                it->prior_day = it->day; /* the natural key holds the day */
        } else if (rc != MDB_NOTFOUND) {
            return rc;
        }
    }

    rc = s_batch_find(b, &b->ids, S_KEY_ID, it->id) ? 0 : mdb_get(txn, store_dbi(st, DB_IDS), &k, &v);
    if (rc == 0 && correction) {
        s_rechain(it->id, old_id); /* A -> B -> A */
        rc = s_batch_find(b, &b->ids, S_KEY_ID, it->id) ? 0 : mdb_get(txn, store_dbi(st, DB_IDS), &k, &v);
    }
    if (rc == 0) {
        /* Known, and its keys not found above: either a row without keys,
         * or one whose keys a withdrawal forgot. That it was withdrawn is
         * said apart, so staff do not read it as "still there". */
        rc = mdb_get(txn, store_dbi(st, DB_WITHDRAWN), &k, &v);
        if (rc && rc != MDB_NOTFOUND)
            return rc;
        it->result = rc == 0 ? OUTBOX_WITHDRAWN : OUTBOX_ALREADY;
        return 0;
    }
    if (rc != MDB_NOTFOUND)
        return rc;

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
    b->seq[i] = *next_seq;
    s_batch_set(b, &b->ids, S_KEY_ID, i);
    if (it->has_natural)
        s_batch_set(b, &b->natural, S_KEY_NATURAL, i);
    if (it->has_window)
        s_batch_set(b, &b->window, S_KEY_WINDOW, i);
    (*next_seq)++;
    it->result = correction ? OUTBOX_CORRECTION : OUTBOX_NEW;
    return 0;
}

/* What s_cmp_entry compares: item indices (+ 1) of b by one of their keys. */
typedef struct {
    const s_batch_t *b;
    int which;
} s_sort_t;

/* The order of LMDB's default key comparison (memcmp; all keys of one
 * database have the same length). */
static int s_cmp_entry(const void *a, const void *b, void *arg)
{
    const s_sort_t *s = arg;
    const outbox_item_t *x = &s->b->items[*(const uint32_t *) a - 1];
    const outbox_item_t *y = &s->b->items[*(const uint32_t *) b - 1];
    return memcmp(s_key_of(x, s->which), s_key_of(y, s->which), s_key_len(s->which));
}

static int s_cmp_index(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *) a, y = *(const uint32_t *) b;
    return x < y ? -1 : x > y;
}

/* Puts item i's entry in one key database: with cur and MDB_APPEND at its
 * end, else where it belongs. */
static int s_put_entry(MDB_txn *txn, MDB_dbi dbi, MDB_cursor *cur, const s_batch_t *b, size_t i, int which,
                       unsigned flags)
{
    const outbox_item_t *it = &b->items[i];
    uint8_t buf[S_WINDOW_VAL];
    MDB_val k = {s_key_len(which), (void *) s_key_of(it, which)}, v = {0, buf};
    switch (which) {
    case S_KEY_ID:
        be64_put(buf, b->seq[i]);
        v.mv_size = 8;
        break;
    case S_KEY_NATURAL:
        memcpy(buf, it->id, OUTBOX_ID_LEN);
        memcpy(buf + OUTBOX_ID_LEN, it->content, OUTBOX_HASH_LEN);
        v.mv_size = OUTBOX_ID_LEN + OUTBOX_HASH_LEN;
        break;
    default:
        be32_put(buf, (uint32_t) it->day);
        memcpy(buf + 4, it->id, OUTBOX_ID_LEN);
        memcpy(buf + 4 + OUTBOX_ID_LEN, it->content, OUTBOX_HASH_LEN);
        v.mv_size = S_WINDOW_VAL;
        break;
    }
    return cur ? mdb_cursor_put(cur, &k, &v, flags) : mdb_put(txn, dbi, &k, &v, flags);
}

/* Writes one database's gathered entries (see above). */
static int s_flush_one(MDB_txn *txn, const store_t *st, s_batch_t *b, s_table_t *t, int which, int db)
{
    /* The table's entries, each key once with the item that wrote it
     * last, in queue order (an item's index is its order). */
    size_t n = 0;
    for (size_t i = 0; i <= t->mask; i++)
        if (t->slot[i])
            t->slot[n++] = t->slot[i];
    if (n == 0)
        return 0;
    s_sort_t by = {b, which};
    qsort_r(t->slot, n, sizeof *t->slot, s_cmp_entry, &by);
    MDB_dbi dbi = store_dbi(st, db);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc)
        return rc;
    size_t klen = s_key_len(which);
    MDB_val last;
    rc = mdb_cursor_get(cur, &last, NULL, MDB_LAST);
    if (rc && rc != MDB_NOTFOUND)
        goto close;
    bool empty = rc == MDB_NOTFOUND;
    /* The first entry that sorts after every key in the database. */
    size_t tail = 0;
    while (!empty && tail < n) {
        const uint8_t *key = s_key_of(&b->items[t->slot[tail] - 1], which);
        size_t cmp_len = last.mv_size < klen ? last.mv_size : klen;
        int c = memcmp(key, last.mv_data, cmp_len);
        if (c > 0 || (c == 0 && klen > last.mv_size))
            break;
        tail++;
    }
    /* Those before it go in queue order, as a put per item did. */
    if (tail) {
        uint32_t *head = malloc(tail * sizeof *head);
        if (!head) {
            rc = ENOMEM;
            goto close;
        }
        memcpy(head, t->slot, tail * sizeof *head);
        qsort(head, tail, sizeof *head, s_cmp_index);
        rc = 0;
        for (size_t j = 0; j < tail && rc == 0; j++)
            rc = s_put_entry(txn, dbi, NULL, b, head[j] - 1, which, 0);
        free(head);
        if (rc)
            goto close;
    }
    rc = 0;
    for (size_t j = tail; j < n && rc == 0; j++)
        rc = s_put_entry(txn, dbi, cur, b, t->slot[j] - 1, which, MDB_APPEND);
close:
    mdb_cursor_close(cur);
    return rc;
}

/* Writes what the items of b gathered for the key databases. */
static int s_batch_flush(MDB_txn *txn, const store_t *st, s_batch_t *b)
{
    int rc;
    if ((rc = s_flush_one(txn, st, b, &b->ids, S_KEY_ID, DB_IDS)) ||
        (rc = s_flush_one(txn, st, b, &b->natural, S_KEY_NATURAL, DB_NATURAL)) ||
        (rc = s_flush_one(txn, st, b, &b->window, S_KEY_WINDOW, DB_WINDOW)))
        return rc;
    return 0;
}

/* Keeps the ids this put queued under the next import number (withdraw
 * finds them there). */
static int s_put_import(MDB_txn *txn, const store_t *st, s_put_ctx_t *ctx)
{
    MDB_dbi meta = store_dbi(st, DB_META);
    uint64_t no;
    int rc = s_meta_get(txn, meta, "next_import", 1, &no);
    if (rc)
        return rc;
    uint8_t *ids = malloc(ctx->stats.added * OUTBOX_ID_LEN);
    if (!ids)
        return ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < ctx->n; i++)
        if (ctx->items[i].result == OUTBOX_NEW || ctx->items[i].result == OUTBOX_CORRECTION)
            memcpy(ids + OUTBOX_ID_LEN * n++, ctx->items[i].id, OUTBOX_ID_LEN);
    uint8_t key[8];
    be64_put(key, no);
    MDB_val k = {8, key}, v = {n * OUTBOX_ID_LEN, ids};
    rc = mdb_put(txn, store_dbi(st, DB_IMPORTS), &k, &v, 0);
    free(ids);
    if (rc || (rc = s_meta_put(txn, meta, "next_import", no + 1)))
        return rc;
    ctx->stats.import_no = no;
    return 0;
}

/* True when a put of these items would clearly not fit in the map as it
 * is, so the body asks store_write to grow it (MDB_MAP_FULL) before doing
 * the work rather than after: a large import would otherwise run its
 * whole put once for nothing at each doubling. The estimate is generous
 * (twice the encoded bytes plus the key entries, as if no free page were
 * reused); it only decides when to grow, never whether the put may
 * happen, so it stops below 1 TiB, store.c's largest map, where a put
 * that might still fit is simply tried. */
static bool s_too_small(outbox_t *self, const outbox_item_t *items, size_t n)
{
    uint64_t need = 0;
    for (size_t i = 0; i < n; i++)
        need += 2 * (uint64_t) items[i].len + 256;
    size_t map, used;
    store_usage(self->store, &map, &used);
    return map < ((size_t) 1 << 39) && used + need > map;
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
    if (!ctx->dry_run && s_too_small(ctx->self, ctx->items, ctx->n))
        return MDB_MAP_FULL; /* store_write grows the map and runs the body again */
    s_batch_t b;
    if ((rc = s_batch_init(&b, ctx->items, ctx->n)))
        goto free_batch;
    for (size_t i = 0; i < ctx->n; i++) {
        if ((rc = s_put_one(txn, st, &b, i, &next_seq)))
            goto free_batch;
        switch (ctx->items[i].result) {
        case OUTBOX_NEW: ctx->stats.added++; break;
        case OUTBOX_CORRECTION:
            ctx->stats.added++;
            ctx->stats.corrected++;
            break;
        case OUTBOX_ALREADY: ctx->stats.already++; break;
        case OUTBOX_WITHDRAWN: ctx->stats.withdrawn++; break;
        }
    }
    /* A dry run only decides: nothing it gathered is written. */
    if (!ctx->dry_run && (rc = s_batch_flush(txn, st, &b)))
        goto free_batch;
    s_batch_free(&b);
    if ((rc = s_meta_put(txn, meta, "next_seq", next_seq)))
        return rc;
    /* The quota counts the queue's pages as they would be after this put
     * (O(1): LMDB keeps the counts). Only what adds is refused: a
     * re-import that changes nothing passes, and what is queued stays. */
    MDB_stat ms;
    if ((rc = mdb_stat(txn, store_dbi(st, DB_QUEUE), &ms)))
        return rc;
    ctx->queue_bytes =
        (uint64_t) ms.ms_psize * (ms.ms_branch_pages + ms.ms_leaf_pages + ms.ms_overflow_pages);
    if (ctx->self->quota && ctx->stats.added && ctx->queue_bytes > ctx->self->quota)
        return S_QUOTA;
    if (ctx->stats.added && (rc = s_put_import(txn, st, ctx)))
        return rc;
    return ctx->dry_run ? S_DRY_RUN : 0;
free_batch:
    s_batch_free(&b);
    return rc;
}

fin_err_t outbox_put(outbox_t *self, outbox_item_t *items, size_t n, bool dry_run, outbox_put_stats_t *stats,
                     char *err, size_t errlen)
{
    s_put_ctx_t ctx = {self, items, n, dry_run, {0}, 0};
    int rc = s_write(self, s_put_body, &ctx);
    if (rc == S_DRY_RUN)
        rc = 0;
    if (stats)
        *stats = rc == 0 ? ctx.stats : (outbox_put_stats_t){0};
    if (rc == S_QUOTA)
        return fin_fail(
            err, errlen, FIN_EFULL,
            "the outbox would hold %llu MiB, more than its quota of %llu MiB (--outbox-quota-mb): "
            "nothing imported, and everything already queued is kept; let the agent deliver "
            "(finsam-agent status) and import again, or raise the quota",
            (unsigned long long) ((ctx.queue_bytes + (1 << 20) - 1) >> 20),
            (unsigned long long) (self->quota >> 20));
    return s_fin(rc, err, errlen);
}

fin_err_t outbox_import_ids(outbox_t *self, uint64_t import_no, outbox_id_fn fn, void *arg, char *err,
                            size_t errlen)
{
    MDB_txn *txn;
    int rc = store_read(self->store, &txn);
    if (rc)
        return s_fin(rc, err, errlen);
    uint8_t key[8];
    be64_put(key, import_no);
    MDB_val k = {8, key}, v;
    rc = mdb_get(txn, store_dbi(self->store, DB_IMPORTS), &k, &v);
    if (rc == 0 && v.mv_size % OUTBOX_ID_LEN)
        rc = MDB_CORRUPTED;
    for (size_t i = 0; rc == 0 && i < v.mv_size / OUTBOX_ID_LEN; i++)
        if (fn((const uint8_t *) v.mv_data + i * OUTBOX_ID_LEN, arg))
            break;
    store_read_end(self->store, txn);
    if (rc == MDB_NOTFOUND)
        return fin_fail(err, errlen, FIN_ENOTFOUND, "import %llu is not known to this agent",
                        (unsigned long long) import_no);
    return s_fin(rc, err, errlen);
}

/* The id stored under a natural-key hash in db (values of vlen bytes that
 * start with the id). FIN_ENOTFOUND if there is none. */
static fin_err_t s_id_under(outbox_t *self, int db, const uint8_t natural[OUTBOX_HASH_LEN], size_t vlen,
                            uint8_t id[OUTBOX_ID_LEN], char *err, size_t errlen)
{
    MDB_txn *txn;
    int rc = store_read(self->store, &txn);
    if (rc)
        return s_fin(rc, err, errlen);
    MDB_val k = {OUTBOX_HASH_LEN, (void *) natural}, v;
    rc = mdb_get(txn, store_dbi(self->store, db), &k, &v);
    if (rc == 0 && v.mv_size != vlen)
        rc = MDB_CORRUPTED;
    if (rc == 0)
        memcpy(id, v.mv_data, OUTBOX_ID_LEN);
    store_read_end(self->store, txn);
    if (rc == MDB_NOTFOUND)
        return fin_fail(err, errlen, FIN_ENOTFOUND, "not found");
    return s_fin(rc, err, errlen);
}

fin_err_t outbox_natural_id(outbox_t *self, const uint8_t natural[OUTBOX_HASH_LEN], uint8_t id[OUTBOX_ID_LEN],
                            char *err, size_t errlen)
{
    return s_id_under(self, DB_NATURAL, natural, OUTBOX_ID_LEN + OUTBOX_HASH_LEN, id, err, errlen);
}

fin_err_t outbox_withdrawn_id(outbox_t *self, const uint8_t natural[OUTBOX_HASH_LEN],
                              uint8_t id[OUTBOX_ID_LEN], char *err, size_t errlen)
{
    return s_id_under(self, DB_UNKEYED, natural, OUTBOX_ID_LEN, id, err, errlen);
}

void outbox_set_quota(outbox_t *self, uint64_t bytes)
{
    self->quota = bytes;
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
    size_t acked;   /* of which accepted (the rest moved to "rejected") */
    uint64_t txnid; /* this transaction */
    bool empty;     /* the queue is empty after it */
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
    /* The body may run again after map growth. */
    ctx->removed = 0;
    ctx->txnid = mdb_txn_id(txn);
    for (size_t i = 0; i < ctx->naccepted; i++) {
        rc = s_find_queued(txn, st, ctx->accepted[i], &sk, &ev);
        if (rc == MDB_NOTFOUND)
            continue;
        if (rc || (rc = mdb_del(txn, queue, &sk, NULL)))
            return rc;
        ctx->removed++;
    }
    ctx->acked = ctx->removed;
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
    MDB_stat qs;
    if ((rc = mdb_stat(txn, queue, &qs)))
        return rc;
    ctx->empty = qs.ms_entries == 0;
    return 0;
}

/* A scrub of what acks removed, if one is due (outbox.h). */
static void s_scrub_if_due(outbox_t *self, bool idle)
{
    if (self->unscrubbed == 0)
        return;
    if (!idle && clock_mono_ms() - self->scrubbed_ms < (int64_t) OUTBOX_SCRUB_INTERVAL_S * 1000)
        return;
    s_scrub_logged(self, 0, idle ? "queue-empty" : "interval");
}

fin_err_t outbox_ack(outbox_t *self, const uint8_t *const *accepted, size_t naccepted,
                     const outbox_rejection_t *rejected, size_t nrejected, size_t *removed, char *err,
                     size_t errlen)
{
    s_ack_ctx_t ctx = {self, accepted, naccepted, rejected, nrejected, 0, 0, 0, false};
    int rc = s_write(self, s_ack_body, &ctx);
    if (removed)
        *removed = rc == 0 ? ctx.removed : 0;
    if (rc)
        return s_fin(rc, err, errlen);
    if (ctx.acked) {
        self->unscrubbed += ctx.acked;
        self->scrub_txnid = ctx.txnid;
    }
    s_scrub_if_due(self, ctx.empty);
    return FIN_OK;
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

fin_err_t outbox_reserve_batches(outbox_t *self, uint64_t n, uint64_t *first, char *err, size_t errlen)
{
    s_reserve_ctx_t ctx = {self, n, 0};
    int rc = s_write(self, s_reserve_body, &ctx);
    *first = ctx.first;
    return s_fin(rc, err, errlen);
}

fin_err_t outbox_count(outbox_t *self, size_t *queued, size_t *rejected, size_t *known, char *err,
                       size_t errlen)
{
    MDB_txn *txn;
    MDB_stat st;
    int rc = store_read(self->store, &txn);
    if (rc)
        return s_fin(rc, err, errlen);
    size_t *out[3] = {queued, rejected, known};
    int db[3] = {DB_QUEUE, DB_REJECTED, DB_IDS};
    for (int i = 0; i < 3 && rc == 0; i++) {
        if (!out[i])
            continue;
        rc = mdb_stat(txn, store_dbi(self->store, db[i]), &st);
        *out[i] = rc ? 0 : st.ms_entries;
    }
    store_read_end(self->store, txn);
    return s_fin(rc, err, errlen);
}

fin_err_t outbox_each_rejected(outbox_t *self, outbox_rejected_fn fn, void *arg, char *err, size_t errlen)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    int rc = store_read(self->store, &txn);
    if (rc)
        return s_fin(rc, err, errlen);
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
    return s_fin(rc, err, errlen);
}

/* ---- erasure and the scrub ------------------------------------------------ */

typedef struct {
    outbox_t *self;
    const uint8_t *target;
    outbox_item_t *erasure;
    outbox_check_fn check;
    void *arg;
    outbox_target_t where;
    uint64_t txnid;
    fin_err_t refused; /* check's code when it refused the target */
    char *err;         /* check's reason */
    size_t errlen;
} s_erase_ctx_t;

/* Deletes the natural-key entry that names id, if any (at most one: each
 * natural key names the latest id of its row). A scan: erasing is rare. */
static int s_del_natural(MDB_txn *txn, const store_t *st, const uint8_t *id)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, store_dbi(st, DB_NATURAL), &cur);
    if (rc)
        return rc;
    MDB_val k, v;
    while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0)
        if (v.mv_size == OUTBOX_ID_LEN + OUTBOX_HASH_LEN && !memcmp(v.mv_data, id, OUTBOX_ID_LEN)) {
            rc = mdb_cursor_del(cur, 0);
            break;
        }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    /* The same for the day-free key. */
    if ((rc = mdb_cursor_open(txn, store_dbi(st, DB_WINDOW), &cur)))
        return rc;
    while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0)
        if (v.mv_size == S_WINDOW_VAL && !memcmp((uint8_t *) v.mv_data + 4, id, OUTBOX_ID_LEN)) {
            rc = mdb_cursor_del(cur, 0);
            break;
        }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Removes the target from "queue" or "rejected" if it is there; sets
 * c->where. */
static int s_erase_target(MDB_txn *txn, s_erase_ctx_t *c)
{
    const store_t *st = c->self->store;
    MDB_val k = {OUTBOX_ID_LEN, (void *) c->target}, v, ev;
    int rc = mdb_get(txn, store_dbi(st, DB_IDS), &k, &v);
    if (rc)
        return rc == MDB_NOTFOUND ? S_NOTHING : rc;
    if (v.mv_size != 8)
        return MDB_CORRUPTED;
    c->where = OUTBOX_TARGET_GONE;
    /* Keys are copied: v points into the map, which the deletes change. */
    uint8_t seqkey[8];
    memcpy(seqkey, v.mv_data, 8);
    MDB_val sk = {8, seqkey};
    MDB_dbi dbi = store_dbi(st, DB_QUEUE);
    MDB_val *key = &sk;
    if ((rc = mdb_get(txn, dbi, &sk, &ev)) == 0) {
        c->where = OUTBOX_TARGET_QUEUED;
    } else if (rc == MDB_NOTFOUND && (rc = mdb_get(txn, store_dbi(st, DB_REJECTED), &k, &ev)) == 0) {
        const uint8_t *p = ev.mv_data;
        size_t skip = ev.mv_size < 6 ? ev.mv_size : 6 + ((size_t) p[4] << 8 | p[5]);
        if (skip > ev.mv_size)
            return MDB_CORRUPTED;
        ev = (MDB_val){ev.mv_size - skip, (uint8_t *) ev.mv_data + skip};
        c->where = OUTBOX_TARGET_REJECTED;
        dbi = store_dbi(st, DB_REJECTED);
        key = &k;
    }
    if (rc)
        return rc == MDB_NOTFOUND ? 0 : rc; /* gone: its bytes are not here */
    if (c->check && (c->refused = c->check(ev.mv_data, ev.mv_size, c->arg, c->err, c->errlen)))
        return S_REFUSED;
    if ((rc = mdb_del(txn, dbi, key, NULL)))
        return rc;
    return s_del_natural(txn, st, c->target);
}

static int s_erase_body(MDB_txn *txn, void *arg)
{
    s_erase_ctx_t *c = arg;
    const store_t *st = c->self->store;
    MDB_dbi meta = store_dbi(st, DB_META);
    c->where = OUTBOX_TARGET_UNKNOWN;
    c->txnid = mdb_txn_id(txn);
    int rc = s_erase_target(txn, c);
    if (rc)
        return rc;
    uint64_t next_seq;
    s_batch_t b;
    if ((rc = s_batch_init(&b, c->erasure, 1)) == 0 &&
        (rc = s_meta_get(txn, meta, "next_seq", 1, &next_seq)) == 0 &&
        (rc = s_put_one(txn, st, &b, 0, &next_seq)) == 0 && (rc = s_batch_flush(txn, st, &b)) == 0)
        rc = s_meta_put(txn, meta, "next_seq", next_seq);
    s_batch_free(&b);
    if (rc)
        return rc;
    /* Gone, and its erasure queued before: nothing changes, no commit. */
    if (c->where == OUTBOX_TARGET_GONE && c->erasure->result == OUTBOX_ALREADY)
        return S_NOTHING;
    return 0;
}

fin_err_t outbox_erase(outbox_t *self, const uint8_t target[OUTBOX_ID_LEN], outbox_item_t *erasure,
                       outbox_check_fn check, void *arg, outbox_target_t *where, char *err, size_t errlen)
{
    erasure->has_natural = false;
    s_erase_ctx_t c = {self, target, erasure, check, arg, OUTBOX_TARGET_UNKNOWN, 0, FIN_OK, err, errlen};
    int rc = s_write(self, s_erase_body, &c);
    *where = c.where;
    if (rc == S_NOTHING)
        return FIN_OK;
    if (rc == S_REFUSED)
        return c.refused;
    if (rc)
        return s_fin(rc, err, errlen);
    if (c.where == OUTBOX_TARGET_QUEUED || c.where == OUTBOX_TARGET_REJECTED) {
        self->unscrubbed++;
        self->scrub_txnid = c.txnid;
    }
    return FIN_OK;
}

typedef struct {
    outbox_t *self;
    uint64_t scrubs; /* the count this bump writes */
} s_bump_ctx_t;

/* The commit before the scan: counts the scrub in meta "scrubs", so every
 * other process reopens before its next write, and moves both meta pages
 * past the trees that held the removed events (store/scrub.h). */
static int s_bump_body(MDB_txn *txn, void *arg)
{
    s_bump_ctx_t *b = arg;
    MDB_dbi meta = store_dbi(b->self->store, DB_META);
    int rc = s_meta_get(txn, meta, "scrubs", 0, &b->scrubs);
    if (rc)
        return rc;
    b->scrubs++;
    return s_meta_put(txn, meta, "scrubs", b->scrubs);
}

fin_err_t outbox_scrub(outbox_t *self, int wait_ms, store_scrub_report_t *report, char *err, size_t errlen)
{
    memset(report, 0, sizeof *report);
    err[0] = '\0';
    int64_t t0 = clock_mono_ms();
    /* This process's page buffers may hold the removed bytes: drop them
     * before writing again. */
    int rc = store_reopen(self->store);
    if (rc)
        return fin_fail(err, errlen, fin_from_mdb(rc), "reopen before the scrub: %s", store_strerror(rc));
    s_bump_ctx_t b = {self, 0};
    if ((rc = s_write(self, s_bump_body, &b)))
        return fin_fail(err, errlen, fin_from_mdb(rc), "commit before the scrub: %s", store_strerror(rc));
    self->scrubs_seen = b.scrubs;
    self->scrubbed_ms = clock_mono_ms();
    uint64_t unscrubbed = self->unscrubbed;
    if (store_scrub_wipe(self->store, self->scrub_txnid, wait_ms, report, err, errlen) < 0)
        return FIN_EIO;
    report->values = unscrubbed;
    report->seconds = (double) (clock_mono_ms() - t0) / 1000.0;
    /* A reader from before the removal kept some pages: the next ack
     * tries again. */
    if (report->old_readers == 0)
        self->unscrubbed = 0;
    return FIN_OK;
}

static void s_scrub_logged(outbox_t *self, int wait_ms, const char *reason)
{
    store_scrub_report_t r;
    char err[512];
    if (outbox_scrub(self, wait_ms, &r, err, sizeof err) != FIN_OK) {
        log_error("outbox", "OUTBOX-SCRUB-FAILED reason=\"%s\" events=%llu", err,
                  (unsigned long long) self->unscrubbed);
        return;
    }
    log_info("outbox",
             "OUTBOX-SCRUBBED events=%llu zeroed_kib=%llu free_pages=%llu gaps=%llu held_pages=%llu "
             "odd_pages=%llu scanned_mib=%.1f old_readers=%d seconds=%.3f why=%s",
             (unsigned long long) r.values, (unsigned long long) (r.zeroed >> 10),
             (unsigned long long) r.free_pages, (unsigned long long) r.gaps,
             (unsigned long long) r.held_pages, (unsigned long long) r.odd_pages,
             (double) r.scanned / (1 << 20), r.old_readers, r.seconds, reason);
}

/* ---- withdraw ------------------------------------------------------------ */

typedef struct {
    outbox_t *self;
    const uint8_t (*targets)[OUTBOX_ID_LEN];
    uint8_t (*sorted)[OUTBOX_ID_LEN];
    outbox_item_t *items;
    size_t n;
    outbox_put_stats_t stats;
} s_withdraw_ctx_t;

static int s_cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, OUTBOX_ID_LEN);
}

/* Deletes the entries of db whose value names a sorted target at offset
 * `at` (one pass: a withdrawal may name thousands of ids). When `keep` is
 * not NULL, each deleted key is kept in that database with the id it named
 * ("unkeyed"). */
static int s_forget(MDB_txn *txn, MDB_dbi dbi, size_t vlen, size_t at, const MDB_dbi *keep,
                    s_withdraw_ctx_t *c)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, dbi, &cur);
    if (rc)
        return rc;
    MDB_val k, v;
    while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
        if (v.mv_size != vlen ||
            !bsearch((uint8_t *) v.mv_data + at, c->sorted, c->n, OUTBOX_ID_LEN, s_cmp_id))
            continue;
        if (keep) {
            /* Copied first: k and v point into pages the put may change. */
            uint8_t key[OUTBOX_HASH_LEN], id[OUTBOX_ID_LEN];
            if (k.mv_size != sizeof key) {
                rc = MDB_CORRUPTED;
                break;
            }
            memcpy(key, k.mv_data, sizeof key);
            memcpy(id, (uint8_t *) v.mv_data + at, sizeof id);
            MDB_val kk = {sizeof key, key}, kv = {sizeof id, id};
            if ((rc = mdb_put(txn, *keep, &kk, &kv, 0)))
                break;
        }
        if ((rc = mdb_cursor_del(cur, 0)))
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int s_withdraw_body(MDB_txn *txn, void *arg)
{
    s_withdraw_ctx_t *c = arg;
    const store_t *st = c->self->store;
    MDB_dbi meta = store_dbi(st, DB_META);
    memset(&c->stats, 0, sizeof c->stats);
    uint64_t next_seq;
    int rc = s_meta_get(txn, meta, "next_seq", 1, &next_seq);
    if (rc)
        return rc;
    s_batch_t b;
    if ((rc = s_batch_init(&b, c->items, c->n)))
        goto free_batch;
    for (size_t i = 0; i < c->n; i++) {
        c->items[i].has_natural = c->items[i].has_window = false;
        if ((rc = s_put_one(txn, st, &b, i, &next_seq)))
            goto free_batch;
        if (c->items[i].result == OUTBOX_NEW || c->items[i].result == OUTBOX_CORRECTION)
            c->stats.added++;
        else
            c->stats.already++;
        MDB_val tk = {OUTBOX_ID_LEN, (void *) c->targets[i]}, empty = {0, NULL};
        if ((rc = mdb_put(txn, store_dbi(st, DB_WITHDRAWN), &tk, &empty, 0)))
            goto free_batch;
    }
    /* Written before the scans below (s_forget), which read those databases. */
    rc = s_batch_flush(txn, st, &b);
free_batch:
    s_batch_free(&b);
    if (rc)
        return rc;
    MDB_dbi unkeyed = store_dbi(st, DB_UNKEYED);
    if ((rc = s_meta_put(txn, meta, "next_seq", next_seq)) ||
        (rc = s_forget(txn, store_dbi(st, DB_NATURAL), OUTBOX_ID_LEN + OUTBOX_HASH_LEN, 0, &unkeyed, c)) ||
        (rc = s_forget(txn, store_dbi(st, DB_WINDOW), S_WINDOW_VAL, 4, NULL, c)))
        return rc;
    return 0;
}

fin_err_t outbox_withdraw(outbox_t *self, const uint8_t (*targets)[OUTBOX_ID_LEN], outbox_item_t *items,
                          size_t n, outbox_put_stats_t *stats, char *err, size_t errlen)
{
    s_withdraw_ctx_t c = {self, targets, NULL, items, n, {0}};
    if (n && !(c.sorted = malloc(n * OUTBOX_ID_LEN)))
        return fin_fail(err, errlen, FIN_ENOMEM, "%s", strerror(ENOMEM));
    if (n)
        memcpy(c.sorted, targets, n * OUTBOX_ID_LEN);
    qsort(c.sorted, n, OUTBOX_ID_LEN, s_cmp_id);
    int rc = s_write(self, s_withdraw_body, &c);
    free(c.sorted);
    if (stats)
        *stats = rc == 0 ? c.stats : (outbox_put_stats_t){0};
    return s_fin(rc, err, errlen);
}

fin_err_t outbox_is_known(outbox_t *self, const uint8_t id[OUTBOX_ID_LEN], bool *known, char *err,
                          size_t errlen)
{
    MDB_txn *txn;
    int rc = store_read(self->store, &txn);
    if (rc)
        return s_fin(rc, err, errlen);
    MDB_val k = {OUTBOX_ID_LEN, (void *) id}, v;
    rc = mdb_get(txn, store_dbi(self->store, DB_IDS), &k, &v);
    store_read_end(self->store, txn);
    *known = rc == 0;
    return s_fin(rc == MDB_NOTFOUND ? 0 : rc, err, errlen);
}
