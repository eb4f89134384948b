/* publish.h: the publication — the cell states that every protected
 * output reads (CLI without --exact, HTTP API, dashboard, exports,
 * aggregate stream, snapshot), refreshed on a cadence.
 *
 * The cell-key method (protect.h) makes one contributor more or less give
 * a fresh draw, so the difference of two outputs is the change plus
 * noise. A live system that republished after every commit would still
 * let a reader see one answer's worth of change, through many cells at
 * once. So readers never see the cells as they are, but the `published`
 * copy, and a cell's published state moves only
 *  - at a publication, which runs at most every interval seconds, and
 *  - when at least min_count contributions changed since its last
 *    refresh (the change itself rests on as many people as a cell must),
 *    or when its published state is older than max_age (late answers of
 *    a quiet förbund still arrive, mixed with whatever else changed).
 * The log position and time of the last publication are stored with it
 * (meta "published"), so every output can say what it reflects. The
 * operator's exact view reads the cells themselves. */
#ifndef FINSAM_PUBLISH_H
#define FINSAM_PUBLISH_H

#include "catalogue.h"
#include "cell.h"
#include "ledger.h"
#include "protect.h"

#include <stdint.h>

/* A published value: the cell state and when it was refreshed. */
typedef struct {
    cell_t cell;
    int64_t refreshed_ms;
} publish_entry_t;

#define PUBLISH_VALUE_LEN (CELL_STATE_LEN + 8) /* cell_state_encode, be64 time */

typedef struct {
    uint64_t seq;       /* log position the publication reflects (0: none yet) */
    int64_t at_ms;      /* when it ran */
    uint64_t refreshed; /* cells whose published state moved */
    uint64_t waiting;   /* cells that changed but not enough to move yet */
} publish_report_t;

/* Runs one publication in a write transaction: compares every cell with
 * its published state and refreshes those that qualify (see above).
 * Returns 0 or an LMDB error. */
int publish_run(ledger_t *ledger, const catalogue_t *catalogue, const protect_t *protect, int64_t now_ms,
                int64_t max_age_ms, publish_report_t *report);

/* The last publication's position and time (zeros if none), and how many
 * changed cells were waiting then (for more change or their max age);
 * waiting may be NULL. */
int publish_last(ledger_t *ledger, uint64_t *seq, int64_t *at_ms, uint64_t *waiting);

/* Decodes a stored published value; -1 if the size is wrong. */
int publish_entry_decode(const void *data, size_t len, publish_entry_t *out);

#endif
