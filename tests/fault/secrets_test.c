/* secrets_test.c: no key, pseudonym or personnummer leaks into what
 * people read, and processes holding keys cannot be read by others.
 *
 * Proves, with a real collector and two agents run at --log-level debug
 * (imports with good and bad rows, a demo stream, a spoofing agent whose
 * events are all rejected):
 *  - no CURVE secret key (Z85, from every *_secret file), no pseudonym key
 *    (hex, either case), no pseudonym of any stored event (hex, either
 *    case; read back from the ledger itself) and no imported personnummer
 *    (any of its written forms) appears in the collector's log, the agents'
 *    logs and outputs (import errors, status with rejection reasons), or
 *    `finsamctl status`/`query`/`export` JSON;
 *  - the running collector and a sending agent are not dumpable: a process
 *    of the same user without CAP_SYS_PTRACE cannot read their memory
 *    (process_vm_readv), while it can an ordinary child's (the control).
 *
 * One case: a scenario whose steps depend on each other. */
#include "hostile.h"
#include "ledger.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

/* `finsam-agent run` holds its CURVE secret but, unlike import/demo, does
 * not yet call prctl(PR_SET_DUMPABLE, 0) (agents/main.c): reported, not
 * enforced. Set to true once it does. */
static const bool s_require_agent_run_undumpable = true;

/* ---- dumpability ------------------------------------------------------ */

/* True if a process of the same user, without CAP_SYS_PTRACE in effect,
 * may read pid's memory, which the kernel allows only when pid is
 * dumpable (__ptrace_may_access). The probe is process_vm_readv, checked
 * with real credentials: the checker keeps its permitted capabilities, so
 * the commoncap subset rule passes and only dumpability decides. A bad
 * address gives EFAULT after the permission check; EPERM means refused. */
static bool s_is_dumpable(pid_t pid)
{
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
        struct __user_cap_data_struct d[2];
        if (syscall(SYS_capget, &h, d) != 0)
            _exit(3);
        d[CAP_SYS_PTRACE / 32].effective &= ~(1u << (CAP_SYS_PTRACE % 32));
        if (syscall(SYS_capset, &h, d) != 0)
            _exit(3);
        char byte;
        struct iovec local = {&byte, 1}, remote = {(void *) 0x1000, 1};
        if (process_vm_readv(pid, &local, 1, &remote, 1, 0) == 1 || errno == EFAULT)
            _exit(0);
        _exit(errno == EPERM ? 1 : 2);
    }
    int status;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status));
    CHECK(WEXITSTATUS(status) <= 1);
    return WEXITSTATUS(status) == 0;
}

/* ---- needles and haystacks -------------------------------------------- */

typedef struct {
    char *what[4096];
    char *text[4096];
    int n;
} s_needles_t;

static void s_needle(s_needles_t *s, const char *what, const char *text)
{
    CHECK(s->n < 4096 && strlen(text) >= 10);
    s->what[s->n] = strdup(what);
    s->text[s->n] = strdup(text);
    s->n++;
}

static void s_hex_both_cases(s_needles_t *s, const char *what, const uint8_t *bytes, size_t len)
{
    char lower[2 * 64 + 1], upper[2 * 64 + 1];
    CHECK(len <= 64);
    for (size_t i = 0; i < len; i++) {
        snprintf(lower + 2 * i, 3, "%02x", bytes[i]);
        snprintf(upper + 2 * i, 3, "%02X", bytes[i]);
    }
    s_needle(s, what, lower);
    s_needle(s, what, upper);
}

static void s_secret_z85(s_needles_t *s, const char *path)
{
    char *text = tu_read_file(path);
    CHECK(text);
    const char *p = strstr(text, "secret-key = \"");
    CHECK(p);
    char z85[41];
    memcpy(z85, p + 14, 40);
    z85[40] = '\0';
    s_needle(s, path, z85);
    free(text);
}

