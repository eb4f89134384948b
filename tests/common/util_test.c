/* util_test.c: common/util.c: big-endian integers, hex, the UTF-8 and
 * code checks that guard every text from outside, mkdir_p, the clocks and
 * the Swedish time zone. */
#include "testutil.h"

#include "util.h"

#include <errno.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

static void test_big_endian(void)
{
    uint8_t b[8];
    be32_put(b, 0x01020304u);
    CHECK(!memcmp(b, "\x01\x02\x03\x04", 4));
    CHECK_EQ(be32_get(b), 0x01020304u);
    be64_put(b, 0x0102030405060708ull);
    CHECK(!memcmp(b, "\x01\x02\x03\x04\x05\x06\x07\x08", 8));
    CHECK(be64_get(b) == 0x0102030405060708ull);
    be64_put(b, UINT64_MAX);
    CHECK(be64_get(b) == UINT64_MAX);
    be32_put(b, 0xffffffffu);
    CHECK_EQ(be32_get(b), 0xffffffffu);
    /* memcmp order is numeric order: what LMDB keys rely on. */
    uint64_t vals[] = {0,         1, 255, 256, 65535, 65536, 1ull << 32, (1ull << 32) + 1, UINT64_MAX - 1,
                       UINT64_MAX};
    for (size_t i = 1; i < TU_NELEMS(vals); i++) {
        uint8_t x[8], y[8];
        be64_put(x, vals[i - 1]);
        be64_put(y, vals[i]);
        CHECK(memcmp(x, y, 8) < 0);
    }
}

static void test_hex(void)
{
    const uint8_t in[] = {0x00, 0x01, 0xab, 0xff, 0x7f};
    char out[11];
    hex_encode(out, in, sizeof in);
    CHECK(!strcmp(out, "0001abff7f"));
    uint8_t back[5];
    CHECK_EQ(hex_decode(back, 5, out), 0);
    CHECK(!memcmp(back, in, 5));
    CHECK_EQ(hex_decode(back, 5, "0001ABFF7F"), 0); /* upper case too */
    CHECK(!memcmp(back, in, 5));
    CHECK_EQ(hex_decode(back, 5, "0001abff7"), -1);   /* short */
    CHECK_EQ(hex_decode(back, 5, "0001abff7f0"), -1); /* long */
    CHECK_EQ(hex_decode(back, 5, "0001abfg7f"), -1);  /* not hex */
    CHECK_EQ(hex_decode(back, 5, "0001ab f7f"), -1);
    hex_encode(out, in, 0);
    CHECK(!strcmp(out, ""));
    CHECK_EQ(hex_decode(back, 0, ""), 0);
}

static bool s_clean(const char *s)
{
    return utf8_is_clean(s, strlen(s));
}

static void test_utf8(void)
{
    CHECK(s_clean("plain ascii"));
    CHECK(s_clean(""));
    CHECK(s_clean("förbund Örebro Malmö Älvsbyn"));
    CHECK(s_clean("\xe2\x82\xac"));     /* € */
    CHECK(s_clean("\xf0\x9f\x98\x80")); /* U+1F600 */
    CHECK(s_clean("\xf4\x8f\xbf\xbf")); /* U+10FFFF */
    CHECK(!s_clean("tab\there"));       /* control */
    CHECK(!s_clean("line\nbreak"));
    CHECK(!s_clean("del\x7f"));
    CHECK(!utf8_is_clean("nul\0x", 5)); /* NUL inside */
    CHECK(!s_clean("\xc3"));            /* cut off */
    CHECK(!s_clean("\xe2\x82"));
    CHECK(!s_clean("\xf0\x9f\x98"));
    CHECK(!s_clean("\x80"));         /* lone continuation */
    CHECK(!s_clean("\xc3\x28"));     /* bad continuation */
    CHECK(!s_clean("\xc0\x80"));     /* overlong NUL */
    CHECK(!s_clean("\xc1\xbf"));     /* overlong */
    CHECK(!s_clean("\xe0\x80\xaf")); /* overlong '/' */
    CHECK(!s_clean("\xf0\x80\x80\xaf"));
    CHECK(!s_clean("\xed\xa0\x80"));         /* surrogate U+D800 */
    CHECK(!s_clean("\xed\xbf\xbf"));         /* surrogate U+DFFF */
    CHECK(!s_clean("\xf4\x90\x80\x80"));     /* past U+10FFFF */
    CHECK(!s_clean("\xf8\x88\x80\x80\x80")); /* 5-byte form */
    CHECK(!s_clean("\xfe"));
    /* The length is the caller's: a clean prefix of a dirty string. */
    CHECK(utf8_is_clean("ok\x01", 2));
    CHECK(!utf8_is_clean("\xc3\xb6", 1));
}

