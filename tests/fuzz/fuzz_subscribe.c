/* fuzz_subscribe.c: one frame on the collector's live socket, as
 * stream_handle_live takes it: stream_parse_subscribe (Subscribe decoding,
 * the prefix limits, the access rule "no prefix that selects only events
 * for an aggregates-only key"), for both kinds of key; then the
 * SubscribeReply the client gets — subscribe.ok echoing the prefixes, or
 * subscribe.end with the reason — encoded and decoded again as the client
 * would.
 *
 * What an accepted subscription then receives is decided per send against
 * the allow-list (stream.c s_fanout); the stream tests cover that, not
 * this target. */
#include "codec.h"
#include "stream.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void s_check_prefix(const char *p, bool events)
{
    size_t n = strlen(p);
    if (n > STREAM_PREFIX_LEN_MAX)
        abort();
    for (size_t i = 0; i < n; i++)
        if (p[i] < 0x21 || p[i] > 0x7e || p[i] == '"' || p[i] == '\\')
            abort(); /* would reach a log line or match no topic */
    if (!events && n > 0 && !strncmp(p, "ev.", n < 3 ? n : 3))
        abort(); /* an aggregates-only key subscribed to events */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (int events = 0; events < 2; events++) {
        Finsam__V1__SubscribeReply reply = FINSAM__V1__SUBSCRIBE_REPLY__INIT;
        Finsam__V1__Subscribe *s = stream_parse_subscribe(data, size, events, &reply);
        if (s) {
            if (reply.has_error || s->n_prefixes > STREAM_PREFIXES_MAX)
                abort(); /* accepted what the rules refuse */
            for (size_t i = 0; i < s->n_prefixes; i++)
                s_check_prefix(s->prefixes[i], events);
            reply.n_prefixes = s->n_prefixes;
            reply.prefixes = s->prefixes;
        } else if (!reply.has_error || !reply.error_text) {
            abort(); /* a refusal must say why */
        }
        reply.head_seq = 1;
        reply.resubscribe_ms = STREAM_RESUBSCRIBE_MS;
        reply.expire_ms = STREAM_EXPIRE_MS;
        size_t len;
        uint8_t *bytes = codec_pack(&reply.base, &len);
        if (!bytes)
            abort();
        Finsam__V1__SubscribeReply *back = finsam__v1__subscribe_reply__unpack(NULL, len, bytes);
        if (!back || back->has_error != reply.has_error || back->n_prefixes != reply.n_prefixes)
            abort(); /* the client must be able to read every answer */
        finsam__v1__subscribe_reply__free_unpacked(back, NULL);
        free(bytes);
        if (s)
            finsam__v1__subscribe__free_unpacked(s, NULL);
    }
    return 0;
}
