/* catalogue_e2e_test.c: catalogue version 2 end to end with real processes —
 * the shares of insatser (indicators 10, 13, 14) computed from organisation
 * reports imported through a real agent and read back through finsamctl
 * and the HTTP API; every measure listed with its own labels and
 * definitions; events of catalogue version 1 still stored and counted,
 * over the wire and in a store written under the version 1 catalogue
 * (tests/e2e/fixtures/catalogue-v1.json, the previous release's). */
#include "catalogue.h"
#include "cluster.h"
#include "codec.h"
#include "testutil.h"
#include "util.h"

#include <math.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------ */

/* Writes text to DIR/name and returns the path (static storage, 4 slots). */
static const char *s_file(const cluster_t *c, const char *name, const char *text)
{
    static char paths[4][400];
    static int next;
    char *p = paths[next++ % 4];
    snprintf(p, 400, "%s/%s", c->dir, name);
    CHECK(tu_write_file(p, text) == 0);
    return p;
}

/* `finsamctl query --format json` for one measure (id or indicator). */
static json_t *s_query(const cluster_t *c, const char *measure, const char *period, bool exact)
{
    const char *args[] = {"query", "--format", "json", "--measure",
                          measure, "--period", period, exact ? "--exact" : NULL,
                          NULL};
    char *out = NULL;
    CHECK_EQ(cluster_ctl(c, &out, args), 0);
    json_t *j = json_loads(out ? out : "", 0, NULL);
    free(out);
    CHECK(j);
    return j;
}

static json_t *s_measure(json_t *result, const char *id)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(result, "measures"), i, m)
        if (!strcmp(json_string_value(json_object_get(m, "id")), id))
            return m;
    return NULL;
}

/* The row (level, name, period) of measure id, or NULL. */
static json_t *s_row(json_t *result, const char *id, const char *level, const char *name, const char *period)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(s_measure(result, id), "rows"), i, r)
        if (!strcmp(json_string_value(json_object_get(r, "level")), level) &&
            !strcmp(json_string_value(json_object_get(r, "name")), name) &&
            !strcmp(json_string_value(json_object_get(r, "period")), period))
            return r;
    return NULL;
}

static bool s_near(const json_t *v, double want)
{
    if (!json_is_number(v)) {
        fprintf(stderr, "  want %g, got no number\n", want);
        return false;
    }
    if (fabs(json_number_value(v) - want) > 1e-9) {
        fprintf(stderr, "  want %g, got %g\n", want, json_number_value(v));
        return false;
    }
    return true;
}

typedef struct {
    const cluster_t *c;
    const char *measure, *period, *name;
    long long sum;
    bool exact;
} s_wait_t;

/* The measure's row (any level) named `name` shows sum `sum`: the
 * publication (or the exact cells) covers what was delivered. */
static bool s_sum_is(void *arg)
{
    s_wait_t *w = arg;
    json_t *j = s_query(w->c, w->measure, w->period, w->exact);
    const char *level = !strcmp(w->name, "Riket") ? "nation" : "forbund";
    json_t *r = s_row(j, w->measure, level, w->name, w->period);
    bool ok = r && json_integer_value(json_object_get(r, "sum")) == w->sum;
    json_decref(j);
    return ok;
}

/* Imports a JSONL file through the agent (with extra arguments) and
 * returns its exit code; the agent's log is agent_dir.log. */
static int s_import(const cluster_t *c, const char *agent, const char *file, const char *catalogue)
{
    const char *args[] = {"import", file, catalogue ? "--catalogue" : NULL, catalogue, NULL};
    int rc = cluster_agent(c, agent, 60000, args);
    if (rc) {
        char log[400];
        snprintf(log, sizeof log, "%s.log", agent);
        char *text = tu_read_file(log);
        fprintf(stderr, "import %s: exit %d; agent log:\n%s\n", file, rc, text ? text : "(none)");
        free(text);
    }
    return rc;
}

static void s_deliver(const cluster_t *c, const char *agent, const char *catalogue)
{
    const char *run[] = {"run", "--exit-when-empty", catalogue ? "--catalogue" : NULL, catalogue, NULL};
    CHECK_EQ(cluster_agent(c, agent, 60000, run), 0);
    CHECK_EQ(cluster_agent_queue(c, agent), 0);
}

/* ---- shares of insatser ----------------------------------------------------- */

