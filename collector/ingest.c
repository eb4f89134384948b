/* ingest.c: the storing rules (see ingest.h).
 *
 * Commit, then ack: ingest_commit returns before any ack exists, and
 * ingest_ack is only called by the server for committed items. A retried
 * transaction (map growth) recomputes every verdict from scratch, which is
 * why verdicts and counters are reset at the top of s_apply and the
 * process-wide stats are only added after the commit succeeded. */
#include "ingest.h"

#include "log.h"
#include "util.h"
#include "validate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct ingest_t {
    ledger_t *ledger;
    const catalogue_t *catalogue;
    aggregate_t *aggregate;
    ingest_stats_t stats;
};

typedef struct {
    ingest_t *self;
    ingest_item_t *items;
    int n;
    aggregate_changed_fn changed;
    void *changed_arg;
} s_commit_ctx_t;

ingest_t *ingest_new(ledger_t *ledger, const catalogue_t *catalogue, aggregate_t *aggregate)
{
    ingest_t *self = calloc(1, sizeof *self);
    if (self) {
        self->ledger = ledger;
        self->catalogue = catalogue;
        self->aggregate = aggregate;
    }
    return self;
}

void ingest_destroy(ingest_t **self_p)
{
    if (self_p && *self_p) {
        free(*self_p);
        *self_p = NULL;
    }
}

const ingest_stats_t *ingest_stats(const ingest_t *self)
{
    return &self->stats;
}

bool ingest_prepare(ingest_t *self, ingest_item_t *item, allowlist_t *allowlist)
{
    item->batch_error = FINSAM__V1__REJECT_CODE__REJECT_NONE;
    item->forbund = allowlist_lookup(allowlist, item->agent_key);
    if (!item->forbund) {
        /* Revoked since the handshake (or never listed): store nothing. */
        item->batch_error = FINSAM__V1__REJECT_CODE__REJECT_UNAUTHORIZED;
        snprintf(item->batch_error_text, sizeof item->batch_error_text, "key is not on the allow-list");
    } else {
        item->batch_error = codec_decode_batch(item->data, item->len, &item->batch, item->batch_error_text,
                                               sizeof item->batch_error_text);
    }
    if (item->batch_error != FINSAM__V1__REJECT_CODE__REJECT_NONE) {
        self->stats.rejected[item->batch_error % LEDGER_REJECT_SLOTS]++;
        log_warn("ingest", "BATCH-REJECTED agent=%.8s code=%s reason=%s", item->agent_key,
                 codec_reject_name(item->batch_error), item->batch_error_text);
        return false;
    }
    item->verdicts = calloc(item->batch->n_events ? item->batch->n_events : 1, sizeof *item->verdicts);
    if (!item->verdicts) {
        item->batch_error = FINSAM__V1__REJECT_CODE__REJECT_INTERNAL;
        snprintf(item->batch_error_text, sizeof item->batch_error_text, "out of memory");
        return false;
    }
    return true;
}

#define VERDICT(v, c, ...)                                                                                   \
    do {                                                                                                     \
        (v)->code = FINSAM__V1__REJECT_CODE__##c;                                                            \
        snprintf((v)->text, sizeof(v)->text, __VA_ARGS__);                                                   \
    } while (0)

/* Finds the event a retraction or correction names and checks it may be
 * withdrawn by this förbund. On success *old is the decoded target. Returns
 * 0 (verdict untouched), 1 (verdict set to a rejection) or an LMDB error. */
static int s_find_target(ingest_t *self, MDB_txn *txn, const uint8_t *target_id, const char *forbund,
                         ingest_verdict_t *v, uint64_t *target_seq, event_msg_t **old)
{
    int rc = ledger_find(txn, self->ledger, target_id, target_seq);
    if (rc == MDB_NOTFOUND) {
        VERDICT(v, REJECT_UNKNOWN_TARGET, "target event is not stored");
        return 1;
    }
    if (rc)
        return rc;
    const uint8_t *bytes;
    size_t len;
    if ((rc = ledger_get(txn, self->ledger, *target_seq, &bytes, &len, NULL)))
        return rc;
    char why[160];
    if (codec_decode_event(bytes, len, old, why, sizeof why) != FINSAM__V1__REJECT_CODE__REJECT_NONE) {
        VERDICT(v, REJECT_INTERNAL, "stored target does not decode");
        return 1;
    }
    if (strcmp((*old)->forbund, forbund) != 0) {
        VERDICT(v, REJECT_FORBIDDEN, "target belongs to another förbund");
        codec_free_event(old);
        return 1;
    }
    if ((*old)->body_case == FINSAM__V1__EVENT__BODY_RETRACTION) {
        VERDICT(v, REJECT_UNKNOWN_TARGET, "a retraction cannot be retracted");
        codec_free_event(old);
        return 1;
    }
    if (ledger_is_retracted(txn, self->ledger, *target_seq)) {
        VERDICT(v, REJECT_UNKNOWN_TARGET, "target is already retracted or corrected");
        codec_free_event(old);
        return 1;
    }
    return 0;
}

