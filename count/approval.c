/* approval.c: the approval state machine (see approval.h for the design:
 * every step is a log event, the state is derived in the transaction that
 * stores it, a lock is a log position).
 *
 * What it deliberately does not do: decide who may send what — the
 * collector's validation (proto/validate.c) refuses APPROVE/REOPEN from an
 * agent and binds SUBMIT to the agent key's förbund; finsamctl is the
 * operator, who holds the data directory. */
#include "approval.h"

#include "log.h"
#include "util.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define S_KEY_LEN (LEDGER_FORBUND_LEN + 3)
#define S_STEP_KEY_LEN (S_KEY_LEN + 8)
#define S_STATE_LEN 38
#define S_VERSION 1

const char *approval_state_name(approval_state_t state)
{
    switch (state) {
    case APPROVAL_OPEN: return "open";
    case APPROVAL_SUBMITTED: return "submitted";
    case APPROVAL_APPROVED: return "approved";
    }
    return "unknown";
}

const char *approval_action_name(approval_action_t action)
{
    switch (action) {
    case APPROVAL_SUBMIT: return "submit";
    case APPROVAL_APPROVE: return "approve";
    case APPROVAL_REOPEN: return "reopen";
    }
    return "unknown";
}

int approval_period_parse(const char *text, int *year, int *half)
{
    int y, n = 0;
    if (!text || sscanf(text, "%4d%n", &y, &n) != 1 || n != 4 || y < 2000 || y > 2100)
        return -1;
    *half = 0;
    if (text[4] == '\0') {
        *year = y;
        return 0;
    }
    if ((text[4] != '-' || (text[5] != 'H' && text[5] != 'h')) || (text[6] != '1' && text[6] != '2') ||
        text[7])
        return -1;
    *year = y;
    *half = text[6] - '0';
    return 0;
}

void approval_period_format(char *out, size_t len, int year, int half)
{
    if (half)
        snprintf(out, len, "%d-H%d", year, half);
    else
        snprintf(out, len, "%d", year);
}

static void s_key(uint8_t key[S_KEY_LEN], const char *forbund, int year, int half)
{
    memset(key, 0, S_KEY_LEN);
    memcpy(key, forbund, strnlen(forbund, LEDGER_FORBUND_LEN));
    key[LEDGER_FORBUND_LEN] = (uint8_t) (year >> 8);
    key[LEDGER_FORBUND_LEN + 1] = (uint8_t) year;
    key[LEDGER_FORBUND_LEN + 2] = (uint8_t) half;
}

static void s_key_decode(const uint8_t *key, approval_t *a)
{
    memset(a, 0, sizeof *a);
    memcpy(a->forbund, key, LEDGER_FORBUND_LEN);
    a->year = key[LEDGER_FORBUND_LEN] << 8 | key[LEDGER_FORBUND_LEN + 1];
    a->half = key[LEDGER_FORBUND_LEN + 2];
}

static int s_state_decode(const MDB_val *v, approval_t *a)
{
    const uint8_t *p = v->mv_data;
    if (v->mv_size != S_STATE_LEN || p[0] != S_VERSION || p[1] > APPROVAL_APPROVED)
        return MDB_CORRUPTED;
    a->state = p[1];
    a->lock_seq = be64_get(p + 2);
    a->late_events = be64_get(p + 10);
    a->changed_seq = be64_get(p + 18);
    a->changed_ms = (int64_t) be64_get(p + 26);
    a->steps = be32_get(p + 34);
    return 0;
}

static int s_put_state(MDB_txn *txn, MDB_dbi dbi, const approval_t *a)
{
    uint8_t key[S_KEY_LEN], buf[S_STATE_LEN];
    s_key(key, a->forbund, a->year, a->half);
    buf[0] = S_VERSION;
    buf[1] = (uint8_t) a->state;
    be64_put(buf + 2, a->lock_seq);
    be64_put(buf + 10, a->late_events);
    be64_put(buf + 18, a->changed_seq);
    be64_put(buf + 26, (uint64_t) a->changed_ms);
    be32_put(buf + 34, a->steps);
    MDB_val k = {sizeof key, key}, v = {sizeof buf, buf};
    return mdb_put(txn, dbi, &k, &v, 0);
}

int approval_get(MDB_txn *txn, const ledger_t *ledger, const char *forbund, int year, int half,
                 approval_t *out)
{
    uint8_t key[S_KEY_LEN];
    s_key(key, forbund, year, half);
    s_key_decode(key, out);
    MDB_val k = {sizeof key, key}, v;
    int rc = mdb_get(txn, ledger_dbi(ledger, LEDGER_DB_APPROVALS), &k, &v);
    if (rc == MDB_NOTFOUND)
        return 0;
    return rc ? rc : s_state_decode(&v, out);
}

