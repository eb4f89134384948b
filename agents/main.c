/* main.c: finsam-agent. Parses options, builds the objects a command
 * needs, runs it, maps the outcome to a sysexits code. No logic of its own
 * beyond choosing paths and the förbund.
 *
 * Layout of the data directory (--data-dir):
 *   keys/agent.key, keys/agent.key_secret   CURVE certificate (keygen)
 *   keys/pseudonym.key                       site key for pseudonyms (keygen)
 *   keys/collector.key                       collector public cert (copied in)
 *   outbox/                                  LMDB outbox */
#include "anonymize.h"
#include "catalogue.h"
#include "codec.h"
#include "demo.h"
#include "import.h"
#include "keys.h"
#include "log.h"
#include "options.h"
#include "outbox.h"
#include "sender.h"
#include "util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sysexits.h>
#include <unistd.h>

static struct {
    char *data_dir, *forbund, *collector, *server_key, *catalogue, *log_level, *agent_id;
    long batch_size, window, ack_timeout_ms, events, seed;
    bool dry_run, no_send, exit_when_empty;
} o;

static const opt_t s_opts[] = {
    {"data-dir", 'd', OPT_STR, "./finsam-agent-data", 0, 0, "data directory (keys/, outbox/)", &o.data_dir},
    {"forbund", 'f', OPT_STR, NULL, 0, 0, "förbund code; default: from keys/agent.key_secret", &o.forbund},
    {"collector", 0, OPT_STR, "tcp://127.0.0.1:7710", 0, 0, "collector endpoint", &o.collector},
    {"server-key", 0, OPT_STR, NULL, 0, 0, "collector public certificate (default DATA/keys/collector.key)",
     &o.server_key},
    {"batch-size", 0, OPT_INT, "500", 1, CODEC_MAX_BATCH_EVENTS, "events per batch", &o.batch_size},
    {"window", 0, OPT_INT, "8", 1, 1024, "batches in flight", &o.window},
    {"ack-timeout-ms", 0, OPT_INT, "5000", 10, 3600000, "resend after this long without an ack",
     &o.ack_timeout_ms},
    {"catalogue", 0, OPT_STR, NULL, 0, 0, "catalogue JSON (default: the embedded one)", &o.catalogue},
    {"dry-run", 'n', OPT_FLAG, NULL, 0, 0, "import: validate and report, store nothing", &o.dry_run},
    {"events", 'e', OPT_INT, "1000", 1, 100000000, "demo: number of events", &o.events},
    {"seed", 0, OPT_INT, "1", 0, 0x7fffffffL, "demo: random seed", &o.seed},
    {"no-send", 0, OPT_FLAG, NULL, 0, 0, "demo: only fill the outbox", &o.no_send},
    {"exit-when-empty", 0, OPT_FLAG, NULL, 0, 0, "run/demo: exit 0 once the queue is empty",
     &o.exit_when_empty},
    {"log-level", 'l', OPT_STR, "info", 0, 0, "debug, info, warn or error", &o.log_level},
    {"agent-id", 0, OPT_STR, NULL, 0, 0, "name sent with batches (default agent-FORBUND)", &o.agent_id},
};

static const opt_spec_t s_spec = {
    .prog = "finsam-agent",
    .usage = "finsam-agent [OPTIONS] keygen|import FILE|run|demo|status",
    .summary =
        "The finsam agent at a förbund site: imports rows, pseudonymizes them, keeps them in a durable\n"
        "outbox and sends them to the collector over CurveZMQ until acknowledged.",
    .epilog = "Commands:\n"
              "  keygen        create keys/agent.key(+_secret) with metadata forbund=--forbund, and\n"
              "                keys/pseudonym.key (mode 0600); refuses to overwrite\n"
              "  import FILE   import canonical JSONL (docs/import-jsonl.md): all rows or none\n"
              "  run           send the outbox to --collector until stopped (SIGINT/SIGTERM)\n"
              "  demo          queue --events synthetic events (--seed); then run unless --no-send\n"
              "  status        show queued and rejected events\n"
              "\nExit codes:\n"
              "  0 ok, 64 usage, 65 bad input data (nothing stored), 66 input file missing,\n"
              "  70 internal error, 73 cannot create a key, 74 I/O or storage error,\n"
              "  78 configuration (keys, catalogue, förbund)\n",
    .opts = s_opts,
    .nopts = sizeof s_opts / sizeof *s_opts,
};

