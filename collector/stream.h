/* stream.h: the collector's outputs for downstream tools (the ZeroMQ
 * Guide's Clone pattern), delivered per subscriber so that revoking a key
 * takes effect on connections that are already open.
 *
 *   live ROUTER     subscribers (DEALER) send a Subscribe (topic prefixes)
 *                   and renew it every few seconds; the collector keeps a
 *                   table of subscriptions (routing id -> key, access,
 *                   prefixes) and sends each message to the peers whose
 *                   prefixes match: ev.<förbund>.<kind> and the exact cells
 *                   cell.<measure>.<förbund>.<period> of each commit only to
 *                   keys with access "all"; agg.<measure>.<name>.<period>,
 *                   the protected publication (feed.h), to both. Bound to the events
 *                   endpoint and, as a second address, the aggregates one.
 *   replay ROUTER   the event log from any sequence (access "all") and a
 *                   snapshot: the exact cells for access "all", the
 *                   protected publication for "aggregates", in chunks the client asks
 *                   for one at a time (credit-based flow control)
 *
 * Why a ROUTER and not PUB: libzmq has no call to drop one PUB subscriber,
 * and CURVE checks a key only at the handshake. Here every Subscribe,
 * every replay request and every fan-out checks the key against the
 * subscriber allow-list as it is now (allowlist.c reloads the directory
 * as soon as it changes): a removed key is sent one last "subscribe.end"
 * and nothing more, and its replay requests are refused.
 *
 * Every data message is [topic][be64 sequence][payload]; the event sequence
 * is the log position, so a subscriber sees gaps and fills them by replay.
 * A peer's queue is bounded by the high-water mark: at it, messages for
 * that peer are dropped (ZMQ_ROUTER_MANDATORY + ZMQ_DONTWAIT gives EAGAIN,
 * counted and logged as SUBSCRIBER-LOST), so a stuck subscriber costs
 * bounded memory and never slows ingest; it recovers through replay.
 * Aggregates-only keys see exactly what the HTTP API shows: the last
 * publication, protected (feed.h, docs/security.md), refreshed at each
 * publication, never the cells of a commit.
 * Everything runs on the collector's main thread; no call blocks. */
#ifndef FINSAM_STREAM_H
#define FINSAM_STREAM_H

#include "allowlist.h"
#include "catalogue.h"
#include "registry.h"
#include "codec.h"
#include "err.h"
#include "ledger.h"
#include "metrics.h"
#include "protect.h"

#include <czmq.h>

/* A subscription not renewed for STREAM_EXPIRE_MS ends; subscribers are
 * told to renew every STREAM_RESUBSCRIBE_MS (in every SubscribeReply). */
#define STREAM_RESUBSCRIBE_MS 2000
#define STREAM_EXPIRE_MS (3 * STREAM_RESUBSCRIBE_MS)
#define STREAM_PREFIXES_MAX 16
#define STREAM_PREFIX_LEN_MAX 64
/* Largest frame accepted on the live and replay sockets (ZMQ_MAXMSGSIZE:
 * a larger one closes that connection). */
#define STREAM_REQUEST_MAX 4096
/* Period of stream_tick's expiry and loss-log checks. */
#define STREAM_TICK_MS 250

typedef struct {
    const char *events_endpoint;     /* live ROUTER; NULL or "" disables the streams */
    const char *aggregates_endpoint; /* a second address of the live ROUTER; NULL or "" for none */
    const char *replay_endpoint;
    const char *endpoint_file; /* bound endpoints written here, one per line */
    const protect_t *protect;  /* the publication's protection (borrowed) */
    int hwm;                   /* per-subscriber message limit */
} stream_config_t;

typedef struct stream_t stream_t;

/* Binds the live and replay sockets as CURVE servers with cert (ZAP domain
 * "stream": any key listed in `subscribers`, see auth.h) into *out.
 * `subscribers` is borrowed and must outlive the stream; the caller
 * reloads it. `registry` (borrowed) is the catalogue as the förbund
 * registry says now; asked before each walk of the publication. Returns FIN_OK, or FIN_EAGAIN (an endpoint
 * cannot be bound), FIN_ENOMEM or FIN_EINTERNAL with the reason in err. */
