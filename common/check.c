/* check.c: the lines and exit codes of check-config (see check.h). Only
 * stat, access and reads: nothing here creates a file or opens a socket.
 * Every line is written in English and Swedish side by side (T()), so
 * that the agent's staff read theirs in Swedish and a translation cannot
 * go missing; the collector's lines stay English. */
#include "check.h"

#include "keys.h"

#include <czmq.h>
#include <dirent.h>
#include <errno.h>
#include <pwd.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

/* The line in c's language. */
#define T(en, sv) check_text(c, en, sv)

const char *check_text(const check_t *c, const char *en, const char *sv)
{
    return c->sv ? sv : en;
}

static void s_init(check_t *c, const char *prog, const char *config, bool sv)
{
    *c = (check_t){prog, stdout, 0, 0, sv};
    if (config)
        check_ok(c, T("options and config file %s", "inställningar och inställningsfilen %s"), config);
    else
        check_ok(c, "%s",
                 T("options (no config file; --config FILE reads one)",
                   "inställningar (ingen inställningsfil; --config FIL läser en)"));
}

void check_init(check_t *c, const char *prog, const char *config)
{
    s_init(c, prog, config, false);
}

void check_init_sv(check_t *c, const char *prog, const char *config)
{
    s_init(c, prog, config, true);
}

static void s_line(check_t *c, const char *tag, const char *fmt, va_list ap)
{
    fputs(tag, c->out);
    vfprintf(c->out, fmt, ap);
    fputc('\n', c->out);
}

void check_ok(check_t *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_line(c, "ok    ", fmt, ap);
    va_end(ap);
}

void check_fail(check_t *c, int exit_code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_line(c, T("FAIL  ", "FEL   "), fmt, ap);
    va_end(ap);
    c->problems++;
    if (!c->status)
        c->status = exit_code;
}

int check_finish(check_t *c)
{
    fflush(c->out);
    if (!c->problems) {
        fprintf(c->out, T("%s: configuration ok\n", "%s: inställningarna är ok\n"), c->prog);
        return 0;
    }
    if (c->sv)
        fprintf(stderr, "%s: check-config: %d fel; slutkod %d\n", c->prog, c->problems, c->status);
    else
        fprintf(stderr, "%s: check-config: %d problem%s; exit %d\n", c->prog, c->problems,
                c->problems == 1 ? "" : "s", c->status);
    return c->status;
}

static const char *s_user(uid_t uid, char *buf, size_t len)
{
    struct passwd *pw = getpwuid(uid);
    if (pw)
        snprintf(buf, len, "%s", pw->pw_name);
    else
        snprintf(buf, len, "uid %u", (unsigned) uid);
    return buf;
}

