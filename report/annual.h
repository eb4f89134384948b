/* annual.h: the yearly indicator report (issue 18, docs/report.md) — one
 * self-contained HTML document per förbund, or the national edition,
 * written from the official figures of the approved periods.
 *
 * The design decision: the report is one more reader of query_run. Its
 * numbers are the rows query_run gives for the official figures
 * (official.h: the locked counts, published with the collector's
 * protection) and for coverage (coverage.h); a row query_run hides is
 * shown as withheld with the reason a reader may know, never computed
 * around. So the report shows exactly what `finsamctl query --official`
 * and the API show, and no small cell can reach it another way. Labels
 * come from the catalogue and the förbund registry; no measure id,
 * instrument code or key appears in the text.
 *
 * The document: a cover with the contents, a summary, one page per
 * indicator (each measure for the förbund beside its län and Riket, a
 * chart as inline SVG written here, the 95 % interval, the change against
 * the year before, integrated collaboration against projects), coverage,
 * the approval state of every förbund, and a short method appendix. Each
 * part starts a new A4 page (CSS), so the printed page count is the
 * number of parts (annual_info_t.pages); page numbers come from CSS
 * @page margin boxes. No script, no external request.
 *
 * Not here: printing to PDF (a separate program, ctl/ runs headless
 * Chromium on the HTML). */
#ifndef FINSAM_ANNUAL_H
#define FINSAM_ANNUAL_H

#include "catalogue.h"
#include "err.h"
#include "ledger.h"

#include <stdio.h>

typedef struct {
    int year;
    const char *forbund; /* NULL: the national edition */
    const char *lang;    /* "sv" (default) or "en" */
} annual_request_t;

typedef struct {
    int pages;      /* parts, each starting a page */
    int approved;   /* förbund in the official figures */
    int withheld;   /* rows shown as withheld */
    double seconds; /* to compute and write */
} annual_info_t;

/* Writes the report to out. catalogue: the catalogue in force with the
 * förbund registry applied. FIN_OK; FIN_EINPUT when the förbund edition
 * asks for a förbund whose year is not approved (err says its state and
 * the command that approves it) or nothing is approved for the year in
 * the national edition; FIN_ENOTFOUND for an unknown förbund; else a
 * store failure. On failure out may hold a part of the document. */
fin_err_t annual_html(ledger_t *ledger, const catalogue_t *catalogue, const annual_request_t *req, FILE *out,
                      annual_info_t *info, char *err, size_t errlen);

#endif
