/* auth_unit_test.c: collector/auth.c through auth.h — the ZAP handler
 * with real CURVE sockets on 127.0.0.1: a key on the domain's allow-list
 * completes the handshake on its socket (and the message carries the
 * User-Id and the certificate's metadata), an unlisted key does not; the
 * agents' list admits on "ingest" only and the subscribers' list on
 * "stream" only. */
#include "auth.h"
#include "keys.h"
#include "monitor.h"
#include "testutil.h"

#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One case's world: the handler, its two lists, a server keypair. */
typedef struct {
    void *ctx;
    allowlist_t *agents, *subscribers;
    auth_t *auth;
    zcert_t *server;
    char dir[256];
} s_world_t;

/* Writes a keypair: listed in dir/<list> when list is not NULL, else in
 * dir/unlisted. Returns its secret cert. */
static zcert_t *s_key(const char *dir, const char *list, const char *name, const char *meta_key,
                      const char *meta_value)
{
    char sub[512], path[600], secret[700], err[256] = "";
    snprintf(sub, sizeof sub, "%s/%s", dir, list ? list : "unlisted");
    mkdir(sub, 0700);
    snprintf(path, sizeof path, "%s/%s.key", sub, name);
    CHECK(keys_generate_meta(path, name, meta_key, meta_value, err, sizeof err) == 0);
    snprintf(secret, sizeof secret, "%s_secret", path);
    zcert_t *c = keys_load_secret(secret, err, sizeof err);
    CHECK(c);
    if (list) /* the allow-list reads public certificates only */
        CHECK(rename(secret, tu_file_in(dir, name, "")) == 0);
    return c;
}

static void s_world(s_world_t *w)
{
    memset(w, 0, sizeof *w);
    snprintf(w->dir, sizeof w->dir, "%s", tu_tempdir());
    char a[400], s[400];
    snprintf(a, sizeof a, "%s/agents", w->dir);
    snprintf(s, sizeof s, "%s/subscribers", w->dir);
    mkdir(a, 0700);
    mkdir(s, 0700);
    w->server = zcert_new();
    w->ctx = zmq_ctx_new();
    CHECK(w->ctx && w->server);
}

/* Loads the lists as they are now and binds the handler. */
static void s_start(s_world_t *w)
{
    char a[400], s[400];
    snprintf(a, sizeof a, "%s/agents", w->dir);
    snprintf(s, sizeof s, "%s/subscribers", w->dir);
    w->agents = allowlist_new(a, "forbund", allowlist_valid_forbund);
    w->subscribers = allowlist_new(s, "access", allowlist_valid_access);
    CHECK(w->agents && w->subscribers);
    w->auth = auth_new(w->ctx, w->agents, w->subscribers);
    CHECK(w->auth);
}

static void s_end(s_world_t *w)
{
    auth_destroy(&w->auth);
    allowlist_destroy(&w->agents);
    allowlist_destroy(&w->subscribers);
    zcert_destroy(&w->server);
    zmq_ctx_term(w->ctx);
}

/* What a client of `key` saw connecting to a CURVE server socket of
 * `domain`: 1 if its message arrived (meta filled from it), 0 if the
 * server's monitor saw the handshake refused. */
typedef struct {
    char user_id[64];
    char meta[64];
} s_seen_t;

static int s_handshake(s_world_t *w, const char *domain, zcert_t *key, const char *meta_name, s_seen_t *seen)
{
    void *r = zmq_socket(w->ctx, ZMQ_ROUTER);
    int one = 1, zero = 0;
    CHECK(r);
    zmq_setsockopt(r, ZMQ_LINGER, &zero, sizeof zero);
    CHECK(zmq_setsockopt(r, ZMQ_ZAP_DOMAIN, domain, strlen(domain)) == 0);
    CHECK(zmq_setsockopt(r, ZMQ_CURVE_SERVER, &one, sizeof one) == 0);
    CHECK(zmq_setsockopt(r, ZMQ_CURVE_SECRETKEY, zcert_secret_key(w->server), 32) == 0);
    CHECK(zmq_bind(r, "tcp://127.0.0.1:*") == 0);
    char ep[128];
    size_t len = sizeof ep;
    CHECK(zmq_getsockopt(r, ZMQ_LAST_ENDPOINT, ep, &len) == 0);
    void *mon = monitor_open(w->ctx, r, domain,
                             ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL);
    CHECK(mon);

    void *d = zmq_socket(w->ctx, ZMQ_DEALER);
    CHECK(d);
    zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero);
    CHECK(zmq_setsockopt(d, ZMQ_CURVE_SERVERKEY, zcert_public_key(w->server), 32) == 0);
    CHECK(zmq_setsockopt(d, ZMQ_CURVE_PUBLICKEY, zcert_public_key(key), 32) == 0);
    CHECK(zmq_setsockopt(d, ZMQ_CURVE_SECRETKEY, zcert_secret_key(key), 32) == 0);
    CHECK(zmq_connect(d, ep) == 0);
    CHECK(zmq_send(d, "hello", 5, 0) == 5);

    /* The collector's loop in small: answer ZAP, watch the monitor, take
     * what arrives; a refused handshake is final for this test (the client
     * would retry, and be refused again). */
    int result = -1;
    int64_t deadline = s_now_ms() + 10000;
    while (result < 0 && s_now_ms() < deadline) {
        zmq_pollitem_t it[] = {
            {auth_socket(w->auth), 0, ZMQ_POLLIN, 0}, {mon, 0, ZMQ_POLLIN, 0}, {r, 0, ZMQ_POLLIN, 0}};
        zmq_poll(it, 3, 200);
        if (it[0].revents)
            while (auth_handle(w->auth) > 0)
                ;
        uint16_t ev;
        uint32_t value;
        char where[128];
        while (it[1].revents && monitor_next(mon, &ev, &value, where, sizeof where))
            if (ev == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
                CHECK_EQ(value, 400);
                result = 0;
            }
        if (it[2].revents) {
            zmq_msg_t id, body;
            zmq_msg_init(&id);
            zmq_msg_init(&body);
            CHECK(zmq_msg_recv(&id, r, 0) >= 0);
            CHECK(zmq_msg_recv(&body, r, 0) == 5);
            const char *uid = zmq_msg_gets(&body, "User-Id");
            const char *m = zmq_msg_gets(&body, meta_name);
            snprintf(seen->user_id, sizeof seen->user_id, "%s", uid ? uid : "");
            snprintf(seen->meta, sizeof seen->meta, "%s", m ? m : "");
            zmq_msg_close(&id);
            zmq_msg_close(&body);
            result = 1;
        }
    }
    CHECK(result >= 0);
    zmq_close(d);
    zmq_close(mon);
    zmq_close(r);
    return result;
}

