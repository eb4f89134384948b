/* bench_latency.c: import->ack latency against a real collector. Sends
 * single-event batches over CURVE at a fixed offered rate (open loop: the
 * schedule does not wait for acks) and measures, per batch, the time from
 * send to its Ack, i.e. until the event is durably committed with its
 * aggregate cells. Events come from an agent's outbox (demo --no-send) and
 * are sent with that agent's keys; the outbox itself is only read.
 *
 *   bench_latency --endpoint EP --agent-dir DIR --rate R --count N [--from SEQ]
 *                 [--stream EP --sub-key FILE --log-end N]
 * Prints: p50_ms p99_ms max_ms acked sent offered_per_s achieved_per_s
 *
 * With --stream (the live ROUTER, a subscriber key with access "all" and
 * the number of events in the log before the run), it also subscribes to
 * the exact cells (topics cell.*) and measures, per event, the time from
 * its Ack to the first cell update at a sequence at or past its log
 * position: how long after the ack the aggregates show it on the stream.
 * The n-th event sent is at position log-end + 2 + n (the warm-up batch
 * takes log-end + 1); one agent's batches are stored in the order sent.
 * Adds: visible_p50_ms visible_p99_ms visible_max_ms visible */
#include "bench.h"
#include "codec.h"
#include "outbox.h"
#include "util.h"

#include <czmq.h>
#include <stdio.h>

typedef struct {
    uint8_t **bytes;
    size_t *len;
    size_t n, cap;
} s_events_t;

static int s_collect(uint64_t seq, const uint8_t *bytes, size_t len, void *arg)
{
    s_events_t *e = arg;
    if (e->n == e->cap)
        return 1;
    e->bytes[e->n] = malloc(len);
    memcpy(e->bytes[e->n], bytes, len);
    e->len[e->n++] = len;
    return 0;
}

/* Asks for (or renews) the exact cell topics on the stream. */
static void s_subscribe(zsock_t *sub, int flags)
{
    Finsam__V1__Subscribe req = FINSAM__V1__SUBSCRIBE__INIT;
    char *prefix = "cell.";
    req.n_prefixes = 1;
    req.prefixes = &prefix;
    size_t len;
    uint8_t *bytes = codec_pack(&req.base, &len);
    if (bytes)
        zmq_send(zsock_resolve(sub), bytes, len, flags);
    free(bytes);
}

static uint8_t *s_batch(uint64_t seq, uint8_t *ev, size_t evlen, size_t *len)
{
    Finsam__V1__Batch b = FINSAM__V1__BATCH__INIT;
    ProtobufCBinaryData one = {evlen, ev};
    b.version = CODEC_WIRE_VERSION;
    b.agent_id = "bench-latency";
    b.batch_seq = seq;
    b.n_events = 1;
    b.events = &one;
    return codec_pack(&b.base, len);
}

