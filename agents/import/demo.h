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
#include "err.h"
#include "import.h"
#include "outbox.h"

#include <stdint.h>

/* Generates `events` rows from `seed` (same seed and day: same rows, so a
 * rerun adds nothing) and queues them in transactions of 10,000. Adds the
 * outcome to *stats. Returns FIN_OK, or with the reason in err:
 * FIN_EINTERNAL (a generated row failed validation: a bug, logged),
 * FIN_ENOMEM, or the outbox's code ("outbox: ..."); transactions committed
 * before a failure stay. */
fin_err_t demo_fill(outbox_t *outbox, const catalogue_t *cat, const anon_t *anon, const char *forbund,
                    long events, uint64_t seed, int64_t now_s, import_stats_t *stats, char *err,
                    size_t errlen);

#endif
