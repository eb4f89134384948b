/* coverage.c: the coverage measures as a catalogue of their own (see
 * coverage.h for why not in the catalogue in force). The catalogue is
 * written as JSON from the base catalogue's structures and parsed by the
 * one catalogue parser, so its checks apply. */
#include "coverage.h"

#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

static const char *s_kind(cat_instrument_kind_t kind)
{
    switch (kind) {
    case INSTR_PARTICIPANT_SURVEY: return "participant_survey";
    case INSTR_STATUS: return "status";
    case INSTR_STAFF_SURVEY: return "staff_survey";
    case INSTR_ORGANISATION: return "organisation";
    }
    return "";
}

static json_t *s_scale(const cat_scale_t *s)
{
    json_t *o = json_pack("{s:i, s:i}", "min", s->min, "max", s->max);
    if (s->dont_know >= 0)
        json_object_set_new(o, "dont_know", json_integer(s->dont_know));
    if (s->top_hi)
        json_object_set_new(o, "top", json_pack("[i,i]", s->top_lo, s->top_hi));
    if (s->yes >= 0)
        json_object_set_new(o, "yes", json_integer(s->yes));
    return o;
}

static json_t *s_measure(const char *id, const char *aggregate, json_t *source, const char *sv,
                         const char *en)
{
    return json_pack("{s:s, s:s, s:o, s:s, s:s, s:s, s:s}", "id", id, "aggregate", aggregate, "source",
                     source, "sv", sv, "en", en, "definition_sv", "", "definition_en", "");
}

fin_err_t coverage_catalogue(catalogue_t **out, const catalogue_t *base, char *err, size_t errlen)
{
    *out = NULL;
    json_t *scales = json_object(), *instruments = json_object(), *forbund = json_object(),
           *measures = json_array();
    for (int i = 0; i < base->nscales; i++)
        json_object_set_new(scales, base->scales[i].code, s_scale(&base->scales[i]));
    for (int i = 0; i < base->nforbund; i++)
        json_object_set_new(forbund, base->forbund[i].code,
                            json_pack("{s:s, s:s}", "name",
                                      base->forbund[i].name ? base->forbund[i].name : "", "lan",
                                      base->forbund[i].lan ? base->forbund[i].lan : ""));
    json_array_append_new(measures,
                          s_measure(COVERAGE_STATUS_ENTRY, "share_yes",
                                    json_pack("{s:s, s:s}", "status", "in_work_or_studies", "phase", "entry"),
                                    "Deltagare med statusrapport vid start",
                                    "Participants with a status "
                                    "observation at entry"));
    json_array_append_new(measures,
                          s_measure(COVERAGE_STATUS_EXIT, "share_yes",
                                    json_pack("{s:s, s:s}", "status", "in_work_or_studies", "phase", "exit"),
                                    "Deltagare med statusrapport vid avslut",
                                    "Participants with a status "
                                    "observation at exit"));
    for (int i = 0; i < base->ninstruments; i++) {
        const cat_instrument_t *in = &base->instruments[i];
        json_t *items = json_object();
        for (int j = 0; j < in->nitems; j++)
            json_object_set_new(items, in->items[j].code,
                                json_pack("{s:s, s:s, s:s, s:i}", "scale", in->items[j].scale->code, "sv",
                                          in->items[j].sv ? in->items[j].sv : "", "en",
                                          in->items[j].en ? in->items[j].en : "", "since",
                                          (int) in->items[j].since));
        json_object_set_new(instruments, in->code,
                            json_pack("{s:s, s:s, s:s, s:o}", "kind", s_kind(in->kind), "sv",
                                      in->sv ? in->sv : "", "en", in->en ? in->en : "", "items", items));
        if ((in->kind != INSTR_PARTICIPANT_SURVEY && in->kind != INSTR_STAFF_SURVEY) || in->nitems == 0)
            continue;
        /* The first item every version of the instrument has. */
        const cat_item_t *first = NULL;
        for (int j = 0; j < in->nitems && !first; j++)
            if (in->items[j].since <= 1)
                first = &in->items[j];
        if (!first)
            first = &in->items[0];
        char id[CAT_CODE_MAX], sv[256], en[256];
        if (snprintf(id, sizeof id, "cov_%s", in->code) >= (int) sizeof id)
            continue; /* a code too long for a measure id: no coverage row */
        snprintf(sv, sizeof sv, "Svarande: %s", in->sv ? in->sv : in->code);
        snprintf(en, sizeof en, "Respondents: %s", in->en ? in->en : in->code);
        const char *agg = first->scale->yes >= 0 ? "share_yes" : "ordinal";
        json_array_append_new(
            measures,
            s_measure(id, agg, json_pack("{s:s, s:s}", "instrument", in->code, "item", first->code), sv, en));
    }
    json_t *root = json_pack(
        "{s:i, s:i, s:o, s:o, s:o, s:[{s:i, s:s, s:s, s:s, s:s, s:o}]}", "catalogue_version",
        (int) base->version, "oldest_accepted_version", (int) base->oldest_version, "scales", scales,
        "instruments", instruments, "forbund", forbund, "indicators", "id", COVERAGE_INDICATOR, "perspective",
        "participant", "type", "process", "sv", "Täckning", "en", "Coverage", "measures", measures);
    char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
    json_decref(root);
    if (!text)
        return fin_fail(err, errlen, FIN_ENOMEM, "out of memory");
    char why[256];
    int rc = catalogue_parse(out, text, strlen(text), why, sizeof why);
    free(text);
    if (rc < 0)
        return fin_fail(err, errlen, FIN_EINTERNAL, "coverage catalogue: %s", why);
    return FIN_OK;
}
