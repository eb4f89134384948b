/* draft.h: `finsam-agent mapping draft FILE` and `mapping check FILE
 * --mapping M`: a mapping written for staff from what an export holds
 * (CSV, .xlsx or .ods), and a mapping explained against a file, both
 * without importing.
 *
 * The design decision: a draft never guesses silently. What it is sure of
 * (a personnummer column by name and shape, a label the item's scale has)
 * is written as mapping lines; what it is not sure of is written as a
 * commented line and listed under "Decisions needed", so the draft imports
 * as it is or says exactly what to decide. Values of a column that may
 * identify someone are never printed: only their shape and row count.
 *
 * Both write their comments in Swedish, or English with --lang en; the
 * mapping's keys and the catalogue's codes are syntax and stay.
 *
 * Not here: reading CSV (csvimport_scan) or workbooks (sheet_read), the
 * mapping format (mapping.c). */
#ifndef FINSAM_DRAFT_H
#define FINSAM_DRAFT_H

#include "catalogue.h"
#include "err.h"
#include "insatser.h"
#include "mapping.h"
#include "report_text.h"

#include <stdio.h>

/* Distinct values kept per column, with their counts. */
#define DRAFT_MAX_VALUES 40

/* Writes a commented mapping INI for the CSV file or workbook `path`
 * (sheet_is_sheet: the sheet named or numbered by `sheet`, or the first if
 * NULL) to out, ending
 * with "; Decisions needed: ..." ("none" if none). *ndecisions (if not
 * NULL) gets their number. Returns FIN_OK, or a code with the reason in
 * err (as csvimport_scan; FIN_EINPUT for a file without rows). */
fin_err_t draft_write(const char *path, const char *sheet, const catalogue_t *cat, report_lang_t lang,
                      FILE *out, int *ndecisions, char *err, size_t errlen);

/* Explains map against the CSV file or workbook `path` (its [file]
 * sheet) on out: each mapped column's role or item, each answer and field
 * label with its rows and value, the rows the import would pass or refuse
 * and why (reasons once each with their rows: the import's own row checks,
 * with `insatser` for the insats codes, under a key thrown away at the
 * end), columns not read whose answers are on a catalogue scale, and the
 * mapping's lines still marked as needing a decision. Only whether a row
 * is new to the agent is left to `import --dry-run`. *refused and *open
 * (if not NULL) get the rows refused and the decisions open. Returns
 * FIN_OK, or a code with the reason in err (the header does not fit:
 * FIN_EINPUT). */
fin_err_t draft_check(const char *path, mapping_t *map, const insatser_t *insatser, report_lang_t lang,
                      FILE *out, size_t *refused, size_t *open, char *err, size_t errlen);

#endif
