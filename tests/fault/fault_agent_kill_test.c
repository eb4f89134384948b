/* fault_agent_kill_test.c: the agent is killed with SIGKILL mid-import and
 * mid-send (10 times each quick, 50 long).
 *
 * Mid-import: a large JSONL import is killed at random moments and, every
 * other time, just as its commit starts writing. An import is
 * all-or-nothing, so after each kill the outbox holds 0 or all rows of the
 * file, never part; importing the same file again then leaves each row
 * queued exactly once. Mid-send: `finsam-agent run` is killed while
 * batches are in flight and restarted; at the end the collector's log holds
 * exactly the rows (none lost, none doubled), the outbox is empty, and
 * `rebuild --verify` finds no difference. */
#include "fault_util.h"
#include "testutil.h"

#include <signal.h>
#include <unistd.h>

static int s_import(cluster_t *c, const char *agent, const char *file)
{
    const char *args[] = {"import", file, NULL};
    return cluster_agent(c, agent, 300000, args);
}

static void test_kill_mid_import(void)
{
    fault_seed("fault_agent_kill_test mid-import");
    int64_t t0 = fault_now_ms();
    const long kills = fault_pick(10, 50), rows = fault_pick(50000, 200000);
    cluster_t c;
    cluster_init(&c);
    char file[400], agent[320], name[32];
    snprintf(file, sizeof file, "%s/big.jsonl", c.dir);
    fault_write_jsonl(file, 0, rows, "work");
    /* How long a whole import takes here, to spread the kills over it. */
    cluster_add_agent(&c, "calibrate", "NV", false, agent, sizeof agent);
    int64_t t = fault_now_ms();
    CHECK_EQ(s_import(&c, agent, file), 0);
    long full_ms = (long) (fault_now_ms() - t);
    char data[400];
    snprintf(data, sizeof data, "%s/outbox/data.mdb", agent);
    long long full_bytes = fault_file_size(data);
    fprintf(stderr, "a whole import of %ld rows takes %ld ms and %lld bytes of outbox\n", rows, full_ms,
            full_bytes);

    /* Odd kills land mid-commit: once the outbox file has grown to a random
     * point between 64 KiB and 95 % of its final size (LMDB writes the
     * transaction's pages as it commits) the agent is killed.
     * Even kills land at a random moment in the second half of the import.
     * Each kill uses a fresh agent, so each meets an import that has not
     * committed yet. */
    char(*dirs)[320] = calloc((size_t) kills, sizeof *dirs);
    CHECK(dirs);
    long before = 0, finished = 0, mid_commit = 0;
    for (long k = 0; k < kills; k++) {
        snprintf(name, sizeof name, "imp%ld", k);
        cluster_add_agent(&c, name, "NV", false, dirs[k], sizeof dirs[k]);
        snprintf(data, sizeof data, "%s/outbox/data.mdb", dirs[k]);
        const char *args[] = {"import", file, NULL};
        pid_t pid = cluster_agent_spawn(&c, dirs[k], args);
        int rc = -1;
        if (k % 2) {
            long long at = (64 << 10) + fault_rand((long) (full_bytes * 95 / 100));
            while ((rc = tu_wait(pid, 0)) == -1 && fault_file_size(data) < at)
                usleep(200);
            mid_commit += rc == -1;
        } else {
            usleep((useconds_t) ((full_ms / 2 + fault_rand(full_ms * 6 / 10)) * 1000));
        }
        if (rc == -1) {
            kill(pid, SIGKILL);
            rc = tu_wait(pid, 60000);
        }
        fault_agent_counts_t n = fault_agent_counts(&c, dirs[k]);
        fprintf(stderr, "kill %ld%s: %s, outbox holds %lld of %ld rows (file %lld bytes)\n", k + 1,
                k % 2 ? " (mid-commit)" : "", rc == 128 + SIGKILL ? "killed" : "had finished", n.queued, rows,
                fault_file_size(data));
        CHECK(n.queued == 0 || n.queued == rows); /* all or nothing */
        CHECK_EQ(n.queued, n.known);
        if (rc != 128 + SIGKILL)
            finished++;
        else if (n.queued == 0)
            before++;
    }
    /* Importing the file again completes each outbox, each row once. */
    for (long i = 0; i < kills; i++) {
        CHECK_EQ(s_import(&c, dirs[i], file), 0);
        fault_agent_counts_t n = fault_agent_counts(&c, dirs[i]);
        CHECK_EQ(n.queued, rows);
        CHECK_EQ(n.known, rows);
    }
    free(dirs);
    fprintf(stderr,
            "FIGURES fault_agent_kill mid-import: kills=%ld mid_commit=%ld rows=%ld nothing_stored=%ld "
            "finished_before_kill=%ld partial=0 doubled=0 seconds=%.1f\n",
            kills, mid_commit, rows, before, finished, (double) (fault_now_ms() - t0) / 1000.0);
}

