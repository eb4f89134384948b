/* main.c: finsam-agent. Parses options into `o`, runs one command, exits
 * with its sysexits code. The commands are in cmd_keys.c, cmd_import.c and
 * cmd_outbox.c, what they load in cli.c (cli.h has the data directory's
 * layout); no logic of its own beyond the option table and choosing the
 * command.
 *
 * The configuration file (--config FILE) holds the options as INI keys and
 * the site's insats codes in its own [insatser] section (insatser.h). */
#include "cli.h"

#include "options.h"
#include "prologue.h"

#include <stdio.h>
#include <string.h>
#include <sysexits.h>

cli_options_t o;
const char *cli_config;
volatile sig_atomic_t cli_stop;

static const opt_t s_opts[] = {
    {"data-dir", 'd', OPT_STR, "./finsam-agent-data", 0, 0, "data directory (keys/, outbox/)", &o.data_dir},
    {"forbund", 'F', OPT_STR, NULL, 0, 0, "förbund code; default: from keys/agent.key_secret", &o.forbund},
    {"collector", 0, OPT_STR, "tcp://127.0.0.1:7710", 0, 0, "collector endpoint", &o.collector},
    {"server-key", 0, OPT_STR, NULL, 0, 0, "collector public certificate (default DATA/keys/collector.key)",
     &o.server_key},
    {"batch-size", 0, OPT_INT, "500", 1, CODEC_MAX_BATCH_EVENTS, "events per batch", &o.batch_size},
    {"window", 0, OPT_INT, "8", 1, 1024, "batches in flight", &o.window},
    {"ack-timeout-ms", 0, OPT_INT, "5000", 10, 3600000, "resend after this long without an ack",
     &o.ack_timeout_ms},
    {"catalogue", 0, OPT_STR, NULL, 0, 0, "catalogue JSON (default: the embedded one)", &o.catalogue},
    {"dry-run", 'n', OPT_FLAG, NULL, 0, 0, "import: validate and report, store nothing", &o.dry_run},
    {"mapping", 'M', OPT_STR, NULL, 0, 0,
     "import/run --spool: column mapping for CSV and workbook files (docs/import-csv.md)", &o.mapping},
    {"spool", 'S', OPT_STR, NULL, 0, 0, "run: import files dropped into this directory; status: count them",
     &o.spool},
    {"spool-retention-days", 0, OPT_INT, "0", 0, 3650,
     "run --spool: days an imported file is kept in DIR/done/ (0: deleted once imported)", &o.retention_days},
    {"spool-rejected-retention-days", 0, OPT_INT, "14", 0, 3650,
     "run --spool: days a file that was not imported is kept in DIR/rejected/ for staff to fix",
     &o.rejected_retention_days},
    {"out", 'o', OPT_STR, NULL, 0, 0, "mapping draft: write the draft to this new file (default stdout)",
     &o.out},
    {"sheet", 0, OPT_STR, NULL, 0, 0,
     "mapping draft: the workbook's sheet, by name or number (default: the one with the most rows)",
     &o.sheet},
    {"passphrase-file", 0, OPT_STR, NULL, 0, 0,
     "export-key/import-key: file whose first line is the passphrase (mode 0600)", &o.passphrase_file},
    {"format", 'f', OPT_STR, "text", 0, 0, "status: text or json", &o.format},
    {"check-config", 0, OPT_FLAG, NULL, 0, 0, "the check-config command (kept as an alias)", &o.check_config},
    {"events", 0, OPT_INT, "1000", 1, 100000000, "demo: number of events", &o.events},
    {"seed", 0, OPT_INT, "1", 0, 0x7fffffffL, "demo: random seed", &o.seed},
    {"no-send", 0, OPT_FLAG, NULL, 0, 0, "demo: only fill the outbox", &o.no_send},
    {"exit-when-empty", 0, OPT_FLAG, NULL, 0, 0,
     "run/demo: exit 0 once the queue is empty, 69 when refused for --connect-timeout", &o.exit_when_empty},
    {"connect-timeout", 0, OPT_INT, "60", 0, 86400,
     "run/demo --exit-when-empty: seconds to keep trying after the collector refused us (0: never give up)",
     &o.connect_timeout},
    {"unreachable-timeout", 0, OPT_INT, "0", 0, 86400 * 30,
     "run/demo --exit-when-empty: seconds to wait for a collector that does not answer (0: wait for it)",
     &o.unreachable_timeout},
    {"outbox-quota-mb", 0, OPT_INT, "1024", 1, 1048576,
     "import/run --spool: refuse an import that would grow the outbox beyond this (queued data is kept)",
     &o.outbox_quota_mb},
    {"lang", 0, OPT_STR, "sv", 0, 0,
     "what staff read (status, reports, check-config, keygen): sv (Swedish) or en (English)", &o.lang},
    {"year", 0, OPT_INT, "0", 0, 2100, "submit: the year whose figures are complete", &o.year},
    {"half", 0, OPT_INT, "0", 0, 2, "submit: only this half-year (1: Jan-Jun, 2: Jul-Dec)", &o.half},
    {"log-level", 'l', OPT_STR, "info", 0, 0, "debug, info, warn or error", &o.log_level},
    {"agent-id", 0, OPT_STR, NULL, 0, 0,
     "name sent with batches; keygen: the certificate's name (default agent-FORBUND)", &o.agent_id},
};

