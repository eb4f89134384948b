/* server_loop.c: the collector's reactor (see server.h, server_impl.h).
 *
 * The loop is CZMQ's zloop: one handler per socket (the ingest ROUTER, the
 * ZAP handler, the socket monitors, the stream sockets), per descriptor
 * (the allow-lists' inotify, SIGHUP's signalfd) and per timer (the stop
 * flag, the allow-list safety net, stream housekeeping, publication,
 * statistics), all listed in server_reactor_new. zloop's own signal
 * handling stays off (prologue_signals): the stop flag is ours. */
#include "server_impl.h"

#include "erase.h"
#include "ledger.h"
#include "log.h"
#include "monitor.h"
#include "publish.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#define REFRESH_MS 1000
#define STOP_CHECK_MS 200
#define STATS_MS 10000
/* Freed memory goes back to the system once a burst is over: after a tick
 * on which neither the log nor the cells moved (s_dispatch, EV_TRIM). */
#define TRIM_MS 1000
/* How long a clean stop waits for the cells to catch up with the log
 * (well inside systemd's default stop timeout of 90 s). */
#define STOP_CATCHUP_MS 20000
/* How long a scrub waits for readers from before an erasure (replay
 * chunks and queries take milliseconds). */
#define ERASE_SCRUB_WAIT_MS 2000

/* Remembers the peer address of an accepted ingest connection. Read now,
 * when the loop gets to the event: if the connection is already gone the
 * address stays unknown ("?"). */
static void s_peer_accepted(server_t *self, int fd)
{
    if (fd < 0)
        return;
    struct sockaddr_storage sa;
    socklen_t len = sizeof sa;
    char *out = self->peers[fd % PEERS_MAX].address;
    self->peers[fd % PEERS_MAX].fd = fd;
    out[0] = '\0';
    if (getpeername(fd, (struct sockaddr *) &sa, &len) < 0)
        return;
    if (sa.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *) &sa)->sin_addr, out, sizeof self->peers[0].address);
    else if (sa.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *) &sa)->sin6_addr, out, sizeof self->peers[0].address);
}

/* Logs one handshake failure. Throttled as one key: a line a minute in all,
 * naming the address and reason of the attempt it reports, its count
 * covering every address and reason. Not per address, as auth.c's are
 * (these failures carry no client key), because the address is only as
 * good as s_peer_accepted's read: when the loop was busy the connection
 * can be gone by then, and "?" must not open a key of its own; nor per
 * reason, because one wrong-key client also fails now and then with a
 * reset in the middle of its handshake. */
static void s_handshake_failed(server_t *self, uint16_t event, uint32_t code, const char *endpoint,
                               const char *address)
{
    const char *reason = "closed or timed out during the handshake"; /* NO_DETAIL: code is an errno */
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL)
        reason = code == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC
                     ? "wrong collector key (its HELLO cannot be opened)"
                 : code == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH ? "no CURVE (mechanism mismatch)"
                                                                      : "protocol error";
    char line[512];
    snprintf(line, sizeof line, "HANDSHAKE-FAILED endpoint=%s address=%s reason=\"%s\" code=%#x", endpoint,
             address, reason, code);
    throttle_event(self->handshake_log, "monitor", line, clock_mono_ms());
}

/* The ingest ROUTER's monitor: handshake failures, logged with the peer's
 * address. libzmq reports a failure without the connection it belongs to,
 * but the engine that fails reports its DISCONNECTED (with the descriptor)
 * right after it, so a failure waits for that event to be logged. Refusals
 * by the ZAP handler (HANDSHAKE_FAILED_AUTH) are not logged here: auth.c
 * logged them with the address and the key. */
