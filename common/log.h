/* log.h: one line per event, level and component first.
 *
 *   2026-11-23T17:40:01.123Z INFO  ingest BATCH-STORED agent=... events=100
 *
 * Use log_info("ingest", "BATCH-STORED ...") etc. (lower case: syslog.h,
 * pulled in by CZMQ, owns the LOG_INFO names).
 *
 * Lines go to stderr (systemd's journal picks them up). The level is checked
 * before formatting, so a disabled DEBUG costs one comparison. Never pass
 * keys, pseudonyms or raw import rows to these macros. */
#ifndef FINSAM_LOG_H
#define FINSAM_LOG_H

typedef enum { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR } log_level_t;

extern log_level_t log_threshold;

/* Sets the threshold from "debug", "info", "warn" or "error"; -1 if unknown. */
int log_set_level(const char *name);

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
