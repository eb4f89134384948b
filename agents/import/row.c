/* row.c: one canonical row -> the body of an Event (see row.h).
 *
 * The design decision: every field is read by a small checker that either
 * gives the value or fails with the field's name and a reason, and the
 * reason repeats a value only when it is provably not personal data (a
 * spelling of a declared insats code, a known catalogue item). Values are
 * never coerced: "3" is not 3.
 *
 * Not here: ids, content hashes, natural keys and the pending set
 * (import.c), the collector's validation of the whole event (import.c
 * calls validate_event after building). */
#include "row.h"

#include "util.h"

#include <ctype.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- small tables ------------------------------------------------------ */

typedef struct {
    const char *name;
    int value;
} s_enum_t;

static const s_enum_t s_modes[] = {{"project", 1}, {"integrated", 2}, {NULL, 0}};
static const s_enum_t s_genders[] = {{"woman", 1}, {"man", 2}, {"other", 3}, {NULL, 0}};
static const s_enum_t s_phases[] = {
    {"entry", 1}, {"exit", 2}, {"followup_6", 3}, {"followup_12", 4}, {NULL, 0}};
static const s_enum_t s_occupations[] = {
    {"work", 1},        {"subsidised_work", 2}, {"studies", 3}, {"job_seeking", 4},
    {"preparatory", 5}, {"work_training", 6},   {"none", 7},    {NULL, 0}};
static const s_enum_t s_incomes[] = {{"wage", 1},
                                     {"sickness_benefit", 2},
                                     {"activity_compensation", 3},
                                     {"sickness_compensation", 4},
                                     {"unemployment", 5},
                                     {"social_assistance", 6},
                                     {"no_public_support", 7},
                                     {"other", 8},
                                     {NULL, 0}};
static const s_enum_t s_agencies[] = {{"af", 1},      {"fk", 2},    {"region", 3}, {"municipality", 4},
                                      {"forbund", 5}, {"other", 6}, {NULL, 0}};

/* The fields each kind maps; anything else in a row is dropped. */
#define S_BIT(f) (UINT32_C(1) << (f))
#define S_FIELDS_PARTICIPANT                                                                                 \
    (S_BIT(ROW_F_KIND) | S_BIT(ROW_F_PERSONNUMMER) | S_BIT(ROW_F_DATE) | S_BIT(ROW_F_INSTRUMENT) |           \
     S_BIT(ROW_F_MODE) | S_BIT(ROW_F_INSATS) | S_BIT(ROW_F_GENDER) | S_BIT(ROW_F_BIRTH_YEAR) |               \
     S_BIT(ROW_F_ANSWERS) | S_BIT(ROW_F_RESPONSE_ID))
#define S_FIELDS_STATUS                                                                                      \
    (S_BIT(ROW_F_KIND) | S_BIT(ROW_F_PERSONNUMMER) | S_BIT(ROW_F_DATE) | S_BIT(ROW_F_PHASE) |                \
     S_BIT(ROW_F_MODE) | S_BIT(ROW_F_INSATS) | S_BIT(ROW_F_OCCUPATION) | S_BIT(ROW_F_EXTENT_PCT) |           \
     S_BIT(ROW_F_INCOME) | S_BIT(ROW_F_DAYS_IN_INSATS) | S_BIT(ROW_F_DAYS_TO_NEXT_SERVICE) |                 \
     S_BIT(ROW_F_ASSESSED) | S_BIT(ROW_F_GENDER) | S_BIT(ROW_F_BIRTH_YEAR) | S_BIT(ROW_F_RESPONSE_ID))
#define S_FIELDS_STAFF                                                                                       \
    (S_BIT(ROW_F_KIND) | S_BIT(ROW_F_DATE) | S_BIT(ROW_F_INSTRUMENT) | S_BIT(ROW_F_AGENCY) |                 \
     S_BIT(ROW_F_MODE) | S_BIT(ROW_F_ANSWERS) | S_BIT(ROW_F_RESPONSE_ID))
#define S_FIELDS_ORGANISATION                                                                                \
    (S_BIT(ROW_F_KIND) | S_BIT(ROW_F_DATE) | S_BIT(ROW_F_ANSWERS) | S_BIT(ROW_F_RESPONSE_ID))
