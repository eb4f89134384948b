/* fixture.h: a real ledger filled through ingest, for the report tests
 * written in the table style (export_test.c, feed_test.c): four förbund
 * with their agents' keys on an allow-list, the shipped catalogue, the
 * default protection. One fixture per case (each case is its own
 * process); fx_close frees it. */
#ifndef FINSAM_TEST_REPORT_FIXTURE_H
#define FINSAM_TEST_REPORT_FIXTURE_H

#include "events.h"
#include "testutil.h"

#include "aggregate.h"
#include "allowlist.h"
#include "ingest.h"
#include "replay.h"
#include "keys.h"
#include "log.h"
#include "protect.h"
#include "publish.h"
#include "query.h"

#include <czmq.h>

typedef struct {
    ledger_t *ledger;
    catalogue_t *cat;
    aggregate_t *agg;
    protect_t *protect;
    ingest_t *ingest;
    allowlist_t *allow;
    char keys[4][41];
    uint32_t next; /* the next event number */
} fx_t;

/* NV and VAS are in Västmanland, HBS in Stockholm, OO in Östergötland. */
static const char *const fx_forbund[4] = {"NV", "VAS", "HBS", "OO"};

static inline void fx_open(fx_t *fx)
{
    char err[256], path[512];
    memset(fx, 0, sizeof *fx);
    fx->next = 1;
    log_set_level("error");
    CHECK(tz_stockholm_init() == 0);
    const char *dir = tu_tempdir();
    snprintf(path, sizeof path, "%s/agents", dir);
    CHECK(mkdir_p(path, 0700) == 0);
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/agents/%s.key", dir, fx_forbund[i]);
        CHECK(keys_generate(path, fx_forbund[i], fx_forbund[i], err, sizeof err) == 0);
        zcert_t *cert = zcert_load(path);
        CHECK(cert);
        snprintf(fx->keys[i], sizeof fx->keys[i], "%s", zcert_public_txt(cert));
        zcert_destroy(&cert);
    }
    snprintf(path, sizeof path, "%s/agents", dir);
    fx->allow = allowlist_new(path, "forbund", allowlist_valid_forbund);
    snprintf(path, sizeof path, "%s/ledger", dir);
    CHECK(ledger_open(&fx->ledger, path, false, err, sizeof err) == FIN_OK);
    CHECK(catalogue_load(&fx->cat, NULL, err, sizeof err) == 0);
    protect_params_t pp = PROTECT_DEFAULTS;
    fx->protect = protect_open(fx->ledger, &pp, err, sizeof err);
    CHECK(fx->protect);
    fx->agg = aggregate_new(fx->cat, protect_secret(fx->protect));
    fx->ingest = ingest_new(fx->ledger, fx->cat);
    CHECK(fx->allow && fx->agg && fx->ingest);
}

static inline void fx_close(fx_t *fx)
{
    ingest_destroy(&fx->ingest);
    aggregate_destroy(&fx->agg);
    protect_destroy(&fx->protect);
    allowlist_destroy(&fx->allow);
    catalogue_destroy(&fx->cat);
    ledger_close(&fx->ledger);
}

/* Stores n encoded events from förbund f's agent in one batch; frees them. */
static inline void fx_store(fx_t *fx, int f, uint8_t **ev, size_t *lens, int n, int expect_stored)
{
    size_t len;
    uint8_t *b = ev_batch(fx->next, ev, lens, (size_t) n, &len);
    ingest_item_t item = {0};
    snprintf(item.agent_key, sizeof item.agent_key, "%s", fx->keys[f]);
    item.data = b;
    item.len = len;
    CHECK(ingest_prepare(fx->ingest, &item, fx->allow));
    CHECK(ingest_commit(fx->ingest, &item, 1) == FIN_OK);
    CHECK(replay_follow(fx->ledger, fx->agg, 0, NULL, NULL, &(uint64_t){0}) == 0);
    CHECK_EQ(item.stored, expect_stored);
    ingest_item_clear(&item);
    free(b);
    for (int i = 0; i < n; i++)
        free(ev[i]);
}

/* `people` new participants of förbund f answer item `code` = value in
 * mode; returns the event number of the first (they are consecutive). */
static inline uint32_t fx_answers(fx_t *fx, int f, int people, const char *code, int value, int mode,
                                  int64_t when)
{
    uint8_t *ev[500];
    size_t lens[500];
    uint32_t first = fx->next;
    CHECK(people <= 500);
    for (int i = 0; i < people; i++, fx->next++)
        ev[i] = ev_survey(fx->next, fx_forbund[f], fx->next, "deltagare_avslut", code, value, mode, when,
                          &lens[i]);
    fx_store(fx, f, ev, lens, people, people);
    return first;
}

/* Retracts events first .. first + n - 1 of förbund f. */
static inline void fx_retract(fx_t *fx, int f, uint32_t first, int n)
{
    uint8_t *ev[500];
    size_t lens[500];
    CHECK(n <= 500);
    for (int i = 0; i < n; i++, fx->next++)
        ev[i] = ev_retraction(fx->next, fx_forbund[f], first + (uint32_t) i, &lens[i]);
    fx_store(fx, f, ev, lens, n, n);
}

/* Publishes everything now (what readers see); returns the seq. */
static inline uint64_t fx_publish(fx_t *fx)
{
    publish_report_t pr;
    CHECK(publish_run(fx->ledger, fx->cat, fx->protect, 1, 0, &pr) == 0);
    uint64_t seq = 0, waiting = 0;
    int64_t at = 0;
    publish_last(fx->ledger, &seq, &at, &waiting);
    return seq;
}

#endif
