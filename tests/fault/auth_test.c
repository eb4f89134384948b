/* auth_test.c: who may store events, against a real collector.
 *
 * Proves, each with real processes and sockets on 127.0.0.1:
 *  - a client without CURVE (NULL mechanism), a client expecting another
 *    server key, and a CURVE key that is not on the allow-list all fail the
 *    handshake, get no answer and store nothing, while a listed key works;
 *    the unlisted key is logged (AUTH-REFUSED);
 *  - revocation: removing a connected agent's certificate from the
 *    allow-list directory cuts it off within seconds (batch_error
 *    unauthorized, logged as BATCH-REJECTED), and nothing it sends
 *    afterwards is stored;
 *  - secret key files readable by group/others are refused by
 *    finsam-collector and finsam-agent (exit 77 both), without the
 *    secret in the message.
 * An agent spoofing another förbund (every event rejected forbidden) is
 * tests/e2e/pipeline_test.c test_authorization; not repeated here. */
#include "hostile.h"

#include <signal.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

static int64_t s_now_ms(void)
{
    return zclock_mono();
}

/* Sends a batch and expects no answer at all within wait_ms. */
static void s_expect_silence(hostile_client_t *c, uint64_t seq, int wait_ms)
{
    size_t len;
    uint8_t *b = hostile_batch("NV", seq, 0xbad0000 + (uint32_t) seq, 1, 5, -1, &len);
    /* The message may sit in the pipe of a connection that never completes:
     * sending succeeds, nothing leaves. */
    zsock_set_sndtimeo(c->sock, 0);
    zsock_send(c->sock, "b", b, len);
    free(b);
    zsock_set_rcvtimeo(c->sock, wait_ms);
    zframe_t *f = zframe_recv(c->sock);
    CHECK(f == NULL);
}

