/* status_test.c: report/status.c through status.h — the operators' view
 * of who delivers what, from the agent records of a real ledger (written
 * as ingest writes them, and by ingest itself): last seen as UTC time and
 * as an age that grows while an agent is silent, rejects by the name of
 * their code, per-förbund sums with the freshest agent's age, and the
 * publication's lag. */
#include "events.h"
#include "testutil.h"

#include "aggregate.h"
#include "allowlist.h"
#include "ingest.h"
#include "replay.h"
#include "keys.h"
#include "protect.h"
#include "publish.h"
#include "status.h"

#include <czmq.h>
#include <string.h>

/* 2026-03-13 12:00:00 UTC in ms. */
#define S_T0 ((int64_t) T_2026_03 * 1000)

static ledger_t *s_open(void)
{
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/ledger", tu_tempdir());
    ledger_t *l = NULL;
    CHECK(ledger_open(&l, path, false, err, sizeof err) == FIN_OK);
    return l;
}

typedef struct {
    ledger_t *ledger;
    const char *key;
    ledger_agent_t rec;
} s_put_t;

static int s_put_fn(MDB_txn *txn, void *ctx)
{
    s_put_t *p = ctx;
    return ledger_agent_put(txn, p->ledger, p->key, &p->rec);
}

/* An agent record as ingest keeps it. */
static void s_agent(ledger_t *l, const char *key, const char *forbund, uint64_t stored, int64_t last_seen_ms,
                    int reject_code, uint64_t rejects)
{
    s_put_t p = {l, key, {0}};
    p.rec.version = 1;
    snprintf(p.rec.forbund, sizeof p.rec.forbund, "%s", forbund);
    p.rec.events_stored = stored;
    p.rec.batches = stored ? 1 + stored / 10 : 0;
    p.rec.last_batch_seq = p.rec.batches;
    p.rec.duplicates = 2;
    p.rec.first_seen_ms = last_seen_ms - 86400000;
    p.rec.last_seen_ms = last_seen_ms;
    p.rec.queued_at_agent = 7;
    if (reject_code)
        p.rec.rejects[reject_code] = rejects;
    CHECK(store_write(ledger_store(l), s_put_fn, &p) == 0);
}

static json_t *s_find(json_t *array, const char *field, const char *value)
{
    size_t i;
    json_t *x;
    json_array_foreach(array, i, x) {
        if (!strcmp(json_string_value(json_object_get(x, field)), value))
            return x;
    }
    tu_check_failed(__FILE__, __LINE__, "no %s = %s", field, value);
}

static json_int_t s_int(json_t *o, const char *field)
{
    json_t *v = json_object_get(o, field);
    CHECK(json_is_integer(v));
    return json_integer_value(v);
}

static void test_empty_ledger(void)
{
    ledger_t *l = s_open();
    json_t *r = status_report(l, S_T0);
    CHECK(r);
    CHECK_EQ(s_int(r, "events_in_log"), 0);
    CHECK_EQ(json_array_size(json_object_get(r, "agents")), 0);
    CHECK_EQ(json_array_size(json_object_get(r, "forbund")), 0);
    json_t *pub = json_object_get(r, "publication");
    CHECK_EQ(s_int(pub, "seq"), 0);
    CHECK_EQ(s_int(pub, "events_since"), 0);
    json_decref(r);
    ledger_close(&l);
}

