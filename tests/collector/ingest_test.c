/* ingest_test.c: the storing rules of collector/ingest.c on a real LMDB
 * ledger: exactly once, duplicates, authority, bad input, retractions and
 * corrections, and the rebuild invariant after a random event sequence. */
#include "events.h"
#include "testutil.h"

#include "aggregate.h"
#include "protect.h"
#include "allowlist.h"
#include "cell.h"
#include "erase.h"
#include "ingest.h"
#include "replay.h"
#include "keys.h"
#include "log.h"
#include "rebuild.h"

#include <czmq.h>

static ledger_t *s_ledger;
static catalogue_t *s_cat;
static aggregate_t *s_agg;
static protect_t *s_protect;
static ingest_t *s_ingest;
static allowlist_t *s_allow;
static char s_key_nv[41], s_key_hbs[41];
static char s_ledger_dir[512];

static void s_agent_key(const char *dir, const char *name, const char *forbund, char key[41])
{
    char err[256], path[512];
    snprintf(path, sizeof path, "%s/agents/%s.key", dir, name);
    CHECK(keys_generate(path, name, forbund, err, sizeof err) == 0);
    zcert_t *cert = zcert_load(path);
    snprintf(key, 41, "%s", zcert_public_txt(cert));
    zcert_destroy(&cert);
}

static void s_setup(void)
{
    char err[256], path[512];
    const char *dir = tu_tempdir();
    snprintf(path, sizeof path, "%s/agents", dir);
    CHECK(mkdir_p(path, 0700) == 0);
    s_agent_key(dir, "nv", "NV", s_key_nv);
    s_agent_key(dir, "hbs", "HBS", s_key_hbs);
    snprintf(path, sizeof path, "%s/agents", dir);
    s_allow = allowlist_new(path, "forbund", allowlist_valid_forbund);
    snprintf(s_ledger_dir, sizeof s_ledger_dir, "%s/ledger", dir);
    CHECK(ledger_open(&s_ledger, s_ledger_dir, false, err, sizeof err) == 0);
    CHECK(catalogue_load(&s_cat, NULL, err, sizeof err) == 0);
    protect_params_t pp = PROTECT_DEFAULTS;
    s_protect = protect_open(s_ledger, &pp, err, sizeof err);
    CHECK(s_protect);
    s_agg = aggregate_new(s_cat, protect_secret(s_protect));
    s_ingest = ingest_new(s_ledger, s_cat);
    CHECK(s_allow && s_agg && s_ingest);
}

static void s_teardown(void)
{
    ingest_destroy(&s_ingest);
    aggregate_destroy(&s_agg);
    protect_destroy(&s_protect);
    allowlist_destroy(&s_allow);
    catalogue_destroy(&s_cat);
    ledger_close(&s_ledger);
}

/* Sends one batch through prepare + commit; returns the item (clear it). */
static ingest_item_t s_send(const char *key, const uint8_t *data, size_t len)
{
    ingest_item_t item = {0};
    snprintf(item.agent_key, sizeof item.agent_key, "%s", key);
    item.data = data;
    item.len = len;
    if (ingest_prepare(s_ingest, &item, s_allow)) {
        CHECK(ingest_commit(s_ingest, &item, 1) == 0);
        /* As the collector does: the cells follow, then the tombstones
         * of erasures they passed (aggregator.h, erase.h). */
        CHECK(replay_follow(s_ledger, s_agg, 0, NULL, NULL, &(uint64_t){0}) == 0);
        uint64_t finished;
        erase_scrub_report_t r;
        char err[256];
        CHECK(erase_finish(s_ledger, 0, &finished, &r, err, sizeof err) == 0);
    }
    return item;
}

static uint8_t *s_batch_of(uint32_t first, int n, const char *forbund, size_t *len)
{
    uint8_t *ev[1000];
    size_t lens[1000];
    for (int i = 0; i < n; i++)
        ev[i] = ev_survey(first + (uint32_t) i, forbund, first + (uint32_t) i, "deltagare_avslut", "d_behov",
                          1 + i % 5, 1 + i % 2, T_2026_03, &lens[i]);
    uint8_t *b = ev_batch(first, ev, lens, (size_t) n, len);
    for (int i = 0; i < n; i++)
        free(ev[i]);
    return b;
}

static bool s_cell(const char *measure, const char *forbund, uint32_t period, uint16_t slice, cell_t *out)
{
    cell_key_t ck = {0};
    snprintf(ck.measure, sizeof ck.measure, "%s", measure);
    snprintf(ck.forbund, sizeof ck.forbund, "%s", forbund);
    ck.period = period;
    ck.slice = slice;
    uint8_t key[CELL_KEY_LEN];
    cell_key_encode(key, &ck);
    MDB_txn *txn;
    CHECK(ledger_cells_read(s_ledger, &txn) == 0);
    MDB_val k = {CELL_KEY_LEN, key}, v;
    bool found = mdb_get(txn, ledger_dbi(s_ledger, LEDGER_DB_CELLS), &k, &v) == 0;
    if (found)
        memcpy(out, v.mv_data, sizeof *out);
    else
        memset(out, 0, sizeof *out);
    ledger_cells_read_end(s_ledger, txn);
    return found;
}

static void s_verify_rebuild(void)
{
    rebuild_report_t r;
    char err[256];
    CHECK(rebuild_verify(s_ledger, s_cat, &r, stderr, err, sizeof err) == 0);
    CHECK_EQ(r.differences, 0);
}

static void test_duplicates_change_nothing(void)
{
    s_setup();
    size_t len;
    uint8_t *b = s_batch_of(1, 10, "NV", &len);
    for (int round = 0; round < 3; round++) {
        ingest_item_t item = s_send(s_key_nv, b, len);
        CHECK_EQ(item.batch_error, 0);
        CHECK_EQ(item.stored, round == 0 ? 10 : 0);
        CHECK_EQ(item.duplicates, round == 0 ? 0 : 10);
        size_t acklen;
        uint8_t *ack = ingest_ack(&item, &acklen);
        ack_msg_t *a = codec_decode_ack(ack, acklen);
        CHECK(a && a->n_accepted == 10 && a->n_rejected == 0);
        codec_free_ack(&a);
        free(ack);
        ingest_item_clear(&item);
    }
    free(b);
    CHECK_EQ(ledger_next_seq(s_ledger), 11);
    cell_t c;
    CHECK(s_cell("i1_behov", "NV", cell_period(PERIOD_YEAR, 2026, 0), 0, &c));
    CHECK_EQ(c.n, 10);
    CHECK_EQ(c.units, 10);
    CHECK_EQ(c.sum, 2 * (1 + 2 + 3 + 4 + 5));
    s_verify_rebuild();
    s_teardown();
}

static void test_other_forbund_rejected(void)
{
    s_setup();
    size_t len;
    uint8_t *b = s_batch_of(100, 5, "HBS", &len);
    ingest_item_t item = s_send(s_key_nv, b, len);
    CHECK_EQ(item.stored, 0);
    CHECK_EQ(item.rejected, 5);
    CHECK_EQ(item.verdicts[0].code, FINSAM__V1__REJECT_CODE__REJECT_FORBIDDEN);
    CHECK(strstr(item.verdicts[0].text, "HBS") != NULL);
    ingest_item_clear(&item);
    /* A key that is not on the allow-list stores nothing at all. */
    item = s_send("rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", b, len);
    CHECK_EQ(item.batch_error, FINSAM__V1__REJECT_CODE__REJECT_UNAUTHORIZED);
    ingest_item_clear(&item);
    free(b);
    CHECK_EQ(ledger_next_seq(s_ledger), 1);
    s_teardown();
}

