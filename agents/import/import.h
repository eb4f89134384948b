/* import.h: canonical rows -> validated, pseudonymized events in the
 * outbox (format: docs/import-jsonl.md).
 *
 * An import_t collects the events of one file (or one demo chunk) in memory
 * and stores them with one outbox_put, so a file is imported completely or
 * not at all. Each row is checked field by field; a failed row reports the
 * field and a reason that never repeats the value (it may be a personnummer).
 * Fields the format does not name are dropped, never stored.
 *
 * Not here: the checks of each field (row.c), reading JSON lines files
 * (jsonl.c) and CSV with column mappings (csvimport.c, a layer that
 * produces the same rows, so CSV and JSONL rows get the same ids), sending. */
#ifndef FINSAM_IMPORT_H
#define FINSAM_IMPORT_H

#include "anonymize.h"
#include "catalogue.h"
#include "err.h"
#include "insatser.h"
#include "outbox.h"
#include "report_text.h"
#include "row.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

typedef struct import_t import_t;

typedef struct {
    size_t rows;      /* non-blank lines / rows offered */
    size_t accepted;  /* newly queued, corrections included */
    size_t corrected; /* of which corrections of an earlier row */
    size_t already;   /* imported before (same event id): nothing added */
    size_t rejected;  /* rows with an error */
    size_t dropped;   /* unmapped fields dropped */
    size_t withdrawn; /* imported before and withdrawn since: nothing added, not sent again */
} import_stats_t;

/* A new import for förbund `forbund` (borrowed, like cat and anon; all must
 * outlive the import). now_s is the wall clock used for "not in the future"
 * and for the century of 10-digit personnummer. NULL on allocation failure. */
import_t *import_new(const catalogue_t *cat, const anon_t *anon, const char *forbund, int64_t now_s);

/* Frees pending events; NULL-safe, sets *self_p to NULL. */
void import_destroy(import_t **self_p);

/* The insats codes rows may use (borrowed; must outlive the import). A row
 * with an insats not in the list, or any insats while the list is NULL or
 * empty, is refused: free text never leaves the site. */
void import_set_insatser(import_t *self, const insatser_t *insatser);

/* The longest response id a row may carry, in bytes. */
#define IMPORT_RESPONSE_ID_MAX 128
/* The default correction window (mapping key correction-window-days). */
#define IMPORT_WINDOW_DAYS 31

/* Within how many days a person's row (participant survey, status) without
 * a response id whose date changed is a correction of the earlier row
 * with the same person, instrument or phase, rather than a new one
 * (0: only the same day, what import_new starts with, as JSON lines and
 * the demo keep; < 0: the default, IMPORT_WINDOW_DAYS, which CSV and
 * workbook imports take unless their mapping says otherwise). */
void import_set_window(import_t *self, int days);

/* The natural key of a row with a response id: keyed hash (site key) of
 * kind, instrument and the response id, which never leaves the site.
 * `withdraw --response-id` finds the event with it. */
void import_response_key(const anon_t *anon, const char *kind, const char *what, const char *rid, size_t rlen,
                         uint8_t out[ANON_HASH_LEN]);

/* The import number of the last commit that queued something (0: none):
 * the outbox keeps the ids it queued under it, for withdraw. */
uint64_t import_number(const import_t *self);

/* Where the next rows are, for the report's correction lines: their line
 * in a text file (sheet NULL), or their row in a workbook's sheet. Set
 * before each import_row; without it a row is named by its ordinal. */
void import_set_position(import_t *self, const char *sheet, long line);

/* Validates one row (a JSON object; borrowed) and adds its event to the
 * pending set. Returns 0, or -1 with the field name in field and the reason
 * in why (the row adds nothing). */
int import_row(import_t *self, json_t *row, char *field, size_t fieldlen, char *why, size_t whylen);

/* import_row for a row a mapping filled without JSON (mapping_fill;
 * borrowed): the same checks, event and errors as the JSON row
 * mapping_row builds from the same cells. */
int import_row_fields(import_t *self, const row_fields_t *row, char *field, size_t fieldlen, char *why,
                      size_t whylen);

/* A row made into an event, not yet hashed, checked and queued: what
 * import_prepare hands import_add, so that a reader thread can build the
 * next rows' events while the import's own thread adds this one
 * (csvimport.c). import_row is the two in one. The pseudonym is wiped by
 * import_add or import_prep_clear. */
typedef struct {
    int rc;                   /* 0, or -1: field and why say why */
    char field[64], why[400]; /* the failed check */
    uint8_t *bytes;           /* the packed event, id zeroed (owned) */
    size_t len;
    int y, m; /* the row's date */
    int32_t days;
    size_t rlen; /* response id, if any */
    char rid[IMPORT_RESPONSE_ID_MAX];
    int body_case;                /* Finsam__V1__Event__BodyCase */
    const char *staff_instrument; /* a staff survey's instrument (the catalogue's) */
    bool has_natural;
    char natural_kind[24];
    char natural_what[CAT_CODE_MAX];
    uint8_t pseudonym[ANON_PSEUDONYM_LEN];
    uint32_t fields;  /* the fields the row's kind reads (row_build) */
    uint32_t present; /* a typed row's fields; for the dropped ones */
    json_t *json;     /* a JSON row (borrowed: only while import_row runs) */
} import_prep_t;