static void s_name(char *out, size_t len, const approval_t *a)
{
    char period[16];
    approval_period_format(period, sizeof period, a->year, a->half);
    snprintf(out, len, "%s %s", a->forbund, period);
}

int approval_check(MDB_txn *txn, const ledger_t *ledger, const event_msg_t *ev, reject_code_t *code,
                   char *why, size_t whylen)
{
    const Finsam__V1__PeriodApproval *pa = ev->approval;
    approval_t a;
    int half = pa->has_half ? (int) pa->half : 0;
    int rc = approval_get(txn, ledger, ev->forbund, (int) pa->year, half, &a);
    if (rc)
        return rc;
    char name[40];
    s_name(name, sizeof name, &a);
    *code = FINSAM__V1__REJECT_CODE__REJECT_STATE;
    switch ((approval_action_t) pa->action) {
    case APPROVAL_SUBMIT:
        if (a.state == APPROVAL_OPEN)
            break;
        if (a.state == APPROVAL_SUBMITTED)
            snprintf(why, whylen, "%s is submitted already and waits for the central approval", name);
        else
            snprintf(why, whylen,
                     "%s is approved and locked; the central operator must reopen it before it can be "
                     "submitted again",
                     name);
        return 0;
    case APPROVAL_APPROVE:
        if (a.state == APPROVAL_SUBMITTED)
            break;
        if (a.state == APPROVAL_OPEN)
            snprintf(why, whylen,
                     "%s is not submitted (state open): the förbund submits it first with `finsam-agent "
                     "submit --year %d`",
                     name, a.year);
        else
            snprintf(why, whylen, "%s is approved already (locked at log position %llu)", name,
                     (unsigned long long) a.lock_seq);
        return 0;
    case APPROVAL_REOPEN:
        if (a.state != APPROVAL_OPEN)
            break;
        snprintf(why, whylen, "%s is open; there is nothing to reopen", name);
        return 0;
    default:
        *code = FINSAM__V1__REJECT_CODE__REJECT_INVALID_FIELD;
        snprintf(why, whylen, "unknown approval action %d", pa->action);
        return 0;
    }
    *code = FINSAM__V1__REJECT_CODE__REJECT_NONE;
    return 0;
}

int approval_apply(MDB_txn *txn, const ledger_t *ledger, const event_msg_t *ev, uint64_t seq, int64_t at_ms)
{
    const Finsam__V1__PeriodApproval *pa = ev->approval;
    MDB_dbi dbi = ledger_dbi(ledger, LEDGER_DB_APPROVALS);
    approval_t a;
    int rc = approval_get(txn, ledger, ev->forbund, (int) pa->year, pa->has_half ? (int) pa->half : 0, &a);
    if (rc)
        return rc;
    approval_state_t from = a.state;
    uint64_t late = a.late_events;
    switch ((approval_action_t) pa->action) {
    case APPROVAL_SUBMIT: a.state = APPROVAL_SUBMITTED; break;
    case APPROVAL_APPROVE:
        a.state = APPROVAL_APPROVED;
        a.lock_seq = seq;
        a.late_events = 0;
        break;
    case APPROVAL_REOPEN:
        a.state = APPROVAL_OPEN;
        a.lock_seq = 0;
        a.late_events = 0;
        break;
    default: return MDB_CORRUPTED; /* checked before it was logged */
    }
    a.changed_seq = seq;
    a.changed_ms = at_ms;
    a.steps++;
    if ((rc = s_put_state(txn, dbi, &a)))
        return rc;
    /* The history step. */
    size_t by = pa->by ? strnlen(pa->by, APPROVAL_BY_MAX) : 0;
    size_t reason = pa->reason ? strnlen(pa->reason, APPROVAL_REASON_MAX) : 0;
    uint8_t key[S_STEP_KEY_LEN], buf[1 + 3 + 16 + 1 + APPROVAL_BY_MAX + 2 + APPROVAL_REASON_MAX];
    s_key(key, a.forbund, a.year, a.half);
    be64_put(key + S_KEY_LEN, seq);
    size_t n = 0;
    buf[n++] = S_VERSION;
    buf[n++] = (uint8_t) pa->action;
    buf[n++] = (uint8_t) from;
    buf[n++] = (uint8_t) a.state;
    be64_put(buf + n, (uint64_t) at_ms);
    be64_put(buf + n + 8, late);
    n += 16;
    buf[n++] = (uint8_t) by;
    memcpy(buf + n, pa->by ? pa->by : "", by);
    n += by;
    buf[n++] = (uint8_t) (reason >> 8);
    buf[n++] = (uint8_t) reason;
    memcpy(buf + n, pa->reason ? pa->reason : "", reason);
    n += reason;
    MDB_val k = {sizeof key, key}, v = {n, buf};
    return mdb_put(txn, dbi, &k, &v, 0);
}