static void test_bad_input_answered(void)
{
    s_setup();
    uint8_t junk[4096];
    srand(7);
    for (size_t i = 0; i < sizeof junk; i++)
        junk[i] = (uint8_t) rand();
    ingest_item_t item = s_send(s_key_nv, junk, sizeof junk);
    CHECK(item.batch_error == FINSAM__V1__REJECT_CODE__REJECT_MALFORMED);
    ingest_item_clear(&item);

    size_t len;
    uint8_t *b = s_batch_of(1, 3, "NV", &len);
    item = s_send(s_key_nv, b, len / 2); /* truncated */
    CHECK(item.batch_error == FINSAM__V1__REJECT_CODE__REJECT_MALFORMED);
    ingest_item_clear(&item);
    free(b);

    Finsam__V1__Batch batch = FINSAM__V1__BATCH__INIT;
    batch.version = 2;
    batch.agent_id = "x";
    uint8_t *v2 = codec_pack(&batch.base, &len);
    item = s_send(s_key_nv, v2, len);
    CHECK(item.batch_error == FINSAM__V1__REJECT_CODE__REJECT_VERSION);
    ingest_item_clear(&item);
    free(v2);

    /* One bad event among good ones: only it is rejected, with a reason. */
    uint8_t *ev[3];
    size_t lens[3];
    ev[0] = ev_survey(1, "NV", 1, "deltagare_avslut", "d_behov", 4, 1, T_2026_03, &lens[0]);
    ev[1] = ev_survey(2, "NV", 2, "deltagare_avslut", "d_behov", 9, 1, T_2026_03, &lens[1]);
    ev[2] = ev_survey(3, "NV", 3, "deltagare_avslut", "no_such_item", 3, 1, T_2026_03, &lens[2]);
    uint8_t *mixed = ev_batch(5, ev, lens, 3, &len);
    item = s_send(s_key_nv, mixed, len);
    CHECK_EQ(item.stored, 1);
    CHECK_EQ(item.verdicts[1].code, FINSAM__V1__REJECT_CODE__REJECT_INVALID_FIELD);
    CHECK(strstr(item.verdicts[1].text, "outside scale") != NULL);
    CHECK_EQ(item.verdicts[2].code, FINSAM__V1__REJECT_CODE__REJECT_UNKNOWN_KIND);
    ingest_item_clear(&item);
    for (int i = 0; i < 3; i++)
        free(ev[i]);
    free(mixed);
    s_teardown();
}

static void test_retraction_subtracts_exactly(void)
{
    s_setup();
    uint8_t *ev[4];
    size_t lens[4], len;
    ev[0] = ev_survey(1, "NV", 1, "deltagare_avslut", "d_behov", 5, 1, T_2026_03, &lens[0]);
    ev[1] = ev_survey(2, "NV", 2, "deltagare_avslut", "d_behov", 4, 1, T_2026_03, &lens[1]);
    ev[2] = ev_survey(3, "NV", 3, "deltagare_avslut", "d_behov", 3, 2, T_2026_03, &lens[2]);
    ev[3] = ev_retraction(4, "NV", 3, &lens[3]);
    uint8_t *b = ev_batch(1, ev, lens, 4, &len);
    ingest_item_t item = s_send(s_key_nv, b, len);
    CHECK_EQ(item.stored, 4);
    ingest_item_clear(&item);
    cell_t c;
    CHECK(s_cell("i1_behov", "NV", cell_period(PERIOD_QUARTER, 2026, 1), 0, &c));
    CHECK_EQ(c.n, 2);
    CHECK_EQ(c.sum, 9);
    CHECK_EQ(c.units, 2);
    /* Integrated-mode cell held only the retracted answer: gone entirely. */
    CHECK(!s_cell("i1_behov", "NV", cell_period(PERIOD_QUARTER, 2026, 1), cell_slice(SLICE_MODE, 2), &c));
    /* Retracting again, or retracting an unknown event, is refused. */
    free(ev[3]);
    ev[3] = ev_retraction(5, "NV", 3, &lens[3]);
    uint8_t *again = ev_batch(2, &ev[3], &lens[3], 1, &len);
    item = s_send(s_key_nv, again, len);
    CHECK_EQ(item.verdicts[0].code, FINSAM__V1__REJECT_CODE__REJECT_UNKNOWN_TARGET);
    ingest_item_clear(&item);
    free(again);
    for (int i = 0; i < 4; i++)
        free(ev[i]);
    free(b);
    s_verify_rebuild();
    s_teardown();
}

static void test_paired_step_change(void)
{
    s_setup();
    uint8_t *ev[4];
    size_t lens[4], len;
    /* Person 1: entry job seeking on social assistance (step 1), exit in
     * unsubsidised work with a wage (step 5): moved +4. Person 2: 1 -> 1. */
    ev[0] = ev_status(1, "NV", 1, FINSAM__V1__PHASE__PHASE_ENTRY, FINSAM__V1__OCCUPATION__OCC_JOB_SEEKING,
                      FINSAM__V1__INCOME__INC_SOCIAL_ASSISTANCE, 2, T_2026_03 - 86400 * 60, &lens[0]);
    ev[1] = ev_status(2, "NV", 1, FINSAM__V1__PHASE__PHASE_EXIT, FINSAM__V1__OCCUPATION__OCC_WORK,
                      FINSAM__V1__INCOME__INC_WAGE, 2, T_2026_03, &lens[1]);
    ev[2] = ev_status(3, "NV", 2, FINSAM__V1__PHASE__PHASE_EXIT, FINSAM__V1__OCCUPATION__OCC_JOB_SEEKING,
                      FINSAM__V1__INCOME__INC_UNEMPLOYMENT, 2, T_2026_03, &lens[2]);
    ev[3] = ev_status(4, "NV", 2, FINSAM__V1__PHASE__PHASE_ENTRY, FINSAM__V1__OCCUPATION__OCC_JOB_SEEKING,
                      FINSAM__V1__INCOME__INC_UNEMPLOYMENT, 2, T_2026_03 - 86400 * 90, &lens[3]);
    uint8_t *b = ev_batch(1, ev, lens, 4, &len);
    ingest_item_t item = s_send(s_key_nv, b, len);
    CHECK_EQ(item.stored, 4);
    ingest_item_clear(&item);
    cell_t c;
    CHECK(s_cell("i7_steg", "NV", cell_period(PERIOD_YEAR, 2026, 0), 0, &c));
    CHECK_EQ(c.n, 2);
    CHECK_EQ(c.sum, 4);
    CHECK_EQ(c.hits, 1);
    /* Retract person 1's exit: the pair dissolves. */
    uint8_t *r = ev_retraction(5, "NV", 2, &lens[0]);
    uint8_t *rb = ev_batch(2, &r, &lens[0], 1, &len);
    item = s_send(s_key_nv, rb, len);
    CHECK_EQ(item.stored, 1);
    ingest_item_clear(&item);
    CHECK(s_cell("i7_steg", "NV", cell_period(PERIOD_YEAR, 2026, 0), 0, &c));
    CHECK_EQ(c.n, 1);
    CHECK_EQ(c.sum, 0);
    CHECK_EQ(c.hits, 0);
    for (int i = 0; i < 4; i++)
        free(ev[i]);
    free(b);
    free(r);
    free(rb);
    s_verify_rebuild();
    s_teardown();
}

