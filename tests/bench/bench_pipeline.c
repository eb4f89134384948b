/* bench_pipeline.c: the raw durable pipeline — finsam's whole durable
 * path on this machine with none of finsam's code. N sender processes
 * (forked, as the agents) drain their own LMDB outboxes in batches over a
 * CURVE DEALER to one receiver process's ROUTER, which writes each event
 * to an LMDB log and dedupe index, commits synchronously and acks naming
 * every id; the sender then deletes the acked ids from its outbox in a
 * synchronous commit. With --subscriber the receiver also publishes every
 * committed event over CURVE to one subscriber process.
 *
 * The design decision: finsam's shape, not its logic. As agents/sender.c,
 * agents/outbox.c and collector/server_turn.c: a batch is one frame,
 * --window batches in flight, the outbox is queue (be64 seq -> event) +
 * ids (id -> seq), the ack carries 18 bytes per id (as bench_zmq), the
 * stream sends [topic][be64 seq][event]. The write set is bench_lmdb's
 * --cells 0 --keys time: log seq -> 9-byte header + event, dedupe 16-byte
 * id (be32 day, 12 random bytes) -> seq. One commit per --group batches
 * waiting (default 1: commits of --batch, the LMDB baseline's size).
 * Not here: decoding, validation, the cells, the outbox scrub, reconnects.
 *
 *   bench_pipeline --dir DIR --senders N --events TOTAL [--size 200] [--batch 500]
 *                  [--window 8] [--group 1] [--subscriber]
 * Prints events_per_s=... seconds=... senders=N ..., timed from full
 * outboxes until every sender has deleted its last acked event. */
#include "bench.h"

#include <czmq.h>
#include <lmdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_ACK_BYTES 18 /* per event: tag, length, 16-byte id */
#define S_ID 16
#define S_HDR 9 /* the log value's header, as bench_lmdb */
#define S_TOPIC "ev.NV.insats"
#define S_MAX_SENDERS 64
#define S_MAX_GROUP 64

#define S_MDB(expr, label)                                                                                   \
    do {                                                                                                     \
        int _rc = (expr);                                                                                    \
        if (_rc) {                                                                                           \
            fprintf(stderr, "bench_pipeline: %s: %s\n", #expr, mdb_strerror(_rc));                           \
            goto label;                                                                                      \
        }                                                                                                    \
    } while (0)

typedef struct {
    char router[64], xpub[64];
} s_endpoints_t;

static struct {
    long senders, events, size, batch, window, group;
    int subscriber;
    char dir[512];
    char server_pub[41], server_sec[41]; /* z85; made before the fork */
    s_endpoints_t ep;                    /* the receiver's, known before the others are forked */
    int info[2], ready[2], go[2], done[2];
} s_cfg;

static void s_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t) v;
}

static int s_mkenv(MDB_env **env, const char *dir, size_t map, MDB_dbi *a, const char *an, MDB_dbi *b,
                   const char *bn)
{
    MDB_txn *txn;
    mkdir(dir, 0700);
    S_MDB(mdb_env_create(env), fail);
    S_MDB(mdb_env_set_maxdbs(*env, 2), close_env);
    S_MDB(mdb_env_set_mapsize(*env, map), close_env);
    S_MDB(mdb_env_open(*env, dir, 0, 0600), close_env);
    S_MDB(mdb_txn_begin(*env, NULL, 0, &txn), close_env);
    S_MDB(mdb_dbi_open(txn, an, MDB_CREATE, a), abort_txn);
    S_MDB(mdb_dbi_open(txn, bn, MDB_CREATE, b), abort_txn);
    S_MDB(mdb_txn_commit(txn), close_env);
    return 0;
abort_txn:
    mdb_txn_abort(txn);
close_env:
    mdb_env_close(*env);
fail:
    return -1;
}

/* A CURVE socket: the receiver's (ZAP domain) or a client with a key of its own. */
static zsock_t *s_socket(int type, int server)
{
    zsock_t *s = zsock_new(type);
    if (!s)
        return NULL;
    if (server) {
        zsock_set_curve_publickey(s, s_cfg.server_pub);
        zsock_set_curve_secretkey(s, s_cfg.server_sec);
        zsock_set_curve_server(s, 1);
        zsock_set_zap_domain(s, "bench");
    } else {
        zcert_t *cert = zcert_new();
        zcert_apply(cert, s);
        zcert_destroy(&cert);
        zsock_set_curve_serverkey(s, s_cfg.server_pub);
    }
    zsock_set_linger(s, 0);
    return s;
}

