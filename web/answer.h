/* answer.h: how every answer of the HTTP server is sent (internal to
 * web/): the headers each one carries, JSON bodies, and errors as
 * {"error": reason, "status": code}. */
#ifndef FINSAM_ANSWER_H
#define FINSAM_ANSWER_H

#include "err.h"

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Queues body with the security headers every answer carries (and the
 * disposition, when not NULL). With must_free the body is taken: freed by
 * microhttpd, or here if the answer cannot be made; without, it must
 * outlive the connection (static data). */
enum MHD_Result answer_send(struct MHD_Connection *c, unsigned status, const char *type, void *body,
                            size_t len, bool must_free, const char *disposition);

/* The answer answer_send would queue, built and not queued: the caller
 * holds a reference (MHD_destroy_response lets it go) and may queue it on
 * any number of connections (web/cache.h). NULL when out of memory (a
 * must_free body is freed then). */
struct MHD_Response *answer_response(unsigned status, const char *type, void *body, size_t len,
                                     bool must_free, const char *disposition);

/* Sends j (taken, may be NULL: then a 500 "out of memory") as JSON. */
enum MHD_Result answer_json(struct MHD_Connection *c, unsigned status, json_t *j);

/* Sends the reason (printf format) as a JSON error with that status. */
enum MHD_Result answer_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* A body written with stdio (CSV, the Prometheus text): answer_stream_open,
 * write to f, then answer_stream_send, which always closes and frees. */
typedef struct {
    FILE *f;
    char *text;
    size_t len;
} answer_stream_t;

/* Returns 0, or -1 when out of memory (then there is nothing to close). */
int answer_stream_open(answer_stream_t *s);

/* Closes s and sends its text as type (with the disposition, when not
 * NULL); a 500 "out of memory" instead when writing failed or ok is
 * false. */
enum MHD_Result answer_stream_send(struct MHD_Connection *c, answer_stream_t *s, bool ok, const char *type,
                                   const char *disposition);

/* The HTTP status of a failure, the one place web/ decides it: the
 * request's fault is 400 (FIN_EINPUT), what it named is missing 404
 * (FIN_ENOTFOUND), a store of another version or a busy one 503
 * (FIN_EVERSION, FIN_EAGAIN: try later); anything else is ours, 500. */
unsigned answer_status(fin_err_t code);

/* Sends reason as the JSON error of code's status (answer_status); a
 * server-side failure (5xx) is logged as QUERY-FAILED. */
enum MHD_Result answer_fail(struct MHD_Connection *c, fin_err_t code, const char *reason);

#endif
