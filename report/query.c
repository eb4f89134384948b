/* query.c: cells to visible numbers (see query.h for the disclosure rules).
 *
 * For one measure all cells of the requested period kind are loaded (every
 * slice, every förbund) with their län and national roll-ups (table.c),
 * suppression is decided over that whole table (suppress.c, interval.c)
 * before the requested slice is printed: complementary suppression needs
 * the siblings a reader could subtract, not just the rows shown. This file
 * turns the table's rows into the answer: published values, quantiles
 * (dists.c), withheld shares, comparisons, and the public API. */
#include "query.h"

#include "cell.h"
#include "compare.h"
#include "dists.h"
#include "protect.h"
#include "publish.h"
#include "suppress.h"
#include "table.h"
#include "util.h"

#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The state a row publishes: exact for the operator's exact view and for
 * organisation reports (not personal data), perturbed otherwise. */
static void s_published(const query_t *q, const cat_measure_t *m, bool personal, const table_row_t *r,
                        cell_t *out)
{
    if (q->exact)
        *out = r->cell;
    else
        protect_cell(q->protect, m, personal, &r->cell, out);
}

/* The row's values into o. Returns false (and adds nothing but n and
 * units) when a share is withheld: every other value of the row — mean,
 * sd, median, interval, change — could give it back. The operator's exact
 * view withholds nothing. */
static bool s_values_json(json_t *o, const cat_measure_t *m, const cell_values_t *cv,
                          const cell_quantiles_t *cq, bool exact)
{
    json_object_set_new(o, "n", json_integer(cv->n));
    json_object_set_new(o, "units", json_integer(cv->units));
    if (cv->n == 0)
        return false;
    if (!exact && !m->organisation && cat_measure_has_share(m) && !table_share_ok(cv)) {
        json_object_set_new(o, "withheld", json_string("share of 0 % or 100 % on fewer than 10"));
        return false;
    }
    switch (m->aggregate) {
    case AGG_ORDINAL:
        json_object_set_new(o, "mean", json_real(cv->mean));
        json_object_set_new(o, "sd", json_real(cv->sd));
        json_object_set_new(o, "ci95", json_pack("[f,f]", cv->ci_low, cv->ci_high));
        if (cq->has_median)
            json_object_set_new(o, "median", json_real(cq->median));
        if (cat_measure_has_share(m))
            json_object_set_new(o, "share_top", json_real(cv->share));
        break;
    case AGG_SHARE_YES:
    case AGG_SHARE_SUSTAINED: {
        json_object_set_new(o, "share", json_real(cv->share));
        /* Wilson's score interval from the published share and n: a
         * reader could compute it from those two, so it tells nothing new,
         * and it stays inside [0, 1] where n is small. */
        double z = COMPARE_Z975, nn = (double) cv->n, p = cv->share, z2n = z * z / nn;
        double centre = (p + z2n / 2) / (1 + z2n);
        double half = z / (1 + z2n) * sqrt(p * (1 - p) / nn + z2n / (4 * nn));
        json_object_set_new(o, "ci95",
                            json_pack("[f,f]", centre - half > 0 ? centre - half : 0.0,
                                      centre + half < 1 ? centre + half : 1.0));
        break;
    }
    case AGG_SUM:
        json_object_set_new(o, "sum", json_integer(cv->sum));
        json_object_set_new(o, "mean", json_real(cv->mean));
        break;
    case AGG_MEDIAN_DAYS:
        /* Whole days (whole weeks when protected): integers. */
        if (cq->has_median)
            json_object_set_new(o, "median_days", json_integer((json_int_t) cq->median));
        if (cq->has_quartiles) {
            json_object_set_new(o, "q1_days", json_integer((json_int_t) cq->q1));
            json_object_set_new(o, "q3_days", json_integer((json_int_t) cq->q3));
        }
        json_object_set_new(o, "mean_days", json_real(cv->mean));
        json_object_set_new(o, "share_within_30_days", json_real(cv->share));
        break;
    case AGG_PAIRED_CHANGE:
        json_object_set_new(o, "mean_change", json_real(cv->mean));
        json_object_set_new(o, "ci95", json_pack("[f,f]", cv->ci_low, cv->ci_high));
        json_object_set_new(o, "share_improved", json_real(cv->share));
        break;
    case AGG_RATIO:
        /* A share of insatser: reports giving both numbers (n), the
         * parts over the totals (cell.h: hits and sum). */
        json_object_set_new(o, "numerator", json_integer(cv->hits));
        json_object_set_new(o, "denominator", json_integer(cv->sum));
        if (cv->sum <= 0)
            return false; /* no insatser: no share, nothing to compare */
        json_object_set_new(o, "share", json_real(cv->share));
        break;
    }
    return true;
}

