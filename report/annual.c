/* annual.c: the yearly report as HTML (see annual.h: one more reader of
 * query_run on the official figures; every part a page of its own). */
#include "annual.h"

#include "approval.h"
#include "coverage.h"
#include "official.h"
#include "query.h"
#include "registry.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    FILE *f;
    bool sv;
    const annual_request_t *req;
    const catalogue_t *cat, *covcat;
    json_t *figures;  /* query_run on the official figures: {"measures": [...]} */
    json_t *coverage; /* the same for the coverage measures */
    json_t *periods;  /* approval_json's periods of the year */
    const lockview_info_t *info;
    int min_units;
    const char *lan; /* the förbund edition's län */
    annual_info_t *out;
} s_doc_t;

#define T(sv_text, en_text) (d->sv ? (sv_text) : (en_text))

/* ---- text ---------------------------------------------------------------- */

static void s_esc(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* A number with `dec` decimals, decimal comma in Swedish; "−" for minus. */
static void s_num(const s_doc_t *d, char *out, size_t len, double v, int dec)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%.*f", dec, fabs(v) < 0.5 * pow(10, -dec) ? 0.0 : v);
    size_t n = 0;
    for (const char *p = buf; *p && n + 4 < len; p++) {
        if (*p == '-') {
            memcpy(out + n, "\xe2\x88\x92", 3); /* U+2212 */
            n += 3;
        } else if (*p == '.' && d->sv) {
            out[n++] = ',';
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
}

static void s_pct(const s_doc_t *d, char *out, size_t len, double share)
{
    char n[40];
    s_num(d, n, sizeof n, share * 100, 0);
    snprintf(out, len, "%s\xc2\xa0%%", n); /* no-break space before % */
}

static const char *s_label(const s_doc_t *d, const char *sv, const char *en)
{
    return d->sv ? (sv && *sv ? sv : en) : (en && *en ? en : sv);
}

/* The name a reader knows: the förbund's from the registry, else the row's
 * (län, Riket). */
static const char *s_row_name(const s_doc_t *d, json_t *row)
{
    const char *level = json_string_value(json_object_get(row, "level"));
    const char *name = json_string_value(json_object_get(row, "name"));
    if (level && !strcmp(level, "forbund"))
        return registry_forbund_name(d->cat, name);
    if (level && !strcmp(level, "nation"))
        return T("Riket", "Sweden");
    return name;
}

/* ---- values of a row ------------------------------------------------------ */

typedef struct {
    bool shown;       /* a value to show */
    char why[256];    /* withheld: the reason */
    double v, lo, hi; /* the value, its interval (has_ci) */
    bool has_ci;
    bool percent; /* v in 0..1, shown as a percentage */
    int dec;      /* decimals */
    double axis_lo, axis_hi;
    bool has_change, has_diff, has_diff_ci;
    double change, diff, diff_lo, diff_hi;
    long long n;
} s_val_t;

static double s_real(json_t *o, const char *key, bool *has)
{
    json_t *v = json_object_get(o, key);
    if (has)
        *has = json_is_number(v);
    return json_number_value(v);
}

static void s_pair(json_t *o, const char *key, double *lo, double *hi, bool *has)
{
    json_t *a = json_object_get(o, key);
    *has = json_is_array(a) && json_array_size(a) == 2;
    if (*has) {
        *lo = json_number_value(json_array_get(a, 0));
        *hi = json_number_value(json_array_get(a, 1));
    }
}

static s_val_t s_value(const s_doc_t *d, const cat_measure_t *m, json_t *row)
{
    s_val_t x = {0};
    x.n = (long long) json_integer_value(json_object_get(row, "n"));
    if (json_is_true(json_object_get(row, "suppressed"))) {
        snprintf(x.why, sizeof x.why,
                 T("dold: vilar på färre än %d personer, eller dold så att en annan dold uppgift inte kan "
                   "räknas fram",
                   "hidden: rests on fewer than %d people, or hidden so that another hidden figure cannot be "
                   "worked out"),
                 d->min_units);
        return x;
    }
    if (json_object_get(row, "withheld")) {
        snprintf(x.why, sizeof x.why, "%s",
                 T("andel 0 % eller 100 % på färre än 10 visas inte",
                   "a share of 0 % or 100 % on fewer than 10 is not shown"));
        return x;
    }
    if (x.n == 0) {
        snprintf(x.why, sizeof x.why, "%s", T("inga svar", "no answers"));
        return x;
    }
    bool has = false;
    const char *ch = "change_year_mean";
    const char *df = "integrated_minus_project_mean";
    switch (m->aggregate) {
    case AGG_ORDINAL:
        x.v = s_real(row, "mean", &has);
        s_pair(row, "ci95", &x.lo, &x.hi, &x.has_ci);
        x.dec = 1;
        x.axis_lo = m->scale ? m->scale->min : 0;
        x.axis_hi = m->scale ? m->scale->max : 5;
        break;
    case AGG_SHARE_YES:
    case AGG_SHARE_SUSTAINED:
    case AGG_RATIO:
        x.v = s_real(row, "share", &has);
        x.percent = true;
        ch = "change_year_share";
        df = "integrated_minus_project_share";
        if (has && m->aggregate != AGG_RATIO && x.n > 0) {
            double half = 1.96 * sqrt(x.v * (1 - x.v) / (double) x.n);
            x.lo = fmax(0, x.v - half);
            x.hi = fmin(1, x.v + half);
            x.has_ci = true;
        }
        x.axis_hi = 1;
        break;
    case AGG_SUM:
        x.v = s_real(row, "sum", &has);
        x.axis_hi = 0; /* from the rows */
        break;
    case AGG_MEDIAN_DAYS:
        x.v = s_real(row, "median_days", &has);
        x.lo = s_real(row, "q1_days", &x.has_ci);
        x.hi = s_real(row, "q3_days", NULL);
        ch = "change_year_mean";
        break;
    case AGG_PAIRED_CHANGE:
        x.v = s_real(row, "mean_change", &has);
        s_pair(row, "ci95", &x.lo, &x.hi, &x.has_ci);
        x.dec = 2;
        x.axis_lo = -2;
        x.axis_hi = 2;
        break;
    }
    if (!has) {
        snprintf(x.why, sizeof x.why, "%s", T("inget värde", "no value"));
        return x;
    }
    x.shown = true;
    x.change = s_real(row, ch, &x.has_change);
    x.diff = s_real(row, df, &x.has_diff);
    char key[64];
    snprintf(key, sizeof key, "%s_ci95", df);
    s_pair(row, key, &x.diff_lo, &x.diff_hi, &x.has_diff_ci);
    return x;
}

static void s_fmt(const s_doc_t *d, const s_val_t *x, double v, char *out, size_t len, bool signed_pp)
{
    if (x->percent && signed_pp) {
        char n[40];
        s_num(d, n, sizeof n, v * 100, 0);
        snprintf(out, len, "%s%s\xc2\xa0%s", v > 0 ? "+" : "", n, T("p.e.", "pp"));
    } else if (x->percent) {
        s_pct(d, out, len, v);
    } else {
        char n[40];
        s_num(d, n, sizeof n, v, x->dec);
        snprintf(out, len, "%s%s", signed_pp && v > 0 ? "+" : "", n);
    }
}

/* ---- the rows one table shows ------------------------------------------- */

/* The rows of a measure answer a table shows, in order: the förbund
 * edition its förbund, its län and Riket; the national edition Riket,
 * each län and each förbund. At most `max`. */
static size_t s_rows(const s_doc_t *d, json_t *measure, json_t **rows, size_t max)
{
    size_t n = 0, i;
    json_t *r;
    static const char *const order[] = {"forbund", "lan", "nation"};
    static const char *const national[] = {"nation", "lan", "forbund"};
    const char *const *levels = d->req->forbund ? order : national;
    for (int l = 0; l < 3; l++)
        json_array_foreach(json_object_get(measure, "rows"), i, r) {
            const char *level = json_string_value(json_object_get(r, "level"));
            if (n == max || !level || strcmp(level, levels[l]))
                continue;
            if (d->req->forbund && !strcmp(level, "forbund") &&
                strcmp(json_string_value(json_object_get(r, "name")), d->req->forbund))
                continue;
            if (d->req->forbund && !strcmp(level, "lan") && d->lan &&
                strcmp(json_string_value(json_object_get(r, "name")), d->lan))
                continue;
            rows[n++] = r;
        }
    return n;
}

static json_t *s_measure_json(json_t *answer, const char *id)
{
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(answer, "measures"), i, m)
        if (!strcmp(json_string_value(json_object_get(m, "id")), id))
            return m;
    return NULL;
}

/* ---- chart ---------------------------------------------------------------- */

#define S_ROWS_MAX 64
/* A chart shows at most this many rows: Riket and the län first, then
 * förbund (the table lists every row). */
#define S_CHART_ROWS 12

static void s_chart(s_doc_t *d, json_t **rows, const s_val_t *vals, size_t n)
{
    double lo = 1e300, hi = -1e300;
    bool any = false;
    for (size_t i = 0; i < n; i++) {
        if (!vals[i].shown)
            continue;
        any = true;
        if (vals[i].axis_hi > vals[i].axis_lo) {
            lo = fmin(lo, vals[i].axis_lo);
            hi = fmax(hi, vals[i].axis_hi);
        }
        lo = fmin(lo, fmin(vals[i].v, vals[i].has_ci ? vals[i].lo : vals[i].v));
        hi = fmax(hi, fmax(vals[i].v, vals[i].has_ci ? vals[i].hi : vals[i].v));
    }
    if (!any)
        return;
    if (lo > 0)
        lo = 0;
    if (hi <= lo)
        hi = lo + 1;
    const int W = 560, label = 200, plot = 280, bar = 9, gap = 3;
    int H = (int) n * (bar + gap) + 12;
    FILE *f = d->f;
    fprintf(f,
            "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
            "viewBox=\"0 0 %d %d\" role=\"img\">\n",
            W, H, W, H);
    double x0 = label + plot * (0 - lo) / (hi - lo);
    for (size_t i = 0; i < n; i++) {
        int y = (int) i * (bar + gap) + 4;
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"8\" text-anchor=\"end\">", label - 6, y + bar - 1);
        s_esc(f, s_row_name(d, rows[i]));
        fprintf(f, "</text>\n");
        if (!vals[i].shown) {
            fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"8\" fill=\"#777\">%s</text>\n", label + 4,
                    y + bar - 1, T("visas inte", "not shown"));
            continue;
        }
        double xv = label + plot * (vals[i].v - lo) / (hi - lo);
        double a = fmin(x0, xv), w = fabs(xv - x0);
        const char *level = json_string_value(json_object_get(rows[i], "level"));
        const char *fill = !strcmp(level, "nation") ? "#8a8a8a"
                           : !strcmp(level, "lan")  ? "#7fa6c9"
                                                    : "#1f5f99";
        fprintf(f, "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>\n", a, y,
                w < 1 ? 1 : w, bar, fill);
        if (vals[i].has_ci) {
            double l = label + plot * (vals[i].lo - lo) / (hi - lo),
                   h = label + plot * (vals[i].hi - lo) / (hi - lo);
            fprintf(f,
                    "<path d=\"M%.1f %d H%.1f M%.1f %d V%d M%.1f %d V%d\" stroke=\"#222\" stroke-width=\"1\" "
                    "fill=\"none\"/>\n",
                    l, y + bar / 2, h, l, y + 2, y + bar - 2, h, y + 2, y + bar - 2);
        }
        char v[96];
        s_fmt(d, &vals[i], vals[i].v, v, sizeof v, false);
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"8\">%s</text>\n", label + plot + 8, y + bar - 1, v);
    }
    fprintf(f, "<line x1=\"%.1f\" y1=\"0\" x2=\"%.1f\" y2=\"%d\" stroke=\"#444\" stroke-width=\"0.5\"/>\n",
            x0, x0, H - 12);
    char a[96], b[96];
    s_val_t scale = vals[0];
    for (size_t i = 0; i < n; i++)
        if (vals[i].shown)
            scale = vals[i];
    s_fmt(d, &scale, lo, a, sizeof a, false);
    s_fmt(d, &scale, hi, b, sizeof b, false);
    fprintf(f,
            "<text x=\"%d\" y=\"%d\" font-size=\"9\" fill=\"#555\">%s</text><text x=\"%d\" y=\"%d\" "
            "font-size=\"9\" fill=\"#555\" text-anchor=\"end\">%s</text>\n</svg>\n",
            label, H - 2, a, label + plot, H - 2, b);
}

