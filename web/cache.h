/* cache.h: answers kept for the next reader who asks the same (internal
 * to web/; api.c uses it).
 *
 * A protected answer is a function of the request, the catalogue and what
 * the reader can see of the store (query.h, query_version_t), so once
 * computed it can be sent again, byte for byte, until one of those moves.
 * An entry is the finished answer as microhttpd sends it (status, our
 * headers, the JSON body), under a key naming the route and its
 * parameters, with the version it is of; a lookup finds it only for the
 * same version (for /api/indicators: the unpublished cells of its
 * measures, query.h). The cache as a whole belongs to one epoch (the
 * publication and the catalogue): set it before every lookup, and a new
 * one drops every entry. Only what readers were sent is kept, never
 * cells.
 *
 * Bounded: at most max_bytes of bodies, least recently used first out, and
 * an answer larger than half of that is never kept. Not thread-safe: it
 * belongs to the server's one thread (http.c). microhttpd counts the
 * references to an answer, so an entry dropped while a connection still
 * sends it lives until that connection is done. */
#ifndef FINSAM_CACHE_H
#define FINSAM_CACHE_H

#include <microhttpd.h>
#include <stddef.h>
#include <stdint.h>

typedef struct cache_t cache_t;

typedef struct {
    uint64_t hits, misses; /* lookups since the start */
    uint64_t dropped;      /* entries let go: evicted or of an old version */
    size_t entries, bytes; /* held now */
} cache_stats_t;

/* A cache of at most max_bytes of answers (0 keeps nothing); NULL when
 * out of memory. */
cache_t *cache_new(size_t max_bytes);

/* Lets every entry go; NULL-safe. */
void cache_destroy(cache_t **self_p);

#define CACHE_MAX_VERSION 64

/* Makes epoch (len bytes, compared as bytes; at most CACHE_MAX_VERSION)
 * the current one: if it differs from the last, every entry is dropped. */
void cache_set_epoch(cache_t *self, const void *epoch, size_t len);

/* The answer kept under key (a C string) for version (len bytes, at most
 * CACHE_MAX_VERSION), or NULL; counts a hit or a miss. Borrowed: queue it
 * (MHD_queue_response takes a reference of its own) before the next call
 * that may drop it. */
struct MHD_Response *cache_get(cache_t *self, const char *key, const void *version, size_t len);

/* Keeps r (an answer of `bytes` body bytes, status 200) under key for
 * version in the current epoch, in place of any other of the key, taking
 * the caller's reference to r. Returns 0, or -1 (too large, out of
 * memory: the caller still holds its reference). */
int cache_put(cache_t *self, const char *key, const void *version, size_t len, struct MHD_Response *r,
              size_t bytes);

cache_stats_t cache_stats(const cache_t *self);

#endif
