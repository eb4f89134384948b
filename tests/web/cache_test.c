/* cache_test.c: answers kept by the HTTP server (web/cache.c) are the
 * bytes a fresh query gives, for many requests, and stop being served when
 * what they depend on moves: a publication, cells added since it, the
 * förbund registry. The server runs in this process on a ledger filled
 * through ingest (tests/report/fixture.h); each answer is compared with
 * query_run on the same ledger, dumped as the server dumps it. The cache's
 * own list (eviction, versions, sizes) is tested directly. */
#include "fixture.h"

#include "cache.h"
#include "http.h"
#include "registry.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- a client --------------------------------------------------------- */

typedef struct {
    int status;
    char *body; /* NUL-terminated */
    size_t len;
} s_reply_t;

static s_reply_t s_get(int port, const char *path)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(fd, (struct sockaddr *) &sa, sizeof sa) == 0);
    char req[1024];
    int n =
        snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
    CHECK(write(fd, req, (size_t) n) == n);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    CHECK(buf);
    for (;;) {
        if (len + 1 == cap) {
            buf = realloc(buf, cap *= 2);
            CHECK(buf);
        }
        ssize_t got = read(fd, buf + len, cap - len - 1);
        CHECK(got >= 0);
        if (got == 0)
            break;
        len += (size_t) got;
    }
    close(fd);
    buf[len] = '\0';
    s_reply_t r = {0};
    CHECK(sscanf(buf, "HTTP/1.1 %d", &r.status) == 1);
    char *body = strstr(buf, "\r\n\r\n");
    CHECK(body);
    body += 4;
    r.len = len - (size_t) (body - buf);
    r.body = malloc(r.len + 1);
    CHECK(r.body);
    memcpy(r.body, body, r.len + 1);
    free(buf);
    return r;
}

/* The value of a sample in the /metrics text. */
static long long s_metric(int port, const char *name)
{
    s_reply_t r = s_get(port, "/metrics");
    CHECK_EQ(r.status, 200);
    char pattern[128];
    snprintf(pattern, sizeof pattern, "\n%s ", name);
    const char *at = strstr(r.body, pattern);
    CHECK(at);
    long long v = atoll(at + strlen(pattern));
    free(r.body);
    return v;
}

/* ---- the ledger and the server ---------------------------------------- */

static int64_t s_month(int k)
{
    return T_2026_03 + (int64_t) k * 30 * 86400; /* k = -2 .. 6: January .. September */
}

/* fx_answers in any month: an event id's prefix is its month (the
 * collector checks it), which events.h fixes at 2026-03. */
static void s_answers(fx_t *fx, int f, int people, const char *item, int value, int mode, int64_t when)
{
    uint8_t *ev[500];
    size_t lens[500];
    CHECK(people <= 500);
    time_t t = (time_t) when;
    struct tm tm;
    gmtime_r(&t, &tm);
    for (int i = 0; i < people; i++, fx->next++) {
        uint8_t id[16], pseudonym[32];
        ev_id(id, fx->next);
        be32_put(id, (uint32_t) (tm.tm_year + 1900 - 1970) * 12 + (uint32_t) tm.tm_mon);
        ev_pseudonym(pseudonym, fx->next);
        Finsam__V1__Answer a = FINSAM__V1__ANSWER__INIT, *ap = &a;
        a.item = (char *) item;
        a.value = value;
        Finsam__V1__ParticipantSurvey s = FINSAM__V1__PARTICIPANT_SURVEY__INIT;
        s.pseudonym = (ProtobufCBinaryData){32, pseudonym};
        s.instrument = "deltagare_avslut";
        s.mode = mode;
        s.n_answers = 1;
        s.answers = &ap;
        Finsam__V1__Event e = FINSAM__V1__EVENT__INIT;
        e.id = (ProtobufCBinaryData){16, id};
        e.forbund = (char *) fx_forbund[f];
        e.occurred_at = when;
        e.catalogue_version = 1;
        e.body_case = FINSAM__V1__EVENT__BODY_PARTICIPANT_SURVEY;
        e.participant_survey = &s;
        ev[i] = ev_pack(&e, &lens[i]);
    }
    fx_store(fx, f, ev, lens, people, people);
}

