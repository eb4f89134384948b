/* mapping_draft_test.c: `finsam-agent mapping draft FILE` and `mapping
 * check FILE --mapping M` as staff run them (agents/import/draft.c).
 *
 * The repository's example export drafts into a mapping that loads as it
 * is and lists exactly the decisions it could not take; imported unedited
 * it is refused for those and nothing else; with the decisions written it
 * imports every row. A draft never shows a value of a column that may
 * identify someone, guesses dates by shape (dotted ones too) and names
 * Excel's damage; a draft never replaces an existing file; check explains
 * labels and refused rows without importing. */
#include "testutil.h"

#include <string.h>
#include <unistd.h>

static const char *s_dir;
static char s_data[256], s_log[256], s_cfg[256];

static int s_agent(const char *const *args)
{
    char *argv[18];
    int n = 0;
    argv[n++] = (char *) tu_bin("finsam-agent");
    argv[n++] = "--lang";
    argv[n++] = "en";
    argv[n++] = "-c";
    argv[n++] = s_cfg;
    argv[n++] = "--data-dir";
    argv[n++] = s_data;
    argv[n++] = "--log-level";
    argv[n++] = "warn";
    for (; *args && n < 17; args++)
        argv[n++] = (char *) *args;
    argv[n] = NULL;
    unlink(s_log);
    return tu_run(argv, s_log, 30000);
}

static void s_setup(void)
{
    s_dir = tu_tempdir();
    snprintf(s_data, sizeof s_data, "%s/data", s_dir);
    snprintf(s_log, sizeof s_log, "%s/out.log", s_dir);
    snprintf(s_cfg, sizeof s_cfg, "%s",
             tu_file_in(s_dir, "agent.ini", "[insatser]\nsteg1 = any\nsteg2 = any\n"));
    CHECK_EQ(s_agent((const char *[]){"--forbund", "NV", "keygen", NULL}), 0);
}

static const char *s_example(void)
{
    return tu_src("agents/examples/enkat-avslut.csv");
}

/* Nothing of a cell of Svars-ID, Personnummer, Namn, E-post, Telefon or
 * the comments shows. */
static void s_no_identifiers(const char *path)
{
    const char *never[] = {"1001", "1002",      "19850312",  "900101",     "7706153454",
                           "Anna", "Andersson", "Cecilia",   "example.se", "070",
                           "+46",  "Bra stöd",  "2026-01-12"};
    for (size_t i = 0; i < TU_NELEMS(never); i++)
        if (!tu_file_lacks(path, never[i]))
            tu_check_failed(__FILE__, __LINE__, "%s shows %s", path, never[i]);
}

