/* spool.c: the drop directory (see spool.h).
 *
 * The design decision: the file is moved only after the import's outcome
 * is known and the outbox transaction has committed (or the file was
 * refused), and the report is written last, by rename, so a report beside
 * a file means that file is finished. A crash before the move leaves the
 * file in DIR; importing it again at the next start adds nothing (event ids
 * are deterministic), so there is no state to recover.
 *
 * Deliberately not done: watching subdirectories, or importing files that
 * are still open for writing (inotify's IN_CLOSE_WRITE is the signal). */
#include "spool.h"

#include "csvimport.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#define S_RETRY_MS 30000
#define S_MAX_ERRORS 1000 /* in a report file, unlike a terminal, more is better */

struct spool_t {
    char *dir;
    mapping_t *map;
    import_opts_t base;
    int fd;           /* inotify */
    int64_t retry_at; /* monotonic ms, 0: nothing to retry */
};

int spool_new(spool_t **out, const char *dir, mapping_t *map, const import_opts_t *base, char *err,
              size_t errlen)
{
    *out = NULL;
    char sub[4096];
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: not a directory", dir);
        return -1;
    }
    const char *subs[] = {"done", "rejected"};
    for (int i = 0; i < 2; i++) {
        snprintf(sub, sizeof sub, "%s/%s", dir, subs[i]);
        if (mkdir_p(sub, 0750) < 0) {
            snprintf(err, errlen, "%s: %s", sub, strerror(errno));
            return -1;
        }
    }
    spool_t *self = calloc(1, sizeof *self);
    if (!self || !(self->dir = strdup(dir))) {
        free(self);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    self->map = map;
    self->base = *base;
    self->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (self->fd < 0 || inotify_add_watch(self->fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
        snprintf(err, errlen, "%s: inotify: %s", dir, strerror(errno));
        goto fail;
    }
    log_info("spool", "SPOOL-WATCHING dir=%s mapping=%s", dir, map ? "yes" : "no");
    *out = self;
    return 0;
fail:
    if (self->fd >= 0)
        close(self->fd);
    free(self->dir);
    free(self);
    return -1;
}

void spool_destroy(spool_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    spool_t *self = *self_p;
    close(self->fd);
    free(self->dir);
    free(self);
    *self_p = NULL;
}

int spool_fd(const spool_t *self)
{
    return self->fd;
}

static bool s_ignored(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || name[0] == '.' || name[n - 1] == '~')
        return true;
    const char *dot = strrchr(name, '.');
    return dot && (!strcmp(dot, ".tmp") || !strcmp(dot, ".part"));
}

/* Moves dir/name to dir/sub/name, or name.1, name.2, ... if taken. Writes
 * the final path into out. */
static int s_move(const spool_t *self, const char *name, const char *sub, char *out, size_t outlen)
{
    char from[4096];
    snprintf(from, sizeof from, "%s/%s", self->dir, name);
    for (int i = 0; i < 1000; i++) {
        if (i == 0)
            snprintf(out, outlen, "%s/%s/%s", self->dir, sub, name);
        else
            snprintf(out, outlen, "%s/%s/%s.%d", self->dir, sub, name, i);
        if (access(out, F_OK) == 0)
            continue;
        return rename(from, out);
    }
    errno = EEXIST;
    return -1;
}

