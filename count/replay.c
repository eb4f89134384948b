/* replay.c: the log through aggregate_event (see replay.h). Each chunk is
 * one write transaction of the target's cells environment, reading the
 * log from the source's snapshot or, in place, from the snapshot the
 * transaction took of the target's own log; the log is never written
 * here. The approvals, kept beside the log, are derived in a pass of
 * their own, in write transactions of the target's ledger. */
#include "replay.h"

#include "approval.h"
#include "erase.h"
#include "util.h"

#define S_CHUNK 20000

typedef struct {
    replay_t *replay;
    uint64_t done; /* positions of this chunk (events replayed or skipped) */
    uint64_t last; /* the last position of this chunk */
} s_chunk_t;

/* Decodes the stored event of `forbund` with id target_id: 0 with *old
 * and *seq, or an LMDB error (MDB_CORRUPTED if it does not decode). */
static int s_target(replay_t *r, MDB_txn *log, const char *forbund, const uint8_t *target_id, uint64_t *seq,
                    event_msg_t **old)
{
    int rc = ledger_find(log, r->source, forbund, target_id, seq);
    if (rc)
        return rc;
    const uint8_t *bytes;
    size_t len;
    if ((rc = ledger_get(log, r->source, *seq, &bytes, &len, NULL)))
        return rc;
    char why[160];
    return codec_decode_event(bytes, len, old, why, sizeof why) ? MDB_CORRUPTED : 0;
}

/* The event at position `at` — a retraction, a correction or an erasure
 * (`erasure`) — subtracts its target if the target's content still counts
 * there. A tombstone added nothing and is never subtracted. A retraction
 * or correction finds nothing to subtract once an erasure logged before
 * it waits for the target's tombstone (that erasure subtracted it); an
 * erasure subtracts while the target's bytes are still there (its
 * tombstone waits for this, see erase.h), unless a retraction or
 * correction before it did already. */
static int s_subtract(replay_t *r, MDB_txn *log, ledger_txn_t *lt, const char *forbund,
                      const uint8_t *target_id, uint64_t at, bool erasure)
{
    uint64_t seq, by;
    event_msg_t *old;
    int rc = s_target(r, log, forbund, target_id, &seq, &old);
    if (rc)
        return erasure && rc == MDB_NOTFOUND ? 0 : rc;
    int (*before)(MDB_txn *, const ledger_t *, uint64_t, uint64_t *) =
        erasure ? ledger_retracted_by : ledger_erasing;
    bool gone = erase_is_tombstone(old) || (before(log, r->source, seq, &by) == 0 && by < at);
    rc = gone ? 0 : aggregate_event(r->aggregate, lt, old, 0, -1);
    codec_free_event(&old);
    return rc;
}

static int s_event(replay_t *r, MDB_txn *log, ledger_txn_t *lt, const event_msg_t *ev, uint64_t seq)
{
    switch (ev->body_case) {
    case FINSAM__V1__EVENT__BODY_APPROVAL: return 0; /* feeds no cell */
    case FINSAM__V1__EVENT__BODY_ERASURE:
        return s_subtract(r, log, lt, ev->forbund, ev->erasure->target_id.data, seq, true);
    case FINSAM__V1__EVENT__BODY_RETRACTION:
        return s_subtract(r, log, lt, ev->forbund, ev->retraction->target_id.data, seq, false);
    default: break;
    }
    int rc = ev->has_supersedes ? s_subtract(r, log, lt, ev->forbund, ev->supersedes.data, seq, false) : 0;
    uint64_t order = 0;
    if (rc == 0 && !erase_is_tombstone(ev) && (rc = aggregate_origin(log, r->source, ev, seq, &order)) == 0)
        rc = aggregate_event(r->aggregate, lt, ev, order, +1);
    return rc;
}

