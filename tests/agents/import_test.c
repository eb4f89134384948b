/* import_test.c: `finsam-agent import` as a user runs it: exit codes,
 * FILE:LINE: FIELD: reason errors, summaries, --dry-run, status, and the
 * insats codes declared in [insatser] of --config (nothing else passes,
 * and an undeclared value is never repeated unless it only spells a
 * declared code differently). */
#include "testutil.h"

#include <string.h>
#include <unistd.h>

static const char *s_dir;
static char s_data[256], s_log[256], s_cfg[256];

static int s_agent(const char *a1, const char *a2, const char *a3)
{
    char *argv[] = {(char *) tu_bin("finsam-agent"),
                    "--lang",
                    "en",
                    "--config",
                    s_cfg,
                    "--data-dir",
                    s_data,
                    (char *) a1,
                    (char *) a2,
                    (char *) a3,
                    NULL};
    unlink(s_log);
    return tu_run(argv, s_log, 30000);
}

static bool s_log_has(const char *text)
{
    return tu_file_has(s_log, text);
}

static const char *s_file(const char *name, const char *text)
{
    return tu_file_in(s_dir, name, text);
}

static const char *s_good =
    "{\"kind\":\"participant_survey\",\"personnummer\":\"19850312-1231\",\"date\":\"2026-03-14\","
    "\"instrument\":\"deltagare_avslut\",\"mode\":\"integrated\",\"insats\":\"steg1\",\"gender\":\"woman\","
    "\"birth_year\":1985,\"answers\":{\"d_behov\":5,\"d_tid\":4},\"name\":\"Anna\",\"email\":\"a@b.se\"}\n"
    "\n"
    "{\"kind\":\"status\",\"personnummer\":\"850372-1238\",\"date\":\"2026-01-10\",\"phase\":\"entry\","
    "\"mode\":\"project\",\"occupation\":\"none\",\"income\":\"social_assistance\"}\n"
    "{\"kind\":\"organisation\",\"date\":\"2025-12-31\",\"answers\":{\"o_forum_moten\":12}}\n"
    "{\"kind\":\"retraction\",\"target\":\"0000521a0102030405060708090a0b0c\",\"date\":\"2026-03-14\"}\n";

/* Every case has a directory of its own: the configuration, and NV's keys
 * unless the case is about making them. */
static void s_setup(bool keys)
{
    s_dir = tu_tempdir();
    snprintf(s_data, sizeof s_data, "%s/data", s_dir);
    snprintf(s_log, sizeof s_log, "%s/out.log", s_dir);
    snprintf(s_cfg, sizeof s_cfg, "%s/agent.ini", s_dir);
    CHECK_EQ(tu_write_file(s_cfg, "[agent]\nlog-level = info\n\n[insatser]\nsteg1 = any\nsteg2 = project\n"
                                  "ips = integrated\n"),
             0);
    if (keys)
        CHECK_EQ(s_agent("keygen", "--forbund", "NV"), 0);
}

/* The four events of s_good queued, as test_bad_rows expects to find them. */
static void s_four_queued(void)
{
    CHECK_EQ(s_agent("import", s_file("good.jsonl", s_good), NULL), 0);
    CHECK(s_log_has("rows=4 accepted=4 already_imported=0"));
}

static void test_without_keys(void)
{
    s_setup(false);
    const char *f = s_file("good.jsonl", s_good);
    CHECK_EQ(s_agent("--forbund", "NV", NULL) == 64, 1); /* no command */
    CHECK_EQ(s_agent("import", f, "--forbund=NV"), 78);
    CHECK(s_log_has("keygen"));
}

static void test_keygen(void)
{
    s_setup(false);
    CHECK_EQ(s_agent("keygen", NULL, NULL), 64); /* --forbund required */
    CHECK_EQ(s_agent("keygen", "--forbund", "NV"), 0);
    CHECK_EQ(s_agent("keygen", "--forbund", "NV"), 73); /* never overwrites */
    char path[300];
    snprintf(path, sizeof path, "%s/keys/pseudonym.key", s_data);
    char *key = tu_read_file(path);
    CHECK(key && strlen(key) == 65);
    free(key);
}

static void test_good_then_again(void)
{
    s_setup(true);
    const char *f = s_file("good.jsonl", s_good);
    CHECK_EQ(s_agent("import", f, "--dry-run"), 0);
    CHECK(s_log_has("dry run: nothing stored"));
    CHECK_EQ(s_agent("status", NULL, NULL), 0);
    CHECK(s_log_has("queued=0 "));
    CHECK_EQ(s_agent("import", f, NULL), 0);
    CHECK(s_log_has("rows=4 accepted=4 already_imported=0"));
    CHECK(s_log_has("dropped=name,email"));
    CHECK_EQ(s_agent("import", f, NULL), 0);
    CHECK(s_log_has("rows=4 accepted=0 already_imported=4"));
    CHECK_EQ(s_agent("status", NULL, NULL), 0);
    CHECK(s_log_has("queued=4 "));
}