/* units counts distinct people: one person answering in two months of a
 * quarter, in two insats modes, is one unit of the quarter and of "all". */
static void test_units_are_distinct_people(void)
{
    s_setup();
    const int64_t jan = 1767873600, feb = jan + 31 * 86400; /* 2026-01-08, 2026-02-08 */
    uint8_t *ev[3];
    size_t lens[3], len;
    ev[0] = ev_survey(1, "NV", 7, "deltagare_pagaende", "d_behov", 3, 1, jan, &lens[0]);
    ev[1] = ev_survey(2, "NV", 7, "deltagare_avslut", "d_behov", 5, 2, feb, &lens[1]);
    ev[2] = ev_survey(3, "NV", 8, "deltagare_avslut", "d_behov", 4, 2, feb, &lens[2]);
    uint8_t *b = ev_batch(1, ev, lens, 3, &len);
    ingest_item_t item = s_send(s_key_nv, b, len);
    CHECK_EQ(item.stored, 3);
    ingest_item_clear(&item);
    uint32_t q1 = cell_period(PERIOD_QUARTER, 2026, 1), y = cell_period(PERIOD_YEAR, 2026, 0),
             m1 = cell_period(PERIOD_MONTH, 2026, 1), m2 = cell_period(PERIOD_MONTH, 2026, 2);
    cell_t c;
    CHECK(s_cell("i1_behov", "NV", q1, 0, &c));
    CHECK_EQ(c.n, 3);
    CHECK_EQ(c.units, 2);
    CHECK(s_cell("i1_behov", "NV", y, 0, &c));
    CHECK_EQ(c.units, 2);
    CHECK(s_cell("i1_behov", "NV", q1, cell_slice(SLICE_MODE, 1), &c));
    CHECK_EQ(c.units, 1);
    CHECK(s_cell("i1_behov", "NV", q1, cell_slice(SLICE_MODE, 2), &c));
    CHECK_EQ(c.units, 2);
    CHECK(s_cell("i1_behov", "NV", m1, 0, &c));
    CHECK_EQ(c.units, 1);
    CHECK(s_cell("i1_behov", "NV", m2, 0, &c));
    CHECK_EQ(c.units, 2);
    /* Retract person 7's February answer: still in the quarter via January. */
    uint8_t *r = ev_retraction(4, "NV", 2, &lens[0]);
    uint8_t *rb = ev_batch(2, &r, &lens[0], 1, &len);
    item = s_send(s_key_nv, rb, len);
    CHECK_EQ(item.stored, 1);
    ingest_item_clear(&item);
    CHECK(s_cell("i1_behov", "NV", q1, 0, &c));
    CHECK_EQ(c.n, 2);
    CHECK_EQ(c.units, 2);
    CHECK(s_cell("i1_behov", "NV", q1, cell_slice(SLICE_MODE, 2), &c));
    CHECK_EQ(c.units, 1);
    CHECK(s_cell("i1_behov", "NV", m2, 0, &c));
    CHECK_EQ(c.units, 1);
    for (int i = 0; i < 3; i++)
        free(ev[i]);
    free(b);
    free(r);
    free(rb);
    s_verify_rebuild();
    s_teardown();
}

/* Gender and age-band slices count people the same way. */
static void test_gender_and_age_slices(void)
{
    s_setup();
    const int64_t jan = 1767873600, feb = jan + 31 * 86400;
    uint8_t *ev[3];
    size_t lens[3], len;
    ev_gender = FINSAM__V1__GENDER__GENDER_WOMAN;
    ev_age = FINSAM__V1__AGE_BAND__AGE_30_49;
    ev[0] = ev_survey(1, "NV", 7, "deltagare_pagaende", "d_behov", 3, 1, jan, &lens[0]);
    ev[1] = ev_survey(2, "NV", 7, "deltagare_avslut", "d_behov", 5, 2, feb, &lens[1]);
    ev_gender = FINSAM__V1__GENDER__GENDER_MAN;
    ev_age = 0;
    ev[2] = ev_survey(3, "NV", 8, "deltagare_avslut", "d_behov", 4, 2, feb, &lens[2]);
    ev_gender = ev_age = 0;
    uint8_t *b = ev_batch(1, ev, lens, 3, &len);
    ingest_item_t item = s_send(s_key_nv, b, len);
    CHECK_EQ(item.stored, 3);
    ingest_item_clear(&item);
    uint32_t q1 = cell_period(PERIOD_QUARTER, 2026, 1);
    cell_t c;
    CHECK(s_cell("i1_behov", "NV", q1, cell_slice(SLICE_GENDER, FINSAM__V1__GENDER__GENDER_WOMAN), &c));
    CHECK_EQ(c.n, 2);
    CHECK_EQ(c.units, 1);
    CHECK(s_cell("i1_behov", "NV", q1, cell_slice(SLICE_GENDER, FINSAM__V1__GENDER__GENDER_MAN), &c));
    CHECK_EQ(c.units, 1);
    CHECK(s_cell("i1_behov", "NV", q1, cell_slice(SLICE_AGE, FINSAM__V1__AGE_BAND__AGE_30_49), &c));
    CHECK_EQ(c.n, 2);
    CHECK_EQ(c.units, 1);
    /* No age given: no age cell for person 8. */
    CHECK(!s_cell("i1_behov", "NV", q1, cell_slice(SLICE_AGE, FINSAM__V1__AGE_BAND__AGE_16_29), &c));
    uint16_t parsed;
    char name[32];
    cell_slice_format(name, sizeof name, cell_slice(SLICE_GENDER, FINSAM__V1__GENDER__GENDER_WOMAN));
    CHECK(!strcmp(name, "gender=woman") && cell_slice_parse("age=30-49", &parsed) == 0 &&
          parsed == cell_slice(SLICE_AGE, FINSAM__V1__AGE_BAND__AGE_30_49));
    /* Retract person 7's January answer: still a woman 30-49 in the quarter. */
    uint8_t *r = ev_retraction(4, "NV", 1, &lens[0]);
    uint8_t *rb = ev_batch(2, &r, &lens[0], 1, &len);
    item = s_send(s_key_nv, rb, len);
    ingest_item_clear(&item);
    CHECK(s_cell("i1_behov", "NV", q1, cell_slice(SLICE_GENDER, FINSAM__V1__GENDER__GENDER_WOMAN), &c));
    CHECK_EQ(c.n, 1);
    CHECK_EQ(c.units, 1);
    for (int i = 0; i < 3; i++)
        free(ev[i]);
    free(b);
    free(r);
    free(rb);
    s_verify_rebuild();
    s_teardown();
}

/* Sends one event alone (and frees it); returns its verdict code. The
 * length is passed by address, read once the event is built:
 * s_send_one(key, ev_survey(..., &len), &len, NULL). */
static int s_send_one(const char *key, uint8_t *ev, const size_t *evlenp, bool *duplicate)
{
    size_t len, evlen = *evlenp;
    uint8_t *b = ev_batch(1, &ev, &evlen, 1, &len);
    ingest_item_t item = s_send(key, b, len);
    CHECK_EQ(item.batch_error, 0);
    int code = item.verdicts[0].code;
    if (duplicate)
        *duplicate = item.verdicts[0].duplicate;
    ingest_item_clear(&item);
    free(b);
    free(ev);
    return code;
}

