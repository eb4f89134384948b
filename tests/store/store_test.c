/* store_test.c: store/store.c on real LMDB directories: open and close,
 * grow-and-retry writes that outgrow a small map, read transactions beside
 * a writer (and beside map growth in another thread), the compacted backup
 * read back, reopen, read-only stores, the error text for a directory
 * that is not there, and derived stores across a restart of the system. */
#include "testutil.h"

#include "store.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const store_db_t s_dbs[] = {{"items", 0}, {"meta", 0}};
enum { DB_ITEMS, DB_META };

static store_t *s_open_in(const char *dir)
{
    store_t *s = NULL;
    int rc = store_open(&s, dir, s_dbs, 2, 0);
    if (rc)
        fprintf(stderr, "store_open %s: %s\n", dir, store_strerror(rc));
    CHECK_EQ(rc, 0);
    CHECK(s);
    return s;
}

/* Puts `count` values of `size` bytes under keys first.. in one
 * transaction; the value of key k is k's byte pattern. `runs` counts how
 * often the body ran (more than once after map growth). */
typedef struct {
    uint32_t first, count;
    size_t size;
    int runs;
    int fail_with; /* nonzero: the body returns this after writing */
} s_fill_t;

static void s_pattern(uint8_t *buf, size_t size, uint32_t k)
{
    for (size_t i = 0; i < size; i++)
        buf[i] = (uint8_t) (k * 31 + i * 7);
}

static int s_fill(MDB_txn *txn, void *ctx)
{
    s_fill_t *f = ctx;
    f->runs++;
    MDB_dbi dbi;
    int rc = mdb_dbi_open(txn, "items", 0, &dbi);
    if (rc)
        return rc;
    uint8_t *buf = malloc(f->size);
    if (!buf)
        return ENOMEM;
    for (uint32_t k = f->first; k < f->first + f->count && rc == 0; k++) {
        uint32_t key = htobe32(k);
        s_pattern(buf, f->size, k);
        MDB_val kv = {sizeof key, &key}, vv = {f->size, buf};
        rc = mdb_put(txn, dbi, &kv, &vv, 0);
    }
    free(buf);
    return rc ? rc : f->fail_with;
}

/* 0 if key k holds its pattern of `size` bytes, MDB_NOTFOUND if absent. */
static int s_get(store_t *s, MDB_txn *txn, uint32_t k, size_t size)
{
    uint32_t key = htobe32(k);
    MDB_val kv = {sizeof key, &key}, vv;
    int rc = mdb_get(txn, store_dbi(s, DB_ITEMS), &kv, &vv);
    if (rc)
        return rc;
    CHECK_EQ(vv.mv_size, size);
    uint8_t *want = malloc(size);
    s_pattern(want, size, k);
    int same = memcmp(vv.mv_data, want, size) == 0;
    free(want);
    CHECK(same);
    return 0;
}

static size_t s_entries(store_t *s, MDB_txn *txn)
{
    MDB_stat st;
    CHECK_EQ(mdb_stat(txn, store_dbi(s, DB_ITEMS), &st), 0);
    return st.ms_entries;
}

static void test_open_close(void)
{
    const char *dir = tu_tempdir();
    char path[256];
    snprintf(path, sizeof path, "%s/new/store", dir); /* parents are created */
    store_t *s = s_open_in(path);
    struct stat st;
    CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
    CHECK_EQ(st.st_mode & 0777, 0700);
    s_fill_t f = {1, 10, 100, 0, 0};
    CHECK_EQ(store_write(s, s_fill, &f), 0);
    CHECK_EQ(f.runs, 1);
    store_close(&s);
    CHECK(s == NULL);
    store_close(&s); /* NULL-safe */

    /* Durable: a second open reads what the first wrote. */
    s = s_open_in(path);
    MDB_txn *txn;
    CHECK_EQ(store_read(s, &txn), 0);
    CHECK_EQ(s_entries(s, txn), 10);
    for (uint32_t k = 1; k <= 10; k++)
        CHECK_EQ(s_get(s, txn, k, 100), 0);
    CHECK_EQ(s_get(s, txn, 11, 100), MDB_NOTFOUND);
    store_read_end(s, txn);
    size_t map, used;
    store_usage(s, &map, &used);
    CHECK(map >= used && used > 0);
    CHECK_EQ(store_grow_count(s), 0);
    store_close(&s);
}

