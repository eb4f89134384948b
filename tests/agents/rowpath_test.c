/* rowpath_test.c: the two spellings of a CSV row give the same result.
 *
 * A CSV record reaches import_row's checks either as the JSON object
 * mapping_row builds (workbooks, `mapping check`; the only path before)
 * or as the typed fields mapping_fill fills (CSV imports). Here the same
 * records, good and bad, go through both: each must fail in the same
 * column with the same reason and field, or pass, and the outboxes they
 * fill must hold byte-identical events in the same order. Also: the
 * quote-free lines csvimport.c splits itself must give the records
 * libcsv gives for the same text. */
#include "testutil.h"

#include "anonymize.h"
#include "catalogue.h"
#include "csvimport.h"
#include "import.h"
#include "insatser.h"
#include "mapping.h"
#include "outbox.h"

#include <csv.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- two imports of the same records ------------------------------------ */

typedef struct {
    catalogue_t *cat;
    anon_t *anon;
    insatser_t *ins;
    mapping_t *map;
    import_t *imp[2]; /* 0: mapping_row + import_row, 1: mapping_fill + import_row_fields */
    outbox_t *ob[2];
    row_fields_t *fields;
    int accepted, rejected;
} s_pair_t;

static void s_open(s_pair_t *p, const char *ini)
{
    char err[512], dir[300];
    const char *tmp = tu_tempdir();
    memset(p, 0, sizeof *p);
    CHECK(catalogue_load(&p->cat, NULL, err, sizeof err) == 0);
    uint8_t key[ANON_KEY_LEN];
    memset(key, 0x42, sizeof key);
    CHECK((p->anon = anon_new(key)) != NULL);
    CHECK((p->ins = insatser_new("test")) != NULL);
    CHECK(insatser_add(p->ins, "steg1", "", err, sizeof err) == FIN_OK);
    CHECK(insatser_add(p->ins, "steg2", "integrated", err, sizeof err) == FIN_OK);
    const char *path = tu_file_in(tmp, "map.ini", ini);
    fin_err_t rc = mapping_load(&p->map, path, p->cat, err, sizeof err);
    if (rc)
        fprintf(stderr, "mapping_load: %s\n", err);
    CHECK(rc == FIN_OK);
    for (int i = 0; i < 2; i++) {
        snprintf(dir, sizeof dir, "%s/outbox%d", tmp, i);
        CHECK(mkdir(dir, 0700) == 0);
        CHECK(outbox_open(&p->ob[i], dir, err, sizeof err) == FIN_OK);
        /* a fixed clock: both imports judge "today" alike */
        CHECK((p->imp[i] = import_new(p->cat, p->anon, "NV", 1780000000)) != NULL);
        import_set_insatser(p->imp[i], p->ins);
        import_set_window(p->imp[i], mapping_window_days(p->map));
    }
    CHECK((p->fields = malloc(sizeof *p->fields)) != NULL);
    row_fields_init(p->fields);
}

static void s_close(s_pair_t *p)
{
    free(p->fields);
    for (int i = 0; i < 2; i++) {
        import_destroy(&p->imp[i]);
        outbox_close(&p->ob[i]);
    }
    mapping_destroy(&p->map);
    insatser_destroy(&p->ins);
    anon_destroy(&p->anon);
    catalogue_destroy(&p->cat);
}

static void s_bind(s_pair_t *p, const char *const *header, size_t n)
{
    char err[512];
    fin_err_t rc = mapping_bind(p->map, header, n, err, sizeof err);
    if (rc)
        fprintf(stderr, "mapping_bind: %s\n", err);
    CHECK(rc == FIN_OK);
}

