/* report_text.h: the words staff read, in Swedish (the default) or
 * English (--lang en): status, and the import report's headings.
 *
 * One table of message ids with both languages side by side, so a
 * translation cannot go missing for one language only. The machine
 * lines (key=value) that scripts and tests read are not here: they stay
 * English and unchanged whatever the language. */
#ifndef FINSAM_REPORT_TEXT_H
#define FINSAM_REPORT_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef enum { REPORT_SV, REPORT_EN } report_lang_t;

typedef enum {
    RT_CONNECTION,
    RT_CONNECTING,
    RT_CONNECTED,
    RT_REFUSED,
    RT_KEY_MISMATCH,
    RT_UNREACHABLE,
    RT_ADVICE_REFUSED,
    RT_ADVICE_KEY_MISMATCH,
    RT_ADVICE_UNREACHABLE,
    RT_NOT_RUNNING,
    RT_STOPPED,
    RT_SINCE,
    RT_LAST_ACK,
    RT_NEVER,
    RT_DELIVERED_TODAY,
    RT_QUEUED,
    RT_OLDEST_QUEUED,
    RT_REJECTED,
    RT_ADVICE,
    /* A wrong file for the collector's public key (check-config, run):
     * printf formats taking the file (and for AGENT the förbund). */
    RT_SERVER_KEY_SECRET,
    RT_SERVER_KEY_OWN,
    RT_SERVER_KEY_AGENT,
    /* status when the agent is not running: "not connected", then how it
     * was (LAST_CONNECTED with a time, LAST_STATE with a state). */
    RT_NOT_CONNECTED,
    RT_LAST_CONNECTED,
    RT_LAST_STATE,
    /* status with a spool: files waiting, files not imported, the report. */
    RT_SPOOL_WAITING,
    RT_SPOOL_REJECTED,
    RT_SPOOL_SEE,
    /* keygen: printf formats taking the file. */
    RT_KEYGEN_CERT,
    RT_KEYGEN_SECRET,
    RT_KEYGEN_PSEUDONYM_NEW,
    RT_KEYGEN_PSEUDONYM_KEPT,
    RT_N
} report_msg_t;

/* "sv" or "en" (NULL: sv). Returns 0, or -1 for anything else. */
int report_lang_parse(const char *name, report_lang_t *out);

/* The text of m in lang; never NULL, static storage. */
const char *report_text(report_lang_t lang, report_msg_t m);

/* What one import did, for report_import_summary. */
typedef struct {
    size_t rows, imported, already, corrected, rejected, dropped;
    const char *dropped_names; /* comma-separated, may be "" */
    bool dry_run, failed;      /* failed: the outbox refused (nothing stored) */
    size_t withdrawn;          /* imported before, withdrawn since: not sent again */
} report_import_t;

/* The import summary for staff, a few lines in lang, to f (the key=value
 * line that scripts read is the caller's, printed after it). */
void report_import_summary(FILE *f, report_lang_t lang, const char *label, const report_import_t *r);

/* Whether a column or field name may be named in a report's list of
 * dropped columns: 1 to max bytes of letters (ASCII, and the Latin letters
 * of UTF-8 such as å, ä, ö, é, ü: U+00C0-U+017F but × and ÷), digits, '_',
 * '-' and single spaces between words ("Övriga kommentarer", but not
 * when every word starts with a capital, as "Anna Andersson" does).
 * Anything else (commas, a cell that happens to be a value) is only
 * counted, never shown. */
bool report_name_is_listable(const char *s, size_t max);

/* A rejected row's reason (given in English by the checks) in lang, into
 * out: its fixed phrases in Swedish, what it quotes and the codes and
 * mapping syntax it names unchanged. Returns out. */
const char *report_reason(report_lang_t lang, const char *why, char *out, size_t len);

/* Prints a list of column names kept as "A,B,#12" for people: "A, B,
 * kolumn 12" (a column not listed by name is "#N"). */
void report_names_print(FILE *f, report_lang_t lang, const char *names);

#endif
