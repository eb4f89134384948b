/* stream_replay.c: replay and snapshot sessions on the replay socket (see
 * stream.h, stream_impl.h).
 *
 * Replay chunks are read in one short read transaction each and sent with
 * ZMQ_DONTWAIT: a client that does not read loses the rest of its chunk
 * and asks again from the last sequence it saw. So a replay never holds a
 * reader open across client round trips and never blocks the ingest loop
 * for longer than one chunk (at most REPLAY_MAX messages). Every request
 * is checked against the subscriber allow-list as it is now: a removed key
 * is refused on a connection that is already open. */
#include "stream_impl.h"

#include "codec.h"
#include "log.h"
#include "publish.h"
#include "util.h"

#include <string.h>

#define REPLAY_MAX 1000

static void s_replay_end(stream_t *self, zmq_msg_t *id, Finsam__V1__ReplayEnd *end)
{
    zmq_msg_t body;
    if (stream_pack_msg(&end->base, &body) < 0)
        return;
    stream_send_to(self->replay, zmq_msg_data(id), zmq_msg_size(id), "replay.end", end->next_seq, &body);
    zmq_msg_close(&body);
}

/* Sends one replay message to the peer `id`; -1 if the peer's queue is
 * full or it is gone (the chunk ends there; the client asks again). */
static int s_replay_send(stream_t *self, zmq_msg_t *id, const char *topic, uint64_t seq, const uint8_t *p,
                         size_t len)
{
    zmq_msg_t body;
    if (zmq_msg_init_size(&body, len) < 0)
        return -1;
    memcpy(zmq_msg_data(&body), p, len);
    int rc = stream_send_to(self->replay, zmq_msg_data(id), zmq_msg_size(id), topic, seq, &body);
    zmq_msg_close(&body);
    return rc;
}

static void s_replay_events(stream_t *self, zmq_msg_t *id, MDB_txn *txn, uint64_t from, uint32_t limit,
                            Finsam__V1__ReplayEnd *end)
{
    MDB_cursor *cur;
    end->next_seq = from;
    if (mdb_cursor_open(txn, ledger_dbi(self->ledger, LEDGER_DB_LOG), &cur))
        return;
    uint8_t key[8];
    be64_put(key, from ? from : 1);
    MDB_val k = {8, key}, v;
    uint32_t sent = 0;
    int rc;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE); rc == 0 && sent < limit;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        uint64_t seq = be64_get(k.mv_data);
        const uint8_t *bytes;
        size_t len;
        event_msg_t *ev;
        char why[160], topic[64];
        if (ledger_log_bytes(&v, &bytes, &len) || codec_decode_event(bytes, len, &ev, why, sizeof why))
            break;
        snprintf(topic, sizeof topic, "ev.%s.%s", ev->forbund, codec_event_kind(ev));
        codec_free_event(&ev);
        if (s_replay_send(self, id, topic, seq, bytes, len) < 0)
            break;
        end->next_seq = seq + 1;
        sent++;
    }
    end->done = rc == MDB_NOTFOUND;
    mdb_cursor_close(cur);
}

/* The exact snapshot (access "all"): every cell, resuming after a cell key.
 * Its sequence is the log position the cells reflect (the aggregator's),
 * which trails the log's head while the aggregator catches up. */
static void s_replay_cells(stream_t *self, zmq_msg_t *id, const ProtobufCBinaryData *after, uint32_t limit,
                           Finsam__V1__ReplayEnd *end, uint8_t *next_key)
{
    MDB_txn *txn;
    if (ledger_cells_read(self->ledger, &txn))
        return;
    end->head_seq = ledger_applied(txn, self->ledger);
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, ledger_dbi(self->ledger, LEDGER_DB_CELLS), &cur)) {
        ledger_cells_read_end(self->ledger, txn);
        return;
    }
    MDB_val k, v;
    int rc;
    if (after && after->len == CELL_KEY_LEN) {
        k = (MDB_val){CELL_KEY_LEN, after->data};
        rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
        if (rc == 0 && k.mv_size == CELL_KEY_LEN && !memcmp(k.mv_data, after->data, CELL_KEY_LEN))
            rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    } else {
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    }
    uint32_t sent = 0;
    for (; rc == 0 && sent < limit; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        cell_key_t ck;
        cell_t c;
        if (cell_key_decode(&ck, k.mv_data, k.mv_size) || cell_state_decode(&c, v.mv_data, v.mv_size))
            continue;
        char topic[96];
        size_t len;
        uint8_t *payload = stream_cell_update(&ck, &c, end->head_seq, &len, topic, sizeof topic);
        int sr = payload ? s_replay_send(self, id, topic, end->head_seq, payload, len) : -1;
        free(payload);
        if (sr < 0)
            break;
        memcpy(next_key, k.mv_data, CELL_KEY_LEN);
        end->has_next_key = 1;
        end->next_key = (ProtobufCBinaryData){CELL_KEY_LEN, next_key};
        sent++;
    }
    end->done = rc == MDB_NOTFOUND;
    end->next_seq = end->head_seq + 1;
    mdb_cursor_close(cur);
    ledger_cells_read_end(self->ledger, txn);
}

typedef struct {
    stream_t *self;
    zmq_msg_t *id;
    uint64_t seq;
    Finsam__V1__ReplayEnd *end;
    uint8_t *next_key;
} s_snap_ctx_t;

