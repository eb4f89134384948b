/* allowlist_test.c: the allow-lists follow their directories, against a
 * real collector on 127.0.0.1 (collector/allowlist.c, server.c).
 *
 * Proves, with real files, processes and sockets:
 *  - a connected agent whose certificate is deleted is refused within 2 s
 *    (inotify, not the safety-net rescan), and a new handshake with that
 *    key fails;
 *  - a connected subscriber whose certificate is deleted gets its
 *    subscribe.end within 2 s;
 *  - SIGHUP reloads: a certificate hard-linked into the directory (a
 *    change inotify is not asked to report) is refused until SIGHUP and
 *    accepted after it, and the collector keeps running;
 *  - a certificate written into the directory while the collector runs is
 *    accepted at the first handshake;
 * and, on the library alone: a certificate moved in and out is seen at the
 * inotify event it causes; a directory missing at start is found by the
 * safety-net rescan once it exists; a directory moved away empties the
 * table at once and is found again when it comes back. */
#include "allowlist.h"
#include "hostile.h"
#include "status.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

/* Sends one batch of 5 events on a connected client and returns its Ack
 * (never NULL). */
static ack_msg_t *s_send(hostile_client_t *cl, const char *forbund, uint64_t seq)
{
    size_t len;
    uint8_t *b = hostile_batch(forbund, seq, 7, (uint32_t) seq * 10, 5, -1, &len);
    CHECK(zsock_send(cl->sock, "b", b, len) == 0);
    free(b);
    ack_msg_t *ack = hostile_ack(cl->sock);
    CHECK(ack != NULL);
    return ack;
}

/* A client with the agent's key, connected; its handshake's outcome. */
static int s_connect(cluster_t *c, const char *agent_dir, hostile_client_t *out)
{
    zcert_t *server = hostile_cert(c->cdir, "collector.key");
    zcert_t *mine = hostile_cert(agent_dir, "agent.key_secret");
    *out = hostile_client(c->endpoint, mine, zcert_public_txt(server));
    int ev = hostile_handshake(out, 10000);
    zcert_destroy(&mine);
    zcert_destroy(&server);
    return ev;
}