/* Four förbund over up to nine months of two items, in both modes: enough
 * small cells that primary and complementary suppression and the audits
 * all have work, and enough large ones that most rows show. */
static void s_fill(fx_t *fx, int first_month, int months)
{
    for (int k = first_month; k < first_month + months; k++)
        for (int f = 0; f < 4; f++) {
            s_answers(fx, f, 3 + (f * 7 + (k + 2) * 5) % 15, "d_behov", 1 + (f + k + 2) % 5,
                      1 + (f + k + 2) % 2, s_month(k));
            s_answers(fx, f, 2 + (f * 3 + (k + 2) * 4) % 11, "d_planering", 1 + (f + 2 * k + 4) % 5,
                      1 + (f + k + 3) % 2, s_month(k));
        }
}

static http_t *s_serve(fx_t *fx, long cache_bytes, const char *registry_file)
{
    http_config_t cfg = {.address = "127.0.0.1",
                         .protect = fx->protect,
                         .cache_bytes = cache_bytes,
                         .registry_file = registry_file};
    http_t *h = http_new(&cfg, fx->ledger, fx->cat, NULL);
    CHECK(h);
    return h;
}

/* The answer of `finsamctl query --format json` for q, dumped as the API
 * dumps it (compact). */
static char *s_fresh(fx_t *fx, const catalogue_t *cat, const char *measure, const char *forbund,
                     const char *period, const char *slice)
{
    query_t q = {
        .measure = measure, .forbund = forbund, .period = period, .slice = slice, .protect = fx->protect};
    json_t *out = NULL;
    char err[QUERY_ERR_LEN];
    CHECK_EQ(query_run(fx->ledger, cat, &q, &out, err, sizeof err), FIN_OK);
    char *text = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    CHECK(text);
    return text;
}

/* The path of /api/indicators for these parameters (NULL: left out). */
static void s_path(char *out, size_t outlen, const char *measure, const char *forbund, const char *period,
                   const char *slice)
{
    size_t used = (size_t) snprintf(out, outlen, "/api/indicators?period=%s", period);
    if (measure)
        used += (size_t) snprintf(out + used, outlen - used, "&measure=%s", measure);
    if (forbund)
        used += (size_t) snprintf(out + used, outlen - used, "&forbund=%s", forbund);
    if (slice) {
        used += (size_t) snprintf(out + used, outlen - used, "&slice=");
        for (const char *c = slice; *c && used + 4 < outlen; c++)
            used += (size_t) snprintf(out + used, outlen - used, *c == '=' ? "%%3D" : "%c", *c);
    }
}

/* GETs the query twice (the first may compute, the second may be kept)
 * and checks both against a fresh query_run. Returns the answer. */
static char *s_same_as_fresh(fx_t *fx, const catalogue_t *cat, int port, const char *measure,
                             const char *forbund, const char *period, const char *slice)
{
    char path[256];
    s_path(path, sizeof path, measure, forbund, period, slice);
    char *fresh = s_fresh(fx, cat, measure, forbund, period, slice ? slice : "all");
    for (int i = 0; i < 2; i++) {
        s_reply_t r = s_get(port, path);
        CHECK_EQ(r.status, 200);
        if (strcmp(r.body, fresh) && getenv("CACHE_TEST_DUMP")) {
            FILE *a = fopen("/tmp/cache_test.http", "w"), *b = fopen("/tmp/cache_test.fresh", "w");
            fputs(r.body, a);
            fputs(fresh, b);
            fclose(a);
            fclose(b);
        }
        if (strcmp(r.body, fresh))
            tu_check_failed(__FILE__, __LINE__, "%s (request %d): %zu bytes, fresh %zu", path, i + 1, r.len,
                            strlen(fresh));
        free(r.body);
    }
    return fresh;
}

static const char *const s_measures[] = {NULL, "1", "2", "i1_behov"};
static const char *const s_forbund[] = {NULL, "NV", "HBS", "XX"};
static const char *const s_periods[] = {"year", "quarter", "month", "2026", "2026-Q1", "2026-Q3", "2026-03"};
static const char *const s_slices[] = {NULL, "mode=project", "mode=integrated"};

