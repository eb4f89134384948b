/* tail.c: `finsamctl tail` (see tail.h).
 *
 * Order of operations matters: the live DEALER subscribes first and waits
 * for the collector's "subscribe.ok" — from then on every matching message
 * is sent to it — and only then does the replay run; live messages that
 * arrive meanwhile wait in the DEALER's queue and are skipped if their
 * sequence was already printed. The subscription is renewed every
 * resubscribe_ms (the collector says how often), also between replay
 * chunks, or the collector would end it. */
#include "tail.h"

#include "codec.h"
#include "keys.h"
#include "log.h"
#include "pbjson.h"
#include "util.h"

#include <czmq.h>
#include <string.h>

typedef struct {
    const tail_config_t *config;
    FILE *out;
    zsock_t *live, *replay;
    uint64_t last_seq; /* last event sequence printed (or skipped by filter) */
    bool started;
    long printed;
    uint64_t gaps, replayed;
    int resubscribe_ms;     /* renewal interval the collector asked for */
    int64_t next_subscribe; /* when to renew */
    fin_err_t ended;        /* why the collector ended the subscription, once it did */
} s_tail_t;

/* Sends (or renews) the subscription. 0, or -1 if it could not be queued. */
static int s_subscribe(s_tail_t *t)
{
    Finsam__V1__Subscribe sub = FINSAM__V1__SUBSCRIBE__INIT;
    char *prefix = (char *) t->config->prefix;
    sub.n_prefixes = 1;
    sub.prefixes = &prefix;
    size_t len;
    uint8_t *bytes = codec_pack(&sub.base, &len);
    /* DONTWAIT: a renewal that finds the queue full is skipped, the next
     * one goes out a little later. */
    int rc = bytes ? zmq_send(zsock_resolve(t->live), bytes, len, ZMQ_DONTWAIT) : -1;
    free(bytes);
    t->next_subscribe = clock_mono_ms() + t->resubscribe_ms;
    return rc < 0 ? -1 : 0;
}

static void s_keepalive(s_tail_t *t)
{
    if (clock_mono_ms() >= t->next_subscribe)
        s_subscribe(t);
}

/* Handles "subscribe.ok" / "subscribe.end". Returns -1 when the collector
 * ended the subscription (t->ended says how to exit), else 0. */
static int s_control(s_tail_t *t, const char *topic, zframe_t *body)
{
    Finsam__V1__SubscribeReply *r =
        body ? finsam__v1__subscribe_reply__unpack(NULL, zframe_size(body), zframe_data(body)) : NULL;
    if (!r) {
        log_warn("tail", "UNDECODABLE topic=%s", topic);
        return 0;
    }
    int rc = 0;
    if (!strcmp(topic, "subscribe.end")) {
        const char *why = r->error_text ? r->error_text : "?";
        fprintf(stderr, "finsamctl: tail: subscription ended: %s\n", why);
        log_error("tail", "SUBSCRIPTION-ENDED reason=\"%s\"", why);
        t->ended =
            r->has_error && r->error == FINSAM__V1__REJECT_CODE__REJECT_UNAUTHORIZED ? FIN_EPERM : FIN_EINPUT;
        rc = -1;
    } else if (r->resubscribe_ms >= 100 && r->resubscribe_ms <= 600000) {
        t->resubscribe_ms = (int) r->resubscribe_ms;
    }
    finsam__v1__subscribe_reply__free_unpacked(r, NULL);
    return rc;
}

static void s_print(s_tail_t *t, const char *topic, uint64_t seq, const uint8_t *p, size_t len)
{
    if (strncmp(topic, t->config->prefix, strlen(t->config->prefix)) != 0)
        return;
    const ProtobufCMessageDescriptor *d = !strncmp(topic, "agg.", 4) || !strncmp(topic, "cell.", 5)
                                              ? &finsam__v1__cell_update__descriptor
                                              : &finsam__v1__event__descriptor;
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, len, p);
    if (!m) {
        log_warn("tail", "UNDECODABLE topic=%s seq=%llu", topic, (unsigned long long) seq);
        return;
    }
    if (t->config->json) {
        json_t *body = pbjson_from_message(m);
        json_t *line = json_pack("{s:s,s:I,s:o}", "topic", topic, "seq", (json_int_t) seq,
                                 d == &finsam__v1__event__descriptor ? "event" : "cell", body);
        char *text = json_dumps(line, JSON_COMPACT);
        fprintf(t->out, "%s\n", text);
        free(text);
        json_decref(line);
    } else {
        json_t *body = pbjson_from_message(m);
        char *text = json_dumps(body, JSON_COMPACT);
        fprintf(t->out, "%llu %s %s\n", (unsigned long long) seq, topic, text);
        free(text);
        json_decref(body);
    }
    protobuf_c_message_free_unpacked(m, NULL);
    t->printed++;
}

