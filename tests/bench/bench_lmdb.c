/* bench_lmdb.c: the raw storage baseline — what a durable LMDB write of
 * finsam's write set costs on this disk, with no decoding, validation or
 * catalogue work.
 *
 * Per event, inside transactions of --commit events, committed
 * synchronously (the default; every commit is an fsync):
 *   log     be64 seq -> 9-byte header + --size bytes   (MDB_APPEND)
 *   dedupe  16-byte id -> be64 seq                     (MDB_NOOVERWRITE)
 *           --keys time: 4-byte big-endian day number, then 12 random
 *           bytes (the agents' layout); --keys random: 16 random bytes
 *   cells   --cells cell deltas (46-byte keys: measure, förbund, period,
 *           slice) gathered per transaction and read-modify-written once
 *           per distinct cell at commit, as aggregate.c does
 *   participants (with --participants): one read-modify-write of a
 *           40-byte förbund+pseudonym key (random) with a --person-bytes
 *           record (default 1100: the mean in a demo ledger) per event,
 *           as aggregate.c keeps per-person reference counts
 * Events advance over 730 days like the demo's two years.
 *
 *   bench_lmdb --dir DIR --events N --commit C --cells K --size S --keys time|random [--participants]
 *              [--writemap] [--then-rate R --then-count M [--reopen]]
 * Prints: events_per_s=... commits_per_s=...
 *
 * --writemap opens the environment as the collector opens its log
 * (MDB_WRITEMAP: commits write in the map, msync makes them durable).
 * --then-rate/--then-count: after the N events, M more, one per
 * transaction (an ack of a single-event batch) at R a second, each
 * commit's time measured: the same-run baseline of the send->ack latency
 * right after a burst (in this process, as the collector that took the
 * burst) and, with --reopen, with the environment closed and opened again
 * first (as a collector started on that ledger). Adds lat_p50_ms=
 * lat_p99_ms= lat_max_ms=. */
#include "bench.h"

#include <unistd.h>

#include <lmdb.h>
#include <stdio.h>
#include <sys/stat.h>

#define KEYLEN 46
#define CELLBYTES 176 /* sizeof(cell_t): 22 int64 */
#define SLOTS 65536

typedef struct {
    uint8_t key[KEYLEN];
    int64_t n, sum;
    int used;
} s_delta_t;

static s_delta_t *s_slots;
static int s_used[SLOTS], s_nused;

static void s_add(const uint8_t key[KEYLEN], int64_t value)
{
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < KEYLEN; i++)
        h = (h ^ key[i]) * 1099511628211ULL;
    size_t i = h & (SLOTS - 1);
    while (s_slots[i].used && memcmp(s_slots[i].key, key, KEYLEN))
        i = (i + 1) & (SLOTS - 1);
    if (!s_slots[i].used) {
        s_slots[i].used = 1;
        memcpy(s_slots[i].key, key, KEYLEN);
        s_slots[i].n = s_slots[i].sum = 0;
        s_used[s_nused++] = (int) i;
    }
    s_slots[i].n++;
    s_slots[i].sum += value;
}

static void s_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t) v;
}