int main(int argc, char **argv)
{
    const char *endpoint = bench_opt(argc, argv, "--endpoint", NULL);
    const char *dir = bench_opt(argc, argv, "--agent-dir", NULL);
    double rate = atof(bench_opt(argc, argv, "--rate", "1000"));
    long count = bench_opt_long(argc, argv, "--count", 3000);
    long from = bench_opt_long(argc, argv, "--from", 0);
    const char *stream = bench_opt(argc, argv, "--stream", NULL);
    const char *sub_key = bench_opt(argc, argv, "--sub-key", NULL);
    long log_end = bench_opt_long(argc, argv, "--log-end", -1);
    if (!endpoint || !dir) {
        fprintf(stderr,
                "usage: bench_latency --endpoint EP --agent-dir DIR [--rate R] [--count N] [--from SEQ]\n");
        return 64;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/outbox", dir);
    outbox_t *ob;
    if (outbox_open(&ob, path, NULL, 0) != 0) {
        fprintf(stderr, "bench_latency: cannot open %s\n", path);
        return 74;
    }
    /* one extra event for the warm-up batch that completes the handshake */
    s_events_t e = {calloc((size_t) count + 1, sizeof(uint8_t *)), calloc((size_t) count + 1, sizeof(size_t)),
                    0, (size_t) count + 1};
    outbox_peek(ob, (uint64_t) from, (size_t) count + 1, s_collect, &e);
    outbox_close(&ob);
    if (e.n < (size_t) count + 1) {
        fprintf(stderr, "bench_latency: outbox holds %zu events from %ld, need %ld\n", e.n, from, count + 1);
        return 66;
    }

    zsys_init();
    zsys_set_linger(0);
    snprintf(path, sizeof path, "%s/keys/agent.key_secret", dir);
    zcert_t *mine = zcert_load(path);
    snprintf(path, sizeof path, "%s/keys/collector.key", dir);
    zcert_t *server = zcert_load(path);
    if (!mine || !server) {
        fprintf(stderr, "bench_latency: keys missing in %s/keys\n", dir);
        return 78;
    }
    zsock_t *s = zsock_new(ZMQ_DEALER);
    zcert_apply(mine, s);
    zsock_set_curve_serverkey(s, zcert_public_txt(server));
    zsock_set_sndhwm(s, 0);
    zsock_set_rcvhwm(s, 0);
    zsock_set_linger(s, 0);
    zsock_connect(s, "%s", endpoint);
    void *d = zsock_resolve(s);

    /* The exact cell stream, when asked for. */
    zsock_t *sub = NULL;
    if (stream && sub_key && log_end >= 0) {
        zcert_t *sk = zcert_load(sub_key);
        if (!sk) {
            fprintf(stderr, "bench_latency: cannot load %s\n", sub_key);
            return 78;
        }
        sub = zsock_new(ZMQ_DEALER);
        zcert_apply(sk, sub);
        zsock_set_curve_serverkey(sub, zcert_public_txt(server));
        zsock_set_rcvhwm(sub, 0);
        zsock_set_linger(sub, 0);
        zsock_connect(sub, "%s", stream);
        s_subscribe(sub, 0);
        zcert_destroy(&sk);
        /* Its first answer: the subscription stands. */
        zsock_set_rcvtimeo(sub, 10000);
        zmsg_t *reply = zmsg_recv(sub);
        if (!reply) {
            fprintf(stderr, "bench_latency: no answer to the subscription\n");
            return 69;
        }
        zmsg_destroy(&reply);
    }

    /* warm-up: the first batch also waits for the CURVE handshake */
    size_t len;
    uint8_t *msg = s_batch(1000000000ULL, e.bytes[0], e.len[0], &len);
    zmq_send(d, msg, len, 0);
    free(msg);
    zsock_set_rcvtimeo(s, 10000);
    char *ack = zstr_recv(s);
    if (!ack) {
        fprintf(stderr, "bench_latency: no ack for the warm-up batch\n");
        return 69;
    }
    zstr_free(&ack);

    double *sent_at = calloc((size_t) count, sizeof *sent_at), *lat = calloc((size_t) count, sizeof *lat);
    double *ack_at = calloc((size_t) count, sizeof *ack_at), *vis_at = calloc((size_t) count, sizeof *vis_at);
    long sent = 0, acked = 0, visible = 0;
    double last_renew = bench_now();
    double t0 = bench_now(), deadline = 0, t_acked = 0;
    while (acked < count || (sub && visible < count)) {
        double now = bench_now();
        if (sub && now - last_renew > 1.5) { /* subscriptions expire unless renewed */
            s_subscribe(sub, ZMQ_DONTWAIT);
            last_renew = now;
        }
        while (sent < count && now >= t0 + (double) sent / rate) {
            msg = s_batch((uint64_t) sent + 1, e.bytes[sent + 1], e.len[sent + 1], &len);
            sent_at[sent] = bench_now();
            zmq_send(d, msg, len, 0);
            free(msg);
            sent++;
            now = bench_now();
        }
        if (sent == count && deadline == 0)
            deadline = now + 10;
        if (deadline && now > deadline)
            break;
        double wait = sent < count ? t0 + (double) sent / rate - now : 0.1;
        zmq_pollitem_t its[2] = {{d, 0, ZMQ_POLLIN, 0}, {sub ? zsock_resolve(sub) : NULL, 0, ZMQ_POLLIN, 0}};
        int ms = wait > 0 ? (int) (wait * 1000) : 0;
        if (zmq_poll(its, sub ? 2 : 1, ms) <= 0)
            continue;
        if (sub && (its[1].revents & ZMQ_POLLIN)) {
            /* [topic][be64 seq][payload]: every event at or before seq is
             * in the cells the stream shows now. */
            zmsg_t *m;
            while ((m = zmsg_recv_nowait(sub))) {
                double t = bench_now();
                zframe_t *topic = zmsg_first(m), *seqf = zmsg_next(m);
                if (topic && seqf && zframe_size(seqf) == 8 && zframe_size(topic) > 5 &&
                    !memcmp(zframe_data(topic), "cell.", 5)) {
                    uint64_t seq = be64_get(zframe_data(seqf));
                    while (visible < count && (uint64_t) (log_end + 2 + visible) <= seq)
                        vis_at[visible++] = t;
                }
                zmsg_destroy(&m);
            }
        }
        if (its[0].revents & ZMQ_POLLIN) {
            while (1) {
                zmq_msg_t m;
                zmq_msg_init(&m);
                if (zmq_msg_recv(&m, d, ZMQ_DONTWAIT) < 0) {
                    zmq_msg_close(&m);
                    break;
                }
                double t = bench_now();
                ack_msg_t *a = codec_decode_ack(zmq_msg_data(&m), zmq_msg_size(&m));
                if (a && a->batch_seq >= 1 && a->batch_seq <= (uint64_t) count &&
                    lat[a->batch_seq - 1] == 0 && a->n_accepted == 1) {
                    lat[a->batch_seq - 1] = (t - sent_at[a->batch_seq - 1]) * 1000;
                    ack_at[a->batch_seq - 1] = t;
                    if (++acked == count)
                        t_acked = t;
                }
                codec_free_ack(&a);
                zmq_msg_close(&m);
            }
        }
    }
    double secs = (t_acked > 0 ? t_acked : bench_now()) - t0;
    double *sorted = calloc((size_t) count, sizeof *sorted);
    size_t n = 0;
    for (long i = 0; i < count; i++)
        if (lat[i] > 0)
            sorted[n++] = lat[i];
    qsort(sorted, n, sizeof *sorted, bench_cmp_double);
    printf("p50_ms=%.3f p99_ms=%.3f max_ms=%.3f acked=%ld sent=%ld offered_per_s=%.0f achieved_per_s=%.0f",
           bench_pct(sorted, n, 0.50), bench_pct(sorted, n, 0.99), n ? sorted[n - 1] : 0, acked, sent, rate,
           (double) acked / secs);
    if (sub) {
        /* Ack -> visible on the stream; a cell update that overtook its
         * ack (both leave after the same commit) counts as 0. */
        n = 0;
        for (long i = 0; i < count; i++)
            if (ack_at[i] > 0 && vis_at[i] > 0)
                sorted[n++] = vis_at[i] > ack_at[i] ? (vis_at[i] - ack_at[i]) * 1000 : 0;
        qsort(sorted, n, sizeof *sorted, bench_cmp_double);
        printf(" visible_p50_ms=%.3f visible_p99_ms=%.3f visible_max_ms=%.3f visible=%zu",
               bench_pct(sorted, n, 0.50), bench_pct(sorted, n, 0.99), n ? sorted[n - 1] : 0, n);
        zsock_destroy(&sub);
    }
    printf("\n");
    zsock_destroy(&s);
    zcert_destroy(&mine);
    zcert_destroy(&server);
    for (size_t i = 0; i < e.n; i++)
        free(e.bytes[i]);
    free(e.bytes);
    free(e.len);
    free(sent_at);
    free(lat);
    free(ack_at);
    free(vis_at);
    free(sorted);
    return acked == count ? 0 : 1;
}
