/* keys_unit_test.c: common/keys.c through keys.h — the secret-file rule
 * (a secret readable by group or others is refused, naming the fix), the
 * messages for a missing file, and which file holds which key. The agent's
 * key commands end to end are tests/agents/keys_test.c. */
#include "keys.h"
#include "testutil.h"

#include <string.h>
#include <sys/stat.h>

/* CZMQ's zconfig_load leaks its zfile_t when a file does not parse (libczmq
 * 4.2, not ours): LeakSanitizer is paused around that one load. */
extern void __lsan_disable(void) __attribute__((weak));
extern void __lsan_enable(void) __attribute__((weak));

/* A fresh keypair dir/name + dir/name_secret; returns the public path. */
static const char *s_pair(const char *name)
{
    static char path[512];
    char err[256] = "";
    snprintf(path, sizeof path, "%s/%s", tu_tempdir(), name);
    CHECK(keys_generate(path, name, "F01", err, sizeof err) == 0);
    return path;
}

static void test_generated_secret_is_private(void)
{
    const char *pub = s_pair("site");
    char secret[600], err[256] = "";
    snprintf(secret, sizeof secret, "%s_secret", pub);
    struct stat st;
    CHECK(stat(secret, &st) == 0);
    CHECK_EQ(st.st_mode & 0777, 0600);
    CHECK(keys_check_private(secret, err, sizeof err) == 0);
    zcert_t *cert = keys_load_secret(secret, err, sizeof err);
    CHECK(cert);
    CHECK(strcmp(zcert_meta(cert, "forbund"), "F01") == 0);
    zcert_destroy(&cert);
}

static void test_group_or_other_readable_refused(void)
{
    const char *pub = s_pair("site");
    char secret[600];
    snprintf(secret, sizeof secret, "%s_secret", pub);
    static const mode_t modes[] = {0640, 0604, 0620, 0610, 0644};
    for (size_t i = 0; i < TU_NELEMS(modes); i++) {
        char err[1024] = "";
        CHECK(chmod(secret, modes[i]) == 0);
        CHECK(keys_check_private(secret, err, sizeof err) < 0);
        CHECK(strstr(err, "refusing") && strstr(err, "chmod 600"));
        err[0] = '\0';
        CHECK(keys_load_secret(secret, err, sizeof err) == NULL);
        CHECK(strstr(err, secret) && strstr(err, "chmod 600"));
    }
    /* Owner-only modes other than 0600 are fine: the rule is about others. */
    char err[256] = "";
    CHECK(chmod(secret, 0400) == 0);
    CHECK(keys_check_private(secret, err, sizeof err) == 0);
}

static void test_missing_file_named(void)
{
    char path[512], err[1024] = "";
    snprintf(path, sizeof path, "%s/nothing_here", tu_tempdir());
    CHECK(keys_check_private(path, err, sizeof err) < 0);
    CHECK(strstr(err, path) && strstr(err, "No such file"));
    err[0] = '\0';
    CHECK(keys_load_secret(path, err, sizeof err) == NULL);
    CHECK(strstr(err, path) && strstr(err, "No such file"));
    err[0] = '\0';
    CHECK(keys_load_public(path, err, sizeof err) == NULL);
    CHECK(strstr(err, path) && strstr(err, "No such file"));
}

