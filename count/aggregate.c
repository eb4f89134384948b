/* aggregate.c: incremental, exactly invertible indicator cells (see
 * aggregate.h and cell.h): which cells an event feeds, and the
 * transaction's commit.
 *
 * An event is routed (per instrument and item, computed once from the
 * catalogue) to the measures it feeds; each contribution adds to the cells
 * of its measure, förbund, [year, quarter, month] and slices. Three kinds
 * of state change, each in a file of its own:
 *  - cell deltas, gathered for the whole transaction in a cellmap
 *    (cellmap.h) and read-modify-written once each at flush;
 *  - the participant record (persons.h): reference counts of the cells
 *    the person contributes to, so `units` counts distinct people, and
 *    their observations of paired measures, which form pairs per episode
 *    (pairs.h); a pair counts in the period and slices of its "to"
 *    observation, the one that completes it;
 *  - a day count (median_days) also adds to its month cells'
 *    distributions (diststore.h), so medians and quartiles are exact.
 *
 * Measures are named in participant records by a keyed SipHash of their
 * id (secret_name_hash): stored, so specified and the same on every host. */
#include "aggregate.h"

#include "cell.h"
#include "cellmap.h"
#include "diststore.h"
#include "pairs.h"
#include "persons.h"
#include "secret.h"
#include "util.h"
#include "validate.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    s_routes_t *routes;         /* per (instrument, item), flat */
    int *route_base;            /* per instrument: index of its first item */
    uint64_t *measure_hash;     /* per catalogue measure: secret_name_hash of its id */
    cellmap_t *cells;           /* cell key -> cell_t delta, for this transaction */
    diststore_t *dists;         /* distribution changes, for this transaction */
    persons_t *people;          /* participant records read in this transaction */
    pairs_t *pairs;             /* scratch for episodes */
};

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
    self->cells = cellmap_new(CELL_KEY_LEN, sizeof(cell_t));
    self->people = persons_new(secret);
    self->pairs = pairs_new();
    self->dists = diststore_new();
    if (!self->measure_hash || !self->cells || !self->people || !self->pairs || !self->dists ||
        s_build_routes(self) < 0) {
        aggregate_destroy(&self);
        return NULL;
    }
    uint8_t key[SECRET_NAME_KEY_LEN];
    secret_name_key(secret, key);
    for (int i = 0; i < catalogue->nmeasures; i++)
        self->measure_hash[i] =
            secret_name_hash(key, catalogue->measures[i].id, strlen(catalogue->measures[i].id));
    sodium_memzero(key, sizeof key);
    return self;
}

void aggregate_destroy(aggregate_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    aggregate_t *self = *self_p;
    cellmap_destroy(&self->cells);
    persons_destroy(&self->people);
    pairs_destroy(&self->pairs);
    diststore_destroy(&self->dists);
    free(self->routes);
    free(self->route_base);
    free(self->measure_hash);
    sodium_memzero(self->secret, sizeof self->secret);
    free(self);
    *self_p = NULL;
}

