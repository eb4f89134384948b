/* mapping.h: how the columns of a site's CSV export become canonical import
 * rows (docs/import-csv.md has the INI format).
 *
 * A mapping_t is loaded once from an INI file (inih), checked against the
 * catalogue, then bound to a file's header row. For each record it builds
 * the same JSON row a JSONL file would hold, so CSV and JSONL rows share
 * import_row's checks, event ids and corrections. The design decision:
 * only named columns are ever read. Every other column (names, addresses,
 * phone numbers, free text) is skipped unseen and only counted.
 *
 * What this file does itself: answer labels -> scale values, source labels
 * -> canonical codes, Swedish decimal commas, dates as YYYY-MM-DD or
 * D/M/YYYY, and refusing cells of mapped columns that contain something
 * that looks like a personnummer, phone number or e-mail address. Reasons
 * never repeat a cell's value, except an unknown answer label (a survey
 * label, in a cell already checked for identifiers). Bare numbers on a
 * yes/no or agree5 item are refused unless a label set names them. Not here: reading bytes, encodings and CSV
 * syntax (csvimport.c). */
#ifndef FINSAM_MAPPING_H
#define FINSAM_MAPPING_H

#include "catalogue.h"
#include "err.h"
#include "row.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct mapping_t mapping_t;

typedef enum { MAPPING_ENC_AUTO, MAPPING_ENC_UTF8, MAPPING_ENC_LATIN1 } mapping_encoding_t;

/* Loads and checks the INI file `path` against `cat` (borrowed; must outlive
 * the mapping). Returns FIN_OK, or (*out NULL) with the reason in err:
 * FIN_ENOTFOUND ("PATH: cannot open: ..."), FIN_ECONFIG ("PATH:LINE:
 * reason"), FIN_ENOMEM. */
fin_err_t mapping_load(mapping_t **out, const char *path, const catalogue_t *cat, char *err, size_t errlen);

/* Frees; NULL-safe, sets *self_p to NULL. */
void mapping_destroy(mapping_t **self_p);

/* Reads the mapping's file again when it changed since it was read (its
 * inode, size or modification time), so a running agent uses what staff
 * last saved: the same pointer then holds the new mapping (*reloaded).
 * A file that no longer loads leaves the mapping as it was and returns
 * mapping_load's code and reason (the next call tries again). Call
 * between files, never while a file is being read. */
fin_err_t mapping_follow(mapping_t *self, bool *reloaded, char *err, size_t errlen);

/* The separator set in [file] separator (';', ',', '\t'), or 0 for auto. */
char mapping_separator(const mapping_t *self);

/* [file] correction-window-days, or -1 when the mapping does not set it
 * (import_set_window). */
int mapping_window_days(const mapping_t *self);

/* The encoding set in [file] encoding. */
mapping_encoding_t mapping_encoding(const mapping_t *self);

/* The sheet set in [file] sheet (a name, or a number from 1), or NULL
 * for the first; for workbooks (sheet.c). Borrowed. */
const char *mapping_sheet(const mapping_t *self);

/* Binds the mapping to a header row of ncells NUL-terminated cells
 * (borrowed for the call only). Every mapped column must be found exactly
 * once; header names compare trimmed and case-insensitively, `Text*`
 * matches by prefix, `#N` is the N-th column. Rebinding replaces the last
 * binding. Returns FIN_OK, or with a reason in err FIN_EINPUT (the header
 * does not fit the mapping) or FIN_ENOMEM. */
fin_err_t mapping_bind(mapping_t *self, const char *const *cells, size_t ncells, char *err, size_t errlen);

/* After mapping_bind: the number of header columns, the number the
 * mapping does not read, and up to 8 of their names (only names made of
 * letters, digits, '_' and '-'), comma separated. */
size_t mapping_ncolumns(const mapping_t *self);
size_t mapping_nunmapped(const mapping_t *self);
const char *mapping_unmapped_names(const mapping_t *self);

/* Builds the canonical row of one record (ncells cells, NUL-terminated,
 * borrowed for the call). Returns a new JSON object (caller json_decref's),
 * or NULL with *col set to the 0-based column at fault (-1: none) and the
 * reason in why. */
json_t *mapping_row(const mapping_t *self, const char *const *cells, size_t ncells, int *col, char *why,
                    size_t whylen);

/* mapping_row without JSON: fills *out (reused from row to row; see
 * row_fields_t) with the fields and answers of one record, for
 * import_row_fields. The same cells give the same values, and the same
 * failure: returns 0, or -1 with *col and why as mapping_row sets them.
 * Strings in *out are valid until the next fill or until the mapping
 * is rebound or followed. */
int mapping_fill(const mapping_t *self, const char *const *cells, size_t ncells, row_fields_t *out, int *col,
                 char *why, size_t whylen);

/* The 0-based column a canonical field came from ("personnummer",
 * "answers.d_behov"), or -1 if it is not read from a column (a [values]
 * constant, or not mapped). */
int mapping_column_of(const mapping_t *self, const char *field);

/* True if the canonical field (e.g. "insats") comes from a column or a
 * [values] constant. */
bool mapping_has_field(const mapping_t *self, const char *field);

/* Header text of bound column col (borrowed, valid until the next bind or
 * destroy) if the mapping found that column by its header text, else "":
 * the header cell of a #N column (or of an unmapped one) may be a data
 * row's cell when an export has no header line. */
const char *mapping_header(const mapping_t *self, int col);

/* The header of any column, mapped or not, when the mapping found a
 * column by its header text (the first line is then a header), else "". */
const char *mapping_header_of_any(const mapping_t *self, int col);

/* The start of the reasons a reader may gather once per column and label
 * rather than print once per row (csvimport.c): an unknown answer label
 * (the label follows in quotes; it is a survey label, never a cell of an
 * identifying column) and a bare number on a labelled scale. */
#define MAPPING_LABEL_WHY "unknown answer label"
#define MAPPING_NUMBERS_WHY "holds numbers for %s item; say what they mean in [labels.%s], e.g. %s"
/* A date Excel wrote as its serial number (46095). */
#define MAPPING_SERIAL_WHY                                                                                   \
    "this is an Excel date number, not a date; format the column as a date (YYYY-MM-DD) before exporting, "  \
    "or "                                                                                                    \
    "export as .xlsx"
/* A 10-digit personnummer whose leading 0 a number cell dropped. */
#define MAPPING_LOSTZERO_WHY                                                                                 \
    "9 digits: a number cell dropped the leading 0 of a 10-digit personnummer (born 2000-2009); format the " \
    "column as Text before exporting, or export the 12-digit form"
/* A personnummer Excel wrote as 1,98503E+11. */
#define MAPPING_EXCEL_WHY                                                                                    \
    "this is a number Excel shortened; format the column as Text before exporting, or export as .xlsx"

#endif
