/* notify_test.c: the collector's sd_notify(3) messages, as systemd sees
 * them for a Type=notify unit (packaging/systemd/finsam-collector.service).
 *
 * The test plays systemd: a unix datagram socket in a temporary directory
 * is the collector's NOTIFY_SOCKET. A real collector (tests/e2e/cluster.c)
 * binds the ingest ROUTER, the streams and HTTP on ephemeral 127.0.0.1
 * ports and writes each bound address to a file; the moment READY=1
 * arrives every one of those files exists and the ingest and HTTP ports
 * accept a connection — so READY=1 never comes before the collector
 * listens. Then SIGHUP (systemctl reload) gives RELOADING=1 and READY=1,
 * SIGTERM gives STOPPING=1 and exit 0; check-config says nothing. The
 * agent (finsam-agent run) says READY=1 and STOPPING=1 as well. And with
 * JOURNAL_STREAM naming its stderr, every line the collector writes has
 * a journal priority (common/log.c). */
#include "testutil.h"

#include "cluster.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* Makes DIR/notify, a datagram socket, and points NOTIFY_SOCKET at it (the
 * collectors this case spawns inherit it). Returns the descriptor. */
static int s_notify_socket(const char *dir)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s/notify", dir);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CHECK(fd >= 0);
    CHECK(bind(fd, (struct sockaddr *) &a, sizeof a) == 0);
    CHECK(setenv("NOTIFY_SOCKET", a.sun_path, 1) == 0);
    return fd;
}

/* The next notification (one datagram, NUL-terminated) within timeout_ms;
 * false if none came. */
static bool s_next(int fd, char *out, size_t outlen, int timeout_ms)
{
    struct pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, timeout_ms) != 1)
        return false;
    ssize_t n = recv(fd, out, outlen - 1, 0);
    CHECK(n >= 0);
    out[n] = '\0';
    return true;
}

/* Whether a notification holds the assignment line `line` ("READY=1"). */
static bool s_says(const char *msg, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = msg; (p = strstr(p, line)) != NULL; p += n)
        if ((p == msg || p[-1] == '\n') && (p[n] == '\0' || p[n] == '\n'))
            return true;
    return false;
}

/* Whether 127.0.0.1:port accepts a TCP connection now. */
static bool s_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t) port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *) &a, sizeof a) == 0;
    close(fd);
    return ok;
}

/* The port of the first tcp://HOST:PORT in a file, or 0 (no file yet). */
static int s_port_in(const char *path)
{
    char *text = tu_read_file(path);
    if (!text)
        return 0;
    const char *colon = strrchr(text, ':');
    int port = atoi(colon ? colon + 1 : text);
    free(text);
    return port;
}

/* Starts a collector of cluster c with HTTP on an ephemeral port (the port
 * file is written at bind), as cluster_start_collector_http does but
 * without waiting for anything. */
static pid_t s_spawn_collector(cluster_t *c, const char *command)
{
    char **args = cluster_collector_argv(c, "info"), *argv[48];
    static char portfile[400];
    snprintf(portfile, sizeof portfile, "%s/http-port", c->dir);
    int n = 0;
    for (; args[n]; n++)
        argv[n] =
            !strcmp(args[n], "off") && n > 0 && !strcmp(args[n - 1], "--http") ? "127.0.0.1:0" : args[n];
    argv[n++] = "--http-port-file";
    argv[n++] = portfile;
    argv[n++] = (char *) command;
    argv[n] = NULL;
    return tu_spawn(argv, c->log);
}

/* Files the collector writes when it has bound a socket. */
static void s_paths(const cluster_t *c, char *ep, char *streams, char *http, size_t len)
{
    snprintf(ep, len, "%s/endpoint", c->dir);
    snprintf(streams, len, "%s/stream-endpoints", c->dir);
    snprintf(http, len, "%s/http-port", c->dir);
}

static void test_ready_after_listening(void)
{
    cluster_t c;
    cluster_init(&c);
    int fd = s_notify_socket(c.dir);
    char ep[400], streams[400], http[400], msg[4096];
    s_paths(&c, ep, streams, http, sizeof ep);
    c.collector = s_spawn_collector(&c, "run");

    /* Whatever comes first must be READY=1, and by then everything is
     * bound: the address files exist and the ports accept connections. */
    bool got = s_next(fd, msg, sizeof msg, 120000);
    if (!got)
        fprintf(stderr, "no notification; collector log:\n%s\n", tu_read_file(c.log));
    CHECK(got);
    CHECK(s_says(msg, "READY=1"));
    int ingest_port = s_port_in(ep), http_port = s_port_in(http);
    CHECK(ingest_port > 0);
    CHECK(http_port > 0);
    CHECK(s_port_in(streams) > 0);
    CHECK(s_accepts(ingest_port));
    CHECK(s_accepts(http_port));

    /* systemctl reload: RELOADING=1, then READY=1 once the lists are read. */
    CHECK(kill(c.collector, SIGHUP) == 0);
    CHECK(s_next(fd, msg, sizeof msg, 10000));
    CHECK(s_says(msg, "RELOADING=1"));
    CHECK(strstr(msg, "MONOTONIC_USEC="));
    CHECK(s_next(fd, msg, sizeof msg, 10000));
    CHECK(s_says(msg, "READY=1"));
    CHECK(tu_file_has(c.log, "RELOAD signal=SIGHUP"));

    /* systemctl stop: STOPPING=1, and a clean exit. */
    CHECK(kill(c.collector, SIGTERM) == 0);
    CHECK(s_next(fd, msg, sizeof msg, 20000));
    CHECK(s_says(msg, "STOPPING=1"));
    CHECK_EQ(tu_wait(c.collector, 20000), 0);
    c.collector = 0;
    close(fd);
}

