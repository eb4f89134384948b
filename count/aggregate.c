/* aggregate.c: incremental, exactly invertible indicator cells (see
 * aggregate.h and cell.h).
 *
 * Two pieces of state change per event:
 *  - cells: deltas gathered in a hash map for the whole transaction and
 *    read-modify-written once each at flush;
 *  - the participant record (förbund + pseudonym -> record in the
 *    "participants" database): reference counts of the cells this person
 *    contributes to (so `units` counts distinct people exactly, also under
 *    retraction) and the observations of paired measures. Keyed by person,
 *    one record is read and written per person per transaction, instead of
 *    one LMDB entry per (cell, person).
 *
 * A day count (median_days) also adds to its month cells' distributions
 * (diststore.h), gathered and written the same way, so its medians and
 * quartiles are exact and are retracted exactly.
 *
 * Paired measures (entry vs exit, ongoing vs exit survey, exit vs
 * follow-up) are formed per episode. A person's observations of a measure
 * are ordered by occurred month, then by the log position of their first
 * report (a correction keeps its original's, aggregate_origin): each "from"
 * observation starts an episode, and the episode's pair is that "from" and
 * the latest "to" before the next "from". So a to-observation pairs with the
 * latest from-observation at or before it, a re-entry starts a new episode
 * and leaves the finished one alone, and the result does not depend on
 * arrival order. A pair counts in the period and the slices (mode, gender,
 * age band) of its "to" observation, the one that completes it. Any change
 * to a person's observations of a measure subtracts all their pairs of it
 * and adds them again; unchanged pairs cancel in the transaction's deltas. */
#include "aggregate.h"

#include "cell.h"
#include "diststore.h"
#include "secret.h"
#include "util.h"
#include "validate.h"

#include <czmq.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PKEY_LEN (CELL_FORBUND_LEN + CODEC_PSEUDONYM_LEN)

/* A person's contributions to one measure in one month, with the insats
 * mode, gender and age band of those events. Distinct counts for quarters,
 * years and every slice are derived from these (a person is in a quarter's
 * "gender=woman" cell if any entry of its months says woman), so one entry
 * serves up to twelve cells. */
typedef struct {
    uint64_t measure; /* hash of the measure id */
    uint32_t month;   /* yyyymm */
    uint8_t mode, gender, age;
    uint32_t refs;
} s_member_t;

/* The slices a participant's contribution lands in, by index. */
enum { PS_ALL, PS_MODE, PS_GENDER, PS_AGE, PS_COUNT };

typedef struct {
    uint8_t mode, gender, age; /* 0 = not given */
} s_who_t;

typedef struct {
    uint64_t measure; /* hash of the measure id */
    uint8_t side;     /* 0 = from, 1 = to */
    s_who_t who;      /* the slices the observation names */
    int32_t value;
    uint32_t month; /* yyyymm it occurred */
    uint64_t order; /* log position of its first report (aggregate_origin) */
    uint8_t id8[8]; /* first 8 bytes of the event id: what a retraction names */
} s_obs_t;

typedef struct {
    s_member_t *members;
    uint32_t nmembers, cmembers;
    s_obs_t *obs;
    uint32_t nobs, cobs;
    uint32_t rk; /* record key (protect.h), from förbund + pseudonym */
    bool dirty;
} s_person_t;

/* The transaction's cell deltas: an open-addressing table that keeps each
 * key's hash, so the hash is computed once per cell touched and reused for
 * the participant's membership. Slots are reused across transactions; only
 * the used ones are cleared. */
typedef struct {
    uint64_t hash;
    uint8_t key[CELL_KEY_LEN];
    bool used;
    cell_t delta;
} s_slot_t;

typedef struct {
    s_slot_t *slots;
    uint32_t *used; /* indexes of used slots, in insertion order */
    size_t cap, n;
} s_cellmap_t;

/* The measures an answer to one item of one instrument feeds, computed
 * once from the catalogue so an event never scans all measures. */
#define ROUTES_MAX 8
typedef struct {
    int16_t measure[ROUTES_MAX];
    int8_t side[ROUTES_MAX]; /* -1 plain measure; 0/1 from/to side of a pair */
    int n;
} s_routes_t;

struct aggregate_t {
    const catalogue_t *catalogue;
    uint8_t secret[SECRET_LEN]; /* record keys are keyed by it */
    s_routes_t *routes;                 /* per (instrument, item), flat */
    int *route_base;                    /* per instrument: index of its first item */
    uint64_t *measure_hash;             /* per catalogue measure */
    s_cellmap_t cells;                  /* cell key -> delta, for this transaction */
    diststore_t *dists;                 /* distribution changes, for this transaction */
    zhashx_t *people;                   /* 40-byte person key -> s_person_t */
    const s_obs_t **sorted;             /* scratch: one person's observations in episode order */
    uint32_t csorted;
};

/* ---- hashing and hash-map plumbing ---------------------------------- */

static uint64_t s_fnv(const void *data, size_t len)
{
    const uint8_t *p = data;
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ULL;
    return h;
}

/* A word-at-a-time hash for the hot path (cell keys are hashed twice per
 * cell touched: the delta map and the participant's membership). Its value
 * is stored in participant records: never change it without a migration. */
