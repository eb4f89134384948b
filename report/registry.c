/* registry.c: DATA/forbund.json (see registry.h).
 *
 * The registry is kept as the JSON it is stored as (jansson): it is small
 * (Sweden has about 83 förbund), read once per command, and the JSON is
 * both what is validated and what is written back, so a field this
 * version does not know survives a rename. */
#include "registry.h"

#include "log.h"
#include "util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct registry_t {
    json_t *root; /* {"version":1, "forbund":{...}} */
    bool from_file;
};

/* A län list as "A,B" into a JSON array; NULL if an entry is empty or
 * there are too many. */
static json_t *s_lan_array(const char *lan)
{
    json_t *a = json_array();
    const char *p = lan;
    while (a && p) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t) (comma - p) : strlen(p);
        while (len && (*p == ' ')) {
            p++;
            len--;
        }
        while (len && p[len - 1] == ' ')
            len--;
        if (len == 0 || json_array_size(a) >= REGISTRY_MAX_LAN ||
            json_array_append_new(a, json_stringn(p, len)) < 0) {
            json_decref(a);
            return NULL;
        }
        p = comma ? comma + 1 : NULL;
    }
    return a;
}

/* "A,B" from an entry's lan (a string or an array of strings). */
static void s_lan_text(json_t *entry, char *out, size_t outlen)
{
    json_t *lan = json_object_get(entry, "lan");
    out[0] = '\0';
    if (json_is_string(lan)) {
        snprintf(out, outlen, "%s", json_string_value(lan));
        return;
    }
    size_t i, used = 0;
    json_t *v;
    json_array_foreach(lan, i, v) {
        if (used < outlen)
            used += (size_t) snprintf(out + used, outlen - used, "%s%s", i ? "," : "", json_string_value(v));
    }
}

static fin_err_t s_check(json_t *root, char *err, size_t errlen)
{
    json_t *list = json_object_get(root, "forbund");
    if (!json_is_object(root) || json_integer_value(json_object_get(root, "version")) != 1 ||
        !json_is_object(list))
        return fin_fail(err, errlen, FIN_EINPUT, "want {\"version\": 1, \"forbund\": {...}}");
    const char *code;
    json_t *e;
    json_object_foreach(list, code, e) {
        json_t *lan = json_object_get(e, "lan");
        bool lan_ok = json_is_string(lan) || (json_is_array(lan) && json_array_size(lan) > 0);
        for (size_t i = 0; json_is_array(lan) && i < json_array_size(lan); i++)
            lan_ok &= json_is_string(json_array_get(lan, i));
        if (!code_is_valid(code, CAT_CODE_MAX - 1) || !json_is_string(json_object_get(e, "name")) || !lan_ok)
            return fin_fail(err, errlen, FIN_EINPUT, "förbund %s: want a code, \"name\" and \"lan\"", code);
    }
    return FIN_OK;
}

fin_err_t registry_load(registry_t **out, const char *path, const catalogue_t *cat, char *err, size_t errlen)
{
    *out = NULL;
    registry_t *self = calloc(1, sizeof *self);
    if (!self)
        return fin_fail(err, errlen, FIN_ENOMEM, "out of memory");
    if (access(path, F_OK) == 0) {
        json_error_t je;
        self->root = json_load_file(path, 0, &je);
        if (!self->root) {
            free(self);
            return fin_fail(err, errlen, errno == ENOENT ? FIN_EIO : FIN_EINPUT, "%s:%d: %s", path, je.line,
                            je.text);
        }
        char why[256];
        fin_err_t rc = s_check(self->root, why, sizeof why);
        if (rc) {
            json_decref(self->root);
            free(self);
            return fin_fail(err, errlen, rc, "%s: %s", path, why);
        }
        self->from_file = true;
        *out = self;
        return FIN_OK;
    }
    json_t *list = json_object();
    self->root = json_pack("{s:i, s:o}", "version", 1, "forbund", list);
    for (int i = 0; self->root && i < cat->nforbund; i++) {
        const cat_forbund_t *f = &cat->forbund[i];
        json_object_set_new(list, f->code,
                            json_pack("{s:s, s:[s]}", "name", f->name ? f->name : f->code, "lan",
                                      f->lan ? f->lan : "okänt län"));
    }
    if (!self->root) {
        free(self);
        return fin_fail(err, errlen, FIN_ENOMEM, "out of memory");
    }
    *out = self;
    return FIN_OK;
}

void registry_destroy(registry_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    json_decref((*self_p)->root);
    free(*self_p);
    *self_p = NULL;
}

bool registry_is_file(const registry_t *self)
{
    return self->from_file;
}

fin_err_t registry_add(registry_t *self, const char *code, const char *name, const char *lan, char *err,
                       size_t errlen)
{
    json_t *list = json_object_get(self->root, "forbund");
    if (!code || !code_is_valid(code, CAT_CODE_MAX - 1))
        return fin_fail(err, errlen, FIN_EINPUT, "%s: not a förbund code (letters, digits, _ and -)",
                        code ? code : "");
    if (json_object_get(list, code))
        return fin_fail(err, errlen, FIN_EINPUT, "%s: already registered (rename changes its name)", code);
    if (!name || !*name)
        return fin_fail(err, errlen, FIN_EINPUT, "%s: --name is required", code);
    json_t *lans = lan ? s_lan_array(lan) : NULL;
    if (!lans)
        return fin_fail(err, errlen, FIN_EINPUT, "%s: --lan wants a län, or up to %d separated by commas",
                        code, REGISTRY_MAX_LAN);
    if (json_object_set_new(list, code, json_pack("{s:s, s:o}", "name", name, "lan", lans)) < 0)
        return fin_fail(err, errlen, FIN_ENOMEM, "out of memory");
    return FIN_OK;
}

