/* cmd_withdraw.c: finsam-agent withdraw: takes back rows a förbund sent by
 * mistake, as Retraction events (docs/protocol.md): the collector
 * subtracts each target's contribution exactly, and a rebuild from its log
 * gives the same cells.
 *
 *   withdraw import N|FILE-NO|REPORT
 *                              every event import N queued (the number the
 *                              import's report prints); a spool file
 *                              number (000003, with leading zeros) is
 *                              looked up in --spool DIR's reports/, and a
 *                              spool report or a saved report is read for
 *                              its "import N". A report of a file that
 *                              stored nothing new (every row there
 *                              before, rejected, a dry run) has nothing
 *                              to take back: said so, exit 0.
 *   withdraw response-id ID..  the latest event of each response id (rows
 *                              imported with a response-id column)
 *
 * Staff read the first line of the output (Swedish, or English with
 * --lang en); the key=value line after it is for scripts.
 *
 * The design decision: the outbox keeps, per import, only the event ids it
 * queued, and per response id only a keyed hash (import_response_key):
 * nothing here can tell who a row was about. A Retraction's id is
 * deterministic (the target's month prefix, then 12 bytes of a keyed hash
 * of the target), so repeating the command adds nothing. The retractions
 * of one command are queued in one transaction, with the natural keys of
 * their targets forgotten (outbox_withdraw). The outbox remembers which
 * natural key named which withdrawn id (still a keyed hash, never the
 * response id), so the same command again finds its targets, queues
 * nothing and says "already withdrawn" with exit 0.
 *
 * Not done: erasing the bytes (that is `erase`), withdrawing status rows
 * by response id (their key is the phase, not an instrument), following a
 * target that a later import corrected (the collector then refuses the
 * retraction as "already retracted or corrected"; withdraw the later
 * import or response id instead). */
#include "cli.h"

#include "codec.h"
#include "import.h"
#include "log.h"
#include "report_text.h"
#include "util.h"
#include "validate.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

typedef struct {
    uint8_t (*ids)[ANON_ID_LEN];
    size_t n, cap;
} s_targets_t;

static int s_add(const uint8_t id[OUTBOX_ID_LEN], void *arg)
{
    s_targets_t *t = arg;
    for (size_t i = 0; i < t->n; i++)
        if (!memcmp(t->ids[i], id, ANON_ID_LEN))
            return 0;
    if (t->n == t->cap) {
        void *grown = array_grow(t->ids, &t->cap, ANON_ID_LEN, 64);
        if (!grown)
            return -1;
        t->ids = grown;
    }
    memcpy(t->ids[t->n++], id, ANON_ID_LEN);
    return 0;
}

/* The Retraction of target, validated as the collector will; caller frees. */
static uint8_t *s_build(const anon_t *anon, const catalogue_t *cat, const char *forbund,
                        const uint8_t target[ANON_ID_LEN], int64_t now_s, outbox_item_t *it, char *err,
                        size_t errlen)
{
    uint8_t h[ANON_HASH_LEN];
    anon_hash(anon, "finsam-retraction", target, ANON_ID_LEN, h);
    memcpy(it->id, target, 4);
    memcpy(it->id + 4, h, ANON_ID_LEN - 4);
    Finsam__V1__Retraction r = FINSAM__V1__RETRACTION__INIT;
    r.target_id = (ProtobufCBinaryData){ANON_ID_LEN, (uint8_t *) target};
    Finsam__V1__Event ev = FINSAM__V1__EVENT__INIT;
    ev.id = (ProtobufCBinaryData){ANON_ID_LEN, it->id};
    ev.forbund = (char *) forbund;
    ev.occurred_at = anon_this_month(now_s);
    ev.catalogue_version = cat->version;
    ev.body_case = FINSAM__V1__EVENT__BODY_RETRACTION;
    ev.retraction = &r;
    uint8_t *bytes = codec_pack(&ev.base, &it->len);
    if (!bytes) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    event_msg_t *msg = NULL;
    char why[256];
    reject_code_t rj = codec_decode_event(bytes, it->len, &msg, why, sizeof why);
    if (rj == FINSAM__V1__REJECT_CODE__REJECT_NONE)
        rj = validate_event(cat, msg, forbund, now_s, why, sizeof why);
    codec_free_event(&msg);
    if (rj != FINSAM__V1__REJECT_CODE__REJECT_NONE) {
        snprintf(err, errlen, "the retraction is not valid: %s: %s", codec_reject_name(rj), why);
        free(bytes);
        return NULL;
    }
    /* Content hashes only matter for natural keys, which it has none of. */
    anon_hash(anon, "finsam-retraction-content", bytes, it->len, it->content);
    it->bytes = bytes;
    return bytes;
}

