/* approval.h: which periods of a förbund are official — the approval
 * state machine of issue 18 (docs/report.md), like DHIS2's data approval
 * per period and organisation unit.
 *
 *   open ──submit (förbund's agent)──► submitted ──approve (central)──►
 *   approved, locked at the approval's log position
 *   submitted/approved ──reopen (central, with a reason)──► open
 *
 * The design decision: every step is an event in the log (body
 * `approval`, proto/finsam.proto). The förbund's agent sends SUBMIT over
 * its authenticated channel, so the collector binds it to the förbund of
 * the agent's key like any event; `finsamctl approve/reopen` writes
 * APPROVE/REOPEN into the log itself, as `finsamctl erase` writes its
 * Erasure, with the operator's user name. The state in the `approvals`
 * database is derived from those events in log order, in the same write
 * transaction that stores them (a SIGKILL leaves the state of the last
 * commit), and `rebuild --verify` replays it and compares it byte for
 * byte. A lock is a log position: the official figures of (förbund,
 * period) are those of the förbund's events up to that position, so they
 * never change unless the period is reopened (and approved again) — which
 * the history shows with who and why. Approving and locking are one step:
 * a state "approved but not locked" would change nothing anyone can see.
 *
 * Late data: an event of a förbund stored after the lock of one of its
 * periods that the event's month falls in (for a retraction, correction
 * or erasure, also its target's month) is counted in that period's
 * `late_events`; it is stored and counted in the live figures as always.
 * A reopen sets the count back to 0 (its history step keeps the count).
 *
 * Periods: a calendar year (half 0) or one of its halves (1: January-June,
 * 2: July-December), each with a state of its own.
 *
 * Stored layout (big-endian), database `approvals`:
 *   key förbund (8 bytes, NUL-padded) + be16 year + u8 half   (11 bytes)
 *     -> u8 version (1), u8 state, be64 lock_seq, be64 late_events,
 *        be64 changed_seq, be64 changed_ms, be32 steps          (38 bytes)
 *   key the same + be64 seq of the approval event              (19 bytes)
 *     -> u8 version (1), u8 action, u8 from, u8 to, be64 at_ms,
 *        be64 late_events (before the step), u8 by length, by,
 *        be16 reason length, reason
 * at_ms is the time the collector (or finsamctl) logged the event, taken
 * from the log record, so a rebuild writes the same bytes.
 *
 * Not here: the official figures themselves (official.h replays the log
 * up to the locks); the disclosure control (report/). */
#ifndef FINSAM_APPROVAL_H
#define FINSAM_APPROVAL_H

#include "codec.h"
#include "err.h"
#include "ledger.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

typedef enum { APPROVAL_OPEN = 0, APPROVAL_SUBMITTED = 1, APPROVAL_APPROVED = 2 } approval_state_t;

typedef enum {
    APPROVAL_SUBMIT = 1, /* = PeriodApproval.Action */
    APPROVAL_APPROVE = 2,
    APPROVAL_REOPEN = 3,
} approval_action_t;

#define APPROVAL_BY_MAX 64
#define APPROVAL_REASON_MAX 500

/* One period's current state. */
typedef struct {
    char forbund[LEDGER_FORBUND_LEN + 1];
    int year;
    int half; /* 0: the year; 1, 2: a half-year */
    approval_state_t state;
    uint64_t lock_seq;    /* approved: the log position the figures are locked at */
    uint64_t late_events; /* approved: events stored after lock_seq for this period */
    uint64_t changed_seq; /* the last approval event */
    int64_t changed_ms;
    uint32_t steps; /* history steps */
} approval_t;

/* One step of a period's history. */
typedef struct {
    uint64_t seq;
    approval_action_t action;
    approval_state_t from, to;
    int64_t at_ms;
    uint64_t late_events; /* the period's late events before this step */
    char by[APPROVAL_BY_MAX + 1];
    char reason[APPROVAL_REASON_MAX + 1];
} approval_step_t;

/* "open", "submitted", "approved"; action names "submit", "approve",
 * "reopen". */