static void test_check_config_is_silent(void)
{
    cluster_t c;
    cluster_init(&c);
    int fd = s_notify_socket(c.dir);
    char msg[4096];
    pid_t pid = s_spawn_collector(&c, "check-config");
    CHECK_EQ(tu_wait(pid, 30000), 0);
    /* The collector has exited: anything it sent is already queued. */
    bool got = s_next(fd, msg, sizeof msg, 0);
    if (got)
        fprintf(stderr, "check-config notified: %s\n", msg);
    CHECK(!got);
    close(fd);
}

static void test_without_notify_socket(void)
{
    /* No NOTIFY_SOCKET: the collector starts and stops as it always did. */
    unsetenv("NOTIFY_SOCKET");
    cluster_t c;
    cluster_init(&c);
    cluster_start_collector_http(&c);
    CHECK(s_accepts(c.http_port));
    cluster_stop_collector(&c, SIGTERM);
}

static void test_agent_ready(void)
{
    /* finsam-agent.service is Type=notify too: READY=1 once its outbox is
     * open and its socket set up, STOPPING=1 when it stops. */
    cluster_t c;
    cluster_init(&c);
    cluster_start_collector(&c);
    char agent[512], msg[4096];
    cluster_add_agent(&c, "nv", "NV", true, agent, sizeof agent);
    int fd = s_notify_socket(c.dir);
    pid_t pid = cluster_agent_spawn(&c, agent, (const char *const[]){"run", NULL});
    CHECK(s_next(fd, msg, sizeof msg, 120000));
    CHECK(s_says(msg, "READY=1"));
    CHECK(kill(pid, SIGTERM) == 0);
    CHECK(s_next(fd, msg, sizeof msg, 20000));
    CHECK(s_says(msg, "STOPPING=1"));
    CHECK_EQ(tu_wait(pid, 20000), 0);
    close(fd);
    cluster_stop_collector(&c, SIGTERM);
}

static void test_journal_stream(void)
{
    /* As under systemd: stderr is the journal's stream and JOURNAL_STREAM
     * names it (here the log file stands in for the stream). Every line
     * the collector writes carries a priority and no time. */
    cluster_t c;
    cluster_init(&c);
    int fd = s_notify_socket(c.dir);
    struct stat st;
    CHECK(stat(c.log, &st) == 0);
    off_t before = st.st_size; /* keygen's lines, written without it */
    char v[64], msg[4096];
    snprintf(v, sizeof v, "%llu:%llu", (unsigned long long) st.st_dev, (unsigned long long) st.st_ino);
    CHECK(setenv("JOURNAL_STREAM", v, 1) == 0);
    c.collector = s_spawn_collector(&c, "run");
    CHECK(s_next(fd, msg, sizeof msg, 120000) && s_says(msg, "READY=1"));
    CHECK(kill(c.collector, SIGTERM) == 0);
    CHECK_EQ(tu_wait(c.collector, 20000), 0);
    c.collector = 0;
    unsetenv("JOURNAL_STREAM");
    char *text = tu_read_file(c.log);
    CHECK(text);
    int lines = 0;
    for (char *line = strtok(text + before, "\n"); line; line = strtok(NULL, "\n"), lines++) {
        bool ok = (line[0] == '<' && strchr("3467", line[1]) && line[2] == '>');
        if (!ok)
            fprintf(stderr, "a line without a priority: %s\n", line);
        CHECK(ok);
    }
    free(text);
    CHECK(lines >= 3);
    CHECK(tu_file_has(c.log, "<6>INFO  collector LISTENING endpoint="));
    CHECK(tu_file_has(c.log, "<6>INFO  collector STOPPING"));
    close(fd);
}

static const test_case_t s_cases[] = {
    {"READY=1 only once listening, RELOADING on SIGHUP, STOPPING", test_ready_after_listening},
    {"check-config sends nothing", test_check_config_is_silent},
    {"without NOTIFY_SOCKET", test_without_notify_socket},
    {"the agent: READY=1, STOPPING=1", test_agent_ready},
    {"JOURNAL_STREAM: every line with its priority", test_journal_stream},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
