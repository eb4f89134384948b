/* ctl.c (finsamctl): the operator's command line. Reads the collector's
 * store read-only (LMDB allows readers beside the running writer), so it
 * works whether or not the collector runs, and never changes data except
 * for `keygen` (new files), `backup` (a copy elsewhere), `erase`,
 * `approve` and `reopen` (they open the store for writing and append an
 * event to the log; LMDB serialises their write transactions with the
 * running collector's), `migrate` (a previous release's store, with the
 * collector stopped) and `report` (a document; the official figures it
 * reads are computed in a temporary directory). */
#include "annual.h"
#include "approval.h"
#include "check.h"
#include "coverage.h"
#include "datadir_check.h"
#include "erase.h"
#include "export.h"
#include "forbund.h"
#include "keys.h"
#include "ledger.h"
#include "log.h"
#include "migrate.h"
#include "official.h"
#include "options.h"
#include "pdf.h"
#include "prologue.h"
#include "protect.h"
#include "query.h"
#include "rebuild.h"
#include "status.h"
#include "tail.h"
#include "util.h"

#include <czmq.h>
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

/* How long `erase` lets readers from before the erase (a backup, a rebuild)
 * finish before it overwrites the old bytes anyway. */
#define ERASE_WAIT_MS 30000

static struct {
    char *data_dir, *format, *forbund, *name, *catalogue, *measure, *period, *slice, *log_level;
    bool verify, exact, coverage, all;
    char *key, *server_key, *stream, *replay, *from, *access, *before, *allow_dir, *lan, *reason, *out, *lang;
    long count, idle_exit_ms, year, official;
} o;

static const opt_t s_opts[] = {
    {"data-dir", 'd', OPT_STR, "./finsam-data", 0, 0, "collector data directory", &o.data_dir},
    {"format", 'f', OPT_STR, "table", 0, 0, "table, json or csv; report: html or pdf", &o.format},
    {"forbund", 'F', OPT_STR, NULL, 0, 0,
     "keygen: förbund the key may publish for; query: filter; erase: the events' förbund", &o.forbund},
    {"before", 0, OPT_STR, NULL, 0, 0,
     "erase: every event of --forbund that occurred before this month (YYYY-MM)", &o.before},
    {"name", 0, OPT_STR, NULL, 0, 0, "keygen: name stored in the certificate; forbund add/rename: its name",
     &o.name},
    {"lan", 0, OPT_STR, NULL, 0, 0, "forbund add: the län its numbers roll up into (LÄN or LÄN1,LÄN2)",
     &o.lan},
    {"catalogue", 0, OPT_STR, "", 0, 0, "indicator catalogue JSON (default: embedded)", &o.catalogue},
    {"allow-dir", 0, OPT_STR, NULL, 0, 0,
     "the collector's allow-list of agent certificates, which names agents in status (default DATA/agents)",
     &o.allow_dir},
    {"measure", 'm', OPT_STR, NULL, 0, 0, "query: measure id or indicator number", &o.measure},
    {"period", 'p', OPT_STR, "year", 0, 0, "query: year, quarter, month or one period (2026-Q1)", &o.period},
    {"slice", 's', OPT_STR, "all", 0, 0,
     "query: all, mode=..., agency=..., gender=..., age=... (a wrong one lists all)", &o.slice},
    {"exact", 0, OPT_FLAG, NULL, 0, 0,
     "query, export: the operator's exact view (no protection; never published)", &o.exact},
    {"verify", 0, OPT_FLAG, NULL, 0, 0, "rebuild: compare with the stored cells (no change)", &o.verify},
    {"access", 0, OPT_STR, NULL, 0, 0, "keygen: subscriber access, all or aggregates", &o.access},
    {"key", 0, OPT_STR, NULL, 0, 0,
     "tail: subscriber secret certificate (default DATA/keys/subscriber.key_secret)", &o.key},
    {"server-key", 0, OPT_STR, NULL, 0, 0,
     "tail: collector public certificate (default DATA/keys/collector.key)", &o.server_key},
    {"stream", 0, OPT_STR, "tcp://127.0.0.1:7711", 0, 0,
     "tail: live stream endpoint (7712 is the same socket)", &o.stream},
    {"replay", 0, OPT_STR, "tcp://127.0.0.1:7713", 0, 0, "tail: replay endpoint", &o.replay},
    {"from", 0, OPT_STR, NULL, 0, 0, "tail: replay the event log from this sequence first", &o.from},
    {"count", 0, OPT_INT, "0", 0, 1000000000, "tail: stop after this many messages (0: never)", &o.count},
    {"idle-exit-ms", 0, OPT_INT, "0", 0, 86400000, "tail: stop after this long without messages (0: never)",
     &o.idle_exit_ms},
    {"reason", 0, OPT_STR, NULL, 0, 0, "reopen: why the period is returned (recorded in its history)",
     &o.reason},
    {"all", 0, OPT_FLAG, NULL, 0, 0,
     "report: the national edition and one per approved förbund, into the directory --out", &o.all},
    {"coverage", 0, OPT_FLAG, NULL, 0, 0,
     "query --official: the coverage measures (participants with status observations, respondents per "
     "survey)",
     &o.coverage},
    {"year", 0, OPT_INT, "0", 0, 2100, "approval list: only this year; report: the year reported", &o.year},
    {"out", 'o', OPT_STR, NULL, 0, 0, "report: write the document to this file (default: stdout for html)",
     &o.out},
    {"lang", 0, OPT_STR, "sv", 0, 0, "report: sv (Swedish) or en (English)", &o.lang},
    {"official", 0, OPT_INT, "0", 0, 2100,
     "query: the official figures of this year (approved förbund, up to each lock; docs/report.md)",
     &o.official},
    {"log-level", 'l', OPT_STR, "warn", 0, 0, "debug, info, warn or error", &o.log_level},
};

