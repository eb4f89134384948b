/* check_config_test.c: `check-config` of finsam-collector, finsamctl and
 * finsam-agent with real processes: it passes beside a running collector
 * on the same data directory and ports, which still answer afterwards
 * (it binds and connects nothing); each problem it looks for gives its
 * line and its exit code; and the shipped example configs
 * (packaging/config/) hold every option of their binaries and pass. */
#include "cli_util.h"
#include "cluster.h"
#include "testutil.h"

#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A collector with its keys and one agent listed, not running. */
typedef struct {
    cluster_t c;
    char agent[400];
} s_site_t;

static void s_site(s_site_t *s)
{
    cluster_init(&s->c);
    cluster_add_agent(&s->c, "nv-kontoret", "NV", true, s->agent, sizeof s->agent);
}

static void test_beside_running_collector(void)
{
    s_site_t s;
    s_site(&s);
    cluster_start_collector_http(&s.c);
    char port[16];
    snprintf(port, sizeof port, "127.0.0.1:%d", s.c.http_port);
    /* The running collector's own command line, its ports included. */
    char **argv = cluster_collector_argv(&s.c, "info");
    const char *args[40];
    int n = 0;
    for (int i = 1; argv[i]; i++)
        args[n++] = !strcmp(argv[i], "off") && !strcmp(argv[i - 1], "--http") ? port : argv[i];
    args[n++] = "check-config";
    args[n] = NULL;
    char *log;
    CHECK_EQ(cli_run("finsam-collector", args, &log), 0);
    CHECK(strstr(log, "ok    secret key ") && strstr(log, "agent allow-list ") &&
          strstr(log, "1 certificate: NV=1"));
    CHECK(strstr(log, "(not bound by check-config)") && strstr(log, "finsam-collector: configuration ok"));
    free(log);
    const char *ctl[] = {"-d", s.c.cdir, "check-config", NULL};
    CHECK_EQ(cli_run("finsamctl", ctl, &log), 0);
    CHECK(strstr(log, "ok    store ") && strstr(log, "finsamctl: configuration ok"));
    free(log);
    const char *agent[] = {"-d", s.agent, "--collector", s.c.endpoint, "check-config", NULL};
    CHECK_EQ(cli_run("finsam-agent", agent, &log), 0);
    free(log);
    /* The collector still runs and still serves both its ports. */
    CHECK(kill(s.c.collector, 0) == 0 && tu_wait(s.c.collector, 0) == -1);
    int status;
    size_t len;
    free(cluster_http_get(&s.c, "/healthz", &status, &len));
    CHECK_EQ(status, 200);
    const char *demo[] = {"demo", "--events", "20", "--exit-when-empty", NULL};
    CHECK_EQ(cluster_agent(&s.c, s.agent, 60000, demo), 0);
    CHECK_EQ(cluster_stored(&s.c, "NV"), 20);
    cluster_stop_collector(&s.c, SIGTERM);
}

/* One problem per case: what to break, the command, the code, the line. */
typedef struct {
    const char *name;
    const char *bin;
    void (*breaks)(s_site_t *s);
    int code;
    const char *line; /* in the output */
} s_fail_t;

static char s_path[600];
static const char *s_in(const char *dir, const char *rel)
{
    snprintf(s_path, sizeof s_path, "%s/%s", dir, rel);
    return s_path;
}