#define S_FIELDS_RETRACTION                                                                                  \
    (S_BIT(ROW_F_KIND) | S_BIT(ROW_F_TARGET) | S_BIT(ROW_F_DATE) | S_BIT(ROW_F_RESPONSE_ID))

const char *const row_field_names[ROW_NFIELDS] = {
    [ROW_F_KIND] = "kind",
    [ROW_F_PERSONNUMMER] = "personnummer",
    [ROW_F_DATE] = "date",
    [ROW_F_INSTRUMENT] = "instrument",
    [ROW_F_MODE] = "mode",
    [ROW_F_INSATS] = "insats",
    [ROW_F_GENDER] = "gender",
    [ROW_F_BIRTH_YEAR] = "birth_year",
    [ROW_F_PHASE] = "phase",
    [ROW_F_OCCUPATION] = "occupation",
    [ROW_F_INCOME] = "income",
    [ROW_F_EXTENT_PCT] = "extent_pct",
    [ROW_F_DAYS_IN_INSATS] = "days_in_insats",
    [ROW_F_DAYS_TO_NEXT_SERVICE] = "days_to_next_service",
    [ROW_F_ASSESSED] = "assessed_with_participant",
    [ROW_F_AGENCY] = "agency",
    [ROW_F_RESPONSE_ID] = "response_id",
    [ROW_F_TARGET] = "target",
    [ROW_F_ANSWERS] = "answers",
};

int row_field_of(const char *name)
{
    for (int f = 0; f < ROW_NFIELDS; f++)
        if (!strcmp(row_field_names[f], name))
            return f;
    return -1;
}

void row_fields_init(row_fields_t *r)
{
    row_fields_clear(r);
    memset(r->memo, 0, sizeof r->memo);
}

void row_fields_clear(row_fields_t *r)
{
    for (int f = 0; f < ROW_NFIELDS; f++)
        r->f[f].type = ROW_V_ABSENT;
    r->nanswers = 0;
    r->too_many_answers = false;
}

row_value_t row_value_of_json(json_t *v)
{
    row_value_t r = {ROW_V_ABSENT, NULL, 0, 0};
    if (!v)
        return r;
    switch (json_typeof(v)) {
    case JSON_NULL: r.type = ROW_V_NULL; break;
    case JSON_STRING:
        r.type = ROW_V_STRING;
        r.s = json_string_value(v);
        r.len = json_string_length(v);
        break;
    case JSON_INTEGER:
        r.type = ROW_V_INTEGER;
        r.i = json_integer_value(v);
        break;
    case JSON_TRUE: r.type = ROW_V_TRUE; break;
    case JSON_FALSE: r.type = ROW_V_FALSE; break;
    default: r.type = ROW_V_OTHER; break;
    }
    return r;
}

row_value_t row_get(const row_in_t *row, row_field_t f)
{
    if (row->cells)
        return row->cells->f[f];
    return row_value_of_json(json_object_get(row->json, row_field_names[f]));
}

/* ---- fields ------------------------------------------------------------ */

int row_fail(row_err_t *e, const char *field, const char *fmt, ...)
{
    snprintf(e->field, e->fieldlen, "%s", field);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->why, e->whylen, fmt, ap);
    va_end(ap);
    return -1;
}

#define S_IDENTIFYING                                                                                        \
    "looks like a personnummer, phone number or e-mail address; direct identifiers are not allowed here"

int row_string(const row_in_t *row, row_field_t f, bool required, const char **out, row_err_t *e)
{
    const char *name = row_field_names[f];
    row_value_t v = row_get(row, f);
    *out = NULL;
    if (v.type == ROW_V_ABSENT || v.type == ROW_V_NULL) {
        if (required)
            return row_fail(e, name, "missing");
        return 0;
    }
    if (v.type != ROW_V_STRING)
        return row_fail(e, name, "must be a string");
    const char *s = v.s;
    if (f != ROW_F_PERSONNUMMER && f != ROW_F_DATE && f != ROW_F_TARGET && anon_looks_identifying(s))
        return row_fail(e, name, S_IDENTIFYING);
    if (strlen(s) != v.len)
        return row_fail(e, name, "contains a NUL character");
    *out = s;
    return 0;
}

