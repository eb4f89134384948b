/* csvimport_test.c: `finsam-agent import FILE.csv --mapping MAP.ini` as a
 * user runs it. The fixtures in fixtures/ hold the same three rows in four
 * encodings and spellings (UTF-8, BOM, Windows-1252 + CRLF, tab; ',' ';'
 * TAB; ISO and D/M/YYYY dates; decimal commas; a quoted newline): after the
 * first, each must add nothing, which proves they parse to the same events.
 * Also: errors as FILE:LINE: column N "Header": reason, all or nothing,
 * corrections, --dry-run, mapping errors, an insats column that holds
 * anything but the codes declared in [insatser] (refused, value not shown),
 * a file without a header line read with #N columns (its first row's
 * cells never appear as column names), and the items of catalogue
 * version 2. */
#include "testutil.h"

#include <string.h>
#include <unistd.h>

static const char *s_dir;
static char s_data[256], s_log[256], s_map[512];

static int s_agent(const char *a1, const char *a2, const char *a3, const char *a4)
{
    char *argv[] = {(char *) tu_bin("finsam-agent"),
                    "--lang",
                    "en",
                    "--data-dir",
                    s_data,
                    "--log-level",
                    "warn",
                    (char *) a1,
                    (char *) a2,
                    (char *) a3,
                    (char *) a4,
                    NULL};
    unlink(s_log);
    return tu_run(argv, s_log, 30000);
}

static int s_import(const char *file)
{
    return s_agent("import", file, "--mapping", s_map);
}

static bool s_log_has(const char *text)
{
    return tu_file_has(s_log, text);
}

static const char *s_file(const char *name, const char *text)
{
    return tu_file_in(s_dir, name, text);
}

/* Every case has a data directory of its own, with NV's keys. */
static void s_setup(void)
{
    s_dir = tu_tempdir();
    snprintf(s_data, sizeof s_data, "%s/data", s_dir);
    snprintf(s_log, sizeof s_log, "%s/out.log", s_dir);
    CHECK_EQ(s_agent("keygen", "--forbund", "NV", NULL), 0);
}

/* The three rows of utf8-comma.csv queued, as the cases after the first
 * one expect to find them. */
static void s_three_queued(void)
{
    CHECK_EQ(s_import(tu_src("tests/agents/fixtures/utf8-comma.csv")), 0);
    CHECK(s_log_has("rows=3 accepted=3 already_imported=0"));
}

static void test_variants_are_the_same_events(void)
{
    s_setup();
    CHECK_EQ(s_import(tu_src("tests/agents/fixtures/utf8-comma.csv")), 0);
    CHECK(s_log_has("rows=3 accepted=3 already_imported=0"));
    CHECK(s_log_has("dropped_fields=2 dropped=Namn,Kommentar"));
    const char *others[] = {"utf8-bom-semicolon.csv", "latin1-semicolon-crlf.csv", "utf8-tab.tsv"};
    for (int i = 0; i < 3; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "tests/agents/fixtures/%s", others[i]);
        CHECK_EQ(s_import(tu_src(rel)), 0);
        CHECK(s_log_has("rows=3 accepted=0 already_imported=3"));
    }
    /* The same rows as canonical JSONL: the same ids. */
    const char *jsonl = s_file(
        "same.jsonl",
        "{\"kind\":\"participant_survey\",\"personnummer\":\"198503121231\",\"date\":\"2026-03-14\","
        "\"instrument\":\"deltagare_pagaende\",\"mode\":\"integrated\",\"gender\":\"woman\",\"birth_year\":"
        "1985,"
        "\"answers\":{\"d_behov\":5,\"d_planering\":4}}\n"
        "{\"kind\":\"participant_survey\",\"personnummer\":\"9001012344\",\"date\":\"2026-03-14\","
        "\"instrument\":\"deltagare_pagaende\",\"mode\":\"project\",\"gender\":\"man\","
        "\"answers\":{\"d_planering\":3,\"d_behov\":4}}\n"
        "{\"kind\":\"participant_survey\",\"personnummer\":\"770615-3454\",\"date\":\"2026-02-01\","
        "\"instrument\":\"deltagare_pagaende\",\"mode\":\"project\",\"gender\":\"woman\",\"birth_year\":1977,"
        "\"answers\":{\"d_behov\":0,\"d_planering\":2}}\n");
    CHECK_EQ(s_agent("import", jsonl, NULL, NULL), 0);
    CHECK(s_log_has("rows=3 accepted=0 already_imported=3"));
    /* A mapping does not make a .jsonl file CSV. */
    CHECK_EQ(s_import(jsonl), 0);
    CHECK(s_log_has("rows=3 accepted=0 already_imported=3"));
    CHECK_EQ(s_agent("status", NULL, NULL, NULL), 0);
    CHECK(s_log_has("queued=3 "));
}

