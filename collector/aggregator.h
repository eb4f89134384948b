/* aggregator.h: the collector's thread that keeps the indicator cells up
 * to date beside ingest.
 *
 * Why a thread of its own: an ack needs only what makes the event durable
 * exactly once (log, dedupe index, agent cursor: ingest.h). The cells,
 * participant records and distributions are derived state that `rebuild`
 * can always recompute, so they are kept in an environment of their own
 * (DIR/cells, ledger.h) by this thread, which applies the log in chunks
 * (replay_follow, replay.h) while ingest goes on, each chunk one
 * transaction that also records the last log position it applied. A
 * crash resumes exactly there: no event counted twice or missed, and the
 * cells always equal a rebuild up to the position they name.
 *
 * The thread owns no socket the main thread uses. After each chunk it
 * sends the main thread (aggregator_socket, an inproc PAIR) the position
 * now applied and, when asked for, the cells that changed, which the main
 * thread fans out on the cell stream at that position. */
#ifndef FINSAM_AGGREGATOR_H
#define FINSAM_AGGREGATOR_H

#include "catalogue.h"
#include "err.h"
#include "ledger.h"
#include "secret.h"

#include <stdbool.h>
#include <stdint.h>

/* Largest chunk: bounds how long a chunk's cells wait, and the heap a
 * chunk holds until its commit: the participant records it read (decoded,
 * in memory) and its cell deltas (cellmap.h), which keep their largest
 * size for the next chunk. A chunk also ends at AGGREGATOR_PEOPLE_MAX
 * participant records or AGGREGATOR_CELLS_MAX changed cells. (LMDB's dirty pages are the map's,
 * STORE_WRITEMAP.) */
#define AGGREGATOR_CHUNK_MAX 8192
#define AGGREGATOR_PEOPLE_MAX 2048
#define AGGREGATOR_CELLS_MAX 16384 /* and at this many changed cells (~8 MiB of deltas) */
/* At most one chunk's commit this often while the cells keep up: at a
 * low rate ingest commits every few events, and a commit of the cells
 * after each would rewrite the same pages for no one; cells are shown at
 * most this much later. (The cells' commits are not synced, store.h
 * STORE_DERIVED.) */
#define AGGREGATOR_MIN_GAP_MS 10

typedef struct aggregator_t aggregator_t;

/* Starts the thread on `ledger` (borrowed; must outlive the aggregator)
 * with the catalogue (borrowed) and the ledger's secret (copied).
 * with_cells: send the changed cells with each position. FIN_OK, or a
 * code with the reason in err. */
fin_err_t aggregator_start(aggregator_t **out, ledger_t *ledger, const catalogue_t *catalogue,
                           const uint8_t secret[SECRET_LEN], bool with_cells, char *err, size_t errlen);

/* Stops the thread after its current chunk and frees; NULL-safe. */
void aggregator_stop(aggregator_t **self_p);

/* New events are in the log: wake the thread now rather than at its next
 * look (every AGGREGATOR_IDLE_MS, for appends by other processes). */
#define AGGREGATOR_IDLE_MS 200
/* Once caught up after applying this many events, the cells' unsynced
 * pages are written out at once (store_flush) rather than by the kernel
 * over the next half minute, when new acks would wait behind them. */
#define AGGREGATOR_FLUSH_EVENTS 20000
void aggregator_poke(aggregator_t *self);

/* The main thread's end of the pipe: readable when a chunk was applied. */
void *aggregator_socket(aggregator_t *self);

/* Reads one message from aggregator_socket without blocking: 1 with
 * *applied (the last log position the committed cells reflect) and, for
 * each cell that changed, cell(key, state) if cell is not NULL; 0 if none
 * is waiting. */
typedef void (*aggregator_cell_fn)(const uint8_t *key, size_t keylen, const void *state, size_t statelen,
                                   void *arg);
int aggregator_recv(aggregator_t *self, uint64_t *applied, aggregator_cell_fn cell, void *arg);

/* The last position the thread committed (any thread may ask). */
uint64_t aggregator_applied(const aggregator_t *self);

#endif
