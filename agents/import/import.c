/* import.c: rows -> events (see import.h and docs/import-jsonl.md).
 * row.c checks the fields and fills the event's body; this file gives the
 * event its id and natural key, checks it and keeps it until the commit.
 *
 * The design decision: a row is turned into a protobuf Event here, encoded,
 * and then decoded and validated again with the very functions the
 * collector uses (codec_decode_event, validate_event). What the outbox
 * stores is therefore known to pass the collector's checks for this
 * catalogue and förbund, and a bad row is reported at the site, with its
 * line, instead of as a rejection days later.
 *
 * Event ids are derived from content, not drawn at random: re-importing a
 * file yields the same ids, which the outbox recognises. The content is
 * the encoded event with an empty id and answers sorted by item, prefixed
 * with the original day, hashed under the site key.
 *
 * No free text leaves the site: every string of an event is an enum, a
 * catalogue code, or an insats code the site declared (insatser.h). An
 * error repeats a row's value only when it is provably not personal data
 * (a spelling of a declared code); otherwise it says "value not shown".
 *
 * Deliberately not done: guessing. A value that is not exactly what the
 * format says is an error with a reason; nothing is coerced. */
#include "import.h"

#include "codec.h"
#include "log.h"
#include "report_text.h"
#include "row.h"
#include "util.h"
#include "validate.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_DROPPED_NAMES 8

/* A correction found at the commit, for the report. */
typedef struct {
    long row;
    int32_t prior_day;
} s_correction_t;

struct import_t {
    row_ctx_t ctx; /* catalogue, key, insats codes, today */
    const char *forbund;
    int64_t now_s;
    /* The pending events: what outbox_put takes, as it takes it (no copy
     * of a large import's items at the commit); each item's bytes are
     * owned here. where[i]: where item i's row is, its line or its row in
     * the sheet. */
    outbox_item_t *items;
    long *where;
    size_t npending, cap;
    size_t dropped;
    size_t rows;         /* import_row calls */
    long line;           /* import_set_position: the next row's line or sheet row (0: rows) */
    char sheet[64];      /* import_set_position: the workbook's sheet, or "" */
    int32_t window_days; /* import_set_window */
    s_correction_t *corrections;
    size_t ncorrections, corrections_cap;
    uint64_t import_no;   /* the last commit's, 0: none */
    row_event_t *scratch; /* the row being built, reused (row_event_reset) */
    char dropped_names[S_MAX_DROPPED_NAMES * (CAT_CODE_MAX + 2)];
    int ndropped_names;
};

/* Counts a field the row's kind does not read, and lists its name. */
static void s_note_dropped_key(import_t *self, const char *key)
{
    self->dropped++;
    if (self->ndropped_names >= S_MAX_DROPPED_NAMES || !report_name_is_listable(key, CAT_CODE_MAX - 1) ||
        anon_looks_identifying(key))
        return;
    const char *p = self->dropped_names;
    size_t klen = strlen(key);
    while (*p) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t) (c - p) : strlen(p);
        if (len == klen && !strncmp(p, key, klen))
            return;
        p += len + (c ? 1 : 0);
    }
    size_t used = strlen(self->dropped_names);
    snprintf(self->dropped_names + used, sizeof self->dropped_names - used, "%s%s", used ? "," : "", key);
    self->ndropped_names++;
}

/* Notes the row's fields that its kind (row_build's set) leaves out. */
static void s_note_dropped(import_t *self, const import_prep_t *p)
{
    if (!p->json) {
        for (int f = 0; f < ROW_NFIELDS; f++)
            if (p->present & ~p->fields & (UINT32_C(1) << f))
                s_note_dropped_key(self, row_field_names[f]);
        return;
    }
    const char *key;
    json_t *v;
    json_object_foreach(p->json, key, v) {
        int f = row_field_of(key);
        if (f < 0 || !(p->fields & (UINT32_C(1) << f)))
            s_note_dropped_key(self, key);
    }
}

