/* anonymize_test.c: personnummer rules, pseudonyms, coarse dates, ids and
 * the leak detector (agents/anonymize.c). */
#include "anonymize.h"
#include "testutil.h"

#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const uint8_t s_key1[ANON_KEY_LEN] = {1, 2, 3};
static const uint8_t s_key2[ANON_KEY_LEN] = {9, 9, 9};

/* Which reason anon_pnr_normalize gave (its texts, which import errors
 * and docs/import-jsonl.md quote). */
enum { S_OK, S_FORMAT, S_DATE, S_CHECKSUM, S_FUTURE, S_OTHER };

/* A fixed "today" keeps the century rules testable: 2026-06-01. */
static int s_norm(const char *in, char out[13])
{
    char why[128] = "";
    fin_err_t rc = anon_pnr_normalize(in, 2026, 6, 1, out, NULL, why, sizeof why);
    if (rc == FIN_OK)
        return S_OK;
    CHECK_EQ(rc, FIN_EINPUT);
    static const char *const reasons[] = {
        [S_FORMAT] = "not a personnummer (10 or 12 digits, optional '-' or '+')",
        [S_DATE] = "personnummer has no valid birth date",
        [S_CHECKSUM] = "personnummer check digit is wrong",
        [S_FUTURE] = "personnummer birth date is in the future",
    };
    int i = S_FORMAT;
    while (i < S_OTHER && strcmp(why, reasons[i]))
        i++;
    return i;
}

/* Builds YYMMDD-NNNC with a correct Luhn digit from 9 digits. */
static void s_with_check(const char *d9, char sep, char *out)
{
    int sum = 0;
    for (int i = 0; i < 9; i++) {
        int v = (d9[i] - '0') * (i % 2 == 0 ? 2 : 1);
        sum += v > 9 ? v - 9 : v;
    }
    sprintf(out, "%.6s%c%.3s%d", d9, sep, d9 + 6, (10 - sum % 10) % 10);
}

static void test_valid_forms_normalize_alike(void)
{
    const char *forms[] = {"19850312-1231", "198503121231", "850312-1231", "8503121231"};
    char out[13];
    for (size_t i = 0; i < 4; i++) {
        CHECK_EQ(s_norm(forms[i], out), S_OK);
        CHECK(strcmp(out, "198503121231") == 0);
    }
    int by = 0;
    CHECK_EQ(anon_pnr_normalize("850312-1231", 2026, 6, 1, out, &by, NULL, 0), FIN_OK);
    CHECK_EQ(by, 1985);
}

static void test_invalid(void)
{
    char out[13];
    CHECK_EQ(s_norm("850312-1232", out), S_CHECKSUM);
    CHECK_EQ(s_norm("19850312-1239", out), S_CHECKSUM);
    CHECK_EQ(s_norm("850230-1234", out), S_DATE); /* 30 February */
    CHECK_EQ(s_norm("851312-1234", out), S_DATE); /* month 13 */
    CHECK_EQ(s_norm("85031212", out), S_FORMAT);
    CHECK_EQ(s_norm("", out), S_FORMAT);
    CHECK_EQ(s_norm("8503-121231", out), S_FORMAT);   /* separator in the wrong place */
    CHECK_EQ(s_norm("19850312+1231", out), S_FORMAT); /* '+' only in the 10-digit form */
    CHECK_EQ(s_norm("850312 1231", out), S_FORMAT);
    CHECK_EQ(s_norm("R850312-123", out), S_FORMAT); /* reserve numbers are refused */
    char pnr[16];
    s_with_check("301212123", '-', pnr);
    char twelve[20];
    sprintf(twelve, "20%s", pnr);
    CHECK_EQ(s_norm(twelve, out), S_FUTURE);
}

static void test_samordningsnummer_and_plus(void)
{
    char out[13];
    CHECK_EQ(s_norm("850372-1238", out), S_OK); /* day 12 + 60 */
    CHECK(strcmp(out, "198503721238") == 0);
    CHECK_EQ(s_norm("850312+1231", out), S_OK); /* 100 years or older */
    CHECK(strcmp(out, "188503121231") == 0);
    /* Turning 100 this year, birthday still to come: '+' counts by year. */
    CHECK_EQ(s_norm("261220+4566", out), S_OK);
    CHECK(strcmp(out, "192612204566") == 0);
    CHECK_EQ(s_norm("19261220-4566", out), S_OK);
}

static void test_century_of_ten_digits(void)
{
    char pnr[16], out[13];
    s_with_check("251201123", '-', pnr); /* 2025-12-01 is before 2026-06-01 */
    CHECK_EQ(s_norm(pnr, out), S_OK);
    CHECK(strncmp(out, "2025", 4) == 0);
    s_with_check("261201123", '-', pnr); /* 2026-12-01 would be after today: 1926 */
    CHECK_EQ(s_norm(pnr, out), S_OK);
    CHECK(strncmp(out, "1926", 4) == 0);
    s_with_check("260601123", '-', pnr); /* born today */
    CHECK_EQ(s_norm(pnr, out), S_OK);
    CHECK(strncmp(out, "2026", 4) == 0);
}

