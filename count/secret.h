/* secret.h: the collector's one secret, kept in the ledger.
 *
 * Why a file of its own: the secret keys two things that live on two
 * floors of the tree. The counting (aggregate.c) keys record keys with its
 * first half, so a participant's cells cannot be linked from outside; the
 * disclosure control (report/protect.c) draws its noise with the second
 * half. Both read it from here, so the counting never depends on the
 * publishing code.
 *
 * Stored in meta "protect-secret" (32 bytes), created once by the first
 * collector start (secret_ensure) and never changed: every record key and
 * every published value depends on it. It never leaves the ledger.
 *
 * Everything derived from it that is stored is a named function with a
 * fixed byte order: record keys (SipHash-2-4 under the first half) and
 * name hashes (SipHash-2-4 under a key derived with crypto_kdf), so a
 * ledger reads the same on every host. */
#ifndef FINSAM_SECRET_H
#define FINSAM_SECRET_H

#include "ledger.h"

#include <stddef.h>
#include <stdint.h>

#define SECRET_LEN 32

/* Reads the secret inside txn into out. 0, MDB_NOTFOUND if the ledger has
 * none yet, or another LMDB error (MDB_CORRUPTED for a wrong length). */
int secret_read(MDB_txn *txn, ledger_t *ledger, uint8_t out[SECRET_LEN]);

/* Reads the secret, creating it from the system's random source first if
 * the ledger has none, inside the write transaction lt. 0 or an LMDB error. */
int secret_ensure(ledger_txn_t *lt, uint8_t out[SECRET_LEN]);

/* The secret of a ledger in a read transaction of its own, for the tools
 * that replay the log (rebuild, erase, migrate). 0, or -1 with the reason
 * in err (also when the ledger has none: no collector has started on it). */
int secret_load(ledger_t *ledger, uint8_t out[SECRET_LEN], char *err, size_t errlen);

/* A 32-bit record key for an identifier (a person's key or an event id):
 * the first four bytes, big-endian, of SipHash-2-4 (libsodium
 * crypto_shorthash) under the secret's first 16 bytes. */
uint32_t secret_record_key(const uint8_t secret[SECRET_LEN], const void *id, size_t len);

/* The key of name hashes (measure ids in participant records, persons.h):
 * crypto_kdf_derive_from_key (BLAKE2b) of the whole secret, subkey id 1,
 * context "fsnames1". Independent of the record-key half, so a name hash
 * tells nothing about record keys and back. */
#define SECRET_NAME_KEY_LEN 16
void secret_name_key(const uint8_t secret[SECRET_LEN], uint8_t out[SECRET_NAME_KEY_LEN]);

/* A 64-bit name hash: SipHash-2-4 (crypto_shorthash) of name under a key
 * from secret_name_key, its 8 bytes read big-endian. Stored: never change
 * it without a schema version and a migration (migrate.h). */
uint64_t secret_name_hash(const uint8_t key[SECRET_NAME_KEY_LEN], const void *name, size_t len);

#endif
