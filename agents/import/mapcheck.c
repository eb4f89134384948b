/* mapcheck.c: `mapping check FILE --mapping M` (see mapcheck.h).
 *
 * The file is read once (csvimport_scan or sheet_read); each row goes
 * through mapping_row and then the import's own row checks (import_row),
 * under a site key made for the check and thrown away, so the check
 * refuses exactly what an import would, and keeps nothing about a person.
 * What it prints is counted, not listed per row: each label with its rows,
 * each reason once with its rows and first line.
 *
 * Not here: drafting (draft.c, whose label values draft_scale_value says
 * which unread column holds answers), the outbox (whether a row is new is
 * for `import --dry-run`). */
#include "mapcheck.h"

#include "anonymize.h"
#include "csvcell.h"
#include "csvimport.h"
#include "draft.h"
#include "import.h"
#include "mapping_int.h"
#include "report_text.h"
#include "sheet.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The check's words in Swedish unless --lang en; `en` is a local. */
#define T(en_text, sv_text) (en ? (en_text) : (sv_text))

static const char *s_rows(bool en, size_t n)
{
    return n == 1 ? T("row", "rad") : T("rows", "rader");
}

#define S_MAX_SEEN 2000

typedef struct {
    int col;
    char *label; /* a label or a reason */
    char value[CAT_CODE_MAX];
    size_t rows;
    long first_line;
} s_seen_t;

typedef struct {
    mapping_t *map;
    FILE *out;
    bool bound, failed_alloc;
    fin_err_t rc;
    char *err;
    size_t errlen;
    size_t rows, passed, refused;
    char sheet[64]; /* a workbook's sheet read; "" for CSV */
    bool en;        /* --lang en; else Swedish */
    import_t *imp;  /* the import's own row checks, under a throwaway key */
    /* per column, for the columns the mapping does not read: filled cells
     * and cells that are an answer label of a catalogue scale */
    size_t *unread_filled, *unread_labels;
    size_t ncells;
    s_seen_t *labels, *reasons;
    size_t nlabels, nreasons;
} s_check_t;

static void s_count(s_seen_t *set, size_t *n, int col, const char *label, const char *value, long line)
{
    for (size_t i = 0; i < *n; i++)
        if (set[i].col == col && !strcmp(set[i].label, label) && !strcmp(set[i].value, value)) {
            set[i].rows++;
            return;
        }
    if (*n == S_MAX_SEEN)
        return;
    s_seen_t *s = &set[*n];
    if (!(s->label = strdup(label)))
        return;
    s->col = col;
    snprintf(s->value, sizeof s->value, "%s", value);
    s->rows = 1;
    s->first_line = line;
    (*n)++;
}

/* Whether a column is one the mapping reads. */
static bool s_read_by_mapping(const mapping_t *map, size_t col)
{
    for (size_t i = 0; i < map->ncols; i++)
        if (map->cols[i].col >= 0 && (size_t) map->cols[i].col == col)
            return true;
    return false;
}

/* Counts, in the columns the mapping does not read, the cells that are an
 * answer label of a catalogue scale: such a column may be a catalogue
 * question left out by mistake. */
static void s_count_unread(s_check_t *k, const char *const *cells, size_t ncells)
{
    for (size_t c = 0; c < ncells && c < k->ncells; c++) {
        char buf[MAPPING_MAX_CELL + 1], norm[MAPPING_MAX_CELL + 1];
        if (s_read_by_mapping(k->map, c) || csvcell_trim(cells[c], buf, sizeof buf) < 0 || !*buf)
            continue;
        k->unread_filled[c]++;
        csvcell_norm(buf, norm, sizeof norm);
        for (int sc = 0; sc < k->map->cat->nscales; sc++)
            if (k->map->cat->scales[sc].labels_sv && draft_scale_value(&k->map->cat->scales[sc], norm) >= 0) {
                k->unread_labels[c]++;
                break;
            }
    }
}

