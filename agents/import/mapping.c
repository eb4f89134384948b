/* mapping.c: CSV columns -> canonical rows (see mapping.h and
 * docs/import-csv.md).
 *
 * The design decision: the mapping produces exactly the JSON row of the
 * canonical format and leaves every rule about what a row may contain to
 * import_row. This file only translates (labels, decimal commas, date
 * spellings) and refuses what can only be seen before translation: a cell
 * that contains a direct identifier, an answer label nobody mapped, a
 * required item left empty.
 *
 * Label lookups are linear: a mapping has a few dozen labels and a row a
 * few dozen cells, which is far below the cost of hashing the event. */
#include "mapping.h"

#include "anonymize.h"

#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define S_MAX_CELL 1000
#define S_MAX_NAMES 8

/* How a canonical field's cell is read. */
typedef enum { F_STR, F_PNR, F_DATE, F_INT, F_PCT, F_BOOL } s_ftype_t;

typedef struct {
    const char *name;
    s_ftype_t type;
    long long min, max; /* F_INT, F_PCT */
} s_field_t;

static const s_field_t s_fields[] = {
    {"kind", F_STR, 0, 0},
    {"personnummer", F_PNR, 0, 0},
    {"date", F_DATE, 0, 0},
    {"instrument", F_STR, 0, 0},
    {"mode", F_STR, 0, 0},
    {"insats", F_STR, 0, 0},
    {"gender", F_STR, 0, 0},
    {"birth_year", F_INT, 1000, 9999},
    {"phase", F_STR, 0, 0},
    {"occupation", F_STR, 0, 0},
    {"income", F_STR, 0, 0},
    {"extent_pct", F_PCT, 0, 100},
    {"days_in_insats", F_INT, 0, 100000},
    {"days_to_next_service", F_INT, 0, 100000},
    {"assessed_with_participant", F_BOOL, 0, 0},
    {"agency", F_STR, 0, 0},
    {"response_id", F_STR, 0, 0},
};
#define S_NFIELDS (sizeof s_fields / sizeof *s_fields)

typedef struct {
    char *from; /* normalised source label */
    char *to;   /* canonical value, or the integer for answers */
} s_label_t;

typedef struct {
    char name[CAT_CODE_MAX]; /* "" = [labels] (every answer column), else a field or item */
    s_label_t *labels;
    size_t n;
} s_labelset_t;

typedef struct {
    char code[CAT_CODE_MAX]; /* field name or item code */
    const s_field_t *field;  /* NULL for an answer column */
    const cat_scale_t *scale;
    char *spec; /* header as written in the mapping */
    int number; /* #N: 1-based column number, else 0 */
    bool prefix;
    bool required;
    int col; /* bound column, 0-based; -1 before bind */
} s_col_t;

typedef struct {
    const s_field_t *field;
    char *text;
} s_value_t;

struct mapping_t {
    const catalogue_t *cat;
    const char *path;
    char sep;
    mapping_encoding_t enc;
    s_col_t *cols;
    size_t ncols;
    s_value_t *values;
    size_t nvalues;
    s_labelset_t *sets;
    size_t nsets;
    char *required; /* [file] required_items, checked after parsing */
    /* binding */
    char **headers;
    size_t nheaders, nunmapped;
    char unmapped_names[S_MAX_NAMES * (CAT_CODE_MAX + 1) + 1];
    char msg[512]; /* first load error */
};

/* ---- text helpers ------------------------------------------------------ */

/* Trims ASCII white space and UTF-8 no-break spaces (Excel's favourite)
 * from both ends into out; -1 if it does not fit. */
