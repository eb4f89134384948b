/* rebuild.c: `finsamctl rebuild --verify` (see rebuild.h).
 *
 * The replay (replay.h) uses the very code ingest uses, aggregate_event,
 * with the ingest-time meaning of each logged event, into a scratch store;
 * then each derived database — cells, participant records, distributions —
 * is merge-compared with the collector's. */
#include "rebuild.h"

#include "secret.h"

#include "aggregate.h"
#include "cell.h"
#include "diststore.h"
#include "persons.h"
#include "replay.h"
#include "util.h"

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <unistd.h>

#define REBUILD_CHUNK 500000
#define REBUILD_PARTS_MAX 8
#include <stdlib.h>
#include <sodium.h>
#include <string.h>
#include <time.h>

static void s_describe(char *out, size_t len, ledger_db_t db, const MDB_val *k)
{
    cell_key_t ck;
    bool dist = db == LEDGER_DB_DISTS && k->mv_size == DISTSTORE_KEY_LEN;
    if ((db == LEDGER_DB_CELLS || dist) && cell_key_decode(&ck, k->mv_data, CELL_KEY_LEN) == 0 &&
        (dist || k->mv_size == CELL_KEY_LEN)) {
        char period[16], slice[32];
        cell_period_format(period, sizeof period, ck.period);
        cell_slice_format(slice, sizeof slice, ck.slice);
        if (dist)
            snprintf(out, len, "distribution %s %s %s %s value %u", ck.measure, ck.forbund, period, slice,
                     be32_get((const uint8_t *) k->mv_data + CELL_KEY_LEN));
        else
            snprintf(out, len, "cell %s %s %s %s", ck.measure, ck.forbund, period, slice);
    } else if (db == LEDGER_DB_APPROVALS) {
        snprintf(out, len, "approval record %.8s (%zu-byte key)", (const char *) k->mv_data, k->mv_size);
    } else {
        snprintf(out, len, "participant record (%zu-byte key)", k->mv_size);
    }
}

/* Participant records (persons.h: a header, then fixed-width member and
 * observation entries) list their entries in the order the history left
 * them: an entry is removed by moving the last one into its place. An
 * erased event was added and later removed at ingest but is never added in
 * a rebuild, so the same set of entries can come out in another order.
 * Records are compared as sets: entries sorted. Anything else compares
 * byte for byte. */
#define PREC_HEADER PERSON_RECORD_HEADER
#define PREC_MEMBER PERSON_MEMBER_BYTES
#define PREC_OBS PERSON_OBS_BYTES
#define PREC_VERSION PERSON_RECORD_VERSION

static size_t s_entry_size;

static int s_entry_cmp(const void *a, const void *b)
{
    return memcmp(a, b, s_entry_size);
}

static bool s_same_record(ledger_db_t db, const MDB_val *a, const MDB_val *b)
{
    if (a->mv_size != b->mv_size)
        return false;
    if (!memcmp(a->mv_data, b->mv_data, a->mv_size))
        return true;
    const uint8_t *p = a->mv_data, *q = b->mv_data;
    size_t len = a->mv_size;
    if (db != LEDGER_DB_PARTICIPANTS || len < PREC_HEADER || p[0] != PREC_VERSION ||
        memcmp(p, q, PREC_HEADER))
        return false;
    uint64_t nm = be32_get(p + 1), no = be32_get(p + 5);
    if (len != PREC_HEADER + nm * PREC_MEMBER + no * PREC_OBS)
        return false;
    uint8_t *x = malloc(len), *y = malloc(len);
    bool same = false;
    if (x && y) {
        memcpy(x, p, len);
        memcpy(y, q, len);
        s_entry_size = PREC_MEMBER;
        qsort(x + PREC_HEADER, nm, PREC_MEMBER, s_entry_cmp);
        qsort(y + PREC_HEADER, nm, PREC_MEMBER, s_entry_cmp);
        s_entry_size = PREC_OBS;
        qsort(x + PREC_HEADER + nm * PREC_MEMBER, no, PREC_OBS, s_entry_cmp);
        qsort(y + PREC_HEADER + nm * PREC_MEMBER, no, PREC_OBS, s_entry_cmp);
        same = !memcmp(x, y, len);
    }
    free(x);
    free(y);
    return same;
}

/* Which partition replays a förbund. A förbund is one unit (its cells and
 * participant records are its own); the units go largest first, by the
 * events their agents stored, each to the least loaded partition, so one
 * large förbund does not leave the other cores idle (a hash of the name
 * gave 3 of 4 equal förbund to one of two partitions: 2.3 s and 10.3 s).
 * A förbund no agent record names falls back to a hash of its name. */
