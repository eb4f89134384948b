/* delivery_test.c: what staff see of delivery, with the real finsam-agent
 * `run` against a stand-in collector in this process (a CURVE ROUTER with
 * CZMQ's zauth and an allow-list directory, as sender_test.c).
 *
 * A delivered queue logs DELIVERED per batch and status says connected,
 * with today's count, in Swedish and in English; an unlisted key and a
 * wrong collector key are told apart by status, `--exit-when-empty` exits
 * 69 after --connect-timeout and the handshake is retried a bounded number
 * of times; a collector that does not answer is waited for unless
 * --unreachable-timeout says otherwise; a key added to the allow-list later is picked up without a
 * restart. */
#include "codec.h"
#include "testutil.h"

#include <czmq.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    char data[256], log[256], allow[256], out[256];
    zcert_t *server;
    zactor_t *auth;
    zsock_t *router;
    char endpoint[128];
} s_env_t;

static int s_agent(s_env_t *e, const char *log, const char *a1, const char *a2, const char *a3)
{
    char *argv[] = {
        (char *) tu_bin("finsam-agent"), "--data-dir", e->data, (char *) a1, (char *) a2, (char *) a3, NULL};
    return tu_run(argv, log, 30000);
}

/* status with its output alone in e->out (tu_run appends). */
static int s_status(s_env_t *e, const char *a1, const char *a2)
{
    unlink(e->out);
    return s_agent(e, e->out, "status", a1, a2);
}

/* status's queued=N, or -1. */
static long s_queued(s_env_t *e)
{
    if (s_status(e, NULL, NULL) != 0)
        return -1;
    char *text = tu_read_file(e->out), *p = text ? strstr(text, "\nqueued=") : NULL;
    long n = p ? strtol(p + 8, NULL, 10) : -1;
    free(text);
    return n;
}

static void s_allow(s_env_t *e)
{
    char src[300], dst[300];
    snprintf(src, sizeof src, "%s/keys/agent.key", e->data);
    snprintf(dst, sizeof dst, "%s/nv.key", e->allow);
    char *pub = tu_read_file(src);
    CHECK(pub && tu_write_file(dst, pub) == 0);
    free(pub);
}

/* allowed: the agent's key in the allow-list; right_key: the agent holds
 * this collector's public key (else another one). */
static void s_setup(s_env_t *e, bool allowed, bool right_key)
{
    zsys_init(); /* in the case's process: a ZeroMQ context must not cross fork() */
    const char *dir = tu_tempdir();
    snprintf(e->data, sizeof e->data, "%s/agent", dir);
    snprintf(e->log, sizeof e->log, "%s/agent.log", dir);
    snprintf(e->out, sizeof e->out, "%s/status.txt", dir);
    snprintf(e->allow, sizeof e->allow, "%s/allow", dir);
    CHECK_EQ(s_agent(e, e->log, "keygen", "--forbund", "NV"), 0);
    CHECK_EQ(s_agent(e, e->log, "demo", "--events=1200", "--no-send"), 0);
    CHECK(mkdir(e->allow, 0700) == 0);
    if (allowed)
        s_allow(e);
    e->server = zcert_new();
    char dst[300];
    snprintf(dst, sizeof dst, "%s/keys/collector.key", e->data);
    zcert_t *other = right_key ? NULL : zcert_new();
    CHECK(zcert_save_public(right_key ? e->server : other, dst) == 0);
    zcert_destroy(&other);

    e->auth = zactor_new(zauth, NULL);
    CHECK(e->auth);
    CHECK(zstr_sendx(e->auth, "CURVE", e->allow, NULL) == 0);
    zsock_wait(e->auth);
    e->router = zsock_new(ZMQ_ROUTER);
    zcert_apply(e->server, e->router);
    zsock_set_curve_server(e->router, 1);
    CHECK(zsock_bind(e->router, "tcp://127.0.0.1:*") > 0);
    char *ep = zsock_last_endpoint(e->router);
    snprintf(e->endpoint, sizeof e->endpoint, "%s", ep);
    zstr_free(&ep);
}

static void s_teardown(s_env_t *e)
{
    zsock_destroy(&e->router);
    zactor_destroy(&e->auth);
    zcert_destroy(&e->server);
}