fin_err_t stream_open(stream_t **out, const stream_config_t *config, zcert_t *cert, allowlist_t *subscribers,
                      ledger_t *ledger, registry_live_t *registry, metrics_t *metrics, char *err,
                      size_t errlen);
void stream_destroy(stream_t **self_p);

/* Collects a changed cell of a chunk the aggregator committed (the cell
 * callback of aggregator_recv); arg is the stream. A cell reported twice
 * keeps its last state. */
void stream_cell_changed(const uint8_t *key, size_t keylen, const void *state, size_t statelen, void *arg);

/* After a commit: sends one stored event to the subscribers it matches. */
void stream_publish_event(stream_t *self, uint64_t seq, const char *forbund, const char *kind,
                          const uint8_t *bytes, size_t len);
/* After the aggregator's commit: sends the collected cells, exact, as of
 * seq (the last log position they reflect), to keys with access "all"
 * (topics cell.*). */
void stream_publish_cells(stream_t *self, uint64_t seq);

/* After a publication (publish.h) at seq: sends the protected rows that
 * changed (topics agg.*). Returns FIN_OK, or the kind of failure of the
 * store read with its reason in err. */
fin_err_t stream_publish_publication(stream_t *self, uint64_t seq, char *err, size_t errlen);

/* Decodes and checks one replay request frame from a client whose key the
 * allow-list now lists with `access` ("all", "aggregates", or NULL if the
 * key is not listed): a ReplayRequest of kind events or snapshot, events
 * only for access "all", nothing for an unlisted key. Returns the request
 * (free it with finsam__v1__replay_request__free_unpacked) and sets *limit
 * to the chunk size (1..1000); or NULL with end->has_error, error,
 * error_text (a static string) and done set, as the ReplayEnd the client
 * gets. Pure: no socket, no store (stream_handle_replay uses it;
 * tests/fuzz/fuzz_replay.c fuzzes it). */
Finsam__V1__ReplayRequest *stream_parse_replay(const uint8_t *data, size_t len, const char *access,
                                               uint32_t *limit, Finsam__V1__ReplayEnd *end);

/* Decodes and checks one Subscribe frame from a client whose key may read
 * events (`events`: access "all") or aggregates only: at most
 * STREAM_PREFIXES_MAX prefixes of at most STREAM_PREFIX_LEN_MAX printable
 * ASCII characters other than '"' and '\', and none that can only select
 * event topics ("e", "ev", "ev.", "ev.NV.", ...) unless `events`. Returns
 * the request (free it with finsam__v1__subscribe__free_unpacked); or NULL
 * with reply->has_error, error and error_text (a static string) set. Pure
 * (stream_handle_live uses it; tests/fuzz/fuzz_subscribe.c fuzzes it). */
Finsam__V1__Subscribe *stream_parse_subscribe(const uint8_t *data, size_t len, bool events,
                                              Finsam__V1__SubscribeReply *reply);

/* The replay socket, to poll; and its handler (serves one request). */
void *stream_replay_socket(stream_t *self);
void stream_handle_replay(stream_t *self);

/* The live socket, to poll; and its handler: answers the Subscribe frames
 * waiting (at most 100 per call), adding, renewing or refusing
 * subscriptions. Logs SUBSCRIBED and SUBSCRIBE-REFUSED. */
void *stream_live_socket(stream_t *self);
void stream_handle_live(stream_t *self);

/* Housekeeping, to call every STREAM_TICK_MS and whenever the subscriber
 * allow-list may have been reloaded (cheap): when it was, ends the
 * subscriptions of keys it no longer lists (or whose access no longer
 * covers their prefixes); every STREAM_TICK_MS, removes subscriptions not
 * renewed within STREAM_EXPIRE_MS and logs messages lost at a peer's
 * high-water mark (SUBSCRIBER-LOST). Each removal is logged as
 * SUBSCRIBER-REMOVED with its reason; the metric `subscribers` is the
 * number of subscriptions. */
void stream_tick(stream_t *self);

/* The socket monitor of the live socket, to poll; the handler logs
 * connections (SUBSCRIBER-CONNECTED / SUBSCRIBER-DISCONNECTED role=live
 * connections=N). A subscription outlives its connection at most until it
 * expires or the next send finds the peer gone: the monitor's events name
 * a file descriptor, not a routing id. */
void *stream_monitor_socket(stream_t *self);
void stream_handle_monitor(stream_t *self);

#endif
