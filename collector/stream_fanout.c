/* stream_fanout.c: the live stream's sends (see stream.h, stream_impl.h):
 * each stored event, the exact cells each commit changed (access "all"
 * only) and the protected rows each publication changed, to every
 * subscription whose prefixes match. A payload is copied into one
 * zmq_msg_t per fan-out and shared by reference among the peers' queues.
 * A peer at its high-water mark loses the message (counted, it replays); a
 * peer that is gone leaves the table. */
#include "stream_impl.h"

#include "codec.h"

#include <errno.h>
#include <string.h>

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

/* Topics only keys with access "all" may receive: events and exact cells. */
static bool s_exact_topic(const char *topic)
{
    return strncmp(topic, "ev.", 3) == 0 || strncmp(topic, "cell.", 5) == 0;
}

static bool s_matches(const stream_peer_t *p, const char *topic)
{
    for (size_t i = 0; i < p->nprefixes; i++)
        if (strncmp(topic, p->prefixes[i], strlen(p->prefixes[i])) == 0)
            return true;
    return false;
}

/* Sends one message to every peer it is for. */
static void s_fanout(stream_t *self, const char *topic, uint64_t seq, const uint8_t *payload, size_t len)
{
    stream_revalidate(self);
    bool event = s_exact_topic(topic);
    zmq_msg_t body;
    bool ready = false;
    for (size_t i = 0; i < self->npeers;) {
        stream_peer_t *p = self->peers[i];
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
        if (stream_send_to(self->live, p->id, p->idlen, topic, seq, &body) == 0) {
            p->sent++;
            metrics_add(&self->metrics->stream_messages, 1);
            i++;
        } else if (errno == EAGAIN) {
            p->lost++; /* its queue is full: it sees the gap and replays */
            i++;
        } else {
            stream_remove_peer(self, i, "gone");
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

/* Exact: no protection (protected = false), for access "all" only. */
uint8_t *stream_cell_update(const cell_key_t *ck, const cell_t *c, uint64_t seq, size_t *len, char *topic,
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
        uint8_t *payload = stream_cell_update(&ck, c, seq, &len, topic, sizeof topic);
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

fin_err_t stream_publish_publication(stream_t *self, uint64_t seq, char *err, size_t errlen)
{
    /* Nobody to tell: the walk waits for a subscriber (who starts from a
     * snapshot; the feed then sends what changed since its last walk). */
    if (self->npeers == 0)
        return FIN_OK;
    s_feed_ctx_t c = {self, seq};
    feed_set_catalogue(self->feed, registry_live_get(self->registry));
    int rc = feed_update(self->feed, seq, s_feed_send, &c);
    return rc ? fin_fail(err, errlen, fin_from_mdb(rc), "the publication at seq %llu: %s",
                         (unsigned long long) seq, store_strerror(rc))
              : FIN_OK;
}