/* Every combination of the lists above, each asked twice. */
static void s_all_combinations(fx_t *fx, int port)
{
    for (size_t m = 0; m < TU_NELEMS(s_measures); m++)
        for (size_t f = 0; f < TU_NELEMS(s_forbund); f++)
            for (size_t p = 0; p < TU_NELEMS(s_periods); p++)
                for (size_t s = 0; s < TU_NELEMS(s_slices); s++)
                    free(s_same_as_fresh(fx, fx->cat, port, s_measures[m], s_forbund[f], s_periods[p],
                                         s_slices[s]));
}

/* ---- cases ------------------------------------------------------------ */

static void test_kept_answers_are_fresh_bytes(void)
{
    fx_t fx;
    fx_open(&fx);
    s_fill(&fx, -2, 7);
    fx_publish(&fx);
    http_t *h = s_serve(&fx, 0, NULL);
    int port = http_port(h);
    long long hits = s_metric(port, "finsam_http_cache_hits_total");
    s_all_combinations(&fx, port);
    /* Every second request of a combination was served from the cache. */
    long long served = s_metric(port, "finsam_http_cache_hits_total") - hits;
    CHECK(served >= (long long) (TU_NELEMS(s_measures) * TU_NELEMS(s_forbund) * TU_NELEMS(s_periods) *
                                 TU_NELEMS(s_slices)));
    http_destroy(&h);
    fx_close(&fx);
}

/* A new publication is served at once, and so are cells that arrive
 * before it (they are unknowns in the suppression of what is published). */
static void test_publication_and_new_cells_seen(void)
{
    fx_t fx;
    fx_open(&fx);
    s_fill(&fx, -2, 4);
    fx_publish(&fx);
    http_t *h = s_serve(&fx, 0, NULL);
    int port = http_port(h);
    char *first = s_same_as_fresh(&fx, fx.cat, port, NULL, NULL, "month", NULL);
    char *one = s_same_as_fresh(&fx, fx.cat, port, "1", NULL, "quarter", NULL);
    /* Answers of two more months are stored, not yet published: their
     * cells are absent rows now. */
    s_fill(&fx, 2, 2);
    char *between = s_same_as_fresh(&fx, fx.cat, port, NULL, NULL, "month", NULL);
    free(s_same_as_fresh(&fx, fx.cat, port, "1", NULL, "quarter", NULL));
    /* Published: the answer moves (at least its publication's seq). */
    fx_publish(&fx);
    char *after = s_same_as_fresh(&fx, fx.cat, port, NULL, NULL, "month", NULL);
    char *one_after = s_same_as_fresh(&fx, fx.cat, port, "1", NULL, "quarter", NULL);
    CHECK(strcmp(first, after) != 0);
    CHECK(strcmp(between, after) != 0);
    CHECK(strcmp(one, one_after) != 0);
    /* Nothing new: a publication that finds nothing to do writes nothing,
     * and the kept answer is still the fresh one. */
    fx_publish(&fx);
    long long hits = s_metric(port, "finsam_http_cache_hits_total");
    free(s_same_as_fresh(&fx, fx.cat, port, NULL, NULL, "month", NULL));
    CHECK_EQ(s_metric(port, "finsam_http_cache_hits_total") - hits, 2);
    /* More answers into cells that exist (same förbund, month and mode as
     * s_fill's first month): stored, not published, no new cell. The
     * answer depends on neither, so the kept one is sent. */
    s_answers(&fx, 0, 4, "d_behov", 3, 1, s_month(-2));
    hits = s_metric(port, "finsam_http_cache_hits_total");
    free(s_same_as_fresh(&fx, fx.cat, port, NULL, NULL, "month", NULL));
    CHECK_EQ(s_metric(port, "finsam_http_cache_hits_total") - hits, 2);
    /* A new cell of one measure (i1_planering in a new month) leaves the
     * answers about another (i1_behov) as they were: still kept; the
     * measure's own and the national table are computed again. */
    free(s_same_as_fresh(&fx, fx.cat, port, "i1_behov", NULL, "month", NULL));
    free(s_same_as_fresh(&fx, fx.cat, port, "i1_planering", NULL, "month", NULL));
    s_answers(&fx, 1, 6, "d_planering", 4, 2, s_month(6));
    hits = s_metric(port, "finsam_http_cache_hits_total");
    long long misses = s_metric(port, "finsam_http_cache_misses_total");
    free(s_same_as_fresh(&fx, fx.cat, port, "i1_behov", NULL, "month", NULL));
    CHECK_EQ(s_metric(port, "finsam_http_cache_hits_total") - hits, 2);
    free(s_same_as_fresh(&fx, fx.cat, port, "i1_planering", NULL, "month", NULL));
    free(s_same_as_fresh(&fx, fx.cat, port, NULL, NULL, "month", NULL));
    CHECK_EQ(s_metric(port, "finsam_http_cache_misses_total") - misses, 2);
    free(first);
    free(one);
    free(between);
    free(after);
    free(one_after);
    http_destroy(&h);
    fx_close(&fx);
}

