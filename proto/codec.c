/* codec.c: bounded protobuf-c decoding (see codec.h).
 *
 * The budget allocator is the one trick here: protobuf_c_message_unpack has
 * no limit of its own and no error reason, so we cap the bytes it may
 * allocate at a multiple of the input size and check every field it cannot
 * (string encoding, byte lengths, open enums) ourselves afterwards. */
#include "codec.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    size_t left;
} s_budget_t;

static void *s_budget_alloc(void *data, size_t size)
{
    s_budget_t *b = data;
    if (size > b->left)
        return NULL;
    b->left -= size;
    return malloc(size);
}

static void s_budget_free(void *data, void *ptr)
{
    (void) data;
    free(ptr);
}

/* protobuf-c accepts a tag written in more bytes than needed ("81 00")
 * without checking that its field number is not 0, and keeps it as an
 * unknown field; re-encoded, it becomes the one-byte tag that protobuf-c
 * itself (and every other protobuf implementation) refuses. Such a message
 * must be refused here, or we would store and forward bytes that no
 * consumer can read once re-encoded. Found by tests/fuzz/fuzz_event. */
static bool s_field_numbers_ok(const ProtobufCMessage *m)
{
    for (unsigned i = 0; i < m->n_unknown_fields; i++)
        if (m->unknown_fields[i].tag == 0)
            return false;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        const char *member = (const char *) m + f->offset;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *) ((const char *) m + f->quantifier_offset);
            ProtobufCMessage *const *sub = *(ProtobufCMessage *const *const *) member;
            for (size_t j = 0; j < n; j++)
                if (!s_field_numbers_ok(sub[j]))
                    return false;
            continue;
        }
        /* A oneof member's pointer is only valid when it is the one set. */
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *) ((const char *) m + f->quantifier_offset) != f->id)
            continue;
        const ProtobufCMessage *sub = *(ProtobufCMessage *const *) member;
        if (sub && !s_field_numbers_ok(sub))
            return false;
    }
    return true;
}

/* Events are decoded on the ingest hot path, one per stored event. Their
 * decode uses one bump arena instead of a malloc per field: the arena's
 * first allocation is the message itself (protobuf-c allocates the top
 * message first), so the whole decoded event is freed with one free() of
 * the message pointer (codec_free_event). Same budget as s_unpack. */
typedef struct {
    uint8_t *base;
    size_t used, size;
} s_arena_t;

static void *s_arena_alloc(void *data, size_t size)
{
    s_arena_t *a = data;
    size_t need = (size + 15) & ~(size_t) 15;
    if (need > a->size - a->used)
        return NULL;
    void *p = a->base + a->used;
    a->used += need;
    return p;
}

static void s_arena_free(void *data, void *ptr)
{
    (void) data;
    (void) ptr; /* freed all at once */
}

static bool s_field_numbers_ok(const ProtobufCMessage *m);

/* Under AddressSanitizer every field keeps its own allocation, so an
 * overrun between fields is still caught. */
#if defined(__SANITIZE_ADDRESS__)
#define CODEC_ARENA 0
#else
#define CODEC_ARENA 1
#endif

static ProtobufCMessage *s_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len);

static ProtobufCMessage *s_unpack_arena(const ProtobufCMessageDescriptor *desc, const uint8_t *buf,
                                        size_t len)
{
    if (!CODEC_ARENA)
        return s_unpack(desc, buf, len);
    s_arena_t arena = {NULL, 0, len * 48 + 4096};
    arena.base = malloc(arena.size);
    if (!arena.base)
        return NULL;
    ProtobufCAllocator alloc = {s_arena_alloc, s_arena_free, &arena};
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, &alloc, len, buf);
    if (!m || (void *) m != (void *) arena.base || !s_field_numbers_ok(m)) {
        free(arena.base);
        return NULL;
    }
    return m;
}

static ProtobufCMessage *s_unpack(const ProtobufCMessageDescriptor *desc, const uint8_t *buf, size_t len)
{
    /* Generous for honest messages (a few allocations per field), fatal for
     * a flood of empty sub-messages. */
    s_budget_t budget = {len * 48 + 4096};
    ProtobufCAllocator alloc = {s_budget_alloc, s_budget_free, &budget};
    ProtobufCMessage *m = protobuf_c_message_unpack(desc, &alloc, len, buf);
    if (m && !s_field_numbers_ok(m)) {
        protobuf_c_message_free_unpacked(m, NULL);
        return NULL;
    }
    return m;
}

