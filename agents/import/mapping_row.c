/* mapping_row.c: applying a loaded mapping to one CSV file (see
 * mapping.h): binding it to the header row, then turning each record into
 * the canonical row, cell by cell: a JSON object (mapping_row) or typed
 * fields (mapping_fill, what CSV imports use), by one conversion
 * (s_convert) and the same checks in the same order.
 *
 * A cell of a mapped column is first checked whole for a direct
 * identifier (the column is then the wrong one), then trimmed and
 * translated: labels, decimal commas, date spellings (csvcell.h). Reasons
 * never repeat a cell's value, but for an unknown answer label: it is the
 * survey's wording, and the cell passed the identifier check first. Label lookups are linear: a mapping has a
 * few dozen labels and a row a few dozen cells, which is far below the
 * cost of hashing the event. */
#include "mapping_int.h"

#include "anonymize.h"
#include "csvcell.h"
#include "row.h"
#include "report_text.h"
#include "util.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- labels and cells -------------------------------------------------- */

mapping_labelset_t *mapping_labelset(const mapping_t *self, const char *name)
{
    for (size_t i = 0; i < self->nsets; i++)
        if (!strcmp(self->sets[i].name, name))
            return &self->sets[i];
    return NULL;
}

static const char *s_label_in(const mapping_labelset_t *ls, const char *norm)
{
    if (ls)
        for (size_t i = 0; i < ls->n; i++)
            if (!strcmp(ls->labels[i].from, norm))
                return ls->labels[i].to;
    return NULL;
}

static const char *s_label(const mapping_t *self, const char *set, const char *norm)
{
    return s_label_in(mapping_labelset(self, set), norm);
}

/* Converts one cell (or a [values] constant) of field f, whose labels are
 * `labels` ([labels.FIELD], or NULL), into *out: a string in text
 * (MAPPING_MAX_CELL + 1 bytes) or in the mapping (a label's value), an
 * integer, true or false. 0, or -1 with the reason in why. The one
 * conversion of both spellings of a row (mapping_convert, mapping_fill). */