/* Digits only, and at least one. */
static bool s_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isdigit((unsigned char) *s))
            return false;
    return true;
}

/* A spool file number as the spool writes it ("000003": digits with a
 * leading zero, as in DIR/reports/000003-done.txt), or 0. An import
 * number is never written so. */
static long s_file_no(const char *arg)
{
    if (arg[0] != '0' || !s_digits(arg) || strlen(arg) > 18)
        return 0;
    return strtol(arg, NULL, 10);
}

/* What a report file says about its import. */
typedef enum {
    S_REPORT_NONE,       /* not a report (or not readable) */
    S_REPORT_IMPORT,     /* it names its import number */
    S_REPORT_NOTHING,    /* imported, but every row was there (or withdrawn) before */
    S_REPORT_UNSTORED,   /* not stored: rejected, a dry run, or the outbox failed */
    S_REPORT_NUMBERLESS, /* stored, but names no import number (an agent before them) */
} s_report_t;

/* Reads a spool report or a saved import summary for "import N". */
static s_report_t s_read_report(const char *path, uint64_t *no)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return S_REPORT_NONE;
    char line[1024];
    bool head = false, summary = false, unstored = false, stored = false;
    while (fgets(line, sizeof line, f)) {
        const char *p;
        unsigned long long n;
        size_t accepted, rejected;
        if ((p = strstr(line, ": import ")) && sscanf(p + 9, "%llu", &n) == 1 && n > 0) {
            fclose(f);
            *no = n;
            return S_REPORT_IMPORT;
        }
        if (!strncmp(line, "finsam-agent import report", 26))
            head = true;
        /* The spool's head, and the last line of a rejected file, a dry
         * run or an outbox failure, in either language. */
        if (strstr(line, "result: not imported") || strstr(line, ": nothing stored") ||
            strstr(line, ": inget sparades"))
            unstored = true;
        if ((p = strstr(line, ": rows=")) &&
            sscanf(p, ": rows=%*u accepted=%zu already_imported=%*u corrected=%*u rejected=%zu", &accepted,
                   &rejected) == 2) {
            summary = true;
            stored = accepted > 0;
            if (rejected)
                unstored = true;
        }
    }
    fclose(f);
    if (!head && !summary)
        return S_REPORT_NONE;
    if (unstored)
        return S_REPORT_UNSTORED;
    return summary && !stored ? S_REPORT_NOTHING : S_REPORT_NUMBERLESS;
}

/* DIR/reports/NNNNNN-done.txt (or -rejected.txt) of spool file number no,
 * into out; false when --spool is not set or neither exists. */
static bool s_spool_report(long no, char *out, size_t len)
{
    if (!o.spool)
        return false;
    snprintf(out, len, "%s/reports/%06ld-done.txt", o.spool, no);
    if (access(out, F_OK) == 0)
        return true;
    snprintf(out, len, "%s/reports/%06ld-rejected.txt", o.spool, no);
    return access(out, F_OK) == 0;
}

/* The import that `withdraw import ARG` names, in *no; or, when there is
 * none, why, printed, and the exit status (0: the file stored nothing,
 * so there is nothing to take back). */