/* Natural key: keyed hash of (kind, pseudonym or zeros, instrument-or-phase, day). */
static void s_natural_key(import_t *self, const import_prep_t *b, int32_t days, uint8_t out[ANON_HASH_LEN])
{
    uint8_t buf[24 + 1 + ANON_PSEUDONYM_LEN + CAT_CODE_MAX + 1 + 4];
    size_t n = 0;
    size_t kl = strlen(b->natural_kind) + 1, wl = strlen(b->natural_what) + 1;
    memcpy(buf + n, b->natural_kind, kl);
    n += kl;
    bool person = b->body_case == FINSAM__V1__EVENT__BODY_PARTICIPANT_SURVEY ||
                  b->body_case == FINSAM__V1__EVENT__BODY_STATUS;
    if (person)
        memcpy(buf + n, b->pseudonym, ANON_PSEUDONYM_LEN);
    else
        memset(buf + n, 0, ANON_PSEUDONYM_LEN);
    n += ANON_PSEUDONYM_LEN;
    memcpy(buf + n, b->natural_what, wl);
    n += wl;
    be32_put(buf + n, (uint32_t) days);
    n += 4;
    anon_hash(self->ctx.anon, "finsam-natural-key", buf, n, out);
}

void import_response_key(const anon_t *anon, const char *kind, const char *what, const char *rid, size_t rlen,
                         uint8_t out[ANON_HASH_LEN])
{
    /* kind NUL what NUL rid: the parts cannot run into each other. */
    uint8_t buf[24 + CAT_CODE_MAX + 2 + IMPORT_RESPONSE_ID_MAX];
    size_t kl = strnlen(kind, 23) + 1, wl = strnlen(what, CAT_CODE_MAX - 1) + 1, n = 0;
    if (rlen > IMPORT_RESPONSE_ID_MAX)
        rlen = IMPORT_RESPONSE_ID_MAX;
    memcpy(buf, kind, kl - 1);
    buf[kl - 1] = 0;
    n += kl;
    memcpy(buf + n, what, wl - 1);
    buf[n + wl - 1] = 0;
    n += wl;
    memcpy(buf + n, rid, rlen);
    n += rlen;
    anon_hash(anon, "finsam-response-key", buf, n, out);
    sodium_memzero(buf, sizeof buf);
}

/* The day-free key of a person's row: (kind, pseudonym, what). */
static void s_window_key(import_t *self, const import_prep_t *b, uint8_t out[ANON_HASH_LEN])
{
    uint8_t buf[24 + 1 + ANON_PSEUDONYM_LEN + CAT_CODE_MAX + 1];
    size_t n = 0;
    size_t kl = strlen(b->natural_kind) + 1, wl = strlen(b->natural_what) + 1;
    memcpy(buf + n, b->natural_kind, kl);
    n += kl;
    memcpy(buf + n, b->pseudonym, ANON_PSEUDONYM_LEN);
    n += ANON_PSEUDONYM_LEN;
    memcpy(buf + n, b->natural_what, wl);
    n += wl;
    anon_hash(self->ctx.anon, "finsam-window-key", buf, n, out);
    sodium_memzero(buf, sizeof buf);
}

/* Sets the item's keys. With a response id, the row's identity is
 * (kind, instrument, response id), whatever else changed. Without one, a
 * person's row also gets a day-free key, so a changed day within the
 * window is a correction (outbox.h). */
static void s_keys(import_t *self, const import_prep_t *b, int32_t days, const char *rid, size_t rlen,
                   outbox_item_t *it)
{
    const char *kind = b->natural_kind, *what = b->natural_what;
    if (b->body_case == FINSAM__V1__EVENT__BODY_STAFF_SURVEY) {
        kind = "staff_survey";
        what = b->staff_instrument;
    }
    bool person = b->body_case == FINSAM__V1__EVENT__BODY_PARTICIPANT_SURVEY ||
                  b->body_case == FINSAM__V1__EVENT__BODY_STATUS;
    if (rlen && (b->has_natural || b->body_case == FINSAM__V1__EVENT__BODY_STAFF_SURVEY)) {
        it->has_natural = true;
        import_response_key(self->ctx.anon, kind, what, rid, rlen, it->natural);
        return;
    }
    it->has_natural = b->has_natural;
    if (b->has_natural)
        s_natural_key(self, b, days, it->natural);
    if (person && self->window_days > 0) {
        it->has_window = true;
        s_window_key(self, b, it->window);
        it->day = days;
        it->window_days = self->window_days;
    }
}

