/* server.c: building the collector (see server.h; server_impl.h lists
 * the other server_*.c files): catalogue, store, protection, allow-lists,
 * keys, the ZAP handler, the ingest ROUTER and the streams, in that order,
 * each step undone by server_destroy if a later one fails. */
#include "server_impl.h"

#include "keys.h"
#include "ledger.h"
#include "log.h"
#include "monitor.h"
#include "recount.h"
#include "registry.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

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
    /* The förbund registry (DATA/forbund.json, finsamctl forbund) names
     * förbund and rolls them up into län; read here, before the catalogue
     * is shared with the web threads. */
    snprintf(path, sizeof path, "%s/%s", config->data_dir, REGISTRY_FILE);
    registry_t *reg = NULL;
    if (registry_load(&reg, path, self->catalogue, err, sizeof err) != FIN_OK ||
        registry_apply(reg, self->catalogue) < 0) {
        log_error("collector", "REGISTRY-INVALID reason=\"%s\"", reg ? "out of memory" : err);
        registry_destroy(&reg);
        rc = FIN_ECONFIG;
        goto fail;
    }
    registry_destroy(&reg);
    /* ...and followed while we run: a förbund onboarded with `finsamctl
     * forbund add` is named on the streams without a restart. */
    if (!(self->registry = registry_live_new(path, config->catalogue, self->catalogue))) {
        rc = FIN_ENOMEM;
        goto fail;
    }
    snprintf(path, sizeof path, "%s/ledger", config->data_dir);
    /* A store of the previous schema is refused here; its message names
     * `finsamctl -d DATA migrate`, which the operator runs (migrate.h). */
    if ((rc = ledger_open(&self->ledger, path, false, err, sizeof err)) != FIN_OK) {
        log_error("collector", "STORE-OPEN-FAILED reason=%s", err);
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
     * already stored) are recomputed from the log (recount.h). */
    recount_report_t rr;
    if (recount_run(self->ledger, self->catalogue, protect_secret(self->protect), false, &rr, err,
                    sizeof err) < 0) {
        log_error("collector", "STORE-RECOUNT-FAILED reason=%s", err);
        rc = FIN_EIO;
        goto fail;
    }
    if (rr.recounted)
        log_info("collector", "STORE-RECOUNTED reason=cells of another catalogue events=%llu seconds=%.3f",
                 (unsigned long long) rr.events, rr.seconds);
    self->ingest = ingest_new(self->ledger, self->catalogue);
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
     * every refused attempt is logged. The monitor names only our own
     * endpoint; accepts and disconnects carry the descriptor, which gives
     * the peer's address (server_loop.c). */
    self->handshake_log = throttle_new(60000, 4096, LOG_LEVEL_WARN, "auth");
    self->monitor = self->handshake_log ? monitor_open(zsys_init(), r, "ingest",
                                                       ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_DISCONNECTED |
                                                           ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |
                                                           ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                                           ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
                                        : NULL;
    if (zmq_bind(r, config->endpoint) < 0) {
        snprintf(err, sizeof err, "%s: %s", config->endpoint, zmq_strerror(errno));
        log_error("collector", "BIND-FAILED endpoint=%s reason=%s", config->endpoint, zmq_strerror(errno));
        rc = FIN_EAGAIN; /* rc held an earlier step's FIN_OK: exit 69, not a crash on a NULL server */
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
        rc = stream_open(&self->stream, &sc, self->cert, self->subscribers, self->ledger, self->registry,
                         &self->metrics, err, sizeof err);
        if (rc != FIN_OK)
            goto fail;
    }
    /* The cells follow the log from where they stand (after an upgrade
     * or a deleted cells environment: from the start). */
    if ((rc = aggregator_start(&self->aggregator, self->ledger, self->catalogue,
                               protect_secret(self->protect), self->stream != NULL, err, sizeof err)) !=
        FIN_OK)
        goto fail;
    metrics_set(&self->metrics.cells_seq, aggregator_applied(self->aggregator));
    if (server_reactor_new(self) < 0) {
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
    aggregator_stop(&self->aggregator);
    if (self->sighup_fd >= 0)
        close(self->sighup_fd);
    stream_destroy(&self->stream);
    if (self->monitor)
        zmq_close(self->monitor);
    throttle_destroy(&self->handshake_log);
    zsock_destroy(&self->router);
    auth_destroy(&self->auth);
    zcert_destroy(&self->cert);
    allowlist_destroy(&self->allowlist);
    allowlist_destroy(&self->subscribers);
    ingest_destroy(&self->ingest);
    protect_destroy(&self->protect);
    ledger_close(&self->ledger);
    registry_live_destroy(&self->registry);
    catalogue_destroy(&self->catalogue);
    free(self->items);
    free(self->ids);
    free(self->frames);
    free(self);
    *self_p = NULL;
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
