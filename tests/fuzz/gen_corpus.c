/* gen_corpus.c: writes the seed corpora under tests/fuzz/corpus/ (run by
 * `tests/fuzz/run.sh --regen`; the output is committed). Seeds are small
 * valid examples of every message and row kind, so the fuzzers start from
 * the accepted paths, plus a few edge cases just past each limit. Valid
 * seeds are checked with the real decoders and import_row before they are
 * written: a seed that no longer passes is a generator bug, reported. */
#include "anonymize.h"
#include "catalogue.h"
#include "codec.h"
#include "import.h"
#include "validate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define NOW_S 1781524800      /* 2026-06-15 12:00 UTC, as the fuzz targets */
#define MARCH_2026 1772362800 /* 2026-03-01 12:00 Europe/Stockholm */

static const char *s_out;
static catalogue_t *s_cat;
static int s_errors;

static void s_write(const char *target, const char *name, const void *data, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", s_out, target);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/%s/%s", s_out, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
        fprintf(stderr, "gen_corpus: %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

/* ---- events ---------------------------------------------------------- */

typedef struct {
    Finsam__V1__Event ev;
    Finsam__V1__ParticipantSurvey ps;
    Finsam__V1__StatusObservation so;
    Finsam__V1__StaffSurvey ss;
    Finsam__V1__OrganisationReport org;
    Finsam__V1__Retraction ret;
    Finsam__V1__Answer ans[70];
    Finsam__V1__Answer *ansp[70];
    uint8_t id[16], pseudonym[32], target[16];
} s_ev_t;

static void s_ev_init(s_ev_t *e, int n)
{
    memset(e, 0, sizeof *e);
    finsam__v1__event__init(&e->ev);
    uint8_t id[16] = {0, 0, 0x50, 0x2e}; /* day prefix: 2026-03-14 */
    memcpy(e->id, id, 16);
    e->id[15] = (uint8_t) n;
    e->id[14] = (uint8_t) (n >> 8);
    for (int i = 0; i < 32; i++)
        e->pseudonym[i] = (uint8_t) (0xa0 + i + n);
    e->ev.id = (ProtobufCBinaryData){16, e->id};
    e->ev.forbund = "NV";
    e->ev.occurred_at = MARCH_2026;
    e->ev.catalogue_version = 1;
}

static void s_answers(s_ev_t *e, const char *const *items, const int *values, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        finsam__v1__answer__init(&e->ans[i]);
        e->ans[i].item = (char *) items[i];
        e->ans[i].value = values[i];
        e->ansp[i] = &e->ans[i];
    }
}

static void s_participant(s_ev_t *e, int n)
{
    static const char *const items[] = {"d_behov", "d_tid", "d_samordnare"};
    static const int values[] = {5, 4, 1};
    s_ev_init(e, n);
    finsam__v1__participant_survey__init(&e->ps);
    e->ps.pseudonym = (ProtobufCBinaryData){32, e->pseudonym};
    e->ps.instrument = "deltagare_avslut";
    e->ps.mode = FINSAM__V1__INSATS_MODE__MODE_INTEGRATED;
    e->ps.insats = "steg1";
    e->ps.has_gender = 1;
    e->ps.gender = FINSAM__V1__GENDER__GENDER_WOMAN;
    e->ps.has_age_band = 1;
    e->ps.age_band = FINSAM__V1__AGE_BAND__AGE_30_49;
    s_answers(e, items, values, 3);
    e->ps.n_answers = 3;
    e->ps.answers = e->ansp;
    e->ev.body_case = FINSAM__V1__EVENT__BODY_PARTICIPANT_SURVEY;
    e->ev.participant_survey = &e->ps;
}

static void s_status(s_ev_t *e, int n, int phase)
{
    s_ev_init(e, n);
    finsam__v1__status_observation__init(&e->so);
    e->so.pseudonym = (ProtobufCBinaryData){32, e->pseudonym};
    e->so.phase = phase;
    e->so.mode = FINSAM__V1__INSATS_MODE__MODE_PROJECT;
    e->so.occupation = FINSAM__V1__OCCUPATION__OCC_WORK;
    e->so.has_extent_pct = 1;
    e->so.extent_pct = 50;
    e->so.income = FINSAM__V1__INCOME__INC_WAGE;
    e->so.has_days_in_insats = 1;
    e->so.days_in_insats = 120;
    e->so.has_days_to_next_service = 1;
    e->so.days_to_next_service = 14;
    e->so.has_assessed_with_participant = 1;
    e->so.assessed_with_participant = 1;
    e->so.has_gender = 1;
    e->so.gender = FINSAM__V1__GENDER__GENDER_MAN;
    e->so.has_age_band = 1;
    e->so.age_band = FINSAM__V1__AGE_BAND__AGE_16_29;
    e->ev.body_case = FINSAM__V1__EVENT__BODY_STATUS;
    e->ev.status = &e->so;
}

static void s_staff(s_ev_t *e, int n)
{
    static const char *const items[] = {"p_respekt", "p_synpunkter"};
    static const int values[] = {4, 0};
    s_ev_init(e, n);
    finsam__v1__staff_survey__init(&e->ss);
    e->ss.instrument = "insatspersonal";
    e->ss.agency = FINSAM__V1__AGENCY__AGENCY_AF;
    e->ss.mode = FINSAM__V1__INSATS_MODE__MODE_INTEGRATED;
    s_answers(e, items, values, 2);
    e->ss.n_answers = 2;
    e->ss.answers = e->ansp;
    e->ev.body_case = FINSAM__V1__EVENT__BODY_STAFF_SURVEY;
    e->ev.staff_survey = &e->ss;
}

static void s_organisation(s_ev_t *e, int n)
{
    static const char *const items[] = {"o_forum_moten", "o_brukarinflytande"};
    static const int values[] = {12, 3};
    s_ev_init(e, n);
    finsam__v1__organisation_report__init(&e->org);
    s_answers(e, items, values, 2);
    e->org.n_answers = 2;
    e->org.answers = e->ansp;
    e->ev.body_case = FINSAM__V1__EVENT__BODY_ORGANISATION;
    e->ev.organisation = &e->org;
}

static void s_retraction(s_ev_t *e, int n, int target)
{
    s_ev_init(e, n);
    s_ev_t t;
    s_ev_init(&t, target);
    memcpy(e->target, t.id, 16);
    finsam__v1__retraction__init(&e->ret);
    e->ret.target_id = (ProtobufCBinaryData){16, e->target};
    e->ev.body_case = FINSAM__V1__EVENT__BODY_RETRACTION;
    e->ev.retraction = &e->ret;
}

/* Packs an event; checks that a seed meant to be valid is. */
static ProtobufCBinaryData s_pack(s_ev_t *e, bool valid)
{
    size_t len;
    uint8_t *buf = codec_pack(&e->ev.base, &len);
    if (valid) {
        char why[256];
        event_msg_t *ev = NULL;
        reject_code_t rc = codec_decode_event(buf, len, &ev, why, sizeof why);
        if (rc == 0)
            rc = validate_event(s_cat, ev, "NV", NOW_S, why, sizeof why);
        if (rc) {
            fprintf(stderr, "gen_corpus: seed event %d is refused: %s\n", e->id[15], why);
            s_errors++;
        }
        codec_free_event(&ev);
    }
    return (ProtobufCBinaryData){len, buf};
}

static void s_write_bin(const char *target, const char *name, ProtobufCBinaryData b)
{
    s_write(target, name, b.data, b.len);
}

static ProtobufCBinaryData s_batch(uint32_t version, uint64_t seq, ProtobufCBinaryData *events, size_t n)
{
    Finsam__V1__Batch b = FINSAM__V1__BATCH__INIT;
    b.version = version;
    b.agent_id = "agent-NV";
    b.batch_seq = seq;
    b.n_events = n;
    b.events = events;
    size_t len;
    uint8_t *buf = codec_pack(&b.base, &len);
    return (ProtobufCBinaryData){len, buf};
}

/* Writes a batch to both the batch and the ingest corpora. */
static void s_write_batch(const char *name, ProtobufCBinaryData b)
{
    s_write_bin("fuzz_batch", name, b);
    s_write_bin("fuzz_ingest", name, b);
}

static void s_gen_wire(void)
{
    s_ev_t e;
    ProtobufCBinaryData ev[8];
    s_participant(&e, 1);
    ev[0] = s_pack(&e, true);
    s_status(&e, 2, FINSAM__V1__PHASE__PHASE_ENTRY);
    ev[1] = s_pack(&e, true);
    s_status(&e, 3, FINSAM__V1__PHASE__PHASE_EXIT);
    ev[2] = s_pack(&e, true);
    s_staff(&e, 4);
    ev[3] = s_pack(&e, true);
    s_organisation(&e, 5);
    ev[4] = s_pack(&e, true);
    s_retraction(&e, 6, 4); /* retracts the staff answer */
    ev[5] = s_pack(&e, true);
    s_participant(&e, 7); /* a correction of event 1 */
    e.ev.has_supersedes = 1;
    s_ev_t t;
    s_ev_init(&t, 1);
    memcpy(e.target, t.id, 16);
    e.ev.supersedes = (ProtobufCBinaryData){16, e.target};
    e.ans[0].value = 3;
    ev[6] = s_pack(&e, true);
    s_status(&e, 8, FINSAM__V1__PHASE__PHASE_FOLLOWUP_12);
    e.so.occupation = FINSAM__V1__OCCUPATION__OCC_STUDIES;
    e.so.income = FINSAM__V1__INCOME__INC_SOCIAL_ASSISTANCE;
    ev[7] = s_pack(&e, true);

    static const char *const names[] = {"participant",  "status_entry", "status_exit", "staff",
                                        "organisation", "retraction",   "correction",  "status_followup"};
    for (int i = 0; i < 8; i++) {
        char n[64];
        snprintf(n, sizeof n, "%s.pb", names[i]);
        s_write_bin("fuzz_event", n, ev[i]);
        /* A batch of one each, and all of them in order. */
        ProtobufCBinaryData b = s_batch(1, (uint64_t) i + 1, &ev[i], 1);
        s_write_batch(n, b);
        free(b.data);
    }
    ProtobufCBinaryData b = s_batch(1, 100, ev, 8);
    s_write_batch("all_kinds.pb", b);
    free(b.data);
    b = s_batch(1, 101, NULL, 0);
    s_write_batch("empty.pb", b);
    free(b.data);
    b = s_batch(9, 102, ev, 2);
    s_write_batch("version9.pb", b);
    free(b.data);

    /* Edge cases of single events. */
    s_participant(&e, 20);
    e.ev.id.len = 15;
    ProtobufCBinaryData x = s_pack(&e, false);
    s_write_bin("fuzz_event", "id_15_bytes.pb", x);
    free(x.data);
    s_participant(&e, 21);
    e.ps.mode = 99;
    x = s_pack(&e, false);
    s_write_bin("fuzz_event", "unknown_mode.pb", x);
    free(x.data);
    s_participant(&e, 22);
    e.ev.forbund = "HBS";
    x = s_pack(&e, false);
    s_write_bin("fuzz_event", "other_forbund.pb", x);
    free(x.data);
    s_organisation(&e, 23);
    {
        static const char *items[65];
        static int values[65];
        for (int i = 0; i < 65; i++) {
            items[i] = "o_forum_moten";
            values[i] = i;
        }
        s_answers(&e, items, values, 65);
        e.org.n_answers = 64;
        x = s_pack(&e, false);
        s_write_bin("fuzz_event", "answers_64_repeated_item.pb", x);
        free(x.data);
        e.org.n_answers = 65;
        x = s_pack(&e, false);
        s_write_bin("fuzz_event", "answers_65.pb", x);
        free(x.data);
    }
    s_staff(&e, 24);
    e.ans[0].item = "p_resp\xc3\x28kt"; /* invalid UTF-8 */
    x = s_pack(&e, false);
    s_write_bin("fuzz_event", "bad_utf8_item.pb", x);
    free(x.data);
    s_status(&e, 25, FINSAM__V1__PHASE__PHASE_EXIT);
    e.so.extent_pct = 101;
    x = s_pack(&e, false);
    s_write_bin("fuzz_event", "extent_101.pb", x);
    free(x.data);
    s_write("fuzz_event", "empty.pb", "", 0);

    /* A batch with one bad event among good ones. */
    ProtobufCBinaryData mixed[3] = {ev[0], ev[3], {0, NULL}};
    s_participant(&e, 26);
    e.ev.occurred_at = 4102444800; /* 2100: out of range */
    mixed[2] = s_pack(&e, false);
    b = s_batch(1, 103, mixed, 3);
    s_write_batch("one_bad_of_three.pb", b);
    free(b.data);
    free(mixed[2].data);

    /* Acks: what the collector answers. */
    Finsam__V1__Ack ack = FINSAM__V1__ACK__INIT;
    ProtobufCBinaryData acc[2];
    s_ev_t a1, a2;
    s_ev_init(&a1, 1);
    s_ev_init(&a2, 2);
    acc[0] = (ProtobufCBinaryData){16, a1.id};
    acc[1] = (ProtobufCBinaryData){16, a2.id};
    Finsam__V1__Rejection rej = FINSAM__V1__REJECTION__INIT, *rejp = &rej;
    rej.id = (ProtobufCBinaryData){16, a2.id};
    rej.code = FINSAM__V1__REJECT_CODE__REJECT_FORBIDDEN;
    rej.text = "förbund HBS is not the agent's (NV)";
    ack.batch_seq = 7;
    ack.n_accepted = 2;
    ack.accepted = acc;
    size_t len;
    uint8_t *buf = codec_pack(&ack.base, &len);
    s_write("fuzz_ack", "accepted.pb", buf, len);
    free(buf);
    ack.n_accepted = 1;
    ack.n_rejected = 1;
    ack.rejected = &rejp;
    buf = codec_pack(&ack.base, &len);
    s_write("fuzz_ack", "accepted_and_rejected.pb", buf, len);
    free(buf);
    Finsam__V1__Ack berr = FINSAM__V1__ACK__INIT;
    berr.batch_seq = 8;
    berr.has_batch_error = 1;
    berr.batch_error = FINSAM__V1__REJECT_CODE__REJECT_UNAUTHORIZED;
    berr.batch_error_text = "key is not on the allow-list";
    buf = codec_pack(&berr.base, &len);
    s_write("fuzz_ack", "batch_error.pb", buf, len);
    free(buf);
    acc[0].len = 15;
    ack.n_rejected = 0;
    buf = codec_pack(&ack.base, &len);
    s_write("fuzz_ack", "id_15_bytes.pb", buf, len);
    free(buf);

    for (int i = 0; i < 8; i++)
        free(ev[i].data);
}

/* ---- JSONL rows ------------------------------------------------------ */

static const struct {
    const char *name, *line;
    bool valid;
} s_rows[] = {
    {"participant.jsonl",
     "{\"kind\":\"participant_survey\",\"personnummer\":\"19850312-1231\",\"date\":\"2026-03-14\","
     "\"instrument\":"
     "\"deltagare_avslut\",\"mode\":\"integrated\",\"insats\":\"steg1\",\"gender\":\"woman\",\"birth_year\":"
     "1985,"
     "\"answers\":{\"d_behov\":5,\"d_tid\":4}}",
     true},
    {"status.jsonl",
     "{\"kind\":\"status\",\"personnummer\":\"850372-1238\",\"date\":\"2026-01-10\",\"phase\":\"exit\","
     "\"mode\":"
     "\"project\",\"occupation\":\"work\",\"extent_pct\":50,\"income\":\"wage\",\"days_in_insats\":120,"
     "\"days_to_next_service\":14,\"assessed_with_participant\":true,\"gender\":\"man\"}",
     true},
    {"status_12digits.jsonl",
     "{\"kind\":\"status\",\"personnummer\":\"198503121231\",\"date\":\"2026-02-01\",\"phase\":\"entry\","
     "\"mode\":\"integrated\",\"occupation\":\"none\",\"income\":\"sickness_benefit\"}",
     true},
    {"staff.jsonl",
     "{\"kind\":\"staff_survey\",\"date\":\"2026-03-14\",\"instrument\":\"insatspersonal\",\"agency\":\"af\","
     "\"mode\":\"integrated\",\"answers\":{\"p_respekt\":4,\"p_synpunkter\":0},\"response_id\":\"R-1043\"}",
     true},
    {"organisation.jsonl",
     "{\"kind\":\"organisation\",\"date\":\"2025-12-31\",\"answers\":{\"o_forum_moten\":12}}", true},
    {"retraction.jsonl",
     "{\"kind\":\"retraction\",\"target\":\"0000521a0102030405060708090a0b0c\",\"date\":\"2026-03-14\"}",
     true},
    {"dropped_fields.jsonl",
     "{\"kind\":\"organisation\",\"date\":\"2025-12-31\",\"answers\":{\"o_brukarinflytande\":2},\"name\":"
     "\"x\","
     "\"comment\":null}",
     true},
    /* Edge cases: each refused with a reason. */
    {"bad_luhn.jsonl",
     "{\"kind\":\"status\",\"personnummer\":\"850312-1234\",\"date\":\"2026-01-10\",\"phase\":\"exit\","
     "\"mode\":"
     "\"project\",\"occupation\":\"work\",\"income\":\"wage\"}",
     false},
    {"future_date.jsonl",
     "{\"kind\":\"organisation\",\"date\":\"2999-01-01\",\"answers\":{\"o_forum_moten\":1}}", false},
    {"identifier_in_value.jsonl",
     "{\"kind\":\"participant_survey\",\"personnummer\":\"19850312-1231\",\"date\":\"2026-03-14\","
     "\"instrument\":\"deltagare_avslut\",\"mode\":\"project\",\"insats\":\"anna@example.se\","
     "\"answers\":{\"d_behov\":5}}",
     false},
    {"duplicate_key.jsonl", "{\"kind\":\"organisation\",\"kind\":\"status\"}", false},
    {"nul_in_string.jsonl", "{\"kind\":\"organi\\u0000sation\",\"date\":\"2026-01-01\"}", false},
    {"not_object.jsonl", "[1,2,3]", false},
};

static void s_gen_jsonl(void)
{
    uint8_t key[ANON_KEY_LEN];
    for (int i = 0; i < ANON_KEY_LEN; i++)
        key[i] = (uint8_t) (0x5a ^ i);
    anon_t *anon = anon_new(key);
    for (size_t i = 0; i < sizeof s_rows / sizeof *s_rows; i++) {
        json_error_t jerr;
        json_t *row = json_loads(s_rows[i].line, JSON_REJECT_DUPLICATES, &jerr);
        import_t *imp = import_new(s_cat, anon, "NV", NOW_S);
        char field[64] = "", why[320] = "";
        bool ok = row && import_row(imp, row, field, sizeof field, why, sizeof why) == 0;
        if (ok != s_rows[i].valid) {
            fprintf(stderr, "gen_corpus: %s: expected %s, got %s (%s: %s)\n", s_rows[i].name,
                    s_rows[i].valid ? "accepted" : "refused", ok ? "accepted" : "refused", field, why);
            s_errors++;
        }
        import_destroy(&imp);
        json_decref(row);
        char line[4096];
        snprintf(line, sizeof line, "%s\n", s_rows[i].line);
        s_write("fuzz_import_jsonl", s_rows[i].name, line, strlen(line));
    }
    anon_destroy(&anon);
}

/* ---- config and catalogue -------------------------------------------- */

static void s_gen_text(void)
{
    static const struct {
        const char *name, *text;
    } ini[] = {
        {"collector.ini", "; finsam-collector\n[collector]\ndata-dir = /var/lib/finsam\nendpoint = "
                          "tcp://0.0.0.0:7710\nmax-batches-per-commit = 64\nstream-hwm = 20000\n"},
        {"agent.ini", "# agent\n[agent]\ndata-dir=/srv/finsam-agent\ndry-run = yes\nexit-when-empty = off\n"},
        {"out_of_range.ini", "max-batches-per-commit = 5000\n"},
        {"not_integer.ini", "stream-hwm = 12abc\n"},
        {"unknown_key.ini", "[x]\npassword = hunter2\n"},
        {"bad_bool.ini", "dry-run = maybe\n"},
        {"continuation.ini", "data-dir = a\n  continued\nendpoint: tcp://h:1\n"},
        {"empty.ini", ""},
        {"duplicate.ini", "data-dir = a\ndata-dir = b\n"},
    };
    for (size_t i = 0; i < sizeof ini / sizeof *ini; i++)
        s_write("fuzz_config", ini[i].name, ini[i].text, strlen(ini[i].text));

    size_t len;
    const char *json = catalogue_default_json(&len);
    s_write("fuzz_catalogue", "default.json", json, len);
    static const struct {
        const char *name, *text;
    } cats[] = {
        {"minimal.json",
         "{\"catalogue_version\":2,\"scales\":{\"s\":{\"min\":1,\"max\":3,\"dont_know\":0,\"top\":[2,3],"
         "\"labels_sv\":[\"a\",\"b\"],\"labels_en\":[\"a\"]}},\"instruments\":{\"i\":{\"kind\":"
         "\"participant_survey\",\"items\":{\"x\":{\"scale\":\"s\"}}},\"st\":{\"kind\":\"status\",\"items\":{"
         "}}},"
         "\"forbund\":{\"NV\":{\"name\":\"n\",\"lan\":\"l\"}},\"indicators\":[{\"id\":1,\"perspective\":"
         "\"p\","
         "\"type\":\"t\",\"measures\":[{\"id\":\"m1\",\"aggregate\":\"ordinal\",\"source\":{\"item\":\"x\"}},"
         "{\"id\":\"m2\",\"aggregate\":\"paired_change\",\"source\":{\"status\":\"step\",\"from\":\"entry\","
         "\"to\":\"exit\"}},{\"id\":\"m3\",\"aggregate\":\"paired_change\",\"source\":{\"item\":\"x\","
         "\"from\":\"i\",\"to\":\"i\"}}]}]}"},
        {"unknown_scale.json",
         "{\"catalogue_version\":1,\"scales\":{},\"instruments\":{\"i\":{\"kind\":\"staff_survey\",\"items\":"
         "{\"x\":{\"scale\":\"nope\"}}}},\"indicators\":[]}"},
        {"duplicate_measure.json",
         "{\"catalogue_version\":1,\"scales\":{\"s\":{\"min\":0,\"max\":9}},\"instruments\":{\"o\":{\"kind\":"
         "\"organisation\",\"items\":{\"x\":{\"scale\":\"s\"}}}},\"indicators\":[{\"id\":1,\"measures\":["
         "{\"id\":\"m\",\"aggregate\":\"sum\",\"source\":{\"item\":\"x\"}},{\"id\":\"m\",\"aggregate\":"
         "\"sum\","
         "\"source\":{\"item\":\"x\"}}]}]}"},
        {"truncated.json", "{\"catalogue_version\":1,\"scales\":{\"s\":{\"min\":"},
        {"ratio.json",
         "{\"catalogue_version\":2,\"oldest_accepted_version\":1,\"scales\":{\"c\":{\"min\":0,\"max\":99}},"
         "\"instruments\":{\"o\":{\"kind\":\"organisation\",\"items\":{\"a\":{\"scale\":\"c\"},\"b\":{"
         "\"scale\":\"c\",\"since\":2}}}},\"indicators\":[{\"id\":1,\"measures\":[{\"id\":\"sa\","
         "\"aggregate\":\"sum\",\"source\":{\"instrument\":\"o\",\"item\":\"a\"},\"sv\":\"A\",\"en\":"
         "\"A\",\"definition_sv\":\"a\",\"definition_en\":\"a\"},{\"id\":\"sb\",\"aggregate\":\"sum\","
         "\"source\":{\"instrument\":\"o\",\"item\":\"b\"}},{\"id\":\"r\",\"aggregate\":\"ratio\","
         "\"source\":{\"instrument\":\"o\",\"numerator\":\"a\",\"denominator\":\"b\"}}]}]}"},
    };
    for (size_t i = 0; i < sizeof cats / sizeof *cats; i++)
        s_write("fuzz_catalogue", cats[i].name, cats[i].text, strlen(cats[i].text));
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "Usage: fuzz_gen_corpus OUTDIR\n");
        return 64;
    }
    s_out = argv[1];
    mkdir(s_out, 0755);
    char err[256];
    if (catalogue_load(&s_cat, NULL, err, sizeof err) < 0) {
        fprintf(stderr, "gen_corpus: catalogue: %s\n", err);
        return 70;
    }
    s_gen_wire();
    s_gen_jsonl();
    s_gen_text();
    catalogue_destroy(&s_cat);
    if (s_errors)
        fprintf(stderr, "gen_corpus: %d seed(s) not as expected\n", s_errors);
    return s_errors ? 1 : 0;
}
