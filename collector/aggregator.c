/* aggregator.c: the thread that keeps the cells up to date beside ingest
 * (see aggregator.h).
 *
 * Wake-ups: ingest pokes after each commit (a condition variable, so a
 * poke never blocks the ingest thread); without one the thread looks
 * every AGGREGATOR_IDLE_MS, which catches events another process appended
 * (`finsamctl erase`). A chunk that fails (disk full, say) is logged and
 * tried again a second later: nothing is lost, the cells only lag. */
#include "aggregator.h"

#include "aggregate.h"
#include "cell.h"
#include "log.h"
#include "replay.h"
#include "throttle.h"
#include "util.h"

#include <czmq.h>
#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_ENTRY (CELL_KEY_LEN + sizeof(cell_t))
#define S_RETRY_MS 1000

struct aggregator_t {
    ledger_t *ledger;
    aggregate_t *aggregate;
    bool with_cells;
    char endpoint[64];
    zsock_t *pipe; /* the main thread's end */
    pthread_t thread;
    bool started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool poked, stopping; /* under mu */
    _Atomic uint64_t applied;
    /* The thread's: the changed cells of the chunk being applied. */
    uint8_t *cells;
    size_t ncells, cap;
};

static void s_changed(const uint8_t *key, size_t keylen, const void *state, size_t statelen, void *arg)
{
    aggregator_t *self = arg;
    if (keylen != CELL_KEY_LEN || statelen != sizeof(cell_t))
        return;
    if (self->ncells == self->cap) {
        size_t cap = self->cap ? self->cap * 2 : 1024;
        uint8_t *p = realloc(self->cells, cap * S_ENTRY);
        if (!p)
            return; /* the stream misses this cell; a snapshot has it */
        self->cells = p;
        self->cap = cap;
    }
    uint8_t *e = self->cells + self->ncells++ * S_ENTRY;
    memcpy(e, key, CELL_KEY_LEN);
    memcpy(e + CELL_KEY_LEN, state, sizeof(cell_t));
}

static void s_free_buffer(void *data, void *hint)
{
    (void) hint;
    free(data);
}

/* Tells the main thread: [be64 applied][cells]. The cells buffer moves
 * into the message. */
static void s_send(aggregator_t *self, zsock_t *pipe, uint64_t applied)
{
    uint8_t head[8];
    be64_put(head, applied);
    void *s = zsock_resolve(pipe);
    zmq_msg_t body;
    if (self->ncells) {
        zmq_msg_init_data(&body, self->cells, self->ncells * S_ENTRY, s_free_buffer, NULL);
        self->cells = NULL;
        self->ncells = self->cap = 0;
    } else {
        zmq_msg_init(&body);
    }
    if (zmq_send(s, head, sizeof head, ZMQ_SNDMORE) < 0 || zmq_msg_send(&body, s, 0) < 0)
        zmq_msg_close(&body);
}

/* Waits for a poke, the stop, or the idle period. Returns false to stop. */
static bool s_wait(aggregator_t *self, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long) (ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&self->mu);
    while (!self->poked && !self->stopping)
        if (pthread_cond_timedwait(&self->cv, &self->mu, &until) == ETIMEDOUT)
            break;
    bool go = !self->stopping;
    self->poked = false;
    pthread_mutex_unlock(&self->mu);
    return go;
}

static bool s_stopping(aggregator_t *self)
{
    pthread_mutex_lock(&self->mu);
    bool stop = self->stopping;
    pthread_mutex_unlock(&self->mu);
    return stop;
}

