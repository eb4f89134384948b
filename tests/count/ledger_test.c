/* ledger_test.c: count/ledger.c on real LMDB directories: the schema
 * stamp and the refusal of other versions, log positions (contiguous,
 * reused by a retry after map growth, untouched by an aborted body), the
 * dedupe index scoped per förbund, retractions, replacement in place,
 * agent records, cursors over the log's layout, and readers beside the
 * writer. */
#include "testutil.h"

#include "ledger.h"
#include "util.h"

#include <errno.h>
#include <string.h>

static char s_err[512];

static ledger_t *s_open(const char *dir)
{
    ledger_t *l = NULL;
    s_err[0] = '\0';
    int rc = ledger_open(&l, dir, false, s_err, sizeof s_err);
    if (rc)
        fprintf(stderr, "ledger_open %s: %s\n", dir, s_err);
    CHECK_EQ(rc, 0);
    CHECK(l);
    return l;
}

static void s_id(uint8_t id[16], uint32_t n)
{
    memset(id, 0, 16);
    be32_put(id, 674);
    be32_put(id + 4, n);
    be32_put(id + 12, n);
}

/* Event bytes of n: not a real Event (the ledger does not decode). */
static size_t s_bytes(uint8_t *out, size_t cap, uint32_t n)
{
    return (size_t) snprintf((char *) out, cap, "event-%u-%s", n, n % 3 ? "short" : "a little longer");
}

/* Appends events [first, first + count) of `forbund`; the seqs each got. */
typedef struct {
    const char *forbund;
    uint32_t first, count;
    size_t pad;     /* extra bytes per event, to fill the map */
    int rc_of_body; /* returned after appending, to abort */
    uint64_t seqs[4096];
    int runs;
    int rc_dup; /* ledger_append's result for a duplicate, if asked */
    bool dup_first;
} s_append_t;

static int s_append(ledger_txn_t *lt, void *arg)
{
    s_append_t *a = arg;
    a->runs++;
    uint8_t *buf = malloc(256 + a->pad);
    if (!buf)
        return ENOMEM;
    int rc = 0;
    for (uint32_t i = 0; i < a->count && rc == 0; i++) {
        uint8_t id[16];
        s_id(id, a->first + i);
        size_t len = s_bytes(buf, 256, a->first + i);
        memset(buf + len, 'p', a->pad);
        rc = ledger_append(lt, a->forbund, id, buf, len + a->pad, 1700000000000 + a->first + i, &a->seqs[i]);
    }
    free(buf);
    return rc ? rc : a->rc_of_body;
}

/* A duplicate of event 1, then event 50, in one transaction. */
static int s_dup_then_new(ledger_txn_t *lt, void *arg)
{
    (void) arg;
    uint8_t id[16], buf[256];
    uint64_t seq = 0;
    s_id(id, 1);
    size_t len = s_bytes(buf, sizeof buf, 1);
    int rc = ledger_append(lt, "NV", id, buf, len, 1700000000001, &seq);
    if (rc != MDB_KEYEXIST)
        return rc ? rc : EINVAL;
    s_id(id, 50);
    len = s_bytes(buf, sizeof buf, 50);
    if ((rc = ledger_append(lt, "NV", id, buf, len, 1700000000050, &seq)))
        return rc;
    return seq == 5 ? 0 : EINVAL;
}

static void s_check_event(ledger_t *l, MDB_txn *txn, uint64_t seq, uint32_t n)
{
    const uint8_t *bytes;
    size_t len;
    int64_t received;
    CHECK_EQ(ledger_get(txn, l, seq, &bytes, &len, &received), 0);
    uint8_t want[256];
    size_t wlen = s_bytes(want, sizeof want, n);
    CHECK(len >= wlen);
    CHECK(!memcmp(bytes, want, wlen));
    CHECK_EQ(received, 1700000000000 + n);
}

