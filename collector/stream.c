/* stream.c: live stream, replay and snapshot (see stream.h).
 *
 * The subscription table is a plain array: it is scanned on every fan-out
 * anyway (each peer has its own prefixes), and looked up by routing id
 * only when a Subscribe arrives (every STREAM_RESUBSCRIBE_MS per peer).
 * A payload is copied into one zmq_msg_t per fan-out and shared by
 * reference among the peers' queues.
 *
 * Replay chunks are read in one short read transaction each and sent with
 * ZMQ_DONTWAIT: a client that does not read loses the rest of its chunk
 * and asks again from the last sequence it saw. So a replay never holds a
 * reader open across client round trips and never blocks the ingest loop
 * for longer than one chunk (at most 1000 messages). */
#include "stream.h"

#include "cell.h"
#include "codec.h"
#include "feed.h"
#include "log.h"
#include "monitor.h"
#include "publish.h"
#include "util.h"

#include <errno.h>
#include <string.h>

#define REPLAY_MAX 1000
#define PEERS_MAX 1000 /* subscriptions at once; more are refused */
#define LIVE_BURST 100 /* Subscribe frames answered per stream_handle_live */
#define LOST_LOG_MS 10000

/* One subscription: a live connection (routing id), the key it
 * authenticated with, and what it asked for. */
typedef struct {
    uint8_t id[256];
    size_t idlen;
    char key[41]; /* Z85 public key (User-Id) */
    bool events;  /* the key's access is "all" */
    char prefixes[STREAM_PREFIXES_MAX][STREAM_PREFIX_LEN_MAX + 1];
    size_t nprefixes; /* at least 1; "" selects every topic the key may read */
    int64_t heard_ms; /* last Subscribe */
    uint64_t sent, lost, lost_logged;
    int64_t lost_log_ms;
} s_peer_t;

