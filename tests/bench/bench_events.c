/* bench_events.c: facts about the events an agent would send, read from
 * its outbox (filled with `finsam-agent demo --no-send`):
 *
 *   bench_events --outbox DIR [--max N] [--cells N] [--pgcopy FILE --batch B]
 *
 * Always prints the count and the mean/min/max encoded size (the size the
 * transport baseline uses). --cells N: runs the first N events one at a time
 * through finsam's own aggregation (aggregate.c, scratch ledger) and prints
 * the mean number of cells an event changes (the cell count the storage
 * baseline uses). --cpu: one core's rates for all events read (--max):
 * decode_per_s (codec_decode_event of each) and aggregate_per_s (decoded
 * events through aggregate_event and one flush, all in one transaction of
 * a scratch ledger in memory, no log): the work every event costs the
 * aggregator and `rebuild`, with no I/O — a same-run bound for them.
 * --pgcopy: writes a psql script that COPYs every event into the
 * PostgreSQL peer's table in transactions of B rows. */
#include "aggregate.h"
#include "protect.h"
#include "bench.h"
#include "catalogue.h"
#include "codec.h"
#include "ledger.h"
#include "outbox.h"
#include "util.h"

#include <stdio.h>
#include <unistd.h>

typedef struct {
    uint8_t **bytes;
    size_t *len;
    size_t n, cap;
} s_events_t;

static int s_collect(uint64_t seq, const uint8_t *bytes, size_t len, void *arg)
{
    s_events_t *e = arg;
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 4096;
        e->bytes = realloc(e->bytes, e->cap * sizeof *e->bytes);
        e->len = realloc(e->len, e->cap * sizeof *e->len);
    }
    e->bytes[e->n] = malloc(len);
    memcpy(e->bytes[e->n], bytes, len);
    e->len[e->n++] = len;
    return 0;
}

typedef struct {
    aggregate_t *agg;
    event_msg_t *ev;
    long changed;
} s_one_t;

static void s_changed(const uint8_t *key, size_t keylen, const void *state, size_t statelen, void *arg)
{
    ((s_one_t *) arg)->changed++;
}

static int s_apply(ledger_txn_t *lt, void *arg)
{
    s_one_t *o = arg;
    o->changed = 0;
    aggregate_begin(o->agg);
    int rc = aggregate_event(o->agg, lt, o->ev, lt->next_seq, +1);
    return rc ? rc : aggregate_flush(o->agg, lt, s_changed, o);
}

typedef struct {
    aggregate_t *agg;
    event_msg_t **evs;
    size_t n;
} s_all_t;

/* Every event in one transaction, then one flush. */
static int s_apply_all(ledger_txn_t *lt, void *arg)
{
    s_all_t *a = arg;
    aggregate_begin(a->agg);
    int rc = 0;
    for (size_t i = 0; i < a->n && rc == 0; i++)
        if (a->evs[i])
            rc = aggregate_event(a->agg, lt, a->evs[i], i + 1, +1);
    return rc ? rc : aggregate_flush(a->agg, lt, NULL, NULL);
}

/* A scratch ledger with the embedded catalogue, in a temporary directory
 * (dir: a mkdtemp template, filled in). 0, or 70 with the reason said. */
static int s_scratch_open(char *dir, catalogue_t **cat, ledger_t **ledger)
{
    char err[256] = "cannot create a temporary directory";
    *cat = NULL;
    *ledger = NULL;
    if (!mkdtemp(dir) || catalogue_load(cat, NULL, err, sizeof err) < 0 ||
        ledger_open_scratch(ledger, dir, err, sizeof err) != FIN_OK) {
        fprintf(stderr, "bench_events: scratch ledger: %s\n", err);
        return 70;
    }
    return 0;
}

static void s_scratch_close(const char *dir, catalogue_t **cat, ledger_t **ledger)
{
    ledger_close(ledger);
    catalogue_destroy(cat);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "bench_events: could not remove %s\n", dir);
}

/* --cpu: decode_per_s and aggregate_per_s on one core (see the top). */
static int s_cpu(const s_events_t *e)
{
    char tmp[] = "/tmp/bench-cpu-XXXXXX";
    catalogue_t *cat;
    ledger_t *ledger;
    int src = s_scratch_open(tmp, &cat, &ledger);
    if (src)
        return src;
    event_msg_t **evs = calloc(e->n + 1, sizeof *evs);
    double t0 = bench_now();
    for (size_t i = 0; i < e->n; i++) {
        char why[160];
        if (codec_decode_event(e->bytes[i], e->len[i], &evs[i], why, sizeof why) != 0)
            evs[i] = NULL;
    }
    double t1 = bench_now();
    static const uint8_t secret[SECRET_LEN] = {1};
    s_all_t all = {aggregate_new(cat, secret), evs, e->n};
    int rc = ledger_cells_write(ledger, s_apply_all, &all);
    double t2 = bench_now();
    printf(" decode_per_s=%.0f aggregate_per_s=%.0f", (double) e->n / (t1 - t0),
           rc ? 0.0 : (double) e->n / (t2 - t1));
    for (size_t i = 0; i < e->n; i++)
        codec_free_event(&evs[i]);
    free(evs);
    aggregate_destroy(&all.agg);
    s_scratch_close(tmp, &cat, &ledger);
    return 0;
}

static void s_hex(FILE *f, const uint8_t *p, size_t n)
{
    fputs("\\x", f); /* bytea hex input; CSV mode does not treat \ as an escape */
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%02x", p[i]);
}