/* Fills the outbox with n events of --size bytes (untimed). */
static int s_fill(MDB_env *env, MDB_dbi queue, MDB_dbi ids, long n, uint64_t seed)
{
    uint8_t *ev = malloc((size_t) s_cfg.size), seqkey[8];
    if (!ev)
        return -1;
    for (long i = 0; i < s_cfg.size; i++)
        ev[i] = (uint8_t) bench_rand(&seed);
    MDB_txn *txn;
    for (long base = 0; base < n; base += 10000) {
        S_MDB(mdb_txn_begin(env, NULL, 0, &txn), free_ev);
        for (long e = base; e < n && e < base + 10000; e++) {
            uint64_t r1 = bench_rand(&seed), r2 = bench_rand(&seed);
            memcpy(ev, &r1, 8); /* the id leads the event */
            memcpy(ev + 8, &r2, 8);
            s_be(ev, 20000 + (uint64_t) (e * 730 / n), 4); /* time-prefixed, over two years */
            s_be(seqkey, (uint64_t) e + 1, 8);
            MDB_val k = {8, seqkey}, v = {(size_t) s_cfg.size, ev}, id = {S_ID, ev};
            S_MDB(mdb_put(txn, queue, &k, &v, MDB_APPEND), abort_txn);
            S_MDB(mdb_put(txn, ids, &id, &k, MDB_NOOVERWRITE), abort_txn);
        }
        S_MDB(mdb_txn_commit(txn), free_ev);
    }
    free(ev);
    return 0;
abort_txn:
    mdb_txn_abort(txn);
free_ev:
    free(ev);
    return -1;
}

/* Reads up to --batch events from next_seq on into frame as [be16 len][event]. */
static int s_peek(MDB_txn *rd, MDB_dbi queue, uint64_t *next_seq, uint8_t *frame, size_t *len, long *n)
{
    MDB_cursor *cur;
    uint8_t seqkey[8];
    s_be(seqkey, *next_seq, 8);
    MDB_val k = {8, seqkey}, v;
    S_MDB(mdb_cursor_open(rd, queue, &cur), fail);
    *len = 0;
    *n = 0;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    for (; rc == 0 && *n < s_cfg.batch; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT), (*n)++) {
        s_be(frame + *len, v.mv_size, 2);
        memcpy(frame + *len + 2, v.mv_data, v.mv_size);
        *len += 2 + v.mv_size;
        *next_seq = 1;
        for (int i = 0; i < 8; i++) /* one past this event's be64 key */
            *next_seq += (uint64_t) ((uint8_t *) k.mv_data)[i] << (56 - 8 * i);
    }
    mdb_cursor_close(cur);
    return rc == 0 || rc == MDB_NOTFOUND ? 0 : -1;
fail:
    return -1;
}

/* One ack: delete the ids it names from the queue, durably (outbox_ack). */
static int s_on_ack(MDB_env *env, MDB_dbi queue, MDB_dbi ids, const uint8_t *p, size_t n)
{
    MDB_txn *txn;
    S_MDB(mdb_txn_begin(env, NULL, 0, &txn), fail);
    for (size_t i = 0; i < n; i++) {
        MDB_val id = {S_ID, (void *) (p + i * S_ACK_BYTES + 2)}, seq;
        int rc = mdb_get(txn, ids, &id, &seq);
        if (rc == 0)
            rc = mdb_del(txn, queue, &seq, NULL);
        S_MDB(rc == MDB_NOTFOUND ? 0 : rc, abort_txn);
    }
    S_MDB(mdb_txn_commit(txn), fail);
    return 0;
abort_txn:
    mdb_txn_abort(txn);
fail:
    return -1;
}

static double s_cpu(const struct rusage *r)
{
    return (double) (r->ru_utime.tv_sec + r->ru_stime.tv_sec) +
           (double) (r->ru_utime.tv_usec + r->ru_stime.tv_usec) / 1e6;
}

/* One sender: fill, wait for "go", then drain the outbox (timed). Writes
 * its timed CPU seconds to the ready pipe. */
