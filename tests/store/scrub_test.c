/* scrub_test.c: store/scrub.c on real LMDB files: the bookkeeping of the
 * exact-copy set, a refused value, and both ways of overwriting deleted
 * bytes (store_scrub_run, store_scrub_wipe) leave no copy of them in
 * data.mdb while the live values and the file stay intact. The values are
 * shaped like encoded Events (`0a 10 <id>` first), as scrub.h requires. */
#include "testutil.h"

#include "scrub.h"

#include <errno.h>
#include <string.h>

#define VALUE_LEN 120

static const store_db_t s_dbs[] = {{"log", 0}};

/* Value n: `0a 10 <id n>`, then a marker that names n, padded. */
static void s_value(uint8_t out[VALUE_LEN], uint32_t n)
{
    memset(out, 0, VALUE_LEN);
    out[0] = 0x0a;
    out[1] = 0x10;
    memset(out + 2, 0xee, STORE_SCRUB_ID_LEN);
    memcpy(out + 2, &n, sizeof n);
    snprintf((char *) out + 18, VALUE_LEN - 18, "PAYLOAD-%06u-%s", n, n % 2 ? "odd" : "even");
    for (size_t i = 40; i < VALUE_LEN; i++)
        out[i] = (uint8_t) ('a' + (n + i) % 26);
}

typedef struct {
    uint32_t first, last; /* values [first, last] */
    bool del;             /* delete instead of put */
    store_scrub_t *kept;  /* deleted values are added here */
    uint64_t txnid;
} s_op_t;

static int s_apply(MDB_txn *txn, void *ctx)
{
    s_op_t *op = ctx;
    MDB_dbi dbi;
    int rc = mdb_dbi_open(txn, "log", 0, &dbi);
    if (op->kept)
        store_scrub_clear(op->kept); /* the body may run again */
    for (uint32_t n = op->first; n <= op->last && rc == 0; n++) {
        uint32_t key = htobe32(n);
        uint8_t v[VALUE_LEN];
        s_value(v, n);
        MDB_val kv = {sizeof key, &key}, vv = {VALUE_LEN, v};
        if (!op->del) {
            rc = mdb_put(txn, dbi, &kv, &vv, 0);
            continue;
        }
        rc = mdb_del(txn, dbi, &kv, NULL);
        if (rc == 0 && op->kept)
            rc = store_scrub_add(op->kept, v + 2, v, VALUE_LEN);
    }
    op->txnid = mdb_txn_id(txn);
    return rc;
}

static void s_run(store_t *s, uint32_t first, uint32_t last, bool del, store_scrub_t *kept, uint64_t *txnid)
{
    s_op_t op = {first, last, del, kept, 0};
    CHECK_EQ(store_write(s, s_apply, &op), 0);
    if (txnid)
        *txnid = op.txnid;
}

/* Copies of value n's marker in data.mdb. */
static long s_copies(const char *dir, uint32_t n)
{
    char path[256], marker[32];
    snprintf(path, sizeof path, "%s/data.mdb", dir);
    int len = snprintf(marker, sizeof marker, "PAYLOAD-%06u-", n);
    return tu_count_bytes_in_file(path, marker, (size_t) len);
}

static void s_check_live(store_t *s, uint32_t first, uint32_t last)
{
    MDB_txn *txn;
    CHECK_EQ(store_read(s, &txn), 0);
    for (uint32_t n = first; n <= last; n++) {
        uint32_t key = htobe32(n);
        MDB_val kv = {sizeof key, &key}, vv;
        CHECK_EQ(mdb_get(txn, store_dbi(s, 0), &kv, &vv), 0);
        uint8_t want[VALUE_LEN];
        s_value(want, n);
        CHECK_EQ(vv.mv_size, VALUE_LEN);
        CHECK(memcmp(vv.mv_data, want, VALUE_LEN) == 0);
    }
    store_read_end(s, txn);
}

/* The extra commit scrub.h asks for, after dropping LMDB's page buffers. */
static void s_settle(store_t *s)
{
    CHECK_EQ(store_reopen(s), 0);
    s_run(s, 1000000, 1000000, false, NULL, NULL);
}

static void test_set_bookkeeping(void)
{
    store_scrub_t *k = store_scrub_new();
    CHECK(k);
    CHECK_EQ(store_scrub_size(k), 0);
    uint8_t v[VALUE_LEN];
    for (uint32_t n = 1; n <= 5; n++) {
        s_value(v, n);
        CHECK_EQ(store_scrub_add(k, v + 2, v, VALUE_LEN), 0);
    }
    CHECK_EQ(store_scrub_size(k), 5);
    CHECK_EQ(store_scrub_bytes(k), 5 * VALUE_LEN);
    store_scrub_truncate(k, 3);
    CHECK_EQ(store_scrub_size(k), 3);
    CHECK_EQ(store_scrub_bytes(k), 3 * VALUE_LEN);
    store_scrub_truncate(k, 10); /* longer than kept: nothing changes */
    CHECK_EQ(store_scrub_size(k), 3);
    store_scrub_clear(k);
    CHECK_EQ(store_scrub_size(k), 0);
    CHECK_EQ(store_scrub_bytes(k), 0);
    store_scrub_destroy(&k);
    CHECK(k == NULL);
    store_scrub_destroy(&k);
}

