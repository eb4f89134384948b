/* approval_test.c: the approval of a förbund's period end to end with a
 * real collector, agents and finsamctl on 127.0.0.1 (count/approval.c,
 * count/lockview.c, report/official.c, agents/cmd_submit.c): every
 * transition; the refusals (an agent cannot approve, a förbund cannot
 * submit for another, approve of a period never submitted, submit of a
 * submitted one, reopen without a reason); late data after the lock held
 * out of the official figures and counted; a reopen with its reason; and
 * all of it surviving a collector SIGKILL between the steps, with
 * `rebuild --verify` finding no difference, approvals included. */
#include "cluster.h"
#include "codec.h"
#include "testutil.h"

#include <pwd.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* finsamctl ARGS with stderr folded into stdout: exit status, text in *out. */
static int s_ctl(const cluster_t *c, char **out, const char *const *args)
{
    char cmd[2048];
    int n = snprintf(cmd, sizeof cmd, "exec '%s' -d '%s'", tu_bin("finsamctl"), c->cdir);
    for (int i = 0; args[i]; i++)
        n += snprintf(cmd + n, sizeof cmd - (size_t) n, " '%s'", args[i]);
    snprintf(cmd + n, sizeof cmd - (size_t) n, " 2>&1");
    char *argv[] = {"/bin/sh", "-c", cmd, NULL};
    char *text = NULL;
    int rc = tu_capture(argv, &text, 120000);
    fprintf(stderr, "finsamctl %s -> %d: %s", args[0], rc, text ? text : "\n");
    if (out)
        *out = text;
    else
        free(text);
    return rc;
}

/* `approval show F PERIOD --format json`, parsed. */
static json_t *s_show(const cluster_t *c, const char *forbund, const char *period)
{
    const char *args[] = {"approval", "show", forbund, period, "--format", "json", NULL};
    char *out = NULL;
    CHECK_EQ(cluster_ctl(c, &out, args), 0);
    json_t *j = json_loads(out ? out : "", 0, NULL);
    free(out);
    CHECK(j);
    return j;
}

static void s_expect_state(const cluster_t *c, const char *forbund, const char *state, long long late)
{
    json_t *j = s_show(c, forbund, "2026");
    CHECK(!strcmp(json_string_value(json_object_get(j, "state")), state));
    CHECK_EQ(json_integer_value(json_object_get(j, "late_events")), late);
    json_decref(j);
}

/* The measures of `query --official 2026 --exact` (or live without
 * --official) for the organisation measure, as text. */
static char *s_figures(const cluster_t *c, bool official, bool exact)
{
    const char *args[12] = {"query", "--measure", "12", "--format", "json"};
    int n = 5;
    if (official) {
        args[n++] = "--official";
        args[n++] = "2026";
    }
    if (exact)
        args[n++] = "--exact";
    args[n] = NULL;
    char *out = NULL;
    CHECK_EQ(cluster_ctl(c, &out, args), 0);
    json_t *j = json_loads(out ? out : "", 0, NULL);
    free(out);
    CHECK(j);
    char *text = json_dumps(json_object_get(j, "measures"), JSON_SORT_KEYS | JSON_COMPACT);
    json_decref(j);
    return text;
}

/* One batch of `n` events from agent `agent_dir`'s key over a raw socket;
 * returns the Ack (caller frees). */
static ack_msg_t *s_send(const cluster_t *c, const char *agent_dir, uint8_t **events, size_t *lens, size_t n)
{
    zsock_t *s = cluster_raw_client(c, agent_dir);
    ProtobufCBinaryData bin[16];
    for (size_t i = 0; i < n; i++)
        bin[i] = (ProtobufCBinaryData){lens[i], events[i]};
    Finsam__V1__Batch batch = FINSAM__V1__BATCH__INIT;
    batch.version = 1;
    batch.agent_id = "raw";
    batch.batch_seq = 9;
    batch.n_events = n;
    batch.events = bin;
    size_t len;
    uint8_t *packed = codec_pack(&batch.base, &len);
    CHECK(zsock_send(s, "b", packed, len) == 0);
    zframe_t *f = zframe_recv(s);
    CHECK(f != NULL);
    ack_msg_t *ack = codec_decode_ack(zframe_data(f), zframe_size(f));
    CHECK(ack);
    zframe_destroy(&f);
    free(packed);
    zsock_destroy(&s);
    return ack;
}

