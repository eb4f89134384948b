/* sheet.h: `finsam-agent import FILE.xlsx --mapping MAP.ini` (or FILE.ods).
 *
 * Reads one sheet of an Excel workbook (.xlsx, Office Open XML) or an
 * OpenDocument spreadsheet (.ods, told apart by its parts) as the
 * rows of cell texts a CSV file of the same sheet would hold, and feeds
 * them through the same mapping_bind / mapping_row / import_row /
 * import_finish as csvimport.c: mapping, checks, event ids, report and
 * outbox are the same for both. All rows or none are stored.
 *
 * A cell reads as the text the user sees in Excel: strings as written,
 * numbers without exponent or float noise (198503120000, 12.5), numbers in
 * a date format as YYYY-MM-DD (1900 or 1904 date system), booleans as TRUE
 * or FALSE, errors as Excel shows them (#N/A). Rows of only empty cells
 * are skipped; the first other row is the header.
 *
 * Errors name the file, SHEET!CELL (Blad1!C7), the column header and the
 * reason; never a cell's value.
 *
 * Not here: which column means what (mapping.c), event rules (import.c),
 * the ZIP and XML syntax (libzip and libxml2). */
#ifndef FINSAM_SHEET_H
#define FINSAM_SHEET_H

#include "import.h"
#include "mapping.h"

/* Limits against hostile workbooks: no part of the archive is inflated
 * beyond SHEET_MAX_PART bytes, nor beyond SHEET_MAX_RATIO times its
 * compressed size once it is larger than 1 MiB (a zip bomb); a sheet has
 * at most Excel's own 1,048,576 rows and 16,384 columns, a cell at most
 * SHEET_MAX_CELL bytes of text. */
#define SHEET_MAX_PART (256L * 1024 * 1024)
#define SHEET_MAX_RATIO 200
#define SHEET_MAX_ROWS 1048576L
#define SHEET_MAX_COLS 16384L
#define SHEET_MAX_CELL (64 * 1024)

/* True if the file name says workbook: ends in .xlsx, .xlsm or .ods (any
 * case). */
bool sheet_is_sheet(const char *path);

/* Called for each row that has a non-empty cell, in order: ncells cells
 * (NUL-terminated, "" where the sheet has none; borrowed for the call),
 * `ref` the row's reference for messages ("Blad1!7"). Returns 0 to go on,
 * -1 to stop reading (sheet_read then returns FIN_OK). */
typedef int (*sheet_row_fn)(void *arg, const char *const *cells, size_t ncells, long row, const char *sheet);

/* Reads the sheet named `sheet`, or the N-th if `sheet` is a number from
 * 1, or the first if NULL or "", of the workbook at `path`, calling fn for
 * each row. Returns FIN_OK, or with "LABEL: reason" in err: FIN_ENOTFOUND
 * (cannot open the file), FIN_EINPUT (not a workbook, no such sheet, a
 * part too large, malformed XML or cells, a limit: the cell named),
 * FIN_EIO, FIN_ENOMEM. */
fin_err_t sheet_read(const char *path, const char *label, const char *sheet, sheet_row_fn fn, void *arg,
                     char *err, size_t errlen);

/* Imports the sheet the mapping names ([file] sheet; default the first)
 * of one workbook with the mapping (bound to the sheet's header; otherwise
 * borrowed). Prints rejected rows to o->errors and the summary to
 * o->report. Returns as csvimport_file: FIN_OK, FIN_EINPUT (the file's
 * fault, reasons on o->errors: nothing stored), FIN_ENOTFOUND, FIN_EIO,
 * FIN_ENOMEM, or the outbox's code (nothing stored). */
fin_err_t sheet_import_file(const char *path, mapping_t *map, const import_opts_t *o, char *err,
                            size_t errlen);

#endif