static volatile sig_atomic_t s_stop;

static void s_on_signal(int sig)
{
    (void)sig;
    s_stop = 1;
}

static void s_path(char *out, size_t len, const char *rel)
{
    snprintf(out, len, "%s/%s", o.data_dir, rel);
}

static bool s_is_forbund_code(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > CODEC_FORBUND_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
              s[i] == '_' || s[i] == '-'))
            return false;
    return true;
}

/* The förbund: --forbund, or the agent certificate's metadata; both must
 * agree when both exist. Writes into out. Returns 0 or EX_CONFIG. */
static int s_forbund(char *out, size_t len)
{
    char secret[4096], err[512];
    s_path(secret, sizeof secret, "keys/agent.key_secret");
    const char *from_cert = NULL;
    char cert_value[64] = "";
    if (access(secret, F_OK) == 0) {
        zcert_t *cert = keys_load_secret(secret, err, sizeof err);
        if (!cert) {
            fprintf(stderr, "finsam-agent: %s\n", err);
            return EX_CONFIG;
        }
        const char *m = zcert_meta(cert, "forbund");
        if (m) {
            snprintf(cert_value, sizeof cert_value, "%s", m);
            from_cert = cert_value;
        }
        zcert_destroy(&cert);
    }
    const char *f = o.forbund ? o.forbund : from_cert;
    if (!f) {
        fprintf(stderr, "finsam-agent: förbund: not known: pass --forbund or run keygen --forbund CODE\n");
        return EX_CONFIG;
    }
    if (!s_is_forbund_code(f)) {
        fprintf(stderr, "finsam-agent: --forbund: must be 1-%d letters, digits, '_' or '-'\n",
                CODEC_FORBUND_MAX);
        return EX_CONFIG;
    }
    /* --forbund wins, so an operator (or a test) can run a mislabelled
     * agent; the collector binds events to the key's förbund and refuses
     * the rest as forbidden, so this cannot widen what the key may do. */
    if (o.forbund && from_cert && strcmp(o.forbund, from_cert))
        log_warn("agent",
                 "FORBUND-OVERRIDE forbund=%s key_forbund=%s (the collector will refuse events the key "
                 "is not allowed for)",
                 o.forbund, from_cert);
    snprintf(out, len, "%s", f);
    return 0;
}

static int s_load_anon(anon_t **anon)
{
    char path[4096], err[512];
    s_path(path, sizeof path, "keys/pseudonym.key");
    /* Holding the site key: no core dumps, no ptrace by the same user. */
    prctl(PR_SET_DUMPABLE, 0);
    if (anon_load(anon, path, err, sizeof err) < 0) {
        fprintf(stderr, "finsam-agent: %s%s\n", err, access(path, F_OK) ? " (run keygen first)" : "");
        return EX_CONFIG;
    }
    return 0;
}

static int s_load_catalogue(catalogue_t **cat)
{
    char err[512];
    if (catalogue_load(cat, o.catalogue, err, sizeof err) < 0) {
        fprintf(stderr, "finsam-agent: catalogue: %s\n", err);
        return EX_CONFIG;
    }
    return 0;
}

static int s_open_outbox(outbox_t **outbox)
{
    char path[4096];
    s_path(path, sizeof path, "outbox");
    int rc = outbox_open(outbox, path);
    if (rc) {
        fprintf(stderr, "finsam-agent: %s: %s\n", path, outbox_strerror(rc));
        return EX_IOERR;
    }
    return 0;
}