/* ---- one measure ----------------------------------------------------------- */

static void s_measure(s_doc_t *d, const cat_measure_t *m, json_t *mj)
{
    FILE *f = d->f;
    fprintf(f, "<h3>");
    s_esc(f, s_label(d, m->sv, m->en));
    fprintf(f, "</h3>\n");
    const char *def = s_label(d, m->definition_sv, m->definition_en);
    if (def && *def) {
        fprintf(f, "<p class=\"def\">");
        s_esc(f, def);
        fprintf(f, "</p>\n");
    }
    json_t *rows[S_ROWS_MAX];
    s_val_t vals[S_ROWS_MAX];
    size_t n = mj ? s_rows(d, mj, rows, S_ROWS_MAX) : 0;
    if (n == 0) {
        fprintf(f, "<p class=\"none\">%s</p>\n", T("Inga uppgifter för året.", "No figures for the year."));
        return;
    }
    for (size_t i = 0; i < n; i++)
        vals[i] = s_value(d, m, rows[i]);
    if (m->aggregate == AGG_SUM)
        for (size_t i = 0; i < n; i++)
            vals[i].axis_lo = vals[i].axis_hi = 0;
    s_chart(d, rows, vals, n > S_CHART_ROWS ? S_CHART_ROWS : n);
    fprintf(f,
            "<table><thead><tr><th>%s</th><th>n</th><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr>"
            "</thead><tbody>\n",
            T("Nivå", "Level"), T("Värde", "Value"),
            m->aggregate == AGG_MEDIAN_DAYS ? T("Kvartiler", "Quartiles") : T("95 % KI", "95 % CI"),
            T("Förändring mot året före", "Change on the year before"),
            T("Integrerad − projekt (95 % KI)", "Integrated − project (95 % CI)"));
    for (size_t i = 0; i < n; i++) {
        const s_val_t *x = &vals[i];
        fprintf(f, "<tr><td>");
        s_esc(f, s_row_name(d, rows[i]));
        fprintf(f, "</td>");
        if (!x->shown) {
            fprintf(f, "<td colspan=\"5\" class=\"withheld\">%s</td></tr>\n", x->why);
            d->out->withheld++;
            continue;
        }
        char v[96], lo[96], hi[96], ch[96], df[96], dl[96], dh[96];
        s_fmt(d, x, x->v, v, sizeof v, false);
        fprintf(f, "<td>%lld</td><td>%s</td>", x->n, v);
        if (x->has_ci) {
            s_fmt(d, x, x->lo, lo, sizeof lo, false);
            s_fmt(d, x, x->hi, hi, sizeof hi, false);
            fprintf(f, "<td>%s – %s</td>", lo, hi);
        } else {
            fprintf(f, "<td>–</td>");
        }
        if (x->has_change) {
            s_fmt(d, x, x->change, ch, sizeof ch, true);
            fprintf(f, "<td>%s</td>", ch);
        } else {
            fprintf(f, "<td>–</td>");
        }
        if (x->has_diff) {
            s_fmt(d, x, x->diff, df, sizeof df, true);
            if (x->has_diff_ci) {
                s_fmt(d, x, x->diff_lo, dl, sizeof dl, true);
                s_fmt(d, x, x->diff_hi, dh, sizeof dh, true);
                fprintf(f, "<td>%s (%s – %s)</td>", df, dl, dh);
            } else {
                fprintf(f, "<td>%s</td>", df);
            }
        } else {
            fprintf(f, "<td>–</td>");
        }
        fprintf(f, "</tr>\n");
    }
    fprintf(f, "</tbody></table>\n");
}