static const char *const s_own_sections[] = {"insatser", NULL};
/* [spool] holds options and the spool's rules (spool.h), which the agent
 * reads itself. */
static const char *const s_own_keys[] = {"spool.rule", NULL};

static const opt_choice_t s_choices[] = {
    {"format", "text|json"}, {"lang", "sv|en"}, {"log-level", "debug|info|warn|error"}, {NULL, NULL}};

static const opt_spec_t s_spec = {
    .prog = "finsam-agent",
    .usage = "finsam-agent [OPTIONS] keygen|import FILE|mapping draft|check FILE|export-key OUT|import-key "
             "IN|run|demo|status|erase ID|withdraw import N|FILE-NO|withdraw response-id ID...|submit --year "
             "Y|check-config",
    .summary =
        "The finsam agent at a förbund site: imports rows, pseudonymizes them, keeps them in a durable\n"
        "outbox and sends them to the collector over CurveZMQ until acknowledged.",
    .epilog =
        "Commands:\n"
        "  keygen        create keys/agent.key(+_secret) with metadata forbund=--forbund, and\n"
        "                keys/pseudonym.key (mode 0600); refuses to overwrite\n"
        "                (keeps an existing pseudonym.key, e.g. one brought with import-key)\n"
        "  import FILE   import canonical JSONL (docs/import-jsonl.md) or, for .csv/.tsv/.txt,\n"
        "                .xlsx/.ods or with --mapping, a table (docs/import-csv.md): all rows or none\n"
        "  mapping draft FILE  write a commented mapping for a .csv, .xlsx or .ods FILE (--out\n"
        "                M.ini, default stdout; --sheet S); what it could not decide is listed at its end\n"
        "  mapping check FILE  explain --mapping M.ini against FILE: columns, labels and rows;\n"
        "                imports nothing\n"
        "  export-key OUT  seal keys/pseudonym.key under --passphrase-file into OUT (mode 0600)\n"
        "  import-key IN   unseal IN into keys/pseudonym.key on a new machine (never overwrites)\n"
        "  run           send the outbox to --collector until stopped (SIGINT/SIGTERM);\n"
        "                with --spool DIR also import files dropped into DIR\n"
        "  demo          queue --events synthetic events (--seed); then run unless --no-send\n"
        "  status        show queued and rejected events (--format json)\n"
        "  erase ID      erase a sent or queued event (32 hex digits) for good: queue an erasure\n"
        "                for the collector, remove the event from the outbox if still there, and\n"
        "                wipe the outbox's free space (docs/operations-agent.md)\n"
        "  withdraw import N|000012|REPORT  take back every row import N queued (its report\n"
        "                says \"import N\"; 000012 is the spool's file number), as retraction\n"
        "                events the collector subtracts exactly; again: no harm, exit 0\n"
        "  withdraw response-id ID...  the same for the rows with these response ids\n"
        "  submit --year Y [--half 1|2]  tell the centre the förbund's figures for the period are\n"
        "                complete and ask for its approval (queued, delivered like every event;\n"
        "                a refusal shows in status; docs/agent.md)\n"
        "  check-config  check options, config file, data directory, keys and their modes, the\n"
        "                collector's public key, catalogue, mapping, insats codes and spool; connects\n"
        "                nowhere, changes nothing (--check-config is the same)\n"
        "\nExit codes:\n"
        "  0   ok\n"
        "  64  usage: an unknown option or command, a bad value (--log-level foo)\n"
        "  65  bad input data (nothing stored), a wrong passphrase, or erase: not an event id\n"
        "      of this agent\n"
        "  66  an input file is missing (import FILE, --config FILE, the data directory;\n"
        "      erase: no outbox in --data-dir)\n"
        "  69  run/demo --exit-when-empty: the collector refused us for --connect-timeout, or did\n"
        "      not answer for --unreachable-timeout\n"
        "  73  cannot create a key or a mapping draft (it exists)\n"
        "  74  I/O or storage error (the outbox)\n"
        "  77  a key or passphrase file readable by group or others (chmod 600), a spool or\n"
        "      data directory the agent may not use\n"
        "  78  configuration: a key file missing (run keygen) or unusable, the catalogue, the\n"
        "      förbund, the mapping, the insats codes, an unknown key in --config FILE\n"
        "\nConfiguration file (--config FILE): every option above as an INI key, and the\n"
        "insats codes the exports may use, one per line in an [insatser] section:\n"
        "  [insatser]\n"
        "  steg1 = project          ; project, integrated or any\n"
        "A row with any other insats is refused (docs/operations-agent.md).\n"
        "run --spool: [spool] rules choose a mapping by file name, first match wins,\n"
        "--mapping is the default:\n"
        "  [spool]\n"
        "  rule = enkat-*.csv -> /etc/finsam/enkat.ini\n",
    .opts = s_opts,
    .nopts = sizeof s_opts / sizeof *s_opts,
    .section = "agent",
    .choices = s_choices,
};

