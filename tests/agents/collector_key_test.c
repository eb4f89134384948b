/* collector_key_test.c: the collector's public key put right while the
 * agent runs, against a real collector on 127.0.0.1 (tests/e2e/cluster.c).
 *
 * Staff start the agent with the wrong keys/collector.key; every handshake
 * fails and the agent backs off. Once they copy the right collector.key
 * into place the agent reads it before its next try, logs
 * COLLECTOR-KEY-RELOADED, starts its back-off again and delivers within
 * seconds: no restart. status tells them so while the key is wrong. A
 * file that can never be the collector's (its secret key) is refused in
 * the log, and the old key kept. */
#include "cluster.h"
#include "testutil.h"

#include <czmq.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

static char s_log[512];

/* Whether the agent's log holds text (quietly: polled). */
static bool s_logged(const char *text)
{
    char *log = tu_read_file(s_log);
    bool found = log && strstr(log, text);
    free(log);
    return found;
}

static bool s_backed_off_8s(void *arg)
{
    return s_logged("RETRY-IN seconds=8");
}

static bool s_refused(void *arg)
{
    return s_logged("COLLECTOR-KEY-REFUSED path=");
}

static void test_right_key_picked_up_without_restart(void)
{
    cluster_t c;
    cluster_init(&c);
    char nv[400], key[500];
    cluster_add_agent(&c, "nv", "NV", true, nv, sizeof nv);
    cluster_start_collector(&c);
    snprintf(key, sizeof key, "%s/keys/collector.key", nv);
    snprintf(s_log, sizeof s_log, "%s.log", nv);
    char *right = tu_read_file(key);
    CHECK(right);
    /* The wrong key: some other collector's public certificate. */
    zcert_t *other = zcert_new();
    CHECK(zcert_save_public(other, key) == 0);
    zcert_destroy(&other);
    const char *demo[] = {"demo", "--events", "40", "--no-send", NULL};
    CHECK_EQ(cluster_agent(&c, nv, 60000, demo), 0);

    const char *run[] = {"--log-level", "info", "run", "--exit-when-empty", "--connect-timeout=120", NULL};
    pid_t pid = cluster_agent_spawn(&c, nv, run);
    /* Failed four times: the next try is 8 s away. */
    CHECK(tu_wait_for(s_backed_off_8s, s_log, 30000));
    CHECK(tu_file_has(s_log, "HANDSHAKE-FAILED"));
    char *argv[] = {(char *) tu_bin("finsam-agent"), "-d", nv, "status", NULL};
    char *out = NULL;
    CHECK_EQ(tu_capture(argv, &out, 20000), 0);
    CHECK(out && strstr(out, "nekad: fel servernyckel"));
    CHECK(out && strstr(out, "Agenten läser in den själv inom några sekunder; inget mer behövs."));
    free(out);

    /* First the collector's secret key by mistake: refused with the
     * reason, the old key kept. */
    char secret[500];
    snprintf(secret, sizeof secret, "%s/keys/collector.key_secret", c.cdir);
    char *text = tu_read_file(secret);
    CHECK(text && tu_write_file(key, text) == 0);
    free(text);
    CHECK(tu_wait_for(s_refused, s_log, 5000));
    CHECK(tu_file_has(s_log, "holds the collector's SECRET key"));
    CHECK(tu_file_lacks(s_log, "COLLECTOR-KEY-RELOADED"));

    /* Staff copy the right file in place (as cp does: the same file). */
    int64_t t0 = zclock_mono();
    CHECK(tu_write_file(key, right) == 0);
    free(right);
    /* Delivered well before the 8 s back-off would have ended. */
    int rc = tu_wait(pid, 6000);
    if (rc == -1) {
        kill(pid, SIGTERM);
        tu_wait(pid, 10000);
    }
    CHECK_EQ(rc, 0);
    fprintf(stderr, "delivered %lld ms after the key was put right\n", (long long) (zclock_mono() - t0));
    CHECK(tu_file_has(s_log, "COLLECTOR-KEY-RELOADED path="));
    CHECK(tu_file_has(s_log, "CONNECTED endpoint="));
    CHECK_EQ(cluster_stored(&c, "NV"), 40);
    CHECK_EQ(cluster_agent_queue(&c, nv), 0);
    cluster_stop_collector(&c, SIGTERM);
}

static const test_case_t s_cases[] = {
    {"the right collector key is picked up without a restart", test_right_key_picked_up_without_restart},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
