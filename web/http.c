/* http.c: the collector's HTTP server (see http.h for the contract): its
 * life cycle and the dispatch of a request to its route. The routes answer
 * in api.c (JSON API, probes, exports), prometheus.c (/metrics) and
 * assets.c (the dashboard's files); params.c checks query parameters and
 * answer.c sends every answer.
 *
 * Design decision: one microhttpd polling thread, no thread pool. Requests
 * are short reads (a query is one LMDB read transaction over a measure's
 * cells), so serving them one at a time keeps the reader-slot use of the
 * shared environment to one and needs no locking here; the ingest loop is
 * never blocked by a reader (LMDB readers do not block the writer).
 *
 * Every request is answered on the first call of the access handler: we
 * accept no request bodies, so there is nothing to wait for. Input is
 * checked before use: the method, the path (a fixed table), every query
 * parameter (known name, at most once, length, charset), and the bearer
 * token in constant time. A bad request gets a 4xx with a JSON reason.
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

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HTTP_MAX_CONNECTIONS 64
#define HTTP_TIMEOUT_S 15
#define HTTP_MEMORY_LIMIT (32 * 1024) /* per connection; bounds header size */
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

static enum MHD_Result s_handle(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                const char *version, const char *upload_data, size_t *upload_data_size,
                                void **con_cls)
{
    http_t *self = cls;
    (void) version;
    (void) upload_data;
    (void) upload_data_size;
    (void) con_cls;
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

static void s_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void) cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    msg[strcspn(msg, "\r\n")] = '\0';
    log_warn("http", "MHD reason=\"%s\"", msg);
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

    self->daemon = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | MHD_USE_ERROR_LOG | (ipv6 ? MHD_USE_IPv6 : 0), 0,
        NULL, NULL, s_handle, self, MHD_OPTION_EXTERNAL_LOGGER, s_mhd_log,
        NULL, /* first, or MHD logs to stderr */
        MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_CONNECTION_LIMIT, (unsigned) HTTP_MAX_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned) HTTP_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t) HTTP_MEMORY_LIMIT, MHD_OPTION_END);
    if (!self->daemon) {
        log_error("http", "BIND-FAILED address=%s port=%d", cfg->address, cfg->port);
        goto fail;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(self->daemon, MHD_DAEMON_INFO_BIND_PORT);
    self->port = info ? info->port : cfg->port;
    if (cfg->port_file && cfg->port_file[0] && s_write_port_file(cfg->port_file, self->port) < 0) {
        log_error("http", "PORT-FILE-FAILED path=%s reason=%s", cfg->port_file, strerror(errno));
        goto fail;
    }
    log_info("http", "LISTENING address=%s port=%d token=%s min_units=%d dashboard=%s", cfg->address,
             self->port, self->token ? "required" : "off", protect_params(self->protect)->min_count,
             self->dashboard_dir ? "directory" : "embedded");
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
    if (self->daemon)
        MHD_stop_daemon(self->daemon);
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