static int s_convert(const mapping_field_t *f, const mapping_labelset_t *labels, const char *cell,
                     row_value_t *out, char *text, char *why, size_t whylen)
{
    char norm[MAPPING_MAX_CELL + 1];
    char *buf = text;
    if (csvcell_trim(cell, buf, MAPPING_MAX_CELL + 1) < 0) {
        snprintf(why, whylen, "longer than %d bytes", MAPPING_MAX_CELL);
        return -1;
    }
    long long v;
    bool frac, up;
    const char *to;
    *out = (row_value_t){ROW_V_STRING, buf, 0, 0};
    switch (f->type) {
    case MAPPING_F_PNR: {
        /* 1,98503E+11: Excel showed a number in its short form and saved
         * that; the digits are gone. */
        const char *e = buf;
        if (isdigit((unsigned char) e[0]) && (e[1] == ',' || e[1] == '.') && isdigit((unsigned char) e[2])) {
            for (e += 2; isdigit((unsigned char) *e); e++)
                ;
            if ((*e == 'E' || *e == 'e') && e[1] == '+' && isdigit((unsigned char) e[2])) {
                snprintf(why, whylen, MAPPING_EXCEL_WHY);
                return -1;
            }
        }
        /* 10712345: a number cell of 10 digits that began with 0 (born
         * 2000-2009, written YYMMDDNNNN) lost its leading zero. */
        if (strlen(buf) == 9 && strspn(buf, "0123456789") == 9) {
            snprintf(why, whylen, MAPPING_LOSTZERO_WHY);
            return -1;
        }
        /* "850312 1234": spaces are spelling, not content. */
        char *w = buf;
        for (char *r = buf; *r; r++)
            if (*r != ' ')
                *w++ = *r;
        *w = '\0';
        out->len = (size_t) (w - buf);
        return 0;
    }
    case MAPPING_F_DATE: {
        char iso[11];
        if (csvcell_date(buf, iso) < 0) {
            /* 46095: a date cell Excel saved as its serial number (days
             * since 1899-12-30; 36526 to 73050 are the years 2000-2099). */
            long serial = strspn(buf, "0123456789") == strlen(buf) && strlen(buf) == 5 ? atol(buf) : 0;
            snprintf(why, whylen,
                     serial >= 36526 && serial <= 73050 ? MAPPING_SERIAL_WHY
                                                        : "must be a date YYYY-MM-DD or D/M/YYYY");
            return -1;
        }
        memcpy(text, iso, sizeof iso);
        out->len = strlen(text);
        return 0;
    }
    case MAPPING_F_INT:
    case MAPPING_F_PCT:
        if (csvcell_number(buf, &v, &frac, &up) < 0 || (frac && f->type == MAPPING_F_INT)) {
            snprintf(why, whylen, "must be a whole number%s",
                     f->type == MAPPING_F_PCT ? " or a decimal number (37,5)" : "");
            return -1;
        }
        /* extent_pct is a share of 40 h/week: round half up. */
        if (f->type == MAPPING_F_PCT && up)
            v++;
        if (v < f->min || v > f->max) {
            snprintf(why, whylen, "must be between %lld and %lld", f->min, f->max);
            return -1;
        }
        *out = (row_value_t){ROW_V_INTEGER, NULL, 0, v};
        return 0;
    case MAPPING_F_BOOL:
        csvcell_norm(buf, norm, sizeof norm);
        to = s_label_in(labels, norm);
        if (to)
            csvcell_norm(to, norm, sizeof norm);
        if (!strcmp(norm, "true") || !strcmp(norm, "ja") || !strcmp(norm, "yes") || !strcmp(norm, "1")) {
            *out = (row_value_t){ROW_V_TRUE, NULL, 0, 0};
            return 0;
        }
        if (!strcmp(norm, "false") || !strcmp(norm, "nej") || !strcmp(norm, "no") || !strcmp(norm, "0")) {
            *out = (row_value_t){ROW_V_FALSE, NULL, 0, 0};
            return 0;
        }
        snprintf(why, whylen, "must be ja/nej (or a label in [labels.%s])", f->name);
        return -1;
    case MAPPING_F_STR:
        csvcell_norm(buf, norm, sizeof norm);
        to = s_label_in(labels, norm);
        if (to)
            out->s = to;
        out->len = strlen(out->s);
        return 0;
    }
    snprintf(why, whylen, "internal error: unknown field type");
    return -1;
}

json_t *mapping_convert(const mapping_t *self, const mapping_field_t *f, const char *cell, char *why,
                        size_t whylen)
{
    char text[MAPPING_MAX_CELL + 1];
    row_value_t v;
    if (s_convert(f, mapping_labelset(self, f->name), cell, &v, text, why, whylen) < 0)
        return NULL;
    switch (v.type) {
    case ROW_V_INTEGER: return json_integer(v.i);
    case ROW_V_TRUE: return json_true();
    case ROW_V_FALSE: return json_false();
    default: {
        json_t *s = json_string(v.s);
        if (!s && f->type == MAPPING_F_STR)
            snprintf(why, whylen, "is not valid UTF-8");
        return s;
    }
    }
}

/* True if the cell's label maps to nothing ("Vill ej uppge =" under
 * [labels.gender]): the field is then left out, as an empty cell is. */
static bool s_label_blank(const mapping_t *self, const mapping_field_t *f, const char *buf)
{
    char norm[MAPPING_MAX_CELL + 1];
    if (f->type != MAPPING_F_STR || csvcell_norm(buf, norm, sizeof norm) < 0)
        return false;
    const char *to = s_label(self, f->name, norm);
    return to && !*to;
}

/* ---- binding ----------------------------------------------------------- */

void mapping_unbind(mapping_t *self)
{
    for (size_t i = 0; i < self->nheaders; i++)
        free(self->headers[i]);
    free(self->headers);
    self->headers = NULL;
    self->nheaders = 0;
}

