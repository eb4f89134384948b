/* approval_test.c: the approval state machine of count/approval.c on a
 * scratch ledger, event by event as ingest applies them: the transitions
 * and their refusals, a year and its halves locked apart, late data by the
 * event's month and by a retraction's target's month, a reopen's history
 * step, the period syntax. (End to end with real processes, SIGKILL and
 * rebuild --verify: tests/e2e/approval_test.c.) */
#include "approval.h"
#include "codec.h"
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

static ledger_t *s_ledger;
static uint64_t s_seq;
static uint8_t s_next_id;

#define MAR_2026 1772366400 /* 2026-03-01 12:00 Stockholm */
#define SEP_2026 1788264000 /* 2026-09-01 12:00 */
#define MAR_2027 1803902400 /* 2027-03-01 12:00 */

static void s_open(void)
{
    char err[256];
    CHECK_EQ(ledger_open_scratch(&s_ledger, tu_tempdir(), err, sizeof err), FIN_OK);
    s_seq = 0;
}

typedef struct {
    const uint8_t *bytes;
    size_t len;
    reject_code_t code;
    char why[256];
} s_apply_t;

/* What ingest does for one event: check an approval, append, apply or
 * note. */
static int s_body(ledger_txn_t *lt, void *arg)
{
    s_apply_t *a = arg;
    event_msg_t *ev;
    char why[160];
    CHECK_EQ(codec_decode_event(a->bytes, a->len, &ev, why, sizeof why), 0);
    a->code = FINSAM__V1__REJECT_CODE__REJECT_NONE;
    int rc = 0;
    if (ev->body_case == FINSAM__V1__EVENT__BODY_APPROVAL &&
        ((rc = approval_check(lt->txn, lt->ledger, ev, &a->code, a->why, sizeof a->why)) || a->code))
        goto out;
    uint64_t seq;
    if ((rc = ledger_append(lt, ev->forbund, ev->id.data, a->bytes, a->len, 1000 * (int64_t) s_seq, &seq)))
        goto out;
    s_seq = seq;
    rc = ev->body_case == FINSAM__V1__EVENT__BODY_APPROVAL
             ? approval_apply(lt->txn, lt->ledger, ev, seq, 1000 * (int64_t) seq)
             : approval_note(lt->txn, lt->ledger, lt->txn, lt->ledger, ev, seq);
out:
    codec_free_event(&ev);
    return rc;
}

static reject_code_t s_event(Finsam__V1__Event *ev, uint8_t id[16])
{
    memset(id, 0, 16);
    id[15] = ++s_next_id;
    id[0] = 0x4e;
    ev->id = (ProtobufCBinaryData){16, id};
    ev->catalogue_version = 1;
    size_t len;
    uint8_t *bytes = codec_pack(&ev->base, &len);
    s_apply_t a = {bytes, len, 0, ""};
    CHECK_EQ(ledger_write(s_ledger, s_body, &a), 0);
    free(bytes);
    return a.code;
}

static reject_code_t s_step(const char *forbund, int action, int year, int half, const char *reason)
{
    Finsam__V1__PeriodApproval pa = FINSAM__V1__PERIOD_APPROVAL__INIT;
    pa.action = action;
    pa.year = (uint32_t) year;
    pa.has_half = half != 0;
    pa.half = (uint32_t) half;
    pa.by = action == 1 ? NULL : "anna";
    pa.reason = (char *) reason;
    Finsam__V1__Event ev = FINSAM__V1__EVENT__INIT;
    ev.forbund = (char *) forbund;
    ev.occurred_at = MAR_2027;
    ev.body_case = FINSAM__V1__EVENT__BODY_APPROVAL;
    ev.approval = &pa;
    uint8_t id[16];
    return s_event(&ev, id);
}

