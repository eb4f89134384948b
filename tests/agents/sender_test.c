/* sender_test.c: the real finsam-agent `run` against a stand-in collector
 * in this process: a CURVE ROUTER with CZMQ's zauth and an allow-list
 * directory. Checks that events leave the outbox only when acked, that a
 * lost ack leads to a resend, that rejections are kept with their reason,
 * and that an unlisted key gets nothing through and is told so. */
#include "codec.h"
#include "testutil.h"

#include <czmq.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    char data[256], log[256], allow[256];
    zcert_t *server;
    zactor_t *auth;
    zsock_t *router;
    char endpoint[128];
} s_env_t;

static int s_agent(s_env_t *e, const char *a1, const char *a2, const char *a3)
{
    char *argv[] = {
        (char *) tu_bin("finsam-agent"), "--data-dir", e->data, (char *) a1, (char *) a2, (char *) a3, NULL};
    return tu_run(argv, e->log, 30000);
}

static bool s_log_has(const char *path, const char *text)
{
    char *log = tu_read_file(path);
    bool found = log && strstr(log, text);
    free(log);
    return found;
}

static void s_setup(s_env_t *e, bool allowed)
{
    zsys_init(); /* in the case's process: a ZeroMQ context must not cross fork() */
    const char *dir = tu_tempdir();
    snprintf(e->data, sizeof e->data, "%s/agent", dir);
    snprintf(e->log, sizeof e->log, "%s/agent.log", dir);
    snprintf(e->allow, sizeof e->allow, "%s/allow", dir);
    CHECK_EQ(s_agent(e, "keygen", "--forbund", "NV"), 0);
    CHECK_EQ(s_agent(e, "demo", "--events=1200", "--no-send"), 0);
    CHECK(mkdir(e->allow, 0700) == 0);
    char src[300], dst[300];
    snprintf(src, sizeof src, "%s/keys/agent.key", e->data);
    snprintf(dst, sizeof dst, "%s/nv.key", e->allow);
    if (allowed) {
        char *pub = tu_read_file(src);
        CHECK(pub && tu_write_file(dst, pub) == 0);
        free(pub);
    }
    e->server = zcert_new();
    snprintf(dst, sizeof dst, "%s/keys/collector.key", e->data);
    CHECK(zcert_save_public(e->server, dst) == 0);

    e->auth = zactor_new(zauth, NULL);
    CHECK(e->auth);
    CHECK(zstr_sendx(e->auth, "CURVE", e->allow, NULL) == 0);
    zsock_wait(e->auth);
    e->router = zsock_new(ZMQ_ROUTER);
    zcert_apply(e->server, e->router);
    zsock_set_curve_server(e->router, 1);
    CHECK(zsock_bind(e->router, "tcp://127.0.0.1:*") > 0);
    char *ep = zsock_last_endpoint(e->router); /* a copy the caller frees */
    snprintf(e->endpoint, sizeof e->endpoint, "%s", ep);
    zstr_free(&ep);
}

static void s_teardown(s_env_t *e)
{
    zsock_destroy(&e->router);
    zactor_destroy(&e->auth);
    zcert_destroy(&e->server);
}

static pid_t s_spawn_run(s_env_t *e)
{
    char collector[160];
    snprintf(collector, sizeof collector, "--collector=%s", e->endpoint);
    char *argv[] = {(char *) tu_bin("finsam-agent"),
                    "--data-dir",
                    e->data,
                    "run",
                    collector,
                    "--exit-when-empty",
                    "--ack-timeout-ms=300",
                    "--batch-size=500",
                    "--window=2",
                    NULL};
    return tu_spawn(argv, e->log);
}

/* Answers batches until the agent exits: drops the first batch's ack,
 * rejects the first event of the second batch, accepts everything else. */