static void test_body_error_aborts(void)
{
    store_t *s = s_open_in(tu_tempdir());
    s_fill_t f = {1, 5, 64, 0, EPROTO};
    CHECK_EQ(store_write(s, s_fill, &f), EPROTO);
    CHECK_EQ(f.runs, 1);
    MDB_txn *txn;
    CHECK_EQ(store_read(s, &txn), 0);
    CHECK_EQ(s_entries(s, txn), 0); /* nothing of the aborted body */
    store_read_end(s, txn);
    store_close(&s);
}

/* A 1 MiB map (FINSAM_STORE_INITIAL_MAP_MB) and one transaction of 6 MiB:
 * the body runs again after each growth and everything lands. */
static void test_write_grows_map(void)
{
    setenv("FINSAM_STORE_INITIAL_MAP_MB", "1", 1);
    store_t *s = s_open_in(tu_tempdir());
    size_t map0, used;
    store_usage(s, &map0, &used);
    CHECK_EQ(map0, 1 << 20);
    s_fill_t f = {1, 1500, 4096, 0, 0};
    CHECK_EQ(store_write(s, s_fill, &f), 0);
    CHECK(store_grow_count(s) >= 2);
    CHECK_EQ(f.runs, (int) store_grow_count(s) + 1);
    size_t map1;
    store_usage(s, &map1, &used);
    CHECK(map1 >= 8u << 20);
    CHECK(used > 6u << 20 && used <= map1);
    MDB_txn *txn;
    CHECK_EQ(store_read(s, &txn), 0);
    CHECK_EQ(s_entries(s, txn), 1500);
    CHECK_EQ(s_get(s, txn, 1, 4096), 0);
    CHECK_EQ(s_get(s, txn, 1500, 4096), 0);
    store_read_end(s, txn);
    /* Growth is kept across reopen: the next write needs none. */
    CHECK_EQ(store_reopen(s), 0);
    size_t map2;
    store_usage(s, &map2, &used);
    CHECK_EQ(map2, map1);
    store_close(&s);
    unsetenv("FINSAM_STORE_INITIAL_MAP_MB");
}

/* STORE_WRITEMAP: the file is the whole map, allocated (not sparse), and
 * an open with a smaller floor keeps it: it never cuts off pages another
 * process may write through its larger map. */
static void test_writemap_file(void)
{
    setenv("FINSAM_STORE_INITIAL_MAP_MB", "1", 1);
    const char *dir = tu_tempdir();
    char data[600];
    snprintf(data, sizeof data, "%s/data.mdb", dir);
    store_t *s = NULL;
    CHECK_EQ(store_open(&s, dir, s_dbs, 2, STORE_WRITEMAP), 0);
    s_fill_t f = {1, 1500, 4096, 0, 0};
    CHECK_EQ(store_write(s, s_fill, &f), 0);
    CHECK(store_grow_count(s) >= 2);
    size_t map1, used;
    store_usage(s, &map1, &used);
    struct stat st;
    CHECK_EQ(stat(data, &st), 0);
    CHECK_EQ((size_t) st.st_size, map1);
    CHECK((size_t) st.st_blocks * 512 >= map1);
    store_close(&s);
    CHECK_EQ(store_open(&s, dir, s_dbs, 2, STORE_WRITEMAP), 0);
    size_t map2;
    store_usage(s, &map2, &used);
    CHECK_EQ(map2, map1);
    CHECK_EQ(stat(data, &st), 0);
    CHECK_EQ((size_t) st.st_size, map1);
    MDB_txn *txn;
    CHECK_EQ(store_read(s, &txn), 0);
    CHECK_EQ(s_entries(s, txn), 1500);
    CHECK_EQ(s_get(s, txn, 1500, 4096), 0);
    store_read_end(s, txn);
    store_close(&s);
    unsetenv("FINSAM_STORE_INITIAL_MAP_MB");
}

/* A read transaction is a snapshot: a commit beside it is not seen in it,
 * and is seen by the next one. */
