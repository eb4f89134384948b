/* http.c: the collector's HTTP server (see http.h for the contract).
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

#include "codec.h"
#include "export.h"
#include "keys.h"
#include "log.h"
#include "query.h"
#include "status.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#define HTTP_MAX_CONNECTIONS 64
#define HTTP_TIMEOUT_S 15
#define HTTP_MEMORY_LIMIT (32 * 1024) /* per connection; bounds header size */
#define HTTP_MAX_PARAM 64
#define HTTP_MAX_TOKEN 512
#define HTTP_MIN_TOKEN 16
#define HTTP_MAX_MIN_UNITS 1000

/* The dashboard, embedded at build time (cmake finsam_embed). */
extern const unsigned char finsam_dashboard_index_html[], finsam_dashboard_app_js[],
    finsam_dashboard_style_css[];
extern const size_t finsam_dashboard_index_html_len, finsam_dashboard_app_js_len,
    finsam_dashboard_style_css_len;

struct http_t {
    struct MHD_Daemon *daemon;
    ledger_t *ledger;
    const catalogue_t *catalogue;
    metrics_t *metrics;
    char *token; /* NULL: no token required */
    size_t token_len;
    char *catalogue_text; /* the loaded file's text, or NULL for the embedded one */
    size_t catalogue_len;
    char *dashboard_dir;
    const protect_t *protect;
    int silent_after_s;
    int port;
};

typedef enum MHD_Result (*s_handler_fn)(http_t *self, struct MHD_Connection *c);

/* ---- answers ---------------------------------------------------------- */

/* Queues body (taken: freed by microhttpd when must_free) with the headers
 * every answer carries. */
static enum MHD_Result s_send(struct MHD_Connection *c, unsigned status, const char *type, void *body,
                              size_t len, bool must_free, const char *disposition)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (must_free)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    /* The dashboard loads only its own files and talks only to us. */
    MHD_add_response_header(
        r, "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    if (disposition)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disposition);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"finsam\"");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* Sends j (taken) as JSON. */
static enum MHD_Result s_send_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) {
        static char oom[] = "{\"error\":\"out of memory\",\"status\":500}";
        return s_send(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json", oom, sizeof oom - 1, false,
                      NULL);
    }
    return s_send(c, status, "application/json", text, strlen(text), true, NULL);
}

static enum MHD_Result s_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum MHD_Result s_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
    char msg[QUERY_ERR_LEN + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return s_send_json(c, status, json_pack("{s:s,s:i}", "error", msg, "status", (int) status));
}

/* ---- parameters ------------------------------------------------------- */

typedef struct {
    const char *name;
    const char *charset; /* allowed bytes */
} s_param_t;