/* Replays events [from, until) (until 0 = to the head), or with snapshot
 * set, every cell. Returns 0 or -1. */
static int s_replay(s_tail_t *t, uint64_t from, uint64_t until, bool snapshot)
{
    uint64_t next = from;
    uint8_t after[64];
    size_t afterlen = 0;
    for (;;) {
        Finsam__V1__ReplayRequest r = FINSAM__V1__REPLAY_REQUEST__INIT;
        r.kind = snapshot ? FINSAM__V1__REPLAY_REQUEST__KIND__KIND_SNAPSHOT
                          : FINSAM__V1__REPLAY_REQUEST__KIND__KIND_EVENTS;
        r.has_from_seq = r.has_limit = 1;
        r.from_seq = next;
        r.limit = 1000;
        if (afterlen) {
            r.has_after_key = 1;
            r.after_key = (ProtobufCBinaryData){afterlen, after};
        }
        s_keepalive(t);
        size_t len;
        uint8_t *req = codec_pack(&r.base, &len);
        int rc = req ? zsock_send(t->replay, "b", req, len) : -1;
        free(req);
        if (rc < 0)
            return -1;
        for (;;) {
            zmsg_t *msg = zmsg_recv(t->replay);
            if (!msg) {
                log_error("tail", "REPLAY-TIMEOUT from=%llu", (unsigned long long) next);
                return -1;
            }
            char *topic = zmsg_popstr(msg);
            zframe_t *seqf = zmsg_pop(msg), *body = zmsg_pop(msg);
            bool end = topic && !strcmp(topic, "replay.end");
            if (end && body) {
                Finsam__V1__ReplayEnd *e =
                    finsam__v1__replay_end__unpack(NULL, zframe_size(body), zframe_data(body));
                if (!e || e->has_error) {
                    log_error("tail", "REPLAY-REFUSED reason=\"%s\"",
                              e && e->error_text ? e->error_text : "?");
                    if (e)
                        finsam__v1__replay_end__free_unpacked(e, NULL);
                    zstr_free(&topic);
                    zframe_destroy(&seqf);
                    zframe_destroy(&body);
                    zmsg_destroy(&msg);
                    return -1;
                }
                bool done = e->done || (until && e->next_seq >= until) ||
                            (!snapshot && e->next_seq == next) || (snapshot && !e->has_next_key);
                next = e->next_seq;
                if (e->has_next_key && e->next_key.len <= sizeof after) {
                    memcpy(after, e->next_key.data, e->next_key.len);
                    afterlen = e->next_key.len;
                }
                finsam__v1__replay_end__free_unpacked(e, NULL);
                zstr_free(&topic);
                zframe_destroy(&seqf);
                zframe_destroy(&body);
                zmsg_destroy(&msg);
                if (done)
                    return 0;
                break; /* ask for the next chunk */
            }
            if (topic && seqf && body && zframe_size(seqf) == 8) {
                uint64_t seq = be64_get(zframe_data(seqf));
                if (snapshot) {
                    s_print(t, topic, seq, zframe_data(body), zframe_size(body));
                    t->replayed++;
                } else if (seq > t->last_seq && (!until || seq < until)) {
                    s_print(t, topic, seq, zframe_data(body), zframe_size(body));
                    t->last_seq = seq;
                    t->replayed++;
                }
            }
            zstr_free(&topic);
            zframe_destroy(&seqf);
            zframe_destroy(&body);
            zmsg_destroy(&msg);
        }
    }
}