static void s_no_data_dir(s_site_t *s)
{
    tu_rmrf(s->c.cdir);
    tu_rmrf(s->agent);
}
static void s_collector_key_0644(s_site_t *s)
{
    CHECK(chmod(s_in(s->c.cdir, "keys/collector.key_secret"), 0644) == 0);
}
static void s_collector_key_missing(s_site_t *s)
{
    CHECK(unlink(s_in(s->c.cdir, "keys/collector.key_secret")) == 0);
}
static void s_world_writable(s_site_t *s)
{
    CHECK(chmod(s->c.cdir, 0777) == 0);
    CHECK(chmod(s->agent, 0777) == 0);
}
static void s_bad_certificate(s_site_t *s)
{
    CHECK(tu_write_file(s_in(s->c.cdir, "agents/broken.key"), "not a certificate\n") == 0);
}
static void s_no_forbund_metadata(s_site_t *s)
{
    CHECK(tu_write_file(s_in(s->c.cdir, "agents/nometa.key"),
                        "metadata\ncurve\n    public-key = \"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7\"\n") ==
          0);
}
static void s_bad_catalogue(s_site_t *s)
{
    CHECK(tu_write_file(s_in(s->c.dir, "catalogue.json"), "{\"not\": \"a catalogue\"}\n") == 0);
}
static void s_pseudonym_key_0644(s_site_t *s)
{
    CHECK(chmod(s_in(s->agent, "keys/pseudonym.key"), 0644) == 0);
}
static void s_collector_pubkey_missing(s_site_t *s)
{
    CHECK(unlink(s_in(s->agent, "keys/collector.key")) == 0);
}
static void s_agent_key_missing(s_site_t *s)
{
    CHECK(unlink(s_in(s->agent, "keys/agent.key_secret")) == 0);
}

static void s_other_schema(s_site_t *s)
{
    cluster_start_collector(&s->c);
    cluster_stop_collector(&s->c, SIGTERM);
    static const uint8_t future[4] = {0, 0, 0, 99};
    cli_patch_store(s_in(s->c.cdir, "ledger"), "meta", "schema", future, 4, false);
}

static const s_fail_t s_fails[] = {
    {"collector: a store of another schema", "finsam-collector", s_other_schema, 65,
     "store schema version 99"},
    {"finsamctl: a store of another schema", "finsamctl", s_other_schema, 65, "store schema version 99"},
    {"collector: no data directory", "finsam-collector", s_no_data_dir, 66, "no such directory; fix: "},
    {"collector: secret key 0644", "finsam-collector", s_collector_key_0644, 77,
     "mode 0644: readable by group or others, so it is refused; fix: chmod 600 "},
    {"collector: secret key missing", "finsam-collector", s_collector_key_missing, 78,
     "secret key: no such file: "},
    {"collector: world-writable data directory", "finsam-collector", s_world_writable, 77,
     "mode 0777: writable by every user; fix: chmod o-w "},
    {"collector: a file in the allow-list is no certificate", "finsam-collector", s_bad_certificate, 78,
     "broken.key: not a certificate"},
    {"collector: a certificate without förbund", "finsam-collector", s_no_forbund_metadata, 78,
     "nometa.key: no valid forbund metadata"},
    {"collector: bad catalogue", "finsam-collector", s_bad_catalogue, 78, "FAIL  catalogue: "},
    {"finsamctl: no data directory", "finsamctl", s_no_data_dir, 66, "no such directory; fix: "},
    {"finsamctl: world-writable data directory", "finsamctl", s_world_writable, 77, "writable by every user"},
    {"finsamctl: a file in the allow-list is no certificate", "finsamctl", s_bad_certificate, 78,
     "broken.key: not a certificate"},
    {"finsamctl: bad catalogue", "finsamctl", s_bad_catalogue, 78, "FAIL  catalogue: "},
    {"agent: no data directory", "finsam-agent", s_no_data_dir, 66, "no such directory; fix: "},
    {"agent: world-writable data directory", "finsam-agent", s_world_writable, 77, "writable by every user"},
    {"agent: pseudonym key 0644", "finsam-agent", s_pseudonym_key_0644, 77, "pseudonym key /",
     /* then the mode and the fix */},
    {"agent: agent key missing", "finsam-agent", s_agent_key_missing, 78, "agent secret key: no such file: "},
    {"agent: collector public key missing", "finsam-agent", s_collector_pubkey_missing, 78,
     "collector public key: no such file: "},
    {"agent: bad catalogue", "finsam-agent", s_bad_catalogue, 78, "FAIL  catalogue: "},
};

