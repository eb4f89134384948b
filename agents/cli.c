/* cli.c: what finsam-agent's commands load, and --check-config (see
 * cli.h). Each loader prints its own reason ("finsam-agent: ...") and
 * returns the sysexits code the command exits with, so a command is a
 * chain of loads and one library call. */
#include "cli.h"

#include "check.h"
#include "keys.h"
#include "log.h"
#include "sender.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sysexits.h>
#include <unistd.h>

void cli_path(char *out, size_t len, const char *rel)
{
    snprintf(out, len, "%s/%s", o.data_dir, rel);
}

report_lang_t cli_lang(void)
{
    report_lang_t lang = REPORT_SV;
    report_lang_parse(o.lang, &lang); /* the option table allows sv and en only */
    return lang;
}

int cli_check_secret(const char *path, const char *or_else)
{
    char err[1024];
    if (access(path, F_OK) < 0 && errno == ENOENT) {
        fprintf(stderr, "finsam-agent: no such file: %s; run finsam-agent keygen --forbund CODE%s\n", path,
                or_else ? or_else : "");
        return EX_CONFIG;
    }
    if (keys_check_private(path, err, sizeof err) < 0) {
        fprintf(stderr, "finsam-agent: key refused: %s\n", err);
        return EX_NOPERM;
    }
    return 0;
}