static const char s_alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/* Query parameters an endpoint takes; index = slot in s_args_t. */
enum { P_MEASURE, P_FORBUND, P_PERIOD, P_SLICE, P_COUNT };
static const s_param_t s_params[P_COUNT] = {
    [P_MEASURE] = {"measure", "abcdefghijklmnopqrstuvwxyz0123456789_"},
    [P_FORBUND] = {"forbund", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"},
    [P_PERIOD] = {"period", "abcdefghijklmnopqrstuvwxyzQ0123456789-"},
    /* age=65+ arrives as "65 " when the client did not encode the '+'. */
    [P_SLICE] = {"slice", "abcdefghijklmnopqrstuvwxyz0123456789=_-+ "},
};

typedef struct {
    unsigned allowed; /* bit per P_* this endpoint takes */
    const char *value[P_COUNT];
    bool bad_measure; /* err is about measure's characters: answer with the list (s_bad_args) */
    char err[CELL_SLICE_LIST_LEN + 64];
} s_args_t;

static bool s_in_set(const char *s, size_t len, const char *set)
{
    for (size_t i = 0; i < len; i++)
        if (!s[i] || !strchr(set, s[i]))
            return false;
    return true;
}

/* Called for each query parameter; stops at the first bad one. Names and
 * values arrive percent-decoded; the _n variant gives their true length,
 * so an embedded %00 is caught. */
static enum MHD_Result s_arg(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                             const char *value, size_t value_size)
{
    s_args_t *a = cls;
    (void) kind;
    int slot = -1;
    for (int i = 0; i < P_COUNT; i++)
        if ((a->allowed & 1u << i) && strlen(s_params[i].name) == key_size && !strcmp(key, s_params[i].name))
            slot = i;
    if (slot < 0 && key_size == 9 && !strcmp(key, "min_units")) {
        snprintf(a->err, sizeof a->err,
                 "min_units: the minimum count is the collector's (--min-units); readers cannot change it");
        return MHD_NO;
    }
    if (slot < 0) {
        bool printable = key_size <= 32 && s_in_set(key, key_size, s_alnum);
        snprintf(a->err, sizeof a->err, "unknown parameter '%s'", printable ? key : "?");
        return MHD_NO;
    }
    if (a->value[slot]) {
        snprintf(a->err, sizeof a->err, "parameter '%s' given twice", key);
        return MHD_NO;
    }
    if (!value || value_size == 0 || value_size > HTTP_MAX_PARAM) {
        snprintf(a->err, sizeof a->err, "parameter '%s': 1 to %d characters", key, HTTP_MAX_PARAM);
        return MHD_NO;
    }
    if (!s_in_set(value, value_size, s_params[slot].charset)) {
        /* The value is not echoed back; for a slice or a measure the
         * answer names every valid one (a measure's list: s_bad_args). */
        a->bad_measure = slot == P_MEASURE;
        if (slot == P_SLICE) {
            char list[CELL_SLICE_LIST_LEN];
            cell_slice_list(list, sizeof list);
            snprintf(a->err, sizeof a->err, "parameter 'slice': use one of %s", list);
        } else {
            snprintf(a->err, sizeof a->err, "parameter '%s': only [%s]", key, s_params[slot].charset);
        }
        return MHD_NO;
    }
    a->value[slot] = value;
    return MHD_YES;
}

/* Fills a (values point into the request, valid until it is answered).
 * Returns 0, or -1 with a->err set. */
static int s_parse_args(struct MHD_Connection *c, unsigned allowed, s_args_t *a)
{
    memset(a, 0, sizeof *a);
    a->allowed = allowed;
    MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, s_arg, a);
    return a->err[0] ? -1 : 0;
}

/* The parameters /api/indicators takes, and its query from them. */
#define S_INDICATOR_PARAMS (1u << P_MEASURE | 1u << P_FORBUND | 1u << P_PERIOD | 1u << P_SLICE)

/* "age=65 " (an unencoded '+') back to "age=65+"; the value is ours to edit. */
static const char *s_slice_value(const char *v)
{
    char *space = v ? strchr(v, ' ') : NULL;
    if (space)
        *space = '+';
    return v ? v : "all";
}

static query_t s_indicators_query(const s_args_t *a, const protect_t *protect)
{
    return (query_t){.measure = a->value[P_MEASURE],
                     .forbund = a->value[P_FORBUND],
                     .period = a->value[P_PERIOD] ? a->value[P_PERIOD] : "year",
                     .slice = s_slice_value(a->value[P_SLICE]),
                     .protect = protect};
}

