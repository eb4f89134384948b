/* monitor_test.c: collector/monitor.c through monitor.h — a real socket
 * monitor on a ROUTER bound to 127.0.0.1 (ephemeral port) sees a peer's
 * accept and disconnect, only the events asked for, with the endpoint the
 * socket reports; monitor_next never blocks. */
#include "monitor.h"
#include "testutil.h"

#include <string.h>
#include <time.h>
#include <zmq.h>

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct {
    uint16_t event;
    uint32_t value;
    char endpoint[128];
} s_event_t;

/* Polls the monitor until an event of `want` arrives (others are skipped
 * and counted in *other if not NULL) or timeout_ms passes. */
static bool s_wait(void *mon, uint16_t want, s_event_t *ev, int timeout_ms, int *other)
{
    int64_t deadline = s_now_ms() + timeout_ms;
    for (;;) {
        while (monitor_next(mon, &ev->event, &ev->value, ev->endpoint, sizeof ev->endpoint)) {
            if (ev->event == want)
                return true;
            if (other)
                (*other)++;
        }
        int64_t left = deadline - s_now_ms();
        if (left <= 0)
            return false;
        zmq_pollitem_t it = {mon, 0, ZMQ_POLLIN, 0};
        zmq_poll(&it, 1, (long) left);
    }
}

/* A ROUTER bound to an ephemeral port of 127.0.0.1; endpoint filled. */
static void *s_bound(void *ctx, char *endpoint, size_t len)
{
    void *r = zmq_socket(ctx, ZMQ_ROUTER);
    int zero = 0;
    CHECK(r && zmq_setsockopt(r, ZMQ_LINGER, &zero, sizeof zero) == 0);
    CHECK(zmq_bind(r, "tcp://127.0.0.1:*") == 0);
    CHECK(zmq_getsockopt(r, ZMQ_LAST_ENDPOINT, endpoint, &len) == 0);
    return r;
}

static void *s_dealer(void *ctx, const char *endpoint)
{
    void *d = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    CHECK(d && zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero) == 0);
    CHECK(zmq_connect(d, endpoint) == 0);
    return d;
}

static void test_accept_then_disconnect(void)
{
    void *ctx = zmq_ctx_new();
    char ep[128];
    void *r = s_bound(ctx, ep, sizeof ep);
    void *mon = monitor_open(ctx, r, "t", ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED);
    CHECK(mon);
    s_event_t ev;
    CHECK(monitor_next(mon, &ev.event, &ev.value, ev.endpoint, sizeof ev.endpoint) == 0);

    void *d = s_dealer(ctx, ep);
    CHECK(s_wait(mon, ZMQ_EVENT_ACCEPTED, &ev, 5000, NULL));
    CHECK(strcmp(ev.endpoint, ep) == 0);
    CHECK(ev.value > 0); /* the accepted connection's descriptor */

    zmq_close(d);
    CHECK(s_wait(mon, ZMQ_EVENT_DISCONNECTED, &ev, 5000, NULL));
    CHECK(strcmp(ev.endpoint, ep) == 0);

    zmq_close(mon);
    zmq_close(r);
    zmq_ctx_term(ctx);
}

static void test_only_events_asked_for(void)
{
    void *ctx = zmq_ctx_new();
    char ep[128];
    void *r = s_bound(ctx, ep, sizeof ep);
    void *mon = monitor_open(ctx, r, "t", ZMQ_EVENT_DISCONNECTED);
    CHECK(mon);
    void *d = s_dealer(ctx, ep);
    /* A round trip proves the connection was accepted before it closes. */
    CHECK(zmq_send(d, "hi", 2, 0) == 2);
    char buf[16];
    CHECK(zmq_recv(r, buf, sizeof buf, 0) > 0); /* routing id */
    CHECK(zmq_recv(r, buf, sizeof buf, 0) == 2);
    zmq_close(d);
    s_event_t ev;
    int other = 0;
    CHECK(s_wait(mon, ZMQ_EVENT_DISCONNECTED, &ev, 5000, &other));
    CHECK_EQ(other, 0); /* no ACCEPTED, no HANDSHAKE_*: not asked for */
    zmq_close(mon);
    zmq_close(r);
    zmq_ctx_term(ctx);
}