static int s_chunk(ledger_txn_t *lt, void *arg)
{
    s_chunk_t *c = arg;
    replay_t *r = c->replay;
    MDB_txn *log = r->snap ? r->snap : lt->txn;
    uint64_t chunk = r->chunk ? r->chunk : S_CHUNK;
    aggregate_begin(r->aggregate);
    c->done = c->last = 0;
    if (r->follow) {
        /* From the position the cells themselves say, inside the
         * transaction: two followers (the collector's aggregator and
         * `finsamctl erase`) never apply an event twice. */
        r->from_seq = ledger_applied(lt->cells, lt->ledger) + 1;
        r->end_seq = lt->next_seq;
    }
    MDB_cursor *cur;
    int rc = mdb_cursor_open(log, ledger_dbi(r->source, LEDGER_DB_LOG), &cur);
    if (rc)
        return rc;
    uint8_t key[8];
    be64_put(key, r->from_seq);
    MDB_val k = {8, key}, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && c->done < chunk;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        uint64_t seq = be64_get(k.mv_data);
        if (seq >= r->end_seq)
            break;
        const uint8_t *bytes;
        size_t len;
        if (r->keep_bytes && ledger_log_bytes(&v, &bytes, &len) == 0 &&
            !r->keep_bytes(bytes, len, r->keep_arg)) {
            c->done++;
            c->last = seq;
            continue;
        }
        event_msg_t *ev;
        char why[160];
        if ((rc = ledger_log_event(&v, &ev, why, sizeof why)))
            break;
        if (!r->keep || r->keep(ev, seq, r->keep_arg))
            rc = s_event(r, log, lt, ev, seq);
        codec_free_event(&ev);
        if (rc)
            break;
        c->done++;
        c->last = seq;
        if ((r->max_people && aggregate_people(r->aggregate) >= r->max_people) ||
            (r->max_cells && aggregate_cells(r->aggregate) >= r->max_cells))
            break;
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    if ((rc = aggregate_flush(r->aggregate, lt, r->changed, r->changed_arg)))
        return rc;
    return c->done ? ledger_set_applied(lt, c->last) : 0;
}

typedef struct {
    replay_t *replay;
    uint64_t from;
    uint64_t done;
} s_approvals_t;

/* The approval state of a chunk of the log (approval.h), as ingest
 * derived it: into the target's ledger, never into its cells. */
static int s_approvals(ledger_txn_t *lt, void *arg)
{
    s_approvals_t *a = arg;
    replay_t *r = a->replay;
    MDB_txn *log = r->snap ? r->snap : lt->txn;
    a->done = 0;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(log, ledger_dbi(r->source, LEDGER_DB_LOG), &cur);
    if (rc)
        return rc;
    uint8_t key[8];
    be64_put(key, a->from);
    MDB_val k = {8, key}, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && a->done < S_CHUNK;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        uint64_t seq = be64_get(k.mv_data);
        if (seq >= r->end_seq)
            break;
        event_msg_t *ev;
        char why[160];
        if ((rc = ledger_log_event(&v, &ev, why, sizeof why)))
            break;
        if (!r->keep || r->keep(ev, seq, r->keep_arg)) {
            /* The log record's header: u8 version, be64 received ms. */
            int64_t at_ms = v.mv_size >= 9 ? (int64_t) be64_get((const uint8_t *) v.mv_data + 1) : 0;
            rc = ev->body_case == FINSAM__V1__EVENT__BODY_APPROVAL
                     ? approval_apply(lt->txn, lt->ledger, ev, seq, at_ms)
                     : approval_note(lt->txn, lt->ledger, log, r->source, ev, seq);
        }
        codec_free_event(&ev);
        if (rc)
            break;
        a->done++;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int replay_run(replay_t *self, ledger_t *target, uint64_t *events)
{
    *events = 0;
    if (self->approvals && !self->follow) {
        s_approvals_t a = {self, self->from_seq, 0};
        while (a.from < self->end_seq) {
            int rc = ledger_write(target, s_approvals, &a);
            if (rc)
                return rc;
            if (a.done == 0)
                break;
            a.from += a.done;
        }
    }
    for (;;) {
        if (self->approvals_only)
            break;
        if (!self->follow && self->from_seq >= self->end_seq)
            break;
        s_chunk_t c = {self, 0, 0};
        int rc = ledger_cells_write(target, s_chunk, &c);
        if (rc)
            return rc;
        if (c.done == 0)
            break;
        *events += c.done;
        self->from_seq = c.last + 1;
        if (self->follow && self->once)
            break;
    }
    return 0;
}

int replay_follow(ledger_t *ledger, aggregate_t *aggregate, uint32_t chunk, aggregate_changed_fn changed,
                  void *arg, uint64_t *events)
{
    replay_t r = {.source = ledger,
                  .aggregate = aggregate,
                  .follow = true,
                  .chunk = chunk,
                  .changed = changed,
                  .changed_arg = arg};
    return replay_run(&r, ledger, events);
}
