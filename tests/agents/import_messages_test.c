/* import_messages_test.c: every message of a CSV import that tells staff
 * what to change, provoked through `finsam-agent import FILE --mapping M
 * --dry-run` and checked word for word (docs/import-csv.md quotes them):
 * did you mean for columns, fields, items and sections; an unknown answer
 * label named once with its rows; the separator hint; a mapping line too
 * long; a personnummer Excel shortened; bare numbers on a yes/no item
 * refused without a value map. And what is no longer refused: rows of
 * bare separators, dotted dates, a '+' personnummer of someone turning
 * 100 this year.
 *
 * One table row per message: the mapping, the file, the exit status, the
 * line that must appear whole, and how often. */
#include "testutil.h"

#include <string.h>
#include <unistd.h>

typedef struct {
    const char *name;
    const char *ini;  /* mapping text; NULL: s_ini */
    const char *file; /* "x.csv" or "x.tsv" */
    const char *csv;
    int status;
    const char *want; /* a whole line of the output, after "DIR/" */
    int times;        /* how often want appears (1 unless said) */
    const char *lang; /* --lang; NULL: the default, Swedish */
} s_msg_t;

static const char s_ini[] = "[values]\n"
                            "kind = participant_survey\n"
                            "instrument = deltagare_avslut\n"
                            "mode = project\n"
                            "[columns]\n"
                            "personnummer = Personnummer\n"
                            "date = Datum\n"
                            "[answers]\n"
                            "d_behov = Behov\n"
                            "d_samordnare = Samordnare\n";

#define S_HEAD "Personnummer;Datum;Behov;Samordnare\n"