/* One record through both paths: the same outcome, column, field, reason. */
static void s_record(s_pair_t *p, const char *const *cells, size_t n, long line)
{
    char why[2][400] = {"", ""}, field[2][64] = {"", ""};
    int col[2] = {-2, -2}, rc[2];
    json_t *row = mapping_row(p->map, cells, n, &col[0], why[0], sizeof why[0]);
    rc[0] = row ? 0 : -1;
    if (row) {
        import_set_position(p->imp[0], NULL, line);
        rc[0] = import_row(p->imp[0], row, field[0], sizeof field[0], why[0], sizeof why[0]) < 0 ? -2 : 0;
        json_decref(row);
    }
    rc[1] = mapping_fill(p->map, cells, n, p->fields, &col[1], why[1], sizeof why[1]);
    if (rc[1] == 0) {
        import_set_position(p->imp[1], NULL, line);
        rc[1] = import_row_fields(p->imp[1], p->fields, field[1], sizeof field[1], why[1], sizeof why[1]) < 0
                    ? -2
                    : 0;
    }
    if (rc[0] != rc[1] || strcmp(why[0], why[1]) || strcmp(field[0], field[1]) ||
        (rc[0] == -1 && col[0] != col[1]))
        fprintf(stderr, "line %ld: json rc %d col %d %s: %s | fields rc %d col %d %s: %s\n", line, rc[0],
                col[0], field[0], why[0], rc[1], col[1], field[1], why[1]);
    CHECK_EQ(rc[0], rc[1]);
    CHECK(!strcmp(why[0], why[1]));
    CHECK(!strcmp(field[0], field[1]));
    if (rc[0] == -1)
        CHECK_EQ(col[0], col[1]);
    rc[0] == 0 ? p->accepted++ : p->rejected++;
}

typedef struct {
    char *all;
    size_t len;
    int n;
} s_events_t;

static int s_take(uint64_t seq, const uint8_t *bytes, size_t len, void *arg)
{
    (void) seq;
    s_events_t *e = arg;
    CHECK((e->all = realloc(e->all, e->len + len + 4)) != NULL);
    memcpy(e->all + e->len, &len, 4); /* lengths too: the same cut into events */
    memcpy(e->all + e->len + 4, bytes, len);
    e->len += len + 4;
    e->n++;
    return 0;
}

/* Commits both imports; their outboxes must hold the same bytes. */
static void s_commit_and_compare(s_pair_t *p)
{
    char err[512];
    import_stats_t st[2] = {{0}, {0}};
    s_events_t ev[2] = {{0}, {0}};
    CHECK_EQ(import_pending(p->imp[0]), import_pending(p->imp[1]));
    for (int i = 0; i < 2; i++) {
        CHECK(import_commit(p->imp[i], p->ob[i], false, &st[i], err, sizeof err) == FIN_OK);
        CHECK(outbox_peek(p->ob[i], 0, 1000000, s_take, &ev[i]) >= 0);
    }
    fprintf(stderr, "accepted %d rejected %d, events %d and %d\n", p->accepted, p->rejected, ev[0].n,
            ev[1].n);
    CHECK_EQ(st[0].accepted, st[1].accepted);
    CHECK_EQ(st[0].corrected, st[1].corrected);
    CHECK_EQ(st[0].already, st[1].already);
    CHECK_EQ(ev[0].n, ev[1].n);
    CHECK(ev[0].n == p->accepted - (int) st[0].already);
    CHECK_EQ(ev[0].len, ev[1].len);
    CHECK(ev[0].len == 0 || !memcmp(ev[0].all, ev[1].all, ev[0].len));
    free(ev[0].all);
    free(ev[1].all);
}

/* A small deterministic generator (xorshift), so a failure repeats. */
static uint64_t s_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

#define S_PICK(s, a) ((a)[s_rand(s) % TU_NELEMS(a)])

/* ---- the exit survey, as agents/examples/enkat-avslut.ini maps it ------- */

static const char *const s_survey_header[] = {"Svars-ID",
                                              "Slutdatum",
                                              "Personnummer",
                                              "Namn",
                                              "Insats",
                                              "Arbetsform",
                                              "Kön",
                                              "Födelseår",
                                              "Jag fick det stöd jag behövde",
                                              "Jag var med och planerade mitt stöd",
                                              "Jag kunde påverka stödet",
                                              "Insatsen pågick lagom länge",
                                              "Hade du en person som samordnade ditt stöd?",
                                              "Jag kan hantera min situation bättre nu",
                                              "Stödet hjälper mig att leva som jag vill",
                                              "Finns det en plan för vad som händer efter insatsen?"};

