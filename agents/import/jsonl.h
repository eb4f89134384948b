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
 * (import_finish). Returns (see import_opts_t for err): FIN_OK,
 * FIN_EINPUT (lines rejected: nothing stored), FIN_ENOTFOUND (cannot open
 * FILE), FIN_EIO (read error), FIN_ENOMEM, or the outbox's code. */
fin_err_t jsonl_import_file(const char *path, const import_opts_t *o, char *err, size_t errlen);

#endif
