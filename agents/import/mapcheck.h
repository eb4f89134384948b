/* mapcheck.h: `finsam-agent mapping check FILE --mapping M`: a mapping
 * explained against an export (CSV, .xlsx or .ods) before anything is
 * imported, so staff see what an import would do and what is left to
 * decide.
 *
 * The design decision: the check refuses exactly what the import would,
 * because it runs the import's own row checks (import_row) under a site
 * key made for it and thrown away; only whether a row is new to this
 * agent (its outbox) is left to `import --dry-run`. Values of identifying
 * columns are never printed, only labels of answer, gender and mode
 * columns (survey words, not personal data).
 *
 * Not here: drafting a mapping (draft.c), the mapping format (mapping.c). */
#ifndef FINSAM_MAPCHECK_H
#define FINSAM_MAPCHECK_H

#include "err.h"
#include "insatser.h"
#include "mapping.h"
#include "report_text.h"

#include <stdio.h>

/* Explains map against the CSV file or workbook `path` (its [file]
 * sheet) on out, in lang: each mapped column's role or item, each answer
 * and field label with its rows and value, the rows the import would pass
 * or refuse and why (reasons once each with their rows; `insatser` (may be
 * empty) for the insats codes), columns not read whose answers are on a
 * catalogue scale, and the mapping's lines still marked as needing a
 * decision. *refused and *open (if not NULL) get the rows refused and the
 * decisions open. Returns FIN_OK, or a code with the reason in err (the
 * header does not fit: FIN_EINPUT). */
fin_err_t mapcheck_file(const char *path, mapping_t *map, const insatser_t *insatser, report_lang_t lang,
                        FILE *out, size_t *refused, size_t *open, char *err, size_t errlen);

#endif
