/* assets.c: the dashboard's files — index.html, app.js, style.css.
 *
 * They are embedded in the binary at build time (cmake finsam_embed), so
 * a deployed collector serves exactly the dashboard it was built with;
 * --http-dashboard-dir serves them from a directory instead, read on each
 * request (development). Only the names in the table below are served:
 * a path from the URL never reaches the file system.
 *
 * app.js is a bundle: the vendored chart modules listed in
 * vendor/MANIFEST, in that order, then the dashboard's own app.js (cmake
 * concatenates them at build time; s_bundle does the same from the
 * directory). */
#include "assets.h"

#include "answer.h"
#include "log.h"
#include "readfile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* The development app.js: DIR/vendor/MANIFEST's files in order, then
 * DIR/app.js, as web/CMakeLists.txt bundles them. 0, or -1 with errno. */
static int s_bundle(const char *dir, char **text, size_t *len)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/vendor/MANIFEST", dir);
    char *manifest = NULL, *part = NULL;
    size_t mlen, plen;
    if (readfile(path, &manifest, &mlen) < 0)
        return -1;
    FILE *out = open_memstream(text, len);
    if (!out)
        goto fail_manifest;
    char *save = NULL;
    for (char *line = strtok_r(manifest, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == '#')
            continue;
        line[strcspn(line, " ")] = '\0';
        snprintf(path, sizeof path, "%s/vendor/%s", dir, line);
        if (readfile(path, &part, &plen) < 0)
            goto fail_out;
        fwrite(part, 1, plen, out);
        fputc('\n', out);
        free(part);
    }
    snprintf(path, sizeof path, "%s/app.js", dir);
    if (readfile(path, &part, &plen) < 0)
        goto fail_out;
    fwrite(part, 1, plen, out);
    fputc('\n', out);
    free(part);
    free(manifest);
    if (fclose(out) != 0) {
        free(*text);
        *text = NULL;
        return -1;
    }
    return 0;
fail_out:
    fclose(out);
    free(*text);
    *text = NULL;
fail_manifest:
    free(manifest);
    return -1;
}

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
    int rc = a->data == finsam_dashboard_app_js ? s_bundle(self->dashboard_dir, &text, &len)
                                                : readfile(path, &text, &len);
    if (rc < 0) {
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
