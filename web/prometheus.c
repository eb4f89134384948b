/* prometheus.c: GET /metrics, the Prometheus text exposition format
 * (version 0.0.4): the ingest counters and the commit-latency histogram
 * from metrics.h, the store's map use, and every agent's last-seen age
 * from status_report.
 *
 * The counters are atomics read without a lock, so a scrape never waits
 * for the ingest loop; each number is exact on its own, not a snapshot of
 * all of them together. Label values are escaped; no indicator value is
 * exposed here. */
#include "prometheus.h"

#include "answer.h"
#include "codec.h"
#include "params.h"
#include "status.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    s_metric(f, "finsam_cells_sequence", "gauge", "Last event-log position the indicator cells reflect.",
             metrics_get(&m->cells_seq));
    uint64_t last = metrics_get(&m->last_seq), cells = metrics_get(&m->cells_seq);
    s_metric(f, "finsam_aggregation_lag_events", "gauge",
             "Events in the log not yet in the indicator cells (last_sequence - cells_sequence).",
             last > cells ? last - cells : 0);
    s_metric(f, "finsam_stream_subscribers", "gauge", "Stream subscribers connected.",
             metrics_get(&m->subscribers));
    s_metric(f, "finsam_replay_sessions", "gauge", "Replays in progress.", metrics_get(&m->replay_sessions));
    s_metric(f, "finsam_stream_messages_total", "counter", "Messages published on the stream.",
             metrics_get(&m->stream_messages));
    int64_t started = atomic_load_explicit(&m->started_ms, memory_order_relaxed);
    s_metric_head(f, "finsam_start_time_seconds", "gauge", "When the collector started (Unix time).");
    fprintf(f, "finsam_start_time_seconds %.3f\n", (double) started / 1000);
}

enum MHD_Result prometheus_metrics(http_t *self, struct MHD_Connection *c)
{
    params_t a;
    if (params_parse(c, 0, &a) < 0)
        return answer_error(c, MHD_HTTP_BAD_REQUEST, "%s", a.err);
    json_t *report = status_report(self->ledger, clock_wall_ms());
    if (!report)
        return answer_error(c, MHD_HTTP_SERVICE_UNAVAILABLE, "store not readable");
    answer_stream_t body;
    if (answer_stream_open(&body) < 0) {
        json_decref(report);
        return answer_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    }
    FILE *f = body.f;
    if (self->metrics)
        s_metrics_counters(f, self->metrics);
    size_t map_size, used;
    store_usage(ledger_store(self->ledger), &map_size, &used);
    s_metric(f, "finsam_lmdb_map_size_bytes", "gauge", "LMDB map size.", map_size);
    s_metric(f, "finsam_lmdb_map_used_bytes", "gauge", "LMDB map bytes in use.", used);
    s_metric(f, "finsam_events_in_log", "gauge", "Events in the event log.",
             (uint64_t) json_integer_value(json_object_get(report, "events_in_log")));
    if (self->cache) {
        cache_stats_t cs = cache_stats(self->cache);
        s_metric(f, "finsam_http_cache_hits_total", "counter", "API answers sent again from the cache.",
                 cs.hits);
        s_metric(f, "finsam_http_cache_misses_total", "counter", "API answers computed (not in the cache).",
                 cs.misses);
        s_metric(f, "finsam_http_cache_entries", "gauge", "API answers kept.", cs.entries);
        s_metric(f, "finsam_http_cache_bytes", "gauge", "Bytes of API answers kept.", cs.bytes);
    }
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
    return answer_stream_send(c, &body, true, "text/plain; version=0.0.4; charset=utf-8", NULL);
}
