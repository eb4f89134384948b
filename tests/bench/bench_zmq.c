/* bench_zmq.c: the raw transport baseline — ZeroMQ DEALER -> ROUTER over
 * CURVE on 127.0.0.1, two threads, one ack per batch, at most `window`
 * batches in flight (as finsam's sender). Nothing is decoded or stored: this
 * is what the transport alone allows on this machine.
 *
 *   bench_zmq --events N --batch 500 --size BYTES --window 8 --mode frame|parts
 *
 * mode frame: a batch is ONE frame of batch*size bytes (finsam's wire shape);
 * mode parts: a batch is `batch` separate messages, acked once (the issue's
 * "msgs/s" figure). The ack carries 18 bytes per event, like finsam's ack
 * naming every accepted id. Prints: events_per_s=... seconds=... */
#include "bench.h"

#include <czmq.h>
#include <stdio.h>

typedef struct {
    long events, batch, size;
    int parts;
} s_cfg_t;

static s_cfg_t s_cfg;

static void s_server(zsock_t *pipe, void *arg)
{
    zcert_t *cert = arg;
    zsock_t *router = zsock_new(ZMQ_ROUTER);
    zcert_apply(cert, router);
    zsock_set_curve_server(router, 1);
    zsock_set_zap_domain(router, "bench");
    zsock_set_rcvhwm(router, 100000);
    zsock_set_linger(router, 0);
    zsock_bind(router, "tcp://127.0.0.1:*");
    zsock_signal(pipe, 0);
    zstr_send(pipe, zsock_endpoint(router));
    void *r = zsock_resolve(router);
    size_t acklen = (size_t) s_cfg.batch * 18;
    uint8_t *ack = calloc(1, acklen);
    long got = 0, in_batch = 0;
    zpoller_t *poller = zpoller_new(pipe, router, NULL);
    while (got < s_cfg.events) {
        void *which = zpoller_wait(poller, -1);
        if (which == pipe || !which)
            break;
        /* drain everything waiting before polling again */
        for (;;) {
            zmq_msg_t id, body;
            zmq_msg_init(&id);
            if (zmq_msg_recv(&id, r, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&id);
                break;
            }
            zmq_msg_init(&body);
            zmq_msg_recv(&body, r, 0);
            zmq_msg_close(&body);
            long n = s_cfg.parts ? 1 : s_cfg.batch;
            got += n;
            in_batch += n;
            if (in_batch >= s_cfg.batch) {
                in_batch = 0;
                zmq_msg_send(&id, r, ZMQ_SNDMORE);
                zmq_send(r, ack, acklen, 0);
            }
            zmq_msg_close(&id);
        }
    }
    zpoller_destroy(&poller);
    /* linger is 0: keep the socket until the client has every ack */
    char *term = zstr_recv(pipe); /* $TERM */
    zstr_free(&term);
    free(ack);
    zsock_destroy(&router);
}

int main(int argc, char **argv)
{
    s_cfg.events = bench_opt_long(argc, argv, "--events", 2000000);
    s_cfg.batch = bench_opt_long(argc, argv, "--batch", 500);
    s_cfg.size = bench_opt_long(argc, argv, "--size", 150);
    s_cfg.parts = !strcmp(bench_opt(argc, argv, "--mode", "frame"), "parts");
    long window = bench_opt_long(argc, argv, "--window", 8);
    s_cfg.events -= s_cfg.events % s_cfg.batch;
    zsys_init();
    zsys_set_linger(0);
    zactor_t *auth = zactor_new(zauth, NULL);
    zstr_sendx(auth, "CURVE", CURVE_ALLOW_ANY, NULL);
    zsock_wait(auth);
    zcert_t *server_cert = zcert_new(), *client_cert = zcert_new();
    zactor_t *server = zactor_new(s_server, server_cert);
    char *endpoint = zstr_recv(server);

    zsock_t *dealer = zsock_new(ZMQ_DEALER);
    zcert_apply(client_cert, dealer);
    zsock_set_curve_serverkey(dealer, zcert_public_txt(server_cert));
    zsock_set_sndhwm(dealer, 100000);
    zsock_set_linger(dealer, 0);
    zsock_connect(dealer, "%s", endpoint);
    void *d = zsock_resolve(dealer);

    size_t framelen = (size_t) (s_cfg.parts ? s_cfg.size : s_cfg.size * s_cfg.batch);
    uint8_t *frame = malloc(framelen);
    uint64_t seed = 42;
    for (size_t i = 0; i < framelen; i++)
        frame[i] = (uint8_t) bench_rand(&seed);
    long batches = s_cfg.events / s_cfg.batch, sent = 0, acked = 0;
    double t0 = 0;
    while (acked < batches) {
        while (sent < batches && sent - acked < window) {
            if (sent == 0)
                t0 = bench_now(); /* the handshake happens in the first send's wait */
            if (s_cfg.parts) {
                for (long i = 0; i < s_cfg.batch; i++)
                    zmq_send(d, frame, framelen, 0);
            } else {
                zmq_send(d, frame, framelen, 0);
            }
            sent++;
        }
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, d, 0) >= 0)
            acked++;
        zmq_msg_close(&m);
    }
    double secs = bench_now() - t0;
    printf("events_per_s=%.0f seconds=%.3f events=%ld batch=%ld size=%ld mode=%s window=%ld\n",
           (double) s_cfg.events / secs, secs, s_cfg.events, s_cfg.batch, s_cfg.size,
           s_cfg.parts ? "parts" : "frame", window);
    free(frame);
    zsock_destroy(&dealer);
    zactor_destroy(&server);
    zstr_free(&endpoint);
    zcert_destroy(&server_cert);
    zcert_destroy(&client_cert);
    zactor_destroy(&auth);
    return 0;
}
