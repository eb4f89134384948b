/* catalogue_test.c: proto/catalogue.c and the catalogue rules of
 * proto/validate.c — the shipped catalogue (proto/catalogue.json, read from
 * the source tree and as embedded) labels and defines every measure in
 * both languages; version 2 accepts events of version 1 but not the items
 * version 2 added; ratio measures name their part and total, and a
 * report's part is at most its total; the fingerprint follows what cells
 * are derived from and nothing else. */
#include "catalogue.h"
#include "codec.h"
#include "testutil.h"
#include "validate.h"

#include <jansson.h>
#include <string.h>

#define NOW_S 1781524800 /* 2026-06-15 12:00 UTC */

static catalogue_t *s_load_text(const char *text)
{
    catalogue_t *cat = NULL;
    char err[256];
    if (catalogue_parse(&cat, text, strlen(text), err, sizeof err) < 0)
        fprintf(stderr, "catalogue: %s\n", err);
    return cat;
}

/* Every measure, in the file as checked in and as embedded, has its own
 * label and one-line definition in Swedish and English. */
static void test_every_measure_labelled(void)
{
    json_error_t e;
    json_t *root = json_load_file(tu_src("proto/catalogue.json"), 0, &e);
    CHECK(root);
    size_t i, j;
    json_t *ind, *m;
    int n = 0;
    json_array_foreach(json_object_get(root, "indicators"), i, ind) {
        json_array_foreach(json_object_get(ind, "measures"), j, m) {
            const char *keys[] = {"sv", "en", "definition_sv", "definition_en"};
            for (size_t k = 0; k < 4; k++) {
                const char *v = json_string_value(json_object_get(m, keys[k]));
                if (!v || strlen(v) < 3)
                    fprintf(stderr, "  %s: no %s\n", json_string_value(json_object_get(m, "id")), keys[k]);
                CHECK(v && strlen(v) >= 3);
                /* One line. */
                CHECK(v && !strchr(v, '\n'));
            }
            n++;
        }
    }
    json_decref(root);
    catalogue_t *cat;
    char err[256];
    CHECK(catalogue_load(&cat, tu_src("proto/catalogue.json"), err, sizeof err) == 0);
    CHECK_EQ(cat->nmeasures, n);
    catalogue_t *embedded;
    CHECK(catalogue_load(&embedded, NULL, err, sizeof err) == 0);
    CHECK_EQ(embedded->nmeasures, n);
    for (int k = 0; k < cat->nmeasures; k++) {
        const cat_measure_t *a = &cat->measures[k], *b = &embedded->measures[k];
        CHECK(!strcmp(a->id, b->id) && !strcmp(a->sv, b->sv) && !strcmp(a->definition_en, b->definition_en));
        CHECK(a->sv[0] && a->en[0] && a->definition_sv[0] && a->definition_en[0]);
        /* Labels are the measure's own: no two measures share one. */
        for (int l = 0; l < k; l++) {
            CHECK(strcmp(cat->measures[l].sv, a->sv));
            CHECK(strcmp(cat->measures[l].en, a->en));
        }
    }
    catalogue_destroy(&embedded);
    catalogue_destroy(&cat);
}