static void s_answers(FILE *f, Finsam__V1__Answer **a, size_t n)
{
    fputs("\"{", f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s\"\"%s\"\":%d", i ? "," : "", a[i]->item, a[i]->value);
    fputs("}\"", f);
}

static int s_pgcopy(const s_events_t *e, const char *path, long batch)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    for (size_t i = 0; i < e->n; i++) {
        if (i % (size_t) batch == 0)
            fputs(i ? "\\.\nCOPY events FROM STDIN WITH (FORMAT csv);\n"
                    : "COPY events FROM STDIN WITH (FORMAT csv);\n",
                  f);
        event_msg_t *ev = NULL;
        char why[160];
        if (codec_decode_event(e->bytes[i], e->len[i], &ev, why, sizeof why) != 0)
            continue;
        time_t t = (time_t) ev->occurred_at;
        struct tm tm;
        gmtime_r(&t, &tm);
        char when[32];
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S+00", &tm);
        /* id,forbund,occurred_at,kind,pseudonym,mode,phase,occupation,income,answers,raw */
        s_hex(f, ev->id.data, ev->id.len);
        fprintf(f, ",%s,%s,%s,", ev->forbund, when, codec_event_kind(ev));
        switch (ev->body_case) {
        case FINSAM__V1__EVENT__BODY_PARTICIPANT_SURVEY:
            s_hex(f, ev->participant_survey->pseudonym.data, ev->participant_survey->pseudonym.len);
            fprintf(f, ",%d,,,,", ev->participant_survey->mode);
            s_answers(f, ev->participant_survey->answers, ev->participant_survey->n_answers);
            break;
        case FINSAM__V1__EVENT__BODY_STATUS:
            s_hex(f, ev->status->pseudonym.data, ev->status->pseudonym.len);
            fprintf(f, ",%d,%d,%d,%d,", ev->status->mode, ev->status->phase, ev->status->occupation,
                    ev->status->income);
            break;
        case FINSAM__V1__EVENT__BODY_STAFF_SURVEY:
            fprintf(f, ",%d,,,,", ev->staff_survey->mode);
            s_answers(f, ev->staff_survey->answers, ev->staff_survey->n_answers);
            break;
        case FINSAM__V1__EVENT__BODY_ORGANISATION:
            fputs(",,,,,", f);
            s_answers(f, ev->organisation->answers, ev->organisation->n_answers);
            break;
        default: fputs(",,,,,", f); break;
        }
        fputc(',', f);
        s_hex(f, e->bytes[i], e->len[i]);
        fputc('\n', f);
        codec_free_event(&ev);
    }
    if (e->n)
        fputs("\\.\n", f);
    return fclose(f);
}

int main(int argc, char **argv)
{
    const char *dir = bench_opt(argc, argv, "--outbox", NULL);
    long ncells = bench_opt_long(argc, argv, "--cells", 0);
    const char *pgcopy = bench_opt(argc, argv, "--pgcopy", NULL);
    long batch = bench_opt_long(argc, argv, "--batch", 500);
    long max = bench_opt_long(argc, argv, "--max", 1L << 40);
    if (!dir) {
        fprintf(stderr, "usage: bench_events --outbox DIR [--max N] [--cells N] [--pgcopy FILE --batch B]\n");
        return 64;
    }
    tz_stockholm_init();
    outbox_t *ob;
    int rc = outbox_open(&ob, dir, NULL, 0);
    if (rc) {
        fprintf(stderr, "bench_events: %s: %s\n", dir, fin_strerror(rc));
        return 74;
    }
    s_events_t e = {0};
    outbox_peek(ob, 0, (size_t) max, s_collect, &e);
    outbox_close(&ob);
    size_t sum = 0, mn = (size_t) -1, mx = 0;
    for (size_t i = 0; i < e.n; i++) {
        sum += e.len[i];
        mn = e.len[i] < mn ? e.len[i] : mn;
        mx = e.len[i] > mx ? e.len[i] : mx;
    }
    printf("events=%zu mean_bytes=%.0f min_bytes=%zu max_bytes=%zu", e.n,
           e.n ? (double) sum / (double) e.n : 0, e.n ? mn : 0, mx);
    if (ncells > 0) {
        char tmp[] = "/tmp/bench-cells-XXXXXX";
        catalogue_t *cat;
        ledger_t *ledger;
        if ((rc = s_scratch_open(tmp, &cat, &ledger)))
            return rc;
        static const uint8_t secret[SECRET_LEN] = {1};
        s_one_t one = {aggregate_new(cat, secret), NULL, 0};
        long total = 0, counted = 0;
        for (size_t i = 0; i < e.n && counted < ncells; i++) {
            char why[160];
            if (codec_decode_event(e.bytes[i], e.len[i], &one.ev, why, sizeof why) != 0)
                continue;
            if (ledger_cells_write(ledger, s_apply, &one) == 0) {
                total += one.changed;
                counted++;
            }
            codec_free_event(&one.ev);
        }
        printf(" cells_per_event=%.1f", counted ? (double) total / (double) counted : 0);
        aggregate_destroy(&one.agg);
        s_scratch_close(tmp, &cat, &ledger);
    }
    if (bench_flag(argc, argv, "--cpu") && (rc = s_cpu(&e)) != 0)
        return rc;
    printf("\n");
    if (pgcopy && s_pgcopy(&e, pgcopy, batch) != 0) {
        perror("bench_events: pgcopy");
        return 74;
    }
    for (size_t i = 0; i < e.n; i++)
        free(e.bytes[i]);
    free(e.bytes);
    free(e.len);
    return 0;
}
