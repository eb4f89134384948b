/* ledger.c: the collector's event log, dedupe index and agent cursors
 * (schema in ledger.h). No recovery at start-up: LMDB is crash-safe, so
 * after kill -9 the ledger is exactly the last committed transaction. */
#include "ledger.h"

#include "log.h"
#include "util.h"

#include <errno.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LOG_HEADER 9

struct ledger_t {
    store_t *store;
    store_t *cells; /* the derived state's environment, DIR/cells */
    char *dir;
    /* meta "erasures" as this process last wrote from: when another
     * transaction (ours or another process's) erased events since, the
     * store is reopened before the next write (see s_write). */
    uint64_t erasures_seen;
    /* Opened by ledger_open_previous: the previous schema and a migration
     * cut short are accepted, for migrate.c; found_version says what the
     * store held. */
    bool accept_previous;
    uint32_t found_version;
    /* Written by the ingest thread after each commit, read by the HTTP
     * thread: atomic. */
    _Atomic uint64_t next_seq;
};

static const store_db_t s_dbs[LEDGER_DB_MAIN_COUNT] = {
    [LEDGER_DB_LOG] = {"log", 0},
    [LEDGER_DB_DEDUPE] = {"dedupe", 0},
    [LEDGER_DB_RETRACTED] = {"retracted", 0},
    [LEDGER_DB_AGENTS] = {"agents", 0},
    [LEDGER_DB_META] = {"meta", 0},
    [LEDGER_DB_PUBLISHED] = {"published", 0},
    [LEDGER_DB_PUBLISHED_DISTS] = {"published-dists", 0},
    [LEDGER_DB_APPROVALS] = {"approvals", 0},
    [LEDGER_DB_ERASING] = {"erasing", 0},
};

#define S_CELLS_DBS (LEDGER_DB_COUNT - LEDGER_DB_MAIN_COUNT)
static const store_db_t s_cells_dbs[S_CELLS_DBS] = {
    [LEDGER_DB_CELLS - LEDGER_DB_MAIN_COUNT] = {"cells", 0},
    [LEDGER_DB_PARTICIPANTS - LEDGER_DB_MAIN_COUNT] = {"participants", 0},
    [LEDGER_DB_DISTS - LEDGER_DB_MAIN_COUNT] = {"dists", 0},
    [LEDGER_DB_CELLS_META - LEDGER_DB_MAIN_COUNT] = {"cells-meta", 0},
};

/* Databases of the derived state that stores before the cells
 * environment kept beside the log: emptied and removed at the first open
 * for writing (the aggregator recomputes them from the log). */
static const char *const s_moved_dbs[] = {"cells", "participants", "dists"};

typedef struct {
    ledger_t *ledger;
    char *err;
    size_t errlen;
} s_init_ctx_t;

static const MDB_val s_key_schema = {6, "schema"};

static int s_stamp_schema(MDB_txn *txn, const ledger_t *self, uint32_t version)
{
    uint8_t buf[4];
    be32_put(buf, version);
    MDB_val k = s_key_schema, v = {4, buf};
    return mdb_put(txn, store_dbi(self->store, LEDGER_DB_META), &k, &v, 0);
}

int ledger_stamp_schema(ledger_txn_t *lt, uint32_t version)
{
    return s_stamp_schema(lt->txn, lt->ledger, version);
}

/* The data directory of a ledger directory (DATA/ledger, as the binaries
 * open it), for the command an operator types. */
static void s_data_dir(char *out, size_t len, const char *dir)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/')
        n--;
    if (n == 6 && !memcmp(dir, "ledger", 6)) {
        snprintf(out, len, ".");
        return;
    }
    if (n > 7 && !memcmp(dir + n - 7, "/ledger", 7))
        n -= 7;
    else if (n == 7 && !memcmp(dir, "/ledger", 7))
        n = 1; /* "/" */
    snprintf(out, len, "%.*s", (int) n, dir);
}

/* Stamps a new store with our schema version; refuses another version,
 * except the previous one and a migration cut short when opened for the
 * migration (accept_previous). An operator's message names the command
 * that migrates a store of the previous schema. */
