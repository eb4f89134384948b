/* store.c: LMDB environments with named databases and grow-and-retry
 * writes (see store.h for the contract and caveats).
 *
 * Design decision: map growth lives here, in one loop around the caller's
 * transaction body, instead of at every mdb_put. LMDB marks a transaction
 * dead after MDB_MAP_FULL, so the only correct recovery is to abort, resize
 * (legal only while this process has no transaction open) and redo it all. */
#include "store.h"

#include "log.h"
#include "unsynced.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_MAX_DBS 16
/* Start small so tests see growth; LMDB maps are sparse address space.
 * FINSAM_STORE_INITIAL_MAP_MB (1..STORE_MAX_MAP in MiB) overrides the
 * floor, so the fault tests can fill a map quickly; unset or invalid means
 * the default. It is only a floor: an existing larger store keeps its size. */
#define STORE_INITIAL_MAP ((size_t) 64 << 20)
#define STORE_MAX_MAP ((size_t) 1 << 40)
/* A full map doubles, by at most this much at a time: with STORE_WRITEMAP
 * the whole map is allocated on disk, so its unused tail stays below it. */
#define STORE_GROW_MAX ((size_t) 1 << 30)

static size_t s_initial_map(void)
{
    const char *env = getenv("FINSAM_STORE_INITIAL_MAP_MB");
    if (!env || !*env)
        return STORE_INITIAL_MAP;
    char *end;
    errno = 0;
    unsigned long long mb = strtoull(env, &end, 10);
    if (errno || *end || mb < 1 || mb > (STORE_MAX_MAP >> 20))
        return STORE_INITIAL_MAP;
    return (size_t) mb << 20;
}

struct store_t {
    MDB_env *env; /* NULL after a failed store_reopen */
    /* Readers of this process hold it shared; a map resize and a reopen
     * hold it exclusively (LMDB forbids resizing with a transaction open). */
    pthread_rwlock_t resize_lock;
    MDB_dbi dbi[STORE_MAX_DBS];
    store_db_t dbs[STORE_MAX_DBS];
    int ndbs;
    unsigned flags;
    unsigned grows;
    /* STORE_DERIVED: committed without sync, under this guard (a writer),
     * or synced at each commit when the kernel names no boot. */
    unsynced_t *unsynced;
    bool nosync;
    char path[4096];
};

static int s_open_dbs(store_t *self, const store_db_t *dbs, int ndbs, bool readonly)
{
    MDB_txn *txn;
    int rc = mdb_txn_begin(self->env, NULL, readonly ? MDB_RDONLY : 0, &txn);
    /* Another process grew the map between our open and now: adopt its
     * size (nothing of ours is open yet). */
    for (int tries = 0; rc == MDB_MAP_RESIZED && tries < 100; tries++)
        if ((rc = mdb_env_set_mapsize(self->env, 0)) == 0)
            rc = mdb_txn_begin(self->env, NULL, readonly ? MDB_RDONLY : 0, &txn);
    if (rc)
        return rc;
    for (int i = 0; i < ndbs; i++) {
        rc = mdb_dbi_open(txn, dbs[i].name, dbs[i].flags | (readonly ? 0 : MDB_CREATE), &self->dbi[i]);
        if (rc) {
            mdb_txn_abort(txn);
            return rc;
        }
    }
    return mdb_txn_commit(txn);
}

/* True when LMDB writes this environment's pages in the map: then every
 * byte of the map must have its blocks on disk (see STORE_WRITEMAP). */
static bool s_preallocated(const store_t *self)
{
    return (self->flags & STORE_WRITEMAP) && !(self->flags & (STORE_READONLY | STORE_SCRATCH));
}

/* Allocates the data file's blocks up to `size`. A page written through a
 * shared mapping gets its block when the kernel first writes it; on a full
 * disk that is a SIGBUS in the writer, not an error code. Allocating the
 * whole map first turns a full disk into an error here, at open or growth,
 * where the caller can refuse and retry. Blocks already allocated cost
 * nothing. 0 or an errno code (ENOSPC, EFBIG). */
