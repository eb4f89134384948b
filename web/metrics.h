/* metrics.h: process-wide counters the ingest loop updates and the HTTP
 * thread reads (Prometheus /metrics, status API). Plain C11 atomics with
 * relaxed ordering: each number is exact on its own, and a scrape needs no
 * lock on the ingest path. One instance lives in server_t. */
#ifndef FINSAM_METRICS_H
#define FINSAM_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#define METRICS_REJECT_SLOTS 16
/* Commit latency histogram upper bounds in microseconds (last is +Inf). */
#define METRICS_LATENCY_BUCKETS 12
static const uint64_t metrics_latency_bounds_us[METRICS_LATENCY_BUCKETS] = {
    250, 500, 1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 512000, UINT64_MAX};

typedef struct {
    atomic_uint_fast64_t events_received;
    atomic_uint_fast64_t events_stored;
    atomic_uint_fast64_t events_duplicate;
    atomic_uint_fast64_t events_rejected[METRICS_REJECT_SLOTS]; /* by RejectCode */
    atomic_uint_fast64_t batches;
    atomic_uint_fast64_t batches_rejected;
    atomic_uint_fast64_t commits;
    atomic_uint_fast64_t commit_failures;
    atomic_uint_fast64_t commit_latency_count[METRICS_LATENCY_BUCKETS]; /* not cumulative */
    atomic_uint_fast64_t commit_latency_sum_us;
    atomic_uint_fast64_t map_size_bytes;
    atomic_uint_fast64_t map_used_bytes;
    atomic_uint_fast64_t last_seq;        /* last committed log position */
    atomic_uint_fast64_t cells_seq;       /* last log position the cells reflect (aggregator.h) */
    atomic_uint_fast64_t subscribers;     /* stream subscribers connected */
    atomic_uint_fast64_t replay_sessions; /* replays in progress */
    atomic_uint_fast64_t stream_messages; /* messages published */
    atomic_int_fast64_t started_ms;
} metrics_t;

static inline void metrics_add(atomic_uint_fast64_t *counter, uint64_t n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

static inline uint64_t metrics_get(atomic_uint_fast64_t *counter)
{
    return atomic_load_explicit(counter, memory_order_relaxed);
}

static inline void metrics_set(atomic_uint_fast64_t *counter, uint64_t v)
{
    atomic_store_explicit(counter, v, memory_order_relaxed);
}

static inline void metrics_observe_commit(metrics_t *m, uint64_t us)
{
    int i = 0;
    while (i < METRICS_LATENCY_BUCKETS - 1 && us > metrics_latency_bounds_us[i])
        i++;
    metrics_add(&m->commit_latency_count[i], 1);
    metrics_add(&m->commit_latency_sum_us, us);
    metrics_add(&m->commits, 1);
}

#endif
