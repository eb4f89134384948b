/* erase_util.h: what the erasure tests share on top of cluster.h and
 * fault_util.h — rows "sent by mistake" with a marker insats code, agents
 * that may send them, the collector's stored bytes read beside the running
 * collector, and the checks that an erased event is gone from a data
 * directory and from replay. Used by tests/collector/erase_test.c
 * (finsamctl erase, Erasure over the wire) and tests/e2e/agent_erase_test.c
 * (`finsam-agent erase`). */
#ifndef FINSAM_TEST_ERASE_UTIL_H
#define FINSAM_TEST_ERASE_UTIL_H

#include "cluster.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Insats codes every agent of these tests declares in its agent.ini: the
 * markers of the mistaken rows (agents/insatser.h). */
#define EU_MARKERS "ZZERASEMEZZ ZZOLDZZ ZZSITEZZ ZZHBSZZ ZZAGENTZZ ZZQUEUEDZZ"

/* Appends a participant survey with the insats code `marker` for person
 * pnr on date (YYYY-MM-DD) to f: the row "sent by mistake". */
void eu_marker_row(FILE *f, const char *pnr, const char *date, const char *marker, int answer);

/* Writes AGENT/agent.ini declaring EU_MARKERS and returns its path (static
 * storage, valid until the next call). */
const char *eu_agent_config(const char *agent_dir);

/* Imports the file through the agent (with eu_agent_config) and runs it
 * until its queue is empty: delivered. */
void eu_deliver(cluster_t *c, const char *agent_dir, const char *path);
/* The same for `status` rows first..first+n-1 (fault_write_jsonl). */
void eu_deliver_rows(cluster_t *c, const char *agent_dir, long first, long n);

typedef struct {
    uint64_t seq;
    uint8_t id[16];
    uint8_t *bytes; /* exactly as stored; caller frees */
    size_t len;
} eu_stored_t;

/* Finds the stored event of forbund whose bytes contain marker and that
 * occurred before `before` (0: any time), reading the ledger read-only
 * beside the running collector. */
bool eu_find(const cluster_t *c, const char *forbund, const char *marker, int64_t before, eu_stored_t *out);

/* Body kind of the stored event at seq ("erased" for a tombstone); static
 * storage, valid until the next call. */
const char *eu_kind_at(const cluster_t *c, uint64_t seq);
/* Waits (up to 20 s) until the event at seq is a tombstone and the
 * collector has logged the scrub that followed: an erasure is
 * acknowledged when stored, and its target's bytes are replaced once the
 * cells have passed it (count/erase.h). */
bool eu_wait_erased(const cluster_t *c, uint64_t seq);

/* Copies of needle in the collector's ledger/data.mdb. */
long eu_count_data_mdb(const cluster_t *c, const void *needle, size_t len);

/* Nothing of the erased event in the collector's data directory nor in a
 * backup taken now (finsamctl backup); the marker text is found there only
 * if marker_live (live events still carry it). */
void eu_check_gone(cluster_t *c, const eu_stored_t *gone, const char *marker, bool marker_live);

/* Replays the whole log (n events) with the subscriber key `sub` and
 * returns the JSON line of seq (caller frees). */
char *eu_replay_line(cluster_t *c, const char *sub, long n, uint64_t seq);

#endif