typedef struct {
    char forbund[LEDGER_FORBUND_LEN + 1];
    uint64_t events;
    int part;
} s_unit_t;

typedef struct {
    s_unit_t *units; /* sorted by name once planned */
    size_t n;
    int nparts;
} s_plan_t;

static int s_unit_by_name(const void *a, const void *b)
{
    return strcmp(((const s_unit_t *) a)->forbund, ((const s_unit_t *) b)->forbund);
}

static int s_unit_by_size(const void *a, const void *b)
{
    const s_unit_t *x = a, *y = b;
    return x->events != y->events ? (x->events < y->events ? 1 : -1) : strcmp(x->forbund, y->forbund);
}

/* The plan from the agent records of the snapshot; 0 or an error. */
static int s_plan(s_plan_t *plan, ledger_t *ledger, MDB_txn *snap, int nparts)
{
    *plan = (s_plan_t){.nparts = nparts};
    MDB_cursor *cur;
    int rc = mdb_cursor_open(snap, ledger_dbi(ledger, LEDGER_DB_AGENTS), &cur);
    if (rc)
        return rc;
    MDB_val k, v;
    size_t cap = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        char key[128];
        ledger_agent_t rec;
        if (k.mv_size >= sizeof key)
            continue;
        memcpy(key, k.mv_data, k.mv_size);
        key[k.mv_size] = 0;
        if ((rc = ledger_agent_get(snap, ledger, key, &rec)))
            break;
        char name[LEDGER_FORBUND_LEN + 1];
        snprintf(name, sizeof name, "%.*s", (int) strnlen(rec.forbund, sizeof rec.forbund), rec.forbund);
        size_t i = 0;
        while (i < plan->n && strcmp(plan->units[i].forbund, name))
            i++;
        if (i == plan->n) {
            if (plan->n == cap) {
                s_unit_t *grown = realloc(plan->units, (cap = cap ? 2 * cap : 64) * sizeof *grown);
                if (!grown) {
                    rc = ENOMEM;
                    break;
                }
                plan->units = grown;
            }
            plan->units[plan->n++] = (s_unit_t){.events = 0};
            memcpy(plan->units[i].forbund, name, sizeof name);
        }
        plan->units[i].events += rec.events_stored;
    }
    mdb_cursor_close(cur);
    if (rc && rc != MDB_NOTFOUND)
        return rc;
    uint64_t load[REBUILD_PARTS_MAX] = {0};
    if (plan->n)
        qsort(plan->units, plan->n, sizeof *plan->units, s_unit_by_size);
    for (size_t i = 0; i < plan->n; i++) {
        int least = 0;
        for (int p = 1; p < nparts; p++)
            if (load[p] < load[least])
                least = p;
        plan->units[i].part = least;
        load[least] += plan->units[i].events + 1;
    }
    if (plan->n)
        qsort(plan->units, plan->n, sizeof *plan->units, s_unit_by_name);
    return 0;
}

/* The partition of a förbund named by its first len bytes (or up to a
 * NUL). */
static int s_part_of(const s_plan_t *plan, const char *forbund, size_t len)
{
    s_unit_t key = {.part = 0};
    size_t n = 0;
    while (n < len && n < LEDGER_FORBUND_LEN && forbund[n])
        n++;
    memcpy(key.forbund, forbund, n);
    const s_unit_t *u = plan->n ? bsearch(&key, plan->units, plan->n, sizeof key, s_unit_by_name) : NULL;
    if (u)
        return u->part;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t) forbund[i]) * 16777619u;
    return (int) (h % (uint32_t) plan->nparts);
}

/* The partition a stored entry of db belongs to: by the förbund in its
 * key (cells and distributions: the cell key's; participant records:
 * their first 8 bytes). -1 for a key that names none. */
static int s_part_of_key(const s_plan_t *plan, ledger_db_t db, const MDB_val *k)
{
    if (plan->nparts == 1)
        return 0;
    if (db == LEDGER_DB_PARTICIPANTS)
        return k->mv_size >= LEDGER_FORBUND_LEN ? s_part_of(plan, k->mv_data, LEDGER_FORBUND_LEN) : -1;
    cell_key_t ck;
    if (k->mv_size < CELL_KEY_LEN || cell_key_decode(&ck, k->mv_data, CELL_KEY_LEN))
        return -1;
    return s_part_of(plan, ck.forbund, strlen(ck.forbund));
}

/* Merge-compares one database of both stores (both sorted by key): of a,
 * only the entries of partition `part` of the plan, which b holds. */
