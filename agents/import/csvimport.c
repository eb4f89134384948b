/* csvimport.c: CSV files -> canonical rows -> events (see csvimport.h).
 *
 * The design decision: the file is read and decoded to UTF-8 in memory
 * first, then handed to libcsv one physical line at a time. Decoding first
 * is what makes the encoding decision sound (a Latin-1 file is one with any
 * byte sequence that is not UTF-8, wherever it is); feeding line by line
 * is how we know the line a record starts on, which libcsv does not tell:
 * a record that completes while line L is fed started at the first
 * non-blank line fed after the previous record ended.
 *
 * A line without quotes is split here by libcsv's own rules
 * (s_feed_line); anything else goes to libcsv. An import reads, maps
 * (mapping_fill, no JSON) and prepares each record's event
 * (import_prepare) on a reader thread, while the import's thread adds
 * the events and reports the rejected rows in file order (import_add,
 * "the hand-over" below): two cores of a site machine both work, and
 * nothing a user sees depends on it.
 *
 * Why one file of about 750 lines: import and scan (for `mapping
 * draft` and `check`) share the decoding and the line counting above, and
 * their two libcsv callbacks differ only in what a record does.
 *
 * Deliberately not done: guessing column meanings or encodings beyond
 * UTF-8 vs. Windows-1252, and streaming files larger than
 * CSVIMPORT_MAX_BYTES (an export of a förbund is a few MB). */
#include "csvimport.h"

#include "batchq.h"
#include "csvcell.h"
#include "rejects.h"
#include "report_text.h"
#include "log.h"
#include "util.h"

#include <csv.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    const char *label; /* the file as messages name it (import_opts_t.label) */
    mapping_t *map;
    const import_opts_t *o;
    import_t *imp;
    import_stats_t st;
    rejects_t *rejects;
    /* the reader's (s_read_all): the record's fields (mapping_fill) and
     * its event being built (import_prepare), both reused */
    row_fields_t *row;
    row_event_t *scratch;
    /* the hand-over: the batch being filled, the queue of full ones, the
     * queue of empty ones; without a reader thread (threaded false) a
     * full batch is imported at once */
    struct s_batch *batch;
    batchq_t *full, *empty;
    bool threaded;
    /* the text and the parser, for the reader */
    const char *text;
    size_t len;
    struct csv_parser *parser;
    int idle;
    size_t off;   /* text read so far */
    int last_pct; /* the progress bar's, on the import's thread */
    /* the record being collected: its cells are NUL-terminated strings
     * one after another in `arena` (no allocation per cell); until the
     * record ends, cells[i] holds the offset of cell i there, since the
     * arena may move as it grows (s_on_record makes them pointers) */
    char **cells;
    size_t ncells, cap;
    char *arena;
    size_t alen, acap;
    bool has_nul;
    bool failed_alloc;
    /* where we are */
    long line;     /* physical line being fed, from 1 */
    long rec_line; /* line the current record started on */
    bool between;  /* no record in progress */
    bool have_header;
    size_t nheader;
    bool fatal; /* the file's fault stops the import (reason on o->errors) */
    char sep;
} s_ctx_t;

/* ---- decoding ---------------------------------------------------------- */

/* Windows-1252 is what Swedish Excel writes when it says "Latin-1"; it is
 * ISO-8859-1 except for 0x80-0x9F. Undefined bytes keep their Latin-1 code
 * point. */
static const uint16_t s_cp1252[32] = {0x20ac, 0x0081, 0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
                                      0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0x008d, 0x017d, 0x008f,
                                      0x0090, 0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
                                      0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0x009d, 0x017e, 0x0178};