static const char *const s_reject_names[] = {
    "none",          "malformed",    "too_large",      "version",  "forbidden", "unauthorized",
    "invalid_field", "unknown_kind", "unknown_target", "internal", "conflict",  "state",
};

const char *codec_reject_name(reject_code_t code)
{
    if ((unsigned) code < sizeof s_reject_names / sizeof *s_reject_names)
        return s_reject_names[code];
    return "unknown";
}

#define REJECT(code, ...)                                                                                    \
    do {                                                                                                     \
        snprintf(why, whylen, __VA_ARGS__);                                                                  \
        return FINSAM__V1__REJECT_CODE__##code;                                                              \
    } while (0)

reject_code_t codec_decode_batch(const uint8_t *buf, size_t len, batch_msg_t **out, char *why, size_t whylen)
{
    *out = NULL;
    if (len > CODEC_MAX_BATCH_BYTES)
        REJECT(REJECT_TOO_LARGE, "batch of %zu bytes exceeds %d", len, CODEC_MAX_BATCH_BYTES);
    batch_msg_t *b = (batch_msg_t *) s_unpack(&finsam__v1__batch__descriptor, buf, len);
    if (!b)
        REJECT(REJECT_MALFORMED, "batch does not decode");
    reject_code_t rc = FINSAM__V1__REJECT_CODE__REJECT_NONE;
    if (b->version != CODEC_WIRE_VERSION) {
        snprintf(why, whylen, "wire version %u unsupported (want %d)", b->version, CODEC_WIRE_VERSION);
        rc = FINSAM__V1__REJECT_CODE__REJECT_VERSION;
    } else if (b->n_events > CODEC_MAX_BATCH_EVENTS) {
        snprintf(why, whylen, "batch of %zu events exceeds %d", b->n_events, CODEC_MAX_BATCH_EVENTS);
        rc = FINSAM__V1__REJECT_CODE__REJECT_TOO_LARGE;
    } else if (strlen(b->agent_id) > 64 || !utf8_is_clean(b->agent_id, strlen(b->agent_id))) {
        snprintf(why, whylen, "agent_id is not clean UTF-8 of at most 64 bytes");
        rc = FINSAM__V1__REJECT_CODE__REJECT_INVALID_FIELD;
    }
    if (rc != FINSAM__V1__REJECT_CODE__REJECT_NONE) {
        finsam__v1__batch__free_unpacked(b, NULL);
        return rc;
    }
    *out = b;
    return rc;
}

void codec_free_batch(batch_msg_t **msg_p)
{
    if (msg_p && *msg_p) {
        finsam__v1__batch__free_unpacked(*msg_p, NULL);
        *msg_p = NULL;
    }
}

/* An insats code is a site's own code, declared in its agent's
 * configuration; the agent refuses anything else. The collector checks
 * again what it can: the code syntax, and no six digits in a row (a birth
 * date, a personnummer or a phone number sent by an agent that skipped the
 * site's check would otherwise reach the ledger and the streams). */
static bool s_insats_ok(const char *s)
{
    if (!code_is_valid(s, 31))
        return false;
    int run = 0;
    for (; *s; s++)
        if ((run = *s >= '0' && *s <= '9' ? run + 1 : 0) >= 6)
            return false;
    return true;
}

/* Enum values must be ones this version knows: protobuf-c keeps unknown
 * numbers of open enums. */
static bool s_enum_ok(const ProtobufCEnumDescriptor *d, int value, bool allow_zero)
{
    if (value == 0)
        return allow_zero;
    return protobuf_c_enum_descriptor_get_value(d, value) != NULL;
}

static reject_code_t s_check_answers(size_t n, Finsam__V1__Answer **answers, char *why, size_t whylen)
{
    if (n > CODEC_MAX_ANSWERS)
        REJECT(REJECT_TOO_LARGE, "%zu answers exceed %d", n, CODEC_MAX_ANSWERS);
    for (size_t i = 0; i < n; i++)
        if (!code_is_valid(answers[i]->item, 31))
            REJECT(REJECT_INVALID_FIELD, "answers[%zu].item is not a catalogue code", i);
    return FINSAM__V1__REJECT_CODE__REJECT_NONE;
}

