/* http.c: the collector's HTTP server (see http.h for the contract): its
 * life cycle, its loop, and the dispatch of a request to its route. The
 * routes answer in api.c (JSON API, probes, exports), prometheus.c
 * (/metrics) and assets.c (the dashboard's files); params.c checks query
 * parameters, answer.c sends every answer and conntable.c decides who may
 * hold a connection and for how long.
 *
 * Design decision: one thread, ours, runs microhttpd (epoll, driven from
 * outside with MHD_run) and, between its turns, the connection table's
 * sweep; no thread pool. Requests are short reads (a query is one LMDB
 * read transaction over a measure's cells), so serving them one at a time
 * keeps the reader-slot use of the shared environment to one and needs no
 * locking here; the ingest loop is never blocked by a reader (LMDB readers
 * do not block the writer). No socket can stall the thread: they are all
 * non-blocking. The answers kept for repeated requests (cache.c) and the
 * suppression decided for them (query_memo_t) are this thread's alone, so they need no lock either; a kept
 * answer is a microhttpd response, reference-counted, so one that is dropped while connections still send it
 * lives until they are done.
 *
 * Abuse (issue 16): a connection costs a slot, so connections that send
 * nothing, or a request head a byte at a time, could fill a table of 64 and
 * keep /healthz unanswered for as long as microhttpd's inactivity timeout
 * let them. Now: (1) a connection must complete its request head within
 * --http-header-timeout of its accept, however steadily it trickles; the
 * sweep closes it otherwise (microhttpd's own timeout only counts
 * silence). No connection idles between requests: microhttpd closes each
 * after its answer (see http_new). (2) A full table, or a full share of
 * one address (--http-max-per-address), makes room for a newcomer by
 * closing the waiting connection nearest its deadline, instead of making
 * the newcomer wait: a client that sends its request at once is answered
 * even when every other slot is held by abusers from its own address (a
 * health check and an attacker on 127.0.0.1, a reverse proxy carrying
 * both), which a per-address limit alone could not give; slots reserved
 * for probes would only move the line where the abusers queue, and a
 * second listener would need every probe reconfigured. Connections being
 * answered are never evicted. (3) The table is large
 * (--http-max-connections, 512): epoll scales with it, and the open-files
 * limit is raised to fit. (4) A request head over
 * HTTP_MAX_HEAD bytes is refused with 431 and a JSON reason; microhttpd's
 * memory limit per connection is twice that, so it is we who measure, and
 * only heads beyond the pool get microhttpd's own 431. What it costs the
 * log: one CONNECTIONS-SHED line a minute at most, with counts, and
 * microhttpd's own messages at most one a minute at WARN (the rest at
 * DEBUG), never a line per connection.
 *
 * Every request is answered on the first call of the access handler: we
 * accept no request bodies, so there is nothing to wait for. Input is
 * checked before use: the size of the head, the method, the path (a fixed
 * table), every query parameter (known name, at most once, length,
 * charset), and the bearer token in constant time. A bad request gets a
 * 4xx with a JSON reason.
 *
 * Not here: writing to the store, TLS (put a reverse proxy in front when
 * the collector must be reached from elsewhere), sessions or cookies. */
#include "http.h"

#include "answer.h"
#include "api.h"
#include "assets.h"
#include "keys.h"
#include "log.h"
#include "prometheus.h"
#include "readfile.h"
#include "http_impl.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <unistd.h>

/* microhttpd's inactivity timeout: the backstop for a client that stops
 * reading its answer (ours, conntable, cover the wait for a request). */
#define HTTP_TIMEOUT_S 15
/* Per connection; the request head must fit with room to spare. */
#define HTTP_MEMORY_LIMIT (2 * HTTP_MAX_HEAD)
/* microhttpd's own limit is ours plus this: connections evicted in a turn
 * are still open until its next one, and at its limit it stops accepting. */
#define HTTP_LIMIT_SLACK 64
/* Descriptors kept for the rest of the collector (LMDB, ZeroMQ, logs). */
#define HTTP_FD_RESERVE 256
#define HTTP_LOG_PERIOD_MS 60000
#define HTTP_MAX_TOKEN 512
#define HTTP_MIN_TOKEN 16

/* ---- routing ---------------------------------------------------------- */

typedef struct {
    const char *path;
    http_handler_fn fn;
    bool open; /* answered without a token: no data behind it */
} s_route_t;