/* Year and month (1-12) of a unix time in the process's zone
 * (Europe/Stockholm, checked at start). */
static void s_month(int64_t t, int *year, int *month)
{
    time_t tt = (time_t) t;
    struct tm tm;
    localtime_r(&tt, &tm);
    *year = tm.tm_year + 1900;
    *month = tm.tm_mon + 1;
}

/* Counts one late event for (forbund, month) in the year's and the half's
 * period where they are locked before seq. */
static int s_note_month(MDB_txn *txn, const ledger_t *ledger, const char *forbund, int64_t at, uint64_t seq)
{
    int year, month;
    s_month(at, &year, &month);
    int halves[2] = {0, month <= 6 ? 1 : 2};
    for (int i = 0; i < 2; i++) {
        approval_t a;
        int rc = approval_get(txn, ledger, forbund, year, halves[i], &a);
        if (rc)
            return rc;
        if (a.state != APPROVAL_APPROVED || seq <= a.lock_seq)
            continue;
        a.late_events++;
        if ((rc = s_put_state(txn, ledger_dbi(ledger, LEDGER_DB_APPROVALS), &a)))
            return rc;
    }
    return 0;
}

int approval_note(MDB_txn *txn, const ledger_t *ledger, MDB_txn *log, const ledger_t *source,
                  const event_msg_t *ev, uint64_t seq)
{
    if (ev->body_case == FINSAM__V1__EVENT__BODY_APPROVAL)
        return 0;
    /* Nothing approved anywhere yet: the common case costs one stat. */
    MDB_stat st;
    int rc = mdb_stat(txn, ledger_dbi(ledger, LEDGER_DB_APPROVALS), &st);
    if (rc || st.ms_entries == 0)
        return rc;
    int64_t when[2] = {ev->occurred_at, 0};
    int n = 1;
    const uint8_t *target = NULL;
    if (ev->body_case == FINSAM__V1__EVENT__BODY_RETRACTION)
        target = ev->retraction->target_id.data;
    else if (ev->body_case == FINSAM__V1__EVENT__BODY_ERASURE)
        target = ev->erasure->target_id.data;
    else if (ev->has_supersedes)
        target = ev->supersedes.data;
    if (target) {
        uint64_t tseq;
        const uint8_t *bytes;
        size_t len;
        event_msg_t *old;
        char why[160];
        if ((rc = ledger_find(log, source, ev->forbund, target, &tseq)) == 0 &&
            (rc = ledger_get(log, source, tseq, &bytes, &len, NULL)) == 0) {
            if (codec_decode_event(bytes, len, &old, why, sizeof why) != FINSAM__V1__REJECT_CODE__REJECT_NONE)
                return MDB_CORRUPTED;
            when[n++] = old->occurred_at;
            codec_free_event(&old);
        } else if (rc != MDB_NOTFOUND) {
            return rc;
        }
    }
    int y0, m0, y1, m1;
    s_month(when[0], &y0, &m0);
    if (n == 2) {
        s_month(when[1], &y1, &m1);
        if (y0 == y1 && (m0 <= 6) == (m1 <= 6))
            n = 1; /* the same periods: count the event once */
    }
    for (int i = 0; i < n; i++)
        if ((rc = s_note_month(txn, ledger, ev->forbund, when[i], seq)))
            return rc;
    return 0;
}

/* ---- reading ----------------------------------------------------------- */

