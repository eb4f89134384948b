/* sender.h: the agent's link to the collector. Sends queued events in
 * batches over CurveZMQ (DEALER -> ROUTER) and removes them from the outbox
 * only when an Ack names them.
 *
 * A sender_t is an actor in the CZMQ sense without a thread: one self
 * struct, one loop (sender_run) that owns the DEALER socket and its monitor
 * socket, one handler per socket. It keeps at most `window` batches in
 * flight and reads only the next batch from LMDB, so memory stays bounded
 * whatever the backlog. Resends are harmless: the collector deduplicates.
 *
 * Not here: what events contain (import.c), choosing keys (main.c). */
#ifndef FINSAM_SENDER_H
#define FINSAM_SENDER_H

#include "outbox.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sender_t sender_t;

typedef struct {
    const char *endpoint;        /* collector, e.g. tcp://127.0.0.1:7710 */
    const char *secret_key_path; /* agent certificate (secret part), mode 0600 */
    const char *server_key_path; /* collector public certificate; read again while a failed
                                    handshake waits for its retry, when the file changed
                                    (COLLECTOR-KEY-RELOADED) */
    const char *agent_id;        /* informational, sent in every Batch */
    long batch_size;             /* events per batch, 1..CODEC_MAX_BATCH_EVENTS */
    long window;                 /* batches in flight, >= 1 */
    long ack_timeout_ms;         /* no ack this long: resend from the start of the queue */
    bool exit_when_empty;        /* sender_run returns 0 once the queue is empty while connected */
    long connect_timeout_ms;     /* with exit_when_empty: give up (sender_run returns -2) this long
                                    after the collector refused us (key not listed, wrong collector
                                    key) without a connection since; 0: never */
    long unreachable_timeout_ms; /* the same for a collector that does not answer at all (not
                                    started yet, or down); 0: wait for it */
    const char *state_path;      /* where status reads the link state (sender_state_read), or NULL */
    const char *spool_dir;       /* run --spool DIR, written to the state file for status; or NULL */
} sender_config_t;

/* The link as status shows it. */
typedef enum {
    SENDER_CONNECTING,   /* no answer yet */
    SENDER_CONNECTED,    /* the CURVE handshake succeeded */
    SENDER_REFUSED,      /* the collector's allow-list does not hold our key (HANDSHAKE_FAILED_AUTH) */
    SENDER_KEY_MISMATCH, /* the handshake failed: keys/collector.key is not that collector's key */
    SENDER_UNREACHABLE   /* nothing listens at the endpoint (connect retried) */
} sender_link_t;

/* The state file: written by a running sender (cfg.state_path), read by
 * finsam-agent status, another process. Times are Unix seconds, 0 = never. */
typedef struct {
    sender_link_t link;
    int64_t since; /* the link has been in this state since */
    char endpoint[256];
    int64_t last_ack; /* the last ack that accepted events */
    long day;         /* YYYYMMDD (local) delivered_today counts */
    uint64_t delivered_today, delivered_total;
    int64_t queued_since; /* the queue has not been empty since (as the sender saw it), 0: empty */
    int64_t updated;      /* last written */
    long pid;             /* the sender's process */
    char spool[1024];     /* the spool directory it watches, "" for none */
} sender_state_t;

/* Reads PATH into st (zeroed first; delivered_today is 0 when the file's
 * day is not today). Returns 0, or -1 if it cannot be opened (errno). */
int sender_state_read(const char *path, sender_state_t *st);

/* Whether a sender that writes the state file PATH runs now: it holds
 * PATH.lock while it lives, which the kernel releases the moment it dies
 * (killed, crashed); without that file, whether st's pid runs. Takes no
 * lock that a sender would wait for more than an instant. */
bool sender_state_running(const char *path, const sender_state_t *st);

/* "connected", "refused", ...: the state file's words. */
const char *sender_link_name(sender_link_t link);

/* Creates the sender (borrowing outbox and the strings in cfg, which must
 * outlive it), loads the keys and connects (the connection completes in the
 * background). Returns FIN_OK, or with a reason in err: FIN_ECONFIG (the
 * limits, a key file, the endpoint), FIN_ENOMEM, FIN_EINTERNAL (ZeroMQ
 * refused a socket or an option). */
fin_err_t sender_new(sender_t **out, outbox_t *outbox, const sender_config_t *cfg, char *err, size_t errlen);

/* Closes the sockets; NULL-safe, sets *self_p to NULL. Unacked events stay
 * in the outbox. */
void sender_destroy(sender_t **self_p);

/* One more file descriptor for the same loop (the spool's inotify fd), so
 * the agent stays one thread: on_readable runs when fd is readable, on_tick
 * once per loop turn (at least every 200 ms). Both run on the loop's
 * thread and block sending while they work; an import of a large file
 * delays sending, it never loses anything. Pass NULL to remove. The struct
 * is copied; arg is borrowed and must outlive sender_run. */
typedef struct {
    int fd;
    void (*on_readable)(void *arg);
    void (*on_tick)(void *arg);
    void *arg;
} sender_watch_t;
void sender_watch(sender_t *self, const sender_watch_t *watch);

/* Runs until *stop becomes nonzero (a signal handler sets it), or, with
 * exit_when_empty, until the queue is empty while the CURVE handshake with
 * the collector has succeeded (an agent started before its collector, or
 * with nothing queued yet, keeps waiting). Returns 0, -1 after an
 * outbox (LMDB) failure that makes going on pointless, or -2 when
 * exit_when_empty and connect_timeout_ms (refused) or
 * unreachable_timeout_ms (no answer) passed without a connection. */
int sender_run(sender_t *self, volatile sig_atomic_t *stop);

#endif