/* The stored event at seq, decoded (free it). */
static event_msg_t *s_stored(uint64_t seq, uint8_t **copy, size_t *copylen)
{
    MDB_txn *txn;
    CHECK(store_read(ledger_store(s_ledger), &txn) == 0);
    const uint8_t *bytes;
    size_t len;
    CHECK(ledger_get(txn, s_ledger, seq, &bytes, &len, NULL) == 0);
    event_msg_t *ev;
    char why[160];
    CHECK(codec_decode_event(bytes, len, &ev, why, sizeof why) == 0);
    if (copy) {
        *copy = malloc(len);
        memcpy(*copy, bytes, len);
        *copylen = len;
    }
    store_read_end(ledger_store(s_ledger), txn);
    return ev;
}

/* ---- paired measures: episodes and slices ---------------------------- */

#define T_2026_01 (T_2026_03 - 64 * 86400)  /* 2026-01-08 */
#define T_2026_05 (T_2026_03 + 61 * 86400)  /* 2026-05-13 */
#define T_2026_08 (T_2026_03 + 153 * 86400) /* 2026-08-13 */

/* A status observation of person `person` in NV, integrated mode; steps:
 * job seeking 1, work training 2, subsidised work 3, work with a wage 5. */
static int s_status_one(uint32_t n, uint32_t person, int phase, int occupation, int income, int64_t when)
{
    size_t len;
    return s_send_one(s_key_nv, ev_status(n, "NV", person, phase, occupation, income, 2, when, &len), &len,
                      NULL);
}

#define ENTRY FINSAM__V1__PHASE__PHASE_ENTRY
#define EXIT FINSAM__V1__PHASE__PHASE_EXIT
#define STEP1 FINSAM__V1__OCCUPATION__OCC_JOB_SEEKING, FINSAM__V1__INCOME__INC_UNEMPLOYMENT
#define STEP2 FINSAM__V1__OCCUPATION__OCC_WORK_TRAINING, FINSAM__V1__INCOME__INC_UNEMPLOYMENT
#define STEP3 FINSAM__V1__OCCUPATION__OCC_SUBSIDISED_WORK, FINSAM__V1__INCOME__INC_WAGE
#define STEP5 FINSAM__V1__OCCUPATION__OCC_WORK, FINSAM__V1__INCOME__INC_WAGE

/* The i7_steg cell of NV for a period and slice: n pairs, sum of step
 * changes, units people (all 0 when the cell does not exist). */
static cell_t s_steg(uint32_t period, uint16_t slice)
{
    cell_t c;
    s_cell("i7_steg", "NV", period, slice, &c);
    return c;
}

/* A person who re-enters after an exit starts a new episode: the finished
 * insats keeps its step change (the bug: the latest entry, after the exit,
 * rewrote it). Retracting either side of an episode, and correcting an
 * entry after its exit was logged, keep each episode to itself. */
static void test_reentry_keeps_finished_episode(void)
{
    s_setup();
    uint32_t y = cell_period(PERIOD_YEAR, 2026, 0), q1 = cell_period(PERIOD_QUARTER, 2026, 1),
             q2 = cell_period(PERIOD_QUARTER, 2026, 2), q3 = cell_period(PERIOD_QUARTER, 2026, 3);
    /* Person 1, episode 1: entry January step 1, exit March step 5. */
    CHECK_EQ(s_status_one(1, 1, ENTRY, STEP1, T_2026_01), 0);
    CHECK_EQ(s_status_one(2, 1, EXIT, STEP5, T_2026_03), 0);
    cell_t c = s_steg(q1, 0);
    CHECK(c.n == 1 && c.sum == 4 && c.hits == 1 && c.units == 1);
    /* Re-entry in May at step 3: the March exit is not paired with it. */
    CHECK_EQ(s_status_one(3, 1, ENTRY, STEP3, T_2026_05), 0);
    c = s_steg(q1, 0);
    CHECK(c.n == 1 && c.sum == 4 && c.hits == 1 && c.units == 1);
    CHECK(!s_cell("i7_steg", "NV", q2, 0, &c));
    /* Person 2 re-enters in the month of the exit, logged after it: the
     * log order decides, the exit keeps its January entry. */
    CHECK_EQ(s_status_one(4, 2, ENTRY, STEP1, T_2026_01), 0);
    CHECK_EQ(s_status_one(5, 2, EXIT, STEP3, T_2026_03), 0);
    CHECK_EQ(s_status_one(6, 2, ENTRY, STEP5, T_2026_03), 0);
    c = s_steg(q1, 0);
    CHECK(c.n == 2 && c.sum == 4 + 2 && c.hits == 2 && c.units == 2);
    /* Person 1, episode 2: exit in August at step 5, from May's step 3. */
    CHECK_EQ(s_status_one(7, 1, EXIT, STEP5, T_2026_08), 0);
    c = s_steg(q3, 0);
    CHECK(c.n == 1 && c.sum == 2 && c.units == 1);
    c = s_steg(y, 0);
    CHECK(c.n == 3 && c.sum == 4 + 2 + 2 && c.units == 2); /* two pairs of person 1 are one person */
    CHECK(s_steg(q1, 0).sum == 6);
    s_verify_rebuild();

    /* Retract episode 2's exit: episode 1 untouched, episode 2 open. */
    size_t len;
    CHECK_EQ(s_send_one(s_key_nv, ev_retraction(8, "NV", 7, &len), &len, NULL), 0);
    CHECK(!s_cell("i7_steg", "NV", q3, 0, &c));
    c = s_steg(q1, 0);
    CHECK(c.n == 2 && c.sum == 6 && c.units == 2);
    /* Retract person 1's first entry: the March exit pairs with nothing
     * (no entry at or before it); person 2's episode stays. */
    CHECK_EQ(s_send_one(s_key_nv, ev_retraction(9, "NV", 1, &len), &len, NULL), 0);
    c = s_steg(q1, 0);
    CHECK(c.n == 1 && c.sum == 2 && c.units == 1);
    s_verify_rebuild();

    /* Person 3: entry and exit in March, then the entry is corrected (a
     * new event, logged after the exit): the correction keeps the
     * original's place, the pair stays, with the corrected step. */
    CHECK_EQ(s_status_one(10, 3, ENTRY, STEP1, T_2026_03), 0);
    CHECK_EQ(s_status_one(11, 3, EXIT, STEP5, T_2026_03), 0);
    c = s_steg(q1, 0);
    CHECK(c.n == 2 && c.sum == 2 + 4);
    CHECK_EQ(s_send_one(s_key_nv,
                        ev_superseding(ev_status(12, "NV", 3, ENTRY, STEP2, 2, T_2026_03, &len), &len, 10),
                        &len, NULL),
             0);
    c = s_steg(q1, 0);
    CHECK(c.n == 2 && c.sum == 2 + 3 && c.units == 2);
    /* A correction of the correction still sits where the first report did. */
    CHECK_EQ(s_send_one(s_key_nv,
                        ev_superseding(ev_status(13, "NV", 3, ENTRY, STEP3, 2, T_2026_03, &len), &len, 12),
                        &len, NULL),
             0);
    c = s_steg(q1, 0);
    CHECK(c.n == 2 && c.sum == 2 + 2 && c.units == 2);
    s_verify_rebuild();
    s_teardown();
}