static uint64_t s_hash64(const uint8_t *p, size_t len)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ len, w;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
        h ^= h >> 31;
    }
    w = 0;
    memcpy(&w, p + i, len - i);
    h = (h ^ w) * 0x94d049bb133111ebULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    return h ^ (h >> 33);
}

static int s_cellmap_init(s_cellmap_t *m, size_t cap)
{
    m->slots = calloc(cap, sizeof *m->slots);
    m->used = calloc(cap, sizeof *m->used);
    m->cap = cap;
    m->n = 0;
    return m->slots && m->used ? 0 : -1;
}

static void s_cellmap_clear(s_cellmap_t *m)
{
    for (size_t i = 0; i < m->n; i++)
        m->slots[m->used[i]].used = false;
    m->n = 0;
}

static s_slot_t *s_cellmap_probe(s_cellmap_t *m, uint64_t hash, const uint8_t *key)
{
    size_t i = hash & (m->cap - 1);
    while (m->slots[i].used && (m->slots[i].hash != hash || memcmp(m->slots[i].key, key, CELL_KEY_LEN)))
        i = (i + 1) & (m->cap - 1);
    return &m->slots[i];
}

/* Doubles the table, keeping insertion order in `used`. */
static int s_cellmap_grow(s_cellmap_t *m)
{
    s_cellmap_t next;
    if (s_cellmap_init(&next, m->cap * 2) < 0) {
        free(next.slots);
        free(next.used);
        return -1;
    }
    for (size_t i = 0; i < m->n; i++) {
        const s_slot_t *old = &m->slots[m->used[i]];
        s_slot_t *slot = s_cellmap_probe(&next, old->hash, old->key);
        *slot = *old;
        next.used[next.n++] = (uint32_t) (slot - next.slots);
    }
    free(m->slots);
    free(m->used);
    *m = next;
    return 0;
}

/* The slot for a cell key, created zeroed; NULL when out of memory. */
static s_slot_t *s_cellmap_get(s_cellmap_t *m, const uint8_t *key)
{
    uint64_t hash = s_hash64(key, CELL_KEY_LEN);
    s_slot_t *slot = s_cellmap_probe(m, hash, key);
    if (slot->used)
        return slot;
    if (2 * (m->n + 1) > m->cap) {
        if (s_cellmap_grow(m) < 0)
            return NULL;
        slot = s_cellmap_probe(m, hash, key);
    }
    slot->used = true;
    slot->hash = hash;
    memcpy(slot->key, key, CELL_KEY_LEN);
    memset(&slot->delta, 0, sizeof slot->delta);
    m->used[m->n++] = (uint32_t) (slot - m->slots);
    return slot;
}
static size_t s_person_hash(const void *key)
{
    return (size_t) s_hash64(key, PKEY_LEN);
}
static int s_person_cmp(const void *a, const void *b)
{
    return memcmp(a, b, PKEY_LEN);
}
static void *s_person_dup(const void *key)
{
    void *p = malloc(PKEY_LEN);
    if (p)
        memcpy(p, key, PKEY_LEN);
    return p;
}
static void s_free_key(void **p)
{
    free(*p);
    *p = NULL;
}
static void s_free_person(void **p)
{
    s_person_t *person = *p;
    if (person) {
        free(person->members);
        free(person->obs);
        free(person);
    }
    *p = NULL;
}

static int s_build_routes(aggregate_t *self)
{
    const catalogue_t *cat = self->catalogue;
    int total = 0;
    self->route_base = calloc((size_t) cat->ninstruments + 1, sizeof *self->route_base);
    for (int i = 0; self->route_base && i < cat->ninstruments; i++) {
        self->route_base[i] = total;
        total += cat->instruments[i].nitems;
    }
    self->routes = calloc((size_t) total + 1, sizeof *self->routes);
    if (!self->route_base || !self->routes)
        return -1;
    for (int i = 0; i < cat->ninstruments; i++) {
        const cat_instrument_t *in = &cat->instruments[i];
        for (int j = 0; j < in->nitems; j++) {
            s_routes_t *r = &self->routes[self->route_base[i] + j];
            for (int mi = 0; mi < cat->nmeasures; mi++) {
                const cat_measure_t *m = &cat->measures[mi];
                if (m->status_field != STATUS_NONE || strcmp(m->item, in->items[j].code))
                    continue;
                bool paired = m->aggregate == AGG_PAIRED_CHANGE || m->aggregate == AGG_SHARE_SUSTAINED;
                int side = -1;
                if (paired)
                    side = !strcmp(m->from_instrument, in->code) ? 0
                           : !strcmp(m->to_instrument, in->code) ? 1
                                                                 : -2;
                else if (m->instrument[0] && strcmp(m->instrument, in->code))
                    side = -2;
                if (side == -2)
                    continue;
                if (r->n == ROUTES_MAX)
                    return -1; /* more measures per item than we route */
                r->measure[r->n] = (int16_t) mi;
                r->side[r->n++] = (int8_t) side;
            }
        }
    }
    return 0;
}

