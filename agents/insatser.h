/* insatser.h: the insats codes a site has declared, in the [insatser]
 * section of the agent's configuration file (--config agent.ini):
 *
 *   [insatser]            ; code = project | integrated | any
 *   steg1 = project
 *   ips = integrated
 *
 * The design decision: an insats code is the only text of a row that
 * reaches the collector, so it must come from this list. A column mapped
 * wrongly (a name, "LQ-850312") then stops at the site instead of going
 * into the outbox, the ledger and the event stream. A code declared with a
 * mode also gives the mode of rows that do not say it, and must agree with
 * the rows that do.
 *
 * Not here: checking rows (import.c), where the file's other keys go
 * (common/options.c, which skips this section). */
#ifndef FINSAM_INSATSER_H
#define FINSAM_INSATSER_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>

/* At most this many codes; each is 1-31 of A-Z a-z 0-9 _ - (the wire's
 * limit) and must not look like a personnummer, phone number or e-mail. */
#define INSATSER_MAX 256

/* The mode a code is declared with: the InsatsMode numbers of
 * finsam.proto, or 0 for "any" (the row must say it). */
#define INSATSER_ANY 0
#define INSATSER_PROJECT 1
#define INSATSER_INTEGRATED 2

typedef struct insatser_t insatser_t;

/* An empty list. `source` names where the codes come from in messages
 * ("agent.ini"); copied. NULL on allocation failure. */
insatser_t *insatser_new(const char *source);

/* Reads the [insatser] section of the INI file `path` (other sections are
 * ignored). An absent or empty section gives an empty list. The source in
 * messages is the file's base name. Returns FIN_OK, or (*out NULL) with the
 * reason in err: FIN_ENOTFOUND ("PATH: cannot open: ..."), FIN_ECONFIG
 * ("PATH:LINE: reason"), FIN_ENOMEM. */
fin_err_t insatser_load(insatser_t **out, const char *path, char *err, size_t errlen);

/* Frees; NULL-safe, sets *self_p to NULL. */
void insatser_destroy(insatser_t **self_p);

/* Declares a code with a mode ("project", "integrated", "any" or "").
 * Returns FIN_OK, or FIN_ECONFIG with a reason in err (bad code or mode,
 * given twice, more than INSATSER_MAX). */
fin_err_t insatser_add(insatser_t *self, const char *code, const char *mode, char *err, size_t errlen);

/* Number of declared codes (0 for a NULL list). */
size_t insatser_count(const insatser_t *self);

/* Where the codes were declared, for messages ("agent.ini"). */
const char *insatser_source(const insatser_t *self);

/* True if code is declared exactly (case matters: "Steg1" and "steg1"
 * would be different cells); sets *mode (INSATSER_*) when not NULL. */
bool insatser_find(const insatser_t *self, const char *code, int *mode);

/* The declared code that `value` spells differently, ignoring case and
 * the separators '-', '_' and ' ' ("Steg 1" -> "steg1"), or NULL. Such a
 * value is only a spelling of a declared code, never personal data, so a
 * message may repeat it; any other unknown value must not be shown. */
const char *insatser_similar(const insatser_t *self, const char *value);

/* Name of an INSATSER_* mode ("any", "project", "integrated"). */
const char *insatser_mode_name(int mode);

#endif
