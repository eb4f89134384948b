/* annual_test.c: the yearly report end to end (report/annual.c,
 * report/coverage.c, report/official.c, ctl/pdf.c, web/report_page.c)
 * with a real collector, four agents and finsamctl on 127.0.0.1: NV and
 * HBS deliver demo data, SD is a tiny förbund, CO imports a generated
 * file whose participants and respondents the test counts itself. NV, SD
 * and CO are approved, HBS only submitted. The HTML and the PDF exist;
 * the PDF, rendered to images (pdftoppm), has the page count the report
 * says; the figures shown are the official values of `finsamctl query
 * --official` and of the API; the tiny förbund's report withholds what
 * the query withholds; the text (pdftotext) holds no internal code or key
 * fragment; coverage matches the count of the generated input. */
#include "catalogue.h"
#include "cluster.h"
#include "testutil.h"

#include <dirent.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static cluster_t s_c;
static char s_dir[300];
static catalogue_t *s_cat;

/* A valid 12-digit personnummer 19800101-NNNC for serial n. */
static void s_pnr(int n, char out[16])
{
    char d[32];
    snprintf(d, sizeof d, "8001%02d%03d", (1 + n / 900) % 100, 100 + n % 900);
    int sum = 0;
    for (int i = 0; i < 9; i++) {
        int v = (d[i] - '0') * (i % 2 ? 1 : 2);
        sum += v / 10 + v % 10;
    }
    snprintf(out, 16, "19%.6s-%.3s%d", d, d + 6, (10 - sum % 10) % 10);
}

/* The generated input of CO: 600 participants with an entry status, 400
 * of them with an exit status, 450 ongoing survey answers, 300 exit
 * survey answers, 250 staff survey answers — all in 2026. More than NV's
 * demo data: where the tiny förbund's coverage is hidden, complementary
 * suppression hides the smaller of the others (NV), and CO's counts show. */
enum { CO_ENTRY = 600, CO_EXIT = 400, CO_ONGOING = 450, CO_EXITSURVEY = 300, CO_STAFF = 250 };

static void s_write_co(const char *path)
{
    FILE *f = fopen(path, "w");
    CHECK(f);
    char p[16];
    for (int i = 0; i < CO_ENTRY; i++) {
        s_pnr(i, p);
        fprintf(
            f,
            "{\"kind\":\"status\",\"personnummer\":\"%s\",\"date\":\"2026-02-10\",\"phase\":\"entry\","
            "\"mode\":\"%s\",\"occupation\":\"none\",\"income\":\"social_assistance\",\"gender\":\"woman\","
            "\"birth_year\":1980}\n",
            p, i % 2 ? "project" : "integrated");
    }
    for (int i = 0; i < CO_EXIT; i++) {
        s_pnr(i, p);
        fprintf(f,
                "{\"kind\":\"status\",\"personnummer\":\"%s\",\"date\":\"2026-06-10\",\"phase\":\"exit\","
                "\"mode\":\"%s\",\"occupation\":\"work\",\"extent_pct\":50,\"income\":\"wage\",\"days_in_"
                "insats\":"
                "120,\"days_to_next_service\":14,\"assessed_with_participant\":true,\"gender\":\"woman\","
                "\"birth_year\":1980}\n",
                p, i % 2 ? "project" : "integrated");
    }
    for (int i = 0; i < CO_ONGOING; i++) {
        s_pnr(i, p);
        fprintf(
            f,
            "{\"kind\":\"participant_survey\",\"personnummer\":\"%s\",\"date\":\"2026-03-14\",\"instrument\":"
            "\"deltagare_pagaende\",\"mode\":\"%s\",\"gender\":\"woman\",\"birth_year\":1980,\"answers\":"
            "{\"d_behov\":%d,\"d_planering\":4}}\n",
            p, i % 2 ? "project" : "integrated", 1 + i % 5);
    }
    for (int i = 0; i < CO_EXITSURVEY; i++) {
        s_pnr(i, p);
        fprintf(
            f,
            "{\"kind\":\"participant_survey\",\"personnummer\":\"%s\",\"date\":\"2026-06-14\",\"instrument\":"
            "\"deltagare_avslut\",\"mode\":\"%s\",\"gender\":\"woman\",\"birth_year\":1980,\"answers\":"
            "{\"d_behov\":%d,\"d_tid\":4,\"d_plan_efter\":1}}\n",
            p, i % 2 ? "project" : "integrated", 1 + i % 5);
    }
    for (int i = 0; i < CO_STAFF; i++)
        fprintf(
            f,
            "{\"kind\":\"staff_survey\",\"date\":\"2026-04-14\",\"instrument\":\"insatspersonal\",\"agency\":"
            "\"af\",\"mode\":\"integrated\",\"answers\":{\"p_respekt\":%d},\"response_id\":\"R-%d\"}\n",
            2 + i % 4, i);
    CHECK(fclose(f) == 0);
}