static char *s_from_cp1252(const uint8_t *p, size_t n, size_t *outlen)
{
    char *out = malloc(3 * n + 1), *w = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        uint32_t cp = p[i] >= 0x80 && p[i] < 0xa0 ? s_cp1252[p[i] - 0x80] : p[i];
        if (cp < 0x80) {
            *w++ = (char) cp;
        } else if (cp < 0x800) {
            *w++ = (char) (0xc0 | cp >> 6);
            *w++ = (char) (0x80 | (cp & 0x3f));
        } else {
            *w++ = (char) (0xe0 | cp >> 12);
            *w++ = (char) (0x80 | ((cp >> 6) & 0x3f));
            *w++ = (char) (0x80 | (cp & 0x3f));
        }
    }
    *w = '\0';
    *outlen = (size_t) (w - out);
    return out;
}

/* Reads the whole file. Returns FIN_OK, or a code with the reason in err:
 * FIN_ENOTFOUND (cannot open), FIN_EINPUT (too large), FIN_EAGAIN (it
 * changed while being read), FIN_EIO, FIN_ENOMEM. */
static fin_err_t s_read(const char *path, const char *label, uint8_t **out, size_t *len, char *err,
                        size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fin_fail(err, errlen, FIN_ENOTFOUND, "%s: cannot open: %s", label, strerror(errno));
    fin_err_t rc;
    struct stat st;
    uint8_t *buf = NULL;
    if (fstat(fd, &st) < 0) {
        rc = fin_fail(err, errlen, FIN_EIO, "%s: %s", label, strerror(errno));
        goto close_fd;
    }
    if (st.st_size > CSVIMPORT_MAX_BYTES) {
        rc = fin_fail(err, errlen, FIN_EINPUT, "%s: larger than %ld MiB; split the export", label,
                      CSVIMPORT_MAX_BYTES >> 20);
        goto close_fd;
    }
    size_t cap = (size_t) st.st_size + 1, n = 0;
    if (!(buf = malloc(cap + 1))) {
        rc = fin_fail(err, errlen, FIN_ENOMEM, "%s: out of memory", label);
        goto close_fd;
    }
    for (;;) {
        /* One byte of room more than fstat said: reading into it means the
         * file grew while we read. */
        if (n == cap) {
            rc = fin_fail(err, errlen, FIN_EAGAIN, "%s: changed while being read", label);
            goto free_buf;
        }
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = fin_fail(err, errlen, FIN_EIO, "%s: read error: %s", label, strerror(errno));
            goto free_buf;
        }
        if (r == 0)
            break;
        n += (size_t) r;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    buf = NULL;
    rc = FIN_OK;
free_buf:
    free(buf);
close_fd:
    close(fd);
    return rc;
}

/* The separator of the header line: the most frequent of ';' ',' TAB
 * outside quotes (';' wins ties: Swedish Excel's choice). */
static char s_detect_separator(const char *p, size_t n)
{
    size_t semi = 0, comma = 0, tab = 0;
    bool quoted = false;
    for (size_t i = 0; i < n && (quoted || (p[i] != '\n' && p[i] != '\r')); i++) {
        if (p[i] == '"')
            quoted = !quoted;
        else if (!quoted)
            semi += p[i] == ';', comma += p[i] == ',', tab += p[i] == '\t';
    }
    if (tab > semi && tab > comma)
        return '\t';
    return comma > semi ? ',' : ';';
}

/* ---- the hand-over ----------------------------------------------------- */

/* The reader thread reads, maps and prepares records (import_prepare);
 * the import's thread adds them (import_add) and says what was wrong, in
 * file order: everything either thread finds about a record travels in
 * its entry, so rejected rows, their lines and columns, and the events
 * come out exactly as when one thread did it all. The reader never
 * touches the import's pending set, the rejects or the counts. */

#define S_BATCH 128 /* records per hand-over */
#define S_NBATCH 4  /* batches in flight: memory stays bounded (~100 KB each) */

typedef enum {
    S_E_ROW,    /* prepared (prep.rc may say it failed: then col and cell) */
    S_E_REJECT, /* refused before preparing: col, what ("row"), why, cell */
    S_E_FATAL   /* the file stops here: what ("header", "csv"), why */
} s_kind_t;

