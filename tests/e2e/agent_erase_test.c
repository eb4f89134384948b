/* agent_erase_test.c: `finsam-agent erase` end to end with a real
 * collector, agent and finsamctl on 127.0.0.1 (agents/erasure.c,
 * collector/ingest.c and erase.c): a row sent by mistake and delivered is
 * erased from the site; the agent delivers the Erasure, the collector puts
 * a tombstone at the event's log position, rebuild --verify finds no
 * difference, and no copy of the event's bytes stays in the collector's
 * data directory, a backup, or the agent's outbox. An event erased before
 * it was delivered never reaches the collector, whose answer to the
 * Erasure is then unknown_target. */
#include "cluster.h"
#include "codec.h"
#include "erase_util.h"
#include "fault_util.h"
#include "store.h"
#include "testutil.h"
#include "util.h"

#include <signal.h>
#include <string.h>

/* `finsam-agent -d AGENT erase HEX`: exit status, stdout in *out. */
static int s_erase(const char *agent, const char *hex, char **out)
{
    char *argv[] = {(char *) tu_bin("finsam-agent"), "-d", (char *) agent, "erase", (char *) hex, NULL};
    int rc = tu_capture(argv, out, 60000);
    fprintf(stderr, "finsam-agent erase %s -> %d: %s", hex, rc, *out ? *out : "\n");
    return rc;
}

static long s_in_outbox(const char *agent, const void *needle, size_t len)
{
    char path[400];
    snprintf(path, sizeof path, "%s/outbox/data.mdb", agent);
    return tu_count_bytes_in_file(path, needle, len);
}

/* The queued event holding marker, read from the agent's outbox (LMDB,
 * agents/outbox.h: queue be64 seq -> encoded Event) beside the agent. */
static void s_queued_id(const char *agent, const char *marker, char hex[33])
{
    char path[400];
    snprintf(path, sizeof path, "%s/outbox", agent);
    static const store_db_t dbs[] = {{"queue", 0}};
    store_t *st;
    CHECK_EQ(store_open(&st, path, dbs, 1, STORE_READONLY), 0);
    MDB_txn *txn;
    MDB_cursor *cur;
    CHECK_EQ(store_read(st, &txn), 0);
    CHECK_EQ(mdb_cursor_open(txn, store_dbi(st, 0), &cur), 0);
    MDB_val k, v;
    bool found = false;
    while (!found && mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0) {
        if (!memmem(v.mv_data, v.mv_size, marker, strlen(marker)))
            continue;
        event_msg_t *ev;
        char why[160];
        CHECK(codec_decode_event(v.mv_data, v.mv_size, &ev, why, sizeof why) == 0);
        hex_encode(hex, ev->id.data, 16);
        codec_free_event(&ev);
        found = true;
    }
    mdb_cursor_close(cur);
    store_read_end(st, txn);
    store_close(&st);
    CHECK(found);
}

/* rows: n status rows, the marker row, n more. */
static void s_rows(const char *path, const char *marker, long n)
{
    FILE *f = fopen(path, "w");
    CHECK(f);
    fault_write_status_rows(f, 1, n, "work");
    eu_marker_row(f, "19850312-1231", "2025-06-14", marker, 4);
    fault_write_status_rows(f, n + 1, n, "work");
    CHECK(fclose(f) == 0);
}

