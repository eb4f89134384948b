/* fault_upgrade_test.c: a ledger written with another schema version (one
 * older than the collector can rebuild, a future one, a malformed value)
 * is refused with a clear message and a nonzero exit by the collector and
 * by finsamctl — it is never silently misread — and the store is
 * byte-for-byte unchanged afterwards. Put back to this version, it opens
 * with every event intact. A store of a schema whose log this finsam reads
 * (LEDGER_SCHEMA_REBUILDABLE up to the current one) is refused by
 * finsamctl, and the collector rebuilds its cells and participant records
 * from the log at start: whatever they held before is gone. The version is
 * patched with the LMDB API into a real ledger (meta/schema, see
 * collector/ledger.h). */
#include "fault_util.h"
#include "testutil.h"

#include "ledger.h"

#include <lmdb.h>
#include <signal.h>
#include <string.h>

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
        {"schema too old to rebuild",
         s_version_text(LEDGER_SCHEMA_REBUILDABLE - 1),
         {0, 0, 0, LEDGER_SCHEMA_REBUILDABLE - 1},
         4},
        {"future schema", s_version_text(LEDGER_SCHEMA_VERSION + 1), {0, 0, 0, LEDGER_SCHEMA_VERSION + 1}, 4},
        {"malformed schema value", "store schema version unreadable", {0, 0, 1}, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        s_patch_schema(ledger, cases[i].bytes, cases[i].len);
        uint64_t before = s_digest(data);
        snprintf(log, sizeof log, "%s/refused-%zu.log", c.dir, i);
        char *collector[] = {(char *) tu_bin("finsam-collector"),
                             "-d",
                             c.cdir,
                             "--endpoint",
                             c.endpoint,
                             "--stream-events",
                             "off",
                             "--http",
                             "off",
                             NULL};
        int rc = tu_run(collector, log, 30000);
        char *text = tu_read_file(log);
        fprintf(stderr, "%s: collector exit %d: %s", cases[i].name, rc, text ? text : "");
        CHECK(rc > 0 && rc < 128); /* refused, not crashed, not running */
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

/* The previous schema: same log, other participant records. finsamctl
 * refuses it (its cells are not ours to read); the collector rebuilds the
 * cells and participant records from the log, so a record of the old
 * layout and a cell that disagrees with the log are both gone, and the
 * store says the current schema. */
static void test_previous_schema_rebuilt(void)
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
    cluster_stop_collector(&c, SIGTERM);

    /* A participant record of the old layout (version 3: 30-byte
     * observations) and a cell one too high, under the previous schema. */
    uint8_t pkey[40] = "NV", old[9 + 30] = {3, 0, 0, 0, 0, 0, 0, 0, 1};
    memset(pkey + 8, 0xee, 32);
    s_patch(ledger, "participants", pkey, sizeof pkey, old, sizeof old, true);
    uint8_t previous[4] = {0, 0, 0, LEDGER_SCHEMA_VERSION - 1};
    s_patch_schema(ledger, previous, 4);
    CHECK(LEDGER_SCHEMA_VERSION - 1 >= LEDGER_SCHEMA_REBUILDABLE);
    uint64_t before = s_digest(data);
    snprintf(log, sizeof log, "%s/previous.log", c.dir);
    char *status[] = {(char *) tu_bin("finsamctl"), "-d", c.cdir, "status", NULL};
    CHECK_EQ(tu_run(status, log, 30000), 66);
    char *text = tu_read_file(log);
    CHECK(text && strstr(text, s_version_text(LEDGER_SCHEMA_VERSION - 1)) && strstr(text, "rebuil"));
    free(text);
    CHECK(s_digest(data) == before);

    cluster_start_collector(&c);
    text = tu_read_file(c.log);
    CHECK(text && strstr(text, "STORE-REBUILT"));
    free(text);
    CHECK_EQ(cluster_events_in_log(&c), 2000);
    CHECK_EQ(cluster_rebuild_verify(&c), 0); /* the bumped cell and the old record are gone */
    cluster_stop_collector(&c, SIGTERM);
    CHECK_EQ(s_schema(ledger), LEDGER_SCHEMA_VERSION);
    fprintf(stderr, "FIGURES fault_upgrade: previous schema %d rebuilt to %d, differences=0\n",
            LEDGER_SCHEMA_VERSION - 1, LEDGER_SCHEMA_VERSION);
}

int main(void)
{
    RUN(test_other_schema_refused);
    RUN(test_previous_schema_rebuilt);
    return tu_result();
}
