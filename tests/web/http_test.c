/* http_test.c: the collector's HTTP server with real processes — a
 * finsam-collector with --http 127.0.0.1:0 fed by demo agents, asked over
 * a plain socket (a tiny HTTP/1.0 client, no library): every endpoint's
 * shape, the same numbers as finsamctl, suppression of a small förbund,
 * Prometheus names and values, 4xx for bad input without a crash, and the
 * bearer token when one is configured.
 *
 * The dashboard in a browser is tests/web/dashboard_browser_test.py. */
#include "catalogue.h"
#include "cell.h"
#include "cluster.h"
#include "query.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static cluster_t s_c;
static char s_nv[320], s_hbs[320], s_sd[320];
static int s_port;

/* ---- a minimal HTTP client ------------------------------------------- */

typedef struct {
    int status; /* 0 when the server closed without an answer */
    char *head; /* status line and headers */
    char *body;
    size_t body_len;
} reply_t;

static void s_reply_free(reply_t *r)
{
    free(r->head);
    r->head = r->body = NULL;
}

/* Sends raw bytes, reads until the server closes (HTTP/1.0). */
static reply_t s_raw(int port, const char *request, size_t len)
{
    reply_t r = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    /* An export runs one query per slice over every measure: about 5 s on
     * this data in a plain build, 25 s under AddressSanitizer. */
    struct timeval tv = {120, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(fd, (struct sockaddr *) &a, sizeof a) == 0);
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, request + off, len - off, MSG_NOSIGNAL);
        if (n <= 0)
            break; /* the server may close early on a bad request */
        off += (size_t) n;
    }
    size_t cap = 65536, got = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (got == cap)
            buf = realloc(buf, (cap *= 2) + 1);
        ssize_t n = recv(fd, buf + got, cap - got, 0);
        if (n <= 0)
            break;
        got += (size_t) n;
    }
    buf[got] = '\0';
    close(fd);
    r.head = buf;
    char *sep = strstr(buf, "\r\n\r\n");
    if (sep) {
        *sep = '\0';
        r.body = sep + 4;
        r.body_len = got - (size_t) (r.body - buf);
    } else {
        r.body = buf + got;
    }
    sscanf(buf, "HTTP/1.%*d %d", &r.status);
    return r;
}

static reply_t s_req(const char *method, const char *path, const char *headers)
{
    size_t len = strlen(path) + (headers ? strlen(headers) : 0) + 128;
    char *req = malloc(len);
    int n = snprintf(req, len, "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n%s\r\n", method, path,
                     headers ? headers : "");
    reply_t r = s_raw(s_port, req, (size_t) n);
    free(req);
    return r;
}

static reply_t s_get(const char *path)
{
    return s_req("GET", path, NULL);
}

static json_t *s_get_json(const char *path, int want_status)
{
    reply_t r = s_get(path);
    if (r.status != want_status)
        fprintf(stderr, "GET %s: %d\n%s\n%s\n", path, r.status, r.head, r.body);
    CHECK_EQ(r.status, want_status);
    CHECK(strstr(r.head, "Content-Type: application/json"));
    json_error_t e;
    json_t *j = json_loads(r.body, 0, &e);
    if (!j)
        fprintf(stderr, "GET %s: not JSON: %s\n", path, e.text);
    CHECK(j);
    s_reply_free(&r);
    return j;
}

/* ---- the collector ---------------------------------------------------- */

typedef struct {
    const char *path;
    pid_t pid;
} s_started_t;

/* The port file appeared, or the collector exited (checked without
 * reaping it, so tu_wait still gets its exit code). */
