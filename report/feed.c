/* feed.c: the protected aggregate feed (see feed.h). Rows come from
 * query_each_published, so the feed cannot disagree with the API; each is
 * encoded as a CellUpdate and compared with the last one sent by a hash
 * of its payload. */
#include "feed.h"

#include "codec.h"
#include "query.h"
#include "table.h"

#include <czmq.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct feed_t {
    ledger_t *ledger;
    const catalogue_t *catalogue;
    const protect_t *protect;
    zhashx_t *sent; /* row key -> uint64_t hash of the last payload sent */
    uint64_t generation;
};

typedef struct {
    uint64_t hash;
    uint64_t generation; /* of the last update that saw the row */
} s_seen_t;

static void s_free(void **p)
{
    free(*p);
    *p = NULL;
}

feed_t *feed_new(ledger_t *ledger, const catalogue_t *catalogue, const protect_t *protect)
{
    feed_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->ledger = ledger;
    self->catalogue = catalogue;
    self->protect = protect;
    self->sent = zhashx_new();
    if (!self->sent) {
        free(self);
        return NULL;
    }
    zhashx_set_destructor(self->sent, s_free);
    return self;
}

void feed_set_catalogue(feed_t *self, const catalogue_t *catalogue)
{
    self->catalogue = catalogue;
}

void feed_destroy(feed_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy(&(*self_p)->sent);
    free(*self_p);
    *self_p = NULL;
}

/* A key whose byte order is the walk's order: measure index, level, name
 * (ended by 0x1f, below every printable byte, as strcmp orders a prefix
 * first), period and slice in fixed-width hex. */
static void s_row_key(char *out, size_t len, int measure, const query_cell_t *c)
{
    int level = !strcmp(c->level, "forbund") ? 0 : !strcmp(c->level, "lan") ? 1 : 2;
    snprintf(out, len, "%03d%d%s\x1f%08x%04x", measure, level, c->name, c->period, c->slice);
}

static uint8_t *s_encode(const query_cell_t *c, uint64_t seq, int min_units, bool removed, char *topic,
                         size_t topiclen, size_t *len)
{
    char period[16], slice[32];
    cell_period_format(period, sizeof period, c->period);
    cell_slice_format(slice, sizeof slice, c->slice);
    snprintf(topic, topiclen, "agg.%s.%s.%s", c->measure->id, c->name, period);
    Finsam__V1__CellUpdate u = FINSAM__V1__CELL_UPDATE__INIT;
    u.measure = (char *) c->measure->id;
    u.forbund = (char *) c->name;
    u.level = (char *) c->level;
    u.has_protected_ = u.protected_ = 1;
    u.period = period;
    u.slice = slice;
    u.seq = seq;
    u.min_units = (uint32_t) min_units;
    u.suppressed = c->suppressed;
    u.has_removed = removed;
    u.removed = removed;
    int64_t hist[CELL_HIST];
    if (!c->suppressed && !removed && table_withholds(c->measure, &c->published)) {
        /* As the API: n and units only (the rest would give the share back). */
        u.has_n = u.has_units = 1;
        u.n = c->published.n;
        u.units = c->published.units;
    } else if (!c->suppressed && !removed) {
        feed_cell_state(&u, &c->published, hist);
        /* No bins (protect.c publishes none): the quantiles instead. */
        u.n_hist = 0;
        u.has_median = c->quantiles.has_median;
        u.median = c->quantiles.median;
        u.has_q1 = u.has_q3 = c->quantiles.has_quartiles;
        u.q1 = c->quantiles.q1;
        u.q3 = c->quantiles.q3;
        /* A share measure publishes hits over n; its sum would be the
         * same count again (protect.c publishes none). */
        if (c->measure->aggregate == AGG_SHARE_YES || c->measure->aggregate == AGG_SHARE_SUSTAINED)
            u.has_sum = u.has_sumsq = 0;
    }
    return codec_pack(&u.base, len);
}

void feed_cell_state(Finsam__V1__CellUpdate *u, const cell_t *c, int64_t hist[CELL_HIST])
{
    u->has_n = u->has_units = u->has_sum = u->has_sumsq = u->has_hits = u->has_dont_know = 1;
    u->n = c->n;
    u->units = c->units;
    u->sum = c->sum;
    u->sumsq = c->sumsq;
    u->hits = c->hits;
    u->dont_know = c->dont_know;
    memcpy(hist, c->hist, sizeof(int64_t) * CELL_HIST);
    u->n_hist = CELL_HIST;
    u->hist = hist;
}