aggregate_t *aggregate_new(const catalogue_t *catalogue, const uint8_t secret[SECRET_LEN])
{
    aggregate_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->catalogue = catalogue;
    memcpy(self->secret, secret, SECRET_LEN);
    self->measure_hash = calloc((size_t) catalogue->nmeasures + 1, sizeof *self->measure_hash);
    self->people = zhashx_new();
    self->dists = diststore_new();
    if (!self->measure_hash || !self->people || !self->dists || s_cellmap_init(&self->cells, 1024) < 0) {
        aggregate_destroy(&self);
        return NULL;
    }
    for (int i = 0; i < catalogue->nmeasures; i++)
        self->measure_hash[i] = s_fnv(catalogue->measures[i].id, strlen(catalogue->measures[i].id));
    if (s_build_routes(self) < 0) {
        aggregate_destroy(&self);
        return NULL;
    }
    zhashx_set_key_hasher(self->people, s_person_hash);
    zhashx_set_key_comparator(self->people, s_person_cmp);
    zhashx_set_key_duplicator(self->people, s_person_dup);
    zhashx_set_key_destructor(self->people, s_free_key);
    zhashx_set_destructor(self->people, s_free_person);
    return self;
}

void aggregate_destroy(aggregate_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    aggregate_t *self = *self_p;
    free(self->cells.slots);
    free(self->cells.used);
    zhashx_destroy(&self->people);
    diststore_destroy(&self->dists);
    free(self->routes);
    free(self->route_base);
    free(self->measure_hash);
    free(self->sorted);
    sodium_memzero(self->secret, sizeof self->secret);
    free(self);
    *self_p = NULL;
}

void aggregate_begin(aggregate_t *self)
{
    s_cellmap_clear(&self->cells);
    diststore_begin(self->dists);
    zhashx_purge(self->people);
}

/* ---- periods -------------------------------------------------------- */

/* [year, quarter, month] of a month yyyymm. */
static void s_month_periods(uint32_t yyyymm, uint32_t out[3])
{
    int year = (int) yyyymm / 100, month = (int) yyyymm % 100;
    out[0] = cell_period(PERIOD_YEAR, year, 0);
    out[1] = cell_period(PERIOD_QUARTER, year, (month - 1) / 3 + 1);
    out[2] = cell_period(PERIOD_MONTH, year, month);
}

/* Periods of an instant in Europe/Stockholm (TZ is set by the binary at
 * start; main() refuses to run without tzdata). */
static void s_periods(int64_t occurred_at, uint32_t out[3])
{
    time_t t = (time_t) occurred_at;
    struct tm tm;
    localtime_r(&t, &tm);
    s_month_periods((uint32_t) ((tm.tm_year + 1900) * 100 + tm.tm_mon + 1), out);
}

/* ---- people --------------------------------------------------------- */

/* Record layout (version 4, ledger schema 5): [u8 4][be32 nmembers][be32
 * nobs], then the members, then the observations, each of fixed width:
 *   member       be64 measure hash, be32 month yyyymm, u8 mode, u8 gender,
 *                u8 age band, be32 reference count            (19 bytes)
 *   observation  be64 measure hash, u8 side, u8 mode, u8 gender, u8 age
 *                band, be32 value, be32 month yyyymm, be64 order, 8 bytes
 *                of the event id                              (36 bytes)
 * Version 3 (schema 4) had no gender, age band or order in observations
 * and occurred_at in place of the month; such a store is rebuilt from its
 * log before use (rebuild.h), never read here. */
#define RECORD_VERSION 4
#define MEMBER_BYTES 19
#define OBS_BYTES 36

static int s_person_load(aggregate_t *self, MDB_txn *txn, const ledger_t *ledger, const uint8_t *pkey,
                         s_person_t **out)
{
    s_person_t *p = zhashx_lookup(self->people, pkey);
    if (p) {
        *out = p;
        return 0;
    }
    p = calloc(1, sizeof *p);
    if (!p)
        return ENOMEM;
    p->rk = secret_record_key(self->secret, pkey, PKEY_LEN);
    MDB_val k = {PKEY_LEN, (void *) pkey}, v;
    int rc = mdb_get(txn, ledger_dbi(ledger, LEDGER_DB_PARTICIPANTS), &k, &v);
    if (rc == 0) {
        const uint8_t *b = v.mv_data;
        uint32_t nm = v.mv_size >= 9 ? be32_get(b + 1) : 0, no = v.mv_size >= 9 ? be32_get(b + 5) : 0;
        if (v.mv_size != 9 + (size_t) nm * MEMBER_BYTES + (size_t) no * OBS_BYTES || b[0] != RECORD_VERSION) {
            free(p);
            return MDB_CORRUPTED;
        }
        p->members = calloc(nm + 1, sizeof *p->members);
        p->obs = calloc(no + 1, sizeof *p->obs);
        if (!p->members || !p->obs) {
            s_free_person((void **) &p);
            return ENOMEM;
        }
        p->cmembers = nm + 1;
        p->cobs = no + 1;
        const uint8_t *q = b + 9;
        for (uint32_t i = 0; i < nm; i++, q += MEMBER_BYTES)
            p->members[p->nmembers++] =
                (s_member_t){be64_get(q), be32_get(q + 8), q[12], q[13], q[14], be32_get(q + 15)};
        for (uint32_t i = 0; i < no; i++, q += OBS_BYTES) {
            s_obs_t *o = &p->obs[p->nobs++];
            o->measure = be64_get(q);
            o->side = q[8];
            o->who = (s_who_t){q[9], q[10], q[11]};
            o->value = (int32_t) be32_get(q + 12);
            o->month = be32_get(q + 16);
            o->order = be64_get(q + 20);
            memcpy(o->id8, q + 28, 8);
        }
    } else if (rc != MDB_NOTFOUND) {
        free(p);
        return rc;
    }
    zhashx_insert(self->people, pkey, p);
    *out = zhashx_lookup(self->people, pkey);
    return 0;
}

