/* erasure.c: the site's Erasure event and `finsam-agent erase` (see
 * erasure.h for what happens where and why the Erasure is always sent). */
#include "erasure.h"

#include "codec.h"
#include "log.h"
#include "util.h"
#include "validate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int erasure_parse_id(const char *text, uint8_t id[ANON_ID_LEN])
{
    return strlen(text) == 2 * ANON_ID_LEN && hex_decode(id, ANON_ID_LEN, text) == 0 ? 0 : -1;
}

const char *erasure_found_name(outbox_target_t found)
{
    switch (found) {
    case OUTBOX_TARGET_QUEUED: return "queued";
    case OUTBOX_TARGET_REJECTED: return "rejected";
    case OUTBOX_TARGET_GONE: return "gone";
    case OUTBOX_TARGET_UNKNOWN: break;
    }
    return "unknown";
}

uint8_t *erasure_build(const anon_t *anon, const catalogue_t *cat, const char *forbund,
                       const uint8_t target[ANON_ID_LEN], int64_t now_s, size_t *len, uint8_t id[ANON_ID_LEN],
                       char *err, size_t errlen)
{
    uint8_t h[ANON_HASH_LEN];
    anon_hash(anon, "finsam-erasure", target, ANON_ID_LEN, h);
    /* The target's month prefix: the id is the same whenever the command
     * is repeated, and says nothing the target's id does not. */
    memcpy(id, target, 4);
    memcpy(id + 4, h, ANON_ID_LEN - 4);
    Finsam__V1__Erasure er = FINSAM__V1__ERASURE__INIT;
    er.target_id = (ProtobufCBinaryData){ANON_ID_LEN, (uint8_t *) target};
    Finsam__V1__Event ev = FINSAM__V1__EVENT__INIT;
    ev.id = (ProtobufCBinaryData){ANON_ID_LEN, id};
    ev.forbund = (char *) forbund;
    ev.occurred_at = anon_this_month(now_s);
    ev.catalogue_version = cat->version;
    ev.body_case = FINSAM__V1__EVENT__BODY_ERASURE;
    ev.erasure = &er;
    uint8_t *bytes = codec_pack(&ev.base, len);
    if (!bytes) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    /* Checked with the collector's own functions before anything is kept. */
    event_msg_t *msg = NULL;
    char why[256];
    reject_code_t rj = codec_decode_event(bytes, *len, &msg, why, sizeof why);
    if (rj == FINSAM__V1__REJECT_CODE__REJECT_NONE)
        rj = validate_event(cat, msg, forbund, now_s, why, sizeof why);
    codec_free_event(&msg);
    if (rj != FINSAM__V1__REJECT_CODE__REJECT_NONE) {
        snprintf(err, errlen, "the erasure event is not valid: %s: %s", codec_reject_name(rj), why);
        free(bytes);
        return NULL;
    }
    return bytes;
}

/* What s_check_target knows and says. */
typedef struct {
    const char *hex; /* the target's id */
    bool refused;
} s_check_t;

/* outbox_check_fn: a retraction or an erasure holds no content to erase
 * (the collector would refuse it). */
static fin_err_t s_check_target(const uint8_t *bytes, size_t len, void *arg, char *err, size_t errlen)
{
    s_check_t *c = arg;
    event_msg_t *ev = NULL;
    char why[160];
    if (codec_decode_event(bytes, len, &ev, why, sizeof why) != FINSAM__V1__REJECT_CODE__REJECT_NONE)
        return FIN_OK; /* not ours to judge: erase it */
    bool none = ev->body_case == FINSAM__V1__EVENT__BODY_RETRACTION ||
                ev->body_case == FINSAM__V1__EVENT__BODY_ERASURE;
    codec_free_event(&ev);
    if (!none)
        return FIN_OK;
    c->refused = true;
    return fin_fail(err, errlen, FIN_EINPUT,
                    "event %s is a retraction or an erasure: it holds nothing to erase", c->hex);
}

fin_err_t erasure_run(outbox_t *outbox, const anon_t *anon, const catalogue_t *cat, const char *forbund,
                      const uint8_t target[ANON_ID_LEN], int64_t now_s, int wait_ms, erasure_report_t *report,
                      char *err, size_t errlen)
{
    memset(report, 0, sizeof *report);
    memcpy(report->target, target, ANON_ID_LEN);
    err[0] = '\0';
    char hex[2 * ANON_ID_LEN + 1], ehex[2 * ANON_ID_LEN + 1];
    hex_encode(hex, target, ANON_ID_LEN);
    outbox_item_t item = {0};
    uint8_t *bytes = erasure_build(anon, cat, forbund, target, now_s, &item.len, report->id, err, errlen);
    if (!bytes)
        return FIN_EINTERNAL;
    hex_encode(ehex, report->id, ANON_ID_LEN);
    memcpy(item.id, report->id, ANON_ID_LEN);
    /* The content hash only matters for natural keys, which an erasure
     * has none of. */
    anon_hash(anon, "finsam-erasure-content", bytes, item.len, item.content);
    item.bytes = bytes;
    char why[512];
    s_check_t check = {hex, false};
    fin_err_t rc =
        outbox_erase(outbox, target, &item, s_check_target, &check, &report->found, why, sizeof why);
    free(bytes);
    if (rc && check.refused)
        return fin_fail(err, errlen, rc, "%s", why);
    if (rc)
        return fin_fail(err, errlen, rc, "outbox: %s", why);
    if (report->found == OUTBOX_TARGET_UNKNOWN)
        return fin_fail(err, errlen, FIN_ENOTFOUND,
                        "event %s was never queued by this agent: check the id (32 hex digits, as the centre "
                        "or `status` shows it); an event sent from another machine is erased at the centre "
                        "(finsamctl erase)",
                        hex);
    report->added = item.result != OUTBOX_ALREADY;
    log_info("erase", "EVENT-ERASED target=%s found=%s erasure=%s added=%d", hex,
             erasure_found_name(report->found), ehex, report->added);
    /* Also when the target was gone already: what a crash or an older
     * version left in free space goes too. */
    if (outbox_scrub(outbox, wait_ms, &report->scrub, err, errlen) != FIN_OK) {
        log_error("erase", "ERASE-SCRUB-FAILED target=%s reason=\"%s\"", hex, err);
        return FIN_OK;
    }
    report->scrubbed = true;
    log_info("erase",
             "ERASE-SCRUBBED target=%s zeroed_kib=%llu free_pages=%llu gaps=%llu held_pages=%llu "
             "old_readers=%d seconds=%.3f",
             hex, (unsigned long long) (report->scrub.zeroed >> 10),
             (unsigned long long) report->scrub.free_pages, (unsigned long long) report->scrub.gaps,
             (unsigned long long) report->scrub.held_pages, report->scrub.old_readers, report->scrub.seconds);
    return FIN_OK;
}