/* ---- parts ----------------------------------------------------------------- */

static void s_page(s_doc_t *d, const char *anchor, const char *title)
{
    d->out->pages++;
    fprintf(d->f, "<section class=\"page\" id=\"%s\">\n<h2>", anchor);
    s_esc(d->f, title);
    fprintf(d->f, "</h2>\n");
}

static void s_page_end(s_doc_t *d)
{
    fprintf(d->f, "</section>\n");
}

static const char *s_edition(const s_doc_t *d)
{
    return d->req->forbund ? registry_forbund_name(d->cat, d->req->forbund) : T("Riket", "Sweden");
}

static const cat_indicator_t *s_indicator(const catalogue_t *cat, int i)
{
    return cat->indicators[i].nmeasures > 0 ? &cat->indicators[i] : NULL;
}

static void s_cover(s_doc_t *d)
{
    FILE *f = d->f;
    d->out->pages++;
    fprintf(f, "<section class=\"page cover\" id=\"start\">\n<p class=\"kicker\">%s</p>\n<h1>",
            T("Finsam – de nationella indikatorerna", "Finsam – the national indicators"));
    s_esc(f, T("Indikatorrapport ", "Indicator report "));
    fprintf(f, "%d</h1>\n<p class=\"edition\">", d->req->year);
    s_esc(f, s_edition(d));
    fprintf(f, "</p>\n");
    time_t now = time(NULL);
    struct tm tm;
    char when[32];
    strftime(when, sizeof when, "%Y-%m-%d", localtime_r(&now, &tm));
    fprintf(
        f, "<p>%s %s. %s</p>\n", T("Framtagen", "Produced"), when,
        T("Siffrorna är de officiella för året: de räkningar som godkännandet av varje förbunds år låste, "
          "skyddade på samma sätt som alla andra utdata från finsam.",
          "The figures are the official ones for the year: the counts the approval of each förbund's year "
          "locked, protected like every other output of finsam."));
    fprintf(f, "<h2>%s</h2>\n<ol class=\"toc\">\n", T("Innehåll", "Contents"));
    fprintf(f, "<li><a href=\"#summary\">%s</a></li>\n", T("Sammanfattning", "Summary"));
    for (int i = 0; i < d->cat->nindicators; i++) {
        const cat_indicator_t *ind = s_indicator(d->cat, i);
        if (!ind)
            continue;
        fprintf(f, "<li><a href=\"#ind-%d\">%s %d. ", ind->id, T("Indikator", "Indicator"), ind->id);
        s_esc(f, s_label(d, ind->sv, ind->en));
        fprintf(f, "</a></li>\n");
    }
    fprintf(f,
            "<li><a href=\"#coverage\">%s</a></li>\n<li><a href=\"#approval\">%s</a></li>\n"
            "<li><a href=\"#method\">%s</a></li>\n</ol>\n</section>\n",
            T("Täckning", "Coverage"), T("Godkännande", "Approval"), T("Metod", "Method"));
}

