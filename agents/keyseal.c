/* keyseal.c: key files, sealed key files, passphrase files (see keyseal.h).
 *
 * Every file here is created with O_CREAT | O_EXCL and mode 0600, written,
 * fsync'd and closed, and unlinked again if any of that fails
 * (s_write_new): a key is never overwritten and never left half written.
 * Key bytes live only in sodium_malloc'd memory or are wiped after use. */
#include "keyseal.h"

#include "keys.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define S_SEAL_MAGIC "finsam-pseudonym-key 1"
#define S_SEAL_BOX_LEN (crypto_secretbox_MACBYTES + ANON_KEY_LEN)

/* Creates path (mode 0600, never overwriting) holding len bytes of text,
 * fsync'd; removes it again on failure. `exists` is the reason given when
 * path is already there. */
static fin_err_t s_write_new(const char *path, const char *text, size_t len, const char *exists, char *err,
                             size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            return fin_fail(err, errlen, FIN_EPERM, "%s: %s", path, exists);
        return fin_fail(err, errlen, FIN_EIO, "%s: %s", path, strerror(errno));
    }
    fin_err_t rc = FIN_OK;
    if (write(fd, text, len) != (ssize_t) len || fsync(fd) < 0)
        rc = fin_fail(err, errlen, FIN_EIO, "%s: %s", path, strerror(errno));
    if (close(fd) < 0 && rc == FIN_OK)
        rc = fin_fail(err, errlen, FIN_EIO, "%s: %s", path, strerror(errno));
    if (rc != FIN_OK)
        unlink(path);
    return rc;
}

/* Writes key as 64 hex digits and a newline to a new key file. */
static fin_err_t s_write_key_file(const char *path, const uint8_t key[ANON_KEY_LEN], char *err, size_t errlen)
{
    char text[2 * ANON_KEY_LEN + 2];
    hex_encode(text, key, ANON_KEY_LEN);
    text[2 * ANON_KEY_LEN] = '\n';
    fin_err_t rc =
        s_write_new(path, text, sizeof text - 1, "already exists; refusing to overwrite a key", err, errlen);
    sodium_memzero(text, sizeof text);
    return rc;
}

fin_err_t keyseal_generate(const char *path, char *err, size_t errlen)
{
    if (sodium_init() < 0)
        return fin_fail(err, errlen, FIN_EINTERNAL, "libsodium failed to initialise");
    uint8_t key[ANON_KEY_LEN];
    randombytes_buf(key, sizeof key);
    fin_err_t rc = s_write_key_file(path, key, err, errlen);
    sodium_memzero(key, sizeof key);
    return rc;
}

fin_err_t keyseal_read_passphrase(const char *path, char *buf, size_t cap, size_t *len, char *err,
                                  size_t errlen)
{
    char why[512];
    if (access(path, F_OK) < 0)
        return fin_fail(err, errlen, FIN_ENOTFOUND, "%s: %s", path, strerror(errno));
    if (keys_check_private(path, why, sizeof why) < 0)
        return fin_fail(err, errlen, FIN_EPERM, "passphrase file refused: %s (chmod 600 it)", why);
    FILE *f = fopen(path, "r");
    if (!f)
        return fin_fail(err, errlen, FIN_ENOTFOUND, "%s: %s", path, strerror(errno));
    size_t n = fread(buf, 1, cap - 1, f);
    bool bad = ferror(f);
    fclose(f);
    if (bad)
        return fin_fail(err, errlen, FIN_EIO, "%s: read error", path);
    buf[n] = '\0';
    *len = strcspn(buf, "\r\n");
    buf[*len] = '\0';
    if (*len < KEYSEAL_PASS_MIN)
        return fin_fail(err, errlen, FIN_EINPUT,
                        "%s: the passphrase (first line) must be at least %d characters", path,
                        KEYSEAL_PASS_MIN);
    return FIN_OK;
}

