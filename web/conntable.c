/* conntable.c: the HTTP server's table of open connections (see
 * conntable.h).
 *
 * Design decision: when the table (or one address's share of it) is full,
 * a new connection is let in and the waiting connection nearest its
 * deadline is closed, rather than the new one being turned away. A client
 * that holds a connection without sending a request costs us a slot until
 * its deadline; one that sends its request at once — a health check, a
 * scrape, the dashboard — is answered within the same turn of the loop.
 * So whatever fills the table with silent or trickling connections only
 * pushes out its own kind, and a prompt client always gets in, even from
 * the same address as the abuser. Only when every connection is busy
 * being answered is a new one refused.
 *
 * Each waiting state keeps its connections in a list in the order they
 * began to wait; every connection in a list has the same timeout, so the
 * list is also in deadline order: the sweep and the choice of whom to
 * evict look at the front. Counting one address's connections walks the
 * table (a few hundred entries at most, once per accepted connection).
 *
 * Not here: microhttpd (http.c drives this table from its callbacks),
 * logging (http.c writes one summary line now and then from the counts). */
#include "conntable.h"

#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef enum {
    S_WAIT_FIRST, /* accepted, its first request head not complete yet */
    S_WAIT_NEXT,  /* answered, kept alive for the next request head */
    S_BUSY,       /* a request head complete, its answer on the way */
    S_CLOSING,    /* shut down by us, until microhttpd closes it */
    S_NLISTS
} s_state_t;

/* An address as a key: a family tag and 16 bytes (IPv4 and IPv4-mapped
 * IPv6 addresses are the same key). */
#define S_KEY_LEN 17

struct conntable_conn_t {
    conntable_conn_t *prev, *next; /* in the list of its state */
    int fd;
    s_state_t state;
    int64_t due_ms; /* when waiting: shut down at this time */
    unsigned char key[S_KEY_LEN];
};

typedef struct {
    conntable_conn_t *head, *tail;
    size_t n;
} s_list_t;

struct conntable_t {
    conntable_limits_t limits;
    s_list_t lists[S_NLISTS];
    conntable_counts_t counts;
};

static void s_key(const struct sockaddr *addr, socklen_t addrlen, unsigned char key[S_KEY_LEN])
{
    memset(key, 0, S_KEY_LEN);
    if (addr && addr->sa_family == AF_INET && addrlen >= (socklen_t) sizeof(struct sockaddr_in)) {
        key[0] = 4;
        memcpy(key + 1, &((const struct sockaddr_in *) addr)->sin_addr, 4);
    } else if (addr && addr->sa_family == AF_INET6 && addrlen >= (socklen_t) sizeof(struct sockaddr_in6)) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *) addr)->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(a)) {
            key[0] = 4;
            memcpy(key + 1, a->s6_addr + 12, 4);
        } else {
            key[0] = 6;
            memcpy(key + 1, a->s6_addr, 16);
        }
    } /* else: an address we cannot read is one key of its own, all zero */
}

static void s_push(conntable_t *self, conntable_conn_t *c, s_state_t state)
{
    s_list_t *l = &self->lists[state];
    c->state = state;
    c->next = NULL;
    c->prev = l->tail;
    if (l->tail)
        l->tail->next = c;
    else
        l->head = c;
    l->tail = c;
    l->n++;
}

static void s_unlink(conntable_t *self, conntable_conn_t *c)
{
    s_list_t *l = &self->lists[c->state];
    if (c->prev)
        c->prev->next = c->next;
    else
        l->head = c->next;
    if (c->next)
        c->next->prev = c->prev;
    else
        l->tail = c->prev;
    l->n--;
    c->prev = c->next = NULL;
}

/* Shuts the socket down: microhttpd sees the end of the stream on its next
 * turn and closes it. The entry stays until conntable_close. */
static void s_shut(conntable_t *self, conntable_conn_t *c)
{
    s_unlink(self, c);
    s_push(self, c, S_CLOSING);
    shutdown(c->fd, SHUT_RDWR);
}

static size_t s_count_key(const conntable_t *self, const unsigned char *key)
{
    size_t n = 0;
    for (int s = S_WAIT_FIRST; s <= S_BUSY; s++)
        for (const conntable_conn_t *c = self->lists[s].head; c; c = c->next)
            n += !memcmp(c->key, key, S_KEY_LEN);
    return n;
}

