/* catalogue.c: parses proto/catalogue.json (jansson) into flat arrays.
 * Parsing is strict: an unknown scale, aggregate or status field is an error
 * naming the place, because a catalogue typo must not silently drop a
 * measure from national statistics. */
#include "catalogue.h"

#include "finsam.pb-c.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const unsigned char finsam_catalogue_json[];
extern const size_t finsam_catalogue_json_len;

const char *catalogue_default_json(size_t *len)
{
    *len = finsam_catalogue_json_len;
    return (const char *) finsam_catalogue_json;
}

static char *s_dup(json_t *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(obj, key));
    return strdup(s ? s : "");
}

static int s_code(char *dst, const char *src)
{
    if (!src || !*src || strlen(src) >= CAT_CODE_MAX)
        return -1;
    strcpy(dst, src);
    return 0;
}

static char **s_labels(json_t *arr, int *n)
{
    if (!json_is_array(arr))
        return NULL;
    /* Fixed 16 slots so both label arrays can be freed with one count. */
    size_t len = json_array_size(arr);
    if (len > 16)
        len = 16;
    char **out = calloc(16, sizeof *out);
    for (size_t i = 0; out && i < len; i++)
        out[i] = strdup(json_string_value(json_array_get(arr, i)) ?: "");
    if (*n < (int) len)
        *n = (int) len;
    return out;
}

static const cat_scale_t *s_scale(const catalogue_t *self, const char *code)
{
    for (int i = 0; code && i < self->nscales; i++)
        if (!strcmp(self->scales[i].code, code))
            return &self->scales[i];
    return NULL;
}

static int s_phase(const char *name)
{
    if (!name)
        return 0;
    if (!strcmp(name, "entry"))
        return FINSAM__V1__PHASE__PHASE_ENTRY;
    if (!strcmp(name, "exit"))
        return FINSAM__V1__PHASE__PHASE_EXIT;
    if (!strcmp(name, "followup_6"))
        return FINSAM__V1__PHASE__PHASE_FOLLOWUP_6;
    if (!strcmp(name, "followup_12"))
        return FINSAM__V1__PHASE__PHASE_FOLLOWUP_12;
    return -1;
}

static const char *const s_aggregates[CAT_AGGREGATES] = {
    "ordinal", "share_yes", "sum", "median_days", "paired_change", "share_sustained", "ratio"};

const char *catalogue_aggregate_name(cat_aggregate_t aggregate)
{
    return (unsigned) aggregate < CAT_AGGREGATES ? s_aggregates[aggregate] : "?";
}

/* A ratio's source: two items of one instrument, the part (numerator)
 * and the total (denominator). */
static int s_parse_ratio(catalogue_t *self, cat_measure_t *m, json_t *src, char *err, size_t errlen)
{
    const char *instr = json_string_value(json_object_get(src, "instrument"));
    const char *num = json_string_value(json_object_get(src, "numerator"));
    const char *den = json_string_value(json_object_get(src, "denominator"));
    const cat_instrument_t *in = instr ? catalogue_instrument(self, instr) : NULL;
    if (!in || !num || !den || !catalogue_item(in, num) || !catalogue_item(in, den) || !strcmp(num, den)) {
        snprintf(err, errlen,
                 "measure %s: a ratio needs an instrument and two of its items, numerator and "
                 "denominator",
                 m->id);
        return -1;
    }
    /* Not in `item`: aggregate.c routes single answers by item, and a
     * ratio needs both answers of a report (aggregate.c, s_ratios). */
    s_code(m->instrument, instr);
    s_code(m->numerator_item, num);
    s_code(m->denominator_item, den);
    return 0;
}

