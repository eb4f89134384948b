/* cli.c: what finsam-agent's commands load, and --check-config (see
 * cli.h). Each loader prints its own reason ("finsam-agent: ...") and
 * returns the sysexits code the command exits with, so a command is a
 * chain of loads and one library call. */
#include "cli.h"

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

int cli_forbund(char *out, size_t len)
{
    char secret[4096], err[512];
    cli_path(secret, sizeof secret, "keys/agent.key_secret");
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

int cli_load_anon(anon_t **anon)
{
    char path[4096], err[512];
    cli_path(path, sizeof path, "keys/pseudonym.key");
    /* Holding the site key: no core dumps, no ptrace by the same user. */
    prctl(PR_SET_DUMPABLE, 0);
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
    sender_config_t cfg = {o.collector,  secret,   server,           agent_id,
                           o.batch_size, o.window, o.ack_timeout_ms, o.exit_when_empty};
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
    int rc = sender_run(sender, &cli_stop);
    sender_destroy(&sender);
    return rc < 0 ? EX_IOERR : 0;
}

int cli_check_config(void)
{
    char forbund[CODEC_FORBUND_MAX + 1], path[4096], err[1024];
    catalogue_t *cat = NULL;
    anon_t *anon = NULL;
    mapping_t *map = NULL;
    insatser_t *ins = NULL;
    int bad = 0;
    bad |= cli_forbund(forbund, sizeof forbund) != 0;
    if (cli_load_catalogue(&cat) == 0) {
        bad |= cli_load_mapping(&map, cat) != 0;
    } else {
        bad = 1;
    }
    bad |= cli_load_insatser(&ins, map) != 0;
    bad |= cli_load_anon(&anon) != 0;
    cli_path(path, sizeof path, "keys/agent.key_secret");
    zcert_t *cert = keys_load_secret(path, err, sizeof err);
    if (!cert) {
        fprintf(stderr, "finsam-agent: %s\n", err);
        bad = 1;
    }
    zcert_destroy(&cert);
    if (o.server_key)
        snprintf(path, sizeof path, "%s", o.server_key);
    else
        cli_path(path, sizeof path, "keys/collector.key");
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
