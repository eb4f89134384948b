/* log.c: the one place that formats log lines (see log.h). A line is built
 * in a stack buffer and written with a single write(2), so lines from
 * threads and processes sharing stderr never interleave. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

log_level_t log_threshold = LOG_LEVEL_INFO;

static const char *const s_level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

int log_set_level(const char *name)
{
    for (int i = 0; i < 4; i++)
        if (strcasecmp(name, s_level_names[i]) == 0) {
            log_threshold = (log_level_t) i;
            return 0;
        }
    return -1;
}

void log_write(log_level_t level, const char *component, const char *fmt, ...)
{
    char line[1024];
    struct timeval tv;
    struct tm tm;
    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    int n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %-5s %s ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int) (tv.tv_usec / 1000),
                     s_level_names[level], component);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t) n - 1, fmt, ap);
    va_end(ap);
    size_t len = (size_t) n + (m < 0 ? 0 : (size_t) m);
    if (len > sizeof line - 2)
        len = sizeof line - 2;
    /* Keep it one line whatever the message held. */
    for (size_t i = (size_t) n; i < len; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[len++] = '\n';
    ssize_t w = write(STDERR_FILENO, line, len);
    (void) w;
}