static void test_read_beside_write(void)
{
    store_t *s = s_open_in(tu_tempdir());
    s_fill_t f = {1, 10, 32, 0, 0};
    CHECK_EQ(store_write(s, s_fill, &f), 0);
    MDB_txn *old;
    CHECK_EQ(store_read(s, &old), 0);
    s_fill_t more = {11, 10, 32, 0, 0};
    CHECK_EQ(store_write(s, s_fill, &more), 0);
    CHECK_EQ(s_entries(s, old), 10);
    CHECK_EQ(s_get(s, old, 15, 32), MDB_NOTFOUND);
    MDB_txn *now;
    CHECK_EQ(store_read(s, &now), 0);
    CHECK_EQ(s_entries(s, now), 20);
    CHECK_EQ(s_get(s, now, 15, 32), 0);
    store_read_end(s, now);
    store_read_end(s, old);
    store_close(&s);
}

/* Readers in another thread while the writer grows the map many times:
 * every snapshot is whole (the count in meta matches the items), and
 * growth waits for readers instead of resizing under them. */
typedef struct {
    store_t *s;
    atomic_bool stop;
    long snapshots;
    int bad;
} s_reader_t;

static int s_fill_counted(MDB_txn *txn, void *ctx)
{
    s_fill_t *f = ctx;
    int rc = s_fill(txn, ctx);
    if (rc)
        return rc;
    uint32_t total = htobe32(f->first + f->count - 1);
    MDB_dbi meta;
    if ((rc = mdb_dbi_open(txn, "meta", 0, &meta)))
        return rc;
    MDB_val k = {5, "count"}, v = {4, &total};
    return mdb_put(txn, meta, &k, &v, 0);
}

static void *s_reader(void *arg)
{
    s_reader_t *r = arg;
    while (!atomic_load(&r->stop)) {
        MDB_txn *txn;
        if (store_read(r->s, &txn)) {
            r->bad++;
            break;
        }
        MDB_val k = {5, "count"}, v;
        uint32_t count = 0;
        if (mdb_get(txn, store_dbi(r->s, DB_META), &k, &v) == 0 && v.mv_size == 4) {
            memcpy(&count, v.mv_data, 4); /* values are not aligned */
            count = be32toh(count);
        }
        MDB_stat st;
        mdb_stat(txn, store_dbi(r->s, DB_ITEMS), &st);
        if (st.ms_entries != count)
            r->bad++;
        store_read_end(r->s, txn);
        r->snapshots++;
    }
    return NULL;
}

static void test_readers_beside_growth(void)
{
    setenv("FINSAM_STORE_INITIAL_MAP_MB", "1", 1);
    store_t *s = s_open_in(tu_tempdir());
    s_reader_t r = {.s = s};
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, s_reader, &r), 0);
    for (uint32_t i = 0; i < 40; i++) {
        s_fill_t f = {1 + i * 50, 50, 2048, 0, 0};
        CHECK_EQ(store_write(s, s_fill_counted, &f), 0);
    }
    atomic_store(&r.stop, true);
    pthread_join(th, NULL);
    CHECK(store_grow_count(s) >= 2);
    CHECK_EQ(r.bad, 0);
    CHECK(r.snapshots > 0);
    store_close(&s);
    unsetenv("FINSAM_STORE_INITIAL_MAP_MB");
}

static void test_backup_round_trip(void)
{
    const char *dir = tu_tempdir();
    char src[256], copy[256];
    snprintf(src, sizeof src, "%s/src", dir);
    snprintf(copy, sizeof copy, "%s/backup/one", dir);
    store_t *s = s_open_in(src);
    s_fill_t f = {1, 300, 500, 0, 0};
    CHECK_EQ(store_write(s, s_fill, &f), 0);
    MDB_txn *reader; /* the store stays in use during the backup */
    CHECK_EQ(store_read(s, &reader), 0);
    CHECK_EQ(store_backup(s, copy), 0);
    store_read_end(s, reader);
    /* A second backup into the same directory is refused, not overwritten. */
    CHECK(store_backup(s, copy) != 0);
    store_close(&s);

    store_t *b = NULL;
    CHECK_EQ(store_open(&b, copy, s_dbs, 2, STORE_READONLY), 0);
    MDB_txn *txn;
    CHECK_EQ(store_read(b, &txn), 0);
    CHECK_EQ(s_entries(b, txn), 300);
    for (uint32_t k = 1; k <= 300; k += 37)
        CHECK_EQ(s_get(b, txn, k, 500), 0);
    store_read_end(b, txn);
    store_close(&b);
}