static void s_agent(const char *name, const char *forbund, const char *const *fill, char *dir, size_t len)
{
    cluster_add_agent(&s_c, name, forbund, true, dir, len);
    CHECK_EQ(cluster_agent(&s_c, dir, 120000, fill), 0);
    const char *run[] = {"run", "--exit-when-empty", NULL};
    CHECK_EQ(cluster_agent(&s_c, dir, 120000, run), 0);
    const char *submit[] = {"submit", "--year", "2026", NULL};
    CHECK_EQ(cluster_agent(&s_c, dir, 60000, submit), 0);
    CHECK_EQ(cluster_agent(&s_c, dir, 60000, run), 0);
}

/* The cluster every case reads: made once by main, before the cases run
 * (each in a child process of its own). */
static void s_setup(void)
{
    if (s_cat)
        return;
    char err[256];
    CHECK_EQ(catalogue_load(&s_cat, NULL, err, sizeof err), 0);
    cluster_init(&s_c);
    snprintf(s_dir, sizeof s_dir, "%s", s_c.dir);
    cluster_start_collector_http(&s_c);
    char nv[320], hbs[320], sd[320], co[320], file[400];
    const char *fill_nv[] = {"demo", "--events", "3000", "--seed", "1", "--no-send", NULL};
    const char *fill_hbs[] = {"demo", "--events", "3000", "--seed", "2", "--no-send", NULL};
    const char *fill_sd[] = {"demo", "--events", "200", "--seed", "3", "--no-send", NULL};
    s_agent("nv", "NV", fill_nv, nv, sizeof nv);
    s_agent("hbs", "HBS", fill_hbs, hbs, sizeof hbs);
    s_agent("sd", "SD", fill_sd, sd, sizeof sd);
    snprintf(file, sizeof file, "%s/co.jsonl", s_dir);
    s_write_co(file);
    const char *fill_co[] = {"import", file, NULL};
    s_agent("co", "CO", fill_co, co, sizeof co);
    const char *approve_nv[] = {"approve", "NV", "2026", NULL};
    const char *approve_sd[] = {"approve", "SD", "2026", NULL};
    const char *approve_co[] = {"approve", "CO", "2026", NULL};
    CHECK_EQ(cluster_ctl(&s_c, NULL, approve_nv), 0);
    CHECK_EQ(cluster_ctl(&s_c, NULL, approve_sd), 0);
    CHECK_EQ(cluster_ctl(&s_c, NULL, approve_co), 0);
}

/* `finsamctl report ...`: the pages it reports (the exit status checked). */
static int s_report(const char *forbund, const char *format, const char *out)
{
    const char *args[12] = {"report", "--year", "2026", "--format", format, "-o", out};
    int n = 7;
    if (forbund) {
        args[n++] = "--forbund";
        args[n++] = forbund;
    }
    args[n] = NULL;
    char *text = NULL;
    CHECK_EQ(cluster_ctl(&s_c, &text, args), 0);
    const char *p = text ? strstr(text, "pages=") : NULL;
    CHECK(p);
    int pages = atoi(p + 6);
    free(text);
    return pages;
}

static json_t *s_query(const char *forbund, bool coverage, bool exact)
{
    const char *args[14] = {"query", "--official", "2026", "--period", "2026", "--format", "json"};
    int n = 7;
    if (forbund) {
        args[n++] = "--forbund";
        args[n++] = forbund;
    }
    if (coverage)
        args[n++] = "--coverage";
    if (exact)
        args[n++] = "--exact";
    args[n] = NULL;
    char *out = NULL;
    CHECK_EQ(cluster_ctl(&s_c, &out, args), 0);
    json_t *j = json_loads(out ? out : "", 0, NULL);
    free(out);
    CHECK(j);
    return j;
}

