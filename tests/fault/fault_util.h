/* fault_util.h: what the fault tests share on top of tests/e2e/cluster.h —
 * quick/long variants, a seeded random source that can be replayed,
 * generated JSONL rows, agent counters, /proc memory readings, a collector
 * started under a file-size limit, and event ids read back from the log.
 *
 * Every fault test runs its quick variant by default (CI, every change);
 * FINSAM_FAULT_LONG=1 switches to the long one. FINSAM_FAULT_SEED=N replays
 * a run's random choices (each test prints the seed it used). */
#ifndef FINSAM_TEST_FAULT_UTIL_H
#define FINSAM_TEST_FAULT_UTIL_H

#include "cluster.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

/* True when FINSAM_FAULT_LONG=1. */
bool fault_long(void);
/* quick or long, by fault_long(). */
long fault_pick(long quick, long long_);

/* Seeds the random source from FINSAM_FAULT_SEED or the clock and prints
 * the seed; fault_rand(n) is then uniform in [0, n). The first call also
 * makes the test kill its remaining child processes at exit, so a failed
 * CHECK leaves nothing running. */
void fault_seed(const char *test);
long fault_rand(long n);

/* Monotonic milliseconds. */
int64_t fault_now_ms(void);

/* A /proc/PID/status field in KiB ("VmRSS", "RssAnon", "RssFile"), or -1. */
long fault_proc_kib(pid_t pid, const char *field);

/* Appends n `status` rows for persons first..first+n-1 (distinct, valid
 * personnummer, dates in 2025) to f, with the given occupation. The same
 * person with another occupation is a correction of the earlier row. */
void fault_write_status_rows(FILE *f, long first, long n, const char *occupation);
/* The same into a new file at path; returns path's row count n. */
long fault_write_jsonl(const char *path, long first, long n, const char *occupation);

/* `finsam-agent status` counters of an agent directory. */
typedef struct {
    long long queued, rejected, known;
} fault_agent_counts_t;
fault_agent_counts_t fault_agent_counts(const cluster_t *c, const char *agent_dir);

/* Starts the collector like cluster_start_collector, but with RLIMIT_FSIZE
 * = fsize_limit bytes when fsize_limit > 0 (SIGXFSZ ignored, so a write past
 * the limit fails with EFBIG like a full disk), its output to log, and waits
 * until it has bound. */
void fault_start_collector_limited(cluster_t *c, long long fsize_limit, const char *log);

/* Spawns argv (like tu_spawn) with RLIMIT_FSIZE = fsize_limit and SIGXFSZ
 * ignored. */
pid_t fault_spawn_limited(char *const argv[], const char *log_path, long long fsize_limit);

/* Subscriber key with access "all" on the collector's list; writes its path
 * (public part; the secret is PATH_secret) into out. */
void fault_subscriber_key(cluster_t *c, char *out, size_t outlen);

/* Starts `finsamctl tail --from FROM --count COUNT --format json` with the
 * subscriber key `key` (see fault_subscriber_key), output to out_path. */
pid_t fault_tail_spawn(cluster_t *c, const char *key, long from, long count, const char *out_path);

/* Replays the whole log (n events) through `finsamctl tail` and checks that
 * every sequence 1..n appears once and every event id is distinct. Writes
 * up to `max_ids` ids (32 hex digits + NUL each) of events of förbund
 * `forbund` into ids if not NULL; returns how many it wrote. */
long fault_check_log(cluster_t *c, const char *key, long n, const char *forbund, char (*ids)[33],
                     long max_ids);

/* The check of fault_check_log on a file `finsamctl tail --format json`
 * wrote: sequences 1..n each once, ids distinct. */
long fault_check_tail_file(const char *path, long n, const char *forbund, char (*ids)[33], long max_ids);

/* File size in bytes, or -1. */
long long fault_file_size(const char *path);

/* Occurrences of `needle` in the file at path. */
long fault_count_in_file(const char *path, const char *needle);

#endif