/* The rows of one binary (a case makes at most 16 temporary directories). */
static void s_each_problem(const char *bin)
{
    for (size_t i = 0; i < TU_NELEMS(s_fails); i++) {
        const s_fail_t *f = &s_fails[i];
        if (strcmp(f->bin, bin))
            continue;
        fprintf(stderr, "-- %s\n", f->name);
        s_site_t s;
        s_site(&s);
        f->breaks(&s);
        bool catalogue = f->breaks == s_bad_catalogue;
        bool agent = !strcmp(f->bin, "finsam-agent");
        /* The agent's lines in English here (staff read Swedish: see
         * test_agent_swedish). */
        const char *args[] = {"-d", agent ? s.agent : s.c.cdir, "check-config", NULL, NULL, NULL, NULL, NULL};
        int k = 3;
        if (catalogue) {
            args[k++] = "--catalogue";
            args[k++] = s_in(s.c.dir, "catalogue.json");
        }
        if (agent) {
            args[k++] = "--lang";
            args[k++] = "en";
        }
        char *log;
        CHECK_EQ(cli_run(f->bin, args, &log), f->code);
        CHECK(strstr(log, f->line));
        char summary[64];
        snprintf(summary, sizeof summary, "check-config: 1 problem; exit %d", f->code);
        CHECK(strstr(log, "problem") && strstr(log, "; exit "));
        if (f->breaks != s_no_data_dir && f->breaks != s_bad_certificate &&
            f->breaks != s_no_forbund_metadata && f->breaks != s_world_writable &&
            f->breaks != s_agent_key_missing)
            CHECK(strstr(log, summary)); /* exactly one problem */
        CHECK(!strstr(log, "configuration ok"));
        free(log);
        /* The agent's old flag is the same command. */
        if (agent) {
            const char *flag[] = {"-d", s.agent, "--check-config", args[3], args[4], args[5], args[6], NULL};
            CHECK_EQ(cli_run(f->bin, flag, NULL), f->code);
        }
        tu_rmrf(s.c.dir);
    }
}

static void test_collector_problems(void)
{
    s_each_problem("finsam-collector");
}

static void test_ctl_problems(void)
{
    s_each_problem("finsamctl");
}

static void test_agent_problems(void)
{
    s_each_problem("finsam-agent");
}

/* A data directory another user owns: the operator may run finsamctl on
 * it while it can read it; the collector's own user must be able to write
 * it. Run as another user with setpriv (root only; skipped otherwise). */
static void test_foreign_data_directory(void)
{
    if (geteuid() != 0 || access("/usr/bin/setpriv", X_OK) < 0) {
        fprintf(stderr, "skipped: needs root and /usr/bin/setpriv to run as another user\n");
        return;
    }
    s_site_t s;
    s_site(&s);
    /* nobody may enter the temp root and read the data directory, which
     * root owns: readable for finsamctl, not writable for the collector. */
    CHECK(chmod(s.c.dir, 0755) == 0 && chmod(s.c.cdir, 0755) == 0);
    static const struct {
        const char *bin;
        int code;
        const char *line;
    } rows[] = {
        {"finsamctl", 0, "ok    data directory "},
        {"finsam-collector", 77,
         "owned by root; nobody, who runs this, cannot write it; fix: chown -R nobody "},
    };
    for (size_t i = 0; i < TU_NELEMS(rows); i++) {
        char log[600];
        snprintf(log, sizeof log, "%s/as-nobody-%zu.log", s.c.dir, i);
        char *argv[] = {"/usr/bin/setpriv",
                        "--reuid=65534",
                        "--regid=65534",
                        "--clear-groups",
                        (char *) tu_bin(rows[i].bin),
                        "-d",
                        s.c.cdir,
                        "check-config",
                        NULL};
        int rc = tu_run(argv, log, 30000);
        char *text = tu_read_file(log);
        fprintf(stderr, "%s as nobody: exit %d\n%s", rows[i].bin, rc, text ? text : "");
        CHECK(text && strstr(text, rows[i].line));
        free(text);
        if (rows[i].code == 0)
            CHECK(tu_file_has(log, "ok    data directory ")); /* later checks may fail: keys are root's */
        else
            CHECK_EQ(rc, rows[i].code);
    }
}

/* Keys written in the example file (active "key =" or commented "# key =")
 * in the common part and in the given sections. */