static cluster_t s_c;
static char s_nv[320], s_vas[320], s_hbs[320];

#define ORG(date, ext, tot, two, plan)                                                                       \
    "{\"kind\":\"organisation\",\"date\":\"" date "\",\"answers\":{\"o_insatser_extern\":" #ext              \
    ",\"o_insatser_totalt\":" #tot ",\"o_insatser_2parter\":" #two ",\"o_insatser_uppfplan\":" #plan "}}\n"

/* NV and VAS share a län (Västmanland), HBS is in Stockholm. NV also sends
 * a mid-year report without insats numbers, which the shares ignore. */
static void s_setup(void)
{
    cluster_init(&s_c);
    cluster_add_agent(&s_c, "nv", "NV", true, s_nv, sizeof s_nv);
    cluster_add_agent(&s_c, "vas", "VAS", true, s_vas, sizeof s_vas);
    cluster_add_agent(&s_c, "hbs", "HBS", true, s_hbs, sizeof s_hbs);
    cluster_start_collector_http(&s_c);
    CHECK_EQ(s_import(&s_c, s_nv,
                      s_file(&s_c, "nv.jsonl",
                             ORG("2024-12-31", 6, 20, 10, 5)
                                 ORG("2025-12-31", 9, 18, 12,
                                     9) "{\"kind\":\"organisation\",\"date\":\"2025-06-30\",\"answers\":"
                                        "{\"o_forum_moten\":4,\"o_brukarinflytande\":4}}\n"),
                      NULL),
             0);
    CHECK_EQ(s_import(&s_c, s_vas,
                      s_file(&s_c, "vas.jsonl",
                             ORG("2024-12-31", 3, 10, 2, 10)
                                 ORG("2025-12-31", 5, 10, 5,
                                     4) "{\"kind\":\"organisation\",\"date\":\"2025-06-30\",\"answers\":"
                                        "{\"o_insatser_totalt\":7}}\n"),
                      NULL),
             0);
    CHECK_EQ(s_import(&s_c, s_hbs, s_file(&s_c, "hbs.jsonl", ORG("2025-12-31", 1, 4, 4, 0)), NULL), 0);
    s_deliver(&s_c, s_nv, NULL);
    s_deliver(&s_c, s_vas, NULL);
    s_deliver(&s_c, s_hbs, NULL);
    s_wait_t w = {&s_c, "i10_insatser_totalt", "2025", "Riket", 39, false};
    CHECK(tu_wait_for(s_sum_is, &w, 30000));
}

/* Every row: share = Σ part / Σ total of the same förbund, län or nation
 * and period; the change against the previous period and against the
 * same period a year earlier in share units. */
