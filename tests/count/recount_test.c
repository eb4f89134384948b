/* recount_test.c: count/recount.c on real ledgers: a new store is only
 * stamped with the catalogue's fingerprint; the same catalogue, or one
 * that only relabels, recounts nothing; a catalogue that drops a measure
 * recounts the cells from the log, to exactly what counting under it from
 * the start gives; just_rebuilt only stamps. */
#include "events.h"
#include "testutil.h"

#include "aggregate.h"
#include "cell.h"
#include "recount.h"
#include "replay.h"

#include <jansson.h>
#include <string.h>

static const uint8_t s_secret[SECRET_LEN] = "recount secret, thirty-two byte";

/* The default catalogue, changed by edit (NULL: as it is). */
static catalogue_t *s_catalogue(void (*edit)(json_t *root))
{
    size_t len;
    const char *text = catalogue_default_json(&len);
    json_error_t jerr;
    json_t *root = json_loadb(text, len, 0, &jerr);
    CHECK(root);
    if (edit)
        edit(root);
    char *out = json_dumps(root, 0);
    json_decref(root);
    catalogue_t *cat = NULL;
    char err[256];
    int rc = catalogue_parse(&cat, out, strlen(out), err, sizeof err);
    if (rc)
        fprintf(stderr, "catalogue_parse: %s\n", err);
    free(out);
    CHECK_EQ(rc, 0);
    return cat;
}

static json_t *s_indicator_1(json_t *root)
{
    json_t *inds = json_object_get(root, "indicators");
    size_t i;
    json_t *ind;
    json_array_foreach(inds, i, ind) {
        json_t *ms = json_object_get(ind, "measures");
        if (json_array_size(ms) &&
            !strcmp(json_string_value(json_object_get(json_array_get(ms, 0), "id")), "i1_behov"))
            return ind;
    }
    CHECK(!"indicator of i1_behov not found");
    return NULL;
}

static void s_drop_behov(json_t *root)
{
    CHECK_EQ(json_array_remove(json_object_get(s_indicator_1(root), "measures"), 0), 0);
}

static void s_relabel_behov(json_t *root)
{
    json_t *m = json_array_get(json_object_get(s_indicator_1(root), "measures"), 0);
    CHECK_EQ(json_object_set_new(m, "sv", json_string("Nytt namn")), 0);
    CHECK_EQ(json_object_set_new(m, "en", json_string("A new name")), 0);
}

typedef struct {
    aggregate_t *agg;
    int first, count;
} s_ingest_t;

/* Survey answers to d_behov (i1_behov) from people first.., as ingest
 * stores and counts them. */
static int s_ingest_body(ledger_txn_t *lt, void *arg)
{
    s_ingest_t *in = arg;
    aggregate_begin(in->agg);
    int rc = 0;
    for (int i = in->first; i < in->first + in->count && rc == 0; i++) {
        size_t len;
        uint8_t *bytes = ev_survey((uint32_t) i, i % 2 ? "NV" : "HBS", (uint32_t) i, "deltagare_avslut",
                                   "d_behov", 1 + i % 5, 1 + i % 2, T_2026_03, &len);
        event_msg_t *ev = NULL;
        char why[64];
        CHECK_EQ(codec_decode_event(bytes, len, &ev, why, sizeof why), 0);
        uint64_t seq;
        rc = ledger_append(lt, ev->forbund, ev->id.data, bytes, len, 1, &seq);
        codec_free_event(&ev);
        free(bytes);
    }
    return rc;
}

static ledger_t *s_ledger_with_events(const catalogue_t *cat, int n)
{
    ledger_t *l = NULL;
    char err[256];
    CHECK_EQ(ledger_open(&l, tu_tempdir(), false, err, sizeof err), 0);
    if (n > 0) {
        s_ingest_t in = {aggregate_new(cat, s_secret), 1, n};
        CHECK_EQ(ledger_write(l, s_ingest_body, &in), 0);
        uint64_t applied;
        CHECK_EQ(replay_follow(l, in.agg, 0, NULL, NULL, &applied), 0);
        aggregate_destroy(&in.agg);
    }
    return l;
}