typedef struct {
    s_kind_t kind;
    long line;        /* where the record starts */
    int col;          /* the column at fault, or -1 */
    char *cell;       /* a copy of its cell (rejects_add reads it), or NULL */
    const char *what; /* a string literal */
    char *why;        /* S_E_REJECT, S_E_FATAL: the reason (NULL: out of memory) */
    import_prep_t prep;
} s_entry_t;

typedef struct s_batch {
    size_t n;
    size_t off; /* text read when it was handed over, for the progress bar */
    bool last;
    s_entry_t e[S_BATCH];
} s_batch_t;

static void s_progress(const s_ctx_t *c, size_t done, size_t total, int *last);

/* The import's side: one batch, in order. */
static void s_consume(s_ctx_t *c, s_batch_t *b)
{
    char field[64], why[400];
    for (size_t i = 0; i < b->n; i++) {
        s_entry_t *e = &b->e[i];
        const char *reason = e->why ? e->why : "out of memory";
        switch (e->kind) {
        case S_E_FATAL: rejects_file(c->rejects, NULL, e->line, e->what, reason); break;
        case S_E_REJECT:
            c->st.rows++;
            c->st.rejected++;
            rejects_add(c->rejects, NULL, e->line, e->col, e->what, reason, e->cell);
            break;
        case S_E_ROW:
            c->st.rows++;
            import_set_position(c->imp, NULL, e->line);
            if (import_add(c->imp, &e->prep, field, sizeof field, why, sizeof why) < 0) {
                /* a failure of import_add's own checks is the event's,
                 * never a column's */
                int col = e->prep.rc < 0 ? e->col : mapping_column_of(c->map, field);
                c->st.rejected++;
                rejects_add(c->rejects, NULL, e->line, col, field, why, e->prep.rc < 0 ? e->cell : NULL);
            }
            import_prep_clear(&e->prep);
            break;
        }
        free(e->cell);
        free(e->why);
    }
    if (c->o->progress)
        s_progress(c, b->off, c->len, &c->last_pct);
}

/* The reader's side: hands the batch being filled over. */
static void s_hand_over(s_ctx_t *c, size_t off, bool last)
{
    s_batch_t *b = c->batch;
    c->batch = NULL;
    b->off = off;
    b->last = last;
    if (c->threaded) {
        batchq_push(c->full, b);
        return;
    }
    s_consume(c, b);
    batchq_push(c->empty, b);
}

/* The next entry of the batch being filled (a record at c->rec_line). */
static s_entry_t *s_entry(s_ctx_t *c, s_kind_t kind)
{
    if (!c->batch) {
        c->batch = batchq_pop(c->empty);
        c->batch->n = 0;
    }
    s_entry_t *e = &c->batch->e[c->batch->n++];
    e->kind = kind;
    e->line = c->rec_line;
    e->col = -1;
    e->cell = NULL;
    e->what = "row";
    e->why = NULL;
    e->prep.bytes = NULL;
    return e;
}

static void s_entry_done(s_ctx_t *c)
{
    if (c->batch->n == S_BATCH)
        s_hand_over(c, c->off, false);
}

/* A copy of cell col of the record, for rejects_add (NULL if none). */
static char *s_cell_copy(s_ctx_t *c, int col)
{
    if (col < 0 || (size_t) col >= c->ncells)
        return NULL;
    char *copy = strdup(c->cells[col]);
    if (!copy)
        c->failed_alloc = true;
    return copy;
}

/* ---- records ----------------------------------------------------------- */

static void s_reject(s_ctx_t *c, int col, const char *why)
{
    s_entry_t *e = s_entry(c, S_E_REJECT);
    e->col = col;
    e->cell = s_cell_copy(c, col);
    if (!(e->why = strdup(why)))
        c->failed_alloc = true;
    s_entry_done(c);
}