static int s_resolve(const char *arg, bool en, uint64_t *no)
{
    *no = 0;
    if (s_digits(arg) && arg[0] != '0') {
        errno = 0;
        unsigned long long n = strtoull(arg, NULL, 10);
        if (!errno) {
            *no = n;
            return 0;
        }
    }
    char path[4096], label[64];
    const char *report = arg;
    long file_no = s_file_no(arg);
    if (file_no > 0) {
        if (!o.spool) {
            fprintf(stderr,
                    en ? "finsam-agent: withdraw: %s is a file number of the spool: name the spool "
                         "(--spool DIR, or spool = DIR in the config) or give its report "
                         "(DIR/reports/%s-done.txt)\n"
                       : "finsam-agent: withdraw: %s är ett filnummer i inkorgen: ange inkorgen "
                         "(--spool KATALOG, eller spool = KATALOG i inställningarna) eller filens rapport "
                         "(KATALOG/reports/%s-done.txt)\n",
                    arg, arg);
            return EX_USAGE;
        }
        if (!s_spool_report(file_no, path, sizeof path)) {
            fprintf(
                stderr,
                en ? "finsam-agent: withdraw: file %06ld: no report in %s/reports (is that the spool?)\n"
                   : "finsam-agent: withdraw: fil %06ld: ingen rapport i %s/reports (är det rätt inkorg?)\n",
                file_no, o.spool);
            return EX_DATAERR;
        }
        report = path;
        snprintf(label, sizeof label, en ? "file %06ld" : "fil %06ld", file_no);
    } else {
        snprintf(label, sizeof label, "%.60s", arg);
    }
    switch (s_read_report(report, no)) {
    case S_REPORT_IMPORT:
        if (file_no > 0)
            printf(en ? "%s is import %llu\n" : "%s är import %llu\n", label, (unsigned long long) *no);
        return 0;
    case S_REPORT_NOTHING:
        printf(en ? "%s: every row was there before (sent by an earlier import, or withdrawn), so this file "
                    "stored nothing new: there is nothing of it to take back. To take those rows back, "
                    "withdraw the import that sent them (its report names it) or the rows by response id\n"
                  : "%s: alla rader fanns redan (skickade av en tidigare import, eller tillbakatagna), så "
                    "filen sparade inget nytt: det finns inget av den att ta tillbaka. Vill ni ta tillbaka "
                    "raderna: ta tillbaka importen som skickade dem (dess rapport säger vilken) eller "
                    "raderna med svars-id\n",
               label);
        printf("withdraw: %s: nothing_stored=1 events=0 retractions_queued=0 already_withdrawn=0\n", arg);
        return 0;
    case S_REPORT_UNSTORED:
        printf(
            en ? "%s: this file was not imported (rejected, or a trial run): nothing of it was stored, "
                 "so there is nothing to take back\n"
               : "%s: filen importerades inte (avvisad, eller en provkörning): inget från den sparades, så "
                 "det finns inget att ta tillbaka\n",
            label);
        printf("withdraw: %s: nothing_stored=1 events=0 retractions_queued=0 already_withdrawn=0\n", arg);
        return 0;
    case S_REPORT_NUMBERLESS:
        fprintf(stderr,
                en ? "finsam-agent: withdraw: %s: the report names no import number (written by an older "
                     "agent?): withdraw its rows by response id\n"
                   : "finsam-agent: withdraw: %s: rapporten anger inget importnummer (skriven av en äldre "
                     "agent?): ta tillbaka raderna med svars-id\n",
                label);
        return EX_DATAERR;
    case S_REPORT_NONE: break;
    }
    fprintf(stderr,
            en ? "finsam-agent: withdraw: %s: not an import number, a file number (000003) or an import "
                 "report\n"
               : "finsam-agent: withdraw: %s: inte ett importnummer, ett filnummer (000003) eller en "
                 "importrapport\n",
            arg);
    return EX_DATAERR;
}

/* Import no is not known here: says so, and when a spool file of that
 * number is, which import that file was (staff mix the two up). */
static void s_unknown_import(uint64_t no, bool en)
{
    fprintf(stderr,
            en ? "finsam-agent: withdraw: import %llu is not known to this agent"
               : "finsam-agent: withdraw: import %llu finns inte hos den här agenten",
            (unsigned long long) no);
    char path[4096];
    uint64_t other = 0;
    if (no <= 999999 && s_spool_report((long) no, path, sizeof path) &&
        s_read_report(path, &other) == S_REPORT_IMPORT)
        fprintf(stderr,
                en ? "; file %06llu of the spool is import %llu: finsam-agent withdraw import %llu"
                   : "; fil %06llu i inkorgen är import %llu: finsam-agent withdraw import %llu",
                (unsigned long long) no, (unsigned long long) other, (unsigned long long) other);
    else if (no <= 999999)
        fprintf(stderr,
                en ? " (a file number of the spool is written with its zeros: withdraw import %06llu)"
                   : " (ett filnummer i inkorgen skrivs med nollorna: withdraw import %06llu)",
                (unsigned long long) no);
    fputc('\n', stderr);
}