static void s_summary(s_doc_t *d)
{
    FILE *f = d->f;
    s_page(d, "summary", T("Sammanfattning", "Summary"));
    if (d->req->forbund)
        fprintf(
            f, "<p>%s</p>\n",
            T("Första måttet för varje indikator: förbundet, dess län och riket. Varje indikator har en egen "
              "sida med alla mått, intervall, jämförelser och det som inte visas.",
              "The first measure of each indicator: the förbund, its län and Sweden. Each indicator has a "
              "page of its own with every measure, intervals, comparisons and what is withheld."));
    else
        fprintf(f, "<p>%s %d %s</p>\n", T("Riksupplagan bygger på de", "The national edition rests on the"),
                d->info->approved,
                T("förbund vars år är godkänt; övriga förbund och deras status står under Godkännande.",
                  "förbund whose year is approved; the others and their state are listed under Approval."));
    fprintf(f, "<table class=\"summary\"><thead><tr><th>%s</th><th>%s</th>", T("Indikator", "Indicator"),
            T("Mått", "Measure"));
    const char *cols[3];
    int ncols = 0;
    if (d->req->forbund) {
        cols[ncols++] = "forbund";
        cols[ncols++] = "lan";
    }
    cols[ncols++] = "nation";
    for (int c = 0; c < ncols; c++) {
        fprintf(f, "<th>");
        if (!strcmp(cols[c], "forbund"))
            s_esc(f, s_edition(d));
        else if (!strcmp(cols[c], "lan"))
            s_esc(f, d->lan ? d->lan : "");
        else
            s_esc(f, T("Riket", "Sweden"));
        fprintf(f, "</th>");
    }
    fprintf(f, "</tr></thead><tbody>\n");
    for (int i = 0; i < d->cat->nindicators; i++) {
        const cat_indicator_t *ind = s_indicator(d->cat, i);
        if (!ind)
            continue;
        const cat_measure_t *m = &d->cat->measures[ind->first_measure];
        json_t *mj = s_measure_json(d->figures, m->id);
        json_t *rows[S_ROWS_MAX];
        size_t n = mj ? s_rows(d, mj, rows, S_ROWS_MAX) : 0;
        fprintf(f, "<tr><td>%d</td><td>", ind->id);
        s_esc(f, s_label(d, m->sv, m->en));
        fprintf(f, "</td>");
        for (int c = 0; c < ncols; c++) {
            json_t *row = NULL;
            for (size_t r = 0; r < n; r++)
                if (!strcmp(json_string_value(json_object_get(rows[r], "level")), cols[c]))
                    row = rows[r];
            s_val_t x = row ? s_value(d, m, row) : (s_val_t){0};
            char v[96] = "–";
            if (x.shown)
                s_fmt(d, &x, x.v, v, sizeof v, false);
            else if (row)
                snprintf(v, sizeof v, "%s", T("visas inte", "withheld"));
            fprintf(f, "<td>%s</td>", v);
        }
        fprintf(f, "</tr>\n");
    }
    fprintf(f, "</tbody></table>\n");
    s_page_end(d);
}