/* What stops the file: "header" or "csv", and why. */
static void s_fatal(s_ctx_t *c, const char *what, const char *why)
{
    s_entry_t *e = s_entry(c, S_E_FATAL);
    e->what = what;
    if (!(e->why = strdup(why)))
        c->failed_alloc = true;
    c->fatal = true;
    s_entry_done(c);
}

static void s_row(s_ctx_t *c)
{
    const char *const *cells = (const char *const *) c->cells;
    if (!c->have_header) {
        char err[512], hint[160] = "";
        if (mapping_bind(c->map, cells, c->ncells, err, sizeof err) != FIN_OK) {
            /* One column that holds another separator: the wrong one was
             * guessed or set. */
            for (const char *p = ",;\t"; c->ncells == 1 && *p && !hint[0]; p++)
                if (*p != c->sep && strchr(cells[0], *p))
                    snprintf(hint, sizeof hint,
                             "; the header has 1 column but contains '%s'; is the separator '%s'? set "
                             "`separator = %s` in [file]",
                             *p == '\t' ? "\\t" : (char[]){*p, 0}, *p == '\t' ? "\\t" : (char[]){*p, 0},
                             *p == ','   ? "comma"
                             : *p == ';' ? "semicolon"
                                         : "tab");
            strncat(err, hint, sizeof err - strlen(err) - 1);
            s_fatal(c, "header", err);
            return;
        }
        c->have_header = true;
        c->nheader = c->ncells;
        return;
    }
    char why[400];
    int col;
    if (c->has_nul) {
        s_reject(c, -1, "contains a NUL byte");
        return;
    }
    if (c->ncells != c->nheader) {
        snprintf(why, sizeof why, "has %zu columns, the header has %zu (a stray separator or quote?)",
                 c->ncells, c->nheader);
        s_reject(c, -1, why);
        return;
    }
    if (mapping_fill(c->map, cells, c->ncells, c->row, &col, why, sizeof why) < 0) {
        s_reject(c, col, why);
        return;
    }
    s_entry_t *e = s_entry(c, S_E_ROW);
    if (import_prepare(c->imp, &(row_in_t){.cells = c->row}, c->scratch, &e->prep) < 0) {
        e->col = mapping_column_of(c->map, e->prep.field);
        e->cell = s_cell_copy(c, e->col);
    }
    s_entry_done(c);
}

static void s_clear_cells(s_ctx_t *c)
{
    c->ncells = 0;
    c->alen = 0;
    c->has_nul = false;
}

/* The file's bytes as UTF-8 text: a UTF-8 BOM dropped, Windows-1252
 * converted (enc, or detected), UTF-16 refused with advice. *text points
 * into raw when *utf8, else it is the caller's to free. FIN_OK, or
 * FIN_EINPUT / FIN_ENOMEM with the reason in why. */
static fin_err_t s_decode(const uint8_t *raw, size_t rawlen, mapping_encoding_t enc, char **text, size_t *len,
                          bool *utf8, char *why, size_t whylen)
{
    const uint8_t *p = raw;
    size_t n = rawlen;
    if (n >= 2 && ((p[0] == 0xff && p[1] == 0xfe) || (p[0] == 0xfe && p[1] == 0xff)))
        return fin_fail(why, whylen, FIN_EINPUT,
                        "encoding: UTF-16 is not supported; save the export as CSV (UTF-8)");
    bool bom = n >= 3 && p[0] == 0xef && p[1] == 0xbb && p[2] == 0xbf;
    if (bom)
        p += 3, n -= 3;
    *utf8 = enc != MAPPING_ENC_LATIN1 && (bom || enc == MAPPING_ENC_UTF8 || csvcell_is_utf8(p, n));
    if (*utf8 && !csvcell_is_utf8(p, n))
        return fin_fail(why, whylen, FIN_EINPUT,
                        "encoding: not valid UTF-8 (the mapping or a BOM says it is)");
    if (*utf8) {
        *text = (char *) p;
        *len = n;
    } else if (!(*text = s_from_cp1252(p, n, len))) {
        *utf8 = true; /* nothing to free */
        return fin_fail(why, whylen, FIN_ENOMEM, "out of memory");
    }
    return FIN_OK;
}

