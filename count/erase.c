/* erase.c: erasure of events — tombstones in the log, the cells, and the
 * scrub of data.mdb (see erase.h for the steps and why overwriting is safe).
 *
 * The one design decision: the scrub looks for the exact old byte sequences
 * and nothing else. An exact copy of an erased event is never live data,
 * so a match can be overwritten without knowing LMDB's page layout; a
 * looser pattern (the marker text alone, say) could match live data and
 * corrupt it. The scan itself is store/scrub.c, shared with the agent's
 * outbox; this file keeps the copies of what it erased and does the extra
 * commit the scan needs first.
 *
 * Not here: which events an agent may erase (ingest.c calls
 * erase_check_target and erase_mark), the command line (ctl.c). */
#include "erase.h"

#include "replay.h"
#include "secret.h"
#include "scrub.h"

#include "log.h"
#include "util.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- what the scrub keeps (store/scrub.h) ------------------------------- */

struct erase_scrub_t {
    store_scrub_t *kept;
};

erase_scrub_t *erase_scrub_new(void)
{
    erase_scrub_t *self = calloc(1, sizeof *self);
    if (self && !(self->kept = store_scrub_new())) {
        free(self);
        self = NULL;
    }
    return self;
}

void erase_scrub_clear(erase_scrub_t *self)
{
    store_scrub_clear(self->kept);
}

void erase_scrub_destroy(erase_scrub_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_scrub_destroy(&(*self_p)->kept);
    free(*self_p);
    *self_p = NULL;
}