int http_parse_query(const char *text, size_t len, const protect_t *protect, char *buf, size_t buflen,
                     query_t *q, char *err, size_t errlen)
{
    s_args_t a;
    memset(&a, 0, sizeof a);
    a.allowed = S_INDICATOR_PARAMS;
    if (buflen < len + 1 || memchr(text, '\0', len)) {
        snprintf(err, errlen, "%s", buflen < len + 1 ? "query string too long" : "NUL in query string");
        return -1;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    /* As microhttpd splits and decodes the arguments of a URL. */
    for (char *p = buf, *next; p && !a.err[0]; p = next) {
        char *amp = strchr(p, '&');
        next = amp ? amp + 1 : NULL;
        if (amp)
            *amp = '\0';
        if (!*p)
            continue;
        char *eq = strchr(p, '=');
        if (eq)
            *eq++ = '\0';
        for (char *c = p; *c; c++)
            if (*c == '+')
                *c = ' ';
        size_t key_size = MHD_http_unescape(p), value_size = 0;
        if (eq) {
            for (char *c = eq; *c; c++)
                if (*c == '+')
                    *c = ' ';
            value_size = MHD_http_unescape(eq);
        }
        if (s_arg(&a, MHD_GET_ARGUMENT_KIND, p, key_size, eq, value_size) != MHD_YES && !a.err[0])
            snprintf(a.err, sizeof a.err, "bad parameter");
    }
    if (a.err[0]) {
        snprintf(err, errlen, "%s", a.err);
        return -1;
    }
    *q = s_indicators_query(&a, protect);
    return 0;
}

/* ---- endpoints -------------------------------------------------------- */

static enum MHD_Result s_healthz(http_t *self, struct MHD_Connection *c)
{
    (void) self;
    return s_send_json(c, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"));
}

static enum MHD_Result s_readyz(http_t *self, struct MHD_Connection *c)
{
    MDB_txn *txn;
    int rc = store_read(ledger_store(self->ledger), &txn);
    if (rc) {
        log_warn("http", "NOT-READY reason=%s", store_strerror(rc));
        return s_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "store not readable: %s", store_strerror(rc));
    }
    store_read_end(ledger_store(self->ledger), txn);
    return s_send_json(c, MHD_HTTP_OK, json_pack("{s:s}", "status", "ready"));
}

static enum MHD_Result s_query_error(struct MHD_Connection *c, int rc, const char *err)
{
    /* query_run says EX_USAGE for bad input, anything else is ours. */
    if (rc == EX_USAGE)
        return s_error(c, MHD_HTTP_BAD_REQUEST, "%s", err);
    log_warn("http", "QUERY-FAILED reason=%s", err);
    return s_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "%s", err);
}

/* 400 for a parameter s_parse_args refused; a measure of foreign
 * characters is answered as an unknown measure is, with the list. */
static enum MHD_Result s_bad_args(http_t *self, struct MHD_Connection *c, const s_args_t *a)
{
    if (!a->bad_measure)
        return s_error(c, MHD_HTTP_BAD_REQUEST, "%s", a->err);
    char list[QUERY_ERR_LEN];
    query_measure_list(self->catalogue, list, sizeof list);
    return s_error(c, MHD_HTTP_BAD_REQUEST, "parameter 'measure': use %s", list);
}

static enum MHD_Result s_indicators(http_t *self, struct MHD_Connection *c)
{
    s_args_t a;
    if (s_parse_args(c, S_INDICATOR_PARAMS, &a) < 0)
        return s_bad_args(self, c, &a);
    query_t q = s_indicators_query(&a, self->protect);
    json_t *result;
    char err[QUERY_ERR_LEN];
    int rc = query_run(self->ledger, self->catalogue, &q, &result, err, sizeof err);
    if (rc)
        return s_query_error(c, rc, err);
    return s_send_json(c, MHD_HTTP_OK, result);
}

static enum MHD_Result s_export(http_t *self, struct MHD_Connection *c, bool csv)
{
    s_args_t a;
    if (s_parse_args(c, 1u << P_MEASURE | 1u << P_FORBUND | 1u << P_PERIOD, &a) < 0)
        return s_bad_args(self, c, &a);
    export_t e = {.measure = a.value[P_MEASURE],
                  .forbund = a.value[P_FORBUND],
                  .period = a.value[P_PERIOD] ? a.value[P_PERIOD] : "year",
                  .protect = self->protect};
    json_t *result;
    char err[QUERY_ERR_LEN];
    int rc = export_run(self->ledger, self->catalogue, &e, &result, err, sizeof err);
    if (rc)
        return s_query_error(c, rc, err);
    if (!csv)
        return s_send_json(c, MHD_HTTP_OK, result);
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        json_decref(result);
        return s_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    }
    int wrc = export_print_csv(result, f);
    json_decref(result);
    if (fclose(f) != 0 || wrc < 0) {
        free(text);
        return s_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    }
    char disposition[128];
    snprintf(disposition, sizeof disposition, "attachment; filename=\"finsam-%s.csv\"", e.period);
    return s_send(c, MHD_HTTP_OK, "text/csv; charset=utf-8", text, len, true, disposition);
}

static enum MHD_Result s_export_csv(http_t *self, struct MHD_Connection *c)
{
    return s_export(self, c, true);
}

static enum MHD_Result s_export_json(http_t *self, struct MHD_Connection *c)
{
    return s_export(self, c, false);
}

/* status_report, plus what an operator asks next: who is silent, and all
 * rejects summed by reason. */
