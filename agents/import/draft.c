/* draft.c: `mapping draft` (see draft.h).
 *
 * A draft reads the whole file once through csvimport_scan and keeps, per
 * column, the shapes its cells have (personnummer, date, Excel serial,
 * year, number, identifier) and at most DRAFT_MAX_VALUES distinct values
 * with their rows. Roles come from the header's words first and the
 * shapes second; answer columns get the catalogue item whose Swedish text
 * shares the most words with the header, among the items whose scale the
 * column's labels fit, each item at most once (best pairs first). Only
 * what is sure becomes a mapping line.
 *
 * Deliberately simple: word overlap with a loose word match (same first
 * four bytes, or a quarter of the bytes differ at most) rather than any
 * language model; the draft lists its three best guesses so a person
 * decides.
 *
 * Why one file of ~1100 lines: the roles, the item guesses and the label
 * values are judgements made on one scan (the per-column shapes, values
 * and counts above) and feed each other; `mapping check` (mapcheck.c)
 * uses only the label values, through draft_scale_value. */
#include "draft.h"

#include "anonymize.h"
#include "csvcell.h"
#include "csvimport.h"
#include "report_text.h"
#include "sheet.h"
#include "mapping_int.h"
#include "util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#define S_MAX_DECISIONS 64
/* A column's item is written as a mapping line only when its words match
 * this well and the next best item's this much worse; otherwise it is a
 * decision. Tuned to miss rather than to guess: a wrong item counts the
 * answers under another indicator without a word. */
#define S_CONFIDENT 0.3
#define S_MARGIN 0.2

typedef enum {
    S_NONE,
    S_PNR,
    S_RESPONSE_ID,
    S_DATE,
    S_GENDER,
    S_BIRTH_YEAR,
    S_INSATS,
    S_MODE,
    S_PHASE,
    S_ANSWER,
    S_DROP_IDENT,
    S_DROP_TEXT,
    S_DROP_DATE,
    S_DROP
} s_role_t;

typedef struct {
    char *text; /* first spelling seen, trimmed */
    char *norm;
    size_t rows;
} s_val_t;

typedef struct {
    char *header;
    size_t filled;
    s_val_t vals[DRAFT_MAX_VALUES];
    size_t nvals, more_rows;
    size_t n_pnr, n_excel, n_date, n_serial, n_year, n_num, n_ident;
    s_role_t role;
    const cat_scale_t *scale; /* answer: the scale its labels fit */
    const cat_item_t *item;
    double score;
    const cat_item_t *cand[3];
    double cands[3];
    bool sure;
} s_col_t;

/* Sheets of a workbook looked at for the one with the most rows. */
#define S_MAX_SHEETS 16

typedef struct {
    const catalogue_t *cat;
    const char *path;
    s_col_t *cols;
    size_t ncols, rows;
    bool have_header;
    bool en;        /* comments in English (--lang en); else Swedish */
    bool workbook;  /* read with sheet_read, not csvimport_scan */
    char sheet[64]; /* the workbook's sheet read, for [file] sheet */
    struct {
        char name[64];
        size_t rows, cols;
    } sheets[S_MAX_SHEETS]; /* every sheet when none was named, for the draft */
    int nsheets;
    int ty, tm, td;
    bool failed_alloc;
    char decisions[S_MAX_DECISIONS][640];
    int ndecisions;
} s_draft_t;

/* Staff read the draft's comments and the check in Swedish unless
 * --lang en; mapping keys and codes are syntax and stay. `en` is a local
 * of each writer. */
#define T(en_text, sv_text) (en ? (en_text) : (sv_text))

/* ---- reading ------------------------------------------------------------ */

static void s_add_value(s_col_t *c, const char *buf)
{
    char norm[MAPPING_MAX_CELL + 1];
    csvcell_norm(buf, norm, sizeof norm);
    for (size_t i = 0; i < c->nvals; i++)
        if (!strcmp(c->vals[i].norm, norm)) {
            c->vals[i].rows++;
            return;
        }
    if (c->nvals == DRAFT_MAX_VALUES) {
        c->more_rows++;
        return;
    }
    s_val_t *v = &c->vals[c->nvals];
    v->text = strdup(buf);
    v->norm = strdup(norm);
    v->rows = 1;
    if (v->text && v->norm)
        c->nvals++;
    else {
        free(v->text);
        free(v->norm);
    }
}

static bool s_all_digits(const char *s, size_t n)
{
    if (strlen(s) != n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char) s[i]))
            return false;
    return true;
}

static bool s_excel_number(const char *s)
{
    if (!isdigit((unsigned char) s[0]) || (s[1] != ',' && s[1] != '.'))
        return false;
    const char *e = s + 2;
    while (isdigit((unsigned char) *e))
        e++;
    return (*e == 'E' || *e == 'e') && e[1] == '+';
}

static int s_on_record(const char *const *cells, size_t ncells, long line, void *arg)
{
    (void) line;
    s_draft_t *d = arg;
    char buf[MAPPING_MAX_CELL + 1];
    if (!d->have_header) {
        d->have_header = true;
        if (!(d->cols = calloc(ncells ? ncells : 1, sizeof *d->cols))) {
            d->failed_alloc = true;
            return -1;
        }
        d->ncols = ncells;
        for (size_t i = 0; i < ncells; i++) {
            if (csvcell_trim(cells[i], buf, sizeof buf) < 0)
                buf[0] = '\0';
            if (!(d->cols[i].header = strdup(buf))) {
                d->failed_alloc = true;
                return -1;
            }
        }
        return 0;
    }
    d->rows++;
    for (size_t i = 0; i < ncells && i < d->ncols; i++) {
        s_col_t *c = &d->cols[i];
        if (csvcell_trim(cells[i], buf, sizeof buf) < 0 || !*buf)
            continue;
        c->filled++;
        char norm12[13], iso[11];
        long long v;
        bool frac, up;
        if (anon_pnr_normalize(buf, d->ty, d->tm, d->td, norm12, NULL, NULL, 0) == FIN_OK)
            c->n_pnr++;
        if (s_excel_number(buf))
            c->n_excel++;
        bool date = csvcell_date(buf, iso) == 0;
        if (date)
            c->n_date++;
        if (s_all_digits(buf, 5) && atol(buf) >= 36526 && atol(buf) <= 73050)
            c->n_serial++;
        if (s_all_digits(buf, 4) && atoi(buf) >= 1900 && atoi(buf) <= d->ty)
            c->n_year++;
        if (csvcell_number(buf, &v, &frac, &up) == 0)
            c->n_num++;
        /* A date has 8 digits, as a phone number does. */
        if (!date && anon_contains_identifying(buf))
            c->n_ident++;
        s_add_value(c, buf);
    }
    return 0;
}