static int s_put_schema(ledger_txn_t *lt, void *arg)
{
    const MDB_val *v = arg;
    MDB_val k = {6, "schema"}, val = *v;
    return mdb_put(lt->txn, ledger_dbi(lt->ledger, LEDGER_DB_META), &k, &val, 0);
}

/* Opens a fresh ledger in dir, writes meta "schema" = bytes, closes. */
static void s_stamp(const char *dir, const void *bytes, size_t len)
{
    ledger_t *l = s_open(dir);
    MDB_val v = {len, (void *) bytes};
    CHECK_EQ(ledger_write(l, s_put_schema, &v), 0);
    ledger_close(&l);
}

static void test_schema_stamp(void)
{
    const char *dir = tu_tempdir();
    ledger_t *l = s_open(dir);
    MDB_txn *txn;
    CHECK_EQ(store_read(ledger_store(l), &txn), 0);
    MDB_val k = {6, "schema"}, v;
    CHECK_EQ(mdb_get(txn, ledger_dbi(l, LEDGER_DB_META), &k, &v), 0);
    CHECK_EQ(v.mv_size, 4);
    CHECK_EQ(be32_get(v.mv_data), LEDGER_SCHEMA_VERSION);
    store_read_end(ledger_store(l), txn);
    CHECK(!strcmp(ledger_dir(l), dir));
    CHECK_EQ(ledger_next_seq(l), 1);
    ledger_close(&l);
    CHECK(l == NULL);
    ledger_close(&l);
    /* Opens again, read-only too. */
    l = s_open(dir);
    ledger_close(&l);
    CHECK_EQ(ledger_open(&l, dir, true, s_err, sizeof s_err), 0);
    ledger_close(&l);
    /* The current store is not the upgrade's business. */
    l = (ledger_t *) 1;
    uint32_t version = 0;
    CHECK_EQ(ledger_open_previous(&l, dir, &version, s_err, sizeof s_err), FIN_OK);
    CHECK(l == NULL);
    CHECK_EQ(version, LEDGER_SCHEMA_VERSION);
}

static void test_other_schema_refused(void)
{
    const char *dir = tu_tempdir();
    char path[600];
    uint8_t v[4];

    snprintf(path, sizeof path, "%s/old", dir);
    be32_put(v, 3);
    s_stamp(path, v, 4);
    ledger_t *l = NULL;
    CHECK(ledger_open(&l, path, false, s_err, sizeof s_err) != 0);
    CHECK(l == NULL);
    fprintf(stderr, "%s\n", s_err);
    char want[80];
    snprintf(want, sizeof want, "store schema version 3, this finsam reads version %d",
             LEDGER_SCHEMA_VERSION);
    CHECK(strstr(s_err, want));
    uint32_t version = 0;
    CHECK_EQ(ledger_open_previous(&l, path, &version, s_err, sizeof s_err), FIN_EVERSION);
    CHECK(l == NULL);

    snprintf(path, sizeof path, "%s/new", dir);
    be32_put(v, LEDGER_SCHEMA_VERSION + 1);
    s_stamp(path, v, 4);
    CHECK(ledger_open(&l, path, true, s_err, sizeof s_err) != 0);
    snprintf(want, sizeof want, "store schema version %d", LEDGER_SCHEMA_VERSION + 1);
    CHECK(strstr(s_err, want));

    snprintf(path, sizeof path, "%s/odd", dir);
    s_stamp(path, "\0\5", 2);
    CHECK(ledger_open(&l, path, false, s_err, sizeof s_err) != 0);
    CHECK(strstr(s_err, "unreadable (2 bytes)"));
}

static int s_stamp_current(ledger_txn_t *lt, void *arg)
{
    (void) arg;
    return ledger_stamp_schema(lt, LEDGER_SCHEMA_VERSION);
}

/* The previous schema: refused by ledger_open with the way out named,
 * opened by ledger_open_previous (for finsamctl migrate), current after
 * ledger_stamp_schema. */
