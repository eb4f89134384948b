/* aggregation_test.c: the cells follow the log beside ingest
 * (collector/aggregator.h), and say which position they reflect.
 *
 *  - Acks do not wait for the cells: with the aggregator held
 *    (FINSAM_TEST_AGGREGATOR_HOLD, a file), an agent's whole outbox is
 *    acknowledged while `finsamctl status` shows the cells at 0 and the
 *    lag at every event; `rebuild --verify` then compares the cells with
 *    a rebuild up to position 0 and finds them equal.
 *  - A collector killed while the cells lag, restarted, catches up when
 *    released: the lag returns to 0, the cells reflect the log's end and
 *    equal a rebuild.
 *  - While agents stream, every `rebuild --verify` compares the cells at
 *    the position they reflect (behind the log's end when the aggregator
 *    is behind) and finds no difference; at the end the lag is 0. The
 *    collector starts with 1 MiB maps, so it grows them again and again
 *    while the verifies run: a reader holding one snapshot while it opens
 *    another (the rebuild's partitions) must not wait for the new size.
 *  - Killed with SIGKILL at random moments while released after a hold (so
 *    kills land in the middle of applying a backlog): after each restart
 *    the lag returns to 0 and the cells equal a rebuild.
 *  - Stopped cleanly right after a delivery: the cells catch up before
 *    the last publication, which then covers the whole log.
 *  - After a restart of the system while the cells were written unsynced
 *    (a record naming another boot), they are made again empty and the
 *    collector recomputes them; the publication stays meanwhile.
 *
 * One case: a scenario whose steps depend on each other. */
#include "cluster.h"
#include "testutil.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    long long log, cells, lag;
} s_agg_t;

static s_agg_t s_aggregation(const cluster_t *c)
{
    s_agg_t a = {-1, -1, -1};
    json_t *j = cluster_status(c);
    if (!j)
        return a;
    a.log = json_integer_value(json_object_get(j, "events_in_log"));
    json_t *g = json_object_get(j, "aggregation");
    a.cells = json_integer_value(json_object_get(g, "cells_seq"));
    a.lag = json_integer_value(json_object_get(g, "lag"));
    json_decref(j);
    return a;
}

/* `finsamctl rebuild --verify`: its exit code, and the position the cells
 * it compared reflect and the log's end. */
static int s_verify(const cluster_t *c, long long *position, long long *log_end)
{
    const char *args[] = {"rebuild", "--verify", NULL};
    char *out = NULL;
    int rc = cluster_ctl(c, &out, args);
    const char *p = out ? strstr(out, "position=") : NULL, *e = out ? strstr(out, "log_end=") : NULL;
    *position = p ? atoll(p + 9) : -1;
    *log_end = e ? atoll(e + 8) : -1;
    free(out);
    return rc;
}

static void s_fill(cluster_t *c, const char *agent, int events, int seed)
{
    char n[16], s[16];
    snprintf(n, sizeof n, "%d", events);
    snprintf(s, sizeof s, "%d", seed);
    const char *fill[] = {"demo", "--events", n, "--seed", s, "--no-send", NULL};
    CHECK_EQ(cluster_agent(c, agent, 120000, fill), 0);
}