static bool s_started_or_gone(void *arg)
{
    s_started_t *s = arg;
    siginfo_t info = {0};
    if (waitid(P_PID, (id_t) s->pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == s->pid)
        return true;
    return access(s->path, F_OK) == 0;
}

/* Starts the collector with HTTP at `listen` (and a token file if given).
 * Returns -1 once it serves (s_port set), or its exit code if it refused
 * to start. */
static int s_start(const char *listen, const char *token_file)
{
    char epfile[400], portfile[400];
    snprintf(epfile, sizeof epfile, "%s/endpoint", s_c.dir);
    snprintf(portfile, sizeof portfile, "%s/http-port", s_c.dir);
    unlink(epfile);
    unlink(portfile);
    char *argv[24] = {(char *) tu_bin("finsam-collector"),
                      "-d",
                      s_c.cdir,
                      "--endpoint",
                      s_c.endpoint,
                      "--endpoint-file",
                      epfile,
                      "--stream-events",
                      "off",
                      "--http",
                      (char *) listen,
                      "--http-port-file",
                      portfile,
                      "--publish-interval",
                      "1"};
    int n = 15;
    if (token_file) {
        argv[n++] = "--http-token-file";
        argv[n++] = (char *) token_file;
    }
    argv[n] = NULL;
    s_c.collector = tu_spawn(argv, s_c.log);
    s_started_t started = {portfile, s_c.collector};
    CHECK(tu_wait_for(s_started_or_gone, &started, 20000));
    if (access(portfile, F_OK) != 0) {
        int rc = tu_wait(s_c.collector, 20000);
        s_c.collector = 0;
        return rc;
    }
    char *text = tu_read_file(portfile);
    CHECK(text);
    s_port = atoi(text);
    free(text);
    CHECK(s_port > 0);
    return -1;
}

typedef struct {
    long long want;
} s_count_t;

static bool s_all_stored(void *arg)
{
    json_t *st = s_get_json("/api/status", 200);
    long long n = json_integer_value(json_object_get(st, "events_in_log"));
    json_decref(st);
    return n >= ((s_count_t *) arg)->want;
}

/* Every reader sees the last publication (report/publish.h): wait for
 * one that covers the whole log. */
static bool s_all_published(void *arg)
{
    json_t *st = s_get_json("/api/status", 200);
    long long seq = json_integer_value(json_object_get(json_object_get(st, "publication"), "seq"));
    json_decref(st);
    return seq >= ((s_count_t *) arg)->want;
}

static void s_setup(void)
{
    cluster_init(&s_c);
    /* Two large förbund in two län, and one small one (a few participants
     * only) whose rows must all be suppressed. */
    cluster_add_agent(&s_c, "nv", "NV", true, s_nv, sizeof s_nv);
    cluster_add_agent(&s_c, "hbs", "HBS", true, s_hbs, sizeof s_hbs);
    cluster_add_agent(&s_c, "sd", "SD", true, s_sd, sizeof s_sd);
    const char *fill_nv[] = {"demo", "--events", "4000", "--seed", "1", "--no-send", NULL};
    const char *fill_hbs[] = {"demo", "--events", "4000", "--seed", "2", "--no-send", NULL};
    const char *fill_sd[] = {"demo", "--events", "8", "--seed", "3", "--no-send", NULL};
    CHECK_EQ(cluster_agent(&s_c, s_nv, 120000, fill_nv), 0);
    CHECK_EQ(cluster_agent(&s_c, s_hbs, 120000, fill_hbs), 0);
    CHECK_EQ(cluster_agent(&s_c, s_sd, 120000, fill_sd), 0);
    long long queued =
        cluster_agent_queue(&s_c, s_nv) + cluster_agent_queue(&s_c, s_hbs) + cluster_agent_queue(&s_c, s_sd);
    CHECK_EQ(s_start("127.0.0.1:0", NULL), -1);
    const char *run[] = {"run", "--exit-when-empty", NULL};
    CHECK_EQ(cluster_agent(&s_c, s_nv, 120000, run), 0);
    CHECK_EQ(cluster_agent(&s_c, s_hbs, 120000, run), 0);
    CHECK_EQ(cluster_agent(&s_c, s_sd, 120000, run), 0);
    s_count_t want = {queued};
    CHECK(tu_wait_for(s_all_stored, &want, 30000));
    CHECK(tu_wait_for(s_all_published, &want, 30000));
}

/* ---- cases ------------------------------------------------------------ */

static void test_health(void)
{
    json_t *j = s_get_json("/healthz", 200);
    CHECK(!strcmp(json_string_value(json_object_get(j, "status")), "ok"));
    json_decref(j);
    j = s_get_json("/readyz", 200);
    CHECK(!strcmp(json_string_value(json_object_get(j, "status")), "ready"));
    json_decref(j);
    reply_t r = s_req("HEAD", "/healthz", NULL);
    CHECK_EQ(r.status, 200);
    CHECK_EQ(r.body_len, 0);
    s_reply_free(&r);
}

/* The API answers exactly what `finsamctl query --format json` prints. */
static void test_indicators_same_as_ctl(void)
{
    const char *periods[] = {"year", "quarter", "month"};
    for (int i = 0; i < 3; i++) {
        char path[128];
        snprintf(path, sizeof path, "/api/indicators?period=%s&slice=mode%%3Dproject", periods[i]);
        json_t *http = s_get_json(path, 200);
        char *argv[] = {
            (char *) tu_bin("finsamctl"), "-d",      s_c.cdir,       "query", "--format", "json", "--period",
            (char *) periods[i],          "--slice", "mode=project", NULL};
        char *out = NULL;
        CHECK_EQ(tu_capture(argv, &out, 30000), 0);
        json_t *ctl = json_loads(out, 0, NULL);
        free(out);
        CHECK(ctl);
        CHECK(json_equal(http, ctl));
        json_decref(ctl);
        json_decref(http);
    }
    json_t *j = s_get_json("/api/indicators?period=quarter&measure=1&forbund=NV", 200);
    json_t *measures = json_object_get(j, "measures");
    CHECK(json_array_size(measures) >= 1);
    size_t i, k;
    json_t *m, *row;
    json_array_foreach(measures, i, m) {
        CHECK_EQ(json_integer_value(json_object_get(m, "indicator")), 1);
        CHECK(json_is_string(json_object_get(m, "id")) && json_is_string(json_object_get(m, "aggregate")));
        CHECK(json_is_string(json_object_get(m, "sv")) && json_is_string(json_object_get(m, "en")));
        CHECK(json_string_length(json_object_get(m, "definition_sv")) > 0 &&
              json_string_length(json_object_get(m, "definition_en")) > 0);
        CHECK(json_string_length(json_object_get(m, "indicator_sv")) > 0);
        CHECK(json_array_size(json_object_get(m, "rows")) > 0);
        json_array_foreach(json_object_get(m, "rows"), k, row) {
            const char *level = json_string_value(json_object_get(row, "level"));
            CHECK(level && json_is_string(json_object_get(row, "period")) &&
                  json_is_boolean(json_object_get(row, "suppressed")));
            if (!strcmp(level, "forbund"))
                CHECK(!strcmp(json_string_value(json_object_get(row, "name")), "NV"));
        }
    }
    json_decref(j);
}

static void s_check_rows(json_t *result, int k, int *suppressed_sd, int *visible_nv)
{
    size_t i, j;
    json_t *m, *row;
    json_array_foreach(json_object_get(result, "measures"), i, m) {
        int floor = (int) json_integer_value(json_object_get(m, "min_units"));
        json_array_foreach(json_object_get(m, "rows"), j, row) {
            const char *name = json_string_value(json_object_get(row, "name"));
            if (json_is_true(json_object_get(row, "suppressed"))) {
                /* No values at all ... */
                const char *no[] = {
                    "n",           "mean",        "sd",          "ci95",           "median",
                    "share",       "share_top",   "sum",         "median_days",    "q1_days",
                    "q3_days",     "mean_days",   "mean_change", "share_improved", "share_within_30_days",
                    "change_mean", "change_share"};
                for (size_t x = 0; x < sizeof no / sizeof *no; x++)
                    CHECK(json_object_get(row, no[x]) == NULL);
                /* ... nor its size: a hidden cell looks the same whatever hid it. */
                CHECK(json_object_get(row, "units") == NULL);
                if (!strcmp(name, "SD"))
                    (*suppressed_sd)++;
            } else {
                CHECK(json_is_integer(json_object_get(row, "units")));
                CHECK(json_integer_value(json_object_get(row, "units")) >= floor);
                CHECK(floor == 0 || floor >= k);
                /* The small förbund never shows a participant value. */
                if (!strcmp(name, "SD"))
                    CHECK(floor == 0);
                if (!strcmp(name, "NV"))
                    (*visible_nv)++;
            }
        }
    }
}

static void test_suppression(void)
{
    json_t *j = s_get_json("/api/indicators?period=year", 200);
    int sd = 0, nv = 0;
    s_check_rows(j, 5, &sd, &nv);
    /* SD's cells rest on fewer than 5 people: never shown with a value
     * (s_check_rows), and not even published until enough changed or
     * --publish-max-age passed, so they are absent or hidden. */
    CHECK(nv > 0);
    json_decref(j);
    /* The reader does not choose the protection: a threshold of their own
     * (higher or lower) is refused with the reason. */
    const char *asks[] = {"100000", "1000", "6", "1"};
    for (size_t i = 0; i < sizeof asks / sizeof *asks; i++) {
        char url[96];
        snprintf(url, sizeof url, "/api/indicators?period=year&min_units=%s", asks[i]);
        j = s_get_json(url, 400);
        CHECK(strstr(json_string_value(json_object_get(j, "error")), "min_units"));
        json_decref(j);
    }
}

static void test_status(void)
{
    json_t *j = s_get_json("/api/status", 200);
    CHECK(json_integer_value(json_object_get(j, "events_in_log")) > 8000);
    CHECK_EQ(json_array_size(json_object_get(j, "agents")), 3);
    /* Every registered förbund (the catalogue's seven here), named and
     * with its län; the four no agent has reported for are silent. */
    json_t *forbund = json_object_get(j, "forbund"), *f;
    CHECK_EQ(json_array_size(forbund), 7);
    size_t k;
    int heard = 0;
    json_array_foreach(forbund, k, f) {
        CHECK(json_is_string(json_object_get(f, "name")) && json_is_string(json_object_get(f, "lan")));
        CHECK(json_is_integer(json_object_get(f, "queued_at_site")));
        bool never = json_integer_value(json_object_get(f, "agents")) == 0;
        heard += !never;
        if (never)
            CHECK(json_is_true(json_object_get(f, "silent")) &&
                  json_integer_value(json_object_get(f, "last_seen_age_s")) == -1);
    }
    CHECK_EQ(heard, 3);
    CHECK(json_is_object(json_object_get(j, "rejects_by_reason")));
    CHECK_EQ(json_integer_value(json_object_get(j, "silent_agents")), 0);
    json_t *collector = json_object_get(j, "collector");
    CHECK(collector);
    CHECK_EQ(json_integer_value(json_object_get(collector, "last_seq")),
             json_integer_value(json_object_get(j, "events_in_log")));
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(j, "agents"), i, a) {
        CHECK(json_is_string(json_object_get(a, "forbund")) && json_is_string(json_object_get(a, "agent")));
        CHECK(json_is_integer(json_object_get(a, "last_seen_age_s")));
        CHECK(json_is_false(json_object_get(a, "silent")));
        CHECK(json_is_object(json_object_get(a, "rejects")));
    }
    json_decref(j);
}

