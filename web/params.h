/* params.h: the query parameters of the HTTP API, checked before use
 * (internal to web/): a known name, at most once, 1 to 64 bytes of its
 * charset. A route names the parameters it takes; anything else is a 400
 * with the reason. http_parse_query (http.h) is the same check on a raw
 * query string, for tests and the fuzzer. */
#ifndef FINSAM_PARAMS_H
#define FINSAM_PARAMS_H

#include "catalogue.h"
#include "cell.h"
#include "protect.h"
#include "query.h"

#include <microhttpd.h>
#include <stdbool.h>

/* Query parameters a route takes; index = slot in params_t.value. */
enum { PARAMS_MEASURE, PARAMS_FORBUND, PARAMS_PERIOD, PARAMS_SLICE, PARAMS_COUNT };

/* The parameters /api/indicators takes. */
#define PARAMS_INDICATORS                                                                                    \
    (1u << PARAMS_MEASURE | 1u << PARAMS_FORBUND | 1u << PARAMS_PERIOD | 1u << PARAMS_SLICE)

typedef struct {
    unsigned allowed; /* bit per PARAMS_* this route takes */
    const char *value[PARAMS_COUNT];
    bool bad_measure; /* err is about measure's characters: answer with the list (params_refuse) */
    char err[CELL_SLICE_LIST_LEN + 64];
} params_t;

/* Fills a with the request's parameters that allowed names (values point
 * into the request, valid until it is answered). Returns 0, or -1 with
 * a->err set at the first bad one. */
int params_parse(struct MHD_Connection *c, unsigned allowed, params_t *a);

/* The query of /api/indicators from its parameters, with the collector's
 * protection (a reader cannot choose one). Edits a's slice value. */
query_t params_indicators_query(const params_t *a, const protect_t *protect);

/* The 400 answer for parameters params_parse refused; a measure of
 * foreign characters is answered as an unknown measure is, with the list
 * of the catalogue's measures. */
enum MHD_Result params_refuse(struct MHD_Connection *c, const catalogue_t *catalogue, const params_t *a);

#endif
