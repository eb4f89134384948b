/* conntable_test.c: the HTTP server's connection table (web/conntable.c)
 * alone, on socket pairs: whom a full address or a full table evicts,
 * that a connection being answered is never evicted (the newcomer is
 * refused instead), the deadlines of the sweep, and the counts. A
 * connection "shut down" by the table reads the end of the stream on the
 * other end of its pair. */
#include "conntable.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct {
    int fd, peer;
} s_pair_t;

static s_pair_t s_pair(void)
{
    int sv[2];
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
    return (s_pair_t){sv[0], sv[1]};
}

/* Whether the table shut the connection down: its peer reads the end. */
static bool s_is_shut(s_pair_t p)
{
    char c;
    return recv(p.peer, &c, 1, MSG_DONTWAIT) == 0;
}

static void s_free_pair(s_pair_t p)
{
    close(p.fd);
    close(p.peer);
}

static struct sockaddr_in s_v4(const char *text)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    CHECK(inet_pton(AF_INET, text, &a.sin_addr) == 1);
    return a;
}

static conntable_conn_t *s_open(conntable_t *t, s_pair_t p, const char *addr, int64_t now)
{
    struct sockaddr_in a = s_v4(addr);
    return conntable_open(t, p.fd, (struct sockaddr *) &a, sizeof a, now);
}

static void test_per_address(void)
{
    conntable_limits_t l = {
        .max_connections = 10, .max_per_address = 2, .header_timeout_ms = 1000, .idle_timeout_ms = 1000};
    conntable_t *t = conntable_new(&l);
    CHECK(t);
    s_pair_t a1 = s_pair(), a2 = s_pair(), a3 = s_pair(), b1 = s_pair();
    conntable_conn_t *c1 = s_open(t, a1, "127.0.0.1", 0), *c2 = s_open(t, a2, "127.0.0.1", 1);
    CHECK(c1 && c2 && !s_is_shut(a1) && !s_is_shut(a2));
    /* The third from the same address pushes out the first (nearest its
     * deadline); another address is not touched. */
    conntable_conn_t *c3 = s_open(t, a3, "127.0.0.1", 2), *d1 = s_open(t, b1, "10.0.0.1", 3);
    CHECK(c3 && d1);
    CHECK(s_is_shut(a1) && !s_is_shut(a2) && !s_is_shut(a3) && !s_is_shut(b1));
    CHECK_EQ(conntable_open_count(t), 3);
    conntable_counts_t n = conntable_take_counts(t);
    CHECK_EQ(n.evicted, 1);
    CHECK_EQ(n.refused, 0);
    CHECK_EQ(conntable_take_counts(t).evicted, 0);
    /* microhttpd closes the evicted one: the table forgets it. */
    conntable_close(t, &c1);
    CHECK(c1 == NULL);
    CHECK_EQ(conntable_open_count(t), 3);
    conntable_close(t, &c2);
    conntable_close(t, &c3);
    conntable_close(t, &d1);
    CHECK_EQ(conntable_open_count(t), 0);
    conntable_destroy(&t);
    CHECK(t == NULL);
    s_free_pair(a1), s_free_pair(a2), s_free_pair(a3), s_free_pair(b1);
}

/* An IPv4-mapped IPv6 address is the same client as the IPv4 one. */
static void test_mapped_address(void)
{
    conntable_limits_t l = {
        .max_connections = 10, .max_per_address = 1, .header_timeout_ms = 1000, .idle_timeout_ms = 1000};
    conntable_t *t = conntable_new(&l);
    s_pair_t a = s_pair(), b = s_pair();
    CHECK(s_open(t, a, "192.0.2.7", 0));
    struct sockaddr_in6 v6 = {.sin6_family = AF_INET6};
    CHECK(inet_pton(AF_INET6, "::ffff:192.0.2.7", &v6.sin6_addr) == 1);
    CHECK(conntable_open(t, b.fd, (struct sockaddr *) &v6, sizeof v6, 1));
    CHECK(s_is_shut(a) && !s_is_shut(b));
    conntable_destroy(&t); /* frees what is left */
    s_free_pair(a), s_free_pair(b);
}

