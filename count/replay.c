/* replay.c: the log through aggregate_event (see replay.h). Each chunk is
 * one write transaction on the target, reading the log either from the
 * source's snapshot or, in place, from the transaction itself; the log is
 * never written here, so both read the same events. */
#include "replay.h"

#include "approval.h"
#include "erase.h"
#include "util.h"

#define S_CHUNK 20000

typedef struct {
    replay_t *replay;
    uint64_t done; /* events of this chunk */
} s_chunk_t;

static int s_apply_target(replay_t *r, MDB_txn *log, ledger_txn_t *lt, const char *forbund,
                          const uint8_t *target_id)
{
    uint64_t seq;
    int rc = ledger_find(log, r->source, forbund, target_id, &seq);
    if (rc)
        return rc;
    const uint8_t *bytes;
    size_t len;
    if ((rc = ledger_get(log, r->source, seq, &bytes, &len, NULL)))
        return rc;
    event_msg_t *old;
    char why[160];
    if (codec_decode_event(bytes, len, &old, why, sizeof why))
        return MDB_CORRUPTED;
    rc = erase_is_tombstone(old) ? 0 : aggregate_event(r->aggregate, lt, old, 0, -1);
    codec_free_event(&old);
    return rc;
}

static int s_chunk(ledger_txn_t *lt, void *arg)
{
    s_chunk_t *c = arg;
    replay_t *r = c->replay;
    MDB_txn *log = r->snap ? r->snap : lt->txn;
    aggregate_begin(r->aggregate);
    c->done = 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(log, ledger_dbi(r->source, LEDGER_DB_LOG), &cur);
    if (rc)
        return rc;
    uint8_t key[8];
    be64_put(key, r->from_seq);
    MDB_val k = {8, key}, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && c->done < S_CHUNK;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (be64_get(k.mv_data) >= r->end_seq)
            break;
        event_msg_t *ev;
        char why[160];
        if ((rc = ledger_log_event(&v, &ev, why, sizeof why)))
            break;
        uint64_t seq = be64_get(k.mv_data);
        if (r->keep && !r->keep(ev, seq, r->keep_arg)) {
            codec_free_event(&ev);
            c->done++;
            continue;
        }
        if (r->approvals) {
            /* The log record's header: u8 version, be64 received ms. */
            int64_t at_ms = v.mv_size >= 9 ? (int64_t) be64_get((const uint8_t *) v.mv_data + 1) : 0;
            rc = ev->body_case == FINSAM__V1__EVENT__BODY_APPROVAL
                     ? approval_apply(lt->txn, lt->ledger, ev, seq, at_ms)
                     : approval_note(lt->txn, lt->ledger, log, r->source, ev, seq);
        }
        /* An approval feeds no cell; an erasure changes nothing here. */
        bool content = ev->body_case != FINSAM__V1__EVENT__BODY_APPROVAL &&
                       ev->body_case != FINSAM__V1__EVENT__BODY_ERASURE;
        if (rc == 0 && ev->body_case == FINSAM__V1__EVENT__BODY_RETRACTION) {
            rc = s_apply_target(r, log, lt, ev->forbund, ev->retraction->target_id.data);
        } else if (rc == 0 && content) {
            uint64_t order = 0;
            rc = ev->has_supersedes ? s_apply_target(r, log, lt, ev->forbund, ev->supersedes.data) : 0;
            if (rc == 0 && !erase_is_tombstone(ev) &&
                (rc = aggregate_origin(log, r->source, ev, seq, &order)) == 0)
                rc = aggregate_event(r->aggregate, lt, ev, order, +1);
        }
        codec_free_event(&ev);
        if (rc)
            break;
        c->done++;
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    return aggregate_flush(r->aggregate, lt, NULL, NULL);
}

int replay_run(replay_t *self, ledger_t *target, uint64_t *events)
{
    *events = 0;
    while (self->from_seq < self->end_seq) {
        s_chunk_t c = {self, 0};
        int rc = ledger_write(target, s_chunk, &c);
        if (rc)
            return rc;
        if (c.done == 0)
            break;
        *events += c.done;
        self->from_seq += c.done;
    }
    return 0;
}