static void test_public_file_is_not_a_secret(void)
{
    const char *pub = s_pair("site");
    char secret[600], alone[600], err[1024] = "";
    snprintf(secret, sizeof secret, "%s_secret", pub);
    /* The public file on its own (no _secret beside it, which zcert_load
     * would read instead), private so the refusal is about its content. */
    char *text = tu_read_file(pub);
    CHECK(text);
    snprintf(alone, sizeof alone, "%s", tu_file_in(tu_tempdir(), "alone", text));
    free(text);
    CHECK(chmod(alone, 0600) == 0);
    CHECK(keys_load_secret(alone, err, sizeof err) == NULL);
    CHECK(strstr(err, "holds no secret key"));

    /* Both files carry the same public key; only the secret has the secret. */
    zcert_t *p = keys_load_public(alone, err, sizeof err);
    zcert_t *s = keys_load_secret(secret, err, sizeof err);
    CHECK(p && s);
    CHECK(strcmp(zcert_public_txt(p), zcert_public_txt(s)) == 0);
    CHECK(strcmp(zcert_secret_txt(p), "0000000000000000000000000000000000000000") == 0);
    CHECK(strcmp(zcert_secret_txt(s), "0000000000000000000000000000000000000000") != 0);
    zcert_destroy(&p);
    zcert_destroy(&s);
}

/* Named by its public path, the pair is read from PATH_secret (zcert_load
 * does that): the mode rule must apply to that file, not only to PATH. */
static void test_secret_beside_public_path_checked(void)
{
    const char *pub = s_pair("site");
    char secret[600], err[1024] = "";
    snprintf(secret, sizeof secret, "%s_secret", pub);
    CHECK(chmod(pub, 0600) == 0);
    zcert_t *c = keys_load_secret(pub, err, sizeof err);
    CHECK(c); /* both private: the pair loads */
    zcert_destroy(&c);
    CHECK(chmod(secret, 0644) == 0);
    c = keys_load_secret(pub, err, sizeof err);
    CHECK(c == NULL);
    CHECK(strstr(err, secret) && strstr(err, "chmod 600"));
}

static void test_not_a_certificate(void)
{
    const char *dir = tu_tempdir();
    const char *junk = tu_file_in(dir, "junk", "this is not a certificate\n\x01\x02");
    char err[1024] = "";
    CHECK(chmod(junk, 0600) == 0);
    /* zcert_load of an unparsable file may still return an empty cert; the
     * module must not hand back a usable secret either way. */
    if (__lsan_disable)
        __lsan_disable();
    zcert_t *s = keys_load_secret(junk, err, sizeof err);
    if (__lsan_enable)
        __lsan_enable();
    CHECK(s == NULL);
    CHECK(strstr(err, junk));
}

static void test_generate_refuses_overwrite(void)
{
    const char *pub = s_pair("site");
    char before[64];
    char err[1024] = "";
    zcert_t *c = keys_load_public(pub, err, sizeof err);
    CHECK(c);
    snprintf(before, sizeof before, "%s", zcert_public_txt(c));
    zcert_destroy(&c);
    CHECK(keys_generate(pub, "again", NULL, err, sizeof err) < 0);
    CHECK(strstr(err, "refusing to overwrite"));
    c = keys_load_public(pub, err, sizeof err);
    CHECK(c && strcmp(zcert_public_txt(c), before) == 0);
    zcert_destroy(&c);
}

static void test_meta_entry(void)
{
    char path[512], err[256] = "";
    snprintf(path, sizeof path, "%s/reader", tu_tempdir());
    CHECK(keys_generate_meta(path, "reader", "access", "aggregates", err, sizeof err) == 0);
    zcert_t *c = keys_load_public(path, err, sizeof err);
    CHECK(c);
    CHECK(strcmp(zcert_meta(c, "access"), "aggregates") == 0);
    CHECK(strcmp(zcert_meta(c, "name"), "reader") == 0);
    CHECK(zcert_meta(c, "forbund") == NULL);
    zcert_destroy(&c);
}

static const test_case_t s_cases[] = {
    {"generated secret is 0600 and loads", test_generated_secret_is_private},
    {"group or other readable secret refused", test_group_or_other_readable_refused},
    {"missing file named", test_missing_file_named},
    {"public file is not a secret", test_public_file_is_not_a_secret},
    {"secret beside public path checked", test_secret_beside_public_path_checked},
    {"not a certificate", test_not_a_certificate},
    {"generate refuses overwrite", test_generate_refuses_overwrite},
    {"meta entry", test_meta_entry},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