static void test_catalogue(void)
{
    json_t *j = s_get_json("/api/catalogue", 200);
    size_t len;
    const char *text = catalogue_default_json(&len);
    json_t *want = json_loadb(text, len, 0, NULL);
    CHECK(want && json_equal(j, want));
    json_decref(want);
    json_decref(j);
}

/* The value of a sample line "name value" (exact name with labels). */
static double s_sample(const char *text, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (!strncmp(p, name, len) && p[len] == ' ')
            return strtod(p + len + 1, NULL);
    fprintf(stderr, "metric %s missing\n", name);
    CHECK(false);
    return 0;
}

static void test_metrics(void)
{
    json_t *st = s_get_json("/api/status", 200);
    double events = (double) json_integer_value(json_object_get(st, "events_in_log"));
    json_decref(st);
    reply_t r = s_get("/metrics");
    CHECK_EQ(r.status, 200);
    CHECK(strstr(r.head, "Content-Type: text/plain; version=0.0.4"));
    const char *t = r.body;
    CHECK(strstr(t, "# TYPE finsam_events_received_total counter"));
    CHECK(strstr(t, "# TYPE finsam_commit_latency_seconds histogram"));
    CHECK(s_sample(t, "finsam_events_stored_total") == events);
    CHECK(s_sample(t, "finsam_events_received_total") >= events);
    CHECK(s_sample(t, "finsam_events_in_log") == events);
    CHECK(s_sample(t, "finsam_log_last_sequence") == events);
    CHECK(s_sample(t, "finsam_events_duplicate_total") >= 0);
    CHECK(s_sample(t, "finsam_events_rejected_total{reason=\"forbidden\"}") == 0);
    CHECK(s_sample(t, "finsam_batches_total") > 0);
    double count = s_sample(t, "finsam_commit_latency_seconds_count");
    CHECK(count > 0 && count == s_sample(t, "finsam_commits_total"));
    CHECK(s_sample(t, "finsam_commit_latency_seconds_bucket{le=\"+Inf\"}") == count);
    CHECK(s_sample(t, "finsam_commit_latency_seconds_bucket{le=\"0.00025\"}") <= count);
    CHECK(s_sample(t, "finsam_commit_latency_seconds_sum") > 0);
    CHECK(s_sample(t, "finsam_lmdb_map_size_bytes") >= 1 << 20);
    double used = s_sample(t, "finsam_lmdb_map_used_bytes");
    CHECK(used > 0 && used <= s_sample(t, "finsam_lmdb_map_size_bytes"));
    CHECK(s_sample(t, "finsam_stream_subscribers") == 0);
    CHECK(s_sample(t, "finsam_replay_sessions") == 0);
    CHECK(s_sample(t, "finsam_start_time_seconds") > 1.6e9);
    CHECK(strstr(t, "finsam_agent_last_seen_age_seconds{forbund=\"NV\",agent=\""));
    CHECK(strstr(t, "finsam_agent_last_seen_age_seconds{forbund=\"SD\",agent=\""));
    s_reply_free(&r);
}