static int s_sender(int idx)
{
    long n = s_cfg.events / s_cfg.senders + (idx < s_cfg.events % s_cfg.senders), sent = 0, acked = 0,
         flying = 0;
    char path[600];
    snprintf(path, sizeof path, "%s/outbox-%d", s_cfg.dir, idx);
    MDB_env *env;
    MDB_dbi queue, ids;
    MDB_txn *rd;
    int rc = -1;
    uint8_t *frame = malloc((size_t) s_cfg.batch * (2 + (size_t) s_cfg.size));
    if (!frame || s_mkenv(&env, path, (size_t) 4 << 30, &queue, "queue", &ids, "ids"))
        goto free_frame;
    if (s_fill(env, queue, ids, n, 0x9e3779b97f4a7c15ULL * (uint64_t) (idx + 1)))
        goto close_env;
    S_MDB(mdb_txn_begin(env, NULL, MDB_RDONLY, &rd), close_env);
    mdb_txn_reset(rd);
    char c;
    if (write(s_cfg.ready[1], "R", 1) != 1 || read(s_cfg.go[0], &c, 1) != 0)
        goto abort_rd;

    struct rusage r0, r1;
    getrusage(RUSAGE_SELF, &r0);
    zsock_t *dealer = s_socket(ZMQ_DEALER, 0);
    if (!dealer)
        goto abort_rd;
    zsock_set_rcvtimeo(dealer, 60000); /* a receiver that died fails us, not hangs */
    zsock_connect(dealer, "%s", s_cfg.ep.router);
    void *d = zsock_resolve(dealer);
    uint64_t next_seq = 1;
    while (acked < n) {
        while (flying < s_cfg.window && sent < n) {
            size_t len;
            long k;
            S_MDB(mdb_txn_renew(rd), destroy_dealer);
            int prc = s_peek(rd, queue, &next_seq, frame, &len, &k);
            mdb_txn_reset(rd);
            if (prc || k == 0 || zmq_send(d, frame, len, 0) < 0)
                goto destroy_dealer;
            sent += k;
            flying++;
        }
        zmq_msg_t ack;
        zmq_msg_init(&ack);
        size_t len = zmq_msg_recv(&ack, d, 0) < 0 ? 1 : zmq_msg_size(&ack);
        int arc = len % S_ACK_BYTES ? -1 : s_on_ack(env, queue, ids, zmq_msg_data(&ack), len / S_ACK_BYTES);
        zmq_msg_close(&ack);
        if (arc) {
            fprintf(stderr, "bench_pipeline: sender %d: no ack, a malformed one or a failed delete\n", idx);
            goto destroy_dealer;
        }
        acked += (long) (len / S_ACK_BYTES);
        flying--;
    }
    getrusage(RUSAGE_SELF, &r1);
    double cpu = s_cpu(&r1) - s_cpu(&r0);
    rc = write(s_cfg.ready[1], &cpu, sizeof cpu) == sizeof cpu ? 0 : -1;
destroy_dealer:
    zsock_destroy(&dealer);
abort_rd:
    mdb_txn_abort(rd);
close_env:
    mdb_env_close(env);
free_frame:
    free(frame);
    return rc;
}

/* One batch into the open transaction: log + dedupe per event; the ack
 * (18 bytes per id) built beside. Returns the events, or -1. */
static long s_store(MDB_txn *txn, MDB_dbi log, MDB_dbi dedupe, uint64_t *seq, const uint8_t *p, size_t len,
                    uint8_t *ack)
{
    long n = 0;
    for (size_t off = 0; off < len; n++) {
        size_t evlen = off + 2 <= len ? (size_t) p[off] << 8 | p[off + 1] : 0;
        const uint8_t *ev = p + off + 2;
        if (evlen < S_ID || off + 2 + evlen > len || n == s_cfg.batch) {
            fprintf(stderr, "bench_pipeline: receiver: malformed batch\n");
            return -1;
        }
        uint8_t seqkey[8];
        s_be(seqkey, ++*seq, 8);
        MDB_val k = {8, seqkey}, v = {S_HDR + evlen, NULL}, id = {S_ID, (void *) ev};
        S_MDB(mdb_put(txn, log, &k, &v, MDB_APPEND | MDB_RESERVE), fail);
        memset(v.mv_data, 0, S_HDR);
        memcpy((uint8_t *) v.mv_data + S_HDR, ev, evlen);
        int rc = mdb_put(txn, dedupe, &id, &k, MDB_NOOVERWRITE);
        S_MDB(rc == MDB_KEYEXIST ? 0 : rc, fail); /* a duplicate is acked too */
        ack[n * S_ACK_BYTES] = 0x0a;
        ack[n * S_ACK_BYTES + 1] = S_ID;
        memcpy(ack + n * S_ACK_BYTES + 2, ev, S_ID);
        off += 2 + evlen;
    }
    return n;
fail:
    return -1;
}

