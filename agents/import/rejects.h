/* rejects.h: the rejected rows of one import, as staff read them.
 *
 * Each rejected row is said with where it is (FILE:LINE for a text file,
 * FILE: SHEET!CELL for a workbook), the column's header and the reason, up
 * to a limit, then "... and N more". A reason that is one decision for
 * staff rather than one per row (an unknown answer label, bare numbers on a
 * labelled scale: mapping.h) is gathered and said once per column, with the
 * row count and the numbers seen. All of it in the report's language
 * (import_opts_t.lang): Swedish by default, the checks' English with
 * --lang en (report_reason).
 *
 * The CSV, workbook and JSON-lines readers share it, so a row is reported
 * the same whatever the file it came in.
 *
 * Not here: deciding that a row is bad (mapping_row, import_row), the
 * summary (report_import_summary). */
#ifndef FINSAM_REJECTS_H
#define FINSAM_REJECTS_H

#include "import.h"
#include "mapping.h"

typedef struct rejects_t rejects_t;

/* For the file messages name `label`; map (borrowed, may be NULL for
 * JSONL) names columns by their header. NULL when out of memory. */
rejects_t *rejects_new(const import_opts_t *o, const char *label, const mapping_t *map);
void rejects_destroy(rejects_t **self_p);

/* A rejected row: sheet NULL for a text file (line is its line), else the
 * workbook's sheet (line is the row); col the column from 0, or -1 with
 * `field` naming what is wrong ("row", or a JSONL field); `why` the
 * reason in English. `cell` is the column's text, read only to name the
 * bare numbers of a labelled scale (answer values), never printed; may be
 * NULL. */
void rejects_add(rejects_t *self, const char *sheet, long line, int col, const char *field, const char *why,
                 const char *cell);

/* A reason that stops the whole file, about its header ("header") or its
 * syntax ("csv"), printed at once: "FILE:LINE: header: why". */
void rejects_file(rejects_t *self, const char *sheet, long line, const char *what, const char *why);

/* Prints the gathered reasons and "... and N more"; returns the number
 * of rows rejected. */
size_t rejects_finish(rejects_t *self);

/* A column's letters as in a cell reference: 0 -> A, 26 -> AA. */
void rejects_col_name(long col, char out[8]);

#endif