static int s_compare(ledger_t *a, MDB_txn *ta, ledger_t *b, MDB_txn *tb, ledger_db_t db, int part,
                     const s_plan_t *plan, uint64_t *count, uint64_t *diffs, FILE *out)
{
    MDB_cursor *ca, *cb;
    int rc = mdb_cursor_open(ta, ledger_dbi(a, db), &ca);
    if (rc)
        return rc;
    if ((rc = mdb_cursor_open(tb, ledger_dbi(b, db), &cb))) {
        mdb_cursor_close(ca);
        return rc;
    }
    MDB_val ka, va, kb, vb;
    int ra = mdb_cursor_get(ca, &ka, &va, MDB_FIRST), rb = mdb_cursor_get(cb, &kb, &vb, MDB_FIRST);
    while (ra == 0 || rb == 0) {
        if (ra == 0 && plan->nparts > 1 && s_part_of_key(plan, db, &ka) != part) {
            int p = s_part_of_key(plan, db, &ka);
            if (p >= 0) { /* another partition's: compared there */
                ra = mdb_cursor_get(ca, &ka, &va, MDB_NEXT);
                continue;
            }
            if (part != 0) { /* a key that names no förbund: reported once, by partition 0 */
                ra = mdb_cursor_get(ca, &ka, &va, MDB_NEXT);
                continue;
            }
        }
        int cmp = ra ? 1 : rb ? -1 : 0;
        if (ra == 0 && rb == 0) {
            size_t n = ka.mv_size < kb.mv_size ? ka.mv_size : kb.mv_size;
            cmp = memcmp(ka.mv_data, kb.mv_data, n);
            if (cmp == 0)
                cmp = (ka.mv_size > kb.mv_size) - (ka.mv_size < kb.mv_size);
        }
        char what[160];
        if (cmp == 0) {
            (*count)++;
            if (!s_same_record(db, &va, &vb)) {
                if ((*diffs)++ < 20) {
                    s_describe(what, sizeof what, db, &ka);
                    fprintf(out, "DIFFERENT %s\n", what);
                }
            }
            ra = mdb_cursor_get(ca, &ka, &va, MDB_NEXT);
            rb = mdb_cursor_get(cb, &kb, &vb, MDB_NEXT);
        } else if (cmp < 0) {
            if ((*diffs)++ < 20) {
                s_describe(what, sizeof what, db, &ka);
                fprintf(out, "ONLY-STORED %s\n", what);
            }
            ra = mdb_cursor_get(ca, &ka, &va, MDB_NEXT);
        } else {
            if ((*diffs)++ < 20) {
                s_describe(what, sizeof what, db, &kb);
                fprintf(out, "ONLY-REBUILT %s\n", what);
            }
            rb = mdb_cursor_get(cb, &kb, &vb, MDB_NEXT);
        }
    }
    mdb_cursor_close(ca);
    mdb_cursor_close(cb);
    return 0;
}

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove(path);
}

/* The snapshot's end: one past the last key in its log. */
static uint64_t s_log_end(ledger_t *ledger, MDB_txn *snap)
{
    MDB_cursor *cur;
    MDB_val k, v;
    uint64_t end = 1;
    if (mdb_cursor_open(snap, ledger_dbi(ledger, LEDGER_DB_LOG), &cur) == 0) {
        if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0)
            end = be64_get(k.mv_data) + 1;
        mdb_cursor_close(cur);
    }
    return end;
}

/* Snapshots of the log and then of the cells, such that the cells'
 * position is within the log's: the log first, so every tombstone it
 * holds was put there after the cells passed its erasure (erase.h), and
 * the cells' snapshot, taken later, passed it too. A cells snapshot ahead
 * of the log's (the aggregator applied what was appended in between) is
 * taken again. */
static int s_snapshots(ledger_t *ledger, MDB_txn **log, MDB_txn **cells, uint64_t *log_end, uint64_t *applied)
{
    for (int attempt = 0;; attempt++) {
        int rc = store_read(ledger_store(ledger), log);
        if (rc)
            return rc;
        if ((rc = ledger_cells_read(ledger, cells))) {
            store_read_end(ledger_store(ledger), *log);
            return rc;
        }
        *log_end = s_log_end(ledger, *log);
        *applied = ledger_applied(*cells, ledger);
        if (*applied < *log_end || attempt == 1000)
            return *applied < *log_end ? 0 : EAGAIN;
        ledger_cells_read_end(ledger, *cells);
        store_read_end(ledger_store(ledger), *log);
    }
}

