/* fault_collector_kill_test.c: the collector is killed with SIGKILL at
 * random moments (10 times quick, 50 long) while three agents stream to it:
 * two demo agents and one importing JSONL files that carry retractions and
 * corrections (of events stored earlier and of events in the same stream).
 * Every third kill lands while a `finsamctl tail --from 1` replay of the
 * whole log is being served; kills that find the cells behind the log
 * (the aggregator was applying a chunk beside ingest) are counted. After
 * each kill `finsamctl rebuild --verify` finds no difference between the
 * cells and a rebuild up to the position they reflect; at the end the
 * cells catch up with the whole log (lag 0) and equal a rebuild; at the end every generated event is stored
 * exactly once (the log holds as many events as the agents generated distinct ids, a replay of the whole log
 * shows no id twice, every outbox is empty and nothing was rejected, so no retraction or correction lost its
 * target).
 *
 * One case: a scenario whose steps depend on each other. */
#include "fault_util.h"
#include "testutil.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static void s_import(cluster_t *c, const char *agent, const char *file)
{
    const char *args[] = {"import", file, NULL};
    CHECK_EQ(cluster_agent(c, agent, 120000, args), 0);
}

static bool s_nonempty(void *path)
{
    return fault_file_size(path) > 0;
}

/* Waits until the log holds more than `than` events (ingest is flowing
 * again after a restart) or every agent has exited; false on timeout. */
static bool s_wait_progress(cluster_t *c, long long than, pid_t *pids, int *rcs, int n)
{
    int64_t deadline = fault_now_ms() + 20000;
    while (fault_now_ms() < deadline) {
        int running = 0;
        for (int i = 0; i < n; i++) {
            if (rcs[i] == -1 && (rcs[i] = tu_wait(pids[i], 0)) == -1)
                running++;
        }
        if (!running || cluster_events_in_log(c) > than)
            return true;
        usleep(20000);
    }
    return false;
}