/* Writes text to path + ".report.txt" through a temporary name. */
static int s_write_report(const char *path, const char *text, size_t len)
{
    char tmp[4400], final[4400];
    const char *slash = strrchr(path, '/');
    snprintf(tmp, sizeof tmp, "%.*s/.%s.report.tmp", (int) (slash - path), path, slash + 1);
    snprintf(final, sizeof final, "%s.report.txt", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    bool ok = fwrite(text, 1, len, f) == len;
    ok &= fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok &= fclose(f) == 0;
    if (!ok || rename(tmp, final) < 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

int spool_process(spool_t *self, const char *name)
{
    char path[4096];
    struct stat st;
    if (s_ignored(name))
        return -1;
    snprintf(path, sizeof path, "%s/%s", self->dir, name);
    if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
        return -1;

    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem) {
        log_error("spool", "SPOOL-RETRY file=%s reason=\"out of memory\"", name);
        self->retry_at = clock_mono_ms() + S_RETRY_MS;
        return EX_IOERR;
    }
    time_t now = time(NULL);
    struct tm tm;
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
    fprintf(mem, "finsam-agent import report\nfile: %s\nimported: %s\n\n", name, when);

    import_opts_t o = self->base;
    o.dry_run = false;
    o.report = mem;
    o.errors = mem;
    o.max_errors = S_MAX_ERRORS;
    o.progress = false;
    int rc;
    if (csvimport_is_csv(name) && !self->map) {
        fprintf(mem, "%s: a CSV file needs a mapping: start the agent with --mapping MAP.ini\n", name);
        rc = EX_CONFIG;
    } else if (csvimport_is_csv(name)) {
        rc = csvimport_file(path, self->map, &o);
    } else {
        rc = import_file(path, &o);
    }
    fclose(mem);

    /* Sorted by the action needed: a vanished file is nobody's problem;
     * our own failures (disk, outbox) leave the file for a retry; anything
     * else is the file's fault (or a missing mapping) and goes to rejected/. */
    char moved[4200];
    const char *outcome;
    switch (rc) {
    case EX_NOINPUT: free(text); return rc;
    case EX_IOERR:
    case EX_SOFTWARE:
        log_error("spool", "SPOOL-RETRY file=%s code=%d retry_in_ms=%d", name, rc, S_RETRY_MS);
        self->retry_at = clock_mono_ms() + S_RETRY_MS;
        free(text);
        return rc;
    case 0: outcome = "done"; break;
    default: outcome = "rejected"; break;
    }
    if (s_move(self, name, outcome, moved, sizeof moved) < 0) {
        log_error("spool", "SPOOL-MOVE-FAILED file=%s to=%s reason=\"%s\"", name, outcome, strerror(errno));
        self->retry_at = clock_mono_ms() + S_RETRY_MS;
        free(text);
        return EX_IOERR;
    }
    if (s_write_report(moved, text, len) < 0)
        log_error("spool", "SPOOL-REPORT-FAILED file=%s reason=\"%s\"", moved, strerror(errno));
    log_info("spool", "SPOOL-%s file=%s code=%d", rc == 0 ? "DONE" : "REJECTED", name, rc);
    free(text);
    return rc;
}

static int s_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *) a, *(char *const *) b);
}

void spool_scan(spool_t *self)
{
    DIR *d = opendir(self->dir);
    if (!d) {
        log_error("spool", "SPOOL-SCAN-FAILED dir=%s reason=\"%s\"", self->dir, strerror(errno));
        return;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (s_ignored(e->d_name))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **nn = realloc(names, cap * sizeof *nn);
            if (!nn)
                break;
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name)))
            break;
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, s_cmp);
    self->retry_at = 0;
    for (size_t i = 0; i < n; i++) {
        spool_process(self, names[i]); /* directories (done/, rejected/) are skipped there */
        free(names[i]);
    }
    free(names);
}

void spool_on_readable(void *arg)
{
    spool_t *self = arg;
    /* inotify_event is variable-length: read into an aligned buffer. */
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t len = read(self->fd, buf, sizeof buf);
        if (len <= 0)
            return; /* EAGAIN: drained */
        for (char *p = buf; p < buf + len;) {
            const struct inotify_event *ev = (const struct inotify_event *) p;
            if (ev->mask & IN_Q_OVERFLOW)
                spool_scan(self);
            else if (ev->len && (ev->mask & (IN_CLOSE_WRITE | IN_MOVED_TO)))
                spool_process(self, ev->name);
            p += sizeof *ev + ev->len;
        }
    }
}

void spool_on_tick(void *arg)
{
    spool_t *self = arg;
    if (self->retry_at && clock_mono_ms() >= self->retry_at)
        spool_scan(self);
}

int spool_count(const char *dir, size_t *waiting, size_t *rejected)
{
    const char *subs[] = {"", "/rejected"};
    size_t *counts[] = {waiting, rejected};
    for (int i = 0; i < 2; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s%s", dir, subs[i]);
        *counts[i] = 0;
        DIR *d = opendir(path);
        if (!d) {
            if (i == 1 && errno == ENOENT)
                continue;
            return -1;
        }
        struct dirent *e;
        while ((e = readdir(d))) {
            size_t n = strlen(e->d_name);
            struct stat st;
            char f[8192];
            snprintf(f, sizeof f, "%s/%s", path, e->d_name);
            if (s_ignored(e->d_name) || (n > 11 && !strcmp(e->d_name + n - 11, ".report.txt")) ||
                stat(f, &st) < 0 || !S_ISREG(st.st_mode))
                continue;
            (*counts[i])++;
        }
        closedir(d);
    }
    return 0;
}