/* Paired measures are split by gender and age band (and mode) like every
 * participant measure: a pair counts in the slices of the observation that
 * completes it (the exit, the exit survey, the follow-up). */
static void test_paired_measures_in_every_slice(void)
{
    s_setup();
    uint32_t y = cell_period(PERIOD_YEAR, 2026, 0);
    uint16_t woman = cell_slice(SLICE_GENDER, FINSAM__V1__GENDER__GENDER_WOMAN),
             man = cell_slice(SLICE_GENDER, FINSAM__V1__GENDER__GENDER_MAN),
             a16 = cell_slice(SLICE_AGE, FINSAM__V1__AGE_BAND__AGE_16_29),
             a30 = cell_slice(SLICE_AGE, FINSAM__V1__AGE_BAND__AGE_30_49),
             a50 = cell_slice(SLICE_AGE, FINSAM__V1__AGE_BAND__AGE_50_64),
             integrated = cell_slice(SLICE_MODE, 2);
    /* Person 1, a woman who turns 50 during the insats: +4 steps. */
    ev_gender = FINSAM__V1__GENDER__GENDER_WOMAN;
    ev_age = FINSAM__V1__AGE_BAND__AGE_30_49;
    CHECK_EQ(s_status_one(1, 1, ENTRY, STEP1, T_2026_01), 0);
    ev_age = FINSAM__V1__AGE_BAND__AGE_50_64;
    CHECK_EQ(s_status_one(2, 1, EXIT, STEP5, T_2026_03), 0);
    /* Person 2, a man of no stated age: +1 step, and two episodes of person
     * 3, a woman 16-29: +2 and +3. */
    ev_gender = FINSAM__V1__GENDER__GENDER_MAN;
    ev_age = 0;
    CHECK_EQ(s_status_one(3, 2, ENTRY, STEP1, T_2026_01), 0);
    CHECK_EQ(s_status_one(4, 2, EXIT, STEP2, T_2026_03), 0);
    ev_gender = FINSAM__V1__GENDER__GENDER_WOMAN;
    ev_age = FINSAM__V1__AGE_BAND__AGE_16_29;
    CHECK_EQ(s_status_one(5, 3, ENTRY, STEP1, T_2026_01), 0);
    CHECK_EQ(s_status_one(6, 3, EXIT, STEP3, T_2026_03), 0);
    CHECK_EQ(s_status_one(7, 3, ENTRY, STEP2, T_2026_05), 0);
    CHECK_EQ(s_status_one(8, 3, EXIT, STEP5, T_2026_08), 0);
    /* Person 3 also answers the ongoing and exit surveys (i2: 2 -> 4) and
     * leaves in work, still in work six months on (i11). */
    size_t len;
    CHECK_EQ(s_send_one(s_key_nv,
                        ev_survey(9, "NV", 3, "deltagare_pagaende", "d_inflytande", 2, 1, T_2026_01, &len),
                        &len, NULL),
             0);
    CHECK_EQ(s_send_one(s_key_nv,
                        ev_survey(10, "NV", 3, "deltagare_avslut", "d_inflytande", 4, 1, T_2026_03, &len),
                        &len, NULL),
             0);
    CHECK_EQ(s_status_one(11, 3, FINSAM__V1__PHASE__PHASE_FOLLOWUP_6, STEP5, T_2026_08 + 20 * 86400), 0);
    ev_gender = ev_age = 0;

    cell_t c;
    c = s_steg(y, 0);
    CHECK(c.n == 4 && c.sum == 4 + 1 + 2 + 3 && c.units == 3);
    c = s_steg(y, woman);
    CHECK(c.n == 3 && c.sum == 4 + 2 + 3 && c.units == 2);
    c = s_steg(y, man);
    CHECK(c.n == 1 && c.sum == 1 && c.units == 1);
    c = s_steg(y, a50); /* the exit's age band, not the entry's */
    CHECK(c.n == 1 && c.sum == 4 && c.units == 1);
    CHECK(!s_cell("i7_steg", "NV", y, a30, &c));
    c = s_steg(y, a16);
    CHECK(c.n == 2 && c.sum == 5 && c.units == 1);
    c = s_steg(y, integrated);
    CHECK(c.n == 4 && c.units == 3);
    CHECK(s_cell("i2_inflytande_change", "NV", y, woman, &c) && c.n == 1 && c.sum == 2 && c.units == 1);
    CHECK(s_cell("i2_inflytande_change", "NV", y, a16, &c) && c.n == 1 && c.sum == 2);
    CHECK(s_cell("i2_inflytande_change", "NV", y, cell_slice(SLICE_MODE, 1), &c) && c.n == 1);
    CHECK(!s_cell("i2_inflytande_change", "NV", y, man, &c));
    /* i11: the follow-up pairs with the August exit (in work). */
    CHECK(s_cell("i11_kvar_6m", "NV", y, woman, &c) && c.n == 1 && c.hits == 1 && c.units == 1);
    CHECK(s_cell("i11_kvar_6m", "NV", y, a16, &c) && c.n == 1 && c.hits == 1);

    /* Retract person 1's exit: gone from every slice. */
    CHECK_EQ(s_send_one(s_key_nv, ev_retraction(12, "NV", 2, &len), &len, NULL), 0);
    CHECK(!s_cell("i7_steg", "NV", y, a50, &c));
    c = s_steg(y, woman);
    CHECK(c.n == 2 && c.sum == 5 && c.units == 1);
    s_verify_rebuild();
    s_teardown();
}

static void test_dedupe_is_per_forbund(void)
{
    s_setup();
    size_t len;
    /* The same id from two förbund: two events. */
    CHECK_EQ(s_send_one(s_key_nv, ev_survey(1, "NV", 1, "deltagare_avslut", "d_behov", 4, 1, T_2026_03, &len),
                        &len, NULL),
             0);
    bool dup = true;
    CHECK_EQ(s_send_one(s_key_hbs,
                        ev_survey(1, "HBS", 1, "deltagare_avslut", "d_behov", 4, 1, T_2026_03, &len), &len,
                        &dup),
             0);
    CHECK(!dup);
    CHECK_EQ(ledger_next_seq(s_ledger), 3);
    /* Each resend is a duplicate of its own förbund's event. */
    CHECK_EQ(s_send_one(s_key_hbs,
                        ev_survey(1, "HBS", 1, "deltagare_avslut", "d_behov", 4, 1, T_2026_03, &len), &len,
                        &dup),
             0);
    CHECK(dup);
    CHECK_EQ(ledger_next_seq(s_ledger), 3);
    cell_t c;
    CHECK(s_cell("i1_behov", "HBS", cell_period(PERIOD_YEAR, 2026, 0), 0, &c));
    CHECK_EQ(c.n, 1);
    /* A retraction finds its target in its own förbund only. */
    CHECK_EQ(s_send_one(s_key_hbs, ev_retraction(2, "HBS", 1, &len), &len, NULL), 0);
    CHECK(!s_cell("i1_behov", "HBS", cell_period(PERIOD_YEAR, 2026, 0), 0, &c));
    CHECK(s_cell("i1_behov", "NV", cell_period(PERIOD_YEAR, 2026, 0), 0, &c));
    CHECK_EQ(c.n, 1);
    s_verify_rebuild();
    s_teardown();
}

