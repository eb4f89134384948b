/* answer.c: the answers of the HTTP server (see answer.h).
 *
 * Every answer goes out through answer_send, so no route can forget the
 * headers that keep a browser from sniffing, caching, framing or loading
 * anything but the dashboard's own files. */
#include "answer.h"

#include "log.h"
#include "query.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct MHD_Response *answer_response(unsigned status, const char *type, void *body, size_t len,
                                     bool must_free, const char *disposition)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (must_free)
            free(body);
        return NULL;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    /* The dashboard loads only its own files and talks only to us. */
    MHD_add_response_header(
        r, "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'");
    if (disposition)
        MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disposition);
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"finsam\"");
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    return r;
}

enum MHD_Result answer_send(struct MHD_Connection *c, unsigned status, const char *type, void *body,
                            size_t len, bool must_free, const char *disposition)
{
    struct MHD_Response *r = answer_response(status, type, body, len, must_free, disposition);
    if (!r)
        return MHD_NO;
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

enum MHD_Result answer_json(struct MHD_Connection *c, unsigned status, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) {
        static char oom[] = "{\"error\":\"out of memory\",\"status\":500}";
        return answer_send(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "application/json", oom, sizeof oom - 1, false,
                           NULL);
    }
    return answer_send(c, status, "application/json", text, strlen(text), true, NULL);
}

enum MHD_Result answer_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
    char msg[QUERY_ERR_LEN + 128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return answer_json(c, status, json_pack("{s:s,s:i}", "error", msg, "status", (int) status));
}

int answer_stream_open(answer_stream_t *s)
{
    *s = (answer_stream_t){0};
    s->f = open_memstream(&s->text, &s->len);
    return s->f ? 0 : -1;
}

enum MHD_Result answer_stream_send(struct MHD_Connection *c, answer_stream_t *s, bool ok, const char *type,
                                   const char *disposition)
{
    if (fclose(s->f) != 0 || !ok) {
        free(s->text);
        return answer_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory");
    }
    return answer_send(c, MHD_HTTP_OK, type, s->text, s->len, true, disposition);
}

unsigned answer_status(fin_err_t code)
{
    switch (code) {
    case FIN_OK: return MHD_HTTP_OK;
    case FIN_EINPUT: return MHD_HTTP_BAD_REQUEST;
    case FIN_ENOTFOUND: return MHD_HTTP_NOT_FOUND;
    case FIN_EVERSION:
    case FIN_EAGAIN: return MHD_HTTP_SERVICE_UNAVAILABLE;
    default: return MHD_HTTP_INTERNAL_SERVER_ERROR;
    }
}

enum MHD_Result answer_fail(struct MHD_Connection *c, fin_err_t code, const char *reason)
{
    unsigned status = answer_status(code);
    if (status >= 500)
        log_warn("http", "QUERY-FAILED status=%u code=\"%s\" reason=\"%s\"", status, fin_strerror(code),
                 reason);
    return answer_error(c, status, "%s", reason);
}
