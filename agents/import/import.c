/* import.c: rows -> events (see import.h and docs/import-jsonl.md).
 *
 * The design decision: a row is turned into a protobuf Event here, encoded,
 * and then decoded and validated again with the very functions the
 * collector uses (codec_decode_event, validate_event). What the outbox
 * stores is therefore known to pass the collector's checks for this
 * catalogue and förbund, and a bad row is reported at the site, with its
 * line, instead of as a rejection days later.
 *
 * Event ids are derived from content, not drawn at random: re-importing a
 * file yields the same ids, which the outbox recognises. The content is
 * the encoded event with an empty id and answers sorted by item, prefixed
 * with the original day, hashed under the site key.
 *
 * No free text leaves the site: every string of an event is an enum, a
 * catalogue code, or an insats code the site declared (insatser.h). An
 * error repeats a row's value only when it is provably not personal data
 * (a spelling of a declared code); otherwise it says "value not shown".
 *
 * Deliberately not done: guessing. A value that is not exactly what the
 * format says is an error with a reason; nothing is coerced. */
#include "import.h"

#include "codec.h"
#include "log.h"
#include "util.h"
#include "validate.h"

#include <errno.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#define S_MAX_LINE (64 * 1024)
#define S_MAX_ERRORS 20
#define S_MAX_DROPPED_NAMES 8

typedef struct {
    outbox_item_t item;
    uint8_t *bytes; /* owned; item.bytes points here */
} s_pending_t;

struct import_t {
    const catalogue_t *cat;
    const anon_t *anon;
    const char *forbund;
    const insatser_t *insatser;
    int64_t now_s;
    int today_y, today_m, today_d;
    int32_t today_days;
    s_pending_t *pending;
    size_t npending, cap;
    size_t dropped;
    char dropped_names[S_MAX_DROPPED_NAMES * (CAT_CODE_MAX + 2)];
    int ndropped_names;
};

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
static const char *const s_fields_participant[] = {"kind",    "personnummer", "date",   "instrument",
                                                   "mode",    "insats",       "gender", "birth_year",
                                                   "answers", "response_id",  NULL};
static const char *const s_fields_status[] = {"kind",
                                              "personnummer",
                                              "date",
                                              "phase",
                                              "mode",
                                              "insats",
                                              "occupation",
                                              "extent_pct",
                                              "income",
                                              "days_in_insats",
                                              "days_to_next_service",
                                              "assessed_with_participant",
                                              "gender",
                                              "birth_year",
                                              "response_id",
                                              NULL};
static const char *const s_fields_staff[] = {"kind", "date",    "instrument",  "agency",
                                             "mode", "answers", "response_id", NULL};
static const char *const s_fields_organisation[] = {"kind", "date", "answers", "response_id", NULL};
static const char *const s_fields_retraction[] = {"kind", "target", "date", "response_id", NULL};

/* ---- row errors -------------------------------------------------------- */

typedef struct {
    char *field;
    size_t fieldlen;
    char *why;
    size_t whylen;
} s_err_t;

__attribute__((format(printf, 3, 4))) static int s_fail(s_err_t *e, const char *field, const char *fmt, ...)
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

/* A string field. Values that look like direct identifiers are refused
 * (the check is skipped for the fields that legitimately hold digits). */
static int s_string(json_t *row, const char *name, bool required, const char **out, s_err_t *e)
{
    json_t *v = json_object_get(row, name);
    *out = NULL;
    if (!v || json_is_null(v)) {
        if (required)
            return s_fail(e, name, "missing");
        return 0;
    }
    if (!json_is_string(v))
        return s_fail(e, name, "must be a string");
    const char *s = json_string_value(v);
    if (strcmp(name, "personnummer") && strcmp(name, "date") && strcmp(name, "target") &&
        anon_looks_identifying(s))
        return s_fail(e, name, S_IDENTIFYING);
    if (strlen(s) != json_string_length(v))
        return s_fail(e, name, "contains a NUL character");
    *out = s;
    return 0;
}

static int s_enum(json_t *row, const char *name, const s_enum_t *table, bool required, int *out, s_err_t *e)
{
    const char *s;
    *out = 0;
    if (s_string(row, name, required, &s, e) < 0)
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
    return s_fail(e, name, "must be one of %s", allowed);
}