#define CHECK_MDB(expr)                                                                                      \
    do {                                                                                                     \
        int _rc = (expr);                                                                                    \
        if (_rc) {                                                                                           \
            fprintf(stderr, "bench_lmdb: %s: %s\n", #expr, mdb_strerror(_rc));                               \
            exit(1);                                                                                         \
        }                                                                                                    \
    } while (0)

/* Opens (creating) the environment in dir with its four databases:
 * dbi[0..3] = log, dedupe, cells, participants. */
static MDB_env *s_open(const char *dir, unsigned flags, size_t mapsize, MDB_dbi dbi[4])
{
    static const char *const names[4] = {"log", "dedupe", "cells", "participants"};
    MDB_env *env;
    MDB_txn *txn;
    CHECK_MDB(mdb_env_create(&env));
    CHECK_MDB(mdb_env_set_maxdbs(env, 8));
    CHECK_MDB(mdb_env_set_mapsize(env, mapsize));
    CHECK_MDB(mdb_env_open(env, dir, flags, 0600));
    CHECK_MDB(mdb_txn_begin(env, NULL, 0, &txn));
    for (int i = 0; i < 4; i++)
        CHECK_MDB(mdb_dbi_open(txn, names[i], MDB_CREATE, &dbi[i]));
    CHECK_MDB(mdb_txn_commit(txn));
    return env;
}

int main(int argc, char **argv)
{
    const char *dir = bench_opt(argc, argv, "--dir", NULL);
    long events = bench_opt_long(argc, argv, "--events", 200000);
    long commit = bench_opt_long(argc, argv, "--commit", 500);
    long ncells = bench_opt_long(argc, argv, "--cells", 30);
    long size = bench_opt_long(argc, argv, "--size", 150);
    int random_keys = !strcmp(bench_opt(argc, argv, "--keys", "time"), "random");
    int participants = bench_flag(argc, argv, "--participants");
    long person_bytes = bench_opt_long(argc, argv, "--person-bytes", 1100);
    unsigned flags = bench_flag(argc, argv, "--writemap") ? MDB_WRITEMAP : 0;
    long then_rate = bench_opt_long(argc, argv, "--then-rate", 0);
    long then_count = bench_opt_long(argc, argv, "--then-count", 0);
    size_t mapsize = (size_t) bench_opt_long(argc, argv, "--map-mib", 8192) << 20;
    int reopen = bench_flag(argc, argv, "--reopen");
    uint8_t *rec = calloc(1, (size_t) person_bytes);
    if (!dir) {
        fprintf(stderr, "usage: bench_lmdb --dir DIR [--events N] [--commit C] [--cells K] [--size S] "
                        "[--keys time|random] [--participants]\n");
        return 64;
    }
    mkdir(dir, 0700);
    s_slots = calloc(SLOTS, sizeof *s_slots);
    MDB_dbi dbi[4];
    MDB_env *env = s_open(dir, flags, mapsize, dbi);
    MDB_dbi dlog = dbi[0], ddedupe = dbi[1], dcells = dbi[2], dpeople = dbi[3];
    MDB_txn *txn;

    uint8_t *value = calloc(1, (size_t) size + 9);
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    for (long i = 0; i < size + 9; i++)
        value[i] = (uint8_t) bench_rand(&seed);
    long people = events / 4 > 0 ? events / 4 : 1;
    const long nmeasures = 80; /* measure x slice combinations; ~240 distinct cells per month */
    long per_period = ncells <= 0 ? 0 : ncells / 3 > 0 ? ncells / 3 : 1; /* --cells 0: log + dedupe only */
    long commits = 0;
    double t0 = bench_now();
    for (long base = 0; base < events; base += commit) {
        CHECK_MDB(mdb_txn_begin(env, NULL, 0, &txn));
        s_nused = 0;
        long end = base + commit < events ? base + commit : events;
        for (long e = base; e < end; e++) {
            uint8_t seqkey[8], id[16];
            s_be(seqkey, (uint64_t) e + 1, 8);
            MDB_val k = {8, seqkey}, v = {(size_t) size + 9, value};
            CHECK_MDB(mdb_put(txn, dlog, &k, &v, MDB_APPEND));
            uint32_t day = 20000 + (uint32_t) (e * 730 / events);
            uint64_t r1 = bench_rand(&seed), r2 = bench_rand(&seed);
            memcpy(id, &r1, 8);
            memcpy(id + 8, &r2, 8);
            if (!random_keys)
                s_be(id, day, 4);
            k = (MDB_val){16, id};
            v = (MDB_val){8, seqkey};
            CHECK_MDB(mdb_put(txn, ddedupe, &k, &v, MDB_NOOVERWRITE));
            /* cell deltas: `per_period` measures x (year, quarter, month) */
            int month = (int) ((day - 20000) / 30), forbund = 0; /* one agent = one förbund */
            long m0 = (long) (r2 % (uint64_t) nmeasures);
            for (long c = 0; c < per_period; c++) {
                for (int p = 0; p < 3; p++) {
                    uint8_t key[KEYLEN] = {0};
                    snprintf((char *) key, 32, "measure_%02ld", (m0 + c) % nmeasures);
                    key[32] = (uint8_t) ('A' + forbund);
                    s_be(key + 40,
                         (uint64_t) (p == 0   ? month / 12
                                     : p == 1 ? 100 + month / 3
                                              : 200 + month),
                         4);
                    s_add(key, (int64_t) (r1 % 5));
                }
            }
            if (participants) {
                uint8_t pkey[40] = {0};
                uint64_t who = bench_rand(&seed) % (uint64_t) people, ps = who * 0x9e3779b97f4a7c15ULL + 1;
                pkey[0] = (uint8_t) ('A' + forbund);
                for (int i = 8; i < 40; i += 8) {
                    uint64_t x = bench_rand(&ps);
                    memcpy(pkey + i, &x, 8);
                }
                k = (MDB_val){40, pkey};
                int rc = mdb_get(txn, dpeople, &k, &v);
                if (rc == 0 && v.mv_size == (size_t) person_bytes)
                    memcpy(rec, v.mv_data, (size_t) person_bytes);
                else
                    memset(rec, 0, (size_t) person_bytes);
                rec[0]++;
                v = (MDB_val){(size_t) person_bytes, rec};
                CHECK_MDB(mdb_put(txn, dpeople, &k, &v, 0));
            }
        }
        for (int i = 0; i < s_nused; i++) {
            s_delta_t *d = &s_slots[s_used[i]];
            int64_t cell[CELLBYTES / 8] = {0};
            MDB_val k = {KEYLEN, d->key}, v;
            if (mdb_get(txn, dcells, &k, &v) == 0 && v.mv_size == CELLBYTES)
                memcpy(cell, v.mv_data, CELLBYTES);
            cell[0] += d->n;
            cell[1] += d->sum;
            v = (MDB_val){CELLBYTES, cell};
            CHECK_MDB(mdb_put(txn, dcells, &k, &v, 0));
            d->used = 0;
        }
        CHECK_MDB(mdb_txn_commit(txn)); /* synchronous: fsync */
        commits++;
    }
    double secs = bench_now() - t0;
    printf("events_per_s=%.0f commits_per_s=%.0f seconds=%.3f events=%ld commit=%ld cells=%ld keys=%s "
           "participants=%d",
           (double) events / secs, (double) commits / secs, secs, events, commit, ncells,
           random_keys ? "random" : "time", participants);
    if (then_rate > 0 && then_count > 0) {
        if (reopen) {
            mdb_env_close(env);
            env = s_open(dir, flags, mapsize, dbi);
            dlog = dbi[0], ddedupe = dbi[1];
        }
        double *lat = calloc((size_t) then_count, sizeof *lat), start = bench_now();
        for (long j = 0; j < then_count; j++) {
            double due = start + (double) j / (double) then_rate;
            while (bench_now() < due)
                usleep(50);
            double a = bench_now();
            uint8_t seqkey[8], id[16];
            s_be(seqkey, (uint64_t) (events + j) + 1, 8);
            uint64_t r1 = bench_rand(&seed), r2 = bench_rand(&seed);
            memcpy(id, &r1, 8);
            memcpy(id + 8, &r2, 8);
            s_be(id, 20000 + 730, 4);
            CHECK_MDB(mdb_txn_begin(env, NULL, 0, &txn));
            MDB_val k = {8, seqkey}, v = {(size_t) size + 9, value};
            CHECK_MDB(mdb_put(txn, dlog, &k, &v, MDB_APPEND));
            k = (MDB_val){16, id};
            v = (MDB_val){8, seqkey};
            CHECK_MDB(mdb_put(txn, ddedupe, &k, &v, MDB_NOOVERWRITE));
            CHECK_MDB(mdb_txn_commit(txn));
            lat[j] = (bench_now() - a) * 1e3;
        }
        qsort(lat, (size_t) then_count, sizeof *lat, bench_cmp_double);
        printf(" lat_p50_ms=%.3f lat_p99_ms=%.3f lat_max_ms=%.3f", lat[then_count / 2],
               lat[(size_t) ((double) then_count * 0.99)], lat[then_count - 1]);
        free(lat);
    }
    printf("\n");
    mdb_env_close(env);
    free(value);
    free(rec);
    free(s_slots);
    return 0;
}