static void test_previous_schema(void)
{
    const char *dir = tu_tempdir();
    uint8_t v[4];
    be32_put(v, LEDGER_SCHEMA_PREVIOUS);
    s_stamp(dir, v, 4);
    ledger_t *l = NULL;
    CHECK(ledger_open(&l, dir, false, s_err, sizeof s_err) != 0);
    CHECK(strstr(s_err, "migrate"));
    uint32_t version = 0;
    CHECK_EQ(ledger_open_previous(&l, dir, &version, s_err, sizeof s_err), FIN_OK);
    CHECK(l != NULL);
    CHECK_EQ(version, LEDGER_SCHEMA_PREVIOUS);
    CHECK_EQ(ledger_write(l, s_stamp_current, NULL), 0);
    ledger_close(&l);
    l = s_open(dir);
    ledger_close(&l);
}

static void test_append_and_get(void)
{
    ledger_t *l = s_open(tu_tempdir());
    s_append_t a = {.forbund = "NV", .first = 1, .count = 10};
    CHECK_EQ(ledger_write(l, s_append, &a), 0);
    for (uint32_t i = 0; i < 10; i++)
        CHECK_EQ(a.seqs[i], i + 1);
    CHECK_EQ(ledger_next_seq(l), 11);
    s_append_t b = {.forbund = "HBS", .first = 100, .count = 5};
    CHECK_EQ(ledger_write(l, s_append, &b), 0);
    CHECK_EQ(b.seqs[0], 11);
    CHECK_EQ(ledger_next_seq(l), 16);

    MDB_txn *txn;
    CHECK_EQ(store_read(ledger_store(l), &txn), 0);
    for (uint32_t i = 0; i < 10; i++)
        s_check_event(l, txn, i + 1, 1 + i);
    s_check_event(l, txn, 15, 104);
    const uint8_t *bytes;
    size_t len;
    CHECK_EQ(ledger_get(txn, l, 16, &bytes, &len, NULL), MDB_NOTFOUND);
    CHECK_EQ(ledger_get(txn, l, 0, &bytes, &len, NULL), MDB_NOTFOUND);
    store_read_end(ledger_store(l), txn);
    ledger_close(&l);
}

/* The layout ledger.h promises, read with a cursor: be64 seq keys in
 * order, each record [1][be64 received_ms][event]. */
static void test_log_cursor(void)
{
    ledger_t *l = s_open(tu_tempdir());
    s_append_t a = {.forbund = "NV", .first = 1, .count = 300};
    CHECK_EQ(ledger_write(l, s_append, &a), 0);
    MDB_txn *txn;
    CHECK_EQ(store_read(ledger_store(l), &txn), 0);
    MDB_cursor *cur;
    CHECK_EQ(mdb_cursor_open(txn, ledger_dbi(l, LEDGER_DB_LOG), &cur), 0);
    MDB_val k, v;
    uint64_t expect = 1;
    int rc;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        CHECK_EQ(k.mv_size, 8);
        CHECK_EQ(be64_get(k.mv_data), expect);
        const uint8_t *p = v.mv_data;
        CHECK_EQ(p[0], 1);
        CHECK_EQ(be64_get(p + 1), 1700000000000 + expect);
        uint8_t want[256];
        size_t wlen = s_bytes(want, sizeof want, (uint32_t) expect);
        CHECK_EQ(v.mv_size, 9 + wlen);
        CHECK(!memcmp(p + 9, want, wlen));
        expect++;
    }
    CHECK_EQ(rc, MDB_NOTFOUND);
    CHECK_EQ(expect, 301);
    /* From the end backwards: the last position is next_seq - 1. */
    CHECK_EQ(mdb_cursor_get(cur, &k, &v, MDB_LAST), 0);
    CHECK_EQ(be64_get(k.mv_data), ledger_next_seq(l) - 1);
    /* The dedupe index in key order: förbund then id. */
    mdb_cursor_close(cur);
    CHECK_EQ(mdb_cursor_open(txn, ledger_dbi(l, LEDGER_DB_DEDUPE), &cur), 0);
    size_t n = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        CHECK_EQ(k.mv_size, LEDGER_FORBUND_LEN + 16);
        CHECK(!memcmp(k.mv_data, "NV\0\0\0\0\0\0", 8));
        CHECK_EQ(v.mv_size, 8);
        n++;
    }
    CHECK_EQ(n, 300);
    mdb_cursor_close(cur);
    store_read_end(ledger_store(l), txn);
    ledger_close(&l);
}