static void s_monitor_events(server_t *self)
{
    uint16_t event;
    uint32_t value;
    char endpoint[128];
    while (monitor_next(self->monitor, &event, &value, endpoint, sizeof endpoint)) {
        switch (event) {
        case ZMQ_EVENT_ACCEPTED: s_peer_accepted(self, (int) value); break;
        case ZMQ_EVENT_DISCONNECTED: {
            int fd = (int) value;
            bool known = fd >= 0 && self->peers[fd % PEERS_MAX].fd == fd;
            const char *address =
                known && self->peers[fd % PEERS_MAX].address[0] ? self->peers[fd % PEERS_MAX].address : "?";
            if (self->handshake_failed)
                s_handshake_failed(self, self->handshake_failed, self->handshake_code, endpoint, address);
            self->handshake_failed = 0;
            if (known)
                self->peers[fd % PEERS_MAX].address[0] = '\0';
            break;
        }
        case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: break;
        default:                        /* PROTOCOL or NO_DETAIL: logged at the DISCONNECTED that follows */
            if (self->handshake_failed) /* never seen: two failures in a row */
                s_handshake_failed(self, self->handshake_failed, self->handshake_code, endpoint, "?");
            self->handshake_failed = event;
            self->handshake_code = value;
            break;
        }
    }
}

/* One publication (publish.h); logged, and a failure only postpones it. */
static void s_publish(server_t *self)
{
    publish_report_t r;
    int rc = publish_run(self->ledger, self->catalogue, self->protect, clock_wall_ms(),
                         (int64_t) self->publish_max_age_s * 1000, &r);
    if (rc) {
        log_warn("collector", "PUBLISH-FAILED reason=%s", store_strerror(rc));
        return;
    }
    /* Periodic: at info only when it did something or the backlog moved,
     * so an idle collector's log stays quiet. */
    bool news = !self->published_logged || r.refreshed > 0 || r.waiting != self->published_waiting;
    LOG_AT(news ? LOG_LEVEL_INFO : LOG_LEVEL_DEBUG, "collector",
           "PUBLISHED seq=%llu refreshed=%llu waiting=%llu", (unsigned long long) r.seq,
           (unsigned long long) r.refreshed, (unsigned long long) r.waiting);
    self->published_logged = true;
    self->published_waiting = r.waiting;
    /* Aggregates-only subscribers get the protected rows that moved. */
    char err[256];
    if (self->stream && r.refreshed > 0 && stream_publish_publication(self->stream, r.seq, err, sizeof err))
        log_warn("collector", "PUBLISH-STREAM-FAILED reason=%s", err);
}

/* The aggregator applied a chunk (aggregator.h): its cells go out on the
 * cell stream at the position they reflect, and erasures it passed get
 * their tombstones here, in the thread that writes the ledger (erase.h). */
static void s_aggregated(server_t *self)
{
    uint64_t applied = 0, got = 0;
    while (aggregator_recv(self->aggregator, &applied, self->stream ? stream_cell_changed : NULL,
                           self->stream) > 0) {
        got++;
        if (self->stream)
            stream_publish_cells(self->stream, applied);
    }
    if (!got)
        return;
    metrics_set(&self->metrics.cells_seq, applied);
    uint64_t finished;
    erase_scrub_report_t r;
    char err[256];
    if (erase_finish(self->ledger, ERASE_SCRUB_WAIT_MS, &finished, &r, err, sizeof err) < 0)
        log_error("collector", "ERASE-FINISH-FAILED reason=%s", err);
    else if (finished)
        log_info("collector",
                 "ERASE-SCRUBBED events=%llu copies=%llu scanned_mib=%llu old_readers=%d seconds=%.3f",
                 (unsigned long long) finished, (unsigned long long) r.copies,
                 (unsigned long long) (r.scanned >> 20), r.old_readers, r.seconds);
}

/* A clean stop: the cells count what was stored before the last
 * publication is made (at most STOP_CATCHUP_MS; what is left is counted
 * at the next start, nothing is lost either way). */