fin_err_t mapping_bind(mapping_t *self, const char *const *cells, size_t ncells, char *err, size_t errlen)
{
    static atomic_ulong s_bindings;
    self->binding = atomic_fetch_add(&s_bindings, 1) + 1; /* never 0: an empty memo's */
    mapping_unbind(self);
    self->unmapped_names[0] = '\0';
    if (!(self->headers = calloc(ncells ? ncells : 1, sizeof *self->headers)))
        return fin_fail(err, errlen, FIN_ENOMEM, "out of memory");
    self->nheaders = ncells;
    for (size_t i = 0; i < ncells; i++) {
        char buf[MAPPING_MAX_CELL + 1];
        if (csvcell_trim(cells[i], buf, sizeof buf) < 0)
            buf[0] = '\0';
        if (!(self->headers[i] = strdup(buf)))
            return fin_fail(err, errlen, FIN_ENOMEM, "out of memory");
    }
    bool *used = calloc(ncells ? ncells : 1, sizeof *used);
    if (!used)
        return fin_fail(err, errlen, FIN_ENOMEM, "out of memory");
    fin_err_t rc = FIN_EINPUT;
    int missing = 0; /* columns not in the header: all named at once */
    for (size_t c = 0; c < self->ncols; c++) {
        mapping_col_t *col = &self->cols[c];
        col->col = -1;
        col->own_labels = mapping_labelset(self, col->code);
        col->all_labels = mapping_labelset(self, "");
        int found = 0;
        char want[MAPPING_MAX_CELL + 1], have[MAPPING_MAX_CELL + 1];
        csvcell_norm(col->spec, want, sizeof want);
        for (size_t i = 0; i < ncells; i++) {
            bool match;
            if (col->number)
                match = (size_t) col->number == i + 1;
            else {
                csvcell_norm(self->headers[i], have, sizeof have);
                match = col->prefix ? !strncmp(have, want, strlen(want)) : !strcmp(have, want);
            }
            if (match) {
                found++;
                col->col = (int) i;
            }
        }
        if (found == 0) {
            /* A header name is a question, not personal data; one that
             * looks like an identifier is still never repeated. A header
             * of one column is a separator problem (csvimport.c says so). */
            const char *near = NULL;
            for (size_t i = 0; i < ncells && ncells > 1 && !near && !col->number; i++)
                if (csvcell_similar(col->spec, self->headers[i]) &&
                    !anon_contains_identifying(self->headers[i]))
                    near = self->headers[i];
            size_t len = missing && err ? strlen(err) : 0;
            if (err && len + 1 < errlen)
                snprintf(err + len, errlen - len, "%scolumn \"%s%s\" (for %s) is not in the header%s%.200s%s",
                         missing ? "; also " : "mapping: ", col->spec, col->prefix ? "*" : "", col->code,
                         near ? "; did you mean \"" : "", near ? near : "", near ? "\"?" : "");
            missing++;
            continue;
        }
        if (found > 1) {
            fin_fail(err, errlen, FIN_EINPUT,
                     "mapping: column \"%s%s\" (for %s) matches %d columns of the header", col->spec,
                     col->prefix ? "*" : "", col->code, found);
            goto free_used;
        }
        if (used[col->col]) {
            fin_fail(err, errlen, FIN_EINPUT, "mapping: column %d is mapped twice (%s)", col->col + 1,
                     col->code);
            goto free_used;
        }
        used[col->col] = true;
    }
    if (missing)
        goto free_used; /* the reasons are in err */
    /* Unmapped column names are listed only when a mapped column was found
     * by its header text: with #N alone, the "header" may be a first data
     * row, and its cells could be a name. */
    bool real_header = false;
    for (size_t c = 0; c < self->ncols; c++)
        real_header |= self->cols[c].number == 0;
    self->nunmapped = 0;
    int named = 0;
    for (size_t i = 0; i < ncells; i++) {
        if (used[i])
            continue;
        self->nunmapped++;
        size_t len = strlen(self->unmapped_names);
        if (real_header && named < MAPPING_MAX_NAMES &&
            report_name_is_listable(self->headers[i], CAT_CODE_MAX - 1) &&
            !anon_looks_identifying(self->headers[i])) {
            snprintf(self->unmapped_names + len, sizeof self->unmapped_names - len, "%s%s", len ? "," : "",
                     self->headers[i]);
            named++;
        } else if (len + 8 < sizeof self->unmapped_names) {
            /* A header that is not listed by its name (a question with
             * '?', a long one, the ninth) is named by its number: "#12". */
            snprintf(self->unmapped_names + len, sizeof self->unmapped_names - len, "%s#%zu", len ? "," : "",
                     i + 1);
        }
    }
    rc = FIN_OK;
free_used:
    free(used);
    return rc;
}

