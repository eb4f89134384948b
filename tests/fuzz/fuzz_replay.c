/* fuzz_replay.c: one frame on the collector's replay socket, as
 * stream_handle_replay takes it: stream_parse_replay (ReplayRequest
 * decoding, kind check, the access rules "nothing for a key no longer on
 * the allow-list" and "events only for access = all", the chunk limit),
 * for each access a client can have (none: not listed, "aggregates",
 * "all"), then the ReplayEnd answer a refused request gets,
 * encoded and decoded again as the client would.
 *
 * What a valid request then reads (the log or the cells in one read
 * transaction, sent with ZMQ_DONTWAIT) takes no further input from the
 * client; it is covered by the fault suite and the stream tests, not here. */
#include "codec.h"
#include "stream.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const access[] = {NULL, "aggregates", "all"};
    for (size_t i = 0; i < sizeof access / sizeof *access; i++) {
        Finsam__V1__ReplayEnd end = FINSAM__V1__REPLAY_END__INIT;
        uint32_t limit = 0;
        Finsam__V1__ReplayRequest *r = stream_parse_replay(data, size, access[i], &limit, &end);
        if (r) {
            bool events = r->kind == FINSAM__V1__REPLAY_REQUEST__KIND__KIND_EVENTS;
            if (end.has_error || limit < 1 || limit > 1000 || !access[i] ||
                (!events && r->kind != FINSAM__V1__REPLAY_REQUEST__KIND__KIND_SNAPSHOT) ||
                (events && strcmp(access[i], "all")))
                abort(); /* accepted what the rules refuse */
            if (r->has_after_key && r->after_key.len && !r->after_key.data)
                abort();
            finsam__v1__replay_request__free_unpacked(r, NULL);
            continue;
        }
        if (!end.has_error || !end.done || !end.error_text)
            abort(); /* a refusal must say why and end the session */
        size_t len;
        uint8_t *bytes = codec_pack(&end.base, &len);
        if (!bytes)
            abort();
        Finsam__V1__ReplayEnd *back = finsam__v1__replay_end__unpack(NULL, len, bytes);
        if (!back || back->error != end.error)
            abort(); /* the client must be able to read every answer */
        finsam__v1__replay_end__free_unpacked(back, NULL);
        free(bytes);
    }
    return 0;
}