static void test_refused_clients(void)
{
    static cluster_t c; /* static: hostile.h kills its collector at exit */
    hostile_cluster_init(&c);
    char nv[320], stranger[320];
    cluster_add_agent(&c, "nv", "NV", true, nv, sizeof nv);
    cluster_add_agent(&c, "stranger", "NV", false, stranger, sizeof stranger);
    cluster_start_collector(&c);
    zcert_t *server = hostile_cert(c.cdir, "collector.key");
    zcert_t *nv_cert = hostile_cert(nv, "agent.key_secret");
    zcert_t *stranger_cert = hostile_cert(stranger, "agent.key_secret");
    zcert_t *other_server = zcert_new();

    /* 1. No CURVE at all: the mechanisms do not match. */
    hostile_client_t plain = hostile_client(c.endpoint, NULL, NULL);
    int ev = hostile_handshake(&plain, 10000);
    fprintf(stderr, "plain DEALER: handshake event 0x%x\n", ev);
    CHECK(hostile_refused(ev));
    s_expect_silence(&plain, 1, 1000);
    hostile_client_destroy(&plain);

    /* 2. A listed client key, but it expects another server key: the
     * collector cannot open its HELLO. */
    hostile_client_t wrong = hostile_client(c.endpoint, nv_cert, zcert_public_txt(other_server));
    ev = hostile_handshake(&wrong, 10000);
    fprintf(stderr, "wrong server key: handshake event 0x%x\n", ev);
    CHECK(hostile_refused(ev));
    s_expect_silence(&wrong, 2, 1000);
    hostile_client_destroy(&wrong);

    /* 3. A good CURVE handshake with a key that is not on the list: the ZAP
     * handler says 400. */
    hostile_client_t unlisted = hostile_client(c.endpoint, stranger_cert, zcert_public_txt(server));
    ev = hostile_handshake(&unlisted, 10000);
    fprintf(stderr, "unlisted key: handshake event 0x%x\n", ev);
    CHECK_EQ(ev, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    s_expect_silence(&unlisted, 3, 1000);
    hostile_client_destroy(&unlisted);

    /* The control: the listed key with the right server key is answered. */
    hostile_client_t good = hostile_client(c.endpoint, nv_cert, zcert_public_txt(server));
    CHECK_EQ(hostile_handshake(&good, 10000), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    size_t len;
    uint8_t *b = hostile_batch("NV", 9, 1, 1, 5, -1, &len);
    CHECK(zsock_send(good.sock, "b", b, len) == 0);
    free(b);
    ack_msg_t *ack = hostile_ack(good.sock);
    CHECK(ack && !ack->has_batch_error && ack->n_accepted == 5);
    codec_free_ack(&ack);
    hostile_client_destroy(&good);

    /* Only the control's five events are stored. */
    CHECK_EQ(cluster_events_in_log(&c), 5);
    CHECK_EQ(cluster_stored(&c, "NV"), 5);
    /* Refusals in the collector's log: the ZAP refusal names the key. The
     * NULL-mechanism and wrong-server-key attempts fail inside libzmq
     * before any ZAP request; the collector's socket monitor logs them
     * (HANDSHAKE-FAILED). */
    char needle[64];
    snprintf(needle, sizeof needle, "AUTH-REFUSED domain=ingest");
    CHECK(tu_count_in_file(c.log, needle) >= 1);
    snprintf(needle, sizeof needle, "key=%.8s", zcert_public_txt(stranger_cert));
    CHECK(tu_count_in_file(c.log, needle) >= 1);
    int handshake_logged = tu_count_in_file(c.log, "HANDSHAKE-FAILED");
    fprintf(stderr, "collector log: AUTH-REFUSED lines=%d, HANDSHAKE-FAILED lines=%d\n",
            tu_count_in_file(c.log, "AUTH-REFUSED"), handshake_logged);
    CHECK(handshake_logged >= 1);

    zcert_destroy(&server);
    zcert_destroy(&nv_cert);
    zcert_destroy(&stranger_cert);
    zcert_destroy(&other_server);
    cluster_stop_collector(&c, SIGTERM);
}

static void test_revocation_cuts_off_connected_agent(void)
{
    static cluster_t c; /* static: hostile.h kills its collector at exit */
    hostile_cluster_init(&c);
    char vas[320];
    cluster_add_agent(&c, "vas", "VAS", true, vas, sizeof vas);
    cluster_start_collector(&c);
    zcert_t *server = hostile_cert(c.cdir, "collector.key");
    zcert_t *mine = hostile_cert(vas, "agent.key_secret");
    hostile_client_t cl = hostile_client(c.endpoint, mine, zcert_public_txt(server));
    CHECK_EQ(hostile_handshake(&cl, 10000), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);

    uint64_t seq = 1;
    uint32_t next_id = 1;
    long stored = 0;
    size_t len;
    uint8_t *b = hostile_batch("VAS", seq++, 2, next_id, 10, -1, &len);
    next_id += 10;
    CHECK(zsock_send(cl.sock, "b", b, len) == 0);
    free(b);
    ack_msg_t *ack = hostile_ack(cl.sock);
    CHECK(ack && !ack->has_batch_error && ack->n_accepted == 10);
    stored += 10;
    codec_free_ack(&ack);

    /* Revoke while connected. */
    char cert[512];
    snprintf(cert, sizeof cert, "%s/agents/vas.key", c.cdir);
    CHECK(unlink(cert) == 0);
    int64_t t0 = s_now_ms(), cut_ms = -1;
    /* Keep sending; every answer is either a full accept (the table has not
     * been refreshed yet) or the refusal. Bounded: 15 s. */
    while (s_now_ms() - t0 < 15000) {
        b = hostile_batch("VAS", seq++, 2, next_id, 10, -1, &len);
        next_id += 10;
        CHECK(zsock_send(cl.sock, "b", b, len) == 0);
        free(b);
        ack = hostile_ack(cl.sock);
        CHECK(ack != NULL);
        if (ack->has_batch_error) {
            CHECK_EQ(ack->batch_error, FINSAM__V1__REJECT_CODE__REJECT_UNAUTHORIZED);
            CHECK_EQ(ack->n_accepted, 0);
            cut_ms = s_now_ms() - t0;
            codec_free_ack(&ack);
            break;
        }
        CHECK_EQ(ack->n_accepted, 10);
        stored += 10;
        codec_free_ack(&ack);
        /* Pace the probe to ~50 batches/s: the point is latency, not load. */
        zclock_sleep(20);
    }
    fprintf(stderr, "revocation: cut off %lld ms after the certificate was removed (%ld events stored)\n",
            (long long) cut_ms, stored);
    CHECK(cut_ms >= 0 && cut_ms < 5000);
    /* From now on nothing is stored. */
    for (int i = 0; i < 20; i++) {
        b = hostile_batch("VAS", seq++, 2, next_id, 10, -1, &len);
        next_id += 10;
        CHECK(zsock_send(cl.sock, "b", b, len) == 0);
        free(b);
        ack = hostile_ack(cl.sock);
        CHECK(ack && ack->has_batch_error &&
              ack->batch_error == FINSAM__V1__REJECT_CODE__REJECT_UNAUTHORIZED);
        codec_free_ack(&ack);
    }
    CHECK_EQ(cluster_events_in_log(&c), stored);
    CHECK_EQ(cluster_stored(&c, "VAS"), stored);
    CHECK(tu_count_in_file(c.log, "code=unauthorized") >= 21);
    hostile_client_destroy(&cl);

    /* A new connection with the revoked key no longer gets through the
     * handshake at all. */
    hostile_client_t again = hostile_client(c.endpoint, mine, zcert_public_txt(server));
    CHECK_EQ(hostile_handshake(&again, 10000), ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    hostile_client_destroy(&again);
    zcert_destroy(&mine);
    zcert_destroy(&server);
    cluster_stop_collector(&c, SIGTERM);
}

/* Runs argv with stdout+stderr captured to a file; returns the exit code
 * and the output (caller frees). */
static int s_run_capture(char *const argv[], const char *log, char **out)
{
    unlink(log);
    int rc = tu_run(argv, log, 30000);
    *out = tu_read_file(log);
    CHECK(*out != NULL);
    return rc;
}

/* The Z85 secret key as written in a certificate file. */
static void s_secret_z85(const char *path, char out[41])
{
    char *text = tu_read_file(path);
    CHECK(text);
    const char *p = strstr(text, "secret-key = \"");
    CHECK(p);
    memcpy(out, p + 14, 40);
    out[40] = '\0';
    free(text);
}

static void test_readable_secret_keys_refused(void)
{
    static cluster_t c; /* static: hostile.h kills its collector at exit */
    hostile_cluster_init(&c);
    char nv[320], log[400], secret[512], z85[41];
    cluster_add_agent(&c, "nv", "NV", true, nv, sizeof nv);
    snprintf(log, sizeof log, "%s/refused.log", c.dir);
    char *out;

    /* Collector: its CURVE secret at 0644. */
    snprintf(secret, sizeof secret, "%s/keys/collector.key_secret", c.cdir);
    s_secret_z85(secret, z85);
    CHECK(chmod(secret, 0644) == 0);
    char *crun[] = {(char *) tu_bin("finsam-collector"),
                    "-d",
                    c.cdir,
                    "--endpoint",
                    c.endpoint,
                    "--http",
                    "off",
                    "--stream-events",
                    "off",
                    "run",
                    NULL};
    int rc = s_run_capture(crun, log, &out);
    fprintf(stderr, "collector with a 0644 secret: exit %d: %s", rc, out);
    CHECK_EQ(rc, EX_NOPERM); /* 77, documented in --help */
    CHECK(strstr(out, "0644") && !strstr(out, z85));
    free(out);
    /* check-config binds nothing (tests/cli/check_config_test.c); ephemeral
     * ports and no streams all the same. */
    char *ccheck[] = {(char *) tu_bin("finsam-collector"),
                      "-d",
                      c.cdir,
                      "--http",
                      "off",
                      "--endpoint",
                      "tcp://127.0.0.1:*",
                      "--stream-events",
                      "off",
                      "check-config",
                      NULL};
    CHECK_EQ(s_run_capture(ccheck, log, &out), EX_NOPERM);
    free(out);
    CHECK(chmod(secret, 0640) == 0); /* group-readable is as bad */
    CHECK_EQ(s_run_capture(ccheck, log, &out), EX_NOPERM);
    free(out);
    CHECK(chmod(secret, 0600) == 0);

    /* Agent: its CURVE secret at 0644, then its pseudonym key at 0644. */
    snprintf(secret, sizeof secret, "%s/keys/agent.key_secret", nv);
    s_secret_z85(secret, z85);
    CHECK(chmod(secret, 0644) == 0);
    char *arun[] = {(char *) tu_bin("finsam-agent"), "-d", nv, "--collector", c.endpoint, "run", NULL};
    rc = s_run_capture(arun, log, &out);
    fprintf(stderr, "agent with a 0644 CURVE secret: exit %d: %s", rc, out);
    CHECK_EQ(rc, EX_NOPERM); /* 77: a key readable by others, as for the collector */
    CHECK(strstr(out, "0644") && !strstr(out, z85));
    free(out);
    CHECK(chmod(secret, 0600) == 0);
    char pkey[512];
    snprintf(pkey, sizeof pkey, "%s/keys/pseudonym.key", nv);
    char *hex = tu_read_file(pkey);
    CHECK(hex && strlen(hex) >= 64);
    hex[64] = '\0';
    CHECK(chmod(pkey, 0644) == 0);
    char *ademo[] = {(char *) tu_bin("finsam-agent"), "-d", nv, "demo", "--events", "10", "--no-send", NULL};
    rc = s_run_capture(ademo, log, &out);
    fprintf(stderr, "agent with a 0644 pseudonym key: exit %d: %s", rc, out);
    CHECK_EQ(rc, EX_NOPERM);
    CHECK(strstr(out, "0644") && !strstr(out, hex));
    free(out);
    free(hex);
    CHECK(chmod(pkey, 0600) == 0);
    /* And with the modes fixed, both start (the control). */
    CHECK_EQ(s_run_capture(ademo, log, &out), 0);
    free(out);
    CHECK_EQ(s_run_capture(ccheck, log, &out), 0);
    free(out);
}

static const test_case_t s_cases[] = {
    {"readable secret keys refused", test_readable_secret_keys_refused},
    {"refused clients", test_refused_clients},
    {"revocation cuts off a connected agent", test_revocation_cuts_off_connected_agent},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
