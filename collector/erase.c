/* erase.c: erasure of events — tombstones in the log, the cells, and the
 * scrub of data.mdb (see erase.h for the steps and why overwriting is safe).
 *
 * The one design decision: the scrub looks for the exact old byte sequences
 * and nothing else. An exact copy of an erased event is never live data,
 * so a match can be overwritten without knowing LMDB's page layout; a
 * looser pattern (the marker text alone, say) could match live data and
 * corrupt it. Finding candidates is cheap: every encoded Event holds its id
 * as `0a 10 <16 bytes>`, so the scan stops only where those 18 bytes name
 * an erased id, and compares the whole sequence there.
 *
 * Not here: which events an agent may erase (ingest.c calls
 * erase_check_target and erase_apply), the command line (ctl.c). */
#include "erase.h"

#include "protect.h"

#include "log.h"
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

typedef struct {
    uint8_t id[16];
    uint8_t *bytes; /* the erased event exactly as it was stored */
    size_t len;
    size_t anchor; /* offset of `0a 10 <id>` in bytes */
} s_pattern_t;

struct erase_scrub_t {
    s_pattern_t *p;
    size_t n, cap;
};

erase_scrub_t *erase_scrub_new(void)
{
    return calloc(1, sizeof(erase_scrub_t));
}

void erase_scrub_clear(erase_scrub_t *self)
{
    for (size_t i = 0; i < self->n; i++) {
        sodium_memzero(self->p[i].bytes, self->p[i].len);
        free(self->p[i].bytes);
    }
    self->n = 0;
}

void erase_scrub_destroy(erase_scrub_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    erase_scrub_clear(*self_p);
    free((*self_p)->p);
    free(*self_p);
    *self_p = NULL;
}

size_t erase_scrub_size(const erase_scrub_t *self)
{
    return self->n;
}

static int s_scrub_add(erase_scrub_t *self, const uint8_t id[16], const uint8_t *bytes, size_t len)
{
    uint8_t tag[18] = {0x0a, 0x10};
    memcpy(tag + 2, id, 16);
    const uint8_t *at = memmem(bytes, len, tag, sizeof tag);
    if (!at)
        return MDB_CORRUPTED; /* a stored event always holds its id */
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
    memcpy(p->id, id, 16);
    p->len = len;
    p->anchor = (size_t) (at - bytes);
    self->n++;
    return 0;
}

static int s_pattern_cmp(const void *a, const void *b)
{
    return memcmp(((const s_pattern_t *) a)->id, ((const s_pattern_t *) b)->id, 16);
}

/* ---- the scrub ---------------------------------------------------------- */

/* Meta keys (ledger.h): erasures so far, and the count the last scrub
 * started for (written by the extra commit before the scan). */
static const MDB_val s_key_erasures = {8, "erasures"};
static const MDB_val s_key_scrub = {5, "scrub"};