static void test_readonly(void)
{
    const char *dir = tu_tempdir();
    store_t *s = s_open_in(dir);
    s_fill_t f = {1, 3, 10, 0, 0};
    CHECK_EQ(store_write(s, s_fill, &f), 0);
    store_close(&s);
    CHECK_EQ(store_open(&s, dir, s_dbs, 2, STORE_READONLY), 0);
    s_fill_t g = {4, 1, 10, 0, 0};
    int rc = store_write(s, s_fill, &g);
    CHECK(rc != 0);
    CHECK_EQ(g.runs, 0);
    MDB_txn *txn;
    CHECK_EQ(store_read(s, &txn), 0);
    CHECK_EQ(s_entries(s, txn), 3);
    store_read_end(s, txn);
    store_close(&s);
}

static void test_missing_directory(void)
{
    const char *dir = tu_tempdir();
    char path[256];
    snprintf(path, sizeof path, "%s/not-there", dir);
    store_t *s = (store_t *) 1;
    int rc = store_open(&s, path, s_dbs, 2, STORE_READONLY); /* read-only never creates */
    CHECK_EQ(rc, ENOENT);
    CHECK(s == NULL);
    CHECK(strstr(store_strerror(rc), "No such file or directory"));

    /* A path through a regular file cannot be created. */
    char file[256];
    snprintf(file, sizeof file, "%s/plain", dir);
    CHECK_EQ(tu_write_file(file, "x"), 0);
    snprintf(path, sizeof path, "%s/plain/store", dir);
    s = (store_t *) 1;
    rc = store_open(&s, path, s_dbs, 2, 0);
    CHECK_EQ(rc, ENOTDIR);
    CHECK(s == NULL);
    CHECK(strstr(store_strerror(rc), "Not a directory"));

    /* LMDB's own codes have LMDB's text. */
    CHECK(strstr(store_strerror(MDB_MAP_FULL), "MDB_MAP_FULL"));
}

static void test_too_many_databases(void)
{
    store_db_t many[17];
    char names[17][8];
    for (int i = 0; i < 17; i++) {
        snprintf(names[i], sizeof names[i], "db%d", i);
        many[i] = (store_db_t){names[i], 0};
    }
    store_t *s = (store_t *) 1;
    CHECK_EQ(store_open(&s, tu_tempdir(), many, 17, 0), EINVAL);
    CHECK(s == NULL);
}

/* store_reopen keeps the data and the map; the store works afterwards. */
static void test_reopen(void)
{
    store_t *s = s_open_in(tu_tempdir());
    s_fill_t f = {1, 20, 64, 0, 0};
    CHECK_EQ(store_write(s, s_fill, &f), 0);
    CHECK_EQ(store_reopen(s), 0);
    s_fill_t g = {21, 20, 64, 0, 0};
    CHECK_EQ(store_write(s, s_fill, &g), 0);
    MDB_txn *txn;
    CHECK_EQ(store_read(s, &txn), 0);
    CHECK_EQ(s_entries(s, txn), 40);
    CHECK_EQ(s_get(s, txn, 1, 64), 0);
    CHECK_EQ(s_get(s, txn, 40, 64), 0);
    store_read_end(s, txn);
    store_close(&s);
}

/* Another process (a child that opens its own environment and exits)
 * writes `count` more 4 KiB values under `first`..: with a 1 MiB initial
 * map it grows the map. */
static void s_grow_elsewhere(const char *dir, uint32_t first, uint32_t count, bool must_grow)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        store_t *w = NULL;
        int ok = store_open(&w, dir, s_dbs, 2, 0) == 0;
        s_fill_t f = {first, count, 4096, 0, 0};
        ok = ok && store_write(w, s_fill, &f) == 0 && (!must_grow || store_grow_count(w) > 0);
        store_close(&w);
        _exit(ok ? 0 : 1);
    }
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

typedef struct {
    store_t *s;
    atomic_int rc; /* -1 until the thread's store_read returned */
} s_second_t;

static void *s_second_reader(void *arg)
{
    s_second_t *t = arg;
    MDB_txn *txn;
    int rc = store_read(t->s, &txn);
    if (rc == 0)
        store_read_end(t->s, txn);
    atomic_store(&t->rc, rc);
    return NULL;
}