/* ---- roles -------------------------------------------------------------- */

static bool s_name_is(const char *norm, const char *const *names)
{
    for (; *names; names++)
        if (!strcmp(norm, *names))
            return true;
    return false;
}

static bool s_name_has(const char *norm, const char *const *parts)
{
    for (; *parts; parts++)
        if (strstr(norm, *parts))
            return true;
    return false;
}

/* Most of the filled cells (and at least one). */
static bool s_most(size_t n, size_t filled)
{
    return filled && n * 10 >= filled * 9;
}

/* A workbook's row, as csvimport_scan would give the same sheet saved
 * as CSV; the sheet's name is kept for the draft's [file] sheet. */
static int s_on_sheet_row(void *arg, const char *const *cells, size_t ncells, long row, const char *sheet)
{
    s_draft_t *d = arg;
    if (!d->sheet[0])
        snprintf(d->sheet, sizeof d->sheet, "%s", sheet);
    return s_on_record(cells, ncells, row, d);
}

static void s_roles(s_draft_t *d)
{
    static const char *const pnr[] = {"personnummer",      "personnr",  "pnr",
                                      "samordningsnummer", "person-nr", NULL};
    static const char *const rid[] = {
        "svars-id",      "svarsid",       "svar-id", "response id", "response_id", "responseid",
        "respondent id", "respondent-id", "id",      "svarsnummer", NULL};
    static const char *const gender[] = {"kön", "kon", "gender", "kön:", NULL};
    static const char *const by[] = {"födelseår",  "fodelsear",  "födelse år",
                                     "birth year", "birth_year", NULL};
    static const char *const insats[] = {"insats",     "insatskod",    "insats-kod",
                                         "insatsnamn", "insats (kod)", NULL};
    static const char *const mode[] = {"arbetsform", "mode", "verksamhetsform", "driftform", NULL};
    static const char *const phase[] = {"fas", "phase", "mätpunkt", "tillfälle", NULL};
    static const char *const ident[] = {"namn",   "name",       "e-post",  "epost",   "email",     "e-mail",
                                        "mejl",   "mail",       "telefon", "mobil",   "adress",    "address",
                                        "postnr", "postnummer", "ort",     "förnamn", "efternamn", NULL};
    static const char *const text[] = {"kommentar", "övrig",      "fritext", "comment",
                                       "synpunkt",  "motivering", NULL};
    static const char *const date_pref[] = {"svarsdatum", "slut",  "inskick", "avslut",
                                            "besvarad",   "datum", NULL};
    bool have_pnr = false, have_rid = false;
    ssize_t date = -1;
    int date_rank = 100;
    for (size_t i = 0; i < d->ncols; i++) {
        s_col_t *c = &d->cols[i];
        char h[MAPPING_MAX_CELL + 1];
        csvcell_norm(c->header, h, sizeof h);
        if (!have_pnr && (s_name_has(h, pnr) || s_most(c->n_pnr + c->n_excel, c->filled))) {
            c->role = S_PNR;
            have_pnr = true;
        } else if (!have_rid && s_name_is(h, rid)) {
            c->role = S_RESPONSE_ID;
            have_rid = true;
        } else if (s_name_is(h, ident) ||
                   s_name_has(h, (const char *const[]){"e-post", "telefon", "namn", NULL}) || c->n_ident) {
            c->role = S_DROP_IDENT;
        } else if (s_most(c->n_date + c->n_serial, c->filled)) {
            int rank = 99;
            for (int k = 0; date_pref[k]; k++)
                if (strstr(h, date_pref[k])) {
                    rank = k;
                    break;
                }
            c->role = S_DROP_DATE;
            if (rank <= date_rank) {
                if (date >= 0)
                    d->cols[date].role = S_DROP_DATE;
                date = (ssize_t) i;
                date_rank = rank;
                c->role = S_DATE;
            }
        } else if (s_name_is(h, gender)) {
            c->role = S_GENDER;
        } else if (s_name_is(h, by) || (strstr(h, "född") && s_most(c->n_year, c->filled))) {
            c->role = S_BIRTH_YEAR;
        } else if (s_name_is(h, insats)) {
            c->role = S_INSATS;
        } else if (s_name_is(h, mode)) {
            c->role = S_MODE;
        } else if (s_name_is(h, phase)) {
            c->role = S_PHASE;
        } else if (s_name_has(h, text) || c->more_rows) {
            c->role = S_DROP_TEXT;
        } else {
            c->role = S_ANSWER; /* if a scale fits, see s_items */
        }
    }
}

/* ---- labels and items --------------------------------------------------- */

/* The value a label has on scale sc (its own labels and the spellings
 * survey tools use), or -1. A bare number gives -2: a decision. */
int draft_scale_value(const cat_scale_t *sc, const char *norm)
{
    char lab[MAPPING_MAX_CELL + 1];
    for (int v = 0; sc->labels_sv && v < sc->nlabels; v++)
        if (sc->labels_sv[v] && sc->labels_sv[v][0] && csvcell_norm(sc->labels_sv[v], lab, sizeof lab) == 0 &&
            !strcmp(lab, norm))
            return v;
    static const struct {
        const char *scale, *label;
        int value;
    } syn[] = {
        {"agree5", "instämmer helt", 5},
        {"agree5", "instämmer till stor del", 4},
        {"agree5", "instämmer delvis", 3},
        {"agree5", "instämmer i liten grad", 2},
        {"agree5", "instämmer inte alls", 1},
        {"agree5", "vet ej", 0},
        {"agree5", "ej aktuellt", 0},
        {"agree5", "vet inte", 0},
        {"yesno", "ja", 1},
        {"yesno", "nej", 2},
        {"yesno", "vet ej", 0},
        {"yesno", "vet inte", 0},
    };
    for (size_t i = 0; i < sizeof syn / sizeof *syn; i++)
        if (!strcmp(sc->code, syn[i].scale) && !strcmp(syn[i].label, norm))
            return syn[i].value;
    long long n;
    bool frac, up;
    if (csvcell_number(norm, &n, &frac, &up) == 0 && !frac)
        return -2;
    return -1;
}