static const s_msg_t s_msgs[] = {
    {"column did you mean", NULL, "x.csv", "Personnummer;Datun;Behov;Samordnare\n", 65,
     "x.csv:1: rubrikraden: mappningen: kolumnen \"Datum\" (för date) finns inte i rubrikraden; menade du "
     "\"Datun\"?\n",
     1, NULL},
    {"every missing column at once", NULL, "x.csv", "Personnummer;Datun;Behv;Samordnare\n", 65,
     "x.csv:1: rubrikraden: mappningen: kolumnen \"Datum\" (för date) finns inte i rubrikraden; menade du "
     "\"Datun\"?; även kolumnen \"Behov\" (för d_behov) finns inte i rubrikraden; menade du \"Behv\"?\n",
     1, NULL},
    {"column did you mean, in English", NULL, "x.csv", "Personnummer;Datun;Behov;Samordnare\n", 65,
     "x.csv:1: header: mapping: column \"Datum\" (for date) is not in the header; did you mean \"Datun\"?\n",
     1, "en"},
    {"field did you mean", "[values]\nkind = participant_survey\n[columns]\npersonnumer = Personnummer\n",
     "x.csv", S_HEAD, 78,
     "m.ini:4: personnumer är inget fält i importformatet (docs/import-jsonl.md); menade du "
     "personnummer?\n",
     1, NULL},
    {"item did you mean", "[values]\nkind = participant_survey\n[answers]\nd_behv = Behov\n", "x.csv", S_HEAD,
     78, "m.ini:4: d_behv är ingen fråga i katalogversion 2; menade du d_behov?\n", 1, NULL},
    {"section did you mean", "[values]\nkind = participant_survey\n[answer]\nd_behov = Behov\n", "x.csv",
     S_HEAD, 78,
     "m.ini:4: okänt avsnitt [answer] (file, values, columns, answers, labels, labels.NAME); menade du "
     "answers?\n",
     1, NULL},
    {"section did you mean, in English", "[values]\nkind = participant_survey\n[answer]\nd_behov = Behov\n",
     "x.csv", S_HEAD, 78,
     "m.ini:4: unknown section [answer] (file, values, columns, answers, labels, labels.NAME); did you mean "
     "answers?\n",
     1, "en"},
    {"unknown label once per label", NULL, "x.csv",
     S_HEAD "850312-1231;2026-03-14;Instämmer nästan;Ja\n"
            "900101-2344;2026-03-14;Instämmer nästan;Ja\n"
            "7706153454;2026-03-14;Stämmer helt;Ja\n"
            "9202296787;2026-03-14;Instämmer nästan;Ja\n",
     65,
     "x.csv:2: kolumn 3 \"Behov\": okänd svarsetikett \"Instämmer nästan\" (ange den i [labels] eller "
     "[labels.d_behov]); 3 rader\n",
     1, NULL},
    {"unknown label once per label, in English", NULL, "x.csv",
     S_HEAD "850312-1231;2026-03-14;Instämmer nästan;Ja\n"
            "900101-2344;2026-03-14;Instämmer nästan;Ja\n",
     65,
     "x.csv:2: column 3 \"Behov\": unknown answer label \"Instämmer nästan\" (map it in [labels] or "
     "[labels.d_behov]); 2 rows\n",
     1, "en"},
    {"separator hint",
     "[file]\nseparator = tab\n[values]\nkind = participant_survey\n"
     "[columns]\npersonnummer = Personnummer\n",
     "x.tsv", "Personnummer,Datum,Behov\n850312-1231,2026-03-14,5\n", 65,
     "x.tsv:1: rubrikraden: mappningen: kolumnen \"Personnummer\" (för personnummer) finns inte i "
     "rubrikraden; "
     "rubrikraden har 1 kolumn men innehåller ','; är skiljetecknet ','? ange `separator = comma` i [file]\n",
     1, NULL},
    {"line too long",
     "[values]\nkind = participant_survey\n[answers]\n"
     "d_behov = Jag fick det stöd jag behövde, när jag behövde det, på det sätt jag behövde det, av de "
     "personer jag behövde, så länge jag behövde det, och det gjorde skillnad för mig och min familj i "
     "vardagen\n",
     "x.csv", S_HEAD, 78,
     "m.ini:4: raden är för lång (högst 198 byte); ange en lång rubrik med dess början: Text*\n", 1, NULL},
    {"excel comma", NULL, "x.csv", S_HEAD "1,98503E+11;2026-03-14;Stämmer helt;Ja\n", 65,
     "x.csv:2: kolumn 1 \"Personnummer\": talet är förkortat av Excel; formatera kolumnen som Text före "
     "exporten, eller exportera som .xlsx\n",
     1, NULL},
    {"excel point, in English", NULL, "x.csv", S_HEAD "1.98503E+11;2026-03-14;Stämmer helt;Ja\n", 65,
     "x.csv:2: column 1 \"Personnummer\": this is a number Excel shortened; format the column as Text before "
     "exporting, or export as .xlsx\n",
     1, "en"},
    {"numeric yes/no refused", NULL, "x.csv",
     S_HEAD "850312-1231;2026-03-14;Stämmer helt;1\n900101-2344;2026-03-14;Stämmer helt;0\n", 65,
     "x.csv:2: kolumn 4 \"Samordnare\": innehåller talen 0 och 1 för en ja/nej-fråga; ange vad de betyder i "
     "[labels.d_samordnare], t.ex. 1 = Ja, 0 = Nej; 2 rader\n",
     1, NULL},
    {"numeric yes/no with a value map",
     "[values]\nkind = participant_survey\ninstrument = deltagare_avslut\n"
     "mode = project\n[columns]\npersonnummer = Personnummer\ndate = Datum\n"
     "[answers]\nd_behov = Behov\nd_samordnare = Samordnare\n"
     "[labels.d_samordnare]\n1 = Ja\n0 = Nej\n",
     "x.csv", S_HEAD "850312-1231;2026-03-14;Stämmer helt;1\n900101-2344;2026-03-14;Stämmer helt;0\n", 0,
     "x.csv: rows=2 accepted=2 already_imported=0 corrected=0 rejected=0", 1, NULL},
    {"bare separator rows skipped", NULL, "x.csv",
     S_HEAD "850312-1231;2026-03-14;Stämmer helt;Ja\n;;;\n;;;\n \t;;;\n", 0,
     "x.csv: rows=1 accepted=1 already_imported=0 corrected=0 rejected=0", 1, NULL},
    {"excel date serial", NULL, "x.csv", S_HEAD "850312-1231;46095;Stämmer helt;Ja\n", 65,
     "x.csv:2: kolumn 2 \"Datum\": talet är ett datum som Excel sparat som löpnummer; formatera kolumnen som "
     "datum (ÅÅÅÅ-MM-DD) före exporten, eller exportera som .xlsx\n",
     1, NULL},
    {"excel date serial, in English", NULL, "x.csv", S_HEAD "850312-1231;46095;Stämmer helt;Ja\n", 65,
     "x.csv:2: column 2 \"Datum\": this is an Excel date number, not a date; format the column as a date "
     "(YYYY-MM-DD) before exporting, or export as .xlsx\n",
     1, "en"},
    {"a dropped question named by its number", NULL, "x.csv",
     "Personnummer;Datum;Behov;Samordnare;Vad tyckte du? (fritext)\n"
     "850312-1231;2026-03-14;Stämmer helt;Ja;Bra\n",
     0,
     "x.csv: rows=1 accepted=1 already_imported=0 corrected=0 rejected=0 dropped_fields=1 dropped=#5 "
     "withdrawn_before=0\n",
     1, NULL},
    {"a label in the wrong section",
     "[values]\nkind = participant_survey\n[columns]\nmode = Arbetsform\n"
     "[labels.mode]\nProjekt = project\n1 = Ja\n",
     "x.csv", S_HEAD, 78,
     "m.ini:7: [labels.mode]: \"Ja\" är inte en av project|integrated; står raden i rätt avsnitt?\n", 1,
     NULL},
    {"an insats label that is no code",
     "[values]\nkind = participant_survey\n[columns]\ninsats = Insats\n"
     "[labels.insats]\nSteg för steg = steg för steg\n",
     "x.csv", S_HEAD, 78,
     "m.ini:6: [labels.insats]: \"steg för steg\" är ingen insatskod (1-31 bokstäver a-z, siffror, '_' eller "
     "'-'; inga mellanslag, inga å ä ö)\n",
     1, NULL},
    {"a gender label mapped to nothing: sent without gender",
     "[values]\nkind = participant_survey\ninstrument = deltagare_avslut\nmode = project\n"
     "[columns]\npersonnummer = Personnummer\ndate = Datum\ngender = Kön\n[answers]\nd_behov = Behov\n"
     "[labels.gender]\nKvinna = woman\nVill ej uppge =\n",
     "x.csv",
     "Personnummer;Datum;Kön;Behov\n850312-1231;2026-03-14;Vill ej uppge;Stämmer helt\n"
     "900101-2344;2026-03-14;Kvinna;Stämmer helt\n",
     0, "x.csv: rows=2 accepted=2 already_imported=0 corrected=0 rejected=0", 1, NULL},
    {"a personnummer that lost its leading zero", NULL, "x.csv",
     S_HEAD "512121239;2026-03-14;Stämmer helt;Ja\n", 65,
     "x.csv:2: kolumn 1 \"Personnummer\": 9 siffror: en talcell har tappat den inledande nollan i ett "
     "10-siffrigt personnummer (född 2000-2009); formatera kolumnen som Text före exporten, eller exportera "
     "12-siffrig form\n",
     1, NULL},
    {"dotted dates", NULL, "x.csv", S_HEAD "850312-1231;14.03.2026;Stämmer helt;Ja\n", 0,
     "x.csv: rows=1 accepted=1 already_imported=0 corrected=0 rejected=0", 1, NULL},
    {"plus personnummer turning 100", NULL, "x.csv",
     S_HEAD "261220+4566;2026-03-14;Stämmer helt;Ja\n19261220-4566;2026-03-14;Stämmer helt;Ja\n", 0,
     "x.csv: rows=2 accepted=1 already_imported=1 corrected=0 rejected=0", 1, NULL},
};