/* The rows a row is compared with (compare.h), NULL where there is none:
 * the previous period, the same period a year earlier, and for an "all"
 * row its two mode rows. */
typedef struct {
    const table_row_t *prev, *year_before, *integrated, *project;
} s_peers_t;

/* The values row r publishes if a comparison may use them: r is shown,
 * has n > 0 and does not withhold its share (what could a withheld share
 * be but previous value + change?). */
static bool s_peer_values(const query_t *q, const cat_measure_t *m, bool personal, const table_row_t *r,
                          cell_values_t *out)
{
    if (!r || r->suppressed || r->absent)
        return false;
    cell_t pub;
    s_published(q, m, personal, r, &pub);
    cell_values(m, &pub, 0, out);
    return out->n > 0 &&
           !(!q->exact && !m->organisation && cat_measure_has_share(m) && !table_share_ok(out)) &&
           !(m->aggregate == AGG_RATIO && out->sum <= 0); /* no insatser: no share to compare */
}

static json_t *s_row_json(const query_t *q, const cat_measure_t *m, bool personal, dists_t *parts,
                          const table_row_t *r, const s_peers_t *peers)
{
    static const char *const levels[] = {"forbund", "lan", "nation"};
    char period[16], slice[32];
    cell_period_format(period, sizeof period, r->period);
    cell_slice_format(slice, sizeof slice, r->slice);
    json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:b}", "level", levels[r->level], "name", r->name, "period",
                          period, "slice", slice, "suppressed", r->suppressed);
    if (r->level == TABLE_FORBUND)
        json_object_set_new(o, "lan", json_string(r->lan));
    /* A hidden row looks the same whatever hid it: no count, no bound. */
    if (r->suppressed)
        return o;
    cell_t pub;
    cell_values_t cv;
    cell_quantiles_t cq;
    s_published(q, m, personal, r, &pub);
    cell_values(m, &pub, 0, &cv);
    dists_quantiles(parts, m, q->exact, q->protect, personal, r, pub.n, &cq);
    if (!s_values_json(o, m, &cv, &cq, q->exact))
        return o;
    /* The comparisons, each from two published states (exact ones in the
     * exact view) of rows a reader sees (compare.h). */
    cell_values_t a, b;
    compare_change_t change;
    compare_diff_t diff;
    if (s_peer_values(q, m, personal, peers->prev, &a)) {
        compare_change(m, &cv, &a, &change);
        compare_change_json(o, "change_", &change);
    }
    if (s_peer_values(q, m, personal, peers->year_before, &a)) {
        compare_change(m, &cv, &a, &change);
        compare_change_json(o, "change_year_", &change);
    }
    if (s_peer_values(q, m, personal, peers->integrated, &a) &&
        s_peer_values(q, m, personal, peers->project, &b)) {
        compare_diff(m, &a, &b, &diff);
        compare_diff_json(o, "integrated_minus_project_", &diff);
    }
    return o;
}

/* Row r's peers (s_peers_t). `before` is the table of the year before
 * when one period is asked for (t then holds one year only), else NULL. */
