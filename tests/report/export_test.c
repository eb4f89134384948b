/* export_test.c: report/export.c through export.h — the export of every
 * slice of every indicator, and its CSV for Swedish Excel as the header
 * documents it: UTF-8 with BOM, ';' between fields, decimal comma, CRLF,
 * text quoted with formulas defused. The rows are query_run's, so a
 * suppressed row has every number empty. A real ledger filled through
 * ingest (fixture.h). */
#include "fixture.h"

#include "export.h"

#include <string.h>

/* The CSV of an export_run result, malloc'd. */
static char *s_csv(const json_t *result)
{
    char *text = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&text, &size);
    CHECK(f && export_print_csv(result, f) == 0);
    fclose(f);
    return text;
}

/* Splits one CSV line (no CRLF) on ';' outside quotes into fields with
 * their quotes kept; returns the count. */
static int s_fields(char *line, char **out, int max)
{
    int n = 0;
    bool quoted = false;
    out[n++] = line;
    for (char *p = line; *p; p++) {
        if (*p == '"')
            quoted = !quoted;
        else if (*p == ';' && !quoted && n < max) {
            *p = '\0';
            out[n++] = p + 1;
        }
    }
    return n;
}

static json_t *s_export(fx_t *fx, const char *period)
{
    export_t e = {.period = period, .protect = fx->protect};
    json_t *out = NULL;
    char err[512];
    CHECK(export_run(fx->ledger, fx->cat, &e, &out, err, sizeof err) == FIN_OK);
    return out;
}

/* NV 3 people (below 5: hidden), VAS 20 in mode 1, HBS 40 in mode 2, OO 12. */
static void s_fill(fx_t *fx)
{
    fx_answers(fx, 0, 3, "d_behov", 5, 1, T_2026_03);
    fx_answers(fx, 1, 20, "d_behov", 4, 1, T_2026_03);
    fx_answers(fx, 2, 40, "d_behov", 3, 2, T_2026_03);
    fx_answers(fx, 3, 12, "d_behov", 2, 2, T_2026_03);
    fx_publish(fx);
}

static int s_column(char **head, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(head[i], name))
            return i;
    tu_check_failed(__FILE__, __LINE__, "no column %s", name);
}

static void test_bom_crlf_and_field_counts(void)
{
    fx_t fx;
    fx_open(&fx);
    s_fill(&fx);
    json_t *r = s_export(&fx, "year");
    char *csv = s_csv(r);
    CHECK(!memcmp(csv, "\xEF\xBB\xBF", 3));
    CHECK(!strncmp(
        csv + 3, "indikator;mått;benämning;aggregat;nivå;namn;län;period;urval;undertryckt;n;enheter;",
        strlen("indikator;mått;benämning;aggregat;nivå;namn;län;period;urval;undertryckt;n;enheter;")));
    /* Every line ends CRLF; no bare LF anywhere. */
    for (char *p = csv; *p; p++)
        if (*p == '\n')
            CHECK(p > csv && p[-1] == '\r');
    size_t len = strlen(csv);
    CHECK(len > 2 && csv[len - 2] == '\r' && csv[len - 1] == '\n');
    /* Every row has the header's number of fields. */
    char *save = NULL, *line = strtok_r(csv + 3, "\r\n", &save);
    char *f[128];
    int nhead = s_fields(line, f, 128), rows = 0;
    CHECK(nhead > 12);
    while ((line = strtok_r(NULL, "\r\n", &save))) {
        CHECK_EQ(s_fields(line, f, 128), nhead);
        rows++;
    }
    CHECK(rows >= 8);
    free(csv);
    json_decref(r);
    fx_close(&fx);
}

static void test_decimal_comma(void)
{
    fx_t fx;
    fx_open(&fx);
    s_fill(&fx);
    json_t *r = s_export(&fx, "year");
    char *csv = s_csv(r);
    char *save = NULL, *line = strtok_r(csv + 3, "\r\n", &save);
    char *head[128], *f[128];
    int n = s_fields(line, head, 128);
    int mean = s_column(head, n, "medelvärde"), level = s_column(head, n, "nivå"),
        name = s_column(head, n, "namn"), ind = s_column(head, n, "indikator"),
        hidden = s_column(head, n, "undertryckt");
    int seen = 0;
    while ((line = strtok_r(NULL, "\r\n", &save))) {
        s_fields(line, f, 128);
        /* No number anywhere with a decimal point (text is quoted). */
        for (int i = 0; i < n; i++)
            if (f[i][0] != '"')
                CHECK(!strchr(f[i], '.'));
        if (!strcmp(f[level], "\"forbund\"") && !strcmp(f[name], "\"HBS\"") && !strcmp(f[ind], "1") &&
            !strcmp(f[hidden], "\"nej\"") && f[mean][0]) {
            /* Everyone answered 3: the mean with two decimals is 3,00
             * (magnitudes carry noise, so only its form is exact). */
            char *comma = strchr(f[mean], ',');
            CHECK(comma && strlen(comma) == 3);
            seen++;
        }
    }
    CHECK(seen >= 1);
    free(csv);
    json_decref(r);
    fx_close(&fx);
}

