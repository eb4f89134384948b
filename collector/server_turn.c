/* server_turn.c: one turn of ingest (see server.h, server_impl.h).
 *
 * Ordering, the one thing to get right here: receive -> prepare (decode,
 * authorize) -> commit (one LMDB write transaction, synchronous) -> ack.
 * The commit holds what durability needs (ingest.h); the aggregator is
 * poked after it and brings the cells up beside the next turns.
 * No ack leaves before its transaction is on disk; if the commit fails no
 * ack leaves at all and the agents resend, which the dedupe index makes
 * harmless. Group commit: a turn drains every batch already waiting (up to
 * max_batches_per_commit, MAX_COMMIT_BYTES and MAX_COMMIT_EVENTS), so
 * under load one fsync serves every batch that queued meanwhile. */
#include "server_impl.h"

#include "ledger.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* Receives one [routing id][batch] message without blocking. Returns 1 if
 * one was read, 0 if none is waiting, -1 on error (EINTR included). Extra
 * frames make the message malformed; they are drained here. */
static int s_recv(server_t *self, int i)
{
    void *r = zsock_resolve(self->router);
    zmq_msg_init(&self->ids[i]);
    if (zmq_msg_recv(&self->ids[i], r, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&self->ids[i]);
        return errno == EAGAIN ? 0 : -1;
    }
    zmq_msg_init(&self->frames[i]);
    ingest_item_t *item = &self->items[i];
    memset(item, 0, sizeof *item);
    bool extra = false;
    if (!zmq_msg_more(&self->ids[i]) || zmq_msg_recv(&self->frames[i], r, 0) < 0) {
        item->batch_error = FINSAM__V1__REJECT_CODE__REJECT_MALFORMED;
    }
    while (zmq_msg_more(&self->frames[i])) {
        zmq_msg_t junk;
        zmq_msg_init(&junk);
        int rc = zmq_msg_recv(&junk, r, 0);
        extra = true;
        bool more = rc >= 0 && zmq_msg_more(&junk);
        zmq_msg_close(&junk);
        if (!more)
            break;
    }
    const char *user = zmq_msg_gets(&self->frames[i], "User-Id");
    snprintf(item->agent_key, sizeof item->agent_key, "%s", user ? user : "");
    item->data = zmq_msg_data(&self->frames[i]);
    item->len = zmq_msg_size(&self->frames[i]);
    if (extra || item->batch_error) {
        item->batch_error = FINSAM__V1__REJECT_CODE__REJECT_MALFORMED;
        snprintf(item->batch_error_text, sizeof item->batch_error_text, "a batch is exactly one frame");
    }
    return 1;
}

static void s_send_ack(server_t *self, int i)
{
    void *r = zsock_resolve(self->router);
    size_t len;
    uint8_t *ack = ingest_ack(&self->items[i], &len);
    if (!ack)
        return;
    /* DONTWAIT: a peer that is gone or not reading loses its ack and will
     * resend; the loop never blocks on one agent. */
    if (zmq_msg_send(&self->ids[i], r, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(r, ack, len, ZMQ_DONTWAIT) < 0)
        log_debug("collector", "ACK-DROPPED reason=%s", zmq_strerror(errno));
    free(ack);
}

fin_err_t server_turn(server_t *self)
{
    int n = 0, prepared = 0;
    size_t bytes = 0;
    size_t events = 0;
    while (n < self->config.max_batches_per_commit && bytes < MAX_COMMIT_BYTES &&
           events < MAX_COMMIT_EVENTS) {
        int rc = s_recv(self, n);
        if (rc <= 0)
            break;
        bytes += self->items[n].len;
        if (!self->items[n].batch_error && ingest_prepare(self->ingest, &self->items[n], self->allowlist)) {
            prepared++;
            events += self->items[n].batch->n_events;
        }
        n++;
    }
    fin_err_t rc = FIN_OK;
    metrics_t *m = &self->metrics;
    if (prepared > 0) {
        int64_t t0 = clock_mono_us();
        rc = ingest_commit(self->ingest, self->items, n);
        if (rc == FIN_OK) {
            metrics_observe_commit(m, (uint64_t) (clock_mono_us() - t0));
            aggregator_poke(self->aggregator); /* the cells follow (aggregator.h) */
        } else
            metrics_add(&m->commit_failures, 1);
    }
    for (int i = 0; i < n; i++) {
        ingest_item_t *item = &self->items[i];
        if (item->batch_error) {
            metrics_add(&m->batches_rejected, 1);
            metrics_add(&m->events_rejected[item->batch_error % METRICS_REJECT_SLOTS], 1);
        } else if (rc == FIN_OK) {
            metrics_add(&m->batches, 1);
            metrics_add(&m->events_received, item->batch->n_events);
            metrics_add(&m->events_stored, item->stored);
            metrics_add(&m->events_duplicate, item->duplicates);
            for (size_t j = 0; j < item->batch->n_events; j++) {
                const ingest_verdict_t *v = &item->verdicts[j];
                if (v->code)
                    metrics_add(&m->events_rejected[v->code % METRICS_REJECT_SLOTS], 1);
                else if (v->seq && self->stream)
                    stream_publish_event(self->stream, v->seq, item->forbund, v->kind,
                                         item->batch->events[j].data, item->batch->events[j].len);
            }
        }
        /* Refused batches are answered; committed ones acked; after a failed
         * commit nothing is said: the agents resend. */
        if (item->batch_error || rc == FIN_OK)
            s_send_ack(self, i);
        ingest_item_clear(item);
        zmq_msg_close(&self->ids[i]);
        zmq_msg_close(&self->frames[i]);
    }
    if (prepared > 0 && rc == FIN_OK) {
        size_t map, used;
        store_usage(ledger_store(self->ledger), &map, &used);
        metrics_set(&m->map_size_bytes, map);
        metrics_set(&m->map_used_bytes, used);
        metrics_set(&m->last_seq, ledger_next_seq(self->ledger) - 1);
    }
    return rc;
}