static void test_agents_and_rejects_by_code(void)
{
    ledger_t *l = s_open();
    const reject_code_t invalid = FINSAM__V1__REJECT_CODE__REJECT_INVALID_FIELD;
    const reject_code_t forbidden = FINSAM__V1__REJECT_CODE__REJECT_FORBIDDEN;
    s_agent(l, "keyNV1", "NV", 40, S_T0 - 60000, invalid, 3);
    s_agent(l, "keyNV2", "NV", 5, S_T0 - 3600000, forbidden, 1);
    s_agent(l, "keyVAS", "VAS", 12, S_T0 - 7200000, 0, 0);
    json_t *r = status_report(l, S_T0);
    CHECK(r);
    json_t *agents = json_object_get(r, "agents");
    CHECK_EQ(json_array_size(agents), 3);

    json_t *a = s_find(agents, "agent", "keyNV1");
    CHECK(!strcmp(json_string_value(json_object_get(a, "forbund")), "NV"));
    CHECK_EQ(s_int(a, "events_stored"), 40);
    CHECK_EQ(s_int(a, "duplicates"), 2);
    CHECK_EQ(s_int(a, "pending_at_agent"), 7);
    CHECK(!strcmp(json_string_value(json_object_get(a, "last_seen")), "2026-03-13T11:59:00Z"));
    CHECK_EQ(s_int(a, "last_seen_age_s"), 60);
    CHECK_EQ(s_int(a, "rejected"), 3);
    json_t *rej = json_object_get(a, "rejects");
    CHECK_EQ(json_object_size(rej), 1); /* codes with no rejects are left out */
    CHECK_EQ(json_integer_value(json_object_get(rej, codec_reject_name(invalid))), 3);
    CHECK(json_object_get(rej, "invalid_field"));

    a = s_find(agents, "agent", "keyNV2");
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(a, "rejects"), "forbidden")), 1);
    a = s_find(agents, "agent", "keyVAS");
    CHECK_EQ(s_int(a, "rejected"), 0);
    CHECK_EQ(json_object_size(json_object_get(a, "rejects")), 0);

    /* Per förbund: sums, the number of agents, the freshest agent's age. */
    json_t *f = s_find(json_object_get(r, "forbund"), "forbund", "NV");
    CHECK_EQ(s_int(f, "events_stored"), 45);
    CHECK_EQ(s_int(f, "rejected"), 4);
    CHECK_EQ(s_int(f, "agents"), 2);
    CHECK_EQ(s_int(f, "last_seen_age_s"), 60);
    CHECK_EQ(s_int(f, "queued_at_site"), 14); /* each agent's last word: 7 */
    f = s_find(json_object_get(r, "forbund"), "forbund", "VAS");
    CHECK_EQ(s_int(f, "agents"), 1);
    CHECK_EQ(s_int(f, "queued_at_site"), 7);
    CHECK_EQ(s_int(f, "last_seen_age_s"), 7200);
    json_decref(r);
    ledger_close(&l);
}

static void test_silent_agent_ages(void)
{
    ledger_t *l = s_open();
    s_agent(l, "keyNV1", "NV", 1, S_T0, 0, 0);
    json_t *now = status_report(l, S_T0);
    json_t *later = status_report(l, S_T0 + 3 * 86400000LL);
    CHECK(now && later);
    json_t *a0 = json_array_get(json_object_get(now, "agents"), 0);
    json_t *a1 = json_array_get(json_object_get(later, "agents"), 0);
    CHECK_EQ(s_int(a0, "last_seen_age_s"), 0);
    CHECK_EQ(s_int(a1, "last_seen_age_s"), 3 * 86400);
    /* The time it was last seen does not move, only the age. */
    CHECK(json_equal(json_object_get(a0, "last_seen"), json_object_get(a1, "last_seen")));
    CHECK_EQ(s_int(json_array_get(json_object_get(later, "forbund"), 0), "last_seen_age_s"), 3 * 86400);
    json_decref(now);
    json_decref(later);
    ledger_close(&l);
}

