/* sender_unit_test.c: agents/sender.c through sender.h, in this process:
 * the sender's loop on the main thread, a stand-in collector (a CURVE
 * ROUTER on 127.0.0.1, its own ZeroMQ context) on a second thread. Checks
 * the limits of sender_new, that at most `window` batches of at most
 * `batch_size` events are in flight, that events go out once each in queue
 * order, and that they leave the outbox only when acked. The real binary
 * against a stand-in (lost acks, rejections, an unlisted key) is
 * tests/agents/sender_test.c. */
#include "events.h"
#include "testutil.h"

#include "keys.h"
#include "sender.h"

#include <pthread.h>
#include <string.h>
#include <sys/stat.h>

#define S_EVENTS 11
#define S_BATCH 2
#define S_WINDOW 3

typedef struct {
    char dir[256], secret[320], server_pub[320];
    zcert_t *server;
    outbox_t *ob;
} s_site_t;

static void s_site(s_site_t *s, int events)
{
    char err[256], path[300];
    snprintf(s->dir, sizeof s->dir, "%s", tu_tempdir());
    snprintf(path, sizeof path, "%s/agent.key", s->dir);
    CHECK(keys_generate(path, "agent", "NV", err, sizeof err) == 0);
    snprintf(s->secret, sizeof s->secret, "%s_secret", path);
    s->server = zcert_new();
    snprintf(s->server_pub, sizeof s->server_pub, "%s/collector.key", s->dir);
    CHECK(zcert_save_public(s->server, s->server_pub) == 0);
    snprintf(path, sizeof path, "%s/outbox", s->dir);
    CHECK(mkdir(path, 0700) == 0);
    CHECK(outbox_open(&s->ob, path, err, sizeof err) == FIN_OK);
    for (int n = 1; n <= events; n++) {
        outbox_item_t it;
        memset(&it, 0, sizeof it);
        size_t len;
        uint8_t *bytes =
            ev_survey((uint32_t) n, "NV", (uint32_t) n, "deltagare_avslut", "d_behov", 3, 1, T_2026_03, &len);
        ev_id(it.id, (uint32_t) n);
        it.content[0] = (uint8_t) n;
        it.bytes = bytes;
        it.len = len;
        outbox_put_stats_t st;
        CHECK(outbox_put(s->ob, &it, 1, false, &st, err, sizeof err) == FIN_OK);
        free(bytes);
    }
}

static void s_site_close(s_site_t *s)
{
    outbox_close(&s->ob);
    zcert_destroy(&s->server);
}

static sender_config_t s_config(const s_site_t *s, const char *endpoint)
{
    return (sender_config_t){.endpoint = endpoint,
                             .secret_key_path = s->secret,
                             .server_key_path = s->server_pub,
                             .agent_id = "unit",
                             .batch_size = S_BATCH,
                             .window = S_WINDOW,
                             .ack_timeout_ms = 60000,
                             .exit_when_empty = true};
}

static void test_config_refused(void)
{
    s_site_t s;
    s_site(&s, 0);
    sender_t *snd = (sender_t *) 1;
    char err[512];
    sender_config_t c = s_config(&s, "tcp://127.0.0.1:1");
    c.batch_size = 0;
    CHECK_EQ(sender_new(&snd, s.ob, &c, err, sizeof err), FIN_ECONFIG);
    CHECK(snd == NULL && strstr(err, "batch size"));
    c = s_config(&s, "tcp://127.0.0.1:1");
    c.batch_size = 100000;
    CHECK_EQ(sender_new(&snd, s.ob, &c, err, sizeof err), FIN_ECONFIG);
    c = s_config(&s, "tcp://127.0.0.1:1");
    c.window = 0;
    CHECK_EQ(sender_new(&snd, s.ob, &c, err, sizeof err), FIN_ECONFIG);
    /* Our secret readable by others: refused, naming the fix. */
    c = s_config(&s, "tcp://127.0.0.1:1");
    CHECK(chmod(s.secret, 0644) == 0);
    CHECK_EQ(sender_new(&snd, s.ob, &c, err, sizeof err), FIN_ECONFIG);
    CHECK(strstr(err, "chmod 600"));
    CHECK(chmod(s.secret, 0600) == 0);
    /* The collector's key missing. */
    char absent[400];
    snprintf(absent, sizeof absent, "%s/absent.key", s.dir);
    c.server_key_path = absent;
    CHECK_EQ(sender_new(&snd, s.ob, &c, err, sizeof err), FIN_ECONFIG);
    CHECK(strstr(err, absent));
    /* An endpoint ZeroMQ cannot parse. */
    c = s_config(&s, "tcp://127.0.0.1:notaport");
    CHECK_EQ(sender_new(&snd, s.ob, &c, err, sizeof err), FIN_ECONFIG);
    CHECK(snd == NULL);
    /* And a good one connects in the background: no collector needed. */
    c = s_config(&s, "tcp://127.0.0.1:1");
    CHECK_EQ(sender_new(&snd, s.ob, &c, err, sizeof err), FIN_OK);
    sender_destroy(&snd);
    CHECK(snd == NULL);
    s_site_close(&s);
}

