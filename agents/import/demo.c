/* demo.c: synthetic participants, staff and organisation reports (see
 * demo.h).
 *
 * The design decision: the generator writes JSON rows exactly as a site's
 * export would and hands them to import_row. The demo therefore exercises
 * the real anonymization and validation path, and a demo that runs clean
 * is evidence that the import format and the catalogue agree.
 *
 * Plan first, then rows: every participant's whole course is planned as
 * (day, person, what) entries, the plan is sorted by day, and rows are
 * generated in that order, so the outbox receives events chronologically.
 * Answers are derived from the catalogue's items and scales, so a new item
 * gets plausible answers without a code change. Not realistic in detail:
 * the distributions are invented, not taken from NNS data. */
#include "demo.h"

#include "util.h"

#include "log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_CHUNK 10000
#define S_SPAN_DAYS 730

typedef enum {
    P_STATUS_ENTRY,
    P_SURVEY_ONGOING,
    P_STATUS_EXIT,
    P_SURVEY_EXIT,
    P_FOLLOWUP_6,
    P_FOLLOWUP_12,
    P_STAFF,
    P_ORGANISATION
} s_what_t;

typedef struct {
    int32_t day;
    uint32_t person; /* index into persons, or a random draw for staff */
    uint8_t what;
    uint32_t order; /* tie-break: keeps a person's same-day events in plan order */
} s_plan_t;

typedef struct {
    char pnr[40];
    int birth_year;
    int gender; /* 1 woman, 2 man, 3 other */
    int mode;   /* 1 project, 2 integrated */
    int insats;
    int entry_occ, entry_inc, entry_ext;
    int exit_occ, exit_inc, exit_ext;
    int32_t entry_day, exit_day;
    double base; /* how well things go for this person, 1..5 */
    bool sustained6, sustained12;
} s_person_t;

typedef struct {
    uint64_t s;
} s_rng_t;

