/* keys_test.c: moving the site key (export-key / import-key). Participants
 * keep their pseudonym on the new machine (the same file imported there
 * gives byte-identical events), a fresh key gives different ones; a wrong
 * passphrase and a passphrase file others can read are refused clearly;
 * nothing is ever overwritten. */
#include "testutil.h"

#include "outbox.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *s_dir;
static char s_log[256];

static int s_agent(const char *data, const char *a1, const char *a2, const char *a3, const char *a4,
                   const char *a5)
{
    char *argv[] = {(char *) tu_bin("finsam-agent"),
                    "--data-dir",
                    (char *) data,
                    (char *) a1,
                    (char *) a2,
                    (char *) a3,
                    (char *) a4,
                    (char *) a5,
                    NULL};
    unlink(s_log);
    return tu_run(argv, s_log, 60000);
}

static bool s_log_has(const char *text)
{
    char *log = tu_read_file(s_log);
    bool found = log && strstr(log, text);
    if (!found)
        fprintf(stderr, "expected in output: %s\n--- output ---\n%s\n", text, log ? log : "(none)");
    free(log);
    return found;
}

typedef struct {
    char *bytes;
    size_t len;
} s_events_t;

static int s_collect(uint64_t seq, const uint8_t *bytes, size_t len, void *arg)
{
    (void) seq;
    s_events_t *e = arg;
    e->bytes = realloc(e->bytes, e->len + len);
    CHECK(e->bytes);
    memcpy(e->bytes + e->len, bytes, len);
    e->len += len;
    return 0;
}

/* All queued event bytes of an agent's outbox, in order. */
static s_events_t s_events(const char *data)
{
    char path[300];
    snprintf(path, sizeof path, "%s/outbox", data);
    outbox_t *ob = NULL;
    CHECK_EQ(outbox_open(&ob, path, NULL, 0), 0);
    s_events_t e = {NULL, 0};
    CHECK(outbox_peek(ob, 0, 1000, s_collect, &e) > 0);
    outbox_close(&ob);
    return e;
}

static void s_import(const char *data)
{
    CHECK_EQ(s_agent(data, "import", tu_src("tests/agents/fixtures/utf8-comma.csv"), "--mapping",
                     tu_src("tests/agents/fixtures/survey.ini"), NULL),
             0);
    CHECK(s_log_has("rows=3 accepted=3"));
}

static void test_roundtrip(void)
{
    char a[256], b[256], c[256], pass[256], loose[256], wrong[256], sealed[256], key[300];
    snprintf(a, sizeof a, "%s/a", s_dir);
    snprintf(b, sizeof b, "%s/b", s_dir);
    snprintf(c, sizeof c, "%s/c", s_dir);
    snprintf(pass, sizeof pass, "%s/pass", s_dir);
    snprintf(loose, sizeof loose, "%s/pass-loose", s_dir);
    snprintf(wrong, sizeof wrong, "%s/pass-wrong", s_dir);
    snprintf(sealed, sizeof sealed, "%s/site.key.sealed", s_dir);
    CHECK_EQ(tu_write_file(pass, "correct horse battery staple\n"), 0);
    CHECK_EQ(chmod(pass, 0600), 0);
    CHECK_EQ(tu_write_file(loose, "correct horse battery staple\n"), 0);
    CHECK_EQ(chmod(loose, 0644), 0);
    CHECK_EQ(tu_write_file(wrong, "correct horse battery stapler\n"), 0);
    CHECK_EQ(chmod(wrong, 0600), 0);

    /* The old machine. */
    CHECK_EQ(s_agent(a, "keygen", "--forbund", "NV", NULL, NULL), 0);
    s_import(a);
    CHECK_EQ(s_agent(a, "export-key", sealed, NULL, NULL, NULL), 64); /* no passphrase file */
    CHECK_EQ(s_agent(a, "--passphrase-file", loose, "export-key", sealed, NULL), 77);
    CHECK(s_log_has("passphrase file refused"));
    CHECK(access(sealed, F_OK) < 0);
    CHECK_EQ(s_agent(a, "--passphrase-file", pass, "export-key", sealed, NULL), 0);
    struct stat st;
    CHECK(stat(sealed, &st) == 0 && (st.st_mode & 077) == 0);
    CHECK_EQ(s_agent(a, "--passphrase-file", pass, "export-key", sealed, NULL), 73); /* never overwrites */
    /* The sealed file does not hold the key in clear. */
    snprintf(key, sizeof key, "%s/keys/pseudonym.key", a);
    char *hexkey = tu_read_file(key), *sealed_text = tu_read_file(sealed);
    CHECK(hexkey && sealed_text);
    hexkey[64] = '\0';
    CHECK(!strstr(sealed_text, hexkey));
    CHECK(strstr(sealed_text, "kdf argon2id13"));
    free(hexkey);
    free(sealed_text);

    /* The new machine: wrong passphrase, loose file, then right. */
    CHECK_EQ(s_agent(b, "--passphrase-file", wrong, "import-key", sealed, NULL), 65);
    CHECK(s_log_has("wrong passphrase"));
    snprintf(key, sizeof key, "%s/keys/pseudonym.key", b);
    CHECK(access(key, F_OK) < 0);
    CHECK_EQ(s_agent(b, "--passphrase-file", loose, "import-key", sealed, NULL), 77);
    CHECK_EQ(s_agent(b, "--passphrase-file", pass, "import-key", "/nonexistent/sealed", NULL), 66);
    CHECK_EQ(s_agent(b, "--passphrase-file", pass, "import-key", sealed, NULL), 0);
    CHECK(stat(key, &st) == 0 && (st.st_mode & 077) == 0);
    CHECK_EQ(s_agent(b, "--passphrase-file", pass, "import-key", sealed, NULL), 73);
    CHECK_EQ(s_agent(b, "keygen", "--forbund", "NV", NULL, NULL), 0);
    CHECK(s_log_has("behöll befintliga "));
    s_import(b);

    /* A machine with a fresh key. */
    CHECK_EQ(s_agent(c, "keygen", "--forbund", "NV", NULL, NULL), 0);
    s_import(c);

    s_events_t ea = s_events(a), eb = s_events(b), ec = s_events(c);
    CHECK(ea.len > 0 && ea.len == eb.len && memcmp(ea.bytes, eb.bytes, ea.len) == 0);
    CHECK(ea.len != ec.len || memcmp(ea.bytes, ec.bytes, ea.len) != 0);
    free(ea.bytes);
    free(eb.bytes);
    free(ec.bytes);
}

