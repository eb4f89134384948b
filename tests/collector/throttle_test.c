/* throttle_test.c: collector/throttle.c on a clock the test sets: the
 * first event of a key is written, the next ones within the period are
 * counted, the first after it carries the count; a key that goes quiet
 * gets its count at the next flush and is then forgotten; keys do not
 * share periods; past max_keys a new key is written unthrottled. */
#include "testutil.h"

#include "throttle.h"

#include <string.h>
#include <unistd.h>

#define MIN 60000

static throttle_t *s_t;
static int s_logged;

static void s_period(void)
{
    s_logged = 0;
    for (int64_t t = 0; t < MIN; t += 125) /* 8 a second for a minute */
        s_logged += throttle_event(s_t, "127.0.0.1 KEY", "AUTH-REFUSED address=127.0.0.1", 1000 + t);
    s_logged += throttle_event(s_t, "127.0.0.1 KEY", "AUTH-REFUSED address=127.0.0.1", 1000 + MIN);
}

static void test_one_line_a_minute(void)
{
    s_t = throttle_new(MIN, 16, LOG_LEVEL_WARN, "auth");
    CHECK(s_t);
    char *out = tu_stderr_of(s_period);
    CHECK_EQ(s_logged, 2);
    CHECK(strstr(out, "WARN  auth AUTH-REFUSED address=127.0.0.1\n"));
    CHECK(strstr(out, "WARN  auth AUTH-REFUSED address=127.0.0.1 (479 more in the last minute)\n"));
    free(out);
    throttle_destroy(&s_t);
    CHECK(s_t == NULL);
}

static void s_two_keys(void)
{
    s_logged = throttle_event(s_t, "a", "LINE-A n=1", 0);
    s_logged += throttle_event(s_t, "b", "LINE-B n=1", 10);
    s_logged += throttle_event(s_t, "a", "LINE-A n=2", 20);
    s_logged += throttle_event(s_t, "a", "LINE-A n=3", 30);
    throttle_flush(s_t, MIN - 1);  /* nothing is due yet */
    throttle_flush(s_t, MIN + 20); /* a: its count, with its latest line; b: forgotten */
    throttle_flush(s_t, MIN + 21); /* a's summary opened a period: nothing */
    s_logged += throttle_event(s_t, "b", "LINE-B n=2", MIN + 22); /* b was forgotten: written */
    s_logged += throttle_event(s_t, "a", "LINE-A n=4", MIN + 23); /* within a's new period */
    throttle_flush(s_t, 3 * MIN);
}

static void test_flush_and_keys(void)
{
    s_t = throttle_new(MIN, 16, LOG_LEVEL_WARN, "auth");
    char *out = tu_stderr_of(s_two_keys);
    CHECK_EQ(s_logged, 3);
    const char *want[] = {"LINE-A n=1\n", "LINE-B n=1\n", "LINE-A n=3 (2 more in the last minute)\n",
                          "LINE-B n=2\n", "LINE-A n=4 (1 more in the last minute)\n"};
    const char *p = out;
    for (size_t i = 0; i < TU_NELEMS(want); i++) {
        const char *at = strstr(p, want[i]);
        if (!at)
            fprintf(stderr, "missing or out of order: %s in:\n%s", want[i], out);
        CHECK(at);
        p = at + strlen(want[i]);
    }
    int lines = 0;
    for (const char *q = out; *q; q++)
        lines += *q == '\n';
    CHECK_EQ(lines, 5);
    free(out);
    throttle_destroy(&s_t);
}

static void s_many_keys(void)
{
    s_logged = 0;
    char key[16];
    for (int i = 0; i < 4; i++) {
        snprintf(key, sizeof key, "k%d", i);
        s_logged += throttle_event(s_t, key, "LINE", 0);
        s_logged += throttle_event(s_t, key, "LINE", 1);
    }
}

static void test_max_keys(void)
{
    /* Two keys remembered: k0 and k1 throttled; k2 and k3 written each time. */
    s_t = throttle_new(MIN, 2, LOG_LEVEL_WARN, "auth");
    char *out = tu_stderr_of(s_many_keys);
    CHECK_EQ(s_logged, 6);
    free(out);
    throttle_destroy(&s_t);
}

static void s_other_period(void)
{
    throttle_event(s_t, "a", "LINE", 0);
    throttle_event(s_t, "a", "LINE", 1);
    throttle_event(s_t, "a", "LINE", 10000);
}

static void test_other_period(void)
{
    s_t = throttle_new(10000, 2, LOG_LEVEL_INFO, "x");
    char *out = tu_stderr_of(s_other_period);
    CHECK(strstr(out, "INFO  x LINE (1 more in the last 10s)\n"));
    free(out);
    throttle_destroy(&s_t);
}

static const test_case_t s_cases[] = {
    {"one line a minute with the count", test_one_line_a_minute},
    {"flush, forget, separate keys", test_flush_and_keys},
    {"max keys", test_max_keys},
    {"another period", test_other_period},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