static int s_push(import_t *self, const import_prep_t *b, int32_t days, uint8_t *bytes, size_t len,
                  const uint8_t content[ANON_HASH_LEN], const char *rid, size_t rlen)
{
    if (self->npending == self->cap) {
        size_t cap = self->cap;
        outbox_item_t *items = array_grow(self->items, &cap, sizeof *items, 256);
        if (!items)
            return -1;
        self->items = items;
        cap = self->cap;
        long *where = array_grow(self->where, &cap, sizeof *where, 256);
        if (!where)
            return -1;
        self->where = where;
        self->cap = cap;
    }
    outbox_item_t *it = &self->items[self->npending];
    memset(it, 0, sizeof *it);
    memcpy(it->id, bytes + 2, ANON_ID_LEN);
    memcpy(it->content, content, ANON_HASH_LEN);
    self->where[self->npending] = self->line ? self->line : (long) self->rows;
    s_keys(self, b, days, rid, rlen, it);
    it->bytes = bytes;
    it->len = len;
    self->npending++;
    return 0;
}

void import_set_position(import_t *self, const char *sheet, long line)
{
    /* Called once a row: a plain copy, truncated as snprintf would. */
    size_t n = sheet ? strnlen(sheet, sizeof self->sheet - 1) : 0;
    memcpy(self->sheet, sheet ? sheet : "", n);
    self->sheet[n] = '\0';
    self->line = line;
}

/* The fields a typed row holds, bit (1 << row_field_t) each. */
static uint32_t s_present(const row_fields_t *r)
{
    uint32_t present = r->nanswers ? UINT32_C(1) << ROW_F_ANSWERS : 0;
    for (int f = 0; f < ROW_NFIELDS; f++)
        if (r->f[f].type != ROW_V_ABSENT)
            present |= UINT32_C(1) << f;
    return present;
}

