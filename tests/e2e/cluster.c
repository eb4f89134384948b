/* cluster.c: see cluster.h. */
#include "cluster.h"

#include "codec.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

static bool s_exists(void *path)
{
    return access(path, F_OK) == 0;
}

void cluster_init(cluster_t *c)
{
    memset(c, 0, sizeof *c);
    snprintf(c->dir, sizeof c->dir, "%s", tu_tempdir());
    snprintf(c->cdir, sizeof c->cdir, "%s/collector", c->dir);
    snprintf(c->log, sizeof c->log, "%s/collector.log", c->dir);
    snprintf(c->endpoint, sizeof c->endpoint, "tcp://127.0.0.1:%d", tu_free_port());
    char *argv[] = {(char *) tu_bin("finsam-collector"), "-d", c->cdir, "keygen", NULL};
    CHECK(tu_run(argv, c->log, 10000) == 0);
}

char **cluster_collector_argv(cluster_t *c, const char *log_level)
{
    static char epfile[400], sfile[400];
    static char *argv[32];
    snprintf(epfile, sizeof epfile, "%s/endpoint", c->dir);
    snprintf(sfile, sizeof sfile, "%s/stream-endpoints", c->dir);
    /* Stream ports: fixed per cluster after the first start, so
     * subscribers can reconnect across collector restarts. */
    if (!c->stream_events[0]) {
        snprintf(c->stream_events, sizeof c->stream_events, "tcp://127.0.0.1:%d", tu_free_port());
        snprintf(c->stream_aggregates, sizeof c->stream_aggregates, "tcp://127.0.0.1:%d", tu_free_port());
        snprintf(c->stream_replay, sizeof c->stream_replay, "tcp://127.0.0.1:%d", tu_free_port());
    }
    char *const args[] = {(char *) tu_bin("finsam-collector"), "-d", c->cdir, "--endpoint", c->endpoint,
                          "--endpoint-file", epfile, "--stream-events", c->stream_events,
                          "--stream-aggregates", c->stream_aggregates, "--stream-replay", c->stream_replay,
                          "--stream-endpoint-file", sfile, "--http", "off", "--log-level", (char *) log_level,
                          /* tests read the publication within a second */
                          "--publish-interval", "1", NULL};
    memcpy(argv, args, sizeof args);
    return argv;
}

static void s_start(cluster_t *c, bool http)
{
    char epfile[400], portfile[400];
    snprintf(epfile, sizeof epfile, "%s/endpoint", c->dir);
    snprintf(portfile, sizeof portfile, "%s/http-port", c->dir);
    unlink(epfile);
    unlink(portfile);
    char **args = cluster_collector_argv(c, "debug"), *argv[40];
    int n = 0;
    for (; args[n]; n++)
        argv[n] = args[n];
    if (c->catalogue) {
        argv[n++] = "--catalogue";
        argv[n++] = (char *) c->catalogue;
    }
    if (http) {
        for (int i = 1; i < n; i++)
            if (!strcmp(argv[i - 1], "--http"))
                argv[i] = "127.0.0.1:0";
        argv[n++] = "--http-port-file";
        argv[n++] = portfile;
    }
    argv[n] = NULL;
    c->collector = tu_spawn(argv, c->log);
    if (!tu_wait_for(s_exists, epfile, 20000) || (http && !tu_wait_for(s_exists, portfile, 20000))) {
        fprintf(stderr, "collector did not bind; log:\n%s\n", tu_read_file(c->log));
        CHECK(false);
    }
    if (http) {
        char *text = tu_read_file(portfile);
        CHECK(text);
        c->http_port = atoi(text);
        free(text);
        CHECK(c->http_port > 0);
    }
}

void cluster_start_collector(cluster_t *c)
{
    s_start(c, false);
}

void cluster_start_collector_http(cluster_t *c)
{
    s_start(c, true);
}

char *cluster_http_get(const cluster_t *c, const char *path, int *status, size_t *len)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct timeval tv = {20, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t) c->http_port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(fd, (struct sockaddr *) &a, sizeof a) == 0);
    char req[1024];
    int n = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    CHECK(n > 0 && (size_t) n < sizeof req && send(fd, req, (size_t) n, MSG_NOSIGNAL) == n);
    size_t cap = 65536, got = 0;
    char *buf = malloc(cap + 1);
    CHECK(buf);
    for (;;) {
        if (got == cap)
            CHECK((buf = realloc(buf, (cap *= 2) + 1)) != NULL);
        ssize_t r = recv(fd, buf + got, cap - got, 0);
        if (r <= 0)
            break;
        got += (size_t) r;
    }
    close(fd);
    buf[got] = '\0';
    *status = 0;
    sscanf(buf, "HTTP/1.%*d %d", status);
    *len = got;
    return buf;
}

