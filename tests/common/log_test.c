/* log_test.c: common/log.c: level names, the threshold checked before
 * the arguments are evaluated, and the line format: UTC time, level and
 * component first, always exactly one line (a newline in a message cannot
 * forge a second), cut at 1 KiB. */
#include "testutil.h"

#include "log.h"

#include <regex.h>
#include <string.h>
#include <unistd.h>

static void test_levels(void)
{
    CHECK_EQ(log_threshold, LOG_LEVEL_INFO); /* the default */
    CHECK_EQ(log_set_level("debug"), 0);
    CHECK_EQ(log_threshold, LOG_LEVEL_DEBUG);
    CHECK_EQ(log_set_level("WARN"), 0);
    CHECK_EQ(log_threshold, LOG_LEVEL_WARN);
    CHECK_EQ(log_set_level("Error"), 0);
    CHECK_EQ(log_threshold, LOG_LEVEL_ERROR);
    CHECK_EQ(log_set_level("info"), 0);
    CHECK_EQ(log_threshold, LOG_LEVEL_INFO);
    CHECK_EQ(log_set_level("verbose"), -1);
    CHECK_EQ(log_set_level(""), -1);
    CHECK_EQ(log_threshold, LOG_LEVEL_INFO); /* unchanged */
}

static int s_evaluated;

static int s_count(void)
{
    return ++s_evaluated;
}

static void s_write_some(void)
{
    log_debug("test", "HIDDEN n=%d", s_count());
    log_info("ingest", "BATCH-STORED agent=%s events=%d", "nv", 100);
    log_warn("store", "MAP-GROWN size_mib=%d", 128);
    log_error("collector", "STOPPED reason=%s", "test");
}

static void test_threshold_and_format(void)
{
    s_evaluated = 0;
    char *out = tu_stderr_of(s_write_some);
    CHECK_EQ(s_evaluated, 0); /* a disabled level costs no formatting */
    CHECK(!strstr(out, "HIDDEN"));
    regex_t re;
    CHECK_EQ(regcomp(&re,
                     "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z INFO  ingest "
                     "BATCH-STORED agent=nv events=100\n"
                     "[0-9T:.Z-]{24} WARN  store MAP-GROWN size_mib=128\n"
                     "[0-9T:.Z-]{24} ERROR collector STOPPED reason=test\n$",
                     REG_EXTENDED),
             0);
    bool ok = regexec(&re, out, 0, NULL, 0) == 0;
    if (!ok)
        fprintf(stderr, "log lines:\n%s", out);
    CHECK(ok);
    regfree(&re);
    free(out);

    CHECK_EQ(log_set_level("debug"), 0);
    out = tu_stderr_of(s_write_some);
    CHECK_EQ(s_evaluated, 1);
    CHECK(strstr(out, "DEBUG test HIDDEN n=1\n"));
    free(out);
    CHECK_EQ(log_set_level("error"), 0);
    out = tu_stderr_of(s_write_some);
    CHECK(!strstr(out, "INFO") && !strstr(out, "WARN"));
    CHECK(strstr(out, "ERROR collector"));
    free(out);
}

static void s_write_tricky(void)
{
    log_info("web", "REQUEST path=%s", "/x\nINFO  web FORGED line\r");
    static char big[5000];
    memset(big, 'z', sizeof big - 1);
    log_info("web", "BIG %s", big);
}

static void test_one_line_always(void)
{
    char *out = tu_stderr_of(s_write_tricky);
    /* two calls, two lines */
    int lines = 0;
    for (const char *p = out; *p; p++)
        lines += *p == '\n';
    CHECK_EQ(lines, 2);
    CHECK(strstr(out, "REQUEST path=/x INFO  web FORGED line \n"));
    const char *big = strstr(out, "BIG ");
    CHECK(big);
    const char *line = big;
    while (line > out && line[-1] != '\n')
        line--;
    CHECK_EQ(strchr(big, '\n') - line + 1, 1023); /* cut, still ends the line */
    free(out);
}

static const test_case_t s_cases[] = {
    {"level names", test_levels},
    {"threshold and format", test_threshold_and_format},
    {"one line always", test_one_line_always},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