static void test_shares_of_insatser(void)
{
    json_t *j = s_query(&s_c, "10", "year", false);
    json_t *m = s_measure(j, "i10_andel_extern");
    CHECK(m);
    CHECK(!strcmp(json_string_value(json_object_get(m, "aggregate")), "ratio"));
    CHECK(!strcmp(json_string_value(json_object_get(m, "numerator")), "o_insatser_extern"));
    CHECK(!strcmp(json_string_value(json_object_get(m, "denominator")), "o_insatser_totalt"));
    CHECK(json_is_false(json_object_get(m, "protected")));
    json_t *r = s_row(j, "i10_andel_extern", "forbund", "NV", "2024");
    CHECK(r && s_near(json_object_get(r, "share"), 6.0 / 20));
    CHECK_EQ(json_integer_value(json_object_get(r, "numerator")), 6);
    CHECK_EQ(json_integer_value(json_object_get(r, "denominator")), 20);
    CHECK_EQ(json_integer_value(json_object_get(r, "n")), 1);
    r = s_row(j, "i10_andel_extern", "forbund", "NV", "2025");
    CHECK(r && s_near(json_object_get(r, "share"), 0.5));
    CHECK(s_near(json_object_get(r, "change_share"), 0.5 - 0.3));
    CHECK(s_near(json_object_get(r, "change_year_share"), 0.5 - 0.3)); /* a year is its own year before */
    r = s_row(j, "i10_andel_extern", "lan", "Västmanland", "2025");
    CHECK(r && s_near(json_object_get(r, "share"), 14.0 / 28));
    CHECK(s_near(json_object_get(r, "change_share"), 0.5 - 9.0 / 30));
    r = s_row(j, "i10_andel_extern", "forbund", "HBS", "2025");
    CHECK(r && s_near(json_object_get(r, "share"), 0.25));
    CHECK(!json_object_get(r, "change_share")); /* no report the year before */
    r = s_row(j, "i10_andel_extern", "nation", "Riket", "2025");
    CHECK(r && s_near(json_object_get(r, "share"), 15.0 / 32));
    CHECK(s_near(json_object_get(r, "change_share"), 15.0 / 32 - 9.0 / 30));
    CHECK_EQ(json_integer_value(json_object_get(r, "n")), 3);
    CHECK_EQ(json_integer_value(json_object_get(r, "denominator")), 32);
    /* VAS's mid-year report gave a total and no parts: in the sum of
     * insatser (17), not in the shares (5 of 10). */
    r = s_row(j, "i10_andel_extern", "forbund", "VAS", "2025");
    CHECK(r && s_near(json_object_get(r, "share"), 0.5) && json_integer_value(json_object_get(r, "n")) == 1);
    r = s_row(j, "i10_insatser_totalt", "forbund", "VAS", "2025");
    CHECK(r && json_integer_value(json_object_get(r, "sum")) == 17);
    json_decref(j);

    j = s_query(&s_c, "i13_andel_2parter", "year", false);
    r = s_row(j, "i13_andel_2parter", "nation", "Riket", "2025");
    CHECK(r && s_near(json_object_get(r, "share"), 21.0 / 32));
    json_decref(j);
    /* 0 % is a number like any other here: organisation reports are not
     * personal data, nothing is withheld. */
    j = s_query(&s_c, "i14_andel_uppfplan", "year", false);
    r = s_row(j, "i14_andel_uppfplan", "forbund", "HBS", "2025");
    CHECK(r && s_near(json_object_get(r, "share"), 0) && !json_object_get(r, "withheld"));
    r = s_row(j, "i14_andel_uppfplan", "lan", "Västmanland", "2024");
    CHECK(r && s_near(json_object_get(r, "share"), 15.0 / 30));
    json_decref(j);

    /* Every organisation value is shown, from one report as well: not
     * personal data, so no row withholds (a maturity of 4 from one
     * report is a mean of 4, not a disclosure). */
    j = s_query(&s_c, "i9_mognad", "year", false);
    r = s_row(j, "i9_mognad", "forbund", "NV", "2025");
    CHECK(r && !json_object_get(r, "withheld") && s_near(json_object_get(r, "mean"), 4));
    json_decref(j);

    /* Quarters: 2025-Q4 against 2024-Q4 a year earlier; no report in
     * 2025-Q3, so no change against the previous quarter. */
    j = s_query(&s_c, "i10_andel_extern", "quarter", false);
    r = s_row(j, "i10_andel_extern", "forbund", "NV", "2025-Q4");
    CHECK(r && s_near(json_object_get(r, "change_year_share"), 0.2));
    CHECK(!json_object_get(r, "change_share"));
    CHECK(!s_row(j, "i10_andel_extern", "forbund", "NV", "2025-Q2")); /* no insats numbers then */
    json_decref(j);
    /* One period asked alone: the same row, its year-earlier change included. */
    j = s_query(&s_c, "i10_andel_extern", "2025-Q4", false);
    r = s_row(j, "i10_andel_extern", "forbund", "NV", "2025-Q4");
    CHECK(r && s_near(json_object_get(r, "change_year_share"), 0.2));
    CHECK(!s_row(j, "i10_andel_extern", "forbund", "NV", "2024-Q4"));
    json_decref(j);
    j = s_query(&s_c, "i10_andel_extern", "2025", false);
    r = s_row(j, "i10_andel_extern", "nation", "Riket", "2025");
    CHECK(r && s_near(json_object_get(r, "change_share"), 15.0 / 32 - 9.0 / 30));
    json_decref(j);

    /* The API answers the same as finsamctl. */
    int status;
    size_t len;
    char *http = cluster_http_get(&s_c, "/api/indicators?measure=10&period=year", &status, &len);
    CHECK_EQ(status, 200);
    char *body = strstr(http, "\r\n\r\n");
    CHECK(body);
    json_t *api = json_loads(body + 4, 0, NULL), *ctl = s_query(&s_c, "10", "year", false);
    CHECK(api && json_equal(api, ctl));
    json_decref(api);
    json_decref(ctl);
    free(http);
}

