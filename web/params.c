/* params.c: the query parameters of the HTTP API (see params.h).
 *
 * Names and values are checked on the bytes microhttpd decoded, with their
 * true lengths, so an embedded %00 is caught. A bad value is not echoed
 * back; for a slice or a measure the answer names every valid one. */
#include "params.h"

#include "answer.h"
#include "http.h"

#include <stdio.h>
#include <string.h>

#define HTTP_MAX_PARAM 64

typedef struct {
    const char *name;
    const char *charset; /* allowed bytes */
} params_spec_t;

static const char s_alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

static const params_spec_t s_params[PARAMS_COUNT] = {
    [PARAMS_MEASURE] = {"measure", "abcdefghijklmnopqrstuvwxyz0123456789_"},
    [PARAMS_FORBUND] = {"forbund", "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"},
    [PARAMS_PERIOD] = {"period", "abcdefghijklmnopqrstuvwxyzQ0123456789-"},
    /* age=65+ arrives as "65 " when the client did not encode the '+'. */
    [PARAMS_SLICE] = {"slice", "abcdefghijklmnopqrstuvwxyz0123456789=_-+ "},
};

static bool s_in_set(const char *s, size_t len, const char *set)
{
    for (size_t i = 0; i < len; i++)
        if (!s[i] || !strchr(set, s[i]))
            return false;
    return true;
}

/* Called for each query parameter; stops at the first bad one. Names and
 * values arrive percent-decoded; the _n variant gives their true length,
 * so an embedded %00 is caught. */
static enum MHD_Result s_arg(void *cls, enum MHD_ValueKind kind, const char *key, size_t key_size,
                             const char *value, size_t value_size)
{
    params_t *a = cls;
    (void) kind;
    int slot = -1;
    for (int i = 0; i < PARAMS_COUNT; i++)
        if ((a->allowed & 1u << i) && strlen(s_params[i].name) == key_size && !strcmp(key, s_params[i].name))
            slot = i;
    if (slot < 0 && key_size == 9 && !strcmp(key, "min_units")) {
        snprintf(a->err, sizeof a->err,
                 "min_units: the minimum count is the collector's (--min-units); readers cannot change it");
        return MHD_NO;
    }
    if (slot < 0) {
        bool printable = key_size <= 32 && s_in_set(key, key_size, s_alnum);
        snprintf(a->err, sizeof a->err, "unknown parameter '%s'", printable ? key : "?");
        return MHD_NO;
    }
    if (a->value[slot]) {
        snprintf(a->err, sizeof a->err, "parameter '%s' given twice", key);
        return MHD_NO;
    }
    if (!value || value_size == 0 || value_size > HTTP_MAX_PARAM) {
        snprintf(a->err, sizeof a->err, "parameter '%s': 1 to %d characters", key, HTTP_MAX_PARAM);
        return MHD_NO;
    }
    if (!s_in_set(value, value_size, s_params[slot].charset)) {
        /* The value is not echoed back; for a slice or a measure the
         * answer names every valid one (a measure's list: params_refuse). */
        a->bad_measure = slot == PARAMS_MEASURE;
        if (slot == PARAMS_SLICE) {
            char list[CELL_SLICE_LIST_LEN];
            cell_slice_list(list, sizeof list);
            snprintf(a->err, sizeof a->err, "parameter 'slice': use one of %s", list);
        } else {
            snprintf(a->err, sizeof a->err, "parameter '%s': only [%s]", key, s_params[slot].charset);
        }
        return MHD_NO;
    }
    a->value[slot] = value;
    return MHD_YES;
}

int params_parse(struct MHD_Connection *c, unsigned allowed, params_t *a)
{
    memset(a, 0, sizeof *a);
    a->allowed = allowed;
    MHD_get_connection_values_n(c, MHD_GET_ARGUMENT_KIND, s_arg, a);
    return a->err[0] ? -1 : 0;
}

/* "age=65 " (an unencoded '+') back to "age=65+"; the value is ours to edit. */
static const char *s_slice_value(const char *v)
{
    char *space = v ? strchr(v, ' ') : NULL;
    if (space)
        *space = '+';
    return v ? v : "all";
}

query_t params_indicators_query(const params_t *a, const protect_t *protect)
{
    return (query_t){.measure = a->value[PARAMS_MEASURE],
                     .forbund = a->value[PARAMS_FORBUND],
                     .period = a->value[PARAMS_PERIOD] ? a->value[PARAMS_PERIOD] : "year",
                     .slice = s_slice_value(a->value[PARAMS_SLICE]),
                     .protect = protect};
}

int http_parse_query(const char *text, size_t len, const protect_t *protect, char *buf, size_t buflen,
                     query_t *q, char *err, size_t errlen)
{
    params_t a;
    memset(&a, 0, sizeof a);
    a.allowed = PARAMS_INDICATORS;
    if (buflen < len + 1 || memchr(text, '\0', len)) {
        snprintf(err, errlen, "%s", buflen < len + 1 ? "query string too long" : "NUL in query string");
        return -1;
    }
    memcpy(buf, text, len);
    buf[len] = '\0';
    /* As microhttpd splits and decodes the arguments of a URL. */
    for (char *p = buf, *next; p && !a.err[0]; p = next) {
        char *amp = strchr(p, '&');
        next = amp ? amp + 1 : NULL;
        if (amp)
            *amp = '\0';
        if (!*p)
            continue;
        char *eq = strchr(p, '=');
        if (eq)
            *eq++ = '\0';
        for (char *c = p; *c; c++)
            if (*c == '+')
                *c = ' ';
        size_t key_size = MHD_http_unescape(p), value_size = 0;
        if (eq) {
            for (char *c = eq; *c; c++)
                if (*c == '+')
                    *c = ' ';
            value_size = MHD_http_unescape(eq);
        }
        if (s_arg(&a, MHD_GET_ARGUMENT_KIND, p, key_size, eq, value_size) != MHD_YES && !a.err[0])
            snprintf(a.err, sizeof a.err, "bad parameter");
    }
    if (a.err[0]) {
        snprintf(err, errlen, "%s", a.err);
        return -1;
    }
    *q = params_indicators_query(&a, protect);
    return 0;
}

enum MHD_Result params_refuse(struct MHD_Connection *c, const catalogue_t *catalogue, const params_t *a)
{
    if (!a->bad_measure)
        return answer_error(c, MHD_HTTP_BAD_REQUEST, "%s", a->err);
    char list[QUERY_ERR_LEN];
    query_measure_list(catalogue, list, sizeof list);
    return answer_error(c, MHD_HTTP_BAD_REQUEST, "parameter 'measure': use %s", list);
}