/* Share of the filled rows whose label the scale knows (numbers count). */
static double s_fit(const s_col_t *c, const cat_scale_t *sc)
{
    if (!c->filled || !sc->labels_sv)
        return 0;
    size_t known = 0, words = 0;
    for (size_t i = 0; i < c->nvals; i++) {
        int v = draft_scale_value(sc, c->vals[i].norm);
        if (v >= 0) {
            known += c->vals[i].rows;
            words += c->vals[i].rows;
        } else if (v == -2) {
            known += c->vals[i].rows;
        }
    }
    if (!words && known) {
        /* Numbers only: the narrowest scale whose values hold them all
         * (0/1 is more likely yes/no than agree5); a decision anyway. */
        for (size_t i = 0; i < c->nvals; i++) {
            long long n;
            bool frac, up;
            if (csvcell_number(c->vals[i].norm, &n, &frac, &up) == 0 && (n < sc->min || n > sc->max) &&
                n != sc->dont_know)
                return 0;
        }
        return 0.5 + 1.0 / (10.0 + sc->max - sc->min);
    }
    return (double) known / (double) c->filled;
}

#define S_MAX_WORDS 24
static const char *const s_stop[] = {"jag",  "det", "den",  "och",  "en",   "ett", "att", "i",
                                     "på",   "min", "mina", "mitt", "är",   "har", "du",  "för",
                                     "som",  "med", "av",   "till", "om",   "vad", "hur", "var",
                                     "fick", "kan", "d",    "mig",  "ditt", "din", NULL};

static int s_words(const char *text, char words[S_MAX_WORDS][48])
{
    char norm[MAPPING_MAX_CELL + 1];
    csvcell_norm(text, norm, sizeof norm);
    int n = 0;
    for (char *p = norm; *p && n < S_MAX_WORDS;) {
        while (*p && !isalnum((unsigned char) *p) && !((unsigned char) *p & 0x80))
            p++;
        char *start = p;
        while (*p && (isalnum((unsigned char) *p) || ((unsigned char) *p & 0x80)))
            p++;
        size_t len = (size_t) (p - start);
        if (!len || len >= 48)
            continue;
        memcpy(words[n], start, len);
        words[n][len] = '\0';
        if (!s_name_is(words[n], s_stop))
            n++;
    }
    return n;
}

static bool s_word_match(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), p = 0;
    while (a[p] && a[p] == b[p])
        p++;
    if (p >= 4 || !strcmp(a, b))
        return true;
    size_t m = la > lb ? la : lb;
    return csvcell_distance(a, b, (int) (m / 4)) <= (int) (m / 4);
}

/* Word overlap of a header and an item's Swedish text (and its code
 * without "d_"): matched words on both sides over all words, 0..1. */
static double s_similarity(const char *header, const cat_item_t *it)
{
    char a[S_MAX_WORDS][48], b[S_MAX_WORDS][48];
    int na = s_words(header, a);
    char text[600];
    const char *code = strchr(it->code, '_') ? strchr(it->code, '_') + 1 : it->code;
    snprintf(text, sizeof text, "%s %s", it->sv ? it->sv : "", code);
    for (char *p = text; *p; p++)
        if (*p == '_')
            *p = ' ';
    int nb = s_words(text, b);
    if (!na || !nb)
        return 0;
    int m = 0, n = 0;
    for (int i = 0; i < na; i++)
        for (int j = 0; j < nb; j++)
            if (s_word_match(a[i], b[j])) {
                m++;
                break;
            }
    for (int j = 0; j < nb; j++)
        for (int i = 0; i < na; i++)
            if (s_word_match(a[i], b[j])) {
                n++;
                break;
            }
    return (double) (m + n) / (double) (na + nb);
}

/* The scale that fits an answer column's labels best (half its rows at
 * least), or NULL. */
static const cat_scale_t *s_best_scale(const s_draft_t *d, const s_col_t *c)
{
    const cat_scale_t *best = NULL;
    double fit = 0.5;
    for (int s = 0; s < d->cat->nscales; s++) {
        double f = s_fit(c, &d->cat->scales[s]);
        if (f > fit || (f == fit && !best && f > 0)) {
            fit = f;
            best = &d->cat->scales[s];
        }
    }
    return best;
}

/* Picks the instrument and gives each answer column its item. */
static const cat_instrument_t *s_items(s_draft_t *d, const cat_instrument_t **second)
{
    for (size_t i = 0; i < d->ncols; i++) {
        s_col_t *c = &d->cols[i];
        if (c->role == S_ANSWER && !(c->scale = s_best_scale(d, c)))
            c->role = S_DROP;
    }
    const cat_instrument_t *best = NULL;
    double best_sum = 0;
    *second = NULL;
    const char *base = strrchr(d->path, '/') ? strrchr(d->path, '/') + 1 : d->path;
    char lbase[256];
    csvcell_norm(base, lbase, sizeof lbase);
    for (int k = 0; k < d->cat->ninstruments; k++) {
        const cat_instrument_t *in = &d->cat->instruments[k];
        double sum = 0;
        for (size_t i = 0; i < d->ncols; i++) {
            if (d->cols[i].role != S_ANSWER)
                continue;
            double top = 0;
            for (int j = 0; j < in->nitems; j++)
                if (in->items[j].scale == d->cols[i].scale) {
                    double s = s_similarity(d->cols[i].header, &in->items[j]) + 0.01;
                    top = s > top ? s : top;
                }
            sum += top;
        }
        const char *tail = strrchr(in->code, '_') ? strrchr(in->code, '_') + 1 : in->code;
        if (strstr(lbase, tail))
            sum += 0.5;
        if (sum > best_sum) {
            *second = best;
            best = in;
            best_sum = sum;
        } else if (sum > 0 && !*second) {
            *second = in;
        }
    }
    if (!best)
        return NULL;
    /* Top three per column, then best pairs first, each item once. */
    for (size_t i = 0; i < d->ncols; i++) {
        s_col_t *c = &d->cols[i];
        if (c->role != S_ANSWER)
            continue;
        for (int j = 0; j < best->nitems; j++) {
            if (best->items[j].scale != c->scale)
                continue;
            double s = s_similarity(c->header, &best->items[j]);
            for (int r = 0; r < 3; r++)
                if (!c->cand[r] || s > c->cands[r]) {
                    for (int q = 2; q > r; q--) {
                        c->cand[q] = c->cand[q - 1];
                        c->cands[q] = c->cands[q - 1];
                    }
                    c->cand[r] = &best->items[j];
                    c->cands[r] = s;
                    break;
                }
        }
    }
    for (;;) {
        s_col_t *bc = NULL;
        const cat_item_t *bi = NULL;
        double bs = -1;
        for (size_t i = 0; i < d->ncols; i++) {
            s_col_t *c = &d->cols[i];
            if (c->role != S_ANSWER || c->item)
                continue;
            for (int j = 0; j < best->nitems; j++) {
                const cat_item_t *it = &best->items[j];
                bool taken = it->scale != c->scale;
                for (size_t k = 0; k < d->ncols && !taken; k++)
                    taken = d->cols[k].item == it;
                double s = taken ? -1 : s_similarity(c->header, it);
                if (s > bs) {
                    bs = s;
                    bc = c;
                    bi = it;
                }
            }
        }
        if (!bc || bs <= 0)
            break;
        bc->item = bi;
        bc->score = bs;
        double next = bc->cand[0] == bi ? bc->cands[1] : bc->cands[0];
        bc->sure = bs >= S_CONFIDENT && bs - next >= S_MARGIN;
    }
    return best;
}

