/* server.c: the collector's sockets and main loop (see server.h).
 *
 * Ordering, the one thing to get right here: receive -> prepare (decode,
 * authorize) -> commit (one LMDB write transaction, synchronous) -> ack.
 * No ack leaves before its transaction is on disk; if the commit fails no
 * ack leaves at all and the agents resend, which the dedupe index makes
 * harmless.
 *
 * The loop is CZMQ's zloop: one handler per socket (the ingest ROUTER, the
 * ZAP handler, the socket monitors, the stream sockets) and one per timer
 * (the stop flag, the allow-list safety net, stream housekeeping,
 * publication, statistics), all listed in s_reactor_new. zloop's own
 * signal handling stays off (prologue_signals): the stop flag is ours. */
#include "server.h"

#include "publish.h"

#include "aggregate.h"
#include "allowlist.h"
#include "auth.h"
#include "ingest.h"
#include "keys.h"
#include "ledger.h"
#include "log.h"
#include "monitor.h"
#include "recount.h"
#include "upgrade.h"
#include "util.h"

#include <czmq.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#define MAX_COMMIT_BYTES (16u << 20)
/* Events per transaction. LMDB keeps every page a transaction dirtied in
 * process memory and caches freed dirty pages for reuse, so the largest
 * transaction sets the collector's resident memory; this caps it (about
 * 5 pages per event) while keeping fsyncs far below the disk's rate. */
#define MAX_COMMIT_EVENTS 6000
#define REFRESH_MS 1000
#define STOP_CHECK_MS 200
#define HANDLERS_MAX 16

/* What a socket's, descriptor's or timer's turn means (s_dispatch). */
typedef enum {
    EV_ZAP,
    EV_MONITOR,
    EV_REPLAY,
    EV_LIVE,
    EV_STREAM_MONITOR,
    EV_AGENTS_CHANGED,
    EV_SUBSCRIBERS_CHANGED,
    EV_SIGHUP,
    EV_STOP_CHECK,
    EV_RESCAN,
    EV_STREAM_TICK,
    EV_PUBLISH,
    EV_STATS,
} s_event_t;

/* The argument zloop passes to s_on_ready and s_on_time. */
typedef struct {
    server_t *self;
    s_event_t what;
} s_handler_t;
#define STATS_MS 10000

struct server_t {
    server_config_t config;
    metrics_t metrics;
    zcert_t *cert;
    auth_t *auth;
    zsock_t *router;
    void *monitor;            /* PAIR receiving the ROUTER's handshake failures */
    int64_t handshake_log_ms; /* last HANDSHAKE-FAILED line, for throttling */
    unsigned handshake_unlogged;
    stream_t *stream;
    ledger_t *ledger;
    catalogue_t *catalogue;
    aggregate_t *aggregate;
    protect_t *protect;
    int publish_interval_s, publish_max_age_s;
    ingest_t *ingest;
    allowlist_t *allowlist, *subscribers;
    ingest_item_t *items;
    zmq_msg_t *ids, *frames;
    zloop_t *loop;
    s_handler_t handlers[HANDLERS_MAX]; /* the args zloop holds (s_reactor_new) */
    size_t nhandlers;
    int sighup_fd;               /* signalfd of SIGHUP (blocked by main.c); -1 without */
    volatile sig_atomic_t *stop; /* server_run's flag */
    int backoff_ms;              /* after a failed commit; 0 when the last one worked */
    bool failed;                 /* a handler could not re-register: the loop ends */
};

static int s_reactor_new(server_t *self);

static void s_set_int(void *sock, int opt, int value)
{
    zmq_setsockopt(sock, opt, &value, sizeof value);
}