static const opt_choice_t s_choices[] = {{"format", "table|json|csv|html|pdf"},
                                         {"lang", "sv|en"},
                                         {"log-level", "debug|info|warn|error"},
                                         {NULL, NULL}};

static const opt_spec_t s_spec = {
    .prog = "finsamctl",
    .usage = "finsamctl [OPTIONS] COMMAND [ARGS]",
    .summary = "Operator tool for a finsam collector's data directory.",
    .epilog =
        "Commands:\n"
        "  check-config        check options, config file, data directory, allow-lists, catalogue, store\n"
        "                      and tail's keys; opens nothing for writing, connects nowhere\n"
        "  status              events stored, last seen and rejects per förbund and agent\n"
        "  query               protected indicator values per förbund, län and nation (--exact: the\n"
        "                      operator's exact view, for checking; never publish it)\n"
        "  protection          the disclosure protection in force: minimum count, cell-key parameters\n"
        "                      and the public perturbation table (JSON)\n"
        "  export              every indicator and slice as CSV for Swedish Excel (--format json: JSON)\n"
        "  rebuild --verify    recompute every cell from the event log and report differences\n"
        "  tail [PREFIX]       follow the event/aggregate stream (--from SEQ replays first; gaps are "
        "refilled)\n"
        "  keygen PATH         write PATH (public) and PATH_secret (0600) certificates; --forbund for "
        "agents,\n"
        "                      --access all|aggregates for stream subscribers\n"
        "  forbund add CODE --name NAME --lan LÄN[,LÄN2]   register a förbund in DATA/forbund.json\n"
        "                      (names and the län it rolls up into; read by query, export and the\n"
        "                      collector; the catalogue's list is the default until the file exists)\n"
        "  forbund list        the registered förbund (--format json)\n"
        "  forbund rename CODE --name NAME   a new name for a registered förbund\n"
        "  backup DIR          write a compacted consistent copy of the store while it runs\n"
        "  erase EVENT-ID      erase an event for good (cells, log bytes, data.mdb) while the collector "
        "runs;\n"
        "                      --forbund if the id is stored by several förbund\n"
        "  erase --forbund F --before YYYY-MM   erase every event of F that occurred before that month\n"
        "  approve F PERIOD    approve förbund F's submitted period (2026, or 2026-H1): its figures\n"
        "                      become official, locked at this point of the log (docs/report.md)\n"
        "  reopen F PERIOD --reason TEXT   return a submitted or approved period to open\n"
        "  approval list       every period's approval state and late data (--forbund, --year)\n"
        "  approval show F PERIOD   one period's state and history (who, when, why)\n"
        "  report --year Y [--forbund F] [--lang sv|en] --format html|pdf [-o FILE]\n"
        "                      the yearly indicator report from the approved years (docs/report.md);\n"
        "                      pdf needs headless chromium and -o\n"
        "  migrate             bring a ledger of the previous release (schema 5) to this one: recompute the\n"
        "                      derived state from the log, keep the publication; collector stopped; safe to\n"
        "                      run again after an interruption (docs/operations.md, Migrating a ledger)\n"
        "\nExit codes:\n"
        "  0   ok\n"
        "  1   rebuild --verify found differences\n"
        "  64  usage: an unknown option or command, a bad value (--format xml), an unknown measure,\n"
        "      period or slice\n"
        "  65  erase: no such event or nothing to erase; migrate: another schema or a damaged store;\n"
        "      approve/reopen: the period's state does not allow it (the message says why)\n"
        "  66  no data directory or store, --config FILE missing, or a store of the previous schema\n"
        "      (run migrate)\n"
        "  69  tail: the collector does not answer, or a replay failed\n"
        "  73  cannot create (keygen: the key exists)\n"
        "  74  store or file I/O (backup: cannot write DIR)\n"
        "  77  tail: subscription refused or revoked, or the subscriber key readable by others\n"
        "  78  bad configuration: the catalogue, a key file, an unknown key in --config FILE\n",
    .opts = s_opts,
    .nopts = sizeof s_opts / sizeof *s_opts,
    .section = "finsamctl",
    .choices = s_choices,
};

static int s_open(ledger_t **ledger)
{
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/ledger", o.data_dir);
    if (ledger_open(ledger, path, true, err, sizeof err) != FIN_OK) {
        fprintf(stderr, "finsamctl: %s\n", err);
        return EX_NOINPUT;
    }
    return 0;
}

/* The store and the catalogue, as query, export and rebuild need them. */
static int s_open_with_catalogue(ledger_t **ledger, catalogue_t **cat)
{
    int rc = forbund_load_catalogue(cat, o.catalogue, o.data_dir);
    if (rc)
        return rc;
    rc = s_open(ledger);
    if (rc)
        catalogue_destroy(cat);
    return rc;
}