void cluster_stop_collector(cluster_t *c, int sig)
{
    if (c->collector > 0) {
        kill(c->collector, sig);
        int rc = tu_wait(c->collector, 20000);
        if (sig == SIGTERM && rc != 0) {
            /* A clean stop exits 0; show why it did not (a sanitizer report, say). */
            char *text = tu_read_file(c->log);
            size_t len = text ? strlen(text) : 0;
            fprintf(stderr, "collector exited %d; end of its log:\n%s\n", rc,
                    text ? text + (len > 6000 ? len - 6000 : 0) : "(none)");
            free(text);
            CHECK_EQ(rc, 0);
        }
        c->collector = 0;
    }
}

void cluster_add_agent(cluster_t *c, const char *name, const char *forbund, bool allow, char *out,
                       size_t outlen)
{
    snprintf(out, outlen, "%s/%s", c->dir, name);
    char *argv[] = {
        (char *) tu_bin("finsam-agent"), "-d", out, "--forbund", (char *) forbund, "keygen", NULL};
    CHECK(tu_run(argv, c->log, 10000) == 0);
    char src[512], dst[512];
    snprintf(src, sizeof src, "%s/keys/collector.key", c->cdir);
    snprintf(dst, sizeof dst, "%s/keys/collector.key", out);
    char *text = tu_read_file(src);
    CHECK(text && tu_write_file(dst, text) == 0);
    free(text);
    if (allow) {
        snprintf(src, sizeof src, "%s/keys/agent.key", out);
        snprintf(dst, sizeof dst, "%s/agents/%s.key", c->cdir, name);
        text = tu_read_file(src);
        CHECK(text && tu_write_file(dst, text) == 0);
        free(text);
    }
}

void cluster_add_subscriber(cluster_t *c, const char *name, const char *access, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/sub-%s.key", c->dir, name);
    char *argv[] = {(char *) tu_bin("finsamctl"), "keygen", out, "--access", (char *) access, NULL};
    CHECK(tu_run(argv, c->log, 10000) == 0);
    char dst[512];
    snprintf(dst, sizeof dst, "%s/subscribers/%s.key", c->cdir, name);
    char *text = tu_read_file(out);
    CHECK(text && tu_write_file(dst, text) == 0);
    free(text);
}

static char **s_argv(const cluster_t *c, const char *agent_dir, const char *const *args)
{
    static char *argv[40];
    int n = 0;
    argv[n++] = (char *) tu_bin("finsam-agent");
    argv[n++] = "-d";
    argv[n++] = (char *) agent_dir;
    argv[n++] = "--collector";
    argv[n++] = (char *) c->endpoint;
    argv[n++] = "--log-level";
    argv[n++] = "warn";
    for (int i = 0; args[i] && n < 39; i++)
        argv[n++] = (char *) args[i];
    argv[n] = NULL;
    return argv;
}

static bool s_cells_caught_up(void *arg)
{
    const cluster_t *c = arg;
    char *argv[] = {(char *) tu_bin("finsamctl"), "-d", (char *) c->cdir, "status", "--format", "json", NULL};
    char *out = NULL;
    if (tu_capture(argv, &out, 20000) != 0) {
        free(out);
        return false;
    }
    json_t *j = json_loads(out ? out : "", 0, NULL);
    free(out);
    long long log = json_integer_value(json_object_get(j, "events_in_log")),
              cells = json_integer_value(json_object_get(json_object_get(j, "aggregation"), "cells_seq"));
    json_decref(j);
    return cells == log;
}

bool cluster_wait_cells(const cluster_t *c, int timeout_ms)
{
    return tu_wait_for(s_cells_caught_up, (void *) c, timeout_ms);
}

int cluster_agent(const cluster_t *c, const char *agent_dir, int timeout_ms, const char *const *args)
{
    char log[400];
    snprintf(log, sizeof log, "%s.log", agent_dir);
    int rc = tu_run(s_argv(c, agent_dir, args), log, timeout_ms);
    bool delivers = args[0] && (!strcmp(args[0], "run") || !strcmp(args[0], "demo"));
    for (int i = 1; delivers && args[i]; i++)
        delivers = strcmp(args[i], "--no-send") != 0;
    if (rc == 0 && delivers && c->collector > 0 && !c->cells_may_lag)
        CHECK(cluster_wait_cells(c, 60000));
    return rc;
}

pid_t cluster_agent_spawn(const cluster_t *c, const char *agent_dir, const char *const *args)
{
    char log[400];
    snprintf(log, sizeof log, "%s.log", agent_dir);
    return tu_spawn(s_argv(c, agent_dir, args), log);
}

json_t *cluster_status(const cluster_t *c)
{
    char *argv[] = {(char *) tu_bin("finsamctl"), "-d", (char *) c->cdir, "status", "--format", "json", NULL};
    char *out = NULL;
    CHECK(tu_capture(argv, &out, 20000) == 0);
    json_error_t e;
    json_t *j = json_loads(out, 0, &e);
    free(out);
    CHECK(j != NULL);
    return j;
}

long long cluster_stored(const cluster_t *c, const char *forbund)
{
    json_t *j = cluster_status(c);
    long long n = 0;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(j, "forbund"), i, f) {
        if (!strcmp(json_string_value(json_object_get(f, "forbund")), forbund))
            n = json_integer_value(json_object_get(f, "events_stored"));
    }
    json_decref(j);
    return n;
}