static void test_two_monitors_apart(void)
{
    /* Two sockets under one name: the inproc endpoints must still differ,
     * and each monitor sees only its socket. */
    void *ctx = zmq_ctx_new();
    char ep1[128], ep2[128];
    void *r1 = s_bound(ctx, ep1, sizeof ep1), *r2 = s_bound(ctx, ep2, sizeof ep2);
    void *m1 = monitor_open(ctx, r1, "same", ZMQ_EVENT_ACCEPTED);
    void *m2 = monitor_open(ctx, r2, "same", ZMQ_EVENT_ACCEPTED);
    CHECK(m1 && m2);
    void *d = s_dealer(ctx, ep2);
    s_event_t ev;
    CHECK(s_wait(m2, ZMQ_EVENT_ACCEPTED, &ev, 5000, NULL));
    CHECK(strcmp(ev.endpoint, ep2) == 0);
    CHECK(monitor_next(m1, &ev.event, &ev.value, ev.endpoint, sizeof ev.endpoint) == 0);
    void *d1 = s_dealer(ctx, ep1);
    CHECK(s_wait(m1, ZMQ_EVENT_ACCEPTED, &ev, 5000, NULL));
    CHECK(strcmp(ev.endpoint, ep1) == 0);
    zmq_close(d);
    zmq_close(d1);
    zmq_close(m1);
    zmq_close(m2);
    zmq_close(r1);
    zmq_close(r2);
    zmq_ctx_term(ctx);
}

static void test_endpoint_truncated(void)
{
    void *ctx = zmq_ctx_new();
    char ep[128];
    void *r = s_bound(ctx, ep, sizeof ep);
    void *mon = monitor_open(ctx, r, "t", ZMQ_EVENT_ACCEPTED);
    CHECK(mon);
    void *d = s_dealer(ctx, ep);
    zmq_pollitem_t it = {mon, 0, ZMQ_POLLIN, 0};
    CHECK(zmq_poll(&it, 1, 5000) == 1);
    uint16_t event = 0;
    uint32_t value = 0;
    char small[8];
    memset(small, 'x', sizeof small);
    CHECK(monitor_next(mon, &event, &value, small, 7) == 1);
    CHECK_EQ(event, ZMQ_EVENT_ACCEPTED);
    CHECK(strcmp(small, "tcp://") == 0); /* 6 bytes and the NUL */
    CHECK_EQ(small[7], 'x');             /* nothing past endpoint_len */
    zmq_close(d);
    zmq_close(mon);
    zmq_close(r);
    zmq_ctx_term(ctx);
}

static void test_client_side_connect(void)
{
    /* The same module on the connecting side: CONNECTED, then, once the
     * server is gone, DISCONNECTED. */
    void *ctx = zmq_ctx_new();
    char ep[128];
    void *r = s_bound(ctx, ep, sizeof ep);
    void *d = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0;
    CHECK(d && zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero) == 0);
    void *mon = monitor_open(ctx, d, "client", ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED);
    CHECK(mon);
    CHECK(zmq_connect(d, ep) == 0);
    s_event_t ev;
    CHECK(s_wait(mon, ZMQ_EVENT_CONNECTED, &ev, 5000, NULL));
    CHECK(strcmp(ev.endpoint, ep) == 0);
    zmq_close(r);
    CHECK(s_wait(mon, ZMQ_EVENT_DISCONNECTED, &ev, 5000, NULL));
    zmq_close(mon);
    zmq_close(d);
    zmq_ctx_term(ctx);
}

static const test_case_t s_cases[] = {
    {"accept then disconnect", test_accept_then_disconnect},
    {"only events asked for", test_only_events_asked_for},
    {"two monitors apart", test_two_monitors_apart},
    {"endpoint truncated", test_endpoint_truncated},
    {"client side connect", test_client_side_connect},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