/* A report's part is at most its total; the agent refuses the row and
 * says why, nothing is stored. */
static void test_inconsistent_report_refused(void)
{
    char log[400];
    snprintf(log, sizeof log, "%s.log", s_nv);
    CHECK_EQ(s_import(&s_c, s_nv, s_file(&s_c, "bad1.jsonl", ORG("2025-11-30", 30, 20, 1, 1)), NULL), 65);
    CHECK(tu_file_has(log, "o_insatser_extern (30) är större än o_insatser_totalt (20)"));
    CHECK_EQ(s_import(&s_c, s_nv, s_file(&s_c, "bad2.jsonl", ORG("2025-11-30", 1, 20, 2, 21)), NULL), 65);
    CHECK(tu_file_has(log, "o_insatser_uppfplan (21) är större än o_insatser_totalt (20)"));
    CHECK_EQ(cluster_agent_queue(&s_c, s_nv), 0);
}

/* Every measure of the catalogue, in the API and in the catalogue it
 * serves, has its own Swedish and English label and definition. */
static void test_every_measure_labelled(void)
{
    catalogue_t *cat;
    char err[256];
    CHECK(catalogue_load(&cat, NULL, err, sizeof err) == 0);
    int status;
    size_t len;
    char *http = cluster_http_get(&s_c, "/api/indicators?period=year", &status, &len);
    CHECK_EQ(status, 200);
    json_t *api = json_loads(strstr(http, "\r\n\r\n") + 4, 0, NULL);
    free(http);
    CHECK(api);
    CHECK_EQ((int) json_array_size(json_object_get(api, "measures")), cat->nmeasures);
    for (int i = 0; i < cat->nmeasures; i++) {
        json_t *m = s_measure(api, cat->measures[i].id);
        CHECK(m);
        const char *keys[] = {"sv", "en", "definition_sv", "definition_en", "indicator_sv", "indicator_en"};
        for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
            const char *v = json_string_value(json_object_get(m, keys[k]));
            if (!v || strlen(v) < 3)
                fprintf(stderr, "  %s: no %s\n", cat->measures[i].id, keys[k]);
            CHECK(v && strlen(v) >= 3);
        }
        /* The label is the measure's own, not its indicator's. */
        CHECK(strcmp(json_string_value(json_object_get(m, "sv")),
                     json_string_value(json_object_get(m, "indicator_sv"))));
    }
    json_decref(api);
    http = cluster_http_get(&s_c, "/api/catalogue", &status, &len);
    CHECK_EQ(status, 200);
    json_t *served = json_loads(strstr(http, "\r\n\r\n") + 4, 0, NULL);
    free(http);
    CHECK(served);
    CHECK_EQ(json_integer_value(json_object_get(served, "catalogue_version")), 2);
    size_t i, j;
    json_t *ind, *m;
    int n = 0;
    json_array_foreach(json_object_get(served, "indicators"), i, ind) {
        json_array_foreach(json_object_get(ind, "measures"), j, m) {
            n++;
            const char *keys[] = {"sv", "en", "definition_sv", "definition_en"};
            for (size_t k = 0; k < 4; k++)
                CHECK(json_string_length(json_object_get(m, keys[k])) >= 3);
        }
    }
    CHECK_EQ(n, cat->nmeasures);
    json_decref(served);
    catalogue_destroy(&cat);
}

/* ---- catalogue version 1 over the wire --------------------------------- */

#define T_2026_05 1778846400 /* 2026-05-15 12:00 UTC */

static void s_id(uint8_t id[16], uint32_t n)
{
    memset(id, 0, 16);
    be32_put(id, 676); /* 2026-05 */
    be32_put(id + 4, n);
    be32_put(id + 12, n);
}