static void test_listed_agent_admitted_on_ingest(void)
{
    s_world_t w;
    s_world(&w);
    zcert_t *agent = s_key(w.dir, "agents", "nv", "forbund", "NV");
    s_start(&w);
    s_seen_t seen;
    CHECK_EQ(s_handshake(&w, "ingest", agent, "forbund", &seen), 1);
    CHECK(strcmp(seen.user_id, zcert_public_txt(agent)) == 0);
    CHECK(strcmp(seen.meta, "NV") == 0); /* the förbund is the certificate's */
    CHECK_EQ(auth_refused(w.auth), 0);
    zcert_destroy(&agent);
    s_end(&w);
}

static void test_unlisted_key_refused(void)
{
    s_world_t w;
    s_world(&w);
    zcert_t *listed = s_key(w.dir, "agents", "nv", "forbund", "NV");
    zcert_t *stranger = s_key(w.dir, NULL, "stranger", "forbund", "NV");
    s_start(&w);
    s_seen_t seen;
    CHECK_EQ(s_handshake(&w, "ingest", stranger, "forbund", &seen), 0);
    CHECK(auth_refused(w.auth) >= 1);
    /* The handler goes on answering: the listed key still gets in. */
    CHECK_EQ(s_handshake(&w, "ingest", listed, "forbund", &seen), 1);
    zcert_destroy(&listed);
    zcert_destroy(&stranger);
    s_end(&w);
}

static void test_agent_key_not_a_subscriber(void)
{
    s_world_t w;
    s_world(&w);
    zcert_t *agent = s_key(w.dir, "agents", "nv", "forbund", "NV");
    s_start(&w);
    s_seen_t seen;
    CHECK_EQ(s_handshake(&w, "stream", agent, "access", &seen), 0);
    CHECK(auth_refused(w.auth) >= 1);
    zcert_destroy(&agent);
    s_end(&w);
}

static void test_subscriber_on_stream_only(void)
{
    s_world_t w;
    s_world(&w);
    zcert_t *reader = s_key(w.dir, "subscribers", "reader", "access", "aggregates");
    s_start(&w);
    s_seen_t seen;
    CHECK_EQ(s_handshake(&w, "stream", reader, "access", &seen), 1);
    CHECK(strcmp(seen.user_id, zcert_public_txt(reader)) == 0);
    CHECK(strcmp(seen.meta, "aggregates") == 0);
    CHECK_EQ(auth_refused(w.auth), 0);
    /* A subscriber key must never publish. */
    CHECK_EQ(s_handshake(&w, "ingest", reader, "forbund", &seen), 0);
    CHECK(auth_refused(w.auth) >= 1);
    zcert_destroy(&reader);
    s_end(&w);
}

static void test_unknown_domain_refused(void)
{
    s_world_t w;
    s_world(&w);
    zcert_t *agent = s_key(w.dir, "agents", "nv", "forbund", "NV");
    s_start(&w);
    s_seen_t seen;
    CHECK_EQ(s_handshake(&w, "admin", agent, "forbund", &seen), 0);
    zcert_destroy(&agent);
    s_end(&w);
}

static void test_removed_key_refused_after_reload(void)
{
    s_world_t w;
    s_world(&w);
    zcert_t *agent = s_key(w.dir, "agents", "nv", "forbund", "NV");
    s_start(&w);
    s_seen_t seen;
    CHECK_EQ(s_handshake(&w, "ingest", agent, "forbund", &seen), 1);
    char path[600];
    snprintf(path, sizeof path, "%s/agents/nv.key", w.dir);
    CHECK(unlink(path) == 0);
    allowlist_reload(w.agents);
    CHECK_EQ(s_handshake(&w, "ingest", agent, "forbund", &seen), 0);
    zcert_destroy(&agent);
    s_end(&w);
}

static void test_second_handler_refused(void)
{
    /* One ZAP endpoint per context: a second handler cannot bind. */
    s_world_t w;
    s_world(&w);
    s_start(&w);
    auth_t *again = auth_new(w.ctx, w.agents, w.subscribers);
    CHECK(again == NULL);
    CHECK_EQ(auth_handle(w.auth), 0); /* nothing waits: no block */
    s_end(&w);
}

static const test_case_t s_cases[] = {
    {"listed agent admitted on ingest", test_listed_agent_admitted_on_ingest},
    {"unlisted key refused", test_unlisted_key_refused},
    {"agent key not a subscriber", test_agent_key_not_a_subscriber},
    {"subscriber on stream only", test_subscriber_on_stream_only},
    {"unknown domain refused", test_unknown_domain_refused},
    {"removed key refused after reload", test_removed_key_refused_after_reload},
    {"second handler refused", test_second_handler_refused},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