int import_prepare(const import_t *self, const row_in_t *row, row_event_t *b, import_prep_t *p)
{
    row_err_t e = {p->field, sizeof p->field, p->why, sizeof p->why};
    p->rc = -1;
    p->bytes = NULL;
    p->json = row->json;
    p->present = row->cells ? s_present(row->cells) : 0;
    if (row->json && !json_is_object(row->json))
        return row_fail(&e, "row", "must be a JSON object");
    const char *kind;
    if (row_string(row, ROW_F_KIND, true, &kind, &e) < 0)
        return -1;
    int d = 0;
    if (row_date(&self->ctx, row, &p->y, &p->m, &d, &p->days, &e) < 0)
        return -1;

    row_event_reset(b);
    finsam__v1__event__init(&b->ev);
    b->ev.forbund = (char *) self->forbund;
    b->ev.occurred_at = anon_month_start(p->y, p->m);
    b->ev.catalogue_version = self->ctx.cat->version;
    int rc = row_build(&self->ctx, row, kind, p->y, b, &p->fields, &e);
    if (rc < 0)
        goto wipe;
    rc = -1;

    /* An optional site-local response id separates rows that are
     * otherwise identical (two anonymous staff answering alike on one day).
     * It is hashed, never sent. */
    row_value_t rid = row_get(row, ROW_F_RESPONSE_ID);
    if (rid.type != ROW_V_ABSENT && rid.type != ROW_V_NULL &&
        (rid.type != ROW_V_STRING || rid.len == 0 || rid.len > IMPORT_RESPONSE_ID_MAX)) {
        row_fail(&e, "response_id", "must be a string of 1-128 bytes");
        goto wipe;
    }
    p->rlen = rid.type == ROW_V_STRING ? rid.len : 0;
    if (p->rlen)
        memcpy(p->rid, rid.s, p->rlen);

    /* The event is packed once, with a placeholder id of the final length
     * (import_add hashes it and writes the id in). */
    uint8_t id[ANON_ID_LEN] = {0};
    b->ev.id = (ProtobufCBinaryData){ANON_ID_LEN, id};
    if (!(p->bytes = codec_pack(&b->ev.base, &p->len))) {
        row_fail(&e, "row", "out of memory");
        goto wipe;
    }
    if (p->len < 2 + ANON_ID_LEN || p->bytes[0] != 0x0a || p->bytes[1] != ANON_ID_LEN) {
        row_fail(&e, "row", "internal error: unexpected event encoding");
        free(p->bytes);
        p->bytes = NULL;
        goto wipe;
    }
    /* What the keys need of the body (s_keys). */
    p->body_case = b->ev.body_case;
    p->staff_instrument =
        p->body_case == FINSAM__V1__EVENT__BODY_STAFF_SURVEY ? b->ev.staff_survey->instrument : NULL;
    p->has_natural = b->has_natural;
    memcpy(p->natural_kind, b->natural_kind, sizeof p->natural_kind);
    memcpy(p->natural_what, b->natural_what, sizeof p->natural_what);
    memcpy(p->pseudonym, b->pseudonym, sizeof p->pseudonym);
    p->rc = rc = 0;
wipe:
    sodium_memzero(b->pseudonym, sizeof b->pseudonym);
    return rc;
}

int import_add(import_t *self, import_prep_t *p, char *field, size_t fieldlen, char *why, size_t whylen)
{
    row_err_t e = {field, fieldlen, why, whylen};
    self->rows++;
    if (p->rc < 0) {
        snprintf(field, fieldlen, "%s", p->field);
        snprintf(why, whylen, "%s", p->why);
        return -1;
    }
    int rc = -1;
    uint8_t *canon = NULL, *bytes = p->bytes;
    size_t len = p->len, rlen = p->rlen;
    p->bytes = NULL; /* ours now: queued, or freed below */

    /* The content hash is over the event with an EMPTY id, prefixed by
     * the day (and followed by the response id): field 1 (id, required)
     * is packed first, as 0x0a, length, bytes, so the empty-id encoding is
     * 0x0a 0x00 and then the rest of these bytes unchanged. The id is then
     * written into its place. */
    uint8_t content[ANON_HASH_LEN], id[ANON_ID_LEN];
    /* day, 0x0a 0x00, the rest, then 0x01 and the response id if any */
    size_t rest = len - 2 - ANON_ID_LEN, hlen = 4 + 2 + rest, need = hlen + 1 + rlen;
    uint8_t stackbuf[1024];
    uint8_t *c = need <= sizeof stackbuf ? stackbuf : (canon = malloc(need));
    if (!c) {
        row_fail(&e, "row", "out of memory");
        goto free_bytes;
    }
    be32_put(c, (uint32_t) p->days);
    c[4] = 0x0a;
    c[5] = 0x00;
    memcpy(c + 6, bytes + 2 + ANON_ID_LEN, rest);
    if (rlen) {
        c[hlen++] = 0x01;
        memcpy(c + hlen, p->rid, rlen);
        hlen += rlen;
    }
    anon_hash(self->ctx.anon, "finsam-event-id", c, hlen, content);
    anon_event_id(p->y, p->m, content, id);
    memcpy(bytes + 2, id, ANON_ID_LEN);

    /* Check with the collector's own functions before anything is kept. */
    event_msg_t *ev = NULL;
    char reason[256];
    reject_code_t rj = codec_decode_event(bytes, len, &ev, reason, sizeof reason);
    if (rj == FINSAM__V1__REJECT_CODE__REJECT_NONE)
        rj = validate_event(self->ctx.cat, ev, self->forbund, self->now_s, reason, sizeof reason);
    codec_free_event(&ev);
    if (rj != FINSAM__V1__REJECT_CODE__REJECT_NONE) {
        row_fail(&e, "event", "%s: %s", codec_reject_name(rj), reason);
        goto free_bytes;
    }
    if (s_push(self, p, p->days, bytes, len, content, rlen ? p->rid : NULL, rlen) < 0) {
        row_fail(&e, "row", "out of memory");
        goto free_bytes;
    }
    bytes = NULL; /* now owned by the pending set */
    s_note_dropped(self, p);
    rc = 0;
free_bytes:
    free(bytes);
    free(canon);
    sodium_memzero(p->pseudonym, sizeof p->pseudonym);
    return rc;
}