/* ---- writing ------------------------------------------------------------ */

__attribute__((format(printf, 2, 3))) static void s_decide(s_draft_t *d, const char *fmt, ...)
{
    if (d->ndecisions == S_MAX_DECISIONS)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->decisions[d->ndecisions++], sizeof d->decisions[0], fmt, ap);
    va_end(ap);
}

/* A header as the mapping names it: whole, or its start and '*' when it
 * would make the line too long or holds what inih reads as a comment. */
static void s_spec(const char *header, char *out, size_t outlen)
{
    size_t n = strlen(header), cut = n;
    const char *semi = strstr(header, " ;");
    if (semi)
        cut = (size_t) (semi - header);
    if (cut > 120)
        cut = 120;
    while (cut < n && cut > 0 && ((unsigned char) header[cut] & 0xc0) == 0x80)
        cut--; /* not inside a UTF-8 sequence */
    snprintf(out, outlen, "%.*s%s", (int) cut, header, cut < n ? "*" : "");
}

/* The header as messages show it: never one that looks like an
 * identifier (a file without a header line). */
static void s_show(bool en, const s_col_t *c, size_t i, char *out, size_t outlen)
{
    if (!*c->header || anon_looks_identifying(c->header) || anon_contains_identifying(c->header))
        snprintf(out, outlen, T("column %zu", "kolumn %zu"), i + 1);
    else
        snprintf(out, outlen, T("column %zu \"%.150s\"", "kolumn %zu \"%.150s\""), i + 1, c->header);
}

static const char *s_rows(bool en, size_t n)
{
    return n == 1 ? T("row", "rad") : T("rows", "rader");
}

static void s_field_labels(s_draft_t *d, FILE *out, const s_col_t *c, size_t i, const char *field)
{
    static const struct {
        const char *field, *label, *to;
    } known[] = {
        {"gender", "kvinna", "woman"},
        {"gender", "k", "woman"},
        {"gender", "kvinnor", "woman"},
        {"gender", "woman", "woman"},
        {"gender", "man", "man"},
        {"gender", "m", "man"},
        {"gender", "män", "man"},
        {"gender", "annat", "other"},
        {"gender", "annan", "other"},
        {"gender", "icke-binär", "other"},
        {"gender", "other", "other"},
        {"mode", "projekt", "project"},
        {"mode", "project", "project"},
        {"mode", "ordinarie verksamhet", "integrated"},
        {"mode", "ordinarie", "integrated"},
        {"mode", "integrerad", "integrated"},
        {"mode", "integrerad verksamhet", "integrated"},
        {"mode", "integrated", "integrated"},
    };
    bool en = d->en;
    char show[200];
    s_show(en, c, i, show, sizeof show);
    fprintf(out, T("\n[labels.%s]     ; %s, %zu %s filled\n", "\n[labels.%s]     ; %s, %zu %s ifyllda\n"),
            field, show, c->filled, s_rows(en, c->filled));
    for (size_t v = 0; v < c->nvals; v++) {
        const char *to = NULL;
        for (size_t k = 0; k < sizeof known / sizeof *known && !to; k++)
            if (!strcmp(known[k].field, field) && !strcmp(known[k].label, c->vals[v].norm))
                to = known[k].to;
        if (to) {
            fprintf(out, "%s = %s   ; %zu %s\n", c->vals[v].text, to, c->vals[v].rows,
                    s_rows(en, c->vals[v].rows));
        } else {
            fprintf(out, T("; %s = ?   ; %zu %s; NEEDS A DECISION\n", "; %s = ?   ; %zu %s; BESLUT BEHÖVS\n"),
                    c->vals[v].text, c->vals[v].rows, s_rows(en, c->vals[v].rows));
            s_decide(d,
                     T("%s: what is \"%.60s\" (%zu %s) as %s? write `%.60s =%s` (%s) under [labels.%s]; "
                       "a row whose label is not mapped is refused, and with it the whole file",
                       "%s: vad är \"%.60s\" (%zu %s) som %s? skriv `%.60s =%s` (%s) under [labels.%s]; en "
                       "rad vars etikett inte mappas avvisas, och med den hela filen"),
                     show, c->vals[v].text, c->vals[v].rows, s_rows(en, c->vals[v].rows), field,
                     c->vals[v].text, !strcmp(field, "gender") ? "" : " project",
                     !strcmp(field, "gender")
                         ? T("nothing after '=': the row is sent without gender; or other, woman, man",
                             "inget efter '=': raden skickas utan kön; eller other, woman, man")
                         : T("or integrated", "eller integrated"),
                     field);
        }
    }
}

/* True if the catalogue spells the label itself (no mapping line needed). */
static bool s_own_label(const cat_scale_t *sc, const char *norm)
{
    char lab[MAPPING_MAX_CELL + 1];
    for (int v = 0; sc->labels_sv && v < sc->nlabels; v++)
        if (sc->labels_sv[v] && sc->labels_sv[v][0] && csvcell_norm(sc->labels_sv[v], lab, sizeof lab) == 0 &&
            !strcmp(lab, norm))
            return true;
    return false;
}

/* [labels]: the answer labels of every answer column that the catalogue
 * does not spell itself, once each with their rows in all columns. They
 * hold for any item, so deciding a column's item needs no label lines. */
