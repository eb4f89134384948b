/* anonymize.c: personnummer, pseudonyms, coarse dates, ids (see anonymize.h).
 *
 * The design decision: every hash here is keyed with the site key. An
 * unkeyed hash of a personnummer can be reversed by enumerating the ~10^10
 * possible numbers in hours; a keyed one cannot without the key, which never
 * leaves the site. Content hashes and natural keys are keyed too, because
 * they are computed over the pseudonym's source.
 *
 * Calendar arithmetic is done by hand (Howard Hinnant's days_from_civil) so
 * that nothing depends on the process's TZ or locale. */
#include "anonymize.h"

#include "keys.h"
#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct anon_t {
    uint8_t *key; /* ANON_KEY_LEN bytes, sodium_malloc'd */
};

anon_t *anon_new(const uint8_t key[ANON_KEY_LEN])
{
    if (sodium_init() < 0)
        return NULL;
    anon_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->key = sodium_malloc(ANON_KEY_LEN);
    if (!self->key) {
        free(self);
        return NULL;
    }
    memcpy(self->key, key, ANON_KEY_LEN);
    sodium_mprotect_readonly(self->key);
    return self;
}

void anon_destroy(anon_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    anon_t *self = *self_p;
    /* sodium_free wipes the region before unmapping it. */
    sodium_mprotect_readwrite(self->key);
    sodium_memzero(self->key, ANON_KEY_LEN);
    sodium_free(self->key);
    free(self);
    *self_p = NULL;
}

fin_err_t anon_load(anon_t **out, const char *path, char *err, size_t errlen)
{
    *out = NULL;
    if (keys_check_private(path, err, errlen) < 0)
        return access(path, F_OK) < 0 ? FIN_ENOTFOUND : FIN_EPERM;
    char text[2 * ANON_KEY_LEN + 8];
    uint8_t key[ANON_KEY_LEN];
    fin_err_t rc;
    FILE *f = fopen(path, "r");
    if (!f)
        return fin_fail(err, errlen, fin_from_errno(errno), "%s: %s", path, strerror(errno));
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        text[--n] = '\0';
    if (n != 2 * ANON_KEY_LEN || hex_decode(key, ANON_KEY_LEN, text) < 0) {
        rc = fin_fail(err, errlen, FIN_ECONFIG, "%s: not a pseudonym key (want 64 hex digits)", path);
        goto wipe;
    }
    *out = anon_new(key);
    rc = *out ? FIN_OK : fin_fail(err, errlen, FIN_ENOMEM, "%s: cannot allocate guarded key memory", path);
wipe:
    sodium_memzero(text, sizeof text);
    sodium_memzero(key, sizeof key);
    return rc;
}

const uint8_t *anon_key(const anon_t *self)
{
    return self->key;
}

/* ---- calendar ---------------------------------------------------------- */

int32_t anon_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int era = (y >= 0 ? y : y - 399) / 400;
    int yoe = y - era * 400;
    int doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void anon_civil_from_days(int32_t z, int *year, int *month, int *day)
{
    z += 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    int doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int y = yoe + era * 400;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;
    int d = doy - (153 * mp + 2) / 5 + 1;
    int m = mp + (mp < 10 ? 3 : -9);
    *year = y + (m <= 2);
    *month = m;
    *day = d;
}

bool anon_is_date(int y, int m, int d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1800 || y > 9999 || m < 1 || m > 12 || d < 1)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

int64_t anon_month_start(int year, int month)
{
    int offset_h = (month >= 4 && month <= 10) ? 2 : 1;
    return (int64_t) anon_days_from_civil(year, month, 1) * 86400 + (12 - offset_h) * 3600;
}

int anon_age_band(int age)
{
    if (age < 16)
        return 0;
    if (age <= 29)
        return 1;
    if (age <= 49)
        return 2;
    if (age <= 64)
        return 3;
    return 4;
}

/* ---- personnummer ------------------------------------------------------ */

static int s_luhn_check_digit(const char *d9)
{
    int sum = 0;
    for (int i = 0; i < 9; i++) {
        int v = (d9[i] - '0') * (i % 2 == 0 ? 2 : 1);
        sum += v > 9 ? v - 9 : v;
    }
    return (10 - sum % 10) % 10;
}

static int s_num(const char *p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++)
        v = v * 10 + (p[i] - '0');
    return v;
}

/* The reasons of anon_pnr_normalize. */
#define S_PNR_FORMAT "not a personnummer (10 or 12 digits, optional '-' or '+')"
#define S_PNR_DATE "personnummer has no valid birth date"
#define S_PNR_CHECKSUM "personnummer check digit is wrong"
#define S_PNR_FUTURE "personnummer birth date is in the future"

