/* allowlist.c: the per-message authorization table (see allowlist.h).
 * Certificates are parsed by CZMQ (zcert_load), so any file written by
 * zcert_save_public or pyzmq's create_certificates is understood; files
 * ending in `_secret` are skipped so a stray secret never authorizes.
 *
 * A reload reads the whole directory into a fresh table: the directories
 * hold a few hundred certificates at most, and one code path for every
 * cause (start, inotify, SIGHUP, rescan) is worth more than incremental
 * updates. The inotify watch is placed before a load reads the directory,
 * so a change made during the load is reported afterwards, never lost.
 * IN_CREATE is not watched: a new file is read when it is closed
 * (IN_CLOSE_WRITE) or moved in, never half written. Dot files (editors'
 * swap files) are ignored. */
#include "allowlist.h"

#include "keys.h"
#include "log.h"
#include "status.h"
#include "util.h"

#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define WATCH_MASK                                                                                           \
    (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ATTRIB | IN_DELETE_SELF | IN_MOVE_SELF |  \
     IN_ONLYDIR)

struct allowlist_t {
    char *dir;
    char *meta_key;
    bool (*valid)(const char *value);
    zhashx_t *value_by_key; /* Z85 key -> s_entry_t */
    struct timespec mtime;  /* of the directory, as of the last load */
    int fd;                 /* inotify instance; -1 without one */
    int wd;                 /* watch of dir; -1 while there is none */
    bool watch_warned;      /* ALLOWLIST-UNWATCHED logged since the watch was lost */
    int64_t rescan_at_ms;   /* next safety-net stat while watched */
    unsigned generation;
};

bool allowlist_valid_forbund(const char *s)
{
    return code_is_valid(s, 8);
}

bool allowlist_valid_access(const char *value)
{
    return !strcmp(value, "all") || !strcmp(value, "aggregates");
}

/* What the table holds per key: the metadata value allowlist_lookup
 * returns, and the certificate as allowlist_cert describes it. */
typedef struct {
    char *value;
    char *file, *name;
    char fingerprint[17];
    allowlist_cert_t cert; /* points into the fields above */
} s_entry_t;

static void s_entry_destroy(void **item)
{
    s_entry_t *e = *item;
    if (e) {
        free(e->value);
        free(e->file);
        free(e->name);
        free(e);
    }
    *item = NULL;
}

static s_entry_t *s_entry_new(zcert_t *cert, const char *file, const char *value)
{
    s_entry_t *e = calloc(1, sizeof *e);
    const char *name = zcert_meta(cert, "name");
    if (!e || !(e->value = strdup(value)) || !(e->file = strdup(file)) ||
        (name && !(e->name = strdup(name)))) {
        void *item = e;
        s_entry_destroy(&item);
        return NULL;
    }
    status_fingerprint(zcert_public_txt(cert), e->fingerprint, sizeof e->fingerprint);
    e->cert = (allowlist_cert_t){e->file, e->name, e->fingerprint};
    return e;
}

static struct timespec s_mtime(const char *dir)
{
    struct stat st;
    return stat(dir, &st) == 0 ? st.st_mtim : (struct timespec){0, 0};
}

/* Starts watching the directory if it is not watched yet (it may have been
 * missing, or moved away). */
static void s_watch(allowlist_t *self)
{
    if (self->fd < 0 || self->wd >= 0)
        return;
    self->wd = inotify_add_watch(self->fd, self->dir, WATCH_MASK);
    if (self->wd >= 0) {
        self->watch_warned = false;
    } else if (!self->watch_warned) {
        log_warn("auth", "ALLOWLIST-UNWATCHED dir=%s reason=\"%s\" rescan=1s", self->dir, strerror(errno));
        self->watch_warned = true;
    }
}

