/* anonymize.h: everything that turns a row about a person into something
 * the collector may hold: personnummer checks and pseudonyms, coarse dates
 * and age bands, deterministic event ids and correction keys.
 *
 * An anon_t holds the site's pseudonym key (32 bytes, DATA/keys/pseudonym.key)
 * in sodium_malloc'd memory and is the only object that ever sees it. The
 * same key must be used for the life of the site: a new key gives every
 * participant a new pseudonym and breaks paired measures.
 *
 * Not here: which row fields exist (import.c), storage (outbox.c), writing
 * key files and moving the key to another machine (keyseal.c). Nothing
 * in this file logs; callers must never log keys, pseudonyms or identifiers. */
#ifndef FINSAM_ANONYMIZE_H
#define FINSAM_ANONYMIZE_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ANON_KEY_LEN 32
#define ANON_PSEUDONYM_LEN 32
#define ANON_ID_LEN 16
#define ANON_HASH_LEN 32

typedef struct anon_t anon_t;

/* Makes an anonymizer from a 32-byte key (copied into guarded memory; the
 * caller should wipe its copy). NULL if sodium cannot initialise or allocate. */
anon_t *anon_new(const uint8_t key[ANON_KEY_LEN]);

/* Loads the key from a file holding 64 hex digits (and optional newline).
 * Returns FIN_OK, or with the reason in err: FIN_ENOTFOUND (no such file),
 * FIN_EPERM (readable by group or others, or not ours), FIN_ECONFIG (not a
 * key file), FIN_EIO, FIN_ENOMEM. */
fin_err_t anon_load(anon_t **out, const char *path, char *err, size_t errlen);

/* The key bytes (ANON_KEY_LEN), for keyseal.c only, which seals them for
 * another machine: borrowed, in guarded read-only memory, valid until
 * anon_destroy. Nothing else may copy, log or send them. */
const uint8_t *anon_key(const anon_t *self);

/* Wipes and frees the key; NULL-safe, sets *self_p to NULL. */
void anon_destroy(anon_t **self_p);

/* Checks a personnummer or samordningsnummer and normalises it to 12 digits
 * (YYYYMMDDNNNC, no separator) in out[13]. Accepted: YYMMDD-NNNC,
 * YYMMDD+NNNC ('+': 100 years or older), YYMMDDNNNC, YYYYMMDD-NNNC,
 * YYYYMMDDNNNC. The century of a 10-digit number is the latest one that
 * does not put the birth date after `today_*`, minus 100 years for '+'.
 * Sets *birth_year when not NULL. Local reserve numbers (letters, wrong
 * checksum) are refused, never guessed at. Returns FIN_OK, or FIN_EINPUT
 * with the reason in err, which never repeats the number: not 10 or 12
 * digits with an optional '-'/'+', no such birth date (samordningsnummer:
 * day + 60), a wrong Luhn check digit, or a birth date after today. */
fin_err_t anon_pnr_normalize(const char *in, int today_year, int today_month, int today_day, char out[13],
                             int *birth_year, char *err, size_t errlen);

/* Pseudonym = keyed BLAKE2b-256(normalised 12 digits, site key). */
void anon_pseudonym(const anon_t *self, const char norm12[12], uint8_t out[ANON_PSEUDONYM_LEN]);

/* Days since 1970-01-01 of a proleptic Gregorian date (negative before). */
int32_t anon_days_from_civil(int year, int month, int day);
/* The inverse of anon_days_from_civil. */
void anon_civil_from_days(int32_t days, int *year, int *month, int *day);

/* True if year-month-day is a real calendar date (year 1800..9999). */
bool anon_is_date(int year, int month, int day);

/* The coarse occurred_at sent on the wire: the 1st of the month at 12:00
 * Europe/Stockholm, as unix seconds. Computed from the EU summer-time rule
 * (since 1996 the switch is the last Sunday of March and of October, so the
 * 1st of April..October is always CEST, UTC+2, other months CET, UTC+1):
 * no dependency on TZ or tzdata at run time; a test checks it against
 * /usr/share/zoneinfo/Europe/Stockholm. Noon keeps the month the same in
 * any zone from UTC-11 to UTC+11. */
int64_t anon_month_start(int year, int month);

/* The AgeBand enum number (finsam.proto) for an age in whole years at the
 * event: 16-29 -> 1, 30-49 -> 2, 50-64 -> 3, 65+ -> 4; 0 below 16. */
int anon_age_band(int age);

/* Keyed BLAKE2b-256 over `domain` (including its NUL) followed by data:
 * the content hash of an event, or the natural key of a row. Keyed with the
 * site key so neither can be recomputed from a guessed personnummer. */
void anon_hash(const anon_t *self, const char *domain, const uint8_t *data, size_t len,
               uint8_t out[ANON_HASH_LEN]);

/* Event id: big-endian uint32 month number of the row's date (months
 * since 1970-01: (year - 1970) * 12 + month - 1), then the first 12 bytes
 * of the content hash anon_hash(self, "finsam-event-id", canonical
 * content). The month prefix keeps the collector's dedupe-index inserts
 * near-sequential; nothing finer than the month is readable from an id
 * (the day, when the caller hashes it, only enters through the keyed
 * hash). Ids are deterministic: the same row gives the same id. */
void anon_event_id(int year, int month, const uint8_t content_hash[ANON_HASH_LEN], uint8_t out[ANON_ID_LEN]);

/* The month number of an id prefix: (year - 1970) * 12 + month - 1. */
uint32_t anon_month_number(int year, int month);

/* True if s looks like a direct identifier: an e-mail address, or a string
 * of digits, spaces and - + ( ) holding 8 or more digits (personnummer with
 * or without separator, Swedish phone numbers in any usual spelling). */
bool anon_looks_identifying(const char *s);

/* Same test for a number that arrived as a JSON integer. */
bool anon_number_looks_identifying(long long v);

/* True if s contains a direct identifier anywhere in it: an e-mail address
 * (word@word.word) or a run of digits, spaces and - + ( ) holding 8 or more
 * digits. For cells of mapped CSV columns, where free text may surround it
 * ("ring 070-123 45 67"). */
bool anon_contains_identifying(const char *s);

/* The 1st of the current month in Sweden at now_s (Unix seconds), as
 * anon_month_start gives it: the Stockholm offset of the UTC month decides
 * the day. How agent-made events (erasures, withdrawals) are dated. */
int64_t anon_this_month(int64_t now_s);

#endif
