/* params_test.c: web/params.c, the checks on /api/indicators' query
 * parameters, through http_parse_query (web/http.h: the same check on a
 * raw query string): known names only, each at most once, 1 to 64 bytes
 * of its charset, %XX and '+' decoded as microhttpd does, min_units
 * refused with the reason, defaults for what is not given. */
#include "http.h"
#include "testutil.h"

#include <string.h>

typedef struct {
    int rc;
    query_t q;
    char buf[512];
    char err[512];
} s_parsed_t;

static s_parsed_t *s_parse(const char *text)
{
    static s_parsed_t p;
    memset(&p, 0, sizeof p);
    p.rc = http_parse_query(text, strlen(text), NULL, p.buf, sizeof p.buf, &p.q, p.err, sizeof p.err);
    fprintf(stderr, "'%s' -> %d %s\n", text, p.rc, p.err);
    return &p;
}

static void test_known_names(void)
{
    s_parsed_t *p = s_parse("measure=age&forbund=F01&period=2026-Q1&slice=mode=project");
    CHECK_EQ(p->rc, 0);
    CHECK(strcmp(p->q.measure, "age") == 0);
    CHECK(strcmp(p->q.forbund, "F01") == 0);
    CHECK(strcmp(p->q.period, "2026-Q1") == 0);
    CHECK(strcmp(p->q.slice, "mode=project") == 0);
    CHECK(!p->q.exact);
}

static void test_defaults(void)
{
    s_parsed_t *p = s_parse("");
    CHECK_EQ(p->rc, 0);
    CHECK(p->q.measure == NULL && p->q.forbund == NULL);
    CHECK(strcmp(p->q.period, "year") == 0);
    CHECK(strcmp(p->q.slice, "all") == 0);
    /* Empty pieces between '&' are skipped, as microhttpd does. */
    p = s_parse("&&measure=age&");
    CHECK_EQ(p->rc, 0);
    CHECK(strcmp(p->q.measure, "age") == 0);
}

static void test_unknown_name_refused(void)
{
    s_parsed_t *p = s_parse("measure=age&colour=red");
    CHECK_EQ(p->rc, -1);
    CHECK(strstr(p->err, "unknown parameter 'colour'"));
    /* A name of foreign bytes is not echoed. */
    p = s_parse("%3Cscript%3E=1");
    CHECK_EQ(p->rc, -1);
    CHECK(strstr(p->err, "unknown parameter '?'"));
    CHECK(!strstr(p->err, "script"));
}

static void test_duplicates_refused(void)
{
    s_parsed_t *p = s_parse("period=year&period=month");
    CHECK_EQ(p->rc, -1);
    CHECK(strstr(p->err, "'period' given twice"));
    /* The same value twice is still twice. */
    p = s_parse("forbund=F01&forbund=F01");
    CHECK_EQ(p->rc, -1);
    CHECK(strstr(p->err, "twice"));
    /* An encoded name is the same name. */
    p = s_parse("measure=age&%6Deasure=age");
    CHECK_EQ(p->rc, -1);
    CHECK(strstr(p->err, "'measure' given twice"));
}

static void test_percent_and_plus_decoded(void)
{
    /* age=65+ must be sent as 65%2B; an unencoded '+' arrives as a space
     * and is turned back. */
    s_parsed_t *p = s_parse("slice=age%3D65%2B");
    CHECK_EQ(p->rc, 0);
    CHECK(strcmp(p->q.slice, "age=65+") == 0);
    p = s_parse("slice=age=65+");
    CHECK_EQ(p->rc, 0);
    CHECK(strcmp(p->q.slice, "age=65+") == 0);
    p = s_parse("f%6Frbund=F%30%31");
    CHECK_EQ(p->rc, 0);
    CHECK(strcmp(p->q.forbund, "F01") == 0);
    /* %00 decodes to a NUL inside the value: refused, not truncated. */
    p = s_parse("forbund=F01%00x");
    CHECK_EQ(p->rc, -1);
    CHECK(p->q.forbund == NULL);
}

static void test_min_units_refused(void)
{
    s_parsed_t *p = s_parse("measure=age&min_units=1");
    CHECK_EQ(p->rc, -1);
    CHECK(strstr(p->err, "min_units"));
    CHECK(strstr(p->err, "readers cannot change it"));
}

static void test_lengths(void)
{
    char q[256], v[80];
    memset(v, 'a', 64);
    v[64] = '\0';
    snprintf(q, sizeof q, "measure=%s", v);
    CHECK_EQ(s_parse(q)->rc, 0);
    v[64] = 'a';
    v[65] = '\0';
    snprintf(q, sizeof q, "measure=%s", v);
    s_parsed_t *p = s_parse(q);
    CHECK_EQ(p->rc, -1);
    CHECK(strstr(p->err, "1 to 64 characters"));
    p = s_parse("measure=");
    CHECK_EQ(p->rc, -1);
    CHECK(strstr(p->err, "1 to 64"));
    p = s_parse("measure");
    CHECK_EQ(p->rc, -1);
    /* A buffer too small for the string is refused, never overrun. */
    char buf[8], err[128];
    query_t qq;
    const char *text = "measure=age";
    CHECK_EQ(http_parse_query(text, strlen(text), NULL, buf, sizeof buf, &qq, err, sizeof err), -1);
    CHECK(strstr(err, "too long"));
    /* A raw NUL inside the given length is refused. */
    char buf2[64];
    CHECK_EQ(http_parse_query("measure=a\0b", 11, NULL, buf2, sizeof buf2, &qq, err, sizeof err), -1);
    CHECK(strstr(err, "NUL"));
}

static void test_charsets(void)
{
    s_parsed_t *p = s_parse("measure=Age");
    CHECK_EQ(p->rc, -1);
    CHECK(strstr(p->err, "'measure'"));
    CHECK(!strstr(p->err, "Age"));
    p = s_parse("period=2026/Q1");
    CHECK_EQ(p->rc, -1);
    CHECK(strstr(p->err, "'period': only ["));
    /* A bad slice is answered with every valid one, not echoed. */
    p = s_parse("slice=%27;drop");
    CHECK_EQ(p->rc, -1);
    CHECK(strstr(p->err, "parameter 'slice': use one of"));
    CHECK(strstr(p->err, "all"));
    CHECK(!strstr(p->err, "drop"));
}

static const test_case_t s_cases[] = {
    {"known names", test_known_names},
    {"defaults", test_defaults},
    {"unknown name refused", test_unknown_name_refused},
    {"duplicates refused", test_duplicates_refused},
    {"percent and plus decoded", test_percent_and_plus_decoded},
    {"min_units refused", test_min_units_refused},
    {"lengths", test_lengths},
    {"charsets", test_charsets},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