fin_err_t anon_pnr_normalize(const char *in, int ty, int tm, int td, char out[13], int *birth_year, char *err,
                             size_t errlen)
{
    char digits[13];
    int nd = 0;
    char sep = 0;
    int sep_at = -1;
    for (const char *p = in; *p; p++) {
        if (isdigit((unsigned char) *p)) {
            if (nd == 12)
                return fin_fail(err, errlen, FIN_EINPUT, S_PNR_FORMAT);
            digits[nd++] = *p;
        } else if ((*p == '-' || *p == '+') && !sep) {
            sep = *p;
            sep_at = nd;
        } else {
            return fin_fail(err, errlen, FIN_EINPUT, S_PNR_FORMAT);
        }
    }
    digits[nd] = '\0';
    if (nd != 10 && nd != 12)
        return fin_fail(err, errlen, FIN_EINPUT, S_PNR_FORMAT);
    /* The separator may only stand before the last four digits; '+' only in
     * the 10-digit form, where it carries the century. */
    if (sep && (sep_at != nd - 4 || (sep == '+' && nd == 12)))
        return fin_fail(err, errlen, FIN_EINPUT, S_PNR_FORMAT);

    const char *ten = nd == 12 ? digits + 2 : digits;
    int yy = s_num(ten, 2), mm = s_num(ten + 2, 2), dd = s_num(ten + 4, 2);
    int year;
    if (nd == 12) {
        year = s_num(digits, 4);
    } else {
        year = ty - ((ty - yy) % 100 + 100) % 100; /* latest year <= today ending in yy */
        int bd = dd > 60 ? dd - 60 : dd;
        if (year == ty && (mm > tm || (mm == tm && bd > td)))
            year -= 100;
        /* '+' is written from the year one turns 100 (Skatteverket), so it
         * counts by year alone: 261220+4566 in 2026 is 1926, before the
         * birthday too. */
        if (sep == '+')
            year = ty - 100 - ((ty - 100 - yy) % 100 + 100) % 100;
    }
    int day = dd > 60 ? dd - 60 : dd; /* samordningsnummer */
    if (!anon_is_date(year, mm, day))
        return fin_fail(err, errlen, FIN_EINPUT, S_PNR_DATE);
    if (anon_days_from_civil(year, mm, day) > anon_days_from_civil(ty, tm, td))
        return fin_fail(err, errlen, FIN_EINPUT, S_PNR_FUTURE);
    if (s_luhn_check_digit(ten) != ten[9] - '0')
        return fin_fail(err, errlen, FIN_EINPUT, S_PNR_CHECKSUM);
    /* "%04d%.8s" by hand (once a row): anon_is_date held year to 1800-9999. */
    for (int i = 3, y = year; i >= 0; i--, y /= 10)
        out[i] = (char) ('0' + y % 10);
    memcpy(out + 4, ten + 2, 8);
    out[12] = '\0';
    if (birth_year)
        *birth_year = year;
    return FIN_OK;
}

void anon_pseudonym(const anon_t *self, const char norm12[12], uint8_t out[ANON_PSEUDONYM_LEN])
{
    crypto_generichash(out, ANON_PSEUDONYM_LEN, (const uint8_t *) norm12, 12, self->key, ANON_KEY_LEN);
}

void anon_hash(const anon_t *self, const char *domain, const uint8_t *data, size_t len,
               uint8_t out[ANON_HASH_LEN])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, self->key, ANON_KEY_LEN, ANON_HASH_LEN);
    crypto_generichash_update(&st, (const uint8_t *) domain, strlen(domain) + 1);
    crypto_generichash_update(&st, data, len);
    crypto_generichash_final(&st, out, ANON_HASH_LEN);
    sodium_memzero(&st, sizeof st);
}

uint32_t anon_month_number(int year, int month)
{
    return (uint32_t) ((year - 1970) * 12 + month - 1);
}

void anon_event_id(int year, int month, const uint8_t content_hash[ANON_HASH_LEN], uint8_t out[ANON_ID_LEN])
{
    be32_put(out, anon_month_number(year, month));
    memcpy(out + 4, content_hash, ANON_ID_LEN - 4);
}

/* ---- leak detection ---------------------------------------------------- */

/* What may stand between the digits of a number written by hand: the
 * set " -+()" (a test, not strchr: it runs for every character of every
 * mapped cell). */
static bool s_is_digit_sep(char c)
{
    return c == ' ' || c == '-' || c == '+' || c == '(' || c == ')';
}

bool anon_looks_identifying(const char *s)
{
    const char *at = strchr(s, '@');
    if (at && at != s && strchr(at + 1, '.'))
        return true;
    int ndigits = 0;
    for (const char *p = s; *p; p++) {
        if (isdigit((unsigned char) *p))
            ndigits++;
        else if (!s_is_digit_sep(*p))
            return false;
    }
    return ndigits >= 8;
}

bool anon_contains_identifying(const char *s)
{
    /* E-mail: an '@' with a word before it and a dot after it. */
    for (const char *at = strchr(s, '@'); at; at = strchr(at + 1, '@')) {
        bool before = at > s && !isspace((unsigned char) at[-1]);
        const char *end = at + 1;
        while (*end && !isspace((unsigned char) *end))
            end++;
        const char *dot = memchr(at + 1, '.', (size_t) (end - at - 1));
        if (before && dot && dot > at + 1 && dot + 1 < end)
            return true;
    }
    /* Digit runs: personnummer and phone numbers in any spelling. */
    int ndigits = 0;
    for (const char *p = s;; p++) {
        if (*p && isdigit((unsigned char) *p)) {
            if (++ndigits >= 8)
                return true;
        } else if (!*p || !s_is_digit_sep(*p)) {
            if (!*p)
                break;
            ndigits = 0;
        }
    }
    return false;
}

bool anon_number_looks_identifying(long long v)
{
    return v >= 10000000LL || v <= -10000000LL;
}

int64_t anon_this_month(int64_t now_s)
{
    int y, m, d;
    anon_civil_from_days((int32_t) (now_s / 86400), &y, &m, &d);
    int64_t local = now_s + ((m >= 4 && m <= 10) ? 7200 : 3600);
    anon_civil_from_days((int32_t) (local / 86400), &y, &m, &d);
    return anon_month_start(y, m);
}