/* Version 2: the new items and measures, the shares of insatser. */
static void test_version_2_contents(void)
{
    catalogue_t *cat;
    char err[256];
    CHECK(catalogue_load(&cat, NULL, err, sizeof err) == 0);
    CHECK_EQ(cat->version, 2);
    CHECK_EQ(cat->oldest_version, 1);
    CHECK(catalogue_accepts_version(cat, 1) && catalogue_accepts_version(cat, 2));
    CHECK(!catalogue_accepts_version(cat, 0) && !catalogue_accepts_version(cat, 3));
    const char *items[] = {"d_rekrytering", "d_uppfoljning", "d_tid_paverka"};
    const char *instruments[] = {"deltagare_pagaende", "deltagare_avslut"};
    for (size_t i = 0; i < 3; i++)
        for (size_t k = 0; k < 2; k++) {
            const cat_item_t *it = catalogue_item(catalogue_instrument(cat, instruments[k]), items[i]);
            CHECK(it && it->since == 2 && !strcmp(it->scale->code, "agree5"));
        }
    CHECK_EQ(catalogue_item(catalogue_instrument(cat, "deltagare_avslut"), "d_behov")->since, 1);
    const struct {
        const char *id;
        int indicator;
    } added[] = {{"i1_rekrytering", 1}, {"i1_uppfoljning", 1}, {"i3_paverka_tid", 3}};
    for (size_t i = 0; i < 3; i++) {
        const cat_measure_t *m = catalogue_measure(cat, added[i].id);
        CHECK(m && m->indicator == added[i].indicator && m->aggregate == AGG_ORDINAL);
    }
    const struct {
        const char *id, *num;
        int indicator;
    } ratios[] = {{"i10_andel_extern", "o_insatser_extern", 10},
                  {"i13_andel_2parter", "o_insatser_2parter", 13},
                  {"i14_andel_uppfplan", "o_insatser_uppfplan", 14}};
    for (size_t i = 0; i < 3; i++) {
        const cat_measure_t *m = catalogue_measure(cat, ratios[i].id);
        CHECK(m && m->aggregate == AGG_RATIO && m->indicator == ratios[i].indicator && m->organisation);
        CHECK(!strcmp(m->numerator_item, ratios[i].num) && !strcmp(m->denominator_item, "o_insatser_totalt"));
        CHECK(!strcmp(catalogue_aggregate_name(m->aggregate), "ratio"));
        /* Not routed as a single item: it takes both answers of a report. */
        CHECK(!m->item[0] && m->status_field == STATUS_NONE);
    }
    CHECK(catalogue_measure(cat, "i9_mognad")->organisation);
    CHECK(!catalogue_measure(cat, "i7_steg")->organisation);
    catalogue_destroy(&cat);
}

/* A ratio names two different items of its instrument; otherwise the
 * catalogue does not load, naming the measure. */
static void test_ratio_source(void)
{
    const char *head =
        "{\"catalogue_version\":1,\"scales\":{\"count\":{\"min\":0,\"max\":99}},"
        "\"instruments\":{\"org\":{\"kind\":\"organisation\",\"items\":{\"a\":{\"scale\":\"count\"},"
        "\"b\":{\"scale\":\"count\"}}}},\"indicators\":[{\"id\":1,\"measures\":[";
    char text[2048];
    snprintf(text, sizeof text,
             "%s{\"id\":\"r\",\"aggregate\":\"ratio\",\"source\":{\"instrument\":\"org\",\"numerator\":\"a\","
             "\"denominator\":\"b\"}}]}]}",
             head);
    catalogue_t *cat = s_load_text(text);
    CHECK(cat);
    const cat_measure_t *r = catalogue_measure(cat, "r");
    CHECK(r && !strcmp(r->numerator_item, "a") && !strcmp(r->denominator_item, "b") && r->organisation);
    catalogue_destroy(&cat);
    char err[256];
    const char *bad_src[] = {"\"numerator\":\"a\",\"denominator\":\"x\"",
                             "\"numerator\":\"a\",\"denominator\":\"a\"", "\"numerator\":\"a\""};
    for (size_t i = 0; i < 3; i++) {
        snprintf(text, sizeof text,
                 "%s{\"id\":\"r\",\"aggregate\":\"ratio\",\"source\":{\"instrument\":\"org\",%s}}]}]}", head,
                 bad_src[i]);
        CHECK(catalogue_parse(&cat, text, strlen(text), err, sizeof err) < 0);
        CHECK(strstr(err, "measure r"));
    }
    /* An item may not be newer than the catalogue, nor the oldest
     * accepted version newer than the catalogue. */
    const char *bad[] = {
        "{\"catalogue_version\":1,\"scales\":{\"s\":{\"min\":0,\"max\":9}},\"instruments\":{\"o\":{\"kind\":"
        "\"organisation\",\"items\":{\"x\":{\"scale\":\"s\",\"since\":2}}}},\"indicators\":[]}",
        "{\"catalogue_version\":1,\"oldest_accepted_version\":2,\"scales\":{},\"instruments\":{},"
        "\"indicators\":[]}",
    };
    for (size_t i = 0; i < 2; i++)
        CHECK(catalogue_parse(&cat, bad[i], strlen(bad[i]), err, sizeof err) < 0);
}

/* ---- validation --------------------------------------------------------- */

static Finsam__V1__Answer s_answers[4], *s_ptrs[4];