/* The next physical line of text at off, with its '\n', counted in
 * *line; the first line that is not blank after a record ended (*between)
 * is where the next record starts (*rec_line), which messages name. */
static size_t s_next_line(const char *text, size_t len, size_t off, long *line, long *rec_line, bool *between)
{
    const char *nl = memchr(text + off, '\n', len - off);
    size_t chunk = nl ? (size_t) (nl - (text + off)) + 1 : len - off;
    (*line)++;
    if (*between) {
        bool blank = true;
        for (size_t i = 0; i < chunk && blank; i++)
            blank = strchr(" \t\r\n", text[off + i]) != NULL;
        if (!blank) {
            *rec_line = *line;
            *between = false;
        }
    }
    return chunk;
}

/* Feeds one physical line (with its '\n') to the parser, as csv_parse
 * does, and returns what csv_parse would. A line with no quote and no
 * '\r' but at its end, met while the parser is between records, is
 * split here instead: libcsv's rules for such a line are few (fields
 * end at the separator; spaces and tabs around a field are dropped; a
 * line of spaces only is no record) and byte-by-byte callbacks were a
 * sixth of an import's cost. Anything else goes to libcsv unchanged.
 * `idle` is the parser's state between records (csv_init's). */
static size_t s_feed_line(struct csv_parser *parser, int idle, const char *line, size_t len, char sep,
                          void (*on_field)(void *, size_t, void *), void (*on_record)(int, void *), void *arg)
{
    size_t n = len;
    if (parser->pstate != idle || parser->entry_pos != 0 || n == 0 || line[n - 1] != '\n' ||
        memchr(line, '"', n))
        return csv_parse(parser, line, len, on_field, on_record, arg);
    n--;
    int term = '\n';
    if (n && line[n - 1] == '\r')
        n--, term = '\r';
    if (memchr(line, '\r', n))
        return csv_parse(parser, line, len, on_field, on_record, arg);
    size_t i = 0;
    while (i < n && (line[i] == ' ' || line[i] == '\t') && line[i] != sep)
        i++;
    if (i == n)
        return len; /* blank: libcsv reports no record */
    for (;;) {
        const char *end = memchr(line + i, sep, n - i);
        size_t stop = end ? (size_t) (end - line) : n, e = stop;
        while (i < e && (line[i] == ' ' || line[i] == '\t') && line[i] != sep)
            i++;
        while (e > i && (line[e - 1] == ' ' || line[e - 1] == '\t') && line[e - 1] != sep)
            e--;
        on_field((void *) (line + i), e - i, arg);
        if (!end)
            break;
        i = stop + 1;
    }
    on_record(term, arg);
    return len;
}

/* Appends a copy of a field (data, len) to a row of cells. false when
 * memory is short (the row unchanged). */
static bool s_push_cell(char ***cells, size_t *n, size_t *cap, const void *data, size_t len)
{
    if (*n == *cap) {
        char **grown = array_grow(*cells, cap, sizeof *grown, 32);
        if (!grown)
            return false;
        *cells = grown;
    }
    char *s = malloc(len + 1);
    if (!s)
        return false;
    if (len)
        memcpy(s, data, len);
    s[len] = '\0';
    (*cells)[(*n)++] = s;
    return true;
}

