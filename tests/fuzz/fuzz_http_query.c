/* fuzz_http_query.c: the query string of GET /api/indicators, as the HTTP
 * API checks it: http_parse_query (split on '&' and '=', '+' and %XX
 * decoded as microhttpd does, then the server's own checks: known names,
 * each at most once, length, charset; min_units refused), and,
 * when it passes, query_run on the resulting query_t (measure, förbund,
 * period and slice lookup, roll-ups, disclosure control) and the JSON
 * encoding of the answer.
 *
 * One real ledger per process, in a temporary directory on /dev/shm
 * (removed at exit), filled once through ingest with participant surveys
 * and status observations of two förbund in two months and both modes, so
 * queries find cells to roll up, suppress and compare. It is only read.
 * The collector's floor is min_units = 3. */
#include "aggregate.h"
#include "allowlist.h"
#include "catalogue.h"
#include "events.h"
#include "http.h"
#include "ingest.h"
#include "replay.h"
#include "ledger.h"
#include "log.h"
#include "protect.h"
#include "query.h"

#include <czmq.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FLOOR 3

static char s_dir[64];
static catalogue_t *s_cat;
static ledger_t *s_ledger;
static protect_t *s_protect;

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void s_cleanup(void)
{
    protect_destroy(&s_protect);
    ledger_close(&s_ledger);
    catalogue_destroy(&s_cat);
    if (s_dir[0])
        nftw(s_dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* Stores n encoded events (freed here) as one batch from key. */
static void s_store(ingest_t *ingest, allowlist_t *allow, const char *key, uint8_t **ev, size_t *lens,
                    size_t n)
{
    static uint64_t seq;
    size_t len;
    uint8_t *b = ev_batch(++seq, ev, lens, n, &len);
    ingest_item_t item;
    memset(&item, 0, sizeof item);
    snprintf(item.agent_key, sizeof item.agent_key, "%s", key);
    item.data = b;
    item.len = len;
    if (!ingest_prepare(ingest, &item, allow) || ingest_commit(ingest, &item, 1) != 0 ||
        replay_follow(s_ledger, agg, 0, NULL, NULL, &(uint64_t){0}) != 0 || item.stored != n)
        abort();
    ingest_item_clear(&item);
    free(b);
    for (size_t i = 0; i < n; i++)
        free(ev[i]);
}

static void s_fill(void)
{
    static const char *const forbund[2] = {"NV", "VAS"};
    char path[256], keys[2][41];
    snprintf(path, sizeof path, "%s/agents", s_dir);
    if (zsys_dir_create(path) != 0)
        abort();
    for (int f = 0; f < 2; f++) {
        zcert_t *cert = zcert_new();
        zcert_set_meta(cert, "forbund", "%s", forbund[f]);
        snprintf(path, sizeof path, "%s/agents/%s.key", s_dir, forbund[f]);
        if (zcert_save_public(cert, path) != 0)
            abort();
        snprintf(keys[f], sizeof keys[f], "%s", zcert_public_txt(cert));
        zcert_destroy(&cert);
    }
    snprintf(path, sizeof path, "%s/agents", s_dir);
    allowlist_t *allow = allowlist_new(path, "forbund", allowlist_valid_forbund);
    aggregate_t *agg = aggregate_new(s_cat, protect_secret(s_protect));
    ingest_t *ingest = agg ? ingest_new(s_ledger, s_cat) : NULL;
    if (!allow || !ingest)
        abort();
    uint32_t n = 1;
    for (int f = 0; f < 2; f++) {
        uint8_t *ev[64];
        size_t lens[64], k = 0;
        /* NV: 12 answers (visible at the floor), VAS: 2 (suppressed). */
        int people = f == 0 ? 12 : 2;
        for (int i = 0; i < people; i++, n++, k++)
            ev[k] = ev_survey(n, forbund[f], n, "deltagare_avslut", i % 2 ? "d_behov" : "d_tid", 1 + i % 5,
                              1 + i % 2, T_2026_03 - (i % 3) * 86400 * 31, &lens[k]);
        for (int i = 0; i < 6; i++, n++, k++)
            ev[k] =
                ev_status(n, forbund[f], 1000 + (uint32_t) (i / 2),
                          i % 2 ? FINSAM__V1__PHASE__PHASE_EXIT : FINSAM__V1__PHASE__PHASE_ENTRY,
                          i % 2 ? FINSAM__V1__OCCUPATION__OCC_WORK : FINSAM__V1__OCCUPATION__OCC_JOB_SEEKING,
                          i % 2 ? FINSAM__V1__INCOME__INC_WAGE : FINSAM__V1__INCOME__INC_UNEMPLOYMENT, 2,
                          T_2026_03 - (i % 2 ? 0 : 86400 * 60), &lens[k]);
        s_store(ingest, allow, keys[f], ev, lens, k);
    }
    ingest_destroy(&ingest);
    aggregate_destroy(&agg);
    allowlist_destroy(&allow);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256], path[256];
    log_set_level("error");
    strcpy(s_dir, "/dev/shm/finsam-fuzz-http-XXXXXX");
    if (!mkdtemp(s_dir)) {
        strcpy(s_dir, "/tmp/finsam-fuzz-http-XXXXXX");
        if (!mkdtemp(s_dir))
            abort();
    }
    atexit(s_cleanup);
    snprintf(path, sizeof path, "%s/ledger", s_dir);
    if (catalogue_load(&s_cat, NULL, err, sizeof err) < 0 ||
        ledger_open(&s_ledger, path, false, err, sizeof err) != FIN_OK)
        abort();
    protect_params_t pp = PROTECT_DEFAULTS;
    pp.min_count = FLOOR;
    if (!(s_protect = protect_open(s_ledger, &pp, err, sizeof err)))
        abort();
    s_fill();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192) /* microhttpd's 32 KiB per connection bounds a URL long before this */
        return 0;
    char buf[8193], err[512];
    query_t q;
    if (http_parse_query((const char *) data, size, s_protect, buf, sizeof buf, &q, err, sizeof err) < 0) {
        if (!err[0])
            abort(); /* a 400 must say why */
        return 0;
    }
    if (q.protect != s_protect || q.exact || !q.period || !q.slice)
        abort(); /* a reader never chooses the protection, nor gets the exact view */
    json_t *result = NULL;
    fin_err_t rc = query_run(s_ledger, s_cat, &q, &result, err, sizeof err);
    if (rc == 0) {
        char *text = json_dumps(result, JSON_COMPACT);
        if (!text)
            abort();
        free(text);
        json_decref(result);
    } else if (rc != FIN_EINPUT) {
        abort(); /* anything but a bad-input answer is a store failure: not on a healthy ledger */
    }
    return 0;
}