static int s_parse_measure(catalogue_t *self, cat_measure_t *m, json_t *jm, char *err, size_t errlen)
{
    static const char *const fields[] = {"",
                                         "step",
                                         "days_in_insats",
                                         "days_to_next_service",
                                         "in_work_or_studies",
                                         "assessed_with_participant"};
    const char *id = json_string_value(json_object_get(jm, "id"));
    if (s_code(m->id, id) < 0) {
        snprintf(err, errlen, "measure: missing or too long id");
        return -1;
    }
    const char *agg = json_string_value(json_object_get(jm, "aggregate"));
    m->aggregate = (cat_aggregate_t) -1;
    for (int i = 0; agg && i < CAT_AGGREGATES; i++)
        if (!strcmp(agg, s_aggregates[i]))
            m->aggregate = (cat_aggregate_t) i;
    if ((int) m->aggregate < 0) {
        snprintf(err, errlen, "measure %s: unknown aggregate '%s'", m->id, agg ? agg : "");
        return -1;
    }
    m->sv = s_dup(jm, "sv");
    m->en = s_dup(jm, "en");
    m->definition_sv = s_dup(jm, "definition_sv");
    m->definition_en = s_dup(jm, "definition_en");
    json_t *src = json_object_get(jm, "source");
    if (m->aggregate == AGG_RATIO)
        return s_parse_ratio(self, m, src, err, errlen);
    const char *status = json_string_value(json_object_get(src, "status"));
    const char *item = json_string_value(json_object_get(src, "item"));
    const char *instr = json_string_value(json_object_get(src, "instrument"));
    const char *from = json_string_value(json_object_get(src, "from"));
    const char *to = json_string_value(json_object_get(src, "to"));
    bool paired = m->aggregate == AGG_PAIRED_CHANGE || m->aggregate == AGG_SHARE_SUSTAINED;
    if (status) {
        for (int i = 1; i < 6; i++)
            if (!strcmp(status, fields[i]))
                m->status_field = (cat_status_field_t) i;
        m->phase = s_phase(json_string_value(json_object_get(src, "phase")));
        m->from_phase = s_phase(from);
        m->to_phase = s_phase(to);
        if (m->status_field == STATUS_NONE || m->phase < 0 || m->from_phase < 0 || m->to_phase < 0 ||
            (paired && (!m->from_phase || !m->to_phase)) || (!paired && !m->phase)) {
            snprintf(err, errlen, "measure %s: bad status source", m->id);
            return -1;
        }
        return 0;
    }
    if (!item || s_code(m->item, item) < 0) {
        snprintf(err, errlen, "measure %s: source needs an item or a status field", m->id);
        return -1;
    }
    if (instr)
        s_code(m->instrument, instr);
    if (paired) {
        if (s_code(m->from_instrument, from) < 0 || s_code(m->to_instrument, to) < 0) {
            snprintf(err, errlen, "measure %s: paired source needs from and to instruments", m->id);
            return -1;
        }
    }
    /* The item must exist where the measure looks for it; take its scale. */
    for (int i = 0; i < self->ninstruments; i++) {
        const cat_instrument_t *in = &self->instruments[i];
        if (m->instrument[0] && strcmp(in->code, m->instrument))
            continue;
        const cat_item_t *it = catalogue_item(in, m->item);
        if (it) {
            if (m->scale && m->scale != it->scale) {
                snprintf(err, errlen, "measure %s: item %s has different scales", m->id, m->item);
                return -1;
            }
            m->scale = it->scale;
        }
    }
    if (!m->scale) {
        snprintf(err, errlen, "measure %s: item %s not found in the instruments", m->id, m->item);
        return -1;
    }
    return 0;
}

/* The fingerprint of what cells are derived from: canonical JSON (sorted
 * keys, compact) of every scale's numbers, every instrument's kind and
 * item scales, and every measure's id, aggregate and source, in order;
 * hashed with BLAKE2b-128 (libsodium crypto_generichash). Labels,
 * definitions, versions and the förbund registry are left out: changing
 * them never changes a cell. */