static json_t *s_status_json(http_t *self)
{
    int64_t now = clock_wall_ms();
    json_t *report = status_report(self->ledger, now);
    if (!report)
        return NULL;
    json_t *by_reason = json_object();
    int silent = 0;
    size_t i;
    json_t *agent;
    json_array_foreach(json_object_get(report, "agents"), i, agent) {
        bool is_silent = json_integer_value(json_object_get(agent, "last_seen_age_s")) > self->silent_after_s;
        silent += is_silent;
        json_object_set_new(agent, "silent", json_boolean(is_silent));
        const char *reason;
        json_t *n;
        json_object_foreach(json_object_get(agent, "rejects"), reason, n) {
            json_int_t sum = json_integer_value(json_object_get(by_reason, reason)) + json_integer_value(n);
            json_object_set_new(by_reason, reason, json_integer(sum));
        }
    }
    json_array_foreach(json_object_get(report, "forbund"), i, agent) {
        json_int_t age = json_integer_value(json_object_get(agent, "last_seen_age_s"));
        json_object_set_new(agent, "silent", json_boolean(age > self->silent_after_s));
    }
    json_object_set_new(report, "rejects_by_reason", by_reason);
    json_object_set_new(report, "silent_agents", json_integer(silent));
    json_object_set_new(report, "silent_after_s", json_integer(self->silent_after_s));
    json_object_set_new(report, "min_units", json_integer(protect_params(self->protect)->min_count));
    json_object_set_new(report, "now_ms", json_integer(now));
    if (self->metrics) {
        metrics_t *m = self->metrics;
        int64_t started = atomic_load_explicit(&m->started_ms, memory_order_relaxed);
        json_object_set_new(report, "collector",
                            json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "uptime_s",
                                      (json_int_t) (started ? (now - started) / 1000 : 0), "last_seq",
                                      (json_int_t) metrics_get(&m->last_seq), "events_received",
                                      (json_int_t) metrics_get(&m->events_received), "events_stored",
                                      (json_int_t) metrics_get(&m->events_stored), "events_duplicate",
                                      (json_int_t) metrics_get(&m->events_duplicate), "subscribers",
                                      (json_int_t) metrics_get(&m->subscribers), "replay_sessions",
                                      (json_int_t) metrics_get(&m->replay_sessions)));
    }
    return report;
}

static enum MHD_Result s_status(http_t *self, struct MHD_Connection *c)
{
    s_args_t a;
    if (s_parse_args(c, 0, &a) < 0)
        return s_error(c, MHD_HTTP_BAD_REQUEST, "%s", a.err);
    json_t *report = s_status_json(self);
    if (!report)
        return s_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "store not readable");
    return s_send_json(c, MHD_HTTP_OK, report);
}

/* The protection in force and its public perturbation table. */
static enum MHD_Result s_protection(http_t *self, struct MHD_Connection *c)
{
    return s_send_json(c, MHD_HTTP_OK, protect_describe(self->protect));
}

static enum MHD_Result s_catalogue(http_t *self, struct MHD_Connection *c)
{
    s_args_t a;
    if (s_parse_args(c, 0, &a) < 0)
        return s_error(c, MHD_HTTP_BAD_REQUEST, "%s", a.err);
    size_t len = self->catalogue_len;
    const char *text = self->catalogue_text ? self->catalogue_text : catalogue_default_json(&len);
    return s_send(c, MHD_HTTP_OK, "application/json", (void *) text, len, false, NULL);
}

/* Prometheus label values escape backslash, quote and newline. */
static void s_label(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            fputc('\\', f);
        if (*s == '\n')
            fputs("\\n", f);
        else
            fputc(*s, f);
    }
}