struct stream_t {
    stream_config_t config;
    allowlist_t *subscribers;
    ledger_t *ledger;
    const catalogue_t *catalogue;
    metrics_t *metrics;
    zsock_t *s_live, *s_replay;
    void *live, *replay;
    /* Socket monitor of the live socket. A failed handshake is reported
     * first as a failure, then as a disconnect: that disconnect is not a
     * subscriber leaving. */
    void *monitor;
    int64_t connected, failed_unpaired;
    s_peer_t *peers[PEERS_MAX];
    size_t npeers;
    unsigned generation; /* of the allow-list the peers were last checked against */
    int64_t next_tick_ms;
    int64_t refused_log_ms; /* SUBSCRIBE-REFUSED: one line a second at most */
    unsigned refused_unlogged;
    zhashx_t *changed; /* cell key -> cell_t, for the transaction in flight */
    feed_t *feed;      /* the protected publication, for agg.* */
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

static zsock_t *s_socket(stream_t *self, zcert_t *cert)
{
    zsock_t *s = zsock_new(ZMQ_ROUTER);
    if (!s)
        return NULL;
    zcert_apply(cert, s);
    zsock_set_curve_server(s, 1);
    zsock_set_zap_domain(s, "stream");
    zsock_set_linger(s, 0);
    zsock_set_sndhwm(s, self->config.hwm);
    zsock_set_rcvhwm(s, 100);
    zsock_set_maxmsgsize(s, STREAM_REQUEST_MAX);
    zsock_set_handshake_ivl(s, 5000);
    zsock_set_heartbeat_ivl(s, 1000);
    zsock_set_heartbeat_timeout(s, 5000);
    zsock_set_heartbeat_ttl(s, 10000);
    /* EAGAIN at a peer's high-water mark and EHOSTUNREACH for a peer that
     * is gone, instead of silent drops: losses are counted and gone peers
     * leave the table at once. Every send is ZMQ_DONTWAIT, so this never
     * blocks. */
    zsock_set_router_mandatory(s, 1);
    return s;
}

static int s_bind(zsock_t *s, const char *role, const char *endpoint, FILE *ef)
{
    if (zsock_bind(s, "%s", endpoint) < 0) {
        log_error("stream", "BIND-FAILED role=%s endpoint=%s reason=%s", role, endpoint, zmq_strerror(errno));
        return -1;
    }
    char *last = zsock_last_endpoint(s);
    log_info("stream", "LISTENING role=%s endpoint=%s", role, last);
    if (ef)
        fprintf(ef, "%s %s\n", role, last);
    zstr_free(&last);
    return 0;
}

stream_t *stream_new(const stream_config_t *config, zcert_t *cert, allowlist_t *subscribers, ledger_t *ledger,
                     const catalogue_t *catalogue, metrics_t *metrics)
{
    stream_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->config = *config;
    self->subscribers = subscribers;
    self->generation = allowlist_generation(subscribers);
    self->ledger = ledger;
    self->catalogue = catalogue;
    self->metrics = metrics;
    self->changed = zhashx_new();
    self->feed = feed_new(ledger, catalogue, config->protect);
    if (!self->changed || !self->feed)
        goto fail;
    zhashx_set_key_hasher(self->changed, s_cell_hash);
    zhashx_set_key_comparator(self->changed, s_cell_cmp);
    zhashx_set_key_duplicator(self->changed, s_cell_dup);
    zhashx_set_key_destructor(self->changed, s_free);
    zhashx_set_destructor(self->changed, s_free);
    self->s_live = s_socket(self, cert);
    self->s_replay = s_socket(self, cert);
    if (!self->s_live || !self->s_replay)
        goto fail;
    self->live = zsock_resolve(self->s_live);
    self->replay = zsock_resolve(self->s_replay);
    /* Monitor before bind, so that no connection is missed. */
    self->monitor = monitor_open(zsys_init(), self->live, "stream-live",
                                 ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
                                     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    if (!self->monitor)
        goto fail;
    /* The endpoint file keeps its historical names: "stream-all" is the
     * events address of the live socket, "stream-agg" its second one. */
    FILE *ef = config->endpoint_file ? fopen(config->endpoint_file, "w") : NULL;
    int rc = s_bind(self->s_live, "stream-all", config->events_endpoint, ef);
    if (rc == 0 && config->aggregates_endpoint && config->aggregates_endpoint[0] &&
        strcmp(config->aggregates_endpoint, config->events_endpoint) != 0)
        rc = s_bind(self->s_live, "stream-agg", config->aggregates_endpoint, ef);
    if (rc == 0)
        rc = s_bind(self->s_replay, "replay", config->replay_endpoint, ef);
    if (ef)
        fclose(ef);
    if (rc < 0)
        goto fail;
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
    if (self->monitor)
        zmq_close(self->monitor);
    zsock_destroy(&self->s_live);
    zsock_destroy(&self->s_replay);
    for (size_t i = 0; i < self->npeers; i++)
        free(self->peers[i]);
    zhashx_destroy(&self->changed);
    feed_destroy(&self->feed);
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

/* Sends [routing id][topic][be64 seq][body] without blocking; body is
 * shared, not consumed. 0, or -1 with errno EAGAIN (the peer's queue is
 * at its high-water mark: nothing was queued) or EHOSTUNREACH (the peer is
 * gone). Once the routing id frame is accepted the rest cannot fail for
 * lack of room (libzmq checks the mark at a message's first frame). */
/* A protobuf message as a ZeroMQ message body; -1 when out of memory. */
static int s_pack_msg(const ProtobufCMessage *m, zmq_msg_t *body)
{
    size_t len;
    uint8_t *payload = codec_pack(m, &len);
    if (!payload || zmq_msg_init_size(body, len) < 0) {
        free(payload);
        return -1;
    }
    memcpy(zmq_msg_data(body), payload, len);
    free(payload);
    return 0;
}

static int s_send_to(void *sock, const uint8_t *id, size_t idlen, const char *topic, uint64_t seq,
                     zmq_msg_t *body)
{
    if (zmq_send(sock, id, idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -1;
    uint8_t s[8];
    be64_put(s, seq);
    zmq_msg_t copy;
    zmq_msg_init(&copy);
    zmq_msg_copy(&copy, body);
    if (zmq_send(sock, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(sock, s, 8, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 || zmq_msg_send(&copy, sock, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&copy);
        return -1;
    }
    return 0;
}

/* Sends a SubscribeReply under topic ("subscribe.ok" or "subscribe.end")
 * to one connection; a full or gone peer loses it. */
static void s_reply(stream_t *self, const uint8_t *id, size_t idlen, const char *topic,
                    Finsam__V1__SubscribeReply *r)
{
    r->head_seq = ledger_next_seq(self->ledger) - 1;
    r->resubscribe_ms = STREAM_RESUBSCRIBE_MS;
    r->expire_ms = STREAM_EXPIRE_MS;
    zmq_msg_t body;
    if (s_pack_msg(&r->base, &body) < 0)
        return;
    if (s_send_to(self->live, id, idlen, topic, r->head_seq, &body) < 0)
        log_debug("stream", "REPLY-LOST topic=%s reason=%s", topic, zmq_strerror(errno));
    zmq_msg_close(&body);
}

static void s_gauge(stream_t *self)
{
    metrics_set(&self->metrics->subscribers, (uint64_t) self->npeers);
}

/* Removes peer i (the last peer takes its place). */
static void s_remove(stream_t *self, size_t i, const char *reason)
{
    s_peer_t *p = self->peers[i];
    log_level_t level = !strcmp(reason, "revoked") ? LOG_LEVEL_WARN : LOG_LEVEL_INFO;
    LOG_AT(level, "stream", "SUBSCRIBER-REMOVED key=%.8s reason=%s sent=%llu lost=%llu subscribers=%zu",
           p->key, reason, (unsigned long long) p->sent, (unsigned long long) p->lost, self->npeers - 1);
    free(p);
    self->peers[i] = self->peers[--self->npeers];
    self->peers[self->npeers] = NULL;
    s_gauge(self);
}

/* Ends peer i's subscription: one last "subscribe.end" saying why, then
 * nothing more. */
static void s_end(stream_t *self, size_t i, Finsam__V1__RejectCode code, const char *text, const char *reason)
{
    Finsam__V1__SubscribeReply r = FINSAM__V1__SUBSCRIBE_REPLY__INIT;
    r.has_error = 1;
    r.error = code;
    r.error_text = (char *) text;
    s_reply(self, self->peers[i]->id, self->peers[i]->idlen, "subscribe.end", &r);
    s_remove(self, i, reason);
}

/* Whether a prefix can select only event topics ("e", "ev", "ev.NV."). */
static bool s_selects_events(const char *prefix)
{
    size_t n = strlen(prefix);
    return n > 0 &&
           (strncmp(prefix, "ev.", n < 3 ? n : 3) == 0 || strncmp(prefix, "cell.", n < 5 ? n : 5) == 0);
}

/* Topics only keys with access "all" may receive: events and exact cells. */
static bool s_exact_topic(const char *topic)
{
    return strncmp(topic, "ev.", 3) == 0 || strncmp(topic, "cell.", 5) == 0;
}

/* Whether the allow-list, as it is now, still lets peer p keep its
 * subscription; updates what it may read. *why says why not. */
static bool s_peer_allowed(stream_t *self, s_peer_t *p, const char **why)
{
    const char *access = allowlist_lookup(self->subscribers, p->key);
    if (!access) {
        *why = "key removed from the subscriber allow-list";
        return false;
    }
    p->events = !strcmp(access, "all");
    for (size_t i = 0; !p->events && i < p->nprefixes; i++) {
        if (s_selects_events(p->prefixes[i])) {
            *why = "this key may read aggregates only";
            return false;
        }
    }
    return true;
}

/* Checks every peer again if the allow-list was reloaded since the last
 * check: called before every fan-out and every turn of the loop, so a
 * removed key gets nothing after the reload that removed it. */
static void s_revalidate(stream_t *self)
{
    unsigned g = allowlist_generation(self->subscribers);
    if (g == self->generation)
        return;
    self->generation = g;
    for (size_t i = 0; i < self->npeers;) {
        const char *why;
        if (s_peer_allowed(self, self->peers[i], &why))
            i++;
        else
            s_end(self, i, FINSAM__V1__REJECT_CODE__REJECT_UNAUTHORIZED, why, "revoked");
    }
}

static bool s_matches(const s_peer_t *p, const char *topic)
{
    for (size_t i = 0; i < p->nprefixes; i++)
        if (strncmp(topic, p->prefixes[i], strlen(p->prefixes[i])) == 0)
            return true;
    return false;
}

/* Sends one message to every peer it is for. */
static void s_fanout(stream_t *self, const char *topic, uint64_t seq, const uint8_t *payload, size_t len)
{
    s_revalidate(self);
    bool event = s_exact_topic(topic);
    zmq_msg_t body;
    bool ready = false;
    for (size_t i = 0; i < self->npeers;) {
        s_peer_t *p = self->peers[i];
        if ((event && !p->events) || !s_matches(p, topic)) {
            i++;
            continue;
        }
        if (!ready) {
            if (zmq_msg_init_size(&body, len) < 0)
                return;
            memcpy(zmq_msg_data(&body), payload, len);
            ready = true;
        }
        if (s_send_to(self->live, p->id, p->idlen, topic, seq, &body) == 0) {
            p->sent++;
            metrics_add(&self->metrics->stream_messages, 1);
            i++;
        } else if (errno == EAGAIN) {
            p->lost++; /* its queue is full: it sees the gap and replays */
            i++;
        } else {
            s_remove(self, i, "gone");
        }
    }
    if (ready)
        zmq_msg_close(&body);
}

void stream_publish_event(stream_t *self, uint64_t seq, const char *forbund, const char *kind,
                          const uint8_t *bytes, size_t len)
{
    char topic[64];
    snprintf(topic, sizeof topic, "ev.%s.%s", forbund, kind);
    s_fanout(self, topic, seq, bytes, len);
}

/* Encodes an exact cell of a commit as a CellUpdate (for access "all":
 * no protection; protected = false). */
static uint8_t *s_cell_update(const cell_key_t *ck, const cell_t *c, uint64_t seq, size_t *len, char *topic,
                              size_t topiclen)
{
    char period[16], slice[32];
    cell_period_format(period, sizeof period, ck->period);
    cell_slice_format(slice, sizeof slice, ck->slice);
    snprintf(topic, topiclen, "cell.%s.%s.%s", ck->measure, ck->forbund, period);
    Finsam__V1__CellUpdate u = FINSAM__V1__CELL_UPDATE__INIT;
    u.measure = (char *) ck->measure;
    u.forbund = (char *) ck->forbund;
    u.period = period;
    u.slice = slice;
    u.seq = seq;
    u.has_protected_ = 1;
    u.has_removed = cell_is_zero(c);
    u.removed = u.has_removed;
    int64_t hist[CELL_HIST];
    if (!u.removed)
        feed_cell_state(&u, c, hist);
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
        uint8_t *payload = s_cell_update(&ck, c, seq, &len, topic, sizeof topic);
        if (!payload)
            continue;
        s_fanout(self, topic, seq, payload, len);
        free(payload);
    }
    zhashx_purge(self->changed);
}

typedef struct {
    stream_t *self;
    uint64_t seq;
} s_feed_ctx_t;

static int s_feed_send(const char *topic, const uint8_t *payload, size_t len, const char *row_key, void *arg)
{
    (void) row_key;
    s_feed_ctx_t *c = arg;
    s_fanout(c->self, topic, c->seq, payload, len);
    return 0;
}

int stream_publish_publication(stream_t *self, uint64_t seq)
{
    /* Nobody to tell: the walk waits for a subscriber (who starts from a
     * snapshot; the feed then sends what changed since its last walk). */
    if (self->npeers == 0)
        return 0;
    s_feed_ctx_t c = {self, seq};
    return feed_update(self->feed, seq, s_feed_send, &c);
}

/* A prefix a topic can start with: printable ASCII without '"' or '\'. */
static bool s_prefix_valid(const char *p)
{
    size_t n = strlen(p);
    if (n > STREAM_PREFIX_LEN_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x21 || p[i] > 0x7e || p[i] == '"' || p[i] == '\\')
            return false;
    return true;
}

Finsam__V1__Subscribe *stream_parse_subscribe(const uint8_t *data, size_t len, bool events,
                                              Finsam__V1__SubscribeReply *reply)
{
    Finsam__V1__RejectCode code = FINSAM__V1__REJECT_CODE__REJECT_MALFORMED;
    const char *why = NULL;
    Finsam__V1__Subscribe *s =
        len <= STREAM_REQUEST_MAX ? finsam__v1__subscribe__unpack(NULL, len, data) : NULL;
    if (!s) {
        why = "not a Subscribe";
    } else if (s->n_prefixes > STREAM_PREFIXES_MAX) {
        code = FINSAM__V1__REJECT_CODE__REJECT_TOO_LARGE;
        why = "more than 16 prefixes";
    } else {
        for (size_t i = 0; i < s->n_prefixes && !why; i++) {
            if (!s->prefixes[i] || !s_prefix_valid(s->prefixes[i])) {
                code = FINSAM__V1__REJECT_CODE__REJECT_INVALID_FIELD;
                why = "a prefix is longer than 64 characters or has a character no topic has";
            } else if (!events && s_selects_events(s->prefixes[i])) {
                code = FINSAM__V1__REJECT_CODE__REJECT_UNAUTHORIZED;
                why = "this key may read aggregates only";
            }
        }
    }
    if (!why)
        return s;
    reply->has_error = 1;
    reply->error = code;
    reply->error_text = (char *) why;
    if (s)
        finsam__v1__subscribe__free_unpacked(s, NULL);
    return NULL;
}

void *stream_live_socket(stream_t *self)
{
    return self->live;
}

static size_t s_find(stream_t *self, const uint8_t *id, size_t idlen)
{
    for (size_t i = 0; i < self->npeers; i++)
        if (self->peers[i]->idlen == idlen && !memcmp(self->peers[i]->id, id, idlen))
            return i;
    return self->npeers;
}

static void s_log_refused(stream_t *self, const char *key, const char *why)
{
    /* A refused client may retry in a loop: one line a second at most. */
    int64_t now = clock_mono_ms();
    if (now - self->refused_log_ms < 1000) {
        self->refused_unlogged++;
        return;
    }
    log_warn("stream", "SUBSCRIBE-REFUSED key=%.8s reason=\"%s\" also=%u", key ? key : "-", why,
             self->refused_unlogged);
    self->refused_log_ms = now;
    self->refused_unlogged = 0;
}

/* Answers one Subscribe (req NULL: not exactly one frame). */
static void s_subscribe(stream_t *self, zmq_msg_t *id, zmq_msg_t *req)
{
    const uint8_t *rid = zmq_msg_data(id);
    size_t ridlen = zmq_msg_size(id);
    if (ridlen == 0 || ridlen > sizeof self->peers[0]->id)
        return; /* libzmq's ids are 5 bytes; nothing else can answer */
    size_t i = s_find(self, rid, ridlen);
    const char *user = req ? zmq_msg_gets(req, "User-Id") : NULL;
    const char *access = user ? allowlist_lookup(self->subscribers, user) : NULL;
    Finsam__V1__SubscribeReply r = FINSAM__V1__SUBSCRIBE_REPLY__INIT;
    Finsam__V1__Subscribe *sub = NULL;
    if (!req) {
        r.has_error = 1;
        r.error = FINSAM__V1__REJECT_CODE__REJECT_MALFORMED;
        r.error_text = "a Subscribe is exactly one frame";
    } else if (!access || strlen(user) != 40) {
        r.has_error = 1;
        r.error = FINSAM__V1__REJECT_CODE__REJECT_UNAUTHORIZED;
        r.error_text = "key not on the subscriber allow-list";
    } else {
        sub = stream_parse_subscribe(zmq_msg_data(req), zmq_msg_size(req), !strcmp(access, "all"), &r);
    }
    if (sub && i == self->npeers && self->npeers == PEERS_MAX) {
        finsam__v1__subscribe__free_unpacked(sub, NULL);
        sub = NULL;
        r.has_error = 1;
        r.error = FINSAM__V1__REJECT_CODE__REJECT_TOO_LARGE;
        r.error_text = "too many subscriptions";
    }
    if (!sub) {
        s_log_refused(self, user, r.error_text);
        s_reply(self, rid, ridlen, "subscribe.end", &r);
        if (i < self->npeers)
            s_remove(self, i, !access ? "revoked" : "refused");
        return;
    }
    s_peer_t *p = i < self->npeers ? self->peers[i] : calloc(1, sizeof *p);
    if (!p) {
        finsam__v1__subscribe__free_unpacked(sub, NULL);
        return;
    }
    bool changed = i == self->npeers;
    if (changed) {
        memcpy(p->id, rid, ridlen);
        p->idlen = ridlen;
        snprintf(p->key, sizeof p->key, "%s", user);
        self->peers[self->npeers++] = p;
        s_gauge(self);
    }
    p->events = !strcmp(access, "all");
    size_t n = sub->n_prefixes ? sub->n_prefixes : 1;
    for (size_t k = 0; k < n; k++) {
        const char *want = sub->n_prefixes ? sub->prefixes[k] : "";
        changed |= k >= p->nprefixes || strcmp(p->prefixes[k], want) != 0;
        snprintf(p->prefixes[k], sizeof p->prefixes[k], "%s", want);
    }
    changed |= n != p->nprefixes;
    p->nprefixes = n;
    p->heard_ms = clock_mono_ms();
    finsam__v1__subscribe__free_unpacked(sub, NULL);
    char *list[STREAM_PREFIXES_MAX];
    char joined[STREAM_PREFIXES_MAX * (STREAM_PREFIX_LEN_MAX + 1) + 1] = "";
    for (size_t k = 0; k < n; k++) {
        list[k] = p->prefixes[k];
        if (changed)
            snprintf(joined + strlen(joined), sizeof joined - strlen(joined), "%s%s", k ? "," : "",
                     p->prefixes[k]);
    }
    if (changed)
        log_info("stream", "SUBSCRIBED key=%.8s access=%s prefixes=\"%s\" subscribers=%zu", p->key, access,
                 joined, self->npeers);
    r.n_prefixes = n;
    r.prefixes = list;
    s_reply(self, p->id, p->idlen, "subscribe.ok", &r);
}

void stream_handle_live(stream_t *self)
{
    s_revalidate(self);
    for (int n = 0; n < LIVE_BURST; n++) {
        zmq_msg_t id, req;
        zmq_msg_init(&id);
        if (zmq_msg_recv(&id, self->live, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&id);
            return;
        }
        zmq_msg_init(&req);
        bool one = zmq_msg_more(&id) && zmq_msg_recv(&req, self->live, 0) >= 0;
        bool more = one && zmq_msg_more(&req);
        while (more) { /* drain extra frames: the request is malformed */
            zmq_msg_t junk;
            zmq_msg_init(&junk);
            more = zmq_msg_recv(&junk, self->live, 0) >= 0 && zmq_msg_more(&junk);
            zmq_msg_close(&junk);
            one = false;
        }
        s_subscribe(self, &id, one ? &req : NULL);
        zmq_msg_close(&id);
        zmq_msg_close(&req);
    }
}

void stream_tick(stream_t *self)
{
    s_revalidate(self);
    int64_t now = clock_mono_ms();
    if (now < self->next_tick_ms)
        return;
    self->next_tick_ms = now + STREAM_TICK_MS;
    for (size_t i = 0; i < self->npeers;) {
        s_peer_t *p = self->peers[i];
        if (now - p->heard_ms > STREAM_EXPIRE_MS) {
            s_remove(self, i, "expired");
            continue;
        }
        if (p->lost > p->lost_logged && now - p->lost_log_ms >= LOST_LOG_MS) {
            log_warn("stream", "SUBSCRIBER-LOST key=%.8s lost=%llu total=%llu sent=%llu", p->key,
                     (unsigned long long) (p->lost - p->lost_logged), (unsigned long long) p->lost,
                     (unsigned long long) p->sent);
            p->lost_logged = p->lost;
            p->lost_log_ms = now;
        }
        i++;
    }
}

void *stream_replay_socket(stream_t *self)
{
    return self->replay;
}

void *stream_monitor_socket(stream_t *self)
{
    return self->monitor;
}

void stream_handle_monitor(stream_t *self)
{
    uint16_t event;
    uint32_t value;
    while (monitor_next(self->monitor, &event, &value, NULL, 0)) {
        if (event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
            self->connected++;
            log_info("stream", "SUBSCRIBER-CONNECTED role=live connections=%lld",
                     (long long) self->connected);
        } else if (event != ZMQ_EVENT_DISCONNECTED) {
            self->failed_unpaired++;
        } else if (self->failed_unpaired > 0) {
            self->failed_unpaired--;
        } else if (self->connected > 0) {
            self->connected--;
            log_info("stream", "SUBSCRIBER-DISCONNECTED role=live connections=%lld",
                     (long long) self->connected);
        }
    }
}

static void s_replay_end(stream_t *self, zmq_msg_t *id, Finsam__V1__ReplayEnd *end)
{
    zmq_msg_t body;
    if (s_pack_msg(&end->base, &body) < 0)
        return;
    s_send_to(self->replay, zmq_msg_data(id), zmq_msg_size(id), "replay.end", end->next_seq, &body);
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
    int rc = s_send_to(self->replay, zmq_msg_data(id), zmq_msg_size(id), topic, seq, &body);
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

/* The exact snapshot (access "all"): every cell, resuming after a cell key. */
static void s_replay_cells(stream_t *self, zmq_msg_t *id, MDB_txn *txn, const ProtobufCBinaryData *after,
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
        uint8_t *payload = s_cell_update(&ck, &c, end->head_seq, &len, topic, sizeof topic);
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
    } else if (store_read(ledger_store(self->ledger), &txn) == 0) {
        if (r->kind == FINSAM__V1__REPLAY_REQUEST__KIND__KIND_EVENTS)
            s_replay_events(self, &id, txn, r->has_from_seq ? r->from_seq : 1, limit, &end);
        else
            s_replay_cells(self, &id, txn, after, limit, &end, next_key);
        store_read_end(ledger_store(self->ledger), txn);
    }
    s_replay_end(self, &id, &end);
    atomic_fetch_sub_explicit(&self->metrics->replay_sessions, 1, memory_order_relaxed);
    finsam__v1__replay_request__free_unpacked(r, NULL);
out:
    zmq_msg_close(&id);
    zmq_msg_close(&req);
}
