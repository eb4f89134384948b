/* row.h: one canonical import row (a JSON object) -> the body of a
 * protobuf Event, for import.c (docs/import-jsonl.md has the fields).
 *
 * A row reaches the checks in one of two spellings (row_in_t): the JSON
 * object of a JSON lines file, or the typed fields a CSV mapping filled
 * straight from the cells (row_fields_t, mapping_fill), which skips
 * building and freeing a JSON object per row. Every check reads a field
 * through row_get, which sees both alike, so the two give the same
 * events and the same errors.
 *
 * Each field is checked on its own; a failure names the field and a reason
 * that never repeats the value (it may be a personnummer). Person rows get
 * their pseudonym and age band here; nothing else of the personnummer is
 * kept. Internal to finsam_import: import_row is the public entry.
 *
 * Not here: the event's id, content hash and natural key, the pending set
 * and the collector's own validation of the result (import.c). */
#ifndef FINSAM_IMPORT_ROW_H
#define FINSAM_IMPORT_ROW_H

#include "anonymize.h"
#include "catalogue.h"
#include "codec.h"
#include "insatser.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* The canonical fields, by number (docs/import-jsonl.md). */
typedef enum {
    ROW_F_KIND,
    ROW_F_PERSONNUMMER,
    ROW_F_DATE,
    ROW_F_INSTRUMENT,
    ROW_F_MODE,
    ROW_F_INSATS,
    ROW_F_GENDER,
    ROW_F_BIRTH_YEAR,
    ROW_F_PHASE,
    ROW_F_OCCUPATION,
    ROW_F_INCOME,
    ROW_F_EXTENT_PCT,
    ROW_F_DAYS_IN_INSATS,
    ROW_F_DAYS_TO_NEXT_SERVICE,
    ROW_F_ASSESSED,
    ROW_F_AGENCY,
    ROW_F_RESPONSE_ID,
    ROW_F_TARGET,
    ROW_F_ANSWERS,
    ROW_NFIELDS
} row_field_t;

/* The JSON name of each field ("kind", ..., "answers"). */
extern const char *const row_field_names[ROW_NFIELDS];

/* The field named name, or -1 when the format has none of that name. */
int row_field_of(const char *name);

/* What a field holds, as JSON would say it. */
typedef enum {
    ROW_V_ABSENT, /* not in the row */
    ROW_V_NULL,
    ROW_V_STRING,
    ROW_V_INTEGER,
    ROW_V_TRUE,
    ROW_V_FALSE,
    ROW_V_OTHER /* a real, an array or an object */
} row_vtype_t;

typedef struct {
    row_vtype_t type;
    const char *s; /* ROW_V_STRING: NUL-terminated (JSON may hold a NUL before len) */
    size_t len;    /* ROW_V_STRING: bytes */
    long long i;   /* ROW_V_INTEGER */
} row_value_t;

/* mapping_fill's memory of the answer columns: per column, the last
 * ROW_MEMO_WAYS different cell texts it read there and their values,
 * under which binding of the mapping (a survey's few labels). */
#define ROW_MEMO_COLS 32
#define ROW_MEMO_WAYS 8
typedef struct {
    unsigned long binding; /* 0: empty */
    size_t len;
    char cell[40];
    long long value;
} row_memo_t;

/* A canonical row without JSON: fields by number (ROW_F_ANSWERS unused;
 * the answers below, in column order). Strings point into the filler's
 * storage (mapping_fill: `text` below and the mapping), valid until it
 * fills the row again. One is reused for every row of a file; its size
 * (about 40 KB) is why it is not on the stack. */
typedef struct {
    row_value_t f[ROW_NFIELDS];
    size_t nanswers;
    bool too_many_answers; /* more answers than CODEC_MAX_ANSWERS (not kept) */
    const char *answer_code[CODEC_MAX_ANSWERS];
    long long answer[CODEC_MAX_ANSWERS];
    /* each string field's converted cell (at most 1000 bytes): [values]
     * constants in the first half, columns in the second */
    char text[2 * ROW_NFIELDS * 1024];
    /* not part of the row: mapping_fill's memo, by mapping column, kept
     * from row to row (row_fields_clear leaves it) */
    row_memo_t memo[ROW_MEMO_COLS][ROW_MEMO_WAYS];
} row_fields_t;

