/* exit_codes_test.c: every exit code the three binaries' --help documents,
 * provoked by a real command, with the message that says why; and the
 * --help epilog's table lists exactly the codes provoked here, no more, no
 * fewer. Also the one CLI language: a short option means the same long
 * option in every binary that has it. */
#include "cli_util.h"
#include "cluster.h"
#include "testutil.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* One row: a binary, the code, how to provoke it, what the output says. */
typedef struct {
    const char *bin;
    int code;
    const char *name;
    /* Prepares the site and fills args (NULL-terminated, at most 15). */
    void (*provoke)(cluster_t *c, const char *agent, const char **args);
    const char *says;
} s_row_t;

static char s_buf[8][600];
static const char *s_fmt(int i, const char *a, const char *b)
{
    snprintf(s_buf[i], sizeof s_buf[i], "%s/%s", a, b);
    return s_buf[i];
}

#define ARGS(...)                                                                                            \
    do {                                                                                                     \
        const char *_a[] = {__VA_ARGS__, NULL};                                                              \
        memcpy(args, _a, sizeof _a);                                                                         \
    } while (0)

/* Runs the collector once (it creates the store) and stops it. */
static void s_make_store(cluster_t *c)
{
    cluster_start_collector(c);
    cluster_stop_collector(c, SIGTERM);
}

/* An agent's 20 demo events stored by the collector, which is stopped. */
static void s_make_events(cluster_t *c, const char *agent)
{
    cluster_start_collector(c);
    const char *demo[] = {"demo", "--events", "20", "--exit-when-empty", NULL};
    CHECK_EQ(cluster_agent(c, agent, 60000, demo), 0);
    cluster_stop_collector(c, SIGTERM);
}

/* ---- finsam-collector ---- */

static void c_ok(cluster_t *c, const char *agent, const char **args)
{
    ARGS("-d", c->cdir, "check-config");
}
static void c_usage(cluster_t *c, const char *agent, const char **args)
{
    ARGS("-d", c->cdir, "--log-level", "foo", "check-config");
}
static void c_schema(cluster_t *c, const char *agent, const char **args)
{
    s_make_store(c);
    static const uint8_t future[4] = {0, 0, 0, 99};
    cli_patch_store(s_fmt(0, c->cdir, "ledger"), "meta", "schema", future, 4, false);
    ARGS("-d", c->cdir, "--http", "off", "--stream-events", "off", "--endpoint", "tcp://127.0.0.1:0", "run");
}
static void c_no_config(cluster_t *c, const char *agent, const char **args)
{
    ARGS("-d", c->cdir, "-c", "/nonexistent/collector.ini", "check-config");
}
static int s_listener = -1;
static void c_bind(cluster_t *c, const char *agent, const char **args)
{
    s_listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    CHECK(bind(s_listener, (struct sockaddr *) &a, sizeof a) == 0 && listen(s_listener, 1) == 0);
    CHECK(getsockname(s_listener, (struct sockaddr *) &a, &len) == 0);
    snprintf(s_buf[1], sizeof s_buf[1], "tcp://127.0.0.1:%d", ntohs(a.sin_port));
    ARGS("-d", c->cdir, "--http", "off", "--stream-events", "off", "--endpoint", s_buf[1], "run");
}
static void c_keygen(cluster_t *c, const char *agent, const char **args)
{
    ARGS("-d", c->cdir, "keygen");
}
static void c_store_io(cluster_t *c, const char *agent, const char **args)
{
    CHECK(mkdir(s_fmt(0, c->cdir, "ledger"), 0700) == 0 &&
          mkdir(s_fmt(0, c->cdir, "ledger/data.mdb"), 0700) == 0);
    ARGS("-d", c->cdir, "--http", "off", "--stream-events", "off", "--endpoint", "tcp://127.0.0.1:0", "run");
}
static void c_key_0644(cluster_t *c, const char *agent, const char **args)
{
    CHECK(chmod(s_fmt(0, c->cdir, "keys/collector.key_secret"), 0644) == 0);
    ARGS("-d", c->cdir, "--http", "off", "--stream-events", "off", "--endpoint", "tcp://127.0.0.1:0", "run");
}
static void c_key_missing(cluster_t *c, const char *agent, const char **args)
{
    CHECK(unlink(s_fmt(0, c->cdir, "keys/collector.key_secret")) == 0);
    ARGS("-d", c->cdir, "--http", "off", "--stream-events", "off", "--endpoint", "tcp://127.0.0.1:0", "run");
}