static void test_survey_rows_agree(void)
{
    FILE *f = fopen(tu_src("agents/examples/enkat-avslut.ini"), "r");
    CHECK(f != NULL);
    static char ini[16384];
    size_t n = fread(ini, 1, sizeof ini - 1, f);
    ini[n] = '\0';
    fclose(f);
    s_pair_t p;
    s_open(&p, ini);
    s_bind(&p, s_survey_header, TU_NELEMS(s_survey_header));
    /* Mostly good cells, and every kind of bad one now and then. */
    static const char *const ids[] = {"", "1001", "1002", " 1003 ", "x@example.se", "1001"};
    static const char *const dates[] = {"2025-02-08", "2025-02-08",      "8/2/2025",   " 2025-03-01 ",
                                        "2025-13-01", "46095",           "2099-01-01", "1999-12-31",
                                        "",           "2025-02-08 10:00"};
    static const char *const pnrs[] = {"19800313-6663",  "198003136663", "800313-6663",
                                       "19860208-0924",  "860208 0924",  "19800313-6664",
                                       "1,98003E+11",    "800313663",    "",
                                       "19800313-6663 ", "20100101-0000"};
    static const char *const names[] = {"Namn Namnsson", "070-123 45 67", ""};
    static const char *const insatser[] = {"steg1", "steg1", "steg2", "Steg1", "okänd", "", " steg1 "};
    static const char *const modes[] = {"Projekt",   "Ordinarie verksamhet", "", "project", "Annat",
                                        "integrated"};
    static const char *const genders[] = {"Kvinna", "Man", "Annat", "Vill inte uppge", "", "kvinna", "X"};
    static const char *const years[] = {"1980", "1986", "", "1980,0", "abc", "2030", "1899", " 1990 "};
    static const char *const answers[] = {"Instämmer helt",
                                          "Instämmer till stor del",
                                          "Instämmer delvis",
                                          "Instämmer i liten grad",
                                          "Instämmer inte alls",
                                          "Vet ej",
                                          "Ej aktuellt",
                                          "",
                                          "4",
                                          "3",
                                          "4,0",
                                          "2,5",
                                          "Kanske",
                                          "Ja",
                                          "Nej",
                                          "070-1234567",
                                          " instämmer HELT "};
    static const char *const good[] = {"Instämmer helt", "Instämmer delvis", "Vet ej", "", "3"};
    static const char *const yesno[] = {"Ja", "Nej", "Vet ej", "", "1", "0", "Jaa"};
    uint64_t seed = 0x2545f4914f6cdd1dull;
    for (long line = 2; line < 3000; line++) {
        bool clean = s_rand(&seed) % 4 != 0; /* a quarter of the rows draw from every pool */
        const char *cells[TU_NELEMS(s_survey_header)] = {
            clean ? "" : S_PICK(&seed, ids),
            clean ? "2025-02-08" : S_PICK(&seed, dates),
            clean ? S_PICK(&seed, pnrs) : S_PICK(&seed, pnrs),
            S_PICK(&seed, names),
            clean ? "steg1" : S_PICK(&seed, insatser),
            clean ? "Projekt" : S_PICK(&seed, modes),
            clean ? "Kvinna" : S_PICK(&seed, genders),
            clean ? "" : S_PICK(&seed, years),
        };
        for (size_t i = 8; i < TU_NELEMS(s_survey_header); i++)
            cells[i] = i == 12 || i == 15 ? S_PICK(&seed, yesno) : S_PICK(&seed, answers);
        for (size_t i = 8; clean && i < TU_NELEMS(s_survey_header); i++)
            cells[i] = i == 12 || i == 15 ? "Ja" : i == 8 ? "Instämmer helt" : S_PICK(&seed, good);
        s_record(&p, cells, TU_NELEMS(cells), line);
    }
    fprintf(stderr, "accepted %d rejected %d\n", p.accepted, p.rejected);
    CHECK(p.accepted > 100 && p.rejected > 100);
    s_commit_and_compare(&p);
    s_close(&p);
}

