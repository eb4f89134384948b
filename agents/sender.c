/* sender.c: batches from the outbox to the collector (see sender.h).
 *
 * The design decision: the sender never remembers which events are in
 * flight, only where it has read up to (next_seq) and which batch numbers
 * await an ack. The outbox is the truth: an ack deletes the named ids, and
 * whenever anything is in doubt (ack timeout, reconnect, a refused batch)
 * the sender simply starts reading again from the start of the queue.
 * Everything still there is resent; the collector's dedupe makes that
 * harmless. This keeps memory bounded and makes the recovery path the same
 * code as the normal one.
 *
 * ZMQ_IMMEDIATE=1 keeps batches out of connections that are not complete
 * (a failed CURVE handshake would otherwise swallow them); the socket
 * monitor tells "not authorized" apart from "collector down".
 *
 * Why one file: it is one actor (STYLE 12): the self struct, its loop and
 * one handler per socket read and write the same flight window and link
 * state, and splitting them would export that state. */
#include "sender.h"

#include "codec.h"
#include "keys.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define S_POLL_MS 200
#define S_BATCH_BYTES (CODEC_MAX_BATCH_BYTES - 64 * 1024) /* room for the envelope */
#define S_BACKOFF_MIN_MS 500
#define S_BACKOFF_MAX_MS 30000
#define S_BATCH_SEQ_BLOCK 1024
/* A refused handshake is not retried by libzmq 4.3 (the ZAP "400" ends the
 * session for good), and a wrong collector key fails every few hundred
 * milliseconds: both recreate the socket after this back-off, 1 s doubling
 * to 5 min, so a key added later is picked up without a restart. */
#define S_HS_BACKOFF_MIN_MS 1000
#define S_HS_BACKOFF_MAX_MS (5 * 60 * 1000)
#define S_STATE_EVERY_MS 1000 /* the state file at most this often after acks */

typedef struct {
    uint64_t batch_seq;
    int64_t sent_ms;
    size_t n;                     /* events in it */
    uint64_t first_seq, last_seq; /* outbox sequence numbers, for the log */
} s_flight_t;

typedef enum { LINK_DOWN, LINK_UP, LINK_REFUSED, LINK_FAILED, LINK_UNREACHABLE } s_link_t;

/* Which file the collector key was read from, to notice a new one. */
typedef struct {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
} s_file_id_t;

struct sender_t {
    outbox_t *outbox;
    sender_config_t cfg;
    void *ctx;
    void *dealer; /* NULL while waiting to recreate it after a failed handshake */
    void *monitor;
    unsigned sockets; /* sockets made, for unique monitor endpoints */
    uint8_t server_pub[32], my_pub[32], my_sec[32];
    s_file_id_t server_key_id; /* the file server_pub came from (or the last one tried) */
    int lock_fd;               /* STATE.lock, held shared while this sender lives; -1 */
    s_link_t link;
    bool was_up;
    int64_t reopen_at, hs_backoff_ms; /* after a failed handshake */
    int64_t down_since;               /* monotonic ms the link was last not up */
    /* What status shows (sender_state_read). */
    sender_state_t st;
    bool st_dirty;
    int64_t st_written_ms;
    /* Reading position and batches awaiting an ack. */
    uint64_t next_seq;
    s_flight_t *flights;
    long nflights;
    /* A packed batch that could not be sent yet (no connection). */
    uint8_t *ready;
    size_t ready_len;
    uint64_t ready_batch_seq, ready_first_seq, ready_last_seq;
    size_t ready_n;
    /* Batch numbers reserved in the outbox. */
    uint64_t batch_next, batch_end;
    int64_t backoff_until, backoff_ms;
    int64_t last_wrap_ms;
    /* Peek buffer for building one batch. */
    uint8_t *arena;
    size_t arena_len, arena_cap;
    size_t *offsets, *lengths;
    uint64_t build_first_seq, build_last_seq;
    size_t build_n;
    /* An extra descriptor polled in the same loop (sender_watch). */
    sender_watch_t watch;
    bool has_watch;
};

/* ---- setup ------------------------------------------------------------- */

/* The identity of PATH now; zeroed if it cannot be stat'ed. */
static s_file_id_t s_file_id(const char *path)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return (s_file_id_t){0};
    return (s_file_id_t){st.st_dev, st.st_ino, st.st_size, st.st_mtim};
}

