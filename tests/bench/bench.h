/* bench.h: the few helpers the benchmark tools share: a monotonic clock,
 * option parsing by name, and a percentile of a sorted array. Tools print
 * one line of key=value pairs that tests/bench/run parses. */
#ifndef FINSAM_BENCH_H
#define FINSAM_BENCH_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline double bench_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* The value after `--name` in argv, or def. */
static inline const char *bench_opt(int argc, char **argv, const char *name, const char *def)
{
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], name))
            return argv[i + 1];
    return def;
}

static inline long bench_opt_long(int argc, char **argv, const char *name, long def)
{
    const char *v = bench_opt(argc, argv, name, NULL);
    return v ? strtol(v, NULL, 10) : def;
}

static inline int bench_flag(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], name))
            return 1;
    return 0;
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return x < y ? -1 : x > y;
}

/* p in [0,1] of n sorted values (nearest rank). */
static inline double bench_pct(const double *v, size_t n, double p)
{
    if (n == 0)
        return 0;
    size_t i = (size_t) (p * (double) n + 0.999999);
    if (i < 1)
        i = 1;
    if (i > n)
        i = n;
    return v[i - 1];
}

/* xorshift64*: reproducible bytes without a library. */
static inline uint64_t bench_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

#endif