long long cluster_events_in_log(const cluster_t *c)
{
    json_t *j = cluster_status(c);
    long long n = json_integer_value(json_object_get(j, "events_in_log"));
    json_decref(j);
    return n;
}

long long cluster_agent_queue(const cluster_t *c, const char *agent_dir)
{
    char *argv[] = {(char *) tu_bin("finsam-agent"), "-d", (char *) agent_dir, "status", NULL};
    char *out = NULL;
    CHECK(tu_capture(argv, &out, 20000) == 0);
    long long n = -1;
    const char *p = out ? strstr(out, "queued") : NULL;
    if (p)
        sscanf(p, "queued%*[^0-9]%lld", &n);
    free(out);
    return n;
}

int cluster_rebuild_verify(const cluster_t *c)
{
    char *argv[] = {(char *) tu_bin("finsamctl"), "-d", (char *) c->cdir, "rebuild", "--verify", NULL};
    return tu_run(argv, c->log, 300000);
}

int cluster_ctl(const cluster_t *c, char **out, const char *const *args)
{
    char *argv[16] = {(char *) tu_bin("finsamctl"), "-d", (char *) c->cdir};
    int n = 3;
    for (int i = 0; args[i] && n < 15; i++)
        argv[n++] = (char *) args[i];
    argv[n] = NULL;
    char *text = NULL;
    int rc = tu_capture(argv, &text, 120000);
    fprintf(stderr, "finsamctl %s -> %d: %s", args[0], rc, text ? text : "\n");
    if (out)
        *out = text;
    else
        free(text);
    return rc;
}

zsock_t *cluster_raw_client(const cluster_t *c, const char *agent_dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/keys/agent.key_secret", agent_dir);
    zcert_t *mine = zcert_load(path);
    snprintf(path, sizeof path, "%s/keys/collector.key", c->cdir);
    zcert_t *server = zcert_load(path);
    CHECK(mine && server);
    zsock_t *s = zsock_new(ZMQ_DEALER);
    zcert_apply(mine, s);
    zsock_set_curve_serverkey(s, zcert_public_txt(server));
    zsock_set_rcvtimeo(s, 10000);
    zsock_set_linger(s, 0);
    CHECK(zsock_connect(s, "%s", c->endpoint) == 0);
    zcert_destroy(&mine);
    zcert_destroy(&server);
    return s;
}

pid_t cluster_tail_spawn(const cluster_t *c, const char *key, const char *endpoint, const char *out_path,
                         const char *const *extra)
{
    char keyfile[400], server[400];
    snprintf(keyfile, sizeof keyfile, "%s_secret", key);
    snprintf(server, sizeof server, "%s/keys/collector.key", c->cdir);
    char *argv[32] = {(char *) tu_bin("finsamctl"),
                      "-d",
                      (char *) c->cdir,
                      "tail",
                      "--key",
                      keyfile,
                      "--server-key",
                      server,
                      "--stream",
                      (char *) endpoint,
                      "--replay",
                      (char *) c->stream_replay,
                      "--format",
                      "json"};
    int n = 14;
    for (int i = 0; extra && extra[i] && n < 30; i++)
        argv[n++] = (char *) extra[i];
    argv[n] = NULL;
    return tu_spawn(argv, out_path);
}

void cluster_subscribe(zsock_t *s, const char *prefix)
{
    Finsam__V1__Subscribe sub = FINSAM__V1__SUBSCRIBE__INIT;
    char *p = (char *) prefix;
    sub.n_prefixes = prefix ? 1 : 0;
    sub.prefixes = prefix ? &p : NULL;
    size_t len;
    uint8_t *bytes = codec_pack(&sub.base, &len);
    CHECK(bytes);
    /* DONTWAIT: a subscriber that does not read may have a full queue; a
     * renewal that cannot go out now is not a test failure. */
    zmq_send(zsock_resolve(s), bytes, len, ZMQ_DONTWAIT);
    free(bytes);
}

zsock_t *cluster_subscriber(const cluster_t *c, const char *key, const char *endpoint, const char *prefix,
                            bool stuck)
{
    char path[512];
    snprintf(path, sizeof path, "%s_secret", key);
    zcert_t *mine = zcert_load(path);
    snprintf(path, sizeof path, "%s/keys/collector.key", c->cdir);
    zcert_t *server = zcert_load(path);
    CHECK(mine && server);
    zsock_t *s = zsock_new(ZMQ_DEALER);
    CHECK(s);
    zcert_apply(mine, s);
    zsock_set_curve_serverkey(s, zcert_public_txt(server));
    zsock_set_linger(s, 0);
    zsock_set_rcvhwm(s, stuck ? 100 : 100000);
    if (stuck)
        zsock_set_rcvbuf(s, 4096);
    CHECK(zsock_connect(s, "%s", endpoint) == 0);
    cluster_subscribe(s, prefix);
    zcert_destroy(&mine);
    zcert_destroy(&server);
    return s;
}
