/* erasure.h: a site-initiated erasure (`finsam-agent erase EVENT-ID`).
 *
 * Staff who sent a row by mistake erase its event by id. The agent queues
 * an Erasure event for the collector (docs/protocol.md, "Erasure"), which
 * replaces the stored event by a tombstone and scrubs its bytes there; and
 * at the site, an event still waiting in the outbox (or kept as rejected)
 * is removed at once, and the free space of outbox/data.mdb, where its
 * bytes (and those of events acknowledged earlier) remain, is wiped.
 *
 * The Erasure is queued even when the event never left the site: it may be
 * in flight already (sent, not yet acknowledged), and then only the
 * Erasure takes it out at the centre. If the centre never stored it, the
 * centre refuses the Erasure as unknown_target, and `status` lists that.
 *
 * The Erasure's id is deterministic, so repeating the command adds
 * nothing: the target's 4-byte month prefix, then the first 12 bytes of
 * anon_hash(site key, "finsam-erasure", target id). It is validated with
 * the collector's own functions, as imported rows are.
 *
 * Not here: the outbox transaction and the scrub (outbox.c), the command
 * line (main.c). */
#ifndef FINSAM_ERASURE_H
#define FINSAM_ERASURE_H

#include "anonymize.h"
#include "catalogue.h"
#include "err.h"
#include "outbox.h"

#include <stdbool.h>
#include <stdint.h>

typedef struct {
    uint8_t target[ANON_ID_LEN];
    uint8_t id[ANON_ID_LEN]; /* the Erasure event's */
    outbox_target_t found;   /* where the target was */
    bool added;              /* the Erasure is new in the queue (false: queued before) */
    bool scrubbed;           /* the scrub ran (false: it failed) */
    store_scrub_report_t scrub;
} erasure_report_t;

/* Parses an event id as `status` and the centre's tools print it: 32 hex
 * digits. Returns 0 or -1. */
int erasure_parse_id(const char *text, uint8_t id[ANON_ID_LEN]);

/* Builds the Erasure event of `target` for förbund (occurred_at: the 1st
 * of the month of now_s, catalogue version of cat), validates it as the
 * collector will (validate_event), and returns its encoded bytes (caller
 * frees) and id. NULL with a reason in err. */
uint8_t *erasure_build(const anon_t *anon, const catalogue_t *cat, const char *forbund,
                       const uint8_t target[ANON_ID_LEN], int64_t now_s, size_t *len, uint8_t id[ANON_ID_LEN],
                       char *err, size_t errlen);

/* The whole command after the objects are loaded: builds the Erasure,
 * stores it with outbox_erase (one transaction), and, when that removed the
 * target from the outbox, then wipes the outbox's free space (outbox_scrub,
 * waiting up to wait_ms for readers that began before). Fills report.
 * Returns FIN_OK, or a code that says why nothing was done, with the
 * reason in err:
 *   FIN_ENOTFOUND  this agent never queued that id
 *   FIN_EINPUT     the target is a retraction or an erasure: no content
 *   FIN_EINTERNAL  the Erasure event failed validation (a bug, or a bad
 *                  catalogue)
 *   anything else  the outbox's code (FIN_EFULL, FIN_EIO, ...)
 * A scrub that fails leaves FIN_OK (the erasure is stored) with
 * report->scrubbed false and the reason in err. */
fin_err_t erasure_run(outbox_t *outbox, const anon_t *anon, const catalogue_t *cat, const char *forbund,
                      const uint8_t target[ANON_ID_LEN], int64_t now_s, int wait_ms, erasure_report_t *report,
                      char *err, size_t errlen);

/* "queued", "rejected", "gone" or "unknown". */
const char *erasure_found_name(outbox_target_t found);

#endif