static uint64_t s_next(s_rng_t *r)
{
    /* splitmix64: tiny, good enough, reproducible everywhere */
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static int s_range(s_rng_t *r, int lo, int hi) /* inclusive */
{
    return lo + (int) (s_next(r) % (uint64_t) (hi - lo + 1));
}

static double s_unit(s_rng_t *r)
{
    return (double) (s_next(r) >> 11) / 9007199254740992.0;
}

static const char *const s_occ[] = {
    "", "work", "subsidised_work", "studies", "job_seeking", "preparatory", "work_training", "none"};
static const char *const s_inc[] = {"",
                                    "wage",
                                    "sickness_benefit",
                                    "activity_compensation",
                                    "sickness_compensation",
                                    "unemployment",
                                    "social_assistance",
                                    "no_public_support",
                                    "other"};
static const char *const s_gender[] = {"", "woman", "man", "other"};
static const char *const s_mode[] = {"", "project", "integrated"};
static const char *const s_agency[] = {"af", "fk", "region", "municipality", "forbund", "other"};
static const char *const s_insats[] = {"steg1", "arbetsnara", "unga_vuxna", "kartlaggning", "ips"};

static void s_make_pnr(s_rng_t *r, int year, char *out, size_t outlen)
{
    int month = s_range(r, 1, 12), day = s_range(r, 1, 28);
    if (s_unit(r) < 0.05)
        day += 60; /* samordningsnummer */
    char d9[32];
    snprintf(d9, sizeof d9, "%02u%02u%02u%03u", (unsigned) year % 100u, (unsigned) month % 100u,
             (unsigned) day % 100u, (unsigned) s_range(r, 0, 999) % 1000u);
    int sum = 0;
    for (int i = 0; i < 9; i++) {
        int v = (d9[i] - '0') * (i % 2 == 0 ? 2 : 1);
        sum += v > 9 ? v - 9 : v;
    }
    int check = (10 - sum % 10) % 10;
    /* Both spellings sites use: 12 digits with '-', and 10 digits. */
    if (s_unit(r) < 0.5)
        snprintf(out, outlen, "%04d%.4s-%.3s%d", year, d9 + 2, d9 + 6, check);
    else
        snprintf(out, outlen, "%.6s-%.3s%d", d9, d9 + 6, check);
}

static void s_make_person(s_rng_t *r, s_person_t *p, int32_t first_day, int32_t today)
{
    int32_t entry = first_day + s_range(r, 0, S_SPAN_DAYS - 20);
    int ey, em, ed;
    anon_civil_from_days(entry, &ey, &em, &ed);
    p->birth_year = ey - s_range(r, 18, 63);
    s_make_pnr(r, p->birth_year, p->pnr, sizeof p->pnr);
    double g = s_unit(r);
    p->gender = g < 0.55 ? 1 : g < 0.98 ? 2 : 3;
    p->mode = s_unit(r) < 0.4 ? 1 : 2;
    p->insats = s_range(r, 0, 4);
    static const int entry_occ[] = {7, 5, 5, 4, 6};
    static const int entry_inc[] = {2, 3, 4, 6, 5};
    p->entry_occ = entry_occ[s_range(r, 0, 4)];
    p->entry_inc = entry_inc[s_range(r, 0, 4)];
    p->entry_ext = p->entry_occ == 7 ? 0 : 25 * s_range(r, 1, 2);
    p->base = 2.0 + 2.0 * s_unit(r);
    p->entry_day = entry;
    p->exit_day = entry + s_range(r, 60, 420);
    if (p->exit_day > today)
        p->exit_day = INT32_MAX; /* still in the insats */
    /* A tendency to improve: about half leave for work, studies or closer steps. */
    double u = s_unit(r);
    if (u < 0.25) {
        p->exit_occ = 1;
        p->exit_inc = s_unit(r) < 0.7 ? 1 : 7;
        p->exit_ext = 25 * s_range(r, 2, 4);
    } else if (u < 0.4) {
        p->exit_occ = 3;
        p->exit_inc = s_unit(r) < 0.5 ? 7 : 5;
        p->exit_ext = 25 * s_range(r, 2, 4);
    } else if (u < 0.5) {
        p->exit_occ = 2;
        p->exit_inc = 1;
        p->exit_ext = 25 * s_range(r, 2, 4);
    } else if (u < 0.65) {
        p->exit_occ = 6;
        p->exit_inc = p->entry_inc;
        p->exit_ext = 50;
    } else {
        p->exit_occ = p->entry_occ;
        p->exit_inc = p->entry_inc;
        p->exit_ext = p->entry_ext;
    }
    p->sustained6 = s_unit(r) < 0.75;
    p->sustained12 = p->sustained6 && s_unit(r) < 0.85;
}

/* Answers for every item of an instrument, around `mean` on ordinal scales. */
static json_t *s_answers(s_rng_t *r, const cat_instrument_t *in, double mean)
{
    json_t *a = json_object();
    for (int i = 0; i < in->nitems; i++) {
        const cat_item_t *it = &in->items[i];
        const cat_scale_t *sc = it->scale;
        int v;
        if (sc->dont_know >= 0 && s_unit(r) < 0.05)
            v = sc->dont_know;
        else if (sc->yes >= 0)
            v = s_unit(r) < (mean - 1.0) / 4.0 + 0.1 ? sc->yes : (sc->yes == sc->min ? sc->max : sc->min);
        else if (sc->max - sc->min > 10)
            v = sc->min + s_range(r, 0, 20);
        else {
            double x = mean + (s_unit(r) + s_unit(r) - 1.0) * 1.5;
            v = (int) (x + 0.5);
            v = v < sc->min ? sc->min : v > sc->max ? sc->max : v;
        }
        json_object_set_new(a, it->code, json_integer(v));
    }
    return a;
}

/* A real report's part is at most its total (validate.c refuses the
 * rest): where a ratio's part came out larger, the two numbers swap. No
 * random draw, so a seed gives the same events as before. */
static void s_ratios_hold(const catalogue_t *cat, const cat_instrument_t *in, json_t *answers)
{
    for (int i = 0; answers && i < cat->nmeasures; i++) {
        const cat_measure_t *m = &cat->measures[i];
        if (m->aggregate != AGG_RATIO || strcmp(m->instrument, in->code))
            continue;
        json_t *part = json_object_get(answers, m->numerator_item),
               *total = json_object_get(answers, m->denominator_item);
        if (!part || !total || json_integer_value(part) <= json_integer_value(total))
            continue;
        json_int_t p = json_integer_value(part);
        json_integer_set(part, json_integer_value(total));
        json_integer_set(total, p);
    }
}

static void s_date(int32_t day, char out[11])
{
    int y, m, d;
    anon_civil_from_days(day, &y, &m, &d);
    snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
}

static json_t *s_status_row(s_rng_t *r, const s_person_t *p, const char *phase, int32_t day, int occ, int inc,
                            int ext)
{
    char date[11];
    s_date(day, date);
    json_t *row = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:s, s:i, s:b}", "kind", "status",
                            "personnummer", p->pnr, "date", date, "phase", phase, "mode", s_mode[p->mode],
                            "insats", s_insats[p->insats], "occupation", s_occ[occ], "income", s_inc[inc],
                            "extent_pct", ext, "gender", s_gender[p->gender], "birth_year", p->birth_year,
                            "assessed_with_participant", s_unit(r) < 0.85);
    if (row && !strcmp(phase, "exit")) {
        json_object_set_new(row, "days_in_insats", json_integer(p->exit_day - p->entry_day));
        int next = s_unit(r) < 0.7 ? s_range(r, 0, 30) : s_range(r, 31, 150);
        json_object_set_new(row, "days_to_next_service", json_integer(next));
    }
    return row;
}