static void test_same_id_other_bytes_is_a_conflict(void)
{
    s_setup();
    size_t len;
    CHECK_EQ(s_send_one(s_key_nv, ev_survey(1, "NV", 1, "deltagare_avslut", "d_behov", 4, 1, T_2026_03, &len),
                        &len, NULL),
             0);
    /* Same id, another answer: refused with a reason, nothing changes. */
    uint8_t *other = ev_survey(1, "NV", 1, "deltagare_avslut", "d_behov", 5, 1, T_2026_03, &len);
    uint8_t *b = ev_batch(2, &other, &len, 1, &len);
    ingest_item_t item = s_send(s_key_nv, b, len);
    CHECK_EQ(item.rejected, 1);
    CHECK_EQ(item.verdicts[0].code, FINSAM__V1__REJECT_CODE__REJECT_CONFLICT);
    CHECK(strstr(item.verdicts[0].text, "different content") && strstr(item.verdicts[0].text, "supersedes"));
    size_t acklen;
    uint8_t *ack = ingest_ack(&item, &acklen);
    ack_msg_t *a = codec_decode_ack(ack, acklen);
    CHECK(a && a->n_accepted == 0 && a->n_rejected == 1 && a->rejected[0]->code == 10);
    CHECK(!strcmp(codec_reject_name(a->rejected[0]->code), "conflict"));
    codec_free_ack(&a);
    free(ack);
    ingest_item_clear(&item);
    free(b);
    free(other);
    cell_t c;
    CHECK(s_cell("i1_behov", "NV", cell_period(PERIOD_YEAR, 2026, 0), 0, &c));
    CHECK(c.n == 1 && c.sum == 4);
    CHECK_EQ(ledger_next_seq(s_ledger), 2);
    /* Counted per agent and reason. */
    MDB_txn *txn;
    ledger_agent_t rec;
    CHECK(store_read(ledger_store(s_ledger), &txn) == 0);
    CHECK(ledger_agent_get(txn, s_ledger, s_key_nv, &rec) == 0);
    store_read_end(ledger_store(s_ledger), txn);
    CHECK(FINSAM__V1__REJECT_CODE__REJECT_CONFLICT < LEDGER_REJECT_SLOTS);
    CHECK_EQ(rec.rejects[FINSAM__V1__REJECT_CODE__REJECT_CONFLICT], 1);
    CHECK_EQ(ingest_stats(s_ingest)->rejected[FINSAM__V1__REJECT_CODE__REJECT_CONFLICT], 1);
    /* The exact bytes again: an idempotent duplicate. */
    bool dup = false;
    CHECK_EQ(s_send_one(s_key_nv, ev_survey(1, "NV", 1, "deltagare_avslut", "d_behov", 4, 1, T_2026_03, &len),
                        &len, &dup),
             0);
    CHECK(dup);
    CHECK_EQ(ledger_next_seq(s_ledger), 2);
    s_verify_rebuild();
    s_teardown();
}

static void test_erasure_rules(void)
{
    s_setup();
    size_t len;
    uint8_t *e1 = ev_survey(1, "NV", 1, "deltagare_avslut", "d_behov", 5, 1, T_2026_03 + 3600, &len);
    size_t e1len = len;
    uint8_t *e1copy = malloc(len);
    memcpy(e1copy, e1, len);
    CHECK_EQ(s_send_one(s_key_nv, e1, &e1len, NULL), 0); /* seq 1 */
    CHECK_EQ(s_send_one(s_key_nv, ev_survey(2, "NV", 2, "deltagare_avslut", "d_behov", 4, 1, T_2026_03, &len),
                        &len, NULL),
             0); /* seq 2 */
    CHECK_EQ(s_send_one(s_key_hbs,
                        ev_survey(3, "HBS", 3, "deltagare_avslut", "d_behov", 3, 1, T_2026_03, &len), &len,
                        NULL),
             0); /* seq 3 */
    char path[600];
    snprintf(path, sizeof path, "%s/data.mdb", s_ledger_dir);
    CHECK(tu_count_bytes_in_file(path, e1copy, e1len) >= 1);

    /* NV erases event 1: subtracted, a tombstone in its place, the bytes
     * out of data.mdb. */
    CHECK_EQ(s_send_one(s_key_nv, ev_erasure(10, "NV", 1, &len), &len, NULL), 0); /* seq 4 */
    cell_t c;
    CHECK(s_cell("i1_behov", "NV", cell_period(PERIOD_YEAR, 2026, 0), 0, &c));
    CHECK(c.n == 1 && c.sum == 4 && c.units == 1);
    event_msg_t *t = s_stored(1, NULL, NULL);
    CHECK(erase_is_tombstone(t) && !strcmp(codec_event_kind(t), "erased") && t->erased->by_seq == 4);
    CHECK(!strcmp(t->forbund, "NV") && t->id.data[15] == 1 &&
          t->occurred_at == 1772362800); /* 2026-03-01 12:00 */
    codec_free_event(&t);
    t = s_stored(4, NULL, NULL);
    CHECK(!strcmp(codec_event_kind(t), "erasure"));
    codec_free_event(&t);
    CHECK_EQ(tu_count_bytes_in_file(path, e1copy, e1len), 0);
    CHECK_EQ(ledger_next_seq(s_ledger), 5);

    /* What cannot be erased or done to an erased event. */
    CHECK_EQ(s_send_one(s_key_nv, ev_erasure(11, "NV", 1, &len), &len, NULL),
             FINSAM__V1__REJECT_CODE__REJECT_UNKNOWN_TARGET); /* already erased */
    CHECK_EQ(s_send_one(s_key_nv, ev_erasure(12, "NV", 3, &len), &len, NULL),
             FINSAM__V1__REJECT_CODE__REJECT_UNKNOWN_TARGET); /* HBS's event */
    CHECK_EQ(s_send_one(s_key_nv, ev_retraction(13, "NV", 1, &len), &len, NULL),
             FINSAM__V1__REJECT_CODE__REJECT_UNKNOWN_TARGET); /* nothing to retract */
    CHECK_EQ(s_send_one(s_key_nv, ev_erasure(14, "NV", 14, &len), &len, NULL),
             FINSAM__V1__REJECT_CODE__REJECT_INVALID_FIELD); /* names itself */
    CHECK_EQ(s_send_one(s_key_nv, ev_erasure(15, "NV", 4, &len), &len, NULL),
             FINSAM__V1__REJECT_CODE__REJECT_UNKNOWN_TARGET); /* an erasure */
    uint8_t *op = ev_erasure(16, "NV", 2, &len);
    Finsam__V1__Event *opev = finsam__v1__event__unpack(NULL, len, op);
    free(op);
    opev->erasure->has_by_operator = opev->erasure->by_operator = 1;
    op = ev_pack(opev, &len);
    finsam__v1__event__free_unpacked(opev, NULL);
    CHECK_EQ(s_send_one(s_key_nv, op, &len, NULL), FINSAM__V1__REJECT_CODE__REJECT_INVALID_FIELD);
    /* A tombstone from an agent. */
    uint8_t *tomb;
    size_t tomblen;
    codec_free_event(&t);
    t = s_stored(1, &tomb, &tomblen);
    codec_free_event(&t);
    CHECK_EQ(s_send_one(s_key_hbs, tomb, &tomblen, NULL), FINSAM__V1__REJECT_CODE__REJECT_FORBIDDEN);
    t = s_stored(1, &tomb, &tomblen);
    codec_free_event(&t);
    Finsam__V1__Event *tev = finsam__v1__event__unpack(NULL, tomblen, tomb);
    free(tomb);
    tev->id.data[15] = 99; /* a new id, so it is not a resend */
    tomb = ev_pack(tev, &tomblen);
    finsam__v1__event__free_unpacked(tev, NULL);
    CHECK_EQ(s_send_one(s_key_nv, tomb, &tomblen, NULL), FINSAM__V1__REJECT_CODE__REJECT_UNKNOWN_KIND);
    CHECK_EQ(ledger_next_seq(s_ledger), 5);

    /* The erased event sent again, exactly or not: acked, nothing stored
     * (its content is gone, so it cannot be compared). */
    bool dup = false;
    uint8_t *again = malloc(e1len);
    memcpy(again, e1copy, e1len);
    CHECK_EQ(s_send_one(s_key_nv, again, &e1len, &dup), 0);
    CHECK(dup);
    CHECK_EQ(s_send_one(s_key_nv, ev_survey(1, "NV", 1, "deltagare_avslut", "d_behov", 2, 1, T_2026_03, &len),
                        &len, &dup),
             0);
    CHECK(dup);
    CHECK_EQ(ledger_next_seq(s_ledger), 5);

    /* A retracted event can still be erased (its bytes are there); nothing
     * more is subtracted. */
    CHECK_EQ(s_send_one(s_key_nv, ev_retraction(20, "NV", 2, &len), &len, NULL), 0); /* seq 5 */
    CHECK(!s_cell("i1_behov", "NV", cell_period(PERIOD_YEAR, 2026, 0), 0, &c));
    CHECK_EQ(s_send_one(s_key_nv, ev_erasure(21, "NV", 20, &len), &len, NULL),
             FINSAM__V1__REJECT_CODE__REJECT_UNKNOWN_TARGET);                     /* a retraction */
    CHECK_EQ(s_send_one(s_key_nv, ev_erasure(22, "NV", 2, &len), &len, NULL), 0); /* seq 6 */
    CHECK(!s_cell("i1_behov", "NV", cell_period(PERIOD_YEAR, 2026, 0), 0, &c));

    /* The site fixes the erased row and sends it as a correction: stored,
     * nothing subtracted. */
    uint8_t *fixed = ev_survey(30, "NV", 1, "deltagare_avslut", "d_behov", 3, 1, T_2026_03, &len);
    fixed = ev_superseding(fixed, &len, 1);
    CHECK_EQ(s_send_one(s_key_nv, fixed, &len, NULL), 0); /* seq 7 */
    CHECK(s_cell("i1_behov", "NV", cell_period(PERIOD_YEAR, 2026, 0), 0, &c));
    CHECK(c.n == 1 && c.sum == 3);

    /* An erased correction: what it replaced stays subtracted. */
    CHECK_EQ(s_send_one(s_key_nv,
                        ev_survey(40, "NV", 4, "deltagare_avslut", "d_behov", 5, 1, T_2026_03, &len), &len,
                        NULL),
             0);
    uint8_t *c41 = ev_survey(41, "NV", 4, "deltagare_avslut", "d_behov", 1, 1, T_2026_03, &len);
    c41 = ev_superseding(c41, &len, 40);
    CHECK_EQ(s_send_one(s_key_nv, c41, &len, NULL), 0);
    CHECK_EQ(s_send_one(s_key_nv, ev_erasure(42, "NV", 41, &len), &len, NULL), 0);
    CHECK(s_cell("i1_behov", "NV", cell_period(PERIOD_YEAR, 2026, 0), 0, &c));
    CHECK(c.n == 1 && c.sum == 3);
    t = s_stored(9, NULL, NULL);
    CHECK(erase_is_tombstone(t) && t->has_supersedes && t->supersedes.data[15] == 40);
    codec_free_event(&t);
    s_verify_rebuild();
    free(e1copy);
    s_teardown();
}

