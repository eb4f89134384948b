/* csvcell.h: reading the text of one CSV cell as staff exports write it:
 * white space and no-break spaces around it, any letter case, Swedish
 * decimal commas and digit groups, ISO or day-first dates. For mapping.c.
 *
 * Not here: what a cell means (mapping_row.c), CSV syntax (csvimport.c). */
#ifndef FINSAM_CSVCELL_H
#define FINSAM_CSVCELL_H

#include <stdbool.h>
#include <stddef.h>

/* Trims ASCII white space and UTF-8 no-break spaces (Excel's favourite)
 * from both ends into out; -1 if it does not fit. */
int csvcell_trim(const char *in, char *out, size_t outlen);

/* Trimmed and lower-cased for comparing labels and headers: ASCII letters
 * and the Latin-1 capitals in their two-byte UTF-8 form (Å Ä Ö É ...). */
int csvcell_norm(const char *in, char *out, size_t outlen);

/* A whole or decimal number: optional sign, digits (spaces or no-break
 * spaces between digit groups allowed: "1 234"), then optionally a decimal
 * comma or point and digits ("4,0", "37,5"). Sets *whole, *fraction (true
 * if any non-zero decimal) and *round_up (first decimal >= 5). Returns 0
 * or -1. */
int csvcell_number(const char *s, long long *whole, bool *fraction, bool *round_up);

/* "2026-03-14" (optionally followed by a time) or "14/3/2026" into
 * "YYYY-MM-DD"; -1 if neither or no such day. */
int csvcell_date(const char *s, char out[11]);

/* Strict UTF-8 (no overlong forms, no surrogates, nothing above
 * U+10FFFF), as jansson checks a string: n bytes at p. */
bool csvcell_is_utf8(const void *p, size_t n);

/* Levenshtein distance in bytes between a and b, counting up to `limit`
 * (returns limit + 1 beyond it); for "did you mean" and drafting. */
int csvcell_distance(const char *a, const char *b, int limit);

/* True if a and b (compared as csvcell_norm does) are at most 2 edits
 * apart, or one of at least 3 bytes starts the other: the test of every
 * "did you mean" of the mapping. */
bool csvcell_similar(const char *a, const char *b);

#endif