static void *s_run(void *arg)
{
    aggregator_t *self = arg;
    pthread_setname_np(pthread_self(), "aggregator"); /* top -H, /proc/PID/task */
    char endpoint[80];
    snprintf(endpoint, sizeof endpoint, ">%s", self->endpoint);
    zsock_t *pipe = zsock_new_pair(endpoint);
    if (!pipe) {
        log_error("aggregator", "AGGREGATOR-FAILED reason=cannot connect its pipe");
        return NULL;
    }
    /* Tests only: while this file exists nothing is applied, so a test can
     * hold the cells behind the log (tests/e2e/aggregation_test.c). */
    const char *hold = getenv("FINSAM_TEST_AGGREGATOR_HOLD");
    /* A failure that lasts (a full disk) is logged once a minute, with
     * how many retries failed meanwhile; the first success after says so. */
    throttle_t *failures = throttle_new(60000, 1, LOG_LEVEL_ERROR, "aggregator");
    bool failing = false;
    int wait_ms = 0;
    int64_t last_commit_ms = 0;
    uint64_t unflushed = 0; /* events applied since the cells were last written out */
    while (s_wait(self, wait_ms ? wait_ms : AGGREGATOR_IDLE_MS)) {
        wait_ms = 0;
        /* Caught up a moment ago: let a few more events gather. */
        int64_t since = clock_mono_ms() - last_commit_ms;
        if (since < AGGREGATOR_MIN_GAP_MS)
            usleep((useconds_t) (AGGREGATOR_MIN_GAP_MS - since) * 1000);
        if (hold && access(hold, F_OK) == 0)
            continue;
        uint64_t n;
        do {
            replay_t r = {.source = self->ledger,
                          .aggregate = self->aggregate,
                          .follow = true,
                          .once = true,
                          .chunk = AGGREGATOR_CHUNK_MAX,
                          .max_people = AGGREGATOR_PEOPLE_MAX,
                          .max_cells = AGGREGATOR_CELLS_MAX,
                          .changed = self->with_cells ? s_changed : NULL,
                          .changed_arg = self};
            n = 0;
            self->ncells = 0;
            int rc = replay_run(&r, self->ledger, &n);
            if (rc) {
                char line[256];
                snprintf(line, sizeof line, "AGGREGATE-FAILED from_seq=%llu reason=%s retry_ms=%d",
                         (unsigned long long) r.from_seq, store_strerror(rc), S_RETRY_MS);
                if (failures)
                    throttle_event(failures, "aggregate", line, clock_mono_ms());
                else
                    log_error("aggregator", "%s", line);
                failing = true;
                wait_ms = S_RETRY_MS;
                break;
            }
            if (failing) {
                if (failures) { /* the held-back count, then a fresh throttle */
                    throttle_flush(failures, INT64_MAX);
                    throttle_destroy(&failures);
                    failures = throttle_new(60000, 1, LOG_LEVEL_ERROR, "aggregator");
                }
                log_info("aggregator", "AGGREGATE-RESUMED from_seq=%llu", (unsigned long long) r.from_seq);
                failing = false;
            }
            /* The cells' own position, also when this look applied nothing:
             * another follower (`finsamctl erase`) may have applied the
             * events, and a clean stop waits for this position to reach
             * the log's end (server_loop.c s_catch_up). */
            uint64_t at = r.from_seq ? r.from_seq - 1 : 0;
            if (n || at > atomic_load_explicit(&self->applied, memory_order_acquire)) {
                atomic_store_explicit(&self->applied, at, memory_order_release);
                s_send(self, pipe, at);
            }
            if (n) {
                last_commit_ms = clock_mono_ms();
                unflushed += n;
            }
        } while (n > 0 && !s_stopping(self)); /* until a look finds nothing new */
        /* Caught up after a burst: its pages to the disk now, in this
         * thread, while no ack waits (a failure only leaves them to the
         * kernel; the commits are made either way). */
        if (unflushed >= AGGREGATOR_FLUSH_EVENTS && !failing && !s_stopping(self)) {
            int rc = store_flush(ledger_cells_store(self->ledger));
            if (rc)
                log_warn("aggregator", "CELLS-FLUSH-FAILED reason=%s", store_strerror(rc));
            unflushed = 0;
        }
    }
    throttle_destroy(&failures);
    zsock_destroy(&pipe);
    return NULL;
}

fin_err_t aggregator_start(aggregator_t **out, ledger_t *ledger, const catalogue_t *catalogue,
                           const uint8_t secret[SECRET_LEN], bool with_cells, char *err, size_t errlen)
{
    *out = NULL;
    aggregator_t *self = calloc(1, sizeof *self);
    if (!self)
        return fin_fail(err, errlen, FIN_ENOMEM, "out of memory");
    self->ledger = ledger;
    self->with_cells = with_cells;
    pthread_mutex_init(&self->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&self->cv, &ca);
    pthread_condattr_destroy(&ca);
    atomic_init(&self->applied, ledger_applied_now(ledger));
    snprintf(self->endpoint, sizeof self->endpoint, "inproc://finsam-aggregator-%p", (void *) self);
    char bind[80];
    snprintf(bind, sizeof bind, "@%s", self->endpoint);
    self->aggregate = aggregate_new(catalogue, secret);
    self->pipe = self->aggregate ? zsock_new_pair(bind) : NULL;
    if (!self->pipe) {
        aggregator_stop(&self);
        return fin_fail(err, errlen, FIN_ENOMEM, "cannot make the aggregator's state or pipe");
    }
    if (pthread_create(&self->thread, NULL, s_run, self)) {
        aggregator_stop(&self);
        return fin_fail(err, errlen, FIN_EINTERNAL, "cannot start the aggregator thread");
    }
    self->started = true;
    *out = self;
    return FIN_OK;
}

void aggregator_stop(aggregator_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    aggregator_t *self = *self_p;
    if (self->started) {
        pthread_mutex_lock(&self->mu);
        self->stopping = true;
        pthread_cond_signal(&self->cv);
        pthread_mutex_unlock(&self->mu);
        pthread_join(self->thread, NULL);
    }
    zsock_destroy(&self->pipe);
    aggregate_destroy(&self->aggregate);
    free(self->cells);
    pthread_cond_destroy(&self->cv);
    pthread_mutex_destroy(&self->mu);
    free(self);
    *self_p = NULL;
}

void aggregator_poke(aggregator_t *self)
{
    pthread_mutex_lock(&self->mu);
    self->poked = true;
    pthread_cond_signal(&self->cv);
    pthread_mutex_unlock(&self->mu);
}

void *aggregator_socket(aggregator_t *self)
{
    return self->pipe;
}

int aggregator_recv(aggregator_t *self, uint64_t *applied, aggregator_cell_fn cell, void *arg)
{
    void *s = zsock_resolve(self->pipe);
    uint8_t head[8];
    if (zmq_recv(s, head, sizeof head, ZMQ_DONTWAIT) != (int) sizeof head)
        return 0;
    *applied = be64_get(head);
    zmq_msg_t body;
    zmq_msg_init(&body);
    if (zmq_msg_recv(&body, s, 0) >= 0 && cell) {
        const uint8_t *p = zmq_msg_data(&body);
        size_t n = zmq_msg_size(&body) / S_ENTRY;
        for (size_t i = 0; i < n; i++)
            cell(p + i * S_ENTRY, CELL_KEY_LEN, p + i * S_ENTRY + CELL_KEY_LEN, sizeof(cell_t), arg);
    }
    zmq_msg_close(&body);
    return 1;
}

uint64_t aggregator_applied(const aggregator_t *self)
{
    return atomic_load_explicit(&((aggregator_t *) self)->applied, memory_order_acquire);
}