static json_t *s_survey_row(s_rng_t *r, const catalogue_t *cat, const s_person_t *p, const char *instrument,
                            int32_t day, double mean)
{
    const cat_instrument_t *in = catalogue_instrument(cat, instrument);
    if (!in)
        return NULL;
    char date[11];
    s_date(day, date);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:o}", "kind", "participant_survey",
                     "personnummer", p->pnr, "date", date, "instrument", instrument, "mode", s_mode[p->mode],
                     "insats", s_insats[p->insats], "gender", s_gender[p->gender], "birth_year",
                     p->birth_year, "answers", s_answers(r, in, mean));
}

static const cat_instrument_t *s_pick_staff_instrument(s_rng_t *r, const catalogue_t *cat)
{
    const cat_instrument_t *first = NULL, *other[16];
    int nother = 0;
    for (int i = 0; i < cat->ninstruments; i++) {
        const cat_instrument_t *in = &cat->instruments[i];
        if (in->kind != INSTR_STAFF_SURVEY)
            continue;
        if (!first)
            first = in;
        else if (nother < 16)
            other[nother++] = in;
    }
    /* Most answers come from insats staff (the first staff instrument). */
    if (nother == 0 || s_unit(r) < 0.7)
        return first;
    return other[s_range(r, 0, nother - 1)];
}

