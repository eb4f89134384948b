/* tail_test.c: ctl/tail.c through tail.h — tail_run, the reference stream
 * subscriber, against a real collector (tests/e2e/cluster.c) with events
 * sent by a real agent: with --from it prints every event once, in
 * sequence order, across the replay and the live stream; and it returns
 * FIN_EPERM when the collector cuts its key off. tail_run blocks, so where
 * the test must act meanwhile it runs in a forked child (which makes its
 * own ZeroMQ context; the case's process has none). The binary's own
 * command line is tests/e2e/stream_test.c's. */
#include "cluster.h"
#include "tail.h"
#include "testutil.h"

#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    cluster_t c;
    char all[320], agg[320], nv[320], hbs[320];
} s_world_t;

static void s_send(s_world_t *w, const char *agent, int events);

/* A collector with one agent (NV) that has delivered `events` events. */
static void s_world(s_world_t *w, int events)
{
    cluster_init(&w->c);
    cluster_add_subscriber(&w->c, "all", "all", w->all, sizeof w->all);
    cluster_add_subscriber(&w->c, "agg", "aggregates", w->agg, sizeof w->agg);
    cluster_add_agent(&w->c, "nv", "NV", true, w->nv, sizeof w->nv);
    cluster_add_agent(&w->c, "hbs", "HBS", true, w->hbs, sizeof w->hbs);
    cluster_start_collector(&w->c);
    s_send(w, w->nv, events);
}

/* A demo agent's events are the same each run: a second delivery of the
 * same agent would be all duplicates, so later events come from another. */
static void s_send(s_world_t *w, const char *agent, int events)
{
    char n[16];
    snprintf(n, sizeof n, "%d", events);
    const char *demo[] = {"demo", "--events", n, "--exit-when-empty", NULL};
    CHECK_EQ(cluster_agent(&w->c, agent, 120000, demo), 0);
}

static tail_config_t s_config(const s_world_t *w, const char *key, char *keyfile, char *server, size_t len)
{
    snprintf(keyfile, len, "%s_secret", key);
    snprintf(server, len, "%s/keys/collector.key", w->c.cdir);
    return (tail_config_t){.stream_endpoint = w->c.stream_events,
                           .replay_endpoint = w->c.stream_replay,
                           .key_file = keyfile,
                           .server_key_file = server,
                           .prefix = "ev.",
                           .json = true};
}

/* Runs tail_run in a child writing to out_path; returns its pid. The
 * child's exit status is tail_run's fin_err_t. */
static pid_t s_tail_child(const tail_config_t *config, const char *out_path)
{
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        FILE *out = fopen(out_path, "w");
        if (!out)
            _exit(99);
        static volatile sig_atomic_t stop;
        fin_err_t rc = tail_run(config, &stop, out);
        fclose(out);
        _exit((int) rc);
    }
    return pid;
}

/* The seqs of a tail --format json output, checked to be from..to, each
 * once, in order. */
static void s_check_seqs(const char *path, long from, long to)
{
    char *text = tu_read_file(path);
    CHECK(text);
    long want = from, lines = 0;
    for (char *line = text, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        json_error_t e;
        json_t *j = json_loads(line, 0, &e);
        CHECK(j);
        CHECK(!strncmp(json_string_value(json_object_get(j, "topic")), "ev.", 3));
        CHECK(json_is_object(json_object_get(j, "event")));
        CHECK_EQ(json_integer_value(json_object_get(j, "seq")), want);
        want++;
        lines++;
        json_decref(j);
    }
    CHECK_EQ(lines, to - from + 1);
    free(text);
}

typedef struct {
    const char *path;
    int lines;
} s_lines_t;

static bool s_has_lines(void *arg)
{
    s_lines_t *l = arg;
    return tu_count_in_file(l->path, "\n") >= l->lines;
}

static void test_from_prints_each_once_in_order(void)
{
    s_world_t w;
    s_world(&w, 40);
    char keyfile[512], server[512], out[400];
    tail_config_t cfg = s_config(&w, w.all, keyfile, server, sizeof keyfile);
    cfg.from_set = true;
    cfg.from_seq = 1;
    cfg.count = 40;
    snprintf(out, sizeof out, "%s/all.json", w.c.dir);
    pid_t t = s_tail_child(&cfg, out);
    CHECK_EQ(tu_wait(t, 60000), FIN_OK);
    s_check_seqs(out, 1, 40);
    /* From the middle: the rest only. */
    cfg.from_seq = 31;
    cfg.count = 10;
    t = s_tail_child(&cfg, out);
    CHECK_EQ(tu_wait(t, 60000), FIN_OK);
    s_check_seqs(out, 31, 40);
    cluster_stop_collector(&w.c, SIGTERM);
}