static int s_status(void)
{
    ledger_t *ledger;
    int rc = s_open(&ledger);
    if (rc)
        return rc;
    json_t *report = status_report(ledger, clock_wall_ms());
    ledger_close(&ledger);
    if (!report) {
        fprintf(stderr, "finsamctl: status: cannot read the store\n");
        return EX_IOERR;
    }
    char allow_dir[4200];
    snprintf(allow_dir, sizeof allow_dir, "%s/agents", o.data_dir);
    status_name_agents(report, o.allow_dir ? o.allow_dir : allow_dir);
    /* Förbund names and län from the registry; without it (a file that
     * does not parse, said on stderr) the counts still show. */
    catalogue_t *cat = NULL;
    bool named = forbund_load_catalogue(&cat, o.catalogue, o.data_dir) == 0;
    bool json = !strcmp(o.format, "json");
    if (named && json)
        forbund_name_status(report, cat, NULL);
    if (json) {
        json_dumpf(report, stdout, JSON_INDENT(2));
        printf("\n");
    } else {
        status_print_table(report, stdout);
        if (named)
            forbund_name_status(report, cat, stdout);
    }
    catalogue_destroy(&cat);
    json_decref(report);
    return 0;
}

/* The exit status of a query or an export that failed. Not fin_exit_code:
 * --help and docs/operations.md promise 64 (usage) for a period, slice or
 * measure finsamctl does not know, where fin_exit_code says 65, and 74
 * (store I/O) for any store failure, where it says 65, 71, 73 or 75. */
static int s_report_exit(fin_err_t code)
{
    return code == FIN_OK ? EX_OK : code == FIN_EINPUT ? EX_USAGE : EX_IOERR;
}

/* What query and export open and close: the catalogue, the store, its
 * protection and the result. */
typedef struct {
    catalogue_t *cat;
    ledger_t *ledger;
    protect_t *protect;
    json_t *result;
    char err[QUERY_ERR_LEN];
} s_read_t;

/* 0, or the exit status after saying why. */
static int s_read_open(s_read_t *r)
{
    int rc = s_open_with_catalogue(&r->ledger, &r->cat);
    if (rc)
        return rc;
    r->protect = protect_open(r->ledger, NULL, r->err, sizeof r->err);
    return r->protect ? 0 : EX_DATAERR;
}

/* Says why a command failed (rc != 0, unless the open already said it),
 * frees what s_read_open opened, returns rc. */
static int s_read_close(s_read_t *r, const char *command, int rc)
{
    if (rc && r->err[0])
        fprintf(stderr, "finsamctl: %s: %s\n", command, r->err);
    json_decref(r->result);
    protect_destroy(&r->protect);
    ledger_close(&r->ledger);
    catalogue_destroy(&r->cat);
    return rc;
}

static int s_query(void)
{
    s_read_t r = {0};
    official_t *off = NULL;
    catalogue_t *covcat = NULL;
    if (o.coverage && !o.official) {
        fprintf(stderr, "finsamctl: query: --coverage goes with --official YEAR\n");
        return EX_USAGE;
    }
    int rc = s_read_open(&r);
    if (rc == 0 && o.coverage) {
        fin_err_t code = coverage_catalogue(&covcat, r.cat, r.err, sizeof r.err);
        rc = code ? fin_exit_code(code) : 0;
    }
    const catalogue_t *cat = covcat ? covcat : r.cat;
    if (rc == 0 && o.official) {
        fin_err_t code = official_open(&off, r.ledger, cat, (int) o.official, r.err, sizeof r.err);
        rc = code ? fin_exit_code(code) : 0;
    }
    if (rc == 0) {
        query_t q = {.measure = o.measure,
                     .forbund = o.forbund,
                     .period = o.period,
                     .slice = o.slice,
                     .protect = off ? official_protect(off) : r.protect,
                     .exact = o.exact};
        rc = s_report_exit(
            query_run(off ? official_ledger(off) : r.ledger, cat, &q, &r.result, r.err, sizeof r.err));
    }
    if (rc == 0 && off) {
        /* Which förbund the official figures hold, and their late data. */
        const lockview_info_t *info = official_info(off);
        json_t *in = json_array();
        for (int i = 0; i < info->approved; i++)
            json_array_append_new(in, json_pack("{s:s, s:I, s:I}", "forbund", info->forbund[i], "lock_seq",
                                                (json_int_t) info->lock_seq[i], "late_events",
                                                (json_int_t) info->late_events[i]));
        json_object_set_new(r.result, "official",
                            json_pack("{s:i, s:o}", "year", (int) o.official, "approved", in));
    }
    official_destroy(&off);
    catalogue_destroy(&covcat);
    if (rc == 0) {
        if (!strcmp(o.format, "json")) {
            json_dumpf(r.result, stdout, JSON_INDENT(2));
            printf("\n");
        } else if (!strcmp(o.format, "csv")) {
            export_print_csv(r.result, stdout); /* the one Swedish-Excel writer */
        } else {
            query_print_table(r.result, stdout);
        }
    }
    return s_read_close(&r, "query", rc);
}

/* export: query_run for every slice, so the same suppression as query.
 * CSV unless --format json (the default "table" means CSV here). */