static void s_on_field(void *data, size_t len, void *arg)
{
    s_ctx_t *c = arg;
    if (c->failed_alloc)
        return;
    if (c->ncells == c->cap) {
        char **grown = array_grow(c->cells, &c->cap, sizeof *grown, 32);
        if (!grown) {
            c->failed_alloc = true;
            return;
        }
        c->cells = grown;
    }
    if (c->acap - c->alen < len + 1) {
        size_t want = c->acap ? c->acap : 4096;
        while (want - c->alen < len + 1)
            want *= 2;
        char *grown = realloc(c->arena, want);
        if (!grown) {
            c->failed_alloc = true;
            return;
        }
        c->arena = grown;
        c->acap = want;
    }
    if (len)
        memcpy(c->arena + c->alen, data, len);
    c->arena[c->alen + len] = '\0';
    c->cells[c->ncells++] = (char *) (uintptr_t) c->alen; /* an offset until the record ends */
    c->alen += len + 1;
    c->has_nul |= len && memchr(data, '\0', len) != NULL;
}

/* A row of bare separators (";;;;", Excel's rows once touched) or of
 * spaces only: a blank line, skipped. */
static bool s_blank_row(const char *const *cells, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (const char *p = cells[i]; *p; p++)
            if (!strchr(" \t\r", *p))
                return false;
    return true;
}

static void s_on_record(int term, void *arg)
{
    (void) term;
    s_ctx_t *c = arg;
    for (size_t i = 0; i < c->ncells; i++)
        c->cells[i] = c->arena + (uintptr_t) c->cells[i];
    bool blank = s_blank_row((const char *const *) c->cells, c->ncells);
    if (!c->fatal && !c->failed_alloc && !blank)
        s_row(c);
    s_clear_cells(c);
    c->between = true;
}

static void s_progress(const s_ctx_t *c, size_t done, size_t total, int *last)
{
    int pct = total ? (int) (done * 100 / total) : 100;
    if (pct == *last)
        return;
    *last = pct;
    char bar[41];
    int fill = pct * 40 / 100;
    memset(bar, '#', (size_t) fill);
    memset(bar + fill, '.', (size_t) (40 - fill));
    bar[40] = '\0';
    fprintf(stderr, "\r%s [%s] %3d%% rows=%zu", c->label, bar, pct, c->st.rows);
    fflush(stderr);
}

/* The reader (a thread of its own, or the import's): every line of the
 * text through the parser, records into batches, then a last batch. */
static void *s_read_all(void *arg)
{
    s_ctx_t *c = arg;
    char why[256];
    while (c->off < c->len && !c->fatal && !c->failed_alloc) {
        size_t chunk = s_next_line(c->text, c->len, c->off, &c->line, &c->rec_line, &c->between);
        if (s_feed_line(c->parser, c->idle, c->text + c->off, chunk, c->sep, s_on_field, s_on_record, c) !=
            chunk) {
            snprintf(why, sizeof why, "%s (a quote inside an unquoted field, or text after a closing quote)",
                     csv_strerror(csv_error(c->parser)));
            s_fatal(c, "csv", why);
            break;
        }
        c->off += chunk;
    }
    if (!c->fatal && csv_fini(c->parser, s_on_field, s_on_record, c) != 0)
        s_fatal(c, "csv", "a quoted field is not closed");
    if (!c->batch) {
        c->batch = batchq_pop(c->empty);
        c->batch->n = 0;
    }
    s_hand_over(c, c->off, true);
    return NULL;
}

bool csvimport_is_csv(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot && (!strcasecmp(dot, ".csv") || !strcasecmp(dot, ".tsv") || !strcasecmp(dot, ".txt"));
}

