/* stream.c: event and aggregate streams, replay and snapshot (see
 * stream.h).
 *
 * Replay chunks are read in one short read transaction each and sent with
 * ZMQ_DONTWAIT: a client that does not read loses the rest of its chunk
 * and asks again from the last sequence it saw. So a replay never holds a
 * reader open across client round trips and never blocks the ingest loop
 * for longer than one chunk (at most 1000 messages). */
#include "stream.h"

#include "cell.h"
#include "codec.h"
#include "log.h"
#include "monitor.h"
#include "util.h"

#include <errno.h>
#include <string.h>

#define REPLAY_MAX 1000

struct stream_t {
    stream_config_t config;
    ledger_t *ledger;
    const catalogue_t *catalogue;
    metrics_t *metrics;
    void *pub_all, *pub_agg, *replay;
    zsock_t *s_all, *s_agg, *s_replay;
    /* Socket monitors of the two PUB sockets. A failed handshake is
     * reported first as a failure, then as a disconnect: that disconnect
     * is not a subscriber leaving. */
    void *monitor[2];
    int64_t connected[2], failed_unpaired[2];
    zhashx_t *changed; /* cell key -> cell_t, for the transaction in flight */
};

static size_t s_cell_hash(const void *key)
{
    const uint8_t *p = key;
    size_t h = 1469598103934665603ULL;
    for (int i = 0; i < CELL_KEY_LEN; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}
static int s_cell_cmp(const void *a, const void *b)
{
    return memcmp(a, b, CELL_KEY_LEN);
}
static void *s_cell_dup(const void *key)
{
    void *p = malloc(CELL_KEY_LEN);
    if (p)
        memcpy(p, key, CELL_KEY_LEN);
    return p;
}
static void s_free(void **p)
{
    free(*p);
    *p = NULL;
}

static zsock_t *s_bind(stream_t *self, int type, const char *endpoint, const char *domain, zcert_t *cert,
                       FILE *ef)
{
    zsock_t *s = zsock_new(type);
    if (!s)
        return NULL;
    zcert_apply(cert, s);
    zsock_set_curve_server(s, 1);
    zsock_set_zap_domain(s, domain);
    zsock_set_linger(s, 0);
    zsock_set_sndhwm(s, self->config.hwm);
    zsock_set_rcvhwm(s, 100);
    zsock_set_maxmsgsize(s, 4096);
    zsock_set_heartbeat_ivl(s, 1000);
    zsock_set_heartbeat_timeout(s, 5000);
    if (type == ZMQ_ROUTER)
        zsock_set_router_mandatory(s, 1);
    if (zsock_bind(s, "%s", endpoint) < 0) {
        log_error("stream", "BIND-FAILED endpoint=%s reason=%s", endpoint, zmq_strerror(errno));
        zsock_destroy(&s);
        return NULL;
    }
    char *last = zsock_last_endpoint(s);
    log_info("stream", "LISTENING role=%s endpoint=%s", domain, last);
    if (ef)
        fprintf(ef, "%s %s\n", type == ZMQ_ROUTER ? "replay" : domain, last);
    zstr_free(&last);
    return s;
}

stream_t *stream_new(const stream_config_t *config, zcert_t *cert, ledger_t *ledger,
                     const catalogue_t *catalogue, metrics_t *metrics)
{
    stream_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    self->ledger = ledger;
    self->catalogue = catalogue;
    self->metrics = metrics;
    self->changed = zhashx_new();
    if (!self->changed)
        goto fail;
    zhashx_set_key_hasher(self->changed, s_cell_hash);
    zhashx_set_key_comparator(self->changed, s_cell_cmp);
    zhashx_set_key_duplicator(self->changed, s_cell_dup);
    zhashx_set_key_destructor(self->changed, s_free);
    zhashx_set_destructor(self->changed, s_free);
    FILE *ef = config->endpoint_file ? fopen(config->endpoint_file, "w") : NULL;
    self->s_all = s_bind(self, ZMQ_PUB, config->events_endpoint, "stream-all", cert, ef);
    self->s_agg =
        self->s_all ? s_bind(self, ZMQ_PUB, config->aggregates_endpoint, "stream-agg", cert, ef) : NULL;
    self->s_replay =
        self->s_agg ? s_bind(self, ZMQ_ROUTER, config->replay_endpoint, "stream-agg", cert, ef) : NULL;
    if (ef)
        fclose(ef);
    if (!self->s_replay)
        goto fail;
    self->pub_all = zsock_resolve(self->s_all);
    self->pub_agg = zsock_resolve(self->s_agg);
    self->replay = zsock_resolve(self->s_replay);
    void *pubs[2] = {self->pub_all, self->pub_agg};
    for (int i = 0; i < 2; i++) {
        self->monitor[i] = monitor_open(
            zsys_init(), pubs[i], i ? "stream-agg" : "stream-all",
            ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
        if (!self->monitor[i])
            goto fail;
    }
    return self;
fail:
    stream_destroy(&self);
    return NULL;
}

void stream_destroy(stream_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    stream_t *self = *self_p;
    for (int i = 0; i < 2; i++)
        if (self->monitor[i])
            zmq_close(self->monitor[i]);
    zsock_destroy(&self->s_all);
    zsock_destroy(&self->s_agg);
    zsock_destroy(&self->s_replay);
    zhashx_destroy(&self->changed);
    free(self);
    *self_p = NULL;
}

void stream_cell_changed(const uint8_t *key, size_t keylen, const void *state, size_t statelen, void *arg)
{
    stream_t *self = arg;
    if (keylen != CELL_KEY_LEN || statelen != sizeof(cell_t))
        return;
    cell_t *c = zhashx_lookup(self->changed, key);
    if (!c) {
        c = malloc(sizeof *c);
        if (!c)
            return;
        zhashx_insert(self->changed, key, c);
    }
    memcpy(c, state, sizeof *c);
}

void stream_discard(stream_t *self)
{
    zhashx_purge(self->changed);
}

/* Sends [topic][seq][payload] without blocking: PUB drops at HWM. */
static int s_send3(void *sock, const char *topic, uint64_t seq, const uint8_t *payload, size_t len, int flags)
{
    uint8_t s[8];
    be64_put(s, seq);
    if (zmq_send(sock, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT | flags) < 0)
        return -1;
    if (zmq_send(sock, s, 8, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -1;
    return zmq_send(sock, payload, len, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

void stream_publish_event(stream_t *self, uint64_t seq, const char *forbund, const char *kind,
                          const uint8_t *bytes, size_t len)
{
    char topic[64];
    snprintf(topic, sizeof topic, "ev.%s.%s", forbund, kind);
    if (s_send3(self->pub_all, topic, seq, bytes, len, 0) == 0)
        metrics_add(&self->metrics->stream_messages, 1);
}

/* Whether a measure's cells are personal data (organisation reports are
 * not, and are never suppressed). */
static bool s_is_personal(const stream_t *self, const char *measure)
{
    const cat_measure_t *m = catalogue_measure(self->catalogue, measure);
    if (!m || !m->instrument[0])
        return true;
    const cat_instrument_t *in = catalogue_instrument(self->catalogue, m->instrument);
    return !in || in->kind != INSTR_ORGANISATION;
}

/* Encodes a cell as a CellUpdate with disclosure control. */
static uint8_t *s_cell_update(stream_t *self, const cell_key_t *ck, const cell_t *c, uint64_t seq,
                              size_t *len, char *topic, size_t topiclen)
{
    char period[16], slice[32];
    cell_period_format(period, sizeof period, ck->period);
    cell_slice_format(slice, sizeof slice, ck->slice);
    snprintf(topic, topiclen, "agg.%s.%s.%s", ck->measure, ck->forbund, period);
    Finsam__V1__CellUpdate u = FINSAM__V1__CELL_UPDATE__INIT;
    u.measure = (char *) ck->measure;
    u.forbund = (char *) ck->forbund;
    u.period = period;
    u.slice = slice;
    u.seq = seq;
    int k = s_is_personal(self, ck->measure) ? self->config.min_units : 0;
    u.min_units = (uint32_t) k;
    u.suppressed = c->units < k;
    u.has_removed = cell_is_zero(c);
    u.removed = u.has_removed;
    int64_t hist[CELL_HIST];
    if (!u.suppressed && !u.removed) {
        u.has_n = u.has_units = u.has_sum = u.has_sumsq = u.has_hits = u.has_dont_know = 1;
        u.n = c->n;
        u.units = c->units;
        u.sum = c->sum;
        u.sumsq = c->sumsq;
        u.hits = c->hits;
        u.dont_know = c->dont_know;
        memcpy(hist, c->hist, sizeof hist);
        u.n_hist = CELL_HIST;
        u.hist = hist;
    }
    return codec_pack(&u.base, len);
}

void stream_publish_cells(stream_t *self, uint64_t seq)
{
    for (cell_t *c = zhashx_first(self->changed); c; c = zhashx_next(self->changed)) {
        cell_key_t ck;
        if (cell_key_decode(&ck, zhashx_cursor(self->changed), CELL_KEY_LEN))
            continue;
        char topic[96];
        size_t len;
        uint8_t *payload = s_cell_update(self, &ck, c, seq, &len, topic, sizeof topic);
        if (!payload)
            continue;
        if (s_send3(self->pub_all, topic, seq, payload, len, 0) == 0)
            metrics_add(&self->metrics->stream_messages, 1);
        if (s_send3(self->pub_agg, topic, seq, payload, len, 0) == 0)
            metrics_add(&self->metrics->stream_messages, 1);
        free(payload);
    }
    zhashx_purge(self->changed);
}

void *stream_replay_socket(stream_t *self)
{
    return self->replay;
}

void *stream_monitor_socket(stream_t *self, int i)
{
    return i >= 0 && i < 2 ? self->monitor[i] : NULL;
}

void stream_handle_monitor(stream_t *self, int i)
{
    const char *role = i == 0 ? "stream-all" : "stream-agg";
    uint16_t event;
    uint32_t value;
    while (monitor_next(self->monitor[i], &event, &value, NULL, 0)) {
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            self->connected[i]++;
            log_info("stream", "SUBSCRIBER-CONNECTED role=%s subscribers=%lld", role,
                     (long long) self->connected[i]);
        } else if (event != ZMQ_EVENT_DISCONNECTED) {
            self->failed_unpaired[i]++;
        } else if (self->failed_unpaired[i] > 0) {
            self->failed_unpaired[i]--;
        } else if (self->connected[i] > 0) {
            self->connected[i]--;
            log_info("stream", "SUBSCRIBER-DISCONNECTED role=%s subscribers=%lld", role,
                     (long long) self->connected[i]);
        }
    }
    metrics_set(&self->metrics->subscribers, (uint64_t) (self->connected[0] + self->connected[1]));
}

static void s_replay_end(stream_t *self, zmq_msg_t *id, Finsam__V1__ReplayEnd *end)
{
    size_t len;
    uint8_t *payload = codec_pack(&end->base, &len);
    if (!payload)
        return;
    zmq_msg_t copy;
    zmq_msg_init(&copy);
    zmq_msg_copy(&copy, id);
    if (zmq_msg_send(&copy, self->replay, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        zmq_msg_close(&copy);
    else
        s_send3(self->replay, "replay.end", end->next_seq, payload, len, 0);
    free(payload);
}

/* Sends one replay message to the peer `id`; -1 if the peer's queue is
 * full or it is gone (the chunk ends there; the client asks again). */
static int s_replay_send(stream_t *self, zmq_msg_t *id, const char *topic, uint64_t seq, const uint8_t *p,
                         size_t len)
{
    zmq_msg_t copy;
    zmq_msg_init(&copy);
    zmq_msg_copy(&copy, id);
    if (zmq_msg_send(&copy, self->replay, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&copy);
        return -1;
    }
    return s_send3(self->replay, topic, seq, p, len, 0);
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
        const uint8_t *bytes = (const uint8_t *) v.mv_data + 9;
        size_t len = v.mv_size - 9;
        event_msg_t *ev;
        char why[160], topic[64];
        if (v.mv_size < 9 || codec_decode_event(bytes, len, &ev, why, sizeof why))
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

static void s_replay_snapshot(stream_t *self, zmq_msg_t *id, MDB_txn *txn, const ProtobufCBinaryData *after,
                              uint32_t limit, Finsam__V1__ReplayEnd *end, uint8_t *next_key)
{
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, ledger_dbi(self->ledger, LEDGER_DB_CELLS), &cur))
        return;
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
        if (cell_key_decode(&ck, k.mv_data, k.mv_size) || v.mv_size != sizeof(cell_t))
            continue;
        cell_t c;
        memcpy(&c, v.mv_data, sizeof c);
        char topic[96];
        size_t len;
        uint8_t *payload = s_cell_update(self, &ck, &c, end->head_seq, &len, topic, sizeof topic);
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
}

Finsam__V1__ReplayRequest *stream_parse_replay(const uint8_t *data, size_t len, const char *access,
                                               uint32_t *limit, Finsam__V1__ReplayEnd *end)
{
    Finsam__V1__ReplayRequest *r = finsam__v1__replay_request__unpack(NULL, len, data);
    if (!r || (r->kind != FINSAM__V1__REPLAY_REQUEST__KIND__KIND_EVENTS &&
               r->kind != FINSAM__V1__REPLAY_REQUEST__KIND__KIND_SNAPSHOT)) {
        end->has_error = 1;
        end->error = FINSAM__V1__REJECT_CODE__REJECT_MALFORMED;
        end->error_text = "not a ReplayRequest";
    } else if (r->kind == FINSAM__V1__REPLAY_REQUEST__KIND__KIND_EVENTS &&
               (!access || strcmp(access, "all"))) {
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
    const char *access = zmq_msg_gets(&req, "access");
    const char *user = zmq_msg_gets(&req, "User-Id");
    Finsam__V1__ReplayEnd end = FINSAM__V1__REPLAY_END__INIT;
    end.head_seq = ledger_next_seq(self->ledger) - 1;
    uint32_t limit;
    Finsam__V1__ReplayRequest *r =
        stream_parse_replay(zmq_msg_data(&req), zmq_msg_size(&req), access, &limit, &end);
    if (!r) {
        if (end.error == FINSAM__V1__REJECT_CODE__REJECT_UNAUTHORIZED)
            log_warn("stream", "REPLAY-REFUSED key=%.8s reason=aggregates-only", user ? user : "-");
        s_replay_end(self, &id, &end);
        goto out;
    }
    MDB_txn *txn;
    uint8_t next_key[CELL_KEY_LEN];
    metrics_add(&self->metrics->replay_sessions, 1);
    if (store_read(ledger_store(self->ledger), &txn) == 0) {
        if (r->kind == FINSAM__V1__REPLAY_REQUEST__KIND__KIND_EVENTS)
            s_replay_events(self, &id, txn, r->has_from_seq ? r->from_seq : 1, limit, &end);
        else
            s_replay_snapshot(self, &id, txn, r->has_after_key ? &r->after_key : NULL, limit, &end, next_key);
        store_read_end(ledger_store(self->ledger), txn);
    }
    s_replay_end(self, &id, &end);
    atomic_fetch_sub_explicit(&self->metrics->replay_sessions, 1, memory_order_relaxed);
    finsam__v1__replay_request__free_unpacked(r, NULL);
out:
    zmq_msg_close(&id);
    zmq_msg_close(&req);
}
