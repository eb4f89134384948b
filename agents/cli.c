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

void cli_server_key_path(char *out, size_t len)
{
    if (o.server_key)
        snprintf(out, len, "%s", o.server_key);
    else
        cli_path(out, len, "keys/collector.key");
}

int cli_check_server_key(const char *path, char *why, size_t len)
{
    char own_path[4096], which[4096] = "";
    cli_path(own_path, sizeof own_path, "keys/agent.key");
    zcert_t *own = keys_cert_load(own_path);
    keys_peer_t kind =
        keys_check_collector(path, own ? zcert_public_key(own) : NULL, NULL, which, sizeof which);
    zcert_destroy(&own);
    report_lang_t lang = cli_lang();
    switch (kind) {
    case KEYS_PEER_OK:
    case KEYS_PEER_UNUSABLE: return 0;
    case KEYS_PEER_SECRET: snprintf(why, len, report_text(lang, RT_SERVER_KEY_SECRET), which); break;
    case KEYS_PEER_OWN: snprintf(why, len, report_text(lang, RT_SERVER_KEY_OWN), path); break;
    case KEYS_PEER_AGENT: snprintf(why, len, report_text(lang, RT_SERVER_KEY_AGENT), path, which); break;
    }
    return EX_CONFIG;
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
    bool en = cli_lang() == REPORT_EN;
    if (!f) {
        fputs(en ? "finsam-agent: förbund: not known: pass --forbund or run keygen --forbund CODE\n"
                 : "finsam-agent: förbund: okänt: ange --forbund eller kör keygen --forbund KOD\n",
              stderr);
        return EX_CONFIG;
    }
    if (!code_is_valid(f, CODEC_FORBUND_MAX)) {
        fprintf(stderr,
                en ? "finsam-agent: --forbund: must be 1-%d letters, digits, '_' or '-'\n"
                   : "finsam-agent: --forbund: ska vara 1-%d bokstäver, siffror, '_' eller '-'\n",
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
        char text[1600];
        fprintf(stderr,
                cli_lang() == REPORT_EN ? "finsam-agent: mapping: %s\n" : "finsam-agent: mappningen: %s\n",
                report_reason(cli_lang(), err, text, sizeof text));
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
    char secret[4096], server[4096], agent_id[64], err[4608];
    cli_path(secret, sizeof secret, "keys/agent.key_secret");
    cli_server_key_path(server, sizeof server);
    snprintf(agent_id, sizeof agent_id, "%s", o.agent_id ? o.agent_id : "");
    if (!o.agent_id)
        snprintf(agent_id, sizeof agent_id, "agent-%s", forbund);
    int rc = cli_check_secret(secret, NULL);
    if (rc)
        return rc;
    /* A secret or an agent's key in the collector's place never works:
     * say which file it is rather than fail handshakes for ever. */
    if ((rc = cli_check_server_key(server, err, sizeof err))) {
        fprintf(stderr, "finsam-agent: %s\n", err);
        return rc;
    }
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
                           .state_path = state,
                           .spool_dir = spool ? o.spool : NULL};
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
    char forbund[CODEC_FORBUND_MAX + 1], path[4096], err[4608];
    catalogue_t *cat = NULL;
    mapping_t *map = NULL;
    insatser_t *ins = NULL;
    check_t c;
    char said[1600]; /* a reason in the report's language (report_reason) */
    /* Staff run it: Swedish unless --lang en. */
    if (cli_lang() == REPORT_EN)
        check_init(&c, "finsam-agent", cli_config);
    else
        check_init_sv(&c, "finsam-agent", cli_config);
#define T(en, sv) check_text(&c, en, sv)
    check_data_dir(
        &c, T("data directory", "datamapp"), o.data_dir, true, false,
        T("finsam-agent keygen --forbund CODE creates it", "finsam-agent keygen --forbund KOD skapar den"));
    cli_path(path, sizeof path, "keys/agent.key_secret");
    bool have_cert = check_secret_file(
        &c, T("agent secret key", "agentens hemliga nyckel"), path, true,
        T("run finsam-agent keygen --forbund CODE", "kör finsam-agent keygen --forbund KOD"));
    /* cli_forbund prints its own reason on stderr; the line says what. */
    if (have_cert || o.forbund) {
        if (cli_forbund(forbund, sizeof forbund) == 0)
            check_ok(&c, "förbund %s%s", forbund,
                     o.forbund ? " (--forbund)" : T(" (from the agent key)", " (från agentens nyckel)"));
        else
            check_fail(&c, EX_CONFIG, "%s",
                       T("förbund: see above; fix: --forbund CODE agreeing with the key",
                         "förbund: se ovan; åtgärd: --forbund KOD som stämmer med nyckeln"));
    }
    cli_path(path, sizeof path, "keys/pseudonym.key");
    check_secret_file(&c, T("pseudonym key", "pseudonymnyckel"), path, false,
                      T("run finsam-agent keygen, or import-key the key of the previous machine",
                        "kör finsam-agent keygen, eller import-key med nyckeln från den förra datorn"));
    cli_server_key_path(path, sizeof path);
    const char *what = T("collector public key", "insamlingsserverns publika nyckel");
    /* A certificate, and the collector's public one: not a secret, not an
     * agent's (a missing or broken file is check_public_cert's line). */
    if (cli_check_server_key(path, err, sizeof err))
        check_fail(&c, EX_CONFIG, "%s: %s", what, err);
    else
        check_public_cert(&c, what, path,
                          T("copy the collector's public certificate (its keys/collector.key) here",
                            "kopiera insamlingsserverns publika nyckel (dess keys/collector.key) hit"));
    if (catalogue_load(&cat, o.catalogue, err, sizeof err) < 0) {
        check_fail(&c, EX_CONFIG,
                   T("catalogue: %s; fix: name a catalogue JSON file, or none for the built-in one",
                     "katalog: %s; åtgärd: ange en katalogfil (JSON), eller ingen för den inbyggda"),
                   err);
    } else {
        check_ok(&c, T("catalogue %s (%d measures)", "katalog %s (%d mått)"),
                 o.catalogue ? o.catalogue : T("built in", "inbyggd"), cat->nmeasures);
        if (o.mapping && mapping_load(&map, o.mapping, cat, err, sizeof err) != FIN_OK)
            check_fail(&c, EX_CONFIG,
                       T("mapping: %s; fix: docs/import-csv.md", "mappning: %s; åtgärd: docs/import-csv.md"),
                       report_reason(cli_lang(), err, said, sizeof said));
        else if (o.mapping)
            check_ok(&c, T("mapping %s", "mappning %s"), o.mapping);
    }
    if (cli_config && insatser_load(&ins, cli_config, err, sizeof err) != FIN_OK)
        check_fail(&c, EX_CONFIG, T("insats codes: %s", "insatskoder: %s"),
                   report_reason(cli_lang(), err, said, sizeof said));
    else if (map && mapping_has_field(map, "insats") && (!ins || insatser_count(ins) == 0))
        check_fail(
            &c, EX_CONFIG,
            T("insats codes: the mapping %s reads insats, but none are declared; fix: list them in an "
              "[insatser] section (one \"code = project|integrated|any\" per line)",
              "insatskoder: mappningen %s läser insats, men inga koder är angivna; åtgärd: lista dem i "
              "avsnittet [insatser] (en \"kod = project|integrated|any\" per rad)"),
            o.mapping);
    else if (ins && insatser_count(ins))
        check_ok(
            &c,
            T("insats codes: %zu declared in [insatser] of %s", "insatskoder: %zu angivna i [insatser] i %s"),
            insatser_count(ins), insatser_source(ins));
    else
        check_ok(&c, "%s",
                 T("insats codes: none declared; rows that give an insats will be refused",
                   "insatskoder: inga angivna; rader som anger en insats avvisas"));
    if (o.spool)
        check_writable_dir(&c, T("spool", "inläsningsmapp"), o.spool);
    if (o.spool && cat) {
        spool_rules_t *rules = NULL;
        if (spool_rules_load(&rules, cli_config, cat, err, sizeof err) != FIN_OK)
            check_fail(&c, EX_CONFIG,
                       T("[spool] rules: %s; fix: rule = FILE-PATTERN -> MAPPING.ini",
                         "[spool]-regler: %s; åtgärd: rule = FILMÖNSTER -> MAPPNING.ini"),
                       err);
        else if (spool_rules_count(rules))
            check_ok(&c,
                     T("[spool] rules: %zu, each mapping loads",
                       "[spool]-regler: %zu, varje mappning går att läsa"),
                     spool_rules_count(rules));
        spool_rules_destroy(&rules);
    }
    if (o.passphrase_file)
        check_secret_file(&c, T("passphrase file", "lösenfrasfil"), o.passphrase_file, false,
                          T("write the passphrase on its first line (mode 0600)",
                            "skriv lösenfrasen på första raden (rättigheter 0600)"));
    check_ok(
        &c,
        T("collector %s (not connected by check-config)", "insamlingsserver %s (check-config ansluter inte)"),
        o.collector);
#undef T
    insatser_destroy(&ins);
    mapping_destroy(&map);
    catalogue_destroy(&cat);
    return check_finish(&c);
}
