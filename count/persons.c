/* persons.c: participant records in LMDB and in the transaction (see
 * persons.h for the layout). Records read in a transaction are kept in a
 * hash table by person key until persons_begin; the changed ones are
 * encoded and written at flush. */
#include "persons.h"

#include "util.h"

#include <czmq.h>
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct persons_t {
    zhashx_t *people; /* person key -> person_t */
    uint8_t secret[SECRET_LEN];
};

/* In memory only, never stored: the pseudonym is itself a keyed hash, so
 * its first bytes are uniform; the förbund is mixed in for the rare
 * pseudonym two förbund share. */
static size_t s_key_hash(const void *key)
{
    uint64_t f, p;
    memcpy(&f, key, 8);
    memcpy(&p, (const uint8_t *) key + CELL_FORBUND_LEN, 8);
    return (size_t) (p ^ (f * 0x9e3779b97f4a7c15ULL));
}
static int s_key_cmp(const void *a, const void *b)
{
    return memcmp(a, b, PERSON_KEY_LEN);
}
static void *s_key_dup(const void *key)
{
    void *p = malloc(PERSON_KEY_LEN);
    if (p)
        memcpy(p, key, PERSON_KEY_LEN);
    return p;
}
static void s_key_free(void **p)
{
    free(*p);
    *p = NULL;
}
static void s_person_free(void **p)
{
    person_t *person = *p;
    if (person) {
        free(person->members);
        free(person->obs);
        free(person);
    }
    *p = NULL;
}

persons_t *persons_new(const uint8_t secret[SECRET_LEN])
{
    persons_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->people = zhashx_new();
    if (!self->people) {
        free(self);
        return NULL;
    }
    memcpy(self->secret, secret, SECRET_LEN);
    zhashx_set_key_hasher(self->people, s_key_hash);
    zhashx_set_key_comparator(self->people, s_key_cmp);
    zhashx_set_key_duplicator(self->people, s_key_dup);
    zhashx_set_key_destructor(self->people, s_key_free);
    zhashx_set_destructor(self->people, s_person_free);
    return self;
}

void persons_destroy(persons_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy(&(*self_p)->people);
    sodium_memzero((*self_p)->secret, SECRET_LEN);
    free(*self_p);
    *self_p = NULL;
}

size_t persons_loaded(const persons_t *self)
{
    return zhashx_size(self->people);
}

void persons_begin(persons_t *self)
{
    zhashx_purge(self->people);
}

/* Decodes a stored record into p (empty). 0, MDB_CORRUPTED or ENOMEM. */
static int s_decode(person_t *p, const uint8_t *b, size_t len)
{
    uint32_t nm = len >= PERSON_RECORD_HEADER ? be32_get(b + 1) : 0,
             no = len >= PERSON_RECORD_HEADER ? be32_get(b + 5) : 0;
    if (len != PERSON_RECORD_HEADER + (size_t) nm * PERSON_MEMBER_BYTES + (size_t) no * PERSON_OBS_BYTES ||
        b[0] != PERSON_RECORD_VERSION)
        return MDB_CORRUPTED;
    p->members = calloc(nm + 1, sizeof *p->members);
    p->obs = calloc(no + 1, sizeof *p->obs);
    if (!p->members || !p->obs)
        return ENOMEM;
    p->cmembers = nm + 1;
    p->cobs = no + 1;
    const uint8_t *q = b + PERSON_RECORD_HEADER;
    for (uint32_t i = 0; i < nm; i++, q += PERSON_MEMBER_BYTES)
        p->members[p->nmembers++] =
            (person_member_t){be64_get(q), be32_get(q + 8), q[12], q[13], q[14], be32_get(q + 15)};
    for (uint32_t i = 0; i < no; i++, q += PERSON_OBS_BYTES) {
        person_obs_t *o = &p->obs[p->nobs++];
        o->measure = be64_get(q);
        o->side = q[8];
        o->who = (person_who_t){q[9], q[10], q[11]};
        o->value = (int32_t) be32_get(q + 12);
        o->month = be32_get(q + 16);
        o->order = be64_get(q + 20);
        memcpy(o->id8, q + 28, 8);
    }
    return 0;
}

int persons_load(persons_t *self, MDB_txn *txn, const ledger_t *ledger, const uint8_t *key, person_t **out)
{
    person_t *p = zhashx_lookup(self->people, key);
    if (p) {
        *out = p;
        return 0;
    }
    p = calloc(1, sizeof *p);
    if (!p)
        return ENOMEM;
    p->rk = secret_record_key(self->secret, key, PERSON_KEY_LEN);
    MDB_val k = {PERSON_KEY_LEN, (void *) key}, v;
    int rc = mdb_get(txn, ledger_dbi(ledger, LEDGER_DB_PARTICIPANTS), &k, &v);
    if (rc == 0)
        rc = s_decode(p, v.mv_data, v.mv_size);
    else if (rc == MDB_NOTFOUND)
        rc = 0;
    if (rc == 0 && zhashx_insert(self->people, key, p) != 0)
        rc = ENOMEM;
    if (rc) {
        s_person_free((void **) &p);
        return rc;
    }
    *out = p;
    return 0;
}