static void test_pseudonyms(void)
{
    anon_t *a = anon_new(s_key1), *b = anon_new(s_key2);
    CHECK(a && b);
    char n1[13], n2[13];
    CHECK_EQ(s_norm("850312-1231", n1), S_OK);
    CHECK_EQ(s_norm("19850312-1231", n2), S_OK);
    uint8_t p1[32], p2[32], p3[32];
    anon_pseudonym(a, n1, p1);
    anon_pseudonym(a, n2, p2);
    anon_pseudonym(b, n1, p3);
    CHECK(memcmp(p1, p2, 32) == 0);
    CHECK(memcmp(p1, p3, 32) != 0);
    anon_destroy(&a);
    anon_destroy(&b);
    CHECK(a == NULL);
    anon_destroy(&a); /* NULL-safe */
}

static void test_month_start_matches_tzdata(void)
{
    CHECK_EQ(anon_month_start(2026, 3), 1772362800); /* 2026-03-01 12:00 CET */
    CHECK_EQ(anon_month_start(2026, 4), 1775037600); /* 2026-04-01 12:00 CEST */
    if (access("/usr/share/zoneinfo/Europe/Stockholm", R_OK) != 0) {
        fprintf(stderr, "tzdata missing: skipping the comparison with mktime\n");
        return;
    }
    setenv("TZ", "Europe/Stockholm", 1);
    tzset();
    for (int y = 2000; y <= 2040; y++)
        for (int m = 1; m <= 12; m++) {
            struct tm tm = {
                .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = 1, .tm_hour = 12, .tm_isdst = -1};
            CHECK_EQ(anon_month_start(y, m), (long long) mktime(&tm));
        }
}

static void test_calendar_and_bands(void)
{
    CHECK_EQ(anon_days_from_civil(1970, 1, 1), 0);
    CHECK_EQ(anon_days_from_civil(2026, 3, 14), 20526);
    int y, m, d;
    anon_civil_from_days(20526, &y, &m, &d);
    CHECK(y == 2026 && m == 3 && d == 14);
    CHECK(anon_is_date(2024, 2, 29) && !anon_is_date(2026, 2, 29) && !anon_is_date(2026, 4, 31));
    CHECK_EQ(anon_age_band(15), 0);
    CHECK_EQ(anon_age_band(16), 1);
    CHECK_EQ(anon_age_band(29), 1);
    CHECK_EQ(anon_age_band(30), 2);
    CHECK_EQ(anon_age_band(50), 3);
    CHECK_EQ(anon_age_band(64), 3);
    CHECK_EQ(anon_age_band(65), 4);
}

static void test_event_ids(void)
{
    anon_t *a = anon_new(s_key1), *b = anon_new(s_key2);
    const uint8_t content[] = "some canonical content";
    uint8_t h1[32], h2[32], h3[32], id1[16], id2[16];
    anon_hash(a, "finsam-event-id", content, sizeof content, h1);
    anon_hash(a, "finsam-event-id", content, sizeof content, h2);
    anon_hash(b, "finsam-event-id", content, sizeof content, h3);
    CHECK(memcmp(h1, h2, 32) == 0);
    CHECK(memcmp(h1, h3, 32) != 0);
    anon_hash(a, "finsam-natural-key", content, sizeof content, h2);
    CHECK(memcmp(h1, h2, 32) != 0); /* domains separate */
    anon_event_id(2026, 3, h1, id1);
    anon_event_id(2026, 4, h1, id2);
    CHECK_EQ(anon_month_number(1970, 1), 0);
    CHECK_EQ(anon_month_number(2026, 3), 674);
    CHECK(id1[0] == 0 && id1[1] == 0 && id1[2] == 0x02 && id1[3] == 0xa2); /* 674 big-endian */
    CHECK(memcmp(id1, id2, 16) < 0);                                       /* time-ordered */
    CHECK(memcmp(id1 + 4, h1, 12) == 0);
    anon_destroy(&a);
    anon_destroy(&b);
}

static void test_leak_detector(void)
{
    const char *bad[] = {"070-123 45 67", "0701234567",  "+46 70 123 45 67", "19850312-1231",
                         "850312-1231",   "850312+1231", "anna@example.se",  "(08) 123 456 78"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(anon_looks_identifying(bad[i]));
    const char *ok[] = {"steg1", "2026", "1234567", "d_behov", "integrated", "@home", "proj-12"};
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
        CHECK(!anon_looks_identifying(ok[i]));
    CHECK(anon_number_looks_identifying(198503121231LL));
    CHECK(anon_number_looks_identifying(701234567));
    CHECK(!anon_number_looks_identifying(5));
}

static const test_case_t s_cases[] = {
    {"valid forms normalize alike", test_valid_forms_normalize_alike},
    {"invalid personnummer refused", test_invalid},
    {"samordningsnummer and plus", test_samordningsnummer_and_plus},
    {"century of ten digits", test_century_of_ten_digits},
    {"pseudonyms", test_pseudonyms},
    {"month start matches tzdata", test_month_start_matches_tzdata},
    {"calendar and bands", test_calendar_and_bands},
    {"event ids", test_event_ids},
    {"leak detector", test_leak_detector},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