/* Without a cache, and with one too small for most answers, the answers
 * are the same bytes. */
static void test_no_cache_and_small_cache(void)
{
    fx_t fx;
    fx_open(&fx);
    s_fill(&fx, -2, 7);
    fx_publish(&fx);
    http_t *h = s_serve(&fx, -1, NULL);
    int port = http_port(h);
    free(s_same_as_fresh(&fx, fx.cat, port, NULL, NULL, "quarter", NULL));
    free(s_same_as_fresh(&fx, fx.cat, port, "1", "NV", "2026-Q1", NULL));
    CHECK_EQ(s_metric(port, "finsam_events_in_log") > 0, 1);
    http_destroy(&h);
    h = s_serve(&fx, 64 << 10, NULL);
    port = http_port(h);
    for (int round = 0; round < 2; round++)
        for (size_t p = 0; p < TU_NELEMS(s_periods); p++)
            for (size_t m = 0; m < TU_NELEMS(s_measures); m++)
                free(s_same_as_fresh(&fx, fx.cat, port, s_measures[m], NULL, s_periods[p], NULL));
    CHECK(s_metric(port, "finsam_http_cache_bytes") <= 64 << 10);
    http_destroy(&h);
    fx_close(&fx);
}

/* A förbund renamed in the registry is named anew in the next answer. */
static void test_registry_change_seen(void)
{
    fx_t fx;
    fx_open(&fx);
    s_fill(&fx, -2, 3);
    fx_publish(&fx);
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/forbund.json", tu_tempdir());
    registry_t *reg = NULL;
    CHECK_EQ(registry_load(&reg, path, fx.cat, err, sizeof err), FIN_OK);
    CHECK_EQ(registry_save(reg, path, err, sizeof err), FIN_OK);
    http_t *h = s_serve(&fx, 0, path);
    int port = http_port(h);
    free(s_same_as_fresh(&fx, fx.cat, port, "1", NULL, "year", NULL));
    CHECK_EQ(registry_rename(reg, "NV", "Samordningsförbundet Nytt Namn", err, sizeof err), FIN_OK);
    /* A new inode: the server's next request sees the change, whatever
     * the file system's time resolution. */
    CHECK_EQ(registry_save(reg, path, err, sizeof err), FIN_OK);
    /* The catalogue as the server reloads it (registry_live_get). */
    catalogue_t *renamed = NULL;
    registry_t *saved = NULL;
    CHECK_EQ(catalogue_load(&renamed, NULL, err, sizeof err), 0);
    CHECK_EQ(registry_load(&saved, path, renamed, err, sizeof err), FIN_OK);
    CHECK_EQ(registry_apply(saved, renamed), 0);
    registry_destroy(&saved);
    char *fresh = s_same_as_fresh(&fx, renamed, port, "1", NULL, "year", NULL);
    CHECK(strstr(fresh, "Samordningsförbundet Nytt Namn"));
    free(fresh);
    catalogue_destroy(&renamed);
    registry_destroy(&reg);
    http_destroy(&h);
    fx_close(&fx);
}