static int s_fingerprint(json_t *root, uint8_t out[16])
{
    json_t *d = json_object(), *scales = json_object(), *instruments = json_object(),
           *measures = json_array();
    const char *key;
    json_t *val;
    json_object_foreach(json_object_get(root, "scales"), key, val) {
        json_t *s = json_object();
        static const char *const fields[] = {"min", "max", "dont_know", "top", "yes"};
        for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
            if (json_object_get(val, fields[i]))
                json_object_set(s, fields[i], json_object_get(val, fields[i]));
        json_object_set_new(scales, key, s);
    }
    json_object_foreach(json_object_get(root, "instruments"), key, val) {
        json_t *items = json_object();
        const char *ikey;
        json_t *ival;
        json_object_foreach(json_object_get(val, "items"), ikey, ival)
            json_object_set(items, ikey, json_object_get(ival, "scale"));
        json_object_set_new(instruments, key,
                            json_pack("{s:O?,s:o}", "kind", json_object_get(val, "kind"), "items", items));
    }
    size_t i, j;
    json_t *ind, *m;
    json_array_foreach(json_object_get(root, "indicators"), i, ind) {
        json_array_foreach(json_object_get(ind, "measures"), j, m) {
            json_array_append_new(measures, json_pack("{s:O?,s:O?,s:O?}", "id", json_object_get(m, "id"),
                                                      "aggregate", json_object_get(m, "aggregate"), "source",
                                                      json_object_get(m, "source")));
        }
    }
    json_object_set_new(d, "scales", scales);
    json_object_set_new(d, "instruments", instruments);
    json_object_set_new(d, "measures", measures);
    char *text = json_dumps(d, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(d);
    if (!text)
        return -1;
    crypto_generichash(out, 16, (const unsigned char *) text, strlen(text), NULL, 0);
    free(text);
    return 0;
}

int catalogue_parse(catalogue_t **out, const char *text, size_t len, char *err, size_t errlen)
{
    *out = NULL;
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    if (!root) {
        snprintf(err, errlen, "line %d: %s", jerr.line, jerr.text);
        return -1;
    }
    catalogue_t *self = calloc(1, sizeof *self);
    json_t *scales = json_object_get(root, "scales"), *instruments = json_object_get(root, "instruments"),
           *indicators = json_object_get(root, "indicators");
    json_int_t version = json_integer_value(json_object_get(root, "catalogue_version"));
    if (!self || version <= 0 || !json_is_object(scales) || !json_is_object(instruments) ||
        !json_is_array(indicators)) {
        snprintf(err, errlen, "needs catalogue_version, scales, instruments and indicators");
        goto fail;
    }
    self->version = (uint32_t) version;
    json_t *oldest = json_object_get(root, "oldest_accepted_version");
    self->oldest_version = oldest ? (uint32_t) json_integer_value(oldest) : self->version;
    if (oldest && (!json_is_integer(oldest) || json_integer_value(oldest) < 1 ||
                   json_integer_value(oldest) > version)) {
        snprintf(err, errlen, "oldest_accepted_version must be a number from 1 to catalogue_version");
        goto fail;
    }
    if (s_fingerprint(root, self->fingerprint) < 0) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }

    self->scales = calloc(json_object_size(scales) + 1, sizeof *self->scales);
    const char *key;
    json_t *val;
    json_object_foreach(scales, key, val) {
        cat_scale_t *s = &self->scales[self->nscales++];
        if (s_code(s->code, key) < 0 || !json_is_integer(json_object_get(val, "min")) ||
            !json_is_integer(json_object_get(val, "max"))) {
            snprintf(err, errlen, "scale %s: needs min and max", key);
            goto fail;
        }
        s->min = (int) json_integer_value(json_object_get(val, "min"));
        s->max = (int) json_integer_value(json_object_get(val, "max"));
        json_t *dk = json_object_get(val, "dont_know"), *yes = json_object_get(val, "yes"),
               *top = json_object_get(val, "top");
        s->dont_know = json_is_integer(dk) ? (int) json_integer_value(dk) : -1;
        s->yes = json_is_integer(yes) ? (int) json_integer_value(yes) : -1;
        if (json_array_size(top) == 2) {
            s->top_lo = (int) json_integer_value(json_array_get(top, 0));
            s->top_hi = (int) json_integer_value(json_array_get(top, 1));
        }
        s->labels_sv = s_labels(json_object_get(val, "labels_sv"), &s->nlabels);
        s->labels_en = s_labels(json_object_get(val, "labels_en"), &s->nlabels);
    }

    self->instruments = calloc(json_object_size(instruments) + 1, sizeof *self->instruments);
    json_object_foreach(instruments, key, val) {
        static const char *const kinds[] = {"participant_survey", "status", "staff_survey", "organisation"};
        cat_instrument_t *in = &self->instruments[self->ninstruments++];
        const char *kind = json_string_value(json_object_get(val, "kind"));
        int k = -1;
        for (int i = 0; kind && i < 4; i++)
            if (!strcmp(kind, kinds[i]))
                k = i;
        if (s_code(in->code, key) < 0 || k < 0) {
            snprintf(err, errlen, "instrument %s: bad code or kind", key);
            goto fail;
        }
        in->kind = (cat_instrument_kind_t) k;
        in->sv = s_dup(val, "sv");
        in->en = s_dup(val, "en");
        json_t *items = json_object_get(val, "items");
        in->items = calloc(json_object_size(items) + 1, sizeof *in->items);
        const char *ikey;
        json_t *ival;
        json_object_foreach(items, ikey, ival) {
            cat_item_t *it = &in->items[in->nitems++];
            if (s_code(it->code, ikey) < 0 ||
                !(it->scale = s_scale(self, json_string_value(json_object_get(ival, "scale"))))) {
                snprintf(err, errlen, "instrument %s: item %s: bad code or unknown scale", key, ikey);
                goto fail;
            }
            it->sv = s_dup(ival, "sv");
            it->en = s_dup(ival, "en");
            json_t *since = json_object_get(ival, "since");
            it->since = since ? (uint32_t) json_integer_value(since) : 1;
            if (since && (!json_is_integer(since) || json_integer_value(since) < 1 ||
                          json_integer_value(since) > version)) {
                snprintf(err, errlen, "instrument %s: item %s: since must be a version from 1 to %u", key,
                         ikey, self->version);
                goto fail;
            }
        }
    }

    json_t *registry = json_object_get(root, "forbund");
    self->forbund = calloc(json_object_size(registry) + 1, sizeof *self->forbund);
    json_object_foreach(registry, key, val) {
        cat_forbund_t *f = &self->forbund[self->nforbund++];
        if (s_code(f->code, key) < 0) {
            snprintf(err, errlen, "forbund %s: bad code", key);
            goto fail;
        }
        f->name = s_dup(val, "name");
        f->lan = s_dup(val, "lan");
    }

    size_t nm = 0, i;
    json_array_foreach(indicators, i, val)
        nm += json_array_size(json_object_get(val, "measures"));
    self->indicators = calloc(json_array_size(indicators) + 1, sizeof *self->indicators);
    self->measures = calloc(nm + 1, sizeof *self->measures);
    json_array_foreach(indicators, i, val) {
        cat_indicator_t *ind = &self->indicators[self->nindicators++];
        ind->id = (int) json_integer_value(json_object_get(val, "id"));
        snprintf(ind->perspective, sizeof ind->perspective, "%s",
                 json_string_value(json_object_get(val, "perspective")) ?: "");
        snprintf(ind->type, sizeof ind->type, "%s", json_string_value(json_object_get(val, "type")) ?: "");
        ind->sv = s_dup(val, "sv");
        ind->en = s_dup(val, "en");
        ind->first_measure = self->nmeasures;
        size_t j;
        json_t *jm;
        json_array_foreach(json_object_get(val, "measures"), j, jm) {
            cat_measure_t *m = &self->measures[self->nmeasures++];
            m->indicator = ind->id;
            if (s_parse_measure(self, m, jm, err, errlen) < 0)
                goto fail;
            for (int k = 0; k < self->nmeasures - 1; k++)
                if (!strcmp(self->measures[k].id, m->id)) {
                    snprintf(err, errlen, "measure %s: defined twice", m->id);
                    goto fail;
                }
        }
        ind->nmeasures = self->nmeasures - ind->first_measure;
    }
    for (int k = 0; k < self->nmeasures; k++) {
        cat_measure_t *m = &self->measures[k];
        const cat_instrument_t *in = m->instrument[0] ? catalogue_instrument(self, m->instrument) : NULL;
        m->organisation = in && in->kind == INSTR_ORGANISATION;
    }
    json_decref(root);
    *out = self;
    return 0;
fail:
    json_decref(root);
    catalogue_destroy(&self);
    return -1;
}