size_t erase_scrub_size(const erase_scrub_t *self)
{
    return store_scrub_size(self->kept);
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

int erase_scrub_run(erase_scrub_t *self, ledger_t *ledger, uint64_t erase_txnid, int wait_ms,
                    erase_scrub_report_t *report, char *err, size_t errlen)
{
    memset(report, 0, sizeof *report);
    err[0] = '\0';
    if (erase_scrub_size(self) == 0)
        return 0;
    int64_t t0 = clock_mono_ms();
    int rc = ledger_write(ledger, s_bump, NULL);
    if (rc) {
        snprintf(err, errlen, "commit before the scrub: %s", store_strerror(rc));
        return -1;
    }
    store_scrub_report_t r;
    rc = store_scrub_run(self->kept, ledger_store(ledger), erase_txnid, wait_ms, &r, err, errlen);
    /* Exact copies are not all: deleting and moving nodes leaves cut-off
     * pieces in pages' unused middles and recycled buffers (store/scrub.h,
     * measured: 24 pieces after erasing 10,000 of 20,000 events). Wipe all
     * free space too. */
    store_scrub_report_t w;
    if (rc == 0)
        rc = store_scrub_wipe(ledger_store(ledger), erase_txnid, wait_ms, &w, err, errlen);
    report->copies = r.copies;
    report->scanned = r.scanned;
    report->old_readers = r.old_readers;
    report->seconds = (double) (clock_mono_ms() - t0) / 1000.0;
    return rc;
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

int erase_mark(ledger_txn_t *lt, uint64_t target_seq, uint64_t by_seq)
{
    return ledger_mark_erasing(lt->txn, lt->ledger, target_seq, by_seq);
}

bool erase_waiting(MDB_txn *txn, const ledger_t *ledger, uint64_t seq)
{
    uint64_t by;
    return ledger_erasing(txn, ledger, seq, &by) == 0;
}

/* ---- the tombstones, once the aggregator passed the erasures ----------- */

typedef struct {
    uint64_t applied;
    erase_scrub_t *scrub;
    uint64_t finished;
    uint64_t txnid;
} s_finish_t;

static int s_finish(ledger_txn_t *lt, void *arg)
{
    s_finish_t *f = arg;
    erase_scrub_clear(f->scrub); /* a retry starts over */
    f->finished = 0;
    f->txnid = erase_txnid(lt);
    MDB_cursor *cur;
    int rc = mdb_cursor_open(lt->txn, ledger_dbi(lt->ledger, LEDGER_DB_ERASING), &cur);
    if (rc)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 8 || v.mv_size != 8) {
            rc = MDB_CORRUPTED;
            break;
        }
        uint64_t seq = be64_get(k.mv_data), by_seq = be64_get(v.mv_data);
        if (by_seq > f->applied)
            continue; /* its subtraction is not in the cells yet */
        const uint8_t *bytes;
        size_t len;
        event_msg_t *target;
        char why[160];
        if ((rc = ledger_get(lt->txn, lt->ledger, seq, &bytes, &len, NULL)))
            break;
        if (codec_decode_event(bytes, len, &target, why, sizeof why)) {
            rc = MDB_CORRUPTED;
            break;
        }
        if (!erase_is_tombstone(target)) {
            /* Copy before any write: bytes points into the map. */
            rc = store_scrub_add(f->scrub->kept, target->id.data, bytes, len);
            if (rc == EINVAL)
                rc = MDB_CORRUPTED; /* a stored event always holds its id */
            size_t tlen;
            uint8_t *tomb = rc ? NULL : s_tombstone(target, by_seq, &tlen);
            if (!rc && !tomb)
                rc = ENOMEM;
            if (!rc)
                rc = ledger_replace(lt->txn, lt->ledger, seq, tomb, tlen);
            free(tomb);
            uint64_t n = 0;
            if (rc == 0 && (rc = s_meta_u64(lt->txn, lt->ledger, &s_key_erasures, &n)) == 0)
                rc = s_meta_put_u64(lt->txn, lt->ledger, &s_key_erasures, n + 1);
        }
        codec_free_event(&target);
        if (rc == 0)
            rc = mdb_cursor_del(cur, 0);
        if (rc)
            break;
        f->finished++;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Whether any erasure waits for its tombstone (a read, no writer lock). */
static bool s_any_waiting(ledger_t *ledger)
{
    MDB_txn *txn;
    if (store_read(ledger_store(ledger), &txn))
        return true; /* let the write say what is wrong */
    MDB_stat st;
    bool any = mdb_stat(txn, ledger_dbi(ledger, LEDGER_DB_ERASING), &st) != 0 || st.ms_entries > 0;
    store_read_end(ledger_store(ledger), txn);
    return any;
}

int erase_finish(ledger_t *ledger, int wait_ms, uint64_t *finished, erase_scrub_report_t *report, char *err,
                 size_t errlen)
{
    *finished = 0;
    memset(report, 0, sizeof *report);
    err[0] = '\0';
    if (!s_any_waiting(ledger))
        return 0;
    s_finish_t f = {ledger_applied_now(ledger), erase_scrub_new(), 0, 0};
    if (!f.scrub) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = ledger_write(ledger, s_finish, &f);
    if (rc) {
        snprintf(err, errlen, "tombstones: %s", store_strerror(rc));
        erase_scrub_destroy(&f.scrub);
        return -1;
    }
    *finished = f.finished;
    rc = f.finished ? erase_scrub_run(f.scrub, ledger, f.txnid, wait_ms, report, err, errlen) : 0;
    erase_scrub_destroy(&f.scrub);
    return rc;
}

/* ---- finsamctl erase ---------------------------------------------------- */

typedef struct {
    const erase_request_t *req;
    erase_report_t *report;
    erase_result_t result;
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
    if (erase_is_tombstone(target) || erase_waiting(lt->txn, lt->ledger, seq)) {
        r->report->already++;
    } else if (erase_check_target(target, why, sizeof why) != FINSAM__V1__REJECT_CODE__REJECT_NONE) {
        if (by_id) {
            r->result = ERASE_NOT_CONTENT;
            snprintf(r->err, r->errlen, "%s", why);
            rc = S_REFUSED;
        }
    } else {
        uint64_t by_seq;
        if ((rc = s_write_erasure(lt, target, &by_seq)) == 0 && (rc = erase_mark(lt, seq, by_seq)) == 0) {
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
        if ((rc = ledger_log_event(&v, &ev, why, sizeof why)))
            break;
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
    r->report->erased = r->report->already = r->report->first_seq = r->report->last_seq = 0;
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
    return rc;
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
    uint8_t secret[SECRET_LEN];
    bool keyed = secret_load(ledger, secret, err, errlen) == 0;
    aggregate_t *aggregate = keyed ? aggregate_new(catalogue, secret) : NULL;
    sodium_memzero(secret, sizeof secret);
    s_run_t r = {req, report, ERASE_OK, err, errlen};
    erase_result_t result = ERASE_STORE;
    if (!aggregate) {
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
    /* The cells pass the erasures (here, or in a running collector's
     * aggregator: whichever takes the cells' writer lock first), then the
     * tombstones replace the bytes and the scrub runs. */
    uint64_t applied = 0, finished = 0;
    if ((rc = replay_follow(ledger, aggregate, 0, NULL, NULL, &applied))) {
        snprintf(err, errlen, "erase: bringing the cells up to the erasures: %s", store_strerror(rc));
        goto out;
    }
    if (erase_finish(ledger, req->wait_ms, &finished, &report->scrub, err, errlen) < 0)
        goto out;
    result = ERASE_OK;
out:
    aggregate_destroy(&aggregate);
    return result;
}