static int s_check_schema(MDB_txn *txn, ledger_t *self, bool may_write, char *err, size_t errlen)
{
    MDB_val k = s_key_schema, v;
    int rc = mdb_get(txn, store_dbi(self->store, LEDGER_DB_META), &k, &v);
    if (rc == MDB_NOTFOUND) {
        if (!may_write)
            return 0; /* an empty read-only store: nothing to misread */
        return s_stamp_schema(txn, self, LEDGER_SCHEMA_VERSION);
    }
    if (rc)
        return rc;
    if (v.mv_size != 4) {
        snprintf(
            err, errlen,
            "store schema version unreadable (%zu bytes), this finsam reads version %d; refusing to open it "
            "(see docs/operations.md, Migrating a ledger)",
            v.mv_size, LEDGER_SCHEMA_VERSION);
        return -1;
    }
    uint32_t version = be32_get(v.mv_data);
    self->found_version = version;
    if ((version == LEDGER_SCHEMA_PREVIOUS || version == LEDGER_SCHEMA_MIGRATING) && self->accept_previous)
        return 0;
    char data[4096];
    s_data_dir(data, sizeof data, self->dir);
    if (version == LEDGER_SCHEMA_PREVIOUS) {
        snprintf(err, errlen,
                 "%s: store schema version %u (finsam 0.1), this finsam reads version %d; refusing to open "
                 "it: migrate it first with `finsamctl -d %s migrate` (see docs/operations.md, Migrating a "
                 "ledger)",
                 self->dir, version, LEDGER_SCHEMA_VERSION, data);
        return -1;
    }
    if (version == LEDGER_SCHEMA_MIGRATING) {
        snprintf(err, errlen,
                 "%s: a migration to store schema version %d was cut short; refusing to open it: finish it "
                 "with `finsamctl -d %s migrate` (see docs/operations.md, Migrating a ledger)",
                 self->dir, LEDGER_SCHEMA_VERSION, data);
        return -1;
    }
    if (version != LEDGER_SCHEMA_VERSION) {
        snprintf(err, errlen,
                 "store schema version %u, this finsam reads version %d; refusing to open it "
                 "(see docs/operations.md, Migrating a ledger)",
                 version, LEDGER_SCHEMA_VERSION);
        return -1;
    }
    return 0;
}

