/* report_text.h: the words staff read, in Swedish (the default) or
 * English (--lang en): status, and the import report's headings.
 *
 * One table of message ids with both languages side by side, so a
 * translation cannot go missing for one language only. The machine
 * lines (key=value) that scripts and tests read are not here: they stay
 * English and unchanged whatever the language. */
#ifndef FINSAM_REPORT_TEXT_H
#define FINSAM_REPORT_TEXT_H

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
    RT_SINCE,
    RT_LAST_ACK,
    RT_NEVER,
    RT_DELIVERED_TODAY,
    RT_QUEUED,
    RT_OLDEST_QUEUED,
    RT_REJECTED,
    RT_ADVICE,
    RT_N
} report_msg_t;

/* "sv" or "en" (NULL: sv). Returns 0, or -1 for anything else. */
int report_lang_parse(const char *name, report_lang_t *out);

/* The text of m in lang; never NULL, static storage. */
const char *report_text(report_lang_t lang, report_msg_t m);

#endif