/* The latest event of response id rid under any instrument, or, when a
 * withdrawal forgot its keys, the event it withdrew. Returns 0 (*found
 * counts the first kind, *again the second), or a sysexits code. */
static int s_by_response(outbox_t *ob, const anon_t *anon, const catalogue_t *cat, const char *rid,
                         s_targets_t *t, int *found, int *again)
{
    static const char *const kinds[] = {"participant_survey", "staff_survey", "organisation"};
    static const cat_instrument_kind_t ikinds[] = {INSTR_PARTICIPANT_SURVEY, INSTR_STAFF_SURVEY,
                                                   INSTR_ORGANISATION};
    char err[512];
    *found = *again = 0;
    for (int i = 0; i < cat->ninstruments; i++) {
        for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
            if (cat->instruments[i].kind != ikinds[k])
                continue;
            uint8_t nk[ANON_HASH_LEN], id[ANON_ID_LEN];
            import_response_key(anon, kinds[k], cat->instruments[i].code, rid, strlen(rid), nk);
            fin_err_t rc = outbox_natural_id(ob, nk, id, err, sizeof err);
            int *count = found;
            if (rc == FIN_ENOTFOUND) {
                /* Withdrawn before: its retraction is queued again, which
                 * adds nothing (the same id) and counts as already. */
                rc = outbox_withdrawn_id(ob, nk, id, err, sizeof err);
                count = again;
            }
            if (rc == FIN_ENOTFOUND)
                continue;
            if (rc) {
                fprintf(stderr, "finsam-agent: withdraw: outbox: %s\n", err);
                return EX_IOERR;
            }
            if (s_add(id, t) < 0) {
                fprintf(stderr, "finsam-agent: withdraw: out of memory\n");
                return EX_SOFTWARE;
            }
            (*count)++;
        }
    }
    return 0;
}