static void test_example_draft(void)
{
    s_setup();
    char draft[300];
    snprintf(draft, sizeof draft, "%s/draft.ini", s_dir);
    CHECK_EQ(s_agent((const char *[]){"mapping", "draft", s_example(), "--out", draft, NULL}), 0);
    CHECK(tu_file_has(s_log, "draft.ini: drafted from "));
    CHECK(tu_file_has(s_log, "; 6 decisions needed (listed at its end)\n"));
    const char *lines[] = {
        "separator = semicolon\n",
        "kind = participant_survey\n",
        "instrument = deltagare_avslut   ; guessed from the answer columns; else deltagare_pagaende\n",
        "response_id = Svars-ID   ; 3 rows (values not shown; hashed, never sent)\n",
        "date = Slutdatum   ; a date in 3 of 3 rows\n",
        "personnummer = Personnummer   ; 3 of 3 rows a personnummer (10 or 12 digits; values not shown)\n",
        "insats = Insats   ; 2 distinct values: see [labels.insats] below\n",
        "gender = Kön\n",
        "birth_year = Födelseår   ; a year in 2 of 2 rows\n",
        "d_planering = Jag var med och planerade mitt stöd\n",
        "d_samordnare = Hade du en person som samordnade ditt stöd?\n",
        "d_plan_efter = Finns det en plan för vad som händer efter insatsen?\n",
        "; d_tid = Jag fick det stöd jag behövde   ; NEEDS A DECISION\n",
        "Ordinarie verksamhet = integrated   ; 1 row\n",
        "Instämmer helt = 5   ; 7 rows in all columns: Stämmer helt\n",
        ";   \"Ja\": 2 rows = 1 Ja\n",
        ";   4 = ?   ; 1 row; NEEDS A DECISION: a bare number; say which answer it is (1 = Ja, 5 = Stämmer "
        "helt)\n",
        ";   column 2 \"Startdatum\": another date\n",
        ";   column 5 \"Namn\": may identify someone\n",
        ";   column 20 \"Övriga kommentarer\": free text\n",
        "; column 12 \"Jag fick det stöd jag behövde\", scale agree5: by its words d_tid 0.40 (\"Jag fick "
        "den "
        "tid jag behövde\"), d_behov 0.29 (\"Stödet är anpassat efter mina behov\"), ",
        "; the questions of deltagare_avslut no column is sure to be (any may be the right one above):\n"
        ";   d_behov (agree5): \"Stödet är anpassat efter mina behov\"\n",
        "; Decisions needed: 6\n",
        ";   1. column 12 \"Jag fick det stöd jag behövde\": which item is it? best guess d_tid (0.40); "
        "candidates "
        "d_tid 0.40, d_behov 0.29, d_stod_leva 0.25\n",
        ";   4. column 10 \"Kön\": what is \"Vill inte uppge\" (1 row) as gender? write `Vill inte uppge =` "
        "(nothing after '=': the row is sent without gender; or other, woman, man) under [labels.gender]; a "
        "row "
        "whose label is not mapped is refused, and with it the whole file\n",
        ";   5. column 13 \"Jag var med och planerade mitt stöd\" (d_planering): what does \"4\" mean (1 "
        "row)? write "
        "`4 = LABEL` in [labels.d_planering] (a bare number is never read as a scale value unasked)\n",
    };
    for (size_t i = 0; i < TU_NELEMS(lines); i++)
        if (!tu_file_has(draft, lines[i]))
            tu_check_failed(__FILE__, __LINE__, "the draft lacks: %s", lines[i]);
    s_no_identifiers(draft);

    /* Unedited, it loads and refuses exactly the rows of the decisions. */
    CHECK_EQ(s_agent((const char *[]){"--mapping", draft, "--dry-run", "import", s_example(), NULL}), 65);
    CHECK(tu_file_has(s_log, "rows=3 accepted=0 already_imported=0 corrected=0 rejected=2"));
    CHECK(tu_file_has(s_log, "enkat-avslut.csv:5: column 10 \"Kön\": must be one of woman|man|other\n"));
    CHECK(tu_file_has(
        s_log, "enkat-avslut.csv:4: column 13 \"Jag var med och planerade mitt stöd\": holds the number 4 "
               "for an agree5 item; say what they mean in [labels.d_planering], e.g. 5 = Stämmer "
               "helt, 1 = Stämmer inte alls; 1 row\n"));
    /* two rows, the summary, the key=value summary, "nothing stored" */
    CHECK_EQ(tu_count_in_file(s_log, "enkat-avslut.csv:"), 5);

    /* `mapping check` says the same before any import: the rows the import
     * refuses, with its own reasons (a gender label the field does not
     * know), and the draft's lines still marked as a decision. */
    CHECK_EQ(s_agent((const char *[]){"--mapping", draft, "mapping", "check", s_example(), NULL}), 65);
    CHECK(tu_file_has(s_log, "rows: 1 pass the mapping, 2 refused\n"));
    CHECK(
        tu_file_has(s_log, "enkat-avslut.csv:5: column 10 \"Kön\": must be one of woman|man|other; 1 row\n"));
    CHECK(tu_file_has(s_log, ": 5, marked NEEDS A DECISION on line 25, 29, 31, 62, 71;"));
    CHECK(tu_file_has(s_log, "; decide each and remove its mark\n"));
    /* Columns 12, 14 and 15 hold answers on a catalogue scale and are not
     * read while their decision is open. */
    CHECK(tu_file_has(s_log,
                      "column 12 \"Jag fick det stöd jag behövde\": not read, though its answers are on a "
                      "catalogue scale; if it is one of the catalogue's questions, map it in [answers]\n"));
    s_no_identifiers(s_log);

    /* The decisions written, as a person would: every row imports. */
    char *text = tu_read_file(draft);
    CHECK(text);
    char edited[16384];
    snprintf(
        edited, sizeof edited,
        "%s\n[answers]\nd_behov = Jag fick det stöd jag behövde\nd_inflytande = Jag kunde påverka stödet\n"
        "d_tid = Insatsen pågick lagom länge\n[labels.gender]\nVill inte uppge = other\n"
        "[labels.d_planering]\n4 = Stämmer ganska bra\n",
        text);
    free(text);
    const char *decided = tu_file_in(s_dir, "decided.ini", edited);
    CHECK_EQ(s_agent((const char *[]){"--mapping", decided, "import", s_example(), NULL}), 0);
    CHECK(tu_file_has(s_log, "rows=3 accepted=3 already_imported=0 corrected=0 rejected=0"));
    /* The same events as the example's own mapping. */
    CHECK_EQ(s_agent((const char *[]){"--mapping", tu_src("agents/examples/enkat-avslut.ini"), "import",
                                      s_example(), NULL}),
             0);
    CHECK(tu_file_has(s_log, "rows=3 accepted=0 already_imported=3"));
}

