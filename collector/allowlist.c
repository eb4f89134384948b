/* allowlist.c: the per-message authorization table (see allowlist.h).
 * Certificates are parsed by CZMQ (zcert_load), so any file written by
 * zcert_save_public or pyzmq's create_certificates is understood; files
 * ending in `_secret` are skipped so a stray secret never authorizes. */
#include "allowlist.h"

#include "util.h"

#include "log.h"

#include <czmq.h>
#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct allowlist_t {
    char *dir;
    char *meta_key;
    bool (*valid)(const char *value);
    zhashx_t *value_by_key; /* Z85 key -> strdup'd metadata value */
    struct timespec mtime;
    bool loaded;
    unsigned generation;
};

bool allowlist_valid_forbund(const char *s)
{
    return code_is_valid(s, 8);
}

static void s_load(allowlist_t *self)
{
    self->generation++;
    zhashx_purge(self->value_by_key);
    DIR *d = opendir(self->dir);
    if (!d) {
        log_warn("auth", "ALLOWLIST-MISSING dir=%s", self->dir);
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (e->d_name[0] == '.' || (n > 7 && !strcmp(e->d_name + n - 7, "_secret")))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", self->dir, e->d_name);
        zcert_t *cert = zcert_load(path);
        if (!cert) {
            log_warn("auth", "ALLOWLIST-SKIP file=%s reason=not-a-certificate", path);
            continue;
        }
        const char *value = zcert_meta(cert, self->meta_key);
        if (!value || !self->valid(value))
            log_warn("auth", "ALLOWLIST-SKIP file=%s reason=no-valid-%s-metadata", path, self->meta_key);
        else
            zhashx_update(self->value_by_key, zcert_public_txt(cert), strdup(value));
        zcert_destroy(&cert);
    }
    closedir(d);
    log_info("auth", "ALLOWLIST-LOADED dir=%s keys=%zu", self->dir, zhashx_size(self->value_by_key));
}

static void s_free_str(void **item)
{
    free(*item);
    *item = NULL;
}

bool allowlist_valid_access(const char *value)
{
    return !strcmp(value, "all") || !strcmp(value, "aggregates");
}

allowlist_t *allowlist_new(const char *dir, const char *meta_key, bool (*valid)(const char *value))
{
    allowlist_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->dir = strdup(dir);
    self->meta_key = strdup(meta_key);
    self->valid = valid;
    self->value_by_key = zhashx_new();
    if (!self->dir || !self->meta_key || !self->value_by_key) {
        allowlist_destroy(&self);
        return NULL;
    }
    zhashx_set_destructor(self->value_by_key, s_free_str);
    allowlist_refresh(self);
    return self;
}

void allowlist_destroy(allowlist_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    allowlist_t *self = *self_p;
    zhashx_destroy(&self->value_by_key);
    free(self->meta_key);
    free(self->dir);
    free(self);
    *self_p = NULL;
}

bool allowlist_refresh(allowlist_t *self)
{
    struct stat st;
    struct timespec m = {0, 0};
    if (stat(self->dir, &st) == 0)
        m = st.st_mtim;
    /* Adding, removing or renaming a file changes the directory's mtime. */
    if (self->loaded && m.tv_sec == self->mtime.tv_sec && m.tv_nsec == self->mtime.tv_nsec)
        return false;
    self->mtime = m;
    self->loaded = true;
    s_load(self);
    return true;
}

const char *allowlist_lookup(allowlist_t *self, const char *public_z85)
{
    return public_z85 ? zhashx_lookup(self->value_by_key, public_z85) : NULL;
}

int allowlist_size(allowlist_t *self)
{
    return (int) zhashx_size(self->value_by_key);
}

unsigned allowlist_generation(const allowlist_t *self)
{
    return self->generation;
}
