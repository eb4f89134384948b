/* mapping.c: loading a CSV column mapping from its INI file (see
 * mapping.h and docs/import-csv.md); mapping_row.c applies it to a file.
 *
 * The design decision: the mapping produces exactly the JSON row of the
 * canonical format and leaves every rule about what a row may contain to
 * import_row. Loading checks everything that needs no file: fields and
 * items exist in the format and the catalogue, answer labels map to whole
 * numbers, [values] constants convert, kind is given, required items are
 * mapped. inih goes on after an error; the first reason is kept with its
 * line. */
#include "mapping_int.h"

#include "csvcell.h"
#include "util.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <strings.h>

static const mapping_field_t s_fields[] = {
    {"kind", MAPPING_F_STR, 0, 0, ROW_F_KIND},
    {"personnummer", MAPPING_F_PNR, 0, 0, ROW_F_PERSONNUMMER},
    {"date", MAPPING_F_DATE, 0, 0, ROW_F_DATE},
    {"instrument", MAPPING_F_STR, 0, 0, ROW_F_INSTRUMENT},
    {"mode", MAPPING_F_STR, 0, 0, ROW_F_MODE},
    {"insats", MAPPING_F_STR, 0, 0, ROW_F_INSATS},
    {"gender", MAPPING_F_STR, 0, 0, ROW_F_GENDER},
    {"birth_year", MAPPING_F_INT, 1000, 9999, ROW_F_BIRTH_YEAR},
    {"phase", MAPPING_F_STR, 0, 0, ROW_F_PHASE},
    {"occupation", MAPPING_F_STR, 0, 0, ROW_F_OCCUPATION},
    {"income", MAPPING_F_STR, 0, 0, ROW_F_INCOME},
    {"extent_pct", MAPPING_F_PCT, 0, 100, ROW_F_EXTENT_PCT},
    {"days_in_insats", MAPPING_F_INT, 0, 100000, ROW_F_DAYS_IN_INSATS},
    {"days_to_next_service", MAPPING_F_INT, 0, 100000, ROW_F_DAYS_TO_NEXT_SERVICE},
    {"assessed_with_participant", MAPPING_F_BOOL, 0, 0, ROW_F_ASSESSED},
    {"agency", MAPPING_F_STR, 0, 0, ROW_F_AGENCY},
    {"response_id", MAPPING_F_STR, 0, 0, ROW_F_RESPONSE_ID},
};
#define S_NFIELDS (sizeof s_fields / sizeof *s_fields)

/* ---- lookups ----------------------------------------------------------- */

static const mapping_field_t *s_field(const char *name)
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

/* ---- did you mean ------------------------------------------------------ */

/* "; did you mean X?" into out for the first candidate similar to name
 * (csvcell_similar), else "". */
static const char *s_mean(char *out, size_t outlen, const char *name, const char *const *cands, size_t n)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        if (cands[i] && csvcell_similar(name, cands[i])) {
            snprintf(out, outlen, "; did you mean %s?", cands[i]);
            break;
        }
    return out;
}

static const char *s_mean_field(char *out, size_t outlen, const char *name)
{
    const char *c[S_NFIELDS];
    for (size_t i = 0; i < S_NFIELDS; i++)
        c[i] = s_fields[i].name;
    return s_mean(out, outlen, name, c, S_NFIELDS);
}

