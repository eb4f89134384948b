/* formats_test.c: what count/ stores is the format its headers specify,
 * byte for byte, so a ledger reads the same on every host and in the next
 * release (ledger schema 6):
 *  - name hashes (secret.h): SipHash-2-4 under a crypto_kdf subkey of the
 *    secret, read big-endian, recomputed here from the libsodium calls the
 *    header names and pinned by a known answer;
 *  - cell states (cell.h): 24 little-endian int64 in declaration order;
 *  - participant records (persons.h): version 5, big-endian fields at the
 *    offsets the header lists, read back as written;
 *  - the transaction's cellmap (cellmap.h), in memory only: insertion
 *    order, zeroed values, growth and clearing. */
#include "testutil.h"

#include "cell.h"
#include "cellmap.h"
#include "ledger.h"
#include "persons.h"
#include "secret.h"
#include "util.h"

#include <sodium.h>
#include <string.h>

/* secret_name_hash of "i7_steg_forflyttning" under s_secret(), big-endian hex. */
#define NAME_HASH_KAT "02f22b9bd6f8f55a"

static void s_secret(uint8_t secret[SECRET_LEN])
{
    for (int i = 0; i < SECRET_LEN; i++)
        secret[i] = (uint8_t) (i * 7 + 1);
}

static void test_name_hash(void)
{
    CHECK(sodium_init() >= 0);
    uint8_t secret[SECRET_LEN], key[SECRET_NAME_KEY_LEN], want_key[16], h[8];
    s_secret(secret);
    secret_name_key(secret, key);
    /* As secret.h says: crypto_kdf, subkey id 1, context "fsnames1". */
    CHECK(crypto_kdf_derive_from_key(want_key, sizeof want_key, 1, "fsnames1", secret) == 0);
    CHECK(!memcmp(key, want_key, sizeof key));
    /* Not the record-key half: the key is no part of the secret. */
    CHECK(memcmp(key, secret, sizeof key) && memcmp(key, secret + 16, sizeof key));
    const char *id = "i7_steg_forflyttning";
    CHECK(crypto_shorthash(h, (const uint8_t *) id, strlen(id), key) == 0);
    uint64_t hash = secret_name_hash(key, id, strlen(id));
    CHECK(hash == be64_get(h));
    /* Pinned: a change of this value is a change of the stored format. */
    char hex[17];
    uint8_t be[8];
    be64_put(be, hash);
    hex_encode(hex, be, 8);
    fprintf(stderr, "name hash of %s: %s\n", id, hex);
    CHECK(!strcmp(hex, NAME_HASH_KAT));
    /* Another secret, another hash. */
    secret[0] ^= 1;
    secret_name_key(secret, key);
    CHECK(secret_name_hash(key, id, strlen(id)) != hash);
}

static void test_cell_state(void)
{
    cell_t c = {.n = 1,
                .sum = -2,
                .sumsq = 3,
                .hits = 4,
                .dont_know = 5,
                .units = 6,
                .ckey = 0x0102030405060708,
                .okey = 0xfffffffe};
    for (int i = 0; i < CELL_HIST; i++)
        c.hist[i] = 100 + i;
    uint8_t b[CELL_STATE_LEN];
    cell_state_encode(b, &c);
    /* Field i at 8 * i, least significant byte first. */
    CHECK(b[0] == 1 && b[7] == 0);
    CHECK(b[8] == 0xfe && b[15] == 0xff); /* -2 */
    CHECK(b[6 * 8] == 100 && b[(6 + 15) * 8] == 115);
    CHECK(b[22 * 8] == 0x08 && b[22 * 8 + 7] == 0x01);
    CHECK(b[23 * 8] == 0xfe && b[23 * 8 + 3] == 0xff && b[23 * 8 + 4] == 0);
    cell_t d;
    CHECK(cell_state_decode(&d, b, sizeof b) == 0);
    CHECK(!memcmp(&c, &d, sizeof c));
    CHECK(cell_state_decode(&d, b, sizeof b - 8) < 0);
}

typedef struct {
    persons_t *people;
    uint8_t key[PERSON_KEY_LEN];
    int step;
} s_rec_t;

