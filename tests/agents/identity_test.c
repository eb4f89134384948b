/* identity_test.c: the identity of a row (agents/import/import.c and the
 * outbox's keys): a row with the same response id corrects the earlier one
 * whatever else changed; without one, a changed date for the same person
 * and instrument corrects it within the correction window and makes a new
 * survey beyond it; the report names each correction; an import keeps the
 * ids it queued under its number. Real LMDB in temp dirs, imports through
 * jsonl_import_file and csvimport_file. */
#include "anonymize.h"
#include "catalogue.h"
#include "codec.h"
#include "csvimport.h"
#include "import.h"
#include "jsonl.h"
#include "mapping.h"
#include "outbox.h"
#include "testutil.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    catalogue_t *cat;
    anon_t *anon;
    outbox_t *ob;
    insatser_t *ins;
    const char *dir;
    char report[4096];
} s_env_t;

static void s_env(s_env_t *e)
{
    char err[256];
    static const uint8_t key[ANON_KEY_LEN] = {9};
    memset(e, 0, sizeof *e);
    e->dir = tu_tempdir();
    CHECK_EQ(catalogue_load(&e->cat, NULL, err, sizeof err), 0);
    CHECK((e->anon = anon_new(key)) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/outbox", e->dir);
    CHECK_EQ(outbox_open(&e->ob, path, NULL, 0), 0);
    CHECK((e->ins = insatser_new("test")) != NULL);
}

static void s_env_free(s_env_t *e)
{
    outbox_close(&e->ob);
    insatser_destroy(&e->ins);
    anon_destroy(&e->anon);
    catalogue_destroy(&e->cat);
}

/* Imports text as NAME (JSONL, or CSV with the mapping text when map is
 * not NULL); the summary lands in e->report. */
static int s_import(s_env_t *e, const char *name, const char *text, const char *map)
{
    char path[256], mpath[256], err[512] = "";
    snprintf(path, sizeof path, "%s/%s", e->dir, name);
    CHECK_EQ(tu_write_file(path, text), 0);
    FILE *rep = fmemopen(e->report, sizeof e->report, "w");
    FILE *devnull = fopen("/dev/null", "w");
    import_opts_t io = {.cat = e->cat,
                        .anon = e->anon,
                        .forbund = "NV",
                        .outbox = e->ob,
                        .report = rep,
                        .errors = devnull,
                        .insatser = e->ins,
                        .label = name};
    int rc;
    if (map) {
        snprintf(mpath, sizeof mpath, "%s/map.ini", e->dir);
        CHECK_EQ(tu_write_file(mpath, map), 0);
        mapping_t *m = NULL;
        CHECK_EQ(mapping_load(&m, mpath, e->cat, err, sizeof err), 0);
        rc = csvimport_file(path, m, &io, err, sizeof err);
        mapping_destroy(&m);
    } else {
        rc = jsonl_import_file(path, &io, err, sizeof err);
    }
    fclose(devnull);
    fclose(rep);
    return rc;
}

static size_t s_queued(outbox_t *ob)
{
    size_t q = 0;
    CHECK_EQ(outbox_count(ob, &q, NULL, NULL, NULL, 0), 0);
    return q;
}

/* Decodes the queued events in order, up to 8. */
static int s_collect(uint64_t seq, const uint8_t *bytes, size_t len, void *arg)
{
    (void) seq;
    event_msg_t **evs = arg;
    char why[128];
    while (*evs)
        evs++;
    CHECK_EQ(codec_decode_event(bytes, len, evs, why, sizeof why), FINSAM__V1__REJECT_CODE__REJECT_NONE);
    return 0;
}

static void s_free_events(event_msg_t **evs, int n)
{
    for (int i = 0; i < n; i++)
        codec_free_event(&evs[i]);
}

static const char *s_survey = "{\"kind\":\"participant_survey\",\"personnummer\":\"19850312-1231\","
                              "\"date\":\"%s\",\"instrument\":\"deltagare_avslut\",\"mode\":\"project\","
                              "\"answers\":{\"d_behov\":%d}%s}\n";

static void s_row(char *out, size_t outlen, const char *date, int answer, const char *rid)
{
    char extra[64] = "";
    if (rid)
        snprintf(extra, sizeof extra, ",\"response_id\":\"%s\"", rid);
    snprintf(out, outlen, s_survey, date, answer, extra);
}

/* Two rows as two imports; returns the two queued events in *evs. */
static void s_two(s_env_t *e, const char *row1, const char *row2, event_msg_t **evs)
{
    CHECK_EQ(s_import(e, "a.jsonl", row1, NULL), 0);
    CHECK_EQ(s_import(e, "b.jsonl", row2, NULL), 0);
    CHECK_EQ(outbox_peek(e->ob, 0, 8, s_collect, evs), 2);
}

static void test_response_id_corrects_whatever_changed(void)
{
    s_env_t e;
    s_env(&e);
    char r1[512], r2[512];
    /* Another month and another answer: still the same response. */
    s_row(r1, sizeof r1, "2026-03-14", 2, "R-1001");
    s_row(r2, sizeof r2, "2026-07-02", 5, "R-1001");
    event_msg_t *ev[9] = {0};
    s_two(&e, r1, r2, ev);
    CHECK(!ev[0]->has_supersedes);
    CHECK(ev[1]->has_supersedes);
    CHECK(memcmp(ev[1]->supersedes.data, ev[0]->id.data, 16) == 0);
    CHECK_EQ(ev[1]->participant_survey->answers[0]->value, 5);
    CHECK(strstr(e.report, "corrected=1") != NULL);
    /* The response id never travels: not in the bytes of either event. */
    s_free_events(ev, 2);
    s_env_free(&e);
}

/* A respondent changes an answer and then changes it back (A, B, A):
 * the third import corrects B back to A, under an id of its own (A's id
 * is held by the collector and superseded), and the same file again adds
 * nothing. Before, the third import counted as "already there" and the
 * collector kept B. */
static void test_change_back_is_a_correction(void)
{
    s_env_t e;
    s_env(&e);
    char a[512], b[512];
    s_row(a, sizeof a, "2026-03-14", 2, "R-1001");
    s_row(b, sizeof b, "2026-03-14", 5, "R-1001");
    CHECK_EQ(s_import(&e, "a.jsonl", a, NULL), 0);
    CHECK_EQ(s_import(&e, "b.jsonl", b, NULL), 0);
    CHECK_EQ(s_import(&e, "c.jsonl", a, NULL), 0);
    CHECK(strstr(e.report, "corrected=1") != NULL);
    CHECK(strstr(e.report, "c.jsonl:1: rättelse av en rad som importerats tidigare\n") != NULL);
    CHECK_EQ(s_import(&e, "d.jsonl", a, NULL), 0);
    CHECK(strstr(e.report, "accepted=0 already_imported=1 corrected=0") != NULL);
    /* ... and back to B once more: a fourth event, superseding the third. */
    CHECK_EQ(s_import(&e, "e.jsonl", b, NULL), 0);
    CHECK(strstr(e.report, "corrected=1") != NULL);
    event_msg_t *ev[9] = {0};
    CHECK_EQ(outbox_peek(e.ob, 0, 8, s_collect, ev), 4);
    CHECK(!ev[0]->has_supersedes);
    CHECK(memcmp(ev[1]->supersedes.data, ev[0]->id.data, 16) == 0);
    CHECK(memcmp(ev[2]->supersedes.data, ev[1]->id.data, 16) == 0);
    CHECK(memcmp(ev[3]->supersedes.data, ev[2]->id.data, 16) == 0);
    CHECK_EQ(ev[2]->participant_survey->answers[0]->value, 2);
    CHECK_EQ(ev[3]->participant_survey->answers[0]->value, 5);
    /* Four ids, all different; the month prefix kept. */
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            CHECK(memcmp(ev[i]->id.data, ev[j]->id.data, 16) != 0);
    CHECK(memcmp(ev[2]->id.data, ev[0]->id.data, 4) == 0);
    s_free_events(ev, 4);
    s_env_free(&e);
}

static void test_other_response_id_is_another_survey(void)
{
    s_env_t e;
    s_env(&e);
    char r1[512], r2[512];
    s_row(r1, sizeof r1, "2026-03-14", 2, "R-1001");
    s_row(r2, sizeof r2, "2026-03-20", 5, "R-1002");
    event_msg_t *ev[9] = {0};
    s_two(&e, r1, r2, ev);
    CHECK(!ev[0]->has_supersedes && !ev[1]->has_supersedes);
    s_free_events(ev, 2);
    s_env_free(&e);
}

/* A staff export (CSV through a mapping without correction-window-days:
 * the default, 31 days): a date moved by 19 days is a correction. */
static const char s_map_default[] = "[values]\nkind = participant_survey\ninstrument = deltagare_avslut\n"
                                    "mode = project\n[columns]\npersonnummer = Personnummer\ndate = Datum\n"
                                    "[answers]\nd_behov = Behov\n[labels.d_behov]\n"
                                    "1 = 1\n2 = 2\n3 = 3\n4 = 4\n5 = 5\n";

static void test_date_inside_window_is_correction(void)
{
    s_env_t e;
    s_env(&e);
    CHECK_EQ(s_import(&e, "a.csv", "Personnummer;Datum;Behov\n19850312-1231;2026-03-14;2\n", s_map_default),
             0);
    CHECK_EQ(s_import(&e, "b.csv", "Personnummer;Datum;Behov\n19850312-1231;2026-04-02;4\n", s_map_default),
             0);
    event_msg_t *ev[9] = {0};
    CHECK_EQ(outbox_peek(e.ob, 0, 8, s_collect, ev), 2);
    CHECK(ev[1]->has_supersedes);
    CHECK(memcmp(ev[1]->supersedes.data, ev[0]->id.data, 16) == 0);
    CHECK_EQ(ev[1]->participant_survey->answers[0]->value, 4);
    CHECK(strstr(e.report, "b.csv:2: rättelse av svaret som importerades 2026-03-14\n") != NULL);
    s_free_events(ev, 2);
    s_env_free(&e);
}

/* A machine export (JSON lines) names its own rows: no window, so a
 * changed date is another survey. */
static void test_jsonl_has_no_window(void)
{
    s_env_t e;
    s_env(&e);
    char r1[512], r2[512];
    s_row(r1, sizeof r1, "2026-03-14", 2, NULL);
    s_row(r2, sizeof r2, "2026-04-02", 4, NULL);
    event_msg_t *ev[9] = {0};
    s_two(&e, r1, r2, ev);
    CHECK(!ev[1]->has_supersedes);
    CHECK(strstr(e.report, "correction of") == NULL);
    s_free_events(ev, 2);
    s_env_free(&e);
}

static void test_date_beyond_window_is_new_survey(void)
{
    s_env_t e;
    s_env(&e);
    CHECK_EQ(s_import(&e, "a.csv", "Personnummer;Datum;Behov\n19850312-1231;2026-01-10;2\n", s_map_default),
             0);
    CHECK_EQ(s_import(&e, "b.csv", "Personnummer;Datum;Behov\n19850312-1231;2026-03-14;4\n", s_map_default),
             0); /* 63 days later */
    event_msg_t *ev[9] = {0};
    CHECK_EQ(outbox_peek(e.ob, 0, 8, s_collect, ev), 2);
    CHECK(!ev[1]->has_supersedes);
    CHECK(strstr(e.report, "corrected=0") != NULL);
    CHECK(strstr(e.report, "correction of") == NULL);
    s_free_events(ev, 2);
    s_env_free(&e);
}

static const char *s_map = "[file]\n"
                           "correction-window-days = %d\n"
                           "[values]\n"
                           "kind = participant_survey\n"
                           "instrument = deltagare_avslut\n"
                           "mode = project\n"
                           "[columns]\n"
                           "personnummer = Personnummer\n"
                           "date = Datum\n"
                           "[answers]\n"
                           "d_behov = Behov\n"
                           "[labels.d_behov]\n" /* bare numbers need their meaning stated */
                           "1 = 1\n2 = 2\n3 = 3\n4 = 4\n5 = 5\n";

/* The mapping's window: 10 days makes 19 days apart two surveys, and the
 * CSV row numbers count data rows. */
static void test_mapping_window(void)
{
    s_env_t e;
    s_env(&e);
    char map[1024];
    snprintf(map, sizeof map, s_map, 10);
    CHECK_EQ(s_import(&e, "a.csv", "Personnummer;Datum;Behov\n19850312-1231;2026-03-14;2\n", map), 0);
    CHECK_EQ(s_import(&e, "b.csv", "Personnummer;Datum;Behov\n19850312-1231;2026-04-02;4\n", map), 0);
    CHECK(strstr(e.report, "corrected=0") != NULL);
    snprintf(map, sizeof map, s_map, 31);
    CHECK_EQ(s_import(&e, "c.csv",
                      "Personnummer;Datum;Behov\n19701010-1231;2026-05-01;1\n19850312-1231;2026-04-10;5\n",
                      map),
             0);
    CHECK(strstr(e.report, "c.csv:3: rättelse av svaret som importerades 2026-04-02\n") != NULL);
    CHECK_EQ(s_queued(e.ob), 4);
    s_env_free(&e);
}

static void test_mapping_window_refused(void)
{
    s_env_t e;
    s_env(&e);
    char path[256], err[512] = "";
    snprintf(path, sizeof path, "%s/map.ini", e.dir);
    CHECK_EQ(tu_write_file(path, "[file]\ncorrection-window-days = many\n"), 0);
    mapping_t *m = NULL;
    CHECK(mapping_load(&m, path, e.cat, err, sizeof err) != 0);
    CHECK(strstr(err, "correction-window-days must be a number of days from 0 to 3660") != NULL);
    s_env_free(&e);
}

typedef struct {
    int n;
    uint8_t ids[8][16];
} s_ids_t;

static int s_note_id(const uint8_t id[OUTBOX_ID_LEN], void *arg)
{
    s_ids_t *s = arg;
    memcpy(s->ids[s->n++], id, 16);
    return 0;
}

/* Each import that queued something gets the next number; the outbox
 * keeps its ids (only ids) under it; a re-import queues nothing new. */
static void test_import_number_keeps_ids(void)
{
    s_env_t e;
    s_env(&e);
    char r1[512], r2[1024];
    s_row(r1, sizeof r1, "2026-03-14", 2, "A");
    CHECK_EQ(s_import(&e, "a.jsonl", r1, NULL), 0);
    CHECK(strstr(e.report, "a.jsonl: import 1 ") != NULL);
    char r3[512];
    s_row(r3, sizeof r3, "2026-03-15", 3, "B");
    snprintf(r2, sizeof r2, "%s%s", r1, r3);
    CHECK_EQ(s_import(&e, "b.jsonl", r2, NULL), 0);
    CHECK(strstr(e.report, "b.jsonl: import 2 ") != NULL);
    CHECK_EQ(s_import(&e, "b.jsonl", r2, NULL), 0);
    CHECK(strstr(e.report, "import 3") == NULL);
    s_ids_t got = {0};
    CHECK_EQ(outbox_import_ids(e.ob, 2, s_note_id, &got, NULL, 0), FIN_OK);
    CHECK_EQ(got.n, 1);
    /* The id is the one the response key names. */
    uint8_t nk[ANON_HASH_LEN], id[16];
    import_response_key(e.anon, "participant_survey", "deltagare_avslut", "B", 1, nk);
    CHECK_EQ(outbox_natural_id(e.ob, nk, id, NULL, 0), FIN_OK);
    CHECK(memcmp(id, got.ids[0], 16) == 0);
    CHECK_EQ(outbox_import_ids(e.ob, 9, s_note_id, &got, NULL, 0), FIN_ENOTFOUND);
    s_env_free(&e);
}

/* A withdrawn row dropped again is not sent again, and the report counts
 * it apart ("withdrawn before"), not as "already there"; the same row
 * changed is a new event (the collector withdrew the old one, so it is no
 * correction), and a change back after that is a correction again. */
static void test_withdrawn_row_imported_again(void)
{
    s_env_t e;
    s_env(&e);
    char a[512], b[512];
    s_row(a, sizeof a, "2026-03-14", 2, "R-5010");
    s_row(b, sizeof b, "2026-03-14", 4, "R-5010");
    CHECK_EQ(s_import(&e, "a.jsonl", a, NULL), 0);
    s_ids_t got = {0};
    CHECK_EQ(outbox_import_ids(e.ob, 1, s_note_id, &got, NULL, 0), FIN_OK);
    CHECK_EQ(got.n, 1);
    /* A stand-in retraction: the outbox does not read its bytes. */
    uint8_t rbytes[] = "retraction";
    outbox_item_t r = {.id = {0xEE, 1}, .bytes = rbytes, .len = sizeof rbytes};
    outbox_put_stats_t ps;
    CHECK_EQ(outbox_withdraw(e.ob, (const uint8_t(*)[OUTBOX_ID_LEN]) got.ids, &r, 1, &ps, NULL, 0), FIN_OK);
    CHECK_EQ(ps.added, 1);
    CHECK_EQ(s_queued(e.ob), 2);
    CHECK_EQ(s_import(&e, "again.jsonl", a, NULL), 0);
    CHECK(strstr(e.report, "  tidigare tillbakatagna (skickas inte igen): 1\n") != NULL);
    CHECK(strstr(e.report, "  fanns redan (skickade tidigare): 0\n") != NULL);
    CHECK(strstr(e.report, "rows=1 accepted=0 already_imported=0 corrected=0 rejected=0 dropped_fields=0 "
                           "withdrawn_before=1\n") != NULL);
    CHECK(strstr(e.report, "import 2") == NULL);
    CHECK_EQ(s_queued(e.ob), 2);
    /* Changed: a new event, superseding nothing. */
    CHECK_EQ(s_import(&e, "b.jsonl", b, NULL), 0);
    CHECK(strstr(e.report, "accepted=1 already_imported=0 corrected=0 rejected=0 dropped_fields=0 "
                           "withdrawn_before=0\n") != NULL);
    /* ... and back to A: a correction of B (what is imported last holds). */
    CHECK_EQ(s_import(&e, "c.jsonl", a, NULL), 0);
    CHECK(strstr(e.report, "accepted=1 already_imported=0 corrected=1") != NULL);
    event_msg_t *ev[9] = {0};
    CHECK_EQ(outbox_peek(e.ob, 3, 8, s_collect, ev), 2); /* after A and the retraction */
    CHECK(!ev[0]->has_supersedes);
    CHECK(memcmp(ev[1]->supersedes.data, ev[0]->id.data, 16) == 0);
    CHECK(memcmp(ev[1]->id.data, got.ids[0], 16) != 0);
    s_free_events(ev, 2);
    s_env_free(&e);
}

static const test_case_t s_cases[] = {
    {"response id corrects whatever changed", test_response_id_corrects_whatever_changed},
    {"other response id is another survey", test_other_response_id_is_another_survey},
    {"a change back is a correction", test_change_back_is_a_correction},
    {"date inside window is correction", test_date_inside_window_is_correction},
    {"JSON lines have no window", test_jsonl_has_no_window},
    {"date beyond window is new survey", test_date_beyond_window_is_new_survey},
    {"mapping window", test_mapping_window},
    {"mapping window refused", test_mapping_window_refused},
    {"import number keeps ids", test_import_number_keeps_ids},
    {"a withdrawn row imported again", test_withdrawn_row_imported_again},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