/* The row of förbund code `forbund` (or level "nation") of a measure. */
static json_t *s_row(json_t *measure, const char *level, const char *name)
{
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(measure, "rows"), i, r)
        if (!strcmp(json_string_value(json_object_get(r, "level")), level) &&
            (!name || !strcmp(json_string_value(json_object_get(r, "name")), name)))
            return r;
    return NULL;
}

static char *s_pdftotext(const char *pdf)
{
    char *argv[] = {"/usr/bin/pdftotext", "-layout", (char *) pdf, "-", NULL};
    char *text = NULL;
    CHECK_EQ(tu_capture(argv, &text, 60000), 0);
    CHECK(text);
    return text;
}

static int s_pngs(const char *dir)
{
    DIR *d = opendir(dir);
    CHECK(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strstr(e->d_name, ".png") != NULL;
    closedir(d);
    return n;
}

/* The PDF as page images: how many. */
static int s_rendered_pages(const char *pdf, const char *name)
{
    char dir[400], prefix[420];
    snprintf(dir, sizeof dir, "%s/png-%s", s_dir, name);
    CHECK_EQ(mkdir(dir, 0700), 0);
    snprintf(prefix, sizeof prefix, "%s/page", dir);
    char *argv[] = {"/usr/bin/pdftoppm", "-png", "-r", "20", (char *) pdf, prefix, NULL};
    CHECK_EQ(tu_run(argv, NULL, 120000), 0);
    return s_pngs(dir);
}

static void test_html_and_pdf(void)
{
    s_setup();
    char html[400], pdf[400], nvpdf[400];
    snprintf(html, sizeof html, "%s/riket.html", s_dir);
    snprintf(pdf, sizeof pdf, "%s/riket.pdf", s_dir);
    snprintf(nvpdf, sizeof nvpdf, "%s/nv.pdf", s_dir);
    int pages = s_report(NULL, "html", html);
    CHECK_EQ(s_report(NULL, "pdf", pdf), pages);
    int nv_pages = s_report("NV", "pdf", nvpdf);
    CHECK(pages >= 18);
    char *doc = tu_read_file(html);
    CHECK(doc && strstr(doc, "<svg") && !strstr(doc, "<script"));
    /* Self-contained: no reference outside the document but the SVG namespace. */
    for (const char *p = doc; (p = strstr(p, "http")); p++)
        CHECK(!strncmp(p, "http://www.w3.org/2000/svg", 26));
    /* The national edition names the förbund not approved, with no figures. */
    const char *hbs = "Samordningsförbundet Huddinge, Botkyrka och Salem";
    CHECK(strstr(doc, hbs));
    CHECK(strstr(strstr(doc, hbs), "inskickad, väntar på godkännande"));
    CHECK(!strstr(strstr(doc, hbs) + 1, hbs));
    free(doc);
    CHECK_EQ(s_rendered_pages(pdf, "riket"), pages);
    CHECK_EQ(s_rendered_pages(nvpdf, "nv"), nv_pages);
    /* English. */
    const char *en[] = {"report", "--year", "2026",      "--format", "html",
                        "--lang", "en",     "--forbund", "NV",       NULL};
    char *out = NULL;
    CHECK_EQ(cluster_ctl(&s_c, &out, en), 0);
    CHECK(out && strstr(out, "Indicator report 2026") && strstr(out, "Coverage"));
    free(out);
    /* A year not approved: refused, saying so. */
    const char *hbsrep[] = {"report", "--year", "2026", "--format", "html", "--forbund", "HBS", NULL};
    CHECK_EQ(cluster_ctl(&s_c, NULL, hbsrep), 65);
    /* Year end in one command: the national edition and one per approved
     * förbund (NV, SD, CO), none for HBS (submitted only). */
    char dir[400], path[500];
    snprintf(dir, sizeof dir, "%s/year-end", s_c.dir);
    const char *all[] = {"report", "--year", "2026", "--all", "--format", "html", "--out", dir, NULL};
    CHECK_EQ(cluster_ctl(&s_c, &out, all), 0);
    CHECK(out && strstr(out, "edition=national") && strstr(out, "edition=NV") && strstr(out, "edition=SD") &&
          strstr(out, "edition=CO") && !strstr(out, "edition=HBS"));
    free(out);
    const char *files[] = {"2026.html", "2026-NV.html", "2026-SD.html", "2026-CO.html"};
    for (size_t i = 0; i < TU_NELEMS(files); i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        CHECK(tu_file_has(path, "</html>"));
    }
    snprintf(path, sizeof path, "%s/2026-HBS.html", dir);
    CHECK(access(path, F_OK) < 0);
    const char *both[] = {"report",   "--year", "2026",  "--all", "--forbund", "NV",
                          "--format", "html",   "--out", dir,     NULL};
    CHECK_EQ(cluster_ctl(&s_c, NULL, both), 64);
}

/* "3,4" for 3.4 with `dec` decimals, as the report writes it. */
static void s_sv(char *out, size_t len, double v, int dec)
{
    snprintf(out, len, "%.*f", dec, v);
    char *dot = strchr(out, '.');
    if (dot)
        *dot = ',';
}

static void test_figures_match_the_official_values(void)
{
    s_setup();
    char html[400], pdf[400];
    snprintf(html, sizeof html, "%s/nv.html", s_dir);
    snprintf(pdf, sizeof pdf, "%s/nv2.pdf", s_dir);
    s_report("NV", "html", html);
    s_report("NV", "pdf", pdf);
    char *doc = tu_read_file(html), *text = s_pdftotext(pdf);
    json_t *q = s_query("NV", false, false);
    const char *name = "Samordningsförbundet Norra Västmanland";
    int checked = 0;
    size_t i;
    json_t *m;
    json_array_foreach(json_object_get(q, "measures"), i, m) {
        json_t *r = s_row(m, "forbund", "NV");
        if (!r || json_is_true(json_object_get(r, "suppressed")) || json_object_get(r, "withheld"))
            continue;
        const char *agg = json_string_value(json_object_get(m, "aggregate"));
        char want[256], v[64];
        long long n = (long long) json_integer_value(json_object_get(r, "n"));
        if (!strcmp(agg, "ordinal")) {
            s_sv(v, sizeof v, json_real_value(json_object_get(r, "mean")), 1);
        } else if (!strcmp(agg, "share_yes")) {
            snprintf(v, sizeof v, "%.0f\xc2\xa0%%", json_real_value(json_object_get(r, "share")) * 100);
        } else {
            continue;
        }
        snprintf(want, sizeof want, "<tr><td>%s</td><td>%lld</td><td>%s</td>", name, n, v);
        if (!strstr(doc, want))
            fprintf(stderr, "not in the report: %s (%s)\n", want,
                    json_string_value(json_object_get(m, "id")));
        CHECK(strstr(doc, want));
        /* The PDF shows the same n and value. */
        char nn[32];
        snprintf(nn, sizeof nn, "%lld", n);
        v[strcspn(v, "\xc2")] = '\0'; /* the number before a no-break space and % */
        CHECK(strstr(text, nn) && strstr(text, v));
        checked++;
    }
    CHECK(checked >= 10);
    /* The API serves the same figures and the same document. */
    int status;
    size_t len;
    char *body = cluster_http_get(&s_c, "/report/2026/NV.json", &status, &len);
    CHECK_EQ(status, 200);
    json_t *api = json_loads(strstr(body, "\r\n\r\n") + 4, 0, NULL);
    CHECK(api);
    char *a = json_dumps(json_object_get(api, "measures"), JSON_SORT_KEYS | JSON_COMPACT);
    char *b = json_dumps(json_object_get(q, "measures"), JSON_SORT_KEYS | JSON_COMPACT);
    CHECK(!strcmp(a, b));
    free(a);
    free(b);
    json_decref(api);
    free(body);
    body = cluster_http_get(&s_c, "/report/2026/NV.html", &status, &len);
    CHECK_EQ(status, 200);
    CHECK(!strcmp(strstr(body, "\r\n\r\n") + 4, doc));
    free(body);
    body = cluster_http_get(&s_c, "/report/2026.html", &status, &len);
    CHECK_EQ(status, 200);
    free(body);
    body = cluster_http_get(&s_c, "/report/2026/HBS.html", &status, &len);
    CHECK_EQ(status, 404); /* not approved */
    free(body);
    body = cluster_http_get(&s_c, "/report/20x6.html", &status, &len);
    CHECK_EQ(status, 404);
    free(body);
    json_decref(q);
    free(doc);
    free(text);
}

static void test_tiny_forbund_withholds_what_the_api_does(void)
{
    s_setup();
    char html[400];
    snprintf(html, sizeof html, "%s/sd.html", s_dir);
    s_report("SD", "html", html);
    char *doc = tu_read_file(html);
    int status;
    size_t len;
    char *body = cluster_http_get(&s_c, "/report/2026/SD.json", &status, &len);
    CHECK_EQ(status, 200);
    json_t *api = json_loads(strstr(body, "\r\n\r\n") + 4, 0, NULL);
    free(body);
    CHECK(api);
    /* The SD row of each measure table, in catalogue order; the summary
     * table's rows start with the indicator number, so they do not match. */
    const char *name = "<tr><td>Södra Dalarnas Samordningsförbund</td>";
    const char *p = strstr(doc, "id=\"ind-");
    size_t i;
    json_t *m;
    int withheld = 0;
    json_array_foreach(json_object_get(api, "measures"), i, m) {
        json_t *r = s_row(m, "forbund", "SD");
        /* The measure's part: from its heading to the next heading or the
         * end of the indicator's page. */
        CHECK(p && (p = strstr(p, "<h3>")));
        const char *end = strstr(p + 4, "<h3>"), *page = strstr(p, "</section>");
        if (!end || (page && page < end))
            end = page;
        const char *row = strstr(p, name);
        if (row && row > end)
            row = NULL;
        if (!r) {
            CHECK(!row); /* no SD row: none in the report either */
        } else {
            CHECK(row);
            bool hidden = json_is_true(json_object_get(r, "suppressed")) || json_object_get(r, "withheld") ||
                          json_integer_value(json_object_get(r, "n")) == 0;
            bool shown_withheld = !strncmp(row + strlen(name), "<td colspan=\"5\" class=\"withheld\">", 33);
            CHECK_EQ(hidden, shown_withheld);
            withheld += hidden;
        }
        p = end;
    }
    CHECK(withheld > 0);
    json_decref(api);
    free(doc);
}

static void test_no_internal_codes_in_the_text(void)
{
    s_setup();
    char pdf[400], nvpdf[400];
    snprintf(pdf, sizeof pdf, "%s/riket3.pdf", s_dir);
    snprintf(nvpdf, sizeof nvpdf, "%s/nv3.pdf", s_dir);
    s_report(NULL, "pdf", pdf);
    s_report("NV", "pdf", nvpdf);
    const char *pdfs[] = {pdf, nvpdf};
    for (int k = 0; k < 2; k++) {
        char *text = s_pdftotext(pdfs[k]);
        CHECK(strstr(text, "Indikatorrapport 2026"));
        for (int i = 0; i < s_cat->nmeasures; i++)
            CHECK(!strstr(text, s_cat->measures[i].id));
        for (int i = 0; i < s_cat->ninstruments; i++) {
            /* Codes that are not also Swedish words (styrelse, remittent). */
            CHECK(!strchr(s_cat->instruments[i].code, '_') || !strstr(text, s_cat->instruments[i].code));
            for (int j = 0; j < s_cat->instruments[i].nitems; j++)
                CHECK(!strstr(text, s_cat->instruments[i].items[j].code));
        }
        CHECK(!strstr(text, "cov_") && !strstr(text, "mode=") && !strstr(text, "share_yes") &&
              !strstr(text, "ordinal"));
        /* No key fragments: the agents' and the collector's public keys. */
        const char *keys[] = {"nv/keys/agent.key", "hbs/keys/agent.key", "sd/keys/agent.key",
                              "co/keys/agent.key", "collector/keys/collector.key"};
        for (size_t j = 0; j < TU_NELEMS(keys); j++) {
            char path[500];
            snprintf(path, sizeof path, "%s/%s", s_dir, keys[j]);
            char *cert = tu_read_file(path);
            CHECK(cert);
            const char *pk = strstr(cert, "public-key = \"");
            CHECK(pk);
            char frag[9];
            memcpy(frag, pk + 14, 8);
            frag[8] = '\0';
            CHECK(!strstr(text, frag));
            free(cert);
        }
        /* No run of 16 hex digits (event ids, fingerprints). */
        int run = 0;
        for (const char *p = text; *p; p++) {
            run = ((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')) ? run + 1 : 0;
            CHECK(run < 16);
        }
        free(text);
    }
}

static long long s_after(const char *doc, const char *label)
{
    const char *p = strstr(doc, label);
    CHECK(p);
    p = strstr(p, "<td>");
    CHECK(p);
    return atoll(p + 4);
}

static void test_coverage_against_the_input(void)
{
    s_setup();
    json_t *exact = s_query("CO", true, true), *pub = s_query("CO", true, false);
    static const struct {
        const char *id;
        long long want;
        const char *label;
    } cases[] = {
        {"cov_status_entry", CO_ENTRY, "Deltagare med statusrapport vid start</td>"},
        {"cov_status_exit", CO_EXIT, "Deltagare med statusrapport vid avslut</td>"},
        {"cov_deltagare_pagaende", CO_ONGOING, "Svarande: Deltagare, pågående</td>"},
        {"cov_deltagare_avslut", CO_EXITSURVEY, "Svarande: Deltagare, avslut</td>"},
        {"cov_insatspersonal", CO_STAFF, "Svarande: Insatspersonal</td>"},
    };
    char html[400];
    snprintf(html, sizeof html, "%s/co.html", s_dir);
    s_report("CO", "html", html);
    char *doc = tu_read_file(html);
    const char *cov = strstr(doc, "id=\"coverage\"");
    CHECK(cov);
    int compared = 0;
    for (size_t i = 0; i < TU_NELEMS(cases); i++) {
        json_t *m = NULL, *x;
        size_t k;
        json_array_foreach(json_object_get(exact, "measures"), k, x)
            if (!strcmp(json_string_value(json_object_get(x, "id")), cases[i].id))
                m = x;
        CHECK(m);
        json_t *r = s_row(m, "forbund", "CO");
        CHECK(r);
        CHECK_EQ(json_integer_value(json_object_get(r, "units")), cases[i].want);
        /* The report shows the protected count the API shows, within the
         * cell-key method's largest deviation of the true count. */
        json_array_foreach(json_object_get(pub, "measures"), k, x)
            if (!strcmp(json_string_value(json_object_get(x, "id")), cases[i].id))
                m = x;
        json_t *pr = s_row(m, "forbund", "CO");
        CHECK(pr);
        if (json_is_true(json_object_get(pr, "suppressed"))) {
            /* Hidden by complementary suppression: hidden in the report. */
            const char *cell = strstr(strstr(cov, cases[i].label), "<td>");
            CHECK(!strncmp(cell, "<td>dold</td>", 13));
            continue;
        }
        long long shown = s_after(cov, cases[i].label);
        CHECK_EQ(shown, json_integer_value(json_object_get(pr, "units")));
        CHECK(llabs(shown - cases[i].want) <= 2);
        compared++;
    }
    CHECK(compared >= 3);
    /* The response rates come from the counts shown. */
    CHECK(strstr(cov, "\xc2\xa0%)"));
    int status;
    size_t len;
    char *body = cluster_http_get(&s_c, "/report/2026/coverage.json?forbund=CO", &status, &len);
    CHECK_EQ(status, 200);
    json_t *api = json_loads(strstr(body, "\r\n\r\n") + 4, 0, NULL);
    char *a = json_dumps(json_object_get(api, "measures"), JSON_SORT_KEYS | JSON_COMPACT);
    char *b = json_dumps(json_object_get(pub, "measures"), JSON_SORT_KEYS | JSON_COMPACT);
    CHECK(!strcmp(a, b));
    free(a);
    free(b);
    json_decref(api);
    free(body);
    json_decref(exact);
    json_decref(pub);
    free(doc);
    CHECK_EQ(cluster_rebuild_verify(&s_c), 0);
}

static const test_case_t s_cases[] = {
    {"html and pdf: page count, national edition", test_html_and_pdf},
    {"figures match the official values and the API", test_figures_match_the_official_values},
    {"a tiny förbund withholds what the API withholds", test_tiny_forbund_withholds_what_the_api_does},
    {"no internal codes or key fragments in the text", test_no_internal_codes_in_the_text},
    {"coverage against a count of the generated input", test_coverage_against_the_input},
};

int main(int argc, char **argv)
{
    bool listing =
        argc > 1 && (!strcmp(argv[1], "-l") || !strcmp(argv[1], "--list") || !strcmp(argv[1], "-h"));
    if (!listing)
        s_setup();
    int rc = test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
    if (s_cat) {
        cluster_stop_collector(&s_c, SIGTERM);
        catalogue_destroy(&s_cat);
    }
    return rc;
}