static void test_dedupe_per_forbund(void)
{
    ledger_t *l = s_open(tu_tempdir());
    s_append_t nv = {.forbund = "NV", .first = 1, .count = 3};
    CHECK_EQ(ledger_write(l, s_append, &nv), 0);
    /* The same ids from another förbund are other events. */
    s_append_t hbs = {.forbund = "HBS", .first = 2, .count = 1};
    CHECK_EQ(ledger_write(l, s_append, &hbs), 0);
    CHECK_EQ(hbs.seqs[0], 4);
    /* The same id from the same förbund is refused, and nothing lands. */
    s_append_t dup = {.forbund = "NV", .first = 3, .count = 1};
    CHECK_EQ(ledger_write(l, s_append, &dup), MDB_KEYEXIST);
    CHECK_EQ(ledger_next_seq(l), 5);
    /* Inside one transaction a refused duplicate writes nothing: the next
     * append takes the position the duplicate did not. */
    CHECK_EQ(ledger_write(l, s_dup_then_new, NULL), 0);
    CHECK_EQ(ledger_next_seq(l), 6);

    MDB_txn *txn;
    CHECK_EQ(store_read(ledger_store(l), &txn), 0);
    uint8_t id[16];
    uint64_t seq = 0;
    s_id(id, 2);
    CHECK_EQ(ledger_find(txn, l, "NV", id, &seq), 0);
    CHECK_EQ(seq, 2);
    CHECK_EQ(ledger_find(txn, l, "HBS", id, &seq), 0);
    CHECK_EQ(seq, 4);
    CHECK_EQ(ledger_find(txn, l, "IF", id, &seq), MDB_NOTFOUND);
    s_id(id, 1);
    CHECK_EQ(ledger_find(txn, l, "HBS", id, &seq), MDB_NOTFOUND);
    const uint8_t *bytes;
    size_t len;
    CHECK_EQ(ledger_get(txn, l, 5, &bytes, &len, NULL), 0); /* event 50, not the duplicate */
    s_check_event(l, txn, 5, 50);
    CHECK_EQ(ledger_get(txn, l, 6, &bytes, &len, NULL), MDB_NOTFOUND);

    char forbund[LEDGER_FORBUND_LEN + 1];
    int count = -1;
    s_id(id, 2);
    CHECK_EQ(ledger_find_any(txn, l, id, forbund, &seq, &count), 0);
    CHECK_EQ(count, 2);
    CHECK(!strcmp(forbund, "HBS")); /* first in key order */
    CHECK_EQ(seq, 4);
    s_id(id, 3);
    CHECK_EQ(ledger_find_any(txn, l, id, forbund, &seq, &count), 0);
    CHECK_EQ(count, 1);
    CHECK(!strcmp(forbund, "NV"));
    CHECK_EQ(seq, 3);
    s_id(id, 99);
    CHECK_EQ(ledger_find_any(txn, l, id, forbund, &seq, &count), 0);
    CHECK_EQ(count, 0);
    store_read_end(ledger_store(l), txn);
    ledger_close(&l);
}

/* A retry after map growth appends at the same positions: contiguous
 * from 1, no gap, no duplicate. */
