/* api.h: the JSON API's and the probes' handlers (internal to web/;
 * http.c routes to them). Each answers a GET or HEAD, checks its query
 * parameters (params.h) and only reads. */
#ifndef FINSAM_API_H
#define FINSAM_API_H

#include "http_impl.h"

enum MHD_Result api_healthz(http_t *self, struct MHD_Connection *c);     /* /healthz: alive */
enum MHD_Result api_readyz(http_t *self, struct MHD_Connection *c);      /* /readyz: the store is readable */
enum MHD_Result api_indicators(http_t *self, struct MHD_Connection *c);  /* /api/indicators */
enum MHD_Result api_export_csv(http_t *self, struct MHD_Connection *c);  /* /export.csv */
enum MHD_Result api_export_json(http_t *self, struct MHD_Connection *c); /* /export.json */
enum MHD_Result api_status(http_t *self, struct MHD_Connection *c);      /* /api/status */
enum MHD_Result api_protection(http_t *self, struct MHD_Connection *c);  /* /api/protection */
enum MHD_Result api_catalogue(http_t *self, struct MHD_Connection *c);   /* /api/catalogue */

/* /report/YEAR.html, /report/YEAR/FÖRBUND.html (report_page.c): every path
 * under /report/, with the request's method and whether it carried the
 * token (http.c decides that, as for its own routes). */
enum MHD_Result report_page_handle(http_t *self, struct MHD_Connection *c, const char *url,
                                   const char *method, bool authorized);

#endif
