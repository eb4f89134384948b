/* ledger.c: the collector's event log, dedupe index and agent cursors
 * (schema in ledger.h). No recovery at start-up: LMDB is crash-safe, so
 * after kill -9 the ledger is exactly the last committed transaction. */
#include "ledger.h"

#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LOG_HEADER 9

struct ledger_t {
    store_t *store;
    char *dir;
    /* meta "erasures" as this process last wrote from: when another
     * transaction (ours or another process's) erased events since, the
     * store is reopened before the next write (see s_write). */
    uint64_t erasures_seen;
    /* Opened by ledger_open_previous: the previous schema is accepted
     * (and found, when previous is true), for upgrade.c. */
    bool accept_previous, previous;
    /* Written by the ingest thread after each commit, read by the HTTP
     * thread: atomic. */
    _Atomic uint64_t next_seq;
};

static const store_db_t s_dbs[LEDGER_DB_COUNT] = {
    [LEDGER_DB_LOG] = {"log", 0},
    [LEDGER_DB_DEDUPE] = {"dedupe", 0},
    [LEDGER_DB_RETRACTED] = {"retracted", 0},
    [LEDGER_DB_AGENTS] = {"agents", 0},
    [LEDGER_DB_META] = {"meta", 0},
    [LEDGER_DB_CELLS] = {"cells", 0},
    [LEDGER_DB_PARTICIPANTS] = {"participants", 0},
    [LEDGER_DB_PUBLISHED] = {"published", 0},
    [LEDGER_DB_DISTS] = {"dists", 0},
    [LEDGER_DB_PUBLISHED_DISTS] = {"published-dists", 0},
};

typedef struct {
    ledger_t *ledger;
    char *err;
    size_t errlen;
} s_init_ctx_t;

static const MDB_val s_key_schema = {6, "schema"};

static int s_stamp_schema(MDB_txn *txn, const ledger_t *self)
{
    uint8_t buf[4];
    be32_put(buf, LEDGER_SCHEMA_VERSION);
    MDB_val k = s_key_schema, v = {4, buf};
    return mdb_put(txn, store_dbi(self->store, LEDGER_DB_META), &k, &v, 0);
}

int ledger_stamp_schema(ledger_txn_t *lt)
{
    return s_stamp_schema(lt->txn, lt->ledger);
}

/* Stamps a new store with our schema version; refuses another version,
 * except the previous one when opened for its upgrade (accept_previous:
 * self->previous is set). */
static int s_check_schema(MDB_txn *txn, ledger_t *self, bool may_write, char *err, size_t errlen)
{
    MDB_val k = s_key_schema, v;
    int rc = mdb_get(txn, store_dbi(self->store, LEDGER_DB_META), &k, &v);
    if (rc == MDB_NOTFOUND) {
        if (!may_write)
            return 0; /* an empty read-only store: nothing to misread */
        return s_stamp_schema(txn, self);
    }
    if (rc)
        return rc;
    if (v.mv_size != 4) {
        snprintf(
            err, errlen,
            "store schema version unreadable (%zu bytes), this finsam reads version %d; refusing to open it "
            "(see docs/operations.md, Upgrade)",
            v.mv_size, LEDGER_SCHEMA_VERSION);
        return -1;
    }
    uint32_t version = be32_get(v.mv_data);
    if (version == LEDGER_SCHEMA_PREVIOUS && self->accept_previous) {
        self->previous = true;
        return 0;
    }
    if (version == LEDGER_SCHEMA_PREVIOUS) {
        snprintf(err, errlen,
                 "store schema version %u, this finsam reads version %d; refusing to open it: start "
                 "finsam-collector on it once to upgrade it (see docs/operations.md, Upgrade)",
                 version, LEDGER_SCHEMA_VERSION);
        return -1;
    }
    if (version != LEDGER_SCHEMA_VERSION) {
        snprintf(err, errlen,
                 "store schema version %u, this finsam reads version %d; refusing to open it "
                 "(see docs/operations.md, Upgrade)",
                 version, LEDGER_SCHEMA_VERSION);
        return -1;
    }
    return 0;
}

static int s_init(MDB_txn *txn, void *arg)
{
    s_init_ctx_t *ctx = arg;
    return s_check_schema(txn, ctx->ledger, true, ctx->err, ctx->errlen);
}

