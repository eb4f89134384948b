/* spool.c: the drop directory (see spool.h).
 *
 * The design decision: the report is written first (by rename, so a report
 * means the outcome is final), then the source file is deleted or moved to
 * done/ or rejected/ under its number. A crash before the report leaves
 * the file in DIR; importing it again at the next start adds nothing
 * (event ids are deterministic), so there is no state to recover. Spool
 * numbers are not stored anywhere either: the next is one more than the
 * highest in reports/, done/ and rejected/.
 *
 * What may hold personal data, and for how long: the source file (its
 * content and its name) until the retention for done/ or rejected/ is
 * over. Reports and log lines are kept longer, so they name a file only by
 * its number and a keyed hash of its name, and import errors never repeat
 * a value (import.c, mapping.c).
 *
 * A little over 600 lines because the [spool] rules (which mapping a file
 * name takes) are read and matched here too: they exist only for the
 * spool, and choosing a mapping is the first step of processing a file.
 *
 * Deliberately not done: watching subdirectories, importing files that are
 * still open for writing (inotify's IN_CLOSE_WRITE is the signal), and
 * overwriting deleted files (on journalling and flash file systems that
 * gives no guarantee; docs/operations-agent.md recommends an encrypted
 * disk). */
#include "spool.h"

#include "report_text.h"

#include "csvimport.h"
#include "jsonl.h"
#include "sheet.h"
#include "log.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define S_RETRY_MS 30000
#define S_PURGE_MS (3600 * 1000) /* purge hourly while running */
#define S_MAX_ERRORS 1000        /* in a report file, unlike a terminal, more is better */
#define S_KEPT_NAME_MAX 200      /* bytes of the original name kept after "NNNNNN-" */

struct spool_t {
    char *dir;
    mapping_t *map;             /* --mapping: the default */
    const spool_rules_t *rules; /* [spool] rules, or NULL */
    import_opts_t base;
    spool_retention_t keep;
    int fd;           /* inotify */
    int64_t retry_at; /* monotonic ms, 0: nothing to retry */
    int64_t purge_at; /* monotonic ms of the next hourly purge */
    long next_no;     /* spool number of the next finished file */
};

static const char *const s_subs[] = {"reports", "done", "rejected"};

/* The number a kept file or report starts with ("000012-..."), or 0. */
static long s_number_of(const char *name)
{
    char *end;
    if (name[0] < '0' || name[0] > '9')
        return 0;
    long n = strtol(name, &end, 10);
    return *end == '-' && n > 0 && n < LONG_MAX ? n : 0;
}

static long s_highest_number(const char *dir)
{
    long high = 0;
    for (int i = 0; i < 3; i++) {
        char sub[4096];
        snprintf(sub, sizeof sub, "%s/%s", dir, s_subs[i]);
        DIR *d = opendir(sub);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            long n = s_number_of(e->d_name);
            high = n > high ? n : high;
        }
        if (d)
            closedir(d);
    }
    return high;
}

