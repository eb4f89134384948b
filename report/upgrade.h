/* upgrade.h: brings a ledger of the previous schema
 * (LEDGER_SCHEMA_PREVIOUS, ledger.h) to this release's, once, when the
 * collector starts on it. finsamctl refuses an old store and says so.
 *
 * The event log is the source of truth and is not touched. Everything
 * derived from it — cells, participant records, distributions — is
 * dropped and recomputed by replaying the log (replay.h), exactly as
 * `finsamctl rebuild --verify` recomputes it; from 4 to 5 that gives
 * participant records of version 4 (episodes of paired measures, and
 * their gender and age-band slices) and the distributions of day counts.
 * Then the published states are carried over: a published day-count cell
 * loses its day buckets (never published), and where it still equals its
 * cell its distribution is published with it. A cell that the new rules
 * changed (a day-count cell changed since its publication, a paired
 * measure now counted per episode) keeps what readers saw until its next
 * refresh; a day-count cell shows no median or quartiles until then. The
 * version is stamped in the last transaction, so an upgrade cut short
 * (kill -9, disk full) starts again from the beginning at the next
 * start. */
#ifndef FINSAM_UPGRADE_H
#define FINSAM_UPGRADE_H

#include "catalogue.h"
#include "protect.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    bool upgraded;   /* the store held the previous schema and now holds this one */
    uint64_t events; /* events replayed */
    double seconds;
} upgrade_report_t;

/* Upgrades the ledger in directory dir if it holds the previous schema;
 * does nothing (upgraded = false) when it is current or new. params: the
 * collector's protection parameters (stored as protect_open does).
 * Returns 0, or -1 with err. */
int upgrade_run(const char *dir, const catalogue_t *catalogue, const protect_params_t *params,
                upgrade_report_t *report, char *err, size_t errlen);

#endif