/* /export.csv is byte for byte `finsamctl export`; JSON carries all slices. */
static void test_export(void)
{
    reply_t r = s_get("/export.csv?period=quarter");
    CHECK_EQ(r.status, 200);
    CHECK(strstr(r.head, "Content-Type: text/csv; charset=utf-8"));
    CHECK(strstr(r.head, "Content-Disposition: attachment"));
    CHECK(!memcmp(r.body,
                  "\xEF\xBB\xBF"
                  "indikator;mått;",
                  3 + 15));
    CHECK(strstr(r.body, "\r\n"));
    CHECK(strstr(r.body, ";\"nej\";"));           /* the "suppressed" column */
    CHECK(strstr(r.body, "\"mode=integrated\"")); /* every slice */
    /* A decimal comma in a mean (digits,digits) and no decimal point. */
    bool comma = false;
    for (const char *p = r.body; *p; p++) {
        if (p > r.body && *p == ',' && p[-1] >= '0' && p[-1] <= '9' && p[1] >= '0' && p[1] <= '9')
            comma = true;
        CHECK(!(*p == '.' && p > r.body && p[-1] >= '0' && p[-1] <= '9' && p[1] >= '0' && p[1] <= '9'));
    }
    CHECK(comma);
    char *argv[] = {(char *) tu_bin("finsamctl"),
                    "-d",
                    s_c.cdir,
                    "export",
                    "--format",
                    "csv",
                    "--period",
                    "quarter",
                    NULL};
    char *out = NULL;
    CHECK_EQ(tu_capture(argv, &out, 60000), 0);
    CHECK(out && strlen(out) == r.body_len && !memcmp(out, r.body, r.body_len));
    free(out);
    s_reply_free(&r);

    json_t *j = s_get_json("/export.json?period=year", 200);
    CHECK_EQ(json_array_size(json_object_get(j, "slices")), 16);
    CHECK(json_is_string(json_object_get(j, "exported_at")));
    int sd = 0, nv = 0;
    s_check_rows(j, 5, &sd, &nv);
    CHECK(nv > 0);
    json_decref(j);
    char *argv2[] = {(char *) tu_bin("finsamctl"), "-d", s_c.cdir, "export", "--format", "xml", NULL};
    CHECK_EQ(tu_run(argv2, s_c.log, 30000), 64);
}

