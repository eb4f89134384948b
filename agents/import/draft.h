/* draft.h: `finsam-agent mapping draft FILE`: a mapping written for staff
 * from what an export holds (CSV, .xlsx or .ods), without importing.
 *
 * The design decision: a draft never guesses silently. What it is sure of
 * (a personnummer column by name and shape, a label the item's scale has)
 * is written as mapping lines; what it is not sure of is written as a
 * commented line and listed under "Decisions needed", so the draft imports
 * as it is or says exactly what to decide. Values of a column that may
 * identify someone are never printed: only their shape and row count.
 *
 * The comments are in Swedish, or English with --lang en; the mapping's
 * keys and the catalogue's codes are syntax and stay.
 *
 * Not here: checking a mapping against a file (mapcheck.c), reading CSV
 * (csvimport_scan) or workbooks (sheet_read), the mapping format
 * (mapping.c). */
#ifndef FINSAM_DRAFT_H
#define FINSAM_DRAFT_H

#include "catalogue.h"
#include "err.h"
#include "mapping.h"
#include "report_text.h"

#include <stdio.h>

/* Distinct values kept per column, with their counts. */
#define DRAFT_MAX_VALUES 40

/* Writes a commented mapping INI for the CSV file or workbook `path`
 * (sheet_is_sheet: the sheet named or numbered by `sheet`, or the one with
 * the most rows if NULL) to out, ending with "; Decisions needed: ..."
 * ("none" if none). *ndecisions (if not NULL) gets their number. Returns FIN_OK, or a code with the reason in
 * err (as csvimport_scan; FIN_EINPUT for a file without rows). */
fin_err_t draft_write(const char *path, const char *sheet, const catalogue_t *cat, report_lang_t lang,
                      FILE *out, int *ndecisions, char *err, size_t errlen);

/* The value a label has on scale sc (norm: the label normalized as
 * csvcell_norm does; the catalogue's own labels and common spellings such
 * as "Instämmer helt"), -2 for a bare whole number, -1 for a label the
 * scale does not know. */
int draft_scale_value(const cat_scale_t *sc, const char *norm);

#endif