/* ---- the stand-in collector -------------------------------------------- */

typedef struct {
    void *ctx, *router;
    zcert_t *server;
    /* what it saw (read by the main thread after join) */
    int batches, max_in_flight, too_big, events;
    uint64_t last_batch_seq;
    bool out_of_order, bad;
    uint32_t ids[64];
} s_collector_t;

typedef struct {
    zmq_msg_t peer;
    uint8_t ids[S_BATCH][16];
    size_t n;
    uint64_t seq;
} s_pending_t;

static void s_ack(s_collector_t *c, s_pending_t *p)
{
    Finsam__V1__Ack ack = FINSAM__V1__ACK__INIT;
    ProtobufCBinaryData acc[S_BATCH];
    for (size_t i = 0; i < p->n; i++)
        acc[i] = (ProtobufCBinaryData){16, p->ids[i]};
    ack.batch_seq = p->seq;
    ack.n_accepted = p->n;
    ack.accepted = acc;
    size_t len;
    uint8_t *packed = codec_pack(&ack.base, &len);
    zmq_msg_send(&p->peer, c->router, ZMQ_SNDMORE);
    zmq_send(c->router, packed, len, 0);
    free(packed);
}

/* Holds acks until `window` batches are in flight (the sender must get
 * there without any ack: its ack timeout is a minute), then gives a batch
 * beyond the window 300 ms to arrive (the absence the case checks) and
 * acks the oldest. */
static void *s_collector_main(void *arg)
{
    s_collector_t *c = arg;
    s_pending_t pending[16];
    int npending = 0;
    while (c->events < S_EVENTS && !c->bad) {
        zmq_pollitem_t it = {c->router, 0, ZMQ_POLLIN, 0};
        int rc = zmq_poll(&it, 1, npending < S_WINDOW ? 10000 : 300);
        if (rc == 0 && npending >= S_WINDOW) {
            s_ack(c, &pending[0]);
            memmove(&pending[0], &pending[1], sizeof pending[0] * (size_t) --npending);
            continue;
        }
        if (rc <= 0) {
            c->bad = true;
            break;
        }
        if (npending == 16) {
            c->bad = true;
            break;
        }
        s_pending_t *p = &pending[npending];
        zmq_msg_t body;
        zmq_msg_init(&p->peer);
        zmq_msg_init(&body);
        zmq_msg_recv(&p->peer, c->router, 0);
        zmq_msg_recv(&body, c->router, 0);
        batch_msg_t *b = NULL;
        char why[256];
        if (codec_decode_batch(zmq_msg_data(&body), zmq_msg_size(&body), &b, why, sizeof why)) {
            c->bad = true;
            zmq_msg_close(&body);
            break;
        }
        c->batches++;
        c->too_big += b->n_events > S_BATCH;
        c->out_of_order |= b->batch_seq <= c->last_batch_seq;
        c->last_batch_seq = b->batch_seq;
        p->seq = b->batch_seq;
        p->n = 0;
        for (size_t i = 0; i < b->n_events && i < S_BATCH; i++) {
            event_msg_t *ev = NULL;
            if (codec_decode_event(b->events[i].data, b->events[i].len, &ev, why, sizeof why) ||
                ev->id.len != 16) {
                c->bad = true;
                codec_free_event(&ev);
                continue;
            }
            memcpy(p->ids[p->n++], ev->id.data, 16);
            if (c->events < 64)
                c->ids[c->events] = be32_get(ev->id.data + 4);
            c->events++;
            codec_free_event(&ev);
        }
        codec_free_batch(&b);
        zmq_msg_close(&body);
        npending++;
        if (npending > c->max_in_flight)
            c->max_in_flight = npending;
    }
    /* Everything arrived: ack what is held, so the sender can finish. */
    for (int i = 0; i < npending; i++) {
        s_ack(c, &pending[i]);
        zmq_msg_close(&pending[i].peer);
    }
    return NULL;
}

