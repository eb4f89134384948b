/* status.h: the operators' view of who delivers what, built from the
 * ledger's agent records (read-only). Shared by `finsamctl status` and the
 * HTTP API so both show the same numbers. */
#ifndef FINSAM_STATUS_H
#define FINSAM_STATUS_H

#include "ledger.h"

#include <jansson.h>
#include <stdio.h>

/* Returns a new JSON object {"events_in_log": n, "agents": [...],
 * "forbund": [...]} or NULL on a store error. now_ms gives ages. Each
 * agent carries "agent" (its Z85 public key, the ledger's key) and
 * "fingerprint" (status_fingerprint); each förbund the sums of its agents
 * (events_stored, rejected, queued_at_site: the events its agents last
 * said they still hold), their number and the freshest agent's age. */
json_t *status_report(ledger_t *ledger, int64_t now_ms);

/* Names the report's agents from the allow-list directory allow_dir
 * (DATA/agents): adds to each agent "file" (the certificate's file name
 * there), "name" (its `name` metadata, else the file name without
 * ".key") and "listed" (true), or "file" and "name" null and "listed"
 * false for a key no certificate there holds (removed since). Reads the
 * directory only; a missing directory names nobody. */
void status_name_agents(json_t *report, const char *allow_dir);

/* The short fingerprint operators tell agents apart by: the first 8
 * bytes of BLAKE2b-256 (libsodium crypto_generichash, no key) of the
 * 32-byte CURVE public key, as 16 lowercase hex digits, into out (at
 * least 17 bytes). "?" and -1 if z85 is not a Z85 public key. The same
 * key gives the same fingerprint in finsamctl status, the API and the
 * dashboard. */
int status_fingerprint(const char *z85, char *out, size_t len);

/* Prints the report as an aligned text table. */
void status_print_table(const json_t *report, FILE *out);

#endif