static const s_route_t s_routes[] = {
    {"/healthz", api_healthz, true},
    {"/readyz", api_readyz, false},
    {"/metrics", prometheus_metrics, false},
    {"/api/indicators", api_indicators, false},
    {"/api/status", api_status, false},
    {"/api/catalogue", api_catalogue, false},
    {"/api/protection", api_protection, false},
    {"/export.csv", api_export_csv, false},
    {"/export.json", api_export_json, false},
    {"/", assets_index, true},
    {"/index.html", assets_index, true},
    {"/app.js", assets_app_js, true},
    {"/style.css", assets_style_css, true},
};

/* Constant-time comparison of the presented token with ours. */
static bool s_authorized(const http_t *self, struct MHD_Connection *c)
{
    if (!self->token)
        return true;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncmp(h, "Bearer ", 7))
        return false;
    h += 7;
    size_t len = strnlen(h, HTTP_MAX_TOKEN + 1);
    unsigned char diff = len != self->token_len;
    for (size_t i = 0; i < self->token_len; i++)
        diff |= (unsigned char) (self->token[i] ^ (i < len ? h[i] : 0));
    return diff == 0;
}

/* Our entry for the connection in the table, or NULL (refused). */
static conntable_conn_t *s_conn(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return info ? info->socket_context : NULL;
}

static enum MHD_Result s_handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                const char *version, const char *upload_data, size_t *upload_data_size,
                                void **con_cls)
{
    http_t *self = cls;
    (void) version;
    (void) upload_data;
    (void) upload_data_size;
    (void) con_cls;
    /* The head is complete: no deadline of ours until the answer is sent. */
    conntable_busy(self->conns, s_conn(c));
    const union MHD_ConnectionInfo *head =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    if (head && head->header_size > HTTP_MAX_HEAD) {
        self->too_large++;
        return answer_error(c, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE,
                            "request head of %zu bytes: at most %d bytes of request line and headers",
                            head->header_size, HTTP_MAX_HEAD);
    }
    const s_route_t *route = NULL;
    for (size_t i = 0; i < sizeof s_routes / sizeof *s_routes; i++)
        if (!strcmp(url, s_routes[i].path))
            route = &s_routes[i];
    if (!route && !strncmp(url, "/report/", 8))
        return report_page_handle(self, c, url, method, s_authorized(self, c)); /* web/report_page.c */
    /* Answered at once: we take no bodies, and a GET or HEAD needs none. */
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
        return answer_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD");
    if (!route)
        return answer_error(c, MHD_HTTP_NOT_FOUND, "no such path");
    if (!route->open && !s_authorized(self, c)) {
        log_warn("http", "UNAUTHORIZED path=%s", route->path);
        return answer_error(c, MHD_HTTP_UNAUTHORIZED, "bearer token required");
    }
    log_debug("http", "REQUEST path=%s", route->path);
    return route->fn(self, c);
}

/* microhttpd's messages: most are about one client ("closed by remote
 * side with incomplete request"), so at most one a minute is a WARN, with
 * the number written at DEBUG since the last. Called from the server's
 * thread, or from http_new and http_destroy while it does not run. */
static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    http_t *self = cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\r\n")] = '\0';
    int64_t now = clock_mono_ms();
    if (now < self->mhd_next_ms) {
        self->mhd_held_back++;
        log_debug("http", "MHD reason=\"%s\"", msg);
        return;
    }
    log_warn("http", "MHD reason=\"%s\" held_back=%u", msg, self->mhd_held_back);
    self->mhd_held_back = 0;
    self->mhd_next_ms = now + HTTP_LOG_PERIOD_MS;
}

const catalogue_t *http_catalogue(http_t *self)
{
    const catalogue_t *cat = self->live ? registry_live_get(self->live) : self->catalogue;
    if (cat != self->catalogue_seen) {
        self->catalogue_seen = cat;
        self->catalogue_generation++;
        if (self->memo)
            query_memo_clear(self->memo); /* roll-ups follow the registry's län */
    }
    return cat;
}

/* ---- connections ------------------------------------------------------ */

static void s_notify_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                                enum MHD_ConnectionNotificationCode toe)
{
    http_t *self = cls;
    if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        conntable_close(self->conns, (conntable_conn_t **) socket_context);
        return;
    }
    const union MHD_ConnectionInfo *fd = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    const union MHD_ConnectionInfo *addr = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!fd)
        return; /* cannot happen in 0.9.75; untracked, it has microhttpd's timeout only */
    const struct sockaddr *sa = addr ? addr->client_addr : NULL;
    socklen_t salen = !sa                         ? 0
                      : sa->sa_family == AF_INET6 ? (socklen_t) sizeof(struct sockaddr_in6)
                                                  : (socklen_t) sizeof(struct sockaddr_in);
    *socket_context = conntable_open(self->conns, fd->connect_fd, sa, salen, clock_mono_ms());
}

