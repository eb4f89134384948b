/* cellmap.h: one transaction's changes, keyed by cell — the in-memory
 * table in which aggregate.c gathers cell deltas and diststore.c gathers
 * distribution counts before each is read-modify-written once at flush.
 *
 * Keys have one fixed length per map (a 46-byte cell key, a 50-byte
 * distribution entry key) and values one fixed size (a cell_t, an
 * int64_t). Iteration is in insertion order, so a flush writes in the
 * order the events touched the cells. The hash is in memory only: it is
 * never stored and may change freely. Not thread-safe: one per writer. */
#ifndef FINSAM_CELLMAP_H
#define FINSAM_CELLMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct cellmap_t cellmap_t;

/* A map of keylen-byte keys to valsize-byte values (valsize a multiple of
 * 8, so values are aligned for integers); NULL when out of memory. */
cellmap_t *cellmap_new(size_t keylen, size_t valsize);
void cellmap_destroy(cellmap_t **self_p);

/* Forgets every entry (keeps the memory for the next transaction). */
void cellmap_clear(cellmap_t *self);

/* The value of key, created zeroed when new; NULL when out of memory.
 * Valid until the next cellmap_get or cellmap_clear. */
void *cellmap_get(cellmap_t *self, const uint8_t *key);

/* Entries in insertion order: i from 0 to cellmap_size() - 1. */
size_t cellmap_size(const cellmap_t *self);
const uint8_t *cellmap_key(const cellmap_t *self, size_t i);
void *cellmap_value(const cellmap_t *self, size_t i);

#endif