static bool s_file_id_eq(const s_file_id_t *a, const s_file_id_t *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
           a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static int s_setopt_int(void *sock, int opt, int value)
{
    return zmq_setsockopt(sock, opt, &value, sizeof value);
}

static void s_close_socket(sender_t *self)
{
    if (self->dealer)
        zmq_socket_monitor(self->dealer, NULL, 0);
    if (self->monitor)
        zmq_close(self->monitor);
    if (self->dealer)
        zmq_close(self->dealer);
    self->monitor = self->dealer = NULL;
}

/* The DEALER, its monitor and the connect. Returns FIN_OK, or FIN_ECONFIG
 * (the endpoint) or FIN_EINTERNAL with a reason in err; on failure no
 * socket is left open. */
static fin_err_t s_open_socket(sender_t *self, char *err, size_t errlen)
{
    if (!(self->dealer = zmq_socket(self->ctx, ZMQ_DEALER)))
        return fin_fail(err, errlen, FIN_EINTERNAL, "zmq_socket: %s", zmq_strerror(errno));
    int64_t maxmsg = CODEC_MAX_BATCH_BYTES;
    if (s_setopt_int(self->dealer, ZMQ_LINGER, 0) || s_setopt_int(self->dealer, ZMQ_IMMEDIATE, 1) ||
        s_setopt_int(self->dealer, ZMQ_HEARTBEAT_IVL, 1000) ||
        s_setopt_int(self->dealer, ZMQ_HEARTBEAT_TIMEOUT, 5000) ||
        s_setopt_int(self->dealer, ZMQ_HEARTBEAT_TTL, 10000) ||
        s_setopt_int(self->dealer, ZMQ_RECONNECT_IVL, 100) ||
        s_setopt_int(self->dealer, ZMQ_RECONNECT_IVL_MAX, 2000) ||
        s_setopt_int(self->dealer, ZMQ_HANDSHAKE_IVL, 10000) ||
        zmq_setsockopt(self->dealer, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) ||
        zmq_setsockopt(self->dealer, ZMQ_CURVE_SERVERKEY, self->server_pub, 32) ||
        zmq_setsockopt(self->dealer, ZMQ_CURVE_PUBLICKEY, self->my_pub, 32) ||
        zmq_setsockopt(self->dealer, ZMQ_CURVE_SECRETKEY, self->my_sec, 32)) {
        fin_fail(err, errlen, FIN_EINTERNAL, "socket options: %s", zmq_strerror(errno));
        s_close_socket(self);
        return FIN_EINTERNAL;
    }
    char inproc[96];
    snprintf(inproc, sizeof inproc, "inproc://finsam-agent-monitor-%p-%u", (void *) self, self->sockets++);
    if (zmq_socket_monitor(self->dealer, inproc,
                           ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CONNECT_RETRIED |
                               ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                               ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) <
            0 ||
        !(self->monitor = zmq_socket(self->ctx, ZMQ_PAIR)) || s_setopt_int(self->monitor, ZMQ_LINGER, 0) ||
        zmq_connect(self->monitor, inproc) < 0) {
        fin_fail(err, errlen, FIN_EINTERNAL, "socket monitor: %s", zmq_strerror(errno));
        s_close_socket(self);
        return FIN_EINTERNAL;
    }
    if (zmq_connect(self->dealer, self->cfg.endpoint) < 0) {
        fin_fail(err, errlen, FIN_ECONFIG, "%s: %s", self->cfg.endpoint, zmq_strerror(errno));
        s_close_socket(self);
        return FIN_ECONFIG;
    }
    return FIN_OK;
}

/* "Is an agent running?" must be true exactly while this process lives:
 * a pid in the state file outlives a kill (a zombie not yet reaped, a pid
 * used again), a lock does not: the kernel drops it with the process. The
 * lock is shared, so two senders on one data directory do not block each
 * other; status asks for it exclusively and never waits. Without the lock
 * file (a read-only directory) status falls back to the pid. */
static void s_lock(sender_t *self)
{
    if (!self->cfg.state_path)
        return;
    char path[4200];
    snprintf(path, sizeof path, "%s.lock", self->cfg.state_path);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0 || flock(fd, LOCK_SH) < 0) {
        log_warn("sender", "STATE-LOCK-FAILED path=%s reason=\"%s\"", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return;
    }
    self->lock_fd = fd;
}

fin_err_t sender_new(sender_t **out, outbox_t *outbox, const sender_config_t *cfg, char *err, size_t errlen)
{
    *out = NULL;
    fin_err_t code = FIN_ECONFIG; /* the keys, until they are loaded */
    if (cfg->batch_size < 1 || cfg->batch_size > CODEC_MAX_BATCH_EVENTS || cfg->window < 1 ||
        cfg->ack_timeout_ms < 1) {
        return fin_fail(err, errlen, FIN_ECONFIG, "batch size must be 1-%d, window and ack timeout positive",
                        CODEC_MAX_BATCH_EVENTS);
    }
    zcert_t *mine = keys_load_secret(cfg->secret_key_path, err, errlen);
    if (!mine)
        return FIN_ECONFIG;
    zcert_t *server = keys_load_public(cfg->server_key_path, err, errlen);
    if (!server)
        goto destroy_mine;
    sender_t *self = calloc(1, sizeof *self);
    if (!self) {
        code = fin_fail(err, errlen, FIN_ENOMEM, "out of memory");
        goto destroy_server;
    }
    self->outbox = outbox;
    self->cfg = *cfg;
    self->lock_fd = -1;
    self->backoff_ms = S_BACKOFF_MIN_MS;
    self->hs_backoff_ms = S_HS_BACKOFF_MIN_MS;
    memcpy(self->server_pub, zcert_public_key(server), 32);
    self->server_key_id = s_file_id(cfg->server_key_path);
    memcpy(self->my_pub, zcert_public_key(mine), 32);
    memcpy(self->my_sec, zcert_secret_key(mine), 32);
    /* Totals of today survive a restart: status counts the day, not the run. */
    if (cfg->state_path)
        sender_state_read(cfg->state_path, &self->st);
    self->st.link = SENDER_CONNECTING;
    self->st.since = clock_wall_ms() / 1000;
    self->st_dirty = true;
    self->flights = calloc((size_t) cfg->window, sizeof *self->flights);
    self->offsets = calloc((size_t) cfg->batch_size, sizeof *self->offsets);
    self->lengths = calloc((size_t) cfg->batch_size, sizeof *self->lengths);
    if (!self->flights || !self->offsets || !self->lengths) {
        code = fin_fail(err, errlen, FIN_ENOMEM, "out of memory");
        goto free_self;
    }
    if (!(self->ctx = zmq_ctx_new())) {
        code = fin_fail(err, errlen, FIN_EINTERNAL, "zmq_ctx_new: %s", zmq_strerror(errno));
        goto free_self;
    }
    if ((code = s_open_socket(self, err, errlen)) != FIN_OK)
        goto term_ctx;
    s_lock(self);
    zcert_destroy(&server);
    zcert_destroy(&mine);
    log_info("sender", "CONNECTING endpoint=%s batch_size=%ld window=%ld", cfg->endpoint, cfg->batch_size,
             cfg->window);
    *out = self;
    return FIN_OK;
term_ctx:
    zmq_ctx_term(self->ctx);
free_self:
    explicit_bzero(self->my_sec, sizeof self->my_sec);
    free(self->flights);
    free(self->offsets);
    free(self->lengths);
    free(self);
destroy_server:
    zcert_destroy(&server);
destroy_mine:
    zcert_destroy(&mine);
    return code;
}

void sender_destroy(sender_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sender_t *self = *self_p;
    if (self->lock_fd >= 0)
        close(self->lock_fd);
    s_close_socket(self);
    zmq_ctx_term(self->ctx);
    explicit_bzero(self->my_sec, sizeof self->my_sec);
    free(self->ready);
    free(self->arena);
    free(self->flights);
    free(self->offsets);
    free(self->lengths);
    free(self);
    *self_p = NULL;
}

/* ---- the state file status reads ---------------------------------------- */

static const char *const s_link_names[] = {"connecting", "connected", "refused", "key-mismatch",
                                           "unreachable"};

const char *sender_link_name(sender_link_t link)
{
    return (unsigned) link < sizeof s_link_names / sizeof *s_link_names ? s_link_names[link] : "connecting";
}

/* Local calendar day as YYYYMMDD: "delivered today" is the staff's day. */
static long s_today(int64_t wall_s)
{
    time_t t = (time_t) wall_s;
    struct tm tm;
    if (!localtime_r(&t, &tm))
        return 0;
    return (tm.tm_year + 1900) * 10000L + (tm.tm_mon + 1) * 100L + tm.tm_mday;
}

/* Written beside the outbox as key=value lines through a temporary file
 * and rename, so a reader sees the old or the new file, never half. A
 * failure to write is logged once and otherwise ignored: delivery matters
 * more than showing it. */
static void s_state_write(sender_t *self, int64_t now)
{
    if (!self->cfg.state_path || !self->st_dirty)
        return;
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", self->cfg.state_path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        goto fail;
    const sender_state_t *st = &self->st;
    fprintf(f,
            "# finsam-agent sender state, read by finsam-agent status\n"
            "version=1\nstate=%s\nsince=%lld\nendpoint=%s\nlast_ack=%lld\nday=%ld\ndelivered_today=%llu\n"
            "delivered_total=%llu\nqueued_since=%lld\nupdated=%lld\npid=%ld\nspool=%s\n",
            sender_link_name(st->link), (long long) st->since, self->cfg.endpoint, (long long) st->last_ack,
            st->day, (unsigned long long) st->delivered_today, (unsigned long long) st->delivered_total,
            (long long) st->queued_since, (long long) (clock_wall_ms() / 1000), (long) getpid(),
            self->cfg.spool_dir ? self->cfg.spool_dir : "");
    if (fclose(f) != 0 || rename(tmp, self->cfg.state_path) < 0)
        goto fail;
    self->st_dirty = false;
    self->st_written_ms = now;
    return;
fail:
    if (self->st_written_ms >= 0)
        log_warn("sender", "STATE-WRITE-FAILED path=%s reason=\"%s\"", self->cfg.state_path, strerror(errno));
    self->st_written_ms = -1; /* logged once */
    self->st_dirty = false;   /* tried again at the next change, not every turn */
    unlink(tmp);
}

bool sender_state_running(const char *path, const sender_state_t *st)
{
    char lock[4200];
    snprintf(lock, sizeof lock, "%s.lock", path);
    int fd = open(lock, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        bool held = flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK;
        close(fd); /* releases it if we got it */
        return held;
    }
    /* EPERM: it runs, as another user (the service's). */
    return st && st->pid > 0 && (kill((pid_t) st->pid, 0) == 0 || errno == EPERM);
}

int sender_state_read(const char *path, sender_state_t *st)
{
    memset(st, 0, sizeof *st);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    char line[2048];
    while (fgets(line, sizeof line, f)) {
        char *eq = strchr(line, '=');
        if (line[0] == '#' || !eq)
            continue;
        *eq = '\0';
        char *v = eq + 1;
        v[strcspn(v, "\n")] = '\0';
        if (!strcmp(line, "state")) {
            for (unsigned i = 0; i < sizeof s_link_names / sizeof *s_link_names; i++)
                if (!strcmp(v, s_link_names[i]))
                    st->link = (sender_link_t) i;
        } else if (!strcmp(line, "since"))
            st->since = strtoll(v, NULL, 10);
        else if (!strcmp(line, "endpoint"))
            snprintf(st->endpoint, sizeof st->endpoint, "%s", v);
        else if (!strcmp(line, "last_ack"))
            st->last_ack = strtoll(v, NULL, 10);
        else if (!strcmp(line, "day"))
            st->day = strtol(v, NULL, 10);
        else if (!strcmp(line, "delivered_today"))
            st->delivered_today = strtoull(v, NULL, 10);
        else if (!strcmp(line, "delivered_total"))
            st->delivered_total = strtoull(v, NULL, 10);
        else if (!strcmp(line, "queued_since"))
            st->queued_since = strtoll(v, NULL, 10);
        else if (!strcmp(line, "updated"))
            st->updated = strtoll(v, NULL, 10);
        else if (!strcmp(line, "pid"))
            st->pid = strtol(v, NULL, 10);
        else if (!strcmp(line, "spool"))
            snprintf(st->spool, sizeof st->spool, "%s", v);
    }
    fclose(f);
    /* A count from another day is not today's. */
    if (st->day != s_today(clock_wall_ms() / 1000))
        st->delivered_today = 0;
    return 0;
}

/* ---- building and sending batches -------------------------------------- */

/* Forget everything in flight and read again from the start of the queue. */
static void s_rewind(sender_t *self, const char *why)
{
    if (self->nflights || self->ready || self->next_seq)
        log_info("sender", "RESEND-FROM-START reason=%s in_flight=%ld", why, self->nflights);
    self->nflights = 0;
    self->next_seq = 0;
    free(self->ready);
    self->ready = NULL;
}

static void s_backoff(sender_t *self, int64_t now)
{
    self->backoff_until = now + self->backoff_ms;
    self->backoff_ms = self->backoff_ms * 2 > S_BACKOFF_MAX_MS ? S_BACKOFF_MAX_MS : self->backoff_ms * 2;
}

static int s_collect(uint64_t seq, const uint8_t *bytes, size_t len, void *arg)
{
    sender_t *self = arg;
    if (self->build_n > 0 && self->arena_len + len > S_BATCH_BYTES)
        return 1; /* this one waits for the next batch */
    if (self->arena_len + len > self->arena_cap) {
        size_t cap = self->arena_cap ? self->arena_cap : 64 * 1024;
        while (cap < self->arena_len + len)
            cap *= 2;
        uint8_t *a = realloc(self->arena, cap);
        if (!a)
            return 1;
        self->arena = a;
        self->arena_cap = cap;
    }
    if (self->build_n == 0)
        self->build_first_seq = seq;
    memcpy(self->arena + self->arena_len, bytes, len);
    self->offsets[self->build_n] = self->arena_len;
    self->lengths[self->build_n] = len;
    self->arena_len += len;
    self->build_n++;
    self->build_last_seq = seq;
    return 0;
}

/* Reads the next batch into self->ready. Returns 1 if one is ready, 0 if
 * the queue has nothing from next_seq on, -1 on an outbox failure. */
static int s_build(sender_t *self)
{
    self->arena_len = 0;
    self->build_n = 0;
    if (outbox_peek(self->outbox, self->next_seq, (size_t) self->cfg.batch_size, s_collect, self) < 0)
        return -1;
    if (self->build_n == 0)
        return 0;
    if (self->batch_next == self->batch_end) {
        char err[256];
        if (outbox_reserve_batches(self->outbox, S_BATCH_SEQ_BLOCK, &self->batch_next, err, sizeof err)) {
            log_error("sender", "OUTBOX-RESERVE-FAILED reason=\"%s\"", err);
            return -1;
        }
        self->batch_end = self->batch_next + S_BATCH_SEQ_BLOCK;
    }
    ProtobufCBinaryData *evs = calloc(self->build_n, sizeof *evs);
    if (!evs)
        return -1;
    for (size_t i = 0; i < self->build_n; i++)
        evs[i] = (ProtobufCBinaryData){self->lengths[i], self->arena + self->offsets[i]};
    Finsam__V1__Batch b = FINSAM__V1__BATCH__INIT;
    b.version = CODEC_WIRE_VERSION;
    b.agent_id = (char *) self->cfg.agent_id;
    b.batch_seq = self->batch_next++;
    b.n_events = self->build_n;
    b.events = evs;
    /* What waits behind this batch: the queue minus what is in flight
     * (acked events have left it) minus this batch. */
    size_t queued, ahead = self->build_n;
    for (long i = 0; i < self->nflights; i++)
        ahead += self->flights[i].n;
    if (outbox_count(self->outbox, &queued, NULL, NULL, NULL, 0) == FIN_OK) {
        b.has_queued = 1;
        b.queued = queued > ahead ? queued - ahead : 0;
    }
    self->ready = codec_pack(&b.base, &self->ready_len);
    free(evs);
    if (!self->ready)
        return -1;
    self->ready_batch_seq = b.batch_seq;
    self->ready_first_seq = self->build_first_seq;
    self->ready_last_seq = self->build_last_seq;
    self->ready_n = self->build_n;
    return 1;
}

/* Sends batches while the window has room. Returns 0, or -1 on an outbox
 * failure. */
static int s_fill_window(sender_t *self, int64_t now)
{
    while (self->dealer && now >= self->backoff_until && self->nflights < self->cfg.window) {
        if (!self->ready) {
            int rc = s_build(self);
            if (rc < 0)
                return -1;
            if (rc == 0) {
                /* Nothing after next_seq. If nothing is in flight either but
                 * events remain (an ack left some out), go round again, at
                 * most once per ack timeout. */
                size_t queued = 0;
                if (self->nflights == 0 && self->next_seq > 0 &&
                    now - self->last_wrap_ms >= self->cfg.ack_timeout_ms &&
                    outbox_count(self->outbox, &queued, NULL, NULL, NULL, 0) == FIN_OK && queued > 0) {
                    self->last_wrap_ms = now;
                    self->next_seq = 0;
                    continue;
                }
                return 0;
            }
        }
        if (zmq_send(self->dealer, self->ready, self->ready_len, ZMQ_DONTWAIT) < 0) {
            /* EAGAIN: no completed connection (ZMQ_IMMEDIATE) or HWM; keep
             * the batch and try again after the next poll. */
            if (errno != EAGAIN && errno != EINTR)
                log_warn("sender", "SEND-FAILED reason=\"%s\"", zmq_strerror(errno));
            return 0;
        }
        log_debug("sender", "BATCH-SENT batch=%llu events=%zu bytes=%zu",
                  (unsigned long long) self->ready_batch_seq, self->ready_n, self->ready_len);
        self->flights[self->nflights++] = (s_flight_t){self->ready_batch_seq, now, self->ready_n,
                                                       self->ready_first_seq, self->ready_last_seq};
        self->next_seq = self->ready_last_seq + 1;
        free(self->ready);
        self->ready = NULL;
    }
    return 0;
}

/* ---- socket handlers --------------------------------------------------- */

/* Forgets the batch; *out gets it (n = 0 if it was not in flight). */
static void s_drop_flight(sender_t *self, uint64_t batch_seq, s_flight_t *out)
{
    *out = (s_flight_t){0};
    for (long i = 0; i < self->nflights; i++)
        if (self->flights[i].batch_seq == batch_seq) {
            *out = self->flights[i];
            memmove(&self->flights[i], &self->flights[i + 1],
                    (size_t) (self->nflights - i - 1) * sizeof *self->flights);
            self->nflights--;
            return;
        }
}

/* One Ack from the collector. Returns 0, or -1 on an outbox failure. */
static int s_on_ack(sender_t *self, const uint8_t *buf, size_t len, int64_t now)
{
    ack_msg_t *ack = codec_decode_ack(buf, len);
    if (!ack) {
        log_warn("sender", "ACK-MALFORMED bytes=%zu", len);
        return 0;
    }
    int rc = 0;
    if (ack->has_batch_error && ack->batch_error != FINSAM__V1__REJECT_CODE__REJECT_NONE) {
        /* Sort by the action needed: INTERNAL is the collector's trouble,
         * retry the same events later; anything else (unauthorized,
         * version, ...) needs an operator, but the events stay ours and are
         * retried with a long back-off, never deleted. */
        const char *text = ack->batch_error_text ? ack->batch_error_text : "";
        if (ack->batch_error == FINSAM__V1__REJECT_CODE__REJECT_INTERNAL)
            log_warn("sender", "BATCH-RETRY batch=%llu code=%s reason=\"%s\"",
                     (unsigned long long) ack->batch_seq, codec_reject_name(ack->batch_error), text);
        else
            log_error("sender", "BATCH-REFUSED batch=%llu code=%s reason=\"%s\" events kept",
                      (unsigned long long) ack->batch_seq, codec_reject_name(ack->batch_error), text);
        if (ack->batch_error != FINSAM__V1__REJECT_CODE__REJECT_INTERNAL)
            self->backoff_ms = self->backoff_ms < 5000 ? 5000 : self->backoff_ms;
        s_backoff(self, now);
        s_rewind(self, "batch-error");
        goto free_ack;
    }
    const uint8_t **accepted = calloc(ack->n_accepted + 1, sizeof *accepted);
    outbox_rejection_t *rejected = calloc(ack->n_rejected + 1, sizeof *rejected);
    if (!accepted || !rejected) {
        free(accepted);
        free(rejected);
        goto free_ack; /* the events will be resent */
    }
    for (size_t i = 0; i < ack->n_accepted; i++)
        accepted[i] = ack->accepted[i].data;
    for (size_t i = 0; i < ack->n_rejected; i++) {
        Finsam__V1__Rejection *r = ack->rejected[i];
        rejected[i] = (outbox_rejection_t){r->id.data, r->code, r->text};
    }
    size_t removed = 0;
    char err[256];
    fin_err_t orc = outbox_ack(self->outbox, accepted, ack->n_accepted, rejected, ack->n_rejected, &removed,
                               err, sizeof err);
    free(accepted);
    free(rejected);
    if (orc) {
        log_error("sender", "OUTBOX-ACK-FAILED batch=%llu reason=\"%s\"", (unsigned long long) ack->batch_seq,
                  err);
        rc = -1;
        goto free_ack;
    }
    /* Log rejections only after they are recorded in the outbox. */
    for (size_t i = 0; i < ack->n_rejected; i++) {
        Finsam__V1__Rejection *r = ack->rejected[i];
        char hex[2 * CODEC_ID_LEN + 1];
        hex_encode(hex, r->id.data, CODEC_ID_LEN);
        log_warn("agent", "EVENT-REJECTED id=%s code=%s reason=\"%s\"", hex, codec_reject_name(r->code),
                 r->text);
    }
    log_debug("sender", "BATCH-ACKED batch=%llu accepted=%zu rejected=%zu removed=%zu",
              (unsigned long long) ack->batch_seq, ack->n_accepted, ack->n_rejected, removed);
    s_flight_t fl;
    s_drop_flight(self, ack->batch_seq, &fl);
    /* One line per delivered range at INFO: staff see their data leave. */
    if (fl.n)
        log_info("sender", "DELIVERED events=%zu seq=%llu-%llu rejected=%zu", ack->n_accepted,
                 (unsigned long long) fl.first_seq, (unsigned long long) fl.last_seq, ack->n_rejected);
    else
        log_info("sender", "DELIVERED events=%zu rejected=%zu", ack->n_accepted, ack->n_rejected);
    int64_t wall = clock_wall_ms() / 1000;
    long today = s_today(wall);
    if (self->st.day != today) {
        self->st.day = today;
        self->st.delivered_today = 0;
    }
    self->st.delivered_today += ack->n_accepted;
    self->st.delivered_total += ack->n_accepted;
    self->st.last_ack = wall;
    self->st_dirty = true;
    self->backoff_ms = S_BACKOFF_MIN_MS;
free_ack:
    codec_free_ack(&ack);
    return rc;
}

static int s_on_dealer(sender_t *self, int64_t now)
{
    for (;;) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, self->dealer, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&msg);
            return 0;
        }
        int more = zmq_msg_more(&msg);
        int rc = more ? 0 : s_on_ack(self, zmq_msg_data(&msg), zmq_msg_size(&msg), now);
        if (more)
            log_warn("sender", "ACK-MALFORMED reason=\"multipart reply\"");
        zmq_msg_close(&msg);
        /* Swallow any further parts of a multipart reply. */
        while (more) {
            zmq_msg_init(&msg);
            if (zmq_msg_recv(&msg, self->dealer, ZMQ_DONTWAIT) < 0) {
                zmq_msg_close(&msg);
                break;
            }
            more = zmq_msg_more(&msg);
            zmq_msg_close(&msg);
        }
        if (rc < 0)
            return -1;
    }
}