static int s_trim(const char *in, char *out, size_t outlen)
{
    const char *b = in, *e = in + strlen(in);
    for (;;) {
        if (b < e && isspace((unsigned char) *b))
            b++;
        else if (e - b >= 2 && (unsigned char) b[0] == 0xc2 && (unsigned char) b[1] == 0xa0)
            b += 2;
        else
            break;
    }
    for (;;) {
        if (e > b && isspace((unsigned char) e[-1]))
            e--;
        else if (e - b >= 2 && (unsigned char) e[-2] == 0xc2 && (unsigned char) e[-1] == 0xa0)
            e -= 2;
        else
            break;
    }
    if ((size_t) (e - b) >= outlen)
        return -1;
    memcpy(out, b, (size_t) (e - b));
    out[e - b] = '\0';
    return 0;
}

/* Trimmed and lower-cased for comparing labels and headers: ASCII letters
 * and the Latin-1 capitals in their two-byte UTF-8 form (Å Ä Ö É ...). */
static int s_norm(const char *in, char *out, size_t outlen)
{
    if (s_trim(in, out, outlen) < 0)
        return -1;
    for (unsigned char *p = (unsigned char *) out; *p; p++) {
        if (*p >= 'A' && *p <= 'Z')
            *p = (unsigned char) (*p + 32);
        else if (*p == 0xc3 && p[1] >= 0x80 && p[1] <= 0x9e && p[1] != 0x97) {
            p[1] = (unsigned char) (p[1] + 0x20);
            p++;
        }
    }
    return 0;
}

/* A whole or decimal number: optional sign, digits (spaces or no-break
 * spaces between digit groups allowed: "1 234"), then optionally a decimal
 * comma or point and digits ("4,0", "37,5"). Sets *whole, *fraction (true
 * if any non-zero decimal) and *round_up (first decimal >= 5). */
static int s_number(const char *s, long long *whole, bool *fraction, bool *round_up)
{
    const unsigned char *p = (const unsigned char *) s;
    bool neg = false;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    long long v = 0;
    int nd = 0;
    while (*p) {
        if (isdigit(*p)) {
            if (++nd > 12)
                return -1;
            v = v * 10 + (*p++ - '0');
        } else if (nd && *p == ' ' && isdigit(p[1])) {
            p++;
        } else if (nd && p[0] == 0xc2 && p[1] == 0xa0 && isdigit(p[2])) {
            p += 2;
        } else {
            break;
        }
    }
    if (nd == 0)
        return -1;
    *fraction = false;
    *round_up = false;
    if (*p == ',' || *p == '.') {
        p++;
        if (!isdigit(*p))
            return -1;
        *round_up = *p >= '5';
        for (; isdigit(*p); p++)
            if (*p != '0')
                *fraction = true;
    }
    if (*p)
        return -1;
    *whole = neg ? -v : v;
    return 0;
}

/* "2026-03-14" (optionally followed by a time) or "14/3/2026" into
 * "YYYY-MM-DD"; -1 if neither or no such day. */
static int s_date(const char *s, char out[11])
{
    int y, m, d, n = 0;
    if (isdigit((unsigned char) s[0]) && s[4] == '-' && sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) == 3 &&
        n == 10) {
        /* ISO date, maybe with a time: 2026-03-14 10:22 or 2026-03-14T10:22:05 */
    } else if (sscanf(s, "%2d/%2d/%4d%n", &d, &m, &y, &n) == 3 && n >= 8 &&
               isdigit((unsigned char) s[n - 4])) {
        /* D/M/YYYY, day first as written in Sweden */
    } else {
        return -1;
    }
    if (s[n] && s[n] != ' ' && s[n] != 'T')
        return -1;
    for (const char *p = s + n + (s[n] != 0); *p; p++)
        if (!isdigit((unsigned char) *p) && !strchr(":.+-Z ", *p))
            return -1;
    if (!anon_is_date(y, m, d))
        return -1;
    snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
    return 0;
}

/* ---- lookups ----------------------------------------------------------- */

static const s_field_t *s_field(const char *name)
{
    for (size_t i = 0; i < S_NFIELDS; i++)
        if (!strcmp(s_fields[i].name, name))
            return &s_fields[i];
    return NULL;
}