static int s_person_store(MDB_txn *txn, const ledger_t *ledger, const uint8_t *pkey, s_person_t *p)
{
    MDB_val k = {PKEY_LEN, (void *) pkey};
    MDB_dbi dbi = ledger_dbi(ledger, LEDGER_DB_PARTICIPANTS);
    if (p->nmembers == 0 && p->nobs == 0) {
        int rc = mdb_del(txn, dbi, &k, NULL);
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    MDB_val v = {9 + (size_t) p->nmembers * MEMBER_BYTES + (size_t) p->nobs * OBS_BYTES, NULL};
    int rc = mdb_put(txn, dbi, &k, &v, MDB_RESERVE);
    if (rc)
        return rc;
    uint8_t *q = v.mv_data;
    q[0] = RECORD_VERSION;
    be32_put(q + 1, p->nmembers);
    be32_put(q + 5, p->nobs);
    q += 9;
    for (uint32_t i = 0; i < p->nmembers; i++, q += MEMBER_BYTES) {
        be64_put(q, p->members[i].measure);
        be32_put(q + 8, p->members[i].month);
        q[12] = p->members[i].mode;
        q[13] = p->members[i].gender;
        q[14] = p->members[i].age;
        be32_put(q + 15, p->members[i].refs);
    }
    for (uint32_t i = 0; i < p->nobs; i++, q += OBS_BYTES) {
        const s_obs_t *o = &p->obs[i];
        be64_put(q, o->measure);
        q[8] = o->side;
        q[9] = o->who.mode;
        q[10] = o->who.gender;
        q[11] = o->who.age;
        be32_put(q + 12, (uint32_t) o->value);
        be32_put(q + 16, o->month);
        be64_put(q + 20, o->order);
        memcpy(q + 28, o->id8, 8);
    }
    return 0;
}

/* Where this person has contributions to measure mh: for [year, quarter,
 * month] of `month`, in each slice of PS_* (who says which mode, gender and
 * age band the slices are). */
static void s_presence(const s_person_t *p, uint64_t mh, uint32_t month, s_who_t who, bool in[3][PS_COUNT])
{
    memset(in, 0, sizeof(bool[3][PS_COUNT]));
    for (uint32_t i = 0; i < p->nmembers; i++) {
        const s_member_t *e = &p->members[i];
        if (e->measure != mh || e->month / 100 != month / 100)
            continue;
        bool period[3] = {true, (e->month % 100 - 1) / 3 == (month % 100 - 1) / 3, e->month == month};
        bool slice[PS_COUNT] = {true, e->mode == who.mode, e->gender == who.gender, e->age == who.age};
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < PS_COUNT; b++)
                in[a][b] |= period[a] && slice[b];
    }
}

/* Adds sign to this person's contributions to (measure, month, who) and
 * sets du[period][slice] to the change in each cell's distinct units
 * (+1, -1 or 0). Returns 0 or ENOMEM. */
static int s_person_ref(s_person_t *p, uint64_t mh, uint32_t month, s_who_t who, int sign,
                        int du[3][PS_COUNT])
{
    bool before[3][PS_COUNT], after[3][PS_COUNT];
    s_presence(p, mh, month, who, before);
    p->dirty = true;
    uint32_t i = 0;
    while (i < p->nmembers &&
           !(p->members[i].measure == mh && p->members[i].month == month && p->members[i].mode == who.mode &&
             p->members[i].gender == who.gender && p->members[i].age == who.age))
        i++;
    if (i < p->nmembers) {
        if (sign > 0)
            p->members[i].refs++;
        else if (--p->members[i].refs == 0)
            p->members[i] = p->members[--p->nmembers];
    } else if (sign > 0) {
        if (p->nmembers == p->cmembers) {
            uint32_t cap = p->cmembers ? p->cmembers * 2 : 8;
            s_member_t *m = realloc(p->members, cap * sizeof *m);
            if (!m)
                return ENOMEM;
            p->members = m;
            p->cmembers = cap;
        }
        p->members[p->nmembers++] = (s_member_t){mh, month, who.mode, who.gender, who.age, 1};
    } /* else: never counted, nothing to undo */
    s_presence(p, mh, month, who, after);
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < PS_COUNT; b++)
            du[a][b] = (int) after[a][b] - (int) before[a][b];
    return 0;
}

/* ---- cells ---------------------------------------------------------- */

/* Cell keys built in place (layout in cell.h): measure and förbund once,
 * then period and slice per cell. */
static void s_key_prefix(uint8_t key[CELL_KEY_LEN], const char *measure, const char *forbund)
{
    memset(key, 0, CELL_KEY_LEN);
    memcpy(key, measure, strnlen(measure, CELL_MEASURE_LEN));
    memcpy(key + CELL_MEASURE_LEN, forbund, strnlen(forbund, CELL_FORBUND_LEN));
}