static int s_enum(const row_in_t *row, row_field_t f, const s_enum_t *table, bool required, int *out,
                  row_err_t *e)
{
    const char *s;
    *out = 0;
    if (row_string(row, f, required, &s, e) < 0)
        return -1;
    if (!s)
        return 0;
    for (const s_enum_t *t = table; t->name; t++)
        if (!strcmp(t->name, s)) {
            *out = t->value;
            return 0;
        }
    char allowed[256] = "";
    for (const s_enum_t *t = table; t->name; t++)
        snprintf(allowed + strlen(allowed), sizeof allowed - strlen(allowed), "%s%s", t == table ? "" : "|",
                 t->name);
    return row_fail(e, row_field_names[f], "must be one of %s", allowed);
}

static int s_int(const row_in_t *row, row_field_t f, long long min, long long max, bool *has, long long *out,
                 row_err_t *e)
{
    row_value_t v = row_get(row, f);
    *has = false;
    if (v.type == ROW_V_ABSENT || v.type == ROW_V_NULL)
        return 0;
    if (v.type != ROW_V_INTEGER)
        return row_fail(e, row_field_names[f], "must be an integer");
    long long x = v.i;
    if (x < min || x > max)
        return row_fail(e, row_field_names[f], "must be between %lld and %lld", min, max);
    *has = true;
    *out = x;
    return 0;
}

int row_date(const row_ctx_t *self, const row_in_t *row, int *y, int *m, int *d, int32_t *days, row_err_t *e)
{
    const char *s;
    if (row_string(row, ROW_F_DATE, true, &s, e) < 0)
        return -1;
    char tail;
    bool digits = strlen(s) == 10;
    for (int i = 0; i < 10 && digits; i++)
        digits = i == 4 || i == 7 || isdigit((unsigned char) s[i]);
    if (digits && s[4] == '-' && s[7] == '-') {
        /* The usual spelling, read without sscanf (once a row), as it would read it. */
        *y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
        *m = (s[5] - '0') * 10 + (s[6] - '0');
        *d = (s[8] - '0') * 10 + (s[9] - '0');
        if (!anon_is_date(*y, *m, *d))
            return row_fail(e, "date", "must be a date YYYY-MM-DD");
    } else if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
               sscanf(s, "%4d-%2d-%2d%c", y, m, d, &tail) != 3 || !anon_is_date(*y, *m, *d))
        return row_fail(e, "date", "must be a date YYYY-MM-DD");
    *days = anon_days_from_civil(*y, *m, *d);
    if (*days > self->today_days)
        return row_fail(e, "date", "is in the future");
    if (*y < 2000)
        return row_fail(e, "date", "is before 2000-01-01");
    return 0;
}

/* ---- event bodies ------------------------------------------------------ */

/* Sorts answers by item: insertion sort, as a row has a few dozen at
 * most and qsort's setup cost more than the sorting. Items are distinct
 * (JSON keys, mapping columns), so any sort gives the same order. */
static void s_sort_answers(Finsam__V1__Answer **a, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        Finsam__V1__Answer *x = a[i];
        size_t j = i;
        for (; j > 0 && strcmp(a[j - 1]->item, x->item) > 0; j--)
            a[j] = a[j - 1];
        a[j] = x;
    }
}

/* True if code is an item of any instrument: only then may a message
 * repeat a JSON key of "answers" (any other key could be a name). */
static bool s_known_item(const catalogue_t *cat, const char *code)
{
    for (int i = 0; code_is_valid(code, CAT_CODE_MAX - 1) && i < cat->ninstruments; i++)
        if (catalogue_item(&cat->instruments[i], code))
            return true;
    return false;
}

/* Reads "answers" into b and points the body's answer list (*n, *list) at
 * them, in item order. */
