/* http.h: the operators' window into a running collector — a JSON API for
 * indicators, status and the catalogue, Prometheus /metrics, health probes,
 * exports and the dashboard page, served by libmicrohttpd.
 *
 * Threading: the server runs in one thread of its own, beside
 * the collector's ingest loop. It only reads: each request opens its own
 * read-only LMDB transaction (the store uses MDB_NOTLS) through query_run,
 * status_report and friends; the catalogue is immutable and the metrics are
 * atomics. Nothing here writes to the store or touches a ZeroMQ socket.
 * Protected answers are kept for the next reader who asks the same, until
 * a publication, a commit or the registry changes them (web/cache.h); the
 * cache is the server thread's alone.
 *
 * Exposure: bound to 127.0.0.1 by default. With a token file every request
 * except /healthz and the dashboard's static files (which hold no data)
 * must carry `Authorization: Bearer TOKEN`; binding to a non-loopback
 * address without a token is refused. Every number shown goes through
 * query_run, so disclosure control applies here exactly as in finsamctl,
 * and a client may raise the minimum cell size but never lower it. */
#ifndef FINSAM_HTTP_H
#define FINSAM_HTTP_H

#include "catalogue.h"
#include "ledger.h"
#include "metrics.h"
#include "query.h"

#include <stdbool.h>

typedef struct {
    const char *address;        /* numeric IPv4 or IPv6 address to bind */
    int port;                   /* 0 picks a free port (see http_port) */
    const char *token_file;     /* bearer token (mode 0600), or NULL */
    const char *port_file;      /* if set, the bound port is written here */
    const char *catalogue_file; /* served at /api/catalogue; NULL/"" = embedded */
    const char *dashboard_dir;  /* serve the dashboard from here instead of
                                   the copy embedded at build time, or NULL */
    const protect_t *protect;   /* the collector's disclosure protection (borrowed) */
    int silent_after_s;         /* an agent unheard this long is "silent" */
    const char *allow_dir;      /* the agents' allow-list: /api/status names agents by
                                   their certificates there (NULL: by key only) */
    const char *registry_file;  /* DATA/forbund.json, followed while serving
                                   (registry.h); NULL: the catalogue as given */
    /* Bytes of answers kept for repeated requests (web/cache.h):
     * 0 = HTTP_DEFAULT_CACHE_BYTES, negative = none. */
    long cache_bytes;
    /* Limits on clients (0: the default in brackets; docs/http-api.md). */
    int max_connections;  /* open at once, all addresses [512] */
    int max_per_address;  /* open at once from one address [64] */
    int header_timeout_s; /* accept (or an answer, should the connection
                             be kept) to a complete request head [5] */
} http_config_t;

#define HTTP_DEFAULT_MAX_CONNECTIONS 512
#define HTTP_DEFAULT_MAX_PER_ADDRESS 64
#define HTTP_DEFAULT_HEADER_TIMEOUT_S 5
/* Within the collector's memory target (docs/performance.md): the 83-förbund
 * national table is 2.7 MB. */
#define HTTP_DEFAULT_CACHE_BYTES (16L << 20)
/* The largest request head served: request line and headers, every CRLF
 * included. A larger one is answered 431 with a JSON reason. */
#define HTTP_MAX_HEAD 16384

typedef struct http_t http_t;

/* The open files a collector serving max_connections HTTP connections
 * needs: those, microhttpd's slack, and the rest of the process. */
long http_fds_needed(long max_connections);

/* Parses "ADDR:PORT", "[V6ADDR]:PORT" into cfg->address (copied into buf)
 * and cfg->port. Returns 0, or -1 if malformed. */
int http_parse_listen(const char *text, char *buf, size_t buflen, http_config_t *cfg);

/* The query of GET /api/indicators from its raw query string (text, len:
 * the part of the URL after '?'), checked exactly as the server checks it:
 * known parameter names, each at most once, 1 to 64 bytes of its charset;
 * the protection is the collector's (a reader cannot choose a threshold:
 * min_units is refused with that reason). The string is
 * split on '&' and '=', '+' becomes a space and %XX is decoded as
 * microhttpd does, into buf (at least len + 1 bytes), which q's strings
 * then point into. Returns 0, or -1 with the reason (the text of the 400
 * answer) in err. For tests and tests/fuzz/fuzz_http_query.c. */
int http_parse_query(const char *text, size_t len, const protect_t *protect, char *buf, size_t buflen,
                     query_t *q, char *err, size_t errlen);

/* Binds and starts serving in a thread of its own. ledger, catalogue
 * and metrics are borrowed: they must outlive the http_t (metrics may be
 * NULL, then /metrics shows only store and agent values). Returns NULL with
 * the reason logged (bad token file, no token on a public address, cannot
 * bind). Raises the process's soft limit on open files (RLIMIT_NOFILE) as
 * far as max_connections needs and the hard limit allows; below that, the
 * connection limit is lowered to fit, with a warning. */
http_t *http_new(const http_config_t *cfg, ledger_t *ledger, const catalogue_t *catalogue,
                 metrics_t *metrics);

/* Stops the server's thread (a request in progress is finished first),
 * closes every connection, frees; NULL-safe. */
void http_destroy(http_t **self_p);

/* The bound TCP port (useful after port 0). */
int http_port(const http_t *self);

#endif