static void test_window_order_and_acks(void)
{
    s_site_t s;
    s_site(&s, S_EVENTS);
    s_collector_t c;
    memset(&c, 0, sizeof c);
    c.ctx = zmq_ctx_new();
    c.router = zmq_socket(c.ctx, ZMQ_ROUTER);
    int one = 1, zero = 0;
    CHECK(c.router);
    zmq_setsockopt(c.router, ZMQ_LINGER, &zero, sizeof zero);
    CHECK(zmq_setsockopt(c.router, ZMQ_CURVE_SERVER, &one, sizeof one) == 0);
    CHECK(zmq_setsockopt(c.router, ZMQ_CURVE_SECRETKEY, zcert_secret_key(s.server), 32) == 0);
    CHECK(zmq_bind(c.router, "tcp://127.0.0.1:*") == 0);
    char ep[128];
    size_t eplen = sizeof ep;
    CHECK(zmq_getsockopt(c.router, ZMQ_LAST_ENDPOINT, ep, &eplen) == 0);
    pthread_t th;
    CHECK(pthread_create(&th, NULL, s_collector_main, &c) == 0);

    sender_config_t cfg = s_config(&s, ep);
    sender_t *snd = NULL;
    char err[512];
    CHECK_EQ(sender_new(&snd, s.ob, &cfg, err, sizeof err), FIN_OK);
    volatile sig_atomic_t stop = 0;
    int rc = sender_run(snd, &stop); /* returns once every event is acked */
    sender_destroy(&snd);
    pthread_join(th, NULL);
    zmq_close(c.router);
    zmq_ctx_term(c.ctx);

    CHECK_EQ(rc, 0);
    CHECK(!c.bad);
    CHECK_EQ(c.events, S_EVENTS); /* each once: no ack was late */
    CHECK_EQ(c.batches, (S_EVENTS + S_BATCH - 1) / S_BATCH);
    CHECK_EQ(c.too_big, 0);
    CHECK_EQ(c.max_in_flight, S_WINDOW); /* the window filled, never more */
    CHECK(!c.out_of_order);
    for (int i = 0; i < S_EVENTS; i++)
        CHECK_EQ(c.ids[i], i + 1); /* queue order */
    size_t queued = 99, known = 0;
    CHECK(outbox_count(s.ob, &queued, NULL, &known, err, sizeof err) == FIN_OK);
    CHECK_EQ(queued, 0);
    CHECK_EQ(known, S_EVENTS);
    s_site_close(&s);
}

/* A stand-in that takes batches and never answers, read from the
 * sender's own loop (its watch tick, the same thread): it stops the sender
 * once the first batch is in. */
typedef struct {
    void *router;
    volatile sig_atomic_t *stop;
    int got;
} s_tick_t;

static void s_tick(void *arg)
{
    s_tick_t *t = arg;
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (zmq_msg_recv(&m, t->router, ZMQ_DONTWAIT) >= 0)
        if (!zmq_msg_more(&m))
            t->got++;
    zmq_msg_close(&m);
    if (t->got >= 1)
        *t->stop = 1;
}

static void test_unacked_events_stay(void)
{
    /* The collector takes a batch and never answers; the sender is
     * stopped: every event is still queued. */
    s_site_t s;
    s_site(&s, 5);
    void *ctx = zmq_ctx_new();
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    int one = 1, zero = 0;
    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
    CHECK(zmq_setsockopt(router, ZMQ_CURVE_SERVER, &one, sizeof one) == 0);
    CHECK(zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY, zcert_secret_key(s.server), 32) == 0);
    CHECK(zmq_bind(router, "tcp://127.0.0.1:*") == 0);
    char ep[128];
    size_t eplen = sizeof ep;
    CHECK(zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, ep, &eplen) == 0);
    sender_config_t cfg = s_config(&s, ep);
    sender_t *snd = NULL;
    char err[512];
    CHECK_EQ(sender_new(&snd, s.ob, &cfg, err, sizeof err), FIN_OK);
    volatile sig_atomic_t stop = 0;
    s_tick_t t = {router, &stop, 0};
    sender_watch_t w = {-1, NULL, s_tick, &t};
    sender_watch(snd, &w);
    CHECK_EQ(sender_run(snd, &stop), 0);
    CHECK(t.got >= 1);
    sender_destroy(&snd);
    zmq_close(router);
    zmq_ctx_term(ctx);
    size_t queued = 0;
    CHECK(outbox_count(s.ob, &queued, NULL, NULL, err, sizeof err) == FIN_OK);
    CHECK_EQ(queued, 5);
    s_site_close(&s);
}

static const test_case_t s_cases[] = {
    {"config refused", test_config_refused},
    {"window order and acks", test_window_order_and_acks},
    {"unacked events stay", test_unacked_events_stay},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