static void test_erase_delivered_event(void)
{
    cluster_t c;
    cluster_init(&c);
    char nv[320], sub[400], path[400];
    cluster_add_agent(&c, "nv", "NV", true, nv, sizeof nv);
    fault_subscriber_key(&c, sub, sizeof sub);
    cluster_start_collector(&c);
    snprintf(path, sizeof path, "%s/export-nv.jsonl", c.dir); /* outside the agent's data */
    s_rows(path, "ZZAGENTZZ", 300);
    eu_deliver(&c, nv, path);
    CHECK_EQ(cluster_events_in_log(&c), 601);
    eu_stored_t x;
    CHECK(eu_find(&c, "NV", "ZZAGENTZZ", 0, &x));
    /* Acknowledged: nothing of it stays at the site. */
    CHECK_EQ(s_in_outbox(nv, x.bytes, x.len), 0);
    CHECK_EQ(s_in_outbox(nv, "ZZAGENTZZ", 9), 0);

    /* Staff erase it; the agent delivers the Erasure. */
    char hex[33], *out = NULL;
    hex_encode(hex, x.id, 16);
    CHECK_EQ(s_erase(nv, hex, &out), 0);
    CHECK(out && strstr(out, "found=gone") && strstr(out, "added=1"));
    free(out);
    CHECK_EQ(fault_agent_counts(&c, nv).queued, 1);
    const char *run[] = {"run", "--exit-when-empty", NULL};
    CHECK_EQ(cluster_agent(&c, nv, 120000, run), 0);
    CHECK_EQ(cluster_events_in_log(&c), 602);
    fault_agent_counts_t n = fault_agent_counts(&c, nv);
    CHECK(n.queued == 0 && n.rejected == 0);

    /* At the centre: the tombstone at the event's position, the Erasure
     * after it, the bytes scrubbed, the cells as a rebuild computes them. */
    CHECK(eu_wait_erased(&c, x.seq));
    CHECK(!strcmp(eu_kind_at(&c, 602), "erasure"));
    CHECK_EQ(tu_count_in_file(c.log, "ERASE-SCRUBBED events=1 "), 1);
    eu_check_gone(&c, &x, "ZZAGENTZZ", false);
    CHECK_EQ(cluster_rebuild_verify(&c), 0);
    char *line = eu_replay_line(&c, sub, 602, x.seq);
    fprintf(stderr, "replay: %s\n", line);
    CHECK(strstr(line, "\"topic\":\"ev.NV.erased\"") && strstr(line, hex) && strstr(line, "\"by_seq\":602"));
    CHECK(!strstr(line, "pseudonym") && !strstr(line, "answers"));
    free(line);
    line = eu_replay_line(&c, sub, 602, 602);
    CHECK(strstr(line, "\"topic\":\"ev.NV.erasure\"") && strstr(line, hex) && !strstr(line, "by_operator"));
    free(line);

    /* Again: nothing added, nothing sent. */
    CHECK_EQ(s_erase(nv, hex, &out), 0);
    CHECK(out && strstr(out, "added=0"));
    free(out);
    CHECK_EQ(fault_agent_counts(&c, nv).queued, 0);
    CHECK_EQ(cluster_agent(&c, nv, 120000, run), 0);
    CHECK_EQ(cluster_events_in_log(&c), 602);
    /* Life goes on, and the bytes stay gone on both sides. */
    eu_deliver_rows(&c, nv, 1001, 500);
    CHECK_EQ(cluster_events_in_log(&c), 1102);
    CHECK_EQ(eu_count_data_mdb(&c, x.bytes, x.len), 0);
    CHECK_EQ(s_in_outbox(nv, x.bytes, x.len), 0);
    CHECK_EQ(s_in_outbox(nv, "ZZAGENTZZ", 9), 0);
    CHECK_EQ(cluster_rebuild_verify(&c), 0);
    cluster_stop_collector(&c, SIGTERM);
    free(x.bytes);
}

static void test_erase_before_delivery(void)
{
    cluster_t c;
    cluster_init(&c);
    char nv[320], path[400];
    cluster_add_agent(&c, "nv", "NV", true, nv, sizeof nv);
    cluster_start_collector(&c);
    snprintf(path, sizeof path, "%s/export-nv.jsonl", c.dir);
    s_rows(path, "ZZQUEUEDZZ", 300);
    const char *import[] = {"-c", eu_agent_config(nv), "import", path, NULL};
    CHECK_EQ(cluster_agent(&c, nv, 120000, import), 0);
    char hex[33], *out = NULL;
    s_queued_id(nv, "ZZQUEUEDZZ", hex);
    CHECK_EQ(s_in_outbox(nv, "ZZQUEUEDZZ", 10), 1);

    CHECK_EQ(s_erase(nv, hex, &out), 0);
    CHECK(out && strstr(out, "found=queued") && strstr(out, "added=1"));
    free(out);
    CHECK_EQ(s_in_outbox(nv, "ZZQUEUEDZZ", 10), 0);
    /* 600 rows and the Erasure, which is sent anyway: the event might have
     * been in flight. The collector never had it, so it refuses the
     * Erasure, and the agent keeps that answer. */
    CHECK_EQ(fault_agent_counts(&c, nv).queued, 601);
    const char *run[] = {"run", "--exit-when-empty", NULL};
    CHECK_EQ(cluster_agent(&c, nv, 120000, run), 0);
    CHECK_EQ(cluster_events_in_log(&c), 600);
    fault_agent_counts_t n = fault_agent_counts(&c, nv);
    CHECK(n.queued == 0 && n.rejected == 1);
    char *argv[] = {(char *) tu_bin("finsam-agent"), "-d", nv, "status", NULL};
    CHECK_EQ(tu_capture(argv, &out, 30000), 0);
    CHECK(out && strstr(out, "code=unknown_target"));
    free(out);
    CHECK_EQ(tu_count_bytes_in_tree(c.cdir, "ZZQUEUEDZZ", 10), 0);
    CHECK_EQ(s_in_outbox(nv, "ZZQUEUEDZZ", 10), 0);
    CHECK_EQ(cluster_rebuild_verify(&c), 0);
    cluster_stop_collector(&c, SIGTERM);
}

static const test_case_t s_cases[] = {
    {"erase a delivered event", test_erase_delivered_event},
    {"erase before delivery", test_erase_before_delivery},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