static void s_common_labels(const s_draft_t *d, FILE *out)
{
    bool en = d->en;
    bool any = false;
    for (size_t i = 0; i < d->ncols; i++) {
        const s_col_t *c = &d->cols[i];
        if (c->role != S_ANSWER)
            continue;
        for (size_t v = 0; v < c->nvals; v++) {
            int val = draft_scale_value(c->scale, c->vals[v].norm);
            if (val < 0 || s_own_label(c->scale, c->vals[v].norm))
                continue;
            bool seen = false; /* written for an earlier column */
            for (size_t j = 0; j < i && !seen; j++)
                for (size_t w = 0; d->cols[j].role == S_ANSWER && w < d->cols[j].nvals && !seen; w++)
                    seen = !strcmp(d->cols[j].vals[w].norm, c->vals[v].norm) &&
                           draft_scale_value(d->cols[j].scale, d->cols[j].vals[w].norm) >= 0 &&
                           !s_own_label(d->cols[j].scale, d->cols[j].vals[w].norm);
            if (seen)
                continue;
            size_t rows = 0;
            for (size_t j = i; j < d->ncols; j++)
                for (size_t w = 0; d->cols[j].role == S_ANSWER && w < d->cols[j].nvals; w++)
                    if (!strcmp(d->cols[j].vals[w].norm, c->vals[v].norm))
                        rows += d->cols[j].vals[w].rows;
            if (!any)
                fprintf(out,
                        T("\n[labels]     ; answer labels the catalogue's scales do not spell, for every "
                          "answer column\n",
                          "\n[labels]     ; svarsetiketter som katalogens skalor inte stavar så, för alla "
                          "svarskolumner\n"));
            any = true;
            const char *lab =
                c->scale->labels_sv && val < c->scale->nlabels ? c->scale->labels_sv[val] : NULL;
            fprintf(out,
                    T("%s = %d   ; %zu %s in all columns%s%s\n", "%s = %d   ; %zu %s i alla kolumner%s%s\n"),
                    c->vals[v].text, val, rows, s_rows(en, rows), lab && *lab ? ": " : "",
                    lab && *lab ? lab : "");
        }
    }
}

/* Every label of an answer column as a comment, with its rows and value;
 * a bare number is a decision. */
static void s_answer_labels(s_draft_t *d, FILE *out, const s_col_t *c, size_t i)
{
    bool en = d->en;
    char show[200];
    s_show(en, c, i, show, sizeof show);
    const char *item = c->item && c->sure ? c->item->code : "ITEM";
    fprintf(out, T("\n; %s (%s, scale %s), %zu %s answered:\n", "\n; %s (%s, skala %s), %zu %s besvarade:\n"),
            show, item, c->scale->code, c->filled, s_rows(en, c->filled));
    bool numbers = false;
    for (size_t v = 0; v < c->nvals; v++) {
        int val = draft_scale_value(c->scale, c->vals[v].norm);
        size_t rows = c->vals[v].rows;
        if (val >= 0) {
            const char *lab =
                c->scale->labels_sv && val < c->scale->nlabels ? c->scale->labels_sv[val] : NULL;
            fprintf(out, ";   \"%s\": %zu %s = %d%s%s\n", c->vals[v].text, rows, s_rows(en, rows), val,
                    lab && *lab ? " " : "", lab && *lab ? lab : "");
            continue;
        }
        bool number = val == -2;
        /* The section is written open when the item is known, so the
         * decided lines below it land in it, not in the section above. */
        if (number && !numbers)
            fprintf(out, c->item && c->sure ? "[labels.%s]\n" : "; [labels.%s]\n", item);
        numbers |= number;
        fprintf(out,
                T(";   %s = ?   ; %zu %s; NEEDS A DECISION%s\n", ";   %s = ?   ; %zu %s; BESLUT BEHÖVS%s\n"),
                c->vals[v].text, rows, s_rows(en, rows),
                !number ? ""
                        : T(": a bare number; say which answer it is (1 = Ja, 5 = Stämmer helt)",
                            ": ett tal utan etikett; ange vilket svar det är (1 = Ja, 5 = Stämmer helt)"));
        s_decide(d,
                 T("%s (%s): what does \"%.60s\" mean (%zu %s)? write `%.60s = LABEL` in [labels.%s]%s",
                   "%s (%s): vad betyder \"%.60s\" (%zu %s)? skriv `%.60s = ETIKETT` i [labels.%s]%s"),
                 show, item, c->vals[v].text, rows, s_rows(en, rows), c->vals[v].text, item,
                 !number ? ""
                         : T(" (a bare number is never read as a scale value unasked)",
                             " (ett tal läses aldrig som ett skalvärde utan att ni sagt vad det betyder)"));
    }
}

/* Whether an insats value may be shown: a programme's name ("Steg för
 * steg", "IPS") is the förbund's own word, but a column taken for insats
 * may hold something else, so only a value several rows share, that does
 * not look like an identifier and is not a name (words that all start
 * with a capital) is shown. */
/* Whether a text reads as a person's name: two to four words, each a
 * capital and then small letters only ("Anna Andersson"; not "IPS
 * Västerås", not "Steg för steg"). */
static bool s_name_like(const char *text)
{
    int words = 0;
    const unsigned char *p = (const unsigned char *) text;
    while (*p) {
        while (*p == ' ')
            p++;
        if (!*p)
            break;
        bool upper = (*p >= 'A' && *p <= 'Z') || (*p == 0xC3 && p[1] >= 0x80 && p[1] <= 0x9E);
        if (!upper)
            return false;
        p += *p == 0xC3 ? 2 : 1;
        int rest = 0;
        for (; *p && *p != ' '; rest++) {
            bool lower = (*p >= 'a' && *p <= 'z') || (*p == 0xC3 && p[1] >= 0x9F && p[1] <= 0xBF);
            if (!lower)
                return false;
            p += *p == 0xC3 ? 2 : 1;
        }
        if (rest < 1)
            return false;
        words++;
    }
    return words >= 2 && words <= 4;
}

static bool s_insats_showable(const s_val_t *v)
{
    return v->rows >= 3 && !anon_looks_identifying(v->text) && !anon_contains_identifying(v->text) &&
           !s_name_like(v->text);
}

/* An insats code proposed for a value: lower-case letters a-z (å, ä -> a,
 * ö -> o, é -> e), digits, '-' and '_', no spaces; at most 31 bytes. */
static void s_insats_code(const char *text, char *out, size_t outlen)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *) text; *p && n + 1 < outlen && n < 31; p++) {
        char c = 0;
        if (isalnum(*p))
            c = (char) tolower(*p);
        else if (*p == '-' || *p == '_')
            c = (char) *p;
        else if (*p == 0xC3 && p[1]) {
            unsigned char t = p[1];
            c = t == 0xA5 || t == 0xA4 || t == 0x85 || t == 0x84 ? 'a'
                : t == 0xB6 || t == 0x96                         ? 'o'
                : t == 0xA9 || t == 0x89                         ? 'e'
                : t == 0xBC || t == 0x9C                         ? 'u'
                                                                 : 0;
            p++;
        }
        if (c)
            out[n++] = c;
    }
    out[n] = '\0';
}