/* The waiting connection (of key, or of anyone when key is NULL) nearest
 * its deadline, or NULL. */
static conntable_conn_t *s_victim(const conntable_t *self, const unsigned char *key)
{
    conntable_conn_t *best = NULL;
    for (int s = S_WAIT_FIRST; s <= S_WAIT_NEXT; s++)
        for (conntable_conn_t *c = self->lists[s].head; c; c = c->next)
            if (!key || !memcmp(c->key, key, S_KEY_LEN)) {
                if (!best || c->due_ms < best->due_ms)
                    best = c;
                break; /* the list is in deadline order: the first match is its nearest */
            }
    return best;
}

conntable_t *conntable_new(const conntable_limits_t *limits)
{
    conntable_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->limits = *limits;
    if (self->limits.max_connections < 1)
        self->limits.max_connections = 1;
    if (self->limits.max_per_address < 1)
        self->limits.max_per_address = 1;
    return self;
}

void conntable_destroy(conntable_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    conntable_t *self = *self_p;
    for (int s = 0; s < S_NLISTS; s++)
        for (conntable_conn_t *c = self->lists[s].head, *next; c; c = next) {
            next = c->next;
            free(c);
        }
    free(self);
    *self_p = NULL;
}

conntable_conn_t *conntable_open(conntable_t *self, int fd, const struct sockaddr *addr, socklen_t addrlen,
                                 int64_t now_ms)
{
    conntable_conn_t *c = calloc(1, sizeof *c);
    if (!c) {
        shutdown(fd, SHUT_RDWR);
        self->counts.refused++;
        return NULL;
    }
    c->fd = fd;
    s_key(addr, addrlen, c->key);
    bool full = false;
    conntable_conn_t *victim = NULL;
    if (s_count_key(self, c->key) >= (size_t) self->limits.max_per_address) {
        full = true;
        victim = s_victim(self, c->key);
    } else if (conntable_open_count(self) >= (size_t) self->limits.max_connections) {
        full = true;
        victim = s_victim(self, NULL);
    }
    if (full && !victim) {
        shutdown(fd, SHUT_RDWR);
        self->counts.refused++;
        free(c);
        return NULL;
    }
    if (victim) {
        s_shut(self, victim);
        self->counts.evicted++;
    }
    c->due_ms = now_ms + self->limits.header_timeout_ms;
    s_push(self, c, S_WAIT_FIRST);
    return c;
}

void conntable_busy(conntable_t *self, conntable_conn_t *conn)
{
    if (!conn || conn->state == S_CLOSING || conn->state == S_BUSY)
        return;
    s_unlink(self, conn);
    s_push(self, conn, S_BUSY);
}

void conntable_idle(conntable_t *self, conntable_conn_t *conn, int64_t now_ms)
{
    if (!conn || conn->state != S_BUSY)
        return;
    s_unlink(self, conn);
    conn->due_ms = now_ms + self->limits.idle_timeout_ms;
    s_push(self, conn, S_WAIT_NEXT);
}

void conntable_close(conntable_t *self, conntable_conn_t **conn_p)
{
    if (!conn_p || !*conn_p)
        return;
    s_unlink(self, *conn_p);
    free(*conn_p);
    *conn_p = NULL;
}

int conntable_sweep(conntable_t *self, int64_t now_ms)
{
    int64_t next = -1;
    for (int s = S_WAIT_FIRST; s <= S_WAIT_NEXT; s++) {
        conntable_conn_t *c;
        while ((c = self->lists[s].head) && c->due_ms <= now_ms) {
            s_shut(self, c);
            self->counts.timed_out++;
        }
        if (c && (next < 0 || c->due_ms - now_ms < next))
            next = c->due_ms - now_ms;
    }
    return next > INT32_MAX ? INT32_MAX : (int) next;
}

size_t conntable_open_count(const conntable_t *self)
{
    return self->lists[S_WAIT_FIRST].n + self->lists[S_WAIT_NEXT].n + self->lists[S_BUSY].n;
}

conntable_counts_t conntable_take_counts(conntable_t *self)
{
    conntable_counts_t counts = self->counts;
    self->counts = (conntable_counts_t){0};
    return counts;
}