static bool s_second_done(void *arg)
{
    return atomic_load(&((s_second_t *) arg)->rc) != -1;
}

/* A reading process holds one snapshot while another thread of it begins a
 * second, after another process grew the map (rebuild --verify's
 * partitions beside a running collector). The second begins at once: a
 * reader maps what a writer may grow to, so it never has to adopt a new
 * size (which would wait for the first snapshot: a deadlock). */
static void test_reader_beside_growth_elsewhere(void)
{
    const char *dir = tu_tempdir();
    setenv("FINSAM_STORE_INITIAL_MAP_MB", "1", 1);
    s_grow_elsewhere(dir, 1, 10, false);
    store_t *r = NULL;
    CHECK_EQ(store_open(&r, dir, s_dbs, 2, STORE_READONLY), 0);
    MDB_txn *first;
    CHECK_EQ(store_read(r, &first), 0);
    s_grow_elsewhere(dir, 100, 2000, true); /* 8 MiB more: the map grows */
    s_second_t t = {r, -1};
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, s_second_reader, &t), 0);
    bool done = tu_wait_for(s_second_done, &t, 5000);
    store_read_end(r, first); /* lets a waiting second reader go, if any */
    pthread_join(th, NULL);
    CHECK(done);
    CHECK_EQ(atomic_load(&t.rc), 0);
    MDB_txn *txn;
    CHECK_EQ(store_read(r, &txn), 0);
    CHECK_EQ(s_entries(r, txn), 2010);
    store_read_end(r, txn);
    store_close(&r);
    unsetenv("FINSAM_STORE_INITIAL_MAP_MB");
}

/* STORE_DERIVED (store.h, unsynced.h): committed without sync; whoever
 * opens it after the boot that wrote it unsynced ended removes it. */
static const unsigned S_DERIVED = STORE_DERIVED | STORE_WRITEMAP;

static void s_put_derived(const char *dir, uint32_t first, uint32_t count, bool clean_close)
{
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        store_t *w = NULL;
        int ok = store_open(&w, dir, s_dbs, 2, S_DERIVED) == 0;
        s_fill_t f = {first, count, 100, 0, 0};
        ok = ok && store_write(w, s_fill, &f) == 0;
        if (clean_close)
            store_close(&w);
        _exit(ok ? 0 : 1); /* without the close: as a killed collector */
    }
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static size_t s_derived_entries(const char *dir, unsigned flags)
{
    store_t *s = NULL;
    CHECK_EQ(store_open(&s, dir, s_dbs, 2, S_DERIVED | flags), 0);
    MDB_txn *txn;
    CHECK_EQ(store_read(s, &txn), 0);
    size_t n = s_entries(s, txn);
    store_read_end(s, txn);
    store_close(&s);
    return n;
}

static void s_record_boot(const char *dir, const char *boot)
{
    char path[512];
    snprintf(path, sizeof path, "%s/unsynced", dir);
    FILE *f = fopen(path, "w");
    CHECK(f);
    fprintf(f, "%s\n", boot);
    fclose(f);
}

static bool s_recorded(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/unsynced", dir);
    return access(path, F_OK) == 0;
}

static void test_derived_after_restart(void)
{
    const char *dir = tu_tempdir();
    /* A clean close syncs and drops the record. */
    s_put_derived(dir, 1, 10, true);
    CHECK(!s_recorded(dir));
    CHECK_EQ(s_derived_entries(dir, STORE_READONLY), 10);
    /* A writer that dies leaves its record: in this boot that is a dead
     * process, which LMDB survives, so nothing is lost. */
    s_put_derived(dir, 11, 10, false);
    CHECK(s_recorded(dir));
    CHECK_EQ(s_derived_entries(dir, STORE_READONLY), 20);
    CHECK(s_recorded(dir)); /* a reader leaves it */
    /* The same record from a boot that ended: maybe torn, so removed and
     * made again empty, by a reader too. */
    s_record_boot(dir, "00000000-0000-0000-0000-000000000000");
    CHECK_EQ(s_derived_entries(dir, STORE_READONLY), 0);
    CHECK(!s_recorded(dir)); /* that reader made it and closed it cleanly */
    /* And by a writer; after a clean close of the last writer, a later
     * boot keeps it (no record). */
    s_put_derived(dir, 1, 5, false);
    s_record_boot(dir, "00000000-0000-0000-0000-000000000000");
    s_put_derived(dir, 100, 3, true);
    CHECK_EQ(s_derived_entries(dir, 0), 3);
    CHECK(!s_recorded(dir));
    /* Not derived, nothing of this applies. */
    const char *plain = tu_tempdir();
    s_record_boot(plain, "00000000-0000-0000-0000-000000000000");
    store_t *p = s_open_in(plain);
    s_fill_t f = {1, 2, 10, 0, 0};
    CHECK_EQ(store_write(p, s_fill, &f), 0);
    store_close(&p);
    CHECK(s_recorded(plain));
}

