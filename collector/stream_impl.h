/* stream_impl.h: what the stream_*.c files share, private to them (the
 * public interface is stream.h). stream_t is one object; its code is split
 * by responsibility:
 *   stream.c               sockets, bind, the live socket's monitor, sending
 *   stream_subscription.c  the subscription table: Subscribe, renewal,
 *                          expiry and revocation
 *   stream_fanout.c        live fan-out of events, exact cells and the
 *                          protected publication
 *   stream_replay.c        replay of the event log and snapshots */
#ifndef FINSAM_STREAM_IMPL_H
#define FINSAM_STREAM_IMPL_H

#include "stream.h"

#include "cell.h"
#include "feed.h"

#define PEERS_MAX 1000 /* subscriptions at once; more are refused */

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
} stream_peer_t;

struct stream_t {
    stream_config_t config;
    allowlist_t *subscribers;
    ledger_t *ledger;
    registry_live_t *registry; /* the catalogue with the förbund registry as it is now */
    metrics_t *metrics;
    zsock_t *s_live, *s_replay;
    void *live, *replay;
    /* Socket monitor of the live socket. A failed handshake is reported
     * first as a failure, then as a disconnect: that disconnect is not a
     * subscriber leaving. */
    void *monitor;
    int64_t connected, failed_unpaired;
    stream_peer_t *peers[PEERS_MAX];
    size_t npeers;
    unsigned generation; /* of the allow-list the peers were last checked against */
    int64_t next_tick_ms;
    int64_t refused_log_ms; /* SUBSCRIBE-REFUSED: one line a second at most */
    unsigned refused_unlogged;
    zhashx_t *changed; /* cell key -> cell_t, for the transaction in flight */
    feed_t *feed;      /* the protected publication, for agg.* */
};

/* A protobuf message as a ZeroMQ message body; -1 when out of memory. */
int stream_pack_msg(const ProtobufCMessage *m, zmq_msg_t *body);

/* Sends [routing id][topic][be64 seq][body] without blocking; body is
 * shared, not consumed. 0, or -1 with errno EAGAIN (the peer's queue is
 * at its high-water mark: nothing was queued) or EHOSTUNREACH (the peer is
 * gone). Once the routing id frame is accepted the rest cannot fail for
 * lack of room (libzmq checks the mark at a message's first frame). */
int stream_send_to(void *sock, const uint8_t *id, size_t idlen, const char *topic, uint64_t seq,
                   zmq_msg_t *body);

/* Checks every peer again if the allow-list was reloaded since the last
 * check (stream_subscription.c): a removed key gets nothing after the
 * reload that removed it. */
void stream_revalidate(stream_t *self);

/* Removes peer i (the last peer takes its place), logged with reason. */
void stream_remove_peer(stream_t *self, size_t i, const char *reason);

/* Encodes an exact cell as a CellUpdate as of seq, its topic into topic
 * (stream_fanout.c; replay's exact snapshot sends the same). Malloc'd, or
 * NULL when out of memory. */
uint8_t *stream_cell_update(const cell_key_t *ck, const cell_t *c, uint64_t seq, size_t *len, char *topic,
                            size_t topiclen);

#endif