/* The scale of an item code in any instrument (an item code means the
 * same question, on the same scale, wherever it appears). */
static const cat_scale_t *s_item_scale(const catalogue_t *cat, const char *code)
{
    for (int i = 0; i < cat->ninstruments; i++) {
        const cat_item_t *it = catalogue_item(&cat->instruments[i], code);
        if (it)
            return it->scale;
    }
    return NULL;
}

static s_labelset_t *s_set(const mapping_t *self, const char *name)
{
    for (size_t i = 0; i < self->nsets; i++)
        if (!strcmp(self->sets[i].name, name))
            return &self->sets[i];
    return NULL;
}

static const char *s_label(const mapping_t *self, const char *set, const char *norm)
{
    const s_labelset_t *ls = s_set(self, set);
    if (ls)
        for (size_t i = 0; i < ls->n; i++)
            if (!strcmp(ls->labels[i].from, norm))
                return ls->labels[i].to;
    return NULL;
}

/* ---- loading ----------------------------------------------------------- */

/* Keeps the first reason (inih goes on after an error and reports the
 * first failing line); mapping_load puts "PATH:LINE: " in front. */
__attribute__((format(printf, 2, 3))) static int s_fail(mapping_t *self, const char *fmt, ...)
{
    if (self->msg[0])
        return 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(self->msg, sizeof self->msg, fmt, ap);
    va_end(ap);
    return 0; /* inih: an error on this line */
}

static int s_add_col(mapping_t *self, const char *code, const s_field_t *field, const cat_scale_t *scale,
                     const char *spec)
{
    for (size_t i = 0; i < self->ncols; i++)
        if (!strcmp(self->cols[i].code, code))
            return s_fail(self, "%s is mapped twice", code);
    s_col_t *c = realloc(self->cols, (self->ncols + 1) * sizeof *c);
    if (!c)
        return s_fail(self, "out of memory");
    self->cols = c;
    c = &self->cols[self->ncols];
    memset(c, 0, sizeof *c);
    snprintf(c->code, sizeof c->code, "%s", code);
    c->field = field;
    c->scale = scale;
    c->col = -1;
    char *end;
    if (spec[0] == '#' && (c->number = (int) strtol(spec + 1, &end, 10)) > 0 && !*end &&
        c->number <= 100000) {
        /* column number */
    } else if (spec[0] == '#') {
        return s_fail(self, "%s: #N must be a column number from 1", code);
    } else {
        c->number = 0;
    }
    if (!(c->spec = strdup(spec)))
        return s_fail(self, "out of memory");
    size_t n = strlen(c->spec);
    if (!c->number && n > 1 && c->spec[n - 1] == '*') {
        c->prefix = true;
        c->spec[n - 1] = '\0';
    }
    self->ncols++;
    return 1;
}

static int s_add_label(mapping_t *self, const char *setname, const char *from, const char *to)
{
    s_labelset_t *ls = s_set(self, setname);
    if (!ls) {
        s_labelset_t *sets = realloc(self->sets, (self->nsets + 1) * sizeof *sets);
        if (!sets)
            return s_fail(self, "out of memory");
        self->sets = sets;
        ls = &self->sets[self->nsets++];
        memset(ls, 0, sizeof *ls);
        snprintf(ls->name, sizeof ls->name, "%s", setname);
    }
    char norm[S_MAX_CELL + 1];
    if (s_norm(from, norm, sizeof norm) < 0 || !*norm)
        return s_fail(self, "label must be 1-%d bytes", S_MAX_CELL);
    for (size_t i = 0; i < ls->n; i++)
        if (!strcmp(ls->labels[i].from, norm))
            return s_fail(self, "label given twice");
    s_label_t *l = realloc(ls->labels, (ls->n + 1) * sizeof *l);
    if (!l)
        return s_fail(self, "out of memory");
    ls->labels = l;
    l = &ls->labels[ls->n];
    l->from = strdup(norm);
    l->to = strdup(to);
    ls->n++;
    if (!l->from || !l->to)
        return s_fail(self, "out of memory");
    return 1;
}

