/* validate.c: catalogue and authority checks (see validate.h). */
#include "validate.h"

#include <stdio.h>
#include <string.h>

#define REJECT(code, ...)                                                                                    \
    do {                                                                                                     \
        snprintf(why, whylen, __VA_ARGS__);                                                                  \
        return FINSAM__V1__REJECT_CODE__##code;                                                              \
    } while (0)

static reject_code_t s_check_answers(const cat_instrument_t *in, uint32_t version, size_t n,
                                     Finsam__V1__Answer **answers, char *why, size_t whylen)
{
    for (size_t i = 0; i < n; i++) {
        const cat_item_t *it = catalogue_item(in, answers[i]->item);
        if (!it)
            REJECT(REJECT_UNKNOWN_KIND, "item %s is not in instrument %s", answers[i]->item, in->code);
        /* An event validated against an older catalogue cannot carry an
         * item that catalogue did not have. */
        if (it->since > version)
            REJECT(REJECT_UNKNOWN_KIND, "item %s is new in catalogue version %u; the event is version %u",
                   it->code, it->since, version);
        if (!cat_scale_accepts(it->scale, answers[i]->value))
            REJECT(REJECT_INVALID_FIELD, "item %s: value %d outside scale %s (%d-%d)", it->code,
                   answers[i]->value, it->scale->code, it->scale->min, it->scale->max);
        for (size_t j = 0; j < i; j++)
            if (!strcmp(answers[j]->item, answers[i]->item))
                REJECT(REJECT_INVALID_FIELD, "item %s answered twice", it->code);
    }
    return FINSAM__V1__REJECT_CODE__REJECT_NONE;
}

static const Finsam__V1__Answer *s_answer(size_t n, Finsam__V1__Answer **answers, const char *item)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(answers[i]->item, item))
            return answers[i];
    return NULL;
}

/* Every ratio of the catalogue over this instrument (a share of insatser):
 * where a report gives both the part and the total, the part is at most
 * the total (a share over 100 % means a typo). A report may leave either
 * out; the share counts only reports that give both (aggregate.c). */
static reject_code_t s_check_ratios(const catalogue_t *cat, const cat_instrument_t *in, size_t n,
                                    Finsam__V1__Answer **answers, char *why, size_t whylen)
{
    for (int i = 0; i < cat->nmeasures; i++) {
        const cat_measure_t *m = &cat->measures[i];
        if (m->aggregate != AGG_RATIO || strcmp(m->instrument, in->code))
            continue;
        const Finsam__V1__Answer *part = s_answer(n, answers, m->numerator_item),
                                 *total = s_answer(n, answers, m->denominator_item);
        if (part && total && part->value > total->value)
            REJECT(REJECT_INVALID_FIELD, "item %s (%d) is more than %s (%d)", m->numerator_item, part->value,
                   m->denominator_item, total->value);
    }
    return FINSAM__V1__REJECT_CODE__REJECT_NONE;
}

static const cat_instrument_t *s_instrument_of_kind(const catalogue_t *cat, cat_instrument_kind_t kind)
{
    for (int i = 0; i < cat->ninstruments; i++)
        if (cat->instruments[i].kind == kind)
            return &cat->instruments[i];
    return NULL;
}

