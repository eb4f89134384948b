/* query.h: indicator values per förbund, län and nation, per period and
 * slice, with disclosure control applied — the one place that turns cells
 * into numbers a person may see. The CLI, the HTTP API and exports all go
 * through query_run, so suppression cannot be forgotten at one output.
 *
 * Disclosure control:
 *  - primary: a cell resting on fewer than min_units participants or
 *    respondents is `suppressed` (organisation reports are not personal
 *    data and are never suppressed); its count is shown only as "<k";
 *  - complementary: a visible cell is suppressed too when a suppressed
 *    cell could be recovered by subtraction: the only hidden förbund of a
 *    visible län (or the only hidden län of the visible nation), and the
 *    only hidden value of a slice dimension (mode, agency, gender, age)
 *    whose "all" cell is visible, and the only hidden month of a visible
 *    quarter (or quarter of a visible year). The smallest visible sibling
 *    is hidden with it. Decided over every period kind at once, so a
 *    month table and a quarter table never disagree;
 *  - shares of 0 % or 100 % are shown only when n >= 10. */
#ifndef FINSAM_QUERY_H
#define FINSAM_QUERY_H

#include "catalogue.h"
#include "ledger.h"
#include "protect.h"

#include <jansson.h>
#include <stdio.h>

typedef struct {
    const char *measure; /* measure id, indicator number, or NULL for all */
    const char *forbund; /* only this förbund's rows (plus län and nation), or NULL */
    const char *period;  /* "year", "quarter", "month" or one period "2026-Q1" */
    const char *slice;   /* "all", "mode=project", ... */
    /* The ledger's protection (protect_open): the minimum count and the
     * cell-key perturbation. Readers never choose it. */
    const protect_t *protect;
    /* The operator's exact view: no perturbation, no suppression. Only for
     * finsamctl on the data directory, never over the network. */
    bool exact;
} query_t;

/* Builds {"min_units":k,"slice":..,"measures":[{"id":..,"rows":[...]}]}.
 * Returns 0 or a sysexits code with err filled. *out is owned by the caller. */
int query_run(ledger_t *ledger, const catalogue_t *catalogue, const query_t *q, json_t **out, char *err,
              size_t errlen);

void query_print_table(const json_t *result, FILE *out);

#endif
