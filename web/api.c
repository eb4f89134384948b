/* api.c: the JSON API and the probes — /healthz, /readyz,
 * /api/indicators, /api/status, /api/catalogue, /api/protection and the
 * exports /export.csv and /export.json (routed by http.c).
 *
 * Every number goes through query_run (exports through export_run, which
 * runs it per slice), so disclosure control applies here exactly as in
 * finsamctl. Each request opens its own read transaction there; nothing
 * here writes. The answers of /api/indicators are kept (cache.h) and
 * sent again while what they depend on stays the same: the publication,
 * the cells not yet published, the catalogue (query_version,
 * http_catalogue); the bytes are those a fresh query gives. The exports
 * are not kept: each says when it was made. */
#include "api.h"

#include "answer.h"
#include "export.h"
#include "log.h"
#include "params.h"
#include "query.h"
#include "status.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The catalogue with the förbund registry as it is now (registry.h). */
static const catalogue_t *s_cat(http_t *self)
{
    return http_catalogue(self);
}

/* ---- answers kept for repeated requests (cache.h) ---------------------- */

/* What a kept answer of /api/indicators is checked against: the epoch
 * (the publication and the catalogue; a new one drops every kept answer)
 * and the version of the answer itself (the unpublished cells of its
 * measures, query.h). The protection is the collector's for its
 * lifetime. */
typedef struct {
    uint64_t seq, at_ms, waiting; /* query_version_t's publication */
    uint64_t catalogue;           /* http_catalogue's generation */
} s_epoch_t;

static s_epoch_t s_epoch(const http_t *self, const query_version_t *v)
{
    return (s_epoch_t){v->seq, v->at_ms, v->waiting, self->catalogue_generation};
}

/* The request's key: the route and each parameter as the query sees it
 * (params.c: 1 to 64 bytes of a charset without '\n'; NULL is empty). */
static void s_key(char *out, size_t outlen, const char *route, const char *const *values, int n)
{
    size_t used = (size_t) snprintf(out, outlen, "%s", route);
    for (int i = 0; i < n && used < outlen; i++)
        used += (size_t) snprintf(out + used, outlen - used, "\n%s", values[i] ? values[i] : "");
}

/* Queues the answer kept under key for version v, if there is one. */
static bool s_cached(http_t *self, struct MHD_Connection *c, const query_version_t *v, const char *key,
                     enum MHD_Result *rc)
{
    s_epoch_t epoch = s_epoch(self, v);
    cache_set_epoch(self->cache, &epoch, sizeof epoch);
    struct MHD_Response *r = cache_get(self->cache, key, v->unpublished, sizeof v->unpublished);
    if (!r)
        return false;
    *rc = MHD_queue_response(c, MHD_HTTP_OK, r);
    return true;
}

/* Sends body (taken, len bytes of JSON) as the 200 answer, and keeps it
 * under key if `of` (NULL: none) is the version it is of. */
static enum MHD_Result s_send_kept(http_t *self, struct MHD_Connection *c, const query_version_t *of,
                                   const char *key, char *body, size_t len)
{
    struct MHD_Response *r = answer_response(MHD_HTTP_OK, "application/json", body, len, true, NULL);
    if (!r)
        return MHD_NO;
    enum MHD_Result rc = MHD_queue_response(c, MHD_HTTP_OK, r);
    if (of && rc == MHD_YES && self->cache) {
        /* A newer epoch than the lookup's drops the answers of that. */
        s_epoch_t epoch = s_epoch(self, of);
        cache_set_epoch(self->cache, &epoch, sizeof epoch);
        if (cache_put(self->cache, key, of->unpublished, sizeof of->unpublished, r, len) == 0)
            return rc;
    }
    MHD_destroy_response(r);
    return rc;
}

enum MHD_Result api_healthz(http_t *self, struct MHD_Connection *c)
{
    (void) self;
    return answer_json(c, MHD_HTTP_OK, json_pack("{s:s}", "status", "ok"));
}

