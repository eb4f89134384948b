/* main.c: finsam-agent. Parses options, builds the objects a command
 * needs, runs it, maps the outcome to a sysexits code. No logic of its own
 * beyond choosing paths and the förbund.
 *
 * Layout of the data directory (--data-dir):
 *   keys/agent.key, keys/agent.key_secret   CURVE certificate (keygen)
 *   keys/pseudonym.key                       site key for pseudonyms (keygen)
 *   keys/collector.key                       collector public cert (copied in)
 *   outbox/                                  LMDB outbox
 *
 * A spool directory (run --spool DIR) is outside the data directory: it is
 * where staff drop exports, and it never holds a key.
 *
 * The configuration file (--config FILE) holds the options as INI keys and
 * the site's insats codes in its own [insatser] section (insatser.h). */
#include "anonymize.h"
#include "catalogue.h"
#include "codec.h"
#include "csvimport.h"
#include "demo.h"
#include "erasure.h"
#include "import.h"
#include "insatser.h"
#include "keys.h"
#include "log.h"
#include "options.h"
#include "prologue.h"
#include "outbox.h"
#include "mapping.h"
#include "sender.h"
#include "spool.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sysexits.h>
#include <unistd.h>

static struct {
    char *data_dir, *forbund, *collector, *server_key, *catalogue, *log_level, *agent_id;
    char *mapping, *spool, *passphrase_file, *format;
    long batch_size, window, ack_timeout_ms, events, seed, retention_days, rejected_retention_days;
    bool dry_run, no_send, exit_when_empty, check_config;
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
    {"mapping", 'm', OPT_STR, NULL, 0, 0,
     "import/run --spool: column mapping for CSV files (docs/import-csv.md)", &o.mapping},
    {"spool", 's', OPT_STR, NULL, 0, 0, "run: import files dropped into this directory; status: count them",
     &o.spool},
    {"spool-retention-days", 0, OPT_INT, "0", 0, 3650,
     "run --spool: days an imported file is kept in DIR/done/ (0: deleted once imported)", &o.retention_days},
    {"spool-rejected-retention-days", 0, OPT_INT, "14", 0, 3650,
     "run --spool: days a file that was not imported is kept in DIR/rejected/ for staff to fix",
     &o.rejected_retention_days},
    {"passphrase-file", 0, OPT_STR, NULL, 0, 0,
     "export-key/import-key: file whose first line is the passphrase (mode 0600)", &o.passphrase_file},
    {"format", 0, OPT_STR, "text", 0, 0, "status: text or json", &o.format},
    {"check-config", 0, OPT_FLAG, NULL, 0, 0, "check options, keys, catalogue, mapping and spool; then exit",
     &o.check_config},
    {"events", 'e', OPT_INT, "1000", 1, 100000000, "demo: number of events", &o.events},
    {"seed", 0, OPT_INT, "1", 0, 0x7fffffffL, "demo: random seed", &o.seed},
    {"no-send", 0, OPT_FLAG, NULL, 0, 0, "demo: only fill the outbox", &o.no_send},
    {"exit-when-empty", 0, OPT_FLAG, NULL, 0, 0, "run/demo: exit 0 once the queue is empty",
     &o.exit_when_empty},
    {"log-level", 'l', OPT_STR, "info", 0, 0, "debug, info, warn or error", &o.log_level},
    {"agent-id", 0, OPT_STR, NULL, 0, 0, "name sent with batches (default agent-FORBUND)", &o.agent_id},
};

static const char *const s_own_sections[] = {"insatser", NULL};
static const char *s_config; /* --config FILE, or NULL */

