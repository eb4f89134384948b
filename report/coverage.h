/* coverage.h: who the figures rest on — per förbund, period and
 * instrument, the participants with a status observation at entry and at
 * exit, the respondents of each survey (participant, staff, board,
 * managers, referrers), and the response rate of the participant surveys
 * (the ongoing survey against the entry observations, the exit survey
 * against the exit observations).
 *
 * The design decision: coverage figures are counts of people, so they go
 * the same way as every count — cells in the ledger, published with the
 * cell-key method and suppressed by query_run. They are not added to the
 * catalogue (the live cells, the stream and every existing output stay as
 * they are): coverage_catalogue() builds a small catalogue of coverage
 * measures from the catalogue in force — the same instruments, items and
 * förbund — whose cells report/official.c computes beside the official
 * figures from the same locked log. A respondent of a survey is counted
 * in the measure of the instrument's first item (every imported response
 * answers it, import-jsonl.md); a participant with a status observation in
 * a yes/no measure every observation of that phase feeds. A response rate
 * is the quotient of two published (protected) counts and is withheld when
 * either is; staff, board and manager surveys have no known population in
 * finsam, so they show respondents only.
 *
 * Not here: the live coverage (no cells are kept for it between reports). */
#ifndef FINSAM_COVERAGE_H
#define FINSAM_COVERAGE_H

#include "catalogue.h"
#include "err.h"

/* Measure ids: "cov_status_entry", "cov_status_exit", and "cov_" + the
 * instrument code for each survey instrument. */
#define COVERAGE_STATUS_ENTRY "cov_status_entry"
#define COVERAGE_STATUS_EXIT "cov_status_exit"
/* The indicator number the coverage measures carry. */
#define COVERAGE_INDICATOR 90

/* Builds the coverage catalogue from `base` (instruments, scales, förbund
 * registry, versions). FIN_OK with *out (catalogue_destroy), or a code
 * with the reason in err. */
fin_err_t coverage_catalogue(catalogue_t **out, const catalogue_t *base, char *err, size_t errlen);

#endif
