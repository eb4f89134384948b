/* codec.h: encode and decode finsam wire messages, with hard limits.
 *
 * Everything from the network passes through codec_decode_*: a size check
 * before unpacking, a memory budget during (protobuf-c allocates per
 * sub-message, so a small message could otherwise cost a lot), and
 * structural checks after (required lengths, UTF-8, enum ranges). Semantic
 * checks against the catalogue and the sender's förbund are in validate.h.
 * Decoded messages are owned by the caller and freed with the matching
 * codec_free_* (NULL-safe). */
#ifndef FINSAM_CODEC_H
#define FINSAM_CODEC_H

#include "finsam.pb-c.h"

#include <stddef.h>
#include <stdint.h>

typedef Finsam__V1__Batch batch_msg_t;
typedef Finsam__V1__Event event_msg_t;
typedef Finsam__V1__Ack ack_msg_t;
typedef Finsam__V1__RejectCode reject_code_t;

#define CODEC_ID_LEN 16
#define CODEC_PSEUDONYM_LEN 32
#define CODEC_FORBUND_MAX 8
#define CODEC_MAX_EVENT_BYTES (16 * 1024)
#define CODEC_MAX_BATCH_EVENTS 1000
#define CODEC_MAX_BATCH_BYTES (4 * 1024 * 1024)
#define CODEC_MAX_ANSWERS 64
#define CODEC_WIRE_VERSION 1

/* Decodes a Batch envelope (events stay encoded). Returns REJECT_NONE with
 * *out set, or a reject code with a reason in why and *out NULL. */
reject_code_t codec_decode_batch(const uint8_t *buf, size_t len, batch_msg_t **out, char *why, size_t whylen);
void codec_free_batch(batch_msg_t **msg_p);

/* Decodes one Event and checks its structure (not the catalogue). */
reject_code_t codec_decode_event(const uint8_t *buf, size_t len, event_msg_t **out, char *why, size_t whylen);
void codec_free_event(event_msg_t **msg_p);

/* Decodes an Ack (agent side; the collector is trusted but not blindly). */
ack_msg_t *codec_decode_ack(const uint8_t *buf, size_t len);
void codec_free_ack(ack_msg_t **msg_p);

/* Packs any message into a new malloc'd buffer; NULL on allocation failure. */
uint8_t *codec_pack(const ProtobufCMessage *msg, size_t *len);

/* Stable name of a reject code ("forbidden", "invalid_field", ...). */
const char *codec_reject_name(reject_code_t code);

/* The event's body kind as a short name: "participant_survey", "status",
 * "staff_survey", "organisation", "retraction", "erasure", "erased" (a
 * tombstone in the log, see finsam.proto), or "none". */
const char *codec_event_kind(const event_msg_t *ev);

#endif