static bool s_fingerprint_is(ledger_t *l, const catalogue_t *cat)
{
    MDB_txn *txn;
    CHECK_EQ(store_read(ledger_store(l), &txn), 0);
    MDB_val k = {9, "catalogue"}, v;
    bool same = mdb_get(txn, ledger_dbi(l, LEDGER_DB_META), &k, &v) == 0 && v.mv_size == 16 &&
                !memcmp(v.mv_data, cat->fingerprint, 16);
    store_read_end(ledger_store(l), txn);
    return same;
}

/* Cells of measure `id` (any förbund, period, slice). */
static size_t s_cells_of(ledger_t *l, const char *id)
{
    MDB_txn *txn;
    CHECK_EQ(ledger_cells_read(l, &txn), 0);
    MDB_cursor *cur;
    CHECK_EQ(mdb_cursor_open(txn, ledger_dbi(l, LEDGER_DB_CELLS), &cur), 0);
    MDB_val k, v;
    size_t n = 0;
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        cell_key_t ck;
        CHECK_EQ(cell_key_decode(&ck, k.mv_data, k.mv_size), 0);
        n += !strcmp(ck.measure, id);
    }
    mdb_cursor_close(cur);
    ledger_cells_read_end(l, txn);
    return n;
}

static bool s_same_cells(ledger_t *a, ledger_t *b)
{
    MDB_txn *ta, *tb;
    CHECK_EQ(ledger_cells_read(a, &ta), 0);
    CHECK_EQ(ledger_cells_read(b, &tb), 0);
    MDB_cursor *ca, *cb;
    CHECK_EQ(mdb_cursor_open(ta, ledger_dbi(a, LEDGER_DB_CELLS), &ca), 0);
    CHECK_EQ(mdb_cursor_open(tb, ledger_dbi(b, LEDGER_DB_CELLS), &cb), 0);
    MDB_val ka, va, kb, vb;
    int ra = mdb_cursor_get(ca, &ka, &va, MDB_FIRST), rb = mdb_cursor_get(cb, &kb, &vb, MDB_FIRST);
    bool same = true;
    size_t n = 0;
    while (same && ra == 0 && rb == 0) {
        same = ka.mv_size == kb.mv_size && !memcmp(ka.mv_data, kb.mv_data, ka.mv_size) &&
               va.mv_size == vb.mv_size && !memcmp(va.mv_data, vb.mv_data, va.mv_size);
        n++;
        ra = mdb_cursor_get(ca, &ka, &va, MDB_NEXT);
        rb = mdb_cursor_get(cb, &kb, &vb, MDB_NEXT);
    }
    same = same && ra == MDB_NOTFOUND && rb == MDB_NOTFOUND;
    if (!same)
        fprintf(stderr, "cells differ after %zu\n", n);
    mdb_cursor_close(ca);
    mdb_cursor_close(cb);
    ledger_cells_read_end(a, ta);
    ledger_cells_read_end(b, tb);
    return same;
}

static int s_recount(ledger_t *l, const catalogue_t *cat, bool just_rebuilt, recount_report_t *r)
{
    char err[256] = "";
    int rc = recount_run(l, cat, s_secret, just_rebuilt, r, err, sizeof err);
    if (rc)
        fprintf(stderr, "recount_run: %s\n", err);
    return rc;
}

static void test_new_store_is_stamped(void)
{
    catalogue_t *cat = s_catalogue(NULL);
    ledger_t *l = s_ledger_with_events(cat, 0);
    CHECK(!s_fingerprint_is(l, cat));
    recount_report_t r;
    CHECK_EQ(s_recount(l, cat, false, &r), 0);
    CHECK(!r.recounted);
    CHECK(s_fingerprint_is(l, cat));
    ledger_close(&l);
    catalogue_destroy(&cat);
}