static int s_meta_u64(MDB_txn *txn, const ledger_t *ledger, const MDB_val *key, uint64_t *out)
{
    MDB_val k = *key, v;
    int rc = mdb_get(txn, ledger_dbi(ledger, LEDGER_DB_META), &k, &v);
    *out = rc == 0 && v.mv_size == 8 ? be64_get(v.mv_data) : 0;
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int s_meta_put_u64(MDB_txn *txn, const ledger_t *ledger, const MDB_val *key, uint64_t value)
{
    uint8_t buf[8];
    be64_put(buf, value);
    MDB_val k = *key, v = {8, buf};
    return mdb_put(txn, ledger_dbi(ledger, LEDGER_DB_META), &k, &v, 0);
}

/* The extra commit: any write will do; this one says which erasures the
 * scrub is for. After it, the meta page of the previous transaction (the
 * one an LMDB reader would fall back to) no longer points at the old tree,
 * and anything this process wrote from recycled page buffers is on disk
 * before the scan. */
static int s_bump(ledger_txn_t *lt, void *arg)
{
    (void) arg;
    uint64_t n;
    int rc = s_meta_u64(lt->txn, lt->ledger, &s_key_erasures, &n);
    return rc ? rc : s_meta_put_u64(lt->txn, lt->ledger, &s_key_scrub, n);
}

typedef struct {
    uint64_t before; /* erase_txnid */
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

/* Readers that still see a tree from before the erase, after clearing the
 * slots of dead processes. */
static int s_old_readers(ledger_t *ledger, uint64_t erase_txnid)
{
    MDB_txn *txn;
    if (store_read(ledger_store(ledger), &txn))
        return 0;
    MDB_env *env = mdb_txn_env(txn);
    store_read_end(ledger_store(ledger), txn);
    int dead;
    mdb_reader_check(env, &dead);
    s_readers_t r = {erase_txnid, 0};
    mdb_reader_list(env, s_reader_line, &r);
    return r.old;
}

typedef struct {
    erase_scrub_t *scrub;
    erase_scrub_report_t *report;
    char *err;
    size_t errlen;
} s_scan_t;

#define SCAN_CHUNK ((size_t) 1 << 20)

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

/* Runs under the writer lock (ledger_locked): nobody can reuse a free page
 * while we read and overwrite it. Changes nothing through LMDB. */
static int s_scan(ledger_txn_t *lt, void *arg)
{
    s_scan_t *s = arg;
    erase_scrub_t *scrub = s->scrub;
    char path[4200];
    snprintf(path, sizeof path, "%s/data.mdb", ledger_dir(lt->ledger));
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        snprintf(s->err, s->errlen, "%s: %s", path, strerror(errno));
        return errno;
    }
    size_t maxlen = 0;
    for (size_t i = 0; i < scrub->n; i++)
        maxlen = scrub->p[i].len > maxlen ? scrub->p[i].len : maxlen;
    uint8_t *buf = malloc(SCAN_CHUNK), *tmp = malloc(maxlen ? maxlen : 1);
    struct stat st;
    int rc = 0;
    if (!buf || !tmp) {
        rc = ENOMEM;
        goto out;
    }
    if (fstat(fd, &st) < 0) {
        rc = errno;
        goto out;
    }
    /* Chunks overlap by 17 bytes so an id tag across a boundary is seen. */
    for (off_t off = 0; off < st.st_size;) {
        ssize_t got = pread(fd, buf, SCAN_CHUNK, off);
        if (got < 0) {
            rc = errno;
            goto out;
        }
        if (got < 18)
            break;
        s->report->scanned += (uint64_t) got - (off ? 17 : 0);
        uint8_t *end = buf + got - 17; /* a tag starting before end has all 18 bytes here */
        for (uint8_t *q = buf; q < end && (q = memchr(q, 0x0a, (size_t) (end - q))) != NULL; q++) {
            if (q[1] != 0x10)
                continue;
            s_pattern_t key;
            memcpy(key.id, q + 2, 16);
            s_pattern_t *hit = bsearch(&key, scrub->p, scrub->n, sizeof *scrub->p, s_pattern_cmp);
            if (!hit)
                continue;
            /* Patterns with the same id (other förbund) sit side by side. */
            while (hit > scrub->p && !memcmp(hit[-1].id, key.id, 16))
                hit--;
            for (; hit < scrub->p + scrub->n && !memcmp(hit->id, key.id, 16); hit++) {
                off_t at = off + (q - buf);
                if ((rc = s_check_candidate(fd, st.st_size, hit, at - (off_t) hit->anchor, tmp,
                                            &s->report->copies)))
                    goto out;
            }
        }
        if ((size_t) got < SCAN_CHUNK)
            break;
        off += got - 17;
    }
    if (fdatasync(fd) < 0)
        rc = errno;
out:
    if (rc && !s->err[0])
        snprintf(s->err, s->errlen, "%s: %s", path, strerror(rc));
    if (tmp)
        sodium_memzero(tmp, maxlen ? maxlen : 1);
    free(tmp);
    free(buf);
    close(fd);
    (void) lt;
    return rc;
}

int erase_scrub_run(erase_scrub_t *self, ledger_t *ledger, uint64_t erase_txnid, int wait_ms,
                    erase_scrub_report_t *report, char *err, size_t errlen)
{
    memset(report, 0, sizeof *report);
    err[0] = '\0';
    if (self->n == 0)
        return 0;
    int64_t t0 = clock_mono_ms();
    int rc = ledger_write(ledger, s_bump, NULL);
    if (rc) {
        snprintf(err, errlen, "commit before the scrub: %s", store_strerror(rc));
        return -1;
    }
    /* Readers from before the erase still see the old bytes where they
     * were; let them finish. New readers cannot see them: a reader always
     * starts at the last commit. */
    for (;;) {
        report->old_readers = s_old_readers(ledger, erase_txnid);
        if (report->old_readers == 0 || clock_mono_ms() - t0 >= wait_ms)
            break;
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    qsort(self->p, self->n, sizeof *self->p, s_pattern_cmp);
    s_scan_t s = {self, report, err, errlen};
    rc = ledger_locked(ledger, s_scan, &s);
    report->seconds = (double) (clock_mono_ms() - t0) / 1000.0;
    if (rc) {
        if (!err[0])
            snprintf(err, errlen, "scrub: %s", store_strerror(rc));
        return -1;
    }
    erase_scrub_clear(self);
    return 0;
}

/* ---- inside the erasing transaction --------------------------------------- */

bool erase_is_tombstone(const event_msg_t *ev)
{
    return ev->body_case == FINSAM__V1__EVENT__BODY_ERASED;
}

reject_code_t erase_check_target(const event_msg_t *target, char *why, size_t whylen)
{
    const char *reason = NULL;
    switch (target->body_case) {
    case FINSAM__V1__EVENT__BODY_RETRACTION: reason = "a retraction holds no content to erase"; break;
    case FINSAM__V1__EVENT__BODY_ERASURE: reason = "an erasure holds no content to erase"; break;
    case FINSAM__V1__EVENT__BODY_ERASED: reason = "target is already erased"; break;
    default: return FINSAM__V1__REJECT_CODE__REJECT_NONE;
    }
    snprintf(why, whylen, "%s", reason);
    return FINSAM__V1__REJECT_CODE__REJECT_UNKNOWN_TARGET;
}

uint64_t erase_txnid(const ledger_txn_t *lt)
{
    return mdb_txn_id(lt->txn);
}

/* The 1st of the event's month at 12:00 Europe/Stockholm (the process TZ,
 * set at start), as the agents coarsen dates: a tombstone keeps no finer
 * time even if the event carried one. */
static int64_t s_month_start(int64_t t)
{
    time_t tt = (time_t) t;
    struct tm tm;
    if (!localtime_r(&tt, &tm))
        return t;
    tm.tm_mday = 1;
    tm.tm_hour = 12;
    tm.tm_min = tm.tm_sec = 0;
    tm.tm_isdst = -1;
    time_t m = mktime(&tm);
    return m == (time_t) -1 ? t : (int64_t) m;
}

static uint8_t *s_tombstone(const event_msg_t *target, uint64_t by_seq, size_t *len)
{
    Finsam__V1__Erased erased = FINSAM__V1__ERASED__INIT;
    erased.by_seq = by_seq;
    Finsam__V1__Event ev = FINSAM__V1__EVENT__INIT;
    ev.id = target->id;
    ev.forbund = target->forbund;
    ev.occurred_at = s_month_start(target->occurred_at);
    ev.catalogue_version = target->catalogue_version;
    /* Kept so a rebuild still subtracts what the erased correction replaced. */
    ev.has_supersedes = target->has_supersedes;
    ev.supersedes = target->supersedes;
    ev.body_case = FINSAM__V1__EVENT__BODY_ERASED;
    ev.erased = &erased;
    return codec_pack(&ev.base, len);
}

int erase_apply(ledger_txn_t *lt, aggregate_t *aggregate, uint64_t target_seq, const event_msg_t *target,
                uint64_t by_seq, erase_scrub_t *scrub)
{
    const uint8_t *bytes;
    size_t len;
    int rc = ledger_get(lt->txn, lt->ledger, target_seq, &bytes, &len, NULL);
    if (rc)
        return rc;
    /* Copy before any write: bytes points into the map. */
    if ((rc = s_scrub_add(scrub, target->id.data, bytes, len)))
        return rc;
    if (!ledger_is_retracted(lt->txn, lt->ledger, target_seq) &&
        (rc = aggregate_event(aggregate, lt, target, -1)))
        return rc;
    size_t tlen;
    uint8_t *tomb = s_tombstone(target, by_seq, &tlen);
    if (!tomb)
        return ENOMEM;
    rc = ledger_replace(lt->txn, lt->ledger, target_seq, tomb, tlen);
    free(tomb);
    uint64_t n = 0;
    if (rc == 0 && (rc = s_meta_u64(lt->txn, lt->ledger, &s_key_erasures, &n)) == 0)
        rc = s_meta_put_u64(lt->txn, lt->ledger, &s_key_erasures, n + 1);
    return rc;
}

/* ---- finsamctl erase ---------------------------------------------------- */

typedef struct {
    const erase_request_t *req;
    aggregate_t *aggregate;
    erase_scrub_t *scrub;
    erase_report_t *report;
    erase_result_t result;
    uint64_t txnid;
    char *err;
    size_t errlen;
} s_run_t;

/* Not an LMDB code nor an errno: "stop, s_run_t.result says why". */
#define S_REFUSED (-1)

/* The operator's Erasure event for a target: its id keeps the target's
 * month prefix and hashes (förbund, target id), so it is the same however
 * often the operator tries. */
static int s_write_erasure(ledger_txn_t *lt, const event_msg_t *target, uint64_t *seq)
{
    uint8_t id[16], h[16];
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, (const uint8_t *) "finsam-operator-erasure", 24);
    crypto_generichash_update(&st, (const uint8_t *) target->forbund, strlen(target->forbund) + 1);
    crypto_generichash_update(&st, target->id.data, 16);
    crypto_generichash_final(&st, h, sizeof h);
    memcpy(id, target->id.data, 4);
    memcpy(id + 4, h, 12);
    Finsam__V1__Erasure er = FINSAM__V1__ERASURE__INIT;
    er.target_id = target->id;
    er.has_by_operator = er.by_operator = 1;
    Finsam__V1__Event ev = FINSAM__V1__EVENT__INIT;
    ev.id = (ProtobufCBinaryData){16, id};
    ev.forbund = target->forbund;
    ev.occurred_at = s_month_start(target->occurred_at);
    ev.catalogue_version = target->catalogue_version;
    ev.body_case = FINSAM__V1__EVENT__BODY_ERASURE;
    ev.erasure = &er;
    size_t len;
    uint8_t *bytes = codec_pack(&ev.base, &len);
    if (!bytes)
        return ENOMEM;
    int rc = ledger_append(lt, target->forbund, id, bytes, len, clock_wall_ms(), seq);
    free(bytes);
    return rc;
}

/* Erases the event at seq; by_id: the operator named it (a retraction
 * there is an error, not something to skip). */
static int s_erase_one(s_run_t *r, ledger_txn_t *lt, uint64_t seq, bool by_id)
{
    const uint8_t *bytes;
    size_t len;
    int rc = ledger_get(lt->txn, lt->ledger, seq, &bytes, &len, NULL);
    if (rc)
        return rc;
    event_msg_t *target;
    char why[160];
    if (codec_decode_event(bytes, len, &target, why, sizeof why) != FINSAM__V1__REJECT_CODE__REJECT_NONE)
        return MDB_CORRUPTED;
    if (erase_is_tombstone(target)) {
        r->report->already++;
    } else if (erase_check_target(target, why, sizeof why) != FINSAM__V1__REJECT_CODE__REJECT_NONE) {
        if (by_id) {
            r->result = ERASE_NOT_CONTENT;
            snprintf(r->err, r->errlen, "%s", why);
            rc = S_REFUSED;
        }
    } else {
        uint64_t by_seq;
        if ((rc = s_write_erasure(lt, target, &by_seq)) == 0 &&
            (rc = erase_apply(lt, r->aggregate, seq, target, by_seq, r->scrub)) == 0) {
            r->report->erased++;
            if (!r->report->first_seq)
                r->report->first_seq = by_seq;
            r->report->last_seq = by_seq;
        }
    }
    codec_free_event(&target);
    return rc;
}

/* Positions of every content event of forbund that occurred before
 * `before`, in log order, as this transaction sees the log. */
static int s_collect_before(ledger_txn_t *lt, const char *forbund, int64_t before, uint64_t **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t cap = 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(lt->txn, ledger_dbi(lt->ledger, LEDGER_DB_LOG), &cur);
    if (rc)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        event_msg_t *ev;
        char why[160];
        if (v.mv_size < 9 ||
            codec_decode_event((const uint8_t *) v.mv_data + 9, v.mv_size - 9, &ev, why, sizeof why)) {
            rc = MDB_CORRUPTED;
            break;
        }
        bool take = !strcmp(ev->forbund, forbund) && ev->occurred_at < before &&
                    erase_check_target(ev, why, sizeof why) == FINSAM__V1__REJECT_CODE__REJECT_NONE;
        codec_free_event(&ev);
        if (!take)
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 256;
            uint64_t *p = realloc(*out, cap * sizeof *p);
            if (!p) {
                rc = ENOMEM;
                break;
            }
            *out = p;
        }
        (*out)[(*n)++] = be64_get(k.mv_data);
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static int s_run(ledger_txn_t *lt, void *arg)
{
    s_run_t *r = arg;
    const erase_request_t *req = r->req;
    /* A retry after map growth starts over. */
    aggregate_begin(r->aggregate);
    erase_scrub_clear(r->scrub);
    r->report->erased = r->report->already = r->report->first_seq = r->report->last_seq = 0;
    r->txnid = erase_txnid(lt);
    int rc = 0;
    if (req->has_id) {
        uint64_t seq = 0;
        char found[LEDGER_FORBUND_LEN + 1];
        int count = 0;
        if (req->forbund) {
            rc = ledger_find(lt->txn, lt->ledger, req->forbund, req->id, &seq);
            count = rc == 0;
            if (rc == MDB_NOTFOUND)
                rc = 0;
        } else {
            rc = ledger_find_any(lt->txn, lt->ledger, req->id, found, &seq, &count);
        }
        if (rc)
            return rc;
        char hex[33];
        hex_encode(hex, req->id, 16);
        if (count == 0) {
            r->result = ERASE_NOT_FOUND;
            snprintf(r->err, r->errlen, "event %s is not stored%s%s", hex, req->forbund ? " for " : "",
                     req->forbund ? req->forbund : "");
            return S_REFUSED;
        }
        if (count > 1) {
            r->result = ERASE_AMBIGUOUS;
            snprintf(r->err, r->errlen, "event %s is stored by %d förbund: name one with --forbund", hex,
                     count);
            return S_REFUSED;
        }
        rc = s_erase_one(r, lt, seq, true);
    } else {
        uint64_t *seqs;
        size_t n;
        rc = s_collect_before(lt, req->forbund, req->before, &seqs, &n);
        for (size_t i = 0; rc == 0 && i < n; i++)
            rc = s_erase_one(r, lt, seqs[i], false);
        free(seqs);
    }
    return rc ? rc : aggregate_flush(r->aggregate, lt, NULL, NULL);
}

int erase_parse_month(const char *text, int64_t *start)
{
    int y, m, n = 0;
    if (sscanf(text, "%4d-%2d%n", &y, &m, &n) != 2 || n != 7 || text[n] || m < 1 || m > 12 || y < 2000 ||
        y > 2100)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = 1, .tm_isdst = -1};
    time_t t = mktime(&tm);
    if (t == (time_t) -1)
        return -1;
    *start = (int64_t) t;
    return 0;
}

