/* log.c: the one place that formats log lines (see log.h). A line is built
 * in a stack buffer and written with a single write(2), so lines from
 * threads and processes sharing stderr never interleave.
 *
 * Whether stderr is the journal is decided once, at the first line: the
 * JOURNAL_STREAM check needs an fstat, and a daemon's stderr does not
 * change under it. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

log_level_t log_threshold = LOG_LEVEL_INFO;

static const char *const s_level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
/* sd-daemon(3) priorities: LOG_DEBUG, LOG_INFO, LOG_WARNING, LOG_ERR. */
static const char *const s_journal_prefix[] = {"<7>", "<6>", "<4>", "<3>"};

static pthread_once_t s_journal_once = PTHREAD_ONCE_INIT;
static bool s_journal;

/* systemd sets JOURNAL_STREAM=DEV:INO for a service whose stderr is a
 * stream to journald; the variable is inherited by children whose stderr
 * may be something else, so it counts only if stderr is that very stream
 * (sd_journal_stream_fd(3), "JOURNAL_STREAM" in systemd.exec(5)). */
static void s_journal_detect(void)
{
    const char *v = getenv("JOURNAL_STREAM");
    unsigned long long dev, ino;
    char end;
    struct stat st;
    s_journal = v && sscanf(v, "%llu:%llu%c", &dev, &ino, &end) == 2 && fstat(STDERR_FILENO, &st) == 0 &&
                (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

bool log_is_journal(void)
{
    pthread_once(&s_journal_once, s_journal_detect);
    return s_journal;
}

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
    int n;
    if (log_is_journal()) {
        /* The journal stamps the time itself and reads the priority from
         * the prefix (journalctl -p warning). */
        n = snprintf(line, sizeof line, "%s%-5s %s ", s_journal_prefix[level], s_level_names[level],
                     component);
    } else {
        struct timeval tv;
        struct tm tm;
        gettimeofday(&tv, NULL);
        gmtime_r(&tv.tv_sec, &tm);
        n = snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ %-5s %s ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int) (tv.tv_usec / 1000),
                     s_level_names[level], component);
    }
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
