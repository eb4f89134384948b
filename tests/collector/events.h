/* events.h: builders for wire events in collector tests. Each returns a
 * malloc'd encoded Event (free it); ids are derived from `n` with a month
 * prefix, like real agents make them. */
#ifndef FINSAM_TEST_EVENTS_H
#define FINSAM_TEST_EVENTS_H

#include "codec.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

#define T_2026_03 1773403200 /* 2026-03-13 12:00 UTC */

/* A month prefix, then n twice: bytes 4..8 differ between events as a
 * real id's hash does, and aggregate.c tells a person's paired
 * observations apart by the first 8 bytes of their event ids. */
static inline void ev_id(uint8_t id[16], uint32_t n)
{
    memset(id, 0, 16);
    be32_put(id, 674); /* 2026-03 */
    be32_put(id + 4, n);
    be32_put(id + 12, n);
}

static inline void ev_pseudonym(uint8_t p[32], uint32_t person)
{
    memset(p, 0x5a, 32);
    be32_put(p, person);
}

static inline uint8_t *ev_pack(Finsam__V1__Event *ev, size_t *len)
{
    return codec_pack(&ev->base, len);
}

/* Gender and age band for the next ev_survey or ev_status (0 = not given). */
static int ev_gender, ev_age;

/* A participant survey answer to one item. */
static inline uint8_t *ev_survey(uint32_t n, const char *forbund, uint32_t person, const char *instrument,
                                 const char *item, int value, int mode, int64_t when, size_t *len)
{
    static uint8_t id[16], pseudonym[32];
    ev_id(id, n);
    ev_pseudonym(pseudonym, person);
    Finsam__V1__Answer a = FINSAM__V1__ANSWER__INIT, *ap = &a;
    a.item = (char *) item;
    a.value = value;
    Finsam__V1__ParticipantSurvey s = FINSAM__V1__PARTICIPANT_SURVEY__INIT;
    s.pseudonym = (ProtobufCBinaryData){32, pseudonym};
    s.instrument = (char *) instrument;
    s.mode = mode;
    s.n_answers = 1;
    s.answers = &ap;
    s.has_gender = ev_gender != 0;
    s.gender = ev_gender;
    s.has_age_band = ev_age != 0;
    s.age_band = ev_age;
    Finsam__V1__Event ev = FINSAM__V1__EVENT__INIT;
    ev.id = (ProtobufCBinaryData){16, id};
    ev.forbund = (char *) forbund;
    ev.occurred_at = when;
    ev.catalogue_version = 1;
    ev.body_case = FINSAM__V1__EVENT__BODY_PARTICIPANT_SURVEY;
    ev.participant_survey = &s;
    return ev_pack(&ev, len);
}

static inline uint8_t *ev_status(uint32_t n, const char *forbund, uint32_t person, int phase, int occupation,
                                 int income, int mode, int64_t when, size_t *len)
{
    static uint8_t id[16], pseudonym[32];
    ev_id(id, n);
    ev_pseudonym(pseudonym, person);
    Finsam__V1__StatusObservation s = FINSAM__V1__STATUS_OBSERVATION__INIT;
    s.pseudonym = (ProtobufCBinaryData){32, pseudonym};
    s.phase = phase;
    s.mode = mode;
    s.occupation = occupation;
    s.income = income;
    /* Full time, so that work without public support is step 5 (a missing
     * extent proves no 50 %: proto/validate.c). */
    s.has_extent_pct = 1;
    s.extent_pct = 100;
    s.has_gender = ev_gender != 0;
    s.gender = ev_gender;
    s.has_age_band = ev_age != 0;
    s.age_band = ev_age;
    Finsam__V1__Event ev = FINSAM__V1__EVENT__INIT;
    ev.id = (ProtobufCBinaryData){16, id};
    ev.forbund = (char *) forbund;
    ev.occurred_at = when;
    ev.catalogue_version = 1;
    ev.body_case = FINSAM__V1__EVENT__BODY_STATUS;
    ev.status = &s;
    return ev_pack(&ev, len);
}

static inline uint8_t *ev_retraction(uint32_t n, const char *forbund, uint32_t target, size_t *len)
{
    static uint8_t id[16], tid[16];
    ev_id(id, n);
    ev_id(tid, target);
    Finsam__V1__Retraction r = FINSAM__V1__RETRACTION__INIT;
    r.target_id = (ProtobufCBinaryData){16, tid};
    Finsam__V1__Event ev = FINSAM__V1__EVENT__INIT;
    ev.id = (ProtobufCBinaryData){16, id};
    ev.forbund = (char *) forbund;
    ev.occurred_at = T_2026_03;
    ev.catalogue_version = 1;
    ev.body_case = FINSAM__V1__EVENT__BODY_RETRACTION;
    ev.retraction = &r;
    return ev_pack(&ev, len);
}

/* An Erasure of the event with id ev_id(target). */
static inline uint8_t *ev_erasure(uint32_t n, const char *forbund, uint32_t target, size_t *len)
{
    static uint8_t id[16], tid[16];
    ev_id(id, n);
    ev_id(tid, target);
    Finsam__V1__Erasure e = FINSAM__V1__ERASURE__INIT;
    e.target_id = (ProtobufCBinaryData){16, tid};
    Finsam__V1__Event ev = FINSAM__V1__EVENT__INIT;
    ev.id = (ProtobufCBinaryData){16, id};
    ev.forbund = (char *) forbund;
    ev.occurred_at = T_2026_03;
    ev.catalogue_version = 1;
    ev.body_case = FINSAM__V1__EVENT__BODY_ERASURE;
    ev.erasure = &e;
    return ev_pack(&ev, len);
}

/* Re-encodes an encoded event with supersedes = ev_id(target) (a
 * correction); frees the input. */
static inline uint8_t *ev_superseding(uint8_t *bytes, size_t *len, uint32_t target)
{
    Finsam__V1__Event *ev = finsam__v1__event__unpack(NULL, *len, bytes);
    free(bytes);
    if (!ev)
        return NULL;
    uint8_t tid[16];
    ev_id(tid, target);
    ev->has_supersedes = 1;
    ev->supersedes = (ProtobufCBinaryData){16, tid};
    uint8_t *out = ev_pack(ev, len);
    ev->has_supersedes = 0; /* tid is not the unpacked message's to free */
    ev->supersedes = (ProtobufCBinaryData){0, NULL};
    finsam__v1__event__free_unpacked(ev, NULL);
    return out;
}

/* Packs encoded events into a Batch. */
static inline uint8_t *ev_batch(uint64_t seq, uint8_t **events, size_t *lens, size_t n, size_t *len)
{
    ProtobufCBinaryData *b = calloc(n + 1, sizeof *b);
    for (size_t i = 0; i < n; i++)
        b[i] = (ProtobufCBinaryData){lens[i], events[i]};
    Finsam__V1__Batch batch = FINSAM__V1__BATCH__INIT;
    batch.version = 1;
    batch.agent_id = "test";
    batch.batch_seq = seq;
    batch.n_events = n;
    batch.events = b;
    uint8_t *out = codec_pack(&batch.base, len);
    free(b);
    return out;
}

#endif