fin_err_t server_open(server_t **out, const server_config_t *config, char *reason, size_t reasonlen)
{
    char err[512] = "";
    /* A step that sets no code of its own fails as "cannot serve". */
    fin_err_t rc = FIN_EAGAIN;
    server_t *self = calloc(1, sizeof *self);
    if (!self)
        return fin_fail(reason, reasonlen, FIN_ENOMEM, "out of memory");
    self->config = *config;
    self->sighup_fd = -1;
    int n = config->max_batches_per_commit;
    self->items = calloc((size_t) n, sizeof *self->items);
    self->ids = calloc((size_t) n, sizeof *self->ids);
    self->frames = calloc((size_t) n, sizeof *self->frames);
    if (!self->items || !self->ids || !self->frames) {
        rc = FIN_ENOMEM;
        goto fail;
    }

    if (catalogue_load(&self->catalogue, config->catalogue, err, sizeof err) < 0) {
        log_error("collector", "CATALOGUE-INVALID reason=%s", err);
        rc = FIN_ECONFIG;
        goto fail;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/ledger", config->data_dir);
    /* A store of the previous schema is upgraded first (upgrade.h). */
    upgrade_report_t up;
    if (upgrade_run(path, self->catalogue, &config->protect, &up, err, sizeof err) < 0) {
        log_error("collector", "STORE-UPGRADE-FAILED reason=%s", err);
        goto fail;
    }
    if (up.upgraded)
        log_info("collector", "STORE-UPGRADED from=%d to=%d events=%llu seconds=%.1f", LEDGER_SCHEMA_PREVIOUS,
                 LEDGER_SCHEMA_VERSION, (unsigned long long) up.events, up.seconds);
    if (ledger_open(&self->ledger, path, false, err, sizeof err) < 0) {
        log_error("collector", "STORE-OPEN-FAILED reason=%s", err);
        rc = FIN_EIO;
        goto fail;
    }
    self->publish_interval_s = config->publish_interval_s > 0 ? config->publish_interval_s : 300;
    self->publish_max_age_s = config->publish_max_age_s > 0 ? config->publish_max_age_s : 7 * 86400;
    self->protect = protect_open(self->ledger, &config->protect, err, sizeof err);
    if (!self->protect) {
        log_error("collector", "PROTECTION-INVALID reason=%s", err);
        rc = FIN_ECONFIG;
        goto fail;
    }
    /* Cells computed under another catalogue (a measure added over items
     * already stored) are recomputed from the log (recount.h); cells just
     * upgraded are this catalogue's already. */
    recount_report_t rr;
    if (recount_run(self->ledger, self->catalogue, protect_secret(self->protect), up.upgraded, &rr, err,
                    sizeof err) < 0) {
        log_error("collector", "STORE-RECOUNT-FAILED reason=%s", err);
        rc = FIN_EIO;
        goto fail;
    }
    if (rr.recounted)
        log_info("collector", "STORE-RECOUNTED reason=cells of another catalogue events=%llu seconds=%.3f",
                 (unsigned long long) rr.events, rr.seconds);
    self->aggregate = aggregate_new(self->catalogue, protect_secret(self->protect));
    self->ingest = self->aggregate ? ingest_new(self->ledger, self->catalogue, self->aggregate) : NULL;
    self->allowlist = allowlist_new(config->allow_dir, "forbund", allowlist_valid_forbund);
    self->subscribers = allowlist_new(config->subscriber_dir, "access", allowlist_valid_access);
    if (!self->ingest || !self->allowlist || !self->subscribers) {
        rc = FIN_ENOMEM;
        goto fail;
    }
    atomic_store(&self->metrics.started_ms, clock_wall_ms());
    metrics_set(&self->metrics.last_seq, ledger_next_seq(self->ledger) - 1);

    /* The secret key is in this process from here on: no core dumps. */
    prctl(PR_SET_DUMPABLE, 0);
    self->cert = keys_load_secret(config->server_key, err, sizeof err);
    if (!self->cert) {
        log_error("collector", "KEY-REFUSED reason=%s", err);
        rc = FIN_EPERM;
        goto fail;
    }
    /* The ZAP handler must be bound before any CURVE socket binds, or CURVE
     * would accept any client that knows our public key. */
    self->auth = auth_new(zsys_init(), self->allowlist, self->subscribers);
    self->router = self->auth ? zsock_new(ZMQ_ROUTER) : NULL;
    if (!self->router) {
        rc = FIN_EINTERNAL;
        snprintf(err, sizeof err, "cannot create the ZAP handler or the ingest socket");
        goto fail;
    }
    void *r = zsock_resolve(self->router);
    zcert_apply(self->cert, self->router);
    zsock_set_curve_server(self->router, 1);
    zsock_set_zap_domain(self->router, "ingest");
    s_set_int(r, ZMQ_LINGER, 0);
    s_set_int(r, ZMQ_ROUTER_MANDATORY, 1);
    s_set_int(r, ZMQ_RCVHWM, 10000);
    s_set_int(r, ZMQ_SNDHWM, 10000);
    s_set_int(r, ZMQ_HANDSHAKE_IVL, 5000);
    s_set_int(r, ZMQ_HEARTBEAT_IVL, 1000);
    s_set_int(r, ZMQ_HEARTBEAT_TIMEOUT, 5000);
    s_set_int(r, ZMQ_HEARTBEAT_TTL, 10000);
    int64_t maxmsg = CODEC_MAX_BATCH_BYTES + 4096;
    zmq_setsockopt(r, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    /* Handshakes that fail before any ZAP request (no CURVE, wrong server
     * key) are invisible to auth.c: watch them through a socket monitor so
     * every refused attempt is logged. */
    self->monitor = monitor_open(zsys_init(), r, "ingest",
                                 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                     ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    if (zmq_bind(r, config->endpoint) < 0) {
        snprintf(err, sizeof err, "%s: %s", config->endpoint, zmq_strerror(errno));
        log_error("collector", "BIND-FAILED endpoint=%s reason=%s", config->endpoint, zmq_strerror(errno));
        goto fail;
    }
    char last[256];
    size_t len = sizeof last;
    zmq_getsockopt(r, ZMQ_LAST_ENDPOINT, last, &len);
    if (config->endpoint_file) {
        FILE *f = fopen(config->endpoint_file, "w");
        if (f) {
            fprintf(f, "%s\n", last);
            fclose(f);
        }
    }
    log_info("collector", "LISTENING endpoint=%s curve=on agents=%d next_seq=%llu", last,
             allowlist_size(self->allowlist), (unsigned long long) ledger_next_seq(self->ledger));
    if (config->stream.events_endpoint && config->stream.events_endpoint[0]) {
        stream_config_t sc = config->stream;
        sc.protect = self->protect;
        self->stream =
            stream_new(&sc, self->cert, self->subscribers, self->ledger, self->catalogue, &self->metrics);
        if (!self->stream) {
            snprintf(err, sizeof err, "cannot bind the stream sockets");
            goto fail;
        }
    }
    if (s_reactor_new(self) < 0) {
        rc = FIN_EINTERNAL;
        snprintf(err, sizeof err, "cannot build the loop");
        goto fail;
    }
    *out = self;
    return FIN_OK;
fail:
    server_destroy(&self);
    return fin_fail(reason, reasonlen, rc, "%s", err[0] ? err : fin_strerror(rc));
}

void server_destroy(server_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    server_t *self = *self_p;
    zloop_destroy(&self->loop);
    if (self->sighup_fd >= 0)
        close(self->sighup_fd);
    stream_destroy(&self->stream);
    if (self->monitor)
        zmq_close(self->monitor);
    zsock_destroy(&self->router);
    auth_destroy(&self->auth);
    zcert_destroy(&self->cert);
    allowlist_destroy(&self->allowlist);
    allowlist_destroy(&self->subscribers);
    ingest_destroy(&self->ingest);
    aggregate_destroy(&self->aggregate);
    protect_destroy(&self->protect);
    ledger_close(&self->ledger);
    catalogue_destroy(&self->catalogue);
    free(self->items);
    free(self->ids);
    free(self->frames);
    free(self);
    *self_p = NULL;
}

/* Receives one [routing id][batch] message without blocking. Returns 1 if
 * one was read, 0 if none is waiting, -1 on error (EINTR included). Extra
 * frames make the message malformed; they are drained here. */
static int s_recv(server_t *self, int i)
{
    void *r = zsock_resolve(self->router);
    zmq_msg_init(&self->ids[i]);
    if (zmq_msg_recv(&self->ids[i], r, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&self->ids[i]);
        return errno == EAGAIN ? 0 : -1;
    }
    zmq_msg_init(&self->frames[i]);
    ingest_item_t *item = &self->items[i];
    memset(item, 0, sizeof *item);
    bool extra = false;
    if (!zmq_msg_more(&self->ids[i]) || zmq_msg_recv(&self->frames[i], r, 0) < 0) {
        item->batch_error = FINSAM__V1__REJECT_CODE__REJECT_MALFORMED;
    }
    while (zmq_msg_more(&self->frames[i])) {
        zmq_msg_t junk;
        zmq_msg_init(&junk);
        int rc = zmq_msg_recv(&junk, r, 0);
        extra = true;
        bool more = rc >= 0 && zmq_msg_more(&junk);
        zmq_msg_close(&junk);
        if (!more)
            break;
    }
    const char *user = zmq_msg_gets(&self->frames[i], "User-Id");
    snprintf(item->agent_key, sizeof item->agent_key, "%s", user ? user : "");
    item->data = zmq_msg_data(&self->frames[i]);
    item->len = zmq_msg_size(&self->frames[i]);
    if (extra || item->batch_error) {
        item->batch_error = FINSAM__V1__REJECT_CODE__REJECT_MALFORMED;
        snprintf(item->batch_error_text, sizeof item->batch_error_text, "a batch is exactly one frame");
    }
    return 1;
}

static void s_send_ack(server_t *self, int i)
{
    void *r = zsock_resolve(self->router);
    size_t len;
    uint8_t *ack = ingest_ack(&self->items[i], &len);
    if (!ack)
        return;
    /* DONTWAIT: a peer that is gone or not reading loses its ack and will
     * resend; the loop never blocks on one agent. */
    if (zmq_msg_send(&self->ids[i], r, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(r, ack, len, ZMQ_DONTWAIT) < 0)
        log_debug("collector", "ACK-DROPPED reason=%s", zmq_strerror(errno));
    free(ack);
}

/* Logs the handshake failures the monitor reports. */
static void s_monitor_events(server_t *self)
{
    uint16_t event;
    uint32_t value;
    char endpoint[128];
    while (monitor_next(self->monitor, &event, &value, endpoint, sizeof endpoint)) {
        const char *reason = event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH ? "auth"
                             : event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
                                 ? "protocol (no CURVE or wrong server key?)"
                                 : "no detail (wrong server key?)";
        /* A misconfigured client retries every few hundred ms: one line a
         * second at most, with how many were folded into it. */
        int64_t now = clock_mono_ms();
        if (now - self->handshake_log_ms >= 1000) {
            log_warn("auth", "HANDSHAKE-FAILED endpoint=%s reason=\"%s\" code=%u also=%u", endpoint, reason,
                     value, self->handshake_unlogged);
            self->handshake_log_ms = now;
            self->handshake_unlogged = 0;
        } else {
            self->handshake_unlogged++;
        }
    }
}

/* One turn: drain, prepare, commit, ack. */
static fin_err_t s_turn(server_t *self)
{
    int n = 0, prepared = 0;
    size_t bytes = 0;
    size_t events = 0;
    while (n < self->config.max_batches_per_commit && bytes < MAX_COMMIT_BYTES &&
           events < MAX_COMMIT_EVENTS) {
        int rc = s_recv(self, n);
        if (rc <= 0)
            break;
        bytes += self->items[n].len;
        if (!self->items[n].batch_error && ingest_prepare(self->ingest, &self->items[n], self->allowlist)) {
            prepared++;
            events += self->items[n].batch->n_events;
        }
        n++;
    }
    fin_err_t rc = FIN_OK;
    metrics_t *m = &self->metrics;
    if (prepared > 0) {
        int64_t t0 = clock_mono_us();
        rc = ingest_commit(self->ingest, self->items, n, self->stream ? stream_cell_changed : NULL,
                           self->stream);
        if (rc == FIN_OK)
            metrics_observe_commit(m, (uint64_t) (clock_mono_us() - t0));
        else
            metrics_add(&m->commit_failures, 1);
    }
    for (int i = 0; i < n; i++) {
        ingest_item_t *item = &self->items[i];
        if (item->batch_error) {
            metrics_add(&m->batches_rejected, 1);
            metrics_add(&m->events_rejected[item->batch_error % METRICS_REJECT_SLOTS], 1);
        } else if (rc == FIN_OK) {
            metrics_add(&m->batches, 1);
            metrics_add(&m->events_received, item->batch->n_events);
            metrics_add(&m->events_stored, item->stored);
            metrics_add(&m->events_duplicate, item->duplicates);
            for (size_t j = 0; j < item->batch->n_events; j++) {
                const ingest_verdict_t *v = &item->verdicts[j];
                if (v->code)
                    metrics_add(&m->events_rejected[v->code % METRICS_REJECT_SLOTS], 1);
                else if (v->seq && self->stream)
                    stream_publish_event(self->stream, v->seq, item->forbund, v->kind,
                                         item->batch->events[j].data, item->batch->events[j].len);
            }
        }
        /* Refused batches are answered; committed ones acked; after a failed
         * commit nothing is said: the agents resend. */
        if (item->batch_error || rc == FIN_OK)
            s_send_ack(self, i);
        ingest_item_clear(item);
        zmq_msg_close(&self->ids[i]);
        zmq_msg_close(&self->frames[i]);
    }
    if (self->stream) {
        if (rc == FIN_OK && prepared > 0)
            stream_publish_cells(self->stream, ledger_next_seq(self->ledger) - 1);
        else
            stream_discard(self->stream);
    }
    if (prepared > 0 && rc == FIN_OK) {
        size_t map, used;
        store_usage(ledger_store(self->ledger), &map, &used);
        metrics_set(&m->map_size_bytes, map);
        metrics_set(&m->map_used_bytes, used);
        metrics_set(&m->last_seq, ledger_next_seq(self->ledger) - 1);
    }
    return rc;
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
    log_info("collector", "PUBLISHED seq=%llu refreshed=%llu waiting=%llu", (unsigned long long) r.seq,
             (unsigned long long) r.refreshed, (unsigned long long) r.waiting);
    /* Aggregates-only subscribers get the protected rows that moved. */
    char err[256];
    if (self->stream && r.refreshed > 0 && stream_publish_publication(self->stream, r.seq, err, sizeof err))
        log_warn("collector", "PUBLISH-STREAM-FAILED reason=%s", err);
}

/* The reactor's handlers. zloop calls s_on_ready (a socket or descriptor
 * is readable) or s_on_time (a timer is due) with one of self->handlers,
 * which says what happened; s_dispatch does what it needs. Each returns 0
 * to keep the loop running, -1 to end it (self->failed says whether that
 * was an error). The ingest ROUTER has its own zloop handlers (s_on_ingest,
 * s_on_resume) because its back-off removes and re-adds it. */

static int s_dispatch(server_t *self, s_event_t what)
{
    switch (what) {
    case EV_ZAP: /* every ZAP request waiting (auth.h) */
        while (auth_handle(self->auth) > 0)
            ;
        break;
    case EV_MONITOR: s_monitor_events(self); break;
    case EV_REPLAY: stream_handle_replay(self->stream); break;
    case EV_LIVE: stream_handle_live(self->stream); break;
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
        allowlist_reload(self->allowlist);
        allowlist_reload(self->subscribers);
        if (self->stream)
            stream_tick(self->stream);
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
    case EV_PUBLISH: s_publish(self); break;
    case EV_STATS: {
        const ingest_stats_t *s = ingest_stats(self->ingest);
        log_info("collector", "STATS batches=%llu events=%llu stored=%llu duplicates=%llu commits=%llu",
                 (unsigned long long) s->batches, (unsigned long long) s->events,
                 (unsigned long long) s->stored, (unsigned long long) s->duplicates,
                 (unsigned long long) s->commits);
        break;
    }
    }
    return 0;
}

static int s_on_ready(zloop_t *loop, zmq_pollitem_t *item, void *arg)
{
    (void) loop;
    (void) item;
    const s_handler_t *h = arg;
    return s_dispatch(h->self, h->what);
}

static int s_on_time(zloop_t *loop, int timer_id, void *arg)
{
    (void) loop;
    (void) timer_id;
    const s_handler_t *h = arg;
    return s_dispatch(h->self, h->what);
}

static int s_on_resume(zloop_t *loop, int timer_id, void *arg);

/* The ingest ROUTER is readable: one turn (drain, prepare, commit, ack). */
static int s_on_ingest(zloop_t *loop, zsock_t *router, void *arg)
{
    server_t *self = arg;
    if (s_turn(self) == FIN_OK) {
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
 * HANDLERS_MAX is sized for s_reactor_new's lists). */
static s_handler_t *s_handler(server_t *self, s_event_t what)
{
    if (self->nhandlers == HANDLERS_MAX)
        return NULL;
    s_handler_t *h = &self->handlers[self->nhandlers++];
    *h = (s_handler_t){self, what};
    return h;
}

/* The reactor: every socket and descriptor with its handler, every timer
 * with its period. The ingest ROUTER is a zsock_t (a zloop reader); the
 * other sockets are raw libzmq sockets and descriptors (zloop pollers). */
static int s_reactor_new(server_t *self)
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
        s_event_t what;
    } pollers[] = {
        {NULL, allowlist_fd(self->allowlist), EV_AGENTS_CHANGED},
        {NULL, allowlist_fd(self->subscribers), EV_SUBSCRIBERS_CHANGED},
        {NULL, self->sighup_fd, EV_SIGHUP},
        {auth_socket(self->auth), -1, EV_ZAP},
        {self->monitor, -1, EV_MONITOR},
        {streams ? stream_replay_socket(self->stream) : NULL, -1, EV_REPLAY},
        {streams ? stream_live_socket(self->stream) : NULL, -1, EV_LIVE},
        {streams ? stream_monitor_socket(self->stream) : NULL, -1, EV_STREAM_MONITOR},
    };
    struct {
        size_t period_ms; /* 0: not used */
        s_event_t what;
    } timers[] = {
        {STOP_CHECK_MS, EV_STOP_CHECK},
        {REFRESH_MS, EV_RESCAN},
        {streams ? STREAM_TICK_MS : 0, EV_STREAM_TICK},
        {(size_t) self->publish_interval_s * 1000, EV_PUBLISH},
        {STATS_MS, EV_STATS},
    };
    int rc = zloop_reader(self->loop, self->router, s_on_ingest, self);
    for (size_t i = 0; rc == 0 && i < sizeof pollers / sizeof *pollers; i++) {
        zmq_pollitem_t item = {pollers[i].socket, pollers[i].fd, ZMQ_POLLIN, 0};
        if (!item.socket && item.fd < 0)
            continue; /* streams off, or no inotify or signalfd */
        s_handler_t *h = s_handler(self, pollers[i].what);
        rc = h ? zloop_poller(self->loop, &item, s_on_ready, h) : -1;
    }
    for (size_t i = 0; rc == 0 && i < sizeof timers / sizeof *timers; i++) {
        if (!timers[i].period_ms)
            continue;
        s_handler_t *h = s_handler(self, timers[i].what);
        if (!h || zloop_timer(self->loop, timers[i].period_ms, 0, s_on_time, h) < 0)
            rc = -1;
    }
    return rc < 0 ? -1 : 0;
}

fin_err_t server_run(server_t *self, volatile sig_atomic_t *stop)
{
    self->stop = stop;
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
    if (rc == FIN_OK)
        s_publish(self);
    log_info("collector", "STOPPING next_seq=%llu", (unsigned long long) ledger_next_seq(self->ledger));
    return rc;
}

metrics_t *server_metrics(server_t *self)
{
    return &self->metrics;
}

ledger_t *server_ledger(server_t *self)
{
    return self->ledger;
}

const catalogue_t *server_catalogue(server_t *self)
{
    return self->catalogue;
}

const protect_t *server_protect(server_t *self)
{
    return self->protect;
}