static int s_int(json_t *row, const char *name, long long min, long long max, bool *has, long long *out,
                 s_err_t *e)
{
    json_t *v = json_object_get(row, name);
    *has = false;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return s_fail(e, name, "must be an integer");
    long long x = json_integer_value(v);
    if (x < min || x > max)
        return s_fail(e, name, "must be between %lld and %lld", min, max);
    *has = true;
    *out = x;
    return 0;
}

/* "YYYY-MM-DD", a real date, not after today. */
static int s_date(import_t *self, json_t *row, int *y, int *m, int *d, int32_t *days, s_err_t *e)
{
    const char *s;
    if (s_string(row, "date", true, &s, e) < 0)
        return -1;
    char tail;
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || sscanf(s, "%4d-%2d-%2d%c", y, m, d, &tail) != 3 ||
        !anon_is_date(*y, *m, *d))
        return s_fail(e, "date", "must be a date YYYY-MM-DD");
    *days = anon_days_from_civil(*y, *m, *d);
    if (*days > self->today_days)
        return s_fail(e, "date", "is in the future");
    if (*y < 2000)
        return s_fail(e, "date", "is before 2000-01-01");
    return 0;
}

/* ---- event building ---------------------------------------------------- */

typedef struct {
    Finsam__V1__Event ev;
    Finsam__V1__ParticipantSurvey ps;
    Finsam__V1__StatusObservation so;
    Finsam__V1__StaffSurvey ss;
    Finsam__V1__OrganisationReport org;
    Finsam__V1__Retraction ret;
    Finsam__V1__Answer answers[CODEC_MAX_ANSWERS];
    Finsam__V1__Answer *answer_ptrs[CODEC_MAX_ANSWERS];
    size_t nanswers;
    uint8_t pseudonym[ANON_PSEUDONYM_LEN];
    uint8_t target[ANON_ID_LEN];
    /* natural key input: kind, pseudonym, instrument-or-phase, day */
    bool has_natural;
    char natural_kind[24];
    char natural_what[CAT_CODE_MAX];
} s_build_t;

