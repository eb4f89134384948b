/* scrub.c: overwriting exact copies of deleted values in data.mdb (see
 * scrub.h for when that is safe and what the caller must do first). */
#include "scrub.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- the kept bytes ----------------------------------------------------- */

#define S_TAG_LEN (2 + STORE_SCRUB_ID_LEN) /* 0a 10 <id> */

typedef struct {
    uint8_t id[STORE_SCRUB_ID_LEN];
    uint8_t *bytes; /* the deleted value exactly as it was stored */
    size_t len;
    size_t anchor; /* offset of `0a 10 <id>` in bytes */
} s_pattern_t;

struct store_scrub_t {
    s_pattern_t *p;
    size_t n, cap;
    size_t bytes;
};

store_scrub_t *store_scrub_new(void)
{
    return calloc(1, sizeof(store_scrub_t));
}

void store_scrub_clear(store_scrub_t *self)
{
    for (size_t i = 0; i < self->n; i++) {
        sodium_memzero(self->p[i].bytes, self->p[i].len);
        free(self->p[i].bytes);
    }
    self->n = 0;
    self->bytes = 0;
}

void store_scrub_destroy(store_scrub_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_scrub_clear(*self_p);
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
    if (!at)
        return EINVAL;
    if (self->n == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 16;
        s_pattern_t *p = realloc(self->p, cap * sizeof *p);
        if (!p)
            return ENOMEM;
        self->p = p;
        self->cap = cap;
    }
    s_pattern_t *p = &self->p[self->n];
    if (!(p->bytes = malloc(len)))
        return ENOMEM;
    memcpy(p->bytes, bytes, len);
    memcpy(p->id, id, STORE_SCRUB_ID_LEN);
    p->len = len;
    p->anchor = (size_t) (at - bytes);
    self->n++;
    self->bytes += len;
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

/* ---- the scan ----------------------------------------------------------- */

typedef struct {
    store_scrub_t *scrub;
    store_scrub_report_t *report;
    char *err;
    size_t errlen;
    int result;
} s_scan_t;

#define SCAN_CHUNK ((size_t) 1 << 20)
/* Returned by the locked body so store_write aborts: outside errno and MDB
 * ranges. */
#define S_LOCKED_DONE (-1000002)

/* Overwrites the copy at `start` if it is a complete copy of pattern p. */
static int s_check_candidate(int fd, off_t size, const s_pattern_t *p, off_t start, uint8_t *tmp,
                             uint64_t *copies)
{
    if (start < 0 || start + (off_t) p->len > size)
        return 0;
    if (pread(fd, tmp, p->len, start) != (ssize_t) p->len)
        return errno ? errno : EIO;
    if (memcmp(tmp, p->bytes, p->len) != 0)
        return 0;
    memset(tmp, 0, p->len);
    if (pwrite(fd, tmp, p->len, start) != (ssize_t) p->len)
        return errno ? errno : EIO;
    (*copies)++;
    return 0;
}

static int s_scan_fd(s_scan_t *s, int fd, uint8_t *buf, uint8_t *tmp)
{
    store_scrub_t *scrub = s->scrub;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return errno;
    /* Chunks overlap by S_TAG_LEN - 1 bytes so a tag across a boundary is
     * seen. */
    for (off_t off = 0; off < st.st_size;) {
        ssize_t got = pread(fd, buf, SCAN_CHUNK, off);
        if (got < 0)
            return errno;
        if (got < S_TAG_LEN)
            break;
        s->report->scanned += (uint64_t) got - (off ? S_TAG_LEN - 1 : 0);
        uint8_t *end = buf + got - (S_TAG_LEN - 1); /* a tag starting before end is whole here */
        for (uint8_t *q = buf; q < end && (q = memchr(q, 0x0a, (size_t) (end - q))) != NULL; q++) {
            if (q[1] != 0x10)
                continue;
            s_pattern_t key;
            memcpy(key.id, q + 2, STORE_SCRUB_ID_LEN);
            s_pattern_t *hit = bsearch(&key, scrub->p, scrub->n, sizeof *scrub->p, s_pattern_cmp);
            if (!hit)
                continue;
            /* Patterns with the same id (another förbund's event, or
             * the same id deleted twice) sit side by side. */
            while (hit > scrub->p && !memcmp(hit[-1].id, key.id, STORE_SCRUB_ID_LEN))
                hit--;
            for (; hit < scrub->p + scrub->n && !memcmp(hit->id, key.id, STORE_SCRUB_ID_LEN); hit++) {
                off_t at = off + (q - buf);
                int rc =
                    s_check_candidate(fd, st.st_size, hit, at - (off_t) hit->anchor, tmp, &s->report->copies);
                if (rc)
                    return rc;
            }
        }
        if ((size_t) got < SCAN_CHUNK)
            break;
        off += got - (S_TAG_LEN - 1);
    }
    return fdatasync(fd) < 0 ? errno : 0;
}

/* Runs inside a write transaction that is always aborted: we hold the
 * writer lock, so nobody reuses a free page while we read and overwrite
 * it. Changes nothing through LMDB. */
static int s_scan(MDB_txn *txn, void *arg)
{
    s_scan_t *s = arg;
    const char *dir = NULL;
    char path[4200];
    mdb_env_get_path(mdb_txn_env(txn), &dir);
    snprintf(path, sizeof path, "%s/data.mdb", dir ? dir : ".");
    size_t maxlen = 1;
    for (size_t i = 0; i < s->scrub->n; i++)
        maxlen = s->scrub->p[i].len > maxlen ? s->scrub->p[i].len : maxlen;
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        s->result = errno;
        goto out;
    }
    uint8_t *buf = malloc(SCAN_CHUNK), *tmp = malloc(maxlen);
    s->result = buf && tmp ? s_scan_fd(s, fd, buf, tmp) : ENOMEM;
    if (tmp)
        sodium_memzero(tmp, maxlen);
    free(tmp);
    free(buf);
    close(fd);
out:
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
    /* Readers from before the deletion still see the old bytes where they
     * were; let them finish. New readers cannot see them: a reader always
     * starts at the last commit. */
    for (;;) {
        report->old_readers = store_scrub_old_readers(store, txnid);
        if (report->old_readers == 0 || clock_mono_ms() - t0 >= wait_ms)
            break;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
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