static int s_init(MDB_txn *txn, void *arg)
{
    s_init_ctx_t *ctx = arg;
    int rc = s_check_schema(txn, ctx->ledger, true, ctx->err, ctx->errlen);
    for (size_t i = 0; rc == 0 && i < sizeof s_moved_dbs / sizeof *s_moved_dbs; i++) {
        MDB_dbi dbi;
        rc = mdb_dbi_open(txn, s_moved_dbs[i], 0, &dbi);
        if (rc == MDB_NOTFOUND) {
            rc = 0;
            continue;
        }
        if (rc == 0)
            rc = mdb_drop(txn, dbi, 1);
        if (rc == 0)
            log_info("ledger", "DERIVED-STATE-MOVED db=%s to=cells", s_moved_dbs[i]);
    }
    return rc;
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

uint64_t ledger_erasures(MDB_txn *txn, const ledger_t *self)
{
    uint64_t n = 0;
    s_erasures(txn, self, &n);
    return n;
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

static fin_err_t s_open(ledger_t **out, const char *dir, unsigned flags, bool accept_previous, char *err,
                        size_t errlen);

fin_err_t ledger_open(ledger_t **out, const char *dir, bool readonly, char *err, size_t errlen)
{
    return s_open(out, dir, readonly ? STORE_READONLY : 0, false, err, errlen);
}

fin_err_t ledger_open_scratch(ledger_t **out, const char *dir, char *err, size_t errlen)
{
    return s_open(out, dir, STORE_SCRATCH, false, err, errlen);
}

fin_err_t ledger_open_previous(ledger_t **out, const char *dir, uint32_t *version, char *err, size_t errlen)
{
    char path[4096];
    *out = NULL;
    *version = LEDGER_SCHEMA_VERSION;
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    if (access(path, F_OK) < 0) /* opening for writing would create an empty store */
        return fin_fail(err, errlen, FIN_ENOTFOUND, "%s: no store", dir);
    fin_err_t rc = s_open(out, dir, 0, true, err, errlen);
    if (rc)
        return rc;
    *version = (*out)->found_version;
    if (*version != LEDGER_SCHEMA_PREVIOUS && *version != LEDGER_SCHEMA_MIGRATING) {
        *version = LEDGER_SCHEMA_VERSION;
        ledger_close(out);
    }
    return FIN_OK;
}

static fin_err_t s_open(ledger_t **out, const char *dir, unsigned flags, bool accept_previous, char *err,
                        size_t errlen)
{
    bool readonly = flags & STORE_READONLY;
    *out = NULL;
    ledger_t *self = calloc(1, sizeof *self);
    if (!self)
        return fin_fail(err, errlen, FIN_ENOMEM, "out of memory");
    self->accept_previous = accept_previous;
    self->dir = strdup(dir);
    /* Pages written in the map, not in the heap (store.h, STORE_WRITEMAP):
     * without it LMDB keeps the buffers of the largest transaction so far,
     * a publication of every cell that moved or a burst's group commit,
     * for as long as the collector runs (tens of MiB, more as the ledger
     * grows). Every writer of a ledger opens it here, so none mixes the two
     * modes. */
    flags |= STORE_WRITEMAP;
    int rc = self->dir ? store_open(&self->store, dir, s_dbs, LEDGER_DB_MAIN_COUNT, flags) : ENOMEM;
    if (rc == 0) {
        /* The cells environment is derived: committed without a sync, and
         * made again empty, then recomputed by the collector's aggregator,
         * when it was written unsynced in a boot that ended (STORE_DERIVED)
         * or does not exist yet (a store of an earlier release); even a
         * reader does that. */
        char cells[4096];
        snprintf(cells, sizeof cells, "%s/cells", dir);
        rc = store_open(&self->cells, cells, s_cells_dbs, S_CELLS_DBS, flags | STORE_DERIVED);
        if (rc)
            store_close(&self->store);
    }
    if (rc == MDB_NOTFOUND && readonly) {
        /* A database of this schema is missing: an older store, never
         * opened for writing by this release. */
        snprintf(err, errlen,
                 "%s: the store lacks databases of schema version %d (an older store?); refusing to open "
                 "it (see docs/operations.md, Migrating a ledger)",
                 dir, LEDGER_SCHEMA_VERSION);
        free(self->dir);
        free(self);
        return FIN_EVERSION;
    }
    if (rc) {
        snprintf(err, errlen, "%s: %s", dir, store_strerror(rc));
        free(self->dir);
        free(self);
        return fin_from_mdb(rc);
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
        /* -1: the schema check refused the version and said why. */
        fin_err_t code = rc == -1 ? FIN_EVERSION : fin_from_mdb(rc);
        if (!err[0])
            snprintf(err, errlen, "%s: %s", dir, store_strerror(rc));
        ledger_close(&self);
        return code;
    }
    *out = self;
    return FIN_OK;
}

void ledger_close(ledger_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_close(&(*self_p)->cells);
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
    if (db >= LEDGER_DB_MAIN_COUNT)
        return store_dbi(self->cells, (int) db - LEDGER_DB_MAIN_COUNT);
    return store_dbi(self->store, (int) db);
}

store_t *ledger_cells_store(ledger_t *self)
{
    return self->cells;
}

int ledger_cells_read(ledger_t *self, MDB_txn **txn)
{
    return store_read(self->cells, txn);
}

void ledger_cells_read_end(ledger_t *self, MDB_txn *txn)
{
    store_read_end(self->cells, txn);
}

static const MDB_val s_key_applied = {7, "applied"};

uint64_t ledger_applied(MDB_txn *cells, const ledger_t *self)
{
    MDB_val k = s_key_applied, v;
    if (mdb_get(cells, ledger_dbi(self, LEDGER_DB_CELLS_META), &k, &v) || v.mv_size != 8)
        return 0;
    return be64_get(v.mv_data);
}

int ledger_set_applied(ledger_txn_t *lt, uint64_t seq)
{
    uint8_t b[8];
    be64_put(b, seq);
    MDB_val k = s_key_applied, v = {8, b};
    return mdb_put(lt->cells, ledger_dbi(lt->ledger, LEDGER_DB_CELLS_META), &k, &v, 0);
}

uint64_t ledger_applied_now(ledger_t *self)
{
    MDB_txn *txn;
    if (store_read(self->cells, &txn))
        return 0;
    uint64_t seq = ledger_applied(txn, self);
    store_read_end(self->cells, txn);
    return seq;
}

typedef struct {
    ledger_t *ledger;
    ledger_write_fn fn;
    void *ctx;
} s_cells_write_t;

/* Inside the cells' write transaction: the log's snapshot is taken and
 * ended here, in each attempt, so no reader of the log is held while the
 * cells' map grows (which waits for readers of this process). */
static int s_cells_write(MDB_txn *cells, void *arg)
{
    s_cells_write_t *w = arg;
    MDB_txn *snap;
    int rc = store_read(w->ledger->store, &snap);
    if (rc)
        return rc;
    ledger_txn_t lt = {snap, w->ledger, 1, cells};
    rc = s_log_end(snap, w->ledger, &lt.next_seq);
    if (rc == 0)
        rc = w->fn(&lt, w->ctx);
    store_read_end(w->ledger->store, snap);
    return rc;
}

int ledger_cells_write(ledger_t *self, ledger_write_fn fn, void *ctx)
{
    s_cells_write_t w = {self, fn, ctx};
    return store_write(self->cells, s_cells_write, &w);
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
    s_write_ctx_t w = {{NULL, self, ledger_next_seq(self), NULL}, fn, ctx, 0};
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
    ledger_txn_t lt = {txn, l->ledger, ledger_next_seq(l->ledger), NULL};
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
    /* The dedupe entry first: an id already stored (MDB_KEYEXIST) leaves
     * the log untouched, so the transaction stays good for the next event. */
    uint8_t dkey[DEDUPE_KEY_LEN];
    s_dedupe_key(dkey, forbund, id);
    MDB_val dk = {DEDUPE_KEY_LEN, dkey}, dv = {8, key};
    int rc = mdb_put(lt->txn, ledger_dbi(lt->ledger, LEDGER_DB_DEDUPE), &dk, &dv, MDB_NOOVERWRITE);
    if (rc)
        return rc;
    MDB_val k = {8, key}, v = {LOG_HEADER + len, NULL};
    /* MDB_RESERVE: write the record straight into the page, no copy. */
    rc = mdb_put(lt->txn, ledger_dbi(lt->ledger, LEDGER_DB_LOG), &k, &v, MDB_APPEND | MDB_RESERVE);
    if (rc)
        return rc;
    uint8_t *p = v.mv_data;
    p[0] = 1;
    be64_put(p + 1, (uint64_t) received_ms);
    memcpy(p + LOG_HEADER, bytes, len);
    *seq = lt->next_seq++;
    return 0;
}

int ledger_log_bytes(const MDB_val *record, const uint8_t **bytes, size_t *len)
{
    if (record->mv_size < LOG_HEADER)
        return MDB_CORRUPTED;
    *bytes = (const uint8_t *) record->mv_data + LOG_HEADER;
    *len = record->mv_size - LOG_HEADER;
    return 0;
}

int ledger_log_event(const MDB_val *record, event_msg_t **ev, char *why, size_t whylen)
{
    const uint8_t *bytes;
    size_t len;
    if (ledger_log_bytes(record, &bytes, &len)) {
        snprintf(why, whylen, "log record of %zu bytes, shorter than its header", record->mv_size);
        return MDB_CORRUPTED;
    }
    return codec_decode_event(bytes, len, ev, why, whylen) ? MDB_CORRUPTED : 0;
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

/* be64 seq -> be64 seq databases (retracted, erasing). */
static int s_seq_get(MDB_txn *txn, const ledger_t *self, ledger_db_t db, uint64_t seq, uint64_t *by_seq)
{
    uint8_t key[8];
    be64_put(key, seq);
    MDB_val k = {8, key}, v;
    int rc = mdb_get(txn, ledger_dbi(self, db), &k, &v);
    if (rc == 0)
        *by_seq = v.mv_size == 8 ? be64_get(v.mv_data) : 0;
    return rc;
}

static int s_seq_put_new(MDB_txn *txn, const ledger_t *self, ledger_db_t db, uint64_t seq, uint64_t by_seq)
{
    uint8_t key[8], val[8];
    be64_put(key, seq);
    be64_put(val, by_seq);
    MDB_val k = {8, key}, v = {8, val};
    return mdb_put(txn, ledger_dbi(self, db), &k, &v, MDB_NOOVERWRITE);
}

int ledger_mark_retracted(MDB_txn *txn, const ledger_t *self, uint64_t target_seq, uint64_t by_seq)
{
    return s_seq_put_new(txn, self, LEDGER_DB_RETRACTED, target_seq, by_seq);
}

bool ledger_is_retracted(MDB_txn *txn, const ledger_t *self, uint64_t seq)
{
    uint64_t by;
    return s_seq_get(txn, self, LEDGER_DB_RETRACTED, seq, &by) == 0;
}

int ledger_retracted_by(MDB_txn *txn, const ledger_t *self, uint64_t seq, uint64_t *by_seq)
{
    return s_seq_get(txn, self, LEDGER_DB_RETRACTED, seq, by_seq);
}

int ledger_mark_erasing(MDB_txn *txn, const ledger_t *self, uint64_t seq, uint64_t by_seq)
{
    return s_seq_put_new(txn, self, LEDGER_DB_ERASING, seq, by_seq);
}

int ledger_erasing(MDB_txn *txn, const ledger_t *self, uint64_t seq, uint64_t *by_seq)
{
    return s_seq_get(txn, self, LEDGER_DB_ERASING, seq, by_seq);
}

/* The agent record's fields after the förbund, in declaration order: all
 * 64-bit, contiguous from last_batch_seq to the end of the struct. */
#define S_AGENT_LEN 200
#define S_AGENT_WORDS ((S_AGENT_LEN - 16) / 8)
_Static_assert(sizeof(ledger_agent_t) == S_AGENT_LEN && offsetof(ledger_agent_t, last_batch_seq) == 16,
               "ledger_agent_t: le32, 12 bytes, then 64-bit fields only");

int ledger_agent_get(MDB_txn *txn, const ledger_t *self, const char *key_z85, ledger_agent_t *out)
{
    memset(out, 0, sizeof *out);
    MDB_val k = {strlen(key_z85), (void *) key_z85}, v;
    int rc = mdb_get(txn, ledger_dbi(self, LEDGER_DB_AGENTS), &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc)
        return rc;
    if (v.mv_size != S_AGENT_LEN)
        return MDB_CORRUPTED;
    const uint8_t *b = v.mv_data;
    out->version = (uint32_t) b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16 | (uint32_t) b[3] << 24;
    memcpy(out->forbund, b + 4, sizeof out->forbund);
    uint8_t *words = (uint8_t *) out + offsetof(ledger_agent_t, last_batch_seq); /* the 64-bit fields */
    for (size_t i = 0; i < S_AGENT_WORDS; i++) {
        uint64_t w = 0;
        for (int j = 7; j >= 0; j--)
            w = w << 8 | b[16 + 8 * i + (size_t) j];
        memcpy(words + 8 * i, &w, 8);
    }
    return out->version == 2 ? 0 : MDB_CORRUPTED;
}

int ledger_agent_put(MDB_txn *txn, const ledger_t *self, const char *key_z85, const ledger_agent_t *rec)
{
    uint8_t b[S_AGENT_LEN];
    uint32_t version = 2;
    for (int j = 0; j < 4; j++, version >>= 8)
        b[j] = (uint8_t) version;
    memcpy(b + 4, rec->forbund, sizeof rec->forbund);
    const uint8_t *words = (const uint8_t *) rec + offsetof(ledger_agent_t, last_batch_seq);
    for (size_t i = 0; i < S_AGENT_WORDS; i++) {
        uint64_t w;
        memcpy(&w, words + 8 * i, 8);
        for (int j = 0; j < 8; j++, w >>= 8)
            b[16 + 8 * i + (size_t) j] = (uint8_t) w;
    }
    MDB_val k = {strlen(key_z85), (void *) key_z85}, v = {sizeof b, b};
    return mdb_put(txn, ledger_dbi(self, LEDGER_DB_AGENTS), &k, &v, 0);
}