static void test_dashboard_files(void)
{
    const char *files[][2] = {{"/", "text/html"},
                              {"/index.html", "text/html"},
                              {"/app.js", "text/javascript"},
                              {"/style.css", "text/css"}};
    for (int i = 0; i < 4; i++) {
        reply_t r = s_get(files[i][0]);
        CHECK_EQ(r.status, 200);
        CHECK(strstr(r.head, files[i][1]));
        CHECK(strstr(r.head, "Content-Security-Policy: default-src 'none'"));
        CHECK(r.body_len > 100);
        /* Nothing is fetched from elsewhere: the only https:// in the
         * files open the vendored modules' header comment lines ("//
         * https://d3js.org/d3-axis/ v3.0.1 ..."), and the only http://
         * are the XML namespace names d3-selection knows. */
        for (const char *u = r.body; (u = strstr(u, "https://")); u++)
            CHECK(u - r.body >= 3 && !strncmp(u - 3, "// ", 3) && (u - 3 == r.body || u[-4] == '\n'));
        for (const char *u = r.body; (u = strstr(u, "http://")); u++)
            CHECK(!strncmp(u, "http://www.w3.org/", 18));
        s_reply_free(&r);
    }
    reply_t r = s_get("/");
    CHECK(strstr(r.body, "app.js") && strstr(r.body, "style.css"));
    s_reply_free(&r);
}

static void s_expect(const char *method, const char *path, int status)
{
    reply_t r = s_req(method, path, NULL);
    if (r.status != status)
        fprintf(stderr, "%s %.80s: got %d\n%s\n", method, path, r.status, r.body ? r.body : "");
    CHECK_EQ(r.status, status);
    if (status >= 400 && status != 431 && status != 414 && status != 413)
        CHECK(strstr(r.body, "\"error\":"));
    s_reply_free(&r);
}

/* `finsamctl ARGS...` with stdout and stderr in *text (caller frees);
 * returns its exit code. */
static int s_ctl_text(const char *const *args, char **text)
{
    char *argv[16] = {(char *) tu_bin("finsamctl"), "-d", s_c.cdir};
    int n = 3;
    for (; *args && n < 15; args++)
        argv[n++] = (char *) *args;
    argv[n] = NULL;
    char log[400];
    snprintf(log, sizeof log, "%s/ctl-text.log", s_c.dir);
    int rc = tu_run(argv, log, 60000);
    *text = tu_read_file(log);
    CHECK(*text);
    return rc;
}

/* "age=65+" as a query string value: '=' and '+' percent-encoded. */
static void s_url_slice(char *out, size_t outlen, const char *slice)
{
    size_t o = 0;
    for (; *slice && o + 4 < outlen; slice++)
        o += (size_t) (*slice == '='   ? snprintf(out + o, outlen - o, "%%3D")
                       : *slice == '+' ? snprintf(out + o, outlen - o, "%%2B")
                                       : snprintf(out + o, outlen - o, "%c", *slice));
    out[o] = '\0';
}