/* An organisation report of forbund at `when`; its id in id. */
static void s_data(const char *forbund, int64_t when, uint8_t id[16])
{
    Finsam__V1__OrganisationReport org = FINSAM__V1__ORGANISATION_REPORT__INIT;
    Finsam__V1__Event ev = FINSAM__V1__EVENT__INIT;
    ev.forbund = (char *) forbund;
    ev.occurred_at = when;
    ev.body_case = FINSAM__V1__EVENT__BODY_ORGANISATION;
    ev.organisation = &org;
    CHECK_EQ(s_event(&ev, id), 0);
}

static void s_retract(const char *forbund, const uint8_t target[16])
{
    Finsam__V1__Retraction r = FINSAM__V1__RETRACTION__INIT;
    r.target_id = (ProtobufCBinaryData){16, (uint8_t *) target};
    Finsam__V1__Event ev = FINSAM__V1__EVENT__INIT;
    ev.forbund = (char *) forbund;
    ev.occurred_at = MAR_2027;
    ev.body_case = FINSAM__V1__EVENT__BODY_RETRACTION;
    ev.retraction = &r;
    uint8_t id[16];
    CHECK_EQ(s_event(&ev, id), 0);
}

static approval_t s_get(const char *forbund, int year, int half)
{
    MDB_txn *txn;
    CHECK_EQ(store_read(ledger_store(s_ledger), &txn), 0);
    approval_t a;
    CHECK_EQ(approval_get(txn, s_ledger, forbund, year, half, &a), 0);
    store_read_end(ledger_store(s_ledger), txn);
    return a;
}

enum { SUBMIT = 1, APPROVE = 2, REOPEN = 3 };
#define STATE FINSAM__V1__REJECT_CODE__REJECT_STATE

static void test_transitions(void)
{
    s_open();
    CHECK_EQ(s_get("NV", 2026, 0).state, APPROVAL_OPEN);
    CHECK_EQ(s_step("NV", APPROVE, 2026, 0, NULL), STATE);
    CHECK_EQ(s_step("NV", REOPEN, 2026, 0, "x"), STATE);
    CHECK_EQ(s_step("NV", SUBMIT, 2026, 0, NULL), 0);
    CHECK_EQ(s_get("NV", 2026, 0).state, APPROVAL_SUBMITTED);
    CHECK_EQ(s_get("HBS", 2026, 0).state, APPROVAL_OPEN); /* another förbund */
    CHECK_EQ(s_get("NV", 2026, 1).state, APPROVAL_OPEN);  /* a half has its own state */
    CHECK_EQ(s_step("NV", SUBMIT, 2026, 0, NULL), STATE);
    CHECK_EQ(s_step("NV", APPROVE, 2026, 0, NULL), 0);
    approval_t a = s_get("NV", 2026, 0);
    CHECK_EQ(a.state, APPROVAL_APPROVED);
    CHECK_EQ(a.lock_seq, s_seq);
    CHECK_EQ(a.steps, 2);
    CHECK_EQ(s_step("NV", SUBMIT, 2026, 0, NULL), STATE);
    CHECK_EQ(s_step("NV", APPROVE, 2026, 0, NULL), STATE);
    CHECK_EQ(s_step("NV", REOPEN, 2026, 0, "late rows"), 0);
    CHECK_EQ(s_get("NV", 2026, 0).state, APPROVAL_OPEN);
    CHECK_EQ(s_get("NV", 2026, 0).lock_seq, 0);
    /* submitted -> open is a return too */
    CHECK_EQ(s_step("NV", SUBMIT, 2026, 0, NULL), 0);
    CHECK_EQ(s_step("NV", REOPEN, 2026, 0, "wrong year"), 0);
    CHECK_EQ(s_get("NV", 2026, 0).steps, 5);
    ledger_close(&s_ledger);
}

typedef struct {
    approval_step_t steps[8];
    int n;
} s_hist_t;

static int s_collect(const approval_step_t *s, void *arg)
{
    s_hist_t *h = arg;
    CHECK(h->n < 8);
    h->steps[h->n++] = *s;
    return 0;
}

