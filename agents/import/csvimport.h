/* csvimport.h: `finsam-agent import FILE.csv --mapping MAP.ini`.
 *
 * Reads a site's CSV export (UTF-8 with or without BOM, or Latin-1 /
 * Windows-1252, detected by the bytes not being valid UTF-8; ';', ',' or
 * tab separated, detected from the header line unless the mapping says;
 * quoted fields may hold separators and newlines), turns each record into a
 * canonical row with a mapping_t and feeds it to import_row, so a CSV row
 * and the same row as JSONL give the same event. All rows or none are
 * stored, as for JSONL.
 *
 * Errors name FILE:LINE (the physical line where the record starts), the
 * column number and its header, and a reason; never a cell's value but an
 * unknown answer label or a bare number on a labelled scale, which are
 * said once per column and label with their rows (mapping.h). Blank rows
 * and rows of bare separators are skipped.
 *
 * Not here: which column means what (mapping.c), event rules (import.c). */
#ifndef FINSAM_CSVIMPORT_H
#define FINSAM_CSVIMPORT_H

#include "import.h"
#include "mapping.h"

/* Files larger than this are refused (the file is decoded in memory). */
#define CSVIMPORT_MAX_BYTES (1024L * 1024 * 1024)

/* True if the file name says CSV: ends in .csv, .tsv or .txt (any case).
 * Everything else is taken for canonical JSONL. */
bool csvimport_is_csv(const char *path);

/* Imports one CSV file with the mapping (bound to the file's header on the
 * way; otherwise borrowed). Prints rejected rows to o->errors and the
 * summary to o->report. Returns (see import_opts_t for err): FIN_OK,
 * FIN_EINPUT (bad header, encoding, CSV syntax or rows, reasons on
 * o->errors; or a file larger than CSVIMPORT_MAX_BYTES, reason in err:
 * nothing stored), FIN_ENOTFOUND (cannot open FILE), FIN_EAGAIN (the file
 * changed while being read), FIN_EIO (read error), FIN_ENOMEM, or the
 * outbox's code (nothing stored). */
fin_err_t csvimport_file(const char *path, mapping_t *map, const import_opts_t *o, char *err, size_t errlen);

/* One record of csvimport_scan: ncells NUL-terminated cells (borrowed for
 * the call), the physical line it starts on (the header is the first).
 * Returns 0 to go on, -1 to stop the scan (csvimport_scan then returns
 * FIN_OK). */
typedef int(csvimport_record_fn)(const char *const *cells, size_t ncells, long line, void *arg);

/* Reads a CSV file as csvimport_file does (encoding by sep/enc or the
 * bytes, separator sep or detected when 0) and calls fn for each record,
 * blank rows and rows of bare separators left out, without importing: for
 * `mapping draft` and `mapping check`. *sep_out (if not NULL) gets the
 * separator used. Returns FIN_OK, or a code with the reason in err
 * (FIN_EINPUT: CSV syntax, UTF-16; as csvimport_file otherwise). */
fin_err_t csvimport_scan(const char *path, char sep, mapping_encoding_t enc, csvimport_record_fn *fn,
                         void *arg, char *sep_out, char *err, size_t errlen);

#endif