static void s_metric_head(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void s_metric(FILE *f, const char *name, const char *type, const char *help, uint64_t v)
{
    s_metric_head(f, name, type, help);
    fprintf(f, "%s %llu\n", name, (unsigned long long) v);
}

static void s_metrics_counters(FILE *f, metrics_t *m)
{
    s_metric(f, "finsam_events_received_total", "counter", "Events received in batches from agents.",
             metrics_get(&m->events_received));
    s_metric(f, "finsam_events_stored_total", "counter", "Events appended to the event log.",
             metrics_get(&m->events_stored));
    s_metric(f, "finsam_events_duplicate_total", "counter", "Events already stored, acknowledged again.",
             metrics_get(&m->events_duplicate));
    s_metric_head(f, "finsam_events_rejected_total", "counter", "Events rejected, by reason.");
    for (int i = 1; i < METRICS_REJECT_SLOTS; i++) {
        const char *reason = codec_reject_name((reject_code_t) i);
        if (strcmp(reason, "unknown"))
            fprintf(f, "finsam_events_rejected_total{reason=\"%s\"} %llu\n", reason,
                    (unsigned long long) metrics_get(&m->events_rejected[i]));
    }
    s_metric(f, "finsam_batches_total", "counter", "Batches received.", metrics_get(&m->batches));
    s_metric(f, "finsam_batches_rejected_total", "counter", "Batches refused as a whole.",
             metrics_get(&m->batches_rejected));
    s_metric(f, "finsam_commits_total", "counter", "Write transactions committed.", metrics_get(&m->commits));
    s_metric(f, "finsam_commit_failures_total", "counter", "Write transactions that failed (no acks sent).",
             metrics_get(&m->commit_failures));
    s_metric_head(f, "finsam_commit_latency_seconds", "histogram",
                  "Time to store and commit one group of batches.");
    uint64_t cumulative = 0;
    for (int i = 0; i < METRICS_LATENCY_BUCKETS; i++) {
        cumulative += metrics_get(&m->commit_latency_count[i]);
        if (i == METRICS_LATENCY_BUCKETS - 1)
            fprintf(f, "finsam_commit_latency_seconds_bucket{le=\"+Inf\"} %llu\n",
                    (unsigned long long) cumulative);
        else
            fprintf(f, "finsam_commit_latency_seconds_bucket{le=\"%g\"} %llu\n",
                    (double) metrics_latency_bounds_us[i] / 1e6, (unsigned long long) cumulative);
    }
    fprintf(f, "finsam_commit_latency_seconds_sum %.6f\n",
            (double) metrics_get(&m->commit_latency_sum_us) / 1e6);
    fprintf(f, "finsam_commit_latency_seconds_count %llu\n", (unsigned long long) cumulative);
    s_metric(f, "finsam_log_last_sequence", "gauge", "Last committed event-log position.",
             metrics_get(&m->last_seq));
    s_metric(f, "finsam_stream_subscribers", "gauge", "Stream subscribers connected.",
             metrics_get(&m->subscribers));
    s_metric(f, "finsam_replay_sessions", "gauge", "Replays in progress.", metrics_get(&m->replay_sessions));
    s_metric(f, "finsam_stream_messages_total", "counter", "Messages published on the stream.",
             metrics_get(&m->stream_messages));
    int64_t started = atomic_load_explicit(&m->started_ms, memory_order_relaxed);
    s_metric_head(f, "finsam_start_time_seconds", "gauge", "When the collector started (Unix time).");
    fprintf(f, "finsam_start_time_seconds %.3f\n", (double) started / 1000);
}

static enum MHD_Result s_metrics(http_t *self, struct MHD_Connection *c)
{
    s_args_t a;
    if (s_parse_args(c, 0, &a) < 0)
        return s_error(c, MHD_HTTP_BAD_REQUEST, "%s", a.err);
    json_t *report = status_report(self->ledger, clock_wall_ms());
    if (!report)
        return s_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "store not readable");
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f) {
        json_decref(report);
        return s_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    }
    if (self->metrics)
        s_metrics_counters(f, self->metrics);
    size_t map_size, used;
    store_usage(ledger_store(self->ledger), &map_size, &used);
    s_metric(f, "finsam_lmdb_map_size_bytes", "gauge", "LMDB map size.", map_size);
    s_metric(f, "finsam_lmdb_map_used_bytes", "gauge", "LMDB map bytes in use.", used);
    s_metric(f, "finsam_events_in_log", "gauge", "Events in the event log.",
             (uint64_t) json_integer_value(json_object_get(report, "events_in_log")));
    s_metric_head(f, "finsam_agent_last_seen_age_seconds", "gauge", "Seconds since an agent's last batch.");
    size_t i;
    json_t *agent;
    json_array_foreach(json_object_get(report, "agents"), i, agent) {
        fputs("finsam_agent_last_seen_age_seconds{forbund=\"", f);
        s_label(f, json_string_value(json_object_get(agent, "forbund")));
        fputs("\",agent=\"", f);
        s_label(f, json_string_value(json_object_get(agent, "agent")));
        fprintf(f, "\"} %lld\n", (long long) json_integer_value(json_object_get(agent, "last_seen_age_s")));
    }
    json_decref(report);
    if (fclose(f) != 0) {
        free(text);
        return s_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    }
    return s_send(c, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", text, len, true, NULL);
}