/* [labels.insats]: the export's insats names with the codes proposed for
 * them, and the [insatser] lines agent.ini needs. */
static void s_insats_labels(s_draft_t *d, FILE *out, const s_col_t *c, size_t i)
{
    bool en = d->en;
    char show[200];
    s_show(en, c, i, show, sizeof show);
    fprintf(out,
            T("\n[labels.insats]     ; %s: the export's names -> insats codes of [insatser] in agent.ini\n",
              "\n[labels.insats]     ; %s: exportens namn -> insatskoder i [insatser] i agent.ini\n"),
            show);
    size_t hidden = 0, hidden_rows = 0;
    for (size_t v = 0; v < c->nvals; v++) {
        char code[32];
        s_insats_code(c->vals[v].text, code, sizeof code);
        if (!s_insats_showable(&c->vals[v]) || !*code) {
            hidden++;
            hidden_rows += c->vals[v].rows;
            continue;
        }
        fprintf(out, "%s = %s   ; %zu %s\n", c->vals[v].text, code, c->vals[v].rows,
                s_rows(en, c->vals[v].rows));
    }
    if (hidden || c->more_rows) {
        size_t rows = hidden_rows + c->more_rows;
        fprintf(
            out,
            T("; %zu more values not shown (fewer than 3 rows each, or they may be personal data): %zu %s\n",
              "; %zu värden till visas inte (färre än 3 rader var, eller kan vara personuppgifter): %zu "
              "%s\n"),
            hidden, rows, s_rows(en, rows));
        s_decide(
            d,
            T("%s: %zu insats names are not shown here (%zu %s): look them up in the export and write "
              "NAME = code under [labels.insats] for each (a code is 1-31 letters a-z, digits, '_' or '-'), "
              "and the code in [insatser] of agent.ini",
              "%s: %zu insatsnamn visas inte här (%zu %s): se dem i exporten och skriv NAMN = kod under "
              "[labels.insats] för vart och ett (en kod är 1-31 bokstäver a-z, siffror, '_' eller '-'), och "
              "koden i [insatser] i agent.ini"),
            show, hidden ? hidden : 1, rows, s_rows(en, rows));
    }
    fprintf(
        out,
        T("; agent.ini needs each code in [insatser], with its mode (project, integrated or any):\n",
          "; agent.ini behöver varje kod i [insatser], med arbetsform (project, integrated eller any):\n"));
    fprintf(out, ";   [insatser]\n");
    for (size_t v = 0; v < c->nvals; v++) {
        char code[32];
        s_insats_code(c->vals[v].text, code, sizeof code);
        if (s_insats_showable(&c->vals[v]) && *code)
            fprintf(out, ";   %s = any\n", code);
    }
}

static const char *s_kind(cat_instrument_kind_t k)
{
    switch (k) {
    case INSTR_PARTICIPANT_SURVEY: return "participant_survey";
    case INSTR_STATUS: return "status";
    case INSTR_STAFF_SURVEY: return "staff_survey";
    case INSTR_ORGANISATION: return "organisation";
    }
    return "participant_survey";
}