static json_t *s_row(s_rng_t *r, const catalogue_t *cat, const s_plan_t *e, const s_person_t *persons)
{
    const s_person_t *p = &persons[e->person];
    char date[11];
    switch ((s_what_t) e->what) {
    case P_STATUS_ENTRY: return s_status_row(r, p, "entry", e->day, p->entry_occ, p->entry_inc, p->entry_ext);
    case P_STATUS_EXIT: return s_status_row(r, p, "exit", e->day, p->exit_occ, p->exit_inc, p->exit_ext);
    case P_FOLLOWUP_6:
        if (p->sustained6)
            return s_status_row(r, p, "followup_6", e->day, p->exit_occ, p->exit_inc, p->exit_ext);
        return s_status_row(r, p, "followup_6", e->day, p->entry_occ, p->entry_inc, p->entry_ext);
    case P_FOLLOWUP_12:
        if (p->sustained12)
            return s_status_row(r, p, "followup_12", e->day, p->exit_occ, p->exit_inc, p->exit_ext);
        return s_status_row(r, p, "followup_12", e->day, p->entry_occ, p->entry_inc, p->entry_ext);
    case P_SURVEY_ONGOING: return s_survey_row(r, cat, p, "deltagare_pagaende", e->day, p->base);
    case P_SURVEY_EXIT: return s_survey_row(r, cat, p, "deltagare_avslut", e->day, p->base + 0.6);
    case P_STAFF: {
        const cat_instrument_t *in = s_pick_staff_instrument(r, cat);
        if (!in)
            return NULL;
        s_date(e->day, date);
        char rid[32];
        snprintf(rid, sizeof rid, "staff-%u", e->order);
        return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "kind", "staff_survey", "response_id", rid,
                         "date", date, "instrument", in->code, "agency", s_agency[s_range(r, 0, 5)], "mode",
                         s_mode[s_range(r, 1, 2)], "answers", s_answers(r, in, 3.0 + s_unit(r)));
    }
    case P_ORGANISATION: {
        const cat_instrument_t *in = NULL;
        for (int i = 0; i < cat->ninstruments && !in; i++)
            if (cat->instruments[i].kind == INSTR_ORGANISATION)
                in = &cat->instruments[i];
        if (!in)
            return NULL;
        s_date(e->day, date);
        json_t *answers = s_answers(r, in, 2.5);
        s_ratios_hold(cat, in, answers);
        return json_pack("{s:s, s:s, s:o}", "kind", "organisation", "date", date, "answers", answers);
    }
    }
    return NULL;
}

