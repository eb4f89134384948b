/* auth.h: the collector's ZAP handler (ZeroMQ RFC 27) — who may complete a
 * CURVE handshake on which socket.
 *
 * Without a ZAP handler a CURVE server admits any client that knows its
 * public key, so this handler is bound before any socket binds. Each socket
 * sets a ZAP domain and the handler answers from the allow-list of that
 * domain:
 *   "ingest"  agents: certificates in DATA/agents with `forbund`
 *   "stream"  subscribers: certificates in DATA/subscribers with `access`
 *             ("all" or "aggregates"), on the live and replay sockets
 * The reply's User-Id is the client's Z85 key and its metadata the
 * certificate's `forbund` or `access`. Because a handshake is checked only
 * once, ingest re-checks the key on every batch and the streams on every
 * subscription, replay request and send (allowlist.h, stream.h); what a
 * subscriber may read is decided there, not here.
 * Runs in the collector's main loop: poll auth_socket(), call
 * auth_handle(). */
#ifndef FINSAM_AUTH_H
#define FINSAM_AUTH_H

#include "allowlist.h"

typedef struct auth_t auth_t;

/* Binds inproc://zeromq.zap.01 in the given context. NULL on failure. */
auth_t *auth_new(void *zmq_ctx, allowlist_t *agents, allowlist_t *subscribers);
void auth_destroy(auth_t **self_p);

void *auth_socket(auth_t *self);

/* Answers one waiting ZAP request (non-blocking; 0 if none). */
int auth_handle(auth_t *self);

/* Handshakes refused since start. */
unsigned long auth_refused(const auth_t *self);

/* Refused handshakes are logged (AUTH-REFUSED, with the peer's address and
 * what the allow-lists know of its key) at most once a minute per (domain,
 * address, key), the next line counting the rest (throttle.h). Call this
 * every few seconds: it writes the count of a client that went quiet. */
void auth_tick(auth_t *self);

#endif