static int s_ini_file(mapping_t *self, const char *name, const char *value)
{
    if (!strcmp(name, "separator")) {
        if (!strcmp(value, "auto"))
            self->sep = 0;
        else if (!strcmp(value, "semicolon"))
            self->sep = ';';
        else if (!strcmp(value, "comma"))
            self->sep = ',';
        else if (!strcmp(value, "tab"))
            self->sep = '\t';
        else
            return s_fail(self, "separator must be auto, semicolon, comma or tab");
        return 1;
    }
    if (!strcmp(name, "encoding")) {
        if (!strcmp(value, "auto"))
            self->enc = MAPPING_ENC_AUTO;
        else if (!strcasecmp(value, "utf-8"))
            self->enc = MAPPING_ENC_UTF8;
        else if (!strcasecmp(value, "latin-1") || !strcasecmp(value, "windows-1252"))
            self->enc = MAPPING_ENC_LATIN1;
        else
            return s_fail(self, "encoding must be auto, utf-8, latin-1 or windows-1252");
        return 1;
    }
    if (!strcmp(name, "required_items")) {
        free(self->required);
        self->required = strdup(value);
        return self->required ? 1 : s_fail(self, "out of memory");
    }
    return s_fail(self, "unknown key %s in [file] (separator, encoding, required_items)", name);
}

static int s_ini_handler(void *user, const char *section, const char *name, const char *value)
{
    mapping_t *self = user;
    if (!strcmp(section, "file"))
        return s_ini_file(self, name, value);
    if (!strcmp(section, "values")) {
        const s_field_t *f = s_field(name);
        if (!f || f->type == F_PNR)
            return s_fail(self, "%s cannot be a constant in [values]", name);
        s_value_t *v = realloc(self->values, (self->nvalues + 1) * sizeof *v);
        if (!v)
            return s_fail(self, "out of memory");
        self->values = v;
        self->values[self->nvalues] = (s_value_t){f, strdup(value)};
        if (!self->values[self->nvalues++].text)
            return s_fail(self, "out of memory");
        return 1;
    }
    if (!strcmp(section, "columns")) {
        const s_field_t *f = s_field(name);
        if (!f)
            return s_fail(self, "%s is not a field of the import format (docs/import-jsonl.md)", name);
        return s_add_col(self, name, f, NULL, value);
    }
    if (!strcmp(section, "answers")) {
        const cat_scale_t *scale =
            code_is_valid(name, CAT_CODE_MAX - 1) ? s_item_scale(self->cat, name) : NULL;
        if (!scale)
            return s_fail(self, "%s is not an item in catalogue version %u", name, self->cat->version);
        return s_add_col(self, name, NULL, scale, value);
    }
    if (!strcmp(section, "labels") || !strncmp(section, "labels.", 7)) {
        const char *setname = section[6] ? section + 7 : "";
        const s_field_t *f = s_field(setname);
        bool answers =
            !*setname || (!f && code_is_valid(setname, CAT_CODE_MAX - 1) && s_item_scale(self->cat, setname));
        if (!answers && (!f || f->type != F_STR) && !(f && f->type == F_BOOL))
            return s_fail(self, "[%s]: not an item or a field with labels", section);
        if (answers) {
            long long v;
            bool frac, up;
            if (s_number(value, &v, &frac, &up) < 0 || frac || v < -1000000 || v > 1000000)
                return s_fail(self, "answer labels map to whole numbers (the scale value)");
        }
        return s_add_label(self, setname, name, value);
    }
    return s_fail(self, "unknown section [%s] (file, values, columns, answers, labels, labels.NAME)",
                  section);
}

/* Converts one cell (or a [values] constant) of a canonical field into its
 * JSON value. NULL with the reason in why. */
