/* abuse_test.c: the collector under abuse keeps serving good agents with
 * bounded memory. One collector for all cases, so the closing memory
 * figure covers everything done to it.
 *
 * Proves, with real processes on 127.0.0.1:
 *  - a storm of 2,500 connection attempts that never authenticate (1,000
 *    DEALERs without CURVE, 1,000 with unlisted CURVE keys, 500 raw TCP
 *    connections writing junk) plus 200 idle TCP connections held open,
 *    while a real agent delivers 20,000 events: every event delivered, the
 *    collector alive, every unlisted key logged;
 *  - a message of 10,000 one-byte frames, and 5,000 one-byte messages, are
 *    each answered malformed and the same connection then stores a good
 *    batch;
 *  - frames over ZMQ_MAXMSGSIZE drop only that connection;
 *  - a batch of 1,000 events with one bad: 999 stored, the bad one
 *    rejected with its code and reason; 1,001 events: refused whole;
 *  - the collector's peak resident memory (VmHWM) stays under 200 MiB
 *    (1 GiB in sanitizer builds, whose shadow memory and quarantine
 *    dominate); the figures are printed for docs/reliability.md. */
#include "hostile.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define RSS_LIMIT_KB (1024L * 1024)
#else
#define RSS_LIMIT_KB (200L * 1024)
#endif

static cluster_t s_c;
static char s_nv[320];
static zcert_t *s_server, *s_nv_cert;
static long s_expected; /* events the log must hold */

/* VmRSS or VmHWM of pid in kB. */
static long s_proc_kb(pid_t pid, const char *field)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
    char *text = tu_read_file(path);
    CHECK(text);
    const char *p = strstr(text, field);
    long kb = -1;
    if (p)
        sscanf(p + strlen(field) + 1, "%ld", &kb);
    free(text);
    return kb;
}

static int s_port(void)
{
    const char *p = strrchr(s_c.endpoint, ':');
    CHECK(p);
    return atoi(p + 1);
}

static int s_tcp_connect(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t) s_port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(fd, (struct sockaddr *) &a, sizeof a) == 0);
    return fd;
}

static void test_connection_storm_beside_good_agent(void)
{
    const char *fill[] = {"demo", "--events", "20000", "--no-send", NULL};
    CHECK_EQ(cluster_agent(&s_c, s_nv, 120000, fill), 0);
    int idle[200];
    for (int i = 0; i < 200; i++)
        idle[i] = s_tcp_connect();
    int64_t t0 = zclock_mono();
    pid_t agent = 0;
    int plain_refused = 0, curve_refused = 0;
    for (int i = 0; i < 2000; i++) {
        if (i == 100) {
            const char *run[] = {"run", "--exit-when-empty", NULL};
            agent = hostile_track(cluster_agent_spawn(&s_c, s_nv, run));
        }
        zcert_t *random = i % 2 ? zcert_new() : NULL;
        hostile_client_t cl = hostile_client(s_c.endpoint, random, zcert_public_txt(s_server));
        int ev = hostile_handshake(&cl, 10000);
        CHECK(hostile_refused(ev));
        if (random)
            curve_refused++;
        else
            plain_refused++;
        hostile_client_destroy(&cl);
        zcert_destroy(&random);
        if (i % 4 == 0) {
            /* Raw TCP: half a greeting of junk, then gone. */
            int fd = s_tcp_connect();
            char junk[64];
            memset(junk, 0xff, sizeof junk);
            (void) !write(fd, junk, sizeof junk);
            close(fd);
        }
    }
    int64_t storm_ms = zclock_mono() - t0;
    CHECK_EQ(hostile_wait(agent, 180000), 0);
    int64_t total_ms = zclock_mono() - t0;
    for (int i = 0; i < 200; i++)
        close(idle[i]);
    s_expected += 20000;
    CHECK_EQ(cluster_events_in_log(&s_c), s_expected);
    CHECK_EQ(cluster_agent_queue(&s_c, s_nv), 0);
    CHECK(kill(s_c.collector, 0) == 0);
    int logged = tu_count_in_file(s_c.log, "AUTH-REFUSED");
    fprintf(
        stderr,
        "storm: %d plain + %d unlisted-CURVE DEALERs refused, 500 junk TCP, 200 idle TCP in %lld ms; "
        "agent delivered 20000 events, done after %lld ms; AUTH-REFUSED logged %d; collector RSS %ld kB\n",
        plain_refused, curve_refused, (long long) storm_ms, (long long) total_ms, logged,
        s_proc_kb(s_c.collector, "VmRSS:"));
    CHECK(logged >= curve_refused);
}

