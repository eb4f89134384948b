/* fuzz_ingest.c: the collector's whole storing path for one received
 * frame: ingest_prepare (allow-list lookup, batch decode) and, when the
 * batch is accepted, ingest_commit (per event: decode, validate, dedupe,
 * retraction/correction target, log append, aggregate cells, agent record;
 * one LMDB write transaction), then the Ack encoding.
 *
 * One real ledger per process, in a temporary directory on /dev/shm (so
 * the synchronous commits are cheap), removed at exit. State carries over
 * between inputs as it does in a running collector: a later input may
 * retract or correct what an earlier one stored. The sender is an
 * allow-listed key for förbund NV. */
#include "aggregate.h"
#include "protect.h"
#include "allowlist.h"
#include "catalogue.h"
#include "ingest.h"
#include "replay.h"
#include "ledger.h"
#include "log.h"

#include <czmq.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char s_dir[64];
static catalogue_t *s_cat;
static ledger_t *s_ledger;
static aggregate_t *s_agg;
static ingest_t *s_ingest;
static const uint8_t s_secret[SECRET_LEN] = {7};
static allowlist_t *s_allow;
static char s_key[41];

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void s_cleanup(void)
{
    ingest_destroy(&s_ingest);
    aggregate_destroy(&s_agg);
    ledger_close(&s_ledger);
    allowlist_destroy(&s_allow);
    catalogue_destroy(&s_cat);
    if (s_dir[0])
        nftw(s_dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256], path[256];
    log_set_level("error"); /* a reject per input would drown the fuzzer */
    strcpy(s_dir, "/dev/shm/finsam-fuzz-ingest-XXXXXX");
    if (!mkdtemp(s_dir)) {
        strcpy(s_dir, "/tmp/finsam-fuzz-ingest-XXXXXX");
        if (!mkdtemp(s_dir))
            abort();
    }
    atexit(s_cleanup);
    snprintf(path, sizeof path, "%s/agents", s_dir);
    if (zsys_dir_create(path) != 0)
        abort();
    zcert_t *cert = zcert_new();
    zcert_set_meta(cert, "forbund", "NV");
    snprintf(path, sizeof path, "%s/agents/nv.key", s_dir);
    if (zcert_save_public(cert, path) != 0)
        abort();
    snprintf(s_key, sizeof s_key, "%s", zcert_public_txt(cert));
    zcert_destroy(&cert);
    snprintf(path, sizeof path, "%s/agents", s_dir);
    s_allow = allowlist_new(path, "forbund", allowlist_valid_forbund);
    snprintf(path, sizeof path, "%s/ledger", s_dir);
    if (!s_allow || catalogue_load(&s_cat, NULL, err, sizeof err) < 0 ||
        ledger_open(&s_ledger, path, false, err, sizeof err) != FIN_OK ||
        !(s_agg = aggregate_new(s_cat, s_secret)) || !(s_ingest = ingest_new(s_ledger, s_cat)))
        abort();
    if (!allowlist_lookup(s_allow, s_key))
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ingest_item_t item;
    memset(&item, 0, sizeof item);
    snprintf(item.agent_key, sizeof item.agent_key, "%s", s_key);
    item.data = data;
    item.len = size;
    if (ingest_prepare(s_ingest, &item, s_allow) &&
        (ingest_commit(s_ingest, &item, 1) != 0 ||
         replay_follow(s_ledger, s_agg, 0, NULL, NULL, &(uint64_t){0}) != 0))
        abort(); /* on a healthy store a commit does not fail */
    size_t len;
    uint8_t *ack = ingest_ack(&item, &len);
    if (!ack)
        abort();
    ack_msg_t *decoded = codec_decode_ack(ack, len);
    if (!decoded)
        abort(); /* the agent must be able to read every answer we give */
    codec_free_ack(&decoded);
    free(ack);
    ingest_item_clear(&item);
    return 0;
}