static void test_suppressed_row_has_no_numbers(void)
{
    fx_t fx;
    fx_open(&fx);
    s_fill(&fx);
    json_t *r = s_export(&fx, "year");
    char *csv = s_csv(r);
    char *save = NULL, *line = strtok_r(csv + 3, "\r\n", &save);
    char *head[128], *f[128];
    int n = s_fields(line, head, 128);
    int hidden = s_column(head, n, "undertryckt"), name = s_column(head, n, "namn"),
        count = s_column(head, n, "n");
    int suppressed = 0, nv = 0;
    while ((line = strtok_r(NULL, "\r\n", &save))) {
        s_fields(line, f, 128);
        CHECK(!strcmp(f[hidden], "\"ja\"") || !strcmp(f[hidden], "\"nej\""));
        if (strcmp(f[hidden], "\"ja\""))
            continue;
        suppressed++;
        nv += !strcmp(f[name], "\"NV\"");
        /* n, enheter and every value column: empty, not 0, not "<5". */
        for (int i = count; i < n; i++)
            CHECK_EQ(strlen(f[i]), 0);
    }
    CHECK(suppressed >= 1);
    CHECK(nv >= 1); /* NV's 3 people */
    free(csv);
    json_decref(r);
    fx_close(&fx);
}

static void test_every_slice_merged(void)
{
    fx_t fx;
    fx_open(&fx);
    s_fill(&fx);
    json_t *r = s_export(&fx, "year");
    json_t *slices = json_object_get(r, "slices");
    CHECK_EQ(json_array_size(slices), cell_slice_count());
    CHECK(!strcmp(json_string_value(json_array_get(slices, 0)), "all"));
    CHECK(json_is_string(json_object_get(r, "exported_at")));
    /* i1's rows: those of slice "all" are query_run's, row for row. */
    json_t *m = json_array_get(json_object_get(r, "measures"), 0);
    query_t q = {.measure = json_string_value(json_object_get(m, "id")),
                 .period = "year",
                 .slice = "all",
                 .protect = fx.protect};
    json_t *qr = NULL;
    char err[256];
    CHECK(query_run(fx.ledger, fx.cat, &q, &qr, err, sizeof err) == FIN_OK);
    json_t *qrows = json_object_get(json_array_get(json_object_get(qr, "measures"), 0), "rows");
    size_t i, in_all = 0, in_mode = 0;
    json_t *row;
    json_array_foreach(json_object_get(m, "rows"), i, row) {
        const char *slice = json_string_value(json_object_get(row, "slice"));
        CHECK(slice);
        if (!strcmp(slice, "all"))
            CHECK(json_equal(row, json_array_get(qrows, in_all++)));
        in_mode += !strncmp(slice, "mode=", 5);
    }
    CHECK_EQ(in_all, json_array_size(qrows));
    CHECK(in_mode > 0); /* the other slices are there too */
    json_decref(qr);
    json_decref(r);
    fx_close(&fx);
}

static void test_unknown_period_refused(void)
{
    fx_t fx;
    fx_open(&fx);
    export_t e = {.period = "2026-Q9", .protect = fx.protect};
    json_t *out = (json_t *) 1;
    char err[512] = "";
    CHECK_EQ(export_run(fx.ledger, fx.cat, &e, &out, err, sizeof err), FIN_EINPUT);
    CHECK(out == NULL);
    CHECK(strstr(err, "period"));
    e.period = "year";
    e.measure = "no_such_measure";
    CHECK_EQ(export_run(fx.ledger, fx.cat, &e, &out, err, sizeof err), FIN_EINPUT);
    CHECK(out == NULL);
    fx_close(&fx);
}

/* Text a spreadsheet would evaluate is defused; quotes are doubled. A
 * result made by hand: export_print_csv formats whatever rows it gets. */
static void test_text_quoted_and_defused(void)
{
    json_t *r = json_pack("{s:[{s:i,s:s,s:s,s:s,s:[{s:s,s:s,s:s,s:s,s:s,s:b,s:i,s:s,s:f}]}]}", "measures",
                          "indicator", 7, "id", "=cmd", "sv", "Säg \"hej\"", "aggregate", "mean", "rows",
                          "level", "forbund", "name", "+NV", "lan", "@lan", "period", "-2026", "slice", "all",
                          "suppressed", 0, "n", 12, "units", "<5", "mean", 2.5);
    char *csv = s_csv(r);
    fprintf(stderr, "%s", csv);
    char *row = strstr(csv, "\r\n") + 2;
    CHECK(
        !strncmp(row,
                 "7;\"'=cmd\";\"Säg \"\"hej\"\"\";\"mean\";\"forbund\";\"'+NV\";\"'@lan\";\"'-2026\";\"all\";"
                 "\"nej\";12;\"<5\";2,50;",
                 strlen("7;\"'=cmd\";\"Säg \"\"hej\"\"\";\"mean\";\"forbund\";\"'+NV\";\"'@lan\";\"'-2026\";"
                        "\"all\";\"nej\";12;\"<5\";2,50;")));
    free(csv);
    json_decref(r);
}

static const test_case_t s_cases[] = {
    {"bom crlf and field counts", test_bom_crlf_and_field_counts},
    {"decimal comma", test_decimal_comma},
    {"suppressed row has no numbers", test_suppressed_row_has_no_numbers},
    {"every slice merged", test_every_slice_merged},
    {"unknown period refused", test_unknown_period_refused},
    {"text quoted and defused", test_text_quoted_and_defused},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