static const char *s_header = "Personnummer;Namn;Datum;Arbetsform;Kön;Födelseår;Behov;Planering\n";

static void test_errors_name_line_and_column(void)
{
    s_setup();
    s_three_queued();
    char text[4096];
    snprintf(text, sizeof text,
             "%s"
             "19850312-1231;Anna;2026-03-14;Integrerad;Kvinna;1985;Instämmer helt;3\n" /* 2: good */
             "19850312-1232;Anna;2026-03-14;Integrerad;Kvinna;1985;Instämmer helt;3\n" /* 3: check digit */
             "9001012344;Bo;2026-03-14;Projekt;Man;;Instämmer nästan;3\n"              /* 4: label */
             "9001012344;Bo;2026-03-14;Projekt;Man;;6;3\n"                             /* 5: scale */
             "9001012344;Bo;2099-03-14;Projekt;Man;;5;3\n"                             /* 6: future */
             "9001012344;Bo;2026-03-14;Projekt;Man;;;3\n"                              /* 7: required */
             "9001012344;Bo;2026-03-14;Projekt;Man;;5;ring 070-123 45 67\n"            /* 8: phone */
             "9001012344;Bo;2026-03-14;Projekt;Man;;5;bo@example.se\n"                 /* 9: e-mail */
             "9001012344;Bo;31/2/2026;Projekt;Man;;5;3\n"                              /* 10: no such day */
             "9001012344;Bo;2026-03-14;Projekt;Man;19x0;5;3\n"                         /* 11: birth year */
             "9001012344;Bo;2026-03-14;Projekt;Man;;5\n"                               /* 12: too few */
             "9001012344;\"Bo\n"                                                       /* 13-14: quoted */
             "Berg\";2026-03-14;Gemensam;Man;;5;3\n",                                  /*   newline, mode */
             s_header);
    const char *f = s_file("bad.csv", text);
    CHECK_EQ(s_import(f), 65);
    CHECK(s_log_has("bad.csv:3: column 1 \"Personnummer\": personnummer check digit is wrong"));
    CHECK(s_log_has("bad.csv:4: column 7 \"Behov\": unknown answer label \"Instämmer nästan\" (map it in "
                    "[labels] or [labels.d_behov]); 1 row\n"));
    CHECK(s_log_has("bad.csv:5: column 7 \"Behov\": value outside scale agree5"));
    CHECK(s_log_has("bad.csv:6: column 3 \"Datum\": is in the future"));
    CHECK(s_log_has("bad.csv:7: column 7 \"Behov\": missing required item d_behov"));
    CHECK(s_log_has("bad.csv:8: column 8 \"Planering\": looks like a personnummer, phone number or e-mail"));
    CHECK(s_log_has("bad.csv:9: column 8 \"Planering\": looks like a personnummer, phone number or e-mail"));
    CHECK(s_log_has("bad.csv:10: column 3 \"Datum\": must be a date YYYY-MM-DD or D/M/YYYY"));
    CHECK(s_log_has("bad.csv:11: column 6 \"Födelseår\": must be a whole number"));
    CHECK(s_log_has("bad.csv:12: row: has 7 columns, the header has 8"));
    CHECK(s_log_has("bad.csv:13: column 4 \"Arbetsform\": must be one of project|integrated"));
    CHECK(s_log_has("rows=12 accepted=0"));
    CHECK(s_log_has("rejected=11"));
    CHECK(s_log_has("nothing stored"));
    /* Values are never repeated in messages (an answer label is a survey
     * label, named above). */
    char *log = tu_read_file(s_log);
    CHECK(log && !strstr(log, "1232") && !strstr(log, "070-123") && !strstr(log, "example.se"));
    free(log);
    /* All or nothing: the good line 2 was not stored either. */
    CHECK_EQ(s_agent("status", NULL, NULL, NULL), 0);
    CHECK(s_log_has("queued=3 "));
}