static void s_pseudonym_key(s_needles_t *s, const char *agent_dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/keys/pseudonym.key", agent_dir);
    char *hex = tu_read_file(path);
    CHECK(hex && strlen(hex) >= 64);
    uint8_t key[32];
    for (int i = 0; i < 32; i++) {
        unsigned v;
        CHECK(sscanf(hex + 2 * i, "%2x", &v) == 1);
        key[i] = (uint8_t) v;
    }
    s_hex_both_cases(s, path, key, 32);
    free(hex);
}

/* Every pseudonym in the ledger (read-only; the collector is stopped). */
static int s_pseudonyms(s_needles_t *s, const char *cdir)
{
    char path[512], err[256];
    snprintf(path, sizeof path, "%s/ledger", cdir);
    ledger_t *l = NULL;
    CHECK(ledger_open(&l, path, true, err, sizeof err) == 0);
    MDB_txn *txn;
    CHECK(store_read(ledger_store(l), &txn) == 0);
    int found = 0;
    for (uint64_t seq = 1; seq < ledger_next_seq(l); seq++) {
        const uint8_t *bytes;
        size_t len;
        CHECK(ledger_get(txn, l, seq, &bytes, &len, NULL) == 0);
        event_msg_t *ev = NULL;
        char why[160];
        CHECK(codec_decode_event(bytes, len, &ev, why, sizeof why) == 0);
        const ProtobufCBinaryData *p = NULL;
        if (ev->body_case == FINSAM__V1__EVENT__BODY_PARTICIPANT_SURVEY)
            p = &ev->participant_survey->pseudonym;
        else if (ev->body_case == FINSAM__V1__EVENT__BODY_STATUS)
            p = &ev->status->pseudonym;
        bool seen = false;
        if (p) {
            char hex[65];
            for (int i = 0; i < 32; i++)
                snprintf(hex + 2 * i, 3, "%02x", p->data[i]);
            for (int i = 0; i < s->n && !seen; i++)
                seen = !strcmp(s->text[i], hex);
            if (!seen) {
                s_hex_both_cases(s, "pseudonym", p->data, p->len);
                found++;
            }
        }
        codec_free_event(&ev);
    }
    mdb_txn_abort(txn);
    ledger_close(&l);
    return found;
}

/* ---- running things --------------------------------------------------- */

static char *s_capture(char *const argv[])
{
    char *out = NULL;
    CHECK(tu_capture(argv, &out, 60000) == 0);
    CHECK(out);
    return out;
}