static pid_t s_spawn_run(s_env_t *e, const char *timeout)
{
    char collector[160];
    snprintf(collector, sizeof collector, "--collector=%s", e->endpoint);
    char *argv[] = {(char *) tu_bin("finsam-agent"),
                    "--data-dir",
                    e->data,
                    "run",
                    collector,
                    "--exit-when-empty",
                    (char *) timeout,
                    "--batch-size=500",
                    NULL};
    return tu_spawn(argv, e->log);
}

/* Accepts every batch until the agent exits; returns its exit status. */
static int s_serve(s_env_t *e, pid_t pid, int timeout_ms)
{
    int status = -1;
    zpoller_t *poller = zpoller_new(e->router, NULL);
    for (int spins = 0; spins < timeout_ms / 100 && (status = tu_wait(pid, 0)) == -1; spins++) {
        if (!zpoller_wait(poller, 100))
            continue;
        zmsg_t *msg = zmsg_recv(e->router);
        CHECK(msg && zmsg_size(msg) == 2);
        zframe_t *peer = zmsg_pop(msg), *body = zmsg_pop(msg);
        batch_msg_t *b = NULL;
        char why[256];
        CHECK_EQ(codec_decode_batch(zframe_data(body), zframe_size(body), &b, why, sizeof why),
                 FINSAM__V1__REJECT_CODE__REJECT_NONE);
        Finsam__V1__Ack ack = FINSAM__V1__ACK__INIT;
        ProtobufCBinaryData *acc = calloc(b->n_events, sizeof *acc);
        ack.batch_seq = b->batch_seq;
        ack.accepted = acc;
        for (size_t i = 0; i < b->n_events; i++) {
            event_msg_t *ev = NULL;
            CHECK_EQ(codec_decode_event(b->events[i].data, b->events[i].len, &ev, why, sizeof why),
                     FINSAM__V1__REJECT_CODE__REJECT_NONE);
            uint8_t *id = malloc(16);
            memcpy(id, ev->id.data, 16);
            codec_free_event(&ev);
            acc[ack.n_accepted++] = (ProtobufCBinaryData){16, id};
        }
        size_t len;
        uint8_t *packed = codec_pack(&ack.base, &len);
        zmsg_t *reply = zmsg_new();
        zmsg_append(reply, &peer);
        zmsg_addmem(reply, packed, len);
        CHECK(zmsg_send(&reply, e->router) == 0);
        free(packed);
        for (size_t i = 0; i < ack.n_accepted; i++)
            free(acc[i].data);
        free(acc);
        zframe_destroy(&peer);
        zframe_destroy(&body);
        zmsg_destroy(&msg);
        codec_free_batch(&b);
    }
    zpoller_destroy(&poller);
    return status;
}

static void test_delivered_and_shown(void)
{
    s_env_t e;
    s_setup(&e, true, true);
    pid_t pid = s_spawn_run(&e, "--connect-timeout=30");
    CHECK_EQ(s_serve(&e, pid, 30000), 0);
    CHECK(tu_file_has(e.log, "DELIVERED events=500 seq="));
    CHECK_EQ(tu_count_in_file(e.log, "DELIVERED events="), 3); /* 500 + 500 + 200 */
    CHECK_EQ(s_status(&e, NULL, NULL), 0);
    /* It exited when the queue was empty: connected until then. */
    CHECK(tu_file_has(
        e.out, "Anslutning till insamlingsservern: inte ansluten: agenten körs inte (senast ansluten "));
    CHECK(tu_file_has(e.out, "Levererade händelser i dag: 1200\n"));
    CHECK(tu_file_has(e.out, "Väntar på att skickas: 0\n"));
    CHECK(tu_file_has(e.out, "queued=0 rejected=0 known_ids=1200\n"));
    CHECK(tu_file_has(e.out, "link=connected last_ack="));
    CHECK(tu_file_lacks(e.out, "Åtgärd"));
    CHECK(tu_file_has(e.out, "Agenten körs inte just nu")); /* it exited when the queue was empty */
    CHECK_EQ(s_status(&e, "--lang", "en"), 0);
    CHECK(tu_file_has(
        e.out, "Connection to the collector: not connected: the agent is not running (last connected "));
    CHECK(tu_file_has(e.out, "Events delivered today: 1200\n"));
    CHECK_EQ(s_status(&e, "--format", "json"), 0);
    CHECK(tu_file_has(e.out, "\"state\": \"connected\""));
    CHECK(tu_file_has(e.out, "\"delivered_today\": 1200"));
    s_teardown(&e);
}