static void s_case(const s_msg_t *m)
{
    const char *dir = tu_tempdir();
    char data[256], log[256], file[256], map[256];
    snprintf(data, sizeof data, "%s/data", dir);
    snprintf(log, sizeof log, "%s/out.log", dir);
    char *keygen[] = {(char *) tu_bin("finsam-agent"), "--data-dir", data, "--forbund", "NV", "keygen", NULL};
    CHECK_EQ(tu_run(keygen, log, 30000), 0);
    snprintf(map, sizeof map, "%s", tu_file_in(dir, "m.ini", m->ini ? m->ini : s_ini));
    snprintf(file, sizeof file, "%s", tu_file_in(dir, m->file, m->csv));
    char *argv[] = {(char *) tu_bin("finsam-agent"),
                    "--lang",
                    (char *) (m->lang ? m->lang : "sv"),
                    "--data-dir",
                    data,
                    "--log-level",
                    "warn",
                    "--mapping",
                    map,
                    "--dry-run",
                    "import",
                    file,
                    NULL};
    unlink(log);
    CHECK_EQ(tu_run(argv, log, 30000), m->status);
    /* The paths are the test's own: the lines are checked after them. */
    char want[1024];
    snprintf(want, sizeof want, "%s/%s", dir, m->want);
    if (tu_count_in_file(log, want) != m->times) {
        char *text = tu_read_file(log);
        fprintf(stderr, "want %d times: %s\ngot:\n%s\n", m->times, want, text ? text : "(none)");
        free(text);
    }
    CHECK_EQ(tu_count_in_file(log, want), m->times);
    /* A personnummer never shows, whatever the message. */
    CHECK(tu_file_lacks(log, "850312") && tu_file_lacks(log, "4566") && tu_file_lacks(log, "98503"));
}