static void test_removed_agent_refused_within_2s(void)
{
    static cluster_t c; /* static: hostile.h kills its collector at exit */
    hostile_cluster_init(&c);
    char nv[320];
    cluster_add_agent(&c, "nv", "NV", true, nv, sizeof nv);
    cluster_start_collector(&c);
    hostile_client_t cl;
    CHECK_EQ(s_connect(&c, nv, &cl), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    uint64_t seq = 1;
    ack_msg_t *ack = s_send(&cl, "NV", seq++);
    CHECK(!ack->has_batch_error && ack->n_accepted == 5);
    codec_free_ack(&ack);

    char cert[512];
    snprintf(cert, sizeof cert, "%s/agents/nv.key", c.cdir);
    CHECK(unlink(cert) == 0);
    int64_t t0 = zclock_mono(), cut_ms = -1;
    while (zclock_mono() - t0 < 5000) {
        ack = s_send(&cl, "NV", seq++);
        bool refused = ack->has_batch_error;
        if (refused)
            CHECK_EQ(ack->batch_error, FINSAM__V1__REJECT_CODE__REJECT_UNAUTHORIZED);
        codec_free_ack(&ack);
        if (refused) {
            cut_ms = zclock_mono() - t0;
            break;
        }
        zclock_sleep(10); /* a probe every 10 ms: the point is latency */
    }
    fprintf(stderr, "agent refused %lld ms after its certificate was deleted\n", (long long) cut_ms);
    CHECK(cut_ms >= 0 && cut_ms < 2000);
    CHECK(tu_file_has(c.log, "cause=inotify"));
    hostile_client_destroy(&cl);
    CHECK_EQ(s_connect(&c, nv, &cl), ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    hostile_client_destroy(&cl);
    cluster_stop_collector(&c, SIGTERM);
}

/* Reads stream messages until one with topic `want` (true) or the
 * deadline (false). */
static bool s_wait_topic(zsock_t *s, const char *want, int64_t deadline)
{
    while (zclock_mono() < deadline) {
        zsock_set_rcvtimeo(s, (int) (deadline - zclock_mono()) + 1);
        zmsg_t *m = zmsg_recv(s);
        if (!m)
            return false;
        char *topic = zmsg_popstr(m);
        bool hit = topic && !strcmp(topic, want);
        zstr_free(&topic);
        zmsg_destroy(&m);
        if (hit)
            return true;
    }
    return false;
}

static bool s_revoked_logged(void *arg)
{
    return tu_count_in_file(arg, "reason=revoked") > 0;
}

static void test_removed_subscriber_ended_within_2s(void)
{
    static cluster_t c;
    hostile_cluster_init(&c);
    char key[320];
    cluster_add_subscriber(&c, "watcher", "all", key, sizeof key);
    cluster_start_collector(&c);
    zsock_t *s = cluster_subscriber(&c, key, c.stream_events, NULL, false);
    CHECK(s_wait_topic(s, "subscribe.ok", zclock_mono() + 10000));

    char cert[512];
    snprintf(cert, sizeof cert, "%s/subscribers/watcher.key", c.cdir);
    CHECK(unlink(cert) == 0);
    int64_t t0 = zclock_mono();
    CHECK(s_wait_topic(s, "subscribe.end", t0 + 2000));
    fprintf(stderr, "subscriber ended %lld ms after its certificate was deleted\n",
            (long long) (zclock_mono() - t0));
    /* Logged just after the subscribe.end is sent. */
    CHECK(tu_wait_for(s_revoked_logged, c.log, 5000));
    zsock_destroy(&s);
    cluster_stop_collector(&c, SIGTERM);
}

static bool s_reloaded_twice(void *arg)
{
    return tu_count_in_file(arg, "cause=reload") >= 2;
}

static void test_sighup_reloads(void)
{
    static cluster_t c;
    hostile_cluster_init(&c);
    char hbs[320];
    cluster_add_agent(&c, "hbs", "HBS", false, hbs, sizeof hbs);
    cluster_start_collector(&c);

    /* A hard link creates a name without writing or moving a file: not an
     * event the collector watches for, so only SIGHUP (or the rescan every
     * ALLOWLIST_RESCAN_MS, long after this test) brings it in. */
    char src[512], dst[512];
    snprintf(src, sizeof src, "%s/keys/agent.key", hbs);
    snprintf(dst, sizeof dst, "%s/agents/hbs.key", c.cdir);
    CHECK(link(src, dst) == 0);
    hostile_client_t cl;
    CHECK_EQ(s_connect(&c, hbs, &cl), ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    hostile_client_destroy(&cl);

    CHECK(kill(c.collector, SIGHUP) == 0);
    CHECK(tu_wait_for(s_reloaded_twice, c.log, 5000));
    CHECK(tu_file_has(c.log, "RELOAD signal=SIGHUP"));
    CHECK_EQ(tu_wait(c.collector, 0), -1); /* still running */
    CHECK_EQ(s_connect(&c, hbs, &cl), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    ack_msg_t *ack = s_send(&cl, "HBS", 1);
    CHECK(!ack->has_batch_error && ack->n_accepted == 5);
    codec_free_ack(&ack);
    hostile_client_destroy(&cl);
    cluster_stop_collector(&c, SIGTERM);
}

static void test_added_agent_accepted(void)
{
    static cluster_t c;
    hostile_cluster_init(&c);
    char first[320], late[320];
    cluster_add_agent(&c, "first", "NV", true, first, sizeof first);
    cluster_start_collector(&c);
    /* Written (opened, written, closed) while the collector runs. */
    cluster_add_agent(&c, "late", "VAS", true, late, sizeof late);
    hostile_client_t cl;
    CHECK_EQ(s_connect(&c, late, &cl), ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    ack_msg_t *ack = s_send(&cl, "VAS", 1);
    CHECK(!ack->has_batch_error && ack->n_accepted == 5);
    codec_free_ack(&ack);
    hostile_client_destroy(&cl);
    CHECK_EQ(cluster_stored(&c, "VAS"), 5);
    cluster_stop_collector(&c, SIGTERM);
}

/* A public certificate with forbund NV written to dir/name; its key in
 * key (41 bytes). */
static void s_cert(const char *dir, const char *name, char *key)
{
    zcert_t *cert = zcert_new();
    CHECK(cert);
    zcert_set_meta(cert, "forbund", "NV");
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    CHECK(zcert_save_public(cert, path) == 0);
    snprintf(key, 41, "%s", zcert_public_txt(cert));
    zcert_destroy(&cert);
}

/* Waits (up to 2 s) for the allow-list's inotify descriptor to be
 * readable, then handles it. */
static bool s_event(allowlist_t *a)
{
    struct pollfd p = {allowlist_fd(a), POLLIN, 0};
    CHECK(p.fd >= 0);
    CHECK(poll(&p, 1, 2000) == 1);
    return allowlist_handle(a);
}

static void test_library_moves_seen_by_inotify(void)
{
    char dir[512], outside[512], key[41], from[600], to[600];
    snprintf(dir, sizeof dir, "%s/agents", tu_tempdir());
    snprintf(outside, sizeof outside, "%s/staging", tu_tempdir());
    CHECK(mkdir(dir, 0700) == 0 && mkdir(outside, 0700) == 0);
    allowlist_t *a = allowlist_new(dir, "forbund", allowlist_valid_forbund);
    CHECK(a && allowlist_size(a) == 0);
    unsigned g = allowlist_generation(a);

    s_cert(outside, "nv.key", key);
    snprintf(from, sizeof from, "%s/nv.key", outside);
    snprintf(to, sizeof to, "%s/nv.key", dir);
    CHECK(rename(from, to) == 0);
    CHECK(s_event(a));
    CHECK(allowlist_lookup(a, key) && !strcmp(allowlist_lookup(a, key), "NV"));
    CHECK(allowlist_generation(a) != g);
    /* How operators name it: file, name metadata (none here), fingerprint. */
    const allowlist_cert_t *cert = allowlist_cert(a, key);
    char fingerprint[17];
    CHECK(cert && !strcmp(cert->file, "nv.key") && cert->name == NULL);
    CHECK(status_fingerprint(key, fingerprint, sizeof fingerprint) == 0 && strlen(fingerprint) == 16);
    CHECK(!strcmp(cert->fingerprint, fingerprint));

    CHECK(rename(to, from) == 0);
    CHECK(s_event(a));
    CHECK(allowlist_lookup(a, key) == NULL);
    allowlist_destroy(&a);
    CHECK(a == NULL);
}

static bool s_refreshed(void *arg)
{
    return allowlist_refresh(arg);
}

static void test_library_missing_dir_found_by_rescan(void)
{
    char dir[512], key[41];
    snprintf(dir, sizeof dir, "%s/later", tu_tempdir());
    allowlist_t *a = allowlist_new(dir, "forbund", allowlist_valid_forbund);
    CHECK(a && allowlist_size(a) == 0);
    CHECK(!allowlist_refresh(a)); /* still missing: nothing changed */
    CHECK(mkdir(dir, 0700) == 0);
    s_cert(dir, "nv.key", key);
    /* Unwatched, so every call stats the directory. */
    CHECK(tu_wait_for(s_refreshed, a, 2000));
    CHECK(allowlist_lookup(a, key) != NULL);
    /* Watched from that reload on: a removal is an inotify event. */
    char path[600];
    snprintf(path, sizeof path, "%s/nv.key", dir);
    CHECK(unlink(path) == 0);
    CHECK(s_event(a));
    CHECK(allowlist_lookup(a, key) == NULL);
    allowlist_destroy(&a);
}

/* The directory itself moved away: everything in it is revoked at once
 * (the watch does not follow it); moved back, the rescan finds it. */
static void test_library_directory_moved_away(void)
{
    char dir[512], away[512], key[41];
    snprintf(dir, sizeof dir, "%s/agents", tu_tempdir());
    snprintf(away, sizeof away, "%s/agents.old", tu_tempdir());
    CHECK(mkdir(dir, 0700) == 0);
    s_cert(dir, "nv.key", key);
    allowlist_t *a = allowlist_new(dir, "forbund", allowlist_valid_forbund);
    CHECK(a && allowlist_lookup(a, key) != NULL);
    CHECK(rename(dir, away) == 0);
    CHECK(s_event(a));
    CHECK(allowlist_lookup(a, key) == NULL);
    CHECK(rename(away, dir) == 0);
    CHECK(tu_wait_for(s_refreshed, a, 2000));
    CHECK(allowlist_lookup(a, key) != NULL);
    allowlist_destroy(&a);
}

static const test_case_t s_cases[] = {
    {"library moves seen by inotify", test_library_moves_seen_by_inotify},
    {"library missing dir found by rescan", test_library_missing_dir_found_by_rescan},
    {"library directory moved away", test_library_directory_moved_away},
    {"removed agent refused within 2 s", test_removed_agent_refused_within_2s},
    {"removed subscriber ended within 2 s", test_removed_subscriber_ended_within_2s},
    {"SIGHUP reloads", test_sighup_reloads},
    {"added agent accepted", test_added_agent_accepted},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
