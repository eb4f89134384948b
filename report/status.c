/* status.c: agent and förbund status (see status.h). */
#include "status.h"

#include "approval.h"

#include "publish.h"

#include "codec.h"
#include "util.h"

#include <czmq.h>
#include <dirent.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int status_fingerprint(const char *z85, char *out, size_t len)
{
    uint8_t key[32], hash[32];
    if (!z85 || strlen(z85) != 40 || !zmq_z85_decode(key, z85) || len < 17 || sodium_init() < 0) {
        snprintf(out, len, "?");
        return -1;
    }
    crypto_generichash(hash, sizeof hash, key, sizeof key, NULL, 0);
    hex_encode(out, hash, 8);
    out[16] = '\0';
    return 0;
}

void status_name_agents(json_t *report, const char *allow_dir)
{
    json_t *by_key = json_object(); /* Z85 -> {file, name} */
    DIR *d = allow_dir ? opendir(allow_dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t n = strlen(e->d_name);
        /* What the allow-list reads (collector/allowlist.c): no dot files,
         * no secrets. */
        if (e->d_name[0] == '.' || (n > 7 && !strcmp(e->d_name + n - 7, "_secret")))
            continue;
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", allow_dir, e->d_name);
        struct stat st;
        if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
            continue;
        zcert_t *cert = zcert_load(path);
        if (!cert)
            continue;
        const char *name = zcert_meta(cert, "name");
        char stem[256];
        snprintf(stem, sizeof stem, "%s", e->d_name);
        if (n > 4 && !strcmp(stem + n - 4, ".key"))
            stem[n - 4] = '\0';
        json_object_set_new(by_key, zcert_public_txt(cert),
                            json_pack("{s:s,s:s}", "file", e->d_name, "name", name && *name ? name : stem));
        zcert_destroy(&cert);
    }
    if (d)
        closedir(d);
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(report, "agents"), i, a) {
        json_t *cert = json_object_get(by_key, json_string_value(json_object_get(a, "agent")));
        json_object_set(a, "file", cert ? json_object_get(cert, "file") : json_null());
        json_object_set(a, "name", cert ? json_object_get(cert, "name") : json_null());
        json_object_set_new(a, "listed", json_boolean(cert != NULL));
    }
    json_decref(by_key);
}