static void s_set_link(sender_t *self, s_link_t link, const char *endpoint, unsigned value, int64_t now)
{
    if (link == self->link)
        return;
    if (self->link == LINK_UP)
        self->down_since = now;
    self->link = link;
    static const sender_link_t shown[] = {[LINK_DOWN] = SENDER_CONNECTING,
                                          [LINK_UP] = SENDER_CONNECTED,
                                          [LINK_REFUSED] = SENDER_REFUSED,
                                          [LINK_FAILED] = SENDER_KEY_MISMATCH,
                                          [LINK_UNREACHABLE] = SENDER_UNREACHABLE};
    if (self->st.link != shown[link]) {
        self->st.link = shown[link];
        self->st.since = clock_wall_ms() / 1000;
        self->st_dirty = true;
    }
    switch (link) {
    case LINK_UP:
        log_info("sender", "CONNECTED endpoint=%s", endpoint);
        self->hs_backoff_ms = S_HS_BACKOFF_MIN_MS;
        /* Batches sent on a connection that died may be lost: resend. */
        if (self->was_up)
            s_rewind(self, "reconnect");
        self->was_up = true;
        break;
    case LINK_DOWN: log_warn("sender", "DISCONNECTED endpoint=%s", endpoint); break;
    case LINK_UNREACHABLE:
        log_warn("sender",
                 "UNREACHABLE endpoint=%s reason=\"no collector answers there (is it running, and does the "
                 "firewall let the port through?)\"",
                 endpoint);
        break;
    case LINK_REFUSED:
        log_error("sender",
                  "HANDSHAKE-REFUSED endpoint=%s status=%u reason=\"not authorized: the collector refused "
                  "our key: is "
                  "keys/agent.key in the collector's agents/ folder?\"",
                  endpoint, value);
        break;
    case LINK_FAILED:
        log_error("sender",
                  "HANDSHAKE-FAILED endpoint=%s reason=\"the collector key in keys/collector.key does not "
                  "match the collector (or it is not a finsam collector); put the right one there: it is "
                  "read before the next try\"",
                  endpoint);
        break;
    }
}

