/* dist.c: distributions in memory and their type-2 quantiles (see dist.h).
 * Bins stay sorted, so merging the distributions of many cells (a län of
 * its förbund) is an insertion by binary search per bin, and a rank is one
 * walk over the cumulative counts. */
#include "dist.h"

#include <stdlib.h>
#include <string.h>

void dist_clear(dist_t *d)
{
    d->n = 0;
    d->total = 0;
}

void dist_free(dist_t *d)
{
    free(d->bins);
    *d = (dist_t) DIST_INIT;
}

/* The index of the first bin whose value is >= value. */
static size_t s_lower_bound(const dist_t *d, int64_t value)
{
    size_t lo = 0, hi = d->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->bins[mid].value < value)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

int dist_add(dist_t *d, int64_t value, int64_t count)
{
    if (count <= 0)
        return 0;
    size_t i = s_lower_bound(d, value);
    if (i < d->n && d->bins[i].value == value) {
        d->bins[i].count += count;
        d->total += count;
        return 0;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? 2 * d->cap : 64;
        dist_bin_t *b = realloc(d->bins, cap * sizeof *b);
        if (!b)
            return -1;
        d->bins = b;
        d->cap = cap;
    }
    memmove(&d->bins[i + 1], &d->bins[i], (d->n - i) * sizeof *d->bins);
    d->bins[i] = (dist_bin_t){value, count};
    d->n++;
    d->total += count;
    return 0;
}

int dist_add_hist(dist_t *d, const int64_t *hist, int nbins, int64_t first)
{
    for (int i = 0; i < nbins; i++)
        if (dist_add(d, first + i, hist[i]) < 0)
            return -1;
    return 0;
}

int64_t dist_at(const dist_t *d, int64_t rank)
{
    if (d->n == 0)
        return 0;
    int64_t acc = 0;
    for (size_t i = 0; i < d->n; i++) {
        acc += d->bins[i].count;
        if (rank <= acc)
            return d->bins[i].value;
    }
    return d->bins[d->n - 1].value;
}

void dist_ranks(int64_t n, int num, int den, int64_t *lo, int64_t *hi)
{
    /* h = n num / den; a whole h means the mean of ranks h and h + 1. */
    int64_t h = n * num;
    if (h % den == 0) {
        *lo = h / den;
        *hi = *lo + 1;
    } else {
        *lo = *hi = h / den + 1;
    }
}

int64_t dist_quantile2(const dist_t *d, int num, int den)
{
    if (d->total <= 0)
        return 0;
    int64_t lo, hi;
    dist_ranks(d->total, num, den, &lo, &hi);
    return dist_at(d, lo) + dist_at(d, hi);
}