/* The record as ingest itself writes it, from a batch with a bad event. */
static void test_through_ingest(void)
{
    const char *dir = tu_tempdir();
    char path[512], err[256], key[41];
    snprintf(path, sizeof path, "%s/agents", dir);
    CHECK(mkdir_p(path, 0700) == 0);
    snprintf(path, sizeof path, "%s/agents/nv.key", dir);
    CHECK(keys_generate(path, "nv", "NV", err, sizeof err) == 0);
    zcert_t *cert = zcert_load(path);
    snprintf(key, sizeof key, "%s", zcert_public_txt(cert));
    zcert_destroy(&cert);
    snprintf(path, sizeof path, "%s/agents", dir);
    allowlist_t *allow = allowlist_new(path, "forbund", allowlist_valid_forbund);
    snprintf(path, sizeof path, "%s/ledger", dir);
    ledger_t *l = NULL;
    catalogue_t *cat = NULL;
    CHECK(ledger_open(&l, path, false, err, sizeof err) == FIN_OK);
    CHECK(catalogue_load(&cat, NULL, err, sizeof err) == 0);
    protect_params_t pp = PROTECT_DEFAULTS;
    protect_t *protect = protect_open(l, &pp, err, sizeof err);
    aggregate_t *agg = aggregate_new(cat, protect_secret(protect));
    ingest_t *ing = ingest_new(l, cat);
    CHECK(allow && protect && agg && ing);

    uint8_t *ev[4];
    size_t lens[4], len;
    for (uint32_t i = 0; i < 3; i++)
        ev[i] = ev_survey(i + 1, "NV", i + 1, "deltagare_avslut", "d_behov", 3, 1, T_2026_03, &lens[i]);
    ev[3] = ev_survey(4, "NV", 4, "deltagare_avslut", "no_such_item", 3, 1, T_2026_03, &lens[3]);
    uint8_t *b = ev_batch(1, ev, lens, 4, &len);
    ingest_item_t item = {0};
    snprintf(item.agent_key, sizeof item.agent_key, "%s", key);
    item.data = b;
    item.len = len;
    CHECK(ingest_prepare(ing, &item, allow));
    CHECK(ingest_commit(ing, &item, 1) == FIN_OK);
    CHECK(replay_follow(l, agg, 0, NULL, NULL, &(uint64_t){0}) == 0);
    CHECK_EQ(item.stored, 3);
    reject_code_t code = item.verdicts[3].code;
    CHECK(code != 0);
    ingest_item_clear(&item);
    free(b);
    for (int i = 0; i < 4; i++)
        free(ev[i]);

    int64_t now = clock_wall_ms();
    json_t *r = status_report(l, now + 10000);
    CHECK(r);
    CHECK_EQ(s_int(r, "events_in_log"), 3);
    json_t *a = s_find(json_object_get(r, "agents"), "agent", key);
    CHECK_EQ(s_int(a, "events_stored"), 3);
    CHECK_EQ(s_int(a, "batches"), 1);
    CHECK_EQ(s_int(a, "rejected"), 1);
    CHECK_EQ(json_integer_value(json_object_get(json_object_get(a, "rejects"), codec_reject_name(code))), 1);
    CHECK(s_int(a, "last_seen_age_s") >= 10 && s_int(a, "last_seen_age_s") <= 12);
    /* Nothing published yet: every stored event is waiting. */
    CHECK_EQ(s_int(json_object_get(r, "publication"), "events_since"), 3);
    json_decref(r);

    publish_report_t pr;
    CHECK(publish_run(l, cat, protect, 1, 0, &pr) == 0);
    r = status_report(l, now);
    CHECK_EQ(s_int(json_object_get(r, "publication"), "seq"), 3);
    CHECK_EQ(s_int(json_object_get(r, "publication"), "events_since"), 0);
    json_decref(r);

    ingest_destroy(&ing);
    aggregate_destroy(&agg);
    protect_destroy(&protect);
    allowlist_destroy(&allow);
    catalogue_destroy(&cat);
    ledger_close(&l);
}

static void test_table_names_reasons(void)
{
    ledger_t *l = s_open();
    s_agent(l, "keyNV1abcdef", "NV", 40, S_T0 - 60000, FINSAM__V1__REJECT_CODE__REJECT_INVALID_FIELD, 3);
    s_agent(l, "keyVAS", "VAS", 12, S_T0, 0, 0);
    json_t *r = status_report(l, S_T0);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream(&text, &size);
    CHECK(out);
    status_print_table(r, out);
    fclose(out);
    fprintf(stderr, "%s", text);
    CHECK(strstr(text, "events in log: 0"));
    CHECK(strstr(text, "published figures: none yet"));
    CHECK(strstr(text, "invalid_field=3"));
    /* Agents are named by certificate, file and fingerprint; these keys are
     * on no allow-list, so "(not listed)"; no fragment of a key is shown. */
    CHECK(strstr(text, "NV       (not listed)"));
    CHECK(!strstr(text, "keyNV1"));
    CHECK(strstr(text, "QUEUED AT SITE"));
    CHECK(strstr(text, "2026-03-13T11:59:00Z"));
    free(text);
    json_decref(r);
    ledger_close(&l);
}

static const test_case_t s_cases[] = {
    {"empty ledger", test_empty_ledger},
    {"agents and rejects by code", test_agents_and_rejects_by_code},
    {"silent agent ages", test_silent_agent_ages},
    {"through ingest", test_through_ingest},
    {"table names reasons", test_table_names_reasons},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