static reject_code_t s_check_event(const event_msg_t *ev, char *why, size_t whylen)
{
    if (ev->id.len != CODEC_ID_LEN)
        REJECT(REJECT_INVALID_FIELD, "id must be %d bytes", CODEC_ID_LEN);
    if (!code_is_valid(ev->forbund, CODEC_FORBUND_MAX))
        REJECT(REJECT_INVALID_FIELD, "forbund must be 1-%d letters, digits, '_' or '-'", CODEC_FORBUND_MAX);
    /* 2000-01-01 .. 2100-01-01: anything else is a unit or clock mistake. */
    if (ev->occurred_at < 946684800 || ev->occurred_at >= 4102444800)
        REJECT(REJECT_INVALID_FIELD, "occurred_at %lld out of range", (long long) ev->occurred_at);
    if (ev->has_supersedes && ev->supersedes.len != CODEC_ID_LEN)
        REJECT(REJECT_INVALID_FIELD, "supersedes must be %d bytes", CODEC_ID_LEN);
    switch (ev->body_case) {
    case FINSAM__V1__EVENT__BODY_PARTICIPANT_SURVEY: {
        const Finsam__V1__ParticipantSurvey *p = ev->participant_survey;
        if (p->pseudonym.len != CODEC_PSEUDONYM_LEN)
            REJECT(REJECT_INVALID_FIELD, "participant_survey.pseudonym must be %d bytes",
                   CODEC_PSEUDONYM_LEN);
        if (!code_is_valid(p->instrument, 31))
            REJECT(REJECT_INVALID_FIELD, "participant_survey.instrument is not a code");
        if (!s_enum_ok(&finsam__v1__insats_mode__descriptor, p->mode, false))
            REJECT(REJECT_INVALID_FIELD, "participant_survey.mode %d unknown", p->mode);
        if (p->insats && !s_insats_ok(p->insats))
            REJECT(
                REJECT_INVALID_FIELD,
                "participant_survey.insats is not an insats code (letters, digits, '-' and '_', at most 31, "
                "no six digits in a row)");
        if (p->has_gender && !s_enum_ok(&finsam__v1__gender__descriptor, p->gender, true))
            REJECT(REJECT_INVALID_FIELD, "participant_survey.gender %d unknown", p->gender);
        if (p->has_age_band && !s_enum_ok(&finsam__v1__age_band__descriptor, p->age_band, true))
            REJECT(REJECT_INVALID_FIELD, "participant_survey.age_band %d unknown", p->age_band);
        return s_check_answers(p->n_answers, p->answers, why, whylen);
    }
    case FINSAM__V1__EVENT__BODY_STATUS: {
        const Finsam__V1__StatusObservation *s = ev->status;
        if (s->pseudonym.len != CODEC_PSEUDONYM_LEN)
            REJECT(REJECT_INVALID_FIELD, "status.pseudonym must be %d bytes", CODEC_PSEUDONYM_LEN);
        if (!s_enum_ok(&finsam__v1__phase__descriptor, s->phase, false))
            REJECT(REJECT_INVALID_FIELD, "status.phase %d unknown", s->phase);
        if (!s_enum_ok(&finsam__v1__insats_mode__descriptor, s->mode, false))
            REJECT(REJECT_INVALID_FIELD, "status.mode %d unknown", s->mode);
        if (s->insats && !s_insats_ok(s->insats))
            REJECT(REJECT_INVALID_FIELD, "status.insats is not an insats code (letters, digits, '-' and '_', "
                                         "at most 31, no six digits "
                                         "in a row)");
        if (!s_enum_ok(&finsam__v1__occupation__descriptor, s->occupation, false))
            REJECT(REJECT_INVALID_FIELD, "status.occupation %d unknown", s->occupation);
        if (!s_enum_ok(&finsam__v1__income__descriptor, s->income, false))
            REJECT(REJECT_INVALID_FIELD, "status.income %d unknown", s->income);
        if (s->has_extent_pct && s->extent_pct > 100)
            REJECT(REJECT_INVALID_FIELD, "status.extent_pct %u over 100", s->extent_pct);
        if (s->has_days_in_insats && s->days_in_insats > 3650)
            REJECT(REJECT_INVALID_FIELD, "status.days_in_insats %u over 3650", s->days_in_insats);
        if (s->has_days_to_next_service && s->days_to_next_service > 3650)
            REJECT(REJECT_INVALID_FIELD, "status.days_to_next_service %u over 3650", s->days_to_next_service);
        if (s->has_gender && !s_enum_ok(&finsam__v1__gender__descriptor, s->gender, true))
            REJECT(REJECT_INVALID_FIELD, "status.gender %d unknown", s->gender);
        if (s->has_age_band && !s_enum_ok(&finsam__v1__age_band__descriptor, s->age_band, true))
            REJECT(REJECT_INVALID_FIELD, "status.age_band %d unknown", s->age_band);
        return FINSAM__V1__REJECT_CODE__REJECT_NONE;
    }
    case FINSAM__V1__EVENT__BODY_STAFF_SURVEY: {
        const Finsam__V1__StaffSurvey *s = ev->staff_survey;
        if (!code_is_valid(s->instrument, 31))
            REJECT(REJECT_INVALID_FIELD, "staff_survey.instrument is not a code");
        if (!s_enum_ok(&finsam__v1__agency__descriptor, s->agency, false))
            REJECT(REJECT_INVALID_FIELD, "staff_survey.agency %d unknown", s->agency);
        if (!s_enum_ok(&finsam__v1__insats_mode__descriptor, s->mode, false))
            REJECT(REJECT_INVALID_FIELD, "staff_survey.mode %d unknown", s->mode);
        return s_check_answers(s->n_answers, s->answers, why, whylen);
    }
    case FINSAM__V1__EVENT__BODY_ORGANISATION:
        return s_check_answers(ev->organisation->n_answers, ev->organisation->answers, why, whylen);
    case FINSAM__V1__EVENT__BODY_RETRACTION:
        if (ev->retraction->target_id.len != CODEC_ID_LEN)
            REJECT(REJECT_INVALID_FIELD, "retraction.target_id must be %d bytes", CODEC_ID_LEN);
        if (ev->has_supersedes)
            REJECT(REJECT_INVALID_FIELD, "a retraction cannot supersede");
        return FINSAM__V1__REJECT_CODE__REJECT_NONE;
    case FINSAM__V1__EVENT__BODY_ERASURE:
        if (ev->erasure->target_id.len != CODEC_ID_LEN)
            REJECT(REJECT_INVALID_FIELD, "erasure.target_id must be %d bytes", CODEC_ID_LEN);
        if (!memcmp(ev->erasure->target_id.data, ev->id.data, CODEC_ID_LEN))
            REJECT(REJECT_INVALID_FIELD, "an erasure cannot name itself");
        if (ev->has_supersedes)
            REJECT(REJECT_INVALID_FIELD, "an erasure cannot supersede");
        return FINSAM__V1__REJECT_CODE__REJECT_NONE;
    case FINSAM__V1__EVENT__BODY_ERASED:
        /* A tombstone: structurally valid (replay and rebuild decode it);
         * validate_event refuses it from agents. */
        return FINSAM__V1__REJECT_CODE__REJECT_NONE;
    case FINSAM__V1__EVENT__BODY_APPROVAL: {
        const Finsam__V1__PeriodApproval *a = ev->approval;
        if (a->action < FINSAM__V1__PERIOD_APPROVAL__ACTION__ACTION_SUBMIT ||
            a->action > FINSAM__V1__PERIOD_APPROVAL__ACTION__ACTION_REOPEN)
            REJECT(REJECT_INVALID_FIELD, "approval.action %d unknown", a->action);
        if (a->year < 2000 || a->year > 2100)
            REJECT(REJECT_INVALID_FIELD, "approval.year %u outside 2000-2100", a->year);
        if (a->has_half && a->half > 2)
            REJECT(REJECT_INVALID_FIELD, "approval.half %u: 1, 2 or absent", a->half);
        if (a->by && (strlen(a->by) > 64 || !utf8_is_clean(a->by, strlen(a->by))))
            REJECT(REJECT_INVALID_FIELD, "approval.by is not clean UTF-8 of at most 64 bytes");
        if (a->reason && (strlen(a->reason) > 500 || !utf8_is_clean(a->reason, strlen(a->reason))))
            REJECT(REJECT_INVALID_FIELD, "approval.reason is not clean UTF-8 of at most 500 bytes");
        if (a->action == FINSAM__V1__PERIOD_APPROVAL__ACTION__ACTION_REOPEN && (!a->reason || !a->reason[0]))
            REJECT(REJECT_INVALID_FIELD, "approval: a reopen needs a reason");
        if (ev->has_supersedes)
            REJECT(REJECT_INVALID_FIELD, "an approval cannot supersede");
        return FINSAM__V1__REJECT_CODE__REJECT_NONE;
    }
    default: REJECT(REJECT_UNKNOWN_KIND, "event has no known body");
    }
}