/* While waiting to retry a failed handshake: if the collector key file
 * changed (staff put the right collector.key in place), read it, and when
 * it holds a usable key that differs from the one that failed, use it and
 * retry at once with the back-off reset. Returns true if it did. A file
 * that is being copied (it does not parse yet) is tried again when it
 * changes again; a file that can never be the collector's (a secret, our
 * own or an agent's key) is refused with the reason and the old key kept. */
static bool s_reload_server_key(sender_t *self, int64_t now)
{
    s_file_id_t id = s_file_id(self->cfg.server_key_path);
    if (s_file_id_eq(&id, &self->server_key_id))
        return false;
    self->server_key_id = id;
    uint8_t pub[32];
    char which[256] = "";
    const char *path = self->cfg.server_key_path;
    switch (keys_check_collector(path, self->my_pub, pub, which, sizeof which)) {
    case KEYS_PEER_OK: break;
    case KEYS_PEER_UNUSABLE:
        log_warn("sender", "COLLECTOR-KEY-UNUSABLE path=%s reason=\"not (yet) a ZeroMQ certificate\"", path);
        return false;
    case KEYS_PEER_OWN:
        log_error("sender",
                  "COLLECTOR-KEY-REFUSED path=%s reason=\"this agent's own public key (keys/agent.key)\"",
                  path);
        return false;
    case KEYS_PEER_AGENT:
        log_error("sender", "COLLECTOR-KEY-REFUSED path=%s reason=\"an agent's key (forbund %s)\"", path,
                  which);
        return false;
    case KEYS_PEER_SECRET:
        log_error(
            "sender",
            "COLLECTOR-KEY-REFUSED path=%s reason=\"%s holds the collector's SECRET key: delete it, it must "
            "never leave the collector\"",
            path, which);
        return false;
    }
    if (memcmp(pub, self->server_pub, 32) == 0)
        return false; /* touched, not changed */
    memcpy(self->server_pub, pub, 32);
    log_info("sender", "COLLECTOR-KEY-RELOADED path=%s", path);
    self->hs_backoff_ms = S_HS_BACKOFF_MIN_MS;
    self->reopen_at = now;
    return true;
}