static void test_unlisted_key_named_and_exit_69(void)
{
    s_env_t e;
    s_setup(&e, false, true);
    pid_t pid = s_spawn_run(&e, "--connect-timeout=4");
    CHECK_EQ(tu_wait(pid, 20000), EX_UNAVAILABLE);
    CHECK(tu_file_has(e.log, "NO-CONNECTION state=refused"));
    /* Backed off: 1 s, 2 s, ... not eight a second. */
    int tries = tu_count_in_file(e.log, "HANDSHAKE-REFUSED");
    CHECK(tries >= 1 && tries <= 4);
    CHECK_EQ(s_status(&e, "--lang", "en"), 0);
    CHECK(tu_file_has(
        e.out, "Connection to the collector: not connected: the agent is not running (last: refused: the "
               "collector does not accept our key, since "));
    CHECK(tu_file_has(e.out,
                      "What to do: the collector refused our key: is keys/agent.key in the collector's "
                      "agents/ folder?"));
    CHECK(tu_file_has(e.out, "queued=1200 rejected=0"));
    CHECK(tu_file_has(e.out, "link=refused "));
    CHECK_EQ(s_status(&e, NULL, NULL), 0);
    CHECK(tu_file_has(e.out,
                      "Åtgärd: Servern nekade vår nyckel: ligger keys/agent.key i serverns mapp agents/?"));
    s_teardown(&e);
}

static void test_wrong_collector_key_named(void)
{
    s_env_t e;
    s_setup(&e, true, false);
    pid_t pid = s_spawn_run(&e, "--connect-timeout=4");
    CHECK_EQ(tu_wait(pid, 20000), EX_UNAVAILABLE);
    CHECK(tu_file_has(e.log, "HANDSHAKE-FAILED"));
    CHECK(tu_count_in_file(e.log, "HANDSHAKE-FAILED") <= 4);
    CHECK_EQ(s_status(&e, "--lang", "en"), 0);
    CHECK(tu_file_has(
        e.out, "Connection to the collector: not connected: the agent is not running (last: refused: wrong "
               "collector key, since "));
    CHECK(tu_file_has(e.out,
                      "What to do: the collector key in keys/collector.key does not match the collector"));
    CHECK(tu_file_has(e.out, "link=key-mismatch "));
    s_teardown(&e);
}

static void test_nothing_listens_exit_69(void)
{
    s_env_t e;
    s_setup(&e, true, true);
    zsock_destroy(&e.router); /* the collector is down */
    pid_t pid = s_spawn_run(&e, "--unreachable-timeout=2");
    CHECK_EQ(tu_wait(pid, 20000), EX_UNAVAILABLE);
    CHECK_EQ(s_status(&e, NULL, NULL), 0);
    CHECK(tu_file_has(
        e.out,
        "Anslutning till insamlingsservern: inte ansluten: agenten körs inte (senast: når inte servern, "
        "sedan "));
    CHECK(tu_file_has(e.out, "link=unreachable "));
    s_teardown(&e);
}

static bool s_unreachable(void *arg)
{
    return tu_file_has(arg, "UNREACHABLE endpoint=");
}

/* A collector not started yet is waited for: --connect-timeout bounds
 * refusals only. */
static void test_nothing_listens_waits(void)
{
    s_env_t e;
    s_setup(&e, true, true);
    zsock_destroy(&e.router);
    pid_t pid = s_spawn_run(&e, "--connect-timeout=1");
    CHECK(tu_wait_for(s_unreachable, e.log, 10000));
    CHECK_EQ(tu_wait(pid, 2500), -1); /* still waiting, well past --connect-timeout */
    kill(pid, SIGTERM);
    CHECK_EQ(tu_wait(pid, 10000), 0);
    s_teardown(&e);
}

static bool s_refused(void *arg)
{
    return tu_file_has(arg, "HANDSHAKE-REFUSED");
}

/* The collector's operator adds the key while the agent waits: the next
 * try (a new socket) gets through, no restart. */
static void test_key_added_later(void)
{
    s_env_t e;
    s_setup(&e, false, true);
    pid_t pid = s_spawn_run(&e, "--connect-timeout=60");
    CHECK(tu_wait_for(s_refused, e.log, 10000));
    s_allow(&e);
    CHECK_EQ(s_serve(&e, pid, 30000), 0);
    CHECK(tu_file_has(e.log, "CONNECTED endpoint="));
    CHECK_EQ(s_status(&e, NULL, NULL), 0);
    CHECK(tu_file_has(e.out, "queued=0 "));
    CHECK(tu_file_has(e.out, "link=connected "));
    s_teardown(&e);
}