static s_peers_t s_peers(table_t *t, table_t *before, const table_row_t *r)
{
    s_peers_t p = {0};
    uint32_t prev = cell_period_prev(r->period);
    p.prev = table_find(t, r->level, r->name, prev, r->slice);
    if (!p.prev && before)
        p.prev = table_find(before, r->level, r->name, prev, r->slice);
    p.year_before =
        table_find(before ? before : t, r->level, r->name, cell_period_year_before(r->period), r->slice);
    if (r->slice == 0) {
        p.integrated = table_find(t, r->level, r->name, r->period, cell_slice(SLICE_MODE, 2));
        p.project = table_find(t, r->level, r->name, r->period, cell_slice(SLICE_MODE, 1));
    }
    return p;
}

void query_measure_list(const catalogue_t *cat, char *out, size_t outlen)
{
    size_t used = (size_t) snprintf(out, outlen, "an indicator number (");
    for (int i = 0, n = 0; i < cat->nindicators && used < outlen; i++)
        if (cat->indicators[i].nmeasures > 0)
            used +=
                (size_t) snprintf(out + used, outlen - used, "%s%d", n++ ? ", " : "", cat->indicators[i].id);
    if (used < outlen)
        used += (size_t) snprintf(out + used, outlen - used, ") or a measure id (");
    for (int i = 0; i < cat->nmeasures && used < outlen; i++)
        used += (size_t) snprintf(out + used, outlen - used, "%s%s", i ? ", " : "", cat->measures[i].id);
    if (used < outlen)
        snprintf(out + used, outlen - used, ")");
}

/* ---- measure metadata ------------------------------------------------------ */

/* A measure's entry of the answer: its own label and definition, its
 * indicator's, and (ratio) the items it divides. */
static json_t *s_measure_json(const catalogue_t *cat, const query_t *q, const cat_measure_t *m, bool personal,
                              json_t *rows)
{
    const cat_indicator_t *ind = catalogue_indicator_of(cat, m);
    json_t *o =
        json_pack("{s:s,s:i,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:i}", "id", m->id, "indicator", m->indicator,
                  "aggregate", catalogue_aggregate_name(m->aggregate), "perspective",
                  ind ? ind->perspective : "", "sv", m->sv, "en", m->en, "definition_sv", m->definition_sv,
                  "definition_en", m->definition_en, "indicator_sv", ind ? ind->sv : "", "indicator_en",
                  ind ? ind->en : "", "protected", personal && !q->exact, "min_units",
                  personal && !q->exact ? protect_params(q->protect)->min_count : 0);
    if (m->aggregate == AGG_RATIO) {
        json_object_set_new(o, "numerator", json_string(m->numerator_item));
        json_object_set_new(o, "denominator", json_string(m->denominator_item));
    }
    json_object_set_new(o, "rows", rows);
    return o;
}

/* A store failure (an LMDB code or errno) as the answer's code: never the
 * caller's input, whatever errno LMDB passed on. */
static fin_err_t s_store_fail(char *err, size_t errlen, int rc)
{
    fin_err_t code = fin_from_mdb(rc);
    if (code == FIN_EINPUT || code == FIN_ENOTFOUND)
        code = FIN_EINTERNAL;
    return fin_fail(err, errlen, code, "store: %s", store_strerror(rc));
}

/* ---- what a reader keeps between answers (query_memo_t) ---------------- */

/* A measure's unpublished-cells fingerprint in the memo's snapshot. */
typedef struct {
    char measure[CELL_MEASURE_LEN + 1];
    uint8_t unpublished[QUERY_UNPUBLISHED_LEN];
} s_seen_t;

/* One table's suppression: its measure, the year it was loaded for (0:
 * all), what it was decided for, its size, one bit a row (hidden). */
typedef struct {
    char measure[CELL_MEASURE_LEN + 1];
    int year;
    query_version_t of; /* the publication, and the measure's own fingerprint */
    size_t n;
    uint8_t *hidden;
} s_decision_t;

#define S_MAX_DECISIONS 4096

struct query_memo_t {
    uint64_t snapshot; /* LMDB's id of the snapshot `seen` is of, plus one; 0: none */
    s_seen_t *seen;
    size_t nseen, capseen;
    s_decision_t *d;
    size_t n, cap;
};

query_memo_t *query_memo_new(void)
{
    return calloc(1, sizeof(query_memo_t));
}