static int s_write_record(ledger_txn_t *lt, void *arg)
{
    s_rec_t *r = arg;
    persons_begin(r->people);
    person_t *p;
    int rc = persons_load(r->people, lt->txn, lt->ledger, r->key, &p);
    if (rc)
        return rc;
    int du[3][PS_COUNT];
    if (r->step == 0) {
        CHECK(p->nmembers == 0 && p->nobs == 0);
        CHECK(person_ref(p, 0x1122334455667788ULL, 202603, (person_who_t){1, 2, 3}, +1, du) == 0);
        CHECK(du[0][PS_ALL] == 1 && du[2][PS_GENDER] == 1);
        person_obs_t o = {0xa1a2a3a4a5a6a7a8ULL,   1, {2, 1, 3}, -3, 202604, 0x0102030405060708ULL,
                          {9, 8, 7, 6, 5, 4, 3, 2}};
        CHECK(person_observe(p, &o) == 0);
    } else {
        /* Read back as written, then emptied: the record goes. */
        CHECK(p->nmembers == 1 && p->members[0].measure == 0x1122334455667788ULL &&
              p->members[0].month == 202603 && p->members[0].refs == 1 && p->members[0].age == 3);
        CHECK(p->nobs == 1 && p->obs[0].value == -3 && p->obs[0].order == 0x0102030405060708ULL &&
              p->obs[0].id8[7] == 2);
        CHECK(person_ref(p, 0x1122334455667788ULL, 202603, (person_who_t){1, 2, 3}, -1, du) == 0);
        CHECK(du[0][PS_ALL] == -1);
        person_forget(p, 0xa1a2a3a4a5a6a7a8ULL, 1, p->obs[0].id8);
    }
    return persons_flush(r->people, lt->txn, lt->ledger);
}

static void test_person_record(void)
{
    char err[256], path[512];
    snprintf(path, sizeof path, "%s/ledger", tu_tempdir());
    ledger_t *ledger;
    CHECK(ledger_open(&ledger, path, false, err, sizeof err) == 0);
    uint8_t secret[SECRET_LEN];
    s_secret(secret);
    s_rec_t r = {persons_new(secret), "NV", 0};
    CHECK(r.people);
    memset(r.key + CELL_FORBUND_LEN, 0x5a, CODEC_PSEUDONYM_LEN);
    CHECK(ledger_write(ledger, s_write_record, &r) == 0);

    MDB_txn *txn;
    CHECK(store_read(ledger_store(ledger), &txn) == 0);
    MDB_val k = {PERSON_KEY_LEN, r.key}, v;
    CHECK(mdb_get(txn, ledger_dbi(ledger, LEDGER_DB_PARTICIPANTS), &k, &v) == 0);
    CHECK_EQ(v.mv_size, PERSON_RECORD_HEADER + PERSON_MEMBER_BYTES + PERSON_OBS_BYTES);
    const uint8_t *b = v.mv_data, *m = b + PERSON_RECORD_HEADER, *o = m + PERSON_MEMBER_BYTES;
    CHECK(b[0] == 5 && be32_get(b + 1) == 1 && be32_get(b + 5) == 1);
    CHECK(be64_get(m) == 0x1122334455667788ULL && be32_get(m + 8) == 202603 && m[12] == 1 && m[13] == 2 &&
          m[14] == 3 && be32_get(m + 15) == 1);
    CHECK(be64_get(o) == 0xa1a2a3a4a5a6a7a8ULL && o[8] == 1 && o[9] == 2 && o[10] == 1 && o[11] == 3);
    CHECK((int32_t) be32_get(o + 12) == -3 && be32_get(o + 16) == 202604);
    CHECK(be64_get(o + 20) == 0x0102030405060708ULL && o[28] == 9 && o[35] == 2);
    store_read_end(ledger_store(ledger), txn);

    r.step = 1;
    CHECK(ledger_write(ledger, s_write_record, &r) == 0);
    CHECK(store_read(ledger_store(ledger), &txn) == 0);
    CHECK(mdb_get(txn, ledger_dbi(ledger, LEDGER_DB_PARTICIPANTS), &k, &v) == MDB_NOTFOUND);
    store_read_end(ledger_store(ledger), txn);
    persons_destroy(&r.people);
    ledger_close(&ledger);
}

static void test_cellmap(void)
{
    cellmap_t *m = cellmap_new(CELL_KEY_LEN, sizeof(cell_t));
    CHECK(m);
    uint8_t key[CELL_KEY_LEN] = {0};
    enum { N = 5000 }; /* well past the first table */
    for (int round = 0; round < 2; round++) {
        for (uint32_t i = 0; i < N; i++) {
            be32_put(key + 40, i * 2654435761u);
            cell_t *c = cellmap_get(m, key);
            CHECK(c && c->n == 0 && c->ckey == 0);
            c->n = i + 1;
        }
        CHECK_EQ(cellmap_size(m), N);
        for (uint32_t i = 0; i < N; i++) {
            be32_put(key + 40, i * 2654435761u);
            CHECK(!memcmp(cellmap_key(m, i), key, CELL_KEY_LEN)); /* insertion order */
            CHECK_EQ(((cell_t *) cellmap_value(m, i))->n, i + 1);
            CHECK_EQ(((cell_t *) cellmap_get(m, key))->n, i + 1); /* found, not added */
        }
        CHECK_EQ(cellmap_size(m), N);
        cellmap_clear(m);
        CHECK_EQ(cellmap_size(m), 0);
    }
    cellmap_destroy(&m);
    cellmap_destroy(&m);
    CHECK(m == NULL);
}

static const test_case_t s_cases[] = {
    {"name hash", test_name_hash},
    {"cell state", test_cell_state},
    {"person record", test_person_record},
    {"cellmap", test_cellmap},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