static hostile_client_t s_good_client(void)
{
    hostile_client_t cl = hostile_client(s_c.endpoint, s_nv_cert, zcert_public_txt(s_server));
    CHECK_EQ(hostile_handshake(&cl, 10000), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    return cl;
}

static void s_store_good_batch(hostile_client_t *cl, uint64_t seq, uint32_t prefix)
{
    size_t len;
    uint8_t *b = hostile_batch("NV", seq, prefix, 1, 10, -1, &len);
    CHECK(zsock_send(cl->sock, "b", b, len) == 0);
    free(b);
    ack_msg_t *ack = hostile_ack(cl->sock);
    CHECK(ack && !ack->has_batch_error && ack->n_accepted == 10 && ack->batch_seq == seq);
    codec_free_ack(&ack);
    s_expected += 10;
}

static void test_tiny_frames(void)
{
    hostile_client_t cl = s_good_client();
    zmsg_t *m = zmsg_new();
    for (int i = 0; i < 10000; i++)
        zmsg_addmem(m, "x", 1);
    CHECK(zmsg_send(&m, cl.sock) == 0);
    ack_msg_t *ack = hostile_ack(cl.sock);
    CHECK(ack && ack->has_batch_error && ack->batch_error == FINSAM__V1__REJECT_CODE__REJECT_MALFORMED);
    codec_free_ack(&ack);
    for (int i = 0; i < 5000; i++)
        CHECK(zsock_send(cl.sock, "b", "x", (size_t) 1) == 0);
    for (int i = 0; i < 5000; i++) {
        ack = hostile_ack(cl.sock);
        CHECK(ack && ack->has_batch_error && ack->batch_error != FINSAM__V1__REJECT_CODE__REJECT_NONE);
        codec_free_ack(&ack);
    }
    s_store_good_batch(&cl, 11, 0x7100);
    hostile_client_destroy(&cl);
    CHECK_EQ(cluster_events_in_log(&s_c), s_expected);
}

static void test_oversized_frames(void)
{
    size_t big = (size_t) CODEC_MAX_BATCH_BYTES + 64 * 1024;
    uint8_t *huge = calloc(1, big);
    CHECK(huge);
    for (int i = 0; i < 10; i++) {
        hostile_client_t cl = s_good_client();
        CHECK(zsock_send(cl.sock, "b", huge, big) == 0);
        /* Over ZMQ_MAXMSGSIZE the collector closes this connection. */
        CHECK_EQ(hostile_handshake(&cl, 10000), ZMQ_EVENT_DISCONNECTED);
        hostile_client_destroy(&cl);
    }
    free(huge);
    hostile_client_t cl = s_good_client();
    s_store_good_batch(&cl, 12, 0x7200);
    hostile_client_destroy(&cl);
    CHECK_EQ(cluster_events_in_log(&s_c), s_expected);
}

static void test_one_bad_event_in_1000(void)
{
    hostile_client_t cl = s_good_client();
    size_t len;
    uint8_t *b = hostile_batch("NV", 13, 0x7300, 1, 1000, 500, &len);
    CHECK(zsock_send(cl.sock, "b", b, len) == 0);
    free(b);
    ack_msg_t *ack = hostile_ack(cl.sock);
    CHECK(ack && !ack->has_batch_error);
    CHECK_EQ(ack->n_accepted, 999);
    CHECK_EQ(ack->n_rejected, 1);
    const Finsam__V1__Rejection *r = ack->rejected[0];
    CHECK_EQ(r->code, FINSAM__V1__REJECT_CODE__REJECT_INVALID_FIELD);
    CHECK(r->id.len == 16 && r->id.data[15] == (uint8_t) 501 && r->id.data[14] == (uint8_t) (501 >> 8));
    CHECK(r->text && strstr(r->text, "o_forum_moten"));
    fprintf(stderr, "one bad of 1000: 999 accepted, rejected %s: %s\n", codec_reject_name(r->code), r->text);
    codec_free_ack(&ack);
    s_expected += 999;
    CHECK(tu_count_in_file(s_c.log, "EVENT-REJECTED") >= 1);

    /* 1001 events: the whole batch is refused, nothing stored. */
    b = hostile_batch("NV", 14, 0x7400, 1, 1001, -1, &len);
    CHECK(zsock_send(cl.sock, "b", b, len) == 0);
    free(b);
    ack = hostile_ack(cl.sock);
    CHECK(ack && ack->has_batch_error && ack->batch_error == FINSAM__V1__REJECT_CODE__REJECT_TOO_LARGE);
    CHECK_EQ(ack->n_accepted, 0);
    codec_free_ack(&ack);
    hostile_client_destroy(&cl);
    CHECK_EQ(cluster_events_in_log(&s_c), s_expected);
}

static void test_memory_bounded(void)
{
    long rss = s_proc_kb(s_c.collector, "VmRSS:"), hwm = s_proc_kb(s_c.collector, "VmHWM:");
    fprintf(stderr, "collector memory after all abuse: VmRSS %ld kB, peak VmHWM %ld kB (limit %ld kB)\n", rss,
            hwm, RSS_LIMIT_KB);
    CHECK(rss > 0 && hwm > 0);
    CHECK(hwm < RSS_LIMIT_KB);
    CHECK(kill(s_c.collector, 0) == 0);
    CHECK_EQ(cluster_rebuild_verify(&s_c), 0);
}

/* The steps share the collector (the memory figure covers all of them)
 * and the count of events its log must hold: one case, started here, so
 * hostile.h's kill-at-exit covers only this case's collector. */
static void test_abuse_of_one_collector(void)
{
    hostile_cluster_init(&s_c);
    cluster_add_agent(&s_c, "nv", "NV", true, s_nv, sizeof s_nv);
    cluster_start_collector(&s_c);
    s_server = hostile_cert(s_c.cdir, "collector.key");
    s_nv_cert = hostile_cert(s_nv, "agent.key_secret");
    test_connection_storm_beside_good_agent();
    test_tiny_frames();
    test_oversized_frames();
    test_one_bad_event_in_1000();
    test_memory_bounded();
    zcert_destroy(&s_server);
    zcert_destroy(&s_nv_cert);
    cluster_stop_collector(&s_c, SIGTERM);
}

static const test_case_t s_cases[] = {
    {"one collector under abuse: storm, tiny and oversized frames, a bad event, memory bounded",
     test_abuse_of_one_collector},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