/* Publishes a batch's events as finsam's stream does: [topic][be64 seq][event]. */
static void s_publish(void *pub, uint64_t seq, const uint8_t *p, size_t len)
{
    for (size_t off = 0; off < len;) {
        size_t evlen = (size_t) p[off] << 8 | p[off + 1];
        uint8_t s[8];
        s_be(s, ++seq, 8);
        zmq_send(pub, S_TOPIC, strlen(S_TOPIC), ZMQ_SNDMORE);
        zmq_send(pub, s, 8, ZMQ_SNDMORE);
        zmq_send(pub, p + off + 2, evlen, 0);
        off += 2 + evlen;
    }
}

typedef struct {
    MDB_env *env;
    MDB_dbi log, dedupe;
    void *router, *pub;
    uint64_t seq;
    uint8_t *acks; /* --group acks of up to --batch ids */
} s_turn_t;

/* One turn, as server_turn.c: receive (the first batch waits, up to
 * --group more only if already here), store, commit, then publish and ack.
 * Returns the events stored, or -1. */
static long s_turn(s_turn_t *t)
{
    zmq_msg_t ids[S_MAX_GROUP], frames[S_MAX_GROUP];
    size_t acklen[S_MAX_GROUP];
    long g, events = -1;
    for (g = 0; g < s_cfg.group; g++) {
        zmq_msg_init(&ids[g]);
        zmq_msg_init(&frames[g]);
        if (zmq_msg_recv(&ids[g], t->router, g ? ZMQ_DONTWAIT : 0) < 0 ||
            zmq_msg_recv(&frames[g], t->router, 0) < 0)
            break;
    }
    if (g == 0)
        goto close_msgs; /* the blocking receive failed */
    MDB_txn *txn;
    uint64_t seq0 = t->seq;
    S_MDB(mdb_txn_begin(t->env, NULL, 0, &txn), close_msgs);
    events = 0;
    for (long i = 0; i < g; i++) {
        long n = s_store(txn, t->log, t->dedupe, &t->seq, zmq_msg_data(&frames[i]), zmq_msg_size(&frames[i]),
                         t->acks + i * s_cfg.batch * S_ACK_BYTES);
        if (n < 0)
            goto abort_txn;
        acklen[i] = (size_t) n * S_ACK_BYTES;
        events += n;
    }
    S_MDB(mdb_txn_commit(txn), fail); /* synchronous: on disk before any ack */
    for (long i = 0; i < g; i++) {
        if (t->pub)
            s_publish(t->pub, seq0, zmq_msg_data(&frames[i]), zmq_msg_size(&frames[i]));
        seq0 += acklen[i] / S_ACK_BYTES;
        zmq_msg_send(&ids[i], t->router, ZMQ_SNDMORE);
        zmq_send(t->router, t->acks + i * s_cfg.batch * S_ACK_BYTES, acklen[i], 0);
    }
    goto close_msgs;
abort_txn:
    mdb_txn_abort(txn);
fail:
    events = -1;
close_msgs:
    for (long i = 0; i <= g && i < s_cfg.group; i++) {
        zmq_msg_close(&ids[i]);
        zmq_msg_close(&frames[i]);
    }
    return events;
}

/* The receiver: ZAP (every CURVE client allowed, as bench_zmq), bind,
 * then commit, publish and ack until every event is in; keeps its sockets
 * until the parent closes "done". */
