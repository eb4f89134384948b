/* persons.h: participant records — what the counting remembers of each
 * person (förbund + pseudonym) so that `units` counts distinct people
 * exactly, also under retraction, and paired measures form episodes.
 *
 * A record holds the person's reference counts per (measure, month, mode,
 * gender, age band) — "members" — and their observations of paired
 * measures. It lives in the `participants` database (ledger.h), keyed by
 * the 40-byte person key; one record is read and written per person per
 * transaction, however many of their events it holds. Measures are named
 * by their keyed 64-bit hash (aggregate.c, secret_name_hash), not by id,
 * to keep records small.
 *
 * Record layout (version 5, ledger schema 6), integers big-endian:
 *   [u8 5][be32 nmembers][be32 nobs], then the members, then the
 *   observations, each of fixed width:
 *   member       be64 measure hash, be32 month yyyymm, u8 mode, u8 gender,
 *                u8 age band, be32 reference count            (19 bytes)
 *   observation  be64 measure hash, u8 side, u8 mode, u8 gender, u8 age
 *                band, be32 value (two's complement), be32 month yyyymm,
 *                be64 order, 8 bytes of the event id          (36 bytes)
 * Version 4 (schema 5) had the same layout with FNV-1a measure hashes;
 * such a store is migrated (migrate.h), never read here. Entries have no
 * order: one is removed by moving the last into its place. */
#ifndef FINSAM_PERSONS_H
#define FINSAM_PERSONS_H

#include "cell.h"
#include "codec.h"
#include "ledger.h"
#include "secret.h"

#include <stdbool.h>
#include <stdint.h>

#define PERSON_KEY_LEN (CELL_FORBUND_LEN + CODEC_PSEUDONYM_LEN)
#define PERSON_RECORD_VERSION 5
#define PERSON_RECORD_HEADER 9
#define PERSON_MEMBER_BYTES 19
#define PERSON_OBS_BYTES 36

/* The slices a participant's contribution lands in, by index. */
enum { PS_ALL, PS_MODE, PS_GENDER, PS_AGE, PS_COUNT };

typedef struct {
    uint8_t mode, gender, age; /* 0 = not given */
} person_who_t;

/* A person's contributions to one measure in one month, with the insats
 * mode, gender and age band of those events. Distinct counts for quarters,
 * years and every slice are derived from these (a person is in a quarter's
 * "gender=woman" cell if any entry of its months says woman), so one entry
 * serves up to twelve cells. */
typedef struct {
    uint64_t measure; /* keyed hash of the measure id */
    uint32_t month;   /* yyyymm */
    uint8_t mode, gender, age;
    uint32_t refs;
} person_member_t;

/* One observation of a side of a paired measure. */
typedef struct {
    uint64_t measure; /* keyed hash of the measure id */
    uint8_t side;     /* 0 = from, 1 = to */
    person_who_t who; /* the slices the observation names */
    int32_t value;
    uint32_t month; /* yyyymm it occurred */
    uint64_t order; /* log position of its first report (aggregate_origin) */
    uint8_t id8[8]; /* first 8 bytes of the event id: what a retraction names */
} person_obs_t;

typedef struct {
    person_member_t *members;
    uint32_t nmembers, cmembers;
    person_obs_t *obs;
    uint32_t nobs, cobs;
    uint32_t rk; /* record key (secret.h), from förbund + pseudonym */
    bool dirty;
} person_t;

/* The records a transaction has read, by person key. */
typedef struct persons_t persons_t;

/* secret: the ledger's secret, copied (record keys). NULL if out of memory. */
persons_t *persons_new(const uint8_t secret[SECRET_LEN]);
void persons_destroy(persons_t **self_p);

/* Forgets the records read (a new or retried transaction). */
void persons_begin(persons_t *self);

/* How many records this transaction has read (each is written back at
 * flush: a measure of the transaction's size). */
size_t persons_loaded(const persons_t *self);

/* The record of person `key` (PERSON_KEY_LEN bytes), read inside txn the
 * first time in a transaction (an empty record when there is none). *out
 * is owned by self until persons_begin. Returns 0, ENOMEM, MDB_CORRUPTED
 * for a record of another version or length, or an LMDB error. */
int persons_load(persons_t *self, MDB_txn *txn, const ledger_t *ledger, const uint8_t *key, person_t **out);

/* Writes every changed record (an empty one is deleted). 0 or an LMDB
 * error. */
int persons_flush(persons_t *self, MDB_txn *txn, const ledger_t *ledger);

/* Adds sign to this person's contributions to (measure, month, who) and
 * sets du[period][slice] to the change in each cell's distinct units
 * (+1, -1 or 0) for [year, quarter, month] of `month`. 0 or ENOMEM. */
int person_ref(person_t *p, uint64_t measure, uint32_t month, person_who_t who, int sign,
               int du[3][PS_COUNT]);

/* Appends an observation. 0 or ENOMEM. */
int person_observe(person_t *p, const person_obs_t *obs);

/* Removes the observation of (measure, side) that event id8 made, if any. */
void person_forget(person_t *p, uint64_t measure, uint8_t side, const uint8_t id8[8]);

#endif