/* ---- the dashboard's static files ------------------------------------- */

typedef struct {
    const char *name;
    const char *type;
    const unsigned char *data;
    const size_t *len;
} s_asset_t;

static const s_asset_t s_assets[] = {
    {"index.html", "text/html; charset=utf-8", finsam_dashboard_index_html, &finsam_dashboard_index_html_len},
    {"app.js", "text/javascript; charset=utf-8", finsam_dashboard_app_js, &finsam_dashboard_app_js_len},
    {"style.css", "text/css; charset=utf-8", finsam_dashboard_style_css, &finsam_dashboard_style_css_len},
};

static enum MHD_Result s_asset(http_t *self, struct MHD_Connection *c, const s_asset_t *a)
{
    if (!self->dashboard_dir)
        return s_send(c, MHD_HTTP_OK, a->type, (void *) a->data, *a->len, false, NULL);
    /* Development: read the file from the source tree on each request. The
     * name comes from our table, never from the URL. */
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", self->dashboard_dir, a->name);
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    size_t len = 0;
    FILE *m = f ? open_memstream(&text, &len) : NULL;
    if (m) {
        char buf[8192];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
            fwrite(buf, 1, n, m);
        fclose(m);
    }
    if (f)
        fclose(f);
    if (!text) {
        log_warn("http", "DASHBOARD-FILE-MISSING file=%s", a->name);
        return s_error(c, MHD_HTTP_NOT_FOUND, "dashboard file missing");
    }
    return s_send(c, MHD_HTTP_OK, a->type, text, len, true, NULL);
}

static enum MHD_Result s_index(http_t *self, struct MHD_Connection *c)
{
    return s_asset(self, c, &s_assets[0]);
}

static enum MHD_Result s_app_js(http_t *self, struct MHD_Connection *c)
{
    return s_asset(self, c, &s_assets[1]);
}

static enum MHD_Result s_style_css(http_t *self, struct MHD_Connection *c)
{
    return s_asset(self, c, &s_assets[2]);
}

/* ---- routing ---------------------------------------------------------- */

typedef struct {
    const char *path;
    s_handler_fn fn;
    bool open; /* answered without a token: no data behind it */
} s_route_t;

static const s_route_t s_routes[] = {
    {"/healthz", s_healthz, true},
    {"/readyz", s_readyz, false},
    {"/metrics", s_metrics, false},
    {"/api/indicators", s_indicators, false},
    {"/api/status", s_status, false},
    {"/api/catalogue", s_catalogue, false},
    {"/api/protection", s_protection, false},
    {"/export.csv", s_export_csv, false},
    {"/export.json", s_export_json, false},
    {"/", s_index, true},
    {"/index.html", s_index, true},
    {"/app.js", s_app_js, true},
    {"/style.css", s_style_css, true},
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
    /* Answered at once: we take no bodies, and a GET or HEAD needs none. */
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
        return s_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD");
    if (!route)
        return s_error(c, MHD_HTTP_NOT_FOUND, "no such path");
    if (!route->open && !s_authorized(self, c)) {
        log_warn("http", "UNAUTHORIZED path=%s", route->path);
        return s_error(c, MHD_HTTP_UNAUTHORIZED, "bearer token required");
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
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    FILE *m = open_memstream(&self->catalogue_text, &self->catalogue_len);
    if (m) {
        char buf[8192];
        size_t n;
        while ((n = fread(buf, 1, sizeof buf, f)) > 0)
            fwrite(buf, 1, n, m);
        fclose(m);
    }
    fclose(f);
    if (!self->catalogue_text) {
        snprintf(err, errlen, "%s: cannot read", path);
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
    free(self->dashboard_dir);
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
