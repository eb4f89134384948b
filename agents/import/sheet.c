/* sheet.c: Excel workbooks -> rows of cell texts -> the mapping -> import_row
 * (see sheet.h).
 *
 * The design decision: the workbook is never held whole. libzip inflates
 * one part at a time and libxml2's xmlTextReader streams it, so memory is
 * the shared strings (bounded by SHEET_MAX_PART) plus one row. The parts
 * read, in order: xl/workbook.xml (sheet names and the 1904 flag),
 * xl/_rels/workbook.xml.rels (the part of the chosen sheet),
 * xl/sharedStrings.xml, xl/styles.xml (which cell styles are dates) and the
 * sheet itself. An OpenDocument file is one part, content.xml, whose
 * cells carry their type. XML is read without DTDs, entity substitution or
 * network.
 *
 * Deliberately not done: formulas are not evaluated (Excel stores the last
 * value beside them, and that is what is read), number formats other than
 * dates are not applied (a cell formatted "0.0" holding 4 reads "4"), and
 * workbooks whose main part is not xl/workbook.xml (every writer we know
 * uses that name) are refused.
 *
 * Why one file of ~1200 lines: one reader of one archive. Both formats
 * share the book state (s_book_t: the zip, the part limits, the failure),
 * the cell text rules (numbers at 15 digits, dates from serials,
 * booleans) and the row assembly that hands rows to the mapping; what is
 * format-specific is one section each (xlsx: workbook, relationships,
 * styles, shared strings, sheet; ods: content.xml). Split into xlsx.c and
 * ods.c, s_book_t would become a header both write into. */
#include "sheet.h"

#include "anonymize.h"
#include "log.h"
#include "rejects.h"
#include "report_text.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <libxml/xmlreader.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <zip.h>

#define S_RELS_NS "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
#define S_RELS_NS_STRICT "http://purl.oclc.org/ooxml/officeDocument/relationships"

/* A growable byte string. */
typedef struct {
    char *p;
    size_t n, cap;
} s_buf_t;

static void s_buf_reset(s_buf_t *b)
{
    b->n = 0;
    if (b->p)
        b->p[0] = '\0';
}

static int s_buf_add(s_buf_t *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = realloc(b->p, cap);
        if (!p)
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
    return 0;
}

typedef struct {
    const char *label;
    zip_t *zip;
    char *err;
    size_t errlen;
    fin_err_t rc;
    /* from workbook.xml */
    char *sheet_name; /* the chosen sheet's name */
    char sheets[200]; /* the names seen, for "no sheet named" */
    char *sheet_rid;  /* its relationship id */
    char *sheet_part; /* its part, from the relationships */
    bool date1904;
    /* shared strings */
    char **sst;
    size_t nsst, capsst;
    /* styles: is cell style i a date format? */
    bool *xf_date;
    size_t nxf;
    /* the row being read */
    char **cells;
    size_t ncells, capcells;
    /* for the part being read */
    zip_file_t *zf;
    zip_uint64_t part_size, part_read;
} s_book_t;

