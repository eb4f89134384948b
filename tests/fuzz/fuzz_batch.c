/* fuzz_batch.c: a Batch frame as the collector receives it from a peer:
 * codec_decode_batch, then codec_decode_event and validate_event (embedded
 * catalogue, förbund NV) for every element, as collector/ingest.c does. No
 * store here; fuzz_ingest covers the storing path. */
#include "catalogue.h"
#include "codec.h"
#include "validate.h"

#include <stdint.h>
#include <stdlib.h>

#define NOW_S 1781524800 /* 2026-06-15 12:00 UTC */

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
    batch_msg_t *b = NULL;
    if (codec_decode_batch(data, size, &b, why, sizeof why) != FINSAM__V1__REJECT_CODE__REJECT_NONE)
        return 0;
    if (b->n_events > CODEC_MAX_BATCH_EVENTS)
        abort(); /* the decoder promised a bound */
    for (size_t i = 0; i < b->n_events; i++) {
        event_msg_t *ev = NULL;
        if (codec_decode_event(b->events[i].data, b->events[i].len, &ev, why, sizeof why) ==
            FINSAM__V1__REJECT_CODE__REJECT_NONE)
            (void) validate_event(s_cat, ev, "NV", NOW_S, why, sizeof why);
        codec_free_event(&ev);
    }
    codec_free_batch(&b);
    return 0;
}