const char *approval_state_name(approval_state_t state);
const char *approval_action_name(approval_action_t action);

/* Parses "2026" (half 0) or "2026-H1"/"2026-H2". 0 or -1. */
int approval_period_parse(const char *text, int *year, int *half);
/* "2026" or "2026-H1". */
void approval_period_format(char *out, size_t len, int year, int half);

/* ---- inside a write transaction (ingest, replay, finsamctl) ------------ */

/* Whether the approval event ev (body `approval`) may be applied to the
 * state `txn` sees: *code REJECT_NONE, or REJECT_STATE with a reason for a
 * person in why (what state the period is in and what to do). Returns 0
 * or an LMDB error. */
int approval_check(MDB_txn *txn, const ledger_t *ledger, const event_msg_t *ev, reject_code_t *code,
                   char *why, size_t whylen);

/* Applies the approval event ev logged at seq at time at_ms (checked with
 * approval_check): the new state and a history step. Returns 0 or an LMDB
 * error. */
int approval_apply(MDB_txn *txn, const ledger_t *ledger, const event_msg_t *ev, uint64_t seq, int64_t at_ms);

/* Counts ev, logged at seq, as late data of every approved period of its
 * förbund whose lock is before seq and that ev's month — or for a
 * retraction, correction or erasure its target's month — falls in.
 * Approval events are not data: ignored. Targets are looked up in `log`
 * (the source ledger's read or write transaction: a replay reads the log
 * of another store than the one it writes). Returns 0 or an LMDB error. */
int approval_note(MDB_txn *txn, const ledger_t *ledger, MDB_txn *log, const ledger_t *source,
                  const event_msg_t *ev, uint64_t seq);

/* ---- reading ----------------------------------------------------------- */

/* The state of one period: 0 (a period never submitted reads as open,
 * with only forbund, year and half set) or an LMDB error. */
int approval_get(MDB_txn *txn, const ledger_t *ledger, const char *forbund, int year, int half,
                 approval_t *out);

/* Calls fn for every period with a state, in key order (förbund, year,
 * half); forbund NULL: every förbund; year 0: every year. fn returns 0 to
 * go on. Returns 0, fn's nonzero value, or an LMDB error. */
typedef int (*approval_fn)(const approval_t *a, void *arg);
int approval_each(MDB_txn *txn, const ledger_t *ledger, const char *forbund, int year, approval_fn fn,
                  void *arg);

/* Calls fn for each history step of one period, oldest first. */
typedef int (*approval_step_fn)(const approval_step_t *s, void *arg);
int approval_history(MDB_txn *txn, const ledger_t *ledger, const char *forbund, int year, int half,
                     approval_step_fn fn, void *arg);

/* Every period with a state (filtered as approval_each), as JSON:
 * {"periods":[{forbund, period, state, locked, lock_seq, late_events,
 * changed_seq, changed_at, history:[{seq, action, from, to, at, by,
 * reason, late_events}]}]}; history only when `history`. NULL on a store
 * failure (reason in err). */
json_t *approval_json(ledger_t *ledger, const char *forbund, int year, bool history, char *err,
                      size_t errlen);

/* ---- finsamctl approve / reopen ----------------------------------------- */

typedef struct {
    const char *forbund;
    int year, half;
    approval_action_t action; /* APPROVAL_APPROVE or APPROVAL_REOPEN */
    const char *by;           /* the operator's user name */
    const char *reason;       /* reopen: required */
} approval_request_t;

/* Writes the operator's approval event into the log and applies it, in one
 * write transaction (works while the collector runs: LMDB serialises both
 * processes' writers). FIN_OK with *seq the event's log position;
 * FIN_EINPUT when the state does not allow it (approve of a period that is
 * not submitted, reopen of an open one) or the request is malformed, with
 * the reason in err; else a store failure. */
fin_err_t approval_run(ledger_t *ledger, const approval_request_t *req, uint64_t *seq, char *err,
                       size_t errlen);

#endif
