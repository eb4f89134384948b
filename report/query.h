/* query.h: indicator values per förbund, län and nation, per period and
 * slice, with disclosure control applied — the one place that turns cells
 * into numbers a person may see. The CLI, the HTTP API, exports, the
 * dashboard and the aggregate stream all go through this file, so
 * protection cannot be forgotten at one output.
 *
 * Readers see the last publication (publish.h), protected:
 *  - every count and magnitude perturbed by the cell-key method
 *    (protect.h), so the same contributors publish the same value on
 *    every channel and one more gives a fresh draw;
 *  - a cell resting on fewer than min_units contributors is hidden
 *    (organisation reports are not personal data and are exact); a hidden
 *    row carries no count and no bound, whatever hid it;
 *  - complementary suppression: in every constraint (län = Σ förbund,
 *    nation = Σ län, all = Σ values of a slice dimension, quarter = Σ
 *    months, year = Σ quarters) the hidden members are none or at least
 *    two, and an exact audit of all constraints together hides more until
 *    no hidden cell is determined; decided over every period kind at
 *    once, so every table agrees;
 *  - a share of 0 % or 100 % is shown only from a published n >= 10, and
 *    a row that withholds it shows no other value either (mean, sd,
 *    interval, change could give it back).
 * The operator's exact view (query_t.exact, finsamctl only) reads the
 * cells as they are, without protection.
 *
 * Every measure in an answer carries its own label and definition from
 * the catalogue. A ratio measure (the shares of insatser) shows the sums
 * of parts and totals of the reports that gave both, and their quotient. */
#ifndef FINSAM_QUERY_H
#define FINSAM_QUERY_H

#include "catalogue.h"
#include "cell.h"
#include "err.h"
#include "ledger.h"
#include "protect.h"

#include <jansson.h>
#include <stdio.h>

typedef struct {
    const char *measure; /* measure id, indicator number, or NULL for all */
    const char *forbund; /* only this förbund's rows (plus län and nation), or NULL */
    const char *period;  /* "year", "quarter", "month" or one period "2026-Q1" */
    const char *slice;   /* "all", "mode=project", ... */
    /* The ledger's protection (protect_open): the minimum count and the
     * cell-key perturbation. Readers never choose it. */
    const protect_t *protect;
    /* The operator's exact view: no perturbation, no suppression. Only for
     * finsamctl on the data directory, never over the network. */
    bool exact;
} query_t;

/* Builds {"min_units":k,"slice":..,"measures":[{"id":..,"rows":[...]}]}.
 * Returns FIN_OK, or a code with the reason in err: FIN_EINPUT for a
 * period, slice or measure it does not know, naming every valid one (give
 * err QUERY_ERR_LEN bytes); a store failure's code otherwise (FIN_EIO,
 * FIN_ENOMEM, ...; never FIN_EINPUT). *out is owned by the caller, NULL
 * on failure. */
#define QUERY_ERR_LEN 2048
fin_err_t query_run(ledger_t *ledger, const catalogue_t *catalogue, const query_t *q, json_t **out, char *err,
                    size_t errlen);

/* What a protected answer (query_run without exact) depends on besides
 * the query, the catalogue and the protection: the last publication, and
 * which cells of the answer's measures exist that it has no entry for
 * yet (report/table.h: each is an unknown in the suppression of the rows
 * around it). Two answers to the same query under the same catalogue and
 * protection are the same bytes when their versions are equal, so a
 * reader may keep an answer and send it again while the version stays
 * (web/cache.h). Wall time is not in it: nothing an answer shows depends
 * on the clock. Compare versions as bytes (no padding). */
#define QUERY_UNPUBLISHED_LEN 16
typedef struct {
    uint64_t seq;     /* the publication's log position (publish_last) */
    uint64_t at_ms;   /* when it ran */
    uint64_t waiting; /* cells waiting then */
    /* the answer's measures' cells without a published entry: a
     * fingerprint of table_unpublished's, measure by measure */
    uint8_t unpublished[QUERY_UNPUBLISHED_LEN];
} query_version_t;

/* What one reader (the collector's HTTP thread) keeps between answers:
 * each measure's unpublished-cells fingerprint for the snapshot it last
 * read (so that the next version read in the same snapshot walks no
 * cells), and each measure's suppression decision (which rows of its
 * table are hidden: primary, complementary and both audits over every
 * period kind; never a value) for the publication and unpublished cells
 * it was decided for. The year, quarter and month tables of a measure
 * and the national table decide the same table, so the first answer
 * decides and the others reuse it. For one catalogue and one protection;
 * not thread-safe. */
typedef struct query_memo_t query_memo_t;

/* NULL when out of memory. */
query_memo_t *query_memo_new(void);
void query_memo_destroy(query_memo_t **self_p);

/* Forgets everything; call it when the catalogue changes. */
void query_memo_clear(query_memo_t *self);

/* The version the answer to q would be of now. Walks the keys of the
 * cells and of the publication of q's measures when something was
 * committed since the publication (about 0.1 s for 370,000 cells, all
 * measures), unless memo saw them in the same snapshot. Returns 0 or an
 * LMDB error. */
int query_version(ledger_t *ledger, const catalogue_t *catalogue, const query_t *q, query_memo_t *memo,
                  query_version_t *out);

/* query_run, with the version its answer is of (query_version, read in
 * the answer's own snapshot), reusing and keeping suppression decisions
 * in memo; the answer is the same bytes as query_run's. *stable is false
 * when a publication ran while the answer was computed: it is then of no
 * one version, and must not be kept. */
fin_err_t query_run_versioned(ledger_t *ledger, const catalogue_t *catalogue, const query_t *q,
                              query_memo_t *memo, json_t **out, query_version_t *version, bool *stable,
                              char *err, size_t errlen);

void query_print_table(const json_t *result, FILE *out);

/* What --measure / measure= accepts, for error messages: "an indicator
 * number (1, 2, ...) or a measure id (i1_behov, ...)". */
void query_measure_list(const catalogue_t *catalogue, char *out, size_t outlen);

/* One protected row of the publication, as every reader sees it. */
typedef struct {
    const cat_measure_t *measure;
    const char *level; /* "forbund", "lan" or "nation" */
    const char *name;  /* förbund code, län name or "Riket" */
    uint32_t period;
    uint16_t slice;
    bool suppressed;            /* hidden: published is all zeros */
    cell_t published;           /* the perturbed state (exact for organisation reports) */
    cell_quantiles_t quantiles; /* as published (protect_quantiles); none when hidden */
} query_cell_t;

/* Called per row; a nonzero return stops the walk and is returned. */
typedef int (*query_cell_fn)(const query_cell_t *cell, void *arg);

/* Walks every row of every measure of the last publication — förbund,
 * län and nation, every period and slice — with the same protection as
 * query_run (the aggregate stream and its snapshot use it). Returns 0, an
 * LMDB error, or fn's nonzero return. */
int query_each_published(ledger_t *ledger, const catalogue_t *catalogue, const protect_t *protect,
                         query_cell_fn fn, void *arg);

#endif