static int s_receiver(int unused)
{
    int rc = -1;
    char path[600];
    zactor_t *auth = zactor_new(zauth, NULL);
    zstr_sendx(auth, "CURVE", CURVE_ALLOW_ANY, NULL);
    zsock_wait(auth);
    zsock_t *router = s_socket(ZMQ_ROUTER, 1), *xpub = NULL;
    zsock_set_rcvhwm(router, 100000);
    if (zsock_bind(router, "tcp://127.0.0.1:*") < 0)
        goto destroy_sockets;
    snprintf(s_cfg.ep.router, sizeof s_cfg.ep.router, "%s", zsock_endpoint(router));
    if (s_cfg.subscriber) {
        xpub = s_socket(ZMQ_XPUB, 1);
        zsock_set_sndhwm(xpub, 0); /* no limit: the subscriber receives every event */
        if (zsock_bind(xpub, "tcp://127.0.0.1:*") < 0)
            goto destroy_sockets;
        snprintf(s_cfg.ep.xpub, sizeof s_cfg.ep.xpub, "%s", zsock_endpoint(xpub));
    }
    if (write(s_cfg.info[1], &s_cfg.ep, sizeof s_cfg.ep) != sizeof s_cfg.ep)
        goto destroy_sockets;
    uint8_t sub[64];
    if (xpub && (zmq_recv(zsock_resolve(xpub), sub, sizeof sub, 0) < 0 || write(s_cfg.info[1], "S", 1) != 1))
        goto destroy_sockets; /* the subscription is in: nothing published is lost */

    snprintf(path, sizeof path, "%s/ledger", s_cfg.dir);
    MDB_env *env;
    MDB_dbi log, dedupe;
    if (s_mkenv(&env, path, (size_t) 16 << 30, &log, "log", &dedupe, "dedupe"))
        goto destroy_sockets;
    s_turn_t t = {env,
                  log,
                  dedupe,
                  zsock_resolve(router),
                  xpub ? zsock_resolve(xpub) : NULL,
                  0,
                  malloc((size_t) (s_cfg.group * s_cfg.batch * S_ACK_BYTES))};
    for (long got = 0, n = 0; got < s_cfg.events && t.acks; got += n)
        if ((n = s_turn(&t)) < 0)
            goto free_acks;
    char c;
    rc = t.acks && read(s_cfg.done[0], &c, 1) == 0 ? 0
                                                   : -1; /* EOF: every sender and the subscriber are done */
free_acks:
    free(t.acks);
    mdb_env_close(env);
destroy_sockets:
    zsock_destroy(&xpub);
    zsock_destroy(&router);
    zactor_destroy(&auth);
    return rc;
}

/* The subscriber: every event, three frames each, until all are in. */
static int s_subscriber(int unused)
{
    zsock_t *sub = s_socket(ZMQ_SUB, 0);
    if (!sub)
        return -1;
    zsock_set_rcvhwm(sub, 0);
    zsock_set_subscribe(sub, "ev.");
    zsock_connect(sub, "%s", s_cfg.ep.xpub);
    void *s = zsock_resolve(sub);
    long got = 0;
    zmq_msg_t m;
    zmq_msg_init(&m);
    while (got < s_cfg.events && zmq_msg_recv(&m, s, 0) >= 0)
        got += !zmq_msg_more(&m);
    zmq_msg_close(&m);
    zsock_destroy(&sub);
    return got == s_cfg.events ? 0 : -1;
}

/* Runs fn in a child that keeps none of the parent's write ends (and no
 * ready pipe unless a sender): a child that dies is then an EOF. */
static pid_t s_fork(int (*fn)(int), int arg)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    close(s_cfg.go[1]);
    close(s_cfg.done[1]);
    close(s_cfg.info[0]);
    close(s_cfg.ready[0]);
    if (fn != s_sender)
        close(s_cfg.ready[1]);
    _exit(fn(arg) ? 1 : 0);
}

static size_t s_read(int fd, void *buf, size_t n)
{
    size_t got = 0;
    for (ssize_t r; got < n && (r = read(fd, (char *) buf + got, n - got)) > 0;)
        got += (size_t) r;
    return got;
}

/* Waits for n bytes on the ready pipe; -1 if a child exits meanwhile (the
 * others would wait for "go" forever). */