/* ---- status rows: [values] defaults, numbers, booleans, blank labels ---- */

static const char s_status_ini[] = "[file]\n"
                                   "correction-window-days = 10\n"
                                   "[values]\n"
                                   "kind = status\n"
                                   "phase = exit\n"
                                   "mode = project\n"
                                   "occupation = none\n"
                                   "[columns]\n"
                                   "personnummer = Pnr\n"
                                   "date = Datum\n"
                                   "insats = Insats\n"
                                   "mode = Form\n"
                                   "occupation = Syssla\n"
                                   "income = Inkomst\n"
                                   "extent_pct = Omfattning\n"
                                   "days_in_insats = Dagar\n"
                                   "assessed_with_participant = Tillsammans\n"
                                   "gender = Kön\n"
                                   "response_id = ID\n"
                                   "[labels.gender]\n"
                                   "Kvinna = woman\n"
                                   "Man = man\n"
                                   "Vill ej uppge =\n"
                                   "[labels.occupation]\n"
                                   "Arbete = work\n"
                                   "Studier = studies\n"
                                   "[labels.assessed_with_participant]\n"
                                   "Japp = ja\n";

static const char *const s_status_header[] = {
    "Pnr", "Datum", "Insats", "Form", "Syssla", "Inkomst", "Omfattning", "Dagar", "Tillsammans", "Kön", "ID"};

static void test_status_rows_agree(void)
{
    s_pair_t p;
    s_open(&p, s_status_ini);
    s_bind(&p, s_status_header, TU_NELEMS(s_status_header));
    static const char *const pnrs[] = {"19800313-6663", "19860208-0924", "800313-6663", "19800313-6664", ""};
    static const char *const dates[] = {"2025-02-08", "2025-02-09", "2025-03-20", "3/3/2025", "", "x"};
    static const char *const insatser[] = {"steg1", "steg2", "", "steg3"};
    static const char *const modes[] = {"", "project", "integrated", "Projekt"};
    static const char *const occ[] = {"", "Arbete", "Studier", "work", "none", "Semester"};
    static const char *const inc[] = {"wage", "", "other", "lön", "unemployment"};
    static const char *const pct[] = {"", "50", "37,5", "100", "101", "-1", "12,4", "x", "1 0"};
    static const char *const days[] = {"", "0", "30", "3650", "3651", "100001", "1,5", "1 234"};
    static const char *const bools[] = {"", "ja", "Nej", "JA", "true", "1", "0", "Japp", "kanske", "yes"};
    static const char *const genders[] = {"", "Kvinna", "Man", "Vill ej uppge", "annan"};
    static const char *const ids[] = {"", "", "r1", "r2", "r1", "19800313-6663"};
    uint64_t seed = 0x9e3779b97f4a7c15ull;
    for (long line = 2; line < 2000; line++) {
        const char *cells[] = {S_PICK(&seed, pnrs),    S_PICK(&seed, dates), S_PICK(&seed, insatser),
                               S_PICK(&seed, modes),   S_PICK(&seed, occ),   S_PICK(&seed, inc),
                               S_PICK(&seed, pct),     S_PICK(&seed, days),  S_PICK(&seed, bools),
                               S_PICK(&seed, genders), S_PICK(&seed, ids)};
        s_record(&p, cells, TU_NELEMS(cells), line);
    }
    CHECK(p.accepted > 20 && p.rejected > 100);
    s_commit_and_compare(&p);
    s_close(&p);
}

/* ---- quote-free lines: csvimport's split against libcsv's ---------------- */

typedef struct {
    char *text; /* records as "cell|cell|...\n" */
    size_t len;
    FILE *f;
} s_records_t;

static void s_ref_field(void *data, size_t len, void *arg)
{
    s_records_t *r = arg;
    fputc('[', r->f);
    fwrite(data, 1, len, r->f);
    fputc(']', r->f);
}

static void s_ref_record(int term, void *arg)
{
    (void) term;
    s_records_t *r = arg;
    fputc('\n', r->f);
}

