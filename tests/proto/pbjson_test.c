/* pbjson_test.c: proto/pbjson.c, wire messages as JSON for people and
 * scripts (finsamctl tail --format json): field names as in finsam.proto,
 * enums by name, bytes as lower-case hex, unset optional fields and the
 * unset members of a oneof left out, repeated fields as arrays. */
#include "events.h"
#include "testutil.h"

#include "pbjson.h"

#include <jansson.h>
#include <string.h>

static json_t *s_json_of(const uint8_t *bytes, size_t len)
{
    Finsam__V1__Event *ev = finsam__v1__event__unpack(NULL, len, bytes);
    CHECK(ev);
    json_t *j = pbjson_from_message(&ev->base);
    CHECK(j);
    finsam__v1__event__free_unpacked(ev, NULL);
    char *text = json_dumps(j, JSON_SORT_KEYS);
    fprintf(stderr, "%s\n", text);
    free(text);
    return j;
}

static const char *s_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    CHECK(json_is_string(v));
    return json_string_value(v);
}

static void test_survey_event(void)
{
    ev_gender = FINSAM__V1__GENDER__GENDER_WOMAN;
    ev_age = 0; /* not given: left out */
    size_t len;
    uint8_t *bytes = ev_survey(7, "NV", 3, "deltagare_avslut", "d_behov", 4, 2, T_2026_03, &len);
    ev_gender = 0;
    json_t *j = s_json_of(bytes, len);
    free(bytes);

    uint8_t id[16];
    char hex[33];
    ev_id(id, 7);
    hex_encode(hex, id, 16);
    CHECK(!strcmp(s_str(j, "id"), hex));
    CHECK(!strcmp(s_str(j, "forbund"), "NV"));
    CHECK_EQ(json_integer_value(json_object_get(j, "occurred_at")), T_2026_03);
    CHECK_EQ(json_integer_value(json_object_get(j, "catalogue_version")), 1);
    /* The oneof: only the member that is set. */
    json_t *s = json_object_get(j, "participant_survey");
    CHECK(json_is_object(s));
    CHECK(!json_object_get(j, "status"));
    CHECK(!json_object_get(j, "retraction"));
    CHECK(!json_object_get(j, "supersedes")); /* optional, unset */

    uint8_t p[32];
    char phex[65];
    ev_pseudonym(p, 3);
    hex_encode(phex, p, 32);
    CHECK(!strcmp(s_str(s, "pseudonym"), phex));
    CHECK(!strcmp(s_str(s, "instrument"), "deltagare_avslut"));
    CHECK(!strcmp(s_str(s, "mode"), "MODE_INTEGRATED"));
    CHECK(!strcmp(s_str(s, "gender"), "GENDER_WOMAN"));
    CHECK(!json_object_get(s, "age_band"));
    CHECK(!json_object_get(s, "insats"));
    json_t *answers = json_object_get(s, "answers");
    CHECK(json_is_array(answers));
    CHECK_EQ(json_array_size(answers), 1);
    json_t *a = json_array_get(answers, 0);
    CHECK(!strcmp(s_str(a, "item"), "d_behov"));
    CHECK_EQ(json_integer_value(json_object_get(a, "value")), 4);
    json_decref(j);
}

static void test_retraction_event(void)
{
    size_t len;
    uint8_t *bytes = ev_retraction(9, "HBS", 7, &len);
    json_t *j = s_json_of(bytes, len);
    free(bytes);
    CHECK(!json_object_get(j, "participant_survey"));
    json_t *r = json_object_get(j, "retraction");
    CHECK(json_is_object(r));
    uint8_t id[16];
    char hex[33];
    ev_id(id, 7);
    hex_encode(hex, id, 16);
    CHECK(!strcmp(s_str(r, "target_id"), hex));
    json_decref(j);
}

/* Repeated bytes as an array of hex strings; an empty repeated field and
 * an unset optional number are left out. */
static void test_batch(void)
{
    uint8_t e1[] = {0x0a, 0x01, 0xff}, e2[] = {0x00};
    ProtobufCBinaryData events[] = {{sizeof e1, e1}, {sizeof e2, e2}};
    Finsam__V1__Batch b = FINSAM__V1__BATCH__INIT;
    b.version = 1;
    b.agent_id = "site-1";
    b.batch_seq = 1ull << 40;
    b.n_events = 2;
    b.events = events;
    json_t *j = pbjson_from_message(&b.base);
    CHECK(j);
    CHECK_EQ(json_integer_value(json_object_get(j, "version")), 1);
    CHECK(!strcmp(s_str(j, "agent_id"), "site-1"));
    CHECK(json_integer_value(json_object_get(j, "batch_seq")) == (json_int_t) 1 << 40);
    json_t *ev = json_object_get(j, "events");
    CHECK_EQ(json_array_size(ev), 2);
    CHECK(!strcmp(json_string_value(json_array_get(ev, 0)), "0a01ff"));
    CHECK(!strcmp(json_string_value(json_array_get(ev, 1)), "00"));
    CHECK(!json_object_get(j, "queued"));
    CHECK_EQ(json_object_size(j), 4);
    json_decref(j);

    b.n_events = 0;
    b.events = NULL;
    b.has_queued = 1;
    b.queued = 0; /* set, even if zero: shown */
    j = pbjson_from_message(&b.base);
    CHECK(!json_object_get(j, "events"));
    CHECK(json_is_integer(json_object_get(j, "queued")));
    CHECK_EQ(json_integer_value(json_object_get(j, "queued")), 0);
    json_decref(j);
}

/* An enum value this build does not know (a newer peer) is its number. */
static void test_unknown_enum_value(void)
{
    size_t len;
    uint8_t *bytes = ev_survey(1, "NV", 1, "deltagare_avslut", "d_behov", 3, 1, T_2026_03, &len);
    Finsam__V1__Event *ev = finsam__v1__event__unpack(NULL, len, bytes);
    free(bytes);
    CHECK(ev && ev->participant_survey);
    ev->participant_survey->mode = (Finsam__V1__InsatsMode) 77;
    json_t *j = pbjson_from_message(&ev->base);
    json_t *mode = json_object_get(json_object_get(j, "participant_survey"), "mode");
    CHECK(json_is_integer(mode));
    CHECK_EQ(json_integer_value(mode), 77);
    json_decref(j);
    finsam__v1__event__free_unpacked(ev, NULL);
}

static const test_case_t s_cases[] = {
    {"survey event", test_survey_event},
    {"retraction event", test_retraction_event},
    {"batch", test_batch},
    {"unknown enum value", test_unknown_enum_value},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
