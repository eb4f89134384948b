/* answer.h: how every answer of the HTTP server is sent (internal to
 * web/): the headers each one carries, JSON bodies, and errors as
 * {"error": reason, "status": code}. */
#ifndef FINSAM_ANSWER_H
#define FINSAM_ANSWER_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stddef.h>

/* Queues body with the security headers every answer carries (and the
 * disposition, when not NULL). With must_free the body is taken: freed by
 * microhttpd, or here if the answer cannot be made; without, it must
 * outlive the connection (static data). */
enum MHD_Result answer_send(struct MHD_Connection *c, unsigned status, const char *type, void *body,
                            size_t len, bool must_free, const char *disposition);

/* Sends j (taken, may be NULL: then a 500 "out of memory") as JSON. */
enum MHD_Result answer_json(struct MHD_Connection *c, unsigned status, json_t *j);

/* Sends the reason (printf format) as a JSON error with that status. */
enum MHD_Result answer_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