/* The position after the last event in the log as txn sees it. */
static int s_log_end(MDB_txn *txn, const ledger_t *self, uint64_t *next)
{
    MDB_cursor *cur;
    *next = 1;
    int rc = mdb_cursor_open(txn, store_dbi(self->store, LEDGER_DB_LOG), &cur);
    if (rc)
        return rc;
    MDB_val k, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
    if (rc == 0 && k.mv_size == 8)
        *next = be64_get(k.mv_data) + 1;
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* meta "erasures": erase.c counts erased events there. */
static int s_erasures(MDB_txn *txn, const ledger_t *self, uint64_t *n)
{
    MDB_val k = {8, "erasures"}, v;
    int rc = mdb_get(txn, store_dbi(self->store, LEDGER_DB_META), &k, &v);
    *n = rc == 0 && v.mv_size == 8 ? be64_get(v.mv_data) : 0;
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int s_load_next_seq(ledger_t *self)
{
    MDB_txn *txn;
    int rc = store_read(self->store, &txn);
    if (rc)
        return rc;
    uint64_t next;
    rc = s_log_end(txn, self, &next);
    if (rc == 0)
        rc = s_erasures(txn, self, &self->erasures_seen);
    if (rc == 0)
        atomic_store_explicit(&self->next_seq, next, memory_order_release);
    store_read_end(self->store, txn);
    return rc;
}

static int s_open(ledger_t **out, const char *dir, unsigned flags, bool accept_previous, char *err,
                  size_t errlen);

int ledger_open(ledger_t **out, const char *dir, bool readonly, char *err, size_t errlen)
{
    return s_open(out, dir, readonly ? STORE_READONLY : 0, false, err, errlen);
}

int ledger_open_scratch(ledger_t **out, const char *dir, char *err, size_t errlen)
{
    return s_open(out, dir, STORE_SCRATCH, false, err, errlen);
}

int ledger_open_previous(ledger_t **out, const char *dir, char *err, size_t errlen)
{
    if (s_open(out, dir, 0, true, err, errlen) < 0)
        return -1;
    if (!(*out)->previous)
        ledger_close(out);
    return 0;
}

static int s_open(ledger_t **out, const char *dir, unsigned flags, bool accept_previous, char *err,
                  size_t errlen)
{
    bool readonly = flags & STORE_READONLY;
    *out = NULL;
    ledger_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    self->accept_previous = accept_previous;
    self->dir = strdup(dir);
    int rc = self->dir ? store_open(&self->store, dir, s_dbs, LEDGER_DB_COUNT, flags) : ENOMEM;
    if (rc == MDB_NOTFOUND && readonly) {
        /* A database of this schema is missing: an older store, never
         * opened for writing by this release. */
        snprintf(err, errlen,
                 "%s: the store lacks databases of schema version %d (an older store?); refusing to open "
                 "it: start finsam-collector on it once to upgrade it (see docs/operations.md, Upgrade)",
                 dir, LEDGER_SCHEMA_VERSION);
        free(self->dir);
        free(self);
        return -1;
    }
    if (rc) {
        snprintf(err, errlen, "%s: %s", dir, store_strerror(rc));
        free(self->dir);
        free(self);
        return -1;
    }
    err[0] = '\0';
    if (readonly) {
        MDB_txn *txn;
        rc = store_read(self->store, &txn);
        if (rc == 0) {
            rc = s_check_schema(txn, self, false, err, errlen);
            store_read_end(self->store, txn);
        }
    } else {
        s_init_ctx_t ctx = {self, err, errlen};
        rc = store_write(self->store, s_init, &ctx);
    }
    if (rc == 0)
        rc = s_load_next_seq(self);
    if (rc) {
        if (!err[0])
            snprintf(err, errlen, "%s: %s", dir, store_strerror(rc));
        ledger_close(&self);
        return -1;
    }
    *out = self;
    return 0;
}

void ledger_close(ledger_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_close(&(*self_p)->store);
    free((*self_p)->dir);
    free(*self_p);
    *self_p = NULL;
}

store_t *ledger_store(ledger_t *self)
{
    return self->store;
}

MDB_dbi ledger_dbi(const ledger_t *self, ledger_db_t db)
{
    return store_dbi(self->store, (int) db);
}

uint64_t ledger_next_seq(const ledger_t *self)
{
    return atomic_load_explicit(&self->next_seq, memory_order_acquire);
}

typedef struct {
    ledger_txn_t lt;
    ledger_write_fn fn;
    void *ctx;
    uint64_t erasures; /* meta "erasures" as this transaction found it */
} s_write_ctx_t;

/* Not LMDB codes (those are -30799..-30780) nor errnos. */
#define S_ABORTED (-1000000)
#define S_REOPEN (-1000001)

static int s_write(MDB_txn *txn, void *arg)
{
    s_write_ctx_t *w = arg;
    /* From the log itself, not from memory: a retry after map growth starts
     * again from the committed position, and an event another process
     * appended meanwhile (finsamctl erase) is counted. One cursor step. */
    w->lt.txn = txn;
    int rc = s_log_end(txn, w->lt.ledger, &w->lt.next_seq);
    if (rc == 0)
        rc = s_erasures(txn, w->lt.ledger, &w->erasures);
    if (rc)
        return rc;
    /* Events were erased since this process last wrote: its LMDB page
     * buffers may hold their bytes, which LMDB would write again into
     * unused parts of new pages (store_reopen). Nothing is dirty yet. */
    if (w->erasures != w->lt.ledger->erasures_seen)
        return S_REOPEN;
    return w->fn(&w->lt, w->ctx);
}

int ledger_write(ledger_t *self, ledger_write_fn fn, void *ctx)
{
    s_write_ctx_t w = {{NULL, self, ledger_next_seq(self)}, fn, ctx, 0};
    int rc;
    while ((rc = store_write(self->store, s_write, &w)) == S_REOPEN) {
        if ((rc = store_reopen(self->store)))
            return rc;
        log_info("ledger", "STORE-REOPENED reason=erasure erasures=%llu", (unsigned long long) w.erasures);
        self->erasures_seen = w.erasures;
    }
    if (rc == 0)
        atomic_store_explicit(&self->next_seq, w.lt.next_seq, memory_order_release);
    return rc;
}

typedef struct {
    ledger_t *ledger;
    ledger_write_fn fn;
    void *ctx;
    int result;
} s_locked_ctx_t;

static int s_locked(MDB_txn *txn, void *arg)
{
    s_locked_ctx_t *l = arg;
    ledger_txn_t lt = {txn, l->ledger, ledger_next_seq(l->ledger)};
    l->result = l->fn(&lt, l->ctx);
    return S_ABORTED; /* store_write aborts the transaction */
}

int ledger_locked(ledger_t *self, ledger_write_fn fn, void *ctx)
{
    s_locked_ctx_t l = {self, fn, ctx, 0};
    int rc = store_write(self->store, s_locked, &l);
    return rc == S_ABORTED ? l.result : rc;
}

const char *ledger_dir(const ledger_t *self)
{
    return self->dir;
}

/* Dedupe key: förbund NUL-padded to LEDGER_FORBUND_LEN, then the id. */
#define DEDUPE_KEY_LEN (LEDGER_FORBUND_LEN + 16)

static void s_dedupe_key(uint8_t key[DEDUPE_KEY_LEN], const char *forbund, const uint8_t id[16])
{
    memset(key, 0, LEDGER_FORBUND_LEN);
    memcpy(key, forbund, strnlen(forbund, LEDGER_FORBUND_LEN));
    memcpy(key + LEDGER_FORBUND_LEN, id, 16);
}

int ledger_find(MDB_txn *txn, const ledger_t *self, const char *forbund, const uint8_t id[16], uint64_t *seq)
{
    uint8_t key[DEDUPE_KEY_LEN];
    s_dedupe_key(key, forbund, id);
    MDB_val k = {DEDUPE_KEY_LEN, key}, v;
    int rc = mdb_get(txn, ledger_dbi(self, LEDGER_DB_DEDUPE), &k, &v);
    if (rc == 0)
        *seq = v.mv_size == 8 ? be64_get(v.mv_data) : 0;
    return rc;
}

int ledger_find_any(MDB_txn *txn, const ledger_t *self, const uint8_t id[16],
                    char forbund[LEDGER_FORBUND_LEN + 1], uint64_t *seq, int *count)
{
    *count = 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, ledger_dbi(self, LEDGER_DB_DEDUPE), &cur);
    if (rc)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != DEDUPE_KEY_LEN || memcmp((const uint8_t *) k.mv_data + LEDGER_FORBUND_LEN, id, 16))
            continue;
        if ((*count)++ == 0) {
            memcpy(forbund, k.mv_data, LEDGER_FORBUND_LEN);
            forbund[LEDGER_FORBUND_LEN] = '\0';
            *seq = v.mv_size == 8 ? be64_get(v.mv_data) : 0;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int ledger_append(ledger_txn_t *lt, const char *forbund, const uint8_t id[16], const uint8_t *bytes,
                  size_t len, int64_t received_ms, uint64_t *seq)
{
    uint8_t key[8];
    be64_put(key, lt->next_seq);
    MDB_val k = {8, key}, v = {LOG_HEADER + len, NULL};
    /* MDB_RESERVE: write the record straight into the page, no copy. */
    int rc = mdb_put(lt->txn, ledger_dbi(lt->ledger, LEDGER_DB_LOG), &k, &v, MDB_APPEND | MDB_RESERVE);
    if (rc)
        return rc;
    uint8_t *p = v.mv_data;
    p[0] = 1;
    be64_put(p + 1, (uint64_t) received_ms);
    memcpy(p + LOG_HEADER, bytes, len);
    uint8_t dkey[DEDUPE_KEY_LEN];
    s_dedupe_key(dkey, forbund, id);
    MDB_val dk = {DEDUPE_KEY_LEN, dkey}, dv = {8, key};
    rc = mdb_put(lt->txn, ledger_dbi(lt->ledger, LEDGER_DB_DEDUPE), &dk, &dv, MDB_NOOVERWRITE);
    if (rc)
        return rc;
    *seq = lt->next_seq++;
    return 0;
}

int ledger_replace(MDB_txn *txn, const ledger_t *self, uint64_t seq, const uint8_t *bytes, size_t len)
{
    uint8_t key[8], header[LOG_HEADER];
    be64_put(key, seq);
    MDB_val k = {8, key}, v;
    MDB_dbi dbi = ledger_dbi(self, LEDGER_DB_LOG);
    int rc = mdb_get(txn, dbi, &k, &v);
    if (rc)
        return rc;
    if (v.mv_size < LOG_HEADER || ((const uint8_t *) v.mv_data)[0] != 1)
        return MDB_CORRUPTED;
    memcpy(header, v.mv_data, LOG_HEADER);
    v = (MDB_val){LOG_HEADER + len, NULL};
    if ((rc = mdb_put(txn, dbi, &k, &v, MDB_RESERVE)))
        return rc;
    memcpy(v.mv_data, header, LOG_HEADER);
    memcpy((uint8_t *) v.mv_data + LOG_HEADER, bytes, len);
    return 0;
}

int ledger_get(MDB_txn *txn, const ledger_t *self, uint64_t seq, const uint8_t **bytes, size_t *len,
               int64_t *received_ms)
{
    uint8_t key[8];
    be64_put(key, seq);
    MDB_val k = {8, key}, v;
    int rc = mdb_get(txn, ledger_dbi(self, LEDGER_DB_LOG), &k, &v);
    if (rc)
        return rc;
    const uint8_t *p = v.mv_data;
    if (v.mv_size < LOG_HEADER || p[0] != 1)
        return MDB_CORRUPTED;
    if (received_ms)
        *received_ms = (int64_t) be64_get(p + 1);
    *bytes = p + LOG_HEADER;
    *len = v.mv_size - LOG_HEADER;
    return 0;
}

int ledger_mark_retracted(MDB_txn *txn, const ledger_t *self, uint64_t target_seq, uint64_t by_seq)
{
    uint8_t key[8], val[8];
    be64_put(key, target_seq);
    be64_put(val, by_seq);
    MDB_val k = {8, key}, v = {8, val};
    return mdb_put(txn, ledger_dbi(self, LEDGER_DB_RETRACTED), &k, &v, MDB_NOOVERWRITE);
}

bool ledger_is_retracted(MDB_txn *txn, const ledger_t *self, uint64_t seq)
{
    uint8_t key[8];
    be64_put(key, seq);
    MDB_val k = {8, key}, v;
    return mdb_get(txn, ledger_dbi(self, LEDGER_DB_RETRACTED), &k, &v) == 0;
}

int ledger_agent_get(MDB_txn *txn, const ledger_t *self, const char *key_z85, ledger_agent_t *out)
{
    memset(out, 0, sizeof *out);
    MDB_val k = {strlen(key_z85), (void *) key_z85}, v;
    int rc = mdb_get(txn, ledger_dbi(self, LEDGER_DB_AGENTS), &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.mv_size != sizeof *out)
        return MDB_CORRUPTED;
    memcpy(out, v.mv_data, sizeof *out);
    return out->version == 2 ? 0 : MDB_CORRUPTED;
}

int ledger_agent_put(MDB_txn *txn, const ledger_t *self, const char *key_z85, const ledger_agent_t *rec)
{
    ledger_agent_t copy = *rec;
    copy.version = 2;
    MDB_val k = {strlen(key_z85), (void *) key_z85}, v = {sizeof copy, &copy};
    return mdb_put(txn, ledger_dbi(self, LEDGER_DB_AGENTS), &k, &v, 0);
}
