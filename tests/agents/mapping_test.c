/* mapping_test.c: agents/import/mapping.c through mapping.h — a site's
 * CSV columns to canonical import rows: the INI checked against the
 * catalogue with file:line reasons, the header bound (trimmed,
 * case-insensitive, `Text*` by prefix, `#N` by position, each mapped column
 * exactly once), answer labels and Swedish decimal commas and dates turned
 * canonical, identifying text in a mapped cell refused without repeating
 * it, and unmapped columns never read. `finsam-agent import FILE.csv` end
 * to end is tests/agents/csvimport_test.c. */
#include "mapping.h"
#include "testutil.h"

#include <string.h>

static const char s_ini[] = "[file]\n"
                            "separator = semicolon\n"
                            "required_items = d_behov\n"
                            "[values]\n"
                            "kind = participant_survey\n"
                            "instrument = deltagare_avslut\n"
                            "[columns]\n"
                            "personnummer = Personnummer\n"
                            "date = Slutdatum\n"
                            "mode = Arbetsform\n"
                            "[answers]\n"
                            "d_behov = Jag fick det stöd*\n"
                            "d_planering = #7\n"
                            "[labels]\n"
                            "Instämmer helt = 5\n"
                            "Vet ej = 0\n"
                            "[labels.d_planering]\n"
                            "3 = 3\n"
                            "4 = 4\n"
                            "[labels.mode]\n"
                            "Projekt = project\n"
                            "Integrerad = integrated\n";

typedef struct {
    catalogue_t *cat;
    mapping_t *map;
} s_map_t;

static fin_err_t s_load(s_map_t *m, const char *text, char *err, size_t errlen)
{
    char e[256];
    memset(m, 0, sizeof *m);
    CHECK(catalogue_load(&m->cat, NULL, e, sizeof e) == 0);
    const char *path = tu_file_in(tu_tempdir(), "map.ini", text);
    fin_err_t rc = mapping_load(&m->map, path, m->cat, err, errlen);
    fprintf(stderr, "mapping_load: %d %s\n", rc, rc ? err : "");
    return rc;
}

static void s_free(s_map_t *m)
{
    mapping_destroy(&m->map);
    CHECK(m->map == NULL);
    catalogue_destroy(&m->cat);
}

static const char *const s_header[] = {"Svars-ID",  " personnummer ", "Namn",
                                       "SLUTDATUM", "Arbetsform",     "Jag fick det stöd jag behövde (1-5)",
                                       "Planering", "Kommentar"};

static void s_bound(s_map_t *m)
{
    char err[512];
    CHECK(s_load(m, s_ini, err, sizeof err) == FIN_OK);
    fin_err_t rc = mapping_bind(m->map, s_header, TU_NELEMS(s_header), err, sizeof err);
    fprintf(stderr, "mapping_bind: %d %s\n", rc, rc ? err : "");
    CHECK(rc == FIN_OK);
}

static json_t *s_row(s_map_t *m, const char *const *cells, int *col, char *why, size_t whylen)
{
    json_t *row = mapping_row(m->map, cells, TU_NELEMS(s_header), col, why, whylen);
    char *text = row ? json_dumps(row, JSON_SORT_KEYS) : NULL;
    fprintf(stderr, "row: %s col %d why %s\n", text ? text : "NULL", *col, row ? "" : why);
    free(text);
    return row;
}

static void test_load_and_file_options(void)
{
    s_map_t m;
    char err[512];
    CHECK(s_load(&m, s_ini, err, sizeof err) == FIN_OK);
    CHECK_EQ(mapping_separator(m.map), ';');
    CHECK_EQ(mapping_encoding(m.map), MAPPING_ENC_AUTO);
    CHECK(mapping_has_field(m.map, "personnummer"));
    CHECK(mapping_has_field(m.map, "kind")); /* a [values] constant */
    CHECK(!mapping_has_field(m.map, "insats"));
    s_free(&m);
}

static void test_load_errors_name_the_line(void)
{
    s_map_t m;
    char err[512];
    /* An answer to an item the catalogue does not have: line 5. */
    CHECK_EQ(s_load(&m,
                    "[values]\nkind = participant_survey\ninstrument = deltagare_avslut\n[answers]\n"
                    "d_no_such_item = X\n",
                    err, sizeof err),
             FIN_ECONFIG);
    CHECK(m.map == NULL);
    CHECK(strstr(err, "map.ini:5"));
    s_free(&m);
    char missing[400];
    snprintf(missing, sizeof missing, "%s/absent.ini", tu_tempdir());
    catalogue_t *cat;
    CHECK(catalogue_load(&cat, NULL, err, sizeof err) == 0);
    mapping_t *map = (mapping_t *) 1;
    CHECK_EQ(mapping_load(&map, missing, cat, err, sizeof err), FIN_ENOTFOUND);
    CHECK(map == NULL);
    CHECK(strstr(err, missing));
    catalogue_destroy(&cat);
}