fin_err_t csvimport_file(const char *path, mapping_t *map, const import_opts_t *o, char *err, size_t errlen)
{
    uint8_t *raw = NULL;
    size_t rawlen = 0;
    const char *label = o->label ? o->label : path;
    char ref[64];
    import_log_ref(o, path, ref, sizeof ref);
    fin_err_t rc = s_read(path, label, &raw, &rawlen, err, errlen);
    if (rc)
        return rc;
    if (err && errlen)
        err[0] = '\0';
    s_ctx_t c = {.label = label, .map = map, .o = o, .between = true};
    char *text = NULL;
    size_t len = 0;
    struct csv_parser parser;
    bool parser_live = false;
    s_batch_t *batches = NULL;
    rc = FIN_EINPUT; /* the reason is on o->errors */

    bool utf8 = false;
    char why[256];
    fin_err_t dec = s_decode(raw, rawlen, mapping_encoding(map), &text, &len, &utf8, why, sizeof why);
    if (dec == FIN_EINPUT) {
        char text_why[400];
        fprintf(o->errors, "%s: %s\n", label, report_reason(o->lang, why, text_why, sizeof text_why));
        goto free_raw;
    } else if (dec != FIN_OK) {
        rc = fin_fail(err, errlen, dec, "%s: %s", label, why);
        goto free_raw;
    }
    char sep = mapping_separator(map);
    if (!sep)
        sep = s_detect_separator(text, len);
    c.sep = sep;

    if (!(c.imp = import_new(o->cat, o->anon, o->forbund, clock_wall_ms() / 1000)) ||
        !(c.rejects = rejects_new(o, label, map)) || !(c.row = malloc(sizeof *c.row))) {
        rc = fin_fail(err, errlen, FIN_ENOMEM, "%s: out of memory", label);
        goto free_import;
    }
    row_fields_init(c.row);
    import_set_insatser(c.imp, o->insatser);
    import_set_window(c.imp, mapping_window_days(map));
    if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        rc = fin_fail(err, errlen, FIN_ENOMEM, "%s: out of memory", label);
        goto free_import;
    }
    parser_live = true;
    csv_set_delim(&parser, (unsigned char) sep);
    int idle = parser.pstate;
    log_debug("import", "CSV-OPEN %s encoding=%s separator=%s", ref,
              !utf8                                                                 ? "windows-1252"
              : (rawlen >= 3 && raw[0] == 0xef && raw[1] == 0xbb && raw[2] == 0xbf) ? "utf-8-bom"
                                                                                    : "utf-8",
              sep == '\t'  ? "tab"
              : sep == ';' ? "semicolon"
                           : "comma");

    /* The reader thread parses, maps and prepares; this thread adds the
     * events and reports, in file order (see "the hand-over"). Without a
     * thread, the same runs here batch by batch. */
    c.text = text;
    c.len = len;
    c.parser = &parser;
    c.idle = idle;
    c.last_pct = -1;
    if (!(c.scratch = calloc(1, sizeof *c.scratch)) || !(batches = calloc(S_NBATCH, sizeof *batches)) ||
        !(c.full = batchq_new(S_NBATCH)) || !(c.empty = batchq_new(S_NBATCH))) {
        rc = fin_fail(err, errlen, FIN_ENOMEM, "%s: out of memory", label);
        goto free_batches;
    }
    for (size_t i = 0; i < S_NBATCH; i++)
        batchq_push(c.empty, &batches[i]);
    pthread_t reader;
    c.threaded = true; /* before the reader reads it */
    if (pthread_create(&reader, NULL, s_read_all, &c) != 0)
        c.threaded = false;
    if (c.threaded) {
        for (bool last = false; !last;) {
            s_batch_t *b = batchq_pop(c.full);
            last = b->last;
            s_consume(&c, b);
            batchq_push(c.empty, b);
        }
        pthread_join(reader, NULL);
    } else {
        s_read_all(&c);
    }
    if (o->progress) {
        s_progress(&c, len, len, &c.last_pct);
        fprintf(stderr, "\n");
    }
    if (c.failed_alloc) {
        rc = fin_fail(err, errlen, FIN_ENOMEM, "%s: out of memory", label);
        goto free_batches;
    }
    if (c.fatal || !c.have_header) {
        rc = import_refuse_file(o, label, ref, c.st.rows, c.fatal ? NULL : "file"); /* else: no header */
        goto free_batches;
    }
    rejects_finish(c.rejects);
    c.st.dropped = mapping_nunmapped(map);
    rc = import_finish(c.imp, path, &c.st, mapping_unmapped_names(map), o, err, errlen);