/* A measure's height on the page in mm, estimated high (the page count
 * is the number of parts only while no part overflows, so an estimate too
 * low would add a page): heading, definition, chart and table. */
static double s_measure_mm(const s_doc_t *d, const cat_measure_t *m, json_t *mj)
{
    json_t *rows[S_ROWS_MAX];
    size_t n = mj ? s_rows(d, mj, rows, S_ROWS_MAX) : 0;
    const char *def = s_label(d, m->definition_sv, m->definition_en);
    double h = 10 + 4.0 * (double) (strlen(def ? def : "") / 100 + 1);
    if (n == 0)
        return h + 6;
    size_t charted = n > S_CHART_ROWS ? S_CHART_ROWS : n;
    return h + ((double) charted * 12 + 12) * 0.265 + 2 + ((double) n + 1) * 5.0 + 3;
}

static void s_indicator_page(s_doc_t *d, const cat_indicator_t *ind)
{
    char anchor[40], title[512];
    snprintf(anchor, sizeof anchor, "ind-%d", ind->id);
    snprintf(title, sizeof title, "%s %d. %s", T("Indikator", "Indicator"), ind->id,
             s_label(d, ind->sv, ind->en));
    s_page(d, anchor, title);
    /* A4 less margins (267 mm) less the title (two lines). */
    const double budget = 267 - 20;
    double used = 0;
    for (int j = 0; j < ind->nmeasures; j++) {
        const cat_measure_t *m = &d->cat->measures[ind->first_measure + j];
        json_t *mj = s_measure_json(d->figures, m->id);
        double h = s_measure_mm(d, m, mj);
        if (used > 0 && used + h > budget) {
            /* The rest on a page of its own. */
            s_page_end(d);
            snprintf(anchor, sizeof anchor, "ind-%d-%d", ind->id, j);
            snprintf(title, sizeof title, "%s %d (%s)", T("Indikator", "Indicator"), ind->id,
                     T("forts.", "cont."));
            s_page(d, anchor, title);
            used = 0;
        }
        s_measure(d, m, mj);
        used += h;
    }
    s_page_end(d);
}

/* One coverage figure: the published count of people (units) of a row, or
 * -1 when the row is hidden or absent. */
static long long s_people(json_t *answer, const char *measure, const char *level, const char *name)
{
    json_t *m = s_measure_json(answer, measure);
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(m, "rows"), i, r) {
        if (strcmp(json_string_value(json_object_get(r, "level")), level) ||
            (name && strcmp(json_string_value(json_object_get(r, "name")), name)))
            continue;
        if (json_is_true(json_object_get(r, "suppressed")))
            return -1;
        return (long long) json_integer_value(json_object_get(r, "units"));
    }
    return -2; /* nobody */
}

static void s_count(const s_doc_t *d, char *out, size_t len, long long v)
{
    if (v == -1)
        snprintf(out, len, "%s", T("dold", "hidden"));
    else if (v < 0)
        snprintf(out, len, "0");
    else
        snprintf(out, len, "%lld", v);
}

typedef struct {
    const char *level, *name, *label;
} s_level_t;

