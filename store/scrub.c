/* scrub.c: overwriting deleted values in data.mdb, as exact copies
 * (store_scrub_run) or by wiping all free space (store_scrub_wipe); see
 * scrub.h for when each is safe and what the caller must do first. */
#include "scrub.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- what is kept -------------------------------------------------------- */

#define S_TAG_LEN (2 + STORE_SCRUB_ID_LEN) /* 0a 10 <id> */

/* A deleted value is kept as its BLAKE2b-256 hash, not its bytes: the
 * scan reads each candidate and compares hashes, which is as exact as
 * comparing bytes, and a long queue of acknowledged events costs 56 bytes
 * each in memory instead of a copy of each. */
typedef struct {
    uint8_t id[STORE_SCRUB_ID_LEN];
    uint8_t hash[crypto_generichash_BYTES];
    uint32_t len;
    uint32_t anchor; /* offset of `0a 10 <id>` in the value */
} s_pattern_t;

struct store_scrub_t {
    s_pattern_t *p;
    size_t n, cap;
    size_t bytes;  /* total length of the values */
    size_t maxlen; /* of the longest value kept so far */
};

store_scrub_t *store_scrub_new(void)
{
    return calloc(1, sizeof(store_scrub_t));
}

void store_scrub_truncate(store_scrub_t *self, size_t n)
{
    for (; self->n > n; self->n--)
        self->bytes -= self->p[self->n - 1].len;
}

void store_scrub_clear(store_scrub_t *self)
{
    store_scrub_truncate(self, 0);
    self->maxlen = 0;
}

void store_scrub_destroy(store_scrub_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->p);
    free(*self_p);
    *self_p = NULL;
}

size_t store_scrub_size(const store_scrub_t *self)
{
    return self->n;
}

size_t store_scrub_bytes(const store_scrub_t *self)
{
    return self->bytes;
}

int store_scrub_add(store_scrub_t *self, const uint8_t id[STORE_SCRUB_ID_LEN], const uint8_t *bytes,
                    size_t len)
{
    uint8_t tag[S_TAG_LEN] = {0x0a, 0x10};
    memcpy(tag + 2, id, STORE_SCRUB_ID_LEN);
    const uint8_t *at = memmem(bytes, len, tag, sizeof tag);
    if (!at || len > UINT32_MAX)
        return EINVAL;
    if (self->n == self->cap) {
        s_pattern_t *grown = array_grow(self->p, &self->cap, sizeof *grown, 64);
        if (!grown)
            return ENOMEM;
        self->p = grown;
    }
    s_pattern_t *p = &self->p[self->n++];
    memcpy(p->id, id, STORE_SCRUB_ID_LEN);
    crypto_generichash(p->hash, sizeof p->hash, bytes, len, NULL, 0);
    p->len = (uint32_t) len;
    p->anchor = (uint32_t) (at - bytes);
    self->bytes += len;
    self->maxlen = len > self->maxlen ? len : self->maxlen;
    return 0;
}

static int s_pattern_cmp(const void *a, const void *b)
{
    return memcmp(((const s_pattern_t *) a)->id, ((const s_pattern_t *) b)->id, STORE_SCRUB_ID_LEN);
}

/* ---- readers ------------------------------------------------------------ */

typedef struct {
    uint64_t before; /* the deleting transaction */
    int old;
} s_readers_t;

/* mdb_reader_list lines: "%10d %zx %zu\n" (pid, thread, txnid) or "... -"
 * for a slot between transactions, after a header line. */
static int s_reader_line(const char *msg, void *arg)
{
    s_readers_t *r = arg;
    int pid;
    size_t tid, txnid;
    if (sscanf(msg, "%d %zx %zu", &pid, &tid, &txnid) == 3 && txnid < r->before)
        r->old++;
    return 0;
}

int store_scrub_old_readers(store_t *store, uint64_t txnid)
{
    MDB_txn *txn;
    if (store_read(store, &txn))
        return 0;
    /* Our own reader started after the deletion: it is not counted. The
     * read transaction keeps the environment open meanwhile (store_reopen
     * waits for it). */
    MDB_env *env = mdb_txn_env(txn);
    int dead;
    mdb_reader_check(env, &dead);
    s_readers_t r = {txnid, 0};
    mdb_reader_list(env, s_reader_line, &r);
    store_read_end(store, txn);
    return r.old;
}

/* Readers from before the deletion still see the old bytes where they
 * were; lets them finish (up to wait_ms after t0). New readers cannot see
 * them: a reader always starts at the last commit. */
