/* prometheus.h: GET /metrics in the Prometheus text format (internal to
 * web/; http.c routes to it). */
#ifndef FINSAM_PROMETHEUS_H
#define FINSAM_PROMETHEUS_H

#include "http_impl.h"

/* The collector's counters (when the server has metrics), the store's
 * size and the age of every agent's last batch. */
enum MHD_Result prometheus_metrics(http_t *self, struct MHD_Connection *c);

#endif
