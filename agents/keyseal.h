/* keyseal.h: the site's pseudonym key on disk, except reading it
 * (anon_load): making a new key file (`finsam-agent keygen`), sealing the
 * key under a passphrase for another machine (`export-key OUT`) and
 * unsealing it there (`import-key IN`).
 *
 * A key file holds 64 hex digits and a newline, mode 0600 (anon_load).
 * A sealed key file is text: a version line, the Argon2id parameters
 * (opslimit, memlimit) and salt, the nonce and crypto_secretbox_easy of the
 * 32-byte key under crypto_pwhash(passphrase). Parameters travel with the
 * file, so the limits can change later without breaking old files; the
 * limits read from a file are bounded, so a doctored file cannot ask for
 * terabytes.
 *
 * The design decision: nothing here ever overwrites a key or a sealed
 * file, and on any failure nothing is left behind.
 *
 * Not here: the key in memory and what it keys (anonymize.h), which
 * files to use (main.c's --data-dir and --passphrase-file). */
#ifndef FINSAM_KEYSEAL_H
#define FINSAM_KEYSEAL_H

#include "anonymize.h"
#include "err.h"

#include <stddef.h>

/* Passphrases shorter than this are refused. */
#define KEYSEAL_PASS_MIN 8

/* Writes 32 random bytes as a new key file of mode 0600, fsync'd.
 * Returns FIN_OK, or with the reason in err: FIN_EPERM (path exists: a
 * key is never overwritten), FIN_EIO (nothing is left), FIN_EINTERNAL
 * (libsodium failed to initialise). */
fin_err_t keyseal_generate(const char *path, char *err, size_t errlen);

/* Reads the first line of the passphrase file `path` (without its line
 * end) into buf (cap bytes; the caller sodium_malloc's it and frees it)
 * and sets *len. Refuses a file readable by group or others. Returns
 * FIN_OK, or with the reason in err: FIN_ENOTFOUND (cannot open the file),
 * FIN_EPERM (readable by others: "passphrase file refused: ... (chmod 600
 * it)"), FIN_EIO (read error), FIN_EINPUT (shorter than KEYSEAL_PASS_MIN). */
fin_err_t keyseal_read_passphrase(const char *path, char *buf, size_t cap, size_t *len, char *err,
                                  size_t errlen);

/* Writes anon's key sealed under the passphrase (plen bytes) to a new file
 * out_path of mode 0600. opslimit/memlimit are crypto_pwhash limits
 * (callers use the _INTERACTIVE ones). Returns FIN_OK, or with the reason
 * in err: FIN_EPERM (out_path exists: never overwritten), FIN_EIO (cannot
 * create, write or sync it; nothing is left), FIN_ENOMEM (guarded memory
 * or Argon2 memory). */
fin_err_t keyseal_seal(const anon_t *anon, const char *pass, size_t plen, unsigned long long opslimit,
                       size_t memlimit, const char *out_path, char *err, size_t errlen);

/* Opens the sealed file in_path with the passphrase and writes the key as
 * a new key file key_path, which anon_load reads. Returns FIN_OK, or with the reason in err, nothing
 * written: FIN_ENOTFOUND (cannot open in_path), FIN_EIO (read or write
 * failure), FIN_EINPUT (not a sealed key file, limits out of range, or a
 * wrong passphrase, which cannot be told from an altered file), FIN_EPERM
 * (key_path exists: never overwritten), FIN_ENOMEM. */
fin_err_t keyseal_unseal(const char *in_path, const char *pass, size_t plen, const char *key_path, char *err,
                         size_t errlen);

#endif