static zsock_t *s_socket(int type, zcert_t *mine, zcert_t *server, const char *endpoint)
{
    zsock_t *s = zsock_new(type);
    if (!s)
        return NULL;
    zcert_apply(mine, s);
    zsock_set_curve_serverkey(s, zcert_public_txt(server));
    zsock_set_linger(s, 0);
    zsock_set_rcvtimeo(s, 10000);
    zsock_set_rcvhwm(s, 100000);
    if (zsock_connect(s, "%s", endpoint) < 0)
        zsock_destroy(&s);
    return s;
}

/* Starts a monitor of the live socket's refused handshakes; NULL if it
 * cannot (then a refusal looks like no answer, as before). */
static void *s_auth_monitor(s_tail_t *t)
{
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "inproc://finsamctl-tail-%p", (void *) t);
    if (zmq_socket_monitor(zsock_resolve(t->live), endpoint, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) < 0)
        return NULL;
    void *mon = zmq_socket(zsys_init(), ZMQ_PAIR);
    int zero = 0;
    if (!mon || zmq_setsockopt(mon, ZMQ_LINGER, &zero, sizeof zero) < 0 || zmq_connect(mon, endpoint) < 0) {
        if (mon)
            zmq_close(mon);
        zmq_socket_monitor(zsock_resolve(t->live), NULL, 0);
        return NULL;
    }
    return mon;
}

/* Subscribes and waits for the first answer. FIN_OK or why not. A key the
 * collector does not list is refused at the CURVE handshake by its ZAP
 * handler (collector/auth.c) before any Subscribe reaches it: the monitor
 * tells that refusal (FIN_EPERM) from a collector that does not answer. */
static fin_err_t s_start(s_tail_t *t)
{
    if (s_subscribe(t) < 0)
        return FIN_EAGAIN;
    void *mon = s_auth_monitor(t);
    fin_err_t rc = FIN_EAGAIN;
    bool answered = false;
    int64_t deadline = clock_mono_ms() + 10000;
    for (int64_t now; !answered && (now = clock_mono_ms()) < deadline;) {
        zmq_pollitem_t it[2] = {{zsock_resolve(t->live), 0, ZMQ_POLLIN, 0}, {mon, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(it, mon ? 2 : 1, (long) (deadline - now)) < 0)
            break; /* a signal: stop waiting */
        if (mon && (it[1].revents & ZMQ_POLLIN)) {
            zmsg_t *ev = zmsg_recv(mon);
            zframe_t *head = ev ? zmsg_first(ev) : NULL;
            uint16_t event = 0;
            if (head && zframe_size(head) >= 2)
                memcpy(&event, zframe_data(head), 2);
            zmsg_destroy(&ev);
            if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
                fprintf(stderr, "finsamctl: tail: %s refused our key (not on its subscriber allow-list)\n",
                        t->config->stream_endpoint);
                rc = FIN_EPERM;
                answered = true;
            }
        }
        if (!answered && (it[0].revents & ZMQ_POLLIN)) {
            zmsg_t *msg = zmsg_recv(t->live);
            if (!msg)
                break;
            char *topic = zmsg_popstr(msg);
            zframe_t *seqf = zmsg_pop(msg), *body = zmsg_pop(msg);
            if (topic && (!strcmp(topic, "subscribe.ok") || !strcmp(topic, "subscribe.end"))) {
                rc = s_control(t, topic, body) < 0 ? t->ended : FIN_OK;
                answered = true;
            }
            zstr_free(&topic);
            zframe_destroy(&seqf);
            zframe_destroy(&body);
            zmsg_destroy(&msg);
        }
    }
    if (mon) {
        zmq_socket_monitor(zsock_resolve(t->live), NULL, 0);
        zmq_close(mon);
    }
    if (!answered)
        fprintf(stderr, "finsamctl: tail: no answer from %s (collector down?)\n", t->config->stream_endpoint);
    return rc;
}