static int s_snap_send(const char *topic, const uint8_t *payload, size_t len, const char *row_key, void *arg)
{
    s_snap_ctx_t *c = arg;
    if (s_replay_send(c->self, c->id, topic, c->seq, payload, len) < 0)
        return -1;
    size_t n = strlen(row_key);
    memcpy(c->next_key, row_key, n);
    c->end->has_next_key = 1;
    c->end->next_key = (ProtobufCBinaryData){n, c->next_key};
    return 0;
}

/* The protected snapshot (access "aggregates"): the last publication, as
 * the live agg.* messages and the HTTP API show it, at its log position. */
static void s_replay_published(stream_t *self, zmq_msg_t *id, const ProtobufCBinaryData *after,
                               uint32_t limit, Finsam__V1__ReplayEnd *end, uint8_t *next_key)
{
    char from[FEED_ROW_KEY_MAX] = "";
    if (after && after->len < sizeof from) {
        memcpy(from, after->data, after->len);
        from[after->len] = '\0';
    }
    uint64_t seq = 0;
    int64_t at;
    publish_last(self->ledger, &seq, &at, NULL);
    s_snap_ctx_t c = {self, id, seq, end, next_key};
    bool done = false;
    feed_set_catalogue(self->feed, registry_live_get(self->registry));
    int rc = feed_snapshot(self->feed, seq, from, limit, s_snap_send, &c, &done);
    end->done = rc == 0 && done;
    end->head_seq = seq;
    end->next_seq = seq + 1;
}

Finsam__V1__ReplayRequest *stream_parse_replay(const uint8_t *data, size_t len, const char *access,
                                               uint32_t *limit, Finsam__V1__ReplayEnd *end)
{
    Finsam__V1__ReplayRequest *r = finsam__v1__replay_request__unpack(NULL, len, data);
    if (!access) {
        end->has_error = 1;
        end->error = FINSAM__V1__REJECT_CODE__REJECT_UNAUTHORIZED;
        end->error_text = "key not on the subscriber allow-list";
    } else if (!r || (r->kind != FINSAM__V1__REPLAY_REQUEST__KIND__KIND_EVENTS &&
                      r->kind != FINSAM__V1__REPLAY_REQUEST__KIND__KIND_SNAPSHOT)) {
        end->has_error = 1;
        end->error = FINSAM__V1__REJECT_CODE__REJECT_MALFORMED;
        end->error_text = "not a ReplayRequest";
    } else if (r->kind == FINSAM__V1__REPLAY_REQUEST__KIND__KIND_EVENTS && strcmp(access, "all")) {
        end->has_error = 1;
        end->error = FINSAM__V1__REJECT_CODE__REJECT_UNAUTHORIZED;
        end->error_text = "this key may read aggregates only";
    }
    if (end->has_error) {
        end->done = 1;
        if (r)
            finsam__v1__replay_request__free_unpacked(r, NULL);
        return NULL;
    }
    *limit = r->has_limit && r->limit > 0 && r->limit < REPLAY_MAX ? r->limit : REPLAY_MAX;
    return r;
}

void stream_handle_replay(stream_t *self)
{
    zmq_msg_t id, req;
    zmq_msg_init(&id);
    zmq_msg_init(&req);
    if (zmq_msg_recv(&id, self->replay, ZMQ_DONTWAIT) < 0)
        goto out;
    if (!zmq_msg_more(&id) || zmq_msg_recv(&req, self->replay, 0) < 0)
        goto out;
    while (zmq_msg_more(&req)) { /* drop extra frames */
        zmq_msg_close(&req);
        zmq_msg_init(&req);
        if (zmq_msg_recv(&req, self->replay, 0) < 0)
            goto out;
    }
    /* The key's access now, not at its handshake: a removed key is
     * refused on a connection that is already open. */
    const char *user = zmq_msg_gets(&req, "User-Id");
    const char *access = user ? allowlist_lookup(self->subscribers, user) : NULL;
    Finsam__V1__ReplayEnd end = FINSAM__V1__REPLAY_END__INIT;
    end.head_seq = ledger_next_seq(self->ledger) - 1;
    uint32_t limit;
    Finsam__V1__ReplayRequest *r =
        stream_parse_replay(zmq_msg_data(&req), zmq_msg_size(&req), access, &limit, &end);
    if (!r) {
        if (end.error == FINSAM__V1__REJECT_CODE__REJECT_UNAUTHORIZED)
            log_warn("stream", "REPLAY-REFUSED key=%.8s reason=%s", user ? user : "-",
                     access ? "aggregates-only" : "not-listed");
        s_replay_end(self, &id, &end);
        goto out;
    }
    MDB_txn *txn;
    uint8_t next_key[FEED_ROW_KEY_MAX];
    metrics_add(&self->metrics->replay_sessions, 1);
    const ProtobufCBinaryData *after = r->has_after_key ? &r->after_key : NULL;
    if (r->kind == FINSAM__V1__REPLAY_REQUEST__KIND__KIND_SNAPSHOT && strcmp(access, "all")) {
        s_replay_published(self, &id, after, limit, &end, next_key);
    } else if (r->kind != FINSAM__V1__REPLAY_REQUEST__KIND__KIND_EVENTS) {
        s_replay_cells(self, &id, after, limit, &end, next_key);
    } else if (store_read(ledger_store(self->ledger), &txn) == 0) {
        s_replay_events(self, &id, txn, r->has_from_seq ? r->from_seq : 1, limit, &end);
        store_read_end(ledger_store(self->ledger), txn);
    }
    s_replay_end(self, &id, &end);
    atomic_fetch_sub_explicit(&self->metrics->replay_sessions, 1, memory_order_relaxed);
    finsam__v1__replay_request__free_unpacked(r, NULL);
out:
    zmq_msg_close(&id);
    zmq_msg_close(&req);
}