static int s_export(void)
{
    bool json = !strcmp(o.format, "json");
    if (!json && strcmp(o.format, "csv") && strcmp(o.format, "table")) {
        fprintf(stderr, "finsamctl: export: --format %s: use csv or json\n", o.format);
        return EX_USAGE;
    }
    if (strcmp(o.slice, "all")) {
        fprintf(stderr, "finsamctl: export: --slice %s: an export holds every slice (--slice is for query)\n",
                o.slice);
        return EX_USAGE;
    }
    s_read_t r = {0};
    int rc = s_read_open(&r);
    if (rc == 0) {
        export_t e = {.measure = o.measure,
                      .forbund = o.forbund,
                      .period = o.period,
                      .protect = r.protect,
                      .exact = o.exact};
        rc = s_report_exit(export_run(r.ledger, r.cat, &e, &r.result, r.err, sizeof r.err));
    }
    if (rc == 0 && (json ? json_dumpf(r.result, stdout, JSON_INDENT(2)) < 0 || fputc('\n', stdout) == EOF
                         : export_print_csv(r.result, stdout) < 0)) {
        snprintf(r.err, sizeof r.err, "stdout: write failed");
        rc = EX_IOERR;
    }
    return s_read_close(&r, "export", rc);
}

static int s_protection(void)
{
    char err[512];
    ledger_t *ledger;
    int rc = s_open(&ledger);
    if (rc)
        return rc;
    protect_t *protect = protect_open(ledger, NULL, err, sizeof err);
    if (protect) {
        json_t *d = protect_describe(protect);
        json_dumpf(d, stdout, JSON_INDENT(2));
        printf("\n");
        json_decref(d);
    } else {
        fprintf(stderr, "finsamctl: protection: %s\n", err);
        rc = EX_DATAERR;
    }
    protect_destroy(&protect);
    ledger_close(&ledger);
    return rc;
}

static int s_rebuild(void)
{
    if (!o.verify) {
        fprintf(stderr,
                "finsamctl: rebuild: only --verify is supported (cells are maintained by the collector)\n");
        return EX_USAGE;
    }
    char err[512];
    catalogue_t *cat;
    ledger_t *ledger;
    int rc = s_open_with_catalogue(&ledger, &cat);
    if (rc)
        return rc;
    rebuild_report_t report;
    rc = rebuild_verify(ledger, cat, &report, stdout, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "finsamctl: rebuild: %s\n", err);
    else
        printf("rebuild: events=%llu cells=%llu participants=%llu distribution_entries=%llu approvals=%llu "
               "differences=%llu seconds=%.3f events_per_s=%.0f position=%llu log_end=%llu parts=%d "
               "busiest_part_events=%llu\n",
               (unsigned long long) report.events, (unsigned long long) report.cells,
               (unsigned long long) report.people, (unsigned long long) report.dist_entries,
               (unsigned long long) report.approvals, (unsigned long long) report.differences, report.seconds,
               report.seconds > 0 ? (double) report.events / report.seconds : 0.0,
               (unsigned long long) report.position, (unsigned long long) report.log_end, report.parts,
               (unsigned long long) report.busiest);
    ledger_close(&ledger);
    catalogue_destroy(&cat);
    return rc < 0 ? EX_IOERR : report.differences ? 1 : 0;
}

/* 0 if DATA/ledger holds a store, else EX_NOINPUT with the reason said:
 * a command that writes must not open (and so create) an empty one. */
static int s_need_store(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/ledger/data.mdb", o.data_dir);
    if (access(path, F_OK) < 0) {
        fprintf(stderr, "finsamctl: %s: no store\n", path);
        return EX_NOINPUT;
    }
    return 0;
}

static int s_erase(const char *id_hex)
{
    erase_request_t req = {.forbund = o.forbund, .wait_ms = ERASE_WAIT_MS};
    if (id_hex && hex_decode(req.id, 16, id_hex) < 0) {
        fprintf(stderr, "finsamctl: erase: %s: not a 32-digit hex event id\n", id_hex);
        return EX_USAGE;
    }
    req.has_id = id_hex != NULL;
    if (o.before && erase_parse_month(o.before, &req.before) < 0) {
        fprintf(stderr, "finsamctl: erase: --before %s: not a month YYYY-MM\n", o.before);
        return EX_USAGE;
    }
    req.has_before = o.before != NULL;
    if (req.has_id == req.has_before || (req.has_before && !o.forbund)) {
        fprintf(stderr, "Usage: finsamctl erase EVENT-ID | finsamctl erase --forbund F --before YYYY-MM\n");
        return EX_USAGE;
    }
    char path[4096], err[512];
    if (s_need_store() != 0)
        return EX_NOINPUT;
    catalogue_t *cat;
    if (catalogue_load(&cat, o.catalogue, err, sizeof err) < 0) {
        fprintf(stderr, "finsamctl: catalogue: %s\n", err);
        return EX_CONFIG;
    }
    ledger_t *ledger;
    snprintf(path, sizeof path, "%s/ledger", o.data_dir);
    if (ledger_open(&ledger, path, false, err, sizeof err) != FIN_OK) {
        fprintf(stderr, "finsamctl: %s\n", err);
        catalogue_destroy(&cat);
        return EX_NOINPUT;
    }
    erase_report_t r;
    erase_result_t result = erase_run(ledger, cat, &req, &r, err, sizeof err);
    ledger_close(&ledger);
    catalogue_destroy(&cat);
    if (result != ERASE_OK) {
        fprintf(stderr, "finsamctl: erase: %s\n", err);
        return result == ERASE_STORE ? EX_IOERR : EX_DATAERR;
    }
    printf("erase: erased=%llu already_erased=%llu erasure_seq=%llu-%llu scrubbed_copies=%llu "
           "scanned_mib=%.1f old_readers=%d seconds=%.3f\n",
           (unsigned long long) r.erased, (unsigned long long) r.already, (unsigned long long) r.first_seq,
           (unsigned long long) r.last_seq, (unsigned long long) r.scrub.copies,
           (double) r.scrub.scanned / (1 << 20), r.scrub.old_readers, r.scrub.seconds);
    if (r.scrub.old_readers)
        fprintf(
            stderr,
            "finsamctl: erase: %d reader(s) from before the erase were still open and may have read zeros "
            "in place of the erased event; discard a backup taken meanwhile\n",
            r.scrub.old_readers);
    return 0;
}