reject_code_t codec_decode_event(const uint8_t *buf, size_t len, event_msg_t **out, char *why, size_t whylen)
{
    *out = NULL;
    if (len > CODEC_MAX_EVENT_BYTES)
        REJECT(REJECT_TOO_LARGE, "event of %zu bytes exceeds %d", len, CODEC_MAX_EVENT_BYTES);
    event_msg_t *ev = (event_msg_t *) s_unpack_arena(&finsam__v1__event__descriptor, buf, len);
    if (!ev)
        REJECT(REJECT_MALFORMED, "event does not decode");
    reject_code_t rc = s_check_event(ev, why, whylen);
    if (rc != FINSAM__V1__REJECT_CODE__REJECT_NONE) {
        codec_free_event(&ev);
        return rc;
    }
    *out = ev;
    return rc;
}

void codec_free_event(event_msg_t **msg_p)
{
    if (msg_p && *msg_p) {
        if (CODEC_ARENA)
            free(*msg_p); /* the arena holding the whole message */
        else
            finsam__v1__event__free_unpacked(*msg_p, NULL);
        *msg_p = NULL;
    }
}

ack_msg_t *codec_decode_ack(const uint8_t *buf, size_t len)
{
    if (len > CODEC_MAX_BATCH_BYTES)
        return NULL;
    ack_msg_t *ack = (ack_msg_t *) s_unpack(&finsam__v1__ack__descriptor, buf, len);
    if (!ack)
        return NULL;
    for (size_t i = 0; i < ack->n_accepted; i++)
        if (ack->accepted[i].len != CODEC_ID_LEN)
            goto bad;
    for (size_t i = 0; i < ack->n_rejected; i++)
        if (ack->rejected[i]->id.len != CODEC_ID_LEN)
            goto bad;
    return ack;
bad:
    finsam__v1__ack__free_unpacked(ack, NULL);
    return NULL;
}

