/* auth.c: the ZAP handler (see auth.h). Hand-written rather than CZMQ's
 * zauth because zauth has one certificate directory for every domain, and
 * finsam needs different lists for agents and subscribers — a subscriber
 * key must never be able to publish, nor an agent key read the event
 * stream. */
#include "auth.h"

#include "log.h"
#include "throttle.h"
#include "util.h"

#include <czmq.h>
#include <errno.h>
#include <string.h>

/* Refused handshakes of one (domain, address, key): one line a minute. */
#define REFUSED_LOG_PERIOD_MS 60000
#define REFUSED_LOG_KEYS 4096

struct auth_t {
    void *rep;
    allowlist_t *agents, *subscribers;
    throttle_t *refused_log;
    unsigned long refused;
};

auth_t *auth_new(void *ctx, allowlist_t *agents, allowlist_t *subscribers)
{
    auth_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->agents = agents;
    self->subscribers = subscribers;
    self->refused_log = throttle_new(REFUSED_LOG_PERIOD_MS, REFUSED_LOG_KEYS, LOG_LEVEL_WARN, "auth");
    self->rep = self->refused_log ? zmq_socket(ctx, ZMQ_REP) : NULL;
    int linger = 0;
    if (!self->rep || zmq_setsockopt(self->rep, ZMQ_LINGER, &linger, sizeof linger) < 0 ||
        zmq_bind(self->rep, "inproc://zeromq.zap.01") < 0) {
        log_error("auth", "ZAP-BIND-FAILED reason=%s", zmq_strerror(errno));
        auth_destroy(&self);
        return NULL;
    }
    return self;
}

void auth_destroy(auth_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    if ((*self_p)->rep)
        zmq_close((*self_p)->rep);
    throttle_destroy(&(*self_p)->refused_log);
    free(*self_p);
    *self_p = NULL;
}

void *auth_socket(auth_t *self)
{
    return self->rep;
}

unsigned long auth_refused(const auth_t *self)
{
    return self->refused;
}

void auth_tick(auth_t *self)
{
    throttle_flush(self->refused_log, clock_mono_ms());
}

/* What the allow-lists know of a refused key, as log fields: a key refused
 * on one socket may be listed for another (an agent's key given to a
 * stream client, a subscriber's to an agent), or "" if neither lists it. */
static void s_known(auth_t *self, const char *key, char *out, size_t outlen)
{
    const char *v;
    out[0] = '\0';
    if (!key[0])
        return;
    if ((v = allowlist_lookup(self->agents, key)) != NULL)
        snprintf(out, outlen, " listed=agents forbund=%s certificate=%s fingerprint=%s", v,
                 allowlist_cert(self->agents, key)->file, allowlist_cert(self->agents, key)->fingerprint);
    else if ((v = allowlist_lookup(self->subscribers, key)) != NULL)
        snprintf(out, outlen, " listed=subscribers access=%s certificate=%s fingerprint=%s", v,
                 allowlist_cert(self->subscribers, key)->file,
                 allowlist_cert(self->subscribers, key)->fingerprint);
}

/* ZMTP metadata: [name-len u8][name][value-len be32][value]. */
static size_t s_meta(uint8_t *out, const char *name, const char *value)
{
    size_t n = strlen(name), v = strlen(value);
    out[0] = (uint8_t) n;
    memcpy(out + 1, name, n);
    out[1 + n] = (uint8_t) (v >> 24);
    out[2 + n] = (uint8_t) (v >> 16);
    out[3 + n] = (uint8_t) (v >> 8);
    out[4 + n] = (uint8_t) v;
    memcpy(out + 5 + n, value, v);
    return 5 + n + v;
}

int auth_handle(auth_t *self)
{
    /* Request: version, request id, domain, address, routing id,
     * mechanism, credentials... Read every frame, keep what we need. */
    char frames[7][256];
    size_t sizes[7] = {0};
    int nframes = 0, more = 1;
    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, self->rep, nframes == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(&m);
            return errno == EAGAIN ? 0 : -1;
        }
        if (nframes < 7) {
            size_t len = zmq_msg_size(&m) < 255 ? zmq_msg_size(&m) : 255;
            memcpy(frames[nframes], zmq_msg_data(&m), len);
            frames[nframes][len] = '\0';
            sizes[nframes] = len;
        }
        nframes++;
        more = zmq_msg_more(&m);
        zmq_msg_close(&m);
    }
    const char *status = "400", *text = "not allowed";
    char key[41] = "";
    uint8_t meta[300];
    size_t metalen = 0;
    const char *domain = nframes >= 7 ? frames[2] : "";
    const char *address = nframes >= 7 ? frames[3] : "?";
    if (nframes >= 7 && !strcmp(frames[0], "1.0") && !strcmp(frames[5], "CURVE") && sizes[6] == 32) {
        zmq_z85_encode(key, (const uint8_t *) frames[6], 32);
        if (!strcmp(domain, "ingest")) {
            const char *forbund = allowlist_lookup(self->agents, key);
            if (forbund) {
                status = "200";
                text = "OK";
                metalen = s_meta(meta, "forbund", forbund);
            }
        } else if (!strcmp(domain, "stream")) {
            /* Any listed subscriber may connect; what it may read (events
             * only for access "all") is decided per request and per send
             * by stream_subscription.c and stream_replay.c, against the allow-list as it is then. */
            const char *access = allowlist_lookup(self->subscribers, key);
            if (access) {
                status = "200";
                text = "OK";
                metalen = s_meta(meta, "access", access);
            }
        }
    } else {
        text = "CURVE required";
    }
    if (strcmp(status, "200")) {
        /* A misconfigured client retries several times a second: one line
         * a minute per (domain, address, key), with the count of the rest. */
        self->refused++;
        char known[200], line[1024], id[600];
        s_known(self, key, known, sizeof known);
        snprintf(line, sizeof line, "AUTH-REFUSED domain=%s address=%s key=%.8s reason=\"%s\"%s", domain,
                 address, key[0] ? key : "-", text, known);
        snprintf(id, sizeof id, "%s %s %s", domain, address, key);
        throttle_event(self->refused_log, id, line, clock_mono_ms());
    } else {
        log_info("auth", "AUTH-OK domain=%s address=%s key=%.8s", domain, address, key);
    }
    /* Reply: version, request id, status code, status text, user id, metadata. */
    zmq_send(self->rep, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(self->rep, frames[1], sizes[1], ZMQ_SNDMORE);
    zmq_send(self->rep, status, 3, ZMQ_SNDMORE);
    zmq_send(self->rep, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(self->rep, key, strcmp(status, "200") ? 0 : strlen(key), ZMQ_SNDMORE);
    zmq_send(self->rep, meta, metalen, 0);
    return 1;
}
