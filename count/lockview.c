/* lockview.c: a year's log up to each förbund's lock, replayed into a
 * scratch ledger (see lockview.h for why a replay and not a copy). */
#include "lockview.h"

#include "aggregate.h"
#include "approval.h"
#include "replay.h"
#include "secret.h"
#include "util.h"

#include <errno.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct lockview_t {
    ledger_t *scratch;
    char dir[64];
};

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove(path);
}

void lockview_destroy(lockview_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    lockview_t *self = *self_p;
    ledger_close(&self->scratch);
    if (self->dir[0])
        nftw(self->dir, s_rm, 8, FTW_DEPTH | FTW_PHYS);
    free(self);
    *self_p = NULL;
}

ledger_t *lockview_ledger(lockview_t *self)
{
    return self->scratch;
}

static int s_collect(const approval_t *a, void *arg)
{
    lockview_info_t *info = arg;
    if (a->half != 0 || a->state != APPROVAL_APPROVED)
        return 0;
    if (info->approved == LOCKVIEW_MAX_FORBUND)
        return ENOSPC;
    int i = info->approved++;
    snprintf(info->forbund[i], sizeof info->forbund[i], "%s", a->forbund);
    info->lock_seq[i] = a->lock_seq;
    info->late_events[i] = a->late_events;
    return 0;
}

static bool s_keep(const event_msg_t *ev, uint64_t seq, void *arg)
{
    const lockview_info_t *info = arg;
    for (int i = 0; i < info->approved; i++)
        if (!strcmp(info->forbund[i], ev->forbund))
            return seq <= info->lock_seq[i];
    return false;
}

typedef struct {
    MDB_txn *src;
    ledger_t *source;
} s_copy_t;

/* The source's meta, but not its publication: the secret and protection
 * parameters give the same record keys and noise. */
static int s_copy_meta(ledger_txn_t *lt, void *arg)
{
    s_copy_t *c = arg;
    MDB_cursor *cur;
    int rc = mdb_cursor_open(c->src, ledger_dbi(c->source, LEDGER_DB_META), &cur);
    if (rc)
        return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size == 9 && !memcmp(k.mv_data, "published", 9))
            continue;
        if ((rc = mdb_put(lt->txn, ledger_dbi(lt->ledger, LEDGER_DB_META), &k, &v, 0)))
            break;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

fin_err_t lockview_build(lockview_t **out, ledger_t *source, const catalogue_t *catalogue, int year,
                         lockview_info_t *info, char *err, size_t errlen)
{
    *out = NULL;
    memset(info, 0, sizeof *info);
    info->year = year;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    lockview_t *self = calloc(1, sizeof *self);
    if (!self)
        return fin_fail(err, errlen, FIN_ENOMEM, "out of memory");
    snprintf(self->dir, sizeof self->dir, "/tmp/finsam-official-XXXXXX");
    if (!mkdtemp(self->dir)) {
        self->dir[0] = '\0';
        lockview_destroy(&self);
        return fin_fail(err, errlen, fin_from_errno(errno), "cannot create a temporary directory");
    }
    fin_err_t code = ledger_open_scratch(&self->scratch, self->dir, err, errlen);
    if (code) {
        lockview_destroy(&self);
        return code;
    }
    uint8_t secret[SECRET_LEN];
    if (secret_load(source, secret, err, errlen) < 0) {
        lockview_destroy(&self);
        return FIN_ENOTFOUND;
    }
    replay_t r = {.source = source,
                  .aggregate = aggregate_new(catalogue, secret),
                  .from_seq = 1,
                  .keep = s_keep,
                  .keep_arg = info};
    sodium_memzero(secret, sizeof secret);
    int rc = r.aggregate ? store_read(ledger_store(source), &r.snap) : ENOMEM;
    if (rc) {
        aggregate_destroy(&r.aggregate);
        lockview_destroy(&self);
        return fin_fail(err, errlen, fin_from_mdb(rc), "%s", store_strerror(rc));
    }
    /* The locks and the log's end, from the same snapshot. */
    rc = approval_each(r.snap, source, NULL, year, s_collect, info);
    MDB_cursor *cur;
    MDB_val k, v;
    if (rc == 0 && (rc = mdb_cursor_open(r.snap, ledger_dbi(source, LEDGER_DB_LOG), &cur)) == 0) {
        if (mdb_cursor_get(cur, &k, &v, MDB_LAST) == 0)
            r.end_seq = be64_get(k.mv_data) + 1;
        mdb_cursor_close(cur);
    }
    /* Nothing after the last lock can be kept. */
    uint64_t last = 0;
    for (int i = 0; i < info->approved; i++)
        if (info->lock_seq[i] > last)
            last = info->lock_seq[i];
    if (r.end_seq > last + 1)
        r.end_seq = last + 1;
    s_copy_t cp = {r.snap, source};
    if (rc == 0)
        rc = ledger_write(self->scratch, s_copy_meta, &cp);
    if (rc == 0)
        rc = replay_run(&r, self->scratch, &info->events);
    store_read_end(ledger_store(source), r.snap);
    aggregate_destroy(&r.aggregate);
    if (rc) {
        lockview_destroy(&self);
        return fin_fail(err, errlen, rc == ENOSPC ? FIN_EFULL : fin_from_mdb(rc), "official figures: %s",
                        rc == ENOSPC ? "too many förbund" : store_strerror(rc));
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    info->seconds = (double) (t1.tv_sec - t0.tv_sec) + (double) (t1.tv_nsec - t0.tv_nsec) / 1e9;
    *out = self;
    return FIN_OK;
}