static int s_answers(const catalogue_t *cat, const row_in_t *row, const cat_instrument_t *in, row_event_t *b,
                     size_t *n, Finsam__V1__Answer ***list, row_err_t *e)
{
    /* The answers as (item, value) pairs, in the row's order: a JSON
     * object's keys, or the mapping's answer columns. */
    const char *keys[CODEC_MAX_ANSWERS];
    row_value_t vals[CODEC_MAX_ANSWERS];
    size_t nkeys = 0;
    if (row->cells) {
        if (row->cells->nanswers == 0)
            return row_fail(e, "answers", "missing");
        if (row->cells->too_many_answers)
            return row_fail(e, "answers", "more than %d answers", CODEC_MAX_ANSWERS);
        for (size_t i = 0; i < row->cells->nanswers; i++) {
            keys[i] = row->cells->answer_code[i];
            vals[i] = (row_value_t){ROW_V_INTEGER, NULL, 0, row->cells->answer[i]};
        }
        nkeys = row->cells->nanswers;
    } else {
        json_t *obj = json_object_get(row->json, "answers");
        if (!obj)
            return row_fail(e, "answers", "missing");
        if (!json_is_object(obj))
            return row_fail(e, "answers", "must be an object {\"item\": value}");
        if (json_object_size(obj) == 0)
            return row_fail(e, "answers", "is empty");
        if (json_object_size(obj) > CODEC_MAX_ANSWERS)
            return row_fail(e, "answers", "more than %d answers", CODEC_MAX_ANSWERS);
        const char *key;
        json_t *v;
        json_object_foreach(obj, key, v) {
            keys[nkeys] = key;
            vals[nkeys++] = row_value_of_json(v);
        }
    }
    char field[64];
    b->nanswers = 0;
    if (b->hint_in != in) {
        b->hint_in = in;
        memset(b->hint, 0, sizeof b->hint);
    }
    for (size_t k = 0; k < nkeys; k++) {
        const char *key = keys[k];
        row_value_t v = vals[k];
        if (anon_looks_identifying(key))
            return row_fail(e, "answers", "an item name " S_IDENTIFYING);
        /* An item of this instrument is known; any other key is looked up
         * in the whole catalogue only when a message needs its name (the
         * search costs more than the rest of the row). */
        const cat_item_t *it = NULL;
        if (code_is_valid(key, CAT_CODE_MAX - 1)) {
            /* catalogue_item's first match, as found for this place last row */
            const cat_item_t *h = b->hint_in == in ? b->hint[k] : NULL;
            it = h && !strcmp(h->code, key) ? h : catalogue_item(in, key);
            b->hint[k] = it;
        }
        bool bad_value = (v.type == ROW_V_STRING && anon_looks_identifying(v.s)) ||
                         (v.type == ROW_V_INTEGER && anon_number_looks_identifying(v.i));
        long long x = v.type == ROW_V_INTEGER ? v.i : 0;
        if (bad_value || !it || v.type != ROW_V_INTEGER || x < -1000000 || x > 1000000 ||
            !cat_scale_accepts(it->scale, (int) x)) {
            bool known = it || s_known_item(cat, key);
            snprintf(field, sizeof field, "answers.%.40s", known ? key : "?");
            if (bad_value)
                return row_fail(e, field, S_IDENTIFYING);
            if (!it)
                return row_fail(e, field, "not an item of instrument %s%s", in->code,
                                known ? "" : " (name not shown: not in the catalogue)");
            if (v.type != ROW_V_INTEGER)
                return row_fail(e, field, "must be an integer");
            return row_fail(e, field, "value outside scale %s (%d-%d%s)", it->scale->code, it->scale->min,
                            it->scale->max, it->scale->dont_know >= 0 ? ", 0 = don't know" : "");
        }
        Finsam__V1__Answer *a = &b->answers[b->nanswers];
        finsam__v1__answer__init(a);
        a->item = (char *) key; /* lives as long as the row */
        a->value = (int32_t) x;
        b->answer_ptrs[b->nanswers] = a;
        b->nanswers++;
    }
    /* Canonical order, so the same answers in another key order give the
     * same content and therefore the same event id. */
    s_sort_answers(b->answer_ptrs, b->nanswers);
    *n = b->nanswers;
    *list = b->answer_ptrs;
    return 0;
}