static int s_reserve(store_t *self, size_t size)
{
    if (!s_preallocated(self))
        return 0;
    mdb_filehandle_t fd;
    int rc = mdb_env_get_fd(self->env, &fd);
    if (rc)
        return rc;
    return posix_fallocate(fd, 0, (off_t) size);
}

/* Creates and opens self->env with map size `mapsize` (0: the default
 * floor) and opens the databases; on failure self->env is NULL. */
static int s_env_open(store_t *self, size_t mapsize)
{
    bool readonly = self->flags & STORE_READONLY;
    int rc = mdb_env_create(&self->env);
    if (rc) {
        self->env = NULL;
        return rc;
    }
    if ((rc = mdb_env_set_maxdbs(self->env, STORE_MAX_DBS)) || (rc = mdb_env_set_maxreaders(self->env, 126)))
        goto close_env;
    /* A reader maps as much as the writer may ever grow to: LMDB refuses a
     * new read transaction (MDB_MAP_RESIZED) once the writer's data goes
     * past the reader's map, and adopting the new size needs every read
     * transaction of the process closed, which a process holding one
     * snapshot while it opens another (rebuild --verify's partitions)
     * cannot do. Mapping read-only address space costs no memory. */
    if (readonly && (!mapsize || mapsize < STORE_MAX_MAP))
        mapsize = STORE_MAX_MAP;
    /* A floor: LMDB raises it to what the data needs. With MDB_WRITEMAP
     * LMDB also sets the file's length to the map's, so the map is never
     * smaller than the file: a shorter file would cut off blocks allocated
     * for another process of this store, which writes there through its
     * own larger map (a SIGBUS), and lose the allocation. */
    size_t size = mapsize ? mapsize : s_initial_map();
    if (s_preallocated(self)) {
        char data[sizeof self->path + 16];
        struct stat st;
        snprintf(data, sizeof data, "%s/data.mdb", self->path);
        if (stat(data, &st) == 0 && (size_t) st.st_size > size)
            size = (size_t) st.st_size;
    }
    if ((rc = mdb_env_set_mapsize(self->env, size)))
        goto close_env;
    /* MDB_NOTLS: read transactions are tied to our objects, not threads.
     * MDB_NORDAHEAD (MADV_RANDOM on the map): a fault reads one page, not
     * a run of them. With read-ahead, a reader going through the file in
     * order (the aggregator replaying the log, a rebuild) fills the page
     * cache with large folios (ext4 since Linux 6.16); a write through the
     * map then dirties a whole folio and the commit's msync writes it all:
     * megabytes per acknowledged event (store_test "small commit writes
     * little"; docs/performance.md, "Latency"). */
    rc = mdb_env_open(self->env, self->path,
                      MDB_NOTLS | MDB_NORDAHEAD | (readonly ? MDB_RDONLY : 0) |
                          (self->flags & STORE_SCRATCH ? MDB_NOSYNC | MDB_WRITEMAP : 0) |
                          (self->nosync                  ? MDB_NOSYNC
                           : self->flags & STORE_DERIVED ? MDB_NOMETASYNC
                                                         : 0) |
                          (s_preallocated(self) ? MDB_WRITEMAP : 0),
                      0600);
    if (rc)
        goto close_env;
    /* LMDB has set the file's length to the map's (ftruncate, sparse);
     * nothing is written through the map before its blocks exist. */
    MDB_envinfo info;
    mdb_env_info(self->env, &info);
    if ((rc = s_reserve(self, info.me_mapsize))) {
        log_error("store", "PREALLOCATE-FAILED path=%s size_mib=%zu reason=%s", self->path,
                  info.me_mapsize >> 20, strerror(rc));
        goto close_env;
    }
    int dead = 0;
    mdb_reader_check(self->env, &dead);
    if (dead)
        log_info("store", "STALE-READERS-CLEARED path=%s count=%d", self->path, dead);
    if ((rc = s_open_dbs(self, self->dbs, self->ndbs, readonly)))
        goto close_env;
    return 0;
close_env:
    mdb_env_close(self->env);
    self->env = NULL;
    return rc;
}