/* The operator's user name, recorded with an approval or a reopen. */
static const char *s_user(void)
{
    struct passwd *pw = getpwuid(getuid());
    return pw && pw->pw_name ? pw->pw_name : "unknown";
}

/* approve F PERIOD, reopen F PERIOD --reason TEXT: written into the log
 * like an operator's erasure, so the store is opened for writing. */
static int s_approve(approval_action_t action, int argc, char **argv)
{
    const char *cmd = action == APPROVAL_APPROVE ? "approve" : "reopen";
    approval_request_t req = {.action = action, .by = s_user(), .reason = o.reason};
    if (argc != 2 || approval_period_parse(argv[1], &req.year, &req.half) < 0) {
        fprintf(stderr, "Usage: finsamctl %s FORBUND YEAR|YEAR-H1|YEAR-H2%s\n", cmd,
                action == APPROVAL_REOPEN ? " --reason TEXT" : "");
        return EX_USAGE;
    }
    req.forbund = argv[0];
    if (action == APPROVAL_REOPEN && (!o.reason || !o.reason[0])) {
        fprintf(stderr,
                "finsamctl: reopen: --reason TEXT is required (it is kept in the period's history)\n");
        return EX_USAGE;
    }
    if (action == APPROVAL_APPROVE && o.reason) {
        fprintf(stderr, "finsamctl: approve: --reason is for reopen\n");
        return EX_USAGE;
    }
    char path[4096], err[512];
    if (s_need_store() != 0)
        return EX_NOINPUT;
    ledger_t *ledger;
    snprintf(path, sizeof path, "%s/ledger", o.data_dir);
    if (ledger_open(&ledger, path, false, err, sizeof err) != FIN_OK) {
        fprintf(stderr, "finsamctl: %s\n", err);
        return EX_NOINPUT;
    }
    uint64_t seq;
    fin_err_t rc = approval_run(ledger, &req, &seq, err, sizeof err);
    ledger_close(&ledger);
    if (rc) {
        fprintf(stderr, "finsamctl: %s: %s\n", cmd, err);
        return rc == FIN_EINPUT ? EX_DATAERR : fin_exit_code(rc);
    }
    printf("%s: %s %s %s by %s at log position %llu\n", cmd, req.forbund, argv[1],
           action == APPROVAL_APPROVE ? "approved and locked" : "reopened", req.by, (unsigned long long) seq);
    return 0;
}

static void s_print_period(json_t *p)
{
    printf("%-8s %-8s %-10s %-9s %-11lld %s\n", json_string_value(json_object_get(p, "forbund")),
           json_string_value(json_object_get(p, "period")), json_string_value(json_object_get(p, "state")),
           json_is_true(json_object_get(p, "locked")) ? "yes" : "no",
           (long long) json_integer_value(json_object_get(p, "late_events")),
           json_string_value(json_object_get(p, "changed_at")));
}