fin_err_t keyseal_seal(const anon_t *anon, const char *pass, size_t plen, unsigned long long opslimit,
                       size_t memlimit, const char *out_path, char *err, size_t errlen)
{
    uint8_t salt[crypto_pwhash_SALTBYTES], nonce[crypto_secretbox_NONCEBYTES], box[S_SEAL_BOX_LEN];
    char salt_hex[2 * sizeof salt + 1], nonce_hex[2 * sizeof nonce + 1], box_hex[2 * sizeof box + 1];
    fin_err_t rc;
    if (sodium_init() < 0)
        return fin_fail(err, errlen, FIN_EINTERNAL, "libsodium failed to initialise");
    uint8_t *kek = sodium_malloc(crypto_secretbox_KEYBYTES);
    if (!kek)
        return fin_fail(err, errlen, FIN_ENOMEM, "cannot allocate guarded key memory");
    randombytes_buf(salt, sizeof salt);
    randombytes_buf(nonce, sizeof nonce);
    if (crypto_pwhash(kek, crypto_secretbox_KEYBYTES, pass, plen, salt, opslimit, memlimit,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
        rc = fin_fail(err, errlen, FIN_ENOMEM, "Argon2id: out of memory");
        goto free_kek;
    }
    crypto_secretbox_easy(box, anon_key(anon), ANON_KEY_LEN, nonce, kek);
    hex_encode(salt_hex, salt, sizeof salt);
    hex_encode(nonce_hex, nonce, sizeof nonce);
    hex_encode(box_hex, box, sizeof box);
    char text[512];
    int len =
        snprintf(text, sizeof text, S_SEAL_MAGIC "\nkdf argon2id13 %llu %zu\nsalt %s\nnonce %s\nbox %s\n",
                 opslimit, memlimit, salt_hex, nonce_hex, box_hex);
    rc = s_write_new(out_path, text, (size_t) len, "already exists; refusing to overwrite", err, errlen);
free_kek:
    sodium_free(kek);
    return rc;
}

/* The parsed parts of a sealed key file. */
typedef struct {
    unsigned long long ops;
    size_t mem;
    uint8_t salt[crypto_pwhash_SALTBYTES], nonce[crypto_secretbox_NONCEBYTES], box[S_SEAL_BOX_LEN];
} s_sealed_t;

static fin_err_t s_read_sealed(const char *in_path, s_sealed_t *s, char *err, size_t errlen)
{
    char text[1024], salt_hex[2 * crypto_pwhash_SALTBYTES + 2],
        nonce_hex[2 * crypto_secretbox_NONCEBYTES + 2], box_hex[2 * S_SEAL_BOX_LEN + 2];
    FILE *f = fopen(in_path, "r");
    if (!f)
        return fin_fail(err, errlen, FIN_ENOTFOUND, "%s: %s", in_path, strerror(errno));
    size_t n = fread(text, 1, sizeof text - 1, f);
    bool failed = ferror(f);
    fclose(f);
    if (failed)
        return fin_fail(err, errlen, FIN_EIO, "%s: read error", in_path);
    text[n] = '\0';
    if (strncmp(text, S_SEAL_MAGIC "\n", strlen(S_SEAL_MAGIC) + 1) ||
        sscanf(text + strlen(S_SEAL_MAGIC) + 1, "kdf argon2id13 %llu %zu salt %33s nonce %49s box %97s",
               &s->ops, &s->mem, salt_hex, nonce_hex, box_hex) != 5 ||
        hex_decode(s->salt, sizeof s->salt, salt_hex) < 0 || strlen(salt_hex) != 2 * sizeof s->salt ||
        hex_decode(s->nonce, sizeof s->nonce, nonce_hex) < 0 || strlen(nonce_hex) != 2 * sizeof s->nonce ||
        hex_decode(s->box, sizeof s->box, box_hex) < 0 || strlen(box_hex) != 2 * sizeof s->box)
        return fin_fail(err, errlen, FIN_EINPUT, "%s: not a sealed finsam pseudonym key (made by export-key)",
                        in_path);
    /* The limits come from the file: bound them, or a doctored file could
     * ask for terabytes. */
    if (s->ops < crypto_pwhash_OPSLIMIT_MIN || s->ops > crypto_pwhash_OPSLIMIT_SENSITIVE ||
        s->mem < crypto_pwhash_MEMLIMIT_MIN || s->mem > crypto_pwhash_MEMLIMIT_SENSITIVE)
        return fin_fail(err, errlen, FIN_EINPUT, "%s: Argon2id limits out of range", in_path);
    return FIN_OK;
}

fin_err_t keyseal_unseal(const char *in_path, const char *pass, size_t plen, const char *key_path, char *err,
                         size_t errlen)
{
    if (sodium_init() < 0)
        return fin_fail(err, errlen, FIN_EINTERNAL, "libsodium failed to initialise");
    s_sealed_t s;
    fin_err_t rc = s_read_sealed(in_path, &s, err, errlen);
    if (rc)
        return rc;
    uint8_t *kek = sodium_malloc(crypto_secretbox_KEYBYTES);
    uint8_t *key = sodium_malloc(ANON_KEY_LEN);
    if (!kek || !key) {
        rc = fin_fail(err, errlen, FIN_ENOMEM, "cannot allocate guarded key memory");
        goto free_keys;
    }
    if (crypto_pwhash(kek, crypto_secretbox_KEYBYTES, pass, plen, s.salt, s.ops, s.mem,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
        rc = fin_fail(err, errlen, FIN_ENOMEM, "Argon2id: out of memory");
        goto free_keys;
    }
    if (crypto_secretbox_open_easy(key, s.box, sizeof s.box, s.nonce, kek) != 0) {
        rc = fin_fail(err, errlen, FIN_EINPUT, "%s: wrong passphrase (or the file was altered)", in_path);
        goto free_keys;
    }
    rc = s_write_key_file(key_path, key, err, errlen);
free_keys:
    sodium_free(key); /* wipes; NULL-safe */
    sodium_free(kek);
    return rc;
}