int cli_forbund(char *out, size_t len)
{
    char secret[4096], err[512];
    cli_path(secret, sizeof secret, "keys/agent.key_secret");
    const char *from_cert = NULL;
    char cert_value[64] = "";
    if (access(secret, F_OK) == 0) {
        int rc = cli_check_secret(secret, NULL);
        if (rc)
            return rc;
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

int cli_load_anon(anon_t **anon)
{
    char path[4096], err[512];
    cli_path(path, sizeof path, "keys/pseudonym.key");
    /* Holding the site key: no core dumps, no ptrace by the same user. */
    prctl(PR_SET_DUMPABLE, 0);
    int rc = cli_check_secret(path, ", or import-key the previous machine's pseudonym key");
    if (rc)
        return rc;
    if (anon_load(anon, path, err, sizeof err) != FIN_OK) {
        fprintf(stderr, "finsam-agent: %s%s\n", err, access(path, F_OK) ? " (run keygen first)" : "");
        return EX_CONFIG;
    }
    return 0;
}

int cli_load_catalogue(catalogue_t **cat)
{
    char err[512];
    if (catalogue_load(cat, o.catalogue, err, sizeof err) < 0) {
        fprintf(stderr, "finsam-agent: catalogue: %s\n", err);
        return EX_CONFIG;
    }
    return 0;
}

int cli_open_outbox(outbox_t **outbox)
{
    char path[4096];
    cli_path(path, sizeof path, "outbox");
    char err[1024];
    if (outbox_open(outbox, path, err, sizeof err) != FIN_OK) {
        fprintf(stderr, "finsam-agent: %s\n", err);
        return EX_IOERR;
    }
    return 0;
}

int cli_load_mapping(mapping_t **map, const catalogue_t *cat)
{
    char err[1024];
    *map = NULL;
    if (!o.mapping)
        return 0;
    if (mapping_load(map, o.mapping, cat, err, sizeof err) != FIN_OK) {
        fprintf(stderr, "finsam-agent: mapping: %s\n", err);
        return EX_CONFIG;
    }
    return 0;
}

int cli_load_insatser(insatser_t **ins, const mapping_t *map)
{
    char err[1024];
    if (cli_config) {
        if (insatser_load(ins, cli_config, err, sizeof err) != FIN_OK) {
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
                o.mapping, cli_config ? cli_config : "a configuration file given with --config");
        insatser_destroy(ins);
        return EX_CONFIG;
    }
    return 0;
}

int cli_run_sender(outbox_t *outbox, const char *forbund, spool_t *spool)
{
    char secret[4096], server[4096], agent_id[64], err[512];
    cli_path(secret, sizeof secret, "keys/agent.key_secret");
    if (o.server_key)
        snprintf(server, sizeof server, "%s", o.server_key);
    else
        cli_path(server, sizeof server, "keys/collector.key");
    snprintf(agent_id, sizeof agent_id, "%s", o.agent_id ? o.agent_id : "");
    if (!o.agent_id)
        snprintf(agent_id, sizeof agent_id, "agent-%s", forbund);
    int rc = cli_check_secret(secret, NULL);
    if (rc)
        return rc;
    char state[4096];
    cli_path(state, sizeof state, "sender.state");
    sender_config_t cfg = {.endpoint = o.collector,
                           .secret_key_path = secret,
                           .server_key_path = server,
                           .agent_id = agent_id,
                           .batch_size = o.batch_size,
                           .window = o.window,
                           .ack_timeout_ms = o.ack_timeout_ms,
                           .exit_when_empty = o.exit_when_empty,
                           .connect_timeout_ms = o.connect_timeout * 1000,
                           .unreachable_timeout_ms = o.unreachable_timeout * 1000,
                           .state_path = state};
    sender_t *sender = NULL;
    if (sender_new(&sender, outbox, &cfg, err, sizeof err) != FIN_OK) {
        fprintf(stderr, "finsam-agent: %s\n", err);
        return EX_CONFIG;
    }
    if (spool) {
        sender_watch_t w = {spool_fd(spool), spool_on_readable, spool_on_tick, spool};
        sender_watch(sender, &w);
        spool_purge(spool); /* retention that ran out while the agent was down */
        spool_scan(spool);  /* files dropped while the agent was down */
    }
    rc = sender_run(sender, &cli_stop);
    sender_destroy(&sender);
    /* -2: --exit-when-empty and no connection within --connect-timeout
     * (refused) or --unreachable-timeout (no answer) */
    return rc == -2 ? EX_UNAVAILABLE : rc < 0 ? EX_IOERR : 0;
}

int cli_check_config(void)
{
    char forbund[CODEC_FORBUND_MAX + 1], path[4096], err[1024];
    catalogue_t *cat = NULL;
    mapping_t *map = NULL;
    insatser_t *ins = NULL;
    check_t c;
    check_init(&c, "finsam-agent", cli_config);
    check_data_dir(&c, "data directory", o.data_dir, true, false,
                   "finsam-agent keygen --forbund CODE creates it");
    cli_path(path, sizeof path, "keys/agent.key_secret");
    bool have_cert =
        check_secret_file(&c, "agent secret key", path, true, "run finsam-agent keygen --forbund CODE");
    /* cli_forbund prints its own reason on stderr; the line says what. */
    if (have_cert || o.forbund) {
        if (cli_forbund(forbund, sizeof forbund) == 0)
            check_ok(&c, "förbund %s%s", forbund, o.forbund ? " (--forbund)" : " (from the agent key)");
        else
            check_fail(&c, EX_CONFIG, "förbund: see above; fix: --forbund CODE agreeing with the key");
    }
    cli_path(path, sizeof path, "keys/pseudonym.key");
    check_secret_file(&c, "pseudonym key", path, false,
                      "run finsam-agent keygen, or import-key the key of the previous machine");
    if (o.server_key)
        snprintf(path, sizeof path, "%s", o.server_key);
    else
        cli_path(path, sizeof path, "keys/collector.key");
    check_public_cert(&c, "collector public key", path,
                      "copy the collector's public certificate (its keys/collector.key) here");
    if (catalogue_load(&cat, o.catalogue, err, sizeof err) < 0) {
        check_fail(&c, EX_CONFIG,
                   "catalogue: %s; fix: name a catalogue JSON file, or none for the built-in one", err);
    } else {
        check_ok(&c, "catalogue %s (%d measures)", o.catalogue ? o.catalogue : "built in", cat->nmeasures);
        if (o.mapping && mapping_load(&map, o.mapping, cat, err, sizeof err) != FIN_OK)
            check_fail(&c, EX_CONFIG, "mapping: %s; fix: docs/import-csv.md", err);
        else if (o.mapping)
            check_ok(&c, "mapping %s", o.mapping);
    }
    if (cli_config && insatser_load(&ins, cli_config, err, sizeof err) != FIN_OK)
        check_fail(&c, EX_CONFIG, "insats codes: %s", err);
    else if (map && mapping_has_field(map, "insats") && (!ins || insatser_count(ins) == 0))
        check_fail(&c, EX_CONFIG,
                   "insats codes: the mapping %s reads insats, but none are declared; fix: list them in an "
                   "[insatser] section (one \"code = project|integrated|any\" per line)",
                   o.mapping);
    else if (ins && insatser_count(ins))
        check_ok(&c, "insats codes: %zu declared in [insatser] of %s", insatser_count(ins),
                 insatser_source(ins));
    else
        check_ok(&c, "insats codes: none declared; rows that give an insats will be refused");
    if (o.spool)
        check_writable_dir(&c, "spool", o.spool);
    if (o.spool && cat) {
        spool_rules_t *rules = NULL;
        if (spool_rules_load(&rules, cli_config, cat, err, sizeof err) != FIN_OK)
            check_fail(&c, EX_CONFIG, "[spool] rules: %s; fix: rule = FILE-PATTERN -> MAPPING.ini", err);
        else if (spool_rules_count(rules))
            check_ok(&c, "[spool] rules: %zu, each mapping loads", spool_rules_count(rules));
        spool_rules_destroy(&rules);
    }
    if (o.passphrase_file)
        check_secret_file(&c, "passphrase file", o.passphrase_file, false,
                          "write the passphrase on its first line (mode 0600)");
    check_ok(&c, "collector %s (not connected by check-config)", o.collector);
    insatser_destroy(&ins);
    mapping_destroy(&map);
    catalogue_destroy(&cat);
    return check_finish(&c);
}
