/* lockview.h: the exact counts of a year as its approvals locked them —
 * the input of the official figures (report/official.h).
 *
 * The design decision: an approved period is locked at a log position
 * (approval.h), and the log is the one source of truth, so the official
 * figures are not a copy taken at approval time but a replay: every
 * event of förbund F at or before the lock of (F, year) goes into a
 * scratch ledger through the very code ingest uses (replay.h); F's later
 * events (late data) and every event of a förbund whose year is not
 * approved are left out. Each förbund keeps a prefix of its own log, so
 * retractions and corrections always find what they name, and nothing
 * approved can change unless the period is reopened. Earlier periods in
 * the scratch ledger are as they were known at the lock (what the
 * comparison with the year before uses).
 *
 * The scratch ledger holds a copy of the source's meta (the secret, the
 * protection parameters, the catalogue fingerprint; not the publication)
 * so the same record keys and the same cell-key noise come out. It lives
 * in a temporary directory removed by lockview_destroy.
 *
 * Not here: publishing it (report/official.h), half-year periods (the
 * locks of half-years are kept and shown, the official figures are per
 * year). */
#ifndef FINSAM_LOCKVIEW_H
#define FINSAM_LOCKVIEW_H

#include "catalogue.h"
#include "err.h"
#include "ledger.h"

#include <stdint.h>

#define LOCKVIEW_MAX_FORBUND 256

typedef struct lockview_t lockview_t;

typedef struct {
    int year;
    int approved; /* förbund whose year is approved, in the view */
    char forbund[LOCKVIEW_MAX_FORBUND][LEDGER_FORBUND_LEN + 1];
    uint64_t lock_seq[LOCKVIEW_MAX_FORBUND];
    uint64_t late_events[LOCKVIEW_MAX_FORBUND];
    uint64_t events; /* events replayed */
    double seconds;
} lockview_info_t;

/* Builds the view of `year` from source's log (a read snapshot; the
 * collector may run). FIN_OK with *out (free with lockview_destroy) and
 * info filled; else a code with the reason in err. */
fin_err_t lockview_build(lockview_t **out, ledger_t *source, const catalogue_t *catalogue, int year,
                         lockview_info_t *info, char *err, size_t errlen);

/* The scratch ledger (valid until lockview_destroy); it may be written
 * (the publication of report/official.h). */
ledger_t *lockview_ledger(lockview_t *self);

/* Closes the scratch ledger and removes its directory; NULL-safe. */
void lockview_destroy(lockview_t **self_p);

#endif