free_batches:
    batchq_destroy(&c.empty);
    batchq_destroy(&c.full);
    free(batches);
    free(c.scratch);
    s_clear_cells(&c);
    free(c.cells);
    free(c.arena);
    if (parser_live)
        csv_free(&parser);
free_import:
    free(c.row);
    rejects_destroy(&c.rejects);
    import_destroy(&c.imp);
    if (!utf8)
        free(text);
free_raw:
    free(raw);
    return rc;
}

/* ---- scanning without importing ----------------------------------------- */

typedef struct {
    csvimport_record_fn *fn;
    void *arg;
    char **cells;
    size_t ncells, cap;
    long line, rec_line;
    bool between, stop, failed_alloc;
} s_scan_t;

static void s_scan_field(void *data, size_t len, void *arg)
{
    s_scan_t *c = arg;
    if (c->failed_alloc || c->stop)
        return;
    if (!s_push_cell(&c->cells, &c->ncells, &c->cap, data, len))
        c->failed_alloc = true;
}

static void s_scan_record(int term, void *arg)
{
    (void) term;
    s_scan_t *c = arg;
    bool blank = s_blank_row((const char *const *) c->cells, c->ncells);
    if (!blank && !c->stop && !c->failed_alloc &&
        c->fn((const char *const *) c->cells, c->ncells, c->rec_line, c->arg) < 0)
        c->stop = true;
    for (size_t i = 0; i < c->ncells; i++)
        free(c->cells[i]);
    c->ncells = 0;
    c->between = true;
}

fin_err_t csvimport_scan(const char *path, char sep, mapping_encoding_t enc, csvimport_record_fn *fn,
                         void *arg, char *sep_out, char *err, size_t errlen)
{
    uint8_t *raw = NULL;
    size_t rawlen = 0;
    fin_err_t rc = s_read(path, path, &raw, &rawlen, err, errlen);
    if (rc)
        return rc;
    char *text = NULL, why[160];
    size_t len = 0;
    s_scan_t c = {.fn = fn, .arg = arg, .between = true};
    struct csv_parser parser;
    bool utf8 = false;
    if ((rc = s_decode(raw, rawlen, enc, &text, &len, &utf8, why, sizeof why)) != FIN_OK) {
        rc = fin_fail(err, errlen, rc, "%s: %s", path, why);
        goto free_raw;
    }
    if (!sep)
        sep = s_detect_separator(text, len);
    if (sep_out)
        *sep_out = sep;
    if (csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) != 0) {
        rc = fin_fail(err, errlen, FIN_ENOMEM, "%s: out of memory", path);
        goto free_text;
    }
    csv_set_delim(&parser, (unsigned char) sep);
    int idle = parser.pstate;
    rc = FIN_OK;
    size_t off = 0;
    while (off < len && !c.stop && !c.failed_alloc) {
        size_t chunk = s_next_line(text, len, off, &c.line, &c.rec_line, &c.between);
        if (s_feed_line(&parser, idle, text + off, chunk, sep, s_scan_field, s_scan_record, &c) != chunk) {
            rc = fin_fail(err, errlen, FIN_EINPUT,
                          "%s:%ld: csv: %s (a quote inside an unquoted field, or text after a closing quote)",
                          path, c.rec_line, csv_strerror(csv_error(&parser)));
            break;
        }
        off += chunk;
    }
    if (rc == FIN_OK && !c.stop && csv_fini(&parser, s_scan_field, s_scan_record, &c) != 0)
        rc = fin_fail(err, errlen, FIN_EINPUT, "%s:%ld: csv: a quoted field is not closed", path, c.rec_line);
    if (rc == FIN_OK && c.failed_alloc)
        rc = fin_fail(err, errlen, FIN_ENOMEM, "%s: out of memory", path);
    for (size_t i = 0; i < c.ncells; i++)
        free(c.cells[i]);
    free(c.cells);
    csv_free(&parser);
free_text:
    if (!utf8)
        free(text);
free_raw:
    free(raw);
    return rc;
}
