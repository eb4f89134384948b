/* hostile.h: helpers shared by the hostile-input tests in tests/fault/
 * (auth_test, abuse_test, secrets_test):
 * raw DEALER clients with a socket monitor (so a test can wait for the
 * handshake to succeed or fail instead of sleeping), batches of simple
 * organisation events, and reading an Ack with a deadline. Header-only:
 * each test is one binary. */
#ifndef FINSAM_TEST_HOSTILE_H
#define FINSAM_TEST_HOSTILE_H

#include "cluster.h"
#include "codec.h"
#include "testutil.h"

#include <czmq.h>
#include <signal.h>
#include <string.h>

/* A failed CHECK exits the test at once: kill the collectors it started,
 * so no process outlives the test (atexit runs before testutil removes
 * the temporary directories, which were registered earlier). */
static cluster_t *s_hostile_clusters[8];
static pid_t s_hostile_pids[16];

static inline void s_hostile_kill_all(void)
{
    for (int i = 0; i < 16; i++)
        if (s_hostile_pids[i] > 0 && kill(s_hostile_pids[i], SIGKILL) == 0)
            tu_wait(s_hostile_pids[i], 5000);
    for (int i = 0; i < 8; i++)
        if (s_hostile_clusters[i] && s_hostile_clusters[i]->collector > 0) {
            kill(s_hostile_clusters[i]->collector, SIGKILL);
            tu_wait(s_hostile_clusters[i]->collector, 5000);
            s_hostile_clusters[i]->collector = 0;
        }
}

/* cluster_init plus the kill-at-exit registration. */
static inline void hostile_cluster_init(cluster_t *c)
{
    static bool registered;
    cluster_init(c);
    for (int i = 0; i < 8; i++)
        if (!s_hostile_clusters[i]) {
            s_hostile_clusters[i] = c;
            break;
        }
    if (!registered)
        atexit(s_hostile_kill_all);
    registered = true;
}

/* Records an agent the test started, killed at exit unless reaped with
 * hostile_wait. Returns pid. */
static inline pid_t hostile_track(pid_t pid)
{
    for (int i = 0; i < 16; i++)
        if (s_hostile_pids[i] <= 0) {
            s_hostile_pids[i] = pid;
            break;
        }
    return pid;
}

/* tu_wait that forgets the pid once reaped, so a later process reusing
 * the number is never killed at exit. */
static inline int hostile_wait(pid_t pid, int timeout_ms)
{
    int rc = tu_wait(pid, timeout_ms);
    for (int i = 0; rc != -1 && i < 16; i++)
        if (s_hostile_pids[i] == pid)
            s_hostile_pids[i] = 0;
    return rc;
}

typedef struct {
    zsock_t *sock;
    void *mon; /* PAIR receiving the socket's monitor events */
} hostile_client_t;

/* A DEALER to endpoint. mine: the client's certificate (NULL: no CURVE,
 * the NULL mechanism); server_public: the server key it expects. The
 * monitor is attached before connecting so no event is missed. */
static inline hostile_client_t hostile_client(const char *endpoint, zcert_t *mine, const char *server_public)
{
    static int n;
    hostile_client_t c;
    c.sock = zsock_new(ZMQ_DEALER);
    CHECK(c.sock);
    zsock_set_linger(c.sock, 0);
    zsock_set_rcvtimeo(c.sock, 10000);
    zsock_set_sndtimeo(c.sock, 10000);
    if (mine) {
        zcert_apply(mine, c.sock);
        zsock_set_curve_serverkey(c.sock, server_public);
    }
    char mon[64];
    snprintf(mon, sizeof mon, "inproc://hostile-monitor-%d", n++);
    CHECK(zmq_socket_monitor(zsock_resolve(c.sock), mon,
                             ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                 ZMQ_EVENT_DISCONNECTED) == 0);
    c.mon = zmq_socket(zsys_init(), ZMQ_PAIR);
    CHECK(c.mon && zmq_connect(c.mon, mon) == 0);
    CHECK(zsock_connect(c.sock, "%s", endpoint) == 0);
    return c;
}

static inline void hostile_client_destroy(hostile_client_t *c)
{
    zmq_socket_monitor(zsock_resolve(c->sock), NULL, 0);
    zmq_close(c->mon);
    zsock_destroy(&c->sock);
}