void codec_free_ack(ack_msg_t **msg_p)
{
    if (msg_p && *msg_p) {
        finsam__v1__ack__free_unpacked(*msg_p, NULL);
        *msg_p = NULL;
    }
}

uint8_t *codec_pack(const ProtobufCMessage *msg, size_t *len)
{
    *len = protobuf_c_message_get_packed_size(msg);
    uint8_t *buf = malloc(*len ? *len : 1);
    if (buf)
        protobuf_c_message_pack(msg, buf);
    return buf;
}

const char *codec_event_kind(const event_msg_t *ev)
{
    switch (ev->body_case) {
    case FINSAM__V1__EVENT__BODY_PARTICIPANT_SURVEY: return "participant_survey";
    case FINSAM__V1__EVENT__BODY_STATUS: return "status";
    case FINSAM__V1__EVENT__BODY_STAFF_SURVEY: return "staff_survey";
    case FINSAM__V1__EVENT__BODY_ORGANISATION: return "organisation";
    case FINSAM__V1__EVENT__BODY_RETRACTION: return "retraction";
    case FINSAM__V1__EVENT__BODY_ERASURE: return "erasure";
    case FINSAM__V1__EVENT__BODY_ERASED: return "erased";
    case FINSAM__V1__EVENT__BODY_APPROVAL: return "approval";
    default: return "none";
    }
}