static void test_refuses_value_without_id(void)
{
    store_scrub_t *k = store_scrub_new();
    uint8_t v[VALUE_LEN], other[STORE_SCRUB_ID_LEN];
    s_value(v, 7);
    memset(other, 0x11, sizeof other);
    CHECK_EQ(store_scrub_add(k, other, v, VALUE_LEN), EINVAL);
    v[0] = 0x12; /* not field 1 of an Event */
    CHECK_EQ(store_scrub_add(k, v + 2, v, VALUE_LEN), EINVAL);
    CHECK_EQ(store_scrub_size(k), 0);
    store_scrub_destroy(&k);
}

static void test_run_overwrites_exact_copies(void)
{
    const char *dir = tu_tempdir();
    store_t *s = NULL;
    CHECK_EQ(store_open(&s, dir, s_dbs, 1, 0), 0);
    s_run(s, 1, 200, false, NULL, NULL);
    store_scrub_t *k = store_scrub_new();
    uint64_t txnid;
    s_run(s, 50, 99, true, k, &txnid);
    CHECK_EQ(store_scrub_size(k), 50);
    s_settle(s);
    long before = 0;
    for (uint32_t n = 50; n <= 99; n++)
        before += s_copies(dir, n);
    fprintf(stderr, "copies of deleted values before the scrub: %ld\n", before);
    CHECK(before > 0); /* LMDB left them in freed pages */

    store_scrub_report_t r;
    char err[256] = "";
    int rc = store_scrub_run(k, s, txnid, 1000, &r, err, sizeof err);
    if (rc)
        fprintf(stderr, "store_scrub_run: %s\n", err);
    CHECK_EQ(rc, 0);
    CHECK_EQ(r.values, 50);
    CHECK(r.copies >= 50);
    CHECK(r.scanned > 0);
    CHECK_EQ(r.old_readers, 0);
    CHECK_EQ(store_scrub_size(k), 0); /* cleared on success */
    for (uint32_t n = 50; n <= 99; n++)
        CHECK_EQ(s_copies(dir, n), 0);
    s_check_live(s, 1, 49);
    s_check_live(s, 100, 200);
    store_scrub_destroy(&k);
    store_close(&s);

    /* The file is still a valid store. */
    CHECK_EQ(store_open(&s, dir, s_dbs, 1, 0), 0);
    s_check_live(s, 1, 49);
    s_run(s, 300, 310, false, NULL, NULL);
    s_check_live(s, 300, 310);
    store_close(&s);
}

static void test_wipe_overwrites_free_space(void)
{
    const char *dir = tu_tempdir();
    store_t *s = NULL;
    CHECK_EQ(store_open(&s, dir, s_dbs, 1, 0), 0);
    /* A queue's life: many puts, deletes at the front. */
    uint64_t txnid = 0;
    for (uint32_t b = 0; b < 10; b++) {
        s_run(s, 1 + b * 100, 100 + b * 100, false, NULL, NULL);
        if (b > 0)
            s_run(s, 1 + (b - 1) * 100, (b - 1) * 100 + 100, true, NULL, &txnid);
    }
    s_settle(s);
    /* Markers only of values deleted: the shared prefix "PAYLOAD-000" is
     * kept by live values too, so count whole markers. */
    long before = 0;
    for (uint32_t n = 1; n <= 900; n++)
        before += s_copies(dir, n);
    fprintf(stderr, "copies of deleted values before the wipe: %ld\n", before);
    CHECK(before > 0);

    store_scrub_report_t r;
    char err[256] = "";
    int rc = store_scrub_wipe(s, txnid, 1000, &r, err, sizeof err);
    if (rc)
        fprintf(stderr, "store_scrub_wipe: %s\n", err);
    CHECK_EQ(rc, 0);
    CHECK(r.zeroed > 0);
    CHECK_EQ(r.odd_pages, 0);
    long after = 0;
    for (uint32_t n = 1; n <= 900; n++)
        after += s_copies(dir, n);
    fprintf(stderr, "after: %ld (free pages %llu, gaps %llu, held %llu)\n", after,
            (unsigned long long) r.free_pages, (unsigned long long) r.gaps,
            (unsigned long long) r.held_pages);
    CHECK_EQ(after, 0);
    s_check_live(s, 901, 1000);
    store_close(&s);

    CHECK_EQ(store_open(&s, dir, s_dbs, 1, 0), 0);
    s_check_live(s, 901, 1000);
    s_run(s, 2000, 2100, false, NULL, NULL);
    s_check_live(s, 2000, 2100);
    store_close(&s);
}

/* A reader from before the deletion is reported, not waited for forever. */
static void test_old_reader_is_counted(void)
{
    const char *dir = tu_tempdir();
    store_t *s = NULL;
    CHECK_EQ(store_open(&s, dir, s_dbs, 1, 0), 0);
    s_run(s, 1, 20, false, NULL, NULL);
    MDB_txn *old;
    CHECK_EQ(store_read(s, &old), 0);
    uint64_t txnid;
    s_run(s, 1, 10, true, NULL, &txnid);
    CHECK_EQ(store_scrub_old_readers(s, txnid), 1);
    store_read_end(s, old);
    CHECK_EQ(store_scrub_old_readers(s, txnid), 0);
    store_close(&s);
}

static const test_case_t s_cases[] = {
    {"set bookkeeping", test_set_bookkeeping},
    {"a value without its id is refused", test_refuses_value_without_id},
    {"run overwrites exact copies", test_run_overwrites_exact_copies},
    {"wipe overwrites free space", test_wipe_overwrites_free_space},
    {"an old reader is counted", test_old_reader_is_counted},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