static void s_decisions_clear(query_memo_t *self)
{
    for (size_t i = 0; i < self->n; i++)
        free(self->d[i].hidden);
    self->n = 0;
}

void query_memo_clear(query_memo_t *self)
{
    s_decisions_clear(self);
    self->nseen = 0;
    self->snapshot = 0;
}

void query_memo_destroy(query_memo_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    query_memo_t *self = *self_p;
    s_decisions_clear(self);
    free(self->d);
    free(self->seen);
    free(self);
    *self_p = NULL;
}

/* Whether measure m is in the answer to q: all, one id, or every measure
 * of an indicator number (as s_run selects them). */
static bool s_selected(const query_t *q, const cat_measure_t *m)
{
    if (!q->measure)
        return true;
    char *end;
    long indicator = strtol(q->measure, &end, 10);
    return *end == '\0' ? m->indicator == indicator : !strcmp(m->id, q->measure);
}

/* Measure m's fingerprint in the snapshots txn and cells
 * (table_unpublished), once per pair of snapshots through memo. The
 * fingerprint is of the snapshots alone: the publication read before them
 * (published_seq) only spares the walk when the cells are where it was
 * made, and then the set is empty in any case. */
static int s_unpublished(ledger_t *ledger, MDB_txn *txn, MDB_txn *cells, uint64_t published_seq,
                         query_memo_t *memo, const cat_measure_t *m, uint8_t out[QUERY_UNPUBLISHED_LEN])
{
    _Static_assert(QUERY_UNPUBLISHED_LEN == TABLE_UNPUBLISHED_LEN, "one fingerprint");
    /* Both environments' transaction ids: the publication's and the
     * cells' state. */
    uint64_t snapshot = (((uint64_t) mdb_txn_id(txn) << 32) ^ (uint64_t) mdb_txn_id(cells)) + 1;
    if (memo->snapshot != snapshot) {
        memo->snapshot = snapshot;
        memo->nseen = 0;
    }
    for (size_t i = 0; i < memo->nseen; i++)
        if (!strcmp(memo->seen[i].measure, m->id)) {
            memcpy(out, memo->seen[i].unpublished, QUERY_UNPUBLISHED_LEN);
            return 0;
        }
    int rc = table_unpublished(ledger, txn, cells, published_seq, m, out);
    if (rc)
        return rc;
    if (memo->nseen == memo->capseen) {
        s_seen_t *grown = array_grow(memo->seen, &memo->capseen, sizeof *grown, 64);
        if (!grown)
            return 0; /* known all the same; only not kept */
        memo->seen = grown;
    }
    s_seen_t *e = &memo->seen[memo->nseen++];
    snprintf(e->measure, sizeof e->measure, "%s", m->id);
    memcpy(e->unpublished, out, QUERY_UNPUBLISHED_LEN);
    return 0;
}

/* version->unpublished for q in txn: BLAKE2b-128 of each selected
 * measure's id and fingerprint, in catalogue order. */
static int s_version_in(ledger_t *ledger, MDB_txn *txn, MDB_txn *cells, const catalogue_t *cat,
                        const query_t *q, query_memo_t *memo, query_version_t *version)
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, QUERY_UNPUBLISHED_LEN);
    for (int mi = 0; mi < cat->nmeasures; mi++) {
        const cat_measure_t *m = &cat->measures[mi];
        if (!s_selected(q, m))
            continue;
        uint8_t fp[QUERY_UNPUBLISHED_LEN];
        int rc = s_unpublished(ledger, txn, cells, version->seq, memo, m, fp);
        if (rc)
            return rc;
        crypto_generichash_update(&st, (const uint8_t *) m->id, strlen(m->id) + 1);
        crypto_generichash_update(&st, fp, sizeof fp);
    }
    return crypto_generichash_final(&st, version->unpublished, QUERY_UNPUBLISHED_LEN) == 0 ? 0 : EIO;
}

/* Suppression of t (measure m, loaded for year) as decided before for
 * the same publication and unpublished cells of m (`of`), else decided
 * now and kept. The same publication and cells load the same rows in the
 * same order (table.h), so the bits apply row by row; the size is checked
 * all the same. memo NULL: decided now. */
