/* cluster.h: a collector and its agents as real processes in a temporary
 * directory, for end-to-end tests. Every helper synchronizes on something
 * observable (a file written after bind, a process exit, a count in
 * `finsamctl status`), never on a fixed sleep. */
#ifndef FINSAM_TEST_CLUSTER_H
#define FINSAM_TEST_CLUSTER_H

#include <czmq.h>
#include <jansson.h>
#include <stdbool.h>
#include <sys/types.h>

typedef struct {
    char dir[256];     /* temp root */
    char cdir[300];    /* collector data dir */
    char endpoint[64]; /* tcp://127.0.0.1:PORT, fixed for restarts */
    char stream_events[64], stream_aggregates[64], stream_replay[64];
    char log[320];
    pid_t collector;
    int http_port;         /* set by cluster_start_collector_http */
    const char *catalogue; /* the collector's --catalogue FILE; NULL: the embedded one */
    /* cluster_agent returns when the agent exits, without waiting for the
     * cells to count what it delivered (tests that hold the aggregator). */
    bool cells_may_lag;
} cluster_t;

/* Makes the directories, the collector's keys; picks a port. */
void cluster_init(cluster_t *c);
/* The collector's command line for this cluster (ephemeral ports chosen
 * once, streams on, HTTP off); static storage, valid until the next call. */
char **cluster_collector_argv(cluster_t *c, const char *log_level);
/* Starts the collector and waits until it has bound. */
void cluster_start_collector(cluster_t *c);
/* The same with the HTTP API on 127.0.0.1 at an ephemeral port: waits
 * until it has bound both, and sets c->http_port. */
void cluster_start_collector_http(cluster_t *c);
/* GET path from the collector's HTTP API (HTTP/1.0, read until it closes):
 * the whole answer, status line and headers included, malloc'd and
 * NUL-terminated (*len without the NUL). *status is the answer's status
 * code, 0 if none came. */
char *cluster_http_get(const cluster_t *c, const char *path, int *status, size_t *len);
/* Stops it with sig (SIGTERM: clean, SIGKILL: crash) and reaps it. */
void cluster_stop_collector(cluster_t *c, int sig);

/* Creates an agent data dir `name` for förbund (keys; its collector.key),
 * listed on the allow-list if `allow`. Writes the agent dir path to out. */
void cluster_add_agent(cluster_t *c, const char *name, const char *forbund, bool allow, char *out,
                       size_t outlen);

/* Makes a stream subscriber certificate DIR/sub-NAME.key (+ _secret) with
 * access "all" or "aggregates" and lists it as DATA/subscribers/NAME.key.
 * Writes the certificate's path (without _secret) to out. */
void cluster_add_subscriber(cluster_t *c, const char *name, const char *access, char *out, size_t outlen);

/* Runs `finsam-agent -d DIR ARGS...` to completion; returns its exit code. */
int cluster_agent(const cluster_t *c, const char *agent_dir, int timeout_ms, const char *const *args);
/* Waits until the collector's cells reflect its whole log (the aggregator
 * counts delivered events beside ingest, collector/aggregator.h): an ack
 * says an event is stored, not yet counted. cluster_agent calls it after
 * an agent that delivered (`run`, or `demo` without --no-send) exited 0
 * while the collector runs. False on timeout. */
bool cluster_wait_cells(const cluster_t *c, int timeout_ms);
/* Starts it in the background; returns the pid. */
pid_t cluster_agent_spawn(const cluster_t *c, const char *agent_dir, const char *const *args);
/* Starts `finsamctl tail --format json` with the subscriber key `key`
 * (its secret file is key + "_secret") on stream `endpoint`, extra
 * arguments appended (NULL-terminated, at most 16), output to out_path. */
pid_t cluster_tail_spawn(const cluster_t *c, const char *key, const char *endpoint, const char *out_path,
                         const char *const *extra);

/* `finsamctl status --format json`, parsed (caller decrefs). */
json_t *cluster_status(const cluster_t *c);
/* Events stored for a förbund according to status (0 if none). */
long long cluster_stored(const cluster_t *c, const char *forbund);
long long cluster_events_in_log(const cluster_t *c);
/* Queue length of an agent (`finsam-agent status`). */
long long cluster_agent_queue(const cluster_t *c, const char *agent_dir);
/* `finsamctl rebuild --verify` exit code (0 = no differences). */
int cluster_rebuild_verify(const cluster_t *c);
/* `finsamctl -d CDIR ARGS...` (at most 12 arguments): its exit status,
 * its stdout in *out when out is not NULL (caller frees); both printed. */
int cluster_ctl(const cluster_t *c, char **out, const char *const *args);

/* A live-stream subscriber: a CURVE DEALER with the subscriber key `key`
 * (its secret file is key + "_secret") connected to `endpoint`, that has
 * sent Subscribe{prefix} (NULL: no prefix, everything the key may read).
 * It reads nothing unless the caller does. With `stuck`, its queue is 100
 * messages and its kernel receive buffer 4 KiB: a subscriber meant to fall
 * behind; otherwise its queue holds 100,000 messages. */
zsock_t *cluster_subscriber(const cluster_t *c, const char *key, const char *endpoint, const char *prefix,
                            bool stuck);
/* Sends Subscribe{prefix} on s: the first time, or to renew it (the
 * collector ends a subscription not renewed within a few seconds). */
void cluster_subscribe(zsock_t *s, const char *prefix);

/* A raw CURVE DEALER using an agent's keys (for hostile-input tests). */
zsock_t *cluster_raw_client(const cluster_t *c, const char *agent_dir);

#endif
