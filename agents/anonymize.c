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
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

struct anon_t {
    uint8_t *key; /* ANON_KEY_LEN bytes, sodium_malloc'd */
};

const char *anon_strerror(anon_err_t err)
{
    switch (err) {
    case ANON_OK: return "ok";
    case ANON_PNR_FORMAT: return "not a personnummer (10 or 12 digits, optional '-' or '+')";
    case ANON_PNR_DATE: return "personnummer has no valid birth date";
    case ANON_PNR_CHECKSUM: return "personnummer check digit is wrong";
    case ANON_PNR_FUTURE: return "personnummer birth date is in the future";
    }
    return "unknown error";
}

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

int anon_load(anon_t **out, const char *path, char *err, size_t errlen)
{
    *out = NULL;
    if (keys_check_private(path, err, errlen) < 0)
        return -1;
    char text[2 * ANON_KEY_LEN + 8];
    uint8_t key[ANON_KEY_LEN];
    int rc = -1;
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
        text[--n] = '\0';
    if (n != 2 * ANON_KEY_LEN || hex_decode(key, ANON_KEY_LEN, text) < 0) {
        snprintf(err, errlen, "%s: not a pseudonym key (want 64 hex digits)", path);
        goto wipe;
    }
    *out = anon_new(key);
    if (!*out) {
        snprintf(err, errlen, "%s: cannot allocate guarded key memory", path);
        goto wipe;
    }
    rc = 0;
wipe:
    sodium_memzero(text, sizeof text);
    sodium_memzero(key, sizeof key);
    return rc;
}

/* Writes key as 64 hex digits and a newline to a new file of mode 0600,
 * fsync'd; removes the file again on failure. EEXIST is reported as such. */
static int s_write_key_file(const char *path, const uint8_t key[ANON_KEY_LEN], char *err, size_t errlen)
{
    char text[2 * ANON_KEY_LEN + 2];
    int rc = -1;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path,
                 errno == EEXIST ? "already exists; refusing to overwrite a key" : strerror(errno));
        return errno == EEXIST ? -2 : -1;
    }
    hex_encode(text, key, ANON_KEY_LEN);
    size_t len = strlen(text);
    text[len++] = '\n';
    if (write(fd, text, len) != (ssize_t) len || fsync(fd) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto close_fd;
    }
    rc = 0;
close_fd:
    if (close(fd) < 0 && rc == 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = -1;
    }
    if (rc < 0)
        unlink(path);
    sodium_memzero(text, sizeof text);
    return rc;
}

int anon_generate_key(const char *path, char *err, size_t errlen)
{
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium failed to initialise");
        return -1;
    }
    uint8_t key[ANON_KEY_LEN];
    randombytes_buf(key, sizeof key);
    int rc = s_write_key_file(path, key, err, errlen) < 0 ? -1 : 0;
    sodium_memzero(key, sizeof key);
    return rc;
}

/* ---- sealed key files -------------------------------------------------- */

#define S_SEAL_MAGIC "finsam-pseudonym-key 1"
#define S_SEAL_BOX_LEN (crypto_secretbox_MACBYTES + ANON_KEY_LEN)

