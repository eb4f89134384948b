/* monitor.h: libzmq socket monitors, opened and read without blocking —
 * how the collector sees handshakes and disconnects that never reach its
 * own code (a client without CURVE, a subscriber that leaves). Used for the
 * ingest ROUTER (server.c) and the stream ROUTER sockets (stream.c). */
#ifndef FINSAM_MONITOR_H
#define FINSAM_MONITOR_H

#include <stddef.h>
#include <stdint.h>

/* Starts a monitor of `socket` for the ZMQ_EVENT_* bits in `events` and
 * returns the PAIR socket to poll (close it with zmq_close before
 * `socket`), or NULL on failure. `name` makes the inproc endpoint unique. */
void *monitor_open(void *ctx, void *socket, const char *name, int events);

/* Reads one waiting event: 1 with *event, *value and the endpoint
 * (NUL-terminated, truncated to endpoint_len) filled; 0 if none waits. */
int monitor_next(void *monitor, uint16_t *event, uint32_t *value, char *endpoint, size_t endpoint_len);

#endif
