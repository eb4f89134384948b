/* pairs.c: episodes of paired measures (see pairs.h). The observations of
 * one measure are sorted on pointers in scratch space kept across calls;
 * a person has a handful, so forming all pairs again on each change is
 * cheaper than keeping them. */
#include "pairs.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct pairs_t {
    const person_obs_t **sorted; /* one person's observations in episode order */
    uint32_t csorted;
};

pairs_t *pairs_new(void)
{
    return calloc(1, sizeof(pairs_t));
}

void pairs_destroy(pairs_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->sorted);
    free(*self_p);
    *self_p = NULL;
}

/* Episode order of two observations of one measure (qsort on pointers):
 * occurred month, then the log position of the first report. The event id,
 * side and value only make the order total; one event never observes a
 * measure twice. */
static int s_obs_cmp(const void *a, const void *b)
{
    const person_obs_t *x = *(const person_obs_t *const *) a, *y = *(const person_obs_t *const *) b;
    if (x->month != y->month)
        return x->month < y->month ? -1 : 1;
    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    int c = memcmp(x->id8, y->id8, 8);
    if (c)
        return c;
    if (x->side != y->side)
        return x->side < y->side ? -1 : 1;
    return (x->value > y->value) - (x->value < y->value);
}

/* Calls fn(sign) for every pair the person's observations of measure mh
 * form, one per episode: a "from" observation starts an episode, the
 * latest "to" observation before the next "from" completes it. */
static int s_each(pairs_t *self, const person_t *p, uint64_t mh, int sign, pairs_fn fn, void *arg)
{
    if (p->nobs > self->csorted) {
        const person_obs_t **sorted = realloc(self->sorted, p->nobs * sizeof *sorted);
        if (!sorted)
            return ENOMEM;
        self->sorted = sorted;
        self->csorted = p->nobs;
    }
    uint32_t n = 0;
    for (uint32_t i = 0; i < p->nobs; i++)
        if (p->obs[i].measure == mh)
            self->sorted[n++] = &p->obs[i];
    if (n > 1)
        qsort(self->sorted, n, sizeof *self->sorted, s_obs_cmp);
    const person_obs_t *from = NULL, *to = NULL;
    for (uint32_t i = 0; i <= n; i++) {
        const person_obs_t *o = i < n ? self->sorted[i] : NULL;
        if (o && o->side == 1) {
            if (from)
                to = o; /* a "to" before any "from" pairs with nothing */
            continue;
        }
        /* A new episode starts (or the observations end): the one before
         * is complete. */
        if (from && to) {
            int rc = fn(from, to, sign, arg);
            if (rc)
                return rc;
        }
        from = o;
        to = NULL;
    }
    return 0;
}

int pairs_observe(pairs_t *self, person_t *p, const person_obs_t *obs, int sign, pairs_fn fn, void *arg)
{
    int rc = s_each(self, p, obs->measure, -1, fn, arg);
    if (rc)
        return rc;
    if (sign > 0)
        rc = person_observe(p, obs);
    else
        person_forget(p, obs->measure, obs->side, obs->id8);
    return rc ? rc : s_each(self, p, obs->measure, +1, fn, arg);
}

bool pairs_cell(const cat_measure_t *m, const person_obs_t *from, const person_obs_t *to, cell_t *out)
{
    memset(out, 0, sizeof *out);
    out->n = 1;
    if (m->aggregate == AGG_PAIRED_CHANGE) {
        int change = to->value - from->value;
        out->sum = change;
        out->sumsq = (int64_t) change * change;
        int b = change + 8;
        out->hist[b < 0 ? 0 : b >= CELL_HIST ? CELL_HIST - 1 : b] = 1;
        out->hits = change >= 1;
        return true;
    }
    if (from->value != 1)
        return false; /* sustained: only those who left in work or studies */
    out->sum = out->hits = to->value == 1;
    out->sumsq = out->sum;
    return true;
}
