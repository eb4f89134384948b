/* rebuild.h: recompute the derived state (cells, participant records,
 * distributions) from the event log and compare it with what the collector
 * maintained incrementally. The invariant
 * (DESIGN.md, Aggregation): after any sequence of events, duplicates and
 * retractions, the stored cells equal the cells rebuilt from the log.
 * Runs on read snapshots, so it is exact also while ingest goes on: the
 * cells are recomputed up to the log position the stored cells reflect
 * (they trail the log by the aggregator's lag), the approvals to the
 * log's end. */
#ifndef FINSAM_REBUILD_H
#define FINSAM_REBUILD_H

#include "catalogue.h"
#include "ledger.h"

#include <stdio.h>

typedef struct {
    uint64_t events, cells, people, dist_entries, approvals, differences;
    uint64_t position; /* the log position the compared cells reflect */
    uint64_t log_end;  /* the last position in the log's snapshot */
    int parts;         /* partitions of the förbund replayed side by side */
    uint64_t busiest;  /* events of the partition that replayed the most */
    double seconds;
} rebuild_report_t;

/* Recomputes into scratch stores in a temporary directory, compares, and
 * prints each difference (up to 20) to out. A batch job: the förbund are
 * split into one partition per core (a förbund's events, people and cells
 * are its own; the largest by their agents' stored events first, each to
 * the least loaded partition), each replayed by a thread of its own into
 * its own scratch store, in chunks of 500,000 events, so most cells are
 * written once.
 * Returns 0, or -1 with err. */
int rebuild_verify(ledger_t *ledger, const catalogue_t *catalogue, rebuild_report_t *report, FILE *out,
                   char *err, size_t errlen);

#endif