/* An answer went out (or a request ended otherwise): the connection waits
 * for the next request, if microhttpd keeps it. */
static void s_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                        enum MHD_RequestTerminationCode toe)
{
    http_t *self = cls;
    (void) con_cls;
    (void) toe;
    conntable_idle(self->conns, s_conn(c), clock_mono_ms());
}

/* One WARN line a minute at most, with what was done to clients since the
 * last one. Returns the milliseconds until it may write again (the loop
 * wakes then, to write what came meanwhile), or -1 when it may now and had
 * nothing to write. */
static int s_log_shed(http_t *self, int64_t now)
{
    if (now < self->shed_next_ms)
        return (int) (self->shed_next_ms - now);
    conntable_counts_t n = conntable_take_counts(self->conns);
    if (!n.evicted && !n.refused && !n.timed_out && !self->too_large)
        return -1;
    log_warn("http",
             "CONNECTIONS-SHED evicted=%" PRIu64 " refused=%" PRIu64 " timed_out=%" PRIu64
             " head_too_large=%" PRIu64 " open=%zu period_s=%d",
             n.evicted, n.refused, n.timed_out, self->too_large, conntable_open_count(self->conns),
             HTTP_LOG_PERIOD_MS / 1000);
    self->too_large = 0;
    self->shed_next_ms = now + HTTP_LOG_PERIOD_MS;
    return -1;
}

static int s_min_timeout(int a, int b)
{
    return a < 0 ? b : b < 0 ? a : a < b ? a : b;
}

/* The server's thread: microhttpd's turn, our sweep, then wait for its
 * sockets (its epoll descriptor), the next deadline or http_destroy. */
static void *s_loop(void *arg)
{
    http_t *self = arg;
    const union MHD_DaemonInfo *ep = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_EPOLL_FD);
    struct pollfd p[2] = {{.fd = ep ? ep->epoll_fd : -1, .events = POLLIN},
                          {.fd = self->wake_fd, .events = POLLIN}};
    for (;;) {
        MHD_run(self->daemon);
        int64_t now = clock_mono_ms();
        int timeout = conntable_sweep(self->conns, now);
        timeout = s_min_timeout(timeout, s_log_shed(self, now));
        MHD_UNSIGNED_LONG_LONG mhd_ms;
        if (MHD_get_timeout(self->daemon, &mhd_ms) == MHD_YES)
            timeout = s_min_timeout(timeout, mhd_ms > INT32_MAX ? INT32_MAX : (int) mhd_ms);
        /* At its own limit microhttpd takes the listening socket out of its
         * epoll set until its next turn: come back soon to take it up. */
        const union MHD_DaemonInfo *open =
            MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
        if (open && open->num_connections >= self->mhd_limit)
            timeout = s_min_timeout(timeout, 50);
        if (poll(p, 2, timeout) < 0 && errno != EINTR) {
            log_error("http", "POLL-FAILED reason=\"%s\"", strerror(errno));
            break;
        }
        if (p[1].revents)
            break;
    }
    return NULL;
}

long http_fds_needed(long max_connections)
{
    return max_connections + HTTP_LIMIT_SLACK + HTTP_FD_RESERVE;
}

/* Lets the process open max_connections sockets and microhttpd's slack
 * besides HTTP_FD_RESERVE others: raises the soft RLIMIT_NOFILE up to the
 * hard one if needed. Returns the connection limit that fits. */
static int s_fit_fd_limit(int max_connections)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return max_connections;
    rlim_t need = (rlim_t) http_fds_needed(max_connections);
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        rlim_t was = rl.rlim_cur;
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            rl.rlim_cur = was;
        else
            log_info("http", "FD-LIMIT-RAISED from=%ju to=%ju", (uintmax_t) was, (uintmax_t) rl.rlim_cur);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        long fits = (long) rl.rlim_cur - HTTP_LIMIT_SLACK - HTTP_FD_RESERVE;
        int lowered = fits < 8 ? 8 : (int) fits;
        log_warn("http",
                 "FD-LIMIT-LOW nofile=%ju needed=%ju max_connections=%d reason=\"lowered to fit; raise "
                 "LimitNOFILE or ulimit -n\"",
                 (uintmax_t) rl.rlim_cur, (uintmax_t) need, lowered);
        return lowered < max_connections ? lowered : max_connections;
    }
    return max_connections;
}

/* ---- life cycle ------------------------------------------------------- */