enum MHD_Result api_readyz(http_t *self, struct MHD_Connection *c)
{
    MDB_txn *txn;
    int rc = store_read(ledger_store(self->ledger), &txn);
    if (rc) {
        log_warn("http", "NOT-READY reason=%s", store_strerror(rc));
        return answer_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "store not readable: %s", store_strerror(rc));
    }
    store_read_end(ledger_store(self->ledger), txn);
    return answer_json(c, MHD_HTTP_OK, json_pack("{s:s}", "status", "ready"));
}

/* Served from the cache while the publication, the cells and the
 * catalogue stay as they were; computed and kept otherwise. */
enum MHD_Result api_indicators(http_t *self, struct MHD_Connection *c)
{
    const catalogue_t *cat = s_cat(self);
    params_t a;
    if (params_parse(c, PARAMS_INDICATORS, &a) < 0)
        return params_refuse(c, cat, &a);
    query_t q = params_indicators_query(&a, self->protect);
    char key[512];
    const char *values[] = {q.measure, q.forbund, q.period, q.slice};
    s_key(key, sizeof key, "/api/indicators", values, 4);
    query_version_t v;
    enum MHD_Result sent;
    if (self->cache && query_version(self->ledger, cat, &q, self->memo, &v) == 0 &&
        s_cached(self, c, &v, key, &sent))
        return sent;
    json_t *result;
    char err[QUERY_ERR_LEN];
    fin_err_t rc;
    query_version_t of;
    bool stable = false;
    if (self->cache) /* computed, with the version it is of (read in its own snapshot) */
        rc = query_run_versioned(self->ledger, cat, &q, self->memo, &result, &of, &stable, err, sizeof err);
    else
        rc = query_run(self->ledger, cat, &q, &result, err, sizeof err);
    if (rc)
        return answer_fail(c, rc, err);
    char *text = json_dumps(result, JSON_COMPACT);
    json_decref(result);
    if (!text)
        return answer_json(c, MHD_HTTP_OK, NULL); /* out of memory: answer_json says so */
    return s_send_kept(self, c, stable ? &of : NULL, key, text, strlen(text));
}

static enum MHD_Result s_export(http_t *self, struct MHD_Connection *c, bool csv)
{
    /* Not kept: an export says when it was made (exported_at). */
    const catalogue_t *cat = s_cat(self);
    params_t a;
    if (params_parse(c, 1u << PARAMS_MEASURE | 1u << PARAMS_FORBUND | 1u << PARAMS_PERIOD, &a) < 0)
        return params_refuse(c, cat, &a);
    export_t e = {.measure = a.value[PARAMS_MEASURE],
                  .forbund = a.value[PARAMS_FORBUND],
                  .period = a.value[PARAMS_PERIOD] ? a.value[PARAMS_PERIOD] : "year",
                  .protect = self->protect};
    json_t *result;
    char err[QUERY_ERR_LEN];
    fin_err_t rc = export_run(self->ledger, cat, &e, &result, err, sizeof err);
    if (rc)
        return answer_fail(c, rc, err);
    if (!csv)
        return answer_json(c, MHD_HTTP_OK, result);
    answer_stream_t body;
    if (answer_stream_open(&body) < 0) {
        json_decref(result);
        return answer_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    }
    int wrc = export_print_csv(result, body.f);
    json_decref(result);
    char disposition[128];
    snprintf(disposition, sizeof disposition, "attachment; filename=\"finsam-%s.csv\"", e.period);
    return answer_stream_send(c, &body, wrc >= 0, "text/csv; charset=utf-8", disposition);
}

enum MHD_Result api_export_csv(http_t *self, struct MHD_Connection *c)
{
    return s_export(self, c, true);
}

enum MHD_Result api_export_json(http_t *self, struct MHD_Connection *c)
{
    return s_export(self, c, false);
}

/* Each förbund of the status gets its registered "name" and "lan"
 * (registry.h; the list a dashboard reader picks from), and a registered
 * förbund no agent has reported for yet is listed too, with zero counts
 * and last_seen_age_s -1, so a förbund that never started shows. */