/* Stores one event. Returns 0 (verdict says what happened) or an LMDB error
 * that aborts the whole transaction. */
static int s_apply_event(ingest_t *self, ledger_txn_t *lt, const ingest_item_t *item,
                         const ProtobufCBinaryData *raw, int64_t now_ms, ingest_verdict_t *v)
{
    event_msg_t *ev = NULL, *old = NULL;
    reject_code_t code = codec_decode_event(raw->data, raw->len, &ev, v->text, sizeof v->text);
    if (code == FINSAM__V1__REJECT_CODE__REJECT_NONE)
        code = validate_event(self->catalogue, ev, item->forbund, now_ms / 1000, v->text, sizeof v->text);
    if (ev && ev->id.len == 16)
        memcpy(v->id, ev->id.data, 16);
    else if (raw->len >= 2 && raw->data[0] == 0x0a && raw->data[1] == 16 && raw->len >= 18)
        memcpy(v->id, raw->data + 2, 16); /* id is field 1: best effort for the ack */
    v->code = code;
    if (code != FINSAM__V1__REJECT_CODE__REJECT_NONE) {
        codec_free_event(&ev);
        return 0;
    }
    uint64_t seq, target_seq = 0;
    int rc = ledger_find(lt->txn, self->ledger, v->id, &seq);
    if (rc == 0) {
        v->duplicate = true; /* acked again, changes nothing */
        codec_free_event(&ev);
        return 0;
    }
    if (rc != MDB_NOTFOUND)
        goto out;
    const uint8_t *target = NULL;
    if (ev->body_case == FINSAM__V1__EVENT__BODY_RETRACTION)
        target = ev->retraction->target_id.data;
    else if (ev->has_supersedes)
        target = ev->supersedes.data;
    if (target) {
        rc = s_find_target(self, lt->txn, target, item->forbund, v, &target_seq, &old);
        if (rc == 1) {
            rc = 0;
            goto out;
        }
        if (rc)
            goto out;
    }
    if ((rc = ledger_append(lt, v->id, raw->data, raw->len, now_ms, &seq)))
        goto out;
    v->seq = seq;
    v->kind = codec_event_kind(ev); /* a static string: outlives ev */
    if (old) {
        if ((rc = ledger_mark_retracted(lt->txn, self->ledger, target_seq, seq)) ||
            (rc = aggregate_event(self->aggregate, lt, old, -1)))
            goto out;
    }
    if (ev->body_case != FINSAM__V1__EVENT__BODY_RETRACTION)
        rc = aggregate_event(self->aggregate, lt, ev, +1);
out:
    codec_free_event(&old);
    codec_free_event(&ev);
    return rc;
}

static int s_apply(ledger_txn_t *lt, void *arg)
{
    s_commit_ctx_t *c = arg;
    ingest_t *self = c->self;
    int64_t now_ms = clock_wall_ms();
    aggregate_begin(self->aggregate);
    for (int i = 0; i < c->n; i++) {
        ingest_item_t *item = &c->items[i];
        if (item->batch_error != FINSAM__V1__REJECT_CODE__REJECT_NONE)
            continue;
        item->stored = item->duplicates = item->rejected = 0;
        size_t n = item->batch->n_events;
        for (size_t j = 0; j < n; j++) {
            ingest_verdict_t *v = &item->verdicts[j];
            memset(v, 0, sizeof *v);
            int rc = s_apply_event(self, lt, item, &item->batch->events[j], now_ms, v);
            if (rc)
                return rc;
            if (v->code != FINSAM__V1__REJECT_CODE__REJECT_NONE)
                item->rejected++;
            else if (v->duplicate)
                item->duplicates++;
            else
                item->stored++;
        }
        ledger_agent_t rec;
        int rc = ledger_agent_get(lt->txn, self->ledger, item->agent_key, &rec);
        if (rc)
            return rc;
        if (!rec.first_seen_ms)
            rec.first_seen_ms = now_ms;
        snprintf(rec.forbund, sizeof rec.forbund, "%s", item->forbund);
        rec.last_seen_ms = now_ms;
        rec.last_batch_seq = item->batch->batch_seq;
        if (item->batch->has_queued)
            rec.queued_at_agent = item->batch->queued;
        rec.batches++;
        rec.events_stored += item->stored;
        rec.duplicates += item->duplicates;
        for (size_t j = 0; j < n; j++)
            rec.rejects[item->verdicts[j].code % LEDGER_REJECT_SLOTS] += item->verdicts[j].code != 0;
        if ((rc = ledger_agent_put(lt->txn, self->ledger, item->agent_key, &rec)))
            return rc;
    }
    return aggregate_flush(self->aggregate, lt, c->changed, c->changed_arg);
}