static void test_one_bad_row_in_the_middle(void)
{
    s_setup();
    s_three_queued();
    char text[2048];
    snprintf(text, sizeof text,
             "%s"
             "8811305674;A;2026-03-01;Projekt;Kvinna;;5;3\n"
             "9202296787;B;2026-03-01;Projekt;Kvinna;;5;9\n"
             "6505057890;C;2026-03-01;Projekt;Kvinna;;5;3\n",
             s_header);
    const char *f = s_file("middle.csv", text);
    CHECK_EQ(s_agent("import", f, "--mapping", s_map), 65);
    CHECK(s_log_has("middle.csv:3: column 8 \"Planering\": value outside scale"));
    CHECK_EQ(s_agent("status", NULL, NULL, NULL), 0);
    CHECK(s_log_has("queued=3 "));
}

static void test_dry_run_and_correction(void)
{
    s_setup();
    s_three_queued();
    char text[2048];
    snprintf(text, sizeof text, "%s8811305674;A;2026-03-01;Projekt;Kvinna;;5;3\n", s_header);
    const char *f = s_file("one.csv", text);
    char *argv[] = {(char *) tu_bin("finsam-agent"),
                    "--lang",
                    "en",
                    "-d",
                    s_data,
                    "-l",
                    "warn",
                    "--dry-run",
                    "import",
                    (char *) f,
                    "--mapping",
                    s_map,
                    NULL};
    CHECK_EQ(tu_run(argv, s_log, 30000), 0);
    CHECK(s_log_has("rows=1 accepted=1"));
    CHECK(s_log_has("dry run: nothing stored"));
    CHECK_EQ(s_import(f), 0);
    CHECK(s_log_has("rows=1 accepted=1 already_imported=0 corrected=0"));
    CHECK_EQ(s_import(f), 0);
    CHECK(s_log_has("rows=1 accepted=0 already_imported=1"));
    /* Same person, instrument and day, another answer: a correction. */
    snprintf(text, sizeof text, "%s881130-5674;A;1/3/2026;Projekt;Kvinna;;4;3\n", s_header);
    f = s_file("one-changed.csv", text);
    CHECK_EQ(s_import(f), 0);
    CHECK(s_log_has("rows=1 accepted=1 already_imported=0 corrected=1"));
    CHECK_EQ(s_agent("status", NULL, NULL, NULL), 0);
    CHECK(s_log_has("queued=5 "));
}

static void test_file_level_errors(void)
{
    s_setup();
    /* Header without a mapped column. */
    const char *f = s_file("nohead.csv", "Personnummer;Datum\n8811305674;2026-03-01\n");
    CHECK_EQ(s_import(f), 65);
    CHECK(s_log_has("nohead.csv:1: header: mapping: column \"Arbetsform\" (for mode) is not in the header"));
    /* An unclosed quote. */
    char text[1024];
    snprintf(text, sizeof text, "%s8811305674;\"A;2026-03-01;Projekt;Kvinna;;5;3\n", s_header);
    f = s_file("open.csv", text);
    CHECK_EQ(s_import(f), 65);
    CHECK(s_log_has("open.csv:2: csv: a quoted field is not closed"));
    /* CSV without a mapping: usage. A broken mapping: configuration. */
    CHECK_EQ(s_agent("import", f, NULL, NULL), 64);
    CHECK(s_log_has("needs --mapping"));
    const char *m =
        s_file("broken.ini", "[values]\nkind = participant_survey\n[answers]\nno_such_item = X\n");
    CHECK_EQ(s_agent("import", f, "--mapping", m), 78);
    CHECK(s_log_has("broken.ini:4: no_such_item is not an item"));
    m = s_file("nokind.ini", "[columns]\ndate = Datum\n");
    CHECK_EQ(s_agent("import", f, "--mapping", m), 78);
    CHECK(s_log_has("kind: set it in [values]"));
    CHECK_EQ(s_import("/nonexistent/x.csv"), 66);
}