static int s_wait_ready(long n)
{
    char c;
    while (n > 0) {
        struct pollfd p = {s_cfg.ready[0], POLLIN, 0};
        if (poll(&p, 1, 200) > 0 && read(s_cfg.ready[0], &c, 1) == 1)
            n--;
        else if (waitpid(-1, NULL, WNOHANG) != 0)
            return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    s_cfg.senders = bench_opt_long(argc, argv, "--senders", 1);
    s_cfg.events = bench_opt_long(argc, argv, "--events", 200000);
    s_cfg.size = bench_opt_long(argc, argv, "--size", 200);
    s_cfg.batch = bench_opt_long(argc, argv, "--batch", 500);
    s_cfg.window = bench_opt_long(argc, argv, "--window", 8);
    s_cfg.group = bench_opt_long(argc, argv, "--group", 1);
    s_cfg.subscriber = bench_flag(argc, argv, "--subscriber");
    const char *dir = bench_opt(argc, argv, "--dir", NULL);
    if (!dir || s_cfg.senders < 1 || s_cfg.senders > S_MAX_SENDERS || s_cfg.events < s_cfg.senders ||
        s_cfg.size < S_ID || s_cfg.size > 65535 || s_cfg.batch < 1 || s_cfg.window < 1 || s_cfg.group < 1 ||
        s_cfg.group > S_MAX_GROUP) {
        fprintf(stderr,
                "usage: bench_pipeline --dir NEW-DIR --senders 1-%d --events N [--size 16-65535] "
                "[--batch 500] [--window 8] [--group 1-%d] [--subscriber]\n",
                S_MAX_SENDERS, S_MAX_GROUP);
        return 64;
    }
    snprintf(s_cfg.dir, sizeof s_cfg.dir, "%s", dir);
    if (mkdir(dir, 0700)) { /* a new one: the outboxes are filled from seq 1 */
        fprintf(stderr, "bench_pipeline: %s: %s\n", dir, strerror(errno));
        return 73;
    }
    zmq_curve_keypair(s_cfg.server_pub, s_cfg.server_sec);
    pid_t pids[2 + S_MAX_SENDERS] = {0}; /* 0 receiver, 1 subscriber, 2.. senders */
    if (pipe(s_cfg.info) || pipe(s_cfg.ready) || pipe(s_cfg.go) || pipe(s_cfg.done))
        return 71;
    /* No ZeroMQ in this process: every context lives in a child. */
    int rc = 70;
    char c;
    pids[0] = s_fork(s_receiver, 0);
    close(s_cfg.info[1]);
    if (s_read(s_cfg.info[0], &s_cfg.ep, sizeof s_cfg.ep) != sizeof s_cfg.ep)
        goto stop_children;
    if (s_cfg.subscriber && ((pids[1] = s_fork(s_subscriber, 0)), s_read(s_cfg.info[0], &c, 1) != 1))
        goto stop_children; /* the receiver has its subscription */
    for (int i = 0; i < s_cfg.senders; i++)
        pids[2 + i] = s_fork(s_sender, i);
    close(s_cfg.ready[1]);
    if (s_wait_ready(s_cfg.senders)) {
        fprintf(stderr, "bench_pipeline: a process failed before the outboxes were full\n");
        goto stop_children;
    }

    double t0 = bench_now(), t_send = t0, t_sub = t0, cpu_send = 0, cpu_sub = 0, cpu;
    close(s_cfg.go[1]); /* go: every outbox is full */
    struct rusage ru;
    for (long left = s_cfg.senders + s_cfg.subscriber; left > 0; left--) {
        int status;
        pid_t pid = wait4(-1, &status, 0, &ru);
        if (pid <= 0 || pid == pids[0] || !WIFEXITED(status) || WEXITSTATUS(status)) {
            fprintf(stderr, "bench_pipeline: process %d failed\n", (int) pid);
            goto stop_children;
        }
        if (pid == pids[1])
            t_sub = bench_now(), cpu_sub = s_cpu(&ru);
        else
            t_send = bench_now(); /* the last sender's exit ends the timing */
        for (int i = 1; i < 2 + s_cfg.senders; i++)
            pids[i] = pids[i] == pid ? 0 : pids[i];
    }
    for (long i = 0; i < s_cfg.senders; i++, cpu_send += cpu)
        if (s_read(s_cfg.ready[0], &cpu, sizeof cpu) != sizeof cpu)
            goto stop_children;
    close(s_cfg.done[1]); /* the receiver may go */
    int status;
    if (wait4(pids[0], &status, 0, &ru) != pids[0] || !WIFEXITED(status) || WEXITSTATUS(status))
        goto stop_children;
    pids[0] = 0;
    double secs = t_send - t0;
    printf("events_per_s=%.0f seconds=%.3f senders=%ld events=%ld size=%ld batch=%ld window=%ld group=%ld "
           "subscriber=%d sub_seconds=%.3f cpu_senders_s=%.2f cpu_receiver_s=%.2f cpu_subscriber_s=%.2f "
           "cpu_us_per_event=%.2f\n",
           (double) s_cfg.events / secs, secs, s_cfg.senders, s_cfg.events, s_cfg.size, s_cfg.batch,
           s_cfg.window, s_cfg.group, s_cfg.subscriber, t_sub - t0, cpu_send, s_cpu(&ru), cpu_sub,
           (cpu_send + s_cpu(&ru) + cpu_sub) * 1e6 / (double) s_cfg.events);
    rc = 0;
stop_children:
    for (int i = 0; i < 2 + s_cfg.senders; i++)
        if (pids[i] > 0) {
            kill(pids[i], SIGKILL);
            waitpid(pids[i], NULL, 0);
        }
    return rc;
}