static void s_suppress(query_memo_t *memo, const query_version_t *of, table_t *t, const protect_t *protect,
                       const cat_measure_t *m, int year)
{
    s_decision_t *d = NULL;
    for (size_t i = 0; memo && i < memo->n && !d; i++)
        if (memo->d[i].year == year && !strcmp(memo->d[i].measure, m->id))
            d = &memo->d[i];
    if (d && d->n == t->n && !memcmp(&d->of, of, sizeof *of)) {
        for (size_t i = 0; i < t->n; i++)
            t->rows[i].suppressed = (d->hidden[i / 8] >> (i % 8)) & 1;
        return;
    }
    suppress_table(t, protect, m);
    if (!memo)
        return;
    uint8_t *hidden = calloc(t->n / 8 + 1, 1);
    if (!hidden)
        return; /* decided all the same; only not kept */
    for (size_t i = 0; i < t->n; i++)
        hidden[i / 8] |= (uint8_t) (t->rows[i].suppressed << (i % 8));
    if (!d) {
        if (memo->n >= S_MAX_DECISIONS)
            s_decisions_clear(memo);
        if (memo->n == memo->cap) {
            s_decision_t *grown = array_grow(memo->d, &memo->cap, sizeof *grown, 64);
            if (!grown) {
                free(hidden);
                return;
            }
            memo->d = grown;
        }
        d = &memo->d[memo->n++];
        snprintf(d->measure, sizeof d->measure, "%s", m->id);
        d->year = year;
    } else {
        free(d->hidden);
    }
    d->of = *of;
    d->n = t->n;
    d->hidden = hidden;
}

/* What query_run_versioned asks of s_run: the version, from the
 * answer's own snapshot, and the memo to read and keep decisions in. */
typedef struct {
    query_memo_t *memo;
    query_version_t *version; /* the publication filled in by the caller */
} s_versioning_t;

static fin_err_t s_run(ledger_t *ledger, const catalogue_t *cat, const query_t *q, s_versioning_t *vers,
                       json_t **out, char *err, size_t errlen);

fin_err_t query_run(ledger_t *ledger, const catalogue_t *cat, const query_t *q, json_t **out, char *err,
                    size_t errlen)
{
    return s_run(ledger, cat, q, NULL, out, err, errlen);
}

fin_err_t query_run_versioned(ledger_t *ledger, const catalogue_t *cat, const query_t *q, query_memo_t *memo,
                              json_t **out, query_version_t *version, bool *stable, char *err, size_t errlen)
{
    /* The publication is read in a snapshot of its own (publish_last),
     * before and after: publications only move forward, so the same one
     * both times is the one the answer's snapshot held. */
    *version = (query_version_t){0};
    *stable = false;
    int64_t at_ms;
    bool known = publish_last(ledger, &version->seq, &at_ms, &version->waiting) == 0;
    version->at_ms = (uint64_t) at_ms;
    s_versioning_t vers = {memo, version};
    fin_err_t rc = s_run(ledger, cat, q, known && !q->exact ? &vers : NULL, out, err, errlen);
    query_version_t after = *version;
    if (rc == FIN_OK && known && !q->exact && publish_last(ledger, &after.seq, &at_ms, &after.waiting) == 0) {
        after.at_ms = (uint64_t) at_ms;
        *stable = !memcmp(&after, version, sizeof after);
    }
    /* Decided in a snapshot of another publication than `version` says:
     * not to be reused under it. */
    if (!*stable)
        s_decisions_clear(memo);
    return rc;
}