static uint8_t *s_event(uint32_t n, uint32_t version, const char *item, int value, bool survey, size_t *len)
{
    static uint8_t id[16], pseudonym[32];
    s_id(id, n);
    memset(pseudonym, 0x5a, 32);
    be32_put(pseudonym, n);
    Finsam__V1__Answer a = FINSAM__V1__ANSWER__INIT, *ap = &a;
    a.item = (char *) item;
    a.value = value;
    Finsam__V1__ParticipantSurvey s = FINSAM__V1__PARTICIPANT_SURVEY__INIT;
    Finsam__V1__OrganisationReport o = FINSAM__V1__ORGANISATION_REPORT__INIT;
    Finsam__V1__Event ev = FINSAM__V1__EVENT__INIT;
    ev.id = (ProtobufCBinaryData){16, id};
    ev.forbund = "NV";
    ev.occurred_at = T_2026_05;
    ev.catalogue_version = version;
    if (survey) {
        s.pseudonym = (ProtobufCBinaryData){32, pseudonym};
        s.instrument = "deltagare_pagaende";
        s.mode = FINSAM__V1__INSATS_MODE__MODE_INTEGRATED;
        s.n_answers = 1;
        s.answers = &ap;
        ev.body_case = FINSAM__V1__EVENT__BODY_PARTICIPANT_SURVEY;
        ev.participant_survey = &s;
    } else {
        o.n_answers = 1;
        o.answers = &ap;
        ev.body_case = FINSAM__V1__EVENT__BODY_ORGANISATION;
        ev.organisation = &o;
    }
    return codec_pack(&ev.base, len);
}

/* Events that say catalogue version 1 are stored and counted as before;
 * an item new in version 2 is not accepted from them; a version the
 * collector does not know is refused. */
static void test_version_1_events_counted(void)
{
    struct {
        uint32_t version;
        const char *item;
        int value;
        bool survey;
        int want; /* RejectCode, 0 = accepted */
        const char *why;
    } cases[] = {
        {1, "o_forum_moten", 7, false, 0, NULL},
        {1, "d_behov", 4, true, 0, NULL},
        {1, "d_rekrytering", 5, true, FINSAM__V1__REJECT_CODE__REJECT_UNKNOWN_KIND,
         "new in catalogue version 2"},
        {3, "o_forum_moten", 1, false, FINSAM__V1__REJECT_CODE__REJECT_VERSION, "accepts 1 to 2"},
        {2, "d_rekrytering", 5, true, 0, NULL},
    };
    size_t ncases = sizeof cases / sizeof *cases;
    ProtobufCBinaryData bin[8];
    for (size_t i = 0; i < ncases; i++) {
        size_t len;
        uint8_t *e = s_event(100 + (uint32_t) i, cases[i].version, cases[i].item, cases[i].value,
                             cases[i].survey, &len);
        bin[i] = (ProtobufCBinaryData){len, e};
    }
    Finsam__V1__Batch batch = FINSAM__V1__BATCH__INIT;
    batch.version = 1;
    batch.agent_id = "raw";
    batch.batch_seq = 900;
    batch.n_events = ncases;
    batch.events = bin;
    size_t len;
    uint8_t *packed = codec_pack(&batch.base, &len);
    zsock_t *s = cluster_raw_client(&s_c, s_nv);
    CHECK(zsock_send(s, "b", packed, len) == 0);
    zframe_t *f = zframe_recv(s);
    CHECK(f);
    ack_msg_t *ack = codec_decode_ack(zframe_data(f), zframe_size(f));
    CHECK(ack && ack->batch_seq == 900);
    CHECK_EQ(ack->n_accepted, 3);
    CHECK_EQ(ack->n_rejected, 2);
    for (size_t i = 0; i < ncases; i++) {
        const Finsam__V1__Rejection *rj = NULL;
        uint8_t id[16];
        s_id(id, 100 + (uint32_t) i);
        for (size_t k = 0; k < ack->n_rejected; k++)
            if (ack->rejected[k]->id.len == 16 && !memcmp(ack->rejected[k]->id.data, id, 16))
                rj = ack->rejected[k];
        if (!cases[i].want) {
            CHECK(rj == NULL);
            continue;
        }
        CHECK(rj && (int) rj->code == cases[i].want);
        if (rj && !strstr(rj->text, cases[i].why))
            fprintf(stderr, "  case %zu: %s\n", i, rj->text);
        CHECK(rj && strstr(rj->text, cases[i].why));
    }
    codec_free_ack(&ack);
    zframe_destroy(&f);
    zsock_destroy(&s);
    free(packed);
    for (size_t i = 0; i < ncases; i++)
        free(bin[i].data);
    /* Counted: the version 1 report in the forum meetings, the version 1
     * answer in i1_behov, the
     * version 2 answer in the new i1_rekrytering. */
    s_wait_t w = {&s_c, "i12_forum_moten", "2026", "NV", 7, true};
    CHECK(tu_wait_for(s_sum_is, &w, 20000));
    json_t *j = s_query(&s_c, "1", "2026-05", true);
    json_t *r = s_row(j, "i1_behov", "forbund", "NV", "2026-05");
    CHECK(r && json_integer_value(json_object_get(r, "n")) == 1 && s_near(json_object_get(r, "mean"), 4));
    r = s_row(j, "i1_rekrytering", "forbund", "NV", "2026-05");
    CHECK(r && json_integer_value(json_object_get(r, "n")) == 1 && s_near(json_object_get(r, "mean"), 5));
    json_decref(j);
    CHECK_EQ(cluster_rebuild_verify(&s_c), 0);
}

