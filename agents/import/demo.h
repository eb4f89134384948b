/* demo.h: a realistic synthetic event stream for one förbund, for demos,
 * load tests and end-to-end tests (`finsam-agent demo`).
 *
 * Synthetic participants (valid but invented personnummer) go through
 * entry status, an ongoing survey, exit status and exit survey with a
 * tendency to improve, and some through 6- and 12-month follow-ups; staff
 * surveys and one organisation report per year are mixed in. Dates cover
 * the last ~24 months in order. Every row takes the same path as an
 * imported one (import_row: anonymize, validate) into the outbox.
 *
 * Not here: sending (main.c runs the sender afterwards). */
#ifndef FINSAM_DEMO_H
#define FINSAM_DEMO_H

#include "anonymize.h"
#include "catalogue.h"
#include "import.h"
#include "outbox.h"

#include <stdint.h>

/* Generates `events` rows from `seed` (same seed and day: same rows, so a
 * rerun adds nothing) and queues them in transactions of 10,000. Adds the
 * outcome to *stats. Returns 0, -1 if a generated row failed validation
 * (a bug, logged), or an outbox error code (outbox_strerror); transactions
 * committed before a failure stay. */
int demo_fill(outbox_t *outbox, const catalogue_t *cat, const anon_t *anon, const char *forbund, long events,
              uint64_t seed, int64_t now_s, import_stats_t *stats);

#endif
