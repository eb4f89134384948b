/* fault_network_test.c: network trouble between agents and the collector.
 * The agents connect through a TCP proxy (a thread of this test on
 * 127.0.0.1, its own ephemeral port) that
 *  - delays each direction's data by up to 30 ms and now and then stalls a
 *    direction for 1-3 s (longer than the agents' ack timeout, so batches
 *    are resent on a live connection),
 *  - delivers in small chunks of random size at random moments,
 *  - cuts every connection after 0.05-0.8 s: closing both sides at once
 *    (in-flight batches and acks lost), resetting them, or closing the
 *    agent's side first and handing the collector the old connection's
 *    pending bytes 0.1-0.6 s later, after the agent has reconnected and
 *    resent: stale batches then arrive after newer ones, i.e. reordered.
 * TCP never reorders within a connection, so that is where reordering
 * happens on a real network too: across connections. Delivery still
 * completes exactly once: the log holds each generated event once, the
 * outboxes are empty, `rebuild --verify` finds no difference.
 *
 * One case: a scenario whose steps depend on each other. */
#include "fault_util.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CONNS 64
#define BUF_CAP (1 << 20)

typedef struct {
    uint8_t *buf;
    size_t len;
    int64_t hold_until;
} s_pending_t;

typedef struct {
    int agent, collector; /* -1 when closed */
    s_pending_t to_collector, to_agent;
    int64_t cut_at;
    int64_t late_close_at; /* agent side gone, stale bytes still to hand over */
} s_conn_t;

typedef struct {
    int listen_fd, upstream_port, port;
    pthread_t thread;
    atomic_int stop;
    uint64_t rng;
    s_conn_t conns[MAX_CONNS];
    /* figures */
    long accepted, cuts_close, cuts_reset, cuts_late, stalls, chunks;
    long long bytes;
} s_proxy_t;

