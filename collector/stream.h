/* stream.h: the collector's outputs for downstream tools (the ZeroMQ
 * Guide's Clone pattern).
 *
 *   events PUB   ev.<förbund>.<kind> and agg.* — subscribers with access "all"
 *   aggregates PUB  agg.* only — subscribers with access "all" or "aggregates"
 *   replay ROUTER   the event log from any sequence (access "all") and a
 *                   snapshot of all cells (both), in chunks the client asks
 *                   for one at a time (credit-based flow control)
 *
 * Every message is [topic][be64 sequence][payload]; the event sequence is
 * the log position, so a subscriber sees gaps and fills them by replay.
 * PUB drops messages for a subscriber at its high-water mark instead of
 * queueing without bound, so a stuck subscriber costs bounded memory and
 * never slows ingest; it recovers through replay. Aggregate payloads apply
 * disclosure control: a cell resting on fewer than min_units participants
 * carries `suppressed` and no values. Everything runs on the collector's
 * main thread; no call blocks. */
#ifndef FINSAM_STREAM_H
#define FINSAM_STREAM_H

#include "catalogue.h"
#include "codec.h"
#include "ledger.h"
#include "metrics.h"

#include <czmq.h>

typedef struct {
    const char *events_endpoint; /* NULL or "" disables the stream */
    const char *aggregates_endpoint;
    const char *replay_endpoint;
    const char *endpoint_file; /* bound endpoints written here, one per line */
    int min_units;
    int hwm; /* per-subscriber message limit */
} stream_config_t;

typedef struct stream_t stream_t;

/* Binds the three sockets as CURVE servers with cert; NULL on failure. */
stream_t *stream_new(const stream_config_t *config, zcert_t *cert, ledger_t *ledger,
                     const catalogue_t *catalogue, metrics_t *metrics);
void stream_destroy(stream_t **self_p);

/* Collects a changed cell during a transaction (aggregate_changed_fn);
 * arg is the stream. A retried transaction overwrites the same keys. */
void stream_cell_changed(const uint8_t *key, size_t keylen, const void *state, size_t statelen, void *arg);
/* Forgets collected cells (the transaction failed). */
void stream_discard(stream_t *self);

/* After a commit: publishes one stored event. */
void stream_publish_event(stream_t *self, uint64_t seq, const char *forbund, const char *kind,
                          const uint8_t *bytes, size_t len);
/* After a commit: publishes the collected cells as of seq. */
void stream_publish_cells(stream_t *self, uint64_t seq);

/* Decodes and checks one replay request frame from a client whose ZAP
 * metadata says `access` ("all", "aggregates", or NULL if none): a
 * ReplayRequest of kind events or snapshot, events only for access "all".
 * Returns the request (free it with finsam__v1__replay_request__free_unpacked)
 * and sets *limit to the chunk size (1..1000); or NULL with end->has_error,
 * error, error_text (a static string) and done set, as the ReplayEnd the
 * client gets. Pure: no socket, no store (stream_handle_replay uses it;
 * tests/fuzz/fuzz_replay.c fuzzes it). */
Finsam__V1__ReplayRequest *stream_parse_replay(const uint8_t *data, size_t len, const char *access,
                                               uint32_t *limit, Finsam__V1__ReplayEnd *end);

/* The replay socket, to poll; and its handler (serves one request). */
void *stream_replay_socket(stream_t *self);
void stream_handle_replay(stream_t *self);

/* The socket monitors of the events (i = 0) and aggregates (i = 1) PUB
 * sockets, to poll; the handler counts subscribers connected (metrics
 * `subscribers`) and logs SUBSCRIBER-CONNECTED / SUBSCRIBER-DISCONNECTED. */
void *stream_monitor_socket(stream_t *self, int i);
void stream_handle_monitor(stream_t *self, int i);

#endif
