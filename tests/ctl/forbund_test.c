/* forbund_test.c: finsamctl forbund add|list|rename (ctl/forbund.c) and the
 * registry they write (report/registry.c).
 *
 * The command cases are a table: arguments, exit status, and a text the
 * output or DATA/forbund.json must then hold. Then end to end: a förbund
 * the catalogue does not know is added with one command, its agent's
 * events roll up into its län (not "okänt län"), and a rename shows in
 * query and status, and in the running collector's web API. */
#include "cluster.h"
#include "testutil.h"

#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

/* finsamctl -d DATA forbund ARGS...; stdout and stderr in *out. */
static int s_forbund(const char *data, char **out, const char *const *args)
{
    char *argv[16] = {(char *) tu_bin("finsamctl"), "-d", (char *) data, "forbund"};
    int n = 4;
    for (int i = 0; args[i] && n < 15; i++)
        argv[n++] = (char *) args[i];
    argv[n] = NULL;
    static char log[400]; /* one directory per case (each runs in a process of its own) */
    if (!log[0])
        snprintf(log, sizeof log, "%s/forbund.out", tu_tempdir());
    unlink(log);
    int rc = tu_run(argv, log, 30000);
    *out = tu_read_file(log);
    return rc;
}

static void test_commands(void)
{
    static const struct {
        const char *args[8];
        int status;
        const char *out;  /* in the output, or NULL */
        const char *file; /* in DATA/forbund.json afterwards, or NULL */
    } cases[] = {
        /* Before any add: the catalogue's list, and no file. */
        {{"list"}, 0, "NV\tSamordningsförbundet Norra Västmanland\tVästmanland\n", NULL},
        {{"list"}, 0, "does not exist yet", NULL},
        {{"add", "GV", "--name", "Samordningsförbundet Gävleborg", "--lan", "Gävleborg"},
         0,
         "GV added",
         "\"GV\""},
        /* The first add keeps the built-in förbund. */
        {{"list"}, 0, "HBS\tSamordningsförbundet Huddinge, Botkyrka och Salem\tStockholm\n", "\"HBS\""},
        {{"add", "UU", "--name", "Två län", "--lan", "Uppsala, Västmanland"}, 0, NULL, NULL},
        {{"list"}, 0, "UU\tTvå län\tUppsala,Västmanland\n", NULL},
        {{"list", "--format", "json"}, 0, "\"code\": \"GV\"", NULL},
        {{"rename", "NV", "--name", "Norra Västmanlands förbund"},
         0,
         "NV renamed",
         "Norra Västmanlands förbund"},
        {{"list"}, 0, "NV\tNorra Västmanlands förbund\tVästmanland\n", NULL},
        /* Refusals, each with its reason. */
        {{"add", "GV", "--name", "x", "--lan", "y"}, EX_DATAERR, "GV: already registered", NULL},
        {{"add", "a b", "--name", "x", "--lan", "y"}, EX_DATAERR, "a b: not a förbund code", NULL},
        {{"add", "XX", "--lan", "y"}, EX_DATAERR, "XX: --name is required", NULL},
        {{"add", "XX", "--name", "x"}, EX_DATAERR, "XX: --lan wants a län", NULL},
        {{"add", "XX", "--name", "x", "--lan", "a,,b"}, EX_DATAERR, "XX: --lan wants a län", NULL},
        {{"rename", "XX", "--name", "x"}, EX_NOINPUT, "XX: not registered", NULL},
        {{"frobnicate"}, EX_USAGE, "Usage: finsamctl forbund add CODE", NULL},
        {{"add"}, EX_USAGE, "Usage:", NULL},
    };
    const char *dir = tu_tempdir();
    char data[300], file[340];
    snprintf(data, sizeof data, "%s/data", dir);
    CHECK(mkdir(data, 0700) == 0);
    snprintf(file, sizeof file, "%s/forbund.json", data);
    for (size_t i = 0; i < TU_NELEMS(cases); i++) {
        char *out = NULL;
        int rc = s_forbund(data, &out, cases[i].args);
        if (rc != cases[i].status || (cases[i].out && !(out && strstr(out, cases[i].out))))
            fprintf(stderr, "case %zu (%s): status %d, output:\n%s\n", i, cases[i].args[0], rc,
                    out ? out : "");
        CHECK_EQ(rc, cases[i].status);
        if (cases[i].out)
            CHECK(out && strstr(out, cases[i].out));
        if (cases[i].file)
            CHECK(tu_file_has(file, cases[i].file));
        free(out);
    }
    /* A file that is not a registry is refused by every command, named. */
    CHECK(tu_write_file(file, "{\"version\": 1, \"forbund\": {\"GV\": {\"name\": \"x\"}}}") == 0);
    char *out = NULL;
    CHECK_EQ(s_forbund(data, &out, (const char *const[]){"list", NULL}), EX_CONFIG);
    CHECK(out && strstr(out, "förbund GV: want a code, \"name\" and \"lan\""));
    free(out);
}

