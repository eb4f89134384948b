/* feed.h: the protected aggregate feed — what subscribers whose
 * certificate says access "aggregates" receive, live and as a snapshot.
 *
 * It is the publication (publish.h) seen through query.c's protection,
 * row by row: the same perturbed state, the same hidden rows, förbund,
 * län and nation, every period and slice — exactly what the HTTP API and
 * finsamctl show at that log position. After each publication the feed
 * sends only the rows whose protected content changed (it remembers a
 * 64-bit hash per row, not the rows). Not thread-safe: the collector's
 * main thread owns it. */
#ifndef FINSAM_FEED_H
#define FINSAM_FEED_H

#include "catalogue.h"
#include "cell.h"
#include "codec.h"
#include "ledger.h"
#include "protect.h"

#include <stddef.h>
#include <stdint.h>

#define FEED_ROW_KEY_MAX 160

typedef struct feed_t feed_t;

/* Borrows ledger, catalogue and protect; they must outlive the feed. */
feed_t *feed_new(ledger_t *ledger, const catalogue_t *catalogue, const protect_t *protect);
void feed_destroy(feed_t **self_p);

/* The catalogue to name förbund and län with from now on (borrowed): the
 * collector passes the registry's latest before each walk, so a förbund
 * added or renamed with `finsamctl forbund` reaches subscribers without a
 * restart (registry_live_get). Its measures must be the same as before. */
void feed_set_catalogue(feed_t *self, const catalogue_t *catalogue);

/* One protected row as a stream message: topic agg.<measure>.<name>.<period>,
 * payload an encoded CellUpdate (protected = true, seq = publication seq),
 * and a row key that orders the snapshot. Returns 0 to go on. */
typedef int (*feed_send_fn)(const char *topic, const uint8_t *payload, size_t len, const char *row_key,
                            void *arg);

/* After a publication at seq: sends every row whose protected content
 * changed since the last update (every row the first time), and a
 * removal for rows that disappeared. Returns 0 or an LMDB error. */
int feed_update(feed_t *self, uint64_t seq, feed_send_fn send, void *arg);

/* The snapshot: every current row after row key `after` ("" from the
 * start), at most limit of them, in row-key order of the walk. Sets
 * *done when the last row was sent. Returns 0 or an LMDB error. */
int feed_snapshot(feed_t *self, uint64_t seq, const char *after, uint32_t limit, feed_send_fn send, void *arg,
                  bool *done);

/* Fills a CellUpdate's state fields from c; hist is the caller's buffer
 * the message points into (valid while u is used). Shared with the exact
 * cells of collector/stream_fanout.c. */
void feed_cell_state(Finsam__V1__CellUpdate *u, const cell_t *c, int64_t hist[CELL_HIST]);

#endif
