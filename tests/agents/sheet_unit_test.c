/* sheet_unit_test.c: agents/import/sheet.c through sheet.h: the cells of
 * real .xlsx files (tests/agents/fixtures/xlsx/, written by openpyxl with
 * make_fixtures.py there) read as the text Excel shows: shared strings with
 * rich-text and phonetic runs, numbers without exponent or float noise,
 * date serials in both date systems (with Lotus's 1900-02-29), booleans,
 * gaps mid-row, rows of empty cells skipped, sheets by name and number.
 * Hostile archives (truncated, a part that unpacks too far) are refused
 * with the part named. `finsam-agent import FILE.xlsx` against the same
 * data as CSV is tests/agents/xlsx_test.py. */
#include "testutil.h"

#include "sheet.h"

#include <string.h>

/* The rows read, as "row: cell|cell|..." lines. */
typedef struct {
    char text[4096];
    int stop_after; /* rows before the callback says stop; 0: never */
    int rows;
} s_rows_t;

static int s_collect(void *arg, const char *const *cells, size_t ncells, long row, const char *sheet)
{
    s_rows_t *r = arg;
    size_t n = strlen(r->text);
    n += (size_t) snprintf(r->text + n, sizeof r->text - n, "%s!%ld:", sheet, row);
    for (size_t i = 0; i < ncells && n < sizeof r->text; i++)
        n += (size_t) snprintf(r->text + n, sizeof r->text - n, "%s%s", i ? "|" : "", cells[i]);
    if (n < sizeof r->text)
        snprintf(r->text + n, sizeof r->text - n, "\n");
    r->rows++;
    return r->stop_after && r->rows >= r->stop_after ? -1 : 0;
}

static fin_err_t s_read(const char *fixture, const char *sheet, s_rows_t *r, char *err, size_t errlen)
{
    char rel[128];
    snprintf(rel, sizeof rel, "tests/agents/fixtures/xlsx/%s", fixture);
    fin_err_t rc = sheet_read(tu_src(rel), fixture, sheet, s_collect, r, err, errlen);
    if (rc != FIN_OK)
        fprintf(stderr, "(%s)\n", err); /* shown when a case fails */
    return rc;
}

static void s_check_text(const char *got, const char *want)
{
    if (strcmp(got, want))
        tu_check_failed(__FILE__, __LINE__, "got:\n%s\nwant:\n%s", got, want);
}

static const char s_svar[] = "Svar!1:Text|Tal|Datum|Övrigt\n"
                             "Svar!2:Åsa Öberg|198503121231|2026-03-14|TRUE\n"
                             "Svar!3:12,5 text|12.5|1900-03-01|FALSE\n"
                             "Svar!5:mitt|0.3|1900-02-28\n"
                             "Svar!7:tom mitt||2026-01-02|1.5\n"
                             "Svar!8:stor|1234567890123460000|0.000012345\n";

static void test_cells_read_as_shown(void)
{
    s_rows_t r = {0};
    char err[256];
    CHECK_EQ(s_read("cells.xlsx", "Svar", &r, err, sizeof err), FIN_OK);
    s_check_text(r.text, s_svar);
}

static void test_sheet_by_number_and_default(void)
{
    s_rows_t r = {0};
    char err[256];
    CHECK_EQ(s_read("cells.xlsx", "2", &r, err, sizeof err), FIN_OK);
    s_check_text(r.text, s_svar);
    memset(&r, 0, sizeof r);
    CHECK_EQ(s_read("cells.xlsx", NULL, &r, err, sizeof err), FIN_OK);
    s_check_text(r.text, "Info!1:Export från enkätverktyget\n");
    memset(&r, 0, sizeof r);
    CHECK_EQ(s_read("cells.xlsx", "svar", &r, err, sizeof err), FIN_OK); /* any case */
    CHECK_EQ(r.rows, 6);
}

static void test_missing_sheet_is_named(void)
{
    s_rows_t r = {0};
    char err[256];
    CHECK_EQ(s_read("cells.xlsx", "Blad9", &r, err, sizeof err), FIN_EINPUT);
    s_check_text(err, "cells.xlsx: no sheet named \"Blad9\"; the workbook's sheets are \"Info\", \"Svar\"");
    CHECK_EQ(s_read("cells.xlsx", "3", &r, err, sizeof err), FIN_EINPUT);
    s_check_text(err, "cells.xlsx: sheet 3: the workbook has 2 sheets (\"Info\", \"Svar\")");
}