/* The seq is left out of the hash: a row is "changed" by its content. */
static uint64_t s_hash(const query_cell_t *c)
{
    uint64_t h;
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, (const uint8_t *) &c->published, sizeof c->published);
    const double q[3] = {c->quantiles.has_median ? c->quantiles.median : -1,
                         c->quantiles.has_quartiles ? c->quantiles.q1 : -1,
                         c->quantiles.has_quartiles ? c->quantiles.q3 : -1};
    crypto_generichash_update(&st, (const uint8_t *) q, sizeof q);
    crypto_generichash_final(&st, (uint8_t *) &h, sizeof h);
    return h ^ (uint64_t) c->suppressed;
}

typedef struct {
    feed_t *self;
    uint64_t seq;
    feed_send_fn send;
    void *arg;
    /* snapshot only */
    const char *after;
    uint32_t limit, sent;
    bool snapshot, more;
} s_walk_t;

static int s_min_units(const feed_t *self, const cat_measure_t *m)
{
    const cat_instrument_t *in =
        m->instrument[0] ? catalogue_instrument(self->catalogue, m->instrument) : NULL;
    return in && in->kind == INSTR_ORGANISATION ? 0 : protect_params(self->protect)->min_count;
}

static int s_row(const query_cell_t *c, void *arg)
{
    s_walk_t *w = arg;
    feed_t *self = w->self;
    char key[FEED_ROW_KEY_MAX], topic[160];
    s_row_key(key, sizeof key, (int) (c->measure - self->catalogue->measures), c);
    if (w->snapshot) {
        if (w->after[0] && strcmp(key, w->after) <= 0)
            return 0;
        if (w->sent == w->limit) {
            w->more = true;
            return 1; /* stop the walk: the chunk is full */
        }
    } else {
        uint64_t h = s_hash(c);
        s_seen_t *seen = zhashx_lookup(self->sent, key);
        if (seen) {
            seen->generation = self->generation;
            if (seen->hash == h)
                return 0;
            seen->hash = h;
        } else {
            seen = malloc(sizeof *seen);
            if (!seen)
                return ENOMEM;
            *seen = (s_seen_t){h, self->generation};
            zhashx_insert(self->sent, key, seen);
        }
    }
    size_t len;
    uint8_t *payload = s_encode(c, w->seq, s_min_units(self, c->measure), false, topic, sizeof topic, &len);
    if (!payload)
        return ENOMEM;
    int rc = w->send(topic, payload, len, key, w->arg);
    free(payload);
    w->sent++;
    return rc;
}

int feed_update(feed_t *self, uint64_t seq, feed_send_fn send, void *arg)
{
    self->generation++;
    s_walk_t w = {self, seq, send, arg, "", 0, 0, false, false};
    int rc = query_each_published(self->ledger, self->catalogue, self->protect, s_row, &w);
    if (rc)
        return rc;
    /* Rows not seen in this walk are gone: say so once and forget them. */
    zlistx_t *gone = zlistx_new();
    if (!gone)
        return ENOMEM;
    for (s_seen_t *s = zhashx_first(self->sent); s; s = zhashx_next(self->sent))
        if (s->generation != self->generation)
            zlistx_add_end(gone, (void *) zhashx_cursor(self->sent));
    for (const char *key = zlistx_first(gone); key; key = zlistx_next(gone)) {
        /* The key holds what the message needs: measure index, level, name, period, slice. */
        int mi = (key[0] - '0') * 100 + (key[1] - '0') * 10 + (key[2] - '0');
        const char *sep = strchr(key + 4, '\x1f');
        if (mi < 0 || mi >= self->catalogue->nmeasures || !sep)
            continue;
        char name[64];
        snprintf(name, sizeof name, "%.*s", (int) (sep - key - 4), key + 4);
        unsigned period = 0, slice = 0;
        sscanf(sep + 1, "%8x%4x", &period, &slice);
        static const char *const levels[] = {"forbund", "lan", "nation"};
        query_cell_t c = {&self->catalogue->measures[mi],
                          levels[key[3] - '0' > 2 ? 2 : key[3] - '0'],
                          name,
                          period,
                          (uint16_t) slice,
                          true,
                          {0},
                          {0}};
        char topic[160];
        size_t len;
        uint8_t *payload = s_encode(&c, seq, s_min_units(self, c.measure), true, topic, sizeof topic, &len);
        if (payload)
            send(topic, payload, len, key, arg);
        free(payload);
    }
    for (const char *key = zlistx_first(gone); key; key = zlistx_next(gone))
        zhashx_delete(self->sent, key);
    zlistx_destroy(&gone);
    return 0;
}

int feed_snapshot(feed_t *self, uint64_t seq, const char *after, uint32_t limit, feed_send_fn send, void *arg,
                  bool *done)
{
    s_walk_t w = {self, seq, send, arg, after ? after : "", limit, 0, true, false};
    int rc = query_each_published(self->ledger, self->catalogue, self->protect, s_row, &w);
    *done = !w.more;
    return rc == 1 && w.more ? 0 : rc;
}
