/* throttle.h: at most one log line per key and period, with a count of the
 * ones held back.
 *
 * A misconfigured agent (a key not on the allow-list, the wrong collector
 * key) retries its handshake several times a second for as long as it
 * runs; one line per attempt would bury the log. The first failure of a
 * (peer address, key) is logged at once, the next only a period later,
 * carrying "(N more in the last minute)" for those not written. A key that
 * goes quiet with some held back gets that count in one last line at the
 * next throttle_flush, then is forgotten.
 *
 * Not thread-safe: the collector uses it from its one loop. */
#ifndef FINSAM_THROTTLE_H
#define FINSAM_THROTTLE_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

typedef struct throttle_t throttle_t;

/* A throttle of one line per key per period_ms, writing at `level` for
 * `component`. Remembers at most max_keys keys (further new keys are
 * logged unthrottled rather than lost). NULL on allocation failure. */
throttle_t *throttle_new(int64_t period_ms, size_t max_keys, log_level_t level, const char *component);
void throttle_destroy(throttle_t **self_p);

/* One event of `key` at now_ms (a monotonic clock), described by `line`
 * (an event name and its fields, as for log_warn). Logs it, followed by
 * " (N more in the last minute)" when N were held back, or counts it
 * without logging if `key` was logged less than a period ago. (For a
 * period other than a minute the count reads "in the last Ns".) Returns 1 if
 * logged, 0 if held back. */
int throttle_event(throttle_t *self, const char *key, const char *line, int64_t now_ms);

/* Forgets the keys last logged a period or more before now_ms, first
 * logging the held-back count of those that have one (their last line,
 * with the count). Call it every few seconds. */
void throttle_flush(throttle_t *self, int64_t now_ms);

#endif
