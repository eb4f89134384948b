/* assets.h: the dashboard's static files (internal to web/; http.c routes
 * to them without a token: they hold no data). */
#ifndef FINSAM_ASSETS_H
#define FINSAM_ASSETS_H

#include "http_impl.h"

enum MHD_Result assets_index(http_t *self, struct MHD_Connection *c);     /* / and /index.html */
enum MHD_Result assets_app_js(http_t *self, struct MHD_Connection *c);    /* /app.js */
enum MHD_Result assets_style_css(http_t *self, struct MHD_Connection *c); /* /style.css */

#endif