/* The rows of every measure in a query --format json answer, searched
 * for one (level, name) with an optional län. */
static bool s_has_row(json_t *q, const char *level, const char *name, const char *lan)
{
    size_t i, j;
    json_t *m, *r;
    json_array_foreach(json_object_get(q, "measures"), i, m) {
        json_array_foreach(json_object_get(m, "rows"), j, r) {
            if (strcmp(json_string_value(json_object_get(r, "level")), level) ||
                strcmp(json_string_value(json_object_get(r, "name")), name))
                continue;
            if (!lan || !strcmp(json_string_value(json_object_get(r, "lan")), lan))
                return true;
        }
    }
    return false;
}

static json_t *s_query(const cluster_t *c)
{
    char *out = NULL;
    CHECK_EQ(cluster_ctl(c, &out, (const char *const[]){"query", "--format", "json", "--exact", NULL}), 0);
    json_t *j = json_loads(out ? out : "", 0, NULL);
    free(out);
    CHECK(j);
    return j;
}

/* finsamctl forbund add GV, a förbund of Gävleborg. */
static void s_add_gavleborg(const cluster_t *c)
{
    char *out = NULL;
    CHECK_EQ(s_forbund(c->cdir, &out,
                       (const char *const[]){"add", "GV", "--name", "Samordningsförbundet Gävleborg", "--lan",
                                             "Gävleborg", NULL}),
             0);
    free(out);
}

static void test_new_forbund_rolls_up(void)
{
    cluster_t c;
    cluster_init(&c);
    s_add_gavleborg(&c);
    char gv[320], *out = NULL;
    cluster_add_agent(&c, "gv", "GV", true, gv, sizeof gv);
    cluster_start_collector(&c);
    CHECK_EQ(
        cluster_agent(&c, gv, 120000, (const char *[]){"demo", "--events", "400", "--exit-when-empty", NULL}),
        0);
    json_t *q = s_query(&c);
    CHECK(s_has_row(q, "forbund", "GV", "Gävleborg"));
    CHECK(s_has_row(q, "lan", "Gävleborg", NULL));
    CHECK(!s_has_row(q, "lan", "okänt län", NULL));
    CHECK(!strcmp(
        json_string_value(json_object_get(json_object_get(json_object_get(q, "forbund"), "GV"), "name")),
        "Samordningsförbundet Gävleborg"));
    json_decref(q);
    /* A rename shows in the next query, the collector running. */
    CHECK_EQ(
        s_forbund(c.cdir, &out, (const char *const[]){"rename", "GV", "--name", "Gävleborgs förbund", NULL}),
        0);
    free(out);
    q = s_query(&c);
    CHECK(!strcmp(
        json_string_value(json_object_get(json_object_get(json_object_get(q, "forbund"), "GV"), "name")),
        "Gävleborgs förbund"));
    json_decref(q);
    /* ... and in status, text and JSON. */
    CHECK_EQ(cluster_ctl(&c, &out, (const char *const[]){"status", NULL}), 0);
    CHECK(out && strstr(out, "GV       Gävleborgs förbund (Gävleborg)\n"));
    free(out);
    json_t *st = cluster_status(&c);
    json_t *gvst = NULL, *f;
    size_t i;
    json_array_foreach(json_object_get(st, "forbund"), i, f) {
        if (!strcmp(json_string_value(json_object_get(f, "forbund")), "GV"))
            gvst = f;
    }
    CHECK(!strcmp(json_string_value(json_object_get(gvst, "name")), "Gävleborgs förbund"));
    CHECK(!strcmp(json_string_value(json_object_get(gvst, "lan")), "Gävleborg"));
    json_decref(st);
    cluster_stop_collector(&c, SIGTERM);
}

