/* server.h: the collector process — sockets, authentication and the one
 * loop that drives ingest (Redis's ae.c in spirit: one thread owns the
 * sockets and the store). The loop is CZMQ's zloop (server_loop.c); the
 * ZAP handler (auth.c), the streams and the allow-lists' reloads run in
 * it, never in a thread of their own.
 *
 * Group commit: each turn of the loop drains every batch already waiting
 * (up to a byte and count cap), stores them in one transaction, and only
 * then sends their acks. A lone batch is committed at once; under load the
 * fsync of one commit is shared by all batches that queued meanwhile. */
#ifndef FINSAM_SERVER_H
#define FINSAM_SERVER_H

#include <signal.h>
#include <stdbool.h>

#include "catalogue.h"
#include "err.h"
#include "ledger.h"
#include "metrics.h"
#include "protect.h"
#include "stream.h"

typedef struct {
    const char *data_dir;       /* ledger/, keys/, agents/ live here */
    const char *endpoint;       /* ingest ROUTER bind address */
    const char *server_key;     /* secret certificate file */
    const char *allow_dir;      /* agent allow-list directory */
    const char *subscriber_dir; /* stream subscriber allow-list directory */
    const char *catalogue;      /* NULL/"" for the embedded catalogue */
    const char *endpoint_file;  /* if set, the bound endpoint is written here */
    int max_batches_per_commit;
    protect_params_t protect; /* disclosure protection, stored in the ledger */
    int publish_interval_s;   /* publication cadence (publish.h) */
    int publish_max_age_s;    /* a changed cell's published state is refreshed after this at the latest */
    stream_config_t stream;   /* events_endpoint "" disables streams */
} server_config_t;

typedef struct server_t server_t;

/* Builds everything (keys, store, sockets) into *out. Returns FIN_OK, or
 * the kind of failure with its reason in err (also logged, with its event
 * name): FIN_ECONFIG (catalogue, protection parameters), FIN_EPERM (the
 * secret key), FIN_EIO (the store), FIN_ENOMEM, FIN_EINTERNAL, and
 * FIN_EAGAIN when an endpoint cannot be bound or the store cannot be
 * served now (main.c exits 69 for it). */
fin_err_t server_open(server_t **out, const server_config_t *config, char *err, size_t errlen);
void server_destroy(server_t **self_p);

/* Runs until *stop becomes nonzero. Returns FIN_OK on a clean stop,
 * FIN_EINTERNAL if the loop failed (logged).
 * SIGHUP reloads both allow-lists; the caller blocks it in every thread
 * before starting any (the loop reads it from a signalfd), as main.c does.
 * The allow-lists are also reloaded on inotify events of their
 * directories (allowlist.h).
 * Under systemd (NOTIFY_SOCKET set) it says READY=1 on entry — so every
 * socket, the HTTP API's included, must be bound before it is called —
 * RELOADING=1 and READY=1 around a SIGHUP reload, STOPPING=1 on the way
 * out (sd_notify(3)). */
fin_err_t server_run(server_t *self, volatile sig_atomic_t *stop);

/* Shared read-only with the HTTP thread (ledger reads use their own read
 * transactions; metrics are atomics). Valid until server_destroy. */
metrics_t *server_metrics(server_t *self);
ledger_t *server_ledger(server_t *self);
const catalogue_t *server_catalogue(server_t *self);
const protect_t *server_protect(server_t *self);

#endif