static void s_iso(char *out, size_t len, int64_t ms)
{
    time_t t = (time_t) (ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *status_report(ledger_t *ledger, int64_t now_ms)
{
    MDB_txn *txn;
    if (store_read(ledger_store(ledger), &txn))
        return NULL;
    json_t *agents = json_array(), *by_forbund = json_object();
    MDB_cursor *cur;
    if (mdb_cursor_open(txn, ledger_dbi(ledger, LEDGER_DB_AGENTS), &cur) == 0) {
        MDB_val k, v;
        for (int op = MDB_FIRST; mdb_cursor_get(cur, &k, &v, op) == 0; op = MDB_NEXT) {
            ledger_agent_t rec;
            if (v.mv_size != sizeof rec)
                continue;
            memcpy(&rec, v.mv_data, sizeof rec);
            char key[64], seen[32], fingerprint[17];
            snprintf(key, sizeof key, "%.*s", (int) k.mv_size, (const char *) k.mv_data);
            s_iso(seen, sizeof seen, rec.last_seen_ms);
            status_fingerprint(key, fingerprint, sizeof fingerprint);
            json_t *rejects = json_object();
            uint64_t total_rejects = 0;
            for (int i = 1; i < LEDGER_REJECT_SLOTS; i++)
                if (rec.rejects[i]) {
                    json_object_set_new(rejects, codec_reject_name((reject_code_t) i),
                                        json_integer((json_int_t) rec.rejects[i]));
                    total_rejects += rec.rejects[i];
                }
            json_array_append_new(
                agents, json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:I,s:s,s:I,s:I,s:I,s:o}", "forbund", rec.forbund,
                                  "agent", key, "fingerprint", fingerprint, "events_stored",
                                  (json_int_t) rec.events_stored, "duplicates", (json_int_t) rec.duplicates,
                                  "batches", (json_int_t) rec.batches, "last_batch_seq",
                                  (json_int_t) rec.last_batch_seq, "last_seen", seen, "last_seen_age_s",
                                  (json_int_t) ((now_ms - rec.last_seen_ms) / 1000), "pending_at_agent",
                                  (json_int_t) rec.queued_at_agent, "rejected", (json_int_t) total_rejects,
                                  "rejects", rejects));
            json_t *f = json_object_get(by_forbund, rec.forbund);
            if (!f) {
                f = json_pack("{s:s,s:I,s:I,s:I,s:i,s:I}", "forbund", rec.forbund, "events_stored",
                              (json_int_t) 0, "rejected", (json_int_t) 0, "queued_at_site", (json_int_t) 0,
                              "agents", 0, "last_seen_age_s", (json_int_t) -1);
                json_object_set_new(by_forbund, rec.forbund, f);
            }
            json_object_set_new(f, "events_stored",
                                json_integer(json_integer_value(json_object_get(f, "events_stored")) +
                                             (json_int_t) rec.events_stored));
            json_object_set_new(f, "rejected",
                                json_integer(json_integer_value(json_object_get(f, "rejected")) +
                                             (json_int_t) total_rejects));
            /* What its agents last said they still hold (sent with each batch). */
            json_object_set_new(f, "queued_at_site",
                                json_integer(json_integer_value(json_object_get(f, "queued_at_site")) +
                                             (json_int_t) rec.queued_at_agent));
            json_object_set_new(f, "agents",
                                json_integer(json_integer_value(json_object_get(f, "agents")) + 1));
            json_int_t age = (now_ms - rec.last_seen_ms) / 1000,
                       old = json_integer_value(json_object_get(f, "last_seen_age_s"));
            if (old < 0 || age < old)
                json_object_set_new(f, "last_seen_age_s", json_integer(age));
        }
        mdb_cursor_close(cur);
    }
    store_read_end(ledger_store(ledger), txn);
    json_t *forbund = json_array();
    const char *name;
    json_t *f;
    json_object_foreach(by_forbund, name, f)
        json_array_append(forbund, f);
    json_decref(by_forbund);
    /* What every protected output reflects (publish.h). */
    uint64_t pub_seq = 0;
    int64_t pub_ms = 0;
    uint64_t waiting = 0;
    publish_last(ledger, &pub_seq, &pub_ms, &waiting);
    uint64_t last = ledger_next_seq(ledger) - 1;
    json_t *publication = json_pack(
        "{s:I,s:I,s:I,s:I}", "seq", (json_int_t) pub_seq, "at_ms", (json_int_t) pub_ms, "events_since",
        (json_int_t) (last > pub_seq ? last - pub_seq : 0), "cells_waiting", (json_int_t) waiting);
    /* The approval state of every period, with its late data
     * (approval.h): what the year-end procedure watches. */
    char err[256];
    json_t *approvals = approval_json(ledger, NULL, 0, false, err, sizeof err);
    json_t *periods = approvals ? json_incref(json_object_get(approvals, "periods")) : json_array();
    json_decref(approvals);
    /* The position the cells reflect: they follow the log beside ingest
     * (collector/aggregator.h); the lag is what they still have to apply. */
    uint64_t cells = ledger_applied_now(ledger);
    json_t *aggregation = json_pack("{s:I,s:I}", "cells_seq", (json_int_t) cells, "lag",
                                    (json_int_t) (last > cells ? last - cells : 0));
    return json_pack("{s:I,s:o,s:o,s:o,s:o,s:o}", "events_in_log", (json_int_t) last, "aggregation",
                     aggregation, "forbund", forbund, "agents", agents, "publication", publication,
                     "approvals", periods);
}