int catalogue_load(catalogue_t **out, const char *path, char *err, size_t errlen)
{
    if (!path || !*path) {
        size_t len;
        const char *text = catalogue_default_json(&len);
        return catalogue_parse(out, text, len, err, errlen);
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open", path);
        return -1;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    do {
        if (len + 65536 > cap) {
            char *nb = realloc(buf, cap = cap * 2 + 65536);
            if (!nb) {
                free(buf);
                fclose(f);
                snprintf(err, errlen, "%s: out of memory", path);
                return -1;
            }
            buf = nb;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0 && len < ((size_t) 16 << 20));
    fclose(f);
    char inner[256];
    int rc = catalogue_parse(out, buf, len, inner, sizeof inner);
    if (rc < 0)
        snprintf(err, errlen, "%s: %s", path, inner);
    free(buf);
    return rc;
}

static void s_free_labels(char **labels, int n)
{
    for (int i = 0; labels && i < n; i++)
        free(labels[i]);
    free(labels);
}

void catalogue_destroy(catalogue_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    catalogue_t *self = *self_p;
    for (int i = 0; i < self->nscales; i++) {
        s_free_labels(self->scales[i].labels_sv, self->scales[i].nlabels);
        s_free_labels(self->scales[i].labels_en, self->scales[i].nlabels);
    }
    free(self->scales);
    for (int i = 0; self->instruments && i < self->ninstruments; i++) {
        cat_instrument_t *in = &self->instruments[i];
        for (int j = 0; in->items && j < in->nitems; j++) {
            free(in->items[j].sv);
            free(in->items[j].en);
        }
        free(in->items);
        free(in->sv);
        free(in->en);
    }
    free(self->instruments);
    for (int i = 0; self->indicators && i < self->nindicators; i++) {
        free(self->indicators[i].sv);
        free(self->indicators[i].en);
    }
    free(self->indicators);
    for (int i = 0; self->measures && i < self->nmeasures; i++) {
        free(self->measures[i].sv);
        free(self->measures[i].en);
        free(self->measures[i].definition_sv);
        free(self->measures[i].definition_en);
    }
    free(self->measures);
    for (int i = 0; self->forbund && i < self->nforbund; i++) {
        free(self->forbund[i].name);
        free(self->forbund[i].lan);
    }
    free(self->forbund);
    free(self);
    *self_p = NULL;
}

const cat_instrument_t *catalogue_instrument(const catalogue_t *self, const char *code)
{
    for (int i = 0; i < self->ninstruments; i++)
        if (!strcmp(self->instruments[i].code, code))
            return &self->instruments[i];
    return NULL;
}

const cat_item_t *catalogue_item(const cat_instrument_t *in, const char *code)
{
    for (int i = 0; i < in->nitems; i++)
        if (!strcmp(in->items[i].code, code))
            return &in->items[i];
    return NULL;
}

const cat_measure_t *catalogue_measure(const catalogue_t *self, const char *id)
{
    for (int i = 0; i < self->nmeasures; i++)
        if (!strcmp(self->measures[i].id, id))
            return &self->measures[i];
    return NULL;
}

bool cat_measure_has_share(const cat_measure_t *m)
{
    if (m->aggregate == AGG_SUM)
        return false;
    if (m->aggregate == AGG_ORDINAL)
        return m->scale && (m->scale->top_lo || m->scale->top_hi);
    return true;
}

const cat_indicator_t *catalogue_indicator_of(const catalogue_t *self, const cat_measure_t *m)
{
    for (int i = 0; i < self->nindicators; i++)
        if (self->indicators[i].id == m->indicator)
            return &self->indicators[i];
    return NULL;
}

bool catalogue_accepts_version(const catalogue_t *self, uint32_t v)
{
    return v >= self->oldest_version && v <= self->version;
}

bool cat_scale_accepts(const cat_scale_t *scale, int value)
{
    return (value >= scale->min && value <= scale->max) ||
           (scale->dont_know >= 0 && value == scale->dont_know);
}

const char *catalogue_lan(const catalogue_t *self, const char *forbund)
{
    for (int i = 0; i < self->nforbund; i++)
        if (!strcmp(self->forbund[i].code, forbund))
            return self->forbund[i].lan;
    return "okänt län";
}