static void test_bad_rows(void)
{
    s_setup(true);
    s_four_queued();
    const char *f =
        s_file("bad.jsonl",
               "{\"kind\":\"staff_survey\",\"date\":\"2026-03-14\",\"instrument\":\"insatspersonal\","
               "\"agency\":\"af\","
               "\"mode\":\"integrated\",\"answers\":{\"p_respekt\":3}}\n"
               "{\"kind\":\"participant_survey\",\"personnummer\":\"19850312-1232\",\"date\":\"2026-03-14\","
               "\"instrument\":\"deltagare_avslut\",\"mode\":\"integrated\",\"answers\":{\"d_behov\":5}}\n"
               "{\"kind\":\"staff_survey\",\"date\":\"2026-03-14\",\"instrument\":\"insatspersonal\","
               "\"agency\":\"af\","
               "\"mode\":\"integrated\",\"answers\":{\"p_respekt\":\"070-123 45 67\"}}\n"
               "{\"kind\":\"staff_survey\",\"date\":\"2999-03-14\",\"instrument\":\"insatspersonal\","
               "\"agency\":\"af\","
               "\"mode\":\"integrated\",\"answers\":{\"p_respekt\":3}}\n"
               "{\"kind\":\"staff_survey\",\"date\":\"2026-03-14\",\"instrument\":\"insatspersonal\","
               "\"agency\":\"xx\","
               "\"mode\":\"integrated\",\"answers\":{\"p_respekt\":3}}\n"
               "{\"kind\":\"staff_survey\",\"date\":\"2026-03-14\",\"instrument\":\"insatspersonal\","
               "\"agency\":\"af\","
               "\"mode\":\"integrated\",\"answers\":{\"p_respekt\":9}}\n"
               "{oops\n");
    CHECK_EQ(s_agent("import", f, NULL), 65);
    CHECK(s_log_has("bad.jsonl:2: personnummer: personnummer check digit is wrong"));
    CHECK(s_log_has("bad.jsonl:3: answers.p_respekt: looks like a personnummer"));
    CHECK(s_log_has("bad.jsonl:4: date: is in the future"));
    CHECK(s_log_has("bad.jsonl:5: agency: must be one of"));
    CHECK(s_log_has("bad.jsonl:6: answers.p_respekt: value outside scale"));
    CHECK(s_log_has("bad.jsonl:7: json: not valid JSON"));
    CHECK(s_log_has("nothing stored"));
    /* The wrong personnummer is never echoed. */
    char *log = tu_read_file(s_log);
    CHECK(log && !strstr(log, "1232") && !strstr(log, "070-123"));
    free(log);
    CHECK_EQ(s_agent("status", NULL, NULL), 0);
    CHECK(s_log_has("queued=4 ")); /* line 1 was good, but the file is all or nothing */
}

static void test_missing_file_and_usage(void)
{
    s_setup(true);
    CHECK_EQ(s_agent("import", "/nonexistent/file.jsonl", NULL), 66);
    CHECK_EQ(s_agent("import", NULL, NULL), 64);
    CHECK_EQ(s_agent("frobnicate", NULL, NULL), 64);
    CHECK_EQ(s_agent("--help", NULL, NULL), 0);
    CHECK(s_log_has("Exit codes"));
    const char *f = s_file("good.jsonl", s_good);
    /* The key says NV: --forbund wins with a warning (the collector refuses). */
    char *argv[] = {(char *) tu_bin("finsam-agent"),
                    "--lang",
                    "en",
                    "--config",
                    s_cfg,
                    "--data-dir",
                    s_data,
                    "--dry-run",
                    "--forbund=HBS",
                    "import",
                    (char *) f,
                    NULL};
    CHECK_EQ(tu_run(argv, s_log, 30000), 0);
    CHECK(s_log_has("FORBUND-OVERRIDE forbund=HBS key_forbund=NV"));
}

static bool s_log_lacks(const char *text)
{
    return tu_file_lacks(s_log, text);
}

#define S_ROW(insats, mode)                                                                                  \
    "{\"kind\":\"participant_survey\",\"personnummer\":\"19850312-1231\",\"date\":\"2026-03-14\","           \
    "\"instrument\":\"deltagare_avslut\"," insats mode "\"answers\":{\"d_behov\":3}}\n"

