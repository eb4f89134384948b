/* export.c: all slices of all indicators in one table (see export.h).
 *
 * The one decision here: an export is built only from query_run results,
 * one run per slice, so the rows are the ones `finsamctl query` would show
 * with the same suppression; this file merely merges and formats them. */
#include "export.h"

#include <string.h>
#include <time.h>

fin_err_t export_run(ledger_t *ledger, const catalogue_t *catalogue, const export_t *e, json_t **out,
                     char *err, size_t errlen)
{
    *out = NULL;
    json_t *merged = NULL;
    /* Every slice a cell can have (cell.h's one list); slices without
     * cells simply contribute no rows. */
    for (int s = 0; s < cell_slice_count(); s++) {
        char slice[32];
        cell_slice_format(slice, sizeof slice, cell_slice_at(s));
        query_t q = {.measure = e->measure,
                     .forbund = e->forbund,
                     .period = e->period,
                     .slice = slice,
                     .protect = e->protect,
                     .exact = e->exact};
        json_t *result;
        fin_err_t rc = query_run(ledger, catalogue, &q, &result, err, errlen);
        if (rc) {
            json_decref(merged);
            return rc;
        }
        if (!merged) {
            /* The first run gives the measure list; later runs have the
             * same measures in the same catalogue order. */
            merged = result;
            json_object_del(merged, "slice");
            continue;
        }
        json_t *into = json_object_get(merged, "measures"), *from = json_object_get(result, "measures");
        for (size_t i = 0; i < json_array_size(from) && i < json_array_size(into); i++)
            json_array_extend(json_object_get(json_array_get(into, i), "rows"),
                              json_object_get(json_array_get(from, i), "rows"));
        json_decref(result);
    }
    json_t *slices = json_array();
    for (int s = 0; s < cell_slice_count(); s++) {
        char slice[32];
        cell_slice_format(slice, sizeof slice, cell_slice_at(s));
        json_array_append_new(slices, json_string(slice));
    }
    json_object_set_new(merged, "slices", slices);
    char now[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(now, sizeof now, "%Y-%m-%dT%H:%M:%SZ", &tm);
    json_object_set_new(merged, "exported_at", json_string(now));
    *out = merged;
    return FIN_OK;
}

/* A quoted text field; a leading = + - @ (or tab/CR) would make Excel
 * evaluate it as a formula, so such text gets an apostrophe first. */
static void s_text(FILE *out, const char *s)
{
    if (!s)
        s = "";
    fputc('"', out);
    if (strchr("=+-@\t\r", s[0]) && s[0])
        fputc('\'', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

/* A number with a decimal comma; empty when there is no such value
 * (missing, null, or suppressed). `scale` turns shares into percent. */
static void s_value(FILE *out, const json_t *v, double scale, int decimals)
{
    char buf[64] = "";
    if (json_is_integer(v))
        snprintf(buf, sizeof buf, "%lld", (long long) json_integer_value(v));
    else if (json_is_real(v))
        snprintf(buf, sizeof buf, "%.*f", decimals, json_real_value(v) * scale);
    for (char *p = buf; *p; p++)
        if (*p == '.')
            *p = ',';
    fputs(buf, out);
}

static void s_number(FILE *out, const json_t *row, const char *key, double scale, int decimals)
{
    s_value(out, json_object_get(row, key), scale, decimals);
}

/* The two bounds of an interval [lo, hi] as two fields. */
static void s_interval(FILE *out, const json_t *row, const char *key, double scale, int decimals)
{
    const json_t *v = json_object_get(row, key);
    s_value(out, json_array_get(v, 0), scale, decimals);
    fputc(';', out);
    s_value(out, json_array_get(v, 1), scale, decimals);
}

/* The first of keys present in row (aggregates name their values
 * differently: mean, mean_change, mean_days ...). */
static const char *s_pick(const json_t *row, const char *const *keys)
{
    for (; *keys; keys++)
        if (json_object_get(row, *keys))
            return *keys;
    return "";
}

/* The value columns after n and units: their headers, the row field (or
 * the first present of a list, as aggregates name their values
 * differently), and how each prints. One list for header and rows. */
static const char *const s_means[] = {"mean", "mean_change", "mean_days", NULL};
static const char *const s_shares[] = {"share", "share_top", "share_improved", "share_within_30_days", NULL};
static const char *const s_medians[] = {"median", "median_days", NULL};

typedef struct {
    const char *header; /* two headers, ';'-separated, for an interval */
    const char *key;
    const char *const *pick;
    double scale;
    int decimals;
    bool interval;
} s_column_t;

static const s_column_t s_columns[] = {
    {"medelvärde", NULL, s_means, 1, 2, false},
    {"andel (%)", NULL, s_shares, 100, 1, false},
    {"median", NULL, s_medians, 1, 1, false},
    {"nedre kvartil", "q1_days", NULL, 1, 0, false},
    {"övre kvartil", "q3_days", NULL, 1, 0, false},
    {"summa", "sum", NULL, 1, 0, false},
    {"förändring medelvärde", "change_mean", NULL, 1, 2, false},
    {"förändring andel (procentenheter)", "change_share", NULL, 100, 1, false},
    {"förändring medelvärde mot året före", "change_year_mean", NULL, 1, 2, false},
    {"förändring andel mot året före (procentenheter)", "change_year_share", NULL, 100, 1, false},
    {"skillnad medelvärde integrerad − projekt", "integrated_minus_project_mean", NULL, 1, 2, false},
    {"skillnad medelvärde integrerad − projekt 95 % KI nedre;"
     "skillnad medelvärde integrerad − projekt 95 % KI övre",
     "integrated_minus_project_mean_ci95", NULL, 1, 2, true},
    {"skillnad andel integrerad − projekt (procentenheter)", "integrated_minus_project_share", NULL, 100, 1,
     false},
    {"skillnad andel integrerad − projekt 95 % KI nedre (procentenheter);"
     "skillnad andel integrerad − projekt 95 % KI övre (procentenheter)",
     "integrated_minus_project_share_ci95", NULL, 100, 1, true},
};

/* The text fields after indikator: the measure's, then the row's. */
static const char *const s_measure_text[] = {"id", "sv", "aggregate"};
static const char *const s_row_text[] = {"level", "name", "lan", "period", "slice"};

int export_print_csv(const json_t *result, FILE *out)
{
    fputs("\xEF\xBB\xBF", out);
    fputs("indikator;mått;benämning;aggregat;nivå;namn;län;period;urval;undertryckt;n;enheter", out);
    for (size_t c = 0; c < sizeof s_columns / sizeof *s_columns; c++)
        fprintf(out, ";%s", s_columns[c].header);
    fputs("\r\n", out);
    size_t i, j;
    json_t *m, *row;
    json_array_foreach(json_object_get(result, "measures"), i, m) {
        json_array_foreach(json_object_get(m, "rows"), j, row) {
            bool suppressed = json_is_true(json_object_get(row, "suppressed"));
            fprintf(out, "%lld;", (long long) json_integer_value(json_object_get(m, "indicator")));
            /* mått, benämning (the measure's own label), aggregat; then
             * nivå, namn, län, period, urval: text fields, ';' between. */
            for (size_t k = 0; k < sizeof s_measure_text / sizeof *s_measure_text; k++) {
                s_text(out, json_string_value(json_object_get(m, s_measure_text[k])));
                fputc(';', out);
            }
            for (size_t k = 0; k < sizeof s_row_text / sizeof *s_row_text; k++) {
                if (k)
                    fputc(';', out);
                s_text(out, json_string_value(json_object_get(row, s_row_text[k])));
            }
            fputs(suppressed ? ";\"ja\";" : ";\"nej\";", out);
            s_number(out, row, "n", 1, 0);
            fputc(';', out);
            const json_t *units = json_object_get(row, "units");
            if (json_is_string(units))
                s_text(out, json_string_value(units)); /* "<5": a range, not a number */
            else
                s_number(out, row, "units", 1, 0);
            /* A share held back (0 % or 100 % from n < 10) must not come
             * back as its change: query.c leaves out every comparison
             * wherever either row may not be compared. */
            for (size_t c = 0; c < sizeof s_columns / sizeof *s_columns; c++) {
                const s_column_t *col = &s_columns[c];
                const char *key = col->pick ? s_pick(row, col->pick) : col->key;
                fputc(';', out);
                if (col->interval)
                    s_interval(out, row, key, col->scale, col->decimals);
                else
                    s_number(out, row, key, col->scale, col->decimals);
            }
            fputs("\r\n", out);
        }
    }
    return ferror(out) ? -1 : 0;
}