static fin_err_t s_run(ledger_t *ledger, const catalogue_t *cat, const query_t *q, s_versioning_t *vers,
                       json_t **out, char *err, size_t errlen)
{
    *out = NULL;
    period_kind_t kind;
    uint32_t only = 0;
    uint16_t slice;
    if (!strcmp(q->period, "year"))
        kind = PERIOD_YEAR;
    else if (!strcmp(q->period, "quarter"))
        kind = PERIOD_QUARTER;
    else if (!strcmp(q->period, "month"))
        kind = PERIOD_MONTH;
    else if (cell_period_parse(q->period, &only) == 0)
        kind = cell_period_kind(only);
    else {
        return fin_fail(err, errlen, FIN_EINPUT,
                        "period '%s': use year, quarter, month, 2026, 2026-Q1 or 2026-03", q->period);
    }
    if (cell_slice_parse(q->slice, &slice) < 0) {
        char list[CELL_SLICE_LIST_LEN];
        cell_slice_list(list, sizeof list);
        return fin_fail(err, errlen, FIN_EINPUT, "slice '%.40s' is unknown: use one of %s", q->slice, list);
    }
    char *end;
    long indicator = q->measure ? strtol(q->measure, &end, 10) : 0;
    bool by_indicator = q->measure && *end == '\0';
    bool known = !q->measure || (!by_indicator && catalogue_measure(cat, q->measure));
    for (int i = 0; by_indicator && !known && i < cat->nindicators; i++)
        known = cat->indicators[i].id == indicator && cat->indicators[i].nmeasures > 0;
    if (!known) {
        char list[QUERY_ERR_LEN - 100];
        query_measure_list(cat, list, sizeof list);
        return fin_fail(err, errlen, FIN_EINPUT, "measure '%.40s' is not in the catalogue: use %s",
                        q->measure, list);
    }
    /* One snapshot for every table and distribution of the answer. */
    MDB_txn *txn, *cells;
    int trc = store_read(ledger_store(ledger), &txn);
    if (trc)
        return s_store_fail(err, errlen, trc);
    if ((trc = ledger_cells_read(ledger, &cells))) {
        store_read_end(ledger_store(ledger), txn);
        return s_store_fail(err, errlen, trc);
    }
    if (vers && (trc = s_version_in(ledger, txn, cells, cat, q, vers->memo, vers->version))) {
        ledger_cells_read_end(ledger, cells);
        store_read_end(ledger_store(ledger), txn);
        return s_store_fail(err, errlen, trc);
    }
    query_memo_t *memo = vers ? vers->memo : NULL;
    json_t *measures = json_array();
    for (int mi = 0; mi < cat->nmeasures; mi++) {
        const cat_measure_t *m = &cat->measures[mi];
        if (q->measure && (by_indicator ? m->indicator != indicator : strcmp(m->id, q->measure)))
            continue;
        bool organisation = m->instrument[0] && catalogue_instrument(cat, m->instrument) &&
                            catalogue_instrument(cat, m->instrument)->kind == INSTR_ORGANISATION;
        bool personal = !organisation;
        table_t t = {0};
        dists_t parts;
        /* The whole table, every period kind (of the one year asked for,
         * if one period is): suppression is decided over all of it, the
         * same way for every query, before the asked rows are printed. */
        int rc = table_load(ledger, txn, cells, cat, m, only ? cell_period_year(only) : 0, q->exact, &t);
        /* One period: its year-earlier row (and the previous period of a
         * first quarter or month) is in the year before, loaded and
         * suppressed as a query of that year would (no constraint crosses
         * a year, so a table of one year decides as the whole one). */
        table_t before = {0};
        if (rc == 0 && only)
            rc = table_load(ledger, txn, cells, cat, m, cell_period_year(only) - 1, q->exact, &before);
        if (rc == 0)
            rc = dists_init(&parts, q->exact ? cells : txn, ledger, q->exact, m, &t);
        if (rc) {
            table_free(&t);
            table_free(&before);
            json_decref(measures);
            ledger_cells_read_end(ledger, cells);
            store_read_end(ledger_store(ledger), txn);
            return s_store_fail(err, errlen, rc);
        }
        /* What m's decision is for: the publication and m's own unpublished
         * cells (s_unpublished found them for this snapshot already). */
        query_version_t of = {0};
        if (memo) {
            of = *vers->version;
            if (s_unpublished(ledger, txn, cells, of.seq, memo, m, of.unpublished))
                memo = NULL; /* cannot say: decide, keep nothing */
        }
        s_suppress(memo, &of, &t, personal && !q->exact ? q->protect : NULL, m,
                   only ? cell_period_year(only) : 0);
        if (only)
            s_suppress(memo, &of, &before, personal && !q->exact ? q->protect : NULL, m,
                       cell_period_year(only) - 1);
        json_t *rows = json_array();
        for (size_t i = 0; i < t.n; i++) {
            const table_row_t *r = &t.rows[i];
            if (r->absent || r->slice != slice || cell_period_kind(r->period) != kind ||
                (only && r->period != only))
                continue;
            if (q->forbund && r->level == TABLE_FORBUND && strcmp(r->name, q->forbund))
                continue;
            if (q->forbund && r->level == TABLE_LAN && strcmp(r->name, catalogue_lan(cat, q->forbund)))
                continue;
            s_peers_t peers = s_peers(&t, only ? &before : NULL, r);
            json_array_append_new(rows, s_row_json(q, m, personal, &parts, r, &peers));
        }
        dists_free(&parts);
        table_free(&t);
        table_free(&before);
        json_array_append_new(measures, s_measure_json(cat, q, m, personal, rows));
    }
    ledger_cells_read_end(ledger, cells);
    store_read_end(ledger_store(ledger), txn);
    const protect_params_t *pp = protect_params(q->protect);
    *out = json_pack("{s:s,s:i,s:s,s:s,s:i,s:o}", "view", q->exact ? "exact" : "protected", "min_units",
                     pp->min_count, "period", q->period, "slice", q->slice, "catalogue_version",
                     (int) cat->version, "measures", measures);
    /* The förbund names and roll-up län (the registry, report/registry.h):
     * rows carry codes, this says who they are. */
    json_t *names = json_object();
    for (int i = 0; *out && names && i < cat->nforbund; i++)
        json_object_set_new(
            names, cat->forbund[i].code,
            json_pack("{s:s?, s:s?}", "name", cat->forbund[i].name, "lan", cat->forbund[i].lan));
    if (*out)
        json_object_set_new(*out, "forbund", names);
    else
        json_decref(names);
    uint64_t pub_seq = 0;
    int64_t pub_ms = 0;
    if (!q->exact && publish_last(ledger, &pub_seq, &pub_ms, NULL) == 0)
        json_object_set_new(
            *out, "published",
            json_pack("{s:I,s:I}", "seq", (json_int_t) pub_seq, "at_ms", (json_int_t) pub_ms));
    if (!q->exact)
        json_object_set_new(*out, "protection",
                            json_pack("{s:s,s:i,s:f}", "method", "cell-key", "max_deviation", pp->max_dev,
                                      "variance", pp->variance));
    return FIN_OK;
}