static int s_store(MDB_txn *txn, const ledger_t *ledger, const uint8_t *key, const person_t *p)
{
    MDB_val k = {PERSON_KEY_LEN, (void *) key};
    MDB_dbi dbi = ledger_dbi(ledger, LEDGER_DB_PARTICIPANTS);
    if (p->nmembers == 0 && p->nobs == 0) {
        int rc = mdb_del(txn, dbi, &k, NULL);
        return rc == MDB_NOTFOUND ? 0 : rc;
    }
    MDB_val v = {PERSON_RECORD_HEADER + (size_t) p->nmembers * PERSON_MEMBER_BYTES +
                     (size_t) p->nobs * PERSON_OBS_BYTES,
                 NULL};
    int rc = mdb_put(txn, dbi, &k, &v, MDB_RESERVE);
    if (rc)
        return rc;
    uint8_t *q = v.mv_data;
    q[0] = PERSON_RECORD_VERSION;
    be32_put(q + 1, p->nmembers);
    be32_put(q + 5, p->nobs);
    q += PERSON_RECORD_HEADER;
    for (uint32_t i = 0; i < p->nmembers; i++, q += PERSON_MEMBER_BYTES) {
        be64_put(q, p->members[i].measure);
        be32_put(q + 8, p->members[i].month);
        q[12] = p->members[i].mode;
        q[13] = p->members[i].gender;
        q[14] = p->members[i].age;
        be32_put(q + 15, p->members[i].refs);
    }
    for (uint32_t i = 0; i < p->nobs; i++, q += PERSON_OBS_BYTES) {
        const person_obs_t *o = &p->obs[i];
        be64_put(q, o->measure);
        q[8] = o->side;
        q[9] = o->who.mode;
        q[10] = o->who.gender;
        q[11] = o->who.age;
        be32_put(q + 12, (uint32_t) o->value);
        be32_put(q + 16, o->month);
        be64_put(q + 20, o->order);
        memcpy(q + 28, o->id8, 8);
    }
    return 0;
}

int persons_flush(persons_t *self, MDB_txn *txn, const ledger_t *ledger)
{
    for (person_t *p = zhashx_first(self->people); p; p = zhashx_next(self->people)) {
        if (!p->dirty)
            continue;
        int rc = s_store(txn, ledger, zhashx_cursor(self->people), p);
        if (rc)
            return rc;
    }
    return 0;
}

/* Where this person has contributions to measure mh: for [year, quarter,
 * month] of `month`, in each slice of PS_* (who says which mode, gender and
 * age band the slices are). */
static void s_presence(const person_t *p, uint64_t mh, uint32_t month, person_who_t who, bool in[3][PS_COUNT])
{
    memset(in, 0, sizeof(bool[3][PS_COUNT]));
    for (uint32_t i = 0; i < p->nmembers; i++) {
        const person_member_t *e = &p->members[i];
        if (e->measure != mh || e->month / 100 != month / 100)
            continue;
        bool period[3] = {true, (e->month % 100 - 1) / 3 == (month % 100 - 1) / 3, e->month == month};
        bool slice[PS_COUNT] = {true, e->mode == who.mode, e->gender == who.gender, e->age == who.age};
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < PS_COUNT; b++)
                in[a][b] |= period[a] && slice[b];
    }
}

/* Grows an array of *cap elements of size `size` to hold one more. */
static int s_reserve(void **array, uint32_t n, uint32_t *cap, size_t size)
{
    if (n < *cap)
        return 0;
    uint32_t next = *cap ? *cap * 2 : 8;
    void *a = realloc(*array, next * size);
    if (!a)
        return ENOMEM;
    *array = a;
    *cap = next;
    return 0;
}

int person_ref(person_t *p, uint64_t measure, uint32_t month, person_who_t who, int sign, int du[3][PS_COUNT])
{
    bool before[3][PS_COUNT], after[3][PS_COUNT];
    s_presence(p, measure, month, who, before);
    p->dirty = true;
    uint32_t i = 0;
    while (i < p->nmembers && !(p->members[i].measure == measure && p->members[i].month == month &&
                                p->members[i].mode == who.mode && p->members[i].gender == who.gender &&
                                p->members[i].age == who.age))
        i++;
    if (i < p->nmembers) {
        if (sign > 0)
            p->members[i].refs++;
        else if (--p->members[i].refs == 0)
            p->members[i] = p->members[--p->nmembers];
    } else if (sign > 0) {
        if (s_reserve((void **) &p->members, p->nmembers, &p->cmembers, sizeof *p->members))
            return ENOMEM;
        p->members[p->nmembers++] = (person_member_t){measure, month, who.mode, who.gender, who.age, 1};
    } /* else: never counted, nothing to undo */
    s_presence(p, measure, month, who, after);
    for (int a = 0; a < 3; a++)
        for (int b = 0; b < PS_COUNT; b++)
            du[a][b] = (int) after[a][b] - (int) before[a][b];
    return 0;
}

int person_observe(person_t *p, const person_obs_t *obs)
{
    if (s_reserve((void **) &p->obs, p->nobs, &p->cobs, sizeof *p->obs))
        return ENOMEM;
    p->obs[p->nobs++] = *obs;
    p->dirty = true;
    return 0;
}

void person_forget(person_t *p, uint64_t measure, uint8_t side, const uint8_t id8[8])
{
    p->dirty = true;
    for (uint32_t i = 0; i < p->nobs; i++)
        if (p->obs[i].measure == measure && p->obs[i].side == side && !memcmp(p->obs[i].id8, id8, 8)) {
            p->obs[i] = p->obs[--p->nobs];
            return;
        }
}