static void s_coverage(s_doc_t *d)
{
    FILE *f = d->f;
    s_page(d, "coverage", T("Täckning", "Coverage"));
    fprintf(
        f, "<p>%s</p>\n",
        T("Hur många personer siffrorna vilar på: deltagare med statusrapport vid start och avslut, "
          "svarande i varje enkät och svarsfrekvensen för deltagarenkäterna (pågående mot start, avslut mot "
          "avslut). Personal-, styrelse- och chefsenkäter har ingen känd population i finsam och visar bara "
          "antal svarande. Antalen är skyddade som alla andra; en dold siffra ger ingen svarsfrekvens.",
          "How many people the figures rest on: participants with a status observation at entry and at "
          "exit, the respondents of each survey, and the response rate of the participant surveys (ongoing "
          "against entry, exit against exit). Staff, board and manager surveys have no known population in "
          "finsam and show respondents only. The counts are protected like every other; a hidden count "
          "gives no response rate."));
    /* Levels shown: the förbund edition its förbund, län, Riket. */
    s_level_t lv[3];
    int nl = 0;
    if (d->req->forbund) {
        lv[nl++] = (s_level_t){"forbund", d->req->forbund, s_edition(d)};
        lv[nl++] = (s_level_t){"lan", d->lan, d->lan};
    }
    lv[nl++] = (s_level_t){"nation", NULL, T("Riket", "Sweden")};
    fprintf(f, "<table><thead><tr><th>%s</th>", T("Instrument", "Instrument"));
    for (int l = 0; l < nl; l++) {
        fprintf(f, "<th>");
        s_esc(f, lv[l].label);
        fprintf(f, "</th>");
    }
    fprintf(f, "</tr></thead><tbody>\n");
    const char *status_ids[2] = {COVERAGE_STATUS_ENTRY, COVERAGE_STATUS_EXIT};
    for (int s = 0; s < 2; s++) {
        const cat_measure_t *m = catalogue_measure(d->covcat, status_ids[s]);
        fprintf(f, "<tr><td>");
        s_esc(f, s_label(d, m->sv, m->en));
        fprintf(f, "</td>");
        for (int l = 0; l < nl; l++) {
            char c[32];
            s_count(d, c, sizeof c, s_people(d->coverage, status_ids[s], lv[l].level, lv[l].name));
            fprintf(f, "<td>%s</td>", c);
        }
        fprintf(f, "</tr>\n");
    }
    for (int i = 0; i < d->cat->ninstruments; i++) {
        const cat_instrument_t *in = &d->cat->instruments[i];
        if (in->kind != INSTR_PARTICIPANT_SURVEY && in->kind != INSTR_STAFF_SURVEY)
            continue;
        char id[CAT_CODE_MAX + 8];
        snprintf(id, sizeof id, "cov_%s", in->code);
        if (!catalogue_measure(d->covcat, id))
            continue;
        /* The ongoing survey against entry, the exit survey against exit:
         * a participant survey that holds the exit-only item is the exit's. */
        bool exit = false;
        for (int j = 0; j < in->nitems; j++)
            exit |= !strcmp(in->items[j].code, "d_plan_efter") || !strcmp(in->items[j].code, "d_tid");
        fprintf(f, "<tr><td>%s ", T("Svarande:", "Respondents:"));
        s_esc(f, s_label(d, in->sv, in->en));
        fprintf(f, "</td>");
        for (int l = 0; l < nl; l++) {
            long long r = s_people(d->coverage, id, lv[l].level, lv[l].name);
            char c[32], rate[96] = "";
            s_count(d, c, sizeof c, r);
            if (in->kind == INSTR_PARTICIPANT_SURVEY) {
                long long p = s_people(d->coverage, exit ? COVERAGE_STATUS_EXIT : COVERAGE_STATUS_ENTRY,
                                       lv[l].level, lv[l].name);
                if (r >= 0 && p > 0) {
                    char pc[64];
                    s_pct(d, pc, sizeof pc, (double) r / (double) p);
                    snprintf(rate, sizeof rate, " (%s)", pc);
                }
            }
            fprintf(f, "<td>%s%s</td>", c, rate);
        }
        fprintf(f, "</tr>\n");
    }
    fprintf(
        f, "</tbody></table>\n<p class=\"def\">%s</p>\n",
        T("Inom parentes: svarsfrekvens, svarande delat med deltagare med statusrapport (start för pågående, "
          "avslut för avslutsenkäten).",
          "In parentheses: response rate, respondents over participants with a status observation (entry for "
          "the ongoing survey, exit for the exit survey)."));
    s_page_end(d);
}

static const char *s_state_text(const s_doc_t *d, const char *state)
{
    if (!strcmp(state, "approved"))
        return T("godkänd, låst", "approved, locked");
    if (!strcmp(state, "submitted"))
        return T("inskickad, väntar på godkännande", "submitted, awaiting approval");
    return T("öppen", "open");
}