static void test_cells_follow_the_log(void)
{
    cluster_t c;
    cluster_init(&c);
    c.cells_may_lag = true;
    char hold[400], nv[320], oo[320];
    snprintf(hold, sizeof hold, "%s/hold-aggregator", c.dir);
    setenv("FINSAM_TEST_AGGREGATOR_HOLD", hold, 1);
    setenv("FINSAM_STORE_INITIAL_MAP_MB", "1", 1);
    cluster_add_agent(&c, "nv", "NV", true, nv, sizeof nv);
    cluster_add_agent(&c, "oo", "OO", true, oo, sizeof oo);
    const char *drain[] = {"run", "--exit-when-empty", "--ack-timeout-ms", "1000", NULL};

    /* 1. Held: every event acked, no cell counted. */
    CHECK_EQ(tu_write_file(hold, "held\n"), 0);
    s_fill(&c, nv, 3000, 21);
    cluster_start_collector(&c);
    CHECK_EQ(cluster_agent(&c, nv, 120000, drain), 0);
    CHECK_EQ(cluster_agent_queue(&c, nv), 0);
    s_agg_t a = s_aggregation(&c);
    fprintf(stderr, "held: log %lld, cells at %lld, lag %lld\n", a.log, a.cells, a.lag);
    CHECK_EQ(a.log, 3000);
    CHECK_EQ(a.cells, 0);
    CHECK_EQ(a.lag, 3000);
    long long position, log_end;
    CHECK_EQ(s_verify(&c, &position, &log_end), 0);
    CHECK_EQ(position, 0);
    CHECK_EQ(log_end, 3000);

    /* 2. Killed while behind, restarted still held: nothing moved. */
    cluster_stop_collector(&c, SIGKILL);
    cluster_start_collector(&c);
    a = s_aggregation(&c);
    CHECK_EQ(a.cells, 0);
    CHECK_EQ(a.lag, 3000);

    /* 3. Released: the lag returns to 0, the cells equal a rebuild. */
    CHECK_EQ(unlink(hold), 0);
    CHECK(cluster_wait_cells(&c, 60000));
    CHECK_EQ(s_verify(&c, &position, &log_end), 0);
    CHECK_EQ(position, 3000);
    CHECK_EQ(log_end, 3000);

    /* 4. Streaming: each verify compares the cells where they stand. */
    s_fill(&c, nv, 20000, 22);
    s_fill(&c, oo, 20000, 23);
    pid_t p1 = cluster_agent_spawn(&c, nv, drain), p2 = cluster_agent_spawn(&c, oo, drain);
    int verifies = 0, behind = 0, r1 = -1, r2 = -1;
    while (r1 == -1 || r2 == -1) {
        CHECK_EQ(s_verify(&c, &position, &log_end), 0);
        CHECK(position >= 0 && position <= log_end);
        verifies++;
        behind += position < log_end;
        if (r1 == -1)
            r1 = tu_wait(p1, 0);
        if (r2 == -1)
            r2 = tu_wait(p2, 0);
    }
    CHECK_EQ(r1, 0);
    CHECK_EQ(r2, 0);
    CHECK(cluster_wait_cells(&c, 60000));
    a = s_aggregation(&c);
    CHECK_EQ(a.log, 43000);
    fprintf(stderr, "streaming: %d verifies clean, %d of them with the cells behind the log\n", verifies,
            behind);

    /* 5. Kills while a backlog is being applied. */
    srand((unsigned) time(NULL));
    int kills_behind = 0;
    for (int k = 0; k < 5; k++) {
        CHECK_EQ(tu_write_file(hold, "held\n"), 0);
        long long before = s_aggregation(&c).log;
        s_fill(&c, nv, 4000, 30 + k);
        CHECK_EQ(cluster_agent(&c, nv, 120000, drain), 0);
        CHECK_EQ(s_aggregation(&c).log, before + 4000);
        CHECK_EQ(unlink(hold), 0);
        usleep((useconds_t) (rand() % 300000));
        cluster_stop_collector(&c, SIGKILL);
        a = s_aggregation(&c);
        kills_behind += a.lag > 0;
        fprintf(stderr, "kill %d: log %lld, cells at %lld (lag %lld)\n", k + 1, a.log, a.cells, a.lag);
        CHECK_EQ(s_verify(&c, &position, &log_end), 0);
        CHECK_EQ(position, a.cells);
        cluster_start_collector(&c);
        CHECK(cluster_wait_cells(&c, 60000));
        CHECK_EQ(s_verify(&c, &position, &log_end), 0);
        CHECK_EQ(position, log_end);
    }
    a = s_aggregation(&c);
    CHECK_EQ(a.log, 43000 + 5 * 4000);

    /* 6. A clean stop right after a delivery: the cells catch up first,
     * and the last publication covers the whole log. */
    s_fill(&c, oo, 20000, 40);
    CHECK_EQ(cluster_agent(&c, oo, 120000, drain), 0);
    cluster_stop_collector(&c, SIGTERM);
    json_t *st = cluster_status(&c);
    long long log = json_integer_value(json_object_get(st, "events_in_log"));
    long long pub = json_integer_value(json_object_get(json_object_get(st, "publication"), "seq"));
    long long cells = json_integer_value(json_object_get(json_object_get(st, "aggregation"), "cells_seq"));
    json_decref(st);
    fprintf(stderr, "clean stop: log %lld, cells at %lld, published at %lld\n", log, cells, pub);
    CHECK_EQ(log, 43000 + 5 * 4000 + 20000);
    CHECK_EQ(cells, log);
    CHECK_EQ(pub, log);

    /* 7. The system stopped while the cells were written unsynced
     * (store.h, STORE_DERIVED): a killed collector leaves this boot's
     * record; made to name another boot, the next opener (here `status`,
     * a reader) removes the cells and makes them again, empty, and the
     * collector recomputes them from the log. The publication stays
     * where it was meanwhile. */
    cluster_start_collector(&c);
    cluster_stop_collector(&c, SIGKILL);
    char record[512];
    snprintf(record, sizeof record, "%s/ledger/cells/unsynced", c.cdir);
    CHECK(access(record, F_OK) == 0);
    CHECK_EQ(tu_write_file(record, "00000000-0000-0000-0000-000000000000\n"), 0);
    a = s_aggregation(&c);
    CHECK_EQ(a.log, log);
    CHECK_EQ(a.cells, 0);
    CHECK_EQ(a.lag, log);
    st = cluster_status(&c);
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(st, "publication"), "seq")), pub);
    json_decref(st);
    cluster_start_collector(&c);
    CHECK(cluster_wait_cells(&c, 120000));
    CHECK_EQ(s_verify(&c, &position, &log_end), 0);
    CHECK_EQ(position, log);
    CHECK_EQ(log_end, log);
    cluster_stop_collector(&c, SIGTERM);
    CHECK(access(record, F_OK) < 0); /* synced at the clean stop */

    /* 8. Another follower applied the log: `finsamctl erase` brings the
     * cells up to the log before it erases. With the collector's
     * aggregator held meanwhile, the erase applies everything; released,
     * the aggregator finds nothing to apply, and a clean stop must still
     * see the cells at the log's end (it waits up to 20 s for that, which
     * cluster_stop_collector does not allow) and publish up to there. */
    cluster_start_collector(&c);
    CHECK_EQ(tu_write_file(hold, "held\n"), 0);
    s_fill(&c, oo, 2000, 42);
    CHECK_EQ(cluster_agent(&c, oo, 120000, drain), 0);
    char *out = NULL;
    const char *erase[] = {"erase", "--forbund", "OO", "--before", "2000-01", NULL};
    CHECK_EQ(cluster_ctl(&c, &out, erase), 0);
    free(out);
    a = s_aggregation(&c);
    CHECK_EQ(a.lag, 0); /* the erase applied what the held aggregator did not */
    CHECK_EQ(unlink(hold), 0);
    usleep(500 * 1000); /* a look or two of the released aggregator */
    cluster_stop_collector(&c, SIGTERM);
    st = cluster_status(&c);
    log = json_integer_value(json_object_get(st, "events_in_log"));
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(st, "publication"), "seq")), log);
    json_decref(st);
    fprintf(stderr, "FIGURES aggregation: kills=5 kills_with_lag=%d verifies_streaming=%d behind=%d\n",
            kills_behind, verifies, behind);
    unsetenv("FINSAM_TEST_AGGREGATOR_HOLD");
    unsetenv("FINSAM_STORE_INITIAL_MAP_MB");
}

static const test_case_t s_cases[] = {
    {"the cells follow the log, name their position and catch up after kills", test_cells_follow_the_log},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