static void s_key_period_slice(uint8_t key[CELL_KEY_LEN], uint32_t period, uint16_t slice)
{
    be32_put(key + 40, period);
    key[44] = (uint8_t) (slice >> 8);
    key[45] = (uint8_t) slice;
}

typedef struct {
    aggregate_t *self;
    const cat_measure_t *m;
    const char *forbund;
    uint32_t periods[3];
    uint16_t slices[PS_COUNT];
    uint8_t slice_ps[PS_COUNT]; /* for participants: which PS_* each slice is */
    int nslices;
    s_person_t *person; /* NULL for anonymous respondents */
    s_who_t who;
    uint32_t rk;    /* record key of the contributor (person or response) */
    uint32_t ek;    /* record key of the answer (the event) */
    uint64_t order; /* the event's place among a person's observations (aggregate_origin) */
} s_target_t;

/* Appends the mode slice and the gender and age band slices of t->who (the
 * NNS equality indicator: every participant measure split by gender and age
 * band); a dimension not given adds no slice. */
static void s_push_slices(s_target_t *t, int mode)
{
    if (mode) {
        t->slice_ps[t->nslices] = PS_MODE;
        t->slices[t->nslices++] = cell_slice(SLICE_MODE, mode);
    }
    if (t->who.gender) {
        t->slice_ps[t->nslices] = PS_GENDER;
        t->slices[t->nslices++] = cell_slice(SLICE_GENDER, t->who.gender);
    }
    if (t->who.age) {
        t->slice_ps[t->nslices] = PS_AGE;
        t->slices[t->nslices++] = cell_slice(SLICE_AGE, t->who.age);
    }
}

/* Adds sign * obs to every cell of the target; units and the cell key
 * follow the contributor's presence (a person once per cell, an anonymous
 * response once each), unless the observation is a "don't know". */
static int s_add(s_target_t *t, const cell_t *obs, bool dont_know, int sign)
{
    const cat_measure_t *m = t->m;
    /* Participants are counted once per person in each cell; anonymous
     * answers once per response. */
    int du[3][PS_COUNT] = {{0}};
    if (t->person && !dont_know) {
        int rc = s_person_ref(t->person, t->self->measure_hash[m - t->self->catalogue->measures],
                              t->periods[2] & 0x0fffffff, t->who, sign, du);
        if (rc)
            return rc;
    }
    uint8_t key[CELL_KEY_LEN];
    s_key_prefix(key, m->id, t->forbund);
    for (int pi = 0; pi < 3; pi++) {
        for (int si = 0; si < t->nslices; si++) {
            s_key_period_slice(key, t->periods[pi], t->slices[si]);
            s_slot_t *slot = s_cellmap_get(&t->self->cells, key);
            if (!slot)
                return ENOMEM;
            cell_t *d = &slot->delta;
            cell_add(d, obs, sign);
            if (!dont_know) {
                /* The cell key moves with the units: a contributor's
                 * record key is in it exactly while they are counted. */
                int dunits = t->person ? du[pi][t->slice_ps[si]] : sign;
                d->units += dunits;
                d->ckey = (int64_t) ((uint32_t) d->ckey + (uint32_t) dunits * t->rk);
            }
        }
    }
    return 0;
}

/* Adds sign * one day count to the distributions of the target's month
 * cells, one per slice (diststore.h); quarters and years sum their months
 * when read, so a day count writes 4 distribution entries at most. */
static int s_add_days(s_target_t *t, uint32_t days, int sign)
{
    uint8_t key[CELL_KEY_LEN];
    s_key_prefix(key, t->m->id, t->forbund);
    for (int si = 0; si < t->nslices; si++) {
        s_key_period_slice(key, t->periods[2], t->slices[si]);
        if (diststore_add(t->self->dists, key, days, sign))
            return ENOMEM;
    }
    return 0;
}

/* Adds sign * (one observation of `value`) to every cell of the target. */
static int s_contribute(s_target_t *t, int value, bool dont_know, int sign)
{
    const cat_measure_t *m = t->m;
    cell_t obs = {.okey = t->ek};
    if (dont_know) {
        obs.dont_know = 1;
    } else {
        obs.n = 1;
        switch (m->aggregate) {
        case AGG_MEDIAN_DAYS: /* the value itself goes to the distribution (s_add_days) */
            obs.sum = value;
            obs.sumsq = (int64_t) value * value;
            obs.hits = value <= 30;
            break;
        case AGG_SUM:
            obs.sum = value;
            obs.sumsq = (int64_t) value * value;
            break;
        default:
            obs.sum = value;
            obs.sumsq = (int64_t) value * value;
            if (value >= 0 && value < CELL_HIST)
                obs.hist[value] = 1;
            if (m->aggregate == AGG_SHARE_YES)
                obs.hits = m->scale ? value == m->scale->yes : value == 1;
            else if (m->scale && m->scale->top_hi)
                obs.hits = value >= m->scale->top_lo && value <= m->scale->top_hi;
            break;
        }
    }
    int rc = s_add(t, &obs, dont_know, sign);
    if (rc == 0 && m->aggregate == AGG_MEDIAN_DAYS && !dont_know)
        rc = s_add_days(t, (uint32_t) value, sign);
    return rc;
}

/* ---- paired measures ------------------------------------------------ */

/* Episode order of two observations of one measure (qsort on pointers):
 * occurred month, then the log position of the first report. The event id,
 * side and value only make the order total; one event never observes a
 * measure twice. */