int query_version(ledger_t *ledger, const catalogue_t *cat, const query_t *q, query_memo_t *memo,
                  query_version_t *out)
{
    *out = (query_version_t){0};
    int64_t at_ms;
    int rc = publish_last(ledger, &out->seq, &at_ms, &out->waiting);
    if (rc)
        return rc;
    out->at_ms = (uint64_t) at_ms;
    MDB_txn *txn, *cells;
    if ((rc = store_read(ledger_store(ledger), &txn)))
        return rc;
    if ((rc = ledger_cells_read(ledger, &cells)) == 0) {
        rc = s_version_in(ledger, txn, cells, cat, q, memo, out);
        ledger_cells_read_end(ledger, cells);
    }
    store_read_end(ledger_store(ledger), txn);
    return rc;
}

int query_each_published(ledger_t *ledger, const catalogue_t *cat, const protect_t *protect, query_cell_fn fn,
                         void *arg)
{
    static const char *const levels[] = {"forbund", "lan", "nation"};
    query_t q = {.protect = protect};
    MDB_txn *txn, *cells;
    int rc = store_read(ledger_store(ledger), &txn);
    if (rc)
        return rc;
    if ((rc = ledger_cells_read(ledger, &cells))) {
        store_read_end(ledger_store(ledger), txn);
        return rc;
    }
    for (int mi = 0; mi < cat->nmeasures && rc == 0; mi++) {
        const cat_measure_t *m = &cat->measures[mi];
        bool organisation = m->instrument[0] && catalogue_instrument(cat, m->instrument) &&
                            catalogue_instrument(cat, m->instrument)->kind == INSTR_ORGANISATION;
        table_t t = {0};
        dists_t parts;
        rc = table_load(ledger, txn, cells, cat, m, 0, false, &t);
        if (rc == 0)
            rc = dists_init(&parts, txn, ledger, false, m, &t);
        if (rc) {
            table_free(&t);
            break;
        }
        suppress_table(&t, organisation ? NULL : protect, m);
        for (size_t i = 0; i < t.n && rc == 0; i++) {
            const table_row_t *r = &t.rows[i];
            if (r->absent)
                continue; /* not published: not a row of the feed either */
            query_cell_t c = {m, levels[r->level], r->name, r->period, r->slice, r->suppressed, {0}, {0}};
            if (!r->suppressed) {
                s_published(&q, m, !organisation, r, &c.published);
                dists_quantiles(&parts, m, false, protect, !organisation, r, c.published.n, &c.quantiles);
            }
            rc = fn(&c, arg);
        }
        dists_free(&parts);
        table_free(&t);
    }
    ledger_cells_read_end(ledger, cells);
    store_read_end(ledger_store(ledger), txn);
    return rc;
}

