/* csvimport_unit_test.c: agents/import/csvimport.c through csvimport.h —
 * a site's CSV export into the outbox with a mapping: the same rows in
 * four encodings and spellings (tests/agents/fixtures/) queue byte-for-byte
 * the same events; one bad row stores nothing, and its error names the
 * physical line where the record starts, the column and its header, never
 * the cell. `finsam-agent import FILE.csv` as a user runs it is
 * tests/agents/csvimport_test.c. */
#include "testutil.h"

#include "anonymize.h"
#include "catalogue.h"
#include "csvimport.h"
#include "mapping.h"
#include "outbox.h"

#include <string.h>
#include <sys/stat.h>

typedef struct {
    catalogue_t *cat;
    anon_t *anon;
    mapping_t *map;
    outbox_t *ob;
    char *report, *errors;
    size_t report_len, errors_len;
    FILE *report_f, *errors_f;
    import_opts_t o;
} s_site_t;

static void s_open(s_site_t *s)
{
    char err[512], dir[300];
    memset(s, 0, sizeof *s);
    CHECK(catalogue_load(&s->cat, NULL, err, sizeof err) == 0);
    uint8_t key[ANON_KEY_LEN];
    memset(key, 0x42, sizeof key);
    s->anon = anon_new(key);
    CHECK(mapping_load(&s->map, tu_src("tests/agents/fixtures/survey.ini"), s->cat, err, sizeof err) ==
          FIN_OK);
    snprintf(dir, sizeof dir, "%s/outbox", tu_tempdir());
    CHECK(mkdir(dir, 0700) == 0);
    CHECK(outbox_open(&s->ob, dir, err, sizeof err) == FIN_OK);
    s->report_f = open_memstream(&s->report, &s->report_len);
    s->errors_f = open_memstream(&s->errors, &s->errors_len);
    s->o = (import_opts_t){.cat = s->cat,
                           .anon = s->anon,
                           .forbund = "NV",
                           .outbox = s->ob,
                           .report = s->report_f,
                           .errors = s->errors_f};
}

static void s_close(s_site_t *s)
{
    fclose(s->report_f);
    fclose(s->errors_f);
    free(s->report);
    free(s->errors);
    outbox_close(&s->ob);
    mapping_destroy(&s->map);
    anon_destroy(&s->anon);
    catalogue_destroy(&s->cat);
}

static fin_err_t s_import(s_site_t *s, const char *path)
{
    char err[512] = "";
    fin_err_t rc = csvimport_file(path, s->map, &s->o, err, sizeof err);
    fflush(s->report_f);
    fflush(s->errors_f);
    fprintf(stderr, "%s -> %d %s\nreport: %s\nerrors: %s\n", path, rc, err, s->report, s->errors);
    return rc;
}

/* Every queued event's bytes, in queue order, concatenated. */
typedef struct {
    char *all;
    size_t len;
    int n;
} s_events_t;

static int s_take(uint64_t seq, const uint8_t *bytes, size_t len, void *arg)
{
    (void) seq;
    s_events_t *e = arg;
    e->all = realloc(e->all, e->len + len);
    memcpy(e->all + e->len, bytes, len);
    e->len += len;
    e->n++;
    return 0;
}

static void test_encodings_give_the_same_events(void)
{
    static const char *const files[] = {"utf8-comma.csv", "utf8-bom-semicolon.csv",
                                        "latin1-semicolon-crlf.csv", "utf8-tab.tsv"};
    s_events_t first = {0};
    for (size_t i = 0; i < TU_NELEMS(files); i++) {
        s_site_t s;
        s_open(&s);
        char rel[128];
        snprintf(rel, sizeof rel, "tests/agents/fixtures/%s", files[i]);
        CHECK_EQ(s_import(&s, tu_src(rel)), FIN_OK);
        s_events_t e = {0};
        CHECK_EQ(outbox_peek(s.ob, 0, 100, s_take, &e), 3);
        if (i == 0) {
            first = e;
        } else {
            /* Same site key, same rows: the same events, byte for byte. */
            CHECK_EQ(e.len, first.len);
            CHECK(!memcmp(e.all, first.all, e.len));
            free(e.all);
        }
        /* The unmapped columns (Namn, Kommentar) are counted, not read. */
        CHECK(!strstr(s.report, "Anna") && !strstr(s.report, "Bra"));
        s_close(&s);
    }
    free(first.all);
}