static void s_write(s_draft_t *d, FILE *out, char sep)
{
    bool en = d->en;
    const cat_instrument_t *second = NULL, *in = s_items(d, &second);
    const char *base = strrchr(d->path, '/') ? strrchr(d->path, '/') + 1 : d->path;
    char show[200], spec[200];
    fprintf(out,
            T("; Mapping drafted by `finsam-agent mapping draft` from %.200s:\n"
              "; %zu %s, %zu columns. Check every line. What the draft could not decide is\n"
              "; commented out and listed under \"Decisions needed\" at the end; values of a\n"
              "; column that may identify someone are never shown. Format: docs/import-csv.md\n"
              "\n[file]\n",
              "; Mappning skriven av `finsam-agent mapping draft` från %.200s:\n"
              "; %zu %s, %zu kolumner. Läs varje rad. Det utkastet inte kunde avgöra är\n"
              "; bortkommenterat och listat under \"Beslut som behövs\" i slutet; värden i en\n"
              "; kolumn som kan peka ut någon visas aldrig. Format: docs/import-csv.md\n"
              "\n[file]\n"),
            base, d->rows, s_rows(en, d->rows), d->ncols);
    if (d->workbook) {
        fprintf(out, "sheet = %s\n", d->sheet);
        for (int k = 0; k < d->nsheets; k++)
            if (strcmp(d->sheets[k].name, d->sheet))
                fprintf(
                    out,
                    T("; the workbook's sheet \"%s\" (%zu %s below its first, %zu %s) is not read; choose "
                      "it with sheet = %s\n",
                      "; arbetsbokens blad \"%s\" (%zu %s under den första, %zu %s) läses inte; välj det "
                      "med sheet = %s\n"),
                    d->sheets[k].name, d->sheets[k].rows, s_rows(en, d->sheets[k].rows), d->sheets[k].cols,
                    d->sheets[k].cols == 1 ? T("column", "kolumn") : T("columns", "kolumner"),
                    d->sheets[k].name);
    } else
        fprintf(out, "separator = %s\n", sep == '\t' ? "tab" : sep == ',' ? "comma" : "semicolon");
    fprintf(out, T("; required_items = ITEM   ; rows without these answers are refused\n",
                   "; required_items = ITEM   ; rader utan dessa svar avvisas\n"));
    fprintf(out, "\n[values]\n");
    if (in) {
        fprintf(out, "kind = %s\ninstrument = %s   ; %s%s%s\n", s_kind(in->kind), in->code,
                T("guessed from the answer columns", "gissat från svarskolumnerna"),
                second ? T("; else ", "; annars ") : "", second ? second->code : "");
    } else {
        fprintf(out, "; kind = participant_survey\n; instrument = ?\n");
        s_decide(d,
                 T("no column holds answers on a catalogue scale: set kind and instrument in [values]",
                   "ingen kolumn har svar på en av katalogens skalor: ange kind och instrument i [values]"));
    }
    bool has_mode = false;
    for (size_t i = 0; i < d->ncols; i++)
        has_mode |= d->cols[i].role == S_MODE;

    fprintf(out, "\n[columns]\n");
    bool has_pnr = false, has_date = false;
    for (size_t i = 0; i < d->ncols; i++) {
        s_col_t *c = &d->cols[i];
        s_show(en, c, i, show, sizeof show);
        s_spec(c->header, spec, sizeof spec);
        switch (c->role) {
        case S_PNR:
            has_pnr = true;
            fprintf(
                out,
                T("personnummer = %s   ; %zu of %zu %s a personnummer (10 or 12 digits; values not shown)\n",
                  "personnummer = %s   ; %zu av %zu %s ett personnummer (10 eller 12 siffror; värden "
                  "visas inte)\n"),
                spec, c->n_pnr, c->filled, s_rows(en, c->filled));
            if (c->n_excel)
                s_decide(
                    d,
                    T("%s: %zu %s a number Excel shortened (1,98503E+11); format the column as Text "
                      "before exporting, or export as .xlsx",
                      "%s: %zu %s ett tal som Excel förkortat (1,98503E+11); formatera kolumnen som Text "
                      "före exporten, eller exportera som .xlsx"),
                    show, c->n_excel,
                    c->n_excel == 1 ? T("row holds", "rad har") : T("rows hold", "rader har"));
            break;
        case S_RESPONSE_ID:
            fprintf(out,
                    T("response_id = %s   ; %zu %s (values not shown; hashed, never sent)\n",
                      "response_id = %s   ; %zu %s (värden visas inte; hashas, skickas aldrig)\n"),
                    spec, c->filled, s_rows(en, c->filled));
            break;
        case S_DATE:
            has_date = true;
            fprintf(out,
                    T("date = %s   ; a date in %zu of %zu %s\n", "date = %s   ; ett datum i %zu av %zu %s\n"),
                    spec, c->n_date, c->filled, s_rows(en, c->filled));
            if (c->n_serial)
                s_decide(d,
                         T("%s: %zu %s Excel serial numbers, not dates; export as .xlsx or format the column "
                           "as a date",
                           "%s: %zu %s datum som Excel sparat som löpnummer; exportera som .xlsx eller "
                           "formatera kolumnen som datum"),
                         show, c->n_serial,
                         c->n_serial == 1 ? T("row holds", "rad har") : T("rows hold", "rader har"));
            break;
        case S_GENDER: fprintf(out, "gender = %s\n", spec); break;
        case S_BIRTH_YEAR:
            fprintf(out,
                    T("birth_year = %s   ; a year in %zu of %zu %s\n",
                      "birth_year = %s   ; ett årtal i %zu av %zu %s\n"),
                    spec, c->n_year, c->filled, s_rows(en, c->filled));
            break;
        case S_INSATS:
            fprintf(out,
                    T("insats = %s   ; %zu distinct values: see [labels.insats] below\n",
                      "insats = %s   ; %zu olika värden: se [labels.insats] nedan\n"),
                    spec, c->nvals);
            break;
        case S_MODE: fprintf(out, "mode = %s\n", spec); break;
        case S_PHASE: fprintf(out, "phase = %s\n", spec); break;
        default: break;
        }
    }
    if (!has_pnr && in && in->kind != INSTR_ORGANISATION && in->kind != INSTR_STAFF_SURVEY)
        s_decide(d, T("no column looks like a personnummer: name it in [columns] personnummer = HEADER",
                      "ingen kolumn ser ut som personnummer: ange den i [columns] personnummer = RUBRIK"));
    if (!has_date)
        s_decide(d, T("no column holds dates: name it in [columns] date = HEADER",
                      "ingen kolumn har datum: ange den i [columns] date = RUBRIK"));
    if (!has_mode && in && in->kind == INSTR_PARTICIPANT_SURVEY)
        fprintf(out,
                T("; mode: no column; the mode declared for each insats in agent.ini fills it\n",
                  "; mode: ingen kolumn; arbetsformen som agent.ini anger för varje insats fyller i den\n"));

    fprintf(out, "\n[answers]\n");
    for (size_t i = 0; in && i < d->ncols; i++) {
        s_col_t *c = &d->cols[i];
        if (c->role != S_ANSWER)
            continue;
        s_show(en, c, i, show, sizeof show);
        s_spec(c->header, spec, sizeof spec);
        /* Each candidate with the catalogue's wording, so staff can judge
         * it without the catalogue at hand; words that share nothing with
         * the header (a score of 0) are no candidates. */
        char cands[200] = "", worded[700] = "";
        for (int r = 0; r < 3 && c->cand[r]; r++) {
            if (r && c->cands[r] <= 0)
                break;
            size_t len = strlen(cands), wlen = strlen(worded);
            const char *sv = c->cand[r]->sv;
            snprintf(cands + len, sizeof cands - len, "%s%s %.2f", r ? ", " : "", c->cand[r]->code,
                     c->cands[r]);
            snprintf(worded + wlen, sizeof worded - wlen,
                     sv && *sv ? "%s%s %.2f (\"%.90s\")" : "%s%s %.2f%.0s", r ? ", " : "", c->cand[r]->code,
                     c->cands[r], sv ? sv : "");
        }
        fprintf(out, T("; %s, scale %s: by its words %s\n", "; %s, skala %s: efter orden %s\n"), show,
                c->scale->code, worded[0] ? worded : T("no item", "ingen fråga"));
        if (!c->item) {
            fprintf(out, T("; ITEM = %s   ; NEEDS A DECISION\n", "; ITEM = %s   ; BESLUT BEHÖVS\n"), spec);
            s_decide(d,
                     T("%s: which item of %s is it? (no %s item left; if it is none, delete the line)",
                       "%s: vilken fråga i %s är det? (ingen %s-fråga kvar; är den ingen, ta bort raden)"),
                     show, in->code, c->scale->code);
        } else if (c->sure) {
            fprintf(out, "%s = %s\n", c->item->code, spec);
        } else {
            fprintf(out, T("; %s = %s   ; NEEDS A DECISION\n", "; %s = %s   ; BESLUT BEHÖVS\n"),
                    c->item->code, spec);
            s_decide(d,
                     T("%s: which item is it? best guess %s (%.2f); candidates %s",
                       "%s: vilken fråga är det? bästa gissning %s (%.2f); kandidater %s"),
                     show, c->item->code, c->score, cands);
        }
    }
    /* When a question is undecided, the right one may be none of the
     * guesses: every question of the instrument no column was sure of,
     * with its wording, so staff choose among all of them. */
    bool undecided = false;
    for (size_t i = 0; in && i < d->ncols; i++)
        undecided |= d->cols[i].role == S_ANSWER && !(d->cols[i].item && d->cols[i].sure);
    if (undecided) {
        fprintf(out,
                T("; the questions of %s no column is sure to be (any may be the right one above):\n",
                  "; frågorna i %s som ingen kolumn säkert är (vilken som helst kan vara rätt ovan):\n"),
                in->code);
        for (int k = 0; k < in->nitems; k++) {
            const cat_item_t *it = &in->items[k];
            bool taken = false;
            for (size_t i = 0; i < d->ncols && !taken; i++)
                taken = d->cols[i].role == S_ANSWER && d->cols[i].item == it && d->cols[i].sure;
            if (!taken)
                fprintf(out, ";   %s (%s): \"%s\"\n", it->code, it->scale ? it->scale->code : "-",
                        it->sv ? it->sv : "");
        }
    }
    if (in)
        s_common_labels(d, out);
    for (size_t i = 0; in && i < d->ncols; i++) {
        s_col_t *c = &d->cols[i];
        if (c->role == S_ANSWER)
            s_answer_labels(d, out, c, i);
        else if (c->role == S_GENDER)
            s_field_labels(d, out, c, i, "gender");
        else if (c->role == S_MODE)
            s_field_labels(d, out, c, i, "mode");
    }
    for (size_t i = 0; i < d->ncols; i++)
        if (d->cols[i].role == S_INSATS)
            s_insats_labels(d, out, &d->cols[i], i);

    fprintf(out, T("\n; Dropped, never read:\n", "\n; Utelämnas, läses aldrig:\n"));
    bool any = false;
    for (size_t i = 0; i < d->ncols; i++) {
        s_col_t *c = &d->cols[i];
        const char *why = c->role == S_DROP_IDENT        ? T("may identify someone", "kan peka ut någon")
                          : c->role == S_DROP_TEXT       ? T("free text", "fritext")
                          : c->role == S_DROP_DATE       ? T("another date", "ett annat datum")
                          : c->role == S_DROP            ? T("no field or catalogue scale recognised",
                                                             "inget fält eller ingen av katalogens skalor känns igen")
                          : (c->role == S_ANSWER && !in) ? T("no instrument", "inget formulär")
                                                         : NULL;
        if (!why)
            continue;
        s_show(en, c, i, show, sizeof show);
        fprintf(out, ";   %s: %s\n", show, why);
        any = true;
    }
    if (!any)
        fprintf(out, T(";   none\n", ";   inga\n"));
    for (size_t i = 0; i < d->ncols; i++)
        if (d->cols[i].role == S_INSATS)
            fprintf(
                out,
                T("\n; Before importing: declare each insats code of column %zu in [insatser] of agent.ini "
                  "(see [labels.insats] above)\n",
                  "\n; Före importen: ange varje insatskod i kolumn %zu i [insatser] i agent.ini (se "
                  "[labels.insats] ovan)\n"),
                i + 1);
    if (!d->ndecisions) {
        fprintf(out, T("\n; Decisions needed: none\n", "\n; Beslut som behövs: inga\n"));
        return;
    }
    fprintf(out, T("\n; Decisions needed: %d\n", "\n; Beslut som behövs: %d\n"), d->ndecisions);
    for (int k = 0; k < d->ndecisions; k++)
        fprintf(out, ";   %d. %s\n", k + 1, d->decisions[k]);
}

