/* csvcell.c: the spellings of a site's export cells (see csvcell.h).
 *
 * Byte-wise on UTF-8, with no locale: the same cell reads the same on
 * every machine. Only what Swedish exports are seen to hold is accepted;
 * anything else is refused, never guessed. */
#include "csvcell.h"

#include "anonymize.h"

#include <ctype.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>

int csvcell_trim(const char *in, char *out, size_t outlen)
{
    const char *b = in, *e = in + strlen(in);
    for (;;) {
        if (b < e && isspace((unsigned char) *b))
            b++;
        else if (e - b >= 2 && (unsigned char) b[0] == 0xc2 && (unsigned char) b[1] == 0xa0)
            b += 2;
        else
            break;
    }
    for (;;) {
        if (e > b && isspace((unsigned char) e[-1]))
            e--;
        else if (e - b >= 2 && (unsigned char) e[-2] == 0xc2 && (unsigned char) e[-1] == 0xa0)
            e -= 2;
        else
            break;
    }
    if ((size_t) (e - b) >= outlen)
        return -1;
    memcpy(out, b, (size_t) (e - b));
    out[e - b] = '\0';
    return 0;
}

int csvcell_norm(const char *in, char *out, size_t outlen)
{
    if (csvcell_trim(in, out, outlen) < 0)
        return -1;
    for (unsigned char *p = (unsigned char *) out; *p; p++) {
        if (*p >= 'A' && *p <= 'Z')
            *p = (unsigned char) (*p + 32);
        else if (*p == 0xc3 && p[1] >= 0x80 && p[1] <= 0x9e && p[1] != 0x97) {
            p[1] = (unsigned char) (p[1] + 0x20);
            p++;
        }
    }
    return 0;
}

int csvcell_number(const char *s, long long *whole, bool *fraction, bool *round_up)
{
    const unsigned char *p = (const unsigned char *) s;
    bool neg = false;
    if (*p == '-' || *p == '+')
        neg = *p++ == '-';
    long long v = 0;
    int nd = 0;
    while (*p) {
        if (isdigit(*p)) {
            if (++nd > 12)
                return -1;
            v = v * 10 + (*p++ - '0');
        } else if (nd && *p == ' ' && isdigit(p[1])) {
            p++;
        } else if (nd && p[0] == 0xc2 && p[1] == 0xa0 && isdigit(p[2])) {
            p += 2;
        } else {
            break;
        }
    }
    if (nd == 0)
        return -1;
    *fraction = false;
    *round_up = false;
    if (*p == ',' || *p == '.') {
        p++;
        if (!isdigit(*p))
            return -1;
        *round_up = *p >= '5';
        for (; isdigit(*p); p++)
            if (*p != '0')
                *fraction = true;
    }
    if (*p)
        return -1;
    *whole = neg ? -v : v;
    return 0;
}

int csvcell_date(const char *s, char out[11])
{
    int y, m, d, n = 0;
    /* The common spelling, YYYY-MM-DD in digits, without sscanf (which a
     * large import calls once a row); anything else takes the general
     * path below, which reads this spelling the same way. */
    bool iso = true;
    for (int i = 0; i < 10 && iso; i++)
        iso = i == 4 || i == 7 ? s[i] == '-' : isdigit((unsigned char) s[i]) != 0;
    if (iso) {
        y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
        m = (s[5] - '0') * 10 + (s[6] - '0');
        d = (s[8] - '0') * 10 + (s[9] - '0');
        n = 10;
    } else if (isdigit((unsigned char) s[0]) && s[4] == '-' &&
               sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) == 3 && n == 10) {
        /* ISO date, maybe with a time: 2026-03-14 10:22 or 2026-03-14T10:22:05 */
    } else if ((sscanf(s, "%2d/%2d/%4d%n", &d, &m, &y, &n) == 3 ||
                sscanf(s, "%2d.%2d.%4d%n", &d, &m, &y, &n) == 3) &&
               n >= 8 && isdigit((unsigned char) s[n - 4]) && isdigit((unsigned char) s[0])) {
        /* D/M/YYYY or D.M.YYYY, day first as written in Sweden */
    } else {
        return -1;
    }
    if (s[n] && s[n] != ' ' && s[n] != 'T')
        return -1;
    for (const char *p = s + n + (s[n] != 0); *p; p++)
        if (!isdigit((unsigned char) *p) && !strchr(":.+-Z ", *p))
            return -1;
    if (!anon_is_date(y, m, d))
        return -1;
    if (iso) {
        memcpy(out, s, 10); /* what the format below writes for it */
        out[10] = '\0';
    } else {
        snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
    }
    return 0;
}

int csvcell_distance(const char *a, const char *b, int limit)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 256 || lb > 256)
        return limit + 1;
    if ((la > lb ? la - lb : lb - la) > (size_t) limit)
        return limit + 1;
    int row[257];
    for (size_t j = 0; j <= lb; j++)
        row[j] = (int) j;
    for (size_t i = 1; i <= la; i++) {
        int diag = row[0], best;
        row[0] = (int) i;
        best = row[0];
        for (size_t j = 1; j <= lb; j++) {
            int up = row[j];
            int v = diag + (a[i - 1] != b[j - 1]);
            if (row[j - 1] + 1 < v)
                v = row[j - 1] + 1;
            if (up + 1 < v)
                v = up + 1;
            row[j] = v;
            diag = up;
            if (v < best)
                best = v;
        }
        if (best > limit)
            return limit + 1;
    }
    return row[lb] > limit ? limit + 1 : row[lb];
}

bool csvcell_similar(const char *a, const char *b)
{
    char na[257], nb[257];
    if (csvcell_norm(a, na, sizeof na) < 0 || csvcell_norm(b, nb, sizeof nb) < 0 || !*na || !*nb)
        return false;
    size_t la = strlen(na), lb = strlen(nb);
    if ((la >= 3 && !strncmp(na, nb, la)) || (lb >= 3 && !strncmp(na, nb, lb)))
        return true;
    return csvcell_distance(na, nb, 2) <= 2;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF. */
bool csvcell_is_utf8(const void *data, size_t n)
{
    const uint8_t *p = data;
    size_t i = 0;
    while (i < n) {
        /* Runs of ASCII, most of a file, eight bytes at a time. */
        uint64_t w;
        while (i + 8 <= n && (memcpy(&w, p + i, 8), (w & 0x8080808080808080ull) == 0))
            i += 8;
        if (i >= n)
            break;
        uint8_t c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0)
            len = 2, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            len = 3, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            len = 4, cp = c & 0x07, min = 0x10000;
        else
            return false;
        if (i + len > n)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (p[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += len;
    }
    return true;
}
