/* leak_centre_test.c: nothing identifying reaches the centre. The site's
 * half (tests/agents/leak_test.c) proves what the agent keeps and prints;
 * this is the collector's: the same exports (tests/leakscan.h: personnummer
 * in every spelling, a samordningsnummer, a centenarian's '+', names,
 * e-mail addresses and phone numbers in every column, field and free text,
 * under file names made of them) are imported by a real agent, typed and
 * through the spool, CSV with a mapping and JSONL, good ones and ones the
 * agent must refuse, beside 2,000 demo events of the same förbund so that
 * the identified people sit in cells that are really published. A real
 * collector (HTTP on, streams on, publishing every second, logging at
 * debug) stores them all.
 *
 * Then every byte the centre holds or emits is read and searched for every
 * needle: every file under the collector's data directory (ledger
 * data.mdb and lock.mdb, keys, both allow-lists) after it stopped, its
 * log, a `finsamctl backup`, every finsamctl output (status, query and
 * query --exact as JSON and CSV for year, quarter and month, export and
 * export --exact as CSV and JSON, protection, rebuild --verify), every HTTP
 * endpoint with headers (indicators per period, status, catalogue,
 * protection, export.csv, export.json, metrics, health, the dashboard's
 * files), the live stream as raw frames for an "all" key (events, exact
 * cells, publication) and an aggregates key, a raw snapshot for each key
 * (exact cells; the publication), `finsamctl tail` of the whole event log
 * from sequence 1 and an aggregates key's `tail agg.` snapshot. Zero hits.
 *
 * Controls: every needle occurs in the source exports; a needle planted at
 * the end of the collector's log and one written into a copy of the ledger
 * file are found, each once, with exactly the needles they contain; the
 * digits of other numbers (a mean's fraction, a hex id) are not taken for
 * a needle, while a birth date standing alone is (leakscan.h); and the
 * codes that do travel ("steg1", "deltagare_avslut") are found in the
 * ledger and in the tailed events, so the scan sees what the centre
 * stores.
 *
 * One case: a scenario whose steps depend on each other. */
#include "cluster.h"
#include "codec.h"
#include "leakscan.h"
#include "testutil.h"
#include "util.h"

#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static cluster_t s_c;
static char s_site[400], s_exports[420], s_spool[420], s_cfg[420], s_map[420];
static char s_outputs[400]; /* everything the centre printed or served, one file each */

static void s_write_bytes(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    CHECK(f);
    CHECK(fwrite(data, 1, len, f) == len);
    CHECK(fclose(f) == 0);
}

typedef struct {
    char *data;
    size_t len, cap;
} s_buf_t;