static const opt_spec_t s_spec = {
    .prog = "finsam-agent",
    .usage =
        "finsam-agent [OPTIONS] keygen|import FILE|export-key OUT|import-key IN|run|demo|status|erase ID",
    .summary =
        "The finsam agent at a förbund site: imports rows, pseudonymizes them, keeps them in a durable\n"
        "outbox and sends them to the collector over CurveZMQ until acknowledged.",
    .epilog = "Commands:\n"
              "  keygen        create keys/agent.key(+_secret) with metadata forbund=--forbund, and\n"
              "                keys/pseudonym.key (mode 0600); refuses to overwrite\n"
              "                (keeps an existing pseudonym.key, e.g. one brought with import-key)\n"
              "  import FILE   import canonical JSONL (docs/import-jsonl.md) or, for .csv/.tsv/.txt or\n"
              "                with --mapping, CSV (docs/import-csv.md): all rows or none\n"
              "  export-key OUT  seal keys/pseudonym.key under --passphrase-file into OUT (mode 0600)\n"
              "  import-key IN   unseal IN into keys/pseudonym.key on a new machine (never overwrites)\n"
              "  run           send the outbox to --collector until stopped (SIGINT/SIGTERM);\n"
              "                with --spool DIR also import files dropped into DIR\n"
              "  demo          queue --events synthetic events (--seed); then run unless --no-send\n"
              "  status        show queued and rejected events (--format json)\n"
              "  erase ID      erase a sent or queued event (32 hex digits) for good: queue an erasure\n"
              "                for the collector, remove the event from the outbox if still there, and\n"
              "                wipe the outbox's free space (docs/operations-agent.md)\n"
              "\nExit codes:\n"
              "  0 ok, 64 usage, 65 bad input data (nothing stored), wrong passphrase, or erase: not an\n"
              "  event id of this agent, 66 input file missing (erase: no outbox in --data-dir),\n"
              "  70 internal error, 73 cannot create a key (exists),\n"
              "  74 I/O or storage error, 77 passphrase or key file readable by others,\n"
              "  78 configuration (keys, catalogue, förbund, mapping, insats codes)\n"
              "\nConfiguration file (--config FILE): every option above as an INI key, and the\n"
              "insats codes the exports may use, one per line in an [insatser] section:\n"
              "  [insatser]\n"
              "  steg1 = project          ; project, integrated or any\n"
              "A row with any other insats is refused (docs/operations-agent.md).\n",
    .opts = s_opts,
    .nopts = sizeof s_opts / sizeof *s_opts,
};

static volatile sig_atomic_t s_stop;