static void test_random_sequence_matches_rebuild(void)
{
    s_setup();
    srand(42);
    static const char *const items[] = {"d_behov", "d_inflytande", "d_hantera", "d_samordnare", "d_tid"};
    uint32_t next = 1;
    int erasures = 0, conflicts = 0;
    for (int round = 0; round < 40; round++) {
        uint8_t *ev[60];
        size_t lens[60], len;
        int n = 0;
        for (int i = 0; i < 50; i++) {
            int kind = rand() % 10;
            uint32_t person = 1 + (uint32_t) (rand() % 40);
            int64_t when = T_2026_03 - (int64_t) (rand() % 400) * 86400;
            if (kind < 5) {
                const char *item = items[rand() % 5];
                ev_gender = rand() % 4;
                ev_age = rand() % 5;
                int value = !strcmp(item, "d_samordnare") ? rand() % 3 : rand() % 6;
                ev[n] =
                    ev_survey(next++, "NV", person, rand() % 2 ? "deltagare_avslut" : "deltagare_pagaende",
                              item, value, 1 + rand() % 2, when, &lens[n]);
                /* d_tid exists only at exit: rejected at pagaende, also fine */
            } else if (kind < 8) {
                ev[n] = ev_status(next++, "NV", person, 1 + rand() % 4, 1 + rand() % 7, 1 + rand() % 8,
                                  1 + rand() % 2, when, &lens[n]);
            } else if (kind == 8 && next > 2) {
                uint32_t target = 1 + (uint32_t) (rand() % (int) (next - 1));
                int how = rand() % 4;
                if (how == 0)
                    ev[n] = ev_erasure(next++, "NV", target, &lens[n]);
                else if (how == 1) /* a correction: keeps the target's place in episodes */
                    ev[n] = ev_superseding(ev_status(next++, "NV", person, 1 + rand() % 4, 1 + rand() % 7,
                                                     1 + rand() % 8, 1 + rand() % 2, when, &lens[n]),
                                           &lens[n], target);
                else
                    ev[n] = ev_retraction(next++, "NV", target, &lens[n]);
            } else {
                /* A recent event id again: a duplicate if the bytes are the
                 * same, a conflict if not, acked if that event was erased. */
                uint32_t dup = next > 1 ? next - 1 : 1;
                ev[n] = ev_survey(dup, "NV", dup, "deltagare_avslut", "d_behov", 3, 1, T_2026_03, &lens[n]);
            }
            n++;
        }
        uint8_t *b = ev_batch((uint64_t) round, ev, lens, (size_t) n, &len);
        ingest_item_t item = s_send(s_key_nv, b, len);
        CHECK_EQ(item.batch_error, 0);
        for (int i = 0; i < n; i++) {
            erasures += item.verdicts[i].seq && !strcmp(item.verdicts[i].kind, "erasure");
            conflicts += item.verdicts[i].code == FINSAM__V1__REJECT_CODE__REJECT_CONFLICT;
        }
        ingest_item_clear(&item);
        free(b);
        for (int i = 0; i < n; i++)
            free(ev[i]);
    }
    CHECK(erasures > 10 && conflicts > 10);
    s_verify_rebuild();
    s_teardown();
}

/* Stores one event and only that: the cells do not follow (the
 * aggregator has not got to it yet). Returns the verdict's code. */