/* approval list | approval show F PERIOD */
static int s_approval(int argc, char **argv)
{
    bool show = argc == 3 && !strcmp(argv[0], "show");
    if (!show && !(argc == 1 && !strcmp(argv[0], "list"))) {
        fprintf(stderr,
                "Usage: finsamctl approval list [--forbund F] [--year Y] | approval show FORBUND PERIOD\n");
        return EX_USAGE;
    }
    int year = (int) o.year, half = 0;
    const char *forbund = o.forbund;
    if (show) {
        forbund = argv[1];
        if (approval_period_parse(argv[2], &year, &half) < 0) {
            fprintf(stderr, "finsamctl: approval show: %s: not a period (2026, 2026-H1, 2026-H2)\n", argv[2]);
            return EX_USAGE;
        }
    }
    ledger_t *ledger;
    int rc = s_open(&ledger);
    if (rc)
        return rc;
    char err[512];
    json_t *all = approval_json(ledger, forbund, year, show, err, sizeof err);
    ledger_close(&ledger);
    if (!all) {
        fprintf(stderr, "finsamctl: approval: %s\n", err);
        return EX_IOERR;
    }
    json_t *periods = json_object_get(all, "periods");
    if (show) {
        /* One period: the year's record, or the half's. */
        char want[16];
        approval_period_format(want, sizeof want, year, half);
        json_t *one = NULL, *p;
        size_t i;
        json_array_foreach(periods, i, p)
            if (!strcmp(json_string_value(json_object_get(p, "period")), want))
                one = p;
        if (!one) {
            one = json_pack("{s:s, s:s, s:s, s:b, s:i, s:[]}", "forbund", forbund, "period", want, "state",
                            "open", "locked", 0, "late_events", 0, "history");
            json_array_clear(periods);
            json_array_append_new(periods, one);
        }
        if (!strcmp(o.format, "json")) {
            json_dumpf(one, stdout, JSON_INDENT(2));
            printf("\n");
        } else {
            printf("%s %s: %s%s", forbund, want, json_string_value(json_object_get(one, "state")),
                   json_is_true(json_object_get(one, "locked")) ? ", locked" : "");
            if (json_is_true(json_object_get(one, "locked")))
                printf(" at log position %lld; late data: %lld event(s)",
                       (long long) json_integer_value(json_object_get(one, "lock_seq")),
                       (long long) json_integer_value(json_object_get(one, "late_events")));
            printf("\n");
            json_array_foreach(json_object_get(one, "history"), i, p) {
                const char *by = json_string_value(json_object_get(p, "by"));
                const char *why = json_string_value(json_object_get(p, "reason"));
                printf("  %s  %-8s %s -> %s  by %s (log position %lld)%s%s\n",
                       json_string_value(json_object_get(p, "at")),
                       json_string_value(json_object_get(p, "action")),
                       json_string_value(json_object_get(p, "from")),
                       json_string_value(json_object_get(p, "to")), by ? by : "the förbund (agent)",
                       (long long) json_integer_value(json_object_get(p, "seq")), why ? "; reason: " : "",
                       why ? why : "");
            }
        }
    } else if (!strcmp(o.format, "json")) {
        json_dumpf(all, stdout, JSON_INDENT(2));
        printf("\n");
    } else {
        printf("%-8s %-8s %-10s %-9s %-11s %s\n", "förbund", "period", "state", "locked", "late_events",
               "changed");
        size_t i;
        json_t *p;
        json_array_foreach(periods, i, p)
            s_print_period(p);
    }
    json_decref(all);
    return 0;
}

/* How long headless Chromium may take to print the report. */
#define REPORT_PDF_TIMEOUT_MS 120000

/* One edition of the report (forbund NULL: the national one) into `out`
 * (NULL: stdout, html only). 0 or the exit status, the reason in r->err. */
static int s_report_edition(s_read_t *r, const char *forbund, const char *out)
{
    bool pdf = !strcmp(o.format, "pdf");
    char html[4400] = "";
    FILE *f = stdout;
    if (pdf) {
        snprintf(html, sizeof html, "%s.html-XXXXXX", out);
        int fd = mkstemp(html);
        f = fd >= 0 ? fdopen(fd, "w") : NULL;
    } else if (out) {
        f = fopen(out, "w");
    }
    if (!f) {
        snprintf(r->err, sizeof r->err, "%.1500s: %s", pdf ? html : out, strerror(errno));
        return EX_CANTCREAT;
    }
    annual_request_t req = {(int) o.year, forbund, o.lang};
    annual_info_t info;
    fin_err_t code = annual_html(r->ledger, r->cat, &req, f, &info, r->err, sizeof r->err);
    if (f != stdout && fclose(f) != 0 && !code)
        code = fin_fail(r->err, sizeof r->err, FIN_EIO, "%s: write failed", pdf ? html : out);
    if (!code && pdf) {
        /* A PDF that takes the HTML's name: the browser reads it by URL. */
        char named[4300];
        snprintf(named, sizeof named, "%s.html", out);
        if (rename(html, named) == 0)
            snprintf(html, sizeof html, "%s", named);
        code = pdf_print(html, out, REPORT_PDF_TIMEOUT_MS, r->err, sizeof r->err);
    }
    if (html[0])
        unlink(html);
    if (code)
        return code == FIN_EINPUT              ? EX_DATAERR
               : code == FIN_ENOTFOUND && !pdf ? EX_DATAERR
                                               : fin_exit_code(code);
    if (out)
        printf("report: %s: year=%d edition=%s pages=%d approved_forbund=%d withheld_rows=%d seconds=%.3f\n",
               out, req.year, forbund ? forbund : "national", info.pages, info.approved, info.withheld,
               info.seconds);
    return 0;
}

typedef struct {
    char (*codes)[LEDGER_FORBUND_LEN + 1];
    size_t n, cap;
} s_codes_t;

static int s_collect_approved(const approval_t *a, void *arg)
{
    s_codes_t *c = arg;
    if (a->state != APPROVAL_APPROVED || a->half != 0)
        return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 32;
        void *grown = realloc(c->codes, cap * sizeof *c->codes);
        if (!grown)
            return ENOMEM;
        c->codes = grown;
        c->cap = cap;
    }
    snprintf(c->codes[c->n++], sizeof *c->codes, "%s", a->forbund);
    return 0;
}