#define S_CASE(i)                                                                                            \
    static void s_case_##i(void)                                                                             \
    {                                                                                                        \
        s_case(&s_msgs[i]);                                                                                  \
    }
S_CASE(0)
S_CASE(1)
S_CASE(2)
S_CASE(3)
S_CASE(4)
S_CASE(5)
S_CASE(6)
S_CASE(7)
S_CASE(8)
S_CASE(9)
S_CASE(10)
S_CASE(11)
S_CASE(12)
S_CASE(13)
S_CASE(14)
S_CASE(15)
S_CASE(16)
S_CASE(17)
S_CASE(18)
S_CASE(19)
S_CASE(20)
S_CASE(21)
S_CASE(22)
S_CASE(23)
S_CASE(24)

static const test_case_t s_cases[] = {
    {"column did you mean", s_case_0},
    {"every missing column at once", s_case_1},
    {"column did you mean, in English", s_case_2},
    {"field did you mean", s_case_3},
    {"item did you mean", s_case_4},
    {"section did you mean", s_case_5},
    {"section did you mean, in English", s_case_6},
    {"unknown label once per label", s_case_7},
    {"unknown label once per label, in English", s_case_8},
    {"separator hint", s_case_9},
    {"line too long", s_case_10},
    {"excel comma", s_case_11},
    {"excel point, in English", s_case_12},
    {"numeric yes/no refused", s_case_13},
    {"numeric yes/no with a value map", s_case_14},
    {"bare separator rows skipped", s_case_15},
    {"excel date serial", s_case_16},
    {"excel date serial, in English", s_case_17},
    {"a dropped question named by its number", s_case_18},
    {"a label in the wrong section", s_case_19},
    {"an insats label that is no code", s_case_20},
    {"a gender label mapped to nothing: sent without gender", s_case_21},
    {"a personnummer that lost its leading zero", s_case_22},
    {"dotted dates", s_case_23},
    {"plus personnummer turning 100", s_case_24},
};

int main(int argc, char **argv)
{
    _Static_assert(TU_NELEMS(s_cases) == TU_NELEMS(s_msgs), "one case per message");
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