static int s_each(MDB_txn *txn, const ledger_t *ledger, const char *forbund, int year, approval_fn fn,
                  void *arg)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, ledger_dbi(ledger, LEDGER_DB_APPROVALS), &cur);
    if (rc)
        return rc;
    uint8_t start[S_KEY_LEN] = {0};
    size_t prefix = 0;
    if (forbund) {
        s_key(start, forbund, year, 0);
        prefix = year ? LEDGER_FORBUND_LEN + 2 : LEDGER_FORBUND_LEN;
    }
    MDB_val k = {prefix ? prefix : 1, start}, v;
    int op = MDB_SET_RANGE;
    if (!prefix)
        op = MDB_FIRST;
    for (rc = mdb_cursor_get(cur, &k, &v, op); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (prefix && (k.mv_size < prefix || memcmp(k.mv_data, start, prefix)))
            break;
        if (k.mv_size != S_KEY_LEN)
            continue; /* a history step */
        approval_t a;
        s_key_decode(k.mv_data, &a);
        if (year && a.year != year)
            continue;
        if ((rc = s_state_decode(&v, &a)) || (rc = fn(&a, arg)))
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int approval_each(MDB_txn *txn, const ledger_t *ledger, const char *forbund, int year, approval_fn fn,
                  void *arg)
{
    return s_each(txn, ledger, forbund, year, fn, arg);
}

int approval_history(MDB_txn *txn, const ledger_t *ledger, const char *forbund, int year, int half,
                     approval_step_fn fn, void *arg)
{
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, ledger_dbi(ledger, LEDGER_DB_APPROVALS), &cur);
    if (rc)
        return rc;
    uint8_t start[S_KEY_LEN];
    s_key(start, forbund, year, half);
    MDB_val k = {S_KEY_LEN, start}, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size < S_KEY_LEN || memcmp(k.mv_data, start, S_KEY_LEN))
            break;
        if (k.mv_size != S_STEP_KEY_LEN)
            continue;
        const uint8_t *p = v.mv_data;
        size_t len = v.mv_size;
        if (len < 21 || p[0] != S_VERSION || len < 21u + p[20] + 2u) {
            rc = MDB_CORRUPTED;
            break;
        }
        approval_step_t s = {0};
        s.seq = be64_get((const uint8_t *) k.mv_data + S_KEY_LEN);
        s.action = p[1];
        s.from = p[2];
        s.to = p[3];
        s.at_ms = (int64_t) be64_get(p + 4);
        s.late_events = be64_get(p + 12);
        size_t by = p[20];
        memcpy(s.by, p + 21, by < APPROVAL_BY_MAX ? by : APPROVAL_BY_MAX);
        size_t r = (size_t) p[21 + by] << 8 | p[22 + by];
        if (len < 23 + by + r) {
            rc = MDB_CORRUPTED;
            break;
        }
        memcpy(s.reason, p + 23 + by, r < APPROVAL_REASON_MAX ? r : APPROVAL_REASON_MAX);
        if ((rc = fn(&s, arg)))
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static void s_time(char *out, size_t len, int64_t ms)
{
    time_t t = (time_t) (ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int s_step_json(const approval_step_t *s, void *arg)
{
    char at[32];
    s_time(at, sizeof at, s->at_ms);
    json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:s, s:I}", "seq", (json_int_t) s->seq, "action",
                          approval_action_name(s->action), "from", approval_state_name(s->from), "to",
                          approval_state_name(s->to), "at", at, "late_events", (json_int_t) s->late_events);
    if (!o)
        return ENOMEM;
    if (s->by[0])
        json_object_set_new(o, "by", json_string(s->by));
    if (s->reason[0])
        json_object_set_new(o, "reason", json_string(s->reason));
    return json_array_append_new(arg, o) ? ENOMEM : 0;
}

typedef struct {
    MDB_txn *txn;
    const ledger_t *ledger;
    json_t *periods;
    bool history;
} s_json_t;

static int s_period_json(const approval_t *a, void *arg)
{
    s_json_t *j = arg;
    char period[16], at[32];
    approval_period_format(period, sizeof period, a->year, a->half);
    s_time(at, sizeof at, a->changed_ms);
    json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:s}", "forbund", a->forbund, "period", period,
                          "state", approval_state_name(a->state), "locked", a->state == APPROVAL_APPROVED,
                          "lock_seq", (json_int_t) a->lock_seq, "late_events", (json_int_t) a->late_events,
                          "changed_seq", (json_int_t) a->changed_seq, "changed_at", at);
    if (!o)
        return ENOMEM;
    if (j->history) {
        json_t *h = json_array();
        json_object_set_new(o, "history", h);
        int rc = approval_history(j->txn, j->ledger, a->forbund, a->year, a->half, s_step_json, h);
        if (rc) {
            json_decref(o);
            return rc;
        }
    }
    return json_array_append_new(j->periods, o) ? ENOMEM : 0;
}

json_t *approval_json(ledger_t *ledger, const char *forbund, int year, bool history, char *err, size_t errlen)
{
    MDB_txn *txn;
    int rc = store_read(ledger_store(ledger), &txn);
    if (rc) {
        snprintf(err, errlen, "%s", store_strerror(rc));
        return NULL;
    }
    s_json_t j = {txn, ledger, json_array(), history};
    rc = j.periods ? approval_each(txn, ledger, forbund, year, s_period_json, &j) : ENOMEM;
    store_read_end(ledger_store(ledger), txn);
    if (rc) {
        snprintf(err, errlen, "approvals: %s", store_strerror(rc));
        json_decref(j.periods);
        return NULL;
    }
    return json_pack("{s:o}", "periods", j.periods);
}