static const cat_instrument_t *s_instrument_of_kind(const catalogue_t *cat, cat_instrument_kind_t kind)
{
    for (int i = 0; i < cat->ninstruments; i++)
        if (cat->instruments[i].kind == kind)
            return &cat->instruments[i];
    return NULL;
}

static int s_instrument(const row_ctx_t *self, const row_in_t *row, cat_instrument_kind_t kind,
                        const char *kind_name, const cat_instrument_t **out, row_err_t *e)
{
    const char *code;
    if (row_string(row, ROW_F_INSTRUMENT, true, &code, e) < 0)
        return -1;
    const cat_instrument_t *in =
        code_is_valid(code, CAT_CODE_MAX - 1) ? catalogue_instrument(self->cat, code) : NULL;
    if (!in)
        return row_fail(e, "instrument", "not in catalogue version %u", self->cat->version);
    if (in->kind != kind)
        return row_fail(e, "instrument", "%s is not a %s instrument", in->code, kind_name);
    *out = in;
    return 0;
}

/* The insats and mode of a person row. The insats must be a code the site
 * declared: it is the one text of a row that travels, so a wrongly mapped
 * column (a name, "LQ-850312") must stop here. A code declared with a mode
 * gives the mode when the row has none and must agree when it has one. */
static int s_insats_mode(const row_ctx_t *self, const row_in_t *row, char **insats, int *mode, row_err_t *e)
{
    const char *s, *src = insatser_source(self->insatser);
    int declared = INSATSER_ANY;
    if (row_string(row, ROW_F_INSATS, false, &s, e) < 0)
        return -1;
    if (s && insatser_count(self->insatser) == 0)
        return row_fail(
            e, "insats",
            "no insats codes are declared (value not shown); list the site's codes in an "
            "[insatser] section of the agent's configuration (--config FILE), or leave insats out");
    if (s && !insatser_find(self->insatser, s, &declared)) {
        const char *like = insatser_similar(self->insatser, s);
        if (like) /* only a spelling of a declared code: safe to repeat */
            return row_fail(
                e, "insats",
                "'%s' is not in the declared list [insatser] of %s; did you mean '%s'? (codes "
                "are exact: translate the export's spelling in [labels.insats], or fix the column)",
                s, src, like);
        return row_fail(e, "insats",
                        "value not shown (it may be personal data): not in the declared list [insatser] of "
                        "%s; add the code there, or write the export's name = code under [labels.insats] of "
                        "the mapping, or fix the column",
                        src);
    }
    if (s_enum(row, ROW_F_MODE, s_modes, declared == INSATSER_ANY, mode, e) < 0)
        return -1;
    if (*mode == 0)
        *mode = declared;
    else if (declared != INSATSER_ANY && *mode != declared)
        return row_fail(e, "mode", "insats %s is declared as %s in [insatser] of %s, the row says %s", s,
                        insatser_mode_name(declared), src, insatser_mode_name(*mode));
    *insats = (char *) s;
    return 0;
}

/* The row's natural key is (kind, pseudonym, what, day): a later row with
 * the same key and other content corrects this one. */
static void s_natural(row_event_t *b, const char *kind, const char *what)
{
    b->has_natural = true;
    snprintf(b->natural_kind, sizeof b->natural_kind, "%s", kind);
    snprintf(b->natural_what, sizeof b->natural_what, "%s", what);
}

/* What a person row says about the person. */
typedef struct {
    bool has_gender;
    int gender;
    int age_band;
} s_person_t;

/* Puts the pseudonym (in b) and s_person_t pr into a body that has the
 * person fields: a ParticipantSurvey or a StatusObservation. */
#define S_PUT_PERSON(body, b, pr)                                                                            \
    do {                                                                                                     \
        (body)->pseudonym = (ProtobufCBinaryData){ANON_PSEUDONYM_LEN, (b)->pseudonym};                       \
        (body)->has_gender = (pr).has_gender;                                                                \
        (body)->gender = (pr).gender;                                                                        \
        (body)->has_age_band = 1;                                                                            \
        (body)->age_band = (pr).age_band;                                                                    \
    } while (0)

