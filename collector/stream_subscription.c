/* stream_subscription.c: the subscription table (see stream.h,
 * stream_impl.h) — who receives the live stream, and for how long.
 *
 * The table is a plain array: it is scanned on every fan-out anyway (each
 * peer has its own prefixes), and looked up by routing id only when a
 * Subscribe arrives (every STREAM_RESUBSCRIBE_MS per peer).
 *
 * Revocation: CURVE checks a key only at the handshake, so the key of
 * every subscription is checked again against the allow-list whenever it
 * was reloaded (stream_revalidate, called before every fan-out, on every
 * Subscribe and by stream_tick); a removed key gets one last
 * "subscribe.end" and nothing more. */
#include "stream_impl.h"

#include "log.h"
#include "util.h"

#include <errno.h>
#include <string.h>

#define LIVE_BURST 100 /* Subscribe frames answered per stream_handle_live */
#define LOST_LOG_MS 10000

/* Sends a SubscribeReply under topic ("subscribe.ok" or "subscribe.end")
 * to one connection; a full or gone peer loses it. */
static void s_reply(stream_t *self, const uint8_t *id, size_t idlen, const char *topic,
                    Finsam__V1__SubscribeReply *r)
{
    r->head_seq = ledger_next_seq(self->ledger) - 1;
    r->resubscribe_ms = STREAM_RESUBSCRIBE_MS;
    r->expire_ms = STREAM_EXPIRE_MS;
    zmq_msg_t body;
    if (stream_pack_msg(&r->base, &body) < 0)
        return;
    if (stream_send_to(self->live, id, idlen, topic, r->head_seq, &body) < 0)
        log_debug("stream", "REPLY-LOST topic=%s reason=%s", topic, zmq_strerror(errno));
    zmq_msg_close(&body);
}

static void s_gauge(stream_t *self)
{
    metrics_set(&self->metrics->subscribers, (uint64_t) self->npeers);
}

void stream_remove_peer(stream_t *self, size_t i, const char *reason)
{
    stream_peer_t *p = self->peers[i];
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
    stream_remove_peer(self, i, reason);
}

/* Whether a prefix can select only event topics ("e", "ev", "ev.NV."). */
static bool s_selects_events(const char *prefix)
{
    size_t n = strlen(prefix);
    return n > 0 &&
           (strncmp(prefix, "ev.", n < 3 ? n : 3) == 0 || strncmp(prefix, "cell.", n < 5 ? n : 5) == 0);
}

/* Whether the allow-list, as it is now, still lets peer p keep its
 * subscription; updates what it may read. *why says why not. */
static bool s_peer_allowed(stream_t *self, stream_peer_t *p, const char **why)
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

void stream_revalidate(stream_t *self)
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
            stream_remove_peer(self, i, !access ? "revoked" : "refused");
        return;
    }
    stream_peer_t *p = i < self->npeers ? self->peers[i] : calloc(1, sizeof *p);
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
    stream_revalidate(self);
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
    stream_revalidate(self);
    int64_t now = clock_mono_ms();
    if (now < self->next_tick_ms)
        return;
    self->next_tick_ms = now + STREAM_TICK_MS;
    for (size_t i = 0; i < self->npeers;) {
        stream_peer_t *p = self->peers[i];
        if (now - p->heard_ms > STREAM_EXPIRE_MS) {
            stream_remove_peer(self, i, "expired");
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
