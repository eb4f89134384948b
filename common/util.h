/* util.h: small shared encodings and clocks. Nothing here allocates. */
#ifndef FINSAM_UTIL_H
#define FINSAM_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Big-endian integers: LMDB compares keys with memcmp, so every integer key
 * is stored big-endian to sort numerically. */
static inline void be64_put(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t) v;
}
static inline uint64_t be64_get(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}
static inline void be32_put(uint8_t *p, uint32_t v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t) v;
}
static inline uint32_t be32_get(const uint8_t *p)
{
    return (uint32_t) p[0] << 24 | (uint32_t) p[1] << 16 | (uint32_t) p[2] << 8 | p[3];
}

/* Milliseconds since the epoch (wall clock) and since boot (monotonic). */
int64_t clock_wall_ms(void);
int64_t clock_mono_ms(void);
int64_t clock_mono_us(void);

/* True if s is a code: 1 to max bytes of [A-Za-z0-9_-] (förbund, insats,
 * catalogue codes). ASCII only, whatever the locale. */
bool code_is_valid(const char *s, size_t max);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void hex_encode(char *out, const uint8_t *in, size_t n);
/* Parses exactly 2n hex digits into n bytes; -1 if malformed. */
int hex_decode(uint8_t *out, size_t n, const char *in);

/* True if s (len bytes) is valid UTF-8 without NUL or control characters. */
bool utf8_is_clean(const char *s, size_t len);

/* Room for one more element in an array that grows by doubling: items
 * (NULL at first) holds *cap elements of elem bytes. Returns the array,
 * moved and with *cap doubled (first when it was 0), or NULL when memory
 * is short: then items and *cap are unchanged and still the caller's.
 * Call it when the array is full: if (n == cap && !(p = array_grow(...))). */
void *array_grow(void *items, size_t *cap, size_t elem, size_t first);

/* Creates a directory and its parents with the given mode; 0 or -1 (errno). */
int mkdir_p(const char *path, unsigned mode);

/* Sets the process time zone to Europe/Stockholm (periods are Swedish
 * calendar periods). Returns -1 if tzdata is missing: without it
 * localtime_r would silently use UTC. */
int tz_stockholm_init(void);

#endif