int http_parse_listen(const char *text, char *buf, size_t buflen, http_config_t *cfg)
{
    const char *colon = strrchr(text, ':');
    if (!colon || colon == text)
        return -1;
    size_t hostlen = (size_t) (colon - text);
    const char *host = text;
    if (host[0] == '[') {
        if (hostlen < 3 || host[hostlen - 1] != ']')
            return -1;
        host++;
        hostlen -= 2;
    }
    if (hostlen >= buflen)
        return -1;
    memcpy(buf, host, hostlen);
    buf[hostlen] = '\0';
    char *end;
    errno = 0;
    long port = strtol(colon + 1, &end, 10);
    if (errno || end == colon + 1 || *end || port < 0 || port > 65535)
        return -1;
    cfg->address = buf;
    cfg->port = (int) port;
    return 0;
}

/* Reads the token: a private file with one line of 16..512 printable
 * ASCII characters. Returns 0, or -1 with err filled. */
static int s_load_token(http_t *self, const char *path, char *err, size_t errlen)
{
    if (keys_check_private(path, err, errlen) < 0)
        return -1;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    char buf[HTTP_MAX_TOKEN + 2];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    if (n < HTTP_MIN_TOKEN || n > HTTP_MAX_TOKEN) {
        snprintf(err, errlen, "%s: the token must be %d to %d characters", path, HTTP_MIN_TOKEN,
                 HTTP_MAX_TOKEN);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (buf[i] < 0x21 || buf[i] > 0x7e) {
            snprintf(err, errlen, "%s: the token must be one line of printable ASCII", path);
            return -1;
        }
    self->token = strdup(buf);
    self->token_len = n;
    return self->token ? 0 : -1;
}

static int s_load_catalogue_text(http_t *self, const char *path, char *err, size_t errlen)
{
    if (readfile(path, &self->catalogue_text, &self->catalogue_len) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* Writes the port through a temporary file and rename, so whoever waits
 * for the file never reads it half written. */
static int s_write_port_file(const char *path, int port)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    fprintf(f, "%d\n", port);
    if (fclose(f) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

http_t *http_new(const http_config_t *cfg, ledger_t *ledger, const catalogue_t *catalogue, metrics_t *metrics)
{
    char err[512];
    http_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->ledger = ledger;
    self->catalogue = catalogue;
    self->metrics = metrics;
    self->protect = cfg->protect;
    self->silent_after_s = cfg->silent_after_s > 0 ? cfg->silent_after_s : 86400;
    self->wake_fd = -1;

    struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = htons((uint16_t) cfg->port)};
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t) cfg->port)};
    const struct sockaddr *sa;
    bool ipv6 = false, loopback;
    if (inet_pton(AF_INET, cfg->address, &v4.sin_addr) == 1) {
        sa = (const struct sockaddr *) &v4;
        loopback = (ntohl(v4.sin_addr.s_addr) >> 24) == 127;
    } else if (inet_pton(AF_INET6, cfg->address, &v6.sin6_addr) == 1) {
        sa = (const struct sockaddr *) &v6;
        ipv6 = true;
        loopback = IN6_IS_ADDR_LOOPBACK(&v6.sin6_addr);
    } else {
        log_error("http", "CONFIG-INVALID reason=\"address %s is not a numeric IPv4 or IPv6 address\"",
                  cfg->address);
        goto fail;
    }
    if (cfg->token_file && cfg->token_file[0] && s_load_token(self, cfg->token_file, err, sizeof err) < 0) {
        log_error("http", "TOKEN-REFUSED reason=\"%s\"", err);
        goto fail;
    }
    /* Indicator values are meant for operators; on an address others can
     * reach, a token is the minimum. */
    if (!loopback && !self->token) {
        log_error("http",
                  "CONFIG-INVALID reason=\"address %s is not loopback: --http-token-file is required\"",
                  cfg->address);
        goto fail;
    }
    if (cfg->catalogue_file && cfg->catalogue_file[0] &&
        s_load_catalogue_text(self, cfg->catalogue_file, err, sizeof err) < 0) {
        log_error("http", "CATALOGUE-UNREADABLE reason=\"%s\"", err);
        goto fail;
    }
    if (cfg->allow_dir && !(self->allow_dir = strdup(cfg->allow_dir)))
        goto fail;
    /* Queries run on microhttpd's one thread (no thread pool), the only
     * caller of registry_live_get. */
    if (cfg->registry_file &&
        !(self->live = registry_live_new(cfg->registry_file, cfg->catalogue_file, catalogue)))
        goto fail;
    if (cfg->dashboard_dir && cfg->dashboard_dir[0] && !(self->dashboard_dir = strdup(cfg->dashboard_dir)))
        goto fail;
    long cache_bytes = cfg->cache_bytes ? cfg->cache_bytes : HTTP_DEFAULT_CACHE_BYTES;
    if (cache_bytes > 0 &&
        (!(self->cache = cache_new((size_t) cache_bytes)) || !(self->memo = query_memo_new())))
        goto fail;

    conntable_limits_t limits = {
        .max_connections = cfg->max_connections > 0 ? cfg->max_connections : HTTP_DEFAULT_MAX_CONNECTIONS,
        .max_per_address = cfg->max_per_address > 0 ? cfg->max_per_address : HTTP_DEFAULT_MAX_PER_ADDRESS,
        .header_timeout_ms =
            1000 * (cfg->header_timeout_s > 0 ? cfg->header_timeout_s : HTTP_DEFAULT_HEADER_TIMEOUT_S),
    };
    /* microhttpd 0.9.75 closes a connection after an answer queued on the
     * handler's first call, as ours always are: no connection is kept
     * alive today. Should one be, it has as long for its next head. */
    limits.idle_timeout_ms = limits.header_timeout_ms;
    limits.max_connections = s_fit_fd_limit(limits.max_connections);
    if (!(self->conns = conntable_new(&limits)))
        goto fail;
    if ((self->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0)
        goto fail;
    self->mhd_limit = (unsigned) limits.max_connections + HTTP_LIMIT_SLACK;
    /* No per-IP limit of microhttpd's: it would refuse the newcomer, where
     * conntable evicts a waiting connection instead (see the top). */
    self->daemon = MHD_start_daemon(
        MHD_USE_EPOLL | MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_IPv6 : 0), 0, NULL, NULL, s_handle, self,
        MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log, self, /* first, or MHD logs to stderr */
        MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_CONNECTION_LIMIT, self->mhd_limit, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned) HTTP_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t) HTTP_MEMORY_LIMIT,
        MHD_OPTION_NOTIFY_CONNECTION, s_notify_connection, self, MHD_OPTION_NOTIFY_COMPLETED, s_completed,
        self, MHD_OPTION_END);
    if (!self->daemon) {
        log_error("http", "BIND-FAILED address=%s port=%d", cfg->address, cfg->port);
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : cfg->port;
    /* From here on only the thread calls microhttpd, until http_destroy
     * has stopped it; clients that come first wait in the listen backlog. */
    int err_no = pthread_create(&self->thread, NULL, s_loop, self);
    if (err_no) {
        log_error("http", "THREAD-FAILED reason=\"%s\"", strerror(err_no));
        goto fail;
    }
    self->running = true;
    if (cfg->port_file && cfg->port_file[0] && s_write_port_file(cfg->port_file, self->port) < 0) {
        log_error("http", "PORT-FILE-FAILED path=%s reason=%s", cfg->port_file, strerror(errno));
        goto fail;
    }
    log_info("http",
             "LISTENING address=%s port=%d token=%s min_units=%d dashboard=%s max_connections=%d "
             "max_per_address=%d header_timeout_s=%d cache_bytes=%ld",
             cfg->address, self->port, self->token ? "required" : "off",
             protect_params(self->protect)->min_count, self->dashboard_dir ? "directory" : "embedded",
             limits.max_connections, limits.max_per_address, limits.header_timeout_ms / 1000,
             cache_bytes > 0 ? cache_bytes : 0L);
    return self;
fail:
    http_destroy(&self);
    return NULL;
}

void http_destroy(http_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    http_t *self = *self_p;
    if (self->running) {
        uint64_t one = 1;
        if (write(self->wake_fd, &one, sizeof one) != sizeof one)
            log_error("http", "STOP-FAILED reason=\"%s\"", strerror(errno));
        pthread_join(self->thread, NULL);
    }
    /* Closes every connection, each reported to s_notify_connection: the
     * table goes after. */
    if (self->daemon)
        MHD_stop_daemon(self->daemon);
    conntable_destroy(&self->conns);
    cache_destroy(&self->cache); /* after the daemon: no connection sends its answers any more */
    query_memo_destroy(&self->memo);
    if (self->wake_fd >= 0)
        close(self->wake_fd);
    registry_live_destroy(&self->live);
    free(self->dashboard_dir);
    free(self->allow_dir);
    free(self->catalogue_text);
    if (self->token) {
        explicit_bzero(self->token, self->token_len);
        free(self->token);
    }
    free(self);
    *self_p = NULL;
}

int http_port(const http_t *self)
{
    return self->port;
}
