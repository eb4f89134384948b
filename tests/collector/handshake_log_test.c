/* handshake_log_test.c: a misconfigured client cannot flood the
 * collector's log, and the lines it does get say who it is.
 *
 * For two minutes, against one real collector (tests/e2e/cluster.c):
 *   - a client with a key not on the allow-list connects 8 times a second
 *     (ZAP refuses it: AUTH-REFUSED). A client refused by ZAP is not
 *     reconnected by libzmq 4.3.4 (a real finsam-agent so refused tries
 *     once and waits), so the test makes a new socket each time, as a
 *     restart loop or a home-made client would;
 *   - a CURVE client with the wrong collector key, which libzmq does
 *     reconnect by itself (the handshake fails before any ZAP request:
 *     the socket monitor's HANDSHAKE-FAILED);
 *   - a listed agent's key used on the stream socket, 8 times a second
 *     (ZAP refuses it; the line names the förbund and certificate it is
 *     listed with).
 * Each writes at most 3 lines (the first, then one a minute with the count
 * of the rest), naming 127.0.0.1. The same run checks that STATS lines come
 * only when something changed: one delivery at the start, then none.
 *
 * Two minutes by design (label `slow`); the throttle's rules themselves are
 * throttle_test.c's, in milliseconds. */
#include "testutil.h"

#include "cluster.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#define RUN_S 120

/* A CURVE DEALER with certificate `mine` that takes the server key
 * `server_public`, connected to endpoint, reconnecting every 100 ms. */
static zsock_t *s_client(zcert_t *mine, const char *server_public, const char *endpoint)
{
    zsock_t *s = zsock_new(ZMQ_DEALER);
    CHECK(s);
    zcert_apply(mine, s);
    zsock_set_curve_serverkey(s, server_public);
    zsock_set_reconnect_ivl(s, 100);
    zsock_set_linger(s, 0);
    CHECK(zsock_connect(s, "%s", endpoint) == 0);
    return s;
}

/* The lines of the log holding `a` and `b` (if not NULL), printed if `print`. */
static int s_lines_with(const char *log, const char *a, const char *b, bool print)
{
    char *text = tu_read_file(log);
    CHECK(text);
    int n = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        if (strstr(line, a) && (!b || strstr(line, b))) {
            if (print)
                printf("  %s\n", line);
            n++;
        }
    free(text);
    return n;
}

/* The sum of the "(N more in the last minute)" counts on lines with `a`. */
static long s_held_back(const char *log, const char *a)
{
    char *text = tu_read_file(log);
    CHECK(text);
    long sum = 0;
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        const char *p = strstr(line, " more in the last minute)");
        if (strstr(line, a) && p) {
            while (p > line && p[-1] != '(')
                p--;
            sum += atol(p);
        }
    }
    free(text);
    return sum;
}

static void test_misconfigured_clients(void)
{
    cluster_t c;
    cluster_init(&c);
    cluster_start_collector(&c);
    char good[512], rogue[512], path[600], server_public[64];
    cluster_add_agent(&c, "nv", "NV", true, good, sizeof good);
    cluster_add_agent(&c, "rogue", "OO", false, rogue, sizeof rogue);
    snprintf(path, sizeof path, "%s/keys/collector.key", c.cdir);
    zcert_t *server = zcert_load(path);
    CHECK(server);
    snprintf(server_public, sizeof server_public, "%s", zcert_public_txt(server));
    zcert_destroy(&server);

    /* One delivery: a STATS line within 10 s, then no more. */
    CHECK_EQ(cluster_agent(
                 &c, good, 60000,
                 (const char *const[]){"demo", "--events", "20", "--seed", "7", "--exit-when-empty", NULL}),
             0);

    snprintf(path, sizeof path, "%s/keys/agent.key_secret", rogue);
    zcert_t *unlisted = zcert_load(path);
    snprintf(path, sizeof path, "%s/keys/agent.key_secret", good);
    zcert_t *listed = zcert_load(path);
    zcert_t *other = zcert_new(); /* a key that is not the collector's */
    CHECK(unlisted && listed && other);
    zsock_t *wrong_server = s_client(other, zcert_public_txt(other), c.endpoint);
    int stats_early = -1;
    int64_t t0 = zclock_mono();
    for (int64_t now = t0; now - t0 < RUN_S * 1000; now = zclock_mono()) {
        zsock_t *a = s_client(unlisted, server_public, c.endpoint);
        zsock_t *b = s_client(listed, server_public, c.stream_events);
        zclock_sleep(125);
        zsock_destroy(&a);
        zsock_destroy(&b);
        if (stats_early < 0 && now - t0 > 20000) /* the delivery's STATS line is out by now */
            stats_early = tu_count_in_file(c.log, "STATS batches=");
    }
    CHECK(kill(c.collector, 0) == 0);
    zsock_destroy(&wrong_server);
    zcert_destroy(&unlisted);
    zcert_destroy(&listed);
    zcert_destroy(&other);

    printf("unlisted key (ZAP):\n");
    int refused = s_lines_with(c.log, "AUTH-REFUSED domain=ingest", NULL, true);
    CHECK(refused >= 2 && refused <= 3);
    CHECK(s_lines_with(c.log, "AUTH-REFUSED domain=ingest address=127.0.0.1", NULL, false) == refused);
    /* It did retry all along: hundreds of attempts, counted not written. */
    long held = s_held_back(c.log, "AUTH-REFUSED domain=ingest");
    printf("  held back: %ld\n", held);
    CHECK(held >= 60);

    printf("wrong server key (monitor):\n");
    int failed = s_lines_with(c.log, "HANDSHAKE-FAILED", NULL, true);
    CHECK(failed >= 2 && failed <= 3);
    CHECK(s_lines_with(c.log, "HANDSHAKE-FAILED", "address=127.0.0.1", false) >= 1);
    CHECK(s_held_back(c.log, "HANDSHAKE-FAILED") >= 60);

    printf("agent key on the stream socket:\n");
    int stream = s_lines_with(c.log, "AUTH-REFUSED domain=stream", NULL, true);
    CHECK(stream >= 2 && stream <= 3);
    CHECK(s_lines_with(c.log, "AUTH-REFUSED domain=stream address=127.0.0.1",
                       "listed=agents forbund=NV certificate=nv.key", false) == stream);

    printf("STATS:\n");
    int stats = s_lines_with(c.log, "STATS batches=", NULL, true);
    CHECK(stats_early >= 1);
    CHECK_EQ(stats, stats_early);
    cluster_stop_collector(&c, SIGTERM);
}

static const test_case_t s_cases[] = {
    {"misconfigured clients for two minutes: at most a line a minute each", test_misconfigured_clients},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