static const opt_own_t s_own = {s_own_sections, &cli_config, s_own_keys};
static const prologue_t s_prologue = {&s_spec, &s_own, (const char *const *) &o.log_level};

int main(int argc, char **argv)
{
    int first, status;
    if (!prologue_run(&s_prologue, argc, argv, &first, &status))
        return status;
    prologue_signals(&cli_stop);

    const char *cmd = first < argc ? argv[first] : NULL;
    int nargs = argc - first - 1;
    if (o.check_config || (cmd && !strcmp(cmd, "check-config") && nargs == 0))
        return cli_check_config();
    if (cmd && !strcmp(cmd, "keygen") && nargs == 0)
        return cmd_keygen();
    if (cmd && !strcmp(cmd, "import") && nargs == 1)
        return cmd_import(argv[first + 1]);
    if (cmd && !strcmp(cmd, "export-key") && nargs == 1)
        return cmd_export_key(argv[first + 1]);
    if (cmd && !strcmp(cmd, "import-key") && nargs == 1)
        return cmd_import_key(argv[first + 1]);
    if (cmd && !strcmp(cmd, "run") && nargs == 0)
        return cmd_run();
    if (cmd && !strcmp(cmd, "demo") && nargs == 0)
        return cmd_demo();
    if (cmd && !strcmp(cmd, "status") && nargs == 0)
        return cmd_status();
    if (cmd && !strcmp(cmd, "mapping") && nargs == 2)
        return cmd_mapping(argv[first + 1], argv[first + 2]);
    if (cmd && !strcmp(cmd, "erase") && nargs == 1)
        return cmd_erase(argv[first + 1]);
    if (cmd && !strcmp(cmd, "withdraw"))
        return cmd_withdraw(nargs, argv + first + 1);
    if (cmd && !strcmp(cmd, "submit") && nargs == 0)
        return cmd_submit();
    fprintf(stderr, "Usage: %s (try --help)\n", s_spec.usage);
    return EX_USAGE;
}