static void s_load(allowlist_t *self, const char *cause)
{
    s_watch(self);
    self->mtime = s_mtime(self->dir);
    self->rescan_at_ms = clock_mono_ms() + ALLOWLIST_RESCAN_MS;
    self->generation++;
    zhashx_purge(self->value_by_key);
    DIR *d = opendir(self->dir);
    if (!d) {
        log_warn("auth", "ALLOWLIST-MISSING dir=%s cause=%s", self->dir, cause);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.' || (n > 7 && !strcmp(e->d_name + n - 7, "_secret")))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", self->dir, e->d_name);
        zcert_t *cert = keys_cert_load(path);
        if (!cert) {
            log_warn("auth", "ALLOWLIST-SKIP file=%s reason=not-a-certificate", path);
            continue;
        }
        const char *value = zcert_meta(cert, self->meta_key);
        s_entry_t *entry = NULL;
        if (!value || !self->valid(value))
            log_warn("auth", "ALLOWLIST-SKIP file=%s reason=no-valid-%s-metadata", path, self->meta_key);
        else if ((entry = s_entry_new(cert, e->d_name, value)))
            zhashx_update(self->value_by_key, zcert_public_txt(cert), entry);
        zcert_destroy(&cert);
    }
    closedir(d);
    log_info("auth", "ALLOWLIST-LOADED dir=%s keys=%zu cause=%s", self->dir, zhashx_size(self->value_by_key),
             cause);
}

allowlist_t *allowlist_new(const char *dir, const char *meta_key, bool (*valid)(const char *value))
{
    allowlist_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->wd = -1;
    self->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (self->fd < 0)
        log_warn("auth", "ALLOWLIST-NO-INOTIFY dir=%s reason=\"%s\" rescan=1s", dir, strerror(errno));
    self->dir = strdup(dir);
    self->meta_key = strdup(meta_key);
    self->valid = valid;
    self->value_by_key = zhashx_new();
    if (!self->dir || !self->meta_key || !self->value_by_key) {
        allowlist_destroy(&self);
        return NULL;
    }
    zhashx_set_destructor(self->value_by_key, s_entry_destroy);
    s_load(self, "start");
    return self;
}

void allowlist_destroy(allowlist_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    allowlist_t *self = *self_p;
    if (self->fd >= 0)
        close(self->fd);
    zhashx_destroy(&self->value_by_key);
    free(self->meta_key);
    free(self->dir);
    free(self);
    *self_p = NULL;
}

int allowlist_fd(const allowlist_t *self)
{
    return self->fd;
}

bool allowlist_handle(allowlist_t *self)
{
    if (self->fd < 0)
        return false;
    bool changed = false;
    /* inotify_event is variable-length: read into an aligned buffer. */
    char buf[8192] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t len;
    while ((len = read(self->fd, buf, sizeof buf)) > 0) {
        for (char *p = buf; p < buf + len;) {
            const struct inotify_event *ev = (const struct inotify_event *) p;
            p += sizeof *ev + ev->len;
            if (ev->mask & IN_Q_OVERFLOW) { /* events were lost: read it all again */
                changed = true;
            } else if (ev->wd != self->wd) { /* a watch given up below */
                continue;
            } else if (ev->mask & IN_IGNORED) { /* the directory was deleted: the watch is gone */
                self->wd = -1;
                changed = true;
            } else if (ev->mask & IN_MOVE_SELF) { /* the watch would follow it elsewhere */
                inotify_rm_watch(self->fd, self->wd);
                self->wd = -1;
                changed = true;
            } else if (!ev->len || ev->name[0] != '.') {
                changed = true;
            }
        }
    }
    if (changed)
        s_load(self, "inotify");
    return changed;
}

void allowlist_reload(allowlist_t *self)
{
    s_load(self, "reload");
}

bool allowlist_refresh(allowlist_t *self)
{
    int64_t now = clock_mono_ms();
    if (self->wd < 0)
        s_watch(self); /* the directory may have appeared */
    else if (now < self->rescan_at_ms)
        return false;
    self->rescan_at_ms = now + ALLOWLIST_RESCAN_MS;
    /* Adding, removing or renaming a file changes the directory's mtime. */
    struct timespec m = s_mtime(self->dir);
    if (m.tv_sec == self->mtime.tv_sec && m.tv_nsec == self->mtime.tv_nsec)
        return false;
    s_load(self, "rescan");
    return true;
}

const char *allowlist_lookup(allowlist_t *self, const char *public_z85)
{
    s_entry_t *e = public_z85 ? zhashx_lookup(self->value_by_key, public_z85) : NULL;
    return e ? e->value : NULL;
}

const allowlist_cert_t *allowlist_cert(allowlist_t *self, const char *public_z85)
{
    s_entry_t *e = public_z85 ? zhashx_lookup(self->value_by_key, public_z85) : NULL;
    return e ? &e->cert : NULL;
}

int allowlist_size(allowlist_t *self)
{
    return (int) zhashx_size(self->value_by_key);
}

unsigned allowlist_generation(const allowlist_t *self)
{
    return self->generation;
}