static const char *s_mean_item(char *out, size_t outlen, const catalogue_t *cat, const char *name)
{
    out[0] = '\0';
    for (int i = 0; i < cat->ninstruments && !out[0]; i++)
        for (int j = 0; j < cat->instruments[i].nitems && !out[0]; j++) {
            const char *c = cat->instruments[i].items[j].code;
            s_mean(out, outlen, name, &c, 1);
        }
    return out;
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

static int s_add_col(mapping_t *self, const char *code, const mapping_field_t *field,
                     const cat_scale_t *scale, const char *spec)
{
    for (size_t i = 0; i < self->ncols; i++)
        if (!strcmp(self->cols[i].code, code))
            return s_fail(self, "%s is mapped twice", code);
    mapping_col_t *c = realloc(self->cols, (self->ncols + 1) * sizeof *c);
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

/* The values a field's labels may map to, "a|b|c", or NULL (any). The
 * codes are the import format's (docs/import-jsonl.md). */
static const char *s_label_values(const char *field)
{
    static const struct {
        const char *field, *values;
    } enums[] = {
        {"gender", "woman|man|other"},
        {"mode", "project|integrated"},
        {"phase", "entry|exit|followup_6|followup_12"},
        {"assessed_with_participant", "true|false|ja|nej|yes|no|1|0"},
    };
    for (size_t i = 0; i < sizeof enums / sizeof *enums; i++)
        if (!strcmp(enums[i].field, field))
            return enums[i].values;
    return NULL;
}

static bool s_one_of(const char *value, const char *allowed)
{
    size_t n = strlen(value);
    for (const char *p = allowed; *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t) (bar - p) : strlen(p);
        if (len == n && !strncmp(p, value, n))
            return true;
        p += len + (bar != NULL);
    }
    return false;
}

static int s_add_label(mapping_t *self, const char *setname, const char *from, const char *to)
{
    mapping_labelset_t *ls = mapping_labelset(self, setname);
    if (!ls) {
        mapping_labelset_t *sets = realloc(self->sets, (self->nsets + 1) * sizeof *sets);
        if (!sets)
            return s_fail(self, "out of memory");
        self->sets = sets;
        ls = &self->sets[self->nsets++];
        memset(ls, 0, sizeof *ls);
        snprintf(ls->name, sizeof ls->name, "%s", setname);
    }
    char norm[MAPPING_MAX_CELL + 1];
    if (csvcell_norm(from, norm, sizeof norm) < 0 || !*norm)
        return s_fail(self, "label must be 1-%d bytes", MAPPING_MAX_CELL);
    for (size_t i = 0; i < ls->n; i++)
        if (!strcmp(ls->labels[i].from, norm))
            return s_fail(self, "label given twice");
    mapping_label_t *l = realloc(ls->labels, (ls->n + 1) * sizeof *l);
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
        else if (!strcmp(value, "comma") || !strcmp(value, ","))
            self->sep = ',';
        else if (!strcmp(value, "tab") || !strcmp(value, "\\t"))
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
    if (!strcmp(name, "sheet")) { /* workbooks only (sheet.c) */
        free(self->sheet);
        self->sheet = strdup(value);
        return self->sheet ? 1 : s_fail(self, "out of memory");
    }
    if (!strcmp(name, "required_items")) {
        free(self->required);
        self->required = strdup(value);
        return self->required ? 1 : s_fail(self, "out of memory");
    }
    /* ---- identity of a row (corrections and withdrawal; import.h) ---- */
    if (!strcmp(name, "response-id") || !strcmp(name, "response_id"))
        return s_add_col(self, "response_id", s_field("response_id"), NULL, value);
    if (!strcmp(name, "correction-window-days") || !strcmp(name, "correction_window_days")) {
        char *end;
        errno = 0;
        long days = strtol(value, &end, 10);
        if (errno || end == value || *end || days < 0 || days > 3660)
            return s_fail(self, "%s must be a number of days from 0 to 3660", name);
        self->window_days = (int) days;
        return 1;
    }
    /* ---- end of identity keys ---- */
    static const char *const keys[] = {"separator",      "encoding",    "sheet",
                                       "required_items", "response-id", "correction-window-days"};
    char mean[80];
    return s_fail(self,
                  "unknown key %s in [file] (separator, encoding, sheet, required_items, response-id, "
                  "correction-window-days)%s",
                  name, s_mean(mean, sizeof mean, name, keys, 6));
}

static int s_ini_handler(void *user, const char *section, const char *name, const char *value)
{
    mapping_t *self = user;
    if (!strcmp(section, "file"))
        return s_ini_file(self, name, value);
    if (!strcmp(section, "values")) {
        const mapping_field_t *f = s_field(name);
        if (!f || f->type == MAPPING_F_PNR)
            return s_fail(self, "%s cannot be a constant in [values]", name);
        mapping_value_t *v = realloc(self->values, (self->nvalues + 1) * sizeof *v);
        if (!v)
            return s_fail(self, "out of memory");
        self->values = v;
        self->values[self->nvalues] = (mapping_value_t){f, strdup(value), NULL};
        if (!self->values[self->nvalues++].text)
            return s_fail(self, "out of memory");
        return 1;
    }
    if (!strcmp(section, "columns")) {
        const mapping_field_t *f = s_field(name);
        char mean[80];
        if (!f)
            return s_fail(self, "%s is not a field of the import format (docs/import-jsonl.md)%s", name,
                          s_mean_field(mean, sizeof mean, name));
        return s_add_col(self, name, f, NULL, value);
    }
    if (!strcmp(section, "answers")) {
        const cat_scale_t *scale =
            code_is_valid(name, CAT_CODE_MAX - 1) ? s_item_scale(self->cat, name) : NULL;
        char mean[80];
        if (!scale)
            return s_fail(self, "%s is not an item in catalogue version %u%s", name, self->cat->version,
                          s_mean_item(mean, sizeof mean, self->cat, name));
        return s_add_col(self, name, NULL, scale, value);
    }
    if (!strcmp(section, "labels") || !strncmp(section, "labels.", 7)) {
        const char *setname = section[6] ? section + 7 : "";
        const mapping_field_t *f = s_field(setname);
        bool answers =
            !*setname || (!f && code_is_valid(setname, CAT_CODE_MAX - 1) && s_item_scale(self->cat, setname));
        char mean[80];
        if (!answers && (!f || f->type != MAPPING_F_STR) && !(f && f->type == MAPPING_F_BOOL)) {
            if (!s_mean_item(mean, sizeof mean, self->cat, setname)[0])
                s_mean_field(mean, sizeof mean, setname);
            return s_fail(self, "[%s]: not an item or a field with labels%s", section, mean);
        }
        if (answers) {
            long long v;
            bool frac, up;
            if (csvcell_number(value, &v, &frac, &up) == 0 && !frac && v >= -1000000 && v <= 1000000)
                return s_add_label(self, setname, name, value);
            /* "1 = Ja": a label of the item's own scale names the value. */
            const cat_scale_t *sc = *setname ? s_item_scale(self->cat, setname) : NULL;
            char want[MAPPING_MAX_CELL + 1], lab[MAPPING_MAX_CELL + 1], num[16];
            csvcell_norm(value, want, sizeof want);
            for (int i = 0; sc && sc->labels_sv && i < sc->nlabels; i++)
                if (sc->labels_sv[i] && sc->labels_sv[i][0] &&
                    csvcell_norm(sc->labels_sv[i], lab, sizeof lab) == 0 && !strcmp(lab, want)) {
                    snprintf(num, sizeof num, "%d", i);
                    return s_add_label(self, setname, name, num);
                }
            return s_fail(self, "answer labels map to whole numbers (the scale value)%s",
                          *setname ? " or to a label of the item's scale" : "");
        }
        const char *allowed = s_label_values(setname);
        /* Gender may be left out: "Vill ej uppge =" sends no gender. */
        bool blank_ok = !*value && !strcmp(setname, "gender");
        if (allowed && !blank_ok && !s_one_of(value, allowed))
            return s_fail(self, "[labels.%s]: \"%s\" is not one of %s; is the line in the right section?",
                          setname, value, allowed);
        if (!strcmp(setname, "insats") && !code_is_valid(value, CAT_CODE_MAX - 1))
            return s_fail(self,
                          "[labels.insats]: \"%s\" is not an insats code (1-%d letters a-z, digits, '_' or "
                          "'-'; no spaces, no å ä ö)",
                          value, CAT_CODE_MAX - 1);
        return s_add_label(self, setname, name, value);
    }
    static const char *const sections[] = {"file", "values", "columns", "answers", "labels"};
    char mean[80];
    return s_fail(self, "unknown section [%s] (file, values, columns, answers, labels, labels.NAME)%s",
                  section, s_mean(mean, sizeof mean, section, sections, 5));
}

static int s_check(mapping_t *self)
{
    bool has_kind = false;
    for (size_t i = 0; i < self->nvalues; i++) {
        char why[200];
        json_t *v = mapping_convert(self, self->values[i].field, self->values[i].text, why, sizeof why);
        if (!v) {
            s_fail(self, "%s: %s", self->values[i].field->name, why);
            return -1;
        }
        json_decref(self->values[i].json);
        self->values[i].json = v; /* every row's (mapping_row) */
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

/* inih reads a line in a buffer of S_INI_LINE bytes and takes the rest of
 * a longer one for a line of its own, which then fails for a reason that
 * has nothing to do with it. Comments may be as long as they like (a
 * draft's comment quotes long survey questions), so the file is read here
 * with its comments blanked out, whole-line ones (';' or '#') and inline
 * ones (a ';' after whitespace, as inih reads them), keeping the line
 * numbers; what is left is refused when a line is too long, then parsed.
 * Returns the text (caller frees) or NULL with errno (ENOENT..., EFBIG
 * beyond S_INI_MAX, or E2BIG with *longline set). */
#define S_INI_LINE 200
#define S_INI_MAX (1024 * 1024)
static char *s_read_ini(const char *path, long *longline)
{
    *longline = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *text = malloc(S_INI_MAX + 1);
    size_t n = text ? fread(text, 1, S_INI_MAX + 1, f) : 0;
    int saved = text ? ferror(f) ? EIO : n > S_INI_MAX ? EFBIG : 0 : ENOMEM;
    fclose(f);
    if (saved) {
        free(text);
        errno = saved;
        return NULL;
    }
    text[n] = '\0';
    long line = 1;
    for (char *p = text; *p;) {
        char *eol = strchr(p, '\n');
        char *end = eol ? eol : p + strlen(p);
        char *q = p;
        while (q < end && (*q == ' ' || *q == '\t'))
            q++;
        char *cut = end;
        if (q < end && (*q == ';' || *q == '#'))
            cut = q;
        for (char *c = q + 1; cut == end && c < end; c++)
            if (*c == ';' && (c[-1] == ' ' || c[-1] == '\t'))
                cut = c;
        size_t len = (size_t) (cut - p);
        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\r'))
            len--;
        if (len > S_INI_LINE - 2 && !*longline)
            *longline = line;
        /* The comment is dropped; the line (its number) stays. */
        if (cut < end) {
            memmove(cut, end, strlen(end) + 1);
            end = cut;
        }
        p = *end ? end + 1 : end;
        line++;
    }
    if (*longline) {
        free(text);
        errno = E2BIG;
        return NULL;
    }
    return text;
}

fin_err_t mapping_load(mapping_t **out, const char *path, const catalogue_t *cat, char *err, size_t errlen)
{
    *out = NULL;
    mapping_t *self = calloc(1, sizeof *self);
    if (!self)
        return fin_fail(err, errlen, FIN_ENOMEM, "out of memory");
    self->cat = cat;
    self->window_days = -1;
    self->path = path;
    struct stat sb; /* before reading: a change during the read is seen next time */
    if (stat(path, &sb) == 0) {
        self->dev = sb.st_dev;
        self->ino = sb.st_ino;
        self->size = sb.st_size;
        self->mtime = sb.st_mtim;
    }
    fin_err_t code;
    long longline;
    char *text = s_read_ini(path, &longline);
    if (!text && errno == E2BIG) {
        code = fin_fail(err, errlen, FIN_ECONFIG,
                        "%s:%ld: line too long (at most %d bytes); match a long header by its start: "
                        "Text*",
                        path, longline, S_INI_LINE - 2);
        goto fail;
    }
    if (!text) {
        code = fin_fail(err, errlen, errno == ENOENT ? FIN_ENOTFOUND : FIN_ECONFIG, "%s: cannot read: %s",
                        path, errno == EFBIG ? "larger than 1 MiB" : strerror(errno));
        goto fail;
    }
    int rc = ini_parse_string(text, s_ini_handler, self);
    free(text);
    if (rc) {
        code = fin_fail(err, errlen, FIN_ECONFIG, "%s:%d: %s", path, rc,
                        self->msg[0] ? self->msg : "syntax error (want key = value)");
        goto fail;
    }
    if (s_check(self) < 0) {
        code = fin_fail(err, errlen, FIN_ECONFIG, "%s: %s", path, self->msg);
        goto fail;
    }
    *out = self;
    return FIN_OK;
fail:
    mapping_destroy(&self);
    return code;
}

fin_err_t mapping_follow(mapping_t *self, bool *reloaded, char *err, size_t errlen)
{
    *reloaded = false;
    struct stat sb;
    if (stat(self->path, &sb) == 0 && sb.st_dev == self->dev && sb.st_ino == self->ino &&
        sb.st_size == self->size && sb.st_mtim.tv_sec == self->mtime.tv_sec &&
        sb.st_mtim.tv_nsec == self->mtime.tv_nsec)
        return FIN_OK;
    mapping_t *fresh = NULL;
    fin_err_t rc = mapping_load(&fresh, self->path, self->cat, err, errlen);
    if (rc != FIN_OK)
        return rc; /* self unchanged; the next call tries again */
    mapping_t old = *self;
    *self = *fresh;
    *fresh = old;
    mapping_destroy(&fresh);
    *reloaded = true;
    return FIN_OK;
}

void mapping_destroy(mapping_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    mapping_t *self = *self_p;
    mapping_unbind(self);
    for (size_t i = 0; i < self->ncols; i++)
        free(self->cols[i].spec);
    free(self->cols);
    for (size_t i = 0; i < self->nvalues; i++) {
        free(self->values[i].text);
        json_decref(self->values[i].json);
    }
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
    free(self->sheet);
    free(self);
    *self_p = NULL;
}

char mapping_separator(const mapping_t *self)
{
    return self->sep;
}

int mapping_window_days(const mapping_t *self)
{
    return self->window_days;
}

mapping_encoding_t mapping_encoding(const mapping_t *self)
{
    return self->enc;
}

const char *mapping_sheet(const mapping_t *self)
{
    return self->sheet;
}