static uint8_t *s_approval_event(const char *forbund, int action, const char *by, uint8_t tag, size_t *len)
{
    Finsam__V1__PeriodApproval pa = FINSAM__V1__PERIOD_APPROVAL__INIT;
    pa.action = action;
    pa.year = 2026;
    pa.by = (char *) by;
    uint8_t id[16] = {0, 0, 0x4e, 0x2a, 0xa9, tag};
    Finsam__V1__Event ev = FINSAM__V1__EVENT__INIT;
    ev.id = (ProtobufCBinaryData){16, id};
    ev.forbund = (char *) forbund;
    ev.occurred_at = 1772366400; /* 2026-03-01 12:00 */
    ev.catalogue_version = 1;
    ev.body_case = FINSAM__V1__EVENT__BODY_APPROVAL;
    ev.approval = &pa;
    return codec_pack(&ev.base, len);
}

/* n organisation reports of NV for March 2026 (ids from `tag`). */
static void s_late_reports(const cluster_t *c, const char *nv, uint8_t tag, size_t n)
{
    uint8_t *events[16];
    size_t lens[16];
    for (size_t i = 0; i < n; i++) {
        Finsam__V1__OrganisationReport org = FINSAM__V1__ORGANISATION_REPORT__INIT;
        Finsam__V1__Answer a = FINSAM__V1__ANSWER__INIT, *ap = &a;
        a.item = "o_forum_moten";
        a.value = 10 + (int) i;
        org.n_answers = 1;
        org.answers = &ap;
        uint8_t id[16] = {0, 0, 0x4e, 0x2a, 0x1a, tag, (uint8_t) i};
        Finsam__V1__Event ev = FINSAM__V1__EVENT__INIT;
        ev.id = (ProtobufCBinaryData){16, id};
        ev.forbund = "NV";
        ev.occurred_at = 1772366400;
        ev.catalogue_version = 1;
        ev.body_case = FINSAM__V1__EVENT__BODY_ORGANISATION;
        ev.organisation = &org;
        events[i] = codec_pack(&ev.base, &lens[i]);
    }
    ack_msg_t *ack = s_send(c, nv, events, lens, n);
    CHECK_EQ(ack->n_accepted, n);
    codec_free_ack(&ack);
    for (size_t i = 0; i < n; i++)
        free(events[i]);
}

static void s_submit(const cluster_t *c, const char *agent)
{
    const char *submit[] = {"submit", "--year", "2026", NULL};
    CHECK_EQ(cluster_agent(c, agent, 60000, submit), 0);
    const char *run[] = {"run", "--exit-when-empty", NULL};
    CHECK_EQ(cluster_agent(c, agent, 60000, run), 0);
}