static void test_bind_header_rules(void)
{
    s_map_t m;
    s_bound(&m);
    CHECK_EQ(mapping_ncolumns(m.map), TU_NELEMS(s_header));
    /* Read: personnummer, Slutdatum, Arbetsform, the stöd question, #7. */
    CHECK_EQ(mapping_column_of(m.map, "personnummer"), 1);
    CHECK_EQ(mapping_column_of(m.map, "date"), 3);
    CHECK_EQ(mapping_column_of(m.map, "answers.d_behov"), 5);
    CHECK_EQ(mapping_column_of(m.map, "answers.d_planering"), 6); /* #7: the 7th column */
    CHECK_EQ(mapping_column_of(m.map, "kind"), -1);
    CHECK_EQ(mapping_nunmapped(m.map), TU_NELEMS(s_header) - 5);
    const char *names = mapping_unmapped_names(m.map);
    CHECK(strstr(names, "Namn") && strstr(names, "Kommentar") && strstr(names, "Svars-ID"));
    s_free(&m);
}

static void test_bind_refuses_missing_or_double(void)
{
    s_map_t m;
    char err[512];
    CHECK(s_load(&m, s_ini, err, sizeof err) == FIN_OK);
    const char *no_date[] = {"Personnummer", "Arbetsform", "Jag fick det stöd", "a", "b", "c"};
    CHECK_EQ(mapping_bind(m.map, no_date, TU_NELEMS(no_date), err, sizeof err), FIN_EINPUT);
    CHECK(strstr(err, "Slutdatum"));
    const char *twice[] = {"Personnummer",        "Slutdatum",           "Arbetsform",
                           "Jag fick det stöd A", "Jag fick det stöd B", "x"};
    CHECK_EQ(mapping_bind(m.map, twice, TU_NELEMS(twice), err, sizeof err), FIN_EINPUT);
    s_free(&m);
}

static void test_row_labels_commas_and_dates(void)
{
    s_map_t m;
    s_bound(&m);
    int col = -2;
    char why[256];
    const char *cells[] = {"R1",           "19850312-1231",  "Anna", "14/3/2026",
                           " integrerad ", "Instämmer helt", "4,0",  ""};
    json_t *row = s_row(&m, cells, &col, why, sizeof why);
    CHECK(row);
    CHECK(!strcmp(json_string_value(json_object_get(row, "kind")), "participant_survey"));
    CHECK(!strcmp(json_string_value(json_object_get(row, "instrument")), "deltagare_avslut"));
    CHECK(!strcmp(json_string_value(json_object_get(row, "date")), "2026-03-14"));
    CHECK(!strcmp(json_string_value(json_object_get(row, "mode")), "integrated"));
    json_t *answers = json_object_get(row, "answers");
    CHECK_EQ(json_integer_value(json_object_get(answers, "d_behov")), 5);
    CHECK_EQ(json_number_value(json_object_get(answers, "d_planering")), 4);
    /* Unmapped columns are not in the row. */
    char *text = json_dumps(row, 0);
    CHECK(!strstr(text, "Anna") && !strstr(text, "R1"));
    free(text);
    json_decref(row);
    s_free(&m);
}

static void test_identifying_cell_refused_unrepeated(void)
{
    s_map_t m;
    s_bound(&m);
    int col = -2;
    char why[256];
    const char *cells[] = {"R1",      "19850312-1231",   "Anna", "2026-03-14",
                           "Projekt", "anna@example.se", "3",    ""};
    json_t *row = s_row(&m, cells, &col, why, sizeof why);
    CHECK(row == NULL);
    CHECK_EQ(col, 5);
    CHECK(!strstr(why, "anna@example.se") && !strstr(why, "anna"));
    /* The same text in a column the mapping does not read is never seen. */
    const char *fine[] = {"R1",         "19850312-1231",   "anna@example.se 070-1234567",
                          "2026-03-14", "Projekt",         "Vet ej",
                          "3",          "ring 070-1234567"};
    row = s_row(&m, fine, &col, why, sizeof why);
    CHECK(row);
    json_decref(row);
    s_free(&m);
}

static const test_case_t s_cases[] = {
    {"load and file options", test_load_and_file_options},
    {"load errors name the line", test_load_errors_name_the_line},
    {"bind header rules", test_bind_header_rules},
    {"bind refuses missing or double", test_bind_refuses_missing_or_double},
    {"row labels commas and dates", test_row_labels_commas_and_dates},
    {"identifying cell refused unrepeated", test_identifying_cell_refused_unrepeated},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