static void s_today(int *y, int *m, int *dd)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    *y = tm.tm_year + 1900;
    *m = tm.tm_mon + 1;
    *dd = tm.tm_mday;
}

static void s_clear(s_draft_t *d)
{
    for (size_t i = 0; i < d->ncols; i++) {
        free(d->cols[i].header);
        for (size_t v = 0; v < d->cols[i].nvals; v++) {
            free(d->cols[i].vals[v].text);
            free(d->cols[i].vals[v].norm);
        }
    }
    free(d->cols);
    d->cols = NULL;
    d->ncols = d->rows = 0;
    d->have_header = false;
    d->sheet[0] = '\0';
}

/* Reads the sheet asked for or, without one, the sheet with the most
 * rows (survey tools put a cover sheet, "Info", first); the others are
 * named in the draft. */
static fin_err_t s_read_book(s_draft_t *d, const char *sheet, char *err, size_t errlen)
{
    if (sheet && *sheet)
        return sheet_read(d->path, d->path, sheet, s_on_sheet_row, d, err, errlen);
    int best = 0;
    size_t best_rows = 0;
    for (int n = 1; n <= S_MAX_SHEETS; n++) {
        char nth[16], why[512];
        snprintf(nth, sizeof nth, "%d", n);
        s_clear(d);
        fin_err_t rc = sheet_read(d->path, d->path, nth, s_on_sheet_row, d, why, sizeof why);
        if (rc != FIN_OK && n == 1)
            return fin_fail(err, errlen, rc, "%s", why);
        if (rc != FIN_OK) /* past the last sheet */
            break;
        if (d->failed_alloc)
            return FIN_OK;
        snprintf(d->sheets[d->nsheets].name, sizeof d->sheets[d->nsheets].name, "%s", d->sheet);
        d->sheets[d->nsheets].rows = d->rows;
        d->sheets[d->nsheets++].cols = d->ncols;
        if (!best || d->rows > best_rows) {
            best = n;
            best_rows = d->rows;
        }
    }
    if (!best_rows)
        return fin_fail(err, errlen, FIN_EINPUT,
                        "%s: no sheet has rows after a header: nothing to draft from (choose one with "
                        "--sheet NAME)",
                        d->path);
    char nth[16];
    snprintf(nth, sizeof nth, "%d", best);
    s_clear(d);
    return sheet_read(d->path, d->path, nth, s_on_sheet_row, d, err, errlen);
}

fin_err_t draft_write(const char *path, const char *sheet, const catalogue_t *cat, report_lang_t lang,
                      FILE *out, int *ndecisions, char *err, size_t errlen)
{
    s_draft_t *d = calloc(1, sizeof *d);
    if (!d)
        return fin_fail(err, errlen, FIN_ENOMEM, "out of memory");
    d->en = lang == REPORT_EN;
    d->cat = cat;
    d->path = path;
    s_today(&d->ty, &d->tm, &d->td);
    char sep = 0;
    d->workbook = sheet_is_sheet(path);
    fin_err_t rc = d->workbook ? s_read_book(d, sheet, err, errlen)
                               : csvimport_scan(path, 0, MAPPING_ENC_AUTO, s_on_record, d, &sep, err, errlen);
    if (rc == FIN_OK && d->failed_alloc)
        rc = fin_fail(err, errlen, FIN_ENOMEM, "%s: out of memory", path);
    if (rc == FIN_OK && !d->rows)
        rc = fin_fail(err, errlen, FIN_EINPUT, "%s: no rows after the header: nothing to draft from", path);
    if (rc == FIN_OK) {
        s_roles(d);
        s_write(d, out, sep);
        if (ndecisions)
            *ndecisions = d->ndecisions;
    }
    s_clear(d);
    free(d);
    return rc;
}