fin_err_t spool_new(spool_t **out, const char *dir, mapping_t *map, const import_opts_t *base,
                    const spool_retention_t *keep, char *err, size_t errlen)
{
    *out = NULL;
    char sub[4096];
    struct stat st;
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return fin_fail(err, errlen, FIN_ECONFIG, "%s: not a directory", dir);
    for (int i = 0; i < 3; i++) {
        snprintf(sub, sizeof sub, "%s/%s", dir, s_subs[i]);
        if (mkdir_p(sub, 0750) < 0)
            return fin_fail(err, errlen, fin_from_errno(errno), "%s: %s", sub, strerror(errno));
    }
    spool_t *self = calloc(1, sizeof *self);
    if (!self || !(self->dir = strdup(dir))) {
        free(self);
        return fin_fail(err, errlen, FIN_ENOMEM, "out of memory");
    }
    self->map = map;
    self->base = *base;
    self->keep = *keep;
    self->next_no = s_highest_number(dir) + 1;
    self->purge_at = clock_mono_ms() + S_PURGE_MS;
    self->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    fin_err_t code;
    if (self->fd < 0 || inotify_add_watch(self->fd, dir, IN_CLOSE_WRITE | IN_MOVED_TO) < 0) {
        code = fin_fail(err, errlen, fin_from_errno(errno), "%s: inotify: %s", dir, strerror(errno));
        goto fail;
    }
    log_info("spool",
             "SPOOL-WATCHING dir=%s mapping=%s insats_codes=%zu retention_days=%ld "
             "rejected_retention_days=%ld next_no=%ld",
             dir, map ? "yes" : "no", insatser_count(base->insatser), keep->done_days, keep->rejected_days,
             self->next_no);
    *out = self;
    return FIN_OK;
fail:
    if (self->fd >= 0)
        close(self->fd);
    free(self->dir);
    free(self);
    return code;
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

/* Writes head and body to dir/reports/NNNNNN-OUTCOME.txt through a
 * temporary name, so a report that exists is complete. */
static int s_write_report(const spool_t *self, long no, const char *outcome, const char *head, size_t headlen,
                          const char *body, size_t bodylen)
{
    char tmp[4200], final[4200];
    snprintf(tmp, sizeof tmp, "%s/reports/.%06ld.tmp", self->dir, no);
    snprintf(final, sizeof final, "%s/reports/%06ld-%s.txt", self->dir, no, outcome);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return -1;
    bool ok = fwrite(head, 1, headlen, f) == headlen && fwrite(body, 1, bodylen, f) == bodylen;
    ok &= fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok &= fclose(f) == 0;
    if (!ok || rename(tmp, final) < 0) {
        int saved = errno;
        unlink(tmp);
        errno = saved;
        return -1;
    }
    return 0;
}

/* Deletes dir/name (days == 0) or moves it to dir/sub/NNNNNN-name and sets
 * its time to now, from which its retention counts. */
static int s_dispose(const spool_t *self, const char *name, long no, const char *sub, long days)
{
    char from[4096], to[4400];
    snprintf(from, sizeof from, "%s/%s", self->dir, name);
    if (days == 0)
        return unlink(from);
    snprintf(to, sizeof to, "%s/%s/%06ld-%.*s", self->dir, sub, no, S_KEPT_NAME_MAX, name);
    if (rename(from, to) < 0)
        return -1;
    utimensat(AT_FDCWD, to, NULL, 0); /* now; at worst the file is kept a little shorter */
    return 0;
}

fin_err_t spool_process(spool_t *self, const char *name)
{
    char path[4096], label[32], ref[64], err[1024] = "";
    struct stat st;
    if (s_ignored(name))
        return FIN_ENOTFOUND;
    snprintf(path, sizeof path, "%s/%s", self->dir, name);
    if (lstat(path, &st) < 0 || !S_ISREG(st.st_mode))
        return FIN_ENOTFOUND;

    /* Every attempt gets its own number, so log lines never mix two files;
     * a number without a report is an attempt that is retried later. */
    long no = self->next_no++;
    snprintf(label, sizeof label, "%06ld", no);
    import_opts_t o = self->base;
    o.dry_run = false;
    o.max_errors = S_MAX_ERRORS;
    o.progress = false;
    o.label = label;
    o.spool_no = no;
    import_log_ref(&o, name, ref, sizeof ref);

    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    if (!mem) {
        log_error("spool", "SPOOL-RETRY %s reason=\"out of memory\"", ref);
        self->retry_at = clock_mono_ms() + S_RETRY_MS;
        return FIN_ENOMEM;
    }
    o.report = mem;
    o.errors = mem;
    fin_err_t rc;
    /* The first rule that matches chooses the mapping; --mapping is the
     * default for the rest. A workbook (.xlsx, .ods) takes a mapping as a
     * CSV file does. */
    mapping_t *map = self->rules ? spool_rules_match(self->rules, name) : NULL;
    const char *dot = strrchr(name, '.');
    bool sheet = sheet_is_sheet(name);
    bool csv = csvimport_is_csv(name) || sheet || (map && !(dot && !strcmp(dot, ".jsonl")));
    if (!map)
        map = self->map;
    bool reloaded = false;
    char why[600] = "", text_why[1600];
    if (csv && map && mapping_follow(map, &reloaded, why, sizeof why) != FIN_OK) {
        /* Staff saved a mapping that does not load: say so, use none. */
        fprintf(mem,
                o.lang == REPORT_EN
                    ? "%s: the mapping was changed and no longer loads: %s; correct it and "
                      "drop the file again\n"
                    : "%s: mappningen har ändrats och går inte att läsa: %s; rätta den och lägg "
                      "in filen igen\n",
                label, report_reason(o.lang, why, text_why, sizeof text_why));
        log_warn("spool", "MAPPING-INVALID %s", ref);
        rc = FIN_ECONFIG;
    } else if (csv && !map && self->rules && spool_rules_count(self->rules)) {
        char rules[1024];
        spool_rules_describe(self->rules, rules, sizeof rules);
        fprintf(mem,
                "%s: the file's name matches no [spool] rule (%s) and the agent has no --mapping for "
                "other files: rename the file to match a rule, or add a rule for it\n",
                label, rules);
        rc = FIN_ECONFIG;
    } else if (csv && !map) {
        fprintf(mem, "%s: a %s file needs a mapping: start the agent with --mapping MAP.ini\n", label,
                sheet ? "workbook" : "CSV");
        rc = FIN_ECONFIG;
    } else if (sheet) {
        if (reloaded)
            log_info("spool", "MAPPING-RELOADED %s", ref);
        rc = sheet_import_file(path, map, &o, err, sizeof err);
    } else if (csv) {
        if (reloaded)
            log_info("spool", "MAPPING-RELOADED %s", ref);
        rc = csvimport_file(path, map, &o, err, sizeof err);
    } else {
        rc = jsonl_import_file(path, &o, err, sizeof err);
    }

    /* Sorted by the action needed: a vanished file is nobody's problem;
     * our own failures (disk, outbox) leave the file for a retry; anything
     * else is the file's fault (or a missing mapping): rejected. */
    const char *outcome;
    long days;
    switch (rc) {
    case FIN_ENOTFOUND: /* vanished (or unreadable) before it was opened */
        fclose(mem);
        free(text);
        return rc;
    case FIN_OK:
        outcome = "done";
        days = self->keep.done_days;
        break;
    case FIN_EINPUT:  /* the file's fault */
    case FIN_ECONFIG: /* a CSV file, and no mapping */
        outcome = "rejected";
        days = self->keep.rejected_days;
        break;
    default: /* ours: disk, memory, outbox; the file stays for a retry */
        fclose(mem);
        log_error("spool", "SPOOL-RETRY %s reason=\"%s\" retry_in_ms=%d", ref,
                  err[0] ? err : fin_strerror(rc), S_RETRY_MS);
        self->retry_at = clock_mono_ms() + S_RETRY_MS;
        free(text);
        return rc;
    }
    if (err[0]) /* a reason the report does not hold yet (a file too large) */
        fprintf(mem, "finsam-agent: %s\n", err);
    fclose(mem);

    /* The head of the report: what staff need to find their file, but not
     * its name. */
    char head[1024], received[32], changed[32], until[32];
    time_t now = time(NULL), purge = now + (time_t) days * 86400;
    struct tm tm;
    strftime(received, sizeof received, "%Y-%m-%d %H:%M:%S", localtime_r(&now, &tm));
    strftime(changed, sizeof changed, "%Y-%m-%d %H:%M:%S", localtime_r(&st.st_mtime, &tm));
    strftime(until, sizeof until, "%Y-%m-%d", localtime_r(&purge, &tm));
    /* Staff read it: in the report's language (Swedish unless --lang en);
     * the option names and directory names stay as they are spelled. */
    bool en = self->base.lang == REPORT_EN;
    char kept[256];
    if (days == 0)
        snprintf(kept, sizeof kept,
                 en ? "deleted after this report (%sretention-days = 0)"
                    : "raderad efter den här rapporten (%sretention-days = 0)",
                 rc == 0 ? "spool-" : "spool-rejected-");
    else
        snprintf(kept, sizeof kept,
                 en ? "%s/%s-* until %s (%sretention-days = %ld), then deleted"
                    : "%s/%s-* till och med %s (%sretention-days = %ld), sedan raderad",
                 outcome, label, until, rc == 0 ? "spool-" : "spool-rejected-", days);
    /* FIN_ECONFIG: the mapping (or its absence) is at fault, not the export. */
    const char *result =
        rc == 0 ? (en ? "imported" : "inläst")
        : rc == FIN_ECONFIG
            ? (en ? "not imported, nothing stored: correct the mapping (see below) and drop the file "
                    "again"
                  : "inte inläst, inget sparades: rätta mappningen (se nedan) och lägg in filen igen")
            : (en ? "not imported, nothing stored: fix the export and drop it again"
                  : "inte inläst, inget sparades: rätta exporten och lägg in den igen");
    int hlen = snprintf(head, sizeof head,
                        en ? "finsam-agent import report\n"
                             "file number: %s (lines below start with it; the file's name is not repeated "
                             "here, it may hold a personnummer or a name)\n"
                             "file: %lld bytes, last changed %s\n"
                             "processed: %s\n"
                             "result: %s\n"
                             "source file: %s\n\n"
                           : "finsam-agent inläsningsrapport\n"
                             "filnummer: %s (raderna nedan börjar med det; filens namn upprepas inte här, "
                             "det kan innehålla ett personnummer eller ett namn)\n"
                             "fil: %lld byte, senast ändrad %s\n"
                             "behandlad: %s\n"
                             "resultat: %s\n"
                             "källfilen: %s\n\n",
                        label, (long long) st.st_size, changed, received, result, kept);
    if (s_write_report(self, no, outcome, head, (size_t) hlen, text, len) < 0) {
        log_error("spool", "SPOOL-REPORT-FAILED %s reason=\"%s\" retry_in_ms=%d", ref, strerror(errno),
                  S_RETRY_MS);
        self->retry_at = clock_mono_ms() + S_RETRY_MS;
        free(text);
        return FIN_EIO;
    }
    free(text);
    if (s_dispose(self, name, no, outcome, days) < 0) {
        log_error("spool", "SPOOL-MOVE-FAILED %s to=%s reason=\"%s\"", ref, days ? outcome : "deleted",
                  strerror(errno));
        self->retry_at = clock_mono_ms() + S_RETRY_MS;
        return FIN_EIO;
    }
    if (rc == FIN_OK)
        log_info("spool", "SPOOL-DONE %s source=%s", ref, days ? "kept" : "deleted");
    else
        log_info("spool", "SPOOL-REJECTED %s reason=\"%s\" source=%s", ref, fin_strerror(rc),
                 days ? "kept" : "deleted");
    spool_purge(self);
    return rc;
}

/* Deletes the regular files in dir/sub older than days (all for 0). */
static void s_purge_dir(const spool_t *self, const char *sub, long days, time_t now)
{
    char path[4096], f[4400];
    snprintf(path, sizeof path, "%s/%s", self->dir, sub);
    DIR *d = opendir(path);
    if (!d) {
        log_error("spool", "SPOOL-PURGE-FAILED dir=%s reason=\"%s\"", sub, strerror(errno));
        return;
    }
    size_t purged = 0, failed = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        struct stat st;
        snprintf(f, sizeof f, "%s/%s", path, e->d_name);
        if (lstat(f, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        if (days > 0 && st.st_mtime > now - (time_t) days * 86400)
            continue;
        if (unlink(f) == 0)
            purged++;
        else
            failed++;
    }
    closedir(d);
    if (purged || failed)
        log_info("spool", "SPOOL-PURGED dir=%s files=%zu failed=%zu retention_days=%ld", sub, purged, failed,
                 days);
}

void spool_purge(spool_t *self)
{
    time_t now = time(NULL);
    s_purge_dir(self, "done", self->keep.done_days, now);
    s_purge_dir(self, "rejected", self->keep.rejected_days, now);
    self->purge_at = clock_mono_ms() + S_PURGE_MS;
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
        spool_process(self, names[i]); /* directories (reports/, done/, rejected/) are skipped there */
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
    int64_t now = clock_mono_ms();
    if (self->retry_at && now >= self->retry_at)
        spool_scan(self);
    if (now >= self->purge_at)
        spool_purge(self);
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

/* ---- [spool] rules ------------------------------------------------------ */

typedef struct {
    char *glob, *path;
    mapping_t *map;
} s_rule_t;

struct spool_rules_t {
    s_rule_t *rules;
    size_t n;
    const catalogue_t *cat;
    char msg[1024]; /* the first error while loading */
};

static char *s_trimmed(const char *p, size_t len)
{
    while (len && (*p == ' ' || *p == '\t'))
        p++, len--;
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
        len--;
    return strndup(p, len);
}

/* inih: one `rule = GLOB -> MAPPING` line; other sections are not ours. */
static int s_rule_line(void *user, const char *section, const char *name, const char *value, int line)
{
    spool_rules_t *self = user;
    /* The other keys of [spool] are options (options.c reads them). */
    if (strcmp(section, "spool") || strcmp(name, "rule") || self->msg[0])
        return 1;
    const char *arrow = strstr(value, "->");
    s_rule_t r = {0};
    if (!arrow || !(r.glob = s_trimmed(value, (size_t) (arrow - value))) ||
        !(r.path = s_trimmed(arrow + 2, strlen(arrow + 2))) || !r.glob[0] || !r.path[0]) {
        snprintf(self->msg, sizeof self->msg,
                 "%d: a [spool] rule reads \"rule = FILE-PATTERN -> MAPPING.ini\" (e.g. enkat-*.csv -> "
                 "/etc/finsam/enkat.ini)",
                 line);
        goto fail;
    }
    char why[900];
    fin_err_t rc = mapping_load(&r.map, r.path, self->cat, why, sizeof why);
    if (rc) {
        snprintf(self->msg, sizeof self->msg, "%d: rule %s: %s", line, r.glob, why);
        goto fail;
    }
    s_rule_t *grown = realloc(self->rules, (self->n + 1) * sizeof *grown);
    if (!grown) {
        snprintf(self->msg, sizeof self->msg, "%d: out of memory", line);
        mapping_destroy(&r.map);
        goto fail;
    }
    self->rules = grown;
    self->rules[self->n++] = r;
    return 1;
fail:
    free(r.glob);
    free(r.path);
    return 1;
}

/* inih without line numbers in the handler: count them here. */
typedef struct {
    spool_rules_t *rules;
    FILE *f;
    int line;
} s_rules_read_t;

static char *s_rules_reader(char *str, int num, void *stream)
{
    s_rules_read_t *r = stream;
    char *got = fgets(str, num, r->f);
    if (got)
        r->line++;
    return got;
}

static int s_rules_handler(void *user, const char *section, const char *name, const char *value)
{
    s_rules_read_t *r = user;
    return s_rule_line(r->rules, section, name, value, r->line);
}

fin_err_t spool_rules_load(spool_rules_t **out, const char *config_path, const catalogue_t *cat, char *err,
                           size_t errlen)
{
    *out = NULL;
    spool_rules_t *self = calloc(1, sizeof *self);
    if (!self)
        return fin_fail(err, errlen, FIN_ENOMEM, "out of memory");
    self->cat = cat;
    if (!config_path) {
        *out = self;
        return FIN_OK;
    }
    FILE *f = fopen(config_path, "r");
    if (!f) {
        fin_err_t code = fin_fail(err, errlen, fin_from_errno(errno), "%s: %s", config_path, strerror(errno));
        free(self);
        return code;
    }
    s_rules_read_t rd = {self, f, 0};
    ini_parse_stream(s_rules_reader, &rd, s_rules_handler, &rd);
    fclose(f);
    if (self->msg[0]) {
        fin_err_t code = fin_fail(err, errlen, FIN_ECONFIG, "%s:%s", config_path, self->msg);
        spool_rules_destroy(&self);
        return code;
    }
    *out = self;
    return FIN_OK;
}

void spool_rules_destroy(spool_rules_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    spool_rules_t *self = *self_p;
    for (size_t i = self->n; i-- > 0;) {
        mapping_destroy(&self->rules[i].map);
        free(self->rules[i].path);
        free(self->rules[i].glob);
    }
    free(self->rules);
    free(self);
    *self_p = NULL;
}

size_t spool_rules_count(const spool_rules_t *self)
{
    return self ? self->n : 0;
}

mapping_t *spool_rules_match(const spool_rules_t *self, const char *name)
{
    for (size_t i = 0; self && i < self->n; i++)
        if (fnmatch(self->rules[i].glob, name, FNM_CASEFOLD) == 0)
            return self->rules[i].map;
    return NULL;
}

void spool_rules_describe(const spool_rules_t *self, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; self && i < self->n && used < outlen; i++) {
        int w = snprintf(out + used, outlen - used, "%s%s -> %s", i ? "; " : "", self->rules[i].glob,
                         self->rules[i].path);
        if (w < 0)
            break;
        used += (size_t) w;
    }
}

void spool_set_rules(spool_t *self, const spool_rules_t *rules)
{
    self->rules = rules;
    if (rules && rules->n)
        log_info("spool", "SPOOL-RULES rules=%zu default_mapping=%s", rules->n, self->map ? "yes" : "no");
}