static int s_store_only(const char *key, uint8_t *ev, const size_t *evlenp)
{
    size_t evlen = *evlenp;
    size_t len;
    uint8_t *b = ev_batch(1, &ev, &evlen, 1, &len);
    ingest_item_t item = {0};
    snprintf(item.agent_key, sizeof item.agent_key, "%s", key);
    item.data = b;
    item.len = len;
    CHECK(ingest_prepare(s_ingest, &item, s_allow));
    CHECK(ingest_commit(s_ingest, &item, 1) == 0);
    int code = item.verdicts[0].code;
    ingest_item_clear(&item);
    free(b);
    free(ev);
    return code;
}

static void s_verify_at(uint64_t position)
{
    rebuild_report_t r;
    char err[256];
    CHECK(rebuild_verify(s_ledger, s_cat, &r, stderr, err, sizeof err) == 0);
    CHECK_EQ(r.differences, 0);
    CHECK_EQ(r.position, position);
}

/* The cells follow the log beside ingest (collector/aggregator.h), and an
 * erasure's tombstone waits until they have passed it (erase.h). Meanwhile
 * the target counts as erased for everything ingest decides, its bytes are
 * still in the log, and the cells equal a rebuild at every step: before
 * the aggregator ran, after it ran and before the tombstone, and after. */
static void test_erasure_waits_for_the_cells(void)
{
    s_setup();
    size_t len;
    uint32_t y2026 = cell_period(PERIOD_YEAR, 2026, 0);
    CHECK_EQ(s_send_one(s_key_nv, ev_survey(1, "NV", 1, "deltagare_avslut", "d_behov", 5, 1, T_2026_03, &len),
                        &len, NULL),
             0); /* seq 1, counted */
    cell_t c;
    CHECK(s_cell("i1_behov", "NV", y2026, 0, &c) && c.n == 1 && c.sum == 5);

    /* Stored, not counted yet: the erasure (seq 2), then what it forbids
     * and what it allows. */
    CHECK_EQ(s_store_only(s_key_nv, ev_erasure(2, "NV", 1, &len), &len), 0);
    event_msg_t *t = s_stored(1, NULL, NULL);
    CHECK(!erase_is_tombstone(t)); /* its bytes stay until the cells passed the erasure */
    codec_free_event(&t);
    CHECK_EQ(s_store_only(s_key_nv, ev_retraction(3, "NV", 1, &len), &len),
             FINSAM__V1__REJECT_CODE__REJECT_UNKNOWN_TARGET);
    CHECK_EQ(s_store_only(s_key_nv, ev_erasure(4, "NV", 1, &len), &len),
             FINSAM__V1__REJECT_CODE__REJECT_UNKNOWN_TARGET);
    uint8_t *fix = ev_survey(5, "NV", 1, "deltagare_avslut", "d_behov", 2, 1, T_2026_03, &len);
    fix = ev_superseding(fix, &len, 1);
    CHECK_EQ(s_store_only(s_key_nv, fix, &len), 0); /* seq 3: new content */
    CHECK_EQ(ledger_next_seq(s_ledger), 4);
    CHECK(s_cell("i1_behov", "NV", y2026, 0, &c) && c.n == 1 && c.sum == 5); /* as of seq 1 */
    s_verify_at(1);

    /* The aggregator: the erasure subtracts event 1 at seq 2, the
     * correction adds itself at seq 3 and subtracts nothing (its target
     * was erased before it). No tombstone yet. */
    uint64_t applied;
    CHECK(replay_follow(s_ledger, s_agg, 0, NULL, NULL, &applied) == 0);
    CHECK(s_cell("i1_behov", "NV", y2026, 0, &c) && c.n == 1 && c.sum == 2);
    t = s_stored(1, NULL, NULL);
    CHECK(!erase_is_tombstone(t));
    codec_free_event(&t);
    s_verify_at(3);

    /* Then the tombstone, and the same cells as a rebuild that finds it. */
    uint64_t finished;
    erase_scrub_report_t r;
    char err[256];
    CHECK(erase_finish(s_ledger, 0, &finished, &r, err, sizeof err) == 0);
    CHECK_EQ(finished, 1);
    t = s_stored(1, NULL, NULL);
    CHECK(erase_is_tombstone(t) && t->erased->by_seq == 2);
    codec_free_event(&t);
    s_verify_at(3);
    CHECK(s_cell("i1_behov", "NV", y2026, 0, &c) && c.n == 1 && c.sum == 2);
    s_teardown();
}

/* rebuild --verify replays one partition of the förbund per core; a
 * förbund is one unit, and the units go largest first to the least loaded
 * partition. Four förbund of 60 events each: no partition replays more
 * than its share of whole förbund (a hash of the names gave three of these
 * four to one of two partitions). */
static void test_rebuild_spreads_forbund(void)
{
    s_setup();
    static const char *const names[4] = {"NV", "VAS", "HBS", "SS"};
    char keys[4][41], dir[600];
    snprintf(dir, sizeof dir, "%s/..", s_ledger_dir);
    snprintf(keys[0], sizeof keys[0], "%s", s_key_nv);
    s_agent_key(dir, "vas", "VAS", keys[1]);
    snprintf(keys[2], sizeof keys[2], "%s", s_key_hbs);
    s_agent_key(dir, "ss", "SS", keys[3]);
    allowlist_reload(s_allow);
    for (int f = 0; f < 4; f++) {
        size_t len;
        uint8_t *b = s_batch_of(1000u * (uint32_t) (f + 1), 60, names[f], &len);
        ingest_item_t item = s_send(keys[f], b, len);
        CHECK_EQ(item.stored, 60);
        ingest_item_clear(&item);
        free(b);
    }
    rebuild_report_t r;
    char err[256];
    CHECK(rebuild_verify(s_ledger, s_cat, &r, stderr, err, sizeof err) == 0);
    CHECK_EQ(r.differences, 0);
    CHECK_EQ(r.events, 240);
    int per = (4 + r.parts - 1) / r.parts; /* whole förbund per partition, at most */
    CHECK(r.busiest <= (uint64_t) per * 60);
    CHECK(r.parts < 2 || r.busiest < 240);
    s_teardown();
}

static const test_case_t s_cases[] = {
    {"rebuild spreads förbund", test_rebuild_spreads_forbund},
    {"duplicates change nothing", test_duplicates_change_nothing},
    {"other forbund rejected", test_other_forbund_rejected},
    {"bad input answered", test_bad_input_answered},
    {"retraction subtracts exactly", test_retraction_subtracts_exactly},
    {"paired step change", test_paired_step_change},
    {"units are distinct people", test_units_are_distinct_people},
    {"gender and age slices", test_gender_and_age_slices},
    {"reentry keeps finished episode", test_reentry_keeps_finished_episode},
    {"paired measures in every slice", test_paired_measures_in_every_slice},
    {"dedupe is per forbund", test_dedupe_is_per_forbund},
    {"same id other bytes is a conflict", test_same_id_other_bytes_is_a_conflict},
    {"erasure rules", test_erasure_rules},
    {"an erasure waits for the cells", test_erasure_waits_for_the_cells},
    {"random sequence matches rebuild", test_random_sequence_matches_rebuild},
};

int main(int argc, char **argv)
{
    CHECK(tz_stockholm_init() == 0);
    log_set_level("error");
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