static void s_approval(s_doc_t *d)
{
    FILE *f = d->f;
    s_page(d, "approval", T("Godkännande", "Approval"));
    fprintf(
        f, "<p>%s</p>\n",
        T("Ett förbund skickar in sitt år när uppgifterna är kompletta; det nationella nätverket godkänner "
          "det, och då låses siffrorna. Uppgifter som kommer in efter låsningen lagras men räknas inte in i "
          "de officiella siffrorna förrän året öppnas igen (sena uppgifter). Riksupplagan tar med godkända "
          "förbund och namnger de övriga.",
          "A förbund submits its year when its data are complete; the national network approves it, which "
          "locks the figures. Data arriving after the lock are stored but not counted in the official "
          "figures until the year is reopened (late data). The national edition includes approved förbund "
          "and names the others."));
    fprintf(f, "<table><thead><tr><th>%s</th><th>%s</th><th>%s</th><th>%s</th></tr></thead><tbody>\n",
            T("Förbund", "Förbund"), T("Status för året", "State of the year"),
            T("Senast ändrad", "Last changed"), T("Sena uppgifter", "Late data"));
    /* Every registered förbund, and any other with a state. */
    for (int pass = 0; pass < 2; pass++) {
        int n = pass == 0 ? d->cat->nforbund : (int) json_array_size(d->periods);
        for (int i = 0; i < n; i++) {
            const char *code;
            if (pass == 0) {
                code = d->cat->forbund[i].code;
            } else {
                json_t *p = json_array_get(d->periods, (size_t) i);
                code = json_string_value(json_object_get(p, "forbund"));
                bool known = false;
                for (int k = 0; k < d->cat->nforbund; k++)
                    known |= !strcmp(d->cat->forbund[k].code, code);
                if (known || strchr(json_string_value(json_object_get(p, "period")), 'H'))
                    continue;
            }
            if (d->req->forbund && strcmp(code, d->req->forbund))
                continue;
            json_t *p = NULL, *q;
            size_t k;
            char year[8];
            snprintf(year, sizeof year, "%d", d->req->year);
            json_array_foreach(d->periods, k, q)
                if (!strcmp(json_string_value(json_object_get(q, "forbund")), code) &&
                    !strcmp(json_string_value(json_object_get(q, "period")), year))
                    p = q;
            fprintf(f, "<tr><td>");
            s_esc(f, registry_forbund_name(d->cat, code));
            fprintf(f, "</td><td>%s</td><td>%.10s</td><td>%lld</td></tr>\n",
                    s_state_text(d, p ? json_string_value(json_object_get(p, "state")) : "open"),
                    p ? json_string_value(json_object_get(p, "changed_at")) : "–",
                    p ? (long long) json_integer_value(json_object_get(p, "late_events")) : 0LL);
        }
    }
    fprintf(f, "</tbody></table>\n");
    s_page_end(d);
}

static void s_method(s_doc_t *d)
{
    FILE *f = d->f;
    s_page(d, "method", T("Metod", "Method"));
    fprintf(
        f, "<p>%s</p>\n<p>%s</p>\n",
        T("Uppgifterna kommer från förbundens egna system. Varje förbunds agent tar bort direkta "
          "identifierare och ersätter personnumret med en pseudonym (nyckelad hash under en nyckel som bara "
          "förbundet har) innan något lämnar förbundet. Lagrade händelser är pseudonymiserade "
          "personuppgifter; bara de publicerade sammanställningarna är anonyma.",
          "The data come from the förbund's own systems. Each förbund's agent removes direct identifiers "
          "and replaces the personal identity number by a pseudonym (a keyed hash under a key only the "
          "förbund holds) before anything leaves the förbund. Stored events are pseudonymized personal "
          "data; only the published aggregates are anonymous."),
        T("Medelvärden visas med en decimal och ett 95-procentigt konfidensintervall (Students t). Andelar "
          "är andelen som svarat 4–5 eller ja. Förändring är skillnaden mot samma mått året före, såsom det "
          "var känt när året låstes. Integrerad − projekt är skillnaden mellan insatser i integrerad "
          "samverkan och projekt med Welchs intervall för medelvärden och Walds för andelar.",
          "Means are shown with one decimal and a 95 % confidence interval (Student's t). Shares are the "
          "share answering 4–5 or yes. Change is the difference from the same measure the year before, as "
          "known when the year was locked. Integrated − project is the difference between insatser in "
          "integrated collaboration and projects, with Welch's interval for means and Wald's for shares."));
    fprintf(
        f,
        T("<p>Röjandeskydd: varje antal får ett litet konsekvent slumpbidrag (cellnyckelmetoden, som SCB "
          "använder sedan 2025), så samma personer ger samma tal i alla tabeller. En uppgift som vilar på "
          "färre än %d personer visas inte, och fler uppgifter döljs så att ingen dold uppgift kan räknas "
          "fram ur andra. Andelar 0 %% och 100 %% visas bara från 10 svarande.</p>\n",
          "<p>Disclosure control: every count gets a small consistent random noise (the cell-key method "
          "used by Statistics Sweden since 2025), so the same people give the same number in every table. "
          "A figure resting on fewer than %d people is not shown, and more are hidden so that no hidden "
          "figure can be worked out from others. Shares of 0 %% and 100 %% are shown only from 10 "
          "respondents.</p>\n"),
        d->min_units);
    fprintf(f, "<p>%s</p>\n",
            T("Officiella siffror: ett förbunds år räknas med de händelser som fanns när året godkändes "
              "(låstes). Senare händelser för året räknas som sena uppgifter tills året öppnas igen och "
              "godkänns på nytt. Definitionen av varje mått finns i finsams dokumentation (indicators.md).",
              "Official figures: a förbund's year counts the events stored when the year was approved "
              "(locked). Later events for the year count as late data until the year is reopened and "
              "approved again. Each measure's definition is in finsam's documentation (indicators.en.md)."));
    s_page_end(d);
}