/* The registry's entry for code in GET /api/indicators, or NULL. */
static json_t *s_http_forbund(const cluster_t *c, const char *code)
{
    int status = 0;
    size_t len = 0;
    char *http = cluster_http_get(c, "/api/indicators?period=year&measure=1", &status, &len);
    CHECK_EQ(status, 200);
    const char *body = http ? strstr(http, "\r\n\r\n") : NULL;
    json_t *j = body ? json_loads(body + 4, 0, NULL) : NULL;
    free(http);
    CHECK(j);
    json_t *e = json_incref(json_object_get(json_object_get(j, "forbund"), code));
    json_decref(j);
    return e;
}

/* The collector's web API follows the file while it runs: an added
 * förbund and a rename show without a restart. */
static void test_collector_follows(void)
{
    cluster_t c;
    cluster_init(&c);
    cluster_start_collector_http(&c);
    json_t *e = s_http_forbund(&c, "NV"); /* the built-in list */
    CHECK(e &&
          !strcmp(json_string_value(json_object_get(e, "name")), "Samordningsförbundet Norra Västmanland"));
    json_decref(e);
    CHECK(!s_http_forbund(&c, "GV"));
    char *out = NULL;
    CHECK_EQ(s_forbund(c.cdir, &out,
                       (const char *const[]){"add", "GV", "--name", "Gävleborg", "--lan", "Gävleborg", NULL}),
             0);
    free(out);
    e = s_http_forbund(&c, "GV");
    CHECK(e && !strcmp(json_string_value(json_object_get(e, "lan")), "Gävleborg"));
    json_decref(e);
    CHECK_EQ(
        s_forbund(c.cdir, &out, (const char *const[]){"rename", "NV", "--name", "Norra Västmanland", NULL}),
        0);
    free(out);
    e = s_http_forbund(&c, "NV");
    CHECK(e && !strcmp(json_string_value(json_object_get(e, "name")), "Norra Västmanland"));
    json_decref(e);
    /* A broken file keeps what was there, and says so in the log. */
    char path[400];
    snprintf(path, sizeof path, "%s/forbund.json", c.cdir);
    CHECK(tu_write_file(path, "{") == 0);
    e = s_http_forbund(&c, "NV");
    CHECK(e && !strcmp(json_string_value(json_object_get(e, "name")), "Norra Västmanland"));
    json_decref(e);
    CHECK(tu_file_has(c.log, "REGISTRY-INVALID"));
    cluster_stop_collector(&c, SIGTERM);
}

/* The streams follow the registry too: a förbund added while the
 * collector runs has its län row named on the aggregate stream, not
 * "okänt län" (the feed asks the registry before each walk). */
static void test_stream_follows(void)
{
    cluster_t c;
    cluster_init(&c);
    char agg[320], gv[320];
    cluster_add_subscriber(&c, "agg", "aggregates", agg, sizeof agg);
    cluster_add_agent(&c, "gv", "GV", true, gv, sizeof gv);
    cluster_start_collector(&c);
    s_add_gavleborg(&c);
    CHECK_EQ(
        cluster_agent(&c, gv, 120000, (const char *[]){"demo", "--events", "600", "--exit-when-empty", NULL}),
        0);
    /* The snapshot is of the publication: wait for one that holds GV. */
    char path[400];
    snprintf(path, sizeof path, "%s/agg-snapshot.json", c.dir);
    char *snap = NULL;
    for (int tries = 0; tries < 40 && !(snap && strstr(snap, "\"forbund\":\"GV\"")); tries++) {
        free(snap);
        const char *args[] = {"agg.", "--from", "0", "--idle-exit-ms", "500", NULL};
        CHECK_EQ(tu_wait(cluster_tail_spawn(&c, agg, c.stream_aggregates, path, args), 30000), 0);
        snap = tu_read_file(path);
        if (!strstr(snap ? snap : "", "\"forbund\":\"GV\""))
            usleep(250000);
    }
    CHECK(snap && strstr(snap, "\"forbund\":\"GV\""));
    CHECK(strstr(snap, "\"level\":\"lan\"") && strstr(snap, "\"forbund\":\"Gävleborg\""));
    CHECK(!strstr(snap, "okänt län"));
    free(snap);
    cluster_stop_collector(&c, SIGTERM);
}

static const test_case_t s_cases[] = {
    {"add, list, rename and refusals", test_commands},
    {"a new förbund rolls up into its län", test_new_forbund_rolls_up},
    {"the collector follows the registry", test_collector_follows},
    {"the aggregate stream follows the registry", test_stream_follows},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