static void s_status_registry(json_t *report, const catalogue_t *cat)
{
    json_t *list = json_object_get(report, "forbund");
    for (int k = 0; cat && k < cat->nforbund; k++) {
        const cat_forbund_t *reg = &cat->forbund[k];
        json_t *f = NULL, *e;
        size_t i;
        json_array_foreach(list, i, e) {
            if (!strcmp(json_string_value(json_object_get(e, "forbund")), reg->code))
                f = e;
        }
        if (!f) {
            f = json_pack("{s:s,s:I,s:I,s:I,s:i,s:I}", "forbund", reg->code, "events_stored", (json_int_t) 0,
                          "rejected", (json_int_t) 0, "queued_at_site", (json_int_t) 0, "agents", 0,
                          "last_seen_age_s", (json_int_t) -1);
            json_array_append_new(list, f);
        }
        json_object_set_new(f, "name", json_string(reg->name ? reg->name : reg->code));
        json_object_set_new(f, "lan", json_string(reg->lan ? reg->lan : ""));
    }
}

/* status_report, plus what an operator asks next: which agent is which
 * (certificate name, file, fingerprint), who is silent, and all rejects
 * summed by reason. */
static json_t *s_status_json(http_t *self)
{
    int64_t now = clock_wall_ms();
    json_t *report = status_report(self->ledger, now);
    if (!report)
        return NULL;
    status_name_agents(report, self->allow_dir);
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
    s_status_registry(report, s_cat(self));
    json_array_foreach(json_object_get(report, "forbund"), i, agent) {
        json_int_t age = json_integer_value(json_object_get(agent, "last_seen_age_s"));
        /* Never heard from (age -1) is as silent as it gets. */
        json_object_set_new(agent, "silent", json_boolean(age < 0 || age > self->silent_after_s));
    }
    json_object_set_new(report, "rejects_by_reason", by_reason);
    json_object_set_new(report, "silent_agents", json_integer(silent));
    json_object_set_new(report, "silent_after_s", json_integer(self->silent_after_s));
    json_object_set_new(report, "min_units", json_integer(protect_params(self->protect)->min_count));
    json_object_set_new(report, "now_ms", json_integer(now));
    if (self->metrics) {
        metrics_t *m = self->metrics;
        int64_t started = atomic_load_explicit(&m->started_ms, memory_order_relaxed);
        /* Read once each: the lag must not mix two moments. */
        uint64_t last_seq = metrics_get(&m->last_seq), cells_seq = metrics_get(&m->cells_seq);
        json_object_set_new(report, "collector",
                            json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}", "uptime_s",
                                      (json_int_t) (started ? (now - started) / 1000 : 0), "last_seq",
                                      (json_int_t) last_seq, "cells_seq", (json_int_t) cells_seq,
                                      "aggregation_lag",
                                      (json_int_t) (last_seq > cells_seq ? last_seq - cells_seq : 0),
                                      "events_received", (json_int_t) metrics_get(&m->events_received),
                                      "events_stored", (json_int_t) metrics_get(&m->events_stored),
                                      "events_duplicate", (json_int_t) metrics_get(&m->events_duplicate),
                                      "subscribers", (json_int_t) metrics_get(&m->subscribers),
                                      "replay_sessions", (json_int_t) metrics_get(&m->replay_sessions)));
    }
    return report;
}

enum MHD_Result api_status(http_t *self, struct MHD_Connection *c)
{
    params_t a;
    if (params_parse(c, 0, &a) < 0)
        return answer_error(c, MHD_HTTP_BAD_REQUEST, "%s", a.err);
    json_t *report = s_status_json(self);
    if (!report)
        return answer_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "store not readable");
    return answer_json(c, MHD_HTTP_OK, report);
}

/* The protection in force and its public perturbation table. */
enum MHD_Result api_protection(http_t *self, struct MHD_Connection *c)
{
    return answer_json(c, MHD_HTTP_OK, protect_describe(self->protect));
}

enum MHD_Result api_catalogue(http_t *self, struct MHD_Connection *c)
{
    params_t a;
    if (params_parse(c, 0, &a) < 0)
        return answer_error(c, MHD_HTTP_BAD_REQUEST, "%s", a.err);
    size_t len = self->catalogue_len;
    const char *text = self->catalogue_text ? self->catalogue_text : catalogue_default_json(&len);
    return answer_send(c, MHD_HTTP_OK, "application/json", (void *) text, len, false, NULL);
}
