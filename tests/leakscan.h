/* leakscan.h: the identifying data the leak scans look for, and the scan.
 *
 * Three people (one with a samordningsnummer, one centenarian whose
 * 10-digit forms need '+'), their personnummer in every spelling, names,
 * e-mail addresses and phone numbers in every spelling; exports (CSV with
 * a mapping, JSONL; good ones the agent imports, bad ones it must refuse
 * whole) that put all of it in every column, field and free text, under
 * file names made of the same identifiers. The site's scan
 * (tests/agents/leak_test.c) and the centre's (tests/e2e/leak_centre_test.c)
 * import the same exports and look for the same needles.
 *
 * A scan is a byte search (memmem) of every needle in every buffer, file
 * and file name it is given: it finds identifiers in binary files (LMDB
 * pages, protobuf) as well as in text, but only as the exports spell them
 * (UTF-8, case as written). Needles made of digits only (a personnummer or
 * phone number without separators, a birth date) are read as numbers, so
 * that the digits of other values do not count:
 *  - none counts inside the fraction of a decimal number (the run of digits
 *    holding it follows "<digit>."): 17 significant digits of a mean or a
 *    confidence interval hold any given 6 digits about once in 20 runs of
 *    the centre's scan, and 9 about once in 50;
 *  - a birth date YYMMDD counts only standing alone: no letter or digit
 *    after it, and before it none, or only its century (as in
 *    "LQ-850312", "19850312"), not inside hex ids and pseudonyms or longer
 *    numbers; inside a personnummer the personnummer needles find it.
 * Every needle must still be found in the source exports under the same
 * rules (the controls of both tests). */
#ifndef FINSAM_TEST_LEAKSCAN_H
#define FINSAM_TEST_LEAKSCAN_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *birth8, *serial3;              /* YYYYMMDD (day + 60: samordningsnummer), NNN */
    bool centenarian;                          /* 10-digit forms need '+' */
    const char *first, *last, *email, *mobile; /* mobile as 07XXXXXXXX */
    char pnr12[13];                            /* computed: with the Luhn digit */
} leakscan_person_t;

#define LEAKSCAN_NPEOPLE 3

/* The people, check digits computed; static storage. */
const leakscan_person_t *leakscan_person(int i);

enum {
    LEAKSCAN_PNR10,
    LEAKSCAN_PNR10_DASH,
    LEAKSCAN_PNR10_PLUS,
    LEAKSCAN_PNR10_SPACE,
    LEAKSCAN_PNR12,
    LEAKSCAN_PNR12_DASH,
    LEAKSCAN_PNR12_SPACE,
    LEAKSCAN_NPNR
};
enum {
    LEAKSCAN_TEL_DASHED,
    LEAKSCAN_TEL_PLAIN,
    LEAKSCAN_TEL_INTL,
    LEAKSCAN_TEL_INTL_PLAIN,
    LEAKSCAN_TEL_SPACED,
    LEAKSCAN_NTEL
};

/* A person's personnummer or phone number in one spelling (one of 16
 * rotating static buffers). */
const char *leakscan_pnr(const leakscan_person_t *p, int form);
const char *leakscan_tel(const leakscan_person_t *p, int form);
/* True if `form` means this person in a personnummer column: a
 * centenarian's 10 digits need '+' (otherwise they read as a child's). */
bool leakscan_pnr_valid_form(const leakscan_person_t *p, int form);

/* ---- the exports ---------------------------------------------------------- */

typedef enum {
    LEAKSCAN_GOOD_CSV,   /* identifiers in every unmapped column and free text; declared insats */
    LEAKSCAN_BAD_CSV,    /* identifiers as the insats (once also as an answer): every row refused */
    LEAKSCAN_GOOD_JSONL, /* identifiers in every field the format does not know; declared insats */
    LEAKSCAN_BAD_JSONL,  /* identifiers as the insats: every row refused */
    LEAKSCAN_NEXPORTS
} leakscan_export_t;

/* Writes export `kind` into buf (cap bytes, enough: 64 KiB) and returns its
 * number of rows. `month` (2026-MM) dates a good export's rows, so that
 * two good exports make different events; bad exports ignore it. */
size_t leakscan_export(leakscan_export_t kind, int month, char *buf, size_t cap);

/* The file name export `kind` is given, typed on the command line
 * (spool false) or dropped into the spool (true): each holds a
 * personnummer, a name, an e-mail address or a phone number. One of 8
 * rotating static buffers. */
const char *leakscan_export_name(leakscan_export_t kind, bool spool);

/* For the agent's configuration: the insats codes the good exports use. */
#define LEAKSCAN_INSATSER_INI "[insatser]\nsteg1 = project\nips = integrated\n"
/* The CSV mapping (`--mapping`) the CSV exports are written for. */
#define LEAKSCAN_MAPPING_INI                                                                                 \
    "[values]\nkind = participant_survey\ninstrument = deltagare_avslut\n"                                   \
    "[columns]\npersonnummer = Personnummer\ndate = Datum\ninsats = Insats\nmode = Arbetsform\n"             \
    "[answers]\nd_behov = Behov\n"                                                                           \
    "[labels.d_behov]\n1 = 1\n2 = 2\n3 = 3\n4 = 4\n5 = 5\n"                                                  \
    "[labels.insats]\nSteg 1 = steg1\n"                                                                      \
    "[labels.mode]\nProjekt = project\n"

/* ---- the scan ------------------------------------------------------------- */

#define LEAKSCAN_MAX_NEEDLES 128

typedef struct {
    char needles[LEAKSCAN_MAX_NEEDLES][64];
    int n;
    bool quiet;                      /* a control: hits are expected, count them silently */
    int hits;                        /* needle occurrences found (one per needle per haystack) */
    int found[LEAKSCAN_MAX_NEEDLES]; /* haystacks each needle was found in */
    size_t files, file_bytes;        /* read by leakscan_tree */
    size_t buffers, buffer_bytes;    /* given to leakscan_buffer */
    size_t in_numbers;               /* all-digit needles seen only as digits of other numbers */
} leakscan_t;

/* A scanner for every person's identifiers in every spelling: each
 * personnummer form, each phone form and the mobile's 9 digits after its 0
 * (in 0701234567, +46701234567, 0046701234567), first and last name,
 * e-mail and the birth date as YYMMDD (as in "LQ-850312"). */
void leakscan_init(leakscan_t *sc, bool quiet);
/* A scanner for these needles only (NULL-terminated). */
void leakscan_init_with(leakscan_t *sc, bool quiet, const char *const *needles);

/* Scans len bytes; `where` names them in a report. Unless quiet, each
 * needle found is reported on stderr with the bytes around it. */
void leakscan_buffer(leakscan_t *sc, const char *where, const void *hay, size_t len);
/* Scans every file under dir (contents and every file and directory
 * name), recursively. Anything but directories and regular files fails
 * the test. */
void leakscan_tree(leakscan_t *sc, const char *dir);
/* Scans one file; reading it must succeed. */
void leakscan_file(leakscan_t *sc, const char *path);

#endif