static void test_draft_never_replaces(void)
{
    s_setup();
    const char *old = tu_file_in(s_dir, "mine.ini", "; edited by hand\n");
    CHECK_EQ(s_agent((const char *[]){"mapping", "draft", s_example(), "--out", old, NULL}), 73);
    CHECK(tu_file_has(s_log, "mine.ini: cannot create: File exists (a draft never replaces a mapping; choose "
                             "another name)\n"));
    CHECK(tu_file_has(old, "; edited by hand\n"));
    CHECK_EQ(s_agent((const char *[]){"--lang", "sv", "mapping", "draft", s_example(), "--out", old, NULL}),
             73);
    CHECK(tu_file_has(s_log, "mine.ini: finns redan; ett förslag ersätter aldrig en mappning: välj ett annat "
                             "namn\n"));
    CHECK(tu_file_has(old, "; edited by hand\n"));
    /* To stdout by default. */
    CHECK_EQ(s_agent((const char *[]){"mapping", "draft", s_example(), NULL}), 0);
    CHECK(tu_file_has(s_log, "[answers]\n"));
    s_no_identifiers(s_log);
}

static void test_shapes(void)
{
    s_setup();
    /* TAB separated; a personnummer column under another name; dotted
     * dates; Excel serials and shortened numbers; bare numbers on a
     * yes/no question. */
    const char *f = tu_file_in(s_dir, "x.tsv",
                               "Id-nummer\tSvarsdatum\tStart\tHar du en plan för vad som händer efter?\n"
                               "850312-1231\t14.03.2026\t45000\t1\n"
                               "1,98503E+11\t15.03.2026\t45001\t0\n"
                               "900101-2344\t16.03.2026\t45002\t1\n");
    CHECK_EQ(s_agent((const char *[]){"mapping", "draft", f, NULL}), 0);
    CHECK(tu_file_has(s_log, "separator = tab\n"));
    CHECK(tu_file_has(s_log, "personnummer = Id-nummer   ; 2 of 3 rows a personnummer"));
    CHECK(tu_file_has(s_log, "date = Svarsdatum   ; a date in 3 of 3 rows\n"));
    CHECK(tu_file_has(s_log, "column 1 \"Id-nummer\": 1 row holds a number Excel shortened (1,98503E+11); "
                             "format the column as Text before exporting, or export as .xlsx\n"));
    CHECK(tu_file_has(s_log, ";   column 3 \"Start\": another date\n"));
    CHECK(tu_file_has(s_log, ";   1 = ?   ; 2 rows; NEEDS A DECISION: a bare number"));
    CHECK(tu_file_lacks(s_log, "850312") && tu_file_lacks(s_log, "900101"));
}

/* The insats column's names with proposed codes and the [insatser] lines
 * agent.ini needs; a name several rows do not share, or one that reads as
 * a person's name, is not shown. */