static long s_rand(s_proxy_t *p, long n)
{
    uint64_t z = (p->rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return n > 0 ? (long) (z % (uint64_t) n) : 0;
}

static void s_close(int *fd, bool reset)
{
    if (*fd < 0)
        return;
    if (reset) {
        struct linger l = {1, 0};
        setsockopt(*fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    close(*fd);
    *fd = -1;
}

static void s_conn_free(s_conn_t *k)
{
    s_close(&k->agent, false);
    s_close(&k->collector, false);
    free(k->to_collector.buf);
    free(k->to_agent.buf);
    memset(k, 0, sizeof *k);
    k->agent = k->collector = -1;
}

/* Data read from one side waits; its first byte sets when it may leave:
 * a short delay, or now and then a stall. */
static void s_take(s_proxy_t *p, int from, s_pending_t *q, int64_t now, s_conn_t *k)
{
    if (q->len >= BUF_CAP)
        return;
    ssize_t n = read(from, q->buf + q->len, BUF_CAP - q->len);
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        s_conn_free(k); /* a side closed: so does the proxy */
        return;
    }
    if (q->len == 0) {
        if (s_rand(p, 200) == 0) {
            q->hold_until = now + 1000 + s_rand(p, 2000);
            p->stalls++;
        } else {
            q->hold_until = now + s_rand(p, 30);
        }
    }
    q->len += (size_t) n;
}

/* Hands over one chunk of random size once the hold has passed. */
static void s_give(s_proxy_t *p, int to, s_pending_t *q, int64_t now, s_conn_t *k)
{
    if (q->len == 0 || now < q->hold_until || to < 0)
        return;
    size_t chunk = s_rand(p, 4) == 0 ? 1 + (size_t) s_rand(p, 64) : 1 + (size_t) s_rand(p, 16384);
    if (chunk > q->len)
        chunk = q->len;
    ssize_t n = write(to, q->buf, chunk);
    if (n < 0) {
        if (errno != EAGAIN && errno != EINTR)
            s_conn_free(k);
        return;
    }
    memmove(q->buf, q->buf + n, q->len - (size_t) n);
    q->len -= (size_t) n;
    p->bytes += n;
    p->chunks++;
    q->hold_until = now + (s_rand(p, 4) == 0 ? s_rand(p, 3) : 0);
}

static void s_accept(s_proxy_t *p, int64_t now)
{
    int a = accept(p->listen_fd, NULL, NULL);
    if (a < 0)
        return;
    s_conn_t *k = NULL;
    for (int i = 0; i < MAX_CONNS && !k; i++)
        if (p->conns[i].agent < 0 && p->conns[i].collector < 0)
            k = &p->conns[i];
    int u = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t) p->upstream_port)};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (!k || u < 0 || connect(u, (struct sockaddr *) &to, sizeof to) < 0) {
        close(a);
        if (u >= 0)
            close(u);
        return;
    }
    int one = 1;
    setsockopt(a, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    setsockopt(u, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    fcntl(a, F_SETFL, O_NONBLOCK);
    fcntl(u, F_SETFL, O_NONBLOCK);
    k->agent = a;
    k->collector = u;
    k->to_collector.buf = malloc(BUF_CAP);
    k->to_agent.buf = malloc(BUF_CAP);
    CHECK(k->to_collector.buf && k->to_agent.buf);
    k->cut_at = now + 50 + s_rand(p, 750);
    p->accepted++;
}

static void s_cut(s_proxy_t *p, s_conn_t *k, int64_t now)
{
    switch (s_rand(p, 3)) {
    case 0: /* both sides closed, in-flight data lost */
        p->cuts_close++;
        s_conn_free(k);
        break;
    case 1: /* both reset */
        p->cuts_reset++;
        s_close(&k->agent, true);
        s_close(&k->collector, true);
        s_conn_free(k);
        break;
    default: /* the agent sees a drop; the collector gets the rest late */
        p->cuts_late++;
        s_close(&k->agent, false);
        k->to_agent.len = 0;
        k->to_collector.hold_until = now + 100 + s_rand(p, 500);
        k->late_close_at = k->to_collector.hold_until + 200;
        break;
    }
}

static void *s_proxy_run(void *arg)
{
    s_proxy_t *p = arg;
    struct pollfd fds[1 + 2 * MAX_CONNS];
    while (!atomic_load(&p->stop)) {
        int64_t now = fault_now_ms();
        int n = 0;
        fds[n++] = (struct pollfd){p->listen_fd, POLLIN, 0};
        for (int i = 0; i < MAX_CONNS; i++) {
            s_conn_t *k = &p->conns[i];
            if (k->agent < 0 && k->collector < 0)
                continue;
            if (k->late_close_at == 0 && now >= k->cut_at)
                s_cut(p, k, now);
            else if (k->late_close_at && now >= k->late_close_at)
                s_conn_free(k);
            if (k->agent < 0 && k->collector < 0)
                continue;
            s_give(p, k->collector, &k->to_collector, now, k);
            s_give(p, k->agent, &k->to_agent, now, k);
        }
        for (int i = 0; i < MAX_CONNS; i++) {
            s_conn_t *k = &p->conns[i];
            if (k->agent >= 0)
                fds[n++] = (struct pollfd){k->agent, POLLIN, 0};
            if (k->collector >= 0 && k->late_close_at == 0)
                fds[n++] = (struct pollfd){k->collector, POLLIN, 0};
        }
        if (poll(fds, (nfds_t) n, 1) <= 0)
            continue;
        now = fault_now_ms();
        if (fds[0].revents & POLLIN)
            s_accept(p, now);
        for (int j = 1; j < n; j++) {
            if (!(fds[j].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            for (int i = 0; i < MAX_CONNS; i++) {
                s_conn_t *k = &p->conns[i];
                if (fds[j].fd == k->agent && k->agent >= 0)
                    s_take(p, k->agent, &k->to_collector, now, k);
                else if (fds[j].fd == k->collector && k->collector >= 0 && k->late_close_at == 0)
                    s_take(p, k->collector, &k->to_agent, now, k);
            }
        }
    }
    for (int i = 0; i < MAX_CONNS; i++)
        s_conn_free(&p->conns[i]);
    return NULL;
}

static void s_proxy_start(s_proxy_t *p, int upstream_port)
{
    memset(p, 0, sizeof *p);
    for (int i = 0; i < MAX_CONNS; i++)
        p->conns[i].agent = p->conns[i].collector = -1;
    p->upstream_port = upstream_port;
    p->rng = (uint64_t) fault_rand(1L << 62);
    p->listen_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    CHECK(p->listen_fd >= 0 && bind(p->listen_fd, (struct sockaddr *) &a, sizeof a) == 0);
    CHECK(listen(p->listen_fd, 64) == 0 && getsockname(p->listen_fd, (struct sockaddr *) &a, &len) == 0);
    p->port = ntohs(a.sin_port);
    CHECK(pthread_create(&p->thread, NULL, s_proxy_run, p) == 0);
}

static void s_proxy_stop(s_proxy_t *p)
{
    atomic_store(&p->stop, 1);
    pthread_join(p->thread, NULL);
    close(p->listen_fd);
}

static void test_drop_delay_reorder(void)
{
    fault_seed("fault_network_test");
    int64_t t0 = fault_now_ms();
    /* enough that the run outlasts 5 cuts even when delivery is fast */
    const long events = fault_pick(40000, 100000);
    cluster_t c;
    cluster_init(&c);
    char key[320], nv[320], oo[320], n_events[24], seed_nv[24], seed_oo[24];
    fault_subscriber_key(&c, key, sizeof key);
    cluster_add_agent(&c, "nv", "NV", true, nv, sizeof nv);
    cluster_add_agent(&c, "oo", "OO", true, oo, sizeof oo);
    snprintf(n_events, sizeof n_events, "%ld", events);
    snprintf(seed_nv, sizeof seed_nv, "%ld", 1 + fault_rand(1000));
    snprintf(seed_oo, sizeof seed_oo, "%ld", 1001 + fault_rand(1000));
    const char *fill_nv[] = {"demo", "--events", n_events, "--seed", seed_nv, "--no-send", NULL};
    const char *fill_oo[] = {"demo", "--events", n_events, "--seed", seed_oo, "--no-send", NULL};
    CHECK_EQ(cluster_agent(&c, nv, 120000, fill_nv), 0);
    CHECK_EQ(cluster_agent(&c, oo, 120000, fill_oo), 0);
    long long generated = fault_agent_counts(&c, nv).known + fault_agent_counts(&c, oo).known;
    cluster_start_collector(&c);

    const char *colon = strrchr(c.endpoint, ':');
    CHECK(colon);
    static s_proxy_t proxy;
    s_proxy_start(&proxy, atoi(colon + 1));
    cluster_t via = c; /* the agents' view: the collector is behind the proxy */
    snprintf(via.endpoint, sizeof via.endpoint, "tcp://127.0.0.1:%d", proxy.port);
    /* Small batches: more round trips, so more of them meet a fault. */
    const char *run[] = {"run", "--exit-when-empty", "--ack-timeout-ms", "1000", "--batch-size", "100", NULL};
    pid_t a = cluster_agent_spawn(&via, nv, run), b = cluster_agent_spawn(&via, oo, run);
    int ra = tu_wait(a, 600000), rb = tu_wait(b, 600000);
    s_proxy_stop(&proxy);
    if (ra == -1)
        tu_kill(a, SIGKILL);
    if (rb == -1)
        tu_kill(b, SIGKILL);
    CHECK_EQ(ra, 0);
    CHECK_EQ(rb, 0);

    CHECK_EQ(cluster_events_in_log(&c), generated);
    const char *agents[] = {nv, oo};
    for (int i = 0; i < 2; i++) {
        fault_agent_counts_t n = fault_agent_counts(&c, agents[i]);
        CHECK_EQ(n.queued, 0);
        CHECK_EQ(n.rejected, 0);
    }
    CHECK_EQ(cluster_rebuild_verify(&c), 0);
    fault_check_log(&c, key, (long) generated, NULL, NULL, 0);
    json_t *status = cluster_status(&c);
    long long duplicates = 0;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(status, "agents"), i, f)
        duplicates += json_integer_value(json_object_get(f, "duplicates"));
    json_decref(status);
    cluster_stop_collector(&c, SIGTERM);
    fprintf(stderr,
            "FIGURES fault_network: events=%lld connections=%ld cuts_close=%ld cuts_reset=%ld cuts_late=%ld "
            "stalls=%ld chunks=%ld bytes=%lld duplicates_resent=%lld lost=0 doubled=0 seconds=%.1f\n",
            generated, proxy.accepted, proxy.cuts_close, proxy.cuts_reset, proxy.cuts_late, proxy.stalls,
            proxy.chunks, proxy.bytes, duplicates, (double) (fault_now_ms() - t0) / 1000.0);
    CHECK(proxy.cuts_close + proxy.cuts_reset + proxy.cuts_late >= fault_pick(5, 25));
}

static const test_case_t s_cases[] = {
    {"dropped, delayed and reordered connections", test_drop_delay_reorder},
};

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN); /* the proxy writes to sockets that may be gone */
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