/* An unknown measure or slice is refused naming every valid one, the same
 * list on every channel: finsamctl query and export exit 64, the API
 * answers 400. The lists are cell.c's one list of slices and every
 * indicator number and measure id of the catalogue. Every slice of the
 * list is accepted by both. */
static void test_unknown_measure_and_slice(void)
{
    char slices[CELL_SLICE_LIST_LEN], measures[QUERY_ERR_LEN], err[256];
    catalogue_t *cat;
    CHECK(catalogue_load(&cat, NULL, err, sizeof err) == 0);
    query_measure_list(cat, measures, sizeof measures);
    catalogue_destroy(&cat);
    cell_slice_list(slices, sizeof slices);
    CHECK(strstr(slices, "gender=woman") && strstr(slices, "age=65+") && strstr(slices, "agency=af"));
    CHECK(strstr(measures, "i7_steg") && strstr(measures, "i11_kvar_12m") && strstr(measures, "16)"));
    const struct {
        const char *path, *want;
    } api[] = {
        {"/api/indicators?measure=99", measures},
        {"/api/indicators?measure=no_such_measure", measures},
        {"/api/indicators?measure=I7_STEG", measures}, /* refused for its characters */
        {"/export.json?measure=99", measures},
        {"/export.csv?measure=%3Cscript%3E", measures},
        {"/api/indicators?slice=gender%3Dnone", slices},
        {"/api/indicators?slice=age%3D16-30", slices},
        {"/api/indicators?slice=Gender%3DWoman", slices}, /* refused for its characters */
    };
    for (size_t i = 0; i < sizeof api / sizeof *api; i++) {
        json_t *j = s_get_json(api[i].path, 400);
        const char *e = json_string_value(json_object_get(j, "error"));
        if (!e || !strstr(e, api[i].want))
            fprintf(stderr, "GET %s: %s\n", api[i].path, e ? e : "(no error)");
        CHECK(e && strstr(e, api[i].want));
        json_decref(j);
    }
    const struct {
        const char *args[8], *want;
    } ctl[] = {
        {{"query", "--measure", "99", NULL}, measures},
        {{"query", "--measure", "no_such_measure", NULL}, measures},
        {{"export", "--measure", "99", NULL}, measures},
        {{"query", "--exact", "--measure", "99", NULL}, measures},
        {{"query", "--slice", "gender=none", NULL}, slices},
        {{"query", "--slice", "age=65", NULL}, slices},
    };
    for (size_t i = 0; i < sizeof ctl / sizeof *ctl; i++) {
        char *text;
        CHECK_EQ(s_ctl_text(ctl[i].args, &text), 64);
        CHECK(strstr(text, "finsamctl: ") && strstr(text, ctl[i].want));
        free(text);
    }
    /* Every slice of the list is a query on both (the unencoded '+' of
     * age=65+ too, which arrives as a space). */
    for (int i = 0; i < cell_slice_count(); i++) {
        char slice[32], enc[64], path[160];
        cell_slice_format(slice, sizeof slice, cell_slice_at(i));
        s_url_slice(enc, sizeof enc, slice);
        snprintf(path, sizeof path, "/api/indicators?measure=i7_steg&slice=%s", enc);
        json_t *j = s_get_json(path, 200);
        CHECK(!strcmp(json_string_value(json_object_get(j, "slice")), slice));
        json_decref(j);
        const char *args[] = {"query", "--measure", "i7_steg", "--slice", slice, NULL};
        char *text;
        CHECK_EQ(s_ctl_text(args, &text), 0);
        free(text);
    }
    json_decref(s_get_json("/api/indicators?measure=i7_steg&slice=age%3D65+", 200));
}

/* n of the exact view's förbund rows of `measure` in a slice, summed per
 * (förbund, period) into sums (keys "NV 2026"); returns the rows seen. */
static int s_exact_n(const char *measure, const char *slice, json_t *sums)
{
    const char *args[] = {"query", "--exact", "--format", "json", "--measure",
                          measure, "--slice", slice,      NULL};
    char *argv[16] = {(char *) tu_bin("finsamctl"), "-d", s_c.cdir};
    int n = 3;
    for (const char *const *a = args; *a; a++)
        argv[n++] = (char *) *a;
    argv[n] = NULL;
    char *out = NULL;
    CHECK_EQ(tu_capture(argv, &out, 60000), 0);
    json_t *j = json_loads(out, 0, NULL);
    CHECK(j);
    free(out);
    int rows = 0;
    size_t i;
    json_t *row;
    json_array_foreach(json_object_get(json_array_get(json_object_get(j, "measures"), 0), "rows"), i, row) {
        if (strcmp(json_string_value(json_object_get(row, "level")), "forbund"))
            continue;
        char key[64];
        snprintf(key, sizeof key, "%s %s", json_string_value(json_object_get(row, "name")),
                 json_string_value(json_object_get(row, "period")));
        json_int_t v =
            json_integer_value(json_object_get(sums, key)) + json_integer_value(json_object_get(row, "n"));
        json_object_set_new(sums, key, json_integer(v));
        rows++;
    }
    json_decref(j);
    return rows;
}