/* The first half of import_row: reads and checks the row (borrowed for
 * the call) and packs its event into *p, using the scratch b, touching
 * nothing of self but what import_new and the import_set_ calls made
 * (so another thread may call import_add meanwhile). Returns p->rc: 0,
 * or -1 with p->field and p->why set. */
int import_prepare(const import_t *self, const row_in_t *row, row_event_t *b, import_prep_t *p);

/* The second half: counts the row and, if p was prepared, gives the
 * event its id, checks it with the collector's functions and adds it to
 * the pending set (p->bytes then belong to the import). Returns 0, or -1
 * with the field and reason (p's own if it failed to prepare). */
int import_add(import_t *self, import_prep_t *p, char *field, size_t fieldlen, char *why, size_t whylen);

/* Frees what a prepared row holds that import_add did not take. */
void import_prep_clear(import_prep_t *p);

/* Events pending since the last commit. */
size_t import_pending(const import_t *self);

/* Queues all pending events in one outbox transaction (dry_run: decide
 * but store nothing) and adds the outcome to *stats. On success the
 * pending set is emptied; on failure it is kept and nothing was stored.
 * Returns FIN_OK or the outbox's code (FIN_EFULL, FIN_EIO, ...) with its
 * reason in err. */
fin_err_t import_commit(import_t *self, outbox_t *outbox, bool dry_run, import_stats_t *stats, char *err,
                        size_t errlen);

/* Names of up to 8 distinct dropped fields, comma separated (for the
 * report; field names only, never values). */
const char *import_dropped_names(const import_t *self);

/* What an import command writes where, shared by JSONL and CSV imports.
 *
 * Errors of a whole-file import (jsonl_import_file, csvimport_file,
 * import_finish): the file's own faults are its report, a line per row
 * (or per header, encoding or syntax fault) on `errors`, and the function
 * returns FIN_EINPUT with err empty. A failure that stopped the import
 * for another reason (the file cannot be opened or read, memory, the
 * outbox) returns its code with "LABEL: reason" in err, which the caller
 * shows (finsam-agent: err). So a caller prints err when it is not empty,
 * and branches on the code: FIN_OK, FIN_EINPUT (the file's fault: fix it),
 * FIN_ENOTFOUND (cannot open it), anything else (ours: retry later). */
typedef struct {
    const catalogue_t *cat; /* all borrowed */
    const anon_t *anon;
    const char *forbund;
    outbox_t *outbox;
    bool dry_run;   /* validate and decide, store nothing */
    FILE *report;   /* the summary lines */
    FILE *errors;   /* one line per rejected row */
    int max_errors; /* rejected rows listed before "... and N more" (0: 20) */
    bool progress;  /* draw a progress bar on stderr (callers pass isatty(2)) */
    /* The declared insats codes (NULL: none, so rows with an insats are
     * refused). */
    const insatser_t *insatser;
    /* How errors and the summary name the file. NULL: the path as given,
     * which only `import FILE` uses (the user typed it, on their terminal).
     * The spool passes its file number: a file's name may hold a
     * personnummer or a name, and reports are kept. */
    const char *label;
    long spool_no;      /* > 0: the spool's number for the file, for log lines */
    report_lang_t lang; /* the summary's words (0: Swedish); key=value stays */
} import_opts_t;

/* A file refused as a whole (a table reader's: an empty file or sheet, or
 * a reason it already printed): empty names what was empty ("file",
 * "sheet") for the message to o->errors, or is NULL. Says "not imported:
 * nothing stored" in the report and logs IMPORT-DONE under ref (the file's
 * hashed name). Returns FIN_EINPUT. */
fin_err_t import_refuse_file(const import_opts_t *o, const char *label, const char *ref, size_t rows,
                             const char *empty);

/* What log lines say about a file instead of its name or path, which may
 * hold a personnummer or a name: "name_hash=H" (8 hex digits of a keyed
 * BLAKE2b of the base name under the site key: the same name gives the
 * same H at this site, and nobody without the key can test a guess),
 * preceded by "spool_no=N " when o->spool_no > 0. Writes into out. */
void import_log_ref(const import_opts_t *o, const char *path, char *out, size_t outlen);

/* The end of an import: if no row was rejected, commits the pending events
 * (import_commit), then prints the summary for `path` (named as o->label
 * says) to o->report and logs IMPORT-DONE (with import_log_ref).
 * `dropped_names` (NULL: the JSONL field names import_row saw) lists
 * dropped fields or columns for the summary. Returns FIN_OK, FIN_EINPUT
 * (rows rejected: nothing stored) or the outbox's code (nothing stored;
 * reason in err). */
fin_err_t import_finish(import_t *self, const char *path, import_stats_t *st, const char *dropped_names,
                        const import_opts_t *o, char *err, size_t errlen);

#endif