static void test_bad_row_stores_nothing(void)
{
    s_site_t s;
    s_open(&s);
    /* Row 1 spans lines 2-3 (a quoted newline); row 2 starts on line 4. */
    const char *path =
        tu_file_in(tu_tempdir(), "export.csv",
                   "Personnummer;Namn;Datum;Arbetsform;Kön;Födelseår;Behov;Planering;Kommentar\n"
                   "19850312-1231;Anna;2026-03-14;Projekt;Kvinna;1985;Instämmer helt;3;\"två\n"
                   "rader\"\n"
                   "900101-2344;Bo;2026-03-14;Projekt;Man;1990;Instämmer kanske;3;\n");
    CHECK_EQ(s_import(&s, path), FIN_EINPUT);
    size_t queued = 99;
    CHECK(outbox_count(s.ob, &queued, NULL, NULL, NULL, 0) == FIN_OK);
    CHECK_EQ(queued, 0); /* all or nothing */
    char where[400];
    snprintf(where, sizeof where, "%s:4:", path);
    CHECK(strstr(s.errors, where));
    CHECK(strstr(s.errors, "kolumn 7") && strstr(s.errors, "\"Behov\""));
    /* A survey label is named, once, with its rows, in Swedish (the
     * report's default); a cell of the personnummer column never is. */
    CHECK(strstr(s.errors, "kolumn 7 \"Behov\": okänd svarsetikett \"Instämmer kanske\" (ange den i "
                           "[labels] eller [labels.d_behov]); 1 rad\n"));
    CHECK(!strstr(s.errors, "900101"));
    s_close(&s);
}

static void test_header_must_fit(void)
{
    s_site_t s;
    s_open(&s);
    const char *path = tu_file_in(tu_tempdir(), "export.csv",
                                  "Personnummer;Namn;Arbetsform;Kön;Födelseår;Behov;Planering\n"
                                  "19850312-1231;Anna;Projekt;Kvinna;1985;Instämmer helt;3\n");
    char err[512] = "";
    CHECK_EQ(csvimport_file(path, s.map, &s.o, err, sizeof err), FIN_EINPUT);
    fflush(s.errors_f);
    fprintf(stderr, "err: %s\nerrors: %s\n", err, s.errors);
    char where[400];
    snprintf(where, sizeof where, "%s:1: rubrikraden: mappningen: kolumnen", path);
    CHECK(strstr(s.errors, where) && strstr(s.errors, "\"Datum\""));
    size_t queued = 99;
    CHECK(outbox_count(s.ob, &queued, NULL, NULL, NULL, 0) == FIN_OK);
    CHECK_EQ(queued, 0);
    s_close(&s);
}

static void test_missing_file(void)
{
    s_site_t s;
    s_open(&s);
    char path[400], err[512] = "";
    snprintf(path, sizeof path, "%s/absent.csv", tu_tempdir());
    CHECK_EQ(csvimport_file(path, s.map, &s.o, err, sizeof err), FIN_ENOTFOUND);
    CHECK(strstr(err, "absent.csv"));
    s_close(&s);
}

static void test_is_csv_by_name(void)
{
    CHECK(csvimport_is_csv("export.csv"));
    CHECK(csvimport_is_csv("EXPORT.CSV"));
    CHECK(csvimport_is_csv("a/b.tsv"));
    CHECK(csvimport_is_csv("x.Txt"));
    CHECK(!csvimport_is_csv("rows.jsonl"));
    CHECK(!csvimport_is_csv("csv"));
    CHECK(!csvimport_is_csv("export.csv.part"));
}

static const test_case_t s_cases[] = {
    {"encodings give the same events", test_encodings_give_the_same_events},
    {"bad row stores nothing", test_bad_row_stores_nothing},
    {"header must fit", test_header_must_fit},
    {"missing file", test_missing_file},
    {"is csv by name", test_is_csv_by_name},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