int ingest_commit(ingest_t *self, ingest_item_t *items, int n, aggregate_changed_fn changed, void *arg)
{
    s_commit_ctx_t ctx = {self, items, n, changed, arg};
    int rc = ledger_write(self->ledger, s_apply, &ctx);
    if (rc) {
        log_error("ingest", "COMMIT-FAILED batches=%d reason=%s", n, store_strerror(rc));
        return rc;
    }
    self->stats.commits++;
    for (int i = 0; i < n; i++) {
        ingest_item_t *item = &items[i];
        if (item->batch_error != FINSAM__V1__REJECT_CODE__REJECT_NONE)
            continue;
        self->stats.batches++;
        self->stats.events += item->batch->n_events;
        self->stats.stored += item->stored;
        self->stats.duplicates += item->duplicates;
        for (size_t j = 0; j < item->batch->n_events; j++) {
            ingest_verdict_t *v = &item->verdicts[j];
            if (v->code == FINSAM__V1__REJECT_CODE__REJECT_NONE)
                continue;
            self->stats.rejected[v->code % LEDGER_REJECT_SLOTS]++;
            char hex[33];
            hex_encode(hex, v->id, 16);
            log_warn("ingest", "EVENT-REJECTED agent=%.8s forbund=%s id=%s code=%s reason=%s",
                     item->agent_key, item->forbund, hex, codec_reject_name(v->code), v->text);
        }
    }
    return 0;
}

uint8_t *ingest_ack(const ingest_item_t *item, size_t *len)
{
    Finsam__V1__Ack ack = FINSAM__V1__ACK__INIT;
    ack.batch_seq = item->batch ? item->batch->batch_seq : 0;
    if (item->batch_error != FINSAM__V1__REJECT_CODE__REJECT_NONE) {
        ack.has_batch_error = 1;
        ack.batch_error = item->batch_error;
        ack.batch_error_text = (char *) item->batch_error_text;
        return codec_pack(&ack.base, len);
    }
    size_t n = item->batch->n_events;
    ProtobufCBinaryData *acc = calloc(n + 1, sizeof *acc);
    Finsam__V1__Rejection *rej = calloc(n + 1, sizeof *rej);
    Finsam__V1__Rejection **rejp = calloc(n + 1, sizeof *rejp);
    uint8_t *out = NULL;
    if (!acc || !rej || !rejp)
        goto done;
    for (size_t i = 0; i < n; i++) {
        const ingest_verdict_t *v = &item->verdicts[i];
        if (v->code == FINSAM__V1__REJECT_CODE__REJECT_NONE) {
            acc[ack.n_accepted++] = (ProtobufCBinaryData){16, (uint8_t *) v->id};
        } else {
            Finsam__V1__Rejection *r = &rej[ack.n_rejected];
            finsam__v1__rejection__init(r);
            r->id = (ProtobufCBinaryData){16, (uint8_t *) v->id};
            r->code = v->code;
            r->text = (char *) v->text;
            rejp[ack.n_rejected++] = r;
        }
    }
    ack.accepted = acc;
    ack.rejected = rejp;
    out = codec_pack(&ack.base, len);
done:
    free(acc);
    free(rej);
    free(rejp);
    return out;
}

void ingest_item_clear(ingest_item_t *item)
{
    codec_free_batch(&item->batch);
    free(item->verdicts);
    item->verdicts = NULL;
}