/* Paired measures are split by gender and age band like every participant
 * measure: in the operator's exact view the pairs of the gender slices add
 * up to all pairs of each förbund and year, and so do the age bands (the
 * demo gives everyone a gender and a birth year). */
static void test_paired_measures_sliced(void)
{
    static const char *const paired[] = {"i7_steg", "i2_inflytande_change", "i5_hantera_change",
                                         "i11_kvar_6m"};
    static const char *const genders[] = {"gender=woman", "gender=man", "gender=other"};
    static const char *const ages[] = {"age=16-29", "age=30-49", "age=50-64", "age=65+"};
    for (size_t m = 0; m < sizeof paired / sizeof *paired; m++) {
        json_t *all = json_object(), *by_gender = json_object(), *by_age = json_object();
        CHECK(s_exact_n(paired[m], "all", all) > 0);
        int rows = 0;
        for (size_t g = 0; g < 3; g++)
            rows += s_exact_n(paired[m], genders[g], by_gender);
        CHECK(rows > 0);
        for (size_t a = 0; a < 4; a++)
            s_exact_n(paired[m], ages[a], by_age);
        const char *key;
        json_t *v;
        long long pairs = 0;
        json_object_foreach(all, key, v) {
            pairs += json_integer_value(v);
            if (!json_equal(v, json_object_get(by_gender, key)) ||
                !json_equal(v, json_object_get(by_age, key)))
                fprintf(stderr, "%s %s: all %lld, by gender %lld, by age %lld\n", paired[m], key,
                        (long long) json_integer_value(v),
                        (long long) json_integer_value(json_object_get(by_gender, key)),
                        (long long) json_integer_value(json_object_get(by_age, key)));
            CHECK(json_equal(v, json_object_get(by_gender, key)));
            CHECK(json_equal(v, json_object_get(by_age, key)));
        }
        fprintf(stderr,
                "FIGURES paired_slices: %s pairs=%lld (förbund-years), equal to the sum of gender "
                "slices and of age bands\n",
                paired[m], pairs);
        json_decref(all);
        json_decref(by_gender);
        json_decref(by_age);
    }
}

static void test_bad_requests(void)
{
    s_expect("GET", "/nope", 404);
    s_expect("GET", "/api", 404);
    s_expect("GET", "/../../etc/passwd", 404);
    s_expect("POST", "/api/status", 405);
    s_expect("DELETE", "/metrics", 405);
    s_expect("GET", "/api/indicators?period=decade", 400);
    s_expect("GET", "/api/indicators?slice=mode%3Dother", 400);
    s_expect("GET", "/api/indicators?measure=no_such_measure", 400);
    s_expect("GET", "/api/indicators?measure=%3Cscript%3E", 400);
    s_expect("GET", "/api/indicators?forbund=N%00V", 400);
    s_expect("GET", "/api/indicators?forbund=", 400);
    s_expect("GET", "/api/indicators?forbund", 400);
    s_expect("GET", "/api/indicators?period=year&period=quarter", 400);
    s_expect("GET", "/api/indicators?colour=blue", 400);
    s_expect("GET", "/api/indicators?min_units=abc", 400);
    s_expect("GET", "/api/indicators?min_units=99999999999999999999", 400);
    s_expect("GET", "/api/status?x=1", 400);
    s_expect("GET", "/export.csv?slice=all", 400); /* export has every slice */
    s_expect("GET", "/export.json?period=2026-Q9", 400);
    char longval[400] = "/api/indicators?measure=";
    memset(longval + strlen(longval), 'a', 200);
    s_expect("GET", longval, 400);

    /* Oversized request line and headers: refused by microhttpd with a
     * 4xx (or the connection closed), never a crash. */
    size_t big = 100 * 1024;
    char *req = malloc(big + 256);
    int n = snprintf(req, 256, "GET /api/status?measure=");
    memset(req + n, 'a', big);
    memcpy(req + n + big, " HTTP/1.0\r\n\r\n", 14);
    reply_t r = s_raw(s_port, req, (size_t) n + big + 13);
    CHECK(r.status == 0 || (r.status >= 400 && r.status < 500));
    s_reply_free(&r);
    n = snprintf(req, 256, "GET /api/status HTTP/1.0\r\nX-Big: ");
    memset(req + n, 'b', big);
    memcpy(req + n + big, "\r\n\r\n", 5);
    r = s_raw(s_port, req, (size_t) n + big + 4);
    CHECK(r.status == 0 || (r.status >= 400 && r.status < 500));
    s_reply_free(&r);
    free(req);
    const char *garbage[] = {"BLAH\r\n\r\n", "GET\r\n\r\n", "\x01\x02\x03\r\n\r\n", "GET / HTTP/9.9\r\n\r\n"};
    for (int i = 0; i < 4; i++) {
        r = s_raw(s_port, garbage[i], strlen(garbage[i]));
        CHECK(r.status == 0 || (r.status >= 400 && r.status < 600));
        s_reply_free(&r);
    }
    /* Still serving. */
    json_t *j = s_get_json("/healthz", 200);
    json_decref(j);
}