void aggregate_begin(aggregate_t *self)
{
    cellmap_clear(self->cells);
    diststore_begin(self->dists);
    persons_begin(self->people);
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
    person_t *person; /* NULL for anonymous respondents */
    person_who_t who;
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
        int rc = person_ref(t->person, t->self->measure_hash[m - t->self->catalogue->measures],
                            t->periods[2] & 0x0fffffff, t->who, sign, du);
        if (rc)
            return rc;
    }
    uint8_t key[CELL_KEY_LEN];
    s_key_prefix(key, m->id, t->forbund);
    for (int pi = 0; pi < 3; pi++) {
        for (int si = 0; si < t->nslices; si++) {
            s_key_period_slice(key, t->periods[pi], t->slices[si]);
            cell_t *d = cellmap_get(t->self->cells, key);
            if (!d)
                return ENOMEM;
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

typedef struct {
    s_target_t *t; /* the event's target: forbund, person */
    const cat_measure_t *m;
} s_pair_ctx_t;

/* Adds sign * the pair (from, to) to the cells of the "to" observation's
 * period and slices: the observation that completes the pair says when
 * and for whom it counts (its mode, gender and age band). */
static int s_pair_add(const person_obs_t *from, const person_obs_t *to, int sign, void *arg)
{
    const s_pair_ctx_t *c = arg;
    aggregate_t *self = c->t->self;
    cell_t obs;
    if (!pairs_cell(c->m, from, to, &obs))
        return 0;
    /* The pair's answers: another entry or exit is another draw. */
    obs.okey = (uint32_t) (secret_record_key(self->secret, from->id8, 8) +
                           secret_record_key(self->secret, to->id8, 8));
    s_target_t t = {.self = self,
                    .m = c->m,
                    .forbund = c->t->forbund,
                    .nslices = 1,
                    .person = c->t->person,
                    .who = to->who,
                    .rk = c->t->person->rk};
    s_month_periods(to->month, t.periods);
    s_push_slices(&t, to->who.mode);
    /* units and the cell key through the person's membership, as for any
     * participant answer: two episodes in one cell are two pairs (n) of
     * one person (units). */
    return s_add(&t, &obs, false, sign);
}

/* One observation of a side of paired measure mi by the target's person
 * (added, or removed by event id): the person's pairs of mi are taken out
 * and formed again (pairs.h). */
static int s_pair_observe(s_target_t *t, int mi, const event_msg_t *ev, int side, int value, int sign)
{
    s_pair_ctx_t c = {t, &t->self->catalogue->measures[mi]};
    person_obs_t o = {t->self->measure_hash[mi],  (uint8_t) side, t->who, value,
                      t->periods[2] & 0x0fffffff, t->order,       {0}};
    memcpy(o.id8, ev->id.data, 8);
    return pairs_observe(t->self->pairs, t->person, &o, sign, s_pair_add, &c);
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
    uint8_t pkey[PERSON_KEY_LEN] = {0};
    memcpy(pkey, ev->forbund, strnlen(ev->forbund, CELL_FORBUND_LEN));
    const ProtobufCBinaryData *pseudonym = NULL;
    int mode = 0;
    switch (ev->body_case) {
    case FINSAM__V1__EVENT__BODY_PARTICIPANT_SURVEY: {
        const Finsam__V1__ParticipantSurvey *ps = ev->participant_survey;
        pseudonym = &ps->pseudonym;
        mode = ps->mode;
        t.who = (person_who_t){(uint8_t) mode, ps->has_gender ? (uint8_t) ps->gender : 0,
                               ps->has_age_band ? (uint8_t) ps->age_band : 0};
        break;
    }
    case FINSAM__V1__EVENT__BODY_STATUS: {
        const Finsam__V1__StatusObservation *so = ev->status;
        pseudonym = &so->pseudonym;
        mode = so->mode;
        t.who = (person_who_t){(uint8_t) mode, so->has_gender ? (uint8_t) so->gender : 0,
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
        int rc = persons_load(self->people, lt->cells, lt->ledger, pkey, &t.person);
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

size_t aggregate_people(const aggregate_t *self)
{
    return persons_loaded(self->people);
}

size_t aggregate_cells(const aggregate_t *self)
{
    return cellmap_size(self->cells);
}

int aggregate_flush(aggregate_t *self, ledger_txn_t *lt, aggregate_changed_fn changed, void *arg)
{
    MDB_dbi cells = ledger_dbi(lt->ledger, LEDGER_DB_CELLS);
    for (size_t i = 0; i < cellmap_size(self->cells); i++) {
        const cell_t *d = cellmap_value(self->cells, i);
        if (cell_is_zero(d))
            continue;
        const uint8_t *key = cellmap_key(self->cells, i);
        MDB_val k = {CELL_KEY_LEN, (void *) key}, v;
        cell_t state = {0};
        int rc = mdb_get(lt->cells, cells, &k, &v);
        if (rc == 0 && cell_state_decode(&state, v.mv_data, v.mv_size) < 0)
            return MDB_CORRUPTED;
        else if (rc != 0 && rc != MDB_NOTFOUND)
            return rc;
        cell_add(&state, d, +1);
        uint8_t bytes[CELL_STATE_LEN];
        cell_state_encode(bytes, &state);
        if (cell_is_zero(&state)) {
            rc = mdb_del(lt->cells, cells, &k, NULL);
            if (rc == MDB_NOTFOUND)
                rc = 0;
        } else {
            v = (MDB_val){sizeof bytes, bytes};
            rc = mdb_put(lt->cells, cells, &k, &v, 0);
        }
        if (rc)
            return rc;
        if (changed)
            changed(key, CELL_KEY_LEN, &state, sizeof state, arg); /* in memory: host layout */
    }
    int rc = diststore_flush(self->dists, lt->cells, ledger_dbi(lt->ledger, LEDGER_DB_DISTS));
    if (rc == 0)
        rc = persons_flush(self->people, lt->cells, lt->ledger);
    if (rc)
        return rc;
    aggregate_begin(self);
    return 0;
}