/* Waits for the first handshake outcome: ZMQ_EVENT_HANDSHAKE_SUCCEEDED,
 * one of the ..._FAILED_... events, ZMQ_EVENT_DISCONNECTED (the server
 * dropped us mid-handshake), or 0 on timeout. */
static inline int hostile_handshake(hostile_client_t *c, int timeout_ms)
{
    zmq_pollitem_t item = {c->mon, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) <= 0)
        return 0;
    zmq_msg_t m;
    zmq_msg_init(&m);
    CHECK(zmq_msg_recv(&m, c->mon, 0) >= 6);
    uint16_t event;
    memcpy(&event, zmq_msg_data(&m), 2);
    zmq_msg_close(&m);
    zmq_msg_init(&m);
    zmq_msg_recv(&m, c->mon, 0); /* the endpoint frame */
    zmq_msg_close(&m);
    return event;
}

static inline bool hostile_refused(int event)
{
    return event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
           event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL || event == ZMQ_EVENT_DISCONNECTED;
}

/* Loads a certificate from an agent's or the collector's key directory. */
static inline zcert_t *hostile_cert(const char *dir, const char *file)
{
    char path[512];
    snprintf(path, sizeof path, "%s/keys/%s", dir, file);
    zcert_t *c = zcert_load(path);
    CHECK(c != NULL);
    return c;
}

/* An encoded organisation report of `forbund`, id (prefix, n), answer
 * o_forum_moten = value (the scale is 0..100000; other values are bad). */
static inline uint8_t *hostile_event(const char *forbund, uint32_t prefix, uint32_t n, int32_t value,
                                     size_t *len)
{
    Finsam__V1__Event ev = FINSAM__V1__EVENT__INIT;
    Finsam__V1__OrganisationReport org = FINSAM__V1__ORGANISATION_REPORT__INIT;
    Finsam__V1__Answer a = FINSAM__V1__ANSWER__INIT, *ap = &a;
    a.item = "o_forum_moten";
    a.value = value;
    org.n_answers = 1;
    org.answers = &ap;
    uint8_t id[16] = {0, 0, 0x50, 0x2e};
    id[8] = (uint8_t) (prefix >> 24);
    id[9] = (uint8_t) (prefix >> 16);
    id[10] = (uint8_t) (prefix >> 8);
    id[11] = (uint8_t) prefix;
    id[12] = (uint8_t) (n >> 24);
    id[13] = (uint8_t) (n >> 16);
    id[14] = (uint8_t) (n >> 8);
    id[15] = (uint8_t) n;
    ev.id = (ProtobufCBinaryData){16, id};
    ev.forbund = (char *) forbund;
    ev.occurred_at = 1767268800; /* 2026-01-01 12:00 Stockholm */
    ev.catalogue_version = 1;
    ev.body_case = FINSAM__V1__EVENT__BODY_ORGANISATION;
    ev.organisation = &org;
    uint8_t *out = codec_pack(&ev.base, len);
    CHECK(out);
    return out;
}

/* A batch of n events (prefix, first..first+n-1); event number `bad` (or
 * -1 for none) carries an answer off the scale. */
static inline uint8_t *hostile_batch(const char *forbund, uint64_t seq, uint32_t prefix, uint32_t first,
                                     size_t n, long bad, size_t *len)
{
    ProtobufCBinaryData *ev = calloc(n + 1, sizeof *ev);
    CHECK(ev);
    for (size_t i = 0; i < n; i++)
        ev[i].data = hostile_event(forbund, prefix, first + (uint32_t) i,
                                   (long) i == bad ? -5 : (int32_t) (i % 100), &ev[i].len);
    Finsam__V1__Batch b = FINSAM__V1__BATCH__INIT;
    b.version = 1;
    b.agent_id = "hostile-test";
    b.batch_seq = seq;
    b.n_events = n;
    b.events = ev;
    uint8_t *out = codec_pack(&b.base, len);
    for (size_t i = 0; i < n; i++)
        free(ev[i].data);
    free(ev);
    CHECK(out);
    return out;
}

/* Receives one Ack (NULL on timeout: the socket's receive timeout). */
static inline ack_msg_t *hostile_ack(zsock_t *s)
{
    zframe_t *f = zframe_recv(s);
    if (!f)
        return NULL;
    ack_msg_t *ack = codec_decode_ack(zframe_data(f), zframe_size(f));
    zframe_destroy(&f);
    CHECK(ack != NULL);
    return ack;
}

#endif