/* Cells from before the fingerprint existed: recounted once. */
static void test_unknown_fingerprint_recounts_once(void)
{
    catalogue_t *cat = s_catalogue(NULL);
    ledger_t *l = s_ledger_with_events(cat, 40);
    ledger_t *ref = s_ledger_with_events(cat, 40);
    recount_report_t r;
    CHECK_EQ(s_recount(l, cat, false, &r), 0);
    CHECK(r.recounted);
    CHECK_EQ(r.events, 40);
    CHECK(s_fingerprint_is(l, cat));
    CHECK(s_same_cells(l, ref));
    CHECK_EQ(s_recount(l, cat, false, &r), 0);
    CHECK(!r.recounted);
    ledger_close(&l);
    ledger_close(&ref);
    catalogue_destroy(&cat);
}

static void test_labels_are_not_recounted(void)
{
    catalogue_t *cat = s_catalogue(NULL), *relabelled = s_catalogue(s_relabel_behov);
    CHECK(!memcmp(cat->fingerprint, relabelled->fingerprint, 16));
    ledger_t *l = s_ledger_with_events(cat, 20);
    recount_report_t r;
    CHECK_EQ(s_recount(l, cat, false, &r), 0);
    CHECK_EQ(s_recount(l, relabelled, false, &r), 0);
    CHECK(!r.recounted);
    ledger_close(&l);
    catalogue_destroy(&cat);
    catalogue_destroy(&relabelled);
}

/* A measure dropped: its cells go, the others stay as counted under the
 * new catalogue from the start. */
static void test_changed_catalogue_recounts(void)
{
    catalogue_t *cat = s_catalogue(NULL), *fewer = s_catalogue(s_drop_behov);
    CHECK(memcmp(cat->fingerprint, fewer->fingerprint, 16) != 0);
    CHECK(catalogue_measure(fewer, "i1_behov") == NULL);
    ledger_t *l = s_ledger_with_events(cat, 50);
    recount_report_t r;
    CHECK_EQ(s_recount(l, cat, false, &r), 0); /* stamp */
    CHECK(s_cells_of(l, "i1_behov") > 0);
    CHECK_EQ(s_recount(l, fewer, false, &r), 0);
    CHECK(r.recounted);
    CHECK_EQ(r.events, 50);
    CHECK(s_fingerprint_is(l, fewer));
    CHECK_EQ(s_cells_of(l, "i1_behov"), 0);
    ledger_t *ref = s_ledger_with_events(fewer, 50);
    CHECK(s_same_cells(l, ref));
    ledger_close(&ref);
    /* And back: the measure's cells return. */
    CHECK_EQ(s_recount(l, cat, false, &r), 0);
    CHECK(r.recounted);
    ref = s_ledger_with_events(cat, 50);
    CHECK(s_same_cells(l, ref));
    ledger_close(&ref);
    ledger_close(&l);
    catalogue_destroy(&cat);
    catalogue_destroy(&fewer);
}

static void test_just_rebuilt_only_stamps(void)
{
    catalogue_t *cat = s_catalogue(NULL), *fewer = s_catalogue(s_drop_behov);
    ledger_t *l = s_ledger_with_events(cat, 10);
    recount_report_t r;
    CHECK_EQ(s_recount(l, fewer, true, &r), 0);
    CHECK(!r.recounted);
    CHECK(s_fingerprint_is(l, fewer));
    CHECK(s_cells_of(l, "i1_behov") > 0); /* untouched */
    ledger_close(&l);
    catalogue_destroy(&cat);
    catalogue_destroy(&fewer);
}

static const test_case_t s_cases[] = {
    {"a new store is stamped", test_new_store_is_stamped},
    {"an unknown fingerprint recounts once", test_unknown_fingerprint_recounts_once},
    {"labels are not recounted", test_labels_are_not_recounted},
    {"a changed catalogue recounts", test_changed_catalogue_recounts},
    {"just rebuilt only stamps", test_just_rebuilt_only_stamps},
};

int main(int argc, char **argv)
{
    CHECK(tz_stockholm_init() == 0);
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