static void s_catch_up(server_t *self)
{
    uint64_t end = ledger_next_seq(self->ledger) - 1;
    int64_t until = clock_mono_ms() + STOP_CATCHUP_MS;
    aggregator_poke(self->aggregator);
    while (aggregator_applied(self->aggregator) < end && clock_mono_ms() < until)
        usleep(5000);
    s_aggregated(self); /* their cells to the stream, tombstones of erasures they passed */
    uint64_t applied = aggregator_applied(self->aggregator);
    if (applied < end)
        log_warn("collector", "STOP-CELLS-BEHIND cells_seq=%llu last_seq=%llu waited_ms=%d",
                 (unsigned long long) applied, (unsigned long long) end, STOP_CATCHUP_MS);
}

/* The reactor's handlers. zloop calls s_on_ready (a socket or descriptor
 * is readable) or s_on_time (a timer is due) with one of self->handlers,
 * which says what happened; s_dispatch does what it needs. Each returns 0
 * to keep the loop running, -1 to end it (self->failed says whether that
 * was an error). The ingest ROUTER has its own zloop handlers (s_on_ingest,
 * s_on_resume) because its back-off removes and re-adds it. */

static int s_dispatch(server_t *self, server_event_t what)
{
    switch (what) {
    case EV_ZAP: /* every ZAP request waiting (auth.h) */
        while (auth_handle(self->auth) > 0)
            ;
        break;
    case EV_MONITOR: s_monitor_events(self); break;
    case EV_REPLAY:
        self->trim_requests++;
        stream_handle_replay(self->stream);
        break;
    case EV_LIVE:
        self->trim_requests++;
        stream_handle_live(self->stream);
        break;
    case EV_STREAM_MONITOR: stream_handle_monitor(self->stream); break;
    /* An allow-list's directory changed (inotify): reloaded at once, so a
     * removed key is refused by the next handshake, batch, Subscribe,
     * replay request and fan-out, and its subscriptions end now. */
    case EV_AGENTS_CHANGED: allowlist_handle(self->allowlist); break;
    case EV_SUBSCRIBERS_CHANGED:
        if (allowlist_handle(self->subscribers) && self->stream)
            stream_tick(self->stream);
        break;
    case EV_SIGHUP: { /* both allow-lists reloaded, whatever changed */
        struct signalfd_siginfo si;
        while (read(self->sighup_fd, &si, sizeof si) == (ssize_t) sizeof si)
            ;
        log_info("collector", "RELOAD signal=SIGHUP");
        /* `systemctl reload` waits for READY=1 again when told RELOADING=1
         * (with the time, as systemd >= 253 asks for Type=notify-reload). */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
                   (unsigned long long) ts.tv_sec * 1000000ull + (unsigned long long) ts.tv_nsec / 1000);
        allowlist_reload(self->allowlist);
        allowlist_reload(self->subscribers);
        if (self->stream)
            stream_tick(self->stream);
        sd_notify(0, "READY=1");
        break;
    }
    /* The stop flag is set by a signal handler. A signal that interrupts
     * the poll ends zloop_start at once (server_run looks at the flag
     * then); this timer catches one delivered to another thread. */
    case EV_STOP_CHECK: return *self->stop ? -1 : 0;
    /* The allow-lists' safety net (allowlist.h): a stat of each
     * directory, every second while inotify cannot watch it, else every
     * ALLOWLIST_RESCAN_MS. */
    case EV_RESCAN:
        allowlist_refresh(self->allowlist);
        if (allowlist_refresh(self->subscribers) && self->stream)
            stream_tick(self->stream);
        break;
    case EV_STREAM_TICK: stream_tick(self->stream); break;
    case EV_PUBLISH:
        self->trim_requests++;
        s_publish(self);
        break;
    case EV_AGGREGATED: s_aggregated(self); break;
    /* A burst of ingest leaves the heaps of this thread, the aggregator
     * and ZeroMQ's I/O threads at their high-water mark (batches in
     * flight, chunks of cells, subscriber queues): glibc keeps what was
     * freed. Once a tick finds the log, the cells, the streams' requests
     * (a subscriber catching up replays through this thread) and the
     * publications still, malloc_trim hands it back, so the collector's
     * resident memory is what it holds, not what it once held
     * (docs/performance.md, "Memory"). Skipped while ingest runs: it walks
     * every heap under its lock. */
    case EV_TRIM: {
        uint64_t stored = ingest_stats(self->ingest)->stored;
        uint64_t cells = aggregator_applied(self->aggregator);
        bool moved = stored != self->trim_stored || cells != self->trim_cells ||
                     self->trim_requests != self->trim_requests_seen;
        self->trim_stored = stored, self->trim_cells = cells;
        self->trim_requests_seen = self->trim_requests;
        if (moved)
            self->trim_due = true;
        else if (self->trim_due) {
            malloc_trim(0);
            self->trim_due = false;
        }
        break;
    }
    case EV_STATS: { /* totals since start, only when some moved since the last line */
        /* The counts of refused handshakes of clients that went quiet. */
        auth_tick(self->auth);
        throttle_flush(self->handshake_log, clock_mono_ms());
        const ingest_stats_t *s = ingest_stats(self->ingest);
        if (!memcmp(s, &self->stats_logged, sizeof *s))
            break;
        self->stats_logged = *s;
        uint64_t rejected = 0;
        for (size_t i = 0; i < sizeof s->rejected / sizeof *s->rejected; i++)
            rejected += s->rejected[i];
        log_info("collector",
                 "STATS batches=%llu events=%llu stored=%llu duplicates=%llu rejected=%llu commits=%llu",
                 (unsigned long long) s->batches, (unsigned long long) s->events,
                 (unsigned long long) s->stored, (unsigned long long) s->duplicates,
                 (unsigned long long) rejected, (unsigned long long) s->commits);
        break;
    }
    }
    return 0;
}