static int s_cmd_keygen(void)
{
    char dir[4096], cert[4096], pkey[4096], err[512];
    if (!o.forbund || !s_is_forbund_code(o.forbund)) {
        fprintf(stderr,
                "finsam-agent: keygen: --forbund CODE is required (1-%d letters, digits, '_' or '-')\n",
                CODEC_FORBUND_MAX);
        return EX_USAGE;
    }
    s_path(dir, sizeof dir, "keys");
    s_path(cert, sizeof cert, "keys/agent.key");
    s_path(pkey, sizeof pkey, "keys/pseudonym.key");
    if (mkdir_p(dir, 0700) < 0) {
        fprintf(stderr, "finsam-agent: %s: %s\n", dir, strerror(errno));
        return EX_IOERR;
    }
    if (access(pkey, F_OK) == 0) {
        fprintf(stderr, "finsam-agent: %s: already exists; refusing to overwrite a key\n", pkey);
        return EX_CANTCREAT;
    }
    char name[64];
    snprintf(name, sizeof name, "finsam-agent %s", o.forbund);
    if (keys_generate(cert, name, o.forbund, err, sizeof err) < 0) {
        fprintf(stderr, "finsam-agent: %s\n", err);
        return EX_CANTCREAT;
    }
    if (anon_generate_key(pkey, err, sizeof err) < 0) {
        fprintf(stderr, "finsam-agent: %s\n", err);
        return EX_CANTCREAT;
    }
    log_info("agent", "KEYS-CREATED forbund=%s dir=%s", o.forbund, dir);
    printf("created %s (give this public certificate to the collector's operator)\n"
           "created %s_secret and %s (keep them here; back them up safely)\n",
           cert, cert, pkey);
    return 0;
}

static int s_cmd_import(const char *file)
{
    char forbund[CODEC_FORBUND_MAX + 1];
    catalogue_t *cat = NULL;
    anon_t *anon = NULL;
    outbox_t *outbox = NULL;
    int rc;
    if ((rc = s_forbund(forbund, sizeof forbund)) || (rc = s_load_catalogue(&cat)))
        goto done;
    if (access(file, R_OK) < 0) {
        fprintf(stderr, "finsam-agent: %s: %s\n", file, strerror(errno));
        rc = EX_NOINPUT;
        goto done;
    }
    if ((rc = s_load_anon(&anon)) || (rc = s_open_outbox(&outbox)))
        goto done;
    rc = import_file(file, cat, anon, forbund, outbox, o.dry_run, stdout);
done:
    outbox_close(&outbox);
    anon_destroy(&anon);
    catalogue_destroy(&cat);
    return rc;
}

static int s_run_sender(outbox_t *outbox, const char *forbund)
{
    char secret[4096], server[4096], agent_id[64], err[512];
    s_path(secret, sizeof secret, "keys/agent.key_secret");
    if (o.server_key)
        snprintf(server, sizeof server, "%s", o.server_key);
    else
        s_path(server, sizeof server, "keys/collector.key");
    snprintf(agent_id, sizeof agent_id, "%s", o.agent_id ? o.agent_id : "");
    if (!o.agent_id)
        snprintf(agent_id, sizeof agent_id, "agent-%s", forbund);
    sender_config_t cfg = {o.collector,  secret,   server,           agent_id,
                           o.batch_size, o.window, o.ack_timeout_ms, o.exit_when_empty};
    sender_t *sender = NULL;
    if (sender_new(&sender, outbox, &cfg, err, sizeof err) < 0) {
        fprintf(stderr, "finsam-agent: %s\n", err);
        return EX_CONFIG;
    }
    int rc = sender_run(sender, &s_stop);
    sender_destroy(&sender);
    return rc < 0 ? EX_IOERR : 0;
}

static int s_cmd_run(void)
{
    char forbund[CODEC_FORBUND_MAX + 1];
    outbox_t *outbox = NULL;
    int rc;
    if ((rc = s_forbund(forbund, sizeof forbund)) || (rc = s_open_outbox(&outbox)))
        goto done;
    rc = s_run_sender(outbox, forbund);
done:
    outbox_close(&outbox);
    return rc;
}