static void test_insats_names(void)
{
    s_setup();
    const char *f = tu_file_in(s_dir, "insats.csv",
                               "Personnummer;Datum;Insats\n"
                               "850312-1231;2026-03-14;Steg för steg\n"
                               "900101-2344;2026-03-14;Steg för steg\n"
                               "7706153454;2026-03-14;Steg för steg\n"
                               "9202296787;2026-03-14;Arbetsnära rehab\n"
                               "8811305674;2026-03-14;Arbetsnära rehab\n"
                               "6505057890;2026-03-14;Arbetsnära rehab\n"
                               "8503121231;2026-03-14;Anna Andersson\n"
                               "9001012344;2026-03-14;Anna Andersson\n"
                               "7706153454;2026-03-14;Anna Andersson\n"
                               "9202296787;2026-03-14;Lotsen\n"
                               "8811305674;2026-03-14;IPS Västerås\n"
                               "6505057890;2026-03-14;IPS Västerås\n"
                               "9202296787;2026-03-14;IPS Västerås\n");
    CHECK_EQ(s_agent((const char *[]){"mapping", "draft", f, NULL}), 0);
    CHECK(tu_file_has(s_log, "insats = Insats   ; 5 distinct values: see [labels.insats] below\n"));
    CHECK(tu_file_has(s_log,
                      "\n[labels.insats]     ; column 3 \"Insats\": the export's names -> insats codes "
                      "of [insatser] in agent.ini\n"
                      "Steg för steg = stegforsteg   ; 3 rows\n"
                      "Arbetsnära rehab = arbetsnararehab   ; 3 rows\n"
                      "IPS Västerås = ipsvasteras   ; 3 rows\n"
                      "; 2 more values not shown (fewer than 3 rows each, or they may be personal data): "
                      "4 rows\n"));
    CHECK(tu_file_has(s_log, ";   [insatser]\n;   stegforsteg = any\n;   arbetsnararehab = any\n"
                             ";   ipsvasteras = any\n"));
    /* What is not shown is a decision: staff look the names up. */
    CHECK(tu_file_has(s_log, "column 3 \"Insats\": 2 insats names are not shown here (4 rows): look them up "
                             "in the export and write NAME = code under [labels.insats] for each"));
    CHECK(tu_file_lacks(s_log, "Anna") && tu_file_lacks(s_log, "Lotsen"));
}

static void test_check_explains(void)
{
    s_setup();
    CHECK_EQ(s_agent((const char *[]){"--mapping", tu_src("agents/examples/enkat-avslut.ini"), "mapping",
                                      "check", s_example(), NULL}),
             0);
    CHECK(tu_file_has(s_log, "enkat-avslut.csv: 3 rows, 20 columns; the mapping reads 15, drops 5 "
                             "(Startdatum, Namn, E-post, Telefon, Övriga kommentarer)\n"));
    CHECK(tu_file_has(s_log, "column 4 \"Personnummer\": personnummer (values not shown)\n"));
    CHECK(tu_file_has(s_log,
                      "column 12 \"Jag fick det stöd jag behövde\": item d_behov, scale agree5, required\n"
                      "  \"Instämmer helt\" = 5: 2 rows\n"
                      "  \"Instämmer delvis\" = 3: 1 row\n"));
    CHECK(tu_file_has(s_log, "  \"Vill inte uppge\" = other: 1 row\n"));
    CHECK(tu_file_has(s_log, "rows: 3 pass the mapping, 0 refused\n"));
    s_no_identifiers(s_log);
    /* Nothing was imported. */
    CHECK_EQ(s_agent((const char *[]){"status", NULL}), 0);
    CHECK(tu_file_has(s_log, "queued=0"));
    /* Without --mapping: usage. */
    CHECK_EQ(s_agent((const char *[]){"mapping", "check", s_example(), NULL}), 64);
}

static const test_case_t s_cases[] = {
    {"example draft", test_example_draft},
    {"draft never replaces", test_draft_never_replaces},
    {"shapes", test_shapes},
    {"check explains", test_check_explains},
    {"insats names", test_insats_names},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
