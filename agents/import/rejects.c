/* rejects.c: the rejected rows of one import, as staff read them (see
 * rejects.h). */
#include "rejects.h"

#include "csvcell.h"
#include "report_text.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_ERRORS 20
/* Distinct (column, reason) pairs gathered into one line each. */
#define S_MAX_GATHERED 64
/* The start of the bare-number reason (MAPPING_NUMBERS_WHY). */
#define S_NUMBERS "holds numbers for "

/* A reason said once for all the rows that have it. */
typedef struct {
    int col;
    char why[400];
    char sheet[64];
    long first_line;
    size_t rows;
    long long numbers[8]; /* the distinct bare numbers seen, to name them */
    size_t nnumbers;
} s_gathered_t;

struct rejects_t {
    const import_opts_t *o;
    const char *label;
    const mapping_t *map;
    size_t max_errors, rows, printed;
    s_gathered_t gathered[S_MAX_GATHERED];
    size_t ngathered;
};

rejects_t *rejects_new(const import_opts_t *o, const char *label, const mapping_t *map)
{
    rejects_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->o = o;
    self->label = label;
    self->map = map;
    self->max_errors = o->max_errors > 0 ? (size_t) o->max_errors : S_MAX_ERRORS;
    return self;
}

void rejects_destroy(rejects_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free(*self_p);
    *self_p = NULL;
}

void rejects_col_name(long col, char out[8])
{
    char tmp[8];
    int n = 0;
    for (long c = col + 1; c > 0 && n < 7; c = (c - 1) / 26)
        tmp[n++] = (char) ('A' + (c - 1) % 26);
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
}

static bool s_en(const rejects_t *self)
{
    return self->o->lang == REPORT_EN;
}

/* "FILE:LINE: column N "Header": why; K rows", or with a sheet
 * "FILE: Svar!C7 "Header": why; K rows". */
static void s_print(const rejects_t *self, const char *sheet, long line, int col, const char *field,
                    const char *why, size_t rows)
{
    FILE *f = self->o->errors;
    bool en = s_en(self);
    char text[1200];
    report_reason(self->o->lang, why, text, sizeof text);
    const char *header = col >= 0 && self->map ? mapping_header(self->map, col) : "";
    if (sheet && col >= 0) {
        char name[8];
        rejects_col_name(col, name);
        fprintf(f, "%s: %s!%s%ld", self->label, sheet, name, line);
    } else if (sheet) {
        fprintf(f, "%s: %s!%ld", self->label, sheet, line);
    } else {
        fprintf(f, "%s:%ld", self->label, line);
    }
    if (col >= 0 && sheet)
        fprintf(f, *header ? " \"%s\"" : "%s", header);
    else if (col >= 0)
        fprintf(f,
                *header ? (en ? ": column %d \"%s\"" : ": kolumn %d \"%s\"")
                        : (en ? ": column %d%s" : ": kolumn %d%s"),
                col + 1, header);
    else
        fprintf(f, ": %s", !strcmp(field, "row") && !en ? "rad" : field);
    fprintf(f, ": %s", text);
    if (rows)
        fprintf(f, en ? "; %zu row%s" : "; %zu rad%s", rows, rows == 1 ? "" : en ? "s" : "er");
    fputc('\n', f);
}

static bool s_gather(rejects_t *self, const char *sheet, long line, int col, const char *why,
                     const char *cell)
{
    if (col < 0 || (strncmp(why, MAPPING_LABEL_WHY, strlen(MAPPING_LABEL_WHY)) &&
                    strncmp(why, S_NUMBERS, strlen(S_NUMBERS))))
        return false;
    s_gathered_t *g = NULL;
    for (size_t i = 0; i < self->ngathered && !g; i++)
        if (self->gathered[i].col == col && !strcmp(self->gathered[i].why, why))
            g = &self->gathered[i];
    if (!g && self->ngathered == S_MAX_GATHERED)
        return false;
    if (!g) {
        g = &self->gathered[self->ngathered++];
        memset(g, 0, sizeof *g);
        g->col = col;
        snprintf(g->why, sizeof g->why, "%s", why);
        snprintf(g->sheet, sizeof g->sheet, "%s", sheet ? sheet : "");
        g->first_line = line;
    }
    g->rows++;
    long long n;
    bool frac, up, seen = false;
    if (cell && !strncmp(why, S_NUMBERS, strlen(S_NUMBERS)) && csvcell_number(cell, &n, &frac, &up) == 0) {
        for (size_t i = 0; i < g->nnumbers && !seen; i++)
            seen = g->numbers[i] == n;
        if (!seen && g->nnumbers < sizeof g->numbers / sizeof *g->numbers)
            g->numbers[g->nnumbers++] = n;
    }
    return true;
}

void rejects_add(rejects_t *self, const char *sheet, long line, int col, const char *field, const char *why,
                 const char *cell)
{
    self->rows++;
    if (s_gather(self, sheet, line, col, why, cell))
        return;
    if (++self->printed > self->max_errors)
        return;
    s_print(self, sheet, line, col, field, why, 0);
}

void rejects_file(rejects_t *self, const char *sheet, long line, const char *what, const char *why)
{
    char text[1200];
    report_reason(self->o->lang, why, text, sizeof text);
    const char *w = !strcmp(what, "header") && !s_en(self) ? "rubrikraden" : what;
    if (sheet)
        fprintf(self->o->errors, "%s: %s!%ld: %s: %s\n", self->label, sheet, line, w, text);
    else
        fprintf(self->o->errors, "%s:%ld: %s: %s\n", self->label, line, w, text);
}

static int s_cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *) a, y = *(const long long *) b;
    return (x > y) - (x < y);
}

size_t rejects_finish(rejects_t *self)
{
    for (size_t i = 0; i < self->ngathered; i++) {
        s_gathered_t *g = &self->gathered[i];
        char why[sizeof g->why + 200];
        if (g->nnumbers && !strncmp(g->why, S_NUMBERS, strlen(S_NUMBERS))) {
            /* "holds numbers 0 and 1 for ...": the numbers as they were
             * (answers on the item's scale, not personal data). */
            qsort(g->numbers, g->nnumbers, sizeof *g->numbers, s_cmp_ll);
            size_t len =
                (size_t) snprintf(why, sizeof why, g->nnumbers == 1 ? "holds the number" : "holds numbers");
            for (size_t k = 0; k < g->nnumbers && len < sizeof why; k++)
                len += (size_t) snprintf(why + len, sizeof why - len, "%s%lld",
                                         k == 0                 ? " "
                                         : k + 1 == g->nnumbers ? " and "
                                                                : ", ",
                                         g->numbers[k]);
            if (len < sizeof why)
                snprintf(why + len, sizeof why - len, " for %s", g->why + strlen(S_NUMBERS));
        } else {
            snprintf(why, sizeof why, "%s", g->why);
        }
        s_print(self, g->sheet[0] ? g->sheet : NULL, g->first_line, g->col, "row", why, g->rows);
    }
    if (self->printed > self->max_errors)
        fprintf(self->o->errors,
                s_en(self) ? "%s: ... and %zu more rejected rows\n" : "%s: ... och %zu avvisade rader till\n",
                self->label, self->printed - self->max_errors);
    return self->rows;
}