/* The headline value of a row for tables: mean, share or sum. */
static void s_headline(const json_t *row, const char *agg, char *out, size_t len)
{
    static const char *const keys[][2] = {
        {"ordinal", "mean"}, {"share_yes", "share"},         {"share_sustained", "share"},
        {"sum", "sum"},      {"median_days", "median_days"}, {"paired_change", "mean_change"},
        {"ratio", "share"}};
    if (json_is_true(json_object_get(row, "suppressed"))) {
        snprintf(out, len, "suppressed");
        return;
    }
    const json_t *v = NULL;
    for (size_t i = 0; i < sizeof keys / sizeof *keys; i++)
        if (!strcmp(agg, keys[i][0]))
            v = json_object_get(row, keys[i][1]);
    if (!v || json_is_null(v)) {
        snprintf(out, len, "-");
        return;
    }
    bool share = strstr(agg, "share") != NULL || !strcmp(agg, "ratio");
    if (json_is_integer(v))
        snprintf(out, len, "%lld", (long long) json_integer_value(v));
    else
        snprintf(out, len, share ? "%.1f%%" : "%.2f", share ? 100 * json_real_value(v) : json_real_value(v));
}

void query_print_table(const json_t *result, FILE *out)
{
    size_t i, j;
    json_t *m, *row;
    json_array_foreach(json_object_get(result, "measures"), i, m) {
        const char *agg = json_string_value(json_object_get(m, "aggregate"));
        fprintf(out, "\n%s (indicator %lld, %s) — %s\n", json_string_value(json_object_get(m, "id")),
                (long long) json_integer_value(json_object_get(m, "indicator")), agg,
                json_string_value(json_object_get(m, "sv")));
        fprintf(out, "  %-8s %-24s %-8s %12s %8s\n", "LEVEL", "NAME", "PERIOD", "VALUE", "N");
        json_array_foreach(json_object_get(m, "rows"), j, row) {
            char value[32], n[16];
            s_headline(row, agg, value, sizeof value);
            const json_t *rn = json_object_get(row, "n");
            if (rn)
                snprintf(n, sizeof n, "%lld", (long long) json_integer_value(rn));
            else
                snprintf(n, sizeof n, "-");
            /* printf pads bytes; pad names by characters (å, ä, ö are two bytes). */
            const char *name = json_string_value(json_object_get(row, "name"));
            int pad = 24;
            for (const unsigned char *c = (const unsigned char *) name; *c; c++)
                pad -= (*c & 0xc0) != 0x80;
            fprintf(out, "  %-8s %s%*s %-8s %12s %8s\n", json_string_value(json_object_get(row, "level")),
                    name, pad > 0 ? pad : 0, "", json_string_value(json_object_get(row, "period")), value, n);
        }
    }
}