/* ---- finsamctl ---- */

static void t_ok(cluster_t *c, const char *agent, const char **args)
{
    ARGS("-d", c->cdir, "check-config");
}
static void t_differences(cluster_t *c, const char *agent, const char **args)
{
    s_make_events(c, agent);
    cli_patch_store(s_fmt(0, c->cdir, "ledger/cells"), "cells", "", NULL, 0, true);
    ARGS("-d", c->cdir, "rebuild", "--verify");
}
static void t_usage(cluster_t *c, const char *agent, const char **args)
{
    ARGS("-d", c->cdir, "--format", "xml", "status");
}
static void t_no_event(cluster_t *c, const char *agent, const char **args)
{
    s_make_store(c);
    ARGS("-d", c->cdir, "erase", "0123456789abcdef0123456789abcdef");
}
static void t_no_data(cluster_t *c, const char *agent, const char **args)
{
    ARGS("-d", s_fmt(0, c->dir, "nonexistent"), "status");
}
static void t_no_answer(cluster_t *c, const char *agent, const char **args)
{
    const char *key = s_fmt(2, c->dir, "sub.key");
    char *argv[] = {(char *) tu_bin("finsamctl"), "keygen", (char *) key, "--access", "all", NULL};
    CHECK_EQ(tu_run(argv, NULL, 10000), 0);
    snprintf(s_buf[1], sizeof s_buf[1], "%.500s_secret", key);
    snprintf(s_buf[3], sizeof s_buf[3], "tcp://127.0.0.1:%d", tu_free_port());
    ARGS("-d", c->cdir, "tail", "--key", s_buf[1], "--stream", s_buf[3], "--replay", s_buf[3]);
}
static void t_keygen(cluster_t *c, const char *agent, const char **args)
{
    ARGS("-d", c->cdir, "keygen", s_fmt(0, c->cdir, "keys/collector.key"));
}
static void t_io(cluster_t *c, const char *agent, const char **args)
{
    s_make_store(c);
    /* A file where the backup's directory should be. */
    CHECK(tu_write_file(s_fmt(1, c->dir, "file"), "x\n") == 0);
    ARGS("-d", c->cdir, "backup", s_fmt(2, c->dir, "file/backup"));
}
static void t_key_0644(cluster_t *c, const char *agent, const char **args)
{
    const char *key = s_fmt(2, c->dir, "sub.key");
    char *argv[] = {(char *) tu_bin("finsamctl"), "keygen", (char *) key, "--access", "all", NULL};
    CHECK_EQ(tu_run(argv, NULL, 10000), 0);
    snprintf(s_buf[1], sizeof s_buf[1], "%.500s_secret", key);
    CHECK(chmod(s_buf[1], 0644) == 0);
    ARGS("-d", c->cdir, "tail", "--key", s_buf[1]);
}
static void t_catalogue(cluster_t *c, const char *agent, const char **args)
{
    CHECK(tu_write_file(s_fmt(1, c->dir, "catalogue.json"), "{\"not\": \"a catalogue\"}\n") == 0);
    ARGS("-d", c->cdir, "--catalogue", s_buf[1], "query");
}

/* ---- finsam-agent ---- */