static json_t *s_convert(const mapping_t *self, const s_field_t *f, const char *cell, char *why,
                         size_t whylen)
{
    char buf[S_MAX_CELL + 1], norm[S_MAX_CELL + 1];
    if (s_trim(cell, buf, sizeof buf) < 0) {
        snprintf(why, whylen, "longer than %d bytes", S_MAX_CELL);
        return NULL;
    }
    long long v;
    bool frac, up;
    const char *to;
    switch (f->type) {
    case F_PNR: {
        /* "850312 1234": spaces are spelling, not content. */
        char *w = buf;
        for (char *r = buf; *r; r++)
            if (*r != ' ')
                *w++ = *r;
        *w = '\0';
        return json_string(buf);
    }
    case F_DATE: {
        char iso[11];
        if (s_date(buf, iso) < 0) {
            snprintf(why, whylen, "must be a date YYYY-MM-DD or D/M/YYYY");
            return NULL;
        }
        return json_string(iso);
    }
    case F_INT:
    case F_PCT:
        if (s_number(buf, &v, &frac, &up) < 0 || (frac && f->type == F_INT)) {
            snprintf(why, whylen, "must be a whole number%s",
                     f->type == F_PCT ? " or a decimal number (37,5)" : "");
            return NULL;
        }
        /* extent_pct is a share of 40 h/week: round half up. */
        if (f->type == F_PCT && up)
            v++;
        if (v < f->min || v > f->max) {
            snprintf(why, whylen, "must be between %lld and %lld", f->min, f->max);
            return NULL;
        }
        return json_integer(v);
    case F_BOOL:
        s_norm(buf, norm, sizeof norm);
        to = s_label(self, f->name, norm);
        if (to)
            s_norm(to, norm, sizeof norm);
        if (!strcmp(norm, "true") || !strcmp(norm, "ja") || !strcmp(norm, "yes") || !strcmp(norm, "1"))
            return json_true();
        if (!strcmp(norm, "false") || !strcmp(norm, "nej") || !strcmp(norm, "no") || !strcmp(norm, "0"))
            return json_false();
        snprintf(why, whylen, "must be ja/nej (or a label in [labels.%s])", f->name);
        return NULL;
    case F_STR:
        s_norm(buf, norm, sizeof norm);
        to = s_label(self, f->name, norm);
        json_t *s = json_string(to ? to : buf);
        if (!s)
            snprintf(why, whylen, "is not valid UTF-8");
        return s;
    }
    return NULL;
}

static int s_check(mapping_t *self)
{
    bool has_kind = false;
    for (size_t i = 0; i < self->nvalues; i++) {
        char why[200];
        json_t *v = s_convert(self, self->values[i].field, self->values[i].text, why, sizeof why);
        if (!v) {
            s_fail(self, "%s: %s", self->values[i].field->name, why);
            return -1;
        }
        json_decref(v);
        has_kind |= !strcmp(self->values[i].field->name, "kind");
    }
    for (size_t i = 0; i < self->ncols; i++)
        has_kind |= !strcmp(self->cols[i].code, "kind");
    if (!has_kind) {
        s_fail(self, "kind: set it in [values] or map a column in [columns]");
        return -1;
    }
    for (size_t i = 0; i < self->nsets; i++) {
        const char *n = self->sets[i].name;
        if (!*n || s_field(n))
            continue;
        bool mapped = false;
        for (size_t j = 0; j < self->ncols && !mapped; j++)
            mapped = !self->cols[j].field && !strcmp(self->cols[j].code, n);
        if (!mapped) {
            s_fail(self, "[labels.%s]: %s is not mapped in [answers]", n, n);
            return -1;
        }
    }
    if (self->required) {
        bool all = !strcmp(self->required, "all");
        for (char *tok = strtok(self->required, ", "); tok && !all; tok = strtok(NULL, ", ")) {
            bool found = false;
            for (size_t j = 0; j < self->ncols; j++)
                if (!self->cols[j].field && !strcmp(self->cols[j].code, tok))
                    self->cols[j].required = found = true;
            if (!found) {
                s_fail(self, "required_items: %.40s is not mapped in [answers]", tok);
                return -1;
            }
        }
        for (size_t j = 0; all && j < self->ncols; j++)
            self->cols[j].required = !self->cols[j].field;
    }
    return 0;
}