static void test_date1904(void)
{
    s_rows_t r = {0};
    char err[256];
    CHECK_EQ(s_read("epoch1904.xlsx", NULL, &r, err, sizeof err), FIN_OK);
    s_check_text(r.text, "Blad1!1:Datum\nBlad1!2:1904-01-01\nBlad1!3:2026-03-14\n");
}

/* OpenDocument as LibreOffice writes it: rows padded to column 1024 and
 * the sheet to row 1048576 with repeated empty cells (never stored),
 * typed values, text:s spaces, comments not read, repeated cells. */
static void test_ods_cells_read_as_shown(void)
{
    s_rows_t r = {0};
    char err[256];
    CHECK_EQ(s_read("cells.ods", "Svar", &r, err, sizeof err), FIN_OK);
    s_check_text(r.text, "Svar!1:Text|Tal|Datum|Övrigt\n"
                         "Svar!2:Åsa  Öberg|198503121231|2026-03-14|TRUE\n"
                         "Svar!3:12,5 text|12.5||FALSE\n"
                         "Svar!6:mitt|0.3|2026-03-14\n"
                         "Svar!7:två|två||1.5\n");
    memset(&r, 0, sizeof r);
    CHECK_EQ(s_read("cells.ods", NULL, &r, err, sizeof err), FIN_OK);
    s_check_text(r.text, "Info!1:Export från enkätverktyget\n");
    CHECK_EQ(s_read("cells.ods", "3", &r, err, sizeof err), FIN_EINPUT);
    s_check_text(err, "cells.ods: sheet 3: the workbook has 2 sheets (\"Info\", \"Svar\")");
}

static void test_handmade_cells(void)
{
    s_rows_t r = {0};
    char err[256];
    CHECK_EQ(s_read("handmade.xlsx", NULL, &r, err, sizeof err), FIN_OK);
    s_check_text(r.text, "Svar!1:Namn||ab\n"
                         "Svar!3:2026-03-14|TRUE||x|#N/A|y|2026-03-14|150000000000000000000\n");
}

static void test_callback_stops(void)
{
    s_rows_t r = {.stop_after = 2};
    char err[256];
    CHECK_EQ(s_read("cells.xlsx", "Svar", &r, err, sizeof err), FIN_OK);
    CHECK_EQ(r.rows, 2);
}

/* A copy of cells.xlsx cut to `keep` bytes. */
static const char *s_truncated(size_t keep)
{
    char *all = tu_read_file(tu_src("tests/agents/fixtures/xlsx/cells.xlsx"));
    CHECK(all);
    static char path[300];
    snprintf(path, sizeof path, "%s/cut.xlsx", tu_tempdir());
    FILE *f = fopen(path, "wb");
    CHECK(f && fwrite(all, 1, keep, f) == keep && fclose(f) == 0);
    free(all);
    return path;
}

static void test_hostile_archives_refused(void)
{
    s_rows_t r = {0};
    char err[256];
    CHECK_EQ(sheet_read(s_truncated(3000), "cut.xlsx", NULL, s_collect, &r, err, sizeof err), FIN_EINPUT);
    CHECK(strstr(err, "cut.xlsx: not an Excel or OpenDocument workbook, or a damaged one: ") == err);
    const char *text = tu_file_in(tu_tempdir(), "plain.xlsx", "Svars-ID;Personnummer\n1;19850312-1231\n");
    CHECK_EQ(sheet_read(text, "plain.xlsx", NULL, s_collect, &r, err, sizeof err), FIN_EINPUT);
    CHECK(strstr(err, "plain.xlsx: not an Excel or OpenDocument workbook, or a damaged one: ") == err);
    CHECK_EQ(sheet_read("/nonexistent/x.xlsx", "x.xlsx", NULL, s_collect, &r, err, sizeof err),
             FIN_ENOTFOUND);
    CHECK_EQ(r.rows, 0);
}

static void test_is_sheet_by_name(void)
{
    CHECK(sheet_is_sheet("export.xlsx"));
    CHECK(sheet_is_sheet("EXPORT.XLSX"));
    CHECK(sheet_is_sheet("export.ods"));
    CHECK(!sheet_is_sheet("export.csv"));
    CHECK(!sheet_is_sheet("xlsx"));
}

static const test_case_t s_cases[] = {
    {"cells read as shown", test_cells_read_as_shown},
    {"sheet by number and default", test_sheet_by_number_and_default},
    {"missing sheet is named", test_missing_sheet_is_named},
    {"date1904", test_date1904},
    {"ods cells read as shown", test_ods_cells_read_as_shown},
    {"handmade cells", test_handmade_cells},
    {"callback stops", test_callback_stops},
    {"hostile archives refused", test_hostile_archives_refused},
    {"is sheet by name", test_is_sheet_by_name},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
