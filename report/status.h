/* status.h: the operators' view of who delivers what, built from the
 * ledger's agent records (read-only). Shared by `finsamctl status` and the
 * HTTP API so both show the same numbers. */
#ifndef FINSAM_STATUS_H
#define FINSAM_STATUS_H

#include "ledger.h"

#include <jansson.h>
#include <stdio.h>

/* Returns a new JSON object {"events_in_log": n, "agents": [...],
 * "forbund": [...]} or NULL on a store error. now_ms gives ages. */
json_t *status_report(ledger_t *ledger, int64_t now_ms);

/* Prints the report as an aligned text table. */
void status_print_table(const json_t *report, FILE *out);

#endif