/* ---- the cache's own list --------------------------------------------- */

static struct MHD_Response *s_response(void)
{
    static char body[] = "{}";
    struct MHD_Response *r = MHD_create_response_from_buffer(2, body, MHD_RESPMEM_PERSISTENT);
    CHECK(r);
    return r;
}

static int s_put(cache_t *c, const char *key, const char *version, size_t bytes)
{
    struct MHD_Response *r = s_response();
    int rc = cache_put(c, key, version, strlen(version), r, bytes);
    if (rc < 0)
        MHD_destroy_response(r);
    return rc;
}

static bool s_has(cache_t *c, const char *key, const char *version)
{
    return cache_get(c, key, version, strlen(version)) != NULL;
}

static void test_cache_evicts_least_recent(void)
{
    cache_t *c = cache_new(1000);
    CHECK(c);
    uint64_t epoch = 1;
    cache_set_epoch(c, &epoch, sizeof epoch);
    CHECK_EQ(s_put(c, "a", "v", 300), 0);
    CHECK_EQ(s_put(c, "b", "v", 300), 0);
    CHECK_EQ(s_put(c, "c", "v", 300), 0);
    CHECK(s_has(c, "a", "v")); /* a is now the most recent: b goes first */
    CHECK_EQ(s_put(c, "d", "v", 300), 0);
    CHECK(!s_has(c, "b", "v"));
    CHECK(s_has(c, "a", "v") && s_has(c, "c", "v") && s_has(c, "d", "v"));
    cache_stats_t s = cache_stats(c);
    CHECK_EQ(s.entries, 3);
    CHECK_EQ(s.bytes, 900);
    CHECK_EQ(s.dropped, 1);
    /* Larger than half the cache: not kept, the caller keeps its response. */
    CHECK_EQ(s_put(c, "e", "v", 501), -1);
    /* The same key again: replaced, counted once. */
    CHECK_EQ(s_put(c, "a", "v", 100), 0);
    s = cache_stats(c);
    CHECK_EQ(s.entries, 3);
    CHECK_EQ(s.bytes, 700);
    cache_destroy(&c);
    CHECK(!c);
}

static void test_cache_versions_and_epochs(void)
{
    cache_t *c = cache_new(1 << 20);
    uint64_t epoch = 1;
    cache_set_epoch(c, &epoch, sizeof epoch);
    CHECK_EQ(s_put(c, "a", "v1", 10), 0);
    CHECK_EQ(s_put(c, "b", "v1", 10), 0);
    /* Another version of a key: not found, and replaced when kept. */
    CHECK(!s_has(c, "a", "v2"));
    CHECK_EQ(s_put(c, "a", "v2", 10), 0);
    CHECK(s_has(c, "a", "v2") && !s_has(c, "a", "v1"));
    CHECK_EQ(cache_stats(c).entries, 2);
    cache_set_epoch(c, &epoch, sizeof epoch); /* the same: kept */
    CHECK(s_has(c, "b", "v1"));
    epoch = 2;
    cache_set_epoch(c, &epoch, sizeof epoch);
    CHECK(!s_has(c, "b", "v1"));
    cache_stats_t s = cache_stats(c);
    CHECK_EQ(s.entries, 0);
    CHECK_EQ(s.bytes, 0);
    CHECK_EQ(s.hits, 2);
    CHECK_EQ(s.misses, 3);
    /* A cache of 0 bytes keeps nothing. */
    cache_t *none = cache_new(0);
    CHECK_EQ(s_put(none, "a", "v", 1), -1);
    cache_destroy(&none);
    cache_destroy(&c);
}

static const test_case_t s_cases[] = {
    {"kept answers are a fresh query's bytes", test_kept_answers_are_fresh_bytes},
    {"a publication and new cells are seen", test_publication_and_new_cells_seen},
    {"no cache, and a small one", test_no_cache_and_small_cache},
    {"a registry change is seen", test_registry_change_seen},
    {"the cache evicts the least recent", test_cache_evicts_least_recent},
    {"versions of an answer, epochs of the cache", test_cache_versions_and_epochs},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
