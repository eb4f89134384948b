/* server_impl.h: what server.c, server_turn.c and server_loop.c share,
 * private to them (the public interface is server.h). server_t is one
 * object; its code is split by responsibility:
 *   server.c       building it (keys, store, sockets) and tearing it down
 *   server_turn.c  one turn of ingest: receive, prepare, commit, ack
 *   server_loop.c  the reactor: every socket and timer and its handler */
#ifndef FINSAM_SERVER_IMPL_H
#define FINSAM_SERVER_IMPL_H

#include "server.h"

#include "aggregator.h"
#include "allowlist.h"
#include "auth.h"
#include "ingest.h"
#include "registry.h"
#include "throttle.h"

#include <czmq.h>

#define MAX_COMMIT_BYTES (16u << 20)
/* Events per transaction: bounds the batches held for one commit (and,
 * before STORE_WRITEMAP, LMDB's dirty pages in the heap) while keeping
 * fsyncs far below the disk's rate. */
#define MAX_COMMIT_EVENTS 6000
#define HANDLERS_MAX 16
#define PEERS_MAX 256

/* What a socket's, descriptor's or timer's turn means (server_loop.c's
 * s_dispatch). */
typedef enum {
    EV_ZAP,
    EV_MONITOR,
    EV_REPLAY,
    EV_LIVE,
    EV_STREAM_MONITOR,
    EV_AGENTS_CHANGED,
    EV_SUBSCRIBERS_CHANGED,
    EV_SIGHUP,
    EV_STOP_CHECK,
    EV_RESCAN,
    EV_STREAM_TICK,
    EV_PUBLISH,
    EV_STATS,
    EV_TRIM,
    EV_AGGREGATED,
} server_event_t;

/* The argument zloop passes to s_on_ready and s_on_time. */
typedef struct {
    server_t *self;
    server_event_t what;
} server_handler_t;

struct server_t {
    server_config_t config;
    metrics_t metrics;
    zcert_t *cert;
    auth_t *auth;
    zsock_t *router;
    void *monitor; /* PAIR receiving the ROUTER's connections and handshake failures */
    /* The peer address of each accepted ingest connection, by descriptor
     * (slot fd % PEERS_MAX), read when the monitor reports the accept: a
     * handshake failure is reported without one (server_loop.c). */
    struct {
        int fd;
        char address[64]; /* "" when the slot is free */
    } peers[PEERS_MAX];
    uint16_t handshake_failed; /* a failure waiting for its DISCONNECTED (names the fd); 0: none */
    uint32_t handshake_code;
    throttle_t *handshake_log;   /* HANDSHAKE-FAILED: one line a minute in all */
    ingest_stats_t stats_logged; /* as of the last STATS line: the next comes only after a change */
    uint64_t published_waiting;  /* as of the last PUBLISHED line at info level */
    bool published_logged;
    stream_t *stream;
    ledger_t *ledger;
    catalogue_t *catalogue;
    registry_live_t *registry; /* the catalogue as DATA/forbund.json names förbund now (the streams) */
    aggregator_t *aggregator;  /* keeps the cells beside ingest */
    protect_t *protect;
    int publish_interval_s, publish_max_age_s;
    ingest_t *ingest;
    allowlist_t *allowlist, *subscribers;
    ingest_item_t *items;
    zmq_msg_t *ids, *frames;
    zloop_t *loop;
    server_handler_t handlers[HANDLERS_MAX]; /* the args zloop holds (server_reactor_new) */
    size_t nhandlers;
    int sighup_fd;               /* signalfd of SIGHUP (blocked by main.c); -1 without */
    volatile sig_atomic_t *stop; /* server_run's flag */
    int backoff_ms;              /* after a failed commit; 0 when the last one worked */
    bool failed;                 /* a handler could not re-register: the loop ends */
    /* The idle trim (EV_TRIM): the stored count and the cells' position at
     * the last tick, and whether either moved since the last trim. */
    uint64_t trim_stored, trim_cells;
    uint64_t trim_requests, trim_requests_seen; /* stream requests and publications handled */
    bool trim_due;
};

/* One turn (server_turn.c): drains the ingest ROUTER, prepares, commits
 * every prepared batch in one transaction, then acks. FIN_OK, or the
 * commit's failure (nothing acked; the caller backs off). */
fin_err_t server_turn(server_t *self);

/* Builds self->loop: every socket, descriptor and timer with its handler
 * (server_loop.c). 0 or -1. */
int server_reactor_new(server_t *self);

#endif