static void test_approval_states(void)
{
    cluster_t c;
    cluster_init(&c);
    char nv[320], hbs[320];
    cluster_add_agent(&c, "nv", "NV", true, nv, sizeof nv);
    cluster_add_agent(&c, "hbs", "HBS", true, hbs, sizeof hbs);
    const char *fill_nv[] = {"demo", "--events", "400", "--seed", "1", "--no-send", NULL};
    const char *fill_hbs[] = {"demo", "--events", "400", "--seed", "2", "--no-send", NULL};
    CHECK_EQ(cluster_agent(&c, nv, 60000, fill_nv), 0);
    CHECK_EQ(cluster_agent(&c, hbs, 60000, fill_hbs), 0);
    cluster_start_collector(&c);
    const char *run[] = {"run", "--exit-when-empty", NULL};
    CHECK_EQ(cluster_agent(&c, nv, 60000, run), 0);
    CHECK_EQ(cluster_agent(&c, hbs, 60000, run), 0);
    s_expect_state(&c, "NV", "open", 0);

    /* Approve before any submission: refused, saying what to do. */
    char *out = NULL;
    const char *approve[] = {"approve", "NV", "2026", NULL};
    CHECK_EQ(s_ctl(&c, &out, approve), 65);
    CHECK(out && strstr(out, "not submitted") && strstr(out, "finsam-agent submit --year 2026"));
    free(out);

    /* An agent cannot approve nor reopen, nor name the operator, nor
     * submit for another förbund. */
    uint8_t *ev[4];
    size_t lens[4];
    ev[0] = s_approval_event("NV", FINSAM__V1__PERIOD_APPROVAL__ACTION__ACTION_APPROVE, NULL, 1, &lens[0]);
    ev[1] = s_approval_event("NV", FINSAM__V1__PERIOD_APPROVAL__ACTION__ACTION_REOPEN, NULL, 2, &lens[1]);
    ev[2] = s_approval_event("HBS", FINSAM__V1__PERIOD_APPROVAL__ACTION__ACTION_SUBMIT, NULL, 3, &lens[2]);
    ev[3] = s_approval_event("NV", FINSAM__V1__PERIOD_APPROVAL__ACTION__ACTION_SUBMIT, "root", 4, &lens[3]);
    ack_msg_t *ack = s_send(&c, nv, ev, lens, 4);
    CHECK_EQ(ack->n_accepted, 0);
    CHECK_EQ(ack->n_rejected, 4);
    CHECK_EQ(ack->rejected[0]->code, FINSAM__V1__REJECT_CODE__REJECT_FORBIDDEN);
    CHECK(strstr(ack->rejected[0]->text, "only the central operator"));
    CHECK(ack->rejected[1]->code == FINSAM__V1__REJECT_CODE__REJECT_FORBIDDEN ||
          ack->rejected[1]->code ==
              FINSAM__V1__REJECT_CODE__REJECT_INVALID_FIELD); /* a reopen needs a reason */
    CHECK_EQ(ack->rejected[2]->code, FINSAM__V1__REJECT_CODE__REJECT_FORBIDDEN);
    CHECK_EQ(ack->rejected[3]->code, FINSAM__V1__REJECT_CODE__REJECT_INVALID_FIELD);
    codec_free_ack(&ack);
    for (int i = 0; i < 4; i++)
        free(ev[i]);
    s_expect_state(&c, "NV", "open", 0);
    s_expect_state(&c, "HBS", "open", 0);

    /* open -> submitted, from the agent; survives a SIGKILL. */
    s_submit(&c, nv);
    s_expect_state(&c, "NV", "submitted", 0);
    s_expect_state(&c, "HBS", "open", 0);
    cluster_stop_collector(&c, SIGKILL);
    cluster_start_collector(&c);
    s_expect_state(&c, "NV", "submitted", 0);

    /* A second submission is refused with the reason; the agent keeps it. */
    s_submit(&c, nv);
    char *argv[] = {(char *) tu_bin("finsam-agent"), "-d", nv, "status", NULL};
    CHECK_EQ(tu_capture(argv, &out, 30000), 0);
    CHECK(out && strstr(out, "code=state") && strstr(out, "submitted already"));
    free(out);

    /* submitted -> approved (locked), by the operator, with a user name. */
    CHECK_EQ(s_ctl(&c, &out, approve), 0);
    CHECK(out && strstr(out, "approved and locked"));
    free(out);
    CHECK_EQ(s_ctl(&c, NULL, approve), 65); /* approved already */
    json_t *j = s_show(&c, "NV", "2026");
    CHECK(!strcmp(json_string_value(json_object_get(j, "state")), "approved"));
    CHECK(json_is_true(json_object_get(j, "locked")));
    long long lock = json_integer_value(json_object_get(j, "lock_seq"));
    CHECK(lock > 800);
    json_t *hist = json_object_get(j, "history");
    CHECK_EQ(json_array_size(hist), 2);
    struct passwd *pw = getpwuid(getuid());
    CHECK(!strcmp(json_string_value(json_object_get(json_array_get(hist, 1), "by")), pw->pw_name));
    json_decref(j);

    /* The official figures: NV only, as at the lock. */
    char *off0 = s_figures(&c, true, true), *live0 = s_figures(&c, false, true);
    CHECK(strstr(off0, "\"NV\""));
    CHECK(!strstr(off0, "\"HBS\""));
    CHECK(strstr(live0, "\"HBS\""));
    char *off0p = s_figures(&c, true, false);

    /* Late data: stored and counted live, held out of the official
     * figures, counted in the period's status. */
    cluster_stop_collector(&c, SIGKILL);
    cluster_start_collector(&c);
    s_late_reports(&c, nv, 1, 5);
    s_expect_state(&c, "NV", "approved", 5);
    char *off1 = s_figures(&c, true, true), *live1 = s_figures(&c, false, true),
         *off1p = s_figures(&c, true, false);
    CHECK(!strcmp(off0, off1));
    CHECK(!strcmp(off0p, off1p));
    CHECK(strcmp(live0, live1) != 0);
    json_t *st = cluster_status(&c); /* status and /api/status show it too */
    json_t *ap = json_array_get(json_object_get(st, "approvals"), 0);
    CHECK(ap && !strcmp(json_string_value(json_object_get(ap, "forbund")), "NV"));
    CHECK_EQ(json_integer_value(json_object_get(ap, "late_events")), 5);
    json_decref(st);
    const char *list[] = {"approval", "list", "--format", "json", NULL};
    CHECK_EQ(cluster_ctl(&c, &out, list), 0);
    CHECK(out && strstr(out, "\"late_events\": 5"));
    free(out);
    cluster_stop_collector(&c, SIGKILL);
    cluster_start_collector(&c);
    CHECK_EQ(cluster_rebuild_verify(&c), 0);

    /* Reopen: the reason is required, recorded with who; late data back in. */
    const char *reopen_bare[] = {"reopen", "NV", "2026", NULL};
    CHECK_EQ(s_ctl(&c, NULL, reopen_bare), 64);
    const char *reopen[] = {"reopen", "NV", "2026", "--reason", "late status rows from the region", NULL};
    CHECK_EQ(s_ctl(&c, NULL, reopen), 0);
    CHECK_EQ(s_ctl(&c, &out, reopen), 65); /* open already */
    CHECK(out && strstr(out, "nothing to reopen"));
    free(out);
    j = s_show(&c, "NV", "2026");
    CHECK(!strcmp(json_string_value(json_object_get(j, "state")), "open"));
    hist = json_object_get(j, "history");
    CHECK_EQ(json_array_size(hist), 3);
    json_t *last = json_array_get(hist, 2);
    CHECK(!strcmp(json_string_value(json_object_get(last, "action")), "reopen"));
    CHECK(!strcmp(json_string_value(json_object_get(last, "reason")), "late status rows from the region"));
    CHECK(!strcmp(json_string_value(json_object_get(last, "by")), pw->pw_name));
    CHECK_EQ(json_integer_value(json_object_get(last, "late_events")), 5);
    json_decref(j);
    /* No approved year: the official figures hold nobody. */
    char *off2 = s_figures(&c, true, true);
    CHECK(!strstr(off2, "\"NV\""));

    /* Submitted and approved again: the late data are official now. */
    cluster_stop_collector(&c, SIGKILL);
    cluster_start_collector(&c);
    s_submit(&c, nv);
    s_expect_state(&c, "NV", "submitted", 0);
    CHECK_EQ(s_ctl(&c, NULL, approve), 0);
    s_expect_state(&c, "NV", "approved", 0);
    char *off3 = s_figures(&c, true, true);
    CHECK(strstr(off3, "\"NV\""));
    CHECK(strcmp(off3, off0) != 0);
    const char *show_text[] = {"approval", "show", "NV", "2026", NULL};
    CHECK_EQ(cluster_ctl(&c, &out, show_text), 0);
    CHECK(out && strstr(out, "reason: late status rows from the region") && strstr(out, "approved, locked"));
    free(out);
    cluster_stop_collector(&c, SIGKILL);
    cluster_start_collector(&c);
    CHECK_EQ(cluster_rebuild_verify(&c), 0);
    s_expect_state(&c, "NV", "approved", 0);
    cluster_stop_collector(&c, SIGTERM);
    free(off0);
    free(off0p);
    free(off1);
    free(off1p);
    free(off2);
    free(off3);
    free(live0);
    free(live1);
}

static const test_case_t s_cases[] = {
    {"approval states, refusals, late data, reopen, SIGKILL", test_approval_states},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