bool check_data_dir(check_t *c, const char *what, const char *path, bool need_write, bool may_be_missing,
                    const char *create_hint)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        if (errno == ENOENT && may_be_missing)
            check_ok(c, T("%s %s: not there yet (%s creates it)", "%s %s: finns inte ännu (%s skapar den)"),
                     what, path, create_hint);
        else if (errno == ENOENT)
            check_fail(c, EX_NOINPUT,
                       T("%s %s: no such directory; fix: %s", "%s %s: mappen finns inte; åtgärd: %s"), what,
                       path, create_hint);
        else
            check_fail(c, EX_NOPERM,
                       T("%s %s: %s; fix: give the service user access",
                         "%s %s: %s; åtgärd: ge tjänstens användare åtkomst"),
                       what, path, strerror(errno));
        return false;
    }
    if (!S_ISDIR(st.st_mode)) {
        check_fail(c, EX_NOINPUT, T("%s %s: not a directory; fix: %s", "%s %s: inte en mapp; åtgärd: %s"),
                   what, path, create_hint);
        return false;
    }
    char owner[64], me[64];
    s_user(st.st_uid, owner, sizeof owner);
    if (st.st_mode & S_IWOTH) {
        check_fail(c, EX_NOPERM,
                   T("%s %s: mode %04o: writable by every user; fix: chmod o-w %s",
                     "%s %s: rättigheter %04o: alla användare kan skriva i den; åtgärd: chmod o-w %s"),
                   what, path, (unsigned) (st.st_mode & 07777), path);
        return true;
    }
    /* Another user's directory is fine while this user may use it (an
     * operator in the service's group running finsamctl); the service's
     * own user must be able to write it. */
    uid_t euid = geteuid();
    if (st.st_uid != euid && euid != 0 && access(path, need_write ? R_OK | W_OK | X_OK : R_OK | X_OK) < 0) {
        check_fail(c, EX_NOPERM,
                   T("%s %s: owned by %s; %s, who runs this, cannot %s it; fix: chown -R %s %s",
                     "%s %s: ägs av %s; %s, som kör detta, kan inte %s den; åtgärd: chown -R %s %s"),
                   what, path, owner, s_user(euid, me, sizeof me),
                   need_write ? T("write", "skriva i") : T("read", "läsa"), me, path);
        return true;
    }
    check_ok(c, T("%s %s (owner %s, mode %04o)", "%s %s (ägare %s, rättigheter %04o)"), what, path, owner,
             (unsigned) (st.st_mode & 07777));
    return true;
}

/* A file that stat or access refused (errno set): missing (78, with the
 * hint) or unreadable (77). Returns false. */
static bool s_unreadable(check_t *c, const char *what, const char *path, const char *missing_hint)
{
    if (errno == ENOENT)
        check_fail(c, EX_CONFIG, T("%s: no such file: %s; fix: %s", "%s: filen finns inte: %s; åtgärd: %s"),
                   what, path, missing_hint);
    else
        check_fail(c, EX_NOPERM,
                   T("%s %s: %s; fix: give the service user read access",
                     "%s %s: %s; åtgärd: ge tjänstens användare läsrätt"),
                   what, path, strerror(errno));
    return false;
}

bool check_secret_file(check_t *c, const char *what, const char *path, bool is_cert, const char *missing_hint)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return s_unreadable(c, what, path, missing_hint);
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        check_fail(c, EX_NOPERM,
                   T("%s %s: mode %04o: readable by group or others, so it is refused; fix: chmod 600 %s",
                     "%s %s: rättigheter %04o: gruppen eller andra kan läsa den, så den vägras; åtgärd: "
                     "chmod 600 %s"),
                   what, path, (unsigned) (st.st_mode & 07777), path);
        return false;
    }
    if (access(path, R_OK) < 0) {
        check_fail(c, EX_NOPERM,
                   T("%s %s: %s; fix: chown it to the service user",
                     "%s %s: %s; åtgärd: chown till tjänstens användare"),
                   what, path, strerror(errno));
        return false;
    }
    if (is_cert) {
        zcert_t *cert = keys_cert_load(path);
        static const char zero[41] = "0000000000000000000000000000000000000000";
        bool ok = cert && strcmp(zcert_secret_txt(cert), zero) != 0;
        zcert_destroy(&cert);
        if (!ok) {
            check_fail(c, EX_CONFIG,
                       T("%s %s: not a secret ZeroMQ certificate; fix: %s",
                         "%s %s: inte ett hemligt ZeroMQ-certifikat; åtgärd: %s"),
                       what, path, missing_hint);
            return false;
        }
    }
    check_ok(c, T("%s %s (mode %04o)", "%s %s (rättigheter %04o)"), what, path,
             (unsigned) (st.st_mode & 07777));
    return true;
}