/* Row n's personnummer: born 1980-01-(1 + n % 28), serial n / 28, a
 * right check digit (Luhn over the nine digits). */
static void s_pnr(int n, char out[11])
{
    int day = 1 + n % 28, serial = n / 28 % 1000;
    memcpy(out, "8001", 4);
    out[4] = (char) ('0' + day / 10);
    out[5] = (char) ('0' + day % 10);
    out[6] = (char) ('0' + serial / 100);
    out[7] = (char) ('0' + serial / 10 % 10);
    out[8] = (char) ('0' + serial % 10);
    int sum = 0;
    for (int i = 0; i < 9; i++) {
        int d = (out[i] - '0') * (i % 2 ? 1 : 2);
        sum += d > 9 ? d - 9 : d;
    }
    out[9] = (char) ('0' + (10 - sum % 10) % 10);
    out[10] = '\0';
}

/* A file of many rows (the cells of each record in one arena, the key
 * entries written at the end of the put): rejects deep in the file name
 * their lines in order, a syntax fault after thousands of rows still
 * stores nothing, and the good file is stored whole, once. */
static void test_many_rows(void)
{
    s_setup();
    enum { N = 2000 };
    size_t cap = 128 + (size_t) N * 64;
    char *good = malloc(cap), *bad = malloc(cap), *open = malloc(cap);
    CHECK(good && bad && open);
    size_t g = 0, b = 0, o = 0;
    g += (size_t) snprintf(good + g, cap - g, "%s", s_header);
    b += (size_t) snprintf(bad + b, cap - b, "%s", s_header);
    o += (size_t) snprintf(open + o, cap - o, "%s", s_header);
    for (int i = 0; i < N; i++) {
        char pnr[11];
        s_pnr(i, pnr);
        g += (size_t) snprintf(good + g, cap - g, "%s;A;2026-03-01;Projekt;Kvinna;;Instämmer helt;3\n", pnr);
        /* line i + 2: 702 and 1502 a column short, 1702 an unknown label */
        b += (size_t) snprintf(bad + b, cap - b, "%s;A;2026-03-01;Projekt;Kvinna;;%s%s\n", pnr,
                               i == 1700 ? "Kanske" : "Instämmer helt", i == 700 || i == 1500 ? "" : ";3");
        o += (size_t) snprintf(open + o, cap - o, "%s;%sA;2026-03-01;Projekt;Kvinna;;Instämmer helt;3\n", pnr,
                               i == 1800 ? "\"" : "");
    }
    CHECK_EQ(s_import(s_file("bad.csv", bad)), 65);
    CHECK(s_log_has("bad.csv:1702: column 7 \"Behov\": unknown answer label \"Kanske\""));
    CHECK(s_log_has("bad.csv:702: row: has 7 columns, the header has 8"));
    CHECK(s_log_has("bad.csv:1502: row: has 7 columns, the header has 8"));
    char want[128];
    snprintf(want, sizeof want, "rows=%d accepted=0", N);
    CHECK(s_log_has(want));
    CHECK(s_log_has("rejected=3"));
    char *log = tu_read_file(s_log);
    CHECK(log && strstr(log, "bad.csv:702:") < strstr(log, "bad.csv:1502:"));
    free(log);
    CHECK_EQ(s_import(s_file("open.csv", open)), 65);
    CHECK(s_log_has("open.csv:1802: csv: a quoted field is not closed"));
    CHECK_EQ(s_agent("status", NULL, NULL, NULL), 0);
    CHECK(s_log_has("queued=0 "));
    CHECK_EQ(s_import(s_file("good.csv", good)), 0);
    snprintf(want, sizeof want, "rows=%d accepted=%d already_imported=0", N, N);
    CHECK(s_log_has(want));
    CHECK_EQ(s_import(s_file("good.csv", good)), 0);
    snprintf(want, sizeof want, "rows=%d accepted=0 already_imported=%d", N, N);
    CHECK(s_log_has(want));
    CHECK_EQ(s_agent("status", NULL, NULL, NULL), 0);
    snprintf(want, sizeof want, "queued=%d ", N);
    CHECK(s_log_has(want));
    free(good);
    free(bad);
    free(open);
}