fin_err_t registry_rename(registry_t *self, const char *code, const char *name, char *err, size_t errlen)
{
    json_t *e = code ? json_object_get(json_object_get(self->root, "forbund"), code) : NULL;
    if (!e)
        return fin_fail(err, errlen, FIN_ENOTFOUND, "%s: not registered (finsamctl forbund list)",
                        code ? code : "");
    if (!name || !*name)
        return fin_fail(err, errlen, FIN_EINPUT, "%s: --name is required", code);
    if (json_object_set_new(e, "name", json_string(name)) < 0)
        return fin_fail(err, errlen, FIN_ENOMEM, "out of memory");
    return FIN_OK;
}

fin_err_t registry_save(const registry_t *self, const char *path, char *err, size_t errlen)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (json_dump_file(self->root, tmp, JSON_INDENT(2) | JSON_SORT_KEYS) < 0 || chmod(tmp, 0644) < 0 ||
        rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        return fin_fail(err, errlen, FIN_EIO, "%s: %s", path, strerror(e));
    }
    return FIN_OK;
}

static int s_code_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *) a, *(const char *const *) b);
}

void registry_each(const registry_t *self, registry_fn fn, void *arg)
{
    json_t *list = json_object_get(self->root, "forbund");
    size_t n = json_object_size(list), i = 0;
    const char **codes = calloc(n + 1, sizeof *codes);
    if (!codes)
        return;
    const char *code;
    json_t *e;
    json_object_foreach(list, code, e)
        codes[i++] = code;
    qsort(codes, n, sizeof *codes, s_code_cmp);
    for (i = 0; i < n; i++) {
        json_t *entry = json_object_get(list, codes[i]);
        char lan[512];
        s_lan_text(entry, lan, sizeof lan);
        fn(codes[i], json_string_value(json_object_get(entry, "name")), lan, arg);
    }
    free(codes);
}

int registry_apply(const registry_t *self, catalogue_t *cat)
{
    json_t *list = json_object_get(self->root, "forbund");
    size_t n = json_object_size(list), i = 0;
    cat_forbund_t *fs = calloc(n + 1, sizeof *fs);
    if (!fs)
        return -1;
    const char *code;
    json_t *e;
    json_object_foreach(list, code, e) {
        json_t *lan = json_object_get(e, "lan");
        const char *first =
            json_is_string(lan) ? json_string_value(lan) : json_string_value(json_array_get(lan, 0));
        snprintf(fs[i].code, sizeof fs[i].code, "%s", code);
        fs[i].name = strdup(json_string_value(json_object_get(e, "name")));
        fs[i].lan = strdup(first ? first : "okänt län");
        if (!fs[i].name || !fs[i].lan) {
            for (size_t j = 0; j <= i; j++) {
                free(fs[j].name);
                free(fs[j].lan);
            }
            free(fs);
            return -1;
        }
        i++;
    }
    for (int j = 0; j < cat->nforbund; j++) {
        free(cat->forbund[j].name);
        free(cat->forbund[j].lan);
    }
    free(cat->forbund);
    cat->forbund = fs;
    cat->nforbund = (int) n;
    return 0;
}

const char *registry_forbund_name(const catalogue_t *cat, const char *code)
{
    for (int i = 0; i < cat->nforbund; i++)
        if (!strcmp(cat->forbund[i].code, code))
            return cat->forbund[i].name;
    return NULL;
}

/* ---- following the file ------------------------------------------------ */

typedef struct {
    bool exists;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} s_stamp_t;

struct registry_live_t {
    char *path, *catalogue_file;
    const catalogue_t *base;
    catalogue_t *copy; /* NULL until the file first changes */
    s_stamp_t seen;
};

static s_stamp_t s_stamp(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return (s_stamp_t){0};
    return (s_stamp_t){true, st.st_dev, st.st_ino, st.st_size, st.st_mtim};
}

/* A rename gives a new inode; an edit in place a new mtime or size. */
static bool s_stamp_eq(const s_stamp_t *a, const s_stamp_t *b)
{
    return a->exists == b->exists &&
           (!a->exists || (a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
                           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec));
}

registry_live_t *registry_live_new(const char *path, const char *catalogue_file, const catalogue_t *base)
{
    registry_live_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->path = strdup(path);
    self->catalogue_file = strdup(catalogue_file ? catalogue_file : "");
    if (!self->path || !self->catalogue_file) {
        registry_live_destroy(&self);
        return NULL;
    }
    self->base = base;
    self->seen = s_stamp(path);
    return self;
}

void registry_live_destroy(registry_live_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    registry_live_t *self = *self_p;
    catalogue_destroy(&self->copy);
    free(self->path);
    free(self->catalogue_file);
    free(self);
    *self_p = NULL;
}

const catalogue_t *registry_live_get(registry_live_t *self)
{
    s_stamp_t now = s_stamp(self->path);
    if (!s_stamp_eq(&now, &self->seen)) {
        self->seen = now; /* a bad file is reported once, not per request */
        char err[512];
        catalogue_t *cat = NULL;
        registry_t *reg = NULL;
        if (catalogue_load(&cat, self->catalogue_file, err, sizeof err) < 0 ||
            registry_load(&reg, self->path, cat, err, sizeof err) != FIN_OK || registry_apply(reg, cat) < 0) {
            log_warn("registry", "REGISTRY-INVALID path=%s reason=\"%s\" kept=previous", self->path,
                     cat && reg ? "out of memory" : err);
            catalogue_destroy(&cat);
        } else {
            log_info("registry", "REGISTRY-RELOADED path=%s forbund=%d", self->path, cat->nforbund);
            catalogue_destroy(&self->copy);
            self->copy = cat;
        }
        registry_destroy(&reg);
    }
    return self->copy ? self->copy : self->base;
}
