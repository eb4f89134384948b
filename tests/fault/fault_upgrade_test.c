/* fault_upgrade_test.c: a ledger written with a schema version this
 * release cannot read (one older than the previous, a future one, a
 * malformed value) is refused with a clear message and a nonzero exit by
 * the collector and by finsamctl — it is never silently misread — and the
 * store is byte-for-byte unchanged afterwards. Put back to this version, it
 * opens with every event intact. A ledger of the previous schema is
 * refused by the collector and by finsamctl's commands with the advice to
 * run `finsamctl -d DIR migrate`, and the migration (count/migrate.h) is
 * crash-safe: killed with SIGKILL at several moments, the store holds the
 * previous schema or a migration cut short, which the next `migrate`
 * finishes; then its derived state is the log's (a participant record of
 * the old version and a cell that disagrees with the log are gone),
 * rebuild --verify finds 0 differences and the exact numbers are those of
 * before. The version is patched with the LMDB API into a real ledger
 * (meta/schema, see count/ledger.h); the previous schema's state is
 * imitated by giving every participant record the old record version.
 * tests/ctl/migrate_test migrates a ledger the previous release wrote. */
#include "fault_util.h"
#include "testutil.h"

#include "cell.h"
#include "ledger.h"

#include <lmdb.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

/* "store schema version N", as the collector says it. */
static const char *s_version_text(int version)
{
    static char buf[2][48];
    static int next;
    char *p = buf[next++ % 2];
    snprintf(p, 48, "store schema version %d", version);
    return p;
}

/* Writes value (len bytes) under key in database `db` of the ledger at
 * dir; with `bump_first_cell`, also adds 1 to the count of the first cell
 * (a stale derived state). */
static void s_patch(const char *dir, const char *db, const void *key, size_t keylen, const void *value,
                    size_t len, bool bump_first_cell)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    CHECK(mdb_env_create(&env) == 0);
    CHECK(mdb_env_set_maxdbs(env, 16) == 0);
    CHECK(mdb_env_open(env, dir, 0, 0600) == 0);
    CHECK(mdb_txn_begin(env, NULL, 0, &txn) == 0);
    CHECK(mdb_dbi_open(txn, db, 0, &dbi) == 0);
    MDB_val k = {keylen, (void *) key}, v = {len, (void *) value};
    CHECK(mdb_put(txn, dbi, &k, &v, 0) == 0);
    if (bump_first_cell) {
        MDB_cursor *cur;
        CHECK(mdb_dbi_open(txn, "cells", 0, &dbi) == 0);
        CHECK(mdb_cursor_open(txn, dbi, &cur) == 0);
        CHECK(mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0);
        uint8_t cell[4096];
        CHECK(v.mv_size <= sizeof cell && v.mv_size >= 8);
        memcpy(cell, v.mv_data, v.mv_size);
        int64_t n;
        memcpy(&n, cell, 8);
        n++;
        memcpy(cell, &n, 8);
        v.mv_data = cell;
        CHECK(mdb_cursor_put(cur, &k, &v, MDB_CURRENT) == 0);
        mdb_cursor_close(cur);
    }
    CHECK(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
}

/* Writes meta/schema = value (len bytes) into the ledger at dir. */
static void s_patch_schema(const char *dir, const void *value, size_t len)
{
    s_patch(dir, "meta", "schema", 6, value, len, false);
}

/* meta/schema of the ledger at dir. */
static uint32_t s_schema(const char *dir)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi meta;
    CHECK(mdb_env_create(&env) == 0);
    CHECK(mdb_env_set_maxdbs(env, 16) == 0);
    CHECK(mdb_env_open(env, dir, MDB_RDONLY, 0600) == 0);
    CHECK(mdb_txn_begin(env, NULL, MDB_RDONLY, &txn) == 0);
    CHECK(mdb_dbi_open(txn, "meta", 0, &meta) == 0);
    MDB_val k = {6, "schema"}, v;
    CHECK(mdb_get(txn, meta, &k, &v) == 0 && v.mv_size == 4);
    const uint8_t *b = v.mv_data;
    uint32_t version = (uint32_t) b[0] << 24 | (uint32_t) b[1] << 16 | (uint32_t) b[2] << 8 | b[3];
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return version;
}