/* An import beyond --outbox-quota-mb is refused whole with the quota
 * named; what was queued stays queued. */
static void test_outbox_quota(void)
{
    s_env_t e;
    s_setup(&e, true, true);
    char demo_log[300], file[300];
    snprintf(demo_log, sizeof demo_log, "%s.demo", e.log);
    CHECK_EQ(s_agent(&e, demo_log, "demo", "--events=20000", "--no-send"), 0); /* over 1 MiB */
    long before = s_queued(&e);
    CHECK(before > 20000);
    snprintf(file, sizeof file, "%s/rows.jsonl", e.data);
    CHECK(tu_write_file(file, "{\"kind\":\"status\",\"personnummer\":\"850372-1238\",\"date\":\"2026-01-10\","
                              "\"phase\":\"entry\",\"mode\":\"project\",\"occupation\":\"none\","
                              "\"income\":\"social_assistance\"}\n") == 0);
    CHECK_EQ(s_agent(&e, e.log, "import", file, "--outbox-quota-mb=1"), 74);
    CHECK(tu_file_has(e.log, "more than its quota of 1 MiB (--outbox-quota-mb): nothing imported, and "
                             "everything already queued is kept"));
    CHECK_EQ(s_queued(&e), before);
    /* Under the default quota the same file goes in. */
    CHECK_EQ(s_agent(&e, e.log, "import", file, NULL), 0);
    CHECK_EQ(s_queued(&e), before + 1);
    s_teardown(&e);
}

static bool s_state_connected(void *arg)
{
    return tu_file_has(arg, "state=connected\n");
}

/* The agent is killed while connected: status says at once that it is
 * not connected, also before the killed process is reaped (a zombie's pid
 * still answers kill(pid, 0)), and after. */
static void test_killed_agent_not_connected(void)
{
    s_env_t e;
    s_setup(&e, true, true);
    /* Batches are never acked (s_serve is not called): it stays connected. */
    pid_t pid = s_spawn_run(&e, "--connect-timeout=60");
    char state[300];
    snprintf(state, sizeof state, "%s/sender.state", e.data);
    CHECK(tu_wait_for(s_state_connected, state, 20000));
    CHECK_EQ(s_status(&e, NULL, NULL), 0);
    CHECK(tu_file_has(e.out, "Anslutning till insamlingsservern: ansluten (sedan "));
    CHECK(tu_file_lacks(e.out, "körs inte"));
    CHECK(kill(pid, SIGKILL) == 0);
    /* Not reaped: wait until it is a zombie (the signal is delivered
     * asynchronously; a loaded machine may take a moment to end it). */
    siginfo_t si;
    memset(&si, 0, sizeof si);
    CHECK(waitid(P_PID, (id_t) pid, &si, WEXITED | WNOWAIT) == 0);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(s_status(&e, NULL, NULL), 0);
        CHECK(tu_file_has(e.out,
                          "Anslutning till insamlingsservern: inte ansluten: agenten körs inte (senast "
                          "ansluten "));
        CHECK(tu_file_lacks(e.out, ": ansluten (sedan"));
        CHECK(tu_file_has(e.out, "Agenten körs inte just nu"));
        CHECK(tu_file_has(e.out, "link=connected ")); /* the machine line is as the agent left it */
        CHECK_EQ(s_status(&e, "--lang", "en"), 0);
        CHECK(tu_file_has(e.out, "Connection to the collector: not connected: the agent is not running (last "
                                 "connected "));
        CHECK_EQ(s_status(&e, "--format", "json"), 0);
        CHECK(tu_file_has(e.out, "\"running\": false"));
        if (i == 0)
            CHECK_EQ(tu_wait(pid, 10000), 128 + SIGKILL); /* now reaped */
    }
    s_teardown(&e);
}

static const test_case_t s_cases[] = {
    {"killed agent: not connected, at once", test_killed_agent_not_connected},
    {"delivered and shown", test_delivered_and_shown},
    {"unlisted key named, exit 69", test_unlisted_key_named_and_exit_69},
    {"wrong collector key named", test_wrong_collector_key_named},
    {"nothing listens, exit 69", test_nothing_listens_exit_69},
    {"nothing listens, waits by default", test_nothing_listens_waits},
    {"key added later", test_key_added_later},
    {"outbox quota", test_outbox_quota},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