/* Sets the book's failure (the first one wins). Returns -1. */
static int s_fail(s_book_t *b, fin_err_t code, const char *fmt, ...)
{
    if (b->rc != FIN_OK)
        return -1;
    b->rc = code;
    if (b->err && b->errlen) {
        int n = snprintf(b->err, b->errlen, "%s: ", b->label);
        if (n >= 0 && (size_t) n < b->errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(b->err + n, b->errlen - (size_t) n, fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

/* ---- parts: libzip with limits ------------------------------------------ */

static int s_io_read(void *ctx, char *buf, int len)
{
    s_book_t *b = ctx;
    zip_int64_t r = zip_fread(b->zf, buf, (zip_uint64_t) len);
    if (r < 0)
        return -1;
    b->part_read += (zip_uint64_t) r;
    /* libzip stops at the declared size and checks the CRC; this is the
     * belt to those braces. */
    if (b->part_read > SHEET_MAX_PART)
        return -1;
    return (int) r;
}

static int s_io_close(void *ctx)
{
    (void) ctx;
    return 0;
}

/* Opens part `name` for streaming XML. Returns a reader, or NULL: with
 * *missing set if the part does not exist (b->rc untouched), else with the
 * failure set on b. */
static xmlTextReaderPtr s_part_open(s_book_t *b, const char *name, bool *missing)
{
    *missing = false;
    zip_stat_t st;
    zip_stat_init(&st);
    if (zip_stat(b->zip, name, 0, &st) < 0) {
        *missing = true;
        return NULL;
    }
    if (!(st.valid & ZIP_STAT_SIZE) || !(st.valid & ZIP_STAT_COMP_SIZE)) {
        s_fail(b, FIN_EINPUT, "%s: the archive does not say its size; not a workbook", name);
        return NULL;
    }
    if (st.size > SHEET_MAX_PART) {
        s_fail(b, FIN_EINPUT, "%s: larger than %ld MiB unpacked; split the export", name,
               SHEET_MAX_PART >> 20);
        return NULL;
    }
    if (st.size > (1 << 20) && st.size / (st.comp_size ? st.comp_size : 1) > SHEET_MAX_RATIO) {
        s_fail(b, FIN_EINPUT, "%s: unpacks to more than %d times its packed size (a zip bomb?)", name,
               SHEET_MAX_RATIO);
        return NULL;
    }
    if (!(b->zf = zip_fopen_index(b->zip, st.index, 0))) {
        s_fail(b, FIN_EINPUT, "%s: cannot unpack: %s", name, zip_strerror(b->zip));
        return NULL;
    }
    b->part_size = st.size;
    b->part_read = 0;
    xmlTextReaderPtr r =
        xmlReaderForIO(s_io_read, s_io_close, b, name, NULL,
                       XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_COMPACT);
    if (!r) {
        zip_fclose(b->zf);
        b->zf = NULL;
        s_fail(b, FIN_ENOMEM, "out of memory");
    }
    return r;
}

/* Closes the part; rc is the last xmlTextReaderRead's result. Returns 0,
 * or -1 with the failure set (malformed XML, a limit, a CRC error). */
static int s_part_close(s_book_t *b, xmlTextReaderPtr r, int rc, const char *name)
{
    xmlFreeTextReader(r);
    bool over = b->part_read > SHEET_MAX_PART;
    int zrc = zip_fclose(b->zf);
    b->zf = NULL;
    if (over)
        return s_fail(b, FIN_EINPUT, "%s: larger than %ld MiB unpacked; split the export", name,
                      SHEET_MAX_PART >> 20);
    if (rc < 0 || zrc != 0)
        return s_fail(b, FIN_EINPUT, "%s: damaged (not well-formed XML, or the archive is truncated)", name);
    return 0;
}

/* The end of reading a part: after a failure already recorded in b->rc
 * (-1) or a stop asked by the row callback (0) the reader and the part are
 * just freed; else s_part_close's checks. */
static int s_part_end(s_book_t *b, xmlTextReaderPtr r, int rc, const char *name, bool stop)
{
    if (b->rc == FIN_OK && !stop)
        return s_part_close(b, r, rc, name);
    xmlFreeTextReader(r);
    zip_fclose(b->zf);
    b->zf = NULL;
    return b->rc != FIN_OK ? -1 : 0;
}

static bool s_is(xmlTextReaderPtr r, const char *local)
{
    const xmlChar *n = xmlTextReaderConstLocalName(r);
    return n && !strcmp((const char *) n, local);
}

static char *s_attr(xmlTextReaderPtr r, const char *name)
{
    return (char *) xmlTextReaderGetAttribute(r, (const xmlChar *) name);
}

static bool s_is_text(int type)
{
    return type == XML_READER_TYPE_TEXT || type == XML_READER_TYPE_CDATA ||
           type == XML_READER_TYPE_WHITESPACE || type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE;
}

/* ---- workbook.xml and its relationships --------------------------------- */

static bool s_all_digits(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return false;
    return true;
}

/* Keeps a sheet's name for the reason below (a sheet name is the
 * workbook's structure, not a cell's value). */
static void s_seen_sheet(s_book_t *b, const char *name)
{
    size_t n = strlen(b->sheets);
    if (!name || n + strlen(name) + 5 >= sizeof b->sheets)
        return;
    if (n) {
        memcpy(b->sheets + n, ", ", 2);
        n += 2;
    }
    b->sheets[n++] = '"';
    memcpy(b->sheets + n, name, strlen(name));
    n += strlen(name);
    b->sheets[n++] = '"';
    b->sheets[n] = '\0';
}

/* The reason when no sheet was found: want is the sheet's name, or nth
 * its number (from 1); seen is how many the workbook has. Returns -1. */
static int s_no_sheet(s_book_t *b, const char *want, long nth, long seen)
{
    if (!want || !*want)
        return s_fail(b, FIN_EINPUT, "the workbook has no sheet");
    if (nth)
        return s_fail(b, FIN_EINPUT, "sheet %ld: the workbook has %ld sheet%s (%s)", nth, seen,
                      seen == 1 ? "" : "s", b->sheets);
    return s_fail(b, FIN_EINPUT, "no sheet named \"%s\"; the workbook's sheets are %s", want, b->sheets);
}

static int s_read_workbook(s_book_t *b, const char *want)
{
    bool missing;
    const char *part = "xl/workbook.xml";
    xmlTextReaderPtr r = s_part_open(b, part, &missing);
    if (!r)
        return missing ? s_fail(b, FIN_EINPUT, "not an Excel workbook (no xl/workbook.xml)") : -1;
    long nth = want && s_all_digits(want) && strlen(want) < 8 ? strtol(want, NULL, 10) : 0;
    long seen = 0;
    int rc;
    while ((rc = xmlTextReaderRead(r)) == 1) {
        if (xmlTextReaderNodeType(r) != XML_READER_TYPE_ELEMENT)
            continue;
        if (s_is(r, "workbookPr")) {
            char *v = s_attr(r, "date1904");
            b->date1904 = v && (!strcmp(v, "1") || !strcasecmp(v, "true"));
            xmlFree(v);
        } else if (s_is(r, "sheet") && !b->sheet_name) {
            seen++;
            char *name = s_attr(r, "name");
            s_seen_sheet(b, name);
            char *rid =
                (char *) xmlTextReaderGetAttributeNs(r, (const xmlChar *) "id", (const xmlChar *) S_RELS_NS);
            if (!rid)
                rid = (char *) xmlTextReaderGetAttributeNs(r, (const xmlChar *) "id",
                                                           (const xmlChar *) S_RELS_NS_STRICT);
            bool match = !want || !*want ? seen == 1 : nth ? seen == nth : name && !strcasecmp(name, want);
            if (match && name && rid) {
                b->sheet_name = strdup(name);
                b->sheet_rid = strdup(rid);
                if (!b->sheet_name || !b->sheet_rid)
                    s_fail(b, FIN_ENOMEM, "out of memory");
            }
            xmlFree(name);
            xmlFree(rid);
        }
    }
    if (s_part_close(b, r, rc, part) < 0)
        return -1;
    return b->sheet_name ? 0 : s_no_sheet(b, want, nth, seen);
}

static int s_read_rels(s_book_t *b)
{
    bool missing;
    const char *part = "xl/_rels/workbook.xml.rels";
    xmlTextReaderPtr r = s_part_open(b, part, &missing);
    if (!r)
        return missing ? s_fail(b, FIN_EINPUT, "not an Excel workbook (no %s)", part) : -1;
    int rc;
    while ((rc = xmlTextReaderRead(r)) == 1) {
        if (xmlTextReaderNodeType(r) != XML_READER_TYPE_ELEMENT || !s_is(r, "Relationship") || b->sheet_part)
            continue;
        char *id = s_attr(r, "Id"), *target = s_attr(r, "Target");
        if (id && target && !strcmp(id, b->sheet_rid)) {
            /* Targets are relative to xl/, or absolute from the root. */
            size_t n = strlen(target) + 4;
            if ((b->sheet_part = malloc(n)))
                snprintf(b->sheet_part, n, target[0] == '/' ? "%s" : "xl/%s",
                         target[0] == '/' ? target + 1 : target);
            else
                s_fail(b, FIN_ENOMEM, "out of memory");
        }
        xmlFree(id);
        xmlFree(target);
    }
    if (s_part_close(b, r, rc, part) < 0)
        return -1;
    if (!b->sheet_part)
        return s_fail(b, FIN_EINPUT, "sheet \"%s\": its part is not listed in %s", b->sheet_name, part);
    return 0;
}

/* ---- sharedStrings.xml -------------------------------------------------- */

static int s_read_strings(s_book_t *b)
{
    bool missing;
    const char *part = "xl/sharedStrings.xml";
    xmlTextReaderPtr r = s_part_open(b, part, &missing);
    if (!r)
        return missing ? 0 : -1; /* a workbook of numbers only has none */
    s_buf_t s = {0};
    bool in_si = false, in_t = false;
    int rph = 0; /* inside phonetic runs, whose text is not shown */
    int rc;
    while ((rc = xmlTextReaderRead(r)) == 1 && b->rc == FIN_OK) {
        int type = xmlTextReaderNodeType(r);
        if (type == XML_READER_TYPE_ELEMENT) {
            bool empty = xmlTextReaderIsEmptyElement(r);
            if (s_is(r, "si")) {
                in_si = true;
                s_buf_reset(&s);
            } else if (s_is(r, "rPh") && !empty) {
                rph++;
            } else if (s_is(r, "t") && !empty) {
                in_t = true;
            }
            if (!empty || !s_is(r, "si"))
                continue;
            type = XML_READER_TYPE_END_ELEMENT; /* <si/>: an empty string */
        }
        if (type == XML_READER_TYPE_END_ELEMENT) {
            if (s_is(r, "t")) {
                in_t = false;
            } else if (s_is(r, "rPh")) {
                rph -= rph > 0;
            } else if (s_is(r, "si") && in_si) {
                in_si = false;
                if (b->nsst == b->capsst) {
                    size_t cap = b->capsst ? 2 * b->capsst : 256;
                    char **p = realloc(b->sst, cap * sizeof *p);
                    if (!p) {
                        s_fail(b, FIN_ENOMEM, "out of memory");
                        break;
                    }
                    b->sst = p;
                    b->capsst = cap;
                }
                if (!(b->sst[b->nsst] = strdup(s.p ? s.p : ""))) {
                    s_fail(b, FIN_ENOMEM, "out of memory");
                    break;
                }
                b->nsst++;
            }
        } else if (s_is_text(type) && in_si && in_t && !rph) {
            const char *v = (const char *) xmlTextReaderConstValue(r);
            size_t n = v ? strlen(v) : 0;
            if (s.n + n > SHEET_MAX_CELL)
                s_fail(b, FIN_EINPUT, "%s: string %zu is longer than %d bytes", part, b->nsst + 1,
                       SHEET_MAX_CELL);
            else if (s_buf_add(&s, v ? v : "", n) < 0)
                s_fail(b, FIN_ENOMEM, "out of memory");
        }
    }
    free(s.p);
    return s_part_end(b, r, rc, part, false);
}

/* ---- styles.xml: which cell styles show a date --------------------------- */

/* Built-in formats 14-17 and 22 are dates (22 with a time), 18-21 and
 * 45-47 times only; 27-36 and 50-58 are East Asian dates. */
static bool s_builtin_is_date(long id)
{
    return (id >= 14 && id <= 17) || id == 22 || (id >= 27 && id <= 36) || (id >= 50 && id <= 58);
}

/* A custom format shows a date if its first section, outside quoted text,
 * escapes and [brackets], has d or y, or m without h or s (m after h is
 * minutes: "h:mm" and "[h]:mm" are durations, read as numbers). */
static bool s_format_is_date(const char *f)
{
    bool d = false, m = false, y = false, h = false, sec = false;
    for (const char *p = f; *p && *p != ';'; p++) {
        if (*p == '"') {
            const char *q = strchr(p + 1, '"');
            if (!q)
                break;
            p = q;
        } else if (*p == '\\' || *p == '_' || *p == '*') {
            if (!p[1])
                break;
            p++;
        } else if (*p == '[') {
            const char *q = strchr(p + 1, ']');
            if (!q)
                break;
            if (q - p == 2 && (p[1] == 'h' || p[1] == 'H' || p[1] == 's' || p[1] == 'S'))
                h = true;
            p = q;
        } else {
            char c = (char) (*p | 0x20);
            d |= c == 'd', m |= c == 'm', y |= c == 'y', h |= c == 'h', sec |= c == 's';
        }
    }
    return d || y || (m && !h && !sec);
}

typedef struct {
    long id;
    bool date;
} s_fmt_t;

static int s_read_styles(s_book_t *b)
{
    bool missing;
    const char *part = "xl/styles.xml";
    xmlTextReaderPtr r = s_part_open(b, part, &missing);
    if (!r)
        return missing ? 0 : -1; /* no styles: no dates */
    s_fmt_t *fmts = NULL;
    size_t nfmts = 0, capfmts = 0, capxf = 0;
    int depth_xfs = -1; /* depth of <cellXfs>, while inside it */
    bool in_numfmts = false;
    int rc;
    while ((rc = xmlTextReaderRead(r)) == 1 && b->rc == FIN_OK) {
        int type = xmlTextReaderNodeType(r);
        if (type == XML_READER_TYPE_END_ELEMENT && s_is(r, "cellXfs")) {
            depth_xfs = -1;
            continue;
        }
        if (type == XML_READER_TYPE_END_ELEMENT && s_is(r, "numFmts")) {
            in_numfmts = false;
            continue;
        }
        if (type != XML_READER_TYPE_ELEMENT)
            continue;
        if (s_is(r, "numFmts")) {
            in_numfmts = !xmlTextReaderIsEmptyElement(r);
        } else if (s_is(r, "numFmt") && in_numfmts) { /* not a <dxf>'s */
            char *id = s_attr(r, "numFmtId"), *code = s_attr(r, "formatCode");
            if (id && code) {
                if (nfmts == capfmts) {
                    size_t cap = capfmts ? 2 * capfmts : 16;
                    s_fmt_t *p = realloc(fmts, cap * sizeof *p);
                    if (!p)
                        s_fail(b, FIN_ENOMEM, "out of memory");
                    else
                        fmts = p, capfmts = cap;
                }
                if (nfmts < capfmts)
                    fmts[nfmts++] = (s_fmt_t){strtol(id, NULL, 10), s_format_is_date(code)};
            }
            xmlFree(id);
            xmlFree(code);
        } else if (s_is(r, "cellXfs")) {
            depth_xfs = xmlTextReaderIsEmptyElement(r) ? -1 : xmlTextReaderDepth(r);
        } else if (s_is(r, "xf") && depth_xfs >= 0 && xmlTextReaderDepth(r) == depth_xfs + 1) {
            char *id = s_attr(r, "numFmtId");
            long fid = id ? strtol(id, NULL, 10) : 0;
            xmlFree(id);
            bool date = s_builtin_is_date(fid);
            for (size_t i = 0; i < nfmts; i++)
                if (fmts[i].id == fid)
                    date = fmts[i].date;
            if (b->nxf == capxf) {
                size_t cap = capxf ? 2 * capxf : 64;
                bool *p = realloc(b->xf_date, cap * sizeof *p);
                if (!p) {
                    s_fail(b, FIN_ENOMEM, "out of memory");
                    break;
                }
                b->xf_date = p;
                capxf = cap;
            }
            b->xf_date[b->nxf++] = date;
        }
    }
    free(fmts);
    return s_part_end(b, r, rc, part, false);
}

/* ---- cell values -------------------------------------------------------- */

/* A number as Excel shows it, but never with an exponent: rounded to 15
 * significant digits (Excel keeps no more: 0.1+0.2 shows 0.3, a
 * personnummer typed as 198503121231 is exact), written out in plain
 * digits without trailing zeros. */
static void s_number_text(double v, char *out, size_t outlen)
{
    char e[32]; /* "-d.dddddddddddddde+XXX" */
    snprintf(e, sizeof e, "%.14e", v);
    const char *p = e;
    char *w = out, *end = out + outlen - 1;
    if (*p == '-')
        p++;
    char digits[15];
    int nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p >= '0' && *p <= '9' && nd < 15)
            digits[nd++] = *p;
    int exp10 = *p == 'e' ? atoi(p + 1) : 0;
    while (nd > 1 && digits[nd - 1] == '0') /* trailing zeros say nothing */
        nd--;
    if (nd == 1 && digits[0] == '0') {
        snprintf(out, outlen, "0");
        return;
    }
    if (e[0] == '-' && w < end)
        *w++ = '-';
    if (exp10 < 0) {
        for (int i = 0; i < 2 && w < end; i++)
            *w++ = "0."[i];
        for (int i = 0; i < -exp10 - 1 && w < end; i++)
            *w++ = '0';
        for (int i = 0; i < nd && w < end; i++)
            *w++ = digits[i];
    } else {
        for (int i = 0; i <= exp10 && w < end; i++)
            *w++ = i < nd ? digits[i] : '0';
        if (nd > exp10 + 1 && w < end) {
            *w++ = '.';
            for (int i = exp10 + 1; i < nd && w < end; i++)
                *w++ = digits[i];
        }
    }
    *w = '\0';
}

/* An Excel date serial as YYYY-MM-DD. The 1900 system counts from
 * 1900-01-01 = 1 and has Lotus's 1900-02-29 = 60, which did not exist:
 * it is written as such, and refused downstream as no such day. */
static int s_date_text(double v, bool date1904, char *out, size_t outlen)
{
    if (!(v >= 0 && v < 2958466)) /* 9999-12-31 */
        return -1;
    long serial = (long) floor(v);
    long days; /* from 1970-01-01 */
    if (date1904) {
        days = serial - 24107; /* 1904-01-01 */
    } else if (serial == 60) {
        snprintf(out, outlen, "1900-02-29");
        return 0;
    } else {
        days = serial - (serial > 60 ? 25569 : 25568);
    }
    int y, m, d;
    anon_civil_from_days((int32_t) days, &y, &m, &d); /* serials end at 9999-12-31 */
    snprintf(out, outlen, "%04d-%02d-%02d", y, m, d);
    return 0;
}

/* "C7" -> column 2 (0-based) and row 7; -1 if not a cell reference. */
static int s_parse_ref(const char *ref, long *col, long *row)
{
    long c = 0, r = 0;
    const char *p = ref;
    for (; *p >= 'A' && *p <= 'Z'; p++) {
        c = c * 26 + (*p - 'A' + 1);
        if (c > SHEET_MAX_COLS)
            return -1;
    }
    if (p == ref)
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        r = r * 10 + (*p - '0');
        if (r > SHEET_MAX_ROWS)
            return -1;
    }
    if (*p || r == 0)
        return -1;
    *col = c - 1;
    *row = r;
    return 0;
}

static void s_clear_row(s_book_t *b)
{
    for (size_t i = 0; i < b->ncells; i++)
        free(b->cells[i]);
    b->ncells = 0;
}

/* Puts text at column col of the row, filling the gap with "". */
static int s_put(s_book_t *b, long col, const char *text)
{
    if ((size_t) col >= b->capcells) {
        size_t cap = b->capcells ? b->capcells : 32;
        while (cap <= (size_t) col)
            cap *= 2;
        char **p = realloc(b->cells, cap * sizeof *p);
        if (!p)
            return -1;
        b->cells = p;
        b->capcells = cap;
    }
    while (b->ncells < (size_t) col) {
        if (!(b->cells[b->ncells] = strdup("")))
            return -1;
        b->ncells++;
    }
    char *s = strdup(text);
    if (!s)
        return -1;
    if ((size_t) col < b->ncells) { /* a cell given twice: the last wins */
        free(b->cells[col]);
        b->cells[col] = s;
    } else {
        b->cells[b->ncells++] = s;
    }
    return 0;
}

/* The shown text of cell type t, style s, value v (or inline string). */
static int s_cell_text(s_book_t *b, const char *t, const char *s, const char *v, char *out, size_t outlen,
                       const char **why)
{
    if (!t || !strcmp(t, "n")) {
        if (!*v) {
            out[0] = '\0';
            return 0;
        }
        char *end;
        double d = strtod(v, &end);
        if (end == v || *end || !isfinite(d)) {
            *why = "a number cell that holds no number";
            return -1;
        }
        long xf = s ? strtol(s, NULL, 10) : 0;
        if (xf >= 0 && (size_t) xf < b->nxf && b->xf_date[xf]) {
            if (s_date_text(d, b->date1904, out, outlen) < 0) {
                *why = "a date outside the years 1900-9999";
                return -1;
            }
            return 0;
        }
        s_number_text(d, out, outlen);
        return 0;
    }
    if (!strcmp(t, "s")) {
        char *end;
        unsigned long i = strtoul(v, &end, 10);
        if (end == v || *end || i >= b->nsst) {
            *why = "refers to a shared string that does not exist";
            return -1;
        }
        snprintf(out, outlen, "%s", b->sst[i]);
        return 0;
    }
    if (!strcmp(t, "b")) {
        snprintf(out, outlen, "%s", !*v ? "" : strcmp(v, "0") ? "TRUE" : "FALSE");
        return 0;
    }
    if (!strcmp(t, "d")) { /* ISO 8601: the date part is what is shown */
        snprintf(out, outlen, "%.10s", v);
        return 0;
    }
    /* str (a formula's text), inlineStr, e (#N/A and friends) */
    snprintf(out, outlen, "%s", v);
    return 0;
}

/* ---- the sheet ---------------------------------------------------------- */

static int s_read_sheet(s_book_t *b, sheet_row_fn fn, void *arg)
{
    bool missing;
    const char *part = b->sheet_part;
    xmlTextReaderPtr r = s_part_open(b, part, &missing);
    if (!r)
        return missing ? s_fail(b, FIN_EINPUT, "sheet \"%s\": its part %s is missing", b->sheet_name, part)
                       : -1;
    s_buf_t v = {0};
    char *text = malloc(SHEET_MAX_CELL + 1);
    char *ct = NULL, *cs = NULL;
    long row = 0, col = -1, cell_row = 0;
    bool in_row = false, in_c = false, in_val = false, stop = false;
    int rph = 0;
    int rc = 1;
    if (!text)
        s_fail(b, FIN_ENOMEM, "out of memory");
    while (b->rc == FIN_OK && !stop && (rc = xmlTextReaderRead(r)) == 1) {
        int type = xmlTextReaderNodeType(r);
        bool empty = type == XML_READER_TYPE_ELEMENT && xmlTextReaderIsEmptyElement(r);
        if (type == XML_READER_TYPE_ELEMENT && s_is(r, "row")) {
            char *rr = s_attr(r, "r");
            long n = rr ? strtol(rr, NULL, 10) : row + 1;
            xmlFree(rr);
            if (n <= row || n > SHEET_MAX_ROWS) {
                s_fail(b, FIN_EINPUT, "%s!%ld: rows out of order or beyond row %ld", b->sheet_name, row + 1,
                       SHEET_MAX_ROWS);
                break;
            }
            row = n;
            col = -1;
            s_clear_row(b);
            in_row = !empty;
            if (!empty)
                continue;
            type = XML_READER_TYPE_END_ELEMENT; /* <row/> ends here */
        }
        if (!in_row)
            continue;
        if (type == XML_READER_TYPE_ELEMENT && s_is(r, "c")) {
            char *ref = s_attr(r, "r");
            long c = col + 1, rr = row;
            if ((ref && s_parse_ref(ref, &c, &rr) < 0) || c >= SHEET_MAX_COLS) {
                s_fail(b, FIN_EINPUT, "%s!%ld: a cell reference that is not one (or beyond column XFD)",
                       b->sheet_name, row);
                xmlFree(ref);
                break;
            }
            xmlFree(ref);
            if (c <= col || rr != row) {
                char name[8];
                rejects_col_name(c, name);
                s_fail(b, FIN_EINPUT, "%s!%s%ld: cells out of order", b->sheet_name, name, rr);
                break;
            }
            col = c;
            cell_row = rr;
            xmlFree(ct);
            xmlFree(cs);
            ct = s_attr(r, "t");
            cs = s_attr(r, "s");
            s_buf_reset(&v);
            in_c = !empty;
            continue;
        }
        if (type == XML_READER_TYPE_ELEMENT && in_c) {
            if (s_is(r, "rPh") && !empty)
                rph++;
            else if ((s_is(r, "v") || s_is(r, "t")) && !empty)
                in_val = true;
            continue;
        }
        if (s_is_text(type) && in_val && !rph) {
            const char *s = (const char *) xmlTextReaderConstValue(r);
            size_t n = s ? strlen(s) : 0;
            char name[8];
            rejects_col_name(col, name);
            if (v.n + n > SHEET_MAX_CELL)
                s_fail(b, FIN_EINPUT, "%s!%s%ld: longer than %d bytes", b->sheet_name, name, cell_row,
                       SHEET_MAX_CELL);
            else if (s_buf_add(&v, s ? s : "", n) < 0)
                s_fail(b, FIN_ENOMEM, "out of memory");
            continue;
        }
        if (type != XML_READER_TYPE_END_ELEMENT)
            continue;
        if (s_is(r, "v") || s_is(r, "t")) {
            in_val = false;
        } else if (s_is(r, "rPh")) {
            rph -= rph > 0;
        } else if (s_is(r, "c") && in_c) {
            in_c = false;
            const char *why = NULL;
            if (s_cell_text(b, ct, cs, v.p ? v.p : "", text, SHEET_MAX_CELL + 1, &why) < 0) {
                char name[8];
                rejects_col_name(col, name);
                s_fail(b, FIN_EINPUT, "%s!%s%ld: %s", b->sheet_name, name, cell_row, why);
                break;
            }
            if (text[0] && s_put(b, col, text) < 0)
                s_fail(b, FIN_ENOMEM, "out of memory");
        } else if (s_is(r, "row")) {
            in_row = false;
            /* Trailing empty cells are not kept, so a row of only empty
             * cells has none and is skipped. */
            if (b->ncells && fn(arg, (const char *const *) b->cells, b->ncells, row, b->sheet_name) < 0)
                stop = true;
            s_clear_row(b);
        } else if (s_is(r, "sheetData")) {
            stop = true; /* nothing after it is a cell */
        }
    }
    free(v.p);
    free(text);
    xmlFree(ct);
    xmlFree(cs);
    s_clear_row(b);
    return s_part_end(b, r, rc, part, stop);
}

/* ---- OpenDocument: content.xml ------------------------------------------ */

#define S_NS_TABLE "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
#define S_NS_OFFICE "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
#define S_NS_TEXT "urn:oasis:names:tc:opendocument:xmlns:text:1.0"

static bool s_is_ns(xmlTextReaderPtr r, const char *local, const char *ns)
{
    const xmlChar *u = xmlTextReaderConstNamespaceUri(r);
    return s_is(r, local) && u && !strcmp((const char *) u, ns);
}

static long s_repeat(xmlTextReaderPtr r, const char *name)
{
    char *v = (char *) xmlTextReaderGetAttributeNs(r, (const xmlChar *) name, (const xmlChar *) S_NS_TABLE);
    long n = v ? strtol(v, NULL, 10) : 1;
    xmlFree(v);
    return n < 1 ? 1 : n > SHEET_MAX_ROWS ? SHEET_MAX_ROWS : n;
}

/* The shown text of an OpenDocument cell: the typed value for numbers,
 * dates and booleans (as for .xlsx), else its paragraphs' text. */
static int s_ods_text(s_book_t *b, xmlTextReaderPtr r, char **out)
{
    *out = NULL;
    char *type = (char *) xmlTextReaderGetAttributeNs(r, (const xmlChar *) "value-type",
                                                      (const xmlChar *) S_NS_OFFICE);
    if (!type)
        return 0;
    const char *attr = !strcmp(type, "float") || !strcmp(type, "percentage") || !strcmp(type, "currency")
                           ? "value"
                       : !strcmp(type, "date")    ? "date-value"
                       : !strcmp(type, "boolean") ? "boolean-value"
                                                  : NULL;
    char *v =
        attr ? (char *) xmlTextReaderGetAttributeNs(r, (const xmlChar *) attr, (const xmlChar *) S_NS_OFFICE)
             : NULL;
    int rc = 0;
    if (v && !strcmp(attr, "value")) {
        char *end;
        double d = strtod(v, &end);
        if (end == v || *end || !isfinite(d))
            rc = -1;
        else if (!(*out = malloc(400)))
            rc = s_fail(b, FIN_ENOMEM, "out of memory");
        else
            s_number_text(d, *out, 400);
    } else if (v && !strcmp(attr, "date-value")) {
        if ((*out = malloc(11)))
            snprintf(*out, 11, "%.10s", v);
        else
            rc = s_fail(b, FIN_ENOMEM, "out of memory");
    } else if (v) {
        if (!(*out = strdup(!strcmp(v, "true") ? "TRUE" : "FALSE")))
            rc = s_fail(b, FIN_ENOMEM, "out of memory");
    }
    xmlFree(v);
    xmlFree(type);
    return rc;
}

static int s_read_ods(s_book_t *b, const char *want, sheet_row_fn fn, void *arg)
{
    bool missing;
    const char *part = "content.xml";
    xmlTextReaderPtr r = s_part_open(b, part, &missing);
    if (!r)
        return missing ? s_fail(b, FIN_EINPUT, "not an OpenDocument spreadsheet (no content.xml)") : -1;
    long nth = want && s_all_digits(want) && strlen(want) < 8 ? strtol(want, NULL, 10) : 0;
    long seen = 0, row = 0, col = 0, row_rep = 1, col_rep = 1, emitted = 0;
    bool in_table = false, in_row = false, in_cell = false, stop = false;
    int annot = 0, paras = 0;
    char *typed = NULL;
    s_buf_t t = {0};
    int rc;
    while (b->rc == FIN_OK && !stop && (rc = xmlTextReaderRead(r)) == 1) {
        int type = xmlTextReaderNodeType(r);
        bool empty = type == XML_READER_TYPE_ELEMENT && xmlTextReaderIsEmptyElement(r);
        if (!in_table) {
            if (type != XML_READER_TYPE_ELEMENT || !s_is_ns(r, "table", S_NS_TABLE))
                continue;
            seen++;
            char *name = (char *) xmlTextReaderGetAttributeNs(r, (const xmlChar *) "name",
                                                              (const xmlChar *) S_NS_TABLE);
            s_seen_sheet(b, name);
            bool match = !want || !*want ? seen == 1 : nth ? seen == nth : name && !strcasecmp(name, want);
            if (match && !(b->sheet_name = strdup(name ? name : "")))
                s_fail(b, FIN_ENOMEM, "out of memory");
            xmlFree(name);
            in_table = match && !empty;
            stop = match && empty;
            continue;
        }
        if (type == XML_READER_TYPE_ELEMENT && s_is_ns(r, "table-row", S_NS_TABLE)) {
            row_rep = s_repeat(r, "number-rows-repeated");
            col = 0;
            s_clear_row(b);
            in_row = !empty;
            if (!empty)
                continue;
            type = XML_READER_TYPE_END_ELEMENT; /* <table:table-row/> ends here */
        } else if (type == XML_READER_TYPE_ELEMENT && in_row &&
                   (s_is_ns(r, "table-cell", S_NS_TABLE) || s_is_ns(r, "covered-table-cell", S_NS_TABLE))) {
            col_rep = s_repeat(r, "number-columns-repeated");
            free(typed); /* a cell inside a cell: the outer one's value goes */
            typed = NULL;
            if (s_ods_text(b, r, &typed) < 0) {
                char name[8];
                rejects_col_name(col, name);
                s_fail(b, FIN_EINPUT, "%s!%s%ld: a number cell that holds no number", b->sheet_name, name,
                       row + 1);
                break;
            }
            s_buf_reset(&t);
            paras = 0;
            in_cell = !empty;
            if (!empty)
                continue;
            type = XML_READER_TYPE_END_ELEMENT; /* an empty cell ends here */
        }
        if (in_cell && type == XML_READER_TYPE_ELEMENT) {
            if (s_is_ns(r, "annotation", S_NS_OFFICE) && !empty)
                annot++;
            else if (annot)
                ;
            else if (s_is_ns(r, "p", S_NS_TEXT) && paras++ > 0)
                s_buf_add(&t, "\n", 1);
            else if (s_is_ns(r, "line-break", S_NS_TEXT))
                s_buf_add(&t, "\n", 1);
            else if (s_is_ns(r, "tab", S_NS_TEXT))
                s_buf_add(&t, "\t", 1);
            else if (s_is_ns(r, "s", S_NS_TEXT)) {
                char *c = (char *) xmlTextReaderGetAttributeNs(r, (const xmlChar *) "c",
                                                               (const xmlChar *) S_NS_TEXT);
                long n = c ? strtol(c, NULL, 10) : 1;
                xmlFree(c);
                for (long i = 0; i < n && i < 1024 && t.n < SHEET_MAX_CELL; i++)
                    s_buf_add(&t, " ", 1);
            }
            continue;
        }
        if (in_cell && !annot && s_is_text(type)) {
            const char *v = (const char *) xmlTextReaderConstValue(r);
            size_t n = v ? strlen(v) : 0;
            if (t.n + n > SHEET_MAX_CELL) {
                char name[8];
                rejects_col_name(col, name);
                s_fail(b, FIN_EINPUT, "%s!%s%ld: longer than %d bytes", b->sheet_name, name, row + 1,
                       SHEET_MAX_CELL);
            } else if (s_buf_add(&t, v ? v : "", n) < 0) {
                s_fail(b, FIN_ENOMEM, "out of memory");
            }
            continue;
        }
        if (type != XML_READER_TYPE_END_ELEMENT)
            continue;
        if (in_cell && s_is_ns(r, "annotation", S_NS_OFFICE)) {
            annot -= annot > 0;
        } else if (s_is_ns(r, "table-cell", S_NS_TABLE) || s_is_ns(r, "covered-table-cell", S_NS_TABLE)) {
            in_cell = false;
            const char *text = typed ? typed : t.p ? t.p : "";
            if (*text) {
                if (col + col_rep > SHEET_MAX_COLS) {
                    s_fail(b, FIN_EINPUT, "%s!%ld: more than %ld columns", b->sheet_name, row + 1,
                           SHEET_MAX_COLS);
                    break;
                }
                for (long i = 0; i < col_rep; i++)
                    if (s_put(b, col + i, text) < 0) {
                        s_fail(b, FIN_ENOMEM, "out of memory");
                        break;
                    }
            }
            /* Empty cells repeated to the sheet's edge are how OpenDocument
             * ends a row: counted, never stored. */
            col = col + col_rep > SHEET_MAX_COLS ? SHEET_MAX_COLS : col + col_rep;
            free(typed);
            typed = NULL;
        } else if (s_is_ns(r, "table-row", S_NS_TABLE)) {
            in_row = false;
            for (long i = 0; i < row_rep && b->ncells && !stop; i++) {
                if (++emitted > SHEET_MAX_ROWS) {
                    s_fail(b, FIN_EINPUT, "%s: more than %ld rows", b->sheet_name, SHEET_MAX_ROWS);
                    break;
                }
                if (fn(arg, (const char *const *) b->cells, b->ncells, row + i + 1, b->sheet_name) < 0)
                    stop = true;
            }
            row = row + row_rep > SHEET_MAX_ROWS ? SHEET_MAX_ROWS : row + row_rep;
            s_clear_row(b);
        } else if (s_is_ns(r, "table", S_NS_TABLE)) {
            stop = true;
        }
    }
    free(t.p);
    free(typed);
    s_clear_row(b);
    if (b->rc != FIN_OK || stop)
        return s_part_end(b, r, rc, part, stop);
    if (s_part_close(b, r, rc, part) < 0)
        return -1;
    return b->sheet_name ? 0 : s_no_sheet(b, want, nth, seen);
}

bool sheet_is_sheet(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot && (!strcasecmp(dot, ".xlsx") || !strcasecmp(dot, ".xlsm") || !strcasecmp(dot, ".ods"));
}

fin_err_t sheet_read(const char *path, const char *label, const char *sheet, sheet_row_fn fn, void *arg,
                     char *err, size_t errlen)
{
    s_book_t b = {.label = label ? label : path, .err = err, .errlen = errlen};
    if (err && errlen)
        err[0] = '\0';
    /* Opened here, so that whatever libzip then says is about the
     * archive: its ZIP_ER_NOENT also means a damaged central directory. */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        s_fail(&b, FIN_ENOTFOUND, "cannot open: %s", strerror(errno)); /* as csvimport.c */
        return b.rc;
    }
    int zerr = 0;
    if (!(b.zip = zip_fdopen(fd, ZIP_RDONLY | ZIP_CHECKCONS, &zerr))) {
        close(fd);
        zip_error_t ze;
        zip_error_init_with_code(&ze, zerr);
        fin_err_t code = zerr == ZIP_ER_MEMORY ? FIN_ENOMEM : FIN_EINPUT;
        s_fail(&b, code, "not an Excel or OpenDocument workbook, or a damaged one: %s",
               zip_error_strerror(&ze));
        zip_error_fini(&ze);
        return b.rc;
    }
    /* An OpenDocument file has content.xml where a workbook has xl/. */
    if (zip_name_locate(b.zip, "xl/workbook.xml", 0) < 0 && zip_name_locate(b.zip, "content.xml", 0) >= 0)
        s_read_ods(&b, sheet, fn, arg);
    else if (s_read_workbook(&b, sheet) == 0 && s_read_rels(&b) == 0 && s_read_strings(&b) == 0 &&
             s_read_styles(&b) == 0)
        s_read_sheet(&b, fn, arg);
    zip_discard(b.zip);
    for (size_t i = 0; i < b.nsst; i++)
        free(b.sst[i]);
    free(b.sst);
    free(b.xf_date);
    free(b.cells);
    free(b.sheet_name);
    free(b.sheet_rid);
    free(b.sheet_part);
    return b.rc;
}

/* ---- the import --------------------------------------------------------- */

typedef struct {
    const char *label;
    mapping_t *map;
    const import_opts_t *o;
    import_t *imp;
    import_stats_t st;
    rejects_t *rejects;
    bool have_header;
    size_t nheader;
    bool fatal, nomem;
} s_ctx_t;

static void s_reject(s_ctx_t *c, const char *sheet, long row, int col, const char *field, const char *why,
                     const char *const *cells, size_t ncells)
{
    c->st.rejected++;
    rejects_add(c->rejects, sheet, row, col, field, why,
                col >= 0 && (size_t) col < ncells ? cells[col] : NULL);
}

static int s_on_row(void *arg, const char *const *cells, size_t ncells, long row, const char *sheet)
{
    s_ctx_t *c = arg;
    if (!c->have_header) {
        char err[512];
        if (mapping_bind(c->map, cells, ncells, err, sizeof err) != FIN_OK) {
            rejects_file(c->rejects, sheet, row, "header", err);
            c->fatal = true;
            return -1;
        }
        c->have_header = true;
        c->nheader = ncells;
        return 0;
    }
    c->st.rows++;
    char why[400];
    int col;
    /* Cells right of the header are only an error if they hold something;
     * the reader already dropped the empty ones at the end. */
    if (ncells > c->nheader) {
        s_reject(c, sheet, row, (int) c->nheader, "row", "a value right of the last header column", NULL, 0);
        return 0;
    }
    const char **full = NULL;
    if (ncells < c->nheader) { /* empty cells at the end are not stored */
        if (!(full = malloc(c->nheader * sizeof *full))) {
            c->nomem = true;
            return -1;
        }
        for (size_t i = 0; i < c->nheader; i++)
            full[i] = i < ncells ? cells[i] : "";
        cells = full;
    }
    json_t *j = mapping_row(c->map, cells, c->nheader, &col, why, sizeof why);
    if (!j) {
        s_reject(c, sheet, row, col, "row", why, cells, c->nheader);
        free(full);
        return 0;
    }
    free(full);
    char field[64];
    import_set_position(c->imp, sheet, row);
    if (import_row(c->imp, j, field, sizeof field, why, sizeof why) < 0)
        s_reject(c, sheet, row, mapping_column_of(c->map, field), field, why, NULL, 0);
    json_decref(j);
    return 0;
}

fin_err_t sheet_import_file(const char *path, mapping_t *map, const import_opts_t *o, char *err,
                            size_t errlen)
{
    const char *label = o->label ? o->label : path;
    char ref[64];
    import_log_ref(o, path, ref, sizeof ref);
    if (err && errlen)
        err[0] = '\0';
    s_ctx_t c = {.label = label, .map = map, .o = o};
    if (!(c.imp = import_new(o->cat, o->anon, o->forbund, clock_wall_ms() / 1000)) ||
        !(c.rejects = rejects_new(o, label, map))) {
        import_destroy(&c.imp);
        return fin_fail(err, errlen, FIN_ENOMEM, "%s: out of memory", label);
    }
    import_set_insatser(c.imp, o->insatser);
    import_set_window(c.imp, mapping_window_days(map)); /* as csvimport.c */
    log_debug("import", "XLSX-OPEN %s", ref);
    char rerr[512];
    fin_err_t rc = sheet_read(path, label, mapping_sheet(map), s_on_row, &c, rerr, sizeof rerr);
    if (rc == FIN_EINPUT) {
        char text[800]; /* the file's fault: its report */
        fprintf(o->errors, "%s\n", report_reason(o->lang, rerr, text, sizeof text));
        c.fatal = true;
    } else if (rc != FIN_OK) {
        fin_fail(err, errlen, rc, "%s", rerr);
        goto done;
    }
    if (c.nomem) {
        rc = fin_fail(err, errlen, FIN_ENOMEM, "%s: out of memory", label);
        goto done;
    }
    if (c.fatal || !c.have_header) {
        rc = import_refuse_file(o, label, ref, c.st.rows, c.fatal ? NULL : "sheet"); /* else: no header */
        goto done;
    }
    rejects_finish(c.rejects);
    c.st.dropped = mapping_nunmapped(map);
    rc = import_finish(c.imp, path, &c.st, mapping_unmapped_names(map), o, err, errlen);
done:
    rejects_destroy(&c.rejects);
    import_destroy(&c.imp);
    return rc;
}