static int s_answer_cmp(const void *a, const void *b)
{
    return strcmp((*(Finsam__V1__Answer *const *) a)->item, (*(Finsam__V1__Answer *const *) b)->item);
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

static int s_answers(const catalogue_t *cat, json_t *row, const cat_instrument_t *in, s_build_t *b,
                     s_err_t *e)
{
    json_t *obj = json_object_get(row, "answers");
    if (!obj)
        return s_fail(e, "answers", "missing");
    if (!json_is_object(obj))
        return s_fail(e, "answers", "must be an object {\"item\": value}");
    if (json_object_size(obj) == 0)
        return s_fail(e, "answers", "is empty");
    if (json_object_size(obj) > CODEC_MAX_ANSWERS)
        return s_fail(e, "answers", "more than %d answers", CODEC_MAX_ANSWERS);
    const char *key;
    json_t *v;
    char field[64];
    b->nanswers = 0;
    json_object_foreach(obj, key, v) {
        if (anon_looks_identifying(key))
            return s_fail(e, "answers", "an item name " S_IDENTIFYING);
        snprintf(field, sizeof field, "answers.%.40s", s_known_item(cat, key) ? key : "?");
        if (json_is_string(v) && anon_looks_identifying(json_string_value(v)))
            return s_fail(e, field, S_IDENTIFYING);
        if (json_is_integer(v) && anon_number_looks_identifying(json_integer_value(v)))
            return s_fail(e, field, S_IDENTIFYING);
        const cat_item_t *it = code_is_valid(key, CAT_CODE_MAX - 1) ? catalogue_item(in, key) : NULL;
        if (!it)
            return s_fail(e, field, "not an item of instrument %s%s", in->code,
                          s_known_item(cat, key) ? "" : " (name not shown: not in the catalogue)");
        if (!json_is_integer(v))
            return s_fail(e, field, "must be an integer");
        long long x = json_integer_value(v);
        if (x < -1000000 || x > 1000000 || !cat_scale_accepts(it->scale, (int) x))
            return s_fail(e, field, "value outside scale %s (%d-%d%s)", it->scale->code, it->scale->min,
                          it->scale->max, it->scale->dont_know >= 0 ? ", 0 = don't know" : "");
        Finsam__V1__Answer *a = &b->answers[b->nanswers];
        finsam__v1__answer__init(a);
        a->item = (char *) key; /* lives as long as the row */
        a->value = (int32_t) x;
        b->answer_ptrs[b->nanswers] = a;
        b->nanswers++;
    }
    /* Canonical order, so the same answers in another key order give the
     * same content and therefore the same event id. */
    qsort(b->answer_ptrs, b->nanswers, sizeof *b->answer_ptrs, s_answer_cmp);
    return 0;
}

static const cat_instrument_t *s_instrument_of_kind(const catalogue_t *cat, cat_instrument_kind_t kind)
{
    for (int i = 0; i < cat->ninstruments; i++)
        if (cat->instruments[i].kind == kind)
            return &cat->instruments[i];
    return NULL;
}

static int s_instrument(import_t *self, json_t *row, cat_instrument_kind_t kind, const char *kind_name,
                        const cat_instrument_t **out, s_err_t *e)
{
    const char *code;
    if (s_string(row, "instrument", true, &code, e) < 0)
        return -1;
    const cat_instrument_t *in =
        code_is_valid(code, CAT_CODE_MAX - 1) ? catalogue_instrument(self->cat, code) : NULL;
    if (!in)
        return s_fail(e, "instrument", "not in catalogue version %u", self->cat->version);
    if (in->kind != kind)
        return s_fail(e, "instrument", "%s is not a %s instrument", in->code, kind_name);
    *out = in;
    return 0;
}

/* The insats and mode of a person row. The insats must be a code the site
 * declared: it is the one text of a row that travels, so a wrongly mapped
 * column (a name, "LQ-850312") must stop here. A code declared with a mode
 * gives the mode when the row has none and must agree when it has one. */
static int s_insats_mode(import_t *self, json_t *row, char **insats, int *mode, s_err_t *e)
{
    const char *s, *src = insatser_source(self->insatser);
    int declared = INSATSER_ANY;
    if (s_string(row, "insats", false, &s, e) < 0)
        return -1;
    if (s && insatser_count(self->insatser) == 0)
        return s_fail(e, "insats",
                      "no insats codes are declared (value not shown); list the site's codes in an "
                      "[insatser] section of the agent's configuration (--config FILE), or leave insats out");
    if (s && !insatser_find(self->insatser, s, &declared)) {
        const char *like = insatser_similar(self->insatser, s);
        if (like) /* only a spelling of a declared code: safe to repeat */
            return s_fail(e, "insats",
                          "'%s' is not in the declared list [insatser] of %s; did you mean '%s'? (codes "
                          "are exact: translate the export's spelling in [labels.insats], or fix the column)",
                          s, src, like);
        return s_fail(e, "insats",
                      "value not shown (it may be personal data): not in the declared list [insatser] of "
                      "%s; add the code there, or fix the column",
                      src);
    }
    if (s_enum(row, "mode", s_modes, declared == INSATSER_ANY, mode, e) < 0)
        return -1;
    if (*mode == 0)
        *mode = declared;
    else if (declared != INSATSER_ANY && *mode != declared)
        return s_fail(e, "mode", "insats %s is declared as %s in [insatser] of %s, the row says %s", s,
                      insatser_mode_name(declared), src, insatser_mode_name(*mode));
    *insats = (char *) s;
    return 0;
}

/* Pseudonym, gender and age band of a person row. */
static int s_person(import_t *self, json_t *row, int event_year, s_build_t *b, bool *has_gender, int *gender,
                    int *age_band, s_err_t *e)
{
    const char *pnr;
    if (s_string(row, "personnummer", true, &pnr, e) < 0)
        return -1;
    char norm[13];
    int pnr_year;
    anon_err_t ae = anon_pnr_normalize(pnr, self->today_y, self->today_m, self->today_d, norm, &pnr_year);
    if (ae != ANON_OK)
        return s_fail(e, "personnummer", "%s", anon_strerror(ae));
    anon_pseudonym(self->anon, norm, b->pseudonym);
    sodium_memzero(norm, sizeof norm);

    if (s_enum(row, "gender", s_genders, false, gender, e) < 0)
        return -1;
    *has_gender = *gender != 0;
    bool has_by;
    long long by;
    if (s_int(row, "birth_year", 1900, self->today_y, &has_by, &by, e) < 0)
        return -1;
    int age = event_year - (has_by ? (int) by : pnr_year);
    if (age < 16 || age > 120)
        return s_fail(e, has_by ? "birth_year" : "personnummer", "age at the event must be 16-120");
    *age_band = anon_age_band(age);
    return 0;
}

static int s_build_participant(import_t *self, json_t *row, int year, s_build_t *b, s_err_t *e)
{
    Finsam__V1__ParticipantSurvey *p = &b->ps;
    finsam__v1__participant_survey__init(p);
    const cat_instrument_t *in;
    int mode, gender, band;
    bool has_gender;
    if (s_instrument(self, row, INSTR_PARTICIPANT_SURVEY, "participant survey", &in, e) < 0 ||
        s_insats_mode(self, row, &p->insats, &mode, e) < 0 ||
        s_person(self, row, year, b, &has_gender, &gender, &band, e) < 0 ||
        s_answers(self->cat, row, in, b, e) < 0)
        return -1;
    p->pseudonym = (ProtobufCBinaryData){ANON_PSEUDONYM_LEN, b->pseudonym};
    p->instrument = (char *) in->code;
    p->mode = mode;
    p->has_gender = has_gender;
    p->gender = gender;
    p->has_age_band = 1;
    p->age_band = band;
    p->n_answers = b->nanswers;
    p->answers = b->answer_ptrs;
    b->ev.body_case = FINSAM__V1__EVENT__BODY_PARTICIPANT_SURVEY;
    b->ev.participant_survey = p;
    b->has_natural = true;
    snprintf(b->natural_kind, sizeof b->natural_kind, "participant_survey");
    snprintf(b->natural_what, sizeof b->natural_what, "%s", in->code);
    return 0;
}

static int s_build_status(import_t *self, json_t *row, int year, s_build_t *b, s_err_t *e)
{
    Finsam__V1__StatusObservation *s = &b->so;
    finsam__v1__status_observation__init(s);
    int phase, mode, occ, inc, gender, band;
    bool has_gender, has;
    long long x;
    if (s_enum(row, "phase", s_phases, true, &phase, e) < 0 ||
        s_insats_mode(self, row, &s->insats, &mode, e) < 0 ||
        s_enum(row, "occupation", s_occupations, true, &occ, e) < 0 ||
        s_enum(row, "income", s_incomes, true, &inc, e) < 0)
        return -1;
    if (s_int(row, "extent_pct", 0, 100, &has, &x, e) < 0)
        return -1;
    s->has_extent_pct = has;
    s->extent_pct = has ? (uint32_t) x : 0;
    if (s_int(row, "days_in_insats", 0, 3650, &has, &x, e) < 0)
        return -1;
    s->has_days_in_insats = has;
    s->days_in_insats = has ? (uint32_t) x : 0;
    if (s_int(row, "days_to_next_service", 0, 3650, &has, &x, e) < 0)
        return -1;
    s->has_days_to_next_service = has;
    s->days_to_next_service = has ? (uint32_t) x : 0;
    json_t *a = json_object_get(row, "assessed_with_participant");
    if (a && !json_is_null(a)) {
        if (!json_is_boolean(a))
            return s_fail(e, "assessed_with_participant", "must be true or false");
        s->has_assessed_with_participant = 1;
        s->assessed_with_participant = json_is_true(a);
    }
    if (s_person(self, row, year, b, &has_gender, &gender, &band, e) < 0)
        return -1;
    s->pseudonym = (ProtobufCBinaryData){ANON_PSEUDONYM_LEN, b->pseudonym};
    s->phase = phase;
    s->mode = mode;
    s->occupation = occ;
    s->income = inc;
    s->has_gender = has_gender;
    s->gender = gender;
    s->has_age_band = 1;
    s->age_band = band;
    b->ev.body_case = FINSAM__V1__EVENT__BODY_STATUS;
    b->ev.status = s;
    b->has_natural = true;
    snprintf(b->natural_kind, sizeof b->natural_kind, "status");
    snprintf(b->natural_what, sizeof b->natural_what, "%s", s_phases[phase - 1].name);
    return 0;
}

static int s_build_staff(import_t *self, json_t *row, s_build_t *b, s_err_t *e)
{
    Finsam__V1__StaffSurvey *s = &b->ss;
    finsam__v1__staff_survey__init(s);
    const cat_instrument_t *in;
    int agency, mode;
    if (s_instrument(self, row, INSTR_STAFF_SURVEY, "staff survey", &in, e) < 0 ||
        s_enum(row, "agency", s_agencies, true, &agency, e) < 0 ||
        s_enum(row, "mode", s_modes, true, &mode, e) < 0 || s_answers(self->cat, row, in, b, e) < 0)
        return -1;
    s->instrument = (char *) in->code;
    s->agency = agency;
    s->mode = mode;
    s->n_answers = b->nanswers;
    s->answers = b->answer_ptrs;
    b->ev.body_case = FINSAM__V1__EVENT__BODY_STAFF_SURVEY;
    b->ev.staff_survey = s;
    /* Anonymous respondents: two staff may answer alike on the same day,
     * so there is no natural key and no automatic correction. */
    b->has_natural = false;
    return 0;
}

static int s_build_organisation(import_t *self, json_t *row, s_build_t *b, s_err_t *e)
{
    Finsam__V1__OrganisationReport *o = &b->org;
    finsam__v1__organisation_report__init(o);
    const cat_instrument_t *in = s_instrument_of_kind(self->cat, INSTR_ORGANISATION);
    if (!in)
        return s_fail(e, "kind", "the catalogue has no organisation report");
    if (s_answers(self->cat, row, in, b, e) < 0)
        return -1;
    o->n_answers = b->nanswers;
    o->answers = b->answer_ptrs;
    b->ev.body_case = FINSAM__V1__EVENT__BODY_ORGANISATION;
    b->ev.organisation = o;
    b->has_natural = true; /* one report per förbund and date */
    snprintf(b->natural_kind, sizeof b->natural_kind, "organisation");
    snprintf(b->natural_what, sizeof b->natural_what, "%s", in->code);
    return 0;
}

static int s_build_retraction(json_t *row, s_build_t *b, s_err_t *e)
{
    Finsam__V1__Retraction *r = &b->ret;
    finsam__v1__retraction__init(r);
    const char *hex;
    if (s_string(row, "target", true, &hex, e) < 0)
        return -1;
    if (strlen(hex) != 2 * ANON_ID_LEN || hex_decode(b->target, ANON_ID_LEN, hex) < 0)
        return s_fail(e, "target", "must be an event id of 32 hex digits");
    r->target_id = (ProtobufCBinaryData){ANON_ID_LEN, b->target};
    b->ev.body_case = FINSAM__V1__EVENT__BODY_RETRACTION;
    b->ev.retraction = r;
    b->has_natural = false;
    return 0;
}

static void s_note_dropped(import_t *self, json_t *row, const char *const *fields)
{
    const char *key;
    json_t *v;
    json_object_foreach(row, key, v) {
        bool mapped = false;
        for (const char *const *f = fields; *f && !mapped; f++)
            mapped = !strcmp(*f, key);
        if (mapped)
            continue;
        self->dropped++;
        if (self->ndropped_names >= S_MAX_DROPPED_NAMES || !code_is_valid(key, CAT_CODE_MAX - 1) ||
            anon_looks_identifying(key))
            continue;
        bool seen = false;
        const char *p = self->dropped_names;
        size_t klen = strlen(key);
        while (*p) {
            const char *c = strchr(p, ',');
            size_t len = c ? (size_t) (c - p) : strlen(p);
            if (len == klen && !strncmp(p, key, klen))
                seen = true;
            p += len + (c ? 1 : 0);
        }
        if (seen)
            continue;
        size_t used = strlen(self->dropped_names);
        snprintf(self->dropped_names + used, sizeof self->dropped_names - used, "%s%s", used ? "," : "", key);
        self->ndropped_names++;
    }
}

/* Natural key: keyed hash of (kind, pseudonym or zeros, instrument-or-phase, day). */
static void s_natural_key(import_t *self, const s_build_t *b, int32_t days, uint8_t out[ANON_HASH_LEN])
{
    uint8_t buf[24 + 1 + ANON_PSEUDONYM_LEN + CAT_CODE_MAX + 1 + 4];
    size_t n = 0;
    size_t kl = strlen(b->natural_kind) + 1, wl = strlen(b->natural_what) + 1;
    memcpy(buf + n, b->natural_kind, kl);
    n += kl;
    bool person = b->ev.body_case == FINSAM__V1__EVENT__BODY_PARTICIPANT_SURVEY ||
                  b->ev.body_case == FINSAM__V1__EVENT__BODY_STATUS;
    if (person)
        memcpy(buf + n, b->pseudonym, ANON_PSEUDONYM_LEN);
    else
        memset(buf + n, 0, ANON_PSEUDONYM_LEN);
    n += ANON_PSEUDONYM_LEN;
    memcpy(buf + n, b->natural_what, wl);
    n += wl;
    be32_put(buf + n, (uint32_t) days);
    n += 4;
    anon_hash(self->anon, "finsam-natural-key", buf, n, out);
}

static int s_push(import_t *self, const s_build_t *b, int32_t days, uint8_t *bytes, size_t len,
                  const uint8_t content[ANON_HASH_LEN])
{
    if (self->npending == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 256;
        s_pending_t *p = realloc(self->pending, cap * sizeof *p);
        if (!p)
            return -1;
        self->pending = p;
        self->cap = cap;
    }
    s_pending_t *p = &self->pending[self->npending++];
    memset(p, 0, sizeof *p);
    p->bytes = bytes;
    memcpy(p->item.id, b->ev.id.data, ANON_ID_LEN);
    memcpy(p->item.content, content, ANON_HASH_LEN);
    p->item.has_natural = b->has_natural;
    if (b->has_natural)
        s_natural_key(self, b, days, p->item.natural);
    p->item.bytes = bytes;
    p->item.len = len;
    return 0;
}

int import_row(import_t *self, json_t *row, char *field, size_t fieldlen, char *why, size_t whylen)
{
    s_err_t e = {field, fieldlen, why, whylen};
    if (!json_is_object(row))
        return s_fail(&e, "row", "must be a JSON object");
    const char *kind;
    if (s_string(row, "kind", true, &kind, &e) < 0)
        return -1;
    int y = 0, m = 0, d = 0;
    int32_t days = 0;
    if (s_date(self, row, &y, &m, &d, &days, &e) < 0)
        return -1;

    s_build_t *b = calloc(1, sizeof *b);
    if (!b)
        return s_fail(&e, "row", "out of memory");
    int rc = -1;
    uint8_t *canon = NULL, *bytes = NULL;
    finsam__v1__event__init(&b->ev);
    b->ev.forbund = (char *) self->forbund;
    b->ev.occurred_at = anon_month_start(y, m);
    b->ev.catalogue_version = self->cat->version;

    const char *const *fields;
    if (!strcmp(kind, "participant_survey")) {
        fields = s_fields_participant;
        rc = s_build_participant(self, row, y, b, &e);
    } else if (!strcmp(kind, "status")) {
        fields = s_fields_status;
        rc = s_build_status(self, row, y, b, &e);
    } else if (!strcmp(kind, "staff_survey")) {
        fields = s_fields_staff;
        rc = s_build_staff(self, row, b, &e);
    } else if (!strcmp(kind, "organisation")) {
        fields = s_fields_organisation;
        rc = s_build_organisation(self, row, b, &e);
    } else if (!strcmp(kind, "retraction")) {
        fields = s_fields_retraction;
        rc = s_build_retraction(row, b, &e);
    } else {
        rc = s_fail(&e, "kind",
                    "must be one of participant_survey|status|staff_survey|organisation|retraction");
        goto free_build;
    }
    if (rc < 0)
        goto free_build;
    rc = -1;

    /* Content hash over the event with an empty id, prefixed by the day. */
    uint8_t content[ANON_HASH_LEN], id[ANON_ID_LEN];
    b->ev.id = (ProtobufCBinaryData){0, NULL};
    size_t clen;
    if (!(canon = codec_pack(&b->ev.base, &clen))) {
        s_fail(&e, "row", "out of memory");
        goto free_build;
    }
    /* An optional site-local response id separates rows that are
     * otherwise identical (two anonymous staff answering alike on one day).
     * It is hashed, never sent. */
    json_t *rid = json_object_get(row, "response_id");
    if (rid && !json_is_null(rid) &&
        (!json_is_string(rid) || json_string_length(rid) == 0 || json_string_length(rid) > 128)) {
        s_fail(&e, "response_id", "must be a string of 1-128 bytes");
        goto free_build;
    }
    size_t rlen = rid && json_is_string(rid) ? json_string_length(rid) : 0;
    uint8_t *prefixed = realloc(canon, 4 + clen + 1 + rlen);
    if (!prefixed) {
        s_fail(&e, "row", "out of memory");
        goto free_build;
    }
    canon = prefixed;
    memmove(canon + 4, canon, clen);
    be32_put(canon, (uint32_t) days);
    size_t hlen = 4 + clen;
    if (rlen) {
        canon[hlen++] = 0x01;
        memcpy(canon + hlen, json_string_value(rid), rlen);
        hlen += rlen;
    }
    anon_hash(self->anon, "finsam-event-id", canon, hlen, content);
    anon_event_id(y, m, content, id);
    b->ev.id = (ProtobufCBinaryData){ANON_ID_LEN, id};

    size_t len;
    if (!(bytes = codec_pack(&b->ev.base, &len))) {
        s_fail(&e, "row", "out of memory");
        goto free_build;
    }
    /* Check with the collector's own functions before anything is kept. */
    event_msg_t *ev = NULL;
    char reason[256];
    reject_code_t rj = codec_decode_event(bytes, len, &ev, reason, sizeof reason);
    if (rj == FINSAM__V1__REJECT_CODE__REJECT_NONE)
        rj = validate_event(self->cat, ev, self->forbund, self->now_s, reason, sizeof reason);
    codec_free_event(&ev);
    if (rj != FINSAM__V1__REJECT_CODE__REJECT_NONE) {
        s_fail(&e, "event", "%s: %s", codec_reject_name(rj), reason);
        goto free_bytes;
    }
    if (s_push(self, b, days, bytes, len, content) < 0) {
        s_fail(&e, "row", "out of memory");
        goto free_bytes;
    }
    bytes = NULL; /* now owned by the pending set */
    s_note_dropped(self, row, fields);
    rc = 0;
free_bytes:
    free(bytes);
free_build:
    free(canon);
    sodium_memzero(b->pseudonym, sizeof b->pseudonym);
    free(b);
    return rc;
}

/* ---- import_t ---------------------------------------------------------- */

import_t *import_new(const catalogue_t *cat, const anon_t *anon, const char *forbund, int64_t now_s)
{
    import_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->cat = cat;
    self->anon = anon;
    self->forbund = forbund;
    self->now_s = now_s;
    /* "Today" in Sweden: UTC plus the Stockholm offset of the month (see
     * anon_month_start); off by an hour at most on the two switch days. */
    int y, m, d;
    anon_civil_from_days((int32_t) (now_s / 86400), &y, &m, &d);
    int64_t local = now_s + ((m >= 4 && m <= 10) ? 7200 : 3600);
    self->today_days = (int32_t) (local / 86400);
    anon_civil_from_days(self->today_days, &self->today_y, &self->today_m, &self->today_d);
    return self;
}

static void s_clear(import_t *self)
{
    for (size_t i = 0; i < self->npending; i++)
        free(self->pending[i].bytes);
    self->npending = 0;
}

void import_destroy(import_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    import_t *self = *self_p;
    s_clear(self);
    free(self->pending);
    free(self);
    *self_p = NULL;
}

void import_set_insatser(import_t *self, const insatser_t *insatser)
{
    self->insatser = insatser;
}

size_t import_pending(const import_t *self)
{
    return self->npending;
}

const char *import_dropped_names(const import_t *self)
{
    return self->dropped_names;
}

int import_commit(import_t *self, outbox_t *outbox, bool dry_run, import_stats_t *stats)
{
    if (self->npending == 0)
        return 0;
    outbox_item_t *items = malloc(self->npending * sizeof *items);
    if (!items)
        return ENOMEM;
    for (size_t i = 0; i < self->npending; i++)
        items[i] = self->pending[i].item;
    outbox_put_stats_t ps;
    int rc = outbox_put(outbox, items, self->npending, dry_run, &ps);
    free(items);
    if (rc)
        return rc;
    stats->accepted += ps.added;
    stats->corrected += ps.corrected;
    stats->already += ps.already;
    s_clear(self);
    return 0;
}

/* ---- the import command ------------------------------------------------ */

void import_log_ref(const import_opts_t *o, const char *path, char *out, size_t outlen)
{
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    uint8_t h[ANON_HASH_LEN];
    char hex[9];
    anon_hash(o->anon, "finsam-file-name", (const uint8_t *) base, strlen(base), h);
    hex_encode(hex, h, 4);
    if (o->spool_no > 0)
        snprintf(out, outlen, "spool_no=%ld name_hash=%s", o->spool_no, hex);
    else
        snprintf(out, outlen, "name_hash=%s", hex);
    sodium_memzero(h, sizeof h);
}

int import_finish(import_t *self, const char *path, import_stats_t *st, const char *dropped_names,
                  const import_opts_t *o)
{
    char ref[64];
    import_log_ref(o, path, ref, sizeof ref);
    const char *label = o->label ? o->label : path;
    if (!dropped_names) {
        st->dropped = self->dropped;
        dropped_names = self->dropped_names;
    }
    if (st->rejected == 0) {
        int orc = import_commit(self, o->outbox, o->dry_run, st);
        if (orc) {
            fprintf(o->errors, "finsam-agent: %s: outbox: %s\n", label, outbox_strerror(orc));
            fprintf(o->report, "%s: outbox failure: nothing stored\n", label);
            log_error("import", "IMPORT-FAILED %s reason=\"%s\"", ref, outbox_strerror(orc));
            return EX_IOERR;
        }
    }
    fprintf(
        o->report,
        "%s: rows=%zu accepted=%zu already_imported=%zu corrected=%zu rejected=%zu dropped_fields=%zu%s%s\n",
        label, st->rows, st->rejected ? 0 : st->accepted, st->already, st->corrected, st->rejected,
        st->dropped, *dropped_names ? " dropped=" : "", dropped_names);
    if (st->rejected)
        fprintf(o->report, "%s: %zu row(s) rejected: nothing stored\n", label, st->rejected);
    else if (o->dry_run)
        fprintf(o->report, "%s: dry run: nothing stored\n", label);
    log_info("import",
             "IMPORT-DONE %s rows=%zu accepted=%zu already=%zu corrected=%zu rejected=%zu dry_run=%d", ref,
             st->rows, st->rejected ? 0 : st->accepted, st->already, st->corrected, st->rejected, o->dry_run);
    return st->rejected ? EX_DATAERR : 0;
}

int import_file(const char *path, const import_opts_t *o)
{
    const char *label = o->label ? o->label : path;
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(o->errors, "finsam-agent: %s: cannot open: %s\n", label, strerror(errno));
        return EX_NOINPUT;
    }
    int rc = EX_IOERR;
    int max_errors = o->max_errors > 0 ? o->max_errors : S_MAX_ERRORS;
    import_stats_t st = {0};
    import_t *imp = import_new(o->cat, o->anon, o->forbund, clock_wall_ms() / 1000);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    if (!imp)
        goto close_file;
    import_set_insatser(imp, o->insatser);
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        bool blank = true;
        for (ssize_t i = 0; i < n && blank; i++)
            blank = line[i] == ' ' || line[i] == '\t';
        if (blank)
            continue;
        st.rows++;
        char field[64] = "", why[320] = "";
        int bad = 0;
        if (n > S_MAX_LINE) {
            snprintf(field, sizeof field, "row");
            snprintf(why, sizeof why, "line longer than %d bytes", S_MAX_LINE);
            bad = 1;
        } else {
            json_error_t jerr;
            json_t *row = json_loadb(line, (size_t) n, JSON_REJECT_DUPLICATES, &jerr);
            if (!row) {
                /* jansson's text may quote the row; say where, not what. */
                snprintf(field, sizeof field, "json");
                snprintf(why, sizeof why, "not valid JSON (column %d)", jerr.column);
                bad = 1;
            } else {
                bad = import_row(imp, row, field, sizeof field, why, sizeof why) < 0;
                json_decref(row);
            }
        }
        if (bad) {
            st.rejected++;
            if (st.rejected <= (size_t) max_errors)
                fprintf(o->errors, "%s:%ld: %s: %s\n", label, lineno, field, why);
        }
    }
    if (ferror(f)) {
        fprintf(o->errors, "finsam-agent: %s: read error: %s\n", label, strerror(errno));
        goto free_import;
    }
    if (st.rejected > (size_t) max_errors)
        fprintf(o->errors, "%s: ... and %zu more rejected rows\n", label, st.rejected - (size_t) max_errors);
    rc = import_finish(imp, path, &st, NULL, o);
free_import:
    import_destroy(&imp);
close_file:
    free(line);
    fclose(f);
    return rc;
}