void import_prep_clear(import_prep_t *p)
{
    free(p->bytes);
    p->bytes = NULL;
    sodium_memzero(p->pseudonym, sizeof p->pseudonym);
}

/* import_row and import_row_fields: one row in either spelling, prepared
 * and added at once. */
static int s_row(import_t *self, const row_in_t *row, char *field, size_t fieldlen, char *why, size_t whylen)
{
    import_prep_t p;
    if (!self->scratch && !(self->scratch = calloc(1, sizeof *self->scratch))) {
        self->rows++;
        return row_fail(&(row_err_t){field, fieldlen, why, whylen}, "row", "out of memory");
    }
    import_prepare(self, row, self->scratch, &p);
    return import_add(self, &p, field, fieldlen, why, whylen);
}

int import_row(import_t *self, json_t *row, char *field, size_t fieldlen, char *why, size_t whylen)
{
    return s_row(self, &(row_in_t){.json = row}, field, fieldlen, why, whylen);
}

int import_row_fields(import_t *self, const row_fields_t *row, char *field, size_t fieldlen, char *why,
                      size_t whylen)
{
    return s_row(self, &(row_in_t){.cells = row}, field, fieldlen, why, whylen);
}

/* ---- import_t ---------------------------------------------------------- */

import_t *import_new(const catalogue_t *cat, const anon_t *anon, const char *forbund, int64_t now_s)
{
    import_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->ctx.cat = cat;
    self->ctx.anon = anon;
    self->forbund = forbund;
    self->now_s = now_s;
    /* No window for machine exports (JSON lines, the demo): they name their
     * own rows. Staff exports read through a mapping (CSV, workbooks) set
     * the mapping's window, IMPORT_WINDOW_DAYS by default. */
    self->window_days = 0;
    /* "Today" in Sweden: UTC plus the Stockholm offset of the month (see
     * anon_month_start); off by an hour at most on the two switch days. */
    int y, m, d;
    anon_civil_from_days((int32_t) (now_s / 86400), &y, &m, &d);
    int64_t local = now_s + ((m >= 4 && m <= 10) ? 7200 : 3600);
    self->ctx.today_days = (int32_t) (local / 86400);
    anon_civil_from_days(self->ctx.today_days, &self->ctx.today_y, &self->ctx.today_m, &self->ctx.today_d);
    return self;
}

static void s_clear(import_t *self)
{
    for (size_t i = 0; i < self->npending; i++)
        free((uint8_t *) self->items[i].bytes);
    self->npending = 0;
}

void import_destroy(import_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    import_t *self = *self_p;
    s_clear(self);
    free(self->items);
    free(self->where);
    free(self->corrections);
    free(self->scratch);
    free(self);
    *self_p = NULL;
}

void import_set_insatser(import_t *self, const insatser_t *insatser)
{
    self->ctx.insatser = insatser;
}

void import_set_window(import_t *self, int days)
{
    self->window_days = days < 0 ? IMPORT_WINDOW_DAYS : days;
}

uint64_t import_number(const import_t *self)
{
    return self->import_no;
}

