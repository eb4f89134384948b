/* cmd_withdraw.c: finsam-agent withdraw: takes back rows a förbund sent by
 * mistake, as Retraction events (docs/protocol.md): the collector
 * subtracts each target's contribution exactly, and a rebuild from its log
 * gives the same cells.
 *
 *   withdraw import N|REPORT   every event import N queued (the number the
 *                              import's report prints; a spool report or a
 *                              saved report file is read for it)
 *   withdraw response-id ID..  the latest event of each response id (rows
 *                              imported with a response-id column)
 *
 * The design decision: the outbox keeps, per import, only the event ids it
 * queued, and per response id only a keyed hash (import_response_key):
 * nothing here can tell who a row was about. A Retraction's id is
 * deterministic (the target's month prefix, then 12 bytes of a keyed hash
 * of the target), so repeating the command adds nothing. The retractions
 * of one command are queued in one transaction, with the natural keys of
 * their targets forgotten (outbox_withdraw).
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
#include "util.h"
#include "validate.h"

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

/* An import number, or a report file holding "import N". 0 if neither. */
static uint64_t s_import_no(const char *arg)
{
    char *end;
    errno = 0;
    unsigned long long n = strtoull(arg, &end, 10);
    if (!errno && end != arg && !*end)
        return n;
    FILE *f = fopen(arg, "r");
    if (!f)
        return 0;
    char line[1024];
    uint64_t found = 0;
    while (!found && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, ": import ");
        if (p && sscanf(p + 9, "%llu", &n) == 1)
            found = n;
    }
    fclose(f);
    return found;
}

/* The latest event of response id rid under any instrument. Returns 0 (found
 * or not: *found counts), or EX_IOERR. */
static int s_by_response(outbox_t *ob, const anon_t *anon, const catalogue_t *cat, const char *rid,
                         s_targets_t *t, int *found)
{
    static const char *const kinds[] = {"participant_survey", "staff_survey", "organisation"};
    static const cat_instrument_kind_t ikinds[] = {INSTR_PARTICIPANT_SURVEY, INSTR_STAFF_SURVEY,
                                                   INSTR_ORGANISATION};
    char err[512];
    *found = 0;
    for (int i = 0; i < cat->ninstruments; i++) {
        for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
            if (cat->instruments[i].kind != ikinds[k])
                continue;
            uint8_t nk[ANON_HASH_LEN], id[ANON_ID_LEN];
            import_response_key(anon, kinds[k], cat->instruments[i].code, rid, strlen(rid), nk);
            fin_err_t rc = outbox_natural_id(ob, nk, id, err, sizeof err);
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
            (*found)++;
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
    bool by_import = argc == 2 && !strcmp(argv[0], "import");
    bool by_response = argc >= 2 && !strcmp(argv[0], "response-id");
    if (!by_import && !by_response) {
        fprintf(stderr, "Usage: finsam-agent withdraw import N|REPORT-FILE | withdraw response-id ID...\n");
        return EX_USAGE;
    }
    uint64_t import_no = by_import ? s_import_no(argv[1]) : 0;
    if (by_import && !import_no) {
        fprintf(stderr,
                "finsam-agent: withdraw: %s: not an import number, nor a report that names one "
                "(\"import N\")\n",
                argv[1]);
        return EX_DATAERR;
    }
    /* Never create a data directory: a wrong --data-dir is not an empty outbox. */
    cli_path(path, sizeof path, "outbox/data.mdb");
    if (access(path, F_OK) < 0) {
        fprintf(stderr, "finsam-agent: withdraw: %s: no outbox here (wrong --data-dir?)\n", o.data_dir);
        return EX_NOINPUT;
    }
    int rc;
    if ((rc = cli_forbund(forbund, sizeof forbund)) || (rc = cli_load_catalogue(&cat)) ||
        (rc = cli_load_anon(&anon)) || (rc = cli_open_outbox(&outbox)))
        goto done;
    if (by_import) {
        fin_err_t ir = outbox_import_ids(outbox, import_no, s_add, &t, err, sizeof err);
        if (ir) {
            fprintf(stderr, "finsam-agent: withdraw: %s\n", err);
            rc = ir == FIN_ENOTFOUND ? EX_DATAERR : EX_IOERR;
            goto done;
        }
    } else {
        for (int i = 1; i < argc; i++) {
            int found;
            if ((rc = s_by_response(outbox, anon, cat, argv[i], &t, &found)))
                goto done;
            if (!found) {
                /* The id was typed here by the user; it is not repeated in the log. */
                fprintf(stderr, "finsam-agent: withdraw: response id %s: no row of this agent has it\n",
                        argv[i]);
                rc = EX_DATAERR;
                goto done;
            }
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
    free(t.ids);
    outbox_close(&outbox);
    anon_destroy(&anon);
    catalogue_destroy(&cat);
    return rc;
}
