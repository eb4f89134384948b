/* catalogue.h: the indicator catalogue as data (proto/catalogue.json).
 *
 * Instruments, their items and answer scales, and for each of the core
 * indicators the measures computed from them. Agents validate imports and
 * the collector validates events and derives aggregates from the same file;
 * its version travels with each event. The default catalogue is embedded in
 * every binary, so adding an item or a measure is a change to the JSON only.
 * Every measure carries its own Swedish and English label and one-line
 * definition (docs/indicators.md explains each formula).
 *
 * Versions: an event names the catalogue version it was validated against.
 * The collector accepts versions from oldest_accepted_version up to its
 * own (older events keep their meaning and are counted in the same
 * cells); an item added in a later version says so ("since") and may not
 * appear in an older event.
 *
 * A catalogue is immutable once loaded; lookups return borrowed pointers
 * valid until catalogue_destroy. */
#ifndef FINSAM_CATALOGUE_H
#define FINSAM_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CAT_CODE_MAX 32

typedef enum {
    INSTR_PARTICIPANT_SURVEY,
    INSTR_STATUS,
    INSTR_STAFF_SURVEY,
    INSTR_ORGANISATION,
} cat_instrument_kind_t;

typedef struct {
    char code[CAT_CODE_MAX];
    int min, max;       /* valid answers */
    int dont_know;      /* extra valid answer left out of denominators, or -1 */
    int top_lo, top_hi; /* "share agreeing" range, or 0/0 */
    int yes;            /* value meaning yes, or -1 */
    int nlabels;
    char **labels_sv; /* index = value, may be NULL */
    char **labels_en;
} cat_scale_t;

typedef struct {
    char code[CAT_CODE_MAX];
    const cat_scale_t *scale;
    char *sv, *en;
    uint32_t since; /* the catalogue version that added the item (1 if not said) */
} cat_item_t;

typedef struct {
    char code[CAT_CODE_MAX];
    cat_instrument_kind_t kind;
    char *sv, *en;
    cat_item_t *items;
    int nitems;
} cat_instrument_t;

typedef enum {
    AGG_ORDINAL,         /* mean, sd, 95% CI, share top two, median (histogram) */
    AGG_SHARE_YES,       /* share answering yes */
    AGG_SUM,             /* count and sum of a number */
    AGG_MEDIAN_DAYS,     /* median and quartiles of a day count (exact distribution) */
    AGG_PAIRED_CHANGE,   /* same pseudonym, value at `from` vs `to` */
    AGG_SHARE_SUSTAINED, /* in work/studies at `from` still so at `to` */
    AGG_RATIO,           /* Σ part / Σ total over reports giving both (hits / sum) */
} cat_aggregate_t;
#define CAT_AGGREGATES 7

/* Values a status observation contributes (source "status"). */
typedef enum {
    STATUS_NONE,
    STATUS_STEP, /* 0..5 derived step */
    STATUS_DAYS_IN_INSATS,
    STATUS_DAYS_TO_NEXT_SERVICE,
    STATUS_IN_WORK_OR_STUDIES,        /* yes/no */
    STATUS_ASSESSED_WITH_PARTICIPANT, /* yes/no */
} cat_status_field_t;

typedef struct {
    char id[CAT_CODE_MAX];
    int indicator;
    cat_aggregate_t aggregate;
    /* Survey source: item code, and the instrument or "" for any instrument
     * carrying the item. Paired survey measures name `from`/`to` instruments. */
    char instrument[CAT_CODE_MAX];
    char item[CAT_CODE_MAX];
    char from_instrument[CAT_CODE_MAX];
    char to_instrument[CAT_CODE_MAX];
    /* Status source: field and phase (Phase enum numbers), or from/to phases. */
    cat_status_field_t status_field;
    int phase, from_phase, to_phase;
    const cat_scale_t *scale; /* for survey items */
    /* AGG_RATIO: the part and the total, two items of `instrument`. A
     * report giving both is one observation: n 1, sum the total, hits
     * the part (aggregate.c), so the share is hits / sum. */
    char numerator_item[CAT_CODE_MAX], denominator_item[CAT_CODE_MAX];
    /* Computed from an organisation report: not personal data, never
     * suppressed, perturbed or withheld. */
    bool organisation;
    /* Own label and one-line definition (never NULL; "" if not given). */
    char *sv, *en, *definition_sv, *definition_en;
} cat_measure_t;

typedef struct {
    int id;
    char perspective[16];
    char type[16];
    char *sv, *en;
    int first_measure, nmeasures; /* range in catalogue measures */
} cat_indicator_t;

typedef struct {
    char code[CAT_CODE_MAX];
    char *name;
    char *lan;
} cat_forbund_t;

typedef struct catalogue_t {
    uint32_t version;
    uint32_t oldest_version; /* oldest event version accepted (<= version) */
    /* BLAKE2b-128 of what cells are derived from (scales, items, measure
     * sources; not labels): stored cells built under another fingerprint
     * are recomputed from the log (recount.h). */
    uint8_t fingerprint[16];
    cat_scale_t *scales;
    int nscales;
    cat_instrument_t *instruments;
    int ninstruments;
    cat_indicator_t *indicators;
    int nindicators;
    cat_measure_t *measures;
    int nmeasures;
    cat_forbund_t *forbund; /* registry: code -> name, län */
    int nforbund;
} catalogue_t;

/* Loads the catalogue from `path`, or the embedded default when path is NULL
 * or "". Returns 0, or -1 with a reason in err. */
int catalogue_load(catalogue_t **out, const char *path, char *err, size_t errlen);
int catalogue_parse(catalogue_t **out, const char *json, size_t len, char *err, size_t errlen);
void catalogue_destroy(catalogue_t **self_p);

/* The embedded catalogue text. */
const char *catalogue_default_json(size_t *len);

const cat_instrument_t *catalogue_instrument(const catalogue_t *self, const char *code);
const cat_item_t *catalogue_item(const cat_instrument_t *instrument, const char *code);
const cat_measure_t *catalogue_measure(const catalogue_t *self, const char *id);
/* The län of a förbund code, or "okänt län" when it is not registered. */
const char *catalogue_lan(const catalogue_t *self, const char *forbund);

/* True if the measure publishes a share: every aggregate but sums, and an
 * ordinal scale only where it declares a top range ("share agreeing"). */
bool cat_measure_has_share(const cat_measure_t *m);
/* The aggregate's name as in the JSON ("ordinal", ..., "ratio"). */
const char *catalogue_aggregate_name(cat_aggregate_t aggregate);
/* The indicator a measure belongs to, or NULL. */
const cat_indicator_t *catalogue_indicator_of(const catalogue_t *self, const cat_measure_t *m);
/* True if events of catalogue version v are accepted. */
bool catalogue_accepts_version(const catalogue_t *self, uint32_t v);

/* True if value is a valid answer on the scale (including "don't know"). */
bool cat_scale_accepts(const cat_scale_t *scale, int value);

#endif
