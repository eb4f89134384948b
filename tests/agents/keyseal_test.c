/* keyseal_test.c: key files, sealing and unsealing (agents/keyseal.c),
 * without the binary: a sealed key unseals to the same key (same
 * pseudonyms), a wrong passphrase or an altered file is refused and
 * writes nothing, every file made is mode 0600, nothing is overwritten. */
#include "keyseal.h"
#include "testutil.h"

#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *s_dir;

static const char *s_file(const char *name)
{
    static char path[8][512];
    static int next;
    char *p = path[next++ % 8];
    if (!s_dir)
        s_dir = tu_tempdir(); /* one per case */
    snprintf(p, sizeof path[0], "%s/%s", s_dir, name);
    return p;
}

static bool s_private(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && (st.st_mode & 0777) == 0600;
}

/* The smallest Argon2id limits: the tests check the format, not the cost. */
static fin_err_t s_seal(const anon_t *a, const char *pass, const char *out, char *err, size_t errlen)
{
    return keyseal_seal(a, pass, strlen(pass), crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN, out,
                        err, errlen);
}

static void test_generate(void)
{
    char err[512];
    const char *key = s_file("gen.key");
    CHECK_EQ(keyseal_generate(key, err, sizeof err), FIN_OK);
    CHECK(s_private(key));
    CHECK_EQ(keyseal_generate(key, err, sizeof err), FIN_EPERM); /* never overwrites */
    CHECK(strstr(err, "already exists; refusing to overwrite a key") != NULL);
    anon_t *a = NULL;
    CHECK_EQ(anon_load(&a, key, err, sizeof err), 0);
    anon_destroy(&a);
    chmod(key, 0644);
    CHECK_EQ(anon_load(&a, key, err, sizeof err), FIN_EPERM);
    CHECK(strstr(err, "refusing") != NULL);
    CHECK(a == NULL);
}

static void test_round_trip(void)
{
    char err[512];
    const char *key = s_file("rt.key"), *sealed = s_file("rt.sealed"), *copy = s_file("rt-copy.key");
    CHECK_EQ(keyseal_generate(key, err, sizeof err), FIN_OK);
    anon_t *a = NULL, *b = NULL;
    CHECK_EQ(anon_load(&a, key, err, sizeof err), 0);
    CHECK_EQ(s_seal(a, "correct horse battery", sealed, err, sizeof err), FIN_OK);
    CHECK(s_private(sealed));
    CHECK_EQ(s_seal(a, "correct horse battery", sealed, err, sizeof err), FIN_EPERM);
    CHECK(strstr(err, "already exists; refusing to overwrite") != NULL);

    const char *pass = "correct horse battery";
    CHECK_EQ(keyseal_unseal(sealed, pass, strlen(pass), copy, err, sizeof err), FIN_OK);
    CHECK(s_private(copy));
    CHECK_EQ(anon_load(&b, copy, err, sizeof err), 0);
    uint8_t pa[ANON_PSEUDONYM_LEN], pb[ANON_PSEUDONYM_LEN];
    anon_pseudonym(a, "198503121231", pa);
    anon_pseudonym(b, "198503121231", pb);
    CHECK(memcmp(pa, pb, sizeof pa) == 0);
    char *t1 = tu_read_file(key), *t2 = tu_read_file(copy);
    CHECK(t1 && t2 && strcmp(t1, t2) == 0);
    free(t1);
    free(t2);
    /* The key file is there now: never overwritten. */
    CHECK_EQ(keyseal_unseal(sealed, pass, strlen(pass), copy, err, sizeof err), FIN_EPERM);
    anon_destroy(&a);
    anon_destroy(&b);
}

static void test_refusals(void)
{
    char err[512];
    const char *key = s_file("bad.key"), *sealed = s_file("bad.sealed"), *out = s_file("bad-out.key");
    CHECK_EQ(keyseal_generate(key, err, sizeof err), FIN_OK);
    anon_t *a = NULL;
    CHECK_EQ(anon_load(&a, key, err, sizeof err), 0);
    CHECK_EQ(s_seal(a, "the right passphrase", sealed, err, sizeof err), FIN_OK);
    anon_destroy(&a);

    const char *wrong = "not the passphrase";
    CHECK_EQ(keyseal_unseal(sealed, wrong, strlen(wrong), out, err, sizeof err), FIN_EINPUT);
    CHECK(strstr(err, "wrong passphrase (or the file was altered)") != NULL);
    CHECK(access(out, F_OK) < 0); /* nothing written */

    CHECK_EQ(keyseal_unseal(s_file("missing.sealed"), wrong, strlen(wrong), out, err, sizeof err),
             FIN_ENOTFOUND);
    CHECK_EQ(tu_write_file(s_file("junk.sealed"), "hello\n"), 0);
    CHECK_EQ(keyseal_unseal(s_file("junk.sealed"), wrong, strlen(wrong), out, err, sizeof err), FIN_EINPUT);
    CHECK(strstr(err, "not a sealed finsam pseudonym key") != NULL);
    CHECK(access(out, F_OK) < 0);
}

static void test_passphrase_file(void)
{
    char err[512], buf[128];
    size_t len = 0;
    const char *p = s_file("pass.txt");
    CHECK_EQ(tu_write_file(p, "a long passphrase\nsecond line\n"), 0);
    chmod(p, 0600);
    CHECK_EQ(keyseal_read_passphrase(p, buf, sizeof buf, &len, err, sizeof err), FIN_OK);
    CHECK_EQ(len, strlen("a long passphrase"));
    CHECK(strcmp(buf, "a long passphrase") == 0);
    chmod(p, 0644);
    CHECK_EQ(keyseal_read_passphrase(p, buf, sizeof buf, &len, err, sizeof err), FIN_EPERM);
    CHECK(strstr(err, "passphrase file refused") != NULL);
    const char *s = s_file("short.txt");
    CHECK_EQ(tu_write_file(s, "short\n"), 0);
    chmod(s, 0600);
    CHECK_EQ(keyseal_read_passphrase(s, buf, sizeof buf, &len, err, sizeof err), FIN_EINPUT);
    CHECK_EQ(keyseal_read_passphrase(s_file("nope.txt"), buf, sizeof buf, &len, err, sizeof err),
             FIN_ENOTFOUND);
}

static const test_case_t s_cases[] = {
    {"generate", test_generate},
    {"seal and unseal round trip", test_round_trip},
    {"refusals", test_refusals},
    {"passphrase file", test_passphrase_file},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