static const char s_css[] =
    "@page{size:A4;margin:14mm 14mm 16mm 14mm;@bottom-center{content:counter(page) \" / \" counter(pages);"
    "font:9pt sans-serif;color:#555}}"
    "body{font:10pt/1.35 'DejaVu Sans',sans-serif;color:#111;margin:0}"
    "section.page{break-before:page;break-after:page}section.page:first-child{break-before:auto}"
    "h1{font-size:26pt;margin:40mm 0 4mm}h2{font-size:15pt;margin:0 0 4mm;color:#1f5f99}"
    "h3{font-size:9pt;margin:2.5mm 0 0.5mm}.kicker{color:#555;margin-top:30mm}.edition{font-size:16pt}"
    "table{border-collapse:collapse;width:100%;font-size:7.5pt;margin:0.5mm 0 1mm}"
    "th,td{border-bottom:1px solid #ccc;padding:0 4px;text-align:left}th{background:#eef2f6}"
    ".withheld{color:#666;font-style:italic}.def{color:#444;font-size:7.5pt;line-height:1.2;margin:0 0 0.5mm}"
    ".chart{display:block;margin:1mm 0}.toc li{margin:1mm 0}a{color:#1f5f99;text-decoration:none}";

/* ---- the document ---------------------------------------------------------- */

fin_err_t annual_html(ledger_t *ledger, const catalogue_t *catalogue, const annual_request_t *req, FILE *out,
                      annual_info_t *info, char *err, size_t errlen)
{
    memset(info, 0, sizeof *info);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    s_doc_t d = {.f = out,
                 .sv = !req->lang || strcmp(req->lang, "en") != 0,
                 .req = req,
                 .cat = catalogue,
                 .min_units = 5,
                 .out = info};
    official_t *off = NULL, *cov = NULL;
    catalogue_t *covcat = NULL;
    fin_err_t code = FIN_OK;
    json_t *approvals = approval_json(ledger, NULL, req->year, false, err, errlen);
    if (!approvals)
        return FIN_EIO;
    d.periods = json_object_get(approvals, "periods");
    if (req->forbund) {
        bool known = false;
        for (int i = 0; i < catalogue->nforbund; i++)
            known |= !strcmp(catalogue->forbund[i].code, req->forbund);
        const char *state = "open";
        size_t i;
        json_t *p;
        json_array_foreach(d.periods, i, p)
            if (!strcmp(json_string_value(json_object_get(p, "forbund")), req->forbund) &&
                !strchr(json_string_value(json_object_get(p, "period")), 'H'))
                state = json_string_value(json_object_get(p, "state"));
        if (!known && !strcmp(state, "open")) {
            code = fin_fail(err, errlen, FIN_ENOTFOUND, "förbund %s is not registered and has no approval",
                            req->forbund);
            goto done;
        }
        if (strcmp(state, "approved")) {
            code = fin_fail(err, errlen, FIN_EINPUT,
                            "%s %d is %s, not approved: the report is made from approved years only "
                            "(finsamctl approve %s %d once the förbund has submitted it)",
                            req->forbund, req->year, state, req->forbund, req->year);
            goto done;
        }
        d.lan = catalogue_lan(catalogue, req->forbund);
    }
    if ((code = official_open(&off, ledger, catalogue, req->year, err, errlen)))
        goto done;
    d.info = official_info(off);
    info->approved = d.info->approved;
    if (d.info->approved == 0) {
        code = fin_fail(err, errlen, FIN_EINPUT,
                        "no förbund has an approved %d yet (finsamctl approval list)", req->year);
        goto done;
    }
    d.min_units = protect_params(official_protect(off))->min_count;
    char period[8];
    snprintf(period, sizeof period, "%d", req->year);
    query_t q = {.forbund = req->forbund, .period = period, .slice = "all", .protect = official_protect(off)};
    if ((code = query_run(official_ledger(off), catalogue, &q, &d.figures, err, errlen)))
        goto done;
    if ((code = coverage_catalogue(&covcat, catalogue, err, errlen)) ||
        (code = official_open(&cov, ledger, covcat, req->year, err, errlen)))
        goto done;
    d.covcat = covcat;
    q.protect = official_protect(cov);
    if ((code = query_run(official_ledger(cov), covcat, &q, &d.coverage, err, errlen)))
        goto done;

    fprintf(out, "<!DOCTYPE html>\n<html lang=\"%s\"><head><meta charset=\"utf-8\">\n<title>",
            d.sv ? "sv" : "en");
    s_esc(out, d.sv ? "Indikatorrapport " : "Indicator report ");
    fprintf(out, "%d – ", req->year);
    s_esc(out, s_edition(&d));
    fprintf(out, "</title>\n<style>%s</style>\n</head><body>\n", s_css);
    s_cover(&d);
    s_summary(&d);
    for (int i = 0; i < catalogue->nindicators; i++)
        if (s_indicator(catalogue, i))
            s_indicator_page(&d, &catalogue->indicators[i]);
    s_coverage(&d);
    s_approval(&d);
    s_method(&d);
    fprintf(out, "<!-- finsam-report pages=%d approved=%d -->\n</body></html>\n", info->pages,
            info->approved);
    if (fflush(out) != 0 || ferror(out))
        code = fin_fail(err, errlen, FIN_EIO, "write failed");
done:
    clock_gettime(CLOCK_MONOTONIC, &t1);
    info->seconds = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
    json_decref(d.figures);
    json_decref(d.coverage);
    json_decref(approvals);
    official_destroy(&cov);
    official_destroy(&off);
    catalogue_destroy(&covcat);
    return code;
}
