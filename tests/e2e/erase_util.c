/* erase_util.c: see erase_util.h. */
#include "erase_util.h"

#include "codec.h"
#include "fault_util.h"
#include "ledger.h"
#include "testutil.h"

#include <string.h>

void eu_marker_row(FILE *f, const char *pnr, const char *date, const char *marker, int answer)
{
    fprintf(f,
            "{\"kind\":\"participant_survey\",\"personnummer\":\"%s\",\"date\":\"%s\","
            "\"instrument\":\"deltagare_avslut\",\"mode\":\"project\",\"insats\":\"%s\","
            "\"answers\":{\"d_behov\":%d}}\n",
            pnr, date, marker, answer);
}

const char *eu_agent_config(const char *agent_dir)
{
    static char cfg[400];
    char text[512] = "[insatser]\n";
    char markers[] = EU_MARKERS;
    for (char *save, *m = strtok_r(markers, " ", &save); m; m = strtok_r(NULL, " ", &save)) {
        strcat(text, m);
        strcat(text, " = any\n");
    }
    snprintf(cfg, sizeof cfg, "%s/agent.ini", agent_dir);
    CHECK(tu_write_file(cfg, text) == 0);
    return cfg;
}

void eu_deliver(cluster_t *c, const char *agent_dir, const char *path)
{
    const char *import[] = {"-c", eu_agent_config(agent_dir), "import", path, NULL};
    CHECK_EQ(cluster_agent(c, agent_dir, 120000, import), 0);
    const char *run[] = {"run", "--exit-when-empty", NULL};
    CHECK_EQ(cluster_agent(c, agent_dir, 120000, run), 0);
}

void eu_deliver_rows(cluster_t *c, const char *agent_dir, long first, long n)
{
    char path[400];
    snprintf(path, sizeof path, "%s/rows-%ld.jsonl", agent_dir, first);
    fault_write_jsonl(path, first, n, "work");
    eu_deliver(c, agent_dir, path);
}

static ledger_t *s_open(const cluster_t *c)
{
    char path[400], err[256];
    snprintf(path, sizeof path, "%s/ledger", c->cdir);
    ledger_t *l;
    CHECK(ledger_open(&l, path, true, err, sizeof err) == 0);
    return l;
}

bool eu_find(const cluster_t *c, const char *forbund, const char *marker, int64_t before, eu_stored_t *out)
{
    ledger_t *l = s_open(c);
    MDB_txn *txn;
    CHECK(store_read(ledger_store(l), &txn) == 0);
    bool found = false;
    for (uint64_t seq = 1; !found && seq < ledger_next_seq(l); seq++) {
        const uint8_t *bytes;
        size_t len;
        CHECK(ledger_get(txn, l, seq, &bytes, &len, NULL) == 0);
        event_msg_t *ev;
        char why[160];
        CHECK(codec_decode_event(bytes, len, &ev, why, sizeof why) == 0);
        if (!strcmp(ev->forbund, forbund) && memmem(bytes, len, marker, strlen(marker)) &&
            (!before || ev->occurred_at < before)) {
            out->seq = seq;
            memcpy(out->id, ev->id.data, 16);
            out->bytes = malloc(len);
            CHECK(out->bytes);
            memcpy(out->bytes, bytes, len);
            out->len = len;
            found = true;
        }
        codec_free_event(&ev);
    }
    store_read_end(ledger_store(l), txn);
    ledger_close(&l);
    return found;
}

const char *eu_kind_at(const cluster_t *c, uint64_t seq)
{
    static char kind[32];
    ledger_t *l = s_open(c);
    MDB_txn *txn;
    CHECK(store_read(ledger_store(l), &txn) == 0);
    const uint8_t *bytes;
    size_t len;
    CHECK(ledger_get(txn, l, seq, &bytes, &len, NULL) == 0);
    event_msg_t *ev;
    char why[160];
    CHECK(codec_decode_event(bytes, len, &ev, why, sizeof why) == 0);
    snprintf(kind, sizeof kind, "%s", codec_event_kind(ev));
    codec_free_event(&ev);
    store_read_end(ledger_store(l), txn);
    ledger_close(&l);
    return kind;
}

long eu_count_data_mdb(const cluster_t *c, const void *needle, size_t len)
{
    char path[400];
    snprintf(path, sizeof path, "%s/ledger/data.mdb", c->cdir);
    return tu_count_bytes_in_file(path, needle, len);
}

void eu_check_gone(cluster_t *c, const eu_stored_t *gone, const char *marker, bool marker_live)
{
    char backup[400];
    snprintf(backup, sizeof backup, "%s/backup-%llu", c->dir, (unsigned long long) gone->seq);
    const char *args[] = {"backup", backup, NULL};
    CHECK_EQ(cluster_ctl(c, NULL, args), 0);
    CHECK_EQ(tu_count_bytes_in_tree(c->cdir, gone->bytes, gone->len), 0);
    CHECK_EQ(tu_count_bytes_in_tree(backup, gone->bytes, gone->len), 0);
    CHECK_EQ(tu_count_bytes_in_tree(c->cdir, marker, strlen(marker)) > 0, marker_live);
    CHECK_EQ(tu_count_bytes_in_tree(backup, marker, strlen(marker)) > 0, marker_live);
}

char *eu_replay_line(cluster_t *c, const char *sub, long n, uint64_t seq)
{
    char out[400];
    snprintf(out, sizeof out, "%s/replay-%llu.json", c->dir, (unsigned long long) seq);
    pid_t t = fault_tail_spawn(c, sub, 1, n, out);
    CHECK_EQ(tu_wait(t, 120000), 0);
    fault_check_tail_file(out, n, NULL, NULL, 0); /* 1..n, each once */
    char *text = tu_read_file(out), want[48];
    CHECK(text);
    snprintf(want, sizeof want, "\"seq\":%llu,", (unsigned long long) seq);
    char *line = strstr(text, want);
    CHECK(line);
    while (line > text && line[-1] != '\n')
        line--;
    char *eol = strchr(line, '\n');
    if (eol)
        *eol = '\0';
    char *copy = strdup(line);
    free(text);
    return copy;
}

typedef struct {
    const cluster_t *c;
    uint64_t seq;
} s_erased_t;

static bool s_erased(void *arg)
{
    const s_erased_t *w = arg;
    return !strcmp(eu_kind_at(w->c, w->seq), "erased") &&
           tu_count_in_file(w->c->log, "ERASE-SCRUBBED events=") > 0;
}

bool eu_wait_erased(const cluster_t *c, uint64_t seq)
{
    s_erased_t w = {c, seq};
    return tu_wait_for(s_erased, &w, 20000);
}
