/* fault_diskfull_test.c: full maps and full disks.
 *
 * Map full: collector and agent start with a 1 MiB LMDB map
 * (FINSAM_STORE_INITIAL_MAP_MB=1, see store/store.c); they grow it many
 * times under load and lose nothing. Disk full: the collector runs under
 * RLIMIT_FSIZE (SIGXFSZ ignored, so growing the file fails with EFBIG
 * exactly as on a full filesystem; the ledger's file is allocated to its
 * map size, store.h STORE_WRITEMAP, so the limit bites when the map must
 * grow, and the test starts from a 1 MiB map to get there soon). Ingest
 * then stops acknowledging (COMMIT-FAILED
 * in the log, the agent's queue stops shrinking, nothing new in the log),
 * and resumes once the limit is lifted — first on the running collector
 * (space comes back), else after a restart — with nothing corrupted or lost.
 * The agent outbox under the same limit: an import fails with exit 74 and
 * stores nothing; the same import without the limit stores every row. */
#include "fault_util.h"
#include "testutil.h"

#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void test_map_full_grows(void)
{
    fault_seed("fault_diskfull_test map-full");
    int64_t t0 = fault_now_ms();
    const long events = fault_pick(30000, 300000);
    setenv("FINSAM_STORE_INITIAL_MAP_MB", "1", 1);
    cluster_t c;
    cluster_init(&c);
    char agent[320], key[320], n_events[24];
    fault_subscriber_key(&c, key, sizeof key);
    cluster_add_agent(&c, "nv", "NV", true, agent, sizeof agent);
    snprintf(n_events, sizeof n_events, "%ld", events);
    const char *fill[] = {"demo", "--events", n_events, "--no-send", "--log-level", "info", NULL};
    CHECK_EQ(cluster_agent(&c, agent, 300000, fill), 0);
    cluster_start_collector(&c);
    const char *run[] = {"run", "--exit-when-empty", NULL};
    CHECK_EQ(cluster_agent(&c, agent, 600000, run), 0);
    fault_agent_counts_t n = fault_agent_counts(&c, agent);
    CHECK_EQ(n.queued, 0);
    CHECK_EQ(n.rejected, 0);
    CHECK_EQ(cluster_events_in_log(&c), n.known);
    CHECK_EQ(cluster_rebuild_verify(&c), 0);
    fault_check_log(&c, key, (long) n.known, NULL, NULL, 0);
    cluster_stop_collector(&c, SIGTERM);
    char alog[400];
    snprintf(alog, sizeof alog, "%s.log", agent);
    long cgrow = fault_count_in_file(c.log, "MAP-GROWN"), agrow = fault_count_in_file(alog, "MAP-GROWN");
    CHECK(cgrow >= 3);
    CHECK(agrow >= 3);
    unsetenv("FINSAM_STORE_INITIAL_MAP_MB");
    fprintf(
        stderr,
        "FIGURES fault_diskfull map-full: events=%lld initial_map_mib=1 collector_grows=%ld agent_grows=%ld "
        "lost=0 doubled=0 seconds=%.1f\n",
        n.known, cgrow, agrow, (double) (fault_now_ms() - t0) / 1000.0);
}

static bool s_commit_failed(void *path)
{
    return fault_count_in_file(path, "COMMIT-FAILED") > 0;
}