static int s_cmd_demo(void)
{
    char forbund[CODEC_FORBUND_MAX + 1];
    catalogue_t *cat = NULL;
    anon_t *anon = NULL;
    outbox_t *outbox = NULL;
    int rc;
    if ((rc = s_forbund(forbund, sizeof forbund)) || (rc = s_load_catalogue(&cat)) ||
        (rc = s_load_anon(&anon)) || (rc = s_open_outbox(&outbox)))
        goto done;
    import_stats_t st = {0};
    int drc = demo_fill(outbox, cat, anon, forbund, o.events, (uint64_t)o.seed, clock_wall_ms() / 1000, &st);
    /* The key is not needed for sending: drop it before the long run. */
    anon_destroy(&anon);
    printf("demo: rows=%zu accepted=%zu already_imported=%zu corrected=%zu\n", st.rows, st.accepted,
           st.already, st.corrected);
    if (drc) {
        if (drc > 0)
            fprintf(stderr, "finsam-agent: demo: outbox: %s\n", outbox_strerror(drc));
        rc = drc < 0 ? EX_SOFTWARE : EX_IOERR;
        goto done;
    }
    if (!o.no_send)
        rc = s_run_sender(outbox, forbund);
done:
    outbox_close(&outbox);
    anon_destroy(&anon);
    catalogue_destroy(&cat);
    return rc;
}

static void s_print_rejected(const uint8_t *id, int code, const char *text, void *arg)
{
    int *n = arg;
    if ((*n)++ >= 20)
        return;
    char hex[2 * CODEC_ID_LEN + 1];
    hex_encode(hex, id, CODEC_ID_LEN);
    printf("rejected id=%s code=%s reason=%s\n", hex, codec_reject_name((reject_code_t)code), text);
}

static int s_cmd_status(void)
{
    outbox_t *outbox = NULL;
    int rc = s_open_outbox(&outbox);
    if (rc)
        return rc;
    size_t queued, rejected, known;
    if ((rc = outbox_count(outbox, &queued, &rejected, &known))) {
        fprintf(stderr, "finsam-agent: outbox: %s\n", outbox_strerror(rc));
        outbox_close(&outbox);
        return EX_IOERR;
    }
    printf("queued=%zu rejected=%zu known_ids=%zu\n", queued, rejected, known);
    int n = 0;
    outbox_each_rejected(outbox, s_print_rejected, &n);
    if (n > 20)
        printf("... and %d more rejected\n", n - 20);
    outbox_close(&outbox);
    return 0;
}

int main(int argc, char **argv)
{
    /* CZMQ must not install its own SIGINT handler: ours stops the loop. */
    zsys_handler_set(NULL);
    int first;
    int rc = options_parse(&s_spec, argc, argv, &first);
    if (rc == OPTIONS_EXIT_OK)
        return 0;
    if (rc)
        return rc;
    if (log_set_level(o.log_level) < 0) {
        fprintf(stderr, "finsam-agent: --log-level: %s: want debug, info, warn or error\n", o.log_level);
        return EX_USAGE;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal; /* no SA_RESTART: zmq_poll returns EINTR */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    const char *cmd = first < argc ? argv[first] : NULL;
    int nargs = argc - first - 1;
    if (cmd && !strcmp(cmd, "keygen") && nargs == 0)
        return s_cmd_keygen();
    if (cmd && !strcmp(cmd, "import") && nargs == 1)
        return s_cmd_import(argv[first + 1]);
    if (cmd && !strcmp(cmd, "run") && nargs == 0)
        return s_cmd_run();
    if (cmd && !strcmp(cmd, "demo") && nargs == 0)
        return s_cmd_demo();
    if (cmd && !strcmp(cmd, "status") && nargs == 0)
        return s_cmd_status();
    fprintf(stderr, "Usage: %s (try --help)\n", s_spec.usage);
    return EX_USAGE;
}
