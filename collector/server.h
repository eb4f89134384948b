/* server.h: the collector process — sockets, authentication and the one
 * loop that drives ingest (Redis's ae.c in spirit: one thread owns the
 * sockets and the store; CZMQ's zauth actor runs the ZAP handler).
 *
 * Group commit: each turn of the loop drains every batch already waiting
 * (up to a byte and count cap), stores them in one transaction, and only
 * then sends their acks. A lone batch is committed at once; under load the
 * fsync of one commit is shared by all batches that queued meanwhile. */
#ifndef FINSAM_SERVER_H
#define FINSAM_SERVER_H

#include <signal.h>
#include <stdbool.h>

typedef struct {
    const char *data_dir;     /* ledger/, keys/, agents/ live here */
    const char *endpoint;     /* ingest ROUTER bind address */
    const char *server_key;   /* secret certificate file */
    const char *allow_dir;    /* allow-list directory */
    const char *catalogue;    /* NULL/"" for the embedded catalogue */
    const char *endpoint_file;/* if set, the bound endpoint is written here */
    int max_batches_per_commit;
} server_config_t;

typedef struct server_t server_t;

/* Builds everything (keys, store, sockets); NULL with a reason printed. */
server_t *server_new(const server_config_t *config);
void server_destroy(server_t **self_p);

/* Runs until *stop becomes nonzero. Returns 0 on a clean stop. */
int server_run(server_t *self, volatile sig_atomic_t *stop);

#endif
