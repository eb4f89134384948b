/* fuzz_event.c: one encoded Event, as the collector decodes each element of
 * a batch: codec_decode_event (size limit, budgeted unpack, structural
 * checks), then validate_event against the embedded catalogue.
 *
 * Property checked besides "no crash, no leak": an event that passes
 * decoding passes it again after re-encoding, with the same verdict from
 * validate_event. The collector stores and forwards the bytes it received,
 * but the agent and downstream tools re-encode; both must agree. */
#include "catalogue.h"
#include "codec.h"
#include "validate.h"

#include <stdint.h>
#include <stdlib.h>

/* 2026-06-15 12:00 UTC: a fixed clock keeps runs reproducible. */
#define NOW_S 1781524800

static catalogue_t *s_cat;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];
    if (catalogue_load(&s_cat, NULL, err, sizeof err) < 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[256];
    event_msg_t *ev = NULL;
    if (codec_decode_event(data, size, &ev, why, sizeof why) != FINSAM__V1__REJECT_CODE__REJECT_NONE)
        return 0;
    reject_code_t verdict = validate_event(s_cat, ev, "NV", NOW_S, why, sizeof why);
    (void) codec_event_kind(ev);
    if (ev->body_case == FINSAM__V1__EVENT__BODY_STATUS) {
        (void) validate_status_step(ev->status);
        (void) validate_status_in_work_or_studies(ev->status);
    }
    size_t len;
    uint8_t *again = codec_pack(&ev->base, &len);
    if (!again)
        abort();
    event_msg_t *ev2 = NULL;
    if (codec_decode_event(again, len, &ev2, why, sizeof why) != FINSAM__V1__REJECT_CODE__REJECT_NONE)
        abort(); /* a decoded event must survive its own re-encoding */
    if (validate_event(s_cat, ev2, "NV", NOW_S, why, sizeof why) != verdict)
        abort();
    codec_free_event(&ev2);
    free(again);
    codec_free_event(&ev);
    return 0;
}