/* Notes the commit's corrections, with the earlier day when known. */
static void s_note_corrections(import_t *self, const outbox_item_t *items)
{
    for (size_t i = 0; i < self->npending; i++) {
        if (items[i].result != OUTBOX_CORRECTION)
            continue;
        if (self->ncorrections == self->corrections_cap) {
            s_correction_t *grown = array_grow(self->corrections, &self->corrections_cap, sizeof *grown, 64);
            if (!grown)
                return; /* the report then lists fewer; the counts stay right */
            self->corrections = grown;
        }
        self->corrections[self->ncorrections++] = (s_correction_t){self->where[i], items[i].prior_day};
    }
}

size_t import_pending(const import_t *self)
{
    return self->npending;
}

const char *import_dropped_names(const import_t *self)
{
    return self->dropped_names;
}

fin_err_t import_commit(import_t *self, outbox_t *outbox, bool dry_run, import_stats_t *stats, char *err,
                        size_t errlen)
{
    if (self->npending == 0)
        return FIN_OK;
    outbox_item_t *items = self->items;
    outbox_put_stats_t ps;
    fin_err_t rc = outbox_put(outbox, items, self->npending, dry_run, &ps, err, errlen);
    if (rc) {
        /* Kept for another try as they were: outbox_put may have given a
         * change back an id of its own (outbox.c, s_rechain), which keeps
         * the month and replaces the rest of the id, here always the first
         * 12 bytes of the content hash (anon_event_id). */
        for (size_t i = 0; i < self->npending; i++)
            memcpy(items[i].id + 4, items[i].content, ANON_ID_LEN - 4);
        return rc;
    }
    s_note_corrections(self, items);
    if (ps.import_no)
        self->import_no = ps.import_no;
    stats->accepted += ps.added;
    stats->corrected += ps.corrected;
    stats->already += ps.already;
    stats->withdrawn += ps.withdrawn;
    s_clear(self);
    return FIN_OK;
}

/* ---- the import command ------------------------------------------------ */

void import_log_ref(const import_opts_t *o, const char *path, char *out, size_t outlen)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    uint8_t h[ANON_HASH_LEN];
    char hex[9];
    anon_hash(o->anon, "finsam-file-name", (const uint8_t *) base, strlen(base), h);
    hex_encode(hex, h, 4);
    if (o->spool_no > 0)
        snprintf(out, outlen, "spool_no=%ld name_hash=%s", o->spool_no, hex);
    else
        snprintf(out, outlen, "name_hash=%s", hex);
    sodium_memzero(h, sizeof h);
}