/* report --year Y [--forbund F | --all] [--lang sv|en] --format html|pdf [--out FILE|DIR] */
static int s_report(void)
{
    bool pdf = !strcmp(o.format, "pdf");
    if (!o.year || (!pdf && strcmp(o.format, "html")) || (pdf && !o.out) ||
        (o.all && (!o.out || o.forbund))) {
        fprintf(stderr, "Usage: finsamctl report --year YYYY [--forbund F] [--lang sv|en] --format html|pdf "
                        "[--out FILE] (pdf needs --out)\n"
                        "       finsamctl report --year YYYY --all --format html|pdf --out DIR (the national "
                        "edition and one per approved förbund)\n");
        return EX_USAGE;
    }
    s_read_t r = {0};
    int rc = s_read_open(&r);
    if (rc)
        return s_read_close(&r, "report", rc);
    if (!o.all)
        return s_read_close(&r, "report", s_report_edition(&r, o.forbund, o.out));
    /* Year end in one command: DIR/YEAR.EXT and DIR/YEAR-CODE.EXT for every
     * förbund whose year is approved (the national edition names the rest). */
    if (mkdir_p(o.out, 0755) < 0) {
        snprintf(r.err, sizeof r.err, "%.1500s: %s", o.out, strerror(errno));
        return s_read_close(&r, "report", EX_CANTCREAT);
    }
    s_codes_t codes = {0};
    MDB_txn *txn;
    int mrc = store_read(ledger_store(r.ledger), &txn);
    if (!mrc) {
        mrc = approval_each(txn, r.ledger, NULL, (int) o.year, s_collect_approved, &codes);
        store_read_end(ledger_store(r.ledger), txn);
    }
    if (mrc) {
        free(codes.codes);
        snprintf(r.err, sizeof r.err, "approvals: %s", store_strerror(mrc));
        return s_read_close(&r, "report", EX_IOERR);
    }
    const char *ext = pdf ? "pdf" : "html";
    char path[4400];
    snprintf(path, sizeof path, "%s/%ld.%s", o.out, o.year, ext);
    rc = s_report_edition(&r, NULL, path);
    for (size_t i = 0; !rc && i < codes.n; i++) {
        snprintf(path, sizeof path, "%s/%ld-%s.%s", o.out, o.year, codes.codes[i], ext);
        rc = s_report_edition(&r, codes.codes[i], path);
    }
    free(codes.codes);
    return s_read_close(&r, "report", rc);
}

/* migrate: the one command that opens a store of the previous schema. */
static int s_migrate(void)
{
    char path[4096], err[1024];
    catalogue_t *cat;
    if (catalogue_load(&cat, o.catalogue, err, sizeof err) < 0) {
        fprintf(stderr, "finsamctl: catalogue: %s\n", err);
        return EX_CONFIG;
    }
    snprintf(path, sizeof path, "%s/ledger", o.data_dir);
    migrate_report_t r;
    fin_err_t rc = migrate_run(path, cat, &r, err, sizeof err);
    catalogue_destroy(&cat);
    if (rc) {
        fprintf(stderr, "finsamctl: migrate: %s\n", err);
        return fin_exit_code(rc);
    }
    if (r.migrated)
        printf("migrate: %s from schema version %u to %d: events_replayed=%llu seconds=%.3f\n", path,
               r.from == LEDGER_SCHEMA_MIGRATING ? LEDGER_SCHEMA_PREVIOUS : r.from, LEDGER_SCHEMA_VERSION,
               (unsigned long long) r.events, r.seconds);
    else
        printf("migrate: %s is already at schema version %d; nothing to do\n", path, LEDGER_SCHEMA_VERSION);
    return 0;
}

static volatile sig_atomic_t s_stop;

static bool s_valid_forbund(const char *value)
{
    return code_is_valid(value, 8);
}

static bool s_valid_access(const char *value)
{
    return !strcmp(value, "all") || !strcmp(value, "aggregates");
}

/* check-config (common/check.h): what finsamctl's commands read, opened
 * read-only; the same checks of the data directory as the collector's. */
static int s_check_config(const char *config)
{
    check_t c;
    char path[4200];
    check_init(&c, s_spec.prog, config);
    check_data_dir(&c, "data directory", o.data_dir, false, false, "finsam-collector keygen creates it");
    snprintf(path, sizeof path, "%s/agents", o.data_dir);
    check_cert_dir(&c, "agent allow-list", o.allow_dir ? o.allow_dir : path, "forbund", s_valid_forbund,
                   false);
    snprintf(path, sizeof path, "%s/subscribers", o.data_dir);
    check_cert_dir(&c, "subscriber allow-list", path, "access", s_valid_access, true);
    datadir_check_catalogue(&c, o.catalogue);
    datadir_check_store(&c, o.data_dir);
    /* tail's keys: checked when named or present (only tail needs them). */
    snprintf(path, sizeof path, "%s/keys/collector.key", o.data_dir);
    const char *server_key = o.server_key ? o.server_key : path;
    if (o.server_key || access(server_key, F_OK) == 0)
        check_public_cert(&c, "tail: collector public key", server_key,
                          "copy the collector's keys/collector.key");
    char key[4200];
    snprintf(key, sizeof key, "%s/keys/subscriber.key_secret", o.data_dir);
    const char *sub_key = o.key ? o.key : key;
    if (o.key || access(sub_key, F_OK) == 0)
        check_secret_file(&c, "tail: subscriber secret key", sub_key, true,
                          "finsamctl keygen PATH --access all|aggregates");
    return check_finish(&c);
}

