/* row.h: one canonical import row (a JSON object) -> the body of a
 * protobuf Event, for import.c (docs/import-jsonl.md has the fields).
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
 * before `answers`; the answers are set one by one (the first nanswers). */
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
    Finsam__V1__Answer answers[CODEC_MAX_ANSWERS];
    Finsam__V1__Answer *answer_ptrs[CODEC_MAX_ANSWERS];
} row_event_t;

/* Makes b as calloc left it, but for the answers (see above). */
static inline void row_event_reset(row_event_t *b)
{
    memset(b, 0, offsetof(row_event_t, answers));
}

/* A string field (NULL when absent and not required). Values that look
 * like direct identifiers are refused, except in the fields that hold
 * digits by nature (personnummer, date, target). Returns 0 or -1 (e). */
int row_string(json_t *row, const char *name, bool required, const char **out, row_err_t *e);

/* The row's "date": YYYY-MM-DD, a real date, from 2000 on and not after
 * today. Returns 0 or -1 (e). */
int row_date(const row_ctx_t *self, json_t *row, int *y, int *m, int *d, int32_t *days, row_err_t *e);

/* Fills b's body (b->ev.body_case and the body; b->ev's other fields are
 * the caller's) for a row of `kind` whose date is in `year`, and sets
 * *fields to the NULL-terminated names that kind reads (any other field is
 * dropped). Sets b->has_natural and the natural-key parts. Returns 0 or
 * -1 (e). */
int row_build(const row_ctx_t *self, json_t *row, const char *kind, int year, row_event_t *b,
              const char *const **fields, row_err_t *e);

#endif