fin_err_t import_finish(import_t *self, const char *path, import_stats_t *st, const char *dropped_names,
                        const import_opts_t *o, char *err, size_t errlen)
{
    char ref[64];
    import_log_ref(o, path, ref, sizeof ref);
    const char *label = o->label ? o->label : path;
    if (!dropped_names) {
        st->dropped = self->dropped;
        dropped_names = self->dropped_names;
    }
    if (st->rejected == 0) {
        char why[512];
        fin_err_t orc = import_commit(self, o->outbox, o->dry_run, st, why, sizeof why);
        if (orc) {
            report_import_summary(o->report, o->lang, label,
                                  &(report_import_t){.rows = st->rows, .failed = true});
            fprintf(o->report,
                    o->lang == REPORT_EN ? "%s: outbox failure: nothing stored\n"
                                         : "%s: utkorgen kunde inte skrivas: inget sparades\n",
                    label);
            log_error("import", "IMPORT-FAILED %s reason=\"%s\"", ref, why);
            return fin_fail(err, errlen, orc, "%s: outbox: %s", label, why);
        }
    }
    report_import_summary(o->report, o->lang, label,
                          &(report_import_t){st->rows, st->rejected ? 0 : st->accepted, st->already,
                                             st->corrected, st->rejected, st->dropped, dropped_names,
                                             o->dry_run, false, st->rejected ? 0 : st->withdrawn});
    /* withdrawn_before came last, at the end, so parsers of the rest go on. */
    fprintf(o->report,
            "%s: rows=%zu accepted=%zu already_imported=%zu corrected=%zu rejected=%zu "
            "dropped_fields=%zu%s%s%s withdrawn_before=%zu\n",
            label, st->rows, st->rejected ? 0 : st->accepted, st->already, st->corrected, st->rejected,
            st->dropped,
            !*dropped_names              ? ""
            : strchr(dropped_names, ' ') ? " dropped=\""
                                         : " dropped=",
            dropped_names, strchr(dropped_names, ' ') ? "\"" : "", st->rejected ? 0 : st->withdrawn);
    for (size_t i = 0; !st->rejected && i < self->ncorrections; i++) {
        /* Where, as a rejected row is named (rejects.c): FILE:LINE, or
         * FILE: SHEET!ROW for a workbook. */
        char where[600];
        if (self->sheet[0])
            snprintf(where, sizeof where, "%s: %s!%ld", label, self->sheet, self->corrections[i].row);
        else
            snprintf(where, sizeof where, "%s:%ld", label, self->corrections[i].row);
        int y, m, d;
        if (self->corrections[i].prior_day < 0) { /* a response id: the earlier row's day is not kept */
            fprintf(o->report,
                    o->lang == REPORT_EN ? "%s: correction of a row imported before\n"
                                         : "%s: rättelse av en rad som importerats tidigare\n",
                    where);
            continue;
        }
        anon_civil_from_days(self->corrections[i].prior_day, &y, &m, &d);
        fprintf(o->report,
                o->lang == REPORT_EN ? "%s: correction of the answer imported on %04d-%02d-%02d\n"
                                     : "%s: rättelse av svaret som importerades %04d-%02d-%02d\n",
                where, y, m, d);
    }
    if (!st->rejected && !o->dry_run && self->import_no)
        fprintf(o->report,
                o->lang == REPORT_EN
                    ? "%s: import %llu (finsam-agent withdraw import %llu takes it back)\n"
                    : "%s: import %llu (finsam-agent withdraw import %llu tar tillbaka den)\n",
                label, (unsigned long long) self->import_no, (unsigned long long) self->import_no);
    if (st->rejected)
        fprintf(o->report,
                o->lang == REPORT_EN ? "%s: %zu row(s) rejected: nothing stored\n"
                                     : "%s: %zu rad(er) avvisade: inget sparades\n",
                label, st->rejected);
    else if (o->dry_run)
        fprintf(o->report,
                o->lang == REPORT_EN ? "%s: dry run: nothing stored\n" : "%s: provkörning: inget sparades\n",
                label);
    log_info("import",
             "IMPORT-DONE %s rows=%zu accepted=%zu already=%zu corrected=%zu rejected=%zu dry_run=%d "
             "withdrawn=%zu",
             ref, st->rows, st->rejected ? 0 : st->accepted, st->already, st->corrected, st->rejected,
             o->dry_run, st->rejected ? 0 : st->withdrawn);
    if (err && errlen)
        err[0] = '\0'; /* the rejected rows' reasons are on o->errors */
    return st->rejected ? FIN_EINPUT : FIN_OK;
}

fin_err_t import_refuse_file(const import_opts_t *o, const char *label, const char *ref, size_t rows,
                             const char *empty)
{
    bool en = o->lang == REPORT_EN;
    if (empty && en)
        fprintf(o->errors, "%s: header: the %s is empty (want a header row, then one row per answer)\n",
                label, empty);
    else if (empty)
        fprintf(o->errors, "%s: rubrikraden: %s (en rubrikrad behövs, sedan en rad per svar)\n", label,
                !strcmp(empty, "sheet") ? "bladet är tomt" : "filen är tom");
    fprintf(o->report, en ? "%s: not imported: nothing stored\n" : "%s: inte importerad: inget sparades\n",
            label);
    log_info("import", "IMPORT-DONE %s rows=%zu accepted=0 rejected=file dry_run=%d", ref, rows, o->dry_run);
    return FIN_EINPUT;
}