int mapping_load(mapping_t **out, const char *path, const catalogue_t *cat, char *err, size_t errlen)
{
    *out = NULL;
    mapping_t *self = calloc(1, sizeof *self);
    if (!self) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    self->cat = cat;
    self->path = path;
    int rc = ini_parse(path, s_ini_handler, self);
    if (rc == -1) {
        snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    if (rc) {
        snprintf(err, errlen, "%s:%d: %s", path, rc,
                 self->msg[0] ? self->msg : "syntax error (want key = value; lines up to 200 bytes)");
        goto fail;
    }
    if (s_check(self) < 0) {
        snprintf(err, errlen, "%s: %s", path, self->msg);
        goto fail;
    }
    *out = self;
    return 0;
fail:
    mapping_destroy(&self);
    return -1;
}

static void s_unbind(mapping_t *self)
{
    for (size_t i = 0; i < self->nheaders; i++)
        free(self->headers[i]);
    free(self->headers);
    self->headers = NULL;
    self->nheaders = 0;
}

void mapping_destroy(mapping_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mapping_t *self = *self_p;
    s_unbind(self);
    for (size_t i = 0; i < self->ncols; i++)
        free(self->cols[i].spec);
    free(self->cols);
    for (size_t i = 0; i < self->nvalues; i++)
        free(self->values[i].text);
    free(self->values);
    for (size_t i = 0; i < self->nsets; i++) {
        for (size_t j = 0; j < self->sets[i].n; j++) {
            free(self->sets[i].labels[j].from);
            free(self->sets[i].labels[j].to);
        }
        free(self->sets[i].labels);
    }
    free(self->sets);
    free(self->required);
    free(self);
    *self_p = NULL;
}

char mapping_separator(const mapping_t *self)
{
    return self->sep;
}

mapping_encoding_t mapping_encoding(const mapping_t *self)
{
    return self->enc;
}

/* ---- binding ----------------------------------------------------------- */

int mapping_bind(mapping_t *self, const char *const *cells, size_t ncells, char *err, size_t errlen)
{
    s_unbind(self);
    self->unmapped_names[0] = '\0';
    if (!(self->headers = calloc(ncells ? ncells : 1, sizeof *self->headers))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    self->nheaders = ncells;
    for (size_t i = 0; i < ncells; i++) {
        char buf[S_MAX_CELL + 1];
        if (s_trim(cells[i], buf, sizeof buf) < 0)
            buf[0] = '\0';
        if (!(self->headers[i] = strdup(buf))) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    bool *used = calloc(ncells ? ncells : 1, sizeof *used);
    if (!used) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    int rc = -1;
    for (size_t c = 0; c < self->ncols; c++) {
        s_col_t *col = &self->cols[c];
        col->col = -1;
        int found = 0;
        char want[S_MAX_CELL + 1], have[S_MAX_CELL + 1];
        s_norm(col->spec, want, sizeof want);
        for (size_t i = 0; i < ncells; i++) {
            bool match;
            if (col->number)
                match = (size_t) col->number == i + 1;
            else {
                s_norm(self->headers[i], have, sizeof have);
                match = col->prefix ? !strncmp(have, want, strlen(want)) : !strcmp(have, want);
            }
            if (match) {
                found++;
                col->col = (int) i;
            }
        }
        if (found == 0) {
            snprintf(err, errlen, "mapping: column \"%s%s\" (for %s) is not in the header", col->spec,
                     col->prefix ? "*" : "", col->code);
            goto free_used;
        }
        if (found > 1) {
            snprintf(err, errlen, "mapping: column \"%s%s\" (for %s) matches %d columns of the header",
                     col->spec, col->prefix ? "*" : "", col->code, found);
            goto free_used;
        }
        if (used[col->col]) {
            snprintf(err, errlen, "mapping: column %d is mapped twice (%s)", col->col + 1, col->code);
            goto free_used;
        }
        used[col->col] = true;
    }
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
        if (real_header && named < S_MAX_NAMES && code_is_valid(self->headers[i], CAT_CODE_MAX - 1) &&
            !anon_looks_identifying(self->headers[i])) {
            size_t len = strlen(self->unmapped_names);
            snprintf(self->unmapped_names + len, sizeof self->unmapped_names - len, "%s%s", named ? "," : "",
                     self->headers[i]);
            named++;
        }
    }
    rc = 0;
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
static int s_answer(const mapping_t *self, const s_col_t *c, const char *buf, long long *out, char *why,
                    size_t whylen)
{
    char norm[S_MAX_CELL + 1];
    s_norm(buf, norm, sizeof norm);
    const char *to = s_label(self, c->code, norm);
    if (!to)
        to = s_label(self, "", norm);
    bool frac, up;
    if (to)
        return s_number(to, out, &frac, &up); /* checked at load */
    const cat_scale_t *sc = c->scale;
    char lab[S_MAX_CELL + 1];
    for (int v = 0; sc->labels_sv && v < sc->nlabels; v++)
        if (sc->labels_sv[v] && sc->labels_sv[v][0] && s_norm(sc->labels_sv[v], lab, sizeof lab) == 0 &&
            !strcmp(lab, norm)) {
            *out = v;
            return 0;
        }
    if (s_number(buf, out, &frac, &up) == 0) {
        if (!frac)
            return 0;
        snprintf(why, whylen, "value outside scale %s (not a whole number)", sc->code);
        return -1;
    }
    snprintf(why, whylen, "unknown answer label (map it in [labels] or [labels.%s])", c->code);
    return -1;
}

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
        json_object_set_new(row, self->values[i].field->name,
                            s_convert(self, self->values[i].field, self->values[i].text, why, whylen));
    for (size_t i = 0; i < self->ncols; i++) {
        const s_col_t *c = &self->cols[i];
        const char *cell = (size_t) c->col < ncells ? cells[c->col] : "";
        char buf[S_MAX_CELL + 1];
        *col = c->col;
        /* The whole cell, before any trimming or label lookup: an
         * identifier anywhere in it means the column is the wrong one.
         * Personnummer and dates hold digits by nature; a response id is
         * hashed, never sent. */
        bool digits_ok = c->field && (c->field->type == F_PNR || c->field->type == F_DATE ||
                                      !strcmp(c->field->name, "response_id"));
        if (!digits_ok && anon_contains_identifying(cell)) {
            snprintf(why, whylen, S_IDENTIFYING);
            goto fail;
        }
        if (s_trim(cell, buf, sizeof buf) < 0) {
            snprintf(why, whylen, "longer than %d bytes", S_MAX_CELL);
            goto fail;
        }
        if (!*buf) {
            if (c->required) {
                snprintf(why, whylen, "missing required item %s", c->code);
                goto fail;
            }
            continue; /* empty: not answered / not given ([values] may hold a default) */
        }
        if (c->field) {
            json_t *v = s_convert(self, c->field, buf, why, whylen);
            if (!v)
                goto fail;
            json_object_set_new(row, c->field->name, v);
        } else {
            long long v;
            if (s_answer(self, c, buf, &v, why, whylen) < 0)
                goto fail;
            json_object_set_new(answers, c->code, json_integer(v));
        }
    }
    *col = -1;
    if (json_object_size(answers))
        json_object_set(row, "answers", answers);
    json_decref(answers);
    return row;
fail:
    json_decref(answers);
    json_decref(row);
    return NULL;
}
