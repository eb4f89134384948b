/* throttle.c: one log line per key and period (see throttle.h). A zhashx
 * of key -> the time of its last line, how many were held back since, and
 * the last line held back (for the summary throttle_flush writes). */
#include "throttle.h"

#include <czmq.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int64_t logged_ms;    /* when the last line for this key was written */
    unsigned held;        /* events since then, not written */
    char last_line[1024]; /* the latest of those */
} entry_t;

struct throttle_t {
    int64_t period_ms;
    size_t max_keys;
    log_level_t level;
    char *component;
    zhashx_t *entries; /* key -> entry_t */
};

static void s_free(void **item)
{
    free(*item);
    *item = NULL;
}

throttle_t *throttle_new(int64_t period_ms, size_t max_keys, log_level_t level, const char *component)
{
    throttle_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    self->period_ms = period_ms;
    self->max_keys = max_keys;
    self->level = level;
    self->component = strdup(component);
    self->entries = zhashx_new();
    if (!self->component || !self->entries) {
        throttle_destroy(&self);
        return NULL;
    }
    zhashx_set_destructor(self->entries, s_free);
    return self;
}

void throttle_destroy(throttle_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zhashx_destroy(&(*self_p)->entries);
    free((*self_p)->component);
    free(*self_p);
    *self_p = NULL;
}

static void s_write(throttle_t *self, const char *line, unsigned held)
{
    if (held && self->period_ms == 60000)
        LOG_AT(self->level, self->component, "%s (%u more in the last minute)", line, held);
    else if (held)
        LOG_AT(self->level, self->component, "%s (%u more in the last %llds)", line, held,
               (long long) (self->period_ms / 1000));
    else
        LOG_AT(self->level, self->component, "%s", line);
}

int throttle_event(throttle_t *self, const char *key, const char *line, int64_t now_ms)
{
    entry_t *e = zhashx_lookup(self->entries, key);
    if (e && now_ms - e->logged_ms < self->period_ms) {
        e->held++;
        snprintf(e->last_line, sizeof e->last_line, "%s", line);
        return 0;
    }
    if (!e && zhashx_size(self->entries) < self->max_keys && (e = calloc(1, sizeof *e)) != NULL)
        zhashx_insert(self->entries, key, e);
    s_write(self, line, e ? e->held : 0);
    if (e) {
        e->logged_ms = now_ms;
        e->held = 0;
    }
    return 1;
}

void throttle_flush(throttle_t *self, int64_t now_ms)
{
    zlistx_t *stale = zlistx_new();
    if (!stale)
        return;
    for (entry_t *e = zhashx_first(self->entries); e; e = zhashx_next(self->entries)) {
        if (now_ms - e->logged_ms < self->period_ms)
            continue;
        if (e->held) { /* the summary starts a new period for the key */
            s_write(self, e->last_line, e->held);
            e->logged_ms = now_ms;
            e->held = 0;
        } else {
            zlistx_add_end(stale, (void *) zhashx_cursor(self->entries));
        }
    }
    for (const char *k = zlistx_first(stale); k; k = zlistx_next(stale))
        zhashx_delete(self->entries, k);
    zlistx_destroy(&stale);
}
