/* cellmap.c: open addressing with linear probing over a power-of-two
 * table that stays at most half full (see cellmap.h). Each slot keeps its
 * key's hash, so probing compares keys only on a hash match; the hash is
 * never 0, which marks a free slot, so a probe reads one array until it
 * finds the key (the profile of a rebuild: a second array of "used" flags
 * cost a cache miss of its own per lookup). The indexes of used slots, in
 * insertion order, make clearing and iterating cost the entries used, not
 * the table's size. */
#include "cellmap.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct cellmap_t {
    size_t keylen, valsize, cap, n;
    uint64_t *hashes; /* 0: free */
    uint8_t *keys;    /* cap * keylen */
    uint8_t *values;  /* cap * valsize */
    uint32_t *order;  /* indexes of used slots, in insertion order */
};

/* A word-at-a-time mixer of the key, host byte order: in memory only,
 * never stored (cellmap.h), so its value may differ between machines. */
static uint64_t s_hash(const uint8_t *p, size_t len)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ len, w;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
    }
    w = 0;
    if (i < len && len >= 8)
        memcpy(&w, p + len - 8, 8); /* the last word, overlapping: no partial copy */
    else if (i < len)
        memcpy(&w, p + i, len - i);
    h = (h ^ w) * 0x94d049bb133111ebULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h ? h : 1;
}

static void s_free_table(cellmap_t *t)
{
    free(t->hashes);
    free(t->keys);
    free(t->values);
    free(t->order);
}

static int s_alloc_table(cellmap_t *t, size_t cap)
{
    t->cap = cap;
    t->n = 0;
    t->hashes = calloc(cap, sizeof *t->hashes);
    t->keys = calloc(cap, t->keylen);
    t->values = calloc(cap, t->valsize);
    t->order = calloc(cap, sizeof *t->order);
    if (t->hashes && t->keys && t->values && t->order)
        return 0;
    s_free_table(t);
    return -1;
}

cellmap_t *cellmap_new(size_t keylen, size_t valsize)
{
    cellmap_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->keylen = keylen;
    self->valsize = valsize;
    if (s_alloc_table(self, 256) < 0) {
        free(self);
        return NULL;
    }
    return self;
}

void cellmap_destroy(cellmap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    s_free_table(*self_p);
    free(*self_p);
    *self_p = NULL;
}

void cellmap_clear(cellmap_t *self)
{
    for (size_t i = 0; i < self->n; i++)
        self->hashes[self->order[i]] = 0;
    self->n = 0;
}

static size_t s_probe(const cellmap_t *t, uint64_t hash, const uint8_t *key)
{
    size_t i = hash & (t->cap - 1);
    while (t->hashes[i] && (t->hashes[i] != hash || memcmp(t->keys + i * t->keylen, key, t->keylen)))
        i = (i + 1) & (t->cap - 1);
    return i;
}

static void s_place(cellmap_t *t, size_t i, uint64_t hash, const uint8_t *key, const void *value)
{
    t->hashes[i] = hash;
    memcpy(t->keys + i * t->keylen, key, t->keylen);
    if (value)
        memcpy(t->values + i * t->valsize, value, t->valsize);
    else
        memset(t->values + i * t->valsize, 0, t->valsize);
    t->order[t->n++] = (uint32_t) i;
}

/* Doubles the table, keeping insertion order. */
static int s_grow(cellmap_t *self)
{
    cellmap_t next = {.keylen = self->keylen, .valsize = self->valsize};
    if (s_alloc_table(&next, self->cap * 2) < 0)
        return -1;
    for (size_t j = 0; j < self->n; j++) {
        size_t old = self->order[j];
        const uint8_t *key = self->keys + old * self->keylen;
        s_place(&next, s_probe(&next, self->hashes[old], key), self->hashes[old], key,
                self->values + old * self->valsize);
    }
    s_free_table(self);
    *self = next;
    return 0;
}

void *cellmap_get(cellmap_t *self, const uint8_t *key)
{
    uint64_t hash = s_hash(key, self->keylen);
    size_t i = s_probe(self, hash, key);
    if (!self->hashes[i]) {
        if (2 * (self->n + 1) > self->cap) {
            if (s_grow(self) < 0)
                return NULL;
            i = s_probe(self, hash, key);
        }
        s_place(self, i, hash, key, NULL);
    }
    return self->values + i * self->valsize;
}

size_t cellmap_size(const cellmap_t *self)
{
    return self->n;
}

const uint8_t *cellmap_key(const cellmap_t *self, size_t i)
{
    return self->keys + (size_t) self->order[i] * self->keylen;
}

void *cellmap_value(const cellmap_t *self, size_t i)
{
    return self->values + (size_t) self->order[i] * self->valsize;
}
