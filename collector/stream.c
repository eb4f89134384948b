/* stream.c: the streams' sockets (see stream.h; stream_impl.h lists the
 * other stream_*.c files). Both sockets are CURVE ROUTERs with
 * ZMQ_ROUTER_MANDATORY and every send is ZMQ_DONTWAIT, so a full or gone
 * peer is an error code here, never a blocked loop. */
#include "stream_impl.h"

#include "log.h"
#include "monitor.h"
#include "util.h"

#include <errno.h>
#include <string.h>

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

static fin_err_t s_bind(zsock_t *s, const char *role, const char *endpoint, FILE *ef, char *err,
                        size_t errlen)
{
    if (zsock_bind(s, "%s", endpoint) < 0) {
        log_error("stream", "BIND-FAILED role=%s endpoint=%s reason=%s", role, endpoint, zmq_strerror(errno));
        return fin_fail(err, errlen, FIN_EAGAIN, "%s %s: %s", role, endpoint, zmq_strerror(errno));
    }
    char *last = zsock_last_endpoint(s);
    log_info("stream", "LISTENING role=%s endpoint=%s", role, last);
    if (ef)
        fprintf(ef, "%s %s\n", role, last);
    zstr_free(&last);
    return FIN_OK;
}

fin_err_t stream_open(stream_t **out, const stream_config_t *config, zcert_t *cert, allowlist_t *subscribers,
                      ledger_t *ledger, registry_live_t *registry, metrics_t *metrics, char *err,
                      size_t errlen)
{
    stream_t *self = calloc(1, sizeof *self);
    if (!self)
        return fin_fail(err, errlen, FIN_ENOMEM, "streams: out of memory");
    fin_err_t rc = FIN_ENOMEM;
    self->config = *config;
    self->subscribers = subscribers;
    self->generation = allowlist_generation(subscribers);
    self->ledger = ledger;
    self->registry = registry;
    self->metrics = metrics;
    self->changed = zhashx_new();
    self->feed = feed_new(ledger, registry_live_get(registry), config->protect);
    if (!self->changed || !self->feed) {
        fin_fail(err, errlen, rc, "streams: out of memory");
        goto fail;
    }
    zhashx_set_key_hasher(self->changed, s_cell_hash);
    zhashx_set_key_comparator(self->changed, s_cell_cmp);
    zhashx_set_key_duplicator(self->changed, s_cell_dup);
    zhashx_set_key_destructor(self->changed, s_free);
    zhashx_set_destructor(self->changed, s_free);
    self->s_live = s_socket(self, cert);
    self->s_replay = s_socket(self, cert);
    if (!self->s_live || !self->s_replay) {
        rc = fin_fail(err, errlen, FIN_EINTERNAL, "streams: cannot create the sockets");
        goto fail;
    }
    self->live = zsock_resolve(self->s_live);
    self->replay = zsock_resolve(self->s_replay);
    /* Monitor before bind, so that no connection is missed. */
    self->monitor = monitor_open(zsys_init(), self->live, "stream-live",
                                 ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
                                     ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    if (!self->monitor) {
        rc = fin_fail(err, errlen, FIN_EINTERNAL, "streams: cannot monitor the live socket");
        goto fail;
    }
    /* The endpoint file keeps its historical names: "stream-all" is the
     * events address of the live socket, "stream-agg" its second one. */
    FILE *ef = config->endpoint_file ? fopen(config->endpoint_file, "w") : NULL;
    rc = s_bind(self->s_live, "stream-all", config->events_endpoint, ef, err, errlen);
    if (rc == FIN_OK && config->aggregates_endpoint && config->aggregates_endpoint[0] &&
        strcmp(config->aggregates_endpoint, config->events_endpoint) != 0)
        rc = s_bind(self->s_live, "stream-agg", config->aggregates_endpoint, ef, err, errlen);
    if (rc == FIN_OK)
        rc = s_bind(self->s_replay, "replay", config->replay_endpoint, ef, err, errlen);
    if (ef)
        fclose(ef);
    if (rc != FIN_OK)
        goto fail;
    *out = self;
    return FIN_OK;
fail:
    stream_destroy(&self);
    return rc;
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

/* A protobuf message as a ZeroMQ message body; -1 when out of memory. */
int stream_pack_msg(const ProtobufCMessage *m, zmq_msg_t *body)
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

int stream_send_to(void *sock, const uint8_t *id, size_t idlen, const char *topic, uint64_t seq,
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

void *stream_live_socket(stream_t *self)
{
    return self->live;
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