static void test_disk_full_collector(void)
{
    fault_seed("fault_diskfull_test collector");
    int64_t t0 = fault_now_ms();
    const long first = 5000, more = fault_pick(20000, 100000);
    /* The ledger's file is its whole map, allocated (store.h,
     * STORE_WRITEMAP): from a 1 MiB map it is a few MiB here, and the
     * next doubling is what the limit below refuses. */
    setenv("FINSAM_STORE_INITIAL_MAP_MB", "1", 1);
    cluster_t c;
    cluster_init(&c);
    char agent[320], key[320], file[400], ledger[400], flog[400];
    fault_subscriber_key(&c, key, sizeof key);
    cluster_add_agent(&c, "nv", "NV", true, agent, sizeof agent);
    snprintf(ledger, sizeof ledger, "%s/ledger/data.mdb", c.cdir);
    snprintf(flog, sizeof flog, "%s/collector-full.log", c.dir);
    /* Some history on a disk with room. */
    snprintf(file, sizeof file, "%s/first.jsonl", c.dir);
    fault_write_jsonl(file, 0, first, "work");
    const char *imp1[] = {"import", file, NULL};
    CHECK_EQ(cluster_agent(&c, agent, 60000, imp1), 0);
    cluster_start_collector(&c);
    const char *drain[] = {"run", "--exit-when-empty", NULL};
    CHECK_EQ(cluster_agent(&c, agent, 60000, drain), 0);
    cluster_stop_collector(&c, SIGTERM);

    /* The disk fills: the ledger may grow by 4 MiB more, less than the
     * next doubling of its map and far less than the next import needs. */
    long long size = fault_file_size(ledger);
    CHECK(size > 0);
    snprintf(file, sizeof file, "%s/more.jsonl", c.dir);
    fault_write_jsonl(file, first, more, "work");
    const char *imp2[] = {"import", file, NULL};
    CHECK_EQ(cluster_agent(&c, agent, 120000, imp2), 0);
    fault_start_collector_limited(&c, size + (4 << 20), flog);
    const char *run[] = {"run", "--exit-when-empty", "--ack-timeout-ms", "1000", NULL};
    pid_t pid = cluster_agent_spawn(&c, agent, run);
    CHECK(tu_wait_for(s_commit_failed, flog, 60000));
    /* Stopped acknowledging. Small commits may still fit for a while
     * (LMDB reuses freed pages inside the file), so wait until 3 s pass
     * with nothing leaving the queue and nothing added to the log, while
     * the collector stays up. */
    long long q1 = -1, l1 = -1, q2 = fault_agent_counts(&c, agent).queued, l2 = cluster_events_in_log(&c);
    int64_t give_up = fault_now_ms() + 120000;
    while ((q1 != q2 || l1 != l2) && fault_now_ms() < give_up) {
        q1 = q2;
        l1 = l2;
        usleep(3000000);
        q2 = fault_agent_counts(&c, agent).queued;
        l2 = cluster_events_in_log(&c);
    }
    fprintf(stderr,
            "disk full: queue %lld -> %lld, log %lld -> %lld over 3 s; ledger %lld bytes (limit %lld)\n", q1,
            q2, l1, l2, fault_file_size(ledger), size + (4 << 20));
    CHECK(q2 > 0);
    CHECK_EQ(q1, q2);
    CHECK_EQ(l1, l2);
    CHECK_EQ(tu_wait(c.collector, 0), -1);
    CHECK_EQ(cluster_rebuild_verify(&c), 0); /* nothing corrupted meanwhile */
    long failed = fault_count_in_file(flog, "COMMIT-FAILED");

    /* Space returns under the running collector. */
    struct rlimit rl;
    CHECK(prlimit(c.collector, RLIMIT_FSIZE, NULL, &rl) == 0);
    rl.rlim_cur = rl.rlim_max;
    CHECK(prlimit(c.collector, RLIMIT_FSIZE, &rl, NULL) == 0);
    int rc = tu_wait(pid, 30000);
    bool resumed_live = rc == 0;
    if (!resumed_live) {
        /* It did not recover by itself: a restart must. */
        fprintf(stderr, "the running collector did not resume after space returned; restarting it\n%s\n",
                tu_read_file(flog));
        cluster_stop_collector(&c, SIGKILL);
        CHECK_EQ(cluster_rebuild_verify(&c), 0);
        cluster_start_collector(&c);
        rc = tu_wait(pid, 120000);
    }
    CHECK_EQ(rc, 0);
    fault_agent_counts_t n = fault_agent_counts(&c, agent);
    CHECK_EQ(n.queued, 0);
    CHECK_EQ(n.rejected, 0);
    CHECK_EQ(n.known, first + more);
    CHECK_EQ(cluster_events_in_log(&c), first + more);
    /* The cells, which the aggregator keeps in an environment of its own
     * (and which may have hit the limit too: AGGREGATE-FAILED, retried),
     * catch up with the whole log and equal a rebuild. */
    CHECK(cluster_wait_cells(&c, 120000));
    CHECK_EQ(cluster_rebuild_verify(&c), 0);
    fault_check_log(&c, key, first + more, NULL, NULL, 0);
    cluster_stop_collector(&c, SIGTERM);
    unsetenv("FINSAM_STORE_INITIAL_MAP_MB");
    CHECK(resumed_live);
    long agg_failed = fault_count_in_file(flog, "AGGREGATE-FAILED");
    fprintf(stderr,
            "FIGURES fault_diskfull collector: events=%ld stored_before_full=%lld held_back=%lld "
            "commit_failed_lines=%ld aggregate_failed_lines=%ld resumed=%s lost=0 doubled=0 seconds=%.1f\n",
            first + more, l2 - first, q2, failed, agg_failed, resumed_live ? "live" : "after-restart",
            (double) (fault_now_ms() - t0) / 1000.0);
}

static void test_disk_full_outbox(void)
{
    fault_seed("fault_diskfull_test outbox");
    const long first = 100, more = fault_pick(20000, 100000);
    cluster_t c;
    cluster_init(&c);
    char agent[320], file[400], outbox[400], alog[400];
    cluster_add_agent(&c, "nv", "NV", false, agent, sizeof agent);
    snprintf(outbox, sizeof outbox, "%s/outbox/data.mdb", agent);
    snprintf(alog, sizeof alog, "%s/agent-full.log", c.dir);
    snprintf(file, sizeof file, "%s/first.jsonl", c.dir);
    fault_write_jsonl(file, 0, first, "work");
    const char *imp1[] = {"import", file, NULL};
    CHECK_EQ(cluster_agent(&c, agent, 60000, imp1), 0);
    long long size = fault_file_size(outbox);
    CHECK(size > 0);
    snprintf(file, sizeof file, "%s/more.jsonl", c.dir);
    fault_write_jsonl(file, first, more, "work");
    char *argv[] = {(char *) tu_bin("finsam-agent"), "-d", agent, "import", file, NULL};
    pid_t pid = fault_spawn_limited(argv, alog, size + (256 << 10));
    int rc = tu_wait(pid, 120000);
    char *text = tu_read_file(alog);
    fprintf(stderr, "import under a full disk: exit %d, says: %s", rc, text ? text : "");
    CHECK_EQ(rc, 74);
    CHECK(text && strstr(text, "outbox: File too large"));
    free(text);
    fault_agent_counts_t n = fault_agent_counts(&c, agent);
    CHECK_EQ(n.queued, first); /* nothing half-imported */
    CHECK_EQ(n.known, first);
    /* Space returns: the same import stores every row once. */
    CHECK_EQ(cluster_agent(&c, agent, 120000, (const char *[]){"import", file, NULL}), 0);
    n = fault_agent_counts(&c, agent);
    CHECK_EQ(n.queued, first + more);
    CHECK_EQ(n.known, first + more);
    fprintf(stderr,
            "FIGURES fault_diskfull outbox: rows=%ld exit_under_limit=74 stored_under_limit=0 "
            "stored_after=%lld\n",
            more, n.queued - first);
}

static const test_case_t s_cases[] = {
    {"a full map grows", test_map_full_grows},
    {"disk full under the collector", test_disk_full_collector},
    {"disk full under the outbox", test_disk_full_outbox},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