fin_err_t tail_run(const tail_config_t *config, volatile sig_atomic_t *stop, FILE *out)
{
    char err[512];
    fin_err_t rc = FIN_EAGAIN;
    zcert_t *mine = keys_load_secret(config->key_file, err, sizeof err);
    if (!mine) {
        fprintf(stderr, "finsamctl: tail: %s\n", err);
        return FIN_EPERM;
    }
    zcert_t *server = keys_load_public(config->server_key_file, err, sizeof err);
    if (!server) {
        fprintf(stderr, "finsamctl: tail: %s\n", err);
        zcert_destroy(&mine);
        return FIN_ECONFIG;
    }
    s_tail_t t = {.config = config, .out = out, .resubscribe_ms = 2000};
    t.live = s_socket(ZMQ_DEALER, mine, server, config->stream_endpoint);
    t.replay = s_socket(ZMQ_DEALER, mine, server, config->replay_endpoint);
    if (!t.live || !t.replay)
        goto done;
    /* Events are needed unfiltered for gap detection only when the prefix
     * selects events; an aggregate prefix subscribes to just that. */
    rc = s_start(&t);
    if (rc)
        goto done;
    rc = FIN_EAGAIN;
    if (config->from_set) {
        t.last_seq = config->from_seq ? config->from_seq - 1 : 0;
        t.started = true;
        /* Aggregates have no log to replay: their catch-up is a snapshot
         * of every cell, each tagged with the sequence it is valid at. */
        bool snapshot = !strncmp(config->prefix, "agg", 3);
        if (s_replay(&t, config->from_seq ? config->from_seq : 1, 0, snapshot) < 0)
            goto done;
    }
    zsock_set_rcvtimeo(t.live, 200);
    int64_t last_msg = clock_mono_ms();
    while (!*stop && !(config->count && t.printed >= config->count)) {
        s_keepalive(&t);
        zmsg_t *msg = zmsg_recv(t.live);
        if (!msg) {
            if (zsys_interrupted || *stop)
                break;
            if (config->idle_exit_ms && clock_mono_ms() - last_msg > config->idle_exit_ms)
                break;
            continue;
        }
        char *topic = zmsg_popstr(msg);
        zframe_t *seqf = zmsg_pop(msg), *body = zmsg_pop(msg);
        bool control = topic && !strncmp(topic, "subscribe.", 10);
        if (!control)
            last_msg = clock_mono_ms();
        if (control && s_control(&t, topic, body) < 0) {
            rc = t.ended;
            zstr_free(&topic);
            zframe_destroy(&seqf);
            zframe_destroy(&body);
            zmsg_destroy(&msg);
            goto done;
        }
        if (!control && topic && seqf && body && zframe_size(seqf) == 8) {
            uint64_t seq = be64_get(zframe_data(seqf));
            if (!strncmp(topic, "ev.", 3)) {
                if (!t.started) {
                    t.started = true;
                    t.last_seq = seq - 1;
                }
                if (seq > t.last_seq + 1) {
                    /* Lost live messages (queue full, reconnect): fetch them. */
                    t.gaps++;
                    log_info("tail", "GAP from=%llu to=%llu", (unsigned long long) t.last_seq + 1,
                             (unsigned long long) seq - 1);
                    if (s_replay(&t, t.last_seq + 1, seq, false) < 0) {
                        zstr_free(&topic);
                        zframe_destroy(&seqf);
                        zframe_destroy(&body);
                        zmsg_destroy(&msg);
                        goto done;
                    }
                }
                if (seq > t.last_seq) {
                    s_print(&t, topic, seq, zframe_data(body), zframe_size(body));
                    t.last_seq = seq;
                }
            } else {
                s_print(&t, topic, seq, zframe_data(body), zframe_size(body));
            }
        }
        zstr_free(&topic);
        zframe_destroy(&seqf);
        zframe_destroy(&body);
        zmsg_destroy(&msg);
        fflush(out);
    }
    rc = 0;
    log_info("tail", "TAIL-DONE printed=%ld replayed=%llu gaps=%llu last_seq=%llu", t.printed,
             (unsigned long long) t.replayed, (unsigned long long) t.gaps, (unsigned long long) t.last_seq);
done:
    fflush(out);
    zsock_destroy(&t.live);
    zsock_destroy(&t.replay);
    zcert_destroy(&mine);
    zcert_destroy(&server);
    return rc;
}
