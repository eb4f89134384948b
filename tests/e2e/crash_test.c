/* crash_test.c: the collector is killed with SIGKILL at random moments
 * during a 200k-event stream from two agents and restarted, five times. At
 * the end every event is stored exactly once (the log holds exactly the
 * 200,000 distinct ids the agents generated, each agent's outbox is empty,
 * so every event was acked), and the cells equal a rebuild from the log.
 *
 * One case: a scenario whose steps depend on each other. */
#include "cluster.h"
#include "testutil.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

static void test_kill9_five_times(void)
{
    cluster_t c;
    cluster_init(&c);
    char nv[320], oo[320];
    cluster_add_agent(&c, "nv", "NV", true, nv, sizeof nv);
    cluster_add_agent(&c, "oo", "OO", true, oo, sizeof oo);
    const char *fill_nv[] = {"demo", "--events", "100000", "--seed", "11", "--no-send", NULL};
    const char *fill_oo[] = {"demo", "--events", "100000", "--seed", "12", "--no-send", NULL};
    CHECK_EQ(cluster_agent(&c, nv, 120000, fill_nv), 0);
    CHECK_EQ(cluster_agent(&c, oo, 120000, fill_oo), 0);
    cluster_start_collector(&c);
    const char *run[] = {"run", "--exit-when-empty", "--ack-timeout-ms", "1000", NULL};
    pid_t a = cluster_agent_spawn(&c, nv, run), b = cluster_agent_spawn(&c, oo, run);
    srand((unsigned) time(NULL));
    for (int kill_no = 0; kill_no < 5; kill_no++) {
        usleep((useconds_t) (100000 + rand() % 400000));
        long long before = -1;
        cluster_stop_collector(&c, SIGKILL);
        before = cluster_events_in_log(&c);
        fprintf(stderr, "kill %d: %lld events stored when killed\n", kill_no + 1, before);
        cluster_start_collector(&c);
    }
    CHECK_EQ(tu_wait(a, 300000), 0);
    CHECK_EQ(tu_wait(b, 300000), 0);
    CHECK_EQ(cluster_events_in_log(&c), 200000);
    CHECK_EQ(cluster_stored(&c, "NV"), 100000);
    CHECK_EQ(cluster_stored(&c, "OO"), 100000);
    CHECK_EQ(cluster_agent_queue(&c, nv), 0);
    CHECK_EQ(cluster_agent_queue(&c, oo), 0);
    CHECK_EQ(cluster_rebuild_verify(&c), 0);
    cluster_stop_collector(&c, SIGTERM);
}

static const test_case_t s_cases[] = {
    {"collector killed with SIGKILL five times, every event stored once", test_kill9_five_times},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