/* Pseudonym (into b), gender and age band of a person row. */
static int s_person(const row_ctx_t *self, const row_in_t *row, int event_year, row_event_t *b,
                    s_person_t *pr, row_err_t *e)
{
    const char *pnr;
    if (row_string(row, ROW_F_PERSONNUMMER, true, &pnr, e) < 0)
        return -1;
    char norm[13];
    int pnr_year;
    char why[128];
    if (anon_pnr_normalize(pnr, self->today_y, self->today_m, self->today_d, norm, &pnr_year, why,
                           sizeof why))
        return row_fail(e, "personnummer", "%s", why);
    anon_pseudonym(self->anon, norm, b->pseudonym);
    sodium_memzero(norm, sizeof norm);

    if (s_enum(row, ROW_F_GENDER, s_genders, false, &pr->gender, e) < 0)
        return -1;
    pr->has_gender = pr->gender != 0;
    bool has_by;
    long long by;
    if (s_int(row, ROW_F_BIRTH_YEAR, 1900, self->today_y, &has_by, &by, e) < 0)
        return -1;
    int age = event_year - (has_by ? (int) by : pnr_year);
    if (age < 16 || age > 120)
        return row_fail(e, has_by ? "birth_year" : "personnummer", "age at the event must be 16-120");
    pr->age_band = anon_age_band(age);
    return 0;
}

static int s_build_participant(const row_ctx_t *self, const row_in_t *row, int year, row_event_t *b,
                               row_err_t *e)
{
    Finsam__V1__ParticipantSurvey *p = &b->ps;
    finsam__v1__participant_survey__init(p);
    const cat_instrument_t *in;
    int mode;
    s_person_t pr;
    if (s_instrument(self, row, INSTR_PARTICIPANT_SURVEY, "participant survey", &in, e) < 0 ||
        s_insats_mode(self, row, &p->insats, &mode, e) < 0 || s_person(self, row, year, b, &pr, e) < 0 ||
        s_answers(self->cat, row, in, b, &p->n_answers, &p->answers, e) < 0)
        return -1;
    S_PUT_PERSON(p, b, pr);
    p->instrument = (char *) in->code;
    p->mode = mode;
    b->ev.body_case = FINSAM__V1__EVENT__BODY_PARTICIPANT_SURVEY;
    b->ev.participant_survey = p;
    s_natural(b, "participant_survey", in->code);
    return 0;
}

static int s_build_status(const row_ctx_t *self, const row_in_t *row, int year, row_event_t *b, row_err_t *e)
{
    Finsam__V1__StatusObservation *s = &b->so;
    finsam__v1__status_observation__init(s);
    int phase, mode, occ, inc;
    s_person_t pr;
    bool has;
    long long x;
    if (s_enum(row, ROW_F_PHASE, s_phases, true, &phase, e) < 0 ||
        s_insats_mode(self, row, &s->insats, &mode, e) < 0 ||
        s_enum(row, ROW_F_OCCUPATION, s_occupations, true, &occ, e) < 0 ||
        s_enum(row, ROW_F_INCOME, s_incomes, true, &inc, e) < 0)
        return -1;
    if (s_int(row, ROW_F_EXTENT_PCT, 0, 100, &has, &x, e) < 0)
        return -1;
    s->has_extent_pct = has;
    s->extent_pct = has ? (uint32_t) x : 0;
    if (s_int(row, ROW_F_DAYS_IN_INSATS, 0, 3650, &has, &x, e) < 0)
        return -1;
    s->has_days_in_insats = has;
    s->days_in_insats = has ? (uint32_t) x : 0;
    if (s_int(row, ROW_F_DAYS_TO_NEXT_SERVICE, 0, 3650, &has, &x, e) < 0)
        return -1;
    s->has_days_to_next_service = has;
    s->days_to_next_service = has ? (uint32_t) x : 0;
    row_value_t a = row_get(row, ROW_F_ASSESSED);
    if (a.type != ROW_V_ABSENT && a.type != ROW_V_NULL) {
        if (a.type != ROW_V_TRUE && a.type != ROW_V_FALSE)
            return row_fail(e, "assessed_with_participant", "must be true or false");
        s->has_assessed_with_participant = 1;
        s->assessed_with_participant = a.type == ROW_V_TRUE;
    }
    if (s_person(self, row, year, b, &pr, e) < 0)
        return -1;
    S_PUT_PERSON(s, b, pr);
    s->phase = phase;
    s->mode = mode;
    s->occupation = occ;
    s->income = inc;
    b->ev.body_case = FINSAM__V1__EVENT__BODY_STATUS;
    b->ev.status = s;
    s_natural(b, "status", s_phases[phase - 1].name);
    return 0;
}

