/* report_text_test.c: the words staff read (agents/report_text.c).
 *
 * Names with å, ä and ö are listed among the dropped columns (a byte-wise
 * ASCII test used to leave them out), values and names with spaces or
 * commas are not; the import summary is Swedish by default and English
 * with --lang en, and the key=value line scripts read is the same in both. */
#include "report_text.h"
#include "testutil.h"

#include <string.h>
#include <unistd.h>

static void test_listable_names(void)
{
    static const struct {
        const char *name;
        bool listable;
    } cases[] = {
        {"Namn", true},
        {"Kön", true},
        {"Födelseår", true},
        {"Bostadsområde", true},
        {"E-post", true},
        {"Ålder_2", true},
        {"Émile", true},
        {"", false},
        {"Anna Andersson", false},
        {"a,b", false},
        {"x×y", false},
        {"\xc3", false},
        {"\xc3(", false},
        {"\xe2\x82\xac", false},
        {"tab\t", false},
        {"Övriga kommentarer", true},
        {"Vad tycker du om stödet", true},
        {"Åsa Öberg", false},
        {" Namn", false},
        {"Namn ", false},
        {"Två  ord", false},
        {"Karl Åke Berg", false},
    };
    for (size_t i = 0; i < TU_NELEMS(cases); i++)
        CHECK_EQ(report_name_is_listable(cases[i].name, 31), cases[i].listable);
    CHECK(!report_name_is_listable("Abcdefghijklmnopqrstuvwxyzåäö", 20)); /* too long */
}

/* Dropped columns for people: names, and "#N" (a column not listed by
 * its name) as "kolumn N" / "column N". */
static void test_names_print(void)
{
    char buf[200];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    report_names_print(f, REPORT_SV, "Namn,Övriga kommentarer,#12,#19");
    fputc('|', f);
    report_names_print(f, REPORT_EN, "#2");
    fclose(f);
    CHECK(!strcmp(buf, "Namn, Övriga kommentarer, kolumn 12, kolumn 19|column 2"));
}

static void test_lang_parse(void)
{
    report_lang_t l = REPORT_EN;
    CHECK_EQ(report_lang_parse(NULL, &l), 0);
    CHECK_EQ(l, REPORT_SV);
    CHECK_EQ(report_lang_parse("en", &l), 0);
    CHECK_EQ(l, REPORT_EN);
    CHECK_EQ(report_lang_parse("de", &l), -1);
    for (int m = 0; m < RT_N; m++) {
        CHECK(*report_text(REPORT_SV, (report_msg_t) m));
        CHECK(*report_text(REPORT_EN, (report_msg_t) m));
    }
}

static const char s_map[] = "[values]\nkind = participant_survey\ninstrument = deltagare_pagaende\n"
                            "[columns]\npersonnummer = Personnummer\ndate = Datum\nmode = Arbetsform\n"
                            "[answers]\nd_behov = Behov\nd_planering = Planering\n"
                            "[labels]\nInstämmer helt = 5\nStämmer ganska bra = 4\nVet ej = 0\n"
                            "5 = 5\n4 = 4\n3 = 3\n2 = 2\n1 = 1\n" /* numbers said, not guessed */
                            "[labels.mode]\nProjekt = project\nIntegrerad = integrated\n";

static void test_import_summary_sv_en(void)
{
    const char *dir = tu_tempdir();
    char data[256], log[256];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(log, sizeof log, "%s/out.log", dir);
    const char *map = tu_file_in(dir, "map.ini", s_map);
    const char *csv = tu_src("tests/agents/fixtures/utf8-comma.csv");
    char *keygen[] = {(char *) tu_bin("finsam-agent"), "-d", data, "keygen", "--forbund", "NV", NULL};
    CHECK_EQ(tu_run(keygen, log, 30000), 0);
    char *dry[] = {(char *) tu_bin("finsam-agent"),
                   "-d",
                   data,
                   "import",
                   (char *) csv,
                   "--mapping",
                   (char *) map,
                   "--dry-run",
                   NULL};
    unlink(log);
    CHECK_EQ(tu_run(dry, log, 30000), 0);
    CHECK(tu_file_has(log, ": 3 rad(er) lästa\n"));
    CHECK(tu_file_has(log, "  importerade (nya): 3\n"));
    CHECK(tu_file_has(log, "  fanns redan (skickade tidigare): 0\n"));
    CHECK(tu_file_has(log, "  provkörning (--dry-run): inget sparades\n"));
    CHECK(tu_file_has(log,
                      "  kolumner som aldrig lämnar den här datorn: 4 – Namn, Kön, Födelseår, Kommentar\n"));
    CHECK(tu_file_has(log, "rows=3 accepted=3 already_imported=0 corrected=0 rejected=0 dropped_fields=4 "
                           "dropped=Namn,Kön,Födelseår,Kommentar withdrawn_before=0\n"));
    char *real[] = {(char *) tu_bin("finsam-agent"),
                    "-d",
                    data,
                    "import",
                    (char *) csv,
                    "--mapping",
                    (char *) map,
                    "--lang",
                    "en",
                    NULL};
    CHECK_EQ(tu_run(real, log, 30000), 0);
    unlink(log);
    CHECK_EQ(tu_run(real, log, 30000), 0); /* again: already there */
    CHECK(tu_file_has(log, ": read 3 row(s)\n"));
    CHECK(tu_file_has(log, "  imported (new): 0\n"));
    CHECK(tu_file_has(log, "  already there (sent before): 3\n"));
    CHECK(
        tu_file_has(log, "  columns that never leave this computer: 4 – Namn, Kön, Födelseår, Kommentar\n"));
    CHECK(tu_file_has(log, "rows=3 accepted=0 already_imported=3 corrected=0 rejected=0"));
}

static const test_case_t s_cases[] = {
    {"listable names", test_listable_names},
    {"languages", test_lang_parse},
    {"dropped names for people", test_names_print},
    {"import summary in Swedish and English", test_import_summary_sv_en},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