static void s_wait_readers(store_t *store, uint64_t txnid, int wait_ms, int64_t t0,
                           store_scrub_report_t *report)
{
    for (;;) {
        report->old_readers = store_scrub_old_readers(store, txnid);
        if (report->old_readers == 0 || clock_mono_ms() - t0 >= wait_ms)
            break;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
}

/* ---- the scan ----------------------------------------------------------- */

typedef struct {
    store_scrub_t *scrub;
    store_scrub_report_t *report;
    char *err;
    size_t errlen;
    int result;
} s_scan_t;

/* Returned by the locked body so store_write aborts: outside errno and MDB
 * ranges. */
#define S_LOCKED_DONE (-1000002)

/* Overwrites the copy of pattern p at `start`, if there is one. */
static void s_check_candidate(uint8_t *map, size_t size, const s_pattern_t *p, const uint8_t *tag,
                              uint64_t *copies)
{
    if ((size_t) (tag - map) < p->anchor || (size_t) (tag - map) - p->anchor + p->len > size)
        return;
    uint8_t *start = (uint8_t *) tag - p->anchor, hash[crypto_generichash_BYTES];
    crypto_generichash(hash, sizeof hash, start, p->len, NULL, 0);
    if (memcmp(hash, p->hash, sizeof hash) != 0)
        return;
    memset(start, 0, p->len);
    (*copies)++;
}

/* The scan proper, over the file mapped shared and writable: the same page
 * cache LMDB reads, so no copy is made and an overwrite is one memset. */
static void s_scan_map(s_scan_t *s, uint8_t *map, size_t size)
{
    store_scrub_t *scrub = s->scrub;
    s->report->scanned = size;
    if (size < S_TAG_LEN)
        return;
    const uint8_t *end = map + size - (S_TAG_LEN - 1); /* a tag starting before end is whole */
    for (uint8_t *q = map; q < end && (q = memchr(q, 0x0a, (size_t) (end - q))) != NULL; q++) {
        if (q[1] != 0x10)
            continue;
        s_pattern_t key;
        memcpy(key.id, q + 2, STORE_SCRUB_ID_LEN);
        s_pattern_t *hit = bsearch(&key, scrub->p, scrub->n, sizeof *scrub->p, s_pattern_cmp);
        if (!hit)
            continue;
        /* Patterns with the same id (another förbund's event, or the same
         * id deleted twice) sit side by side. */
        while (hit > scrub->p && !memcmp(hit[-1].id, key.id, STORE_SCRUB_ID_LEN))
            hit--;
        for (; hit < scrub->p + scrub->n && !memcmp(hit->id, key.id, STORE_SCRUB_ID_LEN); hit++)
            s_check_candidate(map, size, hit, q, &s->report->copies);
    }
}

/* Runs inside a write transaction that is always aborted: we hold the
 * writer lock, so nobody reuses a free page (nor grows or writes the file)
 * while we read and overwrite it. Changes nothing through LMDB. */
static int s_scan(MDB_txn *txn, void *arg)
{
    s_scan_t *s = arg;
    const char *dir = NULL;
    char path[4200];
    mdb_env_get_path(mdb_txn_env(txn), &dir);
    snprintf(path, sizeof path, "%s/data.mdb", dir ? dir : ".");
    struct stat st;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0) {
        s->result = errno;
        goto close_fd;
    }
    if (st.st_size == 0)
        goto close_fd;
    uint8_t *map = mmap(NULL, (size_t) st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        s->result = errno;
        goto close_fd;
    }
    s_scan_map(s, map, (size_t) st.st_size);
    if (s->report->copies && msync(map, (size_t) st.st_size, MS_SYNC) < 0)
        s->result = errno;
    munmap(map, (size_t) st.st_size);
close_fd:
    if (fd >= 0)
        close(fd);
    if (s->result)
        snprintf(s->err, s->errlen, "%s: %s", path, strerror(s->result));
    return S_LOCKED_DONE;
}

int store_scrub_run(store_scrub_t *self, store_t *store, uint64_t txnid, int wait_ms,
                    store_scrub_report_t *report, char *err, size_t errlen)
{
    memset(report, 0, sizeof *report);
    err[0] = '\0';
    if (self->n == 0)
        return 0;
    report->values = self->n;
    int64_t t0 = clock_mono_ms();
    s_wait_readers(store, txnid, wait_ms, t0, report);
    qsort(self->p, self->n, sizeof *self->p, s_pattern_cmp);
    s_scan_t s = {self, report, err, errlen, 0};
    int rc = store_write(store, s_scan, &s);
    if (rc == S_LOCKED_DONE)
        rc = s.result;
    else if (rc && !err[0])
        snprintf(err, errlen, "scrub: %s", store_strerror(rc));
    report->seconds = (double) (clock_mono_ms() - t0) / 1000.0;
    if (rc)
        return -1;
    store_scrub_clear(self);
    return 0;
}

