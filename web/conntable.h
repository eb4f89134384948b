/* conntable.h: the HTTP server's table of open connections (internal to
 * web/): how many may be open, from one address and in all, how long one
 * may take to send a request head, and which gives way when the table is
 * full. http.c feeds it microhttpd's connection events; it never calls
 * microhttpd itself.
 *
 * A connection is either waiting (for its first request head, or for the
 * next one after an answer: keep-alive) or busy (its head is complete and
 * its answer is on its way). Only a waiting connection has a deadline and
 * only a waiting one is ever evicted: whoever has sent a request is
 * answered. To close a connection the table shuts its socket down
 * (shutdown(2)); microhttpd then reads the end of the stream, closes the
 * socket and reports it closed (conntable_close).
 *
 * Not thread-safe: every call comes from the HTTP server's one thread. */
#ifndef FINSAM_CONNTABLE_H
#define FINSAM_CONNTABLE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct {
    int max_connections;   /* open at once, all addresses together (>= 1) */
    int max_per_address;   /* open at once from one client address (>= 1) */
    int header_timeout_ms; /* from accept to a complete first request head */
    int idle_timeout_ms;   /* from an answer to the next complete request head */
} conntable_limits_t;

/* What the table did to clients since the last conntable_take_counts. */
typedef struct {
    uint64_t evicted;   /* waiting connections closed to make room */
    uint64_t refused;   /* new connections closed at once: no room, none waiting */
    uint64_t timed_out; /* waiting connections closed at their deadline */
} conntable_counts_t;

typedef struct conntable_t conntable_t;
typedef struct conntable_conn_t conntable_conn_t;

/* A table with these limits (copied); NULL when out of memory. */
conntable_t *conntable_new(const conntable_limits_t *limits);

/* Frees the table and every entry still in it (their sockets are left
 * alone: microhttpd owns them); NULL-safe. */
void conntable_destroy(conntable_t **self_p);

/* A connection accepted at now_ms (a monotonic clock) on socket fd from
 * addr (addrlen bytes). When its address already has max_per_address
 * connections, or the table max_connections, the waiting connection
 * nearest its deadline (of that address, or of all) is shut down to make
 * room; when none is waiting, the new connection is shut down instead.
 * Returns the new connection's entry, owned by the table until
 * conntable_close, or NULL when it was refused (or memory ran out: then
 * it is shut down too). */
conntable_conn_t *conntable_open(conntable_t *self, int fd, const struct sockaddr *addr, socklen_t addrlen,
                                 int64_t now_ms);

/* The connection's request head is complete: it is busy, with no
 * deadline of ours, until conntable_idle. NULL-safe. */
void conntable_busy(conntable_t *self, conntable_conn_t *conn);

/* The connection's answer has been sent at now_ms: it waits for the next
 * request head, for idle_timeout_ms at most. Does nothing to a connection
 * that is not busy, or NULL. */
void conntable_idle(conntable_t *self, conntable_conn_t *conn, int64_t now_ms);

/* microhttpd closed the connection: forgets and frees *conn_p, sets it
 * NULL. NULL-safe. */
void conntable_close(conntable_t *self, conntable_conn_t **conn_p);

/* Shuts down every waiting connection whose deadline is at or before
 * now_ms. Returns the milliseconds until the next deadline, or -1 when no
 * connection is waiting. */
int conntable_sweep(conntable_t *self, int64_t now_ms);

/* Connections in the table that are not being closed. */
size_t conntable_open_count(const conntable_t *self);

/* The counts since the last call, which it resets. */
conntable_counts_t conntable_take_counts(conntable_t *self);

#endif