static void test_codes(void)
{
    CHECK(code_is_valid("NV", 8));
    CHECK(code_is_valid("a_b-C9", 8));
    CHECK(code_is_valid("ABCDEFGH", 8));
    CHECK(!code_is_valid("ABCDEFGHI", 8));
    CHECK(!code_is_valid("", 8));
    CHECK(!code_is_valid(NULL, 8));
    CHECK(!code_is_valid("a b", 8));
    CHECK(!code_is_valid("a/b", 8));
    CHECK(!code_is_valid("a.b", 8));
    CHECK(!code_is_valid("ö", 8)); /* ASCII only */
    CHECK(!code_is_valid("x\n", 8));
}

static void test_mkdir_p(void)
{
    const char *dir = tu_tempdir();
    char path[512];
    snprintf(path, sizeof path, "%s/a/b/c", dir);
    CHECK_EQ(mkdir_p(path, 0700), 0);
    struct stat st;
    CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
    CHECK_EQ(st.st_mode & 0777, 0700);
    CHECK_EQ(mkdir_p(path, 0700), 0);              /* exists: fine */
    snprintf(path, sizeof path, "%s/a/b/c/", dir); /* trailing slash */
    CHECK_EQ(mkdir_p(path, 0700), 0);

    char file[512];
    snprintf(file, sizeof file, "%s/f", dir);
    CHECK_EQ(tu_write_file(file, "x"), 0);
    snprintf(path, sizeof path, "%s/f/sub", dir);
    errno = 0;
    CHECK_EQ(mkdir_p(path, 0700), -1);
    CHECK_EQ(errno, ENOTDIR);
    errno = 0; /* the last component a file: refused, not taken for a directory */
    CHECK_EQ(mkdir_p(file, 0700), -1);
    CHECK_EQ(errno, ENOTDIR);

    errno = 0;
    CHECK_EQ(mkdir_p("", 0700), -1);
    CHECK_EQ(errno, ENAMETOOLONG);
    static char longpath[PATH_MAX + 10];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[0] = '/';
    errno = 0;
    CHECK_EQ(mkdir_p(longpath, 0700), -1);
    CHECK_EQ(errno, ENAMETOOLONG);
}

static void test_clocks(void)
{
    int64_t wall = clock_wall_ms();
    CHECK(wall > 1700000000000ll); /* after 2023 */
    int64_t m0 = clock_mono_ms(), u0 = clock_mono_us();
    for (int i = 0; i < 1000; i++) {
        int64_t m = clock_mono_ms(), u = clock_mono_us();
        CHECK(m >= m0 && u >= u0);
        m0 = m;
        u0 = u;
    }
    CHECK(u0 / 1000 - m0 <= 1 && u0 / 1000 - m0 >= -1);
}

/* Periods are Swedish calendar periods: CET in winter, CEST in summer,
 * and a month's edge falls at local midnight. */
static void test_stockholm(void)
{
    CHECK_EQ(tz_stockholm_init(), 0);
    struct tm tm;
    time_t winter = 1773403200; /* 2026-03-13 12:00 UTC */
    localtime_r(&winter, &tm);
    CHECK_EQ(tm.tm_hour, 13);
    CHECK_EQ(tm.tm_gmtoff, 3600);
    time_t summer = 1782907200; /* 2026-07-01 12:00 UTC */
    localtime_r(&summer, &tm);
    CHECK_EQ(tm.tm_hour, 14);
    time_t new_year = 1798758000; /* 2026-12-31 23:00 UTC = 2027-01-01 00:00 */
    localtime_r(&new_year, &tm);
    CHECK_EQ(tm.tm_year + 1900, 2027);
    CHECK_EQ(tm.tm_mon, 0);
    CHECK_EQ(tm.tm_mday, 1);
}

static const test_case_t s_cases[] = {
    {"big-endian integers", test_big_endian},
    {"hex", test_hex},
    {"UTF-8", test_utf8},
    {"codes", test_codes},
    {"mkdir_p", test_mkdir_p},
    {"clocks", test_clocks},
    {"Stockholm time", test_stockholm},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