static void test_insats_must_be_declared(void)
{
    s_setup(true);
    const char *f = s_file("insats.jsonl", S_ROW("\"insats\":\"LinneaQvarnstrom\",", "\"mode\":\"project\",")
                                               S_ROW("\"insats\":\"LQ-850312\",", "\"mode\":\"project\",")
                                                   S_ROW("\"insats\":\"Steg 1\",", "\"mode\":\"project\",")
                                                       S_ROW("\"insats\":\"ips\",", "\"mode\":\"project\",")
                                                           S_ROW("\"insats\":\"070-123 45 67\",", ""));
    CHECK_EQ(s_agent("import", f, NULL), 65);
    CHECK(s_log_has("insats.jsonl:1: insats: value not shown (it may be personal data): not in the declared "
                    "list [insatser] of agent.ini; add the code there, or write the export's name = code "
                    "under [labels.insats] of the mapping, or fix the column"));
    CHECK(s_log_has("insats.jsonl:2: insats: value not shown"));
    CHECK(s_log_has("insats.jsonl:3: insats: 'Steg 1' is not in the declared list [insatser] of agent.ini; "
                    "did you mean 'steg1'?"));
    CHECK(s_log_has("insats.jsonl:4: mode: insats ips is declared as integrated in [insatser] of agent.ini, "
                    "the row says project"));
    CHECK(s_log_has("insats.jsonl:5: insats: looks like a personnummer"));
    CHECK(s_log_lacks("Linnea") && s_log_lacks("850312") && s_log_lacks("070-123") && s_log_lacks("LQ-"));

    /* A declared code with a mode gives the mode; "any" needs the row's. */
    f = s_file("mode.jsonl", S_ROW("\"insats\":\"ips\",", "") S_ROW("\"insats\":\"steg1\",", ""));
    CHECK_EQ(s_agent("import", f, "--dry-run"), 65);
    CHECK(s_log_has("mode.jsonl:2: mode: missing"));
    CHECK(s_log_has("rows=2 accepted=0 already_imported=0 corrected=0 rejected=1"));
    f = s_file("mode2.jsonl", S_ROW("\"insats\":\"ips\",", ""));
    CHECK_EQ(s_agent("import", f, "--dry-run"), 0);
    CHECK(s_log_has("rows=1 accepted=1"));

    /* Without a configuration no insats passes, with advice. */
    f = s_file("noconf.jsonl", S_ROW("\"insats\":\"steg1\",", "\"mode\":\"project\","));
    char *argv[] = {(char *) tu_bin("finsam-agent"),
                    "--lang",
                    "en",
                    "-d",
                    s_data,
                    "--dry-run",
                    "import",
                    (char *) f,
                    NULL};
    CHECK_EQ(tu_run(argv, s_log, 30000), 65);
    CHECK(s_log_has("noconf.jsonl:1: insats: no insats codes are declared (value not shown); list the site's "
                    "codes in an [insatser] section of the agent's configuration (--config FILE)"));
    CHECK(s_log_lacks("steg1"));

    /* A bad declaration is a configuration error naming file and line. */
    const char *bad = s_file("bad.ini", "[agent]\nlog-level = info\n[insatser]\nsteg1 = project\n"
                                        "Linnea Qvarnström = project\n");
    char *argv2[] = {(char *) tu_bin("finsam-agent"),
                     "--lang",
                     "en",
                     "-c",
                     (char *) bad,
                     "-d",
                     s_data,
                     "import",
                     (char *) f,
                     NULL};
    CHECK_EQ(tu_run(argv2, s_log, 30000), 78);
    CHECK(s_log_has("bad.ini:5: [insatser]: an insats code must be 1-31 letters"));
    CHECK(s_log_lacks("Linnea"));
    bad = s_file("bad.ini", "[insatser]\nsteg1 = projekt\n");
    CHECK_EQ(tu_run(argv2, s_log, 30000), 78);
    CHECK(s_log_has("bad.ini:2: [insatser]: steg1: the mode must be project, integrated or any"));
}

static void test_demo_fills(void)
{
    s_setup(true);
    CHECK_EQ(s_agent("demo", "--events=3000", "--no-send"), 0);
    CHECK(s_log_has("demo: rows=3000 accepted=3000"));
    CHECK_EQ(s_agent("demo", "--events=3000", "--no-send"), 0); /* same seed: nothing new */
    CHECK(s_log_has("demo: rows=3000 accepted=0 already_imported=3000"));
}

static const test_case_t s_cases[] = {
    {"import without keys refused", test_without_keys},
    {"keygen", test_keygen},
    {"good file, then the same again", test_good_then_again},
    {"bad rows named, nothing stored", test_bad_rows},
    {"missing file and usage", test_missing_file_and_usage},
    {"insats must be declared", test_insats_must_be_declared},
    {"demo fills the outbox", test_demo_fills},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
