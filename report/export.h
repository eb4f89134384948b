/* export.h: every indicator for every slice in one table, for a
 * spreadsheet or another program (`finsamctl export`, /export.csv and
 * /export.json over HTTP).
 *
 * An export is a query_run per slice (all, mode=..., agency=...) merged per
 * measure, so it carries exactly the disclosure control of query.c and the
 * same row shape as `finsamctl query --format json`; nothing here reads a
 * cell itself. The CSV is for Swedish Excel: UTF-8 with BOM, ';' between
 * fields, decimal comma, CRLF, text quoted, and text that a spreadsheet
 * would take for a formula is defused with a leading apostrophe. */
#ifndef FINSAM_EXPORT_H
#define FINSAM_EXPORT_H

#include "query.h"

#include <jansson.h>
#include <stdio.h>

typedef struct {
    const char *measure; /* measure id, indicator number, or NULL for all */
    const char *forbund; /* one förbund (with its län and the nation), or NULL */
    const char *period;  /* "year", "quarter", "month" or one period */
    const protect_t *protect;
    bool exact; /* the operator's exact view (finsamctl only) */
} export_t;

/* Builds {"exported_at":..,"min_units":k,"period":..,"slices":[..],
 * "catalogue_version":v,"measures":[{"id":..,..,"rows":[..]}]} where rows
 * of every slice are merged (each row names its slice). Returns FIN_OK,
 * or query_run's code with the reason in err (FIN_EINPUT for a period or
 * measure it does not know). *out is the caller's, NULL on failure. */
fin_err_t export_run(ledger_t *ledger, const catalogue_t *catalogue, const export_t *e, json_t **out,
                     char *err, size_t errlen);

/* Writes an export_run result as CSV (see above). Returns 0, or -1 on a
 * write error (errno set). */
int export_print_csv(const json_t *result, FILE *out);

#endif