static int s_scan_record(const char *const *cells, size_t n, long line, void *arg)
{
    (void) line;
    s_records_t *r = arg;
    for (size_t i = 0; i < n; i++)
        fprintf(r->f, "[%s]", cells[i]);
    fputc('\n', r->f);
    return 0;
}

/* libcsv over the whole text, less its blank records (which
 * csvimport_scan leaves out too). */
static char *s_libcsv_records(const char *text, char sep)
{
    s_records_t r = {0};
    CHECK((r.f = open_memstream(&r.text, &r.len)) != NULL);
    struct csv_parser parser;
    CHECK(csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) == 0);
    csv_set_delim(&parser, (unsigned char) sep);
    CHECK(csv_parse(&parser, text, strlen(text), s_ref_field, s_ref_record, &r) == strlen(text));
    CHECK(csv_fini(&parser, s_ref_field, s_ref_record, &r) == 0);
    csv_free(&parser);
    fclose(r.f);
    /* drop records whose cells are all spaces, tabs or CRs */
    char *out = calloc(1, r.len + 1), *w = out;
    for (char *line = r.text, *nl; line && *line; line = nl + 1) {
        nl = strchr(line, '\n');
        bool blank = true;
        for (char *c = line; c < nl && blank; c++)
            blank = strchr("[] \t\r", *c) != NULL;
        if (!blank) {
            memcpy(w, line, (size_t) (nl - line) + 1);
            w += nl - line + 1;
        }
    }
    free(r.text);
    return out;
}

static void s_split_agrees(const char *dir, const char *text, char sep)
{
    const char *path = tu_file_in(dir, "split.csv", text);
    s_records_t got = {0};
    CHECK((got.f = open_memstream(&got.text, &got.len)) != NULL);
    char err[256], used;
    fin_err_t rc = csvimport_scan(path, sep, MAPPING_ENC_UTF8, s_scan_record, &got, &used, err, sizeof err);
    fclose(got.f);
    if (rc)
        fprintf(stderr, "scan: %s\n", err);
    CHECK(rc == FIN_OK);
    char *want = s_libcsv_records(text, sep);
    if (strcmp(got.text, want))
        fprintf(stderr, "sep '%c'\ncsvimport:\n%s\nlibcsv:\n%s\n", sep, got.text, want);
    CHECK(!strcmp(got.text, want));
    free(want);
    free(got.text);
}

static void test_split_agrees_with_libcsv(void)
{
    /* '|' stands for the separator; ',' and ';' are then plain text or
     * the separator, as it falls */
    static const char *const lines[] = {
        "a|b|c\n",   " a | b |c \n",      "\ta\t|\tb\n",         "|||\n",          "  \n",
        "\n",        "a|b\r\n",           " |x| \r\n",           "x\r\n",          "\r\n",
        "a,b;c,d\n", "\"q|1\"|x\n",       "\"multi\nline\"|y\n", "a|\"b\"\"c\"\n", "tail|  \t \n",
        "\t\t\n",    "é | Ä\xc2\xa0|ö\n", "a\tb\tc\n",           " \t|\t \n",      "x|\"\"\n",
        "one\n",     "  lead\n",          "a|b\rc|d\n",          "last|line"};
    uint64_t seed = 0x1234567ull;
    const char *dir = tu_tempdir();
    static const char seps[] = {';', ',', '\t'};
    for (int round = 0; round < 60; round++) {
        char text[4096] = "";
        size_t n = 2 + s_rand(&seed) % 12;
        for (size_t i = 0; i < n; i++) {
            const char *l = S_PICK(&seed, lines);
            if (!strcmp(l, "last|line") && i + 1 < n)
                continue; /* no newline: only at the end */
            strncat(text, l, sizeof text - strlen(text) - 1);
        }
        for (char *c = text; *c; c++)
            if (*c == '|')
                *c = seps[round % 3];
        s_split_agrees(dir, text, seps[round % 3]);
    }
}

static const test_case_t s_cases[] = {
    {"survey rows agree", test_survey_rows_agree},
    {"status rows agree", test_status_rows_agree},
    {"split agrees with libcsv", test_split_agrees_with_libcsv},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
