/* batchq.h: a bounded queue of pointers from one thread to another.
 *
 * csvimport.c reads a file on a thread of its own and hands batches of
 * prepared rows to the import's thread through one of these: the reader
 * waits while the queue is full, the importer while it is empty, so the
 * two cores of a small site machine both work and memory stays bounded.
 * Order is kept: what is pushed first is popped first.
 *
 * Deliberately not here: closing or cancelling (the reader always ends
 * with a batch that says it is the last; the importer always drains),
 * more than one producer or consumer. */
#ifndef FINSAM_BATCHQ_H
#define FINSAM_BATCHQ_H

#include <stddef.h>

typedef struct batchq_t batchq_t;

/* A queue holding up to cap pointers. NULL when out of memory or
 * resources. */
batchq_t *batchq_new(size_t cap);

/* Frees the queue (not what it still holds); NULL-safe, sets *self_p to
 * NULL. No thread may be waiting on it. */
void batchq_destroy(batchq_t **self_p);

/* Appends item (ownership passes to whoever pops it), waiting while the
 * queue is full. */
void batchq_push(batchq_t *self, void *item);

/* Removes and returns the oldest item, waiting while the queue is empty. */
void *batchq_pop(batchq_t *self);

#endif