bool check_public_cert(check_t *c, const char *what, const char *path, const char *missing_hint)
{
    if (access(path, R_OK) < 0)
        return s_unreadable(c, what, path, missing_hint);
    zcert_t *cert = keys_cert_load(path);
    if (!cert) {
        check_fail(
            c, EX_CONFIG,
            T("%s %s: not a ZeroMQ certificate; fix: %s", "%s %s: inte ett ZeroMQ-certifikat; åtgärd: %s"),
            what, path, missing_hint);
        return false;
    }
    zcert_destroy(&cert);
    check_ok(c, "%s %s", what, path);
    return true;
}

void check_cert_dir(check_t *c, const char *what, const char *dir, const char *meta_key,
                    bool (*valid)(const char *value), bool may_be_missing)
{
    DIR *d = opendir(dir);
    if (!d) {
        if (errno == ENOENT && may_be_missing)
            check_ok(c, "%s %s: none (no such directory)", what, dir);
        else if (errno == ENOENT)
            check_fail(c, EX_NOINPUT, "%s %s: no such directory; fix: mkdir %s and put certificates in it",
                       what, dir, dir);
        else
            check_fail(c, EX_NOPERM, "%s %s: %s; fix: give the service user read access", what, dir,
                       strerror(errno));
        return;
    }
    zhashx_t *counts = zhashx_new(); /* metadata value -> count */
    int n = 0, bad = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || (len > 7 && !strcmp(e->d_name + len - 7, "_secret")))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        zcert_t *cert = keys_cert_load(path);
        const char *value = cert ? zcert_meta(cert, meta_key) : NULL;
        if (!cert) {
            check_fail(c, EX_CONFIG, "%s %s: not a certificate (it is skipped); fix: remove it or replace it",
                       what, path);
            bad++;
        } else if (!value || !valid(value)) {
            check_fail(c, EX_CONFIG,
                       "%s %s: no valid %s metadata (it is skipped); fix: a certificate made by keygen "
                       "with --%s",
                       what, path, meta_key, meta_key);
            bad++;
        } else {
            n++;
            size_t k = (size_t) zhashx_lookup(counts, value);
            zhashx_update(counts, value, (void *) (k + 1));
        }
        zcert_destroy(&cert);
    }
    closedir(d);
    char summary[1024] = "";
    size_t used = 0;
    zlistx_t *keys = zhashx_keys(counts);
    zlistx_set_comparator(keys, (zlistx_comparator_fn *) strcmp);
    zlistx_sort(keys);
    for (const char *k = zlistx_first(keys); k && used < sizeof summary; k = zlistx_next(keys))
        used += (size_t) snprintf(summary + used, sizeof summary - used, " %s=%zu", k,
                                  (size_t) zhashx_lookup(counts, k));
    zlistx_destroy(&keys);
    zhashx_destroy(&counts);
    if (!bad || n)
        check_ok(c, "%s %s: %d certificate%s%s%s", what, dir, n, n == 1 ? "" : "s", n ? ":" : "", summary);
}

void check_writable_dir(check_t *c, const char *what, const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode)) {
        check_fail(c, EX_NOINPUT,
                   T("%s %s: no such directory; fix: mkdir %s (owned by the service user)",
                     "%s %s: mappen finns inte; åtgärd: mkdir %s (ägd av tjänstens användare)"),
                   what, path, path);
        return;
    }
    if (access(path, R_OK | W_OK | X_OK) < 0) {
        check_fail(c, EX_NOPERM,
                   T("%s %s: %s; fix: chown it to the service user",
                     "%s %s: %s; åtgärd: chown till tjänstens användare"),
                   what, path, strerror(errno));
        return;
    }
    if (st.st_mode & S_IWOTH) {
        check_fail(c, EX_NOPERM,
                   T("%s %s: mode %04o: writable by every user; fix: chmod o-w %s",
                     "%s %s: rättigheter %04o: alla användare kan skriva i den; åtgärd: chmod o-w %s"),
                   what, path, (unsigned) (st.st_mode & 07777), path);
        return;
    }
    check_ok(c, T("%s %s (writable)", "%s %s (skrivbar)"), what, path);
}