static bool s_example_has(const char *text, const char *key, const char *const *sections)
{
    char section[64] = "";
    for (const char *line = text; line && *line;) {
        const char *next = strchr(line, '\n');
        size_t len = next ? (size_t) (next - line) : strlen(line);
        if (line[0] == '[') {
            snprintf(section, sizeof section, "%.*s", (int) (len > 2 ? len - 2 : 0), line + 1);
        } else {
            const char *p = line;
            if (*p == '#' || *p == ';')
                p += 1 + (p[1] == ' ');
            size_t k = strlen(key);
            bool mine = !section[0];
            for (const char *const *s = sections; *s; s++)
                mine |= !strcmp(section, *s);
            if (mine && !strncmp(p, key, k) && (p[k] == ' ' || p[k] == '='))
                return true;
        }
        line = next ? next + 1 : NULL;
    }
    return false;
}

static void test_example_configs(void)
{
    static const struct {
        const char *bin, *file;
        const char *sections[2];
    } examples[] = {
        {"finsam-collector", "packaging/config/collector.ini", {"collector", NULL}},
        {"finsamctl", "packaging/config/collector.ini", {"finsamctl", NULL}},
        {"finsam-agent", "packaging/config/agent.ini", {"agent", NULL}},
    };
    s_site_t s;
    s_site(&s);
    for (size_t i = 0; i < TU_NELEMS(examples); i++) {
        char *text = tu_read_file(tu_src(examples[i].file));
        CHECK(text);
        char *help = cli_help(examples[i].bin);
        const char *names[64];
        char letters[64];
        size_t n = cli_help_options(help, names, letters, 64);
        CHECK(n > 10);
        for (size_t k = 0; k < n; k++) {
            if (!strcmp(names[k], "help") || !strcmp(names[k], "version") || !strcmp(names[k], "config"))
                continue;
            if (!s_example_has(text, names[k], examples[i].sections)) {
                fprintf(stderr, "%s: option --%s is not in %s\n", examples[i].bin, names[k],
                        examples[i].file);
                CHECK(false);
            }
        }
        /* The example as shipped, with the test's data directory. */
        bool agent = i == 2;
        const char *args[] = {
            "-c", tu_src(examples[i].file), "-d", agent ? s.agent : s.c.cdir, "check-config", NULL};
        char *log;
        CHECK_EQ(cli_run(examples[i].bin, args, &log), 0);
        CHECK(strstr(log, agent ? "ok    inställningar och inställningsfilen "
                                : "ok    options and config file "));
        free(log);
        free(help);
        free(text);
    }
}

/* The agent's check-config in Swedish, its default: the words, the
 * reasons, the summary. */
static void test_agent_swedish(void)
{
    s_site_t s;
    s_site(&s);
    const char *ok[] = {"-d", s.agent, "check-config", NULL};
    char *log;
    CHECK_EQ(cli_run("finsam-agent", ok, &log), 0);
    CHECK(strstr(log, "ok    datamapp ") && strstr(log, "(ägare "));
    CHECK(strstr(log, "ok    agentens hemliga nyckel ") && strstr(log, "(rättigheter 0600)"));
    CHECK(strstr(log, "ok    förbund NV (från agentens nyckel)"));
    CHECK(strstr(log, "ok    insamlingsserverns publika nyckel "));
    CHECK(strstr(log, "ok    katalog inbyggd ("));
    CHECK(strstr(log, "finsam-agent: inställningarna är ok"));
    CHECK(!strstr(log, "configuration ok") && !strstr(log, "data directory") && !strstr(log, " fix: "));
    free(log);
    s_pseudonym_key_0644(&s);
    s_collector_pubkey_missing(&s);
    CHECK_EQ(cli_run("finsam-agent", ok, &log), 77);
    CHECK(strstr(log, "FEL   pseudonymnyckel ") &&
          strstr(log,
                 ": rättigheter 0644: gruppen eller andra kan läsa den, så den vägras; åtgärd: chmod 600 "));
    CHECK(strstr(log, "FEL   insamlingsserverns publika nyckel: filen finns inte: "));
    CHECK(strstr(log, "finsam-agent: check-config: 2 fel; slutkod 77"));
    CHECK(!strstr(log, "FAIL") && !strstr(log, "problem"));
    free(log);
    tu_rmrf(s.c.dir);
}