/* A writer holds its environment open (the collector); readers in other
 * processes (finsamctl) open it at once, and a second writer too, and the
 * record stays until the last writer closed. */
static void test_derived_beside_a_writer(void)
{
    const char *dir = tu_tempdir();
    store_t *w = NULL;
    CHECK_EQ(store_open(&w, dir, s_dbs, 2, S_DERIVED), 0);
    s_fill_t f = {1, 7, 100, 0, 0};
    CHECK_EQ(store_write(w, s_fill, &f), 0);
    CHECK(s_recorded(dir));
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        alarm(10); /* a reader that waited on the writer would hang here */
        store_t *r = NULL;
        int ok = store_open(&r, dir, s_dbs, 2, S_DERIVED | STORE_READONLY) == 0;
        MDB_txn *txn;
        ok = ok && store_read(r, &txn) == 0;
        MDB_stat st;
        ok = ok && mdb_stat(txn, store_dbi(r, DB_ITEMS), &st) == 0 && st.ms_entries == 7;
        if (ok)
            store_read_end(r, txn);
        store_close(&r);
        s_put_derived(dir, 50, 1, true); /* a second writer, closed cleanly */
        _exit(ok ? 0 : 1);
    }
    int status;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(s_recorded(dir)); /* this writer is still open */
    store_close(&w);
    CHECK(!s_recorded(dir));
    CHECK_EQ(s_derived_entries(dir, STORE_READONLY), 8);
}

/* Bytes this process has had written to storage so far (/proc/self/io:
 * counted when a page is dirtied, so a page written through the map counts
 * whole, and a large folio counts whole too). */
static long long s_write_bytes(void)
{
    FILE *f = fopen("/proc/self/io", "r");
    CHECK(f);
    char line[128];
    long long v = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "write_bytes: %lld", &v) == 1)
            break;
    fclose(f);
    return v;
}

/* A closed store in a temporary directory with `count` values of 4000
 * bytes, its file's pages dropped from the page cache; its data.mdb path
 * in data. */