static void test_acks_resend_and_rejects(void)
{
    s_env_t e;
    s_setup(&e, true);
    pid_t pid = s_spawn_run(&e);
    int batches = 0, status = -1;
    zpoller_t *poller = zpoller_new(e.router, NULL);
    for (int spins = 0; spins < 200 && (status = tu_wait(pid, 0)) == -1; spins++) {
        if (!zpoller_wait(poller, 100))
            continue;
        zmsg_t *msg = zmsg_recv(e.router);
        CHECK(msg && zmsg_size(msg) == 2);
        zframe_t *peer = zmsg_pop(msg), *body = zmsg_pop(msg);
        CHECK(strcmp(zframe_meta(body, "forbund"), "NV") == 0); /* the allow-list's metadata */
        batch_msg_t *b = NULL;
        char why[256];
        CHECK_EQ(codec_decode_batch(zframe_data(body), zframe_size(body), &b, why, sizeof why),
                 FINSAM__V1__REJECT_CODE__REJECT_NONE);
        CHECK(b->n_events >= 1 && b->n_events <= 500);
        batches++;
        if (batches > 1) {
            Finsam__V1__Ack ack = FINSAM__V1__ACK__INIT;
            Finsam__V1__Rejection rej = FINSAM__V1__REJECTION__INIT, *rejp = &rej;
            ProtobufCBinaryData *acc = calloc(b->n_events, sizeof *acc);
            ack.batch_seq = b->batch_seq;
            ack.accepted = acc;
            for (size_t i = 0; i < b->n_events; i++) {
                event_msg_t *ev = NULL;
                CHECK_EQ(codec_decode_event(b->events[i].data, b->events[i].len, &ev, why, sizeof why),
                         FINSAM__V1__REJECT_CODE__REJECT_NONE);
                CHECK(strcmp(ev->forbund, "NV") == 0);
                uint8_t *id = malloc(16);
                memcpy(id, ev->id.data, 16);
                codec_free_event(&ev);
                if (batches == 2 && i == 0) {
                    rej.id = (ProtobufCBinaryData){16, id};
                    rej.code = FINSAM__V1__REJECT_CODE__REJECT_INVALID_FIELD;
                    rej.text = "test says no";
                    ack.n_rejected = 1;
                    ack.rejected = &rejp;
                } else {
                    acc[ack.n_accepted++] = (ProtobufCBinaryData){16, id};
                }
            }
            size_t len;
            uint8_t *packed = codec_pack(&ack.base, &len);
            zmsg_t *reply = zmsg_new();
            zmsg_append(reply, &peer);
            zmsg_addmem(reply, packed, len);
            CHECK(zmsg_send(&reply, e.router) == 0);
            free(packed);
            for (size_t i = 0; i < ack.n_accepted; i++)
                free(acc[i].data);
            if (ack.n_rejected)
                free(rej.id.data);
            free(acc);
        }
        zframe_destroy(&peer);
        zframe_destroy(&body);
        zmsg_destroy(&msg);
        codec_free_batch(&b);
    }
    zpoller_destroy(&poller);
    CHECK_EQ(status, 0);
    CHECK(batches >= 4); /* 3 batches of events, at least one sent twice */
    CHECK(s_log_has(e.log, "ACK-TIMEOUT"));
    CHECK(s_log_has(e.log, "EVENT-REJECTED id="));
    CHECK(s_log_has(e.log, "code=invalid_field reason=\"test says no\""));
    CHECK_EQ(s_agent(&e, "status", NULL, NULL), 0);
    CHECK(s_log_has(e.log, "queued=0 rejected=1 known_ids=1200"));
    CHECK(s_log_has(e.log, "reason=test says no"));
    s_teardown(&e);
}

static bool s_refused(void *arg)
{
    return s_log_has(arg, "not authorized");
}

static void test_unlisted_key_gets_nothing(void)
{
    s_env_t e;
    s_setup(&e, false);
    pid_t pid = s_spawn_run(&e);
    CHECK(tu_wait_for(s_refused, e.log, 10000));
    zpoller_t *poller = zpoller_new(e.router, NULL);
    CHECK(zpoller_wait(poller, 300) == NULL); /* nothing got through */
    zpoller_destroy(&poller);
    kill(pid, SIGTERM);
    CHECK_EQ(tu_wait(pid, 10000), 0); /* stops cleanly */
    CHECK_EQ(s_agent(&e, "status", NULL, NULL), 0);
    CHECK(s_log_has(e.log, "queued=1200 rejected=0"));
    s_teardown(&e);
}

static const test_case_t s_cases[] = {
    {"acks, resend and rejects", test_acks_resend_and_rejects},
    {"unlisted key gets nothing", test_unlisted_key_gets_nothing},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
