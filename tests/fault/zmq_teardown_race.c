/* zmq_teardown_race.c: reproduces the libzmq 4.3.4 abort at socket close
 * described in docs/reliability-faults.md, for PUB (the old stream
 * transport) and ROUTER (the current one), so that the claim "it is not
 * specific to PUB" rests on a run, not on reading session_base.cpp.
 *
 *   build/bin/zmq_teardown_race pub|router [RUNS [MAX_DELAY_US]]
 *
 * Each run, in a forked child: a server socket (linger 0, SNDHWM 2000)
 * sends three-frame messages [topic][seq][payload] to 16 peers that never
 * read (RCVHWM 10, 4 KiB receive buffer), until their queues are full, so
 * that each connection's engine is likely to hold part of a message; then
 * one thread closes the peers while the main thread closes the server
 * socket after a random delay of 0..MAX_DELAY_US µs. A child killed by a
 * signal is the abort (`Resource temporarily unavailable
 * (src/session_base.cpp:260)`). Prints runs, aborted and clean. Not a
 * ctest test: it demonstrates a library bug, it does not check finsam. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#define PEERS 16

static void *s_peers[PEERS];
static atomic_int s_go;

static void s_set(void *s, int opt, int v)
{
    zmq_setsockopt(s, opt, &v, sizeof v);
}

static void *s_closer(void *arg)
{
    (void) arg;
    while (!atomic_load(&s_go))
        ;
    for (int i = 0; i < PEERS; i++)
        zmq_close(s_peers[i]);
    return NULL;
}

static void s_run(int router, unsigned seed, int max_delay_us)
{
    srand(seed);
    void *ctx = zmq_ctx_new(), *pctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, router ? ZMQ_ROUTER : ZMQ_PUB);
    s_set(s, ZMQ_LINGER, 0);
    s_set(s, ZMQ_SNDHWM, 2000);
    if (router)
        s_set(s, ZMQ_ROUTER_MANDATORY, 1);
    if (zmq_bind(s, "tcp://127.0.0.1:*") < 0)
        exit(2);
    char ep[128];
    size_t len = sizeof ep;
    zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, ep, &len);
    for (int i = 0; i < PEERS; i++) {
        s_peers[i] = zmq_socket(pctx, router ? ZMQ_DEALER : ZMQ_SUB);
        s_set(s_peers[i], ZMQ_LINGER, 0);
        s_set(s_peers[i], ZMQ_RCVHWM, 10);
        s_set(s_peers[i], ZMQ_RCVBUF, 4096);
        if (!router)
            zmq_setsockopt(s_peers[i], ZMQ_SUBSCRIBE, "", 0);
        zmq_connect(s_peers[i], ep);
        if (router)
            zmq_send(s_peers[i], "hi", 2, 0);
    }
    uint8_t ids[PEERS][16];
    int idlen[PEERS];
    if (router) {
        for (int n = 0; n < PEERS; n++) { /* learn the routing ids */
            char hi[8];
            idlen[n] = zmq_recv(s, ids[n], sizeof ids[n], 0);
            zmq_recv(s, hi, sizeof hi, 0);
        }
    } else {
        usleep(100000); /* let the subscriptions arrive; a sleep is fine in a stress tool */
    }
    char payload[300];
    memset(payload, 'x', sizeof payload);
    for (int k = 0; k < 30000; k++) {
        for (int i = 0; i < (router ? PEERS : 1); i++) {
            if (router && zmq_send(s, ids[i], (size_t) idlen[i], ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
                continue;
            zmq_send(s, "ev.NV.participant_survey", 24, ZMQ_SNDMORE | ZMQ_DONTWAIT);
            zmq_send(s, "12345678", 8, ZMQ_SNDMORE | ZMQ_DONTWAIT);
            zmq_send(s, payload, sizeof payload, ZMQ_DONTWAIT);
        }
    }
    usleep(20000);
    pthread_t t;
    pthread_create(&t, NULL, s_closer, NULL);
    atomic_store(&s_go, 1);
    int delay = rand() % (max_delay_us + 1);
    if (delay)
        usleep((useconds_t) delay);
    zmq_close(s);
    pthread_join(t, NULL);
    zmq_ctx_term(ctx);
    zmq_ctx_term(pctx);
}

int main(int argc, char **argv)
{
    if (argc < 2 || (strcmp(argv[1], "pub") && strcmp(argv[1], "router"))) {
        fprintf(stderr, "Usage: zmq_teardown_race pub|router [RUNS [MAX_DELAY_US]]\n");
        return 64;
    }
    int router = !strcmp(argv[1], "router");
    int runs = argc > 2 ? atoi(argv[2]) : 200, max_delay = argc > 3 ? atoi(argv[3]) : 50;
    int aborted = 0;
    for (int i = 0; i < runs; i++) {
        pid_t p = fork();
        if (p == 0) {
            s_run(router, (unsigned) i + 1, max_delay);
            _exit(0);
        }
        int st;
        waitpid(p, &st, 0);
        aborted += WIFSIGNALED(st);
    }
    printf("%s: %d runs, %d aborted, %d clean\n", argv[1], runs, aborted, runs - aborted);
    return 0;
}