static void a_ok(cluster_t *c, const char *agent, const char **args)
{
    ARGS("-d", agent, "check-config");
}
static void a_usage(cluster_t *c, const char *agent, const char **args)
{
    ARGS("-d", agent, "--log-level", "foo", "status");
}
static void a_bad_input(cluster_t *c, const char *agent, const char **args)
{
    CHECK(tu_write_file(s_fmt(1, c->dir, "bad.jsonl"), "this is not JSON\n") == 0);
    ARGS("-d", agent, "import", s_buf[1]);
}
static void a_no_input(cluster_t *c, const char *agent, const char **args)
{
    ARGS("-d", agent, "import", s_fmt(1, c->dir, "nonexistent.jsonl"));
}
static void a_unavailable(cluster_t *c, const char *agent, const char **args)
{
    /* The collector is not started: nothing answers at its endpoint. */
    ARGS("-d", agent, "--collector", c->endpoint, "run", "--exit-when-empty", "--unreachable-timeout", "1");
}
static void a_keygen(cluster_t *c, const char *agent, const char **args)
{
    ARGS("-d", agent, "-F", "NV", "keygen");
}
static void a_io(cluster_t *c, const char *agent, const char **args)
{
    CHECK(tu_write_file(s_fmt(1, agent, "outbox"), "not an outbox\n") == 0);
    ARGS("-d", agent, "status");
}
static void a_key_0644(cluster_t *c, const char *agent, const char **args)
{
    CHECK(chmod(s_fmt(1, agent, "keys/pseudonym.key"), 0644) == 0);
    ARGS("-d", agent, "demo", "--events", "5", "--no-send");
}
static void a_config(cluster_t *c, const char *agent, const char **args)
{
    ARGS("-d", s_fmt(1, c->dir, "fresh"), "import", s_fmt(2, c->dir, "x.jsonl"));
}

static const s_row_t s_rows[] = {
    {"finsam-collector", 0, "check-config passes", c_ok, "finsam-collector: configuration ok"},
    {"finsam-collector", 64, "a bad value", c_usage, "--log-level: foo: not one of debug|info|warn|error"},
    {"finsam-collector", 65, "a store of another schema", c_schema, "store schema version 99"},
    {"finsam-collector", 66, "--config FILE missing", c_no_config,
     "/nonexistent/collector.ini: no such file"},
    {"finsam-collector", 69, "endpoint in use", c_bind, "Address already in use"},
    {"finsam-collector", 73, "keygen over a key", c_keygen, "already exists; refusing to overwrite a key"},
    {"finsam-collector", 74, "store I/O", c_store_io, "Is a directory"},
    {"finsam-collector", 77, "secret key 0644", c_key_0644, "has mode 0644; refusing it (chmod 600 "},
    {"finsam-collector", 78, "secret key missing", c_key_missing, "no such file: "},
    {"finsamctl", 0, "check-config passes", t_ok, "finsamctl: configuration ok"},
    {"finsamctl", 1, "rebuild finds a difference", t_differences, "differences=1"},
    {"finsamctl", 64, "a bad value", t_usage, "--format: xml: not one of table|json|csv"},
    {"finsamctl", 65, "erase: no such event", t_no_event, "finsamctl: erase: "},
    {"finsamctl", 66, "no data directory", t_no_data, "finsamctl: "},
    {"finsamctl", 69, "tail: no answer", t_no_answer, "no answer from"},
    {"finsamctl", 73, "keygen over a key", t_keygen, "already exists; refusing to overwrite a key"},
    {"finsamctl", 74, "backup cannot write", t_io, "finsamctl: backup: "},
    {"finsamctl", 77, "tail: subscriber key 0644", t_key_0644, "mode 0644"},
    {"finsamctl", 78, "bad catalogue", t_catalogue, "finsamctl: catalogue: "},
    {"finsam-agent", 0, "check-config passes", a_ok, "finsam-agent: inställningarna är ok"},
    {"finsam-agent", 64, "a bad value", a_usage, "--log-level: foo: not one of debug|info|warn|error"},
    {"finsam-agent", 65, "bad input data", a_bad_input, "bad.jsonl:1"},
    {"finsam-agent", 66, "input file missing", a_no_input, "nonexistent.jsonl: No such file or directory"},
    {"finsam-agent", 69, "no collector answers", a_unavailable, "NO-CONNECTION state=unreachable"},
    {"finsam-agent", 73, "keygen over a key", a_keygen, "finns redan; en nyckel skrivs aldrig över"},
    {"finsam-agent", 74, "outbox I/O", a_io, "finsam-agent: "},
    {"finsam-agent", 77, "pseudonym key 0644", a_key_0644, "has mode 0644; refusing it (chmod 600 "},
    {"finsam-agent", 78, "no förbund, no key", a_config, "förbund: okänt: ange --forbund"},
};

