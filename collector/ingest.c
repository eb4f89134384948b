/* ingest.c: the storing rules (see ingest.h).
 *
 * Commit, then ack: ingest_commit returns before any ack exists, and
 * ingest_ack is only called by the server for committed items. A retried
 * transaction (map growth) recomputes every verdict from scratch, which is
 * why verdicts and counters are reset at the top of s_apply and the
 * process-wide stats are only added after the commit succeeded. */
#include "ingest.h"

#include "approval.h"
#include "erase.h"
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
    ingest_stats_t stats;
};

typedef struct {
    ingest_t *self;
    ingest_item_t *items;
    int n;
} s_commit_ctx_t;

ingest_t *ingest_new(ledger_t *ledger, const catalogue_t *catalogue)
{
    ingest_t *self = calloc(1, sizeof *self);
    if (self) {
        self->ledger = ledger;
        self->catalogue = catalogue;
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

/* Finds the event a retraction, correction or erasure names (`body` is the
 * naming event's body case; a correction has another body) and checks it
 * may be withdrawn by this förbund. Ids are looked up per förbund, so
 * another förbund's event is simply not found. On success *old is the
 * decoded target. Returns 0 (verdict untouched), 1 (verdict set to a
 * rejection) or an LMDB error. */
static int s_find_target(ingest_t *self, MDB_txn *txn, const uint8_t *target_id, const char *forbund,
                         int body, ingest_verdict_t *v, uint64_t *target_seq, event_msg_t **old)
{
    bool erasure = body == FINSAM__V1__EVENT__BODY_ERASURE,
         retraction = body == FINSAM__V1__EVENT__BODY_RETRACTION;
    int rc = ledger_find(txn, self->ledger, forbund, target_id, target_seq);
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
        goto reject;
    }
    /* Erased, its tombstone still waiting for the aggregator (erase.h):
     * as good as erased. */
    bool waiting = erase_waiting(txn, self->ledger, *target_seq);
    if (erasure && waiting) {
        VERDICT(v, REJECT_UNKNOWN_TARGET, "target is already erased");
        goto reject;
    }
    if (retraction && waiting) {
        VERDICT(v, REJECT_UNKNOWN_TARGET, "target was erased; nothing to retract");
        goto reject;
    }
    if (erasure) {
        /* An erasure may name a retracted or superseded event: its bytes
         * are still there. */
        if ((v->code = erase_check_target(*old, v->text, sizeof v->text)) !=
            FINSAM__V1__REJECT_CODE__REJECT_NONE)
            goto reject;
        return 0;
    }
    switch ((*old)->body_case) {
    case FINSAM__V1__EVENT__BODY_RETRACTION:
        VERDICT(v, REJECT_UNKNOWN_TARGET, "a retraction cannot be retracted");
        goto reject;
    case FINSAM__V1__EVENT__BODY_ERASURE:
        VERDICT(v, REJECT_UNKNOWN_TARGET, "an erasure cannot be withdrawn");
        goto reject;
    case FINSAM__V1__EVENT__BODY_ERASED:
        /* Nothing left to retract; a correction of an erased event is
         * stored as new content (the site fixed the row and sent it again). */
        if (retraction) {
            VERDICT(v, REJECT_UNKNOWN_TARGET, "target was erased; nothing to retract");
            goto reject;
        }
        break;
    default: break;
    }
    if (ledger_is_retracted(txn, self->ledger, *target_seq)) {
        VERDICT(v, REJECT_UNKNOWN_TARGET, "target is already retracted or corrected");
        goto reject;
    }
    return 0;
reject:
    codec_free_event(old);
    return 1;
}

/* An id this förbund stored before: the same bytes again are a duplicate
 * (acked, nothing changes); other bytes are a conflict, because a change
 * needs a new id with `supersedes`. An erased event's content is gone, so a
 * resend of its id cannot be compared: it is acked as a duplicate and
 * nothing is stored again. Returns 0 (verdict set) or an LMDB error. */
static int s_resend(ingest_t *self, MDB_txn *txn, uint64_t seq, const ProtobufCBinaryData *raw,
                    ingest_verdict_t *v)
{
    const uint8_t *bytes;
    size_t len;
    int rc = ledger_get(txn, self->ledger, seq, &bytes, &len, NULL);
    if (rc)
        return rc;
    if (len == raw->len && memcmp(bytes, raw->data, len) == 0) {
        v->duplicate = true;
        return 0;
    }
    event_msg_t *stored;
    char why[160];
    if (codec_decode_event(bytes, len, &stored, why, sizeof why) == FINSAM__V1__REJECT_CODE__REJECT_NONE &&
        erase_is_tombstone(stored)) {
        v->duplicate = true;
    } else {
        VERDICT(
            v, REJECT_CONFLICT,
            "event id already stored with different content; a correction needs a new id with supersedes");
    }
    codec_free_event(&stored);
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
    int rc = ledger_find(lt->txn, self->ledger, item->forbund, v->id, &seq);
    if (rc == 0) {
        rc = s_resend(self, lt->txn, seq, raw, v);
        goto out;
    }
    if (rc != MDB_NOTFOUND)
        goto out;
    if (ev->body_case == FINSAM__V1__EVENT__BODY_APPROVAL) {
        /* A submission: refused with the reason when the period's state
         * does not allow it; otherwise logged and applied in this
         * transaction (approval.h). It feeds no cell. */
        if ((rc = approval_check(lt->txn, self->ledger, ev, &v->code, v->text, sizeof v->text)) ||
            v->code != FINSAM__V1__REJECT_CODE__REJECT_NONE)
            goto out;
        if ((rc = ledger_append(lt, item->forbund, v->id, raw->data, raw->len, now_ms, &seq)))
            goto out;
        v->seq = seq;
        v->kind = codec_event_kind(ev);
        rc = approval_apply(lt->txn, self->ledger, ev, seq, now_ms);
        goto out;
    }
    const uint8_t *target = NULL;
    if (ev->body_case == FINSAM__V1__EVENT__BODY_RETRACTION)
        target = ev->retraction->target_id.data;
    else if (ev->body_case == FINSAM__V1__EVENT__BODY_ERASURE)
        target = ev->erasure->target_id.data;
    else if (ev->has_supersedes)
        target = ev->supersedes.data;
    if (target) {
        rc = s_find_target(self, lt->txn, target, item->forbund, ev->body_case, v, &target_seq, &old);
        if (rc == 1) {
            rc = 0;
            goto out;
        }
        if (rc)
            goto out;
    }
    if ((rc = ledger_append(lt, item->forbund, v->id, raw->data, raw->len, now_ms, &seq)))
        goto out;
    v->seq = seq;
    v->kind = codec_event_kind(ev); /* a static string: outlives ev */
    /* Stored and counted live as always; for a locked period it is late
     * data, held out of the official figures by its position. */
    if ((rc = approval_note(lt->txn, self->ledger, lt->txn, self->ledger, ev, seq)))
        goto out;
    /* The cells follow the log beside ingest (the aggregator, replay.h);
     * here only what deciding the next event needs: which events are
     * withdrawn, and which erased. */
    if (ev->body_case == FINSAM__V1__EVENT__BODY_ERASURE)
        rc = erase_mark(lt, target_seq, seq);
    else if (old)
        rc = ledger_mark_retracted(lt->txn, self->ledger, target_seq, seq);
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
    return 0;
}

fin_err_t ingest_commit(ingest_t *self, ingest_item_t *items, int n)
{
    s_commit_ctx_t ctx = {self, items, n};
    int rc = ledger_write(self->ledger, s_apply, &ctx);
    if (rc) {
        log_error("ingest", "COMMIT-FAILED batches=%d reason=%s", n, store_strerror(rc));
        return fin_from_mdb(rc);
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
            char hex[33];
            if (v->seq && !strcmp(v->kind, "erasure")) {
                hex_encode(hex, v->id, 16);
                log_info("ingest", "EVENT-ERASED agent=%.8s forbund=%s erasure=%s seq=%llu", item->agent_key,
                         item->forbund, hex, (unsigned long long) v->seq);
            }
            if (v->code == FINSAM__V1__REJECT_CODE__REJECT_NONE)
                continue;
            self->stats.rejected[v->code % LEDGER_REJECT_SLOTS]++;
            hex_encode(hex, v->id, 16);
            log_warn("ingest", "EVENT-REJECTED agent=%.8s forbund=%s id=%s code=%s reason=%s",
                     item->agent_key, item->forbund, hex, codec_reject_name(v->code), v->text);
        }
    }
    return FIN_OK;
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