static void test_example_mapping_ships_working(void)
{
    s_setup();
    /* The example mapping reads insats: without the codes it is refused. */
    CHECK_EQ(s_agent("import", tu_src("agents/examples/enkat-avslut.csv"), "--mapping",
                     tu_src("agents/examples/enkat-avslut.ini")),
             78);
    CHECK(s_log_has("the mapping reads insats, but no insats codes are declared"));
    char *argv[] = {(char *) tu_bin("finsam-agent"),
                    "--lang",
                    "en",
                    "-c",
                    (char *) tu_src("agents/examples/agent.ini"),
                    "-d",
                    s_data,
                    "import",
                    (char *) tu_src("agents/examples/enkat-avslut.csv"),
                    "--mapping",
                    (char *) tu_src("agents/examples/enkat-avslut.ini"),
                    NULL};
    CHECK_EQ(tu_run(argv, s_log, 30000), 0);
    CHECK(s_log_has("rows=3 accepted=3"));
}

static bool s_log_lacks(const char *text)
{
    return tu_file_lacks(s_log, text);
}

static void test_insats_column(void)
{
    s_setup();
    const char *cfg = s_file("agent.ini", "[insatser]\nsteg1 = project\nips = integrated\n");
    const char *map =
        s_file("insats.ini", "[values]\nkind = participant_survey\ninstrument = deltagare_avslut\n"
                             "[columns]\npersonnummer = Personnummer\ndate = Datum\n"
                             "insats = Insats\nmode = Arbetsform\n"
                             "[answers]\nd_behov = Behov\n"
                             "[labels.d_behov]\n5 = 5\n"
                             "[labels.insats]\nSteg 1 = steg1\n"
                             "[labels.mode]\nProjekt = project\n");
    const char *f = s_file("insats.csv", "Personnummer;Datum;Insats;Arbetsform;Behov\n"
                                         "8811305674;2026-03-01;steg1;Projekt;5\n" /* 2: good */
                                         "8811305674;2026-03-02;Steg 1;;5\n"       /* 3: label, mode */
                                         "8811305674;2026-03-03;LinneaQvarnstrom;Projekt;5\n" /* 4: a name */
                                         "8811305674;2026-03-04;LQ-850312;Projekt;5\n" /* 5: initials+date */
                                         "8811305674;2026-03-05;070-123 45 67;Projekt;5\n" /* 6: a phone */
                                         "8811305674;2026-03-06;STEG1;Projekt;5\n"         /* 7: a spelling */
                                         "8811305674;2026-03-07;Linnea Qvarnström;Projekt;5\n" /* 8: a name */
                                         "8811305674;2026-03-08;ips;Projekt;5\n"); /* 9: wrong mode */
    char *argv[] = {(char *) tu_bin("finsam-agent"),
                    "--lang",
                    "en",
                    "-c",
                    (char *) cfg,
                    "-d",
                    s_data,
                    "--mapping",
                    (char *) map,
                    "import",
                    (char *) f,
                    NULL};
    CHECK_EQ(tu_run(argv, s_log, 30000), 65);
    const char *hidden = "value not shown (it may be personal data): not in the declared list [insatser] of "
                         "agent.ini; add the code there, or write the export's name = code under "
                         "[labels.insats] of the mapping, or fix the column";
    char want[512];
    for (int line = 4; line <= 8; line += line == 5 ? 3 : 1) {
        snprintf(want, sizeof want, "insats.csv:%d: column 3 \"Insats\": %s", line, hidden);
        CHECK(s_log_has(want));
    }
    CHECK(s_log_has("insats.csv:6: column 3 \"Insats\": looks like a personnummer, phone number or e-mail"));
    CHECK(s_log_has("insats.csv:7: column 3 \"Insats\": 'STEG1' is not in the declared list [insatser] of "
                    "agent.ini; did you mean 'steg1'?"));
    CHECK(s_log_has("insats.csv:9: column 4 \"Arbetsform\": insats ips is declared as integrated"));
    CHECK(s_log_has("rows=8 accepted=0 already_imported=0 corrected=0 rejected=6"));
    CHECK(s_log_lacks("Linnea") && s_log_lacks("850312") && s_log_lacks("070-123") && s_log_lacks("Qvarn"));
}