/* ---- wiping free space -------------------------------------------------- */

/* LMDB 0.9's on-disk format (mdb.c, MDB_DATA_VERSION 1, 64-bit): every
 * page but the run of an overflow value starts with a 16-byte header
 * {size_t pgno; uint16 pad, flags, lower, upper} (for an overflow page,
 * lower+upper hold the uint32 page count); the free space of a branch or
 * leaf page is [lower, upper). Page 0 and 1 are the meta pages, whose
 * MDB_meta begins with the magic and the version. The free-page database
 * (dbi 0, read as mdb_stat -ff reads it) maps the id of the transaction
 * that freed pages to {size_t count; size_t pgno[count]}. */
#define S_PAGEHDRSZ 16
#define S_P_BRANCH 0x01
#define S_P_LEAF 0x02
#define S_P_OVERFLOW 0x04
#define S_P_LEAF2 0x20
#define S_P_SUBP 0x40
#define S_MDB_MAGIC 0xBEEFC0DEu
#define S_MDB_DATA_VERSION 1u

enum { S_LIVE = 0, S_FREE, S_HELD };

typedef struct {
    store_t *store;
    store_scrub_report_t *report;
    char *err;
    size_t errlen;
    int result;
} s_wipe_t;

static int s_oldest_line(const char *msg, void *arg)
{
    uint64_t *oldest = arg;
    int pid;
    size_t tid, txnid;
    if (sscanf(msg, "%d %zx %zu", &pid, &tid, &txnid) == 3 && txnid < *oldest)
        *oldest = txnid;
    return 0;
}

/* Which pages are free: S_FREE if LMDB itself could reuse (overwrite)
 * them now (freed by a transaction older than every reader and than the
 * last commit, LMDB's own rule in mdb_page_alloc), S_HELD if a reader or
 * the previous meta page may still read them (then they are intact, and
 * only their unused middle is wiped). Read in a read-only
 * transaction (LMDB opens the free-page database in no other), begun
 * while we hold the writer lock, so nothing changes meanwhile. */
static int s_free_pages(s_wipe_t *w, uint64_t last_txnid, uint8_t *mark, size_t npages)
{
    MDB_txn *txn;
    int rc = store_read(w->store, &txn);
    if (rc)
        return rc;
    uint64_t oldest = last_txnid;
    mdb_reader_list(mdb_txn_env(txn), s_oldest_line, &oldest);
    MDB_cursor *cur;
    if ((rc = mdb_cursor_open(txn, 0, &cur)))
        goto end;
    MDB_val k, v;
    while ((rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) == 0) {
        size_t freed_by, n;
        if (k.mv_size != sizeof freed_by || v.mv_size < sizeof n) {
            rc = MDB_CORRUPTED;
            break;
        }
        memcpy(&freed_by, k.mv_data, sizeof freed_by);
        memcpy(&n, v.mv_data, sizeof n);
        if (v.mv_size < (n + 1) * sizeof n) {
            rc = MDB_CORRUPTED;
            break;
        }
        for (size_t i = 1; i <= n; i++) {
            size_t pg;
            memcpy(&pg, (const uint8_t *) v.mv_data + i * sizeof pg, sizeof pg);
            if (pg < npages)
                mark[pg] = freed_by < oldest ? S_FREE : S_HELD;
        }
    }
    if (rc == MDB_NOTFOUND)
        rc = 0;
    mdb_cursor_close(cur);
end:
    store_read_end(w->store, txn);
    return rc;
}

static bool s_is_zero(const uint8_t *p, size_t n)
{
    return n == 0 || (p[0] == 0 && memcmp(p, p + 1, n - 1) == 0);
}

static void s_zero(store_scrub_report_t *r, uint8_t *p, size_t n, uint64_t *count)
{
    if (s_is_zero(p, n))
        return;
    memset(p, 0, n);
    r->zeroed += n;
    (*count)++;
}