/* FNV-1a of a whole file, to show it is unchanged. */
static uint64_t s_digest(const char *path)
{
    FILE *f = fopen(path, "rb");
    CHECK(f);
    uint64_t h = 1469598103934665603ULL;
    int ch;
    while ((ch = getc(f)) != EOF)
        h = (h ^ (uint64_t) ch) * 1099511628211ULL;
    fclose(f);
    return h;
}

/* The collector's command line on c's data directory, without the
 * streams and HTTP (the refusals happen before either). */
static char *const *s_collector_argv(cluster_t *c)
{
    static char *argv[10];
    char *const a[] = {(char *) tu_bin("finsam-collector"),
                       "-d",
                       c->cdir,
                       "--endpoint",
                       c->endpoint,
                       "--stream-events",
                       "off",
                       "--http",
                       "off",
                       NULL};
    memcpy(argv, a, sizeof a);
    return argv;
}

static void test_other_schema_refused(void)
{
    fault_seed("fault_upgrade_test");
    cluster_t c;
    cluster_init(&c);
    char agent[320], ledger[400], data[420], log[400];
    cluster_add_agent(&c, "nv", "NV", true, agent, sizeof agent);
    snprintf(ledger, sizeof ledger, "%s/ledger", c.cdir);
    snprintf(data, sizeof data, "%s/data.mdb", ledger);
    cluster_start_collector(&c);
    const char *fill[] = {"demo", "--events", "2000", "--exit-when-empty", NULL};
    CHECK_EQ(cluster_agent(&c, agent, 120000, fill), 0);
    CHECK_EQ(cluster_events_in_log(&c), 2000);
    cluster_stop_collector(&c, SIGTERM);

    struct {
        const char *name, *want;
        uint8_t bytes[4];
        size_t len;
    } cases[] = {
        {"older schema",
         s_version_text(LEDGER_SCHEMA_PREVIOUS - 1),
         {0, 0, 0, LEDGER_SCHEMA_PREVIOUS - 1},
         4},
        {"future schema", s_version_text(LEDGER_SCHEMA_VERSION + 1), {0, 0, 0, LEDGER_SCHEMA_VERSION + 1}, 4},
        {"malformed schema value", "store schema version unreadable", {0, 0, 1}, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        s_patch_schema(ledger, cases[i].bytes, cases[i].len);
        uint64_t before = s_digest(data);
        snprintf(log, sizeof log, "%s/refused-%zu.log", c.dir, i);
        char *const *collector = s_collector_argv(&c);
        int rc = tu_run(collector, log, 30000);
        char *text = tu_read_file(log);
        fprintf(stderr, "%s: collector exit %d: %s", cases[i].name, rc, text ? text : "");
        CHECK_EQ(rc, 65); /* refused as another schema (EX_DATAERR), not crashed, not running */
        CHECK(text && strstr(text, cases[i].want) && strstr(text, "refusing to open it"));
        free(text);
        /* The operator's tool refuses it too, instead of reading it. */
        char *status[] = {(char *) tu_bin("finsamctl"), "-d", c.cdir, "status", NULL};
        CHECK_EQ(tu_run(status, log, 30000), 66);
        char *verify[] = {(char *) tu_bin("finsamctl"), "-d", c.cdir, "rebuild", "--verify", NULL};
        CHECK(tu_run(verify, log, 30000) != 0);
        text = tu_read_file(log);
        CHECK(text && strstr(text, "finsamctl:") && strstr(text, cases[i].want));
        free(text);
        CHECK(s_digest(data) == before); /* nothing was changed */
    }
    /* Back to this version: everything is there and consistent. */
    uint8_t current[4] = {0, 0, 0, LEDGER_SCHEMA_VERSION};
    s_patch_schema(ledger, current, 4);
    cluster_start_collector(&c);
    CHECK_EQ(cluster_events_in_log(&c), 2000);
    CHECK_EQ(cluster_rebuild_verify(&c), 0);
    cluster_stop_collector(&c, SIGTERM);
    fprintf(stderr, "FIGURES fault_upgrade: cases=3 refused=3 store_changed=0 events_intact=2000\n");
}

/* Makes the ledger at dir look like one of the previous schema: version
 * 5, participant records of version 4 (in the cells environment, where
 * this release keeps them). Returns the records changed. */
static int s_make_previous(const char *dir)
{
    uint8_t v5[4] = {0, 0, 0, LEDGER_SCHEMA_PREVIOUS};
    s_patch(dir, "meta", "schema", 6, v5, 4, false);
    char cells[500];
    snprintf(cells, sizeof cells, "%s/cells", dir);
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi people;
    CHECK(mdb_env_create(&env) == 0);
    CHECK(mdb_env_set_maxdbs(env, 16) == 0);
    CHECK(mdb_env_open(env, cells, 0, 0600) == 0);
    CHECK(mdb_txn_begin(env, NULL, 0, &txn) == 0);
    CHECK(mdb_dbi_open(txn, "participants", 0, &people) == 0);
    MDB_val k, v;
    MDB_cursor *cur;
    CHECK(mdb_cursor_open(txn, people, &cur) == 0);
    int changed = 0;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        uint8_t rec[65536];
        CHECK(v.mv_size > 0 && v.mv_size <= sizeof rec);
        memcpy(rec, v.mv_data, v.mv_size);
        rec[0] = 4; /* the record version of schema 5 */
        MDB_val nv = {v.mv_size, rec};
        CHECK(mdb_cursor_put(cur, &k, &nv, MDB_CURRENT) == 0);
        changed++;
    }
    mdb_cursor_close(cur);
    CHECK(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
    return changed;
}

static void test_previous_schema_migrated(void)
{
    fault_seed("fault_upgrade_test_previous");
    cluster_t c;
    cluster_init(&c);
    char agent[320], ledger[400], data[420], log[400];
    cluster_add_agent(&c, "nv", "NV", true, agent, sizeof agent);
    snprintf(ledger, sizeof ledger, "%s/ledger", c.cdir);
    snprintf(data, sizeof data, "%s/data.mdb", ledger);
    cluster_start_collector(&c);
    const char *fill[] = {"demo", "--events", "2000", "--exit-when-empty", NULL};
    CHECK_EQ(cluster_agent(&c, agent, 120000, fill), 0);
    cluster_stop_collector(&c, SIGTERM);
    const char *query[] = {"query", "--exact", "--format", "json", "--measure", "i3_dagar_i_insats", NULL};
    const char *paired[] = {"query", "--exact", "--format", "json", "--measure", "7", NULL};
    char *before = NULL, *before_paired = NULL;
    CHECK_EQ(cluster_ctl(&c, &before, query), 0);
    CHECK_EQ(cluster_ctl(&c, &before_paired, paired), 0);
    /* A cell one too high, then the rest of the previous schema. */
    uint8_t pkey[40] = "NV", old[9] = {4};
    memset(pkey + 8, 0xee, 32);
    char cells_dir[420];
    snprintf(cells_dir, sizeof cells_dir, "%s/cells", ledger);
    s_patch(cells_dir, "participants", pkey, sizeof pkey, old, sizeof old, true);
    CHECK(s_make_previous(ledger) > 1);
    uint64_t digest = s_digest(data);

    /* Neither the collector nor finsamctl's other commands read a store of
     * the previous schema: they name the migration, and change nothing. */
    snprintf(log, sizeof log, "%s/previous.log", c.dir);
    char want[600];
    snprintf(want, sizeof want, "`finsamctl -d %s migrate`", c.cdir);
    char *const *collector = s_collector_argv(&c);
    int rc = tu_run(collector, log, 30000);
    CHECK_EQ(rc, 65); /* EX_DATAERR: run finsamctl migrate */
    CHECK(tu_file_has(log, want) && tu_file_has(log, "store schema version 5"));
    char *status[] = {(char *) tu_bin("finsamctl"), "-d", c.cdir, "status", NULL};
    CHECK_EQ(tu_run(status, log, 30000), 66);
    CHECK(tu_file_has(log, want));
    char *verify[] = {(char *) tu_bin("finsamctl"), "-d", c.cdir, "rebuild", "--verify", NULL};
    CHECK(tu_run(verify, log, 30000) != 0);
    CHECK(tu_file_has(log, want));
    CHECK(s_digest(data) == digest);

    /* Killed at several moments: the previous schema or a migration cut
     * short, never anything a reader would take for migrated. */
    char *migrate[] = {(char *) tu_bin("finsamctl"), "-d", c.cdir, "migrate", NULL};
    static const int delays_ms[] = {1, 5, 15, 30, 60};
    int cut_short = 0;
    for (size_t i = 0; i < sizeof delays_ms / sizeof *delays_ms; i++) {
        pid_t pid = tu_spawn(migrate, log);
        usleep((useconds_t) delays_ms[i] * 1000);
        tu_kill(pid, SIGKILL);
        tu_wait(pid, 30000);
        uint32_t schema = s_schema(ledger);
        CHECK(schema == LEDGER_SCHEMA_PREVIOUS || schema == LEDGER_SCHEMA_MIGRATING ||
              schema == LEDGER_SCHEMA_VERSION);
        if (schema == LEDGER_SCHEMA_VERSION)
            break;
        cut_short += schema == LEDGER_SCHEMA_MIGRATING;
        if (schema == LEDGER_SCHEMA_MIGRATING) {
            CHECK_EQ(tu_run(collector, log, 30000), 65);
            CHECK(tu_file_has(log, "was cut short") && tu_file_has(log, want));
        }
    }
    /* A migration cut short is imitated too, whatever the kills hit. */
    uint8_t migrating[4] = {0, 0, (LEDGER_SCHEMA_MIGRATING >> 8) & 0xff, LEDGER_SCHEMA_MIGRATING & 0xff};
    if (s_schema(ledger) != LEDGER_SCHEMA_VERSION)
        s_patch_schema(ledger, migrating, 4);
    CHECK_EQ(tu_run(migrate, log, 120000), 0);
    CHECK(tu_file_has(log, "migrate:"));
    CHECK_EQ(s_schema(ledger), LEDGER_SCHEMA_VERSION);
    /* Once more: nothing to do. */
    CHECK_EQ(tu_run(migrate, log, 30000), 0);
    CHECK(tu_file_has(log, "nothing to do"));

    /* The derived state is the log's: the bumped cell and the old records
     * are gone, and the exact numbers are those of before. */
    CHECK_EQ(cluster_rebuild_verify(&c), 0);
    char *after = NULL, *after_paired = NULL;
    CHECK_EQ(cluster_ctl(&c, &after, query), 0);
    CHECK_EQ(cluster_ctl(&c, &after_paired, paired), 0);
    json_t *a = json_loads(before, 0, NULL), *b = json_loads(after, 0, NULL);
    CHECK(a && b && json_equal(a, b)); /* the same exact medians and quartiles as before */
    CHECK(strstr(after, "\"median_days\"") && strstr(after, "\"q1_days\""));
    json_decref(a);
    json_decref(b);
    a = json_loads(before_paired, 0, NULL), b = json_loads(after_paired, 0, NULL);
    CHECK(a && b && json_equal(a, b)); /* paired measures: episodes from the new hashes */
    json_decref(a);
    json_decref(b);
    free(before);
    free(after);
    free(before_paired);
    free(after_paired);
    /* The collector starts on it and counts on. */
    cluster_start_collector(&c);
    CHECK_EQ(cluster_events_in_log(&c), 2000);
    cluster_stop_collector(&c, SIGTERM);
    fprintf(stderr,
            "FIGURES fault_upgrade: previous schema migrated, kills=%zu cut_short=%d events=2000 "
            "rebuild_differences=0\n",
            sizeof delays_ms / sizeof *delays_ms, cut_short);
}

static const test_case_t s_cases[] = {
    {"another schema refused", test_other_schema_refused},
    {"the previous schema migrated", test_previous_schema_migrated},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