static void test_tampered_file(void)
{
    char d[256], pass[256], sealed[256], bad[256];
    snprintf(d, sizeof d, "%s/d", s_dir);
    snprintf(pass, sizeof pass, "%s/pass", s_dir);
    snprintf(sealed, sizeof sealed, "%s/site.key.sealed", s_dir);
    snprintf(bad, sizeof bad, "%s/garbage.sealed", s_dir);
    CHECK_EQ(tu_write_file(bad, "not a key\n"), 0);
    CHECK_EQ(s_agent(d, "--passphrase-file", pass, "import-key", bad, NULL), 65);
    CHECK(s_log_has("not a sealed finsam pseudonym key"));
    /* Flip one hex digit of the box: refused like a wrong passphrase. */
    char *text = tu_read_file(sealed);
    CHECK(text);
    char *box = strstr(text, "box ");
    CHECK(box);
    box[4] = box[4] == '0' ? '1' : '0';
    CHECK_EQ(tu_write_file(bad, text), 0);
    free(text);
    CHECK_EQ(s_agent(d, "--passphrase-file", pass, "import-key", bad, NULL), 65);
    CHECK(s_log_has("wrong passphrase (or the file was altered)"));
}

/* A scenario: the tampered files are made from the sealed key and the
 * passphrase that the round trip leaves behind. */
static void test_roundtrip_then_tampered(void)
{
    s_dir = tu_tempdir();
    snprintf(s_log, sizeof s_log, "%s/out.log", s_dir);
    test_roundtrip();
    test_tampered_file();
}

/* keygen tells staff what to do with each file in Swedish, or in English
 * with --lang en. */
static void test_keygen_words(void)
{
    s_dir = tu_tempdir();
    snprintf(s_log, sizeof s_log, "%s/out.log", s_dir);
    char sv[256], en[256];
    snprintf(sv, sizeof sv, "%s/sv", s_dir);
    snprintf(en, sizeof en, "%s/en", s_dir);
    CHECK_EQ(s_agent(sv, "keygen", "--forbund", "NV", NULL, NULL), 0);
    CHECK(s_log_has("skapade "));
    CHECK(s_log_has("/keys/agent.key (ge den här publika nyckeln till insamlingsserverns administratör)\n"));
    CHECK(s_log_has("/keys/agent.key_secret (den hemliga nyckeln: behåll den här, skicka den aldrig)\n"));
    CHECK(s_log_has("/keys/pseudonym.key (säkerhetskopiera den med export-key"));
    char *log = tu_read_file(s_log);
    CHECK(log && !strstr(log, "created") && !strstr(log, "give this"));
    free(log);
    CHECK_EQ(s_agent(en, "keygen", "--forbund", "NV", "--lang", "en"), 0);
    CHECK(s_log_has("/keys/agent.key (give this public certificate to the collector's operator)\n"));
    CHECK(s_log_has("/keys/agent.key_secret (keep it here)\n"));
}

static const test_case_t s_cases[] = {
    {"a sealed key round trip, then a tampered file refused", test_roundtrip_then_tampered},
    {"keygen in Swedish, and in English with --lang en", test_keygen_words},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
