/* cache.c: the answers kept for repeated requests (see cache.h).
 *
 * A list in order of use, most recent first, searched from the front: the
 * entries are few (a dashboard asks for a measure at a time, by year,
 * quarter or month; the national table is one more), so a search costs
 * less than the answer's first byte on the wire, and CACHE_MAX_ENTRIES
 * bounds it whatever clients ask for. */
#include "cache.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_MAX_ENTRIES 256

typedef struct s_entry {
    struct s_entry *prev, *next;
    struct MHD_Response *response; /* our reference */
    size_t bytes;
    uint8_t version[CACHE_MAX_VERSION];
    size_t version_len;
    char key[]; /* NUL-terminated */
} s_entry_t;

struct cache_t {
    s_entry_t *head, *tail;
    size_t max_bytes;
    uint8_t epoch[CACHE_MAX_VERSION];
    size_t epoch_len;
    cache_stats_t stats;
};

cache_t *cache_new(size_t max_bytes)
{
    cache_t *self = calloc(1, sizeof *self);
    if (self)
        self->max_bytes = max_bytes;
    return self;
}

static void s_unlink(cache_t *self, s_entry_t *e)
{
    if (e->prev)
        e->prev->next = e->next;
    else
        self->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        self->tail = e->prev;
    e->prev = e->next = NULL;
}

static void s_push_front(cache_t *self, s_entry_t *e)
{
    e->prev = NULL;
    e->next = self->head;
    if (self->head)
        self->head->prev = e;
    else
        self->tail = e;
    self->head = e;
}

static void s_drop(cache_t *self, s_entry_t *e)
{
    s_unlink(self, e);
    self->stats.entries--;
    self->stats.bytes -= e->bytes;
    self->stats.dropped++;
    MHD_destroy_response(e->response); /* freed when no connection sends it any more */
    free(e);
}

void cache_destroy(cache_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    cache_t *self = *self_p;
    while (self->head)
        s_drop(self, self->head);
    free(self);
    *self_p = NULL;
}

void cache_set_epoch(cache_t *self, const void *epoch, size_t len)
{
    if (len > CACHE_MAX_VERSION)
        len = CACHE_MAX_VERSION; /* a caller's bug; still an epoch, and compared as such */
    if (len == self->epoch_len && !memcmp(epoch, self->epoch, len))
        return;
    while (self->head)
        s_drop(self, self->head);
    memcpy(self->epoch, epoch, len);
    self->epoch_len = len;
}

static s_entry_t *s_find(cache_t *self, const char *key)
{
    for (s_entry_t *e = self->head; e; e = e->next)
        if (!strcmp(e->key, key))
            return e;
    return NULL;
}

struct MHD_Response *cache_get(cache_t *self, const char *key, const void *version, size_t len)
{
    s_entry_t *e = s_find(self, key);
    if (!e || len != e->version_len || memcmp(version, e->version, len)) {
        self->stats.misses++;
        return NULL;
    }
    self->stats.hits++;
    s_unlink(self, e);
    s_push_front(self, e);
    return e->response;
}

int cache_put(cache_t *self, const char *key, const void *version, size_t len, struct MHD_Response *r,
              size_t bytes)
{
    if (bytes > self->max_bytes / 2 || len > CACHE_MAX_VERSION)
        return -1;
    size_t keylen = strlen(key);
    s_entry_t *e = malloc(sizeof *e + keylen + 1);
    if (!e)
        return -1;
    /* The key's answer of another version (or the same, computed twice):
     * the newer replaces it. */
    s_entry_t *old = s_find(self, key);
    if (old)
        s_drop(self, old);
    while (self->tail &&
           (self->stats.bytes + bytes > self->max_bytes || self->stats.entries >= CACHE_MAX_ENTRIES))
        s_drop(self, self->tail);
    *e = (s_entry_t){.response = r, .bytes = bytes, .version_len = len};
    memcpy(e->version, version, len);
    memcpy(e->key, key, keylen + 1);
    s_push_front(self, e);
    self->stats.entries++;
    self->stats.bytes += bytes;
    return 0;
}

cache_stats_t cache_stats(const cache_t *self)
{
    return self->stats;
}