/* The wrong file in the collector key's place: the agent's own public
 * key, another agent's, the collector's secret key (as --server-key, or
 * copied beside collector.key). check-config names it and fails 78, and
 * `run` refuses to start with the same words. */
static void test_agent_wrong_collector_key(void)
{
    s_site_t s;
    s_site(&s);
    char own[500], secret[500], beside[500], other[600], other_dir[400];
    snprintf(own, sizeof own, "%s/keys/agent.key", s.agent);
    snprintf(secret, sizeof secret, "%s/keys/collector.key_secret", s.c.cdir);
    snprintf(beside, sizeof beside, "%s/keys/collector.key_secret", s.agent);
    cluster_add_agent(&s.c, "sk-kontoret", "SK", true, other_dir, sizeof other_dir);
    snprintf(other, sizeof other, "%s/keys/agent.key", other_dir);
    static const struct {
        int file; /* 0 own, 1 secret, 2 another agent's */
        const char *sv, *en;
    } rows[] = {
        {0,
         "är den här agentens egen publika nyckel (keys/agent.key), inte serverns: be serverns "
         "administratör om collector.key",
         "is this agent's own public key (keys/agent.key), not the collector's: ask the collector's "
         "operator for collector.key"},
        {1,
         "är insamlingsserverns HEMLIGA nyckel: radera den här, den får aldrig lämna servern; be "
         "serverns administratör om collector.key",
         "is the collector's SECRET key: delete it here, it must never leave the collector; ask the "
         "collector's operator for collector.key"},
        {2, "är en agents nyckel (förbund SK), inte serverns",
         "is an agent's key (förbund SK), not the collector's"},
    };
    for (size_t i = 0; i < TU_NELEMS(rows); i++) {
        const char *file = rows[i].file == 0 ? own : rows[i].file == 1 ? secret : other;
        char opt[700];
        snprintf(opt, sizeof opt, "--server-key=%s", file);
        const char *sv[] = {"-d", s.agent, opt, "check-config", NULL};
        const char *en[] = {"-d", s.agent, opt, "--lang", "en", "check-config", NULL};
        char *log;
        CHECK_EQ(cli_run("finsam-agent", sv, &log), 78);
        CHECK(strstr(log, "FEL   insamlingsserverns publika nyckel: ") && strstr(log, rows[i].sv));
        CHECK(!strstr(log, "ok    insamlingsserverns publika nyckel") &&
              !strstr(log, "inställningarna är ok"));
        free(log);
        CHECK_EQ(cli_run("finsam-agent", en, &log), 78);
        CHECK(strstr(log, "FAIL  collector public key: ") && strstr(log, rows[i].en));
        free(log);
        /* run refuses to start, with the same words. */
        const char *run[] = {"-d", s.agent, opt, "--collector", s.c.endpoint, "run", "--exit-when-empty",
                             NULL};
        CHECK_EQ(cli_run("finsam-agent", run, &log), 78);
        CHECK(strstr(log, rows[i].sv));
        free(log);
    }
    /* The secret copied in beside the right public key. */
    char *text = tu_read_file(secret);
    CHECK(text && tu_write_file(beside, text) == 0 && chmod(beside, 0600) == 0);
    free(text);
    const char *sv[] = {"-d", s.agent, "check-config", NULL};
    char *log;
    CHECK_EQ(cli_run("finsam-agent", sv, &log), 78);
    CHECK(strstr(log, beside) && strstr(log, "är insamlingsserverns HEMLIGA nyckel: radera den här"));
    free(log);
    CHECK(unlink(beside) == 0);
    CHECK_EQ(cli_run("finsam-agent", sv, NULL), 0);
    tu_rmrf(s.c.dir);
}

static const test_case_t s_cases[] = {
    {"finsam-agent: Swedish lines by default", test_agent_swedish},
    {"finsam-agent: a wrong collector key file is named", test_agent_wrong_collector_key},
    {"beside a running collector", test_beside_running_collector},
    {"finsam-collector: each problem and its exit code", test_collector_problems},
    {"finsamctl: each problem and its exit code", test_ctl_problems},
    {"finsam-agent: each problem and its exit code", test_agent_problems},
    {"example configs: every option, and they pass", test_example_configs},
    {"a data directory of another user", test_foreign_data_directory},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