reject_code_t validate_event(const catalogue_t *cat, const event_msg_t *ev, const char *allowed_forbund,
                             int64_t now_s, char *why, size_t whylen)
{
    if (allowed_forbund && strcmp(ev->forbund, allowed_forbund) != 0)
        REJECT(REJECT_FORBIDDEN, "förbund %s is not the agent's (%s)", ev->forbund, allowed_forbund);
    if (!catalogue_accepts_version(cat, ev->catalogue_version)) {
        if (cat->oldest_version == cat->version)
            REJECT(REJECT_VERSION, "catalogue version %u, collector has %u", ev->catalogue_version,
                   cat->version);
        REJECT(REJECT_VERSION, "catalogue version %u, collector accepts %u to %u", ev->catalogue_version,
               cat->oldest_version, cat->version);
    }
    uint32_t v = ev->catalogue_version;
    reject_code_t rc;
    if (ev->occurred_at > now_s + 86400)
        REJECT(REJECT_INVALID_FIELD, "occurred_at is in the future");
    const cat_instrument_t *in;
    switch (ev->body_case) {
    case FINSAM__V1__EVENT__BODY_PARTICIPANT_SURVEY:
        in = catalogue_instrument(cat, ev->participant_survey->instrument);
        if (!in || in->kind != INSTR_PARTICIPANT_SURVEY)
            REJECT(REJECT_UNKNOWN_KIND, "%s is not a participant survey", ev->participant_survey->instrument);
        return s_check_answers(in, v, ev->participant_survey->n_answers, ev->participant_survey->answers, why,
                               whylen);
    case FINSAM__V1__EVENT__BODY_STAFF_SURVEY:
        in = catalogue_instrument(cat, ev->staff_survey->instrument);
        if (!in || in->kind != INSTR_STAFF_SURVEY)
            REJECT(REJECT_UNKNOWN_KIND, "%s is not a staff survey", ev->staff_survey->instrument);
        return s_check_answers(in, v, ev->staff_survey->n_answers, ev->staff_survey->answers, why, whylen);
    case FINSAM__V1__EVENT__BODY_ORGANISATION:
        in = s_instrument_of_kind(cat, INSTR_ORGANISATION);
        if (!in)
            REJECT(REJECT_UNKNOWN_KIND, "catalogue has no organisation report");
        rc = s_check_answers(in, v, ev->organisation->n_answers, ev->organisation->answers, why, whylen);
        if (rc != FINSAM__V1__REJECT_CODE__REJECT_NONE)
            return rc;
        return s_check_ratios(cat, in, ev->organisation->n_answers, ev->organisation->answers, why, whylen);
    case FINSAM__V1__EVENT__BODY_STATUS:
    case FINSAM__V1__EVENT__BODY_RETRACTION: return FINSAM__V1__REJECT_CODE__REJECT_NONE;
    case FINSAM__V1__EVENT__BODY_ERASURE:
        if (ev->erasure->has_by_operator && ev->erasure->by_operator)
            REJECT(REJECT_INVALID_FIELD, "erasure.by_operator is written by the collector only");
        return FINSAM__V1__REJECT_CODE__REJECT_NONE;
    case FINSAM__V1__EVENT__BODY_ERASED:
        REJECT(REJECT_UNKNOWN_KIND, "an erased marker is written by the collector only");
    case FINSAM__V1__EVENT__BODY_APPROVAL:
        /* A förbund submits its own period; approving and reopening are
         * the central operator's, written by finsamctl (docs/report.md). */
        if (ev->approval->action != FINSAM__V1__PERIOD_APPROVAL__ACTION__ACTION_SUBMIT)
            REJECT(REJECT_FORBIDDEN,
                   "only the central operator approves or reopens a period; an agent submits");
        if (ev->approval->by)
            REJECT(REJECT_INVALID_FIELD, "approval.by is written by the collector's operator only");
        return FINSAM__V1__REJECT_CODE__REJECT_NONE;
    default: REJECT(REJECT_UNKNOWN_KIND, "event has no known body");
    }
}

/* The five public benefits; a wage, "no public support", "other" and an
 * unstated income are not one of them. */
static bool s_public_support(Finsam__V1__Income inc)
{
    switch (inc) {
    case FINSAM__V1__INCOME__INC_SICKNESS_BENEFIT:
    case FINSAM__V1__INCOME__INC_ACTIVITY_COMPENSATION:
    case FINSAM__V1__INCOME__INC_SICKNESS_COMPENSATION:
    case FINSAM__V1__INCOME__INC_UNEMPLOYMENT:
    case FINSAM__V1__INCOME__INC_SOCIAL_ASSISTANCE: return true;
    default: return false;
    }
}

/* DESIGN.md §5, case by case (docs/indicators.md spells it out): 5 = work
 * or studies at a *stated* extent of at least 50 % without public support
 * (a missing extent proves nothing); 4 = any other unsubsidised work
 * (under 50 %, extent missing, or with public support); 3 = studies
 * otherwise, or subsidised work; 2 = work training; 1 = preparatory effort
 * or job seeking; 0 = none. */
int validate_status_step(const Finsam__V1__StatusObservation *s)
{
    bool work = s->occupation == FINSAM__V1__OCCUPATION__OCC_WORK;
    switch (s->occupation) {
    case FINSAM__V1__OCCUPATION__OCC_WORK:
    case FINSAM__V1__OCCUPATION__OCC_STUDIES:
        if (s->has_extent_pct && s->extent_pct >= 50 && !s_public_support(s->income))
            return 5;
        return work ? 4 : 3;
    case FINSAM__V1__OCCUPATION__OCC_SUBSIDISED_WORK: return 3;
    case FINSAM__V1__OCCUPATION__OCC_WORK_TRAINING: return 2;
    case FINSAM__V1__OCCUPATION__OCC_PREPARATORY:
    case FINSAM__V1__OCCUPATION__OCC_JOB_SEEKING: return 1;
    default: return 0;
    }
}

bool validate_status_in_work_or_studies(const Finsam__V1__StatusObservation *s)
{
    return s->occupation == FINSAM__V1__OCCUPATION__OCC_WORK ||
           s->occupation == FINSAM__V1__OCCUPATION__OCC_SUBSIDISED_WORK ||
           s->occupation == FINSAM__V1__OCCUPATION__OCC_STUDIES;
}