/* Walks every page of the mapped file once (see the format above). */
static void s_wipe_map(s_wipe_t *w, uint8_t *map, size_t npages, size_t psize, uint64_t last_pgno,
                       const uint8_t *mark)
{
    store_scrub_report_t *r = w->report;
    for (size_t pg = 2; pg < npages;) {
        uint8_t *p = map + pg * psize;
        if (pg > last_pgno || mark[pg] == S_FREE) {
            s_zero(r, p, psize, &r->free_pages);
            pg++;
            continue;
        }
        /* A held page is intact (nobody may reuse it yet): like a live
         * page, only its unused middle goes. */
        r->held_pages += mark[pg] == S_HELD;
        uint64_t pgno;
        uint16_t flags, lower, upper;
        uint32_t count;
        memcpy(&pgno, p, 8);
        memcpy(&flags, p + 10, 2);
        memcpy(&lower, p + 12, 2);
        memcpy(&upper, p + 14, 2);
        memcpy(&count, p + 12, 4);
        /* A live page always names itself; anything else is not touched. */
        if (pgno != pg) {
            r->odd_pages++;
            pg++;
        } else if (flags & S_P_OVERFLOW) {
            /* A value's pages: no header after the first, no free space
             * we could find without its node. */
            pg += count ? count : 1;
        } else if ((flags & (S_P_BRANCH | S_P_LEAF)) && !(flags & (S_P_LEAF2 | S_P_SUBP)) &&
                   lower >= S_PAGEHDRSZ && lower <= upper && upper <= psize) {
            s_zero(r, p + lower, (size_t) (upper - lower), &r->gaps);
            pg++;
        } else {
            r->odd_pages++;
            pg++;
        }
    }
}

/* Under the writer lock (an aborted write transaction): nothing is
 * written through LMDB while the file is wiped, and no page is reused. */
static int s_wipe(MDB_txn *txn, void *arg)
{
    s_wipe_t *w = arg;
    MDB_env *env = mdb_txn_env(txn);
    MDB_envinfo info;
    MDB_stat st;
    const char *dir = NULL;
    char path[4200];
    uint8_t *mark = NULL, *map = MAP_FAILED;
    struct stat fst;
    int fd = -1;
    mdb_env_info(env, &info);
    mdb_env_stat(env, &st);
    mdb_env_get_path(env, &dir);
    snprintf(path, sizeof path, "%s/data.mdb", dir ? dir : ".");
    size_t psize = st.ms_psize;
    if ((fd = open(path, O_RDWR | O_CLOEXEC)) < 0 || fstat(fd, &fst) < 0) {
        w->result = errno;
        goto out;
    }
    size_t npages = (size_t) fst.st_size / psize;
    if (npages < 2)
        goto out;
    if (!(mark = calloc(npages, 1))) {
        w->result = ENOMEM;
        goto out;
    }
    if ((w->result = s_free_pages(w, info.me_last_txnid, mark, npages)))
        goto out;
    if ((map = mmap(NULL, npages * psize, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
        w->result = errno;
        goto out;
    }
    uint32_t magic, version;
    memcpy(&magic, map + S_PAGEHDRSZ, 4);
    memcpy(&version, map + S_PAGEHDRSZ + 4, 4);
    if (magic != S_MDB_MAGIC || version != S_MDB_DATA_VERSION || sizeof(size_t) != 8) {
        w->result = EPROTO;
        snprintf(w->err, w->errlen, "%s: not an LMDB file of the format this wipe knows (version %u)", path,
                 version);
        goto out;
    }
    w->report->scanned = npages * psize;
    s_wipe_map(w, map, npages, psize, info.me_last_pgno, mark);
    if (w->report->zeroed && msync(map, npages * psize, MS_SYNC) < 0)
        w->result = errno;
out:
    if (map != MAP_FAILED)
        munmap(map, npages * psize);
    if (fd >= 0)
        close(fd);
    free(mark);
    if (w->result && !w->err[0])
        snprintf(w->err, w->errlen, "%s: %s", path, mdb_strerror(w->result));
    return S_LOCKED_DONE;
}

int store_scrub_wipe(store_t *store, uint64_t txnid, int wait_ms, store_scrub_report_t *report, char *err,
                     size_t errlen)
{
    memset(report, 0, sizeof *report);
    err[0] = '\0';
    int64_t t0 = clock_mono_ms();
    s_wait_readers(store, txnid, wait_ms, t0, report);
    s_wipe_t w = {store, report, err, errlen, 0};
    int rc = store_write(store, s_wipe, &w);
    if (rc == S_LOCKED_DONE)
        rc = w.result;
    else if (rc && !err[0])
        snprintf(err, errlen, "wipe: %s", store_strerror(rc));
    report->seconds = (double) (clock_mono_ms() - t0) / 1000.0;
    return rc ? -1 : 0;
}
