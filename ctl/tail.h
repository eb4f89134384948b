/* tail.h: the reference stream subscriber behind `finsamctl tail`.
 *
 * Subscribes to a topic prefix on the collector's live socket (a DEALER
 * sending Subscribe and renewing it, docs/streams.md) and, when asked
 * (--from SEQ), first replays the event log from that sequence through the
 * replay endpoint; while following the live stream it detects a jump in
 * event sequence numbers and fills the gap by replay before printing on.
 * So every event is printed exactly once, in sequence order, whether it
 * arrived live or by replay (the Clone pattern from the ZeroMQ Guide).
 * When the collector ends the subscription (key removed from its
 * allow-list, or not allowed what was asked) tail prints why and returns
 * FIN_EPERM. */
#ifndef FINSAM_TAIL_H
#define FINSAM_TAIL_H

#include "err.h"

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct {
    const char *stream_endpoint; /* live socket (events or aggregates address) */
    const char *replay_endpoint;
    const char *key_file;        /* subscriber secret certificate */
    const char *server_key_file; /* collector public certificate */
    const char *prefix;          /* topic prefix, "" for everything */
    bool from_set;
    uint64_t from_seq;
    bool json;
    long count;       /* stop after this many events printed; 0 = never */
    int idle_exit_ms; /* stop after this long without messages; 0 = never */
} tail_config_t;

/* Runs until *stop, count or idle_exit, printing one line on stderr for
 * any failure. Returns FIN_OK; FIN_EPERM when the collector refused or
 * ended the subscription for want of access (or our key file is refused);
 * FIN_EINPUT when it ended it for another reason (what was asked);
 * FIN_ECONFIG when the collector's key file is unusable; FIN_EAGAIN when
 * it does not answer or a replay fails. */
fin_err_t tail_run(const tail_config_t *config, volatile sig_atomic_t *stop, FILE *out);

#endif