anon_seal_err_t anon_seal(const anon_t *self, const char *pass, size_t plen, unsigned long long opslimit,
                          size_t memlimit, const char *out_path, char *err, size_t errlen)
{
    uint8_t salt[crypto_pwhash_SALTBYTES], nonce[crypto_secretbox_NONCEBYTES], box[S_SEAL_BOX_LEN];
    char salt_hex[2 * sizeof salt + 1], nonce_hex[2 * sizeof nonce + 1], box_hex[2 * sizeof box + 1];
    anon_seal_err_t rc = ANON_SEAL_NOMEM;
    uint8_t *kek = sodium_malloc(crypto_secretbox_KEYBYTES);
    if (!kek) {
        snprintf(err, errlen, "cannot allocate guarded key memory");
        return ANON_SEAL_NOMEM;
    }
    randombytes_buf(salt, sizeof salt);
    randombytes_buf(nonce, sizeof nonce);
    if (crypto_pwhash(kek, crypto_secretbox_KEYBYTES, pass, plen, salt, opslimit, memlimit,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
        snprintf(err, errlen, "Argon2id: out of memory");
        goto free_kek;
    }
    crypto_secretbox_easy(box, self->key, ANON_KEY_LEN, nonce, kek);
    hex_encode(salt_hex, salt, sizeof salt);
    hex_encode(nonce_hex, nonce, sizeof nonce);
    hex_encode(box_hex, box, sizeof box);
    int fd = open(out_path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        rc = errno == EEXIST ? ANON_SEAL_EXISTS : ANON_SEAL_IO;
        snprintf(err, errlen, "%s: %s", out_path,
                 errno == EEXIST ? "already exists; refusing to overwrite" : strerror(errno));
        goto free_kek;
    }
    char text[512];
    int len =
        snprintf(text, sizeof text, S_SEAL_MAGIC "\nkdf argon2id13 %llu %zu\nsalt %s\nnonce %s\nbox %s\n",
                 opslimit, memlimit, salt_hex, nonce_hex, box_hex);
    rc = ANON_SEAL_OK;
    if (write(fd, text, (size_t) len) != len || fsync(fd) < 0) {
        snprintf(err, errlen, "%s: %s", out_path, strerror(errno));
        rc = ANON_SEAL_IO;
    }
    if (close(fd) < 0 && rc == ANON_SEAL_OK) {
        snprintf(err, errlen, "%s: %s", out_path, strerror(errno));
        rc = ANON_SEAL_IO;
    }
    if (rc != ANON_SEAL_OK)
        unlink(out_path);
free_kek:
    sodium_free(kek);
    return rc;
}

anon_seal_err_t anon_unseal(const char *in_path, const char *pass, size_t plen, const char *key_path,
                            char *err, size_t errlen)
{
    if (sodium_init() < 0) {
        snprintf(err, errlen, "libsodium failed to initialise");
        return ANON_SEAL_NOMEM;
    }
    char text[1024], salt_hex[2 * crypto_pwhash_SALTBYTES + 2],
        nonce_hex[2 * crypto_secretbox_NONCEBYTES + 2], box_hex[2 * S_SEAL_BOX_LEN + 2];
    uint8_t salt[crypto_pwhash_SALTBYTES], nonce[crypto_secretbox_NONCEBYTES], box[S_SEAL_BOX_LEN];
    unsigned long long ops;
    size_t mem;
    FILE *f = fopen(in_path, "r");
    if (!f) {
        snprintf(err, errlen, "%s: %s", in_path, strerror(errno));
        return ANON_SEAL_NOINPUT;
    }
    size_t n = fread(text, 1, sizeof text - 1, f);
    bool failed = ferror(f);
    fclose(f);
    if (failed) {
        snprintf(err, errlen, "%s: read error", in_path);
        return ANON_SEAL_IO;
    }
    text[n] = '\0';
    if (strncmp(text, S_SEAL_MAGIC "\n", strlen(S_SEAL_MAGIC) + 1) ||
        sscanf(text + strlen(S_SEAL_MAGIC) + 1, "kdf argon2id13 %llu %zu salt %33s nonce %49s box %97s", &ops,
               &mem, salt_hex, nonce_hex, box_hex) != 5 ||
        hex_decode(salt, sizeof salt, salt_hex) < 0 || strlen(salt_hex) != 2 * sizeof salt ||
        hex_decode(nonce, sizeof nonce, nonce_hex) < 0 || strlen(nonce_hex) != 2 * sizeof nonce ||
        hex_decode(box, sizeof box, box_hex) < 0 || strlen(box_hex) != 2 * sizeof box) {
        snprintf(err, errlen, "%s: not a sealed finsam pseudonym key (made by export-key)", in_path);
        return ANON_SEAL_FORMAT;
    }
    /* The limits come from the file: bound them, or a doctored file could
     * ask for terabytes. */
    if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > crypto_pwhash_OPSLIMIT_SENSITIVE ||
        mem < crypto_pwhash_MEMLIMIT_MIN || mem > crypto_pwhash_MEMLIMIT_SENSITIVE) {
        snprintf(err, errlen, "%s: Argon2id limits out of range", in_path);
        return ANON_SEAL_FORMAT;
    }
    anon_seal_err_t rc = ANON_SEAL_NOMEM;
    uint8_t *kek = sodium_malloc(crypto_secretbox_KEYBYTES);
    uint8_t *key = sodium_malloc(ANON_KEY_LEN);
    if (!kek || !key) {
        snprintf(err, errlen, "cannot allocate guarded key memory");
        goto free_keys;
    }
    if (crypto_pwhash(kek, crypto_secretbox_KEYBYTES, pass, plen, salt, ops, mem,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
        snprintf(err, errlen, "Argon2id: out of memory");
        goto free_keys;
    }
    if (crypto_secretbox_open_easy(key, box, sizeof box, nonce, kek) != 0) {
        snprintf(err, errlen, "%s: wrong passphrase (or the file was altered)", in_path);
        rc = ANON_SEAL_PASSPHRASE;
        goto free_keys;
    }
    int w = s_write_key_file(key_path, key, err, errlen);
    rc = w == 0 ? ANON_SEAL_OK : w == -2 ? ANON_SEAL_EXISTS : ANON_SEAL_IO;
free_keys:
    sodium_free(key); /* wipes; NULL-safe */
    sodium_free(kek);
    return rc;
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

anon_err_t anon_pnr_normalize(const char *in, int ty, int tm, int td, char out[13], int *birth_year)
{
    char digits[13];
    int nd = 0;
    char sep = 0;
    int sep_at = -1;
    for (const char *p = in; *p; p++) {
        if (isdigit((unsigned char) *p)) {
            if (nd == 12)
                return ANON_PNR_FORMAT;
            digits[nd++] = *p;
        } else if ((*p == '-' || *p == '+') && !sep) {
            sep = *p;
            sep_at = nd;
        } else {
            return ANON_PNR_FORMAT;
        }
    }
    digits[nd] = '\0';
    if (nd != 10 && nd != 12)
        return ANON_PNR_FORMAT;
    /* The separator may only stand before the last four digits; '+' only in
     * the 10-digit form, where it carries the century. */
    if (sep && (sep_at != nd - 4 || (sep == '+' && nd == 12)))
        return ANON_PNR_FORMAT;

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
        if (sep == '+')
            year -= 100;
    }
    int day = dd > 60 ? dd - 60 : dd; /* samordningsnummer */
    if (!anon_is_date(year, mm, day))
        return ANON_PNR_DATE;
    if (anon_days_from_civil(year, mm, day) > anon_days_from_civil(ty, tm, td))
        return ANON_PNR_FUTURE;
    if (s_luhn_check_digit(ten) != ten[9] - '0')
        return ANON_PNR_CHECKSUM;
    snprintf(out, 13, "%04d%.8s", year, ten + 2);
    if (birth_year)
        *birth_year = year;
    return ANON_OK;
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

bool anon_looks_identifying(const char *s)
{
    const char *at = strchr(s, '@');
    if (at && at != s && strchr(at + 1, '.'))
        return true;
    int ndigits = 0;
    for (const char *p = s; *p; p++) {
        if (isdigit((unsigned char) *p))
            ndigits++;
        else if (!strchr(" -+()", *p))
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
        } else if (!*p || !strchr(" -+()", *p)) {
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