static event_msg_t s_org(uint32_t version, int n, const char *const *items, const int *values)
{
    static uint8_t id[16] = {0, 0, 0x50, 0x2e};
    static Finsam__V1__OrganisationReport org;
    finsam__v1__organisation_report__init(&org);
    for (int i = 0; i < n; i++) {
        finsam__v1__answer__init(&s_answers[i]);
        s_answers[i].item = (char *) items[i];
        s_answers[i].value = values[i];
        s_ptrs[i] = &s_answers[i];
    }
    org.n_answers = (size_t) n;
    org.answers = s_ptrs;
    event_msg_t ev = FINSAM__V1__EVENT__INIT;
    ev.id = (ProtobufCBinaryData){16, id};
    ev.forbund = "NV";
    ev.occurred_at = NOW_S - 86400;
    ev.catalogue_version = version;
    ev.body_case = FINSAM__V1__EVENT__BODY_ORGANISATION;
    ev.organisation = &org;
    return ev;
}

static reject_code_t s_validate(const catalogue_t *cat, const event_msg_t *ev, const char *want_why)
{
    char why[256] = "";
    reject_code_t rc = validate_event(cat, ev, "NV", NOW_S, why, sizeof why);
    if (want_why && !strstr(why, want_why))
        fprintf(stderr, "  want \"%s\" in \"%s\"\n", want_why, why);
    CHECK(!want_why || strstr(why, want_why));
    return rc;
}

static void test_versions(void)
{
    catalogue_t *cat;
    char err[256];
    CHECK(catalogue_load(&cat, NULL, err, sizeof err) == 0);
    const char *forum[] = {"o_forum_moten"};
    int seven[] = {7};
    event_msg_t ev = s_org(1, 1, forum, seven);
    CHECK_EQ(s_validate(cat, &ev, NULL), FINSAM__V1__REJECT_CODE__REJECT_NONE);
    ev = s_org(2, 1, forum, seven);
    CHECK_EQ(s_validate(cat, &ev, NULL), FINSAM__V1__REJECT_CODE__REJECT_NONE);
    ev = s_org(3, 1, forum, seven);
    CHECK_EQ(s_validate(cat, &ev, "accepts 1 to 2"), FINSAM__V1__REJECT_CODE__REJECT_VERSION);
    ev = s_org(0, 1, forum, seven);
    CHECK_EQ(s_validate(cat, &ev, "accepts 1 to 2"), FINSAM__V1__REJECT_CODE__REJECT_VERSION);

    /* A participant answer to an item of version 2 in an event of version
     * 1 cannot be: that catalogue did not have the item. */
    static uint8_t id[16] = {0, 0, 0x50, 0x2e}, pseudonym[32] = {1};
    Finsam__V1__Answer a = FINSAM__V1__ANSWER__INIT, *ap = &a;
    a.item = "d_rekrytering";
    a.value = 4;
    Finsam__V1__ParticipantSurvey s = FINSAM__V1__PARTICIPANT_SURVEY__INIT;
    s.pseudonym = (ProtobufCBinaryData){32, pseudonym};
    s.instrument = "deltagare_avslut";
    s.mode = FINSAM__V1__INSATS_MODE__MODE_PROJECT;
    s.n_answers = 1;
    s.answers = &ap;
    event_msg_t p = FINSAM__V1__EVENT__INIT;
    p.id = (ProtobufCBinaryData){16, id};
    p.forbund = "NV";
    p.occurred_at = NOW_S - 86400;
    p.catalogue_version = 1;
    p.body_case = FINSAM__V1__EVENT__BODY_PARTICIPANT_SURVEY;
    p.participant_survey = &s;
    CHECK_EQ(s_validate(cat, &p, "new in catalogue version 2"), FINSAM__V1__REJECT_CODE__REJECT_UNKNOWN_KIND);
    p.catalogue_version = 2;
    CHECK_EQ(s_validate(cat, &p, NULL), FINSAM__V1__REJECT_CODE__REJECT_NONE);
    a.item = "d_behov";
    p.catalogue_version = 1;
    CHECK_EQ(s_validate(cat, &p, NULL), FINSAM__V1__REJECT_CODE__REJECT_NONE);
    catalogue_destroy(&cat);

    /* The previous release's catalogue (version 1, no oldest version)
     * accepts its own version only. */
    CHECK(catalogue_load(&cat, tu_src("tests/e2e/fixtures/catalogue-v1.json"), err, sizeof err) == 0);
    CHECK(cat->version == 1 && cat->oldest_version == 1);
    ev = s_org(2, 1, forum, seven);
    CHECK_EQ(s_validate(cat, &ev, "collector has 1"), FINSAM__V1__REJECT_CODE__REJECT_VERSION);
    catalogue_destroy(&cat);
}