static int s_on_ready(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop;
    (void) item;
    const server_handler_t *h = arg;
    return s_dispatch(h->self, h->what);
}

static int s_on_time(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    const server_handler_t *h = arg;
    return s_dispatch(h->self, h->what);
}

static int s_on_resume(zloop_t *loop, int timer_id, void *arg);

/* The ingest ROUTER is readable: one turn (drain, prepare, commit, ack). */
static int s_on_ingest(zloop_t *loop, zsock_t *router, void *arg)
{
    server_t *self = arg;
    if (server_turn(self) == FIN_OK) {
        self->backoff_ms = 0;
        return 0;
    }
    /* A failed commit (disk full, I/O error): answer nothing and leave the
     * ingest socket alone for a while (handshakes, replays and timers go
     * on), then try again with whatever the agents resend. */
    self->backoff_ms = self->backoff_ms ? (self->backoff_ms * 2 > 2000 ? 2000 : self->backoff_ms * 2) : 50;
    zloop_reader_end(loop, router);
    if (zloop_timer(loop, (size_t) self->backoff_ms, 1, s_on_resume, self) < 0) {
        self->failed = true;
        return -1;
    }
    return 0;
}

/* The back-off after a failed commit is over: read the ingest socket again. */
static int s_on_resume(zloop_t *loop, int timer_id, void *arg)
{
    (void) timer_id;
    server_t *self = arg;
    if (zloop_reader(loop, self->router, s_on_ingest, self) < 0) {
        self->failed = true;
        return -1;
    }
    return 0;
}

/* Adds one handler to self->handlers; NULL when the table is full (a bug:
 * HANDLERS_MAX is sized for server_reactor_new's lists). */
static server_handler_t *s_handler(server_t *self, server_event_t what)
{
    if (self->nhandlers == HANDLERS_MAX)
        return NULL;
    server_handler_t *h = &self->handlers[self->nhandlers++];
    *h = (server_handler_t){self, what};
    return h;
}

/* The reactor: every socket and descriptor with its handler, every timer
 * with its period. The ingest ROUTER is a zsock_t (a zloop reader); the
 * other sockets are raw libzmq sockets and descriptors (zloop pollers). */