static void s_rows_of(const char *bin)
{
    int provoked[32];
    size_t n = 0;
    for (size_t i = 0; i < TU_NELEMS(s_rows); i++) {
        const s_row_t *r = &s_rows[i];
        if (strcmp(r->bin, bin))
            continue;
        fprintf(stderr, "-- %s %d: %s\n", bin, r->code, r->name);
        cluster_t c;
        cluster_init(&c);
        char agent[400];
        cluster_add_agent(&c, "nv-kontoret", "NV", true, agent, sizeof agent);
        const char *args[16] = {NULL};
        r->provoke(&c, agent, args);
        char *log;
        int rc = cli_run(bin, args, &log);
        if (s_listener >= 0) {
            close(s_listener);
            s_listener = -1;
        }
        CHECK_EQ(rc, r->code);
        if (!strstr(log, r->says)) {
            fprintf(stderr, "wanted in the output: %s\n", r->says);
            CHECK(false);
        }
        if (r->code) /* a failure says so, and never the bare errno */
            CHECK(!strstr(log, "refused: No such file"));
        free(log);
        tu_rmrf(c.dir);
        provoked[n++] = r->code;
    }
    /* The --help table: exactly these codes, in this order. */
    char *help = cli_help(bin);
    int listed[32];
    size_t m = cli_help_exit_codes(help, listed, 32);
    free(help);
    for (size_t i = 0; i < m; i++)
        fprintf(stderr, "%s --help lists %d\n", bin, listed[i]);
    CHECK_EQ(m, n);
    for (size_t i = 0; i < n; i++)
        CHECK_EQ(listed[i], provoked[i]);
}

static void test_collector(void)
{
    s_rows_of("finsam-collector");
}

static void test_ctl(void)
{
    s_rows_of("finsamctl");
}

static void test_agent(void)
{
    s_rows_of("finsam-agent");
}

/* The one CLI language: a short letter names the same long option in every
 * binary that has it, and these are the letters (docs/operations.md). */
static void test_short_options(void)
{
    static const char *const want[][2] = {
        {"c", "config"},  {"d", "data-dir"}, {"e", "endpoint"},  {"f", "format"},
        {"F", "forbund"}, {"h", "help"},     {"k", "min-units"}, {"l", "log-level"},
        {"m", "measure"}, {"M", "mapping"},  {"n", "dry-run"},   {"p", "period"},
        {"s", "slice"},   {"S", "spool"},    {"V", "version"},   {"o", "out"},
    };
    char *by_letter[128] = {NULL};
    for (size_t b = 0; b < 3; b++) {
        char *help = cli_help(cli_binaries[b]);
        const char *names[64];
        char letters[64];
        size_t n = cli_help_options(help, names, letters, 64);
        /* -h, -V and -c are printed by options_print_help too. */
        for (size_t i = 0; i < n; i++) {
            if (!letters[i])
                continue;
            int l = (unsigned char) letters[i];
            fprintf(stderr, "%s: -%c --%s\n", cli_binaries[b], letters[i], names[i]);
            if (by_letter[l] && strcmp(by_letter[l], names[i])) {
                fprintf(stderr, "-%c is --%s in one binary and --%s in %s\n", letters[i], by_letter[l],
                        names[i], cli_binaries[b]);
                CHECK(false);
            }
            if (!by_letter[l])
                by_letter[l] = strdup(names[i]);
            bool known = false;
            for (size_t w = 0; w < TU_NELEMS(want); w++)
                known |= want[w][0][0] == letters[i] && !strcmp(want[w][1], names[i]);
            if (!known) {
                fprintf(stderr, "-%c --%s is not in the documented table\n", letters[i], names[i]);
                CHECK(false);
            }
        }
        free(help);
    }
    for (size_t l = 0; l < TU_NELEMS(by_letter); l++)
        free(by_letter[l]);
}

static const test_case_t s_cases[] = {
    {"finsam-collector: every documented exit code", test_collector},
    {"finsamctl: every documented exit code", test_ctl},
    {"finsam-agent: every documented exit code", test_agent},
    {"short options mean one thing in every binary", test_short_options},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