/* The insats numbers of a report: where the part and the total are both
 * given, the part is at most the total (every ratio of the catalogue), in
 * events of every version; either may be left out. */
static void test_ratio_rules(void)
{
    catalogue_t *cat;
    char err[256];
    CHECK(catalogue_load(&cat, NULL, err, sizeof err) == 0);
    const char *all[] = {"o_insatser_extern", "o_insatser_totalt", "o_insatser_2parter",
                         "o_insatser_uppfplan"};
    int ok[] = {3, 10, 10, 0}, over[] = {11, 10, 2, 2}, over2[] = {3, 10, 12, 2};
    for (uint32_t v = 1; v <= 2; v++) {
        event_msg_t ev = s_org(v, 4, all, ok);
        CHECK_EQ(s_validate(cat, &ev, NULL), FINSAM__V1__REJECT_CODE__REJECT_NONE);
        ev = s_org(v, 4, all, over);
        CHECK_EQ(s_validate(cat, &ev, "o_insatser_extern (11) is more than o_insatser_totalt (10)"),
                 FINSAM__V1__REJECT_CODE__REJECT_INVALID_FIELD);
        ev = s_org(v, 4, all, over2);
        CHECK_EQ(s_validate(cat, &ev, "o_insatser_2parter (12) is more than o_insatser_totalt (10)"),
                 FINSAM__V1__REJECT_CODE__REJECT_INVALID_FIELD);
        ev = s_org(v, 2, all, ok); /* extern and total, no other part */
        CHECK_EQ(s_validate(cat, &ev, NULL), FINSAM__V1__REJECT_CODE__REJECT_NONE);
        ev = s_org(v, 1, all, over); /* a part without the total */
        CHECK_EQ(s_validate(cat, &ev, NULL), FINSAM__V1__REJECT_CODE__REJECT_NONE);
        ev = s_org(v, 1, all + 1, ok + 1); /* the total alone */
        CHECK_EQ(s_validate(cat, &ev, NULL), FINSAM__V1__REJECT_CODE__REJECT_NONE);
    }
    catalogue_destroy(&cat);
}

/* The fingerprint changes with what cells are derived from (a measure's
 * source, a scale's range) and not with words (labels, definitions, the
 * version number). */
static void test_fingerprint(void)
{
    catalogue_t *cat;
    char err[256];
    CHECK(catalogue_load(&cat, tu_src("proto/catalogue.json"), err, sizeof err) == 0);
    uint8_t base[16];
    memcpy(base, cat->fingerprint, 16);
    catalogue_destroy(&cat);
    json_t *root = json_load_file(tu_src("proto/catalogue.json"), 0, NULL);
    CHECK(root);
    struct {
        const char *what;
        bool changes;
    } cases[] = {{"label", false}, {"version", false}, {"source", true}, {"scale", true}};
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        json_t *copy = json_deep_copy(root);
        json_t *cm = json_array_get(
            json_object_get(json_array_get(json_object_get(copy, "indicators"), 0), "measures"), 0);
        if (!strcmp(cases[k].what, "label")) {
            json_object_set_new(cm, "sv", json_string("Annan etikett"));
            json_object_set_new(cm, "definition_en", json_string("Another definition."));
        } else if (!strcmp(cases[k].what, "version")) {
            json_object_set_new(copy, "catalogue_version", json_integer(3));
        } else if (!strcmp(cases[k].what, "source")) {
            json_object_set_new(json_object_get(cm, "source"), "item", json_string("d_planering"));
        } else {
            json_object_set_new(json_object_get(json_object_get(copy, "scales"), "agree5"), "top",
                                json_pack("[i,i]", 5, 5));
        }
        char *text = json_dumps(copy, 0);
        catalogue_t *c = s_load_text(text);
        CHECK(c);
        CHECK_EQ(memcmp(c->fingerprint, base, 16) != 0, cases[k].changes);
        catalogue_destroy(&c);
        free(text);
        json_decref(copy);
    }
    json_decref(root);
}

static const test_case_t s_cases[] = {
    {"every measure labelled", test_every_measure_labelled},
    {"version 2 contents", test_version_2_contents},
    {"ratio source", test_ratio_source},
    {"catalogue versions", test_versions},
    {"ratio rules", test_ratio_rules},
    {"fingerprint", test_fingerprint},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