static int s_check_record(const char *const *cells, size_t ncells, long line, void *arg)
{
    s_check_t *k = arg;
    if (!k->bound) {
        k->rc = mapping_bind(k->map, cells, ncells, k->err, k->errlen);
        k->bound = true;
        k->ncells = ncells;
        if (k->rc == FIN_OK && (!(k->unread_filled = calloc(ncells + 1, sizeof *k->unread_filled)) ||
                                !(k->unread_labels = calloc(ncells + 1, sizeof *k->unread_labels))))
            k->rc = fin_fail(k->err, k->errlen, FIN_ENOMEM, "out of memory");
        return k->rc == FIN_OK ? 0 : -1;
    }
    k->rows++;
    s_count_unread(k, cells, ncells);
    int col;
    char why[400], field[64];
    json_t *row = mapping_row(k->map, cells, ncells, &col, why, sizeof why);
    /* The import's own checks of the row (personnummer, dates, codes,
     * catalogue rules, insats codes); the pseudonyms are made under a key
     * thrown away at the end, and nothing is stored. */
    if (row && import_row(k->imp, row, field, sizeof field, why, sizeof why) < 0) {
        col = mapping_column_of(k->map, field);
        json_decref(row);
        row = NULL;
    }
    if (!row) {
        k->refused++;
        s_count(k->reasons, &k->nreasons, col, why, "", line);
        return 0;
    }
    k->passed++;
    /* Labels of answer, gender and mode columns with what they became. */
    for (size_t i = 0; i < k->map->ncols; i++) {
        const mapping_col_t *c = &k->map->cols[i];
        bool shown = !c->field || !strcmp(c->code, "gender") || !strcmp(c->code, "mode");
        if (!shown || c->col < 0 || (size_t) c->col >= ncells)
            continue;
        char buf[MAPPING_MAX_CELL + 1];
        if (csvcell_trim(cells[c->col], buf, sizeof buf) < 0 || !*buf)
            continue;
        json_t *v = c->field ? json_object_get(row, c->code)
                             : json_object_get(json_object_get(row, "answers"), c->code);
        char value[CAT_CODE_MAX];
        if (json_is_integer(v))
            snprintf(value, sizeof value, "%lld", (long long) json_integer_value(v));
        else
            snprintf(value, sizeof value, "%s", json_is_string(v) ? json_string_value(v) : "?");
        s_count(k->labels, &k->nlabels, c->col, buf, value, line);
    }
    json_decref(row);
    return 0;
}

static int s_check_sheet_row(void *arg, const char *const *cells, size_t ncells, long row, const char *sheet)
{
    s_check_t *k = arg;
    if (!k->sheet[0])
        snprintf(k->sheet, sizeof k->sheet, "%s", sheet);
    return s_check_record(cells, ncells, row, k);
}

/* Where a row is, as the import's messages name it: "FILE:LINE" for CSV,
 * "FILE: SHEET!ROW" for a workbook. */
static const char *s_where(const s_check_t *k, const char *path, long line, char *buf, size_t len)
{
    if (k->sheet[0])
        snprintf(buf, len, "%s: %s!%ld", path, k->sheet, line);
    else
        snprintf(buf, len, "%s:%ld", path, line);
    return buf;
}

/* The lines of the mapping file still marked as needing a decision (the
 * draft's markers), into lines (up to max); returns how many there are. */
static size_t s_open_decisions(const char *path, long *lines, size_t max)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    char buf[4096];
    long line = 0;
    size_t n = 0;
    while (fgets(buf, sizeof buf, f)) {
        if (!strchr(buf, '\n') && !feof(f)) { /* a longer line: counted once */
            int ch;
            while ((ch = getc(f)) != EOF && ch != '\n')
                ;
        }
        line++;
        if (strstr(buf, "NEEDS A DECISION") || strstr(buf, "BESLUT BEHÖVS")) {
            if (n < max)
                lines[n] = line;
            n++;
        }
    }
    fclose(f);
    return n;
}