static int s_plan_cmp(const void *a, const void *b)
{
    const s_plan_t *x = a, *y = b;
    if (x->day != y->day)
        return x->day < y->day ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

typedef struct {
    s_plan_t *v;
    size_t n, cap;
} s_plan_list_t;

static int s_plan_add(s_plan_list_t *l, int32_t day, uint32_t person, s_what_t what)
{
    if (l->n == l->cap) {
        s_plan_t *grown = array_grow(l->v, &l->cap, sizeof *grown, 1024);
        if (!grown)
            return -1;
        l->v = grown;
    }
    l->v[l->n] = (s_plan_t){day, person, (uint8_t) what, (uint32_t) l->n};
    l->n++;
    return 0;
}

fin_err_t demo_fill(outbox_t *outbox, const catalogue_t *cat, const anon_t *anon, const char *forbund,
                    long events, uint64_t seed, int64_t now_s, import_stats_t *stats, char *err,
                    size_t errlen)
{
    s_rng_t rng = {seed ? seed : 1};
    /* Yesterday at the latest: never "in the future" in any time zone. */
    int32_t today = (int32_t) (now_s / 86400) - 1;
    int32_t first = today - S_SPAN_DAYS;
    s_plan_list_t plan = {0};
    s_person_t *persons = NULL;
    size_t npersons = 0, cap = 0;
    /* Until the end, a failure is memory, or a bug where it says so. */
    fin_err_t rc = fin_fail(err, errlen, FIN_ENOMEM, "out of memory");
    import_t *imp = import_new(cat, anon, forbund, now_s);
    /* The demo's own insats codes, declared as a site declares its own. */
    insatser_t *ins = insatser_new("the demo");
    char why[128];
    for (size_t i = 0; ins && i < sizeof s_insats / sizeof *s_insats; i++)
        if (insatser_add(ins, s_insats[i], "any", why, sizeof why) != FIN_OK)
            insatser_destroy(&ins);
    if (!imp || !ins) {
        import_destroy(&imp);
        insatser_destroy(&ins);
        return rc;
    }
    import_set_insatser(imp, ins);

    /* One organisation report per year, dated 31 December. */
    int fy, fm, fd, ty, tm, td;
    anon_civil_from_days(first, &fy, &fm, &fd);
    anon_civil_from_days(today, &ty, &tm, &td);
    for (int y = fy; y <= ty && (long) plan.n < events; y++) {
        int32_t dec31 = anon_days_from_civil(y, 12, 31);
        if (dec31 >= first && dec31 <= today && s_plan_add(&plan, dec31, 0, P_ORGANISATION) < 0)
            goto free_all;
    }
    while ((long) plan.n < events) {
        if (npersons == cap) {
            cap = cap ? cap * 2 : 256;
            s_person_t *np = realloc(persons, cap * sizeof *np);
            if (!np)
                goto free_all;
            persons = np;
        }
        s_person_t *p = &persons[npersons];
        s_make_person(&rng, p, first, today);
        uint32_t idx = (uint32_t) npersons++;
        int32_t ongoing = p->entry_day + s_range(&rng, 20, 50);
        bool ok = s_plan_add(&plan, p->entry_day, idx, P_STATUS_ENTRY) == 0;
        if (ok && ongoing <= today && ongoing < p->exit_day)
            ok = s_plan_add(&plan, ongoing, idx, P_SURVEY_ONGOING) == 0;
        if (ok && p->exit_day <= today) {
            ok = s_plan_add(&plan, p->exit_day, idx, P_STATUS_EXIT) == 0 &&
                 s_plan_add(&plan, p->exit_day, idx, P_SURVEY_EXIT) == 0;
            if (ok && p->exit_day + 183 <= today && s_unit(&rng) < 0.7)
                ok = s_plan_add(&plan, p->exit_day + 183, idx, P_FOLLOWUP_6) == 0;
            if (ok && p->exit_day + 365 <= today && s_unit(&rng) < 0.5)
                ok = s_plan_add(&plan, p->exit_day + 365, idx, P_FOLLOWUP_12) == 0;
        }
        if (ok && s_unit(&rng) < 0.35)
            ok = s_plan_add(&plan, first + s_range(&rng, 0, S_SPAN_DAYS), idx, P_STAFF) == 0;
        if (!ok)
            goto free_all;
    }
    /* The last person may overshoot: drop their latest planned events. */
    plan.n = (size_t) events < plan.n ? (size_t) events : plan.n;
    qsort(plan.v, plan.n, sizeof *plan.v, s_plan_cmp);

    for (size_t i = 0; i < plan.n; i++) {
        json_t *row = s_row(&rng, cat, &plan.v[i], persons);
        char field[64], why[320];
        if (!row || import_row(imp, row, field, sizeof field, why, sizeof why) < 0) {
            log_error("demo", "DEMO-ROW-INVALID n=%zu field=%s reason=\"%s\"", i, row ? field : "-",
                      row ? why : "cannot build row");
            json_decref(row);
            rc = fin_fail(err, errlen, FIN_EINTERNAL,
                          "a generated row failed validation (a bug; see the log)");
            goto free_all;
        }
        json_decref(row);
        stats->rows++;
        if (import_pending(imp) >= S_CHUNK || i + 1 == plan.n) {
            if ((rc = import_commit(imp, outbox, false, stats, why, sizeof why))) {
                fin_fail(err, errlen, rc, "outbox: %s", why);
                goto free_all;
            }
        }
    }
    log_info("demo", "DEMO-FILLED forbund=%s rows=%zu accepted=%zu already=%zu participants=%zu", forbund,
             stats->rows, stats->accepted, stats->already, npersons);
    rc = FIN_OK;
free_all:
    import_destroy(&imp);
    insatser_destroy(&ins);
    if (persons)
        memset(persons, 0, npersons * sizeof *persons); /* invented, but treat like the real thing */
    free(persons);
    free(plan.v);
    return rc;
}