/* A failed handshake: drop the socket and make a new one later. libzmq
 * 4.3 does not reconnect after a ZAP refusal, and retries a key mismatch
 * several times a second; a fresh socket after a growing pause does
 * neither and picks up a key the collector's operator adds meanwhile. */
static void s_handshake_failed(sender_t *self, int64_t now)
{
    s_close_socket(self);
    s_rewind(self, "handshake-failed");
    self->reopen_at = now + self->hs_backoff_ms;
    log_info("sender", "RETRY-IN seconds=%lld", (long long) (self->hs_backoff_ms / 1000));
    self->hs_backoff_ms =
        self->hs_backoff_ms * 2 > S_HS_BACKOFF_MAX_MS ? S_HS_BACKOFF_MAX_MS : self->hs_backoff_ms * 2;
}

static void s_on_monitor(sender_t *self, int64_t now)
{
    while (self->monitor) {
        zmq_msg_t head, addr;
        zmq_msg_init(&head);
        if (zmq_msg_recv(&head, self->monitor, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&head);
            return;
        }
        uint16_t event = 0;
        uint32_t value = 0;
        if (zmq_msg_size(&head) >= 6) {
            memcpy(&event, zmq_msg_data(&head), 2);
            memcpy(&value, (uint8_t *) zmq_msg_data(&head) + 2, 4);
        }
        char endpoint[256] = "";
        if (zmq_msg_more(&head)) {
            zmq_msg_init(&addr);
            if (zmq_msg_recv(&addr, self->monitor, 0) >= 0) {
                size_t n =
                    zmq_msg_size(&addr) < sizeof endpoint - 1 ? zmq_msg_size(&addr) : sizeof endpoint - 1;
                memcpy(endpoint, zmq_msg_data(&addr), n);
                endpoint[n] = '\0';
            }
            zmq_msg_close(&addr);
        }
        zmq_msg_close(&head);
        switch (event) {
        case ZMQ_EVENT_HANDSHAKE_SUCCEEDED: s_set_link(self, LINK_UP, endpoint, value, now); break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
            s_set_link(self, LINK_REFUSED, endpoint, value, now);
            s_handshake_failed(self, now);
            break;
        case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
            s_set_link(self, LINK_FAILED, endpoint, value, now);
            s_handshake_failed(self, now);
            break;
        case ZMQ_EVENT_CONNECT_RETRIED:
            /* Nothing listens: unless a handshake already told us more. */
            if (self->link == LINK_DOWN || self->link == LINK_UP)
                s_set_link(self, LINK_UNREACHABLE, self->cfg.endpoint, value, now);
            break;
        case ZMQ_EVENT_DISCONNECTED:
            /* After a refused handshake the disconnect is expected: keep
             * saying why rather than flip-flopping the log. */
            if (self->link == LINK_UP)
                s_set_link(self, LINK_DOWN, endpoint, value, now);
            break;
        default: break;
        }
    }
}