/* A row_fields_t before its first fill: row_fields_clear, and no memo. */
void row_fields_init(row_fields_t *r);

/* Empties a row_fields_t for filling (every field absent). */
void row_fields_clear(row_fields_t *r);

/* A row as the checks read it: exactly one of the two is set. */
typedef struct {
    json_t *json;              /* a JSON object (or any JSON value: import_row refuses non-objects) */
    const row_fields_t *cells; /* typed fields from a mapping */
} row_in_t;

/* A JSON value as a row_value_t (v NULL: absent); strings borrowed from v. */
row_value_t row_value_of_json(json_t *v);

/* Field f of the row (ROW_V_ABSENT when missing). */
row_value_t row_get(const row_in_t *row, row_field_t f);

/* Where a failed check writes: the field's name and the reason. */
typedef struct {
    char *field;
    size_t fieldlen;
    char *why;
    size_t whylen;
} row_err_t;

/* Writes field and the reason (printf format) into e; returns -1. */
int row_fail(row_err_t *e, const char *field, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* What the checks read besides the row (all borrowed). "Today" is the
 * Swedish calendar day of the import's clock. */
typedef struct {
    const catalogue_t *cat;
    const anon_t *anon;
    const insatser_t *insatser;
    int today_y, today_m, today_d;
    int32_t today_days;
} row_ctx_t;

/* An event being built: the protobuf structs point into it and into the
 * row (answers' item names), so it lives as long as the row. One is
 * reused for every row of an import: row_event_reset zeroes everything
 * before `hint_in`; the answers are set one by one (the first nanswers). */
typedef struct {
    Finsam__V1__Event ev;
    Finsam__V1__ParticipantSurvey ps;
    Finsam__V1__StatusObservation so;
    Finsam__V1__StaffSurvey ss;
    Finsam__V1__OrganisationReport org;
    Finsam__V1__Retraction ret;
    size_t nanswers;
    uint8_t pseudonym[ANON_PSEUDONYM_LEN];
    uint8_t target[ANON_ID_LEN];
    /* natural key input: kind, pseudonym, instrument-or-phase, day */
    bool has_natural;
    char natural_kind[24];
    char natural_what[CAT_CODE_MAX];
    /* last: not zeroed per row (4 KB) */
    /* the item each answer was last found to be, and in which instrument:
     * rows of a file name the same items in the same order, so the
     * catalogue is searched only when this is not it (row.c) */
    const cat_instrument_t *hint_in;
    const cat_item_t *hint[CODEC_MAX_ANSWERS];
    Finsam__V1__Answer answers[CODEC_MAX_ANSWERS];
    Finsam__V1__Answer *answer_ptrs[CODEC_MAX_ANSWERS];
} row_event_t;

/* Makes b as calloc left it, but for the answers (see above). */
static inline void row_event_reset(row_event_t *b)
{
    memset(b, 0, offsetof(row_event_t, hint_in));
}

/* A string field (NULL when absent and not required). Values that look
 * like direct identifiers are refused, except in the fields that hold
 * digits by nature (personnummer, date, target). Returns 0 or -1 (e). */
int row_string(const row_in_t *row, row_field_t f, bool required, const char **out, row_err_t *e);

/* The row's "date": YYYY-MM-DD, a real date, from 2000 on and not after
 * today. Returns 0 or -1 (e). */
int row_date(const row_ctx_t *self, const row_in_t *row, int *y, int *m, int *d, int32_t *days, row_err_t *e);

/* Fills b's body (b->ev.body_case and the body; b->ev's other fields are
 * the caller's) for a row of `kind` whose date is in `year`, and sets
 * *fields to the set of fields that kind reads, bit (1 << row_field_t)
 * each (any other field is dropped). Sets b->has_natural and the
 * natural-key parts. Returns 0 or -1 (e). */
int row_build(const row_ctx_t *self, const row_in_t *row, const char *kind, int year, row_event_t *b,
              uint32_t *fields, row_err_t *e);

#endif