/* One partition of the replay: the events of its förbund, into a
 * scratch store of its own, in a thread of its own. Reads the log through
 * its own snapshot; rebuild_verify checks that it holds the same erasures
 * as the snapshot the cells were compared against. */
typedef struct {
    ledger_t *source, *scratch;
    const catalogue_t *catalogue;
    const uint8_t *secret;
    const s_plan_t *plan;
    int part;
    uint64_t end_seq, events, erasures;
    uint64_t kept, high; /* events of its förbund; the last one's position */
    MDB_txn *snap;       /* NULL: the thread takes one */
    int rc;
} s_part_t;

static bool s_keep_part(const event_msg_t *ev, uint64_t seq, void *arg)
{
    s_part_t *p = arg;
    bool mine = s_part_of(p->plan, ev->forbund, strlen(ev->forbund)) == p->part;
    if (mine && seq > p->high) /* a chunk run again after the map grew sees its events again */
        p->kept++, p->high = seq;
    return mine;
}

/* The same without decoding: protobuf-c writes fields in number order, so
 * an Event starts with its id (field 1, 16 bytes), then its förbund
 * (field 2, a short string). Bytes of any other shape are decoded. */
static bool s_keep_part_bytes(const uint8_t *b, size_t len, void *arg)
{
    const s_part_t *p = arg;
    if (len < 20 || b[0] != 0x0a || b[1] != 16 || b[18] != 0x12 || b[19] >= 0x80 || 20u + b[19] > len)
        return true;
    return s_part_of(p->plan, (const char *) b + 20, b[19]) == p->part;
}

static void *s_part_run(void *arg)
{
    s_part_t *p = arg;
    replay_t r = {.source = p->source,
                  .snap = p->snap,
                  .aggregate = aggregate_new(p->catalogue, p->secret),
                  .from_seq = 1,
                  .end_seq = p->end_seq,
                  .keep = s_keep_part,
                  .keep_arg = p,
                  .chunk = REBUILD_CHUNK,
                  .keep_bytes = s_keep_part_bytes};
    bool own = !r.snap;
    p->rc = r.aggregate ? 0 : ENOMEM;
    if (p->rc == 0 && own)
        p->rc = store_read(ledger_store(p->source), &r.snap);
    if (p->rc == 0) {
        p->erasures = ledger_erasures(r.snap, p->source);
        p->rc = replay_run(&r, p->scratch, &p->events);
    }
    if (own && r.snap)
        store_read_end(ledger_store(p->source), r.snap);
    aggregate_destroy(&r.aggregate);
    return NULL;
}

