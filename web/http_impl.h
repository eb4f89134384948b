/* http_impl.h: what the files of web/ share (internal to web/; nothing
 * outside includes it): the server's state and the signature of a route's
 * handler. http.c owns the state — it fills it in http_new and frees it in
 * http_destroy — and dispatches; api.c, prometheus.c and assets.c answer
 * and only read it. */
#ifndef FINSAM_HTTP_IMPL_H
#define FINSAM_HTTP_IMPL_H

#include "cache.h"
#include "conntable.h"
#include "http.h"
#include "registry.h"

#include <microhttpd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct http_t {
    struct MHD_Daemon *daemon;
    conntable_t *conns;     /* limits, deadlines, eviction (conntable.h) */
    pthread_t thread;       /* runs microhttpd and the sweep (s_loop) */
    bool running;           /* thread started */
    int wake_fd;            /* eventfd: http_destroy stops the thread; -1 if none */
    unsigned mhd_limit;     /* microhttpd's own connection limit, above ours */
    uint64_t too_large;     /* request heads refused since the last SHED line */
    int64_t shed_next_ms;   /* no CONNECTIONS-SHED line before this */
    int64_t mhd_next_ms;    /* no WARN of microhttpd's before this */
    unsigned mhd_held_back; /* its messages written at DEBUG since */
    ledger_t *ledger;
    const catalogue_t *catalogue;
    registry_live_t *live;             /* the förbund registry as it changes; NULL: catalogue as is */
    const catalogue_t *catalogue_seen; /* the last http_catalogue returned */
    uint64_t catalogue_generation;     /* counts the changes of catalogue_seen */
    cache_t *cache;                    /* answers kept (cache.h); NULL: none */
    query_memo_t *memo;                /* kept between answers (query.h); NULL: none */
    metrics_t *metrics;
    char *token; /* NULL: no token required */
    size_t token_len;
    char *catalogue_text; /* the loaded file's text, or NULL for the embedded one */
    size_t catalogue_len;
    char *dashboard_dir;
    char *allow_dir; /* NULL: agents named by key only */
    const protect_t *protect;
    int silent_after_s;
    int port;
};

/* The catalogue with the förbund registry as it is now (registry.h):
 * every route asks here, so that catalogue_generation counts each change
 * (a pointer alone could be reused by a later reload). */
const catalogue_t *http_catalogue(http_t *self);

/* Answers one request (on the access handler's first call; we take no
 * bodies). Returns microhttpd's MHD_YES, or MHD_NO to drop the
 * connection. */
typedef enum MHD_Result (*http_handler_fn)(http_t *self, struct MHD_Connection *c);

#endif