static int s_tail(const char *prefix)
{
    char key[4096], server_key[4096];
    snprintf(key, sizeof key, "%s/keys/subscriber.key_secret", o.data_dir);
    snprintf(server_key, sizeof server_key, "%s/keys/collector.key", o.data_dir);
    tail_config_t config = {o.stream,
                            o.replay,
                            o.key ? o.key : key,
                            o.server_key ? o.server_key : server_key,
                            prefix,
                            o.from != NULL,
                            0,
                            !strcmp(o.format, "json"),
                            o.count,
                            (int) o.idle_exit_ms};
    /* A key file that is not there is configuration to finish (78), never
     * "refused: No such file or directory"; one others may read is
     * refused (77) by tail_run. */
    if (access(config.key_file, F_OK) < 0) {
        fprintf(stderr,
                "finsamctl: tail: no such file: %s; run finsamctl keygen PATH --access all|aggregates "
                "and list PATH in the collector's DATA/subscribers/\n",
                config.key_file);
        return EX_CONFIG;
    }
    if (access(config.server_key_file, F_OK) < 0) {
        fprintf(stderr, "finsamctl: tail: no such file: %s; copy the collector's keys/collector.key there\n",
                config.server_key_file);
        return EX_CONFIG;
    }
    if (o.from) {
        char *end;
        config.from_seq = strtoull(o.from, &end, 10);
        if (*end || !*o.from) {
            fprintf(stderr, "finsamctl: tail: --from: not a sequence number: %s\n", o.from);
            return EX_USAGE;
        }
    }
    zsys_init();
    prologue_signals(&s_stop);
    /* The exit statuses --help documents for tail. */
    switch (tail_run(&config, &s_stop, stdout)) {
    case FIN_OK: return EX_OK;
    case FIN_EPERM: return EX_NOPERM;
    case FIN_EINPUT: return EX_PROTOCOL;
    case FIN_ECONFIG: return EX_CONFIG;
    default: return EX_UNAVAILABLE;
    }
}

/* The --config FILE read, for check-config (NULL: none). */
static const char *s_config_file;
static const opt_own_t s_own = {NULL, &s_config_file, NULL};
static const prologue_t s_prologue = {&s_spec, &s_own, (const char *const *) &o.log_level};

int main(int argc, char **argv)
{
    int first, status;
    if (!prologue_run(&s_prologue, argc, argv, &first, &status))
        return status;
    if (first >= argc) {
        fprintf(stderr, "Usage: %s (try --help)\n", s_spec.usage);
        return EX_USAGE;
    }
    const char *cmd = argv[first];
    if (!strcmp(cmd, "check-config") && first + 1 == argc)
        return s_check_config(s_config_file);
    if (!strcmp(cmd, "status"))
        return s_status();
    if (!strcmp(cmd, "query"))
        return s_query();
    if (!strcmp(cmd, "protection"))
        return s_protection();
    if (!strcmp(cmd, "export"))
        return s_export();
    if (!strcmp(cmd, "rebuild"))
        return s_rebuild();
    if (!strcmp(cmd, "tail"))
        return s_tail(first + 1 < argc ? argv[first + 1] : "ev.");
    if (!strcmp(cmd, "forbund")) {
        forbund_opts_t fo = {o.data_dir, o.catalogue, o.name, o.lan, o.format};
        return forbund_cmd(&fo, argv + first + 1, argc - first - 1, stdout);
    }
    if (!strcmp(cmd, "migrate"))
        return s_migrate();
    if (!strcmp(cmd, "approve"))
        return s_approve(APPROVAL_APPROVE, argc - first - 1, argv + first + 1);
    if (!strcmp(cmd, "reopen"))
        return s_approve(APPROVAL_REOPEN, argc - first - 1, argv + first + 1);
    if (!strcmp(cmd, "approval"))
        return s_approval(argc - first - 1, argv + first + 1);
    if (!strcmp(cmd, "report") && first + 1 == argc)
        return s_report();
    if (!strcmp(cmd, "erase"))
        return s_erase(first + 1 < argc ? argv[first + 1] : NULL);
    if (!strcmp(cmd, "keygen") && first + 1 < argc) {
        char err[512];
        if (o.access && strcmp(o.access, "all") && strcmp(o.access, "aggregates")) {
            fprintf(stderr, "finsamctl: keygen: --access must be all or aggregates\n");
            return EX_USAGE;
        }
        if (keys_generate_meta(argv[first + 1], o.name,
                               o.access    ? "access"
                               : o.forbund ? "forbund"
                                           : NULL,
                               o.access ? o.access : o.forbund, err, sizeof err) < 0) {
            fprintf(stderr, "finsamctl: keygen: %s\n", err);
            return EX_CANTCREAT;
        }
        printf("%s\n%s_secret\n", argv[first + 1], argv[first + 1]);
        return 0;
    }
    if (!strcmp(cmd, "backup") && first + 1 < argc) {
        ledger_t *ledger;
        int rc = s_open(&ledger);
        if (rc)
            return rc;
        rc = store_backup(ledger_store(ledger), argv[first + 1]);
        ledger_close(&ledger);
        if (rc) {
            fprintf(stderr, "finsamctl: backup: %s: %s\n", argv[first + 1], store_strerror(rc));
            return EX_IOERR;
        }
        printf("backup written to %s\n", argv[first + 1]);
        return 0;
    }
    fprintf(stderr, "Usage: %s (try --help)\n", s_spec.usage);
    return EX_USAGE;
}