static void test_growth_reuses_positions(void)
{
    setenv("FINSAM_STORE_INITIAL_MAP_MB", "1", 1);
    ledger_t *l = s_open(tu_tempdir());
    s_append_t *a = calloc(1, sizeof *a);
    *a = (s_append_t){.forbund = "NV", .first = 1, .count = 2000, .pad = 2000};
    CHECK_EQ(ledger_write(l, s_append, a), 0);
    CHECK(a->runs > 1);
    CHECK(store_grow_count(ledger_store(l)) >= 1);
    for (uint32_t i = 0; i < a->count; i++)
        CHECK_EQ(a->seqs[i], i + 1);
    CHECK_EQ(ledger_next_seq(l), 2001);
    MDB_txn *txn;
    CHECK_EQ(store_read(ledger_store(l), &txn), 0);
    MDB_stat st;
    CHECK_EQ(mdb_stat(txn, ledger_dbi(l, LEDGER_DB_LOG), &st), 0);
    CHECK_EQ(st.ms_entries, 2000);
    CHECK_EQ(mdb_stat(txn, ledger_dbi(l, LEDGER_DB_DEDUPE), &st), 0);
    CHECK_EQ(st.ms_entries, 2000);
    s_check_event(l, txn, 2000, 2000);
    store_read_end(ledger_store(l), txn);
    free(a);
    ledger_close(&l);
    unsetenv("FINSAM_STORE_INITIAL_MAP_MB");
}

static void test_aborted_body_leaves_nothing(void)
{
    const char *dir = tu_tempdir();
    ledger_t *l = s_open(dir);
    s_append_t a = {.forbund = "NV", .first = 1, .count = 5};
    CHECK_EQ(ledger_write(l, s_append, &a), 0);
    s_append_t b = {.forbund = "NV", .first = 10, .count = 5, .rc_of_body = MDB_PANIC};
    CHECK_EQ(ledger_write(l, s_append, &b), MDB_PANIC);
    CHECK_EQ(ledger_next_seq(l), 6);
    s_append_t c = {.forbund = "NV", .first = 10, .count = 1};
    CHECK_EQ(ledger_write(l, s_append, &c), 0);
    CHECK_EQ(c.seqs[0], 6);
    ledger_close(&l);
    /* A reopened ledger finds its next position in the log. */
    l = s_open(dir);
    CHECK_EQ(ledger_next_seq(l), 7);
    ledger_close(&l);
}

static int s_append_locked(ledger_txn_t *lt, void *arg)
{
    int rc = s_append(lt, arg);
    return rc ? rc : 42;
}

/* ledger_locked runs with the writer lock and changes nothing. */
static void test_locked_changes_nothing(void)
{
    ledger_t *l = s_open(tu_tempdir());
    s_append_t a = {.forbund = "NV", .first = 1, .count = 5};
    CHECK_EQ(ledger_locked(l, s_append_locked, &a), 42);
    CHECK_EQ(a.seqs[0], 1);
    CHECK_EQ(ledger_next_seq(l), 1);
    MDB_txn *txn;
    CHECK_EQ(store_read(ledger_store(l), &txn), 0);
    const uint8_t *bytes;
    size_t len;
    CHECK_EQ(ledger_get(txn, l, 1, &bytes, &len, NULL), MDB_NOTFOUND);
    store_read_end(ledger_store(l), txn);
    ledger_close(&l);
}