static int s_agent_debug(const cluster_t *c, const char *dir, const char *const *args)
{
    const char *argv[16] = {"--log-level", "debug"};
    int n = 2;
    for (int i = 0; args[i] && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    return cluster_agent(c, dir, 180000, argv);
}

/* Starts the agent and returns once the collector's log shows one more
 * admitted ingest key (AUTH-OK), polling while the agent keeps running. */
static pid_t s_spawn_admitted(const cluster_t *c, const char *dir, const char *const *args)
{
    int before = tu_count_in_file(c->log, "AUTH-OK domain=ingest");
    pid_t pid = hostile_track(cluster_agent_spawn(c, dir, args));
    for (int i = 0; i < 300 && tu_count_in_file(c->log, "AUTH-OK domain=ingest") == before; i++)
        CHECK(hostile_wait(pid, 100) == -1); /* still running: this is the wait */
    CHECK(tu_count_in_file(c->log, "AUTH-OK domain=ingest") > before);
    return pid;
}

/* Personnummer of the imported rows, in every form they could be written. */
static const char *const s_pnr[] = {
    "19850312-1231", "198503121231", "850312-1231",  "8503121231",
    "850372-1238",   "8503721238",   "198503721238", "19850372-1238",
};

static void test_no_secrets_anywhere(void)
{
    static cluster_t c; /* static: hostile.h kills its collector at exit */
    hostile_cluster_init(&c);
    char nv[320], spoof[320], file[400], bad[400];
    cluster_add_agent(&c, "nv", "NV", true, nv, sizeof nv);
    cluster_add_agent(&c, "spoof", "NV", true, spoof, sizeof spoof);
    cluster_start_collector(&c); /* at --log-level debug */

    snprintf(file, sizeof file, "%s/rows.jsonl", c.dir);
    CHECK(tu_write_file(
              file,
              "{\"kind\":\"participant_survey\",\"personnummer\":\"19850312-1231\",\"date\":\"2026-03-14\","
              "\"instrument\":\"deltagare_avslut\",\"mode\":\"integrated\",\"answers\":{\"d_behov\":5}}\n"
              "{\"kind\":\"status\",\"personnummer\":\"850372-1238\",\"date\":\"2026-01-10\",\"phase\":"
              "\"entry\","
              "\"mode\":\"project\",\"occupation\":\"none\",\"income\":\"sickness_benefit\",\"name\":"
              "\"Anna\"}\n") == 0);
    snprintf(bad, sizeof bad, "%s/bad.jsonl", c.dir);
    CHECK(tu_write_file(bad, "{\"kind\":\"status\",\"personnummer\":\"8503121231x\",\"date\":\"2026-01-10\","
                             "\"phase\":\"exit\","
                             "\"mode\":\"project\",\"occupation\":\"work\",\"income\":\"wage\"}\n"
                             "{\"kind\":\"status\",\"personnummer\":\"850312-1231\",\"date\":\"2026-01-10\","
                             "\"phase\":\"exit\","
                             "\"mode\":\"project\",\"occupation\":\"work\",\"income\":\"wage\",\"insats\":"
                             "\"198503121231\"}\n") == 0);
    const char *imp[] = {"import", file, NULL};
    CHECK_EQ(s_agent_debug(&c, nv, imp), 0);
    const char *imp_bad[] = {"import", bad, NULL};
    CHECK_EQ(s_agent_debug(&c, nv, imp_bad), 65); /* EX_DATAERR: rows rejected, nothing stored */
    const char *demo[] = {"demo", "--events", "2000", "--no-send", NULL};
    CHECK_EQ(s_agent_debug(&c, nv, demo), 0);
    const char *run[] = {"run", "--exit-when-empty", NULL};
    CHECK_EQ(s_agent_debug(&c, nv, run), 0);
    const char *demo_hbs[] = {"demo", "--forbund", "HBS", "--events", "50", "--no-send", NULL};
    CHECK_EQ(s_agent_debug(&c, spoof, demo_hbs), 0);
    const char *run_hbs[] = {"run", "--forbund", "HBS", "--exit-when-empty", NULL};
    CHECK_EQ(s_agent_debug(&c, spoof, run_hbs), 0);
    long long stored = cluster_events_in_log(&c);
    CHECK(stored >= 2002);

    /* Dumpability, while the processes run. The control first. */
    pid_t plain = fork();
    CHECK(plain >= 0);
    if (plain == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlives a failed test */
        alarm(120);
        pause();
        _exit(0);
    }
    CHECK(s_is_dumpable(plain));
    kill(plain, SIGKILL);
    waitpid(plain, NULL, 0);
    CHECK(!s_is_dumpable(c.collector));
    /* A sending demo (it held the pseudonym key, and holds the CURVE key),
     * then a plain `run`: each checked once the collector has admitted its
     * key, i.e. after it loaded its keys. */
    const char *demo_send[] = {"demo", "--events", "10", "--seed", "7", NULL};
    pid_t sending = s_spawn_admitted(&c, nv, demo_send);
    bool demo_dumpable = s_is_dumpable(sending);
    kill(sending, SIGTERM);
    CHECK_EQ(hostile_wait(sending, 20000), 0);
    CHECK(!demo_dumpable);
    const char *run_forever[] = {"run", NULL};
    pid_t runner = s_spawn_admitted(&c, nv, run_forever);
    bool run_dumpable = s_is_dumpable(runner);
    kill(runner, SIGTERM);
    CHECK_EQ(hostile_wait(runner, 20000), 0);
    fprintf(stderr, "dumpable: control=yes collector=no agent-demo=no agent-run=%s\n",
            run_dumpable ? "YES" : "no");
    if (s_require_agent_run_undumpable)
        CHECK(!run_dumpable);

    /* What operators and dashboards read. */
    char *outputs[8];
    int nout = 0;
    char *st[] = {(char *) tu_bin("finsamctl"), "-d", c.cdir, "status", "--format", "json", NULL};
    outputs[nout++] = s_capture(st);
    char *q[] = {
        (char *) tu_bin("finsamctl"), "-d", c.cdir, "query", "--format", "json", "-m", "7", "--exact", NULL};
    outputs[nout++] = s_capture(q);
    char *q2[] = {(char *) tu_bin("finsamctl"),
                  "-d",
                  c.cdir,
                  "query",
                  "--format",
                  "json",
                  "-m",
                  "1",
                  "-p",
                  "month",
                  "--exact",
                  NULL};
    outputs[nout++] = s_capture(q2);
    char *ex[] = {(char *) tu_bin("finsamctl"), "-d", c.cdir, "export", "--format", "json", "--exact", NULL};
    outputs[nout++] = s_capture(ex);
    char *ast[] = {(char *) tu_bin("finsam-agent"), "-d", nv, "status", NULL};
    outputs[nout++] = s_capture(ast);
    char *ast2[] = {(char *) tu_bin("finsam-agent"), "-d", spoof, "status", NULL};
    outputs[nout++] = s_capture(ast2);
    CHECK(strstr(outputs[5], "forbidden")); /* the rejections and their reasons are there */
    cluster_stop_collector(&c, SIGTERM);

    char path[512];
    char *logs[3];
    logs[0] = tu_read_file(c.log);
    snprintf(path, sizeof path, "%s.log", nv);
    logs[1] = tu_read_file(path);
    snprintf(path, sizeof path, "%s.log", spoof);
    logs[2] = tu_read_file(path);
    for (int i = 0; i < 3; i++)
        CHECK(logs[i] && strlen(logs[i]) > 0);
    fprintf(stderr, "DEBUG lines: collector %d, agents %d\n", tu_count_in_file(c.log, " DEBUG "),
            tu_count_in_file(path, " DEBUG "));
    CHECK(strstr(logs[1], "bad.jsonl:1: personnummer")); /* the errors are there, without values */

    s_needles_t *s = calloc(1, sizeof *s);
    CHECK(s);
    snprintf(path, sizeof path, "%s/keys/collector.key_secret", c.cdir);
    s_secret_z85(s, path);
    snprintf(path, sizeof path, "%s/keys/agent.key_secret", nv);
    s_secret_z85(s, path);
    snprintf(path, sizeof path, "%s/keys/agent.key_secret", spoof);
    s_secret_z85(s, path);
    s_pseudonym_key(s, nv);
    s_pseudonym_key(s, spoof);
    for (size_t i = 0; i < sizeof s_pnr / sizeof *s_pnr; i++)
        s_needle(s, "personnummer", s_pnr[i]);
    int np = s_pseudonyms(s, c.cdir);
    CHECK(np >= 100); /* the demo's participants and the two imported rows */

    size_t bytes = 0;
    int leaks = 0;
    for (int h = 0; h < 3 + nout; h++) {
        const char *text = h < 3 ? logs[h] : outputs[h - 3];
        bytes += strlen(text);
        for (int i = 0; i < s->n; i++)
            if (strstr(text, s->text[i])) {
                fprintf(stderr, "LEAK: %s (%s) in %s %d\n", s->what[i], s->text[i], h < 3 ? "log" : "output",
                        h < 3 ? h : h - 3);
                leaks++;
            }
    }
    fprintf(stderr,
            "secrets: %d needles (3 CURVE secrets, 2 pseudonym keys, %d pseudonyms, 8 personnummer forms; "
            "hex in both cases) searched in %zu bytes of logs and outputs: %d found\n",
            s->n, np, bytes, leaks);
    CHECK_EQ(leaks, 0);
    for (int i = 0; i < s->n; i++) {
        free(s->what[i]);
        free(s->text[i]);
    }
    free(s);
    for (int i = 0; i < 3; i++)
        free(logs[i]);
    for (int i = 0; i < nout; i++)
        free(outputs[i]);
}

static const test_case_t s_cases[] = {
    {"no secrets anywhere", test_no_secrets_anywhere},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