static void test_full_table(void)
{
    conntable_limits_t l = {
        .max_connections = 2, .max_per_address = 100, .header_timeout_ms = 1000, .idle_timeout_ms = 1000};
    conntable_t *t = conntable_new(&l);
    s_pair_t a = s_pair(), b = s_pair(), c = s_pair();
    CHECK(s_open(t, a, "10.0.0.1", 0) && s_open(t, b, "10.0.0.2", 1));
    /* Full: the newcomer from a third address evicts the oldest waiting,
     * whatever its address. */
    CHECK(s_open(t, c, "10.0.0.3", 2));
    CHECK(s_is_shut(a) && !s_is_shut(b) && !s_is_shut(c));
    CHECK_EQ(conntable_open_count(t), 2);
    conntable_destroy(&t);
    s_free_pair(a), s_free_pair(b), s_free_pair(c);
}

/* Whoever has sent a request is answered: when every connection is busy,
 * the newcomer is the one closed. */
static void test_busy_never_evicted(void)
{
    conntable_limits_t l = {
        .max_connections = 2, .max_per_address = 100, .header_timeout_ms = 1000, .idle_timeout_ms = 1000};
    conntable_t *t = conntable_new(&l);
    s_pair_t a = s_pair(), b = s_pair(), c = s_pair(), d = s_pair();
    conntable_conn_t *ca = s_open(t, a, "10.0.0.1", 0), *cb = s_open(t, b, "10.0.0.1", 1);
    conntable_busy(t, ca);
    conntable_busy(t, cb);
    CHECK(s_open(t, c, "10.0.0.2", 2) == NULL);
    CHECK(s_is_shut(c) && !s_is_shut(a) && !s_is_shut(b));
    CHECK_EQ(conntable_take_counts(t).refused, 1);
    /* Busy connections have no deadline. */
    CHECK_EQ(conntable_sweep(t, 1000000), -1);
    CHECK(!s_is_shut(a) && !s_is_shut(b));
    /* Answered and kept: waiting again, so the next newcomer may evict it. */
    conntable_idle(t, cb, 5);
    CHECK(s_open(t, d, "10.0.0.2", 6));
    CHECK(s_is_shut(b) && !s_is_shut(a) && !s_is_shut(d));
    conntable_destroy(&t);
    s_free_pair(a), s_free_pair(b), s_free_pair(c), s_free_pair(d);
}

/* The request head must be complete within header_timeout_ms of the
 * accept, the next one within idle_timeout_ms of the answer; the sweep
 * closes the rest and says when it must run again. */
static void test_deadlines(void)
{
    conntable_limits_t l = {
        .max_connections = 10, .max_per_address = 10, .header_timeout_ms = 1000, .idle_timeout_ms = 3000};
    conntable_t *t = conntable_new(&l);
    s_pair_t a = s_pair(), b = s_pair(), c = s_pair();
    CHECK_EQ(conntable_sweep(t, 0), -1);
    conntable_conn_t *ca = s_open(t, a, "127.0.0.1", 0), *cb = s_open(t, b, "127.0.0.1", 200);
    conntable_conn_t *cc = s_open(t, c, "127.0.0.1", 300);
    conntable_busy(t, cc);
    CHECK_EQ(conntable_sweep(t, 999), 1);
    CHECK(!s_is_shut(a));
    CHECK_EQ(conntable_sweep(t, 1000), 200);
    CHECK(s_is_shut(a) && !s_is_shut(b));
    conntable_idle(t, cc, 1100); /* due at 4100 */
    CHECK_EQ(conntable_sweep(t, 1200), 2900);
    CHECK(s_is_shut(b) && !s_is_shut(c));
    CHECK_EQ(conntable_sweep(t, 4100), -1);
    CHECK(s_is_shut(c));
    CHECK_EQ(conntable_take_counts(t).timed_out, 3);
    /* Shut down ones are never shut again, nor counted as open. */
    CHECK_EQ(conntable_open_count(t), 0);
    conntable_close(t, &ca);
    conntable_close(t, &cb);
    conntable_close(t, &cc);
    conntable_destroy(&t);
    conntable_destroy(&t); /* NULL-safe */
    s_free_pair(a), s_free_pair(b), s_free_pair(c);
}

static const test_case_t s_cases[] = {
    {"per-address limit evicts that address's oldest waiting", test_per_address},
    {"an IPv4-mapped address is the IPv4 address", test_mapped_address},
    {"a full table evicts the oldest waiting of any address", test_full_table},
    {"busy connections are never evicted", test_busy_never_evicted},
    {"deadlines of the sweep", test_deadlines},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