int store_open(store_t **out, const char *path, const store_db_t *dbs, int ndbs, unsigned flags)
{
    *out = NULL;
    if (ndbs > STORE_MAX_DBS)
        return EINVAL;
    bool readonly = flags & STORE_READONLY;
    bool derived = (flags & STORE_DERIVED) && !(flags & STORE_SCRATCH);
    if ((!readonly || derived) && mkdir_p(path, 0700) < 0)
        return errno;
    store_t *self = calloc(1, sizeof *self);
    if (!self)
        return ENOMEM;
    snprintf(self->path, sizeof self->path, "%s", path);
    if (derived) {
        /* A derived store written in a boot that ended unsynced is
         * removed, and a missing one is made, even by a reader (store.h). */
        bool write = !readonly;
        int rc = unsynced_enter(&self->unsynced, path, &write);
        if (rc && rc != ENOTSUP) {
            free(self);
            return rc;
        }
        char data[sizeof self->path + 16];
        snprintf(data, sizeof data, "%s/data.mdb", path);
        if (rc == ENOTSUP && access(data, F_OK) < 0)
            write = true;
        if (write)
            flags &= ~(unsigned) STORE_READONLY;
        self->nosync = rc == 0 && write;
    }
    memcpy(self->dbs, dbs, (size_t) ndbs * sizeof *dbs);
    self->ndbs = ndbs;
    self->flags = flags;
    pthread_rwlock_init(&self->resize_lock, NULL);
    int rc = s_env_open(self, 0);
    if (rc) {
        unsynced_leave(&self->unsynced, false);
        pthread_rwlock_destroy(&self->resize_lock);
        free(self);
        return rc;
    }
    *out = self;
    return 0;
}

int store_reopen(store_t *self)
{
    if (!self->env)
        return EBADF;
    pthread_rwlock_wrlock(&self->resize_lock);
    MDB_envinfo info;
    mdb_env_info(self->env, &info);
    /* Closed first: LMDB must never have one environment open twice in a
     * process (its POSIX locks are per process). */
    mdb_env_close(self->env);
    int rc = s_env_open(self, info.me_mapsize);
    pthread_rwlock_unlock(&self->resize_lock);
    if (rc)
        log_error("store", "REOPEN-FAILED path=%s reason=%s", self->path, mdb_strerror(rc));
    return rc;
}

void store_close(store_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    store_t *self = *self_p;
    /* Unsynced commits reach the disk now; then the guard may drop the
     * record that this boot wrote them (unsynced.h). */
    bool synced = self->env && self->nosync && mdb_env_sync(self->env, 1) == 0;
    if (self->env)
        mdb_env_close(self->env);
    unsynced_leave(&self->unsynced, synced);
    pthread_rwlock_destroy(&self->resize_lock);
    free(self);
    *self_p = NULL;
}

MDB_dbi store_dbi(const store_t *self, int index)
{
    return self->dbi[index];
}

static int s_grow(store_t *self)
{
    MDB_envinfo info;
    mdb_env_info(self->env, &info);
    size_t next = info.me_mapsize + (info.me_mapsize < STORE_GROW_MAX ? info.me_mapsize : STORE_GROW_MAX);
    if (next > STORE_MAX_MAP)
        return MDB_MAP_FULL;
    /* Blocks first: a map that is larger than its allocated file is what
     * a full disk must never see (s_reserve). */
    int rc = s_reserve(self, next);
    if (rc) {
        log_warn("store", "MAP-GROW-FAILED path=%s size_mib=%zu reason=%s", self->path, next >> 20,
                 strerror(rc));
        return rc;
    }
    pthread_rwlock_wrlock(&self->resize_lock);
    rc = mdb_env_set_mapsize(self->env, next);
    pthread_rwlock_unlock(&self->resize_lock);
    if (rc == 0) {
        self->grows++;
        log_info("store", "MAP-GROWN path=%s size_mib=%zu", self->path, next >> 20);
    }
    return rc;
}