static void test_collector_kill9(void)
{
    fault_seed("fault_collector_kill_test");
    int64_t t0 = fault_now_ms();
    const long kills = fault_pick(10, 50), demo = fault_pick(40000, 200000), base = fault_pick(2000, 10000);
    cluster_t c;
    cluster_init(&c);
    char key[320], nv[320], oo[320], hbs[320], path[400];
    fault_subscriber_key(&c, key, sizeof key);
    cluster_add_agent(&c, "nv", "NV", true, nv, sizeof nv);
    cluster_add_agent(&c, "oo", "OO", true, oo, sizeof oo);
    cluster_add_agent(&c, "hbs", "HBS", true, hbs, sizeof hbs);
    cluster_start_collector(&c);

    /* History: HBS's first file is stored before the storm; its ids are
     * read back from the log so the storm can retract some of them. */
    snprintf(path, sizeof path, "%s/hbs-1.jsonl", c.dir);
    fault_write_jsonl(path, 0, base, "work");
    s_import(&c, hbs, path);
    const char *drain[] = {"run", "--exit-when-empty", NULL};
    CHECK_EQ(cluster_agent(&c, hbs, 120000, drain), 0);
    char(*ids)[33] = calloc((size_t) base, sizeof *ids);
    CHECK(ids);
    CHECK_EQ(fault_check_log(&c, key, base, "HBS", ids, base), base);

    /* The storm's JSONL: retract a quarter of the history, correct another
     * quarter (same person, phase and day, other occupation), add new rows
     * and, in a later file, correct a third of those new rows before any of
     * them has been sent. */
    snprintf(path, sizeof path, "%s/hbs-2.jsonl", c.dir);
    FILE *f = fopen(path, "w");
    CHECK(f);
    long retractions = 0, corrections = 0;
    for (long i = 0; i < base; i += 4, retractions++)
        fprintf(f, "{\"kind\":\"retraction\",\"target\":\"%s\",\"date\":\"2025-12-01\"}\n", ids[i]);
    for (long i = 1; i < base; i += 4, corrections++)
        fault_write_status_rows(f, i, 1, "studies");
    CHECK(fclose(f) == 0);
    free(ids);
    s_import(&c, hbs, path);
    snprintf(path, sizeof path, "%s/hbs-3.jsonl", c.dir);
    fault_write_jsonl(path, base, base, "work");
    s_import(&c, hbs, path);
    snprintf(path, sizeof path, "%s/hbs-4.jsonl", c.dir);
    f = fopen(path, "w");
    CHECK(f);
    for (long i = base; i < 2 * base; i += 3, corrections++)
        fault_write_status_rows(f, i, 1, "studies");
    CHECK(fclose(f) == 0);
    s_import(&c, hbs, path);

    char seed_nv[24], seed_oo[24], events[24];
    snprintf(seed_nv, sizeof seed_nv, "%ld", 100 + fault_rand(1000));
    snprintf(seed_oo, sizeof seed_oo, "%ld", 2000 + fault_rand(1000));
    snprintf(events, sizeof events, "%ld", demo);
    const char *fill_nv[] = {"demo", "--events", events, "--seed", seed_nv, "--no-send", NULL};
    const char *fill_oo[] = {"demo", "--events", events, "--seed", seed_oo, "--no-send", NULL};
    CHECK_EQ(cluster_agent(&c, nv, 120000, fill_nv), 0);
    CHECK_EQ(cluster_agent(&c, oo, 120000, fill_oo), 0);
    const char *agents[] = {nv, oo, hbs};
    long long generated = 0;
    for (int i = 0; i < 3; i++)
        generated += fault_agent_counts(&c, agents[i]).known;
    fprintf(stderr, "stream: %lld distinct events (%ld retractions, %ld corrections), %ld kills\n", generated,
            retractions, corrections, kills);

    const char *run[] = {"run", "--exit-when-empty", "--ack-timeout-ms", "1000", NULL};
    pid_t pids[3];
    int rcs[3] = {-1, -1, -1};
    for (int i = 0; i < 3; i++)
        pids[i] = cluster_agent_spawn(&c, agents[i], run);
    long mid_replay = 0, mid_stream = 0, mid_aggregation = 0;
    long long stored = base;
    for (long k = 0; k < kills; k++) {
        pid_t tail = 0;
        char out[400];
        /* Kill only once ingest flows again, so kills land mid-commit. */
        CHECK(s_wait_progress(&c, stored, pids, rcs, 3));
        bool streaming = rcs[0] == -1 || rcs[1] == -1 || rcs[2] == -1;
        if (k % 3 == 2) {
            /* Mid-replay: a subscriber replays the whole log; kill as soon
             * as the first page has been printed. */
            snprintf(out, sizeof out, "%s/tail-%ld.json", c.dir, k);
            tail = fault_tail_spawn(&c, key, 1, 0, out);
            if (tu_wait_for(s_nonempty, out, 10000))
                mid_replay++;
            usleep((useconds_t) fault_rand(20000));
        } else {
            usleep((useconds_t) fault_rand(200000));
        }
        cluster_stop_collector(&c, SIGKILL);
        if (tail)
            tu_kill(tail, SIGKILL);
        mid_stream += streaming;
        /* The cells follow the log beside ingest (aggregator.h): a kill
         * that finds them behind the log landed mid-aggregation. Verify
         * compares them with a rebuild up to their own position. */
        json_t *st = cluster_status(&c);
        CHECK(st);
        stored = json_integer_value(json_object_get(st, "events_in_log"));
        long long lag = json_integer_value(json_object_get(json_object_get(st, "aggregation"), "lag"));
        json_decref(st);
        mid_aggregation += lag > 0;
        int verify = cluster_rebuild_verify(&c);
        fprintf(stderr, "kill %ld%s%s: %lld events in the log, cells %lld behind, rebuild --verify %s\n",
                k + 1, streaming ? " (mid-stream)" : "", tail ? " (mid-replay)" : "", stored, lag,
                verify == 0 ? "clean" : "DIFFERS");
        CHECK_EQ(verify, 0);
        cluster_start_collector(&c);
    }
    for (int i = 0; i < 3; i++)
        CHECK_EQ(rcs[i] == -1 ? tu_wait(pids[i], 600000) : rcs[i], 0);

    long long in_log = cluster_events_in_log(&c);
    CHECK_EQ(in_log, generated);
    for (int i = 0; i < 3; i++) {
        fault_agent_counts_t n = fault_agent_counts(&c, agents[i]);
        CHECK_EQ(n.queued, 0);
        CHECK_EQ(n.rejected, 0);
    }
    /* The cells catch up with the log: lag 0, and equal to a rebuild. */
    CHECK(cluster_wait_cells(&c, 60000));
    CHECK_EQ(cluster_rebuild_verify(&c), 0);
    fault_check_log(&c, key, (long) in_log, NULL, NULL, 0);
    cluster_stop_collector(&c, SIGTERM);
    fprintf(stderr,
            "FIGURES fault_collector_kill: kills=%ld mid_stream=%ld mid_replay=%ld mid_aggregation=%ld "
            "events=%lld retractions=%ld corrections=%ld "
            "lost=0 doubled=0 seconds=%.1f\n",
            kills, mid_stream, mid_replay, mid_aggregation, generated, retractions, corrections,
            (double) (fault_now_ms() - t0) / 1000.0);
}

static const test_case_t s_cases[] = {
    {"collector killed with SIGKILL while three agents stream", test_collector_kill9},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
