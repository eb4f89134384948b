/* batchq.c: a bounded single-producer, single-consumer queue (see
 * batchq.h): a ring of pointers under one mutex, with one condition
 * variable for each side. A batch is hundreds of rows, so the lock is
 * taken a few hundred times per 100,000 rows and a lock-free ring would
 * buy nothing measurable. */
#include "batchq.h"

#include <pthread.h>
#include <stdlib.h>

struct batchq_t {
    pthread_mutex_t lock;
    pthread_cond_t not_full, not_empty;
    void **ring;
    size_t cap, head, count;
};

batchq_t *batchq_new(size_t cap)
{
    batchq_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (!(self->ring = calloc(cap ? cap : 1, sizeof *self->ring)))
        goto free_self;
    self->cap = cap ? cap : 1;
    if (pthread_mutex_init(&self->lock, NULL) != 0)
        goto free_ring;
    if (pthread_cond_init(&self->not_full, NULL) != 0)
        goto free_lock;
    if (pthread_cond_init(&self->not_empty, NULL) != 0)
        goto free_not_full;
    return self;
free_not_full:
    pthread_cond_destroy(&self->not_full);
free_lock:
    pthread_mutex_destroy(&self->lock);
free_ring:
    free(self->ring);
free_self:
    free(self);
    return NULL;
}

void batchq_destroy(batchq_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    batchq_t *self = *self_p;
    pthread_cond_destroy(&self->not_empty);
    pthread_cond_destroy(&self->not_full);
    pthread_mutex_destroy(&self->lock);
    free(self->ring);
    free(self);
    *self_p = NULL;
}

void batchq_push(batchq_t *self, void *item)
{
    pthread_mutex_lock(&self->lock);
    while (self->count == self->cap)
        pthread_cond_wait(&self->not_full, &self->lock);
    self->ring[(self->head + self->count) % self->cap] = item;
    self->count++;
    pthread_cond_signal(&self->not_empty);
    pthread_mutex_unlock(&self->lock);
}

void *batchq_pop(batchq_t *self)
{
    pthread_mutex_lock(&self->lock);
    while (self->count == 0)
        pthread_cond_wait(&self->not_empty, &self->lock);
    void *item = self->ring[self->head];
    self->head = (self->head + 1) % self->cap;
    self->count--;
    pthread_cond_signal(&self->not_full);
    pthread_mutex_unlock(&self->lock);
    return item;
}