int store_write(store_t *self, store_write_fn fn, void *ctx)
{
    if (!self->env)
        return EBADF;
    for (;;) {
        MDB_txn *txn;
        int rc = mdb_txn_begin(self->env, NULL, 0, &txn);
        if (rc == MDB_MAP_RESIZED) {
            /* Another process grew the map: adopt its size. */
            pthread_rwlock_wrlock(&self->resize_lock);
            rc = mdb_env_set_mapsize(self->env, 0);
            pthread_rwlock_unlock(&self->resize_lock);
            if (rc)
                return rc;
            continue;
        }
        if (rc)
            return rc;
        rc = fn(txn, ctx);
        if (rc) {
            mdb_txn_abort(txn);
            if (rc != MDB_MAP_FULL)
                return rc;
        } else {
            /* After commit the txn is gone whatever the result. */
            rc = mdb_txn_commit(txn);
            if (rc != MDB_MAP_FULL)
                return rc;
        }
        if ((rc = s_grow(self)))
            return rc;
    }
}

int store_read(store_t *self, MDB_txn **txn)
{
    pthread_rwlock_rdlock(&self->resize_lock);
    if (!self->env) {
        pthread_rwlock_unlock(&self->resize_lock);
        return EBADF;
    }
    int rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, txn);
    if (rc == MDB_MAP_RESIZED) {
        /* Another process grew the map: adopt its size, exclusively. */
        pthread_rwlock_unlock(&self->resize_lock);
        pthread_rwlock_wrlock(&self->resize_lock);
        rc = mdb_env_set_mapsize(self->env, 0);
        pthread_rwlock_unlock(&self->resize_lock);
        if (rc)
            return rc;
        pthread_rwlock_rdlock(&self->resize_lock);
        rc = mdb_txn_begin(self->env, NULL, MDB_RDONLY, txn);
    }
    if (rc)
        pthread_rwlock_unlock(&self->resize_lock);
    return rc;
}

void store_read_end(store_t *self, MDB_txn *txn)
{
    mdb_txn_abort(txn);
    pthread_rwlock_unlock(&self->resize_lock);
}

int store_flush(store_t *self)
{
    if (!self->env || !self->nosync)
        return 0;
    pthread_rwlock_rdlock(&self->resize_lock);
    int rc = mdb_env_sync(self->env, 1);
    pthread_rwlock_unlock(&self->resize_lock);
    return rc;
}

void store_prefetch(store_t *self)
{
    int fd;
    struct stat st;
    if (!self->env || mdb_env_get_fd(self->env, &fd) || fstat(fd, &st))
        return;
    /* In steps: the kernel reads at most a few MiB per call (8 MiB here);
     * each call only starts the reads. Advice: a refusal changes nothing. */
    const off_t step = (off_t) 8 << 20;
    for (off_t off = 0; off < st.st_size; off += step)
        (void) posix_fadvise(fd, off, step, POSIX_FADV_WILLNEED);
}

int store_backup(store_t *self, const char *dir)
{
    if (mkdir_p(dir, 0700) < 0)
        return errno;
    pthread_rwlock_rdlock(&self->resize_lock);
    int rc = self->env ? mdb_env_copy2(self->env, dir, MDB_CP_COMPACT) : EBADF;
    pthread_rwlock_unlock(&self->resize_lock);
    return rc;
}

void store_usage(store_t *self, size_t *map_size, size_t *used)
{
    MDB_envinfo info = {0};
    MDB_stat st = {0};
    pthread_rwlock_rdlock(&self->resize_lock); /* not during a reopen */
    if (self->env) {
        mdb_env_info(self->env, &info);
        mdb_env_stat(self->env, &st);
    }
    pthread_rwlock_unlock(&self->resize_lock);
    *map_size = info.me_mapsize;
    *used = (info.me_last_pgno + 1) * (size_t) st.ms_psize;
}

unsigned store_grow_count(const store_t *self)
{
    return self->grows;
}

const char *store_strerror(int rc)
{
    return mdb_strerror(rc);
}