size_t mapping_ncolumns(const mapping_t *self)
{
    return self->nheaders;
}

size_t mapping_nunmapped(const mapping_t *self)
{
    return self->nunmapped;
}

const char *mapping_unmapped_names(const mapping_t *self)
{
    return self->unmapped_names;
}

int mapping_column_of(const mapping_t *self, const char *field)
{
    bool answer = !strncmp(field, "answers.", 8);
    const char *code = answer ? field + 8 : field;
    for (size_t i = 0; i < self->ncols; i++)
        if (!strcmp(self->cols[i].code, code) && (self->cols[i].field == NULL) == answer)
            return self->cols[i].col;
    return -1;
}

bool mapping_has_field(const mapping_t *self, const char *field)
{
    for (size_t i = 0; i < self->nvalues; i++)
        if (!strcmp(self->values[i].field->name, field))
            return true;
    for (size_t i = 0; i < self->ncols; i++)
        if (self->cols[i].field && !strcmp(self->cols[i].code, field))
            return true;
    return false;
}

const char *mapping_header_of_any(const mapping_t *self, int col)
{
    for (size_t i = 0; i < self->ncols; i++)
        if (self->cols[i].number == 0) /* found by its header text: the first line is a header */
            return col >= 0 && (size_t) col < self->nheaders ? self->headers[col] : "";
    return "";
}

const char *mapping_header(const mapping_t *self, int col)
{
    for (size_t i = 0; i < self->ncols; i++)
        if (self->cols[i].col == col && self->cols[i].number == 0)
            return col >= 0 && (size_t) col < self->nheaders ? self->headers[col] : "";
    return ""; /* a #N column: its header cell may be a data row's cell */
}

/* ---- rows -------------------------------------------------------------- */

#define S_IDENTIFYING                                                                                        \
    "looks like a personnummer, phone number or e-mail address; direct identifiers are not allowed here"

/* An answer cell: a label of the item, of [labels], of the catalogue's
 * scale, or a number. */
static int s_answer(const mapping_t *self, const mapping_col_t *c, const char *buf, long long *out, char *why,
                    size_t whylen)
{
    char norm[MAPPING_MAX_CELL + 1];
    csvcell_norm(buf, norm, sizeof norm);
    const char *to = s_label_in(c->own_labels, norm);
    if (!to)
        to = s_label_in(c->all_labels, norm);
    bool frac, up;
    if (to)
        return csvcell_number(to, out, &frac, &up); /* checked at load */
    const cat_scale_t *sc = c->scale;
    char lab[MAPPING_MAX_CELL + 1];
    for (int v = 0; sc->labels_sv && v < sc->nlabels; v++)
        if (sc->labels_sv[v] && sc->labels_sv[v][0] && csvcell_norm(sc->labels_sv[v], lab, sizeof lab) == 0 &&
            !strcmp(lab, norm)) {
            *out = v;
            return 0;
        }
    if (csvcell_number(buf, out, &frac, &up) == 0) {
        if (frac) {
            snprintf(why, whylen, "value outside scale %s (not a whole number)", sc->code);
            return -1;
        }
        /* A bare number on a labelled scale is a guess: a yes/no "0" would
         * be "don't know" and leave the denominator. "4,0" finds "4 = 4".
         * A number no value of the scale has is left to import_row's
         * "value outside scale". */
        char num[24];
        snprintf(num, sizeof num, "%lld", *out);
        if ((to = s_label_in(c->own_labels, num)) || (to = s_label_in(c->all_labels, num)))
            return csvcell_number(to, out, &frac, &up);
        bool on_scale = (*out >= sc->min && *out <= sc->max) || *out == sc->dont_know;
        if (on_scale && (!strcmp(sc->code, "yesno") || !strcmp(sc->code, "agree5"))) {
            snprintf(why, whylen, MAPPING_NUMBERS_WHY, !strcmp(sc->code, "yesno") ? "a yes/no" : "an agree5",
                     c->code,
                     !strcmp(sc->code, "yesno") ? "1 = Ja, 0 = Nej"
                                                : "5 = Stämmer helt, 1 = Stämmer inte alls");
            return -1;
        }
        return 0;
    }
    snprintf(why, whylen, MAPPING_LABEL_WHY " \"%.80s\" (map it in [labels] or [labels.%s])", buf, c->code);
    return -1;
}