int cmd_withdraw(int argc, char **argv)
{
    char forbund[CODEC_FORBUND_MAX + 1], path[4096], err[1024];
    catalogue_t *cat = NULL;
    anon_t *anon = NULL;
    outbox_t *outbox = NULL;
    s_targets_t t = {0};
    outbox_item_t *items = NULL;
    uint8_t **bytes = NULL;
    bool *again = NULL;
    bool en = cli_lang() == REPORT_EN;
    bool by_import = argc == 2 && !strcmp(argv[0], "import");
    bool by_response = argc >= 2 && !strcmp(argv[0], "response-id");
    if (!by_import && !by_response) {
        fprintf(stderr,
                "Usage: finsam-agent withdraw import N|FILE-NO|REPORT-FILE | withdraw response-id ID...\n");
        return EX_USAGE;
    }
    uint64_t import_no = 0;
    int rc;
    if (by_import && ((rc = s_resolve(argv[1], en, &import_no)) || !import_no))
        return rc;
    /* Never create a data directory: a wrong --data-dir is not an empty outbox. */
    cli_path(path, sizeof path, "outbox/data.mdb");
    if (access(path, F_OK) < 0) {
        fprintf(stderr,
                en ? "finsam-agent: withdraw: %s: no outbox here (wrong --data-dir?)\n"
                   : "finsam-agent: withdraw: %s: ingen utkorg här (fel --data-dir?)\n",
                o.data_dir);
        return EX_NOINPUT;
    }
    if ((rc = cli_forbund(forbund, sizeof forbund)) || (rc = cli_load_catalogue(&cat)) ||
        (rc = cli_load_anon(&anon)) || (rc = cli_open_outbox(&outbox)))
        goto done;
    if (by_import) {
        fin_err_t ir = outbox_import_ids(outbox, import_no, s_add, &t, err, sizeof err);
        if (ir == FIN_ENOTFOUND) {
            s_unknown_import(import_no, en);
            rc = EX_DATAERR;
            goto done;
        }
        if (ir) {
            fprintf(stderr, "finsam-agent: withdraw: %s\n", err);
            rc = EX_IOERR;
            goto done;
        }
    } else {
        if (!(again = calloc((size_t) argc, sizeof *again))) {
            fprintf(stderr, "finsam-agent: withdraw: out of memory\n");
            rc = EX_SOFTWARE;
            goto done;
        }
        for (int i = 1; i < argc; i++) {
            int found, before;
            if ((rc = s_by_response(outbox, anon, cat, argv[i], &t, &found, &before)))
                goto done;
            if (!found && !before) {
                /* The id was typed here by the user; it is not repeated in the log. */
                fprintf(stderr,
                        en ? "finsam-agent: withdraw: response id %s: no row of this agent has it\n"
                           : "finsam-agent: withdraw: svars-id %s: ingen rad hos den här agenten har det\n",
                        argv[i]);
                rc = EX_DATAERR;
                goto done;
            }
            again[i] = !found;
        }
    }
    int64_t now_s = clock_wall_ms() / 1000;
    if (!(items = calloc(t.n ? t.n : 1, sizeof *items)) || !(bytes = calloc(t.n ? t.n : 1, sizeof *bytes))) {
        fprintf(stderr, "finsam-agent: withdraw: out of memory\n");
        rc = EX_SOFTWARE;
        goto done;
    }
    for (size_t i = 0; i < t.n; i++)
        if (!(bytes[i] = s_build(anon, cat, forbund, t.ids[i], now_s, &items[i], err, sizeof err))) {
            fprintf(stderr, "finsam-agent: withdraw: %s\n", err);
            rc = EX_SOFTWARE;
            goto done;
        }
    outbox_put_stats_t ps;
    if (outbox_withdraw(outbox, (const uint8_t(*)[OUTBOX_ID_LEN]) t.ids, items, t.n, &ps, err, sizeof err)) {
        fprintf(stderr, "finsam-agent: withdraw: outbox: %s\n", err);
        rc = EX_IOERR;
        goto done;
    }
    /* For staff first, then the line scripts read. The response ids were
     * typed here by the user; they go to the terminal, never to the log. */
    char what[128];
    if (by_import)
        snprintf(what, sizeof what, "import %llu", (unsigned long long) import_no);
    else if (argc == 2)
        snprintf(what, sizeof what, en ? "response id %.100s" : "svars-id %.100s", argv[1]);
    else
        snprintf(what, sizeof what, en ? "%d response ids" : "%d svars-id", argc - 1);
    /* Of several ids, those withdrawn before are named; one is the summary. */
    for (int i = 1; argc > 2 && again && i < argc; i++)
        if (again[i])
            printf(en ? "response id %s: already withdrawn\n" : "svars-id %s: redan tillbakatagen\n",
                   argv[i]);
    if (ps.added == 0)
        printf(en ? "%s: already withdrawn (%zu row(s)); nothing new is sent\n"
                  : "%s: redan tillbakatagen (%zu rad(er)); inget nytt skickas\n",
               what, t.n);
    else
        printf(en ? "%s: %zu row(s) taken back now (sent to the collector as withdrawals), %zu already "
                    "withdrawn before\n"
                  : "%s: %zu rad(er) tas tillbaka nu (skickas till insamlingsservern), %zu var redan "
                    "tillbakatagna\n",
               what, ps.added, ps.already);
    if (by_import)
        printf("withdraw: import %llu: events=%zu retractions_queued=%zu already_withdrawn=%zu\n",
               (unsigned long long) import_no, t.n, ps.added, ps.already);
    else
        printf("withdraw: response ids=%d: events=%zu retractions_queued=%zu already_withdrawn=%zu\n",
               argc - 1, t.n, ps.added, ps.already);
    log_info("withdraw", "WITHDRAWN import=%llu events=%zu queued=%zu already=%zu",
             (unsigned long long) import_no, t.n, ps.added, ps.already);
done:
    for (size_t i = 0; bytes && i < t.n; i++)
        free(bytes[i]);
    free(bytes);
    free(items);
    free(again);
    free(t.ids);
    outbox_close(&outbox);
    anon_destroy(&anon);
    catalogue_destroy(&cat);
    return rc;
}