void status_print_table(const json_t *report, FILE *out)
{
    const json_t *pub = json_object_get(report, "publication");
    fprintf(out, "events in log: %lld\n",
            (long long) json_integer_value(json_object_get(report, "events_in_log")));
    const json_t *agg = json_object_get(report, "aggregation");
    if (agg)
        fprintf(out, "indicator cells: up to event %lld (%lld events still to count)\n",
                (long long) json_integer_value(json_object_get(agg, "cells_seq")),
                (long long) json_integer_value(json_object_get(agg, "lag")));
    json_int_t pub_ms = json_integer_value(json_object_get(pub, "at_ms"));
    if (pub_ms > 0) {
        char when[32];
        time_t t = (time_t) (pub_ms / 1000);
        struct tm tm;
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %Z", localtime_r(&t, &tm));
        fprintf(out, "published figures: up to event %lld, at %s (%lld events since)\n\n",
                (long long) json_integer_value(json_object_get(pub, "seq")), when,
                (long long) json_integer_value(json_object_get(pub, "events_since")));
    } else {
        fprintf(out, "published figures: none yet (the collector publishes at start and every "
                     "--publish-interval)\n\n");
    }
    /* Headers say what they count; an agent is named by its certificate
     * (name and file in the allow-list) and a key fingerprint. */
    fprintf(out, "%-9s %-20s %-22s %-16s %13s %10s %8s %13s %-20s %14s %8s  %s\n", "FÖRBUND",
            /* Ö is two bytes */ "AGENT (CERT NAME)", "FILE IN agents/", "KEY FINGERPRINT", "EVENTS STORED",
            "DUPLICATES", "BATCHES", "LAST BATCH NO", "LAST SEEN (UTC)", "QUEUED AT SITE", "REJECTED",
            "REJECTED BY REASON");
    size_t i;
    json_t *a;
    json_array_foreach(json_object_get(report, "agents"), i, a) {
        char reasons[256] = "";
        const char *k;
        json_t *v;
        size_t len = 0;
        json_object_foreach(json_object_get(a, "rejects"), k, v) {
            len += (size_t) snprintf(reasons + len, len < sizeof reasons ? sizeof reasons - len : 0,
                                     "%s%s=%lld", len ? "," : "", k, (long long) json_integer_value(v));
        }
        const char *name = json_string_value(json_object_get(a, "name"));
        const char *file = json_string_value(json_object_get(a, "file"));
        const char *fingerprint = json_string_value(json_object_get(a, "fingerprint"));
        fprintf(out, "%-8s %-20s %-22s %-16s %13lld %10lld %8lld %13lld %-20s %14lld %8lld  %s\n",
                json_string_value(json_object_get(a, "forbund")), name ? name : "(not listed)",
                file ? file : "-", fingerprint ? fingerprint : "?",
                (long long) json_integer_value(json_object_get(a, "events_stored")),
                (long long) json_integer_value(json_object_get(a, "duplicates")),
                (long long) json_integer_value(json_object_get(a, "batches")),
                (long long) json_integer_value(json_object_get(a, "last_batch_seq")),
                json_string_value(json_object_get(a, "last_seen")),
                (long long) json_integer_value(json_object_get(a, "pending_at_agent")),
                (long long) json_integer_value(json_object_get(a, "rejected")), reasons[0] ? reasons : "-");
    }
    const json_t *periods = json_object_get(report, "approvals");
    if (json_array_size(periods))
        fprintf(out, "\napprovals (finsamctl approval list):\n");
    json_array_foreach(periods, i, a) {
        bool locked = json_is_true(json_object_get(a, "locked"));
        fprintf(out, "%-8s %-8s %-10s", json_string_value(json_object_get(a, "forbund")),
                json_string_value(json_object_get(a, "period")),
                json_string_value(json_object_get(a, "state")));
        if (locked)
            fprintf(out, " locked at event %lld, late data: %lld event(s)",
                    (long long) json_integer_value(json_object_get(a, "lock_seq")),
                    (long long) json_integer_value(json_object_get(a, "late_events")));
        fprintf(out, "\n");
    }
}