static int s_build_staff(const row_ctx_t *self, const row_in_t *row, row_event_t *b, row_err_t *e)
{
    Finsam__V1__StaffSurvey *s = &b->ss;
    finsam__v1__staff_survey__init(s);
    const cat_instrument_t *in;
    int agency, mode;
    if (s_instrument(self, row, INSTR_STAFF_SURVEY, "staff survey", &in, e) < 0 ||
        s_enum(row, ROW_F_AGENCY, s_agencies, true, &agency, e) < 0 ||
        s_enum(row, ROW_F_MODE, s_modes, true, &mode, e) < 0 ||
        s_answers(self->cat, row, in, b, &s->n_answers, &s->answers, e) < 0)
        return -1;
    s->instrument = (char *) in->code;
    s->agency = agency;
    s->mode = mode;
    b->ev.body_case = FINSAM__V1__EVENT__BODY_STAFF_SURVEY;
    b->ev.staff_survey = s;
    /* Anonymous respondents: two staff may answer alike on the same day,
     * so there is no natural key and no automatic correction. */
    b->has_natural = false;
    return 0;
}

static int s_build_organisation(const row_ctx_t *self, const row_in_t *row, row_event_t *b, row_err_t *e)
{
    Finsam__V1__OrganisationReport *o = &b->org;
    finsam__v1__organisation_report__init(o);
    const cat_instrument_t *in = s_instrument_of_kind(self->cat, INSTR_ORGANISATION);
    if (!in)
        return row_fail(e, "kind", "the catalogue has no organisation report");
    if (s_answers(self->cat, row, in, b, &o->n_answers, &o->answers, e) < 0)
        return -1;
    b->ev.body_case = FINSAM__V1__EVENT__BODY_ORGANISATION;
    b->ev.organisation = o;
    s_natural(b, "organisation", in->code); /* one report per förbund and date */
    return 0;
}

static int s_build_retraction(const row_in_t *row, row_event_t *b, row_err_t *e)
{
    Finsam__V1__Retraction *r = &b->ret;
    finsam__v1__retraction__init(r);
    const char *hex;
    if (row_string(row, ROW_F_TARGET, true, &hex, e) < 0)
        return -1;
    if (strlen(hex) != 2 * ANON_ID_LEN || hex_decode(b->target, ANON_ID_LEN, hex) < 0)
        return row_fail(e, "target", "must be an event id of 32 hex digits");
    r->target_id = (ProtobufCBinaryData){ANON_ID_LEN, b->target};
    b->ev.body_case = FINSAM__V1__EVENT__BODY_RETRACTION;
    b->ev.retraction = r;
    b->has_natural = false;
    return 0;
}

int row_build(const row_ctx_t *self, const row_in_t *row, const char *kind, int year, row_event_t *b,
              uint32_t *fields, row_err_t *e)
{
    if (!strcmp(kind, "participant_survey")) {
        *fields = S_FIELDS_PARTICIPANT;
        return s_build_participant(self, row, year, b, e);
    }
    if (!strcmp(kind, "status")) {
        *fields = S_FIELDS_STATUS;
        return s_build_status(self, row, year, b, e);
    }
    if (!strcmp(kind, "staff_survey")) {
        *fields = S_FIELDS_STAFF;
        return s_build_staff(self, row, b, e);
    }
    if (!strcmp(kind, "organisation")) {
        *fields = S_FIELDS_ORGANISATION;
        return s_build_organisation(self, row, b, e);
    }
    if (!strcmp(kind, "retraction")) {
        *fields = S_FIELDS_RETRACTION;
        return s_build_retraction(row, b, e);
    }
    return row_fail(e, "kind",
                    "must be one of participant_survey|status|staff_survey|organisation|retraction");
}