static void test_late_data_and_history(void)
{
    s_open();
    uint8_t early[16], in_h1[16], in_h2[16], next_year[16], hbs[16];
    s_data("NV", MAR_2026, early);
    CHECK_EQ(s_step("NV", SUBMIT, 2026, 0, NULL), 0);
    CHECK_EQ(s_step("NV", APPROVE, 2026, 0, NULL), 0);
    CHECK_EQ(s_step("NV", SUBMIT, 2026, 2, NULL), 0);
    CHECK_EQ(s_step("NV", APPROVE, 2026, 2, NULL), 0);
    /* After the locks: March counts for the year, September for the year
     * and its second half; 2027 and another förbund for neither. */
    s_data("NV", MAR_2026, in_h1);
    s_data("NV", SEP_2026, in_h2);
    s_data("NV", MAR_2027, next_year);
    s_data("HBS", MAR_2026, hbs);
    CHECK_EQ(s_get("NV", 2026, 0).late_events, 2);
    CHECK_EQ(s_get("NV", 2026, 2).late_events, 1);
    CHECK_EQ(s_get("NV", 2026, 1).late_events, 0);
    /* A retraction made in 2027 of an event of 2026 is late data of 2026
     * (by its target), once. */
    s_retract("NV", early);
    CHECK_EQ(s_get("NV", 2026, 0).late_events, 3);
    CHECK_EQ(s_step("NV", REOPEN, 2026, 0, "late status rows"), 0);
    approval_t a = s_get("NV", 2026, 0);
    CHECK_EQ(a.late_events, 0);
    CHECK_EQ(a.state, APPROVAL_OPEN);
    s_data("NV", MAR_2026, in_h1); /* an open year has no late data */
    CHECK_EQ(s_get("NV", 2026, 0).late_events, 0);
    MDB_txn *txn;
    CHECK_EQ(store_read(ledger_store(s_ledger), &txn), 0);
    s_hist_t h = {0};
    CHECK_EQ(approval_history(txn, s_ledger, "NV", 2026, 0, s_collect, &h), 0);
    store_read_end(ledger_store(s_ledger), txn);
    CHECK_EQ(h.n, 3);
    CHECK_EQ(h.steps[0].action, APPROVAL_SUBMIT);
    CHECK(!h.steps[0].by[0]);
    CHECK_EQ(h.steps[1].action, APPROVAL_APPROVE);
    CHECK(!strcmp(h.steps[1].by, "anna"));
    CHECK_EQ(h.steps[2].action, APPROVAL_REOPEN);
    CHECK_EQ(h.steps[2].from, APPROVAL_APPROVED);
    CHECK_EQ(h.steps[2].to, APPROVAL_OPEN);
    CHECK_EQ(h.steps[2].late_events, 3);
    CHECK(!strcmp(h.steps[2].reason, "late status rows"));
    CHECK_EQ(h.steps[2].at_ms, 1000 * (int64_t) h.steps[2].seq);
    char err[256];
    json_t *j = approval_json(s_ledger, NULL, 2026, true, err, sizeof err);
    CHECK(j);
    CHECK_EQ(json_array_size(json_object_get(j, "periods")), 2); /* NV 2026 and NV 2026-H2 */
    json_decref(j);
    ledger_close(&s_ledger);
}

static void test_period_syntax(void)
{
    int y, h;
    CHECK(approval_period_parse("2026", &y, &h) == 0 && y == 2026 && h == 0);
    CHECK(approval_period_parse("2026-H2", &y, &h) == 0 && y == 2026 && h == 2);
    CHECK(approval_period_parse("2026-h1", &y, &h) == 0 && h == 1);
    const char *bad[] = {"", "26", "2026-H3", "2026-Q1", "1999", "2026-H1x", "20261", NULL};
    for (int i = 0; bad[i]; i++)
        CHECK(approval_period_parse(bad[i], &y, &h) < 0);
    char out[16];
    approval_period_format(out, sizeof out, 2026, 1);
    CHECK(!strcmp(out, "2026-H1"));
}

static const test_case_t s_cases[] = {
    {"transitions and refusals", test_transitions},
    {"late data by month and target, history", test_late_data_and_history},
    {"period syntax", test_period_syntax},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