int server_reactor_new(server_t *self)
{
    /* SIGHUP is blocked in every thread (main.c, before any starts): it
     * is read here, in the loop, never by a handler in some thread. */
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    self->sighup_fd = signalfd(-1, &hup, SFD_NONBLOCK | SFD_CLOEXEC);
    self->loop = zloop_new();
    if (!self->loop)
        return -1;
    bool streams = self->stream != NULL;
    /* When several are ready, zloop runs the reader first, then the
     * pollers in this order: the allow-lists are reloaded before a ZAP
     * request, Subscribe or replay request that came after the change is
     * answered. */
    struct {
        void *socket;
        int fd;
        server_event_t what;
    } pollers[] = {
        {NULL, allowlist_fd(self->allowlist), EV_AGENTS_CHANGED},
        {NULL, allowlist_fd(self->subscribers), EV_SUBSCRIBERS_CHANGED},
        {NULL, self->sighup_fd, EV_SIGHUP},
        {auth_socket(self->auth), -1, EV_ZAP},
        {self->monitor, -1, EV_MONITOR},
        {streams ? stream_replay_socket(self->stream) : NULL, -1, EV_REPLAY},
        {streams ? stream_live_socket(self->stream) : NULL, -1, EV_LIVE},
        {streams ? stream_monitor_socket(self->stream) : NULL, -1, EV_STREAM_MONITOR},
        {zsock_resolve(aggregator_socket(self->aggregator)), -1, EV_AGGREGATED},
    };
    struct {
        size_t period_ms; /* 0: not used */
        server_event_t what;
    } timers[] = {
        {STOP_CHECK_MS, EV_STOP_CHECK},
        {REFRESH_MS, EV_RESCAN},
        {streams ? STREAM_TICK_MS : 0, EV_STREAM_TICK},
        {(size_t) self->publish_interval_s * 1000, EV_PUBLISH},
        {STATS_MS, EV_STATS},
        {TRIM_MS, EV_TRIM},
    };
    int rc = zloop_reader(self->loop, self->router, s_on_ingest, self);
    for (size_t i = 0; rc == 0 && i < sizeof pollers / sizeof *pollers; i++) {
        zmq_pollitem_t item = {pollers[i].socket, pollers[i].fd, ZMQ_POLLIN, 0};
        if (!item.socket && item.fd < 0)
            continue; /* streams off, or no inotify or signalfd */
        server_handler_t *h = s_handler(self, pollers[i].what);
        rc = h ? zloop_poller(self->loop, &item, s_on_ready, h) : -1;
    }
    for (size_t i = 0; rc == 0 && i < sizeof timers / sizeof *timers; i++) {
        if (!timers[i].period_ms)
            continue;
        server_handler_t *h = s_handler(self, timers[i].what);
        if (!h || zloop_timer(self->loop, timers[i].period_ms, 0, s_on_time, h) < 0)
            rc = -1;
    }
    return rc < 0 ? -1 : 0;
}

fin_err_t server_run(server_t *self, volatile sig_atomic_t *stop)
{
    self->stop = stop;
    /* Every socket is bound by now: the ingest ROUTER and the streams
     * (server_open), the HTTP API (main.c starts it before this). Under
     * systemd (Type=notify) the unit is started from here on; without
     * NOTIFY_SOCKET this does nothing. */
    sd_notify(0, "READY=1");
    s_publish(self);
    fin_err_t rc = FIN_OK;
    while (!*stop) {
        /* zloop_start returns -1 when a handler ended the loop (the stop
         * flag, or self->failed), and 0 when its poll failed: EINTR from a
         * signal (the flag is looked at again), anything else is fatal. */
        errno = 0;
        if (zloop_start(self->loop) == 0 && errno != EINTR) {
            log_error("collector", "POLL-FAILED reason=%s", zmq_strerror(errno));
            rc = FIN_EINTERNAL;
            break;
        }
        if (self->failed) {
            log_error("collector", "REACTOR-FAILED reason=cannot register a handler");
            rc = FIN_EINTERNAL;
            break;
        }
    }
    if (rc == FIN_OK) {
        s_catch_up(self);
        s_publish(self);
    }
    sd_notify(0, "STOPPING=1");
    log_info("collector", "STOPPING next_seq=%llu", (unsigned long long) ledger_next_seq(self->ledger));
    return rc;
}