static void test_replay_then_live_exactly_once(void)
{
    s_world_t w;
    s_world(&w, 30);
    char keyfile[512], server[512], out[400];
    tail_config_t cfg = s_config(&w, w.all, keyfile, server, sizeof keyfile);
    cfg.from_set = true;
    cfg.from_seq = 1;
    cfg.count = 55;
    snprintf(out, sizeof out, "%s/all.json", w.c.dir);
    pid_t t = s_tail_child(&cfg, out);
    /* The replay is printed (so the live subscription stands: tail
     * subscribes before it replays); then more events arrive live. */
    s_lines_t l = {out, 30};
    CHECK(tu_wait_for(s_has_lines, &l, 60000));
    s_send(&w, w.hbs, 25);
    CHECK_EQ(cluster_events_in_log(&w.c), 55);
    CHECK_EQ(tu_wait(t, 60000), FIN_OK);
    s_check_seqs(out, 1, 55);
    cluster_stop_collector(&w.c, SIGTERM);
}

static void test_key_removed_is_eperm(void)
{
    s_world_t w;
    s_world(&w, 10);
    char keyfile[512], server[512], out[400];
    tail_config_t cfg = s_config(&w, w.all, keyfile, server, sizeof keyfile);
    cfg.from_set = true;
    cfg.from_seq = 1;
    snprintf(out, sizeof out, "%s/all.json", w.c.dir);
    pid_t t = s_tail_child(&cfg, out);
    s_lines_t l = {out, 10};
    CHECK(tu_wait_for(s_has_lines, &l, 60000));
    /* Off the allow-list: the collector ends the subscription at once. */
    char listed[400];
    snprintf(listed, sizeof listed, "%s/subscribers/all.key", w.c.cdir);
    CHECK(unlink(listed) == 0);
    CHECK_EQ(tu_wait(t, 30000), FIN_EPERM);
    s_check_seqs(out, 1, 10);
    cluster_stop_collector(&w.c, SIGTERM);
}

static void test_aggregates_key_cannot_read_events(void)
{
    s_world_t w;
    s_world(&w, 5);
    char keyfile[512], server[512], out[400];
    tail_config_t cfg = s_config(&w, w.agg, keyfile, server, sizeof keyfile);
    cfg.prefix = "ev.";
    cfg.from_set = true;
    cfg.from_seq = 1;
    cfg.idle_exit_ms = 3000;
    snprintf(out, sizeof out, "%s/agg.json", w.c.dir);
    pid_t t = s_tail_child(&cfg, out);
    CHECK_EQ(tu_wait(t, 30000), FIN_EPERM);
    CHECK(tu_file_lacks(out, "\"ev."));
    cluster_stop_collector(&w.c, SIGTERM);
}

static void test_unlisted_key_is_eperm(void)
{
    s_world_t w;
    s_world(&w, 1);
    /* A subscriber certificate the collector never listed. */
    char stranger[400];
    snprintf(stranger, sizeof stranger, "%s/stranger.key", w.c.dir);
    char *argv[] = {(char *) tu_bin("finsamctl"), "keygen", stranger, "--access", "all", NULL};
    CHECK_EQ(tu_run(argv, NULL, 10000), 0);
    char keyfile[512], server[512], out[400];
    tail_config_t cfg = s_config(&w, stranger, keyfile, server, sizeof keyfile);
    snprintf(out, sizeof out, "%s/stranger.json", w.c.dir);
    pid_t t = s_tail_child(&cfg, out);
    CHECK_EQ(tu_wait(t, 30000), FIN_EPERM);
    cluster_stop_collector(&w.c, SIGTERM);
}

static void test_group_readable_key_is_eperm(void)
{
    /* Our own secret readable by others: refused before any connection. */
    s_world_t w;
    cluster_init(&w.c);
    cluster_add_subscriber(&w.c, "all", "all", w.all, sizeof w.all);
    char keyfile[512], server[512];
    tail_config_t cfg = s_config(&w, w.all, keyfile, server, sizeof keyfile);
    CHECK(chmod(keyfile, 0640) == 0);
    volatile sig_atomic_t stop = 0;
    CHECK_EQ(tail_run(&cfg, &stop, stdout), FIN_EPERM);
}

static const test_case_t s_cases[] = {
    {"from prints each once in order", test_from_prints_each_once_in_order},
    {"replay then live exactly once", test_replay_then_live_exactly_once},
    {"key removed is eperm", test_key_removed_is_eperm},
    {"aggregates key cannot read events", test_aggregates_key_cannot_read_events},
    {"unlisted key is eperm", test_unlisted_key_is_eperm},
    {"group readable key is eperm", test_group_readable_key_is_eperm},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