/* ---- finsamctl approve / reopen ----------------------------------------- */

typedef struct {
    const approval_request_t *req;
    uint64_t seq;
    char *err;
    size_t errlen;
} s_run_t;

/* Not an LMDB code nor an errno: "refused, err says why". */
#define S_REFUSED (-1)

static int s_run(ledger_txn_t *lt, void *arg)
{
    s_run_t *r = arg;
    const approval_request_t *req = r->req;
    int64_t now_ms = clock_wall_ms();
    Finsam__V1__PeriodApproval pa = FINSAM__V1__PERIOD_APPROVAL__INIT;
    pa.action = (Finsam__V1__PeriodApproval__Action) req->action;
    pa.year = (uint32_t) req->year;
    pa.has_half = req->half != 0;
    pa.half = (uint32_t) req->half;
    pa.by = (char *) req->by;
    pa.reason = (char *) req->reason;
    /* The id: the month it was made in (the dedupe index grows at its
     * right edge, as agents' ids do), then random bytes: every operator
     * step is a new event, even the same step again after a reopen. */
    uint8_t id[16];
    time_t t = (time_t) (now_ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    be32_put(id, (uint32_t) ((tm.tm_year + 1900 - 1970) * 12 + tm.tm_mon));
    randombytes_buf(id + 4, 12);
    Finsam__V1__Event ev = FINSAM__V1__EVENT__INIT;
    ev.id = (ProtobufCBinaryData){16, id};
    ev.forbund = (char *) req->forbund;
    ev.occurred_at = now_ms / 1000;
    ev.catalogue_version = 1;
    ev.body_case = FINSAM__V1__EVENT__BODY_APPROVAL;
    ev.approval = &pa;
    size_t len;
    uint8_t *bytes = codec_pack(&ev.base, &len);
    if (!bytes)
        return ENOMEM;
    /* Decoded back, so the check sees exactly what is logged. */
    event_msg_t *msg;
    char why[256];
    int rc = 0;
    reject_code_t code = codec_decode_event(bytes, len, &msg, why, sizeof why);
    if (code != FINSAM__V1__REJECT_CODE__REJECT_NONE) {
        snprintf(r->err, r->errlen, "%s", why);
        free(bytes);
        return S_REFUSED;
    }
    if ((rc = approval_check(lt->txn, lt->ledger, msg, &code, why, sizeof why)) == 0) {
        if (code != FINSAM__V1__REJECT_CODE__REJECT_NONE) {
            snprintf(r->err, r->errlen, "%s", why);
            rc = S_REFUSED;
        } else if ((rc = ledger_append(lt, req->forbund, id, bytes, len, now_ms, &r->seq)) == 0) {
            rc = approval_apply(lt->txn, lt->ledger, msg, r->seq, now_ms);
        }
    }
    codec_free_event(&msg);
    free(bytes);
    return rc;
}

fin_err_t approval_run(ledger_t *ledger, const approval_request_t *req, uint64_t *seq, char *err,
                       size_t errlen)
{
    *seq = 0;
    if (!req->forbund || !code_is_valid(req->forbund, LEDGER_FORBUND_LEN))
        return fin_fail(err, errlen, FIN_EINPUT, "förbund code must be 1-8 letters, digits, '_' or '-'");
    if (req->action != APPROVAL_APPROVE && req->action != APPROVAL_REOPEN)
        return fin_fail(err, errlen, FIN_EINPUT, "the operator approves or reopens; a förbund submits");
    if (req->action == APPROVAL_REOPEN && (!req->reason || !req->reason[0]))
        return fin_fail(err, errlen, FIN_EINPUT, "a reopen needs a reason (--reason TEXT)");
    s_run_t r = {req, 0, err, errlen};
    err[0] = '\0';
    int rc = ledger_write(ledger, s_run, &r);
    if (rc == S_REFUSED)
        return FIN_EINPUT;
    if (rc)
        return fin_fail(err, errlen, fin_from_mdb(rc), "approvals: %s", store_strerror(rc));
    char period[16];
    approval_period_format(period, sizeof period, req->year, req->half);
    log_info("approval", "PERIOD-%s forbund=%s period=%s seq=%llu by=%s",
             req->action == APPROVAL_APPROVE ? "APPROVED" : "REOPENED", req->forbund, period,
             (unsigned long long) r.seq, req->by ? req->by : "");
    *seq = r.seq;
    return FIN_OK;
}
