/* secret.c: the collector's secret in the ledger (see secret.h). */
#include "secret.h"

#include "util.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define S_NAME "protect-secret"

int secret_read(MDB_txn *txn, ledger_t *ledger, uint8_t out[SECRET_LEN])
{
    MDB_val k = {strlen(S_NAME), S_NAME}, v;
    int rc = mdb_get(txn, ledger_dbi(ledger, LEDGER_DB_META), &k, &v);
    if (rc)
        return rc;
    if (v.mv_size != SECRET_LEN)
        return MDB_CORRUPTED;
    memcpy(out, v.mv_data, SECRET_LEN);
    return 0;
}

int secret_ensure(ledger_txn_t *lt, uint8_t out[SECRET_LEN])
{
    int rc = secret_read(lt->txn, lt->ledger, out);
    if (rc != MDB_NOTFOUND)
        return rc;
    randombytes_buf(out, SECRET_LEN);
    MDB_val k = {strlen(S_NAME), S_NAME}, v = {SECRET_LEN, out};
    return mdb_put(lt->txn, ledger_dbi(lt->ledger, LEDGER_DB_META), &k, &v, 0);
}

int secret_load(ledger_t *ledger, uint8_t out[SECRET_LEN], char *err, size_t errlen)
{
    MDB_txn *txn;
    int rc = store_read(ledger_store(ledger), &txn);
    if (rc == 0) {
        rc = secret_read(txn, ledger, out);
        store_read_end(ledger_store(ledger), txn);
    }
    if (rc == MDB_NOTFOUND)
        snprintf(err, errlen, "the ledger has no secret yet; start finsam-collector on it once");
    else if (rc)
        snprintf(err, errlen, "the ledger's secret: %s", store_strerror(rc));
    return rc ? -1 : 0;
}

uint32_t secret_record_key(const uint8_t secret[SECRET_LEN], const void *id, size_t len)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, id, len, secret); /* SipHash-2-4 under the first 16 bytes */
    return be32_get(h);
}

void secret_name_key(const uint8_t secret[SECRET_LEN], uint8_t out[SECRET_NAME_KEY_LEN])
{
    _Static_assert(SECRET_LEN == crypto_kdf_KEYBYTES, "the secret is a crypto_kdf master key");
    _Static_assert(SECRET_NAME_KEY_LEN == crypto_shorthash_KEYBYTES, "a name key is a SipHash key");
    crypto_kdf_derive_from_key(out, SECRET_NAME_KEY_LEN, 1, "fsnames1", secret);
}

uint64_t secret_name_hash(const uint8_t key[SECRET_NAME_KEY_LEN], const void *name, size_t len)
{
    uint8_t h[crypto_shorthash_BYTES];
    crypto_shorthash(h, name, len, key);
    return be64_get(h);
}
