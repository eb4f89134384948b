/* report_page.c: the yearly report over HTTP — GET /report/2026.html (the
 * national edition) and /report/2026/NV.html (a förbund's), ?lang=en for
 * English: the same document `finsamctl report --format html` writes
 * (report/annual.h), so the same official, protected figures; and the
 * figures themselves as JSON, exactly as `finsamctl query --official`:
 * /report/2026.json, /report/2026/NV.json (the indicators) and
 * /report/2026/coverage.json[?forbund=NV] (the coverage measures).
 *
 * The design decision: the route lives here, not in http.c's table of
 * exact paths, because its path carries the year and the förbund; http.c
 * hands every path under /report/ to report_page_handle with the
 * method and whether the request carried the token, and this file
 * answers as http.c would (405, 401, 404). Each request builds the
 * official figures afresh (a replay of the log up to the locks, in a
 * temporary directory): the report is asked for rarely, and nothing is
 * cached that could go stale after a reopen. */
#include "api.h"

#include "annual.h"
#include "answer.h"
#include "coverage.h"
#include "log.h"
#include "official.h"
#include "query.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* "2026.html" or "2026/NV.html" (or .json) after "/report/": 0 with year,
 * forbund (empty for the national edition) and json, or -1. */
static int s_parse(const char *rest, int *year, char forbund[16], bool *json)
{
    int n = 0;
    forbund[0] = '\0';
    if (sscanf(rest, "%4d%n", year, &n) != 1 || n != 4 || *year < 2000 || *year > 2100)
        return -1;
    rest += 4;
    if (*rest == '/')
        rest++;
    else if (*rest != '.')
        return -1;
    const char *dot = strchr(rest, '.');
    size_t len = dot ? (size_t) (dot - rest) : 0;
    if (!dot || (strcmp(dot, ".html") && strcmp(dot, ".json")) || len > 8)
        return -1;
    *json = !strcmp(dot, ".json");
    for (size_t i = 0; i < len; i++)
        if (!(rest[i] >= 'A' && rest[i] <= 'Z') && !(rest[i] >= 'a' && rest[i] <= 'z') &&
            !(rest[i] >= '0' && rest[i] <= '9') && rest[i] != '_' && rest[i] != '-')
            return -1;
    memcpy(forbund, rest, len);
    forbund[len] = '\0';
    return 0;
}

/* The official figures (or the coverage measures) of `year` as query_run
 * answers them, with the förbund they hold. */
static enum MHD_Result s_json(http_t *self, struct MHD_Connection *c, const catalogue_t *cat, int year,
                              const char *forbund, bool coverage)
{
    char err[QUERY_ERR_LEN], period[8];
    catalogue_t *covcat = NULL;
    official_t *off = NULL;
    json_t *result = NULL;
    fin_err_t rc = coverage ? coverage_catalogue(&covcat, cat, err, sizeof err) : FIN_OK;
    if (covcat)
        cat = covcat;
    if (!rc)
        rc = official_open(&off, self->ledger, cat, year, err, sizeof err);
    if (!rc) {
        snprintf(period, sizeof period, "%d", year);
        query_t q = {.forbund = forbund, .period = period, .slice = "all", .protect = official_protect(off)};
        rc = query_run(official_ledger(off), cat, &q, &result, err, sizeof err);
    }
    if (!rc) {
        const lockview_info_t *info = official_info(off);
        json_t *in = json_array();
        for (int i = 0; i < info->approved; i++)
            json_array_append_new(in, json_pack("{s:s, s:I}", "forbund", info->forbund[i], "late_events",
                                                (json_int_t) info->late_events[i]));
        json_object_set_new(result, "official", json_pack("{s:i, s:o}", "year", year, "approved", in));
    }
    official_destroy(&off);
    catalogue_destroy(&covcat);
    if (rc)
        return answer_fail(c, rc, err);
    return answer_json(c, MHD_HTTP_OK, result);
}

enum MHD_Result report_page_handle(http_t *self, struct MHD_Connection *c, const char *url,
                                   const char *method, bool authorized)
{
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
        return answer_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "only GET and HEAD");
    int year;
    char forbund[16];
    bool json = false;
    if (strncmp(url, "/report/", 8) || s_parse(url + 8, &year, forbund, &json) < 0)
        return answer_error(c, MHD_HTTP_NOT_FOUND,
                            "no such path (/report/YEAR.html, /report/YEAR/FÖRBUND.html, .json, "
                            "/report/YEAR/coverage.json)");
    if (!authorized) {
        log_warn("http", "UNAUTHORIZED path=/report/");
        return answer_error(c, MHD_HTTP_UNAUTHORIZED, "bearer token required");
    }
    const char *lang = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "lang");
    if (lang && strcmp(lang, "sv") && strcmp(lang, "en"))
        return answer_error(c, MHD_HTTP_BAD_REQUEST, "lang: sv or en");
    const catalogue_t *cat = http_catalogue(self);
    if (json) {
        bool coverage = !strcmp(forbund, "coverage");
        const char *only = coverage     ? MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "forbund")
                           : forbund[0] ? forbund
                                        : NULL;
        return s_json(self, c, cat, year, only, coverage);
    }
    if (!strcmp(forbund, "coverage"))
        return answer_error(c, MHD_HTTP_NOT_FOUND, "coverage is served as /report/YEAR/coverage.json");
    annual_request_t req = {year, forbund[0] ? forbund : NULL, lang ? lang : "sv"};
    answer_stream_t body;
    if (answer_stream_open(&body) < 0)
        return answer_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    annual_info_t info;
    char err[1024];
    fin_err_t rc = annual_html(self->ledger, cat, &req, body.f, &info, err, sizeof err);
    if (rc) {
        fclose(body.f);
        free(body.text);
        /* A year not approved is a report that does not exist (yet). */
        return rc == FIN_EINPUT ? answer_error(c, MHD_HTTP_NOT_FOUND, "%s", err) : answer_fail(c, rc, err);
    }
    log_info("http", "REPORT year=%d edition=%s pages=%d seconds=%.3f", year,
             forbund[0] ? forbund : "national", info.pages, info.seconds);
    return answer_stream_send(c, &body, true, "text/html; charset=utf-8", NULL);
}