static void test_numbered_columns_without_header(void)
{
    s_setup();
    /* An export without a header line: its first row is taken for the
     * header. With #N columns that binds, so the row's cells must not show
     * up as column names in errors or in the dropped list. */
    const char *map =
        s_file("numbers.ini", "[values]\nkind = participant_survey\ninstrument = deltagare_avslut\n"
                              "mode = project\n"
                              "[columns]\npersonnummer = #1\ndate = #3\n[answers]\nd_behov = #4\n"
                              "[labels.d_behov]\n5 = Stämmer helt\n");
    const char *f = s_file("noheader.csv", "8811305674;Linnea;2026-03-01;5\n"
                                           "9202296787;Qvarnstrom;2026-03-01;9\n");
    CHECK_EQ(s_agent("import", f, "--mapping", map), 65);
    CHECK(s_log_has("noheader.csv:2: column 4: value outside scale"));
    /* by its number: its "header" is a name */
    CHECK(s_log_has("dropped_fields=1 dropped=#2 withdrawn_before=0\n"));
    CHECK(s_log_lacks("Linnea") && s_log_lacks("Qvarnstrom") && s_log_lacks("8811305674"));
}

/* The items catalogue version 2 added (indicator 1's recruitment and
 * follow-up, indicator 3's say over the time) map like any other item,
 * read with the catalogue's own answer labels. */
static void test_version_2_items(void)
{
    s_setup();
    const char *map = s_file("v2.ini", "[values]\nkind = participant_survey\ninstrument = deltagare_avslut\n"
                                       "mode = integrated\n"
                                       "[columns]\npersonnummer = Personnummer\ndate = Datum\n"
                                       "[answers]\nd_rekrytering = Jag var med och bestämde*\n"
                                       "d_uppfoljning = Jag är med och följer upp*\n"
                                       "d_tid_paverka = Jag har kunnat påverka hur länge*\n");
    const char *f =
        s_file("v2.csv", "Personnummer;Datum;Jag var med och bestämde att jag skulle börja;"
                         "Jag är med och följer upp hur det går;Jag har kunnat påverka hur länge\n"
                         "770615-3454;2026-03-01;Stämmer helt;Stämmer delvis;Vet ej / ej aktuellt\n");
    CHECK_EQ(s_agent("import", f, "--mapping", map), 0);
    CHECK(s_log_has("rows=1 accepted=1"));
}

static const test_case_t s_cases[] = {
    {"encodings and separators are the same events", test_variants_are_the_same_events},
    {"errors name line and column", test_errors_name_line_and_column},
    {"one bad row in the middle", test_one_bad_row_in_the_middle},
    {"dry run and correction", test_dry_run_and_correction},
    {"file level errors", test_file_level_errors},
    {"the example mapping works", test_example_mapping_ships_working},
    {"insats column", test_insats_column},
    {"numbered columns without header", test_numbered_columns_without_header},
    {"version 2 items", test_version_2_items},
    {"many rows", test_many_rows},
};

int main(int argc, char **argv)
{
    snprintf(s_map, sizeof s_map, "%s", tu_src("tests/agents/fixtures/survey.ini"));
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