int rebuild_verify(ledger_t *ledger, const catalogue_t *catalogue, rebuild_report_t *report, FILE *out,
                   char *err, size_t errlen)
{
    memset(report, 0, sizeof *report);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char dir[] = "/tmp/finsam-rebuild-XXXXXX";
    if (!mkdtemp(dir)) {
        snprintf(err, errlen, "cannot create a temporary directory");
        return -1;
    }
    int result = -1, nparts = (int) sysconf(_SC_NPROCESSORS_ONLN);
    nparts = nparts < 1 ? 1 : nparts > REBUILD_PARTS_MAX ? REBUILD_PARTS_MAX : nparts;
    ledger_t *scratch[REBUILD_PARTS_MAX] = {0};
    s_part_t parts[REBUILD_PARTS_MAX];
    pthread_t threads[REBUILD_PARTS_MAX];
    bool threads_started[REBUILD_PARTS_MAX] = {false};
    MDB_txn *cells = NULL;
    s_plan_t plan = {.nparts = nparts}, whole = {.nparts = 1};
    /* The same record keys as the collector's: the cell keys are compared too. */
    uint8_t secret[SECRET_LEN];
    bool keyed = secret_load(ledger, secret, err, errlen) == 0;
    replay_t c = {.source = ledger,
                  .aggregate = keyed ? aggregate_new(catalogue, secret) : NULL,
                  .from_seq = 1,
                  .approvals = true,
                  .approvals_only = true};
    if (!c.aggregate)
        goto cleanup;
    for (int i = 0; i < nparts; i++) {
        char sub[64];
        snprintf(sub, sizeof sub, "%s/%d", dir, i);
        if (ledger_open_scratch(&scratch[i], sub, err, errlen) != FIN_OK)
            goto cleanup;
    }
    /* Every partition reads the whole log, and the comparison the whole of
     * the cells: in the page cache before they start, not page by page as
     * they fault. */
    store_prefetch(ledger_store(ledger));
    store_prefetch(ledger_cells_store(ledger));
    uint64_t log_end, applied;
    int rc = s_snapshots(ledger, &c.snap, &cells, &log_end, &applied);
    if (rc) {
        snprintf(err, errlen, "%s", store_strerror(rc));
        goto cleanup;
    }
    report->position = applied;
    report->log_end = log_end - 1;
    /* The cells to the position the collector's cells reflect, one
     * partition of the förbund per core; meanwhile, here, the approvals,
     * kept with the log, to the log's end (into the first scratch
     * store's ledger, which no partition writes). */
    uint64_t erasures = ledger_erasures(c.snap, ledger);
    if ((rc = s_plan(&plan, ledger, c.snap, nparts))) {
        snprintf(err, errlen, "partition plan: %s", store_strerror(rc));
        goto abort_snap;
    }
    for (int i = 0; i < nparts; i++) {
        parts[i] =
            (s_part_t){ledger, scratch[i], catalogue, secret, &plan, i, applied + 1, 0, 0, 0, 0, NULL, 0};
        if (nparts > 1 && pthread_create(&threads[i], NULL, s_part_run, &parts[i]) == 0)
            threads_started[i] = true;
        else
            parts[i].rc = -1; /* run below, on the snapshot of the cells */
    }
    c.end_seq = log_end;
    uint64_t ignored;
    rc = replay_run(&c, scratch[0], &ignored);
    for (int i = 0; i < nparts; i++)
        if (threads_started[i])
            pthread_join(threads[i], NULL);
    if (rc) {
        snprintf(err, errlen, "replay at seq %llu: %s", (unsigned long long) c.from_seq, store_strerror(rc));
        goto abort_snap;
    }
    for (int i = 0; i < nparts; i++) {
        /* A partition whose snapshot saw a tombstone the compared one did
         * not (an erasure finished meanwhile), or that did not run, runs
         * again on that very snapshot, here. */
        if (parts[i].rc == 0 && parts[i].erasures == erasures)
            continue;
        if (parts[i].rc > 0) {
            rc = parts[i].rc;
            snprintf(err, errlen, "replay: %s", store_strerror(rc));
            goto abort_snap;
        }
        ledger_close(&scratch[i]);
        char sub[64];
        snprintf(sub, sizeof sub, "%s/%d-again", dir, i);
        if (ledger_open_scratch(&scratch[i], sub, err, errlen) != FIN_OK)
            goto abort_snap;
        parts[i].scratch = scratch[i];
        parts[i].snap = c.snap;
        parts[i].kept = parts[i].high = 0;
        s_part_run(&parts[i]);
        if ((rc = parts[i].rc)) {
            snprintf(err, errlen, "replay: %s", store_strerror(rc));
            goto abort_snap;
        }
    }
    report->events = applied;
    for (int i = 0; i < nparts; i++)
        report->busiest = parts[i].kept > report->busiest ? parts[i].kept : report->busiest;
    rc = 0;
    for (int i = 0; rc == 0 && i < nparts; i++) {
        MDB_txn *tsc;
        if ((rc = ledger_cells_read(scratch[i], &tsc)))
            break;
        rc = s_compare(ledger, cells, scratch[i], tsc, LEDGER_DB_CELLS, i, &plan, &report->cells,
                       &report->differences, out);
        if (rc == 0)
            rc = s_compare(ledger, cells, scratch[i], tsc, LEDGER_DB_PARTICIPANTS, i, &plan, &report->people,
                           &report->differences, out);
        if (rc == 0)
            rc = s_compare(ledger, cells, scratch[i], tsc, LEDGER_DB_DISTS, i, &plan, &report->dist_entries,
                           &report->differences, out);
        ledger_cells_read_end(scratch[i], tsc);
    }
    MDB_txn *ts;
    if (rc == 0 && (rc = store_read(ledger_store(scratch[0]), &ts)) == 0) {
        rc = s_compare(ledger, c.snap, scratch[0], ts, LEDGER_DB_APPROVALS, 0, &whole, &report->approvals,
                       &report->differences, out);
        store_read_end(ledger_store(scratch[0]), ts);
    }
    if (rc)
        snprintf(err, errlen, "compare: %s", store_strerror(rc));
    else
        result = 0;
abort_snap:
    ledger_cells_read_end(ledger, cells);
    store_read_end(ledger_store(ledger), c.snap);
cleanup:
    free(plan.units);
    sodium_memzero(secret, sizeof secret);
    for (int i = 0; i < nparts; i++)
        ledger_close(&scratch[i]);
    aggregate_destroy(&c.aggregate);
    nftw(dir, s_rm, 8, FTW_DEPTH | FTW_PHYS);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    report->seconds = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
    report->parts = nparts;
    return result;
}
