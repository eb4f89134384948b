/* fuzz_ack.c: an Ack as the agent receives it (codec_decode_ack). The
 * collector is trusted but not blindly: every id the agent will look up
 * in its outbox must be exactly 16 bytes. */
#include "codec.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ack_msg_t *ack = codec_decode_ack(data, size);
    if (!ack)
        return 0;
    for (size_t i = 0; i < ack->n_accepted; i++)
        if (ack->accepted[i].len != CODEC_ID_LEN)
            abort();
    for (size_t i = 0; i < ack->n_rejected; i++) {
        if (ack->rejected[i]->id.len != CODEC_ID_LEN)
            abort();
        (void) codec_reject_name(ack->rejected[i]->code);
    }
    if (ack->has_batch_error)
        (void) codec_reject_name(ack->batch_error);
    codec_free_ack(&ack);
    return 0;
}