static void s_path(char *out, size_t len, const char *rel)
{
    snprintf(out, len, "%s/%s", o.data_dir, rel);
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
    if (!code_is_valid(f, CODEC_FORBUND_MAX)) {
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
    if (!o.forbund || !code_is_valid(o.forbund, CODEC_FORBUND_MAX)) {
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
    /* A pseudonym key that is already there was brought over with
     * import-key: keep it, or every participant gets a new pseudonym. */
    bool have_pkey = access(pkey, F_OK) == 0;
    if (access(cert, F_OK) == 0) {
        fprintf(stderr, "finsam-agent: %s: already exists; refusing to overwrite a key\n", cert);
        return EX_CANTCREAT;
    }
    char name[64];
    snprintf(name, sizeof name, "finsam-agent %s", o.forbund);
    if (keys_generate(cert, name, o.forbund, err, sizeof err) < 0) {
        fprintf(stderr, "finsam-agent: %s\n", err);
        return EX_CANTCREAT;
    }
    if (!have_pkey && anon_generate_key(pkey, err, sizeof err) < 0) {
        fprintf(stderr, "finsam-agent: %s\n", err);
        return EX_CANTCREAT;
    }
    log_info("agent", "KEYS-CREATED forbund=%s dir=%s pseudonym_key=%s", o.forbund, dir,
             have_pkey ? "kept" : "new");
    printf("created %s (give this public certificate to the collector's operator)\n"
           "created %s_secret (keep it here)\n"
           "%s %s (back it up with export-key; losing it breaks follow-ups)\n",
           cert, cert, have_pkey ? "kept existing" : "created", pkey);
    return 0;
}

static int s_load_mapping(mapping_t **map, const catalogue_t *cat)
{
    char err[1024];
    *map = NULL;
    if (!o.mapping)
        return 0;
    if (mapping_load(map, o.mapping, cat, err, sizeof err) < 0) {
        fprintf(stderr, "finsam-agent: mapping: %s\n", err);
        return EX_CONFIG;
    }
    return 0;
}

/* The insats codes of [insatser] in --config (an empty list without one).
 * With a mapping that reads insats, an empty list is a configuration error:
 * every row would be refused. Returns 0 or EX_CONFIG. */
static int s_load_insatser(insatser_t **ins, const mapping_t *map)
{
    char err[1024];
    if (s_config) {
        if (insatser_load(ins, s_config, err, sizeof err) < 0) {
            fprintf(stderr, "finsam-agent: %s\n", err);
            return EX_CONFIG;
        }
    } else if (!(*ins = insatser_new("the configuration"))) {
        fprintf(stderr, "finsam-agent: out of memory\n");
        return EX_SOFTWARE;
    }
    if (map && mapping_has_field(map, "insats") && insatser_count(*ins) == 0) {
        fprintf(stderr,
                "finsam-agent: %s: the mapping reads insats, but no insats codes are declared: list them "
                "in an [insatser] section of %s (one \"code = project|integrated|any\" per line), or "
                "remove insats from the mapping\n",
                o.mapping, s_config ? s_config : "a configuration file given with --config");
        insatser_destroy(ins);
        return EX_CONFIG;
    }
    return 0;
}

/* CSV by name, or any file but a .jsonl/.ndjson/.json when a mapping is given. */
static bool s_is_csv(const char *file)
{
    const char *dot = strrchr(file, '.');
    bool jsonl = dot && (!strcmp(dot, ".jsonl") || !strcmp(dot, ".ndjson") || !strcmp(dot, ".json"));
    return csvimport_is_csv(file) || (o.mapping && !jsonl);
}

static int s_cmd_import(const char *file)
{
    char forbund[CODEC_FORBUND_MAX + 1];
    catalogue_t *cat = NULL;
    anon_t *anon = NULL;
    outbox_t *outbox = NULL;
    mapping_t *map = NULL;
    insatser_t *ins = NULL;
    bool csv = s_is_csv(file);
    int rc;
    if (csv && !o.mapping) {
        fprintf(stderr, "finsam-agent: %s: a CSV file needs --mapping MAP.ini (docs/import-csv.md)\n", file);
        return EX_USAGE;
    }
    if ((rc = s_forbund(forbund, sizeof forbund)) || (rc = s_load_catalogue(&cat)) ||
        (csv && (rc = s_load_mapping(&map, cat))) || (rc = s_load_insatser(&ins, map)))
        goto done;
    if (access(file, R_OK) < 0) {
        fprintf(stderr, "finsam-agent: %s: %s\n", file, strerror(errno));
        rc = EX_NOINPUT;
        goto done;
    }
    if ((rc = s_load_anon(&anon)) || (rc = s_open_outbox(&outbox)))
        goto done;
    /* Messages name the file as typed: the user typed it, on this terminal.
     * Log lines name it by a keyed hash only (import_log_ref). */
    import_opts_t io = {.cat = cat,
                        .anon = anon,
                        .forbund = forbund,
                        .outbox = outbox,
                        .dry_run = o.dry_run,
                        .report = stdout,
                        .errors = stderr,
                        .progress = isatty(STDERR_FILENO),
                        .insatser = ins};
    rc = csv ? csvimport_file(file, map, &io) : import_file(file, &io);
done:
    insatser_destroy(&ins);
    mapping_destroy(&map);
    outbox_close(&outbox);
    anon_destroy(&anon);
    catalogue_destroy(&cat);
    return rc;
}

/* Reads the first line of --passphrase-file into buf (sodium_malloc'd by
 * the caller). Returns 0 or a sysexits code after printing why. */
static int s_passphrase(char *buf, size_t cap, size_t *len)
{
    char err[512];
    if (!o.passphrase_file) {
        fprintf(stderr, "finsam-agent: --passphrase-file FILE is required\n");
        return EX_USAGE;
    }
    if (access(o.passphrase_file, F_OK) < 0) {
        fprintf(stderr, "finsam-agent: %s: %s\n", o.passphrase_file, strerror(errno));
        return EX_NOINPUT;
    }
    if (keys_check_private(o.passphrase_file, err, sizeof err) < 0) {
        fprintf(stderr, "finsam-agent: passphrase file refused: %s (chmod 600 it)\n", err);
        return EX_NOPERM;
    }
    FILE *f = fopen(o.passphrase_file, "r");
    if (!f) {
        fprintf(stderr, "finsam-agent: %s: %s\n", o.passphrase_file, strerror(errno));
        return EX_NOINPUT;
    }
    size_t n = fread(buf, 1, cap - 1, f);
    bool bad = ferror(f);
    fclose(f);
    if (bad) {
        fprintf(stderr, "finsam-agent: %s: read error\n", o.passphrase_file);
        return EX_IOERR;
    }
    buf[n] = '\0';
    *len = strcspn(buf, "\r\n");
    buf[*len] = '\0';
    if (*len < 8) {
        fprintf(stderr, "finsam-agent: %s: the passphrase (first line) must be at least 8 characters\n",
                o.passphrase_file);
        return EX_DATAERR;
    }
    return 0;
}

static int s_seal_exit(anon_seal_err_t e)
{
    switch (e) {
    case ANON_SEAL_OK: return 0;
    case ANON_SEAL_NOINPUT: return EX_NOINPUT;
    case ANON_SEAL_IO: return EX_IOERR;
    case ANON_SEAL_FORMAT:
    case ANON_SEAL_PASSPHRASE: return EX_DATAERR;
    case ANON_SEAL_EXISTS: return EX_CANTCREAT;
    case ANON_SEAL_NOMEM: return EX_SOFTWARE;
    }
    return EX_SOFTWARE;
}

static int s_cmd_export_key(const char *out)
{
    anon_t *anon = NULL;
    char err[512];
    size_t plen = 0;
    if (sodium_init() < 0)
        return EX_SOFTWARE;
    char *pass = sodium_malloc(1024);
    if (!pass)
        return EX_SOFTWARE;
    int rc = s_passphrase(pass, 1024, &plen);
    if (rc || (rc = s_load_anon(&anon)))
        goto done;
    rc = s_seal_exit(anon_seal(anon, pass, plen, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                               crypto_pwhash_MEMLIMIT_INTERACTIVE, out, err, sizeof err));
    if (rc) {
        fprintf(stderr, "finsam-agent: export-key: %s\n", err);
        goto done;
    }
    log_info("agent", "KEY-EXPORTED file=%s", out);
    printf("sealed the pseudonym key into %s\n"
           "keep that file and the passphrase apart; both are needed on the new machine (import-key)\n",
           out);
done:
    anon_destroy(&anon);
    sodium_free(pass);
    return rc;
}

static int s_cmd_import_key(const char *in)
{
    char dir[4096], pkey[4096], err[512];
    size_t plen = 0;
    if (sodium_init() < 0)
        return EX_SOFTWARE;
    char *pass = sodium_malloc(1024);
    if (!pass)
        return EX_SOFTWARE;
    int rc = s_passphrase(pass, 1024, &plen);
    if (rc)
        goto done;
    s_path(dir, sizeof dir, "keys");
    s_path(pkey, sizeof pkey, "keys/pseudonym.key");
    if (mkdir_p(dir, 0700) < 0) {
        fprintf(stderr, "finsam-agent: %s: %s\n", dir, strerror(errno));
        rc = EX_IOERR;
        goto done;
    }
    rc = s_seal_exit(anon_unseal(in, pass, plen, pkey, err, sizeof err));
    if (rc) {
        fprintf(stderr, "finsam-agent: import-key: %s\n", err);
        goto done;
    }
    log_info("agent", "KEY-IMPORTED file=%s", in);
    printf("wrote %s: participants keep their pseudonyms\n"
           "next: finsam-agent keygen --forbund CODE (keeps this key, makes the CURVE certificate)\n",
           pkey);
done:
    sodium_free(pass);
    return rc;
}

static int s_run_sender(outbox_t *outbox, const char *forbund, spool_t *spool)
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
    if (spool) {
        sender_watch_t w = {spool_fd(spool), spool_on_readable, spool_on_tick, spool};
        sender_watch(sender, &w);
        spool_purge(spool); /* retention that ran out while the agent was down */
        spool_scan(spool);  /* files dropped while the agent was down */
    }
    int rc = sender_run(sender, &s_stop);
    sender_destroy(&sender);
    return rc < 0 ? EX_IOERR : 0;
}

static int s_cmd_run(void)
{
    char forbund[CODEC_FORBUND_MAX + 1], err[512];
    outbox_t *outbox = NULL;
    catalogue_t *cat = NULL;
    anon_t *anon = NULL;
    mapping_t *map = NULL;
    insatser_t *ins = NULL;
    spool_t *spool = NULL;
    int rc;
    if ((rc = s_forbund(forbund, sizeof forbund)) || (rc = s_open_outbox(&outbox)))
        goto done;
    /* Only a spool needs the catalogue and the site key in memory. */
    if (o.spool) {
        if ((rc = s_load_catalogue(&cat)) || (rc = s_load_mapping(&map, cat)) ||
            (rc = s_load_insatser(&ins, map)) || (rc = s_load_anon(&anon)))
            goto done;
        import_opts_t base = {
            .cat = cat, .anon = anon, .forbund = forbund, .outbox = outbox, .insatser = ins};
        spool_retention_t keep = {o.retention_days, o.rejected_retention_days};
        if (spool_new(&spool, o.spool, map, &base, &keep, err, sizeof err) < 0) {
            fprintf(stderr, "finsam-agent: --spool: %s\n", err);
            rc = EX_CONFIG;
            goto done;
        }
    }
    rc = s_run_sender(outbox, forbund, spool);
done:
    spool_destroy(&spool);
    insatser_destroy(&ins);
    mapping_destroy(&map);
    anon_destroy(&anon);
    catalogue_destroy(&cat);
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
    int drc = demo_fill(outbox, cat, anon, forbund, o.events, (uint64_t) o.seed, clock_wall_ms() / 1000, &st);
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
        rc = s_run_sender(outbox, forbund, NULL);
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
    printf("rejected id=%s code=%s reason=%s\n", hex, codec_reject_name((reject_code_t) code), text);
}

static void s_json_rejected(const uint8_t *id, int code, const char *text, void *arg)
{
    json_t *list = arg;
    if (json_array_size(list) >= 100)
        return;
    char hex[2 * CODEC_ID_LEN + 1];
    hex_encode(hex, id, CODEC_ID_LEN);
    json_array_append_new(list, json_pack("{s:s, s:s, s:s?}", "id", hex, "code",
                                          codec_reject_name((reject_code_t) code), "reason", text));
}

static int s_cmd_status(void)
{
    bool json = !strcmp(o.format, "json");
    if (!json && strcmp(o.format, "text")) {
        fprintf(stderr, "finsam-agent: --format: want text or json\n");
        return EX_USAGE;
    }
    outbox_t *outbox = NULL;
    int rc = s_open_outbox(&outbox);
    if (rc)
        return rc;
    size_t queued, rejected, known, waiting = 0, rejected_files = 0;
    if ((rc = outbox_count(outbox, &queued, &rejected, &known))) {
        fprintf(stderr, "finsam-agent: outbox: %s\n", outbox_strerror(rc));
        outbox_close(&outbox);
        return EX_IOERR;
    }
    if (o.spool && spool_count(o.spool, &waiting, &rejected_files) < 0) {
        fprintf(stderr, "finsam-agent: %s: %s\n", o.spool, strerror(errno));
        outbox_close(&outbox);
        return EX_IOERR;
    }
    if (json) {
        json_t *list = json_array();
        outbox_each_rejected(outbox, s_json_rejected, list);
        json_t *root =
            json_pack("{s:I, s:I, s:I, s:o}", "queued", (json_int_t) queued, "rejected",
                      (json_int_t) rejected, "known_ids", (json_int_t) known, "rejected_events", list);
        if (root && o.spool)
            json_object_set_new(root, "spool",
                                json_pack("{s:s, s:I, s:I}", "dir", o.spool, "waiting", (json_int_t) waiting,
                                          "rejected_files", (json_int_t) rejected_files));
        if (!root || json_dumpf(root, stdout, JSON_INDENT(2)) < 0) {
            json_decref(root);
            outbox_close(&outbox);
            return EX_SOFTWARE;
        }
        printf("\n");
        json_decref(root);
        outbox_close(&outbox);
        return 0;
    }
    printf("queued=%zu rejected=%zu known_ids=%zu\n", queued, rejected, known);
    if (o.spool)
        printf("spool=%s waiting=%zu rejected_files=%zu\n", o.spool, waiting, rejected_files);
    int n = 0;
    outbox_each_rejected(outbox, s_print_rejected, &n);
    if (n > 20)
        printf("... and %d more rejected\n", n - 20);
    outbox_close(&outbox);
    return 0;
}

/* How long `erase` waits for readers that began before it (a running
 * agent's are a few milliseconds long). */
#define S_ERASE_WAIT_MS 10000

static int s_cmd_erase(const char *hex)
{
    char forbund[CODEC_FORBUND_MAX + 1], path[4096], err[1024];
    uint8_t target[ANON_ID_LEN];
    catalogue_t *cat = NULL;
    anon_t *anon = NULL;
    outbox_t *outbox = NULL;
    if (erasure_parse_id(hex, target) < 0) {
        fprintf(stderr, "finsam-agent: erase: %s: not an event id (want 32 hex digits)\n", hex);
        return EX_DATAERR;
    }
    /* Never create a data directory: a wrong --data-dir must not look
     * like an outbox that never held the event. */
    s_path(path, sizeof path, "outbox/data.mdb");
    if (access(path, F_OK) < 0) {
        fprintf(stderr, "finsam-agent: erase: %s: no outbox here (wrong --data-dir?)\n", o.data_dir);
        return EX_NOINPUT;
    }
    int rc;
    if ((rc = s_forbund(forbund, sizeof forbund)) || (rc = s_load_catalogue(&cat)) ||
        (rc = s_load_anon(&anon)) || (rc = s_open_outbox(&outbox)))
        goto done;
    erasure_report_t r;
    erasure_result_t er = erasure_run(outbox, anon, cat, forbund, target, clock_wall_ms() / 1000,
                                      S_ERASE_WAIT_MS, &r, err, sizeof err);
    switch (er) {
    case ERASURE_OK: break;
    case ERASURE_UNKNOWN:
    case ERASURE_NO_CONTENT: rc = EX_DATAERR; break;
    case ERASURE_INVALID: rc = EX_SOFTWARE; break; /* we built it: our bug or a bad catalogue */
    case ERASURE_STORE: rc = EX_IOERR; break;
    }
    if (rc) {
        fprintf(stderr, "finsam-agent: erase: %s\n", err);
        goto done;
    }
    char ehex[2 * ANON_ID_LEN + 1];
    hex_encode(ehex, r.id, ANON_ID_LEN);
    printf("erase: target=%s found=%s erasure=%s added=%d zeroed_kib=%llu scanned_mib=%.1f old_readers=%d "
           "seconds=%.3f\n",
           hex, erasure_found_name(r.found), ehex, r.added, (unsigned long long) (r.scrub.zeroed >> 10),
           (double) r.scrub.scanned / (1 << 20), r.scrub.old_readers, r.scrub.seconds);
    if (r.found == OUTBOX_TARGET_QUEUED)
        printf("erase: the event was removed from the queue before the collector acknowledged it\n");
    else if (r.found == OUTBOX_TARGET_REJECTED)
        printf("erase: the event was removed from the events the collector refused\n");
    printf(r.added ? "erase: the erasure is queued: `finsam-agent run` delivers it to the collector\n"
                   : "erase: nothing added: this event's erasure was queued before\n");
    if (er == ERASURE_OK && !r.scrubbed && err[0]) {
        /* The erasure is stored; only the scrub failed. */
        fprintf(stderr, "finsam-agent: erase: scrub: %s\n", err);
        rc = EX_IOERR;
    }
done:
    outbox_close(&outbox);
    anon_destroy(&anon);
    catalogue_destroy(&cat);
    return rc;
}

/* --check-config: everything a command would load, each problem on its own
 * line; exit 0 or EX_CONFIG. The keys are checked for existence and mode
 * only as far as loading them checks them. */
static int s_check_config(void)
{
    char forbund[CODEC_FORBUND_MAX + 1], path[4096], err[1024];
    catalogue_t *cat = NULL;
    anon_t *anon = NULL;
    mapping_t *map = NULL;
    insatser_t *ins = NULL;
    int bad = 0;
    bad |= s_forbund(forbund, sizeof forbund) != 0;
    if (s_load_catalogue(&cat) == 0) {
        bad |= s_load_mapping(&map, cat) != 0;
    } else {
        bad = 1;
    }
    bad |= s_load_insatser(&ins, map) != 0;
    bad |= s_load_anon(&anon) != 0;
    s_path(path, sizeof path, "keys/agent.key_secret");
    zcert_t *cert = keys_load_secret(path, err, sizeof err);
    if (!cert) {
        fprintf(stderr, "finsam-agent: %s\n", err);
        bad = 1;
    }
    zcert_destroy(&cert);
    if (o.server_key)
        snprintf(path, sizeof path, "%s", o.server_key);
    else
        s_path(path, sizeof path, "keys/collector.key");
    if (!(cert = keys_load_public(path, err, sizeof err))) {
        fprintf(stderr, "finsam-agent: %s (copy the collector's public certificate here)\n", err);
        bad = 1;
    }
    zcert_destroy(&cert);
    if (o.spool && access(o.spool, R_OK | W_OK | X_OK) < 0) {
        fprintf(stderr, "finsam-agent: --spool: %s: %s\n", o.spool, strerror(errno));
        bad = 1;
    }
    if (ins && insatser_count(ins))
        printf("finsam-agent: insats codes: %zu declared in [insatser] of %s\n", insatser_count(ins),
               insatser_source(ins));
    else if (ins)
        printf("finsam-agent: insats codes: none declared; rows that give an insats will be refused\n");
    insatser_destroy(&ins);
    mapping_destroy(&map);
    anon_destroy(&anon);
    catalogue_destroy(&cat);
    if (bad)
        return EX_CONFIG;
    printf("finsam-agent: configuration ok\n");
    return 0;
}

int main(int argc, char **argv)
{
    int first;
    opt_own_t own = {s_own_sections, &s_config};
    int rc = prologue_run(&(prologue_t){&s_spec, &own, (const char *const *) &o.log_level}, argc, argv, &first);
    if (rc == OPTIONS_EXIT_OK)
        return 0;
    if (rc)
        return rc;
    prologue_signals(&s_stop);

    if (o.check_config)
        return s_check_config();
    const char *cmd = first < argc ? argv[first] : NULL;
    int nargs = argc - first - 1;
    if (cmd && !strcmp(cmd, "keygen") && nargs == 0)
        return s_cmd_keygen();
    if (cmd && !strcmp(cmd, "import") && nargs == 1)
        return s_cmd_import(argv[first + 1]);
    if (cmd && !strcmp(cmd, "export-key") && nargs == 1)
        return s_cmd_export_key(argv[first + 1]);
    if (cmd && !strcmp(cmd, "import-key") && nargs == 1)
        return s_cmd_import_key(argv[first + 1]);
    if (cmd && !strcmp(cmd, "run") && nargs == 0)
        return s_cmd_run();
    if (cmd && !strcmp(cmd, "demo") && nargs == 0)
        return s_cmd_demo();
    if (cmd && !strcmp(cmd, "status") && nargs == 0)
        return s_cmd_status();
    if (cmd && !strcmp(cmd, "erase") && nargs == 1)
        return s_cmd_erase(argv[first + 1]);
    fprintf(stderr, "Usage: %s (try --help)\n", s_spec.usage);
    return EX_USAGE;
}