/* Whether the queue is empty, and when it stopped being so (status shows
 * "oldest queued" from it: the outbox keeps no enqueue times). */
static void s_note_queue(sender_t *self, size_t queued)
{
    if (queued == 0 && self->st.queued_since) {
        self->st.queued_since = 0;
        self->st_dirty = true;
    } else if (queued > 0 && !self->st.queued_since) {
        self->st.queued_since = clock_wall_ms() / 1000;
        self->st_dirty = true;
    }
}

/* ---- the loop ---------------------------------------------------------- */

void sender_watch(sender_t *self, const sender_watch_t *watch)
{
    self->has_watch = watch != NULL;
    if (watch)
        self->watch = *watch;
}

int sender_run(sender_t *self, volatile sig_atomic_t *stop)
{
    /* Under systemd (Type=notify): the outbox is open and the socket set
     * up. A no-op without NOTIFY_SOCKET. */
    sd_notify(0, "READY=1");
    self->down_since = clock_mono_ms();
    int64_t last_count_ms = -S_STATE_EVERY_MS;
    while (!*stop) {
        int64_t now = clock_mono_ms();
        /* Waiting after a failed handshake: a new collector key is used
         * at once, without a restart. */
        if (!self->dealer)
            s_reload_server_key(self, now);
        if (!self->dealer && now >= self->reopen_at) {
            char err[256];
            if (s_open_socket(self, err, sizeof err) != FIN_OK) {
                log_error("sender", "SOCKET-FAILED reason=\"%s\"", err);
                self->reopen_at = now + self->hs_backoff_ms;
            } else {
                log_info("sender", "RECONNECTING endpoint=%s", self->cfg.endpoint);
                self->link = LINK_DOWN; /* the state file keeps the last reason until we know more */
            }
        }
        size_t queued = 1;
        bool counted = false;
        if (now - last_count_ms >= S_STATE_EVERY_MS || (self->cfg.exit_when_empty && self->link == LINK_UP)) {
            counted = outbox_count(self->outbox, &queued, NULL, NULL, NULL, 0) == FIN_OK;
            if (counted)
                s_note_queue(self, queued);
            last_count_ms = now;
        }
        /* "Empty" counts only while connected: started before the
         * collector (or before an import), the agent waits to deliver. */
        if (self->cfg.exit_when_empty && self->link == LINK_UP && counted && queued == 0) {
            s_state_write(self, now);
            log_info("sender", "QUEUE-EMPTY exiting");
            return 0;
        }
        /* ...but not for ever: a script waiting for delivery must learn
         * that none is possible. A refusal needs an operator, so it is
         * bounded by default; a collector not there yet (started later, a
         * maintenance window) is waited for unless told otherwise. */
        if (self->cfg.exit_when_empty && self->link != LINK_UP) {
            bool refused = self->st.link == SENDER_REFUSED || self->st.link == SENDER_KEY_MISMATCH;
            long limit = refused ? self->cfg.connect_timeout_ms : self->cfg.unreachable_timeout_ms;
            if (limit > 0 && now - self->down_since >= limit) {
                s_state_write(self, now);
                log_error("sender", "NO-CONNECTION state=%s after_ms=%ld exiting",
                          sender_link_name(self->st.link), limit);
                return -2;
            }
        }
        /* An unanswered batch: the connection or the collector may have
         * lost it. Resend everything still queued. */
        for (long i = 0; i < self->nflights; i++)
            if (now - self->flights[i].sent_ms >= self->cfg.ack_timeout_ms) {
                log_warn("sender", "ACK-TIMEOUT batch=%llu after_ms=%ld",
                         (unsigned long long) self->flights[i].batch_seq, self->cfg.ack_timeout_ms);
                s_rewind(self, "ack-timeout");
                break;
            }
        if (s_fill_window(self, now) < 0) {
            log_error("sender", "OUTBOX-READ-FAILED stopping");
            return -1;
        }
        if (self->st_dirty && (self->st_written_ms <= 0 || now - self->st_written_ms >= S_STATE_EVERY_MS ||
                               self->st.link != SENDER_CONNECTED))
            s_state_write(self, now);
        /* Without a socket (waiting to recreate it) only the watch is polled. */
        zmq_pollitem_t items[3];
        int n = 0, i_dealer = -1, i_monitor = -1, i_watch = -1;
        if (self->dealer) {
            items[i_dealer = n++] = (zmq_pollitem_t){self->dealer, 0, ZMQ_POLLIN, 0};
            items[i_monitor = n++] = (zmq_pollitem_t){self->monitor, 0, ZMQ_POLLIN, 0};
        }
        if (self->has_watch)
            items[i_watch = n++] = (zmq_pollitem_t){NULL, self->watch.fd, ZMQ_POLLIN, 0};
        long timeout = S_POLL_MS;
        if (now < self->backoff_until && self->backoff_until - now < timeout)
            timeout = (long) (self->backoff_until - now);
        if (zmq_poll(items, n, timeout) < 0) {
            if (errno == EINTR)
                continue; /* a signal: the loop condition decides */
            log_error("sender", "POLL-FAILED reason=\"%s\"", zmq_strerror(errno));
            return -1;
        }
        now = clock_mono_ms();
        if (i_monitor >= 0 && (items[i_monitor].revents & ZMQ_POLLIN))
            s_on_monitor(self, now);
        /* The monitor may have closed the socket (a failed handshake). */
        if (self->dealer && i_dealer >= 0 && (items[i_dealer].revents & ZMQ_POLLIN) &&
            s_on_dealer(self, now) < 0)
            return -1;
        /* Imports last: acks already received are applied first. */
        if (i_watch >= 0 && (items[i_watch].revents & ZMQ_POLLIN) && self->watch.on_readable)
            self->watch.on_readable(self->watch.arg);
        if (self->has_watch && self->watch.on_tick)
            self->watch.on_tick(self->watch.arg);
    }
    self->st_dirty = true; /* "updated" says when it stopped */
    s_state_write(self, clock_mono_ms());
    sd_notify(0, "STOPPING=1");
    log_info("sender", "STOPPED");
    return 0;
}
