/* log.h: one line per event, level and component first.
 *
 *   2026-11-23T17:40:01.123Z INFO  ingest BATCH-STORED agent=... events=100
 *
 * Use log_info("ingest", "BATCH-STORED ...") etc. (lower case: syslog.h,
 * pulled in by CZMQ, owns the LOG_INFO names).
 *
 * Lines go to stderr. Under systemd, when stderr is the journal
 * (JOURNAL_STREAM names it), a line starts with its sd-daemon(3) priority
 * instead of a time, which the journal adds itself:
 *
 *   <6>INFO  ingest BATCH-STORED agent=... events=100
 *
 * (<3> ERROR, <4> WARN, <6> INFO, <7> DEBUG), so `journalctl -p warning`
 * selects WARN and ERROR. The level is checked before formatting, so a
 * disabled DEBUG costs one comparison. Never pass keys, pseudonyms or raw
 * import rows to these macros. */
#ifndef FINSAM_LOG_H
#define FINSAM_LOG_H

#include <stdbool.h>

typedef enum { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR } log_level_t;

extern log_level_t log_threshold;

/* Sets the threshold from "debug", "info", "warn" or "error"; -1 if unknown. */
int log_set_level(const char *name);

/* Whether lines get the journal's form: JOURNAL_STREAM is set and names
 * the file stderr is (its st_dev:st_ino). Decided at the first call, or
 * the first line, whichever comes first; fixed for the process after. */
bool log_is_journal(void);

void log_write(log_level_t level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define LOG_AT(lvl, comp, ...)                                                                               \
    do {                                                                                                     \
        if ((lvl) >= log_threshold)                                                                          \
            log_write((lvl), (comp), __VA_ARGS__);                                                           \
    } while (0)
#define log_debug(comp, ...) LOG_AT(LOG_LEVEL_DEBUG, comp, __VA_ARGS__)
#define log_info(comp, ...) LOG_AT(LOG_LEVEL_INFO, comp, __VA_ARGS__)
#define log_warn(comp, ...) LOG_AT(LOG_LEVEL_WARN, comp, __VA_ARGS__)
#define log_error(comp, ...) LOG_AT(LOG_LEVEL_ERROR, comp, __VA_ARGS__)

#endif