static int s_obs_cmp(const void *a, const void *b)
{
    const s_obs_t *x = *(const s_obs_t *const *) a, *y = *(const s_obs_t *const *) b;
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

/* Adds sign * the pair (from, to) of measure m to the cells of the "to"
 * observation's period and slices: the observation that completes the
 * pair says when and for whom it counts (its mode, gender and age band). */
static int s_pair_add(aggregate_t *self, const cat_measure_t *m, const char *forbund, s_person_t *p,
                      const s_obs_t *from, const s_obs_t *to, int sign)
{
    cell_t obs = {.n = 1};
    /* The pair's answers: another entry or exit is another draw. */
    obs.okey = (uint32_t) (secret_record_key(self->secret, from->id8, 8) +
                           secret_record_key(self->secret, to->id8, 8));
    if (m->aggregate == AGG_PAIRED_CHANGE) {
        int change = to->value - from->value;
        obs.sum = change;
        obs.sumsq = (int64_t) change * change;
        int b = change + 8;
        obs.hist[b < 0 ? 0 : b >= CELL_HIST ? CELL_HIST - 1 : b] = 1;
        obs.hits = change >= 1;
    } else {
        if (from->value != 1)
            return 0; /* sustained: only those who left in work or studies */
        obs.sum = obs.hits = to->value == 1;
        obs.sumsq = obs.sum;
    }
    s_target_t t = {
        .self = self, .m = m, .forbund = forbund, .nslices = 1, .person = p, .who = to->who, .rk = p->rk};
    s_month_periods(to->month, t.periods);
    s_push_slices(&t, to->who.mode);
    /* units and the cell key through the person's membership, as for any
     * participant answer: two episodes in one cell are two pairs (n) of
     * one person (units). */
    return s_add(&t, &obs, false, sign);
}

/* Adds sign * every pair the person's observations of measure mi form, one
 * per episode: a "from" observation starts an episode, the latest "to"
 * observation before the next "from" completes it (see the file's head). */
static int s_pairs_apply(aggregate_t *self, int mi, const char *forbund, s_person_t *p, int sign)
{
    const cat_measure_t *m = &self->catalogue->measures[mi];
    uint64_t mh = self->measure_hash[mi];
    if (p->nobs > self->csorted) {
        const s_obs_t **sorted = realloc(self->sorted, p->nobs * sizeof *sorted);
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
    const s_obs_t *from = NULL, *to = NULL;
    for (uint32_t i = 0; i <= n; i++) {
        const s_obs_t *o = i < n ? self->sorted[i] : NULL;
        if (o && o->side == 1) {
            if (from)
                to = o; /* a "to" before any "from" pairs with nothing */
            continue;
        }
        /* A new episode starts (or the observations end): the one before
         * is complete. */
        if (from && to) {
            int rc = s_pair_add(self, m, forbund, p, from, to, sign);
            if (rc)
                return rc;
        }
        from = o;
        to = NULL;
    }
    return 0;
}

/* One observation of a side of paired measure mi by the target's person
 * (added, or removed by event id): the person's pairs of mi are taken out
 * and formed again. */
static int s_pair_observe(s_target_t *t, int mi, const event_msg_t *ev, int side, int value, int sign)
{
    aggregate_t *self = t->self;
    s_person_t *p = t->person;
    uint64_t mh = self->measure_hash[mi];
    int rc = s_pairs_apply(self, mi, t->forbund, p, -1);
    if (rc)
        return rc;
    p->dirty = true;
    if (sign > 0) {
        if (p->nobs == p->cobs) {
            uint32_t cap = p->cobs ? p->cobs * 2 : 8;
            s_obs_t *o = realloc(p->obs, cap * sizeof *o);
            if (!o)
                return ENOMEM;
            p->obs = o;
            p->cobs = cap;
        }
        s_obs_t *o = &p->obs[p->nobs++];
        *o = (s_obs_t){mh, (uint8_t) side, t->who, value, t->periods[2] & 0x0fffffff, t->order, {0}};
        memcpy(o->id8, ev->id.data, 8);
    } else {
        for (uint32_t i = 0; i < p->nobs; i++)
            if (p->obs[i].measure == mh && p->obs[i].side == side && !memcmp(p->obs[i].id8, ev->id.data, 8)) {
                p->obs[i] = p->obs[--p->nobs];
                break;
            }
    }
    return s_pairs_apply(self, mi, t->forbund, p, +1);
}

int aggregate_origin(MDB_txn *txn, const ledger_t *ledger, const event_msg_t *ev, uint64_t seq,
                     uint64_t *origin)
{
    *origin = seq;
    event_msg_t *owned = NULL;
    const event_msg_t *cur = ev;
    int rc = 0;
    /* Each step goes to an earlier position (a target is stored before
     * what names it), so the walk ends. */
    while (cur->has_supersedes && cur->supersedes.len == CODEC_ID_LEN) {
        uint64_t target;
        rc = ledger_find(txn, ledger, cur->forbund, cur->supersedes.data, &target);
        if (rc || target >= *origin)
            break;
        *origin = target;
        const uint8_t *bytes;
        size_t len;
        char why[160];
        event_msg_t *next = NULL;
        if ((rc = ledger_get(txn, ledger, target, &bytes, &len, NULL)) == 0 &&
            codec_decode_event(bytes, len, &next, why, sizeof why) != FINSAM__V1__REJECT_CODE__REJECT_NONE)
            rc = MDB_CORRUPTED;
        codec_free_event(&owned);
        if (rc)
            break;
        owned = next;
        cur = next;
    }
    codec_free_event(&owned);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* ---- events --------------------------------------------------------- */

static int s_answers(s_target_t *t, const cat_instrument_t *in, size_t n, Finsam__V1__Answer **answers,
                     const event_msg_t *ev, int sign)
{
    aggregate_t *self = t->self;
    const s_routes_t *routes = &self->routes[self->route_base[in - self->catalogue->instruments]];
    for (size_t i = 0; i < n; i++) {
        int item = -1;
        for (int j = 0; j < in->nitems && item < 0; j++)
            if (!strcmp(in->items[j].code, answers[i]->item))
                item = j;
        if (item < 0)
            continue; /* validated before; cannot happen */
        const s_routes_t *r = &routes[item];
        for (int k = 0; k < r->n; k++) {
            int mi = r->measure[k], side = r->side[k];
            const cat_measure_t *m = &self->catalogue->measures[mi];
            int value = answers[i]->value;
            bool dk = m->scale && m->scale->dont_know >= 0 && value == m->scale->dont_know;
            int rc;
            if (side >= 0) {
                if (dk || !t->person)
                    continue;
                rc = s_pair_observe(t, mi, ev, side, value, sign);
            } else {
                t->m = m;
                rc = s_contribute(t, value, dk, sign);
            }
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* The ratio measures of the instrument (the shares of insatser): a report
 * that gives both the part and the total is one observation — n 1, sum
 * the total, hits the part — so a cell's share hits / sum is Σ part /
 * Σ total over exactly the reports that gave both (validate.c keeps the
 * part at most the total). A report without one of them adds nothing
 * here; its numbers still count in their own sum measures. */
static int s_ratios(s_target_t *t, const cat_instrument_t *in, size_t n, Finsam__V1__Answer **answers,
                    int sign)
{
    const catalogue_t *cat = t->self->catalogue;
    for (int mi = 0; mi < cat->nmeasures; mi++) {
        const cat_measure_t *m = &cat->measures[mi];
        if (m->aggregate != AGG_RATIO || strcmp(m->instrument, in->code))
            continue;
        const Finsam__V1__Answer *part = NULL, *total = NULL;
        for (size_t i = 0; i < n; i++) {
            if (!strcmp(answers[i]->item, m->numerator_item))
                part = answers[i];
            else if (!strcmp(answers[i]->item, m->denominator_item))
                total = answers[i];
        }
        if (!part || !total)
            continue;
        cell_t obs = {.n = 1,
                      .sum = total->value,
                      .sumsq = (int64_t) total->value * total->value,
                      .hits = part->value,
                      .okey = t->ek};
        t->m = m;
        int rc = s_add(t, &obs, false, sign);
        if (rc)
            return rc;
    }
    return 0;
}

static int s_status(s_target_t *t, const Finsam__V1__StatusObservation *s, const event_msg_t *ev, int sign)
{
    aggregate_t *self = t->self;
    for (int mi = 0; mi < self->catalogue->nmeasures; mi++) {
        const cat_measure_t *m = &self->catalogue->measures[mi];
        if (m->status_field == STATUS_NONE)
            continue;
        bool has = true;
        int value = 0;
        switch (m->status_field) {
        case STATUS_STEP: value = validate_status_step(s); break;
        case STATUS_DAYS_IN_INSATS:
            has = s->has_days_in_insats;
            value = (int) s->days_in_insats;
            break;
        case STATUS_DAYS_TO_NEXT_SERVICE:
            has = s->has_days_to_next_service;
            value = (int) s->days_to_next_service;
            break;
        case STATUS_IN_WORK_OR_STUDIES: value = validate_status_in_work_or_studies(s) ? 1 : 2; break;
        case STATUS_ASSESSED_WITH_PARTICIPANT:
            has = s->has_assessed_with_participant;
            value = s->assessed_with_participant ? 1 : 2;
            break;
        default: has = false; break;
        }
        if (!has)
            continue;
        int rc = 0;
        if (m->aggregate == AGG_PAIRED_CHANGE || m->aggregate == AGG_SHARE_SUSTAINED) {
            int side = (int) s->phase == m->from_phase ? 0 : (int) s->phase == m->to_phase ? 1 : -1;
            if (side < 0)
                continue;
            if (m->status_field == STATUS_IN_WORK_OR_STUDIES)
                value = value == 1; /* 1 = yes, 0 = no for pairs */
            rc = s_pair_observe(t, mi, ev, side, value, sign);
        } else {
            if ((int) s->phase != m->phase)
                continue;
            t->m = m;
            rc = s_contribute(t, value, false, sign);
        }
        if (rc)
            return rc;
    }
    return 0;
}

int aggregate_event(aggregate_t *self, ledger_txn_t *lt, const event_msg_t *ev, uint64_t order, int sign)
{
    s_target_t t = {self, NULL, ev->forbund, {0}, {0}, {PS_ALL}, 1, NULL, {0, 0, 0}, 0, 0, order};
    t.ek = secret_record_key(self->secret, ev->id.data, ev->id.len);
    s_periods(ev->occurred_at, t.periods);
    uint8_t pkey[PKEY_LEN] = {0};
    memcpy(pkey, ev->forbund, strnlen(ev->forbund, CELL_FORBUND_LEN));
    const ProtobufCBinaryData *pseudonym = NULL;
    int mode = 0;
    switch (ev->body_case) {
    case FINSAM__V1__EVENT__BODY_PARTICIPANT_SURVEY: {
        const Finsam__V1__ParticipantSurvey *ps = ev->participant_survey;
        pseudonym = &ps->pseudonym;
        mode = ps->mode;
        t.who = (s_who_t){(uint8_t) mode, ps->has_gender ? (uint8_t) ps->gender : 0,
                          ps->has_age_band ? (uint8_t) ps->age_band : 0};
        break;
    }
    case FINSAM__V1__EVENT__BODY_STATUS: {
        const Finsam__V1__StatusObservation *so = ev->status;
        pseudonym = &so->pseudonym;
        mode = so->mode;
        t.who = (s_who_t){(uint8_t) mode, so->has_gender ? (uint8_t) so->gender : 0,
                          so->has_age_band ? (uint8_t) so->age_band : 0};
        break;
    }
    case FINSAM__V1__EVENT__BODY_STAFF_SURVEY:
        mode = ev->staff_survey->mode;
        t.slices[t.nslices++] = cell_slice(SLICE_AGENCY, ev->staff_survey->agency);
        break;
    default: break;
    }
    /* Participant measures by mode, gender and age band; staff answers by
     * agency (above) and mode. */
    s_push_slices(&t, mode);
    if (pseudonym) {
        memcpy(pkey + CELL_FORBUND_LEN, pseudonym->data, CODEC_PSEUDONYM_LEN);
        int rc = s_person_load(self, lt->txn, lt->ledger, pkey, &t.person);
        if (rc)
            return rc;
        t.rk = t.person->rk;
    } else {
        /* An anonymous respondent is one contributor per response. */
        t.rk = t.ek;
    }
    const cat_instrument_t *in;
    switch (ev->body_case) {
    case FINSAM__V1__EVENT__BODY_PARTICIPANT_SURVEY:
        in = catalogue_instrument(self->catalogue, ev->participant_survey->instrument);
        return in ? s_answers(&t, in, ev->participant_survey->n_answers, ev->participant_survey->answers, ev,
                              sign)
                  : 0;
    case FINSAM__V1__EVENT__BODY_STAFF_SURVEY:
        in = catalogue_instrument(self->catalogue, ev->staff_survey->instrument);
        return in ? s_answers(&t, in, ev->staff_survey->n_answers, ev->staff_survey->answers, ev, sign) : 0;
    case FINSAM__V1__EVENT__BODY_ORGANISATION:
        for (int i = 0; i < self->catalogue->ninstruments; i++)
            if (self->catalogue->instruments[i].kind == INSTR_ORGANISATION) {
                in = &self->catalogue->instruments[i];
                int rc = s_answers(&t, in, ev->organisation->n_answers, ev->organisation->answers, ev, sign);
                return rc ? rc
                          : s_ratios(&t, in, ev->organisation->n_answers, ev->organisation->answers, sign);
            }
        return 0;
    case FINSAM__V1__EVENT__BODY_STATUS: return s_status(&t, ev->status, ev, sign);
    default: return 0;
    }
}

int aggregate_flush(aggregate_t *self, ledger_txn_t *lt, aggregate_changed_fn changed, void *arg)
{
    MDB_dbi cells = ledger_dbi(lt->ledger, LEDGER_DB_CELLS);
    for (size_t i = 0; i < self->cells.n; i++) {
        const s_slot_t *slot = &self->cells.slots[self->cells.used[i]];
        const cell_t *d = &slot->delta;
        if (cell_is_zero(d))
            continue;
        const uint8_t *key = slot->key;
        MDB_val k = {CELL_KEY_LEN, (void *) key}, v;
        cell_t state = {0};
        int rc = mdb_get(lt->txn, cells, &k, &v);
        if (rc == 0 && v.mv_size == sizeof state)
            memcpy(&state, v.mv_data, sizeof state);
        else if (rc == 0)
            return MDB_CORRUPTED;
        else if (rc != MDB_NOTFOUND)
            return rc;
        cell_add(&state, d, +1);
        if (cell_is_zero(&state)) {
            rc = mdb_del(lt->txn, cells, &k, NULL);
            if (rc == MDB_NOTFOUND)
                rc = 0;
        } else {
            v = (MDB_val){sizeof state, &state};
            rc = mdb_put(lt->txn, cells, &k, &v, 0);
        }
        if (rc)
            return rc;
        if (changed)
            changed(key, CELL_KEY_LEN, &state, sizeof state, arg);
    }
    int drc = diststore_flush(self->dists, lt->txn, ledger_dbi(lt->ledger, LEDGER_DB_DISTS));
    if (drc)
        return drc;
    for (s_person_t *p = zhashx_first(self->people); p; p = zhashx_next(self->people)) {
        if (!p->dirty)
            continue;
        int rc = s_person_store(lt->txn, lt->ledger, zhashx_cursor(self->people), p);
        if (rc)
            return rc;
    }
    aggregate_begin(self);
    return 0;
}
