/* jsonl.h: `finsam-agent import FILE` for canonical JSON lines
 * (docs/import-jsonl.md): one JSON object per line, blank lines skipped.
 *
 * Not here: the rows' rules (import.h), CSV files (csvimport.h). */
#ifndef FINSAM_JSONL_H
#define FINSAM_JSONL_H

#include "import.h"

/* Lines longer than this are refused as rows. */
#define JSONL_MAX_LINE (64 * 1024)

/* Reads FILE, validates every line, prints errors as "FILE:LINE: FIELD:
 * reason" to o->errors and a summary to o->report (FILE: o->label, or the
 * path), and stores everything in one transaction only if no line failed
 * (import_finish). Returns a sysexits code: 0, EX_DATAERR (nothing
 * stored), EX_NOINPUT (cannot open FILE), EX_IOERR (read or outbox
 * failure). */
int jsonl_import_file(const char *path, const import_opts_t *o);

#endif
