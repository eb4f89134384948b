/* fault_outage_test.c: the collector is unreachable for a long stretch
 * while the agent keeps importing (quick: 100k events, long: 500k); `run`
 * waits the whole time. Then the collector comes up and the backlog is
 * delivered: every event exactly once, and the agent's memory stays flat
 * while it drains. Memory is sampled from /proc/PID/status every 100 ms:
 * RssAnon (the agent's own heap and stacks) must stay under 64 MiB and not
 * grow with the backlog; VmRSS also counts the outbox pages LMDB maps from
 * the file (page cache, reclaimable) and is reported.
 *
 * While the backlog pours in (heavy ingest), a subscriber that never reads
 * sits on the event stream and another replays the whole log from
 * sequence 1 (`finsamctl tail --from 1`): ingest keeps going, the replay
 * gets every sequence exactly once, and the collector's memory stays
 * bounded (RssAnon under 128 MiB).
 *
 * One case: a scenario whose steps depend on each other. */
#include "fault_util.h"
#include "testutil.h"

#include <czmq.h>
#include <signal.h>
#include <unistd.h>

typedef struct {
    long max_anon, min_anon, max_rss, samples;
} s_mem_t;

static void s_sample(pid_t pid, s_mem_t *m)
{
    long anon = fault_proc_kib(pid, "RssAnon"), rss = fault_proc_kib(pid, "VmRSS");
    if (anon < 0 || rss < 0)
        return; /* exited between two samples */
    if (m->samples == 0 || anon < m->min_anon)
        m->min_anon = anon;
    if (anon > m->max_anon)
        m->max_anon = anon;
    if (rss > m->max_rss)
        m->max_rss = rss;
    m->samples++;
}

#if defined(__SANITIZE_ADDRESS__)
#define S_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define S_ASAN 1
#endif
#endif

static void test_outage_then_drain(void)
{
#ifdef S_ASAN
    /* AddressSanitizer keeps freed memory in a 256 MiB quarantine, which
     * would look like growth; a small one keeps the measurement honest. */
    char opts[512];
    const char *old = getenv("ASAN_OPTIONS");
    snprintf(opts, sizeof opts, "%s%squarantine_size_mb=4", old ? old : "", old && *old ? ":" : "");
    setenv("ASAN_OPTIONS", opts, 1);
#endif
    fault_seed("fault_outage_test");
    int64_t t0 = fault_now_ms();
    const long rows = fault_pick(100000, 500000), chunk = 10000;
    cluster_t c;
    cluster_init(&c);
    char agent[320], key[320], file[400];
    fault_subscriber_key(&c, key, sizeof key);
    cluster_add_agent(&c, "nv", "NV", true, agent, sizeof agent);
    /* The agent runs before its collector exists and keeps waiting. */
    const char *run[] = {"run", "--exit-when-empty", "--ack-timeout-ms", "2000", NULL};
    pid_t pid = cluster_agent_spawn(&c, agent, run);
    s_mem_t outage = {0}, drain = {0};
    for (long first = 0; first < rows; first += chunk) {
        snprintf(file, sizeof file, "%s/chunk.jsonl", c.dir);
        fault_write_jsonl(file, first, chunk, "work");
        const char *args[] = {"import", file, NULL};
        CHECK_EQ(cluster_agent(&c, agent, 120000, args), 0);
        s_sample(pid, &outage);
        CHECK_EQ(tu_wait(pid, 0), -1); /* still waiting, not failed */
    }
    int64_t t_outage = fault_now_ms() - t0;
    fault_agent_counts_t n = fault_agent_counts(&c, agent);
    CHECK_EQ(n.queued, rows);
    char outbox[400];
    snprintf(outbox, sizeof outbox, "%s/outbox/data.mdb", agent);
    long long outbox_bytes = fault_file_size(outbox);
    fprintf(stderr, "outage: %lld events queued (outbox %lld MiB), agent RssAnon %ld KiB, VmRSS %ld KiB\n",
            n.queued, outbox_bytes >> 20, outage.max_anon, outage.max_rss);

    cluster_start_collector(&c);
    int64_t t1 = fault_now_ms();
    /* A stuck subscriber and a full replay, during the drain. */
    char replay[400];
    zsock_t *stuck = cluster_subscriber(&c, key, c.stream_events, NULL, true);
    snprintf(replay, sizeof replay, "%s/replay.json", c.dir);
    pid_t tail = fault_tail_spawn(&c, key, 1, rows, replay);
    s_mem_t coll = {0};
    int rc;
    while ((rc = tu_wait(pid, 0)) == -1) {
        CHECK(fault_now_ms() - t1 < 600000);
        s_sample(pid, &drain);
        s_sample(c.collector, &coll);
        cluster_subscribe(stuck, NULL); /* renewed, never read */
        usleep(100000);
    }
    CHECK_EQ(rc, 0);
    int trc = tu_wait(tail, 300000);
    if (trc == -1)
        tu_kill(tail, SIGKILL);
    CHECK_EQ(trc, 0);
    fault_check_tail_file(replay, rows, NULL, NULL, 0);
    zsock_destroy(&stuck);
    fprintf(stderr,
            "collector during the drain, with a stuck subscriber and a full replay: RssAnon max %ld KiB, "
            "VmRSS max %ld KiB\n",
            coll.max_anon, coll.max_rss);
    CHECK(coll.max_anon > 0 && coll.max_anon < 128 * 1024);
    double drain_s = (double) (fault_now_ms() - t1) / 1000.0;
    fprintf(stderr, "drain: %.1f s, %ld samples, agent RssAnon %ld..%ld KiB, VmRSS max %ld KiB\n", drain_s,
            drain.samples, drain.min_anon, drain.max_anon, drain.max_rss);
    CHECK(drain.samples >= 3);
    CHECK(drain.max_anon < 64 * 1024);
    /* Flat: draining adds nothing per queued event (the heap holds one
     * batch and the window, whatever the backlog). */
    CHECK(drain.max_anon - drain.min_anon < 16 * 1024);
    n = fault_agent_counts(&c, agent);
    CHECK_EQ(n.queued, 0);
    CHECK_EQ(n.rejected, 0);
    CHECK_EQ(cluster_events_in_log(&c), rows);
    CHECK_EQ(cluster_rebuild_verify(&c), 0);
    fault_check_log(&c, key, rows, NULL, NULL, 0);
    cluster_stop_collector(&c, SIGTERM);
    fprintf(
        stderr,
        "FIGURES fault_outage: events=%ld outage_s=%.1f outbox_mib=%lld drain_s=%.1f events_per_s=%.0f "
        "agent_rss_anon_kib=%ld..%ld agent_vmrss_max_kib=%ld collector_rss_anon_max_kib=%ld lost=0 doubled=0 "
        "seconds=%.1f\n",
        rows, (double) t_outage / 1000.0, outbox_bytes >> 20, drain_s, (double) rows / drain_s,
        drain.min_anon, drain.max_anon, drain.max_rss, coll.max_anon,
        (double) (fault_now_ms() - t0) / 1000.0);
}

static const test_case_t s_cases[] = {
    {"a long outage, then the backlog drains", test_outage_then_drain},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