/* The keys of a row are field names (the table in mapping.c) and
 * catalogue item codes, ASCII by construction: they are set without
 * jansson's UTF-8 check, which cost more than the rest of a set. */
json_t *mapping_row(const mapping_t *self, const char *const *cells, size_t ncells, int *col, char *why,
                    size_t whylen)
{
    *col = -1;
    json_t *row = json_object(), *answers = json_object();
    if (!row || !answers) {
        snprintf(why, whylen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < self->nvalues; i++)
        if (self->values[i].json) /* converted at load; shared by every row, which only reads it */
            json_object_set_nocheck(row, self->values[i].field->name, self->values[i].json);
        else
            json_object_set_new_nocheck(
                row, self->values[i].field->name,
                mapping_convert(self, self->values[i].field, self->values[i].text, why, whylen));
    for (size_t i = 0; i < self->ncols; i++) {
        const mapping_col_t *c = &self->cols[i];
        const char *cell = (size_t) c->col < ncells ? cells[c->col] : "";
        char buf[MAPPING_MAX_CELL + 1];
        *col = c->col;
        /* The whole cell, before any trimming or label lookup: an
         * identifier anywhere in it means the column is the wrong one.
         * Personnummer and dates hold digits by nature; a response id is
         * hashed, never sent. */
        bool digits_ok = c->field && (c->field->type == MAPPING_F_PNR || c->field->type == MAPPING_F_DATE ||
                                      !strcmp(c->field->name, "response_id"));
        if (!digits_ok && anon_contains_identifying(cell)) {
            snprintf(why, whylen, S_IDENTIFYING);
            goto fail;
        }
        if (csvcell_trim(cell, buf, sizeof buf) < 0) {
            snprintf(why, whylen, "longer than %d bytes", MAPPING_MAX_CELL);
            goto fail;
        }
        if (!*buf) {
            if (c->required) {
                snprintf(why, whylen, "missing required item %s", c->code);
                goto fail;
            }
            continue; /* empty: not answered / not given ([values] may hold a default) */
        }
        if (c->field && s_label_blank(self, c->field, buf))
            continue; /* "Vill ej uppge =": the row says nothing of it */
        if (c->field) {
            json_t *v = mapping_convert(self, c->field, buf, why, whylen);
            if (!v)
                goto fail;
            json_object_set_new_nocheck(row, c->field->name, v);
        } else {
            long long v;
            if (s_answer(self, c, buf, &v, why, whylen) < 0)
                goto fail;
            json_object_set_new_nocheck(answers, c->code, json_integer(v));
        }
    }
    *col = -1;
    if (json_object_size(answers))
        json_object_set_nocheck(row, "answers", answers);
    json_decref(answers);
    return row;
fail:
    json_decref(answers);
    json_decref(row);
    return NULL;
}

/* A cell's trimmed text into dst (cap bytes): 1 with text, 0 when empty
 * (nothing to fill), -1 with the reason when too long, or empty in a
 * required column. */
static int s_cell_text(const mapping_col_t *c, const char *cell, char *dst, size_t cap, char *why,
                       size_t whylen)
{
    if (csvcell_trim(cell, dst, cap) < 0) {
        snprintf(why, whylen, "longer than %d bytes", MAPPING_MAX_CELL);
        return -1;
    }
    if (*dst)
        return 1;
    if (c->required) {
        snprintf(why, whylen, "missing required item %s", c->code);
        return -1;
    }
    return 0;
}

/* mapping_row without JSON: the same cells give the same fields, in the
 * same order of checks and with the same reasons. */
int mapping_fill(const mapping_t *self, const char *const *cells, size_t ncells, row_fields_t *out, int *col,
                 char *why, size_t whylen)
{
    *col = -1;
    row_fields_clear(out);
    char *text = out->text; /* each string field's storage, one after another */
    for (size_t i = 0; i < self->nvalues; i++) {
        const mapping_value_t *mv = &self->values[i];
        int f = mv->field->row;
        if (mv->json) { /* converted at load; the mapping keeps its string */
            out->f[f] = row_value_of_json(mv->json);
            continue;
        }
        row_value_t v;
        if (text + MAPPING_MAX_CELL + 1 > out->text + sizeof out->text / 2)
            continue; /* never after a load, which converts every constant; the columns' half stays free */
        if (s_convert(mv->field, mapping_labelset(self, mv->field->name), mv->text, &v, text, why, whylen) <
                0 ||
            (v.type == ROW_V_STRING && !csvcell_is_utf8(v.s, v.len)))
            continue; /* as mapping_row, which sets no value then */
        out->f[f] = v;
        if (v.s == text)
            text += v.len + 1;
    }
    text =
        out->text + sizeof out->text / 2; /* a string per field column: at most ROW_NFIELDS of 1001 bytes */
    for (size_t i = 0; i < self->ncols; i++) {
        const mapping_col_t *c = &self->cols[i];
        const char *cell = (size_t) c->col < ncells ? cells[c->col] : "";
        *col = c->col;
        /* The whole cell first, as mapping_row. */
        bool digits_ok = c->field && (c->field->type == MAPPING_F_PNR || c->field->type == MAPPING_F_DATE ||
                                      !strcmp(c->field->name, "response_id"));
        if (!digits_ok && anon_contains_identifying(cell)) {
            snprintf(why, whylen, S_IDENTIFYING);
            return -1;
        }
        row_value_t v;
        if (c->field) {
            /* s_convert trims into text; an empty result, or a label
             * that maps to nothing, leaves the field as it was. */
            int has = s_cell_text(c, cell, text, MAPPING_MAX_CELL + 1, why, whylen);
            if (has <= 0) {
                if (has < 0)
                    return -1;
                continue;
            }
            if (s_convert(c->field, c->own_labels, cell, &v, text, why, whylen) < 0)
                return -1;
            if (c->field->type == MAPPING_F_STR) {
                if (v.s != text && !*v.s)
                    continue; /* "Vill ej uppge =": the row says nothing of it */
                if (!csvcell_is_utf8(v.s, v.len)) {
                    snprintf(why, whylen, "is not valid UTF-8");
                    return -1;
                }
            }
            int f = c->field->row;
            out->f[f] = v;
            if (v.s == text)
                text += v.len + 1;
            continue;
        }
        char buf[MAPPING_MAX_CELL + 1];
        int has = s_cell_text(c, cell, buf, sizeof buf, why, whylen);
        if (has <= 0) {
            if (has < 0)
                return -1;
            continue;
        }
        /* An answer cell is a pure function of its column and text, and
         * a column holds the same few labels row after row: the last
         * value read per column is remembered (out->memo), which saves
         * the label searches, not any check (a cell found there passed
         * them under this very binding). */
        long long x;
        row_memo_t *m = i < ROW_MEMO_COLS ? out->memo[i] : NULL, *hit = NULL;
        size_t blen = strlen(buf);
        for (int k = 0; m && k < ROW_MEMO_WAYS && !hit; k++)
            if (m[k].binding == self->binding && m[k].len == blen && !memcmp(m[k].cell, buf, blen))
                hit = &m[k];
        if (hit) {
            x = hit->value;
        } else {
            if (s_answer(self, c, buf, &x, why, whylen) < 0)
                return -1;
            if (m && blen < sizeof m->cell) {
                /* the oldest way of the column makes room */
                memmove(m + 1, m, (ROW_MEMO_WAYS - 1) * sizeof *m);
                m->binding = self->binding;
                m->len = blen;
                memcpy(m->cell, buf, blen);
                m->value = x;
            }
        }
        if (out->nanswers == CODEC_MAX_ANSWERS) {
            out->too_many_answers = true; /* import_row_fields says so, as for a JSON row */
            continue;
        }
        out->answer_code[out->nanswers] = c->code;
        out->answer[out->nanswers++] = x;
    }
    *col = -1;
    return 0;
}