erase_result_t erase_run(ledger_t *ledger, const catalogue_t *catalogue, const erase_request_t *req,
                         erase_report_t *report, char *err, size_t errlen)
{
    memset(report, 0, sizeof *report);
    err[0] = '\0';
    /* The collector's record keys: the subtraction must move the cell keys
     * exactly as the addition did. */
    protect_t *protect = protect_open(ledger, NULL, err, errlen);
    s_run_t r = {req,
                 protect ? aggregate_new(catalogue, protect_secret(protect)) : NULL,
                 erase_scrub_new(),
                 report,
                 ERASE_OK,
                 0,
                 err,
                 errlen};
    protect_destroy(&protect);
    erase_result_t result = ERASE_STORE;
    if (!r.aggregate || !r.scrub) {
        if (!err[0])
            snprintf(err, errlen, "out of memory");
        goto out;
    }
    int rc = ledger_write(ledger, s_run, &r);
    if (rc == S_REFUSED) {
        result = r.result;
        goto out;
    }
    if (rc) {
        snprintf(err, errlen, "erase: %s", store_strerror(rc));
        goto out;
    }
    if (report->erased)
        log_info("erase", "EVENTS-ERASED count=%llu first_seq=%llu last_seq=%llu",
                 (unsigned long long) report->erased, (unsigned long long) report->first_seq,
                 (unsigned long long) report->last_seq);
    if (erase_scrub_run(r.scrub, ledger, r.txnid, req->wait_ms, &report->scrub, err, errlen) < 0)
        goto out;
    result = ERASE_OK;
out:
    erase_scrub_destroy(&r.scrub);
    aggregate_destroy(&r.aggregate);
    return result;
}
