/* cmd_import.c: finsam-agent import FILE, run and demo: the commands that
 * put events into the outbox (and run, which also sends them).
 *
 * import reads one file, CSV with --mapping or canonical JSONL, and stores
 * all its rows or none; run sends until stopped and, with --spool DIR,
 * imports files dropped there; demo queues synthetic events. */
#include "cli.h"

#include "csvimport.h"
#include "demo.h"
#include "import.h"
#include "sheet.h"
#include "jsonl.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

/* CSV or a workbook by name, or any file but a .jsonl/.ndjson/.json when a
 * mapping is given. */
static bool s_is_csv(const char *file)
{
    const char *dot = strrchr(file, '.');
    bool jsonl = dot && (!strcmp(dot, ".jsonl") || !strcmp(dot, ".ndjson") || !strcmp(dot, ".json"));
    return csvimport_is_csv(file) || sheet_is_sheet(file) || (o.mapping && !jsonl);
}

int cmd_import(const char *file)
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
    if ((rc = cli_forbund(forbund, sizeof forbund)) || (rc = cli_load_catalogue(&cat)) ||
        (csv && (rc = cli_load_mapping(&map, cat))) || (rc = cli_load_insatser(&ins, map)))
        goto done;
    if (access(file, R_OK) < 0) {
        fprintf(stderr, "finsam-agent: %s: %s\n", file, strerror(errno));
        rc = EX_NOINPUT;
        goto done;
    }
    report_lang_t lang = cli_lang();
    if ((rc = cli_load_anon(&anon)) || (rc = cli_open_outbox(&outbox)))
        goto done;
    outbox_set_quota(outbox, (uint64_t) o.outbox_quota_mb << 20);
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
                        .insatser = ins,
                        .lang = lang};
    char err[1024] = "";
    fin_err_t irc = !csv                   ? jsonl_import_file(file, &io, err, sizeof err)
                    : sheet_is_sheet(file) ? sheet_import_file(file, map, &io, err, sizeof err)
                                           : csvimport_file(file, map, &io, err, sizeof err);
    if (err[0])
        fprintf(stderr, "finsam-agent: %s\n", err);
    /* 65: the file's fault (nothing stored), 66: cannot open it, 74: ours
     * (read, memory, outbox: nothing stored). */
    rc = irc == FIN_OK ? 0 : irc == FIN_EINPUT ? EX_DATAERR : irc == FIN_ENOTFOUND ? EX_NOINPUT : EX_IOERR;
done:
    insatser_destroy(&ins);
    mapping_destroy(&map);
    outbox_close(&outbox);
    anon_destroy(&anon);
    catalogue_destroy(&cat);
    return rc;
}

int cmd_run(void)
{
    char forbund[CODEC_FORBUND_MAX + 1], err[512];
    outbox_t *outbox = NULL;
    catalogue_t *cat = NULL;
    anon_t *anon = NULL;
    mapping_t *map = NULL;
    insatser_t *ins = NULL;
    spool_t *spool = NULL;
    spool_rules_t *rules = NULL;
    int rc;
    if ((rc = cli_forbund(forbund, sizeof forbund)) || (rc = cli_open_outbox(&outbox)))
        goto done;
    /* Files dropped into the spool count against the quota; the sender
     * only takes out. */
    outbox_set_quota(outbox, (uint64_t) o.outbox_quota_mb << 20);
    /* Only a spool needs the catalogue and the site key in memory. */
    if (o.spool) {
        if ((rc = cli_load_catalogue(&cat)) || (rc = cli_load_mapping(&map, cat)) ||
            (rc = cli_load_insatser(&ins, map)) || (rc = cli_load_anon(&anon)))
            goto done;
        import_opts_t base = {.cat = cat,
                              .anon = anon,
                              .forbund = forbund,
                              .outbox = outbox,
                              .insatser = ins,
                              .lang = cli_lang()};
        spool_retention_t keep = {o.retention_days, o.rejected_retention_days};
        if (spool_new(&spool, o.spool, map, &base, &keep, err, sizeof err) != FIN_OK) {
            fprintf(stderr, "finsam-agent: --spool: %s\n", err);
            rc = EX_CONFIG;
            goto done;
        }
        /* [spool] rules: one agent for all of a förbund's export layouts. */
        if (spool_rules_load(&rules, cli_config, cat, err, sizeof err) != FIN_OK) {
            fprintf(stderr, "finsam-agent: [spool]: %s\n", err);
            rc = EX_CONFIG;
            goto done;
        }
        spool_set_rules(spool, rules);
    }
    rc = cli_run_sender(outbox, forbund, spool);
done:
    spool_destroy(&spool);
    spool_rules_destroy(&rules);
    insatser_destroy(&ins);
    mapping_destroy(&map);
    anon_destroy(&anon);
    catalogue_destroy(&cat);
    outbox_close(&outbox);
    return rc;
}

int cmd_demo(void)
{
    char forbund[CODEC_FORBUND_MAX + 1];
    catalogue_t *cat = NULL;
    anon_t *anon = NULL;
    outbox_t *outbox = NULL;
    int rc;
    if ((rc = cli_forbund(forbund, sizeof forbund)) || (rc = cli_load_catalogue(&cat)) ||
        (rc = cli_load_anon(&anon)) || (rc = cli_open_outbox(&outbox)))
        goto done;
    import_stats_t st = {0};
    char err[1024];
    fin_err_t drc = demo_fill(outbox, cat, anon, forbund, o.events, (uint64_t) o.seed, clock_wall_ms() / 1000,
                              &st, err, sizeof err);
    /* The key is not needed for sending: drop it before the long run. */
    anon_destroy(&anon);
    printf("demo: rows=%zu accepted=%zu already_imported=%zu corrected=%zu\n", st.rows, st.accepted,
           st.already, st.corrected);
    if (drc) {
        fprintf(stderr, "finsam-agent: demo: %s\n", err);
        /* 70: a bug or memory, 74: the outbox */
        rc = drc == FIN_EINTERNAL || drc == FIN_ENOMEM ? EX_SOFTWARE : EX_IOERR;
        goto done;
    }
    if (!o.no_send)
        rc = cli_run_sender(outbox, forbund, NULL);
done:
    outbox_close(&outbox);
    anon_destroy(&anon);
    catalogue_destroy(&cat);
    return rc;
}