fin_err_t mapcheck_file(const char *path, mapping_t *map, const insatser_t *insatser, report_lang_t lang,
                        FILE *out, size_t *refused, size_t *open, char *err, size_t errlen)
{
    bool en = lang == REPORT_EN;
    s_check_t k = {.map = map, .out = out, .rc = FIN_OK, .err = err, .errlen = errlen, .en = en};
    k.labels = calloc(S_MAX_SEEN, sizeof *k.labels);
    k.reasons = calloc(S_MAX_SEEN, sizeof *k.reasons);
    uint8_t key[ANON_KEY_LEN];
    randombytes_buf(key, sizeof key);
    anon_t *throwaway = anon_new(key);
    sodium_memzero(key, sizeof key);
    k.imp = throwaway ? import_new(map->cat, throwaway, "check", (int64_t) time(NULL)) : NULL;
    fin_err_t rc;
    if (!k.labels || !k.reasons || !k.imp) {
        rc = fin_fail(err, errlen, FIN_ENOMEM, "out of memory");
        goto free_sets;
    }
    import_set_insatser(k.imp, insatser);
    import_set_window(k.imp, mapping_window_days(map));
    if (sheet_is_sheet(path))
        rc = sheet_read(path, path, mapping_sheet(map), s_check_sheet_row, &k, err, errlen);
    else
        rc = csvimport_scan(path, mapping_separator(map), mapping_encoding(map), s_check_record, &k, NULL,
                            err, errlen);
    if (rc == FIN_OK && k.rc != FIN_OK)
        rc = k.rc;
    if (rc == FIN_OK && !k.bound)
        rc = fin_fail(err, errlen, FIN_EINPUT, "%s: header: the file is empty", path);
    if (rc != FIN_OK)
        goto free_sets;
    fprintf(out,
            T("%s: %zu %s, %zu columns; the mapping reads %zu, drops %zu",
              "%s: %zu %s, %zu kolumner; mappningen läser %zu, utelämnar %zu"),
            path, k.rows, s_rows(en, k.rows), mapping_ncolumns(map),
            mapping_ncolumns(map) - mapping_nunmapped(map), mapping_nunmapped(map));
    if (*mapping_unmapped_names(map)) {
        fprintf(out, " (");
        report_names_print(out, lang, mapping_unmapped_names(map));
        fprintf(out, ")");
    }
    fprintf(out, "\n");
    for (size_t i = 0; i < map->ncols; i++) {
        const mapping_col_t *c = &map->cols[i];
        const char *h = mapping_header(map, c->col);
        if (*h && !anon_contains_identifying(h))
            fprintf(out, T("column %d \"%s\": ", "kolumn %d \"%s\": "), c->col + 1, h);
        else
            fprintf(out, T("column %d: ", "kolumn %d: "), c->col + 1);
        if (c->field)
            fprintf(out, "%s%s\n", c->code,
                    c->field->type == MAPPING_F_PNR || !strcmp(c->code, "response_id") ||
                            !strcmp(c->code, "insats")
                        ? T(" (values not shown)", " (värden visas inte)")
                        : "");
        else
            fprintf(out, T("item %s, scale %s%s\n", "fråga %s, skala %s%s\n"), c->code, c->scale->code,
                    c->required ? T(", required", ", obligatorisk") : "");
        for (size_t j = 0; j < k.nlabels; j++)
            if (k.labels[j].col == c->col)
                fprintf(out, "  \"%s\" = %s: %zu %s\n", k.labels[j].label, k.labels[j].value,
                        k.labels[j].rows, s_rows(en, k.labels[j].rows));
    }
    for (size_t i = 0; i < map->nvalues; i++)
        fprintf(out, T("every row: %s = %s\n", "varje rad: %s = %s\n"), map->values[i].field->name,
                map->values[i].text);
    fprintf(out,
            T("rows: %zu pass the mapping, %zu refused\n", "rader: %zu går igenom mappningen, %zu avvisas\n"),
            k.passed, k.refused);
    for (size_t j = 0; j < k.nreasons; j++) {
        const char *h = k.reasons[j].col >= 0 ? mapping_header(map, k.reasons[j].col) : "";
        char where[600], why[1200];
        s_where(&k, path, k.reasons[j].first_line, where, sizeof where);
        report_reason(lang, k.reasons[j].label, why, sizeof why);
        if (k.reasons[j].col < 0)
            fprintf(out, T("%s: row: %s; %zu %s\n", "%s: rad: %s; %zu %s\n"), where, why, k.reasons[j].rows,
                    s_rows(en, k.reasons[j].rows));
        else if (*h)
            fprintf(out, T("%s: column %d \"%s\": %s; %zu %s\n", "%s: kolumn %d \"%s\": %s; %zu %s\n"), where,
                    k.reasons[j].col + 1, h, why, k.reasons[j].rows, s_rows(en, k.reasons[j].rows));
        else
            fprintf(out, T("%s: column %d: %s; %zu %s\n", "%s: kolumn %d: %s; %zu %s\n"), where,
                    k.reasons[j].col + 1, why, k.reasons[j].rows, s_rows(en, k.reasons[j].rows));
    }
    for (size_t c = 0; c < k.ncells; c++) {
        if (!k.unread_filled[c] || k.unread_labels[c] * 2 < k.unread_filled[c])
            continue;
        const char *h = mapping_header_of_any(map, (int) c);
        bool named = *h && !anon_looks_identifying(h) && !anon_contains_identifying(h);
        fprintf(
            out,
            T("column %zu%s%s%s: not read, though its answers are on a catalogue scale; if it is one of "
              "the catalogue's questions, map it in [answers]\n",
              "kolumn %zu%s%s%s: läses inte, fast svaren står på en av katalogens skalor; om det är en av "
              "katalogens frågor, ange den i [answers]\n"),
            c + 1, named ? " \"" : "", named ? h : "", named ? "\"" : "");
    }
    long lines[12];
    size_t nopen = s_open_decisions(map->path, lines, 12);
    if (nopen) {
        fprintf(out,
                T("decisions still open in %s: %zu, marked NEEDS A DECISION on line",
                  "beslut som återstår i %s: %zu, märkta BESLUT BEHÖVS på rad"),
                map->path, nopen);
        for (size_t j = 0; j < nopen && j < 12; j++)
            fprintf(out, "%s %ld", j ? "," : "", lines[j]);
        fprintf(out,
                T("%s; decide each and remove its mark\n", "%s; bestäm var och en och ta bort markeringen\n"),
                nopen > 12 ? ", ..." : "");
    }
    fprintf(out, T("not checked here: whether the rows are new to this agent (its outbox); "
                   "`finsam-agent import FILE --mapping M --dry-run` checks that too\n",
                   "kontrolleras inte här: om raderna är nya för agenten (utkorgen); "
                   "`finsam-agent import FIL --mapping M --dry-run` kontrollerar det också\n"));
    if (refused)
        *refused = k.refused;
    if (open)
        *open = nopen;
free_sets:
    import_destroy(&k.imp);
    anon_destroy(&throwaway);
    free(k.unread_filled);
    free(k.unread_labels);
    for (size_t j = 0; k.labels && j < k.nlabels; j++)
        free(k.labels[j].label);
    for (size_t j = 0; k.reasons && j < k.nreasons; j++)
        free(k.reasons[j].label);
    free(k.labels);
    free(k.reasons);
    return rc;
}