static void s_buf_add(s_buf_t *b, const void *data, size_t len)
{
    if (b->len + len + 1 > b->cap) {
        b->cap = 2 * (b->len + len + 1);
        CHECK((b->data = realloc(b->data, b->cap)) != NULL);
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

/* ---- the live stream, as raw frames ----------------------------------- */

/* A subscriber in this process with no prefix (everything its key may
 * read), keeping every frame it receives. */
typedef struct {
    const char *name;
    zsock_t *live;
    int64_t renew_ms;
    s_buf_t frames;
    bool ok, ended;
    uint64_t last_ev;
    long events, cells, aggs;
} s_listener_t;

static s_listener_t s_all, s_agg;

static void s_listen(s_listener_t *l, const char *name, const char *key)
{
    memset(l, 0, sizeof *l);
    l->name = name;
    l->live = cluster_subscriber(&s_c, key, s_c.stream_events, NULL, false);
    zsock_set_rcvtimeo(l->live, 0);
    l->renew_ms = clock_mono_ms() + 1000;
}

/* Reads what waits; renews the subscription every second (it expires
 * after 6 s without). */
static void s_listener_read(s_listener_t *l)
{
    if (clock_mono_ms() >= l->renew_ms) {
        cluster_subscribe(l->live, NULL);
        l->renew_ms = clock_mono_ms() + 1000;
    }
    zmsg_t *m;
    while ((m = zmsg_recv(l->live))) {
        for (zframe_t *f = zmsg_first(m); f; f = zmsg_next(m))
            s_buf_add(&l->frames, zframe_data(f), zframe_size(f));
        zframe_t *topic = zmsg_first(m), *seq = zmsg_next(m);
        CHECK(topic && seq && zframe_size(seq) == 8);
        const char *t = (const char *) zframe_data(topic);
        size_t tl = zframe_size(topic);
        if (tl >= 12 && !memcmp(t, "subscribe.ok", 12)) {
            l->ok = true;
        } else if (tl >= 13 && !memcmp(t, "subscribe.end", 13)) {
            l->ended = true;
        } else if (tl >= 3 && !memcmp(t, "ev.", 3)) {
            l->events++;
            uint64_t s = be64_get(zframe_data(seq));
            l->last_ev = s > l->last_ev ? s : l->last_ev;
        } else if (tl >= 5 && !memcmp(t, "cell.", 5)) {
            l->cells++;
        } else {
            CHECK(tl >= 4 && !memcmp(t, "agg.", 4));
            l->aggs++;
        }
        zmsg_destroy(&m);
    }
}

/* Waits up to wait_ms for a message on either listener, then reads both. */
static void s_pump(int wait_ms)
{
    zmq_pollitem_t items[] = {{zsock_resolve(s_all.live), 0, ZMQ_POLLIN, 0},
                              {zsock_resolve(s_agg.live), 0, ZMQ_POLLIN, 0}};
    zmq_poll(items, 2, wait_ms);
    s_listener_read(&s_all);
    s_listener_read(&s_agg);
    CHECK(!s_all.ended && !s_agg.ended);
}

/* Polls pred while keeping the listeners read and subscribed. */
static void s_wait(bool (*pred)(void *), void *arg, int timeout_ms, const char *what)
{
    int64_t deadline = clock_mono_ms() + timeout_ms;
    while (!pred(arg)) {
        if (clock_mono_ms() > deadline) {
            char *log = tu_read_file(s_c.log);
            size_t len = log ? strlen(log) : 0;
            fprintf(stderr, "timed out waiting for %s; end of the collector's log:\n%s\n", what,
                    log ? log + (len > 4000 ? len - 4000 : 0) : "");
            free(log);
            CHECK(!"timed out");
        }
        s_pump(100);
    }
}

/* A whole snapshot by replay (KIND_SNAPSHOT, chunk after chunk), as raw
 * frames: an "all" key's is the exact cells, an aggregates key's the
 * publication. Returns the number of data messages. */
static long s_snapshot(const char *key, s_buf_t *out)
{
    char path[512];
    snprintf(path, sizeof path, "%s_secret", key);
    zcert_t *mine = zcert_load(path);
    snprintf(path, sizeof path, "%s/keys/collector.key", s_c.cdir);
    zcert_t *server = zcert_load(path);
    CHECK(mine && server);
    zsock_t *s = zsock_new(ZMQ_DEALER);
    CHECK(s);
    zcert_apply(mine, s);
    zsock_set_curve_serverkey(s, zcert_public_txt(server));
    zsock_set_linger(s, 0);
    zsock_set_rcvtimeo(s, 20000);
    CHECK(zsock_connect(s, "%s", s_c.stream_replay) == 0);
    zcert_destroy(&mine);
    zcert_destroy(&server);
    uint8_t after[64];
    size_t afterlen = 0;
    long messages = 0;
    for (bool done = false; !done;) {
        Finsam__V1__ReplayRequest r = FINSAM__V1__REPLAY_REQUEST__INIT;
        r.kind = FINSAM__V1__REPLAY_REQUEST__KIND__KIND_SNAPSHOT;
        r.has_limit = 1;
        r.limit = 1000;
        if (afterlen) {
            r.has_after_key = 1;
            r.after_key = (ProtobufCBinaryData){afterlen, after};
        }
        size_t len;
        uint8_t *req = codec_pack(&r.base, &len);
        CHECK(req && zsock_send(s, "b", req, len) == 0);
        free(req);
        for (;;) {
            zmsg_t *m = zmsg_recv(s);
            CHECK(m);
            for (zframe_t *f = zmsg_first(m); f; f = zmsg_next(m))
                s_buf_add(out, zframe_data(f), zframe_size(f));
            zframe_t *topic = zmsg_first(m), *seq = zmsg_next(m), *body = zmsg_next(m);
            CHECK(topic && seq && body);
            if (zframe_streq(topic, "replay.end")) {
                Finsam__V1__ReplayEnd *e =
                    finsam__v1__replay_end__unpack(NULL, zframe_size(body), zframe_data(body));
                CHECK(e && !e->has_error);
                done = e->done || !e->has_next_key;
                CHECK(done || e->next_key.len <= sizeof after);
                if (!done) {
                    memcpy(after, e->next_key.data, e->next_key.len);
                    afterlen = e->next_key.len;
                }
                finsam__v1__replay_end__free_unpacked(e, NULL);
                zmsg_destroy(&m);
                break;
            }
            messages++;
            zmsg_destroy(&m);
        }
        s_pump(0); /* keep the live subscriptions renewed */
    }
    zsock_destroy(&s);
    return messages;
}

/* ---- the operator's tools and the HTTP API ----------------------------- */

/* Runs finsamctl on the collector's data directory; its stdout and stderr
 * go to OUTPUTS/ctl-NAME.txt. Must exit 0. */
static void s_ctl(const char *name, const char *const *args)
{
    char *argv[24] = {(char *) tu_bin("finsamctl"), "-d", s_c.cdir};
    int n = 3;
    for (; *args && n < 23; args++)
        argv[n++] = (char *) *args;
    argv[n] = NULL;
    char out[512];
    snprintf(out, sizeof out, "%s/ctl-%s.txt", s_outputs, name);
    int rc = tu_run(argv, out, 120000);
    if (rc != 0)
        fprintf(stderr, "finsamctl %s exited %d:\n%s\n", name, rc, tu_read_file(out));
    CHECK_EQ(rc, 0);
    struct stat st;
    CHECK(stat(out, &st) == 0 && st.st_size > 0);
}

/* GET path; the whole answer (headers too) goes to OUTPUTS/http-NAME.txt.
 * Must answer 200 with a body. */
static void s_http(const char *name, const char *path)
{
    int status;
    size_t len;
    char *text = cluster_http_get(&s_c, path, &status, &len);
    if (status != 200)
        fprintf(stderr, "GET %s: %d\n%s\n", path, status, text);
    CHECK_EQ(status, 200);
    char *body = strstr(text, "\r\n\r\n");
    CHECK(body && body + 4 < text + len);
    char out[512];
    snprintf(out, sizeof out, "%s/http-%s.txt", s_outputs, name);
    s_write_bytes(out, text, len);
    free(text);
}

/* ---- waiting on the collector ----------------------------------------- */

static bool s_exists(void *path)
{
    return access(path, F_OK) == 0;
}

static bool s_listening(void *arg)
{
    (void) arg;
    return s_all.ok && s_agg.ok;
}

/* Everything stored, published (the publication reflects the whole log),
 * every event seen live by the "all" key, cells and publication rows seen
 * live by both keys. */
static bool s_delivered(void *arg)
{
    long long want = *(long long *) arg;
    if (s_all.last_ev < (uint64_t) want || !s_all.cells || !s_all.aggs || !s_agg.aggs)
        return false;
    json_t *st = cluster_status(&s_c);
    long long stored = json_integer_value(json_object_get(st, "events_in_log"));
    long long pub = json_integer_value(json_object_get(json_object_get(st, "publication"), "seq"));
    json_decref(st);
    CHECK(stored <= want);
    return stored == want && pub >= want;
}

/* Live: at least as many exact cells (all key) and publication rows (both
 * keys) as the snapshots hold. */
static bool s_live_complete(void *arg)
{
    const long *want = arg;
    return s_all.cells >= want[0] && s_all.aggs >= want[1] && s_agg.aggs >= want[1];
}

/* ---- the test ---------------------------------------------------------- */

/* Drops an export into the spool as staff should (a dot name, then
 * renamed) and waits for the agent's report on it. */
static void s_drop(leakscan_export_t kind, int month, long no, const char *outcome, size_t *rows)
{
    static char text[1 << 16];
    char tmp[512], final[768], report[512];
    *rows = leakscan_export(kind, month, text, sizeof text);
    snprintf(tmp, sizeof tmp, "%s/.incoming", s_spool);
    snprintf(final, sizeof final, "%s/%s", s_spool, leakscan_export_name(kind, true));
    CHECK_EQ(tu_write_file(tmp, text), 0);
    CHECK_EQ(rename(tmp, final), 0);
    snprintf(report, sizeof report, "%s/reports/%06ld-%s.txt", s_spool, no, outcome);
    s_wait(s_exists, report, 60000, report);
}

/* A control scan found the planted needle and exactly the needles that are
 * part of it (a 12-digit personnummer holds its 10-digit form and the
 * birth date), each once. */
static void s_check_planted(const leakscan_t *sc, const char *planted)
{
    int want = 0;
    for (int k = 0; k < sc->n; k++) {
        bool in = strstr(planted, sc->needles[k]) != NULL;
        if (sc->found[k] != in)
            fprintf(stderr, "planted \"%s\": needle \"%s\" found %d times\n", planted, sc->needles[k],
                    sc->found[k]);
        CHECK_EQ(sc->found[k], in);
        want += in;
    }
    CHECK(want >= 1);
    CHECK_EQ(sc->hits, want);
}

static void test_nothing_identifying_reaches_the_centre(void)
{
    static char text[1 << 16];
    cluster_init(&s_c);
    snprintf(s_site, sizeof s_site, "%s/site", s_c.dir);
    snprintf(s_exports, sizeof s_exports, "%s/exports", s_site);
    snprintf(s_spool, sizeof s_spool, "%s/spool", s_site);
    snprintf(s_cfg, sizeof s_cfg, "%s/agent.ini", s_site);
    snprintf(s_map, sizeof s_map, "%s/enkat.ini", s_site);
    snprintf(s_outputs, sizeof s_outputs, "%s/outputs", s_c.dir);
    char *mk[] = {"/bin/mkdir", "-p", s_exports, s_spool, s_outputs, NULL};
    CHECK_EQ(tu_run(mk, NULL, 10000), 0);
    CHECK_EQ(tu_write_file(s_cfg, "[spool]\nspool-retention-days = 0\n\n" LEAKSCAN_INSATSER_INI), 0);
    CHECK_EQ(tu_write_file(s_map, LEAKSCAN_MAPPING_INI), 0);
    char all[320], agg[320], nv[320];
    cluster_add_subscriber(&s_c, "all", "all", all, sizeof all);
    cluster_add_subscriber(&s_c, "agg", "aggregates", agg, sizeof agg);
    cluster_add_agent(&s_c, "nv", "NV", true, nv, sizeof nv);

    /* 1. At the site, before the collector runs: the four exports typed
     * (two imported, two refused whole), and demo events of the same
     * förbund. */
    size_t imported = 0;
    for (int k = 0; k < LEAKSCAN_NEXPORTS; k++) {
        bool good = k == LEAKSCAN_GOOD_CSV || k == LEAKSCAN_GOOD_JSONL;
        bool csv = k == LEAKSCAN_GOOD_CSV || k == LEAKSCAN_BAD_CSV;
        size_t rows = leakscan_export(k, 1 + k, text, sizeof text);
        char path[768];
        snprintf(path, sizeof path, "%s/%s", s_exports, leakscan_export_name(k, false));
        CHECK_EQ(tu_write_file(path, text), 0);
        const char *args[] = {"-c", s_cfg, "import", path, csv ? "--mapping" : NULL, s_map, NULL};
        CHECK_EQ(cluster_agent(&s_c, nv, 60000, args), good ? 0 : 65);
        imported += good ? rows : 0;
    }
    const char *demo[] = {"demo", "--events", "2000", "--seed", "5", "--no-send", NULL};
    CHECK_EQ(cluster_agent(&s_c, nv, 120000, demo), 0);
    long long queued = cluster_agent_queue(&s_c, nv);
    CHECK_EQ(queued, 2000 + (long long) imported);

    /* 2. The collector, and a subscriber of each access listening live. */
    cluster_start_collector_http(&s_c);
    s_listen(&s_all, "all", all);
    s_listen(&s_agg, "aggregates", agg);
    s_wait(s_listening, NULL, 20000, "subscribe.ok");

    /* 3. The agent sends its queue and imports what is dropped into the
     * spool meanwhile. */
    const char *run[] = {"-c", s_cfg, "--mapping", s_map, "--spool", s_spool, "run", NULL};
    pid_t agent = cluster_agent_spawn(&s_c, nv, run);
    size_t rows;
    s_drop(LEAKSCAN_GOOD_CSV, 5, 1, "done", &rows);
    imported += rows;
    s_drop(LEAKSCAN_BAD_CSV, 0, 2, "rejected", &rows);
    s_drop(LEAKSCAN_GOOD_JSONL, 6, 3, "done", &rows);
    imported += rows;
    s_drop(LEAKSCAN_BAD_JSONL, 0, 4, "rejected", &rows);
    long long want = 2000 + (long long) imported;
    s_wait(s_delivered, &want, 120000, "delivery and a publication covering the log");
    tu_kill(agent, SIGTERM);
    CHECK_EQ(cluster_stored(&s_c, "NV"), want);
    CHECK_EQ(cluster_agent_queue(&s_c, nv), 0); /* every event acknowledged */
    fprintf(stderr, "delivered and published: %lld events, %zu of them from the rows full of identifiers\n",
            want, imported);

    /* 4. Every channel. The operator's tool ... */
    const char *periods[] = {"year", "quarter", "month"};
    for (int i = 0; i < 3; i++) {
        const char *formats[] = {"json", "csv"};
        for (int f = 0; f < 2; f++) {
            char name[64];
            snprintf(name, sizeof name, "query-%s-%s", periods[i], formats[f]);
            s_ctl(name, (const char *[]){"query", "--format", formats[f], "--period", periods[i], NULL});
            snprintf(name, sizeof name, "query-exact-%s-%s", periods[i], formats[f]);
            s_ctl(name,
                  (const char *[]){"query", "--format", formats[f], "--period", periods[i], "--exact", NULL});
        }
    }
    s_ctl("export-csv", (const char *[]){"export", NULL});
    s_ctl("export-json", (const char *[]){"export", "--format", "json", NULL});
    s_ctl("export-exact-csv", (const char *[]){"export", "--exact", NULL});
    s_ctl("export-exact-json", (const char *[]){"export", "--format", "json", "--exact", NULL});
    s_ctl("status", (const char *[]){"status", NULL});
    s_ctl("status-json", (const char *[]){"status", "--format", "json", NULL});
    s_ctl("protection", (const char *[]){"protection", NULL});
    s_ctl("rebuild-verify", (const char *[]){"rebuild", "--verify", NULL});
    char backup[400];
    snprintf(backup, sizeof backup, "%s/backup", s_c.dir);
    s_ctl("backup", (const char *[]){"backup", backup, NULL});
    s_pump(0);

    /* ... the HTTP API and the dashboard ... */
    for (int i = 0; i < 3; i++) {
        char name[64], path[128];
        snprintf(name, sizeof name, "indicators-%s", periods[i]);
        snprintf(path, sizeof path, "/api/indicators?period=%s", periods[i]);
        s_http(name, path);
    }
    s_http("indicators-project", "/api/indicators?period=month&slice=mode%3Dproject");
    s_http("status", "/api/status");
    s_http("catalogue", "/api/catalogue");
    s_http("protection", "/api/protection");
    s_http("export-csv", "/export.csv");
    s_http("export-json", "/export.json");
    s_http("metrics", "/metrics");
    s_http("healthz", "/healthz");
    s_http("readyz", "/readyz");
    s_http("index", "/");
    s_http("app-js", "/app.js");
    s_http("style-css", "/style.css");
    s_pump(0);

    /* ... and the streams: the whole event log from sequence 1 and the
     * publication's snapshot, as finsamctl tail prints them; both
     * snapshots raw; and what arrived live. */
    char out[512], count[32];
    snprintf(out, sizeof out, "%s/tail-all-events.json", s_outputs);
    snprintf(count, sizeof count, "%lld", want);
    pid_t t = cluster_tail_spawn(&s_c, all, s_c.stream_events, out,
                                 (const char *[]){"--from", "1", "--count", count, NULL});
    int rc;
    while ((rc = tu_wait(t, 100)) == -1)
        s_pump(0);
    CHECK_EQ(rc, 0);
    CHECK_EQ(tu_count_in_file(out, "\"seq\":"), want);
    snprintf(out, sizeof out, "%s/tail-agg-snapshot.json", s_outputs);
    t = cluster_tail_spawn(&s_c, agg, s_c.stream_aggregates, out,
                           (const char *[]){"agg.", "--from", "0", "--idle-exit-ms", "500", NULL});
    while ((rc = tu_wait(t, 100)) == -1)
        s_pump(0);
    CHECK_EQ(rc, 0);
    CHECK(tu_count_in_file(out, "\"cell\"") > 0);
    s_buf_t snap = {0};
    long exact_cells = s_snapshot(all, &snap);
    snprintf(out, sizeof out, "%s/stream-snapshot-all.bin", s_outputs);
    s_write_bytes(out, snap.data, snap.len);
    snap.len = 0;
    long published = s_snapshot(agg, &snap);
    snprintf(out, sizeof out, "%s/stream-snapshot-aggregates.bin", s_outputs);
    s_write_bytes(out, snap.data, snap.len);
    free(snap.data);
    CHECK(exact_cells > 0 && published > 0);
    /* Every cell and publication row in the snapshots changed after the
     * listeners had subscribed to an empty log, so each was sent live at
     * least once: wait until it has arrived. */
    long live_want[2] = {exact_cells, published};
    s_wait(s_live_complete, live_want, 60000, "every snapshot cell and row live");
    s_listener_t *ls[] = {&s_all, &s_agg};
    for (int i = 0; i < 2; i++) {
        snprintf(out, sizeof out, "%s/stream-live-%s.bin", s_outputs, ls[i]->name);
        s_write_bytes(out, ls[i]->frames.data, ls[i]->frames.len);
        free(ls[i]->frames.data);
        zsock_destroy(&ls[i]->live);
    }
    fprintf(stderr,
            "streams: %ld events from sequence 1 by tail; snapshots of %ld exact cells (all key) and %ld "
            "publication rows (aggregates key); live: %ld events, %ld cells, %ld publication rows (all key), "
            "%ld publication rows (aggregates key)\n",
            (long) want, exact_cells, published, s_all.events, s_all.cells, s_all.aggs, s_agg.aggs);
    cluster_stop_collector(&s_c, SIGTERM); /* its data directory and log are final now */

    /* 5. The scan. The controls first: every needle was written into the
     * exports (contents or names) ... */
    static leakscan_t control, planted, sc, codes;
    leakscan_init(&control, true);
    leakscan_tree(&control, s_exports);
    for (int k = 0; k < control.n; k++)
        if (!control.found[k])
            fprintf(stderr, "control: \"%s\" was never written\n", control.needles[k]);
    for (int k = 0; k < control.n; k++)
        CHECK(control.found[k] > 0);
    /* ... a needle planted at the end of the collector's log is found ... */
    const leakscan_person_t *p2 = leakscan_person(2);
    s_buf_t log = {0};
    char *logtext = tu_read_file(s_c.log);
    CHECK(logtext);
    s_buf_add(&log, logtext, strlen(logtext));
    free(logtext);
    s_buf_add(&log, p2->email, strlen(p2->email));
    leakscan_init(&planted, true);
    leakscan_buffer(&planted, "the log + a needle", log.data, log.len);
    s_check_planted(&planted, p2->email);
    free(log.data);
    /* ... the digits of other numbers (a mean's fraction, a hex id) are
     * not a needle, a birth date standing alone is ... */
    const leakscan_person_t *p0 = leakscan_person(0);
    char numbers[160], alone[64];
    snprintf(numbers, sizeof numbers, "\"ci95\":[3.45%s,4.2%s5],\"id\":\"3fa%.6sbc\"", p0->pnr12 + 2,
             p0->mobile + 1, p0->pnr12 + 2);
    snprintf(alone, sizeof alone, "\"insats\":\"LQ-%.6s\"", p0->pnr12 + 2);
    leakscan_init(&planted, true);
    leakscan_buffer(&planted, "numbers", numbers, strlen(numbers));
    CHECK_EQ(planted.hits, 0);
    CHECK(planted.in_numbers >= 4); /* the pnr10, its birth date, the mobile's 9 digits, the hex */
    leakscan_buffer(&planted, "a code", alone, strlen(alone));
    CHECK_EQ(planted.hits, 1);
    /* ... and so is one written into the middle of a copy of the ledger
     * file (binary, in a directory of its own). */
    char copydir[400], path[512];
    snprintf(copydir, sizeof copydir, "%s/planted", s_c.dir);
    CHECK_EQ(mkdir(copydir, 0700), 0);
    snprintf(path, sizeof path, "%s/ledger/data.mdb", s_c.cdir);
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_size > 4096);
    char *mdb = malloc((size_t) st.st_size);
    FILE *f = fopen(path, "rb");
    CHECK(mdb && f && fread(mdb, 1, (size_t) st.st_size, f) == (size_t) st.st_size);
    fclose(f);
    char pnr[24]; /* a copy: leakscan_pnr's buffers rotate */
    snprintf(pnr, sizeof pnr, "%s", leakscan_pnr(p2, LEAKSCAN_PNR12_DASH));
    /* After a NUL, as a field stands in a record: the byte the copy
     * happens to hold there must not glue a letter or digit to the
     * birth date (leakscan.h: a birth date counts when it stands alone). */
    mdb[st.st_size / 2 - 1] = '\0';
    memcpy(mdb + st.st_size / 2, pnr, strlen(pnr));
    snprintf(path, sizeof path, "%s/data.mdb", copydir);
    s_write_bytes(path, mdb, (size_t) st.st_size);
    free(mdb);
    leakscan_init(&planted, true);
    leakscan_tree(&planted, copydir);
    CHECK_EQ(planted.files, 1);
    s_check_planted(&planted, pnr);

    /* The scan itself: every byte the centre holds or emitted. */
    leakscan_init(&sc, false);
    leakscan_tree(&sc, s_c.cdir);
    size_t data_files = sc.files, data_bytes = sc.file_bytes;
    leakscan_tree(&sc, backup);
    size_t backup_files = sc.files - data_files;
    leakscan_file(&sc, s_c.log);
    size_t before_outputs = sc.files;
    leakscan_tree(&sc, s_outputs);
    fprintf(stderr,
            "scanned %zu files, %zu bytes (data directory: %zu files, %zu bytes; backup: %zu files; the log; "
            "%zu outputs) for %d needles: %d hits (%zu all-digit matches inside other numbers not counted)\n",
            sc.files, sc.file_bytes, data_files, data_bytes, backup_files, sc.files - before_outputs, sc.n,
            sc.hits, sc.in_numbers);
    CHECK_EQ(sc.hits, 0);

    /* The scan would see text: the codes that travel are in the ledger and
     * in the events the stream gives. */
    const char *const travel[] = {"deltagare_avslut", "steg1", NULL};
    snprintf(path, sizeof path, "%s/ledger/data.mdb", s_c.cdir);
    leakscan_init_with(&codes, true, travel);
    leakscan_file(&codes, path);
    CHECK(codes.found[0] && codes.found[1]);
    snprintf(path, sizeof path, "%s/tail-all-events.json", s_outputs);
    leakscan_init_with(&codes, true, travel);
    leakscan_file(&codes, path);
    CHECK(codes.found[0] && codes.found[1]);
}

static const test_case_t s_cases[] = {
    {"nothing identifying reaches the centre", test_nothing_identifying_reaches_the_centre},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