static const char *s_written_cold(uint32_t count, char *data, size_t datalen)
{
    const char *dir = tu_tempdir();
    snprintf(data, datalen, "%s/data.mdb", dir);
    store_t *s = NULL;
    CHECK_EQ(store_open(&s, dir, s_dbs, 2, STORE_WRITEMAP), 0);
    for (uint32_t first = 1; first <= count; first += 1000) {
        s_fill_t f = {first, 1000, 4000, 0, 0};
        CHECK_EQ(store_write(s, s_fill, &f), 0);
    }
    store_close(&s);
    int fd = open(data, O_RDONLY);
    CHECK(fd >= 0);
    CHECK_EQ(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
    close(fd);
    return dir;
}

/* One value overwritten: key k gets `size` bytes. */
static int s_overwrite(MDB_txn *txn, void *ctx)
{
    s_fill_t *f = ctx;
    f->runs++;
    MDB_dbi dbi;
    int rc = mdb_dbi_open(txn, "items", 0, &dbi);
    uint8_t buf[64];
    uint32_t key = htobe32(f->first);
    s_pattern(buf, sizeof buf, f->first + 1);
    MDB_val kv = {sizeof key, &key}, vv = {sizeof buf, buf};
    return rc ? rc : mdb_put(txn, dbi, &kv, &vv, 0);
}

/* A commit of one small value writes a few pages, even after the whole
 * file was read in order. Read-ahead on the map's faults fills the page
 * cache with large folios (ext4 has them since Linux 6.16); a write fault
 * then dirties the whole folio, and the commit's msync writes megabytes
 * for every event acknowledged (4.6 GB/s at 1k events/s in a collector
 * after a burst, and ack p99 5-15 ms instead of 2-3). The store maps with
 * read-ahead off (MDB_NORDAHEAD). On a file system that counts no writes
 * (tmpfs) this checks nothing. */
static void test_small_commit_writes_little(void)
{
    /* Written, out of the cache, then read back in order through the map,
     * as a reader replaying the log does. */
    char data[600];
    const char *dir = s_written_cold(12000, data, sizeof data);
    store_t *s = NULL;
    CHECK_EQ(store_open(&s, dir, s_dbs, 2, STORE_WRITEMAP), 0);
    MDB_txn *txn;
    CHECK_EQ(store_read(s, &txn), 0);
    MDB_cursor *cur;
    CHECK_EQ(mdb_cursor_open(txn, store_dbi(s, DB_ITEMS), &cur), 0);
    MDB_val k, v;
    uint64_t sum = 0;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        sum += ((const uint8_t *) v.mv_data)[v.mv_size - 1];
    mdb_cursor_close(cur);
    store_read_end(s, txn);
    CHECK(sum > 0);
    long long before = s_write_bytes();
    enum { COMMITS = 100 };
    for (uint32_t i = 0; i < COMMITS; i++) {
        s_fill_t f = {1 + i * 97 % 12000, 1, 0, 0, 0};
        CHECK_EQ(store_write(s, s_overwrite, &f), 0);
    }
    long long per_commit = (s_write_bytes() - before) / COMMITS;
    store_close(&s);
    fprintf(stderr, "  %lld bytes written per one-value commit\n", per_commit);
    CHECK(per_commit < 256 * 1024);
}

/* The share of data.mdb's pages in the page cache (mincore on a map of
 * the file). */
static double s_resident(const char *data)
{
    int fd = open(data, O_RDONLY);
    CHECK(fd >= 0);
    struct stat st;
    CHECK_EQ(fstat(fd, &st), 0);
    void *map = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_SHARED, fd, 0);
    close(fd);
    CHECK(map != MAP_FAILED);
    size_t pages = ((size_t) st.st_size + 4095) / 4096, in = 0;
    unsigned char *vec = malloc(pages);
    CHECK(vec && mincore(map, (size_t) st.st_size, vec) == 0);
    for (size_t i = 0; i < pages; i++)
        in += vec[i] & 1;
    free(vec);
    munmap(map, (size_t) st.st_size);
    return (double) in / (double) pages;
}

/* With read-ahead off a reader's faults read a page each; store_prefetch
 * brings the whole file in beforehand (the kernel reads a few MiB per
 * advice, so it advises in steps). */
static void test_prefetch_reads_whole_file(void)
{
    char data[600];
    const char *dir = s_written_cold(8000, data, sizeof data);
    double before = s_resident(data);
    store_t *s = NULL;
    CHECK_EQ(store_open(&s, dir, s_dbs, 2, STORE_WRITEMAP), 0);
    store_prefetch(s);
    double after = 0;
    for (int i = 0; i < 200 && (after = s_resident(data)) < 0.99; i++)
        usleep(50 * 1000); /* the reads it started complete */
    store_close(&s);
    fprintf(stderr, "  resident before %.2f, after prefetch %.2f\n", before, after);
    CHECK(after >= 0.99);
}

static const test_case_t s_cases[] = {
    {"prefetch reads whole file", test_prefetch_reads_whole_file},
    {"small commit writes little", test_small_commit_writes_little},
    {"open, write, close, open again", test_open_close},
    {"a failing body aborts", test_body_error_aborts},
    {"a write grows the map and retries", test_write_grows_map},
    {"writemap: the file is the allocated map, kept at reopen", test_writemap_file},
    {"a reader is a snapshot beside a writer", test_read_beside_write},
    {"readers in a thread beside map growth", test_readers_beside_growth},
    {"backup round trip", test_backup_round_trip},
    {"read-only store refuses writes", test_readonly},
    {"missing directory error text", test_missing_directory},
    {"too many databases", test_too_many_databases},
    {"reopen keeps data", test_reopen},
    {"a reader's second snapshot beside growth elsewhere", test_reader_beside_growth_elsewhere},
    {"derived: removed after the boot that wrote it unsynced", test_derived_after_restart},
    {"derived: readers and writers beside a writer", test_derived_beside_a_writer},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