static void test_token(void)
{
    /* This case stops the collector and starts it again with a token: a
     * cluster of its own, the one main() made goes on serving the others. */
    s_setup();
    cluster_stop_collector(&s_c, SIGTERM);
    char token[400];
    snprintf(token, sizeof token, "%s/http.token", s_c.dir);
    CHECK(tu_write_file(token, "s3cret-token-0123456789\n") == 0);
    /* A token others may read is refused, and so is a public address
     * without a token; neither starts serving. */
    chmod(token, 0644);
    CHECK_EQ(s_start("127.0.0.1:0", token), 69);
    chmod(token, 0600);
    CHECK_EQ(s_start("0.0.0.0:0", NULL), 69);
    char *bad[] = {
        (char *) tu_bin("finsam-collector"), "-d", s_c.cdir, "--http", "localhost", "check-config", NULL};
    CHECK_EQ(tu_run(bad, s_c.log, 20000), 64);

    CHECK_EQ(s_start("127.0.0.1:0", token), -1);
    const char *guarded[] = {"/api/status", "/api/indicators", "/api/catalogue", "/metrics",
                             "/readyz",     "/export.csv",     "/export.json"};
    for (size_t i = 0; i < sizeof guarded / sizeof *guarded; i++) {
        reply_t r = s_get(guarded[i]);
        CHECK_EQ(r.status, 401);
        CHECK(strstr(r.head, "WWW-Authenticate: Bearer"));
        CHECK(!strstr(r.body, "measures") && !strstr(r.body, "finsam_events"));
        s_reply_free(&r);
        r = s_req("GET", guarded[i], "Authorization: Bearer s3cret-token-012345678X\r\n");
        CHECK_EQ(r.status, 401);
        s_reply_free(&r);
        r = s_req("GET", guarded[i], "Authorization: Bearer s3cret-token-0123456789-and-more\r\n");
        CHECK_EQ(r.status, 401);
        s_reply_free(&r);
        r = s_req("GET", guarded[i], "Authorization: Basic czNjcmV0\r\n");
        CHECK_EQ(r.status, 401);
        s_reply_free(&r);
        r = s_req("GET", guarded[i], "Authorization: Bearer s3cret-token-0123456789\r\n");
        CHECK_EQ(r.status, 200);
        s_reply_free(&r);
    }
    /* Liveness and the page itself (no data in it) need no token. */
    json_t *j = s_get_json("/healthz", 200);
    json_decref(j);
    reply_t r = s_get("/");
    CHECK_EQ(r.status, 200);
    s_reply_free(&r);
    cluster_stop_collector(&s_c, SIGTERM);
}

static const test_case_t s_cases[] = {
    {"health", test_health},
    {"indicators same as finsamctl", test_indicators_same_as_ctl},
    {"suppression", test_suppression},
    {"status", test_status},
    {"catalogue", test_catalogue},
    {"metrics", test_metrics},
    {"export", test_export},
    {"dashboard files", test_dashboard_files},
    {"bad requests", test_bad_requests},
    {"unknown measure and slice", test_unknown_measure_and_slice},
    {"paired measures sliced", test_paired_measures_sliced},
    {"a token guards the API", test_token},
};

/* True if argv only asks for the list of cases or the usage: no cluster
 * is needed for that. */
static bool s_listing_only(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "-l") || !strcmp(argv[i], "--list") || !strcmp(argv[i], "-h") ||
            !strcmp(argv[i], "--help"))
            return true;
    return false;
}

int main(int argc, char **argv)
{
    /* One filled collector, started before the cases fork: they only read
     * it over HTTP and share it (test_token makes its own). */
    if (s_listing_only(argc, argv))
        return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
    s_setup();
    int rc = test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
    cluster_stop_collector(&s_c, SIGTERM); /* exits 0: checked here */
    return rc;
}