/* ---- a store written under catalogue version 1 -------------------------- */

/* A collector and agent of the previous release's catalogue store
 * organisation reports; the collector restarted with version 2 recounts
 * its cells once, so the new denominator and shares cover those reports;
 * an agent still on version 1 keeps delivering, counted. */
static void test_store_of_version_1_recounted(void)
{
    cluster_t c;
    cluster_init(&c);
    const char *v1 = tu_src("tests/e2e/fixtures/catalogue-v1.json");
    char nv[320];
    cluster_add_agent(&c, "nv", "NV", true, nv, sizeof nv);
    c.catalogue = v1;
    cluster_start_collector(&c);
    CHECK_EQ(s_import(&c, nv, s_file(&c, "nv1.jsonl", ORG("2024-12-31", 6, 20, 10, 5)), v1), 0);
    s_deliver(&c, nv, v1);
    CHECK_EQ(cluster_stored(&c, "NV"), 1);
    cluster_stop_collector(&c, SIGTERM);

    c.catalogue = NULL;
    cluster_start_collector(&c);
    CHECK_EQ(tu_count_in_file(c.log, "reason=cells of another catalogue"), 1);
    s_wait_t w = {&c, "i10_insatser_totalt", "2024", "NV", 20, true};
    CHECK(tu_wait_for(s_sum_is, &w, 20000));
    json_t *j = s_query(&c, "i10_andel_extern", "2024", true);
    json_t *r = s_row(j, "i10_andel_extern", "forbund", "NV", "2024");
    CHECK(r && s_near(json_object_get(r, "share"), 0.3));
    json_decref(j);
    CHECK_EQ(cluster_rebuild_verify(&c), 0);

    /* The site not yet upgraded: its events say version 1. */
    CHECK_EQ(s_import(&c, nv, s_file(&c, "nv2.jsonl", ORG("2025-12-31", 9, 18, 12, 9)), v1), 0);
    s_deliver(&c, nv, v1);
    w = (s_wait_t){&c, "i10_insatser_totalt", "2025", "NV", 18, true};
    CHECK(tu_wait_for(s_sum_is, &w, 20000));
    j = s_query(&c, "i10_andel_extern", "2025", true);
    r = s_row(j, "i10_andel_extern", "forbund", "NV", "2025");
    CHECK(r && s_near(json_object_get(r, "share"), 0.5));
    json_decref(j);
    /* Once recounted, a restart recounts nothing. */
    cluster_stop_collector(&c, SIGTERM);
    cluster_start_collector(&c);
    CHECK_EQ(tu_count_in_file(c.log, "reason=cells of another catalogue"), 1);
    CHECK_EQ(cluster_rebuild_verify(&c), 0);
    cluster_stop_collector(&c, SIGTERM);
}

static const test_case_t s_cases[] = {
    {"shares of insatser", test_shares_of_insatser},
    {"an inconsistent report is refused", test_inconsistent_report_refused},
    {"every measure labelled", test_every_measure_labelled},
    {"version 1 events counted", test_version_1_events_counted},
    {"a store of version 1 recounted", test_store_of_version_1_recounted},
};

/* True if argv only asks for the list of cases or the usage: no cluster
 * is needed for that. */
static bool s_listing_only(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-l") || !strcmp(argv[i], "--list") || !strcmp(argv[i], "-h") ||
            !strcmp(argv[i], "--help"))
            return true;
    return false;
}

int main(int argc, char **argv)
{
    /* One cluster with the organisation reports delivered, started before
     * the cases fork; the first four query it (the fourth adds version 1
     * events after the others have read), the last makes its own. */
    if (s_listing_only(argc, argv))
        return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
    s_setup();
    int rc = test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
    cluster_stop_collector(&s_c, SIGTERM); /* exits 0: checked here */
    return rc;
}