/* A reader's snapshot does not move under a writer. */
static void test_read_beside_write(void)
{
    ledger_t *l = s_open(tu_tempdir());
    s_append_t a = {.forbund = "NV", .first = 1, .count = 5};
    CHECK_EQ(ledger_write(l, s_append, &a), 0);
    MDB_txn *old;
    CHECK_EQ(store_read(ledger_store(l), &old), 0);
    s_append_t b = {.forbund = "NV", .first = 6, .count = 5};
    CHECK_EQ(ledger_write(l, s_append, &b), 0);
    const uint8_t *bytes;
    size_t len;
    uint64_t seq;
    uint8_t id[16];
    s_id(id, 8);
    CHECK_EQ(ledger_get(old, l, 8, &bytes, &len, NULL), MDB_NOTFOUND);
    CHECK_EQ(ledger_find(old, l, "NV", id, &seq), MDB_NOTFOUND);
    MDB_txn *now;
    CHECK_EQ(store_read(ledger_store(l), &now), 0);
    s_check_event(l, now, 8, 8);
    CHECK_EQ(ledger_find(now, l, "NV", id, &seq), 0);
    CHECK_EQ(seq, 8);
    store_read_end(ledger_store(l), now);
    s_check_event(l, old, 5, 5);
    store_read_end(ledger_store(l), old);
    ledger_close(&l);
}

typedef struct {
    uint64_t target, by;
    int rc_first, rc_again;
    uint64_t replace_seq;
    const char *replacement;
    int rc_replace;
} s_mark_t;

static int s_mark(ledger_txn_t *lt, void *arg)
{
    s_mark_t *m = arg;
    m->rc_first = ledger_mark_retracted(lt->txn, lt->ledger, m->target, m->by);
    m->rc_again = ledger_mark_retracted(lt->txn, lt->ledger, m->target, m->by + 1);
    if (m->replacement)
        m->rc_replace = ledger_replace(lt->txn, lt->ledger, m->replace_seq, (const uint8_t *) m->replacement,
                                       strlen(m->replacement));
    return m->rc_first;
}

static void test_retract_and_replace(void)
{
    ledger_t *l = s_open(tu_tempdir());
    s_append_t a = {.forbund = "NV", .first = 1, .count = 5};
    CHECK_EQ(ledger_write(l, s_append, &a), 0);
    s_mark_t m = {.target = 2, .by = 5, .replace_seq = 3, .replacement = "tombstone"};
    CHECK_EQ(ledger_write(l, s_mark, &m), 0);
    CHECK_EQ(m.rc_first, 0);
    CHECK_EQ(m.rc_again, MDB_KEYEXIST);
    CHECK_EQ(m.rc_replace, 0);
    MDB_txn *txn;
    CHECK_EQ(store_read(ledger_store(l), &txn), 0);
    CHECK(ledger_is_retracted(txn, l, 2));
    CHECK(!ledger_is_retracted(txn, l, 1));
    CHECK(!ledger_is_retracted(txn, l, 5));
    const uint8_t *bytes;
    size_t len;
    int64_t received;
    CHECK_EQ(ledger_get(txn, l, 3, &bytes, &len, &received), 0);
    CHECK_EQ(len, 9);
    CHECK(!memcmp(bytes, "tombstone", 9));
    CHECK_EQ(received, 1700000000003); /* kept */
    s_check_event(l, txn, 4, 4);       /* neighbours untouched */
    store_read_end(ledger_store(l), txn);
    CHECK_EQ(ledger_next_seq(l), 6); /* the position stays */

    s_mark_t missing = {.target = 1, .by = 2, .replace_seq = 99, .replacement = "x"};
    CHECK_EQ(ledger_write(l, s_mark, &missing), 0);
    CHECK_EQ(missing.rc_replace, MDB_NOTFOUND);
    ledger_close(&l);
}

typedef struct {
    const char *key;
    ledger_agent_t rec;
    int rc;
} s_agent_op_t;

static int s_agent_put(ledger_txn_t *lt, void *arg)
{
    s_agent_op_t *op = arg;
    return ledger_agent_put(lt->txn, lt->ledger, op->key, &op->rec);
}

typedef struct {
    const char *key;
    const void *bytes;
    size_t len;
} s_raw_t;

static int s_agent_raw(ledger_txn_t *lt, void *arg)
{
    s_raw_t *r = arg;
    MDB_val k = {strlen(r->key), (void *) r->key}, v = {r->len, (void *) r->bytes};
    return mdb_put(lt->txn, ledger_dbi(lt->ledger, LEDGER_DB_AGENTS), &k, &v, 0);
}

