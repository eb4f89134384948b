/* assets.c: the dashboard's files — index.html, app.js, style.css.
 *
 * They are embedded in the binary at build time (cmake finsam_embed), so
 * a deployed collector serves exactly the dashboard it was built with;
 * --http-dashboard-dir serves them from a directory instead, read on each
 * request (development). Only the names in the table below are served:
 * a path from the URL never reaches the file system. */
#include "assets.h"

#include "answer.h"
#include "log.h"
#include "readfile.h"

#include <stdio.h>

/* The dashboard, embedded at build time (cmake finsam_embed). */
extern const unsigned char finsam_dashboard_index_html[], finsam_dashboard_app_js[],
    finsam_dashboard_style_css[];
extern const size_t finsam_dashboard_index_html_len, finsam_dashboard_app_js_len,
    finsam_dashboard_style_css_len;

typedef struct {
    const char *name;
    const char *type;
    const unsigned char *data;
    const size_t *len;
} s_asset_t;

static const s_asset_t s_assets[] = {
    {"index.html", "text/html; charset=utf-8", finsam_dashboard_index_html, &finsam_dashboard_index_html_len},
    {"app.js", "text/javascript; charset=utf-8", finsam_dashboard_app_js, &finsam_dashboard_app_js_len},
    {"style.css", "text/css; charset=utf-8", finsam_dashboard_style_css, &finsam_dashboard_style_css_len},
};

static enum MHD_Result s_asset(http_t *self, struct MHD_Connection *c, const s_asset_t *a)
{
    if (!self->dashboard_dir)
        return answer_send(c, MHD_HTTP_OK, a->type, (void *) a->data, *a->len, false, NULL);
    /* Development: read the file from the source tree on each request. The
     * name comes from our table, never from the URL. */
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", self->dashboard_dir, a->name);
    char *text;
    size_t len;
    if (readfile(path, &text, &len) < 0) {
        log_warn("http", "DASHBOARD-FILE-MISSING file=%s", a->name);
        return answer_error(c, MHD_HTTP_NOT_FOUND, "dashboard file missing");
    }
    return answer_send(c, MHD_HTTP_OK, a->type, text, len, true, NULL);
}

enum MHD_Result assets_index(http_t *self, struct MHD_Connection *c)
{
    return s_asset(self, c, &s_assets[0]);
}

enum MHD_Result assets_app_js(http_t *self, struct MHD_Connection *c)
{
    return s_asset(self, c, &s_assets[1]);
}

enum MHD_Result assets_style_css(http_t *self, struct MHD_Connection *c)
{
    return s_asset(self, c, &s_assets[2]);
}