static void test_kill_mid_send(void)
{
    fault_seed("fault_agent_kill_test mid-send");
    int64_t t0 = fault_now_ms();
    const long kills = fault_pick(10, 50), rows = fault_pick(120000, 300000);
    cluster_t c;
    cluster_init(&c);
    char file[400], agent[320], key[320];
    fault_subscriber_key(&c, key, sizeof key);
    snprintf(file, sizeof file, "%s/rows.jsonl", c.dir);
    fault_write_jsonl(file, 0, rows, "work");
    cluster_add_agent(&c, "nv", "NV", true, agent, sizeof agent);
    CHECK_EQ(s_import(&c, agent, file), 0);
    cluster_start_collector(&c);
    const char *run[] = {"run", "--exit-when-empty", "--ack-timeout-ms", "1000", NULL};
    long long stored = 0;
    long mid_send = 0;
    for (long k = 0; k < kills; k++) {
        pid_t pid = cluster_agent_spawn(&c, agent, run);
        /* Wait until this run has delivered something, then kill it a
         * random moment later, with batches in flight. */
        int64_t deadline = fault_now_ms() + 20000;
        int rc = -1;
        while (fault_now_ms() < deadline && (rc = tu_wait(pid, 0)) == -1 &&
               cluster_events_in_log(&c) <= stored)
            usleep(10000);
        if (rc == -1) {
            usleep((useconds_t) fault_rand(200000));
            kill(pid, SIGKILL);
            rc = tu_wait(pid, 60000);
        }
        bool killed = rc == 128 + SIGKILL;
        mid_send += killed;
        stored = cluster_events_in_log(&c);
        fault_agent_counts_t n = fault_agent_counts(&c, agent);
        fprintf(stderr, "kill %ld: %s, %lld stored, %lld queued\n", k + 1,
                killed ? "killed mid-send" : "had finished", stored, n.queued);
        /* Nothing lost: what left the outbox is in the log. */
        CHECK(stored + n.queued >= rows);
        CHECK(stored <= rows);
    }
    CHECK_EQ(cluster_agent(&c, agent, 600000, run), 0);
    fault_agent_counts_t n = fault_agent_counts(&c, agent);
    CHECK_EQ(n.queued, 0);
    CHECK_EQ(n.rejected, 0);
    CHECK_EQ(cluster_events_in_log(&c), rows);
    CHECK_EQ(cluster_stored(&c, "NV"), rows);
    CHECK_EQ(cluster_rebuild_verify(&c), 0);
    fault_check_log(&c, key, rows, NULL, NULL, 0);
    cluster_stop_collector(&c, SIGTERM);
    fprintf(stderr,
            "FIGURES fault_agent_kill mid-send: kills=%ld killed_mid_send=%ld rows=%ld lost=0 doubled=0 "
            "seconds=%.1f\n",
            kills, mid_send, rows, (double) (fault_now_ms() - t0) / 1000.0);
}

static const test_case_t s_cases[] = {
    {"agent killed mid-import", test_kill_mid_import},
    {"agent killed mid-send", test_kill_mid_send},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