static void test_agent_records(void)
{
    ledger_t *l = s_open(tu_tempdir());
    const char *key = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7";
    MDB_txn *txn;
    ledger_agent_t got;
    CHECK_EQ(store_read(ledger_store(l), &txn), 0);
    memset(&got, 0x77, sizeof got);
    CHECK_EQ(ledger_agent_get(txn, l, key, &got), 0); /* unknown: zeroed */
    ledger_agent_t zero = {0};
    CHECK(!memcmp(&got, &zero, sizeof got));
    store_read_end(ledger_store(l), txn);

    s_agent_op_t op = {key, {0}, 0};
    op.rec.version = 2;
    snprintf(op.rec.forbund, sizeof op.rec.forbund, "NV");
    op.rec.last_batch_seq = 17;
    op.rec.events_stored = 1000;
    op.rec.rejects[3] = 2;
    op.rec.queued_at_agent = 5;
    CHECK_EQ(ledger_write(l, s_agent_put, &op), 0);
    CHECK_EQ(store_read(ledger_store(l), &txn), 0);
    CHECK_EQ(ledger_agent_get(txn, l, key, &got), 0);
    CHECK(!memcmp(&got, &op.rec, sizeof got));
    store_read_end(ledger_store(l), txn);

    /* put stamps the layout version itself. */
    op.rec.version = 0;
    CHECK_EQ(ledger_write(l, s_agent_put, &op), 0);
    CHECK_EQ(store_read(ledger_store(l), &txn), 0);
    CHECK_EQ(ledger_agent_get(txn, l, key, &got), 0);
    CHECK_EQ(got.version, 2);
    store_read_end(ledger_store(l), txn);

    /* A record of another layout (version or size) is refused as corrupt. */
    ledger_agent_t old = op.rec;
    old.version = 1;
    s_raw_t raw = {key, &old, sizeof old};
    CHECK_EQ(ledger_write(l, s_agent_raw, &raw), 0);
    CHECK_EQ(store_read(ledger_store(l), &txn), 0);
    CHECK_EQ(ledger_agent_get(txn, l, key, &got), MDB_CORRUPTED);
    store_read_end(ledger_store(l), txn);
    raw.len = sizeof old - 8;
    CHECK_EQ(ledger_write(l, s_agent_raw, &raw), 0);
    CHECK_EQ(store_read(ledger_store(l), &txn), 0);
    CHECK_EQ(ledger_agent_get(txn, l, key, &got), MDB_CORRUPTED);
    store_read_end(ledger_store(l), txn);
    ledger_close(&l);
}

static void test_missing_directory_readonly(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s/none", tu_tempdir());
    ledger_t *l = (ledger_t *) 1;
    CHECK(ledger_open(&l, path, true, s_err, sizeof s_err) != 0);
    CHECK(l == NULL);
    fprintf(stderr, "%s\n", s_err);
    CHECK(strstr(s_err, path));
    CHECK(strstr(s_err, "No such file or directory"));
}

static const test_case_t s_cases[] = {
    {"schema stamp", test_schema_stamp},
    {"other schema versions refused", test_other_schema_refused},
    {"previous schema opened for its upgrade", test_previous_schema},
    {"append and get", test_append_and_get},
    {"cursors over the log and dedupe index", test_log_cursor},
    {"dedupe per förbund", test_dedupe_per_forbund},
    {"map growth reuses positions", test_growth_reuses_positions},
    {"an aborted body leaves nothing", test_aborted_body_leaves_nothing},
    {"ledger_locked changes nothing", test_locked_changes_nothing},
    {"read beside write", test_read_beside_write},
    {"retract and replace", test_retract_and_replace},
    {"agent records", test_agent_records},
    {"missing directory, read-only", test_missing_directory_readonly},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
