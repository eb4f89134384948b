/* ingest.h: turns decoded batches into one durable write transaction and
 * the verdicts the acks are built from. No sockets here (server.c owns
 * them), so the storing rules can be tested directly.
 *
 * Rules, in order, per event: decodes and passes structural checks
 * (codec.h); matches the catalogue and the agent's own förbund
 * (validate.h); an id already in the ledger is accepted again and changes
 * nothing; a retraction or correction must name an earlier event of the
 * same förbund that is not already retracted (nor erased); then it is
 * appended to the log with its dedupe entry, in the one transaction that
 * also moves the agent's cursor. That is all the ack waits for: the
 * indicator cells follow the log beside it (collector/aggregator.h). */
#ifndef FINSAM_INGEST_H
#define FINSAM_INGEST_H

#include "allowlist.h"
#include "catalogue.h"
#include "codec.h"
#include "err.h"
#include "ledger.h"

typedef struct {
    uint8_t id[16];
    reject_code_t code; /* REJECT_NONE: accepted (stored now or before) */
    bool duplicate;
    uint64_t seq;     /* log position when stored now, else 0 */
    const char *kind; /* body kind (codec_event_kind) when stored now */
    char text[160];
} ingest_verdict_t;

/* One received batch. The caller fills agent_key and raw bytes; ingest
 * fills everything else. */
typedef struct {
    char agent_key[41];  /* Z85 CURVE key from the handshake */
    const uint8_t *data; /* the Batch frame, borrowed until the ack is built */
    size_t len;
    batch_msg_t *batch;  /* decoded, owned */
    const char *forbund; /* from the allow-list at receive time */
    reject_code_t batch_error;
    char batch_error_text[160];
    ingest_verdict_t *verdicts; /* batch->n_events entries, owned */
    uint32_t stored, duplicates, rejected;
} ingest_item_t;

typedef struct {
    uint64_t batches, events, stored, duplicates, commits;
    uint64_t rejected[LEDGER_REJECT_SLOTS];
} ingest_stats_t;

typedef struct ingest_t ingest_t;

ingest_t *ingest_new(ledger_t *ledger, const catalogue_t *catalogue);
void ingest_destroy(ingest_t **self_p);

/* Decodes and authorizes a received batch (outside the transaction).
 * Returns false if the whole batch is refused (item->batch_error set). */
bool ingest_prepare(ingest_t *self, ingest_item_t *item, allowlist_t *allowlist);

/* Stores all prepared items in ONE durable transaction. Returns FIN_OK
 * once committed; only then may acks be sent. On failure nothing was
 * stored and no ack may be sent (agents resend); the code says what kind
 * (FIN_EFULL, FIN_EIO, ...) and the reason is logged (COMMIT-FAILED). */
fin_err_t ingest_commit(ingest_t *self, ingest_item_t *items, int n);

/* Encodes the Ack for an item (after commit, or after a refused prepare). */
uint8_t *ingest_ack(const ingest_item_t *item, size_t *len);

/* Frees what ingest allocated in the item. */
void ingest_item_clear(ingest_item_t *item);

const ingest_stats_t *ingest_stats(const ingest_t *self);

#endif
